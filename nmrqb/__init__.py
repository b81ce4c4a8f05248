"""nmrqb: NMR experiment planning for magnetic-dipolar quantum batteries.

The top-level package exposes the model and the error hierarchy; the
measures, the charging and the dephasing dynamics live in their own modules
(``nmrqb.measures``, ``nmrqb.battery``, ``nmrqb.dephasing``).  Conventions
(Hamiltonian, signs, metric definitions) follow ``DESIGN.md`` §1–§2.

The model and the submodules are imported on first use (PEP 562), so that
``import nmrqb`` and the command line start without loading qutip; ``from
nmrqb import DipolarModel, measures`` works as for any package.
"""

from __future__ import annotations

import importlib

from nmrqb.errors import DataError, NmrqbError, PhysicsError, ProtocolError

__version__ = "0.1.0"

_LAZY = {
    "DipolarModel": ("nmrqb.model", "DipolarModel"),
    "battery": ("nmrqb.battery", None),
    "dephasing": ("nmrqb.dephasing", None),
    "measures": ("nmrqb.measures", None),
}


def __getattr__(name: str):
    try:
        module, attr = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'nmrqb' has no attribute {name!r}") from None
    mod = importlib.import_module(module)
    value = mod if attr is None else getattr(mod, attr)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "DipolarModel",
    "battery",
    "dephasing",
    "measures",
    "NmrqbError",
    "PhysicsError",
    "ProtocolError",
    "DataError",
    "__version__",
]
