"""SBML Test Suite cases: each case is imported and simulated to the suite's tolerance, or refused.

Cases come from ``$NEURALCRN_SBML_CASES`` or ``<repo>/../shared/sbml-cases``; the tests skip when
the folder is absent. Run with ``-s`` to print the pass/refuse summary.
"""

from collections import Counter, defaultdict

import numpy as np
import pytest

from neuralcrn.chemistry import import_sbml
from neuralcrn.errors import UnsupportedSBMLError

from sbml_suite_helpers import (candidate_root, list_cases, model_file, read_results,
                                read_settings, refusal_group, run_case)

SEMANTIC = list_cases("semantic")
STOCHASTIC = list_cases("stochastic")

#: Cases known to pass today; a regression below this count fails the summary test.
MIN_PASSING = 51


def _skip_if_absent(cases):
    if not cases:
        pytest.skip(f"SBML test cases not found in {candidate_root()} "
                    f"(set NEURALCRN_SBML_CASES)")


@pytest.mark.parametrize("case", SEMANTIC or [None], ids=lambda c: c.name if c else "absent")
def test_semantic_case_passes_or_is_refused(case):
    _skip_if_absent(SEMANTIC)
    result = run_case(case)
    assert result.status in ("pass", "refused"), f"case {case.name}: {result.reason}"
    if result.status == "refused":
        assert result.reason  # the refusal names the feature


def test_semantic_summary():
    _skip_if_absent(SEMANTIC)
    results = [run_case(c) for c in SEMANTIC]
    counts = Counter(r.status for r in results)
    groups = defaultdict(list)
    for r in results:
        if r.status == "refused":
            groups[refusal_group(r.reason)].append(r.case)
    lines = [f"SBML semantic suite: {len(results)} cases, {counts['pass']} pass, "
             f"{counts['refused']} refused, {counts['fail']} fail"]
    lines += [f"  refused ({len(v)}) {k}: {', '.join(v)}" for k, v in sorted(groups.items())]
    lines += [f"  FAIL {r.case}: {r.reason}" for r in results if r.status == "fail"]
    print("\n" + "\n".join(lines))
    assert counts["fail"] == 0, "\n".join(lines)
    assert counts["pass"] >= min(MIN_PASSING, len(results)), "\n".join(lines)


def test_refusals_are_the_non_mass_action_cases():
    """Spot checks: piecewise laws and negative stoichiometries are refused, never simulated."""
    _skip_if_absent(SEMANTIC)
    by_name = {c.name: c for c in SEMANTIC}
    for name, words in (("00190", "piecewise"), ("00196", "floor"), ("01433", "stoichiometry"),
                        ("00804", "power 2")):
        if name in by_name:
            result = run_case(by_name[name])
            assert result.status == "refused" and words in result.reason, result


@pytest.mark.parametrize("case", STOCHASTIC or [None], ids=lambda c: c.name if c else "absent")
def test_stochastic_case_imports_or_is_refused(case):
    """Stochastic cases: import only; an imported model starts at the expected means (amounts)."""
    _skip_if_absent(STOCHASTIC)
    try:
        imp = import_sbml(model_file(case))
    except UnsupportedSBMLError as e:
        assert str(e)
        return
    settings = read_settings(case)
    times, expected = read_results(case)
    assert times[0] == 0.0
    for var in settings.variables:
        mean0 = expected[f"{var}-mean"][0]
        conc0 = imp.network.initial[imp.network.species_index[var]]
        amount0 = conc0 * imp.volume(var)
        assert np.isclose(amount0, mean0, rtol=1e-12, atol=1e-12), (var, amount0, mean0)
