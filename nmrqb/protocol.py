"""Protocol files: the declarative description of one planned experiment.

A protocol (``protocols/*.toml``, schema ``"nmrqb.protocol/1"``, documented
in ``docs/protocols.md``) says what to simulate end to end: the model and
its temperature, the platform (a preset with overrides, or a full spin
system), the preparation route, the charging grid, the readout set, the
acquisition (SNR, scans, line width, ensembles, seed), the analysis
(estimator, bootstrap), the output folder, and ``[fit]``: the parameters of
a fit of spectra back to the model, one-to-one onto lmfit Parameters
(:meth:`Protocol.fit_parameters`).

Loading (:func:`load_protocol`, :func:`loads_protocol`,
:func:`protocol_from_dict`) validates every key and returns an immutable,
typed :class:`Protocol` with every default filled in.  Validation also
builds the model and the platform and checks that the preparation route and
the readout set fit them, so nothing runs on an invalid protocol.  Every
error is one :class:`~nmrqb.errors.ProtocolError` with a one-line message::

    <source>: <key.path> = <value> is not allowed: <what is allowed>[; did you mean 'x'?]

The platform section is stored *resolved*: a preset's spins, couplings,
limits and scalars are filled in (``Protocol.to_toml()`` prints them, so a
user sees and can edit every number), and loading that output gives an equal
protocol.  :meth:`Protocol.replace` derives a validated variant from dotted
keys (``"acquisition.snr"``, ``"platform.spins[1].t2_s"``); :func:`at_key`
re-raises errors of the run with the key they came from.
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import functools
import json
import math
import numbers
import os
import re
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping

import numpy as np

from nmrqb._checks import PARAMETER_LIMIT, short_repr
from nmrqb.errors import NmrqbError, ProtocolError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = [
    "shipped_protocols",
    "FORMAT",
    "SCHEMA",
    "Protocol",
    "ModelSection",
    "TemperatureSection",
    "SpinSpec",
    "CouplingSpec",
    "LimitsSpec",
    "PlatformSection",
    "PreparationSection",
    "OmegaTGrid",
    "ChargingSection",
    "ReadoutSection",
    "AcquisitionSection",
    "AnalysisSection",
    "OutputSection",
    "SweepSection",
    "closest_key",
    "normalize_key",
    "FitParameterSpec",
    "FitSection",
    "FIT_MODEL_PARAMETERS",
    "FIT_NUISANCE",
    "FIT_NUISANCE_NEUTRAL",
    "FIT_NUISANCE_SCALES",
    "load_protocol",
    "loads_protocol",
    "protocol_from_dict",
    "at_key",
]

#: The schema this module reads (the ``format`` key of every protocol).
FORMAT = "nmrqb.protocol/1"

#: Preset used when ``[platform]`` gives neither ``preset`` nor ``spins``.
DEFAULT_PRESET = "chloroform-13c"

#: The keys of every table of the schema (``"platform.spins"`` is the table
#: of one ``[[platform.spins]]`` entry, ``"platform.limits"`` that of one
#: channel's limits, ``"fit.parameters"`` that of one ``[fit.parameters.<name>]``).
SCHEMA: dict[str, tuple[str, ...]] = {
    "": ("format", "name", "description", "model", "temperature", "platform", "preparation", "charging",
         "readout", "acquisition", "analysis", "output", "fit", "sweep"),
    "model": ("B", "D", "G", "Delta", "epsilon"),
    "temperature": ("T",),
    "platform": ("preset", "proton_mhz", "unit_hz", "recycle_delay_s", "temperature_k", "spins", "couplings",
                 "limits"),
    "platform.spins": ("isotope", "offset_hz", "shift_ppm", "t1_s", "t2_s", "label"),
    "platform.couplings": ("i", "j", "hz", "kind", "weak", "t1d_s"),
    "platform.limits": ("max_nutation_hz", "max_pulse_s", "min_delay_s", "max_duty_cycle"),
    "preparation": ("route", "pulses", "tau_s"),
    "charging": ("omega_t", "flip_deg", "pulses"),
    "charging.omega_t": ("start", "stop", "num"),
    "readout": ("set", "pulses"),
    "acquisition": ("snr", "scans", "noise", "relaxation", "lb_hz", "points", "spectral_width_hz",
                    "rf_inhomogeneity", "offset_error_hz", "ensemble_nodes", "seed"),
    "analysis": ("estimator", "bootstrap", "confidence", "alpha"),
    "output": ("dir", "bruker", "report", "force"),
    "fit": ("vary", "nuisance", "starts", "spread", "seed", "relaxation", "region_hz", "parameters"),
    "fit.parameters": ("value", "min", "max", "vary", "expr"),
    "sweep": ("over", "replicas", "stage", "chunk"),
}

ROUTES = ("auto", "pseudo-gibbs", "jeener-broekaert")  # = nmrqb.translate.ROUTES (kept light to import)
PULSE_MODES = ("ideal", "platform")
READOUT_PRESETS = ("full9", "minimal4", "none")
ESTIMATORS = ("mle", "pls", "wls", "linear")
SWEEP_STAGES = ("battery", "tomography", "run")  # = nmrqb.sweep.STAGES (kept light to import)
MAX_SWEEP_AXES = 8
MAX_SWEEP_REPLICAS = 100_000
MAX_SWEEP_CHUNK = 10**7
ALPHA_MODES = ("known", "min_positive", "pure")
SPIN_HALF_ISOTOPES = ("1H", "13C", "15N", "19F", "31P")
#: The model parameters a fit can estimate (= nmrqb.fit.MODEL_PARAMETERS), in canonical order.
FIT_MODEL_PARAMETERS = ("B", "D", "G", "Delta", "epsilon", "T", "alpha")
#: The kinds of per-channel nuisance parameters: receiver phase (rad), amplitude scale, RF-amplitude scale
#: (flip-angle factor of the charging and readout pulses), frequency offset (Hz), extra line width (Hz).
FIT_NUISANCE = ("phase", "amplitude", "rf", "offset", "lw")

#: The value of each nuisance kind that changes nothing (its default start).
FIT_NUISANCE_NEUTRAL = {"phase": 0.0, "amplitude": 1.0, "rf": 1.0, "offset": 0.0, "lw": 0.0}

#: The nuisance kinds that are scale factors, bounded below by 0 by default (a negative amplitude is a phase of π).
FIT_NUISANCE_SCALES = ("amplitude", "rf")
FIT_DEFAULT_VARY = ("B", "D", "G", "Delta", "epsilon", "alpha")
MAX_FIT_STARTS = 1000
MAX_FIT_SPREAD = 10.0
MAX_NUISANCE = 1e6  # |phase| (rad), |offset|, |lw| (Hz)
MIN_FIT_T = 1e-6  # the default lower bound of T in a fit
MAX_EXPR_LEN = 200
#: The functions (and the constant pi) a fit.parameters.<name>.expr may use.
EXPR_FUNCTIONS = ("abs", "sqrt", "exp", "log", "log10", "sin", "cos", "tan", "arcsin", "arccos", "arctan",
                  "arctan2", "sinh", "cosh", "tanh")

# ranges (docs/protocols.md states them)
MAX_GRID = 10_000  # Ωt values
MAX_OMEGA_T = 1e6  # rad
MAX_FLIP_DEG = 1e8
MAX_SEED = 2**63 - 1  # what TOML can hold
MAX_SPINS = 10  # pulses.spinsystem.MAX_SYSTEM_SPINS

_UNITS = {"_hz": "Hz", "_s": "seconds", "_mhz": "MHz", "_k": "kelvin", "_ppm": "ppm", "_deg": "degrees"}
_SUFFIXES = ("_mhz", "_khz", "_ghz", "_hz", "_ms", "_us", "_ns", "_min", "_s", "_mk", "_k", "_c", "_ppm",
             "_ppb", "_deg", "_rad", "_db", "_t")


# ============================================================================
# sections
# ============================================================================
@dataclass(frozen=True)
class ModelSection:
    """``[model]``: the dipolar model's parameters (model energy units)."""

    B: float = 0.0
    D: float = 0.0
    G: float = 0.0
    Delta: float = 0.0
    epsilon: float = 0.0


@dataclass(frozen=True)
class TemperatureSection:
    """``[temperature]``: T in model energy units (k_B = 1)."""

    T: float = 1.0


@dataclass(frozen=True)
class SpinSpec:
    """One resolved ``[[platform.spins]]`` entry (a :class:`pulses.spinsystem.Spin`)."""

    isotope: str
    offset_hz: float | None = None
    shift_ppm: float | None = None
    t1_s: float | None = None
    t2_s: float | None = None
    label: str = ""


@dataclass(frozen=True)
class CouplingSpec:
    """One resolved ``[[platform.couplings]]`` entry (a :class:`pulses.spinsystem.Coupling`)."""

    i: int
    j: int
    hz: float
    kind: str = "J"
    weak: bool = False
    t1d_s: float | None = None


@dataclass(frozen=True)
class LimitsSpec:
    """The resolved ``[platform.limits."<channel>"]`` of one channel."""

    channel: str
    max_nutation_hz: float
    max_pulse_s: float
    min_delay_s: float = 0.0
    max_duty_cycle: float = 0.1


@dataclass(frozen=True)
class PlatformSection:
    """``[platform]``, resolved: the preset's numbers with the overrides applied
    (``preset`` None: the spins are the full system)."""

    preset: str | None
    proton_mhz: float
    unit_hz: float
    recycle_delay_s: float
    temperature_k: float
    spins: tuple[SpinSpec, ...]
    couplings: tuple[CouplingSpec, ...]
    limits: tuple[LimitsSpec, ...]


@dataclass(frozen=True)
class PreparationSection:
    """``[preparation]``: route, pulse mode and the Jeener–Broekaert delay."""

    route: str = "auto"
    pulses: str = "ideal"
    tau_s: float | None = None


@dataclass(frozen=True)
class OmegaTGrid:
    """``omega_t = {start, stop, num}``: ``num`` values evenly on [start, stop]."""

    start: float = 0.0
    stop: float = math.pi
    num: int = 19

    def values(self) -> np.ndarray:
        return np.linspace(self.start, self.stop, self.num)


@dataclass(frozen=True)
class ChargingSection:
    """``[charging]``: exactly one of ``omega_t`` (a grid or explicit values)
    and ``flip_deg`` (θ = 2Ωt in degrees) is set."""

    omega_t: OmegaTGrid | tuple[float, ...] | None = OmegaTGrid()
    flip_deg: tuple[float, ...] | None = None
    pulses: str = "ideal"

    def values(self) -> np.ndarray:
        """The Ωt values (radians), as given or from flip_deg: Ωt = radians(θ)/2."""
        if self.flip_deg is not None:
            return np.radians(np.asarray(self.flip_deg, dtype=np.float64)) / 2.0
        if isinstance(self.omega_t, OmegaTGrid):
            return self.omega_t.values()
        return np.asarray(self.omega_t, dtype=np.float64)


@dataclass(frozen=True)
class ReadoutSection:
    """``[readout]``: "full9", "minimal4", "none" or a tuple of readout names."""

    set: str | tuple[str, ...] = "full9"
    pulses: str = "ideal"

    def names(self) -> tuple[str, ...] | None:
        """The readout names (None for "none")."""
        if self.set == "none":
            return None
        if isinstance(self.set, str):
            from tomography.model import NMR_FULL9, NMR_MINIMAL4

            return {"full9": NMR_FULL9, "minimal4": NMR_MINIMAL4}[self.set]
        return tuple(self.set)


@dataclass(frozen=True)
class AcquisitionSection:
    """``[acquisition]``.  ``snr`` is one number for every channel or
    ((channel, snr), ...) in the platform's channel order."""

    snr: float | tuple[tuple[str, float], ...] = 200.0
    scans: int = 16
    noise: bool = True
    relaxation: bool = True
    lb_hz: float = 0.0
    points: int = 2048
    spectral_width_hz: float | None = None
    rf_inhomogeneity: float = 0.0
    offset_error_hz: float = 0.0
    ensemble_nodes: int = 7
    seed: int = 1

    def snr_for(self, channel: str) -> float:
        """SNR per scan of ``channel``'s thermal reference spectrum."""
        if isinstance(self.snr, tuple):
            table = dict(self.snr)
            if channel not in table:
                raise ProtocolError(f"acquisition.snr has no entry for channel {channel!r} "
                                    f"(channels: {', '.join(table)})")
            return table[channel]
        return self.snr


@dataclass(frozen=True)
class AnalysisSection:
    """``[analysis]``: estimator, bootstrap size (0: Fisher errors),
    confidence level, and how α is found ("known", "min_positive", "pure" or
    a number)."""

    estimator: str = "mle"
    bootstrap: int = 100
    confidence: float = 0.95
    alpha: str | float = "known"


@dataclass(frozen=True)
class OutputSection:
    """``[output]``: folder, Bruker data sets, report, overwrite."""

    dir: str = "nmrqb-run"
    bruker: bool = True
    report: bool = True
    force: bool = False


@dataclass(frozen=True)
class FitParameterSpec:
    """One ``[fit.parameters.<name>]`` table; None: not given (the default).

    ``name`` is the protocol key: a model parameter (B, D, G, Delta, epsilon,
    T, alpha) or a nuisance parameter "<kind>_<channel>" ("phase_1H"), whose
    lmfit name is "<kind>_c<channel>" ("phase_c1H")."""

    name: str
    value: float | None = None
    min: float | None = None
    max: float | None = None
    vary: bool | None = None
    expr: str | None = None

    @property
    def lmfit_name(self) -> str:
        """The lmfit Parameter name ("phase_1H" → "phase_c1H"; model names unchanged)."""
        if self.name in FIT_MODEL_PARAMETERS:
            return self.name
        kind, channel = self.name.split("_", 1)
        return _fit_name(kind, channel)


@dataclass(frozen=True)
class FitSection:
    """``[fit]``: what a fit of spectra back to the model estimates, and how.

    ``vary``: the model parameters fitted (the others fixed); ``nuisance``:
    the kinds of per-channel nuisance parameters fitted; ``starts`` starting
    points (the start and a seeded Latin hypercube of ``starts`` − 1 more,
    within ±``spread`` relative); ``relaxation``: None follows
    ``acquisition.relaxation``; ``region_hz``: None fits the whole FIDs, a
    half-width (Hz) fits the complex spectra only within it of every line
    (:class:`nmrqb.fit.SpectralWindows`); ``parameters``: per-parameter overrides in
    canonical order (model parameters, then nuisance by kind and channel)."""

    vary: tuple[str, ...] = FIT_DEFAULT_VARY
    nuisance: tuple[str, ...] = ("phase",)
    starts: int = 8
    spread: float = 0.3
    seed: int = 0
    relaxation: bool | None = None
    region_hz: float | None = None
    parameters: tuple[FitParameterSpec, ...] = ()

    def parameter(self, name: str) -> FitParameterSpec | None:
        """The ``[fit.parameters.<name>]`` spec (protocol key), or None."""
        return next((p for p in self.parameters if p.name == name), None)


@dataclass(frozen=True)
class SweepSection:
    """``[sweep]``: the planning sweep ``nmrqb sweep`` runs on this protocol.

    ``over``: the axes, each "FIELD=SPEC" as ``--over`` takes it
    (``"acquisition.snr=10:1000:log20"``); ``replicas``: noise replicas per
    grid point; ``stage``: what each point computes (``battery``,
    ``tomography`` or ``run``); ``chunk``: points per saved chunk (None:
    chosen by the stage).  Command-line options override these."""

    over: tuple[str, ...] = ()
    replicas: int = 1
    stage: str = "tomography"
    chunk: int | None = None


def _fit_name(kind: str, channel: str) -> str:
    """The lmfit name of a nuisance parameter (:func:`nmrqb.fit.nuisance_name`)."""
    from nmrqb.fit import nuisance_name

    return nuisance_name(kind, channel)


_SECTION_ATTR = {
    "model": "model_spec", "temperature": "temperature", "platform": "platform_spec",
    "preparation": "preparation", "charging": "charging", "readout": "readout",
    "acquisition": "acquisition", "analysis": "analysis", "output": "output", "fit": "fit", "sweep": "sweep",
}


@dataclass(frozen=True)
class Protocol:
    """A validated protocol (schema ``"nmrqb.protocol/1"``), every default filled.

    Build it with :func:`load_protocol`, :func:`loads_protocol` or
    :func:`protocol_from_dict` (the constructor does not validate).  The
    ``[model]`` and ``[platform]`` sections are the fields ``model_spec``
    and ``platform_spec``; :meth:`model` and :meth:`platform` build the
    objects.  ``source`` (the file, or "<string>") does not take part in
    equality.
    """

    name: str
    description: str
    model_spec: ModelSection
    temperature: TemperatureSection
    platform_spec: PlatformSection
    preparation: PreparationSection
    charging: ChargingSection
    readout: ReadoutSection
    acquisition: AcquisitionSection
    analysis: AnalysisSection
    output: OutputSection
    fit: FitSection = FitSection()
    sweep: SweepSection = SweepSection()
    source: str = field(default="<string>", compare=False)
    format: str = FORMAT

    # ---------------------------------------------------------------- objects
    @property
    def T(self) -> float:
        """The temperature (model units)."""
        return self.temperature.T

    def model(self):
        """The :class:`nmrqb.model.DipolarModel` of ``[model]``."""
        from nmrqb.model import DipolarModel

        m = self.model_spec
        return DipolarModel(B=m.B, D=m.D, G=m.G, Delta=m.Delta, epsilon=m.epsilon)

    def platform(self):
        """The :class:`pulses.platform.Platform` of ``[platform]`` (a new object per call)."""
        return _build_platform(self.platform_spec)

    def omega_t(self) -> np.ndarray:
        """The charging Ωt values (radians) as a float array."""
        return self.charging.values()

    def route(self) -> str:
        """The preparation route with "auto" resolved for this platform."""
        return _resolve_route(self.preparation.route, self.platform_spec)

    def readouts(self) -> tuple[str, ...] | None:
        """The readout names ("full9" expanded), or None for no readout."""
        return self.readout.names()

    def translate_kwargs(self) -> dict:
        """Keyword arguments of :func:`nmrqb.translate.translate` for this
        protocol (after ``model``, ``T`` and ``platform``)."""
        return {
            "route": self.route(),
            "omega_t": self.omega_t(),
            "readouts": self.readouts(),
            "nutation_hz": self.nutation("preparation"),
            "charging_nutation_hz": self.nutation("charging"),
            "readout_nutation_hz": self.nutation("readout"),
            "points": self.acquisition.points,
            "spectral_width_hz": self.acquisition.spectral_width_hz,
            "tau_s": self.preparation.tau_s,
        }

    def nutation(self, section: str):
        """``nutation_hz`` for the pulses of ``section`` ("preparation",
        "charging" or "readout"): None for ideal pulses, "max" for finite
        pulses at the platform's limits."""
        if section not in ("preparation", "charging", "readout"):
            near = difflib.get_close_matches(str(section), ["preparation", "charging", "readout"], n=1)
            hint = f"; did you mean {near[0]!r}?" if near else ""
            raise ProtocolError(f"nutation: section = {short_repr(section)} is not allowed: use 'preparation', "
                                f"'charging' or 'readout'{hint}")
        return None if getattr(self, section).pulses == "ideal" else "max"

    def section(self, name: str):
        """The dataclass of section ``name`` (schema name: "model", "platform", ...)."""
        if name not in _SECTION_ATTR:
            near = _suggest(name, tuple(_SECTION_ATTR))
            hint = f"; did you mean {near!r}?" if near else ""
            raise ProtocolError(f"section = {short_repr(name)} is not allowed: use {', '.join(_SECTION_ATTR)}{hint}")
        return getattr(self, _SECTION_ATTR[name])

    def summary(self) -> str:
        """One line: "<name>: <route> on <platform>, <n> Ωt, <readouts>"."""
        n = len(self.omega_t())
        ro = self.readout.set
        if ro == "none":
            rtext = "no readout"
        elif isinstance(ro, str):
            rtext = f"{ro} readout"
        else:
            rtext = f"readouts {', '.join(ro)}"
        where = self.platform_spec.preset or "a custom platform"
        return f"{self.name}: {self.route()} on {where}, {n} Ωt, {rtext}"

    # ------------------------------------------------------------ serialise
    def to_dict(self) -> dict:
        """Every key with its value, defaults filled in (JSON- and TOML-ready:
        only str, int, float, bool, lists and dicts).  Optional keys that are
        unset (``tau_s``, ``spectral_width_hz``, a spin's ``t2_s``...) are
        left out: absent means "the default" (see docs/protocols.md)."""
        out: dict[str, Any] = {"format": self.format, "name": self.name, "description": self.description}
        out["model"] = dataclasses.asdict(self.model_spec)
        out["temperature"] = {"T": self.temperature.T}
        ps = self.platform_spec
        plat: dict[str, Any] = {}
        if ps.preset is not None:
            plat["preset"] = ps.preset
        plat.update(proton_mhz=ps.proton_mhz, unit_hz=ps.unit_hz, recycle_delay_s=ps.recycle_delay_s,
                    temperature_k=ps.temperature_k)
        plat["spins"] = [_drop_none(dataclasses.asdict(s)) for s in ps.spins]
        plat["couplings"] = [_drop_none(dataclasses.asdict(c)) for c in ps.couplings]
        plat["limits"] = {lim.channel: {k: v for k, v in dataclasses.asdict(lim).items() if k != "channel"}
                          for lim in ps.limits}
        out["platform"] = plat
        out["preparation"] = _drop_none(dataclasses.asdict(self.preparation))
        ch = self.charging
        charging: dict[str, Any] = {}
        if ch.flip_deg is not None:
            charging["flip_deg"] = list(ch.flip_deg)
        elif isinstance(ch.omega_t, OmegaTGrid):
            charging["omega_t"] = dataclasses.asdict(ch.omega_t)
        else:
            charging["omega_t"] = list(ch.omega_t)
        charging["pulses"] = ch.pulses
        out["charging"] = charging
        rs = self.readout.set
        out["readout"] = {"set": rs if isinstance(rs, str) else list(rs), "pulses": self.readout.pulses}
        acq = dataclasses.asdict(self.acquisition)
        if isinstance(self.acquisition.snr, tuple):
            acq["snr"] = dict(self.acquisition.snr)
        out["acquisition"] = _drop_none(acq)
        out["analysis"] = dataclasses.asdict(self.analysis)
        out["output"] = dataclasses.asdict(self.output)
        f = self.fit
        fit: dict[str, Any] = {"vary": list(f.vary), "nuisance": list(f.nuisance), "starts": f.starts,
                               "spread": f.spread, "seed": f.seed}
        if f.relaxation is not None:
            fit["relaxation"] = f.relaxation
        if f.region_hz is not None:
            fit["region_hz"] = f.region_hz
        if f.parameters:
            fit["parameters"] = {ps.name: _drop_none({k: getattr(ps, k) for k in SCHEMA["fit.parameters"]})
                                 for ps in f.parameters}
        out["fit"] = fit
        sw = self.sweep
        sweep: dict[str, Any] = {"over": list(sw.over), "replicas": sw.replicas, "stage": sw.stage}
        if sw.chunk is not None:
            sweep["chunk"] = sw.chunk
        out["sweep"] = sweep
        return out

    # ----------------------------------------------------------------- keys
    def keys(self) -> list[str]:
        """Every dotted key of this protocol, as :meth:`replace` and
        :meth:`get` take them: the schema's section keys and those of this
        protocol's lists and tables (``platform.spins[1].t2_s``,
        ``acquisition.snr.13C``), in schema order."""
        keys: list[str] = []
        for section, names in SCHEMA.items():
            if section == "":
                keys.extend(names)
            elif section not in ("platform.spins", "platform.couplings", "platform.limits", "fit.parameters"):
                keys.extend(f"{section}.{n}" for n in names)

        def walk(node, path):
            if isinstance(node, dict):
                for k, val in node.items():
                    sub = f"{path}.{k}" if path else str(k)
                    keys.append(sub)
                    walk(val, sub)
            elif isinstance(node, list) and node and all(isinstance(x, dict) for x in node):
                for i, x in enumerate(node):
                    keys.append(f"{path}[{i}]")
                    walk(x, f"{path}[{i}]")

        walk(self.to_dict(), "")
        return list(dict.fromkeys(keys))

    def get(self, key: str):
        """The value at a dotted key (as in :meth:`to_dict`), e.g.
        ``p.get("platform.spins[1].t2_s")``; a key this protocol does not
        hold (an unset optional key, or an unknown one) is a one-line
        :class:`ProtocolError` naming the closest known key."""
        node: Any = self.to_dict()
        parts = _parse_key(self.source, key)
        try:
            for part in parts:
                node = node[part]
        except (KeyError, IndexError, TypeError):
            near = closest_key(_norm_key(key), self.keys())
            hint = f"; did you mean {near!r}?" if near and near != _norm_key(key) else ""
            raise _error(self.source, None, f"key {short_repr(key)} is not set in this protocol{hint}") from None
        return node

    def to_toml(self, header: bool = True) -> str:
        """The protocol as TOML with every default filled in;
        ``loads_protocol(p.to_toml()) == p``."""
        lines: list[str] = []
        if header:
            lines += [f"# nmrqb protocol {self.name!r}, every default filled in (schema {FORMAT}; docs/protocols.md)",
                      ""]
        _emit_toml(lines, self.to_dict())
        return "\n".join(lines).rstrip("\n") + "\n"

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)

    # ------------------------------------------------------------------ fit
    def fit_relaxation(self) -> bool:
        """Whether the fit's forward model includes relaxation: ``fit.relaxation``,
        or ``acquisition.relaxation`` when that is not given."""
        return self.acquisition.relaxation if self.fit.relaxation is None else self.fit.relaxation

    def fit_parameters(self, alpha: float, channels: tuple[str, ...] | None = None):
        """The :class:`lmfit.Parameters` of a fit, one-to-one from ``[fit]``.

        First the seven model parameters B, D, G, Delta, epsilon, T, alpha:
        the start value is ``fit.parameters.<name>.value``, else the
        protocol's (``[model]``, ``temperature.T``, and ``alpha`` — typically
        the preparation's α); varied when listed in ``fit.vary`` unless the
        parameter's ``vary`` overrides it; bounds as given, by default
        T ≥ 1e-6 and 0 ≤ alpha ≤ 1.  Then, for each kind in ``fit.nuisance``
        and each of ``channels`` (default: the platform's), the nuisance
        parameter "<kind>_c<channel>" ("phase_c1H"; its protocol key is
        "phase_1H"), start 0, varied, with any overrides.  The ``expr`` ties
        are set last.  A start outside its bounds, or a tie that cannot be
        evaluated at the starts, is a :class:`ProtocolError` naming the key.
        """
        v = _V(self.source)
        plat = tuple(lim.channel for lim in self.platform_spec.limits)
        if channels is None:
            channels = plat
        if isinstance(channels, str) or not isinstance(channels, (list, tuple)) or len(set(channels)) != len(
                channels) or not all(isinstance(c, str) and c in plat for c in channels):
            raise _error(self.source, None, f"fit_parameters: channels = {short_repr(channels)} is not allowed: give "
                         f"distinct channels of the platform ({', '.join(plat)})")
        for ps in self.fit.parameters:
            if ps.name not in FIT_MODEL_PARAMETERS and ps.name.split("_", 1)[1] not in channels:
                raise v.fail(f"fit.parameters.{_key_text(ps.name)}", _spec_dict(ps),
                             f"channel {ps.name.split('_', 1)[1]!r} is not among the fitted channels "
                             f"({', '.join(channels)})")
        if isinstance(alpha, (bool, np.bool_)) or not isinstance(alpha, numbers.Real) \
                or not (math.isfinite(float(alpha)) and 0.0 <= float(alpha) <= 1.0):
            raise _error(self.source, None, f"fit_parameters: alpha = {_show(alpha)} is not allowed: give the "
                         "preparation's α, a finite number 0 ≤ α ≤ 1")
        a = float(alpha)
        spec = self.fit.parameter("alpha")
        if spec is not None and spec.value is None and spec.expr is None:
            lo, hi = _fit_bounds("alpha", spec)
            if not lo <= a <= hi:
                key = "min" if a < lo else "max"
                raise v.fail(f"fit.parameters.alpha.{key}", getattr(spec, key),
                             f"the start α = {a:g} (the preparation's) lies outside [{_fmt(lo)}, {_fmt(hi)}]: "
                             "widen the bounds or give fit.parameters.alpha.value")
        return _build_fit_parameters(v, self.fit, self.model_spec, self.T, a, tuple(channels))

    # --------------------------------------------------------------- derive
    def replace(self, **changes: Any) -> "Protocol":
        """A new validated protocol with dotted-key overrides, e.g.
        ``p.replace(**{"acquisition.snr": 50, "platform.spins[1].t2_s": 0.1,
        "acquisition.snr.13C": 80})``.  A value None removes the key (back to
        its default; for a preset platform, the preset's value).  Giving
        ``charging.flip_deg`` drops ``charging.omega_t`` and vice versa, and
        a spin's ``shift_ppm`` drops its ``offset_hz`` and vice versa;
        changing ``platform.preset`` resets the other platform keys to the
        new preset's unless they are given too.  An unknown key is a
        :class:`ProtocolError` naming the closest known one."""
        data = self.to_dict()
        src = self.source
        items = sorted(changes.items(), key=lambda kv: 0 if _norm_key(kv[0]) == "platform.preset" else 1)
        for key, value in items:
            parts = _parse_key(src, key)
            if parts == ["platform", "preset"]:
                plat = data.setdefault("platform", {})
                if isinstance(plat, dict):
                    for k in list(plat):
                        if k != "preset":
                            del plat[k]
            _set_path(src, data, parts, value, self)
        return protocol_from_dict(data, source=src)


# ============================================================================
# loading
# ============================================================================
_MAX_FILE_BYTES = 10 * 2**20


def shipped_protocols() -> dict[str, str]:
    """The shipped protocols, name → file path: ``protocols/*.toml`` of the
    source tree, installed as ``nmrqb/protocols/`` (``nmrqb run NAME``)."""
    here = Path(__file__).resolve().parent
    for folder in (here / "protocols", here.parent / "protocols"):
        if folder.is_dir():
            found = {f.stem: str(f) for f in sorted(folder.glob("*.toml"))}
            if found:
                return found
    return {}


def load_protocol(path) -> Protocol:
    """Read and validate the protocol file ``path`` (TOML)."""
    if not isinstance(path, (str, os.PathLike)):
        raise ProtocolError(f"protocol path = {short_repr(path)} is not allowed: give a file path")
    src = os.fspath(path)
    if isinstance(src, bytes):
        src = os.fsdecode(src)
    try:
        p = Path(src)
        if p.is_dir():
            raise ProtocolError(f"{src}: is a folder, not a protocol file (give a .toml file)")
        size = p.stat().st_size
        if size > _MAX_FILE_BYTES:
            raise ProtocolError(f"{src}: {size} bytes is not allowed: a protocol file holds at most "
                                f"{_MAX_FILE_BYTES} bytes")
        raw = p.read_bytes()
    except ProtocolError:
        raise
    except FileNotFoundError:
        raise ProtocolError(f"{src}: no such protocol file") from None
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise ProtocolError(f"{src}: cannot read the protocol file: {_one_line(reason)}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProtocolError(f"{src}: invalid TOML: the file is not UTF-8 text (byte {exc.start})") from None
    stem = Path(src).stem or "protocol"
    return _loads(text, src, stem)


def loads_protocol(text: str, source: str = "<string>") -> Protocol:
    """Validate the protocol TOML ``text``; ``source`` names it in errors."""
    if not isinstance(source, str):
        source = short_repr(source)
    if not isinstance(text, str):
        raise ProtocolError(f"{source}: protocol text = {short_repr(text)} is not allowed: give a TOML string")
    return _loads(text, source, None)


def protocol_from_dict(data: Mapping, source: str = "<dict>") -> Protocol:
    """Validate a protocol given as a dict (what :meth:`Protocol.to_dict`
    returns, or parsed TOML/JSON)."""
    if not isinstance(source, str):
        source = short_repr(source)
    return _validate(data, source, None)


def _loads(text: str, source: str, stem: str | None) -> Protocol:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProtocolError(f"{source}: invalid TOML: {_one_line(exc)}") from None
    except RecursionError:
        raise ProtocolError(f"{source}: invalid TOML: nested too deeply") from None
    return _validate(data, source, stem)


# ============================================================================
# errors
# ============================================================================
_MISSING = object()


def _one_line(text) -> str:
    return " ".join(str(text).split())


def _error(source: str, key: str | None, text: str) -> ProtocolError:
    err = ProtocolError(_one_line(f"{source}: {text}"))
    err.source = source
    err.key = key
    return err


def _stem(key: str) -> str:
    k = key.lower()
    for suf in sorted(_SUFFIXES, key=len, reverse=True):
        if k.endswith(suf) and len(k) > len(suf):
            return k[: -len(suf)]
    return k


def closest_key(key, known) -> str | None:
    """The closest of ``known`` to ``key`` (for "did you mean" hints): the
    same name ignoring case, then the same name with another unit suffix
    (t2_ms → t2_s, lb → lb_hz), then :func:`difflib.get_close_matches`;
    None when nothing is close."""
    return _suggest(key, known)


def normalize_key(key) -> str:
    """A dotted key as :meth:`Protocol.replace` compares it (spaces removed)."""
    return _norm_key(key)


def _suggest(key, known) -> str | None:
    """The closest known key: same name ignoring case, then same name but
    another unit suffix (t2_ms → t2_s, lb → lb_hz), then difflib."""
    if not isinstance(key, str) or not known:
        return None
    known = [str(k) for k in known]
    for k in known:
        if k.lower() == key.lower():
            return k
    st = _stem(key)
    for k in known:
        if _stem(k) == st:
            return k
    near = difflib.get_close_matches(key, known, n=1)
    if not near:
        lower = {k.lower(): k for k in known}
        near = [lower[m] for m in difflib.get_close_matches(key.lower(), list(lower), n=1)]
    return near[0] if near else None


def _unit_note(key, suggestion) -> str:
    """' (keys carry their unit: t2_s is in seconds)' when the suggestion
    differs only by its unit suffix."""
    if not isinstance(key, str) or suggestion is None or key.lower() == suggestion.lower():
        return ""
    if _stem(key) != _stem(suggestion):
        return ""
    for suf, unit in sorted(_UNITS.items(), key=lambda kv: -len(kv[0])):
        if suggestion.endswith(suf):
            return f" (keys carry their unit: {suggestion} is in {unit})"
    return ""


def _quote_key(k: str) -> str:
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", k):
        return k
    return _toml_str(k)


class _V:
    """Validation context: the source for messages and the typed checks."""

    def __init__(self, source: str):
        self.source = source

    # ------------------------------------------------------------ failing
    def fail(self, path: str, value, rule: str, suggestion: str | None = None) -> ProtocolError:
        hint = f"; did you mean {suggestion!r}?" if suggestion else ""
        return _error(self.source, path, f"{path} = {_show(value)} is not allowed: {rule}{hint}")

    def missing(self, path: str, rule: str) -> ProtocolError:
        return _error(self.source, path, f"{path} is missing: {rule}")

    def wrap(self, path: str, exc: BaseException, fields: tuple[str, ...] = ()) -> ProtocolError:
        """An error of pulses/nmrqb raised while building ``path``: attach its
        field to the key path when the message starts with "<field> = "."""
        msg = _one_line(exc)
        m = re.match(r"([A-Za-z_][A-Za-z0-9_]*) = ", msg)
        if m and m.group(1) in fields:
            return _error(self.source, f"{path}.{m.group(1)}", f"{path}.{msg}")
        return _error(self.source, path, f"{path}: {msg}")

    # -------------------------------------------------------------- tables
    def table(self, path: str, value, keys_of: str) -> dict:
        if value is _MISSING:
            return {}
        if not isinstance(value, Mapping):
            what = f"[{path}]" if "[" not in path else "a table"
            raise self.fail(path, value, f"give a table {what} (keys: {', '.join(SCHEMA[keys_of])})")
        self.keys(path, value, SCHEMA[keys_of])
        return dict(value)

    def keys(self, path: str, table: Mapping, known: tuple[str, ...]) -> None:
        for k in table:
            if k not in known:
                near = _suggest(k, known)
                kp = f"{path}.{_key_text(k)}" if path else _key_text(k)
                where = (f"[{path}]" if "[" not in path else path) if path else "the top level"
                raise self.fail(kp, table[k], f"unknown key of {where} (known: {', '.join(known)})"
                                + _unit_note(k, near), near)

    # --------------------------------------------------------------- values
    def number(self, path, value, *, lo=None, lo_open=False, hi=None, hi_open=False, abs_max=None,
               nonzero=False, unit="") -> float:
        rule = _range_rule(lo, lo_open, hi, hi_open, abs_max, nonzero, unit)
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
            raise self.fail(path, value, rule)
        try:
            x = float(value)
        except (OverflowError, ValueError, TypeError):
            raise self.fail(path, value, rule) from None
        ok = math.isfinite(x)
        if ok and lo is not None:
            ok = x > lo if lo_open else x >= lo
        if ok and hi is not None:
            ok = x < hi if hi_open else x <= hi
        if ok and abs_max is not None:
            ok = abs(x) <= abs_max
        if ok and nonzero:
            ok = x != 0
        if not ok:
            raise self.fail(path, value, rule)
        return x

    def integer(self, path, value, lo, hi, extra: str = "") -> int:
        rule = f"give an integer from {lo} to {hi}{extra}"
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
            raise self.fail(path, value, rule)
        x = int(value)
        if not lo <= x <= hi:
            raise self.fail(path, value, rule)
        return x

    def boolean(self, path, value) -> bool:
        if not isinstance(value, (bool, np.bool_)):
            raise self.fail(path, value, "give true or false")
        return bool(value)

    def choice(self, path, value, choices: tuple[str, ...]) -> str:
        if not isinstance(value, str) or value not in choices:
            near = _suggest(value, choices) if isinstance(value, str) else None
            raise self.fail(path, value, f"use one of {', '.join(repr(c) for c in choices)}", near)
        return value

    def text(self, path, value, *, empty=True, one_line=True, max_len=200) -> str:
        rule = ("give a" + ("" if empty else " non-empty") + (" one-line" if one_line else "")
                + f" string of at most {max_len} characters")
        if not isinstance(value, str) or (not empty and not value.strip()) or len(value) > max_len:
            raise self.fail(path, value, rule)
        if one_line and any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
            raise self.fail(path, value, rule + " (no control characters)")
        if "\x00" in value:
            raise self.fail(path, value, rule + " (no NUL characters)")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise self.fail(path, value, rule + " (valid Unicode text)") from None
        return str(value)

    def number_list(self, path, value, *, lo, hi, unit, max_len=MAX_GRID) -> tuple[float, ...]:
        each = _range_rule(lo, False, hi, False, None, False, unit, bare=True)
        rule = f"give a list of 1 to {max_len} numbers, each {each}"
        if not isinstance(value, (list, tuple)) or not 1 <= len(value) <= max_len:
            raise self.fail(path, value, rule)
        return tuple(self.number(f"{path}[{k}]", v, lo=lo, hi=hi, unit=unit) for k, v in enumerate(value))


def _show(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        try:
            v = int(value)
        except Exception:  # pragma: no cover
            return short_repr(value)
        if abs(v) >= 10**30:
            return f"an integer of {len(str(abs(v))) if abs(v) < 10**4000 else 'more than 4000'} digits"
    return short_repr(value)


def _key_text(k) -> str:
    if isinstance(k, str):
        t = _quote_key(k)
        return t if len(t) <= 60 else t[:57] + "..."
    return short_repr(k)


def _fmt(x: float) -> str:
    """A bound for a message: 1e+12 → 1e12, 1e-06 → 1e-6."""
    return re.sub(r"e([+-])0*(\d)", lambda m: "e" + ("-" if m.group(1) == "-" else "") + m.group(2), f"{x:g}")


def _range_rule(lo, lo_open, hi, hi_open, abs_max, nonzero, unit, bare=False) -> str:
    parts = []
    if lo is not None and hi is not None:
        parts.append(f"{_fmt(lo)} {'<' if lo_open else '≤'} x {'<' if hi_open else '≤'} {_fmt(hi)}")
    elif lo is not None:
        parts.append(f"x {'>' if lo_open else '≥'} {_fmt(lo)}")
    elif hi is not None:
        parts.append(f"x {'<' if hi_open else '≤'} {_fmt(hi)}")
    if abs_max is not None:
        parts.append(f"|x| ≤ {_fmt(abs_max)}")
    if nonzero:
        parts.append("x ≠ 0")
    cond = " and ".join(parts)
    head = "a finite number" if bare else "give a finite number"
    text = f"{head} x with {cond}" if cond else head
    return text + (f" ({unit})" if unit else "")


# ============================================================================
# validation
# ============================================================================
def _validate(data, source: str, stem: str | None) -> Protocol:
    v = _V(source)
    if not isinstance(data, Mapping):
        raise _error(source, None, f"protocol = {_show(data)} is not allowed: give a table of sections")
    if "format" not in data:
        v.keys("", data, SCHEMA[""])  # a misspelt 'format' is named as such
        raise v.missing("format", f"put format = {FORMAT!r} at the top of the protocol")
    if data["format"] != FORMAT:
        raise v.fail("format", data["format"], f"this nmrqb reads format = {FORMAT!r}")
    v.keys("", data, SCHEMA[""])
    name = data.get("name", _MISSING)
    if name is _MISSING:
        name = stem if stem else "protocol"
    name = v.text("name", name, empty=False, max_len=200)
    description = v.text("description", data.get("description", ""), one_line=False, max_len=20_000)

    model_spec = _model(v, data.get("model", _MISSING))
    temperature = _temperature(v, data.get("temperature", _MISSING))
    platform_spec, platform = _platform(v, data.get("platform", _MISSING))
    preparation = _preparation(v, data.get("preparation", _MISSING))
    charging = _charging(v, data.get("charging", _MISSING))
    readout = _readout(v, data.get("readout", _MISSING))
    acquisition = _acquisition(v, data.get("acquisition", _MISSING), platform)
    analysis = _analysis(v, data.get("analysis", _MISSING))
    output = _output(v, data.get("output", _MISSING))
    fit = _fit(v, data.get("fit", _MISSING), model_spec, temperature, platform)
    sweep = _sweep(v, data.get("sweep", _MISSING))

    _cross_checks(v, model_spec, temperature, platform_spec, platform, preparation, charging, readout)
    return Protocol(name=name, description=description, model_spec=model_spec, temperature=temperature,
                    platform_spec=platform_spec, preparation=preparation, charging=charging, readout=readout,
                    acquisition=acquisition, analysis=analysis, output=output, fit=fit, sweep=sweep,
                    source=source)


def _model(v: _V, raw) -> ModelSection:
    t = v.table("model", raw, "model")
    vals = {k: v.number(f"model.{k}", t.get(k, 0.0), abs_max=PARAMETER_LIMIT) for k in SCHEMA["model"]}
    from nmrqb.model import DipolarModel

    try:
        DipolarModel(**vals)
    except NmrqbError as exc:  # pragma: no cover - the checks above are the model's
        raise v.wrap("model", exc, SCHEMA["model"]) from None
    return ModelSection(**vals)


def _temperature(v: _V, raw) -> TemperatureSection:
    t = v.table("temperature", raw, "temperature")
    return TemperatureSection(T=v.number("temperature.T", t.get("T", 1.0), lo=0.0, lo_open=True,
                                         unit="model energy units, k_B = 1"))


# ------------------------------------------------------------------ platform
@functools.lru_cache(maxsize=None)
def _preset_defaults(name: str) -> dict:
    """The preset's numbers as override-ready dicts (cached; read-only use)."""
    from pulses.platform import preset

    p = preset(name)
    s = p.system
    return {
        "proton_mhz": float(s.proton_mhz) if s.proton_mhz is not None else float(s.field_t * 42.577478518),
        "unit_hz": float(p.unit_hz),
        "recycle_delay_s": float(p.recycle_delay_s),
        "temperature_k": float(s.temperature_k),
        "spins": tuple({"isotope": x.isotope, "offset_hz": x.offset_hz, "shift_ppm": x.shift_ppm, "t1_s": x.t1_s,
                        "t2_s": x.t2_s, "label": x.label} for x in s.spins),
        "couplings": tuple({"i": c.i, "j": c.j, "hz": c.hz, "kind": c.kind, "weak": c.weak, "t1d_s": c.t1d_s}
                           for c in s.couplings),
        "limits": {ch: dataclasses.asdict(lim) for ch, lim in p.limits.items()},
        "description": p.description,
    }


_SPIN_RULES = {
    "offset_hz": dict(abs_max=1e8, unit="Hz"),
    "shift_ppm": dict(abs_max=1e5, unit="ppm"),
    "t1_s": dict(lo=0.0, lo_open=True, hi=1e6, unit="seconds"),
    "t2_s": dict(lo=0.0, lo_open=True, hi=1e6, unit="seconds"),
}
_LIMIT_RULES = {
    "max_nutation_hz": dict(lo=0.0, lo_open=True, hi=1e8, unit="Hz"),
    "max_pulse_s": dict(lo=0.0, lo_open=True, hi=1e3, unit="seconds"),
    "min_delay_s": dict(lo=0.0, hi=1.0, unit="seconds"),
    "max_duty_cycle": dict(lo=0.0, lo_open=True, hi=1.0),
}


def _list_of_tables(v: _V, path: str, raw, keys_of: str) -> list[dict]:
    if not isinstance(raw, (list, tuple)) or not all(isinstance(e, Mapping) for e in raw):
        raise v.fail(path, raw, f"give a list of tables [[{path}]] (keys: {', '.join(SCHEMA[keys_of])})")
    if len(raw) > MAX_SPINS * MAX_SPINS:
        raise v.fail(path, raw, f"give at most {MAX_SPINS * MAX_SPINS} entries")
    out = []
    for k, e in enumerate(raw):
        v.keys(f"{path}[{k}]", e, SCHEMA[keys_of])
        out.append(dict(e))
    return out


def _platform(v: _V, raw):
    from pulses.errors import PulsesError

    t = v.table("platform", raw, "platform")
    # unknown keys of the entries first: a misspelt key is the likelier mistake
    sgiven = _list_of_tables(v, "platform.spins", t["spins"], "platform.spins") if "spins" in t else None
    cgiven = (_list_of_tables(v, "platform.couplings", t["couplings"], "platform.couplings")
              if "couplings" in t else None)
    preset_name = t.get("preset", _MISSING)
    if preset_name is _MISSING and "spins" not in t:
        preset_name = DEFAULT_PRESET
    base = None
    if preset_name is not _MISSING:
        from pulses.platform import PRESETS

        preset_name = v.choice("platform.preset", preset_name, tuple(PRESETS))
        base = _preset_defaults(preset_name)
    else:
        preset_name = None

    def scalar(key, required_rule=None, **rule):
        if key in t:
            return v.number(f"platform.{key}", t[key], **rule)
        if base is not None:
            return base[key]
        if required_rule is not None:
            raise v.missing(f"platform.{key}", required_rule)
        return None

    without = ("a platform without a preset (its spins given in full) needs it; to override only some keys of a "
               "preset's spins, give platform.preset")
    proton_mhz = scalar("proton_mhz", f"{without} (the 1H Larmor frequency, MHz)", lo=0.0, lo_open=True, hi=1e4,
                        unit="MHz")
    unit_hz = scalar("unit_hz", f"{without} (Hz per model energy unit: H_lab = 2π·unit_hz·H_model)", abs_max=1e9,
                     nonzero=True, unit="Hz per model energy unit")
    recycle = scalar("recycle_delay_s", None, lo=0.0, hi=1e6, unit="seconds")
    temp_k = scalar("temperature_k", None, lo=0.0, lo_open=True, hi=1e5, unit="kelvin")
    if temp_k is None:
        temp_k = 298.15

    # spins
    if sgiven is not None:
        given = sgiven
    else:
        given = [{} for _ in base["spins"]]
    if base is not None and len(given) != len(base["spins"]):
        raise v.fail("platform.spins", t["spins"],
                     f"with preset {preset_name!r} give {len(base['spins'])} entries, one per preset spin, each "
                     f"overriding only the keys it gives (got {len(given)}); for another system leave out the preset")
    if base is None and not 1 <= len(given) <= MAX_SPINS:
        raise v.fail("platform.spins", t["spins"], f"give 1 to {MAX_SPINS} spins")
    spins: list[SpinSpec] = []
    for k, e in enumerate(given):
        path = f"platform.spins[{k}]"
        merged = dict(base["spins"][k]) if base is not None else {
            "isotope": None, "offset_hz": None, "shift_ppm": None, "t1_s": None, "t2_s": None, "label": ""}
        if "offset_hz" in e and "shift_ppm" in e:
            raise v.fail(f"{path}.shift_ppm", e["shift_ppm"],
                         "give offset_hz or shift_ppm, not both (offset_hz is also given)")
        if "isotope" in e:
            merged["isotope"] = v.choice(f"{path}.isotope", e["isotope"], SPIN_HALF_ISOTOPES)
        elif merged["isotope"] is None:
            raise v.missing(f"{path}.isotope", f"give the nucleus, one of {', '.join(SPIN_HALF_ISOTOPES)} (the spins "
                            "of a platform without a preset are given in full; or give platform.preset)")
        for key, rule in _SPIN_RULES.items():
            if key in e:
                merged[key] = v.number(f"{path}.{key}", e[key], **rule)
        if "offset_hz" in e:
            merged["shift_ppm"] = None
        if "shift_ppm" in e:
            merged["offset_hz"] = None
        if "label" in e:
            merged["label"] = v.text(f"{path}.label", e["label"], max_len=100)
        t1, t2 = merged["t1_s"], merged["t2_s"]
        if t1 is not None and t2 is not None and t2 > 2 * t1 * (1 + 1e-12):
            key = "t2_s" if "t2_s" in e or "t1_s" not in e else "t1_s"
            raise v.fail(f"{path}.{key}", e.get(key, merged[key]),
                         f"T2 ≤ 2 T1 for a physical relaxation model (t1_s = {t1:g} s, t2_s = {t2:g} s)")
        spins.append(SpinSpec(**merged))

    # couplings
    if cgiven is None:
        cgiven = [{} for _ in base["couplings"]] if base is not None else []
    if base is not None and len(cgiven) != len(base["couplings"]):
        raise v.fail("platform.couplings", t["couplings"],
                     f"with preset {preset_name!r} give {len(base['couplings'])} entries, one per preset coupling, "
                     f"each overriding only the keys it gives (got {len(cgiven)})")
    couplings: list[CouplingSpec] = []
    n = len(spins)
    for k, e in enumerate(cgiven):
        path = f"platform.couplings[{k}]"
        merged = dict(base["couplings"][k]) if base is not None else {
            "i": None, "j": None, "hz": None, "kind": "J", "weak": False, "t1d_s": None}
        for key in ("i", "j"):
            if key in e:
                merged[key] = v.integer(f"{path}.{key}", e[key], 0, n - 1, f" (a spin index; there are {n} spins)")
            elif merged[key] is None:
                raise v.missing(f"{path}.{key}", f"give the index of a coupled spin, 0 to {n - 1}")
            elif merged[key] > n - 1:  # pragma: no cover - presets are consistent
                raise v.fail(f"{path}.{key}", merged[key], f"a spin index 0 to {n - 1}")
        if merged["i"] == merged["j"]:
            key = "j" if "j" in e else "i"
            raise v.fail(f"{path}.{key}", merged[key], "couple two different spins (i ≠ j)")
        if "hz" in e:
            merged["hz"] = v.number(f"{path}.hz", e["hz"], abs_max=1e8, unit="Hz")
        elif merged["hz"] is None:
            raise v.missing(f"{path}.hz", "give the coupling constant in Hz")
        if "kind" in e:
            merged["kind"] = v.choice(f"{path}.kind", e["kind"], ("J", "dipolar"))
        if "weak" in e:
            merged["weak"] = v.boolean(f"{path}.weak", e["weak"])
        if "t1d_s" in e:
            merged["t1d_s"] = v.number(f"{path}.t1d_s", e["t1d_s"], lo=0.0, lo_open=True, hi=1e6, unit="seconds")
        if merged["t1d_s"] is not None and merged["kind"] != "dipolar":
            key = "t1d_s" if "t1d_s" in e else "kind"
            raise v.fail(f"{path}.{key}", e.get(key, merged[key]),
                         "t1d_s is the relaxation time of dipolar order: give it only on a kind = 'dipolar' coupling")
        couplings.append(CouplingSpec(**merged))

    # limits
    channels = tuple(dict.fromkeys(s.isotope for s in spins))
    lim_raw = t.get("limits", _MISSING)
    if lim_raw is _MISSING:
        lim_raw = {}
    if not isinstance(lim_raw, Mapping):
        raise v.fail("platform.limits", lim_raw,
                     'give a table per channel, e.g. [platform.limits."1H"] (keys: '
                     + ", ".join(SCHEMA["platform.limits"]) + ")")
    for ch, entry in lim_raw.items():
        cpath = f"platform.limits.{_key_text(ch)}"
        if ch not in channels:
            raise v.fail(cpath, entry, f"a channel of this platform (channels: {', '.join(channels)})",
                         _suggest(ch, channels))
        if not isinstance(entry, Mapping):
            raise v.fail(cpath, entry, f"give a table (keys: {', '.join(SCHEMA['platform.limits'])})")
        v.keys(cpath, entry, SCHEMA["platform.limits"])
    limits: list[LimitsSpec] = []
    for ch in channels:
        cpath = f"platform.limits.{_key_text(ch)}"
        merged = dict(base["limits"][ch]) if base is not None and ch in base["limits"] else {
            "max_nutation_hz": None, "max_pulse_s": None, "min_delay_s": 0.0, "max_duty_cycle": 0.1}
        entry = lim_raw.get(ch, {})
        for key, rule in _LIMIT_RULES.items():
            if key in entry:
                merged[key] = v.number(f"{cpath}.{key}", entry[key], **rule)
            elif merged[key] is None:
                raise v.missing(f"{cpath}.{key}", f"channel {ch!r} has no preset limits: give its "
                                + ", ".join(k for k in ("max_nutation_hz", "max_pulse_s") if merged[k] is None))
        limits.append(LimitsSpec(channel=ch, **merged))

    spec = PlatformSection(preset=preset_name, proton_mhz=proton_mhz, unit_hz=unit_hz,
                           recycle_delay_s=recycle, temperature_k=temp_k, spins=tuple(spins),
                           couplings=tuple(couplings), limits=tuple(limits))
    try:
        platform = _build_platform(spec, v)
    except ProtocolError:
        raise
    except PulsesError as exc:
        raise v.wrap("platform", exc, SCHEMA["platform"]) from None
    if spec.recycle_delay_s is None:
        spec = dataclasses.replace(spec, recycle_delay_s=float(platform.recycle_delay_s))
    return spec, platform


def _build_platform(spec: PlatformSection, v: _V | None = None):
    """The pulses Platform of a resolved platform section."""
    from pulses.errors import PulsesError
    from pulses.platform import ChannelLimits, Platform
    from pulses.spinsystem import Coupling, Spin, SpinSystem

    def guard(path, fields, make):
        try:
            return make()
        except PulsesError as exc:
            if v is None:
                raise
            raise v.wrap(path, exc, fields) from None

    spins = tuple(guard(f"platform.spins[{k}]", SCHEMA["platform.spins"], lambda s=s: Spin(**dataclasses.asdict(s)))
                  for k, s in enumerate(spec.spins))
    couplings = tuple(guard(f"platform.couplings[{k}]", SCHEMA["platform.couplings"],
                            lambda c=c: Coupling(**dataclasses.asdict(c))) for k, c in enumerate(spec.couplings))
    system = guard("platform", SCHEMA["platform"], lambda: SpinSystem(
        spins, couplings, proton_mhz=spec.proton_mhz, temperature_k=spec.temperature_k))
    limits = {lim.channel: guard(f"platform.limits.{_key_text(lim.channel)}", SCHEMA["platform.limits"],
                                 lambda lim=lim: ChannelLimits(lim.max_nutation_hz, lim.max_pulse_s, lim.min_delay_s,
                                                               lim.max_duty_cycle))
              for lim in spec.limits}
    name = spec.preset or "custom"
    description = _preset_defaults(spec.preset)["description"] if spec.preset else "a platform given in full"
    return guard("platform", SCHEMA["platform"], lambda: Platform(
        name, system, limits, unit_hz=spec.unit_hz, recycle_delay_s=spec.recycle_delay_s, description=description))


# ------------------------------------------------------------------ the rest
def _preparation(v: _V, raw) -> PreparationSection:
    t = v.table("preparation", raw, "preparation")
    route = v.choice("preparation.route", t.get("route", "auto"), ROUTES)
    pulses = v.choice("preparation.pulses", t.get("pulses", "ideal"), PULSE_MODES)
    tau = None
    if "tau_s" in t:
        tau = v.number("preparation.tau_s", t["tau_s"], lo=0.0, lo_open=True, hi=1.0, unit="seconds")
    return PreparationSection(route=route, pulses=pulses, tau_s=tau)


def _charging(v: _V, raw) -> ChargingSection:
    t = v.table("charging", raw, "charging")
    pulses = v.choice("charging.pulses", t.get("pulses", "ideal"), PULSE_MODES)
    if "omega_t" in t and "flip_deg" in t:
        raise v.fail("charging.flip_deg", t["flip_deg"],
                     "give omega_t or flip_deg, not both (charging.omega_t is also given; θ = 2Ωt)")
    if "flip_deg" in t:
        flips = v.number_list("charging.flip_deg", t["flip_deg"], lo=0.0, hi=MAX_FLIP_DEG, unit="degrees, θ = 2Ωt")
        return ChargingSection(omega_t=None, flip_deg=flips, pulses=pulses)
    raw_w = t.get("omega_t", _MISSING)
    if raw_w is _MISSING:
        return ChargingSection(omega_t=OmegaTGrid(), pulses=pulses)
    if isinstance(raw_w, Mapping):
        v.keys("charging.omega_t", raw_w, SCHEMA["charging.omega_t"])
        start = v.number("charging.omega_t.start", raw_w.get("start", 0.0), lo=0.0, hi=MAX_OMEGA_T, unit="radians")
        stop = v.number("charging.omega_t.stop", raw_w.get("stop", math.pi), lo=start, hi=MAX_OMEGA_T,
                        unit="radians; stop ≥ start")
        num = v.integer("charging.omega_t.num", raw_w.get("num", 19), 1, MAX_GRID)
        return ChargingSection(omega_t=OmegaTGrid(start, stop, num), pulses=pulses)
    if isinstance(raw_w, (list, tuple)):
        vals = v.number_list("charging.omega_t", raw_w, lo=0.0, hi=MAX_OMEGA_T, unit="radians")
        return ChargingSection(omega_t=vals, pulses=pulses)
    raise v.fail("charging.omega_t", raw_w,
                 "give a list of Ωt values ≥ 0 (radians) or a table {start = 0.0, stop = 3.14159, num = 19}")


@functools.lru_cache(maxsize=512)
def _undetermined(names: tuple[str, ...]) -> tuple[str, ...]:
    from tomography.model import nmr_two_spin_model

    m = nmr_two_spin_model(names)
    return () if m.is_complete else tuple(m.undetermined)


def _readout(v: _V, raw) -> ReadoutSection:
    t = v.table("readout", raw, "readout")
    pulses = v.choice("readout.pulses", t.get("pulses", "ideal"), PULSE_MODES)
    s = t.get("set", "full9")
    rule = ("use 'full9', 'minimal4', 'none' (no tomography readout) or a list of distinct two-letter "
            "readout names over I, X, Y, e.g. ['II', 'IX', 'XI', 'XY']")
    if isinstance(s, str):
        return ReadoutSection(set=v.choice("readout.set", s, READOUT_PRESETS), pulses=pulses)
    if not isinstance(s, (list, tuple)) or not s or len(s) > 9:
        raise v.fail("readout.set", s, rule)
    names = []
    for k, r in enumerate(s):
        if not isinstance(r, str) or not re.fullmatch(r"[IXY]{2}", r):
            sugg = r.upper() if isinstance(r, str) and re.fullmatch(r"[IXYixy]{2}", r) else None
            raise v.fail(f"readout.set[{k}]", r, "a two-letter readout name over I, X, Y (first letter spin 1), "
                         "e.g. 'XI'", sugg)
        if r in names:
            raise v.fail(f"readout.set[{k}]", r, "readout names must be distinct (it is given twice)")
        names.append(r)
    und = _undetermined(tuple(names))
    if und:
        raise v.fail("readout.set", s, f"this set is informationally incomplete ({', '.join(und)} undetermined): "
                     "add readouts or use 'full9' or 'minimal4'")
    return ReadoutSection(set=tuple(names), pulses=pulses)


def _acquisition(v: _V, raw, platform) -> AcquisitionSection:
    t = v.table("acquisition", raw, "acquisition")
    channels = tuple(platform.channels)
    snr_rule = dict(lo=0.0, lo_open=True, hi=1e12, unit="per scan, thermal reference spectrum")
    snr_raw = t.get("snr", 200.0)
    if isinstance(snr_raw, Mapping):
        for ch, x in snr_raw.items():
            if ch not in channels:
                raise v.fail(f"acquisition.snr.{_key_text(ch)}", x,
                             f"a channel of this platform (channels: {', '.join(channels)})", _suggest(ch, channels))
        missing = [ch for ch in channels if ch not in snr_raw]
        if missing:
            raise v.fail("acquisition.snr", snr_raw, f"a table gives every channel ({', '.join(channels)}); "
                         f"missing {missing[0]!r}")
        snr: float | tuple = tuple((ch, v.number(f"acquisition.snr.{_key_text(ch)}", snr_raw[ch], **snr_rule))
                                   for ch in channels)
    elif isinstance(snr_raw, (list, tuple)):
        raise v.fail("acquisition.snr", snr_raw, "give one number > 0 or a table per channel, e.g. "
                     '{ "1H" = 400.0, "13C" = 100.0 }')
    else:
        snr = v.number("acquisition.snr", snr_raw, **snr_rule)
    g = t.get
    sw = None
    if "spectral_width_hz" in t:
        sw = v.number("acquisition.spectral_width_hz", t["spectral_width_hz"], lo=0.0, lo_open=True, hi=1e8,
                      unit="Hz")
    return AcquisitionSection(
        snr=snr,
        scans=v.integer("acquisition.scans", g("scans", 16), 1, 10**9),
        noise=v.boolean("acquisition.noise", g("noise", True)),
        relaxation=v.boolean("acquisition.relaxation", g("relaxation", True)),
        lb_hz=v.number("acquisition.lb_hz", g("lb_hz", 0.0), lo=0.0, hi=1e6, unit="Hz"),
        points=v.integer("acquisition.points", g("points", 2048), 16, 2**20),
        spectral_width_hz=sw,
        rf_inhomogeneity=v.number("acquisition.rf_inhomogeneity", g("rf_inhomogeneity", 0.0), lo=0.0, hi=0.5,
                                  unit="relative σ of B1"),
        offset_error_hz=v.number("acquisition.offset_error_hz", g("offset_error_hz", 0.0), lo=0.0, hi=1e6,
                                 unit="Hz, σ"),
        ensemble_nodes=v.integer("acquisition.ensemble_nodes", g("ensemble_nodes", 7), 1, 61),
        seed=v.integer("acquisition.seed", g("seed", 1), 0, MAX_SEED),
    )


def _analysis(v: _V, raw) -> AnalysisSection:
    t = v.table("analysis", raw, "analysis")
    boot = t.get("bootstrap", 100)
    rule_b = "give 0 (Fisher errors) or an integer from 2 to 100000 (bootstrap resamples)"
    if isinstance(boot, (bool, np.bool_)) or not isinstance(boot, numbers.Integral) \
            or not (int(boot) == 0 or 2 <= int(boot) <= 100_000):
        raise v.fail("analysis.bootstrap", boot, rule_b)
    alpha = t.get("alpha", "known")
    if isinstance(alpha, str):
        alpha = v.choice("analysis.alpha", alpha, ALPHA_MODES)
    elif isinstance(alpha, numbers.Real) and not isinstance(alpha, (bool, np.bool_)):
        alpha = v.number("analysis.alpha", alpha, lo=1e-60, hi=1.0, unit="the NMR state's polarisation fraction")
    else:
        raise v.fail("analysis.alpha", alpha, "use 'known', 'min_positive', 'pure' or a number 1e-60 ≤ α ≤ 1")
    return AnalysisSection(
        estimator=v.choice("analysis.estimator", t.get("estimator", "mle"), ESTIMATORS),
        bootstrap=int(boot),
        confidence=v.number("analysis.confidence", t.get("confidence", 0.95), lo=0.0, lo_open=True, hi=1.0,
                            hi_open=True),
        alpha=alpha,
    )


def _output(v: _V, raw) -> OutputSection:
    t = v.table("output", raw, "output")
    return OutputSection(
        dir=v.text("output.dir", t.get("dir", "nmrqb-run"), empty=False, max_len=4096),
        bruker=v.boolean("output.bruker", t.get("bruker", True)),
        report=v.boolean("output.report", t.get("report", True)),
        force=v.boolean("output.force", t.get("force", False)),
    )


def _sweep(v: _V, raw) -> SweepSection:
    """``[sweep]``: the form of each ``over`` entry is checked here; its
    field and values against the protocol by :func:`nmrqb.sweep.parse_over`
    (``nmrqb validate`` and ``nmrqb sweep`` run it)."""
    t = v.table("sweep", raw, "sweep")
    over = t.get("over", [])
    if isinstance(over, str):
        over = [over]
    if not isinstance(over, (list, tuple)) or len(over) > MAX_SWEEP_AXES:
        raise v.fail("sweep.over", over, f"give a list of at most {MAX_SWEEP_AXES} strings \"FIELD=SPEC\" such "
                     "as \"acquisition.snr=10:1000:log20\"")
    specs = []
    for i, item in enumerate(over):
        text = v.text(f"sweep.over[{i}]", item, empty=False, max_len=100_000)
        field_, sep, spec = text.partition("=")
        if not sep or not field_.strip() or not spec.strip():
            raise v.fail(f"sweep.over[{i}]", item, "give \"FIELD=SPEC\" with SPEC start:stop:N, start:stop:logN "
                         "or a comma list a,b,c")
        specs.append(text)
    chunk = t.get("chunk")
    return SweepSection(
        over=tuple(specs),
        replicas=v.integer("sweep.replicas", t.get("replicas", 1), 1, MAX_SWEEP_REPLICAS),
        stage=v.choice("sweep.stage", t.get("stage", "tomography"), SWEEP_STAGES),
        chunk=None if chunk is None else v.integer("sweep.chunk", chunk, 1, MAX_SWEEP_CHUNK),
    )


# ------------------------------------------------------------------------ fit
def _fit_rule(name: str, key: str) -> dict:
    """The range of fit.parameters.<name>.<key> (key: value, min or max)."""
    if name == "T":
        return dict(lo=0.0, lo_open=True, hi=PARAMETER_LIMIT, unit="model energy units, k_B = 1")
    if name == "alpha":
        return dict(lo=0.0, lo_open=key == "value", hi=1.0, unit="the NMR state's polarisation fraction")
    if name in FIT_MODEL_PARAMETERS:
        return dict(abs_max=PARAMETER_LIMIT, unit="model energy units")
    return dict(abs_max=MAX_NUISANCE, unit="radians" if name.startswith("phase_") else "Hz")


def _fit_bounds(name: str, spec: FitParameterSpec | None) -> tuple[float, float]:
    """The effective (min, max) of a fit parameter: as given, else T ≥ 1e-6, 0 ≤ alpha ≤ 1, unbounded."""
    lo, hi = {"T": (MIN_FIT_T, math.inf), "alpha": (0.0, 1.0)}.get(name, (-math.inf, math.inf))
    if name.split("_", 1)[0] in FIT_NUISANCE_SCALES:
        lo = 0.0
    if spec is not None:
        lo = lo if spec.min is None else spec.min
        hi = hi if spec.max is None else spec.max
    return lo, hi


def _spec_dict(spec: FitParameterSpec) -> dict:
    return _drop_none({k: getattr(spec, k) for k in SCHEMA["fit.parameters"]})


def _fit_start(name: str, model_spec: ModelSection, T: float, alpha: float | None) -> float | None:
    """The default start of a fit parameter: the protocol's value (alpha: the argument; nuisance: neutral,
    1 for the amplitude and rf scales, else 0)."""
    if name in SCHEMA["model"]:
        return getattr(model_spec, name)
    if name == "T":
        return T
    if name == "alpha":
        return alpha
    return FIT_NUISANCE_NEUTRAL[name.split("_", 1)[0]]


def _fit_names(kinds, channels) -> dict[str, str]:
    """Protocol key → lmfit name of every parameter of a fit (model, then nuisance by kind and channel)."""
    out = {n: n for n in FIT_MODEL_PARAMETERS}
    for kind in kinds:
        for ch in channels:
            out[f"{kind}_{ch}"] = _fit_name(kind, ch)
    return out


_EXPR_BINOPS = {"Add": lambda a, b: a + b, "Sub": lambda a, b: a - b, "Mult": lambda a, b: a * b,
                "Div": lambda a, b: a / b, "Pow": lambda a, b: a ** b}
_EXPR_MATH = {"abs": abs, "sqrt": math.sqrt, "exp": math.exp, "log": math.log, "log10": math.log10,
              "sin": math.sin, "cos": math.cos, "tan": math.tan, "arcsin": math.asin, "arccos": math.acos,
              "arctan": math.atan, "arctan2": math.atan2, "sinh": math.sinh, "cosh": math.cosh, "tanh": math.tanh}


def _check_expr(v: _V, path: str, expr: str, names: dict[str, str]) -> set[str]:
    """Static checks of a tie (an lmfit constraint expression): arithmetic
    over parameter names, numbers, pi and EXPR_FUNCTIONS only (nothing that
    could run long), every constant part finite.  Returns the lmfit names it
    uses."""
    import ast

    lm = tuple(names.values())
    allowed = (f"arithmetic (+ - * / **) over numbers, pi, the functions {', '.join(EXPR_FUNCTIONS)} and the "
               f"parameter names ({', '.join(lm)})")
    try:
        tree = ast.parse(expr.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        why = exc.msg if isinstance(exc, SyntaxError) else "cannot be parsed"
        raise v.fail(path, expr, f"an lmfit constraint expression: {why}; use {allowed}") from None
    used: set[str] = set()

    def const(node):
        """The float value of a name-free part (None when it uses a parameter)."""
        if isinstance(node, ast.Constant):
            if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
                raise v.fail(path, expr, f"{short_repr(node.value)} is not a number; use {allowed}")
            return float(node.value)
        if isinstance(node, ast.Name):
            if node.id == "pi":
                return math.pi
            if node.id in lm:
                used.add(node.id)
                return None
            near = {k: n for k, n in names.items() if k != n}.get(node.id) or _suggest(node.id, lm + ("pi",))
            raise v.fail(path, expr, f"unknown name {node.id!r} (parameter names: {', '.join(lm)}; a nuisance "
                         "parameter's name in an expression carries 'c' before the channel, as lmfit needs: "
                         "phase_c1H)", near)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.UAdd, ast.USub)):
            x = const(node.operand)
            return None if x is None else (x if isinstance(node.op, ast.UAdd) else -x)
        if isinstance(node, ast.BinOp) and type(node.op).__name__ in _EXPR_BINOPS:
            a, b = const(node.left), const(node.right)
            if a is None or b is None:
                return None
            return _EXPR_BINOPS[type(node.op).__name__](a, b)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _EXPR_MATH:
            if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
                raise v.fail(path, expr, f"give the arguments of {node.func.id}() by position; use {allowed}")
            args = [const(a) for a in node.args]
            if any(a is None for a in args):
                return None
            return _EXPR_MATH[node.func.id](*args)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id not in lm:
            near = _suggest(node.func.id, EXPR_FUNCTIONS)
            raise v.fail(path, expr, f"unknown function {node.func.id!r}; use {allowed}", near)
        raise v.fail(path, expr, f"use {allowed}")

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            x = const(tree.body)
    except ProtocolError:
        raise
    except (ArithmeticError, ValueError, TypeError, RecursionError) as exc:
        why = {"OverflowError": "out of range", "ZeroDivisionError": "a division by zero"}.get(
            type(exc).__name__, "outside the domain of its function")
        raise v.fail(path, expr, f"a constant part is {why} ({type(exc).__name__})") from None
    if x is not None and not (isinstance(x, float) and math.isfinite(x)):
        raise v.fail(path, expr, "the expression is not a finite real number")
    return used


def _build_fit_parameters(v: _V, fit: FitSection, model_spec: ModelSection, T: float, alpha: float,
                          channels: tuple[str, ...]):
    """lmfit.Parameters of ``fit`` (see Protocol.fit_parameters)."""
    import lmfit

    specs = {p.name: p for p in fit.parameters}
    names = _fit_names(fit.nuisance, channels)
    ps = lmfit.Parameters()
    for key, lname in names.items():
        spec = specs.get(key)
        start = spec.value if spec is not None and spec.value is not None else _fit_start(key, model_spec, T, alpha)
        lo, hi = _fit_bounds(key, spec)
        if spec is not None and spec.vary is not None:
            vary = spec.vary
        else:
            vary = key in fit.vary if key in FIT_MODEL_PARAMETERS else True
        ps.add(lname, value=float(start), vary=bool(vary), min=lo, max=hi)
    tied = [p for p in fit.parameters if p.expr is not None]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for spec in tied:
            path = f"fit.parameters.{_key_text(spec.name)}.expr"
            if spec.name not in names:  # pragma: no cover - checked by the callers
                raise v.fail(f"fit.parameters.{_key_text(spec.name)}", _spec_dict(spec), "not a fitted parameter")
            try:
                ps[names[spec.name]].set(expr=spec.expr)
            except Exception as exc:  # noqa: BLE001 - lmfit/asteval raise many types
                raise v.fail(path, spec.expr, f"lmfit cannot set this tie: {type(exc).__name__}"
                             + (f": {_one_line(exc)}" if _one_line(exc) else "")) from None
        for spec in tied:
            path = f"fit.parameters.{_key_text(spec.name)}.expr"
            try:
                x = ps[names[spec.name]].value
            except Exception as exc:  # noqa: BLE001
                raise v.fail(path, spec.expr, f"the tie cannot be evaluated at the start values: "
                             f"{type(exc).__name__}" + (f": {_one_line(exc)}" if _one_line(exc) else "")) from None
            if isinstance(x, (bool, np.bool_)) or not isinstance(x, numbers.Real) or not math.isfinite(float(x)):
                shown = _show(complex(x) if isinstance(x, numbers.Complex) and not isinstance(x, numbers.Real)
                              else float(x) if isinstance(x, numbers.Real) else x)
                raise v.fail(path, spec.expr, f"the tie evaluates to {shown} at the start values: give an "
                             "expression that is a finite real number there")
    return ps


def _fit_list(v: _V, path: str, raw, choices: tuple[str, ...], what: str) -> tuple[str, ...]:
    rule = f"give a list of distinct names, each one of {', '.join(repr(c) for c in choices)} ({what})"
    if not isinstance(raw, (list, tuple)) or len(raw) > len(choices):
        raise v.fail(path, raw, rule)
    seen: list[str] = []
    for k, x in enumerate(raw):
        name = v.choice(f"{path}[{k}]", x, choices)
        if name in seen:
            raise v.fail(f"{path}[{k}]", x, f"names must be distinct ({name!r} is given twice)")
        seen.append(name)
    return tuple(c for c in choices if c in seen)  # canonical order


def _fit(v: _V, raw, model_spec: ModelSection, temperature: TemperatureSection, platform) -> FitSection:
    t = v.table("fit", raw, "fit")
    channels = tuple(platform.channels)
    vary = _fit_list(v, "fit.vary", t.get("vary", list(FIT_DEFAULT_VARY)), FIT_MODEL_PARAMETERS,
                     "the model parameters to fit")
    nuisance = _fit_list(v, "fit.nuisance", t.get("nuisance", ["phase"]), FIT_NUISANCE,
                         "per-channel nuisance parameters: receiver phase, amplitude scale, RF-amplitude scale, "
                         "frequency offset, extra line width")
    starts = v.integer("fit.starts", t.get("starts", 8), 1, MAX_FIT_STARTS,
                       " (the start and a seeded Latin hypercube of starts − 1 more)")
    spread = v.number("fit.spread", t.get("spread", 0.3), lo=0.0, lo_open=True, hi=MAX_FIT_SPREAD,
                      unit="relative half-width of the box of starts")
    seed = v.integer("fit.seed", t.get("seed", 0), 0, MAX_SEED)
    relaxation = v.boolean("fit.relaxation", t["relaxation"]) if "relaxation" in t else None
    region_hz = (v.number("fit.region_hz", t["region_hz"], lo=0.0, lo_open=True, hi=1e9,
                          unit="Hz: the half-width of the spectral window fitted around each line")
                 if "region_hz" in t else None)

    raw_p = t.get("parameters", _MISSING)
    if raw_p is _MISSING:
        raw_p = {}
    every = _fit_names(FIT_NUISANCE, channels)  # protocol key → lmfit name, every kind
    known = tuple(every)
    if not isinstance(raw_p, Mapping):
        raise v.fail("fit.parameters", raw_p, "give one table per parameter, e.g. [fit.parameters.B] (keys: "
                     + ", ".join(SCHEMA["fit.parameters"]) + f"; parameters: {', '.join(known)})")
    names = _fit_names(nuisance, channels)  # the parameters of this fit
    for name, entry in raw_p.items():
        ppath = f"fit.parameters.{_key_text(name)}"
        if name not in every:
            near = next((k for k, ln in every.items() if ln == name and k != ln), None) or _suggest(name, known)
            raise v.fail(ppath, entry, f"a fit parameter: one of B, D, G, Delta, epsilon, T, alpha, or a nuisance "
                         f"parameter '<kind>_<channel>' with kind {', '.join(FIT_NUISANCE)} and channel "
                         f"{', '.join(channels)} (e.g. 'phase_{channels[0]}')", near)
        if not isinstance(entry, Mapping):
            raise v.fail(ppath, entry, f"give a table [{ppath}] (keys: {', '.join(SCHEMA['fit.parameters'])})")
        v.keys(ppath, entry, SCHEMA["fit.parameters"])
        if name not in names:
            kind = name.split("_", 1)[0]
            raise v.fail(ppath, dict(entry), f"{name} is a nuisance parameter of kind {kind!r}, which fit.nuisance "
                         f"does not list ({', '.join(repr(k) for k in nuisance) or 'none'}): add {kind!r} to "
                         "fit.nuisance")

    specs: list[FitParameterSpec] = []
    deps: dict[str, set[str]] = {}
    for name in names:  # canonical order
        entry = raw_p.get(name)
        if entry is None:
            continue
        ppath = f"fit.parameters.{_key_text(name)}"
        val = {k: v.number(f"{ppath}.{k}", entry[k], **_fit_rule(name, k)) if k in entry else None
               for k in ("value", "min", "max")}
        pvary = v.boolean(f"{ppath}.vary", entry["vary"]) if "vary" in entry else None
        expr = None
        if "expr" in entry:
            expr = v.text(f"{ppath}.expr", entry["expr"], empty=False, max_len=MAX_EXPR_LEN)
            deps[names[name]] = _check_expr(v, f"{ppath}.expr", expr, names)
            if val["value"] is not None:
                raise v.fail(f"{ppath}.value", entry["value"], f"a tied parameter takes its value from its expr "
                             f"({expr!r}): leave out value, or expr")
            if pvary:
                raise v.fail(f"{ppath}.vary", entry["vary"], f"a tied parameter is not varied on its own (expr = "
                             f"{expr!r}): leave out vary, or expr")
        spec = FitParameterSpec(name=name, value=val["value"], min=val["min"], max=val["max"], vary=pvary,
                                expr=expr)
        lo, hi = _fit_bounds(name, spec)
        if not lo < hi:
            key = "max" if spec.max is not None else "min"
            note = ""
            if spec.min is None or spec.max is None:
                side, bound = ("lower", lo) if key == "max" else ("upper", hi)
                note = f" (the default {side} bound of {name} is {_fmt(bound)})"
            raise v.fail(f"{ppath}.{key}", getattr(spec, key), f"min < max{note}")
        if expr is None:
            start = spec.value if spec.value is not None else _fit_start(name, model_spec, temperature.T, None)
            if start is not None and not lo <= start <= hi:
                if spec.value is not None:
                    key, why = "value", "the start value"
                else:
                    key = "min" if start < lo else "max"
                    origin = "temperature.T" if name == "T" else f"model.{name}" if name in SCHEMA["model"] \
                        else "default"
                    why = f"the start value {name} = {start:g} (the protocol's {origin})"
                raise v.fail(f"{ppath}.{key}", getattr(spec, key),
                             f"{why} must lie within [{_fmt(lo)}, {_fmt(hi)}]"
                             + ("" if key == "value" else f"; give fit.parameters.{name}.value inside the bounds"))
        if any(x is not None for x in (spec.value, spec.min, spec.max, spec.vary, spec.expr)):
            specs.append(spec)

    # ties: no cycles, then lmfit sets and evaluates them at the starts (α: 0.5 unless given)
    lm_to_key = {ln: k for k, ln in names.items()}
    for start_name in deps:
        stack, seen = [(start_name, (start_name,))], set()
        while stack:
            node, chain = stack.pop()
            for nxt in sorted(deps.get(node, ())):
                if nxt == start_name:
                    cyc = " → ".join(chain + (nxt,))
                    raise v.fail(f"fit.parameters.{_key_text(lm_to_key[start_name])}.expr",
                                 raw_p[lm_to_key[start_name]]["expr"], f"the ties form a cycle ({cyc})")
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, chain + (nxt,)))
    section = FitSection(vary=vary, nuisance=nuisance, starts=starts, spread=spread, seed=seed,
                         relaxation=relaxation, region_hz=region_hz, parameters=tuple(specs))
    if deps:
        a = section.parameter("alpha")
        _build_fit_parameters(v, section, model_spec, temperature.T,
                              a.value if a is not None and a.value is not None else 0.5, channels)

    # something must be fitted
    free = [k for k in names if _fit_varies(section, k)]
    if not free:
        raise v.fail("fit.vary", list(vary), "nothing would be fitted: every model parameter and every nuisance "
                     "parameter is fixed or tied (list parameters in fit.vary or fit.nuisance)")
    return section


def _fit_varies(fit: FitSection, key: str) -> bool:
    spec = fit.parameter(key)
    if spec is not None and spec.expr is not None:
        return False
    if spec is not None and spec.vary is not None:
        return spec.vary
    return key in fit.vary if key in FIT_MODEL_PARAMETERS else True


def _resolve_route(route: str, spec: PlatformSection) -> str:
    if route != "auto":
        return route
    channels = {s.isotope for s in spec.spins}
    homo = len(channels) == 1 and any(c.kind == "dipolar" for c in spec.couplings)
    return "jeener-broekaert" if homo else "pseudo-gibbs"


def _cross_checks(v: _V, m: ModelSection, temp: TemperatureSection, ps: PlatformSection, platform,
                  prep: PreparationSection, ch: ChargingSection, ro: ReadoutSection) -> None:
    """What translate would refuse, refused up front with the key it comes from."""
    system = platform.system
    chans = system.channels
    route = _resolve_route(prep.route, ps)
    via = "" if prep.route != "auto" else f" ('auto' means {route!r} on this platform)"
    where = f"platform {platform.name!r} has {system.n} spin(s) on channel(s) {', '.join(chans)}"
    if route == "pseudo-gibbs":
        if prep.tau_s is not None:
            raise v.fail("preparation.tau_s", prep.tau_s,
                         f"tau_s is the Jeener–Broekaert delay: give it only with route 'jeener-broekaert' "
                         f"(this protocol's route is 'pseudo-gibbs'{via and ', from auto'})")
        if system.n != 2 or len(chans) != 2:
            raise v.fail("preparation.route", prep.route,
                         f"'pseudo-gibbs' needs two spins on two channels; {where}{via}; "
                         "use 'jeener-broekaert' for a dipolar pair of like spins")
        zz = sum(c.hz if c.kind == "J" else 2.0 * c.hz for c in system.couplings)
        if zz == 0:
            key, val = ("platform.couplings[0].hz", system.couplings[0].hz) if system.couplings else (
                "platform.couplings", [])
            raise v.fail(key, val, f"route 'pseudo-gibbs'{via} compiles its gates with the coupling of the two spins: "
                         "give a non-zero coupling")
        from nmrqb.model import DipolarModel

        zeta = DipolarModel(**dataclasses.asdict(m)).gibbs_array(temp.T)
        if np.abs(zeta - np.eye(4) / 4).max() <= 1e-15:
            flat = all(x == 0 for x in dataclasses.astuple(m))
            key, val = ("model", dataclasses.asdict(m)) if flat else ("temperature.T", temp.T)
            raise v.fail(key, val, "the Gibbs state is I/4 to double precision, there is nothing to prepare: give "
                         "non-zero model parameters and a temperature comparable to them")
    else:  # jeener-broekaert
        nonaxial = [k for k in ("B", "D", "G", "epsilon") if getattr(m, k) != 0]
        if nonaxial or m.Delta == 0:
            key = f"model.{nonaxial[0]}" if nonaxial else "model.Delta"
            raise v.fail(key, getattr(m, key.split(".")[1]),
                         "route 'jeener-broekaert'" + via + " prepares the Gibbs state of the axial-only model: "
                         "B = D = G = epsilon = 0 and Delta ≠ 0 (use the pseudo-Gibbs route on a J-coupled pair "
                         "for other models)")
        pairs = [c for c in system.couplings if c.kind == "dipolar"]
        if len(chans) != 1 or system.n != 2 or not pairs:
            raise v.fail("preparation.route", prep.route,
                         f"'jeener-broekaert' needs a dipolar-coupled pair of like spins; {where}; use 'pseudo-gibbs' "
                         "or a platform such as 'gypsum-water'")
        if pairs[0].hz == 0:
            raise v.fail("platform.couplings[0].hz", 0.0, "Jeener–Broekaert needs a non-zero dipolar coupling")
        if prep.tau_s is not None:
            d = pairs[0].hz
            if abs(math.sin(3 * math.pi * d * prep.tau_s)) < 1e-6:
                raise v.fail("preparation.tau_s", prep.tau_s,
                             f"sin(3π d τ) = 0 at this delay (d = {d:g} Hz): JB makes no dipolar order; the best "
                             f"delay is 1/(6|d|) = {1 / (6 * abs(d)):.6g} s (leave tau_s out to use it)")
            mind = max(platform.limits[c].min_delay_s for c in chans)
            if prep.tau_s < mind:
                raise v.fail("preparation.tau_s", prep.tau_s,
                             f"the platform's minimum delay is {mind:g} s (platform.limits)")
    if ro.set != "none":
        js = [c for c in system.couplings if c.kind == "J"]
        if system.n != 2 or len(chans) != 2:
            raise v.fail("readout.set", ro.set if isinstance(ro.set, str) else list(ro.set),
                         f"two-spin tomography reads each spin on its own channel; {where} (like spins need "
                         "selective pulses); use 'none' for no tomography readout", "none")
        if len(js) != 1 or js[0].hz == 0:
            k = next((n for n, c in enumerate(system.couplings) if c.kind == "J"), None)
            if len(js) == 1:
                raise v.fail(f"platform.couplings[{k}].hz", js[0].hz, "the readout (readout.set) assigns the lines "
                             "of a J doublet: give a non-zero J coupling, or readout.set = 'none'")
            raise v.fail("readout.set", ro.set if isinstance(ro.set, str) else list(ro.set),
                         f"the readout join needs exactly one J coupling between the spins; platform "
                         f"{platform.name!r} has {len(js)} (platform.couplings); use 'none' for no readout", "none")
    if ch.pulses == "platform":
        flips = np.degrees(2 * ch.values())
        for c in chans:
            lim = platform.limits[c]
            longest = float(flips.max()) / (360.0 * lim.max_nutation_hz)
            if longest > lim.max_pulse_s * (1 + 1e-9):
                key = "charging.flip_deg" if ch.flip_deg is not None else "charging.omega_t"
                shown = list(ch.flip_deg) if ch.flip_deg is not None else (
                    dataclasses.asdict(ch.omega_t) if isinstance(ch.omega_t, OmegaTGrid) else list(ch.omega_t))
                raise v.fail(key, shown,
                             f"with charging.pulses = 'platform' the largest flip {flips.max():g}° lasts "
                             f"{longest:g} s on channel {c!r}, over the platform's longest pulse "
                             f"{lim.max_pulse_s:g} s")


# ============================================================================
# replace: dotted keys
# ============================================================================
_SEGMENT = re.compile(r'\s*(?:"([^"]*)"|([^.\[\]"\s]+))\s*((?:\[\s*\d+\s*\])*)\s*')


def _parse_key(source: str, key) -> list:
    bad = f"replace: key = {short_repr(key)} is not allowed: give a dotted key such as 'acquisition.snr' or " \
          "'platform.spins[1].t2_s'"
    if not isinstance(key, str) or not key or len(key) > 500:
        raise _error(source, None, bad)
    parts: list = []
    pos = 0
    while True:
        m = _SEGMENT.match(key, pos)
        if not m or m.end() == pos:
            raise _error(source, None, bad)
        parts.append(m.group(1) if m.group(1) is not None else m.group(2))
        parts.extend(int(i) for i in re.findall(r"\d+", m.group(3)))
        pos = m.end()
        if pos == len(key):
            return parts
        if key[pos] != ".":
            raise _error(source, None, bad)
        pos += 1


def _norm_key(key) -> str:
    return key.replace(" ", "") if isinstance(key, str) else ""


def _path_text(parts) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (("." if out else "") + _key_text(p))
    return out


def _set_path(source: str, data: dict, parts: list, value, protocol: Protocol) -> None:
    node: Any = data
    for k, part in enumerate(parts[:-1]):
        nxt = parts[k + 1]
        here = _path_text(parts[: k + 1])
        if isinstance(part, int):
            if not isinstance(node, list) or part >= len(node):
                size = len(node) if isinstance(node, list) else 0
                raise _error(source, here, f"{here} is not allowed: there are {size} entries (indices 0 to "
                             f"{size - 1})")
            node = node[part]
            continue
        if not isinstance(node, dict):
            raise _error(source, here, f"{here} is not allowed: {_path_text(parts[:k])} is not a table")
        cur = node.get(part, _MISSING)
        if isinstance(nxt, int):
            if not isinstance(cur, list):
                raise _error(source, here, f"{here}[{nxt}] is not allowed: {here} is not a list of tables")
        elif not isinstance(cur, dict):
            if part == "snr" and isinstance(cur, (int, float)) and not isinstance(cur, bool):
                node[part] = {c: float(cur) for c in (lim.channel for lim in protocol.platform_spec.limits)}
            else:
                node[part] = {}
        node = node[part]
    last = parts[-1]
    here = _path_text(parts)
    if isinstance(last, int):
        if not isinstance(node, list) or last >= len(node):
            size = len(node) if isinstance(node, list) else 0
            raise _error(source, here, f"{here} is not allowed: there are {size} entries")
        if value is None:
            raise _error(source, here, f"{here} = None is not allowed: give a table")
        node[last] = value
        return
    if not isinstance(node, dict):
        raise _error(source, here, f"{here} is not allowed: {_path_text(parts[:-1])} is not a table")
    siblings = {"flip_deg": "omega_t", "omega_t": "flip_deg", "offset_hz": "shift_ppm", "shift_ppm": "offset_hz"}
    if value is None:
        node.pop(last, None)
    else:
        node[last] = value
        if last in siblings and len(parts) >= 2:
            node.pop(siblings[last], None)


# ============================================================================
# TOML output
# ============================================================================
def _drop_none(d: dict) -> dict:
    return {k: v for k, v in d.items() if v is not None}


def _toml_str(s: str) -> str:
    out = ['"']
    for c in s:
        o = ord(c)
        if c == '"':
            out.append('\\"')
        elif c == "\\":
            out.append("\\\\")
        elif c == "\n":
            out.append("\\n")
        elif c == "\t":
            out.append("\\t")
        elif c == "\r":
            out.append("\\r")
        elif o < 0x20 or o == 0x7F:
            out.append(f"\\u{o:04X}")
        else:
            out.append(c)
    out.append('"')
    return "".join(out)


def _toml_value(x) -> str:
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, numbers.Integral):
        return str(int(x))
    if isinstance(x, numbers.Real):
        return repr(float(x))
    if isinstance(x, str):
        return _toml_str(x)
    if isinstance(x, (list, tuple)):
        return "[" + ", ".join(_toml_value(e) for e in x) + "]"
    if isinstance(x, Mapping):
        return "{ " + ", ".join(f"{_quote_key(str(k))} = {_toml_value(e)}" for k, e in x.items()) + " }"
    raise TypeError(f"cannot write {type(x).__name__} as TOML")  # pragma: no cover - to_dict makes none


def _emit_toml(lines: list[str], d: Mapping, path: str = "", container: bool = False) -> None:
    """Write ``d`` as TOML: scalars, lists and small inline tables (``omega_t``,
    ``snr``) as ``key = value``; sections, arrays of tables and tables of
    tables (``platform.limits``) as headed tables."""
    def is_table_list(x):
        return isinstance(x, list) and bool(x) and all(isinstance(e, Mapping) for e in x)

    def is_table(x):
        return isinstance(x, Mapping) and (not path or container or any(isinstance(e, Mapping) for e in x.values()))

    for k, x in d.items():
        if not is_table_list(x) and not is_table(x):
            lines.append(f"{_quote_key(k)} = {_toml_value(x)}")
    for k, x in d.items():
        sub = f"{path}.{_quote_key(k)}" if path else _quote_key(k)
        if is_table_list(x):
            for e in x:
                lines += ["", f"[[{sub}]]"]
                _emit_toml(lines, e, sub)
        elif is_table(x):
            if x and all(isinstance(e, Mapping) for e in x.values()):
                _emit_toml(lines, x, sub, container=True)
            else:
                lines += ["", f"[{sub}]"]
                _emit_toml(lines, x, sub)


# ============================================================================
# errors of the run, named by key
# ============================================================================
def _user_error_types() -> tuple[type[BaseException], ...]:
    types: list[type[BaseException]] = [NmrqbError]
    for mod, name in (("pulses.errors", "PulsesError"), ("tomography.errors", "TomographyError")):
        try:
            m = __import__(mod, fromlist=[name])
        except ImportError:  # pragma: no cover
            continue
        types.append(getattr(m, name))
    return tuple(types)


@contextlib.contextmanager
def at_key(protocol: Protocol, key: str) -> Iterator[None]:
    """Name the protocol key behind a run step: any ``NmrqbError``,
    ``PulsesError`` or ``TomographyError`` raised inside is re-raised as a
    one-line :class:`ProtocolError` "<source>: <key>: <original message>".
    Errors that already name a protocol key (from this module, or an inner
    ``at_key``) pass through unchanged::

        with at_key(p, "platform.spins[1].t2_s"):
            simulate(...)
    """
    source = getattr(protocol, "source", "<protocol>")
    try:
        yield
    except _user_error_types() as exc:
        if isinstance(exc, ProtocolError) and getattr(exc, "key", None) is not None:
            raise
        err = _error(source, key, f"{key}: {_one_line(exc)}")
        raise err from exc
