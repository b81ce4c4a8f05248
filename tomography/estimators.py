"""Density-matrix estimators: pure functions of (measurement model, line
amplitudes, noise levels) returning a state with its diagnostics.

* :func:`linear_inversion` — ordinary least squares, c = A⁺(a − b);
* :func:`weighted_least_squares` — χ² = Σ (a − b − Ac)²/σ² minimised
  without constraints, c = (AᵀWA)⁻¹AᵀW(a − b);
* :func:`projected_least_squares` — the least-squares estimate (weighted
  when σ varies per line), then its eigenvalues projected onto the
  probability simplex (Smolin, Gambetta & Smith, PRL 108, 070502 (2012));
* :func:`maximum_likelihood` — the Gaussian-noise maximum-likelihood state:
  χ² minimised over positive unit-trace ρ by an accelerated projected
  gradient, stopped on a *certified* bound ‖ρ − ρ_ML‖_F ≤ tol;
* :func:`deviation_estimate` — NMR deviation data ρ = (1−α)I/d + α ρ_t:
  the traceless deviation, α (given or estimated) and the α-normalised state.

Every estimator also takes a :class:`~tomography.counts.CountData` in place
of (model, amplitudes, sigma): projective Pauli counts as outcome
probabilities with their hedged multinomial σ.  Count models of six or more
qubits never form AᵀWA (:class:`_CountNormal`: fast products, conjugate
gradients, Lanczos/LOBPCG eigenvalue bounds for the MLE certificate).

The linear estimators return a Hermitian unit-trace matrix that need not be
positive (its smallest eigenvalue is reported); the physical ones always
return a density matrix.  Every number in an estimate is finite and every
estimate has unit trace: amplitudes so far from every state's that the
linear coefficients lose the trace to round-off (|ĉ| ≳ 1e7) or χ² leaves
the float64 range raise :class:`~tomography.errors.DataError`, as do
amplitudes beyond |a| ≤ 1e60 and noise levels outside [1e-60, 1e60].  An
informationally incomplete model is refused
(:class:`~tomography.errors.ModelError` naming the undetermined
coefficients) unless ``allow_incomplete=True``; then the undetermined
directions are set by the minimum-norm solution (linear, PLS) or by the
positivity constraint (MLE), and the estimate lists them.  Nothing here
prints, draws random numbers or imports ``nmrqb``.  The public functions run
with OpenBLAS limited to one thread (:mod:`tomography._blas`; restored on
return): their matrices are small, and threads only cost there.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import qutip
import scipy.linalg

from tomography._blas import single_threaded
import scipy.sparse.linalg

from tomography._checks import (
    VALUE_MAX,
    VALUE_MIN,
    check_bool,
    check_int,
    check_range,
    numeric_array,
    require_memory,
    show,
)
from tomography.counts import CountData, _CountStructure, _structure
from tomography.errors import ConvergenceError, DataError, ModelError, StateError
from tomography.model import SIGMA_MAX, SIGMA_MIN, MeasurementModel, _as_sigma
from tomography.pauli import (
    _DENSE_MAX,
    STATE_ATOL,
    _dense_basis,
    _project_matrices,
    check_states,
    coefficients_to_matrix,
    full_to_matrix,
    matrix_to_coefficients,
    pauli_index,
    pauli_labels,
    _project_simplex,
    to_qobj,
)

__all__ = [
    "Estimate",
    "DeviationEstimate",
    "METHODS",
    "MLE_TOL",
    "linear_inversion",
    "weighted_least_squares",
    "projected_least_squares",
    "maximum_likelihood",
    "estimate",
    "deviation_estimate",
]

#: Estimator names accepted by :func:`estimate`, the bootstrap and the deviation estimate.
METHODS = ("linear", "wls", "pls", "mle")

#: Default certified tolerance of :func:`maximum_likelihood` on ‖ρ − ρ_ML‖_F.
MLE_TOL = 1e-9

#: The MLE loop gives up when its certificate has not halved over this many
#: iterations (a round-off floor above the requested tolerance).
_STALL_WINDOW = 500

#: Covariance matrices are attached to estimates up to this many coefficients.
_COV_MAX = 1023

#: Largest ``max_iterations`` of :func:`maximum_likelihood` (the loop also
#: stops itself when its certificate stalls).
MAX_ITERATIONS = 1_000_000

#: Options each estimator takes besides (model, amplitudes, sigma).
_OPTIONS = {
    "linear": ("allow_incomplete",),
    "wls": ("allow_incomplete",),
    "pls": ("allow_incomplete",),
    "mle": ("allow_incomplete", "tol", "max_iterations", "initial"),
}


@dataclass(frozen=True, eq=False)
class Estimate:
    """A reconstructed state and how it was obtained.

    Attributes
    ----------
    state : qutip.Qobj
        ρ̂, dims [[2]*n, [2]*n]; Hermitian with unit trace, positive for the
        physical estimators.
    coefficients : ndarray (4**n − 1,)
        Its Pauli coefficients c_P = Tr[ρ̂P] (:attr:`pauli_labels` order).
    method : str
        ``"linear"``, ``"wls"``, ``"pls"`` or ``"mle"``.
    chi2 : float or None
        Σ (a − b − Aĉ)²/σ² (None when no σ was given).
    dof : int
        n_lines − rank(A).
    residual_norm : float
        ‖a − b − Aĉ‖₂, unweighted.
    standard_errors : ndarray (4**n − 1,) or None
        Exact standard errors of ĉ for the linear estimators (the Fisher
        information bound for ``"wls"``; the sandwich A⁺ΣA⁺ᵀ for
        ``"linear"``, equal to it when σ is uniform); None for the physical
        estimators (use :func:`tomography.bootstrap`).
    covariance : ndarray (m, m) or None
        The covariance behind ``standard_errors`` (attached up to m = 1023).
    min_eigenvalue : float
        Smallest eigenvalue of ρ̂ (negative: the linear estimate is not a state).
    iterations, converged, tolerance : int, bool, float or None
        Iterative estimators: iterations used, whether the certified bound
        reached ``tolerance``.
    distance_bound : float or None
        MLE: certified upper bound on ‖ρ̂ − ρ_ML‖_F (Frobenius).
    gap : float or None
        MLE: certified upper bound on χ²(ρ̂) − min χ² (Frank–Wolfe gap).
    undetermined : tuple of str
        The model's undetermined coefficients (empty when complete).
    condition_number : float
        Of A (unweighted).
    """

    state: qutip.Qobj
    coefficients: np.ndarray
    method: str
    chi2: float | None
    dof: int
    residual_norm: float
    standard_errors: np.ndarray | None
    covariance: np.ndarray | None
    min_eigenvalue: float
    iterations: int = 0
    converged: bool = True
    tolerance: float | None = None
    distance_bound: float | None = None
    gap: float | None = None
    undetermined: tuple[str, ...] = ()
    condition_number: float = float("nan")

    @property
    def matrix(self) -> np.ndarray:
        """ρ̂ as a complex128 (d, d) array."""
        return self.state.full()

    @property
    def n_qubits(self) -> int:
        return len(self.state.dims[0])

    @property
    def pauli_labels(self) -> tuple[str, ...]:
        return pauli_labels(self.n_qubits)

    def coefficient(self, label: str) -> float:
        """ĉ_P for Pauli string ``label`` (e.g. ``"ZZ"``)."""
        return float(self.coefficients[self._index(label)])

    def _index(self, label: Any) -> int:
        if not isinstance(label, str) or len(label) != self.n_qubits:
            raise DataError(
                f"label = {show(label)} is not allowed: a Pauli string of {self.n_qubits} letters is required"
            )
        return pauli_index(label)

    def standard_error(self, label: str) -> float:
        """Standard error of ĉ_P (linear estimators only)."""
        if self.standard_errors is None:
            raise DataError(f"method {self.method!r} has no analytic standard errors: use tomography.bootstrap")
        return float(self.standard_errors[self._index(label)])


@dataclass(frozen=True, eq=False)
class DeviationEstimate:
    """Reconstruction of NMR deviation data ρ = (1 − α)I/d + α ρ_t.

    Attributes
    ----------
    deviation : qutip.Qobj
        The traceless deviation Δ = ρ − I/d = Σ c_P P/d, from the linear
        estimate (weighted when σ is given per line).
    deviation_coefficients, deviation_standard_errors : ndarray (m,)
    alpha : float
        The scale used to normalise (given, or estimated).
    alpha_method : str
        ``"given"``, ``"min_positive"`` or ``"pure"``.
    normalised : Estimate
        The estimate of ρ_t = I/d + Δ/α from the rescaled data
        (a' = b + (a − b)/α, σ' = σ/α) with the requested method.
    """

    deviation: qutip.Qobj
    deviation_coefficients: np.ndarray
    deviation_standard_errors: np.ndarray
    alpha: float
    alpha_method: str
    normalised: Estimate

    @property
    def state(self) -> qutip.Qobj:
        """The α-normalised state ρ̂_t."""
        return self.normalised.state


# --------------------------------------------------------------------------
# inputs
# --------------------------------------------------------------------------
def _check_model(model: Any) -> MeasurementModel:
    if not isinstance(model, MeasurementModel):
        raise ModelError(
            f"model must be a tomography.MeasurementModel (or tomography.CountData), got {type(model).__name__}"
        )
    return model


def _inputs(model: Any, amplitudes: Any, sigma: Any, where: str) -> tuple[MeasurementModel, Any, Any]:
    """(model, amplitudes, sigma): given, or taken from a :class:`~tomography.CountData`."""
    if isinstance(model, CountData):
        if amplitudes is not None or sigma is not None:
            raise DataError(
                f"{where}: amplitudes and sigma come from the count data (frequencies and hedged multinomial σ); "
                "give them only with a MeasurementModel (pass method and options by keyword)"
            )
        return model.model, model.frequencies, model.sigma
    return _check_model(model), amplitudes, sigma


def _data(model: MeasurementModel, amplitudes: Any) -> np.ndarray:
    """Amplitudes minus the offset: one data set, float64 (n_lines,), |a| ≤ 1e60."""
    try:
        cplx = np.iscomplexobj(amplitudes)
    except Exception:  # ragged or hostile: numeric_array names it below
        cplx = False
    if cplx:
        raise DataError(
            "amplitudes are complex: give one real amplitude per line (split a complex line amplitude "
            "into its x and y quadrature lines, as the NMR presets do)"
        )
    a = numeric_array(amplitudes, "amplitudes")
    if a.ndim not in (1, 2) or a.shape[-1] != model.n_lines:
        raise DataError(
            f"amplitudes have shape {a.shape}: ({model.n_lines},), one value per line of model {show(model.name)}, "
            "is required"
        )
    if a.ndim != 1:
        raise DataError(f"amplitudes have shape {a.shape}: one data set ({model.n_lines},) is required")
    bad = ~np.isfinite(a)
    if bad.any():
        k = np.argwhere(bad)[0]
        raise DataError(f"amplitudes[{', '.join(map(str, k))}] = {float(a[tuple(k)])!r} is not allowed: values must be finite")
    check_range(a, "amplitudes", what="amplitudes (model units: a fully polarised line is 1)")
    return a - model.offset


def _require_complete(model: MeasurementModel, allow_incomplete: Any, what: str) -> None:
    allow_incomplete = check_bool(allow_incomplete, "allow_incomplete")
    if not model.is_complete and not allow_incomplete:
        raise ModelError(
            f"model {show(model.name)} is informationally incomplete (rank {model.rank} of {model.n_coefficients}); "
            f"undetermined Pauli coefficients: {', '.join(model.undetermined)}. {what} would fix them arbitrarily: "
            "add readouts, or pass allow_incomplete=True to accept the minimum-norm choice"
        )


# --------------------------------------------------------------------------
# linear algebra on the model
# --------------------------------------------------------------------------
class _Normal:
    """The normal equations AᵀWA c = AᵀW y for fixed weights w = 1/σ².

    Use :func:`_normal`: uniform weights reuse the model's cached unit-weight
    factorisation (AᵀWA = w₀AᵀA), so repeated calls on one model cost no
    new factorisation.
    """

    def __init__(self, model: MeasurementModel, w: np.ndarray, scale: float = 1.0, unit: _Normal | None = None):
        self.model = model
        self.w = w
        self.diag = model.is_diagonal
        if unit is not None:  # w = scale · 1: share the unit factorisation
            self.k = scale
            self.g0 = unit.g0
            self.inv0 = unit.inv0
            self.chol = unit.chol
            self.pinv0 = unit.pinv0
            self.evals0 = unit.evals0
            self.unit = unit
        else:
            self.k = 1.0
            self.unit = self
            if not self.diag:
                m = model.n_coefficients
                require_memory(3 * m * m * 8, f"model {show(model.name)}: the normal matrix AᵀWA of a "
                               f"{model.n_qubits}-qubit model whose columns share lines ({m}×{m})", ModelError)
            g = model._gram(w)
            self.g0 = g
            self.chol = self.pinv0 = self.inv0 = None
            self.evals0 = None
            try:
                if self.diag:
                    self.inv0 = np.where(g > 0, 1.0 / np.where(g > 0, g, 1.0), 0.0)
                    self.evals0 = g
                elif model.is_complete:
                    self.chol = scipy.linalg.cho_factor(g)
                else:
                    ev, vec = np.linalg.eigh(g)
                    keep = ev > 1e-10 * ev.max()
                    self.pinv0 = (vec[:, keep] / ev[keep]) @ vec[:, keep].T
                    self.evals0 = np.where(keep, ev, 0.0)
            except (np.linalg.LinAlgError, ValueError):
                # ValueError: scipy's "array must not contain infs or NaNs"
                w_lo, w_hi = float(np.min(w)), float(np.max(w))
                raise DataError(
                    f"sigma: the weighted normal matrix AᵀWA of model {show(model.name)} is numerically singular for "
                    f"these noise levels (weights 1/σ² from {w_lo:.3g} to {w_hi:.3g}): the lines that carry the "
                    "weight do not determine the state; give σ values of comparable size"
                ) from None

    @property
    def g(self) -> np.ndarray:
        """AᵀWA: (m,) when diagonal, else (m, m)."""
        return self.g0 * self.k

    def solve(self, rhs: np.ndarray) -> np.ndarray:
        """(AᵀWA)⁺ rhs for (..., m)."""
        if self.diag:
            out = rhs * self.inv0
        elif self.chol is not None:
            out = scipy.linalg.cho_solve(self.chol, rhs.T).T
        else:
            out = rhs @ self.pinv0
        return out / self.k

    def inverse(self) -> np.ndarray:
        """(AᵀWA)⁺: (m,) diagonal or (m, m)."""
        if self.diag:
            return self.inv0 / self.k
        if self.chol is not None:
            return scipy.linalg.cho_solve(self.chol, np.eye(self.g0.shape[0])) / self.k
        return self.pinv0 / self.k

    def eig_range(self) -> tuple[float, float]:
        """(λ_min, λ_max) of AᵀWA (λ_min = 0 when incomplete)."""
        u = self.unit
        if u.evals0 is None:
            u.evals0 = np.linalg.eigvalsh(u.g0)
        ev = u.evals0
        lo = float(ev.min()) if self.model.is_complete else 0.0
        return max(lo, 0.0) * self.k, float(ev.max()) * self.k


#: Count models of at least this many qubits solve their normal equations
#: with the fast count products (never forming AᵀWA); smaller ones are dense.
_COUNT_OPERATOR_QUBITS = 6

#: Iteration cap of the conjugate gradients on count models (they stop at
#: round-off long before: a few hundred iterations at seven qubits).
_CG_MAX_ITERATIONS = 20_000


def _normal(model: MeasurementModel, s: np.ndarray | None) -> _Normal | _CountNormal:
    """Normal equations for noise levels s (None: unit weights)."""
    struct = _structure(model)
    if struct is not None and model.n_qubits >= _COUNT_OPERATOR_QUBITS:
        return _CountNormal(model, struct, np.ones(model.n_lines) if s is None else 1.0 / s**2)
    unit = model.__dict__.get("_unit_normal")
    if unit is None:
        unit = _Normal(model, np.ones(model.n_lines))
        object.__setattr__(model, "_unit_normal", unit)
    if s is None:
        return unit
    if np.all(s == s[0]):
        w0 = 1.0 / s[0] ** 2
        return _Normal(model, np.full(model.n_lines, w0), w0, unit)
    return _Normal(model, 1.0 / s**2)


class _CountHessian:
    """AᵀWA of a count model as an operator: ``H @ c`` for (m,) or (B, m)."""

    ndim = 2

    def __init__(self, normal: _CountNormal):
        self.normal = normal

    def __matmul__(self, c: np.ndarray) -> np.ndarray:
        return self.normal.matvec(c)


class _CountNormal:
    """The normal equations of a count model without forming AᵀWA.

    Products cost two fast Walsh–Hadamard passes
    (:class:`~tomography.counts._CountStructure`); solves are Jacobi-
    preconditioned conjugate gradients to round-off; the extreme eigenvalues
    (the MLE's step size and certificate) come from Lanczos (largest) and
    preconditioned LOBPCG (smallest), widened by their residual norms (an
    eigenvalue lies within ‖r‖ of a Ritz value) and clipped to the rigorous
    per-setting bounds :meth:`~tomography.counts._CountStructure.gram_bounds`.
    The dense inverse (standard errors) is formed only on request, within
    the 2 GiB limit (six qubits, not seven).  It offers what the estimators
    use of :class:`_Normal`: ``w``, ``g`` (an operator), ``solve``,
    ``inverse`` and ``eig_range``.
    """

    def __init__(self, model: MeasurementModel, struct: _CountStructure, w: np.ndarray):
        self.model = model
        self.struct = struct
        self.w = w
        self.jacobi = struct.gram_diagonal(w)
        self._range: tuple[float, float] | None = None

    @property
    def g(self) -> _CountHessian:
        return _CountHessian(self)

    def matvec(self, c: np.ndarray) -> np.ndarray:
        return self.struct.apply_transpose(self.w * self.struct.apply(c))

    def solve(self, rhs: np.ndarray) -> np.ndarray:
        """(AᵀWA)⁻¹ rhs for (..., m) by Jacobi-preconditioned conjugate gradients.

        Stops at relative residual ≤ 1e-13 or, at round-off, when the best
        residual has not halved in 100 iterations; a stop above 1e-9 is a
        ConvergenceError.
        """
        b = np.atleast_2d(rhs)
        x = np.zeros_like(b)
        r = b.copy()
        z = r / self.jacobi
        p = z.copy()
        rz = np.einsum("ij,ij->i", r, z)
        scale = np.maximum(np.linalg.norm(b, axis=1), VALUE_MIN)
        best = checkpoint = np.inf
        worst = np.inf
        for it in range(1, _CG_MAX_ITERATIONS + 1):
            rel = np.linalg.norm(r, axis=1) / scale
            worst = float(rel.max())
            if worst <= 1e-13:
                break
            best = min(best, worst)
            if it % 100 == 0:
                if best > 0.5 * checkpoint:
                    break
                checkpoint = best
            done = rel <= 1e-13
            hp = self.matvec(p)
            php = np.einsum("ij,ij->i", p, hp)
            alpha = np.where(done | (php <= 0), 0.0, rz / np.where(php > 0, php, 1.0))
            x += alpha[:, None] * p
            r -= alpha[:, None] * hp
            z = r / self.jacobi
            rz_new = np.einsum("ij,ij->i", r, z)
            beta = np.where(rz > 0, rz_new / np.where(rz > 0, rz, 1.0), 0.0)
            p = z + beta[:, None] * p
            rz = rz_new
        if worst > 1e-9:  # pragma: no cover (κ of AᵀWA is bounded through the hedge)
            raise ConvergenceError(
                f"sigma: conjugate gradients on the normal equations of model {show(self.model.name)} stopped at "
                f"relative residual {worst:.3g} (> 1e-9): the noise levels are too disparate"
            )
        return x.reshape(rhs.shape)

    def inverse(self) -> np.ndarray:
        """(AᵀWA)⁻¹ as a dense (m, m) matrix (refused beyond 2 GiB)."""
        m = self.model.n_coefficients
        require_memory(3 * m * m * 8, f"the covariance (AᵀWA)⁻¹ of a {self.model.n_qubits}-qubit count estimate "
                       f"({m}×{m}; the linear, PLS and ML estimates need none)")
        g = self.model._gram(self.w)
        try:
            chol = scipy.linalg.cho_factor(g)
        except (np.linalg.LinAlgError, ValueError):  # pragma: no cover (the count model is complete)
            raise DataError(f"sigma: AᵀWA of model {show(self.model.name)} is numerically singular") from None
        return scipy.linalg.cho_solve(chol, np.eye(m))

    def eig_range(self) -> tuple[float, float]:
        """(λ_min, λ_max) of AᵀWA: iterative, residual-widened, within the rigorous bounds."""
        if self._range is not None:
            return self._range
        lo_bound, hi_bound = self.struct.gram_bounds(self.w)
        m = self.model.n_coefficients
        op = scipy.sparse.linalg.LinearOperator((m, m), matvec=lambda v: self.matvec(np.ravel(v)),
                                                 matmat=lambda v: self.matvec(v.T).T, dtype=np.float64)
        start = 1.0 + 0.5 * np.cos(np.arange(m))  # deterministic, not an eigenvector
        hi, lo = hi_bound, lo_bound
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                theta, vec = scipy.sparse.linalg.eigsh(op, k=1, which="LA", tol=1e-10, v0=start)
                v = vec[:, 0]
                hi = min(hi_bound, float(theta[0]) + float(np.linalg.norm(self.matvec(v) - theta[0] * v)))
            except (scipy.sparse.linalg.ArpackError, scipy.sparse.linalg.ArpackNoConvergence):  # pragma: no cover
                pass
            try:
                pre = scipy.sparse.linalg.LinearOperator((m, m), matvec=lambda v: np.ravel(v) / self.jacobi,
                                                          matmat=lambda v: v / self.jacobi[:, None], dtype=np.float64)
                theta, vec = scipy.sparse.linalg.lobpcg(op, start[:, None], M=pre, largest=False, tol=1e-9,
                                                        maxiter=2000)
                v = vec[:, 0] / np.linalg.norm(vec[:, 0])
                res = float(np.linalg.norm(self.matvec(v) - theta[0] * v))
                lo = max(lo_bound, float(theta[0]) - res)
            except (np.linalg.LinAlgError, ValueError):  # pragma: no cover
                pass
        # widen by the round-off of the products themselves
        self._range = (lo * (1 - 1e-12), max(hi, lo) * (1 + 1e-12))
        return self._range


def _linear_solution(model: MeasurementModel, y: np.ndarray, s: np.ndarray | None, weighted: bool,
                     cov: str = "full"):
    """Least-squares coefficients and their covariance (diag vector or matrix).

    ``cov``: ``"none"`` (coefficients only), ``"se"`` (what the standard
    errors need: the same as ``"full"`` for dense models, the variances
    only for count operators) or ``"full"``.
    """
    ne = _normal(model, s if weighted else None)
    if isinstance(ne, _CountNormal):
        unit = ne.struct.gram_diagonal(np.ones(model.n_lines))
        if weighted:
            c = ne.solve(model._apply_transpose(y * ne.w))
            if cov == "none":
                return c, None
            inv = ne.inverse()
            return c, (np.diag(inv).copy() if cov == "se" else inv)
        c = model._apply_transpose(y) / unit  # AᵀA is diagonal for count models
        if s is None or cov == "none":
            return c, None
        if cov == "se":  # diag(A⁺ΣA⁺ᵀ) = diag(AᵀΣA)/g²
            return c, ne.struct.gram_diagonal(s**2) / unit**2
        require_memory(3 * model.n_coefficients**2 * 8, f"the covariance of a {model.n_qubits}-qubit count estimate")
        return c, model._gram(s**2) / np.outer(unit, unit)
    if weighted:
        c = ne.solve(model._apply_transpose(y * ne.w))
        out = None if cov == "none" else ne.inverse()
    else:
        c = ne.solve(model._apply_transpose(y))
        out = None
        if s is not None and cov != "none":
            if ne.diag:  # A⁺ΣA⁺ᵀ, diagonal: Σ_l A_lP² σ_l² / g_P²
                out = model._gram(s**2) * ne.inv0**2
            else:  # A⁺ = G⁺Aᵀ (G = AᵀA), so A⁺ΣA⁺ᵀ = G⁺(AᵀΣA)G⁺: m×m work only
                out = ne.solve(ne.solve(model._gram(s**2)).T)
                out = (out + out.T) / 2
    return c, out


def _cov_outputs(cov, m: int):
    if cov is None:
        return None, None
    if cov.ndim == 1:
        se = np.sqrt(np.clip(cov, 0, None))
        full = np.diag(cov) if m <= _COV_MAX else None
    else:
        se = np.sqrt(np.clip(np.diag(cov), 0, None))
        full = cov if m <= _COV_MAX else None
    return se, full


def _residual(model: MeasurementModel, y: np.ndarray, c: np.ndarray, s: np.ndarray | None):
    r = y - model._apply(c)
    chi2 = float(np.sum((r / s) ** 2)) if s is not None else None
    rn = float(np.linalg.norm(r))
    if not np.isfinite(rn):  # the squares overflowed: rescale
        top = float(np.abs(r).max())
        rn = top * float(np.linalg.norm(r / top))
    return chi2, rn, r


def _finite(*xs) -> bool:
    return all(x is None or bool(np.all(np.isfinite(x))) for x in xs)


def _make(model, y, s, c, method, se=None, cov=None, rho=None, **kw) -> Estimate:
    """The Estimate, after checking that everything in it is finite and physical.

    A state estimate always exists mathematically, but it can leave the
    float64 range or lose its unit trace to round-off when the amplitudes
    are far from every state's in the model's units (linear coefficients
    |c| ≫ 1, a χ² beyond 1e308).  Such data are refused with a DataError
    naming amplitudes/sigma rather than handed back as NaN, inf or a matrix
    whose trace is not 1.
    """
    n = model.n_qubits
    with np.errstate(all="ignore"):
        if rho is None:
            rho = coefficients_to_matrix(c, n)
        what = f"{_NAMES[method]} estimate"
        top = float(np.abs(c).max()) if _finite(c) else math.inf
        if not _finite(c, rho):
            raise DataError(
                f"amplitudes: the {what} leaves the float64 range (Pauli coefficients up to {top:.3g}; a state has "
                "|c_P| ≤ 1): the amplitudes are not in the model's units (a fully polarised line is 1)"
            )
        tr = float(np.trace(rho).real)
        if not abs(tr - 1) <= STATE_ATOL:
            raise DataError(
                f"amplitudes: the {what} has Pauli coefficients up to |c| = {top:.3g} (a state has |c_P| ≤ 1), so "
                f"large that ρ̂ loses its unit trace to round-off (Tr ρ̂ = {tr:.6g}): the amplitudes are not in the "
                "model's units (a fully polarised line is 1); rescale them, or use deviation_estimate for "
                "uncalibrated NMR data"
            )
        lam_min = float(np.linalg.eigvalsh(rho)[0])
        if method in ("pls", "mle") and not lam_min >= -STATE_ATOL:  # pragma: no cover (projection is exact)
            raise DataError(f"amplitudes: the {what} is not positive (smallest eigenvalue {lam_min:.3g})")
        chi2, rn, r = _residual(model, y, c, s)
        if not _finite(chi2, rn):
            dev = float(np.max(np.abs(r) / s)) if s is not None else float(np.abs(r).max())
            raise DataError(
                f"amplitudes and sigma are inconsistent with every state: the {what} misses the amplitudes by up "
                f"to {dev:.3g} noise levels, so χ² = Σ (a − b − Aĉ)²/σ² exceeds the float64 range; check the units "
                "of amplitudes and sigma"
            )
        if not _finite(se, cov, kw.get("distance_bound"), kw.get("gap")):
            raise DataError(
                f"sigma: the standard errors of the {what} leave the float64 range for these noise levels "
                f"(σ from {float(np.min(s)):.3g} to {float(np.max(s)):.3g})"
            )
    return Estimate(
        state=to_qobj(rho),
        coefficients=c,
        method=method,
        chi2=chi2,
        dof=model.n_lines - model.rank,
        residual_norm=rn,
        standard_errors=se,
        covariance=cov,
        min_eigenvalue=lam_min,
        undetermined=model.undetermined,
        condition_number=model.condition_number,
        **kw,
    )


_NAMES = {"linear": "linear-inversion", "wls": "weighted least-squares", "pls": "projected least-squares",
          "mle": "maximum-likelihood"}


# --------------------------------------------------------------------------
# public estimators
# --------------------------------------------------------------------------
@single_threaded
def linear_inversion(
    model: MeasurementModel | CountData, amplitudes: Any = None, sigma: Any = None, *, allow_incomplete: bool = False
) -> Estimate:
    """Linear inversion (ordinary least squares): ĉ = A⁺(a − b).

    Parameters
    ----------
    model : MeasurementModel, or CountData (then amplitudes and sigma are omitted: the
        data's frequencies and hedged multinomial σ are used, see :mod:`tomography.counts`)
    amplitudes : array (n_lines,)
        Measured line amplitudes, same units as the model (a fully
        polarised line = 1), finite with |a| ≤ 1e60.
    sigma : float or array (n_lines,), optional
        Per-line noise standard deviation in [1e-60, 1e60]; when given, χ²
        and the exact standard errors A⁺ΣA⁺ᵀ are reported.
    allow_incomplete : bool
        Accept an informationally incomplete model (minimum-norm solution).

    Returns
    -------
    Estimate (method ``"linear"``); ρ̂ may have negative eigenvalues.

    Raises
    ------
    ModelError
        Incomplete model without ``allow_incomplete`` (names the
        undetermined coefficients).
    DataError
        Amplitudes of the wrong length, not finite or beyond 1e60; σ outside
        [1e-60, 1e60]; amplitudes so far from every state's that the
        estimate loses its unit trace to round-off (|ĉ| ≳ 1e7) or its χ²
        leaves the float64 range.
    """
    model, amplitudes, sigma = _inputs(model, amplitudes, sigma, "linear_inversion")
    y = _data(model, amplitudes)
    s = None if sigma is None else _as_sigma(sigma, model.n_lines)
    _require_complete(model, allow_incomplete, "Linear inversion")
    c, cov = _linear_solution(model, y, s, weighted=False, cov="se")
    se, full = _cov_outputs(cov, model.n_coefficients)
    return _make(model, y, s, c, "linear", se, full)


@single_threaded
def weighted_least_squares(
    model: MeasurementModel | CountData, amplitudes: Any = None, sigma: Any = None, *, allow_incomplete: bool = False
) -> Estimate:
    """Weighted least squares: minimise χ² = Σ (a − b − Ac)²/σ² over c.

    The Gaussian maximum-likelihood estimate without the positivity
    constraint; its covariance (AᵀWA)⁻¹, W = diag(1/σ²), is the inverse
    Fisher information, reported as ``standard_errors``/``covariance``.

    Parameters
    ----------
    model : MeasurementModel, or CountData (then amplitudes and sigma are omitted: the
        data's frequencies and hedged multinomial σ are used, see :mod:`tomography.counts`)
    amplitudes : array (n_lines,), finite, |a| ≤ 1e60
    sigma : float or array (n_lines,), in [1e-60, 1e60]
    allow_incomplete : bool

    Returns
    -------
    Estimate (method ``"wls"``).  The errors of :func:`linear_inversion`
    apply, and σ values so disparate that AᵀWA is numerically singular are
    a :class:`~tomography.errors.DataError` naming sigma.  Its standard
    errors need the dense covariance (AᵀWA)⁻¹: for count data of seven
    qubits that exceeds 2 GiB and is refused (DataError; PLS and MLE need
    none).
    """
    model, amplitudes, sigma = _inputs(model, amplitudes, sigma, "weighted_least_squares")
    y = _data(model, amplitudes)
    s = _as_sigma(sigma, model.n_lines)
    _require_complete(model, allow_incomplete, "Weighted least squares")
    c, cov = _linear_solution(model, y, s, weighted=True, cov="se")
    se, full = _cov_outputs(cov, model.n_coefficients)
    return _make(model, y, s, c, "wls", se, full)


def _project_coefficients(c: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Frobenius projection in coefficient space: (c', ρ') for (..., m)."""
    rho = _project_matrices(coefficients_to_matrix(c, n))
    return matrix_to_coefficients(rho, n), rho


@single_threaded
def projected_least_squares(
    model: MeasurementModel | CountData, amplitudes: Any = None, sigma: Any = None, *, allow_incomplete: bool = False
) -> Estimate:
    """Projected least squares: the closest density matrix to the WLS estimate.

    ρ̂ = argmin_{ρ ≥ 0, Tr ρ = 1} ‖ρ − ρ_WLS‖_F: the eigenvalues of ρ_WLS are
    projected onto the probability simplex, the eigenvectors kept (Smolin,
    Gambetta & Smith 2012).  With uniform σ, ρ_WLS is the linear inversion,
    so this is "linear inversion followed by projection"; with per-line σ
    the weighted estimate is projected.  Non-iterative and exact.

    Parameters
    ----------
    model, amplitudes, sigma, allow_incomplete : as :func:`weighted_least_squares`

    Returns
    -------
    Estimate (method ``"pls"``), always a positive unit-trace state.
    """
    model, amplitudes, sigma = _inputs(model, amplitudes, sigma, "projected_least_squares")
    y = _data(model, amplitudes)
    s = _as_sigma(sigma, model.n_lines)
    _require_complete(model, allow_incomplete, "Projected least squares")
    c_lin, _ = _linear_solution(model, y, s, weighted=True, cov="none")
    c, rho = _project_coefficients(c_lin, model.n_qubits)
    return _make(model, y, s, c, "pls", rho=rho)


# --------------------------------------------------------------------------
# maximum likelihood
# --------------------------------------------------------------------------
class _Projector:
    """Frobenius projection onto density matrices, in coefficient space.

    ‖c − c'‖² = d‖ρ − ρ'‖²_F, so projecting ρ(c) projects c.  Small systems
    use the dense Pauli basis (one matmul each way), larger ones the fast
    transform.
    """

    def __init__(self, n: int):
        self.n = n
        self.d = 2**n
        if n <= _DENSE_MAX:
            basis, inv = _dense_basis(n)
            self.fwd = np.ascontiguousarray(basis[1:] / self.d)  # (m, d²): c → ρ − I/d
            self.inv = np.ascontiguousarray(inv[:, 1:])  # (d², m): ρ → c (complex; take .real)
            self.eye = np.eye(self.d, dtype=np.complex128).ravel() / self.d
        else:
            self.fwd = None

    def matrix(self, c: np.ndarray) -> np.ndarray:
        if self.fwd is not None:
            return (self.eye + c @ self.fwd).reshape(self.d, self.d)
        return coefficients_to_matrix(c[None], self.n)[0]

    def coeffs(self, rho: np.ndarray) -> np.ndarray:
        if self.fwd is not None:
            return (rho.reshape(-1) @ self.inv).real
        return matrix_to_coefficients(rho[None], self.n)[0]

    def __call__(self, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        rho = self.matrix(c)
        lam, vec = np.linalg.eigh(rho)
        p = _project_simplex(lam)
        out = (vec * p) @ vec.conj().T
        return self.coeffs(out), out

    def lambda_min(self, g: np.ndarray) -> float:
        """Smallest eigenvalue of Σ g_P P (traceless Hermitian)."""
        full = np.concatenate([[0.0], g])
        return float(np.linalg.eigvalsh(full_to_matrix(full[None], self.n)[0])[0])


def _fista(hess, g0, c0, proj: _Projector, mu: float, lip: float, tol: float, max_iter: int):
    """Minimise f(c) = cᵀHc − 2cᵀg0 over density matrices (H = AᵀWA).

    ∇f = 2(Hc − g0); Lipschitz constant L = 2λ_max(H), strong convexity
    μ = 2λ_min(H).  Accelerated projected gradient with step 1/L: constant
    momentum (√κ − 1)/(√κ + 1) when μ > 0 (Nesterov, Introductory Lectures
    §2.2), the FISTA sequence otherwise, and the gradient restart of
    O'Donoghue & Candès (2015) in both.  Stopping rule when μ > 0: for the
    gradient step x⁺ from y, ‖x⁺ − x*‖ ≤ 2(L/μ)‖y − x⁺‖ (from
    ⟨G, y − x*⟩ ≥ ‖G‖²/2L + μ‖y − x*‖²/2 with G = L(y − x⁺)), divided by √d
    to be a Frobenius distance of states.  When μ = 0 the Frank–Wolfe gap
    Tr[∇ρ] − λ_min(∇) ≥ f − f* is used instead.
    """
    diag = hess.ndim == 1
    sqd = math.sqrt(proj.d)

    def grad(c):
        return 2.0 * ((hess * c if diag else hess @ c) - g0)

    x = c0
    y = c0
    t = 1.0
    kappa = lip / mu if mu > 0 else math.inf
    beta = (math.sqrt(kappa) - 1) / (math.sqrt(kappa) + 1) if mu > 0 else None
    bound = math.inf
    best = math.inf  # best certificate so far, and at the last checkpoint
    checkpoint = math.inf
    gap = math.inf
    rho = None
    if not lip > 0:  # A = 0 on every line that carries weight: χ² is constant, every state is optimal
        return x, proj.matrix(x), 0, True, (0.0 if mu > 0 else None)
    for it in range(1, max_iter + 1):
        x_new, rho = proj(y - grad(y) / lip)
        step = y - x_new
        if not np.all(np.isfinite(step)):  # pragma: no cover (bounded inputs keep it finite)
            return x, rho, it, False, None
        if mu > 0:
            bound = 2.0 * kappa * float(np.sqrt(step @ step)) / sqd
            if bound <= tol:
                return x_new, rho, it, True, bound
            best = min(best, bound)
        elif it % 10 == 0 or it == max_iter:
            g = grad(x_new)
            gap = float(g @ x_new) - proj.lambda_min(g)
            if gap <= tol:
                return x_new, rho, it, True, None
            best = min(best, gap)
        if it % _STALL_WINDOW == 0:  # no progress over a window: round-off floor
            if best > 0.5 * checkpoint:
                return x_new, rho, it, False, (best if mu > 0 else None)
            checkpoint = best
        move = x_new - x
        if float(step @ move) > 0:  # gradient restart: momentum points uphill
            y = x_new
            t = 1.0
        else:
            if beta is None:
                t_new = (1 + math.sqrt(1 + 4 * t * t)) / 2
                b = (t - 1) / t_new
                t = t_new
            else:
                b = beta
            y = x_new + b * move
        x = x_new
    return x, rho, max_iter, False, (bound if mu > 0 else None)


@single_threaded
def maximum_likelihood(
    model: MeasurementModel | CountData,
    amplitudes: Any = None,
    sigma: Any = None,
    *,
    tol: float = MLE_TOL,
    max_iterations: int = 50_000,
    initial: Any = "pls",
    allow_incomplete: bool = False,
) -> Estimate:
    """Maximum likelihood for Gaussian noise: the density matrix minimising χ².

    Solves min Σ (a − b − Ac)²/σ² over ρ = (I + Σ c_P P)/d ≥ 0 by an
    accelerated projected gradient in coefficient space, each projection an
    eigenvalue projection onto the simplex (a Frobenius projection).  A is
    never used inside the loop: H = AᵀWA and AᵀW(a − b) are formed once (H
    is a vector when the model :attr:`~MeasurementModel.is_diagonal`, as for
    Pauli-product readouts), so an iteration costs one d×d eigensolve and
    two Pauli transforms.

    Convergence is certified, not guessed: for a complete model χ² is
    strongly convex and the loop stops when the bound
    ‖ρ̂ − ρ_ML‖_F ≤ 2κ‖y − x⁺‖/√d (κ = cond(H)) is ≤ ``tol``; it is
    reported as ``distance_bound``, with the Frank–Wolfe gap
    χ²(ρ̂) − min χ² ≤ ``gap``.  For an incomplete model (only with
    ``allow_incomplete``) the minimiser is not unique and the loop stops on
    ``gap ≤ tol``.

    Parameters
    ----------
    model : MeasurementModel, or CountData (then amplitudes and sigma are omitted: the
        data's frequencies and hedged multinomial σ are used, see :mod:`tomography.counts`)
    amplitudes : array (n_lines,), finite, |a| ≤ 1e60
    sigma : float or array (n_lines,), in [1e-60, 1e60]
    tol : float
        Target of the certified bound, 1e-14 ≤ tol ≤ 1e-2 (default 1e-9,
        Frobenius norm).
    max_iterations : int, 1 to 1,000,000
    initial : "pls" (default), "mixed" (I/d), or a density matrix (Qobj or
        array, validated like every state: Hermitian, unit trace, positive)
        Starting point (the PLS estimate is usually within a few steps).
    allow_incomplete : bool

    Returns
    -------
    Estimate (method ``"mle"``), a positive unit-trace state, with
    ``iterations``, ``converged``, ``tolerance``, ``distance_bound``,
    ``gap`` and ``chi2``.  The maximum-likelihood state exists for any
    finite data, and it is returned — still a unit-trace state — even for
    amplitudes far from every state's (the projection is shift-invariant,
    so huge eigenvalues do not upset it); only when its χ² would exceed
    the float64 range (data ≳ 1e150 noise levels from every state) is that
    a :class:`~tomography.errors.DataError` naming the amplitudes and σ,
    never an infinite χ².

    Raises
    ------
    ConvergenceError
        When ``max_iterations`` is reached before the bound meets ``tol``.
    DataError
        Amplitudes beyond |a| ≤ 1e60 or σ outside [1e-60, 1e60] (so
        ``maximum_likelihood(M, a, 1e-300)`` names sigma), or data no state
        can fit within the float64 range (above).
    """
    model, amplitudes, sigma = _inputs(model, amplitudes, sigma, "maximum_likelihood")
    tol, max_iterations = _check_mle_options(tol, max_iterations)
    y = _data(model, amplitudes)
    s = _as_sigma(sigma, model.n_lines)
    _require_complete(model, allow_incomplete, "Maximum likelihood")
    initial = _check_initial(initial, model)
    ne = _normal(model, s)
    return _mle_core(model, y, s, ne, tol, max_iterations, initial)


def _check_mle_options(tol: Any, max_iterations: Any) -> tuple[float, int]:
    if (isinstance(tol, (bool, np.bool_)) or not isinstance(tol, (int, float, np.integer, np.floating))
            or not 1e-14 <= tol <= 1e-2):
        raise DataError(f"tol = {show(tol)} is not allowed: a number from 1e-14 to 1e-2 is required")
    return float(tol), check_int(max_iterations, "max_iterations", 1, MAX_ITERATIONS)


def _check_initial(initial: Any, model: MeasurementModel) -> Any:
    """'pls', 'mixed' or a validated density matrix of the model's dimension."""
    if isinstance(initial, str):
        if initial not in ("pls", "mixed"):
            raise DataError(f"initial = {show(initial)} is not allowed: 'pls', 'mixed' or a density matrix")
        return initial
    arr, single = check_states(initial, "initial")
    if not single or arr.shape != (model.dim, model.dim):
        raise StateError(f"initial has shape {arr.shape}: a {model.dim}×{model.dim} density matrix is required")
    return arr


def _mle_core(model, y, s, ne: _Normal, tol, max_iter, initial, proj=None) -> Estimate:
    n = model.n_qubits
    proj = proj or _Projector(n)
    g0 = model._apply_transpose(y * ne.w)
    if isinstance(initial, str):
        c0 = proj(ne.solve(g0))[0] if initial == "pls" else np.zeros(model.n_coefficients)
    else:
        c0 = proj(matrix_to_coefficients(initial, n))[0]
    lo, hi = ne.eig_range()
    lip, mu = 2.0 * hi, 2.0 * lo
    if mu > 0 and not math.isfinite(lip / mu):  # κ beyond float64: certify with the gap instead
        mu = 0.0
    hess = ne.g
    with np.errstate(over="ignore", invalid="ignore"):
        c, rho, its, ok, bound = _fista(hess, g0, c0, proj, mu, lip, tol, max_iter)
    grad = 2.0 * ((hess * c if hess.ndim == 1 else hess @ c) - g0)
    gap = max(float(grad @ c) - proj.lambda_min(grad), 0.0)
    if not ok:
        what = f"distance bound {bound:.3g}" if bound is not None else f"objective gap {gap:.3g}"
        raise ConvergenceError(
            f"maximum_likelihood stopped after {its} iterations (max_iterations = {max_iter}) with {what} "
            f"> tol = {tol:g}: raise max_iterations or tol (the bound stalls at round-off when tol is too small "
            "for the condition number of AᵀWA)"
        )
    return _make(model, y, s, c, "mle", rho=rho, iterations=its, converged=ok, tolerance=tol,
                 distance_bound=bound, gap=gap)


# --------------------------------------------------------------------------
# dispatcher and deviation data
# --------------------------------------------------------------------------
_FUNCS = {
    "linear": linear_inversion,
    "wls": weighted_least_squares,
    "pls": projected_least_squares,
    "mle": maximum_likelihood,
}


def _check_method(method: Any) -> str:
    if not isinstance(method, str) or method not in METHODS:
        raise DataError(f"method = {show(method)} is not allowed: one of {', '.join(METHODS)}")
    return method


def _check_options(method: str, options: dict, where: str, exclude: tuple[str, ...] = ()) -> None:
    """Every option must be one the estimator ``method`` takes."""
    allowed = [k for k in _OPTIONS[method] if k not in exclude]
    bad = [k for k in options if k not in allowed]
    if bad:
        raise DataError(
            f"{where}: option {show(bad[0])} is not allowed for method {method!r}: "
            f"{', '.join(allowed) if allowed else 'it takes none'}"
        )


def estimate(
    model: MeasurementModel | CountData, amplitudes: Any = None, sigma: Any = None, method: str = "mle", **options
) -> Estimate:
    """Run the estimator named ``method`` (one of :data:`METHODS`) with ``options``.

    ``options`` are the estimator's keyword arguments (``allow_incomplete``;
    ``tol``, ``max_iterations``, ``initial`` for ``"mle"``); any other is a
    :class:`~tomography.errors.DataError`.
    """
    method = _check_method(method)
    _check_options(method, options, "estimate")
    return _FUNCS[method](model, amplitudes, sigma, **options)


@single_threaded
def deviation_estimate(
    model: MeasurementModel | CountData,
    amplitudes: Any = None,
    sigma: Any = None,
    *,
    alpha: float | str = "min_positive",
    method: str = "mle",
    allow_incomplete: bool = False,
    **options,
) -> DeviationEstimate:
    """Reconstruct NMR deviation data ρ = (1 − α)I/d + α ρ_t.

    The data determine only the deviation Δ = ρ − I/d = α(ρ_t − I/d)
    (traceless, linear in the amplitudes); ρ_t needs α.  In uncalibrated
    amplitudes α also carries the receiver gain — it is simply the scale of
    the deviation in the units of the data.

    Choices for ``alpha``:

    * a number > 0 — given (e.g. from a thermal reference spectrum of known
      polarisation recorded with the same gain);
    * ``"min_positive"`` (default) — the smallest α for which I/d + Δ/α is
      positive, α = −λ_min(dΔ).  The true α is never smaller; they are equal
      when ρ_t is rank-deficient (pseudo-pure states, any prepared pure
      target).  Noise makes λ_min more negative, so this estimate is biased
      upward by about the noise in λ_min(dΔ);
    * ``"pure"`` — assume ρ_t pure, Tr ρ_t² = 1: α = ‖c_Δ‖/√(d − 1).
      Biased upward by noise (‖c_Δ‖² gains Σσ_c²).

    Then the rescaled data a' = b + (a − b)/α, σ' = σ/α are handed to the
    estimator ``method``, so the normalised state inherits its properties
    (positive for ``"pls"``/``"mle"``).

    Parameters
    ----------
    model, amplitudes, sigma : as :func:`weighted_least_squares`
    alpha : float in [1e-60, 1e60], "min_positive" or "pure"
        The normalised data (a − b)/α and σ/α must also stay in the
        package's range (|a| ≤ 1e60, σ in [1e-60, 1e60]); an α that pushes
        them out (``alpha=1e-300``) is a :class:`~tomography.errors.DataError`
        naming alpha, and a DataError of the estimator on the normalised
        data is re-raised naming alpha too.
    method : one of :data:`METHODS` (default ``"mle"``)
    allow_incomplete : bool
    **options : passed to the estimator (``tol``, ``max_iterations``,
        ``initial`` for ``"mle"``; none for the others)

    Returns
    -------
    DeviationEstimate
    """
    model, amplitudes, sigma = _inputs(model, amplitudes, sigma, "deviation_estimate")
    method = _check_method(method)
    _check_options(method, options, "deviation_estimate", exclude=("allow_incomplete",))
    y = _data(model, amplitudes)
    s = _as_sigma(sigma, model.n_lines)
    _require_complete(model, allow_incomplete, "The deviation estimate")
    c_dev, cov = _linear_solution(model, y, s, weighted=True, cov="se")
    se = np.sqrt(np.clip(cov if cov.ndim == 1 else np.diag(cov), 0, None))
    n, d = model.n_qubits, model.dim
    full = np.concatenate([[0.0], c_dev])
    dev = full_to_matrix(full[None], n)[0] / d
    if isinstance(alpha, str):
        if alpha == "min_positive":
            a_val = -float(np.linalg.eigvalsh(dev * d)[0])
        elif alpha == "pure":
            a_val = float(np.linalg.norm(c_dev)) / math.sqrt(d - 1)
        else:
            raise DataError(f"alpha = {show(alpha)} is not allowed: a number > 0, 'min_positive' or 'pure'")
        how = alpha
        if not a_val > 0:
            raise DataError(
                f"alpha estimated by {alpha!r} is {a_val + 0.0:.3g}: the deviation is zero, α cannot be estimated"
            )
    else:
        if isinstance(alpha, (bool, np.bool_)) or not isinstance(alpha, (int, float, np.integer, np.floating)):
            raise DataError(f"alpha = {show(alpha)} is not allowed: a number > 0, 'min_positive' or 'pure'")
        try:
            a_val = float(alpha)
        except OverflowError:
            a_val = math.inf
        if not (math.isfinite(a_val) and a_val > 0):
            raise DataError(f"alpha = {show(alpha)} is not allowed: a finite number > 0 is required")
        if not VALUE_MIN <= a_val <= VALUE_MAX:
            raise DataError(
                f"alpha = {show(alpha)} is not allowed: a finite number > 0 within [{VALUE_MIN:g}, {VALUE_MAX:g}] "
                "is required"
            )
        how = "given"
    # Normalise: a' = b + (a − b)/α, σ' = σ/α must stay in the package's range.
    with np.errstate(over="ignore", under="ignore"):
        y_n, s_n = y / a_val, s / a_val
    y_top = float(np.abs(y_n).max())
    if not (y_top <= VALUE_MAX and np.all((s_n >= SIGMA_MIN) & (s_n <= SIGMA_MAX))):
        raise DataError(
            f"alpha = {a_val:.3g} ({how}) is not allowed for these data: the normalised amplitudes (a − b)/α reach "
            f"{y_top:.3g} and the normalised noise σ/α spans [{float(s_n.min()):.3g}, {float(s_n.max()):.3g}], "
            f"outside |a| ≤ {VALUE_MAX:g} and σ in [{SIGMA_MIN:g}, {SIGMA_MAX:g}]; a state's amplitudes are O(1), "
            f"so α should be of the order of the deviation's size (e.g. 'min_positive')"
        )
    try:
        est = _FUNCS[method](model, model.offset + y_n, s_n, allow_incomplete=allow_incomplete, **options)
    except DataError as exc:
        raise DataError(f"deviation_estimate normalised by alpha = {a_val:.3g} ({how}): {exc}") from None
    return DeviationEstimate(
        deviation=to_qobj(dev),
        deviation_coefficients=c_dev,
        deviation_standard_errors=se,
        alpha=a_val,
        alpha_method=how,
        normalised=est,
    )
