"""Waveforms as data, Bruker shape files, selective pulses on named spins and
the qutip-qip cross-check of shaped pulses and mixed thermal states (issue 13)."""

import warnings

import numpy as np
import pytest

from pulses.builders import hard_pulse, selective_pulse
from pulses.errors import DataError, SequenceError, SimulationError
from pulses.platform import ChannelLimits, Platform, selective_pulses
from pulses.qip import TIGHT, expm_processor, run_processor, to_processor
from pulses.sequence import Acquire, Delay, Pulse, Sequence, ShapedPulse
from pulses.simulate import Simulator, simulate
from pulses.spinsystem import Coupling, Spin, SpinSystem
from pulses.waveform import Waveform, read_shape, write_shape


def pair(temperature_k=298.15):
    return SpinSystem((Spin("1H", offset_hz=230.0, t1_s=0.04, t2_s=0.015), Spin("13C", offset_hz=-120.0, t1_s=0.07,
                                                                                 t2_s=0.03)),
                      (Coupling(0, 1, 140.0),), proton_mhz=400.0, temperature_k=temperature_k)


def grape(seed=2, steps=300, dt=3e-6):
    """A GRAPE-like two-channel pulse: smooth amplitude, phase modulation."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 1, steps)
    controls = {}
    for ch, f in (("1H", 3.0), ("13C", 5.0)):
        amp = 9e3 * np.sin(np.pi * t) * (0.6 + 0.4 * rng.random(steps))
        ph = 2 * np.pi * f * t + 0.3 * rng.standard_normal(steps)
        controls[ch] = (amp * np.cos(ph), amp * np.sin(ph))
    return ShapedPulse.from_xy(steps * dt, controls, label="grape"), controls


# ------------------------------------------------------------------ waveforms
def test_from_xy_reproduces_the_controls():
    p, controls = grape()
    xy = p.xy_hz()
    for c, ch in enumerate(p.channels):
        np.testing.assert_allclose(xy[:, c, 0], controls[ch][0], atol=1e-9 * 9e3)
        np.testing.assert_allclose(xy[:, c, 1], controls[ch][1], atol=1e-9 * 9e3)
    assert max(p.waveforms[0].amplitude_pct) == 100.0


def test_named_waveform_is_the_pulse_envelope():
    # a ShapedPulse with the sinc waveform (negative lobes as phase 180°) is
    # the same physics as the Pulse of that shape
    s = pair()
    pulse = Pulse(flip_deg=90, duration_s=2e-4, shape="sinc", steps=32, phase_deg=30, channels=("1H",))
    shaped = ShapedPulse(duration_s=2e-4, waveforms=(Waveform.named("sinc", 32),), channels=("1H",),
                         nutation_hz=pulse.nutation_hz, phase_deg=30)
    a = simulate(s, Sequence((pulse,))).final_state
    b = simulate(s, Sequence((shaped,))).final_state
    assert np.abs(a - b).max() <= 1e-12


def test_simultaneous_pulses_on_two_channels_are_one_element():
    # two rectangular pulses at once, one per channel, at different phases and
    # amplitudes: the ShapedPulse against the qutip-qip model of the same pulse
    s = pair(temperature_k=1e-6)
    p = ShapedPulse(duration_s=2e-5, waveforms=(Waveform((100.0,) * 4, (0.0,) * 4), Waveform((50.0,) * 4, (90.0,) * 4)),
                    channels=("1H", "13C"), nutation_hz=(12.5e3, 20e3))
    seq = Sequence((p, Delay(duration_s=1e-4)))
    proc, sched = to_processor(s, seq)
    ref = expm_processor(proc, sched, s.thermal_state())
    assert np.abs(simulate(s, seq).final_state - ref).max() <= 1e-12


@pytest.mark.parametrize("make, message", [
    (lambda: Waveform((101.0,)), r"amplitude_pct holds 101.0, which is not allowed: every amplitude must be in \[0, 100\]"),
    (lambda: Waveform((50.0, 50.0), (0.0,)), r"phase_deg has 1 values for 2 amplitudes"),
    (lambda: Waveform("gaussian"), r"amplitude_pct = 'gaussian' is not allowed"),
    (lambda: Waveform((1.0,), parameters=(("NPOINTS", "3"),)), r"parameters key 'NPOINTS' is not allowed"),
    (lambda: ShapedPulse(duration_s=1e-5, waveforms=(Waveform((1.0, 2.0)), Waveform((1.0,))), channels=("1H", "13C"),
                         nutation_hz=1e3), r"ShapedPulse: waveforms = steps \[2, 1\] is not allowed"),
    (lambda: ShapedPulse(duration_s=1e-5, waveforms=(Waveform((1.0,)),), channels=("1H", "13C"), nutation_hz=1e3),
     r"1 waveforms for 2 channels"),
    (lambda: ShapedPulse(waveforms=(Waveform((1.0,)),), nutation_hz=1e3), r"duration_s is missing"),
    (lambda: ShapedPulse(duration_s=1e-5, waveforms=(Waveform((1.0,)),), nutation_hz=(1e3, 2e3)),
     r"nutation_hz = \(1000.0, 2000.0\) is not allowed: give one peak nutation frequency per channel"),
    (lambda: Pulse(flip_deg=90, hard=True, spins=(0, 0)), r"spins = \(0, 0\) is not allowed"),
])
def test_bad_waveforms_and_shaped_pulses_name_the_field(make, message):
    with pytest.raises(SequenceError, match=message):
        make()


def test_shaped_pulses_round_trip_and_take_part_in_phase_cycles():
    p, _ = grape(steps=12)
    seq = Sequence((Pulse(flip_deg=90, hard=True, spins=(0,)), p, Acquire(points=8, dwell_s=1e-4)),
                   phase_cycle=({"pulse_phases_deg": [0, 90], "receiver_phase_deg": 0},))
    for text, back in ((seq.to_json(), Sequence.from_json), (seq.to_toml(), Sequence.from_toml)):
        assert back(text) == seq
    assert seq.with_phases(seq.phase_cycle[0]).elements[1].phase_deg == 90.0


# ---------------------------------------------------------- Bruker shape files
def test_shape_files_round_trip_bit_exactly(tmp_path):
    p, _ = grape()
    for w in p.waveforms:
        first = write_shape(w, tmp_path / "a")
        text = first.read_bytes()
        back = read_shape(first)
        assert back.amplitude_pct == w.amplitude_pct and back.phase_deg == w.phase_deg and back.title == w.title
        again = write_shape(back, tmp_path / "b")
        assert again.read_bytes() == text and read_shape(again) == back
        first.unlink()
        again.unlink()


def test_grape_pulse_from_shape_files_equals_the_pulse_in_code(tmp_path):
    # Must show 3: the same final state to 1e-12 (and to 1e-9 against qutip-qip's model)
    p, _ = grape()
    paths = [write_shape(w, tmp_path / f"grape_{ch}") for w, ch in zip(p.waveforms, p.channels)]
    loaded = ShapedPulse(duration_s=p.duration_s, waveforms=tuple(read_shape(x) for x in paths),
                         channels=p.channels, nutation_hz=p.nutation_hz)
    s = pair(temperature_k=1e-6)
    a = Simulator(s).run(Sequence((p,))).final_state
    b = Simulator(s).run(Sequence((loaded,))).final_state
    assert np.abs(a - b).max() <= 1e-12
    proc, sched = to_processor(s, Sequence((loaded,)))
    assert np.abs(expm_processor(proc, sched, s.thermal_state()) - b).max() <= 1e-9


def test_a_topspin_style_shape_file_is_read(tmp_path):
    text = "\n".join([
        "##TITLE= /opt/topspin/exp/stan/nmr/lists/wave/Gaus1.1000",
        "##JCAMP-DX= 5.00 $$ Bruker JCAMP library",
        "##DATA TYPE= Shape Data",
        "##ORIGIN= Bruker Analytik GmbH",
        "##MINX= 1.000000E00",
        "##MAXX= 1.000000E02",
        "##$SHAPE_EXMODE= Excitation",
        "##$SHAPE_TOTROT= 9.000000E01",
        "##NPOINTS= 3",
        "##XYPOINTS= (XY..XY)",
        " 1.000000E00,  0.000000E00",
        "$$ a comment",
        " 1.000000E02,  1.800000E02",
        "5.000000E01 9.000000E01",
        "##END=",
    ]) + "\n"
    f = tmp_path / "Gaus1"
    f.write_text(text)
    w = read_shape(f)
    assert w.amplitude_pct == (1.0, 100.0, 50.0) and w.phase_deg == (0.0, 180.0, 90.0)
    assert w.title.endswith("Gaus1.1000")
    assert ("$SHAPE_TOTROT", "9.000000E01") in w.parameters
    assert read_shape(write_shape(w, tmp_path / "copy")) == w


@pytest.mark.parametrize("body, message", [
    ("##NPOINTS= 2\n##XYPOINTS= (XY..XY)\n1, 0\n##END=\n", r"##NPOINTS= 2 but the file has 1 data lines"),
    ("##XYPOINTS= (XY..XY)\n101, 0\n##END=\n", r"line 2: '101, 0' is not allowed: the amplitude must be in \[0, 100\]"),
    ("##XYPOINTS= (XY..XY)\n1, x\n", r"line 2: '1, x' is not a pair of numbers"),
    ("##TITLE= t\n1, 0\n", r"line 2: '1, 0' is not allowed: data lines hold 'amplitude, phase' after ##XYPOINTS="),
    ("##TITLE= t\n##END=\n", r"no data points"),
    ("##XYPOINTS= (XY..XY)\n1, 0\n##END=\n2, 0\n", r"line 4: text after ##END= is not allowed"),
])
def test_malformed_shape_files_name_the_file_and_line(tmp_path, body, message):
    f = tmp_path / "bad"
    f.write_text(body)
    with pytest.raises(DataError, match=message):
        read_shape(f)


def test_shape_file_io_errors(tmp_path):
    with pytest.raises(DataError, match="cannot be read"):
        read_shape(tmp_path / "missing")
    w = Waveform((10.0, 20.0))
    write_shape(w, tmp_path / "w")
    with pytest.raises(DataError, match="exists: give overwrite=True"):
        write_shape(w, tmp_path / "w")
    write_shape(Waveform((30.0,)), tmp_path / "w", overwrite=True)
    assert read_shape(tmp_path / "w").amplitude_pct == (30.0,)
    assert not [x for x in tmp_path.iterdir() if x.name.startswith(".")]  # no temporary file left


# ------------------------------------------------------------ selective pulses
def like_pair():
    return SpinSystem((Spin("1H", offset_hz=600.0), Spin("1H", offset_hz=-600.0)), (Coupling(0, 1, 8.0),),
                      proton_mhz=400.0)


def test_a_pulse_on_a_named_spin_rotates_that_spin_only():
    s = like_pair()
    o = s.ops
    res = simulate(s, Sequence((hard_pulse(s, 90, spins=0, selective=True),)), relaxation=False)
    m0 = s.polarization()[0] / 2
    assert np.trace(res.final_state @ o["y"][0]).real / m0 == pytest.approx(-1.0, abs=1e-9)
    assert np.trace(res.final_state @ o["z"][1]).real / (s.polarization()[1] / 2) == pytest.approx(1.0, abs=1e-9)
    with pytest.raises(SequenceError, match="needs a selective pulse"):
        hard_pulse(s, 90, spins=0)


def test_a_gaussian_selective_pulse_selects_by_offset():
    # the physics of frequency selection, simulated from the offsets: a 10 ms
    # Gaussian whose phase follows spin 0's offset tips spin 0 (≥ 98 % to −y)
    # and leaves spin 1, 1200 Hz away, along z (≥ 99.9 %)
    s = like_pair()
    res = simulate(s, Sequence((selective_pulse(s, 0, 90.0, 10e-3),)), relaxation=False)
    o = s.ops
    m = [s.polarization()[k] / 2 for k in (0, 1)]
    assert np.trace(res.final_state @ o["y"][0]).real / m[0] <= -0.98
    assert np.trace(res.final_state @ o["z"][1]).real / m[1] >= 0.999


def test_the_platform_report_flags_pulses_that_need_a_selective_shape():
    s = like_pair()
    plat = Platform("pair", s, {"1H": ChannelLimits(max_nutation_hz=50e3, max_pulse_s=0.05)})
    seq = Sequence((hard_pulse(s, 90, spins=0, selective=True, label="sel"), Delay(duration_s=1e-3),
                    Pulse(flip_deg=90, hard=True), selective_pulse(s, 1, 90.0, 10e-3)))
    rep = plat.report(seq)
    assert rep["needs_selective_shape"] is True
    assert [(x["element"], x["spins"], x["other_spins"]) for x in rep["selective"]] == [(0, [0], [1])]
    assert rep["selective"][0]["min_offset_separation_hz"] == pytest.approx(1200.0)
    assert rep["duty_cycles"]["1H"] > 0
    assert selective_pulses(s, Sequence((Pulse(flip_deg=90, hard=True),))) == []
    too_strong = Sequence((ShapedPulse(duration_s=1e-5, waveforms=(Waveform((100.0,)),), nutation_hz=60e3),))
    with pytest.raises(SequenceError, match=r"peak nutation 60000 Hz .* exceeds the platform's maximum 50000 Hz"):
        plat.check(too_strong)


def test_selective_pulses_compile_to_qutip_qip_controls_of_their_spins():
    s = SpinSystem((Spin("1H", offset_hz=300.0, t1_s=0.05, t2_s=0.02), Spin("1H", offset_hz=-200.0, t1_s=0.05,
                                                                             t2_s=0.02), Spin("13C", t1_s=0.1)),
                   (Coupling(0, 1, 9.0), Coupling(1, 2, 140.0)), proton_mhz=400.0, temperature_k=1e-6)
    seq = Sequence((Pulse(flip_deg=90, duration_s=2e-5, spins=(1,)), Delay(duration_s=2e-4),
                    ShapedPulse(duration_s=2e-5, waveforms=(Waveform((80.0, 100.0), (0.0, 45.0)),
                                                            Waveform((60.0, 20.0))),
                                channels=("1H", "13C"), nutation_hz=(10e3, 5e3), spins=(0, 2))))
    proc, sched = to_processor(s, seq)
    assert any(isinstance(ch, tuple) for ch, _ in sched.controls.values())
    ref = expm_processor(proc, sched, s.thermal_state())
    assert np.abs(simulate(s, seq).final_state - ref).max() <= 1e-12
    # ideal pulses on named spins: exact rotations of those spins between Processor runs
    hard = Sequence((Pulse(flip_deg=90, hard=True, spins=(1,)), Delay(duration_s=1e-3),
                     Pulse(flip_deg=90, hard=True, spins=(0, 2), channels=("1H", "13C")), Delay(duration_s=1e-4)))
    got = run_processor(s, hard, engine="expm")
    assert np.abs(simulate(s, hard).final_state - got).max() <= 1e-12


# ---------------------------------------------------- mixed thermal cross-check
def test_qutip_qip_cross_check_from_a_mixed_thermal_state():
    # Relaxation toward a mixed thermal state (any temperature, γ of either
    # sign) through qutip-qip DecoherenceNoise: the Processor's model,
    # propagated exactly, is the simulator's to rounding, and mesolve at
    # TIGHT tolerances follows it to 1e-9.
    s = SpinSystem((Spin("1H", offset_hz=230.0, t1_s=0.004, t2_s=0.0015),
                    Spin("13C", offset_hz=-120.0, t1_s=0.007, t2_s=0.003),
                    Spin("15N", offset_hz=50.0, t1_s=0.005, t2_s=0.004)),
                   (Coupling(0, 1, 140.0), Coupling(1, 2, 15.0)), proton_mhz=400.0, temperature_k=0.02)
    assert 0 < s.polarization()[0] < 1 and s.polarization()[2] < 0  # mixed, and 15N polarised down
    seq = Sequence((Pulse(flip_deg=90, duration_s=1e-5, channels=("1H", "13C", "15N")), Delay(duration_s=2e-3),
                    Pulse(flip_deg=45, duration_s=1e-5, phase_deg=90), Delay(duration_s=3e-3)))
    ours = simulate(s, seq).final_state
    exact = run_processor(s, seq, engine="expm", relaxation_model="thermal")
    assert np.abs(ours - exact).max() <= 1e-13
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ode = run_processor(s, seq, relaxation_model="thermal", options=TIGHT)
    assert np.abs(ours - ode).max() <= 1e-9
    _, sched = to_processor(s, seq, relaxation_model="thermal")
    kinds = {(k, kind) for k, kind, _ in sched.collapse}
    assert {(0, "lower"), (0, "raise"), (0, "dephase"), (2, "raise")} <= kinds
    with pytest.raises(SimulationError, match=r"relaxation_model = 'gad' is not allowed: use qip, thermal"):
        to_processor(s, seq, relaxation_model="gad")
