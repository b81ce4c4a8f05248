"""Run small dense linear algebra with OpenBLAS limited to one thread.

The iterative estimators make thousands of eigensolves and products of
d×d matrices with d ≤ 64.  OpenBLAS gains nothing from threads at that size,
and on a loaded two-core machine its worker threads (which busy-wait between
calls) make each small call 10–40× slower.  :func:`single_threaded_blas`
sets every OpenBLAS library loaded in the process (numpy's and scipy's) to
one thread for the duration of a block and restores the previous counts
afterwards — the same calls threadpoolctl makes, without the dependency.
The public estimators, uncertainty and merit functions are wrapped with
:func:`single_threaded` (a lock and a few ctypes calls, ~µs).
It is re-entrant and thread-safe (a process-wide depth counter); where the
libraries or their symbols are not found it does nothing.  Private helper:
no physics here, no dependency on the rest of the project.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import threading

_lock = threading.Lock()
_depth = 0
_saved: list[int] = []
_libs: list[tuple] | None = None


def _find() -> list[tuple]:
    """(set, get) function pairs of every loaded OpenBLAS (Linux /proc maps)."""
    found = []
    try:
        with open("/proc/self/maps") as fh:
            paths = sorted({ln.split()[-1] for ln in fh if "openblas" in ln.lower() and ln.split()[-1].startswith("/")})
    except OSError:
        return found
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix in ("scipy_openblas", "openblas"):
            for suffix in ("64_", ""):
                set_ = getattr(lib, f"{prefix}_set_num_threads{suffix}", None)
                get_ = getattr(lib, f"{prefix}_get_num_threads{suffix}", None)
                if set_ is not None and get_ is not None:
                    set_.argtypes, set_.restype = [ctypes.c_int], None
                    get_.argtypes, get_.restype = [], ctypes.c_int
                    found.append((set_, get_))
                    break
            else:
                continue
            break
    return found


@contextlib.contextmanager
def single_threaded_blas():
    """Context manager: OpenBLAS uses one thread inside the block."""
    global _depth, _saved, _libs
    with _lock:
        if _libs is None:
            _libs = _find()
        if _depth == 0:
            _saved = [get_() for _, get_ in _libs]
            for set_, _ in _libs:
                set_(1)
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                for (set_, _), n in zip(_libs, _saved):
                    set_(max(int(n), 1))


def single_threaded(func):
    """Decorator: run ``func`` inside :func:`single_threaded_blas`."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with single_threaded_blas():
            return func(*args, **kwargs)

    return wrapper
