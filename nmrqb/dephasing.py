"""Exact Lindblad dephasing dynamics of the dipolar model (DESIGN.md §1).

    dρ/dt = −i[H_DP, ρ] + γ Σ_{L ∈ {XI, IX}} (L ρ L − ρ)

(collapse operators sqrt(γ) XI and sqrt(γ) IX).  The 16×16 Liouvillian is
diagonalised once and all times are evaluated together as V e^{Λt} V⁻¹ ρ0;
when the eigenvector matrix is ill-conditioned (a defective or nearly
defective Liouvillian) the module falls back to batched matrix exponentials
of L·t, so the result is exact to round-off either way.  qutip's ``mesolve``
is the cross-check in the tests, never the engine.  This module computes
dynamics only; plotting and reports live elsewhere.

Ranges: the model as :class:`~nmrqb.model.DipolarModel` (|p| ≤ 1e150),
0 ≤ γ ≤ 1e150 and 0 ≤ t ≤ 1e150, so every exponent λ·t (|λ| ≤ ‖L‖ ≲ 1e152)
is finite.  At most 1,048,576 times (2 KiB each, within the 2 GiB a call may
use).  The propagated states are checked: a state that is not a density
matrix within ``measures.STATE_ATOL`` (which happens only when the round-off
u·‖L‖·t of undamped oscillations is no longer small, far beyond any
physical time) raises :class:`PhysicsError` naming ``times``, instead of
returning a meaningless state.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import qutip
import scipy.linalg

from nmrqb import measures
from nmrqb._checks import PARAMETER_LIMIT, finite_grid, real_scalar, short_repr
from nmrqb.errors import PhysicsError
from nmrqb.model import DIMS, PAULI2, DipolarModel

__all__ = ["DephasingResult", "dephase", "liouvillian"]

#: Largest eigenvector condition number for which the eigen route is used.
_MAX_EIG_COND = 1e6
_SINGULAR_EIG_COND = 1e12  # beyond it the eigenvector solve loses every digit

#: Memory per time sample (states, exponentials, temporaries).
_BYTES_PER_TIME = 2048

#: Times per batched-expm chunk (16×16 complex propagators: 4 KiB each).
_EXPM_CHUNK = 2048

#: Largest |Tr ρ(t) − 1| accepted before the round-off normalisation.
_TRACE_TOL = 1e-6


def _check_model(model) -> DipolarModel:
    if not isinstance(model, DipolarModel):
        raise PhysicsError(f"model must be a DipolarModel, got {type(model).__name__}")
    return model


def _check_gamma(gamma) -> float:
    return real_scalar("gamma", gamma, limit=PARAMETER_LIMIT, lower=0.0)


def liouvillian(model: DipolarModel, gamma: float = 0.2) -> np.ndarray:
    """The 16×16 Lindblad generator acting on row-major vec(ρ).

    Uses vec(AρB) = (A ⊗ Bᵀ) vec(ρ) for row-major flattening.  ``gamma``
    must be a finite real number in [0, 1e150].
    """
    h = _check_model(model).hamiltonian_array()
    gamma = _check_gamma(gamma)
    eye = np.eye(4, dtype=np.complex128)
    lv = -1j * (np.kron(h, eye) - np.kron(eye, h.T))
    for name in ("XI", "IX"):
        x = PAULI2[name]
        lv += gamma * (np.kron(x, x.T) - np.kron(eye, eye))
    return lv


def _initial_state(rho0) -> np.ndarray:
    """Accept a ket or a density matrix (Qobj or array) and return (4, 4)."""
    bad = f"rho0 = {short_repr(rho0)} is not allowed: give a 4-component ket or a 4×4 density matrix"
    if isinstance(rho0, qutip.Qobj):
        arr = rho0.full()
    else:
        if rho0 is None or isinstance(rho0, (str, bytes, dict, set)):
            raise PhysicsError(bad)
        try:
            arr = np.asarray(rho0)
        except (TypeError, ValueError, OverflowError, RecursionError):
            raise PhysicsError(bad) from None
        if arr.dtype.kind not in "iufc":
            raise PhysicsError(bad)
    if arr.shape in ((4,), (4, 1)):
        ket = arr.reshape(4).astype(np.complex128)
        with np.errstate(over="ignore", invalid="ignore"):
            norm = np.linalg.norm(ket)
        if not np.isfinite(norm) or abs(norm - 1) > measures.STATE_ATOL:
            raise PhysicsError(f"rho0 is a ket of norm {norm:.6g}: it must be normalised to 1")
        arr = np.outer(ket, ket.conj())
    if arr.shape != (4, 4):
        raise PhysicsError(
            f"rho0 has shape {arr.shape}: give a 4-component ket or a 4×4 density matrix"
        )
    a = measures._states(arr, measures.STATE_ATOL, name="rho0", eigs=False).a
    return a


@dataclass(frozen=True)
class DephasingResult:
    """States and resource measures along a dephasing trajectory.

    Attributes
    ----------
    times : ndarray (n,)
        The evaluation times (model units).
    rho : ndarray (n, 4, 4) complex128
        The states as plain arrays.
    gamma : float
        The dephasing rate.
    method : str
        ``"eig"`` (diagonalised Liouvillian) or ``"expm"`` (fallback).
    """

    times: np.ndarray
    rho: np.ndarray
    gamma: float
    model: DipolarModel
    method: str

    @cached_property
    def states(self) -> list[qutip.Qobj]:
        """One ``qutip.Qobj`` (dims [[2, 2], [2, 2]]) per time."""
        return [qutip.Qobj(r, dims=DIMS) for r in self.rho]

    @cached_property
    def coherence(self) -> np.ndarray:
        """l1-norm coherence at each time."""
        return measures.l1_coherence(self.rho)

    @cached_property
    def concurrence(self) -> np.ndarray:
        """Concurrence at each time."""
        return measures.concurrence(self.rho)

    @cached_property
    def discord(self) -> np.ndarray:
        """Quantum discord (bits, measurement on qubit 1) at each time."""
        return measures.discord(self.rho)


def dephase(
    model: DipolarModel,
    rho0,
    times,
    gamma: float = 0.2,
    *,
    method: str = "auto",
) -> DephasingResult:
    """Evolve ``rho0`` under H_DP with Pauli-X dephasing on both spins.

    Parameters
    ----------
    model : DipolarModel
        The Hamiltonian parameters.
    rho0 : Qobj or array
        Initial state: a normalised ket (4,) or a density matrix (4, 4).
    times : array_like
        Times 0 ≤ t ≤ 1e150 (model units, ħ = 1) at which to return the
        state; any order and spacing; at most 1,048,576 of them.
    gamma : float
        Dephasing rate 0 ≤ γ ≤ 1e150 (the paper's Fig. 3 uses 0.2).
    method : {"auto", "eig", "expm"}
        ``"eig"`` diagonalises the Liouvillian once; ``"expm"`` exponentiates
        L·t for every time (batched); ``"auto"`` uses ``"eig"`` unless its
        eigenvector matrix has a condition number above 1e6, and ``"eig"``
        falls back to ``"expm"`` when that matrix is numerically singular
        (condition number above 1e12); ``DephasingResult.method`` says
        which was used.

    Returns
    -------
    DephasingResult
    """
    _check_model(model)
    g = _check_gamma(gamma)
    if not isinstance(method, str) or method not in ("auto", "eig", "expm"):
        raise PhysicsError(f"method = {short_repr(method)} is not allowed: use 'auto', 'eig' or 'expm'")
    r0 = _initial_state(rho0)
    t = finite_grid(
        "times", times, lower=0.0, bytes_per_value=_BYTES_PER_TIME, what="dephase() (a state per time)"
    )
    lv = liouvillian(model, g)
    v0 = r0.reshape(16)

    used = "expm"
    # |λ·t| ≤ ‖L‖·1e150 ≲ 1e302 is finite; exp of a huge negative real part
    # underflows to 0 (ignored), and the checks below catch anything else.
    with np.errstate(all="ignore"):
        if method in ("auto", "eig"):
            lam, vec = np.linalg.eig(lv)
            # A Lindblad generator has Re λ ≤ 0 and a stationary λ = 0; round-off
            # of ~eps·||L|| would otherwise grow linearly in t (trace drift).
            tiny = 10 * np.finfo(float).eps * np.abs(lv).sum(axis=0).max()
            lam = np.where(np.abs(lam) <= tiny, 0.0, lam)
            lam = np.minimum(lam.real, 0.0) + 1j * lam.imag
            cond = np.linalg.cond(vec)
            # "eig" is honoured unless the eigenvectors are numerically
            # dependent (degenerate eigenvalues of a non-normal L, or eig's
            # choice inside a degenerate space): then expm, reported in .method
            if (method == "eig" and cond < _SINGULAR_EIG_COND) or cond < _MAX_EIG_COND:
                c = np.linalg.solve(vec, v0)
                out = (np.exp(np.outer(t, lam)) * c) @ vec.T
                used = "eig"
        if used == "expm":
            out = np.empty((t.size, 16), dtype=np.complex128)
            for s in range(0, t.size, _EXPM_CHUNK):
                ts = t[s : s + _EXPM_CHUNK]
                out[s : s + _EXPM_CHUNK] = scipy.linalg.expm(lv[None, :, :] * ts[:, None, None]) @ v0
    rho = out.reshape(t.size, 4, 4)
    rho = 0.5 * (rho + np.swapaxes(rho, -1, -2).conj())
    _check_propagated(rho, t, lv, model, g)
    # The exact evolution preserves the trace; divide out the round-off.
    rho /= np.trace(rho, axis1=1, axis2=2).real[:, None, None]
    return DephasingResult(times=t, rho=rho, gamma=g, model=model, method=used)


def _check_propagated(rho: np.ndarray, t: np.ndarray, lv: np.ndarray, model: DipolarModel, g: float) -> None:
    """Raise a PhysicsError naming ``times`` unless every propagated state is
    finite, of trace within _TRACE_TOL of 1 and a density matrix within
    STATE_ATOL (after the trace normalisation)."""
    norm_l = float(np.abs(lv).sum(axis=0).max())

    def fail(k: int, why: str) -> None:
        raise PhysicsError(
            f"times contains {float(t[k])!r}: the propagated state there {why} (‖L‖·t = {norm_l * t[k]:.3g} for "
            f"{model} and gamma = {g!r}; the round-off u·‖L‖·t of the propagation is no longer small)"
        )

    finite = np.isfinite(rho).all(axis=(1, 2))
    if not finite.all():
        fail(int(np.flatnonzero(~finite)[0]), "is not finite")
    tr = np.trace(rho, axis1=1, axis2=2).real
    off = np.abs(tr - 1) > _TRACE_TOL
    if off.any():
        k = int(np.flatnonzero(off)[0])
        fail(k, f"has trace {tr[k]:.6g}")
    try:
        measures._states(rho / tr[:, None, None], measures.STATE_ATOL, name="rho(t)", eigs=False)
    except PhysicsError as exc:
        msg = str(exc)
        k = 0
        if "[" in msg:
            k = int(msg.split("[", 1)[1].split("]", 1)[0])
        fail(k, f"is not a density matrix ({msg})")
