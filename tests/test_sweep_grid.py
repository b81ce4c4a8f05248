"""Planning sweeps (issue 12), the pure parts: ``--over`` parsing, the grid,
the coordinate-derived seeds, the point protocol and the per-point
evaluation (nmrqb.sweep)."""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest

from nmrqb.battery import charge
from nmrqb.errors import ProtocolError
from nmrqb.protocol import load_protocol, shipped_protocols
from nmrqb.sweep import Axis, Grid, evaluate_point, parse_over, point_protocol, point_seed


@pytest.fixture(scope="module")
def proto():
    return load_protocol(shipped_protocols()["default"])


@pytest.fixture(scope="module")
def small(proto):
    """A reduced protocol: 3 Ωt, minimal4 readout, 256 points, small bootstrap."""
    return proto.replace(**{"charging.omega_t": {"start": 0.5, "stop": 2.5, "num": 3}, "readout.set": "minimal4",
                            "acquisition.points": 256, "analysis.bootstrap": 6})


# ---------------------------------------------------------------- parsing
def test_parse_linear_includes_stop(proto):
    ax = parse_over("model.Delta=-4:4:41", proto)
    assert ax == Axis("model.Delta", tuple(float(x) for x in np.linspace(-4, 4, 41)))
    assert ax.values[0] == -4.0 and ax.values[-1] == 4.0 and len(ax) == 41
    assert all(isinstance(v, float) for v in ax.values)
    assert parse_over("model.Delta=2:2:1", proto).values == (2.0,)
    assert parse_over("model.Delta=4:-4:3", proto).values == (4.0, 0.0, -4.0)


def test_parse_log(proto):
    ax = parse_over("acquisition.snr=10:1000:log20", proto)
    assert ax.field == "acquisition.snr" and len(ax) == 20
    assert ax.values[0] == 10.0 and ax.values[-1] == 1000.0
    np.testing.assert_allclose(ax.values, np.geomspace(10, 1000, 20), rtol=1e-12)
    assert parse_over("acquisition.snr=10:1000:LOG3", proto).values == pytest.approx((10.0, 100.0, 1000.0))


def test_parse_lists_take_the_field_type(proto):
    assert parse_over("acquisition.snr=10,100", proto).values == (10.0, 100.0)  # per-channel table of floats
    assert parse_over("model.Delta=1, 2.5", proto).values == (1.0, 2.5)
    assert parse_over("analysis.estimator=mle,wls", proto).values == ("mle", "wls")
    assert parse_over("acquisition.noise=true,false", proto).values == (True, False)
    scans = parse_over("acquisition.scans=16:256:log5", proto)
    assert scans.values == (16, 32, 64, 128, 256) and all(type(v) is int for v in scans.values)
    assert parse_over("platform.spins[1].t2_s=0.1,0.3", proto).values == (0.1, 0.3)
    assert parse_over("acquisition.snr.13C=50", proto) == Axis("acquisition.snr.13C", (50.0,))


@pytest.mark.parametrize("text, words", [
    ("acquisition.snr=10:1:0", "0 points"),
    ("acquisition.snr=10:1000:log0", "0 points"),
    ("acquisition.snr=", "0 points"),
    ("acquisition.snr=1:10", "start:stop:N"),
    ("acquisition.snr=1:10:3:4", "start:stop:N"),
    ("acquisition.snr", "'='"),
    ("=1,2", "FIELD"),
    ("acquisition.snr=a:10:3", "finite number"),
    ("acquisition.snr=1:inf:3", "finite number"),
    ("acquisition.snr=1:10:x", "whole number"),
    ("acquisition.snr=1:10:2.5", "whole number"),
    ("model.Delta=0:4:log3", "start > 0"),
    ("model.Delta=-1:4:log3", "start > 0"),
    ("model.Delta=1:2:1", "start = stop"),
    ("model.Delta=1:1:3", "differ"),
    ("model.Delta=x,y", "takes numbers"),
    ("model.Delta=nan,1", "finite"),
    ("model.Delta=1,,2", "empty"),
    ("model.Delta=1,1.0", "repeated"),
    ("acquisition.scans=1:2:3", "whole numbers"),
    ("acquisition.noise=1,0", "true or false"),
    ("acquisition.snr=-1,10", "0 < x"),
    ("acquisition.snr=0:10:3", "0 < x"),
    ("analysis.estimator=mle,foo", "mle"),
    ("platform.spins[5].t2_s=1", "2 entries"),
])
def test_parse_errors_are_one_line_naming_the_text(proto, text, words):
    with pytest.raises(ProtocolError) as info:
        parse_over(text, proto)
    msg = str(info.value)
    assert "\n" not in msg
    assert msg.startswith(f"--over {text!r}:"), msg
    assert words in msg, msg


@pytest.mark.parametrize("text, near", [
    ("acquisition.snrr=10,20", "acquisition.snr"),
    ("model.delta=1,2", "model.Delta"),
    ("modl.Delta=1", "model.Delta"),
    ("platform.spins[1].t2=0.1", "platform.spins[1].t2_s"),
    ("acquisition.seeds=1,2", "acquisition.seed"),
])
def test_unknown_field_suggests_the_closest_key(proto, text, near):
    with pytest.raises(ProtocolError) as info:
        parse_over(text, proto)
    msg = str(info.value)
    assert "\n" not in msg and msg.startswith(f"--over {text!r}:")
    assert "unknown field" in msg and f"did you mean {near!r}?" in msg
    assert info.value.key == text.split("=")[0]


# ---------------------------------------------------------------- the grid
def test_grid_order_len_and_chunks(proto):
    a = parse_over("acquisition.snr=10,100", proto)
    b = parse_over("model.Delta=0:1:3", proto)
    g = Grid((a, b), replicas=2)
    assert len(g) == 12 and g.shape == (2, 3, 2) and g.fields == ("acquisition.snr", "model.Delta")
    coords = [g.coords(i) for i in range(len(g))]
    assert coords == [tuple(int(x) for x in c) for c in np.ndindex(2, 3, 2)]  # C order, replica fastest
    assert all(g.index(c) == i for i, c in enumerate(coords))
    assert g.point(0) == {"acquisition.snr": 10.0, "model.Delta": 0.0}
    assert g.point(3) == {"acquisition.snr": 10.0, "model.Delta": 0.5}  # (0, 1, 1)
    assert g.point(11) == {"acquisition.snr": 100.0, "model.Delta": 1.0}
    assert g.chunks(5) == [range(0, 5), range(5, 10), range(10, 12)]
    assert g.chunks(12) == [range(0, 12)] and g.chunks(100) == [range(0, 12)]
    assert [i for c in g.chunks(7) for i in c] == list(range(12))
    only = Grid((), replicas=3)
    assert len(only) == 3 and only.point(2) == {} and only.coords(2) == (2,)
    with pytest.raises(IndexError):
        g.point(12)


def test_grid_rejects_bad_input(proto):
    a = parse_over("model.Delta=1,2", proto)
    for bad in (lambda: Grid((a, Axis("model.Delta", (3.0,)))), lambda: Grid((a,), replicas=0),
                lambda: Grid((a,), replicas=1.5), lambda: Grid(("model.Delta",)),
                lambda: Grid((a,)).chunks(0), lambda: Grid((Axis("model.Delta", ()),))):
        with pytest.raises(ProtocolError) as info:
            bad()
        assert "\n" not in str(info.value)


# ---------------------------------------------------------------- seeds
def test_seeds_depend_on_coordinates_only(proto):
    g = Grid((parse_over("acquisition.snr=10:1000:log4", proto), parse_over("model.Delta=0:1:3", proto)),
             replicas=3)

    def seeds(size, reverse=False):
        chunks = g.chunks(size)
        out = {}
        for c in (reversed(chunks) if reverse else chunks):
            for i in c:
                out[g.coords(i)] = point_seed(7, g.coords(i))
        return out

    ref = seeds(len(g))
    assert seeds(1) == ref and seeds(5, reverse=True) == ref and seeds(7) == ref
    assert len(set(ref.values())) == len(g)  # different across points and replicas
    assert point_seed(7, (1, 2, 0)) != point_seed(7, (1, 2, 1)) != point_seed(8, (1, 2, 1))
    assert point_seed(7, (1, 2, 0)) == point_seed(7, (1, 2, 0)) == point_seed(np.int64(7), np.array([1, 2, 0]))
    assert all(0 <= s < 2**63 for s in ref.values())
    for bad in ((-1, (0,)), (1.5, (0,)), (1, (-1,)), (True, (0,))):
        with pytest.raises(ProtocolError):
            point_seed(*bad)


def test_point_protocol_applies_values_and_seed(proto):
    g = Grid((parse_over("acquisition.snr=10,100", proto), parse_over("platform.spins[1].t2_s=0.1,0.2", proto)),
             replicas=2)
    for i in range(len(g)):
        p = point_protocol(proto, g, i)
        v = g.point(i)
        assert p.acquisition.snr == v["acquisition.snr"]
        assert p.platform_spec.spins[1].t2_s == v["platform.spins[1].t2_s"]
        assert p.acquisition.seed == point_seed(proto.acquisition.seed, g.coords(i))
        assert p.model_spec == proto.model_spec
    assert len({point_protocol(proto, g, i).acquisition.seed for i in range(len(g))}) == len(g)
    assert point_protocol(proto, g, 5) == point_protocol(proto, g, 5)


# ---------------------------------------------------------------- evaluation
def test_evaluate_battery_matches_charge(proto):
    p = proto.replace(**{"model.Delta": 0.5})
    out = evaluate_point(p, "battery")
    tr = charge(p.model(), p.T, p.omega_t())
    assert out == {"max_ergotropy": pytest.approx(float(tr.ergotropy.max()), abs=1e-12),
                   "max_power": pytest.approx(float(tr.power.max()), abs=1e-12),
                   "capacity": pytest.approx(float(tr.capacity.max()), abs=1e-12),
                   "max_l1_coherence": pytest.approx(float(tr.coherence.max()), abs=1e-12)}
    assert all(type(v) is float for v in out.values())


@pytest.mark.parametrize("stage, near", [("tomo", "tomography"), ("Run", "run"), ("batery", "battery"),
                                         ("xyz", None), (3, None)])
def test_evaluate_bad_stage(proto, stage, near):
    with pytest.raises(ProtocolError) as info:
        evaluate_point(proto, stage)
    msg = str(info.value)
    assert "\n" not in msg and "battery, tomography, run" in msg
    assert (f"did you mean {near!r}?" in msg) if near else ("did you mean" not in msg)


def test_evaluate_point_is_picklable(small):
    f, p = pickle.loads(pickle.dumps((evaluate_point, small)))
    assert f is evaluate_point and p == small
    assert f(p, "battery") == evaluate_point(small, "battery")


def test_reduced_run_point_is_finite_and_agrees_with_tomography(small):
    g = Grid((parse_over("acquisition.snr=50", small),), replicas=1)
    p = point_protocol(small, g, 0)
    run = evaluate_point(p, "run")
    assert set(run) == {"max_ergotropy", "max_ergotropy_se", "expected_max_ergotropy", "ideal_max_ergotropy",
                        "relative_error"}
    assert all(type(v) is float and math.isfinite(v) for v in run.values())
    assert run["max_ergotropy_se"] > 0
    ideal = float(charge(p.model(), p.T, p.omega_t()).ergotropy.max())
    assert run["ideal_max_ergotropy"] == pytest.approx(ideal, abs=1e-12)
    assert run["relative_error"] == pytest.approx((run["max_ergotropy"] - ideal) / ideal)
    assert abs(run["relative_error"]) < 0.2
    # the tomography stage simulates only the maximum's Ωt: other noise draws,
    # the same noiseless experiment, an estimate within the run's error bars
    tomo = evaluate_point(p, "tomography")
    assert tomo["max_ergotropy_se"] == 0.0
    assert tomo["ideal_max_ergotropy"] == run["ideal_max_ergotropy"]
    assert tomo["expected_max_ergotropy"] == pytest.approx(run["expected_max_ergotropy"], rel=1e-9)
    assert abs(tomo["max_ergotropy"] - run["max_ergotropy"]) < 5 * math.sqrt(2) * run["max_ergotropy_se"]
