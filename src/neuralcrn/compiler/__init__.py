"""Neural CRN compiler: model specification + parameter values → reaction modules (SPEC §3, §4).

- :func:`compile_circuit` → :class:`NeuralCRN`: the named modules ``feedforward``,
  ``readout_error``, ``adjoint_init``, ``feedback``, ``update`` (each a
  :class:`~neuralcrn.chemistry.ReactionNetwork`), their union over one species order, per-module
  reaction ranges, phase durations and a :meth:`~NeuralCRN.summary` table.
- :class:`SpeciesMap` (:func:`build_species_map`): which species hold x, u, z, Θ, h, W, ŷ, y, e, a
  and every gradient; ``load`` / ``read`` convert between values and concentrations.
- :func:`chemical_gradient` / :func:`chemical_step`: run one training step's modules in sequence
  with :mod:`neuralcrn.kinetics` and read ŷ, e, the gradients and the updated parameters from the
  species. :func:`step_program` + :func:`run_step` are the pure-JAX form for compiled training loops.
- :func:`compile_two_phase` / :func:`two_phase_step`: the two-phase schedule of SPEC §4
  (``feedforward | feedback``, everything of the feedback running together; ``docs/training.md``).
- :func:`describe_protocol` (a step's protocol as JSON-able data, from its :class:`StepProgram`)
  and :func:`circuit_text` (the circuit in the text format with module and protocol comments).
- :func:`compile_minimal` / :func:`minimal_program`: the smallest circuit that learns a linear
  model with non-negative inputs (10 species, 12 reactions for linear regression).
- :func:`protocol_network`: many training steps as one
  :class:`~neuralcrn.chemistry.SwitchedNetwork` (phases as switched rate constants, loads and
  washes as timed events) for the SBML / Antimony export of a whole training run.

- :func:`compile_autonomous` / :func:`autonomous_program` / :func:`autonomous_step`: the
  autonomous circuit — a chemical clock (:class:`~neuralcrn.chemistry.ChemicalClock`) gating
  the two-phase step, a wash made of reactions, one dose of x and y per clock period
  (``docs/autonomous.md``).

- :class:`Imperfections` / :func:`imperfect_program`: rate-constant errors, leaks and an
  incomplete wash applied to a circuit and its step program (SPEC §8, ``docs/robustness.md``).

See ``docs/compiler.md`` for the reaction rules, their ODEs and measured accuracy.
"""

from ._species import SpeciesMap, build_species_map
from ._modules import (FAST_TIME_CONSTANTS, MODULE_NAMES, NeuralCRN, adjoint_init_module,
                       compile_circuit, feedback_module, feedforward_module, readout_error_module,
                       update_module)
from ._protocol import (SCHEDULES, ChemicalStepResult, StepProgram, chemical_gradient,
                        chemical_step, load_sample, run_step, step_program)
from ._two_phase import (ROUTED_HIDDEN_MODULES, ROUTED_MODULES, TWO_PHASE_MODULES, SignRouting, TwoPhaseStepResult,
                         compile_two_phase, is_two_phase, two_phase_program, two_phase_rates,
                         two_phase_step)
from ._schedule import PROTOCOL_FORMAT, circuit_text, describe_protocol
from ._export_protocol import protocol_network
from ._autonomous import (AUTONOMOUS_METHOD, AUTONOMOUS_PHASES, AutonomousCircuit, AutonomousStepResult,
                          ClockOptions, ClockTiming, autonomous_program, autonomous_step,
                          clock_timing, compile_autonomous)
from ._imperfect import (LEAK_REFERENCE, Imperfections, imperfect_program, is_catalytic_production,
                         leak_reactions, rate_factors)
from ._minimal import (MinimalSpecies, check_minimal_spec, compile_minimal, minimal_program,
                       minimal_spec)

__all__ = [
    "SpeciesMap", "build_species_map",
    "NeuralCRN", "compile_circuit", "MODULE_NAMES", "FAST_TIME_CONSTANTS",
    "feedforward_module", "readout_error_module", "adjoint_init_module", "feedback_module",
    "update_module",
    "SCHEDULES", "StepProgram", "step_program", "load_sample", "run_step",
    "ChemicalStepResult", "chemical_gradient", "chemical_step",
    "TWO_PHASE_MODULES", "ROUTED_MODULES", "ROUTED_HIDDEN_MODULES", "SignRouting", "compile_two_phase", "is_two_phase",
    "two_phase_program", "two_phase_rates", "two_phase_step", "TwoPhaseStepResult",
    "PROTOCOL_FORMAT", "describe_protocol", "circuit_text", "protocol_network",
    "Imperfections", "imperfect_program", "leak_reactions", "rate_factors", "LEAK_REFERENCE",
    "is_catalytic_production",
    "compile_minimal", "minimal_program", "minimal_spec", "check_minimal_spec", "MinimalSpecies",
    "compile_autonomous", "autonomous_program", "autonomous_step", "AutonomousCircuit",
    "AutonomousStepResult", "ClockOptions", "ClockTiming", "clock_timing", "AUTONOMOUS_PHASES",
    "AUTONOMOUS_METHOD",
]
