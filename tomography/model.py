"""Measurement models for NMR state tomography: readouts, spectral lines and
the linear map A from Pauli coefficients to line amplitudes.

NMR measures ensemble expectation values.  A *readout* is a unitary R applied
to ρ before acquisition; each *line* of the resulting spectra is a (label,
Hermitian observable O) pair whose amplitude is the real number
Tr[R ρ R† O] (a complex line amplitude is two lines, its x and y
quadratures).  With ρ = (I + Σ_P c_P P)/d (see :mod:`tomography.pauli`)
every amplitude is affine in c:

    a_l = b_l + Σ_P A_lP c_P,   A_lP = Tr[P R†OR]/d,   b_l = Tr[O]/d.

:class:`MeasurementModel` holds A (dense, or scipy CSR when sparse), b and
the line labels, and reports the rank, the condition number and the Pauli
coefficients that the readout set does not determine (those with a
component in the null space of A).  Presets: the weakly coupled
heteronuclear two-spin readout sets (:data:`NMR_FULL9`, :data:`NMR_MINIMAL4`)
and the generic n-qubit Pauli-product set.  This module builds models and
predicts/simulates data; it does not estimate, and it never imports
``nmrqb``.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import qutip
import scipy.sparse as sp

from tomography._blas import single_threaded_blas
from tomography._checks import (
    MEMORY_MAX,
    VALUE_MAX,
    VALUE_MIN,
    check_range,
    check_str,
    make_rng,
    numeric_array,
    require_memory,
    show,
    str_sequence,
)
from tomography.errors import DataError, ModelError, StateError
from tomography.pauli import (
    MAX_QUBITS,
    PAULI,
    _check_n,
    check_states,
    matrix_to_full,
    n_qubits_of,
    pauli_index,
    pauli_labels,
)

__all__ = [
    "Line",
    "Readout",
    "MeasurementModel",
    "NMR_FULL9",
    "NMR_MINIMAL4",
    "nmr_two_spin_readouts",
    "nmr_two_spin_model",
    "pauli_product_readouts",
    "pauli_product_model",
    "RANK_RTOL",
    "OPERATOR_ATOL",
]

#: Singular values below RANK_RTOL · s_max count as zero (rank, null space).
RANK_RTOL = 1e-10

#: Tolerance for Hermitian observables and unitary readouts.
OPERATOR_ATOL = 1e-8

#: Largest A (entries) whose rank is found by a (thin) SVD; beyond it the
#: diagnostics come from the Gram matrix AᵀA, assembled sparse: when it is
#: diagonal (off-diagonal entries ≤ _GRAM_DIAGONAL_RTOL·sqrt(g_ii g_jj)) the
#: singular values are sqrt(diag) and the null space is spanned by the zero
#: columns; otherwise its eigenvalues are used, with eigenvalues
#: ≤ _GRAM_RTOL·max counted as zero.
_SVD_MAX = 1_000_000
_GRAM_RTOL = 1e-13
_GRAM_DIAGONAL_RTOL = 1e-12

#: The sparse Gram matrix is summed over runs of rows with one sparsity
#: pattern (dense products per run) when the runs average at least this many
#: rows; otherwise by a sparse product.
_GRAM_RUN_MIN = 4

#: A dense A with at most this fraction of non-zeros is stored as CSR.
_SPARSE_FILL = 0.1

#: Bytes per line of pauli_product_model while it is built (label string,
#: list slots, CSR arrays), for the memory check.
_LABEL_BYTES = 280


def _operator(x: Any, name: str) -> np.ndarray:
    """A Qobj or array as a complex128 (d, d) matrix, d ≤ 1024 (power of 2 not checked here)."""
    if isinstance(x, qutip.Qobj):
        if not x.isoper:
            raise ModelError(f"{name} must be an operator, got a qutip {x.type}")
        if x.shape[0] > 2**MAX_QUBITS:
            raise ModelError(f"{name} is {x.shape[0]}-dimensional: at most {2**MAX_QUBITS} ({MAX_QUBITS} qubits)")
        arr = x.full()
    else:
        arr = numeric_array(x, name, ModelError, complex_ok=True)
    arr = np.array(arr, dtype=np.complex128)
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1] or arr.shape[0] < 1:
        raise ModelError(f"{name} has shape {arr.shape}: a square (d, d) matrix is required")
    if arr.shape[0] > 2**MAX_QUBITS:
        raise ModelError(f"{name} is {arr.shape[0]}-dimensional: at most {2**MAX_QUBITS} ({MAX_QUBITS} qubits)")
    check_range(arr, name, ModelError, what="entries")
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True, eq=False)
class Line:
    """One real spectral quantity: its amplitude is Tr[R ρ R† O].

    Attributes
    ----------
    label : str
        Unique within its readout, e.g. ``"1x|0"`` (spin 1, x quadrature,
        spin 2 in |0>).
    observable : ndarray (d, d), complex128
        The Hermitian operator O (a Qobj is accepted and converted).
    """

    label: str
    observable: np.ndarray

    def __post_init__(self):
        check_str(self.label, "Line.label", ModelError)
        o = _operator(self.observable, f"Line {show(self.label)} observable")
        dev = np.abs(o - o.conj().T).max()
        if dev > OPERATOR_ATOL:
            raise ModelError(
                f"Line {show(self.label)} observable is not Hermitian: max|O − O†| = {dev:.3g}, "
                f"allowed ≤ {OPERATOR_ATOL:g}"
            )
        object.__setattr__(self, "observable", o)


@dataclass(frozen=True, eq=False)
class Readout:
    """A readout: unitary R applied before acquisition, then the lines.

    Attributes
    ----------
    name : str
        Unique within a readout set, e.g. ``"XI"`` (90°x on spin 1).
    unitary : ndarray (d, d), complex128
        R (a Qobj is accepted).
    lines : tuple of Line
    """

    name: str
    unitary: np.ndarray
    lines: tuple[Line, ...]

    def __post_init__(self):
        check_str(self.name, "Readout.name", ModelError)
        u = _operator(self.unitary, f"Readout {show(self.name)} unitary")
        dev = np.abs(u.conj().T @ u - np.eye(u.shape[0])).max()
        if dev > OPERATOR_ATOL:
            raise ModelError(
                f"Readout {show(self.name)} unitary is not unitary: max|R†R − I| = {dev:.3g}, allowed ≤ {OPERATOR_ATOL:g}"
            )
        lines = (self.lines,) if isinstance(self.lines, Line) else self.lines
        if (not isinstance(lines, (list, tuple)) or not lines or not all(isinstance(ln, Line) for ln in lines)):
            raise ModelError(
                f"Readout {show(self.name)} lines = {show(self.lines)} is not allowed: a non-empty list or tuple of Line "
                "is required"
            )
        lines = tuple(lines)
        labels = [ln.label for ln in lines]
        dup = sorted({x for x in labels if labels.count(x) > 1})
        if dup:
            raise ModelError(f"Readout {show(self.name)} has duplicate line labels {dup}: labels must be unique")
        for ln in lines:
            if ln.observable.shape != u.shape:
                raise ModelError(
                    f"Readout {show(self.name)} line {show(ln.label)} observable is {ln.observable.shape[0]}-dimensional, "
                    f"the unitary is {u.shape[0]}-dimensional: they must match"
                )
        object.__setattr__(self, "unitary", u)
        object.__setattr__(self, "lines", lines)


def _sparse_gram(a: Any, where: str) -> sp.csr_array:
    """AᵀA as a CSR array, from a CSR or dense A, never densifying a sparse A.

    Rows of a sparse A that come in runs with one sparsity pattern (all the
    outcomes of one measurement setting, all the lines of one readout) are
    summed as dense r×k blocks BᵀB (BLAS), keeping only the non-zero entries;
    otherwise scipy's sparse product is used.  Both drop exact zeros, so a
    diagonal AᵀA costs no m×m storage.  Refused (ModelError) when the kept
    entries would exceed 2 GiB.
    """
    if not sp.issparse(a):
        m = a.shape[1]
        require_memory(2 * m * m * 8, f"{where}: the Gram matrix AᵀA ({m}×{m})", ModelError)
        return sp.csr_array(a.T @ a)
    m = a.shape[1]
    ptr, idx, val = a.indptr, a.indices.astype(np.int64), a.data
    lens = np.diff(ptr)
    # Candidate runs: consecutive rows with equal (length, first, last, sum of
    # column indices); every run is verified exactly below.
    nz = lens > 0
    first = np.where(nz, idx[np.minimum(ptr[:-1], max(idx.size - 1, 0))] if idx.size else 0, -1)
    last = np.where(nz, idx[np.maximum(ptr[1:] - 1, 0)] if idx.size else 0, -1)
    csum = np.concatenate([[0], np.cumsum(idx)])
    key = np.stack([lens, first, last, csum[ptr[1:]] - csum[ptr[:-1]]], axis=1)
    new_run = np.ones(a.shape[0], dtype=bool)
    new_run[1:] = np.any(key[1:] != key[:-1], axis=1)
    starts = np.flatnonzero(new_run)
    ends = np.append(starts[1:], a.shape[0])
    if starts.size * _GRAM_RUN_MIN <= a.shape[0]:
        rows_out, cols_out, vals_out, kept = [], [], [], 0
        budget = MEMORY_MAX // 32
        for s0, e0 in zip(starts.tolist(), ends.tolist()):
            k = int(lens[s0])
            if k == 0:
                continue
            require_memory(3 * k * k * 8, f"{where}: a {k}×{k} block of the Gram matrix AᵀA", ModelError)
            lo, hi = int(ptr[s0]), int(ptr[e0])
            cols = idx[lo:hi].reshape(e0 - s0, k)
            if not np.array_equal(cols, np.broadcast_to(cols[0], cols.shape)):
                break  # same key, different pattern: use the general product
            b = val[lo:hi].reshape(e0 - s0, k)
            block = b.T @ b
            i, j = np.nonzero(block)
            kept += i.size
            if kept > budget:
                require_memory(kept * 32, f"{where}: the sparse Gram matrix AᵀA ({kept:,}+ entries)", ModelError)
            rows_out.append(cols[0][i])
            cols_out.append(cols[0][j])
            vals_out.append(block[i, j])
        else:
            if not rows_out:
                return sp.csr_array((m, m))
            g = sp.coo_array((np.concatenate(vals_out), (np.concatenate(rows_out), np.concatenate(cols_out))),
                             shape=(m, m)).tocsr()
            g.sum_duplicates()
            g.eliminate_zeros()
            return g
    require_memory(min(float(m) * m, float(np.sum(lens.astype(np.float64) ** 2))) * 24,
                   f"{where}: the sparse Gram matrix AᵀA", ModelError)
    g = sp.csr_array(a.T @ a)
    g.eliminate_zeros()
    return g


#: Noise levels must lie in [SIGMA_MIN, SIGMA_MAX] (see :mod:`tomography._checks`).
SIGMA_MIN, SIGMA_MAX = VALUE_MIN, VALUE_MAX


def _as_sigma(sigma: Any, n_lines: int, name: str = "sigma") -> np.ndarray:
    """σ as a (n_lines,) float64 vector with every entry in [1e-60, 1e60]."""
    s = numeric_array(sigma, name)
    if s.ndim == 0:
        s = np.full(n_lines, float(s))
    if s.shape != (n_lines,):
        raise DataError(f"{name} has shape {s.shape}: a scalar or one value per line ({n_lines},) is required")
    bad = ~((s >= SIGMA_MIN) & (s <= SIGMA_MAX))
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"{name}[{k}] = {float(s[k])!r} is not allowed: every noise level must be finite and > 0, within "
            f"[{SIGMA_MIN:g}, {SIGMA_MAX:g}]"
        )
    return s


def _check_size(size: Any, per_draw: int, where: str) -> tuple[int, ...]:
    """``size`` as a tuple of non-negative ints whose draws fit in memory."""
    items = (size,) if isinstance(size, (int, np.integer)) and not isinstance(size, (bool, np.bool_)) else size
    if isinstance(items, np.ndarray):
        items = items.tolist()
    if (not isinstance(items, (tuple, list)) or len(items) > 32
            or not all(isinstance(k, (int, np.integer)) and not isinstance(k, (bool, np.bool_)) and 0 <= k <= 2**40
                       for k in items)):
        raise DataError(
            f"{where}: size = {show(size)} is not allowed: an integer from 0 to 2**40 or a tuple of at most 32 of "
            "them is required"
        )
    shape = tuple(int(k) for k in items)
    n = 1
    for k in shape:
        n *= k
    require_memory(n * per_draw * 8 * 2, f"{where}: size = {show(size)} ({n:,} draws of {per_draw:,} values)")
    return shape


@dataclass(frozen=True, eq=False)
class MeasurementModel:
    """The affine map from Pauli coefficients to line amplitudes, a = A c + b.

    Build one with :meth:`from_readouts` or a preset
    (:func:`nmr_two_spin_model`, :func:`pauli_product_model`); the
    constructor takes A directly.

    Attributes
    ----------
    n_qubits : int
    matrix : ndarray or scipy.sparse.csr_array, float64, (n_lines, 4**n − 1)
        A, columns in :func:`~tomography.pauli.pauli_labels` order.
    offset : ndarray (n_lines,)
        b = Tr[O]/d, the identity part's contribution.
    line_labels : tuple of str
        One per row, ``"<readout>/<line>"`` for models built from readouts.
    name : str
    readouts : tuple of Readout
        The physical description when built from readouts (else empty).

    The model caches its unit-weight normal equations privately (it is
    immutable, so the cache never goes stale).

    Derived (computed once): ``rank``, ``condition_number`` (s_max/s_min of
    A, ``inf`` when rank-deficient), ``singular_values``, ``undetermined``
    (labels of the coefficients with a component in the null space of A),
    ``null_space`` ((4**n − 1, k) orthonormal basis, built on first use for
    models whose AᵀA is diagonal).

    How the diagnostics are found: column-disjoint models from the column
    norms; models of at most 10⁶ entries by a thin SVD; larger ones from
    the Gram matrix AᵀA, assembled sparse (never from a dense A) — its
    diagonal when AᵀA is diagonal (relative off-diagonal ≤ 1e-12, as for
    the outcome-probability model of :func:`~tomography.from_pauli_counts`),
    else its eigenvalues.

    Limits: entries of A and b finite with magnitude ≤ 1e60, and the largest
    |A_lP| at least 1e-60 unless A is zero; a model whose Gram matrix AᵀA is
    not diagonal needs dense (4**n − 1)² work and is refused when that
    exceeds 2 GiB (7 or more qubits) — models with a diagonal AᵀA, such as
    :func:`pauli_product_model` and the count models, are not.  Violations
    raise :class:`~tomography.errors.ModelError`.
    """

    n_qubits: int
    matrix: Any
    offset: np.ndarray
    line_labels: tuple[str, ...]
    name: str = "custom"
    readouts: tuple[Readout, ...] = ()
    rank: int = field(init=False)
    condition_number: float = field(init=False)
    singular_values: np.ndarray = field(init=False, repr=False)
    undetermined: tuple[str, ...] = field(init=False)

    def __post_init__(self):
        n = _check_n(self.n_qubits, "MeasurementModel.n_qubits", ModelError)
        check_str(self.name, "MeasurementModel.name", ModelError)
        m = 4**n - 1
        a = self.matrix
        if sp.issparse(a):
            if a.ndim != 2 or a.dtype.kind not in "iuf":
                raise ModelError(f"matrix is a sparse {a.dtype} array of shape {a.shape}: real 2-D values are required")
            a = sp.csr_array(a, dtype=np.float64, copy=True)
            a.sum_duplicates()
            a.eliminate_zeros()
            values = a.data
        else:
            a = np.array(numeric_array(a, "matrix", ModelError), dtype=np.float64)
            values = a
        if a.ndim != 2 or a.shape[1] != m or a.shape[0] < 1:
            raise ModelError(f"matrix has shape {a.shape}: (n_lines ≥ 1, {m}) is required for {n} qubits")
        check_range(values, "matrix", ModelError, what="entries")
        top = float(np.abs(values).max()) if values.size else 0.0
        if 0 < top < VALUE_MIN:
            raise ModelError(
                f"matrix has largest entry {top:.3g}: the scale of A must be at least {VALUE_MIN:g} (or A = 0)"
            )
        n_lines = a.shape[0]
        b = numeric_array(self.offset, "offset", ModelError)
        b = np.full(n_lines, float(b)) if b.ndim == 0 else np.array(b, dtype=np.float64).reshape(-1)
        if b.shape != (n_lines,):
            raise ModelError(f"offset has shape {b.shape}: a scalar or ({n_lines},) values (one per line) are required")
        check_range(b, "offset", ModelError)
        labels = str_sequence(self.line_labels, "line_labels", ModelError)
        if len(labels) != n_lines:
            raise ModelError(f"line_labels has {len(labels)} entries: {n_lines} strings (one per row of matrix) are required")
        if len(set(labels)) != n_lines:
            raise ModelError("line_labels must be unique")
        readouts = self.readouts
        if not isinstance(readouts, (list, tuple)) or not all(isinstance(r, Readout) for r in readouts):
            raise ModelError(f"readouts = {show(readouts)} is not allowed: a list or tuple of Readout is required")
        b.setflags(write=False)
        if not sp.issparse(a):
            a.setflags(write=False)
        for k, v in (("n_qubits", n), ("matrix", a), ("offset", b), ("line_labels", labels),
                     ("readouts", tuple(readouts))):
            object.__setattr__(self, k, v)
        # Structure: when the columns of A have disjoint supports (no row has
        # two non-zeros) every Gram matrix AᵀWA is diagonal, whatever the
        # per-line weights W.
        rows_nnz = np.diff(a.indptr) if sp.issparse(a) else np.count_nonzero(a, axis=1)
        diagonal = bool(rows_nnz.max() <= 1)
        object.__setattr__(self, "_diagonal", diagonal)
        object.__setattr__(self, "_null", None)
        gram_diagonal = diagonal
        try:
            if diagonal:
                g = self._gram(np.ones(n_lines))
                s = np.sqrt(np.clip(g, 0.0, None))
                smax = s.max()
                zero = s <= RANK_RTOL * smax
                null = None  # built on demand from the zero columns
            elif n_lines * m <= _SVD_MAX:  # small: thin SVD (V complete only for a wide A)
                require_memory(3 * m * m * 8 + n_lines * m * 8,
                               f"model {show(self.name)}: the dense rank analysis of a {n}-qubit model whose columns "
                               f"share lines ({m}×{m} matrices)", ModelError)
                dense = a.toarray() if sp.issparse(a) else a
                _, s, vt = np.linalg.svd(dense, full_matrices=n_lines < m)
                s = np.concatenate([s, np.zeros(m - s.size)])
                smax = s.max()
                zero = s <= RANK_RTOL * smax
                null = vt[zero].T
            else:
                with single_threaded_blas():  # many small dense blocks: threads only cost
                    gs = _sparse_gram(a, f"model {show(self.name)}")
                g = gs.diagonal()
                off = gs - sp.diags_array(g)
                off.eliminate_zeros()
                if off.nnz:
                    scale = np.sqrt(np.clip(g, 0.0, None))
                    coo = off.tocoo()
                    rel = np.abs(coo.data) - _GRAM_DIAGONAL_RTOL * scale[coo.row] * scale[coo.col]
                    gram_diagonal = not np.any(rel > 0)
                else:
                    gram_diagonal = True
                if gram_diagonal:  # AᵀA diagonal: the column norms are the singular values
                    s = np.sqrt(np.clip(g, 0.0, None))
                    smax = s.max()
                    zero = s <= RANK_RTOL * smax
                    null = None
                else:  # eigenvalues of the dense Gram matrix, looser cut
                    require_memory(3 * m * m * 8,
                                   f"model {show(self.name)}: the dense rank analysis of a {n}-qubit model whose Gram "
                                   f"matrix AᵀA is not diagonal ({m}×{m} matrices)", ModelError)
                    ev, vec = np.linalg.eigh(gs.toarray())
                    s = np.sqrt(np.clip(ev, 0.0, None))
                    smax = s.max()
                    zero = ev <= _GRAM_RTOL * ev.max()
                    null = vec[:, zero]
        except np.linalg.LinAlgError as exc:  # pragma: no cover (finite, bounded input)
            raise ModelError(f"model {show(self.name)}: the rank analysis of matrix failed ({exc})") from None
        if smax == 0:
            zero = np.ones(m, dtype=bool)
            null = None if gram_diagonal else np.eye(m)
        object.__setattr__(self, "_zero", zero)
        rank = int((~zero).sum())
        if gram_diagonal:
            und = tuple(lab for lab, z in zip(pauli_labels(n), zero) if z)
        else:
            und = tuple(lab for lab, w in zip(pauli_labels(n), (null**2).sum(axis=1)) if w > 1e-12)
            object.__setattr__(self, "_null", null)
        object.__setattr__(self, "rank", rank)
        object.__setattr__(self, "condition_number", float(smax / s.min()) if rank == m else float("inf"))
        object.__setattr__(self, "singular_values", np.sort(s)[::-1])
        object.__setattr__(self, "undetermined", und)

    @property
    def null_space(self) -> np.ndarray:
        """(4**n − 1, k) orthonormal basis of the null space of A (k = 4**n − 1 − rank)."""
        if self._null is None:
            idx = np.flatnonzero(self._zero)
            require_memory(self.n_coefficients * idx.size * 8, f"model {show(self.name)}: null_space", ModelError)
            null = np.zeros((self.n_coefficients, idx.size))
            null[idx, np.arange(idx.size)] = 1.0
            object.__setattr__(self, "_null", null)
        return self._null

    # ------------------------------------------------------------ basics
    @property
    def n_lines(self) -> int:
        return self.matrix.shape[0]

    @property
    def n_coefficients(self) -> int:
        return 4**self.n_qubits - 1

    @property
    def dim(self) -> int:
        return 2**self.n_qubits

    @property
    def pauli_labels(self) -> tuple[str, ...]:
        return pauli_labels(self.n_qubits)

    @property
    def is_complete(self) -> bool:
        """True when every Pauli coefficient is determined (rank 4**n − 1)."""
        return self.rank == self.n_coefficients

    @property
    def is_diagonal(self) -> bool:
        """True when the columns of A have disjoint supports (AᵀWA diagonal)."""
        return self._diagonal

    def summary(self) -> str:
        """One paragraph: size, rank, condition number, undetermined coefficients."""
        head = (
            f"MeasurementModel {show(self.name)}: {self.n_qubits} qubit(s), {len(self.readouts) or 'no'} readouts, "
            f"{self.n_lines} lines, {self.n_coefficients} Pauli coefficients; rank {self.rank}, "
            f"condition number {self.condition_number:.4g}"
        )
        if self.is_complete:
            return head + "; informationally complete."
        return head + f"; informationally INCOMPLETE, undetermined: {', '.join(self.undetermined)}."

    # --------------------------------------------------------- linear algebra
    def _vector(self, x: Any, name: str, length: int, where: str) -> np.ndarray:
        v = numeric_array(x, name)
        if v.ndim < 1 or v.shape[-1] != length:
            raise DataError(f"{where}: {name} has shape {v.shape}: (..., {length}) is required")
        check_range(v, name)
        require_memory(v.size // max(length, 1) * max(self.n_lines, self.n_coefficients) * 8 * 3,
                       f"{where} of {v.size // max(length, 1):,} vector(s)")
        return v

    def gram(self, w: Any) -> np.ndarray:
        """AᵀWA for per-line weights w ≥ 0, (n_lines,): (m,) when :attr:`is_diagonal`, else (m, m)."""
        w = self._vector(w, "w", self.n_lines, "gram")
        if w.ndim != 1 or np.any(w < 0):
            raise DataError(f"gram: w must be one vector ({self.n_lines},) of weights ≥ 0")
        return self._gram(w)

    def _gram(self, w: np.ndarray) -> np.ndarray:
        a = self.matrix
        if self._diagonal:
            a2t = self.__dict__.get("_a2t")
            if a2t is None:  # (A∘A)ᵀ, cached: AᵀWA = diag((A∘A)ᵀ w)
                a2t = sp.csr_array(a.multiply(a).T) if sp.issparse(a) else np.ascontiguousarray((a * a).T)
                object.__setattr__(self, "_a2t", a2t)
            return np.asarray(a2t @ w).ravel()
        if sp.issparse(a):
            return (a.T @ sp.diags_array(w) @ a).toarray()
        return a.T @ (a * w[:, None])

    def apply(self, c: Any) -> np.ndarray:
        """A c for (..., m) coefficients → (..., n_lines)."""
        return self._apply(self._vector(c, "c", self.n_coefficients, "apply"))

    def _apply(self, c: np.ndarray) -> np.ndarray:
        c = np.asarray(c, dtype=np.float64)
        flat = c.reshape(-1, c.shape[-1])
        out = (self.matrix @ flat.T).T
        return np.asarray(out).reshape(c.shape[:-1] + (self.n_lines,))

    def apply_transpose(self, r: Any) -> np.ndarray:
        """Aᵀ r for (..., n_lines) → (..., m)."""
        return self._apply_transpose(self._vector(r, "r", self.n_lines, "apply_transpose"))

    def _apply_transpose(self, r: np.ndarray) -> np.ndarray:
        r = np.asarray(r, dtype=np.float64)
        flat = r.reshape(-1, r.shape[-1])
        out = (self.matrix.T @ flat.T).T
        return np.asarray(out).reshape(r.shape[:-1] + (self.n_coefficients,))

    # ------------------------------------------------------------ data
    def _states(self, state: Any, physical: Any, where: str) -> np.ndarray:
        """The validated (Hermitian part of the) state(s), complex (..., d, d)."""
        if not isinstance(physical, (bool, np.bool_)):
            raise DataError(f"{where}: physical = {show(physical)} is not allowed: True or False is required")
        arr, _ = check_states(state, "state", positive=bool(physical), unit_trace=bool(physical))
        if arr.shape[-1] != self.dim:
            raise StateError(f"state is {arr.shape[-1]}×{arr.shape[-1]}: this model needs {self.dim}×{self.dim}")
        batch = arr.size // (self.dim * self.dim)
        require_memory(batch * (self.n_lines + 4**self.n_qubits) * 8 * 3, f"{where} of {batch:,} states")
        return arr

    def predict(self, state: Any, *, physical: bool = True) -> np.ndarray:
        """Noiseless line amplitudes Tr[R ρ R† O] of a state or a batch.

        Parameters
        ----------
        state : qutip.Qobj, list of Qobj, ket, or array (d, d) / (..., d, d)
            A density matrix of the model's dimension: Hermitian, unit
            trace and positive semidefinite within 1e-8
            (:data:`~tomography.pauli.STATE_ATOL`), else a
            :class:`~tomography.errors.StateError` — an anti-Hermitian part
            is never silently dropped.
        physical : bool
            False accepts any Hermitian matrix of the model's dimension (a
            deviation ρ − I/d, a non-normalised NMR state...); only its
            Pauli expansion is used: a = b·Tr ρ + A c.  Hermiticity is still
            required.

        Returns
        -------
        ndarray (n_lines,) or (..., n_lines)
        """
        arr = self._states(state, physical, "predict")
        return self._predict(arr)

    def _predict(self, arr: np.ndarray) -> np.ndarray:
        full = matrix_to_full(arr, self.n_qubits)
        return self._apply(full[..., 1:]) + full[..., :1] * self.offset

    def simulate(
        self, state: Any, sigma: Any, seed: Any, size: int | tuple = (), *, physical: bool = True
    ) -> np.ndarray:
        """Amplitudes with independent Gaussian noise of standard deviation σ.

        Parameters
        ----------
        state : as in :meth:`predict` (one state, or a batch)
        sigma : float or (n_lines,) array, in [1e-60, 1e60]
        seed : int ≥ 0, sequence of ints ≥ 0, numpy SeedSequence or Generator
            Every draw comes from it (an int gives ``default_rng(seed)``).
        size : int or tuple of ints ≥ 0
            Extra leading axes of independent repetitions (at most 2 GiB of
            draws).
        physical : bool
            As in :meth:`predict`.

        Returns
        -------
        ndarray (*size, [batch,] n_lines)
        """
        arr = self._states(state, physical, "simulate")
        s = _as_sigma(sigma, self.n_lines)
        rng = make_rng(seed, "simulate")
        mean = self._predict(arr)
        size = _check_size(size, mean.size, "simulate")
        return mean + s * rng.standard_normal(size + mean.shape)

    # ------------------------------------------------------------ building
    @classmethod
    def from_readouts(cls, readouts: Sequence[Readout], name: str = "custom") -> MeasurementModel:
        """Build A and b from readouts: A_lP = Tr[P R†OR]/d, b_l = Tr[O]/d.

        Parameters
        ----------
        readouts : list or tuple of Readout
            All of the same dimension d = 2**n, with unique names.
        name : str

        Returns
        -------
        MeasurementModel (A stored as CSR when at most 10 % of it is non-zero).
        Entries below 1e-14 of the largest are set to zero (round-off of
        the rotations).
        """
        if (not isinstance(readouts, (list, tuple)) or not readouts
                or not all(isinstance(r, Readout) for r in readouts)):
            raise ModelError(
                f"readouts = {show(readouts)} is not allowed: a non-empty list or tuple of Readout is required"
            )
        readouts = tuple(readouts)
        check_str(name, "name", ModelError)
        names = [r.name for r in readouts]
        dup = sorted({x for x in names if names.count(x) > 1})
        if dup:
            raise ModelError(f"readout names {dup} are duplicated: names must be unique")
        d = readouts[0].unitary.shape[0]
        try:
            n = n_qubits_of(d, "readout unitary")
        except StateError as exc:
            raise ModelError(str(exc)) from None
        for r in readouts:
            if r.unitary.shape[0] != d:
                raise ModelError(
                    f"readout {show(r.name)} is {r.unitary.shape[0]}-dimensional, readout {show(readouts[0].name)} is "
                    f"{d}-dimensional: all readouts must act on the same qubits"
                )
        n_lines = sum(len(r.lines) for r in readouts)
        require_memory(n_lines * 4**n * 8 * 2 + max(len(r.lines) for r in readouts) * d * d * 16 * 3,
                       f"a model of {n_lines:,} lines on {n} qubits", ModelError)
        rows, offs, labels = [], [], []
        for r in readouts:
            obs = np.stack([ln.observable for ln in r.lines])
            rot = r.unitary.conj().T @ obs @ r.unitary  # R† O R
            full = matrix_to_full(rot, n) / d
            rows.append(full[:, 1:])
            offs.append(full[:, 0])
            labels.extend(f"{r.name}/{ln.label}" for ln in r.lines)
        a = np.concatenate(rows)
        a[np.abs(a) < 1e-14 * max(np.abs(a).max(), 0.0)] = 0.0
        if np.count_nonzero(a) <= _SPARSE_FILL * a.size:
            a = sp.csr_array(a)
        return cls(n, a, np.concatenate(offs), tuple(labels), name=name, readouts=readouts)

    def restrict(self, readout_names: Sequence[str], name: str | None = None) -> MeasurementModel:
        """The sub-model of the named readouts (models built from readouts only).

        ``readout_names`` is a list or tuple of names; ``name`` a string
        (default ``"<model>[<names>]"``).
        """
        readout_names = str_sequence(readout_names, "readout_names", ModelError)
        if name is not None:
            check_str(name, "name", ModelError)
        if not self.readouts:
            raise ModelError(f"model {show(self.name)} was not built from readouts: restrict needs them")
        known = {r.name: r for r in self.readouts}
        bad = [x for x in readout_names if x not in known]
        if bad:
            raise ModelError(
                f"readout names {show(bad)} are not in model {show(self.name)}: allowed {show(sorted(known), 200)}"
            )
        if not readout_names:
            raise ModelError("readout_names = () is not allowed: name at least one readout")
        return MeasurementModel.from_readouts([known[x] for x in readout_names],
                                              name=name or f"{self.name}[{','.join(readout_names)}]")


# --------------------------------------------------------------------------
# presets: weakly coupled heteronuclear spin pair
# --------------------------------------------------------------------------
_I2, _X, _Y, _Z = PAULI
_P0 = np.diag([1.0, 0.0]).astype(np.complex128)  # |0><0| (spin up)
_P1 = np.diag([0.0, 1.0]).astype(np.complex128)
_PULSE = {
    "I": _I2,
    "X": (_I2 - 1j * _X) / np.sqrt(2),  # 90° about x: exp(−i (π/2) σx/2)
    "Y": (_I2 - 1j * _Y) / np.sqrt(2),  # 90° about y
}

#: The nine {I, X, Y}⊗{I, X, Y} 90° readouts ("XY" = 90°x on spin 1, 90°y on spin 2).
NMR_FULL9 = ("II", "IX", "IY", "XI", "XX", "XY", "YI", "YX", "YY")

#: A four-readout subset that is still informationally complete (four is
#: the minimum: no three readouts of NMR_FULL9 determine all 15 coefficients).
NMR_MINIMAL4 = ("II", "IX", "XI", "XY")


def _doublet_lines() -> tuple[Line, ...]:
    lines = []
    for spin in (1, 2):
        for cond, proj in (("0", _P0), ("1", _P1)):
            for quad, op in (("x", _X), ("y", _Y)):
                o = np.kron(op, proj) if spin == 1 else np.kron(proj, op)
                lines.append(Line(f"{spin}{quad}|{cond}", o))
    return tuple(lines)


def nmr_two_spin_readouts(pulses: str | Sequence[str] = "full9") -> tuple[Readout, ...]:
    """Readouts of a weakly coupled heteronuclear spin pair (e.g. ¹³C–¹H).

    Each readout applies a hard 90° pulse (or nothing) to each spin, then
    acquires both channels.  Spin k's spectrum is a J-doublet; the line at
    the other spin's |0> (|1>) frequency has the complex amplitude
    Tr[ρ' σx^(k) ⊗ |0><0|] + i Tr[ρ' σy^(k) ⊗ |0><0|], ρ' = RρR†, so each
    readout gives 8 real lines labelled ``"<spin><x|y>|<0|1>"``:
    ``1x|0, 1y|0, 1x|1, 1y|1, 2x|0, 2y|0, 2x|1, 2y|1``.  The unit is the
    amplitude of a fully polarised line; a receiver gain is absorbed in the
    deviation scale α (:func:`tomography.deviation_estimate`).

    What each readout determines (the Pauli coefficients its 8 lines touch;
    each doublet line reads a half-sum or half-difference such as
    (c_XI ± c_XZ)/2, so a readout fixes its 8 coefficients exactly):

    ====  =======================================
    II    IX IY XI XZ YI YZ ZX ZY
    IX    IX IZ XI XY YI YY ZX ZZ
    IY    IY IZ XI XX YI YX ZY ZZ
    XI    IX IY XI XZ YX YY ZI ZZ
    XX    IX IZ XI XY YX YZ ZI ZY
    XY    IY IZ XI XX YY YZ ZI ZX
    YI    IX IY XX XY YI YZ ZI ZZ
    YX    IX IZ XX XZ YI YY ZI ZY
    YY    IY IZ XY XZ YI YX ZI ZX
    ====  =======================================

    (generated with ``MeasurementModel.from_readouts`` and checked in the
    tests).  ``"full9"`` reads each local coefficient (XI, ..., IZ) in six
    readouts and each correlation (XX, ..., ZZ) in four: singular values of
    A √3 (×6) and √2 (×9), condition number 1.22.  No three readouts are
    complete; 81 four-readout subsets are, all with condition number 2.
    :data:`NMR_MINIMAL4` = (II, IX, XI, XY) is one of them.  The often-quoted
    set (II, XI, IX, YY) is *not* complete: c_XX needs one spin's x
    quadrature read while the other spin's x axis is turned to z (readouts
    IY, XY, YI or YX), and it has none of them (swap YY for XY, or add IY).

    Parameters
    ----------
    pulses : "full9", "minimal4", or a non-empty list or tuple of two-letter
        names over {I, X, Y} (first letter spin 1).  ``"full9"`` = :data:`NMR_FULL9`
        (72 lines, every coefficient measured at least twice);
        ``"minimal4"`` = :data:`NMR_MINIMAL4` (32 lines, still complete).

    Returns
    -------
    tuple of Readout
    """
    names = _nmr_names(pulses)
    lines = _doublet_lines()
    return tuple(Readout(nm, np.kron(_PULSE[nm[0]], _PULSE[nm[1]]), lines) for nm in names)


def _nmr_names(pulses: Any) -> tuple[str, ...]:
    allowed = "'full9', 'minimal4' or a non-empty list of names like 'XI'"
    if isinstance(pulses, str):
        presets = {"full9": NMR_FULL9, "minimal4": NMR_MINIMAL4}
        if pulses not in presets:
            raise ModelError(f"pulses = {show(pulses)} is not allowed: {allowed}")
        return presets[pulses]
    if not isinstance(pulses, (list, tuple)) or not pulses:
        raise ModelError(f"pulses = {show(pulses)} is not allowed: {allowed}")
    for nm in pulses:
        if not isinstance(nm, str) or len(nm) != 2 or set(nm) - set("IXY"):
            raise ModelError(f"readout name {show(nm)} is not allowed: two letters from 'I', 'X', 'Y' (e.g. 'XI')")
    return tuple(pulses)


def nmr_two_spin_model(pulses: str | Sequence[str] = "full9") -> MeasurementModel:
    """:class:`MeasurementModel` of :func:`nmr_two_spin_readouts` (same argument)."""
    readouts = nmr_two_spin_readouts(pulses)
    name = f"nmr_{pulses}" if isinstance(pulses, str) else "nmr_" + "_".join(pulses)
    return MeasurementModel.from_readouts(readouts, name=name)


# --------------------------------------------------------------------------
# presets: n-qubit Pauli products
# --------------------------------------------------------------------------
# Local rotations R with R†ZR = axis: R X R† = Z for a −90° y rotation,
# R Y R† = Z for a +90° x rotation.
_TO_Z = {
    "X": (_I2 + 1j * _Y) / np.sqrt(2),  # exp(+i (π/2) σy/2)
    "Y": (_I2 - 1j * _X) / np.sqrt(2),  # exp(−i (π/2) σx/2)
    "Z": _I2,
}


def _subsets(n: int):
    return [s for k in range(1, n + 1) for s in itertools.combinations(range(n), k)]


def pauli_product_readouts(n_qubits: int) -> tuple[Readout, ...]:
    """The 3**n local Pauli-product readouts of n qubits, as physical readouts.

    Readout ``"XYZ"`` rotates qubit k so that its chosen axis becomes z, then
    measures the 2**n − 1 longitudinal products Z_S over the non-empty
    qubit subsets S: line ``"XIZ"`` reads Tr[ρ X⊗I⊗Z] exactly (coefficient 1).
    A Pauli string with k identity factors is read in 3**k readouts.
    :func:`pauli_product_model` builds the same model directly (sparse,
    without d×d matrices), which is what to use beyond four qubits; from six
    qubits on the d×d observables would need more than 2 GiB and are
    refused (:class:`~tomography.errors.ModelError`).
    """
    n = _check_n(n_qubits, "n_qubits", ModelError)
    require_memory(3**n * 2**n * 4**n * 16 * 1.5,
                   f"pauli_product_readouts({n}) ({3**n:,} readouts of {2**n - 1} {2**n}×{2**n} observables; "
                   "use pauli_product_model)", ModelError)
    zs = {}
    for s in _subsets(n):
        op = np.ones((1, 1), dtype=np.complex128)
        for q in range(n):
            op = np.kron(op, _Z if q in s else _I2)
        zs[s] = op
    out = []
    for setting in itertools.product("XYZ", repeat=n):
        u = np.ones((1, 1), dtype=np.complex128)
        for ch in setting:
            u = np.kron(u, _TO_Z[ch])
        lines = tuple(
            Line("".join(setting[q] if q in s else "I" for q in range(n)), zs[s]) for s in _subsets(n)
        )
        out.append(Readout("".join(setting), u, lines))
    return tuple(out)


def pauli_product_model(n_qubits: int) -> MeasurementModel:
    """The model of :func:`pauli_product_readouts`, built directly in CSR form.

    3**n readouts × (2**n − 1) lines; every line measures one Pauli string
    with coefficient 1 (A_lP ∈ {0, 1}, b = 0), so AᵀWA is diagonal for any
    per-line noise.  Six qubits: 45,927 lines, 4,095 coefficients.  Eight
    qubits (1.7 million lines, ~0.5 GiB) is the largest that fits in 2 GiB;
    nine and ten are refused with the memory they would need.
    """
    n = _check_n(n_qubits, "n_qubits", ModelError)
    n_lines = 3**n * (2**n - 1)
    require_memory(n_lines * (_LABEL_BYTES + 2 * n), f"pauli_product_model({n}) ({n_lines:,} lines)", ModelError)
    subsets = _subsets(n)
    settings = list(itertools.product("XYZ", repeat=n))
    labels, cols = [], []
    for setting in settings:
        sname = "".join(setting)
        for s in subsets:
            lab = "".join(setting[q] if q in s else "I" for q in range(n))
            labels.append(f"{sname}/{lab}")
            cols.append(pauli_index(lab))
    rows = np.arange(len(cols))
    a = sp.csr_array((np.ones(len(cols)), (rows, np.array(cols))), shape=(len(cols), 4**n - 1))
    return MeasurementModel(n, a, np.zeros(len(cols)), tuple(labels), name=f"pauli_product_{n}")
