"""The nmrqb console script, run as a user would (subprocess)."""

import json
import subprocess
import sys

import numpy as np
import pytest

from nmrqb import DipolarModel
from nmrqb import measures as M


def run(*args):
    return subprocess.run([sys.executable, "-m", "nmrqb", *args], capture_output=True, text=True, timeout=120)


def test_state_json_matches_the_library():
    p = run("state", "--B", "0", "--D", "0", "--G", "0", "--Delta", "1", "--epsilon", "0.5", "--T", "1", "--json")
    assert p.returncode == 0, p.stderr
    rep = json.loads(p.stdout)
    m = DipolarModel(Delta=1, epsilon=0.5)
    rho = m.gibbs_array(1.0)
    assert rep["parameters"] == {"B": 0, "D": 0, "G": 0, "Delta": 1, "epsilon": 0.5, "T": 1}
    np.testing.assert_allclose(rep["spectrum"]["energies"], [-4 / 3, -1 / 3, 0, 5 / 3], atol=1e-14)
    g = np.array(rep["gibbs_state"]["real"]) + 1j * np.array(rep["gibbs_state"]["imag"])
    np.testing.assert_allclose(g, rho, atol=1e-15)
    meas = rep["measures"]
    assert set(meas) == {
        "l1_coherence", "concurrence", "discord", "von_neumann_entropy",
        "mutual_information", "energy", "ergotropy", "capacity",
    }
    assert meas["concurrence"] == pytest.approx(M.concurrence(rho), abs=1e-15)
    assert meas["capacity"] == pytest.approx(M.capacity(rho, m), abs=1e-15)
    assert abs(meas["ergotropy"]) < 1e-14  # a Gibbs state is passive


def test_negative_numbers_in_exponent_notation_are_accepted():
    p = run("state", "--B", "-1e-1", "--Delta", "-2.5e0", "--epsilon", "-.5", "--json")
    assert p.returncode == 0, p.stderr
    pars = json.loads(p.stdout)["parameters"]
    assert (pars["B"], pars["Delta"], pars["epsilon"]) == (-0.1, -2.5, -0.5)


def test_figure_output_collisions_are_one_line_errors(tmp_path):
    (tmp_path / "fig5.png").mkdir()
    p = run("figure", "5", "--out", str(tmp_path))
    assert p.returncode == 1 and "Traceback" not in p.stderr
    assert p.stderr.strip().startswith(f"nmrqb: error: --out {str(tmp_path)!r}: cannot write fig5.png")


def test_closed_pipe_is_not_a_traceback():
    p = subprocess.run(
        f"{sys.executable} -m nmrqb state --Delta 1 --json | head -c 5", shell=True, capture_output=True, text=True
    )
    assert "Traceback" not in p.stderr


def test_state_text_output_lists_everything():
    p = run("state", "--Delta", "1", "--epsilon", "0.5")
    assert p.returncode == 0, p.stderr
    out = p.stdout
    for word in ("Spectrum", "E4", "Gibbs state", "l1_coherence", "concurrence", "discord", "ergotropy", "capacity"):
        assert word in out


@pytest.mark.parametrize(
    "args, line",
    [
        (["state", "--T", "0"], "nmrqb: error: T = 0.0 is not allowed: the temperature must be > 0"),
        (["state", "--T", "-2"], "nmrqb: error: T = -2.0 is not allowed: the temperature must be > 0"),
        (["state", "--B", "nan"], "nmrqb: error: B = nan is not allowed: it must be a finite real number"),
        (["state", "--Delta", "inf"], "nmrqb: error: Delta = inf is not allowed: it must be a finite real number"),
        (["state", "--B", "abc"], "nmrqb state: error: argument --B: 'abc' is not a real number"),
        (["state", "--Bee", "1"], "nmrqb: error: unrecognized arguments: --Bee 1"),
        (["state", "--T", "-1e3"], "nmrqb: error: T = -1000.0 is not allowed: the temperature must be > 0"),
        (["state", "--T", "-inf"], "nmrqb: error: T = -inf is not allowed: it must be a finite real number"),
        (["figure", "5", "--out", ""], "nmrqb: error: --out '' is not allowed: give an output folder"),
        (["figure", "5", "--out", "/proc/nmrqb-test"], "nmrqb: error: --out '/proc/nmrqb-test' cannot be created: No such file or directory"),
    ],
)
def test_bad_values_give_one_line_and_nonzero_exit(args, line):
    p = run(*args)
    assert p.returncode != 0
    assert p.stdout == ""
    assert p.stderr.strip() == line
    assert "Traceback" not in p.stderr
