"""Command-line interface of nmrqb.

``nmrqb state`` is a quick calculator: the closed-form spectrum, the Gibbs
state and every resource and battery measure for one parameter set, as text
or JSON; ``nmrqb figure`` writes the paper's figures.  This module parses
and prints; the physics lives in the library modules.

Exit statuses (``docs/errors.md``): 0 success; 1 a user error of any of the
three packages (``NmrqbError``, ``PulsesError``, ``TomographyError``), printed
as one line ``nmrqb: error: <message>`` on stderr; 2 a malformed command line
(argparse); 130 interrupted by Ctrl-C (SIGINT) and 143 by SIGTERM, printed as
one line ``nmrqb: interrupted``.  Arguments are validated before anything is
created or computed.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from typing import Sequence

from nmrqb import __version__
from nmrqb.errors import NmrqbError, ProtocolError

EXIT_USER_ERROR = 1
EXIT_USAGE = 2
EXIT_SIGINT = 130
EXIT_SIGTERM = 143


class _Terminated(BaseException):
    """Raised in the main thread by the SIGTERM handler so that ``finally``
    blocks (staging folders of the output layer) clean up."""


def _user_error_types() -> tuple[type[BaseException], ...]:
    """The base classes of user errors: nmrqb's, and those of pulses and
    tomography when they were imported (if not, they cannot have raised)."""
    types: list[type[BaseException]] = [NmrqbError]
    for mod, name in (("pulses.errors", "PulsesError"), ("tomography.errors", "TomographyError")):
        m = sys.modules.get(mod)
        if m is not None:
            types.append(getattr(m, name))
    return tuple(types)


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


class _Parser(argparse.ArgumentParser):
    """ArgumentParser whose errors are one line (no usage dump)."""

    def error(self, message: str):  # noqa: D401 - argparse API
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _real(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a real number") from None


def _build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="nmrqb", description="NMR experiment planning for magnetic-dipolar quantum batteries.")
    p.add_argument("--version", action="version", version=f"nmrqb {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    s = sub.add_parser(
        "state",
        help="spectrum, Gibbs state and all measures for one parameter set",
        description=(
            "Print the closed-form spectrum, the Gibbs state exp(-H/T)/Z and every "
            "resource measure (l1 coherence, concurrence, discord, entropies) and "
            "battery measure (energy, ergotropy, capacity) of the dipolar model."
        ),
    )
    for name, helptext in [
        ("B", "Zeeman splitting"),
        ("D", "Dzyaloshinsky-Moriya interaction"),
        ("G", "KSEA interaction"),
        ("Delta", "axial dipolar anisotropy"),
        ("epsilon", "rhombic dipolar anisotropy"),
    ]:
        s.add_argument(f"--{name}", type=_real, default=0.0, metavar="X", help=f"{helptext} (default 0)")
    s.add_argument("--T", type=_real, default=1.0, metavar="X", help="temperature, k_B = 1 (default 1)")
    s.add_argument("--json", action="store_true", help="print one JSON document instead of text")
    s.set_defaults(func=_cmd_state)

    f = sub.add_parser(
        "figure",
        help="reproduce a figure of the source paper (PNG + CSV + JSON)",
        description=(
            "Write the source paper's Figure N (3-10), or all of them, as PNG with the paper's "
            "panel layout, the plotted numbers as CSV and the caption/assumptions as JSON."
        ),
    )
    f.add_argument("which", metavar="N", help="figure number 3..10, or 'all'")
    f.add_argument("--out", required=True, metavar="DIR", help="output folder (created if missing)")
    f.set_defaults(func=_cmd_figure)

    r = sub.add_parser(
        "run",
        help="simulate a protocol end to end and write the report (the main job)",
        description=(
            "Translate the protocol's battery into pulse sequences, simulate them on its platform (relaxation, RF "
            "inhomogeneity, receiver noise), fit the spectra, reconstruct the states by tomography, compute the "
            "battery metrics and write report.html, results.json, protocol.toml and the raw data as Bruker data "
            "sets to one folder.  PROTOCOL is a file or the name of a shipped protocol (default: 'default')."
        ),
    )
    r.add_argument("protocol", nargs="?", default="default", metavar="PROTOCOL",
                   help="protocol file, or a shipped protocol name: " + ", ".join(_shipped_names()))
    r.add_argument("--out", metavar="DIR", default=None, help="output folder (default: the protocol's output.dir)")
    r.add_argument("--force", action="store_true", help="replace an earlier nmrqb run in the output folder")
    r.add_argument("--quiet", action="store_true", help="no progress bar and no summary")
    r.add_argument("--json", action="store_true", help="print results.json to stdout")
    r.set_defaults(func=_cmd_run)

    ft = sub.add_parser(
        "fit",
        help="fit a protocol's model to recorded data (a run folder or Bruker data sets)",
        description=(
            "Fit the model parameters of PROTOCOL (its [fit] section says which vary) to DATA, the output folder "
            "of `nmrqb run` or a folder of Bruker data sets with a manifest.json; write fit.json and fit.html "
            "(values ± standard errors, correlations, residuals, identifiability warnings) to --out."
        ),
    )
    ft.add_argument("protocol", metavar="PROTOCOL", help="protocol file or shipped protocol name")
    ft.add_argument("data", metavar="DATA", help="run output folder or Bruker folder with manifest.json")
    ft.add_argument("--out", metavar="DIR", default="nmrqb-fit", help="output folder (default nmrqb-fit)")
    ft.add_argument("--force", action="store_true", help="replace an earlier nmrqb fit or run in the folder")
    ft.add_argument("--quiet", action="store_true", help="no summary")
    ft.add_argument("--json", action="store_true", help="print fit.json to stdout")
    ft.set_defaults(func=_cmd_fit)

    sw = sub.add_parser(
        "sweep",
        help="evaluate a protocol over a grid of any of its fields, with noise replicas (planning sweeps)",
        description=(
            "Evaluate PROTOCOL at every point of a Cartesian grid of its fields (--over, repeatable, or the "
            "protocol's [sweep] section) times --replicas noise replicas; each point runs --stage: 'battery' (the "
            "model's metrics), 'tomography' (the simulated experiment and its reconstruction) or 'run' (the full "
            "run with bootstrap).  Chunks are saved to DIR/sweep.zarr as they finish, so an interrupted sweep "
            "continues with --resume; at the end DIR gets sweep.csv, summary.json (e.g. the minimum SNR that "
            "resolves the maximal ergotropy to ±5%%) and plots/.  Every point's seed comes from its grid "
            "coordinates, so results do not depend on the executor, workers or chunking."
        ),
    )
    sw.add_argument("protocol", nargs="?", default="default", metavar="PROTOCOL",
                    help="protocol file, or a shipped protocol name (default: 'default')")
    sw.add_argument("--over", action="append", metavar="FIELD=SPEC", default=None,
                    help="a swept field: FIELD=start:stop:N, FIELD=start:stop:logN or FIELD=a,b,c "
                         "(e.g. acquisition.snr=10:1000:log20); replaces the protocol's sweep.over")
    sw.add_argument("--replicas", type=int, default=None, metavar="N", help="noise replicas per grid point")
    sw.add_argument("--stage", default=None, metavar="STAGE", help="battery, tomography or run")
    sw.add_argument("--chunk", type=int, default=None, metavar="N", help="points per saved chunk")
    sw.add_argument("--workers", type=int, default=None, metavar="N",
                    help="worker processes (default: the CPUs available, or NMRQB_WORKERS)")
    sw.add_argument("--dask", action="store_true", help="run on a local Dask cluster (needs nmrqb[distributed])")
    sw.add_argument("--scheduler", default=None, metavar="tcp://HOST:PORT",
                    help="run on the Dask cluster of this scheduler")
    sw.add_argument("--target", type=float, default=0.05, metavar="X",
                    help="relative precision of the planning summary (default 0.05: ±5%%)")
    sw.add_argument("--out", metavar="DIR", default="nmrqb-sweep", help="output folder (default nmrqb-sweep)")
    sw.add_argument("--resume", action="store_true", help="continue the sweep saved in DIR")
    sw.add_argument("--force", action="store_true", help="replace an earlier sweep in DIR")
    sw.add_argument("--quiet", action="store_true", help="no progress bar and no summary")
    sw.add_argument("--json", action="store_true", help="print summary.json to stdout")
    sw.set_defaults(func=_cmd_sweep)

    v = sub.add_parser(
        "validate",
        help="check protocol files without running them",
        description=(
            "Validate each protocol file (schema nmrqb.protocol/1, docs/protocols.md): every key, value and "
            "combination, the model and the platform.  Prints 'FILE: ok (...)' per valid file; the first "
            "invalid one is a one-line error naming the key (exit status 1)."
        ),
    )
    v.add_argument("files", nargs="+", metavar="FILE", help="protocol file (TOML), or a shipped protocol's name")
    v.set_defaults(func=_cmd_validate)

    pr = sub.add_parser("protocol", help="work with protocol files (show)",
                        description="Work with protocol files (docs/protocols.md).")
    prs = pr.add_subparsers(dest="protocol_command", required=True, parser_class=_Parser)
    show = prs.add_parser(
        "show",
        help="print a protocol with every default filled in",
        description="Print the protocol FILE with every default filled in (and a preset platform's numbers), "
        "as TOML that loads back to the same protocol, or as JSON.  The TOML ends with the values the "
        "translation derives for unset keys (spectral width, Jeener-Broekaert delay) as comments.",
    )
    show.add_argument("file", metavar="FILE", help="protocol file (TOML), or a shipped protocol's name")
    show.add_argument("--json", action="store_true", help="print JSON instead of TOML")
    show.set_defaults(func=_cmd_protocol_show)
    return p


def state_report(B=0.0, D=0.0, G=0.0, Delta=0.0, epsilon=0.0, T=1.0) -> dict:
    """Everything ``nmrqb state`` prints, as a JSON-ready dict."""
    from nmrqb import measures
    from nmrqb.model import DipolarModel, check_temperature

    model = DipolarModel(B=B, D=D, G=G, Delta=Delta, epsilon=epsilon)
    T = check_temperature(T)
    vals, vecs = model.spectrum_array()
    rho = model.gibbs_array(T)
    H = model.hamiltonian_array()
    return {
        "parameters": {**model.as_dict(), "T": T},
        "spectrum": {
            "energies": vals.tolist(),
            "eigenvectors_real": vecs.real.T.tolist(),
            "eigenvectors_imag": vecs.imag.T.tolist(),
        },
        "gibbs_state": {"real": rho.real.tolist(), "imag": rho.imag.tolist()},
        "measures": {
            "l1_coherence": measures.l1_coherence(rho),
            "concurrence": measures.concurrence(rho),
            "discord": measures.discord(rho),
            "von_neumann_entropy": measures.von_neumann_entropy(rho),
            "mutual_information": measures.mutual_information(rho),
            "energy": measures.energy(rho, H),
            "ergotropy": measures.ergotropy(rho, H),
            "capacity": measures.capacity(rho, H),
        },
    }


def _fmt_c(z: complex) -> str:  # noqa: D103
    re, im = z.real, z.imag
    if abs(im) < 5e-13:
        return f"{re: .6f}"
    return f"{re: .6f}{im:+.6f}j"


def _print_text(rep: dict) -> None:
    pars = rep["parameters"]
    print("nmrqb state: " + "  ".join(f"{k}={v:g}" for k, v in pars.items()))
    import numpy as np

    print("\nSpectrum of H_DP (closed form, ascending):")
    basis = ["|00>", "|01>", "|10>", "|11>"]
    re = np.array(rep["spectrum"]["eigenvectors_real"])
    im = np.array(rep["spectrum"]["eigenvectors_imag"])
    for k, e in enumerate(rep["spectrum"]["energies"]):
        v = re[k] + 1j * im[k]
        terms = " ".join(f"({_fmt_c(c).strip()}){b}" for c, b in zip(v, basis) if abs(c) > 5e-13)
        print(f"  E{k + 1} = {e: .10f}   {terms}")
    print(f"\nGibbs state exp(-H/T)/Z at T = {pars['T']:g}:")
    g = np.array(rep["gibbs_state"]["real"]) + 1j * np.array(rep["gibbs_state"]["imag"])
    for row in g:
        print("  [" + "  ".join(f"{_fmt_c(z):>22}" for z in row) + " ]")
    print("\nMeasures of the Gibbs state:")
    units = {
        "discord": "bits",
        "von_neumann_entropy": "bits",
        "mutual_information": "bits",
    }
    for k, v in rep["measures"].items():
        print(f"  {k:<20} {v: .10f} {units.get(k, '')}".rstrip())


def _cmd_state(args: argparse.Namespace) -> int:
    rep = state_report(B=args.B, D=args.D, G=args.G, Delta=args.Delta, epsilon=args.epsilon, T=args.T)
    if args.json:
        print(json.dumps(rep, indent=2))
    else:
        _print_text(rep)
    return 0


FIGURE_NUMBERS = tuple(range(3, 11))


def _figure_numbers(which: str) -> list[int]:
    """``N`` or ``all`` → figure numbers, validated before anything is created."""
    if which.strip().lower() == "all":
        return list(FIGURE_NUMBERS)
    try:
        n = int(which)
    except ValueError:
        n = None
    if n not in FIGURE_NUMBERS:
        shown = n if n is not None else f"{which!r:.40}"
        raise ProtocolError(f"figure {shown} is not allowed: choose 3 to 10 or 'all'")
    return [n]


def _cmd_figure(args: argparse.Namespace) -> int:
    numbers = _figure_numbers(args.which)  # validate first ...
    from nmrqb import figures
    from nmrqb.output import check_out_dir

    check_out_dir(args.out)  # ... create after
    for n in numbers:
        paths = figures.write_figure(figures.build(n), args.out)
        print(f"Fig. {n}: {paths['png']}  {paths['csv']}  {paths['json']}")
    return 0


def _shipped_names() -> list[str]:
    try:
        from nmrqb.protocol import shipped_protocols

        return sorted(shipped_protocols())
    except Exception:  # noqa: BLE001 - help text only
        return ["default"]


def _cmd_run(args: argparse.Namespace) -> int:
    from nmrqb.output import check_run_dir
    from nmrqb.protocol import load_protocol

    p = load_protocol(_protocol_source(args.protocol))  # validate first ...
    out = args.out if args.out is not None else p.output.dir
    force = args.force or p.output.force
    check_run_dir(out, force)  # ... and the output folder, before anything runs
    from nmrqb.run import run_protocol, write_run

    result = run_protocol(p, progress=not args.quiet and not args.json)
    paths = write_run(result, out, force=force, bruker=p.output.bruker, report=p.output.report)
    if args.json:
        with open(paths["results"], encoding="utf-8") as fh:
            sys.stdout.write(fh.read())
    elif not args.quiet:
        print(result.verdict)
        print(f"wrote {paths['folder']}/: " + ", ".join(
            str(v.relative_to(paths["folder"])) for k, v in paths.items() if k != "folder"))
    return 0


def _cmd_fit(args: argparse.Namespace) -> int:
    import os

    from nmrqb.output import check_run_dir
    from nmrqb.protocol import load_protocol

    p = load_protocol(_protocol_source(args.protocol))
    out, data = os.path.realpath(args.out), os.path.realpath(args.data)
    if out == data or data.startswith(out.rstrip(os.sep) + os.sep):
        from nmrqb.errors import DataError

        raise DataError(f"--out {args.out!r} holds the data being fitted ({args.data!r}): writing the fit there "
                        "would replace it; choose another folder")
    check_run_dir(args.out, args.force)
    from nmrqb.fit import fit_protocol, write_fit

    fr = fit_protocol(p, args.data)
    paths = write_fit(fr, args.out, force=args.force)
    if args.json:
        with open(paths["json"], encoding="utf-8") as fh:
            sys.stdout.write(fh.read())
    elif not args.quiet:
        r = fr.result
        for n in r.varied:
            se = r.stderr.get(n)
            print(f"{n:>12} = {r.values[n]:.6g}" + ("" if se is None else f" ± {se:.2g}")
                  + ("  (not determined)" if n in r.undetermined else ""))
        for w in r.warnings:
            print(f"warning: {w}")
        how = "noise sigma given" if r.sigma_source == "given" else "sigma from the residual: 1 by construction"
        print(f"reduced chi2 {r.redchi:.4g} ({how}); wrote {paths['folder']}/: fit.json, fit.html")
    return 0


def _cmd_sweep(args: argparse.Namespace) -> int:
    from nmrqb.protocol import load_protocol

    p = load_protocol(_protocol_source(args.protocol))
    from nmrqb.parallel import check_address, make_executor
    from nmrqb.sweep import _prepare_out, plan_sweep, run_sweep
    from nmrqb.sweep_report import format_summary

    sweep = plan_sweep(p, args.over, args.replicas, args.stage)  # every axis checked before anything runs
    if args.scheduler is not None:
        check_address(args.scheduler)
    if args.scheduler is not None and args.workers is not None:
        raise ProtocolError("--workers is not allowed with --scheduler: the cluster has its own workers")
    if not 0 < args.target < 1:
        raise ProtocolError(f"--target = {args.target!r} is not allowed: give a relative precision 0 < x < 1")
    if not args.force:  # refuse a bad folder before a cluster starts (--force: run_sweep checks it)
        _prepare_out(args.out, args.resume, False)
    executor = None
    if args.dask or args.scheduler is not None:
        executor = make_executor("dask", args.workers, args.scheduler)
    try:
        result = run_sweep(sweep, args.out, executor=executor, workers=args.workers, resume=args.resume,
                           force=args.force, chunk=args.chunk, progress=not args.quiet and not args.json,
                           target=args.target)
    except (KeyboardInterrupt, _Terminated) as exc:
        which = " (SIGTERM)" if isinstance(exc, _Terminated) else ""
        print(f"nmrqb: interrupted{which}: the chunks saved so far are kept in {args.out}; continue with "
              "--resume", file=sys.stderr)
        return EXIT_SIGTERM if which else EXIT_SIGINT
    finally:
        if executor is not None:
            executor.close()
    if args.json:
        with open(result.out / "summary.json", encoding="utf-8") as fh:
            sys.stdout.write(fh.read())
    elif not args.quiet:
        n = len(sweep.grid)
        print(f"{n} points ({' × '.join(str(k) for k in sweep.grid.shape)}) in {result.chunks} chunks: "
              f"{result.computed} computed, {result.skipped} already saved, {result.seconds:.1f} s")
        for line in format_summary(result.summary):
            print(line)
        print(f"wrote {result.out}/: " + ", ".join(sorted(x.name for x in result.out.iterdir()
                                                        if not x.name.startswith("."))))
    return 0


def _protocol_source(name: str) -> str:
    """A protocol file, or the name of a shipped one ("default", "fig5", ...)
    when no file of that name exists (as ``nmrqb run NAME``)."""
    import os

    from nmrqb.protocol import shipped_protocols

    shipped = shipped_protocols()
    return shipped[name] if not os.path.exists(name) and name in shipped else name


def _cmd_validate(args: argparse.Namespace) -> int:
    from nmrqb.protocol import load_protocol

    for path in args.files:
        p = load_protocol(_protocol_source(path))
        from nmrqb.run import preflight

        preflight(p)  # what only the translated experiment reveals (scans, spectral width)
        if p.sweep.over:
            from nmrqb.sweep import plan_sweep

            plan_sweep(p)  # the [sweep] axes against this protocol
        print(f"{path}: ok ({p.summary()})", flush=True)
    return 0


def _cmd_protocol_show(args: argparse.Namespace) -> int:
    from nmrqb.protocol import load_protocol
    from nmrqb.run import derived_values, preflight

    p = load_protocol(_protocol_source(args.file))
    if args.json:  # exactly the protocol (it loads back); the derived values are in the TOML's comments
        print(p.to_json())
    else:
        derived = derived_values(p, preflight(p))
        print(p.to_toml(), end="")
        if derived:  # comments: the text still loads back to the same protocol
            print("\n# Derived from the model and the platform (not stored in the protocol: give the key to fix it):")
            for key, value in derived.items():
                print(f"# {key} = {value!r}")
    return 0


_VALUE_OPTIONS = {"--B", "--D", "--G", "--Delta", "--epsilon", "--T"}


def _join_negative_values(argv: list[str]) -> list[str]:
    """argparse takes '-1e3' or '-inf' after '--B' for an option; glue such
    values to their option ('--B=-1e3') so every real number works."""
    out, i = [], 0
    while i < len(argv):
        tok = argv[i]
        if tok in _VALUE_OPTIONS and i + 1 < len(argv) and argv[i + 1].startswith("-"):
            try:
                float(argv[i + 1])
            except ValueError:
                pass
            else:
                out.append(f"{tok}={argv[i + 1]}")
                i += 2
                continue
        out.append(tok)
        i += 1
    return out


def _on_sigterm(signum, frame):  # noqa: ARG001 - signal API
    raise _Terminated()


_SIGNALLED: list[int] = []


def _on_sigint(signum, frame):  # noqa: ARG001 - signal API
    # Remember the signal before raising: a library may swallow the
    # KeyboardInterrupt and raise something else instead (asteval 1.0,
    # used by lmfit for parameter expressions, turns it into an
    # AttributeError), and Ctrl-C must still end as "interrupted", exit 130.
    _SIGNALLED.append(signal.SIGINT)
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``nmrqb`` console script.

    Returns the exit status (see the module docstring); user errors and
    interruptions are one line on stderr, never a traceback.
    """
    previous = previous_int = None
    _SIGNALLED.clear()
    try:
        try:
            previous = signal.signal(signal.SIGTERM, _on_sigterm)
            # always ours, also where SIGINT was inherited ignored (a job started with '&'):
            # Ctrl-C or kill -INT ends nmrqb the same way wherever it was started from
            previous_int = signal.signal(signal.SIGINT, _on_sigint)
        except ValueError:  # not the main thread (e.g. called from a worker): keep the default
            previous = previous_int = None
        parser = _build_parser()
        args = parser.parse_args(_join_negative_values(list(sys.argv[1:] if argv is None else argv)))
        try:
            try:
                return args.func(args)
            except Exception:
                if _SIGNALLED:  # a Ctrl-C that a library re-raised as another exception
                    raise KeyboardInterrupt from None
                raise
        except _user_error_types() as exc:
            print(f"nmrqb: error: {_one_line(exc)}", file=sys.stderr)
            return EXIT_USER_ERROR
        except MemoryError:
            print("nmrqb: error: out of memory: reduce the size of the request", file=sys.stderr)
            return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("nmrqb: interrupted", file=sys.stderr)
        return EXIT_SIGINT
    except _Terminated:
        print("nmrqb: interrupted (SIGTERM)", file=sys.stderr)
        return EXIT_SIGTERM
    except BrokenPipeError:  # e.g. `nmrqb state --json | head`
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_USER_ERROR
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        if previous_int is not None:
            signal.signal(signal.SIGINT, previous_int)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
