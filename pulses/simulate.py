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

A simulation that cannot proceed raises ``SimulationError`` before it
produces a number: a run whose propagators or trajectory would exceed
:data:`pulses._validate.MAX_BYTES` (checked up front), or an element whose
propagator would be non-finite or numerically meaningless (named by index
and label); results never hold NaN or inf.

This module simulates; it never builds sequences (see
:mod:`pulses.sequence`) and never imports nmrqb.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import qutip
import scipy.linalg

from pulses import _validate as V
from pulses._expm import expm_batch
from pulses.errors import SimulationError
from pulses.fid import FID
from pulses.sequence import Acquire, Delay, Gradient, Pulse, Sequence
from pulses.spinsystem import SpinSystem, gamma_mhz_per_t

#: Largest detection matrix (points × 2·channels × (4ⁿ + 1) reals) an
#: acquisition caches; larger acquisitions are propagated point by point.
DETECTION_CACHE_BYTES = 64 * 2**20

#: Largest spin system the dense Liouville-space engine accepts.
MAX_SPINS = 6

#: Most nodes of :meth:`Distribution.gaussian` (its eigenvalue problem is
#: O(n³); beyond ~100 nodes the weights underflow anyway).
MAX_QUADRATURE_NODES = 200

#: Largest 1-norm of a step's generator × duration (rad, 2^53 ≈ 9.0e15):
#: beyond it the phases of the propagator are below double precision
#: (numerically meaningless), and further on it overflows; such a step is
#: refused with a SimulationError naming the element.
MAX_STEP_NORM = 2.0**53

#: Propagators are exponentiated in batches of at most this many bytes, so
#: that the temporaries of :func:`pulses._expm.expm_batch` stay small.
_EXPM_CHUNK_BYTES = 64 * 2**20

__all__ = ["MAX_SPINS", "Distribution", "SimulationResult", "Simulator", "simulate", "liouvillian", "gradient_mask"]


@dataclass(frozen=True)
class Distribution:
    """A discrete distribution: ``values`` with non-negative ``weights``
    (normalised to sum 1).  Used for RF-amplitude scale factors and for
    resonance-offset shifts (Hz)."""

    values: tuple
    weights: tuple | None = None

    def __post_init__(self) -> None:
        v = V.number_array(self.values, "Distribution: values", SimulationError)
        if self.weights is None:
            w = np.ones_like(v)
        else:
            w = V.number_array(self.weights, "Distribution: weights", SimulationError, "weights ≥ 0")
        if w.shape != v.shape:
            raise SimulationError(
                f"Distribution: {w.size} weights for {v.size} values is not allowed: give one weight per value"
            )
        with np.errstate(over="ignore"):
            total = float(np.sum(w))
        if not (np.all(w >= 0) and total > 0 and np.isfinite(total)):
            raise SimulationError(
                f"Distribution: weights = {V.show(self.weights)} is not allowed: they must be ≥ 0, not all zero, "
                "with a finite sum"
            )
        object.__setattr__(self, "values", tuple(v.tolist()))
        object.__setattr__(self, "weights", tuple((w / total).tolist()))

    @classmethod
    def gaussian(cls, mean: float, sigma: float, n: int = 21) -> "Distribution":
        """Gauss–Hermite quadrature of a normal distribution (exact for
        polynomials of degree < 2n in the value); 1 ≤ n ≤
        :data:`MAX_QUADRATURE_NODES`, sigma ≥ 0."""
        mean = V.number(mean, "Distribution.gaussian: mean", SimulationError)
        sigma = V.number(sigma, "Distribution.gaussian: sigma", SimulationError, minimum=0.0)
        n = V.integer(n, "Distribution.gaussian: n", SimulationError, minimum=1, maximum=MAX_QUADRATURE_NODES)
        x, w = np.polynomial.hermite_e.hermegauss(n)
        with np.errstate(over="ignore", invalid="ignore"):
            values = mean + sigma * x
        if not np.all(np.isfinite(values)):
            raise SimulationError(
                f"Distribution.gaussian: mean = {mean!r} and sigma = {sigma!r} give non-finite nodes: "
                "they must be far below 1e307"
            )
        return cls(tuple(values), tuple(w))


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


def _matrix(initial, d: int, n: int) -> np.ndarray:
    """A user's initial state (array-like or Qobj) as a (d, d) complex array."""
    if isinstance(initial, qutip.Qobj):
        rho = initial.full()
    else:
        rho = V.complex_array(initial, "initial", SimulationError, f"'thermal' or a ({d}, {d}) density matrix")
    if rho.shape != (d, d):
        raise SimulationError(f"initial has shape {rho.shape}: expected ({d}, {d}) for {n} spins")
    return rho


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
        for name, t, r in (("t1_s", t1, r1), ("t2_s", t2, r2)):
            if not np.isfinite(r):
                raise SimulationError(f"spin {k}: {name} = {t!r} gives a relaxation rate 1/{name} that overflows")
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
        if not np.isfinite(1.0 / c.t1d_s):
            raise SimulationError(f"coupling ({c.i}, {c.j}): t1d_s = {c.t1d_s!r} gives a rate 1/t1d_s that overflows")
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
        if channel is not None:
            V.string(channel, "fid: channel", SimulationError)
        index = V.integer(index, "fid: index", SimulationError, minimum=0)
        ch = channel or self.system.channels[0]
        if ch not in self.fids or index >= len(self.fids[ch]):
            acquired = {k: len(v) for k, v in self.fids.items()} or "nothing"
            raise SimulationError(f"no FID {index} on channel {ch!r}: the sequence acquired {acquired}")
        return self.fids[ch][index]


@dataclass
class Simulator:
    """A spin system with its cached propagators, ready to run sequences.

    Parameters
    ----------
    system : SpinSystem
    relaxation : bool
        Include T1/T2/T1D relaxation (default True).
    relaxation : bool
    rf_scale : Distribution, a number or a list of numbers, optional
        RF-amplitude scale factors (inhomogeneity), default exactly 1.
    offsets_hz : Distribution, a number or a list of numbers, optional
        Resonance-offset shifts added to every spin (Hz), default 0: a
        carrier or field error common to all spins, not B0 inhomogeneity
        (which would scale with γ).  A discrete ensemble (e.g. Gauss–Hermite
        nodes) reproduces the continuous average only up to times
        ~ 1/(node spacing): beyond that its FID aliases (revives).
    initial : "thermal" or (d, d) array / Qobj
        The state before the sequence (default: the exact Zeeman thermal
        state); it must be Hermitian, of unit trace and positive within 1e-8.
    max_cache_mib : float
        Bound on the memory of cached propagators (finite, > 0); when a run
        would exceed it, the propagator and prefix caches are cleared first
        (default 1024 MiB; prefix states are one vector each, far smaller).

    A run is refused up front (``SimulationError``) when the propagators of
    one ensemble member (up to one per pulse step, delay and acquisition)
    or an acquisition's trajectory would exceed
    :data:`pulses._validate.MAX_BYTES`, and an element whose step generator
    × duration has a 1-norm beyond :data:`MAX_STEP_NORM` or a non-finite
    propagator (a huge duration, amplitude or flip) is reported by index and
    label instead of producing NaN.
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
            raise SimulationError(f"system = {V.show(self.system)} is not allowed: give a SpinSystem")
        if self.system.n > MAX_SPINS:
            raise SimulationError(
                f"{self.system.n} spins is not allowed: the dense Liouville-space engine handles at most "
                f"{MAX_SPINS} (dimension 4^n + 1; 6 spins already take minutes and ~5 GB)"
            )
        self.relaxation = V.boolean(self.relaxation, "relaxation", SimulationError)
        self.max_cache_mib = V.number(self.max_cache_mib, "max_cache_mib", SimulationError, minimum=0.0, strict=True)
        for name, default in (("rf_scale", 1.0), ("offsets_hz", 0.0)):
            value = getattr(self, name)
            if value is None:
                value = Distribution((default,))
            elif not isinstance(value, Distribution):
                arr = V.number_array(value, name, SimulationError, "values or a Distribution")
                value = Distribution(tuple(arr.tolist()))
            setattr(self, name, value)
        d = self.system.dim
        self._w = _pauli_basis(self.system.n)  # columns vec(P)/√d
        dis, b = liouvillian(self.system, self.relaxation)
        self._dis = self._to_real(dis)
        self._b = _real(self._w.conj().T @ b, "relaxation offset")
        if isinstance(self.initial, str):
            if self.initial != "thermal":
                raise SimulationError(
                    f"initial = {V.show(self.initial)} is not allowed: use 'thermal' or a density matrix"
                )
            rho0 = self.system.thermal_state()
        else:
            rho0 = _matrix(self.initial, d, self.system.n)
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
            with np.errstate(over="ignore", invalid="ignore"):
                h = self.system.free_hamiltonian(offset)
            if not np.all(np.isfinite(h)):
                raise SimulationError(
                    f"the free Hamiltonian of the spin system (offsets_hz shift {offset!r} Hz) is non-finite: "
                    "its offsets and couplings overflow (they must be far below 1e307 Hz)"
                )
            g = self._augmented(-1j * _superop_commutator(h))
            if not np.all(np.isfinite(g)):
                raise SimulationError(
                    "the free generator of the spin system is non-finite: its offsets, couplings or relaxation "
                    "rates overflow"
                )
            self._cache[key] = g
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
            if scale == 1.0:
                amps = e.amplitudes_hz()
            else:
                with np.errstate(over="ignore"):  # an overflow is reported by _build as a non-finite generator
                    amps = e.amplitudes_hz() * scale
            return [("rf", e.channels, e.phase_deg, a, tau, offset) for a in amps.tolist()]
        if isinstance(e, Delay):
            return [("free", e.duration_s, offset)]
        if isinstance(e, Gradient):
            return [("grad", e.orders)]
        raise SimulationError(f"cannot propagate {e!r}")

    def _build(self, keys: list[tuple]) -> set:
        """Compute and cache the propagators of the missing keys: generators
        as linear combinations of cached superoperators, exponentiated in
        batches of at most 64 MiB (:func:`pulses._expm.expm_batch`).

        Returns {key: 1-norm of its generator × duration} for the keys
        whose generator is beyond :data:`MAX_STEP_NORM` or not finite, or
        whose propagator is not finite (a duration or an amplitude so large
        that it overflows); they are not cached, and the caller reports the
        element they belong to."""
        missing = [k for k in dict.fromkeys(keys) if k not in self._cache]
        item = (self.system.dim**2 + 1) ** 2 * 8
        if (len(self._cache) + len(missing)) * item > self.max_cache_mib * 2**20:
            # keep the building blocks, drop propagators and prefix states
            self._cache = {k: v for k, v in self._cache.items() if k[0] in ("G_free", "S_rf")}
            self._prefix.clear()
            missing = [k for k in dict.fromkeys(keys) if k not in self._cache]
        chunk = max(1, _EXPM_CHUNK_BYTES // item)
        bad: dict = {}
        pending_keys: list = []
        pending: list = []

        def flush() -> None:
            if not pending:
                return
            gens = np.concatenate(pending)
            norms = _norm1(gens)
            ok = norms <= MAX_STEP_NORM  # False for inf and nan too
            if not ok.all():
                gens[~ok] = 0.0  # not exponentiated: reported instead
            props = expm_batch(gens)
            ok &= np.isfinite(props).all(axis=(1, 2))
            for k, p, good, norm in zip(pending_keys, props, ok, norms):
                if good:
                    self._cache[k] = p
                else:
                    bad[k] = float(norm)
            pending_keys.clear()
            pending.clear()

        d = self.system.dim
        rf: dict[tuple, list] = {}
        with np.errstate(over="ignore", invalid="ignore"):  # overflows are caught as non-finite values
            for k in missing:
                if k[0] == "rf":
                    rf.setdefault((k[1], k[2], k[5]), []).append(k)
                elif k[0] == "free":
                    _, tau, off = k
                    pending_keys.append(k)
                    pending.append((self._free_generator(off) * tau)[None])
                    if len(pending_keys) >= chunk:
                        flush()
                elif k[0] == "hard":
                    _, ch, ph, flip = k
                    gen = -1j * np.deg2rad(flip) / (2 * np.pi) * self._rf_hamiltonian(ch, ph)
                    norm = float(_norm1(gen[None])[0])
                    if not norm <= MAX_STEP_NORM:
                        bad[k] = norm
                        continue
                    u = scipy.linalg.expm(gen)
                    if not np.all(np.isfinite(u)):
                        bad[k] = norm
                        continue
                    p = np.eye(d * d + 1)
                    p[: d * d, : d * d] = self._to_real(np.kron(u, u.conj()))
                    self._cache[k] = p
                elif k[0] == "grad":
                    self._cache[k] = self._gradient(k[1])
            # RF steps sharing channels, phase and offset differ only in amplitude
            # and length: their generators are built in broadcasts of ≤ chunk steps.
            for (ch, ph, off), group in rf.items():
                sx, sy = self._rf_superops(ch)
                rad = np.deg2rad(ph)
                rot = np.cos(rad) * sx + np.sin(rad) * sy
                free = self._free_generator(off)[None]
                for start in range(0, len(group), chunk):
                    part = group[start : start + chunk]
                    amps = np.array([k[3] for k in part])[:, None, None]
                    taus = np.array([k[4] for k in part])[:, None, None]
                    room = chunk - len(pending_keys)
                    if len(part) > room:
                        flush()
                    pending_keys.extend(part)
                    pending.append((free + amps * rot[None]) * taus)
                    if len(pending_keys) >= chunk:
                        flush()
            flush()
        return bad

    def _gradient(self, orders) -> np.ndarray:
        d = self.system.dim
        keep = gradient_mask(self.system, orders).reshape(-1)
        g = np.eye(d * d + 1)
        g[:-1, :-1] = self._to_real(np.diag(keep.astype(float)))
        return g

    # ------------------------------------------------------------------ run
    def run(self, sequence: Sequence, initial=None) -> SimulationResult:
        """Simulate ``sequence`` (all phase-cycle steps, all ensemble members).

        ``initial`` (a density matrix or Qobj, checked like the constructor's)
        starts this run from another state than the simulator's own; the
        propagator caches are shared, and prefix states are kept per initial
        state."""
        if not isinstance(sequence, Sequence):
            raise SimulationError(f"sequence = {V.show(sequence)} is not allowed: give a Sequence")
        sequence.check(self.system.channels)
        self._check_size(sequence)
        if initial is None:
            v0, key0 = self._v0, None
        else:
            if isinstance(initial, str):
                raise SimulationError(f"run: initial = {V.show(initial)} is not allowed: give a density matrix")
            rho0 = _matrix(initial, self.system.dim, self.system.n)
            _check_state(rho0)
            v0 = np.concatenate([(self._w.conj().T @ rho0.reshape(-1)).real, [1.0]])
            key0 = v0.tobytes()
        steps = sequence.phase_cycle or (None,)
        d2 = self.system.dim**2
        final = np.zeros(d2)
        fids: dict[str, list] = {}
        for step in steps:
            seq = sequence if step is None else sequence.with_phases(step)
            for scale, weight, offset in self._members:
                v, signals = self._run_member(seq, scale, offset, v0, key0)
                final += weight * v[:d2] / len(steps)
                for n_acq, (acq, sig) in enumerate(signals):
                    rec = acq.receiver_phase_deg + (0.0 if step is None else step.receiver_phase_deg)
                    for ch, s in sig.items():
                        lst = fids.setdefault(ch, [])
                        if len(lst) <= n_acq:
                            lst.append([acq, np.zeros_like(s)])
                        lst[n_acq][1] += weight * s * np.exp(-1j * np.deg2rad(rec)) / len(steps)
        for ch, lst in fids.items():
            for n_acq, (acq, sig) in enumerate(lst):
                if not np.all(np.isfinite(sig)):
                    raise SimulationError(
                        f"the FID {n_acq} on channel {ch} is non-finite: the propagation overflowed"
                    )
        if not np.all(np.isfinite(final)):
            raise SimulationError("the final state is non-finite: the propagation overflowed")
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

    def _check_size(self, sequence: Sequence) -> None:
        """Refuse, before any work, a run whose propagators (up to one per
        step of one ensemble member) or acquisition trajectory would exceed
        :data:`pulses._validate.MAX_BYTES`."""
        width = self.system.dim**2 + 1
        item = width * width * 8
        counts = [
            (e.steps if isinstance(e, Pulse) and not e.hard else 1) for e in sequence.elements
        ]
        total = sum(counts)
        if total * item > V.MAX_BYTES:
            k = int(np.argmax(counts))
            e = sequence.elements[k]
            raise SimulationError(
                f"sequence {V.show(sequence.name)}: {total} steps is not allowed: their propagators "
                f"({width}×{width} reals each) would need up to {V.format_bytes(total * item)}; at most "
                f"{V.format_bytes(V.MAX_BYTES)} is allowed (pulses._validate.MAX_BYTES); element {k} "
                f"({_who(e)}) has {counts[k]}"
            )
        for k, e in enumerate(sequence.elements):
            if isinstance(e, Acquire) and e.points * width * 8 > V.MAX_BYTES:
                V.check_size(
                    e.points * width * 8, f"element {k} ({_who(e)}): points", e.points,
                    f"its trajectory ({width} reals a point for {self.system.n} spins)", SimulationError,
                )

    def _run_member(self, seq: Sequence, scale: float, offset: float, v0: np.ndarray | None = None, key0=None):
        els = seq.elements
        # Prefix keys are chained hashes (O(n) per run); a hit is confirmed
        # against the stored element tuple (and initial state), so a hash
        # collision cannot leak.
        chain, h = [], hash((scale, offset, key0))
        for e in els:
            if isinstance(e, Acquire):
                break
            h = hash((h, e))
            chain.append(h)
        start, v = 0, (self._v0 if v0 is None else v0)
        for k in range(len(chain), 0, -1):
            hit = self._prefix.get(chain[k - 1])
            if hit is not None and hit[0] == (scale, offset, key0, els[:k]):
                start, v = k, hit[1]
                break
        steps = [self._steps(e, scale, offset) if not isinstance(e, Acquire) else None for e in els[start:]]
        keys = [key for st in steps if st for key in st]
        keys += [("free", a.dwell_s, offset) for a in els[start:] if isinstance(a, Acquire)]
        bad = self._build(keys)
        if bad:
            for k, st in zip(range(start, len(els)), steps):
                e = els[k]
                own = st if st is not None else [("free", e.dwell_s, offset)]
                hit = [bad[key] for key in own if key in bad]
                if hit:
                    raise SimulationError(_non_finite(k, e, scale, offset, max(hit)))
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
                self._prefix[chain[k]] = ((scale, offset, key0, els[: k + 1]), v)
        return v, signals

    def _acquire(self, acq: Acquire, v: np.ndarray, offset: float):
        """Signals of ``acq`` from state vector v, and the state after it.

        The signal is linear in v: s_ch[n] = o_ch · Pⁿ v.  When the
        detection matrix (rows o_ch Pⁿ, n < points) of every channel fits in
        :data:`DETECTION_CACHE_BYTES`, it is built once by doubling
        (⌈log2 N⌉ products) and cached with P^N, and each acquisition is a
        matrix-vector product; otherwise the trajectory is propagated point
        by point."""
        channels = acq.channels or self.system.channels
        width = v.size
        key = ("det", acq.dwell_s, acq.points, offset, tuple(channels))
        if key not in self._cache and acq.points * width * 8 * len(channels) <= DETECTION_CACHE_BYTES:
            p = self._cache[("free", acq.dwell_s, offset)]
            rows = np.stack([np.concatenate([self._obs[ch].real, [0.0]]) for ch in channels]
                            + [np.concatenate([self._obs[ch].imag, [0.0]]) for ch in channels])  # (2c, width)
            det = np.empty((acq.points, rows.shape[0], width))
            det[0] = rows
            have, power = 1, p
            while have < acq.points:
                m = min(have, acq.points - have)
                det[have:have + m] = det[:m] @ power
                have += m
                if have < acq.points:
                    power = power @ power
            last = np.linalg.matrix_power(p, acq.points)
            self._cache[key] = (det, last)
        if key in self._cache:
            det, last = self._cache[key]
            vals = det @ v  # (points, 2c)
            c = len(channels)
            sig = {ch: vals[:, i] + 1j * vals[:, c + i] for i, ch in enumerate(channels)}
            return sig, last @ v
        p = self._cache[("free", acq.dwell_s, offset)]
        d2 = self.system.dim**2
        traj = np.empty((acq.points, v.size))
        for n in range(acq.points):
            traj[n] = v
            v = p @ v
        sig = {ch: traj[:, :d2] @ self._obs[ch] for ch in channels}
        return sig, v


def _who(e) -> str:
    label = getattr(e, "label", "")
    return f"{e.kind}{' ' + V.show(label) if label else ''}"


def _norm1(a: np.ndarray) -> np.ndarray:
    """1-norm of every matrix of a (m, n, n) stack (inf or nan if not finite;
    the caller silences overflow warnings)."""
    return np.abs(a).sum(axis=-2).max(axis=-1)


def _non_finite(k: int, e, scale: float, offset: float, norm: float) -> str:
    """The message for element k whose propagator cannot be computed."""
    if isinstance(e, Pulse) and e.hard:
        what = f"flip_deg = {e.flip_deg!r} (× rf_scale {scale!r})"
    elif isinstance(e, Pulse):
        what = f"duration_s = {e.duration_s!r} with nutation_hz = {e.nutation_hz!r} (× rf_scale {scale!r})"
    elif isinstance(e, Acquire):
        what = f"dwell_s = {e.dwell_s!r}"
    else:
        what = f"duration_s = {getattr(e, 'duration_s', None)!r}"
    size = f"{norm:.3g} rad" if np.isfinite(norm) else "an overflow"
    return (
        f"element {k} ({_who(e)}): its propagator is non-finite or meaningless: {what} times the rates of "
        f"the spin system (offsets_hz shift {offset!r} Hz) gives a generator of 1-norm {size}; at most "
        f"2^53 ≈ {MAX_STEP_NORM:.2g} rad is allowed (MAX_STEP_NORM): give a shorter duration or a smaller amplitude"
    )


#: The keyword options of :func:`simulate` (the public fields of Simulator).
_OPTIONS = ("relaxation", "rf_scale", "offsets_hz", "initial", "max_cache_mib")


def simulate(system: SpinSystem, sequence: Sequence, **options) -> SimulationResult:
    """Run ``sequence`` on ``system``; keyword options as for :class:`Simulator`
    (``relaxation``, ``rf_scale``, ``offsets_hz``, ``initial``,
    ``max_cache_mib``; any other keyword is an error)."""
    V.known_keys(options, _OPTIONS, "simulate", SimulationError)
    return Simulator(system, **options).run(sequence)
