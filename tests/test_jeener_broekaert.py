"""Jeener–Broekaert on the gypsum platform against the closed forms of
``docs/jeener-broekaert.md`` (issue 9, Must-show 2).

Notation (as in the doc): like pair, secular coupling H_D = 2π d Dop (rad/s),
Dop = 3 I1z I2z − I1·I2, thermal start ρ0 = ⊗(1 + p σz)/2 (exact p),
φ = 3π d τ, second pulse β about y.  After 90°x – τ – β_y and the ideal
coherence filter (orders ±1, ±2 removed) the state is exactly

    ρ = 1/4 + κ Dop + (p²/3) I1·I2,   κ = −(p/2) sin 2β sin φ − p²/6,

the dipolar-order fraction is f = √3 |κ| / p (max √3/2 at β = 45°,
τ = 1/(6|d|)), and the dipolar inverse spin temperature is β_D = −4κ/(h d).
The simulator never sees these formulas.
"""

import math

import numpy as np
import pytest

from pulses.builders import jeener_broekaert, optimal_jb_tau
from pulses.platform import gypsum_water
from pulses.sequence import Delay, Gradient, Pulse, Sequence
from pulses.simulate import Simulator
from pulses.spinsystem import HBAR, KB

H_PLANCK = 2 * math.pi * HBAR
D_VALUES = [-10e3, 10e3]  # the preset's coupling and its opposite sign
FILTER = Gradient(orders=(-2, -1, 1, 2), label="dephase coherences")


# ------------------------------------------------------------------ helpers
def platform_and_ops(d_hz):
    pf = gypsum_water(d_hz=d_hz)
    s = pf.system
    o = s.ops
    ops = {
        "dop": s.dipolar_order(0, 1),
        "fz": o["z"].sum(axis=0),
        "fy": o["y"].sum(axis=0),
        "ii": sum(o[k][0] @ o[k][1] for k in "xyz"),
        "anti": 2 * (o["x"][0] @ o["z"][1] + o["z"][0] @ o["x"][1]),
        "dq": o["x"][0] @ o["x"][1] - o["y"][0] @ o["y"][1],
        "yy": o["y"][0] @ o["y"][1],
    }
    return pf, s, s.polarization()[0], ops


def kappa(p, d_hz, tau, beta_rad=math.pi / 4):
    """Dipolar-order coefficient after 90x – τ – β_y + filter (doc §1), exact in p."""
    return -(p / 2) * math.sin(2 * beta_rad) * math.sin(3 * math.pi * d_hz * tau) - p**2 / 6


def fraction(p, d_hz, tau, beta_rad=math.pi / 4):
    """Dipolar-order fraction f = √3 |κ| / p (doc §2)."""
    return math.sqrt(3) * abs(kappa(p, d_hz, tau, beta_rad)) / p


def jb_hand(tau, beta_deg, crush=True):
    """90°x – τ – β_y built by hand (β < 0 as phase −y = 270°)."""
    els = [
        Pulse(flip_deg=90.0, phase_deg=0.0, hard=True, channels=("1H",)),
        Delay(duration_s=float(tau)),
        Pulse(flip_deg=abs(beta_deg), phase_deg=90.0 if beta_deg >= 0 else 270.0, hard=True, channels=("1H",)),
    ]
    if crush:
        els.append(FILTER)
    return Sequence(tuple(els))


def comp(rho, op):
    """Coefficient of a traceless operator in ρ: Tr(ρ op) / Tr(op²)."""
    return np.trace(rho @ op).real / np.trace(op @ op).real


def fro(a):
    return float(np.linalg.norm(a))


# ------------------------------------------------------------------ §1 the state
@pytest.mark.parametrize("d_hz", D_VALUES)
def test_filtered_jb_state_is_kappa_dop_plus_the_conserved_singlet_term(d_hz):
    pf, s, p, ops = platform_and_ops(d_hz)
    sim = Simulator(s, relaxation=False)
    taus = np.linspace(0.0, 2.0 / (3.0 * abs(d_hz)), 25)
    for tau in taus:
        rho = sim.run(jeener_broekaert(pf, tau_s=float(tau))).final_state
        k = kappa(p, d_hz, tau)
        # whole state, in units of p
        expected = np.eye(4) / 4 + k * ops["dop"] + (p**2 / 3) * ops["ii"]
        assert np.abs(rho - expected).max() / p < 1e-9
        # κ and f from the simulation (absolute in units of p, i.e. 1e-9 relative to the peak)
        k_sim = comp(rho, ops["dop"])
        assert abs(k_sim - k) / p < 1e-9
        f_sim = abs(np.trace(rho @ ops["dop"]).real) / fro(ops["dop"]) / (p / fro(ops["fz"]))
        assert abs(f_sim - fraction(p, d_hz, tau)) < 1e-9
        # no Zeeman order survives; what is not ∝ Dop is exactly (p²/3) I1·I2
        assert abs(comp(rho, ops["fz"])) / p < 1e-9
        dev = rho - np.eye(4) / 4
        orth = dev - k_sim * ops["dop"]
        assert fro(orth - (p**2 / 3) * ops["ii"]) / p < 1e-9
    # at the optimum the non-Dop part is √2 p/3 of the Dop part (doc §1)
    rho = sim.run(jeener_broekaert(pf)).final_state
    dev = rho - np.eye(4) / 4
    k_sim = comp(rho, ops["dop"])
    ratio = fro(dev - k_sim * ops["dop"]) / fro(k_sim * ops["dop"])
    print(f"d = {d_hz:+g} Hz: non-Dop part / Dop part at τ_opt = {ratio:.3e} (√2 p/3 = {math.sqrt(2) * p / 3:.3e})")
    assert ratio == pytest.approx(math.sqrt(2) * p / 3 / (1 + math.copysign(p / 3, d_hz)), rel=1e-6)


@pytest.mark.parametrize("d_hz", D_VALUES)
def test_unfiltered_jb_state_matches_the_closed_form(d_hz):
    pf, s, p, ops = platform_and_ops(d_hz)
    sim = Simulator(s, relaxation=False)
    for tau in np.linspace(0.0, 2.0 / (3.0 * abs(d_hz)), 17):
        for beta_deg in (45.0, 30.0, -60.0):
            b = math.radians(beta_deg)
            phi = 3 * math.pi * d_hz * tau
            rho = sim.run(jb_hand(tau, beta_deg, crush=False)).final_state
            expected = (np.eye(4) / 4 - (p / 2) * math.cos(phi) * ops["fy"]
                        + (p / 2) * math.sin(phi) * math.cos(2 * b) * ops["anti"]
                        - (p / 2) * math.sin(phi) * math.sin(2 * b) * (ops["dop"] - ops["dq"])
                        + p**2 * ops["yy"])
            assert np.abs(rho - expected).max() / p < 1e-9
            assert abs(comp(rho, ops["fz"])) / p < 1e-9  # no Zeeman order even without the filter
    # the builder without crush is the same sequence
    rho_b = sim.run(jeener_broekaert(pf, tau_s=1e-5, crush=False)).final_state
    rho_h = sim.run(jb_hand(1e-5, 45.0, crush=False)).final_state
    assert np.abs(rho_b - rho_h).max() / p < 1e-9


@pytest.mark.parametrize("d_hz", D_VALUES)
def test_plus_minus_beta_average_keeps_only_the_p_squared_part(d_hz):
    # sin 2β is odd in β, the p² terms even: (ρ(+45) + ρ(−45))/2 = 1/4 − (p²/6) Dop + (p²/3) I·I
    # and (ρ(+45) − ρ(−45))/2 = −(p/2) sin φ Dop exactly (a signal combination, not a state).
    pf, s, p, ops = platform_and_ops(d_hz)
    sim = Simulator(s, relaxation=False)
    tau = 0.37 / abs(d_hz) / 3
    rp = sim.run(jb_hand(tau, 45.0)).final_state
    rm = sim.run(jb_hand(tau, -45.0)).final_state
    even = (rp + rm) / 2 - (np.eye(4) / 4 - (p**2 / 6) * ops["dop"] + (p**2 / 3) * ops["ii"])
    odd = (rp - rm) / 2 + (p / 2) * math.sin(3 * math.pi * d_hz * tau) * ops["dop"]
    assert np.abs(even).max() / p < 1e-9 and np.abs(odd).max() / p < 1e-9


# ------------------------------------------------------------------ §2 the fraction
@pytest.mark.parametrize("d_hz", D_VALUES)
def test_dipolar_fraction_is_maximal_at_optimal_jb_tau(d_hz):
    pf, s, p, ops = platform_and_ops(d_hz)
    sim = Simulator(s, relaxation=False)
    t_opt = optimal_jb_tau(d_hz)
    assert t_opt == pytest.approx(1 / (6 * abs(d_hz)), rel=1e-15)

    def f_sim(tau):
        rho = sim.run(jeener_broekaert(pf, tau_s=float(tau))).final_state
        return math.sqrt(3) * abs(comp(rho, ops["dop"])) / p

    f_opt = f_sim(t_opt)
    # exact in p: √3 (1/2 + sign(d) p/6): the τ-independent −p²/6 adds to |κ| in the lobes where κ < 0
    assert f_opt == pytest.approx(math.sqrt(3) * (0.5 + math.copysign(p / 6, d_hz)), rel=1e-9)
    assert f_opt == pytest.approx(math.sqrt(3) / 2, rel=1e-4)
    first_lobe = np.linspace(0.0, 1.0 / (3.0 * abs(d_hz)), 41)
    values = [f_sim(t) for t in first_lobe]
    assert max(values) <= f_opt * (1 + 1e-12)
    assert first_lobe[int(np.argmax(values))] == pytest.approx(t_opt, rel=1e-12)
    for eps in (1e-3, -1e-3):
        assert f_sim(t_opt * (1 + eps)) < f_opt


@pytest.mark.parametrize("d_hz", D_VALUES)
def test_flip_angle_dependence_is_sin_2beta(d_hz):
    pf, s, p, ops = platform_and_ops(d_hz)
    sim = Simulator(s, relaxation=False)
    betas = [5.0, 15.0, 30.0, 45.0, 60.0, 75.0, 90.0, 120.0, 135.0, -45.0, -20.0]
    for tau in (optimal_jb_tau(d_hz), 0.3 / abs(d_hz) / 3):
        fs = {}
        for beta_deg in betas:
            rho = sim.run(jb_hand(tau, beta_deg)).final_state
            b = math.radians(beta_deg)
            assert abs(comp(rho, ops["dop"]) - kappa(p, d_hz, tau, b)) / p < 1e-9
            fs[beta_deg] = math.sqrt(3) * abs(comp(rho, ops["dop"])) / p
            assert fs[beta_deg] == pytest.approx(fraction(p, d_hz, tau, b), abs=1e-9)
        # ±45° and 135° are the optimal flips; 90° converts nothing (only the p² offset remains)
        assert max(fs, key=fs.get) in (45.0, 135.0, -45.0)
        assert fs[90.0] == pytest.approx(math.sqrt(3) * p / 6, rel=1e-6)
    rho = sim.run(jb_hand(optimal_jb_tau(d_hz), 45.0)).final_state
    assert math.sqrt(3) * abs(comp(rho, ops["dop"])) / p == pytest.approx(math.sqrt(3) / 2, rel=1e-4)


@pytest.mark.parametrize("d_hz", D_VALUES)
def test_order_norm_budget_three_quarters_in_dop_one_quarter_in_double_quantum(d_hz):
    # ‖Δρ_lin‖² = p²/2 is conserved; at τ_opt, β = 45° it splits 3/4 (Dop) + 1/4 (I1xI2x − I1yI2y)
    pf, s, p, ops = platform_and_ops(d_hz)
    rho = Simulator(s, relaxation=False).run(jeener_broekaert(pf, crush=False)).final_state
    dop_part = (comp(rho, ops["dop"]) + p**2 / 6) ** 2 * 1.5
    dq_part = comp(rho, ops["dq"]) ** 2 * 0.5
    assert dop_part / (p**2 / 2) == pytest.approx(0.75, abs=1e-9)
    assert dq_part / (p**2 / 2) == pytest.approx(0.25, abs=1e-4)  # the p² I1yI2y adds O(p) to the DQ part


# ------------------------------------------------------------------ §3 spin temperature
@pytest.mark.parametrize("d_hz", D_VALUES)
def test_dipolar_inverse_spin_temperature(d_hz):
    pf, s, p, ops = platform_and_ops(d_hz)
    sim = Simulator(s, relaxation=False)
    nu_l = s.larmor_hz()[0]
    t_lat = s.temperature_k
    beta_l = 2 * math.atanh(p) / (H_PLANCK * nu_l)
    assert beta_l == pytest.approx(1 / (KB * t_lat), rel=1e-12)
    hd = 2 * math.pi * d_hz * ops["dop"]  # rad/s
    for tau in (optimal_jb_tau(d_hz), 0.21 / abs(d_hz)):
        for beta_deg in (45.0, -45.0, 30.0):
            b = math.radians(beta_deg)
            phi = 3 * math.pi * d_hz * tau
            rho = sim.run(jb_hand(tau, beta_deg)).final_state
            beta_d = -4 * comp(rho, ops["dop"]) / (H_PLANCK * d_hz)
            formula = (2 * p * math.sin(2 * b) * math.sin(phi) + 2 * p**2 / 3) / (H_PLANCK * d_hz)
            assert beta_d == pytest.approx(formula, rel=1e-9)
            # lattice comparison: β_D/β_L = (ν_L/d) sin 2β sin φ (+ O(p))
            assert beta_d / beta_l == pytest.approx(nu_l / d_hz * math.sin(2 * b) * math.sin(phi), rel=3 * p)
            # the state is the high-temperature Gibbs state exp(−β_D ħ H_D)/Z up to O(p) (doc §3)
            w, v = np.linalg.eigh(-beta_d * HBAR * hd)
            gibbs = (v * np.exp(w)) @ v.conj().T
            gibbs /= np.trace(gibbs).real
            dev = rho - np.eye(4) / 4
            err = np.abs(np.linalg.eigvalsh(rho - gibbs)).sum() / np.abs(np.linalg.eigvalsh(dev)).sum()
            assert err < 2 * p
    # at the optimum, β = +45°: T_D = T_L |d|/ν_L > 0 for both signs of d; −45° gives −T_L |d|/ν_L
    for beta_deg, sign in ((45.0, 1.0), (-45.0, -1.0)):
        rho = sim.run(jb_hand(optimal_jb_tau(d_hz), beta_deg)).final_state
        t_d = 1 / (KB * (-4 * comp(rho, ops["dop"]) / (H_PLANCK * d_hz)))
        print(f"d = {d_hz:+g} Hz, β = {beta_deg:+g}°: T_D = {t_d * 1e3:+.4f} mK (T_L |d|/ν_L = "
              f"{t_lat * abs(d_hz) / nu_l * 1e3:.4f} mK)")
        assert t_d == pytest.approx(sign * t_lat * abs(d_hz) / nu_l, rel=2 * p)
        # local-field identity: f = (β_D/β_L)(ν_loc/ν_L), ν_loc = (√3/2)|d|
        f = math.sqrt(3) * abs(comp(rho, ops["dop"])) / p
        assert f == pytest.approx(abs(1 / (KB * t_d) / beta_l) * (math.sqrt(3) / 2) * abs(d_hz) / nu_l, rel=2 * p)


def axial_h_dp(delta):
    """(Δ/3)(2 ZZ − XX − YY) of DESIGN.md §1, Pauli matrices, qubit 1 left."""
    x = np.array([[0, 1], [1, 0]], complex)
    y = np.array([[0, -1j], [1j, 0]])
    z = np.diag([1.0 + 0j, -1.0])
    return (delta / 3) * (2 * np.kron(z, z) - np.kron(x, x) - np.kron(y, y))


def gibbs(h, t):
    w, v = np.linalg.eigh(h)
    e = np.exp(-(w - w.min()) / t)
    return (v * (e / e.sum())) @ v.conj().T


def test_axial_gibbs_state_is_exactly_a_combination_of_dop_and_the_singlet_term():
    _, s, _, ops = platform_and_ops(-10e3)
    rng = np.random.default_rng(9)
    for _ in range(20):
        delta = rng.uniform(-3, 3)
        t = 10 ** rng.uniform(-1, 2) * rng.choice([-1, 1])
        h = axial_h_dp(delta)
        assert np.abs(h - (4 * delta / 3) * ops["dop"]).max() < 1e-14
        x = delta / (3 * t)
        z = 1 + 2 * math.exp(-2 * x) + math.exp(4 * x)
        c_d = (2 / 3) * (math.exp(-2 * x) - math.exp(4 * x)) / z
        c_i = (4 / 3) * (0.25 - 1 / z)
        assert np.abs(gibbs(h, t) - (np.eye(4) / 4 + c_d * ops["dop"] + c_i * ops["ii"])).max() < 1e-12


@pytest.mark.parametrize("d_hz", D_VALUES)
def test_model_units_alpha_over_t(d_hz):
    # H_lab = 2π unit_hz H_DP = 2π d Dop needs Δ = 3d/(4 unit_hz); the JB state is
    # (1 − α) I/4 + α ζ(T) to first order in 1/T with α/T = −3κ/Δ = −4κ unit_hz/d = h unit_hz β_D.
    pf, s, p, ops = platform_and_ops(d_hz)
    unit = pf.unit_hz
    delta = 3 * d_hz / (4 * unit)
    assert delta == pytest.approx(1.0, rel=1e-15)  # the preset's default unit_hz = 3d/4
    assert np.abs(2 * math.pi * unit * axial_h_dp(delta) - 2 * math.pi * d_hz * ops["dop"]).max() \
        < 1e-12 * 2 * math.pi * abs(d_hz)
    sim = Simulator(s, relaxation=False)
    for beta_deg in (45.0, -45.0):
        rho = sim.run(jb_hand(optimal_jb_tau(d_hz), beta_deg)).final_state
        k = comp(rho, ops["dop"])
        a_over_t = -3 * k / delta
        beta_d = -4 * k / (H_PLANCK * d_hz)
        assert a_over_t == pytest.approx(-4 * k * unit / d_hz, rel=1e-12)
        assert a_over_t == pytest.approx(H_PLANCK * unit * beta_d, rel=1e-12)
        # sign rule: first lobe, α/T has the sign of sin 2β · unit_hz
        assert np.sign(a_over_t) == np.sign(math.sin(math.radians(2 * beta_deg)) * unit)
        for t in (1e4, 1e3, 1e2, 30.0):
            t_signed = math.copysign(t, a_over_t)
            alpha = a_over_t * t_signed
            target = (1 - alpha) * np.eye(4) / 4 + alpha * gibbs(axial_h_dp(delta), t_signed)
            # normalised deviations differ by x² Dop + (q − x²) I·I + O(x³), x = Δ/(3T),
            # q = p²/(3α): relative trace norm (5/4)|x| when q ≪ x², i.e. |T| ≪ |Δ|/(2p)  (doc §3)
            num = np.abs(np.linalg.eigvalsh((rho - target) / alpha)).sum()
            den = np.abs(np.linalg.eigvalsh((target - np.eye(4) / 4) / alpha)).sum()
            x = delta / (3 * t_signed)
            q = p**2 / (3 * alpha)
            lead = np.abs(np.linalg.eigvalsh(x**2 * ops["dop"] + (q - x**2) * ops["ii"])).sum() / (2 * abs(x))
            assert num / den == pytest.approx(lead, rel=3 * abs(x) + 1e-6)
            if t <= 100:
                assert num / den == pytest.approx(1.25 * abs(x), rel=3 * abs(x) + 4 * p * t)
    k_builder = comp(sim.run(jeener_broekaert(pf)).final_state, ops["dop"])
    print(f"d = {d_hz:+g} Hz, unit_hz = {unit:+g}: α/T = {-3 * k_builder / delta:+.4e} for the builder's +45°y")


# ------------------------------------------------------------------ §4 relaxation, finite pulses
@pytest.mark.parametrize("d_hz", D_VALUES)
def test_relaxation_during_tau_is_negligible(d_hz):
    pf, s, p, ops = platform_and_ops(d_hz)
    tau = optimal_jb_tau(d_hz)
    t1 = s.spins[0].t1_s
    seq = jeener_broekaert(pf)
    r0 = Simulator(s, relaxation=False).run(seq).final_state
    r1 = Simulator(s, relaxation=True).run(seq).final_state
    loss = abs(comp(r1, ops["dop"]) - comp(r0, ops["dop"])) / (p / 2)
    zeeman = abs(comp(r1, ops["fz"])) / p
    print(f"d = {d_hz:+g} Hz: relative κ loss {loss:.3e} (τ/T1 = {tau / t1:.3e}), Fz / p = {zeeman:.3e}")
    assert loss == pytest.approx(tau / t1, rel=1e-3)
    assert zeeman == pytest.approx(tau / (2 * math.sqrt(2) * t1), rel=1e-3)


@pytest.mark.parametrize("d_hz", D_VALUES)
def test_finite_pulses_at_100_khz_shift_the_delay_at_first_order(d_hz):
    pf, s, p, ops = platform_and_ops(d_hz)
    sim = Simulator(s, relaxation=False)
    nu1 = 100e3
    eps = d_hz / nu1
    dtau = (math.pi + 2) / (8 * math.pi * nu1)  # 1/(8ν1) + tan(45°)/(4πν1)
    bound = 3 * (math.pi + 2) / 16 * abs(eps)  # first-order bound on |Δκ|/p
    worst = 0.0
    for tau in np.linspace(0.0, 2.0 / (3.0 * abs(d_hz)), 17):
        rho = sim.run(jeener_broekaert(pf, tau_s=float(tau), nutation_hz=nu1)).final_state
        k = comp(rho, ops["dop"])
        a = comp(rho, ops["fz"])
        phi = 3 * math.pi * d_hz * tau
        dk = abs(k - kappa(p, d_hz, tau)) / p
        worst = max(worst, dk)
        assert dk <= bound * abs(math.cos(phi)) + 2.2 * eps**2 + abs(eps) ** 3
        # second order: κ/p = −½ sin(φ + 3π d δτ) + (9/64) ε² sin φ − p/6, Fz/p = (9√2/64) ε²
        second = -0.5 * math.sin(phi + 3 * math.pi * d_hz * dtau) + 9 / 64 * eps**2 * math.sin(phi) - p / 6
        assert abs(k / p - second) < abs(eps) ** 3
        assert abs(a / p - 9 * math.sqrt(2) / 64 * eps**2) < abs(eps) ** 3
        # and nothing else: ρ = 1/4 + a Fz + κ Dop + (p²/3) I·I
        rest = rho - np.eye(4) / 4 - a * ops["fz"] - k * ops["dop"] - (p**2 / 3) * ops["ii"]
        assert np.abs(rest).max() / p < 1e-9
    print(f"d = {d_hz:+g} Hz, ν1 = 100 kHz: max |κ_finite − κ_ideal|/p = {worst:.4f} "
          f"(first-order bound {bound:.4f}, i.e. {worst / 0.5:.2%} of the ideal maximum)")
    assert worst <= bound
    # compensating the delay leaves only the second-order loss (9/32) ε² of the maximum
    t_comp = optimal_jb_tau(d_hz) - dtau
    rho = sim.run(jeener_broekaert(pf, tau_s=t_comp, nutation_hz=nu1)).final_state
    rel_loss = 1 - abs(comp(rho, ops["dop"])) / abs(kappa(p, d_hz, optimal_jb_tau(d_hz)))
    rho_u = sim.run(jeener_broekaert(pf, tau_s=optimal_jb_tau(d_hz), nutation_hz=nu1)).final_state
    rel_loss_u = 1 - abs(comp(rho_u, ops["dop"])) / abs(kappa(p, d_hz, optimal_jb_tau(d_hz)))
    print(f"   at τ_opt: relative loss {rel_loss_u:.4%} uncompensated, {rel_loss:.4%} with τ = τ_opt − δτ "
          f"(δτ = {dtau * 1e6:.3f} µs)")
    assert rel_loss == pytest.approx(9 / 32 * eps**2, abs=abs(eps) ** 3)
    # the O(ε²) Zeeman part goes when the scan is averaged with one ending in an ideal 180°x
    # (Fz → −Fz; Dop and I·I are even under it)
    seq = jeener_broekaert(pf, tau_s=t_comp, nutation_hz=nu1)
    flipped = Sequence(seq.elements + (Pulse(flip_deg=180.0, hard=True, channels=("1H",)),))
    avg = (rho + sim.run(flipped).final_state) / 2
    assert abs(comp(avg, ops["fz"])) / p < 1e-9
    assert abs(comp(avg, ops["dop"]) - comp(rho, ops["dop"])) / p < 1e-9
    assert rel_loss_u == pytest.approx(9 / 128 * ((math.pi + 2) ** 2 + 4) * eps**2, abs=abs(eps) ** 3)
    # the builder's default delay with finite pulses is the compensated one
    rho_d = sim.run(jeener_broekaert(pf, nutation_hz=nu1)).final_state
    assert abs(comp(rho_d, ops["dop"]) - comp(rho, ops["dop"])) / p < 1e-12
