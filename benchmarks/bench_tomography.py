"""Speed and accuracy of the tomography estimators, and the bias that
positivity projection puts into functions of the reconstructed state.

Part 1 — time and fidelity for n = 2…6 qubits with Pauli-product readouts
(3**n readouts, every Pauli string measured directly; 45,927 lines at
n = 6), σ = 0.01 per line, a pure Haar-random true state ψ (so the
positivity constraint is active and MLE must iterate), for each estimator
(public API, validation included; mean and max over K seeded data sets).
Also the two-qubit NMR presets.  Fidelity is <ψ|ρ̂|ψ> (— when the linear
estimate is not positive).

Targets (issue 5, 2-core machine): two-qubit physical estimate (PLS and
MLE) < 5 ms; six-qubit maximum likelihood < 10 s (each printed with its
margin, e.g. "ok (2.1× under)").

Part 2 — bias against bootstrap spread, two qubits, NMR full9 readouts,
σ = 0.02 per line, 200 seeded repetitions, 100 bootstrap resamples each:
fidelity F = <ψ|ρ̂|ψ> to the ideal target ψ (linear in ρ̂, so the linear
estimators are unbiased) and ergotropy E(ρ̂, H) = Tr[ρ̂H] − Σ λ↓ε↑ for
H = ZI + IZ + 0.4 (XX + YY + ZZ) (a local helper; the benchmark does not
import nmrqb), for linear inversion, PLS and MLE.

    python benchmarks/bench_tomography.py [--seed 1] [--reps 200] [--boot 100] [--quick]

``--quick`` runs every part at tiny sizes (part 1 up to three qubits with 3
data sets each, part 2 with 4 repetitions of 8 resamples) in a few seconds,
printing the same tables and ratios; it is a smoke test of the script (the
test suite runs it), not a measurement.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import tomography as T


def haar_ket(rng: np.random.Generator, d: int) -> np.ndarray:
    v = rng.normal(size=d) + 1j * rng.normal(size=d)
    return v / np.linalg.norm(v)


def fmt_time(dt: float) -> str:
    return f"{dt * 1e3:9.2f} ms" if dt < 1 else f"{dt:9.2f} s "


# ------------------------------------------------------------------ part 1
def part1(seed: int, n_max: int, k_max: int | None = None) -> None:
    print(f"Part 1: time and fidelity, σ = 0.01 per line, pure true state ψ (the positivity constraint is active; "
          f"seed {seed})")
    print("  time = mean over K data sets (max in brackets); fidelity = mean <ψ|ρ̂|ψ> (— when ρ̂ is not positive "
          "in some data set); iter = mean MLE iterations")
    print(f"{'n':>2} {'lines':>7} {'build':>10} {'K':>4} {'estimator':>9} {'time':>11} {'(max)':>11} "
          f"{'fidelity':>9} {'iter':>6}  target")
    rng = np.random.default_rng(seed)
    cases = [(n, f"pauli_product_{n}", lambda n=n: T.pauli_product_model(n)) for n in range(2, n_max + 1)]
    cases[1:1] = [(2, "nmr_full9", lambda: T.nmr_two_spin_model("full9")),
                  (2, "nmr_minimal4", lambda: T.nmr_two_spin_model("minimal4"))]
    reps = {2: 200, 3: 100, 4: 20, 5: 5, 6: 3}
    for n, name, build in cases:
        t0 = time.perf_counter()
        model = build()
        tb = time.perf_counter() - t0
        psi = haar_ket(rng, 2**n)
        k = reps[n] if k_max is None else min(reps[n], k_max)
        data = model.simulate(np.outer(psi, psi.conj()), 0.01, seed=rng, size=k)
        print(f"{n:>2} {model.n_lines:>7} {fmt_time(tb):>10} {k:>4}   ({name})")
        for method in T.METHODS:
            times, fids, its, positive = [], [], [], True
            for a in data:
                t0 = time.perf_counter()
                est = T.estimate(model, a, 0.01, method)
                times.append(time.perf_counter() - t0)
                fids.append(float(np.real(psi.conj() @ est.matrix @ psi)))
                its.append(est.iterations)
                positive &= est.min_eigenvalue >= -1e-12
            dt = float(np.mean(times))
            fid = f"{np.mean(fids):9.6f}" if positive else f"{'—':>9}"
            target, limit = "", None
            if n == 2 and method in ("pls", "mle"):
                target, limit = "< 5 ms", 5e-3
            if n == 6 and method == "mle":
                target, limit = "< 10 s", 10.0
            mark = ""
            if limit is not None:  # the margin to the target as a ratio
                mark = f" ok ({limit / dt:.1f}× under)" if dt < limit else f" MISSED ({dt / limit:.1f}× over)"
            print(f"{'':>2} {'':>7} {'':>10} {'':>4} {method:>9} {fmt_time(dt):>11} ({fmt_time(max(times)).strip():>9}) "
                  f"{fid} {np.mean(its):6.1f}  {target}{mark}")


# ------------------------------------------------------------------ part 2
I2, X, Y, Z = (np.array(m, dtype=complex) for m in ([[1, 0], [0, 1]], [[0, 1], [1, 0]], [[0, -1j], [1j, 0]],
                                                    [[1, 0], [0, -1]]))
H = np.kron(Z, I2) + np.kron(I2, Z) + 0.4 * (np.kron(X, X) + np.kron(Y, Y) + np.kron(Z, Z))
EPS_UP = np.linalg.eigvalsh(H)  # ascending


def ergotropy(rho: np.ndarray) -> float:
    """E = Tr[ρH] − Σ λ↓ ε↑ (eigenvalues of ρ decreasing onto energies increasing)."""
    lam = np.linalg.eigvalsh((rho + rho.conj().T) / 2)[::-1]
    return float(np.trace(rho @ H).real - lam @ EPS_UP)


def states(rng: np.random.Generator):
    """(label, true state, ideal target ket)."""
    evals, evecs = np.linalg.eigh(H)
    ground = evecs[:, 0]
    u = np.kron(*(2 * [np.cos(np.pi / 3) * I2 - 1j * np.sin(np.pi / 3) * X]))  # charging pulse, θ = 120° on both
    target = u @ ground
    bell = np.array([1, 0, 0, 1]) / np.sqrt(2)
    gibbs = evecs @ np.diag(np.exp(-evals / 0.5)) @ evecs.conj().T
    gibbs /= np.trace(gibbs)
    return [
        ("pure Bell Φ+ (rank 1)", np.outer(bell, bell), bell),
        ("charged ground state (rank 1)", np.outer(target, target.conj()), target),
        ("0.85 charged + 0.15 I/4 (rank 4)", 0.85 * np.outer(target, target.conj()) + 0.15 * np.eye(4) / 4, target),
        ("charged Gibbs T = 0.5 (rank 4)", u @ gibbs @ u.conj().T, target),
    ]


def part2(seed: int, reps: int, boot: int) -> None:
    model = T.nmr_two_spin_model("full9")
    sigma = 0.02
    rng = np.random.default_rng(seed)
    print(f"\nPart 2: bias vs bootstrap spread, NMR full9 readouts, σ = {sigma} per line, {reps} repetitions, "
          f"{boot} bootstrap resamples each (seed {seed})")
    print("  bias = mean(f̂) − f(ρ_true) ± its standard error; sd = spread of f̂ over repetitions; "
          "boot se / boot bias = mean bootstrap standard error / bias estimate")
    summary = []
    for label, rho, ket in states(rng):
        f_true = float(np.real(ket.conj() @ rho @ ket))
        e_true = ergotropy(rho)
        print(f"\n  {label}: F_true = {f_true:.4f}, E_true = {e_true:.4f}")
        print(f"  {'':>6} {'':>10} {'bias':>20} {'sd':>9} {'boot se':>9} {'boot bias':>10} {'|bias|/se':>9}")
        funcs = {
            "fidelity": lambda s, ket=ket: float(np.real(ket.conj() @ s.full() @ ket)),
            "ergotropy": lambda s: ergotropy(s.full()),
        }
        data = model.simulate(rho, sigma, seed=rng, size=reps)
        for method in ("linear", "pls", "mle"):
            vals = {k: [] for k in funcs}
            bse = {k: [] for k in funcs}
            bbias = {k: [] for k in funcs}
            for r, a in enumerate(data):
                res = T.bootstrap(model, a, sigma, seed=[seed, r], method=method, n_resamples=boot, functions=funcs)
                for k, s in res.functions.items():
                    vals[k].append(s.value)
                    bse[k].append(s.standard_error)
                    bbias[k].append(s.bias)
            for k, true in (("fidelity", f_true), ("ergotropy", e_true)):
                v = np.array(vals[k])
                bias = v.mean() - true
                se_mean = v.std(ddof=1) / np.sqrt(reps)
                sd_boot = float(np.mean(bse[k]))
                print(f"  {method:>6} {k:>10} {bias:+10.5f} ± {se_mean:7.5f} {v.std(ddof=1):9.5f} {sd_boot:9.5f} "
                      f"{np.mean(bbias[k]):+10.5f} {abs(bias) / sd_boot:9.2f}")
                summary.append((label, method, k, bias, sd_boot))
    print("\n  How much projection biases them: shift of the bias, physical − linear, in units of the "
          "bootstrap se (the linear estimators' own bias is the nonlinearity of f: none for F, upward for E)")
    print(f"  {'true state':<34} {'f':>10} {'bias LI':>9} {'PLS shift':>15} {'MLE shift':>15}")
    table = {(lab, m, k): (b, s) for lab, m, k, b, s in summary}
    shifts = {"fidelity": [], "ergotropy": []}
    for lab in dict.fromkeys(lab for lab, *_ in summary):
        for k in ("fidelity", "ergotropy"):
            b_li, se = table[(lab, "linear", k)]
            cells = []
            for m in ("pls", "mle"):
                d = table[(lab, m, k)][0] - b_li
                shifts[k].append((lab, m, d, d / se))
                cells.append(f"{d:+.5f} ({d / se:+.2f})")
            print(f"  {lab:<34} {k:>10} {b_li:+9.5f} {cells[0]:>15} {cells[1]:>15}")
    for k, rows in shifts.items():
        pure = [r for r in rows if "rank 1" in r[0]]
        full = [r for r in rows if "rank 4" in r[0]]
        print(f"  {k}: projection moves it by {min(r[2] for r in pure):+.4f} to {max(r[2] for r in pure):+.4f} "
              f"({min(r[3] for r in pure):+.2f} to {max(r[3] for r in pure):+.2f} se) for pure truths, "
              f"{min(r[2] for r in full):+.4f} to {max(r[2] for r in full):+.4f} "
              f"({min(r[3] for r in full):+.2f} to {max(r[3] for r in full):+.2f} se) for full-rank truths.")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--reps", type=int, default=None, help="part 2 repetitions (default 200; 4 with --quick)")
    ap.add_argument("--boot", type=int, default=None, help="bootstrap resamples (default 100; 8 with --quick)")
    ap.add_argument("--quick", action="store_true",
                    help="every part at tiny sizes (n ≤ 3, 3 data sets; 4 repetitions × 8 resamples): a smoke run")
    args = ap.parse_args(argv)
    reps = args.reps if args.reps is not None else (4 if args.quick else 200)
    boot = args.boot if args.boot is not None else (8 if args.quick else 100)
    if args.quick:
        part1(args.seed, 3, k_max=3)
    else:
        part1(args.seed, 6)
    part2(args.seed, reps, boot)


if __name__ == "__main__":
    main()
