"""Relaxation-aware simulation of pulse sequences on spin systems.

The state lives in Liouville space, expanded on the orthonormal basis of
normalised Pauli strings P/√d (product operators), where ρ has real
coefficients and every generator and propagator is a real matrix (4× cheaper
products than complex vec(ρ)); the vector is augmented by a constant 1 so
that affine terms stay exact.  Each element is a piecewise-constant
generator (written here in the vec(ρ) basis)

    G = [[ −i(H⊗1 − 1⊗Hᵀ) + D,  b ],
         [ 0,                    0 ]],

with H = H_free + H_rf in rad/s (rotating frame of each channel's carrier)
and D the relaxation superoperator: per spin k a generalised amplitude
damping toward its thermal polarisation p_k (collapse operators
√((1+p)/2T1) I⁻... written with σ⁻ = |0⟩⟨1|, √((1−p)/2T1) σ⁺) plus pure
dephasing √(γφ/2) σz with γφ = 1/T2 − 1/(2 T1).  Its fixed point is the
exact Zeeman thermal state of the spin system (a product state), a single
spin obeys the Bloch equations with T1 and T2 exactly, and T2 ≤ 2 T1 is
required.  A dipolar coupling with ``t1d_s`` adds a relaxation channel
−(1/T1D)·P_D(ρ − ρ_eq) for the pair's dipolar order (P_D the projector on
3 I1z I2z − I1·I2), the affine part being carried by b.

Every distinct element step is exponentiated once (batched scaling and
squaring, :func:`pulses._expm.expm_batch`) and cached; a :class:`Simulator` keeps its caches
across runs, including the state after a shared preparation prefix, so a
planning batch pays for the shared part once.  RF-amplitude inhomogeneity
and resonance offsets are ensemble averages over (value, weight) lists.
Detection gives, per channel, s(t) = Tr[ρ(t) Σ_{k∈channel} I_k⁺] under the
free Hamiltonian with relaxation, times exp(−i·receiver phase).

This module simulates; it never builds sequences (see
:mod:`pulses.sequence`) and never imports nmrqb.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import qutip
import scipy.linalg

from pulses._expm import expm_batch
from pulses.errors import SimulationError
from pulses.fid import FID
from pulses.sequence import Acquire, Delay, Gradient, Pulse, Sequence
from pulses.spinsystem import SpinSystem, gamma_mhz_per_t

#: Largest spin system the dense Liouville-space engine accepts.
MAX_SPINS = 6

__all__ = ["MAX_SPINS", "Distribution", "SimulationResult", "Simulator", "simulate", "liouvillian", "gradient_mask"]


@dataclass(frozen=True)
class Distribution:
    """A discrete distribution: ``values`` with non-negative ``weights``
    (normalised to sum 1).  Used for RF-amplitude scale factors and for
    resonance-offset shifts (Hz)."""

    values: tuple
    weights: tuple | None = None

    def __post_init__(self) -> None:
        v = np.atleast_1d(np.asarray(self.values, dtype=np.float64))
        w = np.ones_like(v) if self.weights is None else np.atleast_1d(np.asarray(self.weights, dtype=np.float64))
        if v.ndim != 1 or v.size == 0 or w.shape != v.shape:
            raise SimulationError("Distribution: values and weights must be 1-D of the same non-zero length")
        if not (np.all(np.isfinite(v)) and np.all(np.isfinite(w)) and np.all(w >= 0) and w.sum() > 0):
            raise SimulationError("Distribution: values must be finite and weights finite, ≥ 0, not all zero")
        object.__setattr__(self, "values", tuple(v.tolist()))
        object.__setattr__(self, "weights", tuple((w / w.sum()).tolist()))

    @classmethod
    def gaussian(cls, mean: float, sigma: float, n: int = 21) -> "Distribution":
        """Gauss–Hermite quadrature of a normal distribution (exact for
        polynomials of degree < 2n in the value)."""
        x, w = np.polynomial.hermite_e.hermegauss(n)
        return cls(tuple(mean + sigma * x), tuple(w))


def _superop_commutator(h: np.ndarray) -> np.ndarray:
    eye = np.eye(h.shape[0])
    return np.kron(h, eye) - np.kron(eye, h.T)


def _dissipator(c: np.ndarray) -> np.ndarray:
    """Lindblad D[c] for row-major vec: c⊗c* − ½(c†c⊗1 + 1⊗(c†c)ᵀ)."""
    eye = np.eye(c.shape[0])
    cc = c.conj().T @ c
    return np.kron(c, c.conj()) - 0.5 * (np.kron(cc, eye) + np.kron(eye, cc.T))


def _pauli_basis(n: int) -> np.ndarray:
    """(4ⁿ, 4ⁿ) unitary whose columns are vec(P)/√d for the Pauli strings P
    (I, X, Y, Z per spin, qubit 0 the leftmost factor)."""
    one = np.array(
        [[[1, 0], [0, 1]], [[0, 1], [1, 0]], [[0, -1j], [1j, 0]], [[1, 0], [0, -1]]], dtype=np.complex128
    ) / np.sqrt(2)
    mats = one
    for _ in range(n - 1):
        mats = np.einsum("aij,bkl->abikjl", mats, one).reshape(mats.shape[0] * 4, mats.shape[1] * 2, -1)
    return mats.reshape(mats.shape[0], -1).T.copy()


def _to_pauli(sup: np.ndarray, n: int) -> np.ndarray:
    """W† S W for a (4ⁿ, 4ⁿ) vec-basis superoperator S, using W = ⊗ of one-spin
    4×4 changes of basis (after grouping each spin's (i, j) row and column
    indices): 2n small tensor contractions, O(16ⁿ·n) instead of O(64ⁿ)."""
    w1 = _pauli_basis(1)  # (4, 4): rows (i, j) of one spin, columns a
    perm = [x for k in range(n) for x in (k, n + k)]
    t = sup.reshape((2,) * (4 * n)).transpose(perm + [2 * n + x for x in perm])
    t = t.reshape((4,) * (2 * n))
    for axis in range(2 * n):
        m = w1.conj() if axis < n else w1  # rows take W†, columns take W
        t = np.moveaxis(np.tensordot(m, t, axes=([0], [axis])), 0, axis)
    return t.reshape(sup.shape)


def _real(x: np.ndarray, what: str) -> np.ndarray:
    """Real part of an array that must be real in the Pauli basis."""
    scale = max(1.0, float(np.abs(x).max(initial=0.0)))
    if np.abs(x.imag).max(initial=0.0) > 1e-9 * scale:
        raise SimulationError(f"internal: the {what} is not real in the Pauli basis (it does not preserve Hermiticity)")
    return np.ascontiguousarray(x.real)


def gradient_mask(system: SpinSystem, orders=None) -> np.ndarray:
    """(d, d) bool: which density-matrix elements |i⟩⟨j| survive an ideal
    gradient.  With ``orders=None`` a gradient along z dephases every element
    whose phase Σ_k γ_k (m_k(i) − m_k(j)) ≠ 0 — all coherences except the
    homonuclear zero-quantum ones (heteronuclear I⁺S⁻ is removed, since
    γ_I ≠ γ_S).  With ``orders`` it removes the elements whose total order
    p = Σ_k Δm_k is in ``orders`` (homonuclear coherence selection)."""
    m = np.real(np.stack([np.diag(z) for z in system.ops["z"]]))  # (n, d): m_k of each basis state
    if orders is None:
        gam = np.array([gamma_mhz_per_t(s.isotope) for s in system.spins])
        phase = np.einsum("k,ki->i", gam, m)
        diff = phase[:, None] - phase[None, :]
        return np.abs(diff) <= 1e-9 * np.abs(gam).max()
    p = np.rint(m.sum(axis=0)[:, None] - m.sum(axis=0)[None, :]).astype(int)
    return ~np.isin(p, orders)


def _check_state(rho: np.ndarray, atol: float = 1e-8) -> None:
    """Raise SimulationError unless rho is a density matrix within atol."""
    if not np.all(np.isfinite(rho)):
        raise SimulationError("initial contains NaN or infinite entries")
    dev = np.abs(rho - rho.conj().T).max()
    if dev > atol:
        raise SimulationError(f"initial is not Hermitian: max|ρ − ρ†| = {dev:.3g}, allowed ≤ {atol:g}")
    tr = np.trace(rho).real
    if abs(tr - 1) > atol:
        raise SimulationError(f"initial has trace {tr:.6g}: a density matrix has trace 1 (±{atol:g})")
    low = np.linalg.eigvalsh(0.5 * (rho + rho.conj().T))[0]
    if low < -atol:
        raise SimulationError(f"initial is not positive semidefinite: smallest eigenvalue {low:.3g}, allowed ≥ {-atol:g}")


def liouvillian(system: SpinSystem, relaxation: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Relaxation part of the generator: (D, b) with D (d², d²) and b (d²,)
    such that d vec(ρ)/dt ⊃ D vec(ρ) + b (see the module docstring)."""
    d = system.dim
    dis = np.zeros((d * d, d * d), dtype=np.complex128)
    b = np.zeros(d * d, dtype=np.complex128)
    if not relaxation:
        return dis, b
    o = system.ops
    pol = system.polarization()
    for k, s in enumerate(system.spins):
        t1, t2 = s.t1_s, s.t2_s
        r1 = 0.0 if t1 is None else 1.0 / t1
        r2 = 0.0 if t2 is None else 1.0 / t2
        gphi = r2 - 0.5 * r1 if t2 is not None else 0.0
        if gphi < -1e-12 * max(r1, r2):
            raise SimulationError(
                f"spin {k}: t2_s = {t2!r} > 2·t1_s = {2 * t1!r} is not allowed: T2 ≤ 2 T1 for a physical relaxation model"
            )
        if r1 > 0:
            minus = o["p"][k].copy()  # I⁺ = |0⟩⟨1| lowers the energy for γ > 0
            dis += (1 + pol[k]) / 2 * r1 * _dissipator(minus)
            dis += (1 - pol[k]) / 2 * r1 * _dissipator(minus.conj().T)
        if gphi > 0:
            dis += gphi / 2 * _dissipator(2 * o["z"][k])
    rho_eq = system.thermal_state().reshape(-1)
    for c in system.couplings:
        if c.t1d_s is None:
            continue
        u = system.dipolar_order(c.i, c.j).reshape(-1)
        u = u / np.linalg.norm(u)
        proj = np.outer(u, u.conj())
        dis -= proj / c.t1d_s
        b += (proj @ rho_eq) / c.t1d_s
    return dis, b


@dataclass(frozen=True)
class SimulationResult:
    """What a simulation returns.

    Attributes
    ----------
    final_state : ndarray (d, d)
        ρ after the last element, averaged over the ensemble and the phase
        cycle.
    fids : dict[str, list[FID]]
        Per channel, one FID per Acquire element (in sequence order).
    system, sequence : the inputs.
    """

    final_state: np.ndarray
    fids: dict
    system: SpinSystem
    sequence: Sequence

    @property
    def final_qobj(self) -> qutip.Qobj:
        """The final state as a ``qutip.Qobj`` with dims [[2]*n, [2]*n]."""
        n = self.system.n
        return qutip.Qobj(self.final_state, dims=[[2] * n, [2] * n])

    def fid(self, channel: str | None = None, index: int = 0) -> FID:
        """The ``index``-th FID of ``channel`` (default: the first channel)."""
        ch = channel or self.system.channels[0]
        if ch not in self.fids or index >= len(self.fids[ch]):
            raise SimulationError(f"no FID {index} on channel {ch!r}: the sequence acquired {self.fids and {k: len(v) for k, v in self.fids.items()}}")
        return self.fids[ch][index]


@dataclass
class Simulator:
    """A spin system with its cached propagators, ready to run sequences.

    Parameters
    ----------
    system : SpinSystem
    relaxation : bool
        Include T1/T2/T1D relaxation (default True).
    rf_scale : Distribution, optional
        RF-amplitude scale factors (inhomogeneity), default exactly 1.
    offsets_hz : Distribution, optional
        Resonance-offset shifts added to every spin (Hz), default 0: a
        carrier or field error common to all spins, not B0 inhomogeneity
        (which would scale with γ).  A discrete ensemble (e.g. Gauss–Hermite
        nodes) reproduces the continuous average only up to times
        ~ 1/(node spacing): beyond that its FID aliases (revives).
    initial : "thermal" or (d, d) array / Qobj
        The state before the sequence (default: the exact Zeeman thermal
        state); it must be Hermitian, of unit trace and positive within 1e-8.
    max_cache_mib : float
        Bound on the memory of cached propagators; when a run would exceed
        it, the propagator and prefix caches are cleared first (default
        1024 MiB; prefix states are one vector each, far smaller).
    """

    system: SpinSystem
    relaxation: bool = True
    rf_scale: Distribution | None = None
    offsets_hz: Distribution | None = None
    initial: object = "thermal"
    max_cache_mib: float = 1024.0
    _cache: dict = field(default_factory=dict, repr=False)
    _prefix: dict = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.system, SpinSystem):
            raise SimulationError(f"system must be a SpinSystem, got {type(self.system).__name__}")
        if self.system.n > MAX_SPINS:
            raise SimulationError(
                f"{self.system.n} spins is not allowed: the dense Liouville-space engine handles at most "
                f"{MAX_SPINS} (dimension 4^n + 1; 6 spins already take minutes and ~5 GB)"
            )
        for name, default in (("rf_scale", 1.0), ("offsets_hz", 0.0)):
            value = getattr(self, name)
            if value is None:
                value = Distribution((default,))
            elif not isinstance(value, Distribution):
                try:
                    value = Distribution(tuple(np.atleast_1d(np.asarray(value, dtype=np.float64))))
                except (TypeError, ValueError):
                    raise SimulationError(
                        f"{name} = {value!r} is not allowed: give a number, a list of values or a Distribution"
                    ) from None
            setattr(self, name, value)
        d = self.system.dim
        self._w = _pauli_basis(self.system.n)  # columns vec(P)/√d
        dis, b = liouvillian(self.system, self.relaxation)
        self._dis = self._to_real(dis)
        self._b = _real(self._w.conj().T @ b, "relaxation offset")
        if isinstance(self.initial, str):
            if self.initial != "thermal":
                raise SimulationError(f"initial = {self.initial!r} is not allowed: use 'thermal' or a density matrix")
            rho0 = self.system.thermal_state()
        else:
            rho0 = self.initial.full() if isinstance(self.initial, qutip.Qobj) else np.asarray(self.initial, complex)
            if rho0.shape != (d, d):
                raise SimulationError(f"initial has shape {rho0.shape}: expected ({d}, {d}) for {self.system.n} spins")
            _check_state(rho0)
        self._v0 = np.concatenate([(self._w.conj().T @ rho0.reshape(-1)).real, [1.0]])
        o = self.system.ops
        self._obs = {
            ch: np.sum(o["p"][self.system.spins_on(ch)], axis=0).T.reshape(-1) @ self._w for ch in self.system.channels
        }
        self._members = [
            (s, ws * wo, off)
            for s, ws in zip(self.rf_scale.values, self.rf_scale.weights)
            for off, wo in zip(self.offsets_hz.values, self.offsets_hz.weights)
        ]

    # ------------------------------------------------------------ generators
    def _to_real(self, sup: np.ndarray) -> np.ndarray:
        """A vec(ρ)-basis superoperator in the Pauli basis (real)."""
        return _real(_to_pauli(sup, self.system.n), "superoperator")

    def _augmented(self, liouv: np.ndarray) -> np.ndarray:
        """[[L, b], [0, 0]] for a (d², d²) vec-basis Liouvillian L, in the
        real Pauli basis, relaxation added."""
        d2 = liouv.shape[-1]
        g = np.zeros((d2 + 1, d2 + 1))
        g[:d2, :d2] = self._to_real(liouv) + self._dis
        g[:d2, d2] = self._b
        return g

    def _free_generator(self, offset: float) -> np.ndarray:
        """Augmented generator of free evolution with an extra offset (Hz)."""
        key = ("G_free", offset)
        if key not in self._cache:
            h = self.system.free_hamiltonian(offset)
            self._cache[key] = self._augmented(-1j * _superop_commutator(h))
        return self._cache[key]

    def _rf_superops(self, channels) -> tuple[np.ndarray, np.ndarray]:
        """Augmented −i[·] superoperators of 2π Σ Ix and 2π Σ Iy on ``channels``
        (zero last row/column), so a step's generator is a linear combination."""
        key = ("S_rf", channels)
        if key not in self._cache:
            out = []
            for phase in (0.0, 90.0):
                sup = self._to_real(-1j * _superop_commutator(self._rf_hamiltonian(channels, phase)))
                g = np.zeros((sup.shape[0] + 1,) * 2)
                g[:-1, :-1] = sup
                out.append(g)
            self._cache[key] = tuple(out)
        return self._cache[key]

    def _rf_hamiltonian(self, channels, phase_deg: float) -> np.ndarray:
        o = self.system.ops
        idx = [k for ch in channels for k in self.system.spins_on(ch)]
        ph = np.deg2rad(phase_deg)
        return 2 * np.pi * (np.cos(ph) * o["x"][idx].sum(axis=0) + np.sin(ph) * o["y"][idx].sum(axis=0))

    def _steps(self, e, scale: float, offset: float) -> list[tuple]:
        """Cache keys (with their (H, τ) recipes) of the steps of element e."""
        if isinstance(e, Pulse):
            if e.hard:
                return [("hard", e.channels, e.phase_deg, e.flip_deg * scale)]
            tau = e.duration_s / e.steps
            return [("rf", e.channels, e.phase_deg, a * scale, tau, offset) for a in e.amplitudes_hz()]
        if isinstance(e, Delay):
            return [("free", e.duration_s, offset)]
        if isinstance(e, Gradient):
            return [("grad", e.orders)]
        raise SimulationError(f"cannot propagate {e!r}")

    def _build(self, keys: list[tuple]) -> None:
        """Compute and cache the propagators of the missing keys: generators
        as linear combinations of cached superoperators, exponentiated in one
        batch (:func:`pulses._expm.expm_batch`)."""
        missing = [k for k in dict.fromkeys(keys) if k not in self._cache]
        item = (self.system.dim**2 + 1) ** 2 * 8
        if (len(self._cache) + len(missing)) * item > self.max_cache_mib * 2**20:
            # keep the building blocks, drop propagators and prefix states
            self._cache = {k: v for k, v in self._cache.items() if k[0] in ("G_free", "S_rf")}
            self._prefix.clear()
            missing = [k for k in dict.fromkeys(keys) if k not in self._cache]
        expm_keys, gens = [], []
        d = self.system.dim
        rf: dict[tuple, list] = {}
        for k in missing:
            if k[0] == "rf":
                rf.setdefault((k[1], k[2], k[5]), []).append(k)
            elif k[0] == "free":
                _, tau, off = k
                expm_keys.append(k)
                gens.append((self._free_generator(off) * tau)[None])
            elif k[0] == "hard":
                _, ch, ph, flip = k
                u = scipy.linalg.expm(-1j * np.deg2rad(flip) / (2 * np.pi) * self._rf_hamiltonian(ch, ph))
                p = np.eye(d * d + 1)
                p[: d * d, : d * d] = self._to_real(np.kron(u, u.conj()))
                self._cache[k] = p
            elif k[0] == "grad":
                self._cache[k] = self._gradient(k[1])
        # RF steps sharing channels, phase and offset differ only in amplitude
        # and length: their generators are built in one broadcast.
        for (ch, ph, off), group in rf.items():
            sx, sy = self._rf_superops(ch)
            rad = np.deg2rad(ph)
            rot = np.cos(rad) * sx + np.sin(rad) * sy
            amps = np.array([k[3] for k in group])[:, None, None]
            taus = np.array([k[4] for k in group])[:, None, None]
            expm_keys += group
            gens.append((self._free_generator(off)[None] + amps * rot[None]) * taus)
        if gens:
            props = expm_batch(np.concatenate(gens))
            for k, p in zip(expm_keys, props):
                self._cache[k] = p

    def _gradient(self, orders) -> np.ndarray:
        d = self.system.dim
        keep = gradient_mask(self.system, orders).reshape(-1)
        g = np.eye(d * d + 1)
        g[:-1, :-1] = self._to_real(np.diag(keep.astype(float)))
        return g

    # ------------------------------------------------------------------ run
    def run(self, sequence: Sequence) -> SimulationResult:
        """Simulate ``sequence`` (all phase-cycle steps, all ensemble members)."""
        if not isinstance(sequence, Sequence):
            raise SimulationError(f"sequence must be a Sequence, got {type(sequence).__name__}")
        sequence.check(self.system.channels)
        steps = sequence.phase_cycle or (None,)
        d2 = self.system.dim**2
        final = np.zeros(d2)
        fids: dict[str, list] = {}
        for step in steps:
            seq = sequence if step is None else sequence.with_phases(step)
            for scale, weight, offset in self._members:
                v, signals = self._run_member(seq, scale, offset)
                final += weight * v[:d2] / len(steps)
                for n_acq, (acq, sig) in enumerate(signals):
                    rec = acq.receiver_phase_deg + (0.0 if step is None else step.receiver_phase_deg)
                    for ch, s in sig.items():
                        lst = fids.setdefault(ch, [])
                        if len(lst) <= n_acq:
                            lst.append([acq, np.zeros_like(s)])
                        lst[n_acq][1] += weight * s * np.exp(-1j * np.deg2rad(rec)) / len(steps)
        out = {
            ch: [
                FID(
                    data=s,
                    dwell_s=acq.dwell_s,
                    sfo_mhz=self.system.carrier_mhz(ch),
                    bf_mhz=self.system.base_mhz(ch),
                    nucleus=ch,
                    channel=ch,
                    receiver_phase_deg=acq.receiver_phase_deg,
                    metadata={"sequence": sequence.name, "phase_cycle_steps": len(sequence.phase_cycle)},
                )
                for acq, s in lst
            ]
            for ch, lst in fids.items()
        }
        rho = (self._w @ final).reshape(self.system.dim, self.system.dim)
        return SimulationResult(0.5 * (rho + rho.conj().T), out, self.system, sequence)

    def _run_member(self, seq: Sequence, scale: float, offset: float):
        els = seq.elements
        # Prefix keys are chained hashes (O(n) per run); a hit is confirmed
        # against the stored element tuple, so a hash collision cannot leak.
        chain, h = [], hash((scale, offset))
        for e in els:
            if isinstance(e, Acquire):
                break
            h = hash((h, e))
            chain.append(h)
        start, v = 0, self._v0
        for k in range(len(chain), 0, -1):
            hit = self._prefix.get(chain[k - 1])
            if hit is not None and hit[0] == (scale, offset, els[:k]):
                start, v = k, hit[1]
                break
        steps = [self._steps(e, scale, offset) if not isinstance(e, Acquire) else None for e in els[start:]]
        keys = [key for st in steps if st for key in st]
        keys += [("free", a.dwell_s, offset) for a in els[start:] if isinstance(a, Acquire)]
        self._build(keys)
        signals = []
        for k, st in zip(range(start, len(els)), steps):
            e = els[k]
            if st is None:
                sig, v = self._acquire(e, v, offset)
                signals.append((e, sig))
                continue
            for key in st:
                v = self._cache[key] @ v
            if k < len(chain):
                self._prefix[chain[k]] = ((scale, offset, els[: k + 1]), v)
        return v, signals

    def _acquire(self, acq: Acquire, v: np.ndarray, offset: float):
        p = self._cache[("free", acq.dwell_s, offset)]
        channels = acq.channels or self.system.channels
        d2 = self.system.dim**2
        traj = np.empty((acq.points, v.size))
        for n in range(acq.points):
            traj[n] = v
            v = p @ v
        sig = {ch: traj[:, :d2] @ self._obs[ch] for ch in channels}
        return sig, v


def simulate(system: SpinSystem, sequence: Sequence, **options) -> SimulationResult:
    """Run ``sequence`` on ``system``; keyword options as for :class:`Simulator`."""
    return Simulator(system, **options).run(sequence)
