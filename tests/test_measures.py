"""Public measures: agreement with qutip and closed forms, battery-measure
invariants, batching and input validation."""

import numpy as np
import pytest
import qutip
from hypothesis import given, settings
from hypothesis import strategies as st
from randstates import haar_unitary, random_state

from nmrqb import DipolarModel, PhysicsError
from nmrqb import measures as M

DIMS = [[2, 2], [2, 2]]
X = np.array([[0, 1], [1, 0]], complex)
Y = np.array([[0, -1j], [1j, 0]], complex)
Z = np.diag([1.0 + 0j, -1.0])
I2 = np.eye(2, dtype=complex)

seeds = st.integers(min_value=0, max_value=2**32 - 1)
params = st.floats(min_value=-3, max_value=3, allow_nan=False)
models = st.builds(DipolarModel, B=params, D=params, G=params, Delta=params, epsilon=params)
temps = st.floats(min_value=0.05, max_value=50)


def h2(p):
    """Binary entropy in bits."""
    return 0.0 if p <= 0 or p >= 1 else -p * np.log2(p) - (1 - p) * np.log2(1 - p)


# ------------------------------------------------------------- concurrence
def test_concurrence_matches_qutip_on_random_states():
    rng = np.random.default_rng(20261125)
    rhos = np.concatenate(
        [random_state(rng, size=(200,)), random_state(rng, rank=2, size=(25,)), random_state(rng, rank=3, size=(25,))]
    )
    ours = M.concurrence(rhos)
    ref = np.array([qutip.concurrence(qutip.Qobj(r, dims=DIMS)) for r in rhos])
    # qutip takes sqrt of eigenvalues of ρρ̃; for the full-rank states both
    # agree to round-off, 1e-10 leaves ample room.
    np.testing.assert_allclose(ours[:200], ref[:200], rtol=0, atol=1e-10)
    # For rank-deficient states qutip's sqrt of ~1e-17 eigenvalues costs it
    # ~1e-8; ours is exact, so compare at that looser level only there.
    np.testing.assert_allclose(ours[200:], ref[200:], rtol=0, atol=1e-7)
    assert any(ours > 0) and any(ours == 0)


@pytest.mark.parametrize("p", [0.0, 0.2, 1 / 3, 0.5, 0.9, 1.0])
def test_concurrence_of_werner_states(p):
    # Werner state p|Ψ−><Ψ−| + (1−p)I/4: C = max(0, (3p − 1)/2).
    psi = np.array([0, 1, -1, 0]) / np.sqrt(2)
    rho = p * np.outer(psi, psi) + (1 - p) * np.eye(4) / 4
    assert M.concurrence(rho) == pytest.approx(max(0.0, (3 * p - 1) / 2), abs=1e-12)


# ----------------------------------------------------------------- discord
def bell_diagonal(c):
    """¼(I + Σ c_i σ_i⊗σ_i)."""
    return (np.eye(4) + c[0] * np.kron(X, X) + c[1] * np.kron(Y, Y) + c[2] * np.kron(Z, Z)) / 4


def luo_discord(c):
    # S. Luo, PRA 77, 042303 (2008), Eq. (29): Bell-diagonal discord.
    c1, c2, c3 = c
    lam = np.array([1 - c1 - c2 - c3, 1 - c1 + c2 + c3, 1 + c1 - c2 + c3, 1 + c1 + c2 - c3]) / 4
    cm = max(abs(c1), abs(c2), abs(c3))
    s = sum(x * np.log2(x) for x in lam if x > 0)
    tail = sum(y / 2 * np.log2(y) for y in (1 - cm, 1 + cm) if y > 0)
    return 2 + s - tail


@pytest.mark.parametrize("p", [0.0, 0.1, 0.3, 0.5, 0.8, 0.99, 1.0])
def test_discord_of_werner_states(p):
    # Werner state = Bell-diagonal with c = (−p, −p, −p).
    psi = np.array([0, 1, -1, 0]) / np.sqrt(2)
    rho = p * np.outer(psi, psi) + (1 - p) * np.eye(4) / 4
    assert M.discord(rho) == pytest.approx(luo_discord((-p, -p, -p)), abs=1e-6)


def test_discord_of_bell_diagonal_states():
    rng = np.random.default_rng(7)
    n = 0
    while n < 40:
        c = rng.uniform(-1, 1, 3)
        rho = bell_diagonal(c)
        if np.linalg.eigvalsh(rho).min() < 0:
            continue  # not a state
        n += 1
        assert M.discord(rho) == pytest.approx(luo_discord(c), abs=1e-6)


def test_discord_zero_on_product_and_classical_quantum_states():
    rng = np.random.default_rng(11)
    for _ in range(20):
        prod = np.kron(random_state(rng, 2), random_state(rng, 2))
        assert M.discord(prod) == pytest.approx(0, abs=1e-6)
        # Classical-quantum: Σ p_k |k><k| ⊗ ρ_k in a random basis of qubit 1.
        u = haar_unitary(rng, 2)
        p = rng.uniform()
        cq = p * np.kron(np.outer(u[:, 0], u[:, 0].conj()), random_state(rng, 2)) + (1 - p) * np.kron(
            np.outer(u[:, 1], u[:, 1].conj()), random_state(rng, 2)
        )
        assert M.discord(cq) == pytest.approx(0, abs=1e-6)


def test_discord_of_pure_states_is_entanglement_entropy():
    rng = np.random.default_rng(3)
    for _ in range(30):
        psi = rng.normal(size=4) + 1j * rng.normal(size=4)
        psi /= np.linalg.norm(psi)
        rho = np.outer(psi, psi.conj())
        # Schmidt coefficients: singular values of the 2×2 coefficient matrix.
        s = np.linalg.svd(psi.reshape(2, 2), compute_uv=False) ** 2
        assert M.discord(rho) == pytest.approx(h2(s[0]), abs=1e-6)


@settings(max_examples=60, deadline=None)
@given(seeds, st.integers(min_value=1, max_value=4))
def test_discord_bounds(seed, rank):
    rng = np.random.default_rng(seed)
    rho = random_state(rng, rank=rank)
    d = M.discord(rho)
    t = rho.reshape(2, 2, 2, 2)
    s_a = M.von_neumann_entropy(np.einsum("ijkj->ik", t))
    assert d >= 0
    assert d <= min(s_a, 1) + 1e-9


# ------------------------------------------------------ battery measures
@settings(max_examples=100, deadline=None)
@given(models, temps)
def test_ergotropy_zero_on_gibbs_states(m, T):
    rho = m.gibbs(T)
    H = m.hamiltonian()
    # Gibbs states are passive: E = 0 up to round-off of Tr[ρH] (~eps·||H||).
    assert abs(M.ergotropy(rho, H)) < 1e-12 * max(1.0, np.abs(H.full()).max())


def test_ergotropy_zero_on_passive_states_and_positive_otherwise():
    rng = np.random.default_rng(5)
    for _ in range(50):
        h = random_state(rng) * 10 - 2.5 * np.eye(4)  # random Hermitian H
        rho = random_state(rng, rank=int(rng.integers(1, 5)))
        e = M.ergotropy(rho, h)
        q = M.capacity(rho, h)
        assert e >= -1e-12
        assert e <= q + 1e-12
        pi = M.passive_state(rho, h)
        assert abs(M.ergotropy(pi, h)) < 1e-12
        np.testing.assert_allclose(np.linalg.eigvalsh(pi), np.linalg.eigvalsh(rho), atol=1e-12)


def test_battery_measures_on_a_batch_are_non_negative_and_ordered():
    rng = np.random.default_rng(9)
    rho = random_state(rng, size=(1000,))
    h = DipolarModel(B=0.4, D=0.2, G=0.3, Delta=1, epsilon=0.5).hamiltonian()
    e = M.ergotropy(rho, h)
    q = M.capacity(rho, h)
    assert e.shape == q.shape == (1000,)
    assert np.all(e >= -1e-12) and np.all(e <= q + 1e-12)


def test_capacity_invariant_under_random_unitaries():
    rng = np.random.default_rng(13)
    H = DipolarModel(B=0.4, D=0.2, G=0.3, Delta=1, epsilon=0.5)
    rho = random_state(rng, size=(50,))
    u = haar_unitary(rng, size=(50,))
    rotated = u @ rho @ np.swapaxes(u, -1, -2).conj()
    np.testing.assert_allclose(M.capacity(rotated, H), M.capacity(rho, H), rtol=0, atol=1e-10)


def test_passive_state_energy_is_minimal_over_unitary_orbit():
    rng = np.random.default_rng(17)
    m = DipolarModel(B=0.4, D=-0.2, G=0.3, Delta=1, epsilon=0.5)
    H = m.hamiltonian()
    rho = qutip.Qobj(random_state(rng), dims=DIMS)
    pi = M.passive_state(rho, H)
    assert isinstance(pi, qutip.Qobj) and pi.dims == DIMS
    e_pi = M.energy(pi, H)
    u = haar_unitary(rng, size=(1000,))
    orbit = u @ rho.full() @ np.swapaxes(u, -1, -2).conj()
    assert np.all(M.energy(orbit, H) >= e_pi - 1e-12)
    # and the maximum over the orbit is bounded by e_pi + capacity
    assert np.all(M.energy(orbit, H) <= e_pi + M.capacity(rho, H) + 1e-12)
    assert M.energy(rho, H) - e_pi == pytest.approx(M.ergotropy(rho, H), abs=1e-14)


def test_measures_match_hand_computed_values_for_a_simple_state():
    # |+0>: l1 = 1, product → concurrence 0, discord 0, MI 0, S = 0;
    # H = B(ZI + IZ), B = 1: energy 0 (qubit 1 in |+>) + 1, passive energy −2.
    plus0 = np.kron(np.array([1, 1]) / np.sqrt(2), np.array([1, 0]))
    rho = np.outer(plus0, plus0)
    H = DipolarModel(B=1)
    assert M.l1_coherence(rho) == pytest.approx(1)
    assert M.concurrence(rho) == pytest.approx(0, abs=1e-12)
    assert M.discord(rho) == pytest.approx(0, abs=1e-6)
    assert M.mutual_information(rho) == pytest.approx(0, abs=1e-12)
    assert M.von_neumann_entropy(rho) == pytest.approx(0, abs=1e-12)
    assert M.energy(rho, H) == pytest.approx(1)
    assert M.ergotropy(rho, H) == pytest.approx(3)
    assert M.capacity(rho, H) == pytest.approx(4)


def test_l1_coherence_of_a_batch_is_the_direct_sum():
    rng = np.random.default_rng(21)
    rho = random_state(rng, size=(9000,))  # more than one validation chunk
    direct = np.abs(rho).sum(axis=(1, 2)) - np.abs(np.diagonal(rho, axis1=1, axis2=2)).sum(axis=1)
    np.testing.assert_allclose(M.l1_coherence(rho), direct, rtol=0, atol=1e-14)


def test_mutual_information_and_entropy_of_bell_state():
    bell = np.array([1, 0, 0, 1]) / np.sqrt(2)
    rho = np.outer(bell, bell)
    assert M.mutual_information(rho) == pytest.approx(2)
    assert M.von_neumann_entropy(np.eye(4) / 4) == pytest.approx(2)
    assert M.von_neumann_entropy(np.eye(4) / 4, base=np.e) == pytest.approx(np.log(4))


def test_batch_shapes_and_qobj_inputs():
    rng = np.random.default_rng(2)
    rho = random_state(rng, size=(2, 3))
    H = DipolarModel(Delta=1).hamiltonian()
    for f in (M.l1_coherence, M.concurrence, M.discord, M.von_neumann_entropy, M.mutual_information):
        out = f(rho)
        assert out.shape == (2, 3)
        single = f(qutip.Qobj(rho[1, 2], dims=DIMS))
        assert isinstance(single, float)
        assert single == pytest.approx(out[1, 2], abs=1e-12)
        listed = f([qutip.Qobj(r, dims=DIMS) for r in rho[0]])
        np.testing.assert_allclose(listed, out[0], atol=1e-12)
    for f in (M.energy, M.ergotropy, M.capacity):
        out = f(rho, H)
        assert out.shape == (2, 3)
        assert f(rho[0, 0], H) == pytest.approx(out[0, 0], abs=1e-12)
    assert M.passive_state(rho, H).shape == (2, 3, 4, 4)
    # Hamiltonians may be batched too (one per state).
    hb = np.stack([DipolarModel(B=b).hamiltonian_array() for b in (0.1, 0.2, 0.3)])
    np.testing.assert_allclose(
        M.ergotropy(rho[0], hb), [M.ergotropy(rho[0, k], hb[k]) for k in range(3)], atol=1e-13
    )


def test_single_qubit_and_larger_states_for_dimension_free_measures():
    rng = np.random.default_rng(4)
    rho = random_state(rng, d=8)
    h = np.diag(np.arange(8.0))
    assert M.ergotropy(rho, h) >= 0
    assert M.l1_coherence(rho) > 0
    with pytest.raises(PhysicsError, match="two qubits"):
        M.concurrence(rho)


# ------------------------------------------------------------- validation
@pytest.mark.parametrize(
    "rho, message",
    [
        (np.diag([0.5, 0.5, 0.5, 0.5]), r"unit trace.*Tr = 2"),
        (np.diag([1.2, -0.2, 0, 0]), r"not positive semidefinite.*-0.2"),
        (np.array([[0.5, 0.1, 0, 0], [0.3, 0.5, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]]), r"not Hermitian"),
        (np.full((4, 4), np.nan), r"NaN"),
        (np.eye(3) / 3, r"two qubits"),
        (np.ones((4, 3)), r"square matrix"),
        ("abc", r"numeric array"),
    ],
)
def test_invalid_states_raise_physics_errors(rho, message):
    with pytest.raises(PhysicsError, match=message):
        M.concurrence(rho)


def test_validation_names_the_bad_state_in_a_batch():
    rho = np.stack([np.eye(4) / 4] * 3)
    rho[2] = np.diag([1.2, -0.2, 0, 0])
    with pytest.raises(PhysicsError, match=r"state \[2\]"):
        M.l1_coherence(rho)


def test_tolerance_is_stated_and_adjustable():
    rho = np.eye(4) / 4
    rho[0, 0] += 1e-7  # trace off by 1e-7 > STATE_ATOL = 1e-8
    with pytest.raises(PhysicsError, match="unit trace"):
        M.l1_coherence(rho)
    assert M.l1_coherence(rho, atol=1e-6) == 0.0


def test_non_hermitian_hamiltonian_is_rejected():
    with pytest.raises(PhysicsError, match="H is not Hermitian"):
        M.ergotropy(np.eye(4) / 4, np.triu(np.ones((4, 4))))
    with pytest.raises(PhysicsError, match="H is 2×2"):
        M.ergotropy(np.eye(4) / 4, np.eye(2))
