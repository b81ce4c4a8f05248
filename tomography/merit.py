"""Figures of merit between density matrices: Uhlmann fidelity, trace
distance and purity, for single states or batches.

Inputs are ``qutip.Qobj`` (operators or kets), lists of them, (d,) kets or
(..., d, d) arrays; batches broadcast against each other.  States are
validated, never repaired: Hermitian within ``atol`` and unit trace within
``atol``; :func:`fidelity` also needs positivity (smallest eigenvalue ≥
−atol), while :func:`trace_distance` and :func:`purity` accept the
non-positive output of a linear estimator.  Violations raise
:class:`~tomography.errors.StateError`.  No dependency on ``nmrqb``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tomography._blas import single_threaded
from tomography.errors import StateError
from tomography.pauli import as_matrices

__all__ = ["STATE_ATOL", "fidelity", "trace_distance", "purity"]

#: Default tolerance for Hermiticity, unit trace and positivity.
STATE_ATOL = 1e-8


def _checked(x: Any, name: str, atol: float, positive: bool) -> tuple[np.ndarray, bool]:
    if not (isinstance(atol, (int, float)) and np.isfinite(atol) and atol >= 0):
        raise StateError(f"atol = {atol!r} is not allowed: a finite number ≥ 0 is required")
    a, single = as_matrices(x, name)
    herm = np.abs(a - np.swapaxes(a, -1, -2).conj()).max(axis=(-1, -2))
    if np.any(herm > atol):
        raise StateError(f"{name} is not Hermitian: max|ρ − ρ†| = {herm.max():.3g}, allowed ≤ {atol:g}")
    tr = np.trace(a, axis1=-2, axis2=-1).real
    if np.any(np.abs(tr - 1) > atol):
        bad = tr.reshape(-1)[np.argmax(np.abs(tr - 1).reshape(-1))]
        raise StateError(f"{name} does not have unit trace: Tr = {bad:.6g}, allowed |Tr − 1| ≤ {atol:g}")
    a = (a + np.swapaxes(a, -1, -2).conj()) / 2
    if positive:
        low = np.linalg.eigvalsh(a)[..., 0]
        if np.any(low < -atol):
            raise StateError(
                f"{name} is not positive semidefinite: smallest eigenvalue {low.min():.3g}, allowed ≥ {-atol:g}"
            )
    return a, single


def _out(v: np.ndarray, single: bool):
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
        Tolerance of the state checks.

    Returns
    -------
    float for two single states, else an array of the broadcast batch shape.
    """
    a, sa = _checked(rho, "rho", atol, True)
    b, sb = _checked(sigma, "sigma", atol, True)
    if a.shape[-1] != b.shape[-1]:
        raise StateError(f"rho is {a.shape[-1]}-dimensional and sigma {b.shape[-1]}-dimensional: they must match")
    lam, vec = np.linalg.eigh(a)
    root = (vec * np.sqrt(np.clip(lam, 0, None))[..., None, :]) @ np.swapaxes(vec, -1, -2).conj()
    m = root @ b @ root
    m = (m + np.swapaxes(m, -1, -2).conj()) / 2
    ev = np.clip(np.linalg.eigvalsh(m), 0, None)
    f = np.clip(np.sqrt(ev).sum(axis=-1) ** 2, 0.0, 1.0)
    return _out(f, sa and sb)


@single_threaded
def trace_distance(rho: Any, sigma: Any, *, atol: float = STATE_ATOL) -> float | np.ndarray:
    """Trace distance T = ½‖ρ − σ‖₁ = ½ Σ|eig(ρ − σ)|, in [0, 1] for states.

    Positivity is not required (linear-inversion output is accepted).
    """
    a, sa = _checked(rho, "rho", atol, False)
    b, sb = _checked(sigma, "sigma", atol, False)
    if a.shape[-1] != b.shape[-1]:
        raise StateError(f"rho is {a.shape[-1]}-dimensional and sigma {b.shape[-1]}-dimensional: they must match")
    t = 0.5 * np.abs(np.linalg.eigvalsh(a - b)).sum(axis=-1)
    return _out(t, sa and sb)


@single_threaded
def purity(rho: Any, *, atol: float = STATE_ATOL) -> float | np.ndarray:
    """Purity Tr ρ² (1/d … 1 for states; positivity not required)."""
    a, single = _checked(rho, "rho", atol, False)
    p = np.einsum("...ij,...ji->...", a, a).real
    return _out(p, single)
