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

def _check_real(name: str, value) -> float:
    """Return ``value`` as a float or raise a PhysicsError naming the field."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise PhysicsError(
            f"{name} = {value!r} is not allowed: it must be a finite real number"
        )
    v = float(value)
    if not math.isfinite(v):
        raise PhysicsError(f"{name} = {v!r} is not allowed: it must be a finite real number")
    return v


def check_temperature(T) -> float:
    """Validate a temperature (model units): finite and > 0."""
    t = _check_real("T", T)
    if t <= 0:
        raise PhysicsError(f"T = {t!r} is not allowed: the temperature must be > 0")
    return t


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

    All parameters must be finite real numbers; anything else raises
    :class:`~nmrqb.errors.PhysicsError` naming the field.  Instances are
    immutable; use :func:`dataclasses.replace` for variants.

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
        return hamiltonian_batch(self.B, self.D, self.G, self.Delta, self.epsilon)

    def hamiltonian(self) -> qutip.Qobj:
        """H_DP as a Hermitian ``qutip.Qobj`` with dims [[2, 2], [2, 2]]."""
        return qutip.Qobj(self.hamiltonian_array(), dims=DIMS)

    # ------------------------------------------------------------ spectrum
    def spectrum_array(self) -> tuple[np.ndarray, np.ndarray]:
        """Closed-form eigenvalues (ascending, shape (4,)) and eigenvectors
        (columns of a unitary (4, 4) complex128 array); see
        :func:`spectrum_batch` for the formulas."""
        return spectrum_batch(self.B, self.D, self.G, self.Delta, self.epsilon)

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
        return gibbs_batch(self.B, self.D, self.G, self.Delta, self.epsilon, t)

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
        """H_ch = Ω (XI + IX) as a (4, 4) complex128 array."""
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
# These are the single implementation behind the DipolarModel methods and the
# batched maps.  They do not validate (the callers do).
# --------------------------------------------------------------------------
def hamiltonian_batch(B, D, G, Delta, epsilon) -> np.ndarray:
    """H_DP for broadcast parameter arrays, shape (..., 4, 4) complex128."""
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
    (columns) of H_DP for broadcast parameter arrays.

    With κ1 = sqrt(Δ² + 9D²) and κ2 = sqrt(B² + G² + ε²):
    v1 = −2(Δ + κ1)/3 and v2 = 2(κ1 − Δ)/3 on span{|01>, |10>},
    v3 = 2(Δ − 3κ2)/3 and v4 = 2(Δ + 3κ2)/3 on span{|00>, |11>}.
    Zero-quantum eigenvectors (|01> ∓ e^{iφ1}|10>)/√2 with
    φ1 = atan2(−3D, −Δ); double-quantum eigenvectors from the Bloch
    direction (ε, G, B) of the block: polar angle θ = atan2(sqrt(ε²+G²), B),
    azimuth φ2 = atan2(G, ε).  Degenerate levels get an arbitrary but
    orthonormal basis.  Ties keep the order v1, v2, v3, v4.
    """
    B, D, G, Dl, e = np.broadcast_arrays(*(np.asarray(x, dtype=np.float64) for x in (B, D, G, Delta, epsilon)))
    k1 = np.hypot(Dl, 3 * D)
    k2 = np.hypot(np.hypot(B, G), e)  # no overflow for |B| up to ~1e308
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


def gibbs_from_spectrum(vals: np.ndarray, vecs: np.ndarray, T) -> tuple[np.ndarray, np.ndarray]:
    """Gibbs states and their populations from ascending eigenvalues (..., 4)
    and eigenvectors (..., 4, 4) (columns); T > 0 broadcasts over the batch.

    Boltzmann weights exp(−(E_k − E_min)/T) are finite for every T > 0;
    T → 0 gives the ground state (exactly degenerate ground levels weighted
    equally), T → ∞ gives I/4.  Returns (ζ of shape (..., 4, 4), populations
    of shape (..., 4), non-increasing along the ascending energies).
    """
    t = np.asarray(T, dtype=np.float64)[..., None]
    w = np.exp(-(vals - vals[..., :1]) / t)
    w = w / w.sum(axis=-1, keepdims=True)
    rho = (vecs * w[..., None, :]) @ np.swapaxes(vecs, -1, -2).conj()
    return 0.5 * (rho + np.swapaxes(rho, -1, -2).conj()), w


def gibbs_batch(B, D, G, Delta, epsilon, T) -> np.ndarray:
    """Gibbs states exp(−H/T)/Z, shape (..., 4, 4), for broadcast parameters
    and temperatures (T > 0, validated by the caller); see
    :func:`gibbs_from_spectrum`."""
    vals, vecs = spectrum_batch(B, D, G, Delta, epsilon)
    return gibbs_from_spectrum(vals, vecs, T)[0]

__all__ = [
    "DipolarModel",
    "DIMS",
    "PAULI2",
    "check_temperature",
    "hamiltonian_batch",
    "spectrum_batch",
    "gibbs_batch",
    "gibbs_from_spectrum",
]
