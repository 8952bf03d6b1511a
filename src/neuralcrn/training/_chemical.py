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
K independent pots of the same circuit integrated as one stacked system (:func:`run_step_stack`:
the RHS is ``vmap``-ed over the pots, the adaptive step sequence is shared and controlled by the
worst pot's error). ``vmap`` over K separate adaptive solves was measured 1.6–2.8× *slower* per
replicate than a single run (batched while loops); the stacked solve is ~3× cheaper per replicate.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import NamedTuple

import diffrax
import jax
import jax.numpy as jnp
import numpy as np

from ..compiler import NeuralCRN, StepProgram, compile_circuit, load_sample, step_program
from ..compiler._two_phase import compile_two_phase, readout_matrix
from ..errors import SpecError
from ..ideal.spec import ModelSpec, Params
from ..kinetics import MassActionStructure, mass_action_rhs

_EXPLICIT = {"tsit5": diffrax.Tsit5, "dopri5": diffrax.Dopri5, "dopri8": diffrax.Dopri8,
             "bosh3": diffrax.Bosh3}

__all__ = ["SolverSettings", "Probe", "ChemicalSetup", "chemical_setup", "chemical_epoch",
           "chemical_predict", "read_params", "state_with_params", "SCHEDULE_NAMES",
           "CompiledEpoch", "CompiledPredictor", "run_step_stack", "PhasedReactions"]

SCHEDULE_NAMES = ("modular", "two-phase")


@dataclass(frozen=True)
class SolverSettings:
    """ODE solver settings of chemical training (static arguments of the compiled epoch).

    The defaults (Tsit5, rtol 1e-4, atol 1e-7) are far looser than the compiler's 1e-10
    reference settings: the integration error they add (ŷ ≈ 1e-6) stays well below the
    chemistry's own deviation from the ideal math (1/k_ann); measurements in ``docs/training.md``.
    """

    method: str = "tsit5"
    rtol: float = 1e-4
    atol: float = 1e-7
    max_steps: int = 100_000

    def __post_init__(self):
        from ..kinetics import METHODS
        if self.method not in _EXPLICIT and self.method not in METHODS:
            raise SpecError(f"unknown ODE method {self.method!r}; choose one of "
                            f"{', '.join(dict.fromkeys((*_EXPLICIT, *METHODS)))}")
        for name in ("rtol", "atol"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and np.isfinite(v) and v > 0):
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

    @property
    def n_species(self) -> int:
        return self.circuit.network.n_species

    def initial_state(self, params: Params) -> np.ndarray:
        """``(S,)`` state holding ``params`` (and the constant drive species), everything else 0."""
        return np.asarray(self.circuit.with_params(_np_params(params)).network.initial)

    def read_params(self, state) -> Params:
        """Parameters read from one state ``(S,)`` or a batch ``(K, S)`` (numpy)."""
        return read_params(self.spec, np.asarray(self.probe.params), state)

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


class PhasedReactions(NamedTuple):
    """Each phase's active reactions only, padded to a common length (arrays; a pytree).

    structure: :class:`MassActionStructure` with a leading phase axis: reactant_index
    ``(P, R_max, q)`` (padding reactions read the constant-1 slot and have rate 0), stoich_*
    ``(P, N_max)`` (padding entries add 0 to species 0). rate_constants: ``(P, R_max)``.
    """

    structure: MassActionStructure
    rate_constants: jnp.ndarray


def _phased(program: StepProgram) -> PhasedReactions:
    st = program.structure
    ri = np.asarray(st.reactant_index)
    ss, sr, sv = (np.asarray(a) for a in (st.stoich_species, st.stoich_reaction,
                                          st.stoich_value))
    S = int(program.keep.shape[0])
    K = np.asarray(program.rate_constants)
    active = [np.flatnonzero(k != 0) for k in K]
    R = max(1, max(a.size for a in active))
    parts = []
    for k, act in zip(K, active):
        pos = -np.ones(ri.shape[0], dtype=np.int64)
        pos[act] = np.arange(act.size)
        m = pos[sr] >= 0
        parts.append((act, ss[m], pos[sr[m]], sv[m], k[act]))
    N = max(1, max(p[1].size for p in parts))
    rid, sps, srs, svs, ks = [], [], [], [], []
    for act, a, b, c, k in parts:
        r = np.full((R, ri.shape[1]), S, dtype=np.int32)
        r[:act.size] = ri[act]
        rid.append(r)
        pad = N - a.size
        sps.append(np.concatenate([a, np.zeros(pad, np.int64)]).astype(np.int32))
        srs.append(np.concatenate([b, np.zeros(pad, np.int64)]).astype(np.int32))
        svs.append(np.concatenate([c, np.zeros(pad)]))
        ks.append(np.concatenate([k, np.zeros(R - act.size)]))
    return PhasedReactions(
        MassActionStructure(*(jnp.asarray(np.stack(a)) for a in (rid, sps, srs, svs))),
        jnp.asarray(np.stack(ks)))


def state_with_params(setup: ChemicalSetup, params: Params) -> np.ndarray:
    """Alias of :meth:`ChemicalSetup.initial_state`."""
    return setup.initial_state(params)


# ------------------------------------------------------------------ the compiled epoch
def _max_rms(x):
    """Error norm of a stack of pots ``(K, S)``: the largest per-pot RMS, so every pot gets the
    error control it would get alone."""
    return jnp.max(jnp.sqrt(jnp.mean(jnp.square(x), axis=-1)))


def _stack_vf(t, y, args):
    k, structure = args
    return jax.vmap(lambda v: mass_action_rhs(v, k, structure))(y)


def _solve_stack(structure, k, y0, t1, method, rtol, atol, max_steps):
    """Integrate K independent pots ``(K, S)`` of one network together (one adaptive step
    sequence, error norm :func:`_max_rms`); NaN if the solve failed. Same solver and controller
    as :func:`neuralcrn.kinetics.solve_final`."""
    if method not in _EXPLICIT:
        raise SpecError(f"chemical training supports the explicit methods "
                        f"{', '.join(_EXPLICIT)}, not {method!r}")
    def run(y0):
        sol = diffrax.diffeqsolve(
            diffrax.ODETerm(_stack_vf), _EXPLICIT[method](), 0.0, t1, None, y0, (k, structure),
            saveat=diffrax.SaveAt(t1=True),
            stepsize_controller=diffrax.PIDController(rtol=rtol, atol=atol, norm=_max_rms),
            max_steps=max_steps, throw=False)
        y = sol.ys[0]
        ok = (sol.result == diffrax.RESULTS.successful) & jnp.all(jnp.isfinite(y))
        return jnp.where(ok, y, jnp.nan)

    # once a solve has failed the state is NaN: skip the later solves (they would each run to
    # max_steps on a NaN state) and report the failure at the end of the epoch
    return jax.lax.cond(jnp.all(jnp.isfinite(y0)), run, lambda y: jnp.full_like(y, jnp.nan), y0)


def run_step_stack(program, phased, states, X, Y, *, method="tsit5", rtol=1e-4, atol=1e-7,
                   max_steps=100_000):
    """One training step of K pots at once (pure; jit/scan compatible).

    ``states`` ``(K, S)``, ``X`` ``(K, d)``, ``Y`` ``(K, m)`` → ``(P, K, S)``: the states at the
    end of each phase. The protocol of :func:`~neuralcrn.compiler.run_step` — wash the transient
    species, load x, y and z(0), run the phases — with two differences in *how* the same ODEs are
    integrated: each phase evaluates only its own reactions (:class:`PhasedReactions`; the others
    have rate 0 anyway), and the K pots are one stacked system with one shared adaptive step
    sequence whose error norm is the worst pot's RMS error. K = 1 is a single run.
    """
    s0 = jax.vmap(lambda s, x, y: load_sample(program, s, x, y))(states, X, Y)

    def phase(s, xs):
        structure, k, dur = xs
        s1 = _solve_stack(MassActionStructure(*structure), k, s, dur, method, rtol, atol,
                          max_steps)
        return s1, s1

    _, out = jax.lax.scan(phase, s0, (tuple(phased.structure), phased.rate_constants,
                                      program.durations))
    return out


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


class CompiledEpoch:
    """An ahead-of-time compiled epoch for fixed shapes (and the time its compilation took).

    ``compiled(setup, state, X, Y) -> (state, losses)`` with ``state`` ``(S,)``, ``X`` ``(N, d)``,
    ``Y`` ``(N, m)`` (``replicates=None``) or with a leading replicate axis K; losses ``(N,)`` /
    ``(K, N)``: the loss each step saw (½‖ŷ − y‖², ŷ read after the readout phase, before that
    step's update). A failed solve gives NaN from that sample on. The epoch is a ``lax.scan`` of
    :func:`run_step_stack` over the samples; the arrays of the circuit are arguments, so one
    compiled epoch serves every epoch, seed and run of the same shapes (cached per process).
    Outputs are JAX arrays (asynchronous: convert with ``numpy.asarray`` to wait).
    """

    _cache: dict = {}

    def __init__(self, setup: ChemicalSetup, n_samples: int, replicates: int | None,
                 solver: SolverSettings):
        S, d, m = setup.n_species, setup.spec.inputs, setup.spec.outputs
        K = 1 if replicates is None else int(replicates)
        self.batched = replicates is not None
        key = (_shape_key(setup.program, setup.probe, setup.phased), S, d, m, n_samples, K,
               solver)
        hit = self._cache.get(key)
        if hit is not None:
            self.fn, self.compile_seconds, self.cached = hit, 0.0, True
            return
        f64 = jnp.float64
        shapes = (jax.ShapeDtypeStruct((K, S), f64), jax.ShapeDtypeStruct((K, n_samples, d), f64),
                  jax.ShapeDtypeStruct((K, n_samples, m), f64))
        t0 = time.perf_counter()
        self.fn = _epoch_jit.lower(setup.program, setup.phased, setup.probe, *shapes,
                                   **solver.as_kwargs()).compile()
        self.compile_seconds = time.perf_counter() - t0
        self.cached = False
        self._cache[key] = self.fn

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
"""Points per compiled chemical-forward call (inputs are padded to a multiple of this)."""


def _forward_parts(setup: ChemicalSetup):
    """Program and phased reactions cut after the readout phase (no update happens)."""
    p = int(setup.probe.readout_phase) + 1
    prog = setup.program._replace(rate_constants=setup.program.rate_constants[:p],
                                  durations=setup.program.durations[:p])
    ph = setup.phased
    phased = PhasedReactions(MassActionStructure(*(a[:p] for a in ph.structure)),
                             ph.rate_constants[:p])
    return prog, phased


def _predict(program, phased, probe, state, X, method, rtol, atol, max_steps):
    states = jnp.broadcast_to(state, (X.shape[0],) + state.shape)
    Y0 = jnp.zeros((X.shape[0], probe.readout.shape[0]), jnp.float64)
    out = run_step_stack(program, phased, states, X, Y0, method=method, rtol=rtol, atol=atol,
                         max_steps=max_steps)
    return out[-1] @ probe.readout.T


_predict_jit = jax.jit(_predict, static_argnames=_STATIC)


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
    """The chemical forward pass compiled ahead of time for ``PREDICT_CHUNK`` points: the
    points are pots of one stacked system (see :func:`run_step_stack`)."""

    _cache: dict = {}

    def __init__(self, setup: ChemicalSetup, solver: SolverSettings):
        prog, phased = _forward_parts(setup)
        key = (_shape_key(prog, phased, setup.probe), solver)
        hit = self._cache.get(key)
        if hit is not None:
            self.fn, self.compile_seconds = hit, 0.0
            return
        f64 = jnp.float64
        t0 = time.perf_counter()
        self.fn = _predict_jit.lower(
            prog, phased, setup.probe, jax.ShapeDtypeStruct((setup.n_species,), f64),
            jax.ShapeDtypeStruct((PREDICT_CHUNK, setup.spec.inputs), f64),
            **solver.as_kwargs()).compile()
        self.compile_seconds = time.perf_counter() - t0
        self._cache[key] = self.fn

    def __call__(self, setup: ChemicalSetup, state, X) -> np.ndarray:
        prog, phased = _forward_parts(setup)
        out = []
        for chunk, n in padded_chunks(X, PREDICT_CHUNK):
            out.append(np.asarray(self.fn(prog, phased, setup.probe,
                                          jnp.asarray(state, jnp.float64),
                                          jnp.asarray(chunk)))[:n])
        return np.concatenate(out) if out else np.zeros((0, setup.spec.outputs))


def chemical_predict(setup: ChemicalSetup, state, X,
                     solver: SolverSettings | None = None) -> np.ndarray:
    """ŷ ``(N, m)`` of the chemical forward pass (+ readout) for every row of X ``(N, d)``.

    Every point runs the circuit's phases up to the readout from ``state`` (holding the
    parameters, e.g. the final training state): the phases after the readout are cut off, so no
    update happens. The points are integrated as pots of one stacked system
    (:func:`run_step_stack`). NaN rows mark failed solves.
    """
    return CompiledPredictor(setup, solver or SolverSettings())(setup, state, X)
