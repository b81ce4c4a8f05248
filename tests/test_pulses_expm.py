"""The batched matrix exponential against scipy.linalg.expm."""

import numpy as np
import pytest
import scipy.linalg

from pulses._expm import expm_batch


@pytest.mark.parametrize("scale", [1e-6, 0.1, 1.0, 7.0, 40.0])
def test_matches_scipy_on_random_stacks(scale):
    rng = np.random.default_rng(int(scale * 10) + 1)
    a = (rng.normal(size=(40, 9, 9)) + 1j * rng.normal(size=(40, 9, 9))) * scale * rng.uniform(0, 1, (40, 1, 1))
    ref = np.stack([scipy.linalg.expm(x) for x in a])
    got = expm_batch(a)
    err = np.abs(got - ref).max(axis=(1, 2)) / np.abs(ref).max(axis=(1, 2))
    assert err.max() < 1e-13 * max(1.0, scale)


def test_liouvillian_like_generators_and_edge_cases():
    # dissipative generators (eigenvalues with negative real parts) of very
    # different norms in one stack, the zero matrix, and an empty stack
    rng = np.random.default_rng(0)
    h = rng.normal(size=(5, 5)) + 1j * rng.normal(size=(5, 5))
    h = h + h.conj().T
    g = -1j * h - 3.0 * np.eye(5)
    stack = np.stack([g * t for t in (1e-7, 1e-3, 0.5, 20.0)] + [np.zeros((5, 5))])
    ref = np.stack([scipy.linalg.expm(x) for x in stack])
    np.testing.assert_allclose(expm_batch(stack), ref, atol=1e-13)
    assert expm_batch(np.zeros((0, 3, 3))).shape == (0, 3, 3)
