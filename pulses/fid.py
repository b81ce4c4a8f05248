"""The acquisition object: a free-induction decay (FID) and its parameters.

An :class:`FID` holds complex time-domain data (one FID, or a 2-D series of
FIDs, a Bruker ``ser``), the dwell time, the carrier and base frequencies of
the observed channel, the nucleus and free-form provenance.  It is what the
simulator produces, what :mod:`pulses.spectra` processes and what
:mod:`pulses.bruker` writes and reads.  This module describes data; it does
not simulate, process or do file I/O, and it never imports ``nmrqb``.

Conventions (DESIGN.md §3)
--------------------------
* Time point ``k`` of a row is sampled at ``t_k = k · dwell_s`` (k = 0 is the
  start of acquisition).
* A component ``a · exp(+2πi ν t)`` of the data is a line at **+ν Hz
  relative to the carrier** (``sfo_mhz``): the simulator's signal
  ``s(t) = Tr[ρ(t) Σ I⁺]`` precesses as ``exp(+iΩt)`` for a positive offset
  Ω, so a positive offset is a line at positive Hz.
* ``bf_mhz`` (Bruker BF1) is the frequency of 0 ppm; the carrier sits at
  ``carrier_ppm = (sfo_mhz − bf_mhz) / bf_mhz · 1e6`` and a frequency ``hz``
  relative to the carrier is at ``ppm = carrier_ppm + hz / bf_mhz``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from pulses import _validate as V
from pulses.errors import DataError

__all__ = ["FID", "stack_fids"]

#: Nucleus labels look like "1H", "13C", "15N", "195Pt".
_NUCLEUS = re.compile(r"^[0-9]{1,3}[A-Z][a-z]?$")


def _positive(owner: str, name: str, value: Any) -> float:
    """``value`` as a finite float > 0, or a DataError naming the field."""
    return V.number(value, f"{owner}.{name}", DataError, minimum=0.0, strict=True)


def _finite(owner: str, name: str, value: Any) -> float:
    """``value`` as a finite float, or a DataError naming the field."""
    return V.number(value, f"{owner}.{name}", DataError)


def _nucleus(owner: str, value: Any) -> str:
    if not isinstance(value, str) or not _NUCLEUS.match(value):
        raise DataError(
            f"{owner}.nucleus = {V.show(value)} is not allowed: give a mass number and an element symbol, "
            "e.g. '1H', '13C'"
        )
    return value


#: Deepest nesting of dicts and lists accepted in metadata.
_MAX_METADATA_DEPTH = 64


def _json_dict(owner: str, value: Any) -> dict:
    """A shallow copy of ``value`` after checking it is a JSON-serialisable
    dict: str keys, finite numbers, strings, bools, None, lists and dicts,
    nested at most 64 deep."""
    if not isinstance(value, dict):
        raise DataError(f"{owner}.metadata must be a dict, got {type(value).__name__}")

    def walk(x: Any, depth: int, path: str) -> None:
        if depth > _MAX_METADATA_DEPTH:
            raise DataError(
                f"{owner}.metadata must be JSON-serialisable: it is nested deeper than {_MAX_METADATA_DEPTH}"
            )
        if isinstance(x, dict):
            for k, v in x.items():
                if not isinstance(k, str):
                    raise DataError(
                        f"{owner}.metadata must be JSON-serialisable: key {V.show(k)} at {path or 'top level'} "
                        "is not a string"
                    )
                walk(v, depth + 1, f"{path}[{k!r}]"[:80])
        elif isinstance(x, (list, tuple)):
            for i, v in enumerate(x):
                walk(v, depth + 1, f"{path}[{i}]"[:80])
        elif isinstance(x, str):
            V.string(x, f"{owner}.metadata{path}", DataError)
        elif isinstance(x, float) and not math.isfinite(x):
            raise DataError(f"{owner}.metadata must be JSON-serialisable: {path} = {x!r} is not a finite number")
        elif not (x is None or isinstance(x, (bool, int, float))):
            raise DataError(
                f"{owner}.metadata must be JSON-serialisable (str keys, plain numbers, lists, dicts): "
                f"{path} = {V.show(x)} is a {type(x).__name__}"
            )

    walk(value, 0, "")
    return dict(value)


def _complex_data(owner: str, data: Any, name: str = "data") -> np.ndarray:
    """A read-only complex128 copy of 1-D (n,) or 2-D (m, n) finite data."""
    arr = V.complex_array(data, f"{owner}.{name}", DataError, "a 1-D or 2-D array of numbers")
    if arr.ndim not in (1, 2) or arr.size == 0:
        raise DataError(
            f"{owner}.{name} has shape {arr.shape}: a non-empty 1-D array (n,) or a 2-D series (m, n) is required"
        )
    if not np.all(np.isfinite(arr)):
        bad = np.argwhere(~np.isfinite(arr))[0]
        raise DataError(f"{owner}.{name} has a NaN or infinite value at index {tuple(int(i) for i in bad)}")
    arr.setflags(write=False)
    return arr


def _frequencies(owner: str, sfo: float, bf: float) -> None:
    """Refuse a carrier and base frequency whose carrier_ppm overflows."""
    if not math.isfinite((sfo - bf) / bf * 1e6):
        raise DataError(
            f"{owner}.sfo_mhz = {sfo!r} and bf_mhz = {bf!r} are not allowed: the carrier's shift "
            "(sfo − bf) / bf · 1e6 ppm overflows"
        )


@dataclass(frozen=True, eq=False)
class FID:
    """A free-induction decay (or a 2-D series of them) and its parameters.

    Attributes
    ----------
    data : ndarray, complex128, read-only
        Shape (n,) for one FID, or (m, n) for a series (Bruker ``ser``): m
        increments (rows) of n complex points.  Any array-like is accepted
        and copied to complex128.  Units are the signal's (arbitrary; the
        simulator's are those of Tr[ρ Σ I⁺]).
    dwell_s : float
        Sampling interval (s), > 0, with 1 / dwell_s and n_points · dwell_s
        finite.  Spectral width = 1 / dwell_s.
    sfo_mhz : float
        Carrier (spectrometer) frequency of the channel (MHz), > 0; Bruker
        SFO1.  The Hz axis of a spectrum is relative to it.
    bf_mhz : float or None
        Base frequency (MHz) that defines 0 ppm; Bruker BF1.  ``None`` means
        ``sfo_mhz`` (the carrier is at 0 ppm); after construction the field
        always holds a float.
    nucleus : str
        Observed nucleus, e.g. ``"1H"``, ``"13C"``.
    channel : str
        Channel label; an empty string is replaced by ``nucleus``.
    receiver_phase_deg : float
        Receiver phase (degrees) already applied to ``data``; provenance only.
    metadata : dict
        Free-form, JSON-serialisable provenance (sequence name, seed, ...):
        str keys, finite numbers, strings, bools, None, lists and dicts,
        nested at most 64 deep.  Stored as a shallow copy.

    Derived: :attr:`n_points`, :attr:`spectral_width_hz`, :attr:`time_s`,
    :attr:`carrier_ppm`, :attr:`is_2d`, :attr:`n_rows`.

    Invalid fields raise :class:`~pulses.errors.DataError` naming the field.
    Equality is identity (``eq=False``): compare ``data`` arrays explicitly.
    """

    data: np.ndarray
    dwell_s: float
    sfo_mhz: float
    bf_mhz: float | None = None
    nucleus: str = "1H"
    channel: str = ""
    receiver_phase_deg: float = 0.0
    metadata: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "data", _complex_data("FID", self.data))
        dwell = _positive("FID", "dwell_s", self.dwell_s)
        if not math.isfinite(1.0 / dwell) or not math.isfinite(self.data.shape[-1] * dwell):
            raise DataError(
                f"FID.dwell_s = {dwell!r} is not allowed: the spectral width 1/dwell_s and the acquisition "
                f"time ({self.data.shape[-1]} points × dwell_s) must be finite"
            )
        set_(self, "dwell_s", dwell)
        set_(self, "sfo_mhz", _positive("FID", "sfo_mhz", self.sfo_mhz))
        bf = self.sfo_mhz if self.bf_mhz is None else _positive("FID", "bf_mhz", self.bf_mhz)
        set_(self, "bf_mhz", bf)
        _frequencies("FID", self.sfo_mhz, bf)
        set_(self, "nucleus", _nucleus("FID", self.nucleus))
        if not isinstance(self.channel, str):
            raise DataError(f"FID.channel = {V.show(self.channel)} is not allowed: it must be a string")
        V.string(self.channel, "FID.channel", DataError)
        if self.channel == "":
            set_(self, "channel", self.nucleus)
        set_(self, "receiver_phase_deg", _finite("FID", "receiver_phase_deg", self.receiver_phase_deg))
        set_(self, "metadata", _json_dict("FID", self.metadata))

    # ---------------------------------------------------------------- derived
    @property
    def n_points(self) -> int:
        """Complex points per FID (the last axis of ``data``)."""
        return int(self.data.shape[-1])

    @property
    def n_rows(self) -> int:
        """Number of FIDs: 1 for 1-D data, m for a (m, n) series."""
        return int(self.data.shape[0]) if self.data.ndim == 2 else 1

    @property
    def is_2d(self) -> bool:
        """True for a (m, n) series."""
        return self.data.ndim == 2

    @property
    def spectral_width_hz(self) -> float:
        """Spectral width 1 / dwell_s (Hz)."""
        return 1.0 / self.dwell_s

    @property
    def acquisition_time_s(self) -> float:
        """Acquisition time n_points · dwell_s (s)."""
        return self.n_points * self.dwell_s

    @cached_property
    def time_s(self) -> np.ndarray:
        """Sampling times k · dwell_s (s), shape (n_points,), read-only."""
        t = np.arange(self.n_points) * self.dwell_s
        t.setflags(write=False)
        return t

    @property
    def carrier_ppm(self) -> float:
        """Chemical shift of the carrier, (sfo − bf) / bf · 1e6 (ppm)."""
        return (self.sfo_mhz - self.bf_mhz) / self.bf_mhz * 1e6

    # ------------------------------------------------------------- variants
    def row(self, i: int) -> FID:
        """Row ``i`` of a 2-D series as a 1-D FID (same parameters)."""
        if not self.is_2d:
            raise DataError("FID.row: this FID is 1-D; rows exist only for a (m, n) series")
        i = V.integer(i, "FID.row: i", DataError)
        if not (-self.n_rows <= i < self.n_rows):
            raise DataError(f"FID.row: index {i} is out of range for a series of {self.n_rows} rows")
        return self.with_data(self.data[i])

    def with_data(self, data: Any, **metadata_updates: Any) -> FID:
        """A copy with new ``data`` (same parameters); keyword arguments are
        merged into a copy of ``metadata``."""
        md = dict(self.metadata)
        md.update(metadata_updates)
        return FID(
            data=data,
            dwell_s=self.dwell_s,
            sfo_mhz=self.sfo_mhz,
            bf_mhz=self.bf_mhz,
            nucleus=self.nucleus,
            channel=self.channel,
            receiver_phase_deg=self.receiver_phase_deg,
            metadata=md,
        )


def stack_fids(fids: Sequence[FID]) -> FID:
    """Stack 1-D FIDs into one (m, n) series (a Bruker ``ser``).

    All FIDs must be 1-D and agree on ``n_points``, ``dwell_s``, ``sfo_mhz``,
    ``bf_mhz``, ``nucleus`` and ``channel`` (else :class:`DataError` naming
    the first row that differs and the field).  The series keeps the common
    ``receiver_phase_deg`` when all rows share it (else 0.0) and its
    metadata is ``{"rows": [row metadata with "receiver_phase_deg" added]}``
    so that nothing is lost.
    """
    fids = list(V.items(fids, "stack_fids: fids", DataError, "FID objects"))
    if not fids:
        raise DataError("stack_fids: no FIDs were given")
    for i, f in enumerate(fids):
        if not isinstance(f, FID):
            raise DataError(f"stack_fids: item {i} is a {type(f).__name__}, not an FID")
        if f.is_2d:
            raise DataError(f"stack_fids: item {i} is already a 2-D series of shape {f.data.shape}; give 1-D FIDs")
    first = fids[0]
    for i, f in enumerate(fids[1:], start=1):
        for name in ("n_points", "dwell_s", "sfo_mhz", "bf_mhz", "nucleus", "channel"):
            a, b = getattr(first, name), getattr(f, name)
            if a != b:
                raise DataError(f"stack_fids: FID {i} has {name} = {b!r} but FID 0 has {a!r}; all rows must agree")
    phases = {f.receiver_phase_deg for f in fids}
    rows = [dict(f.metadata, receiver_phase_deg=f.receiver_phase_deg) for f in fids]
    return FID(
        data=np.stack([f.data for f in fids]),
        dwell_s=first.dwell_s,
        sfo_mhz=first.sfo_mhz,
        bf_mhz=first.bf_mhz,
        nucleus=first.nucleus,
        channel=first.channel,
        receiver_phase_deg=phases.pop() if len(phases) == 1 else 0.0,
        metadata={"rows": rows},
    )
