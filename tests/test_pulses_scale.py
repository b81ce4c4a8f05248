"""The simulator at NMR-processor scale (issue 13): the sparse engine, the
Taylor kernel, the free-evolution blocks, streaming under max_cache_mib,
and 7 spins.

The two engines share nothing but the spin system's description: the dense
one exponentiates (4ⁿ+1)² propagators of the dense generator, the sparse one
builds its generator term by term in the Pauli basis and evolves freely in the
product basis.  Against each other they must agree to rounding; against
independent references (qutip-qip's model propagated by scipy, a closed-form
weak-coupling FID) to 1e-9 of the signal.
"""

import math
import tracemalloc

import numpy as np
import pytest

import pulses._liouville as LV
from pulses.errors import SimulationError
from pulses.qip import expm_processor, to_processor
from pulses.sequence import Acquire, Delay, Gradient, Pulse, Sequence, ShapedPulse
from pulses.simulate import Distribution, Simulator, _sparse_free_terms, _sparse_rf_terms
from pulses.spinsystem import Coupling, Spin, SpinSystem


def hetero(n, temperature_k=298.15, seed=0, weak=False):
    """n spins alternating 1H/13C, every pair J-coupled, T1/T2."""
    rng = np.random.default_rng(seed)
    isos = ["1H", "13C", "1H", "13C", "1H", "13C", "1H"][:n]
    spins = tuple(Spin(iso, offset_hz=float(rng.uniform(-900, 900)), t1_s=float(rng.uniform(0.5, 2)),
                       t2_s=float(rng.uniform(0.05, 0.3))) for iso in isos)
    cps = tuple(Coupling(i, j, float(rng.uniform(5, 150)), weak=weak) for i in range(n) for j in range(i + 1, n))
    return SpinSystem(spins, cps, proton_mhz=400.0, temperature_k=temperature_k)


def dipolar_pair():
    return SpinSystem(
        (Spin("1H", offset_hz=40.0, t1_s=1.0), Spin("1H", offset_hz=-60.0, t1_s=1.2), Spin("13C", offset_hz=25.0,
                                                                                           t1_s=2.0, t2_s=0.1)),
        (Coupling(0, 1, 1500.0, kind="dipolar", t1d_s=0.05), Coupling(1, 2, 120.0)),
        proton_mhz=400.0,
    )


def random_control(seed, steps, channels=("1H", "13C"), dt=2e-6, amp=12e3):
    rng = np.random.default_rng(seed)
    c = {ch: (rng.uniform(-amp, amp, steps), rng.uniform(-amp, amp, steps)) for ch in channels}
    return ShapedPulse.from_xy(steps * dt, c, label="control")


def every_element(seed=1):
    return Sequence(
        (
            Pulse(flip_deg=90, duration_s=1e-5, shape="gaussian", steps=8, phase_deg=30),
            Delay(duration_s=3e-5),
            random_control(seed, 20),
            Pulse(flip_deg=45, hard=True, channels=("13C",), phase_deg=70),
            Delay(duration_s=2e-3),
            Pulse(flip_deg=60, duration_s=1e-5, spins=(0,)),
            Gradient(),
            Pulse(flip_deg=90, hard=True, channels=("1H", "13C"), spins=(0, 1)),
            Acquire(points=64, dwell_s=2e-4),
            Pulse(flip_deg=30, duration_s=4e-6, channels=("1H",)),
            Acquire(points=16, dwell_s=1e-4),
        ),
        phase_cycle=({"pulse_phases_deg": [0, 0, 0, 0, 0, 0], "receiver_phase_deg": 0},
                     {"pulse_phases_deg": [180, 90, 0, 0, 0, 0], "receiver_phase_deg": 180}),
    )


def deviation(system):
    return float(np.abs(system.thermal_state() - np.eye(system.dim) / system.dim).max())


def assert_same(a, b, scale, tol):
    assert np.abs(a.final_state - b.final_state).max() / scale <= tol
    assert a.fids.keys() == b.fids.keys()
    for ch in a.fids:
        for fa, fb in zip(a.fids[ch], b.fids[ch]):
            assert np.abs(fa.data - fb.data).max() / scale <= tol


# ---------------------------------------------------- the sparse generator
@pytest.mark.parametrize("system", [hetero(3), dipolar_pair()], ids=["hetero", "dipolar+T1D"])
def test_sparse_generator_is_the_dense_one(system):
    # The Pauli-basis generator built term by term (sparse) equals the dense
    # engine's, W†(−i[H,·] + D)W augmented by the T1D constant, entry by entry.
    dense = Simulator(system, method="dense")
    (g0, gz) = _sparse_free_terms(system, True)
    for offset in (0.0, 37.5):
        pat = LV.Pattern(4**system.n + 1, [g0, gz])
        a = np.zeros((pat.width, pat.width))
        rows = np.repeat(np.arange(pat.width), np.diff(pat.indptr))
        a[rows, pat.indices] = pat.data[0] + offset * pat.data[1]
        ref = dense._free_generator(offset)
        assert np.abs(a - ref).max() <= 1e-12 * np.abs(ref).max()
    group = tuple(system.spins_on("1H"))
    for axis, ref in zip("xy", dense._rf_superops(group)):
        r, c, v = _sparse_rf_terms(system.n, group)["xy".index(axis)]
        m = np.zeros_like(ref)
        np.add.at(m, (r, c), v)
        assert np.abs(m - ref).max() <= 1e-12 * np.abs(ref).max()


def test_pauli_conversions_invert_each_other():
    rng = np.random.default_rng(5)
    n = 3
    x = rng.normal(size=(8, 8)) + 1j * rng.normal(size=(8, 8))
    rho = x @ x.conj().T
    v = LV.rho_to_pauli(rho, n)
    w = LV.pauli_basis(n)
    np.testing.assert_allclose(v, (w.conj().T @ rho.reshape(-1)).real, atol=1e-13)
    np.testing.assert_allclose(LV.pauli_to_rho(v, n), rho, atol=1e-13)


def test_taylor_plan_bounds_the_truncation():
    # the chosen degree and sub-steps keep x^(m+1)/(m+1)!/(1 − x/(m+2)) ≤ 2^-53 per sub-step
    for norm in (1e-9, 0.3, 1.0, 3.4, 10.0, 1e3):
        m, s = LV.taylor_plan(norm)
        x = norm / s
        tail = math.exp((m + 1) * math.log(x) - math.lgamma(m + 2)) / (1 - x / (m + 2))
        assert tail <= LV.TAYLOR_TOL and m <= LV.TAYLOR_MAX_DEGREE


# ------------------------------------------------------- engines agree
@pytest.mark.parametrize(
    "system, options",
    [
        (hetero(3), {}),
        (hetero(3, temperature_k=1e-6), {"rf_scale": Distribution((0.95, 1.0, 1.05), (0.25, 0.5, 0.25)),
                                          "offsets_hz": [-30.0, 40.0]}),
        (dipolar_pair(), {}),
    ],
    ids=["room temperature", "cold + ensembles", "dipolar + T1D"],
)
def test_dense_and_sparse_engines_agree_on_every_element(system, options):
    seq = every_element()
    a = Simulator(system, method="dense", **options).run(seq)
    b = Simulator(system, method="sparse", **options).run(seq)
    assert Simulator(system).engine == "dense"
    assert_same(a, b, deviation(system), 1e-9)


@pytest.mark.parametrize("patch", [
    {"EIG_MAX_BLOCK": 2, "LAZY_EIG_MAX": 0},      # every block by the Taylor kernel
    {"EIG_MAX_BLOCK": 2, "LAZY_EIG_MAX": 3000},   # large blocks diagonalised when cheaper
    {"EIG_COND_MAX": 0.0},                        # every small block by its dense exponential
], ids=["taylor", "lazy eig", "expm"])
def test_every_free_evolution_method_agrees(monkeypatch, patch):
    for name, value in patch.items():
        monkeypatch.setattr(LV, name, value)
    for system in (hetero(4, seed=3), dipolar_pair()):
        seq = Sequence((Pulse(flip_deg=70, hard=True, channels=system.channels), Delay(duration_s=4e-3),
                        Pulse(flip_deg=40, duration_s=8e-6, phase_deg=90), Acquire(points=40, dwell_s=3e-4)))
        a = Simulator(system, method="dense").run(seq)
        b = Simulator(system, method="sparse").run(seq)
        assert_same(a, b, deviation(system), 1e-9)


def test_realistic_control_matches_an_independent_propagation():
    # Issue 13's workload: random x/y on both channels, T1/T2, against
    # qutip-qip's own model of the same pulse (qutip's Liouvillian, scipy's
    # exponentials): 500 steps at 3 spins (dense engine), 100 at 5 (sparse).
    for n, steps, method in ((3, 500, "dense"), (5, 100, "multiply")):
        s = hetero(n, temperature_k=1e-6, seed=n)
        seq = Sequence((random_control(11, steps),))
        ours = Simulator(s).run(seq).final_state
        proc, sched = to_processor(s, seq)
        ref = expm_processor(proc, sched, s.thermal_state(), method=method)
        assert np.abs(ours - ref).max() <= 1e-9


def test_seven_spins_fid_is_the_weak_coupling_formula():
    # Seven weakly coupled spins with T2 only: after an ideal 90°x on every
    # spin, spin k's signal is −i (p_k/2) e^{(2πiν_k − 1/T2_k)t} Π_j cos(πJ_kj t)
    # (the partners' z components are zero, their dephasing commutes with
    # Iz Iz); the channel's FID is the sum over its spins.
    rng = np.random.default_rng(7)
    isos = ["13C"] * 4 + ["1H"] * 3
    spins = tuple(Spin(iso, offset_hz=float(rng.uniform(-6000, 6000)), t2_s=float(rng.uniform(0.05, 0.2)))
                  for iso in isos)
    j = {(a, b): float(rng.uniform(-20, 160)) for a in range(7) for b in range(a + 1, 7)}
    s = SpinSystem(spins, tuple(Coupling(a, b, hz, weak=True) for (a, b), hz in j.items()), proton_mhz=500.0)
    n_pts, dwell = 1024, 4e-5
    res = Simulator(s).run(Sequence((Pulse(flip_deg=90, hard=True, channels=s.channels),
                                     Acquire(points=n_pts, dwell_s=dwell))))
    t = np.arange(n_pts) * dwell
    pol = s.polarization()
    for ch in s.channels:
        expected = np.zeros(n_pts, dtype=complex)
        for k in s.spins_on(ch):
            mod = np.prod([np.cos(np.pi * hz * t) for (a, b), hz in j.items() if k in (a, b)], axis=0)
            expected += -0.5j * pol[k] * np.exp((2j * np.pi * s.spins[k].offset_hz - 1 / s.spins[k].t2_s) * t) * mod
        scale = np.abs(pol).max() / 2
        assert np.abs(res.fid(ch).data - expected).max() / scale <= 1e-9


# ------------------------------------------------------------------ memory
def test_dense_streaming_stays_in_the_cache_bound_and_changes_nothing():
    # the same 40-step pulse twice: its steps occur twice, so the dense engine
    # builds propagators; with room for 6 of them it streams them in windows
    s = hetero(3, seed=4)
    p = random_control(3, 40)
    seq = Sequence((p, Delay(duration_s=1e-4), p, Acquire(points=32, dwell_s=1e-4)))
    item = 65 * 65 * 8
    small = Simulator(s, max_cache_mib=6 * item / 2**20)
    a = small.run(seq)
    b = Simulator(s).run(seq)
    assert_same(a, b, deviation(s), 1e-12)
    props = [k for k in small._cache if k[0] not in ("G_free", "S_rf", "det")]
    assert len(props) <= 6


def test_sparse_run_memory_does_not_grow_with_steps():
    # 5 spins: 200 and 600 steps of random control allocate the same (a
    # sparse generator and a few vectors), far below max_cache_mib + 64 MiB
    s = hetero(5, seed=2)
    peaks = []
    for steps in (200, 600):
        seq = Sequence((random_control(5, steps),))
        tracemalloc.start()
        Simulator(s, max_cache_mib=64).run(seq)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    assert max(peaks) <= (64 + 64) * 2**20
    assert peaks[1] <= 1.2 * peaks[0]


# ------------------------------------------------------------------ checks
def test_method_is_checked_and_reported():
    with pytest.raises(SimulationError, match=r"method = 'fast' is not allowed: use auto, dense, sparse"):
        Simulator(hetero(2), method="fast")
    assert Simulator(hetero(2)).engine == "dense" and Simulator(hetero(4)).engine == "sparse"
    assert Simulator(hetero(2), method="sparse").engine == "sparse"


def test_target_spins_are_checked_against_the_system():
    s = hetero(3)
    with pytest.raises(SimulationError, match=r"element 0 \(Pulse\): spins = \(5,\) is not allowed: the spin system "
                                              r"has spins 0 to 2"):
        Simulator(s).run(Sequence((Pulse(flip_deg=90, hard=True, spins=(5,)),)))
    with pytest.raises(SimulationError, match=r"spin 1 \(13C\) is not on the pulse's channels"):
        Simulator(s).run(Sequence((Pulse(flip_deg=90, hard=True, spins=(1,)),)))
    with pytest.raises(SimulationError, match=r"none is on channel '13C'"):
        Simulator(s).run(Sequence((ShapedPulse(duration_s=1e-5, waveforms=(random_control(1, 4).waveforms),
                                               channels=("1H", "13C"), nutation_hz=1e3, spins=(0,)),)))


def test_sparse_engine_names_an_element_whose_step_is_meaningless():
    s = hetero(4)
    with pytest.raises(SimulationError, match=r"element 1 \(Delay 'wait'\).*MAX_STEP_NORM"):
        Simulator(s).run(Sequence((Pulse(flip_deg=90, hard=True), Delay(1e300, label="wait"))))
    with pytest.raises(SimulationError, match=r"element 0 \(Pulse\).*MAX_STEP_NORM"):
        Simulator(s).run(Sequence((Pulse(duration_s=1e9, nutation_hz=1e9),)))
