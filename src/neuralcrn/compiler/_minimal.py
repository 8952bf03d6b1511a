"""The minimal learning circuit of a linear model with non-negative inputs (issue 13, SPEC §4).

Model (a member of :class:`~neuralcrn.ideal.ModelSpec`): linear (φ = 0), drive "augment"
u = (x, c·1_a), diagonal θ ⊙ u, z(0) = 0, h = 0 and W = 1 frozen, first-order gradient (exact for
a linear model). Then z(T) = T θ ⊙ u, ŷ = T Σ_j θ_j u_j and one SGD step is
θ_j ← θ_j − η T e u_j with e = ŷ − y: for linear regression with T = 1, ŷ = w·x + b with
(w, b) = θ, trained by plain online SGD.

What knowledge of signs removes (the linear-regression task's standard two-phase circuit has 43
species and 76 reactions):

* inputs x ≥ 0 (linear regression: x ∈ [1, 5]²): one species ``x{j}`` per input, no minus rail;
* no hidden state: z is never needed as a species — the feedforward phase writes
  T θ_j u_j straight into the error, and W = 1 is folded into the rate constants;
* the target y is loaded straight into the error's minus rail (``e1_m``; a negative y into
  ``e1_p``), so e = [E⁺] − [E⁻] = ŷ − y with no y species, no readout species and no transfer;
* the constant drive entries c are folded into rate constants (no ``u`` species).

=============  ==================================================  =========================
phase          reactions (s ∈ {+, −})                               rate, duration τ = T
=============  ==================================================  =========================
feedforward    θ_j^s + X_j → θ_j^s + X_j + E^s      (inputs)        T/τ = 1
               θ_j^s → θ_j^s + E^{σ_j s}          (augmentation)   |c| T/τ
both phases    E^+ + E^- → ∅                                         k_ann
feedback       E^s + X_j → E^s + X_j + θ_j^{−s}     (inputs)        η T/τ
               E^s → E^s + θ_j^{−σ_j s}           (augmentation)   η |c| T/τ
=============  ==================================================  =========================

Every other reaction is a catalytic product or copy at a constant rate for a fixed window, and the
annihilation removes equal amounts of both rails, so each phase computes its result **exactly**
whatever the rails hold: after the feedforward phase E⁺ − E⁻ = T Σ θ_j u_j − y = e, after the
feedback phase Δθ_j = −η T e u_j. For d = 2 with one augmentation entry: **10 species** (x1, x2,
θ rails ×3, E rails) and **13 reactions**, all uni- or bimolecular (the annihilation is one
reaction of the network, active in both phases).

Rails. The θ rails are not re-balanced: each rail grows by the updates of its sign (in total
Σ η T |e| u_j / 2 per rail, linear in the number of steps; measured max 5.4 after the 800 steps
of linear regression), but only their difference is read. The error's annihilation is what keeps
that growth linear: without it both E rails carry θ⁺·u and θ⁻·u + y, both feed both θ rails, and
the rail sums grow by a factor 1 + η T |u|² per step (measured: 2e6 after two epochs), though the
values stay exact. ``rebalance=True`` adds θ_j⁺ + θ_j⁻ → ∅ to the feedback phase (one reaction
per parameter, 16 in all) for a pot whose rails must stay bounded.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..chemistry.dualrail import DualRail, annihilation, catalytic_copy, catalytic_product
from ..chemistry.network import ReactionNetwork
from ..errors import SpecError
from ..ideal.spec import ModelSpec, Params
from ._modules import NeuralCRN, assemble_circuit

__all__ = ["MinimalSpecies", "minimal_spec", "check_minimal_spec", "compile_minimal",
           "minimal_program", "MINIMAL_MODULES"]

MINIMAL_MODULES = ("feedforward", "feedback")

REBALANCE_RATE = 10.0
"""Rate (× 1/T) of the optional θ⁺ + θ⁻ → ∅ reactions (values do not depend on it)."""


def minimal_spec(inputs: int = 2, *, learning_rate: float = 0.01, T: float = 1.0,
                 augment_value: float = 1.0) -> ModelSpec:
    """The model the minimal circuit implements (see the module docstring): ŷ = T θ·(x, c)."""
    return ModelSpec(inputs=inputs, outputs=1, drive="augment", augment_count=1,
                     augment_value=augment_value, z0="zero", theta="diagonal", train_h=False,
                     train_W=False, nonlinearity="none", alpha=0.0, T=T,
                     gradient="first-order", learning_rate=learning_rate)


def check_minimal_spec(spec: ModelSpec) -> None:
    """Raise :class:`SpecError` naming the field if ``spec`` is outside the minimal family."""
    need = {"outputs": 1, "drive": "augment", "z0": "zero", "theta": "diagonal",
            "train_h": False, "train_W": False, "nonlinearity": "none",
            "gradient": "first-order"}
    if not isinstance(spec, ModelSpec):
        raise SpecError(f"expected a ModelSpec, got {type(spec).__name__}")
    for k, v in need.items():
        if getattr(spec, k) != v:
            raise SpecError(f"the minimal circuit implements linear models with {k}={v!r} "
                            f"(ŷ = T θ·(x, c), h = 0 and W = 1 frozen); this model has "
                            f"{k}={getattr(spec, k)!r}")


@dataclass(frozen=True)
class MinimalSpecies:
    """Species of the minimal circuit: single-rail inputs ``x{j}``, the parameter rails
    ``theta_{j}_{j}_p/_m`` (one per drive entry) and the error ``e1_p/_m`` (y is loaded into
    ``e1_m``). Provides what :class:`NeuralCRN` and training need of a species map."""

    spec: ModelSpec
    x: tuple[str, ...]
    theta: tuple[DualRail, ...]
    e: DualRail

    @property
    def species(self) -> tuple[str, ...]:
        return self.x + self.parameter_species + self.e.species

    @property
    def parameter_species(self) -> tuple[str, ...]:
        return tuple(s for r in self.theta for s in r.species)

    @property
    def transient_species(self) -> tuple[str, ...]:
        return self.x + self.e.species

    @property
    def constant_drive_species(self) -> tuple[str, ...]:
        return ()

    def load_params(self, params: Params) -> dict[str, float]:
        """Rails of θ's diagonal. Raises SpecError unless h = 0, W = 1 and θ is diagonal (the
        model the circuit implements)."""
        theta = np.asarray(params.theta, dtype=float)
        n = len(self.theta)
        if theta.shape != (n, n) or np.asarray(params.h).shape != (n,) \
                or np.asarray(params.W).shape != (1, n):
            raise SpecError(f"parameter shapes must be theta {(n, n)}, h {(n,)}, W {(1, n)}")
        if not np.all(np.isfinite(theta)):
            raise SpecError("parameter theta has non-finite values")
        if np.any(theta[~np.eye(n, dtype=bool)] != 0):
            raise SpecError("the minimal circuit has a diagonal θ; off-diagonal entries are set")
        if np.any(np.asarray(params.h) != 0) or np.any(np.asarray(params.W) != 1):
            raise SpecError("the minimal circuit folds h = 0 and W = 1 into its rate constants; "
                            "other values of h or W cannot be loaded")
        out: dict[str, float] = {}
        for j, rail in enumerate(self.theta):
            out.update(rail.encode(theta[j, j]))
        return out

    def param_matrix(self, species) -> np.ndarray:
        """``(n·n + n + n, S)``: flattened (theta, h, W) = matrix @ state, with the h and W rows
        zero (they are constants: W = 1 is added by :meth:`read_params`)."""
        n = len(self.theta)
        idx = {s: i for i, s in enumerate(species)}
        M = np.zeros((n * n + 2 * n, len(idx)))
        for j, rail in enumerate(self.theta):
            M[j * n + j, idx[rail.plus]] = 1.0
            M[j * n + j, idx[rail.minus]] = -1.0
        return M

    def read_params(self, state, species_order) -> Params:
        """θ (diagonal) from the rails of ``state`` ``(S,)``; h = 0, W = 1."""
        n = len(self.theta)
        flat = self.param_matrix(species_order) @ np.asarray(state, dtype=float)
        return Params(flat[:n * n].reshape(n, n), np.zeros(n), np.ones((1, n)))


def _species(spec: ModelSpec) -> MinimalSpecies:
    return MinimalSpecies(spec, tuple(f"x{j + 1}" for j in range(spec.inputs)),
                          tuple(DualRail(f"theta_{j + 1}_{j + 1}") for j in range(spec.n_u)),
                          DualRail("e1"))


def compile_minimal(spec: ModelSpec, params: Params | None = None, *,
                    rebalance: bool = False) -> NeuralCRN:
    """Compile the minimal circuit of ``spec`` (see the module docstring) with ``params`` (θ
    diagonal; default 0) as initial concentrations: a :class:`NeuralCRN` with the modules (=
    phases) ``feedforward`` and ``feedback``, each running T. Raises :class:`SpecError` for a
    spec outside the family or parameters it cannot hold."""
    check_minimal_spec(spec)
    sp = _species(spec)
    T, eta, c = float(spec.T), float(spec.learning_rate), float(spec.augment_value)
    tau = T
    sign_c = 1 if c >= 0 else -1
    ff, fb = [], []
    for j, th in enumerate(sp.theta):
        if j < spec.inputs:
            ff += catalytic_product(th, sp.x[j], sp.e, T / tau)
            fb += catalytic_product(sp.e, sp.x[j], [(th, -1)], eta * T / tau)
        elif c != 0.0:
            ff += catalytic_copy(th, [(sp.e, sign_c)], abs(c) * T / tau)
            fb += catalytic_copy(sp.e, [(th, -sign_c)], eta * abs(c) * T / tau)
    ff.append(annihilation(sp.e, spec.rates.annihilation))
    if rebalance:
        fb += [annihilation(th, REBALANCE_RATE / tau) for th in sp.theta]
    used = lambda rx: [s for s in sp.species if any(s in r.species for r in rx)]  # noqa: E731
    mods = (("feedforward", ReactionNetwork(ff, used(ff), name="feedforward")),
            ("feedback", ReactionNetwork(fb, used(fb), name="feedback")))
    n = spec.n
    p = params if params is not None else Params(np.zeros((n, n)), np.zeros(n), np.ones((1, n)))
    return assemble_circuit(spec, sp, mods, sp.species, sp.load_params(p), "minimal_crn",
                            (("feedforward", tau), ("feedback", tau)))


def minimal_program(circuit: NeuralCRN):
    """The :class:`~neuralcrn.compiler.StepProgram` of a minimal circuit: phases
    ``feedforward | feedback``; before each step the host washes x and E, loads x_j into
    ``x{j}`` (x ≥ 0: there is no minus rail) and y into the error's minus rail (``e1_m``; a
    negative y into ``e1_p``)."""
    from ._protocol import assemble_program
    sp = circuit.species_map
    if not isinstance(sp, MinimalSpecies):
        raise SpecError("minimal_program needs a circuit from compile_minimal")
    K = np.stack([circuit.phase_rate_constants(m) for m in MINIMAL_MODULES])
    # the error's annihilation (listed in the feedforward module) runs in both phases
    for r, rx in enumerate(circuit.network.reactions):
        if rx.reactants == tuple(sorted(((sp.e.plus, 1), (sp.e.minus, 1)))) and not rx.products:
            K[1, r] = rx.rate_constant
    return assemble_program(
        circuit, K,
        [circuit.duration(m) for m in MINIMAL_MODULES], sp.transient_species,
        x=(list(sp.x), [None] * len(sp.x)), y=([sp.e.minus], [sp.e.plus]), z0=([], []),
        u_const=[float(circuit.spec.augment_value)] * (circuit.spec.n_u - circuit.spec.inputs))
