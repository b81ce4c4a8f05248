"""Parallelism for nmrqb: the one place that decides threads, processes and Dask.

Every parallel section of nmrqb goes through this module, so that the number
of workers, the kind of worker and the BLAS threading are chosen in one
place:

* :func:`thread_map` runs independent, GIL-releasing numpy kernels on a
  thread pool (``nmrqb.battery.charging_map`` uses it for its chunks);
* :class:`Executor` is what a sweep submits its points to:
  :class:`LocalExecutor` (local processes, the default, or threads) and
  :class:`DaskExecutor` (a Dask ``distributed`` cluster, local or remote),
  built by :func:`make_executor`;
* :func:`blas_threads` limits the BLAS thread pool with ``threadpoolctl``.
  Worker processes limit BLAS to one thread each (the parallelism is across
  workers; BLAS threading on nmrqb's small matrices only adds contention),
  and nothing in nmrqb sets ``OMP_NUM_THREADS`` and the like by hand;
* :func:`default_workers` is the worker count when none is given: the CPUs
  this process may use, or the environment variable ``NMRQB_WORKERS``.

Results never depend on the executor or the worker count: every ``map``
returns results in input order, and the functions mapped must not depend on
the order of execution (a sweep derives each point's seed from its
coordinates).  Bad settings (zero workers, a malformed scheduler address,
``distributed`` not installed) raise a one-line
:class:`~nmrqb.errors.ProtocolError`.
"""

from __future__ import annotations

import multiprocessing
import operator
import os
import pickle
import re
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from typing import Any, Protocol, runtime_checkable

from nmrqb._checks import short_repr
from nmrqb.errors import ProtocolError

__all__ = [
    "ENV_WORKERS",
    "MAX_WORKERS",
    "default_workers",
    "blas_threads",
    "thread_map",
    "Executor",
    "LocalExecutor",
    "DaskExecutor",
    "make_executor",
    "check_address",
]

#: Environment variable that overrides :func:`default_workers`.
ENV_WORKERS = "NMRQB_WORKERS"

#: Largest worker count accepted anywhere (a guard against typos such as 10000).
MAX_WORKERS = 1024

_ADDRESS = re.compile(r"^(tcp|tls)://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):(\d{1,5})$")


def _check_workers(workers, name: str = "workers") -> int:
    """``workers`` as an int in [1, MAX_WORKERS], else a one-line ProtocolError."""
    bad = ProtocolError(f"{name} = {short_repr(workers)} is not allowed: give an integer in [1, {MAX_WORKERS}]")
    if isinstance(workers, bool) or not hasattr(workers, "__index__"):
        raise bad
    try:
        n = operator.index(workers)
    except TypeError:
        raise bad from None
    if not 1 <= n <= MAX_WORKERS:
        raise bad
    return n


def _available_cpus() -> int:
    """CPUs this process may run on (its affinity mask where the OS has one)."""
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        n = os.cpu_count() or 1
    return max(1, n)


def default_workers() -> int:
    """The number of workers to use when none is given.

    Returns
    -------
    int
        ``NMRQB_WORKERS`` if set (an integer in [1, :data:`MAX_WORKERS`]),
        else the number of CPUs this process may use, bounded to
        [1, :data:`MAX_WORKERS`].

    Raises
    ------
    ProtocolError
        If ``NMRQB_WORKERS`` is set to anything but such an integer.
    """
    raw = os.environ.get(ENV_WORKERS)
    if raw is None or raw.strip() == "":
        return min(MAX_WORKERS, _available_cpus())
    try:
        n = int(raw.strip())
    except ValueError:
        n = None
    if n is None or not 1 <= n <= MAX_WORKERS:
        raise ProtocolError(
            f"environment variable {ENV_WORKERS} = {raw!r} is not allowed: give an integer in [1, {MAX_WORKERS}]"
        )
    return n


@contextmanager
def blas_threads(n: int):
    """Limit the BLAS thread pools of this process to ``n`` threads.

    Uses ``threadpoolctl.threadpool_limits(n, user_api="blas")``; the
    previous limits are restored on exit.  The limit is process-wide (it
    affects other threads of this process while active).

    Parameters
    ----------
    n : int
        Threads in [1, :data:`MAX_WORKERS`].

    Yields
    ------
    threadpoolctl.ThreadpoolController-like limiter
        The object returned by ``threadpool_limits``.

    Examples
    --------
    >>> with blas_threads(1):
    ...     pass  # numpy linear algebra here runs BLAS on one thread
    """
    n = _check_workers(n, "BLAS threads")
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=n, user_api="blas") as limiter:
        yield limiter


#: Kept alive so that a worker's BLAS limit holds for the worker's lifetime.
_WORKER_LIMITER = None


def _limit_blas_in_worker() -> None:
    """Initializer of worker processes: BLAS on one thread (threadpoolctl)."""
    global _WORKER_LIMITER
    from threadpoolctl import threadpool_limits

    _WORKER_LIMITER = threadpool_limits(limits=1, user_api="blas")


@contextmanager
def _sigint_ignored(active: bool = True) -> Iterator[None]:
    """SIGINT ignored while worker processes are started (they inherit it
    through exec, so a Ctrl-C sent to the whole process group during their
    start-up prints no traceback from them); the parent's handler is back
    after."""
    import signal
    import threading

    if not active or threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _init_local_worker() -> None:
    """Initializer of local worker processes: BLAS on one thread, Ctrl-C
    ignored (a terminal sends SIGINT to the whole process group; the parent
    handles it and stops the workers, so they print nothing), no
    multiprocessing lock for tqdm."""
    import signal
    import threading

    from tqdm import tqdm

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # tqdm's default lock is a multiprocessing semaphore; a worker stopped by
    # terminate() never releases it and the resource tracker then warns of a
    # leak at exit.  Progress bars in a worker are disabled anyway.
    tqdm.set_lock(threading.RLock())
    _limit_blas_in_worker()


def thread_map(fn: Callable[[Any], Any], items: Iterable, workers: int | None = None) -> list:
    """``[fn(x) for x in items]`` on a thread pool, results in input order.

    For independent numpy kernels that release the GIL.  With one worker (or
    at most one item) everything runs inline in the calling thread.  The
    first exception raised by ``fn`` (in input order) propagates after all
    submitted calls have finished.

    Parameters
    ----------
    fn : callable
        Called once per item.
    items : iterable
        The arguments.
    workers : int, optional
        Threads in [1, :data:`MAX_WORKERS`]; default :func:`default_workers`.

    Returns
    -------
    list
        ``fn(item)`` for every item, in input order.
    """
    n = default_workers() if workers is None else _check_workers(workers)
    items = list(items)
    n = min(n, len(items))
    if n <= 1:
        return [fn(x) for x in items]
    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(fn, items))


@runtime_checkable
class Executor(Protocol):
    """What a sweep submits its points to.

    ``map(fn, items)`` yields ``fn(item)`` for every item in input order
    (whatever order they finish in); ``map_unordered(fn, items)`` yields
    ``(index, fn(item))`` as each finishes (a sweep saves chunks as they
    finish); ``close()`` releases the workers and ``terminate()`` stops them
    without waiting for running calls (an interrupted sweep).
    Implementations are context managers that close on exit.
    """

    def map(self, fn: Callable[[Any], Any], items: Iterable) -> Iterator: ...

    def map_unordered(self, fn: Callable[[Any], Any], items: Iterable) -> Iterator[tuple[int, Any]]: ...

    def terminate(self) -> None: ...

    def close(self) -> None: ...


class _ContextExecutor:
    workers: int

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self):  # best effort; close() is the contract
        try:
            self.close()
        except Exception:
            pass


class LocalExecutor(_ContextExecutor):
    """Workers on this machine, through :mod:`concurrent.futures`.

    Parameters
    ----------
    workers : int, optional
        Workers in [1, :data:`MAX_WORKERS`]; default :func:`default_workers`.
    kind : {"process", "thread"}
        ``"process"`` (default): a process pool started with the "spawn"
        method (the same on every OS, safe with threads); ``fn`` must be
        picklable (a module-level function) and each worker limits BLAS to
        one thread.  ``"thread"``: a thread pool, for GIL-releasing kernels.

    Notes
    -----
    The pool starts on the first :meth:`map` and stops at :meth:`close`.
    """

    def __init__(self, workers: int | None = None, kind: str = "process"):
        if kind not in ("process", "thread"):
            raise ProtocolError(f"executor kind = {short_repr(kind)} is not allowed: use 'process' or 'thread'")
        self.workers = default_workers() if workers is None else _check_workers(workers)
        self.kind = kind
        self._pool = None

    def _get_pool(self):
        if self._pool is None:
            if self.kind == "thread":
                self._pool = ThreadPoolExecutor(self.workers)
            else:
                self._pool = ProcessPoolExecutor(
                    self.workers,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_init_local_worker,
                )
        return self._pool

    def map(self, fn: Callable[[Any], Any], items: Iterable) -> Iterator:
        """Yield ``fn(item)`` for every item, in input order.

        Raises
        ------
        ProtocolError
            With ``kind="process"``, if ``fn`` cannot be pickled.
        """
        self._check_picklable(fn)
        pool = self._get_pool()
        with _sigint_ignored(self.kind == "process"):
            return pool.map(fn, items)

    def _check_picklable(self, fn) -> None:
        if self.kind == "process":
            try:
                pickle.dumps(fn)
            except Exception as exc:
                name = getattr(fn, "__qualname__", type(fn).__name__)
                raise ProtocolError(
                    f"function {name!r} cannot run in a worker process: give a module-level function "
                    f"({type(exc).__name__})"
                ) from None

    def map_unordered(self, fn: Callable[[Any], Any], items: Iterable) -> Iterator[tuple[int, Any]]:
        """Yield ``(index, fn(item))`` for every item as it finishes;
        closing the iterator cancels the calls not started."""
        self._check_picklable(fn)
        pool = self._get_pool()
        with _sigint_ignored(self.kind == "process"):  # workers start here, ignoring Ctrl-C from their first line
            futures = {pool.submit(fn, item): i for i, item in enumerate(items)}
        return self._unordered(futures)

    @staticmethod
    def _unordered(futures: dict) -> Iterator[tuple[int, Any]]:
        try:
            for fut in as_completed(futures):
                yield futures[fut], fut.result()
        finally:
            for fut in futures:
                fut.cancel()

    def close(self) -> None:
        """Stop the workers (waits for running calls; idempotent)."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    def terminate(self) -> None:
        """Stop the workers now: running calls are killed, not awaited
        (idempotent)."""
        pool, self._pool = self._pool, None
        if pool is None:
            return
        running = getattr(pool, "_processes", None)  # ProcessPoolExecutor's own table of workers
        procs = list(running.values()) if isinstance(running, dict) else []
        for proc in procs:
            try:
                proc.terminate()
            except (OSError, ValueError, AttributeError):
                pass
        # with its workers gone the pool breaks; shutting it down then returns
        # at once and releases its queues (no leaked semaphores at exit)
        pool.shutdown(wait=True, cancel_futures=True)

    def __repr__(self) -> str:
        return f"LocalExecutor(workers={self.workers}, kind={self.kind!r})"


def _import_distributed():
    try:
        import distributed
    except ImportError:
        raise ProtocolError(
            "the Dask executor needs the 'distributed' extra: pip install 'nmrqb[distributed]'"
        ) from None
    return distributed


def _blas_plugin(distributed):
    """A worker plugin that limits BLAS to one thread on every worker,
    including workers that join later."""

    class NmrqbBlasOneThread(distributed.WorkerPlugin):
        name = "nmrqb-blas-one-thread"

        def setup(self, worker):
            _limit_blas_in_worker()

    return NmrqbBlasOneThread()


def check_address(address) -> str:
    """``address`` if it is a Dask scheduler address ``tcp://HOST:PORT``
    (or ``tls://``), else a one-line ProtocolError."""
    m = _ADDRESS.match(address) if isinstance(address, str) else None
    if m is None or not 1 <= int(m.group(3)) <= 65535:
        raise ProtocolError(
            f"scheduler address = {short_repr(address)} is not allowed: give tcp://HOST:PORT (port 1-65535)"
        )
    return address


class DaskExecutor(_ContextExecutor):
    """Workers of a Dask ``distributed`` cluster.

    Parameters
    ----------
    address : str, optional
        ``None`` (default): a ``distributed.LocalCluster`` with ``workers``
        single-threaded worker processes and no dashboard, started here and
        closed by :meth:`close`.  ``"tcp://HOST:PORT"``: connect to the
        scheduler of an existing cluster (its workers must have nmrqb and
        the mapped function's module importable); the cluster is left
        running at :meth:`close`.
    workers : int
        Workers of the local cluster, in [1, :data:`MAX_WORKERS`]
        (default 2); not used with an address.
    timeout : float
        Seconds to wait for the scheduler.

    Notes
    -----
    Every worker limits BLAS to one thread (a worker plugin using
    threadpoolctl).  ``distributed`` is imported here, not at module import.

    Raises
    ------
    ProtocolError
        If ``distributed`` is not installed, the address is malformed or
        the scheduler cannot be reached.
    """

    def __init__(self, address: str | None = None, workers: int = 2, *, timeout: float = 30.0):
        if address is not None:
            check_address(address)
        workers = _check_workers(workers)
        distributed = _import_distributed()
        self.address = address
        self._cluster = None
        self._client = None
        if address is None:
            import dask

            # the workers' statistical profiler samples every thread's stack
            # every 10 ms under the GIL: ~5 % of the CPU of our Python-heavy
            # points (measured), for a dashboard a local cluster does not have
            with dask.config.set({"distributed.worker.profile.enabled": False}):
                self._cluster = distributed.LocalCluster(
                    n_workers=workers,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=None,
                )
            self._client = distributed.Client(self._cluster)
        else:
            try:
                self._client = distributed.Client(address, timeout=timeout)
            except (OSError, TimeoutError) as exc:
                msg = " ".join(str(exc).split()) or type(exc).__name__
                raise ProtocolError(f"cannot reach the Dask scheduler at {address}: {msg}") from None
        self._client.register_plugin(_blas_plugin(distributed))
        self.workers = len(self._client.scheduler_info().get("workers", {})) or workers

    def map(self, fn: Callable[[Any], Any], items: Iterable) -> Iterator:
        """Yield ``fn(item)`` for every item, in input order (all items are
        submitted at once; unconsumed results are cancelled when the
        iterator is closed)."""
        if self._client is None:
            raise ProtocolError("this DaskExecutor is closed: make a new one")
        futures = self._client.map(fn, list(items), pure=False)
        return self._results(futures)

    def map_unordered(self, fn: Callable[[Any], Any], items: Iterable) -> Iterator[tuple[int, Any]]:
        """Yield ``(index, fn(item))`` for every item as it finishes;
        closing the iterator cancels the unfinished calls."""
        if self._client is None:
            raise ProtocolError("this DaskExecutor is closed: make a new one")
        distributed = _import_distributed()
        futures = self._client.map(fn, list(items), pure=False)
        index = {fut.key: i for i, fut in enumerate(futures)}
        return self._unordered(distributed, futures, index)

    @staticmethod
    def _unordered(distributed, futures, index) -> Iterator[tuple[int, Any]]:
        try:
            for fut in distributed.as_completed(futures):
                yield index[fut.key], fut.result()
        finally:
            for fut in futures:
                fut.cancel()

    def terminate(self) -> None:
        """Cancel what runs and disconnect (a local cluster is closed)."""
        self.close()

    @staticmethod
    def _results(futures) -> Iterator:
        try:
            for i, fut in enumerate(futures):
                yield fut.result()
                futures[i] = None  # let the cluster release the result
        finally:
            for fut in futures:
                if fut is not None:
                    fut.cancel()

    def close(self) -> None:
        """Disconnect; stop the local cluster if this executor started it
        (idempotent)."""
        client, self._client = self._client, None
        cluster, self._cluster = self._cluster, None
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()

    def __repr__(self) -> str:
        where = self.address or "LocalCluster"
        return f"DaskExecutor({where}, workers={self.workers})"


def make_executor(kind: str = "local", workers: int | None = None, address: str | None = None) -> Executor:
    """The executor a sweep runs on.

    Parameters
    ----------
    kind : {"local", "dask"}
        ``"local"``: :class:`LocalExecutor` with processes.  ``"dask"``:
        :class:`DaskExecutor` (a local cluster, or the scheduler at
        ``address``).
    workers : int, optional
        Worker count (default :func:`default_workers`); with an address
        the remote cluster decides, and giving both is an error.
    address : str, optional
        ``tcp://HOST:PORT`` of a Dask scheduler (``kind="dask"`` only).

    Returns
    -------
    Executor
    """
    if kind == "local":
        if address is not None:
            raise ProtocolError(
                f"scheduler address = {short_repr(address)} needs the Dask executor (kind='dask'), not kind='local'"
            )
        return LocalExecutor(workers, kind="process")
    if kind == "dask":
        if address is not None:
            check_address(address)
            if workers is not None:
                raise ProtocolError(
                    f"workers = {short_repr(workers)} is not allowed with a scheduler address: "
                    "the cluster at the address has its own workers"
                )
            return DaskExecutor(address)
        return DaskExecutor(None, default_workers() if workers is None else _check_workers(workers))
    raise ProtocolError(f"executor kind = {short_repr(kind)} is not allowed: use 'local' or 'dask'")
