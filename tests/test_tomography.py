"""tomography: Pauli bookkeeping, measurement models and presets, the four
estimators on noiseless data (Must-show 1), informationally incomplete
readout sets (Must-show 5), deviation data, uncertainties, figures of merit,
the plot helper and the error messages."""

import io
import re

import numpy as np
import pytest
import qutip
import scipy.optimize
from hypothesis import given, settings
from hypothesis import strategies as st
from randstates import random_state

import tomography as T
from tomography import pauli as TP

seeds = st.integers(min_value=0, max_value=2**32 - 1)


def dims(n):
    return [[2] * n, [2] * n]


# ---------------------------------------------------------------- Pauli
def test_labels_order_and_index():
    assert T.pauli_labels(1) == ("X", "Y", "Z")
    labs = T.pauli_labels(2)
    assert len(labs) == 15 and labs[:4] == ("IX", "IY", "IZ", "XI") and labs[-1] == "ZZ"
    assert [T.pauli_index(x) for x in labs] == list(range(15))
    assert len(T.pauli_labels(6)) == 4095


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5])
def test_transform_matches_explicit_kronecker_products(n):
    rng = np.random.default_rng(n)
    c = rng.normal(size=4**n - 1)
    rho = T.state_from_coefficients(c)
    assert rho.dims == dims(n)
    if n <= 3:
        ref = (np.eye(2**n) + sum(ck * T.pauli_matrix(lab) for ck, lab in zip(c, T.pauli_labels(n)))) / 2**n
        np.testing.assert_allclose(rho.full(), ref, atol=1e-14)
    np.testing.assert_allclose(T.pauli_coefficients(rho), c, atol=1e-13)
    # the fast (tensor) transform and the dense basis agree
    full = np.concatenate([[1.0], c])[None]
    np.testing.assert_allclose(TP._to_matrix_fast(full, n)[0], TP.full_to_matrix(full, n)[0], atol=1e-13)


def test_transform_batches_and_six_qubits():
    rng = np.random.default_rng(6)
    c = rng.normal(size=(3, 4095)) * 0.01
    m = T.state_from_coefficients(c)
    assert m.shape == (3, 64, 64) and m.dtype == np.complex128
    np.testing.assert_allclose(T.pauli_coefficients(m), c, atol=1e-13)


@settings(max_examples=40, deadline=None)
@given(seed=seeds, d=st.sampled_from([2, 4, 8]))
def test_projection_is_the_frobenius_projection(seed, d):
    # Variational inequality of a convex projection: <M − P(M), σ − P(M)> ≤ 0
    # for every state σ; and P is the identity on states.
    rng = np.random.default_rng(seed)
    h = rng.normal(size=(d, d)) + 1j * rng.normal(size=(d, d))
    h = (h + h.conj().T) / 2 * rng.uniform(0.1, 3)
    p = T.project_to_state(h).full()
    lam = np.linalg.eigvalsh(p)
    assert lam[0] > -1e-14 and abs(np.trace(p) - 1) < 1e-12
    sig = random_state(rng, d, size=(50,))
    inner = np.einsum("ij,kji->k", h - p, sig - p).real
    assert np.all(inner <= 1e-10)
    np.testing.assert_allclose(T.project_to_state(sig[0]).full(), sig[0], atol=1e-12)


# --------------------------------------------------------------- models
def test_nmr_full9_model_and_documented_table():
    m = T.nmr_two_spin_model("full9")
    assert (m.n_lines, m.rank, m.is_complete, m.undetermined) == (72, 15, True, ())
    np.testing.assert_allclose(m.singular_values, [np.sqrt(3)] * 6 + [np.sqrt(2)] * 9, atol=1e-12)
    assert m.condition_number == pytest.approx(np.sqrt(1.5), abs=1e-12)
    assert m.line_labels[:3] == ("II/1x|0", "II/1y|0", "II/1x|1")
    # The table in nmr_two_spin_readouts' docstring is what the model computes.
    doc = T.nmr_two_spin_readouts.__doc__
    table = {
        row.split()[0]: tuple(row.split()[1:])
        for row in doc.splitlines()
        if re.match(r"^\s+[IXY]{2}\s+[IXYZ]{2}\s", row)
    }
    assert tuple(table) == T.NMR_FULL9
    for name in T.NMR_FULL9:
        a = m.restrict([name]).matrix
        touched = tuple(lab for lab, col in zip(T.pauli_labels(2), np.abs(a).sum(axis=0)) if col > 1e-12)
        assert touched == table[name], name
    # a line of spin 1's doublet: Tr[ρ X⊗|0><0|] = (c_XI + c_XZ)/2 with no pulse
    row = m.matrix[0]
    assert row[T.pauli_index("XI")] == pytest.approx(0.5) and row[T.pauli_index("XZ")] == pytest.approx(0.5)
    assert np.count_nonzero(np.abs(row) > 1e-12) == 2


def test_nmr_minimal4_is_complete_and_no_three_readouts_are():
    import itertools

    m4 = T.nmr_two_spin_model("minimal4")
    assert m4.is_complete and m4.n_lines == 32 and m4.condition_number == pytest.approx(2.0)
    full = T.nmr_two_spin_model()
    assert not any(full.restrict(list(c)).is_complete for c in itertools.combinations(T.NMR_FULL9, 3))


def test_nmr_readout_physics_against_qutip():
    # A readout is R = R1 ⊗ R2 with R = exp(−i π/4 σ) for a 90° pulse; the line
    # "1y|1" of readout "XY" is Tr[R ρ R† (Y ⊗ |1><1|)].
    rng = np.random.default_rng(3)
    rho = qutip.Qobj(random_state(rng), dims=dims(2))
    r = qutip.tensor((-1j * np.pi / 4 * qutip.sigmax()).expm(), (-1j * np.pi / 4 * qutip.sigmay()).expm())
    obs = qutip.tensor(qutip.sigmay(), qutip.basis(2, 1).proj())
    expect = qutip.expect(obs, r * rho * r.dag())
    m = T.nmr_two_spin_model()
    assert m.predict(rho)[m.line_labels.index("XY/1y|1")] == pytest.approx(expect, abs=1e-14)


@pytest.mark.parametrize("n", [1, 2, 3])
def test_pauli_product_readouts_build_the_direct_sparse_model(n):
    a = T.MeasurementModel.from_readouts(T.pauli_product_readouts(n))
    b = T.pauli_product_model(n)
    dense = a.matrix.toarray() if hasattr(a.matrix, "toarray") else a.matrix
    np.testing.assert_allclose(dense, b.matrix.toarray(), atol=1e-14)
    assert a.line_labels == b.line_labels and b.is_diagonal and b.is_complete
    np.testing.assert_allclose(a.offset, 0, atol=1e-15)
    # A Pauli string with k identity factors is read in 3**k readouts.
    counts = np.asarray(b.matrix.sum(axis=0)).ravel()
    assert all(counts[i] == 3 ** lab.count("I") for i, lab in enumerate(T.pauli_labels(n)))


def test_six_qubit_model_summary():
    m = T.pauli_product_model(6)
    assert (m.n_lines, m.n_coefficients, m.rank) == (45927, 4095, 4095)
    assert m.condition_number == pytest.approx(np.sqrt(3**5))
    assert "informationally complete" in m.summary()


def test_offset_of_observables_with_trace():
    # an observable with a trace contributes b = Tr[O]/d (the identity part)
    lines = (T.Line("pop0", np.diag([1.0, 0.0])), T.Line("pop1", np.diag([0.0, 1.0])))
    m = T.MeasurementModel.from_readouts([T.Readout("Z", np.eye(2), lines),
                                          T.Readout("X", np.array([[1, 1], [1, -1]]) / np.sqrt(2), lines),
                                          T.Readout("Y", np.array([[1, -1j], [1, 1j]]) / np.sqrt(2), lines)])
    np.testing.assert_allclose(m.offset, 0.5)
    rho = np.array([[0.7, 0.2 - 0.1j], [0.2 + 0.1j, 0.3]])
    np.testing.assert_allclose(m.predict(rho)[:2], [0.7, 0.3], atol=1e-14)
    assert m.is_complete
    est = T.linear_inversion(m, m.predict(rho))
    np.testing.assert_allclose(est.matrix, rho, atol=1e-12)


# ---------------------------------------------------- Must-show 5: incomplete
def test_incomplete_readout_set_is_reported_by_name():
    m = T.nmr_two_spin_model(["II", "XI", "IX", "YY"])
    assert m.rank == 14 and not m.is_complete and m.undetermined == ("XX",)
    assert m.condition_number == np.inf
    assert "INCOMPLETE, undetermined: XX." in m.summary()
    data = m.predict(np.eye(4) / 4)
    for f in (T.linear_inversion, T.weighted_least_squares, T.projected_least_squares, T.maximum_likelihood):
        with pytest.raises(T.ModelError, match=r"rank 14 of 15\); undetermined Pauli coefficients: XX\."):
            f(m, data, 0.01)
    est = T.linear_inversion(m, data, 0.01, allow_incomplete=True)
    assert est.undetermined == ("XX",) and est.coefficient("XX") == 0.0


def test_single_readout_and_combination_only_models_name_every_undetermined_coefficient():
    m = T.nmr_two_spin_model(["II"])
    assert m.undetermined == ("IZ", "XX", "XY", "YX", "YY", "ZI", "ZZ")
    # lines that only read XX + YY (a flip-flop term) leave both undetermined
    xx, yy = T.pauli_matrix("XX"), T.pauli_matrix("YY")
    lines = [T.Line(lab, T.pauli_matrix(lab)) for lab in T.pauli_labels(2) if lab not in ("XX", "YY")]
    lines.append(T.Line("XX+YY", xx + yy))
    m2 = T.MeasurementModel.from_readouts([T.Readout("direct", np.eye(4), lines)])
    assert m2.rank == 14 and m2.undetermined == ("XX", "YY")
    # physical estimators may still be asked for a state: positivity picks one
    rho = random_state(np.random.default_rng(0), 4, rank=1)
    e = T.maximum_likelihood(m2, m2.predict(rho), 0.01, allow_incomplete=True, tol=1e-6)
    assert e.min_eigenvalue > -1e-12 and e.undetermined == ("XX", "YY")


# -------------------------------------------- Must-show 1: noiseless recovery
def models_for(n):
    out = [T.pauli_product_model(n)]
    if n == 2:
        out += [T.nmr_two_spin_model("full9"), T.nmr_two_spin_model("minimal4")]
    return out


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_noiseless_data_reconstruct_full_rank_states(n):
    rng = np.random.default_rng(100 + n)
    for model in models_for(n):
        for _ in range(3):
            rho = random_state(rng, 2**n)
            a = model.predict(rho)
            sigma = rng.uniform(0.5, 2.0, size=model.n_lines) * 0.01
            for f in (T.linear_inversion, T.weighted_least_squares):
                err = np.abs(f(model, a, sigma).matrix - rho).max()
                assert err < 1e-10, (model.name, f.__name__, err)
            pls = T.projected_least_squares(model, a, sigma)
            assert np.abs(pls.matrix - rho).max() < 1e-10
            # MLE started far away (I/d) must converge to the stated tolerance
            mle = T.maximum_likelihood(model, a, sigma, initial="mixed", tol=1e-9)
            dist = np.linalg.norm(mle.matrix - rho)
            assert mle.converged and mle.distance_bound <= 1e-9 and dist <= 1e-9, (model.name, dist)
            assert mle.iterations > 1


def test_mle_matches_an_independent_constrained_solver():
    # Two qubits, a pure true state and heavy heteroscedastic noise so that the
    # constraint is active; reference: χ² over ρ = TT†/Tr(TT†) by L-BFGS.
    rng = np.random.default_rng(7)
    model = T.nmr_two_spin_model()
    rho = random_state(rng, 4, rank=1)
    sigma = rng.uniform(0.02, 0.1, size=model.n_lines)
    a = model.simulate(rho, sigma, seed=8)
    mle = T.maximum_likelihood(model, a, sigma, tol=1e-10)
    assert mle.min_eigenvalue < 1e-6  # on the boundary

    A, y = model.matrix, a - model.offset

    def chi2(x):
        t = (x[:16] + 1j * x[16:]).reshape(4, 4)
        r = t @ t.conj().T
        r /= np.trace(r).real
        return np.sum(((y - A @ T.pauli_coefficients(r)) / sigma) ** 2)

    best = np.inf
    for k in range(4):
        lam, v = np.linalg.eigh(mle.matrix + 0.05 * random_state(rng, 4) * (k > 0))
        t0 = v * np.sqrt(np.clip(lam, 1e-6, None))
        res = scipy.optimize.minimize(chi2, np.concatenate([t0.real.ravel(), t0.imag.ravel()]), method="BFGS",
                                      options={"gtol": 1e-10, "maxiter": 5000})
        best = min(best, res.fun)
    assert abs(mle.chi2 - best) <= 1e-6 * best
    assert mle.gap < 1e-6


def test_mle_tolerance_is_honoured_and_reported():
    rng = np.random.default_rng(11)
    model = T.pauli_product_model(3)
    rho = random_state(rng, 8, rank=2)
    a = model.simulate(rho, 0.05, seed=12)
    loose = T.maximum_likelihood(model, a, 0.05, tol=1e-6, initial="mixed")
    tight = T.maximum_likelihood(model, a, 0.05, tol=1e-13, initial="mixed")
    assert np.linalg.norm(loose.matrix - tight.matrix) <= 1e-6 + 1e-13
    assert loose.iterations < tight.iterations and loose.tolerance == 1e-6
    with pytest.raises(T.ConvergenceError, match=r"after 3 iterations \(max_iterations = 3\) with distance bound .* > tol"):
        T.maximum_likelihood(model, a, 0.05, max_iterations=3, initial="mixed")
    # a tolerance below the round-off floor stops early instead of spinning
    big = T.pauli_product_model(5)
    b = big.simulate(random_state(rng, 32, rank=1), 0.05, seed=13)
    with pytest.raises(T.ConvergenceError, match="stalls at round-off"):
        T.maximum_likelihood(big, b, 0.05, tol=1e-14)


def test_estimate_diagnostics():
    rng = np.random.default_rng(5)
    model = T.nmr_two_spin_model()
    rho = random_state(rng, 4, rank=1)
    a = model.simulate(rho, 0.05, seed=1)
    li = T.estimate(model, a, 0.05, "linear")
    assert li.method == "linear" and li.dof == 57 and li.covariance.shape == (15, 15)
    assert li.min_eigenvalue < 0  # a pure state plus noise: not a state
    # XX is read by 8 lines (4 readouts × 2) of weight ½: Fisher information 8/4σ²;
    # XI by 12 lines (6 readouts × 2): 12/4σ²
    assert li.standard_error("XX") == pytest.approx(0.05 / np.sqrt(2))
    assert li.standard_error("XI") == pytest.approx(0.05 / np.sqrt(3))
    mle = T.estimate(model, a, 0.05, "mle")
    assert mle.standard_errors is None and mle.chi2 >= li.chi2
    with pytest.raises(T.DataError, match="use tomography.bootstrap"):
        mle.standard_error("XX")
    assert mle.state.dims == dims(2) and abs(mle.state.tr() - 1) < 1e-12


# ------------------------------------------------------------ deviation data
def test_deviation_data_alpha_given_and_estimated():
    rng = np.random.default_rng(21)
    model = T.nmr_two_spin_model()
    psi = random_state(rng, 4, rank=1)
    alpha = 3e-5
    nmr = (1 - alpha) * np.eye(4) / 4 + alpha * psi
    a = model.predict(nmr)
    for how in ("min_positive", "pure", alpha):
        dev = T.deviation_estimate(model, a, 1e-9, alpha=how, method="pls")
        assert dev.alpha == pytest.approx(alpha, rel=1e-8), how
        np.testing.assert_allclose(dev.deviation.full(), nmr - np.eye(4) / 4, atol=1e-14)
        assert T.fidelity(dev.state, psi) == pytest.approx(1, abs=1e-8)
    assert dev.alpha_method == "given"
    # with noise: α estimates are biased up, the normalised state is physical
    sig = 0.02 * alpha
    noisy = model.simulate(nmr, sig, seed=4)
    dev = T.deviation_estimate(model, noisy, sig)
    assert alpha <= dev.alpha < 1.2 * alpha and dev.normalised.method == "mle"
    assert dev.normalised.min_eigenvalue > -1e-12 and T.fidelity(dev.state, psi) > 0.95
    with pytest.raises(T.DataError, match=r"alpha = -1\.0 is not allowed: a finite number > 0"):
        T.deviation_estimate(model, a, 1e-9, alpha=-1.0)
    with pytest.raises(T.DataError, match=r"alpha = 'thermal' is not allowed"):
        T.deviation_estimate(model, a, 1e-9, alpha="thermal")


# ------------------------------------------------------------ uncertainties
def test_fisher_errors_of_elements_diagonal_and_dense_paths_agree():
    model = T.pauli_product_model(3)
    rng = np.random.default_rng(2)
    sigma = rng.uniform(0.01, 0.03, size=model.n_lines)
    fe = T.fisher_standard_errors(model, sigma)
    _, cov = T.estimators._linear_solution(model, np.zeros(model.n_lines), sigma, True)
    re, im = TP.element_variances(np.diag(cov), 3)
    np.testing.assert_allclose(fe.real, np.sqrt(re), rtol=1e-10)
    np.testing.assert_allclose(fe.imag, np.sqrt(im), rtol=1e-10, atol=1e-15)
    assert np.all(np.diag(fe.imag) == 0) and fe.method == "fisher-wls"
    assert fe["XYZ"] == pytest.approx(1 / np.sqrt(np.sum(1 / sigma[[i for i, lab in enumerate(model.line_labels)
                                                                     if lab.endswith("/XYZ")]] ** 2)))


def test_bootstrap_is_seeded_and_agrees_with_fisher_for_linear_estimators():
    model = T.nmr_two_spin_model()
    rng = np.random.default_rng(9)
    rho = random_state(rng, 4)
    a = model.simulate(rho, 0.01, seed=10)
    b1 = T.bootstrap(model, a, 0.01, seed=3, method="linear", n_resamples=2000)
    b2 = T.bootstrap(model, a, 0.01, seed=3, method="linear", n_resamples=2000)
    np.testing.assert_array_equal(b1.coefficient_samples, b2.coefficient_samples)
    fe = T.fisher_standard_errors(model, 0.01, method="linear")
    # 2000 resamples: relative error of a standard deviation ≈ 1/√4000 = 1.6 %
    np.testing.assert_allclose(b1.standard_errors.coefficients, fe.coefficients, rtol=0.06)
    np.testing.assert_allclose(b1.standard_errors.real, fe.real, rtol=0.06)
    off = ~np.eye(4, dtype=bool)
    np.testing.assert_allclose(b1.standard_errors.imag[off], fe.imag[off], rtol=0.06)


def test_bootstrap_of_functions_of_the_state():
    model = T.nmr_two_spin_model()
    rng = np.random.default_rng(13)
    psi = random_state(rng, 4, rank=1)
    a = model.simulate(psi, 0.03, seed=14)
    res = T.bootstrap(model, a, 0.03, seed=15, method="mle", n_resamples=40,
                      functions={"F": lambda s: T.fidelity(s, psi), "purity": T.purity})
    f = res.functions["F"]
    assert f.samples.shape == (40,) and 0 < f.standard_error < 0.05
    assert f.bias == pytest.approx(f.mean - f.value)
    assert f.bias < 0  # projection pulls fidelity to a pure state down
    with pytest.raises(T.DataError, match="n_resamples = 1 is not allowed"):
        T.bootstrap(model, a, 0.03, seed=1, n_resamples=1)
    with pytest.raises(T.DataError, match=r"functions\['F'\] is not callable"):
        T.bootstrap(model, a, 0.03, seed=1, functions={"F": 1.0})


# ---------------------------------------------------------- figures of merit
def test_figures_of_merit_against_qutip_and_closed_forms():
    rng = np.random.default_rng(17)
    for rank in (1, 2, 4):
        r, s = random_state(rng, 4, rank=rank), random_state(rng, 4)
        qr, qs = qutip.Qobj(r, dims=dims(2)), qutip.Qobj(s, dims=dims(2))
        assert T.fidelity(qr, qs) == pytest.approx(qutip.fidelity(qr, qs) ** 2, abs=1e-7)
        assert T.trace_distance(r, s) == pytest.approx(qutip.tracedist(qr, qs), abs=1e-12)
        assert T.purity(r) == pytest.approx((qr * qr).tr().real, abs=1e-14)
    ket = qutip.rand_ket(4, seed=1)
    ket.dims = [[2, 2], [1]]
    np.testing.assert_allclose(T.fidelity(ket, s), qutip.expect(qutip.Qobj(s, dims=dims(2)), ket), atol=1e-12)
    batch = random_state(rng, 4, size=(5,))
    assert T.fidelity(batch, batch).shape == (5,) and np.allclose(T.fidelity(batch, batch), 1)
    with pytest.raises(T.StateError, match=r"rho does not have unit trace: Tr = 2, allowed"):
        T.fidelity(2 * batch[0], batch[1])
    with pytest.raises(T.StateError, match="sigma is not positive semidefinite: smallest eigenvalue"):
        T.fidelity(batch[0], np.diag([1.2, -0.2, 0, 0]))
    assert T.trace_distance(np.diag([1.2, -0.2, 0, 0]), np.diag([1.0, 0, 0, 0])) == pytest.approx(0.2)


# ------------------------------------------------------------------- plots
@pytest.mark.parametrize("kind", ["bars", "hinton"])
def test_plot_density_matrix_renders(kind):
    rng = np.random.default_rng(19)
    est = qutip.Qobj(random_state(rng, 4), dims=dims(2))
    fig = T.plot_density_matrix(est, random_state(rng, 4, rank=1), kind=kind, title="test")
    assert len(fig.axes) == 4
    fig.savefig(io.BytesIO(), format="png")
    fig = T.plot_density_matrix(random_state(rng, 8), kind=kind)
    assert len(fig.axes) == 2
    fig.savefig(io.BytesIO(), format="png")
    with pytest.raises(T.DataError, match="kind = 'pie' is not allowed"):
        T.plot_density_matrix(est, kind="pie")


# ------------------------------------------------------------- validation
def test_model_and_data_errors_name_field_value_and_allowed():
    with pytest.raises(T.ModelError, match=r"Line 'a' observable is not Hermitian: max\|O − O†\| = 1, allowed"):
        T.Line("a", np.array([[0, 1], [0, 0]]))
    with pytest.raises(T.ModelError, match=r"Readout 'r' unitary is not unitary"):
        T.Readout("r", 2 * np.eye(2), (T.Line("z", np.diag([1, -1])),))
    with pytest.raises(T.ModelError, match="observable is 4-dimensional, the unitary is 2-dimensional"):
        T.Readout("r", np.eye(2), (T.Line("z", np.eye(4)),))
    with pytest.raises(T.ModelError, match=r"duplicate line labels \['z'\]"):
        T.Readout("r", np.eye(2), (T.Line("z", np.eye(2)), T.Line("z", np.eye(2))))
    with pytest.raises(T.ModelError, match="readout name 'XZ' is not allowed: two letters from 'I', 'X', 'Y'"):
        T.nmr_two_spin_readouts(["XZ"])
    with pytest.raises(T.ModelError, match="pulses = 'all' is not allowed"):
        T.nmr_two_spin_model("all")
    with pytest.raises(T.ModelError, match=r"matrix has shape \(3, 4\): \(n_lines ≥ 1, 3\) is required"):
        T.MeasurementModel(1, np.zeros((3, 4)), np.zeros(3), ("a", "b", "c"))
    with pytest.raises(T.ModelError, match="n_qubits = 0 is not allowed"):  # a model parameter: ModelError
        T.pauli_product_model(0)
    model = T.nmr_two_spin_model()
    a = np.zeros(72)
    with pytest.raises(T.DataError, match=r"amplitudes have shape \(71,\): \(72,\), one value per line"):
        T.linear_inversion(model, a[:71])
    bad = a.copy()
    bad[5] = np.nan
    with pytest.raises(T.DataError, match=r"amplitudes\[5\] = nan is not allowed"):
        T.weighted_least_squares(model, bad, 0.1)
    with pytest.raises(T.DataError, match=r"sigma\[0\] = 0.0 is not allowed: every noise level must be finite and > 0"):
        T.weighted_least_squares(model, a, 0.0)
    with pytest.raises(T.DataError, match=r"method = 'ml' is not allowed: one of linear, wls, pls, mle"):
        T.estimate(model, a, 0.1, "ml")
    with pytest.raises(T.DataError, match="tol = 0.1 is not allowed"):
        T.maximum_likelihood(model, a, 0.1, tol=0.1)
    assert issubclass(T.ModelError, T.TomographyError) and issubclass(T.TomographyError, ValueError)


# ------------------------------------------------------ properties of MLE
@settings(max_examples=30, deadline=None)
@given(seed=seeds, rank=st.integers(1, 4), log_sigma=st.floats(-3, -0.5))
def test_mle_minimises_chi2_over_states(seed, rank, log_sigma):
    # The MLE is a state whose χ² is no larger than that of any other state:
    # in particular PLS and the truth; its certified gap bounds the excess.
    rng = np.random.default_rng(seed)
    model = T.nmr_two_spin_model()
    rho = random_state(rng, 4, rank=rank)
    sigma = 10**log_sigma * rng.uniform(0.5, 2, size=model.n_lines)
    a = model.simulate(rho, sigma, seed=rng)
    mle = T.maximum_likelihood(model, a, sigma)
    pls = T.projected_least_squares(model, a, sigma)
    chi2_truth = float(np.sum(((a - model.predict(rho)) / sigma) ** 2))
    slack = 1e-9 * max(1.0, mle.chi2)
    assert mle.chi2 <= pls.chi2 + slack and mle.chi2 <= chi2_truth + slack
    assert mle.min_eigenvalue >= -1e-14 and mle.gap >= 0 and mle.distance_bound <= T.MLE_TOL


def test_blas_thread_limit_is_scoped_and_reentrant():
    from tomography import _blas

    with _blas.single_threaded_blas():
        inside = [get() for _, get in _blas._libs]
        with _blas.single_threaded_blas():
            pass
        assert [get() for _, get in _blas._libs] == inside
    assert _blas._depth == 0
    assert all(n == 1 for n in inside)
    assert [get() for _, get in _blas._libs] == _blas._saved


def test_complex_amplitudes_and_bad_seeds_are_refused():
    import pytest as _pytest

    from tomography import DataError, nmr_two_spin_model, linear_inversion
    from tomography.uncertainty import bootstrap

    m = nmr_two_spin_model("full9")
    amps = m.simulate(np.eye(4) / 4, sigma=0.01, seed=1)
    with _pytest.raises(DataError, match="amplitudes are complex"):
        linear_inversion(m, amps + 1e-3j)
    for seed in ("x", -1, 1.5, True):
        with _pytest.raises(DataError, match=r"seed = .* is not allowed"):
            bootstrap(m, amps, 0.01, seed=seed)
        with _pytest.raises(DataError, match=r"seed = .* is not allowed"):
            m.simulate(np.eye(4) / 4, sigma=0.01, seed=seed)
