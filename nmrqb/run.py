"""The planning run: a protocol simulated end to end, as a spectrometer records it.

``run_protocol(protocol)`` composes the stages of the data flow, one module
each — :mod:`nmrqb.translate` (sequences), :mod:`nmrqb.simulation` (the
platform's relaxation and RF/offset ensembles), receiver noise at the
protocol's SNR (here), :mod:`nmrqb.lines` (spectra, line fits, the join),
:mod:`nmrqb.reconstruct` (tomography, metrics) and :mod:`nmrqb.plan` — and
returns a :class:`RunResult`.  ``write_run`` writes it to one folder through
the output layer (:func:`nmrqb.output.staged_run_dir`): ``report.html``
(:mod:`nmrqb.report`), ``results.json`` (schema
``nmrqb/schemas/results.schema.json``), ``protocol.toml`` (the exact
protocol, defaults filled in) and the noisy FIDs as Bruker data sets.

Noise model
-----------
``acquisition.snr`` is the SNR per scan of each channel's *thermal
reference*: the thermal state, a 90° pulse on that channel, the protocol's
acquisition, SNR as :func:`pulses.spectra.noise_sigma` defines it (tallest
line of the real spectrum over the rms noise).  That fixes the receiver
noise σ_c of channel c per scan.  The N scans are split over the
preparation's sub-experiments as n_j ≈ w_j N (:func:`nmrqb.plan.scan_split`);
each sub-experiment is recorded as its own average over its n_j scans and
the averages are added with the exact weights w_j in processing (temporal
averaging), so the prepared state is exact and the combined FID carries
complex white Gaussian noise of σ_c·√(Σ_j w_j²/n_j) (:func:`noise_scale`;
σ_c/√N when n_j = w_j N).
Draws are seeded by (``acquisition.seed``, Ωt index, readout index,
channel index), so a point of a sweep is reproducible on its own.

Uncertainties: the line fits give standard errors of the line amplitudes
(scaled by the reduced χ² of white noise — the fit is done without
apodisation unless ``acquisition.lb_hz`` > 0, which correlates neighbouring
points and makes the errors too small); they are the σ of the tomography
lines; a parametric bootstrap of the estimator (``analysis.bootstrap``
resamples, seed derived from the protocol's) gives the standard error and
the bias of every metric.  Ergotropy, capacity and l1 coherence are convex
functions of ρ, so noise biases their plain estimates upward by O(σ²)
(Jensen); the interval at ``analysis.confidence`` is therefore centred on
the bias-corrected estimate: value − bias ± z·se.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nmrqb.errors import PhysicsError

__all__ = ["RunResult", "run_protocol", "write_run", "METRIC_UNITS", "RESULTS_FORMAT"]

RESULTS_FORMAT = "nmrqb.results/1"

#: Format of ``bruker/manifest.json``: which Bruker data set (expno) holds
#: which readout and channel, rows following ``omega_t`` (``nmrqb fit`` reads it).
MANIFEST_FORMAT = "nmrqb.bruker-manifest/1"

#: The metrics of a run and their units (model units: ħ = k_B = 1, energies in
#: units of the model's energy scale, times as Ωt; α-normalised).
METRIC_UNITS = {
    "ergotropy": "model energy unit (alpha-normalised)",
    "power": "model energy unit per unit of Omega t (alpha-normalised)",
    "capacity": "model energy unit (alpha-normalised)",
    "l1_coherence": "dimensionless (alpha-normalised)",
}

#: The quantum resources, not linear in the deviation (docs/translate.md):
#: reported for the α-normalised states and for the raw NMR states.
RESOURCE_UNITS = {"concurrence": "dimensionless", "discord": "bits"}

_RESOURCE_NOTE = ("concurrence and discord are not linear in the deviation from I/4, so they are not alpha times "
                  "the model's: the raw NMR state (1 - alpha) I/4 + alpha rho is separable for alpha <= 1/3 "
                  "(concurrence 0) and its discord is O(alpha^2); the alpha-normalised values are the model's "
                  "figures, and from noisy data they carry the noise amplified by 1/alpha (no interval is given)")


def _power(rho: np.ndarray, h: np.ndarray, hch: np.ndarray) -> np.ndarray:
    """P = Tr[−i[H_ch, ρ] H] (Ω = 1: per unit of Ωt), linear in ρ."""
    comm = hch @ rho - rho @ hch
    return np.real(np.einsum("...ij,ji->...", -1j * comm, h))


def _z(confidence: float) -> float:
    from scipy.stats import norm

    return float(norm.ppf(0.5 + confidence / 2))


@dataclass(frozen=True)
class RunResult:
    """Everything a run computed (see :func:`run_protocol`).

    Attributes
    ----------
    protocol : nmrqb.protocol.Protocol
    experiment : nmrqb.translate.Experiment
    simulated : nmrqb.simulation.SimulatedExperiment   (noiseless FIDs)
    fids : dict   (k, readout) → channel → the recorded (noisy) FID
    lines : nmrqb.lines.LineData
    reconstruction : nmrqb.reconstruct.Reconstruction
    omega_t : ndarray
    ideal, expected, reconstructed, standard_error, ci_low, ci_high, bias : dict metric → ndarray
        ``ideal``: the model (nmrqb.battery.charge); ``expected``: the
        simulated states without noise (relaxation and pulse errors
        included); ``reconstructed``: from the noisy spectra; ``bias``: its
        bootstrap bias (the interval is centred on reconstructed − bias).
    noise_sigma : dict channel → σ per scan
    plan : nmrqb.plan.PlanReport
    verdict : str
    timings : dict stage → seconds
    """

    protocol: object
    experiment: object
    simulated: object
    fids: dict
    lines: object
    reconstruction: object
    omega_t: np.ndarray
    ideal: dict
    expected: dict
    reconstructed: dict
    standard_error: dict
    ci_low: dict
    ci_high: dict
    noise_sigma: dict
    plan: object
    verdict: str
    timings: dict = field(default_factory=dict)
    plan_figure: bytes | None = None
    bias: dict = field(default_factory=dict)
    resources: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        """The JSON document ``results.json`` (schema results.schema.json)."""
        from nmrqb.output import versions

        def arr(x):
            return [float(v) for v in np.asarray(x, dtype=float).ravel()]

        p = self.protocol
        prep = self.experiment.preparation
        metrics = {}
        for m, unit in METRIC_UNITS.items():
            metrics[m] = {
                "unit": unit,
                "ideal": arr(self.ideal[m]),
                "expected": arr(self.expected[m]),
                "reconstructed": arr(self.reconstructed[m]),
                "standard_error": arr(self.standard_error[m]),
                "bootstrap_bias": arr(self.bias.get(m, np.zeros(len(self.omega_t)))),
                "ci_low": arr(self.ci_low[m]),
                "ci_high": arr(self.ci_high[m]),
            }
        states = []
        for k in range(len(self.omega_t)):
            rho = self.reconstruction.normalised[k]
            states.append({"real": np.real(rho).tolist(), "imag": np.imag(rho).tolist()})
        details = {k: (v if isinstance(v, (int, float, str, bool, type(None))) else json.loads(json.dumps(v, default=float)))
                   for k, v in prep.details.items()}
        return {
            "format": RESULTS_FORMAT,
            "name": p.name,
            "protocol": p.to_dict(),
            "versions": versions(),
            "alpha": {"value": float(prep.alpha), "unit": "dimensionless", "method": str(p.analysis.alpha)},
            "preparation": {
                "route": prep.route,
                "subexperiments": [{"name": s.name, "weight": float(s.weight), "duration_s": float(s.sequence.duration),
                                    "n_elements": len(s.sequence.elements)} for s in prep.subexperiments],
                "details": details,
            },
            "omega_t": {"values": arr(self.omega_t), "unit": "dimensionless (Omega t)"},
            "confidence": float(p.analysis.confidence),
            "noise_sigma_per_scan": {ch: float(v) for ch, v in self.noise_sigma.items()},
            "noise_sigma_recorded": {ch: (float(v) * noise_scale(prep.weights, p.acquisition.scans)
                                          if p.acquisition.noise else 0.0) for ch, v in self.noise_sigma.items()},
            "metrics": metrics,
            "resources": {"note": _RESOURCE_NOTE,
                          **{m: {"unit": RESOURCE_UNITS[m], **{k: arr(v) for k, v in self.resources[m].items()}}
                             for m in RESOURCE_UNITS if m in self.resources}},
            "reconstructed_states": states,
            "plan": json.loads(json.dumps(self.plan.as_dict(), default=float)),
            "verdict": self.verdict,
            "timings_s": {k: float(v) for k, v in self.timings.items()},
        }


def _bootstrap_metrics(model, state: np.ndarray, cov: np.ndarray, method: str, n: int, seed, funcs) -> dict:
    """Parametric bootstrap of metrics with *correlated* line amplitudes.

    Resamples y* = b + A c(ρ̂) + L z with L Lᵀ = ``cov`` (the full
    covariance of the α-normalised amplitudes: lines of one spectrum are
    correlated through their shared fitted width), re-estimates the state
    with ``method`` (weights from the diagonal) and evaluates ``funcs``.
    ``tomography.uncertainty.bootstrap`` assumes independent lines, which
    would misstate the errors of these fitted amplitudes."""
    from tomography import estimate

    center = model.predict(state)
    d = np.sqrt(np.clip(np.diag(cov), 0, None))
    floor = 1e-12 * max(1.0, float(d.max(initial=0.0)))
    w, v = np.linalg.eigh(cov)
    root = v * np.sqrt(np.clip(w, 0, None))  # cov = root rootᵀ (PSD even when numerically singular)
    sigma = np.maximum(d, floor)
    rng = np.random.default_rng(seed)
    out = {m: np.empty(n) for m in funcs}
    for r in range(n):
        y = center + root @ rng.standard_normal(center.size)
        est = estimate(model, y, sigma, method=method)
        for m, f in funcs.items():
            out[m][r] = f(est.state)
    return out


def noise_scale(weights, scans: int) -> float:
    """Noise of the weighted sum Σ_j w_j·(average of sub-experiment j over
    its n_j scans) in units of the noise of one scan: √(Σ_j w_j²/n_j), with
    n_j from :func:`nmrqb.plan.scan_split`."""
    from nmrqb.plan import scan_split

    w = np.asarray(weights, dtype=float)
    n = np.asarray(scan_split(w, int(scans)), dtype=float)
    return float(math.sqrt(np.sum(w * w / n)))


def preflight(protocol):
    """Translate ``protocol`` and check what only the experiment reveals,
    before anything is simulated (``nmrqb validate`` and ``nmrqb run`` call
    it): the scans cover every sub-experiment of the preparation, and the
    spectral width holds every line of every readout.  Returns the
    :class:`~nmrqb.translate.Experiment`; a :class:`ProtocolError` names the
    key to change."""
    from nmrqb.protocol import _error, at_key
    from nmrqb.translate import translate

    p = protocol
    with at_key(p, "preparation"):
        ex = translate(p.model(), p.T, p.platform(), **p.translate_kwargs())
    n_sub = len(ex.preparation.subexperiments)
    if p.acquisition.scans < n_sub:
        raise _error(p.source, "acquisition.scans",
                     f"acquisition.scans = {p.acquisition.scans} is not allowed: the preparation has {n_sub} "
                     f"sub-experiments, each needs at least one scan (give scans ≥ {n_sub})")
    if ex.readout.names:
        half = 0.5 / ex.readout.acquire.dwell_s
        worst = max(ex.readout.join, key=lambda j: abs(j.center_hz))
        if abs(worst.center_hz) >= half:
            raise _error(p.source, "acquisition.spectral_width_hz",
                         f"acquisition.spectral_width_hz = {2 * half:g} is not allowed: the line of readout "
                         f"{worst.readout!r} on {worst.channel} at {worst.center_hz:+g} Hz from the carrier lies "
                         f"outside ±{half:g} Hz; give a spectral width above {2 * abs(worst.center_hz):g} Hz "
                         "(or leave it out for the default)")
    return ex


def derived_values(protocol, experiment) -> dict:
    """The values the translation derives for keys the protocol leaves unset
    (``acquisition.spectral_width_hz``: 4 × the spread of the platform's
    lines; ``preparation.tau_s``: the optimal Jeener–Broekaert delay), by
    key; what ``nmrqb protocol show`` prints beside the protocol."""
    out = {}
    if protocol.acquisition.spectral_width_hz is None:
        out["acquisition.spectral_width_hz"] = float(1.0 / experiment.readout.acquire.dwell_s)
    tau = experiment.preparation.details.get("tau_s")
    if protocol.preparation.tau_s is None and tau is not None:
        out["preparation.tau_s"] = float(tau)
    return out


def _noise(result_fids: dict, sigma: dict, scans: int, seed: int, readouts: tuple, channels: tuple,
           scale: float | None = None) -> dict:
    """Receiver noise on every FID: σ_c × ``scale`` (default 1/√scans)."""
    scale = 1.0 / math.sqrt(scans) if scale is None else float(scale)
    out = {}
    for (k, r), per in result_fids.items():
        out[(k, r)] = {}
        for c, ch in enumerate(channels):
            fid = per[ch]
            rng = np.random.default_rng([seed, k, readouts.index(r), c])
            s = sigma[ch] * scale
            z = rng.standard_normal(fid.data.shape + (2,))
            out[(k, r)][ch] = fid.with_data(fid.data + s * (z[..., 0] + 1j * z[..., 1]), noise_sigma=float(s),
                                            scans=int(scans))
    return out


def _reference_sigma(experiment, snr, sim_kwargs) -> dict:
    """σ per scan of each channel from its thermal 90° reference spectrum."""
    import pulses
    from pulses.spectra import noise_sigma

    system = experiment.platform.system
    acq = experiment.readout.acquire
    sim = pulses.Simulator(system, **sim_kwargs)
    out = {}
    for ch in system.channels:
        seq = pulses.Sequence((pulses.Pulse(flip_deg=90.0, hard=True, channels=(ch,)), acq), name=f"reference {ch}")
        ref = sim.run(seq).fid(ch)
        s = snr[ch] if isinstance(snr, dict) else snr
        out[ch] = float(noise_sigma(ref, float(s)))
    return out


def _verdict(p, omega_t, ideal, rec, se, lo, hi, plan, noise: bool, readout: bool = True) -> str:
    k = int(np.argmax(ideal["ergotropy"]))
    e_ideal, e_rec = float(ideal["ergotropy"][k]), float(rec["ergotropy"][k])
    half = 0.5 * (float(hi["ergotropy"][k]) - float(lo["ergotropy"][k]))
    conf = int(round(100 * p.analysis.confidence))
    if not readout:
        parts = [f"No tomography readout (readout.set = none): the prepared and charged states are the simulated "
                 f"ones; maximal ergotropy {e_rec:.4g} at Ωt = {omega_t[k]:.3g} against the model's {e_ideal:.4g}"]
    else:
        parts = [f"Maximal ergotropy {e_rec:.4g} reconstructed at Ωt = {omega_t[k]:.3g} (ideal {e_ideal:.4g})"]
    if noise:
        rel = half / abs(e_ideal) if e_ideal else math.inf
        snr = ", ".join(f"{ch} {v:g}" for ch, v in (p.acquisition.snr if isinstance(p.acquisition.snr, tuple)
                                                      else (("all channels", p.acquisition.snr),)))
        parts.append(f"resolved to ±{100 * rel:.2g} % ({conf} % interval) at SNR per scan {snr} "
                     f"with {p.acquisition.scans} scans")
        inside = lo["ergotropy"][k] <= e_ideal <= hi["ergotropy"][k]
        if inside:
            parts.append("the ideal value lies inside the interval")
        else:
            parts.append("the ideal value lies outside the interval: the systematic errors of the platform "
                         "(relaxation, pulses) exceed the noise at this SNR")
    elif readout:
        parts.append(f"noiseless: reconstruction error {abs(e_rec - e_ideal):.2g}")
    if plan is None:
        return "; ".join(parts) + "."
    if plan.metrics:
        loss = plan.metrics["ergotropy"]["loss"]
        c = plan.culprits.get("ergotropy", {})
        parts.append(f"relaxation (T1/T2) costs {100 * loss:.2g} % of it, most in {c.get('stage', '-')}")
    if not plan.ok:
        parts.append("SOME SEQUENCES EXCEED THE PLATFORM'S LIMITS (see the plan)")
    parts.append(f"α = {plan.alpha:.3g}; experiment time {plan.durations['experiment_s'] / 3600:.3g} h")
    return "; ".join(parts) + "."


def run_protocol(protocol, *, progress: bool = False, plan: bool = True) -> RunResult:
    """Run ``protocol`` (an :class:`nmrqb.protocol.Protocol`) end to end.

    ``progress`` shows a tqdm bar on stderr for the long steps; ``plan=False``
    skips the plan report (its relaxation budget and figure), e.g. for the
    points of a sweep: the result's ``plan`` is then None and it cannot be
    written with :func:`write_run`."""
    import pulses
    from tqdm import tqdm

    from nmrqb.battery import charge
    from nmrqb.lines import fit_experiment
    from nmrqb.plan import plan_report
    from nmrqb.protocol import Protocol, at_key
    from nmrqb.reconstruct import battery_metrics, reconstruct
    from nmrqb.simulation import simulate_experiment
    from nmrqb.translate import translate
    if not isinstance(protocol, Protocol):
        raise PhysicsError(f"protocol must be an nmrqb.protocol.Protocol, got {type(protocol).__name__}")
    p = protocol
    acq, ana = p.acquisition, p.analysis
    timings: dict[str, float] = {}
    bar = tqdm(total=7, desc=f"nmrqb run {p.name}", disable=not progress, unit="step", leave=False)

    def step(name):
        bar.set_postfix_str(name)
        return time.perf_counter()

    t = step("translate")
    model, platform = p.model(), p.platform()
    ex = preflight(p)
    has_readout = bool(ex.readout.names)
    timings["translate"] = time.perf_counter() - t
    bar.update()

    t = step("simulate")
    kw = {"relaxation": acq.relaxation}
    if acq.rf_inhomogeneity > 0:
        kw["rf_scale"] = pulses.Distribution.gaussian(1.0, acq.rf_inhomogeneity, acq.ensemble_nodes)
    if acq.offset_error_hz > 0:
        kw["offsets_hz"] = pulses.Distribution.gaussian(0.0, acq.offset_error_hz, acq.ensemble_nodes)
    with at_key(p, "acquisition"):
        sim = simulate_experiment(ex, acquire=has_readout, **kw)
        sigma = _reference_sigma(ex, {ch: acq.snr_for(ch) for ch in platform.channels}, kw)
        fids = (_noise(sim.fids, sigma, acq.scans, acq.seed, ex.readout.names, platform.channels,
                       scale=noise_scale(ex.preparation.weights, acq.scans))
                if acq.noise and has_readout else sim.fids)
    timings["simulate"] = time.perf_counter() - t
    bar.update()

    h = model.hamiltonian_array()
    hch = model.charging_hamiltonian_array(1.0)
    omega_t = ex.charging.omega_t
    a_exp = ex.preparation.alpha
    lines = rec = None
    if has_readout:
        t = step("fit lines")
        from nmrqb.simulation import SimulatedExperiment

        recorded = SimulatedExperiment(ex, sim.prepared, sim.charged, fids, sim.relaxation)
        with at_key(p, "acquisition.lb_hz"):
            lines = fit_experiment(recorded, lb_hz=acq.lb_hz)
        timings["fit"] = time.perf_counter() - t
        bar.update()

        t = step("tomography")
        alpha = a_exp if ana.alpha == "known" else ana.alpha
        with at_key(p, "analysis"):
            rec = reconstruct(lines, alpha=alpha, method=ana.estimator, sigma=None)
        timings["tomography"] = time.perf_counter() - t
    else:
        # no tomography readout: the states are the simulated ones (no noise, no fit)
        from nmrqb.reconstruct import Reconstruction, normalise

        rec = Reconstruction(sim.charged, normalise(sim.charged, a_exp), np.full(len(omega_t), a_exp), ())
        bar.update()
    bar.update()

    t = step("metrics")
    tr = charge(model, p.T, omega_t)
    ideal = {"ergotropy": tr.ergotropy, "power": tr.power, "capacity": tr.capacity, "l1_coherence": tr.coherence}
    bm = battery_metrics(sim.charged, h, a_exp)
    expected = {"ergotropy": bm["ergotropy"], "capacity": bm["capacity"], "l1_coherence": bm["l1_coherence"],
                "power": _power(sim.charged, h, hch) / a_exp}
    bn = battery_metrics(rec.normalised, h, 1.0)
    reconstructed = {"ergotropy": bn["ergotropy"], "capacity": bn["capacity"], "l1_coherence": bn["l1_coherence"],
                     "power": _power(rec.normalised, h, hch)}
    se = {m: np.zeros(len(omega_t)) for m in METRIC_UNITS}
    bias = {m: np.zeros(len(omega_t)) for m in METRIC_UNITS}
    if has_readout and acq.noise and ana.bootstrap >= 2:
        from nmrqb import measures

        funcs = {
            "ergotropy": lambda r: measures.ergotropy(r, h),
            "capacity": lambda r: measures.capacity(r, h),
            "l1_coherence": lambda r: measures.l1_coherence(r),
            "power": lambda r: float(_power(r.full(), h, hch)),
        }
        model_t = lines.model
        for k in tqdm(range(len(omega_t)), desc="bootstrap", disable=not progress, leave=False):
            with at_key(p, "analysis.bootstrap"):
                samples = _bootstrap_metrics(model_t, rec.normalised[k], lines.covariances[k] / rec.alpha[k] ** 2,
                                             ana.estimator, ana.bootstrap, [acq.seed, 7919, k], funcs)
            for m in METRIC_UNITS:
                value = reconstructed[m][k]
                se[m][k] = float(np.std(samples[m], ddof=1))
                bias[m][k] = float(np.mean(samples[m]) - value)
    # Ergotropy, capacity and l1 coherence are convex in ρ, so noise biases
    # their estimates upward by O(σ²) (Jensen); the interval is centred on
    # the bootstrap bias-corrected estimate value − (mean − value).
    z = _z(ana.confidence)
    lo = {m: reconstructed[m] - bias[m] - z * se[m] for m in METRIC_UNITS}
    hi = {m: reconstructed[m] - bias[m] + z * se[m] for m in METRIC_UNITS}
    timings["metrics"] = time.perf_counter() - t
    bar.update()

    t = step("plan")
    if plan:
        plan_rep, fig = plan_report(ex, total_scans=acq.scans, relaxation=acq.relaxation, figure=True)
        from nmrqb.report import png_bytes

        plan_fig = png_bytes(fig)
    else:
        plan_rep, plan_fig = None, None
    timings["plan"] = time.perf_counter() - t
    bar.update()
    bar.close()
    verdict = _verdict(p, omega_t, ideal, reconstructed, se, lo, hi, plan_rep, acq.noise and has_readout, has_readout)
    return RunResult(p, ex, sim, fids, lines, rec, omega_t, ideal, expected, reconstructed, se, lo, hi, sigma,
                     plan_rep, verdict, timings, plan_fig, bias, _resources(model, p.T, omega_t, bm, bn, rec))


def _resources(model, T, omega_t, expected: dict, reconstructed_norm: dict, rec) -> dict:
    """Concurrence and discord: of the model's charged Gibbs states (ideal),
    of the simulated states (expected) and of the reconstructed ones, each
    α-normalised and raw (:data:`RESOURCE_UNITS`)."""
    import scipy.linalg

    from nmrqb import measures

    zeta, hch = model.gibbs_array(T), model.charging_hamiltonian_array(1.0)
    charged = []
    for w in np.asarray(omega_t, dtype=float):
        u = scipy.linalg.expm(-1j * w * hch)
        charged.append(u @ zeta @ u.conj().T)
    charged = np.array(charged)
    raw = np.asarray(rec.states, dtype=np.complex128)
    raw = 0.5 * (raw + np.swapaxes(raw.conj(), -1, -2))  # as battery_metrics takes them
    out = {}
    for m, fn in (("concurrence", measures.concurrence), ("discord", measures.discord)):
        out[m] = {"ideal": np.asarray(fn(charged)), "expected": expected[m], "reconstructed": reconstructed_norm[m],
                  "expected_raw": expected[f"{m}_raw"], "reconstructed_raw": np.asarray(fn(raw))}
    return out


def write_run(result: RunResult, out_dir, *, force: bool = False, bruker: bool = True,
              report: bool = True) -> dict[str, Path]:
    """Write ``result`` to ``out_dir`` (staged and swapped in whole; an
    existing earlier run is replaced only with ``force``)."""
    import pulses

    from nmrqb.output import staged_run_dir

    if result.plan is None:
        raise PhysicsError("write_run: the run was made with plan=False; run it with the plan to write its report")
    paths: dict[str, Path] = {}
    out = Path(out_dir)
    with staged_run_dir(out, force) as stage:
        doc = result.to_json()
        index = []
        if bruker:
            bdir = stage / "bruker"
            bdir.mkdir()
            expno = 0
            for r in result.experiment.readout.names:
                for ch in result.experiment.platform.channels:
                    expno += 1
                    series = [result.fids[(k, r)][ch] for k in range(len(result.omega_t))]
                    pulses.write_bruker(series if len(series) > 1 else series[0], bdir / str(expno))
                    index.append({"expno": expno, "readout": r, "channel": ch, "rows": "omega_t",
                                  "path": f"bruker/{expno}"})
            doc["bruker"] = index
            manifest = {"format": MANIFEST_FORMAT, "omega_t": [float(w) for w in result.omega_t],
                        "datasets": [{"expno": e["expno"], "readout": e["readout"], "channel": e["channel"],
                                      "rows": "omega_t"} for e in index]}
            with open(bdir / "manifest.json", "w", encoding="utf-8") as fh:
                json.dump(manifest, fh, indent=1)
                fh.write("\n")
        with open(stage / "results.json", "w", encoding="utf-8") as fh:
            json.dump(doc, fh, indent=1, allow_nan=False)
            fh.write("\n")
        (stage / "protocol.toml").write_text(result.protocol.to_toml(), encoding="utf-8")
        if report:
            from nmrqb.report import render_report

            (stage / "report.html").write_text(render_report(result, doc), encoding="utf-8")
    paths["folder"] = out
    paths["results"] = out / "results.json"
    paths["protocol"] = out / "protocol.toml"
    if report:
        paths["report"] = out / "report.html"
    if bruker:
        paths["bruker"] = out / "bruker"
    return paths
