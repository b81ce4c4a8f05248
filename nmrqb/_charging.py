"""Batched kernels for unitary x-field charging of two-qubit states.

For H_ch = Ω (XI + IX) and τ = Ωt, U(τ) = R(τ) ⊗ R(τ) with
R = cos τ I − i sin τ X, hence

    U(τ) = A0 + A1 cos 2τ + A2 sin 2τ,
    A0 = (II − XX)/2,  A1 = (II + XX)/2,  A2 = −i (XI + IX)/2,

and every charged state is a trigonometric polynomial of degree 4 in τ:

    ρ(τ) = U ζ U† = F0 + F1 cos 2τ + F2 sin 2τ + F3 cos 4τ + F4 sin 4τ

with F0 = P00 + (P11 + P22)/2, F1 = P01 + P10, F2 = P02 + P20,
F3 = (P11 − P22)/2, F4 = (P12 + P21)/2 and P_jk = A_j ζ A_k†.  The energy
Tr[ρ(τ)H] is then a five-term trigonometric sum with scalar coefficients
Tr[F_m H], its τ-derivative (the power) is exact, and the spectrum of ρ(τ) is
the spectrum of ζ at every τ (so passive energy and capacity need no
diagonalisation per time).  No matrix exponential is ever taken.

This module holds the plain-array kernels only (no validation, no Qobj).
"""

from __future__ import annotations

import numpy as np

_I2 = np.eye(2, dtype=np.complex128)
_X = np.array([[0, 1], [1, 0]], dtype=np.complex128)
_II = np.eye(4, dtype=np.complex128)
_XX = np.kron(_X, _X)
_XI_IX = np.kron(_X, _I2) + np.kron(_I2, _X)

#: A0, A1, A2 of the module docstring, shape (3, 4, 4).
_A = np.stack([(_II - _XX) / 2, (_II + _XX) / 2, -0.5j * _XI_IX])

_AD = _A.conj().transpose(0, 2, 1)

#: Upper off-diagonal positions of a 4×4 matrix (for the l1 coherence).
_IU = np.triu_indices(4, k=1)


def fourier_coefficients(zeta: np.ndarray) -> np.ndarray:
    """F_m (m = 0..4) of ρ(τ) for initial states ζ of shape (..., 4, 4).

    Returns an array of shape (..., 5, 4, 4).  Uses P_kj = P_jk†, so only six
    of the nine products A_j ζ A_k† are formed (batched 4×4 matmuls).
    """
    z = np.asarray(zeta, dtype=np.complex128)
    left = _A @ z[..., None, :, :]  # (..., 3, 4, 4): A_j ζ
    p00 = left[..., 0, :, :] @ _AD[0]
    p01 = left[..., 0, :, :] @ _AD[1]
    p02 = left[..., 0, :, :] @ _AD[2]
    p11 = left[..., 1, :, :] @ _AD[1]
    p22 = left[..., 2, :, :] @ _AD[2]
    p12 = left[..., 1, :, :] @ _AD[2]
    return np.stack(
        [p00 + 0.5 * (p11 + p22), p01 + _dag(p01), p02 + _dag(p02), 0.5 * (p11 - p22), 0.5 * (p12 + _dag(p12))],
        axis=-3,
    )


def _dag(x: np.ndarray) -> np.ndarray:
    return np.swapaxes(x, -1, -2).conj()


def basis(tau: np.ndarray) -> np.ndarray:
    """(1, cos 2τ, sin 2τ, cos 4τ, sin 4τ) for every τ, shape (5, n)."""
    t = np.asarray(tau, dtype=np.float64)
    return np.stack([np.ones_like(t), np.cos(2 * t), np.sin(2 * t), np.cos(4 * t), np.sin(4 * t)])


def basis_derivative(tau: np.ndarray) -> np.ndarray:
    """d/dτ of :func:`basis`, shape (5, n)."""
    t = np.asarray(tau, dtype=np.float64)
    return np.stack(
        [np.zeros_like(t), -2 * np.sin(2 * t), 2 * np.cos(2 * t), -4 * np.sin(4 * t), 4 * np.cos(4 * t)]
    )


def states(f: np.ndarray, tau: np.ndarray) -> np.ndarray:
    """ρ(τ) for every τ: (..., 5, 4, 4) coefficients → (..., n, 4, 4)."""
    return np.einsum("mt,...mab->...tab", basis(tau).astype(np.complex128), f)


def energy_coefficients(f: np.ndarray, h: np.ndarray) -> np.ndarray:
    """Tr[F_m H] (real), shape (..., 5); ``h`` broadcasts as (..., 4, 4)."""
    return np.einsum("...mab,...ba->...m", f, h).real


def l1_coherence(f: np.ndarray, tau: np.ndarray) -> np.ndarray:
    """l1 coherence Σ_{i≠j} |ρ_ij(τ)| of the charged states, shape (..., n).

    The real and imaginary parts of the six upper off-diagonal elements are
    real trigonometric sums: one real matrix product gives them at every τ,
    then |z| = sqrt(re² + im²) in place.  Memory: 96 bytes per state and τ;
    callers chunk.
    """
    upper = f[..., :, _IU[0], _IU[1]]  # (..., 5, 6)
    lead = upper.shape[:-2]
    coeff = np.concatenate([upper.real, upper.imag], axis=-1)  # (..., 5, 12)
    coeff = np.swapaxes(coeff, -1, -2).reshape(-1, 5)
    # einsum, not matmul: BLAS threading on this K = 5 product only adds contention
    v = np.einsum("rm,mt->rt", coeff, basis(tau)).reshape(lead + (2, 6, -1))
    np.square(v, out=v)
    mag = v[..., 0, :, :]
    mag += v[..., 1, :, :]
    np.sqrt(mag, out=mag)
    return 2.0 * mag.sum(axis=-2)


def passive_and_max_energy(zeta_eigs_desc: np.ndarray, h_eigs_asc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Σ λ↓ε↑ and Σ λ↓ε↓ from the (unitarily invariant) spectrum of ζ."""
    passive = np.sum(zeta_eigs_desc * h_eigs_asc, axis=-1)
    top = np.sum(zeta_eigs_desc * h_eigs_asc[..., ::-1], axis=-1)
    return passive, top
