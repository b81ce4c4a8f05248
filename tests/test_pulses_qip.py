"""The simulator against qutip-qip (issue 4 Must-show 5).

The same sequence is compiled into a ``qutip_qip`` Processor (drift = free
Hamiltonian, x/y controls per channel, relaxation by the Processor's t1/t2)
and integrated by ``mesolve``; its final state must match
``pulses.simulate`` to 1e-6.  Norm: the largest |element| of ρ_qip − ρ_ours
and the trace distance ½‖ρ_qip − ρ_ours‖₁, both absolute for Tr ρ = 1 (the
states here have elements of order 0.1–1, since the relaxation model of
qutip-qip needs full polarisation, see pulses/qip.py).  Solver options:
``pulses.qip.TIGHT`` with the default max_step (half the shortest pulse).
The compilation itself is checked to round-off by propagating the
Processor's own model with matrix exponentials (``engine="expm"``).
"""

import numpy as np
import pytest
import qutip

from pulses.errors import SimulationError
from pulses.qip import TIGHT, expm_processor, run_processor, safe_max_step, to_processor
from pulses.sequence import Acquire, Delay, Gradient, PhaseStep, Pulse, Sequence
from pulses.simulate import Distribution, simulate
from pulses.spinsystem import Coupling, Spin, SpinSystem

COLD_K = 1e-6  # polarisation exactly 1.0 in double precision for 1H and 13C


def hetero_pair(temperature_k=COLD_K):
    # 1H–13C, weak J = 140 Hz, offsets from both carriers, T1/T2 on both spins
    return SpinSystem(
        (Spin("1H", offset_hz=230.0, t1_s=0.04, t2_s=0.015), Spin("13C", offset_hz=-120.0, t1_s=0.07, t2_s=0.03)),
        (Coupling(0, 1, 140.0),),
        proton_mhz=400.0,
        temperature_k=temperature_k,
    )


def three_spins():
    # two dipolar-coupled protons (homonuclear secular dipolar, d = 900 Hz;
    # strong J = 7 Hz between them) and a 13C J-coupled to both (150, 4 Hz)
    return SpinSystem(
        (
            Spin("1H", offset_hz=300.0, t1_s=0.03, t2_s=0.004),
            Spin("1H", offset_hz=-150.0, t1_s=0.05, t2_s=0.006),
            Spin("13C", offset_hz=80.0, t1_s=0.2, t2_s=0.05),
        ),
        (Coupling(0, 1, 900.0, kind="dipolar"), Coupling(0, 1, 7.0), Coupling(0, 2, 150.0), Coupling(1, 2, 4.0)),
        proton_mhz=500.0,
        temperature_k=COLD_K,
    )


H, C, BOTH = ("1H",), ("13C",), ("1H", "13C")


def long_sequence():
    """22 elements: rect / gaussian / sinc / user-shaped pulses on one or both
    channels with varied flips and phases, delays, two acquisitions."""
    p = Pulse
    els = (
        p(flip_deg=90, nutation_hz=25e3, channels=H, label="exc"),
        Delay(duration_s=1 / (4 * 140.0)),
        p(flip_deg=180, nutation_hz=20e3, phase_deg=90, channels=BOTH),
        Delay(duration_s=1 / (4 * 140.0)),
        p(flip_deg=90, duration_s=60e-6, phase_deg=90, channels=H, shape="gaussian", steps=24),
        p(flip_deg=90, duration_s=80e-6, phase_deg=0, channels=C, shape="sinc", steps=30),
        Delay(duration_s=3.1e-4),
        p(flip_deg=45, duration_s=30e-6, phase_deg=135, channels=H, shape=(0.2, 0.6, 1.0, 0.6, 0.2)),
        Acquire(points=12, dwell_s=5e-5),
        p(flip_deg=120, nutation_hz=15e3, phase_deg=270, channels=C),
        Delay(duration_s=7.7e-4),
        p(flip_deg=30, duration_s=40e-6, phase_deg=17, channels=BOTH, shape=(1.0, -0.5, 0.8, 0.3)),
        p(flip_deg=270, nutation_hz=30e3, phase_deg=200, channels=H),
        Delay(duration_s=1.3e-4),
        p(flip_deg=60, duration_s=50e-6, phase_deg=315, channels=C, shape="gaussian", steps=16),
        p(flip_deg=150, duration_s=45e-6, phase_deg=45, channels=H, shape="sinc", steps=20),
        Delay(duration_s=2.2e-4),
        p(flip_deg=10, nutation_hz=5e3, phase_deg=100, channels=BOTH),
        p(flip_deg=200, duration_s=35e-6, phase_deg=250, channels=H, shape=(0.5, 1.0, 0.9, 0.4, 0.1, 0.3)),
        Delay(duration_s=4.5e-4),
        p(flip_deg=90, nutation_hz=25e3, phase_deg=180, channels=C),
        Acquire(points=20, dwell_s=4e-5),
    )
    return Sequence(els, name="qip cross-check")


def random_state(d, seed):
    rng = np.random.default_rng(seed)
    w = rng.normal(size=(d, d)) + 1j * rng.normal(size=(d, d))
    rho = w @ w.conj().T
    return rho / np.trace(rho)


def distances(a, b):
    diff = a - b
    return np.abs(diff).max(), 0.5 * np.abs(np.linalg.eigvalsh(0.5 * (diff + diff.conj().T))).sum()


# ------------------------------------------------------------------ Must-show 5
@pytest.mark.parametrize(
    "system, initial, rf_scale, offset_hz",
    [
        (hetero_pair(), "thermal", 1.0, 0.0),
        (hetero_pair(), "random", 0.93, 35.0),
        (three_spins(), "random", 1.0, 0.0),
    ],
    ids=["2 spins thermal", "2 spins mixed, rf 0.93, +35 Hz", "3 spins mixed"],
)
def test_processor_final_state_matches_simulate_to_1e6(system, initial, rf_scale, offset_hz):
    seq = long_sequence()
    assert len(seq.elements) >= 20
    assert all(p == 1.0 for p in system.polarization())  # the mapping needs p = 1 exactly
    rho0 = system.thermal_state() if initial == "thermal" else random_state(system.dim, 7)
    member = {"rf_scale": Distribution((rf_scale,)), "offsets_hz": Distribution((offset_hz,))}
    ours = simulate(system, seq, initial=rho0, **member).final_state

    # one Processor for the whole sequence (acquisitions become delays)
    proc, sched = to_processor(system, seq, rf_scale=rf_scale, offset_hz=offset_hz)
    assert sched.duration_s == pytest.approx(seq.duration, rel=1e-12)
    # the compiled model is the simulator's model: exact propagation of the
    # Processor's Hamiltonian and collapse operators agrees to round-off
    exact = expm_processor(proc, sched, rho0)
    assert distances(exact, ours)[0] < 1e-11

    # Must-show 5: the Processor's own ODE run agrees to 1e-6
    opts = dict(TIGHT, max_step=safe_max_step(seq), store_states=False, store_final_state=True)
    rho_q = proc.run_state(qutip.Qobj(rho0, dims=[[2] * system.n] * 2), tlist=[0.0, sched.duration_s], options=opts)
    got = rho_q.final_state.full()
    max_abs, trace_dist = distances(got, ours)
    assert max_abs < 1e-6 and trace_dist < 1e-6, (max_abs, trace_dist)
    # and the convenience wrapper gives the same
    again = run_processor(system, seq, initial=rho0, rf_scale=rf_scale, offset_hz=offset_hz, options=TIGHT)
    assert distances(again, ours)[0] < 1e-6


def test_hard_pulses_gradients_and_phase_cycles_run_between_processors():
    # JB-like preparation with ideal pulses and a gradient, a soft read, a
    # two-step phase cycle: run_processor cuts the sequence at the hard
    # pulses and the gradient and applies them exactly between Processor runs.
    s = hetero_pair()
    seq = Sequence(
        (
            Pulse(flip_deg=90, hard=True, channels=H),
            Delay(duration_s=1 / (4 * 140.0)),
            Pulse(flip_deg=180, hard=True, channels=BOTH, phase_deg=90),
            Delay(duration_s=1 / (4 * 140.0)),
            Pulse(flip_deg=90, hard=True, channels=BOTH, phase_deg=90),
            Gradient(),
            Pulse(flip_deg=70, duration_s=40e-6, channels=C, shape="gaussian", steps=16),
            Delay(duration_s=2e-4),
            Pulse(flip_deg=90, hard=True, channels=H, phase_deg=30),
            Gradient(orders=(2, -2)),
            Acquire(points=8, dwell_s=1e-4),
        ),
        phase_cycle=(PhaseStep((0, 0, 90, 0, 30), 0.0), PhaseStep((180, 0, 90, 0, 30), 180.0)),
    )
    rho0 = random_state(4, 3)
    ours = simulate(s, seq, initial=rho0).final_state
    assert distances(run_processor(s, seq, initial=rho0, engine="expm"), ours)[0] < 1e-12
    assert max(distances(run_processor(s, seq, initial=rho0, options=TIGHT), ours)) < 1e-6


def test_without_relaxation_any_temperature_compiles():
    # relaxation = False: no noise in the Processor, compared with
    # Simulator(relaxation=False) on the room-temperature thermal state.
    s = hetero_pair(temperature_k=298.15)
    seq = Sequence(long_sequence().elements[:8])
    ours = simulate(s, seq, relaxation=False).final_state
    proc, _ = to_processor(s, seq, relaxation=False)
    assert proc.t1 is None and proc.t2 is None
    got = run_processor(s, seq, relaxation=False, options=TIGHT)
    assert np.abs(run_processor(s, seq, relaxation=False, engine="expm") - ours).max() < 1e-15
    # The ODE tolerances act on the whole ρ ≈ 1/4, not on its ~1e-5
    # deviation: ~1e-10 absolute is ~1e-5 of the deviation.
    assert np.abs(got - ours).max() < 1e-9


def test_schedule_lists_steps_and_coefficients():
    s = hetero_pair()
    seq = Sequence(
        (
            Pulse(flip_deg=90, duration_s=10e-6, phase_deg=90, channels=H),
            Delay(duration_s=5e-5),
            Pulse(flip_deg=90, duration_s=20e-6, channels=C, shape=(1.0, 0.5)),
        )
    )
    proc, sched = to_processor(s, seq, rf_scale=0.5)
    np.testing.assert_allclose(sched.tlist, [0, 10e-6, 60e-6, 70e-6, 80e-6], rtol=0, atol=1e-18)
    w = 2 * np.pi * 25e3 * 0.5  # 90° in 10 µs = 25 kHz, halved by rf_scale
    np.testing.assert_allclose(sched.coeffs["1H:y"], [w, 0, 0, 0], atol=1e-9)
    np.testing.assert_allclose(sched.coeffs["1H:x"], [0, 0, 0, 0], atol=1e-9)
    nu = 90 / (360 * 20e-6 * 0.75)  # mean envelope 0.75
    np.testing.assert_allclose(sched.coeffs["13C:x"], [0, 0, np.pi * nu, np.pi * nu / 2], rtol=1e-12)
    assert set(proc.get_control_labels()) == {"1H:x", "1H:y", "13C:x", "13C:y"}
    assert sched.t1_s == (0.04, 0.07) and sched.t2_s == (0.015, 0.03)
    assert [sp[3] for sp in sched.spans] == ["Pulse", "Delay", "Pulse"]


def test_t2_equal_to_twice_t1_has_no_pure_dephasing():
    s = SpinSystem((Spin("1H", t1_s=0.01, t2_s=0.02),), proton_mhz=400, temperature_k=COLD_K)
    seq = Sequence((Pulse(flip_deg=90, duration_s=1e-5), Delay(duration_s=3e-3)))
    _, sched = to_processor(s, seq)
    assert sched.t2_s == (None,)
    got = run_processor(s, seq, engine="expm")
    np.testing.assert_allclose(got, simulate(s, seq).final_state, atol=1e-13)


# ------------------------------------------------------------------ refusals
@pytest.mark.parametrize(
    "system, seq, message",
    [
        (hetero_pair(), Sequence((Delay(duration_s=1e-4), Pulse(flip_deg=90, hard=True))),
         r"element 1 \(Pulse\): hard = True is not allowed in a Processor"),
        (hetero_pair(), Sequence((Delay(duration_s=1e-4), Gradient())),
         r"element 1 \(Gradient\): not allowed in a Processor"),
        (hetero_pair(298.15), Sequence((Delay(duration_s=1e-4),)),
         (r"spin 0 \(1H0\): thermal polarisation p = \d\.\d+e-05 is not allowed with t1_s: qutip-qip's t1 "
          r"relaxes toward \|0⟩ .* give temperature_k ≤ \d\.\d+e-04 K")),
        (SpinSystem((Spin("15N", t1_s=1.0),), proton_mhz=400, temperature_k=COLD_K), Sequence((Delay(duration_s=1e-4),)),
         r"spin 0 \(15N0\): thermal polarisation p = -1 .* γ < 0 relaxes toward \|1⟩"),
        (SpinSystem((Spin("1H"), Spin("1H")), (Coupling(0, 1, 1e3, kind="dipolar", t1d_s=0.1),), proton_mhz=400),
         Sequence((Delay(duration_s=1e-4),)), r"coupling \(0, 1\): t1d_s = 0\.1 is not allowed here"),
        (hetero_pair(), Sequence((Pulse(flip_deg=90, duration_s=1e-6, shape="gaussian", steps=2000),)),
         r"a step of 5e-10 s is not allowed"),
        (hetero_pair(), Sequence((Delay(duration_s=0.0),)), r"zero duration"),
    ],
    ids=["hard pulse", "gradient", "room temperature", "negative gamma", "T1D", "tiny steps", "empty"],
)
def test_what_a_processor_cannot_represent_is_refused(system, seq, message):
    with pytest.raises(SimulationError, match=message):
        to_processor(system, seq)


def test_run_processor_refuses_an_unmappable_model_before_running():
    with pytest.raises(SimulationError, match="thermal polarisation"):
        run_processor(hetero_pair(298.15), Sequence((Pulse(flip_deg=90, hard=True),)))
    with pytest.raises(SimulationError, match=r"engine = 'ode' is not allowed"):
        run_processor(hetero_pair(), Sequence((Delay(duration_s=1e-4),)), engine="ode")
