"""Cross-check of the simulator: a sequence compiled into a qutip-qip Processor.

:func:`to_processor` turns a spin system and a :class:`~pulses.sequence.Sequence`
into a ``qutip_qip.device.Processor`` — drift = the rotating-frame free
Hamiltonian, two controls per channel, piecewise-constant coefficients, and
relaxation through the Processor's own ``t1``/``t2`` noise — and
:func:`run_processor` integrates it with ``qutip.mesolve`` (tolerances
adjustable) and returns the final density matrix, so that the same sequence
can be run by two independent engines and their final states compared.  This
module only translates and runs; it does not replace :mod:`pulses.simulate`
(it computes no FIDs) and never imports nmrqb.

Compilation (units: s and rad/s; the Processor itself is unit-free)
    * drift: ``system.free_hamiltonian(offset_hz)`` as one Qobj on all spins;
    * controls, per channel c (in ``system.channels`` order): ``"<c>:x"`` =
      Σ_{k∈c} I_kx and ``"<c>:y"`` = Σ_{k∈c} I_ky (I = σ/2);
    * a soft :class:`Pulse` with step amplitudes ν1·a_j (``amplitudes_hz()``)
      and phase φ sets, on every channel it names, the coefficients
      2π·rf_scale·ν1·a_j·cos φ (x) and 2π·rf_scale·ν1·a_j·sin φ (y) over its
      j-th step [t_j, t_j + τ/steps); every other coefficient is 0 there
      (qutip-qip ``spline_kind="step_func"``: the value of interval
      [t_j, t_{j+1}) is ``coeff[j]``, checked against qutip 5's ``order=0``);
    * :class:`Delay`: an interval with all coefficients 0 (drift and
      relaxation only);
    * :class:`Acquire`: treated as a Delay of ``points · dwell_s`` — the
      final state is the same as the simulator's (which propagates the free
      evolution during acquisition); no FID is recorded;
    * a hard :class:`Pulse` and a :class:`Gradient` are instantaneous and
      cannot be expressed as Processor controls without an approximation:
      :func:`to_processor` refuses them (``SimulationError``).
      :func:`run_processor` splits the sequence at them, runs one Processor
      per soft segment and applies, between runs, the exact rotation
      U = exp(−i θ (cos φ F_x + sin φ F_y)) (F over the pulse's channels,
      θ = rf_scale · flip) as ρ → UρU†, or the gradient's removal of every
      coherence |i⟩⟨j| whose total order M_i − M_j (M = eigenvalue of
      Σ_k I_kz) is in ``orders`` (default: all ≠ 0);
    * a phase cycle is run step by step and the final states averaged, as
      the simulator does.

Relaxation mapping (qutip_qip/noise.py, ``RelaxationNoise``, v0.4.2)
    qutip-qip adds, per qubit with ``t1``, the collapse operator
    ``destroy(2)/√t1`` = |0⟩⟨1|/√T1, and with ``t2`` the operator
    ``2·num(2)/√(2 T2eff)`` = √(γφ/2)·2|1⟩⟨1| with γφ = 1/T2eff =
    1/T2 − 1/(2 T1) (1/T2 alone without t1).  Since
    2|1⟩⟨1| = 1 − σz and a Hermitian collapse operator shifted by a
    multiple of the identity gives the same dissipator, that is pure
    dephasing √(γφ/2)·σz — exactly :mod:`pulses.simulate`'s term.  The
    simulator's T1 part is generalised amplitude damping with rates
    (1+p)/(2T1) on σ⁻ = |0⟩⟨1| and (1−p)/(2T1) on σ⁺, p the spin's thermal
    polarisation; it equals qutip-qip's zero-temperature damping toward |0⟩
    iff p = 1.  So with ``relaxation=True`` every spin with a T1 must have
    1 − p ≤ 1e-12 (``POLARIZATION_TOL``): γ > 0 and a low ``temperature_k``,
    T ≤ hν_L/(2k·atanh(1 − 1e-12)) = hν_L/(2k·14.16) — 6.8e-4 K for 1H and
    1.7e-4 K for 13C at 400 MHz (9.4 T); at 1e-6 K, p is 1.0 exactly in
    double precision for every γ > 0 isotope above 0.1 T — otherwise
    :func:`to_processor` raises ``SimulationError``; spins with γ < 0 (15N)
    relax toward |1⟩ and cannot be mapped.  ``T2 = 2 T1`` (no pure
    dephasing) is passed as ``t2=None`` (qutip-qip would divide by zero).
    Dipolar-order relaxation (``t1d_s``) has no qutip-qip counterpart and is
    refused; ``relaxation=False`` compiles without any noise (compare with
    ``Simulator(relaxation=False)``).

Accuracy: ``mesolve`` integrates through the coefficient jumps with an
adaptive ODE method that knows nothing of them.  qutip-qip's own max_step
(a tenth of the run) lets a step jump over a short pulse entirely — on the
50-pulse sequence of benchmarks/bench_pulses.py the final state is then
wrong by ~0.4 (and qutip's default nsteps 2500 is exceeded) — so
:func:`run_processor` bounds the step to half the shortest pulse
(:func:`safe_max_step`).  With that, qutip's default tolerances (atol 1e-8,
rtol 1e-6) give ~3e-4 on that sequence, :data:`TIGHT` ~1e-8, and
:func:`expm_processor` (no ODE) agrees with :mod:`pulses.simulate` to
~1e-13.  The tolerances act on the whole ρ: for a room-temperature state
(1/d plus a ~1e-5 deviation) an absolute error of 1e-10 is 1e-5 of the
deviation, so compare deviations with :func:`expm_processor`, or run the
relaxation-free case on the deviation alone.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
import qutip
from qutip_qip.device import Processor

from pulses import _validate as V
from pulses.errors import SimulationError
from pulses.sequence import Acquire, Delay, Gradient, Pulse, Sequence, ShapedPulse
from pulses.simulate import _check_state, _matrix, gradient_mask
from pulses.spinsystem import HBAR, KB, SpinSystem

__all__ = ["RELAXATION_MODELS", "TIGHT", "ProcessorSchedule", "expm_processor", "run_processor", "safe_max_step",
           "to_processor"]

#: Shortest step the Processor can represent: qutip-qip merges time points
#: closer than 1e-10 s (``Processor.get_full_tlist``), so shorter steps are
#: refused instead of silently merged.
MIN_STEP_S = 1e-9

#: Polarisation tolerance of the relaxation mapping (1 − p ≤ this).
POLARIZATION_TOL = 1e-12

#: Tightened ``mesolve`` options (qutip's default method, Adams) for a
#: cross-check to ~1e-9: on the 22-element sequences of
#: tests/test_pulses_qip.py the final states agree with the exact
#: propagation to 2e-9 (2 spins) and 3e-10 (3 spins) in max |element|.
#: Used with the default max_step of :func:`run_processor`.
TIGHT: dict = {"atol": 1e-14, "rtol": 1e-12, "nsteps": 1_000_000}


@dataclass(frozen=True)
class ProcessorSchedule:
    """What :func:`to_processor` compiled, besides the Processor.

    Attributes
    ----------
    tlist : ndarray (m + 1,)
        Step boundaries, s (starts at 0).
    coeffs : dict[str, ndarray (m,)]
        Control coefficients per label, rad/s, constant over each interval.
    controls : dict[str, tuple]
        Label → (channel, axis "x" | "y"), or (spin indices, axis) for the
        controls of target spins (``spins`` of a pulse: a selective pulse).
    spans : tuple of (start_s, end_s, element index, kind)
        Where each element of the sequence lies on ``tlist``.
    t1_s, t2_s : tuple
        Per spin, what was handed to the Processor (None: no such noise).
    collapse : tuple of (spin, kind, rate)
        With ``relaxation_model="thermal"``: the collapse operators handed
        to the Processor as ``DecoherenceNoise`` — kind "lower" (|0⟩⟨1|),
        "raise" (|1⟩⟨0|) or "dephase" (σz), rate in 1/s (the operator is
        √rate times it).  Empty with the default model.
    """

    tlist: np.ndarray
    coeffs: dict
    controls: dict
    spans: tuple
    t1_s: tuple
    t2_s: tuple
    collapse: tuple = ()

    @property
    def duration_s(self) -> float:
        return float(self.tlist[-1])


def _check_system(system) -> None:
    if not isinstance(system, SpinSystem):
        raise SimulationError(f"system = {V.show(system)} is not allowed: give a SpinSystem")


def _check_sequence(sequence) -> None:
    if not isinstance(sequence, Sequence):
        raise SimulationError(f"sequence = {V.show(sequence)} is not allowed: give a Sequence")


def _relaxation_times(system: SpinSystem, relaxation: bool) -> tuple[tuple, tuple]:
    """Per spin (t1, t2) for the Processor, after checking the mapping holds."""
    n = system.n
    if not relaxation:
        return (None,) * n, (None,) * n
    for c in system.couplings:
        if c.t1d_s is not None:
            raise SimulationError(
                f"coupling ({c.i}, {c.j}): t1d_s = {c.t1d_s!r} is not allowed here: qutip-qip has no "
                "dipolar-order relaxation (give t1d_s = None, or relaxation = False)"
            )
    pol = system.polarization()
    labels = system.labels()
    t1s, t2s = [], []
    for k, s in enumerate(system.spins):
        if s.t1_s is not None and not 1.0 - pol[k] <= POLARIZATION_TOL:
            x = math.atanh(1.0 - POLARIZATION_TOL)
            t_max = 2 * math.pi * HBAR * abs(system.larmor_hz()[k]) / (2 * KB * x)
            how = (
                f"give temperature_k ≤ {t_max:.2e} K"
                if pol[k] > 0
                else "a spin with γ < 0 relaxes toward |1⟩ and cannot be mapped"
            )
            raise SimulationError(
                f"spin {k} ({labels[k]}): thermal polarisation p = {pol[k]:.6g} is not allowed with t1_s: "
                f"qutip-qip's t1 relaxes toward |0⟩ (p = 1, zero temperature), so p must be 1 to "
                f"{POLARIZATION_TOL:g}; {how}, or relaxation = False"
            )
        t1s.append(s.t1_s)
        t2 = s.t2_s
        if t2 is not None and s.t1_s is not None:
            gphi = 1.0 / t2 - 0.5 / s.t1_s
            if gphi < -1e-12 * max(1.0 / t2, 1.0 / s.t1_s):
                raise SimulationError(
                    f"spin {k}: t2_s = {t2!r} > 2·t1_s = {2 * s.t1_s!r} is not allowed: T2 ≤ 2 T1"
                )
            if gphi <= 0:
                t2 = None  # no pure dephasing: qutip-qip would compute 1/0
        t2s.append(t2)
    return tuple(t1s), tuple(t2s)


#: The relaxation models of :func:`to_processor` and :func:`run_processor`.
RELAXATION_MODELS = ("qip", "thermal")


def _thermal_collapse(system: SpinSystem, relaxation: bool) -> tuple:
    """(spin, kind, rate) of the collapse operators of :mod:`pulses.simulate`'s
    relaxation: generalised amplitude damping toward each spin's thermal
    polarisation p — (1 + p)/(2 T1) on |0⟩⟨1|, (1 − p)/(2 T1) on |1⟩⟨0| —
    and pure dephasing γφ/2 on σz, γφ = 1/T2 − 1/(2 T1)."""
    if not relaxation:
        return ()
    for c in system.couplings:
        if c.t1d_s is not None:
            raise SimulationError(
                f"coupling ({c.i}, {c.j}): t1d_s = {c.t1d_s!r} is not allowed here: qutip-qip has no "
                "dipolar-order relaxation (give t1d_s = None, or relaxation = False)"
            )
    from pulses.simulate import _spin_rates

    out = []
    for k, r1, gphi, pol in _spin_rates(system):
        if r1 > 0:
            out += [(k, "lower", (1 + pol) / 2 * r1), (k, "raise", (1 - pol) / 2 * r1)]
        if gphi > 0:
            out.append((k, "dephase", gphi / 2))
    return tuple((k, kind, float(rate)) for k, kind, rate in out if rate > 0)


def _soft_elements(sequence: Sequence):
    """(index, element) of the soft part, refusing what a Processor cannot run."""
    for k, e in enumerate(sequence.elements):
        if isinstance(e, Pulse) and e.hard:
            raise SimulationError(
                f"element {k} (Pulse{' ' + repr(e.label) if e.label else ''}): hard = True is not allowed in a "
                "Processor: an ideal pulse is not a finite control amplitude (use run_processor, which "
                "applies it as an exact rotation between Processor runs, or give duration_s)"
            )
        if isinstance(e, Gradient):
            raise SimulationError(
                f"element {k} (Gradient): not allowed in a Processor: a gradient is not a Hamiltonian "
                "control (use run_processor, which applies it between Processor runs)"
            )
        yield k, e


def to_processor(
    system: SpinSystem,
    sequence: Sequence,
    *,
    rf_scale: float = 1.0,
    offset_hz: float = 0.0,
    relaxation: bool = True,
    relaxation_model: str = "qip",
) -> tuple[Processor, ProcessorSchedule]:
    """Compile ``sequence`` on ``system`` into a qutip-qip ``Processor``.

    Parameters
    ----------
    system : SpinSystem
    sequence : Sequence
        Soft pulses (any shape and number of steps), delays and acquisitions
        (as delays of their duration).  Hard pulses and gradients raise
        ``SimulationError`` (see :func:`run_processor`).  The phase cycle is
        ignored here (:func:`run_processor` runs it).
    rf_scale : float
        Factor on every RF amplitude (one member of an inhomogeneity
        ensemble).
    offset_hz : float
        Resonance-offset shift added to every spin, Hz.
    relaxation : bool
        Hand the spins' T1/T2 to the Processor (needs p = 1, see the module
        docstring); False compiles the noiseless dynamics.
    relaxation_model : "qip" or "thermal"
        "qip" (default): qutip-qip's own ``t1``/``t2`` noise, which relaxes
        toward |0⟩ and so needs full polarisation.  "thermal": the
        simulator's relaxation at any temperature and either sign of γ —
        generalised amplitude damping toward each spin's thermal polarisation
        and pure dephasing — handed to the Processor as qutip-qip
        ``DecoherenceNoise`` collapse operators (:attr:`ProcessorSchedule.collapse`),
        so a mixed thermal start state is cross-checked with relaxation.

    Returns
    -------
    processor : qutip_qip.device.Processor
        Drift, controls, coefficients, tlist and t1/t2 set; run it with
        ``processor.run_state(rho0)`` (or use :func:`run_processor`).
    schedule : ProcessorSchedule
    """
    _check_system(system)
    _check_sequence(sequence)
    sequence.check(system.channels)
    rf_scale = V.number(rf_scale, "rf_scale", SimulationError)
    offset_hz = V.number(offset_hz, "offset_hz", SimulationError)
    relaxation = V.boolean(relaxation, "relaxation", SimulationError)
    if not isinstance(relaxation_model, str) or relaxation_model not in RELAXATION_MODELS:
        raise SimulationError(
            f"relaxation_model = {V.show(relaxation_model)} is not allowed: use {', '.join(RELAXATION_MODELS)}"
        )
    if relaxation_model == "thermal":
        collapse = _thermal_collapse(system, relaxation)
        t1s, t2s = (None,) * system.n, (None,) * system.n
    else:
        collapse = ()
        t1s, t2s = _relaxation_times(system, relaxation)

    n, channels = system.n, system.channels
    labels = {f"{ch}:{ax}": (ch, ax) for ch in channels for ax in "xy"}
    groups: dict[str, tuple] = {}  # control label prefix -> spins driven together

    def drive(spins: tuple, channel: str | None) -> str:
        """The control prefix of a group of spins: the channel when it is all
        of the channel's spins, else the spins' labels (a selective pulse)."""
        if channel is not None and tuple(system.spins_on(channel)) == spins:
            return channel
        name = "+".join(system.labels()[i] for i in spins)
        for ax in "xy":
            labels.setdefault(f"{name}:{ax}", (spins, ax))
        return name

    taus: list[float] = []
    rows: list[dict] = []
    spans = []
    t = 0.0
    for k, e in _soft_elements(sequence):
        start = t
        if isinstance(e, Pulse):
            ph = math.radians(e.phase_deg)
            tau = e.duration_s / e.steps
            if e.spins is None:
                prefixes = list(e.channels)
            else:
                prefixes = [drive(tuple(i for i in e.spins if system.spins[i].isotope == ch), ch)
                            for ch in e.channels if any(system.spins[i].isotope == ch for i in e.spins)]
            for a in e.amplitudes_hz():
                w = 2 * math.pi * float(rf_scale) * float(a)
                row = {}
                for pre in prefixes:
                    row[f"{pre}:x"] = w * math.cos(ph)
                    row[f"{pre}:y"] = w * math.sin(ph)
                taus.append(tau)
                rows.append(row)
        elif isinstance(e, ShapedPulse):
            tau = e.duration_s / e.steps
            prefixes = []
            for ch in e.channels:
                on = tuple(system.spins_on(ch))
                sel = on if e.spins is None else tuple(i for i in on if i in e.spins)
                prefixes.append(drive(sel, ch) if sel else None)
            xy = e.xy_hz() * (2 * math.pi * float(rf_scale))
            for j in range(e.steps):
                row = {}
                for c, pre in enumerate(prefixes):
                    if pre is not None:
                        row[f"{pre}:x"] = float(xy[j, c, 0])
                        row[f"{pre}:y"] = float(xy[j, c, 1])
                taus.append(tau)
                rows.append(row)
        elif isinstance(e, (Delay, Acquire)):
            taus.append(e.duration)
            rows.append({})
        else:  # pragma: no cover - Sequence admits only the four element kinds
            raise SimulationError(f"element {k}: cannot compile {e!r}")
        t += e.duration
        spans.append((start, t, k, e.kind))
    keep = [j for j, tau in enumerate(taus) if tau > 0]
    short = [taus[j] for j in keep if taus[j] < MIN_STEP_S]
    if short:
        raise SimulationError(
            f"a step of {min(short):.3g} s is not allowed: qutip-qip merges time points closer than 1e-10 s, "
            f"so steps must be ≥ {MIN_STEP_S:g} s (use fewer steps)"
        )
    if not keep:
        raise SimulationError("the sequence has zero duration: there is nothing for a Processor to run")
    tlist = np.concatenate([[0.0], np.cumsum([taus[j] for j in keep])])
    coeffs = {lab: np.array([rows[j].get(lab, 0.0) for j in keep]) for lab in labels}

    dims = [[2] * n, [2] * n]
    ops = system.ops
    proc = Processor(
        num_qubits=n,
        t1=list(t1s) if any(x is not None for x in t1s) else None,
        t2=list(t2s) if any(x is not None for x in t2s) else None,
    )
    if collapse:
        from qutip_qip.noise import DecoherenceNoise

        ops1 = {"lower": qutip.Qobj(np.array([[0, 1], [0, 0]], dtype=complex)),
                "raise": qutip.Qobj(np.array([[0, 0], [1, 0]], dtype=complex)),
                "dephase": qutip.sigmaz()}
        for k, kind, rate in collapse:
            proc.add_noise(DecoherenceNoise([math.sqrt(rate) * ops1[kind]], targets=k))
    proc.add_drift(qutip.Qobj(system.free_hamiltonian(float(offset_hz)), dims=dims), targets=list(range(n)))
    for lab, (ch, ax) in labels.items():
        idx = list(ch) if isinstance(ch, tuple) else system.spins_on(ch)
        proc.add_control(qutip.Qobj(ops[ax][idx].sum(axis=0), dims=dims), targets=list(range(n)), label=lab)
    proc.set_coeffs(coeffs)
    proc.set_tlist(tlist)
    schedule = ProcessorSchedule(tlist, coeffs, labels, tuple(spans), t1s, t2s, collapse)
    return proc, schedule


# ---------------------------------------------------------------- running
def expm_processor(processor: Processor, schedule: ProcessorSchedule, initial, method: str = "dense") -> np.ndarray:
    """The Processor's own model propagated exactly, without an ODE solver.

    Takes the Hamiltonian and the collapse operators exactly as qutip-qip
    hands them to ``mesolve`` (``processor.get_qobjevo(noisy=True)``),
    evaluates the Hamiltonian at the middle of every interval of
    ``schedule.tlist`` (it is constant there), builds
    ``qutip.liouvillian(H, c_ops)`` and applies its matrix exponential,
    interval by interval.  An independent reference for both the
    compilation (against :mod:`pulses.simulate`) and the ODE solution.

    Parameters
    ----------
    processor, schedule : from :func:`to_processor`
    initial : (d, d) array or Qobj
    method : "dense" or "multiply"
        "dense": ``scipy.linalg.expm`` of each interval's (4ⁿ × 4ⁿ) dense
        Liouvillian (≤ 4 spins in reasonable time).  "multiply":
        ``scipy.sparse.linalg.expm_multiply`` (Al-Mohy & Higham, to double
        precision) of the sparse Liouvillian on the state — no 4ⁿ × 4ⁿ
        matrix, for 5 and more spins.

    Returns
    -------
    ndarray (d, d) complex
    """
    import scipy.linalg
    import scipy.sparse.linalg

    if not isinstance(method, str) or method not in ("dense", "multiply"):
        raise SimulationError(f"method = {V.show(method)} is not allowed: use 'dense' or 'multiply'")
    n = processor.num_qubits
    dims = [[2] * n, [2] * n]
    rho0 = initial.full() if isinstance(initial, qutip.Qobj) else np.asarray(initial, dtype=np.complex128)
    h, c_ops = processor.get_qobjevo(noisy=True)
    c_ops = [c(0.0) if isinstance(c, qutip.QobjEvo) else c for c in c_ops]
    v = qutip.operator_to_vector(qutip.Qobj(rho0, dims=dims)).full().ravel()
    t = schedule.tlist
    if method == "multiply":
        # qutip's Liouvillian, built sparse: its dissipator once, −i(spre(H) − spost(H)) per interval
        dis = qutip.liouvillian(None, [c.to("csr") for c in c_ops]).to("csr") if c_ops else 0
        for t0, t1 in itertools.pairwise(t):
            hm = h(0.5 * (t0 + t1)).to("csr")
            liouv = (-1j * (qutip.spre(hm) - qutip.spost(hm)) + dis).to("csr").data.as_scipy()
            v = scipy.sparse.linalg.expm_multiply(liouv * (t1 - t0), v, traceA=complex(liouv.diagonal().sum())
                                                  * (t1 - t0))
        d = 2**n
        return v.reshape(d, d, order="F")
    gens = np.stack(
        [qutip.liouvillian(h(0.5 * (t0 + t1)), c_ops).full() * (t1 - t0) for t0, t1 in itertools.pairwise(t)]
    )
    for prop in scipy.linalg.expm(gens):
        v = prop @ v
    d = 2**n
    return v.reshape(d, d, order="F")


def _hard_rotation(system: SpinSystem, pulse: Pulse, rf_scale: float) -> qutip.Qobj:
    n = system.n
    idx = [k for ch in pulse.channels for k in system.spins_on(ch)]
    if pulse.spins is not None:  # a pulse on named spins rotates those only
        idx = [k for k in idx if k in pulse.spins]
    ph = math.radians(pulse.phase_deg)
    gen = math.cos(ph) * system.ops["x"][idx].sum(axis=0) + math.sin(ph) * system.ops["y"][idx].sum(axis=0)
    theta = math.radians(pulse.flip_deg) * rf_scale
    return (-1j * theta * qutip.Qobj(gen, dims=[[2] * n, [2] * n])).expm()


def _segments(sequence: Sequence):
    """Split into runs of soft elements and single hard pulses / gradients."""
    out, cur = [], []
    for e in sequence.elements:
        if (isinstance(e, Pulse) and e.hard) or isinstance(e, Gradient):
            if cur:
                out.append(("soft", Sequence(tuple(cur))))
                cur = []
            out.append(("instant", e))
        elif e.duration > 0:
            cur.append(e)
    if cur:
        out.append(("soft", Sequence(tuple(cur))))
    return out


def safe_max_step(sequence: Sequence) -> float | None:
    """Half the shortest soft pulse of ``sequence`` (s), None without pulses.

    An adaptive ODE step longer than a pulse can land on both sides of it and
    never evaluate the Hamiltonian inside: the pulse is skipped silently and
    no tolerance catches it.  For a :class:`~pulses.sequence.ShapedPulse`
    the bound is half its step.  qutip-qip's own default (a tenth of the whole
    run) does exactly that to short pulses in a long sequence.
    """
    taus = [e.duration_s for e in sequence.elements if isinstance(e, Pulse) and not e.hard and e.duration_s > 0]
    # a shaped pulse: half its step (its waveform changes every step)
    taus += [e.duration_s / e.steps for e in sequence.elements if isinstance(e, ShapedPulse) and e.duration_s > 0]
    return 0.5 * min(taus) if taus else None


def run_processor(
    system: SpinSystem,
    sequence: Sequence,
    *,
    initial="thermal",
    rf_scale: float = 1.0,
    offset_hz: float = 0.0,
    relaxation: bool = True,
    atol: float | None = None,
    rtol: float | None = None,
    options: dict | None = None,
    engine: str = "mesolve",
    relaxation_model: str = "qip",
) -> np.ndarray:
    """Final density matrix of ``sequence`` run by qutip-qip Processors.

    The sequence is cut at hard pulses and gradients; each soft segment is
    compiled with :func:`to_processor` and integrated by
    ``Processor.run_state`` (``qutip.mesolve``, only the final state stored);
    hard pulses and gradients act exactly between segments (module
    docstring).  A phase cycle is averaged over its steps.

    Parameters
    ----------
    system, sequence, rf_scale, offset_hz, relaxation
        As for :func:`to_processor`.
    initial : "thermal" or (d, d) array / Qobj
        ρ before the sequence (default ``system.thermal_state()``); like
        :class:`~pulses.simulate.Simulator`'s, it must be Hermitian, of
        unit trace and positive within 1e-8.
    atol, rtol : float, optional
        ODE tolerances (qutip's defaults: 1e-8 and 1e-6); shortcuts for
        ``options["atol"]``/``options["rtol"]``.
    options : dict, optional
        Further ``mesolve`` options (``method``, ``nsteps``, ``max_step``...;
        e.g. :data:`TIGHT`).  ``max_step`` defaults to
        :func:`safe_max_step` of each segment (half its shortest pulse), not
        to qutip-qip's tenth of the segment, which skips short pulses
        (``max_step=0.0`` restores qutip-qip's choice); ``nsteps`` (a cap on
        the work per call, not an accuracy setting) then defaults to 1e6, as
        qutip's 2500 is too few once the step is bounded.
    engine : "mesolve" or "expm"
        "expm" replaces the ODE by :func:`expm_processor` (exact propagation
        of the same Processor model; solver options are then ignored).
    relaxation_model : "qip" or "thermal"
        As for :func:`to_processor` ("thermal": relaxation toward the
        thermal state at any temperature, for a mixed start state).

    Returns
    -------
    ndarray (d, d) complex
    """
    _check_system(system)
    _check_sequence(sequence)
    if not isinstance(engine, str) or engine not in ("mesolve", "expm"):
        raise SimulationError(f"engine = {V.show(engine)} is not allowed: use 'mesolve' or 'expm'")
    rf_scale = V.number(rf_scale, "rf_scale", SimulationError)
    offset_hz = V.number(offset_hz, "offset_hz", SimulationError)
    relaxation = V.boolean(relaxation, "relaxation", SimulationError)
    atol = V.number(atol, "atol", SimulationError, minimum=0.0, strict=True, optional=True)
    rtol = V.number(rtol, "rtol", SimulationError, minimum=0.0, strict=True, optional=True)
    if options is not None:
        options = V.mapping(options, "options", SimulationError, "mesolve options")
    sequence.check(system.channels)
    if not isinstance(relaxation_model, str) or relaxation_model not in RELAXATION_MODELS:
        raise SimulationError(
            f"relaxation_model = {V.show(relaxation_model)} is not allowed: use {', '.join(RELAXATION_MODELS)}"
        )
    if relaxation_model == "qip":
        _relaxation_times(system, relaxation)  # refuse an unmappable model before any work
    else:
        _thermal_collapse(system, relaxation)
    d, n = system.dim, system.n
    dims = [[2] * n, [2] * n]
    if isinstance(initial, str):
        if initial != "thermal":
            raise SimulationError(f"initial = {V.show(initial)} is not allowed: use 'thermal' or a density matrix")
        rho0 = system.thermal_state()
    else:
        rho0 = _matrix(initial, d, n)
        _check_state(rho0)
    opts = dict(options or {})
    if atol is not None:
        opts["atol"] = float(atol)
    if rtol is not None:
        opts["rtol"] = float(rtol)
    opts.setdefault("store_states", False)
    opts.setdefault("store_final_state", True)

    steps = sequence.phase_cycle or (None,)
    total = np.zeros((d, d), dtype=np.complex128)
    for step in steps:
        seq = sequence if step is None else sequence.with_phases(step)
        rho = qutip.Qobj(rho0, dims=dims)
        for kind, part in _segments(seq):
            if kind == "instant":
                if isinstance(part, Pulse):
                    u = _hard_rotation(system, part, rf_scale)
                    rho = u * rho * u.dag()
                else:
                    rho = qutip.Qobj(np.where(gradient_mask(system, part.orders), rho.full(), 0.0), dims=dims)
                continue
            proc, sched = to_processor(system, part, rf_scale=rf_scale, offset_hz=offset_hz, relaxation=relaxation,
                                       relaxation_model=relaxation_model)
            if engine == "expm":
                rho = qutip.Qobj(expm_processor(proc, sched, rho), dims=dims)
                continue
            o = dict(opts)
            if "max_step" not in o and safe_max_step(part) is not None:
                o["max_step"] = safe_max_step(part)
                o.setdefault("nsteps", 1_000_000)
            rho = proc.run_state(rho, tlist=[0.0, sched.duration_s], options=o).final_state
        total += rho.full() / len(steps)
    return total
