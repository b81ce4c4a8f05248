"""Hardening of the nmrqb core physics (issue 8): parameter ranges, round-off
bounds of the non-negative measures, average power on degenerate grids,
memory caps, and a hypothesis fuzz over every public function of
nmrqb.model, nmrqb.measures, nmrqb.battery and nmrqb.dephasing.

Contract under test: a valid result whose numbers are all finite, or an
``NmrqbError`` (``PhysicsError`` for these modules) with a one-line message
naming the parameter — never another exception type, a non-finite number or
a RuntimeWarning.
"""

from __future__ import annotations

import dataclasses
import math
import os
import subprocess
import sys
import warnings
from fractions import Fraction

import mpmath
import numpy as np
import pytest
import qutip
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nmrqb import DipolarModel, NmrqbError, PhysicsError
from nmrqb import battery, dephasing, measures, model
from nmrqb.battery import charge, charging_map
from nmrqb.dephasing import dephase, liouvillian
from nmrqb.model import (
    PARAMETER_LIMIT,
    check_temperature,
    gibbs_batch,
    gibbs_from_spectrum,
    hamiltonian_batch,
    spectrum_batch,
)

FIELDS = ("B", "D", "G", "Delta", "epsilon")
U = 2.0**-53
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# --------------------------------------------------------------------------
# the contract, as a helper
# --------------------------------------------------------------------------
def _all_finite(x, depth: int = 0) -> None:
    """Assert that every number reachable from a result is finite."""
    assert depth < 8
    if x is None or isinstance(x, (str, bool)):
        return
    if isinstance(x, (int, float, complex, np.number)):
        assert np.isfinite(x), x
    elif isinstance(x, np.ndarray):
        if x.dtype.kind in "fc":
            assert np.all(np.isfinite(x)), x
    elif isinstance(x, qutip.Qobj):
        assert np.all(np.isfinite(x.full()))
    elif isinstance(x, dict):
        for v in x.values():
            _all_finite(v, depth + 1)
    elif isinstance(x, (list, tuple)):  # NamedTuples too
        for v in x:
            _all_finite(v, depth + 1)
    elif dataclasses.is_dataclass(x):
        for f in dataclasses.fields(x):
            _all_finite(getattr(x, f.name), depth + 1)
        if isinstance(x, dephasing.DephasingResult):
            for prop in ("coherence", "concurrence", "discord"):
                _all_finite(getattr(x, prop), depth + 1)
        if isinstance(x, battery.BatteryTrace):
            _all_finite(x.maxima, depth + 1)
    elif isinstance(x, DipolarModel):
        _all_finite(x.as_dict(), depth + 1)
    else:  # pragma: no cover - a new result type must be added here
        raise AssertionError(f"unexpected result type {type(x).__name__}")


def outcome(f, *args, **kwargs):
    """Call f: return its (finite) result, or the NmrqbError it raised
    (one line).  Any other exception, and any warning, fails the test."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            res = f(*args, **kwargs)
            _all_finite(res)
        except NmrqbError as exc:
            msg = str(exc)
            assert msg and "\n" not in msg, repr(msg)
            return exc
    return res


def expect_error(name: str, f, *args, **kwargs) -> PhysicsError:
    """f must raise a one-line PhysicsError whose message names ``name``."""
    err = outcome(f, *args, **kwargs)
    assert isinstance(err, PhysicsError), f"expected PhysicsError, got {err!r}"
    assert name in str(err), f"{name!r} not named in: {err}"
    return err


# --------------------------------------------------------------------------
# 1. parameter ranges of the model
# --------------------------------------------------------------------------
@pytest.mark.parametrize("field", FIELDS)
@pytest.mark.parametrize(
    "value",
    [1e308, -1e308, 6e307, 1.0000001e150, -2e150, 10**400, -(10**400), Fraction(10**400), float("nan"),
     float("inf"), True, False, None, "1.0", 1j, np.complex128(1), np.array([1.0]), np.ones((2, 2)), [1.0], {}],
)
def test_model_rejects_out_of_range_and_wrong_types(field, value):
    err = expect_error(field, DipolarModel, **{field: value})
    assert str(err).startswith(f"{field} ")


def test_parameter_overflow_cases_of_the_issue_are_errors():
    expect_error("B", DipolarModel, B=1e308)
    expect_error("B", DipolarModel, B=10**400)
    expect_error("B", charging_map, "B", [1e308, 1], "D", [0, 1], [0, 1])
    expect_error("B", charging_map, "Delta", [0, 1], "D", [0, 1], [0, 1], B=1e308)
    expect_error("B", hamiltonian_batch, [1e308], 0, 0, 0, 0)
    expect_error("epsilon", spectrum_batch, 0, 0, 0, 0, [0, 10**400])
    expect_error("T", gibbs_batch, 0, 0, 0, 0, 0, [1.0, 0.0])
    expect_error("omega", DipolarModel().charging_hamiltonian, 1e200)


def test_accepted_types_and_the_inclusive_limit():
    m = DipolarModel(B=np.float32(0.5), D=np.int64(2), G=Fraction(1, 3), Delta=np.array(1.5), epsilon=-PARAMETER_LIMIT)
    assert m.as_dict() == {"B": 0.5, "D": 2.0, "G": 1 / 3, "Delta": 1.5, "epsilon": -1e150}
    assert all(type(v) is float for v in m.as_dict().values())


@pytest.mark.parametrize("scale", [1e-300, 1e-3, 1.0, 1e3, 1e100, 1e150])
@pytest.mark.parametrize("T", [5e-324, 1e-300, 1e-3, 1.0, 1e300, 1.7e308])
def test_everything_is_finite_up_to_the_limit(scale, T):
    m = DipolarModel(B=scale, D=-scale, G=scale, Delta=-scale, epsilon=scale)
    vals, vecs = outcome(m.spectrum_array)
    rho = outcome(m.gibbs_array, T)
    assert np.isfinite(vals).all() and np.isfinite(vecs).all() and np.isfinite(rho).all()
    assert np.trace(rho).real == pytest.approx(1.0, abs=1e-12)
    tr = outcome(charge, m, T, np.linspace(-PARAMETER_LIMIT, PARAMETER_LIMIT, 5))
    assert isinstance(tr, battery.BatteryTrace)
    tr = outcome(charge, m, T, [0.0, 1e-320, 1e-300, 0.3, 1.0])
    assert isinstance(tr, battery.BatteryTrace)
    for q in (measures.ergotropy, measures.capacity, measures.energy):
        assert np.isfinite(outcome(q, tr.rho, m)).all()


def test_map_at_the_limit_is_finite():
    axis = [-1e150, -1.0, 0.0, 1e-200, 1e150]
    for x, y in (("B", "D"), ("Delta", "epsilon"), ("G", "T")):
        yv = [1e-300, 1.0, 1e300] if y == "T" else axis
        cm = outcome(charging_map, x, axis, y, yv, [0.0, 1e-300, 0.5, 1e150], B=1e150, T=1e-300)
        assert isinstance(cm, battery.ChargingMap)
        assert (cm.max_ergotropy >= 0).all() and (cm.capacity >= 0).all()


def test_temperature_rules():
    assert check_temperature(5e-324) == 5e-324
    assert check_temperature(1.7e308) == 1.7e308
    for bad in (0, -1.0, float("inf"), float("nan"), True, None, "1", 10**400, [1.0]):
        expect_error("T", check_temperature, bad)


def test_gibbs_from_spectrum_validates():
    vals, vecs = DipolarModel(Delta=1.0, B=0.3).spectrum_array()
    rho, w = gibbs_from_spectrum(vals, vecs, 1.0)
    np.testing.assert_allclose(rho, DipolarModel(Delta=1.0, B=0.3).gibbs_array(1.0), atol=1e-15)
    expect_error("vals", gibbs_from_spectrum, [1.0, 2.0], vecs, 1.0)
    expect_error("vecs", gibbs_from_spectrum, vals, 2 * vecs, 1.0)
    expect_error("vecs", gibbs_from_spectrum, vals, "x", 1.0)
    expect_error("T", gibbs_from_spectrum, vals, vecs, -1.0)
    # huge but finite energies: exponents overflow to +inf, weight exactly 0
    r, w = outcome(gibbs_from_spectrum, [-1.7e308, 0.0, 1.0, 1.7e308], np.eye(4), 1e-300)
    assert w.tolist() == [1.0, 0.0, 0.0, 0.0]


# --------------------------------------------------------------------------
# 2. round-off bounds: ergotropy, capacity (and the other measures ≥ 0)
# --------------------------------------------------------------------------
mpmath.mp.dps = 60


def _mp_matrix(a):
    return mpmath.matrix([[mpmath.mpc(complex(a[i, j])) for j in range(a.shape[1])] for i in range(a.shape[0])])


def _mp_herm_eigs(a):
    e, _ = mpmath.mp.eighe(_mp_matrix(a))
    return sorted(e[i] for i in range(a.shape[0]))


def _mp_ergotropy_capacity(rho, h):
    """Ergotropy and capacity of (ρ_L, H) in 60-digit arithmetic, ρ_L the
    Hermitian matrix of ρ's real diagonal and lower triangle."""
    d = rho.shape[0]
    rl = np.tril(rho, -1)
    rl = rl + rl.conj().T + np.diag(rho.diagonal().real)
    lam = _mp_herm_eigs(rl)[::-1]  # decreasing
    eps = _mp_herm_eigs(h)  # increasing
    tr = mpmath.mpf(0)
    for i in range(d):
        for j in range(d):
            tr += (mpmath.mpc(complex(rl[i, j])) * mpmath.mpc(complex(h[j, i]))).real
    passive = sum(lam[k] * eps[k] for k in range(d))
    top = sum(lam[k] * eps[d - 1 - k] for k in range(d))
    return tr - passive, top - passive


def _states_at(m: DipolarModel, T: float, rng) -> np.ndarray:
    """Gibbs, charged, random and pure states (the hard cases for the sign)."""
    from randstates import random_state

    tr = charge(m, T, [0.0, 0.4, 1.1])
    ket = rng.normal(size=4) + 1j * rng.normal(size=4)
    ket /= np.linalg.norm(ket)
    return np.concatenate([tr.rho, random_state(rng, size=(3,)), np.outer(ket, ket.conj())[None], np.eye(4)[None] / 4])


@pytest.mark.parametrize("scale", [1e-3, 1.0, 1e3, 1e100, 1e150])
def test_ergotropy_and_capacity_are_nonnegative_and_within_the_stated_bound(scale):
    rng = np.random.default_rng(int(math.log10(scale) + 400))
    for k in range(3):
        p = rng.uniform(-1, 1, size=5) * scale
        m = DipolarModel(*p)
        h = m.hamiltonian_array()
        for T in (1e-3 * scale, scale, 1e3 * scale):
            rho = _states_at(m, T, rng)
            erg = measures.ergotropy(rho, h)
            cap = measures.capacity(rho, h)
            assert (erg >= 0).all() and (cap >= 0).all()
            _, e_raw, beta_e, _ = measures._ergotropy_and_bound(rho, h)
            _, q_raw, beta_q, _ = measures._capacity_and_bound(rho, h)
            # the bound is tiny relative to the scale of H (≈ 1e-12·‖H‖)
            assert (beta_e <= 1e-11 * np.abs(h).max() * 4).all()
            for i in range(rho.shape[0]):
                e_ref, q_ref = _mp_ergotropy_capacity(rho[i], h)
                assert abs(erg[i] - float(e_ref)) <= beta_e[i], (scale, T, i, erg[i], float(e_ref), beta_e[i])
                assert abs(cap[i] - float(q_ref)) <= beta_q[i], (scale, T, i, cap[i], float(q_ref), beta_q[i])
                assert abs(e_raw[i] - float(e_ref)) <= beta_e[i]


def test_ergotropy_clips_round_off_and_rejects_beyond_the_bound(monkeypatch):
    # The issue's cases: −4.5e-13 at parameters 1e3 and −4.8e139 at 1e155.
    m = DipolarModel(B=1e3, D=1e3, G=1e3, Delta=1e3, epsilon=1e3)
    for T in (1e-3, 1.0, 1e3, 1e6):
        assert measures.ergotropy(m.gibbs_array(T), m) >= 0.0
    expect_error("B", DipolarModel, B=1e155)
    expect_error("H", measures.ergotropy, np.eye(4) / 4, np.eye(4) * 1e155)
    # A value below −β (cannot happen for consistent input) is an error:
    real = measures._passive_energy_parts

    def broken(rho, H, atol):
        a, e_now, e_passive, e_max, single, parts = real(rho, H, atol)
        return a, e_now - 1.0, e_passive, e_max, single, parts

    monkeypatch.setattr(measures, "_passive_energy_parts", broken)
    err = expect_error("ergotropy", measures.ergotropy, np.eye(4) / 4, m)
    assert "round-off bound" in str(err)


@pytest.mark.parametrize("scale", [1e-3, 1.0, 1e3, 1e100, 1e150])
def test_charging_ergotropy_is_within_its_bound_of_a_60_digit_reference(scale):
    rng = np.random.default_rng(7 + int(math.log10(scale)))
    tau = np.array([0.0, 1e-9, 0.3, math.pi / 4, 2.0])
    for k in range(3):
        p = rng.uniform(-1, 1, size=5) * scale
        m = DipolarModel(*p)
        h = m.hamiltonian_array()
        beta = battery._ROUNDOFF * np.abs(h).max()
        hm = _mp_matrix(h)
        e, v = mpmath.mp.eighe(hm)
        order = sorted(range(4), key=lambda i: e[i])
        for T in (1e-2 * scale, scale, 1e2 * scale):
            tr = charge(m, T, tau)
            cm = charging_map("B", [m.B, m.B], "T", [T, T], tau, D=m.D, G=m.G, Delta=m.Delta, epsilon=m.epsilon)
            w = [mpmath.exp(-(e[i] - e[order[0]]) / T) for i in range(4)]
            z = sum(w)
            zeta = mpmath.matrix(4, 4)
            for i in range(4):
                col = v[:, i]
                zeta += (w[i] / z) * (col * col.H)
            passive = sum(w[i] / z * e[i] for i in range(4))
            for j, t in enumerate(tau):
                c, s = mpmath.cos(t), mpmath.sin(t)
                r = mpmath.matrix([[c, -1j * s], [-1j * s, c]])
                u = mpmath.matrix(4, 4)
                for a in range(2):
                    for b in range(2):
                        for cc in range(2):
                            for dd in range(2):
                                u[2 * a + cc, 2 * b + dd] = r[a, b] * r[cc, dd]
                rho = u * zeta * u.H
                ref = float(sum((rho * hm)[i, i] for i in range(4)).real - passive)
                assert ref >= -1e-40 * scale
                assert tr.ergotropy[j] >= 0 and tr.work[j] >= 0
                assert abs(tr.ergotropy[j] - ref) <= beta, (scale, T, t, tr.ergotropy[j], ref, beta)
                assert abs(tr.work[j] - ref) <= beta
            assert abs(cm.max_ergotropy[0, 0] - tr.ergotropy.max()) <= beta
            assert abs(cm.capacity[0, 0] - tr.capacity[0]) <= 2 * beta + 1e-11 * np.abs(h).max()


def test_entropic_measures_are_clipped_at_zero():
    pure = np.zeros((4, 4))
    pure[0, 0] = 1.0
    bell = np.zeros((4, 4))
    bell[0, 0] = bell[0, 3] = bell[3, 0] = bell[3, 3] = 0.5
    product = np.kron(np.diag([0.7, 0.3]), np.diag([0.4, 0.6]))
    for rho in (pure, bell, product, np.eye(4) / 4):
        for f in (measures.discord, measures.mutual_information, measures.von_neumann_entropy,
                  measures.l1_coherence, measures.concurrence):
            v = outcome(f, rho)
            assert isinstance(v, float) and v >= 0.0 and math.copysign(1, v) == 1.0
    # a state accepted within atol (eigenvalue −5e-9) keeps every measure ≥ 0
    rho = np.diag([1.0 + 5e-9, -5e-9, 0.0, 0.0])
    for f in (measures.discord, measures.mutual_information, measures.von_neumann_entropy):
        assert outcome(f, rho) >= 0.0
    assert measures.von_neumann_entropy(np.eye(4) / 4, base=math.e) == pytest.approx(math.log(4))
    for base in (1, 0.5, 0, -2, float("inf"), float("nan"), "2", None, True, 10**400):
        expect_error("base", measures.von_neumann_entropy, np.eye(4) / 4, base=base)
    for atol in (-1e-9, 2.0, float("nan"), "x", None, True):
        expect_error("atol", measures.l1_coherence, np.eye(4) / 4, atol=atol)


def test_discord_of_near_pure_states_emits_no_warning():
    # Found by the fuzz: the dephased |00> of a model at the parameter limit
    # has off-diagonal entries ~1e-200; the discord optimiser's Hessian then
    # overflows internally (handled) and must not warn.
    res = outcome(dephase, DipolarModel(G=1e150, Delta=1.0, epsilon=-1e150), [1, 0, 0, 0], [0.0], 0.2)
    assert res.discord.tolist() == [0.0]
    rho = np.diag([1.0, 0, 0, 0]).astype(complex)
    rho[0, 3] = rho[3, 0] = 1e-200
    rho[3, 3] = 1e-300
    assert outcome(measures.discord, rho) >= 0.0


def test_hamiltonians_with_subnormal_or_limit_entries():
    for e in (5e-324, 1e-310, 1.0, 1e150):
        m = DipolarModel(epsilon=e, B=e / 3)
        for f in (measures.ergotropy, measures.capacity, measures.energy, measures.passive_state):
            outcome(f, np.diag([0.7, 0.2, 0.1, 0.0]), m)
    h = np.diag([1e152, 0, 0, -1e152])
    assert outcome(measures.capacity, np.diag([1.0, 0, 0, 0]), h) == 2e152
    expect_error("H", measures.capacity, np.diag([1.0, 0, 0, 0]), h * 1.01)


# --------------------------------------------------------------------------
# 3. average power on degenerate grids
# --------------------------------------------------------------------------
def test_map_on_a_grid_without_nonzero_omega_t_is_an_error():
    for grid in ([0.0], [0.0, 0.0], 0.0, [-0.0]):
        err = expect_error("omega_t", charging_map, "Delta", [0, 1], "D", [0, 1], grid, epsilon=0.5)
        assert "Ωt ≠ 0" in str(err)
    cm = charging_map("Delta", [0, 1], "D", [0, 1], [0.0, 0.5], epsilon=0.5)
    assert np.isfinite(cm.max_average_power).all()


def test_charge_at_omega_t_zero_is_finite_and_defined():
    m = DipolarModel(Delta=1, epsilon=0.5, B=0.2)
    tr = outcome(charge, m, 1.0, [0.0])
    assert tr.average_power.tolist() == [0.0]  # the limit of W/Ωt
    assert tr.efficiency.tolist() == [1.0]  # W ≡ E: continuous extension
    beta = battery._ROUNDOFF * np.abs(m.hamiltonian_array()).max()
    assert 0 <= tr.ergotropy[0] <= beta and 0 <= tr.work[0] <= beta  # ζ is passive: 0 up to round-off
    assert tr.maximum("average_power") == (0.0, 0.0)
    # W/Ωt at tiny Ωt: finite and → 0, no 1/Ωt blow-up of the round-off
    tr = outcome(charge, m, 1.0, [-1e-300, 1e-300, 1e-12, 1e-6])
    assert np.abs(tr.average_power).max() < 1e-5
    # with H = 0 and I/4 (T → ∞) nothing moves, efficiency stays 1
    tr = outcome(charge, DipolarModel(), 1.0, np.linspace(0, 3, 7))
    assert (tr.efficiency == 1.0).all() and (tr.ergotropy == 0).all()


def test_average_power_matches_work_over_omega_t():
    m = DipolarModel(B=0.7, D=0.3, G=-0.4, Delta=-1.2, epsilon=0.25)
    tau = np.linspace(-3, 3, 41)
    tau = tau[tau != 0]
    tr = charge(m, 0.7, tau)
    np.testing.assert_allclose(tr.average_power, tr.work / tau, rtol=1e-12, atol=1e-14)


# --------------------------------------------------------------------------
# 4. memory caps, refused up front
# --------------------------------------------------------------------------
def test_oversized_requests_are_refused_up_front():
    big = np.broadcast_to(np.float64(0.5), (10**6,))  # a view: no memory
    err = expect_error("x_values × y_values", charging_map, "Delta", big, "D", big, [0.0, 1.0])
    assert "would need" in str(err) and "TiB" in str(err)
    huge_t = range(10**9)  # refused by its length, before any conversion
    err = expect_error("omega_t", charging_map, "Delta", [0, 1], "D", [0, 1], huge_t)
    assert "would need" in str(err)
    err = expect_error("omega_t", charge, DipolarModel(), 1.0, huge_t)
    assert "would need" in str(err)
    err = expect_error("omega_t", charge, DipolarModel(), 1.0, np.broadcast_to(1.0, (10**9,)))
    err = expect_error("times", dephase, DipolarModel(), [1, 0, 0, 0], huge_t)
    assert "would need" in str(err)
    err = expect_error("Delta", charging_map, "Delta", range(10**9), "D", [0, 1], [0, 1])
    expect_error("chunk_bytes", charging_map, "Delta", [0, 1], "D", [0, 1], [0, 1], chunk_bytes=10**12)
    expect_error("chunk_bytes", charging_map, "Delta", [0, 1], "D", [0, 1], [0, 1], chunk_bytes=True)
    expect_error("B, D, G, Delta, epsilon", hamiltonian_batch, big, big[:, None], 0, 0, 0)
    states = np.broadcast_to(np.eye(4) / 4, (10**5, 4, 4))
    hams = np.broadcast_to(np.eye(4), (10**5, 1, 4, 4))
    expect_error("rho, H", measures.ergotropy, states, hams)


def test_dephasing_at_unreliable_times_is_an_error_not_a_wrong_state():
    m = DipolarModel(B=0.3, D=0.7, G=0.2, Delta=1.1, epsilon=0.4)
    ket = np.ones(4) / 2
    res = outcome(dephase, m, ket, [0.0, 1.0, 1e6], 0.0)
    assert isinstance(res, dephasing.DephasingResult)
    expect_error("times", dephase, m, ket, [0.0, 1e150], 0.0)
    expect_error("times", dephase, m, ket, [0.0, 1e150], 0.2, method="expm")
    res = outcome(dephase, m, ket, [0.0, 1e150], 0.2)  # fully dephased: the steady state
    assert isinstance(res, dephasing.DephasingResult)
    expect_error("times", dephase, m, ket, [0.0, 1e151], 0.2)
    expect_error("gamma", dephase, m, ket, [0.0], 1e151)
    expect_error("gamma", liouvillian, m, float("nan"))
    expect_error("method", dephase, m, ket, [0.0], 0.2, method=["eig"])
    expect_error("rho0", dephase, m, [10**400, 0, 0, 0], [0.0])


# --------------------------------------------------------------------------
# 5. hypothesis fuzz: arbitrary JSON-like values in every argument
# --------------------------------------------------------------------------
_SPECIAL = [None, True, False, 0, 1, -1, 0.5, 1e-3, float("nan"), float("inf"), float("-inf"), 1e308, -1e308,
            1e150, -1e150, 1.5e150, 5e-324, 10**400, -(10**400), 2**64, "x", "", "1.0", "T", "B", "auto"]
leaf = st.one_of(
    st.sampled_from(_SPECIAL),
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.floats(),
    st.text(max_size=4),
)
json_like = st.recursive(
    leaf,
    lambda kids: st.one_of(st.lists(kids, max_size=5), st.dictionaries(st.text(max_size=3), kids, max_size=3)),
    max_leaves=20,
)
reals = st.one_of(
    st.floats(min_value=-2e150, max_value=2e150),
    st.sampled_from([0.0, 1.0, -1.0, 1e150, -1e150, 1e-300, 3.0]),
)
pos = st.one_of(st.floats(min_value=5e-324, max_value=1.7e308), st.sampled_from([1.0, 0.1, 1e-300, 1e300]))
grids = st.lists(st.one_of(reals, st.sampled_from([0.0, math.pi / 4])), min_size=1, max_size=5)
small = st.floats(min_value=0.0, max_value=10.0)
good_grids = st.lists(st.one_of(small, st.floats(-10, 10), st.sampled_from([0.0, 1e-300, 1e150])), min_size=1,
                      max_size=5)
seeds = st.integers(min_value=0, max_value=2**31)


valid_reals = st.one_of(
    st.floats(min_value=-PARAMETER_LIMIT, max_value=PARAMETER_LIMIT),
    st.sampled_from([0.0, 1.0, -1.0, 1e150, -1e150, 1e-300, 3.0]),
)


@st.composite
def models(draw):
    return DipolarModel(**{f: draw(valid_reals) for f in FIELDS})


@st.composite
def states(draw):
    """A valid state (random, Gibbs or charged), sometimes a batch, or a
    nearly-valid matrix (wrong trace, non-Hermitian, huge or odd entries)."""
    from randstates import random_state

    rng = np.random.default_rng(draw(seeds))
    kind = draw(st.sampled_from(["random", "gibbs", "pure", "batch", "garbage", "list"]))
    if kind == "random":
        return random_state(rng)
    if kind == "gibbs":
        return draw(models()).gibbs(draw(pos))
    if kind == "pure":
        k = np.zeros(4)
        k[draw(st.integers(0, 3))] = 1
        return np.outer(k, k)
    if kind == "batch":
        return random_state(rng, size=(draw(st.integers(0, 3)),))
    if kind == "list":
        return random_state(rng).tolist()
    with np.errstate(over="ignore"):
        a = rng.normal(size=(4, 4)) * draw(st.sampled_from([1e-300, 1.0, 1e150, 1e200, 1e308]))
    a[draw(st.integers(0, 3)), draw(st.integers(0, 3))] = draw(st.floats())
    return a


@st.composite
def hamiltonians(draw):
    kind = draw(st.sampled_from(["model", "array", "qobj", "garbage"]))
    m = draw(models())
    if kind == "model":
        return m
    if kind == "array":
        return m.hamiltonian_array()
    if kind == "qobj":
        return m.hamiltonian()
    return np.full((4, 4), draw(st.floats()))


def arg(plausible, odds: int = 3):
    """Mostly plausible values (so that the deep code paths run), else
    arbitrary JSON-like ones (one time in ``odds + 1``)."""
    return st.integers(0, odds).flatmap(lambda k: json_like if k == 0 else plausible)


FUZZ = settings(max_examples=120, deadline=15000, suppress_health_check=list(HealthCheck), database=None)


@FUZZ
@given(st.fixed_dictionaries({f: arg(reals) for f in FIELDS}), arg(pos), arg(reals))
def test_fuzz_model(params, T, omega):
    m = outcome(DipolarModel, **params)
    if isinstance(m, DipolarModel):
        for f in (m.hamiltonian, m.spectrum, m.spectrum_array, m.as_dict):
            outcome(f)
        outcome(m.gibbs, T)
        outcome(m.gibbs_array, T)
        outcome(m.charging_hamiltonian, omega)
        outcome(m.charging_hamiltonian_array, omega)
    outcome(check_temperature, T)


@FUZZ
@given(st.lists(arg(st.one_of(valid_reals, good_grids, reals, grids), 9), min_size=6, max_size=6),
       arg(st.lists(reals, min_size=4, max_size=4)), arg(st.just(np.eye(4))))
def test_fuzz_model_batches(p, vals, vecs):
    outcome(hamiltonian_batch, *p[:5])
    outcome(spectrum_batch, *p[:5])
    outcome(gibbs_batch, *p)
    outcome(gibbs_from_spectrum, vals, vecs, p[5])


MEASURES_1 = [measures.l1_coherence, measures.concurrence, measures.discord, measures.von_neumann_entropy,
              measures.mutual_information]
MEASURES_2 = [measures.energy, measures.ergotropy, measures.capacity, measures.passive_state]


@FUZZ
@given(arg(states()), arg(hamiltonians()), arg(st.sampled_from([1e-8, 0.0, 1e-6, 1.0])),
       arg(st.sampled_from([2.0, math.e, 10.0])))
def test_fuzz_measures(rho, H, atol, base):
    for f in MEASURES_1:
        outcome(f, rho)
        outcome(f, rho, atol=atol)
    outcome(measures.von_neumann_entropy, rho, base)
    for f in MEASURES_2:
        outcome(f, rho, H)
        outcome(f, rho, H, atol=atol)


@FUZZ
@given(arg(models()), arg(pos), arg(grids), arg(st.sampled_from(["ergotropy", "power", "average_power"])))
def test_fuzz_charge(m, T, tau, name):
    tr = outcome(charge, m, T, tau)
    if isinstance(tr, battery.BatteryTrace):
        outcome(tr.maximum, name)


@st.composite
def axis_pair(draw):
    x, y = draw(st.permutations(battery.MAP_PARAMETERS))[:2]
    vals = [draw(st.one_of(good_grids, grids)) for _ in range(2)]
    vals = [[abs(v) + 1e-3 for v in vv] if n == "T" and draw(st.booleans()) else vv for n, vv in zip((x, y), vals)]
    return x, vals[0], y, vals[1]


@FUZZ
@given(
    axis_pair(), st.lists(arg(st.sampled_from(battery.MAP_PARAMETERS), 9), min_size=2, max_size=2),
    st.lists(st.one_of(arg(grids, 9), arg(good_grids, 9)), min_size=3, max_size=3),
    st.fixed_dictionaries({}, optional={f: arg(valid_reals, 9) for f in FIELDS} | {"T": arg(pos, 9)}),
    arg(st.sampled_from([12 << 20, 1, 4096]), 9), st.booleans(),
)
def test_fuzz_charging_map(axes, names, values, fixed, chunk, mix):
    xn, xv, yn, yv = axes
    if mix:  # arbitrary names and values, not only well-formed axes
        xn, yn = names
        xv, yv = values[:2]
    outcome(charging_map, xn, xv, yn, yv, values[2], chunk_bytes=chunk, **fixed)


@FUZZ
@given(arg(models(), 7), arg(st.one_of(states(), st.sampled_from([[1, 0, 0, 0], [0.5, 0.5, 0.5, 0.5]])), 7),
       arg(st.one_of(st.lists(small, min_size=1, max_size=4), st.lists(st.one_of(pos, st.just(0.0)), min_size=1,
                                                                           max_size=4)), 7),
       arg(st.sampled_from([0.0, 0.2, 1e-300, 1e150]), 7), arg(st.sampled_from(["auto", "eig", "expm"]), 7))
def test_fuzz_dephasing(m, rho0, times, gamma, method):
    outcome(dephase, m, rho0, times, gamma, method=method)
    outcome(liouvillian, m, gamma)


# 6. benchmarks: their --quick mode is run by tests/test_benchmarks_quick.py


def test_dephase_eig_with_dependent_eigenvectors_falls_back_to_expm():
    """Found by test_fuzz_dephasing: D = G = 1, γ = 0 gives numpy.eig a
    singular eigenvector matrix; method='eig' fell over with LinAlgError."""
    m = DipolarModel(B=0.0, D=1.0, G=1.0, Delta=0.0, epsilon=0.0)
    r = dephase(m, [1, 0, 0, 0], [0.0, 0.7], 0.0, method="eig")
    ref = dephase(m, [1, 0, 0, 0], [0.0, 0.7], 0.0, method="expm")
    assert r.method == "expm"
    np.testing.assert_allclose(r.rho, ref.rho, atol=1e-14)
