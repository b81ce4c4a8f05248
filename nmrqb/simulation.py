"""Simulate a translated experiment on its platform, as a spectrometer would.

The simulation stage of the data flow: it takes an
:class:`nmrqb.translate.Experiment` and runs its sequences on
:class:`pulses.Simulator` with the platform's relaxation (T1 to thermal
equilibrium, T2, T1D), optional RF-amplitude and offset ensembles, and
returns the prepared and charged states and the FIDs of every (Ωt,
readout) pair.

Linearity is used, not approximated: the sub-experiments of a temporally
averaged preparation are simulated one by one from the thermal state and
their final states combined with their scan weights; since everything after
the preparation is linear in the state, charging and readout then start
from that weighted state once — the same numbers as running every
sub-experiment to the end and summing the FIDs, at 1/K of the cost.

This module runs simulations; it builds no sequences and does no spectral
analysis.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nmrqb.errors import PhysicsError

__all__ = ["SimulatedExperiment", "simulate_experiment"]


@dataclass(frozen=True)
class SimulatedExperiment:
    """What :func:`simulate_experiment` returns.

    Attributes
    ----------
    experiment : nmrqb.translate.Experiment
    prepared : ndarray (4, 4)
        The weighted state after the preparation (the uncharged battery as
        the sample holds it).
    charged : ndarray (n_Ωt, 4, 4)
        The state right after each charging pulse (before readout).
    fids : dict
        ``fids[(k, readout)][channel]`` = :class:`pulses.FID` of charging
        value k and readout ``readout`` (empty when ``acquire=False``).
    relaxation : bool
    """

    experiment: object
    prepared: np.ndarray
    charged: np.ndarray
    fids: dict
    relaxation: bool

    @property
    def alpha(self) -> float:
        return self.experiment.preparation.alpha


def simulate_experiment(experiment, *, relaxation: bool = True, rf_scale=None, offsets_hz=None,
                        acquire: bool = True, max_cache_mib: float = 256.0) -> SimulatedExperiment:
    """Run every sequence of ``experiment`` on its platform.

    Parameters
    ----------
    experiment : nmrqb.translate.Experiment
    relaxation : bool
        The platform's T1 (to thermal equilibrium), T2 and T1D (default on).
    rf_scale, offsets_hz : pulses.Distribution or number/list, optional
        RF-amplitude and resonance-offset ensembles (see :class:`pulses.Simulator`).
    acquire : bool
        Record the FIDs of every readout (default); False stops after the
        charging pulses (states only, much faster).
    max_cache_mib : float
        Propagator cache bound of each simulator.
    """
    import pulses
    from pulses.sequence import Sequence

    from nmrqb.translate import Experiment

    if not isinstance(experiment, Experiment):
        raise PhysicsError(f"experiment must be an nmrqb.translate.Experiment, got {type(experiment).__name__}")
    system = experiment.platform.system
    opts = dict(relaxation=bool(relaxation), rf_scale=rf_scale, offsets_hz=offsets_hz, max_cache_mib=max_cache_mib)
    prep = experiment.preparation
    thermal = pulses.Simulator(system, **opts)
    rho = np.zeros((system.dim, system.dim), dtype=np.complex128)
    for sub in prep.subexperiments:
        rho += sub.weight * thermal.run(sub.sequence).final_state
    rho = 0.5 * (rho + rho.conj().T)
    sim = pulses.Simulator(system, initial=rho, **opts)
    charged = []
    fids = {}
    for k, pulse in enumerate(experiment.charging.pulses):
        charge = () if pulse is None else (pulse,)
        charged.append(sim.run(Sequence(charge, name=f"charge {k}")).final_state if charge else rho)
        if not acquire:
            continue
        for r in experiment.readout.names:
            seq = Sequence(charge + tuple(experiment.readout.pulses[r]) + (experiment.readout.acquire,),
                           name=f"Ωt={experiment.charging.omega_t[k]:.6g} readout {r}")
            res = sim.run(seq)
            fids[(k, r)] = {ch: res.fid(ch) for ch in system.channels}
    return SimulatedExperiment(experiment, rho, np.array(charged), fids, bool(relaxation))
