"""Planning sweeps (issue 12): throughput on local processes and Dask, and the SNR plan.

Part 1, throughput: points per second of ``nmrqb.sweep.run_sweep`` for the
``battery`` stage (the model's metrics over the default protocol's 19 Ωt)
and the ``run`` stage (a full simulated experiment with bootstrap: the
default protocol reduced to 3 Ωt, 1024 points and 20 bootstrap draws, so a
point takes seconds, not minutes), on 1 and 2 local worker processes and on
a 2-worker Dask ``LocalCluster``.  Each executor is started and warmed up
(every worker has imported nmrqb) before the clock starts; the time includes
saving every chunk to the Zarr store; the run stage is the best of 3
alternating rounds.  Printed: points/s, the 1 → 2 worker
speed-up (target ≥ 1.7× on the run stage) and the Dask overhead against
local processes at 2 workers (target < 10 %).  The sweeps are also checked
to give identical datasets on every executor.

Part 2, planning (must show 3): the default protocol's own ``[sweep]`` (SNR
per scan 0.5 … 8, 5 log-spaced values × 50 replicas, tomography stage): the
minimum SNR that resolves the maximal ergotropy to ±5 % at 95 %, beside the
SNR that 1/SNR scaling of the tomography error predicts, and the log-log
slope of the error.

    python benchmarks/bench_sweep.py [--quick]

``--quick``: the battery stage only, 1 and 2 local workers, in seconds.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time

import numpy as np

from nmrqb.parallel import DaskExecutor, LocalExecutor
from nmrqb.protocol import load_protocol, shipped_protocols
from nmrqb.sweep import plan_sweep, run_sweep
from nmrqb.sweep_report import format_summary


def _warm(_):
    import nmrqb.run  # noqa: F401  (what every point imports)
    import nmrqb.sweep  # noqa: F401

    time.sleep(0.3)  # long enough that every worker takes one
    return os.getpid()


def warm_up(ex, workers):
    pids = set(ex.map(_warm, range(4 * workers)))
    return len(pids)


def timed(sweep, ex, chunk, tmp, tag):
    out = os.path.join(tmp, tag)
    t = time.perf_counter()
    r = run_sweep(sweep, out, executor=ex, chunk=chunk)
    dt = time.perf_counter() - t
    return len(sweep.grid) / dt, r.dataset


def same(a, b):
    for v in a.data_vars:
        x, y = a[v].values, b[v].values
        ok = np.array_equal(x, y, equal_nan=True) if x.dtype.kind == "f" else bool((x == y).all())
        if not ok:
            return False
    return True


def throughput(stage, sweep, chunk, tmp, dask=True, repeats=1):
    """Points/s per executor: the best of ``repeats`` rounds, the executors
    alternating within a round (a 2-core machine's run-to-run spread is
    ~15 %: one round can put 1 → 2 workers anywhere in 1.5–1.8×)."""
    rates, sets = {}, {}
    for rnd in range(repeats):
        for workers in (1, 2):
            with LocalExecutor(workers) as ex:
                warm_up(ex, workers)
                r, sets[f"local{workers}"] = timed(sweep, ex, chunk, tmp, f"{stage}-l{workers}-{rnd}")
                rates[f"local{workers}"] = max(r, rates.get(f"local{workers}", 0.0))
        if dask:
            with DaskExecutor(None, 2) as ex:
                warm_up(ex, 2)
                r, sets["dask2"] = timed(sweep, ex, chunk, tmp, f"{stage}-d2-{rnd}")
                rates["dask2"] = max(r, rates.get("dask2", 0.0))
    ident = all(same(sets["local1"], d) for d in sets.values())
    print(f"{stage:>8} stage, {len(sweep.grid)} points, chunks of {chunk}, best of {repeats}:")
    for k, v in rates.items():
        print(f"    {k:>7}: {v:8.2f} points/s")
    print(f"    1 -> 2 local workers: {rates['local2'] / rates['local1']:.2f}x speed-up")
    if dask:
        over = rates["local2"] / rates["dask2"] - 1.0
        print(f"    Dask LocalCluster (2 workers) vs 2 local processes: {over:+.1%} overhead "
              f"({rates['dask2'] / rates['local2']:.2f}x the local rate)")
    print(f"    identical datasets on every executor: {ident}")
    return rates


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="battery stage on local workers only")
    args = ap.parse_args()
    base = load_protocol(shipped_protocols()["default"])
    tmp = tempfile.mkdtemp(prefix="bench_sweep_")
    try:
        print(f"machine: {os.cpu_count()} CPUs")
        n_delta = 16 if args.quick else 64
        battery = plan_sweep(base, [f"model.Delta=-3:3:{n_delta}", "temperature.T=0.5,1,2"], replicas=1,
                             stage="battery")
        throughput("battery", battery, 8, tmp, dask=not args.quick)
        if args.quick:
            return
        small = base.replace(**{"charging.omega_t": {"start": 0.0, "stop": 1.4, "num": 3},
                                "acquisition.points": 1024, "analysis.bootstrap": 20})
        run = plan_sweep(small, ["acquisition.snr=2,8"], replicas=6, stage="run")
        throughput("run", run, 1, tmp, repeats=3)

        print("\nplanning: the default protocol's [sweep] (tomography stage)")
        sweep = plan_sweep(base)
        t = time.perf_counter()
        with LocalExecutor(2) as ex:
            r = run_sweep(sweep, os.path.join(tmp, "plan"), executor=ex)
        print(f"    {len(sweep.grid)} points in {time.perf_counter() - t:.1f} s on 2 workers")
        e = r.summary["entries"][0]
        for s, sd, m in zip(e["snr"], e["std"], e["mean"]):
            print(f"    SNR {s:7.3f}: z·std(relative error) = {r.summary['z'] * sd:.4f}, mean {m:+.4f}")
        for line in format_summary(r.summary):
            print("    " + line)
        ratio = e["min_snr"] / e["min_snr_1_over_snr"] if e["min_snr"] else float("nan")
        print(f"    interpolated / 1/SNR-predicted minimum SNR: {ratio:.3f}x")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
