"""The fused validation kernel nmrqb._psd.check4 against direct numpy."""

import numpy as np
import pytest
from randstates import random_state

from nmrqb._psd import check4


def test_certificate_agrees_with_eigenvalues_on_random_hermitian_matrices():
    rng = np.random.default_rng(0)
    h = rng.normal(size=(20000, 4, 4)) + 1j * rng.normal(size=(20000, 4, 4))
    h = h + np.swapaxes(h, -1, -2).conj()
    lmin = np.linalg.eigvalsh(h)[:, 0]
    _, _, ok, _ = check4(h, 0.0)
    # ok ⇒ positive definite (never a false certificate); and the generic
    # positive ones (margin above round-off) are all certified.
    assert not np.any(ok & (lmin <= 0))
    assert np.all(ok[lmin > 1e-12])


@pytest.mark.parametrize("rank", [1, 2, 3, 4])
def test_states_are_certified_with_the_tolerance_shift(rank):
    rng = np.random.default_rng(rank)
    rho = random_state(rng, rank=rank, size=(2000,))
    dev, tr, ok, off = check4(rho, 1e-8, l1=True)
    assert np.all(ok)
    np.testing.assert_allclose(tr, 1, atol=1e-14)
    assert np.all(dev < 1e-15)
    direct = np.abs(rho).sum(axis=(1, 2)) - np.abs(np.diagonal(rho, axis1=1, axis2=2)).sum(axis=1)
    np.testing.assert_allclose(off, direct, atol=1e-14)
    # pushed 2e-8 below its smallest eigenvalue: never certified at shift 1e-8
    lmin = np.linalg.eigvalsh(rho)[:, 0]
    _, _, ok, _ = check4(rho - (lmin + 2e-8)[:, None, None] * np.eye(4), 1e-8)
    assert not np.any(ok)


def test_hermiticity_defect_is_the_max_entry_modulus():
    rng = np.random.default_rng(1)
    m = rng.normal(size=(500, 4, 4)) + 1j * rng.normal(size=(500, 4, 4))
    dev, _, ok, off = check4(m, 0.0, psd=False)
    assert ok is None and off is None
    np.testing.assert_allclose(dev, np.abs(m - np.swapaxes(m, -1, -2).conj()).max(axis=(1, 2)), rtol=1e-14)
