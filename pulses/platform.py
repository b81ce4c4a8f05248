"""Platforms: a spin system plus the limits of the spectrometer that drives it.

A :class:`Platform` plays the part of Pulser's ``Device``: one frozen object
holding the sample (a :class:`~pulses.spinsystem.SpinSystem`), the limits of
each RF channel (:class:`ChannelLimits`: maximum nutation frequency, maximum
pulse length, minimum delay, RF duty cycle) and the energy scale
``unit_hz`` that maps a model energy unit onto a lab frequency
(H_lab = 2π · unit_hz · H_model).  :meth:`Platform.check` (also reached as
``Sequence.check(platform)``) rejects a sequence that a real spectrometer
would refuse, naming the element index, its label, the channel and the
limit; :meth:`Platform.report` summarises a sequence for a planning report,
flagging the pulses on named spins that a spectrometer can only give as
frequency-selective shaped pulses (:func:`selective_pulses`).  Two presets
users copy and edit: :func:`chloroform_13c` (a
heteronuclear J-coupled pair, liquid state) and :func:`gypsum_water` (a
homonuclear dipolar pair, single crystal).

This module describes; it neither builds sequences (:mod:`pulses.builders`)
nor simulates them, and it never imports ``nmrqb``.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pulses.errors import SequenceError, SpinSystemError
from pulses.sequence import Acquire, Delay, Pulse, Sequence, ShapedPulse
from pulses.spinsystem import Coupling, Spin, SpinSystem

__all__ = ["ChannelLimits", "Platform", "PRESETS", "chloroform_13c", "gypsum_water", "preset", "selective_pulses"]

#: Relative slack when comparing a value against a limit (a 90° pulse computed
#: from the limit itself must pass): 1e-9.
_LIMIT_RTOL = 1e-9


def _pos(where: str, name: str, value, *, allow_zero: bool = False, maximum: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise SpinSystemError(f"{where}: {name} = {value!r:.60} is not allowed: give a finite number")
    try:
        v = float(value)
    except OverflowError:
        raise SpinSystemError(f"{where}: {name} = an integer of {len(str(value))} digits is not allowed: it is too "
                              "large for a float") from None
    ok = math.isfinite(v) and (v >= 0 if allow_zero else v > 0) and (maximum is None or v <= maximum)
    if not ok:
        rule = (">= 0" if allow_zero else "> 0") + ("" if maximum is None else f" and <= {maximum:g}")
        raise SpinSystemError(f"{where}: {name} = {v!r} is not allowed: it must be finite and {rule}")
    return v


@dataclass(frozen=True)
class ChannelLimits:
    """What one RF channel (one isotope) of a spectrometer and probe allows.

    Parameters
    ----------
    max_nutation_hz : float
        Largest RF nutation frequency ν1 (Hz); a 90° pulse lasts at least
        1/(4 ν1).
    max_pulse_s : float
        Longest single pulse (s) the amplifier and probe accept at any power.
    min_delay_s : float
        Shortest non-zero free delay (s) between events (switching time).
    max_duty_cycle : float
        Largest fraction of a scan (sequence plus recycle delay) the channel
        may transmit, 0 < x ≤ 1.
    """

    max_nutation_hz: float
    max_pulse_s: float
    min_delay_s: float = 0.0
    max_duty_cycle: float = 0.1

    def __post_init__(self) -> None:
        w = "ChannelLimits"
        object.__setattr__(self, "max_nutation_hz", _pos(w, "max_nutation_hz", self.max_nutation_hz))
        object.__setattr__(self, "max_pulse_s", _pos(w, "max_pulse_s", self.max_pulse_s))
        object.__setattr__(self, "min_delay_s", _pos(w, "min_delay_s", self.min_delay_s, allow_zero=True))
        object.__setattr__(self, "max_duty_cycle", _pos(w, "max_duty_cycle", self.max_duty_cycle, maximum=1.0))

    def hard_pulse_s(self, flip_deg: float) -> float:
        """Length (s) of a rectangular pulse of ``flip_deg`` at the maximum nutation."""
        return abs(flip_deg) / (360.0 * self.max_nutation_hz)


@dataclass(frozen=True)
class Platform:
    """A spin system on a spectrometer: the sample, the channel limits and
    the model energy scale.

    Parameters
    ----------
    name : str
    system : SpinSystem
    limits : dict[str, ChannelLimits]
        One entry per channel (isotope) of ``system``.
    unit_hz : float
        One model energy unit in Hz: H_lab = 2π · unit_hz · H_model (≠ 0;
        its sign maps the model's energy axis onto the lab's).
    recycle_delay_s : float
        Wait between scans (s) for the spins to return to equilibrium;
        counts in the duty cycle and the experiment time (default 5·T1max).
    description : str
        Where the numbers come from.
    """

    name: str
    system: SpinSystem
    limits: dict = field(default_factory=dict)
    unit_hz: float = 1.0
    recycle_delay_s: float | None = None
    description: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise SpinSystemError(f"Platform: name = {self.name!r:.60} is not allowed: give a non-empty string")
        if not isinstance(self.description, str):
            raise SpinSystemError(f"Platform {self.name!r}: description must be a string")
        if not isinstance(self.system, SpinSystem):
            raise SpinSystemError(f"Platform {self.name!r}: system must be a SpinSystem, got {type(self.system).__name__}")
        if not isinstance(self.limits, dict):
            raise SpinSystemError(f"Platform {self.name!r}: limits must be a dict channel -> ChannelLimits")
        for ch in self.system.channels:
            if ch not in self.limits:
                raise SpinSystemError(f"Platform {self.name!r}: limits has no entry for channel {ch!r}")
        for ch, lim in self.limits.items():
            if ch not in self.system.channels:
                raise SpinSystemError(
                    f"Platform {self.name!r}: limits names channel {ch!r}, which has no spin "
                    f"(channels: {', '.join(self.system.channels)})"
                )
            if not isinstance(lim, ChannelLimits):
                raise SpinSystemError(f"Platform {self.name!r}: limits[{ch!r}] must be a ChannelLimits")
        if isinstance(self.unit_hz, bool) or not isinstance(self.unit_hz, (int, float, np.integer, np.floating)) \
                or not math.isfinite(float(self.unit_hz)) or float(self.unit_hz) == 0:
            raise SpinSystemError(f"Platform {self.name!r}: unit_hz = {self.unit_hz!r:.60} is not allowed: "
                                  "give a finite non-zero number (Hz per model energy unit)")
        object.__setattr__(self, "unit_hz", float(self.unit_hz))
        if self.recycle_delay_s is None:
            t1 = [s.t1_s for s in self.system.spins if s.t1_s is not None]
            object.__setattr__(self, "recycle_delay_s", 5.0 * max(t1) if t1 else 1.0)
        object.__setattr__(self, "recycle_delay_s",
                           _pos(f"Platform {self.name!r}", "recycle_delay_s", self.recycle_delay_s, allow_zero=True))
        object.__setattr__(self, "limits", dict(self.limits))

    @property
    def channels(self) -> tuple[str, ...]:
        return self.system.channels

    def replace(self, **changes: Any) -> "Platform":
        """A copy with some fields changed (``dataclasses.replace``)."""
        known = {f.name for f in dataclasses.fields(self)}
        for k in changes:
            if k not in known:
                near = difflib.get_close_matches(k, sorted(known), n=1)
                hint = f"; did you mean {near[0]!r}?" if near else ""
                raise SpinSystemError(f"Platform.replace: unknown field {k!r}{hint} (allowed: {', '.join(sorted(known))})")
        return dataclasses.replace(self, **changes)

    # ------------------------------------------------------------ checks
    def _pulse_length(self, where: str, ch: str, duration_s: float) -> float:
        """``duration_s`` if within the channel's maximum pulse length, else a
        SequenceError naming the element and the limit."""
        lim = self.limits[ch]
        if duration_s > lim.max_pulse_s * (1 + _LIMIT_RTOL):
            raise SequenceError(
                f"{where} on channel {ch!r}: duration_s = {duration_s:g} exceeds the platform's maximum "
                f"pulse length {lim.max_pulse_s:g} s ({self.name})"
            )
        return duration_s

    def check(self, sequence: Sequence) -> None:
        """Raise :class:`~pulses.errors.SequenceError` for the first element of
        ``sequence`` that this platform cannot run: an unknown channel, a
        nutation frequency or a pulse length over the channel's limit, a
        delay shorter than the minimum, or a channel's RF duty cycle (pulse
        time over sequence plus recycle delay) over its maximum.  Ideal hard
        pulses count with the length they would have at the maximum
        nutation frequency."""
        if not isinstance(sequence, Sequence):
            raise SequenceError(f"Platform.check: sequence must be a Sequence, got {type(sequence).__name__}")
        sequence.check(self.channels)
        on_time = dict.fromkeys(self.channels, 0.0)
        for k, e in enumerate(sequence.elements):
            where = f"element {k}{f' ({e.label!r})' if getattr(e, 'label', '') else ''} ({e.kind})"
            if isinstance(e, Pulse):
                for ch in e.channels:
                    lim = self.limits[ch]
                    if e.hard:
                        on_time[ch] += lim.hard_pulse_s(e.flip_deg)
                        continue
                    peak = float(np.abs(e.amplitudes_hz()).max())
                    if peak > lim.max_nutation_hz * (1 + _LIMIT_RTOL):
                        raise SequenceError(
                            f"{where} on channel {ch!r}: nutation_hz = {peak:g} exceeds the platform's maximum "
                            f"{lim.max_nutation_hz:g} Hz ({self.name})"
                        )
                    on_time[ch] += self._pulse_length(where, ch, e.duration_s)
            elif isinstance(e, ShapedPulse):
                for ch, wf, nu in zip(e.channels, e.waveforms, e.nutation_hz):
                    lim = self.limits[ch]
                    peak = nu * max(wf.amplitude_pct) / 100.0
                    if peak > lim.max_nutation_hz * (1 + _LIMIT_RTOL):
                        raise SequenceError(
                            f"{where} on channel {ch!r}: peak nutation {peak:g} Hz (nutation_hz × the waveform's "
                            f"largest amplitude) exceeds the platform's maximum {lim.max_nutation_hz:g} Hz ({self.name})"
                        )
                    on_time[ch] += self._pulse_length(where, ch, e.duration_s)
            elif isinstance(e, Delay):
                for ch in self.channels:
                    lim = self.limits[ch]
                    if 0 < e.duration_s < lim.min_delay_s * (1 - _LIMIT_RTOL):
                        raise SequenceError(
                            f"{where}: duration_s = {e.duration_s:g} is shorter than the platform's minimum delay "
                            f"{lim.min_delay_s:g} s on channel {ch!r} ({self.name})"
                        )
        scan = sequence.duration + self.recycle_delay_s
        for ch, t in on_time.items():
            if scan > 0 and t / scan > self.limits[ch].max_duty_cycle * (1 + _LIMIT_RTOL):
                raise SequenceError(
                    f"sequence {sequence.name!r}: channel {ch!r} transmits {t:g} s of {scan:g} s per scan, duty cycle "
                    f"{t / scan:.3g} exceeds the platform's maximum {self.limits[ch].max_duty_cycle:g} ({self.name})"
                )

    def duty_cycles(self, sequence: Sequence) -> dict[str, float]:
        """RF-on fraction of a scan (sequence + recycle delay) per channel."""
        on = dict.fromkeys(self.channels, 0.0)
        for e in sequence.elements:
            if isinstance(e, Pulse):
                for ch in e.channels:
                    on[ch] += self.limits[ch].hard_pulse_s(e.flip_deg) if e.hard else e.duration_s
            elif isinstance(e, ShapedPulse):
                for ch in e.channels:
                    on[ch] += e.duration_s
        scan = sequence.duration + self.recycle_delay_s
        return {ch: (t / scan if scan > 0 else 0.0) for ch, t in on.items()}

    def report(self, sequence: Sequence) -> dict[str, Any]:
        """What running ``sequence`` here involves, for a planning report
        (JSON-ready): ``duty_cycles`` per channel, ``selective`` — one entry
        per pulse that targets named spins (``spins``) while other spins
        share its channel, which a real spectrometer can only do with a
        frequency-selective shaped pulse (the simulation treats it as ideal;
        :func:`pulses.builders.selective_pulse` builds the shaped pulse) — and
        ``needs_selective_shape``, true when there is any."""
        self.check(sequence)
        return {
            "platform": self.name,
            "duty_cycles": self.duty_cycles(sequence),
            "selective": selective_pulses(self.system, sequence),
            "needs_selective_shape": bool(selective_pulses(self.system, sequence)),
        }

    def acquire(self, points: int = 2048, spectral_width_hz: float | None = None, label: str = "acq") -> Acquire:
        """An acquisition on every channel whose spectral width covers all
        lines (4 × the largest offset or coupling, at least 1 kHz) unless given."""
        if spectral_width_hz is None:
            spread = max([abs(x) for x in self.system.offsets_hz()] + [abs(c.hz) * 3 for c in self.system.couplings] + [250.0])
            spectral_width_hz = 4.0 * spread
        return Acquire(points=points, spectral_width_hz=spectral_width_hz, label=label)


def selective_pulses(system: SpinSystem, sequence: Sequence) -> list[dict[str, Any]]:
    """The pulses of ``sequence`` that drive only some of the spins of a
    channel (``spins`` given and another spin of that channel not named):
    per entry the element index, label, channel, target spins, the other
    spins of the channel (labels and indices), the smallest offset
    difference (Hz) between a target and another spin — what a selective
    shape must resolve — and ``needs_selective_shape`` (true)."""
    if not isinstance(system, SpinSystem):
        raise SpinSystemError(f"selective_pulses: system must be a SpinSystem, got {type(system).__name__}")
    if not isinstance(sequence, Sequence):
        raise SequenceError(f"selective_pulses: sequence must be a Sequence, got {type(sequence).__name__}")
    labels = system.labels()
    offs = system.offsets_hz()
    out = []
    for k, e in enumerate(sequence.elements):
        spins = getattr(e, "spins", None)
        if spins is None:
            continue
        for ch in e.channels:
            if ch not in system.channels:
                continue
            on = system.spins_on(ch)
            targets = [i for i in spins if i in on]
            others = [i for i in on if i not in spins]
            if not targets or not others:
                continue
            sep = min(abs(offs[i] - offs[j]) for i in targets for j in others)
            out.append({
                "element": k, "label": getattr(e, "label", ""), "kind": e.kind, "channel": ch,
                "spins": targets, "spin_labels": [labels[i] for i in targets],
                "other_spins": others, "other_labels": [labels[i] for i in others],
                "min_offset_separation_hz": float(sep), "needs_selective_shape": True,
            })
    return out


# --------------------------------------------------------------------------
# presets
# --------------------------------------------------------------------------
def chloroform_13c(proton_mhz: float = 400.0, unit_hz: float = 215.0) -> Platform:
    """13C-labelled chloroform (13CHCl3) in acetone-d6 at ``proton_mhz``: a
    heteronuclear 1H–13C pair, the workhorse of two-qubit liquid-state NMR.

    * J(13C,1H) = 215 Hz, weak coupling (Vandersypen & Chuang, Rev. Mod.
      Phys. 76, 1037 (2004), Sec. VI; Chuang, Gershenfeld & Kubinec, Phys.
      Rev. Lett. 80, 3408 (1998)).
    * T1(1H) ≈ 19 s, T2(1H) ≈ 7 s, T1(13C) ≈ 25 s, T2(13C) ≈ 0.3 s (Chuang,
      Gershenfeld & Kubinec 1998, measured on their sample; degassing and
      solvent change them — measure yours).
    * Offsets: carriers set near resonance, 1H line +120 Hz and 13C line
      −80 Hz from their carriers (CHCl3: 7.26 ppm and 77 ppm), a typical
      on-purpose detuning that keeps the four lines apart.
    * Limits of a 5 mm broadband liquids probe: 90° pulses of 10 µs (1H,
      25 kHz) and 12.5 µs (13C, 20 kHz); 10 ms longest pulse at any power;
      3 µs minimum delay; 10 % duty cycle.
    * ``unit_hz`` = 215 Hz: one model energy unit equals the J coupling, so
      model energies of order 1 are lab energies of order J.
    """
    system = SpinSystem(
        (Spin("1H", offset_hz=120.0, t1_s=19.0, t2_s=7.0, label="H"),
         Spin("13C", offset_hz=-80.0, t1_s=25.0, t2_s=0.3, label="C")),
        (Coupling(0, 1, 215.0),),
        proton_mhz=proton_mhz,
    )
    limits = {
        "1H": ChannelLimits(max_nutation_hz=25e3, max_pulse_s=10e-3, min_delay_s=3e-6, max_duty_cycle=0.1),
        "13C": ChannelLimits(max_nutation_hz=20e3, max_pulse_s=10e-3, min_delay_s=3e-6, max_duty_cycle=0.1),
    }
    return Platform("chloroform-13c", system, limits, unit_hz=unit_hz, recycle_delay_s=5 * 25.0,
                    description=" ".join(chloroform_13c.__doc__.split("\n\n")[0].split()))


def gypsum_water(d_hz: float = -10e3, proton_mhz: float = 400.0, unit_hz: float | None = None) -> Platform:
    """The two 1H of a crystal-water molecule in a gypsum (CaSO4·2H2O) single
    crystal: a homonuclear dipolar pair, Pake's classic sample.

    * H–H distance 1.58 Å (Pake, J. Chem. Phys. 16, 327 (1948)), dipolar
      constant b/2π = (μ0/4π) γ² ħ / (2π r³) ≈ 30.4 kHz; the secular coupling
      2π d (3 I1z I2z − I1·I2) has d = −b (3cos²θ − 1)/2, so d ≈ −10 kHz for
      a crystal orientation with (3cos²θ − 1)/2 ≈ 0.33 (Pake doublet split by
      3|d| = 30 kHz).  Intermolecular couplings (a few kHz) are left out: the
      isolated-pair model.
    * Relaxation: T1 ≈ 5 s and dipolar-order lifetime T1D ≈ 0.5 s are
      representative room-temperature orders of magnitude for gypsum, not a
      measurement: replace them with your crystal's.  T2 is left unset: the
      line width of a dipolar solid is coherent evolution, and per-spin T2
      would also destroy dipolar order (see :class:`pulses.spinsystem.Spin`).
    * Solid-state probe limits: 90° pulse of 2.5 µs (100 kHz), 1 ms longest
      pulse, 2 µs minimum delay (receiver dead time), 5 % duty cycle.
    * ``unit_hz`` (default 3d/4): the axial model part (Δ/3)(2ZZ − XX − YY)
      equals d(3 I1z I2z − I1·I2) with d = 4Δ/3 model units, so Δ = 1
      corresponds to this crystal's coupling.
    """
    if isinstance(d_hz, bool) or not isinstance(d_hz, (int, float, np.integer, np.floating)) \
            or not math.isfinite(float(d_hz)) or float(d_hz) == 0:
        raise SpinSystemError(f"gypsum_water: d_hz = {d_hz!r:.60} is not allowed: give a finite non-zero coupling (Hz)")
    d_hz = float(d_hz)
    system = SpinSystem(
        (Spin("1H", offset_hz=0.0, t1_s=5.0, label="H1"), Spin("1H", offset_hz=0.0, t1_s=5.0, label="H2")),
        (Coupling(0, 1, d_hz, kind="dipolar", t1d_s=0.5),),
        proton_mhz=proton_mhz,
    )
    limits = {"1H": ChannelLimits(max_nutation_hz=100e3, max_pulse_s=1e-3, min_delay_s=2e-6, max_duty_cycle=0.05)}
    return Platform("gypsum-water", system, limits, unit_hz=0.75 * d_hz if unit_hz is None else unit_hz,
                    recycle_delay_s=25.0, description=" ".join(gypsum_water.__doc__.split("\n\n")[0].split()))


#: Preset platforms by name (functions taking keyword overrides).
PRESETS = {"chloroform-13c": chloroform_13c, "gypsum-water": gypsum_water}


def preset(name: str, **options: Any) -> Platform:
    """The preset platform ``name`` (see :data:`PRESETS`), with the preset
    function's keyword ``options`` (e.g. ``proton_mhz``, ``unit_hz``)."""
    if not isinstance(name, str) or name not in PRESETS:
        near = difflib.get_close_matches(str(name), list(PRESETS), n=1)
        hint = f"; did you mean {near[0]!r}?" if near else ""
        raise SpinSystemError(f"platform = {name!r:.60} is not allowed{hint} (presets: {', '.join(PRESETS)})")
    try:
        return PRESETS[name](**options)
    except TypeError as exc:
        raise SpinSystemError(f"platform {name!r}: {exc}") from None
