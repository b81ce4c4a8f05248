"""Quantum-battery charging of the dipolar Gibbs state, for one parameter
set (:func:`charge`) and over dense 2-D parameter grids (:func:`charging_map`).

The uncharged battery is the Gibbs state ζ = e^{−H/T}/Z of H_DP; a transverse
field H_ch = Ω (XI + IX) charges it, ρ(Ωt) = U ζ U† (DESIGN.md §1).  All
quantities are functions of τ = Ωt, so times are given as Ωt and the power is
per unit Ωt.  Definitions (DESIGN.md §2):

* ergotropy E(τ) = Tr[ρH] − Tr[π(ρ)H]; since ρ(τ) has ζ's spectrum and ζ is
  passive, Tr[π(ρ)H] = Tr[ζH] at every τ;
* work W(τ) = Tr[(ρ(τ) − ζ)H] (equal to E(τ) for the passive Gibbs start, so
  the efficiency W/E is 1 wherever E > 0);
* instantaneous power P = dE/dτ = Tr[−i[XI + IX, ρ(τ)] H], evaluated exactly
  (no finite differences);
* capacity Q = Σλ↓ε↓ − Σλ↓ε↑, constant under the unitary charging;
* l1 coherence of ρ(τ) in the computational basis;
* average power W/τ, evaluated as Σ_m Tr[F_m H]·(b_m(τ) − b_m(0))/τ with
  the τ-division done analytically (sin x / x forms), so it is finite and
  accurate at every τ; at τ = 0 it is 0, its limit (W = O(τ²) because the
  power vanishes at τ = 0 for a passive start);
* efficiency W/E: W ≡ E for the passive Gibbs start, so it is 1 where
  defined, and it is set to 1 (the continuous extension) where E is within
  the round-off bound β of 0 (where W/E is 0/0 up to round-off).

Round-off (stated, then enforced): ergotropy and work are ≥ 0 in exact
arithmetic; their computed values are within β = 2048·u·max_ij|H_ij|
(u = 2⁻⁵³, so β ≈ 2.3e-13·max|H_ij|) of the exact ones.  Derivation: the
Fourier coefficients F_m are sums of products A_j ζ A_k† with ‖A_j‖₂ ≤ 1 and
‖ζ‖₁ = 1, so Σ_ij |F_m,ij| ≤ 8 and each F_m carries an entrywise error
≤ γ_10·8; the five energies e_m = Tr[F_m H] add γ_17·8·max|H| each and the
trigonometric sum γ_5·Σ|e_m| — together ≤ 40·(γ_10 + γ_17 + γ_5)·max|H| ≈
1300·u·max|H|; the closed-form eigenpairs reproduce H to ‖H − V̂ε̂V̂†‖₂ ≤
~30·u·‖H‖₂ ≤ 120·u·max|H|, which bounds the passive-energy error.  Values in
[−β, 0) are returned as 0; a value below −β would mean overflow or an
inconsistent input and raises :class:`PhysicsError` (it cannot happen for
validated input; the tests check the bound against 60-digit references at
parameter scales 1e-3 … 1e150).  The capacity (from
:func:`nmrqb.measures.capacity` in traces, from the closed form in maps) is
clipped the same way.

Ranges: model parameters as :class:`~nmrqb.model.DipolarModel` (|p| ≤ 1e150),
T > 0 finite, |Ωt| ≤ 1e150.  Sizes: a trace keeps ~2 KiB per Ωt sample
(states and metrics), so at most 1,048,576 samples fit the 2 GiB a call may
use (:data:`nmrqb._checks.MEMORY_CAP`); a map keeps 160 bytes per grid point
plus a chunked working set; larger requests are refused before anything is
allocated, with the size they would need.

The kernels are in :mod:`nmrqb._charging`: ρ(τ) is a degree-4 trigonometric
polynomial in τ, so every Ωt is evaluated at once without a matrix
exponential.  This module validates, batches and chunks; it does no plotting.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from typing import NamedTuple

import numpy as np
import qutip

from nmrqb import _charging as K
from nmrqb import measures
from nmrqb._checks import check_memory, finite_grid, short_repr
from nmrqb.errors import PhysicsError
from nmrqb.model import DIMS, DipolarModel, check_temperature
from nmrqb.model import _gibbs_from_spectrum, _hamiltonian_batch, _spectrum_batch
from nmrqb.parallel import thread_map

__all__ = ["BatteryTrace", "Maximum", "charge", "ChargingMap", "charging_map", "MAP_PARAMETERS"]

#: Parameters a map axis (or a fixed value) may name.
MAP_PARAMETERS = ("B", "D", "G", "Delta", "epsilon", "T")

#: Threads for the map kernel (chunks are independent; numpy releases the GIL).
_WORKERS = min(4, os.cpu_count() or 1)

#: Round-off bound of ergotropy, work and capacity: β = _ROUNDOFF · max|H_ij|
#: (derivation in the module docstring).
_ROUNDOFF = 2048 * 2.0**-53

#: Memory per Ωt sample of a trace (states, temporaries and metrics).
_TRACE_BYTES = 2048

#: Memory per grid point of a map (results, flat parameter arrays, meshgrid).
_MAP_POINT_BYTES = 160

#: Memory per Ωt sample and worker of the smallest map chunk (one point).
_MAP_SAMPLE_BYTES = 256

#: Largest ``chunk_bytes`` of a map.
_MAX_CHUNK_BYTES = 2**28


#: Samples within this relative distance of the maximum count as reaching it,
#: so symmetric peaks (equal up to round-off) resolve to the first one.
_TIE = 1e-12


def _first_max(v: np.ndarray) -> np.ndarray:
    """Index, per row, of the first sample within _TIE·max(1, |max|) of the
    row maximum (argmax with round-off ties resolved to the earliest)."""
    top = v.max(axis=1, keepdims=True)
    near = v >= top - _TIE * np.maximum(1.0, np.abs(top))
    return np.argmax(near, axis=1)


class Maximum(NamedTuple):
    """A temporal maximum: its value and the Ωt where it is first reached
    (to 1e-12 relative, so round-off does not pick the later of two equal
    symmetric peaks)."""

    value: float
    omega_t: float


@dataclass(frozen=True)
class BatteryTrace:
    """Battery metrics along a charging trajectory ρ(Ωt) = U ζ U†.

    Attributes
    ----------
    model, T : the battery (DipolarModel) and its temperature.
    omega_t : ndarray (n,)  the Ωt values.
    rho : ndarray (n, 4, 4)  the charged states as arrays.
    ergotropy, work, power, capacity, coherence, average_power, efficiency :
        ndarray (n,) each; definitions in the module docstring.  ``capacity``
        is computed from each state (it must come out constant).
    """

    model: DipolarModel
    T: float
    omega_t: np.ndarray
    rho: np.ndarray
    ergotropy: np.ndarray
    work: np.ndarray
    power: np.ndarray
    capacity: np.ndarray
    coherence: np.ndarray
    average_power: np.ndarray
    efficiency: np.ndarray

    @cached_property
    def states(self) -> list[qutip.Qobj]:
        """The charged states, one ``qutip.Qobj`` (dims [[2, 2], [2, 2]]) per Ωt."""
        return [qutip.Qobj(r, dims=DIMS) for r in self.rho]

    def maximum(self, name: str) -> Maximum:
        """Temporal maximum of a metric over the sampled Ωt and where it is."""
        if not isinstance(name, str) or name not in ("ergotropy", "work", "power", "capacity", "coherence", "average_power"):
            raise PhysicsError(
                f"metric {short_repr(name)} is not allowed: use ergotropy, work, power, capacity, coherence or average_power"
            )
        v = getattr(self, name)
        k = int(_first_max(v[None, :])[0])
        return Maximum(float(v[k]), float(self.omega_t[k]))

    @property
    def maxima(self) -> dict[str, Maximum]:
        """Temporal maxima of ergotropy, work, power, capacity, coherence and
        average power (value and Ωt)."""
        return {n: self.maximum(n) for n in ("ergotropy", "work", "power", "capacity", "coherence", "average_power")}


def _hmax(B, D, G, Delta, epsilon):
    """max_ij |H_ij| of H_DP, exactly (broadcasts)."""
    a = np.abs(Delta) / 3
    return 2 * np.maximum(np.maximum(a + np.abs(B), np.hypot(epsilon, G)), np.hypot(a, D))


def _nonnegative(name: str, v: np.ndarray, beta, where: str) -> np.ndarray:
    """Clip values in [−β, 0) to 0 (round-off); raise below −β."""
    v = np.asarray(v, dtype=np.float64)
    beta = np.asarray(beta, dtype=np.float64)
    if not np.all(np.isfinite(v)):
        raise PhysicsError(f"{name} is not finite {where}: the parameters overflow the float64 range")
    low = v < -beta
    if np.any(low):
        k = np.flatnonzero(low.ravel())[0]
        b = np.broadcast_to(beta, v.shape).ravel()[k]
        raise PhysicsError(
            f"{name} = {v.ravel()[k]:.6g} {where} is below −{b:.3g}, its round-off bound: "
            "the input is inconsistent or overflowed"
        )
    return np.where(v < 0, 0.0, v) + 0.0


def _sinc(x: np.ndarray) -> np.ndarray:
    """sin x / x with the value 1 at x = 0 (finite for every finite x)."""
    nz = x != 0
    return np.where(nz, np.sin(x) / np.where(nz, x, 1.0), 1.0)


def _average_power_basis(tau: np.ndarray) -> np.ndarray:
    """(b_m(τ) − b_m(0))/τ for the basis of :func:`nmrqb._charging.basis`,
    shape (5, n), written without a division by τ that could lose accuracy
    or overflow: W(τ)/τ = Σ_m Tr[F_m H]·g_m(τ).  At τ = 0 these are the
    derivatives (the limit)."""
    t = np.asarray(tau, dtype=np.float64)
    s1, s2 = np.sin(t), np.sin(2 * t)
    return np.stack(
        [np.zeros_like(t), -2 * s1 * _sinc(t), 2 * _sinc(2 * t), -4 * s2 * _sinc(2 * t), 4 * _sinc(4 * t)]
    )


def charge(model: DipolarModel, T, omega_t) -> BatteryTrace:
    """Charge the Gibbs state of ``model`` at temperature ``T`` with the
    transverse field H_ch = Ω (XI + IX), evaluated at the given Ωt values.

    Parameters
    ----------
    model : DipolarModel
    T : float
        Temperature (> 0, model units).
    omega_t : array_like
        Ωt values (dimensionless; any order, any sign; |Ωt| ≤ 1e150; at most
        1,048,576 of them, ~2 KiB each).

    Returns
    -------
    BatteryTrace
        Every array is finite.  At Ωt = 0 the average power is 0 (its
        limit) and the efficiency 1 (its continuous extension); ergotropy,
        work and capacity are ≥ 0 (round-off within β clipped, see the
        module docstring).
    """
    if not isinstance(model, DipolarModel):
        raise PhysicsError(f"model must be a DipolarModel, got {type(model).__name__}")
    T = check_temperature(T)
    tau = finite_grid(
        "omega_t", omega_t, bytes_per_value=_TRACE_BYTES, what="charge() (the state and 10 metrics per sample)"
    )
    where = f"for {model} at T = {T!r}"
    zeta = model.gibbs_array(T)
    h = model.hamiltonian_array()
    beta = _ROUNDOFF * float(_hmax(model.B, model.D, model.G, model.Delta, model.epsilon))
    f = K.fourier_coefficients(zeta)
    e = K.energy_coefficients(f, h)
    energy = np.einsum("m,mt->t", e, K.basis(tau))
    e0 = float(np.trace(zeta @ h).real)
    work = _nonnegative("work", energy - e0, beta, where)
    # ζ's populations are the Boltzmann weights on the ascending closed-form
    # energies (non-increasing): the passive energy needs no eigensolver.
    vals, vecs = model.spectrum_array()
    _, w = _gibbs_from_spectrum(vals, vecs, T)
    passive, _ = K.passive_and_max_energy(w, vals)
    ergotropy = _nonnegative("ergotropy", energy - passive, beta, where)
    power = np.einsum("m,mt->t", e, K.basis_derivative(tau))
    rho = K.states(f, tau)
    rho = 0.5 * (rho + np.swapaxes(rho, -1, -2).conj())
    capacity = measures.capacity(rho, h)
    coherence = measures.l1_coherence(rho)
    average_power = np.where(tau != 0, np.einsum("m,mt->t", e, _average_power_basis(tau)), 0.0)
    zero = ergotropy <= beta
    efficiency = np.where(zero, 1.0, work / np.where(zero, 1.0, ergotropy))
    return BatteryTrace(
        model=model,
        T=T,
        omega_t=tau,
        rho=rho,
        ergotropy=ergotropy,
        work=work,
        power=power,
        capacity=capacity,
        coherence=coherence,
        average_power=average_power,
        efficiency=efficiency,
    )


# --------------------------------------------------------------------------
# maps
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class ChargingMap:
    """Temporal maxima of the battery metrics over a 2-D parameter grid.

    Arrays have shape (len(y_values), len(x_values)): rows follow y, columns
    follow x (the layout of an image with y vertical).

    Attributes
    ----------
    x_name, x_values, y_name, y_values : the grid axes.
    fixed : dict  the other parameters (B, D, G, Delta, epsilon, T).
    omega_t : ndarray  the Ωt samples the maxima are taken over.
    max_ergotropy, max_power, max_coherence, max_average_power :
        temporal maxima over the samples (average power W/Ωt, 0 at Ωt = 0,
        its limit, as in :func:`charge`).
    argmax_ergotropy, argmax_power, argmax_coherence, argmax_average_power :
        the Ωt where each maximum is first reached (the charging time is
        ``argmax_ergotropy``).
    capacity : the (time-independent) capacity.

    The work equals the ergotropy and the efficiency is 1 for the passive
    Gibbs start (module docstring), so they have no maps of their own.
    """

    x_name: str
    x_values: np.ndarray
    y_name: str
    y_values: np.ndarray
    fixed: dict
    omega_t: np.ndarray
    max_ergotropy: np.ndarray
    max_power: np.ndarray
    max_coherence: np.ndarray
    max_average_power: np.ndarray
    argmax_ergotropy: np.ndarray
    argmax_power: np.ndarray
    argmax_coherence: np.ndarray
    argmax_average_power: np.ndarray
    capacity: np.ndarray


def _axis(name: str, values, what: str) -> np.ndarray:
    if name == "T":
        return finite_grid(name, values, lower=0.0, strict=True, limit=None,
                           bytes_per_value=_MAP_POINT_BYTES, what=what)
    return finite_grid(name, values, bytes_per_value=_MAP_POINT_BYTES, what=what)


def map_metrics(params: dict[str, np.ndarray], tau: np.ndarray, chunk_bytes: int = 12 << 20) -> dict[str, np.ndarray]:
    """Temporal maxima (and where they occur) and capacity for flat
    parameter arrays.

    ``params`` maps each of B, D, G, Delta, epsilon, T to an array of the same
    length N (already validated).  The work is chunked over points so that the
    largest intermediate (the complex off-diagonal elements at every τ, 96
    bytes per point and time) stays below ``chunk_bytes`` per worker thread:
    memory is bounded independently of N.  Ergotropy and capacity are
    clipped to ≥ 0 within their round-off bound (module docstring).
    """
    n = len(params["B"])
    nt = tau.size
    chunk = max(1, int(chunk_bytes // (96 * nt)))
    b = K.basis(tau)
    db = K.basis_derivative(tau)
    ab = _average_power_basis(tau)
    at_zero = tau == 0
    names = ("ergotropy", "power", "coherence", "average_power")
    out = {f"{p}_{q}": np.empty(n) for p in ("max", "argmax") for q in names}
    out["capacity"] = np.empty(n)

    def work(s: int) -> None:
        sl = slice(s, min(n, s + chunk))
        p = [params[k][sl] for k in ("B", "D", "G", "Delta", "epsilon")]
        vals, vecs = _spectrum_batch(*p)
        zeta, w = _gibbs_from_spectrum(vals, vecs, params["T"][sl])
        f = K.fourier_coefficients(zeta)
        e = K.energy_coefficients(f, _hamiltonian_batch(*p))
        # Gibbs populations w are non-increasing along ascending energies: ζ
        # is passive, so the passive energy is Σ w ε and the top one Σ w ε↓.
        passive, top = K.passive_and_max_energy(w, vals)
        beta = _ROUNDOFF * _hmax(*p)
        out["capacity"][sl] = _nonnegative("capacity", top - passive, beta, "in the map")
        # einsum, not matmul: for these K = 5 products BLAS threading only
        # adds contention (measured 3-5x slower under load).
        ergotropy = np.einsum("nm,mt->nt", e, b) - passive[:, None]
        avg = np.einsum("nm,mt->nt", e, ab)
        avg[:, at_zero] = 0.0
        series = {
            "ergotropy": ergotropy,
            "power": np.einsum("nm,mt->nt", e, db),
            "coherence": K.l1_coherence(f, tau),
            "average_power": avg,
        }
        for q, v in series.items():
            out[f"max_{q}"][sl] = v.max(axis=1)
            out[f"argmax_{q}"][sl] = tau[_first_max(v)]
        out["max_ergotropy"][sl] = _nonnegative("max_ergotropy", out["max_ergotropy"][sl], beta, "in the map")

    # Chunks are independent and numpy releases the GIL in these kernels:
    # two worker threads use both cores (the working set is then 2 chunks).
    starts = range(0, n, chunk)
    thread_map(work, starts, workers=_WORKERS)
    return out


def charging_map(
    x_name: str,
    x_values,
    y_name: str,
    y_values,
    omega_t,
    *,
    B: float = 0.0,
    D: float = 0.0,
    G: float = 0.0,
    Delta: float = 0.0,
    epsilon: float = 0.0,
    T: float = 1.0,
    chunk_bytes: int = 12 << 20,
) -> ChargingMap:
    """Temporal maxima of ergotropy, power, l1 coherence and average power
    (with the Ωt where they occur), and the capacity, over a 2-D grid of any
    two of (B, D, G, Delta, epsilon, T).

    The parameters not on an axis take the keyword values.  Memory is bounded
    by ``chunk_bytes`` for the working set (default 12 MiB, cache-friendly;
    an int in [1, 2**28]), whatever the grid size; grid points and Ωt
    samples are batched together.

    Allowed input: axis names two different names of :data:`MAP_PARAMETERS`;
    axis values and the fixed values as :class:`~nmrqb.model.DipolarModel`
    (|p| ≤ 1e150; T finite and > 0); ``omega_t`` finite with |Ωt| ≤ 1e150
    and at least one Ωt ≠ 0 (the average power W/Ωt is undefined on a grid
    of zeros).  A request whose results (160 bytes per grid point) and
    working set (≥ 256 bytes per Ωt sample and worker) exceed 2 GiB is
    refused before anything is allocated.  Every returned number is finite.

    Examples
    --------
    >>> cm = charging_map("Delta", np.linspace(-5, 5, 201), "D", np.linspace(-5, 5, 201),
    ...                   np.linspace(0, np.pi, 512), epsilon=0.5, T=1.0)
    >>> cm.max_ergotropy.shape
    (201, 201)
    """
    for label, name in (("x_name", x_name), ("y_name", y_name)):
        if not isinstance(name, str) or name not in MAP_PARAMETERS:
            raise PhysicsError(
                f"map axis {short_repr(name)} ({label}) is not allowed: use one of {', '.join(MAP_PARAMETERS)}"
            )
    if x_name == y_name:
        raise PhysicsError(f"map axes must differ, got {x_name!r} twice")
    if isinstance(chunk_bytes, bool) or not isinstance(chunk_bytes, (int, np.integer)) or not (
        1 <= chunk_bytes <= _MAX_CHUNK_BYTES
    ):
        raise PhysicsError(
            f"chunk_bytes = {short_repr(chunk_bytes)} is not allowed: give an integer in [1, {_MAX_CHUNK_BYTES}]"
        )
    chunk_bytes = int(chunk_bytes)
    per_point = "the map (160 bytes of results per grid point)"
    xv = _axis(x_name, x_values, per_point)
    yv = _axis(y_name, y_values, per_point)
    tau = finite_grid(
        "omega_t", omega_t, bytes_per_value=_MAP_SAMPLE_BYTES * _WORKERS + 128,
        what=f"the map's working set ({_MAP_SAMPLE_BYTES} bytes per sample and worker at least)",
    )
    if not np.any(tau != 0):
        raise PhysicsError(
            f"omega_t = {short_repr(omega_t)} is not allowed: the average power W/Ωt needs at least one Ωt ≠ 0"
        )
    fixed = {"B": B, "D": D, "G": G, "Delta": Delta, "epsilon": epsilon, "T": T}
    DipolarModel(**{k: v for k, v in fixed.items() if k != "T"})  # validates the fixed values
    fixed["T"] = check_temperature(T)
    fixed = {k: float(v) for k, v in fixed.items()}
    npts = xv.size * yv.size
    need = (
        _MAP_POINT_BYTES * npts
        + _WORKERS * max(2 * chunk_bytes, _MAP_SAMPLE_BYTES * tau.size)
        + 128 * tau.size
    )
    check_memory(
        f"x_values × y_values ({x_name} × {y_name})", need,
        f"a {yv.size:,} × {xv.size:,} map with {tau.size:,} Ωt samples",
    )
    yy, xx = np.meshgrid(yv, xv, indexing="ij")
    flat = {k: np.full(xx.size, v) for k, v in fixed.items()}
    flat[x_name] = xx.ravel()
    flat[y_name] = yy.ravel()
    res = map_metrics(flat, tau, chunk_bytes)
    shape = (yv.size, xv.size)
    fixed_out = {k: v for k, v in fixed.items() if k not in (x_name, y_name)}
    return ChargingMap(
        x_name=x_name,
        x_values=xv,
        y_name=y_name,
        y_values=yv,
        fixed=fixed_out,
        omega_t=tau,
        **{k: v.reshape(shape) for k, v in res.items()},
    )
