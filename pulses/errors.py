"""The typed error hierarchy of pulses.

Every mistake in what a caller hands to ``pulses`` (a bad spin-system
description, a malformed sequence element, a simulation that cannot proceed,
a missing or corrupt NMR data file) raises one of these, with a message that
names the field (or the element, or the file), the value and what is allowed.
They subclass ``ValueError`` so that code written against plain Python
conventions still catches them.  This module defines exceptions only and
imports nothing from the rest of the package (and never ``nmrqb``).
"""

from __future__ import annotations


class PulsesError(ValueError):
    """Base class of every error pulses raises for bad input."""


class SpinSystemError(PulsesError):
    """A spin-system description is malformed (unknown isotope, a negative
    T2, a coupling between spins that do not exist...)."""


class SequenceError(PulsesError):
    """A sequence or one of its elements is malformed; the message names the
    element and the field."""


class SimulationError(PulsesError):
    """A simulation cannot proceed (incompatible spin system and sequence,
    a non-finite propagator, an impossible acquisition...)."""


class DataError(PulsesError):
    """NMR data or its processing is invalid: a bad FID or spectrum field, a
    bad processing parameter (SNR, line broadening, zero-fill size...), or a
    missing, corrupt or inconsistent data file (the message names the file)."""


__all__ = ["DataError", "PulsesError", "SequenceError", "SimulationError", "SpinSystemError"]
