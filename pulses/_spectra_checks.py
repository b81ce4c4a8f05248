"""The input checks shared by the spectrum modules, written once.

:mod:`pulses.processing`, :mod:`pulses.noise`, :mod:`pulses.lineshapes`
and :mod:`pulses.amplitudes` check what a caller hands them with these
helpers, so that the same mistake gets the same one-line
:class:`~pulses.errors.DataError` (naming the function, the field, the value
and what is allowed) whichever of them it is made in.  They are built on the
generic checks of :mod:`pulses._validate` (and the FID field checks of
:mod:`pulses.fid`); what lives here is specific to FIDs, spectra and their
frequency regions.  This module holds checks only: no physics, no I/O.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pulses import _validate as V
from pulses.errors import DataError
from pulses.fid import FID, _finite
from pulses.spectrum import Spectrum

__all__ = ["check_fid", "check_spectrum", "finite_result", "pair"]


def check_fid(fid: Any, where: str) -> FID:
    """``fid`` if it is a :class:`~pulses.fid.FID`, else a DataError."""
    if not isinstance(fid, FID):
        raise DataError(f"{where}: fid = {V.show(fid)} is not allowed: give a pulses.FID")
    return fid


def check_spectrum(spectrum: Any, where: str) -> Spectrum:
    """``spectrum`` if it is a :class:`~pulses.spectrum.Spectrum`, else a
    DataError."""
    if not isinstance(spectrum, Spectrum):
        raise DataError(f"{where}: spectrum = {V.show(spectrum)} is not allowed: give a Spectrum")
    return spectrum


def finite_result(where: str, arr: np.ndarray, why: str) -> np.ndarray:
    """``arr`` if every value is finite, else a DataError saying ``why``."""
    if not np.all(np.isfinite(arr)):
        raise DataError(f"{where}: the result overflows: {why}")
    return arr


def pair(name: str, where: str, value: Any) -> tuple[float, float]:
    """``value`` as a frequency region ``(lo, hi)`` of two finite numbers
    (Hz) with ``lo < hi``, else a DataError naming ``where.name``."""
    if not isinstance(value, (list, tuple, np.ndarray)) or len(value) != 2:
        raise DataError(f"{where}.{name} = {V.show(value)} is not allowed: give a pair (lo_hz, hi_hz)")
    lo, hi = value
    lo = _finite(where, name, lo)
    hi = _finite(where, name, hi)
    if not lo < hi:
        raise DataError(f"{where}.{name} = {V.show(value)} is not allowed: lo must be below hi")
    return lo, hi
