"""JAX's persistent compilation cache as neuralcrn sets it up (neuralcrn._compilation_cache).

The cache changes global JAX settings, so every test that turns it on runs in a subprocess; the
test process itself keeps the cache off (tests/conftest.py sets NEURALCRN_COMPILATION_CACHE=off).
"""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import jax
import pytest

from neuralcrn._compilation_cache import (ENV_VAR, SETTINGS, XLA_REFUSED, default_cache_dir,
                                          enable_compilation_cache,
                                          environment_without_cache_settings)

# compiles a stiff Rosenbrock solve (well over MIN_COMPILE_TIME_S), prints the final state
# exactly and how many programs came from the cache
SCRIPT = textwrap.dedent("""
    import jax, jax.monitoring, neuralcrn
    from neuralcrn.chemistry import parse_text
    from neuralcrn.kinetics import compile_network, solve_final
    hits = []
    jax.monitoring.register_event_listener(
        lambda name, **kw: hits.append(1) if name == '/jax/compilation_cache/cache_hits' else None)
    folder = neuralcrn.enable_compilation_cache()
    net = parse_text('Ap + Am ->{1e4} 0\\n0 ->{1} Ap\\n0 ->{0.5} Am\\nAp ->{2} Bp')
    a = compile_network(net)
    y = solve_final(a.structure(), a.rate_constants, a.initial, 3.0, method='rodas5', rtol=1e-8,
                    atol=1e-10, max_steps=10000)
    print(folder)
    print([float(v).hex() for v in y])
    print(len(hits))
""")


@pytest.fixture(autouse=True)
def _restore_jax_settings():
    """The in-process tests change JAX settings and JAX_* variables: put them back."""
    before = {s: getattr(jax.config, s) for s in SETTINGS}
    env_before = {s.upper(): os.environ.get(s.upper()) for s in SETTINGS}
    yield
    for s, v in before.items():
        jax.config.update(s, v)
    for k, v in env_before.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def _run(env_extra: dict) -> list[str]:
    out = subprocess.run([sys.executable, "-c", SCRIPT],
                         env=environment_without_cache_settings(**env_extra),
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    if XLA_REFUSED in out.stderr:   # some CPUs (jax-ml/jax#38445): the cache cannot hit there
        pytest.skip("this machine's XLA refuses cached CPU executables (jax-ml/jax#38445)")
    return out.stdout.strip().splitlines()[-3:]


def test_second_process_loads_compiled_programs_and_gets_identical_results(tmp_path):
    folder = tmp_path / "cache"
    first = _run({ENV_VAR: str(folder)})
    assert first[0] == str(folder)
    assert first[2] == "0"                      # nothing to load yet
    entries = [p for p in folder.iterdir() if not p.name.startswith(".")]
    assert entries                              # programs written
    second = _run({ENV_VAR: str(folder)})
    assert int(second[2]) >= 1                  # loaded instead of compiled
    assert second[1] == first[1]                # bit-identical final state
    off = _run({ENV_VAR: "off"})
    assert off[0] == "None" and off[2] == "0" and off[1] == first[1]


def test_a_folder_given_to_jax_is_kept(tmp_path):
    mine, theirs = tmp_path / "mine", tmp_path / "theirs"
    out = _run({ENV_VAR: str(mine), "JAX_COMPILATION_CACHE_DIR": str(theirs)})
    assert out[0] == str(theirs)
    assert not mine.exists()


def test_off_wins_over_a_folder_given_to_jax(tmp_path):
    theirs = tmp_path / "theirs"
    out = _run({ENV_VAR: "off", "JAX_COMPILATION_CACHE_DIR": str(theirs)})
    assert out[0] == "None" and out[2] == "0"
    assert not theirs.exists()


@pytest.mark.parametrize("value", ["off", "0", "", "False", " no "])
def test_off_values(monkeypatch, value):
    monkeypatch.setenv(ENV_VAR, value)
    assert default_cache_dir() is None
    assert enable_compilation_cache() is None
    assert not jax.config.jax_enable_compilation_cache
    assert os.environ["JAX_ENABLE_COMPILATION_CACHE"] == "false"     # for worker processes


def test_default_folder(monkeypatch, tmp_path):
    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_cache_dir() == tmp_path / "neuralcrn" / "jax"
    for on in ("on", "1", "Yes"):
        monkeypatch.setenv(ENV_VAR, on)
        assert default_cache_dir() == tmp_path / "neuralcrn" / "jax"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/cache")      # not absolute: ignored (XDG)
    assert default_cache_dir() == Path.home() / ".cache" / "neuralcrn" / "jax"
    monkeypatch.setenv(ENV_VAR, "~/somewhere")
    assert default_cache_dir() == Path.home() / "somewhere"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(ENV_VAR, "here")
    assert default_cache_dir() == tmp_path / "here"             # absolute, for worker processes


def test_unknown_home_warns_and_runs_without_cache(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)

    def no_home():
        raise RuntimeError("Could not determine home directory.")

    monkeypatch.setattr(Path, "home", staticmethod(no_home))
    with pytest.warns(UserWarning, match="compilation cache off: no folder"):
        assert enable_compilation_cache() is None
    assert not jax.config.jax_compilation_cache_dir


def test_unwritable_folder_warns_and_runs_without_cache(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    with pytest.warns(UserWarning, match="compilation cache off: cannot write to .*a-file"):
        assert enable_compilation_cache(blocker / "cache") is None
    assert not jax.config.jax_compilation_cache_dir


def test_cli_uses_the_cache_and_bench_does_not(tmp_path):
    cmd = [sys.executable, "-m", "neuralcrn"]
    cold = tmp_path / "bench-cache"
    out = subprocess.run(cmd + ["bench", "--help"],
                         env=environment_without_cache_settings(**{ENV_VAR: str(cold)}),
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert not cold.exists()
    folder = tmp_path / "cache"
    out = subprocess.run(cmd + ["simulate", "neuron", "--t-end", "5", "--points", "3"],
                         env=environment_without_cache_settings(**{ENV_VAR: str(folder)}),
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert [p for p in folder.iterdir() if not p.name.startswith(".")]
