"""Plot helper for density matrices: 3-D bars or Hinton diagrams of the real
and imaginary parts, with the ideal state beside the estimate.

Builds a bare :class:`matplotlib.figure.Figure` (no pyplot, no global
state, safe under the Agg backend and in threads) and returns it; saving is
the caller's business.  No dependency on ``nmrqb``.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np

from tomography._checks import VALUE_MAX, show
from tomography.errors import DataError, StateError
from tomography.pauli import check_states, n_qubits_of

__all__ = ["plot_density_matrix"]

#: Smallest common scale drawn (matplotlib cannot draw a narrower axis range).
_ZLIM_MIN = 1e-6


def _basis_labels(n: int) -> list[str]:
    return ["|" + "".join(b) + "⟩" for b in itertools.product("01", repeat=n)]


def _bars(ax, m: np.ndarray, zlim: float, labels: Sequence[str], title: str) -> None:
    from matplotlib import cm, colors

    d = m.shape[0]
    xs, ys = np.meshgrid(np.arange(d), np.arange(d), indexing="ij")
    x, y, z = xs.ravel() - 0.35, ys.ravel() - 0.35, m.ravel()
    norm = colors.Normalize(vmin=-zlim, vmax=zlim)
    ax.bar3d(x, y, np.zeros_like(z), 0.7, 0.7, z, color=cm.RdBu_r(norm(z)), shade=True, linewidth=0.2,
             edgecolor="k")
    ax.set_zlim(-zlim, zlim)
    ticks = np.arange(d)
    small = d <= 8
    ax.set_xticks(ticks, labels if small else [""] * d, fontsize=6)
    ax.set_yticks(ticks, labels if small else [""] * d, fontsize=6)
    ax.tick_params(axis="z", labelsize=6)
    ax.set_title(title, fontsize=9)


def _hinton(ax, m: np.ndarray, zlim: float, labels: Sequence[str], title: str) -> None:
    from matplotlib.patches import Rectangle

    d = m.shape[0]
    ax.set_facecolor("0.85")
    for (i, j), v in np.ndenumerate(m):
        size = np.sqrt(min(abs(v) / zlim, 1.0)) if zlim > 0 else 0.0
        color = "white" if v > 0 else "black"
        ax.add_patch(Rectangle((j - size / 2, i - size / 2), size, size, facecolor=color, edgecolor=color))
    ax.set_xlim(-0.6, d - 0.4)
    ax.set_ylim(d - 0.4, -0.6)
    ax.set_aspect("equal")
    small = d <= 8
    ax.set_xticks(np.arange(d), labels if small else [""] * d, fontsize=6, rotation=90)
    ax.set_yticks(np.arange(d), labels if small else [""] * d, fontsize=6)
    ax.set_title(title, fontsize=9)


def plot_density_matrix(
    state: Any,
    ideal: Any = None,
    *,
    kind: str = "bars",
    title: str | None = None,
    labels: Sequence[str] | None = None,
    zlim: float | None = None,
):
    """Draw Re ρ and Im ρ (and the ideal state's, beside them).

    Parameters
    ----------
    state : qutip.Qobj, ket or (d, d) array
        The estimate: Hermitian with unit trace (a linear estimate need not
        be positive), else a :class:`~tomography.errors.StateError`.
    ideal : same kinds, optional
        The target state (a density matrix), drawn in a second row with the
        same scale.
    kind : "bars" (3-D bars, colour = value) or "hinton" (square area ∝
        |value|, white positive, black negative)
    title : str, optional
        Figure title.
    labels : list or tuple of d str, optional
        Basis labels (default ``|00⟩, |01⟩, ...``; omitted when d > 8).
    zlim : float in [1e-6, 1e60], optional
        Common scale (default the largest |element| over all panels).

    Returns
    -------
    matplotlib.figure.Figure with 2 axes (4 with ``ideal``): row 1 the
    estimate (Re, Im), row 2 the ideal state (Re, Im).
    """
    from matplotlib.figure import Figure

    if not isinstance(kind, str) or kind not in ("bars", "hinton"):
        raise DataError(f"kind = {show(kind)} is not allowed: 'bars' or 'hinton'")
    if title is not None and not isinstance(title, str):
        raise DataError(f"title = {show(title)} is not allowed: a string or None is required")
    mats = []
    for name, x in (("state", state), ("ideal", ideal)):
        if x is None and name == "ideal":
            continue
        a, single = check_states(x, name, positive=(name == "ideal"))
        if not single:
            raise StateError(f"{name} has shape {a.shape}: one (d, d) density matrix is required")
        mats.append((name, a))
    d = mats[0][1].shape[0]
    n = n_qubits_of(d, "state")
    if len(mats) == 2 and mats[1][1].shape[0] != d:
        raise StateError(f"ideal is {mats[1][1].shape[0]}-dimensional, state is {d}-dimensional: they must match")
    if labels is None:
        labels = _basis_labels(n)
    elif not isinstance(labels, (list, tuple)) or not all(isinstance(x, str) for x in labels):
        raise DataError(f"labels = {show(labels)} is not allowed: a list or tuple of {d} strings is required")
    elif len(labels) != d:
        raise DataError(f"labels has {len(labels)} entries: {d} (one per basis state) are required")
    if zlim is None:
        zlim = max(max(np.abs(a.real).max(), np.abs(a.imag).max()) for _, a in mats)
        zlim = float(zlim) if zlim > 0 else 1.0
    elif (isinstance(zlim, (bool, np.bool_)) or not isinstance(zlim, (int, float, np.integer, np.floating))
          or not _ZLIM_MIN <= zlim <= VALUE_MAX):
        raise DataError(f"zlim = {show(zlim)} is not allowed: a number from {_ZLIM_MIN:g} to {VALUE_MAX:g}")
    zlim = max(float(zlim), _ZLIM_MIN)
    rows = len(mats)
    fig = Figure(figsize=(8, 3.8 * rows), layout="constrained")
    draw = _bars if kind == "bars" else _hinton
    proj = {"projection": "3d"} if kind == "bars" else {}
    for r, (name, a) in enumerate(mats):
        what = "estimate" if name == "state" else "ideal"
        for c, (part, m) in enumerate((("Re", a.real), ("Im", a.imag))):
            ax = fig.add_subplot(rows, 2, 2 * r + c + 1, **proj)
            draw(ax, m, zlim, labels, f"{part} ρ ({what})")
    if title:
        fig.suptitle(title)
    return fig
