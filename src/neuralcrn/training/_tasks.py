"""The few things training needs from :mod:`neuralcrn.tasks`, in one place.

``get_task(name)`` → a task with a default model specification, epoch count, initial parameters
and data set (seeded); ``epoch_order(seed, epoch, n)`` → the shared per-epoch sample order.
"""

from __future__ import annotations

from ..errors import DataError
from ..ideal.spec import ModelSpec, Params

__all__ = ["load_task", "task_dataset", "task_init", "task_epochs", "task_spec", "sample_order",
           "task_names"]


def _tasks():
    from .. import tasks
    return tasks


def task_names() -> list[str]:
    t = _tasks()
    for name in ("task_names", "list_tasks", "names"):
        f = getattr(t, name, None)
        if callable(f):
            return list(f())
        if isinstance(f, (list, tuple)):
            return list(f)
    reg = getattr(t, "TASKS", None)
    return sorted(reg) if reg is not None else []


def load_task(name: str):
    """The task ``name`` (raises :class:`DataError` naming the known tasks)."""
    t = _tasks()
    get = getattr(t, "get_task", None)
    if get is None:
        raise DataError("no task registry is available (neuralcrn.tasks.get_task is missing)")
    try:
        return get(name)
    except DataError:
        raise
    except (KeyError, LookupError, ValueError) as e:
        known = ", ".join(task_names())
        raise DataError(f"unknown task {name!r}" + (f"; known tasks: {known}" if known else "")
                        + (f" ({e})" if not known else "")) from None


def task_spec(task) -> ModelSpec:
    spec = getattr(task, "model_spec")
    return spec() if callable(spec) else spec


def task_epochs(task) -> int:
    return int(getattr(task, "epochs"))


def task_dataset(task, seed: int):
    """The task's data set for ``seed``."""
    for name in ("dataset", "data", "make_dataset", "load"):
        f = getattr(task, name, None)
        if callable(f):
            return f(seed)
    raise DataError(f"task {getattr(task, 'name', task)!r} has no data set generator")


def task_init(task, spec: ModelSpec, seed: int) -> Params:
    """The task's initial parameters for ``spec`` and ``seed``."""
    for name in ("init_params", "initial_params"):
        f = getattr(task, name, None)
        if callable(f):
            try:
                p = f(seed, spec=spec)
            except TypeError:
                p = f(seed)
            return Params(*p) if not isinstance(p, Params) else p
    from ..ideal import init_params
    kw = getattr(task, "init", None) or {}
    return init_params(spec, seed, **dict(kw))


def sample_order(seed: int, epoch: int, n: int):
    """The visiting order of epoch ``epoch`` (0-based) for ``seed`` (:func:`tasks.epoch_order`)."""
    return _tasks().epoch_order(seed, epoch, n)
