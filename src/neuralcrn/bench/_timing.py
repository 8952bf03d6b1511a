"""Timing helpers: ahead-of-time compilation, repeated wall-clock runs, medians.

Rules used by every benchmark:

* JAX work is compiled ahead of time (``jax.jit(f).lower(*args).compile()``) and that time is
  reported as ``compile_s``; the first call of the compiled function (``first_s``) and the warmed
  calls (``median_s`` of ``repeats`` runs) are timed separately. Every timed JAX call ends with
  ``jax.block_until_ready`` so asynchronous dispatch cannot hide work.
* Host work (scipy, libroadrunner) is timed the same way, without a compile step.
* Times are wall-clock seconds from :func:`time.perf_counter`; ``cpu_*`` entries are the
  process's CPU seconds (:func:`time.process_time`, every thread) of the same runs, which other
  jobs on a loaded machine disturb far less than wall time.
"""

from __future__ import annotations

import os
import statistics
import time
from typing import Any, Callable

import jax

__all__ = ["compile_aot", "timed", "run_stats", "load_average"]


def compile_aot(fn: Callable, *args, static: dict | None = None):
    """``(compiled, seconds)``: trace, lower and compile ``jax.jit(fn)`` for ``args``.

    ``static``: keyword arguments that are compile-time constants (passed to ``fn`` through a
    closure, not to the compiled function).
    """
    static = static or {}
    f = jax.jit(lambda *a: fn(*a, **static))
    t0 = time.perf_counter()
    compiled = f.lower(*args).compile()
    return compiled, time.perf_counter() - t0


def timed(call: Callable[[], Any]) -> tuple[Any, float]:
    """``(result, seconds)`` of one call; JAX results are waited for."""
    out, wall, _ = _timed_cpu(call)
    return out, wall


def _timed_cpu(call: Callable[[], Any]) -> tuple[Any, float, float]:
    """``(result, wall seconds, process CPU seconds)`` of one call."""
    c0, t0 = time.process_time(), time.perf_counter()
    out = jax.block_until_ready(call())
    return out, time.perf_counter() - t0, time.process_time() - c0


def run_stats(call: Callable[[], Any], repeats: int, *, first: bool = True) -> dict:
    """Time ``call`` ``repeats`` times (after one untimed-as-warm first call when ``first``).

    Returns ``{"first_s", "median_s", "min_s", "max_s", "runs_s", "cpu_median_s", "cpu_min_s",
    "result"}`` (``first_s`` is ``None`` when ``first`` is false; ``result`` is the last call's
    return value; ``cpu_*``: process CPU seconds per run).
    """
    out: dict = {"first_s": None}
    result = None
    if first:
        result, out["first_s"] = timed(call)
    runs, cpu = [], []
    for _ in range(max(1, repeats)):
        result, dt, dc = _timed_cpu(call)
        runs.append(dt)
        cpu.append(dc)
    out.update(median_s=statistics.median(runs), min_s=min(runs), max_s=max(runs), runs_s=runs,
               cpu_median_s=statistics.median(cpu), cpu_min_s=min(cpu), result=result)
    return out


def public(stats: dict) -> dict:
    """``stats`` without the ``result`` entry (for JSON)."""
    return {k: v for k, v in stats.items() if k != "result"}


def load_average() -> list[float] | None:
    """The 1, 5 and 15 minute load averages (``None`` where the platform has none)."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (AttributeError, OSError):  # pragma: no cover - Windows
        return None
