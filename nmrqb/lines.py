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
    covariances : ndarray (n_Ωt, n_lines, n_lines)
        The full covariance of the amplitudes from the fits' covariance
        matrices: lines of one spectrum are correlated through their shared
        width (correlations of −0.7 are common), lines of different spectra
        are independent.  Its diagonal is ``standard_errors``².
    model : tomography.MeasurementModel
    fits : dict
        ``fits[(k, readout, channel)]`` = the :class:`pulses.spectra.LineFit`.
    """

    amplitudes: np.ndarray
    standard_errors: np.ndarray
    model: object
    fits: dict
    covariances: np.ndarray | None = None


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
    fitted_all, stderr_all = [], []
    for k in range(n_k):
        fitted, stderr = {}, {}
        for r in plan.names:
            for ch in dict.fromkeys(j.channel for j in plan.join if j.readout == r):
                joins = plan.lines(r, ch)
                fid = simulated.fids[(k, r)][ch]
                spec = pulses.fft(pulses.apodize(fid, "exponential", lb_hz=lb_hz) if lb_hz > 0 else fid)
                # widths may go slightly negative (the exact model allows it): a bound at 0 would bias the
                # width of a line narrower than the noise resolves, and the amplitudes with it, upward
                fit = pulses.fit_lines(spec, [j.center_hz for j in joins], complex_amplitudes=True,
                                       same_width=True, vary_centers=vary_centers, noise_rms=noise_rms,
                                       fwhm_min_hz=-1.0 / fid.duration_s if hasattr(fid, "duration_s")
                                       else -1.0 / (fid.dwell_s * fid.data.shape[-1]))
                fits[(k, r, ch)] = fit
                fitted[(r, ch)] = np.asarray(fit.amplitude, dtype=np.complex128)
                stderr[(r, ch)] = np.asarray(fit.amplitude_stderr, dtype=np.complex128)
        fitted_all.append(fitted)
        stderr_all.append(stderr)
    # A spectrum without signal (e.g. a readout that sees nothing at this Ωt)
    # leaves its width, and so its amplitude errors, undetermined (NaN).  The
    # noise and the line width of a channel are the same in every readout, so
    # such errors take the median of the channel's determined ones.
    for ch in {j.channel for j in plan.join}:
        vals = np.concatenate([np.concatenate([e.real, e.imag]) for st in stderr_all for (r, c), e in st.items()
                               if c == ch])
        good = vals[np.isfinite(vals) & (vals > 0)]
        fill = float(np.median(good)) if good.size else 0.0
        for st in stderr_all:
            for key, e in st.items():
                if key[1] == ch:
                    re = np.where(np.isfinite(e.real) & (e.real > 0), e.real, fill)
                    im = np.where(np.isfinite(e.imag) & (e.imag > 0), e.imag, fill)
                    st[key] = re + 1j * im
    index = {key: i for i, key in enumerate(tuple(lab.split("/", 1)) for lab in model.line_labels)}
    covs = np.zeros((n_k, model.n_lines, model.n_lines))
    for k in range(n_k):
        amps[k] = plan.amplitudes(fitted_all[k])
        errs[k] = np.abs(plan.amplitudes(stderr_all[k]))
        covs[k] = np.diag(errs[k] ** 2)
        for r in plan.names:
            for ch in dict.fromkeys(j.channel for j in plan.join if j.readout == r):
                block = _amplitude_covariance(fits[(k, r, ch)], len(plan.lines(r, ch)))
                if block is None:
                    continue
                rows = []
                for j in plan.lines(r, ch):  # x then y of each line, in fit order
                    rows += [index[(r, j.label_x)], index[(r, j.label_y)]]
                scale = 2.0  # tomography amplitude = scale · fitted amplitude (LineJoin.scale)
                covs[k][np.ix_(rows, rows)] = scale**2 * block
        errs[k] = np.sqrt(np.clip(np.diag(covs[k]), 0, None))
    return LineData(amps, errs, model, fits, covs)


def _amplitude_covariance(fit, n_lines: int) -> np.ndarray | None:
    """(2n, 2n) covariance of (Re a_0, Im a_0, Re a_1, ...) from the lmfit
    result of a complex-amplitude fit, or None when lmfit could not
    estimate it (no signal: the width is undetermined)."""
    res = fit.result
    cov = getattr(res, "covar", None)
    if cov is None:
        return None
    names = list(res.var_names)
    order = []
    for i in range(n_lines):
        for part in ("amp_re", "amp_im"):
            name = f"l{i}_{part}"
            if name not in names:
                return None
            order.append(names.index(name))
    block = np.asarray(cov, dtype=float)[np.ix_(order, order)]
    if not np.all(np.isfinite(block)) or np.any(np.diag(block) < 0):
        return None
    return block
