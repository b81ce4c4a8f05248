"""Coverage of the reported intervals of `nmrqb run` over noise seeds.

Runs the default protocol with receiver noise and without relaxation (so the
model's value is the truth the intervals must hold) at 3 values of Ωt,
once per seed, and counts how often each metric's reported 95 % interval
(bias-corrected bootstrap with correlated line amplitudes, see
``nmrqb/run.py``) contains the ideal value.  Target (issue 10): ≥ 90 % over
40 seeds.  Also prints the ratio of the observed scatter of the estimates
to the mean reported standard error (1 when the errors are calibrated).

    python benchmarks/bench_coverage.py [--seeds 40] [--snr 50] [--quick]

``--quick`` runs 4 seeds with a small bootstrap in about 15 s: it checks
that the benchmark works, not the target.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from nmrqb.protocol import load_protocol, shipped_protocols
from nmrqb.run import METRIC_UNITS, run_protocol


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=40)
    ap.add_argument("--snr", type=float, default=50.0)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    seeds = 4 if args.quick else args.seeds
    base = load_protocol(shipped_protocols()["default"]).replace(
        **{"acquisition.relaxation": False, "charging.omega_t": [0.3, 0.873, 1.4], "acquisition.points": 1024,
           "acquisition.snr": args.snr, "analysis.bootstrap": 20 if args.quick else 100})
    hits = {m: [] for m in METRIC_UNITS}
    est = {m: [] for m in METRIC_UNITS}
    se = {m: [] for m in METRIC_UNITS}
    t0 = time.perf_counter()
    for seed in range(seeds):
        r = run_protocol(base.replace(**{"acquisition.seed": seed}))
        for m in METRIC_UNITS:
            hits[m].append((r.ci_low[m] <= r.ideal[m]) & (r.ideal[m] <= r.ci_high[m]))
            est[m].append(r.reconstructed[m] - r.bias[m])
            se[m].append(r.standard_error[m])
    dt = time.perf_counter() - t0
    conf = base.analysis.confidence
    print(f"{seeds} seeds x 3 Omega t, SNR {args.snr:g} per scan (both channels), 16 scans, no relaxation, "
          f"{base.analysis.bootstrap} bootstrap resamples: {dt:.0f} s")
    print(f"{'metric':<14}{'coverage':>10}{'per Omega t':>24}{'scatter/se':>12}  target >= 0.90 of {conf:.0%}")
    worst = 1.0
    for m in METRIC_UNITS:
        h = np.array(hits[m], dtype=float)
        scatter = np.array(est[m]).std(axis=0, ddof=1) if seeds > 1 else np.full(3, np.nan)
        ratio = float(np.mean(scatter / np.array(se[m]).mean(axis=0)))
        cov = float(h.mean())
        worst = min(worst, cov)
        per = " ".join(f"{x:.2f}" for x in h.mean(axis=0))
        print(f"{m:<14}{cov:>10.3f}{per:>24}{ratio:>11.2f}x")
    verdict = "n/a (quick)" if args.quick else ("ok" if worst >= 0.9 else "MISSED")
    print(f"worst coverage {worst:.3f} ({worst / 0.9:.2f}x the 0.90 target): {verdict}")


if __name__ == "__main__":
    main()
