"""The pulse-sequence language: immutable elements composed into sequences.

Elements are frozen dataclasses — :class:`Pulse`, :class:`Delay`,
:class:`Gradient`, :class:`Acquire` — validated on construction; a
:class:`Sequence` holds them in order with an optional phase cycle (a list
of phase sets, one phase per pulse, each with a receiver phase).  A sequence
knows its total duration and timeline, checks itself against a spin system's
channels, and round-trips losslessly through a plain dict, JSON and TOML.
Errors say which element and which field are wrong.  This module describes
sequences; :mod:`pulses.simulate` runs them.

RF convention (DESIGN.md §3): a pulse of nutation frequency ν1 (Hz) and
phase φ acts as 2π ν1 a(t) (cos φ Ix + sin φ Iy) on the spins of its
channel(s), a(t) the shape envelope (peak 1).  The flip angle is
θ = 360° · ν1 · τ · ā with ā the mean of the envelope.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, fields, replace
from typing import Any, ClassVar

import numpy as np

from pulses.errors import SequenceError

SHAPES = ("rect", "gaussian", "sinc")


def _num(where: str, name: str, value, *, minimum: float | None = None, strict: bool = False, optional=False):
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise SequenceError(f"{where}: {name} = {value!r} is not allowed: give a finite real number")
    v = float(value)
    bad = not math.isfinite(v) or (minimum is not None and (v <= minimum if strict else v < minimum))
    if bad:
        rule = "finite" + ("" if minimum is None else f" and {'>' if strict else '≥'} {minimum:g}")
        raise SequenceError(f"{where}: {name} = {v!r} is not allowed: it must be {rule}")
    return v


def _channels(where: str, value) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = (value,)
    try:
        ch = tuple(value)
    except TypeError:
        raise SequenceError(f"{where}: channels = {value!r} is not allowed: give channel names like '1H'") from None
    if not ch or not all(isinstance(c, str) and c for c in ch):
        raise SequenceError(f"{where}: channels = {value!r} is not allowed: give channel names like '1H'")
    if len(set(ch)) != len(ch):
        raise SequenceError(f"{where}: channels = {ch!r} is not allowed: a channel may appear only once")
    return ch


def envelope(shape, steps: int) -> np.ndarray:
    """Piecewise-constant envelope (peak |a| = 1) sampled at ``steps`` step
    centres.  Gaussian: exp(−x²/2) on x ∈ [−3, 3]; sinc: sin(πx)/(πx) on
    x ∈ [−3, 3] (three lobes each side); user samples are used as given
    (normalised to peak 1; then ``steps`` is their number)."""
    if isinstance(shape, str):
        x = (np.arange(steps) + 0.5) / steps * 6.0 - 3.0
        if shape == "rect":
            a = np.ones(steps)
        elif shape == "gaussian":
            a = np.exp(-0.5 * x * x)
        else:
            a = np.sinc(x)
    else:
        a = np.asarray(shape, dtype=np.float64)
    return a / np.abs(a).max()


def _check_label(where: str, value, field_name: str = "label") -> None:
    if not isinstance(value, str):
        raise SequenceError(f"{where}: {field_name} = {value!r} is not allowed: give a string")


class Element:
    """Base of the sequence elements (serialisation helpers)."""

    kind: ClassVar[str] = ""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.kind}
        for f in fields(self):
            v = getattr(self, f.name)
            if v is None:
                continue
            if isinstance(v, tuple):
                v = list(v)
            out[f.name] = v
        return out

    @property
    def duration(self) -> float:
        return 0.0


@dataclass(frozen=True)
class Pulse(Element):
    """An RF pulse on one or more channels.

    Give two of ``flip_deg``, ``duration_s`` and ``nutation_hz`` (the third
    follows; all three must agree to 1e-9), or only ``flip_deg`` with
    ``hard=True`` (an ideal instantaneous rotation: no free evolution and no
    relaxation while it acts).

    Parameters
    ----------
    flip_deg, duration_s, nutation_hz : float
        Flip angle (degrees), length (s), peak nutation frequency (Hz).
    phase_deg : float
        RF phase φ: 0 = x, 90 = y.
    channels : tuple of str
        Channels (isotopes) the pulse acts on, e.g. ("1H",) or ("1H", "13C").
    shape : "rect" | "gaussian" | "sinc" | tuple of float
        Amplitude envelope (user samples: real amplitudes, signs allowed).
    steps : int
        Piecewise-constant steps of the envelope (default 1 for "rect", 64
        for the other named shapes, the number of samples for user shapes).
    hard : bool
        Ideal rotation (delta pulse).
    label : str
    """

    kind: ClassVar[str] = "Pulse"
    flip_deg: float | None = None
    duration_s: float | None = None
    nutation_hz: float | None = None
    phase_deg: float = 0.0
    channels: tuple = ("1H",)
    shape: Any = "rect"
    steps: int | None = None
    hard: bool = False
    label: str = ""

    def __post_init__(self) -> None:
        _check_label("Pulse", self.label)
        w = f"Pulse{' ' + repr(self.label) if self.label else ''}"
        set_ = object.__setattr__
        set_(self, "channels", _channels(w, self.channels))
        set_(self, "phase_deg", _num(w, "phase_deg", self.phase_deg))
        if not isinstance(self.hard, bool):
            raise SequenceError(f"{w}: hard = {self.hard!r} is not allowed: give true or false")
        if isinstance(self.shape, str):
            if self.shape not in SHAPES:
                raise SequenceError(f"{w}: shape = {self.shape!r} is not allowed: use {', '.join(SHAPES)} or samples")
            default_steps = 1 if self.shape == "rect" else 64
        else:
            try:
                samples = tuple(float(x) for x in self.shape)
            except (TypeError, ValueError):
                raise SequenceError(f"{w}: shape = {self.shape!r} is not allowed: give a name or real samples") from None
            if not samples or not all(math.isfinite(x) for x in samples) or max(map(abs, samples)) == 0:
                raise SequenceError(f"{w}: shape samples must be finite and not all zero")
            set_(self, "shape", samples)
            default_steps = len(samples)
        steps = default_steps if self.steps is None else self.steps
        if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
            raise SequenceError(f"{w}: steps = {self.steps!r} is not allowed: give an integer ≥ 1")
        if not isinstance(self.shape, str) and steps != len(self.shape):
            raise SequenceError(f"{w}: steps = {steps} does not match the {len(self.shape)} shape samples")
        set_(self, "steps", int(steps))
        flip = _num(w, "flip_deg", self.flip_deg, optional=True)
        dur = _num(w, "duration_s", self.duration_s, minimum=0.0, optional=True)
        nu = _num(w, "nutation_hz", self.nutation_hz, minimum=0.0, strict=True, optional=True)
        if self.hard:
            if flip is None:
                raise SequenceError(f"{w}: flip_deg is missing: a hard pulse needs its flip angle")
            if dur is not None or nu is not None:
                raise SequenceError(
                    f"{w}: a hard pulse is instantaneous: give only flip_deg, not duration_s or nutation_hz"
                )
            set_(self, "flip_deg", flip)
            set_(self, "duration_s", None)
            set_(self, "nutation_hz", None)
            return
        area = float(np.mean(envelope(self.shape, self.steps)))
        given = sum(x is not None for x in (flip, dur, nu))
        if given < 2:
            missing = [n for n, x in (("flip_deg", flip), ("duration_s", dur), ("nutation_hz", nu)) if x is None]
            raise SequenceError(
                f"{w}: {', '.join(missing[:-1])} and {missing[-1]} are missing: give two of flip_deg, duration_s, nutation_hz"
            )
        if area == 0 and (flip is None or nu is None):
            raise SequenceError(f"{w}: the shape has zero area, so give flip_deg and nutation_hz is not enough")
        if flip is not None and flip != 0 and np.sign(flip) != np.sign(area):
            raise SequenceError(
                f"{w}: flip_deg = {flip!r} does not have the sign of the shape's mean amplitude ({area:+.3g}), "
                "so it cannot be reached with nutation_hz ≥ 0: give a positive flip (phase_deg + 180 for a "
                "negative one) and a shape of positive mean"
            )
        if flip is None:
            flip = 360.0 * nu * dur * area
        elif dur is None:
            if flip != 0 and np.sign(flip) * area <= 0:
                raise SequenceError(f"{w}: flip_deg = {flip!r} cannot be reached with this shape's area")
            dur = flip / (360.0 * nu * area)
        elif nu is None:
            if dur == 0:
                raise SequenceError(f"{w}: duration_s = 0 is not allowed for a soft pulse: give hard = true")
            nu = flip / (360.0 * dur * area)
        elif abs(360.0 * nu * dur * area - flip) > 1e-9 * max(1.0, abs(flip)):
            raise SequenceError(
                f"{w}: flip_deg = {flip!r}, duration_s = {dur!r} and nutation_hz = {nu!r} disagree "
                f"(they give {360.0 * nu * dur * area!r}°)"
            )
        set_(self, "flip_deg", flip)
        set_(self, "duration_s", dur)
        set_(self, "nutation_hz", nu)

    @property
    def duration(self) -> float:
        return 0.0 if self.hard else self.duration_s

    def amplitudes_hz(self) -> np.ndarray:
        """Nutation frequency of each piecewise-constant step (signed), Hz."""
        return self.nutation_hz * envelope(self.shape, self.steps)


@dataclass(frozen=True)
class Delay(Element):
    """Free evolution (with relaxation) for ``duration_s`` seconds."""

    kind: ClassVar[str] = "Delay"
    duration_s: float = 0.0
    label: str = ""

    def __post_init__(self) -> None:
        _check_label("Delay", self.label)
        object.__setattr__(self, "duration_s", _num("Delay", "duration_s", self.duration_s, minimum=0.0))

    @property
    def duration(self) -> float:
        return self.duration_s


@dataclass(frozen=True)
class Gradient(Element):
    """Ideal pulsed-field gradient: spatial averaging removes every coherence
    whose total order p = Σ Δm is in ``orders`` (default: all p ≠ 0)."""

    kind: ClassVar[str] = "Gradient"
    orders: tuple | None = None
    label: str = ""

    def __post_init__(self) -> None:
        _check_label("Gradient", self.label)
        if self.orders is not None:
            ok = isinstance(self.orders, (list, tuple)) and len(self.orders) > 0 and all(
                isinstance(x, (int, np.integer)) and not isinstance(x, bool) and x != 0 for x in self.orders
            )
            if not ok:
                raise SequenceError(
                    f"Gradient: orders = {self.orders!r} is not allowed: give non-zero whole numbers "
                    "(order 0 holds the populations, which no gradient removes)"
                )
            object.__setattr__(self, "orders", tuple(int(x) for x in self.orders))


@dataclass(frozen=True)
class Acquire(Element):
    """Detection: ``points`` complex samples every ``dwell_s`` (or give
    ``spectral_width_hz`` = 1/dwell), receiver phase in degrees, on
    ``channels`` (default: every channel of the spin system)."""

    kind: ClassVar[str] = "Acquire"
    points: int = 1024
    dwell_s: float | None = None
    spectral_width_hz: float | None = None
    receiver_phase_deg: float = 0.0
    channels: tuple | None = None
    label: str = ""

    def __post_init__(self) -> None:
        w = "Acquire"
        _check_label(w, self.label)
        if isinstance(self.points, bool) or not isinstance(self.points, (int, np.integer)) or self.points < 1:
            raise SequenceError(f"{w}: points = {self.points!r} is not allowed: give an integer ≥ 1")
        object.__setattr__(self, "points", int(self.points))
        dw = _num(w, "dwell_s", self.dwell_s, minimum=0.0, strict=True, optional=True)
        sw = _num(w, "spectral_width_hz", self.spectral_width_hz, minimum=0.0, strict=True, optional=True)
        if dw is None and sw is None:
            raise SequenceError(f"{w}: dwell_s and spectral_width_hz are missing: give one")
        if dw is not None and sw is not None and abs(dw * sw - 1) > 1e-9:
            raise SequenceError(f"{w}: dwell_s = {dw!r} and spectral_width_hz = {sw!r} disagree (dwell = 1/SW)")
        dw = dw if dw is not None else 1.0 / sw
        object.__setattr__(self, "dwell_s", dw)
        object.__setattr__(self, "spectral_width_hz", 1.0 / dw if sw is None else sw)
        object.__setattr__(self, "receiver_phase_deg", _num(w, "receiver_phase_deg", self.receiver_phase_deg))
        object.__setattr__(self, "channels", _channels(w, self.channels))

    @property
    def duration(self) -> float:
        return self.points * self.dwell_s


ELEMENTS = {cls.kind: cls for cls in (Pulse, Delay, Gradient, Acquire)}


@dataclass(frozen=True)
class PhaseStep:
    """One step of a phase cycle: a phase per pulse (in sequence order) and
    the receiver phase, degrees."""

    pulse_phases_deg: tuple
    receiver_phase_deg: float = 0.0


@dataclass(frozen=True)
class Sequence:
    """An ordered, immutable list of elements with an optional phase cycle.

    Parameters
    ----------
    elements : tuple of Pulse | Delay | Gradient | Acquire
    name : str
    phase_cycle : tuple of PhaseStep
        Each step replaces the phases of the pulses (in order) and sets the
        receiver phase; the simulator averages the steps' FIDs, each
        multiplied by exp(−i·receiver phase).  Empty: no cycling.
    """

    elements: tuple
    name: str = ""
    phase_cycle: tuple = ()

    def __post_init__(self) -> None:
        _check_label("sequence", self.name, "name")
        try:
            els = tuple(self.elements)
        except TypeError:
            raise SequenceError(f"elements = {self.elements!r} is not allowed: give a list of elements") from None
        for k, e in enumerate(els):
            if not isinstance(e, Element):
                raise SequenceError(f"element {k}: {e!r} is not a Pulse, Delay, Gradient or Acquire")
        object.__setattr__(self, "elements", els)
        n_pulses = sum(isinstance(e, Pulse) for e in els)
        steps = []
        try:
            cycle = tuple(self.phase_cycle)
        except TypeError:
            raise SequenceError(f"phase_cycle = {self.phase_cycle!r} is not allowed: give a list of phase steps") from None
        for s, step in enumerate(cycle):
            if isinstance(step, dict):
                step = PhaseStep(tuple(step.get("pulse_phases_deg", ())), step.get("receiver_phase_deg", 0.0))
            if not isinstance(step, PhaseStep):
                raise SequenceError(f"phase_cycle step {s}: give a PhaseStep or a dict")
            if not isinstance(step.pulse_phases_deg, (list, tuple)):
                raise SequenceError(
                    f"phase_cycle step {s}: pulse_phases_deg = {step.pulse_phases_deg!r} is not allowed: give a list"
                )
            phases = tuple(_num(f"phase_cycle step {s}", "pulse_phases_deg", p) for p in step.pulse_phases_deg)
            if len(phases) != n_pulses:
                raise SequenceError(
                    f"phase_cycle step {s}: {len(phases)} pulse phases given, the sequence has {n_pulses} pulses"
                )
            rec = _num(f"phase_cycle step {s}", "receiver_phase_deg", step.receiver_phase_deg)
            steps.append(PhaseStep(phases, rec))
        object.__setattr__(self, "phase_cycle", tuple(steps))

    # ---------------------------------------------------------------- views
    @property
    def duration(self) -> float:
        """Total duration in seconds."""
        return float(sum(e.duration for e in self.elements))

    def timeline(self) -> list[tuple[float, float, int, str]]:
        """(start_s, end_s, index, description) for every element."""
        t, out = 0.0, []
        for k, e in enumerate(self.elements):
            desc = e.kind + (f" {e.label}" if getattr(e, "label", "") else "")
            out.append((t, t + e.duration, k, desc))
            t += e.duration
        return out

    def with_phases(self, step: PhaseStep) -> "Sequence":
        """The sequence with the pulse phases of one phase-cycle step."""
        it = iter(step.pulse_phases_deg)
        els = tuple(replace(e, phase_deg=next(it)) if isinstance(e, Pulse) else e for e in self.elements)
        return Sequence(els, self.name)

    def check(self, channels) -> None:
        """Raise SequenceError if an element names a channel not in ``channels``."""
        known = tuple(channels)
        for k, e in enumerate(self.elements):
            ch = getattr(e, "channels", None)
            for c in ch or ():
                if c not in known:
                    raise SequenceError(
                        f"element {k} ({e.kind}): channels = {ch!r} is not allowed: "
                        f"the spin system has {', '.join(known)}"
                    )

    # -------------------------------------------------------- serialisation
    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "elements": [e.to_dict() for e in self.elements]}
        if self.phase_cycle:
            out["phase_cycle"] = [
                {"pulse_phases_deg": list(s.pulse_phases_deg), "receiver_phase_deg": s.receiver_phase_deg}
                for s in self.phase_cycle
            ]
        return out

    @classmethod
    def from_dict(cls, d: dict) -> "Sequence":
        if not isinstance(d, dict) or not isinstance(d.get("elements"), list):
            raise SequenceError("a sequence description needs an 'elements' list")
        extra = set(d) - {"name", "elements", "phase_cycle"}
        if extra:
            raise SequenceError(f"sequence: unknown field(s) {', '.join(sorted(extra))} (allowed: name, elements, phase_cycle)")
        cycle = d.get("phase_cycle", [])
        if not isinstance(cycle, list) or not all(isinstance(x, dict) for x in cycle):
            raise SequenceError(f"phase_cycle = {cycle!r} is not allowed: give a list of tables")
        for k, step in enumerate(cycle):
            bad = set(step) - {"pulse_phases_deg", "receiver_phase_deg"}
            if bad:
                raise SequenceError(
                    f"phase_cycle step {k}: unknown field(s) {', '.join(sorted(bad))} "
                    "(allowed: pulse_phases_deg, receiver_phase_deg)"
                )
        els = []
        for k, e in enumerate(d["elements"]):
            if not isinstance(e, dict) or e.get("type") not in ELEMENTS:
                raise SequenceError(
                    f"element {k}: type = {e.get('type') if isinstance(e, dict) else e!r} is not allowed: "
                    f"use {', '.join(ELEMENTS)}"
                )
            kind = ELEMENTS[e["type"]]
            names = {f.name for f in fields(kind)}
            extra = set(e) - names - {"type"}
            if extra:
                raise SequenceError(f"element {k} ({e['type']}): unknown field(s) {', '.join(sorted(extra))}")
            kwargs = {n: (tuple(v) if isinstance(v, list) else v) for n, v in e.items() if n != "type"}
            try:
                els.append(kind(**kwargs))
            except SequenceError as exc:
                raise SequenceError(f"element {k} ({e['type']}): {exc}") from None
        return cls(tuple(els), d.get("name", ""), tuple(cycle))

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_json(cls, text: str) -> "Sequence":
        try:
            return cls.from_dict(json.loads(text))
        except json.JSONDecodeError as exc:
            raise SequenceError(f"sequence JSON is malformed: {exc}") from None

    def to_toml(self) -> str:
        """TOML text (name, [[elements]] tables, [[phase_cycle]] tables);
        floats are written with repr, so the round trip is exact."""
        lines = [f"name = {_toml_value(self.name)}", ""]
        for e in self.to_dict()["elements"]:
            lines.append("[[elements]]")
            lines += [f"{k} = {_toml_value(v)}" for k, v in e.items()]
            lines.append("")
        for s in self.to_dict().get("phase_cycle", []):
            lines.append("[[phase_cycle]]")
            lines += [f"{k} = {_toml_value(v)}" for k, v in s.items()]
            lines.append("")
        return "\n".join(lines)

    @classmethod
    def from_toml(cls, text: str) -> "Sequence":
        try:
            import tomllib
        except ModuleNotFoundError:  # Python 3.10
            import tomli as tomllib
        try:
            return cls.from_dict(tomllib.loads(text))
        except tomllib.TOMLDecodeError as exc:
            raise SequenceError(f"sequence TOML is malformed: {exc}") from None


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        return repr(float(v))
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise SequenceError(f"cannot write {v!r} to TOML")
