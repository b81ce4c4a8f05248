"""Issue 11, must show 3 and 4: `nmrqb fit` on the output of `nmrqb run`.

The default protocol is run (noise, relaxation and all), then fitted from
its folder: the protocol's parameters lie inside the fit's 95 % intervals;
fitting the in-memory FIDs gives the same values to 1e-8 as reading the
run's Bruker data sets; a data set that does not match the protocol is a
one-line error naming the file; a single readout names the parameters it
leaves undetermined.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from nmrqb import DipolarModel, cli
from nmrqb.errors import DataError
from nmrqb.fit import FIT_FORMAT, ForwardModel, fids_array, fit_fids, fit_protocol, run_noise_sigma
from nmrqb.protocol import load_protocol, shipped_protocols
from nmrqb.run import run_protocol, write_run
from nmrqb.simulation import simulate_experiment
from nmrqb.translate import translate
from pulses.platform import chloroform_13c


@pytest.fixture(scope="module")
def default_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("fitcli")
    p = load_protocol(shipped_protocols()["default"])
    result = run_protocol(p)
    write_run(result, tmp / "run")
    return p, result, tmp


def test_nmrqb_fit_recovers_the_default_protocols_parameters(default_run):
    p, result, tmp = default_run
    r = subprocess.run([sys.executable, "-m", "nmrqb", "fit", shipped_protocols()["default"], str(tmp / "run"),
                        "--out", str(tmp / "fit"), "--json"], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    doc = json.loads(r.stdout)
    assert doc["format"] == FIT_FORMAT and doc["warnings"] == []
    # σ comes from the run's results.json, so the reduced χ² tests the model: over
    # 171 × 2 × 2048 complex points its standard deviation is √(2/1.4e6) = 0.0012;
    # 0.01 allows 8 of those
    assert doc["sigma_source"] == "given" and abs(doc["redchi"] - 1) < 0.01, doc["redchi"]
    for name, e in doc["parameters"].items():
        if e["protocol"] is None:
            continue  # nuisance parameters (receiver phases)
        assert e["determined"] and e["ci_low"] <= e["protocol"] <= e["ci_high"], (name, e)
    html = (tmp / "fit" / "fit.html").read_text()
    for section in ("summary", "parameters", "correlation", "residuals", "protocol", "versions"):
        assert f"id='{section}'" in html


def test_bruker_data_sets_and_in_memory_fids_give_the_same_fit(default_run):
    p, result, tmp = default_run
    from_disk = fit_protocol(p, tmp / "run")
    in_memory = fit_protocol(p, fids_array(result.experiment, result.fids), sigma=run_noise_sigma(tmp / "run"))
    assert from_disk.result.sigma == in_memory.result.sigma and from_disk.result.sigma_source == "given"
    np.testing.assert_array_equal(from_disk.data, in_memory.data)  # the Bruker round trip is bit-exact
    for n in from_disk.result.varied:
        assert from_disk.result.values[n] == pytest.approx(in_memory.result.values[n], rel=1e-8, abs=1e-14), n


def test_fit_region_hz_from_the_protocol_fits_spectral_windows(default_run):
    """[fit] region_hz = 40 (round-tripping through the protocol's TOML) makes
    nmrqb fit fit the complex spectra within ±40 Hz of the lines."""
    from nmrqb.protocol import loads_protocol

    p, result, tmp = default_run
    q = loads_protocol(p.replace(**{"fit.region_hz": 40.0, "fit.starts": 1}).to_toml())
    assert q.fit.region_hz == 40.0
    fr = fit_protocol(q, tmp / "run")
    assert fr.result.region_hz == 40.0 and fr.to_json()["region_hz"] == 40.0
    assert fr.result.sigma_source == "given" and abs(fr.result.redchi - 1) < 0.05


def test_the_fit_never_replaces_the_data_it_fits(default_run, capsys):
    p, result, tmp = default_run
    before = sorted(str(q) for q in (tmp / "run").rglob("*"))
    for out in (tmp / "run", tmp):
        assert cli.main(["fit", shipped_protocols()["default"], str(tmp / "run"), "--out", str(out), "--force"]) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "holds the data being fitted" in err
    assert sorted(str(q) for q in (tmp / "run").rglob("*")) == before


def test_a_wrong_model_shows_in_the_reduced_chi2_when_sigma_is_known(default_run):
    """With σ known (the run's record), a misfit is visible: fitting the
    default run (relaxation on) with a forward model without relaxation gives
    a reduced χ² far above 1; with σ from the residual it stays near 1."""
    p, result, tmp = default_run
    wrong = fit_protocol(p.replace(**{"fit.relaxation": False}), tmp / "run")
    assert wrong.result.sigma_source == "given" and wrong.result.redchi > 10, wrong.result.redchi
    blind = fit_protocol(p.replace(**{"fit.relaxation": False}), fids_array(result.experiment, result.fids))
    # σ from the first start's residual: the best start's reduced χ² is then at most N/(N − n_vary) ≈ 1 + 6e-6,
    # whatever the model
    assert blind.result.sigma_source == "residual" and 0.8 < blind.result.redchi < 1.0 + 1e-4


def test_a_data_set_that_does_not_match_the_protocol_is_named(default_run, tmp_path, capsys):
    p, result, tmp = default_run
    data = tmp_path / "data"
    shutil.copytree(tmp / "run", data)
    acqus = data / "bruker" / "3" / "acqus"
    text = acqus.read_text()
    sw = next(line for line in text.splitlines() if line.startswith("##$SW_h="))
    acqus.write_text(text.replace(sw, "##$SW_h= 1234.5"))
    with pytest.raises(DataError, match=r"bruker/3: spectral width 1234.5 Hz does not match"):
        fit_protocol(p, data)
    assert cli.main(["fit", shipped_protocols()["default"], str(data), "--out", str(tmp_path / "f")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "bruker/3" in err and "spectral width" in err
    assert cli.main(["fit", shipped_protocols()["default"], str(tmp_path), "--out", str(tmp_path / "g")]) == 1
    assert "no manifest.json" in capsys.readouterr().err


def test_one_readout_names_the_parameters_it_leaves_undetermined():
    """Must show 3 (one readout only): no confident numbers for what the data
    cannot fix."""
    truth = dict(B=0.5, D=0.3, G=0.2, Delta=1.0, epsilon=0.5, T=1.0)
    ex = translate(DipolarModel(**{k: v for k, v in truth.items() if k != "T"}), 1.0, chloroform_13c(),
                   omega_t=[0.3, 0.9, 1.6], points=256, readouts=["XI"])
    fw = ForwardModel(ex)
    sim = simulate_experiment(ex, relaxation=False)
    data = np.array([[sim.fids[key][ch].data for ch in fw.channels] for key in fw.keys])
    start = {**{k: 1.1 * v for k, v in truth.items()}, "T": 1.0, "alpha": ex.preparation.alpha}
    res = fit_fids(fw, data, start, sigma=1e-9)
    assert {"B", "Delta", "G"} <= set(res.undetermined)
    assert any("not determined separately" in w for w in res.warnings)
    for n in res.undetermined:
        with pytest.raises(Exception, match="not determined"):
            res.interval(n)


def test_a_data_set_a_derived_symmetry_leaves_ambiguous_is_named():
    """Must show 3 (a symmetry of docs/identifiability.md): readout XY at
    Ωt = 0 only cannot see the signs of D and G (their flips commute with the
    charging and change only what XY is blind to).  A local fit cannot see a
    discrete ambiguity; the fit names it from the derived symmetries."""
    truth = dict(B=0.5, D=0.3, G=0.2, Delta=1.0, epsilon=0.5, T=1.0)
    ex = translate(DipolarModel(**{k: v for k, v in truth.items() if k != "T"}), 1.0, chloroform_13c(),
                   omega_t=[0.0], points=256, readouts=["XY"])
    fw = ForwardModel(ex)
    sim = simulate_experiment(ex, relaxation=False)
    data = np.array([[sim.fids[key][ch].data for ch in fw.channels] for key in fw.keys])
    res = fit_fids(fw, data, {**truth, "alpha": ex.preparation.alpha}, sigma=1e-9)
    text = " | ".join(res.warnings)
    assert "sign of D is not determined" in text and "sign of G is not determined" in text
    assert {"D", "G"} <= set(res.undetermined)
    # the same fit with full tomography over a charging grid determines everything
    ex9 = translate(DipolarModel(**{k: v for k, v in truth.items() if k != "T"}), 1.0, chloroform_13c(),
                    omega_t=[0.0, 0.8], points=256)
    fw9 = ForwardModel(ex9)
    sim9 = simulate_experiment(ex9, relaxation=False)
    data9 = np.array([[sim9.fids[key][ch].data for ch in fw9.channels] for key in fw9.keys])
    res9 = fit_fids(fw9, data9, {**truth, "alpha": ex9.preparation.alpha}, sigma=1e-9)
    assert res9.undetermined == () and res9.warnings == ()


def test_one_bruker_data_set_per_readout_and_omega_t(default_run, tmp_path):
    """DATA as single-FID data sets, one per readout, channel and Ωt, mapped by
    a manifest with omega_t_index: the same fit as from the series."""
    import pulses
    from nmrqb.run import MANIFEST_FORMAT

    p, result, tmp = default_run
    p3 = p.replace(**{"charging.omega_t": [0.0, 0.9, 1.7], "readout.set": "minimal4", "acquisition.points": 512})
    r3 = run_protocol(p3)
    folder = tmp_path / "sets"
    folder.mkdir()
    entries, expno = [], 0
    for k in range(3):
        for r in r3.experiment.readout.names:
            for ch in r3.experiment.platform.channels:
                expno += 1
                pulses.write_bruker(r3.fids[(k, r)][ch], folder / str(expno))
                entries.append({"expno": expno, "readout": r, "channel": ch, "omega_t_index": k})
    (folder / "manifest.json").write_text(json.dumps({"format": MANIFEST_FORMAT, "omega_t": [0.0, 0.9, 1.7],
                                                     "datasets": entries}))
    a = fit_protocol(p3, folder)
    b = fit_protocol(p3, fids_array(r3.experiment, r3.fids))
    for n in a.result.varied:
        assert a.result.values[n] == pytest.approx(b.result.values[n], rel=1e-8, abs=1e-14), n
