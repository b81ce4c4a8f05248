"""Tests of the batched 4x4 spectral kernels in ``nmrqb._eig4``.

References: ``np.linalg.eigvalsh`` for :func:`eigvalsh4`; for
:func:`wootters_lambdas` the singular values of ``tau = W^T (Y(x)Y) W`` with
``rho = W W^dagger`` from ``np.linalg.eigh`` (accurate also for most
rank-deficient states, see ``_hard_states``) and ``qutip.concurrence``.
Contracts: absolute error <= 1e-12 * max(1, ||A||_F) for eigvalsh4, <= 1e-12
for the lambdas, on every input (the fast path certifies its rows, X-shaped
matrices are solved in closed form, the rest go to LAPACK).
"""

from __future__ import annotations

import zlib

import numpy as np
import pytest
import qutip
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nmrqb._eig4 import _eigvalsh4_fast, _wootters_fast, eigvalsh4, wootters_lambdas

TOL = 1e-12
_Y = np.array([[0, -1j], [1j, 0]])
YY = np.kron(_Y, _Y)
PSI_MINUS = np.array([0, 1, -1, 0]) / np.sqrt(2)
PHI_PLUS = np.array([1, 0, 0, 1]) / np.sqrt(2)
HYP = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# ---------------------------------------------------------------------------
# references and generators
# ---------------------------------------------------------------------------

def wootters_ref(rho):
    w, v = np.linalg.eigh(rho)
    wv = v * np.sqrt(np.maximum(w, 0.0))[..., None, :]
    tau = np.swapaxes(wv, -1, -2) @ YY @ wv
    return np.linalg.svd(tau, compute_uv=False)


def eig_tol(a):
    s = np.abs(a).max(axis=(-2, -1), keepdims=True)
    s = np.where(s > 0, s, 1.0)
    norm = np.linalg.norm(a / s, axis=(-2, -1)) * s[..., 0, 0]  # no overflow
    return TOL * np.maximum(1.0, norm)


def haar(rng, size=()):
    z = rng.normal(size=size + (4, 4)) + 1j * rng.normal(size=size + (4, 4))
    q, r = np.linalg.qr(z)
    ph = np.diagonal(r, axis1=-2, axis2=-1)
    return q * (ph / np.abs(ph))[..., None, :]


def rand_herm(rng, size=()):
    a = rng.normal(size=size + (4, 4)) + 1j * rng.normal(size=size + (4, 4))
    return (a + np.swapaxes(a, -1, -2).conj()) / 2


def rand_dm(rng, rank=4, size=()):
    w = rng.normal(size=size + (4, rank)) + 1j * rng.normal(size=size + (4, rank))
    rho = w @ np.swapaxes(w, -1, -2).conj()
    return rho / np.trace(rho, axis1=-2, axis2=-1).real[..., None, None]


def with_spectrum(rng, w, size=()):
    u = haar(rng, size)
    return (u * np.asarray(w)[..., None, :]) @ np.swapaxes(u, -1, -2).conj()


def proj(psi):
    return np.outer(psi, psi.conj())


def werner(p):
    return p * proj(PSI_MINUS) + (1 - p) * np.eye(4) / 4


def local(rng, rho):
    """Apply a random local unitary U_A (x) U_B (keeps the lambdas)."""
    def u2():
        z = rng.normal(size=(2, 2)) + 1j * rng.normal(size=(2, 2))
        q, _ = np.linalg.qr(z)
        return q
    u = np.kron(u2(), u2())
    return u @ rho @ u.conj().T


def gibbs_xxx(beta):
    """Gibbs state of the Heisenberg XXX coupling: triplet (3-fold) degeneracy."""
    x = np.array([[0, 1], [1, 0]])
    z = np.diag([1.0, -1.0])
    h = np.kron(x, x) + np.kron(_Y, _Y).real + np.kron(z, z)
    w, v = np.linalg.eigh(h)
    p = np.exp(-beta * (w - w.min()))
    return (v * (p / p.sum())) @ v.conj().T


def product_state(rng, pure):
    def qubit():
        if pure:
            psi = rng.normal(size=2) + 1j * rng.normal(size=2)
            return proj(psi / np.linalg.norm(psi))
        r = rng.normal(size=(2, 2)) + 1j * rng.normal(size=(2, 2))
        r = r @ r.conj().T
        return r / np.trace(r).real
    return np.kron(qubit(), qubit())


# ---------------------------------------------------------------------------
# hypothesis properties
# ---------------------------------------------------------------------------

EIG_KINDS = ["herm", "dm4", "dm3", "dm2", "dm1", "scaled", "shifted", "near_degenerate", "real"]


def make_eig_input(kind, seed):
    rng = np.random.default_rng(seed)
    if kind == "herm":
        return rand_herm(rng)
    if kind.startswith("dm"):
        return rand_dm(rng, int(kind[2]))
    if kind == "scaled":
        return rand_herm(rng) * 10.0 ** rng.uniform(-8, 8)
    if kind == "shifted":
        return rand_herm(rng) * 10.0 ** rng.uniform(-9, 0) + rng.uniform(-100, 100) * np.eye(4)
    if kind == "near_degenerate":
        w = np.sort(rng.uniform(-1, 1, 4))
        w[1] = w[0] + 10.0 ** rng.uniform(-14, -1)
        if rng.random() < 0.5:
            w[3] = w[2] + 10.0 ** rng.uniform(-14, -1)
        return with_spectrum(rng, w)
    if kind == "real":
        a = rng.normal(size=(4, 4))
        return a + a.T
    raise AssertionError(kind)


@HYP
@given(kind=st.sampled_from(EIG_KINDS), seed=st.integers(0, 2**32 - 1))
def test_eigvalsh4_matches_numpy(kind, seed):
    a = make_eig_input(kind, seed)
    w = eigvalsh4(a)
    ref = np.linalg.eigvalsh(a)
    assert w.shape == (4,) and w.dtype == np.float64
    assert np.all(np.abs(w - ref) <= eig_tol(a))
    assert np.all(np.diff(w) >= 0)


W_KINDS = ["dm4", "dm3", "dm2", "dm1", "werner", "bell_mix", "product", "product_pure",
           "near_pure", "x_state"]


def make_state(kind, seed):
    rng = np.random.default_rng(seed)
    if kind.startswith("dm"):
        return rand_dm(rng, int(kind[2]))
    if kind == "werner":
        return local(rng, werner(rng.uniform(0, 1)))
    if kind == "bell_mix":  # Bell-diagonal-ish state plus a random perturbation
        t = 10.0 ** rng.uniform(-12, -1)
        return (1 - t) * local(rng, werner(rng.uniform(-1 / 3, 1))) + t * rand_dm(rng)
    if kind == "product":
        return product_state(rng, pure=False)
    if kind == "product_pure":
        return product_state(rng, pure=True)
    if kind == "near_pure":
        t = 10.0 ** rng.uniform(-12, -2)
        return (1 - t) * rand_dm(rng, 1) + t * rand_dm(rng)
    if kind == "x_state":
        return random_x_states(rng, 1)[0]
    raise AssertionError(kind)


@HYP
@given(kind=st.sampled_from(W_KINDS), seed=st.integers(0, 2**32 - 1))
def test_wootters_matches_reference(kind, seed):
    rho = make_state(kind, seed)
    lam = wootters_lambdas(rho)
    ref = wootters_ref(rho)
    assert lam.shape == (4,) and lam.dtype == np.float64
    assert np.all(np.abs(lam - ref) <= TOL)
    assert np.all(np.diff(lam) <= 0) and lam[-1] >= 0


@settings(max_examples=200, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_concurrence_matches_qutip(seed):
    rho = qutip.rand_dm([2, 2], distribution="hs", seed=seed)
    lam = wootters_lambdas(rho.full())
    conc = max(0.0, lam[0] - lam[1] - lam[2] - lam[3])
    assert abs(conc - qutip.concurrence(rho)) <= 1e-10


# ---------------------------------------------------------------------------
# large random batches (both paths, certified rows)
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["herm", "dm4", "dm3", "near_degenerate", "scaled", "shifted"])
def test_eigvalsh4_batches(kind):
    rng = np.random.default_rng(zlib.crc32(kind.encode()))
    a = np.stack([make_eig_input(kind, s) for s in rng.integers(0, 2**32, 3000)])
    w = eigvalsh4(a)
    assert np.all(np.abs(w - np.linalg.eigvalsh(a)) <= eig_tol(a)[:, None])
    assert np.all(np.diff(w, axis=-1) >= 0)


@pytest.mark.parametrize("kind", ["dm4", "dm3", "bell_mix", "near_pure"])
def test_wootters_batches(kind):
    rng = np.random.default_rng(zlib.crc32(kind.encode()))
    rho = np.stack([make_state(kind, s) for s in rng.integers(0, 2**32, 3000)])
    lam = wootters_lambdas(rho)
    assert np.all(np.abs(lam - wootters_ref(rho)) <= TOL)


def test_random_batch_large():
    rng = np.random.default_rng(12345)
    rho = rand_dm(rng, size=(40000,))
    assert np.all(np.abs(eigvalsh4(rho) - np.linalg.eigvalsh(rho)) <= TOL)
    assert np.all(np.abs(wootters_lambdas(rho) - wootters_ref(rho)) <= TOL)


# ---------------------------------------------------------------------------
# hard cases
# ---------------------------------------------------------------------------

def _hard_eig_cases():
    rng = np.random.default_rng(7)
    g = 1e-9
    return {
        "zero": np.zeros((4, 4)),
        "identity/4": np.eye(4) / 4,
        "identity*1e6": np.eye(4) * 1e6,
        "tiny": rand_herm(rng) * 1e-200,
        "huge": rand_herm(rng) * 1e200,
        "diag(.5,.5,0,0)": np.diag([0.5, 0.5, 0, 0]).astype(complex),
        "2+2 rotated": with_spectrum(rng, [0.1, 0.1, 0.4, 0.4]),
        "3+1 rotated": with_spectrum(rng, [0.1, 0.1, 0.1, 0.7]),
        "1+3 rotated": with_spectrum(rng, [-1.0, 2.0, 2.0, 2.0]),
        "gaps 1e-9": with_spectrum(rng, [0.25 - g, 0.25, 0.25 + g, 0.25 + 2 * g]),
        "pairs 1e-9": with_spectrum(rng, [0.1, 0.1 + g, 0.4, 0.4 + g]),
        "pure": proj(PSI_MINUS),
        "pure random": rand_dm(rng, 1),
        "rank 2": rand_dm(rng, 2),
        "gibbs xxx beta=1": gibbs_xxx(1.0),
        "gibbs xxx beta=20": gibbs_xxx(20.0),
        "gibbs near-degenerate": with_spectrum(rng, np.exp(-np.array([0, 1, 1 + 1e-9, 2])) / 3),
        "real symmetric": np.diag([1.0, 2.0, 3.0, 4.0]) + 0.1 * np.ones((4, 4)),
    }


HARD_EIG = _hard_eig_cases()


@pytest.mark.parametrize("name", list(HARD_EIG))
def test_eigvalsh4_hard_cases(name):
    a = HARD_EIG[name]
    w = eigvalsh4(a)
    assert np.all(np.abs(w - np.linalg.eigvalsh(a)) <= eig_tol(a))
    assert np.all(np.diff(w) >= 0)


def _hard_states():
    """name -> (rho, exact lambdas or None, tolerance for the exact values).

    Rank-deficient states whose entries are not exact binary fractions are
    only rank-deficient up to rounding: their exact lambdas (and the eigh+svd
    reference) sit within ~sqrt(eps) ~ 1e-8 of the ideal values, since lambda
    ~ sqrt(mu) and the spurious eigenvalues of rho are ~1e-17.  Those cases
    are compared with the ideal values at 1e-7, with the reference at 1e-12.
    """
    rng = np.random.default_rng(11)
    lam_werner = lambda p: [(1 + 3 * p) / 4] + [(1 - p) / 4] * 3  # noqa: E731
    cases = {
        "bell psi-": (proj(PSI_MINUS), [1, 0, 0, 0], TOL),
        "bell phi+": (proj(PHI_PLUS), [1, 0, 0, 0], TOL),
        "bell local": (local(rng, proj(PHI_PLUS)), [1, 0, 0, 0], 1e-7),
        "maximally mixed": (np.eye(4) / 4, [0.25] * 4, TOL),
        "|00>": (np.diag([1.0, 0, 0, 0]).astype(complex), [0, 0, 0, 0], TOL),
        "|0>|+>": (np.kron(np.diag([1.0, 0]), np.full((2, 2), 0.5)).astype(complex), [0] * 4, TOL),
        "diag(.5,.5,0,0)": (np.diag([0.5, 0.5, 0, 0]).astype(complex), [0, 0, 0, 0], TOL),
        "product pure": (product_state(rng, True), [0, 0, 0, 0], 1e-7),
        "gibbs xxx beta=2": (gibbs_xxx(2.0), None, None),
        "rank 2": (rand_dm(rng, 2), None, None),
        "rank 3": (rand_dm(rng, 3), None, None),
        "near pure": ((1 - 1e-10) * rand_dm(rng, 1) + 1e-10 * np.eye(4) / 4, None, None),
    }
    for p in (0.0, 1 / 3, 0.5, 0.9, 1.0):
        cases[f"werner p={p:.3g}"] = (werner(p), lam_werner(p), TOL)
    # product of mixed qubits: R = det(rA) det(rB) I, all four lambdas equal
    r = product_state(rng, pure=False)
    r4 = r.reshape(2, 2, 2, 2)
    da = np.linalg.det(np.trace(r4, axis1=1, axis2=3)).real
    db = np.linalg.det(np.trace(r4, axis1=0, axis2=2)).real
    cases["product mixed"] = (r, [np.sqrt(da * db)] * 4, TOL)
    return cases


HARD_W = _hard_states()


@pytest.mark.parametrize("name", list(HARD_W))
def test_wootters_hard_cases(name):
    rho, expected, atol = HARD_W[name]
    lam = wootters_lambdas(rho)
    assert np.all(np.abs(lam - wootters_ref(rho)) <= TOL)
    if expected is not None:
        np.testing.assert_allclose(lam, np.sort(expected)[::-1], rtol=0, atol=atol)


def test_mixed_batches_use_both_paths():
    rng = np.random.default_rng(3)
    easy = rand_dm(rng, size=(64,))
    hard = np.stack([v[0] for v in HARD_W.values()])
    batch = np.concatenate([easy, hard, easy[:5]])
    batch = batch[rng.permutation(len(batch))]
    # both paths are exercised inside the same batch ...
    _, ok_w = _wootters_fast(np.ascontiguousarray(batch))
    _, ok_e = _eigvalsh4_fast(np.ascontiguousarray(batch))
    assert ok_w.any() and not ok_w.all()
    assert ok_e.any() and not ok_e.all()
    # ... and every row meets the contract
    assert np.all(np.abs(wootters_lambdas(batch) - wootters_ref(batch)) <= TOL)
    assert np.all(np.abs(eigvalsh4(batch) - np.linalg.eigvalsh(batch)) <= TOL)


def test_werner_concurrence():
    for p in np.linspace(0, 1, 11):
        lam = wootters_lambdas(werner(p))
        conc = max(0.0, lam[0] - lam[1:].sum())
        assert abs(conc - max(0.0, (3 * p - 1) / 2)) <= TOL


# ---------------------------------------------------------------------------
# shapes and the fast path
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(), (3,), (2, 5), (0,), (2, 0, 3)])
def test_batch_shapes(shape):
    rng = np.random.default_rng(5)
    rho = rand_dm(rng, size=shape)
    for f, ref in ((eigvalsh4, np.linalg.eigvalsh), (wootters_lambdas, wootters_ref)):
        out = f(rho)
        assert out.shape == shape + (4,) and out.dtype == np.float64
        if rho.size:
            assert np.all(np.abs(out - ref(rho)) <= TOL)


def test_inputs_not_modified_and_non_contiguous():
    rng = np.random.default_rng(6)
    rho = rand_dm(rng, size=(6, 2))
    keep = rho.copy()
    view = rho.transpose(1, 0, 2, 3)  # non-contiguous batch
    assert np.all(np.abs(eigvalsh4(view) - np.linalg.eigvalsh(view)) <= TOL)
    assert np.all(np.abs(wootters_lambdas(view) - wootters_ref(view)) <= TOL)
    assert np.array_equal(rho, keep)


def test_fast_path_taken_for_generic_states():
    """The speed claim rests on the fast path: random states must not fall back."""
    rng = np.random.default_rng(2024)
    rho = np.ascontiguousarray(rand_dm(rng, size=(20000,)))
    _, ok_e = _eigvalsh4_fast(rho)
    _, ok_w = _wootters_fast(rho)
    assert ok_e.mean() > 0.99
    assert ok_w.mean() > 0.98
    h = np.ascontiguousarray(rand_herm(rng, size=(20000,)))
    assert _eigvalsh4_fast(h)[1].mean() > 0.99


def test_fast_path_rejects_degenerate_rows():
    """Degenerate spectra must be routed to LAPACK (the guard is live)."""
    rng = np.random.default_rng(8)
    # degenerate / near-degenerate spectra of rho (not X-shaped)
    hard_e = np.stack([
        with_spectrum(rng, [0.5, 0.5, 0, 0]),
        with_spectrum(rng, [0.1, 0.1 + 1e-9, 0.3, 0.5]),
        local(rng, werner(0.5)),
        rand_dm(rng, 2),
    ])
    assert not _eigvalsh4_fast(hard_e)[1].any()
    # degenerate Wootters mu (Bell, Werner, pure, rank 2; not X-shaped)
    hard_w = np.stack([
        local(rng, proj(PSI_MINUS)),
        local(rng, werner(0.5)),
        rand_dm(rng, 1),
        rand_dm(rng, 2),
    ])
    assert not _wootters_fast(hard_w)[1].any()


def random_x_states(rng, n):
    """X states: populations p, coherences rho_30 and rho_21 (PSD by construction)."""
    p = rng.dirichlet(np.ones(4), n)
    x = np.zeros((n, 4, 4), dtype=complex)
    x[:, range(4), range(4)] = p
    for (i, j) in ((3, 0), (2, 1)):
        phase = np.exp(1j * rng.uniform(0, 2 * np.pi, n))
        z = rng.uniform(0, 1, n) * np.sqrt(p[:, i] * p[:, j]) * phase
        x[:, i, j] = z
        x[:, j, i] = z.conj()
    return x


def test_x_states_exact_fast_path():
    """X states (diagonal/Gibbs/Werner/Bell-diagonal) take the closed-form path."""
    rng = np.random.default_rng(9)
    xs = random_x_states(rng, 5000)
    # degenerate ones: homonuclear Zeeman Gibbs states diag(p0, p1, p1, p3),
    # Werner and Bell-diagonal states, |00>, I/4
    beta = rng.uniform(0, 5, 50)
    z = np.exp(-np.outer(beta, [-1.0, 0.0, 0.0, 1.0]))
    gibbs = np.einsum("ni,ij->nij", z / z.sum(1, keepdims=True), np.eye(4)).astype(complex)
    extra = np.stack([werner(p) for p in np.linspace(0, 1, 7)]
                     + [proj(PSI_MINUS), proj(PHI_PLUS), np.eye(4) / 4, np.diag([1.0, 0, 0, 0])])
    batch = np.concatenate([xs, gibbs, extra.astype(complex)])
    ok_e = _eigvalsh4_fast(np.ascontiguousarray(batch))[1]
    ok_w = _wootters_fast(np.ascontiguousarray(batch))[1]
    assert ok_e.all() and ok_w.all()
    assert np.all(np.abs(eigvalsh4(batch) - np.linalg.eigvalsh(batch)) <= TOL)
    assert np.all(np.abs(wootters_lambdas(batch) - wootters_ref(batch)) <= TOL)
    # X-shaped Hermitian (not PSD) matrices with degenerate blocks, any scale
    h = np.zeros((200, 4, 4), dtype=complex)
    h[:, range(4), range(4)] = rng.integers(-2, 3, (200, 4)) * 10.0 ** rng.uniform(-5, 5, (200, 1))
    h[::2, 3, 0] = h[::2, 0, 3] = 1e-3
    assert _eigvalsh4_fast(h)[1].all()
    assert np.all(np.abs(eigvalsh4(h) - np.linalg.eigvalsh(h)) <= eig_tol(h)[:, None])
