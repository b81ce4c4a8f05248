"""Generic sequence builders: hard pulses, Jeener–Broekaert, readouts, unitaries.

Small functions that return sequence elements or whole
:class:`~pulses.sequence.Sequence` objects for common NMR building blocks on
a :class:`~pulses.spinsystem.SpinSystem` (or a
:class:`~pulses.platform.Platform`, whose spin system and limits are used):

* :func:`hard_pulse` — a rotation of chosen spins or channels, ideal
  (instantaneous) or rectangular at a given nutation frequency;
* :func:`selective_pulse` — a frequency-selective shaped pulse on one of
  several like spins (envelope and phase ramp at the spin's offset);
* :func:`jeener_broekaert` — 90°x – τ – 45°y, which turns Zeeman order of a
  dipolar-coupled like pair into dipolar order, with :func:`optimal_jb_tau`;
* :func:`readout_pulses` — the 90° readout pulses of two-spin state
  tomography by name ("XI" = 90°x on spin 1, nothing on spin 2, …), in the
  convention of :func:`tomography.nmr_two_spin_readouts`;
* :func:`compile_unitary` (from :mod:`pulses.compiler`) — any two-spin
  unitary, a 4×4 matrix or a ``qutip_qip`` ``QubitCircuit``, as hard pulses
  and free evolutions under the platform's own J coupling.

Builders build; they never simulate, and this module never imports
``nmrqb`` (the quantum-battery translation lives in ``nmrqb.translate``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence as SequenceABC

import numpy as np

from pulses import _validate as V
from pulses.errors import SequenceError
from pulses.sequence import Acquire, Delay, Gradient, Pulse, Sequence, ShapedPulse
from pulses.spinsystem import SpinSystem
from pulses.waveform import Waveform

__all__ = [
    "compile_unitary",
    "hard_pulse",
    "jeener_broekaert",
    "optimal_jb_tau",
    "jb_delay_shift",
    "readout_pulses",
    "READOUT_PHASES",
    "selective_pulse",
]

#: Phase (degrees) of the 90° pulse of each readout letter; "I" is no pulse.
READOUT_PHASES = {"X": 0.0, "Y": 90.0}


def _system(where: str, system_or_platform) -> SpinSystem:
    sys_ = getattr(system_or_platform, "system", system_or_platform)
    if not isinstance(sys_, SpinSystem):
        raise SequenceError(f"{where}: give a SpinSystem or a Platform, got {type(system_or_platform).__name__}")
    return sys_


def _nutation(where: str, system_or_platform, channels, nutation_hz):
    """None → ideal pulse; "max" → the platform's limit; a number → as given."""
    if nutation_hz is None:
        return None
    if isinstance(nutation_hz, str):
        if nutation_hz != "max" or not hasattr(system_or_platform, "limits"):
            raise SequenceError(f"{where}: nutation_hz = {nutation_hz!r} is not allowed: a number > 0, None "
                                "(ideal pulse) or 'max' (the platform's limit, with a Platform)")
        return min(system_or_platform.limits[ch].max_nutation_hz for ch in channels)
    return V.number(nutation_hz, f"{where}: nutation_hz", SequenceError, minimum=0.0, strict=True)


def hard_pulse(system_or_platform, flip_deg: float, phase_deg: float = 0.0, *, spins=None, channels=None,
               nutation_hz=None, label: str = "", selective: bool = False) -> Pulse:
    """A hard pulse of ``flip_deg`` at ``phase_deg`` (0 = x, 90 = y).

    Give the target as ``channels`` (isotope names; default every channel)
    or as ``spins`` (indices): spins are mapped to their channels, which is
    exact only when every other spin of those channels is targeted too — a
    pulse on one of two like spins needs a selective shape and is refused,
    unless ``selective=True``: the pulse then names its spins (``Pulse.spins``)
    and is simulated as an ideal selective rotation of them, for planning
    (:meth:`pulses.platform.Platform.report` flags it; :func:`selective_pulse`
    builds the shaped pulse a spectrometer would give).
    ``nutation_hz`` None gives an ideal instantaneous rotation (the
    hard-pulse limit); a number (or "max" with a Platform) a rectangular
    pulse of that nutation frequency, during which the free Hamiltonian acts.
    """
    system = _system("hard_pulse", system_or_platform)
    if spins is not None and channels is not None:
        raise SequenceError("hard_pulse: give spins or channels, not both")
    if spins is not None:
        idx = [spins] if isinstance(spins, (int, np.integer)) and not isinstance(spins, bool) else spins
        if not isinstance(idx, (list, tuple)) or not idx or not all(
                isinstance(k, (int, np.integer)) and not isinstance(k, bool) and 0 <= k < system.n for k in idx):
            raise SequenceError(f"hard_pulse: spins = {spins!r:.60} is not allowed: give spin indices 0..{system.n - 1}")
        chans = tuple(dict.fromkeys(system.spins[k].isotope for k in idx))
        for ch in chans:
            on = set(system.spins_on(ch))
            if not on <= set(idx) and not selective:
                raise SequenceError(
                    f"hard_pulse: spins = {list(idx)!r} is not allowed: channel {ch!r} also drives spin(s) "
                    f"{sorted(on - set(idx))}; a pulse on one of several like spins needs a selective pulse"
                )
    elif channels is None:
        chans = system.channels
    else:
        chans = (channels,) if isinstance(channels, str) else channels
        if not isinstance(chans, (list, tuple)) or not chans:
            raise SequenceError(f"hard_pulse: channels = {V.show(channels)} is not allowed: give a channel name or "
                                f"a list of them ({', '.join(system.channels)})")
        chans = tuple(chans)
        for ch in chans:
            if not isinstance(ch, str) or ch not in system.channels:
                raise SequenceError(f"hard_pulse: channel {V.show(ch)} is not allowed: this system has "
                                    f"{', '.join(system.channels)}")
    nu = _nutation("hard_pulse", system_or_platform, chans, nutation_hz)
    named = None
    if spins is not None and selective:
        named = tuple(int(k) for k in idx)
        if all(set(system.spins_on(ch)) <= set(named) for ch in chans):
            named = None  # every spin of the channels: an ordinary pulse
    if nu is None:
        return Pulse(flip_deg=flip_deg, phase_deg=phase_deg, channels=chans, hard=True, label=label, spins=named)
    return Pulse(flip_deg=flip_deg, phase_deg=phase_deg, nutation_hz=nu, channels=chans, label=label, spins=named)


def selective_pulse(system_or_platform, spin: int, flip_deg: float, duration_s: float, phase_deg: float = 0.0, *,
                    shape: str = "gaussian", steps: int = 64, label: str = "") -> ShapedPulse:
    """A frequency-selective shaped pulse on one spin of a channel: the
    envelope ``shape`` ("gaussian", "sinc" or "rect") on the spin's channel,
    its phase advancing as 360°·ν_k·t (ν_k the spin's offset, t the centre of
    each step) so that, in the frame of that spin, it is a ``flip_deg``
    pulse at ``phase_deg``.  Its selectivity is physics, not an assumption:
    the other spins of the channel see the same RF off resonance, and the
    simulator propagates it as it is (bandwidth ~ 1/``duration_s``; spins
    much closer than that in offset are partly rotated too).  The nutation
    frequency follows from flip, duration and the envelope's mean."""
    system = _system("selective_pulse", system_or_platform)
    if isinstance(spin, bool) or not isinstance(spin, (int, np.integer)) or not 0 <= spin < system.n:
        raise SequenceError(f"selective_pulse: spin = {spin!r:.60} is not allowed: give a spin index 0..{system.n - 1}")
    V.number(flip_deg, "selective_pulse: flip_deg", SequenceError)
    V.number(phase_deg, "selective_pulse: phase_deg", SequenceError)
    # at most 1e3 s (a selective pulse lasts ms): the phase ramp 360°·ν·t stays finite
    V.number(duration_s, "selective_pulse: duration_s", SequenceError, minimum=0.0, strict=True, maximum=1e3)
    wf = Waveform.named(shape, steps)
    amp = np.asarray(wf.amplitude_pct) / 100.0 * np.where(np.asarray(wf.phase_deg) == 180.0, -1.0, 1.0)
    mean = float(amp.mean())
    if mean <= 0:
        raise SequenceError(f"selective_pulse: shape = {shape!r} has no positive mean amplitude")
    tau = float(duration_s) / steps
    centres = (np.arange(steps) + 0.5) * tau
    ramp = 360.0 * float(system.offsets_hz()[spin]) * centres
    phases = np.asarray(wf.phase_deg) + ramp
    nu = float(flip_deg) / (360.0 * float(duration_s) * mean)
    if nu < 0:
        raise SequenceError(f"selective_pulse: flip_deg = {flip_deg!r} is not allowed: give a flip ≥ 0 "
                            "(phase_deg + 180 for a negative one)")
    channel = system.spins[spin].isotope
    waveform = Waveform(wf.amplitude_pct, tuple(phases.tolist()), f"{shape} selective on spin {spin}")
    return ShapedPulse(duration_s=float(duration_s), waveforms=(waveform,), channels=(channel,), nutation_hz=nu,
                       phase_deg=float(phase_deg), label=label or f"{shape} on {system.labels()[spin]}")


def optimal_jb_tau(d_hz: float) -> float:
    """The Jeener–Broekaert delay of largest dipolar order for an isolated
    like pair of secular coupling 2π d (3 I1z I2z − I1·I2): the order created
    is ∝ sin(3π d τ) (``docs/jeener-broekaert.md``), first maximal at
    τ = 1/(6|d|)."""
    d = V.number(d_hz, "optimal_jb_tau: d_hz", SequenceError)
    tau = 1.0 / (6.0 * abs(d)) if d != 0 else math.inf
    if not math.isfinite(tau):
        raise SequenceError(f"optimal_jb_tau: d_hz = {d_hz!r:.60} is not allowed: give a finite non-zero coupling (Hz) "
                            "whose delay 1/(6|d|) is finite")
    return tau


def jb_delay_shift(nutation_hz: float, flip_deg: float = 45.0) -> float:
    """First-order lengthening of the effective Jeener–Broekaert delay by
    finite rectangular pulses of nutation ν1: δτ = 1/(8ν1) + tan|β|/(4πν1)
    (``docs/jeener-broekaert.md`` §4); subtract it from the delay.
    ``nutation_hz`` > 0; |``flip_deg``| < 90 (tan diverges at 90°)."""
    nu = V.number(nutation_hz, "jb_delay_shift: nutation_hz", SequenceError, minimum=0.0, strict=True)
    beta = V.number(flip_deg, "jb_delay_shift: flip_deg", SequenceError)
    if not abs(beta) < 90.0:
        raise SequenceError(f"jb_delay_shift: flip_deg = {flip_deg!r:.60} is not allowed: give |flip_deg| < 90 "
                            "(the Jeener–Broekaert second pulse, 45° at best)")
    shift = 1.0 / (8.0 * nu) + math.tan(math.radians(abs(beta))) / (4.0 * math.pi * nu)
    if not math.isfinite(shift):
        raise SequenceError(f"jb_delay_shift: nutation_hz = {nutation_hz!r:.60} is not allowed: the shift "
                            "1/(8ν1) + tan|β|/(4πν1) would not be finite; give a nutation frequency in Hz")
    return shift


def jeener_broekaert(system_or_platform, *, tau_s: float | None = None, channel: str | None = None,
                     nutation_hz=None, second_phase_deg: float = 90.0, crush: bool = True,
                     name: str = "jeener-broekaert") -> Sequence:
    """Jeener–Broekaert preparation of dipolar order: 90°x – τ – 45°(φ).

    For an isolated like pair the filtered state is
    1/4 + κ·Dop + (p²/3)·I1·I2 with Dop = 3 I1zI2z − I1·I2 and
    κ = −(p/2)·sin 2β·sin(3π d τ) − p²/6 (β = +45° for φ = 90°, −45° for
    φ = 270°): ``docs/jeener-broekaert.md``.  The p² singlet term is the
    thermal state's own; no non-selective operation removes it, and it
    commutes with the dipolar and the charging Hamiltonians.

    Parameters
    ----------
    system_or_platform : SpinSystem or Platform
        Must hold a dipolar coupling between two spins of ``channel``.
    tau_s : float, optional
        The delay between the pulses; default :func:`optimal_jb_tau` of the
        (first) dipolar coupling of that channel, shortened by
        :func:`jb_delay_shift` for finite pulses.
    channel : str, optional
        Default: the channel of the dipolar pair.
    nutation_hz : None, float or "max"
        None: ideal pulses; otherwise rectangular pulses.
    second_phase_deg : float
        Phase of the 45° pulse: 90 (y, the classic sequence) or 270 (−y),
        which flips the sign of the dipolar order (of its spin temperature).
        Do not phase-cycle it within one preparation: the average of ±y
        holds no dipolar order.
    crush : bool
        Append an ideal coherence filter removing coherence orders ±1, ±2 —
        what the fast dephasing of coherences in a real solid (or a wait of
        a few T2) does — so the deviation is κ·Dop plus the p² singlet term
        (and, with finite pulses, a Zeeman part of order (d/ν1)²).  The
        flip-flop zero-quantum part of dipolar order survives, as it must.
    """
    system = _system("jeener_broekaert", system_or_platform)
    pairs = [c for c in system.couplings if c.kind == "dipolar"
             and system.spins[c.i].isotope == system.spins[c.j].isotope
             and (channel is None or system.spins[c.i].isotope == channel)]
    if not pairs:
        raise SequenceError(
            "jeener_broekaert: the spin system has no dipolar coupling between like spins"
            + (f" on channel {channel!r}" if channel else "") + ": dipolar order needs one"
        )
    pair = pairs[0]
    ch = system.spins[pair.i].isotope
    nu = _nutation("jeener_broekaert", system_or_platform, (ch,), nutation_hz)
    if tau_s is None:
        tau = optimal_jb_tau(pair.hz) - (0.0 if nu is None else jb_delay_shift(nu))
        if tau < 0:
            raise SequenceError(f"jeener_broekaert: nutation_hz = {nu:g} is too low for d = {pair.hz:g} Hz: the pulses "
                                "alone last longer than the optimal delay")
    else:
        tau = tau_s
    if isinstance(tau, bool) or not isinstance(tau, (int, float, np.integer, np.floating)) \
            or not math.isfinite(float(tau)) or float(tau) < 0:
        raise SequenceError(f"jeener_broekaert: tau_s = {tau_s!r:.60} is not allowed: a finite delay >= 0 (s)")
    if second_phase_deg not in (90, 90.0, 270, 270.0):
        raise SequenceError(f"jeener_broekaert: second_phase_deg = {second_phase_deg!r:.40} is not allowed: 90 (y) "
                            "or 270 (-y)")
    els = [
        hard_pulse(system_or_platform, 90.0, 0.0, channels=(ch,), nutation_hz=nutation_hz, label="JB 90x"),
        Delay(float(tau), label="JB tau"),
        hard_pulse(system_or_platform, 45.0, float(second_phase_deg), channels=(ch,), nutation_hz=nutation_hz,
                   label=f"JB 45{'y' if second_phase_deg == 90 else '-y'}"),
    ]
    if crush:
        els.append(Gradient(orders=(-2, -1, 1, 2), label="dephase coherences"))
    return Sequence(tuple(els), name=name)


def readout_pulses(system_or_platform, name: str, *, nutation_hz=None) -> tuple[Pulse, ...]:
    """The pulses of two-spin readout ``name`` (two letters over I, X, Y,
    first letter spin 0): a 90° pulse about x ("X") or y ("Y") or nothing
    ("I") on each spin, as the unitary R = R_0 ⊗ R_1 with
    R_X = exp(−i(π/2)σx/2) of :func:`tomography.nmr_two_spin_readouts`.
    Both spins must be on different channels unless both letters are equal
    (a non-selective pulse)."""
    system = _system("readout_pulses", system_or_platform)
    if system.n != 2:
        raise SequenceError(f"readout_pulses: the spin system has {system.n} spins: two-spin readouts need 2")
    if not isinstance(name, str) or len(name) != 2 or set(name) - set("IXY"):
        raise SequenceError(f"readout_pulses: name = {name!r:.40} is not allowed: two letters from I, X, Y (e.g. 'XI')")
    same_channel = system.spins[0].isotope == system.spins[1].isotope
    if same_channel:
        if name[0] != name[1]:
            raise SequenceError(
                f"readout_pulses: readout {name!r} needs different pulses on two like spins "
                f"(channel {system.spins[0].isotope!r}): only II, XX and YY are possible without selective pulses"
            )
        if name[0] == "I":
            return ()
        return (hard_pulse(system_or_platform, 90.0, READOUT_PHASES[name[0]], spins=(0, 1), nutation_hz=nutation_hz,
                           label=f"read {name}"),)
    out = []
    for k, letter in enumerate(name):
        if letter != "I":
            out.append(hard_pulse(system_or_platform, 90.0, READOUT_PHASES[letter], spins=(k,),
                                  nutation_hz=nutation_hz, label=f"read {name} spin {k}"))
    return tuple(out)


def compile_unitary(target, system_or_platform, *, nutation_hz=None, label: str = ""):
    """Compile a two-spin unitary (4×4 matrix, ``qutip.Qobj`` or
    ``qutip_qip`` ``QubitCircuit``) into hard pulses and free evolutions under
    the J coupling of ``system_or_platform``; see
    :func:`pulses.compiler.compile_unitary`.  With a Platform,
    ``nutation_hz="max"`` uses each channel's limit."""
    from pulses.compiler import compile_unitary as _compile

    system = _system("compile_unitary", system_or_platform)
    if isinstance(nutation_hz, str):
        if nutation_hz != "max" or not hasattr(system_or_platform, "limits"):
            raise SequenceError(f"compile_unitary: nutation_hz = {nutation_hz!r} is not allowed: a number > 0, "
                                "None (ideal pulses) or 'max' (with a Platform)")
        nutation_hz = {ch: system_or_platform.limits[ch].max_nutation_hz for ch in system.channels}
    return _compile(target, system, nutation_hz=nutation_hz, label=label)


def join_sequences(parts: SequenceABC, name: str = "") -> Sequence:
    """One sequence from several sequences and/or elements, in order."""
    if isinstance(parts, (str, bytes)) or not isinstance(parts, (list, tuple, Sequence)):
        raise SequenceError(f"join_sequences: parts = {V.show(parts)} is not allowed: give a list of sequences "
                            "and/or elements")
    if isinstance(parts, Sequence):
        parts = [parts]  # one sequence: its phase cycle is checked below like any part's
    els = []
    for p in parts:
        if isinstance(p, Sequence):
            if p.phase_cycle:
                raise SequenceError(f"join_sequences: {p.name!r} has a phase cycle: join sequences without one")
            els.extend(p.elements)
        elif isinstance(p, (Pulse, Delay, Gradient, Acquire)):
            els.append(p)
        elif isinstance(p, (list, tuple)):
            els.extend(join_sequences(p).elements)
        else:
            raise SequenceError(f"join_sequences: {p!r:.60} is not a Sequence or an element")
    return Sequence(tuple(els), name=name)


__all__ += ["join_sequences"]
