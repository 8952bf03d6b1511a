"""JAX's persistent compilation cache for neuralcrn runs.

Every ``neuralcrn train`` process used to compile its programs (the training epoch, the chemical
predictor, the ideal reference) from scratch: ≈ 3 s of the paper's XOR training at k_ann = 1e4 and
≈ 8 s of the default ``neuralcrn train xor``. JAX can keep compiled XLA executables on disk, keyed
by the program, the JAX / XLA versions and the compile options, and load them in a later process
instead of compiling again (JAX documentation, "Persistent compilation cache"). A cached
executable is the same compiled code, so results are bit-identical with and without the cache.
On CPU the key does not name the processor model: an entry another machine wrote into a shared
folder may be refused (XLA checks the target features when loading; jax-ml/jax#38445 reports
Intel AVX-512 hosts that refuse even their own entries). A refused entry is compiled again, as
without the cache; JAX's warning about it is silenced here (XLA may still log a line).

The ``neuralcrn`` command turns the cache on for every subcommand except ``bench`` (whose
compile timings are meant cold); a library user calls :func:`enable_compilation_cache`. Where:

* ``NEURALCRN_COMPILATION_CACHE`` unset (or ``on``, ``1``, ``yes``, ``true``) —
  ``$XDG_CACHE_HOME/neuralcrn/jax`` (``~/.cache/neuralcrn/jax``);
* ``NEURALCRN_COMPILATION_CACHE=off`` (or ``0``, ``no``, ``false``, empty) — no cache, not even
  one JAX was given;
* ``NEURALCRN_COMPILATION_CACHE=DIR`` — that folder;
* but a cache folder the user already gave JAX (``JAX_COMPILATION_CACHE_DIR`` or
  ``jax.config.update("jax_compilation_cache_dir", ...)``) is kept, unless the variable says
  ``off``.

The folder is bounded (:data:`MAX_SIZE_BYTES` unless JAX was given a bound; least recently used
entries evicted, under a file lock, so parallel runs — ``--seeds``, the workers of a local dask
cluster, which inherit the setting through the environment — never read a half-written entry).
A folder that cannot be created gives one warning and the run goes on without the cache.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import jax

__all__ = ["enable_compilation_cache", "default_cache_dir", "environment_without_cache_settings",
           "ENV_VAR", "MAX_SIZE_BYTES", "MIN_COMPILE_TIME_S", "SETTINGS", "XLA_REFUSED"]

ENV_VAR = "NEURALCRN_COMPILATION_CACHE"
"""Environment variable that moves (a path) or switches off (``off``) the cache."""

MAX_SIZE_BYTES = 1 << 30
"""Size bound of the cache folder (1 GiB); older entries are evicted beyond it."""

MIN_COMPILE_TIME_S = 0.1
"""Programs that compile faster than this are not written (JAX's default is 1 s; many of our
per-phase programs take 0.1–1 s, and together they are most of a small run's compile time)."""

SETTINGS = ("jax_compilation_cache_dir", "jax_compilation_cache_max_size",
            "jax_persistent_cache_min_compile_time_secs", "jax_enable_compilation_cache")
"""The JAX settings :func:`enable_compilation_cache` may set (and export as ``JAX_...``)."""

XLA_REFUSED = "Machine type used for XLA:CPU compilation"
"""XLA's log line when it refuses to load a cached CPU executable (jax-ml/jax#38445)."""

_OFF = {"", "0", "off", "no", "false", "none"}
_ON = {"1", "on", "yes", "true"}
_REFUSED = r"Error reading persistent compilation cache entry"
"""JAX's warning when it cannot load an entry (it compiles the program instead)."""


def _switched_off() -> bool:
    value = os.environ.get(ENV_VAR)
    return value is not None and value.strip().lower() in _OFF


def default_cache_dir() -> Path | None:
    """The cache folder :func:`enable_compilation_cache` uses when given none: the path in
    :data:`ENV_VAR`, ``None`` when that says ``off``, else ``$XDG_CACHE_HOME/neuralcrn/jax``
    (``~/.cache/neuralcrn/jax`` where ``XDG_CACHE_HOME`` is unset or not absolute). Absolute.

    Raises ``RuntimeError`` when the home folder cannot be determined (``pathlib``)."""
    value = os.environ.get(ENV_VAR)
    if value is not None and value.strip().lower() not in _ON:
        return None if _switched_off() else Path(value).expanduser().absolute()
    base = os.environ.get("XDG_CACHE_HOME", "")
    root = Path(base) if os.path.isabs(base) else Path.home() / ".cache"
    return root / "neuralcrn" / "jax"


def environment_without_cache_settings(**extra: str) -> dict[str, str]:
    """A copy of ``os.environ`` without JAX's cache variables (``JAX_*CACHE*``: those of
    :data:`SETTINGS` and the like), plus ``extra``: for a child process that must set the cache
    up itself (:data:`ENV_VAR` in ``extra``) rather than inherit this process's choice."""
    env = {k: v for k, v in os.environ.items() if not (k.startswith("JAX_") and "CACHE" in k)}
    env.update(extra)
    return env


def _set(name: str, value) -> None:
    """A JAX setting for this process and, through the environment, its child processes."""
    jax.config.update(name, value)
    os.environ[name.upper()] = str(value).lower() if isinstance(value, bool) else str(value)


def enable_compilation_cache(path: str | os.PathLike | None = None) -> Path | None:
    """Keep JAX's compiled programs in ``path`` (default :func:`default_cache_dir`) for later
    processes; returns the folder in use, or ``None`` when the cache stays off.

    Sets JAX's ``jax_compilation_cache_dir``, ``jax_compilation_cache_max_size``
    (:data:`MAX_SIZE_BYTES`) and ``jax_persistent_cache_min_compile_time_secs``
    (:data:`MIN_COMPILE_TIME_S`) for this process, and the matching ``JAX_...`` environment
    variables so that worker processes it starts (a local dask cluster) use the same folder.
    Without ``path``, :data:`ENV_VAR` ``=off`` switches JAX's cache off altogether
    (``jax_enable_compilation_cache``); otherwise a folder JAX was already given is kept (and
    returned; it gets the size bound if it had none). Call it before the first compilation: JAX
    reads the setting once.

    Warns (``UserWarning``) instead of raising when the folder cannot be created or the home
    folder is unknown.
    """
    if path is None and _switched_off():
        _set("jax_enable_compilation_cache", False)
        return None
    given = jax.config.jax_compilation_cache_dir
    folder, problem = None, None
    try:
        folder = (Path(given) if given else
                  Path(path).expanduser().absolute() if path is not None else default_cache_dir())
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".probe-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except (OSError, RuntimeError) as exc:   # RuntimeError: no home folder (pathlib)
        problem = f"cannot write to {folder} ({exc})" if folder else f"no folder ({exc})"
    if problem is not None:
        warnings.warn(f"neuralcrn: compilation cache off: {problem}; set {ENV_VAR}=DIR to use "
                      f"another folder or {ENV_VAR}=off to silence this", stacklevel=2)
        return None
    warnings.filterwarnings("ignore", message=_REFUSED)
    if jax.config.jax_compilation_cache_max_size == -1:
        _set("jax_compilation_cache_max_size", MAX_SIZE_BYTES)
    if given:
        return folder
    _set("jax_compilation_cache_dir", str(folder))
    _set("jax_persistent_cache_min_compile_time_secs", MIN_COMPILE_TIME_S)
    return folder
