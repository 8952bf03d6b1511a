"""JAX's persistent compilation cache for neuralcrn runs.

Every ``neuralcrn train`` process used to compile its programs (the training epoch, the chemical
predictor, the ideal reference) from scratch: ≈ 3 s of the paper's XOR training at k_ann = 1e4 and
≈ 8 s of the default ``neuralcrn train xor``. JAX can keep compiled XLA executables on disk, keyed
by the program, the compiler and the machine, and load them in a later process instead of
compiling again (JAX documentation, "Persistent compilation cache"). A cached executable is the
same compiled code, so results are bit-identical with and without the cache.

The ``neuralcrn`` command turns the cache on for every subcommand except ``bench`` (whose
compile timings are meant cold); a library user calls :func:`enable_compilation_cache`. Where:

* ``NEURALCRN_COMPILATION_CACHE`` unset — ``$XDG_CACHE_HOME/neuralcrn/jax`` (``~/.cache/...``);
* ``NEURALCRN_COMPILATION_CACHE=off`` (or ``0``, ``no``, ``false``, empty) — no cache;
* ``NEURALCRN_COMPILATION_CACHE=DIR`` — that folder;
* a cache folder the user already gave JAX (``JAX_COMPILATION_CACHE_DIR`` or
  ``jax.config.update("jax_compilation_cache_dir", ...)``) is kept as it is.

The folder is bounded (:data:`MAX_SIZE_BYTES`, least recently used entries evicted, under a file
lock so parallel runs — ``--seeds``, dask workers — never read a half-written entry). A folder that
cannot be created gives one warning and the run goes on without the cache.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import jax

__all__ = ["enable_compilation_cache", "default_cache_dir", "ENV_VAR", "MAX_SIZE_BYTES",
           "MIN_COMPILE_TIME_S"]

ENV_VAR = "NEURALCRN_COMPILATION_CACHE"
"""Environment variable that moves (a path) or switches off (``off``) the cache."""

MAX_SIZE_BYTES = 1 << 30
"""Size bound of the cache folder (1 GiB); older entries are evicted beyond it."""

MIN_COMPILE_TIME_S = 0.1
"""Programs that compile faster than this are not written (JAX's default is 1 s; many of our
per-phase programs take 0.1–1 s, and together they are most of a small run's compile time)."""

_OFF = {"", "0", "off", "no", "false", "none"}


def default_cache_dir() -> Path | None:
    """The cache folder :func:`enable_compilation_cache` uses when given none: the path in
    :data:`ENV_VAR`, ``None`` when that says ``off``, else ``$XDG_CACHE_HOME/neuralcrn/jax``
    (``~/.cache/neuralcrn/jax`` without ``XDG_CACHE_HOME``)."""
    value = os.environ.get(ENV_VAR)
    if value is not None:
        return None if value.strip().lower() in _OFF else Path(value).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "neuralcrn" / "jax"


def enable_compilation_cache(path: str | os.PathLike | None = None) -> Path | None:
    """Keep JAX's compiled programs in ``path`` (default :func:`default_cache_dir`) for later
    processes; returns the folder in use, or ``None`` when the cache stays off.

    Sets JAX's ``jax_compilation_cache_dir``, ``jax_compilation_cache_max_size``
    (:data:`MAX_SIZE_BYTES`) and ``jax_persistent_cache_min_compile_time_secs``
    (:data:`MIN_COMPILE_TIME_S`) for this process, and the matching ``JAX_...`` environment
    variables so that worker processes it starts (dask) use the same folder. A folder JAX was
    already given is kept (and returned). Call it before the first compilation: JAX reads the
    setting once.

    Warns (``UserWarning``) instead of raising when the folder cannot be created.
    """
    given = jax.config.jax_compilation_cache_dir
    if given:
        return Path(given)
    folder = Path(path).expanduser() if path is not None else default_cache_dir()
    if folder is None:
        return None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".probe-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        warnings.warn(f"neuralcrn: compilation cache off: cannot write to {folder} ({exc}); "
                      f"set {ENV_VAR}=DIR to use another folder or {ENV_VAR}=off to silence this",
                      stacklevel=2)
        return None
    settings = {"jax_compilation_cache_dir": str(folder),
                "jax_compilation_cache_max_size": MAX_SIZE_BYTES,
                "jax_persistent_cache_min_compile_time_secs": MIN_COMPILE_TIME_S}
    for name, value in settings.items():
        jax.config.update(name, value)
        os.environ[name.upper()] = str(value)
    return folder
