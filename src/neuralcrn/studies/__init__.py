"""Studies: many training runs of one question, farmed out to workers (above training).

- :class:`StudyPoint` / :func:`study_points`: the points of a robustness study — the product of
  the volume Ω, rate-constant error σ, leak λ and wash-residual w axes times K replicates (each
  replicate its own seed and circuit instance).
- :func:`run_point`: train one point (pure; a failure is a row with its error).
- :func:`run_study`: map the points over a dask.distributed cluster (a ``LocalCluster`` or an
  existing scheduler), append each row to ``runs.csv`` as it finishes, resume a study folder,
  and summarise it (:func:`summarize_rows`: mean and 95 % interval per point, breaking points
  where accuracy falls below 90 %, Ω₅₀ / Ω₉₉).

``neuralcrn robustness`` is the command line; ``docs/robustness.md`` has the measurements.
"""

from ._points import AXES, ROW_FIELDS, StudyPoint, run_point, study_points
from ._summary import BREAK_ACCURACY, breaking_point, summarize_rows, summary_csv_rows
from ._run import (DISTRIBUTED_HINT, SCHEDULER_TIMEOUT_S, connect, read_rows, run_study,
                   write_summary)

__all__ = ["StudyPoint", "study_points", "run_point", "ROW_FIELDS", "AXES", "summarize_rows",
           "breaking_point", "summary_csv_rows", "BREAK_ACCURACY", "run_study", "read_rows",
           "write_summary", "connect", "DISTRIBUTED_HINT", "SCHEDULER_TIMEOUT_S"]
