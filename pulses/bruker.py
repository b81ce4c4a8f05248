"""Bruker (TopSpin) datasets: write simulated acquisitions, read real ones.

This module turns an :class:`~pulses.fid.FID` into a Bruker experiment
folder (``fid`` or ``ser`` plus ``acqus``/``acqu`` and, for a series,
``acqu2s``/``acqu2``) and reads such folders back — ours and a
spectrometer's — into :class:`FID` and, from ``pdata/<procno>``, into
:class:`~pulses.spectra.Spectrum` (or, in TopSpin's order, a
:class:`TopSpinSpectrum`).  Parameter files and binaries go through nmrglue
(``nmrglue.fileio.bruker``); this module adds the validation, the
digital-filter rule, TopSpin's referencing, the sign, scaling and axis
conventions and safe, atomic writing.  It does no processing beyond what
reading needs and never imports ``nmrqb``.  Every reading convention, with
nmrglue's and TopSpin's side by side and the index mapping between them,
is in ``docs/bruker.md``.

What is written (``write_bruker``)
----------------------------------
* data as little-endian float64 (``DTYPA = 2``, ``BYTORDA = 0``): the
  round trip is exact to the last bit; each FID (row) is zero-padded to a
  multiple of 1024 bytes as TopSpin does, and ``TD = 2 n`` counts the real
  and imaginary values of the n acquired points;
* ``SW_h = 1/dwell_s`` (Hz), ``SW = SW_h / SFO1`` (ppm), ``SFO1``, ``BF1``,
  ``O1 = (SFO1 − BF1)·1e6`` (Hz), ``NUC1``, ``AQ_mod = 3`` (DQD, complex),
  ``DW`` (µs, per real point), ``NS = 1``, ``RG = 1``, ``NC = 0``,
  ``PULPROG`` (``metadata["sequence"]`` when given);
* ``DIGMOD = 0`` (analog: no digital filter), ``DECIM = 1``,
  ``DSPFVS = 20``, ``GRPDLY = 0``: the simulated FID starts at t = 0, so no
  group-delay correction applies — :func:`read_bruker` and TopSpin do none.
  (nmrglue's ``remove_digital_filter`` would still drop 2 end points.)
* provenance: a ``$$ pulses-provenance {json}`` comment line in ``acqus``
  holding ``format``, ``dwell_s``, ``channel``, ``receiver_phase_deg`` and
  ``metadata``, which :func:`read_bruker` restores exactly.

Where it is written: nothing is ever lost
-----------------------------------------
The data set is built in a hidden sibling folder ``.<name>.new-<pid>-*.tmp``
and renamed into place, so a reader never sees a half-written data set and
a failure half-way leaves the previous state untouched.  An existing path
is handled as follows:

* an empty folder is written into (replaced by the new data set);
* anything else needs ``overwrite=True``, and even then only a folder that
  is recognisably one Bruker experiment is replaced: it holds ``acqus`` and
  ``fid`` or ``ser``, and no sub-folder except an empty ``pdata/``.  A
  ``pdata/`` with content is processed data, which is never deleted: the
  call is refused ("contains processed data pdata/; remove it yourself or
  choose another folder").  Any other folder (a folder of experiments, a
  home or project folder), a file or a symbolic link is refused with a
  :class:`~pulses.errors.DataError` naming the path, and nothing is touched;
* a replacement renames the old folder aside (``.<name>.old-<pid>-*.tmp``),
  renames the new one in and only then deletes the old one.  Leftovers of a
  killed run (exactly these two name patterns, made by a process that no
  longer runs, or by this process but by no call still running) are cleaned
  at the next call for the same path, so they never pile up: unfinished new
  folders are deleted, and an old folder whose replacement never arrived is
  renamed back first, so the previous data set reappears.

Sign and axis conventions
-------------------------
Bruker raw data follow this package's convention: with the (real,
imaginary) pairs of the file read as complex numbers, a line above the
carrier is ``exp(+2πi ν t)`` — a plain FFT gives an ascending frequency
axis, which is why nmrglue's examples reverse it to match TopSpin's ``1r``.
Data are therefore stored and read unchanged.  TopSpin's processed ``1r``
runs from high to low ppm (point i at ``OFFSET − i·SW_p/(SF·SI)``);
:func:`read_bruker_processed` reverses it to the ascending axes of
:class:`~pulses.spectra.Spectrum` (``order="ascending"``, the default) or
keeps TopSpin's order in a :class:`TopSpinSpectrum` (``order="topspin"``).
The index mapping (nmrglue's and TopSpin's i is our n − 1 − i, and the
Nyquist point of an FFT grid) is written once, in ``docs/bruker.md``.

Referencing (SR)
----------------
The frequency of 0 ppm, ``bf_mhz``, is TopSpin's ``SF = BF1 + SR``.  By
default (``sr_hz="procs"``) SF comes from ``pdata/<procno>/procs`` (procno
1 unless given), so a raw FID gets TopSpin's ppm axis; without a procs
file 0 ppm stays at BF1 and the metadata says SR was unavailable.
``sr_hz=<Hz>`` sets SR, and ``reference=(observed_ppm, true_ppm)`` moves
the axis so that a peak seen at observed_ppm is at true_ppm (TopSpin's
calibration).  The record (applied or not, SR, SF, BF1, source) is
``metadata["bruker"]["referencing"]``.

Scaling
-------
int32 data are multiplied by ``2**NC`` (fid) and ``2**NC_proc`` (1r/1i)
by default (``scale_nc=True``): TopSpin's normalisation, under which its
``1r · 2**NC_proc`` is the unnormalised DFT of ``fid · 2**NC``;
``scale_nc=False`` gives the integers of the files (nmrglue's
``bruker.read``).  Both factors are in ``metadata["bruker"]["scaling"]``.

Digital filter of real spectrometer data (``read_bruker``)
----------------------------------------------------------
The group delay (in points) is ``GRPDLY`` when it is > 0; otherwise, for
``DSPFVS`` 10–13, the DECIM/DSPFVS table of nmrglue; otherwise, and always
when ``DIGMOD = 0``, there is none.  A delay d is removed in two steps: the
fractional part by an exact frequency-domain shift of the raw (band-limited)
data — a first-order phase, as TopSpin applies — then the integer part by
nmrglue's ``remove_digital_filter`` (a circular shift by floor(d) points
that folds the pre-signal points back and drops floor(d) + 2 points at the
end).  The returned FID starts at t = 0 and has ``TD/2 − floor(d) − 2``
points (``TD/2`` when there is no delay or d < 1).  This is
``digital_filter="remove"``, the default; ``"keep"`` returns the raw
``TD/2`` points (TopSpin keeps them and corrects the delay after the FT by
the phase ``exp(−2πi·d·i/SI)`` of its point i) and ``"nmrglue"`` applies
``nmrglue.bruker.remove_digital_filter`` exactly.

Validation of what is read
--------------------------
Missing or corrupt files raise :class:`~pulses.errors.DataError` naming the
file and the folder; a bad parameter is named with its value and what is
allowed: ``TD`` a positive even integer, ``SW_h``, ``SFO1``, ``BF1``
finite and > 0 (with ``1/SW_h`` finite), ``AQ_mod`` 1 or 3, ``DTYPA`` 0 or
2, ``BYTORDA`` 0 or 1, ``DIGMOD`` an integer ≥ 0, ``DSPFVS`` an integer
≥ −1 (TopSpin writes −1 for data without DSP firmware information, e.g.
converted by ``convdta``), ``DECIM`` finite and > 0, ``GRPDLY`` finite,
the ``SF`` of a procs file used for SR finite and > 0.  ``NC`` (int32
data, ``DTYPA = 0``) and ``NC_proc`` are the scaling exponents (data ×
2**NC); they must be integers in [−100, 100] (``NC_RANGE``): real
spectrometers use a few units, and within this range every nonzero int32
value stays finite and nonzero after scaling, so an extreme exponent can
never turn data into ±inf or silently into zeros.  Our provenance line must be a JSON object of the current
``format`` with fields of the right types (else the file is corrupt).
Data sets that would need more memory than the machine has are refused
before reading, naming the size needed.  Every keyword of the readers is
checked before anything is read (a one-line DataError naming it, its
value and what is allowed).
"""

from __future__ import annotations

import difflib
import json
import math
import os
import re
import shutil
import stat
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from nmrglue.fileio import bruker as ngb

from pulses.errors import DataError
from pulses.fid import FID, stack_fids
from pulses.spectra import Spectrum

__all__ = [
    "DIGITAL_FILTER_MODES", "NC_RANGE", "ORDERS", "PROVENANCE_TAG", "REFERENCE_PPM_LIMIT", "TopSpinSpectrum",
    "group_delay_points", "read_bruker", "read_bruker_processed", "write_bruker",
]

#: Comment tag of the JSON provenance line in acqus.
PROVENANCE_TAG = "$$ pulses-provenance "

#: Allowed scaling exponents NC (acqus, int32 data) and NC_proc (procs).
NC_RANGE = (-100, 100)

_FORMAT = "pulses.bruker/1"
_PROVENANCE_FIELDS = ("format", "dwell_s", "channel", "receiver_phase_deg", "metadata")
_BLOCK = 1024  # bytes: each FID of a fid/ser file starts on such a boundary
_MAX_NAME_BYTES = 200  # longest folder name write_bruker accepts (its temporary siblings add ~30)
_READ_OVERHEAD = 3  # peak memory of a read, in units of the complex128 result
_MAX_COUNT = 2**53  # largest TD, TD1 or SI accepted (a size far beyond any file)


# --------------------------------------------------------------------------
# messages
# --------------------------------------------------------------------------
def _one_line(text: Any, limit: int = 200) -> str:
    """``text`` with control characters replaced and truncated to ``limit``."""
    t = "".join(c if c.isprintable() else " " for c in str(text))
    return t if len(t) <= limit else t[: limit - 1] + "…"


def _short(value: Any, limit: int = 80) -> str:
    """``repr(value)``, one line, truncated if long."""
    try:
        r = repr(value)
    except Exception:  # noqa: BLE001 - a hostile __repr__
        r = f"<{type(value).__name__}>"
    return _one_line(r, limit)


def _p(path: Any) -> str:
    """A path for a message: as is when printable, else its repr."""
    s = str(path)
    if len(s) > 500:
        s = s[:250] + "…" + s[-249:]
    return s if s.isprintable() else repr(s)


def _reason(exc: BaseException) -> str:
    """The OS reason of ``exc`` (without the path, which the message names)."""
    if isinstance(exc, OSError) and exc.strerror:
        return _one_line(exc.strerror)
    return _one_line(exc) or type(exc).__name__


def _as_path(func: str, name: str, value: Any) -> Path:
    """``value`` as a Path, or a DataError naming the argument."""
    allowed = "it must be a path (str or os.PathLike), non-empty and without NUL characters"
    if not isinstance(value, (str, os.PathLike)):
        raise DataError(f"{func}: {name} = {_short(value)} is not allowed: {allowed}")
    try:
        path = Path(value)
        text = os.fspath(value)
    except (TypeError, ValueError):
        raise DataError(f"{func}: {name} = {_short(value)} is not allowed: {allowed}") from None
    if not isinstance(text, str) or not text or "\0" in text:
        raise DataError(f"{func}: {name} = {_short(value)} is not allowed: {allowed}")
    return path


def _is_dir(path: Path) -> bool:
    """``path.is_dir()``, False when the system cannot even look (a name
    too long, a NUL byte, no permission...)."""
    try:
        return path.is_dir()
    except (OSError, ValueError):
        return False


def _is_file(path: Path) -> bool:
    """``path.is_file()``, False when the system cannot look."""
    try:
        return path.is_file()
    except (OSError, ValueError):
        return False


def _exists(path: Path) -> bool:
    """``path.exists()``, False when the system cannot look."""
    try:
        return path.exists()
    except (OSError, ValueError):
        return False


def _is_symlink(path: Path) -> bool:
    """``path.is_symlink()``, False when the system cannot look."""
    try:
        return path.is_symlink()
    except (OSError, ValueError):
        return False


def _memory_limit() -> int | None:
    """Physical memory of this machine in bytes (None when unknown)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):
        return None


def _gib(nbytes: float) -> str:
    return f"{nbytes / 2**30:.3g} GiB"


def _check_memory(nbytes: int, what: str) -> None:
    """Refuse up front to read something needing more than physical memory."""
    limit = _memory_limit()
    if limit is not None and nbytes > limit:
        raise DataError(
            f"{what} would need about {_gib(nbytes)} of memory to read, more than this machine has "
            f"({_gib(limit)}); read it on a larger machine or reduce the data set"
        )


# --------------------------------------------------------------------------
# writing
# --------------------------------------------------------------------------
def _padded_points(n: int, bytes_per_value: int) -> int:
    """Complex points per row once padded to a multiple of 1024 bytes."""
    row_bytes = 2 * n * bytes_per_value
    return -(-row_bytes // _BLOCK) * _BLOCK // (2 * bytes_per_value)


def _core_header(title: str) -> list[str]:
    return [
        f"##TITLE= {title}",
        "##JCAMPDX= 5.0",
        "##DATATYPE= Parameter Values",
        "##ORIGIN= pulses (simulated acquisition)",
        "##OWNER= pulses",
    ]


def _safe_text(value: Any) -> str:
    """``value`` as printable ASCII without the JCAMP string delimiters."""
    return "".join(c if (" " <= c <= "~" and c not in "<>") else "_" for c in str(value)) or "simulated"


def _finite_params(params: dict, keys: tuple[str, ...], source: str) -> None:
    """Every ``params[key]`` must be a finite number > 0 (O1: finite)."""
    for key in keys:
        v = params[key]
        if not math.isfinite(v) or (key != "O1" and not v > 0):
            raise DataError(
                f"write_bruker: {source} gives {key} = {v!r}, which a Bruker parameter file cannot hold: "
                "it must be finite" + ("" if key == "O1" else " and > 0")
            )


def _acqus(fid: FID, provenance: dict | None) -> dict:
    sw_h = 1.0 / fid.dwell_s
    comments = ["$$ written by pulses.bruker.write_bruker: simulated data, no digital filter"]
    if provenance is not None:
        comments.append(PROVENANCE_TAG + json.dumps(provenance, ensure_ascii=True, separators=(",", ":")))
    seq = fid.metadata.get("sequence", "simulated")
    acqus = {
        "_coreheader": _core_header("Parameter file, pulses acqus"),
        "_comments": comments,
        "AQ_mod": 3,
        "BF1": float(fid.bf_mhz),
        "BYTORDA": 0,
        "DECIM": 1,
        "DIGMOD": 0,
        "DS": 0,
        "DSPFVS": 20,
        "DTYPA": 2,
        "DW": 1e6 / (2.0 * sw_h),
        "GRPDLY": 0,
        "NC": 0,
        "NS": 1,
        "NUC1": fid.nucleus,
        "O1": (fid.sfo_mhz - fid.bf_mhz) * 1e6,
        "PULPROG": _safe_text(seq),
        "RG": 1,
        "SFO1": float(fid.sfo_mhz),
        "SW": sw_h / fid.sfo_mhz,
        "SW_h": sw_h,
        "TD": 2 * fid.n_points,
    }
    source = f"FID (dwell_s = {fid.dwell_s!r}, sfo_mhz = {fid.sfo_mhz!r}, bf_mhz = {fid.bf_mhz!r})"
    _finite_params(acqus, ("SW_h", "DW", "SW", "O1"), source)
    if not math.isfinite(1.0 / sw_h):
        raise DataError(
            f"write_bruker: FID.dwell_s = {fid.dwell_s!r} gives SW_h = {sw_h!r}, whose inverse is not finite"
        )
    return acqus


def _acqu2s(fid: FID) -> dict:
    ind = fid.metadata.get("indirect_dwell_s")
    if ind is None:
        sw_h = 1.0 / fid.dwell_s
    else:
        ok = isinstance(ind, (int, float)) and not isinstance(ind, bool) and math.isfinite(ind) and ind > 0
        sw_h = 1.0 / float(ind) if ok and math.isfinite(1.0 / float(ind)) else math.nan
        if not (math.isfinite(sw_h) and sw_h > 0):
            raise DataError(
                f"write_bruker: FID.metadata['indirect_dwell_s'] = {_short(ind)} is not allowed: "
                "it must be a finite number > 0 (the dwell time of the series, s) with a finite inverse"
            )
    a2 = {
        "_coreheader": _core_header("Parameter file, pulses acqu2s"),
        "_comments": ["$$ the rows of the series; SW_h is 1/metadata['indirect_dwell_s'] when given"],
        "BF1": float(fid.bf_mhz),
        "FnMODE": 1,
        "NUC1": fid.nucleus,
        "SFO1": float(fid.sfo_mhz),
        "SW": sw_h / fid.sfo_mhz,
        "SW_h": sw_h,
        "TD": fid.n_rows,
    }
    _finite_params(a2, ("SW_h", "SW"), f"the series (indirect dwell, sfo_mhz = {fid.sfo_mhz!r})")
    return a2


def _temp_pattern(name: str) -> re.Pattern:
    """Names of the temporary siblings write_bruker makes for folder ``name``."""
    return re.compile(r"\." + re.escape(name) + r"\.(new|old)-([0-9]+)-[A-Za-z0-9_]+\.tmp\Z")


#: Temporary folders this process is writing right now (absolute paths).
_IN_PROGRESS: set[str] = set()


def _in_use(path: str, pid: int) -> bool:
    """Whether the temporary folder ``path`` made by process ``pid`` may
    still be in use: this process's own ones only while it writes them (a
    restarted container often reuses the pid of a killed run), another
    process's while that process runs (on POSIX; elsewhere: assumed gone)."""
    if pid == os.getpid():
        return os.path.abspath(path) in _IN_PROGRESS
    if os.name != "posix":
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. EPERM: it runs, as another user
        return True
    return True


def _recover_stale(target: Path) -> None:
    """Clean what a killed write_bruker left beside ``target``.

    Unfinished new data sets are deleted.  An old data set that was moved
    aside for a replacement that never arrived is renamed back to
    ``target`` (the state before the killed call); any other old one was
    already replaced and is deleted.  Only siblings of our own name pattern
    that are no longer in use (:func:`_in_use`) are touched."""
    pattern = _temp_pattern(target.name)
    news, olds = [], []
    try:
        with os.scandir(target.parent) as it:
            for entry in it:
                m = pattern.match(entry.name)
                if m and entry.is_dir(follow_symlinks=False) and not _in_use(entry.path, int(m[2])):
                    (news if m[1] == "new" else olds).append(Path(entry.path))
    except OSError:
        return
    for path in news:
        shutil.rmtree(path, ignore_errors=True)
    if olds and not os.path.lexists(target):

        def changed(q: Path) -> float:
            try:
                return q.lstat().st_ctime
            except OSError:
                return -math.inf

        olds.sort(key=changed)
        newest = olds.pop()
        try:
            os.rename(newest, target)
        except OSError as exc:
            raise DataError(
                f"write_bruker: the previous data set of {_p(target)} is in {_p(newest)} (left by an interrupted "
                f"call) and cannot be restored: {_reason(exc)}; move it back yourself"
            ) from None
    for path in olds:
        shutil.rmtree(path, ignore_errors=True)


def _check_replaceable(target: Path, overwrite: bool) -> bool:
    """Whether ``target`` exists (and may be replaced); a DataError naming
    it when it exists and must not be replaced (module docstring)."""
    try:
        st = os.lstat(target)
    except FileNotFoundError:
        return False
    except (OSError, ValueError) as exc:
        raise DataError(f"write_bruker: cannot write to {_p(target)}: {_reason(exc)}") from None
    if stat.S_ISLNK(st.st_mode):
        raise DataError(f"write_bruker: {_p(target)} is a symbolic link; refusing to replace it, choose another folder")
    if not stat.S_ISDIR(st.st_mode):
        raise DataError(
            f"write_bruker: {_p(target)} exists and is not a folder; refusing to replace it, choose another path"
        )
    try:
        entries = sorted(os.listdir(target))
    except OSError as exc:
        raise DataError(f"write_bruker: {_p(target)} exists and cannot be listed: {_reason(exc)}") from None
    if not entries:
        return True  # an empty folder: nothing is lost
    if not overwrite:
        raise DataError(f"write_bruker: {_p(target)} already exists; pass overwrite=True to replace it")
    if not (_is_file(target / "acqus") and (_is_file(target / "fid") or _is_file(target / "ser"))):
        shown = ", ".join(entries[:5]) + (", …" if len(entries) > 5 else "")
        raise DataError(
            f"write_bruker: {_p(target)} is not a Bruker experiment folder (no acqus with fid or ser; it holds "
            f"{len(entries)} entries: {_one_line(shown)}): overwrite=True only replaces an experiment folder; "
            "nothing was deleted, choose another folder"
        )
    for name in entries:
        sub = target / name
        if not _is_dir(sub):  # a file (or a link to one) of the experiment
            continue
        if name != "pdata" or _is_symlink(sub):
            raise DataError(
                f"write_bruker: {_p(target)} holds the folder {_one_line(name)}/, which write_bruker does not "
                "write; remove it yourself or choose another folder (nothing was deleted)"
            )
        try:
            with os.scandir(sub) as it:
                processed = any(True for _ in it)
        except OSError as exc:
            raise DataError(f"write_bruker: {_p(sub)} cannot be listed: {_reason(exc)}") from None
        if processed:
            raise DataError(
                f"write_bruker: {_p(target)} contains processed data pdata/; remove it yourself or choose "
                "another folder (nothing was deleted)"
            )
    return True


#: Every file a data set of :func:`write_bruker` can hold (1-D: acqu, acqus,
#: pulseprogram, fid; a series adds acqu2, acqu2s and has ser for fid).
WRITTEN_FILES = frozenset({"acqu", "acqus", "acqu2", "acqu2s", "pulseprogram", "fid", "ser"})


def _write_files(fid: FID, provenance: dict, acqus: dict, folder: Path) -> None:
    """The files of the data set, into the (new, empty) ``folder``."""
    ngb.write_jcamp(acqus, str(folder / "acqus"))
    ngb.write_jcamp(acqus, str(folder / "acqu"))
    if fid.is_2d:
        a2 = _acqu2s(fid)
        ngb.write_jcamp(a2, str(folder / "acqu2s"))
        ngb.write_jcamp(a2, str(folder / "acqu2"))
    seq = fid.metadata.get("sequence", "simulated")
    (folder / "pulseprogram").write_text(
        f";{_safe_text(seq)}\n; simulated by the pulses library: no executable pulse program\n", encoding="ascii"
    )
    n = fid.n_points
    npad = _padded_points(n, 8)
    data = np.zeros(fid.data.shape[:-1] + (npad,), dtype=np.complex128)
    data[..., :n] = fid.data
    ngb.write_binary(str(folder / ("ser" if fid.is_2d else "fid")), {}, data, big=False, isfloat=True)


def write_bruker(fid_or_fids: FID | Sequence[FID], directory: str | os.PathLike, overwrite: bool = False) -> Path:
    """Write a simulated acquisition as a Bruker experiment folder.

    Parameters
    ----------
    fid_or_fids : FID or sequence of FID
        A 1-D FID (written as ``fid``), a 2-D series (``ser`` with
        ``acqu2s``), or a list of 1-D FIDs stacked into a series with
        :func:`pulses.fid.stack_fids` (they must share their parameters).
    directory : path
        The experiment folder to create (parents are created).  An existing
        empty folder is written into.
    overwrite : bool
        Any other existing path is refused unless True; then it is replaced
        (never merged into) only if it is recognisably one Bruker
        experiment folder: ``acqus`` with ``fid`` or ``ser``, and no
        sub-folder but an empty ``pdata/``.  A folder with processed data
        (a non-empty ``pdata/``) is refused — processed data are never
        deleted: remove them yourself or choose another folder — and so is
        any other folder, a file or a symbolic link.

    Returns
    -------
    pathlib.Path
        The folder written.  It is built in a temporary sibling folder and
        renamed into place (the old one is renamed aside first and deleted
        last), so a reader never sees a half-written dataset and a failure
        half-way leaves the old one intact.  Leftovers of a killed call are
        cleaned at the next call for the same path (module docstring).

    Raises
    ------
    DataError
        A bad argument, a path that must not be replaced (named), or a path
        that cannot be written (named, with the system's reason).

    The parameters written are listed in the module docstring.
    """
    if isinstance(fid_or_fids, FID):
        fid = fid_or_fids
    elif isinstance(fid_or_fids, (list, tuple)):
        fid = stack_fids(fid_or_fids)
    else:
        raise DataError(f"write_bruker: give an FID or a list of FIDs, got {type(fid_or_fids).__name__}")
    if not isinstance(overwrite, (bool, np.bool_)):
        raise DataError(f"write_bruker: overwrite = {_short(overwrite)} is not allowed: it must be True or False")
    target = _as_path("write_bruker", "directory", directory)
    name = target.name
    if not name or name in (".", ".."):
        raise DataError(
            f"write_bruker: directory = {_p(target)} is not allowed: name the experiment folder itself "
            "(not '/', '.' or a path ending in '..')"
        )
    if len(os.fsencode(name)) > _MAX_NAME_BYTES:
        raise DataError(
            f"write_bruker: the folder name of {_p(target)} has {len(os.fsencode(name))} bytes: "
            f"at most {_MAX_NAME_BYTES} are allowed"
        )
    provenance = {
        "format": _FORMAT,
        "dwell_s": fid.dwell_s,
        "channel": fid.channel,
        "receiver_phase_deg": fid.receiver_phase_deg,
        "metadata": fid.metadata,
    }
    acqus = _acqus(fid, provenance)  # validates the parameters before anything is touched
    if fid.is_2d:
        _acqu2s(fid)
    parent = target.parent
    if _is_dir(parent):
        _recover_stale(target)
    _check_replaceable(target, bool(overwrite))
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except (OSError, ValueError) as exc:
        raise DataError(f"write_bruker: cannot create the parent folder of {_p(target)}: {_reason(exc)}") from None
    if not _is_dir(parent):
        raise DataError(f"write_bruker: the parent of {_p(target)} is not a folder")
    pid = os.getpid()
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{name}.new-{pid}-", suffix=".tmp", dir=parent))
    except (OSError, ValueError) as exc:
        raise DataError(f"write_bruker: cannot write in {_p(parent)}: {_reason(exc)}") from None
    old: Path | None = None
    _IN_PROGRESS.add(os.path.abspath(tmp))
    try:
        _write_files(fid, provenance, acqus, tmp)
        if os.path.lexists(target):
            old = Path(tempfile.mkdtemp(prefix=f".{name}.old-{pid}-", suffix=".tmp", dir=parent))
            _IN_PROGRESS.add(os.path.abspath(old))
            os.rmdir(old)
            os.rename(target, old)
            try:
                os.rename(tmp, target)
            except BaseException:
                try:
                    os.rename(old, target)
                except OSError as exc:
                    raise DataError(
                        f"write_bruker: writing {_p(target)} failed and its previous data set, moved to "
                        f"{_p(old)}, cannot be moved back ({_reason(exc)}): the next call for this path restores "
                        "it, or move it back yourself"
                    ) from None
                raise
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(tmp, target)
    except DataError:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    except (OSError, ValueError) as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise DataError(
            f"write_bruker: writing {_p(target)} failed ({type(exc).__name__}: {_reason(exc)}); "
            "the previous state of the path is unchanged"
        ) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        _IN_PROGRESS.difference_update({os.path.abspath(q) for q in (tmp, old) if q is not None})
    return target


# --------------------------------------------------------------------------
# reading helpers
# --------------------------------------------------------------------------
def _read_params(path: Path, where: Path) -> dict:
    """A JCAMP-DX parameter file through nmrglue, or a DataError naming it."""
    if not _is_file(path):
        raise DataError(f"{path.name} missing in {_p(where)}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            dic = ngb.read_jcamp(str(path))
    except Exception as exc:  # noqa: BLE001 - nmrglue raises assorted errors on garbage
        raise DataError(
            f"{path.name} in {_p(where)} cannot be parsed as a Bruker parameter file: {_one_line(exc)}"
        ) from None
    if not isinstance(dic, dict):
        raise DataError(f"{path.name} in {_p(where)} cannot be parsed as a Bruker parameter file")
    return dic


_MISSING = object()


def _get(dic: dict, key: str, fname: str, where: Path, kind: str, default: Any = _MISSING, lo=None, hi=None):
    """Parameter ``key`` of file ``fname`` as ``kind`` ('pos_int', 'int',
    'pos_float', 'float', 'str'), within [lo, hi] when given, or a DataError
    naming file and key.  ``default`` is returned when the key is absent."""
    if key not in dic:
        if default is not _MISSING:
            return default
        raise DataError(f"{fname} in {_p(where)} lacks {key} (the file is incomplete or corrupt)")
    v = dic[key]
    allowed = _KIND_TEXT[kind]
    if lo is not None and hi is not None:
        allowed += f" in [{lo}, {hi}]"
    elif lo is not None:
        allowed += f" ≥ {lo}"
    elif hi is not None:
        allowed += f" ≤ {hi}"
    bad = DataError(f"{fname} in {_p(where)} has {key} = {_short(v)}: {allowed} is required")
    if kind == "str":
        if not isinstance(v, str) or not v:
            raise bad
        return v
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise bad
    if kind in ("pos_int", "int"):
        if isinstance(v, float):
            if not v.is_integer():  # also inf and nan
                raise bad
            v = int(v)
        if kind == "pos_int" and v < 1:
            raise bad
    else:
        try:
            v = float(v)
        except OverflowError:
            raise bad from None
        if not math.isfinite(v) or (kind == "pos_float" and not v > 0):
            raise bad
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        raise bad
    return v


_KIND_TEXT = {
    "pos_int": "a positive integer",
    "int": "an integer",
    "pos_float": "a finite positive number",
    "float": "a finite number",
    "str": "a non-empty string",
}


def _check_filter_params(acqus: dict, fname: str, where: Any) -> None:
    """DIGMOD, DSPFVS, DECIM and GRPDLY, when present and set, have sane
    values: an integer ≥ 0, an integer ≥ −1 (TopSpin writes −1 for data
    without DSP firmware information, e.g. converted by ``convdta``), a
    finite number > 0, a finite number."""
    for key, kind, lo in (("DIGMOD", "int", 0), ("DSPFVS", "int", -1), ("DECIM", "pos_float", None),
                          ("GRPDLY", "float", None)):
        if acqus.get(key) is not None:
            _get(acqus, key, fname, where, kind, lo=lo)


def group_delay_points(acqus: dict) -> float:
    """The digital-filter group delay (points) of an acqus dictionary, by the
    rule of the module docstring (0.0 when there is none).

    Raises DataError naming the parameter when DIGMOD, DSPFVS, DECIM or
    GRPDLY has an impossible value (non-finite, negative, not a number)."""
    if not isinstance(acqus, dict):
        raise DataError(
            f"group_delay_points: acqus = {_short(acqus)} is not allowed: it must be the dict of an acqus file"
        )
    _check_filter_params(acqus, "acqus", "the given parameters")
    if acqus.get("DIGMOD") == 0:
        return 0.0
    grpdly = acqus.get("GRPDLY")
    if grpdly is not None and grpdly > 0:
        return float(grpdly)
    dspfvs = acqus.get("DSPFVS")
    if isinstance(dspfvs, float):
        dspfvs = int(dspfvs)
    if isinstance(dspfvs, int) and dspfvs in ngb.bruker_dsp_table:
        decim = acqus.get("DECIM")
        if isinstance(decim, float) and decim.is_integer():
            decim = int(decim)
        table = ngb.bruker_dsp_table[dspfvs]
        if decim not in table:
            raise DataError(
                f"acqus has DECIM = {_short(decim)} with DSPFVS = {dspfvs}: the group delay is unknown "
                f"(DECIM must be one of {sorted(table)})"
            )
        return float(table[decim])
    return 0.0


def _remove_group_delay(raw: np.ndarray, delay: float) -> np.ndarray:
    """Fractional part first, as an exact frequency-domain (circular) time
    shift of the band-limited raw data; then the integer part by nmrglue
    (shift, fold the pre-signal points, drop floor(delay) + 2 end points)."""
    whole = math.floor(delay)
    frac = delay - whole
    out = raw.astype(np.complex128)
    if frac > 0:
        f = np.fft.fftfreq(out.shape[-1])
        out = np.fft.ifft(np.fft.fft(out, axis=-1) * np.exp(2j * np.pi * f * frac), axis=-1)
    if whole > 0:
        dic = {"acqus": {"DECIM": 1, "DSPFVS": 20, "GRPDLY": float(whole)}}
        out = ngb.remove_digital_filter(dic, out)
    return out


def _read_raw(path: Path, where: Path, td: int, rows: int | None, isfloat: bool, big: bool) -> np.ndarray:
    """The complex rows of a fid (rows=None) or ser file, checked against TD."""
    if not _is_file(path):
        raise DataError(f"{path.name} missing in {_p(where)}")
    bpv = 8 if isfloat else 4
    dtype = "float64" if isfloat else "int32"
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise DataError(f"{path.name} in {_p(where)} cannot be read: {_reason(exc)}") from None
    n = td // 2
    npad = _padded_points(n, bpv)
    if rows is None:
        exact, padded = td * bpv, 2 * npad * bpv
        if size not in (exact, padded):
            also = "" if padded == exact else f" (or {padded} padded to 1024-byte blocks)"
            raise DataError(
                f"{path.name} in {_p(where)} has {size} bytes, expected {exact}{also} for TD={td} ({dtype})"
            )
        shape = (size // (2 * bpv),)
    else:
        expected = rows * 2 * npad * bpv
        if size != expected:
            raise DataError(
                f"{path.name} in {_p(where)} has {size} bytes, expected {expected} for {rows} rows of TD={td} "
                f"({dtype}, rows padded to 1024-byte blocks)"
            )
        shape = (rows, npad)
    _check_memory(_READ_OVERHEAD * 16 * math.prod(shape), f"{path.name} in {_p(where)} ({shape} complex points)")
    try:
        _, data = ngb.read_binary(str(path), shape=shape, cplex=True, big=big, isfloat=isfloat)
    except Exception as exc:  # noqa: BLE001 - any nmrglue failure is a corrupt file
        raise DataError(f"{path.name} in {_p(where)} cannot be read: {_one_line(exc)}") from None
    data = np.asarray(data, dtype=np.complex128)[..., :n]
    if not np.all(np.isfinite(data)):
        raise DataError(f"{path.name} in {_p(where)} holds NaN or infinite values")
    return data


def _provenance(acqus: dict, where: Path) -> dict | None:
    """Our provenance line of ``acqus``, checked, or None when there is none."""
    comments = acqus.get("_comments", [])
    for line in comments if isinstance(comments, list) else []:
        if not (isinstance(line, str) and line.startswith(PROVENANCE_TAG)):
            continue
        text = line[len(PROVENANCE_TAG):]
        head = f"acqus in {_p(where)} has a corrupt provenance line ({PROVENANCE_TAG.strip()})"
        try:
            p = json.loads(text)
        except (ValueError, RecursionError) as exc:
            raise DataError(f"{head}: {_short(text)} is not valid JSON ({_one_line(exc, 80)})") from None
        if not isinstance(p, dict):
            raise DataError(f"{head}: provenance = {_short(p)}: a JSON object is required")
        unknown = sorted(set(p) - set(_PROVENANCE_FIELDS))
        missing = [k for k in _PROVENANCE_FIELDS if k not in p]
        if unknown or missing:
            raise DataError(
                f"{head}: provenance fields {_short(sorted(p))}: exactly {list(_PROVENANCE_FIELDS)} are required"
            )
        if p["format"] != _FORMAT:
            raise DataError(f"{head}: provenance.format = {_short(p['format'])}: {_FORMAT!r} is required")
        checks = {
            "dwell_s": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v > 0,
            "channel": lambda v: isinstance(v, str),
            "receiver_phase_deg": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)
            and math.isfinite(v),
            "metadata": lambda v: isinstance(v, dict),
        }
        allowed = {
            "dwell_s": "a finite number > 0",
            "channel": "a string",
            "receiver_phase_deg": "a finite number",
            "metadata": "a JSON object",
        }
        for key, ok in checks.items():
            if not ok(p[key]):
                raise DataError(f"{head}: provenance.{key} = {_short(p[key])}: {allowed[key]} is required")
        return p
    return None


#: Where read_bruker / read_bruker_processed take each field of FID / Spectrum.
_ORIGIN = {
    "data": "the fid/ser file",
    "values": "the 1r/1i files",
    "hz": "procs SF, OFFSET, SW_p, SI",
    "dwell_s": "acqus SW_h",
    "sfo_mhz": "acqus SFO1 (or procs SF)",
    "bf_mhz": "acqus BF1 (or procs SF)",
    "nucleus": "acqus NUC1 (or procs AXNUC)",
    "channel": "the provenance line of acqus",
    "receiver_phase_deg": "the provenance line of acqus",
    "metadata": "the provenance line of acqus",
}


def _build(cls, where: Any, **fields):
    """``cls(**fields)``, a DataError naming the folder and the file
    parameter the bad field comes from."""
    try:
        return cls(**fields)
    except DataError as exc:
        text = _one_line(exc, 300)
        origin = [src for name, src in _ORIGIN.items() if f"{cls.__name__}.{name}" in text]
        came = f" (from {origin[0]})" if origin else ""
        raise DataError(f"the data set in {_p(where)} is not valid{came}: {text}") from None


# --------------------------------------------------------------------------
# reading options (validated before anything is read)
# --------------------------------------------------------------------------
def _choice(func: str, name: str, value: Any, allowed: tuple[str, ...]) -> str:
    """``value`` if it is one of the strings ``allowed``, else a DataError
    naming ``func.name`` that suggests the closest allowed value."""
    if isinstance(value, str) and value in allowed:
        return value
    hint = ""
    if isinstance(value, str):
        close = difflib.get_close_matches(value.lower(), allowed, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
    listed = ", ".join(repr(a) for a in allowed)
    raise DataError(f"{func}.{name} = {_short(value)} is not allowed: {hint}use one of {listed}")


def _flag(func: str, name: str, value: Any) -> bool:
    """``value`` if it is a bool (or numpy bool), else a DataError."""
    if not isinstance(value, (bool, np.bool_)):
        raise DataError(f"{func}.{name} = {_short(value)} is not allowed: it must be True or False")
    return bool(value)


def _real(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def _sr_option(func: str, value: Any) -> str | float:
    """``sr_hz``: the string "procs" or a finite number of Hz."""
    allowed = "it must be 'procs' (TopSpin's SR from procs) or a finite number of Hz (SR = SF − BF1)"
    if isinstance(value, str):
        if value == "procs":
            return value
        close = difflib.get_close_matches(value.lower(), ("procs",), n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise DataError(f"{func}.sr_hz = {_short(value)} is not allowed: {hint}{allowed}")
    if not _real(value):
        raise DataError(f"{func}.sr_hz = {_short(value)} is not allowed: {allowed}")
    try:
        v = float(value)
    except OverflowError:
        raise DataError(
            f"{func}.sr_hz = {_short(value)} is not allowed: it is too large for a float; {allowed}"
        ) from None
    if not math.isfinite(v):
        raise DataError(f"{func}.sr_hz = {_short(value)} is not allowed: {allowed}")
    return v


#: Largest |ppm| accepted in ``reference`` (every chemical-shift range is far inside).
REFERENCE_PPM_LIMIT = 1e5


def _reference_option(func: str, value: Any) -> tuple[float, float] | None:
    """``reference``: None or a pair (observed_ppm, true_ppm) of finite numbers."""
    if value is None:
        return None
    allowed = (
        f"give None or a pair (observed_ppm, true_ppm) of finite numbers with |ppm| ≤ {REFERENCE_PPM_LIMIT:g}"
    )
    if isinstance(value, np.ndarray):
        ok = value.ndim == 1 and value.size == 2
        items = value.tolist() if ok else []
    else:
        ok = isinstance(value, (list, tuple)) and len(value) == 2
        items = list(value) if ok else []
    if not ok:
        raise DataError(f"{func}.reference = {_short(value)} is not allowed: {allowed}")
    pair = []
    for label, x in zip(("observed_ppm", "true_ppm"), items):
        try:
            v = float(x) if _real(x) else math.nan
        except OverflowError:
            v = math.nan
        if not (math.isfinite(v) and abs(v) <= REFERENCE_PPM_LIMIT):
            raise DataError(f"{func}.reference = {_short(value)} is not allowed: {label} = {_short(x)}; {allowed}")
        pair.append(v)
    return pair[0], pair[1]


def _procno_option(func: str, value: Any, optional: bool) -> int | None:
    if value is None and optional:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < 1:
        extra = " (or None: pdata/1 when it exists)" if optional else ""
        raise DataError(f"{func}.procno = {_short(value)} is not allowed: it must be an integer ≥ 1{extra}")
    return int(value)


# --------------------------------------------------------------------------
# referencing, scaling and acquisition metadata
# --------------------------------------------------------------------------
def _procs_sf(d: Path, procno: int | None) -> tuple[float | None, str | None]:
    """SF of ``pdata/<procno>/procs`` (procno None: pdata/1 when present)
    and its path relative to ``d``; (None, None) when there is none."""
    number = 1 if procno is None else procno
    pdir = d / "pdata" / str(number)
    rel = f"pdata/{number}/procs"
    if not _is_file(pdir / "procs"):
        if procno is None:
            return None, None
        raise DataError(
            f"{rel} missing in {_p(d)} (procno = {number} was asked for the spectrum reference SR; "
            "pass sr_hz=0.0 to read without it)"
        )
    procs = _read_params(pdir / "procs", pdir)
    try:
        sf = _get(procs, "SF", "procs", pdir, "pos_float")
    except DataError as exc:
        raise DataError(
            f"{_one_line(exc, 300)} (it gives the spectrum reference SR; pass sr_hz=0.0 to read without it)"
        ) from None
    return sf, rel


def _apply_reference(func: str, where: Any, sf: float, reference: tuple[float, float] | None) -> float:
    """The 0-ppm frequency that puts the peak seen at ``observed_ppm`` (on the
    axis of ``sf``) at ``true_ppm``: sf · (1 + observed·1e-6) / (1 + true·1e-6)."""
    if reference is None:
        return sf
    obs, true = reference
    new = sf * (1.0 + obs * 1e-6) / (1.0 + true * 1e-6)
    if not (math.isfinite(new) and new > 0):
        raise DataError(
            f"{func}.reference = {_short(reference)} is not allowed for the data set in {_p(where)}: "
            f"it gives a 0-ppm frequency of {new!r} MHz"
        )
    return new


def _sr_from_hz(func: str, where: Any, bf1: float, sr_hz: float) -> float:
    sf = bf1 + sr_hz * 1e-6
    if not (math.isfinite(sf) and sf > 0):
        raise DataError(
            f"{func}.sr_hz = {sr_hz!r} is not allowed for the data set in {_p(where)}: BF1 + SR = {sf!r} MHz "
            f"(BF1 = {bf1!r} MHz) must be > 0"
        )
    return sf


def _referencing_info(bf1: float | None, sf: float, source: str, procs: str | None,
                      reference: tuple[float, float] | None) -> dict:
    """The referencing record of the metadata (docs/bruker.md)."""
    sr = None if bf1 is None else (sf - bf1) * 1e6
    return {
        "sr_applied": source in ("procs", "sr_hz"),
        "source": source,
        "SR_hz": sr,
        "SF_mhz": sf,
        "BF1_mhz": bf1,
        "procs": procs,
        "reference": None if reference is None else {"observed_ppm": reference[0], "true_ppm": reference[1]},
    }


def _scaling_info(exponent_name: str, nc: int | None, scale_nc: bool) -> dict:
    """Both scaling conventions of int32 data: the factor applied and the
    factors that turn the values returned into nmrglue's and into
    TopSpin's 2**NC-normalised ones."""
    full = 1.0 if nc is None else 2.0**nc
    applied = full if scale_nc else 1.0
    return {
        exponent_name: nc,
        "scale_nc": scale_nc,
        "factor_applied": applied,
        "to_file_values": 1.0 / applied,
        "to_2nc_values": full / applied,
    }


def _param_entry(acqus: dict, key: str, index: int | None = None, text: bool = False):
    """A finite number of acqus (a non-empty string when ``text``), element
    ``index`` of an array parameter; None when absent or unusable."""
    v = acqus.get(key)
    if index is not None:
        v = v[index] if isinstance(v, list) and len(v) > index else None
    if text:
        return _one_line(v, 100) if isinstance(v, str) and v else None
    if isinstance(v, str):
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    try:
        f = float(v)
    except OverflowError:
        return None
    if not math.isfinite(f):
        return None
    return int(v) if isinstance(v, int) and abs(v) < 2**53 else f


def _acquisition_info(acqus: dict) -> dict:
    """What a fit needs from acqus: pulse program, scans, receiver gain,
    pre-scan delay, the 90° pulse P1 and its power (PL1 in dB on older
    consoles, PLW1 in W on newer ones; −1 means unset and is returned as None)."""
    plw1 = _param_entry(acqus, "PLW", 1)
    if isinstance(plw1, (int, float)) and plw1 < 0:
        plw1 = None
    return {
        "PULPROG": _param_entry(acqus, "PULPROG", text=True),
        "NS": _param_entry(acqus, "NS"),
        "RG": _param_entry(acqus, "RG"),
        "DE_us": _param_entry(acqus, "DE"),
        "P1_us": _param_entry(acqus, "P", 1),
        "PL1_dB": _param_entry(acqus, "PL", 1),
        "PLW1_W": plw1,
    }


def _nmrglue_filter(acqus: dict, raw: np.ndarray, where: Path) -> np.ndarray:
    """nmrglue's ``remove_digital_filter(dic, data)``, exactly (its defaults)."""
    try:
        dic = {"acqus": {k: acqus[k] for k in ("DECIM", "DSPFVS", "GRPDLY") if k in acqus}}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = ngb.remove_digital_filter(dic, raw)
    except Exception as exc:  # noqa: BLE001 - nmrglue raises ValueError/KeyError on what it cannot handle
        raise DataError(
            f"read_bruker.digital_filter = 'nmrglue' cannot be applied to the data set in {_p(where)}: "
            f"nmrglue says {_one_line(exc, 120)} (acqus DECIM = {_short(acqus.get('DECIM'))}, "
            f"DSPFVS = {_short(acqus.get('DSPFVS'))}, GRPDLY = {_short(acqus.get('GRPDLY'))})"
        ) from None
    if out.shape[-1] < 1:
        raise DataError(
            f"the data of {_p(where)} have {raw.shape[-1]} points per row, too few for nmrglue's filter removal"
        )
    return np.asarray(out, dtype=np.complex128)


# --------------------------------------------------------------------------
# reading
# --------------------------------------------------------------------------
#: Values of ``read_bruker(..., digital_filter=...)``.
DIGITAL_FILTER_MODES = ("remove", "keep", "nmrglue")

#: Values of ``read_bruker_processed(..., order=...)``.
ORDERS = ("ascending", "topspin")


def read_bruker(
    directory: str | os.PathLike,
    *,
    procno: int | None = None,
    sr_hz: str | float = "procs",
    reference: tuple[float, float] | None = None,
    digital_filter: str = "remove",
    scale_nc: bool = True,
) -> FID:
    """Read a Bruker experiment folder (``fid`` or ``ser``) into an FID.

    ``sfo_mhz`` = SFO1, ``dwell_s`` = 1/SW_h (the exact written value for
    our own datasets), ``nucleus`` = NUC1, and ``bf_mhz`` — the frequency
    of 0 ppm — is TopSpin's ``SF = BF1 + SR`` (see ``sr_hz``).  ``ser``
    with ``acqu2s`` gives a (TD1, TD/2) series.  Every convention and its
    nmrglue and TopSpin counterparts: ``docs/bruker.md``.

    Parameters
    ----------
    directory : path
        The experiment folder.
    procno : int or None
        Which ``pdata/<procno>/procs`` gives SR when ``sr_hz="procs"``.
        None (default): ``pdata/1`` when it exists (no SR otherwise); an
        integer ≥ 1: that procs must exist.
    sr_hz : "procs" or float
        Spectrum reference.  ``"procs"`` (default): TopSpin's, from the
        procs file, so that the ppm axis is TopSpin's; without a procs file
        0 ppm stays at BF1 and the metadata says SR was unavailable.  A
        number: SR in Hz (0.0 gives nmrglue's and the raw acqus' BF1 axis).
    reference : (observed_ppm, true_ppm) or None
        Re-reference so that a peak seen at ``observed_ppm`` on the axis
        ``sr_hz`` gives is at ``true_ppm`` (TopSpin's calibration); |ppm| ≤
        1e5.  The resulting SR is in the metadata.
    digital_filter : {"remove", "keep", "nmrglue"}
        ``"remove"`` (default): the group delay is removed by the rule of
        the module docstring (the FID starts at t = 0 and has
        ``TD/2 − floor(d) − 2`` points).  ``"keep"``: the raw points, all
        ``TD/2`` of them (nmrglue's ``bruker.read`` without its block
        padding; TopSpin corrects the delay after the FT, docs/bruker.md).
        ``"nmrglue"``: exactly ``nmrglue.bruker.remove_digital_filter``
        (which truncates the delay to an integer and ignores DIGMOD).
    scale_nc : bool
        int32 data (``DTYPA = 0``): True (default) multiplies them by
        ``2**NC``, TopSpin's normalisation (a processed ``1r`` scaled by
        ``2**NC_proc`` is on this scale); False gives the integers of the
        file, as nmrglue does.  Float data are never scaled.

    Returns
    -------
    FID
        Spectrometer data get ``metadata = {"source": folder, "bruker":
        {...}}`` with PULPROG, NS, RG, DE_us, P1_us, PL1_dB, PLW1_W, TD,
        the group delay, the points dropped, the filter mode, ``scaling``
        (both conventions' factors) and ``referencing`` (whether SR was
        applied, its value and source).  Datasets written by
        :func:`write_bruker` get back their channel, receiver phase and
        metadata unchanged (the round trip is lossless); only when the
        read changes what was written (an SR, a reference, nmrglue's
        filter removal) is ``metadata["bruker_read"]`` added, with the same
        ``referencing`` and ``digital_filter`` records.

    Raises
    ------
    DataError
        A bad argument (named, with what is allowed), a missing or corrupt
        file (named), a parameter out of its allowed range (named, module
        docstring), a corrupt provenance line, an unsupported acquisition
        mode, data type or dimensionality, or a data set too large for this
        machine's memory.
    """
    func = "read_bruker"
    d = _as_path(func, "directory", directory)
    procno = _procno_option(func, procno, optional=True)
    sr_opt = _sr_option(func, sr_hz)
    ref = _reference_option(func, reference)
    mode = _choice(func, "digital_filter", digital_filter, DIGITAL_FILTER_MODES)
    scale_nc = _flag(func, "scale_nc", scale_nc)
    if not _is_dir(d):
        raise DataError(f"{_p(d)} is not a folder (a Bruker experiment folder holds acqus and fid or ser)")
    acqus = _read_params(d / "acqus", d)
    if _exists(d / "acqu3s"):
        raise DataError(f"{_p(d)} holds a 3-D (or higher) dataset (acqu3s): only fid and 2-D ser are supported")
    two_d = _is_file(d / "ser") and not _is_file(d / "fid")
    if two_d and not _is_file(d / "acqu2s"):
        raise DataError(f"acqu2s missing in {_p(d)} (needed to read its ser file)")
    if not two_d and not _is_file(d / "fid"):
        raise DataError(f"fid missing in {_p(d)} (and no ser)")

    td = _get(acqus, "TD", "acqus", d, "pos_int", hi=_MAX_COUNT)
    if td % 2:
        raise DataError(f"acqus in {_p(d)} has TD = {td}: an even number (real and imaginary values) is required")
    sw_h = _get(acqus, "SW_h", "acqus", d, "pos_float")
    dwell = 1.0 / sw_h
    if not math.isfinite(dwell):
        raise DataError(f"acqus in {_p(d)} has SW_h = {sw_h!r}: its inverse (the dwell time) is not finite")
    sfo = _get(acqus, "SFO1", "acqus", d, "pos_float")
    bf = _get(acqus, "BF1", "acqus", d, "pos_float")
    nucleus = _get(acqus, "NUC1", "acqus", d, "str")
    aq_mod = acqus.get("AQ_mod", 3)
    if aq_mod not in (1, 3) or isinstance(aq_mod, bool):
        raise DataError(
            f"acqus in {_p(d)} has AQ_mod = {_short(aq_mod)}: only complex (simultaneous) detection, 1 (qsim) or "
            "3 (DQD), is supported"
        )
    dtypa = acqus.get("DTYPA", 0)
    if dtypa not in (0, 2) or isinstance(dtypa, bool):
        raise DataError(f"acqus in {_p(d)} has DTYPA = {_short(dtypa)}: 0 (int32) or 2 (float64) is required")
    bytorda = acqus.get("BYTORDA", 0)
    if bytorda not in (0, 1) or isinstance(bytorda, bool):
        raise DataError(
            f"acqus in {_p(d)} has BYTORDA = {_short(bytorda)}: 0 (little endian) or 1 (big endian) is required"
        )
    nc = _get(acqus, "NC", "acqus", d, "int", 0, *NC_RANGE) if dtypa == 0 else None
    _check_filter_params(acqus, "acqus", d)
    delay = group_delay_points(acqus)

    # referencing: the 0-ppm frequency SF = BF1 + SR, then the user's reference
    if sr_opt == "procs":
        sf, procs_rel = _procs_sf(d, procno)
        source = "procs" if sf is not None else "unavailable"
        sf = bf if sf is None else sf
    else:
        sf, procs_rel, source = _sr_from_hz(func, d, bf, sr_opt), None, "sr_hz"
    zero_ppm = _apply_reference(func, d, sf, ref)
    referencing = _referencing_info(bf, zero_ppm, source, procs_rel, ref)

    rows = None
    if two_d:
        acqu2s = _read_params(d / "acqu2s", d)
        rows = _get(acqu2s, "TD", "acqu2s", d, "pos_int", hi=_MAX_COUNT)
    raw = _read_raw(d / ("ser" if two_d else "fid"), d, td, rows, isfloat=dtypa == 2, big=bytorda == 1)
    if nc and scale_nc:
        raw = raw * 2.0**nc  # |NC| ≤ 100: int32 values stay finite and nonzero
    n_raw = raw.shape[-1]
    if mode == "keep" or (mode == "remove" and delay <= 0):
        data = raw
    elif mode == "remove":
        if math.floor(delay) + 2 >= n_raw:
            raise DataError(
                f"fid in {_p(d)} has {n_raw} points, too few for its group delay of {delay:g} points (GRPDLY)"
            )
        data = _remove_group_delay(raw, delay)
    else:
        data = _nmrglue_filter(acqus, raw, d)
    if not np.all(np.isfinite(data)):
        raise DataError(f"the data of {_p(d)} are not finite after scaling by 2**NC (NC = {nc})")
    filter_record = {
        "mode": mode,
        "group_delay_points": delay,
        "points_dropped": n_raw - data.shape[-1],
    }

    prov = _provenance(acqus, d)
    if prov is not None:
        p_dwell = prov["dwell_s"]
        if abs(p_dwell * sw_h - 1.0) < 1e-12:
            dwell = float(p_dwell)
        metadata = prov["metadata"]
        if zero_ppm != bf or mode == "nmrglue":
            metadata = dict(metadata, bruker_read={"referencing": referencing, "digital_filter": filter_record})
        return _build(
            FID,
            d,
            data=data,
            dwell_s=dwell,
            sfo_mhz=sfo,
            bf_mhz=zero_ppm,
            nucleus=nucleus,
            channel=prov["channel"],
            receiver_phase_deg=float(prov["receiver_phase_deg"]),
            metadata=metadata,
        )
    info = _acquisition_info(acqus)
    info.update(
        {
            "TD": td,
            "group_delay_points": delay,
            "points_dropped": filter_record["points_dropped"],
            "digital_filter": mode,
            "scaling": _scaling_info("NC", nc, scale_nc),
            "referencing": referencing,
        }
    )
    return _build(
        FID,
        d,
        data=data,
        dwell_s=dwell,
        sfo_mhz=sfo,
        bf_mhz=zero_ppm,
        nucleus=nucleus,
        metadata={"source": str(d), "bruker": info},
    )


def read_bruker_processed(
    directory: str | os.PathLike,
    procno: int = 1,
    *,
    sr_hz: str | float = "procs",
    reference: tuple[float, float] | None = None,
    order: str = "ascending",
    scale_nc: bool = True,
) -> Spectrum | TopSpinSpectrum:
    """Read a processed 1-D spectrum (``pdata/<procno>/1r`` and ``1i``).

    The axes come from ``procs``: point i of ``1r`` is at
    ``OFFSET − i · SW_p / (SF · SI)`` ppm, on TopSpin's referenced axis
    (SF = BF1 + SR is the 0-ppm frequency and becomes ``bf_mhz``); the
    carrier ``sfo_mhz`` is SFO1 of the experiment's ``acqus`` when present
    (else SF).  Values are in the file's arbitrary units (not the amplitude
    convention of :func:`pulses.spectra.fft`); ``1i`` missing gives a zero
    imaginary part.  ``dwell_s`` and ``n_acquired`` are left unset, so line
    fits use the continuous lineshapes.  Conventions side by side with
    nmrglue's and TopSpin's: ``docs/bruker.md``.

    Parameters
    ----------
    directory : path
        The experiment folder (holding ``pdata``).
    procno : int
        Processing number (``pdata/<procno>``), an integer ≥ 1.
    sr_hz : "procs" or float
        ``"procs"`` (default): TopSpin's axis (SR = SF − BF1 of procs and
        acqus, recorded in the metadata).  A number: SR in Hz, the axis
        re-referenced to 0 ppm at BF1 + sr_hz (needs ``acqus``; 0.0 puts
        0 ppm at BF1).
    reference : (observed_ppm, true_ppm) or None
        Re-reference so that a peak seen at ``observed_ppm`` (on the axis
        ``sr_hz`` gives) is at ``true_ppm``; |ppm| ≤ 1e5.
    order : {"ascending", "topspin"}
        ``"ascending"`` (default): a :class:`~pulses.spectra.Spectrum`
        (ascending axes: index ``n − 1 − i`` is point i of ``1r``).
        ``"topspin"``: a :class:`TopSpinSpectrum`, descending ppm, whose
        index i is point i of ``1r`` and of nmrglue's ``read_pdata`` array.
    scale_nc : bool
        True (default, like nmrglue's ``read_pdata``): int32 values times
        ``2**NC_proc`` (NC_proc an integer in ``NC_RANGE``); False: the
        integers of the files.  The metadata holds both factors.

    Raises
    ------
    DataError
        A bad argument, a missing or corrupt file (named), a procs value out
        of its allowed range (SF, SW_p finite > 0, OFFSET finite, SI a
        positive integer, DTYPP 0 or 2, BYTORDP 0 or 1, NC_proc in
        NC_RANGE), non-finite values or axes, a numeric ``sr_hz`` without
        ``acqus``, or a spectrum too large for this machine's memory.
    """
    func = "read_bruker_processed"
    d = _as_path(func, "directory", directory)
    procno = _procno_option(func, procno, optional=False)
    sr_opt = _sr_option(func, sr_hz)
    ref = _reference_option(func, reference)
    order = _choice(func, "order", order, ORDERS)
    scale_nc = _flag(func, "scale_nc", scale_nc)
    if not _is_dir(d):
        raise DataError(f"{_p(d)} is not a folder (a Bruker experiment folder holds pdata/<procno>)")
    pdir = d / "pdata" / str(procno)
    if not _is_dir(pdir):
        raise DataError(f"pdata/{procno} missing in {_p(d)}")
    if not _is_file(pdir / "1r") and _is_file(pdir / "2rr"):
        raise DataError(f"{_p(pdir)} holds a 2-D processed spectrum (2rr): only 1-D (1r, 1i) is supported")
    procs = _read_params(pdir / "procs", pdir)
    sf = _get(procs, "SF", "procs", pdir, "pos_float")
    offset = _get(procs, "OFFSET", "procs", pdir, "float")
    sw_p = _get(procs, "SW_p", "procs", pdir, "pos_float")
    si = _get(procs, "SI", "procs", pdir, "pos_int", hi=_MAX_COUNT)
    dtypp = procs.get("DTYPP", 0)
    if dtypp not in (0, 2) or isinstance(dtypp, bool):
        raise DataError(f"procs in {_p(pdir)} has DTYPP = {_short(dtypp)}: 0 (int32) or 2 (float64) is required")
    bytordp = procs.get("BYTORDP", 0)
    if bytordp not in (0, 1) or isinstance(bytordp, bool):
        raise DataError(
            f"procs in {_p(pdir)} has BYTORDP = {_short(bytordp)}: 0 (little endian) or 1 (big endian) is required"
        )
    nc = _get(procs, "NC_proc", "procs", pdir, "int", 0, *NC_RANGE)
    scale = 2.0**nc if scale_nc else 1.0
    step = sw_p / (sf * si)
    if not (math.isfinite(step) and step > 0 and math.isfinite(offset - si * step)):
        raise DataError(
            f"procs in {_p(pdir)} has SW_p = {sw_p!r}, SF = {sf!r}, SI = {si}, OFFSET = {offset!r}: the ppm axis "
            "they define is not finite and ascending"
        )
    bpv = 8 if dtypp == 2 else 4
    if not _is_file(pdir / "1r"):
        raise DataError(f"1r missing in {_p(pdir)}")
    _check_memory(6 * 16 * si, f"1r/1i in {_p(pdir)} (SI = {si})")
    acqus = _read_params(d / "acqus", d) if _is_file(d / "acqus") else None
    bf1 = None if acqus is None else _get(acqus, "BF1", "acqus", d, "pos_float", None)
    if sr_opt != "procs" and bf1 is None:
        why = "acqus is missing" if acqus is None else "acqus has no BF1"
        raise DataError(
            f"{func}.sr_hz = {sr_opt!r} needs BF1, but {why} in {_p(d)}: use sr_hz='procs' "
            "(the axis of procs) or a reference=(observed_ppm, true_ppm)"
        )
    parts = []
    for name in ("1r", "1i"):
        path = pdir / name
        if not _is_file(path):
            parts.append(np.zeros(si))
            continue
        try:
            size = path.stat().st_size
        except OSError as exc:
            raise DataError(f"{name} in {_p(pdir)} cannot be read: {_reason(exc)}") from None
        if size != si * bpv:
            raise DataError(
                f"{name} in {_p(pdir)} has {size} bytes, expected {si * bpv} for SI={si} "
                f"({'float64' if dtypp == 2 else 'int32'})"
            )
        try:
            _, v = ngb.read_binary(str(path), shape=(si,), cplex=False, big=bytordp == 1, isfloat=dtypp == 2)
        except Exception as exc:  # noqa: BLE001 - any nmrglue failure is a corrupt file
            raise DataError(f"{name} in {_p(pdir)} cannot be read: {_one_line(exc)}") from None
        with np.errstate(over="ignore", invalid="ignore"):
            v = np.asarray(v, dtype=np.float64) * scale
        if not np.all(np.isfinite(v)):
            raise DataError(
                f"{name} in {_p(pdir)} holds NaN or infinite values (after scaling by 2**NC_proc, NC_proc = {nc})"
            )
        parts.append(v)
    values = (parts[0] + 1j * parts[1])[::-1]
    ppm = (offset - np.arange(si) * step)[::-1]
    sfo, nucleus = sf, procs.get("AXNUC")
    if acqus is not None:
        sfo = _get(acqus, "SFO1", "acqus", d, "pos_float")
        nucleus = _get(acqus, "NUC1", "acqus", d, "str")
    if not isinstance(nucleus, str) or not nucleus:
        raise DataError(f"the nucleus of {_p(pdir)} is unknown: acqus (NUC1) is missing and procs has no AXNUC")
    carrier_ppm = (sfo - sf) / sf * 1e6
    with np.errstate(over="ignore", invalid="ignore"):
        hz = (ppm - carrier_ppm) * sf
    if not (math.isfinite(carrier_ppm) and np.all(np.isfinite(hz))):
        raise DataError(
            f"the frequency axis of {_p(pdir)} is not finite: SF = {sf!r} (procs), SFO1 = {sfo!r}, "
            f"OFFSET = {offset!r}, SW_p = {sw_p!r}"
        )
    # referencing: the frequencies (hz) are fixed by the data; only the 0-ppm frequency moves
    if sr_opt == "procs":
        base, source = sf, "procs"
    else:
        base, source = _sr_from_hz(func, d, bf1, sr_opt), "sr_hz"
    zero_ppm = _apply_reference(func, pdir, base, ref)
    info = {"SI": si, "SW_p": sw_p, "OFFSET": offset, "NC_proc": nc, "order": order}
    for key in ("PHC0", "PHC1", "LB", "GB", "WDW", "FCOR"):
        info[key] = _param_entry(procs, key)
    if acqus is not None:
        info.update(_acquisition_info(acqus))
    info["scaling"] = _scaling_info("NC_proc", nc, scale_nc)
    info["referencing"] = _referencing_info(bf1, zero_ppm, source, f"pdata/{procno}/procs", ref)
    spec = _build(
        Spectrum,
        pdir,
        values=values,
        hz=hz,
        sfo_mhz=sfo,
        bf_mhz=zero_ppm,
        nucleus=nucleus,
        metadata={"source": str(pdir), "bruker": info},
    )
    return TopSpinSpectrum(spec) if order == "topspin" else spec


# --------------------------------------------------------------------------
# TopSpin's axis order
# --------------------------------------------------------------------------
class TopSpinSpectrum:
    """A :class:`~pulses.spectra.Spectrum` seen in TopSpin's order.

    Index ``i`` runs from the highest to the lowest frequency, as in
    TopSpin's ``1r``/``1i`` and nmrglue's ``bruker.read_pdata`` arrays:
    ``values[i]``, ``ppm[i]`` and ``hz[i]`` are ``spectrum.values[n − 1 −
    i]`` … of the ascending spectrum.  The arrays are read-only views; for
    fits, processing and anything else of :mod:`pulses.spectra` use
    ``.spectrum`` (ascending).  For a processed ``1r`` read with
    :func:`read_bruker_processed` the indices are TopSpin's one for one.
    For the FFT of a raw FID they are one off: TopSpin puts the Nyquist
    point (±SW/2) at its top (i = 0) where the FFT grid has it at the bottom,
    so TopSpin's point i is this view's point i − 1
    (``numpy.roll(view.values, 1)``; ``docs/bruker.md``).

    Parameters
    ----------
    spectrum : Spectrum
        The spectrum to view (1-D or a series: the last axis is reversed).
    """

    __slots__ = ("_spectrum",)

    def __init__(self, spectrum: Spectrum) -> None:
        if not isinstance(spectrum, Spectrum):
            raise DataError(
                f"TopSpinSpectrum: spectrum = {_short(spectrum)} is not allowed: give a pulses.spectra.Spectrum"
            )
        object.__setattr__(self, "_spectrum", spectrum)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("TopSpinSpectrum is read-only")

    def __repr__(self) -> str:
        s = self._spectrum
        return (
            f"TopSpinSpectrum(n_points={s.n_points}, ppm {float(self.ppm[0]):.6g} → {float(self.ppm[-1]):.6g}, "
            f"nucleus={s.nucleus!r})"
        )

    @property
    def spectrum(self) -> Spectrum:
        """The same data on ascending axes (what :mod:`pulses.spectra` takes)."""
        return self._spectrum

    @property
    def values(self) -> np.ndarray:
        """Complex values, descending frequency (TopSpin's ``1r + i·1i``)."""
        return self._spectrum.values[..., ::-1]

    @property
    def real(self) -> np.ndarray:
        """Real part (TopSpin's ``1r``)."""
        return self.values.real

    @property
    def imag(self) -> np.ndarray:
        """Imaginary part (TopSpin's ``1i``)."""
        return self.values.imag

    @property
    def ppm(self) -> np.ndarray:
        """Chemical shift of each point, descending (ppm)."""
        return self._spectrum.ppm[::-1]

    @property
    def hz(self) -> np.ndarray:
        """Frequency relative to the carrier, descending (Hz)."""
        return self._spectrum.hz[::-1]

    @property
    def n_points(self) -> int:
        return self._spectrum.n_points

    @property
    def sfo_mhz(self) -> float:
        return self._spectrum.sfo_mhz

    @property
    def bf_mhz(self) -> float:
        return self._spectrum.bf_mhz

    @property
    def nucleus(self) -> str:
        return self._spectrum.nucleus

    @property
    def metadata(self) -> dict:
        return self._spectrum.metadata
