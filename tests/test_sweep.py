"""Planning sweeps end to end (issue 12): the Zarr store, chunk-atomic saves
and --resume after a SIGKILL, identical results on local processes and a Dask
LocalCluster, the planning summary and its 1/SNR scaling, the CLI."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nmrqb.errors import DataError, ProtocolError
from nmrqb.parallel import DaskExecutor, LocalExecutor
from nmrqb.protocol import load_protocol, loads_protocol, shipped_protocols
from nmrqb.sweep import METRICS, plan_sweep, run_sweep
from nmrqb.sweep_report import format_summary, planning_summary
from nmrqb.sweep_store import (STATUS_DONE, Layout, chunk_shape, load_sweep, open_store, saved_blocks,
                               write_block)

#: The Ωt of the default protocol's maximal ergotropy (the 5th of its 19 values, 2π/9).
OMEGA_T_MAX = 0.6981317007977318


@pytest.fixture(scope="module")
def proto():
    return load_protocol(shipped_protocols()["default"])


@pytest.fixture(scope="module")
def fast(proto):
    """The default protocol at the Ωt of its maximal ergotropy, minimal4
    readout, 256 points: a tomography point in ~0.1 s."""
    return proto.replace(**{"charging.omega_t": [OMEGA_T_MAX], "readout.set": "minimal4",
                            "acquisition.points": 256})


def _same(a, b):
    """Datasets with bit-identical values (NaN equal), coordinates and seeds."""
    assert set(a.data_vars) == set(b.data_vars)
    assert a["status"].dims == b["status"].dims
    for d in a["status"].dims:
        np.testing.assert_array_equal(a[d].values, b[d].values)
    for v in a.data_vars:
        x, y = a[v].values, b[v].values
        if x.dtype.kind == "f":
            assert np.array_equal(x, y, equal_nan=True), v
        else:
            assert (x == y).all(), v


# ------------------------------------------------------------------- layout
@settings(max_examples=60, deadline=None)
@given(shape=st.lists(st.integers(1, 7), min_size=1, max_size=4), points=st.integers(1, 60))
def test_blocks_cover_the_grid_exactly_once(shape, points):
    chunks = chunk_shape(shape, points)
    assert all(1 <= c <= n for c, n in zip(chunks, shape))
    assert math.prod(chunks) <= max(points, 1) or all(c == 1 for c in chunks[:-1])
    lay = Layout(tuple(f"d{i}" for i in range(len(shape))), tuple(shape), chunks)
    seen = np.zeros(shape, int)
    for b in range(len(lay)):
        seen[lay.block(b)] += 1
        assert len(list(lay.points(b))) == math.prod(s.stop - s.start for s in lay.block(b))
    assert (seen == 1).all()


def test_chunk_shape_takes_whole_trailing_dimensions():
    assert chunk_shape((5, 4, 50), 100) == (1, 2, 50)
    assert chunk_shape((5, 4, 50), 1) == (1, 1, 1)
    assert chunk_shape((5, 4, 50), 10**6) == (5, 4, 50)
    assert chunk_shape((3, 1), 2) == (2, 1)


# ------------------------------------------------------------- the protocol
def test_sweep_section_round_trips_and_is_the_default_of_plan_sweep(proto):
    p = proto.replace(**{"sweep.over": ["acquisition.snr=10:1000:log3", "model.Delta=1,2"], "sweep.replicas": 4,
                         "sweep.stage": "battery", "sweep.chunk": 5})
    assert p.sweep.over == ("acquisition.snr=10:1000:log3", "model.Delta=1,2") and p.sweep.chunk == 5
    assert loads_protocol(p.to_toml()) == p
    sw = plan_sweep(p)
    assert sw.grid.shape == (3, 2, 4) and sw.stage == "battery"
    assert plan_sweep(p, ["model.Delta=0,1,2"], replicas=1).grid.shape == (3, 1)  # the command line wins


@pytest.mark.parametrize("change, words", [
    ({"over": "model.Delta"}, ["sweep.over[0]", "FIELD=SPEC"]),
    ({"over": [1]}, ["sweep.over[0]"]),
    ({"replicas": 0}, ["sweep.replicas"]),
    ({"stage": "full"}, ["sweep.stage", "battery"]),
    ({"chunk": 0}, ["sweep.chunk"]),
    ({"overr": []}, ["sweep.overr", "did you mean 'over'"]),
])
def test_bad_sweep_section_is_a_one_line_error_naming_the_key(proto, change, words):
    from nmrqb.protocol import protocol_from_dict

    d = proto.to_dict()
    d["sweep"].update(change)
    with pytest.raises(ProtocolError) as ei:
        protocol_from_dict(d)
    msg = str(ei.value)
    assert "\n" not in msg and all(w in msg for w in words), msg


def test_plan_sweep_checks_every_axis_before_anything_runs(proto):
    with pytest.raises(ProtocolError, match="did you mean 'model.Delta'"):
        plan_sweep(proto, ["model.Deltaa=1,2"])
    with pytest.raises(ProtocolError, match="sweep its own"):
        plan_sweep(proto, ["sweep.replicas=1,2"])
    with pytest.raises(ProtocolError, match="did you mean 'battery'"):
        plan_sweep(proto, ["model.Delta=1,2"], stage="batery")


# --------------------------------------------------------------- executors
def test_local_processes_and_a_dask_localcluster_give_identical_results(fast, tmp_path):
    sw = plan_sweep(fast, ["acquisition.snr=3,30", "model.Delta=1,1.5"], replicas=2, stage="tomography")
    with LocalExecutor(2) as ex:
        a = run_sweep(sw, tmp_path / "local", executor=ex, chunk=1)
    with DaskExecutor(None, 2) as ex:
        b = run_sweep(sw, tmp_path / "dask", executor=ex, chunk=3)  # other chunks, too
    assert a.computed == 8 and b.computed == 4 and a.failed_points == 0  # chunks (1,1,1) and (1,1,2)
    assert (a.dataset["status"].values == STATUS_DONE).all()
    _same(a.dataset, b.dataset)
    # and the points differ from each other where they should: seeds from coordinates
    seeds = a.dataset["seed"].values.ravel()
    assert len(set(seeds.tolist())) == seeds.size
    # a point is the run of its own protocol: the same number from evaluate_point
    from nmrqb.sweep import evaluate_point, point_protocol

    i = sw.grid.index((1, 0, 1))
    direct = evaluate_point(point_protocol(fast, sw.grid, i), "tomography")
    assert direct["max_ergotropy"] == a.dataset["max_ergotropy"].values[1, 0, 1]


def test_battery_stage_matches_the_model_and_writes_csv_plots_summary(proto, tmp_path):
    from nmrqb.battery import charge

    sw = plan_sweep(proto, ["model.Delta=-1:2:4", "temperature.T=0.5,2"], stage="battery")
    with LocalExecutor(1, kind="thread") as ex:
        r = run_sweep(sw, tmp_path / "s", executor=ex)
    ds = r.dataset
    assert set(METRICS["battery"]) <= set(ds.data_vars) and ds["max_ergotropy"].dims == (
        "model.Delta", "temperature.T", "replica")
    p = proto.replace(**{"model.Delta": 2.0, "temperature.T": 0.5})
    want = charge(p.model(), p.T, p.omega_t()).maximum("ergotropy").value
    assert ds["max_ergotropy"].sel({"model.Delta": 2.0, "temperature.T": 0.5}).item() == want
    rows = (tmp_path / "s" / "sweep.csv").read_text().splitlines()
    assert rows[0].startswith("model.Delta,temperature.T,replica,seed,status,") and len(rows) == 1 + 8
    assert {f.name for f in (tmp_path / "s" / "plots").iterdir()} == {f"{m}.png" for m in METRICS["battery"]}
    summary = json.loads((tmp_path / "s" / "summary.json").read_text())
    assert summary["kind"] == "ranges" and summary["ranges"]["max_ergotropy"]["max"] == pytest.approx(
        float(ds["max_ergotropy"].max()))
    _same(load_sweep(tmp_path / "s"), ds)


def test_a_point_the_physics_refuses_is_recorded_not_fatal(proto, tmp_path):
    sw = plan_sweep(proto, ["temperature.T=1e-300,1"], stage="battery")
    with LocalExecutor(1, kind="thread") as ex:
        r = run_sweep(sw, tmp_path / "s", executor=ex)
    st_ = r.dataset["status"].values.ravel().tolist()
    assert r.failed_points == st_.count(2)
    for k, s in enumerate(st_):
        msg = r.dataset["error"].values.ravel()[k]
        assert (s == 1 and msg == "" and np.isfinite(r.dataset["max_ergotropy"].values.ravel()[k])) or (
            s == 2 and "\n" not in msg and msg and np.isnan(r.dataset["max_ergotropy"].values.ravel()[k]))


# ----------------------------------------------------------- out and resume
def test_out_folder_rules(proto, tmp_path):
    sw = plan_sweep(proto, ["model.Delta=1,2"], stage="battery")
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(DataError, match="not an nmrqb sweep"):
        run_sweep(sw, foreign, force=True)
    assert (foreign / "notes.txt").read_text() == "mine"
    out = tmp_path / "s"
    with LocalExecutor(1, kind="thread") as ex:
        run_sweep(sw, out, executor=ex)
        with pytest.raises(DataError, match="--resume"):
            run_sweep(sw, out, executor=ex)
        other = plan_sweep(proto, ["model.Delta=1,3"], stage="battery")
        with pytest.raises(DataError, match="other axes"):
            run_sweep(other, out, executor=ex, resume=True)
        with pytest.raises(DataError, match="other protocol"):
            run_sweep(plan_sweep(proto.replace(**{"temperature.T": 2.0}), ["model.Delta=1,2"], stage="battery"),
                      out, executor=ex, resume=True)
        (out / "mine.txt").write_text("x")
        with pytest.raises(DataError, match="did not write"):
            run_sweep(sw, out, executor=ex, force=True)
        (out / "mine.txt").unlink()
        r = run_sweep(other, out, executor=ex, force=True)
    assert r.dataset["model.Delta"].values.tolist() == [1.0, 3.0]


def test_a_half_written_block_is_not_saved(proto, tmp_path):
    """Metrics written without the status chunk (a kill between the two) do
    not count as saved; the commit point is the status chunk."""
    sw = plan_sweep(proto, ["model.Delta=1,2,3"], stage="battery")
    with LocalExecutor(1, kind="thread") as ex:
        run_sweep(sw, tmp_path / "s", executor=ex, chunk=1)
    g, lay, _ = open_store(tmp_path / "s" / "sweep.zarr")
    assert saved_blocks(g, lay) == {0, 1, 2}
    g["status"][lay.block(1)] = 0  # as if killed before the commit
    g["max_ergotropy"][lay.block(1)] = 99.0
    assert saved_blocks(g, lay) == {0, 2}
    with LocalExecutor(1, kind="thread") as ex:
        r = run_sweep(sw, tmp_path / "s", executor=ex, resume=True)
    assert (r.computed, r.skipped) == (1, 2)
    assert r.dataset["max_ergotropy"].values[1, 0] != 99.0
    write_block  # the writer under test is the one run_sweep uses  # noqa: B018


def _status_files(store: Path) -> int:
    return sum(1 for _ in (store / "status" / "c").rglob("*") if _.is_file()) if (store / "status" / "c").exists() \
        else 0


def test_sigkill_then_resume_computes_only_the_missing_chunks(fast, tmp_path):
    proto_file = tmp_path / "p.toml"
    proto_file.write_text(fast.to_toml())
    args = [sys.executable, "-m", "nmrqb", "sweep", str(proto_file), "--over", "acquisition.snr=2,4,8,16",
            "--replicas", "3", "--stage", "tomography", "--chunk", "1", "--workers", "1", "--quiet"]
    out = tmp_path / "killed"
    proc = subprocess.Popen(args + ["--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    store = out / "sweep.zarr"
    deadline = time.time() + 240
    while _status_files(store) < 3 and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, proc.communicate()[1][-2000:]
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(30)
    g, lay, _ = open_store(store)
    saved = saved_blocks(g, lay)
    assert len(lay) == 12 and 3 <= len(saved) < 12
    assert not (out / "sweep.csv").exists()  # only a finished sweep gets its CSV
    r = subprocess.run(args[:-1] + ["--out", str(out), "--resume"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    first = r.stdout.splitlines()[0]
    n = len(saved)
    assert f"in 12 chunks: {12 - n} computed, {n} already saved" in first, (first, n)
    r2 = subprocess.run(args[:-1] + ["--out", str(out), "--resume"], capture_output=True, text=True, timeout=300)
    assert "in 12 chunks: 0 computed, 12 already saved" in r2.stdout.splitlines()[0]
    whole = tmp_path / "whole"
    r3 = subprocess.run(args + ["--out", str(whole)], capture_output=True, text=True, timeout=300)
    assert r3.returncode == 0, r3.stderr[-2000:]
    _same(load_sweep(out), load_sweep(whole))
    assert (out / "sweep.csv").read_text() == (whole / "sweep.csv").read_text()


def test_resume_counts_the_recomputed_chunks_in_process(fast, tmp_path):
    sw = plan_sweep(fast, ["acquisition.snr=2,8"], replicas=3, stage="tomography")
    with LocalExecutor(1, kind="thread") as ex:
        whole = run_sweep(sw, tmp_path / "whole", executor=ex, chunk=1)
        g, lay, _ = open_store(tmp_path / "whole" / "sweep.zarr")
        # a copy with 2 of 6 chunks un-committed: resume computes those 2 only
        import shutil

        shutil.copytree(tmp_path / "whole", tmp_path / "part")
        gp, _, _ = open_store(tmp_path / "part" / "sweep.zarr")
        for b in (1, 4):
            gp["status"][lay.block(b)] = 0
        r = run_sweep(sw, tmp_path / "part", executor=ex, resume=True)
    assert (r.computed, r.skipped, r.chunks) == (2, 4, 6)
    _same(r.dataset, whole.dataset)


# -------------------------------------------------------------- the summary
def _synthetic(snr, c, replicas=4, other=None):
    """A tomography-stage dataset whose relative error has std exactly c/SNR
    over the replicas (±a pattern) and mean m."""
    import xarray as xr

    base = np.array([1.0, -1.0] * (replicas // 2))
    base = base / base.std(ddof=1)
    rel = (c / np.asarray(snr, float))[:, None] * base[None, :] - 0.01
    ds = xr.Dataset({"relative_error": (("acquisition.snr", "replica"), rel),
                     "status": (("acquisition.snr", "replica"), np.ones(rel.shape, np.int8))},
                    coords={"acquisition.snr": np.asarray(snr, float), "replica": np.arange(replicas)},
                    attrs={"stage": "tomography"})
    return ds


def test_summary_is_exact_for_an_exact_one_over_snr_error():
    from scipy.stats import norm

    c, target, conf = 0.08, 0.05, 0.95
    z = norm.ppf(0.975)
    s = planning_summary(_synthetic(np.geomspace(0.5, 50, 7), c), target=target, confidence=conf)
    e = s["entries"][0]
    want = c * z / target
    assert s["kind"] == "min_snr" and e["reached"] == "on grid"
    assert e["min_snr"] == pytest.approx(want, rel=1e-12)  # log-log interpolation of a power law is exact
    assert e["min_snr_1_over_snr"] == pytest.approx(want, rel=1e-12)
    assert e["slope"] == pytest.approx(-1.0, abs=1e-12)
    assert e["systematic"] == pytest.approx(-0.01, abs=1e-15)
    lines = format_summary(s)
    assert any("minimum acquisition.snr for ±5% ergotropy" in ln for ln in lines)
    # beyond the grid either way
    assert planning_summary(_synthetic([0.1, 0.2], c))["entries"][0]["reached"] == "above grid"
    assert planning_summary(_synthetic([100, 200], c))["entries"][0]["reached"] == "below grid"
    assert planning_summary(_synthetic([100, 200], c, replicas=2).isel(replica=[0]))["kind"] == "ranges"


def test_minimum_snr_of_the_default_protocol_agrees_with_one_over_snr_scaling(proto, tmp_path):
    """Must show 3: the default protocol (its tomography stage simulates the
    Ωt of the maximal ergotropy, full9 readout), SNR per scan 1, 2, 4 (around
    the answer) × 24 replicas; benchmarks/bench_sweep.py runs the shipped
    [sweep] (5 SNR values × 50 replicas).

    Tolerances: a std from 24 replicas has a relative standard error
    1/sqrt(2·23) = 15 %; the interpolated crossing rests on two such stds and
    the 1/SNR prediction on their geometric mean, so their ratio scatters by
    ~20 % (1σ): we ask 0.6-1.6 (2.5σ), and a slope within ±0.3 of −1
    (its standard error from three 15 % points over a factor 4 is ~0.15)."""
    assert proto.sweep.stage == "tomography" and proto.sweep.over == ("acquisition.snr=0.5:8:log5",)
    sw = plan_sweep(proto, ["acquisition.snr=1,2,4"], replicas=24)  # the shipped [sweep], fewer points
    with LocalExecutor(2) as ex:
        r = run_sweep(sw, tmp_path / "s", executor=ex, chunk=12)
    e = r.summary["entries"][0]
    assert r.summary["kind"] == "min_snr" and e["reached"] == "on grid", r.summary
    assert 0.6 < e["min_snr"] / e["min_snr_1_over_snr"] < 1.6, e
    assert -1.3 < e["slope"] < -0.7, e
    # the systematic part (relaxation during the experiment) is well inside ±5 % and SNR-independent
    assert abs(e["systematic"]) < 0.05
    assert (tmp_path / "s" / "plots" / "ergotropy_error.png").stat().st_size > 1000


# ---------------------------------------------------------------------- CLI
@pytest.mark.parametrize("argv, words", [
    (["--over", "model.Deltaa=1,2"], "did you mean 'model.Delta'"),
    (["--over", "model.Delta=1:2:0"], "0 points"),
    (["--over", "acquisition.snr=0:10:log3"], "log range"),
    (["--over", "model.Delta"], "missing '='"),
    (["--over", "model.Delta=1,2", "--scheduler", "localhost:8786"], "tcp://HOST:PORT"),
    (["--over", "model.Delta=1,2", "--stage", "tomo"], "did you mean 'tomography'"),
    (["--over", "model.Delta=1,2", "--replicas", "0"], "replicas"),
    (["--over", "model.Delta=1,2", "--stage", "battery", "--workers", "0"], "workers = 0"),
    (["--over", "model.Delta=1,2", "--stage", "battery", "--workers", "2000"], "workers = 2000"),
])
def test_cli_bad_sweep_is_one_line_before_anything_is_created(tmp_path, capsys, argv, words):
    from nmrqb import cli

    assert cli.main(["sweep", *argv, "--out", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("nmrqb: error: ") and words in err, err
    assert not (tmp_path / "o").exists()


def test_cli_battery_sweep_prints_the_summary(tmp_path):
    r = subprocess.run([sys.executable, "-m", "nmrqb", "sweep", "--over", "model.Delta=0:2:3", "--stage",
                        "battery", "--workers", "1", "--out", str(tmp_path / "o")],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.startswith("3 points (3 × 1) in 1 chunks: 1 computed, 0 already saved")
    assert "max_ergotropy:" in r.stdout and "sweep.zarr" in r.stdout


def test_validate_checks_the_sweep_axes_against_the_protocol(proto, tmp_path, capsys):
    from nmrqb import cli

    good = tmp_path / "good.toml"
    good.write_text(proto.to_toml())
    assert cli.main(["validate", str(good)]) == 0
    bad = tmp_path / "bad.toml"
    bad.write_text(proto.replace(**{"sweep.over": ["acquisition.snrr=1,2"]}).to_toml())
    capsys.readouterr()
    assert cli.main(["validate", str(bad)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "did you mean 'acquisition.snr'" in err
    assert f"{bad}: sweep.over[0]: " in err  # the file and the key the axes came from


def _die(task):
    os._exit(3)  # a worker killed (out of memory, kill -9)


def test_a_dead_worker_is_a_one_line_error_and_keeps_the_saved_chunks(proto, tmp_path, monkeypatch):
    import nmrqb.sweep as sweep_mod
    from nmrqb.errors import NmrqbError

    sw = plan_sweep(proto, ["model.Delta=1,2"], stage="battery")
    monkeypatch.setattr(sweep_mod, "evaluate_block", _die)
    with pytest.raises(NmrqbError) as ei:
        run_sweep(sw, tmp_path / "s", workers=1)
    assert "--resume" in str(ei.value) and "\n" not in str(ei.value)
    assert (tmp_path / "s" / "sweep.zarr").is_dir()


def test_ctrl_c_to_the_process_group_is_one_line_and_the_sweep_resumes(fast, tmp_path):
    """A terminal's Ctrl-C reaches the parent and its workers: the workers
    print nothing, the parent one line, and --resume finishes the sweep."""
    proto_file = tmp_path / "p.toml"
    proto_file.write_text(fast.to_toml())
    args = [sys.executable, "-m", "nmrqb", "sweep", str(proto_file), "--over", "acquisition.snr=2,4,8",
            "--replicas", "4", "--chunk", "1", "--workers", "2", "--quiet", "--out", str(tmp_path / "o")]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    store = tmp_path / "o" / "sweep.zarr"
    deadline = time.time() + 240
    while _status_files(store) < 1 and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err[-2000:]
    assert err.count("\n") == 1 and err.startswith("nmrqb: interrupted") and "--resume" in err, err
    r = subprocess.run(args[:-3] + ["--out", str(tmp_path / "o"), "--resume"], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0 and "already saved" in r.stdout, r.stderr[-2000:]
