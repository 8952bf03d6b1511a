"""The paper's tasks (SPEC §5) and Iris (SPEC §6): data, default models, metrics.

- :func:`get_task` (unknown name → :class:`~neuralcrn.errors.DataError`), :data:`TASKS`,
  :func:`task_names`; a :class:`Task` has ``make_data(seed) -> Dataset``, ``model_spec``,
  ``epochs``, ``init_params(seed)`` and its ``target``.
- :class:`Dataset`: train/val/test arrays as the model sees them, decision rule, test grid.
- :func:`epoch_order` (seed, epoch, n): the shared per-epoch sample order of online SGD.
- :mod:`~neuralcrn.tasks.metrics`: :func:`evaluate` (½MSE and accuracy).

Defaults and their ideal-mode results: docs/tasks.md (``python -m neuralcrn.tasks._tune``).
"""

from ._dataset import Dataset, epoch_order
from ._task import InitConfig, Target, Task
from ._registry import TASKS, get_task, task_names
from . import metrics
from .metrics import evaluate

__all__ = ["Dataset", "Task", "InitConfig", "Target", "TASKS", "get_task", "task_names",
           "epoch_order", "evaluate", "metrics"]
