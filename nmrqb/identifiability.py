"""Which parameter combinations the data of a charging experiment cannot determine.

The data of an experiment are the line amplitudes of the charged states
ρ(Ωt) = (1 − α) I/4 + α U ζ U†, ζ = exp(−H_DP/T)/Z, U = exp(−iΩt(XI + IX)),
read out by a linear measurement model (full tomography or fewer readouts).
This module holds the pure derivation of ``docs/identifiability.md`` as
functions a fit can call at its parameter values: the exact symmetries
(energy scale against T, sign flips of B, D, G that a readout set cannot
see, discrete α partners with identical states), the state components a
readout set never sees, and the null directions of the analytic Jacobian of
the noiseless data with respect to (B, D, G, Δ, ε, T, α), each with a
one-line reason.  No I/O, no fitting, no plotting.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import combinations

import numpy as np
import scipy.linalg as sla
from scipy.optimize import brentq

from nmrqb.errors import PhysicsError
from nmrqb.model import DipolarModel, check_temperature

__all__ = [
    "PARAMETERS",
    "ENERGIES",
    "SIGNED",
    "COMPONENTS",
    "DEFAULT_OMEGA_T",
    "NULL_RTOL",
    "WEAK_RTOL",
    "Degeneracy",
    "measurement_model",
    "collective_model",
    "charged_states",
    "predict_data",
    "jacobian",
    "lost_components",
    "flip_signs",
    "flip_state",
    "exact_sign_flips",
    "alpha_partners",
    "symmetries",
    "undetermined",
]

#: The model parameters of a fit, in canonical order (= nmrqb.fit.MODEL_PARAMETERS).
PARAMETERS = ("B", "D", "G", "Delta", "epsilon", "T", "alpha")
#: The energy parameters of H_DP.
ENERGIES = ("B", "D", "G", "Delta", "epsilon")
#: The parameters whose sign a symmetry of the model and the charging can flip.
SIGNED = ("B", "D", "G")

#: The Ωt grid used when none is given (the default protocol's).
DEFAULT_OMEGA_T = np.linspace(0.0, math.pi, 19)

#: Relative singular values (of the Jacobian in T units, see :func:`jacobian`)
#: below this are exact null directions.
NULL_RTOL = 1e-9
#: Relative singular values between NULL_RTOL and this are reported as weak.
WEAK_RTOL = 1e-3

_I2 = np.eye(2, dtype=np.complex128)
_PM = {
    "I": _I2,
    "X": np.array([[0, 1], [1, 0]], dtype=np.complex128),
    "Y": np.array([[0, -1j], [1j, 0]], dtype=np.complex128),
    "Z": np.array([[1, 0], [0, -1]], dtype=np.complex128),
}


def _p2(label: str) -> np.ndarray:
    return np.kron(_PM[label[0]], _PM[label[1]])


_SWAP = np.eye(4, dtype=np.complex128)[[0, 2, 1, 3]]
_XX, _YY, _ZZ = _p2("XX"), _p2("YY"), _p2("ZZ")
#: XX + YY + ZZ: the isotropic (Heisenberg) exchange, absent from H_DP (P is traceless).
_HEIS = _XX + _YY + _ZZ

#: The six components of ζ − I/4 (every Gibbs state of H_DP lies in their
#: span, which is 6-dimensional because ZQ has no σz part and H_DP no
#: isotropic exchange), adapted to the x charging: label → (operator,
#: meaning).  The operators are orthogonal (Hilbert–Schmidt).
COMPONENTS = {
    "XX": (_XX, "invariant under the x charging; DQ + ZQ x coherence (ε and Δ)"),
    "ZZ+YY": ((_ZZ + _YY) / 2, "invariant under the x charging"),
    "ZZ−YY": ((_ZZ - _YY) / 2, "turns into ZY+YZ at 4Ωt"),
    "ZI+IZ": ((_p2("ZI") + _p2("IZ")) / 2, "DQ polarisation (B); turns into YI+IY at 2Ωt"),
    "XY": (_p2("XY"), "DQ + ZQ y coherence (G and D); turns into XZ at 2Ωt"),
    "YX": (_p2("YX"), "DQ − ZQ y coherence (G and D); turns into ZX at 2Ωt"),
}
#: Pauli labels (and pivot order) used to print lost components.
_PRINT_LABELS = ("XX", "ZZ", "YY", "ZI", "IZ", "XY", "YX")
_COORD_OPS = np.stack([op for op, _ in COMPONENTS.values()])


@dataclass(frozen=True)
class Degeneracy:
    """One parameter combination the data cannot determine.

    Attributes
    ----------
    kind : str
        ``"scale"`` (energies and T together), ``"null"`` (another exact null
        direction of the Jacobian), ``"weak"`` (a singular value below
        :data:`WEAK_RTOL` of the largest), ``"sign"`` (an exact sign flip of
        B, D and/or G), ``"alpha-partner"`` (a different (H/T, α) with the
        same states).
    parameters : tuple of str
        The parameters involved (names of :data:`PARAMETERS`).
    combination : str
        The combination, e.g. ``"+0.71·dDelta/T −0.71·depsilon/T"`` or
        ``"sign of D"``.
    reason : str
        One line: why the data cannot see it.
    direction : dict or None
        For continuous kinds: the unit direction in relative coordinates —
        d(energy)/T for B, D, G, Delta, epsilon, dT/T, dα/α.
    singular_value : float or None
        For continuous kinds: the relative singular value.
    partner : dict or None
        For discrete kinds: the 7 parameters of a set with identical data.
    """

    kind: str
    parameters: tuple[str, ...]
    combination: str
    reason: str
    direction: dict | None = None
    singular_value: float | None = None
    partner: dict | None = field(default=None)

    def __str__(self) -> str:
        return f"{', '.join(self.parameters)} [{self.kind}] {self.combination}: {self.reason}"


# --------------------------------------------------------------------------
# inputs
# --------------------------------------------------------------------------
def measurement_model(readouts="full9"):
    """A :class:`tomography.MeasurementModel` from ``readouts``: a model
    itself, ``"full9"``/``"minimal4"``, or a list of NMR two-spin readout
    names such as ``["XI"]`` (:func:`tomography.nmr_two_spin_model`)."""
    import tomography

    if isinstance(readouts, tomography.MeasurementModel):
        if readouts.n_qubits != 2:
            raise PhysicsError(f"readouts: a two-qubit measurement model is required, not {readouts.n_qubits} qubits")
        return readouts
    return tomography.nmr_two_spin_model(readouts if isinstance(readouts, str) else tuple(readouts))


def collective_model():
    """The measurement model of an *equivalent* (homonuclear) pair: collective
    90° readouts (none, x, y on both spins) and swap-symmetric lines — the
    x and y quadratures of the sum and of the difference of the dipolar
    doublet, (XI + IX)/2, (YI + IY)/2, (XZ + ZX)/2, (YZ + ZY)/2.  Every such
    experiment is blind to the antisymmetric part of the state, hence to the
    sign of D."""
    import tomography

    half = {"x": (np.eye(2) - 1j * _PM["X"]) / math.sqrt(2), "y": (np.eye(2) - 1j * _PM["Y"]) / math.sqrt(2)}
    lines = tuple(tomography.Line(lab, (_p2(a) + _p2(b)) / 2) for lab, a, b in
                  (("Mx", "XI", "IX"), ("My", "YI", "IY"), ("Dx", "XZ", "ZX"), ("Dy", "YZ", "ZY")))
    readouts = [tomography.Readout("none", np.eye(4), lines)]
    readouts += [tomography.Readout(f"{k}90", np.kron(u, u), lines) for k, u in half.items()]
    return tomography.MeasurementModel.from_readouts(readouts, name="collective")


def _omega_t(omega_t) -> np.ndarray:
    w = DEFAULT_OMEGA_T if omega_t is None else np.atleast_1d(np.asarray(omega_t, dtype=np.float64))
    if w.ndim != 1 or w.size == 0 or not np.all(np.isfinite(w)):
        raise PhysicsError(f"omega_t must be a non-empty 1-D list of finite numbers, not shape {w.shape}")
    return w


def _alpha(alpha) -> float:
    a = float(alpha)
    if not (math.isfinite(a) and 0 < a <= 1e6):
        raise PhysicsError(f"alpha = {alpha!r} is not allowed: a finite number > 0 is required")
    return a


def _vary(vary) -> tuple[str, ...]:
    v = tuple(vary)
    bad = [n for n in v if n not in PARAMETERS]
    if bad or len(set(v)) != len(v):
        raise PhysicsError(f"vary = {v!r} is not allowed: distinct names from {PARAMETERS}")
    return tuple(n for n in PARAMETERS if n in v)


def _charging(omega_t: np.ndarray) -> np.ndarray:
    """U(Ωt) = exp(−iΩt(XI + IX)) = u ⊗ u, u = cos Ωt − i sin Ωt X, (n, 4, 4)."""
    c, s = np.cos(omega_t), np.sin(omega_t)
    u = c[:, None, None] * _I2 - 1j * s[:, None, None] * _PM["X"]
    return np.einsum("nab,ncd->nacbd", u, u).reshape(-1, 4, 4)


def _conj(u: np.ndarray, x: np.ndarray) -> np.ndarray:
    """U X U† for a batch of U and one X (or a batch of X)."""
    return u @ x @ np.swapaxes(u, -1, -2).conj()


# --------------------------------------------------------------------------
# the forward map and its Jacobian
# --------------------------------------------------------------------------
def charged_states(model: DipolarModel, T, alpha=1.0, omega_t=None) -> np.ndarray:
    """(1 − α) I/4 + α U(Ωt) ζ(T) U(Ωt)† for every Ωt, shape (n, 4, 4)."""
    t, a, w = check_temperature(T), _alpha(alpha), _omega_t(omega_t)
    zeta = model.gibbs_array(t)
    return (1 - a) * np.eye(4) / 4 + a * _conj(_charging(w), zeta)


def predict_data(model: DipolarModel, T, alpha=1.0, omega_t=None, readouts="full9") -> np.ndarray:
    """Noiseless line amplitudes of the charged states, shape (n_Ωt, n_lines)."""
    return measurement_model(readouts).predict(charged_states(model, T, alpha, omega_t), physical=False)


def _dzeta(model: DipolarModel, t: float) -> tuple[np.ndarray, list[np.ndarray]]:
    """ζ and ∂ζ/∂(B, D, G, Δ, ε, T) (exact, Fréchet derivative of expm)."""
    h = model.hamiltonian_array()
    e0 = float(np.linalg.eigvalsh(h)[0])
    m = -(h - e0 * np.eye(4)) / t  # ≤ 0: no overflow; the shift cancels in ζ
    ex = sla.expm(m)
    z = float(np.trace(ex).real)
    zeta = ex / z
    units = []
    for name in ENERGIES:
        kw = dict.fromkeys(ENERGIES, 0.0)
        kw[name] = 1.0
        units.append(-DipolarModel(**kw).hamiltonian_array() / t)
    units.append((h - e0 * np.eye(4)) / t**2)
    out = []
    for dm in units:
        de = sla.expm_frechet(m, dm, compute_expm=False)
        out.append((de - zeta * np.trace(de).real) / z)
    return zeta, out


def jacobian(model: DipolarModel, T, alpha=1.0, omega_t=None, readouts="full9", vary=PARAMETERS) -> np.ndarray:
    """Analytic Jacobian of :func:`predict_data` (flattened) in relative coordinates.

    Columns follow ``vary`` in :data:`PARAMETERS` order and are derivatives
    with respect to p/T for the energies, ln T and ln α: dimensionless, and
    invariant under the exact energy-scale symmetry.  Shape
    (n_Ωt · n_lines, len(vary)).
    """
    t, a, w = check_temperature(T), _alpha(alpha), _omega_t(omega_t)
    names = _vary(vary)
    mm = measurement_model(readouts)
    u = _charging(w)
    zeta, dz = _dzeta(model, t)
    cols = []
    for name in names:
        if name == "alpha":
            x = a * (zeta - np.eye(4) / 4)  # ∂/∂ln α
        else:
            x = a * t * dz[PARAMETERS.index(name)]  # ∂/∂(p/T) = T ∂/∂p; ∂/∂ln T = T ∂/∂T
        cols.append(mm.predict(_conj(u, x), physical=False).ravel())
    return np.stack(cols, axis=1) if cols else np.zeros((w.size * mm.n_lines, 0))


# --------------------------------------------------------------------------
# model-independent structure: lost components and sign flips
# --------------------------------------------------------------------------
def _rref(rows: np.ndarray, tol: float = 1e-9) -> np.ndarray:
    """Reduced row-echelon form of the rows (rank-many rows kept), entries
    below ``tol`` set to zero."""
    r = np.array(rows, dtype=np.float64)
    rank, lead = 0, 0
    while rank < r.shape[0] and lead < r.shape[1]:
        piv = rank + int(np.argmax(np.abs(r[rank:, lead])))
        if abs(r[piv, lead]) <= tol:
            lead += 1
            continue
        r[[rank, piv]] = r[[piv, rank]]
        r[rank] /= r[rank, lead]
        for j in range(r.shape[0]):
            if j != rank:
                r[j] -= r[j, lead] * r[rank]
        rank += 1
        lead += 1
    r = r[:rank]
    r[np.abs(r) < tol] = 0.0
    return r


def _combo(coeffs, names, fmt="{:+.3g}", sep="") -> str:
    """"XY−YX", "0.5·ZZ+YY" (sep="") or "+0.29·dB/T −0.10·dT/T" (sep=" ")."""
    parts = []
    for c, n in zip(coeffs, names):
        if abs(c) < 1e-9:
            continue
        if abs(abs(c) - 1) < 1e-9:
            parts.append(("+" if c > 0 else "−") + n)
        else:
            parts.append(fmt.format(c).replace("-", "−") + "·" + n)
    s = sep.join(parts)
    return s[1:] if s.startswith("+") else s


def _component_kernel(mm, w: np.ndarray) -> np.ndarray:
    """Orthonormal basis (k, 6), in the operators of :data:`COMPONENTS`, of
    the components of ζ − I/4 that the readouts never see at these Ωt."""
    u = _charging(w)
    cols = [mm.predict(_conj(u, op / 4), physical=False).ravel() for op in _COORD_OPS]
    lin = np.stack(cols, axis=1)
    _, s, vt = np.linalg.svd(lin)
    s = np.concatenate([s, np.zeros(6 - s.size)])
    # the components are O(1) operators and the lines O(1) observables: an
    # absolute cut, so that a map that is zero up to round-off (Ωt = π/2 with
    # readout II) has the full kernel
    return vt[s <= 1e-10 * max(s.max(), 1.0)]


def lost_components(readouts="full9", omega_t=None) -> tuple[str, ...]:
    """The components of ζ − I/4 (within the span of :data:`COMPONENTS`)
    that the data never see, as Pauli combinations in reduced row-echelon
    form: e.g. ``("XX",)`` for the single readout ``["XI"]`` over a charging
    grid (the coefficient c_XX is never read), ``("YY", "XY")`` for ``["IY"]``
    at Ωt = 0.  Empty for informationally complete readouts, at any Ωt."""
    ker = _component_kernel(measurement_model(readouts), _omega_t(omega_t))
    if ker.shape[0] == 0:
        return ()
    ops = np.tensordot(ker, _COORD_OPS, axes=1)  # (k, 4, 4)
    pauli = np.array([[np.trace(o @ _p2(lab)).real / 4 for lab in _PRINT_LABELS] for o in ops])
    return tuple(_combo(row, _PRINT_LABELS) for row in _rref(pauli))


def flip_signs(model: DipolarModel, flipped: Sequence[str]) -> DipolarModel:
    """The model with the signs of the named parameters (from B, D, G) reversed."""
    bad = [n for n in flipped if n not in SIGNED]
    if bad:
        raise PhysicsError(f"flipped = {tuple(flipped)!r}: only {SIGNED} have sign symmetries")
    return DipolarModel(**{n: (-v if n in flipped else v) for n, v in model.as_dict().items()})


def flip_state(rho: np.ndarray, flipped: Sequence[str]) -> np.ndarray:
    """The state map that carries ρ(Ωt; model) to ρ(Ωt; flip_signs(model, flipped)).

    B: ρ → (Y⊗Y) ρ* (Y⊗Y) (time reversal); D: ρ → SWAP ρ SWAP; G: ρ → SWAP
    (Z⊗Z) ρ* (Z⊗Z) SWAP; several: their composition (they commute).  Each
    commutes with the x charging and maps the Gibbs state of H_DP onto the
    Gibbs state of the flipped H_DP.
    """
    r = np.asarray(rho, dtype=np.complex128)
    for n in flipped:
        if n == "B":
            r = _YY @ r.conj() @ _YY
        elif n == "D":
            r = _SWAP @ r @ _SWAP
        elif n == "G":
            r = _SWAP @ _ZZ @ r.conj() @ _ZZ @ _SWAP
        else:
            raise PhysicsError(f"flipped = {tuple(flipped)!r}: only {SIGNED} have sign symmetries")
    return r


def exact_sign_flips(readouts="full9", omega_t=None) -> tuple[tuple[str, ...], ...]:
    """The non-empty sets of B, D, G whose joint sign flip leaves the data of
    *every* parameter set unchanged at these Ωt and readouts (the readouts
    are blind to the part of the state the flip changes)."""
    mm, w = measurement_model(readouts), _omega_t(omega_t)
    u = _charging(w)
    out = []
    for k in (1, 2, 3):
        for sub in combinations(SIGNED, k):
            worst, scale = 0.0, 1.0  # O(1) operators and lines: an absolute cut (see _component_kernel)
            for op in _COORD_OPS:
                x = _conj(u, op / 4)
                a = mm.predict(x, physical=False)
                b = mm.predict(flip_state(x, sub), physical=False)
                worst = max(worst, float(np.abs(a - b).max()))
                scale = max(scale, float(np.abs(a).max()), float(np.abs(b).max()))
            if worst <= 1e-12 * scale:
                out.append(sub)
    return tuple(out)


# --------------------------------------------------------------------------
# discrete partners: the same states with another (H/T, α)
# --------------------------------------------------------------------------
def _params_from_h(h: np.ndarray) -> dict:
    c = {lab: float(np.trace(h @ _p2(lab)).real) / 4 for lab in ("ZI", "IZ", "ZZ", "XX", "YY", "XY", "YX")}
    return {"B": (c["ZI"] + c["IZ"]) / 2, "D": (c["XY"] - c["YX"]) / 2, "G": (c["XY"] + c["YX"]) / 2,
            "Delta": 1.5 * c["ZZ"], "epsilon": (c["XX"] - c["YY"]) / 2}


def alpha_partners(model: DipolarModel, T, alpha=1.0, alpha_max=1.0) -> tuple[tuple[DipolarModel, float], ...]:
    """Other (model', α') at the same T whose charged states equal those of
    (model, T, α) exactly, for every Ωt (hence identical data for every
    readout set), with 0 < α' ≤ ``alpha_max``.

    ζ' = I/4 + u (ζ − I/4) is a Gibbs state of some H_DP iff log ζ' has no
    isotropic-exchange component: g(u) = Σ_k w_k log(1/4 + u (q_k − 1/4)) = 0
    with q_k the Gibbs populations and w_k = ⟨k|XX + YY + ZZ|k⟩.  g has the
    roots u = 0 (T → ∞) and u = 1 (the truth); any other root u* in
    (0, u_max) gives the partner α' = α/u*, with the same eigenvectors (the
    same ε : G : B and Δ : D) and other block splittings.
    """
    t, a = check_temperature(T), _alpha(alpha)
    vals, vecs = model.spectrum_array()
    x = (vals - vals.min()) / t
    q = np.exp(-x)
    q /= q.sum()
    dq = q - 0.25
    if np.abs(dq).max() < 1e-12:
        return ()
    wts = np.einsum("ik,ij,jk->k", vecs.conj(), _HEIS, vecs).real
    umax = 1 / (4 * -dq.min())  # ζ' ≥ 0 up to here (Σ dq = 0, so min dq < 0)
    hi = umax * (1 - 1e-9)

    def g(uu):
        return float(np.sum(wts * np.log(0.25 + uu * dq)))

    if not alpha_max > 0:
        return ()
    lo = a / alpha_max  # α' = α/u ≤ alpha_max
    if lo >= hi:
        return ()
    grid = np.unique(np.concatenate([np.geomspace(max(lo, 1e-9), hi, 3000), np.linspace(lo, hi, 3000)]))
    grid = grid[np.abs(grid - 1) > 1e-7]
    with np.errstate(divide="ignore", invalid="ignore"):
        gv = (wts * np.log(0.25 + np.outer(grid, dq))).sum(axis=1) / (grid * (grid - 1))
    out = []
    for i in np.flatnonzero(np.sign(gv[:-1]) * np.sign(gv[1:]) < 0):
        a0, b0 = grid[i], grid[i + 1]
        if a0 < 1 < b0:  # the sign change of 1/(u − 1), not a root
            continue
        root = brentq(g, a0, b0, xtol=1e-15, rtol=1e-14)
        if abs(root - 1) < 1e-6:
            continue
        qp = 0.25 + root * dq
        h = (vecs * (-t * np.log(qp))) @ vecs.conj().T
        p = _params_from_h(0.5 * (h + h.conj().T))
        out.append((DipolarModel(**p), a / root))
    return tuple(out)


# --------------------------------------------------------------------------
# the report a fit calls
# --------------------------------------------------------------------------
def _values(model: DipolarModel, t: float, a: float) -> dict:
    return {**model.as_dict(), "T": t, "alpha": a}


def _direction_text(vec: np.ndarray, names: tuple[str, ...]) -> str:
    lab = {n: f"d{n}/T" for n in ENERGIES} | {"T": "dT/T", "alpha": "dα/α"}
    return _combo(vec, [lab[n] for n in names], fmt="{:+.3f}", sep=" ")


def symmetries(model: DipolarModel, T, alpha=1.0, readouts="full9", omega_t=None, vary=PARAMETERS, *,
               alpha_max=1.0, null_rtol=NULL_RTOL, weak_rtol=WEAK_RTOL) -> tuple[Degeneracy, ...]:
    """Everything the noiseless data of this experiment leave undetermined
    at these parameter values, for a fit that varies ``vary``.

    Parameters
    ----------
    model, T, alpha : the parameter values (e.g. a fit's result).
    readouts : a measurement model, ``"full9"``, ``"minimal4"`` or a list of
        NMR readout names (:func:`measurement_model`).
    omega_t : the Ωt grid (default :data:`DEFAULT_OMEGA_T`).
    vary : the parameters the fit varies (the others are held fixed).
    alpha_max : the upper bound of α in the fit (for :func:`alpha_partners`).
    null_rtol, weak_rtol : relative singular-value thresholds.

    Returns
    -------
    tuple of :class:`Degeneracy`: the energy scale, other exact null
    directions (named with the components the readouts lose), weak
    directions, exact sign flips of varied non-zero B, D, G, and discrete α
    partners reachable with the fixed parameters held.
    """
    t, a, w = check_temperature(T), _alpha(alpha), _omega_t(omega_t)
    names = _vary(vary)
    mm = measurement_model(readouts)
    vals = _values(model, t, a)
    lost = lost_components(mm, w)
    ev = model.spectrum_array()[0]
    gap = float(ev[-1] - ev[0])
    lost_txt = ("the readouts never see the component(s) " + "; ".join(lost) + " of the prepared state") if lost else ""
    out: list[Degeneracy] = []

    if names:
        jac = jacobian(model, t, a, w, mm, names)
        _, s, vt = np.linalg.svd(jac, full_matrices=True)
        s = np.concatenate([s, np.zeros(len(names) - s.size)])
        smax = max(s.max(), 1e-12 * a)  # data identically zero (e.g. readout II at Ωt = 0): all null
        rel = s / smax
        null = vt[rel <= null_rtol]
        weak = [(vt[i], rel[i]) for i in range(len(names)) if null_rtol < rel[i] < weak_rtol]
        # the energy scale: (p/T, 1, 0) in relative coordinates
        scale = np.array([vals[n] / t if n in ENERGIES else (1.0 if n == "T" else 0.0) for n in names])
        fixed_energy = any(vals[n] != 0 for n in ENERGIES if n not in names)
        if null.size and "T" in names and not fixed_energy and np.linalg.norm(scale) > 0:
            sc = scale / np.linalg.norm(scale)
            if np.linalg.norm(null @ sc) > 1 - 1e-6:
                parts = tuple(n for n, x in zip(names, sc) if abs(x) > 1e-12)
                out.append(Degeneracy(
                    "scale", parts, "every energy and T scaled together (only H/T is determined)",
                    "ζ = exp(−H/T)/Z depends on H/T only and the charging on Ωt only: fix T or one energy",
                    dict(zip(names, sc)), 0.0))
                null = null - np.outer(null @ sc, sc)
                _, sv, v2 = np.linalg.svd(null, full_matrices=False)
                null = v2[sv > 0.5]
        # the high-temperature direction α/T = const (α against the scale of H/T), taken
        # orthogonal to the scale direction when that one is a symmetry
        at = np.array([-vals[n] / t if n in ENERGIES else (1.0 if n == "alpha" else 0.0) for n in names])
        if out and out[0].kind == "scale":
            sc = np.array(list(out[0].direction.values()))
            at = at - (at @ sc) * sc
        if null.shape[0] > 1:  # a canonical basis: reduced row-echelon, pivots on α, T, ε, ... first
            null = _rref(null[:, ::-1], tol=1e-12)[:, ::-1]
        for kind, vecs in (("null", [(v, 0.0) for v in null]), ("weak", weak)):
            for vec, sv in vecs:
                vec = vec * np.sign(vec[np.argmax(np.abs(vec))]) / np.linalg.norm(vec)
                parts = tuple(n for n, x in zip(names, vec) if abs(x) > 0.05)
                cold = t < 0.1 * gap
                bits = []
                if kind == "weak":
                    bits.append(f"relative singular value {sv:.2g}")
                elif lost_txt:
                    bits.append(lost_txt)
                elif not cold:
                    bits.append("a singular point of the parametrisation (e.g. a fold where an α partner merges "
                                "with the truth, or degenerate levels)")
                if cold:
                    bits.append("low temperature (T below a tenth of the level spread): ζ is nearly the ground "
                                f"state, the top level's population is ~exp(−{gap / t:.3g})")
                elif "alpha" in names and np.linalg.norm(at) > 0 and abs(vec @ at) / np.linalg.norm(at) > 0.9:
                    bits.append("α against the scale of H/T" + (
                        ": at high temperature the data fix α·H/T to first order and α only through (H/T)² terms"
                        if t > gap else ""))
                out.append(Degeneracy(kind, parts, _direction_text(vec, names), "; ".join(bits),
                                      dict(zip(names, vec)), float(sv)))

    # exact sign flips of varied, non-zero B, D, G
    for sub in exact_sign_flips(mm, w):
        if all(n in names and vals[n] != 0 for n in sub):
            partner = dict(vals) | {n: -vals[n] for n in sub}
            out.append(Degeneracy(
                "sign", sub, "sign of " + " and ".join(sub) + (" together" if len(sub) > 1 else ""),
                "the flip (" + ", ".join(_FLIP_OP[n] for n in sub) + ") commutes with the x charging and the "
                "readouts are blind to what it changes", None, None, partner))

    # discrete α partners (identical states), if the fixed parameters allow them
    if "alpha" in names:
        for mp, ap in alpha_partners(model, t, a, alpha_max):
            x = {n: v / t for n, v in mp.as_dict().items()}  # H'/T'
            if "T" not in names:
                lam = t
            else:
                fixed = [n for n in ENERGIES if n not in names and abs(x[n]) > 0]
                lam = vals[fixed[0]] / x[fixed[0]] if fixed else t
            if lam <= 0:
                continue
            cand = {n: lam * x[n] for n in ENERGIES} | {"T": lam, "alpha": ap}
            ok = all(abs(cand[n] - vals[n]) <= 1e-9 * max(1.0, abs(vals[n])) for n in PARAMETERS
                     if n not in names and n != "alpha")
            if not ok:
                continue
            moved = tuple(n for n in names if abs(cand[n] - vals[n]) > 1e-12 * max(1.0, abs(vals[n])))
            out.append(Degeneracy(
                "alpha-partner", moved, f"α = {a:.6g} or α' = {ap:.6g} (with other block "
                "splittings)",
                "(1 − α) I/4 + α ζ equals (1 − α') I/4 + α' ζ': the same eigenvectors, and log ζ' is also free of "
                "isotropic exchange, so both are Gibbs states of some H_DP", None, None, cand))
    return tuple(out)


_FLIP_OP = {"B": "B: time reversal (Y⊗Y)ρ*(Y⊗Y)", "D": "D: SWAP", "G": "G: SWAP·(Z⊗Z)ρ*(Z⊗Z)"}


def undetermined(model: DipolarModel, T, alpha=1.0, readouts="full9", omega_t=None, vary=PARAMETERS,
                 **options) -> tuple[tuple[str, str], ...]:
    """(combination, one-line reason) for each exact degeneracy of
    :func:`symmetries` (weak directions left out)."""
    return tuple((f"{', '.join(d.parameters)}: {d.combination}", d.reason)
                 for d in symmetries(model, T, alpha, readouts, omega_t, vary, **options) if d.kind != "weak")
