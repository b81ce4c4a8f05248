"""DipolarModel: closed-form spectrum, Gibbs states, validation."""

import dataclasses
import math

import numpy as np
import pytest
import qutip
import scipy.linalg
from hypothesis import given, settings
from hypothesis import strategies as st

from nmrqb import DipolarModel, PhysicsError
from nmrqb.model import PAULI2, gibbs_batch, hamiltonian_batch, spectrum_batch

par = st.floats(min_value=-10, max_value=10, allow_nan=False, allow_infinity=False)
# Parameter sets with exact zeros mixed in, so the degenerate branches
# (κ1 = 0 or κ2 = 0, ties between blocks) are exercised too.
par_or_zero = st.one_of(st.just(0.0), par)
models = st.builds(DipolarModel, B=par_or_zero, D=par_or_zero, G=par_or_zero, Delta=par_or_zero, epsilon=par_or_zero)


@settings(max_examples=300, deadline=None)
@given(models)
def test_closed_form_spectrum_matches_eigvalsh(m):
    # Tolerance: |params| ≤ 10 so ||H|| ≲ 100; LAPACK's eigenvalue error is
    # ~eps·||H|| ≈ 2e-14, far inside 1e-12.
    h = m.hamiltonian_array()
    vals, vecs = m.spectrum_array()
    assert np.all(np.diff(vals) >= 0)
    np.testing.assert_allclose(vals, np.linalg.eigvalsh(h), rtol=0, atol=1e-12)
    np.testing.assert_allclose(vecs.conj().T @ vecs, np.eye(4), atol=1e-12)
    np.testing.assert_allclose(vecs.conj().T @ h @ vecs, np.diag(vals), atol=1e-12)


@settings(max_examples=50, deadline=None)
@given(models)
def test_spectrum_formulas_of_design_doc(m):
    # DESIGN.md §1: κ1 = sqrt(Δ²+9D²), κ2 = sqrt(B²+G²+ε²).
    k1 = math.sqrt(m.Delta**2 + 9 * m.D**2)
    k2 = math.sqrt(m.B**2 + m.G**2 + m.epsilon**2)
    expected = sorted(
        [-2 * (m.Delta + k1) / 3, 2 * (k1 - m.Delta) / 3, 2 * (m.Delta - 3 * k2) / 3, 2 * (m.Delta + 3 * k2) / 3]
    )
    vals, kets = m.spectrum()
    np.testing.assert_allclose(vals, expected, atol=1e-12)
    H = m.hamiltonian()
    for v, k in zip(vals, kets):
        assert k.isket and k.dims[0] == [2, 2]
        np.testing.assert_allclose((H * k).full(), v * k.full(), atol=1e-12)


@settings(max_examples=100, deadline=None)
@given(models)
def test_hamiltonian_is_the_design_doc_pauli_sum(m):
    p = PAULI2
    ref = (
        m.D * (p["XY"] - p["YX"])
        + m.G * (p["XY"] + p["YX"])
        + m.B * (p["ZI"] + p["IZ"])
        - ((m.Delta - 3 * m.epsilon) * p["XX"] + (m.Delta + 3 * m.epsilon) * p["YY"] - 2 * m.Delta * p["ZZ"]) / 3
    )
    np.testing.assert_allclose(m.hamiltonian_array(), ref, atol=1e-13)


def test_batched_closed_forms_match_the_single_model():
    rng = np.random.default_rng(0)
    pars = rng.uniform(-2, 2, size=(5, 7, 3))
    T = rng.uniform(0.1, 3, size=(7, 3))
    zeta = gibbs_batch(*pars, T)
    vals, vecs = spectrum_batch(*pars)
    assert zeta.shape == (7, 3, 4, 4) and vals.shape == (7, 3, 4) and vecs.shape == (7, 3, 4, 4)
    for i in range(7):
        for j in range(3):
            m = DipolarModel(*pars[:, i, j])
            np.testing.assert_allclose(zeta[i, j], m.gibbs_array(T[i, j]), atol=1e-15)
            np.testing.assert_allclose(vals[i, j], m.spectrum_array()[0], atol=1e-15)
            np.testing.assert_allclose(hamiltonian_batch(*pars)[i, j], m.hamiltonian_array(), atol=0)


def test_hamiltonian_matrix_elements():
    # Hand-derived elements (DESIGN.md §1): DQ block 2Δ/3 ± 2B on the
    # diagonal, <00|H|11> = 2ε − 2iG; ZQ block −2Δ/3, <01|H|10> = −2Δ/3 + 2iD.
    B, D, G, Dl, e = 0.3, -0.7, 1.1, 0.9, -0.4
    h = DipolarModel(B=B, D=D, G=G, Delta=Dl, epsilon=e).hamiltonian_array()
    expected = np.zeros((4, 4), complex)
    expected[0, 0], expected[3, 3] = 2 * Dl / 3 + 2 * B, 2 * Dl / 3 - 2 * B
    expected[0, 3] = 2 * e - 2j * G
    expected[3, 0] = np.conj(expected[0, 3])
    expected[1, 1] = expected[2, 2] = -2 * Dl / 3
    expected[1, 2] = -2 * Dl / 3 + 2j * D
    expected[2, 1] = np.conj(expected[1, 2])
    np.testing.assert_allclose(h, expected, atol=1e-15)
    H = DipolarModel(B=B).hamiltonian()
    assert H.dims == [[2, 2], [2, 2]] and H.isherm


def test_axial_part_is_secular_dipolar_hamiltonian():
    # DESIGN.md §1: (Δ/3)(2ZZ − XX − YY) = d(3 I1z I2z − I1·I2), I = σ/2, d = 4Δ/3.
    Dl = 0.77
    h = DipolarModel(Delta=Dl).hamiltonian_array()
    d = 4 * Dl / 3
    dip = d * (3 * PAULI2["ZZ"] - PAULI2["XX"] - PAULI2["YY"] - PAULI2["ZZ"]) / 4
    np.testing.assert_allclose(h, dip, atol=1e-15)


@pytest.mark.parametrize("T", [0.05, 0.3, 1.0, 4.0, 50.0])
@pytest.mark.parametrize(
    "params", [dict(Delta=1, epsilon=0.5), dict(B=1, D=0.4, G=0.3, Delta=-0.6, epsilon=0.2), dict()]
)
def test_gibbs_equals_matrix_exponential(params, T):
    m = DipolarModel(**params)
    h = m.hamiltonian_array()
    ref = scipy.linalg.expm(-h / T)
    ref /= np.trace(ref)
    rho = m.gibbs(T)
    assert rho.dims == [[2, 2], [2, 2]]
    np.testing.assert_allclose(rho.full(), ref, atol=1e-13)


@pytest.mark.parametrize(
    "params", [dict(Delta=1, epsilon=0.5), dict(B=2, D=1, G=0.3), dict(Delta=1), dict(), dict(D=1), dict(B=-1, Delta=3)]
)
def test_gibbs_extreme_temperatures(params):
    m = DipolarModel(**params)
    vals, vecs = m.spectrum_array()
    for T in (1e-6, 1e6):
        rho = m.gibbs_array(T)
        assert np.all(np.isfinite(rho))
        assert abs(np.trace(rho) - 1) < 1e-14
        assert np.linalg.eigvalsh(rho).min() > -1e-15
    # T → ∞: (I − H/T)/4 + O((||H||/T)²) = O(1e-12) for ||H|| ≲ 4.
    h = m.hamiltonian_array()
    first_order = (np.eye(4) - (h - np.trace(h) / 4 * np.eye(4)) / 1e6) / 4
    np.testing.assert_allclose(m.gibbs_array(1e6), first_order, atol=1e-11)
    # T → 0: the ground state, exactly degenerate ground levels weighted equally.
    ground = np.isclose(vals, vals[0], atol=1e-12, rtol=0)
    proj = vecs[:, ground] @ vecs[:, ground].conj().T / ground.sum()
    np.testing.assert_allclose(m.gibbs_array(1e-6), proj, atol=1e-12)


def test_gibbs_degenerate_ground_state_is_averaged():
    # All parameters zero: H = 0, every level degenerate → I/4 at any T.
    np.testing.assert_allclose(DipolarModel().gibbs_array(1e-6), np.eye(4) / 4, atol=1e-15)
    # D = 0, Delta = 0, kappa2 > 0: ZQ block levels at 0 are degenerate and lie
    # above v3 = -2 kappa2: ground state is the single DQ level.
    m = DipolarModel(B=1.0)
    np.testing.assert_allclose(m.gibbs_array(1e-6), np.diag([0, 0, 0, 1.0]), atol=1e-12)


@pytest.mark.parametrize("T", [0, -1.0, float("nan"), float("inf"), "1", None])
def test_gibbs_rejects_bad_temperature(T):
    with pytest.raises(PhysicsError, match="T = "):
        DipolarModel(Delta=1).gibbs(T)


@pytest.mark.parametrize("field", ["B", "D", "G", "Delta", "epsilon"])
@pytest.mark.parametrize("value", [float("nan"), float("inf"), "x", None, 1j, True])
def test_model_rejects_bad_parameters(field, value):
    with pytest.raises(PhysicsError, match=f"^{field} = .*finite real number"):
        DipolarModel(**{field: value})


def test_model_is_immutable_and_replaceable():
    m = DipolarModel(Delta=1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        m.B = 2
    m2 = dataclasses.replace(m, B=2)
    assert (m2.B, m2.Delta) == (2.0, 1.0) and m.B == 0.0
    assert isinstance(DipolarModel(B=np.float32(1)).B, float)


def test_charging_hamiltonian():
    H = DipolarModel().charging_hamiltonian(0.5)
    X, I = qutip.sigmax(), qutip.qeye(2)
    ref = 0.5 * (qutip.tensor(X, I) + qutip.tensor(I, X))
    assert H.dims == [[2, 2], [2, 2]]
    np.testing.assert_allclose(H.full(), ref.full(), atol=0)
    with pytest.raises(PhysicsError, match="omega"):
        DipolarModel().charging_hamiltonian(float("nan"))
