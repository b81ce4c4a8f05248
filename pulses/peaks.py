"""Peak picking: the lines of a phased 1-D spectrum, without hand-given centres.

:func:`pick_peaks` finds the lines of the absorption (real part) of a phased
spectrum so that :func:`pulses.amplitudes.fit_lines` can start from them
(``fit_lines(spectrum)`` does it for you).  It is built for NMR multiplets:
a weak line on the flank of a strong one (1 Hz beside a line 20× stronger)
is not a local maximum of the spectrum, and a noise spike at 3σ is one, so
neither "local maxima above a threshold" nor a plain threshold will do.
The method:

1. **Noise.**  ``noise_rms`` of the real part, or measured on the
   signal-free stretches (as :func:`pulses.noise.measure_snr` finds them,
   less a straight line each), or from the median absolute deviation.
2. **Matched filter.**  The complex spectrum is correlated with the complex
   Lorentzian of the lines' width (``fwhm_hz``, or the half-height width of
   the tallest line) and the real part kept: for phased Lorentzian lines in
   white noise this is the detection statistic of largest signal-to-noise
   ratio — both quadratures carry the line, and a line of FWHM w sampled
   every Δ gains √(Σ_j |L_j|²) ≈ √(πw/2Δ) over its height in the real part
   (√(T_acq/2T2) for an FID acquired for T_acq); the filtered noise rms is
   measured on the filtered spectrum itself (zero filling correlates the
   points).
3. **Clean** (Högbom's CLEAN with the line as beam).  The largest filtered
   value above ``threshold`` × its noise marks a line; half of a line of
   that height there is subtracted from the spectrum, and so on until
   nothing is left above the threshold; components within half a width
   make one candidate.  So the strong line is taken away before its weak
   neighbour is looked for.
4. **Joint refit.**  All candidates are fitted together
   (:func:`~pulses.amplitudes.fit_lines` on both quadratures, the noise
   level known); a line whose absorption amplitude is below ``threshold``
   standard errors — a spike left by an imperfect subtraction — is dropped
   and the rest refitted, and lines closer than ``min_separation_hz`` are
   merged (the larger kept).

``threshold`` is in noise standard deviations of the matched-filter
statistic (default 5: in a spectrum of 10⁴ line widths pure noise exceeds it
with probability ~3·10⁻³).  Errors are :class:`~pulses.errors.DataError`
naming the field, its value and what is allowed.  This module never imports
``nmrqb``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from pulses import _validate as V
from pulses._spectra_checks import check_spectrum as _check_spectrum
from pulses._spectra_checks import pair as _pair
from pulses.errors import DataError
from pulses.lineshapes import _half_height_width, line_shape
from pulses.noise import _auto_noise_regions, _detrended_rms
from pulses.spectrum import Spectrum

__all__ = ["Peak", "PeakList", "pick_peaks"]

#: Most peaks :func:`pick_peaks` looks for by default.
MAX_PEAKS = 64


@dataclass(frozen=True)
class Peak:
    """One picked line: its fitted position (Hz from the carrier), integral
    (FID units, the amplitude convention of :mod:`pulses.spectrum`), FWHM
    (Hz), absorption height (spectrum units) and significance (fitted
    amplitude over its standard error; where the lines cannot be fitted
    jointly, the absorption height over the noise rms)."""

    center_hz: float
    amplitude: float
    fwhm_hz: float
    height: float
    significance: float


@dataclass(frozen=True)
class PeakList:
    """What :func:`pick_peaks` found, sorted by position.

    Attributes
    ----------
    peaks : tuple of Peak
    noise_rms : float
        rms of the real part's noise (spectrum units) used for the fits.
    filter_noise_rms : float
        rms of the matched-filter statistic's noise.
    filter_fwhm_hz : float
        Width of the matched filter (Hz).
    threshold : float
    """

    peaks: tuple
    noise_rms: float
    filter_noise_rms: float
    filter_fwhm_hz: float
    threshold: float

    @property
    def centers_hz(self) -> np.ndarray:
        """The peak positions (Hz), ascending: the ``centers_hz`` of
        :func:`pulses.amplitudes.fit_lines`."""
        return np.array([p.center_hz for p in self.peaks])

    def __len__(self) -> int:
        return len(self.peaks)


def _tallest_width(spec: Spectrum, y: np.ndarray, dhz: float, sigma: float, fit_lines) -> float:
    """The FWHM (Hz) of the tallest line: its half-height width, refined by
    fitting its top (±0.6 of that width, where a neighbour weighs least)."""
    k = int(np.argmax(y))
    if not y[k] > 0:
        return 2.0 * dhz
    w0 = max(2.0 * dhz, _half_height_width(y, k) * dhz)
    c0 = float(spec.hz[k])
    lo, hi = max(spec.hz[0], c0 - 0.6 * w0), min(spec.hz[-1], c0 + 0.6 * w0)
    if np.count_nonzero((spec.hz >= lo) & (spec.hz <= hi)) < 6:
        return w0
    try:
        w = float(fit_lines(spec, [c0], fwhm_hz=w0, region_hz=(lo, hi), noise_rms=sigma).fwhm_hz[0])
    except DataError:
        return w0
    return w if 0.5 * w0 <= w <= 1.5 * w0 else w0


def _noise_rms(spec: Spectrum, y: np.ndarray) -> float:
    """rms of the real part's noise: signal-free stretches, else the MAD."""
    try:
        regions = _auto_noise_regions(spec)
    except DataError:
        regions = []
    if regions:
        sel = np.zeros(y.size, dtype=bool)
        for a, b in regions:
            sel[a:b] = True
        try:
            return _detrended_rms(y, sel)
        except DataError:
            pass
    return 1.4826 * float(np.median(np.abs(y - np.median(y))))


def _filtered_rms(f: np.ndarray, spec: Spectrum) -> float:
    """Robust rms of the matched-filter statistic's noise (MAD of the points
    outside its lines, iterated once)."""
    med = np.median(f)
    s = 1.4826 * float(np.median(np.abs(f - med)))
    quiet = np.abs(f - med) <= 4 * s if s > 0 else np.ones(f.size, dtype=bool)
    if quiet.sum() >= 16:
        s = 1.4826 * float(np.median(np.abs(f[quiet] - np.median(f[quiet]))))
    return s


def pick_peaks(
    spectrum: Spectrum,
    threshold: float = 5.0,
    *,
    min_separation_hz: float | None = None,
    region_hz: tuple[float, float] | None = None,
    noise_rms: float | None = None,
    fwhm_hz: float | None = None,
    max_peaks: int = MAX_PEAKS,
) -> PeakList:
    """The lines of a phased 1-D spectrum (module docstring for the method).

    Parameters
    ----------
    spectrum : Spectrum
        1-D, phased so that lines are positive absorption in the real part.
    threshold : float
        Detection threshold in noise standard deviations of the matched
        filter, and the smallest amplitude/standard-error of a kept line
        (> 0; default 5).
    min_separation_hz : float, optional
        Lines closer than this are merged, the larger kept (default: none;
        the fit resolves lines down to about their width).
    region_hz : (lo, hi), optional
        Report only the lines here (Hz from the carrier); the noise is
        measured on the whole spectrum and lines within 6 widths outside the
        region are fitted too, so that their tails bias nothing.
    noise_rms : float, optional
        Known rms of the real part's noise per point (spectrum units).
    fwhm_hz : float, optional
        Line width for the matched filter and the fits' start (Hz, > 0);
        default: the half-height width of the tallest line.
    max_peaks : int
        Most lines looked for (≥ 1, default :data:`MAX_PEAKS`).

    Returns
    -------
    PeakList
    """
    from pulses.amplitudes import fit_lines  # amplitudes imports this module for fit_lines(spectrum)

    spec = _check_spectrum(spectrum, "pick_peaks")
    if spec.is_2d:
        raise DataError("pick_peaks: the spectrum is a 2-D series; pick one row (spectrum.row(i))")
    threshold = V.number(threshold, "pick_peaks.threshold", DataError, minimum=0.0, strict=True)
    min_sep = V.number(min_separation_hz, "pick_peaks.min_separation_hz", DataError, minimum=0.0, optional=True)
    max_peaks = V.integer(max_peaks, "pick_peaks.max_peaks", DataError, minimum=1, maximum=10_000)
    full = spec
    region = None
    if region_hz is not None:
        lo, hi = _pair("region_hz", "pick_peaks", region_hz)
        full.region(lo, hi)  # refuses a region outside the axis, naming it
        region = (lo, hi)
    if spec.n_points < 8:
        raise DataError(f"pick_peaks: {spec.n_points} points is too few to find lines: at least 8 are needed")
    y = np.ascontiguousarray(spec.real, dtype=np.float64)
    dhz = spec.spacing_hz
    sigma = V.number(noise_rms, "pick_peaks.noise_rms", DataError, minimum=0.0, strict=True, optional=True)
    if sigma is None:
        sigma = _noise_rms(spec, y)
    if not sigma > 0:
        raise DataError("pick_peaks: the spectrum has no noise to set a threshold by (its noise rms is 0); "
                        "give noise_rms")
    width = V.number(fwhm_hz, "pick_peaks.fwhm_hz", DataError, minimum=0.0, strict=True, optional=True)
    if width is None:
        inside = (spec.hz >= region[0]) & (spec.hz <= region[1]) if region else np.ones(y.size, dtype=bool)
        width = _tallest_width(spec, np.where(inside, y, -np.inf), dhz, sigma, fit_lines)
    # the search: the region widened by 6 widths (lines just outside it are
    # found, fitted and then left out, so that their tails bias nothing)
    if region is not None:
        search = (spec.hz >= region[0] - 6 * width) & (spec.hz <= region[1] + 6 * width)
    else:
        search = np.ones(y.size, dtype=bool)
    # matched filter: the complex Lorentzian of the lines' width (absorption
    # and dispersion: both quadratures carry the line), unit 2-norm
    half = min(int(math.ceil(20 * width / dhz)) + 1, (y.size - 1) // 2)  # np.correlate "same": kernel ≤ data
    j = np.arange(-half, half + 1) * dhz
    kernel = 1.0 / (1.0 + 2j * j / width)
    kernel /= math.sqrt(float(np.sum(np.abs(kernel) ** 2)))

    def filt(r: np.ndarray) -> np.ndarray:
        return np.correlate(r, kernel, mode="same").real

    residual = np.array(spec.values, dtype=np.complex128)
    sigma_f = _filtered_rms(filt(residual), spec)
    if not sigma_f > 0:
        raise DataError("pick_peaks: the filtered spectrum has no noise to set a threshold by; give noise_rms")
    hz = spec.hz
    tnorm = math.sqrt(float(np.sum(1.0 / (1.0 + (2.0 * (hz - hz[hz.size // 2]) / width) ** 2))))

    def clean(residual: np.ndarray) -> list[tuple[float, float]]:
        """Högbom CLEAN with the line template T(f) = 1/(1 + 2i(f − ν)/w):
        take the largest filtered value, subtract GAIN × its line, repeat;
        returns the components (centre Hz, absorption height)."""
        components = []
        for _ in range(_CLEAN_ITERATIONS):
            f = np.where(search, filt(residual), -np.inf)
            k = int(np.argmax(f))
            if not f[k] > threshold * sigma_f:
                break
            c = float(hz[k])
            if 0 < k < f.size - 1 and np.isfinite(f[k - 1]) and np.isfinite(f[k + 1]):
                den = f[k - 1] - 2 * f[k] + f[k + 1]  # parabolic interpolation of the maximum
                if den < 0:
                    c += 0.5 * (f[k - 1] - f[k + 1]) / den * dhz
            height = _GAIN * f[k] / tnorm
            residual = residual - height / (1.0 + 2j * (hz - c) / width)
            components.append((c, height))
        return components

    win = np.flatnonzero(search)
    fspec = spec if region is None else spec.region(float(hz[win[0]]), float(hz[win[-1]]))  # the refits' window
    win = np.flatnonzero((hz >= fspec.hz[0]) & (hz <= fspec.hz[-1]))
    found = _cluster(clean(residual), width, max_peaks)
    peaks, model = _refit(fspec, found, sigma, threshold, min_sep, width, fit_lines)
    # a second look: CLEAN what the fitted lines leave, add what it finds
    for _ in range(_PASSES - 1):
        if len(peaks) >= max_peaks:
            break
        left = np.array(spec.values, dtype=np.complex128)
        left[win] -= model
        extra = [x for x in _cluster(clean(left), width, max_peaks)
                 if all(abs(x[0] - p.center_hz) > 0.5 * width for p in peaks)]
        if not extra:
            break
        more, model_more = _refit(fspec, [(p.center_hz, p.amplitude, p.fwhm_hz) for p in peaks] + extra, sigma,
                                  threshold, min_sep, width, fit_lines)
        if len(more) <= len(peaks):
            break
        peaks, model = more, model_more
    if region is not None:
        peaks = [p for p in peaks if region[0] <= p.center_hz <= region[1]]
    return PeakList(tuple(peaks), float(sigma), float(sigma_f), float(width), float(threshold))


#: A refitted line is kept when its absorption amplitude is at least this
#: fraction of ``threshold`` standard errors: the detection (both
#: quadratures, the line's shape known) is √2 more sensitive than one
#: amplitude among free centres, widths and phases.
_KEEP = 1 / math.sqrt(2)

#: Loop gain and most iterations of the CLEAN; CLEAN-and-refit passes.
_GAIN, _CLEAN_ITERATIONS, _PASSES = 0.5, 2000, 3


def _cluster(components: list, width: float, max_peaks: int) -> list[tuple[float, float, float]]:
    """Group CLEAN components closer than half a line width: (centre
    (height-weighted), amplitude = π w/2 × total height, width) per group,
    the tallest ``max_peaks`` kept."""
    if not components:
        return []
    comp = sorted(components)
    groups = [[comp[0]]]
    for c, h in comp[1:]:
        if c - groups[-1][-1][0] <= 0.5 * width:
            groups[-1].append((c, h))
        else:
            groups.append([(c, h)])
    out = []
    for g in groups:
        total = sum(h for _, h in g)
        centre = sum(c * h for c, h in g) / total
        out.append((centre, 0.5 * math.pi * width * total, width))
    out.sort(key=lambda x: -x[1])
    return sorted(out[:max_peaks])


def _refit(spec: Spectrum, found: list, sigma: float, threshold: float, min_sep: float | None, width: float,
           fit_lines, same_width: bool = True) -> list[Peak]:
    """Fit the candidates together; drop the insignificant and merge the too
    close, refitting after each change: (peaks, the fitted model spectrum)."""
    lines = sorted(found)
    zero = np.zeros(spec.n_points, dtype=np.complex128)
    for _ in range(len(lines) + 1):
        if not lines:
            return [], zero
        centers = [c for c, _, _ in lines]
        try:
            # both quadratures, each line's phase free: the absorption part of
            # the amplitude and its standard error give the significance
            fit = fit_lines(spec, centers, fwhm_hz=[w for _, _, w in lines], noise_rms=sigma,
                            complex_amplitudes=True, same_width=same_width)
        except DataError:  # the joint fit cannot be made (more lines than the data hold): CLEAN's estimates,
            # each significant by its absorption height over the noise rms
            model = sum((line_shape(spec, c, w, a) for c, a, w in lines), zero)
            heights = [float(np.max(line_shape(spec, c, w, a).real)) for c, a, w in lines]
            return [Peak(c, a, w, h, h / sigma) for (c, a, w), h in zip(lines, heights)], model
        amp, err = np.asarray(fit.amplitude).real, np.asarray(fit.amplitude_stderr).real
        ok = np.isfinite(err) & (err > 0)
        sig = np.where(ok, amp / np.where(ok, err, 1.0), 0.0)  # no standard error: not shown significant
        cen, wid = np.asarray(fit.center_hz, float), np.asarray(fit.fwhm_hz, float)
        weak = int(np.argmin(sig))
        if not sig[weak] >= _KEEP * threshold or not amp[weak] > 0:
            lines = [ln for i, ln in enumerate(zip(cen, amp, wid)) if i != weak]
            continue
        order = np.argsort(cen)
        cen, amp, wid, sig = cen[order], amp[order], wid[order], sig[order]
        if min_sep:
            gaps = np.diff(cen)
            close = np.flatnonzero(gaps < min_sep)
            if close.size:
                i = int(close[0])
                drop = i if amp[i] < amp[i + 1] else i + 1
                lines = [ln for m, ln in enumerate(zip(cen, amp, wid)) if m != drop]
                continue
        camp = np.asarray(fit.amplitude)[order]
        model = sum((line_shape(spec, float(c), float(w), complex(a)) for c, w, a in zip(cen, wid, camp)), zero)
        return [Peak(float(c), float(a), float(w), float(np.max(line_shape(spec, c, w, a).real)), float(s))
                for c, a, w, s in zip(cen, amp, wid, sig)], model
    return [], zero
