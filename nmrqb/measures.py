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
``atol`` itself must be a finite number in [0, 1].  Hamiltonians must be
Hermitian to the same tolerance, with real and imaginary parts of every
entry of modulus ≤ ``HAMILTONIAN_LIMIT`` = 1e152 (≥ 35× the largest entry of
any :class:`~nmrqb.DipolarModel` Hamiltonian, |p| ≤ 1e150, which is ≤ (8/3)·1e150);
then every Tr[ρH] and energy sum is finite, and squares of entries
(≤ 1e305) stay finite too.  States with a real or imaginary part above 1e150
in modulus are refused before any arithmetic (a density matrix has
|ρ_ij| ≤ 1).  Bools, strings, None, dicts, ragged or object arrays raise
PhysicsError as well; a (state batch × Hamiltonian batch) broadcast that
would need more than 2 GiB is refused up front.

Round-off: measures that are ≥ 0 in exact arithmetic (ergotropy, capacity,
entropy, mutual information, discord; l1 coherence and concurrence are
non-negative by construction) are returned clipped: a value in [−β, 0),
with β the bound stated in each docstring, becomes 0, and a value below −β
raises PhysicsError (it would mean an inconsistent input or an overflow; it
does not happen for validated input).  Every returned number is finite.
"""

from __future__ import annotations

import math
from typing import Any, Callable, NamedTuple

import numpy as np
import qutip

from nmrqb._checks import check_memory, is_real_scalar, short_repr
from nmrqb._discord import discord_batch
from nmrqb._eig4 import eigvalsh4, wootters_lambdas
from nmrqb._psd import check4
from nmrqb.errors import PhysicsError

#: Default tolerance for Hermiticity, unit trace and positivity of input states.
STATE_ATOL = 1e-8

#: States validated per chunk (keeps the temporaries cache-resident).
_CHUNK = 4096

#: Largest allowed |Re H_ij|, |Im H_ij| of a Hamiltonian given to a measure.
HAMILTONIAN_LIMIT = 1e152

#: Entries of a "state" above this modulus are refused before any arithmetic.
_STATE_ENTRY_LIMIT = 1e150

#: Unit round-off of float64.
_U = 2.0**-53

#: Absolute accuracy, times max(1, ‖A‖_F), of the eigenvalue solvers used here:
#: certified by eigvalsh4 (d = 4, 0.9e-12 plus headroom for its LAPACK fallback),
#: and far looser than LAPACK's backward-stable p(d)·u·‖A‖ for other d.
_EIG_ERR = 1e-12

__all__ = [
    "STATE_ATOL",
    "HAMILTONIAN_LIMIT",
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
        if not all(q.isoper and q.shape == x[0].shape for q in x):
            raise PhysicsError(f"{name} is a list of Qobj of different shapes or types: give operators of one shape")
        dims = x[0].dims
        arr = np.stack([q.full() for q in x])
    else:
        if x is None or isinstance(x, (str, bytes, dict, set)):
            raise PhysicsError(f"{name} must be a numeric array or a qutip.Qobj, got {type(x).__name__}")
        try:
            arr = np.asarray(x)
        except (TypeError, ValueError, OverflowError, RecursionError):
            raise PhysicsError(
                f"{name} = {short_repr(x)} cannot be read as a matrix: give a numeric (..., d, d) array or a qutip.Qobj"
            ) from None
        if arr.dtype.kind not in "iufc":
            raise PhysicsError(
                f"{name} must be a numeric array or a qutip.Qobj, got {type(x).__name__} {short_repr(x)}"
            )
    if arr.ndim < 2 or arr.shape[-1] != arr.shape[-2] or arr.shape[-1] == 0:
        raise PhysicsError(
            f"{name} has shape {arr.shape}: a square matrix (d, d) or a batch (..., d, d) is required"
        )
    check_memory(name, arr.size * 16 * 3, f"a complex copy of the {arr.shape} input and its work arrays")
    arr = np.asarray(arr, dtype=np.complex128)
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
    _check_atol(atol)
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
        _check_entries(a, name, _STATE_ENTRY_LIMIT, "a density matrix has |ρ_ij| ≤ 1", c, s)
        offdiag = None
        if d == 4:
            # Entries ≤ 1e150 keep every square finite; a non-state can still
            # overflow the LDL pivots (then it is simply "not certified").
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
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


def _check_atol(atol) -> None:
    try:
        ok = is_real_scalar(atol) and 0 <= float(atol) <= 1  # NaN fails both comparisons
    except OverflowError:
        ok = False
    if not ok:
        raise PhysicsError(f"atol = {short_repr(atol)} is not allowed: it must be a finite number in [0, 1]")


def _check_entries(a: np.ndarray, name: str, limit: float, why: str, c: np.ndarray | None = None, offset: int = 0) -> None:
    """Raise if an entry of the flat chunk ``c`` (m, d, d) of ``a`` (all of
    ``a`` when omitted) is non-finite or has a real or imaginary part above
    ``limit`` in modulus; ``offset`` is the chunk's first state index."""
    if c is None:
        c = a.reshape((-1,) + a.shape[-2:])
    if c.flags.c_contiguous:
        m = np.abs(c.view(np.float64)).max(axis=(-1, -2), initial=0.0)  # max |Re|, |Im| per matrix
    else:
        m = np.maximum(np.abs(c.real), np.abs(c.imag)).max(axis=(-1, -2), initial=0.0)
    bad = np.flatnonzero(~(m <= limit))
    if bad.size:
        k = int(bad[0])
        if not np.all(np.isfinite(c[k])):
            _raise_at(a, offset + k, f"{name} contains NaN or infinite entries", "every entry must be finite")
        _raise_at(
            a, offset + k, f"{name} has an entry of size {m[k]:.3g}",
            f"real and imaginary parts of modulus ≤ {limit:g} are required ({why})",
        )


def _hamiltonian(H: Any, d: int, atol: float) -> np.ndarray:
    """Validate a Hamiltonian (Qobj, array, batch or an object with
    ``hamiltonian_array()``, such as DipolarModel) of dimension d."""
    if callable(getattr(H, "hamiltonian_array", None)) and not isinstance(H, (qutip.Qobj, np.ndarray)):
        H = H.hamiltonian_array()
    h, _, _ = _to_array(H, "H")
    if h.shape[-1] != d:
        raise PhysicsError(f"H is {h.shape[-1]}×{h.shape[-1]} but the state is {d}×{d}")
    _check_entries(h, "H", HAMILTONIAN_LIMIT, "HAMILTONIAN_LIMIT")
    _check_hermitian(h, "H", atol)
    return 0.5 * (h + np.swapaxes(h, -1, -2).conj())


def _broadcast(a: np.ndarray, h: np.ndarray, bytes_per_element: int = 0) -> tuple:
    """Raise unless the batch shapes of states and Hamiltonians broadcast
    (and, with ``bytes_per_element``, fit the memory cap); return the shape."""
    try:
        shape = np.broadcast_shapes(a.shape[:-2], h.shape[:-2])
    except ValueError:
        raise PhysicsError(
            f"H has batch shape {h.shape[:-2]} and rho {a.shape[:-2]}: they must broadcast "
            "(one H for all states, or one per state)"
        ) from None
    n = math.prod(shape)
    check_memory("rho, H", n * bytes_per_element, f"the {shape} broadcast of states and Hamiltonians")
    return shape


def _out(x: np.ndarray, single: bool):
    return float(x) if single else x


def _gamma(n: int) -> float:
    """γ_n = n·u/(1 − n·u), the classic bound of n accumulated roundings."""
    return n * _U / (1 - n * _U)


def _nonnegative(name: str, v, beta, ref: np.ndarray) -> np.ndarray:
    """Clip values in [−β, 0) to 0 (round-off); raise below −β or if not finite.

    ``ref`` is the validated state batch, used to name a bad state."""
    v = np.asarray(v, dtype=np.float64)
    beta = np.broadcast_to(np.asarray(beta, dtype=np.float64), v.shape)
    bad = np.flatnonzero(~np.isfinite(v).ravel())
    if bad.size:
        _raise_at(ref, bad[0] if ref.ndim > 2 else 0, f"{name} is not finite", "the input overflowed")
    low = np.flatnonzero((v < -beta).ravel())
    if low.size:
        k = int(low[0])
        _raise_at(
            ref, k if ref.ndim > 2 and ref.shape[:-2] == v.shape else 0,
            f"{name} = {v.ravel()[k]:.6g} is below −{beta.ravel()[k]:.3g}, its round-off bound",
            "the input is inconsistent or overflowed",
        )
    return np.where(v < 0, 0.0, v) + 0.0  # + 0.0: no −0.0


def _h2(x: float) -> float:
    """Binary entropy in bits."""
    if x <= 0 or x >= 1:
        return 0.0
    return -x * math.log2(x) - (1 - x) * math.log2(1 - x)


def _entropy_bound(d: int, atol: float) -> float:
    """Bound β_S (bits) on how far a computed entropy −Σ p log p (p the
    clipped computed eigenvalues) can be from the entropy of a nearby state.

    The input's Hermitian part has eigenvalues ≥ −atol with a sum within atol
    of 1, computed to ±1e-12 each: it is within trace distance
    δ = min(1/2, d·(2·atol + 1e-12)) of a state σ, and Σp is within δ of 1.
    Fannes–Audenaert, |S(ρ) − S(σ)| ≤ δ·log2(d − 1) + h2(δ), plus the
    normalisation term |Σp − 1|·(log2 d + 2) give β_S ≤ δ·(2·log2 d + 2) + h2(δ).
    For atol = 1e-8 and d = 4, β_S ≈ 2.5e-6 bits; for atol = 0, ≈ 2e-10.
    """
    delta = min(0.5, d * (2 * atol + _EIG_ERR))
    return delta * (2 * math.log2(max(d, 2)) + 2) + _h2(delta)


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
    """l1-norm of coherence, Σ_{i≠j} |ρ_ij| in the computational basis
    (≥ 0 by construction).

    Parameters
    ----------
    rho : Qobj, array (d, d) or batch (..., d, d)
        Density matrix (validated, see the module docstring).
    """
    chk = _states(rho, atol, eigs=False, kernel=_l1_kernel)
    return _out(chk.values, chk.single)


def concurrence(rho, *, atol: float = STATE_ATOL):
    """Wootters concurrence max(0, λ1 − λ2 − λ3 − λ4) of a two-qubit state,
    λ the decreasing square roots of the eigenvalues of ρ (Y⊗Y) ρ* (Y⊗Y)
    (≥ 0 by construction)."""
    chk = _states(rho, atol, dim=4, eigs=False, kernel=wootters_lambdas)
    lam, single = chk.values, chk.single
    c = np.maximum(0.0, lam[..., 0] - lam[..., 1] - lam[..., 2] - lam[..., 3])
    return _out(c, single)


def discord(rho, *, atol: float = STATE_ATOL):
    """Ollivier–Zurek quantum discord (bits), projective measurement on
    qubit 1 optimised over the whole Bloch sphere; accurate to 1e-6.

    Discord is ≥ 0 for states.  It is a sum of three entropy terms (S(A),
    S(AB) and the measured conditional entropy), each within β_S (see
    :func:`_entropy_bound`: δ·(2·log2 4 + 2) + h2(δ), δ = 4·(2·atol + 1e-12))
    of its value at the nearest state, and the optimiser only over-estimates
    the minimum; values in [−β, 0) with β = 3·β_S + 1e-12 (≈ 7.5e-6 bits at
    the default atol) are returned as 0, below −β PhysicsError.
    """
    a, lam, single, _, _ = _states(rho, atol, dim=4)
    beta = 3 * _entropy_bound(4, float(atol)) + 1e-12
    return _out(_nonnegative("discord", discord_batch(a, evals=lam), beta, a), single)


def _check_base(base) -> float:
    if not is_real_scalar(base):
        raise PhysicsError(f"base = {short_repr(base)} is not allowed: it must be a finite real number > 1")
    try:
        b = float(base)
    except OverflowError:
        b = math.inf
    if not (math.isfinite(b) and b > 1):
        raise PhysicsError(f"base = {short_repr(base)} is not allowed: it must be a finite real number > 1")
    return b


def von_neumann_entropy(rho, base: float = 2.0, *, atol: float = STATE_ATOL):
    """Von Neumann entropy −Tr ρ log ρ, in bits by default (``base=2``;
    any finite base > 1, e.g. ``math.e`` for nats).

    ≥ 0: values in [−β, 0) with β = β_S/log2(base) (see :func:`_entropy_bound`)
    are returned as 0.
    """
    b = _check_base(base)
    a, lam, single, _, _ = _states(rho, atol)
    beta = _entropy_bound(lam.shape[-1], float(atol)) / math.log2(b)
    return _out(_nonnegative("entropy", _entropy_from_eigs(lam, b), beta, a), single)


def mutual_information(rho, *, atol: float = STATE_ATOL):
    """Quantum mutual information S(A) + S(B) − S(AB) of a two-qubit state, in bits.

    ≥ 0 (subadditivity): three entropy terms, values in [−3·β_S, 0) are
    returned as 0 (see :func:`_entropy_bound`).
    """
    a, lam, single, _, _ = _states(rho, atol, dim=4)
    ra, rb = _reduced_bloch_lengths(a)
    mi = _qubit_entropy(ra) + _qubit_entropy(rb) - _entropy_from_eigs(lam)
    return _out(_nonnegative("mutual information", mi, 3 * _entropy_bound(4, float(atol)), a), single)


def energy(rho, H, *, atol: float = STATE_ATOL):
    """Mean energy Tr[ρH].  ``H`` may be a Qobj, an array (also a batch
    broadcasting against the states) or a :class:`~nmrqb.DipolarModel`."""
    a, _, single, _, _ = _states(rho, atol, eigs=False)
    h = _hamiltonian(H, a.shape[-1], atol)
    _broadcast(a, h, 64)
    e = np.einsum("...ij,...ji->...", a, h).real
    return _out(e, single and h.ndim == 2)


_WEIGHTS: dict[int, np.ndarray] = {}


def _lower_weights(d: int) -> np.ndarray:
    """W with W_ii = 1, W_ij = 2 (i > j), 0 above: Re Σ W_ij ρ_ij H_ji is
    Tr[ρ_L H] for the Hermitian matrix ρ_L the eigensolvers read (the real
    diagonal and the lower triangle), whatever the input's tiny anti-Hermitian
    part."""
    if d not in _WEIGHTS:
        _WEIGHTS[d] = np.tril(np.full((d, d), 2.0), -1) + np.eye(d)
    return _WEIGHTS[d]


def _scaled_eigvalsh(h: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ascending eigenvalues of Hermitian (..., d, d) computed on H/s, with
    s a power of two per matrix (exact scaling) such that max|H/s| ∈ [1, 2):
    the solver then never overflows and its error (≤ 1e-12·max(1, ‖H/s‖_F))
    scales back to ≤ 1e-12·‖H‖_F.  Returns (ε, max|H_ij|, ‖H‖_F)."""
    hs, k, hmax = _pow2_scaled(h)
    eps = np.ldexp(_eigvalsh(hs), k[..., None])
    fro = np.ldexp(np.sqrt((hs.real**2 + hs.imag**2).sum(axis=(-2, -1))), k)
    return eps, hmax, fro


def _pow2_scaled(h: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(H·2⁻ᵏ, k, max|H_ij|) with an integer k per matrix such that
    max|H·2⁻ᵏ| ∈ [1, 2) (k = 0 for H = 0).  ``ldexp`` scales exactly, even
    for subnormal entries, with no overflowing reciprocal."""
    hmax = np.abs(h).max(axis=(-2, -1))
    _, e = np.frexp(hmax)  # hmax = m·2^e, m ∈ [0.5, 1); e = 0 for 0
    k = np.where(hmax > 0, e - 1, 0)[..., None, None]
    hs = np.ldexp(h.real, -k) + 1j * np.ldexp(h.imag, -k)
    return hs, k[..., 0, 0], hmax


def _passive_energy_parts(rho, H, atol):
    """Tr[ρ_L H], Σλ↓ε↑, Σλ↓ε↓ and the ingredients of their round-off bound."""
    a, lam, single, dims, _ = _states(rho, atol)
    d = a.shape[-1]
    h = _hamiltonian(H, d, atol)
    _broadcast(a, h, 32 * d + 64)
    eps, hmax, hfro = _scaled_eigvalsh(h)  # ascending energies
    lam_desc = lam[..., ::-1]
    hw = _lower_weights(d) * np.swapaxes(h, -1, -2)
    e_now = np.einsum("...ij,...ij->...", a, hw).real
    e_passive = np.sum(lam_desc * eps, axis=-1)
    e_max = np.sum(lam_desc * eps[..., ::-1], axis=-1)
    # round-off ingredients (module docstring of ergotropy)
    lam_abs = np.abs(lam).sum(axis=-1)  # Σ|λ̂|
    dl = _EIG_ERR * np.maximum(1.0, np.sqrt((lam * lam).sum(axis=-1)))  # eigenvalue error of ρ
    de = _EIG_ERR * hfro  # eigenvalue error of H
    lam_exact = lam_abs + d * dl  # ≥ Σ|λ| of the exact eigenvalues
    eps_abs = np.abs(eps).sum(axis=-1)
    eps_max = np.abs(eps).max(axis=-1)
    parts = dict(
        trace=math.sqrt(2) * _gamma(d * d + 2) * hmax * d * lam_exact,
        sums=_gamma(d) * lam_abs * eps_max,
        eigs=dl * eps_abs + de * lam_exact,
    )
    return a, e_now, e_passive, e_max, single and h.ndim == 2, parts


def ergotropy(rho, H, *, atol: float = STATE_ATOL):
    """Ergotropy Tr[ρH] − Tr[π(ρ)H]: the work extractable by unitaries.

    π(ρ) is the passive state (eigenvalues of ρ sorted decreasing on the
    energies sorted increasing).  Tr[ρH] is taken with the Hermitian matrix
    ρ_L whose eigenvalues are used (the real diagonal and the lower
    triangle; the input is Hermitian within atol), so the exact value is
    ≥ 0 for every accepted input (von Neumann's trace inequality).

    Round-off bound.  With u = 2⁻⁵³, γ_n = n·u/(1 − n·u), d the dimension,
    λ̂ and ε̂ the computed eigenvalues of ρ and H (errors δλ ≤ 1e-12·max(1,
    ‖ρ‖_F) and δε ≤ 1e-12·‖H‖_F: the certified accuracy of the 4×4 solver,
    H scaled by a power of two first), Λ = Σ|λ̂_k| + d·δλ ≥ Σ|λ_k|:

        |Ê − E| ≤ β = (1 + u)·[ √2·γ_{d²+2}·d·Λ·max|H_ij|      (Tr[ρH], d² complex products)
                               + γ_d·Σ|λ̂_k|·max|ε̂_k|          (the passive sum)
                               + δλ·Σ|ε̂_k| + δε·Λ ]           (eigenvalue errors)
                     + u·|Ê|                                    (the final subtraction)

    using Σ_ij |ρ_ij||H_ji| ≤ max|H_ij|·d·Σ|λ_k| for Hermitian ρ.  For a
    state (Λ ≈ 1) and a 4×4 H this is ≈ 2e-12·‖H‖.  Values in [−β, 0) are
    returned as 0; a value below −β raises PhysicsError.
    """
    a, e, beta, single = _ergotropy_and_bound(rho, H, atol)
    return _out(_nonnegative("ergotropy", e, beta, a), single)


def _ergotropy_and_bound(rho, H, atol=STATE_ATOL):
    """(states, unclipped ergotropy, its round-off bound β, single) — see
    :func:`ergotropy`."""
    a, e_now, e_passive, _, single, parts = _passive_energy_parts(rho, H, atol)
    e = e_now - e_passive
    beta = (1 + _U) * (parts["trace"] + parts["sums"] + parts["eigs"]) + _U * np.abs(e)
    return a, e, beta, single


def capacity(rho, H, *, atol: float = STATE_ATOL):
    """Battery capacity Σ λ↓ε↓ − Σ λ↓ε↑ (max minus min of Tr[UρU†H] over
    unitaries U).  Invariant under any unitary applied to ρ.

    ≥ 0 (rearrangement inequality).  Round-off bound, in the notation of
    :func:`ergotropy`: |Q̂ − Q| ≤ β = (1 + u)·2·[γ_d·Σ|λ̂_k|·max|ε̂_k| +
    δλ·Σ|ε̂_k| + δε·Λ] + u·|Q̂|; values in [−β, 0) are returned as 0, below −β
    PhysicsError.

    Note: the paper's Eq. (27) read literally gives −4B for every state; the
    definition here (Yang et al., PRL 131, 030402 (2023)) is the one that
    reproduces the paper's statements, see DESIGN.md §2.
    """
    a, q, beta, single = _capacity_and_bound(rho, H, atol)
    return _out(_nonnegative("capacity", q, beta, a), single)


def _capacity_and_bound(rho, H, atol=STATE_ATOL):
    """(states, unclipped capacity, its round-off bound β, single) — see
    :func:`capacity`."""
    a, _, e_passive, e_max, single, parts = _passive_energy_parts(rho, H, atol)
    q = e_max - e_passive
    beta = (1 + _U) * 2 * (parts["sums"] + parts["eigs"]) + _U * np.abs(q)
    return a, q, beta, single


def passive_state(rho, H, *, atol: float = STATE_ATOL):
    """Passive state π(ρ) = Σ_k λ↓_k |ε_k⟩⟨ε_k| (energies ε_k increasing).

    Returns a ``Qobj`` (with the input's dims) for a ``Qobj`` input, an array
    otherwise.  For degenerate energies the eigenbasis of H within the
    degenerate subspace is the one ``numpy.linalg.eigh`` returns; the passive
    energy does not depend on that choice.
    """
    a, lam, single, dims, _ = _states(rho, atol)
    d = a.shape[-1]
    h = _hamiltonian(H, d, atol)
    _broadcast(a, h, 64 * d * d + 64)
    _, vecs = np.linalg.eigh(_pow2_scaled(h)[0])  # eigenvectors do not depend on the scale
    lam_desc = lam[..., ::-1]
    pi = np.einsum("...ik,...k,...jk->...ij", vecs, lam_desc.astype(np.complex128), vecs.conj())
    if dims is not None and single and pi.ndim == 2:
        return qutip.Qobj(pi, dims=dims)
    return pi
