"""``neuralcrn simulate``: analytic values through the command, and options of another method
refused instead of ignored."""

import csv

import numpy as np
import pytest
from click.testing import CliRunner

from neuralcrn.cli import main


def _csv(path):
    with open(path) as fh:
        rows = list(csv.reader(fh))
    return rows[0], np.asarray(rows[1:], dtype=float)


def test_birth_death_ode_matches_the_analytic_mean(tmp_path):
    """0 → A (k1 = 10), A → 0 (k2 = 1), A(0) = 0: A(t) = 10 (1 − e^(−t))."""
    out = tmp_path / "bd.csv"
    r = CliRunner().invoke(main, ["simulate", "birth_death", "--t-end", "2", "--points", "5",
                                  "--csv", str(out)])
    assert r.exit_code == 0, r.output
    head, data = _csv(out)
    assert head == ["time", "A"]
    np.testing.assert_allclose(data[:, 1], 10.0 * (1.0 - np.exp(-data[:, 0])), rtol=1e-7,
                               atol=1e-9)


def test_birth_death_ssa_mean_within_its_standard_error(tmp_path):
    """A(t) in molecules is Poisson with mean Ω·10 (1 − e^(−t)) (Ω = 100 for a .crn file): the
    mean of 200 runs, in concentration, lies within 4 standard errors of it."""
    out = tmp_path / "bd.csv"
    r = CliRunner().invoke(main, ["simulate", "birth_death", "--t-end", "1", "--points", "2",
                                  "--method", "ssa", "--runs", "200", "--seed", "3",
                                  "--csv", str(out)])
    assert r.exit_code == 0, r.output
    _, data = _csv(out)
    mean = 10.0 * (1.0 - np.exp(-1.0))
    se = np.sqrt(100.0 * mean / 200) / 100.0      # Poisson variance = mean (in molecules)
    assert abs(data[-1, 1] - mean) <= 4 * se


@pytest.mark.parametrize("args, message", [
    (["--epsilon", "0.1"], "--epsilon applies to --method tau-leap, not --method auto"),
    (["--method", "ssa", "--rtol", "1e-3"], "--rtol applies to an ODE method"),
    (["--method", "tsit5", "--runs", "5"], "--runs applies to --method ssa / tau-leap / cle"),
    (["--method", "cle", "--tau", "0.1"], "--tau applies to --method tau-leap, not --method cle"),
    (["--method", "tau-leap", "--dt", "0.1"], "--dt applies to --method cle"),
    (["--seed", "1"], "--seed applies to --method ssa / tau-leap / cle, not --method auto"),
])
def test_an_option_of_another_method_is_refused(args, message):
    r = CliRunner().invoke(main, ["simulate", "birth_death", "--t-end", "1"] + args)
    assert r.exit_code == 2
    assert message in r.output


def test_options_of_the_chosen_method_are_accepted():
    r = CliRunner().invoke(main, ["simulate", "birth_death", "--t-end", "1", "--method",
                                  "tau-leap", "--epsilon", "0.05", "--runs", "2", "--seed", "1",
                                  "--volume", "50"])
    assert r.exit_code == 0, r.output
    assert "Ω = 50" in r.output
