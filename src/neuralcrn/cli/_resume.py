"""``neuralcrn train --resume DIR``: continue a run from its saved chemical state."""

from __future__ import annotations

from pathlib import Path

KEPT_OPTIONS = {"resume_dir", "epochs", "out", "overwrite", "quiet", "eval_every",
                "no_chemical_eval"}
"""Options that may accompany --resume; every other option would change the training."""


def resume_cmd(resume_dir, given, task, epochs, out, overwrite, eval_every, no_chemical_eval,
               quiet):
    """Resume the run; returns ``(result, out, overwrite)`` for writing. Raises DataError for an
    option that cannot be combined with ``--resume`` or a bad run folder."""
    from ..errors import DataError
    from ..training import check_out_dir, checkpoint_dir, resume_run
    bad = sorted(given - KEPT_OPTIONS) + (["TASK"] if task else [])
    if bad:
        names = ", ".join("--" + b.replace("_", "-") if b != "TASK" else b for b in bad)
        raise DataError(f"--resume continues the run as configured in its config.json; "
                        f"{names} cannot be given with it")
    same = out is None or Path(out).absolute() == Path(resume_dir).absolute()
    if not same:
        check_out_dir(out, overwrite)
    changes = {}
    if eval_every is not None:
        changes["eval_every"] = eval_every
    if no_chemical_eval:
        changes["chemical_eval"] = False
    target = resume_dir if same else out
    result = resume_run(resume_dir, epochs, progress=not quiet,
                        checkpoint=checkpoint_dir(target), **changes)
    return result, target, (True if same else overwrite)
