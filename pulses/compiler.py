"""Compile any two-spin unitary into hard pulses and J evolutions.

This module holds the compiler from a two-qubit unitary — a 4×4 matrix, a
``qutip.Qobj`` with dims [[2, 2], [2, 2]] or a ``qutip_qip``
``QubitCircuit`` on two qubits — to an NMR :class:`~pulses.sequence.Sequence`
for a heteronuclear pair (each spin on its own channel, weak coupling
H_J = 2π J I0z I1z), and :func:`sequence_unitary`, the exact Hilbert-space
propagator of a sequence of pulses and delays, which the compiler uses to
report what its sequence really does.  It compiles and computes propagators;
it does not simulate relaxation or detection (see :mod:`pulses.simulate`),
does not check platform limits (see ``Sequence.check``), and never imports
``nmrqb``.

Method (conventions of DESIGN.md §3: I = σ/2, basis |00>, |01>, |10>, |11>,
|0> = spin up, spin 0 = left tensor factor = qutip-qip qubit 0)

1. Cartan (KAK) decomposition in the magic basis,
   U = e^{iφ} (A0⊗A1) · exp(i(c1 XX + c2 YY + c3 ZZ)) · (B0⊗B1): the
   symmetric unitary Mᵀ M (M = U in the magic basis) is diagonalised by a
   real orthogonal matrix, found from a random real combination of its
   (commuting) real and imaginary parts and checked (a degenerate
   combination is retried).
2. Each cᵢ is reduced modulo π/2 into [−π/4, π/4] (exp(i π/2 PP) = i PP is
   local and goes into A0⊗A1), so each interaction term needs at most the
   CNOT time 1/(2|J|).
3. exp(i c ZZ) is free evolution for t = |c| / (π|J|/2):
   delay t/2 – π(both spins) – delay t/2, the π pulses refocusing the
   offsets exactly while the J term survives; the sign of c against J (J < 0
   is fine) is set by conjugating with a π rotation of spin 0.  The XX and
   YY terms are ZZ evolutions conjugated by 90° rotations of both spins.
4. The local gates between the evolutions (with the refocusing π pulses
   merged into them) become one pulse per spin about an axis in the xy
   plane; z rotations are phase shifts (a frame angle per channel that
   shifts the later pulses' phases).  The frame is removed physically so
   that the sequence is the target as a standalone block: a π pulse of
   phase a turns the frame γ into −γ − 2a, so the phases of the last
   refocusing π pulses are chosen to leave exactly the frame that the last
   local gate needs to be a single xy-plane pulse; without any J evolution
   (a local target) the last pulse of a spin becomes two,
   Rz(γ) R_φ(θ) = −R_{φ+γ/2}(π) R_{φ+π}(π−θ).

With ideal hard pulses (``nutation_hz=None``) the compiled sequence applies
the target exactly (to rounding, ~1e-14) on the given spin system whatever
its offsets.  With finite rectangular pulses the natural Hamiltonian acts
during them; the neighbouring delays are shortened by the pulses'
half-widths (first-order compensation of the J evolution during the
pulses) and the fidelity reported is the true one of the finite sequence.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import qutip

from pulses import _validate as V
from pulses.errors import SequenceError
from pulses.sequence import Delay, Pulse, Sequence
from pulses.spinsystem import SpinSystem

__all__ = ["CompiledUnitary", "compile_unitary", "kak", "sequence_unitary"]

#: How far from unitary a target may be: max |U†U − 1| ≤ UNITARY_TOL.
UNITARY_TOL = 1e-8

#: Rotation angles (rad) and interaction angles below this are dropped (the
#: error they leave is below the rounding of the decomposition).
_ANGLE_TOL = 1e-12

# ----------------------------------------------------------------- algebra
_I2 = np.eye(2, dtype=np.complex128)
_X = np.array([[0, 1], [1, 0]], dtype=np.complex128)
_Y = np.array([[0, -1j], [1j, 0]], dtype=np.complex128)
_Z = np.array([[1, 0], [0, -1]], dtype=np.complex128)
_PAULI = {"x": _X, "y": _Y, "z": _Z}

#: Magic (Bell) basis: local SU(2)⊗SU(2) becomes SO(4), XX, YY, ZZ diagonal.
_MAGIC = np.array(
    [[1, 0, 0, 1j], [0, 1j, 1, 0], [0, 1j, -1, 0], [1, 0, 0, -1j]], dtype=np.complex128
) / math.sqrt(2)
#: Diagonal of XX, YY, ZZ in the magic basis (±1 each), and the 4×4 system
#: [1, xx, yy, zz] that turns the phases of a diagonal into (φ, c1, c2, c3).
_MAGIC_DIAG = np.array(
    [np.real(np.diag(_MAGIC.conj().T @ np.kron(p, p) @ _MAGIC)) for p in (_X, _Y, _Z)]
)
_PHASE_SYSTEM = np.column_stack([np.ones(4), _MAGIC_DIAG.T])


def _rot(phase_rad: float, theta_rad: float) -> np.ndarray:
    """R_φ(θ) = exp(−iθ/2 (cos φ X + sin φ Y)), one spin."""
    c, s = math.cos(theta_rad / 2), math.sin(theta_rad / 2)
    return np.array(
        [[c, -1j * np.exp(-1j * phase_rad) * s], [-1j * np.exp(1j * phase_rad) * s, c]], dtype=np.complex128
    )


def _rz(gamma_rad: float) -> np.ndarray:
    """Rz(γ) = exp(−iγ Z/2), one spin."""
    return np.diag([np.exp(-0.5j * gamma_rad), np.exp(0.5j * gamma_rad)])


def _su2(m: np.ndarray) -> np.ndarray:
    """``m`` (a 2×2 unitary up to a factor) scaled to determinant 1."""
    return m / np.sqrt(np.linalg.det(m))


def _zxy(v: np.ndarray) -> tuple[float, float, float]:
    """(γ, φ, θ) with v ∝ Rz(γ) R_φ(θ), θ ∈ [0, π] (all in rad)."""
    v = _su2(v)
    a, b = v[0, 0], v[1, 0]
    theta = 2.0 * math.atan2(abs(b), abs(a))
    gamma = -2.0 * float(np.angle(a)) if abs(a) > 1e-300 else 0.0
    phi = float(np.angle(b)) + math.pi / 2 - gamma / 2 if abs(b) > 1e-300 else 0.0
    return gamma, phi, theta


def _kron_factor(m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(a, b) in SU(2) with m ∝ a ⊗ b (nearest product, by a rank-1 SVD)."""
    t = m.reshape(2, 2, 2, 2).transpose(0, 2, 1, 3).reshape(4, 4)
    u, s, vh = np.linalg.svd(t)
    a = u[:, 0].reshape(2, 2) * math.sqrt(s[0])
    b = vh[0].reshape(2, 2) * math.sqrt(s[0])
    return _su2(a), _su2(b)


def _interaction(c: np.ndarray) -> np.ndarray:
    """exp(i(c1 XX + c2 YY + c3 ZZ))."""
    return _MAGIC @ np.diag(np.exp(1j * (c @ _MAGIC_DIAG))) @ _MAGIC.conj().T


def _nearest_unitary(u: np.ndarray) -> np.ndarray:
    w, _, vh = np.linalg.svd(u)
    return w @ vh


def kak(u: np.ndarray) -> tuple[tuple, np.ndarray, tuple]:
    """Cartan decomposition of a two-qubit unitary.

    Parameters
    ----------
    u : ndarray (4, 4)
        A unitary (spin 0 the left tensor factor).

    Returns
    -------
    (a0, a1), c, (b0, b1)
        SU(2) matrices and the interaction coefficients c = (c1, c2, c3)
        (rad, not reduced) with u ∝ (a0⊗a1) exp(i(c1 XX + c2 YY + c3 ZZ)) (b0⊗b1)
        up to a global phase, to rounding.
    """
    u = _nearest_unitary(np.asarray(u, dtype=np.complex128))
    su = u / np.linalg.det(u) ** 0.25
    up = _MAGIC.conj().T @ su @ _MAGIC
    m2 = up.T @ up
    m2 = 0.5 * (m2 + m2.T)
    rng = np.random.default_rng(20240611)
    for attempt in range(50):
        r = 1.0 / math.sqrt(2.0) if attempt == 0 else rng.normal()
        _, p = np.linalg.eigh(m2.real + r * m2.imag)
        d = p.T @ m2 @ p
        if np.abs(d - np.diag(np.diag(d))).max() < 1e-11:
            break
    else:  # pragma: no cover - a symmetric unitary is always diagonalisable so
        raise SequenceError("compile_unitary: internal: the Cartan decomposition did not converge")
    if np.linalg.det(p) < 0:
        p[:, 0] = -p[:, 0]
    diag = np.diag(d) / np.abs(np.diag(d))
    delta = np.sqrt(diag)
    k1 = up @ p @ np.diag(1.0 / delta)
    if np.linalg.det(k1).real < 0:
        delta[0] = -delta[0]
        k1[:, 0] = -k1[:, 0]
    k1 = k1.real  # real orthogonal to rounding
    sol = np.linalg.solve(_PHASE_SYSTEM, np.angle(delta))
    c = sol[1:]
    b0, b1 = _kron_factor(_MAGIC @ p.T @ _MAGIC.conj().T)
    # A from what is left, so that rounding in k1 does not accumulate
    a0, a1 = _kron_factor(u @ np.kron(b0, b1).conj().T @ _interaction(c).conj().T)
    return (a0, a1), c, (b0, b1)


# ----------------------------------------------------------------- results
@dataclass(frozen=True)
class CompiledUnitary:
    """A two-spin unitary compiled into a pulse sequence, with its quality.

    Attributes
    ----------
    sequence : Sequence
        Hard pulses and delays (or finite rectangular pulses and delays).
    target : ndarray (4, 4) complex128
        The unitary asked for (spin 0 the left tensor factor).
    achieved : ndarray (4, 4) complex128
        The unitary the sequence really applies on the spin system
        (rotating frame, relaxation off), from :func:`sequence_unitary`.
    process_fidelity : float
        |Tr(U_target† U_achieved)|² / 16 (global phase ignored).
    gate_fidelity : float
        Average gate fidelity (d·F_pro + 1)/(d + 1), d = 4: "the gate
        fidelity" reported.
    duration_s : float
        Total duration of the sequence, s.
    interaction_rad : tuple of float
        The interaction angles (c1, c2, c3) implemented (rad), each reduced
        into [−π/4, π/4]: U ∝ local · exp(i(c1 XX + c2 YY + c3 ZZ)) · local.
    j_hz : float
        The J coupling used (Hz).
    nutation_hz : dict or None
        Nutation frequency per channel of finite pulses (None: ideal hard
        pulses).
    clipped_delays : int
        Finite pulses only: delays shorter than the half-widths of their
        neighbouring pulses, set to 0 (their J evolution is then overdone,
        which the fidelities include).
    label : str
    """

    sequence: Sequence
    target: np.ndarray
    achieved: np.ndarray
    process_fidelity: float
    gate_fidelity: float
    duration_s: float
    interaction_rad: tuple = ()
    j_hz: float = 0.0
    nutation_hz: dict | None = None
    clipped_delays: int = 0
    label: str = ""

    @property
    def target_qobj(self) -> qutip.Qobj:
        """The target as a ``qutip.Qobj`` with dims [[2, 2], [2, 2]]."""
        return qutip.Qobj(self.target, dims=[[2, 2], [2, 2]])

    @property
    def achieved_qobj(self) -> qutip.Qobj:
        """The achieved unitary as a ``qutip.Qobj`` with dims [[2, 2], [2, 2]]."""
        return qutip.Qobj(self.achieved, dims=[[2, 2], [2, 2]])

    def summary(self) -> str:
        """One paragraph: pulses, delays, duration, fidelities."""
        els = self.sequence.elements
        pulses = [e for e in els if isinstance(e, Pulse)]
        delays = [e for e in els if isinstance(e, Delay)]
        per_ch: dict[str, int] = {}
        for p in pulses:
            for ch in p.channels:
                per_ch[ch] = per_ch.get(ch, 0) + 1
        both = sum(len(p.channels) > 1 for p in pulses)
        kind = (
            "ideal hard pulses"
            if self.nutation_hz is None
            else "rectangular pulses at " + ", ".join(f"{v / 1e3:g} kHz on {k}" for k, v in self.nutation_hz.items())
        )
        c = ", ".join(f"{x:+.4f}" for x in self.interaction_rad)
        name = f" {self.label!r}" if self.label else ""
        if self.clipped_delays:
            kind += (f" ({self.clipped_delays} delays shorter than their pulses' half-widths set to 0, "
                     "so the J evolution there is overdone)")
        ch_text = ", ".join(f"{n} on {ch}" for ch, n in per_ch.items())
        return (
            f"Compiled unitary{name}: {len(pulses)} pulses ({ch_text}; {both} on both channels at once) "
            f"and {len(delays)} delays ({sum(d.duration_s for d in delays) * 1e3:.4f} ms of free evolution under "
            f"J = {self.j_hz:g} Hz), {kind}; total duration {self.duration_s * 1e3:.4f} ms; interaction "
            f"angles (XX, YY, ZZ) = ({c}) rad; process fidelity {self.process_fidelity:.12f}, "
            f"gate fidelity {self.gate_fidelity:.12f} (infidelity {max(0.0, 1 - self.gate_fidelity):.3g})."
        )


# ----------------------------------------------------------------- inputs
def _target_matrix(target) -> np.ndarray:
    """The target as a (4, 4) complex unitary array, or SequenceError."""
    where = "compile_unitary"
    try:
        from qutip_qip.circuit import QubitCircuit
    except ImportError:  # pragma: no cover - qutip-qip is a dependency
        QubitCircuit = ()  # type: ignore[assignment]
    if QubitCircuit and isinstance(target, QubitCircuit):
        n = target.N
        if n != 2:
            raise SequenceError(
                f"{where}: a QubitCircuit with {n} qubits is not allowed: the compiler takes two-qubit circuits"
            )
        try:
            target = target.compute_unitary()
        except Exception as exc:  # noqa: BLE001 - measurements, classical controls, unknown gates...
            raise SequenceError(
                f"{where}: target circuit has no unitary ({V.one_line(exc)}): give gates only"
            ) from None
    if isinstance(target, qutip.Qobj):
        dims = [list(x) for x in target.dims]
        if dims not in ([[2, 2], [2, 2]], [[4], [4]]):
            raise SequenceError(
                f"{where}: target is a Qobj with dims {dims}: give a two-qubit operator, dims [[2, 2], [2, 2]]"
            )
        target = target.full()
    u = V.complex_array(
        target, f"{where}: target", SequenceError,
        "a (4, 4) unitary, a Qobj with dims [[2, 2], [2, 2]] or a two-qubit QubitCircuit",
    )
    if u.shape != (4, 4):
        raise SequenceError(
            f"{where}: target has shape {u.shape}: give a (4, 4) two-qubit unitary (basis |00>, |01>, |10>, |11>)"
        )
    if not np.all(np.isfinite(u)):
        raise SequenceError(f"{where}: target contains NaN or infinite entries: give a (4, 4) unitary")
    dev = float(np.abs(u.conj().T @ u - np.eye(4)).max())
    if not dev <= UNITARY_TOL:
        raise SequenceError(
            f"{where}: target is not unitary: max|U†U − 1| = {dev:.3g}, allowed ≤ {UNITARY_TOL:g}"
        )
    return u


def _pair(system) -> tuple[tuple[str, str], float]:
    """The two channels and the ZZ coupling (Hz) of a heteronuclear pair."""
    where = "compile_unitary"
    if not isinstance(system, SpinSystem):
        raise SequenceError(f"{where}: system = {V.show(system)} is not allowed: give a SpinSystem")
    if system.n != 2:
        raise SequenceError(
            f"{where}: a spin system of {system.n} spins is not allowed: the compiler takes a pair of spins"
        )
    ch = (system.spins[0].isotope, system.spins[1].isotope)
    if ch[0] == ch[1]:
        raise SequenceError(
            f"{where}: both spins are on channel {ch[0]!r}: addressing one of two like spins needs a selective "
            "pulse; the compiler takes a heteronuclear pair (one spin per channel)"
        )
    # a heteronuclear pair: a J coupling is 2πJ I0z I1z, a secular dipolar one 2πd·2 I0z I1z
    j = sum(c.hz if c.kind == "J" else 2.0 * c.hz for c in system.couplings)
    if not system.couplings or j == 0.0:
        raise SequenceError(
            f"{where}: no J coupling between spins 0 and 1: the compiler needs a non-zero coupling to entangle them"
        )
    return ch, float(j)


def _nutations(nutation_hz, channels: tuple[str, str]) -> dict | None:
    where = "compile_unitary: nutation_hz"
    if nutation_hz is None:
        return None
    if isinstance(nutation_hz, dict):
        unknown = [k for k in nutation_hz if k not in channels]
        if unknown:
            raise SequenceError(
                f"{where} names channel {V.show(unknown[0])}, which has no spin (channels: {', '.join(channels)})"
            )
        missing = [c for c in channels if c not in nutation_hz]
        if missing:
            raise SequenceError(
                f"{where} = {V.show(nutation_hz)} has no value for channel {missing[0]!r}: give one per channel"
            )
        return {c: V.number(nutation_hz[c], f"{where}[{c}]", SequenceError, minimum=0.0, strict=True)
                for c in channels}
    nu = V.number(nutation_hz, where, SequenceError, minimum=0.0, strict=True)
    return {c: nu for c in channels}


# ----------------------------------------------------------------- compiler
def _program(u: np.ndarray, j_hz: float) -> tuple[list, np.ndarray]:
    """Abstract program: ("local", (l0, l1)), ("delay", t_s), ("refocus",)
    in time order, and the reduced interaction angles."""
    (a0, a1), c, (b0, b1) = kak(u)
    omega = math.pi * j_hz / 2.0  # H_J = ω ZZ, rad/s
    hf = 0.5 * math.pi
    reduced = np.empty(3)
    for k in range(3):
        n = int(round(c[k] / hf))
        reduced[k] = c[k] - n * hf
        if n % 2:  # exp(i n π/2 PP) ∝ (P⊗P)^n: local, commutes with the interaction
            p = _PAULI["xyz"[k]]
            a0, a1 = a0 @ p, a1 @ p
    s90 = _rot(math.pi / 2, math.pi / 2)  # Ry(90): Z → X
    x90 = _rot(0.0, math.pi / 2)  # Rx(90): Z → −Y (both spins: ZZ → YY)
    conj = {0: (s90, s90), 1: (x90, x90), 2: (_I2, _I2)}
    pi_x = _rot(0.0, math.pi)
    prog: list = []
    pend = [b0, b1]
    for k in (2, 1, 0):  # ZZ, YY, XX (they commute)
        ck = reduced[k]
        if abs(ck) < _ANGLE_TOL:
            continue
        t = abs(ck) / abs(omega)
        g0, g1 = conj[k]
        if np.sign(ck) == np.sign(omega):  # exp(−iωt ZZ) has the wrong sign: conjugate by X on spin 0
            g0 = g0 @ _X
        # G exp(−iωt ZZ) G† = exp(i ck PP); the block D(t/2) Π D(t/2) = Π exp(−iωt ZZ)
        pend = [g0.conj().T @ pend[0], g1.conj().T @ pend[1]]
        prog += [("local", tuple(pend)), ("delay", t / 2), ("refocus",), ("delay", t / 2)]
        pend = [g0 @ pi_x.conj().T, g1 @ pi_x.conj().T]
    prog.append(("local", (a0 @ pend[0], a1 @ pend[1])))
    return prog, reduced


def _deg(rad: float) -> float:
    d = math.degrees(rad) % 360.0
    return 0.0 if abs(d - 360.0) < 1e-12 else d + 0.0


def _pulses_of(program: list, channels: tuple[str, str], nut: dict | None, label: str) -> list:
    """Physical elements of an abstract program, z rotations as frame phases."""
    frame = [0.0, 0.0]  # γ per spin: abstract = Rz(γ0)⊗Rz(γ1) · physical
    out: list = []
    tag = f"{label} " if label else ""

    def pulse(theta: float, phi: float, chs: tuple, what: str) -> Pulse:
        flip = math.degrees(theta)
        if nut is None:
            return Pulse(flip_deg=flip, phase_deg=_deg(phi), channels=chs, hard=True, label=tag + what)
        return Pulse(flip_deg=flip, nutation_hz=nut[chs[0]], phase_deg=_deg(phi), channels=chs, label=tag + what)

    def emit(rots: list, what: str) -> None:
        """rots: per spin a list of (φ, θ) in time order."""
        for step in range(max(len(r) for r in rots)):
            now = [r[step] if step < len(r) else None for r in rots]
            a, b = now
            same = (
                a is not None and b is not None and abs(a[1] - b[1]) < 1e-12
                and abs(math.remainder(a[0] - b[0], 2 * math.pi)) < 1e-12
                and (nut is None or nut[channels[0]] == nut[channels[1]])
            )
            if same:
                out.append(pulse(a[1], a[0], channels, what))
                continue
            for k, r in enumerate(now):
                if r is not None:
                    out.append(pulse(r[1], r[0], (channels[k],), what))

    n_local = sum(op[0] == "local" for op in program)
    last_refocus = max((i for i, op in enumerate(program) if op[0] == "refocus"), default=-1)
    seen = 0
    for i, op in enumerate(program):
        if op[0] == "delay":
            out.append(Delay(op[1], label=tag + "J evolution"))
        elif op[0] == "refocus":
            # A π pulse of phase a is abstract Rx(π) and turns the frame γ into −γ − 2a.  The last
            # one sets the frame to β with L_final·Rz(β) in the xy plane, so that no z rotation is
            # left at the end (L_final follows after a delay, which commutes with the frame).
            if i == last_refocus:
                beta = [_zxy(program[-1][1][k].conj().T)[0] for k in range(2)]
                phases = [-(beta[k] + frame[k]) / 2 for k in range(2)]
            else:
                phases = [0.0, 0.0]
            emit([[(phases[0], math.pi)], [(phases[1], math.pi)]], "refocus π")
            frame = [-frame[k] - 2 * phases[k] for k in range(2)]
        else:
            seen += 1
            last = seen == n_local
            rots: list = [[], []]
            for k in range(2):
                gamma, phi, theta = _zxy(op[1][k] @ _rz(frame[k]))
                if not last:
                    if theta > _ANGLE_TOL:
                        rots[k].append((phi, theta))
                    frame[k] = gamma
                    continue
                # last local: Rz(γ) R_φ(θ) = −R_{φ+γ/2}(π) R_{φ+π}(π−θ) (up to sign)
                if abs(math.remainder(gamma, 2 * math.pi)) < _ANGLE_TOL:
                    if theta > _ANGLE_TOL:
                        rots[k].append((phi, theta))
                else:
                    if math.pi - theta > _ANGLE_TOL:
                        rots[k].append((phi + math.pi, math.pi - theta))
                    rots[k].append((phi + gamma / 2, math.pi))
                frame[k] = 0.0
            if rots[0] or rots[1]:
                emit(rots, "final rotation" if last else "rotation")
    return out


def _compensate(elements: list) -> tuple[list, int]:
    """Shorten each delay by half of the pulse run before it and half of the
    pulse run after it; returns the elements and how many delays had to be
    clipped at 0."""
    groups: list = []  # (kind, items)
    for e in elements:
        kind = "delay" if isinstance(e, Delay) else "pulse"
        if groups and groups[-1][0] == kind:
            groups[-1][1].append(e)
        else:
            groups.append((kind, [e]))
    out, clipped = [], 0
    for g, (kind, items) in enumerate(groups):
        if kind == "pulse":
            out += items
            continue
        cut = 0.0
        for nb in (g - 1, g + 1):
            if 0 <= nb < len(groups):
                cut += 0.5 * sum(p.duration for p in groups[nb][1])
        total = sum(d.duration_s for d in items)
        if cut > total:
            clipped += 1
        scale = max(0.0, total - cut) / total if total > 0 else 0.0
        out += [Delay(d.duration_s * scale, label=d.label) for d in items]
    return out, clipped


def compile_unitary(target, system: SpinSystem, *, nutation_hz: float | dict | None = None,
                    label: str = "") -> CompiledUnitary:
    """Compile a two-spin unitary into pulses and J evolutions on ``system``.

    Parameters
    ----------
    target : array-like (4, 4), qutip.Qobj or qutip_qip.circuit.QubitCircuit
        The unitary, basis |00>, |01>, |10>, |11> with spin 0 (qutip-qip
        qubit 0) the left factor; unitary to 1e-8.  A circuit must act on
        N = 2 qubits; its ``compute_unitary()`` is compiled.
    system : SpinSystem
        Two spins on two different channels (heteronuclear) with a non-zero
        coupling between them (kind "J", weak: 2π J I0z I1z; a secular
        dipolar coupling d of a heteronuclear pair counts as J = 2d).
        Offsets may be anything: they are refocused.
    nutation_hz : None, float or dict, optional
        None (default): ideal hard pulses, exact.  A number (Hz, > 0), or a
        dict {channel: Hz} with one value per channel: rectangular pulses at
        that nutation frequency, the natural Hamiltonian acting during them,
        neighbouring delays shortened by the pulses' half-widths.
    label : str, optional
        Name of the sequence and prefix of its element labels.

    Returns
    -------
    CompiledUnitary
        The sequence, the target, the unitary achieved on ``system``
        (relaxation off) and its process and gate fidelities.

    Raises
    ------
    SequenceError
        A target that is not a two-qubit unitary (or a circuit on another
        number of qubits); a system that is not a heteronuclear coupled pair;
        a bad ``nutation_hz``.
    """
    V.string(label, "compile_unitary: label", SequenceError)
    channels, j_hz = _pair(system)
    u = _target_matrix(target)
    nut = _nutations(nutation_hz, channels)
    program, reduced = _program(u, j_hz)
    elements = _pulses_of(program, channels, nut, label)
    clipped = 0
    if nut is not None:
        elements, clipped = _compensate(elements)
    seq = Sequence(tuple(elements), name=label)
    achieved = sequence_unitary(system, seq)
    overlap = np.trace(u.conj().T @ achieved)
    f_pro = float(min(1.0, abs(overlap) ** 2 / 16.0))
    return CompiledUnitary(
        sequence=seq,
        target=u,
        achieved=achieved,
        process_fidelity=f_pro,
        gate_fidelity=(4.0 * f_pro + 1.0) / 5.0,
        duration_s=seq.duration,
        interaction_rad=tuple(float(x) for x in reduced),
        j_hz=j_hz,
        nutation_hz=nut,
        clipped_delays=clipped,
        label=label,
    )


# ----------------------------------------------------------------- propagator
def _expmh(h: np.ndarray, t: float) -> np.ndarray:
    """exp(−i h t) of a Hermitian h (exact to rounding, by eigh)."""
    w, v = np.linalg.eigh(0.5 * (h + h.conj().T))
    return (v * np.exp(-1j * w * t)) @ v.conj().T


def sequence_unitary(system: SpinSystem, sequence: Sequence) -> np.ndarray:
    """Hilbert-space propagator of a sequence of pulses and delays (exact).

    Parameters
    ----------
    system : SpinSystem
    sequence : Sequence
        Pulses and delays only (no Acquire, no Gradient, no phase cycle).

    Returns
    -------
    ndarray (d, d) complex128
        U = U_last ··· U_first in the rotating frame of each channel, no
        relaxation: a hard pulse is exp(−iθ(cos φ Σ Ix + sin φ Σ Iy)) on the
        spins of its channels; a delay exp(−i H_free t); a soft pulse
        exp(−i(H_free + 2π ν1 a_j (cos φ Σ Ix + sin φ Σ Iy)) τ_j) per
        piecewise-constant step (H in rad/s, t in s).
    """
    where = "sequence_unitary"
    if not isinstance(system, SpinSystem):
        raise SequenceError(f"{where}: system = {V.show(system)} is not allowed: give a SpinSystem")
    if not isinstance(sequence, Sequence):
        raise SequenceError(f"{where}: sequence = {V.show(sequence)} is not allowed: give a Sequence")
    if sequence.phase_cycle:
        raise SequenceError(
            f"{where}: sequence {sequence.name!r} has a phase cycle, which has no single propagator: "
            "give one step (Sequence.with_phases)"
        )
    sequence.check(system.channels)
    o = system.ops
    h0 = system.free_hamiltonian()
    u = np.eye(system.dim, dtype=np.complex128)
    for k, e in enumerate(sequence.elements):
        if isinstance(e, Delay):
            if e.duration_s > 0:
                u = _expmh(h0, e.duration_s) @ u
            continue
        if not isinstance(e, Pulse):
            raise SequenceError(
                f"{where}: element {k} ({e.kind}) is not allowed: only Pulse and Delay elements have a propagator"
            )
        idx = [s for ch in e.channels for s in system.spins_on(ch)]
        ph = math.radians(e.phase_deg)
        f = math.cos(ph) * o["x"][idx].sum(axis=0) + math.sin(ph) * o["y"][idx].sum(axis=0)
        if e.hard:
            u = _expmh(f, math.radians(e.flip_deg)) @ u
            continue
        tau = e.duration_s / e.steps
        for a in e.amplitudes_hz():
            u = _expmh(h0 + 2 * math.pi * a * f, tau) @ u
    if not np.all(np.isfinite(u)):
        raise SequenceError(f"{where}: the propagator of sequence {sequence.name!r} is non-finite (overflow)")
    return u
