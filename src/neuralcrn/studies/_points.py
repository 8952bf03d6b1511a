"""Study points: one training run each, as plain frozen data, and the pure function that runs one.

A robustness study (``docs/robustness.md``) is the Cartesian product of its axes — volume Ω (the
ODE, plus stochastic kinetics at each Ω), rate-constant error σ, leak λ, wash residual w — times K
replicates. Replicate r trains with seed r: its own data, initial parameters, sample order *and*
circuit instance (the rate-constant draw), so the K replicates of a point are K independent
wet-lab realisations. :func:`run_point` is a pure function of a :class:`StudyPoint` (it never
raises: a failure is a row with its error), so any executor — here dask.distributed — can map it
over the points.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import time
import traceback
from dataclasses import dataclass

from ..errors import SpecError

__all__ = ["StudyPoint", "study_points", "run_point", "ROW_FIELDS", "AXES"]

AXES = ("volume", "rate_noise", "leak", "wash_residual")
"""The swept axes (``volume`` None = the ODE)."""

ROW_FIELDS = ("key", "task", "kinetics", "volume", "rate_noise", "leak", "wash_residual",
              "replicate", "epochs", "signal_annihilation", "sign_routing", "status",
              "test_accuracy",
              "test_loss", "ideal_test_accuracy", "ideal_test_loss", "stochastic_test_accuracy",
              "stochastic_test_loss", "chance_accuracy", "chance_loss", "wall_s",
              "error")
"""Columns of a study's ``runs.csv`` (one row per finished run). ``status``: ``ok``,
``diverged`` (a stochastic run stopped for runaway counts or a chemical solve that failed: a
result, counted as the constant predictor) or ``error`` (an exception: retried on rerun)."""


def _num(name, v, lo=0.0, hi=math.inf, hi_open=False):
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) \
            or v < lo or (v >= hi if hi_open else v > hi):
        raise SpecError(f"{name} must be a number in [{lo:g}, {hi:g}{')' if hi_open else ']'}, "
                        f"got {v!r}")
    return float(v)


@dataclass(frozen=True)
class StudyPoint:
    """One run of a study (see the module docstring).

    ``volume`` ``None`` trains the ODE chemistry; a number trains ``kinetics`` (``ssa``,
    ``tau-leap``, ``cle``) at that Ω. ``epochs`` ``None`` → the task's default.
    ``signal_annihilation`` > 0 compiles the two-phase circuit with its readout, error and
    adjoint rails annihilating, ``sign_routing`` > 0 with the routed update, and
    ``adjoint_routing`` > 0 (with ``sign_routing``) with its routed hidden update as well (the
    robust designs, ``docs/robustness.md``; the latter is recorded in the key, ``|t<k>``).
    """

    task: str
    volume: float | None = None
    rate_noise: float = 0.0
    leak: float = 0.0
    wash_residual: float = 0.0
    replicate: int = 0
    kinetics: str = "ode"
    epochs: int | None = None
    signal_annihilation: float = 0.0
    sign_routing: float = 0.0
    adjoint_routing: float = 0.0

    def __post_init__(self):
        from ..compiler import Imperfections
        Imperfections(self.rate_noise, self.leak, self.wash_residual, self.replicate)
        if self.volume is not None:
            v = _num("volume Ω", self.volume)
            if v <= 0:
                raise SpecError(f"volume Ω must be > 0, got {self.volume!r}")
            if self.kinetics == "ode":
                raise SpecError("a point with a volume needs stochastic kinetics (ssa, "
                                "tau-leap or cle)")
        _num("signal_annihilation", self.signal_annihilation)
        _num("sign_routing", self.sign_routing)
        _num("adjoint_routing", self.adjoint_routing)
        if self.adjoint_routing and not self.sign_routing:
            raise SpecError("adjoint_routing > 0 routes the hidden update of the routed update; "
                            "it needs sign_routing > 0 too")

    @property
    def key(self) -> str:
        """A stable identifier (the point's axes, kinetics, replicate, epochs and design)."""
        vol = "ode" if self.volume is None else f"{self.kinetics}@{self.volume:g}"
        # (the routed design's suffix only when it is on: keys of earlier studies stay valid)
        g = f"|g{self.sign_routing:g}" if self.sign_routing else ""
        g += f"|t{self.adjoint_routing:g}" if self.adjoint_routing else ""
        return (f"{self.task}|{vol}|s{self.rate_noise:g}|l{self.leak:g}|w{self.wash_residual:g}"
                f"|r{self.replicate}|e{self.epochs}|a{self.signal_annihilation:g}{g}")


def study_points(task: str, *, volumes=(), rate_noise=(0.0,), leak=(0.0,), wash_residual=(0.0,),
                 replicates: int = 5, kinetics: str = "ssa", epochs: int | None = None,
                 signal_annihilation: float = 0.0, sign_routing: float = 0.0,
                 adjoint_routing: float = 0.0,
                 ode: bool = True) -> list[StudyPoint]:
    """Every point of a study: the product of the axes times ``replicates`` (the ODE point, when
    ``ode``, plus one stochastic point per volume). Raises SpecError for bad values (σ < 0, λ or w
    outside [0, 1), Ω ≤ 0, replicates < 1), naming the value."""
    if isinstance(replicates, bool) or not isinstance(replicates, int) or replicates < 1:
        raise SpecError(f"replicates must be an integer ≥ 1, got {replicates!r}")
    vols = ([None] if ode or not volumes else []) + [float(v) for v in volumes]
    out = []
    for vol, s, lk, w in itertools.product(vols, rate_noise or (0.0,), leak or (0.0,),
                                           wash_residual or (0.0,)):
        for r in range(replicates):
            out.append(StudyPoint(task, vol, s, lk, w, r, "ode" if vol is None else kinetics,
                                  epochs, signal_annihilation, sign_routing, adjoint_routing))
    return out


def _spec(point: StudyPoint):
    if point.signal_annihilation == 0.0 and point.sign_routing == 0.0:
        return None
    from ..tasks import get_task
    spec = get_task(point.task).model_spec
    return spec.replace(rates=dataclasses.replace(
        spec.rates, signal_annihilation=point.signal_annihilation,
        sign_routing=point.sign_routing, adjoint_routing=point.adjoint_routing))


def _metric(m, split, name):
    v = (m or {}).get(split) or {}
    return v.get(name)


def _chance(point: StudyPoint):
    from ..tasks import get_task
    from ..training._stochastic import chance_level
    c = chance_level(get_task(point.task).make_data(point.replicate))
    return c["accuracy"], c["loss"]


def run_point(point: StudyPoint) -> dict:
    """Train one study point and return its ``runs.csv`` row (``ROW_FIELDS``; pure, never
    raises: an exception becomes ``status`` ``error`` with its message)."""
    from ..training._stochastic import train_stochastic_point
    row = {f: None for f in ROW_FIELDS}
    row.update({k: getattr(point, k) for k in ("task", "kinetics", "volume", "rate_noise",
                                               "leak", "wash_residual", "replicate", "epochs",
                                               "signal_annihilation", "sign_routing")})
    row["key"] = point.key
    t0 = time.perf_counter()
    try:
        r = train_stochastic_point(
            point.task, point.kinetics, point.volume if point.volume is not None else 1.0,
            point.replicate, epochs=point.epochs, spec=_spec(point), rate_noise=point.rate_noise,
            leak=point.leak, wash_residual=point.wash_residual, ideal_reference=False)
    except Exception as e:  # noqa: BLE001 — a failed point is recorded, the study goes on
        from ..errors import SimulationError
        row["status"] = "diverged" if isinstance(e, SimulationError) else "error"
        row["error"] = f"{type(e).__name__}: {e}"
        if row["status"] == "error":
            row["error"] += " | " + traceback.format_exc(limit=3).replace("\n", " ")[-400:]
        else:               # a diverged run counts as the constant predictor: record its level
            row["chance_accuracy"], row["chance_loss"] = _chance(point)
        row["wall_s"] = time.perf_counter() - t0
        return row
    row["epochs"] = r.get("epochs", point.epochs)
    row["status"] = "diverged" if r.get("failed") else "ok"
    row["error"] = r.get("failed")
    for pre, m in (("", r), ("ideal_", r.get("ideal_predictor")),
                   ("stochastic_", {"test": r.get("test_stochastic_forward")})):
        row[f"{pre}test_accuracy"] = _metric(m, "test", "accuracy")
        row[f"{pre}test_loss"] = _metric(m, "test", "loss")
    ch = r.get("chance") or {}
    row["chance_accuracy"], row["chance_loss"] = ch.get("accuracy"), ch.get("loss")
    row["wall_s"] = time.perf_counter() - t0
    return row
