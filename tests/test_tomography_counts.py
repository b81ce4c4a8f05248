"""tomography count data (issue 14): projective Pauli counts as outcome-
probability models.

* conventions — qubit 0 leftmost in labels, bitstrings and tensor factors;
  ``qiskit_order=True`` is exactly the reversal of labels and bitstrings;
* input errors — one-line DataErrors naming the setting, bitstring or entry;
* the model — equal to the dense outcome model built from readouts, diagonal
  AᵀA, diagnostics from the sparse Gram matrix equal to the SVD's, a
  five-qubit build in < 2 s;
* estimators — every estimator on CountData equals the same estimator on the
  dense reference model with the same frequencies and σ, the fast count
  operator (≥ 6 qubits) equals the dense normal equations, noiseless counts
  give the state back;
* bootstrap — resamples counts (multinomial, own frequencies and σ per
  resample), and Must-show 3 at two qubits: the bootstrap standard error of
  the fidelity agrees with the spread over 50 independent count sets within
  25 % (three qubits: ``benchmarks/bench_tomography.py`` part 5).
"""

from __future__ import annotations

import re
import time

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from randstates import random_state

import tomography as T
from tomography import counts as TC
from tomography import estimators as TE
from tomography import model as TM


def one_line(exc: BaseException) -> str:
    msg = str(exc)
    assert msg and "\n" not in msg, repr(msg)
    return msg


def outcome_readouts(n: int) -> list[T.Readout]:
    """The outcome model the slow way: one Line per outcome projector, built from d×d matrices."""
    readouts = []
    for setting in T.pauli_settings(n):
        lines = []
        for j in range(2**n):
            bits = format(j, f"0{n}b")
            op = np.ones((1, 1))
            for k in range(n):
                op = np.kron(op, (np.eye(2) + (-1) ** int(bits[k]) * T.pauli_matrix(setting[k])) / 2)
            lines.append(T.Line(bits, op))
        readouts.append(T.Readout(setting, np.eye(2**n), tuple(lines)))
    return readouts


def counts_for(rho, shots, seed):
    return T.simulate_pauli_counts(rho, shots, seed=seed)


# ------------------------------------------------------------ conventions
def test_settings_order_and_outcome_index_convention():
    assert T.pauli_settings(1) == ("X", "Y", "Z")
    assert T.pauli_settings(2)[:4] == ("XX", "XY", "XZ", "YX")
    # |001>: qubit 2 is the only one in |1> (state index 1 = binary 001, qubit 0 leftmost)
    rho = np.zeros((8, 8))
    rho[1, 1] = 1.0
    c = T.simulate_pauli_counts(rho, 40, seed=1)
    zzz = T.pauli_settings(3).index("ZZZ")
    assert c[zzz].tolist() == [0, 40, 0, 0, 0, 0, 0, 0]
    data = T.from_pauli_counts(c)
    assert data.as_dict()["ZZZ"] == {"001": 40}
    assert data.as_dict(qiskit_order=True)["ZZZ"] == {"100": 40}  # qiskit: qubit 0 rightmost
    # X on qubit 0 only ("XZZ"): qubits 1, 2 deterministic, qubit 0 random
    assert set(data.as_dict()["XZZ"]) == {"001", "101"}
    assert data.model.line_labels[:3] == ("XXX/000", "XXX/001", "XXX/010")


def test_qiskit_order_equals_reversing_labels_and_bitstrings():
    rng = np.random.default_rng(3)
    rho = random_state(rng, 8, rank=2)
    data = T.from_pauli_counts(counts_for(rho, 300, 4))
    ours = data.as_dict()
    qiskit = data.as_dict(qiskit_order=True)
    reversed_by_hand = {s[::-1]: {b[::-1]: v for b, v in row.items()} for s, row in ours.items()}
    assert qiskit == reversed_by_hand
    for form in (qiskit,
                 {s: [row.get(format(j, "03b"), 0) for j in range(8)] for s, row in qiskit.items()},
                 np.array([[qiskit[s].get(format(j, "03b"), 0) for j in range(8)] for s in T.pauli_settings(3)])):
        back = T.from_pauli_counts(form, qiskit_order=True)
        np.testing.assert_array_equal(back.counts, data.counts)
    np.testing.assert_array_equal(T.from_pauli_counts(ours).counts, data.counts)
    # the estimate is in tomography order either way
    e1 = T.maximum_likelihood(T.from_pauli_counts(qiskit, qiskit_order=True))
    e2 = T.maximum_likelihood(data)
    np.testing.assert_allclose(e1.matrix, e2.matrix, atol=1e-12)


# ------------------------------------------------------------ input errors
def _valid(n=2):
    return T.from_pauli_counts(np.ones((3**n, 2**n), dtype=int)).as_dict()


BAD_COUNTS = [
    ({**_valid(), "XQ": {"00": 1}},
     r"^counts: setting 'XQ' is not allowed: a label of 1 to 10 letters from 'X', 'Y', 'Z'"),
    ({**_valid(), "XI": {"00": 1}}, r"setting 'XI' is not allowed"),
    ({**_valid(), "XYZ": {"000": 1}}, r"setting 'XYZ' has 3 letters, other settings have 2"),
    ({**_valid(), "XY": {"0": 1}}, r"^counts\['XY'\]: bitstring '0' is not allowed \(1 character\(s\)\): 2 characters"),
    ({**_valid(), "XY": {"0a": 1}}, r"bitstring '0a' is not allowed"),
    ({**_valid(), "XY": {"01": -3}}, r"^counts\['XY'\]\['01'\] = -3 is not allowed: counts must be integers from 0"),
    ({**_valid(), "XY": {"01": 2.5}}, r"^counts\['XY'\]\['01'\] = 2.5 is not allowed"),
    ({**_valid(), "XY": {"01": True}}, r"counts\['XY'\]\['01'\] = True is not allowed"),
    ({**_valid(), "XY": [1, 2, 3]}, r"^counts\['XY'\] has shape \(3,\): \(4,\) is required"),
    ({**_valid(), "XY": {}}, r"setting 'XY' \(row 1\) hold no shots"),
    ({k: v for k, v in _valid().items() if k not in ("YZ", "ZZ")},
     r"^counts: 2 of the 9 Pauli settings of 2 qubit\(s\) are missing \('YZ', 'ZZ'\)"),
    ({}, r"counts = \{\} is not allowed"),
    ("XX", r"counts = 'XX' is not allowed"),
    (np.ones((9, 3)), r"counts has shape \(9, 3\): \(3\*\*n, 2\*\*n\)"),
    (-np.ones((9, 4)), r"^counts\[0, 0\] = -1 is not allowed"),
    (np.ones((6561, 256)), r"counts for 8 qubits .* would need .*GiB"),
]


@pytest.mark.parametrize("bad, pattern", BAD_COUNTS, ids=range(len(BAD_COUNTS)))
def test_bad_counts_are_one_line_data_errors_naming_the_entry(bad, pattern):
    with pytest.raises(T.DataError) as info:
        T.from_pauli_counts(bad)
    assert re.search(pattern, one_line(info.value)), str(info.value)


def test_bad_options_and_misused_count_data_are_one_line_errors():
    good = np.ones((9, 4), dtype=int)
    data = T.from_pauli_counts(good)
    cases = [
        (lambda: T.from_pauli_counts(good, hedge=0), T.DataError, r"^hedge = 0 is not allowed: a number from 1e-06"),
        (lambda: T.from_pauli_counts(good, hedge=float("nan")), T.DataError, r"^hedge = nan is not allowed"),
        (lambda: T.from_pauli_counts(good, qiskit_order=1), T.DataError, r"^qiskit_order = 1 is not allowed"),
        (lambda: T.maximum_likelihood(data, data.frequencies, data.sigma), T.DataError,
         r"^maximum_likelihood: amplitudes and sigma come from the count data"),
        (lambda: T.estimate(data, "mle"), T.DataError, r"^maximum_likelihood: amplitudes and sigma come from"),
        (lambda: T.bootstrap(data, None, 0.1, seed=1), T.DataError, r"^bootstrap: amplitudes and sigma come from"),
        (lambda: T.fisher_standard_errors(data, 0.1), T.DataError, r"^fisher_standard_errors: amplitudes and sigma"),
        (lambda: T.maximum_likelihood(None), T.ModelError, r"MeasurementModel \(or tomography.CountData\)"),
        (lambda: T.simulate_pauli_counts(np.eye(4) / 4, 0, seed=1), T.DataError, r"^shots = 0 is not allowed"),
        (lambda: T.simulate_pauli_counts(np.eye(4) / 4, [5] * 8, seed=1), T.DataError,
         r"one such integer per setting \(9,\)"),
        (lambda: T.simulate_pauli_counts(np.eye(4) / 4, 5, seed=-1), T.DataError, r"^simulate_pauli_counts: seed = -1"),
        (lambda: T.simulate_pauli_counts(np.diag([1.2, -0.2, 0, 0]), 5, seed=1), T.StateError, r"not positive"),
        (lambda: T.pauli_settings(0), T.DataError, r"^n_qubits = 0 is not allowed"),
    ]
    for call, kind, pattern in cases:
        with pytest.raises(kind) as info:
            call()
        assert re.search(pattern, one_line(info.value)), str(info.value)


# ------------------------------------------------------------ the model
@pytest.mark.parametrize("n", [1, 2, 3])
def test_count_model_equals_the_dense_outcome_model_and_the_projector_probabilities(n):
    data = T.from_pauli_counts(np.ones((3**n, 2**n), dtype=int))
    ref = T.MeasurementModel.from_readouts(outcome_readouts(n))
    dense = ref.matrix.toarray() if sp.issparse(ref.matrix) else ref.matrix
    np.testing.assert_array_equal(data.model.matrix.toarray(), dense)
    np.testing.assert_array_equal(data.model.offset, ref.offset)
    assert data.model.line_labels == ref.line_labels
    rho = random_state(np.random.default_rng(n), 2**n)
    p = data.model.predict(rho).reshape(3**n, 2**n)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-14)
    assert p.min() >= -1e-15
    # the fast products equal the sparse matrix
    struct = TC._structure(data.model)
    c = np.random.default_rng(5).standard_normal((2, 4**n - 1))
    r = np.random.default_rng(6).standard_normal((2, data.model.n_lines))
    np.testing.assert_allclose(struct.apply(c), (data.model.matrix @ c.T).T, atol=1e-14)
    np.testing.assert_allclose(struct.apply_transpose(r), (data.model.matrix.T @ r.T).T, atol=1e-13)


def test_diagnostics_from_the_sparse_gram_equal_the_svd(monkeypatch):
    # Small models get a thin SVD; above 10⁶ entries the Gram route runs.  Force the
    # Gram route on small models and compare.  Count models: AᵀA is diagonal, the
    # singular values are sqrt(3**k / d) (k identity factors), κ = sqrt(3**(n − 1)).
    by_svd = [TC._count_model(n) for n in (2, 3, 4)]
    by_svd += [T.nmr_two_spin_model(p) for p in ("full9", ["II", "XI", "IX", "YY"], ["II"])]
    monkeypatch.setattr(TM, "_SVD_MAX", 0)
    for ref in by_svd:
        via_gram = T.MeasurementModel(ref.n_qubits, ref.matrix, ref.offset, ref.line_labels, name=ref.name)
        assert (via_gram.rank, via_gram.undetermined) == (ref.rank, ref.undetermined), ref.name
        np.testing.assert_allclose(via_gram.singular_values, ref.singular_values, rtol=1e-9, atol=1e-6)
        assert via_gram.condition_number == pytest.approx(ref.condition_number, rel=1e-9)
        if not ref.is_complete:
            np.testing.assert_allclose(via_gram.null_space @ via_gram.null_space.T,
                                       ref.null_space @ ref.null_space.T, atol=1e-8)
        if ref.name.startswith("pauli_counts"):
            n = ref.n_qubits
            assert ref.is_complete and not ref.is_diagonal
            assert ref.condition_number == pytest.approx(np.sqrt(3.0 ** (n - 1)), rel=1e-12)


def test_sparse_gram_matches_the_dense_product_with_and_without_runs():
    rng = np.random.default_rng(11)
    runs = []  # rows in runs of one pattern (the fast path), one run with a colliding key
    for k in range(6):
        cols = np.sort(rng.choice(40, size=5, replace=False))
        block = np.zeros((4, 40))
        block[:, cols] = rng.standard_normal((4, 5))
        runs.append(block)
    a = np.vstack(runs)
    g = TM._sparse_gram(sp.csr_array(a), "test")
    np.testing.assert_allclose(g.toarray(), a.T @ a, atol=1e-13)
    # two consecutive rows with equal (length, first, last, sum of indices) but other patterns:
    # the exact check must catch it and fall back to the sparse product
    b = np.zeros((6, 40))
    b[0:3][:, [0, 2, 5, 9]] = rng.standard_normal((3, 4))
    b[3:6][:, [0, 3, 4, 9]] = rng.standard_normal((3, 4))
    g2 = TM._sparse_gram(sp.csr_array(b), "test")
    np.testing.assert_allclose(g2.toarray(), b.T @ b, atol=1e-13)
    c = sp.random_array((300, 40), density=0.1, random_state=rng, format="csr")  # no runs: sparse product
    np.testing.assert_allclose(TM._sparse_gram(c, "test").toarray(), (c.T @ c).toarray(), atol=1e-13)


def test_five_qubit_count_model_builds_in_under_two_seconds():
    TC._MODEL_CACHE.pop(5, None)
    counts = np.ones((3**5, 2**5), dtype=int)
    t = time.perf_counter()
    data = T.from_pauli_counts(counts)
    elapsed = time.perf_counter() - t
    print(f"\nfive-qubit count model ({data.model.n_lines} lines, {data.model.matrix.nnz:,} non-zeros): "
          f"built in {elapsed:.3f} s")
    assert data.model.rank == 1023 and data.model.condition_number == pytest.approx(9.0)
    assert elapsed < 2.0


# ------------------------------------------------------------ estimators
@pytest.mark.parametrize("n, rank", [(2, 1), (3, 2)])
def test_every_estimator_on_count_data_equals_the_dense_reference_model(n, rank, monkeypatch):
    rng = np.random.default_rng(20 + n)
    rho = random_state(rng, 2**n, rank=rank)
    data = T.from_pauli_counts(counts_for(rho, 500, 21 + n))
    ref = T.MeasurementModel.from_readouts(outcome_readouts(n))
    for method in T.METHODS:
        ours = T.estimate(data, method=method, **({"tol": 1e-11} if method == "mle" else {}))
        theirs = T.estimate(ref, data.frequencies, data.sigma, method=method,
                            **({"tol": 1e-11} if method == "mle" else {}))
        np.testing.assert_allclose(ours.matrix, theirs.matrix, atol=1e-10, err_msg=method)
        assert ours.chi2 == pytest.approx(theirs.chi2, rel=1e-9)
        if ours.standard_errors is not None:
            np.testing.assert_allclose(ours.standard_errors, theirs.standard_errors, rtol=1e-9)
        # the fast count operator (used from six qubits on) gives the same estimates
        monkeypatch.setattr(TE, "_COUNT_OPERATOR_QUBITS", 1)
        fast = T.estimate(data, method=method, **({"tol": 1e-11} if method == "mle" else {}))
        monkeypatch.setattr(TE, "_COUNT_OPERATOR_QUBITS", 6)
        np.testing.assert_allclose(fast.matrix, ours.matrix, atol=1e-9, err_msg=method)
        if ours.standard_errors is not None:
            np.testing.assert_allclose(fast.standard_errors, ours.standard_errors, rtol=1e-9)
    mle = T.maximum_likelihood(data)
    assert mle.converged and mle.min_eigenvalue >= -1e-12 and mle.distance_bound <= T.MLE_TOL


def test_count_operator_eigenvalue_range_brackets_the_dense_spectrum():
    rng = np.random.default_rng(31)
    for n in (3, 4):
        data = T.from_pauli_counts(counts_for(random_state(rng, 2**n, rank=1), 2000, 32 + n))
        ne = TE._CountNormal(data.model, TC._structure(data.model), 1.0 / data.sigma**2)
        lo, hi = ne.eig_range()
        ev = np.linalg.eigvalsh(data.model.gram(ne.w))
        assert lo <= ev[0] and hi >= ev[-1]
        assert lo >= ev[0] * (1 - 1e-6) and hi <= ev[-1] * (1 + 1e-6)  # and tight
        x = rng.standard_normal(4**n - 1)
        assert np.linalg.norm(ne.solve(data.model.gram(ne.w) @ x) - x) <= 1e-9 * np.linalg.norm(x)


def test_noiseless_counts_give_the_state_back():
    # counts exactly N·p (N = 2**40, probabilities multiples of 2**-12): every estimator returns ρ
    rho = np.diag([0.5, 0.25, 0.125, 0.125]).astype(complex)
    u = np.kron(*(2 * [np.array([[1, 1], [1, -1]]) / np.sqrt(2)]))
    rho = u @ rho @ u.conj().T
    model = TC._count_model(2)
    p = model.predict(rho)
    counts = np.round(p * 2**40).astype(np.int64).reshape(9, 4)
    np.testing.assert_allclose(counts / 2**40, p.reshape(9, 4), rtol=0, atol=1e-12)
    data = T.from_pauli_counts(counts)
    for method in T.METHODS:
        est = T.estimate(data, method=method)
        np.testing.assert_allclose(est.matrix, rho, atol=1e-9, err_msg=method)


def _pauli_line_data(counts: np.ndarray, n: int):
    """The same counts read as independent Pauli expectation values with hedged binomial σ."""
    pauli = T.pauli_product_model(n)
    walsh = TC._structure(TC._count_model(n))._wht(counts.astype(float))  # n₊ − n₋ of every qubit subset
    settings = {s: k for k, s in enumerate(T.pauli_settings(n))}
    rows, masks = [], []
    for label in pauli.line_labels:
        setting, string = label.split("/")
        rows.append(settings[setting])
        masks.append(sum(1 << (n - 1 - k) for k, ch in enumerate(string) if ch != "I"))
    diff = walsh[rows, masks]
    shots = counts.sum(axis=1)[rows].astype(float)
    p_plus = ((shots + diff) / 2 + 0.5) / (shots + 1)
    return pauli, diff / shots, 2 * np.sqrt(p_plus * (1 - p_plus) / (shots + 2))


def test_outcome_model_beats_the_pauli_line_model_on_pure_three_qubit_states():
    # the diagnosis: the same counts, read as independent Pauli expectation
    # values, lose fidelity (mean over 8 seeded pure states, 2000 shots per setting)
    f_counts, f_pauli = [], []
    for seed in range(8):
        psi = random_state(np.random.default_rng([41, seed]), 8, rank=1)
        counts = counts_for(psi, 2000, [42, seed])
        f_counts.append(T.fidelity(T.maximum_likelihood(T.from_pauli_counts(counts)).state, psi))
        f_pauli.append(T.fidelity(T.maximum_likelihood(*_pauli_line_data(counts, 3)).state, psi))
    print(f"\nthree qubits, pure, mean fidelity: {np.mean(f_counts):.5f} (outcome model) vs {np.mean(f_pauli):.5f} "
          f"(Pauli-line model); outcome model better in {sum(a > b for a, b in zip(f_counts, f_pauli))} of 8")
    assert np.mean(f_counts) > np.mean(f_pauli)


# ------------------------------------------------------------ bootstrap
def test_bootstrap_resamples_counts_with_their_own_noise_levels():
    rng = np.random.default_rng(51)
    rho = random_state(rng, 4, rank=2)
    data = T.from_pauli_counts(counts_for(rho, 400, 52))
    for method in ("linear", "wls", "mle"):
        for resample in ("frequencies", "estimate"):
            res = T.bootstrap(data, seed=53, method=method, n_resamples=6, resample=resample)
            again = T.bootstrap(data, seed=53, method=method, n_resamples=6, resample=resample)
            np.testing.assert_array_equal(res.coefficient_samples, again.coefficient_samples)
            # by hand: multinomial counts with the data's shots, from the observed frequencies
            # or from the estimate's outcome probabilities; each resample made into CountData
            # (its own frequencies and hedged σ) and estimated again
            if resample == "frequencies":
                p = data.frequencies.reshape(9, 4)
            else:
                p = np.clip(data.model.predict(res.estimate.state, physical=False).reshape(9, 4), 0, None)
                p /= p.sum(axis=1, keepdims=True)
            drawn = np.random.default_rng(53).multinomial(data.shots, p, size=(6, 9))
            by_hand = np.stack([T.estimate(T.from_pauli_counts(c), method=method).coefficients for c in drawn])
            np.testing.assert_allclose(res.coefficient_samples, by_hand, atol=1e-8)
    default = T.bootstrap(data, seed=53, method="linear", n_resamples=6)
    np.testing.assert_array_equal(default.coefficient_samples,
                                  T.bootstrap(data, seed=53, method="linear", n_resamples=6,
                                              resample="frequencies").coefficient_samples)
    for bad, pattern in ((lambda: T.bootstrap(data, seed=1, resample="shots"),
                          r"^bootstrap: resample = 'shots' is not allowed: 'frequencies' or 'estimate'$"),
                         (lambda: T.bootstrap(data.model, data.frequencies, data.sigma, seed=1, resample="frequencies"),
                          r"^bootstrap: resample = 'frequencies' is not allowed: 'estimate' \(amplitude data")):
        with pytest.raises(T.DataError) as info:
            bad()
        assert re.search(pattern, one_line(info.value)), str(info.value)
    # Fisher errors of count data are those of (model, σ)
    fe = T.fisher_standard_errors(data)
    np.testing.assert_array_equal(fe.coefficients, T.fisher_standard_errors(data.model, data.sigma).coefficients)


@pytest.mark.parametrize("n", [2, 3])
def test_bootstrap_standard_error_of_the_fidelity_matches_the_spread_over_50_count_sets(n):
    # Must-show 3: 50 independent count sets (2000 shots per setting) of a rank-2
    # truth; the fidelity ⟨ψ|ρ̂_MLE|ψ⟩ to the pure target ψ; the mean count bootstrap
    # standard error (20 count resamples per set at n = 2, 10 at n = 3: the mean over
    # 50 sets still has a few per cent of noise) against the spread of the 50 values.
    rng = np.random.default_rng(60 + n)
    psi = random_state(rng, 2**n, rank=1)
    rho = 0.8 * psi + 0.2 * random_state(rng, 2**n, rank=1)
    target = np.linalg.eigh(psi)[1][:, -1]
    fid = {"fidelity": lambda s: float(np.real(target.conj() @ s.full() @ target))}
    values, errors = [], []
    for k in range(50):
        data = T.from_pauli_counts(counts_for(rho, 2000, [62, k]))
        res = T.bootstrap(data, seed=[63, k], method="mle", n_resamples=20 if n == 2 else 10, functions=fid, tol=1e-7)
        values.append(res.functions["fidelity"].value)
        errors.append(res.functions["fidelity"].standard_error)
    spread = float(np.std(values, ddof=1))
    ratio = float(np.mean(errors)) / spread
    print(f"\nn = {n}: bootstrap se {np.mean(errors):.5f}, spread over 50 count sets {spread:.5f}, ratio {ratio:.3f}")
    assert 0.75 <= ratio <= 1.25


# ------------------------------------------------------------ fuzz
leaves = st.one_of(st.none(), st.booleans(), st.integers(), st.sampled_from([10**400, -(10**400), 2**63]),
                   st.floats(), st.text(max_size=4))
json_like = st.recursive(leaves, lambda ch: st.lists(ch, max_size=4) | st.dictionaries(st.text(max_size=3), ch,
                                                                                      max_size=3), max_leaves=10)
GOOD = np.ones((3, 2), dtype=int)
FUZZ = {
    "counts": lambda v: T.from_pauli_counts(v),
    "one setting": lambda v: T.from_pauli_counts({"X": v, "Y": [1, 1], "Z": {"0": 2}}),
    "one bitstring": lambda v: T.from_pauli_counts({"X": {"0": v}, "Y": [1, 1], "Z": [0, 3]}),
    "qiskit order": lambda v: T.from_pauli_counts({"X": [1, 1], "Y": [1, 1], "Z": v}, qiskit_order=True),
    "hedge": lambda v: T.from_pauli_counts(GOOD, hedge=v),
    "qiskit_order": lambda v: T.from_pauli_counts(GOOD, qiskit_order=v),
    "CountData": lambda v: T.CountData(v),
    "as_dict": lambda v: T.CountData(GOOD).as_dict(qiskit_order=v),
    "state": lambda v: T.simulate_pauli_counts(v, 10, seed=1),
    "shots": lambda v: T.simulate_pauli_counts(np.eye(2) / 2, v, seed=1),
    "seed": lambda v: T.simulate_pauli_counts(np.eye(2) / 2, 10, seed=v),
    "pauli_settings": lambda v: T.pauli_settings(v),
}


@pytest.mark.parametrize("case", FUZZ)
def test_fuzz_count_inputs_give_a_valid_result_or_a_one_line_tomography_error(case):
    @settings(max_examples=40, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(value=json_like)
    def run(value):
        if case == "pauli_settings" and isinstance(value, int) and not isinstance(value, bool) and 8 <= value <= 10:
            return  # valid and slow: 3**10 labels
        try:
            out = FUZZ[case](value)
        except T.TomographyError as exc:
            one_line(exc)
            return
        if isinstance(out, T.CountData):
            assert np.all(np.isfinite(out.sigma)) and np.all(out.sigma > 0) and out.model.is_complete
            np.testing.assert_allclose(out.frequencies.reshape(out.counts.shape).sum(axis=1), 1.0)
        elif isinstance(out, np.ndarray):
            assert out.dtype == np.int64 and out.min() >= 0
        else:
            assert isinstance(out, (tuple, dict))

    run()
