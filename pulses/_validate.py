"""The input checks of pulses, written once.

Every public constructor and function of the package validates what a
caller hands it with these helpers, so that a bad value raises the
package's own error class (the caller passes which one: ``SpinSystemError``,
``SequenceError``, ``SimulationError`` or ``DataError``) with a one-line
message naming the field, the value (a truncated repr) and what is allowed,
and never a raw ``TypeError``/``OverflowError``/``MemoryError``.  Sizes are
checked against one cap, :data:`MAX_BYTES`, *before* anything is allocated.
This module holds checks only: no physics, no I/O, and it imports nothing
from the rest of pulses (the error class is an argument).
"""

from __future__ import annotations

import difflib
import math
import reprlib
from collections.abc import Iterator, Mapping
from collections.abc import Sequence as SequenceABC

import numpy as np

#: The largest single array (or batch of arrays) an input may ask pulses to
#: allocate: 4 GiB.  A pulse envelope of ``steps`` points (8 bytes each), an
#: acquisition of ``points`` complex samples (16 bytes each), a zero-filled
#: FID, the propagators of one simulation run or its acquisition trajectory:
#: anything larger is refused up front, with the size it would need.
MAX_BYTES = 4 * 2**30

#: Longest repr of a value quoted in an error message.
_SHOW = 60

_REAL = (int, float, np.integer, np.floating)

# reprlib bounds the work on long or deeply nested containers
_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxlist, _REPR.maxtuple, _REPR.maxdict = 3, 8, 8, 4
_REPR.maxstring, _REPR.maxother, _REPR.maxlong = 50, 50, 40


def show(value, limit: int = _SHOW) -> str:
    """A one-line repr of ``value``, at most ``limit`` characters, that
    never fails (deep nesting, huge integers, broken __repr__)."""
    if isinstance(value, (np.floating, np.complexfloating)):
        value = value.item()
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        value = v = int(value)
        if abs(v) >= 10**30:
            return f"an integer of {len(str(abs(v))) if abs(v) < 10**4000 else 'more than 4000'} digits"
    try:
        text = _REPR.repr(value)
    except Exception:  # noqa: BLE001 - RecursionError, ValueError (int digits), a broken __repr__
        text = f"<{type(value).__name__}>"
    text = " ".join(text.split())  # one line (numpy arrays print on several)
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return text


def format_bytes(n: float) -> str:
    """A byte count for a message: '7.5 GiB', '512 MiB', '96 B'."""
    if n >= 2**40 * 1e6:  # beyond a float's comfort (and an int of any size)
        digits = len(str(int(n))) if n < 10**4000 else 4001
        return f"about 10^{digits - 1} B"
    for unit, size in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            v = n / size
            return f"{v:.3g} {unit}" if v < 1e6 else f"{v:.3e} {unit}"
    return f"{int(n)} B"


def is_real(value) -> bool:
    """True for a real number (int, float, numpy real scalar), not a bool."""
    return isinstance(value, _REAL) and not isinstance(value, (bool, np.bool_))


def number(
    value,
    field: str,
    error: type[Exception],
    *,
    minimum: float | None = None,
    strict: bool = False,
    maximum: float | None = None,
    optional: bool = False,
) -> float | None:
    """``value`` as a finite float, or ``error`` naming ``field``.

    ``minimum`` with ``strict=False`` requires value ≥ minimum, with
    ``strict=True`` value > minimum; ``maximum`` requires value ≤ maximum.
    ``optional=True`` lets ``None`` through (returned as ``None``).  Bools,
    strings, containers and integers too large for a float are refused.
    """
    if value is None and optional:
        return None
    if isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "iuf":
        value = value.item()  # a 0-d array holding one real number
    rule = "a finite number"
    if minimum is not None:
        rule += f" {'>' if strict else '≥'} {minimum:g}"
    if maximum is not None:
        rule += f"{' and' if minimum is not None else ''} ≤ {maximum:g}"
    if not is_real(value):
        raise error(f"{field} = {show(value)} is not allowed: it must be {rule}")
    try:
        v = float(value)
    except OverflowError:
        raise error(f"{field} = {show(value)} is not allowed: it is too large for a float; it must be {rule}") from None
    bad = not math.isfinite(v)
    if minimum is not None:
        bad = bad or (v <= minimum if strict else v < minimum)
    if maximum is not None:
        bad = bad or v > maximum
    if bad:
        raise error(f"{field} = {show(value)} is not allowed: it must be {rule}")
    return v


def integer(
    value, field: str, error: type[Exception], *, minimum: int | None = None, maximum: int | None = None
) -> int:
    """``value`` as an int (Python or numpy integer, not a bool or a float),
    or ``error`` naming ``field``."""
    rule = "an integer"
    if minimum is not None and maximum is not None:
        rule += f" in [{minimum}, {maximum}]"
    elif minimum is not None:
        rule += f" ≥ {minimum}"
    elif maximum is not None:
        rule += f" ≤ {maximum}"
    if not isinstance(value, (int, np.integer)) or isinstance(value, (bool, np.bool_)):
        raise error(f"{field} = {show(value)} is not allowed: it must be {rule}")
    v = int(value)
    if (minimum is not None and v < minimum) or (maximum is not None and v > maximum):
        raise error(f"{field} = {show(value)} is not allowed: it must be {rule}")
    return v


def boolean(value, field: str, error: type[Exception]) -> bool:
    """``value`` if it is a bool (or numpy bool), else ``error``."""
    if not isinstance(value, (bool, np.bool_)):
        raise error(f"{field} = {show(value)} is not allowed: give true or false")
    return bool(value)


def string(value, field: str, error: type[Exception], *, nonempty: bool = False) -> str:
    """``value`` if it is a str of valid Unicode (it can be written as
    UTF-8, so it survives JSON and TOML), else ``error``."""
    if not isinstance(value, str):
        raise error(f"{field} = {show(value)} is not allowed: give a string")
    if nonempty and not value:
        raise error(f"{field} = '' is not allowed: give a non-empty string")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise error(f"{field} = {show(value)} is not allowed: it holds a lone surrogate, which is not text") from None
    return value


def items(value, field: str, error: type[Exception], what: str) -> tuple:
    """``value`` as a tuple when it is a list, a tuple, a range, a 1-D numpy
    array or another sized sequence.  Strings, bytes, mappings and sets are
    refused (their items are not what the caller meant, or have no order),
    and so are iterators and generators (one could be endless: wrap it in
    ``list(...)``).  ``what`` describes the expected items, e.g. "Spin
    objects"."""
    if isinstance(value, np.ndarray):
        ok = value.ndim == 1
    else:
        ok = isinstance(value, SequenceABC) and not isinstance(value, (str, bytes, bytearray))
    if not ok:
        hint = " (wrap an iterator in list(...))" if isinstance(value, Iterator) else ""
        raise error(f"{field} = {show(value)} is not allowed: give a list of {what}{hint}")
    return tuple(value)


def mapping(value, field: str, error: type[Exception], what: str = "fields") -> dict:
    """``value`` as a dict when it is a mapping, else ``error``."""
    if not isinstance(value, Mapping):
        raise error(f"{field} = {show(value)} is not allowed: give a mapping (a dict or a table) of {what}")
    return dict(value)


def known_keys(value: Mapping, allowed, where: str, error: type[Exception]) -> None:
    """Refuse the keys of ``value`` that are not in ``allowed``, suggesting
    the closest allowed key (difflib) when there is one:
    ``where: unknown field(s) receiver_phase (did you mean
    'receiver_phase_deg'? allowed: ...)``."""
    allowed = tuple(allowed)
    unknown = [k for k in value if k not in allowed]
    if not unknown:
        return
    names = ", ".join(sorted(k if isinstance(k, str) else show(k) for k in unknown)[:5])
    if len(unknown) > 5:
        names += f" and {len(unknown) - 5} more"
    hints = [h for k in unknown if isinstance(k, str) for h in difflib.get_close_matches(k, allowed, n=1)]
    guess = f"did you mean {hints[0]!r}? " if hints else ""
    raise error(f"{where}: unknown field(s) {names[:120]} ({guess}allowed: {', '.join(allowed)})")


def check_size(nbytes: float, field: str, value, what: str, error: type[Exception]) -> None:
    """Refuse, before allocating, a request for more than :data:`MAX_BYTES`.

    ``field = value`` is what the caller set, ``what`` what would be
    allocated ("its envelope", "the zero-filled data")."""
    if nbytes > MAX_BYTES:
        raise error(
            f"{field} = {show(value)} is not allowed: {what} would need {format_bytes(nbytes)}; "
            f"at most {format_bytes(MAX_BYTES)} is allowed (pulses._validate.MAX_BYTES)"
        )


def one_line(text: str) -> str:
    """``text`` (e.g. a third-party error message) on one line."""
    return " ".join(str(text).split())


def number_array(value, field: str, error: type[Exception], what: str = "real numbers") -> np.ndarray:
    """``value`` as a 1-D float64 array of finite numbers (a number or a
    list of numbers; no bools or strings), else ``error``."""
    vals = value if isinstance(value, (list, tuple, np.ndarray)) else [value]
    if isinstance(vals, np.ndarray):
        if vals.ndim > 1 or vals.dtype.kind not in "iuf":
            raise error(f"{field} = {show(value)} is not allowed: give a number or a list of {what}")
        vals = vals.tolist()
    if not vals or not all(is_real(v) for v in vals):
        raise error(f"{field} = {show(value)} is not allowed: give a number or a list of {what}")
    try:
        arr = np.array([float(v) for v in vals], dtype=np.float64)
    except OverflowError:
        raise error(f"{field} = {show(value)} is not allowed: a value is too large for a float") from None
    if not np.all(np.isfinite(arr)):
        raise error(f"{field} = {show(value)} is not allowed: every value must be finite")
    return arr


def array(
    value, field: str, error: type[Exception], what: str = "an array of numbers", *, complex_ok: bool = True
) -> np.ndarray:
    """``value`` (a number, nested lists or tuples, or a numpy array, of real
    — or, with ``complex_ok``, complex — numbers; no bools, strings or
    objects) as a new complex128 (float64 without ``complex_ok``) array,
    else ``error``.  Neither the shape nor finiteness is checked."""
    if isinstance(value, (np.number, complex, float, int)) and not isinstance(value, (bool, np.bool_)):
        raw = np.asarray(value)
    elif isinstance(value, (list, tuple, np.ndarray)) or (
        hasattr(value, "__array__") and not isinstance(value, (str, bytes, Mapping))
    ):
        try:
            raw = np.asarray(value)
        except (TypeError, ValueError, OverflowError, RecursionError):
            raw = None
    else:
        raw = None
    kinds = "iufc" if complex_ok else "iuf"
    if raw is None or raw.dtype.kind not in kinds:
        raise error(f"{field} = {show(value)} is not allowed: give {what}")
    return np.array(raw, dtype=np.complex128 if complex_ok else np.float64, copy=True)


def complex_array(value, field: str, error: type[Exception], what: str = "an array of numbers") -> np.ndarray:
    """:func:`array` with complex values allowed (a complex128 copy)."""
    return array(value, field, error, what)


__all__ = [
    "MAX_BYTES", "array", "boolean", "check_size", "complex_array", "format_bytes", "integer", "is_real", "items",
    "known_keys", "mapping", "number", "number_array", "one_line", "show", "string",
]
