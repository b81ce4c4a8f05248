"""The typed error hierarchy of pulses.

Every mistake in what a caller hands to ``pulses`` (a bad spin-system
description, a malformed sequence element, a simulation that cannot proceed,
a missing or corrupt NMR data file) raises one of these, with a message that
names the field (or the element, or the file), the value and what is allowed.
They subclass ``ValueError`` so that code written against plain Python
conventions still catches them.  One meaning per class; the contract shared
with ``nmrqb`` and ``tomography`` is ``docs/errors.md``.  This module defines
exceptions only and imports nothing from the rest of the package (and never
``nmrqb``).
"""

from __future__ import annotations


class PulsesError(ValueError):
    """Base class of every error pulses raises for bad input."""


class SpinSystemError(PulsesError):
    """A spin-system description is malformed (unknown isotope, a label that
    is not a string, a negative T2, a coupling between spins that do not
    exist...)."""


class SequenceError(PulsesError):
    """A sequence or one of its elements is malformed, including its
    dict/JSON/TOML form (an unknown key, a value too large to represent); the
    message names the element and the field."""


class SimulationError(PulsesError):
    """A simulation cannot proceed (incompatible spin system and sequence,
    a non-finite propagator, a bad simulator option, a state space too large
    for memory...)."""


class DataError(PulsesError):
    """NMR data is unusable: a bad FID or spectrum value, a bad processing
    setting (SNR, line broadening, zero-fill size...), a missing, corrupt or
    out-of-range data file, or a path that must not be replaced (the message
    names the file or folder).  Same meaning as ``DataError`` in ``nmrqb``
    and ``tomography``: always about data, never about a description."""


__all__ = ["DataError", "PulsesError", "SequenceError", "SimulationError", "SpinSystemError"]
