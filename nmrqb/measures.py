"""Quantum-resource and quantum-battery measures of two-spin states.

Every function takes a single state (``qutip.Qobj`` or a (d, d) array) or a
batch (an array of shape (..., d, d), or a list of ``Qobj``) and returns a
float for a single state and an array of the batch shape otherwise.  Batches
are evaluated without Python loops over states; the eigenvalue and Wootters
kernels live in :mod:`nmrqb._eig4`, the discord optimiser in
:mod:`nmrqb._discord`.  Definitions follow DESIGN.md §2 exactly:

* l1 coherence  C(ρ) = Σ_{i≠j} |ρ_ij| (computational basis);
* concurrence (Wootters), ρ̃ = (Y⊗Y) ρ* (Y⊗Y);
* discord (Ollivier–Zurek), projective measurement on qubit 1 (the left
  tensor factor), optimised over the whole Bloch sphere, in bits;
* ergotropy E = Tr[ρH] − Tr[π(ρ)H] with the passive state π(ρ);
* capacity Q = Σ λ↓ε↓ − Σ λ↓ε↑ (Yang et al., PRL 131, 030402 (2023)).

Input states are validated, never silently repaired: a state is accepted when
max|ρ − ρ†| ≤ atol, |Tr ρ − 1| ≤ atol and its smallest eigenvalue is
≥ −atol, with ``atol = STATE_ATOL = 1e-8`` by default (loose enough for
states that went through a numerical solver or a tomographic fit, tight
enough that an unnormalised or non-physical matrix is caught).  Anything
else raises :class:`~nmrqb.errors.PhysicsError` naming the offending state.
Hamiltonians must be Hermitian to the same tolerance.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import numpy as np
import qutip

from nmrqb._discord import discord_batch
from nmrqb._eig4 import eigvalsh4, wootters_lambdas
from nmrqb._psd import check4
from nmrqb.errors import PhysicsError

#: Default tolerance for Hermiticity, unit trace and positivity of input states.
STATE_ATOL = 1e-8

#: States validated per chunk (keeps the temporaries cache-resident).
_CHUNK = 4096

__all__ = [
    "STATE_ATOL",
    "l1_coherence",
    "concurrence",
    "discord",
    "von_neumann_entropy",
    "mutual_information",
    "passive_state",
    "energy",
    "ergotropy",
    "capacity",
]


# --------------------------------------------------------------------------
# conversion and validation
# --------------------------------------------------------------------------
def _to_array(x: Any, name: str) -> tuple[np.ndarray, bool, list | None]:
    """Convert a Qobj, a list of Qobj or an array to complex128 (..., d, d).

    Returns the array, whether the input was a single matrix, and the qutip
    dims of the input (None for arrays).
    """
    dims = None
    if isinstance(x, qutip.Qobj):
        if not x.isoper:
            raise PhysicsError(f"{name} must be an operator (density matrix), got a {x.type}")
        dims = x.dims
        arr = x.full()
    elif isinstance(x, (list, tuple)) and x and all(isinstance(q, qutip.Qobj) for q in x):
        dims = x[0].dims
        arr = np.stack([q.full() for q in x])
    else:
        try:
            arr = np.asarray(x)
        except Exception as exc:  # pragma: no cover - exotic inputs
            raise PhysicsError(f"{name} cannot be read as a matrix: {exc}") from None
        if arr.dtype == object or not (
            np.issubdtype(arr.dtype, np.number) or arr.dtype == bool
        ):
            raise PhysicsError(f"{name} must be a numeric array or a qutip.Qobj, got {type(x).__name__}")
    arr = np.asarray(arr, dtype=np.complex128)
    if arr.ndim < 2 or arr.shape[-1] != arr.shape[-2] or arr.shape[-1] == 0:
        raise PhysicsError(
            f"{name} has shape {arr.shape}: a square matrix (d, d) or a batch (..., d, d) is required"
        )
    return arr, arr.ndim == 2, dims


def _eigvalsh(a: np.ndarray) -> np.ndarray:
    """Ascending eigenvalues of Hermitian (..., d, d); fast kernel for d = 4."""
    if a.shape[-1] == 4:
        return eigvalsh4(a)
    return np.linalg.eigvalsh(a)


def _raise_at(a: np.ndarray, flat_index: int, what: str, detail: str):
    """Raise a PhysicsError naming the batch position of a bad matrix."""
    where = ""
    if a.ndim > 2:
        idx = np.unravel_index(int(flat_index), a.shape[:-2])
        where = f" (state {list(map(int, idx))})"
    raise PhysicsError(f"{what}{where}: {detail}")


def _herm_dev(c: np.ndarray) -> np.ndarray:
    """max|M − M†| per matrix of a flat chunk (m, d, d)."""
    return np.abs(c - np.swapaxes(c, -1, -2).conj()).max(axis=(-1, -2), initial=0.0)


def _check_hermitian(a: np.ndarray, name: str, atol: float) -> None:
    """Raise unless every matrix of (..., d, d) is finite and Hermitian within atol."""
    if not np.all(np.isfinite(a)):
        raise PhysicsError(f"{name} contains NaN or infinite entries")
    flat = a.reshape((-1,) + a.shape[-2:])
    for s in range(0, flat.shape[0], _CHUNK):
        dev = _herm_dev(flat[s : s + _CHUNK])
        bad = np.flatnonzero(dev > atol)
        if bad.size:
            _raise_at(a, s + bad[0], f"{name} is not Hermitian", f"max|M − M†| = {dev[bad[0]]:.3g}, allowed ≤ {atol:g}")


class _Checked(NamedTuple):
    a: np.ndarray  # the validated states, contiguous complex128 (..., d, d)
    lam: np.ndarray | None  # ascending eigenvalues (..., d), when asked for
    single: bool  # the input was one matrix
    dims: list | None  # qutip dims of a Qobj input
    values: np.ndarray | None  # kernel(chunk) for every state, when asked for


def _states(
    rho: Any,
    atol: float,
    name: str = "rho",
    dim: int | None = None,
    eigs: bool = True,
    kernel: Callable[[np.ndarray], np.ndarray] | None = None,
) -> _Checked:
    """Validate density matrices, optionally computing eigenvalues and a
    per-state ``kernel`` while each chunk is in cache.

    Works through the batch in chunks of ``_CHUNK`` states: finiteness,
    Hermiticity, unit trace, then positivity — from the eigenvalues when they
    are wanted anyway, else from a shifted LDL† certificate
    (:func:`nmrqb._psd.check4`) with an eigenvalue solve only for the rows it
    cannot certify.  The input is not symmetrised: the kernels read the lower
    triangle, which is within ``atol`` of the upper one.
    """
    if isinstance(atol, bool) or not isinstance(atol, (int, float, np.integer, np.floating)) or not (
        np.isfinite(atol) and atol >= 0
    ):
        raise PhysicsError(f"atol = {atol!r} is not allowed: it must be a finite number ≥ 0")
    a, single, dims = _to_array(rho, name)
    d = a.shape[-1]
    if dim is not None and d != dim:
        raise PhysicsError(
            f"{name} is {d}×{d}: this measure is defined for two qubits ({dim}×{dim} density matrices)"
        )
    a = np.ascontiguousarray(a)
    flat = a.reshape((-1, d, d))
    lam = np.empty(flat.shape[:2]) if eigs else None
    values = None
    for s in range(0, flat.shape[0], _CHUNK):
        c = flat[s : s + _CHUNK]
        offdiag = None
        if d == 4:
            dev, tr, certified, offdiag = check4(c, atol, psd=not eigs, l1=kernel is _l1_kernel)
        else:
            dev, tr, certified = _herm_dev(c), np.trace(c, axis1=-2, axis2=-1), None
        # NaN and ±inf entries propagate into dev (off-diagonal, Im diagonal)
        # or into the trace (Re diagonal): one finiteness test covers all.
        bad = np.flatnonzero(~(np.isfinite(dev) & np.isfinite(tr)))
        if bad.size:
            _raise_at(a, s + bad[0], f"{name} contains NaN or infinite entries", "every entry must be finite")
        bad = np.flatnonzero(dev > atol)
        if bad.size:
            _raise_at(a, s + bad[0], f"{name} is not Hermitian", f"max|M − M†| = {dev[bad[0]]:.3g}, allowed ≤ {atol:g}")
        bad = np.flatnonzero(np.abs(tr - 1.0) > atol)
        if bad.size:
            _raise_at(
                a, s + bad[0], f"{name} does not have unit trace",
                f"Tr = {tr[bad[0]].real:.6g} (Tr − 1 = {tr[bad[0]].real - 1:.3g}), allowed |Tr − 1| ≤ {atol:g}",
            )
        if eigs:
            low = _eigvalsh(c)
            lam[s : s + _CHUNK] = low
            low = low[:, 0]
            rows = np.flatnonzero(low < -atol)
        else:
            unsure = np.flatnonzero(~certified) if certified is not None else np.arange(c.shape[0])
            low = np.zeros(c.shape[0])
            if unsure.size:
                low[unsure] = _eigvalsh(c[unsure])[:, 0]
            rows = unsure[low[unsure] < -atol]
        if rows.size:
            _raise_at(
                a, s + rows[0], f"{name} is not positive semidefinite",
                f"smallest eigenvalue {low[rows[0]]:.3g}, allowed ≥ {-atol:g}",
            )
        if kernel is not None:
            v = offdiag if offdiag is not None else kernel(c)
            if values is None:
                values = np.empty((flat.shape[0],) + v.shape[1:], dtype=v.dtype)
            values[s : s + _CHUNK] = v
    if kernel is not None and values is None:  # empty batch: let the kernel size the output
        values = kernel(flat)
    if eigs:
        lam = lam.reshape(a.shape[:-1])
    if values is not None:
        values = values.reshape(a.shape[:-2] + values.shape[1:])
    return _Checked(a, lam, single, dims, values)


def _hamiltonian(H: Any, d: int, atol: float) -> np.ndarray:
    """Validate a Hamiltonian (Qobj, array, batch or an object with
    ``hamiltonian_array()``, such as DipolarModel) of dimension d."""
    if hasattr(H, "hamiltonian_array"):
        H = H.hamiltonian_array()
    h, _, _ = _to_array(H, "H")
    if h.shape[-1] != d:
        raise PhysicsError(f"H is {h.shape[-1]}×{h.shape[-1]} but the state is {d}×{d}")
    _check_hermitian(h, "H", atol)
    return 0.5 * (h + np.swapaxes(h, -1, -2).conj())


def _broadcast(a: np.ndarray, h: np.ndarray) -> None:
    """Raise unless the batch shapes of states and Hamiltonians broadcast."""
    try:
        np.broadcast_shapes(a.shape[:-2], h.shape[:-2])
    except ValueError:
        raise PhysicsError(
            f"H has batch shape {h.shape[:-2]} and rho {a.shape[:-2]}: they must broadcast "
            "(one H for all states, or one per state)"
        ) from None


def _out(x: np.ndarray, single: bool):
    return float(x) if single else x


# --------------------------------------------------------------------------
# entropies (helpers shared by several measures)
# --------------------------------------------------------------------------
def _entropy_from_eigs(lam: np.ndarray, base: float = 2.0) -> np.ndarray:
    """Von Neumann entropy from eigenvalues (last axis), 0·log 0 = 0."""
    p = np.clip(lam, 0.0, None)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, -p * np.log(np.where(p > 0, p, 1.0)), 0.0)
    return terms.sum(axis=-1) / np.log(base)


def _qubit_entropy(r: np.ndarray) -> np.ndarray:
    """Entropy (bits) of a qubit state with Bloch-vector length r."""
    r = np.clip(r, 0.0, 1.0)
    return _entropy_from_eigs(np.stack([(1 + r) / 2, (1 - r) / 2], axis=-1))


def _reduced_bloch_lengths(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bloch-vector lengths of the two one-qubit marginals of (..., 4, 4)."""
    t = a.reshape(a.shape[:-2] + (2, 2, 2, 2))
    ra = np.einsum("...ijkj->...ik", t)
    rb = np.einsum("...ijil->...jl", t)

    def length(r):
        return np.sqrt(
            np.clip((r[..., 0, 0] - r[..., 1, 1]).real ** 2 + 4 * np.abs(r[..., 0, 1]) ** 2, 0, None)
        )

    return length(ra), length(rb)


# --------------------------------------------------------------------------
# public measures
# --------------------------------------------------------------------------
def _l1_kernel(c: np.ndarray) -> np.ndarray:
    """Σ_{i≠j} |c_ij| of (m, d, d); for d = 4 ``check4`` computes the same
    sum during validation and _states uses that instead."""
    return np.abs(c).sum(axis=(-1, -2)) - np.abs(np.diagonal(c, axis1=-2, axis2=-1)).sum(axis=-1)


def l1_coherence(rho, *, atol: float = STATE_ATOL):
    """l1-norm of coherence, Σ_{i≠j} |ρ_ij| in the computational basis.

    Parameters
    ----------
    rho : Qobj, array (d, d) or batch (..., d, d)
        Density matrix (validated, see the module docstring).
    """
    chk = _states(rho, atol, eigs=False, kernel=_l1_kernel)
    return _out(chk.values, chk.single)


def concurrence(rho, *, atol: float = STATE_ATOL):
    """Wootters concurrence max(0, λ1 − λ2 − λ3 − λ4) of a two-qubit state,
    λ the decreasing square roots of the eigenvalues of ρ (Y⊗Y) ρ* (Y⊗Y)."""
    chk = _states(rho, atol, dim=4, eigs=False, kernel=wootters_lambdas)
    lam, single = chk.values, chk.single
    c = np.maximum(0.0, lam[..., 0] - lam[..., 1] - lam[..., 2] - lam[..., 3])
    return _out(c, single)


def discord(rho, *, atol: float = STATE_ATOL):
    """Ollivier–Zurek quantum discord (bits), projective measurement on
    qubit 1 optimised over the whole Bloch sphere; accurate to 1e-6."""
    a, lam, single, _, _ = _states(rho, atol, dim=4)
    return _out(discord_batch(a, evals=lam), single)


def von_neumann_entropy(rho, base: float = 2.0, *, atol: float = STATE_ATOL):
    """Von Neumann entropy −Tr ρ log ρ, in bits by default (``base=2``)."""
    _, lam, single, _, _ = _states(rho, atol)
    return _out(_entropy_from_eigs(lam, base), single)


def mutual_information(rho, *, atol: float = STATE_ATOL):
    """Quantum mutual information S(A) + S(B) − S(AB) of a two-qubit state, in bits."""
    a, lam, single, _, _ = _states(rho, atol, dim=4)
    ra, rb = _reduced_bloch_lengths(a)
    mi = _qubit_entropy(ra) + _qubit_entropy(rb) - _entropy_from_eigs(lam)
    return _out(mi, single)


def energy(rho, H, *, atol: float = STATE_ATOL):
    """Mean energy Tr[ρH].  ``H`` may be a Qobj, an array (also a batch
    broadcasting against the states) or a :class:`~nmrqb.DipolarModel`."""
    a, _, single, _, _ = _states(rho, atol, eigs=False)
    h = _hamiltonian(H, a.shape[-1], atol)
    _broadcast(a, h)
    e = np.einsum("...ij,...ji->...", a, h).real
    return _out(e, single and h.ndim == 2)


def _passive_energy_parts(rho, H, atol):
    a, lam, single, dims, _ = _states(rho, atol)
    h = _hamiltonian(H, a.shape[-1], atol)
    _broadcast(a, h)
    eps = _eigvalsh(h)  # ascending energies
    lam_desc = lam[..., ::-1]
    e_now = np.einsum("...ij,...ji->...", a, h).real
    e_passive = np.sum(lam_desc * eps, axis=-1)
    e_max = np.sum(lam_desc * eps[..., ::-1], axis=-1)
    return e_now, e_passive, e_max, single and h.ndim == 2


def ergotropy(rho, H, *, atol: float = STATE_ATOL):
    """Ergotropy Tr[ρH] − Tr[π(ρ)H]: the work extractable by unitaries.

    π(ρ) is the passive state (eigenvalues of ρ sorted decreasing on the
    energies sorted increasing).  Values within round-off of zero may be
    ±1e-15·||H||; the result is not clipped.
    """
    e_now, e_passive, _, single = _passive_energy_parts(rho, H, atol)
    return _out(e_now - e_passive, single)


def capacity(rho, H, *, atol: float = STATE_ATOL):
    """Battery capacity Σ λ↓ε↓ − Σ λ↓ε↑ (max minus min of Tr[UρU†H] over
    unitaries U).  Invariant under any unitary applied to ρ.

    Note: the paper's Eq. (27) read literally gives −4B for every state; the
    definition here (Yang et al., PRL 131, 030402 (2023)) is the one that
    reproduces the paper's statements, see DESIGN.md §2.
    """
    _, e_passive, e_max, single = _passive_energy_parts(rho, H, atol)
    return _out(e_max - e_passive, single)


def passive_state(rho, H, *, atol: float = STATE_ATOL):
    """Passive state π(ρ) = Σ_k λ↓_k |ε_k⟩⟨ε_k| (energies ε_k increasing).

    Returns a ``Qobj`` (with the input's dims) for a ``Qobj`` input, an array
    otherwise.  For degenerate energies the eigenbasis of H within the
    degenerate subspace is the one ``numpy.linalg.eigh`` returns; the passive
    energy does not depend on that choice.
    """
    a, lam, single, dims, _ = _states(rho, atol)
    h = _hamiltonian(H, a.shape[-1], atol)
    _broadcast(a, h)
    _, vecs = np.linalg.eigh(h)
    lam_desc = lam[..., ::-1]
    pi = np.einsum("...ik,...k,...jk->...ij", vecs, lam_desc.astype(np.complex128), vecs.conj())
    if dims is not None and single and pi.ndim == 2:
        return qutip.Qobj(pi, dims=dims)
    return pi
