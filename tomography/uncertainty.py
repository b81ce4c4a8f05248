"""Uncertainties of tomographic estimates: Fisher-information standard
errors for the linear estimators and a seeded parametric bootstrap for any
estimator and any scalar function of the state.  The resampling loop runs
with OpenBLAS limited to one thread (:mod:`tomography._blas`).

Standard errors come for every Pauli coefficient and for the real and
imaginary part of every density-matrix element.  The Fisher errors are
exact for the linear estimators under Gaussian noise (they do not depend on
the data).  The bootstrap simulates new data sets from the estimate itself
(a = b + Aĉ + σz, z ~ N(0, 1) from the given seed), re-runs the same
estimator and reports the spread — and, for functions of the state
(fidelity, ergotropy...), the bootstrap bias, which is how the bias that
positivity projection introduces shows up.  Nothing here imports ``nmrqb``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import qutip

from tomography._blas import single_threaded, single_threaded_blas
from tomography._checks import MEMORY_MAX, check_int, fmt_bytes, make_rng, show
from tomography.counts import CountData, _frequencies, _hedged_sigma, _outcome_probabilities, _resample_counts
from tomography.errors import DataError
from tomography.estimators import (
    _FUNCS,
    MLE_TOL,
    Estimate,
    _check_method,
    _check_options,
    _inputs,
    _linear_solution,
    _mle_core,
    _normal,
    _project_coefficients,
    _Projector,
    _require_complete,
)
from tomography.model import MeasurementModel, _as_sigma
from tomography.pauli import (
    coefficients_to_matrix,
    element_variances,
    element_variances_diagonal,
    pauli_index,
    pauli_labels,
    to_qobj,
)

__all__ = ["StandardErrors", "FunctionSummary", "BootstrapResult", "fisher_standard_errors", "bootstrap",
           "BOOTSTRAP_MAX_RESAMPLES"]

#: Largest n_resamples of :func:`bootstrap`; the arrays of one call must
#: also fit in 2 GiB (:data:`tomography._checks.MEMORY_MAX`).
BOOTSTRAP_MAX_RESAMPLES = 1_000_000


@dataclass(frozen=True, eq=False)
class StandardErrors:
    """Standard errors of a reconstruction.

    Attributes
    ----------
    coefficients : ndarray (4**n − 1,)
        Of the Pauli coefficients c_P (:func:`~tomography.pauli_labels` order).
    real, imag : ndarray (d, d)
        Of Re ρ_ij and Im ρ_ij.
    method : str
        ``"fisher-wls"``, ``"fisher-linear"`` or ``"bootstrap-<estimator>"``.
    """

    coefficients: np.ndarray
    real: np.ndarray
    imag: np.ndarray
    method: str

    @property
    def n_qubits(self) -> int:
        return int(round(np.log2(self.real.shape[0])))

    def __getitem__(self, label: str) -> float:
        """Standard error of c_P for Pauli string ``label``."""
        if not isinstance(label, str) or len(label) != self.n_qubits:
            raise DataError(f"label {show(label)} is not allowed: a Pauli string of {self.n_qubits} letters")
        return float(self.coefficients[pauli_index(label)])

    def as_dict(self) -> dict[str, float]:
        """{Pauli label: standard error}."""
        return dict(zip(pauli_labels(self.n_qubits), map(float, self.coefficients)))


@dataclass(frozen=True, eq=False)
class FunctionSummary:
    """Bootstrap summary of a scalar function f of the state.

    Attributes
    ----------
    value : float
        f(ρ̂) on the data.
    mean : float
        Mean of f over the bootstrap resamples.
    standard_error : float
        Their standard deviation (ddof = 1).
    bias : float
        mean − value, the bootstrap estimate of the estimator's bias for f;
        value − bias is the bias-corrected estimate.
    samples : ndarray (n_resamples,)
    """

    value: float
    mean: float
    standard_error: float
    bias: float
    samples: np.ndarray = field(repr=False)


@dataclass(frozen=True, eq=False)
class BootstrapResult:
    """Output of :func:`bootstrap`.

    Attributes
    ----------
    estimate : Estimate
        The estimator on the data (the bootstrap centre).
    standard_errors : StandardErrors
        Bootstrap standard deviations of the coefficients and elements.
    coefficient_samples : ndarray (n_resamples, 4**n − 1)
    functions : dict of str → FunctionSummary
    n_resamples : int
    """

    estimate: Estimate
    standard_errors: StandardErrors
    coefficient_samples: np.ndarray = field(repr=False)
    functions: dict
    n_resamples: int


def _element_se(cov: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    if cov.ndim == 1:
        vre, vim = element_variances_diagonal(cov, n)
    else:
        vre, vim = element_variances(cov, n)
    return np.sqrt(np.clip(vre, 0, None)), np.sqrt(np.clip(vim, 0, None))


@single_threaded
def fisher_standard_errors(
    model: MeasurementModel | CountData, sigma: Any = None, *, method: str = "wls", allow_incomplete: bool = False
) -> StandardErrors:
    """Standard errors of the linear estimators from the Fisher information.

    For ``method="wls"`` the covariance of ĉ is the inverse Fisher
    information (AᵀWA)⁻¹, W = diag(1/σ²) — the Cramér–Rao bound, attained
    by WLS.  For ``method="linear"`` (ordinary least squares) it is the exact
    sandwich A⁺ diag(σ²) A⁺ᵀ, equal to the former for uniform σ.  Elements
    follow linearly: ρ_ij = (δ_ij + Σ c_P P_ij)/d.  Under an incomplete model
    (``allow_incomplete``) the undetermined directions get zero variance,
    which is not an uncertainty statement: they are unknown.

    Parameters
    ----------
    model : MeasurementModel, or CountData (then ``sigma`` is omitted: the
        data's hedged multinomial σ are used; the dense (m, m) covariance
        must fit in 2 GiB, up to six qubits)
    sigma : float or array (n_lines,), > 0
    method : "wls" or "linear"
    allow_incomplete : bool

    Returns
    -------
    StandardErrors
    """
    model, _, sigma = _inputs(model, None, sigma, "fisher_standard_errors")
    if not isinstance(method, str) or method not in ("wls", "linear"):
        raise DataError(f"method = {show(method)} is not allowed: Fisher standard errors exist for 'wls' and 'linear'")
    s = _as_sigma(sigma, model.n_lines)
    _require_complete(model, allow_incomplete, "Fisher standard errors")
    with np.errstate(over="ignore", invalid="ignore"):
        _, cov = _linear_solution(model, np.zeros(model.n_lines), s, weighted=(method == "wls"))
        se = np.sqrt(np.clip(cov if cov.ndim == 1 else np.diag(cov), 0, None))
        re, im = _element_se(cov, model.n_qubits)
    if not all(np.all(np.isfinite(x)) for x in (se, re, im)):
        raise DataError(
            f"sigma: the Fisher standard errors leave the float64 range for these noise levels "
            f"(σ from {float(s.min()):.3g} to {float(s.max()):.3g})"
        )
    return StandardErrors(se, re, im, f"fisher-{method}")


def _resample_bytes(model: MeasurementModel, counts: bool = False) -> int:
    """Peak bytes per bootstrap resample: data (counts, frequencies and σ for count data),
    coefficients, states and their temporaries."""
    return 8 * ((4 if counts else 2) * model.n_lines + 4 * model.n_coefficients) + 16 * 6 * model.dim**2


def _check_functions(functions: Any) -> dict:
    if functions is None:
        return {}
    if not isinstance(functions, Mapping):
        raise DataError(
            f"functions = {show(functions)} is not allowed: a mapping name → f(qutip.Qobj) -> float is required"
        )
    for name, f in functions.items():
        if not isinstance(name, str):
            raise DataError(f"functions key {show(name)} is not allowed: names must be strings")
        if not callable(f):
            raise DataError(f"functions[{show(name)}] is not callable: a function of a qutip.Qobj state is required")
    return dict(functions)


def _value(f: Callable, state: qutip.Qobj, name: str) -> float:
    """f(state) as a finite float, else a DataError naming the function."""
    v = f(state)
    try:
        x = float(v)
    except (TypeError, ValueError, OverflowError):
        raise DataError(f"functions[{show(name)}] returned {show(v)}: a real number is required") from None
    if not np.isfinite(x):
        raise DataError(f"functions[{show(name)}] returned {x!r}: a finite number is required")
    return x


def bootstrap(
    model: MeasurementModel | CountData,
    amplitudes: Any = None,
    sigma: Any = None,
    *,
    seed: int | np.random.Generator,
    method: str = "wls",
    n_resamples: int = 200,
    functions: Mapping[str, Callable[[qutip.Qobj], float]] | None = None,
    allow_incomplete: bool = False,
    resample: str | None = None,
    **options,
) -> BootstrapResult:
    """Parametric bootstrap of an estimator and of functions of its state.

    1. ρ̂ = estimator(data); 2. for r = 1..R draw a_r = b + Aĉ + σ z_r
    (z_r ~ N(0, 1) from ``seed``); 3. ρ̂_r = estimator(a_r); 4. report the
    standard deviation of every coefficient, matrix element and f(ρ̂_r).
    The linear estimators and PLS are run batched; MLE is warm-started from
    each resample's PLS estimate with the same precomputed normal matrix.

    Count data (a :class:`~tomography.CountData` in place of model,
    amplitudes and sigma) are resampled as counts — the parametric
    bootstrap of their multinomial noise model: step 2 draws, for every
    setting, multinomial counts with the data's shots, and each resample
    gets its own frequencies and hedged σ, exactly as the data did, and is
    estimated with its own weights.  The outcome probabilities of the draws
    are chosen by ``resample``:

    * ``"frequencies"`` (default for counts) — the observed frequencies, the
      multinomial model's own maximum-likelihood probabilities (the
      classical bootstrap of the shots of every setting, as
      qiskit-experiments does).  Outcomes never seen stay unseen, as they
      would for the true state;
    * ``"estimate"`` — the outcome probabilities of ρ̂ (clipped at 0 and
      renormalised for the linear estimators, whose ρ̂ may not be
      positive).  Near pure states it overstates the spread of state
      fidelities (ρ̂ is more mixed than the truth, so outcomes of
      probability ≈ 0 become noisy): for pure states by 13 % at two qubits
      and 30 % at three in ``benchmarks/bench_tomography.py`` part 5
      (50 count sets), against 3 % and 16 % for ``"frequencies"``.

    Amplitude data take only ``"estimate"`` (their default; step 2 above).

    Parameters
    ----------
    model : MeasurementModel, or CountData (then amplitudes and sigma are omitted)
    amplitudes : array (n_lines,)
    sigma : float or array (n_lines,), > 0
    seed : int ≥ 0, sequence of ints ≥ 0, numpy SeedSequence or Generator
        Source of every draw (same seed → same result; an int gives
        ``numpy.random.default_rng(seed)``, and ``[seed, r]`` derives an
        independent stream per repetition r).
    method : one of ``"linear"``, ``"wls"``, ``"pls"``, ``"mle"``
    n_resamples : int, 2 to :data:`BOOTSTRAP_MAX_RESAMPLES` (1,000,000)
        The resampled data, coefficients and states are held at once, so
        they must also fit in 2 GiB (about 3 KiB per resample for two
        qubits, 0.7 MiB for six); a larger request is refused up front
        with the memory it would need.
    functions : mapping name → f(qutip.Qobj) -> float, optional
        Scalar functions of the state (fidelity to a target, ergotropy...),
        evaluated on ρ̂ and on every resample; they must return finite
        real numbers.
    allow_incomplete : bool
    resample : None, "frequencies" or "estimate"
        Where count resamples are drawn from (see above); None is
        "frequencies" for count data and "estimate" for amplitudes.
    **options : passed to the estimator (``tol``, ``max_iterations``,
        ``initial`` for MLE; any other is a DataError)

    Returns
    -------
    BootstrapResult
    """
    counts = model if isinstance(model, CountData) else None
    if resample is None:
        resample = "frequencies" if counts is not None else "estimate"
    sources = ("frequencies", "estimate") if counts is not None else ("estimate",)
    if not isinstance(resample, str) or resample not in sources:
        allowed = ("'frequencies' or 'estimate'" if counts is not None
                   else "'estimate' (amplitude data have no frequencies)")
        raise DataError(f"bootstrap: resample = {show(resample)} is not allowed: {allowed}")
    model, amplitudes, sigma = _inputs(model, amplitudes, sigma, "bootstrap")
    method = _check_method(method)
    _check_options(method, options, "bootstrap", exclude=("allow_incomplete",))
    if isinstance(n_resamples, (int, np.integer)) and not isinstance(n_resamples, (bool, np.bool_)) \
            and n_resamples > 1:
        need = int(n_resamples) * _resample_bytes(model, counts is not None)
        if n_resamples > BOOTSTRAP_MAX_RESAMPLES or need > MEMORY_MAX:
            raise DataError(
                f"n_resamples = {show(n_resamples)} is not allowed: it would run the {method!r} estimator "
                f"{int(n_resamples):,} times and hold {fmt_bytes(need)} of resamples for model {show(model.name)}; "
                f"at most {BOOTSTRAP_MAX_RESAMPLES:,} resamples and {fmt_bytes(MEMORY_MAX)} are allowed"
            )
    n_resamples = check_int(n_resamples, "n_resamples", 2, BOOTSTRAP_MAX_RESAMPLES)
    functions = _check_functions(functions)
    with single_threaded_blas():
        rng = make_rng(seed, "bootstrap")
        s = _as_sigma(sigma, model.n_lines)
        est = _FUNCS[method](model, amplitudes, s, allow_incomplete=allow_incomplete, **options)
        n = model.n_qubits
        if counts is None:
            centre = model._apply(est.coefficients)  # b subtracted: data are y = a − b
            ys = centre + s * rng.standard_normal((int(n_resamples), model.n_lines))
            sigmas = None
        else:
            p = (counts.frequencies.reshape(counts.counts.shape) if resample == "frequencies"
                 else _outcome_probabilities(counts, est.coefficients))
            drawn = _resample_counts(counts, p, rng, int(n_resamples))
            ys = _frequencies(drawn).reshape(int(n_resamples), -1) - model.offset
            sigmas = _hedged_sigma(drawn, counts.hedge).reshape(int(n_resamples), -1)
            del drawn
        rhos = None
        if sigmas is None and method in ("linear", "wls", "pls"):
            cs, _ = _linear_solution(model, ys, s, weighted=(method != "linear"), cov="none")
            if method == "pls":
                cs, rhos = _project_coefficients(cs, n)
        elif method == "linear":  # count data: the unweighted estimate does not depend on σ
            cs, _ = _linear_solution(model, ys, None, weighted=False, cov="none")
        elif method in ("wls", "pls"):  # count data: every resample has its own weights
            cs = np.stack([_linear_solution(model, y, s_r, weighted=True, cov="none")[0] for y, s_r in zip(ys, sigmas)])
            if method == "pls":
                cs, rhos = _project_coefficients(cs, n)
        else:
            ne = None if sigmas is not None else _normal(model, s)
            proj = _Projector(n)
            tol = options.get("tol", MLE_TOL)
            max_iter = options.get("max_iterations", 50_000)
            cs = np.empty((ys.shape[0], model.n_coefficients))
            rhos = np.empty((ys.shape[0], model.dim, model.dim), dtype=np.complex128)
            for r, y in enumerate(ys):
                s_r = s if sigmas is None else sigmas[r]
                e = _mle_core(model, y, s_r, ne if sigmas is None else _normal(model, s_r), tol, max_iter, "pls",
                              proj)
                cs[r] = e.coefficients
                rhos[r] = e.matrix
        if rhos is None:
            rhos = coefficients_to_matrix(cs, n)
        se = StandardErrors(
            cs.std(axis=0, ddof=1), rhos.real.std(axis=0, ddof=1), rhos.imag.std(axis=0, ddof=1), f"bootstrap-{method}"
        )
        summaries = {}
        for name, f in functions.items():
            value = _value(f, est.state, name)
            samples = np.array([_value(f, to_qobj(r), name) for r in rhos])
            mean = float(samples.mean())
            summaries[name] = FunctionSummary(value, mean, float(samples.std(ddof=1)), mean - value, samples)
    return BootstrapResult(est, se, cs, summaries, int(n_resamples))
