"""Fig. 10's sixteen maps: nmrqb's batched charging maps against a per-point
qutip loop.

Computes the 16 density maps of the paper's Fig. 10 (capacity and the
temporal maxima of l1 coherence, ergotropy and power over four parameter
planes) at 201×201 grid points with 512 Ωt samples each, exactly as
``nmrqb figure 10`` does, and prints the wall time, the point·time-samples
per second and the ratio against a loop written the way a qutip user would
(per grid point and Ωt: ``Qobj``, ``expm`` for U, ``eigenenergies`` for the
passive energy, an l1 sum).  The qutip loop runs, after a warm-up, on a
small sub-grid and is extrapolated (said in the output); both sides run with
single-threaded BLAS (set below, before numpy loads) so the ratio does not
depend on thread contention on a shared machine.  The ratio against the
issue's quoted qutip speed is printed too.  Also prints the peak traced memory of a
401×401 map with 1,000 Ωt samples (the issue's 2 GiB bound).

Targets (issue 3, 2-core machine): < 10 s for the 16 maps and ≥ 2,000× the
qutip loop.

    python benchmarks/bench_maps.py [--grid 201] [--samples 512] [--no-memory] [--quick]

``--quick`` runs every part at tiny sizes (a 21×21 grid, 64 samples, a
41×41×100 memory run) in a few seconds, still printing the ratios; it
checks that the benchmark works, not the targets (which are marked
"n/a (quick)").
"""

from __future__ import annotations

import os

# Both sides single-threaded BLAS, set before numpy loads: a fair,
# reproducible comparison on a shared 2-core machine.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import math  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402

import numpy as np  # noqa: E402
import qutip  # noqa: E402

from nmrqb import DipolarModel  # noqa: E402
from nmrqb.battery import charging_map  # noqa: E402
from nmrqb.figures import _MAP_COLUMNS  # noqa: E402

#: The issue's quoted speed of the per-point qutip loop on this machine.
ISSUE_QUTIP_RATE = 3_700


def qutip_point(model: DipolarModel, T: float, tau: np.ndarray):
    """Temporal maxima and capacity for one grid point, the qutip way."""
    H = model.hamiltonian()
    Hch = model.charging_hamiltonian(1.0)
    zeta = model.gibbs(T)
    eps = np.sort(H.eigenenergies())
    erg, pw, coh = [], [], []
    for t in tau:
        U = (-1j * Hch * t).expm()
        rho = U * zeta * U.dag()
        lam = np.sort(rho.eigenenergies())[::-1]
        erg.append(qutip.expect(H, rho) - np.dot(lam, eps))
        pw.append(qutip.expect(H, -1j * qutip.commutator(Hch, rho)).real)
        full = rho.full()
        coh.append(np.abs(full).sum() - np.abs(np.diag(full)).sum())
    lam0 = np.sort(zeta.eigenenergies())[::-1]
    return max(erg), max(pw), max(coh), np.dot(lam0, eps[::-1]) - np.dot(lam0, eps)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--grid", type=int, default=201)
    ap.add_argument("--samples", type=int, default=512)
    ap.add_argument("--no-memory", action="store_true", help="skip the 401x401x1000 memory run")
    ap.add_argument("--quick", action="store_true", help="every part at tiny sizes (a few seconds)")
    args = ap.parse_args()
    if args.quick:
        args.grid, args.samples = 21, 64
    n, nt = args.grid, args.samples
    mem_n, mem_nt = (41, 100) if args.quick else (401, 1000)

    def verdict(ok: bool) -> str:
        return "n/a (quick)" if args.quick else ("ok" if ok else "MISSED")

    tau = np.linspace(0.0, math.pi, nt)

    t0 = time.perf_counter()
    maps = []
    for xn, xr, yn, yr, fixed in _MAP_COLUMNS:
        maps.append(charging_map(xn, np.linspace(*xr, n), yn, np.linspace(*yr, n), tau, **fixed))
    ours = time.perf_counter() - t0
    work = 4 * n * n * nt
    print(f"Fig. 10: 16 maps = 4 planes x 4 metrics, {n}x{n} points, {nt} Omega t samples each")
    print(f"  nmrqb charging_map: {ours:.2f} s  ({work / ours:,.0f} point-time samples/s)  target < 10 s:"
          f" {verdict(ours < 10)}")

    # qutip loop on a small sub-grid of the first plane, checked against ours
    xn, xr, yn, yr, fixed = _MAP_COLUMNS[0]
    xs, ys = np.linspace(*xr, n), np.linspace(*yr, n)
    picks = [(0, 0), (n // 3, n // 2), (n - 1, n // 5), (n // 2, n - 1), (n // 7, n // 9), (n // 2, n // 2)]
    if args.quick:
        picks = picks[:2]
    qutip_point(DipolarModel(Delta=1.0), 1.0, tau[:16])  # warm-up (imports, caches)
    t0 = time.perf_counter()
    worst = 0.0
    for j, i in picks:
        p = dict(fixed, **{xn: xs[i], yn: ys[j]})
        T = p.pop("T")
        e, pw, c, q = qutip_point(DipolarModel(**p), T, tau)
        m = maps[0]
        worst = max(worst, abs(e - m.max_ergotropy[j, i]), abs(pw - m.max_power[j, i]),
                    abs(c - m.max_coherence[j, i]), abs(q - m.capacity[j, i]))
    qt = time.perf_counter() - t0
    q_rate = len(picks) * nt / qt
    q_total = work / q_rate
    print(f"  qutip loop: {q_rate:,.0f} point-time samples/s measured on {len(picks)} points x {nt} samples;"
          f" extrapolated to the 16 maps: {q_total:,.0f} s")
    print(f"  ratio: {q_total / ours:,.0f}x  target >= 2,000x: {verdict(q_total / ours >= 2000)}")
    issue_total = work / ISSUE_QUTIP_RATE
    print(f"  ratio against the issue's quoted {ISSUE_QUTIP_RATE:,} point-time samples/s: {issue_total / ours:,.0f}x")
    print(f"  max |ours - qutip| on the sub-grid: {worst:.1e}")

    if not args.no_memory:
        axis = np.linspace(-5, 5, mem_n)
        tracemalloc.start()
        t0 = time.perf_counter()
        charging_map("Delta", axis, "D", axis, np.linspace(0, math.pi, mem_nt), epsilon=0.5)
        dt = time.perf_counter() - t0
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(f"  {mem_n}x{mem_n} grid, {mem_nt} samples: {dt:.1f} s, peak traced memory {peak / 2**20:.0f} MiB"
              f" (bound 2048 MiB: {'ok' if peak < 2**31 else 'MISSED'})")


if __name__ == "__main__":
    main()
