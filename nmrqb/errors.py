"""The typed error hierarchy of nmrqb.

Every user mistake (a bad parameter, an unphysical state, a malformed
protocol, an unusable file or folder) raises one of these, with a one-line
message that names the field, the value and what is allowed.  The CLI prints
the message on one line and exits with status 1; it treats ``pulses``' and
``tomography``'s errors the same way.  They subclass ``ValueError`` so that
code written against plain Python conventions still catches them.  One
meaning per class; the contract of all three packages is ``docs/errors.md``.
"""

from __future__ import annotations


class NmrqbError(ValueError):
    """Base class of every error nmrqb raises for bad input."""


class PhysicsError(NmrqbError):
    """A model parameter, temperature, grid or state is outside what the
    physics or floating point allows (T <= 0, a NaN field, a parameter whose
    spectrum would overflow, a non-Hermitian density matrix...)."""


class ProtocolError(NmrqbError):
    """What the user asked to run is malformed: a protocol file or one of its
    keys, or a command-line request (a figure number outside 3-10...)."""


class DataError(NmrqbError):
    """A file or folder nmrqb reads or writes is unusable: an output folder
    that cannot be created or written, a file in the way of an output, a
    missing or corrupt data set."""


__all__ = ["NmrqbError", "PhysicsError", "ProtocolError", "DataError"]
