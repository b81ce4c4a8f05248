"""The model fit (issue 11): speed, parameter recovery, robustness to the start.

Part 1, performance: one global fit of 9 readouts × 19 Ωt (2 channels,
2048 points) with 5 free model parameters and the receiver phases, on data
simulated with the chloroform platform's relaxation and noise.  Prints the
wall time (target < 30 s on 2 cores), the number of residual evaluations
and the time per evaluation, and the one-off cost of the forward model
(the cached Pauli-basis responses).

Part 2, recovery (must show 1): 3 parameter sets × 20 noise seeds; the
fraction of fitted parameters whose 95 % interval holds the truth (target
≥ 0.85) and the mean bias in units of the standard error (target < 1).

Part 3, start robustness (must show 2): every fitted parameter starts 30 %
away from the truth (a random sign per parameter); the fit with its seeded
multi-start must reach the global minimum (χ² within 1e-6 of the fit
started at the truth) in ≥ 95 % of the seeds.

    python benchmarks/bench_fit.py [--seeds 20] [--quick]

``--quick``: 7 Ωt × 512 points, 1 parameter set × 3 seeds, in seconds.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from nmrqb import DipolarModel
from nmrqb.fit import ForwardModel, fit_fids
from nmrqb.simulation import simulate_experiment
from nmrqb.translate import translate
from pulses.platform import chloroform_13c

SETS = [
    dict(B=0.5, D=0.3, G=0.2, Delta=1.0, epsilon=0.5, T=1.0),
    dict(B=0.0, D=0.0, G=0.0, Delta=1.0, epsilon=0.5, T=1.0),
    dict(B=1.0, D=-0.5, G=0.5, Delta=2.0, epsilon=-0.3, T=1.5),
]
VARY = ("B", "D", "G", "Delta", "epsilon", "alpha")


def experiment(params, n_omega, points, relaxation):
    m = DipolarModel(**{k: v for k, v in params.items() if k != "T"})
    ex = translate(m, params["T"], chloroform_13c(), omega_t=np.linspace(0.0, np.pi, n_omega), points=points)
    sim = simulate_experiment(ex, relaxation=relaxation)
    fw = ForwardModel(ex, relaxation=relaxation)
    data = np.array([[sim.fids[key][ch].data for ch in fw.channels] for key in fw.keys])
    return fw, data, {**params, "alpha": ex.preparation.alpha}


def noisy(data, sigma, seed):
    rng = np.random.default_rng(seed)
    return data + sigma * (rng.standard_normal(data.shape) + 1j * rng.standard_normal(data.shape))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    n_omega, points = (7, 512) if args.quick else (19, 2048)
    seeds = 3 if args.quick else args.seeds
    sets = SETS[:1] if args.quick else SETS

    # -- part 1: performance ------------------------------------------------------------
    t0 = time.perf_counter()
    fw, data, truth = experiment(SETS[0], n_omega, points, relaxation=True)
    t_fw = time.perf_counter() - t0
    sigma = 0.01 * float(np.abs(data).max())
    y = noisy(data, sigma, 0)
    start = {k: (v * 1.2 if k in ("B", "G", "Delta", "epsilon") else v) for k, v in truth.items()}
    t0 = time.perf_counter()
    res = fit_fids(fw, y, start, vary=("B", "G", "Delta", "epsilon", "alpha"), sigma=sigma)
    t_fit = time.perf_counter() - t0
    nfev = int(res.result.nfev)
    print(f"part 1: {len(fw.keys)} (Ωt, readout) pairs x {len(fw.channels)} channels x {points} points, "
          f"5 model parameters + {len(fw.channels)} phases")
    print(f"  forward model (cached Pauli-basis responses, once): {t_fw:.2f} s")
    print(f"  fit: {t_fit:.2f} s, {nfev} residual evaluations, {1e3 * t_fit / max(nfev, 1):.2f} ms each; "
          f"reduced chi2 {res.redchi:.3f}; target < 30 s: {'n/a (quick)' if args.quick else ('ok' if t_fit < 30 else 'MISSED')} "
          f"({30 / t_fit:.1f}x under)")

    # -- parts 2 and 3: recovery and start robustness ---------------------------------------
    hits, zs, reached, n_fits = [], [], [], 0
    t0 = time.perf_counter()
    for params in sets:
        fw, data, truth = experiment(params, 7 if not args.quick else 5, 512, relaxation=False)
        sigma = 0.005 * float(np.abs(data).max())
        for seed in range(seeds):
            y = noisy(data, sigma, 1000 + seed)
            at_truth = fit_fids(fw, y, truth, vary=VARY, sigma=sigma)
            for n in VARY:
                lo, hi = at_truth.interval(n)
                hits.append(lo <= truth[n] <= hi)
                zs.append((at_truth.values[n] - truth[n]) / at_truth.stderr[n])
            rng = np.random.default_rng(seed)
            far = dict(truth)
            for n in VARY:
                far[n] = truth[n] * (1 + 0.3 * rng.choice([-1, 1])) if truth[n] != 0 else 0.3 * rng.choice([-1, 1])
            away = fit_fids(fw, y, far, vary=VARY, sigma=sigma, n_starts=8, seed=seed)
            chi_t = float(at_truth.result.chisqr)
            reached.append(abs(float(away.result.chisqr) - chi_t) <= 1e-6 * chi_t)
            n_fits += 2
    dt = time.perf_counter() - t0
    cover, bias, reach = float(np.mean(hits)), float(np.mean(zs)), float(np.mean(reached))
    print(f"part 2: {len(sets)} parameter sets x {seeds} seeds ({n_fits} fits in {dt:.0f} s)")
    print(f"  95 % intervals holding the truth: {cover:.3f} (target >= 0.85: {cover / 0.85:.2f}x; "
          f"{'n/a (quick)' if args.quick else ('ok' if cover >= 0.85 else 'MISSED')})")
    print(f"  mean bias / standard error: {bias:+.3f} (target |.| < 1); spread of (fit - truth)/se: {np.std(zs):.3f}")
    print(f"part 3: starts 30 % away on every parameter, 8 seeded starts: global minimum reached in {reach:.3f} of the "
          f"seeds (target >= 0.95: {reach / 0.95:.2f}x; {'n/a (quick)' if args.quick else ('ok' if reach >= 0.95 else 'MISSED')})")


if __name__ == "__main__":
    main()
