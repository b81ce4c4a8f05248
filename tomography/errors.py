"""The typed error hierarchy of :mod:`tomography`.

Every mistake the library detects (a malformed readout, a wrong-sized data
vector, a non-physical state handed to a figure of merit, an estimator that
did not reach its stated tolerance) raises one of these, with a message that
names the field, the value and what is allowed.  They subclass ``ValueError``
so that code written against plain Python conventions still catches them.
One meaning per class; the contract shared with ``nmrqb`` and ``pulses`` is
``docs/errors.md``.  The module defines errors only; it must not import anything from the rest of
the project.
"""

from __future__ import annotations


class TomographyError(ValueError):
    """Base class of every error :mod:`tomography` raises for bad input."""


class ModelError(TomographyError):
    """A measurement model, readout or line is malformed (wrong dimension,
    non-Hermitian observable, non-unitary readout), or an estimator was asked
    to invert an informationally incomplete model without ``allow_incomplete``."""


class DataError(TomographyError):
    """Line amplitudes or noise levels are unusable (wrong length, NaN,
    σ ≤ 0, amplitudes no state can produce), or a setting of estimating from
    them is (an unknown method, a bad seed, a bootstrap size beyond the cap).
    Same meaning as ``DataError`` in ``nmrqb`` and ``pulses``: always about
    data, never about a model or a state."""


class StateError(TomographyError):
    """A matrix handed in as a density matrix is not one (not Hermitian,
    not unit trace, not positive semidefinite within the stated tolerance)."""


class ConvergenceError(TomographyError):
    """An iterative estimator stopped at its iteration cap before its
    certified error bound reached the requested tolerance."""


__all__ = ["TomographyError", "ModelError", "DataError", "StateError", "ConvergenceError"]
