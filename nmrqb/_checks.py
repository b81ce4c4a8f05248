"""Shared validation of user input: real scalars, grids (times, Ωt values,
map axes), sizes, and the one-line rendering of bad values in messages.

One place for the rules, so every entry point words its errors the same way:
a message names the parameter, shows the bad value (shortened to one line)
and says what is allowed.

Ranges (the justification is in :class:`nmrqb.model.DipolarModel` and the
module docstrings that use them):

* :data:`PARAMETER_LIMIT` = 1e150 bounds |model parameters|, |Ω|, γ and every
  |time| or |Ωt| value.  It is about the square root of the float64 range
  (1.8e308), so that every intermediate of the closed forms (energies,
  energy differences, Tr[ρH], charging coefficients, power) and every product
  of a rate with a time (the Liouvillian ‖L‖·t) stays finite with a margin of
  > 1e150.
* :data:`MEMORY_CAP` = 2 GiB bounds the memory a single call may allocate;
  grids that would need more are refused before anything is allocated, and
  the message states the size they would need.
"""

from __future__ import annotations

import math
import numbers
import reprlib

import numpy as np

from nmrqb.errors import PhysicsError

#: Largest allowed |value| of a model parameter, a rate, a time or an Ωt.
PARAMETER_LIMIT = 1e150

#: Largest number of bytes a single call may allocate (results and working set).
MEMORY_CAP = 2 * 2**30

_REPR = reprlib.Repr()
_REPR.maxlevel = 2
_REPR.maxlist = _REPR.maxtuple = _REPR.maxdict = _REPR.maxset = 4
_REPR.maxstring = 40
_REPR.maxother = 40
_REPR.maxlong = 40


def short_repr(value) -> str:
    """A one-line, bounded-length repr of any value (for error messages)."""
    try:
        if isinstance(value, np.ndarray):
            text = f"array(shape={value.shape}, dtype={value.dtype})" if value.size > 4 else repr(value.tolist())
        else:
            text = _REPR.repr(value)
    except Exception:  # a hostile __repr__ must not hide the real error
        text = f"<{type(value).__name__}>"
    text = " ".join(text.split())
    return text if len(text) <= 80 else text[:77] + "..."


def fmt_bytes(n: float) -> str:
    """Bytes in human units: '1.5 GiB'."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.3g} {unit}"
        n /= 1024
    return f"{n:.3g} PiB"  # pragma: no cover


def check_memory(name: str, nbytes: float, what: str) -> None:
    """Raise a PhysicsError naming ``name`` when ``nbytes`` exceed MEMORY_CAP.

    ``what`` completes the sentence "<name> ...: <what> would need X".
    """
    if nbytes > MEMORY_CAP:
        raise PhysicsError(
            f"{name} is too large: {what} would need {fmt_bytes(nbytes)}, "
            f"more than the {fmt_bytes(MEMORY_CAP)} a call may use"
        )


def is_real_scalar(value) -> bool:
    """True for a real number (Python or numpy, or a 0-d numeric array), not a bool."""
    if isinstance(value, (bool, np.bool_)):
        return False
    if isinstance(value, np.ndarray):
        return value.ndim == 0 and value.dtype.kind in "iuf"
    return isinstance(value, numbers.Real)


def real_scalar(
    name: str,
    value,
    *,
    limit: float | None = PARAMETER_LIMIT,
    lower: float | None = None,
    strict: bool = False,
    lower_rule: str | None = None,
) -> float:
    """Return ``value`` as a float or raise a PhysicsError naming ``name``.

    Accepts Python and numpy real numbers (not bools, strings, complex
    numbers or arrays other than 0-d).  The value must be finite, |value| ≤
    ``limit`` (when given) and ≥ ``lower`` (> when ``strict``); ``lower_rule``
    words the last rule (default "it must be ≥ lower").  Messages:
    "<name> = <value> is not allowed: it must be a finite real number" (wrong
    type or not finite), "...: it must satisfy |<name>| ≤ <limit>", or the
    lower rule.
    """
    finite_rule = f"{name} = {{}} is not allowed: it must be a finite real number"
    if not is_real_scalar(value):
        if isinstance(value, np.ndarray) and value.dtype.kind in "iuf":
            raise PhysicsError(f"{name} has shape {value.shape}: it must be a single real number")
        raise PhysicsError(finite_rule.format(short_repr(value)))
    try:
        v = float(value)
    except (OverflowError, ValueError, TypeError):
        raise PhysicsError(
            finite_rule.format(short_repr(value)) + (f" with |{name}| ≤ {limit:g}" if limit is not None else "")
        ) from None
    if not math.isfinite(v):
        raise PhysicsError(finite_rule.format(repr(v)))
    if limit is not None and abs(v) > limit:
        raise PhysicsError(f"{name} = {v!r} is not allowed: it must satisfy |{name}| ≤ {limit:g}")
    if lower is not None and (v <= lower if strict else v < lower):
        rule = lower_rule or f"it must be {'>' if strict else '≥'} {lower:g}"
        raise PhysicsError(f"{name} = {v!r} is not allowed: {rule}")
    return v


def _as_float_array(name: str, values) -> np.ndarray:
    """Convert to float64 without accepting bools, strings, complex or None."""
    msg = f"{name} = {short_repr(values)} is not allowed: give an array of real numbers"
    if isinstance(values, (str, bytes, dict, set)) or values is None:
        raise PhysicsError(msg)
    try:
        raw = np.asarray(values)
    except (TypeError, ValueError, OverflowError, RecursionError):
        raise PhysicsError(msg) from None
    kind = raw.dtype.kind
    if kind in "iuf":
        return raw.astype(np.float64)
    if kind == "O":
        flat = raw.ravel()
        if not all(is_real_scalar(x) for x in flat):
            raise PhysicsError(msg)
        try:
            return np.array([float(x) for x in flat], dtype=np.float64).reshape(raw.shape)
        except (OverflowError, ValueError, TypeError):
            raise PhysicsError(
                f"{name} contains a number too large for float64: every value must be finite"
            ) from None
    raise PhysicsError(msg)  # bool, complex, str, bytes, datetime...


def real_array(
    name: str,
    values,
    *,
    limit: float | None = PARAMETER_LIMIT,
    lower: float | None = None,
    strict: bool = False,
) -> np.ndarray:
    """Return ``values`` (a scalar or an array of any shape, also empty) as a
    float64 array whose values are finite, |value| ≤ ``limit`` and ≥ ``lower``
    (> when ``strict``), or raise a PhysicsError naming ``name``."""
    t = _as_float_array(name, values)
    ok = np.isfinite(t)
    rule = "finite"
    if limit is not None:
        ok &= np.abs(np.where(ok, t, 0.0)) <= limit
        rule += f" with |value| ≤ {limit:g}"
    if lower is not None:
        ok &= (t > lower) if strict else (t >= lower)
        rule += f" and {'>' if strict else '≥'} {lower:g}"
    if not np.all(ok):
        raise PhysicsError(f"{name} contains {float(t[~ok].flat[0])!r}: every value must be {rule}")
    return t


def finite_grid(
    name: str,
    values,
    *,
    lower: float | None = None,
    strict: bool = False,
    limit: float | None = PARAMETER_LIMIT,
    bytes_per_value: int | None = None,
    what: str = "the computation",
) -> np.ndarray:
    """Return ``values`` as a 1-D float64 array or raise a PhysicsError.

    A scalar becomes a one-element array.  Every value must be finite, with
    |value| ≤ ``limit`` and ≥ ``lower`` (> lower when ``strict``).  With
    ``bytes_per_value`` the grid may hold at most MEMORY_CAP // bytes_per_value
    values; the length of a sequence is checked before it is converted, so
    nothing is allocated for an oversized grid, and the message states the
    memory ``what`` would need.
    """

    def size_check(n: int) -> None:
        if bytes_per_value is not None and n * bytes_per_value > MEMORY_CAP:
            raise PhysicsError(
                f"{name} has {n:,} values: {what} would need {fmt_bytes(n * bytes_per_value)}, "
                f"more than the {fmt_bytes(MEMORY_CAP)} a call may use "
                f"(at most {MEMORY_CAP // bytes_per_value:,} values)"
            )

    if isinstance(values, np.ndarray):
        size_check(values.size)
    elif isinstance(values, (list, tuple, range)):
        size_check(len(values))
    t = _as_float_array(name, values)
    if t.ndim == 0:
        t = t.reshape(1)
    if t.ndim != 1 or t.size == 0:
        raise PhysicsError(f"{name} has shape {t.shape}: a non-empty 1-D array is required")
    size_check(t.size)
    return real_array(name, t, limit=limit, lower=lower, strict=strict)
