"""Every benchmark runs in its ``--quick`` mode, so none can rot unnoticed
(issue 8: ``bench_tomography.py`` crashed in its part 2 for a release).

A quick run uses tiny sizes: its timings mean nothing, but every code path of
the benchmark (each part, each comparison against the peer, each printed
ratio) is exercised against the current API.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).parents[1] / "benchmarks"
SCRIPTS = sorted(p.name for p in BENCH.glob("bench_*.py"))


def test_every_benchmark_is_covered():
    assert {"bench_maps.py", "bench_measures.py", "bench_pulses.py", "bench_tomography.py"} <= set(SCRIPTS)


@pytest.mark.parametrize("script", SCRIPTS)
def test_benchmark_quick_mode_runs_and_prints_ratios(script):
    p = subprocess.run([sys.executable, str(BENCH / script), "--quick"], capture_output=True, text=True,
                       timeout=180, cwd=BENCH)
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-4000:]
    assert "Traceback" not in p.stderr
    # a ratio against a peer or a target: "12.3x", "1,234x" or "12.3×"
    assert re.search(r"\d[\d,]*(\.\d+)?\s*[x×](?![a-z])", p.stdout), p.stdout[-2000:]
