"""Tests of pulses.compiler: two-spin unitaries compiled into hard pulses and
J evolutions on a heteronuclear pair, and the exact sequence propagator."""

from __future__ import annotations

import math

import numpy as np
import pytest
import qutip
import scipy.linalg
from qutip_qip.circuit import QubitCircuit
from scipy.stats import unitary_group

from pulses import Acquire, Coupling, Delay, Gradient, PhaseStep, Pulse, Sequence, SequenceError, Spin, SpinSystem
from pulses import simulate
from pulses.compiler import CompiledUnitary, _interaction, compile_unitary, kak, sequence_unitary


def pair(off_h=120.0, off_c=-80.0, j=215.0, **kw):
    """The 13C–1H pair of the tests (spin 0 = 1H, spin 1 = 13C)."""
    return SpinSystem((Spin("1H", offset_hz=off_h), Spin("13C", offset_hz=off_c)), (Coupling(0, 1, j),),
                      proton_mhz=400.0, **kw)


SYS = pair()

CNOT = np.eye(4)[[0, 1, 3, 2]].astype(complex)
CZ = np.diag([1, 1, 1, -1]).astype(complex)
SWAP = np.eye(4)[[0, 2, 1, 3]].astype(complex)
ISWAP = np.array([[1, 0, 0, 0], [0, 0, 1j, 0], [0, 1j, 0, 0], [0, 0, 0, 1]])
SQRT_SWAP = np.array(
    [[1, 0, 0, 0], [0, (1 + 1j) / 2, (1 - 1j) / 2, 0], [0, (1 - 1j) / 2, (1 + 1j) / 2, 0], [0, 0, 0, 1]]
)
H1 = np.array([[1, 1], [1, -1]]) / math.sqrt(2)
S1 = np.diag([1, 1j])
T1 = np.diag([1, np.exp(0.25j * np.pi)])
X1 = np.array([[0, 1], [1, 0]], dtype=complex)


def phase_aligned_error(target, achieved):
    """max |e^{iα} achieved − target| with the best global phase α."""
    ov = np.trace(target.conj().T @ achieved)
    return float(np.abs(achieved * np.exp(-1j * np.angle(ov)) - target).max())


def haar(n, seed):
    rng = np.random.default_rng(seed)
    return [unitary_group.rvs(4, random_state=rng) for _ in range(n)]


# ---------------------------------------------------------------- ideal pulses
def test_haar_random_unitaries_compile_exactly():
    worst, longest = 1.0, 0.0
    for u in haar(50, 2024):
        res = compile_unitary(u, SYS)
        assert isinstance(res, CompiledUnitary)
        assert res.gate_fidelity >= 0.9999
        assert res.gate_fidelity >= 1 - 1e-10
        assert phase_aligned_error(u, res.achieved) < 1e-12
        assert all(e.hard for e in res.sequence.elements if isinstance(e, Pulse))
        assert max(abs(c) for c in res.interaction_rad) <= math.pi / 4 + 1e-12
        # three interaction terms, each at most the CNOT time 1/(2J)
        assert res.duration_s <= 3 / (2 * 215.0) + 1e-12
        assert sum(isinstance(e, Pulse) for e in res.sequence.elements) <= 14
        worst, longest = min(worst, res.gate_fidelity), max(longest, res.duration_s)
    print(f"50 Haar-random unitaries, ideal hard pulses: worst gate infidelity {1 - worst:.2e}, "
          f"longest sequence {longest * 1e3:.3f} ms")


def _named():
    loc_a = np.kron(unitary_group.rvs(2, random_state=3), unitary_group.rvs(2, random_state=4))
    loc_b = np.kron(H1, T1 @ S1)
    eps = 1e-7
    return {
        "identity": np.eye(4),
        "phase": np.exp(0.7j) * np.eye(4),
        "CNOT": CNOT,
        "CNOT 1→0": np.kron(H1, H1) @ CNOT @ np.kron(H1, H1),
        "CZ": CZ,
        "SWAP": SWAP,
        "ISWAP": ISWAP,
        "sqrt SWAP": SQRT_SWAP,
        "local": loc_a,
        "local X⊗1": np.kron(X1, np.eye(2)),
        "local Z rotations": np.kron(np.diag([1, 1j]), np.diag([np.exp(-0.3j), np.exp(0.3j)])),
        "CNOT·SWAP": CNOT @ SWAP,
        "SWAP·CZ·local": SWAP @ CZ @ loc_b,
        "ISWAP·CNOT·local": loc_a @ ISWAP @ CNOT,
        "CNOT·CNOT": CNOT @ CNOT,
        "near identity": _interaction(np.array([eps, -eps / 3, 2 * eps])),
        "near CNOT": CNOT @ _interaction(np.array([eps, 0.0, 0.0])),
        "near SWAP": SWAP @ _interaction(np.array([eps, eps, -eps])),
        "edge π/4": _interaction(np.array([math.pi / 4, math.pi / 4, -math.pi / 4])),
        "edge π/2": _interaction(np.array([math.pi / 2, 0.0, math.pi / 2])) @ loc_b,
    }


@pytest.mark.parametrize("name", list(_named()))
@pytest.mark.parametrize("j", [215.0, -140.0])
def test_named_gates_and_products(name, j):
    u = _named()[name]
    (a0, a1), c, (b0, b1) = kak(u)
    assert phase_aligned_error(u, np.kron(a0, a1) @ _interaction(c) @ np.kron(b0, b1)) < 1e-12
    res = compile_unitary(u, pair(j=j), label=name)
    assert res.gate_fidelity >= 1 - 1e-10, res.summary()
    assert phase_aligned_error(u, res.achieved) < 1e-12


def test_pulse_counts_and_durations_of_textbook_gates():
    # CNOT, CZ: one J evolution of 1/(2J); SWAP: three; identity and local gates: no delay
    for u, n_delays, t in ((CNOT, 2, 1 / 430), (CZ, 2, 1 / 430), (SWAP, 6, 3 / 430), (ISWAP, 4, 2 / 430)):
        res = compile_unitary(u, SYS)
        assert sum(isinstance(e, Delay) for e in res.sequence.elements) == n_delays
        assert res.duration_s == pytest.approx(t, rel=1e-12)
    assert compile_unitary(np.eye(4), SYS).sequence.elements == ()
    loc = compile_unitary(np.kron(H1, np.eye(2)), SYS)
    assert loc.duration_s == 0.0 and all(e.channels == ("1H",) for e in loc.sequence.elements)
    # a z rotation is a frame change removed physically: two π pulses at most per spin
    rz = compile_unitary(np.kron(np.diag([1, 1j]), np.eye(2)), SYS)
    flips = [e.flip_deg for e in rz.sequence.elements]
    assert len(flips) <= 2 and rz.gate_fidelity >= 1 - 1e-12
    assert sum(isinstance(e, Pulse) for e in compile_unitary(CNOT, SYS).sequence.elements) <= 5


def test_cnot_control_is_spin_0_as_in_qutip_qip():
    qc = QubitCircuit(2)
    qc.add_gate("CNOT", controls=[0], targets=[1])
    np.testing.assert_allclose(qc.compute_unitary().full(), CNOT, atol=1e-15)
    res = compile_unitary(qc, SYS)
    assert phase_aligned_error(CNOT, res.achieved) < 1e-12
    # |10> (spin 0 down = control set) → |11>
    out = res.achieved @ np.array([0, 0, 1, 0])
    assert abs(out[3]) == pytest.approx(1.0, abs=1e-12)


def test_qobj_target():
    u = haar(1, 7)[0]
    res = compile_unitary(qutip.Qobj(u, dims=[[2, 2], [2, 2]]), SYS)
    assert res.gate_fidelity >= 1 - 1e-10
    assert res.target_qobj.dims == [[2, 2], [2, 2]] and res.achieved_qobj.dims == [[2, 2], [2, 2]]


def _random_rho(seed):
    rng = np.random.default_rng(seed)
    g = rng.normal(size=(4, 4)) + 1j * rng.normal(size=(4, 4))
    rho = g @ g.conj().T + 0.1 * np.eye(4)
    return rho / np.trace(rho)


def _circuit_a():
    qc = QubitCircuit(2)
    qc.add_gate("RX", targets=[0], arg_value=0.7)
    qc.add_gate("CNOT", controls=[0], targets=[1])
    qc.add_gate("RY", targets=[1], arg_value=-1.1)
    qc.add_gate("ISWAP", targets=[0, 1])
    qc.add_gate("RZ", targets=[0], arg_value=2.3)
    qc.add_gate("CNOT", controls=[1], targets=[0])
    qc.add_gate("RZ", targets=[1], arg_value=0.4)
    return qc


def _circuit_b():
    qc = QubitCircuit(2)
    qc.add_gate("SNOT", targets=[0])
    qc.add_gate("CSIGN", controls=[0], targets=[1])
    qc.add_gate("SWAP", targets=[0, 1])
    qc.add_gate("SQRTSWAP", targets=[0, 1])
    qc.add_gate("SNOT", targets=[1])
    qc.add_gate("RY", targets=[0], arg_value=0.3)
    return qc


@pytest.mark.parametrize("make", [_circuit_a, _circuit_b], ids=["CNOT-ISWAP-RX-RY-RZ", "SWAP-CSIGN-SNOT-SQRTSWAP"])
def test_circuit_compiles_and_simulates_to_its_unitary(make):
    qc = make()
    u = qc.compute_unitary().full()
    res = compile_unitary(qc, SYS, label="circuit")
    assert res.gate_fidelity >= 1 - 1e-10
    rho = _random_rho(11)
    assert np.linalg.eigvalsh(rho).min() > 1e-3  # full rank
    out = simulate(SYS, res.sequence, relaxation=False, initial=rho)
    np.testing.assert_allclose(out.final_state, u @ rho @ u.conj().T, atol=1e-9)
    print(res.summary())


@pytest.mark.parametrize("offsets", [(0.0, 0.0), (300.0, -300.0), (-300.0, 300.0), (300.0, 300.0)])
def test_offsets_are_refocused(offsets):
    u = haar(1, 99)[0]
    ref = compile_unitary(u, pair(0.0, 0.0))
    res = compile_unitary(u, pair(*offsets))
    assert res.sequence == ref.sequence  # the sequence does not depend on the offsets ...
    assert res.gate_fidelity >= 1 - 1e-10  # ... and the offsets do not change what it does
    assert abs(res.gate_fidelity - ref.gate_fidelity) < 1e-12
    np.testing.assert_allclose(res.achieved, ref.achieved, atol=1e-12)
    # without the refocusing π pulses the offsets would not cancel
    bare = Sequence(tuple(e for e in res.sequence.elements if not (isinstance(e, Pulse) and "refocus" in e.label)))
    if offsets != (0.0, 0.0):
        f_bare = abs(np.trace(u.conj().T @ sequence_unitary(pair(*offsets), bare))) ** 2 / 16
        assert f_bare < 0.99


# ---------------------------------------------------------------- finite pulses
def test_finite_pulses_at_25_khz():
    sys_ = pair(100.0, -100.0)
    gates = {"CNOT": CNOT, "CZ": CZ, "SWAP": SWAP, "ISWAP": ISWAP}
    gates.update({f"Haar {k}": u for k, u in enumerate(haar(5, 31))})
    lines = []
    for name, u in gates.items():
        ideal = compile_unitary(u, sys_)
        res = compile_unitary(u, sys_, nutation_hz=25e3)
        pulses = [e for e in res.sequence.elements if isinstance(e, Pulse)]
        assert pulses and all(not p.hard and p.nutation_hz == 25e3 for p in pulses)
        assert res.gate_fidelity >= 0.999, res.summary()
        assert res.gate_fidelity < 1 - 1e-8  # honest: the finite pulses do cost something
        # delays are shortened by the half-widths: only the outer half-widths add to the duration
        first = [p for p in res.sequence.elements[: _first_delay(res.sequence)]]
        last = [p for p in res.sequence.elements[_last_delay(res.sequence) + 1:]]
        extra = 0.5 * sum(p.duration for p in first + last) if ideal.duration_s else sum(p.duration for p in pulses)
        assert res.duration_s == pytest.approx(ideal.duration_s + extra, rel=1e-9, abs=1e-15)
        lines.append(f"{name}: {res.gate_fidelity:.6f}")
    print("gate fidelity, rectangular pulses at 25 kHz, 13C-1H, J = 215 Hz, offsets ±100 Hz: " + ", ".join(lines))
    # per-channel nutation frequencies, and faster pulses are better
    u = haar(1, 31)[0]
    slow = compile_unitary(u, sys_, nutation_hz={"1H": 25e3, "13C": 20e3})
    fast = compile_unitary(u, sys_, nutation_hz=100e3)
    assert {p.nutation_hz for p in slow.sequence.elements if isinstance(p, Pulse) and p.channels == ("13C",)} == {20e3}
    assert 0.998 < slow.gate_fidelity < fast.gate_fidelity
    assert "rectangular pulses at 25 kHz on 1H, 20 kHz on 13C" in slow.summary()


def test_finite_pulses_report_clipped_delays():
    # an interaction angle of 1e-3 rad needs 6 µs of J evolution: shorter than a 25 kHz π pulse
    u = _interaction(np.array([1e-3, 0.0, 0.2]))
    res = compile_unitary(u, pair(100.0, -100.0), nutation_hz=25e3)
    assert res.clipped_delays == 2
    assert "set to 0" in res.summary()
    assert all(e.duration_s >= 0 for e in res.sequence.elements if isinstance(e, Delay))
    assert compile_unitary(u, SYS).clipped_delays == 0


def _first_delay(seq):
    return next((k for k, e in enumerate(seq.elements) if isinstance(e, Delay)), len(seq.elements))


def _last_delay(seq):
    return max((k for k, e in enumerate(seq.elements) if isinstance(e, Delay)), default=len(seq.elements))


# ---------------------------------------------------------------- propagator
def test_sequence_unitary_matches_explicit_products():
    o = SYS.ops
    h0 = SYS.free_hamiltonian()
    fx = o["x"][0]
    fy1 = o["y"][1]
    seq = Sequence((
        Pulse(flip_deg=90, phase_deg=0, channels=("1H",), hard=True),
        Delay(1e-3),
        Pulse(flip_deg=180, phase_deg=90, channels=("13C",), hard=True),
        Pulse(flip_deg=45, nutation_hz=10e3, phase_deg=90, channels=("13C",)),
    ))
    tau = 45 / 360 / 10e3
    expect = (
        scipy.linalg.expm(-1j * (h0 + 2 * np.pi * 10e3 * fy1) * tau)
        @ scipy.linalg.expm(-1j * np.pi * fy1)
        @ scipy.linalg.expm(-1j * h0 * 1e-3)
        @ scipy.linalg.expm(-1j * np.pi / 2 * fx)
    )
    np.testing.assert_allclose(sequence_unitary(SYS, seq), expect, atol=1e-12)
    # the simulator agrees on a state
    rho = _random_rho(3)
    u = sequence_unitary(SYS, seq)
    out = simulate(SYS, seq, relaxation=False, initial=rho)
    np.testing.assert_allclose(out.final_state, u @ rho @ u.conj().T, atol=1e-9)
    # a shaped pulse: piecewise constant steps
    g = Pulse(flip_deg=90, duration_s=50e-6, shape="gaussian", steps=16, channels=("1H",))
    ug = sequence_unitary(SYS, Sequence((g,)))
    assert np.allclose(ug.conj().T @ ug, np.eye(4), atol=1e-12)


@pytest.mark.parametrize(
    "seq, words",
    [
        (Sequence((Pulse(flip_deg=90, hard=True), Acquire(points=8, dwell_s=1e-4))), "element 1 (Acquire)"),
        (Sequence((Gradient(),)), "element 0 (Gradient)"),
        (Sequence((Pulse(flip_deg=90, hard=True),), phase_cycle=(PhaseStep((0.0,)), PhaseStep((90.0,)))),
         "phase cycle"),
        (Sequence((Pulse(flip_deg=90, hard=True, channels=("15N",)),)), "channels"),
    ],
)
def test_sequence_unitary_refuses(seq, words):
    with pytest.raises(SequenceError) as exc:
        sequence_unitary(SYS, seq)
    assert words in str(exc.value) and "\n" not in str(exc.value)


# ---------------------------------------------------------------- errors
def _three_qubit_circuit():
    qc = QubitCircuit(3)
    qc.add_gate("CNOT", controls=[0], targets=[2])
    return qc


def _homonuclear():
    return SpinSystem((Spin("1H", offset_hz=100.0), Spin("1H", offset_hz=-100.0)), (Coupling(0, 1, 7.0),),
                      proton_mhz=400.0)


@pytest.mark.parametrize(
    "target, system, kwargs, words",
    [
        (_three_qubit_circuit(), SYS, {}, "a QubitCircuit with 3 qubits is not allowed"),
        (np.ones((4, 4)), SYS, {}, "target is not unitary"),
        (np.eye(4) * 1.001, SYS, {}, "target is not unitary"),
        (np.eye(3), SYS, {}, "target has shape (3, 3)"),
        ("CNOT", SYS, {}, "target"),
        (np.full((4, 4), np.nan), SYS, {}, "target contains NaN"),
        (qutip.qeye(4), SYS, {}, "compile_unitary"),  # dims [[4], [4]] are accepted: this one compiles
        (qutip.qeye([2, 2, 2]), SYS, {}, "target is a Qobj with dims"),
        (CNOT, _homonuclear(), {}, "both spins are on channel '1H'"),
        (CNOT, SpinSystem((Spin("1H"), Spin("13C")), proton_mhz=400.0), {}, "no J coupling between spins 0 and 1"),
        (CNOT, pair(j=0.0), {}, "no J coupling between spins 0 and 1"),
        (CNOT, SpinSystem((Spin("1H"), Spin("13C"), Spin("15N")), (Coupling(0, 1, 215.0),), proton_mhz=400.0), {},
         "a spin system of 3 spins"),
        (CNOT, "not a system", {}, "system"),
        (CNOT, SYS, {"nutation_hz": -5.0}, "nutation_hz"),
        (CNOT, SYS, {"nutation_hz": {"1H": 25e3}}, "nutation_hz"),
        (CNOT, SYS, {"nutation_hz": {"1H": 25e3, "13C": 25e3, "19F": 1e3}}, "nutation_hz"),
    ],
)
def test_errors_are_one_line_and_name_the_field(target, system, kwargs, words):
    if isinstance(target, qutip.Qobj) and target.dims == [[4], [4]]:
        assert compile_unitary(target, system).gate_fidelity == pytest.approx(1.0)
        return
    with pytest.raises(SequenceError) as exc:
        compile_unitary(target, system, **kwargs)
    msg = str(exc.value)
    assert words in msg and "\n" not in msg, msg


def test_summary_is_one_paragraph():
    res = compile_unitary(CNOT, SYS, label="CNOT")
    text = res.summary()
    assert "\n" not in text
    for words in ("'CNOT'", "5 pulses", "2 delays", "2.3256 ms", "gate fidelity", "process fidelity", "ideal hard"):
        assert words in text, text
    assert res.sequence.name == "CNOT"
    assert all(e.label.startswith("CNOT ") for e in res.sequence.elements)
    assert res.j_hz == 215.0 and res.nutation_hz is None
