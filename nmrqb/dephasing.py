"""Exact Lindblad dephasing dynamics of the dipolar model (DESIGN.md §1).

    dρ/dt = −i[H_DP, ρ] + γ Σ_{L ∈ {XI, IX}} (L ρ L − ρ)

(collapse operators sqrt(γ) XI and sqrt(γ) IX).  The 16×16 Liouvillian is
diagonalised once and all times are evaluated together as V e^{Λt} V⁻¹ ρ0;
when the eigenvector matrix is ill-conditioned (a defective or nearly
defective Liouvillian) the module falls back to batched matrix exponentials
of L·t, so the result is exact to round-off either way.  qutip's ``mesolve``
is the cross-check in the tests, never the engine.  This module computes
dynamics only; plotting and reports live elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import qutip
import scipy.linalg

from nmrqb import measures
from nmrqb._checks import finite_grid
from nmrqb.errors import PhysicsError
from nmrqb.model import DIMS, PAULI2, DipolarModel

__all__ = ["DephasingResult", "dephase", "liouvillian"]

#: Largest eigenvector condition number for which the eigen route is used.
_MAX_EIG_COND = 1e6


def liouvillian(model: DipolarModel, gamma: float = 0.2) -> np.ndarray:
    """The 16×16 Lindblad generator acting on row-major vec(ρ).

    Uses vec(AρB) = (A ⊗ Bᵀ) vec(ρ) for row-major flattening.
    """
    h = model.hamiltonian_array()
    eye = np.eye(4, dtype=np.complex128)
    lv = -1j * (np.kron(h, eye) - np.kron(eye, h.T))
    for name in ("XI", "IX"):
        x = PAULI2[name]
        lv += gamma * (np.kron(x, x.T) - np.kron(eye, eye))
    return lv


def _initial_state(rho0) -> np.ndarray:
    """Accept a ket or a density matrix (Qobj or array) and return (4, 4)."""
    if isinstance(rho0, qutip.Qobj):
        arr = rho0.full()
    else:
        try:
            arr = np.asarray(rho0, dtype=np.complex128)
        except (TypeError, ValueError):
            raise PhysicsError(
                f"rho0 = {rho0!r} is not allowed: give a 4-component ket or a 4×4 density matrix"
            ) from None
    arr = np.asarray(arr, dtype=np.complex128)
    if arr.shape in ((4,), (4, 1)):
        ket = arr.reshape(4)
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
        Times ≥ 0 (model units, ħ = 1) at which to return the state; any
        order and spacing.
    gamma : float
        Dephasing rate γ ≥ 0 (the paper's Fig. 3 uses 0.2).
    method : {"auto", "eig", "expm"}
        ``"eig"`` diagonalises the Liouvillian once; ``"expm"`` exponentiates
        L·t for every time (batched); ``"auto"`` uses ``"eig"`` unless its
        eigenvector matrix has a condition number above 1e6.

    Returns
    -------
    DephasingResult
    """
    if not isinstance(model, DipolarModel):
        raise PhysicsError(f"model must be a DipolarModel, got {type(model).__name__}")
    g = float(gamma) if isinstance(gamma, (int, float, np.integer, np.floating)) else np.nan
    if isinstance(gamma, bool) or not np.isfinite(g) or g < 0:
        raise PhysicsError(f"gamma = {gamma!r} is not allowed: it must be a finite number ≥ 0")
    if method not in ("auto", "eig", "expm"):
        raise PhysicsError(f"method = {method!r} is not allowed: use 'auto', 'eig' or 'expm'")
    r0 = _initial_state(rho0)
    t = finite_grid("times", times, lower=0.0)
    lv = liouvillian(model, g)
    v0 = r0.reshape(16)

    used = "expm"
    if method in ("auto", "eig"):
        lam, vec = np.linalg.eig(lv)
        # A Lindblad generator has Re λ ≤ 0 and a stationary λ = 0; round-off
        # of ~eps·||L|| would otherwise grow linearly in t (trace drift).
        tiny = 10 * np.finfo(float).eps * np.abs(lv).sum(axis=0).max()
        lam = np.where(np.abs(lam) <= tiny, 0.0, lam)
        lam = np.minimum(lam.real, 0.0) + 1j * lam.imag
        cond = np.linalg.cond(vec)
        if method == "eig" or cond < _MAX_EIG_COND:
            c = np.linalg.solve(vec, v0)
            out = (vec[None, :, :] * np.exp(np.outer(t, lam))[:, None, :]) @ c
            used = "eig"
    if used == "expm":
        props = scipy.linalg.expm(lv[None, :, :] * t[:, None, None])
        out = props @ v0
    rho = out.reshape(t.size, 4, 4)
    rho = 0.5 * (rho + np.swapaxes(rho, -1, -2).conj())
    # The exact evolution preserves the trace; divide out the round-off.
    rho /= np.trace(rho, axis1=1, axis2=2).real[:, None, None]
    return DephasingResult(times=t, rho=rho, gamma=g, model=model, method=used)
