"""pulses.fid and pulses.spectra: the FID value, processing, noise at a
stated SNR, lineshape fits and integrals.

Analytic references (module docstring of pulses.spectra):
* the spectrum of a·exp(2πiνt − t/T2) is a line at +ν Hz whose integral is
  a, with Lorentzian FWHM 1/(πT2);
* the DFT of complex white noise of per-quadrature σ on n points, first
  point halved, has rms σ·sqrt(n − 3/4) per quadrature;
* a Lorentzian of FWHM Γ holds the fraction (2/π)·atan(2W/Γ) of its area
  within ±W of its centre.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from pulses.errors import DataError, PulsesError
from pulses.fid import FID, stack_fids
from pulses.spectra import (
    Spectrum,
    add_noise,
    apodize,
    fft,
    fit_lines,
    integrate,
    line_shape,
    measure_snr,
    noise_sigma,
    zero_fill,
)

SW = 4000.0  # Hz
DW = 1.0 / SW
SFO, BF = 400.13, 400.0  # MHz


def lines_fid(components, n=4096, dwell=DW, **kw) -> FID:
    """Σ a·exp(2πiνt − πΓt) for components (a, ν_hz, Γ_hz)."""
    t = np.arange(n) * dwell
    data = sum(a * np.exp(2j * np.pi * nu * t - np.pi * g * t) for a, nu, g in components)
    return FID(data, dwell, SFO, BF, **kw)


def rel(x, y):
    return float(np.max(np.abs(np.asarray(x) - np.asarray(y))) / np.max(np.abs(y)))


# --------------------------------------------------------------------------
# the FID value
# --------------------------------------------------------------------------
def test_fid_fields_and_derived_axes():
    f = FID([1, 2j, 3], 1e-3, 400.13, 400.0, nucleus="13C")
    assert f.data.dtype == np.complex128 and not f.data.flags.writeable
    assert f.n_points == 3 and not f.is_2d and f.n_rows == 1
    assert f.spectral_width_hz == pytest.approx(1000.0)
    np.testing.assert_allclose(f.time_s, [0, 1e-3, 2e-3])
    assert f.carrier_ppm == pytest.approx(0.13 / 400 * 1e6)
    assert f.channel == "13C"  # empty channel defaults to the nucleus
    g = FID(np.ones((2, 5)), 1e-3, 100.0)
    assert g.bf_mhz == 100.0 and g.carrier_ppm == 0.0 and g.is_2d and g.n_rows == 2
    assert g.row(1).data.shape == (5,)


def test_fid_copies_its_inputs():
    arr = np.ones(4, dtype=complex)
    md = {"seed": 1}
    f = FID(arr, 1e-3, 100.0, metadata=md)
    arr[0] = 7
    md["seed"] = 2
    assert f.data[0] == 1 and f.metadata["seed"] == 1


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"dwell_s": 0.0}, "FID.dwell_s = 0.0"),
        ({"dwell_s": -1e-3}, "FID.dwell_s = -0.001"),
        ({"dwell_s": float("nan")}, "FID.dwell_s = nan"),
        ({"sfo_mhz": 0}, "FID.sfo_mhz = 0"),
        ({"bf_mhz": float("inf")}, "FID.bf_mhz = inf"),
        ({"nucleus": "H"}, "FID.nucleus = 'H'"),
        ({"receiver_phase_deg": float("nan")}, "FID.receiver_phase_deg = nan"),
        ({"data": np.ones((2, 2, 2))}, "FID.data has shape (2, 2, 2)"),
        ({"data": []}, "FID.data has shape (0,)"),
        ({"data": [1, np.nan]}, "FID.data has a NaN or infinite value at index (1,)"),
        ({"metadata": {"a": object()}}, "FID.metadata must be JSON-serialisable"),
        ({"metadata": [1]}, "FID.metadata must be a dict"),
    ],
)
def test_fid_rejects_bad_fields(kwargs, field):
    args = {"data": [1, 2], "dwell_s": 1e-3, "sfo_mhz": 400.0}
    args.update(kwargs)
    with pytest.raises(DataError) as e:
        FID(**args)
    assert field in str(e.value)
    assert isinstance(e.value, PulsesError) and isinstance(e.value, ValueError)


def test_stack_fids_checks_rows_and_keeps_metadata():
    a = FID([1, 2], 1e-3, 400.0, metadata={"readout": "XI"}, receiver_phase_deg=90)
    b = FID([3, 4], 1e-3, 400.0, metadata={"readout": "YI"})
    s = stack_fids([a, b])
    assert s.data.shape == (2, 2) and s.receiver_phase_deg == 0.0
    assert s.metadata["rows"][0] == {"readout": "XI", "receiver_phase_deg": 90.0}
    with pytest.raises(DataError, match="FID 1 has dwell_s = 0.002 but FID 0 has 0.001"):
        stack_fids([a, FID([3, 4], 2e-3, 400.0)])
    with pytest.raises(DataError, match="no FIDs"):
        stack_fids([])


# --------------------------------------------------------------------------
# Fourier transform conventions and the amplitude normalisation
# --------------------------------------------------------------------------
def test_fft_line_position_axes_and_total_integral():
    a, nu = 0.8 * np.exp(0.3j), 312.5  # on the grid: 312.5 = 320 × SW/4096
    f = lines_fid([(a, nu, 5.0)])
    s = fft(f)
    assert np.all(np.diff(s.hz) > 0) and s.hz[0] == -SW / 2
    assert s.spacing_hz == pytest.approx(SW / 4096)
    assert s.hz[np.argmax(np.abs(s.values))] == pytest.approx(nu)  # exp(+2πiνt) is at +ν
    np.testing.assert_allclose(s.ppm, f.carrier_ppm + s.hz / BF)
    # the integral over the whole width is the first FID point, exactly
    total = s.values.sum() * s.spacing_hz
    assert abs(total - f.data[0]) < 1e-14
    zf = fft(zero_fill(f, 16384))
    assert abs(zf.values.sum() * zf.spacing_hz - f.data[0]) < 1e-14
    assert zf.n_acquired == 4096 and zf.dwell_s == DW


def test_fft_of_a_series_is_row_by_row():
    f = FID(np.stack([lines_fid([(1, 100, 3)]).data, lines_fid([(0.5j, -200, 6)]).data]), DW, SFO, BF)
    s = fft(f)
    assert s.values.shape == (2, 4096) and s.is_2d
    np.testing.assert_array_equal(s.row(1).values, fft(f.row(1)).values)


# --------------------------------------------------------------------------
# lineshape fits: exact amplitudes on noiseless data
# --------------------------------------------------------------------------
@pytest.mark.parametrize("complex_amplitudes", [False, True])
@pytest.mark.parametrize("process", ["none", "zero_fill+lb", "region"])
def test_fit_recovers_the_fid_amplitude_exactly(complex_amplitudes, process):
    a, nu, t2 = 0.7 * np.exp(0.4j), 312.3, 0.05
    f = lines_fid([(a, nu, 1 / (np.pi * t2))])
    lb = 0.0
    if process == "zero_fill+lb":
        lb = 2.0
        f = zero_fill(apodize(f, lb_hz=lb), 16384)
    s = fft(f)
    region = (nu - 150, nu + 150) if process == "region" else None
    target = a
    if not complex_amplitudes:  # real amplitudes need a phased spectrum
        s = s.phase(-np.degrees(np.angle(a)))
        target = abs(a)
    r = fit_lines(s, [nu + 1.0], complex_amplitudes=complex_amplitudes, region_hz=region)
    assert r.exact
    assert abs(r.amplitude[0] - target) / abs(a) < 1e-6
    assert r.center_hz[0] == pytest.approx(nu, abs=1e-6)
    assert r.fwhm_hz[0] == pytest.approx(1 / (np.pi * t2) + lb, rel=1e-6)
    assert "[[Model]]" in r.fit_report()
    line = r.lines[0]
    assert line.amplitude == pytest.approx(r.amplitude[0]) and line.gauss_fwhm_hz is None


def test_voigt_fit_after_gaussian_apodisation_is_exact():
    a, nu, gl = -0.5 + 0.2j, -420.0, 3.0
    f = apodize(lines_fid([(a, nu, gl)]), "gaussian", gb_hz=5.0)
    r = fit_lines(fft(f), [nu], "voigt", complex_amplitudes=True, region_hz=(nu - 200, nu + 200))
    assert r.exact
    assert abs(r.amplitude[0] - a) / abs(a) < 1e-6
    assert r.fwhm_hz[0] == pytest.approx(gl, rel=1e-5)
    assert r.gauss_fwhm_hz[0] == pytest.approx(5.0, rel=1e-5)


def test_doublet_with_shared_width():
    # a J doublet: two lines 7 Hz apart, same T2, opposite signs (antiphase)
    j, nu0, g = 7.0, 150.0, 1.5
    comps = [(0.6, nu0 - j / 2, g), (-0.6, nu0 + j / 2, g)]
    s = fft(lines_fid(comps, n=8192))
    r = fit_lines(s, [nu0 - 4, nu0 + 4], same_width=True, region_hz=(nu0 - 60, nu0 + 60))
    np.testing.assert_allclose(r.amplitude, [0.6, -0.6], rtol=1e-6)
    np.testing.assert_allclose(r.center_hz, [nu0 - j / 2, nu0 + j / 2], atol=1e-6)
    np.testing.assert_allclose(r.fwhm_hz, [g, g], rtol=1e-6)
    assert r.result.params["l1_fwhm_hz"].expr == "l0_fwhm_hz"


def test_two_lines_with_different_widths_and_phases():
    comps = [(1.0 * np.exp(0.5j), -300.0, 2.0), (0.3 * np.exp(-2.0j), -280.0, 9.0)]
    s = fft(lines_fid(comps))
    r = fit_lines(s, [-301, -279], complex_amplitudes=True, region_hz=(-500, -100))
    np.testing.assert_allclose(r.amplitude, [c[0] for c in comps], rtol=1e-6)
    np.testing.assert_allclose(r.fwhm_hz, [2.0, 9.0], rtol=1e-6)
    # fixed centres (known shifts) give the same amplitudes
    r2 = fit_lines(s, [-300, -280], complex_amplitudes=True, vary_centers=False, region_hz=(-500, -100))
    np.testing.assert_allclose(r2.amplitude, r.amplitude, rtol=1e-6)
    assert np.all(r2.center_hz_stderr == 0)


def test_continuous_lineshape_when_acquisition_is_unknown():
    # a hand-made spectrum of the continuous profile is fitted exactly too
    hz = np.linspace(-500, 500, 2001)
    probe = Spectrum(np.zeros(hz.size), hz, SFO, BF)
    area = np.sum(line_shape(probe, 0.0, 4.0, amplitude=0.25).real) * probe.spacing_hz
    assert area == pytest.approx(0.25 * 2 / np.pi * math.atan(2 * 500 / 4.0), rel=1e-5)  # unit area, ±500 Hz kept
    vals = line_shape(probe, 12.0, 4.0, amplitude=0.25 - 0.1j)
    r = fit_lines(Spectrum(vals, hz, SFO, BF), [10.0], complex_amplitudes=True)
    assert not r.exact
    assert abs(r.amplitude[0] - (0.25 - 0.1j)) < 1e-8


def test_fit_standard_errors_are_calibrated():
    # with the known noise rms, (fit − truth)/stderr is ~N(0, 1) over seeds
    a, nu, g = 1.0, 200.0, 8.0
    clean = lines_fid([(a, nu, g)])
    z = []
    for seed in range(30):
        noisy = add_noise(clean, 30.0, seed)
        n_rms = 2 * DW * noisy.metadata["noise"]["sigma"] * math.sqrt(4096 - 0.75)
        r = fit_lines(fft(noisy), [nu], complex_amplitudes=True, noise_rms=n_rms, region_hz=(nu - 60, nu + 60))
        z.append((r.amplitude[0].real - a) / r.amplitude_stderr[0].real)
    assert 0.6 < np.std(z) < 1.5 and abs(np.mean(z)) < 0.6


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"shape": "gauss"}, "fit_lines.shape = 'gauss' is not allowed"),
        ({"fwhm_hz": -1.0}, "fit_lines.fwhm_hz = -1.0 is not allowed"),
        ({"fwhm_hz": [1.0, 2.0]}, "fit_lines.fwhm_hz must be one number or one per line (1)"),
        ({"region_hz": (5.0, -5.0)}, "fit_lines.region_hz = (5.0, -5.0) is not allowed"),
        ({"gauss_fwhm_hz": 2.0}, "gauss_fwhm_hz is only used by shape='voigt'"),
        ({"noise_rms": 0.0}, "fit_lines.noise_rms = 0.0 is not allowed"),
    ],
)
def test_fit_lines_rejects_bad_arguments(kwargs, message):
    s = fft(lines_fid([(1, 0, 3)], n=256))
    with pytest.raises(DataError) as e:
        fit_lines(s, [0.0], **kwargs)
    assert message in str(e.value)


def test_fit_lines_rejects_centres_outside_and_series():
    s = fft(lines_fid([(1, 0, 3)], n=256))
    with pytest.raises(DataError, match="3000 Hz is outside the fitted range"):
        fit_lines(s, [3000.0])
    series = fft(FID(np.ones((2, 16)), DW, SFO))
    with pytest.raises(DataError, match="fit one row"):
        fit_lines(series, [0.0])


# --------------------------------------------------------------------------
# integrals
# --------------------------------------------------------------------------
@pytest.mark.parametrize("w_over_fwhm", [5, 20, 80])
def test_integral_agrees_with_fit_within_the_truncation_error(w_over_fwhm):
    a, g = 0.9 * np.exp(-1.1j), 4.0
    df = SW / 8192
    nu = 256 * df  # on the grid, so the region is symmetric about the line
    s = fft(lines_fid([(a, nu, g)], n=8192))
    w = w_over_fwhm * g
    integral = integrate(s, (nu - w, nu + w))
    fitted = fit_lines(s, [nu], complex_amplitudes=True).amplitude[0]
    kept = 2 / np.pi * math.atan(2 * w / g)  # fraction of a Lorentzian's area within ±W
    assert abs(integral / a - kept) < 2e-3  # discretisation of the sum over points
    assert abs(integral - fitted) / abs(a) <= (1 - kept) + 2e-3
    # the dispersion cancels in a symmetric region: the integral has a's phase
    assert abs(np.angle(integral / a)) < 1e-9


def test_integrate_shapes_and_errors():
    f = FID(np.stack([lines_fid([(1, 100, 3)]).data, 2 * lines_fid([(1, 100, 3)]).data]), DW, SFO, BF)
    s = fft(f)
    one = integrate(s, (50, 150))
    assert one.shape == (2,) and abs(one[1] / one[0] - 2) < 1e-12
    assert integrate(s, [(50, 150), (-2000, 2000)]).shape == (2, 2)
    whole = integrate(s.row(0), (-3000, 3000))
    assert isinstance(whole, complex) and abs(whole - 1) < 1e-12
    with pytest.raises(DataError, match=r"integrate.regions_hz\[1\] = \(3, 1\) is not allowed"):
        integrate(s, [(1, 3), (3, 1)])
    with pytest.raises(DataError, match="holds no point"):
        integrate(s, (5000, 6000))


# --------------------------------------------------------------------------
# noise at a stated SNR, and its measurement
# --------------------------------------------------------------------------
def test_noise_level_follows_the_definition():
    f = lines_fid([(1.0, 100, 5)], n=4096)
    sigma = noise_sigma(f, 25.0)
    height = np.max(np.abs(fft(f).values))  # absorption height = peak modulus
    # analytic: the noise spectrum has rms 2·dwell·σ·sqrt(n − 3/4) per quadrature
    assert height / (2 * DW * sigma * math.sqrt(4096 - 0.75)) == pytest.approx(25.0, rel=1e-12)
    noisy = add_noise(f, 25.0, seed=7)
    assert noisy.metadata["noise"] == {"snr": 25.0, "sigma": sigma, "seed": 7}
    noise_spec = fft(noisy.with_data(noisy.data - f.data)).values
    expected = 2 * DW * sigma * math.sqrt(4096 - 0.75)
    assert np.std(noise_spec.real) == pytest.approx(expected, rel=0.05)
    assert np.std(noise_spec.imag) == pytest.approx(expected, rel=0.05)
    # reproducible, and seeds differ
    np.testing.assert_array_equal(add_noise(f, 25.0, 7).data, noisy.data)
    assert not np.array_equal(add_noise(f, 25.0, 8).data, noisy.data)
    g = add_noise(f, 25.0, np.random.default_rng(7))
    assert g.metadata["noise"]["seed"] == "generator"


@pytest.mark.parametrize("phase_deg", [0.0, -45.0, -90.0, 180.0])
def test_stated_snr_does_not_depend_on_the_line_phase(phase_deg):
    # A dispersive (−90°) line, as a 90°x pulse gives, must get the same noise
    # as an absorptive one: the SNR is that of the phased spectrum.
    ph = np.exp(1j * np.deg2rad(phase_deg))
    f = lines_fid([(ph, 100, 5)], n=4096)
    g = lines_fid([(1.0, 100, 5)], n=4096)
    assert noise_sigma(f, 30.0) == pytest.approx(noise_sigma(g, 30.0), rel=1e-12)
    phased = fft(add_noise(f, 30.0, seed=3)).phase(-phase_deg)
    assert float(measure_snr(phased)) == pytest.approx(30.0, rel=0.1)


@pytest.mark.parametrize("snr", [10.0, 50.0, 200.0])
def test_measured_snr_matches_the_requested_one(snr):
    # the tallest line (a singlet) and a resolved doublet, 16 points per FWHM
    comps = [(1.0, -500.0, 8.0), (0.4, 685.0, 8.0), (0.4, 715.0, 8.0)]
    clean = lines_fid(comps, n=8192)
    for seed in range(3):
        m = measure_snr(fft(add_noise(clean, snr, seed)))
        assert m.snr == pytest.approx(snr, rel=0.10)
        assert m.center_hz == pytest.approx(-500.0, abs=2.0)
        assert float(m) == m.snr


def test_measure_snr_with_given_regions_and_max_method():
    clean = lines_fid([(1.0, -500.0, 8.0)], n=8192)
    s = fft(add_noise(clean, 100.0, 3))
    m = measure_snr(s, signal_region_hz=(-600, -400), noise_region_hz=(200, 1900), method="max")
    assert m.method == "max" and m.noise_regions_hz == ((200.0, 1900.0),)
    assert m.snr == pytest.approx(100.0, rel=0.1)
    with pytest.raises(DataError, match="measure_snr.method = 'peak' is not allowed"):
        measure_snr(s, method="peak")
    with pytest.raises(DataError, match="holds 0 points; at least 8 are needed"):
        measure_snr(s, noise_region_hz=(2500, 2600))
    with pytest.raises(DataError, match="measure one row"):
        measure_snr(fft(FID(np.ones((2, 64)), DW, SFO)))


@pytest.mark.parametrize(
    "snr, seed, message",
    [
        (0.0, 1, "add_noise.snr = 0.0 is not allowed: it must be a finite number > 0"),
        (-5, 1, "add_noise.snr = -5 is not allowed"),
        (float("inf"), 1, "add_noise.snr = inf is not allowed"),
        ("high", 1, "add_noise.snr = 'high' is not allowed"),
        (10.0, None, "add_noise.seed = None is not allowed"),
        (10.0, -1, "add_noise.seed = -1 is not allowed"),
        (10.0, True, "add_noise.seed = True is not allowed"),
    ],
)
def test_add_noise_rejects_bad_arguments(snr, seed, message):
    with pytest.raises(DataError) as e:
        add_noise(lines_fid([(1, 0, 3)], n=64), snr, seed)
    assert message in str(e.value)


def test_add_noise_refuses_unusable_fids():
    with pytest.raises(DataError, match="the FID has no signal"):
        add_noise(FID(np.zeros(64), DW, SFO), 10.0, 1)
    with pytest.raises(DataError, match=r"already processed \(zero_fill\)"):
        add_noise(zero_fill(lines_fid([(1, 0, 3)], n=64), 128), 10.0, 1)
    with pytest.raises(DataError, match="already carries noise"):
        add_noise(add_noise(lines_fid([(1, 0, 3)], n=64), 10.0, 1), 10.0, 2)


# --------------------------------------------------------------------------
# apodisation, zero filling, phasing, regions
# --------------------------------------------------------------------------
def test_apodisation_windows():
    f = FID(np.ones(1000), 1e-3, SFO)
    t = f.time_s
    np.testing.assert_allclose(apodize(f, lb_hz=2.0).data.real, np.exp(-np.pi * 2.0 * t))
    np.testing.assert_allclose(
        apodize(f, "gaussian", gb_hz=3.0).data.real, np.exp(-((np.pi * 3.0 * t) ** 2) / (4 * np.log(2)))
    )
    l2g = apodize(f, "lorentz_to_gauss", lb_hz=1.0, gb_hz=3.0).data.real
    np.testing.assert_allclose(l2g, np.exp(np.pi * t - (np.pi * 3.0 * t) ** 2 / (4 * np.log(2))))
    assert apodize(f, lb_hz=0.0).metadata["processing"] == [{"step": "apodize", "kind": "exponential", "lb_hz": 0.0}]


@pytest.mark.parametrize(
    "args, kwargs, message",
    [
        ((), {"lb_hz": -1.0}, "apodize.lb_hz = -1.0 is not allowed for kind='exponential': it must be ≥ 0"),
        ((), {"lb_hz": float("nan")}, "apodize.lb_hz = nan is not allowed"),
        ((), {}, "kind='exponential' needs lb_hz"),
        ((), {"lb_hz": 1.0, "gb_hz": 2.0}, "gb_hz is not used by kind='exponential'"),
        (("gaussian",), {"gb_hz": 0.0}, "apodize.gb_hz = 0.0 is not allowed"),
        (("gaussian",), {"lb_hz": 1.0, "gb_hz": 1.0}, "lb_hz is not used by kind='gaussian'"),
        (("lorentz_to_gauss",), {"lb_hz": 1.0}, "needs lb_hz > 0 and gb_hz > 0"),
        (("sine",), {}, "apodize.kind = 'sine' is not allowed"),
    ],
)
def test_apodize_rejects_bad_arguments(args, kwargs, message):
    with pytest.raises(DataError) as e:
        apodize(FID(np.ones(16), DW, SFO), *args, **kwargs)
    assert message in str(e.value)


def test_zero_fill():
    f = FID(np.ones((2, 10)), DW, SFO)
    z = zero_fill(f, 16)
    assert z.data.shape == (2, 16) and np.all(z.data[:, 10:] == 0)
    assert z.metadata["n_acquired"] == 10
    assert zero_fill(z, 32).metadata["n_acquired"] == 10
    with pytest.raises(DataError, match="zero_fill.n = 8 is not allowed: it is smaller than the FID's 10 points"):
        zero_fill(f, 8)
    with pytest.raises(DataError, match="zero_fill.n = 12.5 is not allowed"):
        zero_fill(f, 12.5)


def test_phase_correction():
    a = 0.5 * np.exp(1.2j)
    s = fft(lines_fid([(a, 250.0, 4.0)]))
    p = s.phase(-np.degrees(1.2))
    r = fit_lines(p, [250.0], complex_amplitudes=True)
    assert abs(r.amplitude[0] - 0.5) < 1e-9  # pure absorption: a real, positive amplitude
    # first order: zero at the pivot, ph1 across one spectral width
    q = s.phase(0.0, ph1_deg=90.0, pivot_hz=250.0)
    k = np.argmin(np.abs(s.hz - 250.0))
    assert q.values[k] == pytest.approx(s.values[k])
    k2 = np.argmin(np.abs(s.hz - (250.0 - SW / 4)))
    assert q.values[k2] == pytest.approx(s.values[k2] * np.exp(-1j * np.pi / 8))
    assert q.metadata["processing"][-1]["step"] == "phase"
    with pytest.raises(DataError, match="Spectrum.phase.ph0_deg = nan is not allowed"):
        s.phase(float("nan"))


def test_spectrum_validation_and_region():
    s = fft(lines_fid([(1, 0, 3)], n=64))
    r = s.region(-500, 500)
    assert r.hz[0] >= -500 and r.hz[-1] <= 500 and r.values.shape == r.hz.shape
    with pytest.raises(DataError, match="lo_hz = 500.0 must be below hi_hz = -500.0"):
        s.region(500, -500)
    with pytest.raises(DataError, match="Spectrum.hz must be strictly ascending"):
        Spectrum(np.ones(3), [3.0, 2.0, 1.0], SFO)
    with pytest.raises(DataError, match="Spectrum.hz must be uniformly spaced"):
        Spectrum(np.ones(3), [0.0, 1.0, 3.0], SFO)
    with pytest.raises(DataError, match=r"Spectrum.hz has shape \(2,\)"):
        Spectrum(np.ones(3), [0.0, 1.0], SFO)
    with pytest.raises(DataError, match="Spectrum.n_acquired = 0 is not allowed"):
        Spectrum(np.ones(3), [0.0, 1.0, 2.0], SFO, n_acquired=0)
