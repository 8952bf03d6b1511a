"""Imperfect chemistry (SPEC §8): rate-constant errors, leaks and incomplete washing.

A wet-lab realisation of a circuit never has the designed rate constants, its catalysed
productions leak, and a wash never removes everything. :class:`Imperfections` states how
imperfect one circuit instance is, as plain frozen data; :func:`imperfect_program` applies it to
a compiled circuit and its :class:`~neuralcrn.compiler.StepProgram` — the one protocol value every
backend (ODE training, the numba SSA / tau-leap / CLE kernels, the SBML protocol export) runs —
so nothing downstream re-derives it.

* **Rate-constant error** σ ≥ 0: every reaction's rate constant k (in every phase) becomes
  k·exp(σ·ξ_r), ξ_r ~ N(0, 1) independent per reaction r of the perfect circuit, drawn once per
  circuit instance from ``numpy.random.default_rng(seed)`` (ξ in reaction order). So
  ln k is normal with mean ln k_nominal and standard deviation σ (the median stays nominal).
  ``rate_noise_modules`` (a diagnosis: which phase's errors cost accuracy) keeps the errors of
  the reactions of the named modules only; the others run at their nominal rates, and the
  draws stay those of the whole instance (ξ_r is the same for a reaction either way).
* **Leak** 0 ≤ λ < 1: a *catalytic production* is a reaction whose every reactant reappears
  unchanged among its products and which makes at least one species that is no reactant
  (``P + U → P + U + Z``, ``A → A + H``, ``O → O + Q``). For each of its catalysts C (each
  distinct reactant species; both in a bimolecular one) the leak is the same reaction with that
  catalyst absent — C removed from both sides — at rate constant λ·k·c_ref, c_ref = 1
  (:data:`LEAK_REFERENCE`, one concentration unit), with k the reaction's *nominal* rate in that
  phase (no rate error of its own). So ``P + U →{k} P + U + Z`` gains ``P →{λk} P + Z`` (U
  absent) and ``U →{λk} U + Z`` (P absent), and ``A →{k} A + H`` gains ``∅ →{λk} H``: with the
  absent catalyst at c_ref the leak runs at λ × the catalysed rate. Leak reactions belong to
  their parent's module (they run only in the phases where it runs) and follow it in the
  circuit file. Every leak is uni- or zeroth-order, so molecularity does not grow.
* **Incomplete wash** 0 ≤ w < 1: a fraction w of every transient species survives the host's
  wash: ``program.keep`` becomes ``keep + w·(1 − keep)`` (kept species stay 1.0). The host's loads
  then *add* x, y and z(0) to what is left (:func:`~neuralcrn.compiler.load_sample`), as pipetting
  into an imperfectly washed pot does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import jax.numpy as jnp
import numpy as np

from ..chemistry.network import Reaction, ReactionNetwork
from ..errors import SpecError
from ._modules import NeuralCRN
from ._protocol import StepProgram

__all__ = ["Imperfections", "LEAK_REFERENCE", "imperfect_program", "leak_reactions",
           "rate_factors", "is_catalytic_production"]

LEAK_REFERENCE = 1.0
"""c_ref: the concentration of the absent catalyst at which a leak runs at λ × the catalysed
rate (one concentration unit; the compiled circuits' signals are O(1))."""


def _fraction(name: str, v) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) \
            or not math.isfinite(v) or not 0.0 <= v < 1.0:
        raise SpecError(f"{name} must be a number in [0, 1), got {v!r}")
    return float(v)


@dataclass(frozen=True)
class Imperfections:
    """How imperfect one circuit instance is (see the module docstring).

    Attributes
    ----------
    rate_noise:    σ ≥ 0 of the log-normal rate-constant error k·exp(σ·N(0, 1)).
    leak:          λ ∈ [0, 1): each catalytic production leaks at λ × its nominal rate.
    wash_residual: w ∈ [0, 1): the fraction of each transient species that survives a wash.
    seed:          integer ≥ 0 of the rate-constant draw (one circuit instance per seed).
    rate_noise_modules: ``None`` (every reaction has its error) or the names of the modules
                   (= phases, e.g. ``("feedforward",)``) whose reactions keep their errors;
                   the others run at nominal rates. Checked against the circuit by
                   :func:`imperfect_program`.

    Raises
    ------
    SpecError
        σ negative or not finite, λ or w outside [0, 1), seed not an integer ≥ 0, an empty or
        non-string module list (the message names the field and the value).
    """

    rate_noise: float = 0.0
    leak: float = 0.0
    wash_residual: float = 0.0
    seed: int = 0
    rate_noise_modules: tuple[str, ...] | None = None

    def __post_init__(self):
        s = self.rate_noise
        if isinstance(s, bool) or not isinstance(s, (int, float, np.integer, np.floating)) \
                or not math.isfinite(s) or s < 0:
            raise SpecError(f"rate_noise (σ of the rate-constant error) must be a finite "
                            f"number ≥ 0, got {s!r}")
        object.__setattr__(self, "rate_noise", float(s))
        object.__setattr__(self, "leak", _fraction("leak (λ)", self.leak))
        object.__setattr__(self, "wash_residual",
                           _fraction("wash_residual (w)", self.wash_residual))
        if isinstance(self.seed, bool) or not isinstance(self.seed, (int, np.integer)) \
                or self.seed < 0:
            raise SpecError(f"imperfections seed must be an integer ≥ 0, got {self.seed!r}")
        object.__setattr__(self, "seed", int(self.seed))
        mods = self.rate_noise_modules
        if mods is not None:
            if isinstance(mods, str) or not isinstance(mods, (list, tuple)) or not mods \
                    or not all(isinstance(m, str) and m for m in mods):
                raise SpecError(f"rate_noise_modules must be None or a non-empty list of module "
                                f"names, got {mods!r}")
            object.__setattr__(self, "rate_noise_modules", tuple(mods))

    @property
    def perfect(self) -> bool:
        """True if nothing is perturbed (σ = λ = w = 0)."""
        return self.rate_noise == 0.0 and self.leak == 0.0 and self.wash_residual == 0.0

    def to_dict(self) -> dict:
        d = {"rate_noise": self.rate_noise, "leak": self.leak,
             "wash_residual": self.wash_residual, "seed": self.seed}
        if self.rate_noise_modules is not None:
            d["rate_noise_modules"] = list(self.rate_noise_modules)
        return d

    @classmethod
    def from_dict(cls, d) -> "Imperfections":
        if isinstance(d, Imperfections):
            return d
        if not isinstance(d, dict) or set(d) - {"rate_noise", "leak", "wash_residual", "seed",
                                                "rate_noise_modules"}:
            raise SpecError(f"imperfections must be a dict with keys rate_noise, leak, "
                            f"wash_residual, seed (and rate_noise_modules); got {d!r}")
        return cls(**d)

    def describe(self) -> str:
        """One line for circuit file headers."""
        where = ("" if self.rate_noise_modules is None
                 else f" in modules {', '.join(self.rate_noise_modules)} only")
        return (f"imperfect chemistry: rate-constant error sigma={self.rate_noise!r} (seed "
                f"{self.seed}){where}, leak lambda={self.leak!r} (c_ref={LEAK_REFERENCE!r}), "
                f"wash residual w={self.wash_residual!r}")


def rate_factors(n_reactions: int, imp: Imperfections) -> np.ndarray:
    """``(R,)`` multiplicative rate-constant errors exp(σ·ξ_r), ξ ~ N(0, 1) from
    ``default_rng(imp.seed)`` in reaction order (all ones for σ = 0)."""
    if imp.rate_noise == 0.0:
        return np.ones(n_reactions)
    xi = np.random.default_rng(imp.seed).standard_normal(n_reactions)
    return np.exp(imp.rate_noise * xi)


def is_catalytic_production(r: Reaction) -> bool:
    """Every reactant reappears unchanged and some species that is no reactant is made."""
    react = dict(r.reactants)
    if not react:
        return False
    change = r.net_change()
    return all(s not in change for s in react) and any(n > 0 for n in change.values())


def leak_reactions(r: Reaction) -> list[Reaction]:
    """The leaks of a catalytic production (rate constant = the parent's; scale it by λ·c_ref):
    one per distinct catalyst, that catalyst removed from both sides. Empty for any other
    reaction."""
    if not is_catalytic_production(r):
        return []
    out = []
    for c, _ in r.reactants:
        out.append(Reaction([(s, n) for s, n in r.reactants if s != c],
                            [(s, n) for s, n in r.products if s != c], r.rate_constant))
    return out


def imperfect_program(circuit: NeuralCRN, program: StepProgram,
                      imp: Imperfections) -> tuple[NeuralCRN, StepProgram]:
    """Apply ``imp`` to a compiled circuit and its step program (pure; see the module docstring).

    Returns ``(circuit', program')``: ``circuit'.network`` holds the perturbed rate constants and
    the leak reactions (each module's leaks after its reactions, so ``circuit'.ranges`` and the
    exported circuit file show them per module); ``program'.rate_constants`` ``(P, R')`` is the
    program's ``(P, R)`` with each reaction's column times its error and each leak's column
    λ·c_ref × the sum of its parents' nominal columns; ``program'.keep`` = keep + w·(1 − keep); the structure
    is recompiled when leaks were added. ``imp.perfect`` returns the inputs unchanged.

    Raises :class:`SpecError` when ``imp.rate_noise_modules`` names a module the circuit lacks.
    """
    if not isinstance(imp, Imperfections):
        raise SpecError(f"expected Imperfections, got {type(imp).__name__}")
    if imp.perfect:
        return circuit, program
    net = circuit.network
    R = net.n_reactions
    factor = rate_factors(R, imp)
    if imp.rate_noise_modules is not None:
        names = [name for name, _ in circuit.ranges]
        unknown = [m for m in imp.rate_noise_modules if m not in names]
        if unknown:
            raise SpecError(f"rate_noise_modules: no module {', '.join(map(repr, unknown))} in "
                            f"this circuit (its modules: {', '.join(names)})")
        for name, (a, b) in circuit.ranges:
            if name not in imp.rate_noise_modules:
                factor[a:b] = 1.0
    K = np.asarray(program.rate_constants, dtype=float)
    reactions, columns, ranges, modules = [], [], [], []
    for name, (a, b) in circuit.ranges:
        start = len(reactions)
        for r in range(a, b):
            rx = net.reactions[r]
            reactions.append(rx.with_rate_constant(rx.rate_constant * factor[r]))
            columns.append(K[:, r] * factor[r])
        leaks: dict = {}           # identical leaks of one module are one reaction (summed k)
        if imp.leak > 0.0:
            for r in range(a, b):
                for lk in leak_reactions(net.reactions[r]):
                    key = (lk.reactants, lk.products)
                    k0, col0 = leaks.get(key, (0.0, 0.0))
                    leaks[key] = (k0 + lk.rate_constant, col0 + K[:, r])
        lam = imp.leak * LEAK_REFERENCE
        for (react, prod), (k, col) in leaks.items():
            reactions.append(Reaction(react, prod, lam * k))
            columns.append(lam * col)
        ranges.append((name, (start, len(reactions))))
        mod = reactions[start:]
        used = {s for rx in mod for s in rx.species}
        modules.append((name, ReactionNetwork(mod, [s for s in net.species if s in used],
                                              name=name)))
    new_net = ReactionNetwork(reactions, net.species, net.initial, net.constant, net.name)
    new_circuit = NeuralCRN(circuit.spec, circuit.species_map, tuple(modules), new_net,
                            tuple(ranges), circuit.durations)
    new_K = np.stack(columns, axis=1)
    keep = np.asarray(program.keep, dtype=float)
    changes = {"rate_constants": jnp.asarray(new_K),
               "keep": jnp.asarray(keep + imp.wash_residual * (1.0 - keep))}
    if len(reactions) != R:
        from ..kinetics import MassActionStructure, compile_network
        arrays = compile_network(new_net)
        changes["structure"] = MassActionStructure(*(jnp.asarray(a) for a in arrays.structure()))
    return new_circuit, program._replace(**changes)
