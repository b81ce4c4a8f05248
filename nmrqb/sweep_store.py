"""The on-disk store of a planning sweep: a labelled N-D xarray dataset in Zarr.

A sweep's results are one :class:`xarray.Dataset` with a dimension per swept
protocol field (named by its dotted key, ``"acquisition.snr"``) and a last
dimension ``"replica"``; its data variables are the stage's metrics
(float64), the point's ``seed`` (int64, the ``acquisition.seed`` it ran
with), ``status`` (int8: 0 not computed, 1 computed, 2 failed with a user
error) and ``error`` (the one-line message of a failed point, else "").
The attributes hold what made it: the format :data:`FORMAT`, the stage, the
``--over`` specs, the replicas, the chunk shape, the protocol as TOML and the
versions.

Crash safety.  The store's Zarr chunks are the sweep's chunks: a sweep chunk
is a block of the grid that is exactly one Zarr chunk of every variable, and
Zarr writes each chunk file atomically (a temporary file renamed into
place).  :func:`write_block` writes the metrics, seeds and errors of a block
first and its ``status`` chunk last; that one rename is the block's commit
point.  A process killed at any moment therefore leaves every block either
saved (status ≠ 0 throughout) or absent (status 0, whatever else was
written), and :func:`saved_blocks` tells them apart, so a resumed sweep
recomputes exactly the blocks that were not saved.

The layout on disk is ``OUT/sweep.zarr`` (read it with
``xarray.open_zarr``, or :func:`load_sweep`) and, once every block is saved,
``OUT/sweep.csv`` (:func:`write_tidy_csv`: one row per point and replica).
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nmrqb.errors import DataError

__all__ = ["FORMAT", "STORE_NAME", "CSV_NAME", "STATUS_PENDING", "STATUS_DONE", "STATUS_FAILED",
           "Layout", "chunk_shape", "create_store", "open_store", "saved_blocks", "write_block", "load_sweep",
           "write_tidy_csv", "is_sweep_store"]

#: Format tag of a sweep store (its ``format`` attribute).
FORMAT = "nmrqb.sweep/1"
STORE_NAME = "sweep.zarr"
CSV_NAME = "sweep.csv"
STATUS_PENDING, STATUS_DONE, STATUS_FAILED = 0, 1, 2
_BOOK_VARS = ("seed", "error", "status")  # status last: the commit point of a block


@dataclass(frozen=True)
class Layout:
    """The grid's shape (axes…, replicas), its dimension names and the shape
    of one chunk; blocks are numbered in C order over the chunk grid."""

    dims: tuple[str, ...]
    shape: tuple[int, ...]
    chunks: tuple[int, ...]

    @property
    def block_grid(self) -> tuple[int, ...]:
        return tuple(math.ceil(n / c) for n, c in zip(self.shape, self.chunks))

    def __len__(self) -> int:
        return math.prod(self.block_grid)

    def block(self, b: int) -> tuple[slice, ...]:
        """The slices of block ``b`` (0 ≤ b < len(self))."""
        if not 0 <= b < len(self):
            raise IndexError(f"sweep store: block {b} is not allowed: give 0 to {len(self) - 1}")
        out = []
        for n, c, k in zip(self.shape, self.chunks, np.unravel_index(b, self.block_grid)):
            out.append(slice(int(k) * c, min((int(k) + 1) * c, n)))
        return tuple(out)

    def points(self, b: int) -> Iterator[tuple[int, ...]]:
        """The grid coordinates of block ``b``'s points, in C order."""
        yield from _offset_ndindex(self.block(b))


def _offset_ndindex(sl: Sequence[slice]) -> Iterator[tuple[int, ...]]:
    for idx in np.ndindex(*(s.stop - s.start for s in sl)):
        yield tuple(s.start + i for s, i in zip(sl, idx))


def chunk_shape(shape: Sequence[int], points: int) -> tuple[int, ...]:
    """The chunk shape of about ``points`` points for a grid of ``shape``:
    whole trailing dimensions (replicas first) while they fit, then a part
    of the next one, 1 along the leading ones."""
    shape = tuple(int(n) for n in shape)
    points = max(1, int(points))
    out = [1] * len(shape)
    inner = 1
    for d in range(len(shape) - 1, -1, -1):
        take = max(1, min(shape[d], points // inner))
        out[d] = take
        if take < shape[d]:
            break
        inner *= take
    return tuple(out)


def _coord(values: Sequence) -> np.ndarray:
    if all(isinstance(v, str) for v in values):
        return np.array(values, dtype=object)
    if all(isinstance(v, bool) for v in values):
        return np.array(values, dtype=bool)
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return np.array(values, dtype=np.int64)
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return np.array(values, dtype=np.float64)
    return np.array([str(v) for v in values], dtype=object)


def is_sweep_store(path) -> bool:
    """Whether ``path`` is a folder holding a Zarr group whose ``format``
    attribute is :data:`FORMAT`."""
    import json

    meta = Path(path) / "zarr.json"
    try:
        doc = json.loads(meta.read_text())
    except (OSError, ValueError):
        return False
    return isinstance(doc, dict) and doc.get("attributes", {}).get("format") == FORMAT


def create_store(path, axes: Sequence[tuple[str, Sequence]], replicas: int, metrics: Sequence[str],
                 chunks: Sequence[int], attrs: Mapping) -> Layout:
    """Create an empty sweep store at ``path`` (which must not exist).

    ``axes``: (dimension name, values) per swept field; ``metrics``: the
    float variables; ``chunks``: the chunk shape over (axes…, replica);
    ``attrs``: JSON-ready attributes (``format`` is added).  Only metadata
    is written (unwritten chunks read as their fill values: NaN, 0, "")."""
    import xarray as xr

    path = Path(path)
    if path.exists():
        raise DataError(f"sweep store {str(path)!r} already exists: resume it or remove it")
    dims = tuple(name for name, _ in axes) + ("replica",)
    shape = tuple(len(v) for _, v in axes) + (int(replicas),)
    chunks = tuple(int(c) for c in chunks)
    coords = {name: (name, _coord(list(values))) for name, values in axes}
    coords["replica"] = ("replica", np.arange(int(replicas), dtype=np.int64))
    data = {m: (dims, np.full(shape, np.nan)) for m in metrics}
    data["seed"] = (dims, np.zeros(shape, np.int64))
    data["error"] = (dims, np.full(shape, "", dtype=object))
    data["status"] = (dims, np.zeros(shape, np.int8))
    ds = xr.Dataset(data, coords=coords, attrs={"format": FORMAT, **dict(attrs)})
    ds["status"].attrs["meaning"] = "0 not computed, 1 computed, 2 failed (see error)"
    ds["seed"].attrs["meaning"] = "the acquisition.seed the point ran with"
    encoding = {v: {"chunks": chunks} for v in ds.data_vars}
    with warnings.catch_warnings():
        # consolidated metadata (one read for xarray.open_zarr) is not part of Zarr v3 itself
        warnings.filterwarnings("ignore", message=".*[Cc]onsolidated metadata.*")
        warnings.filterwarnings("ignore", message=".*does not have a Zarr V3 specification.*")
        ds.to_zarr(path, mode="w-", encoding=encoding, consolidated=True)
    return Layout(dims, shape, chunks)


def open_store(path):
    """(zarr group opened for writing, its :class:`Layout`, its attributes);
    a folder that is not a sweep store is a :class:`DataError`."""
    import zarr

    path = Path(path)
    if not is_sweep_store(path):
        raise DataError(f"{str(path)!r} is not an nmrqb sweep store (format {FORMAT!r})")
    g = zarr.open_group(str(path), mode="r+")
    st = g["status"]
    dims = tuple(st.metadata.dimension_names or ())
    layout = Layout(dims, tuple(st.shape), tuple(st.chunks))
    return g, layout, dict(g.attrs)


def saved_blocks(group, layout: Layout) -> set[int]:
    """The blocks whose ``status`` chunk is written (all their points
    computed or failed): what a resumed sweep skips."""
    status = np.asarray(group["status"][...])
    saved = set()
    for b in range(len(layout)):
        if np.all(status[layout.block(b)] != STATUS_PENDING):
            saved.add(b)
    return saved


def write_block(group, layout: Layout, b: int, values: Mapping[str, np.ndarray], seeds: np.ndarray,
                errors: np.ndarray) -> None:
    """Save block ``b``: the metrics, seeds and errors, then ``status``
    (the commit point, see the module docstring)."""
    sl = layout.block(b)
    bshape = tuple(s.stop - s.start for s in sl)
    for name, arr in values.items():
        group[name][sl] = np.asarray(arr, np.float64).reshape(bshape)
    group["seed"][sl] = np.asarray(seeds, np.int64).reshape(bshape)
    errs = np.asarray(errors, dtype=object).reshape(bshape)
    group["error"][sl] = errs
    status = np.where(errs == "", STATUS_DONE, STATUS_FAILED).astype(np.int8)
    group["status"][sl] = status


def load_sweep(path):
    """The sweep at ``path`` (an output folder or its ``sweep.zarr``) as an
    in-memory :class:`xarray.Dataset`."""
    import xarray as xr

    path = Path(path)
    if (path / STORE_NAME).is_dir():
        path = path / STORE_NAME
    if not is_sweep_store(path):
        raise DataError(f"{str(path)!r} is not an nmrqb sweep (no {STORE_NAME} of format {FORMAT!r})")
    with xr.open_zarr(path, consolidated=True) as ds:
        return ds.load()


def write_tidy_csv(ds, path) -> Path:
    """Write the dataset as a tidy CSV: one row per point and replica, the
    swept fields, ``replica``, ``seed``, ``status``, the metrics, then
    ``error``; written to a temporary file and renamed into place."""
    import csv

    path = Path(path)
    dims = list(ds["status"].dims)
    metrics = [v for v in ds.data_vars if v not in _BOOK_VARS]
    cols = dims + ["seed", "status"] + metrics + ["error"]
    arrays = {v: np.asarray(ds[v].values) for v in ["seed", "status", "error", *metrics]}
    coords = [np.asarray(ds[d].values) for d in dims]

    def write(tmp):
        with open(tmp, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(cols)
            for idx in np.ndindex(*ds["status"].shape):
                row = [_cell(c[i]) for c, i in zip(coords, idx)]
                row += [int(arrays["seed"][idx]), int(arrays["status"][idx])]
                row += [repr(float(arrays[m][idx])) for m in metrics]
                row.append(str(arrays["error"][idx]))
                w.writerow(row)

    from nmrqb.output import write_atomic

    write_atomic(path, write)
    return path


def _cell(x):
    if isinstance(x, (np.floating, float)):
        return repr(float(x))
    if isinstance(x, (np.bool_, bool)):
        return "true" if x else "false"
    if isinstance(x, np.integer):
        return int(x)
    return str(x)
