"""pulses.bruker hardening (issue 8, Bruker part).

Nothing is lost: ``write_bruker(..., overwrite=True)`` only replaces a
folder that is recognisably one Bruker experiment without processed data;
the data-loss tests build real folder trees, call the function and check
every file is still there, byte for byte.  A failure half-way (injected,
or a process killed with SIGKILL) leaves the old data set intact, and the
leftovers of a killed run are cleaned at the next call.  Every bad input
is a one-line ``DataError`` (exactly that class) naming the field or path.
"""

from __future__ import annotations

import errno
import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import nmrglue as ng
import numpy as np
import pytest

import pulses.bruker as bruker
from pulses.bruker import NC_RANGE, group_delay_points, read_bruker, read_bruker_processed, write_bruker
from pulses.errors import DataError
from pulses.fid import FID

DW = 1.0 / 4000.0
SFO, BF = 400.1312345678, 400.13


def fid(n=256, scale=1.0, **kw) -> FID:
    t = np.arange(n) * DW
    data = scale * np.exp(2j * np.pi * 300.0 * t - t / 0.05)
    return FID(data, DW, SFO, BF, nucleus="1H", channel="H1", receiver_phase_deg=90.0, **kw)


def data_error(fn, *names: str) -> str:
    """Call ``fn``: it must raise exactly DataError, one line, naming all
    of ``names`` (paths are matched first and cut out, so that a test name
    inside tmp_path cannot satisfy the other names); the message is returned."""
    with pytest.raises(DataError) as info:
        fn()
    assert type(info.value) is DataError
    msg = str(info.value)
    assert "\n" not in msg and "\r" not in msg, msg
    rest = msg
    for path in sorted((str(n) for n in names if str(n).startswith(os.sep)), key=len, reverse=True):
        assert path in rest, (path, msg)
        rest = rest.replace(path, "<path>")  # tmp_path holds the test's name: check the rest without it
    for name in names:
        if not str(name).startswith(os.sep):
            assert str(name) in rest, (name, msg)
    return msg


def snapshot(root: Path) -> dict:
    """Every file and folder under ``root`` (relative path → bytes or 'dir')."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for d in dirnames:
            out[os.path.relpath(os.path.join(dirpath, d), root)] = "dir"
        for f in filenames:
            p = os.path.join(dirpath, f)
            out[os.path.relpath(p, root)] = Path(p).read_bytes()
    return out


def temp_siblings(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith(".") and p.name.endswith(".tmp"))


# --------------------------------------------------------------------------
# 1. data loss: what overwrite=True may replace
# --------------------------------------------------------------------------
def test_overwrite_refuses_a_folder_of_experiments(tmp_path):
    parent = tmp_path / "project"
    for k in (1, 2, 3):
        write_bruker(fid(scale=k), parent / str(k))
    (parent / "notes.txt").write_text("sample 7, 298 K\n")
    before = snapshot(tmp_path)
    assert len([k for k in before if k.endswith("acqus")]) == 3
    msg = data_error(lambda: write_bruker(fid(), parent, overwrite=True), str(parent))
    assert "not a Bruker experiment folder" in msg and "nothing was deleted" in msg
    assert snapshot(tmp_path) == before
    for k in (1, 2, 3):
        assert np.array_equal(read_bruker(parent / str(k)).data, fid(scale=k).data)


def test_overwrite_refuses_a_home_like_folder(tmp_path):
    home = tmp_path / "home" / "user"
    rng = np.random.default_rng(8)
    for rel in (".bashrc", ".ssh/id_ed25519", "Documents/thesis.tex", "Documents/fig/a.png", "data/run1.csv", "x"):
        p = home / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(rng.bytes(int(rng.integers(0, 5000))))
    (home / "empty_dir").mkdir()
    before = snapshot(tmp_path)
    data_error(lambda: write_bruker(fid(), home, overwrite=True), str(home), "not a Bruker experiment folder")
    data_error(lambda: write_bruker(fid(), home), str(home), "already exists")
    assert snapshot(tmp_path) == before
    # a folder that happens to hold acqus and fid but also other folders is still not replaced
    write_bruker(fid(), home / "nmr")
    for name in ("acqus", "fid"):
        (home / name).write_bytes((home / "nmr" / name).read_bytes())
    before = snapshot(tmp_path)
    data_error(lambda: write_bruker(fid(), home, overwrite=True), str(home), "holds the folder", "remove it yourself")
    assert snapshot(tmp_path) == before
    assert temp_siblings(home.parent) == []


def test_overwrite_refuses_an_experiment_with_processed_data(tmp_path):
    exp = write_bruker(fid(), tmp_path / "1")
    pdir = exp / "pdata" / "1"
    pdir.mkdir(parents=True)
    (pdir / "1r").write_bytes(np.arange(256, dtype="<i4").tobytes())
    (pdir / "procs").write_text("##TITLE= procs\n##$SI= 256\n##END=\n")
    before = snapshot(tmp_path)
    msg = data_error(lambda: write_bruker(fid(scale=2), exp, overwrite=True), str(exp), "pdata/")
    assert "contains processed data pdata/; remove it yourself or choose another folder" in msg
    assert snapshot(tmp_path) == before
    assert temp_siblings(tmp_path) == []


def test_overwrite_refuses_files_and_links(tmp_path):
    exp = write_bruker(fid(), tmp_path / "1")
    (tmp_path / "notes.txt").write_text("keep me")
    link = tmp_path / "link"
    link.symlink_to(exp, target_is_directory=True)
    before = snapshot(tmp_path)
    data_error(lambda: write_bruker(fid(), tmp_path / "notes.txt", overwrite=True), "notes.txt", "not a folder")
    data_error(lambda: write_bruker(fid(), tmp_path / "notes.txt"), "notes.txt", "not a folder")
    data_error(lambda: write_bruker(fid(), link, overwrite=True), str(link), "symbolic link")
    assert snapshot(tmp_path) == before and link.is_symlink()


def test_overwrite_replaces_a_real_experiment_folder(tmp_path):
    exp = write_bruker(fid(), tmp_path / "1")
    for name in ("audita.txt", "uxnmr.par", "scon2"):  # files TopSpin keeps beside acqus and fid
        (exp / name).write_text("stale")
    (exp / "pdata").mkdir()  # empty: no processed data
    new = fid(scale=3.0, metadata={"run": 2})
    assert write_bruker(new, exp, overwrite=True) == exp
    g = read_bruker(exp)
    assert np.array_equal(g.data, new.data) and g.metadata == {"run": 2}
    assert sorted(p.name for p in exp.iterdir()) == ["acqu", "acqus", "fid", "pulseprogram"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["1"]  # no temporary folders left
    # a 2-D series replaces a 1-D data set the same way
    rows = [fid(scale=k) for k in (1, 2)]
    write_bruker(rows, exp, overwrite=True)
    assert read_bruker(exp).data.shape == (2, 256) and not (exp / "fid").exists()


def test_an_empty_folder_is_written_into(tmp_path):
    (tmp_path / "e").mkdir()
    out = write_bruker(fid(), tmp_path / "e")
    assert np.array_equal(read_bruker(out).data, fid().data)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["e"]
    # relative paths work
    (tmp_path / "r").mkdir()
    cwd = os.getcwd()
    try:
        os.chdir(tmp_path)
        assert write_bruker(fid(), "r") == Path("r")
        assert write_bruker(fid(scale=2), Path("r"), overwrite=True) == Path("r")
        for bad in (".", "r/..", "/"):
            data_error(lambda bad=bad: write_bruker(fid(), bad, overwrite=True), "directory", bad)
    finally:
        os.chdir(cwd)
    assert np.array_equal(read_bruker(tmp_path / "r").data, fid(scale=2).data)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["e", "r"]


def test_failure_mid_write_leaves_the_old_data_set_byte_identical(tmp_path, monkeypatch):
    exp = write_bruker(fid(), tmp_path / "1")
    before = snapshot(tmp_path)

    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(bruker.ngb, "write_binary", disk_full)
    msg = data_error(lambda: write_bruker(fid(scale=2), exp, overwrite=True), str(exp), "No space left")
    assert "unchanged" in msg
    assert snapshot(tmp_path) == before

    def crash(*args, **kwargs):
        raise RuntimeError("injected")

    monkeypatch.setattr(bruker.ngb, "write_binary", crash)
    with pytest.raises(RuntimeError, match="injected"):  # not a user error: propagated, after cleaning up
        write_bruker(fid(scale=2), exp, overwrite=True)
    assert snapshot(tmp_path) == before
    monkeypatch.undo()

    # a failure at the swap itself (renaming the new folder in): the old one is put back
    real_rename = os.rename
    calls = []

    def rename(src, dst):
        calls.append((str(src), str(dst)))
        if len(calls) == 2:
            raise OSError(errno.EIO, "Input/output error")
        return real_rename(src, dst)

    monkeypatch.setattr(bruker.os, "rename", rename)
    data_error(lambda: write_bruker(fid(scale=2), exp, overwrite=True), str(exp), "Input/output error")
    monkeypatch.undo()
    assert Path(calls[0][0]) == exp and Path(calls[1][1]) == exp
    assert snapshot(tmp_path) == before


KILLED_RUN = textwrap.dedent(
    """
    import os, signal, sys
    import numpy as np
    import pulses.bruker as b
    from pulses.fid import FID
    where = sys.argv[2]
    if where == "binary":
        b.ngb.write_binary = lambda *a, **k: os.kill(os.getpid(), signal.SIGKILL)
    else:  # between moving the old data set aside and moving the new one in
        real = os.rename
        def rename(src, dst):
            real(src, dst)
            if os.path.basename(str(dst)).startswith(".1.old-"):
                os.kill(os.getpid(), signal.SIGKILL)
        b.os.rename = rename
    f = FID(np.full(64, 5.0 + 0j), 1 / 4000.0, 400.1312345678, 400.13)
    b.write_bruker(f, sys.argv[1], overwrite=True)
    """
)


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL")
@pytest.mark.parametrize("where", ["binary", "swap"])
def test_a_killed_run_loses_nothing_and_its_leftovers_are_cleaned(tmp_path, where):
    exp = write_bruker(fid(), tmp_path / "1")
    (tmp_path / ".1.backup.tmp").mkdir()  # not ours: never touched
    (tmp_path / ".1.new-notapid-x.tmp").mkdir()  # not our pattern: never touched
    before = snapshot(exp)
    for _ in range(2):  # two killed runs: leftovers must not pile up
        r = subprocess.run([sys.executable, "-c", KILLED_RUN, str(exp), where], capture_output=True)
        assert r.returncode == -9, r.stderr.decode()
    left = temp_siblings(tmp_path)
    assert len(left) >= 3, left  # the killed runs left their temporary folders
    if where == "swap":
        assert not exp.exists()  # killed between the two renames
    # the next call cleans up and restores the old data set first: without
    # overwrite it is refused as if the killed runs never happened
    data_error(lambda: write_bruker(fid(scale=2), exp), str(exp), "already exists")
    assert snapshot(exp) == before
    assert temp_siblings(tmp_path) == [".1.backup.tmp", ".1.new-notapid-x.tmp"]
    write_bruker(fid(scale=2), exp, overwrite=True)
    assert np.array_equal(read_bruker(exp).data, fid(scale=2).data)
    assert temp_siblings(tmp_path) == [".1.backup.tmp", ".1.new-notapid-x.tmp"]


def test_temporary_folders_of_a_running_process_are_not_touched(tmp_path):
    exp = write_bruker(fid(), tmp_path / "1")
    running = tmp_path / f".1.new-{os.getppid()}-abcd1234.tmp"  # the process that started pytest: running
    running.mkdir()
    (running / "acqus").write_text("in progress")
    # this process's pid but no call of it running: a killed run whose pid was reused (e.g. in a container)
    reused = tmp_path / f".1.old-{os.getpid()}-abcd1234.tmp"
    reused.mkdir()
    write_bruker(fid(scale=2), exp, overwrite=True)
    assert (running / "acqus").read_text() == "in progress"
    assert not reused.exists()
    assert temp_siblings(tmp_path) == [running.name]


# --------------------------------------------------------------------------
# 2. unwritable or impossible paths, bad arguments
# --------------------------------------------------------------------------
def test_unwritable_and_impossible_paths(tmp_path):
    (tmp_path / "a_file").write_text("x")
    data_error(lambda: write_bruker(fid(), tmp_path / "a_file" / "1"), str(tmp_path / "a_file" / "1"))
    data_error(lambda: write_bruker(fid(), tmp_path / "a_file" / "deeper" / "1"), "a_file")
    data_error(lambda: write_bruker(fid(), str(tmp_path / "bad\0name")), "directory", "NUL")
    long_name = "n" * 300
    data_error(lambda: write_bruker(fid(), tmp_path / long_name), "300 bytes", "at most 200")
    data_error(lambda: write_bruker(fid(), tmp_path / ("p" * 300) / "1"), "p" * 100)  # ENAMETOOLONG
    for bad in (None, 42, b"bytes/path", ["a"], ""):
        data_error(lambda bad=bad: write_bruker(fid(), bad), "directory", "path")
    data_error(lambda: write_bruker(fid(), tmp_path / "x", overwrite="yes"), "overwrite", "'yes'")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file"]


def test_unwritable_parameters_are_refused_before_writing(tmp_path):
    # FIDs whose Bruker parameters overflow (when FID itself accepts them)
    for args, names in (
        ((1e-300, 1e-10, 1e-10), ("dwell_s", "sfo_mhz", "SW = inf")),  # SW = SW_h / SFO1
        ((DW, 1e303, 1e302), ("sfo_mhz", "bf_mhz", "O1 = inf")),  # O1 = (SFO1 - BF1) 1e6
    ):
        try:
            f = FID(np.ones(8), *args)
        except DataError:
            continue  # refused at construction: never reaches the writer
        data_error(lambda f=f: write_bruker(f, tmp_path / "t"), *names)
    for ind in (-1.0, "1e-3", math.inf, 1e-320, True):
        try:
            series = FID(np.ones((2, 8)), DW, SFO, BF, metadata={"indirect_dwell_s": ind})
        except DataError:
            continue  # refused at construction (non-finite metadata)
        data_error(lambda s=series: write_bruker(s, tmp_path / "s"), "indirect_dwell_s")
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------
# 3. read_bruker
# --------------------------------------------------------------------------
@pytest.fixture
def own(tmp_path) -> Path:
    return write_bruker(fid(n=512), tmp_path / "own")


def spectrometer(path: Path, nc=0, **params) -> tuple[Path, np.ndarray]:
    """An int32 data set as a spectrometer writes it (digital filter on)."""
    n = 1024
    raw = np.round(1e5 * np.exp(2j * np.pi * np.arange(n) / 17.0))
    acqus = {
        "_coreheader": ["##TITLE= Parameter file, TOPSPIN"], "_comments": [],
        "TD": 2 * n, "SW_h": 5000.0, "SFO1": 600.13, "BF1": 600.1, "NUC1": "1H", "DTYPA": 0, "BYTORDA": 0,
        "AQ_mod": 3, "DIGMOD": 1, "DSPFVS": 21, "DECIM": 1600, "GRPDLY": 76.0, "NC": nc, "PULPROG": "zg30",
        "NS": 16, "RG": 101.0,
    }
    acqus.update(params)
    path.mkdir(parents=True)
    ng.bruker.write(str(path), {"acqus": acqus}, raw, write_prog=False, isfloat=False)
    return path, raw


def set_param(path: Path, key: str, value: str, fname="acqus"):
    p = path / fname
    lines = p.read_text().splitlines()
    hits = [i for i, ln in enumerate(lines) if ln.startswith(f"##${key}=")]
    assert hits, key
    lines[hits[0]] = f"##${key}= {value}"
    p.write_text("\n".join(lines) + "\n")


def set_provenance(path: Path, text: str):
    p = path / "acqus"
    lines = p.read_text().splitlines()
    i = next(i for i, ln in enumerate(lines) if ln.startswith(bruker.PROVENANCE_TAG))
    lines[i] = bruker.PROVENANCE_TAG + text
    p.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("bad", [None, 42, 1.5, b"bytes", ["a"], {"a": 1}, "", "a\0b"])
def test_read_bruker_bad_argument(bad):
    data_error(lambda: read_bruker(bad), "read_bruker", "directory")
    data_error(lambda: read_bruker_processed(bad), "read_bruker_processed", "directory")


@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "<abc>"])
def test_non_finite_grpdly(tmp_path, value):
    path, _ = spectrometer(tmp_path / "1")
    set_param(path, "GRPDLY", value)
    data_error(lambda: read_bruker(path), "GRPDLY", "acqus", str(path), "finite")
    dic = ng.bruker.read_jcamp(str(path / "acqus"))
    data_error(lambda: group_delay_points(dic), "GRPDLY")


def test_group_delay_points_bad_argument():
    for bad in (None, [1], "acqus"):
        data_error(lambda bad=bad: group_delay_points(bad), "group_delay_points", "acqus")
    data_error(lambda: group_delay_points({"DIGMOD": 1, "DECIM": -3.0}), "DECIM")


@pytest.mark.parametrize("nc", [5000, -5000, 101, -101, "2.5", "inf", "<x>"])
def test_extreme_nc_is_refused(tmp_path, nc):
    path, _ = spectrometer(tmp_path / "1")
    set_param(path, "NC", str(nc))
    msg = data_error(lambda: read_bruker(path), "NC", str(path))
    assert f"[{NC_RANGE[0]}, {NC_RANGE[1]}]" in msg


@pytest.mark.parametrize("nc", [NC_RANGE[0], NC_RANGE[1], -3])
def test_nc_within_range_scales_exactly_and_never_to_zero(tmp_path, nc):
    path, raw = spectrometer(tmp_path / "1", nc=nc, DIGMOD=0)
    g = read_bruker(path)
    assert np.all(np.isfinite(g.data)) and np.all(g.data != 0)
    assert np.array_equal(g.data, raw * 2.0**nc)


@pytest.mark.parametrize(
    "text",
    [
        '"abc"', "[1, 2]", "3", "null", "{", "not json at all", "[" * 100_000,
        '{"format": "pulses.bruker/1"}',  # fields missing
        '{"format": "pulses.bruker/9", "dwell_s": 0.00025, "channel": "", "receiver_phase_deg": 0, "metadata": {}}',
        '{"format": "pulses.bruker/1", "dwell_s": "x", "channel": "", "receiver_phase_deg": 0, "metadata": {}}',
        '{"format": "pulses.bruker/1", "dwell_s": -1, "channel": "", "receiver_phase_deg": 0, "metadata": {}}',
        '{"format": "pulses.bruker/1", "dwell_s": 0.00025, "channel": 5, "receiver_phase_deg": 0, "metadata": {}}',
        '{"format": "pulses.bruker/1", "dwell_s": 0.00025, "channel": "", "receiver_phase_deg": Infinity, '
        '"metadata": {}}',
        '{"format": "pulses.bruker/1", "dwell_s": 0.00025, "channel": "", "receiver_phase_deg": 0, "metadata": []}',
        '{"format": "pulses.bruker/1", "dwell_s": 0.00025, "channel": "", "receiver_phase_deg": 0, "metadata": {},'
        ' "extra": 1}',
    ],
)
def test_corrupt_provenance(own, text):
    set_provenance(own, text)
    data_error(lambda: read_bruker(own), "provenance", "acqus", str(own))


@pytest.mark.parametrize(
    "key, value, allowed",
    [
        ("TD", "inf", "positive integer"), ("TD", "-512", "positive integer"), ("TD", "1" + "0" * 400, "TD"),
        ("TD", "1024.5", "positive integer"),
        ("SW_h", "inf", "finite positive"), ("SW_h", "nan", "finite positive"), ("SW_h", "-1.0", "finite positive"),
        ("SW_h", "1e-320", "inverse"), ("SW_h", "1" + "0" * 400, "finite positive"),
        ("SFO1", "inf", "finite positive"), ("SFO1", "0.0", "finite positive"),
        ("BF1", "-400.0", "finite positive"), ("BF1", "nan", "finite positive"),
        ("DTYPA", "inf", "0 (int32) or 2"), ("DTYPA", "nan", "0 (int32) or 2"),
        ("BYTORDA", "-1", "0 (little endian)"), ("BYTORDA", "inf", "0 (little endian)"),
        ("AQ_mod", "inf", "only complex"),
        ("DECIM", "-16", "finite positive"), ("DECIM", "inf", "finite positive"),
        ("DSPFVS", "-2", "≥ -1"), ("DSPFVS", "1.5", "integer"), ("DSPFVS", "inf", "integer"),
        ("DIGMOD", "inf", "integer"), ("DIGMOD", "-2", "≥ 0"),
        ("NUC1", "<off>", "nucleus"),
    ],
)
def test_absurd_acqus_values(own, key, value, allowed):
    set_param(own, key, value)
    data_error(lambda: read_bruker(own), key, str(own), allowed)


def test_absurd_series_size(tmp_path):
    out = write_bruker([fid(), fid()], tmp_path / "s")
    for value, allowed in (("inf", "positive integer"), ("-2", "positive integer"), ("1" + "0" * 30, "≤ 2**53")):
        set_param(out, "TD", value, "acqu2s")
        data_error(lambda: read_bruker(out), "acqu2s", "TD", str(out), allowed.replace("2**53", str(2**53)))
    set_param(out, "TD", "3", "acqu2s")
    data_error(lambda: read_bruker(out), "ser", str(out), "bytes", "3 rows of TD=512")


def test_float_data_with_nan_are_refused(own):
    raw = np.fromfile(own / "fid", dtype="<f8")
    raw[7] = np.nan
    raw.tofile(own / "fid")
    data_error(lambda: read_bruker(own), "fid", str(own), "NaN")


def test_too_large_for_memory_is_refused_up_front(own, monkeypatch):
    def no_read(*args, **kwargs):
        raise AssertionError("must not be read")

    monkeypatch.setattr(bruker, "_memory_limit", lambda: 2**14)
    monkeypatch.setattr(bruker.ngb, "read_binary", no_read)
    msg = data_error(lambda: read_bruker(own), "fid", str(own), "GiB of memory")
    assert "more than this machine has" in msg


# --------------------------------------------------------------------------
# 4. read_bruker_processed
# --------------------------------------------------------------------------
def processed(exp: Path, si=256, procno=1, **params) -> Path:
    pdir = exp / "pdata" / str(procno)
    pdir.mkdir(parents=True)
    part = np.arange(si, dtype=np.int32) + 1
    for name in ("1r", "1i"):
        ng.bruker.write_binary(str(pdir / name), {}, part, big=False)
    procs = {
        "_coreheader": ["##TITLE= Parameter file, TOPSPIN"], "_comments": [],
        "SF": BF, "OFFSET": 10.0, "SW_p": 4000.0, "SI": si, "DTYPP": 0, "BYTORDP": 0, "NC_proc": 0, "AXNUC": "1H",
    }
    procs.update(params)
    ng.bruker.write_jcamp(procs, str(pdir / "procs"))
    return pdir


def test_processed_good_case_still_reads(own):
    processed(own)
    s = read_bruker_processed(own)
    assert s.n_points == 256 and np.all(np.isfinite(s.values)) and s.nucleus == "1H"


@pytest.mark.parametrize("procno", [0, -1, 1.5, "1", True, None, [1]])
def test_processed_bad_procno(own, procno):
    processed(own)
    data_error(lambda: read_bruker_processed(own, procno=procno), "procno", "integer ≥ 1")


def test_processed_missing_files(tmp_path, own):
    data_error(lambda: read_bruker_processed(tmp_path / "nope"), str(tmp_path / "nope"), "not a folder")
    data_error(lambda: read_bruker_processed(own), "pdata/1", str(own))
    data_error(lambda: read_bruker_processed(own, procno=10**30), "pdata/" + str(10**30), str(own))
    pdir = processed(own)
    (pdir / "1r").unlink()
    data_error(lambda: read_bruker_processed(own), "1r missing", str(pdir))
    (pdir / "procs").unlink()
    data_error(lambda: read_bruker_processed(own), "procs missing", str(pdir))


@pytest.mark.parametrize(
    "key, value, allowed",
    [
        ("SF", "inf", "finite positive"), ("SF", "nan", "finite positive"), ("SF", "-1.0", "finite positive"),
        ("OFFSET", "inf", "finite number"), ("OFFSET", "nan", "finite number"),
        ("SW_p", "0.0", "finite positive"), ("SW_p", "inf", "finite positive"),
        ("SI", "0", "positive integer"), ("SI", "1.5", "positive integer"), ("SI", "inf", "positive integer"),
        ("NC_proc", "5000", "[-100, 100]"), ("NC_proc", "-5000", "[-100, 100]"), ("NC_proc", "nan", "integer"),
        ("DTYPP", "inf", "0 (int32) or 2"), ("BYTORDP", "nan", "0 (little endian)"),
        ("SF", "1e-300", "axis"), ("OFFSET", "1e308", "axis"),
    ],
)
def test_processed_absurd_procs(own, key, value, allowed):
    pdir = processed(own)
    set_param(pdir, key, value, "procs")
    data_error(lambda: read_bruker_processed(own), key, str(pdir), allowed)


def test_processed_non_finite_values_and_memory(own, monkeypatch):
    pdir = processed(own, DTYPP=2)
    v = np.ones(256)
    v[3] = np.inf
    ng.bruker.write_binary(str(pdir / "1r"), {}, v, big=False, isfloat=True, overwrite=True)
    ng.bruker.write_binary(str(pdir / "1i"), {}, np.ones(256), big=False, isfloat=True, overwrite=True)
    data_error(lambda: read_bruker_processed(own), "1r", str(pdir), "NaN or infinite")
    v[3] = 1e308
    ng.bruker.write_binary(str(pdir / "1r"), {}, v, big=False, isfloat=True, overwrite=True)
    set_param(pdir, "NC_proc", "100", "procs")  # 1e308 · 2**100 overflows
    data_error(lambda: read_bruker_processed(own), "1r", "NC_proc")
    set_param(pdir, "NC_proc", "0", "procs")
    assert np.isfinite(read_bruker_processed(own).values).all()
    monkeypatch.setattr(bruker, "_memory_limit", lambda: 2**12)
    data_error(lambda: read_bruker_processed(own), "SI = 256", "GiB of memory")
