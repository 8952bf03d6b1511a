"""The kinetics layer: mass-action simulation of reaction networks.

Rate law everywhere (see :mod:`neuralcrn.chemistry.network`): a reaction ``Σ ν_i X_i -> ...`` fires at
``k · Π [X_i]^ν_i`` — no 1/ν! factor; the stochastic propensity is its exact counterpart
``k · V · Π n_i(n_i−1)···(n_i−ν_i+1) / V^ν_i`` on molecule counts n in volume V.

- :func:`simulate` — deterministic ODE (JAX: our Rosenbrock integrators with the analytic
  mass-action Jacobian by default, or diffrax's), validated, raises
  :class:`~neuralcrn.errors.SimulationError` on failure; returns a :class:`Trajectory`.
- :func:`simulate_ssa` — stochastic simulation on molecule counts (numba): exact SSA (direct
  method, dependency graph), non-negative trapezoidal tau-leaping, or the chemical Langevin
  equation; returns a :class:`StochasticTrajectory` (``docs/stochastic.md``). The same kernels
  run stochastic training (``_protocol_kernels``: a whole epoch of a phased protocol per call).
- :func:`compile_network` → :class:`MassActionArrays` (numpy), whose :meth:`~MassActionArrays.structure`
  feeds the pure, jit/vmap/scan-compatible :func:`mass_action_rhs`, :func:`solve`,
  :func:`solve_at`, :func:`solve_final` and :func:`solve_final_stack` (K pots, one step sequence)
  used inside compiled training loops. Solver design and measurements: ``docs/solver.md``.
- :func:`measure_oscillator` / :func:`measure_clock` → :class:`OscillationMeasurement`: the limit
  cycle of an oscillator (period, phase windows, duty cycle, overlaps).
"""

from ._arrays import MassActionArrays, MassActionStructure, compile_network
from ._rhs import mass_action_rhs, reaction_rates
from ._solve import (DEFAULT_METHOD, DENSE_MAX_SPECIES, METHODS, STIFF_THRESHOLD, ODESolution,
                     choose_method, choose_phase_method, jacobian_plan, resolve_method, solve,
                     solve_at, solve_final, solve_final_stack, stiffness_number)
from ._trajectory import Trajectory, write_trajectory_csv
from ._ode import device_structure, simulate
from ._jacobian import substitution_depth
from ._ssa import StochasticTrajectory, simulate_ssa
from ._oscillation import OscillationMeasurement, measure_clock, measure_oscillator

__all__ = [
    "simulate", "Trajectory", "simulate_ssa", "StochasticTrajectory", "write_trajectory_csv",
    "compile_network", "MassActionArrays", "MassActionStructure", "device_structure",
    "mass_action_rhs", "reaction_rates", "solve", "solve_at", "solve_final", "solve_final_stack",
    "ODESolution", "METHODS", "DEFAULT_METHOD", "resolve_method", "choose_method",
    "choose_phase_method", "stiffness_number", "STIFF_THRESHOLD", "substitution_depth",
    "jacobian_plan",
    "DENSE_MAX_SPECIES", "measure_oscillator", "measure_clock", "OscillationMeasurement",
]
