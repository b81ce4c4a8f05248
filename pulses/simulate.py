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

Two engines propagate that vector (``Simulator(method=...)``; "auto"
picks the dense one up to 3 spins and the sparse one from 4, to
:data:`MAX_SPINS` = 7):

* dense — every distinct step is exponentiated once (batched scaling and
  squaring, :func:`pulses._expm.expm_batch`) and cached, in windows that
  keep the propagators within ``max_cache_mib`` (a longer run streams them);
  a soft pulse whose steps occur once in a run is applied by the Taylor
  kernel below instead of being exponentiated;
* sparse — no propagator matrix: pulse steps by a truncated Taylor series
  on the sparse Pauli-basis generator (degree and sub-steps from a rigorous
  truncation bound, one sparse product per term), free evolution and
  acquisition in the product basis, split into the blocks the free
  Liouvillian conserves (per-channel coherence orders, finer with weak
  couplings), each diagonalised or Taylor-propagated (whichever is cheaper),
  the FID from the blocks the observable reaches only
  (:mod:`pulses._liouville`).

A :class:`Simulator` keeps its caches across runs, including the state
after a shared preparation prefix, so a planning batch pays for the shared
part once.  RF-amplitude inhomogeneity
and resonance offsets are ensemble averages over (value, weight) lists.
Detection gives, per channel, s(t) = Tr[ρ(t) Σ_{k∈channel} I_k⁺] under the
free Hamiltonian with relaxation, times exp(−i·receiver phase).

A simulation that cannot proceed raises ``SimulationError`` before it
produces a number: a dense run whose propagators or trajectory would exceed
:data:`pulses._validate.MAX_BYTES` (checked up front), or an element whose
propagator would be non-finite or numerically meaningless (named by index
and label); results never hold NaN or inf.  Runs limit BLAS to one thread
(threadpoolctl; restored afterwards): the engines' matrices are small, and
on a shared machine a waiting BLAS thread slows an eigendecomposition 10–100×.

This module simulates; it never builds sequences (see
:mod:`pulses.sequence`) and never imports nmrqb.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import qutip
import scipy.linalg
import scipy.sparse as sp

from pulses import _liouville as LV
from pulses import _validate as V
from pulses._expm import expm_batch
from pulses.errors import SimulationError
from pulses.fid import FID
from pulses.sequence import Acquire, Delay, Gradient, Pulse, Sequence, ShapedPulse
from pulses.spinsystem import SpinSystem, gamma_mhz_per_t

#: Largest detection matrix (points × 2·channels × (4ⁿ + 1) reals) an
#: acquisition caches; larger acquisitions are propagated point by point.
DETECTION_CACHE_BYTES = 64 * 2**20

#: Largest spin system the simulator accepts (the sparse engine).
MAX_SPINS = 7

#: Largest spin system the dense engine accepts (its propagators are
#: (4ⁿ + 1)² reals: 134 MB each at 6 spins).
DENSE_MAX_SPINS = 6

#: From this many spins, ``method="auto"`` runs the sparse engine.
SPARSE_FROM_SPINS = 4

#: The engines of :class:`Simulator` (``method``).
METHODS = ("auto", "dense", "sparse")

#: Dense engine: from this Liouville width (2 spins), a soft pulse whose
#: steps occur once in a run (and are not cached) is applied by the Taylor
#: kernel on the state rather than exponentiated step by step.
_TAYLOR_MIN_WIDTH = 17

#: ... and has at least this many steps (a one-step pulse costs one small
#: exponential, less than building the sparse generator the kernel needs).
_TAYLOR_MIN_STEPS = 8

#: Sparse engine: a delay whose generator 1-norm × duration is at most this
#: is Taylor-propagated; a longer one goes through the free-evolution blocks.
_DELAY_TAYLOR_NORM = 12.0

#: Sparse engine: the step data of a pulse are formed in chunks of this size.
_STEP_CHUNK_BYTES = 16 * 2**20

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

__all__ = ["MAX_SPINS", "METHODS", "Distribution", "SimulationResult", "Simulator", "simulate", "liouvillian",
           "gradient_mask"]


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


def _spin_rates(system: SpinSystem) -> list[tuple[int, float, float, float]]:
    """Per spin (index, 1/T1, γφ = 1/T2 − 1/(2 T1), thermal polarisation),
    refusing rates that overflow and T2 > 2 T1."""
    pol = system.polarization()
    out = []
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
        out.append((k, r1, gphi, pol[k]))
    return out


def _t1d_couplings(system: SpinSystem) -> list:
    """The couplings with a dipolar-order relaxation time, refusing a rate that overflows."""
    out = []
    for c in system.couplings:
        if c.t1d_s is None:
            continue
        if not np.isfinite(1.0 / c.t1d_s):
            raise SimulationError(f"coupling ({c.i}, {c.j}): t1d_s = {c.t1d_s!r} gives a rate 1/t1d_s that overflows")
        out.append(c)
    return out


def liouvillian(system: SpinSystem, relaxation: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Relaxation part of the generator: (D, b) with D (d², d²) and b (d²,)
    such that d vec(ρ)/dt ⊃ D vec(ρ) + b (see the module docstring)."""
    d = system.dim
    dis = np.zeros((d * d, d * d), dtype=np.complex128)
    b = np.zeros(d * d, dtype=np.complex128)
    if not relaxation:
        return dis, b
    o = system.ops
    for k, r1, gphi, pol in _spin_rates(system):
        if r1 > 0:
            minus = o["p"][k].copy()  # I⁺ = |0⟩⟨1| lowers the energy for γ > 0
            dis += (1 + pol) / 2 * r1 * LV.dissipator(minus)
            dis += (1 - pol) / 2 * r1 * LV.dissipator(minus.conj().T)
        if gphi > 0:
            dis += gphi / 2 * LV.dissipator(2 * o["z"][k])
    rho_eq = system.thermal_state().reshape(-1)
    for c in _t1d_couplings(system):
        u = system.dipolar_order(c.i, c.j).reshape(-1)
        u = u / np.linalg.norm(u)
        proj = np.outer(u, u.conj())
        dis -= proj / c.t1d_s
        b += (proj @ rho_eq) / c.t1d_s
    return dis, b


def _sparse_liouvillian(system: SpinSystem, relaxation: bool, offset: float):
    """The free Liouvillian of :func:`liouvillian` plus −i[H_free, ·], as a
    sparse (d², d²) matrix of row-major vec(ρ), and its constant term (None
    without dipolar-order relaxation); never a dense d² × d² array."""
    d = system.dim
    with np.errstate(over="ignore", invalid="ignore"):
        h = system.free_hamiltonian(offset)
    if not np.all(np.isfinite(h)):
        raise SimulationError(
            f"the free Hamiltonian of the spin system (offsets_hz shift {offset!r} Hz) is non-finite: "
            "its offsets and couplings overflow (they must be far below 1e307 Hz)"
        )
    hs = sp.csr_matrix(h)
    eye = sp.identity(d, format="csr", dtype=np.complex128)
    liouv = -1j * (sp.kron(hs, eye) - sp.kron(eye, hs.T))
    b = None
    if relaxation:
        o = system.ops

        def dis(c):
            c = sp.csr_matrix(c)
            cc = (c.conj().T @ c).tocsr()
            return sp.kron(c, c.conj()) - 0.5 * (sp.kron(cc, eye) + sp.kron(eye, cc.T))

        for k, r1, gphi, pol in _spin_rates(system):
            if r1 > 0:
                minus = o["p"][k]
                liouv = liouv + (1 + pol) / 2 * r1 * dis(minus) + (1 - pol) / 2 * r1 * dis(minus.conj().T)
            if gphi > 0:
                liouv = liouv + gphi / 2 * dis(2 * o["z"][k])
        t1d = _t1d_couplings(system)
        if t1d:
            rho_eq = system.thermal_state().reshape(-1)
            b = np.zeros(d * d, dtype=np.complex128)
            for c in t1d:
                u = system.dipolar_order(c.i, c.j).reshape(-1)
                u = u / np.linalg.norm(u)
                us = sp.csr_matrix(u[:, None])
                liouv = liouv - (us @ us.conj().T) / c.t1d_s
                b += u * (u.conj() @ rho_eq) / c.t1d_s
    return sp.csr_matrix(liouv), b


def _sparse_free_terms(system: SpinSystem, relaxation: bool):
    """COO triplets, in the real Pauli basis augmented by the constant 1
    (width 4ⁿ + 1), of the free generator at zero extra offset and of its
    derivative with respect to a common offset (Hz): Σ_k −i[2π I_kz, ·]."""
    n = system.n
    size = 4**n
    parts: list = []
    zparts: list = []
    with np.errstate(over="ignore", invalid="ignore"):
        offs = system.offsets_hz()
        for k in range(n):
            zsup = LV.one_spin(-1j * LV.commutator_superop(2 * np.pi * LV._HALF["z"]))
            zparts.append(LV.embed(zsup, (k,), n))
            if offs[k] != 0:
                parts.append(LV.embed(zsup * offs[k], (k,), n))
        for c in system.couplings:
            homo = system.spins[c.i].isotope == system.spins[c.j].isotope
            h2 = LV.coupling_hamiltonian(c.kind, c.hz, homo, c.weak)
            parts.append(LV.embed(LV.two_spin(-1j * LV.commutator_superop(h2)), (c.i, c.j), n))
    if relaxation:
        for k, r1, gphi, pol in _spin_rates(system):
            dis = np.zeros((4, 4), dtype=np.complex128)
            minus = LV._HALF["p"]
            if r1 > 0:
                dis += (1 + pol) / 2 * r1 * LV.dissipator(minus)
                dis += (1 - pol) / 2 * r1 * LV.dissipator(minus.conj().T)
            if gphi > 0:
                dis += gphi / 2 * LV.dissipator(2 * LV._HALF["z"])
            if np.any(dis != 0):
                parts.append(LV.embed(LV.one_spin(dis), (k,), n))
        t1d = _t1d_couplings(system)
        if t1d:
            r_eq = LV.rho_to_pauli(system.thermal_state(), n)
            loc = LV.dipolar_order_local()
            u = LV.rho_to_pauli(loc / np.linalg.norm(loc), 2)
            nz = np.flatnonzero(np.abs(u) > 1e-15)
            for c in t1d:
                strings = LV._strings_on_pair(c.i, c.j, n)[nz]
                uu = u[nz]
                rows, cols = np.meshgrid(strings, strings, indexing="ij")
                parts.append((rows.ravel(), cols.ravel(), (-np.outer(uu, uu) / c.t1d_s).ravel()))
                bvals = uu * float(uu @ r_eq[strings]) / c.t1d_s
                parts.append((strings, np.full(strings.size, size), bvals))
    cat = (lambda ps: tuple(np.concatenate([p[i] for p in ps]) if ps else np.zeros(0) for i in range(3)))
    g0, z = cat(parts), cat(zparts)
    g0 = (g0[0].astype(np.int64), g0[1].astype(np.int64), g0[2].astype(np.float64))
    if not np.all(np.isfinite(g0[2])):
        raise SimulationError(
            "the free generator of the spin system is non-finite: its offsets, couplings or relaxation rates overflow"
        )
    return g0, (z[0].astype(np.int64), z[1].astype(np.int64), z[2].astype(np.float64))


def _sparse_rf_terms(n: int, group: tuple) -> tuple:
    """COO triplets of −i[2π Σ_{k∈group} I_kx, ·] and of the same with I_ky."""
    out = []
    for axis in "xy":
        sup = LV.one_spin(-1j * LV.commutator_superop(2 * np.pi * LV._HALF[axis]))
        trip = [LV.embed(sup, (k,), n) for k in group]
        out.append(tuple(np.concatenate([t[i] for t in trip]) for i in range(3)) if trip
                   else (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0)))
    return tuple(out)


class _StepTooLarge(Exception):
    """A step whose generator norm is beyond MAX_STEP_NORM or not finite."""

    def __init__(self, index: int, norm: float):
        super().__init__(index, norm)
        self.index, self.norm = index, norm


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
        Bound on the memory the simulator keeps (finite, > 0): cached
        propagators, detection matrices and eigendecompositions.  When a run
        would exceed it, the propagator and prefix caches are cleared first;
        a run whose own propagators would exceed it is streamed (its steps
        are exponentiated in chunks, applied and dropped), so the peak memory
        of a run is this bound plus a working set that does not grow with the
        number of steps (default 1024 MiB).
    method : "auto", "dense" or "sparse"
        The propagation engine.  "dense" (the default for ≤ 3 spins):
        every distinct step's (4ⁿ+1)² propagator, exponentiated in batches
        and cached, so a planning batch reuses them; a soft pulse of ≥ 8
        steps that occur once in a run (and are not cached) is applied by
        the Taylor kernel on the state instead of being exponentiated.  "sparse" (the default from 4 spins, up to
        :data:`MAX_SPINS`): no propagator matrix at all — pulse steps by
        the Taylor kernel on the sparse Pauli-basis generator, free
        evolution and acquisition by the block eigendecomposition of the free
        Liouvillian, the FID from the blocks the observable reaches only
        (:mod:`pulses._liouville`).  Both are exact to rounding.

    A dense run is refused up front (``SimulationError``) when its
    propagators (up to one per pulse step, delay and acquisition of one
    ensemble member) or an acquisition's trajectory would exceed
    :data:`pulses._validate.MAX_BYTES`; an element whose step generator ×
    duration has a 1-norm beyond :data:`MAX_STEP_NORM` or a non-finite
    propagator (a huge duration, amplitude or flip) is reported by index and
    label instead of producing NaN.
    """

    system: SpinSystem
    relaxation: bool = True
    rf_scale: Distribution | None = None
    offsets_hz: Distribution | None = None
    initial: object = "thermal"
    max_cache_mib: float = 1024.0
    method: str = "auto"
    _cache: dict = field(default_factory=dict, repr=False)
    _prefix: dict = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.system, SpinSystem):
            raise SimulationError(f"system = {V.show(self.system)} is not allowed: give a SpinSystem")
        if not isinstance(self.method, str) or self.method not in METHODS:
            raise SimulationError(f"method = {V.show(self.method)} is not allowed: use {', '.join(METHODS)}")
        if self.system.n > MAX_SPINS:
            raise SimulationError(
                f"{self.system.n} spins is not allowed: the simulator handles at most {MAX_SPINS} "
                f"(Liouville dimension 4^n + 1; the sparse engine's working set grows ×4 per spin)"
            )
        if self.method == "dense" and self.system.n > DENSE_MAX_SPINS:
            raise SimulationError(
                f"{self.system.n} spins is not allowed with method = 'dense': its propagators are "
                f"(4^n + 1)² reals; use method = 'sparse' (or 'auto')"
            )
        self._sparse = self.method == "sparse" or (self.method == "auto" and self.system.n >= SPARSE_FROM_SPINS)
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
        if isinstance(self.initial, str):
            if self.initial != "thermal":
                raise SimulationError(
                    f"initial = {V.show(self.initial)} is not allowed: use 'thermal' or a density matrix"
                )
            rho0 = self.system.thermal_state()
        else:
            rho0 = _matrix(self.initial, d, self.system.n)
            _check_state(rho0)
        with _blas_threads(self.system.n >= 3):
            self._setup(rho0)
        self._members = [
            (s, ws * wo, off)
            for s, ws in zip(self.rf_scale.values, self.rf_scale.weights)
            for off, wo in zip(self.offsets_hz.values, self.offsets_hz.weights)
        ]

    def _setup(self, rho0: np.ndarray) -> None:
        """The engine's building blocks: initial vector, relaxation, observables."""
        o = self.system.ops
        self._sp: dict = {}  # sparse generator terms and patterns, free-evolution blocks
        if self._sparse:
            self._sp["free"] = _sparse_free_terms(self.system, self.relaxation)
            self._v0 = np.concatenate([LV.rho_to_pauli(rho0, self.system.n), [1.0]])
            self._obs_vec = {
                ch: np.sum(o["p"][self.system.spins_on(ch)], axis=0).T.reshape(-1) for ch in self.system.channels
            }
        else:
            self._w = LV.pauli_basis(self.system.n)  # columns vec(P)/√d
            dis, b = liouvillian(self.system, self.relaxation)
            self._dis = self._to_real(dis)
            self._b = _real(self._w.conj().T @ b, "relaxation offset")
            self._v0 = np.concatenate([(self._w.conj().T @ rho0.reshape(-1)).real, [1.0]])
            self._obs = {
                ch: np.sum(o["p"][self.system.spins_on(ch)], axis=0).T.reshape(-1) @ self._w
                for ch in self.system.channels
            }

    @property
    def engine(self) -> str:
        """The engine this simulator runs: "dense" or "sparse" (see ``method``)."""
        return "sparse" if self._sparse else "dense"

    # ------------------------------------------------------------ targets
    def _target(self, k: int, e) -> tuple[int, ...]:
        """Spin indices a Pulse drives: its ``spins``, or every spin of its channels."""
        if e.spins is None:
            return tuple(i for ch in e.channels for i in self.system.spins_on(ch))
        return e.spins

    def _groups(self, e) -> tuple[tuple[int, ...], ...]:
        """Per channel of a ShapedPulse, the spins its waveform drives."""
        out = []
        for ch in e.channels:
            on = self.system.spins_on(ch)
            out.append(tuple(on) if e.spins is None else tuple(i for i in on if i in e.spins))
        return tuple(out)

    def _check_targets(self, sequence: Sequence) -> None:
        """Refuse target spins that do not exist or are not on the pulse's channels."""
        n = self.system.n
        for k, e in enumerate(sequence.elements):
            spins = getattr(e, "spins", None)
            if spins is None:
                continue
            where = f"element {k} ({_who(e)})"
            if max(spins) >= n:
                raise SimulationError(
                    f"{where}: spins = {V.show(spins)} is not allowed: the spin system has spins 0 to {n - 1}"
                )
            for i in spins:
                iso = self.system.spins[i].isotope
                if iso not in e.channels:
                    raise SimulationError(
                        f"{where}: spins = {V.show(spins)} is not allowed: spin {i} ({iso}) is not on the pulse's "
                        f"channels {V.show(e.channels)}"
                    )
            if isinstance(e, ShapedPulse):
                for ch, g in zip(e.channels, self._groups(e)):
                    if not g:
                        raise SimulationError(
                            f"{where}: spins = {V.show(spins)} is not allowed: none is on channel {ch!r}, whose "
                            "waveform would drive nothing (drop that channel or name one of its spins)"
                        )

    # ------------------------------------------------------------ generators
    def _to_real(self, sup: np.ndarray) -> np.ndarray:
        """A vec(ρ)-basis superoperator in the Pauli basis (real)."""
        return _real(LV.to_pauli(sup, self.system.n), "superoperator")

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
            g = self._augmented(-1j * LV.commutator_superop(h))
            if not np.all(np.isfinite(g)):
                raise SimulationError(
                    "the free generator of the spin system is non-finite: its offsets, couplings or relaxation "
                    "rates overflow"
                )
            self._cache[key] = g
        return self._cache[key]

    def _rf_superops(self, idx) -> tuple[np.ndarray, np.ndarray]:
        """Augmented −i[·] superoperators of 2π Σ Ix and 2π Σ Iy on the spins
        ``idx`` (zero last row/column), so a step's generator is a linear
        combination."""
        key = ("S_rf", idx)
        if key not in self._cache:
            out = []
            for phase in (0.0, 90.0):
                sup = self._to_real(-1j * LV.commutator_superop(self._rf_hamiltonian(idx, phase)))
                g = np.zeros((sup.shape[0] + 1,) * 2)
                g[:-1, :-1] = sup
                out.append(g)
            self._cache[key] = tuple(out)
        return self._cache[key]

    def _rf_hamiltonian(self, idx, phase_deg: float) -> np.ndarray:
        o = self.system.ops
        idx = list(idx)
        ph = np.deg2rad(phase_deg)
        return 2 * np.pi * (np.cos(ph) * o["x"][idx].sum(axis=0) + np.sin(ph) * o["y"][idx].sum(axis=0))

    def _steps(self, k: int, e, scale: float, offset: float) -> list[tuple]:
        """Cache keys (with their (H, τ) recipes) of the steps of element e."""
        if isinstance(e, Pulse):
            idx = self._target(k, e)
            if e.hard:
                return [("hard", idx, e.phase_deg, e.flip_deg * scale)]
            tau = e.duration_s / e.steps
            if scale == 1.0:
                amps = e.amplitudes_hz()
            else:
                with np.errstate(over="ignore"):  # an overflow is reported by _build as a non-finite generator
                    amps = e.amplitudes_hz() * scale
            return [("rf", idx, e.phase_deg, a, tau, offset) for a in amps.tolist()]
        if isinstance(e, ShapedPulse):
            tau = e.duration_s / e.steps
            with np.errstate(over="ignore", invalid="ignore"):
                xy = e.xy_hz() * scale
            groups = self._groups(e)
            return [("rfm", groups, tuple(row), tau, offset) for row in xy.reshape(e.steps, -1).tolist()]
        if isinstance(e, Delay):
            return [("free", e.duration_s, offset)]
        if isinstance(e, Gradient):
            return [("grad", e.orders)]
        raise SimulationError(f"cannot propagate {e!r}")

    def _generator_chunks(self, keys: list[tuple], chunk_bytes: int = _EXPM_CHUNK_BYTES):
        """(keys, generators × τ) in chunks of at most ``chunk_bytes``, for
        distinct "free", "rf" and "rfm" keys (in an order grouped by their recipe)."""
        item = (self.system.dim**2 + 1) ** 2 * 8
        chunk = max(1, chunk_bytes // item)
        pending_keys: list = []
        pending: list = []
        rf: dict[tuple, list] = {}
        rfm: dict[tuple, list] = {}
        for k in keys:
            if k[0] == "rf":
                rf.setdefault((k[1], k[2], k[5]), []).append(k)
            elif k[0] == "rfm":
                rfm.setdefault((k[1], k[4]), []).append(k)
            elif k[0] == "free":
                _, tau, off = k
                pending_keys.append(k)
                pending.append((self._free_generator(off) * tau)[None])
                if len(pending_keys) >= chunk:
                    yield pending_keys, np.concatenate(pending)
                    pending_keys, pending = [], []
        # RF steps sharing targets, phase and offset differ only in amplitude
        # and length: their generators are built in broadcasts of ≤ chunk steps.
        for (idx, ph, off), group in rf.items():
            sx, sy = self._rf_superops(idx)
            rad = np.deg2rad(ph)
            rot = np.cos(rad) * sx + np.sin(rad) * sy
            free = self._free_generator(off)[None]
            for start in range(0, len(group), chunk):
                part = group[start: start + chunk]
                amps = np.array([k[3] for k in part])[:, None, None]
                taus = np.array([k[4] for k in part])[:, None, None]
                if len(pending_keys) + len(part) > chunk and pending_keys:
                    yield pending_keys, np.concatenate(pending)
                    pending_keys, pending = [], []
                pending_keys.extend(part)
                pending.append((free + amps * rot[None]) * taus)
        for (groups, off), group in rfm.items():
            sups = np.stack([s for g in groups for s in self._rf_superops(g)])  # (2G, w, w)
            free = self._free_generator(off)[None]
            for start in range(0, len(group), chunk):
                part = group[start: start + chunk]
                coef = np.array([k[2] for k in part])  # (m, 2G) in Hz
                taus = np.array([k[3] for k in part])[:, None, None]
                if len(pending_keys) + len(part) > chunk and pending_keys:
                    yield pending_keys, np.concatenate(pending)
                    pending_keys, pending = [], []
                pending_keys.extend(part)
                gen = np.repeat(free, len(part), axis=0)
                for j in range(sups.shape[0]):
                    gen += coef[:, j, None, None] * sups[j]
                pending.append(gen * taus)
        if pending_keys:
            yield pending_keys, np.concatenate(pending)

    @property
    def _budget(self) -> float:
        """max_cache_mib in bytes (capped at 2^62, so that counts stay integers)."""
        return min(self.max_cache_mib * 2.0**20, 2.0**62)

    def _room(self) -> int:
        """How many more propagators the cache may hold within max_cache_mib."""
        item = (self.system.dim**2 + 1) ** 2 * 8
        return int(self._budget // item) - len(self._cache)

    def _build(self, keys: list[tuple], store: bool = True) -> tuple[dict, dict]:
        """Compute the propagators of the missing keys: generators as linear
        combinations of cached superoperators, exponentiated in batches of at
        most 64 MiB (:func:`pulses._expm.expm_batch`).  They are cached while
        the cache has room within ``max_cache_mib`` (``store``), and all are
        returned in a dict.

        Also returns {key: 1-norm of its generator × duration} for the keys
        whose generator is beyond :data:`MAX_STEP_NORM` or not finite, or
        whose propagator is not finite (a duration or an amplitude so large
        that it overflows); they are not cached, and the caller reports the
        element they belong to."""
        missing = [k for k in dict.fromkeys(keys) if k not in self._cache]
        bad: dict = {}
        built: dict = {}

        def keep(k, p) -> None:
            built[k] = p
            if store and self._room() > 0:
                self._cache[k] = p

        d = self.system.dim
        with np.errstate(over="ignore", invalid="ignore"):  # overflows are caught as non-finite values
            soft = []
            for k in missing:
                if k[0] == "hard":
                    _, idx, ph, flip = k
                    gen = -1j * np.deg2rad(flip) / (2 * np.pi) * self._rf_hamiltonian(idx, ph)
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
                    keep(k, p)
                elif k[0] == "grad":
                    keep(k, self._gradient(k[1]))
                else:
                    soft.append(k)
            for part, gens in self._generator_chunks(soft):
                norms = _norm1(gens)
                ok = norms <= MAX_STEP_NORM  # False for inf and nan too
                if not ok.all():
                    gens[~ok] = 0.0  # not exponentiated: reported instead
                props = expm_batch(gens)
                ok &= np.isfinite(props).all(axis=(1, 2))
                for k, p, good, norm in zip(part, props, ok, norms):
                    if good:
                        keep(k, p)
                    else:
                        bad[k] = float(norm)
        return bad, built

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
        self._check_targets(sequence)
        if not self._sparse:
            self._check_size(sequence)
        if initial is None:
            v0, key0 = self._v0, None
        else:
            if isinstance(initial, str):
                raise SimulationError(f"run: initial = {V.show(initial)} is not allowed: give a density matrix")
            rho0 = _matrix(initial, self.system.dim, self.system.n)
            _check_state(rho0)
            if self._sparse:
                v0 = np.concatenate([LV.rho_to_pauli(rho0, self.system.n), [1.0]])
            else:
                v0 = np.concatenate([(self._w.conj().T @ rho0.reshape(-1)).real, [1.0]])
            key0 = v0.tobytes()
        steps = sequence.phase_cycle or (None,)
        d2 = self.system.dim**2
        final = np.zeros(d2)
        fids: dict[str, list] = {}
        for step in steps:
            seq = sequence if step is None else sequence.with_phases(step)
            for scale, weight, offset in self._members:
                with _blas_threads(self.system.n >= 3):
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
        if self._sparse:
            rho = LV.pauli_to_rho(final, self.system.n)
        else:
            rho = (self._w @ final).reshape(self.system.dim, self.system.dim)
        return SimulationResult(0.5 * (rho + rho.conj().T), out, self.system, sequence)

    def _check_size(self, sequence: Sequence) -> None:
        """Refuse, before any work, a dense run whose propagators (up to one
        per step of one ensemble member) or acquisition trajectory would
        exceed :data:`pulses._validate.MAX_BYTES`."""
        width = self.system.dim**2 + 1
        item = width * width * 8
        counts = [
            (e.steps if (isinstance(e, Pulse) and not e.hard) or isinstance(e, ShapedPulse) else 1)
            for e in sequence.elements
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
        if self._sparse:
            return self._sparse_member(els, start, v, scale, offset, chain, key0)
        return self._dense_member(els, start, v, scale, offset, chain, key0)

    def _store_prefix(self, chain, k: int, key: tuple, v: np.ndarray) -> None:
        if k < len(chain):
            if (len(self._prefix) + 1) * v.nbytes > self._budget / 4:
                self._prefix.clear()  # prefix states: at most a quarter of the budget
            self._prefix[chain[k]] = (key, v)

    # ---------------------------------------------------------- dense engine
    def _dense_member(self, els, start, v, scale, offset, chain, key0):
        width = self.system.dim**2 + 1
        item = width * width * 8
        steps = [self._steps(k, e, scale, offset) if not isinstance(e, Acquire) else None
                 for k, e in zip(range(start, len(els)), els[start:])]
        acq_keys = [("free", a.dwell_s, offset) for a in els[start:] if isinstance(a, Acquire)]
        counts = Counter([key for st in steps if st for key in st] + acq_keys)
        # a soft pulse whose steps occur once in this run and are not cached is
        # applied by the Taylor kernel: exponentiating its steps would cost more
        # than using them
        taylor = [
            width >= _TAYLOR_MIN_WIDTH and st is not None and isinstance(e, (Pulse, ShapedPulse))
            and not getattr(e, "hard", False) and len(st) >= _TAYLOR_MIN_STEPS
            and all(counts[key] == 1 and key not in self._cache for key in st)
            for e, st in zip(els[start:], steps)
        ]
        flat = [(k, key) for k, st, t in zip(range(start, len(els)), steps, taylor) if st and not t for key in st]
        missing = [key for key in dict.fromkeys([key for _, key in flat] + acq_keys) if key not in self._cache]
        budget = self._budget
        if (len(self._cache) + len(missing)) * item > budget:
            # keep the building blocks, drop propagators and prefix states
            self._cache = {k: v_ for k, v_ in self._cache.items() if k[0] in ("G_free", "S_rf")}
            self._prefix.clear()
        # a window of at most this many new propagators is built at a time;
        # with all of them within the budget, one window (built and cached up front)
        cap = len(missing) if len(missing) * item <= budget else max(1, min(int(budget // item),
                                                                          _EXPM_CHUNK_BYTES // item))

        def fail(bad: dict) -> None:
            for k, st in zip(range(start, len(els)), steps):
                e = els[k]
                own = st if st is not None else [("free", e.dwell_s, offset)]
                hit = [bad[key] for key in own if key in bad]
                if hit:
                    raise SimulationError(_non_finite(k, e, scale, offset, max(hit)))

        window: dict = {}
        if len(missing) <= cap:
            bad, window = self._build(missing)
            if bad:
                fail(bad)
        signals = []
        pos = 0
        for k, st, use_taylor in zip(range(start, len(els)), steps, taylor):
            e = els[k]
            if st is None:
                sig, v = self._acquire(k, e, v, offset, scale, window)
                signals.append((e, sig))
                continue
            if use_taylor:
                with np.errstate(over="ignore", invalid="ignore"):
                    v = self._pulse_taylor(k, e, v, scale, offset)
                self._store_prefix(chain, k, (scale, offset, key0, els[: k + 1]), v)
                continue
            for key in st:
                p = self._cache.get(key)
                if p is None:
                    p = window.get(key)
                if p is None:  # streaming: build the next window of new propagators
                    ahead = []
                    for _, kk in flat[pos:]:
                        if kk not in self._cache and kk not in ahead:
                            ahead.append(kk)
                            if len(ahead) >= cap:
                                break
                    window = {}
                    bad, window = self._build(ahead)
                    if bad:
                        fail(bad)
                    p = window[key]
                v = p @ v
                pos += 1
            self._store_prefix(chain, k, (scale, offset, key0, els[: k + 1]), v)
        return v, signals

    def _pulse_taylor(self, k: int, e, v: np.ndarray, scale: float, offset: float) -> np.ndarray:
        """A soft Pulse or ShapedPulse applied by the Taylor kernel on the
        sparse Pauli-basis generator (both engines; no propagator formed)."""
        tau = e.duration_s / e.steps
        if isinstance(e, Pulse):
            pat = self._sp_pattern((self._target(k, e),))
            amps = e.amplitudes_hz() * scale
            ph = np.deg2rad(e.phase_deg)
            coefs = np.column_stack([np.full(e.steps, tau), np.full(e.steps, tau * offset),
                                     tau * amps * np.cos(ph), tau * amps * np.sin(ph)])
        else:
            pat = self._sp_pattern(self._groups(e))
            xy = e.xy_hz().reshape(e.steps, -1) * (scale * tau)
            coefs = np.column_stack([np.full(e.steps, tau), np.full(e.steps, tau * offset), xy])
        return self._sp_taylor(k, e, pat, coefs, v, scale, offset)

    def _propagator(self, key: tuple, window: dict) -> np.ndarray:
        """A propagator from the cache or the run's window, built if neither holds it."""
        p = self._cache.get(key, window.get(key))
        if p is None:
            _, built = self._build([key])
            p = built[key]
        return p

    def _acquire(self, k: int, acq: Acquire, v: np.ndarray, offset: float, scale: float = 1.0,
                 window: dict | None = None):
        """Signals of ``acq`` from state vector v, and the state after it.

        The signal is linear in v: s_ch[n] = o_ch · Pⁿ v.  When the
        detection matrix (rows o_ch Pⁿ, n < points) of every channel fits in
        :data:`DETECTION_CACHE_BYTES`, it is built once by doubling
        (⌈log2 N⌉ products) and cached with P^N, and each acquisition is a
        matrix-vector product; otherwise the state is propagated point by
        point and only the observable is kept (no trajectory)."""
        channels = acq.channels or self.system.channels
        width = v.size
        fkey = ("free", acq.dwell_s, offset)
        if fkey not in self._cache and fkey not in (window or {}):
            bad, built = self._build([fkey])
            if bad:
                raise SimulationError(_non_finite(k, acq, scale, offset, bad[fkey]))
            window = dict(window or {})
            window[fkey] = built[fkey]
        key = ("det", acq.dwell_s, acq.points, offset, tuple(channels))
        rows = np.stack([np.concatenate([self._obs[ch].real, [0.0]]) for ch in channels]
                        + [np.concatenate([self._obs[ch].imag, [0.0]]) for ch in channels])  # (2c, width)
        c = len(channels)
        if key not in self._cache and acq.points * width * 8 * len(channels) <= DETECTION_CACHE_BYTES:
            p = self._propagator(fkey, window or {})
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
            sig = {ch: vals[:, i] + 1j * vals[:, c + i] for i, ch in enumerate(channels)}
            return sig, last @ v
        p = self._propagator(fkey, window or {})
        vals = np.empty((acq.points, rows.shape[0]))
        for n in range(acq.points):
            vals[n] = rows @ v
            v = p @ v
        sig = {ch: vals[:, i] + 1j * vals[:, c + i] for i, ch in enumerate(channels)}
        return sig, v

    # --------------------------------------------------------- sparse engine
    def _sp_terms(self, group: tuple) -> tuple:
        key = ("rf", group)
        if key not in self._sp:
            self._sp[key] = _sparse_rf_terms(self.system.n, group)
        return self._sp[key]

    def _sp_pattern(self, groups: tuple) -> LV.Pattern:
        """The pattern of [free generator, offset term, (Sx, Sy) per group]."""
        key = ("pattern", groups)
        pat = self._sp.get(key)
        if pat is None:
            if "free" not in self._sp:
                self._sp["free"] = _sparse_free_terms(self.system, self.relaxation)
            terms = list(self._sp["free"])
            for g in groups:
                terms += list(self._sp_terms(g))
            pat = LV.Pattern(4**self.system.n + 1, terms)
            have = sum(p.nbytes for k, p in self._sp.items() if isinstance(k, tuple) and k[0] == "pattern")
            if have + pat.nbytes > self._budget / 2:
                for k in [k for k in self._sp if isinstance(k, tuple) and k[0] == "pattern"]:
                    del self._sp[k]
            self._sp[key] = pat
        return pat

    def _sp_blocks(self, offset: float) -> LV.FreeBlocks:
        """The free-evolution blocks at an extra offset, kept for several
        offsets (an offset ensemble, a phase cycle) while their
        eigendecompositions fit in half of ``max_cache_mib``."""
        key = ("blocks", offset)
        blocks = self._sp.pop(key, None)
        if blocks is None:
            liouv, b = _sparse_liouvillian(self.system, self.relaxation, offset)
            blocks = LV.FreeBlocks(liouv, b, self.system.dim, self._budget / 2)
        self._sp[key] = blocks  # most recently used last
        held = [k for k in self._sp if isinstance(k, tuple) and k[0] == "blocks"]
        while len(held) > 1 and sum(self._sp[k].nbytes for k in held) > self._budget / 2:
            del self._sp[held.pop(0)]
        return blocks

    def _sp_free_norm(self, offset: float) -> float:
        pat = self._sp_pattern(())
        with np.errstate(over="ignore", invalid="ignore"):
            return float((pat.colabs[0] + abs(offset) * pat.colabs[1]).max())

    def _sp_taylor(self, k: int, e, pat: LV.Pattern, coefs: np.ndarray, v: np.ndarray, scale: float,
                   offset: float) -> np.ndarray:
        try:
            return _sparse_taylor(pat, coefs, v)
        except _StepTooLarge as exc:
            raise SimulationError(_non_finite(k, e, scale, offset, exc.norm)) from None

    def _sp_rho(self, v: np.ndarray) -> np.ndarray:
        return LV.pauli_to_rho(v[:-1], self.system.n)

    def _sp_vec(self, rho: np.ndarray) -> np.ndarray:
        rho = 0.5 * (rho + rho.conj().T)
        return np.concatenate([LV.rho_to_pauli(rho, self.system.n), [1.0]])

    def _sparse_member(self, els, start, v, scale, offset, chain, key0):
        signals = []
        for k in range(start, len(els)):
            e = els[k]
            if isinstance(e, Acquire):
                sig, v = self._sp_acquire(k, e, v, scale, offset)
                signals.append((e, sig))
                continue
            with np.errstate(over="ignore", invalid="ignore"):
                if isinstance(e, Pulse) and e.hard:
                    v = self._sp_hard(k, e, v, scale, offset)
                elif isinstance(e, (Pulse, ShapedPulse)):
                    v = self._pulse_taylor(k, e, v, scale, offset)
                elif isinstance(e, Delay):
                    norm = self._sp_free_norm(offset) * e.duration_s
                    if not norm <= MAX_STEP_NORM:
                        raise SimulationError(_non_finite(k, e, scale, offset, norm))
                    if norm <= _DELAY_TAYLOR_NORM:
                        v = self._sp_taylor(k, e, self._sp_pattern(()),
                                            np.array([[e.duration_s, e.duration_s * offset]]), v, scale, offset)
                    else:
                        rho = self._sp_blocks(offset).propagate(self._sp_rho(v).reshape(-1), e.duration_s)
                        v = self._sp_vec(rho.reshape(self.system.dim, -1))
                elif isinstance(e, Gradient):
                    rho = self._sp_rho(v) * gradient_mask(self.system, e.orders)
                    v = self._sp_vec(rho)
                else:  # pragma: no cover - Sequence admits only these elements
                    raise SimulationError(f"cannot propagate {e!r}")
            if not np.all(np.isfinite(v)):
                raise SimulationError(_non_finite(k, e, scale, offset, float("inf")))
            self._store_prefix(chain, k, (scale, offset, key0, els[: k + 1]), v)
        return v, signals

    def _sp_hard(self, k: int, e: Pulse, v: np.ndarray, scale: float, offset: float) -> np.ndarray:
        """An ideal rotation of the target spins, one 4×4 Pauli rotation per spin."""
        idx = self._target(k, e)
        with np.errstate(over="ignore", invalid="ignore"):
            flip = e.flip_deg * scale
            # the 1-norm of −iθ Σ_k (cos φ I_kx + sin φ I_ky), as the dense engine measures it
            norm = abs(np.deg2rad(flip)) * len(idx) / 2
        if not norm <= MAX_STEP_NORM:
            raise SimulationError(_non_finite(k, e, scale, offset, norm))
        ph = np.deg2rad(e.phase_deg)
        h1 = np.cos(ph) * LV._HALF["x"] + np.sin(ph) * LV._HALF["y"]
        u = scipy.linalg.expm(-1j * np.deg2rad(flip) * h1)
        if not np.all(np.isfinite(u)):
            raise SimulationError(_non_finite(k, e, scale, offset, norm))
        rot = LV.one_spin(np.kron(u, u.conj()))
        n = self.system.n
        t = v[:-1].reshape((4,) * n)
        for q in idx:
            t = np.moveaxis(np.tensordot(rot, t, axes=([1], [q])), 0, q)
        return np.concatenate([t.reshape(-1), [v[-1]]])

    def _sp_acquire(self, k: int, acq: Acquire, v: np.ndarray, scale: float, offset: float):
        """Signals and the state after ``acq`` from the free-evolution blocks:
        only the blocks the observables reach give the FID (sums of damped
        exponentials); the state is propagated once over the whole acquisition."""
        norm = self._sp_free_norm(offset) * acq.dwell_s
        if not norm <= MAX_STEP_NORM:
            raise SimulationError(_non_finite(k, acq, scale, offset, norm))
        channels = acq.channels or self.system.channels
        blocks = self._sp_blocks(offset)
        rho = self._sp_rho(v).reshape(-1)
        sig, rho = blocks.acquire(rho, {ch: self._obs_vec[ch] for ch in channels}, acq.dwell_s, acq.points)
        return sig, self._sp_vec(rho.reshape(self.system.dim, -1))


_THREADPOOL: list = []


def _blas_threads(single: bool):
    """A context limiting BLAS to one thread when ``single`` (from 3 spins;
    below, BLAS stays on one thread by itself and the context would only
    cost time): the engines' matrices are small (the dense engine's ≤ 1025 wide, the sparse engine's
    blocks ≤ :data:`pulses._liouville.LAZY_EIG_MAX`) and faster on one
    thread, and on a shared machine a second BLAS thread that waits for a
    core can make an eigendecomposition 10–100× slower.  The setting is
    restored on exit (threadpoolctl); without threadpoolctl it does nothing."""
    if not single:
        return contextlib.nullcontext()
    try:
        if not _THREADPOOL:
            from threadpoolctl import ThreadpoolController

            _THREADPOOL.append(ThreadpoolController())
        return _THREADPOOL[0].limit(limits=1, user_api="blas")
    except Exception:  # noqa: BLE001 - no threadpoolctl, or a BLAS it cannot drive: run as is
        return contextlib.nullcontext()


def _sparse_taylor(pat: LV.Pattern, coefs: np.ndarray, v: np.ndarray) -> np.ndarray:
    """:func:`pulses._liouville.taylor_steps` refusing a step beyond
    :data:`MAX_STEP_NORM` (raised as _StepTooLarge)."""
    norms = (np.abs(coefs) @ pat.colabs).max(axis=1) if coefs.shape[0] * pat.width <= 2**24 else None
    if norms is not None:
        bad = ~(norms <= MAX_STEP_NORM)
        if bad.any():
            i = int(np.argmax(bad))
            raise _StepTooLarge(i, float(norms[i]))
    else:
        for start in range(0, coefs.shape[0], 256):
            nm = (np.abs(coefs[start:start + 256]) @ pat.colabs).max(axis=1)
            bad = ~(nm <= MAX_STEP_NORM)
            if bad.any():
                i = int(np.argmax(bad))
                raise _StepTooLarge(start + i, float(nm[i]))
    return LV.taylor_steps(pat, coefs, v, _STEP_CHUNK_BYTES)


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
_OPTIONS = ("relaxation", "rf_scale", "offsets_hz", "initial", "max_cache_mib", "method")


def simulate(system: SpinSystem, sequence: Sequence, **options) -> SimulationResult:
    """Run ``sequence`` on ``system``; keyword options as for :class:`Simulator`
    (``relaxation``, ``rf_scale``, ``offsets_hz``, ``initial``,
    ``max_cache_mib``, ``method``; any other keyword is an error)."""
    V.known_keys(options, _OPTIONS, "simulate", SimulationError)
    return Simulator(system, **options).run(sequence)
