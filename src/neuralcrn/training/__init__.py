"""Training loops: online SGD of a task in ``chemical`` or ``ideal`` mode (SPEC §4).

- :class:`TrainConfig` → :func:`train` → :class:`TrainResult` (history, parameters, metrics,
  timings); :func:`write_run` writes a run folder atomically; :func:`read_config` reads a run's
  ``config.json`` back.
- Chemical mode, compiled: :func:`chemical_setup` (circuit + :class:`~neuralcrn.compiler.
  StepProgram` + read-out :class:`Probe`), :class:`CompiledEpoch` / :func:`chemical_epoch` (one
  ``lax.scan`` over the samples of an epoch; optional replicate axis), :func:`chemical_predict`
  (the chemical forward pass on many points), :class:`SolverSettings`.
- Stochastic chemistry (``TrainConfig(kinetics="ssa"|"tau-leap"|"cle", volume=Ω)``):
  :mod:`._stochastic`; :func:`train_stochastic_point` trains one configuration at one Ω with one
  seed and returns its metrics (the unit of Ω studies, ``python -m
  neuralcrn.training._omega_study``; ``docs/stochastic.md``).
- ``model.json``: :func:`model_dict`, :func:`load_model` → :class:`TrainedModel`;
  :func:`read_inputs_csv` for ``neuralcrn predict``.
- The run's chemical state and protocol files (``state.csv``, ``resume.json``, ``protocol.json``,
  ``circuit.crn``, ``circuit_final.crn``: :func:`write_run_state`) and continuing a run from them:
  :func:`read_resume` → :class:`ResumeState`, :func:`resume_run` (``neuralcrn train --resume``);
  checkpoints of a run in progress (``train(checkpoint=FOLDER)``, :func:`write_checkpoint`,
  :func:`checkpoint_dir`: ``OUT.checkpoint`` beside the run folder ``neuralcrn train`` writes).
- A run's training protocol as one SBML / Antimony model: :func:`run_protocol`,
  :func:`export_protocol` (``neuralcrn protocol``).

See ``docs/training.md``.
"""

from ._chemical import (SCHEDULE_NAMES, ChemicalSetup, CompiledEpoch, Probe, SolverSettings,
                        chemical_epoch, chemical_predict, chemical_setup, read_params)
from ._loop import MODES, TrainConfig, TrainResult, evaluate_params, predict_params, train
from ._model_file import (MODEL_FORMAT, MODEL_KEYS, TrainedModel, load_model, model_dict,
                          read_inputs_csv)
from ._run_dir import check_out_dir, param_names, read_config, write_checkpoint, write_run
from ._resume import (ResumeState, checkpoint_dir, read_resume, resume_run, write_run_state)
from ._protocol_run import export_protocol, run_protocol, step_samples
from ._stochastic import KINETICS, STOCHASTIC_KINETICS, train_stochastic_point

__all__ = [
    "TrainConfig", "TrainResult", "train", "evaluate_params", "predict_params", "MODES",
    "SCHEDULE_NAMES", "SolverSettings", "ChemicalSetup", "Probe", "CompiledEpoch",
    "chemical_setup", "chemical_epoch", "chemical_predict", "read_params",
    "MODEL_FORMAT", "MODEL_KEYS", "model_dict", "load_model", "TrainedModel", "read_inputs_csv",
    "write_run", "check_out_dir", "read_config", "param_names",
    "ResumeState", "read_resume", "resume_run", "write_run_state", "write_checkpoint",
    "checkpoint_dir",
    "run_protocol", "export_protocol", "step_samples",
    "KINETICS", "STOCHASTIC_KINETICS", "train_stochastic_point",
]
