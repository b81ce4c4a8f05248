"""The plan report of one translated experiment: what it will really deliver.

:func:`plan_report` takes an :class:`nmrqb.translate.Experiment` and returns
a :class:`PlanReport` (a value: numbers and verdicts) and a Matplotlib
figure (a pulse-program diagram of one full sequence and the relaxation
budget).  It states

* the sequence timeline, the longest sequence against the platform's T1/T2,
  and the experiment time with the recycle delay;
* the platform's limit and duty-cycle checks for every sequence;
* α, the number of sub-experiments and their scans;
* with the platform's relaxation on, each battery metric's degradation
  (ergotropy, capacity, l1 coherence, at their maxima over Ωt) and which
  element of the sequence causes most of it: each element is simulated with
  relaxation on while the rest is ideal, and the element whose relaxation
  costs the most is named (the contributions add up to the total to first
  order in t/T).

It composes the translation and the simulator; it prepares nothing itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from nmrqb.errors import PhysicsError

__all__ = ["PlanReport", "plan_report"]

METRICS = ("ergotropy", "capacity", "l1_coherence")


@dataclass(frozen=True)
class PlanReport:
    """The numbers and verdicts of a plan (see the module docstring).

    Attributes
    ----------
    platform, route : str
    alpha : float
    subexperiments : tuple of (name, weight, scans, duration_s, n_elements)
    durations : dict
        ``longest_sequence_s``, ``preparation_s`` (longest), ``acquisition_s``,
        ``scan_s`` (longest sequence + recycle delay), ``experiment_s`` (all
        sequences × scans), ``n_sequences``.
    relaxation : dict
        Per spin label: T1, T2 and the longest sequence over each.
    checks : tuple of (sequence name, "ok" or the platform's error message)
    duty_cycle : dict channel → worst duty cycle over the sequences
    metrics : dict
        Per metric: ``ideal`` and ``relaxed`` maxima over Ωt (α-normalised)
        and ``loss`` = 1 − relaxed/ideal.
    culprits : dict
        Per metric: ``element`` (description), ``share`` of the total loss,
        and ``per_element`` [(description, loss)] sorted by loss.
    notes : tuple of str
    """

    platform: str
    route: str
    alpha: float
    subexperiments: tuple
    durations: dict
    relaxation: dict
    checks: tuple
    duty_cycle: dict
    metrics: dict
    culprits: dict
    notes: tuple = ()
    details: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when every sequence passes the platform's limit checks."""
        return all(v == "ok" for _, v in self.checks)

    def summary(self) -> str:
        """The report as text (one line per fact)."""
        lines = [
            f"Plan on {self.platform} ({self.route}): alpha = {self.alpha:.4g}, "
            f"{len(self.subexperiments)} sub-experiment(s), {self.durations['n_sequences']} sequences",
        ]
        for name, w, scans, dur, n in self.subexperiments:
            lines.append(f"  {name}: weight {w:.4f}, {scans} scans, {dur * 1e3:.3f} ms, {n} elements")
        d = self.durations
        lines.append(f"longest sequence {d['longest_sequence_s'] * 1e3:.3f} ms (preparation {d['preparation_s'] * 1e3:.3f} ms,"
                     f" acquisition {d['acquisition_s'] * 1e3:.1f} ms); experiment {d['experiment_s'] / 3600:.2f} h "
                     "with recycle delays")
        for lab, r in self.relaxation.items():
            lines.append(f"  {lab}: T1 = {r['t1_s']}, T2 = {r['t2_s']}; preparation/T2 = {r['prep_over_t2']:.3g}")
        bad = [(n, v) for n, v in self.checks if v != "ok"]
        lines.append("limits and duty cycle: " + ("all sequences pass" if not bad else f"{len(bad)} fail, first: {bad[0][1]}"))
        lines.append("duty cycle: " + ", ".join(f"{ch} {x:.2e}" for ch, x in self.duty_cycle.items()))
        for m, v in self.metrics.items():
            c = self.culprits.get(m, {})
            lines.append(f"{m}: ideal max {v['ideal']:.6g}, with relaxation {v['relaxed']:.6g} "
                         f"(loss {100 * v['loss']:.3g} %); most from {c.get('element', '-')} "
                         f"({100 * c.get('share', 0.0):.0f} % of the loss; stage {c.get('stage', '-')}: "
                         f"{100 * c.get('stage_share', 0.0):.0f} %)")
        lines += list(self.notes)
        return "\n".join(lines)

    def as_dict(self) -> dict:
        """JSON-ready form."""
        return {
            "platform": self.platform, "route": self.route, "alpha": self.alpha,
            "subexperiments": [dict(zip(("name", "weight", "scans", "duration_s", "n_elements"), s))
                               for s in self.subexperiments],
            "durations": self.durations, "relaxation": self.relaxation,
            "checks": [{"sequence": n, "result": v} for n, v in self.checks],
            "duty_cycle": self.duty_cycle, "metrics": self.metrics,
            "culprits": {m: {k: v for k, v in c.items()} for m, c in self.culprits.items()},
            "notes": list(self.notes), "details": self.details,
        }


def scan_split(weights, total: int) -> list[int]:
    """Integer scans per sub-experiment ∝ weights (largest remainder), each ≥ 1.

    Each sub-experiment is recorded as its own average over its scans, and
    the averages are added with the exact weights in processing, so the
    rounding changes only the noise (:func:`nmrqb.run.noise_scale`), not the
    prepared state."""
    weights = np.asarray(weights, dtype=float)
    raw = weights * total
    n = np.floor(raw).astype(int)
    for k in np.argsort(-(raw - n))[: total - n.sum()]:
        n[k] += 1
    n = np.maximum(n, 1)
    while n.sum() > total and np.any(n > 1):  # the ones given to tiny weights come from the largest parts
        n[int(np.argmax(n))] -= 1
    return [int(x) for x in n]


def _describe(sub: str, k: int, e) -> str:
    lab = getattr(e, "label", "") or ""
    dur = e.duration
    return f"{sub} element {k} ({e.kind}{' ' + repr(lab) if lab else ''}{f', {dur * 1e3:.3g} ms' if dur else ''})"


def _charged_metrics(experiment, prepared: np.ndarray, sim) -> dict[str, float]:
    """Maxima over Ωt of the α-normalised linear metrics of the charged states
    (charging pulses run on ``sim`` from ``prepared``)."""
    from nmrqb.reconstruct import battery_metrics
    from pulses.sequence import Sequence

    charged = [prepared if p is None else sim.run(Sequence((p,)), initial=prepared).final_state
               for p in experiment.charging.pulses]
    bm = battery_metrics(np.array(charged), experiment.model.hamiltonian_array(), experiment.preparation.alpha)
    return {m: float(np.max(bm[m])) for m in METRICS}


def _finite_pulse_errors(experiment, prepared: np.ndarray | None = None) -> dict[str, float]:
    """Largest change of each metric over Ωt when the charging pulses are the
    experiment's finite ones instead of ideal rotations (no relaxation,
    from the ideal prepared state, simulated here unless ``prepared`` gives
    it); empty when the pulses are ideal."""
    import pulses
    from pulses.sequence import Pulse, Sequence

    from nmrqb.reconstruct import battery_metrics

    finite = [p for p in experiment.charging.pulses if p is not None and not p.hard]
    if not finite:
        return {}
    system = experiment.platform.system
    sim = pulses.Simulator(system, relaxation=False)
    if prepared is None:
        prepared = sum(s.weight * sim.run(s.sequence).final_state for s in experiment.preparation.subexperiments)
        prepared = 0.5 * (prepared + prepared.conj().T)
    rho = prepared
    real, ideal = [], []
    for p in experiment.charging.pulses:
        if p is None:
            real.append(rho)
            ideal.append(rho)
            continue
        real.append(sim.run(Sequence((p,)), initial=rho).final_state)
        hard = Pulse(flip_deg=p.flip_deg, phase_deg=p.phase_deg, channels=p.channels, hard=True, label=p.label)
        ideal.append(sim.run(Sequence((hard,)), initial=rho).final_state)
    h, a = experiment.model.hamiltonian_array(), experiment.preparation.alpha
    got, want = battery_metrics(np.array(real), h, a), battery_metrics(np.array(ideal), h, a)
    return {m: float(np.max(np.abs(got[m] - want[m]))) for m in METRICS}


def plan_report(experiment, *, total_scans: int | None = None, relaxation: bool = True, attribute: bool = True,
                figure: bool = True):
    """Plan report of ``experiment``: returns ``(PlanReport, matplotlib Figure or None)``.

    Parameters
    ----------
    total_scans : int, optional
        Scans of the preparation, split over the sub-experiments by their
        weights (default: 8 per sub-experiment, at least 1 each).
    relaxation : bool
        Compute the metrics' degradation under the platform's relaxation.
    attribute : bool
        Name the element that causes most of it (one simulation per element).
    figure : bool
        Also draw the pulse-program diagram and the relaxation budget.
    """
    import pulses
    from pulses.sequence import Sequence

    from nmrqb.translate import Experiment

    if not isinstance(experiment, Experiment):
        raise PhysicsError(f"experiment must be an nmrqb.translate.Experiment, got {type(experiment).__name__}")
    plat = experiment.platform
    system = plat.system
    prep = experiment.preparation
    subs = prep.subexperiments
    total = 8 * len(subs) if total_scans is None else int(total_scans)
    if total < len(subs):
        raise PhysicsError(f"total_scans = {total_scans!r} is not allowed: at least one scan per sub-experiment "
                           f"({len(subs)})")
    scans = scan_split(prep.weights, total)
    # -- checks over every distinct sequence (charging × readout × sub) ----------------
    checks = []
    duty = dict.fromkeys(plat.channels, 0.0)
    longest = 0.0
    readouts = experiment.readout.names or ("",)
    for s in range(len(subs)):
        for k in range(len(experiment.charging.omega_t)):
            for r in readouts:
                seq = experiment.sequence(s, k, r, acquire=bool(r)) if r else experiment.sequence(s, k, r, acquire=False)
                longest = max(longest, seq.duration)
                try:
                    plat.check(seq)
                    checks.append((seq.name, "ok"))
                except pulses.PulsesError as exc:
                    checks.append((seq.name, str(exc)))
                for ch, x in plat.duty_cycles(seq).items():
                    duty[ch] = max(duty[ch], x)
    prep_s = max(s.sequence.duration for s in subs)
    acq_s = experiment.readout.acquire.duration if experiment.readout.names else 0.0
    scan_s = longest + plat.recycle_delay_s
    n_seq = len(experiment.charging.omega_t) * max(1, len(experiment.readout.names))
    durations = {
        "longest_sequence_s": longest, "preparation_s": prep_s, "acquisition_s": acq_s, "scan_s": scan_s,
        "experiment_s": scan_s * n_seq * sum(scans), "n_sequences": n_seq * len(subs),
    }
    relax = {}
    for lab, sp in zip(system.labels(), system.spins):
        t2 = sp.t2_s
        relax[lab] = {"t1_s": sp.t1_s, "t2_s": t2, "prep_over_t2": (prep_s / t2) if t2 else 0.0,
                      "prep_over_t1": (prep_s / sp.t1_s) if sp.t1_s else 0.0}
    # -- degradation and its culprit -----------------------------------------------------
    metrics, culprits = {}, {}
    ideal_prepared = None
    if relaxation:
        ideal_sim = pulses.Simulator(system, relaxation=False)
        relax_sim = pulses.Simulator(system, relaxation=True)
        ideal_states = [ideal_sim.run(s.sequence).final_state for s in subs]
        relax_states = [relax_sim.run(s.sequence).final_state for s in subs]
        w = prep.weights

        def mix(states):
            rho = sum(wk * st for wk, st in zip(w, states))
            return 0.5 * (rho + rho.conj().T)

        ideal_prepared = mix(ideal_states)
        ideal = _charged_metrics(experiment, ideal_prepared, ideal_sim)
        relaxed = _charged_metrics(experiment, mix(relax_states), relax_sim)
        for m in METRICS:
            loss = 1.0 - relaxed[m] / ideal[m] if ideal[m] != 0 else 0.0
            metrics[m] = {"ideal": ideal[m], "relaxed": relaxed[m], "loss": float(loss)}
        if attribute:
            per = {m: [] for m in METRICS}
            per_block = {m: {} for m in METRICS}
            for si, sub in enumerate(subs):
                els = sub.sequence.elements
                for k, e in enumerate(els):
                    if e.duration == 0:
                        continue  # instantaneous elements cannot relax
                    before = ideal_sim.run(Sequence(els[:k])).final_state
                    mid = relax_sim.run(Sequence((e,)), initial=before).final_state
                    after = ideal_sim.run(Sequence(els[k + 1:]), initial=mid).final_state
                    states = list(ideal_states)
                    states[si] = after
                    got = _charged_metrics(experiment, mix(states), ideal_sim)
                    block = f"{sub.name}: {sub.block_of(k)}"
                    for m in METRICS:
                        per[m].append((_describe(sub.name, k, e), ideal[m] - got[m]))
                        per_block[m][block] = per_block[m].get(block, 0.0) + ideal[m] - got[m]
            for m in METRICS:
                ranked = sorted(per[m], key=lambda x: -x[1])
                blocks = sorted(per_block[m].items(), key=lambda x: -x[1])
                tot = ideal[m] - relaxed[m]
                top = ranked[0] if ranked else ("no element with a duration", 0.0)
                culprits[m] = {
                    "element": top[0],
                    "share": float(top[1] / tot) if tot else 0.0,
                    "stage": blocks[0][0] if blocks else "-",
                    "stage_share": float(blocks[0][1] / tot) if blocks and tot else 0.0,
                    "per_element": [(d, float(x)) for d, x in ranked[:10]],
                    "per_stage": [(d, float(x)) for d, x in blocks],
                }
    pulse_errors = _finite_pulse_errors(experiment, ideal_prepared)
    notes = list(prep.notes)
    if pulse_errors:
        notes.append("finite charging pulses (natural Hamiltonian on during them) change the metrics by at most "
                     + ", ".join(f"{m} {v:.3g}" for m, v in pulse_errors.items())
                     + " (α-normalised, max over Ωt, against ideal pulses; no relaxation)")
    notes.append(
        "ergotropy, capacity and l1 coherence scale with alpha (reported alpha-normalised); the NMR ensemble itself "
        "is separable: concurrence 0 and discord O(alpha^2); both are reported for the alpha-normalised state"
    )
    rep = PlanReport(
        platform=plat.name, route=prep.route, alpha=float(prep.alpha),
        subexperiments=tuple((s.name, float(s.weight), n, float(s.sequence.duration), len(s.sequence.elements))
                             for s, n in zip(subs, scans)),
        durations=durations, relaxation=relax, checks=tuple(checks), duty_cycle=duty,
        metrics=metrics, culprits=culprits, notes=tuple(notes),
        details={**prep.details, "charging_pulse_errors": pulse_errors},
    )
    fig = _figure(experiment, rep) if figure else None
    return rep, fig


# ----------------------------------------------------------------------------
# the figure
# ----------------------------------------------------------------------------
def _figure(experiment, rep: PlanReport):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from pulses.sequence import Acquire, Delay, Gradient, Pulse

    plat = experiment.platform
    k = len(experiment.charging.omega_t) - 1
    r = experiment.readout.names[-1] if experiment.readout.names else ""
    seq = experiment.sequence(0, k, r, acquire=bool(r)) if r else experiment.sequence(0, k, r, acquire=False)
    chans = list(plat.channels)
    rows = chans + ["gradient"]
    fig, (ax, bx) = plt.subplots(2, 1, figsize=(11, 6.5), gridspec_kw={"height_ratios": [3, 2]},
                                 constrained_layout=True)
    # pulse-program diagram: time axis compressed per element so that
    # instantaneous pulses stay visible; acquisition drawn as a short FID
    x = 0.0
    ticks = []
    min_w, pulse_w = 0.6, 0.6  # drawing widths of finite and ideal pulses
    for e in seq.elements:
        if isinstance(e, Pulse):
            width = pulse_w * max(0.5, abs(e.flip_deg) / 90.0) if e.hard else max(min_w, 1.0)
            for ch in e.channels:
                y = rows.index(ch)
                h = 0.35 * min(2.0, abs(e.flip_deg) / 90.0) + 0.1
                ax.add_patch(plt.Rectangle((x, y), width, h, color="k" if abs(e.flip_deg) >= 180 else "0.35"))
                phase = {0: "x", 90: "y", 180: "-x", 270: "-y"}.get(int(round(e.phase_deg)) % 360,
                                                                    f"({e.phase_deg:.0f}°)")
                ax.text(x + width / 2, y + h + 0.05, f"{e.flip_deg:.0f}{phase}", ha="center", va="bottom", fontsize=6)
            x += width
        elif isinstance(e, Delay):
            width = 1.0 + np.log10(1 + e.duration_s * 1e6)
            ticks.append((x + width / 2, f"{e.duration_s * 1e3:.3g} ms"))
            x += width
        elif isinstance(e, Gradient):
            y = rows.index("gradient")
            ax.add_patch(plt.Rectangle((x, y), 1.0, 0.5, color="tab:blue"))
            x += 1.0
        elif isinstance(e, Acquire):
            t = np.linspace(0, 6, 200)
            for ch in chans:
                y = rows.index(ch)
                ax.plot(x + t, y + 0.35 + 0.3 * np.cos(5 * t) * np.exp(-t / 2), lw=0.7, color="tab:green")
            ticks.append((x + 3, f"acq {e.duration * 1e3:.0f} ms"))
            x += 6.5
    for y, ch in enumerate(rows):
        ax.axhline(y, color="0.6", lw=0.6)
    ax.set_yticks(range(len(rows)), rows)
    ax.set_ylim(-0.3, len(rows) + 0.2)
    ax.set_xlim(-0.5, x + 0.5)
    ax.set_xticks([t for t, _ in ticks], [s for _, s in ticks], rotation=90, fontsize=6)
    ax.set_title(f"{seq.name}: {len(seq.elements)} elements, {seq.duration * 1e3:.3f} ms (time axis not to scale; "
                 f"delays labelled)", fontsize=8)
    # relaxation budget
    if rep.metrics:
        names = list(rep.metrics)
        xs = np.arange(len(names))
        bx.bar(xs - 0.2, [rep.metrics[m]["ideal"] for m in names], 0.4, label="ideal pulses, no relaxation")
        bx.bar(xs + 0.2, [rep.metrics[m]["relaxed"] for m in names], 0.4, label="with T1/T2")
        import textwrap

        top = max(max(rep.metrics[m]["ideal"], rep.metrics[m]["relaxed"]) for m in names)
        for i, m in enumerate(names):
            c = rep.culprits.get(m)
            txt = f"−{100 * rep.metrics[m]['loss']:.2g} %" + (
                "\n" + textwrap.fill(f"most: {c['element']}", 34) if c else "")
            bx.text(i, max(rep.metrics[m]["ideal"], rep.metrics[m]["relaxed"]) + 0.02 * top, txt, ha="center",
                    va="bottom", fontsize=6)
        bx.set_ylim(0, 1.55 * top)  # room for the labels under the title
        bx.set_xticks(xs, names)
        bx.set_ylabel("max over Ωt (α-normalised)")
        bx.legend(fontsize=7, loc="upper left", ncol=2, frameon=False)
    checks = "all limit checks pass" if rep.ok else "LIMIT VIOLATIONS: " + next(v for _, v in rep.checks if v != "ok")
    bx.set_title(f"α = {rep.alpha:.3g}; {len(rep.subexperiments)} sub-experiment(s); "
                 f"experiment {rep.durations['experiment_s'] / 3600:.2f} h; {checks}", fontsize=8)
    fig.suptitle(f"nmrqb plan: {rep.route} on {rep.platform}", fontsize=10)
    return fig
