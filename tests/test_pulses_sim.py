"""The pulses simulator against analytic NMR results (issue 4 Must-show 1-4).

Every expected value below is a closed form derived in the comment above it;
the simulator never sees them.
"""

import math

import numpy as np
import pytest

from pulses.errors import SequenceError, SimulationError, SpinSystemError
from pulses.sequence import Acquire, Delay, Gradient, Pulse, Sequence
from pulses.simulate import Distribution, Simulator, simulate
from pulses.spinsystem import Coupling, Spin, SpinSystem

TWO_PI = 2 * np.pi


def one_spin(offset_hz=0.0, t1=None, t2=None):
    return SpinSystem((Spin("1H", offset_hz=offset_hz, t1_s=t1, t2_s=t2),), proton_mhz=400.0)


def expect(rho, op):
    return np.trace(rho @ op).real


# ------------------------------------------------------------------ 1. Bloch
@pytest.mark.parametrize("offset_hz", [0.0, 37.5, -120.0])
def test_free_precession_follows_bloch_solution(offset_hz):
    # After an ideal 90°x on the thermal state (⟨Iz⟩ = M0 = p/2), the Bloch
    # equations in the rotating frame give ⟨Ix⟩ = M0 sin(Ωt) e^{−t/T2},
    # ⟨Iy⟩ = −M0 cos(Ωt) e^{−t/T2}, ⟨Iz⟩ = M0 (1 − e^{−t/T1}), so the FID
    # Tr[ρ I⁺] = −i M0 e^{iΩt} e^{−t/T2}.
    t1, t2 = 0.7, 0.05
    sysm = one_spin(offset_hz, t1, t2)
    m0 = sysm.polarization()[0] / 2
    dwell, n = 2e-4, 600
    res = simulate(sysm, Sequence((Pulse(flip_deg=90, hard=True), Acquire(points=n, dwell_s=dwell))))
    t = np.arange(n) * dwell
    omega = TWO_PI * offset_hz
    expected = -1j * m0 * np.exp(1j * omega * t - t / t2)
    np.testing.assert_allclose(res.fid().data / m0, expected / m0, rtol=0, atol=1e-9)
    T = n * dwell
    o = sysm.ops
    assert expect(res.final_state, o["z"][0]) / m0 == pytest.approx(1 - math.exp(-T / t1), abs=1e-9)
    assert expect(res.final_state, o["x"][0]) / m0 == pytest.approx(math.sin(omega * T) * math.exp(-T / t2), abs=1e-9)


@pytest.mark.parametrize("offset_hz", [0.0, 400.0])
def test_off_resonance_pulse_with_relaxation_follows_bloch_equations(offset_hz):
    # During a pulse the Bloch equations are dM/dt = A M + c with
    # A = [[−1/T2, −Ω, ω1 sinφ], [Ω, −1/T2, −ω1 cosφ], [−ω1 sinφ, ω1 cosφ, −1/T1]]
    # (rotating frame, H = Ω Iz + ω1 (cosφ Ix + sinφ Iy)), c = (0, 0, M0/T1);
    # the exact solution is the exponential of the augmented 4×4 matrix.
    t1, t2, nu1, phi = 0.02, 0.008, 1000.0, 30.0
    sysm = one_spin(offset_hz, t1, t2)
    m0 = sysm.polarization()[0] / 2
    tau = 0.9e-3
    res = simulate(sysm, Sequence((Pulse(duration_s=tau, nutation_hz=nu1, phase_deg=phi),)))
    om, w1, ph = TWO_PI * offset_hz, TWO_PI * nu1, np.deg2rad(phi)
    a = np.array(
        [
            [-1 / t2, -om, w1 * np.sin(ph), 0],
            [om, -1 / t2, -w1 * np.cos(ph), 0],
            [-w1 * np.sin(ph), w1 * np.cos(ph), -1 / t1, m0 / t1],
            [0, 0, 0, 0],
        ]
    )
    import scipy.linalg

    m = scipy.linalg.expm(a * tau) @ np.array([0, 0, m0, 1.0])
    o = sysm.ops
    got = np.array([expect(res.final_state, o[k][0]) for k in "xyz"])
    np.testing.assert_allclose(got / m0, m[:3] / m0, atol=1e-9)


def test_thermal_state_is_exact_and_polarisation_reported():
    s = SpinSystem((Spin("1H"), Spin("13C")), field_t=9.4, temperature_k=300.0)
    p = s.polarization()
    # tanh(h ν / 2kT): 1H at 9.4 T, 300 K → ≈ 3.2e-5
    nu = 42.577478518e6 * 9.4
    assert p[0] == pytest.approx(math.tanh(6.62607015e-34 * nu / (2 * 1.380649e-23 * 300)), rel=1e-12)
    assert p[1] == pytest.approx(p[0] * 10.7083984 / 42.577478518, rel=1e-6)
    rho = s.thermal_state()
    assert abs(np.trace(rho) - 1) < 1e-15
    w = np.diag(rho).real
    assert w[0] > w[1] > w[2] > w[3]  # |00> lowest energy for γ > 0
    # at 1 mK the 1H spin is strongly polarised: exact, not linearised
    cold = SpinSystem((Spin("1H"),), field_t=9.4, temperature_k=1e-3).polarization()[0]
    assert 0.99 < cold < 1.0


def test_thermal_state_is_the_fixed_point_of_relaxation():
    s = SpinSystem(
        (Spin("1H", offset_hz=100, t1_s=0.3, t2_s=0.1), Spin("13C", offset_hz=-50, t1_s=0.5, t2_s=0.2)),
        (Coupling(0, 1, 140.0),),
        proton_mhz=400,
        temperature_k=0.05,
    )
    res = simulate(s, Sequence((Delay(duration_s=3.0),)))
    np.testing.assert_allclose(res.final_state, s.thermal_state(), atol=1e-15)
    res = simulate(s, Sequence((Pulse(flip_deg=90, hard=True, channels=("1H", "13C")), Delay(duration_s=40.0))))
    np.testing.assert_allclose(res.final_state, s.thermal_state(), atol=1e-12)


# ------------------------------------------------------------------ 2. J
def test_weakly_coupled_heteronuclear_pair_gives_the_analytic_doublet():
    # 1H–13C, J = 140 Hz (weak: 2πJ IzSz).  After 90°x on 1H, the 1H
    # magnetisation in the 13C-up (-down) sector, weight (1 ± pC)/2 in the exact
    # thermal state, precesses at Ω ± J/2: the FID is
    # −i M0 e^{−t/T2} [(1+pC)/2 e^{2πi(Ω+J/2)t} + (1−pC)/2 e^{2πi(Ω−J/2)t}],
    # a doublet with (to 1e-5) equal lines.  13C has no T1 here: 13C flips
    # would exchange the doublet components (a real effect, not in this formula).
    # The 13C channel sees nothing.
    off, J, t2 = 250.0, 140.0, 0.2
    s = SpinSystem(
        (Spin("1H", offset_hz=off, t1_s=1.0, t2_s=t2), Spin("13C", offset_hz=30.0, t2_s=0.3)),
        (Coupling(0, 1, J),),
        proton_mhz=500,
    )
    m0 = s.polarization()[0] / 2
    pc = s.polarization()[1]
    n, dwell = 2048, 1 / 2000
    res = simulate(s, Sequence((Pulse(flip_deg=90, duration_s=10e-6, channels=("1H",)), Acquire(points=n, dwell_s=dwell))))
    t = np.arange(n) * dwell
    # a 10 µs pulse is not ideal: compare with the hard-pulse limit to the
    # size of the offset/J evolution during it (~2π·390 Hz·10 µs ≈ 2.5e-2)
    ideal = simulate(s, Sequence((Pulse(flip_deg=90, hard=True, channels=("1H",)), Acquire(points=n, dwell_s=dwell))))
    lines = (1 + pc) / 2 * np.exp(TWO_PI * 1j * (off + J / 2) * t) + (1 - pc) / 2 * np.exp(TWO_PI * 1j * (off - J / 2) * t)
    expected = -1j * m0 * lines * np.exp(-t / t2)
    np.testing.assert_allclose(ideal.fid("1H").data / m0, expected / m0, atol=1e-9)
    assert np.abs(res.fid("1H").data / m0 - expected / m0).max() < 3e-2
    assert np.abs(ideal.fid("13C").data).max() < 1e-20


@pytest.mark.parametrize("dnu, J", [(100.0, 12.0), (20.0, 15.0), (5.0, 30.0)])
def test_strongly_coupled_AB_pair_gives_the_analytic_quartet(dnu, J):
    # AB system, H = 2π(νA IAz + νB IBz) + 2πJ IA·IB.  With C = sqrt(Δν² + J²)
    # the lines sit at ν̄ ± (C ± J)/2 with amplitudes −i M0 (1 ± J/C)/2: the
    # inner pair (C − J) is stronger (roof effect).  The formula assumes equal
    # polarisation M0 of A and B; the exact thermal state differs by Δν/ν0
    # (~1e-7), so the start is the high-temperature state 1/4 + M0 (IAz + IBz).
    nu_a, nu_b = 60.0 + dnu / 2, 60.0 - dnu / 2
    s = SpinSystem((Spin("1H", offset_hz=nu_a), Spin("1H", offset_hz=nu_b)), (Coupling(0, 1, J),), proton_mhz=600)
    m0 = 1e-5
    init = np.eye(4) / 4 + m0 * s.ops["z"].sum(axis=0)
    n, dwell = 1024, 1 / 1000
    res = simulate(s, Sequence((Pulse(flip_deg=90, hard=True), Acquire(points=n, dwell_s=dwell))), initial=init)
    t = np.arange(n) * dwell
    c = math.hypot(dnu, J)
    mean = (nu_a + nu_b) / 2
    lines = [(mean + (c + J) / 2, 1 - J / c), (mean + (c - J) / 2, 1 + J / c),
             (mean - (c - J) / 2, 1 + J / c), (mean - (c + J) / 2, 1 - J / c)]
    expected = sum(-1j * m0 * a / 2 * np.exp(TWO_PI * 1j * f * t) for f, a in lines)
    np.testing.assert_allclose(res.fid().data / m0, expected / m0, atol=1e-9)


# ------------------------------------------------------------------ 3. nutation
def test_nutation_is_a_sine_without_inhomogeneity():
    # On resonance, an x pulse of length τ turns Iz into Iz cos θ − Iy sin θ,
    # θ = 2π ν1 τ: the first FID point is −i M0 sin(2π ν1 τ).  Tolerance 1e-10:
    # the step propagator is a matrix exponential of norm up to 2π·25 kHz·60 µs
    # ≈ 9.4, whose scaling-and-squaring round-off is ~1e-12.
    s = one_spin()
    m0 = s.polarization()[0] / 2
    nu1 = 25e3
    sim = Simulator(s)
    for tau in np.linspace(0, 60e-6, 25):
        seq = Sequence((Pulse(duration_s=tau, nutation_hz=nu1, flip_deg=360 * nu1 * tau), Acquire(points=1, dwell_s=1e-5)))
        got = sim.run(seq).fid().data[0] / m0
        assert got == pytest.approx(-1j * math.sin(TWO_PI * nu1 * tau), abs=1e-10)


def test_nutation_with_gaussian_b1_distribution_is_damped_as_the_analytic_average():
    # RF scale κ ~ N(1, σ²): ⟨sin(θκ)⟩ = sin θ · exp(−θ²σ²/2).  The ensemble is
    # Gauss–Hermite quadrature with 61 nodes (error far below 1e-12 here).
    s = one_spin()
    m0 = s.polarization()[0] / 2
    nu1, sigma = 25e3, 0.08
    sim = Simulator(s, rf_scale=Distribution.gaussian(1.0, sigma, 61))
    for tau in np.linspace(0, 200e-6, 21):
        seq = Sequence((Pulse(duration_s=tau, nutation_hz=nu1, flip_deg=360 * nu1 * tau), Acquire(points=1, dwell_s=1e-5)))
        theta = TWO_PI * nu1 * tau
        got = sim.run(seq).fid().data[0] / m0
        assert got == pytest.approx(-1j * math.sin(theta) * math.exp(-0.5 * (theta * sigma) ** 2), abs=1e-9)


# ------------------------------------------------------------------ 4. Jeener–Broekaert
def jb_system(d_hz):
    return SpinSystem((Spin("1H"), Spin("1H")), (Coupling(0, 1, d_hz, kind="dipolar"),), proton_mhz=400)


@pytest.mark.parametrize("d_hz", [1000.0, -2500.0])
def test_jeener_broekaert_creates_dipolar_order_with_the_analytic_tau_dependence(d_hz):
    # Linear thermal deviation ε Fz (Fz = I1z + I2z), H_D = 2πd(3 I1z I2z − I1·I2).
    # 90°x: −ε Fy.  τ: I·I commutes with Fy, so only 3·2πd I1zI2z acts:
    #   −ε [Fy cos φ − 2(I1x I2z + I1z I2x) sin φ],  φ = 3π d τ.
    # 45°y: 2(IxIz + IzIx) → 2(IxIx − IzIz) = −Dop + (IxIx − IyIy), with
    # Dop = 3IzIz − I·I, Tr Dop² = 3/2.  Hence
    #   ⟨Dop⟩(τ) = −(3/2) ε sin(3π d τ),  ⟨Fz⟩ = 0,  ⟨Fy⟩ = −2ε cos(3π d τ).
    s = jb_system(d_hz)
    eps = 1e-5
    o = s.ops
    fz = o["z"].sum(axis=0)
    init = np.eye(4) / 4 + eps * fz
    sim = Simulator(s, initial=init)
    dop = s.dipolar_order(0, 1)
    for tau in np.linspace(0, 4e-4, 17):
        seq = Sequence((Pulse(flip_deg=90, hard=True), Delay(duration_s=tau), Pulse(flip_deg=45, phase_deg=90, hard=True)))
        rho = sim.run(seq).final_state
        phi = 3 * np.pi * d_hz * tau
        assert expect(rho, dop) / eps == pytest.approx(-1.5 * math.sin(phi), abs=1e-9)
        assert expect(rho, fz) / eps == pytest.approx(0.0, abs=1e-9)
        assert expect(rho, o["y"].sum(axis=0)) / eps == pytest.approx(-2 * math.cos(phi), abs=1e-9)


def test_read_pulse_gives_the_antiphase_dipolar_order_signal():
    # After JB (φ = 3πdτ), a gradient removes every coherence ≠ 0 and leaves
    # −ε sin φ · Dop; a 45°y read turns Dop into (3/2)(I1xI2z + I1zI2x) + order-0
    # and DQ terms, and the antiphase term evolves into in-phase Fy sin(3πdt):
    #   s(t) = −(3/2) i ε sin φ sin(3π d t)  — zero at t = 0, an antiphase doublet
    # at ±3d/2.
    d_hz = 1500.0
    s = jb_system(d_hz)
    eps = 1e-5
    init = np.eye(4) / 4 + eps * s.ops["z"].sum(axis=0)
    tau = 1 / (6 * d_hz)  # φ = π/2: maximal transfer
    n, dwell = 256, 1e-5
    seq = Sequence(
        (
            Pulse(flip_deg=90, hard=True),
            Delay(duration_s=tau),
            Pulse(flip_deg=45, phase_deg=90, hard=True),
            Gradient(),
            Pulse(flip_deg=45, phase_deg=90, hard=True),
            Acquire(points=n, dwell_s=dwell),
        )
    )
    res = Simulator(s, initial=init).run(seq)
    t = np.arange(n) * dwell
    expected = -1.5j * eps * np.sin(3 * np.pi * d_hz * t)
    np.testing.assert_allclose(res.fid().data / eps, expected / eps, atol=1e-9)
    spec = np.fft.fftshift(np.fft.fft(res.fid().data * np.exp(-t / 2e-3), 8192))
    f = np.fft.fftshift(np.fft.fftfreq(8192, dwell))
    # antiphase: s(t) ∝ i·sin(3πdt), so the real part of its spectrum has
    # opposite-sign lines at ±3d/2
    lo, hi = np.argmin(abs(f + 1.5 * d_hz)), np.argmin(abs(f - 1.5 * d_hz))
    assert np.sign(spec[lo].real) == -np.sign(spec[hi].real) != 0


# ------------------------------------------------------------------ behaviour
def test_gradient_removes_heteronuclear_zero_quantum_but_keeps_homonuclear():
    # Phase under a z gradient ∝ Σ γ_k Δm_k: I⁺S⁻ of 1H–13C dephases
    # (γH ≠ γC), I⁺I⁻ of two protons does not; populations always survive.
    from pulses.simulate import gradient_mask

    het = SpinSystem((Spin("1H"), Spin("13C")), proton_mhz=400)
    hom = SpinSystem((Spin("1H"), Spin("1H")), proton_mhz=400)
    zq = (1, 2)  # |01⟩⟨10|: spin 1 up→down, spin 2 down→up
    assert not gradient_mask(het)[zq] and gradient_mask(hom)[zq]
    assert gradient_mask(het).diagonal().all() and gradient_mask(hom).diagonal().all()
    assert not gradient_mask(hom)[0, 1]  # single-quantum removed
    assert gradient_mask(hom, orders=(2, -2))[1, 2] and not gradient_mask(hom, orders=(2, -2))[0, 3]
    rho = np.eye(4) / 4 + 0.01 * (np.outer([0, 1, 0, 0], [0, 0, 1, 0]) + np.outer([0, 0, 1, 0], [0, 1, 0, 0]))
    out = simulate(het, Sequence((Gradient(),)), initial=rho, relaxation=False).final_state
    np.testing.assert_allclose(out, np.eye(4) / 4, atol=1e-15)


def test_phase_cycle_and_receiver_phase_average_fids():
    # Two-step cycle x / −x with receiver 0 / 180: the signals add.
    s = one_spin(50.0)
    base = Sequence((Pulse(flip_deg=90, hard=True), Acquire(points=8, dwell_s=1e-4)))
    cyc = Sequence(base.elements, phase_cycle=({"pulse_phases_deg": [0], "receiver_phase_deg": 0},
                                               {"pulse_phases_deg": [180], "receiver_phase_deg": 180}))
    np.testing.assert_allclose(simulate(s, cyc).fid().data, simulate(s, base).fid().data, atol=1e-20)


def test_prefix_cache_is_reused_and_gives_identical_results():
    s = jb_system(1000.0)
    sim = Simulator(s)
    prep = (Pulse(flip_deg=90, hard=True), Delay(duration_s=1e-4), Pulse(flip_deg=45, phase_deg=90, hard=True))
    a = sim.run(Sequence(prep + (Pulse(flip_deg=30, hard=True), Acquire(points=4, dwell_s=1e-5))))
    n_cached = len(sim._cache)
    b = sim.run(Sequence(prep + (Pulse(flip_deg=30, hard=True), Acquire(points=4, dwell_s=1e-5))))
    assert len(sim._cache) == n_cached
    np.testing.assert_array_equal(a.fid().data, b.fid().data)
    fresh = Simulator(s).run(Sequence(prep + (Pulse(flip_deg=30, hard=True), Acquire(points=4, dwell_s=1e-5))))
    np.testing.assert_allclose(fresh.fid().data, a.fid().data, atol=1e-22)


def test_unknown_channel_is_an_error_naming_the_element():
    s = one_spin()
    with pytest.raises(SequenceError, match=r"element 1 \(Pulse\): channels = \('13C',\) is not allowed"):
        simulate(s, Sequence((Delay(duration_s=1e-3), Pulse(flip_deg=90, hard=True, channels=("13C",)))))


@pytest.mark.parametrize(
    "initial, message",
    [
        (np.array([[0, 1], [0, 0]], complex), "not Hermitian"),
        (np.eye(2), "trace 2"),
        (np.diag([1.5, -0.5]), "not positive semidefinite"),
        (np.eye(4) / 4, r"shape \(4, 4\)"),
    ],
)
def test_bad_initial_states_are_refused(initial, message):
    with pytest.raises(SimulationError, match=message):
        Simulator(one_spin(), initial=initial)


def test_cache_is_bounded():
    s = one_spin(10.0, 1.0, 0.5)
    sim = Simulator(s, max_cache_mib=0.01)  # room for ~400 5x5 propagators
    for k in range(600):
        sim.run(Sequence((Pulse(flip_deg=1 + k, nutation_hz=1e4), Acquire(points=2, dwell_s=1e-4))))
    assert len(sim._cache) * 25 * 8 <= 0.01 * 2**20 + 25 * 8 * 4


def test_unphysical_relaxation_is_refused():
    s = one_spin(t1=0.1, t2=0.5)
    with pytest.raises(SimulationError, match=r"T2 ≤ 2 T1"):
        simulate(s, Sequence((Delay(duration_s=1e-3),)))


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: SpinSystem((Spin("2H"),), proton_mhz=400), "has spin 1"),
        (lambda: SpinSystem((Spin("7Li"),), proton_mhz=400), "isotope = '7Li'"),
        (lambda: SpinSystem((Spin("1H"),), (Coupling(0, 3, 5.0),), proton_mhz=400), "names a spin that does not exist"),
        (lambda: SpinSystem((Spin("1H"),)), "exactly one of field_t"),
        (lambda: Spin("1H", t2_s=-1.0), r"t2_s = -1.0 is not allowed"),
        (lambda: SpinSystem((Spin("1H"), Spin("1H")), (Coupling(0, 1, 5.0), Coupling(1, 0, 7.0)), proton_mhz=400),
         "given twice"),
    ],
)
def test_bad_spin_systems_raise(build, message):
    with pytest.raises(SpinSystemError, match=message):
        build()


def test_three_spin_ch2_group_gives_the_binomial_triplet():
    # 13C weakly coupled (J) to two 1H.  After 90°x on 13C its magnetisation
    # in each 1H sector (m1, m2) precesses at Ω + J(m1 + m2), weighted by the
    # exact thermal populations (1 ± p_H)/2 of each proton:
    #   s(t) = −i M0_C e^{iΩt} Π_k [(1+p_k)/2 e^{iπJt} + (1−p_k)/2 e^{−iπJt}],
    # the 1:2:1 triplet at Ω, Ω ± J.  Nothing in the engine assumes 2 spins.
    J, off = 125.0, -40.0
    s = SpinSystem(
        (Spin("13C", offset_hz=off, t2_s=0.5), Spin("1H", offset_hz=300.0), Spin("1H", offset_hz=300.0)),
        (Coupling(0, 1, J), Coupling(0, 2, J), Coupling(1, 2, 0.0)),
        proton_mhz=400,
    )
    p = s.polarization()
    m0 = p[0] / 2
    n, dwell = 1024, 1 / 1500
    res = simulate(s, Sequence((Pulse(flip_deg=90, hard=True, channels=("13C",)), Acquire(points=n, dwell_s=dwell))))
    t = np.arange(n) * dwell
    factor = np.ones(n, complex)
    for pk in p[1:]:
        factor *= (1 + pk) / 2 * np.exp(1j * np.pi * J * t) + (1 - pk) / 2 * np.exp(-1j * np.pi * J * t)
    expected = -1j * m0 * np.exp(TWO_PI * 1j * off * t - t / 0.5) * factor
    np.testing.assert_allclose(res.fid("13C").data / m0, expected / m0, atol=1e-9)
    assert set(res.fids) == {"13C", "1H"}
    assert res.final_qobj.dims == [[2, 2, 2], [2, 2, 2]]


def test_dipolar_order_relaxes_with_t1d():
    # No single-spin relaxation; the pair's dipolar order relaxes toward its
    # thermal value with 1/T1D and is untouched by free evolution ([Dop, H_D] = 0):
    #   ⟨Dop⟩(t) = ⟨Dop⟩_eq + (⟨Dop⟩_0 − ⟨Dop⟩_eq) e^{−t/T1D}.
    d_hz, t1d = 1500.0, 0.02
    s = SpinSystem((Spin("1H"), Spin("1H")), (Coupling(0, 1, d_hz, kind="dipolar", t1d_s=t1d),), proton_mhz=400)
    dop = s.dipolar_order(0, 1)
    eq = expect(s.thermal_state(), dop)
    sim = Simulator(s)
    jb = (Pulse(flip_deg=90, hard=True), Delay(duration_s=1 / (6 * d_hz)), Pulse(flip_deg=45, phase_deg=90, hard=True))
    start = expect(sim.run(Sequence(jb)).final_state, dop)
    for t in (0.005, 0.02, 0.05):
        got = expect(sim.run(Sequence(jb + (Delay(duration_s=t),))).final_state, dop)
        # absolute 2e-14 (~100 u): round-off is relative to ‖ρ‖ ≈ 1, and ⟨Dop⟩
        # is a 1e-6-sized deviation on top of the identity part
        assert got == pytest.approx(eq + (start - eq) * math.exp(-t / t1d), rel=0, abs=2e-14)


def test_shift_in_ppm_and_carrier_give_the_offset_and_the_line():
    # 13C at 100 ppm with the carrier at 99.5 ppm on a 400 MHz (1H) magnet:
    # offset = 0.5 ppm × ν0(13C) = 0.5 × 400·γC/γH Hz; the FID precesses at it.
    s = SpinSystem((Spin("13C", shift_ppm=100.0),), proton_mhz=400.0, carrier_ppm={"13C": 99.5})
    nu0 = 400.0 * 10.7083984 / 42.577478518
    assert s.offsets_hz()[0] == pytest.approx(0.5 * nu0, rel=1e-12)
    assert s.carrier_mhz("13C") == pytest.approx(nu0 * (1 + 99.5e-6), rel=1e-15)
    res = simulate(s, Sequence((Pulse(flip_deg=90, hard=True, channels=("13C",)), Acquire(points=64, dwell_s=1e-4))))
    f = res.fid("13C")
    t = np.arange(64) * 1e-4
    m0 = s.polarization()[0] / 2
    np.testing.assert_allclose(f.data / m0, -1j * np.exp(TWO_PI * 1j * 0.5 * nu0 * t), atol=1e-9)
    assert f.sfo_mhz == pytest.approx(s.carrier_mhz("13C")) and f.bf_mhz == pytest.approx(nu0)


def test_negative_gamma_nucleus_is_polarised_down():
    # 15N (γ < 0): the thermal state favours |1⟩ (m = −1/2), ⟨σz⟩ = −tanh(h|ν|/2kT).
    s = SpinSystem((Spin("15N"),), field_t=9.4, temperature_k=300.0)
    p = s.polarization()[0]
    nu = 4.3172e6 * 9.4
    assert p == pytest.approx(-math.tanh(6.62607015e-34 * nu / (2 * 1.380649e-23 * 300.0)), rel=1e-9)
    rho = s.thermal_state()
    assert rho[1, 1].real > rho[0, 0].real


def test_more_spins_than_the_engine_handles_is_an_error():
    # the sparse engine takes up to 7 spins (issue 13), the dense one up to 6
    s = SpinSystem(tuple(Spin("1H") for _ in range(8)), proton_mhz=400)
    with pytest.raises(SimulationError, match="8 spins is not allowed"):
        Simulator(s)
    seven = SpinSystem(tuple(Spin("1H") for _ in range(7)), proton_mhz=400)
    with pytest.raises(SimulationError, match="7 spins is not allowed with method = 'dense'"):
        Simulator(seven, method="dense")
