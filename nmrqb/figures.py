"""The source paper's Figures 3–10: data from the public API, PNG + CSV.

Each ``figure_N()`` returns a :class:`FigureData` (panels, curves or maps,
labels, the exact parameters of every curve) computed only through the
public API (:func:`nmrqb.dephasing.dephase`, :class:`nmrqb.DipolarModel`,
:mod:`nmrqb.measures`, :func:`nmrqb.battery.charge`,
:func:`nmrqb.battery.charging_map`); :func:`write_figure` renders it with the
paper's panel layout and writes the plotted numbers beside it as a tidy CSV
(one row per plotted point, with every model parameter on the row) and the
caption and assumptions as JSON.

Where the paper leaves a setting unstated we choose it and say so in the
caption metadata and on the figure:

* Fig. 3: the initial state is |00⟩ (from |00⟩ or |11⟩ alone, Δ has no
  effect when D = 0 and D has no effect when B = G = 0, the paper's panel
  settings); t ∈ [0, 20], γ = 0.2.
* Fig. 4: T ∈ [0.01, 10].
* Figs. 5, 8, 9: T = 1.  Fig. 6's caption "Δ = 1, A = 10" is read as
  Δ = 1, T = 1.0 (OCR); Fig. 7 has B = 0.  Ωt ∈ [0, π].
* Fig. 10: ranges Δ, D, G, ε ∈ [−5, 5], B ∈ [0, 5], T ∈ [0.05, 5] and, for
  the (B, T) column, Δ = 1, ε = 0.5, D = G = 0; printed on every panel.

This module does plotting and file output; it computes nothing the public
API does not.
"""

from __future__ import annotations

import csv
import json
import math
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nmrqb import measures
from nmrqb.battery import charge, charging_map
from nmrqb.dephasing import dephase
from nmrqb.errors import NmrqbError, ProtocolError
from nmrqb.model import DipolarModel
from nmrqb.output import OutputFolder, check_out_dir, versions  # noqa: F401 (re-exported)

__all__ = ["Curve", "LinePanel", "MapPanel", "FigureData", "FIGURES", "build", "write_figure"]

PARAMS = ("B", "D", "G", "Delta", "epsilon", "T", "gamma")

#: The paper's five curve styles, in order: thin dashed black, thick dashed
#: red, thick solid black, thick dashed green, thick solid blue.
STYLES = [
    dict(color="black", linestyle="--", linewidth=0.9),
    dict(color="red", linestyle="--", linewidth=2.0),
    dict(color="black", linestyle="-", linewidth=2.0),
    dict(color="green", linestyle="--", linewidth=2.0),
    dict(color="blue", linestyle="-", linewidth=2.0),
]
#: Styles of the three resource curves of Figs. 3 and 4.
RESOURCE_STYLES = {
    "concurrence": dict(color="red", linestyle="-", linewidth=1.6),
    "discord": dict(color="blue", linestyle="--", linewidth=1.6),
    "coherence": dict(color="black", linestyle="-.", linewidth=1.6),
}
SYMBOL = {
    "concurrence": r"$\mathcal{E}(\rho)$",
    "discord": r"$\mathcal{D}(\rho)$",
    "coherence": r"$\mathcal{C}(\rho)$",
    "ergotropy": r"$\mathcal{E}$",
    "power": r"$\mathcal{P}$",
    "capacity": r"$\mathcal{Q}$",
    "max_coherence": r"$\mathcal{C}_{\max}$",
    "max_ergotropy": r"$\mathcal{E}_{\max}$",
    "max_power": r"$\mathcal{P}_{\max}$",
}
TEX = {"B": "B", "D": "D", "G": "G", "Delta": r"\Delta", "epsilon": r"\epsilon", "T": "T", "gamma": r"\gamma"}


@dataclass
class Curve:
    label: str
    quantity: str
    x: np.ndarray
    y: np.ndarray
    params: dict
    style: dict = field(default_factory=dict)


@dataclass
class LinePanel:
    tag: str
    title: str
    xlabel: str
    ylabel: str
    x_name: str
    curves: list[Curve]


@dataclass
class MapPanel:
    tag: str
    title: str
    quantity: str
    x_name: str
    x: np.ndarray
    y_name: str
    y: np.ndarray
    z: np.ndarray
    fixed: dict


@dataclass
class FigureData:
    number: int
    caption: str
    layout: tuple[int, int]
    panels: list
    assumptions: list[str]
    settings: dict = field(default_factory=dict)


def _ptxt(params: dict, keys=None) -> str:
    keys = keys or [k for k in PARAMS if k in params]
    return ", ".join(f"${TEX[k]}={params[k]:g}$" for k in keys)


def _tags(n: int) -> list[str]:
    return [f"({chr(ord('a') + k)})" for k in range(n)]


# --------------------------------------------------------------------------
# Figs. 3 and 4: quantum resources under dephasing and at equilibrium
# --------------------------------------------------------------------------
#: Rows of Figs. 3 and 4: (varied parameter, values, fixed parameters).
_ROWS_3 = [
    ("epsilon", (0.1, 1.0, 10.0), dict(B=0, D=0, G=0, Delta=0)),
    ("B", (0.1, 1.0, 10.0), dict(D=0, G=0, Delta=1, epsilon=0.5)),
    ("D", (0.1, 1.0, 10.0), dict(B=0, G=0, Delta=1, epsilon=0.5)),
    ("G", (0.1, 1.0, 10.0), dict(B=0, D=0, Delta=1, epsilon=0.5)),
    ("Delta", (0.1, 1.0, 10.0), dict(B=0, D=0, G=0, epsilon=0.5)),
]
_ROWS_4 = [
    ("epsilon", (0.1, 1.0, 10.0), dict(B=0, D=0, G=0, Delta=0)),
    ("B", (0.1, 1.0, 10.0), dict(D=0, G=0, Delta=1, epsilon=0.5)),
    ("D", (0.1, 1.0, 10.0), dict(B=0.01, G=0, Delta=1, epsilon=0.5)),
    ("G", (0.1, 1.0, 10.0), dict(B=0.1, D=0, Delta=1, epsilon=0.5)),
    ("Delta", (0.1, 1.0, 10.0), dict(B=0.01, D=0, G=0, epsilon=0.5)),
]
RESOURCES = ("concurrence", "discord", "coherence")


def figure_3(n_times: int = 2001, t_max: float = 20.0, gamma: float = 0.2) -> FigureData:
    times = np.linspace(0.0, t_max, n_times)
    ket00 = np.array([1, 0, 0, 0], dtype=np.complex128)
    panels = []
    tags = iter(_tags(15))
    for name, values, fixed in _ROWS_3:
        for v in values:
            p = dict(fixed, **{name: v})
            res = dephase(DipolarModel(**p), ket00, times, gamma)
            pars = dict(p, gamma=gamma)
            curves = [
                Curve(SYMBOL[q], q, times, np.asarray(getattr(res, q)), pars, RESOURCE_STYLES[q]) for q in RESOURCES
            ]
            panels.append(LinePanel(next(tags), _ptxt(p, [name]), r"$t$", "", "t", curves))
    return FigureData(
        3,
        "Time evolution of concurrence, quantum discord and l1-norm coherence under Pauli-X dephasing "
        f"(gamma = {gamma:g}) from the initial state |00>.",
        (5, 3),
        panels,
        [
            "Initial state |00> (not stated in the paper; from |00> or |11> alone, Delta has no effect when "
            "D = 0 and D has no effect when B = G = 0, as the paper reports for panels (g-i) and (m-o)).",
            f"Time range t in [0, {t_max:g}] (model units), {n_times} samples.",
        ],
        {"initial_state": "|00>", "gamma": gamma, "t": [0.0, t_max, n_times]},
    )


def figure_4(n_temps: int = 400, t_min: float = 0.01, t_max: float = 10.0) -> FigureData:
    temps = np.linspace(t_min, t_max, n_temps)
    panels = []
    tags = iter(_tags(15))
    for name, values, fixed in _ROWS_4:
        for v in values:
            p = dict(fixed, **{name: v})
            m = DipolarModel(**p)
            rho = np.stack([m.gibbs_array(T) for T in temps])
            vals = {
                "concurrence": measures.concurrence(rho),
                "discord": measures.discord(rho),
                "coherence": measures.l1_coherence(rho),
            }
            curves = [
                Curve(SYMBOL[q], q, temps, vals[q], dict(p, T=float("nan")), RESOURCE_STYLES[q]) for q in RESOURCES
            ]
            panels.append(LinePanel(next(tags), _ptxt(p, [name]), r"$T$", "", "T", curves))
    return FigureData(
        4,
        "Concurrence, quantum discord and l1-norm coherence of the Gibbs state versus temperature.",
        (5, 3),
        panels,
        [f"Temperature range T in [{t_min:g}, {t_max:g}], {n_temps} samples (not stated in the paper)."],
        {"T": [t_min, t_max, n_temps]},
    )


# --------------------------------------------------------------------------
# Figs. 5–9: battery metrics versus Ωt
# --------------------------------------------------------------------------
_BATTERY = {
    5: ("Delta", (1, 2, 4, 6, 12), dict(B=0, D=0, G=0, epsilon=0.5, T=1.0), "T = 1 (not stated in the paper)."),
    6: ("B", (0.0, 0.5, 1.0, 1.5, 2.0), dict(D=0, G=0, Delta=1, epsilon=0.1, T=1.0),
        "T = 1.0 (the caption's OCR reads 'Delta = 1, A = 10'; we read it as Delta = 1, T = 1.0)."),
    7: ("T", (0.5, 1.0, 1.5, 2.0, 4.0), dict(B=0, D=0, G=0, Delta=1, epsilon=0.1), "B = 0 (not stated in the paper)."),
    8: ("G", (0.0, 0.1, 0.5, 1.0, 2.0), dict(B=0, D=0, Delta=1, epsilon=0.5, T=1.0), "T = 1 (not stated in the paper)."),
    9: ("D", (0.0, 0.1, 0.5, 1.0, 2.0), dict(B=0, G=0, Delta=1, epsilon=0.5, T=1.0), "T = 1 (not stated in the paper)."),
}
BATTERY_METRICS = ("ergotropy", "power", "capacity", "coherence")


def battery_figure(number: int, n_points: int = 721) -> FigureData:
    name, values, fixed, note = _BATTERY[number]
    tau = np.linspace(0.0, math.pi, n_points)
    traces = []
    for v in values:
        p = dict(fixed, **{name: v})
        T = p.pop("T")
        traces.append((p, T, charge(DipolarModel(**p), T, tau)))
    panels = []
    for tag, q in zip(_tags(4), BATTERY_METRICS):
        curves = [
            Curve(f"${TEX[name]}={v:g}$", q, tau, getattr(tr, q), dict(p, T=T), STYLES[k])
            for k, (v, (p, T, tr)) in enumerate(zip(values, traces))
        ]
        panels.append(LinePanel(tag, "", r"$\Omega t$", SYMBOL[q], "omega_t", curves))
    fixed_txt = ", ".join(f"{k} = {v:g}" for k, v in fixed.items())
    return FigureData(
        number,
        f"Ergotropy (a), power (b), capacity (c) and l1 coherence (d) versus Omega t for {name} in "
        f"{', '.join(f'{v:g}' for v in values)}; {fixed_txt}.",
        (2, 2),
        panels,
        [note, f"Omega t in [0, pi], {n_points} samples; power per unit Omega t."],
        {"omega_t": [0.0, math.pi, n_points]},
    )


# --------------------------------------------------------------------------
# Fig. 10: density maps of the temporal maxima
# --------------------------------------------------------------------------
_MAP_COLUMNS = [
    ("Delta", (-5.0, 5.0), "D", (-5.0, 5.0), dict(B=0.0, G=0.0, epsilon=0.5, T=1.0)),
    ("Delta", (-5.0, 5.0), "G", (-5.0, 5.0), dict(B=0.0, D=0.0, epsilon=0.5, T=1.0)),
    ("Delta", (-5.0, 5.0), "epsilon", (-5.0, 5.0), dict(B=0.0, D=0.0, G=0.0, T=1.0)),
    ("B", (0.0, 5.0), "T", (0.05, 5.0), dict(D=0.0, G=0.0, Delta=1.0, epsilon=0.5)),
]
MAP_ROWS = ("capacity", "max_coherence", "max_ergotropy", "max_power")


def figure_10(n_grid: int = 201, n_omega_t: int = 512) -> FigureData:
    tau = np.linspace(0.0, math.pi, n_omega_t)
    maps = []
    for xn, xr, yn, yr, fixed in _MAP_COLUMNS:
        x = np.linspace(*xr, n_grid)
        y = np.linspace(*yr, n_grid)
        maps.append((xn, x, yn, y, fixed, charging_map(xn, x, yn, y, tau, **fixed)))
    panels = []
    tags = iter(_tags(16))
    for q in MAP_ROWS:
        for xn, x, yn, y, fixed, cm in maps:
            title = f"{_ptxt(fixed)}\n${TEX[xn]}\\in[{x[0]:g},{x[-1]:g}]$, ${TEX[yn]}\\in[{y[0]:g},{y[-1]:g}]$"
            panels.append(MapPanel(next(tags), title, q, xn, x, yn, y, getattr(cm, q), dict(fixed)))
    return FigureData(
        10,
        "Density plots of the capacity (a-d), and of the temporal maxima over Omega t in [0, pi] of the l1 "
        "coherence (e-h), the ergotropy (i-l) and the instantaneous power (m-p).",
        (4, 4),
        panels,
        [
            "Parameter ranges are not stated in the paper; ours are printed on every panel and recorded in the CSV.",
            "Column 4 (B, T) uses Delta = 1, epsilon = 0.5, D = G = 0 (not stated in the paper).",
            f"{n_grid} x {n_grid} grid points, {n_omega_t} Omega t samples in [0, pi].",
        ],
        {
            "omega_t": [0.0, math.pi, n_omega_t],
            "columns": [
                {"x": xn, "x_range": list(xr), "y": yn, "y_range": list(yr), "fixed": fx}
                for xn, xr, yn, yr, fx in _MAP_COLUMNS
            ],
            "grid": n_grid,
        },
    )


FIGURES = {3: figure_3, 4: figure_4, 5: lambda: battery_figure(5), 6: lambda: battery_figure(6),
           7: lambda: battery_figure(7), 8: lambda: battery_figure(8), 9: lambda: battery_figure(9),
           10: figure_10}


def build(number: int) -> FigureData:
    """Compute the data of paper figure ``number`` (3–10)."""
    if number not in FIGURES:
        raise ProtocolError(f"figure {number!r} is not allowed: choose 3 to 10 or 'all'")
    return FIGURES[number]()


# --------------------------------------------------------------------------
# output
# --------------------------------------------------------------------------
# ``check_out_dir`` and ``versions`` live in the output layer; re-exported here
# for callers of nmrqb 0.1.
def _csv_writer(fig: FigureData):
    def write(fh):
        w = csv.writer(fh)
        if isinstance(fig.panels[0], MapPanel):
            w.writerow(["figure", "panel", "quantity", *PARAMS[:-1], "x_name", "y_name", "value"])
            for pan in fig.panels:
                yy, xx = np.meshgrid(pan.y, pan.x, indexing="ij")
                cols = {k: np.full(xx.size, pan.fixed.get(k, np.nan)) for k in PARAMS[:-1]}
                cols[pan.x_name] = xx.ravel()
                cols[pan.y_name] = yy.ravel()
                z = pan.z.ravel()
                for i in range(z.size):
                    w.writerow([fig.number, pan.tag, pan.quantity, *(repr(float(cols[k][i])) for k in PARAMS[:-1]),
                                pan.x_name, pan.y_name, repr(float(z[i]))])
        else:
            w.writerow(["figure", "panel", "quantity", "curve", *PARAMS, "x_name", "x", "value"])
            for pan in fig.panels:
                for c in pan.curves:
                    base = [fig.number, pan.tag, c.quantity, c.label,
                            *(repr(float(c.params.get(k, np.nan))) for k in PARAMS), pan.x_name]
                    for xv, yv in zip(c.x, c.y):
                        w.writerow(base + [repr(float(xv)), repr(float(yv))])

    return write


def _render(fig: FigureData):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows, cols = fig.layout
    is_map = isinstance(fig.panels[0], MapPanel)
    size = (4.2 * cols, 3.6 * rows) if is_map else ((4.0 * cols, 2.6 * rows) if rows > 2 else (10, 7.5))
    f, axes = plt.subplots(rows, cols, figsize=size, squeeze=False, constrained_layout=True)
    if rows * cols != len(fig.panels):
        raise NmrqbError(f"figure {fig.number}: layout {rows}x{cols} does not hold {len(fig.panels)} panels")
    for ax, pan in zip(axes.ravel(), fig.panels):
        if is_map:
            mesh = ax.pcolormesh(pan.x, pan.y, pan.z, shading="auto", cmap="viridis")
            f.colorbar(mesh, ax=ax, label=SYMBOL[pan.quantity])
            ax.set_xlabel(f"${TEX[pan.x_name]}$")
            ax.set_ylabel(f"${TEX[pan.y_name]}$")
            ax.set_title(f"{pan.tag} {SYMBOL[pan.quantity]}: {pan.title}", fontsize=7)
        else:
            for c in pan.curves:
                ax.plot(c.x, c.y, label=c.label, **c.style)
            ax.set_xlabel(pan.xlabel)
            ax.set_ylabel(pan.ylabel)
            ax.set_title(f"{pan.tag} {pan.title}".strip(), fontsize=9)
            if pan.x_name == "omega_t":
                ticks = np.arange(5) * math.pi / 4
                ax.set_xticks(ticks, ["0", r"$\pi/4$", r"$\pi/2$", r"$3\pi/4$", r"$\pi$"])
            ax.legend(fontsize=7, loc="best")
    notes = "\n".join(textwrap.wrap(" ".join(fig.assumptions), 160))
    f.suptitle(f"Fig. {fig.number} (nmrqb reproduction). {fig.caption}\n{notes}", fontsize=8)
    return f


def write_figure(fig: FigureData, out_dir) -> dict[str, Path]:
    """Render ``fig`` to ``figN.png`` and write ``figN.csv`` and
    ``figN.json`` (caption, layout, assumptions, settings, versions) in
    ``out_dir``.  The three files are one output group
    (:class:`nmrqb.output.OutputFolder`): they replace the old ones together
    or not at all, also when the run is killed."""
    import matplotlib.pyplot as plt

    out = OutputFolder(out_dir)
    stem = f"fig{fig.number}"
    f = _render(fig)
    meta = {"Title": f"Fig. {fig.number}", "Description": f"panels={len(fig.panels)}"}
    info = {
        "figure": fig.number,
        "caption": fig.caption,
        "layout": list(fig.layout),
        "panels": [p.tag for p in fig.panels],
        "assumptions": fig.assumptions,
        "settings": fig.settings,
        "versions": versions(),
    }
    try:
        with out.group(stem) as g:
            paths = {
                "png": g.write(f"{stem}.png", lambda fh: f.savefig(fh, format="png", dpi=110, metadata=meta), binary=True),
                "csv": g.write(f"{stem}.csv", _csv_writer(fig)),
                "json": g.write_json(f"{stem}.json", info),
            }
    finally:
        plt.close(f)
    return paths
