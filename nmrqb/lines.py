"""From FIDs to tomography line amplitudes: spectra, line fits and the join.

The spectra stage of the data flow.  Each FID of a simulated (or measured)
experiment is apodised (exponential line broadening), transformed, and its
J doublets are fitted with :func:`pulses.fit_lines` (complex amplitudes, the
exact discrete Lorentzian); the fitted complex amplitudes go through the
readout join (:class:`nmrqb.translate.ReadoutPlan`) into the line amplitudes
of the :mod:`tomography` measurement model, one vector per charging value.

It fits and maps; it does not estimate states (:mod:`nmrqb.reconstruct`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nmrqb.errors import PhysicsError

__all__ = ["LineData", "fit_experiment"]


@dataclass(frozen=True)
class LineData:
    """Tomography line amplitudes of every charging value.

    Attributes
    ----------
    amplitudes : ndarray (n_Ωt, n_lines)
        In the order of ``model.line_labels``.
    standard_errors : ndarray (n_Ωt, n_lines)
        From the line fits (scaled like the amplitudes); 0 for noiseless data.
    model : tomography.MeasurementModel
    fits : dict
        ``fits[(k, readout, channel)]`` = the :class:`pulses.spectra.LineFit`.
    """

    amplitudes: np.ndarray
    standard_errors: np.ndarray
    model: object
    fits: dict


def fit_experiment(simulated, *, lb_hz: float = 2.0, noise_rms: float | None = None,
                   vary_centers: bool = False) -> LineData:
    """Fit every spectrum of ``simulated`` (a
    :class:`nmrqb.simulation.SimulatedExperiment` with FIDs) and map the
    lines onto tomography amplitudes.

    Parameters
    ----------
    lb_hz : float
        Exponential line broadening (Hz) applied before the transform; the
        fit models it exactly.
    noise_rms : float, optional
        Known spectral noise (per point and quadrature) for absolute
        standard errors.
    vary_centers : bool
        Fit the line positions too (default: fixed at the join's centres,
        which the platform's offsets and J define).
    """
    import pulses

    exp = simulated.experiment
    plan = exp.readout
    if not plan.names:
        raise PhysicsError("fit_experiment: the experiment has no readout plan")
    if not simulated.fids:
        raise PhysicsError("fit_experiment: the simulation recorded no FIDs (acquire=False)")
    model = plan.measurement_model()
    n_k = len(exp.charging.omega_t)
    amps = np.zeros((n_k, model.n_lines))
    errs = np.zeros((n_k, model.n_lines))
    fits = {}
    for k in range(n_k):
        fitted, stderr = {}, {}
        for r in plan.names:
            for ch in dict.fromkeys(j.channel for j in plan.join if j.readout == r):
                joins = plan.lines(r, ch)
                fid = simulated.fids[(k, r)][ch]
                spec = pulses.fft(pulses.apodize(fid, "exponential", lb_hz=lb_hz))
                fit = pulses.fit_lines(spec, [j.center_hz for j in joins], complex_amplitudes=True,
                                       same_width=True, vary_centers=vary_centers, noise_rms=noise_rms)
                fits[(k, r, ch)] = fit
                fitted[(r, ch)] = np.asarray(fit.amplitude, dtype=np.complex128)
                se = np.asarray(fit.amplitude_stderr, dtype=np.complex128)
                stderr[(r, ch)] = np.where(np.isfinite(se), se, 0.0)
        amps[k] = plan.amplitudes(fitted)
        errs[k] = np.abs(plan.amplitudes(stderr))
    return LineData(amps, errs, model, fits)
