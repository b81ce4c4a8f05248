"""The run report: one self-contained HTML page (embedded PNGs, tables, the
protocol, package versions).

:func:`render_report` turns a :class:`nmrqb.run.RunResult` and its
``results.json`` document into HTML.  Sections (each an element with the id
in brackets, so tools and tests can find them): the planning verdict
(``verdict``); ideal, expected and reconstructed ergotropy, power, capacity
and coherence against Ωt with error bars (``metrics``); a table of the
same (``metrics-table``); example spectra of every readout with their line
fits (``spectra``); reconstructed against ideal density matrices at the
Ωt of maximal ergotropy (``states``); the sequence timeline and relaxation
budget of the plan (``timeline``); the plan in numbers (``plan``); the
Bruker data sets written (``files``); the exact protocol (``protocol``);
package versions (``versions``).  A small inline script records, after
loading, each image's natural size in ``data-natural-width`` (for headless
checks).  Rendering only: this module computes nothing the run did not.
"""

from __future__ import annotations

import base64
import html
import io
import json

import numpy as np

__all__ = ["render_report", "SECTIONS"]

SECTIONS = ("verdict", "metrics", "metrics-table", "resources", "spectra", "states", "timeline", "plan", "files", "protocol",
            "versions")

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;
color:#222;line-height:1.4}
h1{font-size:1.5em;margin-bottom:.2em} h2{font-size:1.15em;border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}
.verdict{background:#f3f7ee;border-left:4px solid #6a9f3c;padding:.8em 1em;font-size:1.05em}
table{border-collapse:collapse;font-size:.85em;margin:.5em 0} td,th{border:1px solid #ddd;padding:.2em .5em;text-align:right}
th{background:#f4f4f4} td.l,th.l{text-align:left} img{max-width:100%;height:auto;border:1px solid #eee}
pre{background:#f7f7f7;padding:.8em;overflow-x:auto;font-size:.8em} .muted{color:#777;font-size:.85em}
.bad{color:#b00;font-weight:bold}
"""

_SCRIPT = """
window.addEventListener('load', function () {
  document.querySelectorAll('img').forEach(function (im) {
    im.dataset.naturalWidth = im.naturalWidth; im.dataset.naturalHeight = im.naturalHeight; });
  document.body.dataset.loaded = 'yes';
});
"""


def png_bytes(fig) -> bytes:
    """The figure as PNG bytes; the figure is closed (runs in a loop must not
    accumulate open figures)."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    plt.close(fig)
    return buf.getvalue()


def _img(fig, alt: str) -> str:
    data = base64.b64encode(fig if isinstance(fig, bytes) else png_bytes(fig)).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def _metrics_figure(result):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    w = result.omega_t
    conf = int(round(100 * result.protocol.analysis.confidence))
    fig, axes = plt.subplots(2, 2, figsize=(10, 6.5), constrained_layout=True)
    names = {"ergotropy": "ergotropy E", "power": "power P = dE/d(Ωt)", "capacity": "capacity Q",
             "l1_coherence": "l1 coherence C"}
    wf = np.linspace(w.min(), w.max(), 400) if len(w) > 1 else w
    try:
        from nmrqb.battery import charge

        tr = charge(result.experiment.model, result.protocol.temperature.T, wf)
        fine = {"ergotropy": tr.ergotropy, "power": tr.power, "capacity": tr.capacity, "l1_coherence": tr.coherence}
    except Exception:  # noqa: BLE001 - the fine curve is decoration; the sampled ideal is plotted anyway
        fine = None
    for ax, (m, label) in zip(axes.ravel(), names.items()):
        if fine is not None:
            ax.plot(wf, fine[m], color="k", lw=1, label="ideal (model)")
        else:
            ax.plot(w, result.ideal[m], color="k", lw=1, label="ideal (model)")
        ax.plot(w, result.expected[m], "--", color="tab:orange", lw=1, label="expected (relaxation, pulses)")
        yerr = np.vstack([result.reconstructed[m] - result.ci_low[m], result.ci_high[m] - result.reconstructed[m]])
        ax.errorbar(w, result.reconstructed[m], yerr=yerr, fmt="o", ms=3, capsize=2, color="tab:blue",
                    label=f"reconstructed ({conf} % interval)")
        ax.set_xlabel("Ωt")
        ax.set_ylabel(label + " (α-normalised)")
        ax.grid(alpha=0.3)
    axes[0, 0].legend(fontsize=7)
    fig.suptitle(f"{result.protocol.name}: battery metrics against Ωt", fontsize=10)
    return fig


def _spectra_figure(result, k: int):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    import pulses
    from pulses.spectra import line_shape

    ex = result.experiment
    names = ex.readout.names
    chans = ex.platform.channels
    cols = min(3, len(names))
    rows = int(np.ceil(len(names) / cols))
    fig, axes = plt.subplots(rows * len(chans), cols, figsize=(3.6 * cols, 1.6 * rows * len(chans)),
                             constrained_layout=True, squeeze=False)
    lb = result.protocol.acquisition.lb_hz
    for i, r in enumerate(names):
        for c, ch in enumerate(chans):
            ax = axes[(i // cols) * len(chans) + c, i % cols]
            fid = result.fids[(k, r)][ch]
            spec = pulses.fft(pulses.apodize(fid, "exponential", lb_hz=lb) if lb > 0 else fid)
            joins = ex.readout.lines(r, ch)
            lo = min(j.center_hz for j in joins) - 150
            hi = max(j.center_hz for j in joins) + 150
            sel = (spec.hz >= lo) & (spec.hz <= hi)
            ax.plot(spec.hz[sel], spec.values[sel].real, lw=0.6, color="0.2", label="Re (recorded)")
            fit = result.lines.fits.get((k, r, ch))
            if fit is not None:
                model = np.zeros(spec.hz.size, dtype=complex)
                for a, cen, fw in zip(fit.amplitude, fit.center_hz, fit.fwhm_hz):
                    model += line_shape(spec, float(cen), max(float(fw), 1e-9), complex(a))
                ax.plot(spec.hz[sel], model[sel].real, lw=0.8, color="tab:red", alpha=0.8, label="fit")
            ax.set_title(f"{r} / {ch}", fontsize=7)
            ax.tick_params(labelsize=6)
    for j in range(len(names), rows * cols):
        for c in range(len(chans)):
            axes[(j // cols) * len(chans) + c, j % cols].set_visible(False)
    axes[0, 0].legend(fontsize=6)
    fig.suptitle(f"spectra of every readout at Ωt = {result.omega_t[k]:.3g} (Hz from each carrier)", fontsize=9)
    return fig


def _states_figure(result, k: int):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import scipy.linalg

    m = result.experiment.model
    zeta = m.gibbs_array(result.protocol.temperature.T)
    hch = m.charging_hamiltonian_array(1.0)
    u = scipy.linalg.expm(-1j * result.omega_t[k] * hch)
    ideal = u @ zeta @ u.conj().T
    rec = result.reconstruction.normalised[k]
    fig, axes = plt.subplots(2, 3, figsize=(10, 6), constrained_layout=True)
    lab = ["00", "01", "10", "11"]
    lim = max(np.abs(ideal).max(), np.abs(rec).max())
    for row, (name, mat) in enumerate((("ideal", ideal), ("reconstructed", rec))):
        for col, (part, arr) in enumerate((("Re", mat.real), ("Im", mat.imag))):
            ax = axes[row, col]
            im = ax.imshow(arr, vmin=-lim, vmax=lim, cmap="RdBu_r")
            for (i, j), v in np.ndenumerate(arr):
                ax.text(j, i, f"{v:.3f}", ha="center", va="center", fontsize=7)
            ax.set_xticks(range(4), lab)
            ax.set_yticks(range(4), lab)
            ax.set_title(f"{name}: {part} ρ", fontsize=8)
        fig.colorbar(im, ax=axes[row, 1], shrink=0.8)
    diff = rec - ideal
    ax = axes[0, 2]
    ax.imshow(np.abs(diff), cmap="viridis")
    ax.set_xticks(range(4), lab)
    ax.set_yticks(range(4), lab)
    td = 0.5 * float(np.abs(np.linalg.eigvalsh(diff)).sum())
    ax.set_title(f"|reconstructed − ideal|, trace distance {td:.2g}", fontsize=8)
    axes[1, 2].axis("off")
    axes[1, 2].text(0, 0.5, f"Ωt = {result.omega_t[k]:.4g}\nα = {result.experiment.preparation.alpha:.3g}\n"
                            "states are α-normalised:\nI/4 + (ρ − I/4)/α", fontsize=9)
    fig.suptitle("density matrices at the Ωt of maximal ergotropy", fontsize=10)
    return fig


def _table(rows, header) -> str:
    th = "".join(f'<th class="l">{html.escape(h)}</th>' if i == 0 else f"<th>{html.escape(h)}</th>"
                 for i, h in enumerate(header))
    body = "".join("<tr>" + "".join(f'<td class="l">{html.escape(str(c))}</td>' if i == 0 else
                                    f"<td>{html.escape(str(c))}</td>" for i, c in enumerate(r)) + "</tr>"
                   for r in rows)
    return f"<table><tr>{th}</tr>{body}</table>"


def render_report(result, doc: dict) -> str:
    """The HTML page of a run (``doc`` is its ``results.json`` document)."""
    p = result.protocol
    k_max = int(np.argmax(result.ideal["ergotropy"]))
    plan = result.plan
    conf = int(round(100 * p.analysis.confidence))
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>nmrqb run: {html.escape(p.name)}</title><style>{_CSS}</style></head><body>",
        f"<h1>nmrqb run: {html.escape(p.name)}</h1>",
        f"<p class='muted'>{html.escape(p.description)} — {plan.route} on {html.escape(plan.platform)}; "
        f"model {html.escape(str(result.experiment.model.as_dict()))}, T = {p.temperature.T:g}</p>",
        f"<section id='verdict'><h2>Planning verdict</h2><p class='verdict'>{html.escape(result.verdict)}</p></section>",
        "<section id='metrics'><h2>Battery metrics against Ωt</h2>",
        "<p>Ideal: the model (nmrqb.battery.charge). Expected: the simulated states without noise (relaxation and "
        "pulse errors included). Reconstructed: from the noisy spectra through line fits and tomography, with the "
        f"{conf} % interval (bootstrap, {p.analysis.bootstrap} resamples). All α-normalised; concurrence and discord "
        "of the raw NMR state are zero / O(α²).</p>",
        _img(_metrics_figure(result), "battery metrics against Omega t"), "</section>",
    ]
    rows = []
    for k, w in enumerate(result.omega_t):
        rows.append([f"{w:.4g}"] + [f"{result.ideal[m][k]:.5g} / {result.reconstructed[m][k]:.5g} ± "
                                    f"{result.standard_error[m][k]:.2g}" for m in ("ergotropy", "power", "capacity",
                                                                                  "l1_coherence")])
    parts += ["<section id='metrics-table'><h2>Metrics table (ideal / reconstructed ± standard error)</h2>",
              _table(rows, ["Ωt", "ergotropy", "power", "capacity", "l1 coherence"]), "</section>"]
    res = result.resources
    if res:
        rrows = [[f"{w:.4g}"] + [f"{res[m]['ideal'][k]:.4g} / {res[m]['reconstructed'][k]:.4g} "
                                 f"(raw {res[m]['reconstructed_raw'][k]:.2g})" for m in ("concurrence", "discord")]
                 for k, w in enumerate(result.omega_t)]
        parts += ["<section id='resources'><h2>Quantum resources (ideal / reconstructed, α-normalised; raw NMR "
                  "state)</h2><p>Concurrence and discord (bits) are not linear in the deviation from I/4: the raw "
                  "state (1 − α) I/4 + α ρ is separable for α ≤ 1/3 and its discord is O(α²). The α-normalised "
                  "values are the model's figures; from noisy data they carry the noise amplified by 1/α.</p>",
                  _table(rrows, ["Ωt", "concurrence", "discord"]), "</section>"]
    if result.experiment.readout.names:
        parts += ["<section id='spectra'><h2>Example spectra of every readout</h2>",
                  _img(_spectra_figure(result, k_max), "spectra of every readout"), "</section>"]
    else:
        parts += ["<section id='spectra'><h2>Example spectra of every readout</h2>",
                  "<p>This protocol has no tomography readout (readout.set = none): no spectra were recorded; the "
                  "states below are the simulated ones.</p></section>"]
    parts += ["<section id='states'><h2>Reconstructed and ideal density matrices</h2>",
              _img(_states_figure(result, k_max), "density matrices"), "</section>"]
    tl = result.plan_figure
    parts += ["<section id='timeline'><h2>Sequence timeline and relaxation budget</h2>",
              _img(tl, "sequence timeline") if tl is not None else "<p>(no figure)</p>", "</section>"]
    subs = [[n, f"{w:.4f}", s, f"{d * 1e3:.3f} ms", ne] for n, w, s, d, ne in plan.subexperiments]
    checks_bad = [v for _, v in plan.checks if v != "ok"]
    deg = [[m, f"{v['ideal']:.5g}", f"{v['relaxed']:.5g}", f"{100 * v['loss']:.3g} %",
            plan.culprits.get(m, {}).get("element", "-"), plan.culprits.get(m, {}).get("stage", "-")]
           for m, v in plan.metrics.items()]
    parts += [
        "<section id='plan'><h2>The plan in numbers</h2>",
        f"<p>α = {plan.alpha:.4g} (the state is (1 − α) I/4 + α ρ). Longest sequence "
        f"{plan.durations['longest_sequence_s'] * 1e3:.3f} ms; preparation {plan.durations['preparation_s'] * 1e3:.3f} ms; "
        f"{plan.durations['n_sequences']} sequences; experiment time {plan.durations['experiment_s'] / 3600:.3g} h "
        "with recycle delays.</p>",
        _table(subs, ["sub-experiment", "weight", "scans", "duration", "elements"]),
        "<p>" + ("All sequences pass the platform's limit and duty-cycle checks." if not checks_bad else
                 f"<span class='bad'>{len(checks_bad)} sequences exceed the platform's limits: "
                 f"{html.escape(checks_bad[0])}</span>") + "</p>",
        _table(deg, ["metric", "ideal max", "with relaxation", "loss", "worst element", "worst stage"]) if deg else "",
        "<p class='muted'>" + " ".join(html.escape(n) for n in plan.notes) + "</p>",
        "</section>",
    ]
    files = doc.get("bruker", [])
    parts += ["<section id='files'><h2>Data written</h2>",
              "<p>results.json (every number of this report, with units), protocol.toml (the exact protocol), and "
              "the recorded FIDs as Bruker data sets (one series per readout and channel; rows follow Ωt):</p>",
              _table([[f["path"], f["readout"], f["channel"], len(result.omega_t)] for f in files],
                     ["folder", "readout", "channel", "rows"]) if files else "<p>(no Bruker data written)</p>",
              "</section>"]
    parts += ["<section id='protocol'><h2>Protocol</h2>",
              f"<pre>{html.escape(p.to_toml())}</pre></section>"]
    parts += ["<section id='versions'><h2>Versions</h2>",
              _table([[k, v] for k, v in doc["versions"].items()], ["package", "version"]),
              f"<p class='muted'>timings: {html.escape(json.dumps({k: round(v, 3) for k, v in result.timings.items()}))}"
              "</p></section>"]
    parts += [f"<script>{_SCRIPT}</script></body></html>"]
    return "\n".join(parts)


# ============================================================================
# the fit report (`nmrqb fit`)
# ============================================================================
FIT_SECTIONS = ("summary", "parameters", "correlation", "residuals", "protocol", "versions")


def _correlation_figure(result):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(result.varied)
    c = np.eye(len(names))
    for i, a in enumerate(names):
        for j, b in enumerate(names):
            if (a, b) in result.correlation:
                c[i, j] = result.correlation[(a, b)]
    fig, ax = plt.subplots(figsize=(1.0 + 0.6 * len(names), 0.8 + 0.55 * len(names)), constrained_layout=True)
    im = ax.imshow(c, vmin=-1, vmax=1, cmap="RdBu_r")
    ax.set_xticks(range(len(names)), names, rotation=60, fontsize=7)
    ax.set_yticks(range(len(names)), names, fontsize=7)
    for (i, j), v in np.ndenumerate(c):
        ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=6)
    fig.colorbar(im, ax=ax, shrink=0.8)
    ax.set_title("parameter correlations", fontsize=9)
    return fig


def _residual_figure(fitrun):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from nmrqb.fit import _state

    fw, data, res = fitrun.forward, fitrun.data, fitrun.result
    model = fw.fids(_state(res.values), res.values)
    names = fitrun.experiment.readout.names
    chans = fw.channels
    cols = min(3, len(names))
    rows = int(np.ceil(len(names) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3.8 * cols, 1.9 * rows), constrained_layout=True, squeeze=False)
    for i, r in enumerate(names):
        ax = axes[i // cols, i % cols]
        for c, ch in enumerate(chans):
            idx = [j for j, key in enumerate(fw.keys) if key[1] == r]
            resid = (data[idx, c] - model[idx, c]).real.ravel()
            scale = np.abs(data[idx, c]).max() or 1.0
            ax.plot(resid / scale, lw=0.4, label=ch)
        ax.set_title(f"readout {r}: residual / max |data| (all Ωt)", fontsize=7)
        ax.tick_params(labelsize=6)
    for j in range(len(names), rows * cols):
        axes[j // cols, j % cols].set_visible(False)
    axes[0, 0].legend(fontsize=6)
    fig.suptitle("FID residuals per readout (real part, Ωt after Ωt)", fontsize=9)
    return fig


def render_fit_report(fitrun, doc: dict) -> str:
    """The HTML page of a fit (``doc`` is its ``fit.json`` document)."""
    p, res = fitrun.protocol, fitrun.result
    conf = int(round(100 * doc["confidence"]))
    rows = []
    for n, e in doc["parameters"].items():
        ci = f"[{e['ci_low']:.6g}, {e['ci_high']:.6g}]" if "ci_low" in e else "not determined"
        truth = e.get("protocol")
        inside = ("yes" if e.get("ci_low") is not None and truth is not None and e["ci_low"] <= truth <= e["ci_high"]
                  else "-" if truth is None or "ci_low" not in e else "NO")
        se = "-" if e["stderr"] is None else f"{e['stderr']:.3g}"
        rows.append([n, f"{e['value']:.6g}", se, ci, "-" if truth is None else f"{truth:.6g}", inside])
    warn = ("<ul>" + "".join(f"<li>{html.escape(w)}</li>" for w in res.warnings) + "</ul>") if res.warnings else \
        "<p>Every fitted parameter is determined by the data (no flat direction, no correlation above 0.95).</p>"
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>nmrqb fit: {html.escape(p.name)}</title><style>{_CSS}</style></head><body>",
        f"<h1>nmrqb fit: {html.escape(p.name)}</h1>",
        "<section id='summary'><h2>Summary</h2>",
        f"<p class='verdict'>{len(res.varied)} parameters fitted to {fitrun.data.shape[0]} FIDs per channel "
        f"({', '.join(fitrun.forward.channels)}); reduced χ² = {res.redchi:.4g} "
        + ("(σ given: it tests the model)" if res.sigma_source == "given" else
           "(σ from the residual: 1 by construction, it cannot reveal a misfit)")
        + f"; best of {res.starts} starts; "
        f"{fitrun.n_evaluations} residual evaluations in {fitrun.seconds:.1f} s.</p>",
        "<h3>Identifiability</h3>", warn, "</section>",
        "<section id='parameters'><h2>Parameters</h2>",
        _table(rows, ["parameter", "value", "standard error", f"{conf} % interval", "protocol", "inside"]),
        "</section>",
        "<section id='correlation'><h2>Correlations</h2>",
        _img(_correlation_figure(res), "parameter correlations") if res.varied else "<p>(nothing varied)</p>",
        "</section>",
        "<section id='residuals'><h2>Residuals per readout</h2>",
        _img(_residual_figure(fitrun), "residuals per readout"), "</section>",
        "<section id='protocol'><h2>Protocol</h2>", f"<pre>{html.escape(p.to_toml())}</pre></section>",
        "<section id='versions'><h2>Versions</h2>",
        _table([[k, v] for k, v in doc["versions"].items()], ["package", "version"]), "</section>",
        f"<script>{_SCRIPT}</script></body></html>",
    ]
    return "\n".join(parts)
