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

from tomography.errors import DataError, ModelError, StateError
from tomography.pauli import (
    PAULI,
    _check_n,
    as_matrices,
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

#: Largest A (entries) whose rank is found by SVD; beyond it the Gram
#: eigenvalues are used, with eigenvalues ≤ _GRAM_RTOL·max counted as zero.
_SVD_MAX = 20_000_000
_GRAM_RTOL = 1e-13

#: A dense A with at most this fraction of non-zeros is stored as CSR.
_SPARSE_FILL = 0.1


def _operator(x: Any, name: str) -> np.ndarray:
    """A Qobj or array as a complex128 (d, d) matrix (dims not checked here)."""
    if isinstance(x, qutip.Qobj):
        if not x.isoper:
            raise ModelError(f"{name} must be an operator, got a qutip {x.type}")
        arr = x.full()
    else:
        try:
            arr = np.asarray(x, dtype=np.complex128)
        except (TypeError, ValueError):
            raise ModelError(f"{name} must be a qutip.Qobj or a numeric array, got {type(x).__name__}") from None
    arr = np.array(arr, dtype=np.complex128)
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1]:
        raise ModelError(f"{name} has shape {arr.shape}: a square (d, d) matrix is required")
    if not np.all(np.isfinite(arr)):
        raise ModelError(f"{name} contains NaN or infinite entries")
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
        if not isinstance(self.label, str) or not self.label:
            raise ModelError(f"Line.label = {self.label!r} is not allowed: a non-empty string is required")
        o = _operator(self.observable, f"Line {self.label!r} observable")
        dev = np.abs(o - o.conj().T).max()
        if dev > OPERATOR_ATOL:
            raise ModelError(
                f"Line {self.label!r} observable is not Hermitian: max|O − O†| = {dev:.3g}, "
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
        if not isinstance(self.name, str) or not self.name:
            raise ModelError(f"Readout.name = {self.name!r} is not allowed: a non-empty string is required")
        u = _operator(self.unitary, f"Readout {self.name!r} unitary")
        dev = np.abs(u.conj().T @ u - np.eye(u.shape[0])).max()
        if dev > OPERATOR_ATOL:
            raise ModelError(
                f"Readout {self.name!r} unitary is not unitary: max|R†R − I| = {dev:.3g}, allowed ≤ {OPERATOR_ATOL:g}"
            )
        lines = tuple(self.lines) if not isinstance(self.lines, Line) else (self.lines,)
        if not lines or not all(isinstance(ln, Line) for ln in lines):
            raise ModelError(f"Readout {self.name!r} lines must be a non-empty sequence of Line")
        labels = [ln.label for ln in lines]
        dup = sorted({x for x in labels if labels.count(x) > 1})
        if dup:
            raise ModelError(f"Readout {self.name!r} has duplicate line labels {dup}: labels must be unique")
        for ln in lines:
            if ln.observable.shape != u.shape:
                raise ModelError(
                    f"Readout {self.name!r} line {ln.label!r} observable is {ln.observable.shape[0]}-dimensional, "
                    f"the unitary is {u.shape[0]}-dimensional: they must match"
                )
        object.__setattr__(self, "unitary", u)
        object.__setattr__(self, "lines", lines)


def _as_sigma(sigma: Any, n_lines: int) -> np.ndarray:
    """σ as a positive finite (n_lines,) float64 vector."""
    s = np.asarray(sigma, dtype=np.float64) if not isinstance(sigma, (str, bytes)) else np.array(np.nan)
    if s.ndim == 0:
        s = np.full(n_lines, float(s))
    if s.shape != (n_lines,):
        raise DataError(f"sigma has shape {s.shape}: a scalar or one value per line ({n_lines},) is required")
    bad = ~(np.isfinite(s) & (s > 0))
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise DataError(f"sigma[{k}] = {float(s[k])!r} is not allowed: every noise level must be finite and > 0")
    return s


def _rng(seed: Any, where: str) -> np.random.Generator:
    """A Generator from an int seed ≥ 0 or a Generator, else a DataError."""
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise DataError(f"{where}: seed = {seed!r} is not allowed: give an integer ≥ 0 or a numpy Generator")
    return np.random.default_rng(int(seed))


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
    ``null_space`` ((4**n − 1, k) orthonormal basis).
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
    null_space: np.ndarray = field(init=False, repr=False)

    def __post_init__(self):
        n = _check_n(self.n_qubits)
        m = 4**n - 1
        a = self.matrix
        if sp.issparse(a):
            a = sp.csr_array(a, dtype=np.float64)
            a.sum_duplicates()
            data_ok = np.all(np.isfinite(a.data))
        else:
            try:
                a = np.array(a, dtype=np.float64)
            except (TypeError, ValueError):
                raise ModelError("matrix must be a real numeric array or a scipy sparse matrix") from None
            data_ok = np.all(np.isfinite(a))
        if a.ndim != 2 or a.shape[1] != m or a.shape[0] < 1:
            raise ModelError(f"matrix has shape {a.shape}: (n_lines ≥ 1, {m}) is required for {n} qubits")
        if not data_ok:
            raise ModelError("matrix contains NaN or infinite entries")
        n_lines = a.shape[0]
        b = np.array(self.offset, dtype=np.float64).reshape(-1) if np.ndim(self.offset) else np.full(n_lines, float(self.offset))
        if b.shape != (n_lines,) or not np.all(np.isfinite(b)):
            raise ModelError(f"offset has shape {b.shape} or non-finite entries: ({n_lines},) finite values are required")
        labels = tuple(self.line_labels)
        if len(labels) != n_lines or not all(isinstance(x, str) for x in labels):
            raise ModelError(f"line_labels has {len(labels)} entries: {n_lines} strings (one per row of matrix) are required")
        if len(set(labels)) != n_lines:
            raise ModelError("line_labels must be unique")
        b.setflags(write=False)
        if not sp.issparse(a):
            a.setflags(write=False)
        for k, v in (("n_qubits", n), ("matrix", a), ("offset", b), ("line_labels", labels),
                     ("readouts", tuple(self.readouts))):
            object.__setattr__(self, k, v)
        # Structure: when the columns of A have disjoint supports every Gram
        # matrix AᵀWA is diagonal, whatever the per-line weights W.
        pattern = (sp.csr_array(a) != 0).astype(np.float64)
        overlap = (pattern.T @ pattern).tocoo()
        diagonal = bool(np.all(overlap.row == overlap.col))
        object.__setattr__(self, "_diagonal", diagonal)
        if diagonal:
            s = np.sqrt(np.clip(self.gram(np.ones(n_lines)), 0.0, None))
            smax = s.max()
            zero = s <= RANK_RTOL * smax
            null = np.eye(m)[:, zero]
        elif n_lines * m <= _SVD_MAX:
            dense = a.toarray() if sp.issparse(a) else a
            _, s, vt = np.linalg.svd(dense, full_matrices=True)
            s = np.concatenate([s, np.zeros(m - s.size)])
            smax = s.max()
            zero = s <= RANK_RTOL * smax
            null = vt[zero].T
        else:  # too large for an SVD: eigenvalues of the Gram matrix, looser cut
            ev, vec = np.linalg.eigh(self.gram(np.ones(n_lines)))
            s = np.sqrt(np.clip(ev, 0.0, None))
            smax = s.max()
            zero = ev <= _GRAM_RTOL * ev.max()
            null = vec[:, zero]
        if smax == 0:
            zero = np.ones(m, dtype=bool)
            null = np.eye(m)
        rank = int((~zero).sum())
        und = tuple(lab for lab, w in zip(pauli_labels(n), (null**2).sum(axis=1)) if w > 1e-12)
        object.__setattr__(self, "rank", rank)
        object.__setattr__(self, "condition_number", float(smax / s.min()) if rank == m else float("inf"))
        object.__setattr__(self, "singular_values", np.sort(s)[::-1])
        object.__setattr__(self, "undetermined", und)
        object.__setattr__(self, "null_space", null)

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
            f"MeasurementModel {self.name!r}: {self.n_qubits} qubit(s), {len(self.readouts) or 'no'} readouts, "
            f"{self.n_lines} lines, {self.n_coefficients} Pauli coefficients; rank {self.rank}, "
            f"condition number {self.condition_number:.4g}"
        )
        if self.is_complete:
            return head + "; informationally complete."
        return head + f"; informationally INCOMPLETE, undetermined: {', '.join(self.undetermined)}."

    # --------------------------------------------------------- linear algebra
    def gram(self, w: np.ndarray) -> np.ndarray:
        """AᵀWA for per-line weights w: (m,) when :attr:`is_diagonal`, else (m, m)."""
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

    def apply(self, c: np.ndarray) -> np.ndarray:
        """A c for (..., m) coefficients → (..., n_lines)."""
        c = np.asarray(c, dtype=np.float64)
        flat = c.reshape(-1, c.shape[-1])
        out = (self.matrix @ flat.T).T
        return np.asarray(out).reshape(c.shape[:-1] + (self.n_lines,))

    def apply_transpose(self, r: np.ndarray) -> np.ndarray:
        """Aᵀ r for (..., n_lines) → (..., m)."""
        r = np.asarray(r, dtype=np.float64)
        flat = r.reshape(-1, r.shape[-1])
        out = (self.matrix.T @ flat.T).T
        return np.asarray(out).reshape(r.shape[:-1] + (self.n_coefficients,))

    # ------------------------------------------------------------ data
    def predict(self, state: Any) -> np.ndarray:
        """Noiseless line amplitudes Tr[R ρ R† O] of a state or a batch.

        Parameters
        ----------
        state : qutip.Qobj, list of Qobj, ket, or array (d, d) / (..., d, d)
            Any Hermitian matrix of the model's dimension (a deviation, a
            non-normalised NMR state...); only its Pauli expansion is used:
            a = b·Tr ρ + A c.

        Returns
        -------
        ndarray (n_lines,) or (..., n_lines)
        """
        arr, _ = as_matrices(state)
        if arr.shape[-1] != self.dim:
            raise DataError(f"state is {arr.shape[-1]}×{arr.shape[-1]}: this model needs {self.dim}×{self.dim}")
        full = matrix_to_full(arr, self.n_qubits)
        return self.apply(full[..., 1:]) + full[..., :1] * self.offset

    def simulate(self, state: Any, sigma: Any, seed: int | np.random.Generator, size: int | tuple = ()) -> np.ndarray:
        """Amplitudes with independent Gaussian noise of standard deviation σ.

        Parameters
        ----------
        state : as in :meth:`predict` (one state, or a batch)
        sigma : float or (n_lines,) array, > 0
        seed : int or numpy.random.Generator
            Every draw comes from it.
        size : int or tuple
            Extra leading axes of independent repetitions.

        Returns
        -------
        ndarray (*size, [batch,] n_lines)
        """
        s = _as_sigma(sigma, self.n_lines)
        rng = _rng(seed, "simulate")
        mean = self.predict(state)
        size = (size,) if isinstance(size, (int, np.integer)) else tuple(size)
        return mean + s * rng.standard_normal(size + mean.shape)

    # ------------------------------------------------------------ building
    @classmethod
    def from_readouts(cls, readouts: Sequence[Readout], name: str = "custom") -> MeasurementModel:
        """Build A and b from readouts: A_lP = Tr[P R†OR]/d, b_l = Tr[O]/d.

        Parameters
        ----------
        readouts : sequence of Readout
            All of the same dimension d = 2**n, with unique names.
        name : str

        Returns
        -------
        MeasurementModel (A stored as CSR when at most 10 % of it is non-zero).
        """
        readouts = tuple(readouts)
        if not readouts or not all(isinstance(r, Readout) for r in readouts):
            raise ModelError("readouts must be a non-empty sequence of Readout")
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
                    f"readout {r.name!r} is {r.unitary.shape[0]}-dimensional, readout {readouts[0].name!r} is "
                    f"{d}-dimensional: all readouts must act on the same qubits"
                )
        rows, offs, labels = [], [], []
        for r in readouts:
            obs = np.stack([ln.observable for ln in r.lines])
            rot = r.unitary.conj().T @ obs @ r.unitary  # R† O R
            full = matrix_to_full(rot, n) / d
            rows.append(full[:, 1:])
            offs.append(full[:, 0])
            labels.extend(f"{r.name}/{ln.label}" for ln in r.lines)
        a = np.concatenate(rows)
        a[np.abs(a) < 1e-14] = 0.0
        if np.count_nonzero(a) <= _SPARSE_FILL * a.size:
            a = sp.csr_array(a)
        return cls(n, a, np.concatenate(offs), tuple(labels), name=name, readouts=readouts)

    def restrict(self, readout_names: Sequence[str], name: str | None = None) -> MeasurementModel:
        """The sub-model of the named readouts (models built from readouts only)."""
        if not self.readouts:
            raise ModelError(f"model {self.name!r} was not built from readouts: restrict needs them")
        known = {r.name: r for r in self.readouts}
        bad = [x for x in readout_names if x not in known]
        if bad:
            raise ModelError(f"readout names {bad} are not in model {self.name!r}: allowed {sorted(known)}")
        return MeasurementModel.from_readouts([known[x] for x in readout_names], name=name or f"{self.name}[{','.join(readout_names)}]")


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
    pulses : "full9", "minimal4", or a sequence of two-letter names over
        {I, X, Y} (first letter spin 1).  ``"full9"`` = :data:`NMR_FULL9`
        (72 lines, every coefficient measured at least twice);
        ``"minimal4"`` = :data:`NMR_MINIMAL4` (32 lines, still complete).

    Returns
    -------
    tuple of Readout
    """
    if isinstance(pulses, str):
        presets = {"full9": NMR_FULL9, "minimal4": NMR_MINIMAL4}
        if pulses not in presets:
            raise ModelError(f"pulses = {pulses!r} is not allowed: 'full9', 'minimal4' or a list of names like 'XI'")
        names = presets[pulses]
    else:
        names = tuple(pulses)
    lines = _doublet_lines()
    out = []
    for nm in names:
        if not isinstance(nm, str) or len(nm) != 2 or set(nm) - set("IXY"):
            raise ModelError(f"readout name {nm!r} is not allowed: two letters from 'I', 'X', 'Y' (e.g. 'XI')")
        out.append(Readout(nm, np.kron(_PULSE[nm[0]], _PULSE[nm[1]]), lines))
    return tuple(out)


def nmr_two_spin_model(pulses: str | Sequence[str] = "full9") -> MeasurementModel:
    """:class:`MeasurementModel` of :func:`nmr_two_spin_readouts` (same argument)."""
    name = f"nmr_{pulses}" if isinstance(pulses, str) else "nmr_" + "_".join(pulses)
    return MeasurementModel.from_readouts(nmr_two_spin_readouts(pulses), name=name)


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
    without d×d matrices), which is what to use beyond four qubits.
    """
    n = _check_n(n_qubits)
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
    per-line noise.  Six qubits: 45,927 lines, 4,095 coefficients.
    """
    n = _check_n(n_qubits)
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
