"""Fit recorded FIDs back to model parameters with lmfit (issue 11, core).

The inverse problem of a planning run: given the FIDs of every readout and
Ωt of an experiment (simulated by ``nmrqb run`` or measured), estimate the
model parameters (any subset of B, D, G, Δ, ε, T and α) with nuisance
parameters per channel (receiver phase, amplitude scale, RF-amplitude
scale, frequency offset and extra line width), with standard errors,
correlations and identifiability warnings.

Forward model
-------------
The fit assumes the prepared state is (1 − α) I/4 + α ζ(θ), ζ(θ) the Gibbs
state of H_DP(B, D, G, Δ, ε) at T.  Everything after the preparation —
charging pulses, readout pulses, acquisition under the platform's natural
Hamiltonian and (optionally) relaxation — is affine in that state, and does
not depend on θ.  So :class:`ForwardModel` simulates once, per (Ωt,
readout), the FIDs of the 16 states (I + P)/4 (P a Pauli string) and of
I/4, and a residual evaluation is a matrix product with the 15 Pauli
coefficients of the candidate state: no propagator is recomputed (the
"cached propagators" of the issue).  Nuisance parameters act on the FIDs of
a channel as a_c · exp(iφ_c) · exp(2πi δ_c t − π Γ_c t) (amplitude scale
a_c, receiver phase φ_c, offset δ_c, extra line width Γ_c).  The
RF-amplitude scale s_c multiplies the flip angle of every charging and
readout pulse on channel c (hard pulses only): the FIDs change by
A · (T(s) − T(1)) · c, with A the acquisition's responses to the Pauli
states (cached too) and T the Pauli transfer matrix of the pulses before
the acquisition — exact without relaxation, and exact at s = 1 with it.

FIDs or complex spectra
-----------------------
The residual is the FIDs' by default, which over the whole spectral width is
the complex spectra's too (unitary FFT, Parseval).  ``region_hz`` (protocol
``fit.region_hz``) fits the complex spectra only within ±region_hz of every
line (:class:`SpectralWindows`), so baseline artefacts, spurious tones or
other signals away from the lines do not enter; the compression below works
on the windowed responses the same way.

Noise level
-----------
Standard errors and the reduced χ² are for a noise σ per FID point and
quadrature.  When σ is known (``sigma``; ``nmrqb fit`` on the output folder
of ``nmrqb run`` takes it from its ``results.json``) the reduced χ² tests
the model: ≈ 1 when model and σ fit the data, ≫ 1 for a misfit.  When it is
not, σ is the rms of a first fit's residual per channel; the reduced χ² is
then 1 by construction and cannot reveal a misfit (``FitResult.sigma_source``
says which).

Identifiability
---------------
lmfit's covariance gives standard errors and correlations; a parameter
whose standard error cannot be computed, or whose correlation with another
exceeds 0.95 in magnitude, is named in ``FitResult.warnings`` with the
reason.  ``docs/identifiability.md`` derives which parameter combinations
the data cannot separate (e.g. the energy scale and T: ζ depends on H/T
only).

``nmrqb fit PROTOCOL DATA --out DIR`` (:func:`fit_protocol`,
:func:`read_fit_data`, :func:`write_fit`) fits the protocol's ``[fit]``
section to a run folder or to Bruker data sets named by a manifest, and
writes ``fit.json`` and ``fit.html``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from nmrqb.errors import NmrqbError, PhysicsError, ProtocolError
from nmrqb.protocol import FIT_NUISANCE as NUISANCE_KINDS
from nmrqb.protocol import FIT_NUISANCE_NEUTRAL as NUISANCE_NEUTRAL
from nmrqb.protocol import FIT_NUISANCE_SCALES

__all__ = ["ForwardModel", "SpectralWindows", "FitResult", "fit_fids", "FitRun", "fit_protocol", "read_fit_data", "write_fit", "fids_array",
           "run_noise_sigma", "MODEL_PARAMETERS", "NUISANCE_KINDS", "NUISANCE_NEUTRAL", "CORRELATION_WARN",
           "FIT_FORMAT"]

MODEL_PARAMETERS = ("B", "D", "G", "Delta", "epsilon", "T", "alpha")

# NUISANCE_KINDS (receiver phase in rad, amplitude scale, RF-amplitude scale,
# frequency offset in Hz, extra line width in Hz) and NUISANCE_NEUTRAL (the
# value of each that changes nothing) are the protocol's FIT_NUISANCE and
# FIT_NUISANCE_NEUTRAL: one definition for the [fit] section and the fit.

#: |correlation| above which two fitted parameters are reported as not separable.
CORRELATION_WARN = 0.95


def _pauli_strings() -> np.ndarray:
    """The 15 non-identity two-qubit Pauli strings, in tomography's coefficient order."""
    from tomography.pauli import full_to_matrix

    return full_to_matrix(np.eye(16)[1:], 2)


_PAULI = _pauli_strings()


def nuisance_name(kind: str, channel: str) -> str:
    """The lmfit name of a per-channel nuisance parameter: "<kind>_c<channel>"
    with the channel made an identifier ("phase", "1H" → "phase_c1H")."""
    return f"{kind}_c" + "".join(ch if ch.isalnum() else "_" for ch in channel)


class ForwardModel:
    """FIDs of an experiment as an affine function of the prepared state.

    Parameters
    ----------
    experiment : nmrqb.translate.Experiment
    relaxation : bool
        The platform's T1/T2 during charging, readout and acquisition, and
        during the preparation as it was run: the difference between the
        state the experiment's preparation sequences make with and without
        relaxation (a fixed shift, computed once) is added to every
        candidate state (1 − α) I/4 + α ζ(θ).  Exact at the design
        parameters, first order away from them.
    """

    def __init__(self, experiment, *, relaxation: bool = False):
        import pulses
        from pulses.sequence import Sequence

        self.experiment = experiment
        ex = experiment
        if not ex.readout.names:
            raise ProtocolError("fit: the experiment has no readout (readout.set = none): there is nothing to fit")
        system = ex.platform.system
        self.channels = tuple(system.channels)
        self.keys = [(k, r) for k in range(len(ex.charging.omega_t)) for r in ex.readout.names]
        sim = pulses.Simulator(system, relaxation=bool(relaxation))
        self._sim = sim
        self._rf = None  # (A, nominal Pauli transfer matrices): built on the first RF scale ≠ 1
        acq = ex.readout.acquire
        self.n_points = acq.points
        self.t = np.arange(acq.points) * acq.dwell_s
        states = [np.eye(4, dtype=np.complex128) / 4] + [(np.eye(4) + p) / 4 for p in _PAULI]
        # response[key][ch]: (16, N): row 0 the FID of I/4, rows 1.. the FID change per Pauli coefficient
        resp = np.zeros((len(self.keys), len(self.channels), 16, self.n_points), dtype=np.complex128)
        for i, (k, r) in enumerate(self.keys):
            pulse = ex.charging.pulses[k]
            seq = Sequence(((pulse,) if pulse is not None else ()) + tuple(ex.readout.pulses[r]) + (acq,))
            for j, rho in enumerate(states):
                res = sim.run(seq, initial=rho)
                for c, ch in enumerate(self.channels):
                    resp[i, c, j] = res.fid(ch).data
        resp[:, :, 1:] -= resp[:, :, :1]
        self.response = resp
        self.preparation_shift = np.zeros((4, 4), dtype=np.complex128)
        if relaxation:
            on, off = pulses.Simulator(system, relaxation=True), pulses.Simulator(system, relaxation=False)
            for sub in ex.preparation.subexperiments:
                self.preparation_shift += sub.weight * (on.run(sub.sequence).final_state
                                                        - off.run(sub.sequence).final_state)

    def _pre_acquisition(self, k: int, r: str) -> tuple:
        """The pulses of key (k, r) before its acquisition."""
        pulse = self.experiment.charging.pulses[k]
        return ((pulse,) if pulse is not None else ()) + tuple(self.experiment.readout.pulses[r])

    def _transfer(self, elements: tuple, rf: np.ndarray) -> np.ndarray:
        """The 15 × 15 Pauli transfer matrix of hard ``elements`` with the
        flip angle on channel c scaled by rf[c] (T_ij = Tr[P_i U P_j U†]/4)."""
        import dataclasses

        from pulses.compiler import sequence_unitary
        from pulses.sequence import Sequence

        split = []
        for p in elements:
            for ch in p.channels:
                split.append(dataclasses.replace(p, channels=(ch,),
                                                 flip_deg=p.flip_deg * float(rf[self.channels.index(ch)])))
        u = sequence_unitary(self.experiment.platform.system, Sequence(tuple(split))) if split else np.eye(4)
        rot = np.einsum("ab,jbc,dc->jad", u, _PAULI, u.conj())  # U P_j U†
        return np.einsum("iba,jab->ij", _PAULI, rot).real / 4

    def _rf_setup(self):
        if self._rf is None:
            from pulses.sequence import Sequence

            for k, r in self.keys:
                for p in self._pre_acquisition(k, r):
                    if getattr(p, "kind", "") != "Pulse" or not p.hard or p.flip_deg is None:
                        raise ProtocolError(
                            f"fit: nuisance 'rf' needs hard charging and readout pulses; {p.kind} "
                            f"{getattr(p, 'label', '')!r} (before readout {r!r}) is not one (fit its effect "
                            "another way, or charge and read out with hard pulses)")
            acq = Sequence((self.experiment.readout.acquire,))
            a = np.zeros((len(self.channels), 15, self.n_points), dtype=np.complex128)
            base = self._sim.run(acq, initial=np.eye(4, dtype=np.complex128) / 4)
            for j, p in enumerate(_PAULI):
                res = self._sim.run(acq, initial=(np.eye(4) + p) / 4)
                for c, ch in enumerate(self.channels):
                    a[c, j] = res.fid(ch).data - base.fid(ch).data
            ones = np.ones(len(self.channels))
            nominal = np.array([self._transfer(self._pre_acquisition(k, r), ones) for k, r in self.keys])
            self._rf = (a, nominal)
        return self._rf

    def rf_correction(self, coeffs: np.ndarray, rf: np.ndarray) -> np.ndarray:
        """(keys, channels, N): the change of the FIDs of Pauli coefficients
        ``coeffs`` (15) when the flip angles on channel c are scaled by
        rf[c], A · (T(rf) − T(1)) · c (zero at rf = 1)."""
        a, nominal = self._rf_setup()
        ex = self.experiment
        charge = {k: self._transfer(((ex.charging.pulses[k],) if ex.charging.pulses[k] is not None else ()), rf)
                  for k in {k for k, _ in self.keys}}
        read = {r: self._transfer(tuple(ex.readout.pulses[r]), rf) for r in {r for _, r in self.keys}}
        shifted = np.array([read[r] @ charge[k] @ coeffs for k, r in self.keys]) - nominal @ coeffs
        return np.einsum("cjn,kj->kcn", a, shifted)

    def compress(self, data: np.ndarray, transform=None):
        """Exact compression of the least-squares problem for fits whose only
        nuisance parameters are the receiver phase and the amplitude scale:
        per (key, channel) block the model is M_b c with M_b (N × 16), so
        with M_b = Q_b R_b (thin QR) and a real amplitude a
        ‖a e^{iφ} M_b c − y_b‖² = ‖a R_b c − e^{−iφ} Q_b† y_b‖² + (‖y_b‖² − ‖Q_b† y_b‖²).
        Returns (R, Qy, const) with R (keys, channels, 16, 16), Qy (keys,
        channels, 16) and the per-channel constants (the part of the data no
        candidate state can explain)."""
        cache = getattr(self, "_grams", None)
        if cache is None:
            cache = self._grams = {}
        key = None if transform is None else transform.key
        resp = self.response if transform is None else transform(self.response)
        if transform is not None:
            data = transform(data)
        if key not in cache:
            # R from the Gram matrix G = M†M = V Λ V† (R = Λ^½ V†): the same
            # normal equations as a thin QR, without numpy's slow batched QR;
            # directions with no signal (Λ ≈ 0: a Pauli term a readout cannot
            # see) drop out of both R and Q†y
            m = resp  # (keys, ch, 16, N): rows are the 16 response FIDs
            gram = np.einsum("kcin,kcjn->kcij", m.conj(), m)
            lam, vec = np.linalg.eigh(gram)
            keep = lam > 1e-13 * lam.max(axis=-1, keepdims=True)
            root = np.sqrt(np.where(keep, lam, 0.0))
            inv = np.where(keep, 1.0 / np.where(keep, root, 1.0), 0.0)
            r = root[..., :, None] * np.swapaxes(vec.conj(), -1, -2)
            cache[key] = (r, inv, vec)
        r, inv, vec = cache[key]
        my = np.einsum("kcin,kcn->kci", resp.conj(), data)  # M† y
        qy = inv * np.einsum("kcji,kcj->kci", vec.conj(), my)
        const = (np.sum(np.abs(data) ** 2, axis=-1) - np.sum(np.abs(qy) ** 2, axis=-1)).sum(axis=0)
        return r, qy, np.clip(const, 0.0, None)

    @staticmethod
    def coefficients(rho: np.ndarray) -> np.ndarray:
        """The 15 Pauli coefficients c_P = Tr[ρ P] of ρ = (I + Σ c_P P)/4."""
        from tomography.pauli import matrix_to_full

        return matrix_to_full(rho, 2)[1:]

    def fids(self, rho: np.ndarray, nuisance: dict | None = None) -> np.ndarray:
        """(n_keys, n_channels, N) complex FIDs of the candidate prepared
        state ``rho`` (plus the preparation's relaxation shift), with
        per-channel nuisance parameters by their lmfit names
        (:func:`nuisance_name`: "phase_c1H" in rad, "amplitude_c1H",
        "rf_c1H", "offset_c1H" in Hz, "lw_c1H" in Hz; absent ones neutral,
        :data:`NUISANCE_NEUTRAL`)."""
        c = np.concatenate([[1.0], self.coefficients(rho + self.preparation_shift)])
        out = np.einsum("kcjn,j->kcn", self.response, c)
        nuisance = nuisance or {}

        def get(kind, ch):
            return float(nuisance.get(nuisance_name(kind, ch), NUISANCE_NEUTRAL[kind]))

        rf = np.array([get("rf", ch) for ch in self.channels])
        if np.any(rf != 1.0):
            out = out + self.rf_correction(c[1:], rf)
        for i, ch in enumerate(self.channels):
            amp, ph, off, lw = get("amplitude", ch), get("phase", ch), get("offset", ch), get("lw", ch)
            if ph or off or lw:
                out[:, i] *= np.exp(1j * ph + (2j * np.pi * off - np.pi * lw) * self.t)
            if amp != 1.0:
                out[:, i] *= amp
        return out


class SpectralWindows:
    """The complex spectra of FIDs, kept only within ±``region_hz`` of every
    line of the experiment (its readout join), per channel: the unitary FFT
    (``norm="ortho"``, so white noise keeps its σ per point and quadrature
    and, over the whole spectrum, the χ² is the FID's by Parseval) times a
    0/1 mask.  A fit on these windows ignores whatever the data hold away
    from the lines (baseline artefacts, spurious signals, other compounds).
    Applies to responses (keys, channels, 16, N) and data (keys, channels, N)."""

    def __init__(self, forward: ForwardModel, region_hz: float):
        import math

        if isinstance(region_hz, bool) or not isinstance(region_hz, (int, float, np.integer, np.floating)) \
                or not (math.isfinite(float(region_hz)) and float(region_hz) > 0):
            raise ProtocolError(f"fit: region_hz = {region_hz!r:.40} is not allowed: give the half-width (Hz) of "
                                "the spectral window around each line, a finite number > 0")
        dwell = forward.experiment.readout.acquire.dwell_s
        sw = 1.0 / dwell
        f = np.fft.fftfreq(forward.n_points, d=dwell)
        mask = np.zeros((len(forward.channels), forward.n_points), dtype=bool)
        for j in forward.experiment.readout.join:
            d = (f - j.center_hz + sw / 2) % sw - sw / 2  # distance to the line, aliased into ±SW/2
            mask[forward.channels.index(j.channel)] |= np.abs(d) <= float(region_hz)
        for c, ch in enumerate(forward.channels):
            if not mask[c].any():
                raise ProtocolError(f"fit: region_hz = {region_hz!r} is not allowed: no spectral point of channel "
                                    f"{ch} lies within it of a line (point spacing {sw / forward.n_points:.4g} Hz)")
        self.region_hz = float(region_hz)
        self.mask = mask
        self.key = ("windows", self.region_hz)
        self.points = mask.sum(axis=1)  # spectral points kept per channel

    def __call__(self, x: np.ndarray) -> np.ndarray:
        m = self.mask[:, None, :] if x.ndim == 4 else self.mask
        return np.fft.fft(x, axis=-1, norm="ortho") * m


@dataclass(frozen=True)
class FitResult:
    """The outcome of :func:`fit_fids`.

    Attributes
    ----------
    values, stderr : dict name → float (stderr None where it cannot be computed)
    correlation : dict (name, name) → float, for every pair of varied parameters
    redchi : float  reduced χ² (≈ 1 when model and noise level fit the data;
        1 by construction when ``sigma_source`` is "residual")
    warnings : tuple of str  identifiability warnings, each naming the parameters and the reason
    result : lmfit.minimizer.MinimizerResult  of the best start
    starts : int  number of starts tried; ``best_start`` its index
    varied, undetermined : names of the varied parameters, and of those the data do not determine
    sigma : dict channel → σ used (per FID point and quadrature)
    sigma_source : "given" (σ known: redchi tests the model) or "residual"
        (σ from the rms of a first fit's residual: redchi is 1 by construction)
    region_hz : None (the whole FIDs were fitted) or the half-width of the
        spectral windows fitted (:class:`SpectralWindows`)
    n_evaluations : residual evaluations of every start, of the σ pre-fit
        and of the identifiability Jacobian (2 per varied parameter)
    """

    values: dict
    stderr: dict
    correlation: dict
    redchi: float
    warnings: tuple
    result: object = field(repr=False)
    starts: int = 1
    best_start: int = 0
    varied: tuple = ()
    undetermined: tuple = ()
    sigma: dict = field(default_factory=dict)
    sigma_source: str = "given"
    n_evaluations: int = 0
    region_hz: float | None = None

    def interval(self, name: str, confidence: float = 0.95) -> tuple[float, float]:
        """value ± z·stderr of parameter ``name``; refused (PhysicsError) for
        a parameter the data do not determine (it would be a confident
        number about nothing)."""
        from scipy.stats import norm

        se = self.stderr.get(name)
        if name in self.undetermined:
            raise PhysicsError(f"fit: parameter {name!r} is not determined by the data: {self._why(name)}")
        if se is None:
            raise PhysicsError(f"fit: parameter {name!r} has no standard error: {self._why(name)}")
        z = float(norm.ppf(0.5 + confidence / 2))
        return self.values[name] - z * se, self.values[name] + z * se

    def _why(self, name: str) -> str:
        hits = [w for w in self.warnings if f"'{name}'" in w]
        return hits[0] if hits else "not varied"


#: Singular values of the scaled Jacobian below this fraction of the largest
#: mark a direction the data do not determine.
NULL_RTOL = 1e-6


def _null_directions(residual, params, varied) -> tuple[list[tuple[np.ndarray, float]], np.ndarray]:
    """Directions along which the residual does not change, and the norms
    of the Jacobian's columns.

    The central-difference Jacobian's columns (∂r/∂p_i) are normalised to
    unit length, so the test depends neither on units nor on weights: a zero
    column is a parameter with no effect, and a singular value of the
    normalised Jacobian below :data:`NULL_RTOL` (of 1) is a combination of
    parameters whose effects cancel.  Directions are unit vectors in the
    normalised coordinates w_i = ‖∂r/∂p_i‖ dp_i (each parameter in units of
    its effect on the data); returns ([(direction, singular value)], norms).
    A column below 1e-9 of the largest counts as zero (finite-difference
    round-off)."""
    if not varied:
        return [], np.zeros(0)
    base = params.copy()
    cols = []
    for n in varied:
        v = base[n].value
        h = 1e-6 * max(abs(v), 1e-3)
        up, dn = base.copy(), base.copy()
        up[n].set(value=v + h)
        dn[n].set(value=v - h)
        cols.append((residual(up) - residual(dn)) / (2 * h))
    jac = np.stack(cols, axis=1)
    norms = np.linalg.norm(jac, axis=0)
    eye = np.eye(len(varied))
    if not np.any(norms > 0):
        return [(row, 0.0) for row in eye], norms
    dead = norms <= 1e-9 * norms.max()  # no effect beyond finite-difference round-off
    out = [(eye[i], 0.0) for i in np.flatnonzero(dead)]
    live = np.flatnonzero(~dead)
    _, sv, vt = np.linalg.svd(jac[:, live] / norms[live], full_matrices=False)
    for i in range(len(sv)):
        if sv[i] < NULL_RTOL:
            d = np.zeros(len(varied))
            d[live] = vt[i]
            out.append((d, float(sv[i])))
    return out, norms


def _state(values: dict) -> np.ndarray:
    from nmrqb.model import DipolarModel

    m = DipolarModel(B=values["B"], D=values["D"], G=values["G"], Delta=values["Delta"], epsilon=values["epsilon"])
    zeta = m.gibbs_array(values["T"])
    a = values["alpha"]
    return (1 - a) * np.eye(4) / 4 + a * zeta


def _nuisance_kind(name: str, channels: tuple) -> str | None:
    """The kind of a nuisance parameter's lmfit name, or None when it is none."""
    for kind in NUISANCE_KINDS:
        if any(name == nuisance_name(kind, ch) for ch in channels):
            return kind
    return None


def fit_fids(forward: ForwardModel, data: np.ndarray, start: dict | None = None, *,
             vary=("B", "D", "G", "Delta", "epsilon", "alpha"), bounds: dict | None = None, exprs: dict | None = None,
             nuisance=("phase",), sigma=None, n_starts: int = 1, spread: float = 0.3, seed: int = 0,
             params=None, region_hz: float | None = None) -> FitResult:
    """Least-squares fit of model (and nuisance) parameters to FIDs.

    Parameters
    ----------
    forward : ForwardModel
    data : ndarray (n_keys, n_channels, N) complex
        The recorded FIDs in ``forward.keys`` × ``forward.channels`` order.
    start : dict
        Starting values of B, D, G, Delta, epsilon, T, alpha (all seven);
        nuisance parameters start neutral (:data:`NUISANCE_NEUTRAL`) unless
        given here by their lmfit names.
    vary : names of the model parameters to fit (others fixed at ``start``).
    bounds : dict name → (min, max), optional (defaults: T ≥ 1e-6,
        0 ≤ alpha ≤ 1, amplitude and rf scales > 0).
    exprs : dict name → lmfit constraint expression (ties), optional.
    nuisance : which per-channel nuisance parameters to fit, from
        :data:`NUISANCE_KINDS`: "phase" (rad), "amplitude" (scale), "rf"
        (RF-amplitude scale, hard pulses), "offset" (Hz), "lw" (extra line
        width, Hz).
    params : lmfit.Parameters, optional
        Instead of ``start``/``vary``/``bounds``/``exprs``/``nuisance``: the
        parameters as they are — the seven model parameters and any nuisance
        parameters by their lmfit names (:func:`nuisance_name`), each with
        its value, vary flag, bounds and expr tie (what
        ``Protocol.fit_parameters`` builds from a ``[fit]`` section).
    sigma : float or dict channel → float, optional
        Noise per FID point and quadrature.  Default: the rms per channel of
        a first fit's residual (``sigma_source`` "residual": the reduced χ²
        is then 1 by construction).  Standard errors are absolute (for that σ).
    n_starts : int
        Starts: the given one, then seeded Latin-hypercube draws within
        ±``spread`` (relative; absolute ``spread`` for parameters starting
        at 0) of the varied model parameters; the lowest χ² wins.
    seed : int
        Seed of the Latin hypercube.
    region_hz : float, optional
        Fit the complex spectra instead of the FIDs, only within ±region_hz
        of every line (:class:`SpectralWindows`): what lies away from the
        lines does not enter.  None (default): the whole FIDs (the same χ²
        as the whole complex spectra, by Parseval).
    """
    import lmfit
    from scipy.stats import qmc

    data = np.asarray(data, dtype=np.complex128)
    if data.shape != forward.response.shape[:2] + (forward.n_points,):
        raise ProtocolError(f"fit: data has shape {data.shape}; the experiment gives "
                            f"{forward.response.shape[:2] + (forward.n_points,)} (keys × channels × points)")
    channels = forward.channels
    if params is not None:
        if start is not None:
            raise ProtocolError("fit: give either params (lmfit.Parameters) or start, not both")
        if not isinstance(params, lmfit.Parameters):
            raise ProtocolError(f"fit: params = {type(params).__name__} is not allowed: give lmfit.Parameters")
        base = params.copy()
        missing = [n for n in MODEL_PARAMETERS if n not in base]
        if missing:
            raise ProtocolError(f"fit: params is missing {', '.join(missing)}: give all of "
                                f"{', '.join(MODEL_PARAMETERS)}")
        kinds = []
        for n in base:
            if n in MODEL_PARAMETERS:
                continue
            kind = _nuisance_kind(n, channels)
            if kind is None:
                raise ProtocolError(f"fit: parameter {n!r} is neither a model parameter nor a nuisance parameter "
                                    f"'<kind>_c<channel>' with kind {', '.join(NUISANCE_KINDS)} and channel "
                                    f"{', '.join(channels)}")
            kinds.append(kind)
        nuisance = tuple(dict.fromkeys(kinds))
        start = {n: float(base[n].value) for n in MODEL_PARAMETERS}
        vary = tuple(n for n in MODEL_PARAMETERS if base[n].vary and not base[n].expr)
        bounds = {n: (base[n].min, base[n].max) for n in base}
    else:
        if start is None:
            raise ProtocolError(f"fit: give start (all of {', '.join(MODEL_PARAMETERS)}) or params")
        missing = [n for n in MODEL_PARAMETERS if n not in start]
        if missing:
            raise ProtocolError(f"fit: start is missing {', '.join(missing)}: give all of "
                                f"{', '.join(MODEL_PARAMETERS)}")
        for n in vary:
            if n not in MODEL_PARAMETERS:
                raise ProtocolError(f"fit: vary = {n!r} is not a model parameter ({', '.join(MODEL_PARAMETERS)})")
        for kind in nuisance:
            if kind not in NUISANCE_KINDS:
                raise ProtocolError(f"fit: nuisance = {kind!r} is not allowed: one of "
                                    f"{', '.join(repr(k) for k in NUISANCE_KINDS)}")
        bounds = dict(bounds or {})
        bounds.setdefault("T", (1e-6, np.inf))
        bounds.setdefault("alpha", (0.0, 1.0))
        base = lmfit.Parameters()
        for n in MODEL_PARAMETERS:
            lo, hi = bounds.get(n, (-np.inf, np.inf))
            base.add(n, value=float(start[n]), vary=n in vary, min=lo, max=hi)
        for kind in nuisance:
            for ch in channels:
                n = nuisance_name(kind, ch)
                lo, hi = bounds.get(n, (0.0, np.inf) if kind in FIT_NUISANCE_SCALES else (-np.inf, np.inf))
                base.add(n, value=float(start.get(n, NUISANCE_NEUTRAL[kind])), vary=True, min=lo, max=hi)
        for n, e in (exprs or {}).items():
            if n not in base:
                raise ProtocolError(f"fit: exprs names {n!r}, which is not a fitted parameter")
            base[n].set(expr=e)
    if "rf" in nuisance:
        forward._rf_setup()  # refuses finite pulses before anything runs
    windows = None if region_hz is None else SpectralWindows(forward, region_hz)

    def make_params(values: dict) -> lmfit.Parameters:
        ps = base.copy()
        for n, x in values.items():
            if n in ps and not ps[n].expr:
                ps[n].set(value=float(x))
        return ps

    weights = np.ones(len(channels))
    compressed = set(nuisance) <= {"phase", "amplitude"}
    if compressed:
        r_blocks, qy, const = forward.compress(data, windows)
        phase_names = [nuisance_name("phase", ch) for ch in channels]
        amp_names = [nuisance_name("amplitude", ch) for ch in channels]
    n_eval = [0]

    def model_coeffs(v):
        return np.concatenate([[1.0], forward.coefficients(_state(v) + forward.preparation_shift)])

    def compressed_residual(v):
        c = model_coeffs(v)
        ph = np.array([v.get(n, 0.0) for n in phase_names])
        amp = np.array([v.get(n, 1.0) for n in amp_names])
        return (amp[None, :, None] * np.einsum("kcij,j->kci", r_blocks, c)
                - np.exp(-1j * ph)[None, :, None] * qy)

    def residual(ps):
        n_eval[0] += 1
        v = ps.valuesdict()
        try:
            if compressed:
                rr = compressed_residual(v)
            else:
                rr = forward.fids(_state(v), v) - data
                rr = rr if windows is None else windows(rr)
        except Exception:  # noqa: BLE001 - an unphysical trial (e.g. overflow): a large residual, not a crash
            size = r_blocks.shape[0] * r_blocks.shape[1] * 16 if compressed else data.size
            return np.full(2 * size, 1e6)
        rr = rr * weights[None, :, None]
        return np.concatenate([rr.real.ravel(), rr.imag.ravel()])

    def full_chisqr_by_channel(ps):
        """χ² per channel of the full FID residual (unweighted)."""
        v = ps.valuesdict()
        if compressed:
            return np.sum(np.abs(compressed_residual(v)) ** 2, axis=(0, 2)) + const
        rr = forward.fids(_state(v), v) - data
        rr = rr if windows is None else windows(rr)
        return np.sum(np.abs(rr) ** 2, axis=(0, 2))

    def run(values):
        mini = lmfit.Minimizer(residual, make_params(values), nan_policy="raise", scale_covar=False)
        return mini.minimize(method="leastsq", xtol=1e-12, ftol=1e-12)

    # starting points: the given one + a seeded Latin hypercube around it
    starts = [dict(start)]
    free = [n for n in MODEL_PARAMETERS if n in vary]
    if n_starts > 1 and free:
        lhs = qmc.LatinHypercube(d=len(free), seed=seed).random(n_starts - 1)
        for row in lhs:
            s = dict(start)
            for n, u in zip(free, row):
                x0 = start[n]
                half = spread * abs(x0) if x0 != 0 else spread
                s[n] = x0 + (2 * u - 1) * half
                lo, hi = bounds.get(n, (-np.inf, np.inf))
                s[n] = float(np.clip(s[n], lo + 1e-12 if np.isfinite(lo) else lo, hi - 1e-12 if np.isfinite(hi) else hi))
            starts.append(s)
    # real values per channel (both quadratures of every FID point, or of every spectral point kept)
    n_points = 2 * len(forward.keys) * (forward.n_points if windows is None else windows.points)
    if sigma is None:
        first = run(starts[0])
        rms = np.sqrt(full_chisqr_by_channel(first.params) / n_points)
        sig = np.where(rms > 0, rms, 1.0)
        source = "residual"
    else:
        try:
            sig = np.array([float(sigma[ch]) if isinstance(sigma, dict) else float(sigma) for ch in channels])
        except (KeyError, TypeError, ValueError):
            raise ProtocolError(f"fit: sigma = {sigma!r:.80} is not allowed: give a number or a dict channel → "
                                f"number for {', '.join(channels)}") from None
        if not np.all(np.isfinite(sig) & (sig > 0)):
            raise ProtocolError(f"fit: sigma = {sigma!r:.80} is not allowed: every σ must be finite and > 0")
        source = "given"
    weights = 1.0 / sig
    results = [run(s) for s in starts]
    best = int(np.argmin([r.chisqr for r in results]))
    r = results[best]
    n_vary = sum(p.vary for p in r.params.values())
    chisqr = float(np.sum(full_chisqr_by_channel(r.params) * weights**2))
    redchi = chisqr / max(1, int(np.sum(np.broadcast_to(n_points, (len(channels),)))) - n_vary)
    values = {n: float(p.value) for n, p in r.params.items()}
    stderr = {n: (None if p.stderr is None or not np.isfinite(p.stderr) else float(p.stderr))
              for n, p in r.params.items() if p.vary}
    corr = {}
    warns = []
    varied = tuple(n for n, p in r.params.items() if p.vary)
    nulls, effect = _null_directions(residual, r.params, varied)
    in_null = set()
    basis = np.array([v for v, _ in nulls]) if nulls else np.zeros((0, len(varied)))  # orthonormal rows
    # the derived scale symmetry (docs/identifiability.md): ζ depends on H/T only
    energy = [n for n in varied if n in ("B", "D", "G", "Delta", "epsilon", "T")]
    if "T" in energy and len(energy) > 1 and basis.size:
        # dp_i = p_i for the energies and T, in the normalised coordinates w_i = ‖∂r/∂p_i‖ dp_i
        u = np.array([r.params[n].value * effect[i] if n in energy else 0.0 for i, n in enumerate(varied)])
        u /= np.linalg.norm(u) if np.linalg.norm(u) > 0 else 1.0
        if np.linalg.norm(basis @ u) > 1 - 1e-3:  # u lies in the null space
            parts = [n for n, x in zip(varied, u) if abs(x) > 1e-9]
            in_null |= set(parts)
            warns.append(f"parameters {', '.join(repr(n) for n in parts)} are not determined separately: ζ depends on "
                         "H/T only, so scaling every energy parameter and T together leaves the data unchanged "
                         "(fix T, or one energy parameter)")
            basis = basis - np.outer(basis @ u, u)
            w, sv, vt = np.linalg.svd(basis, full_matrices=False) if basis.size else (None, np.zeros(0), None)
            basis = vt[sv > 0.5] if sv.size else basis[:0]  # the orthonormal rest of the null space
    for vec in basis:
        parts = {n: x for n, x in zip(varied, vec) if abs(x) > 0.05}
        in_null |= set(parts)
        if len(parts) == 1:
            warns.append(f"parameter {next(iter(parts))!r} is not determined: the data do not change with it")
            continue
        combo = " ".join(f"{x:+.3f}·d{n}" for n, x in parts.items())
        warns.append(f"parameters {', '.join(repr(n) for n in parts)} are not determined separately: the data do not "
                     f"change along the direction {combo} (each parameter in units of its effect on the data; "
                     f"singular value of the normalised Jacobian < {NULL_RTOL:g})")
    for n in varied:
        if stderr[n] is None and n not in in_null:
            warns.append(f"parameter {n!r}: no standard error could be computed (the data do not determine it: "
                         "a flat direction of the χ² surface)")
        for m, c in (r.params[n].correl or {}).items():
            corr[(n, m)] = float(c)
            if n < m and abs(c) > CORRELATION_WARN and not (n in in_null and m in in_null):
                warns.append(f"parameters {n!r} and {m!r}: correlation {c:+.3f} exceeds {CORRELATION_WARN}: the data "
                             "hardly separate them")
    # discrete ambiguities (sign flips, α partners) are invisible to a local
    # Jacobian: ask the derived symmetries of this data set (docs/identifiability.md)
    model_varied = tuple(n for n in varied if n in MODEL_PARAMETERS)
    if model_varied:
        from nmrqb.identifiability import symmetries
        from nmrqb.model import DipolarModel

        ex = forward.experiment
        try:
            fitted = DipolarModel(**{n: values[n] for n in ("B", "D", "G", "Delta", "epsilon")})
            degs = symmetries(fitted, values["T"], values["alpha"], readouts=list(ex.readout.names),
                              omega_t=ex.charging.omega_t, vary=model_varied,
                              alpha_max=float(min(1.0, r.params["alpha"].max)))
        except NmrqbError:
            degs = ()
        for d in degs:
            if d.kind in ("sign", "alpha-partner"):
                in_null |= set(d.parameters)
                warns.append(f"parameters {', '.join(repr(n) for n in d.parameters)}: {d.combination} is not "
                             f"determined: {d.reason}")
            elif d.kind == "weak" and not set(d.parameters) <= in_null:
                warns.append(f"parameters {', '.join(repr(n) for n in d.parameters)}: {d.combination} is weakly "
                             f"determined: {d.reason}")
    if r.covar is None and varied and not nulls:
        warns.append("no covariance: " + ", ".join(repr(n) for n in varied) + " have no standard errors (the "
                     "Jacobian is singular: some combination of them is not determined by the data)")
    return FitResult(values, stderr, corr, redchi, tuple(dict.fromkeys(warns)), r, len(starts), best, varied,
                     tuple(n for n in varied if n in in_null), {ch: float(x) for ch, x in zip(channels, sig)},
                     source, n_eval[0], None if windows is None else windows.region_hz)


# ============================================================================
# fitting a protocol's experiment to recorded data (`nmrqb fit`)
# ============================================================================
FIT_FORMAT = "nmrqb.fit/1"


def read_fit_data(folder, experiment) -> np.ndarray:
    """The recorded FIDs of ``experiment`` from ``folder``: the output folder
    of ``nmrqb run`` (its ``bruker/``) or a folder of Bruker data sets with a
    ``manifest.json`` (format ``nmrqb.bruker-manifest/1``: ``omega_t`` and
    ``datasets`` = [{expno, readout, channel}], rows following Ωt; or one
    data set per readout and Ωt, each entry with ``omega_t_index``).  Every
    data set is checked against the protocol (points, dwell/spectral width,
    nucleus, carrier); a mismatch is a one-line DataError naming the file.
    Returns (keys, channels, N) in :class:`ForwardModel` order."""
    import json
    from pathlib import Path

    import pulses
    from nmrqb.errors import DataError
    from nmrqb.run import MANIFEST_FORMAT

    root = Path(folder)
    mpath = next((p for p in (root / "bruker" / "manifest.json", root / "manifest.json") if p.is_file()), None)
    if mpath is None:
        raise DataError(f"DATA {str(root)!r}: no manifest.json (neither {root / 'bruker'}/ nor {root}/ holds one): "
                        "give the output folder of `nmrqb run` or a folder of Bruker data sets with a manifest")
    try:
        manifest = json.loads(mpath.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataError(f"{mpath}: cannot read the manifest: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
        raise DataError(f"{mpath}: format = {manifest.get('format') if isinstance(manifest, dict) else manifest!r:.60} "
                        f"is not allowed: {MANIFEST_FORMAT!r}")
    omega = np.asarray(manifest.get("omega_t", []), dtype=float)
    want = experiment.charging.omega_t
    if omega.shape != want.shape or not np.allclose(omega, want, rtol=0, atol=1e-12):
        raise DataError(f"{mpath}: omega_t = {omega.tolist()!r:.80} does not match the protocol's Ωt "
                        f"({want.tolist()!r:.80})")
    system = experiment.platform.system
    acq = experiment.readout.acquire
    channels = tuple(system.channels)
    keys = [(k, r) for k in range(len(want)) for r in experiment.readout.names]
    out = np.full((len(keys), len(channels), acq.points), np.nan + 0j)
    seen = set()
    for entry in manifest.get("datasets", []):
        try:
            expno, r, ch = int(entry["expno"]), str(entry["readout"]), str(entry["channel"])
        except (KeyError, TypeError, ValueError):
            raise DataError(f"{mpath}: dataset entry {entry!r:.80} needs expno, readout and channel") from None
        if r not in experiment.readout.names or ch not in channels:
            continue  # data the protocol does not use
        path = mpath.parent / str(expno)
        fid = pulses.read_bruker(path)
        rows = np.atleast_2d(fid.data)
        # a series (rows follow Ωt) or one FID of one Ωt ("omega_t_index": k)
        single = entry.get("omega_t_index") if isinstance(entry, dict) else None
        if single is not None:
            if isinstance(single, bool) or not isinstance(single, int) or not 0 <= single < len(want):
                raise DataError(f"{mpath}: omega_t_index = {single!r:.40} of data set {expno} is not allowed: "
                                f"an index 0..{len(want) - 1} into omega_t")
            k_rows = [single]
        else:
            k_rows = list(range(len(want)))
        checks = [
            ("points", rows.shape[-1], acq.points),
            ("rows (Ωt values)", rows.shape[0], len(k_rows)),
            ("nucleus", fid.nucleus, ch),
        ]
        for what, got, exp in checks:
            if got != exp:
                raise DataError(f"{path}: {what} = {got!r} does not match the protocol ({exp!r})")
        if abs(fid.dwell_s - acq.dwell_s) > 1e-9 * acq.dwell_s:
            raise DataError(f"{path}: spectral width {1 / fid.dwell_s:.6g} Hz does not match the protocol's "
                            f"{1 / acq.dwell_s:.6g} Hz")
        sfo = system.carrier_mhz(ch)
        if abs(fid.sfo_mhz - sfo) > 1e-9 * sfo:
            raise DataError(f"{path}: carrier SFO1 = {fid.sfo_mhz:.9g} MHz does not match the platform's "
                            f"{sfo:.9g} MHz on {ch}")
        c = channels.index(ch)
        for row, k in enumerate(k_rows):
            if (k, r, ch) in seen:
                raise DataError(f"{path}: readout {r!r}, channel {ch!r}, Ωt index {k} is given twice in {mpath}")
            out[keys.index((k, r)), c] = rows[row]
            seen.add((k, r, ch))
    missing = [(k, r, ch) for k in range(len(want)) for r in experiment.readout.names for ch in channels
               if (k, r, ch) not in seen]
    if missing:
        raise DataError(f"{mpath}: no data for readout {missing[0][1]!r} on channel {missing[0][2]!r} at Ωt index "
                        f"{missing[0][0]} ({len(missing)} FIDs missing)")
    return out


@dataclass(frozen=True)
class FitRun:
    """A protocol fitted to recorded data (:func:`fit_protocol`)."""

    protocol: object
    experiment: object
    forward: ForwardModel
    data: np.ndarray
    result: FitResult
    truth: dict
    seconds: float
    n_evaluations: int

    def to_json(self) -> dict:
        """The document ``fit.json``."""
        from nmrqb.output import versions

        r = self.result
        conf = float(self.protocol.analysis.confidence)
        params = {}
        for n in r.varied:
            entry = {"value": r.values[n], "stderr": r.stderr.get(n), "protocol": self.truth.get(n),
                     "determined": n not in r.undetermined}
            if n not in r.undetermined and r.stderr.get(n) is not None:
                lo, hi = r.interval(n, conf)
                entry.update(ci_low=lo, ci_high=hi)
            params[n] = entry
        fixed = {n: r.values[n] for n in r.values if n not in r.varied}
        return {
            "format": FIT_FORMAT, "name": self.protocol.name, "protocol": self.protocol.to_dict(),
            "versions": versions(), "confidence": conf, "parameters": params, "fixed": fixed,
            "correlation": [{"a": a, "b": b, "value": v} for (a, b), v in r.correlation.items() if a < b],
            "redchi": r.redchi, "sigma": r.sigma, "sigma_source": r.sigma_source, "region_hz": r.region_hz,
            "warnings": list(r.warnings), "starts": r.starts, "best_start": r.best_start,
            "n_evaluations": self.n_evaluations, "seconds": self.seconds,
        }


def fids_array(experiment, fids: dict) -> np.ndarray:
    """(keys, channels, N) array of FIDs given as ``fids[(k, readout)][channel]``
    (what :func:`nmrqb.run.run_protocol` records), in :class:`ForwardModel` order."""
    channels = tuple(experiment.platform.system.channels)
    keys = [(k, r) for k in range(len(experiment.charging.omega_t)) for r in experiment.readout.names]
    return np.array([[np.asarray(fids[key][ch].data) for ch in channels] for key in keys])


def fit_protocol(protocol, data, *, progress: bool = False, sigma=None) -> FitRun:
    """Fit ``protocol``'s model to ``data`` (an array from
    :func:`read_fit_data`, or a folder): the experiment is translated from
    the protocol; its ``[fit]`` section (when present) gives the lmfit
    Parameters one-to-one (``Protocol.fit_parameters``).  ``sigma`` (per
    channel, per FID point and quadrature): default, for the output folder
    of ``nmrqb run``, the noise its ``results.json`` records
    (:func:`run_noise_sigma`), else estimated from the residual."""
    import time

    from nmrqb.protocol import at_key
    from nmrqb.translate import translate

    t0 = time.perf_counter()
    model, platform = protocol.model(), protocol.platform()
    with at_key(protocol, "preparation"):
        ex = translate(model, protocol.T, platform, **protocol.translate_kwargs())
    if sigma is None and not isinstance(data, np.ndarray):
        sigma = run_noise_sigma(data)
    if not isinstance(data, np.ndarray):
        data = read_fit_data(data, ex)
    fs = getattr(protocol, "fit", None)
    relax = protocol.acquisition.relaxation if fs is None or fs.relaxation is None else fs.relaxation
    forward = ForwardModel(ex, relaxation=relax)
    truth = {**model.as_dict(), "T": protocol.T, "alpha": ex.preparation.alpha}
    with at_key(protocol, "fit"):
        if fs is not None and hasattr(protocol, "fit_parameters"):
            # the [fit] section one-to-one: values, vary flags, bounds and ties of every parameter
            res = fit_fids(forward, data, params=protocol.fit_parameters(ex.preparation.alpha, forward.channels),
                           sigma=sigma, n_starts=fs.starts, spread=fs.spread, seed=fs.seed, region_hz=fs.region_hz)
        else:
            res = fit_fids(forward, data, dict(truth), vary=("B", "D", "G", "Delta", "epsilon", "alpha"),
                           nuisance=("phase",), sigma=sigma, n_starts=8, spread=0.3, seed=0)
    return FitRun(protocol, ex, forward, data, res, truth, time.perf_counter() - t0, res.n_evaluations)


def run_noise_sigma(folder) -> dict | None:
    """The noise σ per FID point and quadrature of the recorded FIDs in the
    output folder of ``nmrqb run`` (``noise_sigma_recorded`` of its
    ``results.json``), or None when ``folder`` holds no such record (or the
    run added no noise: then the data carry none to measure σ against)."""
    import json
    import math
    from pathlib import Path

    path = Path(folder) / "results.json"
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        acq = doc.get("protocol", {}).get("acquisition", {})
        if acq.get("noise", True) is False:
            return None
        if "noise_sigma_recorded" in doc:
            out = {str(ch): float(v) for ch, v in doc["noise_sigma_recorded"].items()}
        else:  # an older run: one average over every scan
            scans = int(acq.get("scans", 1))
            out = {str(ch): float(v) / math.sqrt(scans) for ch, v in doc["noise_sigma_per_scan"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    return out if out and all(math.isfinite(v) and v > 0 for v in out.values()) else None


def write_fit(fitrun: FitRun, out_dir, *, force: bool = False) -> dict:
    """Write ``fit.json`` and ``fit.html`` to ``out_dir`` (staged, like a run)."""
    import json
    from pathlib import Path

    from nmrqb.output import staged_run_dir
    from nmrqb.report import render_fit_report

    out = Path(out_dir)
    with staged_run_dir(out, force) as stage:
        doc = fitrun.to_json()
        with open(stage / "fit.json", "w", encoding="utf-8") as fh:
            json.dump(doc, fh, indent=1, allow_nan=False, default=lambda x: None)
            fh.write("\n")
        (stage / "fit.html").write_text(render_fit_report(fitrun, doc), encoding="utf-8")
        (stage / "protocol.toml").write_text(fitrun.protocol.to_toml(), encoding="utf-8")
    return {"folder": out, "json": out / "fit.json", "html": out / "fit.html"}
