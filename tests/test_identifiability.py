"""Identifiability of (B, D, G, Δ, ε, T, α) from charged-state data
(docs/identifiability.md; each test is named in the claim it checks there).

Data: the line amplitudes (tomography.nmr_two_spin_model(...).predict) of
ρ(Ωt) = (1 − α) I/4 + α U ζ U†, ζ = DipolarModel.gibbs_array(T),
U = expm(−iΩt·charging_hamiltonian_array(1)).  α is O(1) here so that 1e-12
comparisons are not limited by forming 1/4 + O(α) in floating point.
"""

import math

import numpy as np
import pytest
import scipy.linalg
from scipy.optimize import least_squares

import tomography
from nmrqb import identifiability as idf
from nmrqb.model import DipolarModel

ENERGIES = ("B", "D", "G", "Delta", "epsilon")
GRID = np.linspace(0.0, math.pi, 19)  # the default protocol's Ωt
RNG_SETS = [(np.random.default_rng(s).uniform(-1, 1, 5), 0.7 + 0.1 * s, 0.3 + 0.1 * s) for s in range(4)]
P = idf._p2  # two-qubit Pauli product from its label


def states(model, T, alpha, omega_t=GRID):
    """ρ(Ωt) built from the public model API only (independent of idf.charged_states)."""
    zeta = model.gibbs_array(T)
    h = model.charging_hamiltonian_array(1.0)
    out = []
    for w in np.atleast_1d(omega_t):
        u = scipy.linalg.expm(-1j * w * h)
        out.append((1 - alpha) * np.eye(4) / 4 + alpha * u @ zeta @ u.conj().T)
    return np.array(out)


def data(model, T, alpha, readouts="full9", omega_t=GRID):
    return tomography.nmr_two_spin_model(readouts).predict(states(model, T, alpha, omega_t))


def rel_sv(jac):
    s = np.linalg.svd(jac, compute_uv=False)
    return s / s[0]


# ----------------------------------------------------------------- §1 structure
def test_block_structure_and_no_isotropic_exchange():
    rng = np.random.default_rng(0)
    for _ in range(5):
        b, d, g, dl, e = rng.uniform(-2, 2, 5)
        h = DipolarModel(b, d, g, dl, e).hamiltonian_array()
        assert np.abs(h @ P("ZZ") - P("ZZ") @ h).max() < 1e-14  # parity: DQ ⊕ ZQ blocks
        assert h[3, 0] == pytest.approx(2 * e + 2j * g, abs=1e-14)  # <11|H|00>: ε, G as Re, Im
        assert h[2, 1] == pytest.approx(-2 * dl / 3 - 2j * d, abs=1e-14)  # <10|H|01>: Re tied to Δ
        assert h[1, 1] == pytest.approx(-2 * dl / 3) and h[2, 2] == pytest.approx(-2 * dl / 3)
        assert abs(np.trace(h @ (P("XX") + P("YY") + P("ZZ")))) < 1e-13  # the dipolar tensor is traceless
        assert abs(np.trace(h @ (P("ZI") - P("IZ")))) < 1e-13


def test_spectrum_sees_only_delta_kappa1_kappa2():
    rng = np.random.default_rng(1)
    for _ in range(5):
        b, d, g, dl, e = rng.uniform(-2, 2, 5)
        rot = scipy.linalg.expm(np.cross(np.eye(3), rng.normal(size=3)))  # a random rotation of (ε, G, B)
        e2, g2, b2 = rot @ [e, g, b]
        v1 = DipolarModel(b, d, g, dl, e).spectrum_array()[0]
        v2 = DipolarModel(b2, -d, g2, dl, e2).spectrum_array()[0]
        np.testing.assert_allclose(v1, v2, atol=1e-13)


def test_dq_phase_is_a_collective_z_rotation_that_the_charging_fixes():
    rng = np.random.default_rng(2)
    b, d, g, dl, e = rng.uniform(-1, 1, 5)
    phi = 0.7
    rz = scipy.linalg.expm(-1j * phi * (P("ZI") + P("IZ")) / 2)
    z = (e + 1j * g) * np.exp(2j * phi)  # ε' + iG' = e^{2iφ}(ε + iG)
    m, m2 = DipolarModel(b, d, g, dl, e), DipolarModel(b, d, z.imag, dl, z.real)
    np.testing.assert_allclose(rz @ m.hamiltonian_array() @ rz.conj().T, m2.hamiltonian_array(), atol=1e-14)
    np.testing.assert_allclose(rz @ m.gibbs_array(1.0) @ rz.conj().T, m2.gibbs_array(1.0), atol=1e-14)
    # the rotation does not commute with XI + IX, and the readout frame sees it: both data sets differ
    hch = m.charging_hamiltonian_array(1.0)
    assert np.abs(rz @ hch - hch @ rz).max() > 0.1
    assert np.abs(data(m, 1.0, 0.5) - data(m2, 1.0, 0.5)).max() > 1e-3
    assert np.abs(data(m, 1.0, 0.5, omega_t=[0.0]) - data(m2, 1.0, 0.5, omega_t=[0.0])).max() > 1e-3


def test_zq_rotation_leaves_the_model_family():
    m = DipolarModel(0.3, 0.4, -0.2, 1.0, 0.5)
    for phi in (0.3, 1.1, 2.0):
        rz = scipy.linalg.expm(-1j * phi * (P("ZI") - P("IZ")) / 2)
        h2 = rz @ m.hamiltonian_array() @ rz.conj().T
        # still block diagonal and ZI = IZ, but an isotropic-exchange part appears: not an H_DP
        assert abs(np.trace(h2 @ (P("XX") + P("YY") + P("ZZ")))) > 0.1


# ------------------------------------------------------------ §1 sign flips
FLIPS = [("B",), ("D",), ("G",), ("B", "D"), ("B", "G"), ("D", "G"), ("B", "D", "G")]


@pytest.mark.parametrize("flipped", FLIPS)
def test_sign_flip_state_maps(flipped):
    for p, T, a in RNG_SETS[:2]:
        m = DipolarModel(*p)
        rho = states(m, T, a)
        rho_f = states(idf.flip_signs(m, flipped), T, a)
        np.testing.assert_allclose(rho_f, idf.flip_state(rho, flipped), atol=1e-12)
        # ... and full tomography sees the difference: the signs are determined
        assert np.abs(data(m, T, a) - data(idf.flip_signs(m, flipped), T, a)).max() > 1e-3


def test_exact_sign_flips_per_data_kind():
    assert idf.exact_sign_flips("full9") == ()
    for ro in tomography.NMR_FULL9:
        assert idf.exact_sign_flips([ro]) == ()  # charging over the grid: every single readout sees all signs
    assert idf.exact_sign_flips(["II"], [0.0]) == tuple(FLIPS)  # the Gibbs state has no transverse magnetisation
    assert idf.exact_sign_flips(["XY"], [0.0]) == (("D",), ("G",), ("D", "G"))
    assert idf.exact_sign_flips(["YX"], [0.0]) == (("D",), ("G",), ("D", "G"))
    assert idf.exact_sign_flips(["XI"], [0.0]) == ()
    col = idf.collective_model()
    assert idf.exact_sign_flips(col) == (("D",),)
    for p, T, a in RNG_SETS:
        m = DipolarModel(*p)
        np.testing.assert_allclose(col.predict(states(m, T, a)), col.predict(states(idf.flip_signs(m, "D"), T, a)),
                                   atol=1e-12)
        np.testing.assert_allclose(data(m, T, a, ["XY"], [0.0]), data(idf.flip_signs(m, "DG"), T, a, ["XY"], [0.0]),
                                   atol=1e-12)


def test_omega_t_relations():
    p, T, a = RNG_SETS[0]
    m = DipolarModel(*p)
    w = np.linspace(-1, 2, 7)
    np.testing.assert_allclose(states(m, T, a, w + math.pi / 2), states(idf.flip_signs(m, "BDG"), T, a, w), atol=1e-12)
    np.testing.assert_allclose(states(m, T, a, w + math.pi), states(m, T, a, w), atol=1e-12)
    np.testing.assert_allclose(states(m, T, a, -w), P("ZZ") @ states(m, T, a, w) @ P("ZZ"), atol=1e-12)
    # so adding Ωt = π/2 to Ωt = 0 adds nothing for any readout set
    for ro in tomography.NMR_FULL9:
        assert idf.lost_components([ro], [0.0, math.pi / 2]) == idf.lost_components([ro], [0.0])


# ---------------------------------------------------------------- §2 scalings
def test_energy_scale_is_exact():
    for p, T, a in RNG_SETS:
        m = DipolarModel(*p)
        for lam in (0.1, 3.0):
            np.testing.assert_allclose(data(DipolarModel(*(lam * p)), lam * T, a), data(m, T, a), atol=1e-12)


def test_mirror_h_alpha_is_only_first_order():
    # (H, α) → (−H, −α) matches to first order in H/T only: the relative mismatch falls as 1/T
    m, mm = DipolarModel(0.3, -0.4, 0.2, 1.0, 0.5), DipolarModel(-0.3, 0.4, -0.2, -1.0, -0.5)
    model = tomography.nmr_two_spin_model("full9")
    mis = []
    for T in (100.0, 1000.0):
        d1 = model.predict(states(m, T, 0.5) - np.eye(4) / 4, physical=False)
        d2 = model.predict(-0.5 * (states(mm, T, 1.0) - np.eye(4) / 4), physical=False)
        mis.append(np.abs(d1 - d2).max() / np.abs(d1).max())
    assert 1e-4 < mis[0] < 1e-1
    assert mis[0] / mis[1] == pytest.approx(10, rel=0.05)


def test_jacobian_matches_finite_differences():
    p, T, a = RNG_SETS[1]
    m = DipolarModel(*p)
    jac = idf.jacobian(m, T, a, GRID, "full9")
    x0 = np.r_[p, T, a]
    scale = np.r_[np.full(6, T), a]  # relative coordinates: p/T, ln T, ln α
    for i in range(7):
        h = 1e-6 * scale[i]
        up, dn = x0.copy(), x0.copy()
        up[i] += h
        dn[i] -= h
        fd = (data(DipolarModel(*up[:5]), up[5], up[6]) - data(DipolarModel(*dn[:5]), dn[5], dn[6])).ravel()
        np.testing.assert_allclose(jac[:, i], fd / (2 * h) * scale[i], atol=1e-8)


@pytest.mark.parametrize("readouts,omega_t", [("full9", GRID), ("minimal4", GRID), ("full9", [0.0]),
                                              ("full9", [0.4])])
def test_complete_data_null_space_is_the_energy_scale(readouts, omega_t):
    for p, T, a in RNG_SETS:
        m = DipolarModel(*p)
        jac = idf.jacobian(m, T, a, omega_t, readouts)
        s = rel_sv(jac)
        assert s[-1] < 1e-13 and s[-2] > 1e-4  # rank 6 of 7
        null = np.linalg.svd(jac)[2][-1]
        scale = np.r_[p / T, 1.0, 0.0]
        assert abs(null @ scale) / np.linalg.norm(scale) > 1 - 1e-12


def test_high_temperature_alpha_direction_is_weak():
    m = DipolarModel(0.3, -0.4, 0.2, 1.0, 0.5)
    vary = ("B", "D", "G", "Delta", "epsilon", "alpha")  # T fixed: no scale null vector
    smin = [rel_sv(idf.jacobian(m, T, 0.5, GRID, "full9", vary))[-1] for T in (100.0, 1000.0)]
    assert smin[0] / smin[1] == pytest.approx(100, rel=0.05)  # ∝ (H/T)²
    weak = [d for d in idf.symmetries(m, 100.0, 0.5, vary=vary) if d.kind == "weak"]
    assert len(weak) == 1 and "alpha" in weak[0].parameters and "α against the scale of H/T" in weak[0].reason
    assert idf.symmetries(m, 1.0, 0.5, vary=vary) == ()


# ----------------------------------------------------------------- §3 reduced data
LOST = {  # readout: (lost over the charging grid, lost at Ωt = 0 only) — the table of docs/identifiability.md §3
    "II": (("XX", "ZZ+YY"), ("XX", "ZZ", "YY", "ZI+IZ", "XY", "YX")),
    "IX": (("XX",), ("XX", "YX")),
    "IY": (("XY",), ("YY", "XY")),
    "XI": (("XX",), ("XX", "XY")),
    "XX": (("XX", "ZZ+YY"), ("XX", "ZZ", "YY")),
    "XY": (("XY",), ("ZZ", "XY", "YX")),
    "YI": (("YX",), ("YY", "YX")),
    "YX": (("YX",), ("ZZ", "XY", "YX")),
    "YY": (("XX", "ZZ", "YY"), ("XX", "ZZ", "YY")),
}


@pytest.mark.parametrize("ro", tomography.NMR_FULL9)
def test_lost_components_table(ro):
    assert idf.lost_components([ro]) == LOST[ro][0]
    assert idf.lost_components([ro], [0.0]) == LOST[ro][1]


def test_lost_components_complete_and_collective():
    assert idf.lost_components("full9") == idf.lost_components("full9", [0.0]) == ()
    assert idf.lost_components("minimal4", [0.3]) == ()
    assert idf.lost_components(idf.collective_model()) == ("XX", "ZZ+YY", "XY−YX")


CASES = [([ro], w) for ro in tomography.NMR_FULL9 for w in (GRID, [0.0])] + [(idf.collective_model(), GRID)]


@pytest.mark.parametrize("readouts,omega_t", CASES)
def test_nullity_is_one_plus_lost_components(readouts, omega_t):
    k = len(idf.lost_components(readouts, omega_t))
    for p, T, a in RNG_SETS[:2]:
        m = DipolarModel(*p)
        if k == 6:  # nothing is seen: the data are zero for every parameter set
            assert np.abs(idf.jacobian(m, T, a, omega_t, readouts)).max() < 1e-15
            assert np.abs(data(m, T, a, readouts, omega_t)).max() < 1e-15
            continue
        s = rel_sv(idf.jacobian(m, T, a, omega_t, readouts))
        s = np.concatenate([s, np.zeros(7 - s.size)])
        zero = s < 1e-11
        assert zero.sum() == 1 + k
        assert s[~zero].min() > 1e-5  # a clear gap: the rest is determined
        # α and T fixed: the energies lose one direction fewer (α absorbed a lost component)
        s5 = rel_sv(idf.jacobian(m, T, a, omega_t, readouts, ENERGIES))
        s5 = np.concatenate([s5, np.zeros(5 - s5.size)])
        assert (s5 < 1e-11).sum() == max(k - 1, 0)


def seen(x, alpha, drop):
    """The components of α(ζ(x) − I/4) (T = 1) except those in drop."""
    dev = alpha * (DipolarModel(*x).gibbs_array(1.0) - np.eye(4) / 4)
    ops = {"XX": P("XX"), "ZZ+YY": P("ZZ") + P("YY"), "ZZ−YY": P("ZZ") - P("YY"),
           "ZI+IZ": P("ZI") + P("IZ"), "XY": P("XY"), "YX": P("YX")}
    return np.array([np.trace(dev @ op).real for name, op in ops.items() if name not in drop])


def test_xi_family_is_exact():
    # one readout "XI" never sees the XX component: a curve of (H/T, α) with identical XI data (not full9 data)
    for p, T, a in RNG_SETS[:2]:
        x = p / T
        target = seen(x, a, ("XX",))
        a2 = 1.02 * a
        fit = least_squares(lambda y: seen(y, a2, ("XX",)) - target, x, xtol=1e-15, ftol=1e-15, gtol=1e-15)
        m2 = DipolarModel(*fit.x)
        m1 = DipolarModel(*x)
        np.testing.assert_allclose(data(m2, 1.0, a2, ["XI"]), data(m1, 1.0, a, ["XI"]), atol=1e-12)
        assert np.abs(data(m2, 1.0, a2) - data(m1, 1.0, a)).max() > 1e-4


def test_receiver_phases_add_no_null_direction():
    # a free receiver phase per channel rotates the (x, y) quadratures of that channel's lines
    p, T, a = RNG_SETS[2]
    m = DipolarModel(*p)
    for ro in ("full9", ["II"], ["XI"], ["YY"]):
        model = tomography.nmr_two_spin_model(ro)
        y = model.predict(states(m, T, a))
        labels = model.line_labels
        cols = []
        for spin in "12":
            c = np.zeros_like(y)
            for j, lab in enumerate(labels):
                r, ln = lab.split("/")
                if ln[0] == spin:
                    other = labels.index(f"{r}/{spin}{'y' if ln[1] == 'x' else 'x'}|{ln[3]}")
                    c[:, j] = -y[:, other] if ln[1] == "x" else y[:, other]
            cols.append(c.ravel())
        jac = idf.jacobian(m, T, a, GRID, ro)
        both = np.hstack([jac, np.array(cols).T])
        assert (rel_sv(both) < 1e-11).sum() == (rel_sv(jac) < 1e-11).sum()


# ------------------------------------------------------------ discrete α partners
PARTNER = DipolarModel(0.5, -0.8, 0.6, 0.3, -0.1)


def test_alpha_partner_gives_identical_states():
    (m2, a2), = idf.alpha_partners(PARTNER, 1.0, 0.5)
    assert a2 == pytest.approx(0.72330779, rel=1e-6)
    np.testing.assert_allclose(states(m2, 1.0, a2), states(PARTNER, 1.0, 0.5), atol=1e-12)
    np.testing.assert_allclose(data(m2, 1.0, a2), data(PARTNER, 1.0, 0.5), atol=1e-12)
    # the same eigenvectors: ε : G : B and Δ : D are kept, the block splittings are not
    v1, v2 = np.array([0.5, 0.6, -0.1]), np.array([m2.B, m2.G, m2.epsilon])
    assert abs(v1 @ v2) / np.linalg.norm(v1) / np.linalg.norm(v2) == pytest.approx(1, abs=1e-12)
    assert m2.D / m2.Delta == pytest.approx(-0.8 / 0.3, rel=1e-10)
    assert abs(m2.Delta - 0.3) > 0.05


def test_alpha_partners_are_rare_and_single():
    assert idf.alpha_partners(DipolarModel(0, 0, 0, 1.0, 0.5), 1.0, 1e-5) == ()  # the default protocol
    rng = np.random.default_rng(7)
    counts = [len(idf.alpha_partners(DipolarModel(*rng.normal(size=5)), float(np.exp(rng.uniform(-1.6, 3))), 1e-5))
              for _ in range(150)]
    assert max(counts) == 1 and 0 < sum(counts) < 60
    assert idf.alpha_partners(PARTNER, 1.0, 0.5, alpha_max=0.7) == ()  # α' = 0.723 is above the bound


# ------------------------------------------------------------------ the report
def test_symmetries_report():
    default = DipolarModel(0, 0, 0, 1.0, 0.5)
    (d,) = idf.symmetries(default, 1.0, 0.5)
    assert d.kind == "scale" and d.parameters == ("Delta", "epsilon", "T") and "H/T" in d.combination
    assert idf.symmetries(default, 1.0, 0.5, vary=("B", "D", "G", "Delta", "epsilon", "alpha")) == ()
    kinds = [x.kind for x in idf.symmetries(default, 1.0, 0.5, ["XI"])]
    assert kinds == ["scale", "null"]
    assert "XX" in idf.symmetries(default, 1.0, 0.5, ["XI"])[1].reason
    # the collective (homonuclear) readouts: D's sign
    m = DipolarModel(*RNG_SETS[0][0])
    signs = [x for x in idf.symmetries(m, 1.0, 0.5, idf.collective_model()) if x.kind == "sign"]
    assert len(signs) == 1 and signs[0].parameters == ("D",) and signs[0].partner["D"] == -m.D
    assert not [x for x in idf.symmetries(m, 1.0, 0.5, idf.collective_model(), vary=("B", "G", "Delta"))
                if x.kind == "sign"]
    # the α partner, with its parameters, unless α is fixed
    part = [x for x in idf.symmetries(PARTNER, 1.0, 0.5) if x.kind == "alpha-partner"]
    assert len(part) == 1
    q = part[0].partner
    np.testing.assert_allclose(data(DipolarModel(*(q[n] for n in ENERGIES)), q["T"], q["alpha"]),
                               data(PARTNER, 1.0, 0.5), atol=1e-12)
    assert not [x for x in idf.symmetries(PARTNER, 1.0, 0.5, vary=ENERGIES + ("T",)) if x.kind == "alpha-partner"]
    lines = idf.undetermined(PARTNER, 1.0, 0.5)
    assert len(lines) == 2 and all(isinstance(a, str) and isinstance(b, str) and b for a, b in lines)


def test_null_directions_are_null():
    m = DipolarModel(*RNG_SETS[3][0])
    for ro in (["II"], ["YY"], idf.collective_model()):
        jac = idf.jacobian(m, 1.2, 0.6, GRID, ro)
        for d in idf.symmetries(m, 1.2, 0.6, ro):
            if d.kind in ("scale", "null"):
                v = np.array([d.direction[n] for n in idf.PARAMETERS])
                assert np.linalg.norm(jac @ v) < 1e-11 * np.linalg.norm(jac)


def test_bad_input():
    with pytest.raises(Exception, match="vary"):
        idf.symmetries(PARTNER, 1.0, 0.5, vary=("B", "nope"))
    with pytest.raises(Exception, match="alpha"):
        idf.jacobian(PARTNER, 1.0, -0.1)
    with pytest.raises(Exception, match="flipped"):
        idf.flip_signs(PARTNER, ("Delta",))
