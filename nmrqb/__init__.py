"""nmrqb: NMR experiment planning for magnetic-dipolar quantum batteries.

The top-level package exposes the model and the error hierarchy; the
measures, the charging and the dephasing dynamics live in their own modules
(``nmrqb.measures``, ``nmrqb.dephasing``).  Conventions (Hamiltonian, signs,
metric definitions) follow ``DESIGN.md`` §1–§2.
"""

from nmrqb.errors import DataError, NmrqbError, PhysicsError, ProtocolError
from nmrqb.model import DipolarModel
from nmrqb import battery, dephasing, measures  # submodules usable after `import nmrqb`

__version__ = "0.1.0"

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
