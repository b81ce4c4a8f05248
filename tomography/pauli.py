"""Pauli-string bookkeeping for n qubits: labels, the fast Pauli transform
between density matrices and Pauli coefficients, and the Frobenius
projection onto the set of density matrices.

A state of n qubits (d = 2**n) is written ρ = (I + Σ_P c_P P)/d over the
4**n − 1 non-identity Pauli strings P, c_P = Tr[ρP].  Strings are labelled
by their letters, qubit 1 leftmost ("XI" = X ⊗ I), and ordered
lexicographically in I < X < Y < Z, identity first, so the coefficient of
label ``L`` sits at index Σ_k letter_k·4**(n−1−k) − 1.  The transforms act
qubit by qubit on a (4,)*n tensor (O(n·4**n) operations, no 4**n × 4**n
matrix is ever built); small systems use a precomputed dense basis, which is
faster there.  Everything is complex128 / float64 and batched over leading
axes.  This module knows nothing about measurements or estimators.
"""

from __future__ import annotations

import functools
import itertools
from typing import Any

import numpy as np
import qutip

from tomography._blas import single_threaded
from tomography._checks import check_range, numeric_array, require_memory, show
from tomography.errors import DataError, StateError

__all__ = [
    "PAULI",
    "pauli_labels",
    "pauli_index",
    "pauli_matrix",
    "pauli_coefficients",
    "state_from_coefficients",
    "project_simplex",
    "project_to_state",
    "STATE_ATOL",
    "check_states",
]

#: The single-qubit Paulis I, X, Y, Z as a (4, 2, 2) complex128 array.
PAULI = np.array(
    [[[1, 0], [0, 1]], [[0, 1], [1, 0]], [[0, -1j], [1j, 0]], [[1, 0], [0, -1]]], dtype=np.complex128
)
PAULI.setflags(write=False)
_LETTERS = "IXYZ"

#: Largest qubit number for which the dense (4**n, d²) Pauli basis is used.
_DENSE_MAX = 4

#: Largest qubit number the library accepts (d = 2**10 = 1024).
MAX_QUBITS = 10

#: Default tolerance for Hermiticity, unit trace and positivity of states.
STATE_ATOL = 1e-8


def _check_n(n: Any, name: str = "n_qubits", err=DataError) -> int:
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)) or not 1 <= int(n) <= MAX_QUBITS:
        raise err(f"{name} = {show(n)} is not allowed: it must be an integer from 1 to {MAX_QUBITS}")
    return int(n)


def pauli_labels(n_qubits: int) -> tuple[str, ...]:
    """Labels of the 4**n − 1 non-identity Pauli strings, in coefficient order.

    Parameters
    ----------
    n_qubits : int
        Number of qubits, 1 to 10.

    Returns
    -------
    tuple of str
        ``("IX", "IY", "IZ", "XI", ...)`` for two qubits (qubit 1 leftmost).
    """
    return _labels(_check_n(n_qubits))


@functools.cache
def _labels(n: int) -> tuple[str, ...]:
    return tuple("".join(p) for p in itertools.product(_LETTERS, repeat=n))[1:]


def _check_label(label: Any, identity_ok: bool) -> str:
    if (not isinstance(label, str) or not 1 <= len(label) <= MAX_QUBITS or set(label) - set(_LETTERS)
            or (not identity_ok and set(label) == {"I"})):
        other = "" if identity_ok else " other than all 'I'"
        raise DataError(
            f"Pauli label {show(label)} is not allowed: a string of 1 to {MAX_QUBITS} letters over 'IXYZ'{other}"
        )
    return label


def pauli_index(label: str) -> int:
    """Index of the coefficient of Pauli string ``label`` (e.g. ``"XZ"``)."""
    _check_label(label, identity_ok=False)
    k = 0
    for ch in label:
        k = 4 * k + _LETTERS.index(ch)
    return k - 1


def pauli_matrix(label: str) -> np.ndarray:
    """The (d, d) complex128 matrix of Pauli string ``label`` (identity allowed)."""
    _check_label(label, identity_ok=True)
    out = np.ones((1, 1), dtype=np.complex128)
    for ch in label:
        out = np.kron(out, PAULI[_LETTERS.index(ch)])
    return out


# --------------------------------------------------------------------------
# the fast transform
# --------------------------------------------------------------------------
# Forward kernel F[p, (i, j)] = σ_p[i, j]; inverse kernel K[(i, j), p] = σ_p[j, i]
# so that Σ_(ij) ρ_ij σ_p[j, i] = Tr[ρ σ_p] qubit by qubit.
_FWD = PAULI.reshape(4, 4)
_INV = np.ascontiguousarray(PAULI.transpose(0, 2, 1).reshape(4, 4).T)


def _kron_apply(t: np.ndarray, m: np.ndarray, n: int) -> np.ndarray:
    """Apply the 4×4 map ``m`` to each of the n base-4 digits of (B, 4**n).

    Each pass moves the leading digit to the end, so after n passes the digit
    order is restored.
    """
    b = t.shape[0]
    rest = 4 ** (n - 1)
    for _ in range(n):
        t = (t.reshape(b, 4, rest).transpose(0, 2, 1) @ m).reshape(b, 4 * rest)
    return t


def _interleave(n: int) -> tuple[int, ...]:
    """Axis order taking (B, i1..in, j1..jn) to (B, i1, j1, ..., in, jn)."""
    return (0,) + tuple(itertools.chain.from_iterable((1 + k, 1 + n + k) for k in range(n)))


@functools.cache
def _dense_basis(n: int) -> tuple[np.ndarray, np.ndarray]:
    """(4**n, d²) stack of all Pauli strings and its conjugate transpose."""
    d = 2**n
    eye = np.eye(4**n, dtype=np.complex128)
    basis = _to_matrix_fast(eye, n).reshape(4**n, d * d)
    basis.setflags(write=False)
    inv = np.ascontiguousarray(basis.conj().T)
    inv.setflags(write=False)
    return basis, inv


def _to_matrix_fast(full: np.ndarray, n: int) -> np.ndarray:
    d = 2**n
    b = full.shape[0]
    t = _kron_apply(full.astype(np.complex128, copy=False), _FWD, n)
    t = t.reshape((b,) + (2,) * (2 * n))
    inv = np.argsort(_interleave(n))
    return t.transpose(inv).reshape(b, d, d)


def full_to_matrix(full: np.ndarray, n: int) -> np.ndarray:
    """Σ_P full_P P for (..., 4**n) coefficients including the identity (index 0)."""
    lead = full.shape[:-1]
    flat = full.reshape(-1, 4**n)
    d = 2**n
    if n <= _DENSE_MAX:
        out = (flat.astype(np.complex128, copy=False) @ _dense_basis(n)[0]).reshape(-1, d, d)
    else:
        out = _to_matrix_fast(flat, n)
    return out.reshape(lead + (d, d))


def matrix_to_full(mat: np.ndarray, n: int) -> np.ndarray:
    """Tr[M P] for every Pauli string P (identity first), real part, (..., 4**n)."""
    d = 2**n
    lead = mat.shape[:-2]
    flat = np.ascontiguousarray(mat, dtype=np.complex128).reshape(-1, d * d)
    if n <= _DENSE_MAX:
        out = (flat @ _dense_basis(n)[1]).real
    else:
        b = flat.shape[0]
        t = flat.reshape((b,) + (2,) * (2 * n)).transpose(_interleave(n)).reshape(b, 4**n)
        out = _kron_apply(t, _INV, n).real
    return np.ascontiguousarray(out).reshape(lead + (4**n,))


def coefficients_to_matrix(c: np.ndarray, n: int) -> np.ndarray:
    """(I + Σ c_P P)/d for (..., 4**n − 1) coefficients: complex (..., d, d)."""
    full = np.empty(c.shape[:-1] + (4**n,), dtype=np.float64)
    full[..., 0] = 1.0
    full[..., 1:] = c
    return full_to_matrix(full, n) / 2**n


def matrix_to_coefficients(mat: np.ndarray, n: int) -> np.ndarray:
    """c_P = Tr[M P] for the non-identity strings, (..., 4**n − 1)."""
    return matrix_to_full(mat, n)[..., 1:]


# Kernels for the variance of matrix elements under a diagonal covariance:
# |σ_p[i,j]|² and the same with a sign flip for Y (the entries of a Pauli
# string are real when it holds an even number of Ys, imaginary otherwise).
_ABS2 = np.abs(_FWD) ** 2
_ABS2_PARITY = _ABS2 * np.array([1, 1, -1, 1])[:, None]


def element_variances_diagonal(v: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Var(Re ρ_ij), Var(Im ρ_ij) for independent coefficients with variances v.

    ρ = (I + Σ c_P P)/d, so Var(Re ρ_ij) = Σ_{P: even #Y} v_P |P_ij|²/d² and
    Var(Im ρ_ij) the sum over odd #Y; both are tensor-product transforms.
    """
    d = 2**n
    full = np.zeros((1, 4**n))
    full[0, 1:] = v
    order = np.argsort(_interleave(n))
    s = _kron_apply(full, _ABS2, n).reshape((1,) + (2,) * (2 * n)).transpose(order).reshape(d, d)
    sp = _kron_apply(full, _ABS2_PARITY, n).reshape((1,) + (2,) * (2 * n)).transpose(order).reshape(d, d)
    return (s + sp) / 2 / d**2, (s - sp) / 2 / d**2


def element_variances(cov: np.ndarray, n: int, chunk: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """Var(Re ρ_ij), Var(Im ρ_ij) for a full (m, m) covariance of c.

    With cov = F Fᵀ, ρ − E ρ = Σ_r z_r X_r, X_r = Σ_P F_Pr P/d, z iid N(0,1),
    so Var(Re ρ_ij) = Σ_r (Re X_r,ij)² and likewise for Im.
    """
    s, v = np.linalg.eigh((cov + cov.T) / 2)
    f = v * np.sqrt(np.clip(s, 0.0, None))
    d = 2**n
    vre = np.zeros((d, d))
    vim = np.zeros((d, d))
    for k in range(0, f.shape[1], chunk):
        cols = f[:, k : k + chunk].T
        full = np.zeros((cols.shape[0], 4**n))
        full[:, 1:] = cols
        x = full_to_matrix(full, n) / d
        vre += (x.real**2).sum(axis=0)
        vim += (x.imag**2).sum(axis=0)
    return vre, vim


# --------------------------------------------------------------------------
# inputs
# --------------------------------------------------------------------------
def n_qubits_of(d: int, name: str) -> int:
    n = int(round(np.log2(d))) if d > 0 else -1
    if d < 2 or 2**n != d or n > MAX_QUBITS:
        raise StateError(
            f"{name} has dimension {d}: a qubit register needs d = 2**n with 1 ≤ n ≤ {MAX_QUBITS}"
        )
    return n


_D_MAX = 2**MAX_QUBITS


def _finite_matrices(arr: np.ndarray, name: str) -> np.ndarray:
    if arr.size == 0:
        raise StateError(f"{name} has shape {arr.shape}: it holds no matrix")
    if arr.shape[-1] > _D_MAX:
        raise StateError(f"{name} is {arr.shape[-1]}×{arr.shape[-1]}: at most {_D_MAX}×{_D_MAX} ({MAX_QUBITS} qubits)")
    check_range(arr, name, StateError, what="entries")
    return arr


def as_matrices(x: Any, name: str = "state") -> tuple[np.ndarray, bool]:
    """Convert a Qobj (operator or ket), a list of Qobj, a (d,) ket, or a
    (..., d, d) array to complex128 (..., d, d); returns (array, single).

    Entries must be finite with magnitude ≤ 1e60 and d ≤ 1024; anything
    else (None, strings, ragged nests, bras, super-operators) is a
    :class:`~tomography.errors.StateError` naming ``name``.
    """
    if isinstance(x, qutip.Qobj):
        if x.isket:
            if x.shape[0] > _D_MAX:
                raise StateError(f"{name} is a ket of dimension {x.shape[0]}: at most {_D_MAX} ({MAX_QUBITS} qubits)")
            v = _finite_matrices(np.asarray(x.full()[:, 0], dtype=np.complex128)[None, :], name)[0]
            return np.outer(v, v.conj()), True
        if not x.isoper or x.shape[0] != x.shape[1]:
            raise StateError(f"{name} must be a density matrix or a ket, got a qutip {x.type} of shape {x.shape}")
        if x.shape[0] > _D_MAX:
            raise StateError(f"{name} is {x.shape[0]}×{x.shape[0]}: at most {_D_MAX}×{_D_MAX} ({MAX_QUBITS} qubits)")
        return _finite_matrices(np.array(x.full(), dtype=np.complex128), name), True
    if isinstance(x, (list, tuple)) and x and any(isinstance(q, qutip.Qobj) for q in x):
        if not all(isinstance(q, qutip.Qobj) for q in x):
            raise StateError(f"{name} = {show(x)} is not allowed: a list must hold only qutip.Qobj states")
        mats = [as_matrices(q, f"{name}[{k}]")[0] for k, q in enumerate(x)]
        shapes = sorted({m.shape for m in mats})
        if len(shapes) > 1:
            raise StateError(f"{name} holds states of shapes {shapes}: all must have the same dimension")
        return np.stack(mats), False
    arr = numeric_array(x, name, StateError, complex_ok=True)
    if arr.ndim == 1 and arr.size >= 2:
        if arr.size > _D_MAX:
            raise StateError(f"{name} is a ket of dimension {arr.size}: at most {_D_MAX} ({MAX_QUBITS} qubits)")
        _finite_matrices(arr[None, :], name)
        return np.outer(arr, arr.conj()), True
    if arr.ndim < 2 or arr.shape[-1] != arr.shape[-2]:
        raise StateError(f"{name} has shape {arr.shape}: a (d, d) matrix, a (..., d, d) batch or a (d,) ket is required")
    return _finite_matrices(arr, name), arr.ndim == 2


def check_states(
    x: Any,
    name: str = "state",
    *,
    atol: float = STATE_ATOL,
    positive: bool = True,
    unit_trace: bool = True,
) -> tuple[np.ndarray, bool]:
    """The one validator of matrices handed in as states (never repairs them).

    ``x`` is converted by :func:`as_matrices`; then every matrix must be
    Hermitian within ``atol`` (within ``atol``·max(1, max|entry|) when
    ``unit_trace`` is False: a deviation or any Hermitian operator), have
    unit trace within ``atol`` (when ``unit_trace``) and, when ``positive``,
    smallest eigenvalue ≥ −``atol``.  Violations raise
    :class:`~tomography.errors.StateError` naming ``name``.

    Returns
    -------
    (the Hermitian part (a + a†)/2 as complex128 (..., d, d), single)
    """
    a, single = as_matrices(x, name)
    herm = np.abs(a - np.swapaxes(a, -1, -2).conj()).max(axis=(-1, -2))
    scale = 1.0 if unit_trace else max(1.0, float(np.abs(a).max()))
    if np.any(herm > atol * scale):
        raise StateError(
            f"{name} is not Hermitian: max|ρ − ρ†| = {herm.max():.3g}, allowed ≤ {atol * scale:g}"
        )
    if unit_trace:
        tr = np.trace(a, axis1=-2, axis2=-1).real
        if np.any(np.abs(tr - 1) > atol):
            bad = tr.reshape(-1)[np.argmax(np.abs(tr - 1).reshape(-1))]
            raise StateError(f"{name} does not have unit trace: Tr = {bad:.6g}, allowed |Tr − 1| ≤ {atol:g}")
    a = (a + np.swapaxes(a, -1, -2).conj()) / 2
    if positive:
        low = np.linalg.eigvalsh(a)[..., 0]
        if np.any(low < -atol):
            raise StateError(
                f"{name} is not positive semidefinite: smallest eigenvalue {low.min():.3g}, allowed ≥ {-atol:g}"
            )
    return a, single


def to_qobj(mat: np.ndarray) -> qutip.Qobj:
    """A (d, d) array as an operator Qobj with qubit dims [[2]*n, [2]*n]."""
    n = n_qubits_of(mat.shape[-1], "matrix")
    return qutip.Qobj(mat, dims=[[2] * n, [2] * n])


# --------------------------------------------------------------------------
# public conversions
# --------------------------------------------------------------------------
def pauli_coefficients(state: Any) -> np.ndarray:
    """Pauli coefficients c_P = Tr[ρP] of a state or a batch of states.

    Parameters
    ----------
    state : qutip.Qobj, list of Qobj, or array (d, d) / (..., d, d) / ket (d,)
        Any Hermitian matrix (trace and positivity are not checked);
        a non-Hermitian one is a :class:`~tomography.errors.StateError`
        (its anti-Hermitian part has no real Pauli coefficients).

    Returns
    -------
    ndarray, float64, shape (..., 4**n − 1), in :func:`pauli_labels` order.
    """
    arr, _ = check_states(state, "state", positive=False, unit_trace=False)
    n = n_qubits_of(arr.shape[-1], "state")
    return matrix_to_coefficients(arr, n)


def state_from_coefficients(coefficients: Any, n_qubits: int | None = None) -> qutip.Qobj | np.ndarray:
    """ρ = (I + Σ c_P P)/d from Pauli coefficients.

    Parameters
    ----------
    coefficients : array_like, shape (4**n − 1,) or (..., 4**n − 1)
        Real coefficients in :func:`pauli_labels` order.
    n_qubits : int, optional
        Checked against the length when given.

    Returns
    -------
    qutip.Qobj for one vector (dims [[2]*n, [2]*n]); a complex128
    (..., d, d) array for a batch.  Hermitian with unit trace (not
    necessarily positive); coefficients so large that the unit trace is
    lost to round-off (|Tr ρ − 1| > 1e-8; a state has |c_P| ≤ 1) are a
    :class:`~tomography.errors.DataError`.
    """
    c = numeric_array(coefficients, "coefficients")
    m = c.shape[-1] if c.ndim else 0
    n = int(round(np.log(m + 1) / np.log(4))) if m > 0 else 0
    if m == 0 or 4**n - 1 != m or not 1 <= n <= MAX_QUBITS:
        raise DataError(f"coefficients have length {m}: 4**n − 1 (3, 15, 63, ...) is required")
    if n_qubits is not None and _check_n(n_qubits) != n:
        raise DataError(f"coefficients have length {m}, which is {n} qubits, not n_qubits = {n_qubits}")
    if c.size == 0:
        raise DataError(f"coefficients have shape {c.shape}: they hold no coefficient vector")
    require_memory(c.size // m * 4**n * 16 * 3, f"state_from_coefficients of {c.size // m} vector(s)")
    check_range(c, "coefficients")
    mat = coefficients_to_matrix(c, n)
    tr = np.trace(mat, axis1=-2, axis2=-1).real
    if not np.all(np.abs(tr - 1) <= STATE_ATOL):
        worst = tr.reshape(-1)[np.argmax(np.abs(tr - 1).reshape(-1))]
        raise DataError(
            f"coefficients up to |c| = {np.abs(c).max():.3g} are not allowed: a state has |c_P| ≤ 1, and at this "
            f"size ρ = (I + Σ c_P P)/d loses its unit trace to round-off (Tr = {worst:.6g})"
        )
    return to_qobj(mat) if c.ndim == 1 else mat


def project_simplex(v: np.ndarray) -> np.ndarray:
    """Euclidean projection of each row of v (..., k) onto the probability simplex.

    Sort-based algorithm (Held, Wolfe & Crowder 1974; Duchi et al. 2008):
    x = max(v − θ, 0) with the unique θ making Σ x = 1.  The projection
    commutes with shifts v → v + t, so rows whose result misses Σ x = 1
    (entries beyond ~1e15, where 1 is below their round-off) are redone
    after subtracting their maximum, which makes the first candidate exact.
    ``v`` must be finite with |v| ≤ 1e60 (else a DataError).
    """
    v = numeric_array(v, "v")
    if v.ndim < 1 or v.shape[-1] < 1:
        raise DataError(f"v has shape {v.shape}: (..., k) with k ≥ 1 is required")
    check_range(v, "v")
    return _project_simplex(v)


def _project_simplex(v: np.ndarray) -> np.ndarray:
    """:func:`project_simplex` without input checks (the estimators' inner loop)."""
    x = _simplex(v)
    miss = ~(np.abs(x.sum(axis=-1) - 1.0) <= 1e-9)
    if np.any(miss):
        w = v[miss]
        x[miss] = _simplex(w - w.max(axis=-1, keepdims=True))
    return x


def _simplex(v: np.ndarray) -> np.ndarray:
    u = -np.sort(-v, axis=-1)
    css = np.cumsum(u, axis=-1) - 1.0
    k = np.arange(1, v.shape[-1] + 1)
    cond = u - css / k > 0
    r = v.shape[-1] - np.argmax(cond[..., ::-1], axis=-1)  # last index where cond holds, 1-based
    theta = np.take_along_axis(css, (r - 1)[..., None], axis=-1) / r[..., None]
    return np.maximum(v - theta, 0.0)


def _project_matrices(m: np.ndarray) -> np.ndarray:
    """Closest density matrices in Frobenius norm to Hermitian (..., d, d)."""
    h = (m + np.swapaxes(m, -1, -2).conj()) / 2
    lam, vec = np.linalg.eigh(h)
    p = _project_simplex(lam)
    return (vec * p[..., None, :]) @ np.swapaxes(vec, -1, -2).conj()


@single_threaded
def project_to_state(matrix: Any) -> qutip.Qobj | np.ndarray:
    """Closest density matrix in Frobenius (Hilbert–Schmidt) norm.

    The Hermitian part of the input is diagonalised and its eigenvalues are
    projected onto the probability simplex (Smolin, Gambetta & Smith,
    PRL 108, 070502 (2012); the simplex projection is the exact Frobenius
    projection, not only for unit-trace input).

    Parameters
    ----------
    matrix : qutip.Qobj or array (d, d) / (..., d, d)

    Returns
    -------
    qutip.Qobj for a single matrix, complex128 array for a batch.
    """
    arr, single = as_matrices(matrix, "matrix")
    out = _project_matrices(arr)
    return to_qobj(out) if single else out
