"""The kinetics layer: mass-action simulation of reaction networks.

Rate law everywhere (see :mod:`neuralcrn.chemistry.network`): a reaction ``Σ ν_i X_i -> ...`` fires at
``k · Π [X_i]^ν_i`` — no 1/ν! factor; the stochastic propensity is its exact counterpart
``k · V · Π n_i(n_i−1)···(n_i−ν_i+1) / V^ν_i`` on molecule counts n in volume V.

- :func:`simulate` — deterministic ODE (JAX + diffrax), validated, raises
  :class:`~neuralcrn.errors.SimulationError` on failure; returns a :class:`Trajectory`.
- :func:`simulate_ssa` — stochastic simulation (numba): exact Gillespie direct method or adaptive
  tau-leaping; returns a :class:`StochasticTrajectory`.
- :func:`compile_network` → :class:`MassActionArrays` (numpy), whose :meth:`~MassActionArrays.structure`
  feeds the pure, jit/vmap/scan-compatible :func:`mass_action_rhs`, :func:`solve`,
  :func:`solve_at` and :func:`solve_final` used inside compiled training loops.
- :func:`measure_oscillator` / :func:`measure_clock` → :class:`OscillationMeasurement`: the limit
  cycle of an oscillator (period, phase windows, duty cycle, overlaps).
"""

from ._arrays import MassActionArrays, MassActionStructure, compile_network
from ._rhs import mass_action_rhs, reaction_rates
from ._solve import METHODS, ODESolution, solve, solve_at, solve_final
from ._trajectory import Trajectory, write_trajectory_csv
from ._ode import simulate, device_structure
from ._ssa import StochasticTrajectory, simulate_ssa
from ._oscillation import OscillationMeasurement, measure_clock, measure_oscillator

__all__ = [
    "simulate", "Trajectory", "simulate_ssa", "StochasticTrajectory", "write_trajectory_csv",
    "compile_network", "MassActionArrays", "MassActionStructure", "device_structure",
    "mass_action_rhs", "reaction_rates", "solve", "solve_at", "solve_final", "ODESolution",
    "METHODS", "measure_oscillator", "measure_clock", "OscillationMeasurement",
]
