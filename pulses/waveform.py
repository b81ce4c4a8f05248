"""RF waveforms as data, and Bruker shape files.

A :class:`Waveform` is a piecewise-constant RF waveform: per step an
amplitude in percent of the pulse's peak nutation (0–100, the Bruker
convention) and a phase in degrees.  It is the data of one channel of a
:class:`~pulses.sequence.ShapedPulse` (modelled on Pulser's ``Waveform``
classes: the pulse carries its waveforms, the waveforms carry the numbers).
Named shapes ("rect", "gaussian", "sinc") and Cartesian (x, y) controls, as
an optimal-control (GRAPE) program produces them, build one.

Bruker shape files (TopSpin ``lists/wave``) are JCAMP-DX text: ``##KEY=
value`` header lines (``##TITLE=``, ``##NPOINTS=``, ``##XYPOINTS=
(XY..XY)``, ``##$SHAPE_*`` parameters...), then one ``amplitude, phase``
line per point, then ``##END=``.  :func:`read_shape` and
:func:`Waveform.from_bruker` read one; :func:`write_shape` and
:meth:`Waveform.to_bruker` write one.  Values are written as the shortest
decimal that reads back to the same float, so a waveform survives a write
and read bit for bit, and a file written here is written again byte for
byte; the header lines that are not recomputed (everything but the title,
the point count and the MINX/MAXX/MINY/MAXY ranges) are kept in order in
``parameters``.  Files are written atomically (a temporary file in the same
folder, then a rename).

Errors: a malformed waveform is a :class:`~pulses.errors.SequenceError`
naming the field; an unreadable or malformed shape file a
:class:`~pulses.errors.DataError` naming the file and the line.  This module
never imports ``nmrqb``.
"""

from __future__ import annotations

import math
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pulses import _validate as V
from pulses.errors import DataError, SequenceError

__all__ = ["Waveform", "read_shape", "write_shape"]

#: Bytes per step of a waveform (amplitude and phase, float64 each).
_STEP_BYTES = 16

#: Header keys recomputed from the data on every write (not kept in ``parameters``).
_COMPUTED = ("TITLE", "MINX", "MAXX", "MINY", "MAXY", "NPOINTS", "XYPOINTS", "END")

#: Largest shape file read (bytes): far above any real shape (a 10⁶-point
#: shape is ~40 MB of text).
MAX_SHAPE_FILE_BYTES = 256 * 2**20


def _fmt(x: float) -> str:
    """The shortest decimal text that reads back to the same float."""
    return repr(float(x))


@dataclass(frozen=True)
class Waveform:
    """A piecewise-constant RF waveform (one channel of a shaped pulse).

    Parameters
    ----------
    amplitude_pct : sequence of float
        Amplitude of each step in percent of the pulse's peak nutation
        frequency, 0 ≤ a ≤ 100 (Bruker convention); at least one step.
    phase_deg : sequence of float, optional
        Phase of each step in degrees (finite, any range; default 0).
    title : str
        The shape's name (Bruker ``##TITLE=``).
    parameters : sequence of (str, str)
        Further header lines ``##KEY= value`` kept for a Bruker shape file,
        in order (``$SHAPE_EXMODE``, ``$SHAPE_TOTROT``...).

    The step k drives the channel with x, y nutation
    ν·a_k/100·(cos φ_k, sin φ_k), ν the pulse's ``nutation_hz``.
    """

    amplitude_pct: tuple
    phase_deg: tuple | None = None
    title: str = ""
    parameters: tuple = ()

    def __post_init__(self) -> None:
        where = f"Waveform{' ' + V.show(self.title) if isinstance(self.title, str) and self.title else ''}"
        V.string(self.title, f"{where}: title", SequenceError)
        if "\n" in self.title or "\r" in self.title:
            raise SequenceError(f"{where}: title = {V.show(self.title)} is not allowed: give one line of text")
        if isinstance(self.amplitude_pct, np.ndarray) and self.amplitude_pct.ndim == 1:
            n = self.amplitude_pct.size
        elif isinstance(self.amplitude_pct, (list, tuple)):
            n = len(self.amplitude_pct)
        else:
            raise SequenceError(
                f"{where}: amplitude_pct = {V.show(self.amplitude_pct)} is not allowed: give a list of amplitudes "
                "in percent (0 to 100)"
            )
        V.check_size(n * _STEP_BYTES, f"{where}: amplitude_pct", f"{n} steps", "the waveform", SequenceError)
        amp = V.number_array(self.amplitude_pct, f"{where}: amplitude_pct", SequenceError,
                             "amplitudes in percent (0 to 100)")
        if amp.size == 0 or np.any(amp < 0) or np.any(amp > 100):
            bad = amp[(amp < 0) | (amp > 100)]
            shown = repr(float(bad[0])) if bad.size else "[]"
            raise SequenceError(
                f"{where}: amplitude_pct holds {shown}, which is not allowed: every amplitude must be in [0, 100] %"
            )
        if self.phase_deg is None:
            ph = np.zeros_like(amp)
        else:
            ph = V.number_array(self.phase_deg, f"{where}: phase_deg", SequenceError, "phases in degrees")
            if ph.size != amp.size:
                raise SequenceError(
                    f"{where}: phase_deg has {ph.size} values for {amp.size} amplitudes: give one phase per step"
                )
        params = V.items(self.parameters, f"{where}: parameters", SequenceError, "(key, value) pairs of strings")
        clean = []
        for p in params:
            pair = V.items(p, f"{where}: parameters", SequenceError, "(key, value) pairs of strings")
            if len(pair) != 2 or not all(isinstance(x, str) for x in pair):
                raise SequenceError(f"{where}: parameters entry {V.show(p)} is not allowed: give (key, value) strings")
            key, value = pair
            if not key or "=" in key or any(c in key + value for c in "\r\n") or key.strip() != key:
                raise SequenceError(
                    f"{where}: parameters entry {V.show(p)} is not allowed: a key is non-empty text without '=', "
                    "spaces at its ends or line breaks, and a value is one line"
                )
            if key.upper() in _COMPUTED:
                raise SequenceError(
                    f"{where}: parameters key {key!r} is not allowed: it is computed from the data on writing"
                )
            clean.append((key, value))
        object.__setattr__(self, "amplitude_pct", tuple(amp.tolist()))
        object.__setattr__(self, "phase_deg", tuple(ph.tolist()))
        object.__setattr__(self, "parameters", tuple(clean))

    # ---------------------------------------------------------------- views
    @property
    def steps(self) -> int:
        """Number of piecewise-constant steps."""
        return len(self.amplitude_pct)

    def xy(self) -> tuple[np.ndarray, np.ndarray]:
        """(x, y): the step amplitudes as fractions of the peak,
        a/100·cos φ and a/100·sin φ."""
        a = np.asarray(self.amplitude_pct) / 100.0
        ph = np.deg2rad(np.asarray(self.phase_deg))
        return a * np.cos(ph), a * np.sin(ph)

    def to_dict(self) -> dict[str, Any]:
        """A plain dict (lists, str, float) that ``Waveform(**d)`` turns back
        into an equal waveform."""
        out: dict[str, Any] = {"amplitude_pct": list(self.amplitude_pct), "phase_deg": list(self.phase_deg)}
        if self.title:
            out["title"] = self.title
        if self.parameters:
            out["parameters"] = [list(p) for p in self.parameters]
        return out

    # --------------------------------------------------------- construction
    @classmethod
    def named(cls, shape: str, steps: int, title: str = "") -> "Waveform":
        """A named envelope ("rect", "gaussian", "sinc"; see
        :func:`pulses.sequence.envelope`) of ``steps`` steps, peak 100 %;
        negative lobes (sinc) have phase 180°."""
        from pulses.sequence import SHAPES, envelope

        if not isinstance(shape, str) or shape not in SHAPES:
            raise SequenceError(f"Waveform.named: shape = {V.show(shape)} is not allowed: use {', '.join(SHAPES)}")
        steps = V.integer(steps, "Waveform.named: steps", SequenceError, minimum=1)
        V.check_size(steps * _STEP_BYTES, "Waveform.named: steps", steps, "the waveform", SequenceError)
        a = envelope(shape, steps)
        return cls(tuple((100.0 * np.abs(a)).tolist()), tuple(np.where(a < 0, 180.0, 0.0).tolist()),
                   title or shape)

    @classmethod
    def from_xy(cls, x, y, peak: float | None = None, title: str = "") -> "Waveform":
        """The waveform of Cartesian controls ``x``, ``y`` (any unit, e.g. Hz
        of nutation, as an optimal-control program gives them): amplitude
        100·|x + iy|/peak, phase atan2(y, x) in [0, 360)° (0 where the
        amplitude is 0).  ``peak`` (default: the largest |x + iy|) is the
        value that maps to 100 %; use it as the pulse's ``nutation_hz`` when
        x, y are in Hz."""
        xs = V.number_array(x, "Waveform.from_xy: x", SequenceError)
        ys = V.number_array(y, "Waveform.from_xy: y", SequenceError)
        if xs.size != ys.size:
            raise SequenceError(f"Waveform.from_xy: x has {xs.size} values and y {ys.size}: give one of each per step")
        mag = np.hypot(xs, ys)
        if peak is None:
            peak = float(mag.max())
            if peak == 0:
                raise SequenceError("Waveform.from_xy: x and y are all zero: give peak, the value of 100 %")
        peak = V.number(peak, "Waveform.from_xy: peak", SequenceError, minimum=0.0, strict=True)
        amp = np.minimum(100.0 * mag / peak, 100.0) if np.all(mag <= peak * (1 + 1e-12)) else None
        if amp is None:
            raise SequenceError(
                f"Waveform.from_xy: peak = {peak!r} is not allowed: it is below the largest |x + iy| = {mag.max()!r}"
            )
        ph = np.mod(np.rad2deg(np.arctan2(ys, xs)), 360.0)
        ph[mag == 0] = 0.0
        return cls(tuple(amp.tolist()), tuple(ph.tolist()), title)

    # ----------------------------------------------------------- Bruker I/O
    def to_bruker(self) -> str:
        """The text of a Bruker shape file of this waveform (see the module
        docstring; :meth:`from_bruker` reads it back exactly)."""
        amp, ph = self.amplitude_pct, self.phase_deg
        keys = {k.upper() for k, _ in self.parameters}
        lines = [f"##TITLE= {self.title}"]
        if "JCAMP-DX" not in keys:
            lines.append("##JCAMP-DX= 5.00 Bruker JCAMP library")
        if "DATA TYPE" not in keys:
            lines.append("##DATA TYPE= Shape Data")
        if "ORIGIN" not in keys:
            lines.append("##ORIGIN= pulses")
        lines += [f"##{k}= {v}" for k, v in self.parameters]
        lines += [
            f"##MINX= {_fmt(min(amp))}", f"##MAXX= {_fmt(max(amp))}",
            f"##MINY= {_fmt(min(ph))}", f"##MAXY= {_fmt(max(ph))}",
            f"##NPOINTS= {len(amp)}", "##XYPOINTS= (XY..XY)",
        ]
        lines += [f"{_fmt(a)}, {_fmt(p)}" for a, p in zip(amp, ph)]
        lines.append("##END=")
        return "\n".join(lines) + "\n"

    @classmethod
    def from_bruker(cls, text: str, source: str = "shape text") -> "Waveform":
        """The waveform of a Bruker shape file's text.  Data lines hold
        ``amplitude, phase`` (comma and/or blanks between; one column is an
        amplitude with phase 0); ``##NPOINTS=``, when present, must match the
        number of data lines.  ``source`` names the text in errors."""
        if not isinstance(text, str):
            raise DataError(f"{source}: text = {V.show(text)} is not allowed: give a str (decode bytes first)")
        title, params, npoints, rows = "", [], None, []
        in_data, ended = False, False
        for lineno, raw in enumerate(text.splitlines(), start=1):
            line = raw.strip()
            if not line or ended:
                if ended and line:
                    raise DataError(f"{source}: line {lineno}: text after ##END= is not allowed")
                continue
            if line.startswith("##"):
                key, sep, value = line[2:].partition("=")
                if not sep:
                    raise DataError(f"{source}: line {lineno}: header {V.show(line)} has no '='")
                key, value = key.strip(), value.strip()
                upper = key.upper()
                if upper == "END":
                    ended = True
                elif upper == "TITLE":
                    title = value
                elif upper == "NPOINTS":
                    try:
                        npoints = int(value)
                    except ValueError:
                        raise DataError(
                            f"{source}: line {lineno}: ##NPOINTS= {V.show(value)} is not allowed: give a whole number"
                        ) from None
                elif upper == "XYPOINTS":
                    in_data = True
                elif upper not in _COMPUTED:
                    if not key:
                        raise DataError(f"{source}: line {lineno}: header {V.show(line)} has no key")
                    params.append((key, value))
                continue
            if line.startswith("$$"):
                continue  # a JCAMP comment line
            fields = line.replace(",", " ").split()
            if not in_data or len(fields) not in (1, 2):
                raise DataError(
                    f"{source}: line {lineno}: {V.show(line)} is not allowed: data lines hold 'amplitude, phase' "
                    "after ##XYPOINTS="
                )
            try:
                vals = [float(f) for f in fields]
            except ValueError:
                raise DataError(f"{source}: line {lineno}: {V.show(line)} is not a pair of numbers") from None
            if not all(math.isfinite(v) for v in vals) or not 0 <= vals[0] <= 100:
                raise DataError(
                    f"{source}: line {lineno}: {V.show(line)} is not allowed: the amplitude must be in [0, 100] % "
                    "and both values finite"
                )
            rows.append((vals[0], vals[1] if len(vals) == 2 else 0.0))
        if not rows:
            raise DataError(f"{source}: no data points: a shape file lists 'amplitude, phase' lines after ##XYPOINTS=")
        if npoints is not None and npoints != len(rows):
            raise DataError(f"{source}: ##NPOINTS= {npoints} but the file has {len(rows)} data lines")
        amp, ph = zip(*rows)
        try:
            return cls(amp, ph, title, tuple(params))
        except SequenceError as exc:
            raise DataError(f"{source}: {exc}") from None


def read_shape(path: str | os.PathLike) -> Waveform:
    """Read a Bruker shape file (TopSpin ``lists/wave/<name>``) as a
    :class:`Waveform`; a :class:`~pulses.errors.DataError` names the file
    and line of what is wrong."""
    if not isinstance(path, (str, os.PathLike)):
        raise DataError(f"read_shape: path = {V.show(path)} is not allowed: give a file path")
    p = Path(path)
    try:
        size = p.stat().st_size
        if size > MAX_SHAPE_FILE_BYTES:
            raise DataError(f"read_shape: {p}: {V.format_bytes(size)} is not allowed for a shape file "
                            f"(at most {V.format_bytes(MAX_SHAPE_FILE_BYTES)})")
        text = p.read_text(encoding="utf-8", errors="strict")
    except DataError:
        raise
    except UnicodeDecodeError:
        raise DataError(f"read_shape: {p}: not a text file (not UTF-8)") from None
    except OSError as exc:
        raise DataError(f"read_shape: {p}: cannot be read: {exc.strerror or V.one_line(exc)}") from None
    return Waveform.from_bruker(text, str(p))


def write_shape(waveform: Waveform, path: str | os.PathLike, overwrite: bool = False) -> Path:
    """Write ``waveform`` as a Bruker shape file at ``path`` (atomically: a
    temporary file in the same folder, then a rename) and return the path.
    An existing file is replaced only with ``overwrite=True``."""
    if not isinstance(waveform, Waveform):
        raise DataError(f"write_shape: waveform = {V.show(waveform)} is not allowed: give a Waveform")
    if not isinstance(path, (str, os.PathLike)):
        raise DataError(f"write_shape: path = {V.show(path)} is not allowed: give a file path")
    overwrite = V.boolean(overwrite, "write_shape: overwrite", DataError)
    p = Path(path)
    if p.is_dir():
        raise DataError(f"write_shape: {p} is a folder: give a file path")
    if p.exists() and not overwrite:
        raise DataError(f"write_shape: {p} exists: give overwrite=True to replace it")
    if not p.parent.is_dir():
        raise DataError(f"write_shape: {p.parent} is not an existing folder")
    text = waveform.to_bruker()
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
                fh.write(text)
            os.replace(tmp, p)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise DataError(f"write_shape: {p}: cannot be written: {exc.strerror or V.one_line(exc)}") from None
    return p
