"""Shared test set-up: free compiled programs between test modules.

The whole suite compiles hundreds of XLA programs in one process; keeping them all alive crashed
XLA's compiler late in the run (a segmentation fault in ``backend_compile_and_load``, seen twice
in tests/test_two_phase.py after 94 % of the suite). Each module's programs are dropped after it.
The persistent compilation cache stays off (below).
"""

import os

import jax
import pytest

# the persistent compilation cache changes global JAX settings: off in the test process (the
# neuralcrn command would otherwise turn it on in CliRunner tests); tests/test_compilation_cache.py
# turns it on in subprocesses
os.environ["NEURALCRN_COMPILATION_CACHE"] = "off"
os.environ.pop("JAX_COMPILATION_CACHE_DIR", None)       # a user's own JAX cache folder, too
jax.config.update("jax_compilation_cache_dir", None)


@pytest.fixture(autouse=True, scope="module")
def _free_compiled_programs():
    yield
    from neuralcrn.training._chemical import CompiledEpoch, CompiledPredictor
    CompiledEpoch._cache.clear()
    CompiledPredictor._cache.clear()
    jax.clear_caches()
