"""Run SBML Test Suite cases against neuralcrn's SBML import and ODE simulator (tests only).

A case passes when the import succeeds and every reported value v matches the expected e with
|v − e| ≤ absolute + relative·|e|; it is *refused* when the import raises UnsupportedSBMLError.
Anything else (another exception, a wrong number) is a failure.

Cases live in ``$NEURALCRN_SBML_CASES`` or ``<repo>/../shared/sbml-cases`` (folders ``semantic/``
and ``stochastic/``, one ``NNNNN/`` folder per case).
"""

from __future__ import annotations

import csv
import functools
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from neuralcrn.chemistry.sbml import import_sbml
from neuralcrn.errors import UnsupportedSBMLError

ENV_VAR = "NEURALCRN_SBML_CASES"
REPO_ROOT = Path(__file__).resolve().parent.parent

#: ODE tolerances for the suite (the suite's own tolerances are ~1e-4 relative).
RTOL, ATOL = 1e-10, 1e-14


def candidate_root() -> Path:
    """Where the cases should be: ``$NEURALCRN_SBML_CASES`` or ``<repo>/../shared/sbml-cases``."""
    env = os.environ.get(ENV_VAR)
    return Path(env) if env else REPO_ROOT.parent / "shared" / "sbml-cases"


def cases_root() -> Path | None:
    """Folder holding ``semantic/`` and ``stochastic/``, or None when it is absent."""
    root = candidate_root()
    return root if root.is_dir() else None


def list_cases(kind: str = "semantic") -> list[Path]:
    """Case folders of one kind (``semantic`` or ``stochastic``), sorted; [] if absent."""
    root = cases_root()
    if root is None or not (root / kind).is_dir():
        return []
    return sorted(p for p in (root / kind).iterdir() if p.is_dir() and p.name.isdigit())


def model_file(case: Path) -> Path:
    """The model of the highest SBML level/version present (``NNNNN-sbml-lXvY.xml``)."""
    found = []
    for p in case.glob("*-sbml-l*v*.xml"):
        m = re.search(r"-sbml-l(\d+)v(\d+)\.xml$", p.name)
        if m:
            found.append(((int(m.group(1)), int(m.group(2))), p))
    if not found:
        raise FileNotFoundError(f"{case}: no SBML model file")
    return max(found)[1]


@dataclass
class Settings:
    start: float
    duration: float | None  # None for steady-state (flux balance) tests
    steps: int | None
    variables: list[str]
    absolute: float | None
    relative: float | None
    amount: list[str] = field(default_factory=list)
    concentration: list[str] = field(default_factory=list)
    raw: dict[str, str] = field(default_factory=dict)


def _names(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def _float_or_none(value: str) -> float | None:
    value = value.strip()
    return float(value) if value else None


def read_settings(case: Path) -> Settings:
    """Parse ``NNNNN-settings.txt``."""
    raw: dict[str, str] = {}
    for line in (case / f"{case.name}-settings.txt").read_text().splitlines():
        if ":" in line:
            key, value = line.split(":", 1)
            raw[key.strip().lower()] = value.strip()
    duration = _float_or_none(raw.get("duration", ""))
    steps = _float_or_none(raw.get("steps", ""))
    return Settings(start=_float_or_none(raw.get("start", "")) or 0.0, duration=duration,
                    steps=None if steps is None else int(steps),
                    variables=_names(raw.get("variables", "")),
                    absolute=_float_or_none(raw.get("absolute", "")),
                    relative=_float_or_none(raw.get("relative", "")),
                    amount=_names(raw.get("amount", "")),
                    concentration=_names(raw.get("concentration", "")), raw=raw)


def _parse_number(text: str) -> float:
    t = text.strip()
    low = t.lower()
    if low in ("inf", "+inf", "infinity"):
        return math.inf
    if low in ("-inf", "-infinity"):
        return -math.inf
    if low == "nan":
        return math.nan
    return float(t)


def read_results(case: Path) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """``(times, {column: values})`` from ``NNNNN-results.csv`` (time column time or Time).

    The header line is optional (the suite allows none): without it, the columns are time then
    the settings' variables, in order.
    """
    with open(case / f"{case.name}-results.csv", newline="") as f:
        rows = [r for r in csv.reader(f) if r]
    try:
        [_parse_number(x) for x in rows[0]]
    except ValueError:  # a header
        header = [h.strip() for h in rows[0]]
        rows = rows[1:]
    else:
        header = ["time", *read_settings(case).variables]
    data = np.array([[_parse_number(x) for x in r] for r in rows], dtype=float)
    cols = {h: data[:, i] for i, h in enumerate(header)}
    tcol = next(h for h in header if h.lower() == "time")
    return cols.pop(tcol), cols


@dataclass
class CaseResult:
    case: str
    status: str  # "pass", "refused" or "fail"
    reason: str = ""
    max_excess: float = 0.0  # max of |v − e| / (abs + rel·|e|) over all values (≤ 1 passes)


def _simulate(network, times: np.ndarray) -> np.ndarray:
    """``(P, S)`` concentrations at ``times`` (from t = 0) with neuralcrn.kinetics.simulate."""
    from neuralcrn.kinetics import simulate
    traj = simulate(network, times=times, rtol=RTOL, atol=ATOL, max_steps=1_000_000)
    return np.asarray(traj.concentrations)


def _matches(v: np.ndarray, e: np.ndarray, absolute: float, relative: float) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        ok = np.abs(v - e) <= absolute + relative * np.abs(e)
    both_nan = np.isnan(v) & np.isnan(e)
    same_inf = np.isinf(e) & (v == e)
    return ok | both_nan | same_inf


@functools.lru_cache(maxsize=None)
def run_case(case: Path) -> CaseResult:
    """Import, simulate and compare one semantic case (cached per process)."""
    name = case.name
    try:
        imp = import_sbml(model_file(case))
    except UnsupportedSBMLError as e:
        return CaseResult(name, "refused", str(e))
    except Exception as e:  # noqa: BLE001 - any other exception is a failure
        return CaseResult(name, "fail", f"import raised {type(e).__name__}: {e}")
    settings = read_settings(case)
    if settings.duration is None:
        return CaseResult(name, "refused", "steady-state (flux balance) tests are not supported: "
                                           "the settings give no duration")
    times, expected = read_results(case)
    net = imp.network
    try:
        # SBML time starts at 0; `start` is where the output begins (the model is autonomous:
        # laws using time are refused), so simulate from 0 and report at the listed times
        if times[0] < 0:
            raise ValueError(f"results start at t = {times[0]:g} < 0")
        if net.n_species:
            conc = _simulate(net, times)
        else:
            conc = np.zeros((len(times), 0))
    except Exception as e:  # noqa: BLE001
        return CaseResult(name, "fail", f"simulation raised {type(e).__name__}: {e}")
    index = net.species_index
    absolute = settings.absolute if settings.absolute is not None else 0.0
    relative = settings.relative if settings.relative is not None else 0.0
    worst = 0.0
    for var in settings.variables:
        if var not in expected:
            return CaseResult(name, "fail", f"results file has no column {var!r}")
        e = expected[var]
        try:
            if var in index:
                c = conc[:, index[var]]
                if var in settings.amount:
                    v = c * imp.volume(var)
                else:
                    imp.value(var)  # refuses a concentration that is undefined (no size)
                    v = c
            else:
                v = np.full(len(times), imp.value(var))
        except UnsupportedSBMLError as err:  # a reaction rate, an undefined value
            return CaseResult(name, "refused", f"variable {var!r}: {err}")
        except KeyError:
            return CaseResult(name, "fail", f"variable {var!r} is not in the imported model")
        ok = _matches(v, e, absolute, relative)
        finite = np.isfinite(e) & np.isfinite(v)
        if finite.any():
            tol = absolute + relative * np.abs(e[finite])
            with np.errstate(divide="ignore", invalid="ignore"):
                ex = np.abs(v[finite] - e[finite]) / np.where(tol > 0, tol, np.inf)
            worst = max(worst, float(np.nanmax(np.where(tol > 0, ex, 0.0))))
        if not ok.all():
            i = int(np.argmin(ok))
            return CaseResult(name, "fail", f"{var} at t = {times[i]:g}: got {v[i]!r}, expected "
                                            f"{e[i]!r} (tolerance {absolute:g} + {relative:g}·|e|)",
                              worst)
    return CaseResult(name, "pass", "", worst)


def refusal_group(reason: str) -> str:
    """A short label for grouping refusal messages."""
    for key, label in (("piecewise", "piecewise kinetic law"), ("'floor'", "floor() in a law"),
                       ("stoichiometry -", "negative stoichiometry"),
                       ("forward and", "law with several terms per direction"),
                       ("to the power", "powers not matching the stoichiometry"),
                       ("rules", "rules"), ("events", "events"),
                       ("has no size", "compartment without size")):
        if key in reason:
            return label
    return reason.split(":")[-1].strip()[:60]
