"""The two-spin magnetic-dipolar model: Hamiltonian, closed-form spectrum,
Gibbs states and the charging Hamiltonian.

Conventions (DESIGN.md §1): dimensionless units with ħ = k_B = 1, Pauli
matrices X, Y, Z, basis |00>, |01>, |10>, |11> with Z|0> = +|0>, qubit 1 the
left tensor factor, and

    H_DP = D (XY − YX) + G (XY + YX) + B (ZI + IZ)
           − (1/3) [ (Δ − 3ε) XX + (Δ + 3ε) YY − 2Δ ZZ ].

H_DP is block diagonal: the zero-quantum block span{|01>, |10>} holds
−2Δ/3 on the diagonal and the flip-flop element ⟨01|H|10⟩ = −2Δ/3 + 2iD;
the double-quantum block span{|00>, |11>} is 2Δ/3 + 2(B σz + ε σx + G σy).
That gives the closed-form spectrum and eigenvectors used here (no numerical
diagonalisation).  This module holds physics only: no I/O, no plotting.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np
import qutip

from nmrqb._checks import PARAMETER_LIMIT, check_memory, real_array, real_scalar, short_repr
from nmrqb.errors import PhysicsError

DIMS = [[2, 2], [2, 2]]

_I2 = np.eye(2, dtype=np.complex128)
_X = np.array([[0, 1], [1, 0]], dtype=np.complex128)
_Y = np.array([[0, -1j], [1j, 0]], dtype=np.complex128)
_Z = np.array([[1, 0], [0, -1]], dtype=np.complex128)


def _kron(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.kron(a, b)


#: Two-qubit Pauli products used by the Hamiltonian, as plain arrays.
PAULI2 = {
    "XY": _kron(_X, _Y),
    "YX": _kron(_Y, _X),
    "XX": _kron(_X, _X),
    "YY": _kron(_Y, _Y),
    "ZZ": _kron(_Z, _Z),
    "ZI": _kron(_Z, _I2),
    "IZ": _kron(_I2, _Z),
    "XI": _kron(_X, _I2),
    "IX": _kron(_I2, _X),
}

def _check_real(name: str, value, limit: float | None = PARAMETER_LIMIT) -> float:
    """Return ``value`` as a float or raise a PhysicsError naming the field:
    a finite real number (not a bool, string, complex or array) with
    |value| ≤ ``limit``."""
    return real_scalar(name, value, limit=limit)


def check_temperature(T) -> float:
    """Validate a temperature (model units): a finite real number > 0.

    There is no upper bound (T → ∞ gives I/4) and no lower bound other than
    T > 0: the Boltzmann exponents (E_k − E_0)/T may overflow to +∞, whose
    weight is then exactly 0 (the T → 0 limit).
    """
    return real_scalar("T", T, limit=None, lower=0.0, strict=True, lower_rule="the temperature must be > 0")


@dataclass(frozen=True)
class DipolarModel:
    """Two magnetic dipoles with Zeeman, DM and KSEA terms and dipolar anisotropy.

    Parameters
    ----------
    B : float
        Zeeman splitting along z (model energy units).
    D : float
        Dzyaloshinsky–Moriya interaction (z component).
    G : float
        KSEA interaction.
    Delta : float
        Axial dipolar anisotropy Δ.
    epsilon : float
        Rhombic dipolar anisotropy ε.

    Allowed values: every parameter is a finite real number (Python or numpy
    int/float, or a 0-d numeric array; not a bool, string, complex number or
    array) with |value| ≤ ``PARAMETER_LIMIT`` = 1e150.  Anything else —
    including a Python int too large for a float — raises
    :class:`~nmrqb.errors.PhysicsError` naming the field, the value and this
    rule.  Instances are immutable; use :func:`dataclasses.replace` for
    variants.

    Why 1e150: with M = max |parameter|, the closed forms need
    κ1 = sqrt(Δ² + 9D²) ≤ √10·M and κ2 = sqrt(B² + G² + ε²) ≤ √3·M (both via
    ``hypot``, no squares are formed), energies |v_k| ≤ (2/3)(1 + 3√3)·M ≈ 4.1·M,
    level gaps ≤ 8.3·M, Hamiltonian entries ≤ (8/3)·M, and downstream
    Tr[ρH] ≤ 16·(8/3)·M, the charging coefficients Tr[F_m H] and the power
    ≤ ~10³·M: all finite up to M ≈ 1e305.  The bound is the square root of
    the float64 range (≈ 1.3e154) lowered by four orders of magnitude for
    those constant factors, so that, in addition, products of a parameter
    with a time or an Ωt of the same range (the dephasing exponent ‖L‖·t ≲
    1e302) and squared energies (≲ 1e302) stay finite.  Gibbs states are
    finite at every T > 0 (see :func:`check_temperature`).  The charging
    amplitude Ω of :meth:`charging_hamiltonian` obeys the same bound.

    Examples
    --------
    >>> m = DipolarModel(Delta=1.0, epsilon=0.5)
    >>> energies, vectors = m.spectrum()
    >>> rho = m.gibbs(T=1.0)           # qutip.Qobj, dims [[2, 2], [2, 2]]
    """

    B: float = 0.0
    D: float = 0.0
    G: float = 0.0
    Delta: float = 0.0
    epsilon: float = 0.0

    def __post_init__(self) -> None:
        for f in fields(self):
            object.__setattr__(self, f.name, _check_real(f.name, getattr(self, f.name)))

    # ------------------------------------------------------------------ H
    def hamiltonian_array(self) -> np.ndarray:
        """H_DP as a (4, 4) complex128 array, built from the Pauli products."""
        return _hamiltonian_batch(self.B, self.D, self.G, self.Delta, self.epsilon)

    def hamiltonian(self) -> qutip.Qobj:
        """H_DP as a Hermitian ``qutip.Qobj`` with dims [[2, 2], [2, 2]]."""
        return qutip.Qobj(self.hamiltonian_array(), dims=DIMS)

    # ------------------------------------------------------------ spectrum
    def spectrum_array(self) -> tuple[np.ndarray, np.ndarray]:
        """Closed-form eigenvalues (ascending, shape (4,)) and eigenvectors
        (columns of a unitary (4, 4) complex128 array); see
        :func:`spectrum_batch` for the formulas."""
        return _spectrum_batch(self.B, self.D, self.G, self.Delta, self.epsilon)

    def spectrum(self) -> tuple[np.ndarray, list[qutip.Qobj]]:
        """Closed-form eigenvalues (ascending) and eigenkets (``qutip.Qobj``).

        See :meth:`spectrum_array` for the formulas.
        """
        vals, vecs = self.spectrum_array()
        kets = [qutip.Qobj(vecs[:, k : k + 1], dims=[[2, 2], [1]]) for k in range(4)]
        return vals, kets

    # --------------------------------------------------------------- Gibbs
    def gibbs_array(self, T) -> np.ndarray:
        """Gibbs state exp(−H/T)/Z as a (4, 4) complex128 array.

        Built from the closed-form spectrum with Boltzmann weights
        exp(−(E_k − E_min)/T): finite for every T > 0.  As T → 0 it tends to
        the ground state, with exactly degenerate ground levels weighted
        equally; as T → ∞ to I/4.
        """
        t = check_temperature(T)
        vals, vecs = _spectrum_batch(self.B, self.D, self.G, self.Delta, self.epsilon)
        return _gibbs_from_spectrum(vals, vecs, t)[0]

    def gibbs(self, T) -> qutip.Qobj:
        """Gibbs (thermal, uncharged-battery) state ζ = exp(−H/T)/Z as a ``Qobj``.

        Parameters
        ----------
        T : float
            Temperature in model energy units (k_B = 1); must be finite and
            > 0, else :class:`PhysicsError`.
        """
        return qutip.Qobj(self.gibbs_array(T), dims=DIMS)

    # ------------------------------------------------------------ charging
    def charging_hamiltonian_array(self, omega=1.0) -> np.ndarray:
        """H_ch = Ω (XI + IX) as a (4, 4) complex128 array
        (|Ω| ≤ ``PARAMETER_LIMIT``, like the model parameters)."""
        w = _check_real("omega", omega)
        return w * (PAULI2["XI"] + PAULI2["IX"])

    def charging_hamiltonian(self, omega=1.0) -> qutip.Qobj:
        """Charging Hamiltonian H_ch = Ω (XI + IX) (a transverse x field on
        both spins) as a ``Qobj`` with dims [[2, 2], [2, 2]]."""
        return qutip.Qobj(self.charging_hamiltonian_array(omega), dims=DIMS)

    def as_dict(self) -> dict[str, float]:
        """The parameters as a plain dict (for JSON reports)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


# --------------------------------------------------------------------------
# Vectorised closed forms: every parameter may be an array; they broadcast.
# The private kernels (_hamiltonian_batch, ...) are the single implementation
# behind the DipolarModel methods and the batched maps and do not validate;
# the public functions validate their input first.
# --------------------------------------------------------------------------
_NAMES = ("B", "D", "G", "Delta", "epsilon")

#: Bytes per parameter set of the public batch functions (outputs and
#: temporaries, generous): used to refuse oversized batches up front.
_BYTES_PER_SET = 2048


_NO_T = object()


def _batch_params(B, D, G, Delta, epsilon, T=_NO_T) -> list[np.ndarray]:
    """Validate broadcastable parameter arrays (and temperatures)."""
    arrs = [real_array(n, v) for n, v in zip(_NAMES, (B, D, G, Delta, epsilon))]
    names = list(_NAMES)
    if T is not _NO_T:
        arrs.append(real_array("T", T, limit=None, lower=0.0, strict=True))
        names.append("T")
    try:
        shape = np.broadcast_shapes(*(a.shape for a in arrs))
    except ValueError:
        shapes = ", ".join(f"{n} {a.shape}" for n, a in zip(names, arrs))
        raise PhysicsError(f"parameter shapes do not broadcast: {shapes}") from None
    n = math.prod(shape)
    check_memory(", ".join(names), n * _BYTES_PER_SET, f"a batch of {n:,} parameter sets")
    return arrs


def hamiltonian_batch(B, D, G, Delta, epsilon) -> np.ndarray:
    """H_DP for broadcast parameter arrays, shape (..., 4, 4) complex128.

    Parameters follow the rules of :class:`DipolarModel` (finite reals,
    |value| ≤ 1e150), arrays of any broadcastable shapes; else PhysicsError.
    """
    return _hamiltonian_batch(*_batch_params(B, D, G, Delta, epsilon))


def _hamiltonian_batch(B, D, G, Delta, epsilon) -> np.ndarray:
    B, D, G, Dl, e = np.broadcast_arrays(*(np.asarray(x, dtype=np.float64) for x in (B, D, G, Delta, epsilon)))
    h = np.zeros(B.shape + (4, 4), dtype=np.complex128)
    h[..., 0, 0] = 2 * Dl / 3 + 2 * B
    h[..., 3, 3] = 2 * Dl / 3 - 2 * B
    h[..., 0, 3] = 2 * e - 2j * G
    h[..., 3, 0] = 2 * e + 2j * G
    h[..., 1, 1] = h[..., 2, 2] = -2 * Dl / 3
    h[..., 1, 2] = -2 * Dl / 3 + 2j * D
    h[..., 2, 1] = -2 * Dl / 3 - 2j * D
    return h


def spectrum_batch(B, D, G, Delta, epsilon) -> tuple[np.ndarray, np.ndarray]:
    """Closed-form eigenvalues (..., 4) ascending and eigenvectors (..., 4, 4)
    (columns) of H_DP for broadcast parameter arrays (validated like
    :class:`DipolarModel`).

    With κ1 = sqrt(Δ² + 9D²) and κ2 = sqrt(B² + G² + ε²):
    v1 = −2(Δ + κ1)/3 and v2 = 2(κ1 − Δ)/3 on span{|01>, |10>},
    v3 = 2(Δ − 3κ2)/3 and v4 = 2(Δ + 3κ2)/3 on span{|00>, |11>}.
    Zero-quantum eigenvectors (|01> ∓ e^{iφ1}|10>)/√2 with
    φ1 = atan2(−3D, −Δ); double-quantum eigenvectors from the Bloch
    direction (ε, G, B) of the block: polar angle θ = atan2(sqrt(ε²+G²), B),
    azimuth φ2 = atan2(G, ε).  Degenerate levels get an arbitrary but
    orthonormal basis.  Ties keep the order v1, v2, v3, v4.
    """
    return _spectrum_batch(*_batch_params(B, D, G, Delta, epsilon))


def _spectrum_batch(B, D, G, Delta, epsilon) -> tuple[np.ndarray, np.ndarray]:
    B, D, G, Dl, e = np.broadcast_arrays(*(np.asarray(x, dtype=np.float64) for x in (B, D, G, Delta, epsilon)))
    k1 = np.hypot(Dl, 3 * D)
    k2 = np.hypot(np.hypot(B, G), e)  # hypot: no squares are formed
    vals = np.stack([-2 * (Dl + k1) / 3, 2 * (k1 - Dl) / 3, 2 * (Dl - 3 * k2) / 3, 2 * (Dl + 3 * k2) / 3], axis=-1)
    vecs = np.zeros(B.shape + (4, 4), dtype=np.complex128)
    s = 1 / math.sqrt(2)
    ph1 = np.exp(1j * np.arctan2(-3 * D, -Dl))
    vecs[..., 1, 0] = vecs[..., 1, 1] = s
    vecs[..., 2, 0] = -s * ph1
    vecs[..., 2, 1] = s * ph1
    th = np.arctan2(np.hypot(e, G), B)
    ph2 = np.exp(1j * np.arctan2(G, e))
    c, sn = np.cos(th / 2), np.sin(th / 2)
    vecs[..., 0, 2], vecs[..., 3, 2] = sn, -ph2 * c
    vecs[..., 0, 3], vecs[..., 3, 3] = c, ph2 * sn
    order = np.argsort(vals, axis=-1, kind="stable")
    vals = np.take_along_axis(vals, order, axis=-1)
    vecs = np.take_along_axis(vecs, order[..., None, :], axis=-1)
    return vals, vecs


def gibbs_from_spectrum(vals, vecs, T) -> tuple[np.ndarray, np.ndarray]:
    """Gibbs states and their populations from eigenvalues (..., 4) and
    eigenvectors (..., 4, 4) (columns); T > 0 broadcasts over the batch.

    ``vals`` must be finite reals, ``vecs`` a finite unitary (to 1e-8) per
    batch element, ``T`` finite and > 0; else PhysicsError.  Boltzmann
    weights exp(−(E_k − E_min)/T) are finite for every T > 0 (an exponent
    that overflows to +∞ has weight exactly 0); T → 0 gives the ground state
    (exactly degenerate ground levels weighted equally), T → ∞ gives I/4.
    Returns (ζ of shape (..., 4, 4), populations of shape (..., 4) in the
    order of ``vals``: non-increasing when ``vals`` is ascending).
    """
    v = real_array("vals", vals, limit=None)
    if v.ndim < 1 or v.shape[-1] != 4:
        raise PhysicsError(f"vals has shape {v.shape}: eigenvalues of shape (..., 4) are required")
    try:
        u = np.asarray(vecs)
        ok = u.dtype.kind in "iufc"
    except (TypeError, ValueError, OverflowError, RecursionError):
        ok = False
    if not ok:
        raise PhysicsError(f"vecs = {short_repr(vecs)} is not allowed: give a numeric array of shape (..., 4, 4)")
    u = u.astype(np.complex128)
    if u.shape[-2:] != (4, 4) or u.shape[:-2] != v.shape[:-1]:
        raise PhysicsError(f"vecs has shape {u.shape}: with vals of shape {v.shape} it must be {v.shape[:-1] + (4, 4)}")
    if not np.all(np.isfinite(u)) or np.abs(u).max(initial=0.0) > 1 + 1e-8:
        raise PhysicsError("vecs must hold finite unitary matrices (entries of modulus ≤ 1)")
    dev = np.abs(np.swapaxes(u, -1, -2).conj() @ u - np.eye(4)).max(initial=0.0)
    if dev > 1e-8:
        raise PhysicsError(f"vecs is not unitary: max|V†V − I| = {dev:.3g}, allowed ≤ 1e-08")
    t = real_array("T", T, limit=None, lower=0.0, strict=True)
    try:
        np.broadcast_shapes(t.shape, v.shape[:-1])
    except ValueError:
        raise PhysicsError(f"T has shape {t.shape}: it must broadcast against the batch shape {v.shape[:-1]}") from None
    check_memory("vals, vecs, T", math.prod(np.broadcast_shapes(t.shape, v.shape[:-1])) * _BYTES_PER_SET, "the Gibbs states")
    return _gibbs_from_spectrum(v, u, t)


def _gibbs_from_spectrum(vals: np.ndarray, vecs: np.ndarray, T) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(T, dtype=np.float64)[..., None]
    with np.errstate(over="ignore"):  # x = +inf has weight exp(−inf) = 0 exactly
        x = (vals - vals.min(axis=-1, keepdims=True)) / t
    w = np.exp(-x)
    w = w / w.sum(axis=-1, keepdims=True)
    rho = (vecs * w[..., None, :]) @ np.swapaxes(vecs, -1, -2).conj()
    return 0.5 * (rho + np.swapaxes(rho, -1, -2).conj()), w


def gibbs_batch(B, D, G, Delta, epsilon, T) -> np.ndarray:
    """Gibbs states exp(−H/T)/Z, shape (..., 4, 4), for broadcast parameters
    and temperatures (validated: parameters as :class:`DipolarModel`, T > 0
    finite); see :func:`gibbs_from_spectrum`."""
    *p, t = _batch_params(B, D, G, Delta, epsilon, T)
    vals, vecs = _spectrum_batch(*p)
    return _gibbs_from_spectrum(vals, vecs, t)[0]


__all__ = [
    "DipolarModel",
    "DIMS",
    "PAULI2",
    "PARAMETER_LIMIT",
    "check_temperature",
    "hamiltonian_batch",
    "spectrum_batch",
    "gibbs_batch",
    "gibbs_from_spectrum",
]
