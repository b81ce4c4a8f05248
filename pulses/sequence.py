"""The pulse-sequence language: immutable elements composed into sequences.

Elements are frozen dataclasses — :class:`Pulse`, :class:`Delay`,
:class:`Gradient`, :class:`Acquire` — validated on construction; a
:class:`Sequence` holds them in order with an optional phase cycle (a list
of phase sets, one phase per pulse, each with a receiver phase).  A sequence
knows its total duration and timeline, checks itself against a spin system's
channels, and round-trips losslessly through a plain dict, JSON and TOML
(every value a constructor accepts survives all three).  Errors are
``SequenceError`` and say which element and which field are wrong; an
unknown field is an error that suggests the closest known one, and a
``steps`` or ``points`` whose arrays would exceed
:data:`pulses._validate.MAX_BYTES` is refused before anything is allocated.
This module describes sequences; :mod:`pulses.simulate` runs them.

RF convention (DESIGN.md §3): a pulse of nutation frequency ν1 (Hz) and
phase φ acts as 2π ν1 a(t) (cos φ Ix + sin φ Iy) on the spins of its
channel(s), a(t) the shape envelope (peak 1).  The flip angle is
θ = 360° · ν1 · τ · ā with ā the mean of the envelope.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any, ClassVar

import numpy as np

from pulses import _validate as V
from pulses.errors import SequenceError
from pulses.spinsystem import MAX_SYSTEM_SPINS
from pulses.waveform import Waveform

SHAPES = ("rect", "gaussian", "sinc")

#: Bytes per envelope step (float64) and per acquired point (complex128):
#: what a Pulse's ``steps`` and an Acquire's ``points`` ask to allocate,
#: checked against :data:`pulses._validate.MAX_BYTES`.
_STEP_BYTES, _POINT_BYTES = 8, 16


def _num(where: str, name: str, value, *, minimum: float | None = None, strict: bool = False, optional=False):
    return V.number(value, f"{where}: {name}", SequenceError, minimum=minimum, strict=strict, optional=optional)


def _channels(where: str, value) -> tuple[str, ...] | None:
    """None, one channel name, or a list of distinct non-empty names."""
    if value is None:
        return None
    if isinstance(value, str):
        value = (value,)
    ch = V.items(value, f"{where}: channels", SequenceError, "channel names like '1H'")
    if not ch or not all(isinstance(c, str) and c for c in ch):
        raise SequenceError(f"{where}: channels = {V.show(value)} is not allowed: give channel names like '1H'")
    for c in ch:
        V.string(c, f"{where}: channels", SequenceError)
    if len(set(ch)) != len(ch):
        raise SequenceError(f"{where}: channels = {V.show(ch)} is not allowed: a channel may appear only once")
    return ch


def _spins(where: str, value) -> tuple[int, ...] | None:
    """None, or distinct spin indices 0 ≤ k < MAX_SYSTEM_SPINS (sorted)."""
    if value is None:
        return None
    if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
        value = (value,)
    rule = f"give None or distinct spin indices 0 to {MAX_SYSTEM_SPINS - 1}"
    idx = V.items(value, f"{where}: spins", SequenceError, "spin indices")
    ok = len(idx) > 0 and all(
        isinstance(k, (int, np.integer)) and not isinstance(k, (bool, np.bool_)) and 0 <= int(k) < MAX_SYSTEM_SPINS
        for k in idx
    )
    if not ok or len(set(int(k) for k in idx)) != len(idx):
        raise SequenceError(f"{where}: spins = {V.show(value)} is not allowed: {rule}")
    return tuple(sorted(int(k) for k in idx))


def envelope(shape, steps: int) -> np.ndarray:
    """Piecewise-constant envelope (peak |a| = 1) sampled at ``steps`` step
    centres.  Gaussian: exp(−x²/2) on x ∈ [−3, 3]; sinc: sin(πx)/(πx) on
    x ∈ [−3, 3] (three lobes each side); user samples are used as given
    (normalised to peak 1; then ``steps`` is their number).  Named shapes
    are computed in place, so the peak memory is about one array of
    ``steps`` floats (two for the sinc)."""
    if isinstance(shape, str):
        a = np.arange(steps, dtype=np.float64)
        a += 0.5
        a /= steps
        a *= 6.0
        a -= 3.0  # x, exactly as (arange + 0.5) / steps * 6 − 3
        if shape == "rect":
            a.fill(1.0)
        elif shape == "gaussian":
            a *= a
            a *= -0.5
            np.exp(a, out=a)
        else:  # np.sinc without its temporaries
            zero = a == 0
            a *= np.pi
            y = np.sin(a)
            y /= np.where(zero, 1.0, a) if zero.any() else a
            y[zero] = 1.0
            a = y
    else:
        a = np.array(shape, dtype=np.float64)
    a /= max(a.max(), -a.min())
    return a


def _ratio(num: float, den: float) -> float:
    """num / den as IEEE division (±inf or nan when den underflowed to 0),
    so that a degenerate triple is reported by the finiteness check instead
    of raising ZeroDivisionError."""
    if den != 0:
        return num / den
    return math.copysign(math.inf, num) * math.copysign(1.0, den) if num != 0 else math.nan


def _check_label(where: str, value, field_name: str = "label") -> None:
    V.string(value, f"{where}: {field_name}", SequenceError)


def _who(kind: str, label: str) -> str:
    return f"{kind}{' ' + V.show(label) if label else ''}"


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
    relaxation while it acts).  ``duration_s`` = 0 and ``nutation_hz`` = 0
    (then the flip is 0) are allowed when the other two values determine the
    third.

    Parameters
    ----------
    flip_deg, duration_s, nutation_hz : float
        Flip angle (degrees), length (s, ≥ 0), peak nutation frequency (Hz,
        ≥ 0); all three finite, including the one derived from the others.
    phase_deg : float
        RF phase φ: 0 = x, 90 = y.
    channels : tuple of str
        Channels (isotopes) the pulse acts on, e.g. ("1H",) or ("1H", "13C").
    shape : "rect" | "gaussian" | "sinc" | tuple of float
        Amplitude envelope (user samples: finite real amplitudes, signs
        allowed, not all zero).
    steps : int
        Piecewise-constant steps of the envelope (default 1 for "rect", 64
        for the other named shapes, the number of samples for user shapes);
        its envelope (8 bytes a step) must fit in
        :data:`pulses._validate.MAX_BYTES`.
    hard : bool
        Ideal rotation (delta pulse).
    label : str
    spins : tuple of int, optional
        Target spins (indices), for planning: the RF then acts on these
        spins only, an idealised perfectly selective pulse (each must be on
        one of ``channels``).  A real spectrometer needs a selective
        (shaped, frequency-offset) pulse for that when other spins share the
        channel: :meth:`pulses.platform.Platform.report` flags it, and
        :func:`pulses.builders.selective_pulse` builds the shaped pulse whose
        selectivity comes from the offsets, simulated as it is.  None (the
        default): every spin of the channels.
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
    spins: tuple | None = None

    def __post_init__(self) -> None:
        _check_label("Pulse", self.label)
        w = _who("Pulse", self.label)
        set_ = object.__setattr__
        set_(self, "spins", _spins(w, self.spins))
        if self.channels is None:
            raise SequenceError(f"{w}: channels = None is not allowed: give the channel names, e.g. ('1H',)")
        set_(self, "channels", _channels(w, self.channels))
        set_(self, "phase_deg", _num(w, "phase_deg", self.phase_deg))
        set_(self, "hard", V.boolean(self.hard, f"{w}: hard", SequenceError))
        if isinstance(self.shape, str):
            if self.shape not in SHAPES:
                raise SequenceError(
                    f"{w}: shape = {V.show(self.shape)} is not allowed: use {', '.join(SHAPES)} or samples"
                )
            default_steps = 1 if self.shape == "rect" else 64
        else:
            if not isinstance(self.shape, (list, tuple, np.ndarray)):
                raise SequenceError(
                    f"{w}: shape = {V.show(self.shape)} is not allowed: give {', '.join(SHAPES)} or real samples"
                )
            samples = tuple(V.number_array(self.shape, f"{w}: shape", SequenceError, "real samples").tolist())
            if max(map(abs, samples)) == 0:
                raise SequenceError(f"{w}: shape = {V.show(self.shape)} is not allowed: the samples are all zero")
            set_(self, "shape", samples)
            default_steps = len(samples)
        if self.steps is None:
            steps = default_steps
        else:
            steps = V.integer(self.steps, f"{w}: steps", SequenceError, minimum=1)
        if not isinstance(self.shape, str) and steps != len(self.shape):
            raise SequenceError(f"{w}: steps = {steps} does not match the {len(self.shape)} shape samples")
        V.check_size(steps * _STEP_BYTES, f"{w}: steps", steps, "its envelope", SequenceError)
        set_(self, "steps", steps)
        flip = _num(w, "flip_deg", self.flip_deg, optional=True)
        dur = _num(w, "duration_s", self.duration_s, minimum=0.0, optional=True)
        nu = _num(w, "nutation_hz", self.nutation_hz, minimum=0.0, optional=True)
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
        given = sum(x is not None for x in (flip, dur, nu))
        if given < 2:
            missing = [n for n, x in (("flip_deg", flip), ("duration_s", dur), ("nutation_hz", nu)) if x is None]
            raise SequenceError(
                f"{w}: {', '.join(missing[:-1])} and {missing[-1]} are missing: give two of flip_deg, duration_s, nutation_hz"
            )
        area = float(np.mean(envelope(self.shape, self.steps)))
        if area == 0 and (dur is None or nu is None):
            raise SequenceError(
                f"{w}: the shape has zero mean amplitude, so its flip angle is 0 whatever nutation_hz: "
                "give duration_s and nutation_hz"
            )
        if flip is not None and flip != 0 and np.sign(flip) != np.sign(area):
            raise SequenceError(
                f"{w}: flip_deg = {flip!r} does not have the sign of the shape's mean amplitude ({area:+.3g}), "
                "so it cannot be reached with nutation_hz ≥ 0: give a positive flip (phase_deg + 180 for a "
                "negative one) and a shape of positive mean"
            )
        with np.errstate(over="ignore", under="ignore"):
            if flip is None:
                flip = 360.0 * nu * dur * area
                derived = "flip_deg"
            elif dur is None:
                if nu == 0:
                    raise SequenceError(
                        f"{w}: nutation_hz = 0 leaves duration_s undetermined for flip_deg = {flip!r}: "
                        "give duration_s (with a zero flip) or nutation_hz > 0"
                    )
                dur = _ratio(flip, 360.0 * nu * area) + 0.0  # + 0.0: no −0.0 for a zero flip
                derived = "duration_s"
            elif nu is None:
                if dur == 0:
                    raise SequenceError(
                        f"{w}: duration_s = 0 leaves nutation_hz undetermined: give nutation_hz, or hard = true "
                        "for an instantaneous pulse"
                    )
                nu = _ratio(flip, 360.0 * dur * area) + 0.0  # + 0.0: no −0.0 for a zero flip
                derived = "nutation_hz"
            else:
                derived = None
                got = 360.0 * nu * dur * area
                if not abs(got - flip) <= 1e-9 * max(1.0, abs(flip)):
                    raise SequenceError(
                        f"{w}: flip_deg = {flip!r}, duration_s = {dur!r} and nutation_hz = {nu!r} disagree "
                        f"(they give {got!r}°)"
                    )
        if derived is not None:
            # the derived value must be finite and reproduce the triple (no
            # overflow, no underflow), so that the three values round-trip
            value = {"flip_deg": flip, "duration_s": dur, "nutation_hz": nu}[derived]
            given_text = " and ".join(f"{n} = {x!r}" for n, x in (("flip_deg", flip), ("duration_s", dur),
                                                                   ("nutation_hz", nu)) if n != derived)
            with np.errstate(over="ignore", under="ignore", invalid="ignore"):
                got = 360.0 * nu * dur * area if math.isfinite(value) else math.nan
            if not abs(got - flip) <= 1e-9 * max(1.0, abs(flip)):
                raise SequenceError(
                    f"{w}: {given_text} give {derived} = {value!r}, which is not allowed: it must be finite and "
                    "reproduce the flip angle (the values overflow or underflow a float)"
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
class ShapedPulse(Element):
    """Shaped RF on one or more channels at once, each with its own waveform.

    The optimal-control (GRAPE) pulse, the phase-modulated pulse and the
    simultaneous independent pulses on two channels are one element: per
    channel a :class:`~pulses.waveform.Waveform` (amplitude in % of the
    peak and phase per step) and a peak nutation frequency.  All waveforms
    have the same number of steps, each of length ``duration_s / steps``.
    Step k drives channel c with 2π ν_c a_ck/100 (cos(φ_ck + φ0) Ix +
    sin(φ_ck + φ0) Iy), φ0 = ``phase_deg``.

    Parameters
    ----------
    duration_s : float
        Length (s, finite, ≥ 0).
    waveforms : tuple of Waveform
        One per channel (a dict with the Waveform fields is accepted).
    channels : tuple of str
        The channel of each waveform (distinct), e.g. ("1H", "13C").
    nutation_hz : float or tuple of float
        Peak (100 %) nutation frequency of each channel, Hz (≥ 0; one
        number is used for every channel).
    phase_deg : float
        Phase added to every step (what a phase cycle sets).
    spins : tuple of int, optional
        Target spins, as for :class:`Pulse` (an idealised selective pulse on
        these spins only; each must be on one of ``channels``).
    label : str
    """

    kind: ClassVar[str] = "ShapedPulse"
    duration_s: float | None = None
    waveforms: tuple = ()
    channels: tuple = ("1H",)
    nutation_hz: Any = ()
    phase_deg: float = 0.0
    spins: tuple | None = None
    label: str = ""

    def __post_init__(self) -> None:
        _check_label("ShapedPulse", self.label)
        w = _who("ShapedPulse", self.label)
        set_ = object.__setattr__
        if self.duration_s is None:
            raise SequenceError(f"{w}: duration_s is missing: give the pulse length in seconds")
        set_(self, "duration_s", _num(w, "duration_s", self.duration_s, minimum=0.0))
        if self.channels is None:
            raise SequenceError(f"{w}: channels = None is not allowed: give the channel of each waveform")
        set_(self, "channels", _channels(w, self.channels))
        set_(self, "phase_deg", _num(w, "phase_deg", self.phase_deg))
        set_(self, "spins", _spins(w, self.spins))
        if isinstance(self.waveforms, (Waveform, Mapping)):
            set_(self, "waveforms", (self.waveforms,))
        wfs = V.items(self.waveforms, f"{w}: waveforms", SequenceError, "Waveform objects, one per channel")
        out = []
        for k, wf in enumerate(wfs):
            if isinstance(wf, Mapping):
                V.known_keys(wf, ("amplitude_pct", "phase_deg", "title", "parameters"), f"{w}: waveforms[{k}]",
                             SequenceError)
                if "amplitude_pct" not in wf:
                    raise SequenceError(f"{w}: waveforms[{k}]: amplitude_pct is missing")
                params = wf.get("parameters", ())
                if isinstance(params, (list, tuple)):
                    params = tuple(tuple(p) if isinstance(p, list) else p for p in params)
                try:
                    wf = Waveform(wf["amplitude_pct"], wf.get("phase_deg"), wf.get("title", ""), params)
                except SequenceError as exc:
                    raise SequenceError(f"{w}: waveforms[{k}]: {exc}") from None
            if not isinstance(wf, Waveform):
                raise SequenceError(f"{w}: waveforms[{k}] = {V.show(wf)} is not allowed: give a Waveform")
            out.append(wf)
        if len(out) != len(self.channels):
            raise SequenceError(
                f"{w}: {len(out)} waveforms for {len(self.channels)} channels is not allowed: give one waveform per channel"
            )
        if len({x.steps for x in out}) > 1:
            raise SequenceError(
                f"{w}: waveforms = steps {[x.steps for x in out]} is not allowed: every channel's waveform needs the "
                "same number of steps"
            )
        set_(self, "waveforms", tuple(out))
        nu = self.nutation_hz
        if V.is_real(nu):
            nu = (nu,) * len(out)
        nus = V.items(nu, f"{w}: nutation_hz", SequenceError, "peak nutation frequencies (Hz), one per channel")
        if len(nus) != len(out):
            raise SequenceError(
                f"{w}: nutation_hz = {V.show(self.nutation_hz)} is not allowed: give one peak nutation frequency per "
                f"channel ({len(out)})"
            )
        set_(self, "nutation_hz", tuple(_num(w, f"nutation_hz[{k}]", x, minimum=0.0) for k, x in enumerate(nus)))

    @property
    def steps(self) -> int:
        """Number of piecewise-constant steps (of every channel)."""
        return self.waveforms[0].steps

    @property
    def duration(self) -> float:
        return self.duration_s

    def xy_hz(self) -> np.ndarray:
        """(steps, channels, 2): the x and y nutation frequency (Hz) of every
        step on every channel, the common ``phase_deg`` included."""
        out = np.empty((self.steps, len(self.channels), 2))
        rot = np.deg2rad(self.phase_deg)
        for c, (wf, nu) in enumerate(zip(self.waveforms, self.nutation_hz)):
            a = np.asarray(wf.amplitude_pct) * (nu / 100.0)
            ph = np.deg2rad(np.asarray(wf.phase_deg)) + rot
            out[:, c, 0] = a * np.cos(ph)
            out[:, c, 1] = a * np.sin(ph)
        return out

    @classmethod
    def from_xy(cls, duration_s: float, controls: Mapping, *, label: str = "", spins=None) -> "ShapedPulse":
        """The pulse of Cartesian controls in Hz per channel, e.g. an
        optimal-control program's ``{"1H": (x_hz, y_hz), "13C": (x_hz, y_hz)}``
        (arrays of one value per step): each channel's peak |x + iy| becomes
        its ``nutation_hz`` and its waveform is :meth:`Waveform.from_xy`."""
        controls = V.mapping(controls, "ShapedPulse.from_xy: controls", SequenceError, "channel: (x_hz, y_hz)")
        chans, wfs, nus = [], [], []
        for ch, xy in controls.items():
            pair = V.items(xy, f"ShapedPulse.from_xy: controls[{ch!r}]", SequenceError, "two arrays (x_hz, y_hz)")
            if len(pair) != 2:
                raise SequenceError(f"ShapedPulse.from_xy: controls[{ch!r}] is not allowed: give (x_hz, y_hz)")
            x = V.number_array(pair[0], f"ShapedPulse.from_xy: controls[{ch!r}] x", SequenceError)
            y = V.number_array(pair[1], f"ShapedPulse.from_xy: controls[{ch!r}] y", SequenceError)
            peak = float(np.hypot(x, y).max()) if x.size == y.size else 0.0
            wf = Waveform.from_xy(x, y, peak if peak > 0 else 1.0, title=str(ch))
            chans.append(ch)
            wfs.append(wf)
            nus.append(peak)
        return cls(duration_s=duration_s, waveforms=tuple(wfs), channels=tuple(chans), nutation_hz=tuple(nus),
                   spins=spins, label=label)

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out["waveforms"] = [wf.to_dict() for wf in self.waveforms]
        return out


@dataclass(frozen=True)
class Delay(Element):
    """Free evolution (with relaxation) for ``duration_s`` seconds (finite, ≥ 0)."""

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
    whose total order p = Σ Δm is in ``orders`` (default: all p ≠ 0).  Orders
    are whole numbers with 1 ≤ |p| ≤ :data:`pulses.spinsystem.MAX_SYSTEM_SPINS`
    (no spin system has a higher order)."""

    kind: ClassVar[str] = "Gradient"
    orders: tuple | None = None
    label: str = ""

    def __post_init__(self) -> None:
        _check_label("Gradient", self.label)
        if self.orders is not None:
            rule = (
                f"give whole numbers p with 1 ≤ |p| ≤ {MAX_SYSTEM_SPINS} "
                "(order 0 holds the populations, which no gradient removes)"
            )
            if isinstance(self.orders, str):
                raise SequenceError(f"Gradient: orders = {V.show(self.orders)} is not allowed: {rule}")
            orders = V.items(self.orders, "Gradient: orders", SequenceError, "coherence orders")
            ok = len(orders) > 0 and all(
                isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_))
                and 1 <= abs(int(x)) <= MAX_SYSTEM_SPINS
                for x in orders
            )
            if not ok:
                raise SequenceError(f"Gradient: orders = {V.show(self.orders)} is not allowed: {rule}")
            object.__setattr__(self, "orders", tuple(int(x) for x in orders))


@dataclass(frozen=True)
class Acquire(Element):
    """Detection: ``points`` complex samples every ``dwell_s`` (or give
    ``spectral_width_hz`` = 1/dwell), receiver phase in degrees, on
    ``channels`` (default: every channel of the spin system).  The FID it
    asks for (16 bytes a point) must fit in :data:`pulses._validate.MAX_BYTES`
    and its duration ``points · dwell_s`` must be finite."""

    kind: ClassVar[str] = "Acquire"
    points: int = 1024
    dwell_s: float | None = None
    spectral_width_hz: float | None = None
    receiver_phase_deg: float = 0.0
    channels: tuple | None = None
    label: str = ""

    def __post_init__(self) -> None:
        _check_label("Acquire", self.label)
        w = _who("Acquire", self.label)
        points = V.integer(self.points, f"{w}: points", SequenceError, minimum=1)
        V.check_size(points * _POINT_BYTES, f"{w}: points", points, "its FID", SequenceError)
        object.__setattr__(self, "points", points)
        dw = _num(w, "dwell_s", self.dwell_s, minimum=0.0, strict=True, optional=True)
        sw = _num(w, "spectral_width_hz", self.spectral_width_hz, minimum=0.0, strict=True, optional=True)
        if dw is None and sw is None:
            raise SequenceError(f"{w}: dwell_s and spectral_width_hz are missing: give one")
        if dw is not None and sw is not None and not abs(dw * sw - 1) <= 1e-9:
            raise SequenceError(f"{w}: dwell_s = {dw!r} and spectral_width_hz = {sw!r} disagree (dwell = 1/SW)")
        dw = dw if dw is not None else 1.0 / sw
        sw = 1.0 / dw if sw is None else sw
        if not (math.isfinite(dw) and dw > 0 and math.isfinite(sw)):
            raise SequenceError(
                f"{w}: dwell_s = {dw!r}, spectral_width_hz = {sw!r} is not allowed: both must be finite and > 0 "
                "(dwell = 1/SW)"
            )
        if not math.isfinite(points * dw):
            raise SequenceError(
                f"{w}: points = {points} × dwell_s = {dw!r} overflows: the acquisition time must be finite"
            )
        object.__setattr__(self, "dwell_s", dw)
        object.__setattr__(self, "spectral_width_hz", sw)
        object.__setattr__(self, "receiver_phase_deg", _num(w, "receiver_phase_deg", self.receiver_phase_deg))
        object.__setattr__(self, "channels", _channels(w, self.channels))

    @property
    def duration(self) -> float:
        return self.points * self.dwell_s


ELEMENTS = {cls.kind: cls for cls in (Pulse, ShapedPulse, Delay, Gradient, Acquire)}

#: The elements a phase cycle sets the phase of (in sequence order).
_PHASED = (Pulse, ShapedPulse)

#: The fields of a phase-cycle step (as a PhaseStep or a dict).
_STEP_FIELDS = ("pulse_phases_deg", "receiver_phase_deg")


def _phase_step(where: str, phases, receiver) -> tuple[tuple, float]:
    """Validated (pulse phases, receiver phase) of a phase-cycle step."""
    if isinstance(phases, str) or not isinstance(phases, (list, tuple, np.ndarray)):
        raise SequenceError(
            f"{where}: pulse_phases_deg = {V.show(phases)} is not allowed: give a list of phases (degrees), "
            "one per pulse"
        )
    phases = V.items(phases, f"{where}: pulse_phases_deg", SequenceError, "phases (degrees), one per pulse")
    out = tuple(_num(where, f"pulse_phases_deg[{k}]", p) for k, p in enumerate(phases))
    return out, _num(where, "receiver_phase_deg", receiver)


@dataclass(frozen=True)
class PhaseStep:
    """One step of a phase cycle: a phase per pulse (in sequence order) and
    the receiver phase, degrees (finite numbers)."""

    pulse_phases_deg: tuple
    receiver_phase_deg: float = 0.0

    def __post_init__(self) -> None:
        phases, rec = _phase_step("PhaseStep", self.pulse_phases_deg, self.receiver_phase_deg)
        object.__setattr__(self, "pulse_phases_deg", phases)
        object.__setattr__(self, "receiver_phase_deg", rec)


@dataclass(frozen=True)
class Sequence:
    """An ordered, immutable list of elements with an optional phase cycle.

    Parameters
    ----------
    elements : tuple of Pulse | ShapedPulse | Delay | Gradient | Acquire
        (a list or another ordered iterable is accepted); the total
        duration must be finite.
    name : str
    phase_cycle : tuple of PhaseStep
        Each step replaces the phases of the pulses (Pulse and ShapedPulse
        elements, in order) and sets the
        receiver phase; the simulator averages the steps' FIDs, each
        multiplied by exp(−i·receiver phase).  A step may also be given as a
        dict with the keys ``pulse_phases_deg`` and ``receiver_phase_deg``
        (any other key is an error).  Empty: no cycling.
    """

    elements: tuple
    name: str = ""
    phase_cycle: tuple = ()

    def __post_init__(self) -> None:
        _check_label("sequence", self.name, "name")
        els = V.items(self.elements, "sequence: elements", SequenceError, "Pulse, Delay, Gradient or Acquire elements")
        for k, e in enumerate(els):
            if not isinstance(e, Element):
                raise SequenceError(f"element {k}: {V.show(e)} is not a Pulse, Delay, Gradient or Acquire")
        object.__setattr__(self, "elements", els)
        if not math.isfinite(float(sum(e.duration for e in els))):
            raise SequenceError("sequence: the total duration of the elements overflows: it must be finite")
        n_pulses = sum(isinstance(e, _PHASED) for e in els)
        steps = []
        cycle = V.items(self.phase_cycle, "sequence: phase_cycle", SequenceError, "phase steps")
        for s, step in enumerate(cycle):
            where = f"phase_cycle step {s}"
            if isinstance(step, Mapping):
                V.known_keys(step, _STEP_FIELDS, where, SequenceError)
                phases, rec = _phase_step(where, step.get("pulse_phases_deg", ()), step.get("receiver_phase_deg", 0.0))
            elif isinstance(step, PhaseStep):
                phases, rec = step.pulse_phases_deg, step.receiver_phase_deg
            else:
                raise SequenceError(f"{where}: {V.show(step)} is not allowed: give a PhaseStep or a dict")
            if len(phases) != n_pulses:
                raise SequenceError(f"{where}: {len(phases)} pulse phases given, the sequence has {n_pulses} pulses")
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
        if not isinstance(step, PhaseStep):
            raise SequenceError(f"with_phases: step = {V.show(step)} is not allowed: give a PhaseStep")
        n_pulses = sum(isinstance(e, _PHASED) for e in self.elements)
        if len(step.pulse_phases_deg) != n_pulses:
            raise SequenceError(
                f"with_phases: {len(step.pulse_phases_deg)} pulse phases given, the sequence has {n_pulses} pulses"
            )
        it = iter(step.pulse_phases_deg)
        els = tuple(replace(e, phase_deg=next(it)) if isinstance(e, _PHASED) else e for e in self.elements)
        return Sequence(els, self.name)

    def check(self, channels) -> None:
        """Raise SequenceError if an element names a channel not in
        ``channels`` (a list of names), or — given a
        :class:`pulses.platform.Platform` — if the platform cannot run it
        (:meth:`pulses.platform.Platform.check`: channels, nutation
        frequency, pulse length, minimum delay, duty cycle)."""
        if hasattr(channels, "limits") and callable(getattr(channels, "check", None)):
            channels.check(self)
            return
        known = V.items(channels, "check: channels", SequenceError, "channel names like '1H'")
        if not all(isinstance(c, str) for c in known):
            raise SequenceError(f"check: channels = {V.show(channels)} is not allowed: give channel names like '1H'")
        for k, e in enumerate(self.elements):
            ch = getattr(e, "channels", None)
            for c in ch or ():
                if c not in known:
                    lab = getattr(e, "label", "")
                    raise SequenceError(
                        f"element {k} ({e.kind}{' ' + repr(lab) if lab else ''}): channels = {V.show(ch)} is not "
                        f"allowed: the spin system has {', '.join(known)}"
                    )

    # -------------------------------------------------------- serialisation
    def to_dict(self) -> dict[str, Any]:
        """A plain dict (lists, str, float, int, bool) that :meth:`from_dict`
        turns back into an equal sequence."""
        out: dict[str, Any] = {"name": self.name, "elements": [e.to_dict() for e in self.elements]}
        if self.phase_cycle:
            out["phase_cycle"] = [
                {"pulse_phases_deg": list(s.pulse_phases_deg), "receiver_phase_deg": s.receiver_phase_deg}
                for s in self.phase_cycle
            ]
        return out

    @classmethod
    def from_dict(cls, d: dict) -> "Sequence":
        """The sequence a dict describes (as written by :meth:`to_dict`);
        unknown fields are errors that suggest the closest known one."""
        if not isinstance(d, Mapping) or not isinstance(d.get("elements"), (list, tuple)):
            raise SequenceError(
                f"a sequence description needs an 'elements' list; got {V.show(d)}"
            )
        V.known_keys(d, ("name", "elements", "phase_cycle"), "sequence", SequenceError)
        cycle = d.get("phase_cycle", [])
        if not isinstance(cycle, (list, tuple)) or not all(isinstance(x, Mapping) for x in cycle):
            raise SequenceError(f"phase_cycle = {V.show(cycle)} is not allowed: give a list of tables")
        for k, step in enumerate(cycle):
            V.known_keys(step, _STEP_FIELDS, f"phase_cycle step {k}", SequenceError)
        els = []
        for k, e in enumerate(d["elements"]):
            kind_name = e.get("type") if isinstance(e, Mapping) else None
            if not isinstance(kind_name, str) or kind_name not in ELEMENTS:
                shown = V.show(e.get("type")) if isinstance(e, Mapping) else V.show(e)
                raise SequenceError(f"element {k}: type = {shown} is not allowed: use {', '.join(ELEMENTS)}")
            kind = ELEMENTS[kind_name]
            names = [f.name for f in fields(kind)]
            given = {n: v for n, v in e.items() if n != "type"}
            V.known_keys(given, names, f"element {k} ({kind_name})", SequenceError)
            kwargs = {n: (tuple(v) if isinstance(v, list) else v) for n, v in e.items() if n != "type"}
            try:
                els.append(kind(**kwargs))
            except SequenceError as exc:
                raise SequenceError(f"element {k} ({kind_name}): {exc}") from None
        return cls(tuple(els), d.get("name", ""), tuple(cycle))

    def to_json(self) -> str:
        """JSON text of :meth:`to_dict` (floats written exactly)."""
        return json.dumps(self.to_dict(), indent=2, allow_nan=False)

    @classmethod
    def from_json(cls, text: str) -> "Sequence":
        """The sequence of a JSON text (a str, as written by :meth:`to_json`)."""
        text = _text("JSON", text)
        try:
            d = json.loads(text)
        except RecursionError:
            raise SequenceError("sequence JSON is malformed: it is nested too deeply") from None
        except ValueError as exc:  # JSONDecodeError, or an integer of too many digits
            raise SequenceError(f"sequence JSON is malformed: {V.one_line(exc)}") from None
        return cls.from_dict(d)

    def to_toml(self) -> str:
        """TOML text (name, [[elements]] tables, [[phase_cycle]] tables);
        floats are written with repr, so the round trip is exact."""
        lines = [f"name = {_toml_value(self.name)}", ""]
        if not self.elements:
            lines += ["elements = []", ""]
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
        """The sequence of a TOML text (a str, as written by :meth:`to_toml`)."""
        try:
            import tomllib
        except ModuleNotFoundError:  # Python 3.10
            import tomli as tomllib
        text = _text("TOML", text)
        try:
            d = tomllib.loads(text)
        except RecursionError:
            raise SequenceError("sequence TOML is malformed: it is nested too deeply") from None
        except (tomllib.TOMLDecodeError, ValueError) as exc:
            raise SequenceError(f"sequence TOML is malformed: {V.one_line(exc)}") from None
        return cls.from_dict(d)


def _text(fmt: str, text) -> str:
    if isinstance(text, (bytes, bytearray)):
        raise SequenceError(
            f"sequence {fmt}: text = {V.show(text)} is not allowed: give a str (decode bytes first, "
            "e.g. data.decode('utf-8'))"
        )
    if not isinstance(text, str):
        raise SequenceError(f"sequence {fmt}: text = {V.show(text)} is not allowed: give a str")
    return text


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        return repr(float(v))
    if isinstance(v, str):
        # JSON escapes are TOML escapes; TOML also forbids a raw DEL
        return json.dumps(v, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, Mapping):  # an inline table (a ShapedPulse's waveforms)
        return "{" + ", ".join(f"{_toml_value(str(k))} = {_toml_value(x)}" for k, x in v.items()) + "}"
    raise SequenceError(f"cannot write {V.show(v)} to TOML")
