"""The ``neuralcrn`` command line: ``simulate``, ``circuit``, ``convert``, ``train``, ``predict``,
``protocol``, ``bench``, ``robustness``.

Each subcommand lives in its own module and registers itself on :func:`main`.
"""
import importlib

from ._group import main

for _name in ("simulate", "circuit", "convert", "train", "protocol", "bench", "robustness"):
    try:
        importlib.import_module(f"{__name__}.{_name}")
    except ModuleNotFoundError as _e:  # a subcommand not written yet
        if _e.name != f"{__name__}.{_name}":
            raise

__all__ = ["main"]
