"""Shared validation of user-supplied grids (times, Ωt values, map axes).

One place for the rule "a non-empty 1-D array of finite reals, optionally
bounded below", so every entry point words its errors the same way.
"""

from __future__ import annotations

import numpy as np

from nmrqb.errors import PhysicsError


def finite_grid(name: str, values, *, lower: float | None = None, strict: bool = False) -> np.ndarray:
    """Return ``values`` as a 1-D float64 array or raise a PhysicsError.

    A scalar becomes a one-element array.  With ``lower`` every value must be
    ≥ lower (> lower when ``strict``).
    """
    try:
        raw = np.asarray(values)
        if np.iscomplexobj(raw):
            raise TypeError
        t = raw.astype(np.float64)
    except (TypeError, ValueError):
        raise PhysicsError(f"{name} = {values!r} is not allowed: give an array of real numbers") from None
    if t.ndim == 0:
        t = t.reshape(1)
    if t.ndim != 1 or t.size == 0:
        raise PhysicsError(f"{name} has shape {t.shape}: a non-empty 1-D array is required")
    ok = np.isfinite(t)
    rule = "finite"
    if lower is not None:
        ok &= (t > lower) if strict else (t >= lower)
        rule += f" and {'>' if strict else '≥'} {lower:g}"
    if not np.all(ok):
        raise PhysicsError(f"{name} contains {float(t[~ok][0])!r}: every value must be {rule}")
    return t
