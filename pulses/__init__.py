"""pulses: NMR spin systems, pulse-sequence elements, simulation with
relaxation, FIDs, spectra and NMR data I/O.

A general NMR library: it takes Hamiltonians, states and spin systems as
plain objects and never imports ``nmrqb``.

    from pulses import SpinSystem, Spin, Coupling, Sequence, Pulse, Delay, Acquire, simulate
    sys = SpinSystem((Spin("1H", offset_hz=120, t1_s=1, t2_s=0.1), Spin("13C", t2_s=0.2)),
                     (Coupling(0, 1, 140.0),), proton_mhz=400)
    res = simulate(sys, Sequence((Pulse(flip_deg=90, nutation_hz=25e3), Acquire(points=2048, spectral_width_hz=2000))))
    spec = fft(apodize(res.fid("1H"), lb_hz=1.0))

Shaped pulses (GRAPE, phase-modulated, several channels at once) are
:class:`ShapedPulse` elements carrying :class:`Waveform` data, read from and
written to Bruker shape files (:func:`read_shape`, :func:`write_shape`);
:func:`pick_peaks` finds the lines of a spectrum.  ``docs/pulses.md`` has the
engines (dense and sparse, up to 7 spins) and their memory bound.

Platforms (a spin system plus spectrometer limits, with presets) are in
:mod:`pulses.platform`; sequence builders (hard pulses, Jeener–Broekaert,
readouts) and the two-spin unitary compiler in :mod:`pulses.builders` and
:mod:`pulses.compiler`.
"""

from pulses import builders, compiler, platform
from pulses.bruker import read_bruker, read_bruker_processed, write_bruker
from pulses.compiler import CompiledUnitary, compile_unitary
from pulses.errors import DataError, PulsesError, SequenceError, SimulationError, SpinSystemError
from pulses.fid import FID, stack_fids
from pulses.platform import ChannelLimits, Platform
from pulses.sequence import Acquire, Delay, Gradient, PhaseStep, Pulse, Sequence, ShapedPulse
from pulses.simulate import Distribution, SimulationResult, Simulator, simulate
from pulses.spectra import (Spectrum, add_noise, apodize, fft, fit_lines, integrate, measure_snr, pick_peaks,
                            zero_fill)
from pulses.spinsystem import ISOTOPES, Coupling, Spin, SpinSystem
from pulses.waveform import Waveform, read_shape, write_shape

__all__ = [
    "builders", "compiler", "platform", "ChannelLimits", "CompiledUnitary", "Platform", "compile_unitary",
    "Acquire", "Coupling", "DataError", "Delay", "Distribution", "FID", "Gradient", "ISOTOPES", "PhaseStep",
    "Pulse", "PulsesError", "Sequence", "SequenceError", "ShapedPulse", "SimulationError", "SimulationResult",
    "Simulator", "Spectrum", "Spin", "SpinSystem", "SpinSystemError", "Waveform", "add_noise", "apodize", "fft",
    "fit_lines", "integrate", "measure_snr", "pick_peaks", "read_bruker", "read_bruker_processed", "read_shape",
    "simulate", "stack_fids", "write_bruker", "write_shape", "zero_fill",
]
