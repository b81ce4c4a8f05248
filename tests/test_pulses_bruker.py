"""pulses.bruker: write/read Bruker datasets through nmrglue.

Must-show (issue 4, #6): the write→read round trip is lossless for the FID
and the parameters that matter, and the SNR measured on the noisy spectrum
is within 10 % of the requested one.  Also: data shaped like a real
spectrometer's (int32, digital-filter group delay) are read with the delay
removed, processed 1r/1i spectra get the right axes, and broken datasets
raise DataError naming the file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import nmrglue as ng
import numpy as np
import pytest

from pulses.bruker import (
    PROVENANCE_TAG,
    group_delay_points,
    read_bruker,
    read_bruker_processed,
    write_bruker,
)
from pulses.errors import DataError
from pulses.fid import FID
from pulses.spectra import add_noise, fft, fit_lines, measure_snr

SW = 4000.0
DW = 1.0 / SW
SFO, BF = 400.1312345678, 400.13  # MHz: carrier 4.7 ppm-ish above BF


def simulated(n=8192, **kw) -> FID:
    """A singlet (tallest line) and a resolved doublet, 8 Hz FWHM."""
    t = np.arange(n) * DW
    comps = [(1.0, -500.0, 8.0), (0.4 * np.exp(0.3j), 685.0, 8.0), (0.4 * np.exp(0.3j), 715.0, 8.0)]
    data = sum(a * np.exp(2j * np.pi * nu * t - np.pi * g * t) for a, nu, g in comps)
    md = {"sequence": "zg30", "platform": "liquid", "readout": ["X", "I"], "alpha": 1e-5}
    md.update(kw.pop("metadata", {}))
    return FID(data, DW, SFO, BF, nucleus="1H", channel="H1", receiver_phase_deg=90.0, metadata=md, **kw)


def acqus_of(path: Path) -> dict:
    return ng.bruker.read_jcamp(str(path / "acqus"))


# --------------------------------------------------------------------------
# round trips (must-show)
# --------------------------------------------------------------------------
def test_round_trip_1d_is_lossless(tmp_path):
    f = add_noise(simulated(n=1000), 50.0, seed=1)  # 1000 points: the row is padded on disk
    out = write_bruker(f, tmp_path / "exp" / "1")
    g = read_bruker(out)
    assert g.data.dtype == np.complex128 and g.data.shape == (1000,)
    assert np.max(np.abs(g.data - f.data)) == 0.0  # float64 on disk: bit for bit
    for name in ("dwell_s", "sfo_mhz", "bf_mhz", "nucleus", "channel", "receiver_phase_deg"):
        assert getattr(g, name) == getattr(f, name), name
    assert g.metadata == f.metadata
    # the Bruker parameters that matter
    p = acqus_of(out)
    assert p["TD"] == 2000 and p["SW_h"] == SW and p["SFO1"] == SFO and p["BF1"] == BF
    assert p["SW"] == pytest.approx(SW / SFO, rel=1e-15)
    assert p["O1"] == pytest.approx((SFO - BF) * 1e6, rel=1e-12)
    assert p["NUC1"] == "1H" and p["PULPROG"] == "zg30"
    assert (p["DTYPA"], p["BYTORDA"], p["AQ_mod"]) == (2, 0, 3)
    assert (p["DIGMOD"], p["DECIM"], p["DSPFVS"], p["GRPDLY"]) == (0, 1, 20, 0)
    assert group_delay_points(p) == 0.0
    assert os.path.getsize(out / "fid") % 1024 == 0
    # nmrglue reads the same numbers (it keeps the padding zeros)
    _, data = ng.bruker.read(str(out))
    assert np.array_equal(data[:1000], f.data) and np.all(data[1000:] == 0)


def test_round_trip_2d_series_is_lossless(tmp_path):
    base = simulated(n=500)
    rows = [add_noise(base.with_data(base.data * np.exp(1j * k)), 20.0, seed=k) for k in range(4)]
    out = write_bruker(rows, tmp_path / "ser_exp")
    assert (out / "ser").is_file() and (out / "acqu2s").is_file() and not (out / "fid").exists()
    g = read_bruker(out)
    assert g.is_2d and g.data.shape == (4, 500)
    assert np.max(np.abs(g.data - np.stack([r.data for r in rows]))) == 0.0
    assert (g.dwell_s, g.sfo_mhz, g.bf_mhz, g.nucleus, g.receiver_phase_deg) == (DW, SFO, BF, "1H", 90.0)
    assert [r["noise"]["seed"] for r in g.metadata["rows"]] == [0, 1, 2, 3]
    assert ng.bruker.read_jcamp(str(out / "acqu2s"))["TD"] == 4
    # a 2-D FID round trips the same way, and nmrglue sees 4 rows
    series = read_bruker(write_bruker(g, tmp_path / "again"))
    assert np.array_equal(series.data, g.data) and series.metadata == g.metadata
    _, data = ng.bruker.read(str(tmp_path / "again"))
    assert data.shape[0] == 4 and np.array_equal(data[:, :500], g.data)


SNR_CASES = [(snr, seed) for snr in (10.0, 50.0, 200.0) for seed in range(4)]


@pytest.mark.parametrize("snr, seed", SNR_CASES)
def test_snr_after_round_trip_is_within_10_percent(tmp_path, snr, seed):
    noisy = add_noise(simulated(), snr, seed)
    g = read_bruker(write_bruker(noisy, tmp_path / "snr"))
    assert np.array_equal(g.data, noisy.data)
    assert g.metadata["noise"]["snr"] == snr
    m = measure_snr(fft(g))
    assert abs(m.snr / snr - 1) < 0.10, (m.snr, snr)


# --------------------------------------------------------------------------
# writing safely
# --------------------------------------------------------------------------
def test_overwrite_is_refused_unless_asked_and_is_atomic(tmp_path):
    f = simulated(n=64)
    target = tmp_path / "1"
    write_bruker(f, target)
    with pytest.raises(DataError, match="already exists; pass overwrite=True"):
        write_bruker(f.with_data(f.data * 2), target)
    assert np.array_equal(read_bruker(target).data, f.data)  # untouched
    (target / "pdata").mkdir()  # stale processed data must not survive a rewrite
    write_bruker(f.with_data(f.data * 2), target, overwrite=True)
    assert np.array_equal(read_bruker(target).data, 2 * f.data)
    assert not (target / "pdata").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["1"]  # no temporary folders left
    (tmp_path / "file").write_text("x")
    with pytest.raises(DataError, match="exists and is not a folder"):
        write_bruker(f, tmp_path / "file", overwrite=True)
    with pytest.raises(DataError, match="give an FID or a list of FIDs"):
        write_bruker(np.ones(4), tmp_path / "2")


def test_provenance_is_a_json_comment(tmp_path):
    out = write_bruker(simulated(n=64, metadata={"note": "a <tricky> ##END= string\n"}), tmp_path / "p")
    lines = [ln for ln in acqus_of(out)["_comments"] if ln.startswith(PROVENANCE_TAG)]
    prov = json.loads(lines[0][len(PROVENANCE_TAG):])
    assert prov["metadata"]["note"] == "a <tricky> ##END= string\n"
    assert read_bruker(out).metadata["note"] == "a <tricky> ##END= string\n"


# --------------------------------------------------------------------------
# data shaped like a real spectrometer's
# --------------------------------------------------------------------------
def spectrometer_dataset(path: Path, delay: float, filter_params: dict, *, big=False, nc=0, n=2048):
    """int32 FID through nmrglue, delayed by ``delay`` points the way a
    linear-phase digital filter delays it (a band-limited time shift)."""
    sw = 5000.0
    t = np.arange(n) / sw
    a, nu = 3e6 * np.exp(0.5j), -612.5
    truth = a * np.exp(2j * np.pi * nu * t - t / 0.02)
    f = np.fft.fftfreq(n)
    raw = np.fft.ifft(np.fft.fft(truth) * np.exp(-2j * np.pi * f * delay)) / 2.0**nc
    acqus = {
        "_coreheader": ["##TITLE= Parameter file, TOPSPIN"],
        "_comments": [],
        "TD": 2 * n, "SW_h": sw, "SFO1": 600.13, "BF1": 600.1, "O1": 30000.0, "NUC1": "1H",
        "DTYPA": 0, "BYTORDA": 1 if big else 0, "AQ_mod": 3, "DIGMOD": 1, "NC": nc,
        "PULPROG": "zg30", "NS": 16, "RG": 101.0,
    }
    acqus.update(filter_params)
    path.mkdir(parents=True)
    ng.bruker.write(str(path), {"acqus": acqus}, raw, write_prog=False, big=big, isfloat=False)
    return truth, nu, a, sw


@pytest.mark.parametrize(
    "delay, params, big, nc",
    [
        (76.0, {"DSPFVS": 21, "DECIM": 1600, "GRPDLY": 76.0}, False, 0),  # TopSpin ≥ 3: GRPDLY
        (71.625, {"DSPFVS": 12, "DECIM": 16, "GRPDLY": -1}, True, 0),  # old firmware: table, big endian
        (67.9842, {"DSPFVS": 20, "DECIM": 3328, "GRPDLY": 67.9842}, False, 2),  # fractional, NC scaling
    ],
)
def test_digital_filter_of_spectrometer_data_is_removed(tmp_path, delay, params, big, nc):
    truth, nu, a, sw = spectrometer_dataset(tmp_path / "1", delay, params, big=big, nc=nc)
    g = read_bruker(tmp_path / "1")
    assert group_delay_points(ng.bruker.read_jcamp(str(tmp_path / "1" / "acqus"))) == delay
    skip = int(np.floor(delay)) + 2
    assert g.n_points == 2048 - skip and g.dwell_s == 1 / sw and g.sfo_mhz == 600.13 and g.bf_mhz == 600.1
    assert g.metadata["bruker"]["points_dropped"] == skip and g.metadata["bruker"]["PULPROG"] == "zg30"
    # the FID starts at t = 0 again: equal to the truth within int32 rounding
    # (nmrglue truncates to integers of the raw/2**NC scale: ~2**NC / 3e6)
    assert np.max(np.abs(g.data - truth[: g.n_points])) / abs(a) < 4e-6 * 2**nc
    # so the line is where it should be, with its true complex amplitude
    r = fit_lines(fft(g), [nu + 2], complex_amplitudes=True)
    assert r.center_hz[0] == pytest.approx(nu, abs=1e-3)
    assert abs(r.amplitude[0] / a - 1) < 1e-4


def test_uncorrected_filter_delay_would_wreck_the_phase(tmp_path):
    _, nu, a, _ = spectrometer_dataset(tmp_path / "1", 76.0, {"DSPFVS": 21, "DECIM": 1600, "GRPDLY": 76.0})
    good = fit_lines(fft(read_bruker(tmp_path / "1")), [nu], complex_amplitudes=True)
    # the same file declared analog (DIGMOD = 0) is read without correction
    p = tmp_path / "1" / "acqus"
    p.write_text(p.read_text().replace("##$DIGMOD= 1", "##$DIGMOD= 0"))
    bad_fid = read_bruker(tmp_path / "1")
    assert bad_fid.n_points == 2048 and bad_fid.metadata["bruker"]["group_delay_points"] == 0.0
    assert abs(np.angle(good.amplitude[0] / a)) < 1e-4
    assert abs(bad_fid.data[0]) / abs(a) < 1e-3  # the first 76 points hold no signal


def test_unknown_decimation_is_reported(tmp_path):
    spectrometer_dataset(tmp_path / "1", 70.0, {"DSPFVS": 10, "DECIM": 7, "GRPDLY": -1})
    with pytest.raises(DataError, match=r"DECIM = 7 with DSPFVS = 10: the group delay is unknown"):
        read_bruker(tmp_path / "1")


# --------------------------------------------------------------------------
# processed spectra (pdata/1/1r, 1i)
# --------------------------------------------------------------------------
def write_processed(exp: Path, spec, nc_proc: int, with_1i=True):
    pdir = exp / "pdata" / "1"
    pdir.mkdir(parents=True)
    scale = 2.0**nc_proc
    for name, part in (("1r", spec.real), ("1i", spec.imag)):
        if name == "1i" and not with_1i:
            continue
        ng.bruker.write_binary(str(pdir / name), {}, np.round(part[::-1] / scale).astype(np.int32), big=False)
    procs = {
        "_coreheader": ["##TITLE= Parameter file, TOPSPIN"], "_comments": [],
        "SF": spec.bf_mhz, "OFFSET": float(spec.ppm[-1]), "SW_p": spec.spectral_width_hz, "SI": spec.n_points,
        "DTYPP": 0, "BYTORDP": 0, "NC_proc": nc_proc, "AXNUC": spec.nucleus,
    }
    ng.bruker.write_jcamp(procs, str(pdir / "procs"))


def test_read_processed_spectrum_axes_and_values(tmp_path):
    f = simulated(n=4096)
    exp = write_bruker(f, tmp_path / "1")
    spec = fft(f)
    nc = int(np.ceil(np.log2(np.max(np.abs(spec.values)) / 2**28)))
    write_processed(exp, spec, nc)
    p = read_bruker_processed(exp, procno=1)
    assert (p.sfo_mhz, p.bf_mhz, p.nucleus) == (SFO, BF, "1H")
    np.testing.assert_allclose(p.hz, spec.hz, rtol=0, atol=1e-6)
    np.testing.assert_allclose(p.ppm, spec.ppm, rtol=0, atol=1e-9)
    assert np.max(np.abs(p.values - spec.values)) <= 2.0**nc  # int32 rounding
    assert p.dwell_s is None and p.n_acquired is None
    # the continuous Lorentzian is used on processed data; it differs from
    # the discrete spectrum by O(FWHM · dwell) = 8 Hz / 4000 Hz = 2e-3
    r = fit_lines(p, [-500.0], region_hz=(-700, -300))
    assert r.center_hz[0] == pytest.approx(-500.0, abs=1e-3)
    assert r.amplitude[0] == pytest.approx(1.0, rel=5e-3)


def test_processed_without_acqus_or_1i(tmp_path):
    f = simulated(n=256)
    spec = fft(f)
    write_processed(tmp_path / "1", spec, -20, with_1i=False)
    p = read_bruker_processed(tmp_path / "1")
    assert p.sfo_mhz == BF and np.all(p.values.imag == 0)  # carrier unknown: at SF
    np.testing.assert_allclose(p.ppm, spec.ppm, atol=1e-9)


# --------------------------------------------------------------------------
# broken datasets
# --------------------------------------------------------------------------
@pytest.fixture
def good(tmp_path) -> Path:
    return write_bruker(simulated(n=2048), tmp_path / "1")


def edit_acqus(path: Path, old: str, new: str):
    p = path / "acqus"
    text = p.read_text()
    assert old in text
    p.write_text(text.replace(old, new))


def test_missing_files(tmp_path, good):
    with pytest.raises(DataError, match=f"{tmp_path / 'nope'} is not a folder"):
        read_bruker(tmp_path / "nope")
    (good / "fid").unlink()
    with pytest.raises(DataError, match=f"fid missing in {good}"):
        read_bruker(good)
    (good / "acqus").unlink()
    with pytest.raises(DataError, match=f"acqus missing in {good}"):
        read_bruker(good)


def test_truncated_fid(good):
    with open(good / "fid", "r+b") as fh:
        fh.truncate(1000)
    with pytest.raises(DataError, match=r"fid in .* has 1000 bytes, expected 32768 for TD=4096 \(float64\)"):
        read_bruker(good)


def test_int32_size_message(tmp_path):
    spectrometer_dataset(tmp_path / "1", 76.0, {"DSPFVS": 21, "DECIM": 1600, "GRPDLY": 76.0})
    with open(tmp_path / "1" / "fid", "ab") as fh:
        fh.write(b"\0" * 12)
    with pytest.raises(DataError, match=r"has 16396 bytes, expected 16384 for TD=4096 \(int32\)"):
        read_bruker(tmp_path / "1")


@pytest.mark.parametrize(
    "old, new, message",
    [
        ("##$TD= 4096", "", "acqus in .* lacks TD"),
        ("##$TD= 4096", "##$TD= 4095", "has TD = 4095: an even number"),
        ("##$SFO1= 400.1312345678", "##$SFO1= <fast>", "has SFO1 = 'fast': a finite positive number is required"),
        ("##$SW_h= 4000.0", "##$SW_h= -4000.0", "has SW_h = -4000.0: a finite positive number"),
        ("##$NUC1= <1H>", "##$NUC2= <off>", "acqus in .* lacks NUC1"),
        ("##$O1=", "\n##$O1=", "acqus in .* lacks TD"),  # nmrglue stops at a blank line
        ("##$AQ_mod= 3", "##$AQ_mod= 2", "AQ_mod = 2: only complex"),
        ("##$DTYPA= 2", "##$DTYPA= 1", "DTYPA = 1: 0 \\(int32\\) or 2 \\(float64\\)"),
        ("##$BYTORDA= 0", "##$BYTORDA= 5", "BYTORDA = 5"),
    ],
)
def test_corrupt_parameters(good, old, new, message):
    edit_acqus(good, old, new)
    with pytest.raises(DataError, match=message):
        read_bruker(good)


def test_garbage_acqus(good):
    (good / "acqus").write_bytes(bytes(range(256)) * 8)
    with pytest.raises(DataError, match=f"acqus in {good} lacks TD|acqus in {good} cannot be parsed"):
        read_bruker(good)


def test_broken_series(tmp_path):
    f = FID(np.ones((3, 100)), DW, SFO, BF)
    out = write_bruker(f, tmp_path / "s")
    (out / "acqu2s").rename(out / "moved")
    with pytest.raises(DataError, match=f"acqu2s missing in {out}"):
        read_bruker(out)
    (out / "moved").rename(out / "acqu2s")
    with open(out / "ser", "r+b") as fh:
        fh.truncate(2 * 1024 * 2)  # two of the three rows
    with pytest.raises(DataError, match=r"ser in .* has 4096 bytes, expected 6144 for 3 rows of TD=200 \(float64"):
        read_bruker(out)
    (out / "acqu3s").write_text("##END=")
    with pytest.raises(DataError, match="3-D"):
        read_bruker(out)


def test_broken_processed_data(tmp_path, good):
    with pytest.raises(DataError, match=f"pdata/1 missing in {good}"):
        read_bruker_processed(good)
    write_processed(good, fft(read_bruker(good)), 0)
    pdir = good / "pdata" / "1"
    with open(pdir / "1i", "r+b") as fh:
        fh.truncate(100)
    with pytest.raises(DataError, match=r"1i in .* has 100 bytes, expected 8192 for SI=2048 \(int32\)"):
        read_bruker_processed(good)
    (pdir / "procs").unlink()
    with pytest.raises(DataError, match=f"procs missing in {pdir}"):
        read_bruker_processed(good)
    with pytest.raises(DataError, match="procno = 0 is not allowed"):
        read_bruker_processed(good, procno=0)
