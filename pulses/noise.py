"""Noise at a stated signal-to-noise ratio, and the SNR of a noisy spectrum.

:func:`noise_sigma` and :func:`add_noise` put complex white Gaussian noise
on an :class:`~pulses.fid.FID` so that it has a precisely defined SNR (below);
:func:`measure_snr` measures that SNR on a noisy
:class:`~pulses.spectrum.Spectrum` (the height from a lineshape fit or the
largest point, the noise from signal-free regions) and returns an
:class:`SNRMeasurement`.  This module draws and measures noise; it does not
process FIDs (:mod:`pulses.processing`), define lineshapes or fit beyond the
one-line fit of :func:`measure_snr` (:mod:`pulses.amplitudes`), simulate or
do file I/O, and it never imports ``nmrqb``.

Signal-to-noise ratio (the *SNR definition*)
--------------------------------------------
``SNR = H / N`` where ``H`` is the height of the tallest line of the
spectrum ``fft(fid)`` of the **noiseless** FID once phased to pure
absorption, i.e. the largest modulus ``|values_k|`` over all bins — and all
rows of a series — with no apodisation and no zero filling (for a Lorentzian
the modulus at the peak equals the absorption height, so H does not depend
on the line's phase), and ``N`` is the rms of the real part of the spectrum
of the noise alone, computed the same way (:func:`pulses.processing.fft`,
amplitude convention of :mod:`pulses.spectrum`).  Complex white noise of
per-quadrature standard deviation σ on n time points gives
``N = 2 · dwell_s · σ · sqrt(n − 3/4)`` exactly (the DFT sums n terms, the
halved first point contributes 1/4 of a variance), so :func:`add_noise` sets
``σ = H / (SNR · 2 dwell_s sqrt(n − 3/4))`` and :func:`measure_snr` recovers
the SNR from a noisy spectrum.  (Bruker's ``sino`` divides by twice the
noise rms: it reports half this number.)

Errors are :class:`~pulses.errors.DataError` naming the field, its value and
what is allowed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from pulses import _validate as V
from pulses._spectra_checks import check_fid as _check_fid
from pulses._spectra_checks import check_spectrum as _check_spectrum
from pulses._spectra_checks import finite_result as _finite_result
from pulses._spectra_checks import pair as _pair
from pulses.amplitudes import fit_lines
from pulses.errors import DataError
from pulses.fid import FID
from pulses.lineshapes import _SHAPES, _half_height_width
from pulses.processing import _dft
from pulses.spectrum import Spectrum

__all__ = ["SNRMeasurement", "add_noise", "measure_snr", "noise_sigma"]


def _check_snr(snr: Any, where: str) -> float:
    return V.number(snr, f"{where}.snr", DataError, minimum=0.0, strict=True)


def noise_sigma(fid: FID, snr: float) -> float:
    """Per-quadrature standard deviation σ of the time-domain noise that
    gives ``fid`` the signal-to-noise ratio ``snr`` (module definition):
    ``σ = H_dft / (snr · sqrt(n − 3/4))`` with ``H_dft`` the largest
    modulus of the unnormalised, first-point-halved DFT of the noiseless
    data (all rows): the absorption height, whatever the line's phase.
    Units: those of ``fid.data``."""
    fid = _check_fid(fid, "noise_sigma")
    s = _check_snr(snr, "noise_sigma")
    with np.errstate(over="ignore", invalid="ignore"):
        height = float(np.max(np.abs(_dft(fid.data))))
    if not height > 0:
        raise DataError(
            "noise_sigma: the FID has no signal (its spectrum is zero everywhere), "
            "so no noise level gives a finite SNR"
        )
    sigma = height / (s * math.sqrt(fid.n_points - 0.75))
    if not (math.isfinite(sigma) and sigma > 0):
        raise DataError(
            f"noise_sigma: snr = {s!r} on this FID gives a noise level σ = {sigma!r}: it must be finite and > 0 "
            "(choose a less extreme snr)"
        )
    return sigma


def add_noise(fid: FID, snr: float, seed: int | np.random.Generator) -> FID:
    """Add complex white Gaussian noise so that the FID has the given SNR.

    The SNR is defined in the module docstring: the height of the tallest
    line in the real part of ``fft(fid)`` of the noiseless FID divided by the
    rms of the real part of the noise spectrum.  Real and imaginary parts of
    the noise are independent, zero-mean, with the standard deviation σ of
    :func:`noise_sigma`, the same for every row of a series (a series gets
    the SNR of its tallest line, as on a spectrometer whose receiver noise
    does not depend on the increment).

    Parameters
    ----------
    fid : FID
        The noiseless, unprocessed acquisition (no apodisation or zero
        filling yet: noise belongs to the acquired points only).
    snr : float
        Target SNR, finite and > 0.
    seed : int or numpy.random.Generator
        Seed (int ≥ 0) or generator of the draw; required so that every
        noisy FID is reproducible.  Normal deviates are drawn as one array of
        shape ``data.shape + (2,)`` (real, imaginary).

    Returns
    -------
    FID
        The noisy FID; ``metadata["noise"]`` records ``snr``, ``sigma`` and
        ``seed`` (``"generator"`` when a Generator was passed).
    """
    fid = _check_fid(fid, "add_noise")
    s = _check_snr(snr, "add_noise")
    if fid.metadata.get("processing"):
        steps = ", ".join(p.get("step", "?") for p in fid.metadata["processing"])
        raise DataError(f"add_noise: the FID was already processed ({steps}); add noise to the acquired FID first")
    if "noise" in fid.metadata:
        raise DataError(
            "add_noise: the FID already carries noise (metadata['noise']); the SNR is defined for a noiseless FID"
        )
    if isinstance(seed, np.random.Generator):
        rng, seed_rec = seed, "generator"
    elif isinstance(seed, (int, np.integer)) and not isinstance(seed, (bool, np.bool_)) and seed >= 0:
        rng, seed_rec = np.random.default_rng(int(seed)), int(seed)
    else:
        raise DataError(
            f"add_noise.seed = {V.show(seed)} is not allowed: give an integer ≥ 0 or a numpy Generator "
            "(a seed is required so that the noise is reproducible)"
        )
    sigma = noise_sigma(fid, s)
    z = rng.standard_normal(size=fid.data.shape + (2,))
    with np.errstate(over="ignore", invalid="ignore"):
        noisy = fid.data + sigma * (z[..., 0] + 1j * z[..., 1])
    _finite_result("add_noise", noisy, f"the noise (σ = {sigma:.3g}) added to the data exceeds the largest float")
    return fid.with_data(noisy, noise={"snr": s, "sigma": sigma, "seed": seed_rec})


@dataclass(frozen=True)
class SNRMeasurement:
    """A measured signal-to-noise ratio and how it was obtained.

    Attributes
    ----------
    snr : float
        ``height / noise_rms`` (``float(measurement)`` gives it too).
    height : float
        Height of the tallest line of the real part (spectrum units).
    noise_rms : float
        Standard deviation of the real part in the noise region.
    center_hz : float
        Position of the tallest line (Hz from the carrier).
    noise_regions_hz : tuple of (lo, hi)
        The region(s) the noise was measured in (Hz from the carrier).
    method : str
        ``"fit"`` or ``"max"`` (see :func:`measure_snr`).
    """

    snr: float
    height: float
    noise_rms: float
    center_hz: float
    noise_regions_hz: tuple[tuple[float, float], ...]
    method: str

    def __float__(self) -> float:
        return float(self.snr)


def _auto_noise_regions(spec: Spectrum) -> list[tuple[int, int]]:
    """Index ranges [i0, i1) of the signal-free stretches of a 1-D spectrum.

    Points whose real or imaginary part deviates from the median by more
    than 4 robust standard deviations (1.4826 × MAD) are signal; every run
    of at least 32 non-signal points is kept without its outer eighths (the
    parts closest to the lines, where their tails are largest).
    """
    v = spec.values
    mask = np.zeros(v.size, dtype=bool)
    for part in (v.real, v.imag):
        med = np.median(part)
        mad = 1.4826 * np.median(np.abs(part - med))
        mask |= np.abs(part - med) > 4.0 * mad
    padded = np.concatenate(([True], mask, [True]))
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    regions = []
    for a, b in zip(edges[0::2], edges[1::2]):
        if b - a >= 32:
            q = (b - a) // 8
            regions.append((int(a + q), int(b - q)))
    if sum(b - a for a, b in regions) < 16:
        raise DataError("measure_snr: no signal-free stretch of at least 32 points was found; pass noise_region_hz")
    return regions


def _detrended_rms(y: np.ndarray, sel: np.ndarray) -> float:
    """rms of ``y`` over the runs of ``sel`` after removing a straight line
    from each run (like Bruker's ``sino``: a sloping baseline or the far
    tail of a line is not noise)."""
    padded = np.concatenate(([False], sel, [False]))
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    ss, dof = 0.0, 0
    for a, b in zip(edges[0::2], edges[1::2]):
        seg = y[a:b]
        if seg.size < 3:
            continue
        x = np.arange(seg.size, dtype=float)
        coef = np.polyfit(x, seg, 1)
        ss += float(np.sum((seg - np.polyval(coef, x)) ** 2))
        dof += seg.size - 2
    if dof < 1:
        raise DataError("measure_snr: the noise region is too small (at least 3 contiguous points are needed)")
    return math.sqrt(ss / dof)


def measure_snr(
    spectrum: Spectrum,
    signal_region_hz: tuple[float, float] | None = None,
    noise_region_hz: tuple[float, float] | None = None,
    *,
    method: str = "fit",
    shape: str = "lorentzian",
) -> SNRMeasurement:
    """Measure the SNR of a noisy 1-D spectrum (module definition).

    Parameters
    ----------
    spectrum : Spectrum
        1-D (take ``spectrum.row(i)`` of a series), no apodisation for the
        SNR of the module definition.
    signal_region_hz : (lo, hi), optional
        Where to look for the tallest line (Hz from the carrier); the whole
        spectrum when omitted.
    noise_region_hz : (lo, hi), optional
        A signal-free region.  When omitted every stretch of ≥ 32 points
        without lines is used, less its outer eighths (lines: points beyond
        4 robust standard deviations in the real or imaginary part).  The
        relative error of the noise rms is about 1/sqrt(2 · points used).
    method : {"fit", "max"}
        How the height is estimated.  ``"max"`` takes the largest modulus
        (biased up by noise and scattered by ±1/SNR relative).  ``"fit"``
        (default) fits the tallest line with
        :func:`~pulses.amplitudes.fit_lines` (complex amplitude, so any phase
        is fine) in a window of ±3 estimated FWHM and takes the largest
        modulus of the fitted line on the spectrum's points — the noiseless
        absorption height of the definition, with a much smaller error: about
        1 / (SNR · sqrt(FWHM in points)) relative.  It assumes the tallest
        line is resolved from its neighbours.
    shape : {"lorentzian", "voigt"}
        Lineshape for ``method="fit"``.

    Returns
    -------
    SNRMeasurement
        ``snr = height / noise_rms``; ``noise_rms`` is the rms of the real
        part in the noise region(s) after a straight line is removed from
        each (as Bruker's ``sino`` does), with n − 2 degrees of freedom per
        region.
    """
    spectrum = _check_spectrum(spectrum, "measure_snr")
    if spectrum.is_2d:
        raise DataError("measure_snr: the spectrum is a 2-D series; measure one row (spectrum.row(i))")
    if not isinstance(method, str) or method not in ("fit", "max"):
        raise DataError(f"measure_snr.method = {V.show(method)} is not allowed: use 'fit' or 'max'")
    if not isinstance(shape, str) or shape not in _SHAPES:
        raise DataError(f"measure_snr.shape = {V.show(shape)} is not allowed: use 'lorentzian' or 'voigt'")
    hz = spectrum.hz
    if noise_region_hz is None:
        noise_sel = np.zeros(spectrum.n_points, dtype=bool)
        regions = []
        for i0, i1 in _auto_noise_regions(spectrum):
            noise_sel[i0:i1] = True
            regions.append((float(hz[i0]), float(hz[i1 - 1])))
    else:
        nlo, nhi = _pair("noise_region_hz", "measure_snr", noise_region_hz)
        noise_sel = (hz >= nlo) & (hz <= nhi)
        if np.count_nonzero(noise_sel) < 8:
            raise DataError(
                f"measure_snr.noise_region_hz = ({nlo:g}, {nhi:g}) holds {np.count_nonzero(noise_sel)} points; "
                "at least 8 are needed"
            )
        regions = [(nlo, nhi)]
    noise_rms = _detrended_rms(spectrum.values.real, noise_sel)
    if not noise_rms > 0:
        raise DataError("measure_snr: the noise region has zero rms (a noiseless spectrum has no finite SNR)")

    if signal_region_hz is None:
        sig = spectrum
    else:
        lo, hi = _pair("signal_region_hz", "measure_snr", signal_region_hz)
        sig = spectrum.region(lo, hi)
    mag = np.abs(sig.values)
    k = int(np.argmax(mag))
    center = float(sig.hz[k])
    if method == "max":
        height = float(mag[k])
    else:
        width_bins = _half_height_width(mag, k)
        half = max(4, 3 * width_bins)
        lo_i, hi_i = max(0, k - half), min(sig.n_points, k + half + 1)
        window = sig.region(float(sig.hz[lo_i]), float(sig.hz[hi_i - 1]))
        fit = fit_lines(
            window,
            [center],
            shape=shape,
            complex_amplitudes=True,
            fwhm_hz=max(width_bins, 1) * sig.spacing_hz,
        )
        model = np.asarray(fit.result.eval(hz=window.hz))
        if not np.iscomplexobj(model):  # real/imag stacked by the complex fit
            model = model[: model.size // 2] + 1j * model[model.size // 2 :]
        height = float(np.abs(model).max())
        center = float(fit.center_hz[0])
    if not all(math.isfinite(x) for x in (height, noise_rms, height / noise_rms, center)):
        raise DataError(
            f"measure_snr: height {height!r} / noise rms {noise_rms!r} is not a finite number "
            "(the spectrum's values are too large or the fit diverged)"
        )
    return SNRMeasurement(
        snr=height / noise_rms,
        height=height,
        noise_rms=noise_rms,
        center_hz=center,
        noise_regions_hz=tuple(regions),
        method=method,
    )
