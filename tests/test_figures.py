"""`nmrqb figure all`: eight PNGs with the paper's panels, and CSVs whose
numbers the public API reproduces."""

import csv
import json
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

from nmrqb import DipolarModel
from nmrqb import measures as M
from nmrqb.battery import charge
from nmrqb.dephasing import dephase

EXPECTED_PANELS = {3: 15, 4: 15, 5: 4, 6: 4, 7: 4, 8: 4, 9: 4, 10: 16}
PARAMS = ("B", "D", "G", "Delta", "epsilon")


@pytest.fixture(scope="module")
def figdir(tmp_path_factory):
    out = tmp_path_factory.mktemp("figures")
    t0 = time.perf_counter()
    p = subprocess.run(
        [sys.executable, "-m", "nmrqb", "figure", "all", "--out", str(out)], capture_output=True, text=True, timeout=600
    )
    elapsed = time.perf_counter() - t0
    assert p.returncode == 0, p.stderr
    return out, elapsed


def test_figure_all_runs_in_under_two_minutes(figdir):
    _, elapsed = figdir
    assert elapsed < 120, f"nmrqb figure all took {elapsed:.1f} s"


@pytest.mark.parametrize("n", sorted(EXPECTED_PANELS))
def test_png_is_nonblank_with_the_paper_panel_count(figdir, n):
    out, _ = figdir
    png = out / f"fig{n}.png"
    img = Image.open(png)
    assert img.info.get("Description") == f"panels={EXPECTED_PANELS[n]}"
    a = np.asarray(img.convert("L"), dtype=float)
    assert a.shape[0] > 500 and a.shape[1] > 500
    assert (a < 200).mean() > 0.02 and a.std() > 20  # ink on the page
    meta = json.loads((out / f"fig{n}.json").read_text())
    assert len(meta["panels"]) == EXPECTED_PANELS[n]
    assert meta["assumptions"]


def read_rows(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def sample(rows, k, seed):
    rng = np.random.default_rng(seed)
    return [rows[i] for i in rng.choice(len(rows), size=k, replace=False)]


def model_of(row):
    return DipolarModel(**{k: float(row[k]) for k in PARAMS})


def test_fig3_csv_reproduces_from_dephase(figdir):
    out, _ = figdir
    rows = read_rows(out / "fig3.csv")
    assert len(rows) == 15 * 3 * 2001
    assert {r["panel"] for r in rows} == {f"({c})" for c in "abcdefghijklmno"}
    ket00 = np.array([1, 0, 0, 0], complex)
    for r in sample(rows, 30, 1):
        res = dephase(model_of(r), ket00, [float(r["x"])], float(r["gamma"]))
        assert float(r["value"]) == pytest.approx(getattr(res, r["quantity"])[0], abs=1e-9)


def test_fig4_csv_reproduces_from_gibbs_states(figdir):
    out, _ = figdir
    rows = read_rows(out / "fig4.csv")
    f = {"concurrence": M.concurrence, "discord": M.discord, "coherence": M.l1_coherence}
    for r in sample(rows, 30, 2):
        rho = model_of(r).gibbs(float(r["x"]))
        assert float(r["value"]) == pytest.approx(f[r["quantity"]](rho), abs=1e-9)


@pytest.mark.parametrize("n", [5, 6, 7, 8, 9])
def test_battery_csv_reproduces_from_charge(figdir, n):
    out, _ = figdir
    rows = read_rows(out / f"fig{n}.csv")
    assert {r["quantity"] for r in rows} == {"ergotropy", "power", "capacity", "coherence"}
    assert len({r["curve"] for r in rows}) == 5
    for r in sample(rows, 20, n):
        tr = charge(model_of(r), float(r["T"]), [float(r["x"])])
        assert float(r["value"]) == pytest.approx(getattr(tr, r["quantity"])[0], abs=1e-10)


def test_fig10_csv_reproduces_from_charge_maxima(figdir):
    out, _ = figdir
    meta = json.loads((out / "fig10.json").read_text())
    lo, hi, n = meta["settings"]["omega_t"]
    tau = np.linspace(lo, hi, n)
    rows = read_rows(out / "fig10.csv")
    assert len(rows) == 16 * meta["settings"]["grid"] ** 2
    # the ranges are in the CSV: every panel spans its stated axis ranges
    for col in meta["settings"]["columns"]:
        xs = [float(r[col["x"]]) for r in rows if r["x_name"] == col["x"] and r["y_name"] == col["y"]]
        assert (min(xs), max(xs)) == tuple(col["x_range"])
    name = {"capacity": "capacity", "max_coherence": "coherence", "max_ergotropy": "ergotropy", "max_power": "power"}
    for r in sample(rows, 24, 10):
        tr = charge(model_of(r), float(r["T"]), tau)
        expected = getattr(tr, name[r["quantity"]]).max()
        assert float(r["value"]) == pytest.approx(expected, abs=1e-10)


def test_unknown_figure_is_a_one_line_error(tmp_path):
    p = subprocess.run([sys.executable, "-m", "nmrqb", "figure", "11", "--out", str(tmp_path)],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 1
    assert p.stderr.strip() == "nmrqb: error: figure 11 is not allowed: choose 3 to 10 or 'all'"
