"""Linear scaling (SPEC §7): compiled two-phase circuits grow linearly in d at fixed width."""

import numpy as np

from neuralcrn.bench._sizes import (circuit_counts, family_spec, markdown, size_table,
                                    task_step_times)


def test_reactions_are_exactly_linear_in_d_at_fixed_width():
    rows = [circuit_counts(family_spec(d, hidden=4, outputs=2)) for d in (1, 2, 5, 9)]
    d = np.array([r["d"] for r in rows])
    R = np.array([r["reactions"] for r in rows])
    S = np.array([r["species"] for r in rows])
    # second differences of a linear law vanish: equal increments per input
    per_input = np.diff(R) / np.diff(d)
    assert np.all(per_input == per_input[0])
    assert np.all(np.diff(S) / np.diff(d) == (np.diff(S) / np.diff(d))[0])
    # the increment per input is a fixed number of reactions per Θ entry (hidden width 4)
    assert per_input[0] % 4 == 0
    assert all(r["max_molecularity"] == 2 for r in rows)


def test_size_table_fits_an_exponent_at_most_one():
    res = size_table(family_d=(2, 8, 32), tasks=("iris",))
    assert res["fit"]["reactions"] <= 1.0 and res["fit"]["species"] <= 1.0
    assert res["real"][0]["task"] == "iris" and res["real"][0]["reactions"] == 9546
    text = markdown(res)
    assert "| `iris` default | 4 | 96 | 3 | 2,721 | 9,546 | 2 |" in text


def test_task_step_times_run_the_default_with_each_method_to_the_same_state():
    r = task_step_times("linear-regression", samples=2, methods=("auto", "tsit5"), repeats=1)
    assert (r["species"], r["reactions"]) == (43, 76)
    assert set(r["methods"]) == {"auto", "tsit5"}
    # the same two SGD steps (losses ≈ 2.2 and 1.6): equal to the solvers' loose training
    # tolerance (rtol 1e-4 per phase; measured 1.4e-3 relative apart)
    np.testing.assert_allclose(r["methods"]["auto"]["losses"], r["methods"]["tsit5"]["losses"],
                               rtol=1e-2)
    assert 0 < r["max_state_difference"] < 1e-2
    text = markdown({"real": [], "family": [], "task_time": [r],
                     "fit": {"range": [2, 2], "species": 1.0, "reactions": 1.0,
                             "reactions_per_input": 1.0, "reactions_offset": 0.0}})
    assert "`linear-regression` default (76 reactions)" in text
