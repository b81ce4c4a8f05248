"""tomography hardening (issue 8): one test per reported item, asserting the
exact error type and that the message names the field, plus a
property-based fuzz of every public function and constructor of
``tomography`` with arbitrary JSON-like values (and scaled/corrupted
versions of valid arrays) in each argument: the outcome is a valid result
(finite numbers, physical states) or a ``TomographyError`` with a one-line
message — never another exception type, a non-finite number or a hang.
"""

from __future__ import annotations

import math
import re
import subprocess
import sys
import time
from pathlib import Path

import matplotlib.figure
import numpy as np
import pytest
import qutip
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import tomography as T
from tomography import ConvergenceError, DataError, ModelError, StateError, TomographyError
from tomography.uncertainty import BOOTSTRAP_MAX_RESAMPLES

ROOT = Path(__file__).resolve().parents[1]

M = T.nmr_two_spin_model("full9")
PSI = np.array([1, 1j, 0, 1]) / np.sqrt(3)
RHO = 0.8 * np.outer(PSI, PSI.conj()) + 0.2 * np.eye(4) / 4
A = M.simulate(RHO, 0.01, seed=1)


def one_line(exc: BaseException) -> str:
    msg = str(exc)
    assert msg and "\n" not in msg, repr(msg)
    return msg


# ------------------------------------------------ huge amplitudes, tiny sigma
def test_mle_of_amplitudes_times_1e200_names_the_amplitudes():
    # Before: converged=True with trace 4.9e199.  Amplitudes beyond 1e60 in
    # model units (a fully polarised line is 1) are refused up front.
    with pytest.raises(DataError) as info:
        T.maximum_likelihood(M, A * 1e200, 0.01)
    assert "amplitudes[" in one_line(info.value) and "1e+60" in str(info.value)


@pytest.mark.parametrize("scale", [1e8, 1e20, 1e59])
def test_physical_estimates_far_from_every_state_are_still_unit_trace_states(scale):
    # Within the range the maximum-likelihood state exists and is returned:
    # the rank-1 projector onto the dominant direction, unit trace, positive,
    # finite χ² (the simplex projection is shift-invariant, so 1e59-sized
    # eigenvalues no longer upset it).
    for f in (T.maximum_likelihood, T.projected_least_squares):
        est = f(M, A * scale, 0.01)
        rho = est.matrix
        assert abs(np.trace(rho) - 1) < 1e-12 and est.min_eigenvalue > -1e-12
        assert est.converged and math.isfinite(est.chi2) and math.isfinite(est.residual_norm)
        assert np.allclose(rho @ rho, rho, atol=1e-9)  # pure


def test_linear_estimate_that_loses_its_unit_trace_names_the_amplitudes():
    with pytest.raises(DataError) as info:
        T.linear_inversion(M, A * 1e20, 0.01)
    msg = one_line(info.value)
    assert msg.startswith("amplitudes") and "unit trace" in msg and "deviation_estimate" in msg


def test_mle_with_sigma_1e_minus_300_names_sigma():
    with pytest.raises(DataError) as info:
        T.maximum_likelihood(M, A, 1e-300)
    assert one_line(info.value).startswith("sigma[0] = 1e-300 is not allowed")
    # the ends of the documented range work and give finite results
    for s in (1e-60, 1e60):
        est = T.maximum_likelihood(M, A, s)
        assert math.isfinite(est.chi2) and abs(est.state.tr() - 1) < 1e-12


def test_project_simplex_survives_huge_and_hugely_negative_eigenvalues():
    for v in ([1e59, 0, -1], [-1e20, -1e20, -1e20 + 1], [1e59, 1e59, 0], [[1e16, 3, 2], [0.2, 0.1, 0]]):
        p = T.pauli.project_simplex(np.array(v, dtype=float))
        assert np.all(np.abs(p.sum(axis=-1) - 1) < 1e-12) and np.all(p >= 0)
    assert T.pauli._project_simplex(np.array([1e300, -1e300, 0.0])).tolist() == [1.0, 0.0, 0.0]
    with pytest.raises(DataError, match=r"v\[0\] = 1e\+300 is not allowed"):
        T.pauli.project_simplex([1e300, 0.0])


# ------------------------------------------- states handed to predict/simulate
def test_predict_and_simulate_refuse_a_non_hermitian_state():
    bad = RHO.copy()
    bad[0, 1] += 0.3  # before: the anti-Hermitian part was silently dropped
    for call in (lambda: M.predict(bad), lambda: M.simulate(bad, 0.01, seed=1)):
        with pytest.raises(StateError) as info:
            call()
        assert one_line(info.value).startswith("state is not Hermitian")
    with pytest.raises(StateError, match="state is not Hermitian"):
        M.predict(bad, physical=False)  # deviations must be Hermitian too


def test_predict_checks_trace_and_positivity_unless_physical_is_false():
    with pytest.raises(StateError, match="state does not have unit trace"):
        M.simulate(2 * RHO, 0.01, seed=1)
    with pytest.raises(StateError, match="state is not positive semidefinite"):
        M.predict(np.diag([1.2, -0.2, 0, 0]))
    with pytest.raises(StateError, match=r"state is 2×2: this model needs 4×4"):
        M.predict(np.eye(2) / 2)
    # a traceless deviation is a valid argument with physical=False, and the
    # model is linear in it
    dev = RHO - np.eye(4) / 4
    np.testing.assert_allclose(M.predict(dev, physical=False), M.predict(RHO) - M.predict(np.eye(4) / 4), atol=1e-14)
    with pytest.raises(DataError, match="physical = 'yes' is not allowed"):
        M.predict(RHO, physical="yes")


def test_initial_state_of_mle_is_validated_not_repaired():
    with pytest.raises(StateError, match="initial is not positive semidefinite"):
        T.maximum_likelihood(M, A, 0.01, initial=np.diag([1.2, -0.2, 0, 0]))
    with pytest.raises(StateError, match="initial has shape"):
        T.maximum_likelihood(M, A, 0.01, initial=np.eye(2) / 2)
    est = T.maximum_likelihood(M, A, 0.01, initial=np.eye(4) / 4)
    assert est.converged


# ---------------------------------------------------------- sizes up front
def test_bootstrap_of_1e12_resamples_is_refused_up_front_with_its_size():
    t = time.perf_counter()
    with pytest.raises(DataError) as info:
        T.bootstrap(M, A, 0.01, seed=1, n_resamples=10**12)
    msg = one_line(info.value)
    assert msg.startswith("n_resamples = 1000000000000 is not allowed")
    assert "PiB" in msg and f"{BOOTSTRAP_MAX_RESAMPLES:,}" in msg
    assert time.perf_counter() - t < 1.0
    # the memory cap binds before the count cap for big models
    big = T.pauli_product_model(5)
    with pytest.raises(DataError, match=r"n_resamples = 20000 is not allowed: .* hold .*GiB"):
        T.bootstrap(big, np.zeros(big.n_lines), 0.01, seed=1, n_resamples=20_000)


def test_other_sizes_that_cannot_fit_are_refused_up_front():
    with pytest.raises(DataError, match=r"simulate: size = 10000000000 .* would need .*TiB"):
        M.simulate(RHO, 0.01, seed=1, size=10**10)
    with pytest.raises(DataError, match=r"size = -1 is not allowed"):
        M.simulate(RHO, 0.01, seed=1, size=-1)
    with pytest.raises(ModelError, match=r"pauli_product_model\(10\) .* would need .*GiB"):
        T.pauli_product_model(10)
    with pytest.raises(ModelError, match=r"pauli_product_readouts\(6\) .* would need .*GiB"):
        T.pauli_product_readouts(6)
    # a 7-qubit model whose columns share a line needs dense 16383² work
    m = 4**7 - 1
    row = np.zeros((1, m))
    row[0, :2] = 1
    with pytest.raises(ModelError, match=r"dense rank analysis .* would need .*GiB"):
        T.MeasurementModel(7, row, 0.0, ("l",))
    with pytest.raises(DataError, match=r"Pauli label 'XXXXXXXXXXXXXXXXXXXXXXXXXXXXXX' is not allowed"):
        T.pauli_matrix("X" * 30)  # would be a 2**30 × 2**30 matrix


# ------------------------------------------------------------------ alpha
def test_deviation_estimate_with_alpha_1e_minus_300_names_alpha():
    dev = A * 1e-5
    with pytest.raises(DataError) as info:
        T.deviation_estimate(M, dev, 1e-7, alpha=1e-300)
    assert one_line(info.value).startswith("alpha = 1e-300 is not allowed")
    # an α that pushes the normalised data out of range is named too
    with pytest.raises(DataError, match=r"alpha = 1e\+60 \(given\) is not allowed for these data"):
        T.deviation_estimate(M, dev, 1e-7, alpha=1e60)
    # a small but representable α: the normalised estimate is a valid state
    res = T.deviation_estimate(M, dev, 1e-7, alpha=1e-20, method="pls")
    assert abs(res.state.tr() - 1) < 1e-12 and res.normalised.min_eigenvalue > -1e-12
    for bad in (True, "1e-3", [1e-3], 10**400):
        with pytest.raises(DataError, match="alpha = .* is not allowed"):
            T.deviation_estimate(M, dev, 1e-7, alpha=bad)


# ------------------------------------------------------------------ seeds
def test_seed_sequences_are_accepted_and_int_seeds_unchanged():
    mean = M.predict(RHO)
    z = np.random.default_rng(5).standard_normal(M.n_lines)
    np.testing.assert_array_equal(M.simulate(RHO, 0.01, seed=5), mean + 0.01 * z)  # as before
    z = np.random.default_rng([5, 2]).standard_normal(M.n_lines)
    np.testing.assert_array_equal(M.simulate(RHO, 0.01, seed=[5, 2]), mean + 0.01 * z)
    for seed in ((5, 2), np.array([5, 2]), np.random.SeedSequence([5, 2]), [np.uint64(5), 2]):
        np.testing.assert_array_equal(M.simulate(RHO, 0.01, seed=seed), mean + 0.01 * z)
    b1 = T.bootstrap(M, A, 0.01, seed=[1, 0], n_resamples=5)
    b2 = T.bootstrap(M, A, 0.01, seed=[1, 0], n_resamples=5)
    b3 = T.bootstrap(M, A, 0.01, seed=[1, 1], n_resamples=5)
    np.testing.assert_array_equal(b1.coefficient_samples, b2.coefficient_samples)
    assert not np.array_equal(b1.coefficient_samples, b3.coefficient_samples)
    assert T.bootstrap(M, A, 0.01, seed=10**40, n_resamples=2).n_resamples == 2


@pytest.mark.parametrize("seed", [-1, 1.5, True, "1", None, [], [-1], [1.5], [True], [[1, 2]], {"a": 1}, [1, "2"]])
def test_bad_seeds_are_refused_naming_seed(seed):
    for call in (lambda: T.bootstrap(M, A, 0.01, seed=seed), lambda: M.simulate(RHO, 0.01, seed=seed)):
        with pytest.raises(DataError) as info:
            call()
        assert "seed = " in one_line(info.value) and "is not allowed" in str(info.value)


# ------------------------------------------------------------------ options
def test_unknown_estimator_options_and_bad_functions_are_data_errors():
    with pytest.raises(DataError, match=r"estimate: option 'tol' is not allowed for method 'linear'"):
        T.estimate(M, A, 0.01, "linear", tol=1e-6)
    with pytest.raises(DataError, match=r"bootstrap: option 'spam' is not allowed for method 'mle'"):
        T.bootstrap(M, A, 0.01, seed=1, method="mle", spam=1)
    with pytest.raises(DataError, match=r"deviation_estimate: option 'initial' is not allowed for method 'pls'"):
        T.deviation_estimate(M, A * 1e-5, 1e-7, method="pls", initial="mixed")
    with pytest.raises(DataError, match=r"functions = 'F' is not allowed"):
        T.bootstrap(M, A, 0.01, seed=1, functions="F")
    with pytest.raises(DataError, match=r"functions\['F'\] returned nan: a finite number is required"):
        T.bootstrap(M, A, 0.01, seed=1, n_resamples=3, functions={"F": lambda s: float("nan")})
    with pytest.raises(DataError, match=r"allow_incomplete = 'no' is not allowed"):
        T.linear_inversion(M, A, allow_incomplete="no")
    with pytest.raises(DataError, match=r"max_iterations = 10000000 is not allowed: an integer from 1 to 1,000,000"):
        T.maximum_likelihood(M, A, 0.01, max_iterations=10**7)
    with pytest.raises(DataError, match=r"atol = True is not allowed"):
        T.purity(RHO, atol=True)
    with pytest.raises(DataError, match=r"batch shape \(2,\)\) and sigma \(batch shape \(3,\)\) do not broadcast"):
        T.trace_distance(np.stack([RHO] * 2), np.stack([RHO] * 3))


# ------------------------------------------------------------ benchmark
def test_benchmark_quick_mode_runs_every_part_in_seconds():
    t = time.perf_counter()
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_tomography.py"), "--quick"],
                         capture_output=True, text=True, timeout=120, cwd=ROOT)
    elapsed = time.perf_counter() - t
    assert out.returncode == 0, out.stderr[-2000:]
    assert "Part 1" in out.stdout and "Part 2" in out.stdout
    assert "|bias|/se" in out.stdout and "projection moves it by" in out.stdout
    assert re.search(r"< 5 ms (ok|MISSED) \(\d+\.\d× (under|over)\)", out.stdout)  # margin to the target
    assert elapsed < 60, elapsed  # ~5 s on an idle 2-core machine; generous for a loaded one


# ===================================================================== fuzz
HUGE_INTS = [10**400, -(10**400), 2**64, 2**63 - 1, -(2**63)]
EXTREME_FLOATS = [math.nan, math.inf, -math.inf, 1e308, -1e308, 1e-300, -0.0, 5e-324]
leaves = st.one_of(
    st.none(), st.booleans(), st.integers(), st.sampled_from(HUGE_INTS), st.floats(),
    st.sampled_from(EXTREME_FLOATS), st.text(max_size=6),
)
json_like = st.recursive(
    leaves, lambda ch: st.lists(ch, max_size=5) | st.dictionaries(st.text(max_size=3), ch, max_size=3),
    max_leaves=12,
)
SCALES = [1.0, -1.0, 0.0, 1e-300, 1e-70, 1e-30, 1e-8, 1e8, 1e30, 1e70, 1e200, 1e308]


def corrupted(base):
    """Valid-shaped values: the baseline scaled, one entry made extreme, reshaped or as a list."""
    arr = np.asarray(base)

    @st.composite
    def build(draw):
        x = arr * draw(st.sampled_from(SCALES)) if arr.dtype.kind in "fc" else arr.astype(float)
        x = np.array(x)
        if x.size and draw(st.booleans()):
            x.reshape(-1)[draw(st.integers(0, x.size - 1))] = draw(st.sampled_from(EXTREME_FLOATS + [1e61]))
        form = draw(st.sampled_from(["array", "list", "flat", "drop"]))
        if form == "list":
            return x.tolist()
        if form == "flat":
            return x.reshape(-1)
        if form == "drop" and x.ndim:
            return x[:-1]
        return x

    return build()


def values_for(base):
    if isinstance(base, (np.ndarray, list)) and np.asarray(base).dtype.kind in "ifc":
        return st.one_of(json_like, corrupted(base))
    if isinstance(base, float):
        return st.one_of(json_like, st.sampled_from([base * s for s in SCALES]))
    return json_like


def finite(x) -> bool:
    return bool(np.all(np.isfinite(np.asarray(x, dtype=complex))))


def check_state(q, positive: bool, unit_trace: bool = True):
    m = q.full() if isinstance(q, qutip.Qobj) else np.asarray(q)
    assert finite(m)
    assert np.abs(m - np.swapaxes(m, -1, -2).conj()).max() <= 1e-8 * max(1, np.abs(m).max())
    if unit_trace:
        assert np.all(np.abs(np.trace(m, axis1=-2, axis2=-1) - 1) <= 1e-8)
    if positive:
        assert np.linalg.eigvalsh(m)[..., 0].min() >= -1e-8


def check_result(r):
    """Every number finite, every state physical."""
    if isinstance(r, T.Estimate):
        check_state(r.state, positive=r.method in ("pls", "mle"))
        for x in (r.coefficients, r.residual_norm, r.min_eigenvalue, r.standard_errors, r.covariance, r.chi2,
                  r.distance_bound, r.gap):
            assert x is None or finite(x)
        assert r.converged
    elif isinstance(r, T.DeviationEstimate):
        check_state(r.deviation, positive=False, unit_trace=False)
        assert finite(r.deviation_coefficients) and finite(r.deviation_standard_errors) and finite(r.alpha)
        check_result(r.normalised)
    elif isinstance(r, T.BootstrapResult):
        check_result(r.estimate)
        check_result(r.standard_errors)
        assert finite(r.coefficient_samples)
        for s in r.functions.values():
            assert finite([s.value, s.mean, s.standard_error, s.bias]) and finite(s.samples)
    elif isinstance(r, T.StandardErrors):
        assert finite(r.coefficients) and finite(r.real) and finite(r.imag)
    elif isinstance(r, T.MeasurementModel):
        assert finite(r.matrix.data if hasattr(r.matrix, "data") and not isinstance(r.matrix, np.ndarray)
                      else r.matrix) and finite(r.offset) and finite(r.singular_values)
        assert finite(r.condition_number) or not r.is_complete  # inf only for rank-deficient models
    elif isinstance(r, (T.Readout, T.Line)):
        for ln in getattr(r, "lines", (r,)):
            assert finite(ln.observable)
    elif isinstance(r, tuple):
        for x in r:
            check_result(x)
    elif isinstance(r, (qutip.Qobj, np.ndarray, float, int, np.floating)):
        assert finite(r.full() if isinstance(r, qutip.Qobj) else r)
    elif isinstance(r, (str, matplotlib.figure.Figure)):
        pass
    else:  # pragma: no cover
        raise AssertionError(f"unexpected result type {type(r)}")


EST = T.weighted_least_squares(M, A, 0.01)
DEV_A = A * 1e-5
Z2 = np.diag([1.0, -1.0])
X2 = np.array([[0.0, 1.0], [1.0, 0.0]])
BLOCH = [T.Readout(nm, u, (T.Line("z", Z2),)) for nm, u in
         (("Z", np.eye(2)), ("X", np.array([[1, 1], [1, -1]]) / np.sqrt(2)),
          ("Y", np.array([[1, -1j], [1, 1j]]) / np.sqrt(2)))]
SMALL_OK = {  # valid sizes whose work would only slow the fuzz (tested elsewhere)
    ("pauli_product_model", "n_qubits"): range(6, 11),
    ("pauli_product_readouts", "n_qubits"): range(4, 11),
    ("pauli_labels", "n_qubits"): range(8, 11),
    ("bootstrap", "n_resamples"): range(200, BOOTSTRAP_MAX_RESAMPLES + 1),
    ("simulate", "size"): range(10_000, 10**12),
}


def _estimate(model, amplitudes, sigma, method, options):
    if not isinstance(options, dict):
        options = {"options": options}
    return T.estimate(model, amplitudes, sigma, method, **options)


CASES = {
    "Line": (T.Line, dict(label="z", observable=Z2)),
    "Readout": (T.Readout, dict(name="r", unitary=np.eye(2), lines=(T.Line("z", Z2), T.Line("x", X2)))),
    "MeasurementModel": (T.MeasurementModel, dict(n_qubits=1, matrix=np.eye(3), offset=np.zeros(3),
                                                  line_labels=("a", "b", "c"), name="m", readouts=())),
    "from_readouts": (T.MeasurementModel.from_readouts, dict(readouts=BLOCH, name="bloch")),
    "restrict": (lambda readout_names, name: M.restrict(readout_names, name),
                 dict(readout_names=["II", "IX", "XI", "XY"], name="sub")),
    "predict": (lambda state, physical: M.predict(state, physical=physical), dict(state=RHO, physical=True)),
    "simulate": (lambda state, sigma, seed, size, physical: M.simulate(state, sigma, seed, size, physical=physical),
                 dict(state=RHO, sigma=0.01, seed=1, size=2, physical=True)),
    "apply": (lambda c: M.apply(c), dict(c=np.full(15, 0.1))),
    "apply_transpose": (lambda r: M.apply_transpose(r), dict(r=A)),
    "gram": (lambda w: M.gram(w), dict(w=np.ones(72))),
    "nmr_two_spin_readouts": (T.nmr_two_spin_readouts, dict(pulses="minimal4")),
    "nmr_two_spin_model": (T.nmr_two_spin_model, dict(pulses=["II", "IX", "XI", "XY"])),
    "pauli_product_readouts": (T.pauli_product_readouts, dict(n_qubits=1)),
    "pauli_product_model": (T.pauli_product_model, dict(n_qubits=2)),
    "pauli_labels": (T.pauli_labels, dict(n_qubits=2)),
    "pauli_index": (T.pauli_index, dict(label="XZ")),
    "pauli_matrix": (T.pauli_matrix, dict(label="XZ")),
    "pauli_coefficients": (T.pauli_coefficients, dict(state=RHO)),
    "state_from_coefficients": (T.state_from_coefficients, dict(coefficients=np.full(15, 0.1), n_qubits=2)),
    "project_to_state": (T.project_to_state, dict(matrix=RHO)),
    "linear_inversion": (T.linear_inversion, dict(model=M, amplitudes=A, sigma=0.01, allow_incomplete=False)),
    "weighted_least_squares": (T.weighted_least_squares,
                               dict(model=M, amplitudes=A, sigma=0.01, allow_incomplete=False)),
    "projected_least_squares": (T.projected_least_squares,
                                dict(model=M, amplitudes=A, sigma=0.01, allow_incomplete=False)),
    "maximum_likelihood": (T.maximum_likelihood, dict(model=M, amplitudes=A, sigma=0.01, tol=1e-9,
                                                      max_iterations=50_000, initial="pls", allow_incomplete=False)),
    "estimate": (_estimate, dict(model=M, amplitudes=A, sigma=0.01, method="mle", options={})),
    "deviation_estimate": (T.deviation_estimate, dict(model=M, amplitudes=DEV_A, sigma=1e-7, alpha="min_positive",
                                                      method="pls", allow_incomplete=False)),
    "fisher_standard_errors": (T.fisher_standard_errors, dict(model=M, sigma=0.01, method="wls",
                                                              allow_incomplete=False)),
    "bootstrap": (T.bootstrap, dict(model=M, amplitudes=A, sigma=0.01, seed=1, method="wls", n_resamples=5,
                                    functions=None, allow_incomplete=False)),
    "fidelity": (T.fidelity, dict(rho=RHO, sigma=np.eye(4) / 4, atol=1e-8)),
    "trace_distance": (T.trace_distance, dict(rho=RHO, sigma=np.eye(4) / 4, atol=1e-8)),
    "purity": (T.purity, dict(rho=RHO, atol=1e-8)),
    "plot_density_matrix": (T.plot_density_matrix, dict(state=RHO, ideal=None, kind="hinton", title=None,
                                                        labels=None, zlim=None)),
    "Estimate.coefficient": (lambda label: EST.coefficient(label), dict(label="XZ")),
    "Estimate.standard_error": (lambda label: EST.standard_error(label), dict(label="XZ")),
    "StandardErrors[label]": (lambda label: T.fisher_standard_errors(M, 0.01)[label], dict(label="XZ")),
}
PARAMS = [(case, arg) for case, (_, base) in CASES.items() for arg in base]


@pytest.mark.parametrize("case, arg", PARAMS, ids=[f"{c}-{a}" for c, a in PARAMS])
def test_fuzz_every_argument_gives_a_valid_result_or_a_one_line_tomography_error(case, arg):
    func, base = CASES[case]
    examples = 4 if case == "plot_density_matrix" else 20

    @settings(max_examples=examples, deadline=15000, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large])
    @given(value=values_for(base[arg]))
    def run(value):
        skip = SMALL_OK.get((case, arg))
        assume(not (skip and isinstance(value, int) and not isinstance(value, bool) and value in skip))
        kwargs = dict(base)
        kwargs[arg] = value
        try:
            result = func(**kwargs)
        except TomographyError as exc:
            one_line(exc)
            return
        check_result(result)

    run()


INCOMPLETE = T.nmr_two_spin_model(["II", "XI", "IX", "YY"])


@settings(max_examples=60, deadline=15000, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(a_scale=st.sampled_from(SCALES[:-1] + [1e59, 1e-59]),
       s_scale=st.sampled_from([1e-60, 1e-30, 1e-3, 1, 1e30, 1e60]), method=st.sampled_from(T.METHODS), complete=st.booleans(), hetero=st.booleans(), seed=st.integers(0, 3))
def test_fuzz_estimators_over_the_whole_numeric_range(a_scale, s_scale, method, complete, hetero, seed):
    # Amplitudes and noise levels anywhere in (and just beyond) the documented
    # range, jointly: a finite, physical estimate or a DataError.
    model = M if complete else INCOMPLETE
    rng = np.random.default_rng(seed)
    a = model.simulate(RHO, 0.01, seed=rng) * a_scale
    sigma = s_scale * (rng.uniform(0.1, 10, model.n_lines) if hetero else 1.0)
    sigma = np.clip(sigma, 1e-60, 1e60)
    try:
        est = T.estimate(model, a, sigma, method, allow_incomplete=not complete)
    except DataError as exc:
        assert one_line(exc).startswith(("amplitudes", "sigma"))
        return
    except ConvergenceError as exc:
        one_line(exc)
        return
    check_result(est)
    assert est.undetermined == model.undetermined
