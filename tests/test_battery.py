"""Charging traces and maps: exactness against matrix exponentials, the
Must-show identities of the charging issue, and bounded memory."""

import math
import tracemalloc

import numpy as np
import pytest
import scipy.linalg

from nmrqb import DipolarModel, PhysicsError
from nmrqb import measures as M
from nmrqb.battery import charge, charging_map

MODELS = [
    DipolarModel(Delta=1, epsilon=0.5),
    DipolarModel(B=0.7, D=0.3, G=-0.4, Delta=-1.2, epsilon=0.25),
    DipolarModel(B=2.0, Delta=1.0, epsilon=0.1),
    DipolarModel(D=1.5, G=0.5, Delta=3.0),
    DipolarModel(),
]
TEMPS = [0.2, 1.0, 4.0]


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("T", TEMPS)
def test_states_equal_matrix_exponential_propagation(model, T):
    tau = np.linspace(-1.0, 4.0, 23)
    tr = charge(model, T, tau)
    k = model.charging_hamiltonian_array(1.0)
    zeta = model.gibbs_array(T)
    for t, rho in zip(tau, tr.rho):
        u = scipy.linalg.expm(-1j * k * t)
        np.testing.assert_allclose(rho, u @ zeta @ u.conj().T, atol=1e-13)
    assert tr.states[3].dims == [[2, 2], [2, 2]]


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("T", TEMPS)
def test_must_show_identities(model, T):
    tau = np.linspace(0.0, math.pi, 401)
    tr = charge(model, T, tau)
    h = model.hamiltonian_array()
    # At Ωt = 0: E = W = P = 0 and the state is the Gibbs state.
    np.testing.assert_allclose(tr.rho[0], model.gibbs_array(T), atol=1e-15)
    scale = max(1.0, np.abs(h).max())
    assert abs(tr.ergotropy[0]) < 1e-13 * scale
    assert abs(tr.work[0]) < 1e-13 * scale
    assert abs(tr.power[0]) < 1e-13 * scale
    # Capacity is constant along the trace (computed from each state).
    assert np.ptp(tr.capacity) < 1e-12
    # Ergotropy of each state agrees with the measure; W = E for a passive start.
    np.testing.assert_allclose(tr.ergotropy, M.ergotropy(tr.rho, h), atol=1e-12)
    np.testing.assert_allclose(tr.work, tr.ergotropy, atol=1e-12)
    np.testing.assert_allclose(tr.coherence, M.l1_coherence(tr.rho), atol=1e-12)
    # Power: the exact commutator form Tr[−i[XI+IX, ρ] H].
    k = model.charging_hamiltonian_array(1.0)
    comm = np.einsum("tij,ji->t", -1j * (k @ tr.rho - tr.rho @ k), h).real
    np.testing.assert_allclose(tr.power, comm, atol=1e-12)


@pytest.mark.parametrize("model", MODELS[:4])
def test_power_equals_centred_difference_of_ergotropy(model):
    tau = np.linspace(0.05, 3.0, 60)
    h = 1e-4
    tr = charge(model, 1.0, tau)
    up = charge(model, 1.0, tau + h).ergotropy
    down = charge(model, 1.0, tau - h).ergotropy
    # Centred difference error ~ h² E'''/6 ≲ 1e-8·|E'''|; 1e-6 is the bound.
    np.testing.assert_allclose(tr.power, (up - down) / (2 * h), atol=1e-6)


def test_efficiency_and_average_power():
    tau = np.linspace(0.0, math.pi, 101)
    tr = charge(DipolarModel(Delta=1, epsilon=0.5), 1.0, tau)
    # W ≡ E for the passive Gibbs start: the efficiency is 1 everywhere,
    # including Ωt = 0 where W/E is 0/0 (its continuous extension; never NaN).
    assert np.all(np.isfinite(tr.efficiency))
    np.testing.assert_allclose(tr.efficiency, 1.0, atol=1e-12)
    assert tr.average_power[0] == 0.0  # the limit of W/Ωt at Ωt = 0
    # W/Ωt is evaluated with the division done analytically (no 1/Ωt blow-up
    # of the round-off in W): equal to work/Ωt up to that round-off.
    np.testing.assert_allclose(tr.average_power[1:], tr.work[1:] / tau[1:], rtol=1e-12, atol=1e-13)


def test_maxima_report_value_and_position():
    tau = np.linspace(0.0, math.pi, 2001)
    tr = charge(DipolarModel(Delta=1, epsilon=0.5), 1.0, tau)
    mx = tr.maxima
    assert mx["ergotropy"].value == pytest.approx(tr.ergotropy.max())
    # B = D = G = 0: the ergotropy peaks at Ωt = π/4 (paper Sec. IV B).
    assert mx["ergotropy"].omega_t == pytest.approx(math.pi / 4, abs=2e-3)
    with pytest.raises(PhysicsError, match="metric 'spin'"):
        tr.maximum("spin")


@pytest.mark.parametrize(
    "args, message",
    [
        ((DipolarModel(), 0.0, [0, 1]), "T = 0.0"),
        ((DipolarModel(), 1.0, [0, float("nan")]), "omega_t contains nan: every value must be finite"),
        ((DipolarModel(), 1.0, []), "non-empty"),
        (("model", 1.0, [0, 1]), "DipolarModel"),
    ],
)
def test_charge_rejects_bad_input(args, message):
    with pytest.raises(PhysicsError, match=message):
        charge(*args)


def test_map_agrees_with_single_traces():
    tau = np.linspace(0, math.pi, 257)
    x = np.linspace(-3, 3, 7)
    y = np.linspace(0.2, 3.0, 5)
    cm = charging_map("Delta", x, "T", y, tau, B=0.3, D=0.2, G=0.1, epsilon=0.5, chunk_bytes=50_000)
    assert cm.max_ergotropy.shape == (5, 7)
    assert cm.fixed == {"B": 0.3, "D": 0.2, "G": 0.1, "epsilon": 0.5}
    for j, T in enumerate(y):
        for i, d in enumerate(x):
            tr = charge(DipolarModel(B=0.3, D=0.2, G=0.1, Delta=d, epsilon=0.5), T, tau)
            assert cm.max_ergotropy[j, i] == pytest.approx(tr.ergotropy.max(), abs=1e-12)
            assert cm.max_power[j, i] == pytest.approx(tr.power.max(), abs=1e-12)
            assert cm.max_coherence[j, i] == pytest.approx(tr.coherence.max(), abs=1e-12)
            assert cm.capacity[j, i] == pytest.approx(tr.capacity[0], abs=1e-12)
            for q in ("ergotropy", "power", "coherence", "average_power"):
                series = getattr(tr, q)
                assert getattr(cm, f"max_{q}")[j, i] == pytest.approx(series.max(), abs=1e-12)
                # same first-reached rule in the map and the trace
                assert getattr(cm, f"argmax_{q}")[j, i] == tr.maximum(q).omega_t


def test_map_memory_is_bounded_by_chunking():
    # 101 × 101 points × 1000 Ωt would need ~1 GB unchunked (96 B per point
    # and time); the default 12 MiB chunks keep the peak far below that.
    tau = np.linspace(0, math.pi, 1000)
    axis = np.linspace(-2, 2, 101)
    tracemalloc.start()
    charging_map("Delta", axis, "G", axis, tau, epsilon=0.5)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 64 * 2**20, f"peak {peak / 2**20:.1f} MiB"


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(x_name="Omega"), "map axis 'Omega'"),
        (dict(y_name="Delta"), "map axes must differ"),
        (dict(y_name="T", y_values=[1.0, -1.0]), r"T contains -1.0: every value must be finite and > 0"),
        (dict(x_values=[]), "non-empty"),
        (dict(B=float("nan")), "B = nan"),
    ],
)
def test_map_rejects_bad_input(kwargs, message):
    args = dict(x_name="Delta", x_values=[0, 1], y_name="D", y_values=[0, 1], omega_t=[0, 1])
    args.update(kwargs)
    with pytest.raises(PhysicsError, match=message):
        charging_map(**args)
