"""The sequence language: validation, derived quantities, timeline, and the
lossless dict / JSON / TOML round trip."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pulses.errors import SequenceError
from pulses.sequence import Acquire, Delay, Gradient, PhaseStep, Pulse, Sequence, envelope


def example():
    return Sequence(
        (
            Pulse(flip_deg=90, nutation_hz=25e3, phase_deg=0, label="p90"),
            Delay(duration_s=1.5e-4),
            Pulse(flip_deg=45, duration_s=20e-6, phase_deg=90, channels=("1H", "13C"), shape="gaussian"),
            Gradient(orders=(-2, 2)),
            Pulse(flip_deg=30, hard=True, phase_deg=180),
            Pulse(duration_s=1e-4, nutation_hz=3e3, shape=(0.1, 0.5, 1.0, 0.5, -0.1)),
            Acquire(points=512, spectral_width_hz=5000.0, receiver_phase_deg=90, channels=("1H",)),
        ),
        name="demo",
        phase_cycle=(PhaseStep((0, 90, 0, 0), 0), PhaseStep((180, 90, 0, 0), 180)),
    )


def test_derived_quantities():
    p = Pulse(flip_deg=90, nutation_hz=25e3)
    assert p.duration_s == pytest.approx(10e-6)
    g = Pulse(flip_deg=45, duration_s=20e-6, shape="gaussian")
    # flip = 360 ν1 τ mean(a): the Gaussian's mean envelope sets its peak ν1
    assert 360 * g.nutation_hz * g.duration_s * np.mean(envelope("gaussian", 64)) == pytest.approx(45)
    assert g.steps == 64
    a = Acquire(points=100, dwell_s=2e-4)
    assert a.spectral_width_hz == pytest.approx(5000) and a.duration == pytest.approx(0.02)
    seq = example()
    assert seq.duration == pytest.approx(10e-6 + 1.5e-4 + 20e-6 + 0 + 0 + 1e-4 + 512 / 5000)
    tl = seq.timeline()
    assert [k for _, _, k, _ in tl] == list(range(7))
    assert tl[-1][1] == pytest.approx(seq.duration)
    assert all(a[1] == pytest.approx(b[0]) for a, b in zip(tl, tl[1:]))


def test_round_trip_dict_json_toml_is_lossless():
    seq = example()
    assert Sequence.from_dict(seq.to_dict()) == seq
    assert Sequence.from_json(seq.to_json()) == seq
    text = seq.to_toml()
    assert "[[elements]]" in text and "[[phase_cycle]]" in text
    assert Sequence.from_toml(text) == seq


finite = st.floats(min_value=-720, max_value=720, allow_nan=False)


@settings(max_examples=60, deadline=None)
@given(
    flips=st.lists(st.floats(min_value=0.1, max_value=720), min_size=1, max_size=5),
    phases=st.lists(finite, min_size=5, max_size=5),
    nu=st.floats(min_value=1.0, max_value=1e6),
    delay=st.floats(min_value=0, max_value=1.0),
)
def test_round_trip_of_arbitrary_floats(flips, phases, nu, delay):
    els = []
    for f, ph in zip(flips, phases):
        els += [Pulse(flip_deg=f, nutation_hz=nu, phase_deg=ph), Delay(duration_s=delay)]
    seq = Sequence(tuple(els) + (Acquire(points=3, dwell_s=1e-3),))
    assert Sequence.from_toml(seq.to_toml()) == seq
    assert Sequence.from_json(seq.to_json()) == seq


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: Delay(duration_s=-1e-3), r"Delay: duration_s = -0.001 is not allowed: it must be a finite number ≥ 0"),
        (lambda: Pulse(phase_deg=90), r"flip_deg, duration_s and nutation_hz are missing"),
        (lambda: Pulse(flip_deg=90), r"duration_s and nutation_hz are missing"),
        (lambda: Pulse(flip_deg=90, duration_s=1e-5, nutation_hz=1e3), r"disagree"),
        (lambda: Pulse(flip_deg=90, nutation_hz=-5.0), r"nutation_hz = -5.0 is not allowed"),
        (lambda: Pulse(flip_deg=90, nutation_hz=1e3, shape="square"), r"shape = 'square' is not allowed"),
        (lambda: Pulse(flip_deg=90, nutation_hz=1e3, channels=()), r"channels = \(\) is not allowed"),
        (lambda: Pulse(hard=True), r"flip_deg is missing: a hard pulse"),
        (lambda: Acquire(points=0, dwell_s=1e-3), r"points = 0 is not allowed"),
        (lambda: Acquire(points=10), r"dwell_s and spectral_width_hz are missing"),
        (lambda: Gradient(orders=(1.5,)), r"orders = \(1.5,\) is not allowed"),
        (lambda: Gradient(orders=(0,)), r"order 0 holds the populations"),
        (lambda: Gradient(orders="12"), r"orders = '12' is not allowed"),
        (lambda: Pulse(flip_deg=-90, duration_s=1e-5), r"flip_deg = -90.0 does not have the sign of the shape's mean amplitude \(\+1\)"),
        (lambda: Pulse(flip_deg=90, duration_s=1e-4, shape=(-1.0, -0.5)), r"flip_deg = 90.0 does not have the sign of the shape's mean amplitude \(-0.75\)"),
        (lambda: Pulse(flip_deg=90, hard=True, duration_s=1e-5), r"a hard pulse is instantaneous"),
        (lambda: Pulse(flip_deg=90, nutation_hz=1e3, channels=("1H", "1H")), r"may appear only once"),
        (lambda: Sequence((Pulse(flip_deg=90, hard=True),), phase_cycle=(PhaseStep((0, 90)),)),
         r"phase_cycle step 0: 2 pulse phases given, the sequence has 1 pulses"),
        (lambda: Sequence(("pulse",)), r"element 0: 'pulse' is not a Pulse"),
        (lambda: Delay(duration_s=1e-3, label=5), r"Delay: label = 5 is not allowed: give a string"),
        (lambda: Sequence((), name=None), r"sequence: name = None is not allowed"),
    ],
)
def test_invalid_elements_name_the_element_and_field(make, message):
    with pytest.raises(SequenceError, match=message):
        make()


def test_from_dict_names_the_element_index():
    d = example().to_dict()
    d["elements"][1]["duration_s"] = -5.0
    with pytest.raises(SequenceError, match=r"element 1 \(Delay\): Delay: duration_s = -5.0"):
        Sequence.from_dict(d)
    d = example().to_dict()
    d["elements"][2]["bogus"] = 1
    with pytest.raises(SequenceError, match=r"element 2 \(Pulse\): unknown field\(s\) bogus"):
        Sequence.from_dict(d)
    d["elements"][2] = {"type": "Laser"}
    with pytest.raises(SequenceError, match=r"element 2: type = 'Laser' is not allowed"):
        Sequence.from_dict(d)
    with pytest.raises(SequenceError, match="TOML is malformed"):
        Sequence.from_toml("elements = [")
    with pytest.raises(SequenceError, match=r"unknown field\(s\) phasecycle"):
        Sequence.from_dict({"elements": [], "phasecycle": []})
    with pytest.raises(SequenceError, match=r"phase_cycle step 0: unknown field\(s\) phases"):
        Sequence.from_dict({"elements": [], "phase_cycle": [{"phases": [0]}]})
    with pytest.raises(SequenceError, match="needs an 'elements' list"):
        Sequence.from_dict({"elements": 5})
    with pytest.raises(SequenceError, match="phase_cycle = 5 is not allowed"):
        Sequence.from_dict({"elements": [], "phase_cycle": 5})


def test_non_ascii_labels_round_trip_through_toml():
    seq = Sequence((Delay(duration_s=1e-3, label="τ 𝜏 wait"),), name="Jeener–Broekaert 🧲")
    assert Sequence.from_toml(seq.to_toml()) == seq


def test_check_against_channels():
    with pytest.raises(SequenceError, match=r"element 2 \(Pulse\): channels = \('1H', '13C'\) is not allowed: the spin system has 1H"):
        example().check(("1H",))
    example().check(("1H", "13C"))


def test_elements_are_immutable_and_phase_cycle_substitutes_phases():
    p = Pulse(flip_deg=90, nutation_hz=1e3)
    with pytest.raises(Exception):
        p.phase_deg = 10
    seq = example()
    s1 = seq.with_phases(seq.phase_cycle[1])
    assert [e.phase_deg for e in s1.elements if isinstance(e, Pulse)] == [180, 90, 0, 0]
    assert math.isclose(s1.duration, seq.duration)
