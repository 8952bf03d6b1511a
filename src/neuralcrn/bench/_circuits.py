"""The circuits every benchmark runs on, built once per ``neuralcrn bench`` process.

* ``xor`` — the paper's XOR configuration (SPEC §5): d = 2, augmentation a = 1 with c = 0.2 (so
  u = (x1, x2, 0.2), z(0) = u), full Θ 3×3, quadratic φ = α z|z| with α = 0.15, T = 0.4, first-order
  gradient, two-phase schedule (``feedforward | feedback``), online SGD, with the paper's
  annihilation rate k_ann = 100 (SPEC §3).
* ``xor-k1e4`` — the same model at neuralcrn's default k_ann = 1e4 (chosen for gradient accuracy:
  6e-4 relative error against the ideal math instead of 5e-2 at 100, ``docs/compiler.md``). The
  annihilation makes the feedforward phase stiff (fastest eigenvalue ≈ k_ann·|z|): an explicit
  solver needs ≈ 50× more steps there, the Rosenbrock integrator about as many as at 100.
* ``xor-k1e6`` — the same at k_ann = 1e6 (near the fast-annihilation limit).
* ``d{d}`` — the scaling family of SPEC §7: drive "bias" (u = (x, 1)), z(0) = 0, **fixed hidden width
  n = 8**, full Θ ∈ R^{8×(d+1)}, quadratic α = 0.15, T = 0.4, first-order gradient, two-phase
  schedule; with n fixed every module grows linearly in d.

Parameters: Θ ~ N(0, s²) with s = 1 for ``xor`` (the compiler study's setting) and s = 1/√(d+1) for
``d{d}`` (so that Θu stays O(1) as d grows and the stiffness k_ann·|z| does not grow with d), h = 0,
W = 1. Samples: x ~ U(0, 1)^d, y = xor label (``xor``) or a random 0/1 label, from a fixed seed.

A *phase system* is what an ODE solve of one phase integrates: by default exactly what the training
layer integrates (:attr:`neuralcrn.training.ChemicalSetup.phased`: the phase's own reactions over
all species of the circuit); with ``reduced=False`` the compiler's form (the whole circuit's
reactions with the other phase's rate constants set to 0).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import jax.numpy as jnp
import numpy as np

from ..compiler import NeuralCRN, StepProgram, compile_two_phase, load_sample, step_program
from ..ideal import ChemistryRates, ModelSpec, Params, init_params


__all__ = ["Case", "CircuitCache", "xor_spec", "scaling_spec", "SCALING_HIDDEN", "SCHEDULE",
           "PAPER_ANNIHILATION", "XOR_CIRCUITS"]

SCHEDULE = "two-phase"
SCALING_HIDDEN = 8
"""Hidden width n of the scaling family (fixed; u = (x, 1))."""


PAPER_ANNIHILATION = 100.0
"""The annihilation rate constant of the paper's circuits (SPEC §3: k_ann, default 100)."""

XOR_CIRCUITS = {"xor": PAPER_ANNIHILATION, "xor-k1e4": 1e4, "xor-k1e6": 1e6}
"""Benchmark names of the paper's XOR model → annihilation rate constant."""


def xor_spec(learning_rate: float = 0.1, annihilation: float = PAPER_ANNIHILATION) -> ModelSpec:
    """The paper's quadratic XOR configuration (SPEC §5) with the first-order gradient (what the
    two-phase schedule trains): d = 2, a = 1, c = 0.2, z(0) = u, full Θ 3×3, h and W trained,
    α = 0.15, T = 0.4, η = ``learning_rate``; annihilation rate ``annihilation`` (default the
    paper's 100; neuralcrn's own default is 1e4), other chemistry rates at their defaults.

    Built here on purpose: the ``xor`` task of :mod:`neuralcrn.tasks` has its own tuned default
    model (drive "bias", n = 32, a hand-made fan of hidden directions, inputs scaled to
    [−2, 2]²; ``neuralcrn circuit --task xor``), which is not the paper's configuration.
    """
    return ModelSpec(inputs=2, outputs=1, drive="augment", augment_count=1, augment_value=0.2,
                     theta="full", nonlinearity="quadratic", alpha=0.15, T=0.4,
                     gradient="first-order", learning_rate=learning_rate,
                     rates=ChemistryRates(annihilation=float(annihilation)))


def scaling_spec(d: int, hidden: int = SCALING_HIDDEN) -> ModelSpec:
    """Scaling family member for input dimension ``d`` (see the module docstring)."""
    return ModelSpec(inputs=d, outputs=1, drive="bias", hidden=hidden, z0="zero", theta="full",
                     nonlinearity="quadratic", alpha=0.15, T=0.4, gradient="first-order",
                     learning_rate=0.1)


@dataclass(eq=False)
class Case:
    """One compiled circuit with its parameters and a fixed batch of samples.

    ``state`` is the ``(S,)`` pot before the first sample (parameters + constant drive species);
    ``X`` ``(K, d)``, ``Y`` ``(K, m)``; :meth:`loaded` is the state after the host loads sample i.
    """

    name: str
    spec: ModelSpec
    circuit: NeuralCRN
    program: StepProgram
    params: Params
    state: np.ndarray
    X: np.ndarray
    Y: np.ndarray
    setup: object | None = None
    _loaded: dict = field(default_factory=dict)

    def loaded(self, i: int = 0) -> np.ndarray:
        """``(S,)`` state after washing and loading sample ``i`` (what the feedforward phase starts
        from)."""
        if i not in self._loaded:
            self._loaded[i] = np.asarray(load_sample(self.program, jnp.asarray(self.state),
                                                     self.X[i], self.Y[i]))
        return self._loaded[i]

    def phase_index(self, name: str) -> int:
        return self.circuit.module_names.index(name)

    def phase_method(self, name: str) -> str:
        """The ODE method chemical training integrates phase ``name`` with (``method="auto"``:
        :meth:`neuralcrn.training.ChemicalSetup.phase_methods`)."""
        from ..kinetics import MassActionStructure, choose_phase_method

        st, k, T = self.phase_system(name)
        return choose_phase_method(MassActionStructure(*(np.asarray(a) for a in st)),
                                   self.circuit.network.n_species, np.asarray(k), float(T))

    def phase_start(self, name: str, i: int = 0) -> np.ndarray:
        """``(S,)`` state at the start of phase ``name`` for sample ``i`` (the earlier phases
        integrated tightly, rtol 1e-12)."""
        from ..kinetics import solve_final

        x = jnp.asarray(self.loaded(i))
        for earlier in self.circuit.module_names[:self.phase_index(name)]:
            st, k, T = self.phase_system(earlier)
            x = solve_final(st, k, x, T, method="rodas5", rtol=1e-12, atol=1e-15,
                            max_steps=1_000_000)
        return np.asarray(x)

    def phase_plan(self, name: str):
        """The training layer's Jacobian plan of phase ``name`` (``None`` without one)."""
        phased = getattr(self.setup, "phased", None)
        return None if phased is None else phased.plans[self.phase_index(name)]

    def phase_system(self, name: str, *, reduced: bool = True):
        """``(structure, rate_constants, duration)`` of phase ``name`` as JAX arrays (see the
        module docstring); ``reduced`` falls back to the union form where the training layer has
        no per-phase reactions."""
        ph = self.phase_index(name)
        prog = self.program
        phased = getattr(self.setup, "phased", None) if reduced else None
        if phased is None:
            return prog.structure, prog.rate_constants[ph], prog.durations[ph]
        return phased.structures[ph], phased.rate_constants[ph], prog.durations[ph]

    @property
    def reduced(self) -> bool:
        """True when :meth:`phase_system` gives the training layer's per-phase reactions."""
        return getattr(self.setup, "phased", None) is not None

    def counts(self) -> dict:
        """Species and reaction counts of the whole circuit and of each module."""
        out = {"species": self.circuit.network.n_species,
               "reactions": self.circuit.network.n_reactions,
               "max_molecularity": self.circuit.max_molecularity, "modules": {}}
        for name, net in self.circuit.modules:
            out["modules"][name] = {"species": net.n_species, "reactions": net.n_reactions}
        return out


def _training_setup(spec: ModelSpec):
    """``(setup, circuit, program)`` from :func:`neuralcrn.training.chemical_setup` when the training
    layer provides it (so the benchmarks time the very circuit training compiles), else from the
    compiler."""
    try:
        from ..training import chemical_setup
    except ImportError:
        chemical_setup = None
    if chemical_setup is not None:
        setup = chemical_setup(spec, SCHEDULE)
        return setup, setup.circuit, setup.program
    circuit = compile_two_phase(spec)
    return None, circuit, step_program(circuit, SCHEDULE)


def _samples(spec: ModelSpec, n: int, seed: int, xor: bool) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.uniform(0.0, 1.0, (n, spec.inputs))
    if xor:
        y = (np.round(X[:, 0]) != np.round(X[:, 1])).astype(float)
        Y = np.repeat(y[:, None], spec.outputs, axis=1)
    else:
        Y = np.round(rng.uniform(0.0, 1.0, (n, spec.outputs)))
    return X, Y


class CircuitCache:
    """Builds each circuit once; every benchmark of a run asks it for the same objects."""

    def __init__(self, n_samples: int = 16, seed: int = 0):
        self.n_samples = n_samples
        self.seed = seed
        self._cases: dict[str, Case] = {}

    def xor(self, name: str = "xor") -> Case:
        """The paper's XOR circuit ``name`` (a key of :data:`XOR_CIRCUITS`)."""
        if name not in XOR_CIRCUITS:
            raise ValueError(f"unknown XOR circuit {name!r}; choose one of "
                             f"{', '.join(XOR_CIRCUITS)}")
        if name not in self._cases:
            self._cases[name] = self._build(name, xor_spec(annihilation=XOR_CIRCUITS[name]), 1.0,
                                            xor=True)
        return self._cases[name]

    def xor_at(self, annihilation: float) -> Case:
        """The paper's XOR circuit at annihilation rate constant ``annihilation`` (named
        ``xor-k{annihilation:g}``; the same as :meth:`xor` for the rates of
        :data:`XOR_CIRCUITS`)."""
        name = f"xor-k{annihilation:g}"
        if name not in self._cases:
            self._cases[name] = self._build(name, xor_spec(annihilation=annihilation), 1.0,
                                            xor=True)
        return self._cases[name]

    def scaling(self, d: int) -> Case:
        name = f"d{d}"
        if name not in self._cases:
            spec = scaling_spec(d)
            self._cases[name] = self._build(name, spec, 1.0 / np.sqrt(spec.n_u), xor=False)
        return self._cases[name]

    def _build(self, name: str, spec: ModelSpec, scale: float, xor: bool) -> Case:
        setup, circuit, program = _training_setup(spec)
        params = Params(*(np.asarray(v, dtype=float)
                          for v in init_params(spec, self.seed, scale)))
        state = np.asarray(circuit.with_params(params).network.initial, dtype=float)
        X, Y = _samples(spec, self.n_samples, self.seed, xor)
        return Case(name, spec, circuit, program, params, state, X, Y, setup)
