import os
import sys

# Small linear algebra on a shared 2-core machine: BLAS threading only adds
# contention (10-40x slower under load).  Must be set before numpy loads.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

# Make the shared helpers in this folder importable as plain modules.
sys.path.insert(0, os.path.dirname(__file__))


def pytest_collection_modifyitems(config, items):
    """Tests named ``*fuzz*`` form the property-based fuzz suite of issue 8
    (``pytest -m fuzz``): arbitrary JSON-like values into every public
    constructor and function of nmrqb, pulses, tomography and the CLI."""
    import pytest

    for item in items:
        if "fuzz" in item.name:
            item.add_marker(pytest.mark.fuzz)
