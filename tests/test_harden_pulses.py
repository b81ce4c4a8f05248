"""Hardening of pulses (issue 8): every bad input is a one-line error of the
package's own class, naming the field; every accepted value round-trips;
sizes that cannot fit are refused before anything is allocated.

The error contract (pulses/errors.py): SpinSystemError for spin-system
descriptions, SequenceError for sequences, their elements and their
(de)serialisation, SimulationError when a simulation cannot proceed,
DataError for FID/spectrum values and processing options.  Never a raw
TypeError/AttributeError/OverflowError/LinAlgError/RecursionError/
MemoryError/OSError/KeyError, never a non-finite number in a result.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from pulses import _validate
from pulses.errors import DataError, PulsesError, SequenceError, SimulationError, SpinSystemError
from pulses.fid import FID, stack_fids
from pulses.sequence import Acquire, Delay, Gradient, PhaseStep, Pulse, Sequence
from pulses.simulate import Distribution, SimulationResult, Simulator, simulate
from pulses.spectra import (
    Spectrum,
    add_noise,
    apodize,
    fft,
    fit_lines,
    integrate,
    line_shape,
    measure_snr,
    noise_sigma,
    zero_fill,
)
from pulses.spinsystem import Coupling, Spin, SpinSystem

P90 = Pulse(flip_deg=90, duration_s=1e-5)


def one_spin(**kw) -> SpinSystem:
    return SpinSystem((Spin("1H", **kw),), proton_mhz=400.0)


def small_fid() -> FID:
    t = np.arange(64) * 1e-3
    return FID(np.exp(2j * np.pi * 50 * t - 20 * t), 1e-3, 400.0)


def raises(cls, fn, *fields: str) -> str:
    """Call fn, require exactly ``cls`` (not just a subclass of PulsesError),
    a one-line message, and every string of ``fields`` in it."""
    with pytest.raises(PulsesError) as info:
        fn()
    assert type(info.value) is cls, f"{type(info.value).__name__}: {info.value}"
    msg = str(info.value)
    assert msg and "\n" not in msg, msg
    for f in fields:
        assert f in msg, f"{f!r} not in {msg!r}"
    return msg


# --------------------------------------------------------------------------
# the items of the issue, one test each
# --------------------------------------------------------------------------
def test_misspelt_phase_cycle_key_is_an_error_with_a_suggestion():
    msg = raises(
        SequenceError,
        lambda: Sequence((P90,), phase_cycle=[{"pulse_phases_deg": [0], "receiver_phase": 180}]),
        "phase_cycle step 0", "receiver_phase", "did you mean 'receiver_phase_deg'?",
    )
    assert "allowed: pulse_phases_deg, receiver_phase_deg" in msg
    # the same everywhere: from_dict, elements, simulate's options
    d = Sequence((P90,)).to_dict()
    d["elements"][0]["flip_degs"] = 90
    raises(SequenceError, lambda: Sequence.from_dict(d), "element 0 (Pulse)", "flip_degs", "did you mean 'flip_deg'?")
    raises(SequenceError, lambda: Sequence.from_dict({"elements": [], "nmae": "x"}), "nmae", "did you mean 'name'?")
    raises(SimulationError, lambda: simulate(one_spin(), Sequence((P90,)), relaxtion=False),
           "relaxtion", "did you mean 'relaxation'?")


@pytest.mark.parametrize("step", [{"pulse_phases_deg": 0}, {"pulse_phases_deg": "0"}, PhaseStep])
def test_phase_cycle_with_a_scalar_where_a_list_belongs(step):
    if step is PhaseStep:
        raises(SequenceError, lambda: PhaseStep(0), "pulse_phases_deg")
        raises(SequenceError, lambda: PhaseStep([0], receiver_phase_deg=[180]), "receiver_phase_deg")
    else:
        raises(SequenceError, lambda: Sequence((P90,), phase_cycle=[step]), "phase_cycle step 0", "pulse_phases_deg")
    raises(SequenceError, lambda: Sequence((P90,), phase_cycle=5), "phase_cycle")
    raises(SequenceError, lambda: Sequence((P90,), phase_cycle=[[0]]), "phase_cycle step 0")


def test_channels_must_be_a_list_of_names():
    text = json.dumps({"elements": [{"type": "Pulse", "flip_deg": 90, "duration_s": 1e-5, "channels": {"1H": 1}}]})
    raises(SequenceError, lambda: Sequence.from_json(text), "element 0 (Pulse)", "channels")
    raises(SequenceError, lambda: Acquire(points=4, dwell_s=1e-3, channels={"1H"}), "Acquire", "channels")
    raises(SequenceError, lambda: Pulse(flip_deg=90, hard=True, channels=[1]), "channels")
    assert Pulse(flip_deg=90, hard=True, channels="13C").channels == ("13C",)


@pytest.mark.parametrize(
    "build, fields",
    [
        (lambda: Spin("1H", label=42), ("label", "42")),
        (lambda: Spin(["1H"]), ("isotope", "['1H']")),
        (lambda: Spin(None), ("isotope", "None")),
        (lambda: SpinSystem(None, proton_mhz=400), ("spins", "None")),
        (lambda: SpinSystem((Spin(),), None, proton_mhz=400), ("couplings", "None")),
        (lambda: SpinSystem((Spin(),), carrier_ppm=None, proton_mhz=400), ("carrier_ppm",)),
        (lambda: SpinSystem((Spin(),), proton_mhz="400"), ("proton_mhz", "'400'")),
        (lambda: SpinSystem((Spin(),), proton_mhz=10**400), ("proton_mhz", "401 digits")),
        (lambda: SpinSystem((Spin(shift_ppm=1e300),), proton_mhz=1e10), ("spin 0", "shift_ppm")),
        (lambda: Coupling(0, 1, 5.0, weak="yes"), ("weak",)),
        (lambda: Coupling(0, 1, 5.0, kind=["J"]), ("kind",)),
        (lambda: Coupling(0.0, 1, 5.0), ("coupling i",)),
    ],
)
def test_bad_spin_system_fields_are_spin_system_errors(build, fields):
    raises(SpinSystemError, build, *fields)


def test_zero_flip_pulse_round_trips():
    for p in (
        Pulse(flip_deg=0, duration_s=1e-5),
        Pulse(duration_s=1e-5, nutation_hz=0),
        Pulse(flip_deg=0, nutation_hz=1e3),  # zero duration
        Pulse(flip_deg=0, duration_s=2e-5, shape=(1.0, -0.5, 0.2)),
        Pulse(flip_deg=0, hard=True),
    ):
        seq = Sequence((p,))
        assert Sequence.from_dict(seq.to_dict()) == seq
        assert Sequence.from_json(seq.to_json()) == seq
        assert Sequence.from_toml(seq.to_toml()) == seq
    assert Pulse(flip_deg=0, duration_s=1e-5).nutation_hz == 0.0
    raises(SequenceError, lambda: Pulse(flip_deg=90, nutation_hz=0), "nutation_hz = 0", "flip_deg")
    raises(SequenceError, lambda: Pulse(flip_deg=0, duration_s=0), "duration_s = 0", "nutation_hz")


@pytest.mark.parametrize("value", ["x", None, -1, 0, float("nan"), True, [1024]])
def test_max_cache_mib_is_checked(value):
    raises(SimulationError, lambda: simulate(one_spin(), Sequence((P90,)), max_cache_mib=value), "max_cache_mib")


def test_sequence_text_must_be_a_str_and_not_nested_too_deeply():
    raises(SequenceError, lambda: Sequence.from_json(None), "JSON", "text = None")
    raises(SequenceError, lambda: Sequence.from_toml(b'name = "x"'), "TOML", "text = b'name", "decode")
    raises(SequenceError, lambda: Sequence.from_json(b"{}"), "JSON", "decode")
    raises(SequenceError, lambda: Sequence.from_toml(None), "TOML", "text = None")
    deep = 10**5
    raises(SequenceError, lambda: Sequence.from_json("[" * deep + "]" * deep), "JSON", "nested too deeply")
    raises(SequenceError, lambda: Sequence.from_toml("a = " + "[" * deep + "]" * deep), "TOML", "nested too deeply")
    raises(SequenceError, lambda: Sequence.from_json('{"elements": [], "name": ' + "[" * 900 + "]" * 900 + "}"), "name")
    raises(SequenceError, lambda: Sequence.from_json("1" * 5000), "JSON is malformed")
    raises(SequenceError, lambda: Sequence.from_json("[]"), "'elements' list")
    raises(SequenceError, lambda: Sequence.from_dict({"elements": [{"type": ["Pulse"]}]}), "element 0", "type")


def test_sizes_that_cannot_fit_are_refused_up_front():
    text = json.dumps({"elements": [{"type": "Pulse", "flip_deg": 90, "duration_s": 1e-5, "shape": "gaussian",
                                     "steps": 10**22}]})
    raises(SequenceError, lambda: Sequence.from_json(text), "element 0 (Pulse)", "steps = 10000000000000000000000",
           "would need", "at most 4 GiB")
    t = time.perf_counter()
    raises(SequenceError, lambda: Pulse(flip_deg=90, duration_s=1e-3, shape="gaussian", steps=10**9),
           "steps = 1000000000", "would need 7.45 GiB; at most 4 GiB is allowed")
    raises(SequenceError, lambda: Acquire(points=10**10, dwell_s=1e-3), "points = 10000000000", "would need 149 GiB")
    assert time.perf_counter() - t < 0.5  # nothing was allocated
    f = small_fid()
    raises(DataError, lambda: zero_fill(f, 2**40), "zero_fill.n = 1099511627776", "would need 16 TiB")
    # a simulation whose propagators would not fit: 3 spins (65 × 65 reals a
    # propagator), a pulse of 200,000 steps
    big = Pulse(flip_deg=90, duration_s=1e-3, shape="sinc", steps=200_000, label="long")
    three = SpinSystem((Spin(), Spin(), Spin()), proton_mhz=400.0)
    raises(SimulationError, lambda: simulate(three, Sequence((big,))), "200000 steps", "would need up to 6.3 GiB",
           "element 0 (Pulse 'long')")
    raises(SimulationError, lambda: simulate(three, Sequence((Acquire(points=2 * 10**8, dwell_s=1e-9),))),
           "element 0 (Acquire): points = 200000000", "its trajectory")
    assert _validate.MAX_BYTES == 4 * 2**30


def test_overflowing_durations_name_the_element():
    s = one_spin(offset_hz=100.0, t1_s=1.0, t2_s=0.5)
    seq = Sequence((P90, Delay(1.7e308, label="wait"), Acquire(points=8, dwell_s=1e-3)))
    msg = raises(SimulationError, lambda: simulate(s, seq), "element 1 (Delay 'wait')", "duration_s = 1.7e+308",
                 "propagator")
    assert "NaN" not in msg
    raises(SimulationError, lambda: simulate(s, Sequence((Pulse(flip_deg=1e308, hard=True),)), rf_scale=10),
           "element 0 (Pulse)", "flip_deg = 1e+308")
    raises(SimulationError, lambda: simulate(s, Sequence((P90, Acquire(points=2, dwell_s=1e300)))),
           "element 1 (Acquire)", "dwell_s = 1e+300")
    raises(SimulationError, lambda: simulate(one_spin(t1_s=1e-320), Sequence((P90,))), "spin 0", "t1_s")
    raises(SimulationError, lambda: simulate(one_spin(offset_hz=1e308), Sequence((P90,))), "free Hamiltonian")
    # a delay that long is fine when nothing evolves (no offset, no relaxation)
    res = simulate(one_spin(), Sequence((P90, Delay(1.7e308), Acquire(points=2, dwell_s=1e-3))))
    assert np.all(np.isfinite(res.fid().data))
    # derived pulse values must be finite too
    raises(SequenceError, lambda: Pulse(flip_deg=1e308, duration_s=1e-300), "nutation_hz = inf")
    raises(SequenceError, lambda: Sequence((Delay(1e308), Delay(1e308))), "total duration")
    raises(SequenceError, lambda: Acquire(points=4, dwell_s=1e308), "acquisition time")
    raises(SequenceError, lambda: Acquire(points=4, spectral_width_hz=1e-320), "dwell_s")


def test_processing_options_are_data_errors_naming_the_field():
    f = small_fid()
    raises(DataError, lambda: apodize(f, ["exponential"], lb_hz=1.0), "apodize.kind")
    raises(DataError, lambda: apodize(f, lb_hz="1"), "apodize.lb_hz")
    raises(DataError, lambda: apodize(f, "lorentz_to_gauss", lb_hz=1e308, gb_hz=1.0), "apodize", "lb_hz")
    assert np.all(np.isfinite(apodize(f, lb_hz=1e308).data))
    raises(DataError, lambda: zero_fill(f, 64.0), "zero_fill.n")
    raises(DataError, lambda: zero_fill(f, None), "zero_fill.n")
    raises(DataError, lambda: add_noise(f, 1e-320, 1), "σ", "snr")
    raises(DataError, lambda: add_noise(f, [10], 1), "add_noise.snr")
    raises(DataError, lambda: add_noise(f, 10, np.int64(-1)), "add_noise.seed")
    raises(DataError, lambda: fft(None), "fft", "fid = None")
    raises(DataError, lambda: fft(FID([1e308, 1e308, 1e308], 1.0, 400.0)), "fft", "overflows")
    raises(DataError, lambda: f.row(0), "1-D")
    raises(DataError, lambda: stack_fids([f, f]).row("0"), "FID.row: i")
    raises(DataError, lambda: stack_fids(None), "stack_fids")
    s = fft(f)
    raises(DataError, lambda: s.phase(0.0, 1e308), "ph1_deg")
    raises(DataError, lambda: integrate(s, 5), "integrate.regions_hz")
    raises(DataError, lambda: integrate(s, [(0, 10), "ab"]), "regions_hz[1]")
    raises(DataError, lambda: fit_lines(s, [10**400]), "fit_lines.centers_hz")
    raises(DataError, lambda: fit_lines(s, [50.0], complex_amplitudes="yes"), "complex_amplitudes")
    raises(DataError, lambda: fit_lines(s, [50.0], fit_kws={"no_such_option": 1}), "fit_kws")
    raises(DataError, lambda: measure_snr(s, method=["max"]), "measure_snr.method")
    raises(DataError, lambda: line_shape(s, 0.0, 1.0, amplitude="1"), "line_shape.amplitude")
    raises(DataError, lambda: line_shape(None, 0.0, 1.0), "line_shape", "spectrum")
    raises(DataError, lambda: FID(["1", "2"], 1e-3, 400.0), "FID.data")
    raises(DataError, lambda: FID([1, 2], True, 400.0), "FID.dwell_s")
    raises(DataError, lambda: FID([1, 2], 5e-324, 400.0), "FID.dwell_s")
    raises(DataError, lambda: FID([1, 2], 1e-3, 400.0, metadata={"x": float("nan")}), "FID.metadata")
    raises(DataError, lambda: FID([1, 2], 1e-3, 400.0, metadata={1: 2}), "FID.metadata")
    raises(DataError, lambda: Spectrum([1, 2], ["a", "b"], 400.0), "Spectrum.hz")
    raises(DataError, lambda: Spectrum([1, 2], [-1e308, 1e308], 400.0), "Spectrum.hz")


def test_simulator_inputs_are_simulation_errors_naming_the_field():
    s = one_spin()
    raises(SimulationError, lambda: Simulator(None), "system = None")
    raises(SimulationError, lambda: Simulator(s, relaxation="no"), "relaxation")
    raises(SimulationError, lambda: Simulator(s, rf_scale="x"), "rf_scale")
    raises(SimulationError, lambda: Simulator(s, offsets_hz=[1, None]), "offsets_hz")
    raises(SimulationError, lambda: Simulator(s, initial={"a": 1}), "initial")
    raises(SimulationError, lambda: Simulator(s, initial=[["1", "0"], ["0", "0"]]), "initial")
    raises(SimulationError, lambda: Simulator(s).run("seq"), "sequence")
    raises(SimulationError, lambda: Distribution([1, 2], [1]), "weights")
    raises(SimulationError, lambda: Distribution.gaussian(1.0, 0.1, 10**9), "Distribution.gaussian: n")
    raises(SimulationError, lambda: Distribution.gaussian(1e308, 1e308, 5), "mean")
    res = simulate(s, Sequence((P90, Acquire(points=4, dwell_s=1e-3))))
    raises(SimulationError, lambda: res.fid(["1H"]), "fid: channel")
    raises(SimulationError, lambda: res.fid(index="0"), "fid: index")
    raises(SequenceError, lambda: res.sequence.with_phases((0,)), "with_phases")
    raises(SequenceError, lambda: res.sequence.check(None), "check: channels")


# --------------------------------------------------------------------------
# every value a constructor accepts round-trips (dict, JSON, TOML)
# --------------------------------------------------------------------------
extreme = st.sampled_from([0.0, -0.0, 5e-324, 1e-300, 1.7976931348623157e308, 1e308, -1e308, 1e-5, 123.456])
anyfloat = st.floats(allow_nan=False, allow_infinity=False) | extreme
label = st.text(max_size=6) | st.sampled_from(["", "τ wait", "a\x7fb", "\x00", "\ud800", "line\nbreak", '"q"'])
channels = st.sampled_from([("1H",), ("13C",), ("1H", "13C"), "1H", ["19F", "31P"]])


@st.composite
def elements(draw):
    kind = draw(st.sampled_from(["Pulse", "Delay", "Gradient", "Acquire"]))
    if kind == "Delay":
        return Delay, {"duration_s": draw(anyfloat), "label": draw(label)}
    if kind == "Gradient":
        orders = draw(st.none() | st.lists(st.integers(-12, 12), max_size=4))
        return Gradient, {"orders": orders, "label": draw(label)}
    if kind == "Acquire":
        kw = {"points": draw(st.integers(1, 10**6)), "label": draw(label),
              "receiver_phase_deg": draw(anyfloat), "channels": draw(st.none() | channels)}
        which = draw(st.sampled_from(["dwell_s", "spectral_width_hz", "both"]))
        x = draw(anyfloat)
        if which == "both":
            kw.update(dwell_s=x, spectral_width_hz=1.0 / x if x else 1.0)
        else:
            kw[which] = x
        return Acquire, kw
    kw = {"phase_deg": draw(anyfloat), "channels": draw(channels), "label": draw(label)}
    shape = draw(st.sampled_from(["rect", "gaussian", "sinc", "samples"]))
    if shape == "samples":
        kw["shape"] = draw(st.lists(anyfloat, min_size=1, max_size=6))
    else:
        kw["shape"] = shape
        if draw(st.booleans()):
            kw["steps"] = draw(st.integers(1, 300))
    if draw(st.booleans()):
        kw.update(hard=True, flip_deg=draw(anyfloat))
    else:
        pair = draw(st.sampled_from([("flip_deg", "duration_s"), ("flip_deg", "nutation_hz"),
                                     ("duration_s", "nutation_hz")]))
        for name in pair:
            kw[name] = draw(anyfloat)
    return Pulse, kw


@settings(max_examples=300, deadline=15000, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(elements(), min_size=1, max_size=4), st.text(max_size=5), st.integers(0, 2), st.data())
def test_every_accepted_value_round_trips(specs, name, n_steps, data):
    els = []
    for cls, kw in specs:
        try:
            els.append(cls(**kw))
        except SequenceError as exc:
            assert "\n" not in str(exc)
            continue
    assume(els)
    n_pulses = sum(isinstance(e, Pulse) for e in els)
    cycle = [PhaseStep(tuple(data.draw(st.lists(anyfloat, min_size=n_pulses, max_size=n_pulses))), data.draw(anyfloat))
             for _ in range(n_steps)]
    try:
        seq = Sequence(tuple(els), name, tuple(cycle))
    except SequenceError as exc:  # e.g. a total duration that overflows
        assert "\n" not in str(exc)
        return
    for e in els:
        for f in dataclasses.fields(e):
            v = getattr(e, f.name)
            if isinstance(v, float):
                assert math.isfinite(v), (f.name, e)
        assert math.isfinite(e.duration)
    assert math.isfinite(seq.duration)
    assert Sequence.from_dict(seq.to_dict()) == seq
    assert Sequence.from_json(seq.to_json()) == seq
    assert Sequence.from_toml(seq.to_toml()) == seq


# --------------------------------------------------------------------------
# fuzz: arbitrary JSON-like values in every field
# --------------------------------------------------------------------------
HUGE = [2**40, 10**9, 10**10, 10**22, -(10**22), 10**400, 1e308, -1e308, 1.7e308, 5e-324, -1, 0]
scalar = (
    st.none() | st.booleans() | st.integers(-10, 10) | st.sampled_from(HUGE)
    | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=6)
    | st.sampled_from(["1H", "13C", "gaussian", "rect", "exponential", "J", "dipolar", "thermal", "fit"])
)
json_like = st.recursive(
    scalar,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=8,
)

FID_OK = small_fid()
SPEC_OK = fft(FID_OK)
SYS_OK = one_spin(offset_hz=30.0, t1_s=1.0, t2_s=0.2)
SEQ_OK = Sequence((P90, Acquire(points=8, dwell_s=1e-3)))

CONSTRUCTORS = {
    "Pulse": (Pulse, {"flip_deg": 90.0, "duration_s": 1e-5}),
    "Delay": (Delay, {"duration_s": 1e-3}),
    "Gradient": (Gradient, {"orders": (1, -1)}),
    "Acquire": (Acquire, {"points": 8, "dwell_s": 1e-3}),
    "PhaseStep": (PhaseStep, {"pulse_phases_deg": (0.0,), "receiver_phase_deg": 0.0}),
    "Sequence": (Sequence, {"elements": (P90,), "name": "s", "phase_cycle": ()}),
    "Spin": (Spin, {"isotope": "1H", "offset_hz": 10.0, "t1_s": 1.0, "t2_s": 0.5, "label": "a"}),
    "Coupling": (Coupling, {"i": 0, "j": 1, "hz": 5.0, "kind": "J", "weak": False}),
    "SpinSystem": (SpinSystem, {"spins": (Spin(), Spin("13C")), "couplings": (), "proton_mhz": 400.0,
                                "carrier_ppm": {}, "temperature_k": 300.0}),
    "Distribution": (Distribution, {"values": (1.0, 0.9), "weights": (1.0, 1.0)}),
    "FID": (FID, {"data": [1.0, 2.0, 3.0, 4.0], "dwell_s": 1e-3, "sfo_mhz": 400.0, "bf_mhz": 400.0,
                  "nucleus": "1H", "channel": "", "receiver_phase_deg": 0.0, "metadata": {}}),
    "Spectrum": (Spectrum, {"values": [1.0, 2.0, 3.0], "hz": [-1.0, 0.0, 1.0], "sfo_mhz": 400.0,
                            "bf_mhz": None, "nucleus": "1H", "metadata": {}, "dwell_s": 0.5, "n_acquired": 3}),
}
CTOR_FIELDS = [(name, f) for name, (cls, _) in CONSTRUCTORS.items() for f in
               [x.name for x in dataclasses.fields(cls) if not x.name.startswith("_")]]


def walk_finite(x, depth: int = 0) -> None:
    """Every number in a result is finite (stderr arrays of fits excepted:
    NaN there means 'lmfit could not estimate it', as documented)."""
    assert depth < 8
    if isinstance(x, (bool, str, type(None), int, np.integer)):
        return
    if isinstance(x, (float, complex, np.number)):
        assert np.isfinite(x), x
    elif isinstance(x, np.ndarray):
        if x.dtype.kind in "fc":
            assert np.all(np.isfinite(x))
    elif isinstance(x, dict):
        for v in x.values():
            walk_finite(v, depth + 1)
    elif isinstance(x, (list, tuple)):
        for v in x:
            walk_finite(v, depth + 1)
    elif isinstance(x, (FID, Spectrum)):
        walk_finite(x.data if isinstance(x, FID) else x.values, depth + 1)
        for f in dataclasses.fields(x):
            walk_finite(getattr(x, f.name), depth + 1)
        if isinstance(x, FID):
            walk_finite((x.spectral_width_hz, x.carrier_ppm, x.acquisition_time_s, x.time_s), depth + 1)
        else:
            walk_finite((x.spacing_hz, x.carrier_ppm, x.ppm), depth + 1)
    elif isinstance(x, SimulationResult):
        walk_finite(x.final_state, depth + 1)
        walk_finite(x.fids, depth + 1)
    elif isinstance(x, SpinSystem):
        walk_finite((x.field_t, x.temperature_k, x.offsets_hz(), x.larmor_hz(), x.polarization()), depth + 1)
    elif dataclasses.is_dataclass(x):
        for f in dataclasses.fields(x):
            if not f.name.endswith("stderr"):
                walk_finite(getattr(x, f.name), depth + 1)


def outcome(fn, field: str | None = None):
    """The result of fn() (checked finite), or None after a PulsesError with
    a one-line message (naming ``field`` when given); anything else fails."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no overflow/invalid-value warnings either
        try:
            result = fn()
        except PulsesError as exc:
            msg = str(exc)
            assert msg and "\n" not in msg, repr(msg)
            if field is not None:
                assert field in msg, (field, msg)
            return None
        walk_finite(result)
    return result


@settings(max_examples=600, deadline=15000, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(CTOR_FIELDS), json_like)
def test_fuzz_constructor_fields(target, value):
    name, field = target
    cls, base = CONSTRUCTORS[name]
    kwargs = dict(base, **{field: value})
    # the field's name appears in the message, except where another field
    # makes the combination invalid (Pulse/Acquire name what they derive)
    obj = outcome(lambda: cls(**kwargs), None)
    if obj is None:
        return
    walk_finite(dataclasses.asdict(obj) if not isinstance(obj, (FID, Spectrum)) else obj)
    if isinstance(obj, (Pulse, Delay, Gradient, Acquire)):
        seq = Sequence((obj,))
        assert Sequence.from_json(seq.to_json()) == seq
        assert Sequence.from_toml(seq.to_toml()) == seq
    if isinstance(obj, Sequence):
        assert Sequence.from_toml(obj.to_toml()) == obj


@settings(max_examples=300, deadline=15000, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(CTOR_FIELDS), json_like)
def test_fuzz_errors_name_the_field(target, value):
    name, field = target
    cls, base = CONSTRUCTORS[name]
    # a value of the wrong kind altogether (not a number/str/bool/list as
    # the field expects) must be reported under the field's own name
    assume(isinstance(value, dict) or (isinstance(value, list) and value and isinstance(value[0], dict)))
    assume(not (name in ("FID", "Spectrum") and field == "metadata" and isinstance(value, dict)))
    assume(not (name == "SpinSystem" and field == "carrier_ppm" and isinstance(value, dict)))
    shown = {"i": "coupling i", "j": "coupling j", "hz": "coupling hz", "kind": "coupling kind",
             "weak": "coupling weak"}.get(field, field) if name == "Coupling" else field
    if name == "Sequence" and field == "elements":
        shown = "element" if isinstance(value, list) else "elements"
    if name == "Sequence" and field == "phase_cycle" and isinstance(value, list):
        shown = "phase_cycle step 0"
    outcome(lambda: cls(**dict(base, **{field: value})), shown)


FUNCTIONS = {
    "apodize.kind": lambda v: apodize(FID_OK, v, lb_hz=1.0),
    "apodize.lb_hz": lambda v: apodize(FID_OK, lb_hz=v),
    "apodize.l2g": lambda v: apodize(FID_OK, "lorentz_to_gauss", lb_hz=v, gb_hz=v),
    "apodize.gb_hz": lambda v: apodize(FID_OK, "gaussian", gb_hz=v),
    "zero_fill.n": lambda v: zero_fill(FID_OK, v),
    "fft": lambda v: fft(v),
    "add_noise.snr": lambda v: add_noise(FID_OK, v, 1),
    "add_noise.seed": lambda v: add_noise(FID_OK, 10.0, v),
    "noise_sigma.snr": lambda v: noise_sigma(FID_OK, v),
    "stack_fids": lambda v: stack_fids(v),
    "FID.row": lambda v: stack_fids([FID_OK, FID_OK]).row(v),
    "FID.with_data": lambda v: FID_OK.with_data(v),
    "Spectrum.phase": lambda v: SPEC_OK.phase(v, v),
    "Spectrum.region": lambda v: SPEC_OK.region(v, 100.0),
    "integrate": lambda v: integrate(SPEC_OK, v),
    "fit_lines.centers_hz": lambda v: fit_lines(SPEC_OK, v),
    "fit_lines.fwhm_hz": lambda v: fit_lines(SPEC_OK, [50.0], fwhm_hz=v),
    "fit_lines.shape": lambda v: fit_lines(SPEC_OK, [50.0], shape=v),
    "fit_lines.region_hz": lambda v: fit_lines(SPEC_OK, [50.0], region_hz=v),
    "fit_lines.noise_rms": lambda v: fit_lines(SPEC_OK, [50.0], noise_rms=v),
    "measure_snr.noise_region_hz": lambda v: measure_snr(SPEC_OK, noise_region_hz=v, method="max"),
    "measure_snr.method": lambda v: measure_snr(SPEC_OK, method=v),
    "line_shape": lambda v: line_shape(SPEC_OK, v, 2.0, amplitude=1.0),
    "line_shape.fwhm": lambda v: line_shape(SPEC_OK, 0.0, v, gauss_fwhm_hz=v),
    "Sequence.from_dict": lambda v: Sequence.from_dict(v),
    "Sequence.from_dict.elements": lambda v: Sequence.from_dict({"elements": [v]}),
    "Sequence.from_json": lambda v: Sequence.from_json(_dumps(v)),
    "Sequence.check": lambda v: SEQ_OK.check(v),
    "Sequence.with_phases": lambda v: SEQ_OK.with_phases(v),
    "simulate.relaxation": lambda v: simulate(SYS_OK, SEQ_OK, relaxation=v),
    "simulate.rf_scale": lambda v: simulate(SYS_OK, SEQ_OK, rf_scale=v),
    "simulate.offsets_hz": lambda v: simulate(SYS_OK, SEQ_OK, offsets_hz=v),
    "simulate.initial": lambda v: simulate(SYS_OK, SEQ_OK, initial=v),
    "simulate.max_cache_mib": lambda v: simulate(SYS_OK, SEQ_OK, max_cache_mib=v),
    "simulate.system": lambda v: simulate(v, SEQ_OK),
    "simulate.sequence": lambda v: simulate(SYS_OK, v),
    "simulate.delay": lambda v: simulate(SYS_OK, Sequence((P90, Delay(v), SEQ_OK.elements[1]))),
    "simulate.pulse_flip": lambda v: simulate(SYS_OK, Sequence((Pulse(flip_deg=v, hard=True), SEQ_OK.elements[1]))),
    "simulate.dwell": lambda v: simulate(SYS_OK, Sequence((P90, Acquire(points=4, dwell_s=v)))),
    "Distribution.gaussian": lambda v: Distribution.gaussian(1.0, 0.1, v),
    "SimulationResult.fid": lambda v: simulate(SYS_OK, SEQ_OK).fid(v),
    "SpinSystem.spins_on": lambda v: SYS_OK.spins_on(v),
}


@settings(max_examples=500, deadline=15000, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(FUNCTIONS)), json_like)
def test_fuzz_functions(name, value):
    outcome(lambda: FUNCTIONS[name](value))


def _builder_functions():
    from pulses import builders as B
    from pulses.peaks import pick_peaks
    from pulses.platform import ChannelLimits, chloroform_13c, gypsum_water
    from pulses.bruker import read_bruker, read_bruker_processed
    from pulses.waveform import Waveform, read_shape

    jpl, dpl = chloroform_13c(), gypsum_water()
    spec = fft(FID_OK)
    return {
        "ChannelLimits.max_nutation_hz": lambda v: ChannelLimits(v, 1e-3),
        "ChannelLimits.max_pulse_s": lambda v: ChannelLimits(1e4, v),
        "ChannelLimits.min_delay_s": lambda v: ChannelLimits(1e4, 1e-3, min_delay_s=v),
        "ChannelLimits.max_duty_cycle": lambda v: ChannelLimits(1e4, 1e-3, max_duty_cycle=v),
        "Platform.replace.unit_hz": lambda v: jpl.replace(unit_hz=v),
        "hard_pulse.flip_deg": lambda v: B.hard_pulse(jpl, v),
        "hard_pulse.phase_deg": lambda v: B.hard_pulse(jpl, 90.0, v),
        "hard_pulse.nutation_hz": lambda v: B.hard_pulse(jpl, 90.0, nutation_hz=v),
        "hard_pulse.spins": lambda v: B.hard_pulse(jpl, 90.0, spins=v),
        "hard_pulse.channels": lambda v: B.hard_pulse(jpl, 90.0, channels=v),
        "selective_pulse.spin": lambda v: B.selective_pulse(jpl, v, 90.0, 1e-3),
        "selective_pulse.flip_deg": lambda v: B.selective_pulse(jpl, 0, v, 1e-3),
        "selective_pulse.duration_s": lambda v: B.selective_pulse(jpl, 0, 90.0, v),
        "selective_pulse.shape": lambda v: B.selective_pulse(jpl, 0, 90.0, 1e-3, shape=v),
        "optimal_jb_tau": lambda v: B.optimal_jb_tau(v),
        "jb_delay_shift.nutation_hz": lambda v: B.jb_delay_shift(v),
        "jb_delay_shift.flip_deg": lambda v: B.jb_delay_shift(1e5, v),
        "jeener_broekaert.tau_s": lambda v: B.jeener_broekaert(dpl, tau_s=v),
        "readout_pulses.name": lambda v: B.readout_pulses(jpl, v),
        "compile_unitary.target": lambda v: B.compile_unitary(v, jpl),
        "join_sequences": lambda v: B.join_sequences(v),
        "Waveform.named.shape": lambda v: Waveform.named(v, 16),
        "Waveform.named.steps": lambda v: Waveform.named("gaussian", v),
        "read_bruker.path": lambda v: read_bruker(v),
        "read_bruker_processed.path": lambda v: read_bruker_processed(v),
        "read_shape.path": lambda v: read_shape(v),
        "pick_peaks.spectrum": lambda v: pick_peaks(v),
        "pick_peaks.options": lambda v: pick_peaks(spec, v),
    }


BUILDERS = _builder_functions()


@settings(max_examples=400, deadline=15000, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(BUILDERS)), json_like)
def test_fuzz_builders_platforms_and_waveforms(name, value):
    """Issue 8, must show 2, extended to the builders, platforms, waveforms
    and peak picking of issues 9 and 13: every outcome is a valid result or
    a one-line PulsesError, never another exception or an overflow warning."""
    outcome(lambda: BUILDERS[name](value))


@st.composite
def hostile_sequence_dicts(draw):
    """Dicts shaped like sequence descriptions, with arbitrary values."""
    els = []
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(st.sampled_from(["Pulse", "Delay", "Gradient", "Acquire"]))
        names = [f.name for f in dataclasses.fields({"Pulse": Pulse, "Delay": Delay, "Gradient": Gradient,
                                                     "Acquire": Acquire}[kind])]
        base = {"Pulse": {"flip_deg": 90.0, "duration_s": 1e-5}, "Delay": {}, "Gradient": {},
                "Acquire": {"points": 4, "dwell_s": 1e-3}}[kind]
        e = {"type": kind, **base}
        for n in draw(st.lists(st.sampled_from(names), max_size=2, unique=True)):
            e[n] = draw(json_like)
        els.append(e)
    d = {"elements": els, "name": draw(st.text(max_size=4) | json_like)}
    if draw(st.booleans()):
        d["phase_cycle"] = draw(st.lists(st.fixed_dictionaries(
            {"pulse_phases_deg": json_like, "receiver_phase_deg": json_like}), max_size=2) | json_like)
    return d


@settings(max_examples=300, deadline=15000, suppress_health_check=[HealthCheck.too_slow])
@given(hostile_sequence_dicts())
def test_fuzz_sequence_descriptions(d):
    seq = outcome(lambda: Sequence.from_dict(d))
    if seq is not None:
        assert Sequence.from_json(seq.to_json()) == seq
        assert Sequence.from_toml(seq.to_toml()) == seq
    try:
        text = json.dumps(d)
    except (ValueError, TypeError):
        return
    outcome(lambda: Sequence.from_json(text))


def _dumps(v) -> str:
    """JSON text of a hostile value; one nested deeper than the interpreter's
    recursion limit (json.dumps itself fails on it) as the equivalent text."""
    try:
        return json.dumps(v, default=repr)
    except RecursionError:
        return "[" * 2001 + "]" * 2001


DEEP: list = []
for _ in range(2000):
    DEEP = [DEEP]
HOSTILE = [None, "x", "", [], {}, (), True, False, float("nan"), float("inf"), -float("inf"), 1e308, -1e308, 1.7e308,
           5e-324, -0.0, -1, 0, 1, 10**400, 2**40, 10**22, [[[]]], {"a": 1}, [None], ["1H"], [1, "a"], [1e308, 1e308],
           np.array([1.0, np.nan]), np.zeros((2, 2, 2)), np.array(["a"]), np.int64(3), np.float64("nan"), b"bytes",
           DEEP, object(), iter([1, 2]), 1j]


def test_a_fixed_list_of_hostile_values_everywhere():
    """Every hostile value in every constructor field and function argument:
    a valid (finite) result or a one-line PulsesError, nothing else."""
    failures = []

    def check(where, fn):
        try:
            outcome(fn)
        except Exception as exc:  # noqa: BLE001 - collected and reported together
            failures.append(f"{where}: {type(exc).__name__}: {str(exc)[:120]}")

    for name, field in CTOR_FIELDS:
        cls, base = CONSTRUCTORS[name]
        for value in HOSTILE:
            check(f"{name}({field}={_validate.show(value, 30)})", lambda: cls(**dict(base, **{field: value})))
    for key, fn in FUNCTIONS.items():
        for value in HOSTILE:
            check(f"{key}({_validate.show(value, 30)})", lambda: fn(value))
    assert not failures, "\n".join(failures)
