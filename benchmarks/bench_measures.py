"""Throughput of the batched measures against a per-state qutip loop.

Prints, for a batch of 100,000 seeded random two-qubit states, the states/s
of ``ergotropy``, ``capacity``, ``l1_coherence``, ``concurrence`` and
``discord`` (public API, input validation included) and the ratio against a
loop written the way a qutip user would (one ``Qobj`` per state,
``eigenenergies``, ``qutip.concurrence``; for discord, ``ptrace`` +
``entropy_vn`` minimised with scipy over the Bloch sphere).  The qutip loops
run on a sub-sample and are extrapolated (said in the output).

Targets (issue 2, 2-core machine): ergotropy, capacity, l1, concurrence
≥ 200,000 states/s and ≥ 100× the qutip loop; discord ≥ 2,000 states/s.

    python benchmarks/bench_measures.py [--n 100000] [--seed 1] [--quick]

``--quick`` runs every measure at tiny sizes (2,000 states, qutip loops on
200 states, 3 for discord) in a few seconds, still printing the ratios; it
checks that the benchmark works, not the targets (marked "n/a (quick)").
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import qutip
import scipy.optimize

from nmrqb import DipolarModel
from nmrqb import measures as M
from _timing import best_of

DIMS = [[2, 2], [2, 2]]


def random_states(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    w = rng.normal(size=(n, 4, 4)) + 1j * rng.normal(size=(n, 4, 4))
    rho = w @ np.swapaxes(w, -1, -2).conj()
    return rho / np.trace(rho, axis1=1, axis2=2)[:, None, None]


# ---------------------------------------------------------------- qutip user
def q_ergotropy(rho, H):
    r = qutip.Qobj(rho, dims=DIMS)
    lam = np.sort(r.eigenenergies())[::-1]
    eps = np.sort(H.eigenenergies())
    return qutip.expect(H, r) - np.dot(lam, eps)


def q_capacity(rho, H):
    r = qutip.Qobj(rho, dims=DIMS)
    lam = np.sort(r.eigenenergies())[::-1]
    eps = np.sort(H.eigenenergies())
    return np.dot(lam, eps[::-1]) - np.dot(lam, eps)


def q_l1(rho):
    r = qutip.Qobj(rho, dims=DIMS).full()
    return np.abs(r).sum() - np.abs(np.diag(r)).sum()


def q_concurrence(rho):
    return qutip.concurrence(qutip.Qobj(rho, dims=DIMS))


def q_discord(rho):
    r = qutip.Qobj(rho, dims=DIMS)
    s_a = qutip.entropy_vn(r.ptrace(0), base=2)
    s_ab = qutip.entropy_vn(r, base=2)

    def cond(x):
        th, ph = x
        n = qutip.Qobj(np.array([np.cos(th / 2), np.exp(1j * ph) * np.sin(th / 2)]))
        total = 0.0
        for ket in (n, qutip.Qobj(np.array([-np.exp(-1j * ph) * np.sin(th / 2), np.cos(th / 2)]))):
            proj = qutip.tensor(ket * ket.dag(), qutip.qeye(2))
            post = proj * r * proj
            p = post.tr().real
            if p > 1e-14:
                total += p * qutip.entropy_vn(post.ptrace(1) / p, base=2)
        return total

    best = min(
        (scipy.optimize.minimize(cond, x0, method="Nelder-Mead", options={"xatol": 1e-7, "fatol": 1e-10})
         for x0 in ([0.3, 0.1], [1.6, 0.0], [1.6, 1.6], [2.8, 3.0])),
        key=lambda res: res.fun,
    )
    return s_a - s_ab + best.fun


def qutip_rate(f, states, *args):
    t = time.perf_counter()
    out = [f(r, *args) for r in states]
    return len(states) / (time.perf_counter() - t), np.array(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--quick", action="store_true", help="every measure at tiny sizes (a few seconds)")
    args = ap.parse_args()
    if args.quick:
        args.n = 2_000
    rho = random_states(args.n, args.seed)
    model = DipolarModel(B=0.4, D=0.2, G=0.3, Delta=1.0, epsilon=0.5)
    H = model.hamiltonian()
    ours = {
        "ergotropy": lambda: M.ergotropy(rho, H),
        "capacity": lambda: M.capacity(rho, H),
        "l1_coherence": lambda: M.l1_coherence(rho),
        "concurrence": lambda: M.concurrence(rho),
        "discord": lambda: M.discord(rho),
    }
    sub, sub_discord = (200, 3) if args.quick else (3000, 30)
    loops = {
        "ergotropy": (q_ergotropy, (H,), sub),
        "capacity": (q_capacity, (H,), sub),
        "l1_coherence": (q_l1, (), sub),
        "concurrence": (q_concurrence, (), sub),
        "discord": (q_discord, (), sub_discord),
    }
    targets = {"discord": (2_000, None)}
    print(f"{args.n} random two-qubit states (seed {args.seed}); qutip loops on a sub-sample, extrapolated")
    print(f"{'measure':<14}{'ours [states/s]':>18}{'qutip loop [states/s]':>24}{'ratio':>10}{'max |diff|':>13}  target")
    # (the ratio column: ours / the qutip loop)
    for name, f in ours.items():
        dt, val = best_of(f, repeat=1 if name == "discord" else 3)
        rate = args.n / dt
        qf, qargs, k = loops[name]
        qrate, qval = qutip_rate(qf, rho[:k], *qargs)
        diff = np.abs(val[:k] - qval).max()
        lo, ratio_target = targets.get(name, (200_000, 100))
        ok = rate >= lo and (ratio_target is None or rate / qrate >= ratio_target)
        tgt = f">= {lo:,}/s" + ("" if ratio_target is None else f", >= {ratio_target}x")
        verdict = "n/a (quick)" if args.quick else ("ok" if ok else "MISSED")
        print(f"{name:<14}{rate:>18,.0f}{qrate:>24,.0f}{rate / qrate:>9,.0f}x{diff:>13.1e}  {tgt} {verdict}")


if __name__ == "__main__":
    main()
