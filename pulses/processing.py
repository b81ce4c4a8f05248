"""Processing of FIDs into spectra: apodisation, zero filling, Fourier transform.

The steps an NMR spectroscopist applies to an :class:`~pulses.fid.FID`
before looking at lines: :func:`apodize` (window functions), :func:`zero_fill`
and :func:`fft` (the transform into a :class:`~pulses.spectrum.Spectrum`
under the amplitude convention of :mod:`pulses.spectrum`); phasing is
:meth:`Spectrum.phase <pulses.spectrum.Spectrum.phase>`.  Each step returns
a new value and appends itself to ``metadata["processing"]``.  This module
works on ``FID`` / ``Spectrum`` values only: it does not add noise
(:mod:`pulses.noise`), fit (:mod:`pulses.amplitudes`), simulate or do file
I/O, and it never imports ``nmrqb``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from pulses import _validate as V
from pulses._spectra_checks import check_fid as _check_fid
from pulses._spectra_checks import finite_result as _finite_result
from pulses.errors import DataError
from pulses.fid import FID, _finite, _positive
from pulses.spectrum import Spectrum

__all__ = ["apodize", "fft", "zero_fill"]

_LN2 = math.log(2.0)


def _processed(fid: FID, step: dict, data: np.ndarray, **extra: Any) -> FID:
    processing = list(fid.metadata.get("processing", [])) + [step]
    return fid.with_data(data, **{"processing": processing, **extra})


def apodize(fid: FID, kind: str = "exponential", *, lb_hz: float | None = None, gb_hz: float | None = None) -> FID:
    """Multiply the FID by a window function w(t) with w(0) = 1.

    Because w(0) = 1 the integral of every line (its amplitude, see the
    amplitude convention of :mod:`pulses.spectrum`) is unchanged; only the
    lineshape changes.

    Parameters
    ----------
    fid : FID
        1-D or a series (each row is weighted).
    kind : {"exponential", "gaussian", "lorentz_to_gauss"}
        * ``"exponential"``: ``w = exp(−π lb t)``; adds ``lb_hz`` to the
          Lorentzian FWHM of every line.  Needs ``lb_hz ≥ 0``.
        * ``"gaussian"``: ``w = exp(−(π gb t)² / (4 ln 2))``; convolves every
          line with a unit-area Gaussian of FWHM ``gb_hz`` (a Lorentzian
          becomes a Voigt).  Needs ``gb_hz > 0``.
        * ``"lorentz_to_gauss"``: ``w = exp(+π lb t − (π gb t)² / (4 ln 2))``;
          turns a Lorentzian of FWHM ``lb_hz`` into a Gaussian of FWHM
          ``gb_hz`` (resolution enhancement).  Needs ``lb_hz > 0``,
          ``gb_hz > 0``.
    lb_hz, gb_hz : float
        Line broadenings (Hz), as required by ``kind``; giving one that
        ``kind`` does not use is an error.

    Returns
    -------
    FID
        The weighted FID; the step is appended to ``metadata["processing"]``.
    """
    fid = _check_fid(fid, "apodize")
    t = fid.time_s
    kinds = "use 'exponential', 'gaussian' or 'lorentz_to_gauss'"
    if not isinstance(kind, str):
        raise DataError(f"apodize.kind = {V.show(kind)} is not allowed: {kinds}")
    if kind == "exponential":
        if gb_hz is not None:
            raise DataError("apodize: gb_hz is not used by kind='exponential' (use 'gaussian' or 'lorentz_to_gauss')")
        if lb_hz is None:
            raise DataError("apodize: kind='exponential' needs lb_hz (Hz, finite, ≥ 0)")
        lb = _finite("apodize", "lb_hz", lb_hz)
        if lb < 0:
            raise DataError(
                f"apodize.lb_hz = {lb_hz!r} is not allowed for kind='exponential': it must be ≥ 0 "
                "(for resolution enhancement use kind='lorentz_to_gauss')"
            )
        with np.errstate(over="ignore"):
            expo = -math.pi * (lb * t)
        step = {"step": "apodize", "kind": kind, "lb_hz": lb}
    elif kind == "gaussian":
        if lb_hz is not None:
            raise DataError("apodize: lb_hz is not used by kind='gaussian' (use 'exponential' or 'lorentz_to_gauss')")
        if gb_hz is None:
            raise DataError("apodize: kind='gaussian' needs gb_hz (Hz, finite, > 0)")
        gb = _positive("apodize", "gb_hz", gb_hz)
        with np.errstate(over="ignore"):
            expo = -(((gb * t) * math.pi) ** 2) / (4 * _LN2)
        step = {"step": "apodize", "kind": kind, "gb_hz": gb}
    elif kind == "lorentz_to_gauss":
        if lb_hz is None or gb_hz is None:
            raise DataError("apodize: kind='lorentz_to_gauss' needs lb_hz > 0 and gb_hz > 0 (Hz)")
        lb = _positive("apodize", "lb_hz", lb_hz)
        gb = _positive("apodize", "gb_hz", gb_hz)
        with np.errstate(over="ignore", invalid="ignore"):
            expo = math.pi * (lb * t) - (((gb * t) * math.pi) ** 2) / (4 * _LN2)
        step = {"step": "apodize", "kind": kind, "lb_hz": lb, "gb_hz": gb}
    else:
        raise DataError(f"apodize.kind = {V.show(kind)} is not allowed: {kinds}")
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        w = np.exp(expo)
        data = fid.data * w
    if not np.all(np.isfinite(w)):
        raise DataError(f"apodize: the window overflows over {fid.acquisition_time_s:g} s; reduce lb_hz")
    _finite_result("apodize", data, "the data times the window exceeds the largest float; reduce lb_hz")
    return _processed(fid, step, data)


def zero_fill(fid: FID, n: int) -> FID:
    """Append zeros so that each FID has ``n`` points.

    ``n`` must be an integer ≥ ``fid.n_points`` (equal is a no-op copy) whose
    zero-filled data (rows × n × 16 bytes) fits in
    :data:`pulses._validate.MAX_BYTES`; a larger ``n`` is refused before
    anything is allocated.  The number of acquired points is kept in
    ``metadata["n_acquired"]`` so that :func:`fft` can pass it on to the
    exact lineshape model.
    """
    fid = _check_fid(fid, "zero_fill")
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)):
        raise DataError(
            f"zero_fill.n = {V.show(n)} is not allowed: it must be an integer ≥ {fid.n_points} (the FID's points)"
        )
    n = int(n)
    V.check_size(n * fid.n_rows * 16, "zero_fill.n", n, f"the zero-filled data ({fid.n_rows} × n complex points)",
                 DataError)
    if n < fid.n_points:
        raise DataError(
            f"zero_fill.n = {n} is not allowed: it is smaller than the FID's {fid.n_points} points "
            "(zero filling only lengthens; truncate the data explicitly if that is what you want)"
        )
    pad = [(0, 0)] * (fid.data.ndim - 1) + [(0, n - fid.n_points)]
    n_acq = int(fid.metadata.get("n_acquired", fid.n_points))
    step = {"step": "zero_fill", "n": n}
    return _processed(fid, step, np.pad(fid.data, pad), n_acquired=n_acq)


def _dft(data: np.ndarray) -> np.ndarray:
    """Unnormalised DFT along the last axis, first point halved, fftshifted."""
    d = np.array(data, dtype=np.complex128, copy=True)
    d[..., 0] *= 0.5
    return np.fft.fftshift(np.fft.fft(d, axis=-1), axes=-1)


def fft(fid: FID) -> Spectrum:
    """Fourier transform an FID into a spectrum (standard NMR processing).

    The first point is halved (it is the t = 0 sample of a one-sided
    signal), the unnormalised DFT is taken along the last axis, the result
    is fftshifted and scaled by ``2 · dwell_s`` (see the amplitude
    convention of :mod:`pulses.spectrum`).  The Hz axis is
    ``fftshift(fftfreq(N, dwell_s))``: ascending, relative to the carrier.

    Returns
    -------
    Spectrum
        Same shape as ``fid.data``; ``dwell_s`` and ``n_acquired`` are set so
        that the lineshape models (and :func:`~pulses.amplitudes.fit_lines`)
        can use the exact discrete lineshape.
    """
    fid = _check_fid(fid, "fft")
    n = fid.n_points
    with np.errstate(over="ignore", invalid="ignore"):
        values = 2.0 * fid.dwell_s * _dft(fid.data)
    _finite_result("fft", values, "the FID's values are too large for their sum (the DFT) to be a finite float")
    hz = np.fft.fftshift(np.fft.fftfreq(n, fid.dwell_s))
    md = dict(fid.metadata)
    n_acq = int(md.get("n_acquired", n))
    md["processing"] = list(md.get("processing", [])) + [{"step": "fft", "n": n}]
    return Spectrum(
        values=values,
        hz=hz,
        sfo_mhz=fid.sfo_mhz,
        bf_mhz=fid.bf_mhz,
        nucleus=fid.nucleus,
        dwell_s=fid.dwell_s,
        n_acquired=n_acq,
        metadata=md,
    )
