"""Spectra in one import: the names of the spectrum modules of pulses.

This module re-exports, unchanged, what used to be defined here and now
lives in one module per job:

* :mod:`pulses.spectrum` — the :class:`Spectrum` value (axes, phasing,
  regions, rows) and the conventions (frequency axis, the *amplitude
  convention*);
* :mod:`pulses.processing` — :func:`apodize`, :func:`zero_fill`, :func:`fft`;
* :mod:`pulses.noise` — :func:`noise_sigma`, :func:`add_noise`,
  :func:`measure_snr`, :class:`SNRMeasurement` and the *SNR definition*;
* :mod:`pulses.lineshapes` — the lmfit lineshape models
  :class:`LorentzianLine` and :class:`VoigtLine`, :func:`line_shape`,
  :func:`exact_possible`;
* :mod:`pulses.amplitudes` — :func:`fit_lines` (:class:`LineFit`,
  :class:`FittedLine`) and :func:`integrate`;
* :mod:`pulses.peaks` — :func:`pick_peaks` (:class:`PeakList`,
  :class:`Peak`): the lines of a spectrum, so that ``fit_lines`` needs no
  hand-given centres.

The input checks they share are in :mod:`pulses._spectra_checks` (built on
:mod:`pulses._validate`).  This module defines nothing of its own: add new
code to the module whose job it is, and import from there or from here.
Like those modules it never imports ``nmrqb``.
"""

from __future__ import annotations

# the private helpers that lived here (``_dft``, ``_pair``, the lineshape
# kernels, ...) stay importable for code written against the single module
from pulses._spectra_checks import check_fid as _check_fid  # noqa: F401
from pulses._spectra_checks import finite_result as _finite_result  # noqa: F401
from pulses._spectra_checks import pair as _pair  # noqa: F401
from pulses.amplitudes import FittedLine, LineFit, fit_lines, integrate
from pulses.lineshapes import (  # noqa: F401
    _SHAPES,
    LINE_MODELS,
    LorentzianLine,
    VoigtLine,
    _fft_grid,
    _half_height_width,
    _lorentz_continuous,
    _lorentz_exact,
    _voigt_continuous,
    _voigt_exact,
    exact_possible,
    line_shape,
)
from pulses.noise import SNRMeasurement, add_noise, measure_snr, noise_sigma
from pulses.peaks import Peak, PeakList, pick_peaks
from pulses.processing import _dft, apodize, fft, zero_fill  # noqa: F401
from pulses.spectrum import Spectrum

__all__ = [
    "LINE_MODELS",
    "FittedLine",
    "LineFit",
    "LorentzianLine",
    "Peak",
    "PeakList",
    "SNRMeasurement",
    "Spectrum",
    "VoigtLine",
    "add_noise",
    "apodize",
    "exact_possible",
    "fft",
    "fit_lines",
    "integrate",
    "line_shape",
    "measure_snr",
    "noise_sigma",
    "pick_peaks",
    "zero_fill",
]
