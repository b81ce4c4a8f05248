"""Bruker (TopSpin) datasets: write simulated acquisitions, read real ones.

This module turns an :class:`~pulses.fid.FID` into a Bruker experiment
folder (``fid`` or ``ser`` plus ``acqus``/``acqu`` and, for a series,
``acqu2s``/``acqu2``) and reads such folders back — ours and a
spectrometer's — into :class:`FID` and, from ``pdata/<procno>``, into
:class:`~pulses.spectra.Spectrum`.  Parameter files and binaries go through
nmrglue (``nmrglue.fileio.bruker``); this module adds the validation, the
digital-filter rule, the sign and axis conventions and atomic writing.  It
does no processing beyond what reading needs and never imports ``nmrqb``.

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
  holding ``dwell_s``, ``channel``, ``receiver_phase_deg`` and
  ``metadata``, which :func:`read_bruker` restores exactly.

Sign and axis conventions
-------------------------
Bruker raw data follow this package's convention: with the (real,
imaginary) pairs of the file read as complex numbers, a line above the
carrier is ``exp(+2πi ν t)`` — a plain FFT gives an ascending frequency
axis, which is why nmrglue's examples reverse it to match TopSpin's ``1r``.
Data are therefore stored and read unchanged.  TopSpin's processed ``1r``
runs from high to low ppm (point i at ``OFFSET − i·SW_p/(SF·SI)``);
:func:`read_bruker_processed` reverses it to the ascending axes of
:class:`~pulses.spectra.Spectrum`.

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
points (``TD/2`` when there is no delay or d < 1).

Missing or corrupt files raise :class:`~pulses.errors.DataError` naming the
file and the folder.
"""

from __future__ import annotations

import json
import math
import os
import shutil
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

__all__ = ["PROVENANCE_TAG", "group_delay_points", "read_bruker", "read_bruker_processed", "write_bruker"]

#: Comment tag of the JSON provenance line in acqus.
PROVENANCE_TAG = "$$ pulses-provenance "

_FORMAT = "pulses.bruker/1"
_BLOCK = 1024  # bytes: each FID of a fid/ser file starts on such a boundary


# --------------------------------------------------------------------------
# writing
# --------------------------------------------------------------------------
def _padded_points(n: int, bytes_per_value: int) -> int:
    """Complex points per row once padded to a multiple of 1024 bytes."""
    row_bytes = 2 * n * bytes_per_value
    return int(math.ceil(row_bytes / _BLOCK) * _BLOCK) // (2 * bytes_per_value)


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


def _acqus(fid: FID, provenance: dict | None) -> dict:
    sw_h = 1.0 / fid.dwell_s
    comments = ["$$ written by pulses.bruker.write_bruker: simulated data, no digital filter"]
    if provenance is not None:
        comments.append(PROVENANCE_TAG + json.dumps(provenance, ensure_ascii=True, separators=(",", ":")))
    seq = fid.metadata.get("sequence", "simulated")
    return {
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


def _acqu2s(fid: FID) -> dict:
    ind = fid.metadata.get("indirect_dwell_s")
    sw_h = 1.0 / float(ind) if isinstance(ind, (int, float)) and ind > 0 else 1.0 / fid.dwell_s
    return {
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


def write_bruker(fid_or_fids: FID | Sequence[FID], directory: str | os.PathLike, overwrite: bool = False) -> Path:
    """Write a simulated acquisition as a Bruker experiment folder.

    Parameters
    ----------
    fid_or_fids : FID or sequence of FID
        A 1-D FID (written as ``fid``), a 2-D series (``ser`` with
        ``acqu2s``), or a list of 1-D FIDs stacked into a series with
        :func:`pulses.fid.stack_fids` (they must share their parameters).
    directory : path
        The experiment folder to create (parents are created).
    overwrite : bool
        An existing path is refused unless True; then the whole existing
        folder is replaced (never merged into).

    Returns
    -------
    pathlib.Path
        The folder written.  It is built in a temporary sibling folder and
        renamed into place, so a reader never sees a half-written dataset.

    The parameters written are listed in the module docstring.
    """
    if isinstance(fid_or_fids, FID):
        fid = fid_or_fids
    elif isinstance(fid_or_fids, (list, tuple)):
        fid = stack_fids(fid_or_fids)
    else:
        raise DataError(
            f"write_bruker: give an FID or a list of FIDs, got {type(fid_or_fids).__name__}"
        )
    target = Path(directory)
    if target.exists() or target.is_symlink():
        if not overwrite:
            raise DataError(f"write_bruker: {target} already exists; pass overwrite=True to replace it")
        if not target.is_dir() or target.is_symlink():
            raise DataError(f"write_bruker: {target} exists and is not a folder; refusing to replace it")
    target.parent.mkdir(parents=True, exist_ok=True)
    provenance = {
        "format": _FORMAT,
        "dwell_s": fid.dwell_s,
        "channel": fid.channel,
        "receiver_phase_deg": fid.receiver_phase_deg,
        "metadata": fid.metadata,
    }
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        acqus = _acqus(fid, provenance)
        ngb.write_jcamp(acqus, str(tmp / "acqus"))
        ngb.write_jcamp(acqus, str(tmp / "acqu"))
        if fid.is_2d:
            a2 = _acqu2s(fid)
            ngb.write_jcamp(a2, str(tmp / "acqu2s"))
            ngb.write_jcamp(a2, str(tmp / "acqu2"))
        seq = fid.metadata.get("sequence", "simulated")
        (tmp / "pulseprogram").write_text(
            f";{_safe_text(seq)}\n; simulated by the pulses library: no executable pulse program\n", encoding="ascii"
        )
        n = fid.n_points
        npad = _padded_points(n, 8)
        data = np.zeros(fid.data.shape[:-1] + (npad,), dtype=np.complex128)
        data[..., :n] = fid.data
        ngb.write_binary(str(tmp / ("ser" if fid.is_2d else "fid")), {}, data, big=False, isfloat=True)
        if target.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
            os.rmdir(old)
            os.rename(target, old)
            try:
                os.rename(tmp, target)
            except BaseException:
                os.rename(old, target)
                raise
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


# --------------------------------------------------------------------------
# reading helpers
# --------------------------------------------------------------------------
def _read_params(path: Path, where: Path) -> dict:
    """A JCAMP-DX parameter file through nmrglue, or a DataError naming it."""
    if not path.is_file():
        raise DataError(f"{path.name} missing in {where}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            dic = ngb.read_jcamp(str(path))
    except Exception as exc:  # noqa: BLE001 - nmrglue raises assorted errors on garbage
        raise DataError(f"{path.name} in {where} cannot be parsed as a Bruker parameter file: {exc}") from None
    return dic


def _get(dic: dict, key: str, fname: str, where: Path, kind: str):
    """Parameter ``key`` of file ``fname`` as ``kind`` ('pos_int', 'int',
    'pos_float', 'float', 'str'), or a DataError naming file and key."""
    if key not in dic:
        raise DataError(f"{fname} in {where} lacks {key} (the file is incomplete or corrupt)")
    v = dic[key]
    bad = DataError(f"{fname} in {where} has {key} = {v!r}: {_KIND_TEXT[kind]} is required")
    if kind in ("pos_int", "int"):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not float(v).is_integer():
            raise bad
        v = int(v)
        if kind == "pos_int" and v < 1:
            raise bad
        return v
    if kind in ("pos_float", "float"):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise bad
        if kind == "pos_float" and not v > 0:
            raise bad
        return float(v)
    if not isinstance(v, str) or not v:
        raise bad
    return v


_KIND_TEXT = {
    "pos_int": "a positive integer",
    "int": "an integer",
    "pos_float": "a finite positive number",
    "float": "a finite number",
    "str": "a non-empty string",
}


def group_delay_points(acqus: dict) -> float:
    """The digital-filter group delay (points) of an acqus dictionary, by the
    rule of the module docstring (0.0 when there is none)."""
    if acqus.get("DIGMOD") == 0:
        return 0.0
    grpdly = acqus.get("GRPDLY", -1)
    if isinstance(grpdly, (int, float)) and not isinstance(grpdly, bool) and grpdly > 0:
        return float(grpdly)
    dspfvs = acqus.get("DSPFVS")
    if isinstance(dspfvs, int) and dspfvs in ngb.bruker_dsp_table:
        decim = acqus.get("DECIM")
        if isinstance(decim, float) and decim.is_integer():
            decim = int(decim)
        table = ngb.bruker_dsp_table[dspfvs]
        if decim not in table:
            raise DataError(
                f"acqus has DECIM = {decim!r} with DSPFVS = {dspfvs}: the group delay is unknown "
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
    if not path.is_file():
        raise DataError(f"{path.name} missing in {where}")
    bpv = 8 if isfloat else 4
    dtype = "float64" if isfloat else "int32"
    size = path.stat().st_size
    n = td // 2
    npad = _padded_points(n, bpv)
    if rows is None:
        exact, padded = td * bpv, 2 * npad * bpv
        if size not in (exact, padded):
            also = "" if padded == exact else f" (or {padded} padded to 1024-byte blocks)"
            raise DataError(f"{path.name} in {where} has {size} bytes, expected {exact}{also} for TD={td} ({dtype})")
        shape = (size // (2 * bpv),)
    else:
        expected = rows * 2 * npad * bpv
        if size != expected:
            raise DataError(
                f"{path.name} in {where} has {size} bytes, expected {expected} for {rows} rows of TD={td} "
                f"({dtype}, rows padded to 1024-byte blocks)"
            )
        shape = (rows, npad)
    try:
        _, data = ngb.read_binary(str(path), shape=shape, cplex=True, big=big, isfloat=isfloat)
    except Exception as exc:  # noqa: BLE001 - any nmrglue failure is a corrupt file
        raise DataError(f"{path.name} in {where} cannot be read: {exc}") from None
    data = np.asarray(data, dtype=np.complex128)[..., :n]
    if not np.all(np.isfinite(data)):
        raise DataError(f"{path.name} in {where} holds NaN or infinite values")
    return data


def _provenance(acqus: dict) -> dict | None:
    for line in acqus.get("_comments", []):
        if line.startswith(PROVENANCE_TAG):
            try:
                p = json.loads(line[len(PROVENANCE_TAG):])
            except ValueError:
                return None
            if isinstance(p, dict) and p.get("format") == _FORMAT:
                return p
    return None


# --------------------------------------------------------------------------
# reading
# --------------------------------------------------------------------------
def read_bruker(directory: str | os.PathLike) -> FID:
    """Read a Bruker experiment folder (``fid`` or ``ser``) into an FID.

    ``sfo_mhz`` = SFO1, ``bf_mhz`` = BF1, ``dwell_s`` = 1/SW_h (the exact
    written value for our own datasets), ``nucleus`` = NUC1.  ``ser`` with
    ``acqu2s`` gives a (TD1, TD/2) series.  int32 data (``DTYPA = 0``) are
    scaled by 2**NC.  The digital-filter group delay of spectrometer data is
    removed (module docstring).  Datasets written by :func:`write_bruker`
    get back their channel, receiver phase and metadata; others get
    ``metadata = {"source": folder, "bruker": {...}}`` with PULPROG, NS, RG,
    the group delay and the number of points dropped.

    Raises
    ------
    DataError
        A missing or corrupt file (named), an unsupported acquisition mode,
        data type or dimensionality.
    """
    d = Path(directory)
    if not d.is_dir():
        raise DataError(f"{d} is not a folder (a Bruker experiment folder holds acqus and fid or ser)")
    acqus = _read_params(d / "acqus", d)
    if (d / "acqu3s").exists():
        raise DataError(f"{d} holds a 3-D (or higher) dataset (acqu3s): only fid and 2-D ser are supported")
    two_d = (d / "ser").is_file() and not (d / "fid").is_file()
    if two_d and not (d / "acqu2s").is_file():
        raise DataError(f"acqu2s missing in {d} (needed to read its ser file)")
    if not two_d and not (d / "fid").is_file():
        raise DataError(f"fid missing in {d} (and no ser)")

    td = _get(acqus, "TD", "acqus", d, "pos_int")
    if td % 2:
        raise DataError(f"acqus in {d} has TD = {td}: an even number (real and imaginary values) is required")
    sw_h = _get(acqus, "SW_h", "acqus", d, "pos_float")
    sfo = _get(acqus, "SFO1", "acqus", d, "pos_float")
    bf = _get(acqus, "BF1", "acqus", d, "pos_float")
    nucleus = _get(acqus, "NUC1", "acqus", d, "str")
    aq_mod = acqus.get("AQ_mod", 3)
    if aq_mod not in (1, 3):
        raise DataError(
            f"acqus in {d} has AQ_mod = {aq_mod!r}: only complex (simultaneous) detection, 1 (qsim) or 3 (DQD), "
            "is supported"
        )
    dtypa = acqus.get("DTYPA", 0)
    if dtypa not in (0, 2):
        raise DataError(f"acqus in {d} has DTYPA = {dtypa!r}: 0 (int32) or 2 (float64) is required")
    bytorda = acqus.get("BYTORDA", 0)
    if bytorda not in (0, 1):
        raise DataError(f"acqus in {d} has BYTORDA = {bytorda!r}: 0 (little endian) or 1 (big endian) is required")
    rows = None
    if two_d:
        acqu2s = _read_params(d / "acqu2s", d)
        rows = _get(acqu2s, "TD", "acqu2s", d, "pos_int")
    raw = _read_raw(d / ("ser" if two_d else "fid"), d, td, rows, isfloat=dtypa == 2, big=bytorda == 1)
    if dtypa == 0:
        nc = acqus.get("NC", 0)
        if isinstance(nc, (int, float)) and not isinstance(nc, bool) and nc != 0:
            raw = raw * 2.0 ** nc
    delay = group_delay_points(acqus)
    n_raw = raw.shape[-1]
    if delay > 0:
        if math.floor(delay) + 2 >= n_raw:
            raise DataError(f"fid in {d} has {n_raw} points, too few for its group delay of {delay:g} points")
        data = _remove_group_delay(raw, delay)
    else:
        data = raw

    prov = _provenance(acqus)
    dwell = 1.0 / sw_h
    if prov is not None:
        p_dwell = prov.get("dwell_s")
        if isinstance(p_dwell, (int, float)) and abs(p_dwell * sw_h - 1.0) < 1e-12:
            dwell = float(p_dwell)
        return FID(
            data=data,
            dwell_s=dwell,
            sfo_mhz=sfo,
            bf_mhz=bf,
            nucleus=nucleus,
            channel=str(prov.get("channel", "")),
            receiver_phase_deg=float(prov.get("receiver_phase_deg", 0.0)),
            metadata=prov.get("metadata", {}),
        )
    info = {
        "PULPROG": acqus.get("PULPROG"),
        "NS": acqus.get("NS"),
        "RG": acqus.get("RG"),
        "TD": td,
        "group_delay_points": delay,
        "points_dropped": n_raw - data.shape[-1],
    }
    return FID(
        data=data,
        dwell_s=dwell,
        sfo_mhz=sfo,
        bf_mhz=bf,
        nucleus=nucleus,
        metadata={"source": str(d), "bruker": info},
    )


def read_bruker_processed(directory: str | os.PathLike, procno: int = 1) -> Spectrum:
    """Read a processed 1-D spectrum (``pdata/<procno>/1r`` and ``1i``).

    The axes come from ``procs``: point i of ``1r`` is at
    ``OFFSET − i · SW_p / (SF · SI)`` ppm; SF (MHz) is the 0-ppm frequency
    and becomes ``bf_mhz``; the carrier ``sfo_mhz`` is SFO1 of the
    experiment's ``acqus`` when present (else SF).  The values are reversed
    to the ascending axes of :class:`Spectrum`, scaled by 2**NC_proc, in the
    file's arbitrary units (not the amplitude convention of
    :func:`pulses.spectra.fft`); ``1i`` missing gives a zero imaginary part.
    ``dwell_s`` and ``n_acquired`` are left unset, so line fits use the
    continuous lineshapes.

    Parameters
    ----------
    directory : path
        The experiment folder (holding ``pdata``).
    procno : int
        Processing number (``pdata/<procno>``).
    """
    d = Path(directory)
    if isinstance(procno, bool) or not isinstance(procno, (int, np.integer)) or procno < 1:
        raise DataError(f"read_bruker_processed.procno = {procno!r} is not allowed: it must be an integer ≥ 1")
    pdir = d / "pdata" / str(int(procno))
    if not pdir.is_dir():
        raise DataError(f"pdata/{procno} missing in {d}")
    if not (pdir / "1r").is_file() and (pdir / "2rr").is_file():
        raise DataError(f"{pdir} holds a 2-D processed spectrum (2rr): only 1-D (1r, 1i) is supported")
    procs = _read_params(pdir / "procs", pdir)
    sf = _get(procs, "SF", "procs", pdir, "pos_float")
    offset = _get(procs, "OFFSET", "procs", pdir, "float")
    sw_p = _get(procs, "SW_p", "procs", pdir, "pos_float")
    si = _get(procs, "SI", "procs", pdir, "pos_int")
    dtypp = procs.get("DTYPP", 0)
    if dtypp not in (0, 2):
        raise DataError(f"procs in {pdir} has DTYPP = {dtypp!r}: 0 (int32) or 2 (float64) is required")
    bytordp = procs.get("BYTORDP", 0)
    if bytordp not in (0, 1):
        raise DataError(f"procs in {pdir} has BYTORDP = {bytordp!r}: 0 (little endian) or 1 (big endian) is required")
    nc = procs.get("NC_proc", 0)
    scale = 2.0 ** nc if isinstance(nc, (int, float)) and not isinstance(nc, bool) else 1.0
    bpv = 8 if dtypp == 2 else 4
    parts = []
    for name in ("1r", "1i"):
        path = pdir / name
        if not path.is_file():
            if name == "1r":
                raise DataError(f"1r missing in {pdir}")
            parts.append(np.zeros(si))
            continue
        size = path.stat().st_size
        if size != si * bpv:
            raise DataError(
                f"{name} in {pdir} has {size} bytes, expected {si * bpv} for SI={si} "
                f"({'float64' if dtypp == 2 else 'int32'})"
            )
        try:
            _, v = ngb.read_binary(str(path), shape=(si,), cplex=False, big=bytordp == 1, isfloat=dtypp == 2)
        except Exception as exc:  # noqa: BLE001 - any nmrglue failure is a corrupt file
            raise DataError(f"{name} in {pdir} cannot be read: {exc}") from None
        parts.append(np.asarray(v, dtype=np.float64) * scale)
    values = (parts[0] + 1j * parts[1])[::-1]
    ppm = (offset - np.arange(si) * sw_p / (sf * si))[::-1]
    sfo, nucleus = sf, procs.get("AXNUC")
    if (d / "acqus").is_file():
        acqus = _read_params(d / "acqus", d)
        sfo = _get(acqus, "SFO1", "acqus", d, "pos_float")
        nucleus = _get(acqus, "NUC1", "acqus", d, "str")
    if not isinstance(nucleus, str) or not nucleus:
        raise DataError(f"the nucleus of {pdir} is unknown: acqus (NUC1) is missing and procs has no AXNUC")
    carrier_ppm = (sfo - sf) / sf * 1e6
    hz = (ppm - carrier_ppm) * sf
    return Spectrum(
        values=values,
        hz=hz,
        sfo_mhz=sfo,
        bf_mhz=sf,
        nucleus=nucleus,
        metadata={"source": str(pdir), "bruker": {"SI": si, "SW_p": sw_p, "OFFSET": offset, "NC_proc": nc}},
    )
