"""Model specification of a Neural ODE / Neural CRN and its parameter values (SPEC §2).

The specification is plain data (a frozen dataclass, JSON-serialisable); parameter values are a
:class:`Params` named tuple of arrays (a JAX pytree), kept apart from the specification.

Model (SPEC §2)::

    u    = (x, c·1_a)              drive "augment"  (n_u = d + a, paper convention)
         = (x, 1)                  drive "bias"     (n_u = d + 1, hidden width n free)
    z(0) = u                       z0 "drive" (needs n == n_u)
         = 0                       z0 "zero"
    dz/dt = Θ u + h − φ(z),        φ(z) = 0 | α z|z| | α z³
    ŷ    = W z(T),                 L = ½‖ŷ − y‖²
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from typing import Literal, NamedTuple

import numpy as np

from ..errors import SpecError

__all__ = ["ModelSpec", "Params", "ChemistryRates"]

Drive = Literal["augment", "bias"]
Z0 = Literal["drive", "zero"]
ThetaMode = Literal["full", "diagonal"]
Nonlinearity = Literal["none", "quadratic", "cubic"]
GradientMode = Literal["exact", "first-order"]


@dataclass(frozen=True)
class ChemistryRates:
    """Rate constants of the fast auxiliary reactions of the compiled chemistry.

    Attributes
    ----------
    annihilation:
        k_ann of every ``V_p + V_m -> 0``. Larger = closer to the ideal math, stiffer = slower.
        Default 1e4 (not SPEC §3's 100): the compiled quadratic XOR model then has relative
        gradient error ≤ 1e-3 in exact mode (measured; the error falls like 1/k_ann, see
        docs/compiler.md).
    readout:
        k_r of the readout/error transfer reactions (``Y^s -> E^{-s}``); the compiler's fixed-window
        modules (readout, adjoint initialisation) run for 30/k_r with products at rate k_r/30.
    update:
        k_u of the update reactions ``G^s -> P^{-s}`` (rate η·k_u) and ``G^s -> 0`` (rate (1−η)·k_u).
    signal_annihilation:
        two-phase circuit only: k of ``V_p + V_m -> 0`` for the readout (O, Q), error (E) and
        adjoint (A) signals (0, the default: none). The signed values and the update are
        unchanged (annihilation removes the same amount from both rails), but the rails no
        longer carry a common mode, so a rate-constant error of one rail's reactions scales
        |v| instead of adding a fraction of the common mode (``docs/robustness.md``: the
        margin under rate-constant errors).
    sign_routing:
        two-phase circuit with a trained readout W only: k of the sign-routing transfers of the
        *routed update* (0, the default: the direct feedback phase). With k > 0 the feedback
        phase becomes two phases, ``error`` (e settles into E and a router copy S; z(T)
        moves into its magnitude Z̄ and a router copy R) and ``update`` (adjoint, ΔΘ and ΔW
        read the settled E); ΔW_i is made by one reaction per weight from |e| and |z_i| and
        then *moved* into W^∓ by transfers catalysed by R_i and S at rate k, whose
        rate-constant errors do not change the amount moved. The perfect
        circuit's step is the same first-order SGD step (``docs/robustness.md``, "Design for
        robustness").
    adjoint_routing:
        with ``sign_routing`` > 0 only: k of the routing transfers of the *routed hidden update*
        (0, the default: ΔΘ and Δh are made in the ``update`` phase by catalysts on A's rails,
        one gain per sign of a). With k > 0 a fourth phase ``hidden_update`` follows: the
        settled adjoint A moves into its magnitude Ā and a router copy, ΔΘ_jl and Δh_j are made
        by one reaction each from |a_j| (and u_l) and moved into Θ, h with a_j's sign by
        transfers at rate k, so a rate-constant error no longer gives the two signs of a_j
        different gains (``docs/robustness.md``). The perfect step is unchanged.
    """

    annihilation: float = 1e4
    readout: float = 100.0
    update: float = 100.0
    signal_annihilation: float = 0.0
    sign_routing: float = 0.0
    adjoint_routing: float = 0.0

    def __post_init__(self):
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if f.name in ("signal_annihilation", "sign_routing", "adjoint_routing"):
                if isinstance(v, bool) or not (isinstance(v, (int, float)) and math.isfinite(v)
                                               and v >= 0):
                    raise SpecError(f"rate constant {f.name!r} must be a finite number ≥ 0, "
                                    f"got {v!r}")
                continue
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise SpecError(f"rate constant {f.name!r} must be a finite number > 0, got {v!r}")
        if self.adjoint_routing > 0 and self.sign_routing == 0:
            raise SpecError("rate constant 'adjoint_routing' > 0 routes the hidden update of the "
                            "routed update; it needs sign_routing > 0 too")


@dataclass(frozen=True)
class ModelSpec:
    """Specification of a Neural ODE and of the Neural CRN that implements it.

    Attributes
    ----------
    inputs:           d, input dimension (≥ 1).
    outputs:          m, output dimension (≥ 1).
    drive:            "augment" (u = (x, c·1_a)) or "bias" (u = (x, 1)).
    augment_count:    a, number of augmentation entries (drive "augment" only).
    augment_value:    c, value of each augmentation entry (drive "augment" only).
    hidden:           n, hidden width. For "augment" it must be d + a (``None`` → d + a).
    z0:               "drive" (z(0) = u, needs n == len(u)) or "zero" (z(0) = 0).
    theta:            "full" (Θ ∈ R^{n×len(u)}) or "diagonal" (θ ⊙ u, needs n == len(u)).
    train_h, train_W: whether the bias h and the readout W are trained.
    nonlinearity:     "none", "quadratic" (φ = α z|z|) or "cubic" (φ = α z³).
    alpha:            α ≥ 0, decay strength (a model constant, not trained).
    T:                time horizon of the forward phase (time units, > 0).
    gradient:         "exact" (adjoint ODE) or "first-order" (a(s) ≡ Wᵀe, SPEC §2).
    learning_rate:    η, SGD step (0 < η ≤ 1 for the chemical update of SPEC §3).
    rates:            :class:`ChemistryRates` of the fast auxiliary reactions.

    Raises
    ------
    SpecError
        On any inconsistent or out-of-range field.
    """

    inputs: int
    outputs: int = 1
    drive: Drive = "augment"
    augment_count: int = 1
    augment_value: float = 1.0
    hidden: int | None = None
    z0: Z0 = "drive"
    theta: ThetaMode = "full"
    train_h: bool = True
    train_W: bool = True
    nonlinearity: Nonlinearity = "quadratic"
    alpha: float = 1.0
    T: float = 1.0
    gradient: GradientMode = "exact"
    learning_rate: float = 0.1
    rates: ChemistryRates = ChemistryRates()

    def __post_init__(self):
        def bad(msg):
            raise SpecError(msg)

        for name in ("inputs", "outputs", "augment_count"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
                bad(f"{name} must be an integer, got {v!r}")
        if self.inputs < 1:
            bad(f"inputs must be ≥ 1, got {self.inputs}")
        if self.outputs < 1:
            bad(f"outputs must be ≥ 1, got {self.outputs}")
        if self.drive not in ("augment", "bias"):
            bad(f"drive must be 'augment' or 'bias', got {self.drive!r}")
        if self.drive == "augment":
            if self.augment_count < 0:
                bad(f"augment_count must be ≥ 0, got {self.augment_count}")
            if self.hidden is None:
                object.__setattr__(self, "hidden", self.inputs + self.augment_count)
            elif self.hidden != self.inputs + self.augment_count:
                bad(f"with drive 'augment' the hidden width is inputs + augment_count = "
                    f"{self.inputs + self.augment_count}, got hidden={self.hidden}")
        else:
            if self.hidden is None:
                bad("drive 'bias' needs an explicit hidden width")
        if isinstance(self.hidden, bool) or not isinstance(self.hidden, (int, np.integer)) \
                or self.hidden < 1:
            bad(f"hidden must be an integer ≥ 1, got {self.hidden!r}")
        if not math.isfinite(self.augment_value):
            bad(f"augment_value must be finite, got {self.augment_value!r}")
        if self.z0 not in ("drive", "zero"):
            bad(f"z0 must be 'drive' or 'zero', got {self.z0!r}")
        if self.theta not in ("full", "diagonal"):
            bad(f"theta must be 'full' or 'diagonal', got {self.theta!r}")
        if self.z0 == "drive" and self.hidden != self.n_u:
            bad(f"z0 'drive' (z(0) = u) needs hidden == len(u) = {self.n_u}, got {self.hidden}")
        if self.theta == "diagonal" and self.hidden != self.n_u:
            bad(f"diagonal theta needs hidden == len(u) = {self.n_u}, got {self.hidden}")
        if self.nonlinearity not in ("none", "quadratic", "cubic"):
            bad(f"nonlinearity must be 'none', 'quadratic' or 'cubic', got {self.nonlinearity!r}")
        if not (math.isfinite(self.alpha) and self.alpha >= 0):
            bad(f"alpha must be finite and ≥ 0, got {self.alpha!r}")
        if not (math.isfinite(self.T) and self.T > 0):
            bad(f"T must be finite and > 0, got {self.T!r}")
        if self.gradient not in ("exact", "first-order"):
            bad(f"gradient must be 'exact' or 'first-order', got {self.gradient!r}")
        if not (math.isfinite(self.learning_rate) and 0 < self.learning_rate <= 1):
            bad(f"learning_rate must be in (0, 1], got {self.learning_rate!r}")
        if isinstance(self.rates, dict):
            object.__setattr__(self, "rates", ChemistryRates(**self.rates))
        if not isinstance(self.rates, ChemistryRates):
            bad(f"rates must be ChemistryRates, got {self.rates!r}")

    # ------------------------------------------------------------ derived sizes
    @property
    def n(self) -> int:
        """Hidden width n."""
        return int(self.hidden)

    @property
    def n_u(self) -> int:
        """Length of the drive vector u."""
        return self.inputs + (self.augment_count if self.drive == "augment" else 1)

    @property
    def theta_shape(self) -> tuple[int, int]:
        """Shape of Θ: ``(n, n_u)`` (diagonal mode stores zeros off the diagonal)."""
        return (self.n, self.n_u)

    def drive_vector(self, x) -> np.ndarray:
        """u for one input x (shape ``(d,)``) → shape ``(n_u,)`` (numpy; see ideal.math for JAX)."""
        x = np.asarray(x, dtype=float).reshape(-1)
        if x.shape != (self.inputs,):
            raise SpecError(f"input must have {self.inputs} values, got {x.size}")
        if self.drive == "augment":
            return np.concatenate([x, np.full(self.augment_count, float(self.augment_value))])
        return np.concatenate([x, [1.0]])

    # ------------------------------------------------------------ JSON
    def to_dict(self) -> dict:
        """Plain-JSON dictionary (``rates`` as a nested dict)."""
        d = dataclasses.asdict(self)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "ModelSpec":
        """Inverse of :meth:`to_dict`. Unknown keys raise :class:`SpecError`."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise SpecError(f"unknown model specification field(s): {sorted(unknown)}")
        d = dict(d)
        if "rates" in d and isinstance(d["rates"], dict):
            try:
                d["rates"] = ChemistryRates(**d["rates"])
            except TypeError as e:
                raise SpecError(f"bad rates: {e}")
        try:
            return cls(**d)
        except TypeError as e:
            raise SpecError(str(e))

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_json(cls, text: str) -> "ModelSpec":
        return cls.from_dict(json.loads(text))

    def replace(self, **changes) -> "ModelSpec":
        """Copy with fields changed (validated)."""
        return dataclasses.replace(self, **changes)


class Params(NamedTuple):
    """Parameter values (a JAX pytree).

    theta: shape ``(n, n_u)`` — Θ (diagonal mode: zeros off the diagonal).
    h:     shape ``(n,)``      — bias.
    W:     shape ``(m, n)``    — readout.
    """

    theta: np.ndarray
    h: np.ndarray
    W: np.ndarray
