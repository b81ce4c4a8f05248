"""What a planning sweep tells the user: the planning summary, plots, tidy CSV.

:func:`planning_summary` answers the planning question of a sweep over the
signal-to-noise ratio: the **minimum SNR that resolves the maximal ergotropy
to ±target** (5 % by default).  For each SNR value it takes the spread of
the reconstructed maximal ergotropy over the noise replicas,
σ_rel = std(relative_error) (ddof = 1), and calls the ergotropy resolved
when z·σ_rel ≤ target, z the two-sided normal quantile of
``analysis.confidence`` (1.96 at 95 %).  The minimum SNR is where z·σ_rel
crosses the target, interpolated log-log between the two grid values around
the crossing.  Tomography is linear in the recorded spectra, so its random
error scales as 1/SNR; the summary fits σ_rel = c/SNR (c the geometric mean
of σ_rel·SNR) and reports the SNR that scaling predicts, c·z/target, and the
log-log slope (−1 for pure 1/SNR scaling) beside the interpolated answer.
The mean of the relative error is the systematic error (relaxation and pulse
errors of the simulated experiment, estimator bias): more SNR does not
reduce it, and the summary says so when it exceeds the target.

Other stages or sweeps without an SNR axis get, per metric, its range over
the grid (replica means).
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np

from nmrqb.errors import ProtocolError

__all__ = ["planning_summary", "format_summary", "plot_sweep", "plot_error_scaling", "write_outputs",
           "snr_axis"]

_BOOK = ("seed", "error", "status")


def _metrics(ds) -> list[str]:
    return [v for v in ds.data_vars if v not in _BOOK]


def snr_axis(ds) -> str | None:
    """The swept field that is a signal-to-noise ratio (``acquisition.snr``
    or one channel's ``acquisition.snr.<channel>``), or None."""
    for d in ds["status"].dims:
        if d == "acquisition.snr" or d.startswith("acquisition.snr."):
            return d
    return None


def _z(confidence: float) -> float:
    from scipy.stats import norm

    return float(norm.ppf(0.5 + confidence / 2.0))


def _label(coords: dict) -> str:
    return ", ".join(f"{k} = {v:g}" if isinstance(v, float) else f"{k} = {v}" for k, v in coords.items())


def _scalar(x):
    x = x.item() if hasattr(x, "item") else x
    return x


def planning_summary(ds, *, target: float = 0.05, confidence: float = 0.95) -> dict:
    """The planning summary of a sweep dataset (module docstring).

    Returns a JSON-ready dict: ``kind`` ("min_snr" or "ranges"), and for
    "min_snr" one entry per combination of the other swept fields with
    ``min_snr`` (None when not reached on the grid, with ``reached``
    "below grid"/"above grid"/"on grid"), ``min_snr_1_over_snr`` (the
    1/SNR-scaling prediction), ``slope`` and ``systematic`` (the relative
    error's mean at the highest SNR)."""
    if not 0 < target < 1:
        raise ProtocolError(f"summary target = {target!r} is not allowed: give a relative precision 0 < x < 1")
    if not 0 < confidence < 1:
        raise ProtocolError(f"summary confidence = {confidence!r} is not allowed: give 0 < x < 1")
    ok = ds["status"].values == 1
    stage = ds.attrs.get("stage", "")
    axis = snr_axis(ds)
    replicas = ds.sizes["replica"]
    out: dict = {"stage": stage, "target": target, "confidence": confidence, "points": int(ds["status"].size),
                 "computed": int(ok.sum()), "failed": int((ds["status"].values == 2).sum())}
    if "relative_error" in ds.data_vars and axis is not None and replicas >= 2:
        z = _z(confidence)
        out.update(kind="min_snr", snr_field=axis, z=z, replicas=replicas,
                   criterion=f"z·std(relative error of the maximal ergotropy) ≤ {target:g} with z = {z:.3f} "
                             f"({confidence:.0%} two-sided), std over {replicas} noise replicas")
        rel = ds["relative_error"].where(ds["status"] == 1)
        others = [d for d in rel.dims if d not in (axis, "replica")]
        snr = np.asarray(ds[axis].values, float)
        order = np.argsort(snr)
        entries = []
        stacked = rel.stack(_other=others) if others else rel.expand_dims(_other=[0])
        for k in range(stacked.sizes["_other"]):
            sub = stacked.isel(_other=k)
            coords = {d: _scalar(sub[d].values) for d in others}
            sigma = np.asarray(sub.std("replica", ddof=1).values, float)[order]
            mean = np.asarray(sub.mean("replica").values, float)[order]
            entries.append({"at": coords, **_min_snr(snr[order], sigma, mean, z, target)})
        out["entries"] = entries
        return out
    out["kind"] = "ranges"
    if "relative_error" in ds.data_vars and axis is None:
        out["note"] = "sweep acquisition.snr (with --replicas ≥ 2) for the minimum SNR that resolves the ergotropy"
    elif "relative_error" in ds.data_vars and replicas < 2:
        out["note"] = "give --replicas ≥ 2 for the minimum SNR that resolves the ergotropy"
    ranges = {}
    for m in _metrics(ds):
        v = ds[m].where(ds["status"] == 1).mean("replica")
        vals = np.asarray(v.values, float)
        if not np.isfinite(vals).any():
            ranges[m] = None
            continue
        lo, hi = int(np.nanargmin(vals)), int(np.nanargmax(vals))
        at = lambda i: {d: _scalar(v[d].values[j]) for d, j in zip(v.dims, np.unravel_index(i, vals.shape))}  # noqa: E731
        ranges[m] = {"min": float(vals.flat[lo]), "at_min": at(lo), "max": float(vals.flat[hi]), "at_max": at(hi)}
    out["ranges"] = ranges
    return out


def _min_snr(snr: np.ndarray, sigma: np.ndarray, mean: np.ndarray, z: float, target: float) -> dict:
    good = np.isfinite(sigma) & (sigma > 0) & (snr > 0)
    res: dict = {"snr": snr.tolist(), "std": [None if not np.isfinite(s) else float(s) for s in sigma],
                 "mean": [None if not np.isfinite(m) else float(m) for m in mean]}
    if good.sum() < 1:
        res.update(min_snr=None, reached="no data", min_snr_1_over_snr=None, slope=None, systematic=None)
        return res
    s, sg = snr[good], sigma[good]
    c = float(np.exp(np.mean(np.log(sg * s))))
    res["min_snr_1_over_snr"] = c * z / target
    res["slope"] = float(np.polyfit(np.log(s), np.log(sg), 1)[0]) if len(s) >= 2 else None
    resolved = z * sg <= target
    # the smallest SNR from which every higher SNR is resolved
    j = len(s)
    while j > 0 and resolved[j - 1]:
        j -= 1
    if j == len(s):
        res.update(min_snr=None, reached="above grid")
    elif j == 0:
        res.update(min_snr=float(s[0]), reached="below grid")
    else:
        x0, x1 = math.log(s[j - 1]), math.log(s[j])
        y0, y1 = math.log(z * sg[j - 1]), math.log(z * sg[j])
        x = x0 + (math.log(target) - y0) * (x1 - x0) / (y1 - y0) if y1 != y0 else x1
        res.update(min_snr=float(math.exp(x)), reached="on grid")
    finite = np.isfinite(mean)
    res["systematic"] = float(mean[finite][-1]) if finite.any() else None
    return res


def format_summary(summary: dict) -> list[str]:
    """The summary as lines for a terminal."""
    lines = []
    if summary.get("kind") == "min_snr":
        lines.append(f"resolved: {summary['criterion']}")
        for e in summary["entries"]:
            where = f" at {_label(e['at'])}" if e["at"] else ""
            pred = e["min_snr_1_over_snr"]
            pred_txt = f"{pred:.4g}" if pred is not None else "n/a"
            slope = f", slope {e['slope']:.2f}" if e.get("slope") is not None else ""
            if e["reached"] == "on grid":
                head = f"minimum {summary['snr_field']} for ±{summary['target']:.0%} ergotropy{where}: {e['min_snr']:.4g}"
            elif e["reached"] == "below grid":
                head = f"minimum {summary['snr_field']}{where}: ≤ {e['min_snr']:.4g} (resolved on the whole grid)"
            elif e["reached"] == "above grid":
                head = f"minimum {summary['snr_field']}{where}: above the grid's {max(e['snr']):.4g}"
            else:
                head = f"minimum {summary['snr_field']}{where}: no computed points"
            lines.append(f"{head} (1/SNR scaling predicts {pred_txt}{slope})")
            sysm = e.get("systematic")
            if sysm is not None and abs(sysm) > summary["target"]:
                lines.append(f"  systematic error {sysm:+.1%} exceeds ±{summary['target']:.0%}: more SNR does not "
                             "remove it (relaxation, pulse errors or estimator bias)")
    else:
        for m, r in summary.get("ranges", {}).items():
            if r is None:
                lines.append(f"{m}: no computed points")
            else:
                lines.append(f"{m}: {r['min']:.4g} ({_label(r['at_min'])}) to {r['max']:.4g} ({_label(r['at_max'])})")
        if summary.get("note"):
            lines.append(summary["note"])
    if summary.get("failed"):
        lines.append(f"{summary['failed']} point(s) failed: see the 'error' column of sweep.csv")
    return lines


def _is_log(values: np.ndarray) -> bool:
    v = np.asarray(values)
    return v.dtype.kind in "fi" and v.size > 2 and bool(np.all(v > 0)) and v.max() / v.min() >= 10


def _plain_log_ticks(ax, axis: str = "x") -> None:
    """Log-scale ticks written 0.5, 1, 2 … rather than 5×10⁻¹."""
    from matplotlib.ticker import FuncFormatter, LogLocator

    fmt = FuncFormatter(lambda v, _: f"{v:g}")
    target = ax.xaxis if axis == "x" else ax.yaxis
    target.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    target.set_major_formatter(fmt)
    target.set_minor_formatter(FuncFormatter(lambda v, _: ""))


def plot_sweep(ds, metric: str, x: str | None = None, hue: str | None = None):
    """A figure of ``metric`` (replica mean, with a ±1 std band over the
    replicas when there are several) against the swept field ``x`` (default
    the first), one line per value of ``hue`` (default the second swept
    field, at most 8 of its values shown); other swept fields are taken at
    their first value (named in the title)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    if metric not in ds.data_vars or metric in _BOOK:
        raise ProtocolError(f"plot metric = {metric!r} is not allowed: use one of {', '.join(_metrics(ds))}")
    fields = [d for d in ds[metric].dims if d != "replica"]
    if not fields:
        raise ProtocolError("plot_sweep: the sweep has no swept field to plot against")
    x = fields[0] if x is None else x
    if x not in fields:
        raise ProtocolError(f"plot x = {x!r} is not allowed: use a swept field ({', '.join(fields)})")
    rest = [f for f in fields if f != x]
    hue = (rest[0] if rest else None) if hue is None else hue
    if hue is not None and hue not in rest:
        raise ProtocolError(f"plot hue = {hue!r} is not allowed: use another swept field ({', '.join(rest)})")
    da = ds[metric].where(ds["status"] == 1)
    fixed = {f: 0 for f in rest if f != hue}
    title_bits = [f"{f} = {ds[f].values[0]}" for f in fixed]
    da = da.isel(fixed) if fixed else da
    fig = Figure(figsize=(6.4, 4.2), dpi=110)
    ax = fig.add_subplot()
    xs = np.asarray(ds[x].values)
    hues = [None] if hue is None else list(range(ds.sizes[hue]))
    if len(hues) > 8:
        hues = sorted(set(np.linspace(0, len(hues) - 1, 8).round().astype(int).tolist()))
    for h in hues:
        sub = da if h is None else da.isel({hue: h})
        mean = np.asarray(sub.mean("replica").values, float)
        label = None if h is None else f"{hue} = {ds[hue].values[h]}"
        line, = ax.plot(xs, mean, marker="o", ms=3, label=label)
        if ds.sizes["replica"] > 1:
            sd = np.asarray(sub.std("replica", ddof=1).values, float)
            ax.fill_between(xs, mean - sd, mean + sd, color=line.get_color(), alpha=0.2, lw=0)
        if metric == "max_ergotropy" and "ideal_max_ergotropy" in ds.data_vars:  # the model's value, for scale
            ideal = ds["ideal_max_ergotropy"].where(ds["status"] == 1)
            ideal = ideal.isel(fixed) if fixed else ideal
            ideal = ideal if h is None else ideal.isel({hue: h})
            ax.plot(xs, np.asarray(ideal.mean("replica").values, float), ls="--", lw=1, color=line.get_color(),
                    label="model" if h is None else None)
    if _is_log(xs):
        ax.set_xscale("log")
        _plain_log_ticks(ax)
    if metric == "max_ergotropy" and hue is None and "ideal_max_ergotropy" in ds.data_vars:
        ax.legend(fontsize=8)
    ax.set_xlabel(x)
    ax.set_ylabel(metric + (" (mean ± std over replicas)" if ds.sizes["replica"] > 1 else ""))
    ax.set_title(f"{ds.attrs.get('stage', '')} sweep" + (f" at {', '.join(title_bits)}" if title_bits else ""),
                 fontsize=10)
    if hue is not None:
        ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def plot_error_scaling(ds, summary: dict):
    """z·std of the relative ergotropy error against the SNR (log-log), with
    the 1/SNR fit and the target: the figure behind the minimum SNR."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 4.2), dpi=110)
    ax = fig.add_subplot()
    z, target = summary["z"], summary["target"]
    for e in summary["entries"][:8]:
        snr = np.asarray(e["snr"], float)
        sd = np.asarray([np.nan if v is None else v for v in e["std"]], float)
        label = _label(e["at"]) or None
        line, = ax.loglog(snr, z * sd, "o", ms=4, label=label)
        if e["min_snr_1_over_snr"] is not None:
            c = e["min_snr_1_over_snr"] * target / z
            grid = np.geomspace(snr.min(), snr.max(), 50)
            ax.loglog(grid, z * c / grid, "-", color=line.get_color(), alpha=0.6, lw=1)
        if e["min_snr"] is not None and e["reached"] == "on grid":
            ax.axvline(e["min_snr"], color=line.get_color(), ls=":", lw=1)
    ax.axhline(target, color="k", ls="--", lw=1, label=f"±{target:.0%}")
    _plain_log_ticks(ax, "x")
    ax.set_xlabel(summary["snr_field"])
    ax.set_ylabel(f"z·std of relative ergotropy error (z = {z:.2f})")
    ax.set_title("tomography error and its 1/SNR scaling", fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    return fig


def _save_png(fig, path: Path) -> None:
    from nmrqb.output import write_atomic

    write_atomic(path, lambda tmp: fig.savefig(tmp, format="png"))


def _save_text(path: Path, text: str) -> None:
    from nmrqb.output import write_atomic

    write_atomic(path, text)


def write_outputs(ds, out, summary: dict) -> list[Path]:
    """Write ``summary.json`` and, when every point is computed, the tidy
    ``sweep.csv`` and ``plots/<metric>.png`` (plus
    ``plots/ergotropy_error.png`` for an SNR summary) into ``out``."""
    from nmrqb.sweep_store import CSV_NAME, write_tidy_csv

    out = Path(out)
    written = []
    p = out / "summary.json"
    _save_text(p, json.dumps(summary, indent=2, ensure_ascii=False, default=_json_default) + "\n")
    written.append(p)
    if np.any(ds["status"].values == 0):
        return written
    written.append(write_tidy_csv(ds, out / CSV_NAME))
    fields = [d for d in ds["status"].dims if d != "replica"]
    if fields:
        plots = out / "plots"
        plots.mkdir(exist_ok=True)
        for m in _metrics(ds):
            p = plots / f"{m}.png"
            _save_png(plot_sweep(ds, m), p)
            written.append(p)
        if summary.get("kind") == "min_snr":
            p = plots / "ergotropy_error.png"
            _save_png(plot_error_scaling(ds, summary), p)
            written.append(p)
    return written


def _json_default(x):
    if isinstance(x, np.generic):
        return x.item()
    raise TypeError(f"not JSON serialisable: {type(x).__name__}")
