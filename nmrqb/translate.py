"""Translate the quantum battery into NMR experiments on a platform.

Given the model (B, D, G, Δ, ε), a temperature T and a
:class:`pulses.platform.Platform`, this module produces the pulse sequences
that prepare the uncharged battery, charge it and read it out, and the data
that join the spectra to tomography.  It is the translation stage of the
data flow (protocol → **translation** → simulation → spectra → tomography →
metrics); it builds sequences and numbers, it does not simulate
(:mod:`nmrqb.simulation` does).

Preparation routes (DESIGN.md §3)
---------------------------------
* **pseudo-Gibbs** (any model, any T; a platform whose two spins are on two
  channels, e.g. 13C–1H): the room-temperature Zeeman state has populations
  p_th = diag(ρ_th) with deviation δ = p_th − 1/4.  Population permutations
  Π_j (classical reversible gates) applied in sub-experiments j with scan
  weights w_j and summed (temporal averaging) give populations
  1/4 + Σ_j w_j Π_j δ.  The target is ρ = (1 − α) I/4 + α ζ(T) with
  ζ = V diag(q) V†, V the eigenbasis of H_DP (block-wise: the double-quantum
  eigenvectors on |00>,|11>, the zero-quantum ones on |01>,|10>) and q the
  Boltzmann weights.  So the averaged populations must equal
  1/4 + α (q − 1/4); the largest α and the weights come from a linear
  programme over the 24 permutations (a vertex has at most 4 non-zero
  weights), polished by solving the equalities on its support exactly.  Each
  sub-experiment is: permutation (compiled), an ideal gradient (removes the
  coherences a real permutation leaves), then V (compiled).
* **Jeener–Broekaert** (dipolar platform, axial-only model B = D = G = ε = 0):
  90°x – τ – 45°y turns Zeeman order into dipolar order
  κ·(3 I1zI2z − I1·I2), the high-temperature Gibbs state of the secular
  dipolar Hamiltonian, ∝ H_DP (``docs/jeener-broekaert.md``).  It prepares
  the T → ∞ linearisation of ζ(T): for the requested T the report states α,
  the effective inverse spin temperature and the distance to the exact ζ(T).

Charging is a simultaneous x pulse of flip θ = 2Ωt on both spins
(H_ch = Ω(XI + IX) = 2Ω(I1x + I2x)); readout is the 90° readout set of
:func:`tomography.nmr_two_spin_readouts` followed by acquisition on both
channels.  :class:`LineJoin` rows say which spectral line of which readout
is which tomography line: the contract the run pipeline is built on.

Why only some metrics scale with α: ρ = (1 − α) I/4 + α ρ_t has the
eigenvalues (1 − α)/4 + α λ_k in the same order as ρ_t's (α > 0), so
Tr[ρH] − Tr[π(ρ)H] = α E(ρ_t) (the I/4 parts cancel), the capacity and the
off-diagonal elements (l1 coherence) scale by α, and so do energy changes
and power.  Concurrence and discord are not linear in ρ: for α ≲ 1/3 every
such state is separable (concurrence 0) and its discord is O(α²).  Reports
give them for the α-normalised state ρ_t (what the ideal battery would
hold) and say that the NMR ensemble itself holds none.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np
import scipy.optimize

from nmrqb.errors import PhysicsError, ProtocolError
from nmrqb.model import DipolarModel, check_temperature

__all__ = [
    "SubExperiment",
    "Preparation",
    "LineJoin",
    "ReadoutPlan",
    "Charging",
    "Experiment",
    "eigenbasis",
    "pseudo_gibbs",
    "jeener_broekaert",
    "charging",
    "readout_plan",
    "translate",
    "ROUTES",
]

ROUTES = ("auto", "pseudo-gibbs", "jeener-broekaert")

#: Largest mismatch allowed between the averaged permuted populations and
#: α(q − 1/4) after polishing, relative to ‖δ‖ (the LP's own tolerance is
#: ~1e-9; the polished solution is exact to round-off).
_POLISH_RTOL = 1e-12

_PERMS = tuple(itertools.permutations(range(4)))


def _pulses():
    """Import pulses lazily (keeps ``import nmrqb`` light)."""
    import pulses
    import pulses.builders
    import pulses.platform

    return pulses


# ----------------------------------------------------------------------------
# the target state
# ----------------------------------------------------------------------------
def eigenbasis(model: DipolarModel) -> tuple[np.ndarray, np.ndarray]:
    """Block-wise eigenbasis of H_DP: (V, energies) with V[:, b] the
    eigenvector assigned to computational basis state b — the double-quantum
    eigenvectors on |00>, |11> (b = 0, 3), the zero-quantum ones on |01>,
    |10> (b = 1, 2) — and energies[b] its energy.  V is unitary and
    block-diagonal, V diag(energies) V† = H_DP."""
    if not isinstance(model, DipolarModel):
        raise PhysicsError(f"model must be a DipolarModel, got {type(model).__name__}")
    h = model.hamiltonian_array()
    v = np.zeros((4, 4), dtype=np.complex128)
    e = np.zeros(4)
    for idx in ((0, 3), (1, 2)):
        blk = h[np.ix_(idx, idx)]
        w, u = np.linalg.eigh(blk)
        for col, b in enumerate(idx):
            v[list(idx), b] = u[:, col]
            e[b] = w[col]
    return v, e


def _boltzmann(energies: np.ndarray, T: float) -> np.ndarray:
    x = -(energies - energies.min()) / T
    w = np.exp(x)
    return w / w.sum()


# ----------------------------------------------------------------------------
# data types
# ----------------------------------------------------------------------------
@dataclass(frozen=True)
class SubExperiment:
    """One sub-experiment of a temporally averaged preparation.

    Attributes
    ----------
    name : str
    weight : float
        Fraction of the scans (weights sum to 1).
    sequence : pulses.Sequence
        The preparation elements, from the thermal state to the prepared one.
    permutation : tuple of int or None
        Basis-state permutation b → permutation[b] (pseudo-Gibbs route).
    blocks : tuple of (name, start, stop)
        The named stages of ``sequence`` (element index ranges), e.g. the
        permutation, the gradient and the eigenbasis unitary.
    """

    name: str
    weight: float
    sequence: object
    permutation: tuple | None = None
    blocks: tuple = ()

    def block_of(self, index: int) -> str:
        """The name of the stage holding element ``index``."""
        for name, start, stop in self.blocks:
            if start <= index < stop:
                return name
        return "sequence"


@dataclass(frozen=True)
class Preparation:
    """How the uncharged battery is prepared, and what that gives.

    Attributes
    ----------
    route : "pseudo-gibbs" or "jeener-broekaert"
    subexperiments : tuple of SubExperiment
    alpha : float
        Deviation scale: the expected state is (1 − α) I/4 + α ζ(T).
    target : ndarray (4, 4)
        ζ(T), the Gibbs state of H_DP (model units).
    expected : ndarray (4, 4)
        The state the sequences prepare without relaxation and with ideal
        pulses.
    details : dict
        Route-specific figures (thermal polarisations, gate fidelities, the
        JB dipolar-order fraction and spin temperature...).
    notes : tuple of str
        Caveats in words.
    """

    route: str
    subexperiments: tuple
    alpha: float
    target: np.ndarray
    expected: np.ndarray
    details: dict = field(default_factory=dict)
    notes: tuple = ()

    @property
    def weights(self) -> np.ndarray:
        return np.array([s.weight for s in self.subexperiments])


@dataclass(frozen=True)
class Charging:
    """The charging step: Ωt values and their pulses (θ = 2Ωt, x, both spins)."""

    omega_t: np.ndarray
    flip_deg: np.ndarray
    pulses: tuple
    nutation_hz: float | None = None


@dataclass(frozen=True)
class LineJoin:
    """One spectral line of one readout and the tomography lines it gives.

    The complex amplitude a of the line (FID units: Tr[R ρ R† I_k⁺ ⊗ P_m],
    as :func:`pulses.fit_lines` returns with ``complex_amplitudes=True``)
    gives the two tomography lines ``label_x`` = Re(scale·a) and
    ``label_y`` = Im(scale·a) of readout ``readout``.

    Attributes
    ----------
    readout : str          readout name, e.g. "XI"
    channel : str          the detected channel (isotope)
    spin : int             the detected spin (0 or 1)
    partner_state : int    0 or 1: the state of the other spin for this line
    center_hz : float      line position, Hz from the channel's carrier
    label_x, label_y : str tomography line labels, e.g. "1x|0", "1y|0"
    scale : complex        tomography amplitude = scale · fitted amplitude
    """

    readout: str
    channel: str
    spin: int
    partner_state: int
    center_hz: float
    label_x: str
    label_y: str
    scale: complex = 2.0

    @property
    def phase_deg(self) -> float:
        """The line's phase: the angle (degrees) by which the fitted complex
        amplitude is turned so that its real part is ``label_x`` and its
        imaginary part ``label_y`` (arg of ``scale``; 0 for the default)."""
        import cmath

        return math.degrees(cmath.phase(complex(self.scale)))


@dataclass(frozen=True)
class ReadoutPlan:
    """The readout set: per readout its pulses, the acquisition and the join.

    Attributes
    ----------
    names : tuple of str
    pulses : dict[str, tuple]   readout name → its pulses
    acquire : pulses.Acquire
    join : tuple of LineJoin    every line of every readout (8 per readout)
    lines_per_channel : dict[str, list[float]]  the line centres (Hz) to fit on each channel
    """

    names: tuple
    pulses: dict
    acquire: object
    join: tuple

    def lines(self, readout: str, channel: str) -> tuple[LineJoin, ...]:
        """The joins of ``readout`` detected on ``channel`` (fit order)."""
        return tuple(j for j in self.join if j.readout == readout and j.channel == channel)

    def measurement_model(self):
        """The matching :class:`tomography.MeasurementModel`."""
        from tomography import nmr_two_spin_model

        return nmr_two_spin_model(list(self.names))

    def amplitudes(self, fitted: dict) -> np.ndarray:
        """Tomography amplitudes in the order of :meth:`measurement_model`'s
        lines from ``fitted[(readout, channel)]`` = complex amplitudes in the
        order of :meth:`lines`."""
        model = self.measurement_model()
        by_label: dict[tuple[str, str], float] = {}
        for r in self.names:
            for ch in dict.fromkeys(j.channel for j in self.join if j.readout == r):
                amps = np.asarray(fitted[(r, ch)], dtype=np.complex128)
                joins = self.lines(r, ch)
                if amps.shape != (len(joins),):
                    raise ProtocolError(
                        f"readout {r!r} channel {ch!r}: {amps.shape} amplitudes given, the join has {len(joins)} lines"
                    )
                for j, a in zip(joins, amps):
                    z = j.scale * a
                    by_label[(r, j.label_x)] = z.real
                    by_label[(r, j.label_y)] = z.imag
        return np.array([by_label[(r, lab)] for r, lab in _model_line_keys(model)])


def _model_line_keys(model) -> list[tuple[str, str]]:
    """(readout, line label) of every line of a tomography model, in order
    (its ``line_labels`` are ``"<readout>/<line>"``)."""
    return [tuple(lab.split("/", 1)) for lab in model.line_labels]


@dataclass(frozen=True)
class Experiment:
    """Everything the translation produces for one planned experiment."""

    model: DipolarModel
    T: float
    platform: object
    preparation: Preparation
    charging: Charging
    readout: ReadoutPlan

    def sequence(self, sub: int, k: int, readout: str, *, acquire: bool = True):
        """The full sequence of sub-experiment ``sub``, charging value ``k``
        and readout ``readout``: preparation, charging pulse, readout pulses
        (and the acquisition)."""
        P = _pulses()
        parts = [self.preparation.subexperiments[sub].sequence]
        parts += [p for p in (self.charging.pulses[k],) if p is not None]
        parts += list(self.readout.pulses.get(readout, ()))
        if acquire:
            parts.append(self.readout.acquire)
        name = f"{self.preparation.subexperiments[sub].name} | Ωt={self.charging.omega_t[k]:.6g} | {readout}"
        return P.builders.join_sequences(parts, name=name)

    @property
    def n_sequences(self) -> int:
        return len(self.preparation.subexperiments) * len(self.charging.omega_t) * len(self.readout.names)


# ----------------------------------------------------------------------------
# preparation: pseudo-Gibbs
# ----------------------------------------------------------------------------
def _perm_matrix(perm: tuple) -> np.ndarray:
    """Unitary permutation U|b> = |perm[b]>."""
    u = np.zeros((4, 4), dtype=np.complex128)
    for b, c in enumerate(perm):
        u[c, b] = 1.0
    return u


def _solve_weights(delta: np.ndarray, t: np.ndarray) -> tuple[float, list[tuple[int, float]]]:
    """max α s.t. Σ_j w_j Π_j δ = α t, Σ w = 1, w ≥ 0 (Π_j over all 24
    permutations); returns α and the support [(j, w_j)], polished.

    Both δ and t are traceless population vectors; they are made exactly
    traceless and δ is scaled to unit max so that the programme is well
    conditioned (the populations of a room-temperature state differ by
    ~1e-5); the trace row is dropped (it is implied)."""
    scale = float(np.abs(delta).max())
    d = (delta - delta.mean()) / scale
    tt = t - t.mean()
    cols = np.stack([d[np.argsort(p)] for p in _PERMS], axis=1)  # (Π_j δ)[c] = δ[perm⁻¹(c)]
    n = cols.shape[1]
    a_eq = np.zeros((4, n + 1))  # rows 0-2: populations of |00>, |01>, |10>; row 3: Σw = 1
    a_eq[:3, :n] = cols[:3]
    a_eq[:3, n] = -tt[:3]
    a_eq[3, :n] = 1.0
    b_eq = np.array([0.0, 0.0, 0.0, 1.0])
    c = np.zeros(n + 1)
    c[n] = -1.0
    res = scipy.optimize.linprog(c, A_eq=a_eq, b_eq=b_eq, bounds=[(0, None)] * (n + 1), method="highs")
    if res.status != 0:
        raise PhysicsError(f"pseudo-Gibbs preparation: the weight programme failed ({res.message})")
    w = res.x[:n]
    support = [int(j) for j in np.argsort(-w) if w[j] > 1e-12][:4]
    # polish: solve the equalities on the support exactly
    m = np.zeros((4, len(support) + 1))
    m[:, : len(support)] = a_eq[:, support]
    m[:, -1] = a_eq[:, n]
    sol, *_ = np.linalg.lstsq(m, b_eq, rcond=None)
    ws, alpha = sol[:-1], float(sol[-1])
    if np.any(ws < -1e-12) or not alpha > 0:
        raise PhysicsError("pseudo-Gibbs preparation: polishing the permutation weights failed")
    ws = np.clip(ws, 0.0, None)
    ws = ws / ws.sum()
    resid = cols[:, support] @ ws - alpha * tt
    if np.abs(resid).max() > _POLISH_RTOL:
        raise PhysicsError(
            f"pseudo-Gibbs preparation: the permutation weights reproduce the target populations only to "
            f"{np.abs(resid).max():.2g} of the polarisation (allowed {_POLISH_RTOL:g})"
        )
    return alpha * scale, [(j, float(x)) for j, x in zip(support, ws) if x > 0]


def pseudo_gibbs(model: DipolarModel, T, platform, *, nutation_hz=None) -> Preparation:
    """The pseudo-Gibbs preparation of ζ(T) on a two-channel platform.

    Parameters
    ----------
    model : DipolarModel
    T : float > 0
    platform : pulses.platform.Platform
        Two spins on two channels with a J coupling (e.g. 13C–1H).
    nutation_hz : None, float or "max"
        Pulses of the compiled unitaries: None ideal hard pulses (the
        prepared state is exact), "max" the platform's limits (finite pulses,
        natural Hamiltonian on; the gate fidelities are in ``details``).
    """
    P = _pulses()
    T = check_temperature(T)
    system = platform.system
    if system.n != 2 or len(system.channels) != 2:
        raise ProtocolError(
            f"preparation route 'pseudo-gibbs' needs two spins on two channels; platform {platform.name!r} has "
            f"{system.n} spins on {', '.join(system.channels)}"
        )
    zeta = model.gibbs_array(T)
    v, energies = eigenbasis(model)
    q = _boltzmann(energies, T)
    pth = np.real(np.diag(system.thermal_state()))
    delta = pth - 0.25
    t = q - 0.25
    if np.abs(t).max() <= 1e-15:
        raise PhysicsError(f"T = {T!r}: the Gibbs state is I/4 to double precision; there is no deviation to prepare")
    alpha, support = _solve_weights(delta, t)
    subs = []
    fids = {}
    compiled_v = P.builders.compile_unitary(v, platform, nutation_hz=nutation_hz, label="eigenbasis V")
    fids["V"] = compiled_v.gate_fidelity
    for n_sub, (j, w) in enumerate(support):
        perm = _PERMS[j]
        parts, blocks, at = [], [], 0
        if perm != (0, 1, 2, 3):
            cp = P.builders.compile_unitary(_perm_matrix(perm), platform, nutation_hz=nutation_hz,
                                            label=f"permutation {perm}")
            fids[f"permutation {perm}"] = cp.gate_fidelity
            parts.append(cp.sequence)
            blocks.append((f"permutation {perm}", at, at + len(cp.sequence.elements)))
            at += len(cp.sequence.elements)
        parts.append(P.Gradient(label="gradient: keep populations"))
        blocks.append(("gradient", at, at + 1))
        at += 1
        parts.append(compiled_v.sequence)
        blocks.append(("eigenbasis unitary V", at, at + len(compiled_v.sequence.elements)))
        seq = P.builders.join_sequences(parts, name=f"pseudo-Gibbs {n_sub + 1}/{len(support)}")
        subs.append(SubExperiment(f"sub{n_sub + 1}", w, seq, tuple(int(c) for c in perm), tuple(blocks)))
    expected = (1 - alpha) * np.eye(4) / 4 + alpha * zeta
    pol = system.polarization()
    return Preparation(
        route="pseudo-gibbs",
        subexperiments=tuple(subs),
        alpha=alpha,
        target=zeta,
        expected=expected,
        details={
            "polarization": {lab: float(p) for lab, p in zip(system.labels(), pol)},
            "boltzmann_weights": q.tolist(),
            "eigenbasis_energies": energies.tolist(),
            "gate_fidelity": fids,
            "alpha_over_max_polarization": float(alpha / np.abs(pol).max()),
        },
        notes=(
            "populations of thermal Zeeman order permuted and combined by temporal averaging "
            f"({len(subs)} sub-experiments, scan weights {', '.join(f'{s.weight:.4f}' for s in subs)}); "
            "then the unitary to the eigenbasis of H_DP",
        ),
    )


# ----------------------------------------------------------------------------
# preparation: Jeener–Broekaert
# ----------------------------------------------------------------------------
def jeener_broekaert(model: DipolarModel, T, platform, *, tau_s=None, nutation_hz=None) -> Preparation:
    """Jeener–Broekaert preparation of dipolar order (axial-only model).

    The sequence prepares I/4 + κ·Dop (Dop = 3 I1zI2z − I1·I2), the
    high-temperature Gibbs state of the secular dipolar Hamiltonian.  Its
    expected state is computed by the pulses simulator without relaxation;
    ``alpha`` is the α with which (1 − α) I/4 + α ζ(T) has the same
    projection on H_DP; ``details`` holds the dipolar-order fraction, the
    effective inverse spin temperature and the trace distance between the
    prepared and the target deviation (the price of the linearisation at
    finite T).
    """
    P = _pulses()
    T = check_temperature(T)
    if any(getattr(model, k) != 0 for k in ("B", "D", "G", "epsilon")) or model.Delta == 0:
        raise ProtocolError(
            f"preparation route 'jeener-broekaert' is valid only for the axial-only model (B = D = G = epsilon = 0, "
            f"Delta != 0): dipolar order is the Gibbs state of that Hamiltonian alone; got {model}"
        )
    system = platform.system
    pairs = [c for c in system.couplings if c.kind == "dipolar"]
    if len(system.channels) != 1 or not pairs:
        raise ProtocolError(
            f"preparation route 'jeener-broekaert' needs a dipolar-coupled pair of like spins; platform "
            f"{platform.name!r} has channels {', '.join(system.channels)} and no such coupling"
        )
    pair = pairs[0]
    tau = P.builders.optimal_jb_tau(pair.hz) if tau_s is None else tau_s
    # κ ≈ −(p/2)·sin2β·sin(3π d τ) and the Gibbs deviation is −(Δ/3T)·Dop: choose the sign of the
    # 45° pulse (β = ±45°) so that α/T = −3κ/Δ > 0 (docs/jeener-broekaert.md)
    s = math.sin(3 * math.pi * pair.hz * float(tau)) * float(np.sign(system.polarization()[pair.i]))
    if abs(s) < 1e-6:
        raise ProtocolError(f"preparation.tau_s = {tau!r}: sin(3π d τ) = 0 at this delay, JB makes no dipolar order")
    phase = 90.0 if np.sign(s) == np.sign(model.Delta) else 270.0
    seq = P.builders.jeener_broekaert(platform, tau_s=tau_s, nutation_hz=nutation_hz, second_phase_deg=phase)
    res = P.simulate(system, seq, relaxation=False)
    rho = res.final_state
    zeta = model.gibbs_array(T)
    dev = rho - np.eye(4) / 4
    dop = system.dipolar_order(pair.i, pair.j)
    kappa = float(np.real(np.trace(dev @ dop)) / np.real(np.trace(dop @ dop)))
    alpha = -3.0 * kappa * T / model.Delta  # first-order match of κ·Dop to α(ζ(T) − I/4) = −αΔ/(3T)·Dop + O(T⁻²)
    fz = system.ops["z"].sum(axis=0)
    zeeman0 = float(np.real(np.trace((system.thermal_state() - np.eye(4) / 4) @ fz)) / np.sqrt(np.real(np.trace(fz @ fz))))
    fraction = abs(kappa) * np.sqrt(np.real(np.trace(dop @ dop))) / abs(zeeman0)
    hbar, kb = 1.054571817e-34, 1.380649e-23
    beta = -4.0 * kappa / (hbar * 2 * np.pi * pair.hz)  # I/4 − β ħ H_D/4, H_D = 2π d Dop (rad/s)
    singlet = system.ops["x"][0] @ system.ops["x"][1] + system.ops["y"][0] @ system.ops["y"][1] \
        + system.ops["z"][0] @ system.ops["z"][1]
    ortho = dev - kappa * dop
    ortho = ortho - np.real(np.trace(ortho @ singlet)) / np.real(np.trace(singlet @ singlet)) * singlet
    tdev = zeta - np.eye(4) / 4
    lin_prep = dev / alpha + np.eye(4) / 4  # the normalised prepared state
    td = 0.5 * float(np.abs(np.linalg.eigvalsh(lin_prep - zeta)).sum())
    return Preparation(
        route="jeener-broekaert",
        subexperiments=(SubExperiment("jb", 1.0, seq, None, (("Jeener-Broekaert", 0, len(seq.elements)),)),),
        alpha=float(alpha),
        target=zeta,
        expected=rho,
        details={
            "tau_s": float(seq.elements[1].duration_s),
            "second_pulse_phase_deg": phase,
            "kappa": kappa,
            "dipolar_order_fraction": float(fraction),
            "dipolar_order_fraction_max": math.sqrt(3) / 2,
            "inverse_spin_temperature_per_joule": float(beta),
            "spin_temperature_k": float(1.0 / (kb * beta)) if beta != 0 else math.inf,
            "lattice_temperature_k": system.temperature_k,
            "alpha_over_T": float(alpha / T),
            "residual_beyond_dipolar_order": float(np.linalg.norm(ortho) / max(np.linalg.norm(dev), 1e-300)),
            "trace_distance_to_gibbs": td,
            "gibbs_deviation_norm": float(np.linalg.norm(tdev)),
        },
        notes=(
            "Jeener–Broekaert 90x–τ–45y prepares dipolar order, the high-temperature Gibbs state of the "
            "secular dipolar Hamiltonian (plus the thermal state's own p² singlet term, which commutes with "
            "everything here); it fixes only α/T, and at the requested T the α-normalised state differs from "
            f"the exact ζ(T) by a trace distance {td:.3g} (about (5/4)(Δ/3T)², a relative (5/4)|Δ|/(3T) of the "
            "deviation, docs/jeener-broekaert.md §3): use the pseudo-Gibbs route when "
            "T is comparable to Δ",
        ),
    )


# ----------------------------------------------------------------------------
# charging and readout
# ----------------------------------------------------------------------------
def charging(platform, omega_t, *, nutation_hz=None) -> Charging:
    """Charging pulses: θ = 2Ωt (degrees 360Ωt/π), phase x, on both spins.

    ``nutation_hz`` None: ideal pulses (the model's charging, H_DP off); a
    number or "max": rectangular pulses with the natural Hamiltonian on —
    the error that causes is reported by :mod:`nmrqb.plan`.  Ωt = 0 gives no
    pulse."""
    P = _pulses()
    from nmrqb._checks import finite_grid

    tau = np.asarray(finite_grid("omega_t", omega_t), dtype=np.float64)
    if np.any(tau < 0):
        raise ProtocolError(f"omega_t = {tau[tau < 0][0]!r} is not allowed: charging times are >= 0")
    flips = np.degrees(2.0 * tau)
    pulses = tuple(
        None if f == 0 else P.builders.hard_pulse(platform, float(f), 0.0, nutation_hz=nutation_hz,
                                                  label=f"charge Ωt={w:.6g}")
        for f, w in zip(flips, tau)
    )
    nu = None if nutation_hz is None else (pulses[-1].nutation_hz if pulses and pulses[-1] is not None else None)
    return Charging(tau, flips, pulses, nu)


def readout_plan(platform, names="full9", *, points: int = 4096, spectral_width_hz: float | None = None,
                 nutation_hz=None) -> ReadoutPlan:
    """The tomography readout set on a two-channel J-coupled platform.

    Each readout's spectrum on channel c (spin k) is a J doublet; the line at
    ν_k + J/2 belongs to the other spin in |0> (up), the one at ν_k − J/2 to
    |1> (a line above the carrier is exp(+2πiνt); E(0,m) − E(1,m) =
    2π(ν_k + J s_m), s_0 = +1/2).  Its complex FID amplitude is
    Tr[ρ' I_k⁺ ⊗ P_m] = (⟨σx^(k) P_m⟩ + i⟨σy^(k) P_m⟩)/2, so the tomography
    lines "<k+1>x|m", "<k+1>y|m" of :func:`tomography.nmr_two_spin_readouts`
    are Re and Im of twice the fitted amplitude (``scale`` = 2).
    """
    P = _pulses()
    from tomography.model import NMR_FULL9, NMR_MINIMAL4

    system = platform.system
    if system.n != 2 or len(system.channels) != 2:
        raise ProtocolError(
            f"readout: two-spin tomography needs two spins on two channels; platform {platform.name!r} has "
            f"{system.n} spins on {', '.join(system.channels)} (like spins need selective pulses)"
        )
    j = [c for c in system.couplings if c.kind == "J"]
    if len(j) != 1 or j[0].hz == 0:
        raise ProtocolError(f"readout: platform {platform.name!r} needs one non-zero J coupling between its spins")
    jhz = j[0].hz
    presets = {"full9": NMR_FULL9, "minimal4": NMR_MINIMAL4}
    if isinstance(names, str):
        if names not in presets:
            raise ProtocolError(f"readout.set = {names!r} is not allowed: 'full9', 'minimal4' or a list like ['II', 'XI']")
        names = presets[names]
    names = tuple(names)
    if not names or len(set(names)) != len(names):
        raise ProtocolError(f"readout names {list(names)!r} are not allowed: give distinct names")
    pulses = {r: P.builders.readout_pulses(platform, r, nutation_hz=nutation_hz) for r in names}
    offsets = system.offsets_hz()
    acq = platform.acquire(points=points, spectral_width_hz=spectral_width_hz)
    rows = []
    for r in names:
        for k in (0, 1):
            for m in (0, 1):
                s = 0.5 if m == 0 else -0.5
                rows.append(LineJoin(r, system.spins[k].isotope, k, m, float(offsets[k] + jhz * s),
                                     f"{k + 1}x|{m}", f"{k + 1}y|{m}"))
    return ReadoutPlan(names, pulses, acq, tuple(rows))


# ----------------------------------------------------------------------------
# the whole experiment
# ----------------------------------------------------------------------------
_SAME = object()


def translate(model: DipolarModel, T, platform, *, route: str = "auto", omega_t=None, readouts="full9",
              nutation_hz=None, charging_nutation_hz=_SAME, readout_nutation_hz=_SAME, points: int = 4096,
              spectral_width_hz: float | None = None, tau_s: float | None = None) -> Experiment:
    """Translate (model, T) into an experiment on ``platform``.

    ``route`` "auto" takes Jeener–Broekaert on a platform whose spins share
    one channel with a dipolar coupling, pseudo-Gibbs otherwise.  ``omega_t``
    defaults to 19 values on [0, π].  ``readouts`` None skips the readout
    plan (e.g. on a homonuclear platform).  ``nutation_hz`` (None: ideal
    pulses; a number or "max": rectangular pulses) applies to the
    preparation and, unless ``charging_nutation_hz`` / ``readout_nutation_hz``
    say otherwise, to charging and readout."""
    if not isinstance(model, DipolarModel):
        raise PhysicsError(f"model must be a DipolarModel, got {type(model).__name__}")
    P = _pulses()
    if not isinstance(platform, P.platform.Platform):
        raise ProtocolError(f"platform must be a pulses.platform.Platform, got {type(platform).__name__}")
    if route not in ROUTES:
        raise ProtocolError(f"preparation.route = {route!r} is not allowed: use {', '.join(ROUTES)}")
    if route == "auto":
        homo = len(platform.system.channels) == 1 and any(c.kind == "dipolar" for c in platform.system.couplings)
        route = "jeener-broekaert" if homo else "pseudo-gibbs"
    if route == "pseudo-gibbs":
        prep = pseudo_gibbs(model, T, platform, nutation_hz=nutation_hz)
    else:
        prep = jeener_broekaert(model, T, platform, tau_s=tau_s, nutation_hz=nutation_hz)
    ch_nu = nutation_hz if charging_nutation_hz is _SAME else charging_nutation_hz
    ro_nu = nutation_hz if readout_nutation_hz is _SAME else readout_nutation_hz
    ch = charging(platform, np.linspace(0, np.pi, 19) if omega_t is None else omega_t, nutation_hz=ch_nu)
    if readouts is None:
        ro = ReadoutPlan((), {}, platform.acquire(points=points, spectral_width_hz=spectral_width_hz), ())
    else:
        ro = readout_plan(platform, readouts, points=points, spectral_width_hz=spectral_width_hz,
                          nutation_hz=ro_nu)
    return Experiment(model, check_temperature(T), platform, prep, ch, ro)
