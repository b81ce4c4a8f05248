"""The typed error hierarchy of nmrqb.

Every user mistake (a bad parameter, an unphysical state, a malformed
protocol or data file) raises one of these, with a message that names the
field, the value and what is allowed.  The CLI prints the message on one line
and exits non-zero.  They subclass ``ValueError`` so that code written against
plain Python conventions still catches them.
"""

from __future__ import annotations


class NmrqbError(ValueError):
    """Base class of every error nmrqb raises for bad input."""


class PhysicsError(NmrqbError):
    """A parameter or state is outside what the physics allows
    (T <= 0, a non-Hermitian density matrix, a NaN field...)."""


class ProtocolError(NmrqbError):
    """A protocol file or a sequence description is malformed."""


class DataError(NmrqbError):
    """An input or output data file is missing, corrupt or inconsistent."""


__all__ = ["NmrqbError", "PhysicsError", "ProtocolError", "DataError"]
