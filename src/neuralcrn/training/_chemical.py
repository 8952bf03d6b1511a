"""Compiled chemical training: one epoch = ``lax.scan`` over the samples of one training step.

The whole epoch is one XLA program with the circuit's arrays (:class:`~neuralcrn.compiler.
StepProgram`, :class:`PhasedReactions`) and the read-out matrices (:class:`Probe`) as
*arguments*, so a new epoch, a new seed or a new run of the same shapes reuses the compiled code.
Parameters live only in the state vector (species concentrations); the host loads x, y, washes and
switches phases (all inside the compiled step), and reads species only to measure (the loss of
each step, the parameters for evaluation).

A step is :func:`run_step_stack`: the protocol of :func:`neuralcrn.compiler.run_step` (the same
``load_sample``, the same phases and ODEs) integrated with each phase's own reactions only — for
large circuits ~20 % faster than evaluating the whole masked network — and for several pots at
once.

Replicates: :func:`chemical_epoch` accepts a leading replicate axis on ``state``, ``X`` and ``Y``:
K independent pots of the same circuit integrated as one stacked system (:func:`run_step_stack`,
:func:`neuralcrn.kinetics.solve_final_stack`: the RHS is ``vmap``-ed over the pots, the adaptive
step sequence is shared and controlled by the worst pot's error). ``vmap`` over K separate
adaptive solves was measured 1.6–2.8× *slower* per replicate than a single run (batched while
loops); the stacked solve is ~3× cheaper per replicate.

Solver: ``SolverSettings(method="auto")`` resolves per phase (:meth:`ChemicalSetup.phase_methods`):
a stiff phase (fast annihilation) gets ``"rodas5"`` — Rosenbrock with the analytic Jacobian and
exact dual-rail pair-block solves, whose step count does not grow with the annihilation rate —
and a non-stiff one the explicit ``"tsit5"``.
"""

from __future__ import annotations

import collections
import time
from dataclasses import dataclass
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ..compiler import NeuralCRN, StepProgram, compile_circuit, load_sample, step_program
from ..compiler._two_phase import compile_two_phase, readout_matrix
from ..errors import SpecError
from ..ideal.spec import ModelSpec, Params
from ..kinetics import (DEFAULT_METHOD, METHODS, MassActionStructure, choose_phase_method,
                        jacobian_plan, solve_final_stack)

__all__ = ["SolverSettings", "Probe", "ChemicalSetup", "chemical_setup", "chemical_epoch",
           "chemical_predict", "read_params", "state_with_params", "SCHEDULE_NAMES",
           "CompiledEpoch", "CompiledPredictor", "run_step_stack", "PhasedReactions",
           "imperfect_setup"]

SCHEDULE_NAMES = ("modular", "two-phase")


@dataclass(frozen=True)
class SolverSettings:
    """ODE solver settings of chemical training (static arguments of the compiled epoch).

    ``method``: a name of :data:`neuralcrn.kinetics.METHODS`; ``"auto"`` (default) is resolved
    per circuit by :meth:`ChemicalSetup.method`. The tolerances (rtol 1e-4, atol 1e-7) are far
    looser than the compiler's 1e-10 reference settings: the integration error they leave
    stays well below the chemistry's own deviation from the ideal math (≈ 1/k_ann);
    measurements in ``docs/training.md`` and ``docs/solver.md``.

    Raises
    ------
    SpecError
        Unknown method, tolerances not finite and > 0, max_steps not an integer ≥ 1.
    """

    method: str = DEFAULT_METHOD
    rtol: float = 1e-4
    atol: float = 1e-7
    max_steps: int = 100_000

    def __post_init__(self):
        if not isinstance(self.method, str) or self.method not in METHODS:
            raise SpecError(f"unknown ODE method {self.method!r}; choose one of "
                            f"{', '.join(METHODS)}")
        for name in ("rtol", "atol"):
            v = getattr(self, name)
            if isinstance(v, bool) or not (isinstance(v, (int, float)) and np.isfinite(v)
                                           and v > 0):
                raise SpecError(f"solver {name} must be a finite number > 0, got {v!r}")
        if isinstance(self.max_steps, bool) or not isinstance(self.max_steps, (int, np.integer)) \
                or self.max_steps < 1:
            raise SpecError(f"solver max_steps must be an integer ≥ 1, got {self.max_steps!r}")

    def as_kwargs(self) -> dict:
        return {"method": self.method, "rtol": float(self.rtol), "atol": float(self.atol),
                "max_steps": int(self.max_steps)}


class Probe(NamedTuple):
    """Read-out matrices (arrays; a pytree argument of the compiled epoch).

    readout:        ``(m, S)``: ŷ = readout @ state at the end of phase ``readout_phase``.
    readout_phase:  ``()`` int32: the phase after which ŷ is complete.
    params:         ``(P, S)``: flattened (theta, h, W) = params @ state.
    y_weight:       ``None`` (the default) or ``()`` array w: the loss of a step is
                    ½‖readout @ state − w·y‖² (w = 1 for None). w = 0 where ``readout @ state``
                    is already the error ŷ − y (a circuit that loads y into its error species,
                    like the minimal circuit; loaded with y = 0 it reads ŷ).
    """

    readout: jnp.ndarray
    readout_phase: jnp.ndarray
    params: jnp.ndarray
    y_weight: jnp.ndarray | None = None


@dataclass(frozen=True, eq=False)
class ChemicalSetup:
    """A compiled circuit ready for training: the circuit, its step program and probes.

    ``phased`` holds, for the replicate path, each phase's own reactions (padded to the largest
    phase): :class:`PhasedReactions`.
    """

    spec: ModelSpec
    schedule: str
    circuit: NeuralCRN
    program: StepProgram
    probe: Probe
    phased: "PhasedReactions"
    imperfections: object = None

    @property
    def n_species(self) -> int:
        return self.circuit.network.n_species

    def initial_state(self, params: Params) -> np.ndarray:
        """``(S,)`` state holding ``params`` (and the constant drive species), everything else 0."""
        return np.asarray(self.circuit.with_params(_np_params(params)).network.initial)

    def read_params(self, state) -> Params:
        """Parameters read from one state ``(S,)`` or a batch ``(K, S)`` (numpy)."""
        return read_params(self.spec, np.asarray(self.probe.params), state)

    def phase_methods(self, method: str = DEFAULT_METHOD) -> tuple[str, ...]:
        """The ODE method of each phase: ``method``, or for ``"auto"`` the phase's own choice
        (:func:`neuralcrn.kinetics.choose_phase_method`: explicit ``"tsit5"`` for a phase whose
        fastest rate constant × duration is below the stiffness threshold, else ``"rodas5"``
        with exact pair-block solves — every compiled Neural CRN phase has them)."""
        durations = np.asarray(self.program.durations)
        return tuple(
            choose_phase_method(MassActionStructure(*(np.asarray(a) for a in st)),
                                self.n_species, np.asarray(k), float(T), method)
            for st, k, T in zip(self.phased.structures, self.phased.rate_constants, durations))

    def solver_kwargs(self, solver: "SolverSettings") -> dict:
        """``solver.as_kwargs()`` with the method resolved per phase (:meth:`phase_methods`)."""
        return {**solver.as_kwargs(), "method": self.phase_methods(solver.method)}

    def compile_epoch(self, n_samples: int, replicates: int | None, solver: "SolverSettings"):
        """The compiled epoch of this setup (:class:`CompiledEpoch`)."""
        return CompiledEpoch(self, n_samples, replicates, solver)

    def compile_predictor(self, solver: "SolverSettings"):
        """The compiled chemical forward pass of this setup (:class:`CompiledPredictor`)."""
        return CompiledPredictor(self, solver)


def _np_params(p: Params) -> Params:
    return Params(*(np.asarray(v, dtype=float) for v in p))


def _param_matrix(circuit: NeuralCRN) -> np.ndarray:
    smap, idx = circuit.species_map, {s: i for i, s in enumerate(circuit.species)}
    rows = []
    for grid in (smap.theta,):
        for row in grid:
            for rail in row:
                rows.append(rail)
    rows += list(smap.h)
    rows += [r for row in smap.W for r in row]
    M = np.zeros((len(rows), len(idx)))
    for k, rail in enumerate(rows):
        if rail is not None:
            M[k, idx[rail.plus]] = 1.0
            M[k, idx[rail.minus]] = -1.0
    return M


def read_params(spec: ModelSpec, param_matrix, state) -> Params:
    """Unflatten ``param_matrix @ state`` (state ``(..., S)``) into :class:`Params` (numpy)."""
    flat = np.asarray(state, dtype=float) @ np.asarray(param_matrix).T
    n, n_u, m = spec.n, spec.n_u, spec.outputs
    a, b = n * n_u, n * n_u + n
    lead = flat.shape[:-1]
    return Params(flat[..., :a].reshape(lead + (n, n_u)), flat[..., a:b],
                  flat[..., b:].reshape(lead + (m, n)))


def chemical_setup(spec: ModelSpec, schedule: str = "two-phase") -> ChemicalSetup:
    """Compile the circuit of ``spec`` for a schedule and build its step program and probes.

    Parameters are not part of the setup: put them into a state with
    :meth:`ChemicalSetup.initial_state`.
    """
    if schedule == "two-phase":
        circuit = compile_two_phase(spec)
        program = step_program(circuit, "two-phase")
        readout, phase = readout_matrix(circuit), 0
    elif schedule == "modular":
        circuit = compile_circuit(spec)
        program = step_program(circuit, "modular")
        idx = {s: i for i, s in enumerate(circuit.species)}
        readout = np.zeros((spec.outputs, len(idx)))
        for k, rail in enumerate(circuit.species_map.yhat):
            readout[k, idx[rail.plus]], readout[k, idx[rail.minus]] = 1.0, -1.0
        phase = 1  # after readout_error
    else:
        raise SpecError(f"unknown schedule {schedule!r}; choose one of "
                        f"{', '.join(SCHEDULE_NAMES)}")
    probe = Probe(jnp.asarray(readout), jnp.asarray(phase, dtype=jnp.int32),
                  jnp.asarray(_param_matrix(circuit)))
    return ChemicalSetup(spec, schedule, circuit, program, probe, _phased(program))


def imperfect_setup(setup: ChemicalSetup, imperfections) -> ChemicalSetup:
    """``setup`` with its circuit and step program made imperfect
    (:func:`neuralcrn.compiler.imperfect_program`: rate-constant errors, leaks, incomplete wash);
    the probes and the species are unchanged. The perfect case returns ``setup`` itself."""
    import dataclasses

    from ..compiler import imperfect_program
    if imperfections.perfect:
        return setup
    circuit, program = imperfect_program(setup.circuit, setup.program, imperfections)
    return dataclasses.replace(setup, circuit=circuit, program=program, phased=_phased(program),
                               imperfections=imperfections)


class PhasedReactions(NamedTuple):
    """Each phase's active reactions only (arrays; a pytree), phase p in position p.

    structures: one :class:`MassActionStructure` per phase over all S species but only that
    phase's R_p reactions and their N_p stoichiometry entries (no padding: the solvers' work is
    proportional to R_p and N_p; measured 1.8–2.3× faster per step than padding every phase to
    the largest, docs/solver.md). rate_constants: one ``(R_p,)`` array per phase. plans: one
    :func:`neuralcrn.kinetics.jacobian_plan` per phase (the Jacobian entries a pair-block
    Rosenbrock solve needs: only species that change in the phase).
    """

    structures: tuple
    rate_constants: tuple
    plans: tuple


def _phased(program: StepProgram) -> PhasedReactions:
    st = program.structure
    ri = np.asarray(st.reactant_index)
    ss, sr, sv = (np.asarray(a) for a in (st.stoich_species, st.stoich_reaction,
                                          st.stoich_value))
    S = int(program.keep.shape[0])
    structures, rates = [], []
    for k in np.asarray(program.rate_constants):
        act = np.flatnonzero(k != 0)
        pos = -np.ones(ri.shape[0], dtype=np.int64)
        pos[act] = np.arange(act.size)
        m = pos[sr] >= 0
        index, rate = ri[act], k[act]
        if act.size == 0:  # keep one inert reaction so that every array has a length
            index, rate = np.full((1, ri.shape[1]), S, dtype=np.int32), np.zeros(1)
        structures.append(MassActionStructure(
            jnp.asarray(index.astype(np.int32)), jnp.asarray(ss[m].astype(np.int32)),
            jnp.asarray(pos[sr[m]].astype(np.int32)), jnp.asarray(sv[m])))
        rates.append(jnp.asarray(rate))
    plans = tuple(jacobian_plan(st, S, k) for st, k in zip(structures, rates))
    return PhasedReactions(tuple(structures), tuple(rates), plans)


def state_with_params(setup: ChemicalSetup, params: Params) -> np.ndarray:
    """Alias of :meth:`ChemicalSetup.initial_state`."""
    return setup.initial_state(params)


# ------------------------------------------------------------------ the compiled epoch
def _solve_stack(structure, k, y0, t1, method, rtol, atol, max_steps, plan=None):
    """Integrate K independent pots ``(K, S)`` of one network together
    (:func:`neuralcrn.kinetics.solve_final_stack`: one adaptive step sequence, the worst pot's
    error); NaN if the solve failed."""
    def run(y0):
        return solve_final_stack(structure, k, y0, t1, method=method, rtol=rtol, atol=atol,
                                 max_steps=max_steps, jacobian_plan=plan)

    # once a solve has failed the state is NaN: skip the later solves (they would each run to
    # max_steps on a NaN state) and report the failure at the end of the epoch
    return jax.lax.cond(jnp.all(jnp.isfinite(y0)), run, lambda y: jnp.full_like(y, jnp.nan), y0)


def run_step_stack(program, phased, states, X, Y, *, method=DEFAULT_METHOD, rtol=1e-4,
                   atol=1e-7, max_steps=100_000):
    """One training step of K pots at once (pure; jit/scan compatible).

    ``states`` ``(K, S)``, ``X`` ``(K, d)``, ``Y`` ``(K, m)`` → ``(P, K, S)``: the states at the
    end of each phase. The protocol of :func:`~neuralcrn.compiler.run_step` — wash the transient
    species, load x, y and z(0), run the phases — with two differences in *how* the same ODEs are
    integrated: each phase evaluates only its own reactions (:class:`PhasedReactions`; the others
    have rate 0 anyway), and the K pots are one stacked system with one shared adaptive step
    sequence whose error norm is the worst pot's RMS error. K = 1 is a single run. ``method``: one
    ODE method name for every phase, or a tuple with one per phase
    (:meth:`ChemicalSetup.solver_kwargs`).
    """
    s = jax.vmap(lambda s, x, y: load_sample(program, s, x, y))(states, X, Y)
    out = []
    # the phases are unrolled (P is static; each has its own arrays and method): a lax.scan over
    # them nests the solvers' while loops one level deeper, measured 1.7-2.7x slower per step on
    # XLA CPU (docs/solver.md)
    P = len(phased.rate_constants)
    methods = (method,) * P if isinstance(method, str) else tuple(method)
    for p in range(P):
        s = _solve_stack(phased.structures[p], phased.rate_constants[p], s, program.durations[p],
                         methods[p], rtol, atol, max_steps, phased.plans[p])
        out.append(s)
    return jnp.stack(out)


def _epoch_stack(program, phased, probe, state, X, Y, method, rtol, atol, max_steps):
    def body(s, xy):
        x, y = xy
        states = run_step_stack(program, phased, s, x, y, method=method, rtol=rtol, atol=atol,
                                max_steps=max_steps)
        w = 1.0 if probe.y_weight is None else probe.y_weight
        e = states[probe.readout_phase] @ probe.readout.T - w * y
        return states[-1], 0.5 * jnp.sum(e * e, axis=-1)

    s, losses = jax.lax.scan(body, state, (jnp.swapaxes(X, 0, 1), jnp.swapaxes(Y, 0, 1)))
    return s, losses.T


_STATIC = ("method", "rtol", "atol", "max_steps")
_epoch_jit = jax.jit(_epoch_stack, static_argnames=_STATIC)


def _shape_key(*trees):
    shape_of = lambda a: (tuple(a.shape), str(a.dtype))  # noqa: E731
    return jax.tree_util.tree_map(shape_of, trees)


class _ProgramCache:
    """A small least-recently-used store of compiled XLA programs, keyed by shapes and solver
    settings. Bounded because every program holds native code: a process that compiles hundreds
    of programs (a long study, the test suite) crashed XLA's compiler when all were kept."""

    def __init__(self, maxsize: int):
        self.maxsize = int(maxsize)
        self._items: collections.OrderedDict = collections.OrderedDict()

    def get(self, key):
        fn = self._items.get(key)
        if fn is not None:
            self._items.move_to_end(key)
        return fn

    def put(self, key, fn) -> None:
        self._items[key] = fn
        self._items.move_to_end(key)
        while len(self._items) > self.maxsize:
            self._items.popitem(last=False)

    def clear(self) -> None:
        self._items.clear()

    def __len__(self) -> int:
        return len(self._items)


class CompiledEpoch:
    """An ahead-of-time compiled epoch for fixed shapes (and the time its compilation took).

    ``compiled(setup, state, X, Y) -> (state, losses)`` with ``state`` ``(S,)``, ``X`` ``(N, d)``,
    ``Y`` ``(N, m)`` (``replicates=None``) or with a leading replicate axis K; losses ``(N,)`` /
    ``(K, N)``: the loss each step saw (½‖ŷ − y‖², ŷ read after the readout phase, before that
    step's update). A failed solve gives NaN from that sample on. The epoch is a ``lax.scan`` of
    :func:`run_step_stack` over the samples; the arrays of the circuit are arguments, so one
    compiled epoch serves every epoch, seed and run of the same shapes (the 8 most recently used
    shapes are kept per process).
    Outputs are JAX arrays (asynchronous: convert with ``numpy.asarray`` to wait).
    """

    _cache = _ProgramCache(8)

    def __init__(self, setup: ChemicalSetup, n_samples: int, replicates: int | None,
                 solver: SolverSettings):
        S, d, m = setup.n_species, setup.spec.inputs, setup.spec.outputs
        K = 1 if replicates is None else int(replicates)
        self.batched = replicates is not None
        key = (_shape_key(setup.program, setup.probe, setup.phased), S, d, m, n_samples, K,
               tuple(sorted(setup.solver_kwargs(solver).items())))
        hit = self._cache.get(key)
        if hit is not None:
            self.fn, self.compile_seconds, self.cached = hit, 0.0, True
            return
        f64 = jnp.float64
        shapes = (jax.ShapeDtypeStruct((K, S), f64), jax.ShapeDtypeStruct((K, n_samples, d), f64),
                  jax.ShapeDtypeStruct((K, n_samples, m), f64))
        t0 = time.perf_counter()
        self.fn = _epoch_jit.lower(setup.program, setup.phased, setup.probe, *shapes,
                                   **setup.solver_kwargs(solver)).compile()
        self.compile_seconds = time.perf_counter() - t0
        self.cached = False
        self._cache.put(key, self.fn)

    def __call__(self, setup: ChemicalSetup, state, X, Y):
        state, X, Y = (jnp.asarray(a, jnp.float64) for a in (state, X, Y))
        if not self.batched:
            state, X, Y = state[None], X[None], Y[None]
        s, losses = self.fn(setup.program, setup.phased, setup.probe, state, X, Y)
        return (s, losses) if self.batched else (s[0], losses[0])


def chemical_epoch(setup: ChemicalSetup, state, X, Y, solver: SolverSettings | None = None):
    """Run one compiled chemical epoch (samples in the given order); see :class:`CompiledEpoch`.

    ``state`` ``(S,)`` with ``X`` ``(N, d)``, or ``(K, S)`` with ``(K, N, d)`` for K replicates.
    Returns ``(state, losses)`` as numpy arrays.
    """
    solver = solver or SolverSettings()
    X = np.asarray(X, dtype=float)
    reps = None if X.ndim == 2 else X.shape[0]
    fn = CompiledEpoch(setup, X.shape[-2], reps, solver)
    s, losses = fn(setup, state, X, Y)
    return np.asarray(s), np.asarray(losses)


# ------------------------------------------------------------------ chemical forward (evaluation)
PREDICT_CHUNK = 512
"""The most points per compiled chemical-forward call (the inputs are padded to its size)."""

PREDICT_STACK_BUDGET = 1024
"""Pots × species of one stacked forward solve (:func:`predict_block`)."""


def predict_block(n_species: int) -> int:
    """Pots integrated as one stacked system in the chemical forward pass of a network of
    ``n_species`` species: ``PREDICT_STACK_BUDGET // n_species``, at least 1, at most
    :data:`PREDICT_CHUNK`; the blocks of a call run one after another (``lax.map``), each
    with its own adaptive step sequence.

    A stacked system takes the worst pot's steps (and its rejections) and a state of
    pots × species per stage, so large blocks stop paying for themselves on big networks.
    Measured per point (XOR seed-0 start, loaded machine, docs/solver.md): host-clocked XOR
    (525 species) 7.3 ms in one block of 512, 1.6–2.7 ms in blocks of 1–8; autonomous XOR
    (739 species, explicit Tsit5 on the clock) 250–290 ms in blocks of 1, 300–390 ms in blocks
    of 2–4, 760 ms in blocks of 16 (over 2.7 s in the old blocks of 512: 1 730 points did
    not finish in 77 min); autonomous linear
    regression (83 species) 97, 52 and 70 ms in blocks of 1, 8 and 64; host-clocked linear
    regression (43) 0.4, 0.2 and 0.1 ms in blocks of 1, 8 and 48
    (``benchmarks/forward_blocks.py``).
    """
    return int(max(1, min(PREDICT_CHUNK, PREDICT_STACK_BUDGET // max(int(n_species), 1))))


def predict_chunk(n_species: int) -> int:
    """Points per compiled forward call: at most 64 blocks (:func:`predict_block`), at most
    :data:`PREDICT_CHUNK` points — a slow network reports progress every 64 points."""
    b = predict_block(n_species)
    return b * max(1, min(PREDICT_CHUNK // b, 64))


def _forward_parts(setup: ChemicalSetup):
    """Program and phased reactions cut after the readout phase (no update happens)."""
    p = int(setup.probe.readout_phase) + 1
    prog = setup.program._replace(rate_constants=setup.program.rate_constants[:p],
                                  durations=setup.program.durations[:p])
    ph = setup.phased
    return prog, PhasedReactions(ph.structures[:p], ph.rate_constants[:p], ph.plans[:p])


def _predict_stack(program, phased, probe, state, X, method, rtol, atol, max_steps):
    """ŷ ``(B, m)`` of B pots integrated as one stacked system."""
    states = jnp.broadcast_to(state, (X.shape[0],) + state.shape)
    Y0 = jnp.zeros((X.shape[0], probe.readout.shape[0]), jnp.float64)
    out = run_step_stack(program, phased, states, X, Y0, method=method, rtol=rtol, atol=atol,
                         max_steps=max_steps)
    return out[-1] @ probe.readout.T


def _predict(program, phased, probe, state, X, n, method, rtol, atol, max_steps, block):
    """ŷ ``(C, m)`` for X ``(C, d)`` (C a multiple of ``block``): blocks of ``block`` stacked
    pots one after another; blocks holding no real row (index ≥ ``n``, padding) are skipped."""
    C, m = X.shape[0], probe.readout.shape[0]
    Xb = X.reshape((C // block, block) + X.shape[1:])
    starts = jnp.arange(0, C, block)

    def one(args):
        x, start = args
        return jax.lax.cond(start < n,
                            lambda x: _predict_stack(program, phased, probe, state, x, method,
                                                     rtol, atol, max_steps),
                            lambda x: jnp.zeros((block, m), jnp.float64), x)

    return jax.lax.map(one, (Xb, starts)).reshape((C, m))


_predict_jit = jax.jit(_predict, static_argnames=_STATIC + ("block",))


def padded_chunks(X, size: int):
    """Yield ``(chunk, n)``: the rows of X ``(N, d)`` in blocks of ``size`` rows, the last block
    padded by repeating its last row (so one compiled function serves every N); ``n`` is the
    number of real rows in the block."""
    X = np.asarray(X, dtype=float)
    for i in range(0, X.shape[0], size):
        chunk = X[i:i + size]
        n = chunk.shape[0]
        if n < size:
            chunk = np.concatenate([chunk, np.repeat(chunk[-1:], size - n, axis=0)])
        yield chunk, n


class CompiledPredictor:
    """The chemical forward pass compiled ahead of time for :func:`predict_chunk` points per
    call, as blocks of :func:`predict_block` pots, each block one stacked system (see
    :func:`run_step_stack`) with its own adaptive steps. ``block`` (optional, ≥ 1) overrides
    the block size; the call then takes the largest multiple of it up to :data:`PREDICT_CHUNK`
    points (at least one block). Raises SpecError for a block size < 1."""

    _cache = _ProgramCache(8)

    def __init__(self, setup: ChemicalSetup, solver: SolverSettings, block: int | None = None):
        prog, phased = _forward_parts(setup)
        S = setup.n_species
        self.block = predict_block(S) if block is None else int(block)
        if self.block < 1:
            raise SpecError(f"forward-pass block size must be ≥ 1, got {block!r}")
        self.chunk = (predict_chunk(S) if block is None
                      else self.block * max(1, PREDICT_CHUNK // self.block))
        key = (_shape_key(prog, phased, setup.probe), self.block, self.chunk,
               tuple(sorted(setup.solver_kwargs(solver).items())))
        hit = self._cache.get(key)
        if hit is not None:
            self.fn, self.compile_seconds = hit, 0.0
            return
        f64 = jnp.float64
        t0 = time.perf_counter()
        self.fn = _predict_jit.lower(
            prog, phased, setup.probe, jax.ShapeDtypeStruct((S,), f64),
            jax.ShapeDtypeStruct((self.chunk, setup.spec.inputs), f64),
            jax.ShapeDtypeStruct((), jnp.int32), block=self.block,
            **setup.solver_kwargs(solver)).compile()
        self.compile_seconds = time.perf_counter() - t0
        self._cache.put(key, self.fn)

    def __call__(self, setup: ChemicalSetup, state, X, on_chunk=None) -> np.ndarray:
        """ŷ ``(N, m)`` for the rows of X ``(N, d)``; ``on_chunk(n)`` (optional) is called after
        each call with the number of points it finished (for a progress bar)."""
        prog, phased = _forward_parts(setup)
        out = []
        for chunk, n in padded_chunks(X, self.chunk):
            out.append(np.asarray(self.fn(prog, phased, setup.probe,
                                          jnp.asarray(state, jnp.float64),
                                          jnp.asarray(chunk), jnp.asarray(n, jnp.int32)))[:n])
            if on_chunk is not None:
                on_chunk(n)
        return np.concatenate(out) if out else np.zeros((0, setup.spec.outputs))


def chemical_predict(setup: ChemicalSetup, state, X, solver: SolverSettings | None = None,
                     *, block: int | None = None) -> np.ndarray:
    """ŷ ``(N, m)`` of the chemical forward pass (+ readout) for every row of X ``(N, d)``.

    Every point runs the circuit's phases up to the readout from ``state`` (holding the
    parameters, e.g. the final training state): the phases after the readout are cut off, so no
    update happens. The points are integrated in blocks of stacked pots
    (:func:`predict_block`, :func:`run_step_stack`); ``block`` overrides the block size
    (:class:`CompiledPredictor`). NaN rows mark failed solves.
    """
    return CompiledPredictor(setup, solver or SolverSettings(), block)(setup, state, X)
