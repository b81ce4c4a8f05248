"""Count data from projective Pauli measurements: the outcome-probability
model, the frequencies and their multinomial noise model.

A *setting* measures every qubit k in the eigenbasis of a Pauli σ_{s_k}
(``"XYZ"``: X on qubit 0, Y on qubit 1, Z on qubit 2); each shot gives a
bitstring b, bit b_k = 0 for the +1 eigenvalue of σ_{s_k}.  All 3**n
settings with their 2**n outcome counts make the data.  Every outcome is a
line of a :class:`~tomography.model.MeasurementModel` whose amplitude is
the outcome probability

    p_s(b) = Tr[ρ Π_b^s],   Π_b^s = ⊗_k (I + (−1)^{b_k} σ_{s_k})/2,

so A_(s,b),P = (−1)^{b·S_P}/d when P's letters agree with s on its support
S_P (else 0) and b = 1/d.  The model is assembled sparse from the start
(3**n · 2**n · (2**n − 1) non-zeros, never a dense A), and since
Σ_b (−1)^{b·(S ⊕ S')} = 0 for S ≠ S' its Gram matrix AᵀA is diagonal, so
the rank and condition diagnostics cost no dense work.

Why outcomes rather than Pauli expectation values: the 2**n − 1 expectation
values read from one setting come from the same shots and are correlated,
and near-zero outcome probabilities of a pure state carry most of the
information — a model whose lines are the outcome probabilities, weighted
by their own variances, keeps both.  The noise model is that of
qiskit-experiments' ``cvxpy_gaussian_lstsq``: the frequencies f = n/N are
the amplitudes, and each line's σ is the standard deviation of the
Dirichlet posterior with prior ``hedge`` per outcome,

    p̃ = (n + β)/(N + 2**n β),   σ² = p̃ (1 − p̃)/(N + 2**n β + 1),

which stays > 0 for outcomes never seen.  Every estimator, ``bootstrap``
(which resamples counts: multinomial draws with the data's shots, from the
observed frequencies or from the estimate's outcome probabilities) and
``fisher_standard_errors`` accept a :class:`CountData` in place of
(model, amplitudes, sigma).

Qubit order (``docs/tomography.md``): qubit 0 is the leftmost letter of a
setting, the leftmost character of a bitstring (the most significant bit of
an outcome index) and the first (leftmost) tensor factor of states.
qiskit writes both the other way round; ``qiskit_order=True`` reverses
setting labels and bitstrings on the way in, :meth:`CountData.as_dict`
on the way out.  This module never imports ``nmrqb``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from tomography._blas import single_threaded_blas
from tomography._checks import check_bool, make_rng, numeric_array, require_memory, show
from tomography.errors import DataError, StateError
from tomography.model import MeasurementModel
from tomography.pauli import MAX_QUBITS, check_states, matrix_to_coefficients, n_qubits_of

__all__ = ["CountData", "from_pauli_counts", "pauli_settings", "simulate_pauli_counts", "HEDGE_DEFAULT", "SHOTS_MAX"]

#: Default Dirichlet prior per outcome (qiskit-experiments' ``outcome_prior``).
HEDGE_DEFAULT = 0.5

#: Largest number of shots in one setting (counts stay exact in float64).
SHOTS_MAX = 10**15

#: Allowed range of ``hedge``.
_HEDGE_RANGE = (1e-6, 1e6)

#: Bytes per non-zero of the count model while it is built and checked
#: (values, indices, the constructor's copy and its Gram pass).
_BYTES_PER_NNZ = 40

_LETTER_DIGIT = {"X": 1, "Y": 2, "Z": 3}


def pauli_settings(n_qubits: int) -> tuple[str, ...]:
    """The 3**n Pauli measurement settings in the row order of count arrays.

    ``("XX", "XY", "XZ", "YX", ...)`` for two qubits: letters over X < Y < Z,
    qubit 0 leftmost and varying slowest (with ``qiskit_order=True`` the same
    strings are read as qiskit labels, qubit 0 rightmost).
    """
    if isinstance(n_qubits, (bool, np.bool_)) or not isinstance(n_qubits, (int, np.integer)) \
            or not 1 <= int(n_qubits) <= MAX_QUBITS:
        raise DataError(f"n_qubits = {show(n_qubits)} is not allowed: it must be an integer from 1 to {MAX_QUBITS}")
    return _settings(int(n_qubits))


def _settings(n: int) -> tuple[str, ...]:
    return tuple("".join(p) for p in itertools.product("XYZ", repeat=n))


def _bit_reverse(n: int) -> np.ndarray:
    """Permutation taking an outcome index read one way to the other (qubit order reversed)."""
    idx = np.arange(2**n)
    out = np.zeros_like(idx)
    for k in range(n):
        out |= ((idx >> k) & 1) << (n - 1 - k)
    return out


# --------------------------------------------------------------------------
# the structure of the outcome-probability model
# --------------------------------------------------------------------------
def _hadamard(k: int) -> np.ndarray:
    """The 2**k Sylvester–Hadamard matrix, H[b, S] = (−1)^{popcount(b & S)}."""
    h = np.ones((1, 1))
    for _ in range(k):
        h = np.block([[h, h], [h, -h]])
    return h


class _CountStructure:
    """Index maps of the n-qubit count model and its fast products.

    ``col[s, S − 1]`` is the Pauli-coefficient index of the string with
    setting s's letters on the qubit subset S (a bitmask, qubit 0 the most
    significant bit) and I elsewhere.  The lines of setting s are
    p_s = (1 + H c_s)/d with H the 2**n Walsh–Hadamard matrix
    H[b, S] = (−1)^{popcount(b & S)}, so A c and Aᵀ r cost one Walsh–Hadamard
    transform per setting, done as two GEMMs with 2**(n/2)-sized Hadamard
    factors: O(3**n 2**n 2**(n/2)) instead of O(3**n 4**n) for the sparse
    matrix (seven qubits: 1.5 ms against 30 ms).
    """

    def __init__(self, n: int):
        self.n = n
        self.d = d = 2**n
        self.m = 4**n - 1
        digits = np.array([[_LETTER_DIGIT[ch] for ch in st] for st in _settings(n)], dtype=np.int64)
        self.n_settings = digits.shape[0]
        subsets = np.arange(d)
        mask = (subsets[:, None] >> (n - 1 - np.arange(n))) & 1  # (d, n): qubit k in S
        powers = 4 ** (n - 1 - np.arange(n, dtype=np.int64))
        col = (digits[:, None, :] * mask[None, :, :]) @ powers - 1  # (3**n, d); column 0 is the empty set
        self.col = np.ascontiguousarray(col[:, 1:])
        scatter = sp.csr_array((np.ones(self.col.size), (self.col.ravel(), np.arange(self.col.size))),
                               shape=(self.m, self.col.size))
        self.scatter = scatter  # Σ over the settings that read each coefficient
        n1 = (n + 1) // 2
        self.split = (2**n1, 2 ** (n - n1))
        self.h1, self.h2 = (_hadamard(k) for k in (n1, n - n1))

    # ---------------------------------------------------------- the matrix
    def matrix(self) -> sp.csr_array:
        """A in CSR form, built directly (rows setting-major, outcome-minor)."""
        n, d, ns = self.n, self.d, self.n_settings
        b = np.arange(d)
        parity = np.array([bin(x).count("1") & 1 for x in range(d)], dtype=np.int8)
        sign = (1.0 - 2.0 * parity[b[:, None] & b[None, 1:]]) / d  # (b, S ≠ ∅)
        order = np.argsort(self.col, axis=1, kind="stable")  # sorted column indices in every row
        cols = np.take_along_axis(self.col, order, axis=1)
        data = np.empty((ns, d, d - 1))
        for s in range(ns):
            data[s] = sign[:, order[s]]
        index_type = np.int32 if self.m < 2**31 and ns * d * (d - 1) < 2**31 else np.int64
        indices = np.broadcast_to(cols[:, None, :], (ns, d, d - 1)).reshape(-1).astype(index_type)
        indptr = np.arange(ns * d + 1, dtype=index_type) * (d - 1)
        return sp.csr_array((data.reshape(-1), indices, indptr), shape=(ns * d, self.m))

    # --------------------------------------------------------- fast products
    def _wht(self, x: np.ndarray) -> np.ndarray:
        """Unnormalised Walsh–Hadamard transform along the last axis (length d), a new array.

        H_d = H_{d1} ⊗ H_{d2} (d1 d2 = d, qubit 0 in the first factor), so the
        transform is two GEMMs with small Hadamard matrices: O(d (d1 + d2))
        per row.
        """
        d1, d2 = self.split
        lead = x.shape[:-1]
        rows = int(np.prod(lead, dtype=np.int64))
        y = np.ascontiguousarray(x, dtype=np.float64).reshape(rows * d1, d2) @ self.h2
        y = np.ascontiguousarray(y.reshape(rows, d1, d2).transpose(0, 2, 1)).reshape(rows * d2, d1) @ self.h1
        return np.ascontiguousarray(y.reshape(rows, d2, d1).transpose(0, 2, 1)).reshape(lead + (self.d,))

    def apply(self, c: np.ndarray) -> np.ndarray:
        """A c for (..., m) → (..., n_lines)."""
        lead = c.shape[:-1]
        z = np.zeros(lead + (self.n_settings, self.d))
        z[..., 1:] = c[..., self.col]
        return (self._wht(z) / self.d).reshape(lead + (self.n_settings * self.d,))

    def apply_transpose(self, r: np.ndarray) -> np.ndarray:
        """Aᵀ r for (..., n_lines) → (..., m)."""
        lead = r.shape[:-1]
        q = self._wht(r.reshape(lead + (self.n_settings, self.d)))[..., 1:] / self.d
        flat = q.reshape(-1, self.col.size)
        return np.asarray(self.scatter @ flat.T).T.reshape(lead + (self.m,))

    def gram_diagonal(self, w: np.ndarray) -> np.ndarray:
        """diag(AᵀWA): Σ over the settings reading P of Σ_b w_sb / d²."""
        per_setting = w.reshape(self.n_settings, self.d).sum(axis=1) / self.d**2
        return self.scatter @ np.repeat(per_setting, self.d - 1)

    def gram_bounds(self, w: np.ndarray) -> tuple[float, float]:
        """Rigorous (λ_min, λ_max) bounds of AᵀWA from w_min ≤ W_s ≤ w_max per setting.

        A_sᵀA_s restricted to setting s's coefficients is I/d (its columns
        are orthogonal Walsh functions), so Σ_s w_min,s A_sᵀA_s ≤ AᵀWA ≤
        Σ_s w_max,s A_sᵀA_s, and both bounds are diagonal.
        """
        ws = w.reshape(self.n_settings, self.d)
        lo = self.scatter @ np.repeat(ws.min(axis=1), self.d - 1) / self.d
        hi = self.scatter @ np.repeat(ws.max(axis=1), self.d - 1) / self.d
        return float(lo.min()), float(hi.max())


def _structure(model: MeasurementModel) -> _CountStructure | None:
    """The count structure attached to a model built by :class:`CountData` (else None)."""
    return model.__dict__.get("_count_structure")


# --------------------------------------------------------------------------
# the data object
# --------------------------------------------------------------------------
def _hedged_sigma(counts: np.ndarray, hedge: float) -> np.ndarray:
    """σ of every outcome from the Dirichlet posterior, (..., n_settings, d) → same shape."""
    d = counts.shape[-1]
    total = counts.sum(axis=-1, keepdims=True) + hedge * d
    p = (counts + hedge) / total
    return np.sqrt(p * (1.0 - p) / (total + 1.0))


def _frequencies(counts: np.ndarray) -> np.ndarray:
    return counts / counts.sum(axis=-1, keepdims=True)


def _check_hedge(hedge: Any) -> float:
    lo, hi = _HEDGE_RANGE
    ok = not isinstance(hedge, (bool, np.bool_)) and isinstance(hedge, (int, float, np.integer, np.floating))
    if ok:
        try:
            ok = lo <= float(hedge) <= hi  # False for NaN
        except OverflowError:  # an int beyond float64
            ok = False
    if not ok:
        raise DataError(
            f"hedge = {show(hedge)} is not allowed: a number from {lo:g} to {hi:g} is required (the Dirichlet prior "
            "per outcome; 0 would give outcomes never seen σ = 0)"
        )
    return float(hedge)


def _count_array(x: Any, name: str, shape: tuple[int, ...] | None) -> np.ndarray:
    """Integer counts ≥ 0 as int64, else a DataError naming the first bad entry."""
    arr = numeric_array(x, name)
    if shape is not None and arr.shape != shape:
        raise DataError(f"{name} has shape {arr.shape}: {shape} is required")
    bad = ~(np.isfinite(arr) & (arr >= 0) & (arr == np.round(arr)) & (arr <= SHOTS_MAX))
    if bad.any():
        k = np.argwhere(bad)[0]
        where = "[" + ", ".join(map(str, k)) + "]" if arr.ndim else ""
        v = float(arr[tuple(k)])
        text = repr(int(v)) if v.is_integer() else repr(v)
        raise DataError(f"{name}{where} = {text} is not allowed: counts must be integers from 0 to {SHOTS_MAX:.0e}")
    return arr.astype(np.int64)


@dataclass(frozen=True, eq=False, repr=False)
class CountData:
    """Counts of the 3**n Pauli measurement settings, ready for every estimator.

    Build one with :func:`from_pauli_counts` (mappings, labels, qiskit's
    order); the constructor takes the canonical array.

    Parameters
    ----------
    counts : array (3**n, 2**n) of integers ≥ 0
        Row r is setting :func:`pauli_settings`\\ (n)[r]; column j is the
        outcome whose bitstring (qubit 0 leftmost) is j in binary.  Every
        setting needs at least one shot and at most 10**15.
    hedge : float, 1e-6 … 1e6 (default 0.5)
        Dirichlet prior per outcome in the noise model (qiskit-experiments'
        ``outcome_prior``).

    Attributes
    ----------
    model : MeasurementModel
        The outcome-probability model, lines ``"<setting>/<bitstring>"``
        (e.g. ``"XZ/01"``), A sparse, b = 1/d; informationally complete.
    frequencies : ndarray (3**n · 2**n,)
        n/N per line: the amplitudes the estimators fit.
    sigma : ndarray (3**n · 2**n,)
        The hedged multinomial standard deviation of every frequency.
    shots : ndarray (3**n,) int64
        N per setting.

    Errors are :class:`~tomography.errors.DataError` naming the field.
    """

    counts: np.ndarray
    hedge: float = HEDGE_DEFAULT
    model: MeasurementModel = field(init=False, repr=False)
    frequencies: np.ndarray = field(init=False, repr=False)
    sigma: np.ndarray = field(init=False, repr=False)
    shots: np.ndarray = field(init=False, repr=False)

    def __post_init__(self):
        hedge = _check_hedge(self.hedge)
        raw = numeric_array(self.counts, "counts")
        rows, cols = (raw.shape + (0, 0))[:2] if raw.ndim == 2 else (0, 0)
        n = int(round(math.log2(cols))) if cols > 1 else 0
        if raw.ndim != 2 or n < 1 or 2**n != cols or rows != 3**n:
            raise DataError(
                f"counts has shape {raw.shape}: (3**n, 2**n) for n qubits ((3, 2), (9, 4), (27, 8), ...) is required"
            )
        if n > MAX_QUBITS:  # pragma: no cover (3**11 rows would not get here)
            raise DataError(f"counts are for {n} qubits: at most {MAX_QUBITS}")
        nnz = 3**n * 2**n * (2**n - 1)
        require_memory(float(nnz) * _BYTES_PER_NNZ + 3**n * 2**n * 120,
                       f"counts for {n} qubits (a model of {3**n * 2**n:,} outcome lines and {nnz:,} non-zeros)")
        counts = _count_array(raw, "counts", None)
        shots = counts.sum(axis=1)
        empty = np.flatnonzero(shots == 0)
        if empty.size:
            raise DataError(
                f"counts of setting {_settings(n)[empty[0]]!r} (row {empty[0]}) hold no shots: every setting needs at "
                "least one"
            )
        big = np.flatnonzero(shots > SHOTS_MAX)
        if big.size:
            raise DataError(
                f"counts of setting {_settings(n)[big[0]]!r} hold {int(shots[big[0]]):,} shots: at most "
                f"{SHOTS_MAX:.0e} per setting"
            )
        counts.setflags(write=False)
        shots.setflags(write=False)
        freq = _frequencies(counts).reshape(-1)
        sigma = _hedged_sigma(counts, hedge).reshape(-1)
        freq.setflags(write=False)
        sigma.setflags(write=False)
        for k, v in (("counts", counts), ("hedge", hedge), ("model", _count_model(n)),
                     ("frequencies", freq), ("sigma", sigma), ("shots", shots)):
            object.__setattr__(self, k, v)

    def __repr__(self) -> str:
        return (f"CountData({self.n_qubits} qubit(s), {self.counts.shape[0]} settings, "
                f"{int(self.shots.sum()):,} shots, hedge={self.hedge:g})")

    @property
    def n_qubits(self) -> int:
        return self.model.n_qubits

    @property
    def settings(self) -> tuple[str, ...]:
        """Setting labels of the rows of :attr:`counts` (qubit 0 leftmost)."""
        return _settings(self.n_qubits)

    def as_dict(self, *, qiskit_order: bool = False) -> dict[str, dict[str, int]]:
        """{setting: {bitstring: count}} with the non-zero counts.

        ``qiskit_order=True`` writes labels and bitstrings with qubit 0
        rightmost, as qiskit's ``Counts`` and ``StateTomography`` do.
        """
        rev = check_bool(qiskit_order, "qiskit_order")
        n = self.n_qubits
        out = {}
        for label, row in zip(self.settings, self.counts):
            entries = {}
            for j in np.flatnonzero(row):
                bits = format(int(j), f"0{n}b")
                entries[bits[::-1] if rev else bits] = int(row[j])
            out[label[::-1] if rev else label] = entries
        return out


_MODEL_CACHE: dict[int, MeasurementModel] = {}


def _count_model(n: int) -> MeasurementModel:
    """The outcome-probability model of n qubits (immutable, so shared between data sets)."""
    model = _MODEL_CACHE.get(n)
    if model is None:
        struct = _CountStructure(n)
        labels = tuple(f"{st}/{j:0{n}b}" for st in _settings(n) for j in range(2**n))
        with single_threaded_blas():
            model = MeasurementModel(n, struct.matrix(), np.full(len(labels), 1.0 / 2**n), labels,
                                     name=f"pauli_counts_{n}")
        object.__setattr__(model, "_count_structure", struct)
        if n <= 5:  # small models are cheap to keep; larger ones are rebuilt (hundreds of MB)
            _MODEL_CACHE[n] = model
    return model


# --------------------------------------------------------------------------
# parsing
# --------------------------------------------------------------------------
def _parse_setting(label: Any, n: int | None, rev: bool) -> str:
    if not isinstance(label, str) or not label or set(label) - set("XYZ") or len(label) > MAX_QUBITS:
        raise DataError(
            f"counts: setting {show(label)} is not allowed: a label of 1 to {MAX_QUBITS} letters from 'X', 'Y', 'Z' "
            f"(one per qubit, qubit 0 {'rightmost' if rev else 'leftmost'}) is required"
        )
    if n is not None and len(label) != n:
        raise DataError(
            f"counts: setting {label!r} has {len(label)} letters, other settings have {n}: every setting measures "
            "all qubits"
        )
    return label[::-1] if rev else label


def _parse_outcomes(value: Any, label: str, n: int, rev: bool) -> np.ndarray:
    """The 2**n counts of one setting in tomography order."""
    d = 2**n
    name = f"counts[{label!r}]"
    if isinstance(value, Mapping):
        row = np.zeros(d, dtype=np.int64)
        for bits, v in value.items():
            if not isinstance(bits, str) or len(bits) != n or set(bits) - set("01"):
                length = f"{len(bits)} character(s)" if isinstance(bits, str) else f"type {type(bits).__name__}"
                raise DataError(
                    f"{name}: bitstring {show(bits)} is not allowed ({length}): {n} characters '0'/'1' are required "
                    f"(qubit 0 {'rightmost' if rev else 'leftmost'})"
                )
            j = int(bits[::-1] if rev else bits, 2)
            row[j] = _count_array(v, f"{name}[{bits!r}]", ())
        return row
    row = _count_array(value, name, (d,))
    return row[_bit_reverse(n)] if rev else row


def from_pauli_counts(counts: Any, *, hedge: float = HEDGE_DEFAULT, qiskit_order: bool = False) -> CountData:
    """Count data of projective Pauli measurements as a :class:`CountData`.

    Parameters
    ----------
    counts : mapping or array
        * a mapping setting label → outcome counts, with every one of the
          3**n settings over {X, Y, Z}**n exactly once; outcome counts are a
          mapping bitstring → count (bitstrings not listed count 0) or a
          sequence of 2**n counts indexed by the bitstring read in binary;
        * or an array (3**n, 2**n), rows in :func:`pauli_settings` order.

        Counts are integers ≥ 0 (at most 10**15 shots per setting, at
        least one).
    hedge : float, 1e-6 … 1e6 (default 0.5)
        Dirichlet prior per outcome of the noise model (see
        :mod:`tomography.counts`), qiskit-experiments' ``outcome_prior``.
    qiskit_order : bool
        False (default): qubit 0 is the leftmost letter of a setting and the
        leftmost character of a bitstring.  True: qiskit's order, qubit 0
        rightmost in both (``"XYZ"`` measures Z on qubit 0; outcome ``"001"``
        has qubit 0 in 1); the same as reversing every label and bitstring.
        Sequence and array columns are indexed by the bitstring as written,
        array rows by :func:`pauli_settings` read in that order.  The result,
        and every state estimated from it, is in tomography order either
        way: qubit 0 is the first (leftmost) tensor factor.

    Returns
    -------
    CountData

    Raises
    ------
    DataError
        Naming the setting, bitstring or entry: an unknown letter, labels or
        bitstrings of the wrong length, negative or non-integer counts,
        missing or repeated settings, a setting without shots, or a qubit
        number whose model would exceed 2 GiB (8 or more).
    """
    rev = check_bool(qiskit_order, "qiskit_order")
    hedge = _check_hedge(hedge)
    if isinstance(counts, Mapping):
        if not counts:
            raise DataError("counts = {} is not allowed: a mapping with one entry per Pauli setting is required")
        n = None
        parsed: dict[str, Any] = {}
        for label, value in counts.items():
            ours = _parse_setting(label, n, rev)
            n = len(ours)
            parsed[ours] = (label, value)  # labels are unique keys and reversal is one-to-one
        require_memory(float(3**n) * 4**n * _BYTES_PER_NNZ, f"counts for {n} qubits")
        names = _settings(n)
        missing = [s[::-1] if rev else s for s in names if s not in parsed]
        if missing:
            shown = ", ".join(repr(x) for x in missing[:4]) + (", ..." if len(missing) > 4 else "")
            raise DataError(
                f"counts: {len(missing)} of the {len(names)} Pauli settings of {n} qubit(s) are missing ({shown}): "
                "every setting in {X, Y, Z}**n is required"
            )
        array = np.stack([_parse_outcomes(parsed[s][1], parsed[s][0], n, rev) for s in names])
        return CountData(array, hedge=hedge)
    if isinstance(counts, (str, bytes)) or counts is None:
        raise DataError(
            f"counts = {show(counts)} is not allowed: a mapping setting → outcome counts or a (3**n, 2**n) array "
            "is required"
        )
    array = _count_array(counts, "counts", None)
    if rev and array.ndim == 2 and array.shape[1] > 1:
        n = int(round(math.log2(array.shape[1])))
        if 2**n == array.shape[1] and array.shape[0] == 3**n:
            names = _settings(n)
            position = {s: k for k, s in enumerate(names)}
            rows = [position[s[::-1]] for s in names]  # our row r holds qiskit label names[r] reversed
            order = np.empty(len(names), dtype=np.int64)
            order[rows] = np.arange(len(names))
            array = array[order][:, _bit_reverse(n)]
    return CountData(array, hedge=hedge)


# --------------------------------------------------------------------------
# simulation and resampling (the parametric bootstrap)
# --------------------------------------------------------------------------
def simulate_pauli_counts(state: Any, shots: Any, *, seed: Any) -> np.ndarray:
    """Multinomial counts of the 3**n Pauli settings measured on a state.

    Parameters
    ----------
    state : qutip.Qobj, ket or (d, d) array
        A density matrix (Hermitian, unit trace, positive within 1e-8), qubit
        0 the first tensor factor.
    shots : int or array (3**n,) of ints, 1 … 10**15
        Shots per setting.
    seed : int ≥ 0, sequence of ints ≥ 0, numpy SeedSequence or Generator
        Source of every draw.

    Returns
    -------
    ndarray (3**n, 2**n) int64, the layout :class:`CountData` and
    :func:`from_pauli_counts` take (rows :func:`pauli_settings`, columns the
    outcome bitstring in binary, qubit 0 leftmost).
    """
    arr, single = check_states(state, "state")
    if not single:
        raise StateError(f"state has shape {arr.shape}: one (d, d) density matrix is required")
    n = n_qubits_of(arr.shape[-1], "state")
    require_memory(float(3**n) * 2**n * 8 * 4 + float(3**n) * 4**n * 8, f"simulate_pauli_counts of {n} qubits")
    rng = make_rng(seed, "simulate_pauli_counts")
    n_settings = 3**n
    if isinstance(shots, (bool, np.bool_)):
        raise DataError(f"shots = {shots!r} is not allowed: an integer from 1 to {SHOTS_MAX:.0e} (or one per setting)")
    sh = _count_array(shots, "shots", None)
    if sh.ndim == 0:
        sh = np.full(n_settings, int(sh), dtype=np.int64)
    if sh.shape != (n_settings,) or np.any(sh < 1):
        raise DataError(
            f"shots = {show(shots)} is not allowed: an integer from 1 to {SHOTS_MAX:.0e}, or one such integer per "
            f"setting ({n_settings},)"
        )
    struct = _CountStructure(n)
    p = struct.apply(matrix_to_coefficients(arr, n)) + 1.0 / struct.d
    p = np.clip(p.reshape(n_settings, struct.d), 0.0, None)
    return rng.multinomial(sh, p / p.sum(axis=1, keepdims=True))


# --------------------------------------------------------------------------
# resampling (the parametric bootstrap)
# --------------------------------------------------------------------------
def _outcome_probabilities(data: CountData, coefficients: np.ndarray) -> np.ndarray:
    """p_s(b) of the state with these Pauli coefficients, (n_settings, d), clipped ≥ 0 and renormalised."""
    struct = _structure(data.model)
    p = struct.apply(coefficients) + 1.0 / struct.d
    p = np.clip(p.reshape(struct.n_settings, struct.d), 0.0, None)
    return p / p.sum(axis=1, keepdims=True)


def _resample_counts(data: CountData, probabilities: np.ndarray, rng: np.random.Generator, size: int) -> np.ndarray:
    """``size`` multinomial count sets with the data's shots per setting: (size, n_settings, d)."""
    return rng.multinomial(data.shots, probabilities, size=(size, probabilities.shape[0]))
