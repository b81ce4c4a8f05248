"""Input checks shared by the public functions of :mod:`tomography`.

One place for the rules every public function applies to what it is given:

* :data:`VALUE_MAX` — the numeric range.  Amplitudes, model entries (A, b,
  observables, unitaries), matrices handed in as states and Pauli
  coefficients must have magnitude ≤ 1e60; noise levels σ, the deviation
  scale α and the normalised noise σ/α must lie in [1e-60, 1e60].  Any
  physical unit system is far inside; the point is that products of up to
  four such numbers (σ², 1/σ², A²/σ², r²/σ² summed over 10⁸ lines) stay
  finite, non-zero float64 numbers, so nothing overflows silently.
* :data:`MEMORY_MAX` — 2 GiB: a call whose arrays would need more (a
  bootstrap with 10¹² resamples, ``simulate(size=10**10)``, a dense model
  of 7+ qubits) is refused before anything is allocated, with the size it
  would need.
* :func:`make_rng` — the one seed rule: a non-negative int, a non-empty
  flat sequence of them, a ``numpy.random.SeedSequence``, a
  ``BitGenerator`` or a ``Generator`` (what ``numpy.random.default_rng``
  takes, minus ``None``: draws must be reproducible).
* :func:`show` — the offending value in a message: its repr on one line,
  truncated.

Private module; it imports only numpy and :mod:`tomography.errors`.
"""

from __future__ import annotations

import reprlib
from collections.abc import Sequence
from typing import Any

import numpy as np

from tomography.errors import DataError

#: Largest magnitude of any number taken in; σ and α lie in [VALUE_MIN, VALUE_MAX].
VALUE_MAX = 1e60
VALUE_MIN = 1e-60

#: Largest amount of memory (bytes) one call may allocate for its arrays.
MEMORY_MAX = 2 * 2**30

_BAD_CONVERT = (TypeError, ValueError, OverflowError, RecursionError)

_REPR = reprlib.Repr()  # bounded work for huge nests, long strings and big ints
_REPR.maxlevel, _REPR.maxlist, _REPR.maxtuple, _REPR.maxdict = 3, 6, 6, 4
_REPR.maxstring, _REPR.maxlong, _REPR.maxother = 40, 40, 60


def show(x: Any, limit: int = 60) -> str:
    """repr(x) on one line, truncated to ``limit`` characters."""
    try:
        if isinstance(x, np.ndarray):
            text = f"array(shape={x.shape}, dtype={x.dtype})" if x.size > 8 else repr(x)
        else:
            text = _REPR.repr(x)
    except Exception:  # a hostile __repr__
        text = f"<{type(x).__name__}>"
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def fmt_bytes(n: float) -> str:
    """A byte count in binary units (``"3.2 GiB"``)."""
    n = float(min(n, 10**300))
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"):
        if n < 1024 or unit == "EiB":
            return f"{n:.3g} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return f"{n:.3g} EiB"  # pragma: no cover


def require_memory(nbytes: float, what: str, err=DataError) -> None:
    """Refuse (``err``) a call whose arrays would need more than MEMORY_MAX."""
    if not nbytes <= MEMORY_MAX:
        raise err(f"{what} would need {fmt_bytes(nbytes)} of memory: at most {fmt_bytes(MEMORY_MAX)} is allowed")


def numeric_array(x: Any, name: str, err=DataError, *, complex_ok: bool = False) -> np.ndarray:
    """``x`` as a float64 (or complex128) array, or ``err`` naming ``name``.

    Refused: None, bools (alone or as the array's type), strings, mappings,
    ragged or non-numeric nests, integers beyond float64, complex values
    unless ``complex_ok``.  Finiteness and range are the caller's business
    (it knows which element to name).
    """
    kind = "a real number or array" if not complex_ok else "a number or numeric array"
    if x is None or isinstance(x, (bool, np.bool_, str, bytes, dict, set, frozenset)):
        raise err(f"{name} = {show(x)} is not allowed: {kind} is required")
    try:
        raw = np.asarray(x)
    except _BAD_CONVERT:
        raise err(f"{name} = {show(x)} is not allowed: {kind} (not ragged, not nested deeper) is required") from None
    if raw.dtype.kind == "b":
        raise err(f"{name} = {show(x)} is not allowed: {kind} is required, not booleans")
    if raw.dtype.kind == "c" and not complex_ok:
        raise err(f"{name} = {show(x)} is not allowed: real values are required, got complex ones")
    if raw.dtype.kind not in "iufcO":
        raise err(f"{name} = {show(x)} is not allowed: {kind} is required, got {raw.dtype.kind!r}-type data")
    if raw.dtype.kind == "O":  # only numbers may hide in an object array (big ints, mixed types)
        for v in raw.ravel():
            if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, complex, np.number)):
                raise err(f"{name} = {show(x)} is not allowed: {kind} is required, it holds {show(v, 30)}")
    try:
        arr = np.asarray(raw, dtype=np.complex128 if complex_ok else np.float64)
    except _BAD_CONVERT:
        raise err(f"{name} = {show(x)} is not allowed: {kind} is required") from None
    return arr


def first_bad(arr: np.ndarray, bad: np.ndarray) -> tuple[str, Any]:
    """("[i, j]", value) of the first True entry of ``bad`` in ``arr``."""
    k = np.argwhere(bad)[0]
    v = arr[tuple(k)]
    v = complex(v) if np.iscomplexobj(v) else float(v)
    return "[" + ", ".join(map(str, k)) + "]", v


def check_range(arr: np.ndarray, name: str, err=DataError, *, what: str = "values") -> None:
    """Every entry finite with magnitude ≤ VALUE_MAX, else ``err`` naming the first bad entry."""
    mag = np.abs(arr)
    bad = ~(mag <= VALUE_MAX)  # NaN compares False
    if bad.any():
        idx, v = first_bad(arr, bad)
        idx = idx if arr.ndim else ""
        raise err(
            f"{name}{idx} = {v!r} is not allowed: {what} must be finite with magnitude ≤ {VALUE_MAX:g}"
        )


def check_bool(x: Any, name: str, err=DataError) -> bool:
    if not isinstance(x, (bool, np.bool_)):
        raise err(f"{name} = {show(x)} is not allowed: True or False is required")
    return bool(x)


def check_int(x: Any, name: str, lo: int, hi: int | None = None, err=DataError) -> int:
    """An integer (not bool) in [lo, hi], else ``err``."""
    allowed = f"an integer ≥ {lo}" if hi is None else f"an integer from {lo} to {hi:,}"
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, (int, np.integer)):
        raise err(f"{name} = {show(x)} is not allowed: {allowed} is required")
    v = int(x)
    if v < lo or (hi is not None and v > hi):
        raise err(f"{name} = {show(x)} is not allowed: {allowed} is required")
    return v


def check_str(x: Any, name: str, err=DataError, *, empty: bool = False) -> str:
    if not isinstance(x, str) or (not empty and not x):
        raise err(f"{name} = {show(x)} is not allowed: a {'' if empty else 'non-empty '}string is required")
    return x


def str_sequence(x: Any, name: str, err=DataError) -> tuple[str, ...]:
    """A list/tuple of strings (a lone string is not a sequence of names)."""
    if isinstance(x, np.ndarray) and x.ndim == 1:
        x = x.tolist()
    if not isinstance(x, (list, tuple)) or not all(isinstance(v, str) for v in x):
        raise err(f"{name} = {show(x)} is not allowed: a list or tuple of strings is required")
    return tuple(x)


def make_rng(seed: Any, where: str) -> np.random.Generator:
    """The one seed rule of the package (see the module docstring).

    An int seed gives exactly ``numpy.random.default_rng(seed)``; a
    sequence [s, r] is the way to derive independent per-repetition streams.
    """
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, (np.random.SeedSequence, np.random.BitGenerator)):
        return np.random.default_rng(seed)
    allowed = ("give an integer ≥ 0, a non-empty sequence of integers ≥ 0, a numpy SeedSequence or a numpy "
               "Generator")
    ok = False
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, (bool, np.bool_)):
        ok = int(seed) >= 0
        value = int(seed)
    elif isinstance(seed, (Sequence, np.ndarray)) and not isinstance(seed, (str, bytes)):
        items = list(seed.tolist() if isinstance(seed, np.ndarray) else seed)
        ok = bool(items) and all(
            isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)) and int(v) >= 0 for v in items
        )
        value = [int(v) for v in items] if ok else None
    if not ok:
        raise DataError(f"{where}: seed = {show(seed)} is not allowed: {allowed}")
    return np.random.default_rng(value)
