"""nmrqb.parallel: one module owns threads, processes, Dask and BLAS threads
(issue 12).  Every executor returns the same results, in input order, as a
plain loop; BLAS limits are set with threadpoolctl."""

from __future__ import annotations

import concurrent.futures
import multiprocessing

import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from nmrqb import parallel
from nmrqb.errors import NmrqbError, ProtocolError
from nmrqb.parallel import (
    DaskExecutor,
    Executor,
    LocalExecutor,
    blas_threads,
    default_workers,
    make_executor,
    thread_map,
)

ITEMS = list(range(13))
BLAS_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def spectrum_point(i: int) -> tuple[int, list[float]]:
    """A picklable, module-level unit of work that uses BLAS/LAPACK: the
    eigenvalues of a seeded random symmetric 6x6 matrix (the seed comes from
    the item, not the order of execution)."""
    a = np.random.default_rng(i).standard_normal((6, 6))
    return i, np.linalg.eigvalsh(a @ a.T + i).tolist()


def blas_thread_counts(_=None) -> list[int]:
    return [m["num_threads"] for m in threadpool_info() if m["user_api"] == "blas"]


EXPECTED = [spectrum_point(i) for i in ITEMS]


def _blas_present():
    if not blas_thread_counts():
        pytest.skip("threadpoolctl finds no BLAS library loaded by numpy")


# -- default_workers -------------------------------------------------------------


def test_default_workers_bounded_and_env_override(monkeypatch):
    monkeypatch.delenv(parallel.ENV_WORKERS, raising=False)
    n = default_workers()
    assert isinstance(n, int) and 1 <= n <= parallel.MAX_WORKERS
    monkeypatch.setenv(parallel.ENV_WORKERS, "3")
    assert default_workers() == 3


@pytest.mark.parametrize("raw", ["0", "-2", "two", "1.5", "100000"])
def test_default_workers_bad_env_is_one_line_error(monkeypatch, raw):
    monkeypatch.setenv(parallel.ENV_WORKERS, raw)
    with pytest.raises(ProtocolError) as e:
        default_workers()
    msg = str(e.value)
    assert "\n" not in msg and parallel.ENV_WORKERS in msg and repr(raw) in msg


@pytest.mark.parametrize("bad", [0, -1, 2.0, True, "2", np.arange(2), 10**6])
def test_bad_worker_counts_are_one_line_errors(bad):
    for make in (
        lambda: thread_map(spectrum_point, ITEMS, workers=bad),
        lambda: LocalExecutor(bad),
        lambda: make_executor("local", workers=bad),
        lambda: DaskExecutor(workers=bad),
    ):
        with pytest.raises(ProtocolError) as e:
            make()
        assert "\n" not in str(e.value) and "workers" in str(e.value)


# -- thread_map ------------------------------------------------------------------


@pytest.mark.parametrize("workers", [1, 2, 5, None])
def test_thread_map_matches_loop_in_order(workers):
    assert thread_map(spectrum_point, ITEMS, workers=workers) == EXPECTED
    assert thread_map(spectrum_point, [], workers=workers) == []


def test_thread_map_single_worker_runs_inline():
    import threading

    main = threading.get_ident()
    assert set(thread_map(lambda _: threading.get_ident(), range(4), workers=1)) == {main}


def test_thread_map_propagates_errors():
    def fail_on_3(i):
        if i == 3:
            raise KeyError(i)
        return i

    with pytest.raises(KeyError):
        thread_map(fail_on_3, range(8), workers=2)


# -- blas_threads ----------------------------------------------------------------


def test_blas_threads_limits_and_restores():
    _blas_present()
    # conftest starts BLAS on one thread; raise it first so the limit is visible
    with threadpool_limits(limits=2, user_api="blas"):
        outer = blas_thread_counts()
        with blas_threads(1):
            assert blas_thread_counts() and all(n == 1 for n in blas_thread_counts())
            spectrum_point(1)  # BLAS still works under the limit
        assert blas_thread_counts() == outer


def test_blas_threads_rejects_zero():
    with pytest.raises(ProtocolError, match="BLAS threads"):
        with blas_threads(0):
            pass


# -- LocalExecutor ---------------------------------------------------------------


@pytest.mark.parametrize("kind", ["process", "thread"])
def test_local_executor_matches_loop_in_order(kind):
    with LocalExecutor(2, kind=kind) as ex:
        assert isinstance(ex, Executor)
        assert list(ex.map(spectrum_point, ITEMS)) == EXPECTED
        assert list(ex.map(spectrum_point, reversed(ITEMS))) == EXPECTED[::-1]  # pool reused
    ex.close()  # idempotent


def test_process_workers_limit_blas_with_threadpoolctl(monkeypatch):
    """Worker processes start with BLAS free to use every core (no
    *_NUM_THREADS variables); the initializer limits it to one thread."""
    _blas_present()
    for var in BLAS_VARS:
        monkeypatch.delenv(var, raising=False)
    with LocalExecutor(2, kind="process") as ex:
        counts = list(ex.map(blas_thread_counts, range(4)))
    assert all(c and all(n == 1 for n in c) for c in counts), counts
    if multiprocessing.cpu_count() > 1:  # control: without the initializer BLAS would use more threads
        ctx = multiprocessing.get_context("spawn")
        with concurrent.futures.ProcessPoolExecutor(1, mp_context=ctx) as plain:
            assert max(plain.submit(blas_thread_counts).result()) > 1


def test_process_executor_rejects_unpicklable_function():
    with LocalExecutor(1, kind="process") as ex:
        with pytest.raises(ProtocolError, match="module-level function"):
            ex.map(lambda i: i, ITEMS)


def test_local_executor_bad_kind():
    with pytest.raises(ProtocolError, match="'process' or 'thread'"):
        LocalExecutor(1, kind="fork")


# -- make_executor and addresses -------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"kind": "spark"}, "'local' or 'dask'"),
        ({"kind": "local", "address": "tcp://127.0.0.1:8786"}, "kind='dask'"),
        ({"kind": "dask", "address": "127.0.0.1:8786"}, "tcp://HOST:PORT"),
        ({"kind": "dask", "address": "tcp://host:99999"}, "tcp://HOST:PORT"),
        ({"kind": "dask", "address": "tcp://host"}, "tcp://HOST:PORT"),
        ({"kind": "dask", "address": "tcp://127.0.0.1:8786", "workers": 2}, "own workers"),
        ({"kind": "dask", "workers": 0}, "workers"),
    ],
)
def test_make_executor_errors_are_one_line(kwargs, match):
    with pytest.raises(ProtocolError, match=match) as e:
        make_executor(**kwargs)
    assert "\n" not in str(e.value) and isinstance(e.value, NmrqbError)


def test_make_executor_local():
    with make_executor("local", workers=1) as ex:
        assert isinstance(ex, LocalExecutor) and ex.kind == "process" and ex.workers == 1


# -- DaskExecutor ----------------------------------------------------------------


def test_dask_local_cluster_matches_local_executor():
    pytest.importorskip("distributed", reason="the 'distributed' extra is not installed")
    with LocalExecutor(2, kind="process") as local:
        expected = list(local.map(spectrum_point, ITEMS))
    with make_executor("dask", workers=2) as ex:
        assert isinstance(ex, DaskExecutor) and isinstance(ex, Executor) and ex.workers == 2
        assert list(ex.map(spectrum_point, ITEMS)) == expected == EXPECTED
        # every worker is single-threaded for BLAS (worker plugin, threadpoolctl)
        counts = ex._client.run(blas_thread_counts)
        assert len(counts) == 2 and all(all(n == 1 for n in c) for c in counts.values()), counts
    with pytest.raises(ProtocolError, match="closed"):
        ex.map(spectrum_point, ITEMS)


def test_dask_unreachable_scheduler_is_one_line_error():
    pytest.importorskip("distributed", reason="the 'distributed' extra is not installed")
    with pytest.raises(ProtocolError, match="cannot reach the Dask scheduler") as e:
        DaskExecutor("tcp://127.0.0.1:1", timeout=1)
    assert "\n" not in str(e.value)


def test_dask_missing_extra_is_one_line_error(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_distributed(name, *args, **kwargs):
        if name == "distributed" or name.startswith("distributed."):
            raise ImportError("No module named 'distributed'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_distributed)
    with pytest.raises(ProtocolError, match=r"'distributed' extra.*nmrqb\[distributed\]") as e:
        DaskExecutor()
    assert "\n" not in str(e.value)
