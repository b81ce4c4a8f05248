"""From line amplitudes to states and battery metrics.

The tomography and metrics stages of the data flow.  :func:`reconstruct`
hands the line amplitudes of every charging value to :mod:`tomography`
(the deviation estimate with α, so the α-normalised state is physical);
:func:`battery_metrics` computes the quantum-battery metrics of states, raw
(what the NMR ensemble holds) and α-normalised (what the ideal battery
would hold).

Linearity (see :mod:`nmrqb.translate`): for ρ = (1 − α) I/4 + α ρ_t,
ergotropy, capacity and l1 coherence are exactly α times those of ρ_t, and
the energy is (1 − α) Tr H/4 + α Tr[ρ_t H]; so the normalised figures of
these come from the raw state divided by α.  Concurrence and discord are
computed on ρ_t = I/4 + (ρ − I/4)/α itself (made positive by clipping
negative eigenvalues, which noise or relaxation can create, and
renormalising); the raw NMR state is separable and its discord O(α²).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nmrqb.errors import PhysicsError

__all__ = ["Reconstruction", "reconstruct", "battery_metrics", "normalise", "LINEAR_METRICS", "NONLINEAR_METRICS"]

#: Metrics that scale exactly with α.
LINEAR_METRICS = ("energy", "ergotropy", "capacity", "l1_coherence")
#: Metrics computed on the α-normalised state only (zero or O(α²) raw).
NONLINEAR_METRICS = ("concurrence", "discord")


def normalise(rho: np.ndarray, alpha: float) -> np.ndarray:
    """ρ_t = I/4 + (ρ − I/4)/α, made positive (negative eigenvalues clipped,
    trace renormalised)."""
    rho = np.asarray(rho, dtype=np.complex128)
    d = rho.shape[-1]
    eye = np.eye(d)
    t = eye / d + (rho - eye / d) / alpha
    t = 0.5 * (t + np.swapaxes(t.conj(), -1, -2))
    w, v = np.linalg.eigh(t)
    w = np.clip(w, 0.0, None)
    w = w / w.sum(axis=-1, keepdims=True)
    return np.einsum("...ij,...j,...kj->...ik", v, w, v.conj())


def battery_metrics(states, hamiltonian: np.ndarray, alpha: float = 1.0) -> dict[str, np.ndarray]:
    """Battery and resource metrics of a batch of states (…, 4, 4).

    Returns a dict with, for each of :data:`LINEAR_METRICS`, the raw value
    (key ``"<name>_raw"``) and the α-normalised one (``"<name>"``), and for
    :data:`NONLINEAR_METRICS` the value of the α-normalised state
    (``"<name>"``) and of the raw state (``"<name>_raw"``).
    """
    from nmrqb import measures

    rho = np.asarray(states, dtype=np.complex128)
    if not (isinstance(alpha, (int, float, np.floating)) and np.isfinite(alpha) and alpha > 0):
        raise PhysicsError(f"alpha = {alpha!r} is not allowed: the deviation scale must be finite and > 0")
    h = np.asarray(hamiltonian, dtype=np.complex128)
    rho = 0.5 * (rho + np.swapaxes(rho.conj(), -1, -2))
    trh = float(np.real(np.trace(h)))
    out: dict[str, np.ndarray] = {}
    energy = np.asarray(measures.energy(rho, h))
    out["energy_raw"] = energy
    out["energy"] = (energy - (1 - alpha) * trh / 4) / alpha
    for name, fn in (("ergotropy", measures.ergotropy), ("capacity", measures.capacity),
                     ("l1_coherence", measures.l1_coherence)):
        raw = np.asarray(fn(rho, h) if name != "l1_coherence" else fn(rho))
        out[f"{name}_raw"] = raw
        out[name] = raw / alpha
    norm = normalise(rho, alpha)
    for name, fn in (("concurrence", measures.concurrence), ("discord", measures.discord)):
        out[name] = np.asarray(fn(norm))
        out[f"{name}_raw"] = np.asarray(fn(rho))
    return out


@dataclass(frozen=True)
class Reconstruction:
    """States reconstructed from line amplitudes, one per charging value.

    Attributes
    ----------
    states : ndarray (n, 4, 4)     raw states (1 − α) I/4 + α ρ_t
    normalised : ndarray (n, 4, 4) α-normalised, positive states ρ_t
    alpha : ndarray (n,)           the α used (given or estimated)
    estimates : tuple              the :class:`tomography.DeviationEstimate` of each
    """

    states: np.ndarray
    normalised: np.ndarray
    alpha: np.ndarray
    estimates: tuple


def reconstruct(lines, *, alpha="min_positive", sigma=None, method: str = "mle") -> Reconstruction:
    """Deviation-estimate every charging value of ``lines``
    (:class:`nmrqb.lines.LineData`).

    Parameters
    ----------
    alpha : float or str
        The deviation scale if known (the translation's α, or a calibrated
        one), else how to estimate it (see :func:`tomography.deviation_estimate`).
    sigma : float or array, optional
        Noise level of the line amplitudes; default the fit standard errors,
        floored at 1e-9 of the largest amplitude (noiseless data).
    method : str
        Estimator of the normalised state ("mle", "pls", "wls", "linear").
    """
    from tomography import deviation_estimate

    amps = np.asarray(lines.amplitudes)
    ests, states, norms, alphas = [], [], [], []
    for k in range(amps.shape[0]):
        if sigma is None:
            floor = 1e-9 * float(np.abs(amps[k]).max() or 1.0)
            s = np.maximum(lines.standard_errors[k], floor)
        else:
            s = sigma
        est = deviation_estimate(lines.model, amps[k], s, alpha=alpha, method=method)
        rho_t = est.normalised.state.full()
        a = float(est.alpha)
        ests.append(est)
        norms.append(rho_t)
        states.append((1 - a) * np.eye(4) / 4 + a * rho_t)
        alphas.append(a)
    return Reconstruction(np.array(states), np.array(norms), np.array(alphas), tuple(ests))
