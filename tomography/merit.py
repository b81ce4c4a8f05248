"""Figures of merit between density matrices: Uhlmann fidelity, trace
distance and purity, for single states or batches.

Inputs are ``qutip.Qobj`` (operators or kets), lists of them, (d,) kets or
(..., d, d) arrays; batches broadcast against each other.  States are
validated, never repaired, by the package's one validator
(:func:`tomography.pauli.check_states`): Hermitian within ``atol`` and unit
trace within ``atol``; :func:`fidelity` also needs positivity (smallest
eigenvalue ≥ −atol), while :func:`trace_distance` and :func:`purity`
accept the non-positive output of a linear estimator.  Violations raise
:class:`~tomography.errors.StateError`; an ``atol`` outside [0, 0.1] or
batches that do not broadcast raise :class:`~tomography.errors.DataError`.
No dependency on ``nmrqb``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tomography._blas import single_threaded
from tomography._checks import require_memory, show
from tomography.errors import DataError, StateError
from tomography.pauli import STATE_ATOL, check_states

__all__ = ["STATE_ATOL", "ATOL_MAX", "fidelity", "trace_distance", "purity"]

#: Largest tolerance accepted: beyond it the inputs are not states at all.
ATOL_MAX = 0.1


def _checked(x: Any, name: str, atol: float, positive: bool) -> tuple[np.ndarray, bool]:
    if (isinstance(atol, (bool, np.bool_)) or not isinstance(atol, (int, float, np.integer, np.floating))
            or not 0 <= atol <= ATOL_MAX):
        raise DataError(f"atol = {show(atol)} is not allowed: a number from 0 to {ATOL_MAX:g} is required")
    return check_states(x, name, atol=float(atol), positive=positive)


def _pair(a: np.ndarray, b: np.ndarray) -> tuple[int, ...]:
    if a.shape[-1] != b.shape[-1]:
        raise StateError(f"rho is {a.shape[-1]}-dimensional and sigma {b.shape[-1]}-dimensional: they must match")
    try:
        batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    except ValueError:
        raise DataError(
            f"rho (batch shape {a.shape[:-2]}) and sigma (batch shape {b.shape[:-2]}) do not broadcast"
        ) from None
    require_memory(float(np.prod(batch, dtype=float)) * a.shape[-1] ** 2 * 16 * 6, f"a batch of shape {batch}")
    return batch


def _out(v: np.ndarray, single: bool, what: str):
    if not np.all(np.isfinite(v)):  # cannot happen for validated states; never hand out NaN
        raise StateError(f"{what} is not finite for these inputs")
    return float(v) if single else v


@single_threaded
def fidelity(rho: Any, sigma: Any, *, atol: float = STATE_ATOL) -> float | np.ndarray:
    """Uhlmann fidelity F = (Tr √(√ρ σ √ρ))², in [0, 1].

    Squared convention (F = |<ψ|φ>|² for pure states; F = <ψ|σ|ψ> when ρ is
    pure).  Computed from eigendecompositions, so rank-deficient states are
    exact (negative round-off eigenvalues are clipped).

    Parameters
    ----------
    rho, sigma : Qobj, ket, (d, d) or (..., d, d) arrays (broadcast)
    atol : float
        Tolerance of the state checks, 0 ≤ atol ≤ 0.1 (default 1e-8).

    Returns
    -------
    float for two single states, else an array of the broadcast batch shape.
    """
    a, sa = _checked(rho, "rho", atol, True)
    b, sb = _checked(sigma, "sigma", atol, True)
    _pair(a, b)
    lam, vec = np.linalg.eigh(a)
    root = (vec * np.sqrt(np.clip(lam, 0, None))[..., None, :]) @ np.swapaxes(vec, -1, -2).conj()
    m = root @ b @ root
    m = (m + np.swapaxes(m, -1, -2).conj()) / 2
    ev = np.clip(np.linalg.eigvalsh(m), 0, None)
    f = np.clip(np.sqrt(ev).sum(axis=-1) ** 2, 0.0, 1.0)
    return _out(f, sa and sb, "fidelity")


@single_threaded
def trace_distance(rho: Any, sigma: Any, *, atol: float = STATE_ATOL) -> float | np.ndarray:
    """Trace distance T = ½‖ρ − σ‖₁ = ½ Σ|eig(ρ − σ)|, in [0, 1] for states.

    Positivity is not required (linear-inversion output is accepted).
    """
    a, sa = _checked(rho, "rho", atol, False)
    b, sb = _checked(sigma, "sigma", atol, False)
    _pair(a, b)
    t = 0.5 * np.abs(np.linalg.eigvalsh(a - b)).sum(axis=-1)
    return _out(t, sa and sb, "trace_distance")


@single_threaded
def purity(rho: Any, *, atol: float = STATE_ATOL) -> float | np.ndarray:
    """Purity Tr ρ² (1/d … 1 for states; positivity not required)."""
    a, single = _checked(rho, "rho", atol, False)
    p = np.einsum("...ij,...ji->...", a, a).real
    return _out(p, single, "purity")
