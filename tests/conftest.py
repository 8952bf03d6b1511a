"""Shared test set-up: free compiled programs between test modules.

The whole suite compiles hundreds of XLA programs in one process; keeping them all alive crashed
XLA's compiler late in the run (a segmentation fault in ``backend_compile_and_load``, seen twice
in tests/test_two_phase.py after 94 % of the suite). Each module's programs are dropped after it.
"""

import jax
import pytest


@pytest.fixture(autouse=True, scope="module")
def _free_compiled_programs():
    yield
    from neuralcrn.training._chemical import CompiledEpoch, CompiledPredictor
    CompiledEpoch._cache.clear()
    CompiledPredictor._cache.clear()
    jax.clear_caches()
