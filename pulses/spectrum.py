"""The :class:`Spectrum` value: frequency-domain NMR data and its axes.

A :class:`Spectrum` holds complex spectral values (one spectrum, or a 2-D
series of them), the frequency axis relative to the carrier, the carrier and
base frequencies, the nucleus, the acquisition facts the exact lineshape
models need (``dwell_s``, ``n_acquired``) and free-form provenance; it
offers the axes (Hz, ppm), phase correction, regions and rows.  This module
describes data and defines the conventions the other spectrum modules share
(below): processing (:mod:`pulses.processing`), noise and SNR
(:mod:`pulses.noise`), lineshapes (:mod:`pulses.lineshapes`) and line
amplitudes (:mod:`pulses.amplitudes`) live in their own modules.  It does
not transform, fit, simulate or do file I/O, and it never imports ``nmrqb``.

Conventions
-----------
Frequency axis
    ``Spectrum.hz`` is relative to the carrier and **ascending** (index 0 is
    −SW/2, the lowest frequency); ``Spectrum.ppm`` is ascending too.  For the
    usual NMR display plot against ``ppm`` and invert the x axis.  A data
    component ``a · exp(+2πi ν t)`` is a line at ``+ν`` Hz.
Normalisation (the *amplitude convention*)
    :func:`pulses.processing.fft` halves the first point and returns
    ``values = 2 · dwell_s · fftshift(DFT(s))``, with the unnormalised DFT
    ``Σ_m s_m exp(−2πi f m dwell_s)``.  This is the discrete form of
    ``2 ∫_0^∞ s(t) exp(−2πi f t) dt`` (trapezoidal rule) so that, in the
    units of the FID:

    * the integral of the spectrum over the whole spectral width,
      ``Σ_k values_k · Δf``, equals the first FID point ``s(0)`` exactly
      (zero filling does not change it);
    * a component ``a · exp(2πi ν t − t/T2)`` (complex ``a``) is a line whose
      integral is ``a``: its real part is ``Re(a) ×`` a unit-area Lorentzian
      of FWHM ``1/(π T2)`` Hz; the lineshape models of
      :mod:`pulses.lineshapes` and :func:`pulses.amplitudes.fit_lines`
      return the amplitude ``a`` (to ~1e-10 for noiseless data, with the
      exact discrete model) and :func:`pulses.amplitudes.integrate` returns
      ``a`` up to the truncation of the region.

The signal-to-noise ratio is defined in :mod:`pulses.noise`.  Errors are
:class:`~pulses.errors.DataError` naming the field, its value and what is
allowed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from pulses import _validate as V
from pulses.errors import DataError
from pulses.fid import _complex_data, _finite, _frequencies, _json_dict, _nucleus, _positive

__all__ = ["Spectrum"]

#: Relative tolerance on the uniformity of a spectrum's Hz axis.
_GRID_RTOL = 1e-6


@dataclass(frozen=True, eq=False)
class Spectrum:
    """A frequency-domain spectrum (or a series of them) and its axes.

    Attributes
    ----------
    values : ndarray, complex128, read-only
        Shape (n,) or (m, n) (one spectrum per row of a series).  From
        :func:`~pulses.processing.fft` they follow the amplitude convention
        of the module docstring (FID units × s); from processed Bruker data
        they are in the file's units.
    hz : ndarray, float64, read-only
        Frequency of each point relative to the carrier (Hz), shape (n,),
        strictly ascending and uniformly spaced.
    sfo_mhz : float
        Carrier frequency (MHz), > 0.
    bf_mhz : float or None
        Frequency of 0 ppm (MHz); ``None`` means ``sfo_mhz``.
    nucleus : str
        Observed nucleus, e.g. ``"1H"``.
    metadata : dict
        JSON-serialisable provenance (copied from the FID, plus the
        processing steps under ``"processing"``).
    dwell_s : float or None
        Dwell time (s) of the FID that was transformed; with ``n_acquired``
        it lets the lineshape models (:mod:`pulses.lineshapes`, and so
        :func:`~pulses.amplitudes.fit_lines`) use the exact discrete
        lineshape.  ``None`` when unknown (a hand-made or processed
        spectrum).
    n_acquired : int or None
        Time-domain points of that FID before zero filling.

    Equality is identity (``eq=False``).
    """

    values: np.ndarray
    hz: np.ndarray
    sfo_mhz: float
    bf_mhz: float | None = None
    nucleus: str = "1H"
    metadata: dict = field(default_factory=dict)
    dwell_s: float | None = None
    n_acquired: int | None = None

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        values = _complex_data("Spectrum", self.values, "values")
        hz = V.array(self.hz, "Spectrum.hz", DataError, "a 1-D array of real frequencies (Hz)", complex_ok=False)
        if hz.ndim != 1 or hz.size != values.shape[-1]:
            raise DataError(
                f"Spectrum.hz has shape {hz.shape}: it must be 1-D with one frequency per point "
                f"({values.shape[-1]}, the last axis of values)"
            )
        if not np.all(np.isfinite(hz)):
            raise DataError("Spectrum.hz has NaN or infinite entries")
        if hz.size > 1:
            with np.errstate(over="ignore", invalid="ignore"):
                d = np.diff(hz)
            if not (np.all(np.isfinite(d)) and math.isfinite(hz[-1] - hz[0])):
                raise DataError("Spectrum.hz spans more than the largest float: its spacing overflows")
            if not np.all(d > 0):
                raise DataError("Spectrum.hz must be strictly ascending (reverse values and hz together)")
            if np.max(np.abs(d - d.mean())) > _GRID_RTOL * d.mean():
                raise DataError(
                    f"Spectrum.hz must be uniformly spaced: spacings range over [{d.min():.9g}, {d.max():.9g}] Hz"
                )
        hz.setflags(write=False)
        set_(self, "values", values)
        set_(self, "hz", hz)
        set_(self, "sfo_mhz", _positive("Spectrum", "sfo_mhz", self.sfo_mhz))
        bf = self.sfo_mhz if self.bf_mhz is None else _positive("Spectrum", "bf_mhz", self.bf_mhz)
        set_(self, "bf_mhz", bf)
        _frequencies("Spectrum", self.sfo_mhz, bf)
        with np.errstate(over="ignore"):
            ppm_span = float(np.abs(hz).max()) / bf
        if not math.isfinite(ppm_span):
            raise DataError(f"Spectrum.bf_mhz = {bf!r} is not allowed: the ppm axis hz / bf_mhz overflows")
        set_(self, "nucleus", _nucleus("Spectrum", self.nucleus))
        if self.dwell_s is not None:
            dwell = _positive("Spectrum", "dwell_s", self.dwell_s)
            if not math.isfinite(1.0 / dwell):
                raise DataError(f"Spectrum.dwell_s = {dwell!r} is not allowed: the spectral width 1/dwell_s overflows")
            set_(self, "dwell_s", dwell)
        if self.n_acquired is not None:
            n = self.n_acquired
            if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)) or n < 1:
                raise DataError(
                    f"Spectrum.n_acquired = {V.show(n)} is not allowed: it must be an integer ≥ 1 or None"
                )
            set_(self, "n_acquired", int(n))
        set_(self, "metadata", _json_dict("Spectrum", self.metadata))

    # ---------------------------------------------------------------- axes
    @property
    def n_points(self) -> int:
        """Points per spectrum (the last axis)."""
        return int(self.values.shape[-1])

    @property
    def is_2d(self) -> bool:
        """True for a (m, n) series."""
        return self.values.ndim == 2

    @property
    def spacing_hz(self) -> float:
        """Point spacing Δf (Hz); 1 / (N · dwell_s) for the output of
        :func:`~pulses.processing.fft`."""
        if self.n_points < 2:
            return self.spectral_width_hz
        return float((self.hz[-1] - self.hz[0]) / (self.n_points - 1))

    @property
    def spectral_width_hz(self) -> float:
        """Spectral width (Hz): 1 / dwell_s when known, else n · Δf."""
        if self.dwell_s is not None:
            return 1.0 / self.dwell_s
        if self.n_points < 2:
            raise DataError("Spectrum has one point and no dwell_s: its spectral width is undefined")
        return self.n_points * self.spacing_hz

    @property
    def carrier_ppm(self) -> float:
        """Chemical shift of the carrier, (sfo − bf) / bf · 1e6 (ppm)."""
        return (self.sfo_mhz - self.bf_mhz) / self.bf_mhz * 1e6

    @cached_property
    def ppm(self) -> np.ndarray:
        """Chemical-shift axis carrier_ppm + hz / bf_mhz (ppm), ascending."""
        p = self.carrier_ppm + self.hz / self.bf_mhz
        p.setflags(write=False)
        return p

    @property
    def real(self) -> np.ndarray:
        """Real (absorption, once phased) part of ``values``."""
        return self.values.real

    @property
    def imag(self) -> np.ndarray:
        """Imaginary (dispersion, once phased) part of ``values``."""
        return self.values.imag

    # ------------------------------------------------------------- variants
    def _replace(self, values: np.ndarray, hz: np.ndarray | None = None, step: dict | None = None) -> Spectrum:
        md = dict(self.metadata)
        if step is not None:
            md["processing"] = list(md.get("processing", [])) + [step]
        return Spectrum(
            values=values,
            hz=self.hz if hz is None else hz,
            sfo_mhz=self.sfo_mhz,
            bf_mhz=self.bf_mhz,
            nucleus=self.nucleus,
            dwell_s=self.dwell_s,
            n_acquired=self.n_acquired,
            metadata=md,
        )

    def phase(self, ph0_deg: float, ph1_deg: float = 0.0, pivot_hz: float = 0.0) -> Spectrum:
        """Zero- and first-order phase correction.

        Multiplies every point by ``exp(i φ(hz) π/180)`` with
        ``φ(hz) = ph0_deg + ph1_deg · (hz − pivot_hz) / spectral_width_hz``:
        ``ph1_deg`` is the phase change across one spectral width, zero at
        ``pivot_hz`` (Hz relative to the carrier).  A line ``a · L(f)`` with
        ``a = |a| e^{iθ}`` is brought to pure absorption by ``ph0_deg = −θ``
        (in degrees).

        Returns
        -------
        Spectrum
            A new spectrum; this one is unchanged.
        """
        p0 = _finite("Spectrum.phase", "ph0_deg", ph0_deg)
        p1 = _finite("Spectrum.phase", "ph1_deg", ph1_deg)
        piv = _finite("Spectrum.phase", "pivot_hz", pivot_hz)
        with np.errstate(over="ignore", invalid="ignore"):
            phi = np.deg2rad(p0 + p1 * (self.hz - piv) / self.spectral_width_hz)
        if not np.all(np.isfinite(phi)):
            raise DataError(
                f"Spectrum.phase: ph0_deg = {p0!r}, ph1_deg = {p1!r}, pivot_hz = {piv!r} give a phase that "
                "overflows on this axis: they must be far smaller"
            )
        step = {"step": "phase", "ph0_deg": p0, "ph1_deg": p1, "pivot_hz": piv}
        return self._replace(self.values * np.exp(1j * phi), step=step)

    def region(self, lo_hz: float, hi_hz: float) -> Spectrum:
        """The points with ``lo_hz ≤ hz ≤ hi_hz`` (Hz relative to the carrier)
        as a new spectrum (rows kept for a series)."""
        lo = _finite("Spectrum.region", "lo_hz", lo_hz)
        hi = _finite("Spectrum.region", "hi_hz", hi_hz)
        if not lo < hi:
            raise DataError(f"Spectrum.region: lo_hz = {lo!r} must be below hi_hz = {hi!r}")
        sel = (self.hz >= lo) & (self.hz <= hi)
        if not sel.any():
            raise DataError(
                f"Spectrum.region: [{lo:g}, {hi:g}] Hz holds no point of the axis "
                f"[{self.hz[0]:g}, {self.hz[-1]:g}] Hz"
            )
        return self._replace(self.values[..., sel], hz=self.hz[sel])

    def row(self, i: int) -> Spectrum:
        """Row ``i`` of a series as a 1-D spectrum."""
        if not self.is_2d:
            raise DataError("Spectrum.row: this spectrum is 1-D; rows exist only for a (m, n) series")
        m = self.values.shape[0]
        i = V.integer(i, "Spectrum.row: i", DataError)
        if not (-m <= i < m):
            raise DataError(f"Spectrum.row: index {i} is out of range for a series of {m} rows")
        return self._replace(self.values[i])

