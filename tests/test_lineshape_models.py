"""pulses.lineshapes: the lineshapes as lmfit models (LorentzianLine, VoigtLine).

What is pinned here:

* the exact models are what pulses.processing.fft makes of a sampled line
  (the closed-form DTFT of a Lorentzian; the FFT, or the directly summed
  DTFT off the FFT grid, of a Voigt), and line_shape is the complex model;
* each model's guess() followed by an lmfit fit recovers a noiseless
  synthetic line to 1e-9, exact and continuous, real and complex amplitude;
* sums of models with prefixes, fixed parameters, bounds (including the
  negative width bound of the exact model) and expr ties work through them;
* fit_lines is a fit of these models: a direct Model fit built the same way
  gives the identical numbers.
"""

from __future__ import annotations

import math

import lmfit
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pulses.amplitudes import fit_lines
from pulses.errors import DataError, PulsesError
from pulses.fid import FID
from pulses.lineshapes import (
    LINE_MODELS,
    LorentzianLine,
    VoigtLine,
    line_shape,
    lorentzian_line,
    lorentzian_line_complex,
    voigt_line,
    voigt_line_complex,
)
from pulses.processing import apodize, fft, zero_fill
from pulses.spectrum import Spectrum

SW = 2000.0  # Hz
DW = 1.0 / SW
N_ACQ = 512
SFO, BF = 400.13, 400.0
LN2 = math.log(2.0)
TIGHT = {"xtol": 1e-12, "ftol": 1e-12}


def sampled(components, n=N_ACQ):
    """Σ a·exp(2πiνt − πΓ_L t − (πΓ_G t)²/(4 ln 2)) for (a, ν, Γ_L[, Γ_G])."""
    t = np.arange(n) * DW
    out = np.zeros(n, dtype=complex)
    for c in components:
        a, nu, gl = c[:3]
        gg = c[3] if len(c) > 3 else 0.0
        out += a * np.exp(2j * np.pi * nu * t - np.pi * gl * t - (np.pi * gg * t) ** 2 / (4 * LN2))
    return out


def spectrum_of(components, n_fill=2048):
    return fft(zero_fill(FID(sampled(components), DW, SFO, BF), n_fill))


def dtft(x, hz):
    """Reference: 2Δ · Σ_m x_m exp(−2πi f m Δ), first point halved."""
    x = np.array(x, dtype=complex)
    x[0] *= 0.5
    t = np.arange(x.size) * DW
    return 2 * DW * np.exp(-2j * np.pi * np.outer(hz, t)) @ x


def rel(x, y):
    return float(np.max(np.abs(np.asarray(x) - np.asarray(y))) / np.max(np.abs(y)))


def values(result, prefix=""):
    return {k[len(prefix):]: p.value for k, p in result.params.items() if k.startswith(prefix)}


# --------------------------------------------------------------------------
# the models are the lineshapes of the processed data
# --------------------------------------------------------------------------
@pytest.mark.parametrize("fwhm", [6.0, 0.0, -0.7])  # damped, undamped, growing
def test_exact_lorentzian_is_the_fft_of_the_sampled_line(fwhm):
    a, nu = 0.7 * np.exp(0.4j), 312.3
    s = spectrum_of([(a, nu, fwhm)])
    model = LorentzianLine.for_spectrum(s, complex_amplitude=True)
    assert model.exact and model.dwell_s == DW and model.n_acquired == N_ACQ
    got = model.eval(hz=s.hz, amp_re=a.real, amp_im=a.imag, center_hz=nu, fwhm_hz=fwhm)
    assert rel(got, s.values) < 1e-12
    # off any FFT grid too: the closed form is the DTFT at every frequency
    hz = np.linspace(-700.3, 811.9, 97)
    assert rel(lorentzian_line_complex(hz, a.real, a.imag, nu, fwhm, DW, N_ACQ), dtft(sampled([(a, nu, fwhm)]), hz)) < 1e-11
    # the real model is the real part
    real = LorentzianLine.for_spectrum(s).eval(hz=s.hz, amplitude=0.3, center_hz=nu, fwhm_hz=fwhm)
    assert rel(real, lorentzian_line_complex(s.hz, 0.3, 0.0, nu, fwhm, DW, N_ACQ).real) < 1e-15


def test_exact_voigt_is_the_fft_on_the_grid_and_the_dtft_off_it():
    a, nu, gl, gg = -0.5 + 0.2j, -420.0, 3.0, 9.0
    s = fft(zero_fill(apodize(FID(sampled([(a, nu, gl)]), DW, SFO, BF), "gaussian", gb_hz=gg), 2048))
    model = VoigtLine.for_spectrum(s, complex_amplitude=True)
    assert model.exact
    args = {"amp_re": a.real, "amp_im": a.imag, "center_hz": nu, "fwhm_hz": gl, "gauss_fwhm_hz": gg}
    assert rel(model.eval(hz=s.hz, **args), s.values) < 1e-12
    # a region keeps the grid; an arbitrary axis is summed directly
    reg = s.region(nu - 100, nu + 100)
    assert rel(model.eval(hz=reg.hz, **args), reg.values) < 1e-12
    hz = np.linspace(-613.7, -250.2, 41)
    assert rel(model.eval(hz=hz, **args), dtft(sampled([(a, nu, gl, gg)]), hz)) < 1e-11
    assert rel(voigt_line(hz, 0.4, nu, gl, gg, DW, N_ACQ), voigt_line_complex(hz, 0.4, 0.0, nu, gl, gg, DW, N_ACQ).real) \
        < 1e-15


def test_line_shape_is_the_complex_model():
    s = spectrum_of([(1.0, 10.0, 4.0)])
    hand = Spectrum(s.values, s.hz, SFO, BF)  # no acquisition: continuous
    for spec in (s, hand):
        for cls, extra in ((LorentzianLine, {}), (VoigtLine, {"gauss_fwhm_hz": 3.0})):
            model = cls.for_spectrum(spec, complex_amplitude=True)
            assert model.exact == (spec is s)
            want = line_shape(spec, 12.5, 4.0, 0.3 - 0.2j, **extra)
            got = model.eval(hz=spec.hz, amp_re=0.3, amp_im=-0.2, center_hz=12.5, fwhm_hz=4.0, **extra)
            np.testing.assert_array_equal(got, want)


def test_continuous_profiles_have_the_line_integral_as_amplitude():
    hz = np.linspace(-4000, 4000, 400001)
    df = hz[1] - hz[0]
    lor = lorentzian_line(hz, 0.25, 3.0, 2.0)
    # ±4000 Hz holds the fraction (2/π)·atan(2·4000/Γ) of a Lorentzian's area
    assert np.sum(lor) * df == pytest.approx(0.25 * 2 / np.pi * math.atan(8000 / 2.0), rel=1e-6)
    voi = voigt_line(hz, 0.25, 3.0, 0.0, 5.0)  # Γ_L = 0: a pure Gaussian, all of it inside
    assert np.sum(voi) * df == pytest.approx(0.25, rel=1e-9)


def test_for_spectrum_chooses_exact_only_when_it_applies():
    s = spectrum_of([(1.0, 0.0, 5.0)])
    off = Spectrum(s.values[::8], s.hz[::8], SFO, BF, dwell_s=DW, n_acquired=N_ACQ)  # a grid of 256 < n points
    assert LorentzianLine.for_spectrum(off).exact
    assert not VoigtLine.for_spectrum(off).exact
    assert LINE_MODELS == {"lorentzian": LorentzianLine, "voigt": VoigtLine}
    assert LorentzianLine().param_names == ["amplitude", "center_hz", "fwhm_hz"]
    assert VoigtLine(complex_amplitude=True, prefix="v_").param_names == [
        "v_amp_re", "v_amp_im", "v_center_hz", "v_fwhm_hz", "v_gauss_fwhm_hz"]


def test_models_pickle_with_their_options():
    # module-level model functions: a model can go to a worker process
    import pickle

    for model in (LorentzianLine(DW, N_ACQ, complex_amplitude=True, prefix="a_", fwhm_min_hz=-1.0), VoigtLine()):
        back = pickle.loads(pickle.dumps(model))
        assert type(back) is type(model) and back.param_names == model.param_names
        assert (back.exact, back.dwell_s, back.n_acquired, back.fwhm_min_hz) == (
            model.exact, model.dwell_s, model.n_acquired, model.fwhm_min_hz)
        hz = np.linspace(-50.0, 50.0, 11)
        np.testing.assert_array_equal(back.eval(back.make_params(), hz=hz), model.eval(model.make_params(), hz=hz))


# --------------------------------------------------------------------------
# guess + fit recovers a noiseless line exactly
# --------------------------------------------------------------------------
A, NU, GL, GG = 0.7 * np.exp(0.4j), 312.3, 6.0, 8.0


def case(kind: str, complex_amplitude: bool):
    """(model, data, hz, truth) for one noiseless synthetic line."""
    amp = A if complex_amplitude else abs(A)
    if kind == "lorentzian-exact":
        s = spectrum_of([(A, NU, GL)])
        truth = {"center_hz": NU, "fwhm_hz": GL}
        model = LorentzianLine.for_spectrum(s, complex_amplitude=complex_amplitude)
    elif kind == "voigt-exact":
        s = spectrum_of([(A, NU, GL, GG)])
        truth = {"center_hz": NU, "fwhm_hz": GL, "gauss_fwhm_hz": GG}
        model = VoigtLine.for_spectrum(s, complex_amplitude=complex_amplitude)
    elif kind == "voigt-exact-off-grid":
        hz = np.linspace(NU - 80.3, NU + 80.3, 151)
        s = Spectrum(dtft(sampled([(A, NU, GL, GG)]), hz), hz, SFO, BF, dwell_s=DW, n_acquired=N_ACQ)
        truth = {"center_hz": NU, "fwhm_hz": GL, "gauss_fwhm_hz": GG}
        model = VoigtLine(DW, N_ACQ, complex_amplitude=complex_amplitude)
    elif kind == "lorentzian-continuous":
        hz = np.linspace(0, 600, 1201)
        s = Spectrum(lorentzian_line_complex(hz, A.real, A.imag, NU, GL), hz, SFO, BF)
        truth = {"center_hz": NU, "fwhm_hz": GL}
        model = LorentzianLine.for_spectrum(s, complex_amplitude=complex_amplitude)
    else:
        hz = np.linspace(0, 600, 1201)
        s = Spectrum(voigt_line_complex(hz, A.real, A.imag, NU, GL, GG), hz, SFO, BF)
        truth = {"center_hz": NU, "fwhm_hz": GL, "gauss_fwhm_hz": GG}
        model = VoigtLine.for_spectrum(s, complex_amplitude=complex_amplitude)
    assert model.exact == ("exact" in kind)
    if not complex_amplitude:  # a real amplitude fits the absorption of a phased spectrum
        s = s.phase(-np.degrees(np.angle(A)))
        truth["amplitude"] = amp
    else:
        truth.update(amp_re=amp.real, amp_im=amp.imag)
    return model, s, truth


KINDS = ["lorentzian-exact", "voigt-exact", "voigt-exact-off-grid", "lorentzian-continuous", "voigt-continuous"]


@pytest.mark.parametrize("complex_amplitude", [True, False])
@pytest.mark.parametrize("kind", KINDS)
def test_guess_and_fit_recover_a_noiseless_line_exactly(kind, complex_amplitude):
    model, s, truth = case(kind, complex_amplitude)
    params = model.guess(s.values, s.hz)  # every starting value from the data
    data = s.values if complex_amplitude else s.values.real
    result = model.fit(data, params, hz=s.hz, fit_kws=TIGHT)
    got = values(result)
    for name, want in truth.items():
        scale = abs(A) if name.startswith("amp") else (GL if name == "center_hz" else abs(want))
        assert abs(got[name] - want) / scale < 1e-9, (name, got[name], want)
    assert result.success


def test_guess_estimates_and_bounds():
    s = spectrum_of([(A, NU, GL)])
    df = s.spacing_hz
    p = LorentzianLine.for_spectrum(s, complex_amplitude=True).guess(s.values, s.hz)
    assert p["center_hz"].value == pytest.approx(NU, abs=df)
    assert (p["center_hz"].min, p["center_hz"].max) == (s.hz[0], s.hz[-1])
    assert p["fwhm_hz"].value == pytest.approx(GL, rel=0.5)
    assert abs(complex(p["amp_re"].value, p["amp_im"].value) - A) < 0.3 * abs(A)
    assert p["fwhm_hz"].min == 0.0  # the exact Lorentzian is defined down to zero width
    # continuous models and the Voigt: 1e-3 × the point spacing
    hand = Spectrum(s.values, s.hz, SFO, BF)
    assert LorentzianLine.for_spectrum(hand).guess(hand.values, hand.hz)["fwhm_hz"].min == pytest.approx(1e-3 * df)
    pv = VoigtLine.for_spectrum(s).guess(s.values, s.hz)
    assert pv["fwhm_hz"].min == pv["gauss_fwhm_hz"].min == pytest.approx(1e-3 * df)
    assert pv["fwhm_hz"].value == pytest.approx(pv["gauss_fwhm_hz"].value)  # half the width to each
    # fwhm_min_hz sets the hint and the guessed bound, negative for the exact model
    m = LorentzianLine.for_spectrum(s, fwhm_min_hz=-2.0)
    assert m.fwhm_min_hz == -2.0 and m.param_hints["fwhm_hz"]["min"] == -2.0
    assert m.make_params()["fwhm_hz"].min == -2.0
    assert m.guess(s.values, s.hz)["fwhm_hz"].min == -2.0
    assert VoigtLine(fwhm_min_hz=-1.0).param_hints["fwhm_hz"]["min"] == -1.0  # the Gaussian keeps it integrable
    # given starting values replace the estimates; the amplitude follows the width
    g = LorentzianLine.for_spectrum(s).guess(s.values, s.hz, center_hz=300.0, fwhm_hz=10.0)
    k = int(np.argmin(np.abs(s.hz - 300.0)))
    assert g["center_hz"].value == 300.0 and g["fwhm_hz"].value == 10.0
    assert g["amplitude"].value == pytest.approx(s.values[k].real * np.pi * 10.0 / 2)
    assert LorentzianLine().guess(s.values, s.hz, amplitude=2.5)["amplitude"].value == 2.5
    # real data is accepted by a complex-amplitude model
    pr = LorentzianLine.for_spectrum(s, complex_amplitude=True).guess(s.values.real, s.hz)
    assert pr["amp_im"].value == 0.0


# --------------------------------------------------------------------------
# lmfit features through the models
# --------------------------------------------------------------------------
def test_sum_of_lines_with_prefixes():
    comps = [(0.9 * np.exp(0.3j), -150.0, 3.0), (0.4 * np.exp(-1.1j), -130.0, 7.0), (-0.6 + 0.1j, 220.0, 2.0, 6.0)]
    s = spectrum_of(comps)
    la = LorentzianLine.for_spectrum(s, complex_amplitude=True, prefix="a_")
    lb = LorentzianLine.for_spectrum(s, complex_amplitude=True, prefix="b_")
    vc = VoigtLine.for_spectrum(s, complex_amplitude=True, prefix="c_")
    model = la + lb + vc
    assert isinstance(model, lmfit.model.CompositeModel) and len(model.components) == 3
    params = la.guess(s.values, s.hz, center_hz=-152.0)
    params.update(lb.guess(s.values, s.hz, center_hz=-128.0))
    params.update(vc.guess(s.values, s.hz, center_hz=221.0))
    result = model.fit(s.values, params, hz=s.hz, fit_kws=TIGHT)
    for prefix, (a, nu, gl, *gg) in zip("abc", comps):
        got = values(result, prefix + "_")
        assert abs(complex(got["amp_re"], got["amp_im"]) - a) < 1e-9 * abs(a)
        assert got["center_hz"] == pytest.approx(nu, abs=1e-9)
        assert got["fwhm_hz"] == pytest.approx(gl, rel=1e-9)
        if gg:
            assert got["gauss_fwhm_hz"] == pytest.approx(gg[0], rel=1e-9)
    parts = result.eval_components(hz=s.hz)
    assert set(parts) == {"a_", "b_", "c_"}
    assert rel(sum(parts.values()), s.values) < 1e-10


def test_fixed_parameters():
    s = spectrum_of([(A, NU, GL)])
    model = LorentzianLine.for_spectrum(s, complex_amplitude=True)
    params = model.guess(s.values, s.hz)
    params["center_hz"].set(value=NU, vary=False)  # a known shift
    result = model.fit(s.values, params, hz=s.hz, fit_kws=TIGHT)
    assert result.nvarys == 3 and result.params["center_hz"].value == NU
    assert abs(complex(result.params["amp_re"].value, result.params["amp_im"].value) - A) < 1e-9
    # fixed at a wrong value it stays there, and the fit is no longer exact
    params["center_hz"].set(value=NU + 0.5, vary=False)
    off = model.fit(s.values, params, hz=s.hz, fit_kws=TIGHT)
    assert off.params["center_hz"].value == NU + 0.5 and off.chisqr > 1e-6


def test_bounds_including_negative_widths_of_the_exact_model():
    # a growing line (negative width): the exact model follows it below zero
    s = spectrum_of([(A, NU, -0.5)])
    free = LorentzianLine.for_spectrum(s, complex_amplitude=True, fwhm_min_hz=-2.0)
    r = free.fit(s.values, free.guess(s.values, s.hz), hz=s.hz, fit_kws=TIGHT)
    assert r.params["fwhm_hz"].value == pytest.approx(-0.5, abs=1e-9)
    assert abs(complex(r.params["amp_re"].value, r.params["amp_im"].value) - A) < 1e-9
    # the default bound (0) holds it at zero
    held = LorentzianLine.for_spectrum(s, complex_amplitude=True)
    r0 = held.fit(s.values, held.guess(s.values, s.hz), hz=s.hz, fit_kws=TIGHT)
    assert r0.params["fwhm_hz"].value == pytest.approx(0.0, abs=1e-6)
    # an upper bound below the truth is where the fit ends
    line = spectrum_of([(A, NU, GL)])
    params = held.guess(line.values, line.hz)
    params["fwhm_hz"].set(value=3.0, max=4.0)
    rb = held.fit(line.values, params, hz=line.hz)
    assert rb.params["fwhm_hz"].value == pytest.approx(4.0, abs=1e-6)


def test_expression_ties():
    # an antiphase J doublet: one width, opposite amplitudes, centers J apart
    j, nu0, gl = 7.0, 150.0, 1.5
    a = 0.6 * np.exp(0.2j)
    s = spectrum_of([(a, nu0 - j / 2, gl), (-a, nu0 + j / 2, gl)], n_fill=4096)
    m1 = LorentzianLine.for_spectrum(s, complex_amplitude=True, prefix="d1_")
    m2 = LorentzianLine.for_spectrum(s, complex_amplitude=True, prefix="d2_")
    params = m1.guess(s.values, s.hz, center_hz=nu0 - 4)
    params.update(m2.guess(s.values, s.hz, center_hz=nu0 + 4))
    params["d2_fwhm_hz"].set(expr="d1_fwhm_hz")
    params["d2_amp_re"].set(expr="-d1_amp_re")
    params["d2_amp_im"].set(expr="-d1_amp_im")
    params.add("J_hz", value=6.0, min=0)
    params["d2_center_hz"].set(expr="d1_center_hz + J_hz")
    result = (m1 + m2).fit(s.values, params, hz=s.hz, fit_kws=TIGHT)
    assert result.nvarys == 5  # d1: amp_re, amp_im, center, width; J
    p = result.params
    assert p["J_hz"].value == pytest.approx(j, abs=1e-9)
    assert p["d1_center_hz"].value == pytest.approx(nu0 - j / 2, abs=1e-9)
    assert p["d2_fwhm_hz"].value == p["d1_fwhm_hz"].value == pytest.approx(gl, rel=1e-9)
    assert abs(complex(p["d2_amp_re"].value, p["d2_amp_im"].value) + a) < 1e-9
    assert p["d2_amp_re"].stderr is not None  # propagated through the tie


def test_weights_and_nan_policy_are_lmfits():
    s = spectrum_of([(A, NU, GL)])
    model = LorentzianLine.for_spectrum(s, complex_amplitude=True, nan_policy="omit")
    r = model.fit(s.values, model.guess(s.values, s.hz), hz=s.hz, weights=np.full(s.n_points, 1e3), fit_kws=TIGHT,
                  scale_covar=False)
    assert abs(complex(r.params["amp_re"].value, r.params["amp_im"].value) - A) < 1e-9


# --------------------------------------------------------------------------
# fit_lines is a fit of these models
# --------------------------------------------------------------------------
def direct_fit(spec, centers, shape, complex_amplitudes, same_width=False, vary_centers=True, noise_rms=None,
               fwhm_min_hz=None):
    """What fit_lines documents, written with the public models."""
    model, params = None, lmfit.Parameters()
    for i, c in enumerate(centers):
        m = LINE_MODELS[shape].for_spectrum(spec, complex_amplitude=complex_amplitudes, prefix=f"l{i}_",
                                            fwhm_min_hz=fwhm_min_hz)
        model = m if model is None else model + m
        p = m.guess(spec.values, spec.hz, center_hz=c)
        p[f"l{i}_center_hz"].set(vary=vary_centers)
        params.update(p)
        if same_width and i > 0:
            for name in ("fwhm_hz", "gauss_fwhm_hz") if shape == "voigt" else ("fwhm_hz",):
                params[f"l{i}_{name}"].set(min=-np.inf, max=np.inf, expr=f"l0_{name}")
    data = spec.values if complex_amplitudes else spec.values.real
    weights = None if noise_rms is None else np.full(spec.n_points, 1 / noise_rms)
    return model.fit(data, params, hz=spec.hz, weights=weights, scale_covar=noise_rms is None,
                     fit_kws={"xtol": 1e-10, "ftol": 1e-10})


@pytest.mark.parametrize(
    "shape, complex_amplitudes, options",
    [
        ("lorentzian", True, {}),
        ("lorentzian", False, {"same_width": True}),
        ("lorentzian", True, {"same_width": True, "noise_rms": 2e-3, "fwhm_min_hz": -1.0}),
        ("lorentzian", True, {"vary_centers": False}),
        ("voigt", True, {}),
        ("voigt", False, {"same_width": True}),
    ],
)
def test_fit_lines_equals_a_direct_model_fit(shape, complex_amplitudes, options):
    rng = np.random.default_rng(11)
    comps = [(0.8 * np.exp(0.3j), -40.0, 4.0, 3.0), (0.5 * np.exp(-0.9j), -25.0, 4.0, 3.0)]
    data = sampled(comps) + 2e-3 * (rng.standard_normal(N_ACQ) + 1j * rng.standard_normal(N_ACQ))
    s = fft(zero_fill(FID(data, DW, SFO, BF), 1024)).region(-150, 90)
    centers = [-41.0, -24.0]
    fit = fit_lines(s, centers, shape, complex_amplitudes=complex_amplitudes, **options)
    ref = direct_fit(s, centers, shape, complex_amplitudes, **options)
    assert type(fit.result.model.components[0]) is LINE_MODELS[shape]
    assert fit.exact == fit.result.model.components[0].exact
    assert list(fit.result.params) == list(ref.params) and fit.result.var_names == ref.var_names
    for name, p in ref.params.items():
        q = fit.result.params[name]
        assert (q.value, q.stderr, q.min, q.max, q.vary, q.expr) == (p.value, p.stderr, p.min, p.max, p.vary, p.expr)
    assert fit.result.chisqr == ref.chisqr and fit.result.nfev == ref.nfev
    np.testing.assert_array_equal(fit.result.covar, ref.covar)
    amp = [complex(ref.params[f"l{i}_amp_re"].value, ref.params[f"l{i}_amp_im"].value) if complex_amplitudes
           else ref.params[f"l{i}_amplitude"].value for i in range(2)]
    np.testing.assert_array_equal(fit.amplitude, amp)


# --------------------------------------------------------------------------
# bad options and inputs are DataErrors naming the field
# --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "make, field",
    [
        (lambda: LorentzianLine(DW), "n_acquired"),
        (lambda: LorentzianLine(None, 512), "dwell_s"),
        (lambda: LorentzianLine(-1.0, 512), "dwell_s"),
        (lambda: LorentzianLine(DW, 0), "n_acquired"),
        (lambda: LorentzianLine(DW, 2.5), "n_acquired"),
        (lambda: VoigtLine(DW, 10**12), "n_acquired"),
        (lambda: LorentzianLine(DW, 10**400), "n_acquired"),
        (lambda: LorentzianLine(complex_amplitude="yes"), "complex_amplitude"),
        (lambda: LorentzianLine(fwhm_min_hz=-1.0), "fwhm_min_hz"),  # ≤ 0 needs the exact model
        (lambda: LorentzianLine(fwhm_min_hz=float("nan")), "fwhm_min_hz"),
        (lambda: LorentzianLine(prefix="0a"), "prefix"),
        (lambda: LorentzianLine(prefix=3), "prefix"),
        (lambda: LorentzianLine(nan_policy="ignore"), "nan_policy"),
        (lambda: LorentzianLine(independent_vars=["x"]), "independent_vars"),
        (lambda: LorentzianLine.for_spectrum(np.zeros(4)), "spectrum"),
    ],
)
def test_model_options_are_checked(make, field):
    with pytest.raises(DataError, match=field):
        make()


@pytest.mark.parametrize(
    "data, hz, kws, words",
    [
        (np.ones(5), np.arange(4.0), {}, "one size"),
        (np.ones(1), np.arange(1.0), {}, "≥ 2 points"),
        (np.ones((2, 3)), np.arange(3.0), {}, "1-D"),
        (np.ones(3), np.array([0.0, 2.0, 1.0]), {}, "ascending"),
        (np.array([1.0, np.nan, 1.0]), np.arange(3.0), {}, "finite"),
        (["a", "b"], np.arange(2.0), {}, "data"),
        (np.ones(3), np.arange(3.0), {"sigma": 1.0}, "unknown field"),
        (np.ones(3), np.arange(3.0), {"center_hz": 5.0}, "outside"),
        (np.ones(3), np.arange(3.0), {"fwhm_hz": -1.0}, "fwhm_hz"),
        (np.full(3, 1e308), np.arange(3.0) * 1e10, {}, "too large"),
    ],
)
def test_guess_inputs_are_checked(data, hz, kws, words):
    with pytest.raises(DataError, match=words):
        LorentzianLine().guess(data, hz, **kws)


json_like = st.recursive(
    st.none() | st.booleans() | st.integers(-10, 10) | st.sampled_from([2**40, 10**400, 1e308, 5e-324, -1, 0])
    | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=4),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=2),
    max_leaves=6,
)
FIELDS = ["dwell_s", "n_acquired", "complex_amplitude", "fwhm_min_hz", "prefix", "nan_policy"]
GUESS = ["data", "hz", "center_hz", "fwhm_hz", "amplitude"]


def only_pulses_errors(fn):
    try:
        return fn()
    except PulsesError as exc:
        assert str(exc) and "\n" not in str(exc)
        return None


@settings(max_examples=150, deadline=15000, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["LorentzianLine", "VoigtLine"]), st.sampled_from(FIELDS), json_like)
def test_fuzz_model_options(name, field, value):
    cls = {"LorentzianLine": LorentzianLine, "VoigtLine": VoigtLine}[name]
    base = {"dwell_s": DW, "n_acquired": 64, "complex_amplitude": False, "fwhm_min_hz": None, "prefix": "p_",
            "nan_policy": "raise"}
    base[field] = value
    model = only_pulses_errors(lambda: cls(base.pop("dwell_s"), base.pop("n_acquired"), **base))
    if model is not None:  # whatever was accepted gives a finite line
        assert np.all(np.isfinite(model.eval(model.make_params(), hz=np.linspace(-900.0, 900.0, 7))))


@settings(max_examples=150, deadline=15000, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(GUESS), json_like)
def test_fuzz_guess_inputs(field, value):
    s = spectrum_of([(1.0, 10.0, 5.0)], n_fill=512).region(-50, 70)
    args = {"data": s.values, "hz": s.hz}
    kws = {}
    (args if field in args else kws)[field] = value
    p = only_pulses_errors(lambda: LorentzianLine.for_spectrum(s).guess(args["data"], args["hz"], **kws))
    if p is not None:
        assert all(np.isfinite(q.value) for q in p.values())
