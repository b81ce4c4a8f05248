"""Fused batched checks of 4×4 matrices: Hermiticity, trace, positivity.

:func:`check4` transposes a chunk of 4×4 matrices to structure-of-arrays
form once and returns, per matrix, the Hermiticity defect max|M − M†|, the
trace, and (optionally) whether M + s·I is certified positive definite by an
unrolled LDL† factorisation (all pivots > 0).  LDL† without pivoting is
backward stable for positive-definite input (the computed factors are exact
for M + s·I + E with |E| ≲ 10·u·||M||), so a True row certifies
λ_min(M) > −s − 1e-15·||M||; a False row only means "not certified" and the
caller decides with an eigenvalue solver.  The certificate is about 4× cheaper
than eigenvalues; it validates states where no eigenvalues are needed.  The
positivity part reads the diagonal and the lower triangle.  No validation of
its own input and no imports from nmrqb.
"""

from __future__ import annotations

import numpy as np

__all__ = ["check4"]

_UP = np.array([1, 2, 3, 6, 7, 11])  # (0,1) (0,2) (0,3) (1,2) (1,3) (2,3)
_LO = np.array([4, 8, 12, 9, 13, 14])  # their transposes
_DIAG = np.array([0, 5, 10, 15])


def check4(
    chunk: np.ndarray, shift: float, psd: bool = True, l1: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Hermiticity defect, trace, a positivity certificate and the l1 norm of
    the off-diagonal part of (m, 4, 4) matrices.

    Returns ``(dev, trace, ok, offdiag)``: dev = max_ij |M_ij − conj(M_ji)|
    (float), trace (complex), ok = M + shift·I certified positive definite
    (bool, None when ``psd`` is False), offdiag = Σ_{i≠j} |M_ij| (None when
    ``l1`` is False; computed here because the entries are already laid out).
    """
    t = np.ascontiguousarray(chunk.reshape(-1, 16).T)  # (16, m)
    re, im = t.real, t.imag
    dre = re[_UP] - re[_LO]
    dim = im[_UP] + im[_LO]
    dev2 = (dre * dre + dim * dim).max(axis=0, initial=0.0)
    dev = np.sqrt(np.maximum(dev2, (2.0 * np.abs(im[_DIAG])).max(axis=0, initial=0.0) ** 2))
    trace = t[_DIAG].sum(axis=0)
    offdiag = np.abs(t[_UP]).sum(axis=0) + np.abs(t[_LO]).sum(axis=0) if l1 else None
    if not psd:
        return dev, trace, None, offdiag
    d0, d1, d2, d3 = (re[k] + shift for k in _DIAG)
    a10, a20, a30, a21, a31, a32 = t[4], t[8], t[12], t[9], t[13], t[14]
    ok = d0 > 0
    inv = 1.0 / np.where(ok, d0, 1.0)
    # eliminate column 0: M_ij −= M_i0 conj(M_j0) / d0
    d1 = d1 - (a10.real**2 + a10.imag**2) * inv
    d2 = d2 - (a20.real**2 + a20.imag**2) * inv
    d3 = d3 - (a30.real**2 + a30.imag**2) * inv
    c10 = a10.conj() * inv
    a21 = a21 - a20 * c10
    a31 = a31 - a30 * c10
    a32 = a32 - a30 * (a20.conj() * inv)
    ok &= d1 > 0
    inv = 1.0 / np.where(ok, d1, 1.0)
    # eliminate column 1
    d2 = d2 - (a21.real**2 + a21.imag**2) * inv
    d3 = d3 - (a31.real**2 + a31.imag**2) * inv
    a32 = a32 - a31 * (a21.conj() * inv)
    ok &= d2 > 0
    inv = 1.0 / np.where(ok, d2, 1.0)
    # eliminate column 2
    d3 = d3 - (a32.real**2 + a32.imag**2) * inv
    ok &= d3 > 0
    return dev, trace, ok, offdiag
