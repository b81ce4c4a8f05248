"""Translate + simulate a full quantum-battery experiment on the J-coupled platform.

The experiment of issue 9: on the 13C-chloroform platform, the pseudo-Gibbs
preparation of ζ(T) (permutation sub-experiments and the eigenbasis unitary,
compiled into hard pulses and J evolutions), 19 charging values Ωt on
[0, π] and the nine {I, X, Y}⊗{I, X, Y} readouts with acquisition on both
channels (2048 points each), simulated with the platform's T1/T2.  Prints
the wall time of translation and simulation (target < 1 s on 2 cores) and
the ratio against running every full sequence (sub-experiment × Ωt ×
readout) separately through ``pulses.simulate``, the way a user without the
pipeline would (measured on a sample of sequences and extrapolated, said in
the output).

    python benchmarks/bench_translate.py [--points 2048] [--quick]

``--quick`` uses 3 Ωt values, 256 points and a 4-sequence naive sample, in
a few seconds; it checks that the benchmark runs, not the target.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from _timing import best_of

import pulses
from nmrqb import DipolarModel
from nmrqb.simulation import simulate_experiment
from nmrqb.translate import translate
from pulses.platform import chloroform_13c


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--points", type=int, default=2048)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    n_omega = 3 if args.quick else 19
    points = 256 if args.quick else args.points
    platform = chloroform_13c()
    model = DipolarModel(B=0.5, D=0.3, G=0.2, Delta=1.0, epsilon=0.5)
    omega_t = np.linspace(0, np.pi, n_omega)

    def run():
        ex = translate(model, 1.0, platform, omega_t=omega_t, points=points)
        return ex, simulate_experiment(ex, relaxation=True)

    run()  # warm-up (imports, first compilations)
    t_all, (ex, sim) = best_of(run, repeat=1 if args.quick else 3)
    t_tr, _ = best_of(lambda: translate(model, 1.0, platform, omega_t=omega_t, points=points),
                      repeat=1 if args.quick else 3)
    n_seq = ex.n_sequences
    print(f"full experiment on {platform.name}: {len(ex.preparation.subexperiments)} sub-experiments x "
          f"{n_omega} Omega t x {len(ex.readout.names)} readouts = {n_seq} sequences, {points} points x 2 channels")
    print(f"  translate: {t_tr * 1e3:.0f} ms; translate + simulate: {t_all * 1e3:.0f} ms "
          f"(target < 1000 ms: {'n/a (quick)' if args.quick else ('ok' if t_all < 1 else 'MISSED')})")
    # naive: every full sequence through pulses.simulate (fresh simulator each), on a sample
    sample = [(s, k, r) for s in range(len(ex.preparation.subexperiments)) for k in range(n_omega)
              for r in ex.readout.names]
    rng = np.random.default_rng(0)
    pick = [sample[i] for i in rng.choice(len(sample), size=4 if args.quick else 24, replace=False)]
    t0 = time.perf_counter()
    worst = 0.0
    for s, k, r in pick:
        res = pulses.simulate(platform.system, ex.sequence(s, k, r))
        w = ex.preparation.subexperiments[s].weight
        worst = max(worst, float(np.abs(res.fid("1H").data).max()) * w)
    t_naive = (time.perf_counter() - t0) / len(pick) * n_seq
    print(f"  every sequence separately through pulses.simulate: {t_naive:.2f} s (measured on {len(pick)} of "
          f"{n_seq} sequences, extrapolated)")
    print(f"  ratio: {t_naive / t_all:,.1f}x")
    print(f"  alpha = {ex.preparation.alpha:.3g}; {len(sim.fids)} FIDs per channel recorded")


if __name__ == "__main__":
    main()
