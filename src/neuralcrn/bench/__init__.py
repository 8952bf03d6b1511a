"""Benchmarks of neuralcrn: what ``neuralcrn bench`` runs (a layer above training, below the CLI).

All benchmarks run in one process on one set of compiled circuits (:class:`CircuitCache`):

- ``feedforward`` — one feedforward phase solved by neuralcrn (its own integrators, compiled),
  scipy ``solve_ivp`` LSODA with a vectorised numpy right-hand side, and libroadrunner on the
  exported SBML; same circuit, initial state, horizon and tolerances; final states compared with
  each other and with a reference solve.
- ``solvers`` — steps, time and error of every ODE method (and an IMEX prototype) on both phases
  of the paper's XOR circuit at k_ann = 1e2 … 1e6.
- ``scaling`` — time per chemical training step against the input dimension d (first-order model,
  fixed hidden width), with species/reaction counts and fitted log-log growth exponents.
- ``floor`` — counted right-hand-side evaluations per solve × measured cost of one evaluation
  (plus Jacobians and linear solves for the Rosenbrock methods), against the solve time;
  stiffness (Jacobian spectral radius) and Tsit5's stability bound.
- ``training`` — full chemical training of the paper's XOR configuration (wall including
  compilation) and ``--replicates`` against a single run.

:func:`run_benchmarks` returns JSON-ready results with ratios and :func:`evaluate_targets`;
:func:`format_report` prints them (:func:`format_markdown` as Markdown); :func:`write_json` writes them atomically.
See ``benchmarks/README.md``.
"""

from ._circuits import CircuitCache, scaling_spec, xor_spec
from ._report import format_markdown, format_report
from ._runner import BENCHMARKS, SCHEMA, BenchConfig, evaluate_targets, run_benchmarks, write_json

__all__ = ["BENCHMARKS", "SCHEMA", "BenchConfig", "run_benchmarks", "evaluate_targets",
           "format_report", "format_markdown", "write_json", "CircuitCache", "xor_spec", "scaling_spec"]
