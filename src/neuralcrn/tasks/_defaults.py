"""Default models of the tasks: the bias-drive quadratic model with a decoupled hidden width.

Every nonlinear default is :func:`bias_model`: u = (x, 1), hidden width n free, z(0) = 0, full
Θ ∈ R^{n×(d+1)} (its last column is the bias), h frozen at 0, W trained, φ(z) = α z|z|, first-order
gradient — so the circuit has only uni- and bimolecular reactions and O(n·d) of them (SPEC §7).
"""

from __future__ import annotations

import math

from ..ideal.spec import ChemistryRates, ModelSpec
from ._task import InitConfig

__all__ = ["TASK_RATES", "bias_model", "scaled_init", "fan_in_init", "tabular_defaults",
           "TABULAR"]

TASK_RATES = ChemistryRates(annihilation=1e4)
"""Chemistry rates of every task's default model: annihilation k_ann = 1e4 (the compiler's
default). With the stiff solver (``docs/solver.md``) a stiff phase costs about as many steps at
1e4 as at 1e3, and the chemistry ends ≈ 10× closer to ideal training: final parameters of seed 0
within 5e-5–7e-3 of the ideal run at 1e4 against 4e-4–6e-2 at 1e3 (docs/tasks.md, "Annihilation
rate"). ``neuralcrn train TASK --k-ann 1e3`` gives the former, less exact setting."""


def bias_model(d: int, n: int, alpha: float, T: float, eta: float, c: float = 1.0, m: int = 1,
               nonlinearity: str = "quadratic") -> ModelSpec:
    """Bias drive u = (x, 1), hidden width n, z(0) = 0, full Θ (n × (d+1)), h frozen at 0 (the
    constant column of Θ is the bias), W trained, first-order gradient.

    (α, T, η) are the *canonical* values; ``c`` is the chemical scale: the spec gets α c³, T/c²,
    η c² (and :func:`scaled_init` multiplies Θ and W by c) — the same SGD trajectory with c times
    smaller hidden concentrations and a c² times shorter forward phase (docs/tasks.md).
    """
    return ModelSpec(inputs=d, outputs=m, drive="bias", hidden=n, z0="zero", theta="full",
                     train_h=False, train_W=True, nonlinearity=nonlinearity,
                     alpha=alpha * c ** 3, T=T / c ** 2, gradient="first-order",
                     learning_rate=eta * c ** 2, rates=TASK_RATES)


def scaled_init(scale: float, w_scale: float, c: float = 1.0, **kw) -> InitConfig:
    """Initialisation of canonical Θ scale / W scale at chemical scale ``c`` (Θ·c, W·c)."""
    return InitConfig(scale=scale * c, w_scale=w_scale * c, **kw)


def fan_in_init(d: int, gain: float, w_scale: float, c: float = 1.0) -> InitConfig:
    """Θ ~ N(0, gain²/(d+1)) (variance scaled by the fan-in d + 1), W ~ N(0, w_scale²/n), both
    times the chemical scale c."""
    return scaled_init(gain / math.sqrt(d + 1), w_scale, c)


TABULAR = {"hidden": 32, "alpha": 4.0, "T": 1.0, "eta": 0.005, "c": 2.0, "gain": 2.0,
           "w_scale": 0.3, "steps": 8_000, "min_epochs": 10, "max_epochs": 100}
"""Defaults of a user's tabular data set (CSV, arrays): canonical α, T, η at chemical scale c,
Θ ~ N(0, gain²/(d+1)), W ~ N(0, w_scale²/n), epochs = steps / training rows (clipped)."""


def tabular_defaults(d: int, m: int, n_train: int) -> tuple[ModelSpec, int, InitConfig]:
    """``(spec, epochs, init)`` of the default model of a user's tabular data (:data:`TABULAR`)."""
    t = TABULAR
    spec = bias_model(d, t["hidden"], t["alpha"], t["T"], t["eta"], t["c"], m=m)
    epochs = int(min(t["max_epochs"], max(t["min_epochs"], round(t["steps"] / max(n_train, 1)))))
    return spec, epochs, fan_in_init(d, t["gain"], t["w_scale"], t["c"])
