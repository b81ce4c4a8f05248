"""NMR lineshapes: lmfit models of one line, and the model spectrum of a line.

This module holds the lineshape of a single NMR line on a spectrum's
frequency axis, under the amplitude convention of :mod:`pulses.spectrum`
(the amplitude is the line's integral, in the units of the FID):

* the lmfit models :class:`LorentzianLine` and :class:`VoigtLine`
  (``lmfit.Model`` subclasses with ``guess()`` and parameter hints, in the
  manner of lmfit's own ``lmfit.models``), which :func:`pulses.amplitudes.fit_lines`
  and any other fit (e.g. a global model fit) build their lmfit models from;
  ``LINE_MODELS`` maps the shape names ``"lorentzian"`` and ``"voigt"`` to them;
* the functions they wrap (:func:`lorentzian_line`, :func:`voigt_line` and
  their ``_complex`` variants), usable as plain lmfit model functions;
* :func:`line_shape`, the complex model spectrum of one line on a
  :class:`~pulses.spectrum.Spectrum` (what the fits fit);
* :func:`exact_possible`, whether a spectrum carries what the exact discrete
  lineshape needs.

Each lineshape exists in two forms.  The *exact* one is the spectrum
:func:`pulses.processing.fft` makes of the sampled FID component
``a · exp(2πi ν t − π Γ_L t − (π Γ_G t)² / (4 ln 2))`` — first point
halved, ``n_acquired`` points of dwell ``dwell_s``, zero filled — so a
noiseless line is fitted to rounding error whatever its width, apodisation
or zero filling; it needs the acquisition (``dwell_s``, ``n_acquired``).
The *continuous* one is the Fourier transform of the continuous, infinitely
long component: the usual Lorentzian and Voigt profiles.

This module computes lineshapes and estimates starting values; it does not
run fits (:mod:`pulses.amplitudes`), process FIDs, add noise, simulate or do
file I/O, and it never imports ``nmrqb``.  Errors are
:class:`~pulses.errors.DataError` naming the field, its value and what is
allowed.
"""

from __future__ import annotations

import cmath
import math
from typing import Any

import lmfit
import numpy as np
from asteval import valid_symbol_name
from scipy.special import wofz

from pulses import _validate as V
from pulses._spectra_checks import check_spectrum as _check_spectrum
from pulses._spectra_checks import finite_result as _finite_result
from pulses.errors import DataError
from pulses.fid import _finite, _positive
from pulses.spectrum import Spectrum

__all__ = [
    "LINE_MODELS",
    "LorentzianLine",
    "VoigtLine",
    "exact_possible",
    "line_shape",
    "lorentzian_line",
    "lorentzian_line_complex",
    "voigt_line",
    "voigt_line_complex",
]

_LN2 = math.log(2.0)

#: The lineshape names (``shape=`` of :func:`pulses.amplitudes.fit_lines`).
_SHAPES = ("lorentzian", "voigt")

#: Largest (rows × time points) matrix of the direct DTFT of an off-grid
#: exact Voigt, per chunk of frequencies.
_DTFT_CHUNK = 2**20


# --------------------------------------------------------------------------
# the lineshape kernels (complex; FID units × s)
# --------------------------------------------------------------------------
def _grid_size(hz: np.ndarray, dwell: float, n: int) -> int | None:
    """Length N ≥ n of the FFT grid of dwell ``dwell`` that the frequencies
    ``hz`` (1-D, ≥ 2 points, uniformly spaced) lie on, if they do and the
    FFT fits in :data:`pulses._validate.MAX_BYTES`; else None."""
    hz = np.asarray(hz, dtype=float)
    if hz.ndim != 1 or hz.size < 2:
        return None
    with np.errstate(all="ignore"):
        n_full = 1.0 / (float((hz[-1] - hz[0]) / (hz.size - 1)) * dwell)
    if not (math.isfinite(n_full) and n_full > 0) or n_full * 16 > V.MAX_BYTES:
        return None
    N = round(n_full)
    if N < n or abs(n_full - N) > 1e-6 * N:
        return None
    k = hz * N * dwell
    if np.max(np.abs(k - np.round(k))) > 1e-6:
        return None
    return N


def _fft_grid(spec: Spectrum) -> int | None:
    """Length N of the FFT grid the spectrum's points lie on, if they do."""
    if spec.dwell_s is None or spec.n_acquired is None or spec.n_points < 2:
        return None
    return _grid_size(spec.hz, spec.dwell_s, spec.n_acquired)


def _lorentz_exact(hz, amp, center, fwhm, dwell, n):
    """2Δ · a · [Σ_{m<n} z^m − 1/2], z = exp((2πi(ν − f) − πΓ)Δ): the exact
    spectrum (DTFT) of a sampled damped exponential, first point halved."""
    w = (2j * math.pi * (center - hz) - math.pi * fwhm) * dwell
    den = np.expm1(w)
    small = np.abs(den) < 1e-300
    g = np.where(small, n, np.expm1(n * w) / np.where(small, 1.0, den)) - 0.5
    return 2.0 * dwell * amp * g


def _lorentz_continuous(hz, amp, center, fwhm):
    """2a / (πΓ + 2πi(f − ν)): unit-area Lorentzian absorption for real a."""
    return 2.0 * amp / (math.pi * fwhm + 2j * math.pi * (hz - center))


def _voigt_continuous(hz, amp, center, fwhm, gfwhm):
    """a · conj(w(z)) / (σ sqrt(2π)), z = ((f − ν) + iγ)/(σ√2): the complex
    Voigt (unit-area absorption, dispersion in the imaginary part), γ the
    Lorentzian HWHM and σ the Gaussian standard deviation."""
    sigma = gfwhm / (2.0 * math.sqrt(2.0 * _LN2))
    z = ((hz - center) + 0.5j * fwhm) / (sigma * math.sqrt(2.0))
    return amp * np.conj(wofz(z)) / (sigma * math.sqrt(2.0 * math.pi))


def _voigt_fid(center, fwhm, gfwhm, dwell, n):
    """The sampled unit Voigt FID component, first point halved."""
    t = np.arange(n) * dwell
    x = np.exp((2j * math.pi * center - math.pi * fwhm) * t - (math.pi * gfwhm * t) ** 2 / (4 * _LN2))
    x[0] *= 0.5
    return x


def _voigt_exact(hz, amp, center, fwhm, gfwhm, dwell, n, N):
    """FFT of the sampled Voigt FID (first point halved, zero filled to N),
    read at the spectrum's points."""
    full = np.fft.fft(_voigt_fid(center, fwhm, gfwhm, dwell, n), N)
    idx = np.round(hz * N * dwell).astype(np.int64) % N
    return 2.0 * dwell * amp * full[idx]


def _voigt_dtft(hz, amp, center, fwhm, gfwhm, dwell, n):
    """The exact Voigt at any frequencies: the FFT when ``hz`` lies on an FFT
    grid of the acquisition, else the DTFT summed directly (in chunks)."""
    hz = np.asarray(hz, dtype=float)
    N = _grid_size(hz, dwell, n)
    if N is not None:
        return _voigt_exact(hz, amp, center, fwhm, gfwhm, dwell, n, N)
    x = _voigt_fid(center, fwhm, gfwhm, dwell, n)
    t = np.arange(n) * dwell
    flat = hz.reshape(-1)
    out = np.empty(flat.size, dtype=np.complex128)
    step = max(1, _DTFT_CHUNK // n)
    for i in range(0, flat.size, step):
        out[i : i + step] = np.exp(-2j * math.pi * np.outer(flat[i : i + step], t)) @ x
    return 2.0 * dwell * amp * out.reshape(hz.shape)


def _lorentz_profile(hz, amp, center, fwhm, dwell, n):
    if dwell is None:
        return _lorentz_continuous(hz, amp, center, fwhm)
    return _lorentz_exact(hz, amp, center, fwhm, dwell, n)


def _voigt_profile(hz, amp, center, fwhm, gfwhm, dwell, n):
    if dwell is None:
        return _voigt_continuous(hz, amp, center, fwhm, gfwhm)
    return _voigt_dtft(hz, amp, center, fwhm, gfwhm, dwell, n)


# --------------------------------------------------------------------------
# the model functions (what the lmfit models wrap)
# --------------------------------------------------------------------------
#: Largest dwell time (s) a lineshape model accepts: a 1 mHz spectral width.
MAX_DWELL_S = 1e3


def lorentzian_line(hz, amplitude=1.0, center_hz=0.0, fwhm_hz=1.0, dwell_s=None, n_acquired=None):
    """Real part of a Lorentzian line with a real amplitude (the absorption
    of a phased spectrum).

    Parameters
    ----------
    hz : ndarray
        Frequencies (Hz from the carrier).
    amplitude : float
        Line integral (FID units): the FID component's amplitude.
    center_hz : float
        Line position ν (Hz from the carrier).
    fwhm_hz : float
        Full width at half maximum Γ = 1/(π T2) (Hz).
    dwell_s, n_acquired : float and int, or None
        The acquisition (s, points before zero filling): given, the exact
        discrete lineshape; None, the continuous ``2a / (πΓ + 2πi(f − ν))``.

    Returns
    -------
    ndarray, float64
        FID units × s (the units of :func:`pulses.processing.fft`).
    """
    return _lorentz_profile(hz, amplitude, center_hz, fwhm_hz, dwell_s, n_acquired).real


def lorentzian_line_complex(hz, amp_re=1.0, amp_im=0.0, center_hz=0.0, fwhm_hz=1.0, dwell_s=None,
                            n_acquired=None):
    """A Lorentzian line with a complex amplitude ``amp_re + 1j·amp_im``
    (FID units); complex values (FID units × s).  Otherwise as
    :func:`lorentzian_line`."""
    return _lorentz_profile(hz, amp_re + 1j * amp_im, center_hz, fwhm_hz, dwell_s, n_acquired)


def voigt_line(hz, amplitude=1.0, center_hz=0.0, fwhm_hz=1.0, gauss_fwhm_hz=1.0, dwell_s=None, n_acquired=None):
    """Real part of a Voigt line with a real amplitude.

    Parameters
    ----------
    hz : ndarray
        Frequencies (Hz from the carrier).
    amplitude : float
        Line integral (FID units).
    center_hz : float
        Line position ν (Hz from the carrier).
    fwhm_hz : float
        Lorentzian FWHM Γ_L (Hz): the FID decays as exp(−π Γ_L t).
    gauss_fwhm_hz : float
        Gaussian FWHM Γ_G (Hz): the FID decays as exp(−(π Γ_G t)² / (4 ln 2)).
    dwell_s, n_acquired : float and int, or None
        The acquisition: given, the exact discrete lineshape (the FFT of the
        sampled component when ``hz`` is on an FFT grid of ``dwell_s``, else
        its DTFT summed directly); None, the continuous Voigt
        ``a · conj(w(z)) / (σ√(2π))`` (Faddeeva w).

    Returns
    -------
    ndarray, float64
        FID units × s.
    """
    return _voigt_profile(hz, amplitude, center_hz, fwhm_hz, gauss_fwhm_hz, dwell_s, n_acquired).real


def voigt_line_complex(hz, amp_re=1.0, amp_im=0.0, center_hz=0.0, fwhm_hz=1.0, gauss_fwhm_hz=1.0, dwell_s=None,
                       n_acquired=None):
    """A Voigt line with a complex amplitude ``amp_re + 1j·amp_im`` (FID
    units); complex values (FID units × s).  Otherwise as
    :func:`voigt_line`."""
    return _voigt_profile(hz, amp_re + 1j * amp_im, center_hz, fwhm_hz, gauss_fwhm_hz, dwell_s, n_acquired)


# --------------------------------------------------------------------------
# starting values
# --------------------------------------------------------------------------
def _half_height_width(y: np.ndarray, k: int) -> int:
    """Full width (points) at half of y[k] around index k (≥ 1)."""
    half = 0.5 * y[k]
    left = k
    while left > 0 and y[left - 1] >= half:
        left -= 1
    right = k
    while right < y.size - 1 and y[right + 1] >= half:
        right += 1
    return max(1, right - left + 1)


def exact_possible(spec: Spectrum) -> bool:
    """True when ``spec`` carries what the exact discrete lineshape needs."""
    return spec.dwell_s is not None and spec.n_acquired is not None


# --------------------------------------------------------------------------
# the lmfit models
# --------------------------------------------------------------------------
class _LineModel(lmfit.Model):
    """What :class:`LorentzianLine` and :class:`VoigtLine` share."""

    #: the shape name (a key of LINE_MODELS)
    shape = ""
    #: the model functions (real amplitude, complex amplitude)
    _functions: tuple = ()
    #: whether the exact model's default lower width bound is 0 (else
    #: 1e-3 × the point spacing, like the continuous model's)
    _exact_down_to_zero = False

    def __init__(
        self,
        dwell_s: float | None = None,
        n_acquired: int | None = None,
        *,
        complex_amplitude: bool = False,
        fwhm_min_hz: float | None = None,
        prefix: str = "",
        nan_policy: str = "raise",
        **kwargs: Any,
    ) -> None:
        who = type(self).__name__
        if (dwell_s is None) != (n_acquired is None):
            raise DataError(
                f"{who}: dwell_s = {V.show(dwell_s)} and n_acquired = {V.show(n_acquired)} are not allowed: give "
                "both (the exact discrete lineshape) or neither (the continuous one)"
            )
        opts: dict[str, Any] = {}
        if dwell_s is not None:
            dwell = _positive(who, "dwell_s", dwell_s)
            if not math.isfinite(1.0 / dwell):
                raise DataError(f"{who}.dwell_s = {dwell!r} is not allowed: the spectral width 1/dwell_s overflows")
            if dwell > MAX_DWELL_S:
                raise DataError(f"{who}.dwell_s = {dwell!r} is not allowed: at most {MAX_DWELL_S:g} s (a spectral width "
                                "of 1 mHz; beyond it the phase 2π·ν·dwell of an ordinary line overflows)")
            n = V.integer(n_acquired, f"{who}.n_acquired", DataError, minimum=1, maximum=2**53)
            if self.shape == "voigt":  # its exact form samples the FID component
                V.check_size(16.0 * n, f"{who}.n_acquired", n, "the sampled FID component", DataError)
            opts = {"dwell_s": dwell, "n_acquired": n}
        self._complex = V.boolean(complex_amplitude, f"{who}.complex_amplitude", DataError)
        fmin = V.number(fwhm_min_hz, f"{who}.fwhm_min_hz", DataError, optional=True)
        if fmin is not None and fmin <= 0 and not opts and not self._negative_widths_continuous():
            raise DataError(
                f"{who}.fwhm_min_hz = {fmin!r} is not allowed: a width bound ≤ 0 needs the exact discrete "
                "lineshape (give dwell_s and n_acquired)"
            )
        self._fwhm_min = fmin
        if not isinstance(prefix, str) or (prefix and not valid_symbol_name(prefix)):
            raise DataError(
                f"{who}.prefix = {V.show(prefix)} is not allowed: give '' or a string that can begin a parameter "
                "name (letters, digits, '_'; not starting with a digit), e.g. 'l0_'"
            )
        if not isinstance(nan_policy, str) or nan_policy not in ("raise", "propagate", "omit"):
            raise DataError(f"{who}.nan_policy = {V.show(nan_policy)} is not allowed: use 'raise', 'propagate' or "
                            "'omit'")
        ivars = kwargs.pop("independent_vars", ["hz"])
        if list(ivars) != ["hz"]:
            raise DataError(f"{who}.independent_vars = {V.show(ivars)} is not allowed: the only one is ['hz']")
        kwargs.update(opts)
        super().__init__(self._functions[self._complex], independent_vars=["hz"], prefix=prefix,
                         nan_policy=nan_policy, **kwargs)
        self._set_paramhints_prefix()

    @classmethod
    def _negative_widths_continuous(cls) -> bool:
        return False

    # ------------------------------------------------------------ options
    @classmethod
    def for_spectrum(cls, spectrum: Spectrum, *, complex_amplitude: bool = False, fwhm_min_hz: float | None = None,
                     prefix: str = "", **kwargs: Any):
        """The model for lines of ``spectrum``: exact when the spectrum
        carries what the exact lineshape needs (see the class), continuous
        otherwise — the choice :func:`pulses.amplitudes.fit_lines` makes.
        Other arguments as the constructor."""
        spectrum = _check_spectrum(spectrum, f"{cls.__name__}.for_spectrum")
        dwell, n = (spectrum.dwell_s, spectrum.n_acquired) if cls._exact_for(spectrum) else (None, None)
        return cls(dwell, n, complex_amplitude=complex_amplitude, fwhm_min_hz=fwhm_min_hz, prefix=prefix, **kwargs)

    @classmethod
    def _exact_for(cls, spectrum: Spectrum) -> bool:
        return exact_possible(spectrum)

    @property
    def exact(self) -> bool:
        """True for the exact discrete lineshape (``dwell_s`` and
        ``n_acquired`` known), False for the continuous profile."""
        return self.opts.get("dwell_s") is not None

    @property
    def dwell_s(self) -> float | None:
        """Dwell time (s) of the exact model, None for the continuous one."""
        return self.opts.get("dwell_s")

    @property
    def n_acquired(self) -> int | None:
        """Acquired points of the exact model, None for the continuous one."""
        return self.opts.get("n_acquired")

    @property
    def complex_amplitude(self) -> bool:
        """True: parameters ``amp_re``, ``amp_im`` and complex values;
        False: parameter ``amplitude`` and the real part."""
        return self._complex

    @property
    def fwhm_min_hz(self) -> float | None:
        """The lower bound of ``fwhm_hz`` set by the caller (None: the
        default of :meth:`guess`)."""
        return self._fwhm_min

    def _set_paramhints_prefix(self) -> None:
        self.set_param_hint("fwhm_hz", min=0.0 if self._fwhm_min is None else self._fwhm_min)
        if self.shape == "voigt":
            self.set_param_hint("gauss_fwhm_hz", min=0.0)

    # ------------------------------------------------------------- guess
    def guess(self, data, hz, **kws: Any) -> lmfit.Parameters:
        """Starting values and bounds for one line, estimated from data.

        Parameters
        ----------
        data : array_like, shape (n,)
            The spectrum's values around the line (complex preferred: the
            width is estimated from the modulus, which does not depend on the
            line's phase; real values are accepted).
        hz : array_like, shape (n,)
            Their frequencies (Hz from the carrier), ascending, ≥ 2 points.
        **kws
            Parameter names without the prefix (``amplitude`` or ``amp_re``
            and ``amp_im``, ``center_hz``, ``fwhm_hz``, ``gauss_fwhm_hz``)
            and starting values.  ``center_hz`` (Hz, within ``hz``),
            ``fwhm_hz`` and ``gauss_fwhm_hz`` (Hz, > 0) replace the
            estimates below and the amplitude is estimated from them; an
            amplitude given replaces its estimate.

        Returns
        -------
        lmfit.Parameters
            With the model's prefix:

            * ``center_hz``: the point of largest modulus (or as given),
              bounded by the ends of ``hz``;
            * ``fwhm_hz``: the full width at half height of the modulus
              around it (in points, times the spacing Δf), divided by √3
              (the modulus of a Lorentzian is √3 × wider than its
              absorption), at least 2Δf; for a Voigt half of it goes to each
              width.  Lower bound: ``fwhm_min_hz`` if the model has one,
              else 0 for the exact Lorentzian (it is defined down to zero
              width: an undamped line) and 1e-3 Δf otherwise; the start is at
              least 2e-3 Δf;
            * ``gauss_fwhm_hz`` (Voigt): as above, bounded below by 1e-3 Δf;
            * the amplitude: the data at the center times πΓ_L/2 (the peak
              of a Lorentzian of integral a is 2a/(πΓ_L)), complex for a
              complex-amplitude model, its real part otherwise.
        """
        who = f"{type(self).__name__}.guess"
        y = V.array(data, f"{who}: data", DataError, "an array of (complex) spectral values")
        x = V.array(hz, f"{who}: hz", DataError, "an array of frequencies (Hz)", complex_ok=False)
        if y.ndim != 1 or x.ndim != 1 or y.size != x.size or x.size < 2:
            raise DataError(
                f"{who}: data (shape {y.shape}) and hz (shape {x.shape}) must be 1-D, of one size, ≥ 2 points"
            )
        if not (np.all(np.isfinite(y)) and np.all(np.isfinite(x))):
            raise DataError(f"{who}: data and hz must be finite")
        with np.errstate(over="ignore", invalid="ignore"):
            steps = np.diff(x)
        if not np.all(steps > 0) or not math.isfinite(float(x[-1] - x[0])):
            raise DataError(f"{who}: hz must be strictly ascending (reverse data and hz together)")
        if math.isclose(x[0], x[-1], rel_tol=1e-13, abs_tol=1e-13):
            raise DataError(f"{who}: hz spans [{x[0]!r}, {x[-1]!r}] Hz: too narrow a range to bound center_hz")
        names = self._param_root_names
        V.known_keys(kws, names, who, DataError)
        center = kws.pop("center_hz", None)
        fwhm = kws.pop("fwhm_hz", None)
        gauss = kws.pop("gauss_fwhm_hz", None)
        if center is not None:
            center = _finite(who, "center_hz", center)
            if not x[0] <= center <= x[-1]:
                raise DataError(f"{who}.center_hz = {center!r} is outside [{x[0]:g}, {x[-1]:g}] Hz")
        if fwhm is not None:
            fwhm = _positive(who, "fwhm_hz", fwhm)
        if gauss is not None:
            gauss = _positive(who, "gauss_fwhm_hz", gauss)
        amps = {k: V.number(v, f"{who}.{k}", DataError) for k, v in kws.items()}

        mag = np.abs(y)
        df = float((x[-1] - x[0]) / (x.size - 1))
        if center is None:
            center = float(x[int(np.argmax(mag))])
        k = int(np.argmin(np.abs(x - center)))
        est = _half_height_width(mag, k) * df / math.sqrt(3.0)  # |Lorentzian| is √3 × wider
        w0 = fwhm if fwhm is not None else max(est, 2 * df)
        if self.shape == "voigt":
            g0 = gauss if gauss is not None else w0 / 2
            l0 = w0 if fwhm is not None else w0 / 2
        else:
            l0 = w0
        a0 = complex(y[k]) * math.pi * l0 / 2.0  # peak of 2a/(πΓ) for a Lorentzian
        fmin = 1e-3 * df
        if self._fwhm_min is not None:
            lmin = self._fwhm_min
        else:
            lmin = 0.0 if (self.exact and self._exact_down_to_zero) else fmin

        if not (cmath.isfinite(a0) and math.isfinite(l0)):
            raise DataError(f"{who}: the data are too large for a starting amplitude (data × width overflows)")

        p = self.prefix
        params = self.make_params()
        if self._complex:
            params[p + "amp_re"].set(value=float(a0.real))
            params[p + "amp_im"].set(value=float(a0.imag))
        else:
            params[p + "amplitude"].set(value=float(a0.real))
        params[p + "center_hz"].set(value=center, min=float(x[0]), max=float(x[-1]))
        params[p + "fwhm_hz"].set(value=max(l0, 2 * fmin), min=lmin)
        if self.shape == "voigt":
            params[p + "gauss_fwhm_hz"].set(value=max(g0, 2 * fmin), min=fmin)
        for name, v in amps.items():
            params[p + name].set(value=v)
        return params


class LorentzianLine(_LineModel):
    r"""One Lorentzian NMR line as an lmfit model (independent variable ``hz``).

    The spectrum of the FID component ``a · exp(2πi ν t − π Γ t)`` under the
    amplitude convention of :mod:`pulses.spectrum`, so that the amplitude is
    the line's integral in FID units:

    * exact (``dwell_s`` and ``n_acquired`` given): the closed-form DTFT of
      the sampled component, first point halved,
      ``2Δ · a · [Σ_{m<n} z^m − 1/2]`` with ``z = exp((2πi(ν − f) − πΓ)Δ)``
      (Δ = ``dwell_s``, n = ``n_acquired``) — what
      :func:`pulses.processing.fft` makes of it at any zero filling, exactly;
      defined for any real Γ, including 0 (an undamped line) and slightly
      negative values;
    * continuous (neither given): ``2a / (πΓ + 2πi(f − ν))``, whose real
      part is ``Re(a) ×`` a unit-area Lorentzian of FWHM Γ.

    Fit parameters (lmfit ``Parameters``; their names carry the prefix):

    ``amplitude`` (float)
        Real amplitude (FID units; the line integral), when
        ``complex_amplitude=False``; the model is then the real part (the
        absorption of a phased spectrum).
    ``amp_re``, ``amp_im`` (float)
        Real and imaginary parts of the complex amplitude (FID units), when
        ``complex_amplitude=True``; the model is then complex (lmfit fits
        real and imaginary parts with equal weight).
    ``center_hz`` (float)
        Line position ν (Hz from the carrier).
    ``fwhm_hz`` (float)
        Full width at half maximum Γ = 1/(π T2) (Hz), including any
        exponential apodisation.  Hint: lower bound ``fwhm_min_hz``, or 0;
        :meth:`guess` sets the data-dependent default (see there).

    Parameters
    ----------
    dwell_s : float, optional
        Dwell time (s) of the FID; with ``n_acquired`` selects the exact
        lineshape.  :meth:`for_spectrum` takes both from a spectrum.
    n_acquired : int, optional
        Acquired points (before zero filling).
    complex_amplitude : bool
        False (default): real ``amplitude``, real model values; True:
        ``amp_re``, ``amp_im`` and complex values.
    fwhm_min_hz : float, optional
        Lower bound of ``fwhm_hz`` (Hz).  A bound ≤ 0 needs the exact model:
        for quantitative amplitudes of lines narrower than the noise
        resolves, a slightly negative bound (e.g. −1/acquisition time)
        avoids the upward bias of width and amplitude that a bound at 0
        causes.
    prefix, nan_policy, **kwargs
        As :class:`lmfit.Model`; the independent variable is always ``hz``.

    Examples
    --------
    >>> model = LorentzianLine.for_spectrum(spec, complex_amplitude=True, prefix="a_")
    >>> model += LorentzianLine.for_spectrum(spec, complex_amplitude=True, prefix="b_")
    """

    shape = "lorentzian"
    _functions = (lorentzian_line, lorentzian_line_complex)
    _exact_down_to_zero = True


class VoigtLine(_LineModel):
    r"""One Voigt NMR line as an lmfit model (independent variable ``hz``).

    The spectrum of the FID component
    ``a · exp(2πi ν t − π Γ_L t − (π Γ_G t)² / (4 ln 2))`` — a Lorentzian of
    FWHM Γ_L convolved with a unit-area Gaussian of FWHM Γ_G (e.g. after
    Gaussian apodisation, or inhomogeneous broadening) — under the amplitude
    convention of :mod:`pulses.spectrum` (amplitude = line integral, FID
    units):

    * exact (``dwell_s`` and ``n_acquired`` given): the spectrum of the
      sampled component, first point halved — its zero-filled FFT when
      ``hz`` lies on an FFT grid of ``dwell_s`` (as the points of
      :func:`pulses.processing.fft` and their regions do), else its DTFT
      summed directly;
    * continuous (neither given): ``a · conj(w(z)) / (σ√(2π))``,
      ``z = ((f − ν) + iΓ_L/2) / (σ√2)``, σ = Γ_G / (2√(2 ln 2)), w the
      Faddeeva function: real part ``Re(a) ×`` a unit-area Voigt profile.

    Fit parameters (lmfit ``Parameters``; their names carry the prefix):

    ``amplitude``, or ``amp_re`` and ``amp_im`` (float)
        As :class:`LorentzianLine` (FID units; the line integral).
    ``center_hz`` (float)
        Line position ν (Hz from the carrier).
    ``fwhm_hz`` (float)
        Lorentzian FWHM Γ_L (Hz).  Hint: lower bound ``fwhm_min_hz``, or 0;
        :meth:`guess` sets 1e-3 × the point spacing unless ``fwhm_min_hz``
        is given.
    ``gauss_fwhm_hz`` (float)
        Gaussian FWHM Γ_G (Hz), > 0.  Hint: lower bound 0; :meth:`guess`
        sets 1e-3 × the point spacing.

    Parameters
    ----------
    dwell_s, n_acquired, complex_amplitude, fwhm_min_hz, prefix, nan_policy, **kwargs
        As :class:`LorentzianLine`.  A ``fwhm_min_hz`` ≤ 0 is allowed for the
        continuous Voigt too (the Gaussian decay keeps its FID integrable).
        :meth:`for_spectrum` chooses the exact model only when the
        spectrum's points lie on the FFT grid of its acquisition.
    """

    shape = "voigt"
    _functions = (voigt_line, voigt_line_complex)

    @classmethod
    def _negative_widths_continuous(cls) -> bool:
        return True

    @classmethod
    def _exact_for(cls, spectrum: Spectrum) -> bool:
        return _fft_grid(spectrum) is not None


#: The lineshape models by shape name.
LINE_MODELS: dict[str, type[_LineModel]] = {"lorentzian": LorentzianLine, "voigt": VoigtLine}


# --------------------------------------------------------------------------
# one line on a spectrum
# --------------------------------------------------------------------------
def line_shape(
    spectrum: Spectrum,
    center_hz: float,
    fwhm_hz: float,
    amplitude: complex = 1.0,
    gauss_fwhm_hz: float | None = None,
) -> np.ndarray:
    """The model spectrum of one line on ``spectrum.hz`` (what
    :func:`pulses.amplitudes.fit_lines` fits).

    The line is the spectrum of the FID component
    ``amplitude · exp(2πi ν t − π Γ_L t − (π Γ_G t)² / (4 ln 2))``
    (ν = ``center_hz``, Γ_L = ``fwhm_hz``, Γ_G = ``gauss_fwhm_hz``; omit it
    for a Lorentzian), under the amplitude convention of
    :mod:`pulses.spectrum`:

    * when the spectrum knows ``dwell_s`` and ``n_acquired`` the model is
      exact — the closed-form DTFT of the sampled, first-point-halved
      component for a Lorentzian, its zero-filled FFT for a Voigt (needs the
      points on the FFT grid of :func:`pulses.processing.fft`, which
      region() keeps);
    * otherwise it is the continuous profile: ``2a / (πΓ_L + 2πi(f − ν))``
      for a Lorentzian, ``a · conj(w(z)) / (σ√(2π))`` (Faddeeva w) for a
      Voigt; their real parts have unit area times ``Re(a)``.

    These are :class:`LorentzianLine` and :class:`VoigtLine` as
    ``for_spectrum(spectrum, complex_amplitude=True)`` builds them.

    Returns
    -------
    ndarray, complex128, shape (spectrum.n_points,)
        FID units × s.
    """
    spectrum = _check_spectrum(spectrum, "line_shape")
    center = _finite("line_shape", "center_hz", center_hz)
    fwhm = _positive("line_shape", "fwhm_hz", fwhm_hz)
    if not (isinstance(amplitude, (complex, np.complexfloating)) or V.is_real(amplitude)):
        raise DataError(f"line_shape.amplitude = {V.show(amplitude)} is not allowed: give a (complex) number")
    try:
        amplitude = complex(amplitude)
    except OverflowError:
        amplitude = complex(math.inf)
    if not cmath.isfinite(amplitude):
        raise DataError(f"line_shape.amplitude = {V.show(amplitude)} is not allowed: it must be finite")
    hz = spectrum.hz
    g = None if gauss_fwhm_hz is None else _positive("line_shape", "gauss_fwhm_hz", gauss_fwhm_hz)
    with np.errstate(all="ignore"):
        if g is None:
            if exact_possible(spectrum):
                out = _lorentz_exact(hz, amplitude, center, fwhm, spectrum.dwell_s, spectrum.n_acquired)
            else:
                out = _lorentz_continuous(hz, amplitude, center, fwhm)
        else:
            N = _fft_grid(spectrum)
            if N is not None:
                out = _voigt_exact(hz, amplitude, center, fwhm, g, spectrum.dwell_s, spectrum.n_acquired, N)
            else:
                out = _voigt_continuous(hz, amplitude, center, fwhm, g)
    return _finite_result("line_shape", out, "the line's parameters are too extreme for this axis")
