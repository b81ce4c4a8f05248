"""Seeded random states, unitaries and models shared by the tests."""

from __future__ import annotations

import numpy as np


def haar_unitary(rng: np.random.Generator, d: int = 4, size: tuple = ()) -> np.ndarray:
    """Haar-random unitaries (QR of a complex Ginibre matrix, phases fixed)."""
    z = (rng.normal(size=size + (d, d)) + 1j * rng.normal(size=size + (d, d))) / np.sqrt(2)
    q, r = np.linalg.qr(z)
    ph = np.diagonal(r, axis1=-2, axis2=-1)
    return q * (ph / np.abs(ph))[..., None, :]


def random_state(rng: np.random.Generator, d: int = 4, rank: int | None = None, size: tuple = ()) -> np.ndarray:
    """Random density matrices W W†/Tr (Hilbert–Schmidt for full rank)."""
    k = d if rank is None else rank
    w = rng.normal(size=size + (d, k)) + 1j * rng.normal(size=size + (d, k))
    rho = w @ np.swapaxes(w, -1, -2).conj()
    return rho / np.trace(rho, axis1=-2, axis2=-1)[..., None, None]
