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
* average power W/τ (0 at τ = 0, its limit) and efficiency W/E (NaN where
  E ≤ 1e-14·max(1, ||H||), where it is 0/0).

The kernels are in :mod:`nmrqb._charging`: ρ(τ) is a degree-4 trigonometric
polynomial in τ, so every Ωt is evaluated at once without a matrix
exponential.  This module validates, batches and chunks; it does no plotting.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property
from typing import NamedTuple

import numpy as np
import qutip

from nmrqb import _charging as K
from nmrqb import measures
from nmrqb._checks import finite_grid
from nmrqb.errors import PhysicsError
from nmrqb.model import DIMS, DipolarModel, check_temperature, gibbs_from_spectrum, hamiltonian_batch, spectrum_batch

__all__ = ["BatteryTrace", "Maximum", "charge", "ChargingMap", "charging_map", "MAP_PARAMETERS"]

#: Parameters a map axis (or a fixed value) may name.
MAP_PARAMETERS = ("B", "D", "G", "Delta", "epsilon", "T")

#: Threads for the map kernel (chunks are independent; numpy releases the GIL).
_WORKERS = min(4, os.cpu_count() or 1)

#: Relative scale below which the ergotropy counts as zero for the efficiency.
_ZERO_ERGOTROPY = 1e-14


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
        if name not in ("ergotropy", "work", "power", "capacity", "coherence", "average_power"):
            raise PhysicsError(
                f"metric {name!r} is not allowed: use ergotropy, work, power, capacity, coherence or average_power"
            )
        v = getattr(self, name)
        k = int(_first_max(v[None, :])[0])
        return Maximum(float(v[k]), float(self.omega_t[k]))

    @property
    def maxima(self) -> dict[str, Maximum]:
        """Temporal maxima of ergotropy, work, power, capacity, coherence and
        average power (value and Ωt)."""
        return {n: self.maximum(n) for n in ("ergotropy", "work", "power", "capacity", "coherence", "average_power")}


def charge(model: DipolarModel, T, omega_t) -> BatteryTrace:
    """Charge the Gibbs state of ``model`` at temperature ``T`` with the
    transverse field H_ch = Ω (XI + IX), evaluated at the given Ωt values.

    Parameters
    ----------
    model : DipolarModel
    T : float
        Temperature (> 0, model units).
    omega_t : array_like
        Ωt values (dimensionless; any order, any sign).

    Returns
    -------
    BatteryTrace
    """
    if not isinstance(model, DipolarModel):
        raise PhysicsError(f"model must be a DipolarModel, got {type(model).__name__}")
    T = check_temperature(T)
    tau = finite_grid("omega_t", omega_t)
    zeta = model.gibbs_array(T)
    h = model.hamiltonian_array()
    f = K.fourier_coefficients(zeta)
    e = K.energy_coefficients(f, h)
    energy = np.einsum("m,mt->t", e, K.basis(tau))
    e0 = float(np.trace(zeta @ h).real)
    work = energy - e0
    lam = np.linalg.eigvalsh(zeta)[::-1]
    passive, _ = K.passive_and_max_energy(lam, model.spectrum_array()[0])
    ergotropy = energy - passive
    power = np.einsum("m,mt->t", e, K.basis_derivative(tau))
    rho = K.states(f, tau)
    rho = 0.5 * (rho + np.swapaxes(rho, -1, -2).conj())
    capacity = measures.capacity(rho, h)
    coherence = measures.l1_coherence(rho)
    with np.errstate(divide="ignore", invalid="ignore"):
        average_power = np.where(tau != 0, work / np.where(tau != 0, tau, 1.0), 0.0)
        zero = np.abs(ergotropy) <= _ZERO_ERGOTROPY * max(1.0, float(np.abs(h).max()))
        efficiency = np.where(zero, np.nan, work / np.where(zero, 1.0, ergotropy))
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
        temporal maxima over the samples (average power W/Ωt over Ωt ≠ 0).
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


def _axis(name: str, values) -> np.ndarray:
    if name not in MAP_PARAMETERS:
        raise PhysicsError(f"map axis {name!r} is not allowed: use one of {', '.join(MAP_PARAMETERS)}")
    return finite_grid(name, values, lower=0.0 if name == "T" else None, strict=True)


def map_metrics(params: dict[str, np.ndarray], tau: np.ndarray, chunk_bytes: int = 12 << 20) -> dict[str, np.ndarray]:
    """Temporal maxima (and where they occur) and capacity for flat
    parameter arrays.

    ``params`` maps each of B, D, G, Delta, epsilon, T to an array of the same
    length N (already validated).  The work is chunked over points so that the
    largest intermediate (the complex off-diagonal elements at every τ, 96
    bytes per point and time) stays below ``chunk_bytes`` per worker thread:
    memory is bounded independently of N.
    """
    n = len(params["B"])
    nt = tau.size
    chunk = max(1, int(chunk_bytes // (96 * nt)))
    b = K.basis(tau)
    db = K.basis_derivative(tau)
    with np.errstate(divide="ignore"):
        inv_tau = np.where(tau != 0, 1.0 / np.where(tau != 0, tau, 1.0), -np.inf)
    names = ("ergotropy", "power", "coherence", "average_power")
    out = {f"{p}_{q}": np.empty(n) for p in ("max", "argmax") for q in names}
    out["capacity"] = np.empty(n)
    def work(s: int) -> None:
        sl = slice(s, min(n, s + chunk))
        p = [params[k][sl] for k in ("B", "D", "G", "Delta", "epsilon")]
        vals, vecs = spectrum_batch(*p)
        zeta, w = gibbs_from_spectrum(vals, vecs, params["T"][sl])
        f = K.fourier_coefficients(zeta)
        e = K.energy_coefficients(f, hamiltonian_batch(*p))
        # Gibbs populations w are non-increasing along ascending energies: ζ
        # is passive, so the passive energy is Σ w ε and the top one Σ w ε↓.
        passive, top = K.passive_and_max_energy(w, vals)
        out["capacity"][sl] = top - passive
        # einsum, not matmul: for these K = 5 products BLAS threading only
        # adds contention (measured 3-5x slower under load).
        ergotropy = np.einsum("nm,mt->nt", e, b) - passive[:, None]
        with np.errstate(invalid="ignore"):
            avg = np.where(np.isfinite(inv_tau), ergotropy * inv_tau, -np.inf)
        series = {
            "ergotropy": ergotropy,
            "power": np.einsum("nm,mt->nt", e, db),
            "coherence": K.l1_coherence(f, tau),
            "average_power": avg,
        }
        for q, v in series.items():
            out[f"max_{q}"][sl] = v.max(axis=1)
            out[f"argmax_{q}"][sl] = tau[_first_max(v)]

    # Chunks are independent and numpy releases the GIL in these kernels:
    # two worker threads use both cores (the working set is then 2 chunks).
    starts = range(0, n, chunk)
    if len(starts) > 1 and _WORKERS > 1:
        with ThreadPoolExecutor(_WORKERS) as pool:
            list(pool.map(work, starts))
    else:
        for s in starts:
            work(s)
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
    by ``chunk_bytes`` for the working set (default 12 MiB, cache-friendly), whatever the grid
    size; grid points and Ωt samples are batched together.

    Examples
    --------
    >>> cm = charging_map("Delta", np.linspace(-5, 5, 201), "D", np.linspace(-5, 5, 201),
    ...                   np.linspace(0, np.pi, 512), epsilon=0.5, T=1.0)
    >>> cm.max_ergotropy.shape
    (201, 201)
    """
    if x_name == y_name:
        raise PhysicsError(f"map axes must differ, got {x_name!r} twice")
    xv = _axis(x_name, x_values)
    yv = _axis(y_name, y_values)
    tau = finite_grid("omega_t", omega_t)
    fixed = {"B": B, "D": D, "G": G, "Delta": Delta, "epsilon": epsilon, "T": T}
    DipolarModel(**{k: v for k, v in fixed.items() if k != "T"})  # validates the fixed values
    check_temperature(T)
    if not (isinstance(chunk_bytes, int) and chunk_bytes > 0):
        raise PhysicsError(f"chunk_bytes = {chunk_bytes!r} is not allowed: give a positive integer")
    yy, xx = np.meshgrid(yv, xv, indexing="ij")
    flat = {k: np.full(xx.size, float(v)) for k, v in fixed.items()}
    flat[x_name] = xx.ravel()
    flat[y_name] = yy.ravel()
    res = map_metrics(flat, tau, chunk_bytes)
    shape = (yv.size, xv.size)
    fixed_out = {k: float(v) for k, v in fixed.items() if k not in (x_name, y_name)}
    return ChargingMap(
        x_name=x_name,
        x_values=xv,
        y_name=y_name,
        y_values=yv,
        fixed=fixed_out,
        omega_t=tau,
        **{k: v.reshape(shape) for k, v in res.items()},
    )
