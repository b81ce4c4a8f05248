"""Spin systems: nuclei, shifts, couplings, relaxation and thermal equilibrium.

A :class:`SpinSystem` describes a sample the way a spectroscopist does: the
nuclei (by isotope name), the spectrometer field, chemical-shift offsets (Hz
or ppm), scalar J and secular dipolar couplings (Hz), relaxation per spin
(T1, T2; T1D for dipolar order of a pair), and the lab temperature.  It
builds, in the rotating frame of each channel's carrier (one channel per
isotope), the free Hamiltonian in rad/s, the spin operators, and the exact
thermal-equilibrium state of the lab-frame Zeeman Hamiltonian.  This module
describes; it does not simulate (see :mod:`pulses.simulate`).

Conventions (DESIGN.md §3): I = σ/2; H_free = Σ_k 2π ν_k I_kz + couplings,
ν_k the offset from the channel carrier; homonuclear J is strong (2π J I1·I2)
and heteronuclear J weak (2π J I1z I2z) unless ``weak`` says otherwise; the
secular dipolar coupling of a homonuclear pair is 2π d (3 I1z I2z − I1·I2)
and of a heteronuclear pair 2π d · 2 I1z I2z.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from pulses import _validate as V
from pulses.errors import SpinSystemError

#: Most spins a SpinSystem may describe (its operators are 2^n × 2^n; the
#: simulator's own, lower limit is :data:`pulses.simulate.MAX_SPINS`).
MAX_SYSTEM_SPINS = 10

#: Gyromagnetic ratios γ/2π in MHz/T and spin quantum numbers
#: (CODATA 2018 for 1H; NMR tables (Harris et al., Pure Appl. Chem. 73,
#: 1795 (2001)) for the others).
ISOTOPES: dict[str, tuple[float, float]] = {
    "1H": (42.577478518, 0.5),
    "2H": (6.535903, 1.0),
    "13C": (10.7083984, 0.5),
    "15N": (-4.3172, 0.5),
    "19F": (40.0776, 0.5),
    "31P": (17.2514, 0.5),
}

HBAR = 1.054571817e-34  # J s
KB = 1.380649e-23  # J/K


def gamma_mhz_per_t(isotope: str) -> float:
    """γ/2π of ``isotope`` in MHz/T."""
    if not isinstance(isotope, str) or isotope not in ISOTOPES:
        raise SpinSystemError(f"isotope = {V.show(isotope)} is not allowed: use one of {', '.join(ISOTOPES)}")
    return ISOTOPES[isotope][0]


def _finite(name: str, value, *, positive: bool = False, optional: bool = False):
    return V.number(value, name, SpinSystemError, minimum=0.0 if positive else None, strict=True, optional=optional)


@dataclass(frozen=True)
class Spin:
    """One spin-1/2 nucleus.

    Parameters
    ----------
    isotope : str
        "1H", "13C", "15N", "19F", "31P" ("2H" is in the table but has spin 1,
        which the simulator does not handle).
    offset_hz : float, optional
        Resonance offset from the channel carrier, Hz.
    shift_ppm : float, optional
        Chemical shift; the offset is then (shift_ppm − carrier_ppm) · ν0 with
        ν0 the channel's base frequency in MHz.  Give one of offset_hz or
        shift_ppm (default: on resonance).
    t1_s, t2_s : float, optional
        Longitudinal and transverse relaxation times (None: no relaxation).
        T2 acts as independent per-spin σz dephasing, which also destroys the
        flip-flop part of a pair's dipolar order at 2/T2: on a dipolar
        platform (Jeener–Broekaert, dipolar-order storage) leave ``t2_s``
        unset and give the pair's ``t1d_s`` instead — the dipolar line width
        is coherent evolution under the dipolar coupling, not a T2 process.
    label : str, optional
        A name for reports (default "<isotope><index>").
    """

    isotope: str = "1H"
    offset_hz: float | None = None
    shift_ppm: float | None = None
    t1_s: float | None = None
    t2_s: float | None = None
    label: str = ""

    def __post_init__(self) -> None:
        gamma_mhz_per_t(self.isotope)
        V.string(self.label, "Spin label", SpinSystemError)
        if ISOTOPES[self.isotope][1] != 0.5:
            raise SpinSystemError(
                f"isotope = {self.isotope!r} has spin {ISOTOPES[self.isotope][1]:g}: "
                "only spin-1/2 nuclei are supported"
            )
        if self.offset_hz is not None and self.shift_ppm is not None:
            raise SpinSystemError("give offset_hz or shift_ppm, not both")
        object.__setattr__(self, "offset_hz", _finite("offset_hz", self.offset_hz, optional=True))
        object.__setattr__(self, "shift_ppm", _finite("shift_ppm", self.shift_ppm, optional=True))
        object.__setattr__(self, "t1_s", _finite("t1_s", self.t1_s, positive=True, optional=True))
        object.__setattr__(self, "t2_s", _finite("t2_s", self.t2_s, positive=True, optional=True))


@dataclass(frozen=True)
class Coupling:
    """A pairwise coupling between spins ``i`` and ``j`` (0-based), in Hz.

    ``kind`` is "J" (scalar) or "dipolar" (secular).  ``weak`` forces the
    weak-coupling (I1z I2z) form of a homonuclear J; heteronuclear couplings
    are always weak.  ``t1d_s`` (dipolar couplings only) is the relaxation
    time of the pair's dipolar order 3 I1z I2z − I1·I2.
    """

    i: int
    j: int
    hz: float
    kind: str = "J"
    weak: bool = False
    t1d_s: float | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.kind, str) or self.kind not in ("J", "dipolar"):
            raise SpinSystemError(f"coupling kind = {V.show(self.kind)} is not allowed: use 'J' or 'dipolar'")
        for name in ("i", "j"):
            v = getattr(self, name)
            if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)) or v < 0:
                raise SpinSystemError(f"coupling {name} = {V.show(v)} is not allowed: give a spin index ≥ 0")
            object.__setattr__(self, name, int(v))
        object.__setattr__(self, "weak", V.boolean(self.weak, "coupling weak", SpinSystemError))
        if self.i == self.j:
            raise SpinSystemError(f"coupling ({self.i}, {self.j}) couples a spin to itself")
        object.__setattr__(self, "hz", _finite("coupling hz", self.hz))
        object.__setattr__(self, "t1d_s", _finite("t1d_s", self.t1d_s, positive=True, optional=True))
        if self.t1d_s is not None and self.kind != "dipolar":
            raise SpinSystemError("t1d_s is the relaxation time of dipolar order: give it on a dipolar coupling")


@dataclass(frozen=True)
class SpinSystem:
    """A sample: spins, couplings, field, carriers and temperature.

    Parameters
    ----------
    spins : tuple of Spin
        (or a list); 1 to :data:`MAX_SYSTEM_SPINS`.
    couplings : tuple of Coupling
        (or a list; empty for none).
    field_t : float, optional
        B0 in tesla.  Or give ``proton_mhz`` (the 1H Larmor frequency).
    proton_mhz : float, optional
    carrier_ppm : dict, optional
        Carrier position per channel (isotope) in ppm (default 0).  Every
        carrier, offset and Larmor frequency these fields give must be a
        finite float.
    temperature_k : float
        Lab temperature (default 298.15 K).
    """

    spins: tuple
    couplings: tuple = ()
    field_t: float | None = None
    proton_mhz: float | None = None
    carrier_ppm: dict = field(default_factory=dict)
    temperature_k: float = 298.15

    def __post_init__(self) -> None:
        spins = V.items(self.spins, "spins", SpinSystemError, "Spin objects")
        if not spins or not all(isinstance(s, Spin) for s in spins):
            raise SpinSystemError(f"spins = {V.show(self.spins)} is not allowed: give a non-empty list of Spin objects")
        if len(spins) > MAX_SYSTEM_SPINS:
            raise SpinSystemError(
                f"spins: {len(spins)} spins is not allowed: at most {MAX_SYSTEM_SPINS} are supported "
                "(the state space grows as 4^n)"
            )
        object.__setattr__(self, "spins", spins)
        couplings = V.items(self.couplings, "couplings", SpinSystemError, "Coupling objects (or an empty list)")
        object.__setattr__(self, "couplings", couplings)
        seen = set()
        for c in self.couplings:
            if not isinstance(c, Coupling):
                raise SpinSystemError(f"couplings = {V.show(self.couplings)} is not allowed: give Coupling objects, "
                                      f"not {type(c).__name__}")
            if max(c.i, c.j) >= len(spins):
                raise SpinSystemError(f"coupling ({c.i}, {c.j}) names a spin that does not exist (n = {len(spins)})")
            key = (min(c.i, c.j), max(c.i, c.j), c.kind)
            if key in seen:
                raise SpinSystemError(f"coupling ({c.i}, {c.j}) of kind {c.kind!r} is given twice: give each pair once")
            seen.add(key)
        if (self.field_t is None) == (self.proton_mhz is None):
            raise SpinSystemError("give exactly one of field_t (tesla) or proton_mhz (1H Larmor frequency)")
        if self.proton_mhz is not None:
            object.__setattr__(self, "field_t", _finite("proton_mhz", self.proton_mhz, positive=True) / ISOTOPES["1H"][0])
        object.__setattr__(self, "field_t", _finite("field_t", self.field_t, positive=True))
        object.__setattr__(self, "temperature_k", _finite("temperature_k", self.temperature_k, positive=True))
        cp = V.mapping(self.carrier_ppm, "carrier_ppm", SpinSystemError, "channel: ppm")
        for k, v in cp.items():
            if not isinstance(k, str) or k not in self.channels:
                raise SpinSystemError(
                    f"carrier_ppm names channel {V.show(k)}, which has no spin (channels: {', '.join(self.channels)})"
                )
            cp[k] = _finite(f"carrier_ppm[{k}]", v)
        object.__setattr__(self, "carrier_ppm", cp)
        self._check_derived()

    def _check_derived(self) -> None:
        """Refuse fields whose combination overflows: every carrier, offset
        and Larmor frequency must be finite."""
        with np.errstate(over="ignore", invalid="ignore"):
            for ch in self.channels:
                if not math.isfinite(self.carrier_mhz(ch)):
                    raise SpinSystemError(
                        f"carrier_ppm[{ch}] = {self.carrier_ppm.get(ch, 0.0)!r} with field_t = {self.field_t!r} "
                        "gives a non-finite carrier frequency: both must be far smaller"
                    )
            offsets, larmor = self.offsets_hz(), self.larmor_hz()
        for k, s in enumerate(self.spins):
            if not (math.isfinite(offsets[k]) and math.isfinite(larmor[k])):
                name = "shift_ppm" if s.shift_ppm is not None else "offset_hz"
                raise SpinSystemError(
                    f"spin {k}: {name} = {getattr(s, name)!r} with field_t = {self.field_t!r} gives a non-finite "
                    "frequency: it must be far smaller"
                )

    # ------------------------------------------------------------ structure
    @property
    def n(self) -> int:
        return len(self.spins)

    @property
    def dim(self) -> int:
        return 2**self.n

    @property
    def channels(self) -> tuple[str, ...]:
        """One channel per isotope, in order of first appearance."""
        return tuple(dict.fromkeys(s.isotope for s in self.spins))

    def labels(self) -> list[str]:
        return [s.label or f"{s.isotope}{k}" for k, s in enumerate(self.spins)]

    def spins_on(self, channel: str) -> list[int]:
        if not isinstance(channel, str) or channel not in self.channels:
            raise SpinSystemError(
                f"channel {V.show(channel)} is not allowed: this system has {', '.join(self.channels)}"
            )
        return [k for k, s in enumerate(self.spins) if s.isotope == channel]

    def base_mhz(self, channel: str) -> float:
        """Larmor frequency of 0 ppm on ``channel`` (Bruker BF), MHz (|γ|B0)."""
        self.spins_on(channel)
        return abs(gamma_mhz_per_t(channel)) * self.field_t

    def carrier_mhz(self, channel: str) -> float:
        """Carrier frequency of ``channel`` (Bruker SFO), MHz."""
        bf = self.base_mhz(channel)
        return bf * (1 + self.carrier_ppm.get(channel, 0.0) * 1e-6)

    def offsets_hz(self) -> np.ndarray:
        """Offset of each spin from its channel carrier, Hz."""
        out = []
        for s in self.spins:
            if s.shift_ppm is not None:
                out.append((s.shift_ppm - self.carrier_ppm.get(s.isotope, 0.0)) * self.base_mhz(s.isotope))
            else:
                out.append(s.offset_hz or 0.0)
        return np.array(out)

    # ------------------------------------------------------------ operators
    @cached_property
    def ops(self) -> dict[str, np.ndarray]:
        """Spin operators as (n, d, d) complex arrays: "x", "y", "z", "p" (I⁺)."""
        half = {
            "x": np.array([[0, 0.5], [0.5, 0]], dtype=np.complex128),
            "y": np.array([[0, -0.5j], [0.5j, 0]], dtype=np.complex128),
            "z": np.array([[0.5, 0], [0, -0.5]], dtype=np.complex128),
            "p": np.array([[0, 1], [0, 0]], dtype=np.complex128),
        }
        out = {}
        for key, m in half.items():
            mats = []
            for k in range(self.n):
                op = np.ones((1, 1), dtype=np.complex128)
                for q in range(self.n):
                    op = np.kron(op, m if q == k else np.eye(2))
                mats.append(op)
            out[key] = np.stack(mats)
        return out

    def free_hamiltonian(self, extra_offsets_hz: np.ndarray | float = 0.0) -> np.ndarray:
        """Rotating-frame free Hamiltonian in rad/s, (d, d) complex."""
        o = self.ops
        nu = self.offsets_hz() + extra_offsets_hz
        h = 2 * np.pi * np.einsum("k,kab->ab", nu.astype(np.complex128), o["z"])
        for c in self.couplings:
            zz = o["z"][c.i] @ o["z"][c.j]
            dot = zz + o["x"][c.i] @ o["x"][c.j] + o["y"][c.i] @ o["y"][c.j]
            homo = self.spins[c.i].isotope == self.spins[c.j].isotope
            if c.kind == "J":
                h = h + 2 * np.pi * c.hz * (dot if homo and not c.weak else zz)
            else:
                h = h + 2 * np.pi * c.hz * (3 * zz - dot if homo else 2 * zz)
        return h

    def dipolar_order(self, i: int, j: int) -> np.ndarray:
        """The dipolar-order operator 3 Iiz Ijz − Ii·Ij of a homonuclear pair."""
        o = self.ops
        zz = o["z"][i] @ o["z"][j]
        return 3 * zz - (zz + o["x"][i] @ o["x"][j] + o["y"][i] @ o["y"][j])

    # ------------------------------------------------------------ thermal
    def larmor_hz(self) -> np.ndarray:
        """Lab-frame Larmor frequencies γB0/2π (signed, with chemical shift), Hz."""
        out = []
        for s, off in zip(self.spins, self.offsets_hz()):
            g = gamma_mhz_per_t(s.isotope)
            out.append(np.sign(g) * (self.carrier_mhz(s.isotope) * 1e6 + off))
        return np.array(out)

    def polarization(self) -> np.ndarray:
        """Thermal polarisation ⟨σz⟩ = tanh(h ν_L / 2 k T) of each spin (exact)."""
        nu = self.larmor_hz()
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            # x → ±inf near 0 K: tanh is then ±1, exactly right; a zero gap (ν = 0) has no polarisation
            x = 2 * np.pi * HBAR * nu / (2 * KB * self.temperature_k)
        return np.tanh(np.where(nu == 0, 0.0, x))

    def thermal_state(self) -> np.ndarray:
        """exp(−H_Z/kT)/Z of the lab Zeeman Hamiltonian H_Z = −Σ h ν_k I_kz,
        exactly (a product of one-spin states, no high-temperature expansion)."""
        rho = np.ones((1, 1), dtype=np.complex128)
        for p in self.polarization():
            rho = np.kron(rho, np.diag([(1 + p) / 2, (1 - p) / 2]).astype(np.complex128))
        return rho
