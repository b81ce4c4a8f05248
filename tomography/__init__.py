"""tomography: measurement models, density-matrix estimators and their
uncertainties for NMR state tomography, and for count data of projective
Pauli measurements.

A general estimation library: it works on line amplitudes, noise levels and
readout unitaries and never imports ``nmrqb``.  NMR measures ensemble
expectation values, so every spectral line amplitude is affine in the Pauli
coefficients of ρ, a = b + Ac, with Gaussian noise.  Projective measurements
give counts; their outcome probabilities are affine in c too, and
:func:`from_pauli_counts` turns counts into a :class:`CountData` (the
outcome-probability model, the frequencies and their multinomial noise
model) that every estimator, :func:`bootstrap` and
:func:`fisher_standard_errors` take in place of (model, amplitudes, sigma).
Qubit order: qubit 0 is the leftmost letter of every label and bitstring and
the first tensor factor (``docs/tomography.md``; ``qiskit_order=True`` reads
qiskit's reversed order).  The package holds

* :mod:`tomography.model` — readouts, lines, the measurement model A with its
  rank, condition number and undetermined coefficients, NMR two-spin and
  n-qubit Pauli-product presets;
* :mod:`tomography.counts` — count data of the 3**n Pauli settings: the
  outcome-probability model (sparse, diagonal AᵀA, fast products), hedged
  multinomial σ, qiskit's bit order;
* :mod:`tomography.estimators` — linear inversion, weighted least squares,
  projected least squares, Gaussian maximum likelihood (certified
  convergence), NMR deviation data with α given or estimated;
* :mod:`tomography.uncertainty` — Fisher standard errors, seeded parametric
  bootstrap of coefficients, elements and functions of the state;
* :mod:`tomography.merit` — fidelity, trace distance, purity;
* :mod:`tomography.plotting` — density-matrix figure (3-D bars or Hinton);
* :mod:`tomography.pauli` — Pauli labels, fast Pauli transforms, the
  projection onto density matrices;
* :mod:`tomography.errors` — ``TomographyError`` and its subclasses.

States go in and out as ``qutip.Qobj`` (dims [[2]*n, [2]*n]); arrays are
complex128 / float64; every random draw takes a seed: an int ≥ 0, a
sequence of them (``[seed, r]`` for per-repetition streams), a numpy
SeedSequence or Generator.

Every mistake in the input raises a :class:`TomographyError` subclass with a
one-line message naming the field (never a raw numpy/Python exception), and
every result is finite and, where it is a state, physical.  The rules behind
that (:mod:`tomography._checks`): numbers taken in have magnitude ≤ 1e60
(noise levels σ and the deviation scale α lie in [1e-60, 1e60]); matrices
handed in as states are checked by one validator
(:func:`tomography.pauli.check_states`, tolerance 1e-8) and never repaired;
a call whose arrays would exceed 2 GiB (``bootstrap`` beyond its cap of
10⁶ resamples, ``simulate(size=...)``, models of too many qubits) is
refused before anything is allocated, with the size it would need.
"""

from tomography.counts import CountData, from_pauli_counts, pauli_settings, simulate_pauli_counts
from tomography.errors import (
    ConvergenceError,
    DataError,
    ModelError,
    StateError,
    TomographyError,
)
from tomography.estimators import (
    METHODS,
    MLE_TOL,
    DeviationEstimate,
    Estimate,
    deviation_estimate,
    estimate,
    linear_inversion,
    maximum_likelihood,
    projected_least_squares,
    weighted_least_squares,
)
from tomography.merit import fidelity, purity, trace_distance
from tomography.model import (
    NMR_FULL9,
    NMR_MINIMAL4,
    Line,
    MeasurementModel,
    Readout,
    nmr_two_spin_model,
    nmr_two_spin_readouts,
    pauli_product_model,
    pauli_product_readouts,
)
from tomography.pauli import (
    pauli_coefficients,
    pauli_index,
    pauli_labels,
    pauli_matrix,
    project_to_state,
    state_from_coefficients,
)
from tomography.plotting import plot_density_matrix
from tomography.uncertainty import (
    BootstrapResult,
    FunctionSummary,
    StandardErrors,
    bootstrap,
    fisher_standard_errors,
)

__all__ = [
    # errors
    "TomographyError",
    "ModelError",
    "DataError",
    "StateError",
    "ConvergenceError",
    # model
    "Line",
    "Readout",
    "MeasurementModel",
    "NMR_FULL9",
    "NMR_MINIMAL4",
    "nmr_two_spin_readouts",
    "nmr_two_spin_model",
    "pauli_product_readouts",
    "pauli_product_model",
    # count data
    "CountData",
    "from_pauli_counts",
    "pauli_settings",
    "simulate_pauli_counts",
    # Pauli bookkeeping
    "pauli_labels",
    "pauli_index",
    "pauli_matrix",
    "pauli_coefficients",
    "state_from_coefficients",
    "project_to_state",
    # estimators
    "METHODS",
    "MLE_TOL",
    "Estimate",
    "DeviationEstimate",
    "linear_inversion",
    "weighted_least_squares",
    "projected_least_squares",
    "maximum_likelihood",
    "estimate",
    "deviation_estimate",
    # uncertainties
    "StandardErrors",
    "FunctionSummary",
    "BootstrapResult",
    "fisher_standard_errors",
    "bootstrap",
    # figures of merit and plots
    "fidelity",
    "trace_distance",
    "purity",
    "plot_density_matrix",
]
