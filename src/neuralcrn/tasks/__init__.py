"""Tasks: the paper's (SPEC §5), real data sets (SPEC §6) and a user's own data.

- :func:`get_task` (unknown name → :class:`~neuralcrn.errors.DataError`), :data:`TASKS`,
  :func:`task_names`; a :class:`Task` has ``make_data(seed) -> Dataset``, ``model_spec``,
  ``epochs``, ``init_params(seed)`` and its ``target``.
- Your data: :func:`csv_task` (a CSV file), :func:`arrays_task` (numpy arrays),
  :func:`frame_task` (a data frame, duck-typed), :func:`task_from_source` (the data source that
  ``config.json`` records); the pieces: :class:`Table`, :func:`read_csv_table`,
  :func:`tabular_task`, :func:`split_indices`, :func:`fit_scaling`.
- :class:`Dataset`: train/val/test arrays as the model sees them, decision rule, test grid,
  input (and regression target) scaling.
- :func:`epoch_order` (seed, epoch, n): the shared per-epoch sample order of online SGD.
- :mod:`~neuralcrn.tasks.metrics`: :func:`evaluate` (½MSE and accuracy).
- Default models: :func:`bias_model`, :func:`tabular_defaults`.

Defaults and their ideal-mode results: docs/tasks.md (``python -m neuralcrn.tasks._tune``).
"""

from ._dataset import Dataset, epoch_order
from ._task import InitConfig, Target, Task
from ._defaults import TABULAR, bias_model, tabular_defaults
from ._registry import TASKS, get_task, task_names
from ._tabular import (DEFAULT_FRACTIONS, SCALINGS, Table, fit_scaling, read_csv_table,
                       read_feature_columns, split_indices, table_from_arrays, table_from_frame,
                       tabular_task)
from ._source import arrays_task, csv_task, frame_task, save_arrays, task_from_source
from . import metrics
from .metrics import evaluate

__all__ = ["Dataset", "Task", "InitConfig", "Target", "TASKS", "get_task", "task_names",
           "epoch_order", "evaluate", "metrics", "bias_model", "tabular_defaults", "TABULAR",
           "Table", "read_csv_table", "read_feature_columns", "table_from_arrays",
           "table_from_frame", "tabular_task",
           "split_indices", "fit_scaling", "DEFAULT_FRACTIONS", "SCALINGS", "csv_task",
           "arrays_task", "frame_task", "task_from_source", "save_arrays"]
