"""Timing helper shared by the benchmark scripts (run as
``python benchmarks/bench_*.py``, which puts this folder on sys.path)."""

from __future__ import annotations

import time

import numpy as np


def best_of(f, repeat: int = 3):
    """Best wall time of ``repeat`` calls of ``f`` and the last result."""
    best, out = np.inf, None
    for _ in range(repeat):
        t = time.perf_counter()
        out = f()
        best = min(best, time.perf_counter() - t)
    return best, out
