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
from dataclasses import dataclass
from typing import Any

import numpy as np

from nmrqb._checks import short_repr
from nmrqb.errors import ProtocolError

__all__ = ["Axis", "Grid", "parse_over", "point_seed", "point_protocol", "evaluate_point", "STAGES",
           "MAX_AXIS_POINTS"]

#: The stages a sweep point can run, cheapest first.
STAGES = ("battery", "tomography", "run")

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


def _known_keys(protocol) -> list[str]:
    """Every dotted key of the protocol: the schema's section keys and the
    ones of this protocol's lists and tables (``platform.spins[1].t2_s``,
    ``acquisition.snr.13C``)."""
    from nmrqb.protocol import SCHEMA

    keys: list[str] = []
    for section, names in SCHEMA.items():
        if section in ("", "platform.spins", "platform.couplings", "platform.limits", "fit.parameters"):
            if section == "":
                keys.extend(names)
            continue
        keys.extend(f"{section}.{n}" for n in names)

    def walk(node, path):
        if isinstance(node, dict):
            for k, v in node.items():
                sub = f"{path}.{k}" if path else str(k)
                keys.append(sub)
                walk(v, sub)
        elif isinstance(node, list) and node and all(isinstance(x, dict) for x in node):
            for i, x in enumerate(node):
                keys.append(f"{path}[{i}]")
                walk(x, f"{path}[{i}]")

    walk(protocol.to_dict(), "")
    return list(dict.fromkeys(keys))


def _current(protocol, field: str):
    """The field's present value in ``protocol.to_dict()``, or None."""
    from nmrqb.protocol import _parse_key

    node: Any = protocol.to_dict()
    try:
        for part in _parse_key(protocol.source, field):
            node = node[part]
    except (ProtocolError, KeyError, IndexError, TypeError):
        return None
    return node


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
    from nmrqb.protocol import Protocol, _norm_key, _suggest

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
    field = _norm_key(field)
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
            near = _suggest(field, _known_keys(protocol))
            hint = f"; did you mean {near!r}?" if near and near != field else ""
            raise _over_error(text, f"unknown field {short_repr(field)}: give a protocol key such as "
                              f"'acquisition.snr' or 'platform.spins[1].t2_s'{hint}", field) from None
    values = _coerce(text, field, values, tokens, _current(protocol, field))
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
        from nmrqb.protocol import _norm_key

        axes = tuple(self.axes) if not isinstance(self.axes, Axis) else (self.axes,)
        if not all(isinstance(a, Axis) for a in axes):
            raise ProtocolError(f"sweep grid: axes = {short_repr(self.axes)} is not allowed: give Axis objects "
                                "(from parse_over)")
        for a in axes:
            if len(a.values) < 1:
                raise ProtocolError(f"sweep grid: axis {a.field!r} has 0 points: give at least 1")
        seen: dict[str, str] = {}
        for a in axes:
            k = _norm_key(a.field)
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


def _tomography(protocol) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(ideal, reconstructed, standard error = 0) ergotropy per Ωt: the run
    up to the reconstruction, without the bootstrap and the plan (same seeds,
    so the same reconstruction as :func:`nmrqb.run.run_protocol`)."""
    from nmrqb.run import run_protocol

    r = run_protocol(protocol.replace(**{"analysis.bootstrap": 0}), plan=False)
    return (np.asarray(r.ideal["ergotropy"], float), np.asarray(r.reconstructed["ergotropy"], float),
            np.zeros(len(r.omega_t)))


def _ergotropy_summary(ideal, rec, se) -> dict:
    from nmrqb.battery import _first_max

    k = int(_first_max(np.asarray(ideal, float)[None, :])[0])
    e_ideal, e_rec = float(ideal[k]), float(rec[k])
    return {
        "max_ergotropy": e_rec,
        "max_ergotropy_se": float(se[k]),
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
      :func:`nmrqb.run.run_protocol` does it, without the bootstrap and the
      plan (so ``max_ergotropy_se`` is 0);
    * ``"run"`` — :func:`nmrqb.run.run_protocol`, bootstrap included.

    The last two return ``max_ergotropy`` (reconstructed, at the Ωt of the
    model's maximum), ``max_ergotropy_se`` (its bootstrap standard error),
    ``ideal_max_ergotropy`` and ``relative_error`` = (reconstructed −
    ideal)/|ideal|.  A module-level function of picklable arguments, for
    process and Dask executors."""
    from nmrqb.protocol import Protocol, _suggest

    if not isinstance(stage, str) or stage not in STAGES:
        near = None
        if isinstance(stage, str) and stage.strip():
            key = stage.strip().lower()
            near = next((s for s in STAGES if s.startswith(key)), None) or _suggest(stage, STAGES)
        hint = f"; did you mean {near!r}?" if near else ""
        raise ProtocolError(f"sweep stage = {short_repr(stage)} is not allowed: use {', '.join(STAGES)}{hint}")
    if not isinstance(protocol, Protocol):
        raise ProtocolError(f"evaluate_point: protocol must be an nmrqb.protocol.Protocol, got "
                            f"{type(protocol).__name__}")
    if stage == "battery":
        return _battery(protocol)
    if stage == "tomography":
        return _ergotropy_summary(*_tomography(protocol))
    from nmrqb.run import run_protocol

    r = run_protocol(protocol)
    return _ergotropy_summary(r.ideal["ergotropy"], r.reconstructed["ergotropy"], r.standard_error["ergotropy"])
