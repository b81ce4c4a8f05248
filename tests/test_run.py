"""Issue 10: `nmrqb run` end to end.

Every shipped protocol runs (reduced: 3 Ωt, 512 points, a small bootstrap)
and its results.json validates against the published schema; without noise
and relaxation the reconstructed metrics equal the model's to 1e-6; the
output folder is validated before anything runs, replaced only with --force
and only when it holds an earlier run.  The coverage of the intervals over
40 seeds is ``benchmarks/bench_coverage.py`` (its --quick mode runs in
test_benchmarks_quick.py).
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from nmrqb import cli
from nmrqb.errors import DataError
from nmrqb.protocol import load_protocol, shipped_protocols
from nmrqb.run import run_protocol, write_run

SCHEMA = json.loads((resources.files("nmrqb") / "schemas" / "results.schema.json").read_text())


def reduced(p, **extra):
    changes = {"charging.omega_t": [0.0, 0.6, 1.2], "acquisition.points": 512, "analysis.bootstrap": 20}
    if p.readouts() is None:
        changes.pop("analysis.bootstrap")
    changes.update(extra)
    return p.replace(**changes)


def validate(doc):
    import jsonschema

    jsonschema.validate(doc, SCHEMA)


@pytest.mark.parametrize("name", sorted(shipped_protocols()))
def test_every_shipped_protocol_runs_reduced_and_its_results_validate(name, tmp_path):
    p = reduced(load_protocol(shipped_protocols()[name]))
    result = run_protocol(p)
    paths = write_run(result, tmp_path / "out")
    doc = json.loads(paths["results"].read_text())
    validate(doc)
    assert doc["format"] == "nmrqb.results/1" and doc["protocol"]["name"] == p.name
    for m in ("ergotropy", "power", "capacity", "l1_coherence"):
        assert len(doc["metrics"][m]["reconstructed"]) == 3
        assert all(np.isfinite(doc["metrics"][m]["reconstructed"]))
    assert load_protocol(paths["protocol"]) == p  # the exact protocol used
    html = paths["report"].read_text()
    for section in ("verdict", "metrics", "spectra", "states", "timeline", "plan", "protocol", "versions"):
        assert f"id='{section}'" in html
    if p.readouts() is not None:
        import nmrglue

        assert len(doc["bruker"]) == 2 * len(p.readouts())
        dic, data = nmrglue.bruker.read(str(tmp_path / "out" / doc["bruker"][0]["path"]))
        assert data.shape[0] == 3  # one row per Ωt


def test_noise_and_relaxation_off_reconstruct_the_model_to_1e_6(tmp_path):
    """Must show 5, first half (α-scaled as in the translate issue)."""
    p = load_protocol(shipped_protocols()["default"]).replace(
        **{"acquisition.noise": False, "acquisition.relaxation": False, "charging.omega_t": [0.0, 0.4, 0.873, 1.9],
           "acquisition.points": 1024})
    r = run_protocol(p)
    for m in ("ergotropy", "power", "capacity", "l1_coherence"):
        np.testing.assert_allclose(r.reconstructed[m], r.ideal[m], rtol=0, atol=1e-6, err_msg=m)
        np.testing.assert_allclose(r.expected[m], r.ideal[m], rtol=0, atol=1e-9, err_msg=m)


def test_noise_gives_intervals_that_hold_the_expected_value(tmp_path):
    p = load_protocol(shipped_protocols()["default"]).replace(
        **{"acquisition.relaxation": False, "charging.omega_t": [0.873], "acquisition.points": 1024,
           "acquisition.snr": 50.0, "analysis.bootstrap": 50, "acquisition.seed": 3})
    r = run_protocol(p)
    for m in ("ergotropy", "capacity", "l1_coherence"):
        assert r.standard_error[m][0] > 0
        # a 6-sigma band: this is a smoke test of the interval's scale, the coverage is the benchmark's
        assert abs(r.reconstructed[m][0] - r.bias[m][0] - r.ideal[m][0]) < 6 * r.standard_error[m][0], m
    assert "resolved to ±" in r.verdict


def test_run_refuses_a_non_empty_folder_before_running(tmp_path, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.tex").write_text("precious")
    t = time.perf_counter()
    assert cli.main(["run", "--out", str(out), "--quiet"]) == 1
    assert time.perf_counter() - t < 10  # refused up front, nothing simulated
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "exists and is not empty" in err and "--force" in err
    assert cli.main(["run", "--out", str(out), "--quiet", "--force"]) == 1
    err = capsys.readouterr().err
    assert "not an nmrqb run" in err
    assert (out / "thesis.tex").read_text() == "precious"


def test_force_replaces_an_earlier_run_whole(tmp_path):
    p = reduced(load_protocol(shipped_protocols()["default"]), **{"charging.omega_t": [0.5, 1.0]})
    out = tmp_path / "run"
    write_run(run_protocol(p), out)
    assert (out / "bruker" / "1" / "acqu2s").is_file()  # 2 Ωt: Bruker series, whose files --force replaces too
    with pytest.raises(DataError, match="--force"):
        write_run(run_protocol(p), out)
    (out / "report.html").write_text("an older report, edited")  # a file a run writes: replaced
    write_run(run_protocol(p.replace(**{"acquisition.seed": 9})), out, force=True)
    assert "an older report" not in (out / "report.html").read_text()  # the folder is the new run, whole
    assert json.loads((out / "results.json").read_text())["protocol"]["acquisition"]["seed"] == 9
    assert not [x for x in tmp_path.iterdir() if x.name.startswith(".")]


@pytest.fixture(scope="module")
def one_run(tmp_path_factory):
    p = reduced(load_protocol(shipped_protocols()["default"]), **{"charging.omega_t": [0.5]})
    result = run_protocol(p)
    folder = tmp_path_factory.mktemp("one") / "run"
    write_run(result, folder)
    return p, result, folder


@pytest.mark.parametrize("added, named", [("bruker/1/pdata/1/1r", "bruker/1/pdata"),
                                          ("my_analysis.ipynb", "my_analysis.ipynb"),
                                          ("bruker/1/audita.txt", "bruker/1/audita.txt"),
                                          ("bruker/notes/n.txt", "bruker/notes")])
def test_force_never_deletes_what_a_run_did_not_write(one_run, tmp_path, added, named, capsys):
    """Data loss (issue 8): TopSpin's processed data in a run's Bruker data
    set, or a user's file in the run folder, survive `nmrqb run --force`:
    the run is refused before anything runs, and every file is still there."""
    import shutil

    p, result, folder = one_run
    out = tmp_path / "run"
    shutil.copytree(folder, out)
    extra = out / added
    extra.parent.mkdir(parents=True, exist_ok=True)
    extra.write_bytes(b"processed or user data")
    before = {q: q.read_bytes() for q in out.rglob("*") if q.is_file()}
    proto = tmp_path / "p.toml"
    proto.write_text(p.to_toml())
    assert cli.main(["run", str(proto), "--out", str(out), "--force", "--quiet"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and named in err and "even with --force" in err
    with pytest.raises(DataError, match="did not write"):
        write_run(result, out, force=True)
    assert {q: q.read_bytes() for q in out.rglob("*") if q.is_file()} == before


def test_cli_run_json_and_one_line_errors(tmp_path):
    proto = tmp_path / "p.toml"
    p = reduced(load_protocol(shipped_protocols()["default"]), **{"charging.omega_t": [0.5]})
    proto.write_text(p.to_toml())
    r = subprocess.run([sys.executable, "-m", "nmrqb", "run", str(proto), "--out", str(tmp_path / "o"), "--json"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    doc = json.loads(r.stdout)
    validate(doc)
    bad = tmp_path / "bad.toml"
    bad.write_text(p.to_toml().replace("snr = ", "snr_db = "))
    r = subprocess.run([sys.executable, "-m", "nmrqb", "run", str(bad), "--out", str(tmp_path / "o2")],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 1 and r.stderr.count("\n") == 1 and "acquisition.snr_db" in r.stderr
    assert "did you mean 'snr'" in r.stderr and not (tmp_path / "o2").exists()


def test_ctrl_c_during_a_run_is_one_line_and_leaves_no_report(tmp_path):
    out = tmp_path / "o"
    proc = subprocess.Popen([sys.executable, "-m", "nmrqb", "run", "--out", str(out), "--quiet"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(6)  # inside the simulation or the fits
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and err.strip() == "nmrqb: interrupted"
    assert not out.exists()
    assert not [x for x in tmp_path.iterdir() if x.name.startswith(".")]


def test_shipped_protocols_are_installed_with_the_package():
    names = shipped_protocols()
    assert {"default", "dipolar_jb", "fig5", "fig6", "fig7", "fig8", "fig9"} <= set(names)
    assert all(Path(v).is_file() for v in names.values())


@pytest.mark.parametrize("change, key, words", [
    ({"acquisition.scans": 2}, "acquisition.scans", "3 sub-experiments"),
    ({"acquisition.spectral_width_hz": 100.0}, "acquisition.spectral_width_hz", "outside ±50 Hz"),
])
def test_validate_catches_what_only_the_translated_experiment_reveals(tmp_path, capsys, change, key, words):
    """Nothing runs on an invalid protocol: too few scans for the preparation's
    sub-experiments, or a spectral width that misses a line, are found by
    `nmrqb validate` (and before a run simulates anything), naming the key."""
    p = load_protocol(shipped_protocols()["default"]).replace(**change)
    f = tmp_path / "p.toml"
    f.write_text(p.to_toml())
    assert cli.main(["validate", str(f)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{key} = " in err and words in err, err
    t = time.perf_counter()
    assert cli.main(["run", str(f), "--out", str(tmp_path / "o"), "--quiet"]) == 1
    assert time.perf_counter() - t < 5 and not (tmp_path / "o").exists()  # refused before simulating


def test_integer_scans_change_only_the_noise():
    """The N scans are split n_j ≈ w_j N over the sub-experiments and the
    averages added with the exact weights: the noise is σ√(Σ w_j²/n_j),
    which is σ/√N when the split is exact and a little more otherwise."""
    from nmrqb.plan import scan_split
    from nmrqb.run import noise_scale

    assert scan_split([0.457, 0.424, 0.119], 16) == [7, 7, 2]
    assert noise_scale([0.5, 0.25, 0.25], 16) == pytest.approx(1 / 4, rel=1e-15)
    w = np.array([0.457, 0.424, 0.119])
    want = np.sqrt(np.sum(w**2 / np.array([7, 7, 2])))
    assert noise_scale(w, 16) == pytest.approx(want, rel=1e-15) and want > 1 / 4
    # never more scans than the protocol has, and never below σ/√N
    for weights, total in (([0.98, 0.01, 0.01], 3), ([0.9, 0.05, 0.05], 10), ([0.5, 0.3, 0.2], 7)):
        assert sum(scan_split(weights, total)) == total and min(scan_split(weights, total)) >= 1
        assert noise_scale(weights, total) >= 1 / np.sqrt(total) * (1 - 1e-12)
    # and a run adds exactly that noise to its FIDs
    p = reduced(load_protocol(shipped_protocols()["default"]), **{"charging.omega_t": [0.5]})
    r = run_protocol(p)
    want = {ch: r.noise_sigma[ch] * noise_scale(r.experiment.preparation.weights, p.acquisition.scans)
            for ch in r.noise_sigma}
    for per in r.fids.values():
        for ch, fid in per.items():
            assert fid.metadata["noise_sigma"] == pytest.approx(want[ch], rel=1e-15)
    assert r.to_json()["noise_sigma_recorded"] == pytest.approx(want, rel=1e-15)


def test_concurrence_and_discord_are_reported_normalised_and_raw():
    """The resources the pipeline reports for the non-linear measures: with
    noise and relaxation off, the α-normalised reconstructed concurrence and
    discord are the model's (1e-6), the raw NMR state's concurrence is 0 and
    its discord O(α²)."""
    p = reduced(load_protocol(shipped_protocols()["default"]), **{"acquisition.noise": False,
                                                                  "acquisition.relaxation": False, "model.D": 0.5})
    r = run_protocol(p)
    doc = r.to_json()
    res = doc["resources"]
    alpha = doc["alpha"]["value"]
    for m in ("concurrence", "discord"):
        np.testing.assert_allclose(res[m]["reconstructed"], res[m]["ideal"], rtol=0, atol=1e-6)
        assert max(res[m]["reconstructed_raw"]) <= 10 * alpha**2
    assert max(res["concurrence"]["ideal"]) > 0.01  # the model's states are entangled somewhere on the scan
    assert max(res["concurrence"]["reconstructed_raw"]) == 0.0
