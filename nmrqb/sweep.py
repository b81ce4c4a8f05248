"""Planning sweeps: a protocol evaluated over a grid of any of its fields.

This module will hold the planning sweeps of issue 12 (``nmrqb sweep``).
Today it holds their pure, executor-independent parts:

* the grid — :func:`parse_over` reads one ``--over FIELD=SPEC`` into an
  :class:`Axis`; :class:`Grid` is the Cartesian product of the axes and the
  noise replicas, enumerated in C order (the last axis, then the replica,
  varies fastest), cut into chunks of consecutive indices;
* the seeds — :func:`point_seed` derives a point's seed from its grid
  coordinates only, so a result never depends on the order of execution, the
  executor, the worker count or the chunking; :func:`point_protocol` is the
  protocol of one point (its values applied with :meth:`Protocol.replace`,
  ``acquisition.seed`` set to the point's seed);
* the per-point evaluation — :func:`evaluate_point` (module level, so that
  process and Dask executors can pickle it) runs one of the stages
  ``battery`` (the model's metrics, no simulation), ``tomography`` (the
  simulated experiment and its reconstruction, no bootstrap and no plan) or
  ``run`` (:func:`nmrqb.run.run_protocol`, everything) and returns a flat
  dict of floats.

``SPEC`` is ``start:stop:N`` (N linearly spaced values, both ends
included), ``start:stop:logN`` (N log-spaced values, start and stop > 0) or
a comma list ``a,b,c`` (numbers, true/false, or strings for string fields).
Values take the type of the field (integers for ``acquisition.scans``, floats
for ``model.Delta``...).  Every mistake is one line naming the ``--over``
text: an unknown field (with the closest known key), a bad range, zero
points, a non-number, a log range with a bound ≤ 0, a value the protocol
does not allow.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from nmrqb._checks import short_repr
from nmrqb.errors import ProtocolError

__all__ = ["Axis", "Grid", "parse_over", "point_seed", "point_protocol", "evaluate_point", "STAGES", "METRICS",
           "Sweep", "SweepResult", "plan_sweep", "run_sweep", "evaluate_block", "DEFAULT_CHUNK_POINTS",
           "MAX_AXIS_POINTS"]

#: The stages a sweep point can run, cheapest first.
STAGES = ("battery", "tomography", "run")

#: The metrics each stage returns (the float variables of a sweep's dataset).
METRICS = {
    "battery": ("max_ergotropy", "max_power", "capacity", "max_l1_coherence"),
    "tomography": ("max_ergotropy", "max_ergotropy_se", "expected_max_ergotropy", "ideal_max_ergotropy",
                   "relative_error"),
}
METRICS["run"] = METRICS["tomography"]

#: The most values one ``--over`` axis may hold (= the protocol's Ωt grid limit).
MAX_AXIS_POINTS = 10_000

_SPEC_RULE = ("give FIELD=SPEC with SPEC start:stop:N (N ≥ 1 linearly spaced values, stop included), "
              "start:stop:logN (N log-spaced values, start and stop > 0) or a comma list a,b,c")


# ============================================================================
# errors
# ============================================================================
def _over_error(text, what: str, field: str | None = None) -> ProtocolError:
    """One-line ProtocolError "--over '<text>': <what>" (key = the field)."""
    err = ProtocolError(" ".join(f"--over {short_repr(text)}: {what}".split()))
    err.source = "--over"
    err.key = field
    return err


def _strip_source(message: str, protocol) -> str:
    """A protocol error's message without its "<source>: " prefix."""
    prefix = f"{getattr(protocol, 'source', '')}: "
    return message[len(prefix):] if message.startswith(prefix) else message


# ============================================================================
# the grid
# ============================================================================
@dataclass(frozen=True)
class Axis:
    """One swept protocol field: its dotted key and its values (in order)."""

    field: str
    values: tuple

    def __len__(self) -> int:
        return len(self.values)


def _token(tok: str):
    """A comma-list token: int, float, bool or (anything else) a string."""
    low = tok.lower()
    if low in ("true", "false"):
        return low == "true"
    try:
        return int(tok)
    except ValueError:
        pass
    try:
        x = float(tok)
    except ValueError:
        return tok
    return x


def _number(text, part: str, name: str, field: str) -> float:
    try:
        x = float(part)
    except ValueError:
        raise _over_error(text, f"{name} = {short_repr(part.strip())} is not allowed: give a finite number; "
                          + _SPEC_RULE, field) from None
    if not math.isfinite(x):
        raise _over_error(text, f"{name} = {short_repr(part.strip())} is not allowed: give a finite number; "
                          + _SPEC_RULE, field)
    return x


def _range_values(text: str, field: str, spec: str) -> tuple:
    parts = spec.split(":")
    if len(parts) != 3:
        raise _over_error(text, f"range {short_repr(spec)} is not allowed: {_SPEC_RULE}", field)
    start = _number(text, parts[0], "start", field)
    stop = _number(text, parts[1], "stop", field)
    count = parts[2].strip()
    log = count.lower().startswith("log")
    digits = count[3:].strip() if log else count
    if not digits.isdigit():
        raise _over_error(text, f"points = {short_repr(count)} is not allowed: give N or logN with N a whole "
                          f"number from 1 to {MAX_AXIS_POINTS}; " + _SPEC_RULE, field)
    n = int(digits)
    if n < 1 or n > MAX_AXIS_POINTS:
        raise _over_error(text, f"{n} points is not allowed: give N or logN with N from 1 to {MAX_AXIS_POINTS}",
                          field)
    if n == 1 and start != stop:
        raise _over_error(text, f"1 point from {start:g} to {stop:g} is not allowed: one point needs start = "
                          "stop (or give a comma list)", field)
    if n > 1 and start == stop:
        raise _over_error(text, f"{n} points from {start:g} to {stop:g} is not allowed: start and stop must "
                          "differ (or give 1 point)", field)
    if log:
        if not (start > 0 and stop > 0):
            raise _over_error(text, f"log range from {start:g} to {stop:g} is not allowed: log spacing needs "
                              "start > 0 and stop > 0 (use start:stop:N for a linear range)", field)
        values = np.geomspace(start, stop, n)
    else:
        values = np.linspace(start, stop, n)
    values[0], values[-1] = start, stop  # the ends exactly as given
    out = tuple(float(v) for v in values)
    if len(set(out)) != len(out):
        raise _over_error(text, f"{n} points from {start:g} to {stop:g} is not allowed: they are too close to "
                          "tell apart in floating point", field)
    return out


def _list_values(text: str, field: str, spec: str) -> tuple:
    toks = [t.strip() for t in spec.split(",")]
    if not any(toks):
        raise _over_error(text, f"0 points is not allowed: {_SPEC_RULE}", field)
    if not all(toks):
        raise _over_error(text, f"an empty value in the list {short_repr(spec)} is not allowed: give a,b,c "
                          "with no empty entries", field)
    if len(toks) > MAX_AXIS_POINTS:
        raise _over_error(text, f"{len(toks)} points is not allowed: at most {MAX_AXIS_POINTS}", field)
    values = [_token(t) for t in toks]
    for t, v in zip(toks, values):
        if isinstance(v, float) and not math.isfinite(v):
            raise _over_error(text, f"value {short_repr(t)} is not allowed: give finite numbers", field)
    return tuple(values)


def _coerce(text: str, field: str, values: tuple, tokens: tuple, current) -> tuple:
    """The values in the type of the field's present value (int, float, bool
    or str: the list's text ``tokens``); unchanged when the field is absent
    or a table."""
    def is_num(v):
        return isinstance(v, (int, float)) and not isinstance(v, bool)

    if isinstance(current, bool):
        if not all(isinstance(v, bool) for v in values):
            raise _over_error(text, f"{field} takes true or false, not {short_repr(values)}", field)
        return values
    if isinstance(current, int):
        if not all(is_num(v) for v in values):
            raise _over_error(text, f"{field} takes whole numbers, not {short_repr(values)}", field)
        out = []
        for v in values:
            r = round(v)
            if abs(v - r) > 1e-9 * max(1.0, abs(v)):
                raise _over_error(text, f"{field} = {v:g} is not allowed: {field} takes whole numbers (give "
                                  "a comma list or a range whose points are whole)", field)
            out.append(int(r))
        if len(set(out)) != len(out):
            raise _over_error(text, f"{field} values {short_repr(tuple(out))} repeat a value", field)
        return tuple(out)
    if isinstance(current, float):
        if not all(is_num(v) for v in values):
            bad = next(v for v in values if not is_num(v))
            raise _over_error(text, f"{field} = {short_repr(bad)} is not allowed: {field} takes numbers", field)
        return tuple(float(v) for v in values)
    if isinstance(current, str):
        return tuple(v if isinstance(v, str) else t for v, t in zip(values, tokens))
    if all(is_num(v) for v in values):
        # a table of floats (acquisition.snr for every channel) or mixed 1,2.5: floats
        leaves = list(current.values()) if isinstance(current, dict) else []
        floats = leaves and all(isinstance(x, float) for x in leaves)
        if floats or any(isinstance(v, float) for v in values):
            return tuple(float(v) for v in values)
    return values


def parse_over(text: str, protocol) -> Axis:
    """Parse ``--over FIELD=SPEC`` against ``protocol`` (module docstring).

    ``FIELD`` is any dotted key :meth:`Protocol.replace` accepts
    (``acquisition.snr``, ``model.Delta``, ``platform.spins[1].t2_s``,
    ``acquisition.snr.13C``); every value is checked by deriving the
    protocol with it, so a bad value fails here, before anything runs.
    Raises a one-line :class:`ProtocolError` naming ``text``."""
    from nmrqb.protocol import Protocol, closest_key, normalize_key

    if not isinstance(protocol, Protocol):
        raise ProtocolError(f"parse_over: protocol must be an nmrqb.protocol.Protocol, got "
                            f"{type(protocol).__name__}")
    if not isinstance(text, str):
        raise ProtocolError(f"--over {short_repr(text)} is not allowed: {_SPEC_RULE}")
    if "=" not in text:
        raise _over_error(text, f"a missing '=' is not allowed: {_SPEC_RULE}")
    field, spec = (s.strip() for s in text.split("=", 1))
    if not field:
        raise _over_error(text, f"an empty FIELD is not allowed: {_SPEC_RULE}")
    field = normalize_key(field)
    if field == "sweep" or field.startswith("sweep."):
        raise _over_error(text, f"field {short_repr(field)} is not allowed: a sweep cannot sweep its own "
                          "[sweep] section", field)
    if not spec:
        raise _over_error(text, f"0 points is not allowed: {_SPEC_RULE}", field)
    if ":" in spec:
        values = tokens = _range_values(text, field, spec)
    else:
        tokens = tuple(t.strip() for t in spec.split(","))
        values = _list_values(text, field, spec)

    # the field: unknown keys fail on the first value, with the closest known key
    try:
        protocol.replace(**{field: values[0]})
    except ProtocolError as exc:
        msg = str(exc)
        if "unknown key" in msg or "give a dotted key" in msg:
            near = closest_key(field, protocol.keys())
            hint = f"; did you mean {near!r}?" if near and near != field else ""
            raise _over_error(text, f"unknown field {short_repr(field)}: give a protocol key such as "
                              f"'acquisition.snr' or 'platform.spins[1].t2_s'{hint}", field) from None
    try:
        current = protocol.get(field)
    except ProtocolError:
        current = None  # an optional key that is unset (a spin's t2_s): the values keep their own type
    values = _coerce(text, field, values, tokens, current)
    if len(set(values)) != len(values):
        raise _over_error(text, f"repeated values in {short_repr(values)} are not allowed: each point of an "
                          "axis must differ", field)
    for v in values:  # every value: cheap (< 1 ms each), and nothing runs on a bad one
        try:
            protocol.replace(**{field: v})
        except ProtocolError as exc:
            raise _over_error(text, _strip_source(str(exc), protocol), field) from None
    return Axis(field, values)


@dataclass(frozen=True)
class Grid:
    """The Cartesian product of ``axes`` (a sequence of :class:`Axis`) and
    ``replicas`` noise replicas.

    Points are numbered 0 … len−1 in C order over the shape
    ``(len(axes[0]), …, len(axes[-1]), replicas)``: the replica varies
    fastest, then the last axis.  No axes is allowed (``replicas`` points)."""

    axes: tuple
    replicas: int = 1

    def __post_init__(self):
        from nmrqb.protocol import normalize_key

        axes = tuple(self.axes) if not isinstance(self.axes, Axis) else (self.axes,)
        if not all(isinstance(a, Axis) for a in axes):
            raise ProtocolError(f"sweep grid: axes = {short_repr(self.axes)} is not allowed: give Axis objects "
                                "(from parse_over)")
        for a in axes:
            if len(a.values) < 1:
                raise ProtocolError(f"sweep grid: axis {a.field!r} has 0 points: give at least 1")
        seen: dict[str, str] = {}
        for a in axes:
            k = normalize_key(a.field)
            if k in seen:
                raise ProtocolError(f"sweep grid: field {a.field!r} is swept twice: give each field one --over")
            seen[k] = a.field
        r = self.replicas
        if isinstance(r, bool) or not isinstance(r, (int, np.integer)) or not 1 <= r <= 10**9:
            raise ProtocolError(f"sweep grid: replicas = {short_repr(r)} is not allowed: give a whole number "
                                "from 1 to 1e9")
        object.__setattr__(self, "axes", axes)
        object.__setattr__(self, "replicas", int(r))

    @property
    def shape(self) -> tuple[int, ...]:
        """(len of each axis …, replicas)."""
        return tuple(len(a.values) for a in self.axes) + (self.replicas,)

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(a.field for a in self.axes)

    def __len__(self) -> int:
        return math.prod(self.shape)

    def _check(self, i) -> int:
        if isinstance(i, bool) or not isinstance(i, (int, np.integer)) or not 0 <= i < len(self):
            raise IndexError(f"sweep grid: point {short_repr(i)} is not allowed: give 0 to {len(self) - 1}")
        return int(i)

    def coords(self, i: int) -> tuple[int, ...]:
        """The point's indices along each axis, then its replica index."""
        i = self._check(i)
        out = []
        for n in reversed(self.shape):
            i, r = divmod(i, n)
            out.append(r)
        return tuple(reversed(out))

    def index(self, coords) -> int:
        """The inverse of :meth:`coords`."""
        coords = tuple(int(c) for c in coords)
        if len(coords) != len(self.shape) or not all(0 <= c < n for c, n in zip(coords, self.shape)):
            raise IndexError(f"sweep grid: coordinates {short_repr(coords)} are not allowed: shape is "
                             f"{self.shape}")
        i = 0
        for c, n in zip(coords, self.shape):
            i = i * n + c
        return i

    def point(self, i: int) -> dict:
        """field → value of point ``i`` (the replica is not a field)."""
        c = self.coords(i)
        return {a.field: a.values[k] for a, k in zip(self.axes, c)}

    def chunks(self, size: int) -> list[range]:
        """The points cut into consecutive ranges of ``size`` (the last may be shorter)."""
        if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
            raise ProtocolError(f"sweep grid: chunk size = {short_repr(size)} is not allowed: give a whole "
                                "number ≥ 1")
        n, size = len(self), int(size)
        return [range(s, min(s + size, n)) for s in range(0, n, size)]


# ============================================================================
# seeds
# ============================================================================
def point_seed(base_seed: int, coords) -> int:
    """The seed of the point at ``coords`` (axis indices and replica index):
    ``SeedSequence([base_seed, *coords])``, 63 bits (fits
    ``acquisition.seed``).  It depends on nothing else, so a sweep's results
    are the same whatever executes it and in whatever order."""
    ok = lambda x: isinstance(x, (int, np.integer)) and not isinstance(x, bool) and x >= 0  # noqa: E731
    if not ok(base_seed):
        raise ProtocolError(f"sweep: base seed = {short_repr(base_seed)} is not allowed: give a whole number ≥ 0")
    coords = tuple(coords)
    if not all(ok(c) for c in coords):
        raise ProtocolError(f"sweep: coordinates {short_repr(coords)} are not allowed: give whole numbers ≥ 0")
    state = np.random.SeedSequence([int(base_seed), *(int(c) for c in coords)]).generate_state(1, np.uint64)[0]
    return int(state) & (2**63 - 1)


def point_protocol(protocol, grid: Grid, i: int):
    """The protocol of point ``i``: the point's values applied with
    :meth:`Protocol.replace` and ``acquisition.seed`` set to
    :func:`point_seed` of (the protocol's seed, the point's coordinates)."""
    changes = grid.point(i)
    p = protocol.replace(**changes) if changes else protocol
    # the base is the point's own seed, so sweeping acquisition.seed still changes the draws
    seed = point_seed(p.acquisition.seed, grid.coords(i))
    return p.replace(**{"acquisition.seed": seed})


# ============================================================================
# one point
# ============================================================================
def _battery(protocol) -> dict:
    from nmrqb.battery import charge

    tr = charge(protocol.model(), protocol.T, protocol.omega_t())
    return {
        "max_ergotropy": tr.maximum("ergotropy").value,
        "max_power": tr.maximum("power").value,
        "capacity": tr.maximum("capacity").value,
        "max_l1_coherence": tr.maximum("coherence").value,
    }


def _ergotropy_summary(r, se) -> dict:
    """The reconstructed, expected and ideal ergotropy at the Ωt of the
    model's maximum."""
    from nmrqb.battery import _first_max

    ideal = np.asarray(r.ideal["ergotropy"], float)
    k = int(_first_max(ideal[None, :])[0])
    e_ideal = float(ideal[k])
    e_rec = float(np.asarray(r.reconstructed["ergotropy"], float)[k])
    return {
        "max_ergotropy": e_rec,
        "max_ergotropy_se": float(np.asarray(se, float)[k]),
        "expected_max_ergotropy": float(np.asarray(r.expected["ergotropy"], float)[k]),
        "ideal_max_ergotropy": e_ideal,
        "relative_error": (e_rec - e_ideal) / abs(e_ideal) if e_ideal != 0 else math.nan,
    }


def evaluate_point(protocol, stage: str) -> dict:
    """Evaluate one sweep point: a flat dict metric → float.

    ``stage``:

    * ``"battery"`` — the model alone (:func:`nmrqb.battery.charge` over the
      protocol's Ωt, no simulation): ``max_ergotropy``, ``max_power``,
      ``capacity``, ``max_l1_coherence``;
    * ``"tomography"`` — the simulated, noisy experiment reconstructed as
      :func:`nmrqb.run.run_protocol` does it, at the one Ωt where the
      model's ergotropy is largest (the only one the metrics need), without
      the bootstrap and the plan (so ``max_ergotropy_se`` is 0);
    * ``"run"`` — :func:`nmrqb.run.run_protocol`, bootstrap included.

    The last two return ``max_ergotropy`` (reconstructed, at the Ωt of the
    model's maximum), ``max_ergotropy_se`` (its bootstrap standard error),
    ``expected_max_ergotropy`` (the simulated states without noise:
    relaxation and pulse errors only), ``ideal_max_ergotropy`` (the model)
    and ``relative_error`` = (reconstructed − ideal)/|ideal| (the keys of
    :data:`METRICS`).  A module-level function of picklable arguments, for
    process and Dask executors."""
    from nmrqb.protocol import Protocol, closest_key

    if not isinstance(stage, str) or stage not in STAGES:
        near = None
        if isinstance(stage, str) and stage.strip():
            key = stage.strip().lower()
            near = next((s for s in STAGES if s.startswith(key)), None) or closest_key(stage, STAGES)
        hint = f"; did you mean {near!r}?" if near else ""
        raise ProtocolError(f"sweep stage = {short_repr(stage)} is not allowed: use {', '.join(STAGES)}{hint}")
    if not isinstance(protocol, Protocol):
        raise ProtocolError(f"evaluate_point: protocol must be an nmrqb.protocol.Protocol, got "
                            f"{type(protocol).__name__}")
    if stage == "battery":
        return _battery(protocol)
    from nmrqb.run import run_protocol

    if stage == "tomography":
        # only the metric's Ωt is simulated: the model's maximum, found first
        from nmrqb.battery import _first_max, charge

        omega_t = protocol.omega_t()
        ideal = np.asarray(charge(protocol.model(), protocol.T, omega_t).ergotropy, float)
        k = int(_first_max(ideal[None, :])[0])
        one = protocol.replace(**{"charging.omega_t": [float(omega_t[k])], "analysis.bootstrap": 0})
        r = run_protocol(one, plan=False)
        return _ergotropy_summary(r, np.zeros(1))
    r = run_protocol(protocol)
    return _ergotropy_summary(r, r.standard_error["ergotropy"])


# ============================================================================
# a whole sweep
# ============================================================================
#: Points per saved chunk when none is given, by stage (about 5-20 s of work
#: per chunk on one core: a chunk is the unit that a resumed sweep skips).
DEFAULT_CHUNK_POINTS = {"battery": 256, "tomography": 8, "run": 1}

#: What ``nmrqb sweep`` writes into its output folder (and all that
#: ``--force`` may remove there).
OUTPUT_NAMES = ("sweep.zarr", "sweep.csv", "summary.json", "protocol.toml", "plots")


@dataclass(frozen=True)
class Sweep:
    """A planned sweep: the base ``protocol``, its ``grid`` (axes and
    replicas), the ``stage`` every point runs and the ``--over`` ``specs``
    the axes came from.  Build it with :func:`plan_sweep`."""

    protocol: Any
    grid: Grid
    stage: str
    specs: tuple[str, ...] = ()

    def identity(self) -> dict:
        """What makes two sweeps the same sweep (a resumed sweep must match
        the saved one): the protocol without its ``[sweep]`` section, the
        stage, the axes and their values, the replicas."""
        return {
            "protocol": self.protocol.replace(sweep=None).to_toml(header=False),
            "stage": self.stage,
            "axes": [{"field": a.field, "values": list(a.values)} for a in self.grid.axes],
            "replicas": self.grid.replicas,
        }


def plan_sweep(protocol, over: Sequence[str] | None = None, replicas: int | None = None,
               stage: str | None = None) -> Sweep:
    """The sweep of ``protocol``: ``over`` (the ``--over`` texts; default the
    protocol's ``sweep.over``), ``replicas`` (default ``sweep.replicas``,
    but 1 when ``stage`` overrides the protocol's stage with the noiseless
    ``battery``) and ``stage`` (default ``sweep.stage``).  Every axis and value is checked
    here (:func:`parse_over`), before anything runs."""
    from nmrqb.protocol import Protocol

    if not isinstance(protocol, Protocol):
        raise ProtocolError(f"plan_sweep: protocol must be an nmrqb.protocol.Protocol, got "
                            f"{type(protocol).__name__}")
    specs = protocol.sweep.over if over is None else (over,) if isinstance(over, str) else tuple(over)
    stage = protocol.sweep.stage if stage is None else stage
    if stage not in STAGES:
        evaluate_point(protocol, stage)  # raises the one-line error with its suggestion
    if replicas is None:  # the [sweep] replicas belong to its stage; a battery stage asked for instead has no noise
        replicas = 1 if stage == "battery" != protocol.sweep.stage else protocol.sweep.replicas
    if over is None and specs:  # the axes come from the file: name it and the key
        from nmrqb.protocol import _error

        axes = []
        for i, text in enumerate(specs):
            try:
                axes.append(parse_over(text, protocol))
            except ProtocolError as exc:
                msg = str(exc)
                src = f"{protocol.source}: "
                raise _error(protocol.source, f"sweep.over[{i}]",
                             f"sweep.over[{i}]: {msg[len(src):] if msg.startswith(src) else msg}") from None
        axes = tuple(axes)
    else:
        axes = tuple(parse_over(text, protocol) for text in specs)
    grid = Grid(axes, replicas)
    if len(grid) > MAX_SWEEP_POINTS:
        raise ProtocolError(f"sweep of {len(grid)} points is not allowed: at most {MAX_SWEEP_POINTS} (axes × "
                            "replicas); split it into several sweeps")
    return Sweep(protocol, grid, stage, specs)


#: The most points (grid points × replicas) one sweep may hold.
MAX_SWEEP_POINTS = 10**8


def _user_errors() -> tuple[type[BaseException], ...]:
    from pulses.errors import PulsesError
    from tomography.errors import TomographyError

    from nmrqb.errors import NmrqbError

    return NmrqbError, PulsesError, TomographyError


def evaluate_block(task) -> tuple[int, dict, list, list]:
    """Evaluate the points of one chunk in a worker: ``task`` is
    (block number, base protocol, grid, stage, list of point coordinates);
    returns (block number, metric → values, seeds, error messages).  A point
    whose protocol is refused by the physics (a user error) is recorded
    with NaN metrics and its one-line message; anything else propagates."""
    b, protocol, grid, stage, coords = task
    names = METRICS[stage]
    values: dict[str, list] = {m: [] for m in names}
    seeds: list[int] = []
    errors: list[str] = []
    user_errors = _user_errors()
    for c in coords:
        p = point_protocol(protocol, grid, grid.index(c))
        seeds.append(p.acquisition.seed)
        try:
            out = evaluate_point(p, stage)
            err = ""
        except user_errors as exc:
            out = {}
            err = " ".join(str(exc).split()) or type(exc).__name__
        for m in names:
            values[m].append(float(out.get(m, math.nan)))
        errors.append(err)
    return b, values, seeds, errors


@dataclass(frozen=True)
class SweepResult:
    """What :func:`run_sweep` did: the output folder, the dataset, the chunk
    counts (``computed`` now, ``skipped`` because a resumed sweep had saved
    them), failed points, seconds and the planning summary."""

    out: Any
    dataset: Any
    chunks: int
    computed: int
    skipped: int
    failed_points: int
    seconds: float
    summary: dict


def _prepare_out(out, resume: bool, force: bool):
    """The output folder, checked before anything runs: returns (path, an
    existing store to resume or None).  A folder holding anything but an
    earlier sweep is never touched."""
    import shutil

    from nmrqb.errors import DataError
    from nmrqb.output import _out_path
    from nmrqb.sweep_store import STORE_NAME, is_sweep_store

    out = _out_path(out)
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise DataError(f"--out {str(out)!r} exists and is not a folder")
    store = out / STORE_NAME
    if out.is_dir():
        for leftover in out.glob(f".{STORE_NAME}.*.tmp"):  # a store being created when a run was killed
            shutil.rmtree(leftover, ignore_errors=True)
        entries = [e for e in out.iterdir() if not (e.name.startswith(".") and e.name.endswith(".tmp"))]
        if is_sweep_store(store):
            if resume:
                return out, store
            if not force:
                raise DataError(f"--out {str(out)!r} holds a sweep: pass --resume to continue it, --force to "
                                "replace it, or choose another folder")
            foreign = [e.name for e in entries if e.name not in OUTPUT_NAMES]
            if foreign:
                raise DataError(f"--out {str(out)!r} holds files that nmrqb sweep did not write "
                                f"({', '.join(sorted(foreign)[:3])}): nmrqb does not replace it, even with --force")
            for e in entries:
                shutil.rmtree(e) if e.is_dir() and not e.is_symlink() else e.unlink()
        elif entries:
            raise DataError(f"--out {str(out)!r} exists and is not an nmrqb sweep (no {STORE_NAME}): choose an "
                            "empty or new folder")
    return out, None


def _check_resume(attrs: dict, sweep: Sweep, chunks, store) -> None:
    import json

    from nmrqb.errors import DataError

    saved = json.loads(attrs.get("identity", "{}"))
    mine = json.loads(json.dumps(sweep.identity()))
    for key, what in (("stage", "stage"), ("axes", "axes (--over)"), ("replicas", "replicas"),
                      ("protocol", "protocol")):
        if saved.get(key) != mine.get(key):
            raise DataError(f"--resume: the sweep in {str(store.parent)!r} has other {what} than this one: "
                            "give the same protocol and options, or a new --out")
    if chunks is not None and tuple(attrs.get("chunks", ())) != tuple(chunks):
        raise DataError(f"--resume: the sweep in {str(store.parent)!r} was saved in chunks of shape "
                        f"{tuple(attrs.get('chunks', ()))}, not {tuple(chunks)}: leave out --chunk")


def run_sweep(sweep: Sweep, out, *, executor=None, workers: int | None = None, resume: bool = False,
              force: bool = False, chunk: int | None = None, progress: bool = False,
              target: float = 0.05) -> SweepResult:
    """Run ``sweep`` and save it in the folder ``out``.

    Parameters
    ----------
    sweep : Sweep
        From :func:`plan_sweep`.
    out : path
        The output folder: new or empty, an earlier sweep with ``resume``
        (continue it) or ``force`` (replace it); anything else is refused.
        It receives ``sweep.zarr`` (the dataset, saved chunk by chunk as
        chunks finish), ``protocol.toml`` and, once every chunk is saved,
        ``sweep.csv``, ``summary.json`` and ``plots/``.
    executor : nmrqb.parallel.Executor, optional
        Where the chunks run (default: local processes,
        :func:`nmrqb.parallel.make_executor`); not closed here if given.
    workers : int, optional
        Workers of the default executor.
    resume : bool
        Continue the sweep saved in ``out``: the chunks saved there are
        skipped, the others computed.  The saved sweep must be this one
        (same protocol, stage, axes and replicas).
    chunk : int, optional
        Points per chunk (default :data:`DEFAULT_CHUNK_POINTS` of the
        stage); a resumed sweep keeps its own.
    progress : bool
        A progress bar (points done, rate, time left) on stderr.
    target : float
        The relative precision of the planning summary (0.05: ±5 %).

    The results never depend on the executor, the workers, the chunking or
    an interruption: every point's seed comes from its coordinates.
    """
    import json
    import time

    from tqdm import tqdm

    from nmrqb import sweep_report, sweep_store
    from nmrqb.output import versions, write_atomic
    from nmrqb.parallel import make_executor

    if not isinstance(sweep, Sweep):
        raise ProtocolError(f"run_sweep: sweep must be a Sweep (from plan_sweep), got {type(sweep).__name__}")
    if chunk is not None and (isinstance(chunk, bool) or not isinstance(chunk, (int, np.integer))
                              or not 1 <= chunk <= 10**7):
        raise ProtocolError(f"--chunk = {short_repr(chunk)} is not allowed: give points per chunk, a whole "
                            "number from 1 to 1e7")
    if not (isinstance(target, (int, float)) and 0 < target < 1):
        raise ProtocolError(f"target = {short_repr(target)} is not allowed: give a relative precision 0 < x < 1")
    if executor is None and workers is not None:
        from nmrqb.parallel import _check_workers

        workers = _check_workers(workers)  # before the output folder is touched
    t0 = time.perf_counter()
    out, existing = _prepare_out(out, resume, force)
    grid = sweep.grid
    metrics = METRICS[sweep.stage]
    store = out / sweep_store.STORE_NAME
    given = chunk if chunk is not None else sweep.protocol.sweep.chunk
    chunks = sweep_store.chunk_shape(grid.shape, given or DEFAULT_CHUNK_POINTS[sweep.stage])
    if existing is not None:
        group, layout, attrs = sweep_store.open_store(store)
        _check_resume(attrs, sweep, chunks if given is not None else None, store)
    else:
        import secrets

        out.mkdir(parents=True, exist_ok=True)
        write_atomic(out / "protocol.toml", sweep.protocol.to_toml())
        tmp = out / f".{sweep_store.STORE_NAME}.{secrets.token_hex(4)}.tmp"
        attrs = {
            "stage": sweep.stage,
            "over": list(sweep.specs),
            "fields": list(grid.fields),
            "replicas": grid.replicas,
            "chunks": list(chunks),
            "protocol": sweep.protocol.to_toml(),
            "identity": json.dumps(sweep.identity()),
            "versions": versions(),
        }
        sweep_store.create_store(tmp, [(a.field, a.values) for a in grid.axes], grid.replicas, metrics, chunks,
                                 attrs)
        os.replace(tmp, store)  # the store appears whole or not at all
        group, layout, attrs = sweep_store.open_store(store)
    saved = sweep_store.saved_blocks(group, layout)
    todo = [b for b in range(len(layout)) if b not in saved]
    tasks = [(b, sweep.protocol, grid, sweep.stage, list(layout.points(b))) for b in todo]
    done_points = sum(math.prod(s.stop - s.start for s in layout.block(b)) for b in saved)
    own = executor is None
    if own and todo:
        executor = make_executor("local", workers)
    bar = tqdm(total=len(grid), initial=done_points, unit="pt", desc=f"nmrqb sweep {sweep.stage}",
               disable=not progress, dynamic_ncols=True)
    computed = 0
    try:
        if todo:
            for _, (b, values, seeds, errors) in executor.map_unordered(evaluate_block, tasks):
                sweep_store.write_block(group, layout, b, values, np.asarray(seeds), np.asarray(errors, object))
                computed += 1
                bar.update(len(seeds))
    except BaseException as exc:
        if own and executor is not None:
            executor.terminate()
        from concurrent.futures.process import BrokenProcessPool

        if isinstance(exc, BrokenProcessPool):
            from nmrqb.errors import NmrqbError

            raise NmrqbError(f"a sweep worker process died (out of memory, or killed) after {computed} of "
                             f"{len(todo)} chunks: the saved chunks are kept in {str(store)!r}; continue with "
                             "--resume (fewer --workers if memory ran out)") from None
        raise
    finally:
        bar.close()
    if own and executor is not None:
        executor.close()
    ds = sweep_store.load_sweep(store)
    summary = sweep_report.planning_summary(ds, target=target, confidence=sweep.protocol.analysis.confidence)
    sweep_report.write_outputs(ds, out, summary)
    failed = int(np.sum(ds["status"].values == sweep_store.STATUS_FAILED))
    return SweepResult(out=out, dataset=ds, chunks=len(layout), computed=computed, skipped=len(saved),
                       failed_points=failed, seconds=time.perf_counter() - t0, summary=summary)
