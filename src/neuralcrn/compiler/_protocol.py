"""Run one chemical training step of a compiled Neural CRN (SPEC §4) and read its results.

The host does only what a laboratory protocol can do: wash out the transient species (set them
to 0), load species (x, y and, when z(0) = u, the initial hidden state), and switch phase. Every
arithmetic operation — drive, decay, readout, error, adjoint, gradients, update and the re-balancing
of every dual rail — is done by the reactions, integrated with :mod:`neuralcrn.kinetics`.

Schedule ``"modular"`` (the default): one phase per module,
``feedforward | readout_error | adjoint_init | feedback | update``, each for its module's duration
(see :mod:`neuralcrn.compiler._modules`). A phase is the whole circuit's network with the rate
constants of the other modules set to 0, so all phases share one compiled solver, and a whole step is
a ``lax.scan`` over phases (:func:`run_step`, pure: usable inside ``jit``/``vmap``/``scan``).
Schedule ``"two-phase"`` (SPEC §4) has its own circuit (:mod:`neuralcrn.compiler._two_phase`);
``step_program(circuit, "two-phase")`` builds its program and ``run_step`` runs it the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ..errors import DataError, SimulationError, SpecError
from ..ideal.spec import Params
from ..kinetics import DEFAULT_METHOD as _AUTO
from ..kinetics import MassActionStructure, compile_network, resolve_method, solve_final
from ._modules import NeuralCRN
from ._species import SpeciesMap

__all__ = ["SCHEDULES", "StepProgram", "step_program", "load_sample", "run_step",
           "ChemicalStepResult", "chemical_gradient", "chemical_step", "DEFAULT_METHOD",
           "DEFAULT_RTOL", "DEFAULT_ATOL", "DEFAULT_MAX_STEPS"]

SCHEDULES: dict[str, tuple[tuple[str, ...], ...]] = {
    "modular": (("feedforward",), ("readout_error",), ("adjoint_init",), ("feedback",),
                ("update",)),
    "two-phase": (("feedforward",), ("feedback",)),
}
"""Phase schedules: each phase is a tuple of module names that run together. ``"two-phase"``
runs the two modules of :func:`~neuralcrn.compiler.compile_two_phase` (its own circuit, see
:mod:`neuralcrn.compiler._two_phase`)."""

DEFAULT_METHOD = _AUTO
"""``"auto"``: the kinetics layer's Rosenbrock method with exact dual-rail pair-block solves
(``"rodas5"``), whose step count does not grow with the annihilation rate."""
DEFAULT_RTOL = 1e-10
DEFAULT_ATOL = 1e-12
DEFAULT_MAX_STEPS = 1_000_000


class StepProgram(NamedTuple):
    """Everything one training step needs, as arrays (a JAX pytree; no Python objects).

    Shapes: S species, R reactions, P phases, d inputs, m outputs.

    Attributes
    ----------
    structure:       :class:`~neuralcrn.kinetics.MassActionStructure` of ``circuit.network``.
    rate_constants:  ``(P, R)``: the network's rate constants masked to each phase's modules.
    durations:       ``(P,)`` phase lengths (time units).
    keep:            ``(S,)`` 1.0 for species kept between steps (parameters, constant drive
                     species), 0.0 for the transient species the host washes out (w ∈ (0, 1)
                     for an incomplete wash leaving a fraction w: ``Imperfections``).
    x_plus, x_minus: ``(d,)`` int32 state positions of the input rails.
    y_plus, y_minus: ``(m,)`` int32 positions of the target rails.
    z0_plus, z0_minus: ``(n_u,)`` int32 positions of the z rails loaded with u (z(0) = u), or
                     ``(0,)`` when z(0) = 0.
    u_const:         ``(n_u − d,)`` signed values of the constant drive entries (c or 1).
    dose:            ``None`` (host protocols: the loads *set* the species after the wash) or a
                     ``()`` array b ≥ 0: the loads *add* x and y to their species — a dose into
                     storage species, as in the autonomous protocol
                     (:func:`neuralcrn.compiler.autonomous_program`), which has no wash — and
                     b of the pacemaker species is added with every dose (b = 0: none).
    pace:            ``None`` or ``()`` int32: the position of the pacemaker species (the
                     autonomous circuit's clock is entrained by it; ``ClockOptions.pacemaker``).
    """

    structure: MassActionStructure
    rate_constants: jnp.ndarray
    durations: jnp.ndarray
    keep: jnp.ndarray
    x_plus: jnp.ndarray
    x_minus: jnp.ndarray
    y_plus: jnp.ndarray
    y_minus: jnp.ndarray
    z0_plus: jnp.ndarray
    z0_minus: jnp.ndarray
    u_const: jnp.ndarray
    dose: jnp.ndarray | None = None
    pace: jnp.ndarray | None = None


def _schedule(schedule: str) -> tuple[tuple[str, ...], ...]:
    try:
        return SCHEDULES[schedule]
    except KeyError:
        raise SpecError(f"unknown schedule {schedule!r}; choose one of {', '.join(SCHEDULES)}") \
            from None


def step_program(circuit: NeuralCRN, schedule: str = "modular") -> StepProgram:
    """The :class:`StepProgram` of a circuit (numpy → JAX arrays; cheap, no compilation)."""
    if not isinstance(circuit, NeuralCRN):
        raise SpecError(f"expected a NeuralCRN (from compile_circuit), got "
                        f"{type(circuit).__name__}")
    phases = _schedule(schedule)
    if schedule == "two-phase":
        from ._two_phase import two_phase_program
        return two_phase_program(circuit)
    return program_from_phases(
        circuit, circuit.species_map,
        np.stack([circuit.phase_rate_constants(*ph) for ph in phases]),
        [max(circuit.duration(n) for n in ph) for ph in phases])


def program_from_phases(circuit: NeuralCRN, smap: SpeciesMap, rate_constants, durations,
                        transient_species=None) -> StepProgram:
    """Assemble a :class:`StepProgram` from a circuit's network and species map and the rate
    constants ``(P, R)`` and durations ``(P,)`` of its P phases; ``transient_species`` (default
    ``smap.transient_species``) are washed out before every step."""
    z0 = smap.z[:smap.n_u] if smap.z0_is_u else ()
    u_const = [s * v for s, v in zip(smap.u_sign[smap.d:], smap.u_value[smap.d:])]
    rails = lambda rs: ([r.plus for r in rs], [r.minus for r in rs])  # noqa: E731
    return assemble_program(
        circuit, rate_constants, durations,
        smap.transient_species if transient_species is None else transient_species,
        x=rails(smap.x), y=rails(smap.y), z0=rails(z0), u_const=u_const)


def assemble_program(circuit: NeuralCRN, rate_constants, durations, transient_species, *, x, y,
                     z0, u_const, dose: float | None = None,
                     pace: str | None = None) -> StepProgram:
    """A :class:`StepProgram` from explicit load positions: ``x``, ``y``, ``z0`` are
    ``(plus species, minus species)`` lists; a ``None`` species means the value has no rail of
    that sign (its position is out of range, and :func:`load_sample` drops the assignment: a
    single-rail input must then be ≥ 0). ``dose``: ``None``, or the pacemaker amount b ≥ 0 of a
    dose program (the loads add to the species; no wash), ``pace`` its species."""
    arrays = compile_network(circuit.network)
    idx = {s: i for i, s in enumerate(circuit.species)}
    S = len(idx)
    keep = np.ones(S)
    for s in transient_species:
        keep[idx[s]] = 0.0
    ints = lambda names: jnp.asarray([S if s is None else idx[s] for s in names],  # noqa: E731
                                     dtype=jnp.int32)
    return StepProgram(
        structure=MassActionStructure(*(jnp.asarray(a) for a in arrays.structure())),
        rate_constants=jnp.asarray(np.asarray(rate_constants, dtype=float)),
        durations=jnp.asarray(np.asarray(durations, dtype=float)),
        keep=jnp.asarray(keep),
        x_plus=ints(x[0]), x_minus=ints(x[1]), y_plus=ints(y[0]), y_minus=ints(y[1]),
        z0_plus=ints(z0[0]), z0_minus=ints(z0[1]),
        u_const=jnp.asarray(u_const, dtype=jnp.float64).reshape(-1),
        dose=None if dose is None else jnp.asarray(float(dose), dtype=jnp.float64),
        pace=None if pace is None else jnp.asarray(idx[pace], dtype=jnp.int32),
    )


def run_checked_step(circuit: NeuralCRN, program: StepProgram, state, x, y, phase_labels,
                     *, method: str, rtol: float, atol: float, max_steps: int,
                     hint: str = "") -> tuple[np.ndarray, np.ndarray]:
    """Run one step of ``program`` from ``state`` (default ``circuit.network.initial``) with the
    checked sample x, y. Returns ``(loaded, states)``: the ``(S,)`` state after loading and the
    ``(P, S)`` states after each phase. Raises DataError (wrong state shape) and SimulationError
    naming the first phase (``phase_labels[p]``) that failed to integrate."""
    s_init = np.asarray(circuit.network.initial if state is None else state, dtype=float)
    if s_init.shape != (circuit.network.n_species,):
        raise DataError(f"state must have {circuit.network.n_species} entries, got {s_init.shape}")
    loaded = np.asarray(load_sample(program, s_init, x, y))
    # "auto" resolved here, on the concrete structure: inside jit the structure is traced and
    # resolve_method could only guess "rodas5", whose exact pair-block solves fail on networks
    # with cyclic off-block links (the autonomous circuit)
    method = resolve_method(method, program.structure, s_init.shape[0])
    states = np.asarray(_run_step_jit(program, s_init, x, y, method=method, rtol=float(rtol),
                                      atol=float(atol), max_steps=int(max_steps)))
    if not np.all(np.isfinite(states)):
        bad = int(np.nonzero(~np.all(np.isfinite(states), axis=1))[0][0])
        raise SimulationError(f"phase {phase_labels[bad]!r} failed to integrate (step limit "
                              f"{max_steps} or a non-finite state){hint}")
    return loaded, states


def load_sample(program: StepProgram, state, x, y):
    """Host action before a step (pure JAX): wash the transient species, load x, y and z(0) = u.

    Parameters: ``state`` ``(S,)``, ``x`` ``(d,)``, ``y`` ``(m,)``. Returns the new ``(S,)`` state.
    The wash multiplies the state by ``program.keep`` (0 for a washed species, or the residual
    fraction w of an incomplete wash, :class:`~neuralcrn.compiler.Imperfections`); each signed
    value is then added to one rail of its species (the loaded species are washed ones, so with a
    complete wash this sets them: value in one rail, the other rail 0); nothing is computed from
    the chemical state. A position outside the state (a value without a rail of that sign,
    :func:`assemble_program`) is skipped. With ``program.dose`` set, the values are *added* to
    their rails instead (a dose: |v| into the rail of its sign), and the pacemaker species
    ``program.pace`` (if any) gets ``program.dose`` more.
    """
    x = jnp.asarray(x, dtype=jnp.float64)
    y = jnp.asarray(y, dtype=jnp.float64)
    s = jnp.asarray(state, dtype=jnp.float64) * program.keep

    def put(s, plus, minus, v):
        # the loads add to what the wash left: a washed species (keep 0) is 0 then, so this is
        # setting it; with an incomplete wash (keep = w) the residual stays (Imperfections)
        return (s.at[plus].add(jnp.maximum(v, 0.0), mode="drop")
                .at[minus].add(jnp.maximum(-v, 0.0), mode="drop"))

    s = put(s, program.x_plus, program.x_minus, x)
    s = put(s, program.y_plus, program.y_minus, y)
    if program.pace is not None:
        s = s.at[program.pace].add(program.dose)
    u = jnp.concatenate([x, program.u_const])[:program.z0_plus.shape[0]]
    return put(s, program.z0_plus, program.z0_minus, u)


def run_step(program: StepProgram, state, x, y, *, method: str = DEFAULT_METHOD,
             rtol: float = DEFAULT_RTOL, atol: float = DEFAULT_ATOL,
             max_steps: int = DEFAULT_MAX_STEPS):
    """One chemical training step (pure; jit/vmap/scan compatible).

    Loads the sample (:func:`load_sample`), then runs every phase of ``program`` for its duration
    with ``lax.scan``. Returns ``(P, S)``: the state at the end of each phase (the last row is the
    state after the step). A failed solve gives NaN rows (check with ``jnp.isfinite``).
    """
    s0 = load_sample(program, state, x, y)

    def phase(s, kd):
        k, dur = kd
        s1 = solve_final(program.structure, k, s, dur, method=method, rtol=rtol, atol=atol,
                         max_steps=max_steps)
        return s1, s1

    _, states = jax.lax.scan(phase, s0, (program.rate_constants, program.durations))
    return states


_run_step_jit = jax.jit(run_step, static_argnames=("method", "rtol", "atol", "max_steps"))


@dataclass(frozen=True, eq=False)
class ChemicalStepResult:
    """What one chemical training step computed, read from species concentrations (numpy).

    Attributes
    ----------
    yhat, e:        ``(m,)`` readout ŷ and error e = ŷ − y (after ``readout_error``).
    loss:           ½‖e‖².
    grads:          :class:`Params` of ∂L/∂Θ ``(n, n_u)``, ∂L/∂h ``(n,)``, ∂L/∂W ``(m, n)`` (zeros
                    for untrained parameters and off the diagonal in diagonal mode) — after the
                    ``feedback`` phase, before the update.
    z0, zT:         ``(n,)`` z(0) as loaded and z(T) after ``feedforward``.
    a0:             ``(n,)`` a(s=0) = Wᵀe after ``adjoint_init``.
    z_reconstructed: ``(n,)`` z(s=T) after the exact ``feedback`` phase (``None`` for first-order).
    reconstruction_error: max_i |z(s=T) − z(0)|_i (``None`` for first-order).
    params_before, params_after: :class:`Params` read from the species before and after the
                    ``update`` phase.
    phase_states:   ``{phase name: (S,) state at its end}`` (phase name = modules joined by "+").
    initial_state:  ``(S,)`` state after loading the sample.
    species:        species order of the states.
    """

    yhat: np.ndarray
    e: np.ndarray
    loss: float
    grads: Params
    z0: np.ndarray
    zT: np.ndarray
    a0: np.ndarray
    z_reconstructed: np.ndarray | None
    reconstruction_error: float | None
    params_before: Params
    params_after: Params
    phase_states: dict
    initial_state: np.ndarray
    species: tuple[str, ...]

    @property
    def final_state(self) -> np.ndarray:
        """``(S,)`` state at the end of the step."""
        return list(self.phase_states.values())[-1]


def _check_xy(circuit: NeuralCRN, x, y):
    spec = circuit.spec
    x = np.asarray(x, dtype=float).reshape(-1)
    y = np.asarray(y, dtype=float).reshape(-1)
    if x.shape != (spec.inputs,):
        raise DataError(f"input x must have {spec.inputs} values, got {x.size}")
    if y.shape != (spec.outputs,):
        raise DataError(f"target y must have {spec.outputs} values, got {y.size}")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise DataError("x and y must be finite")
    return x, y


def _phase_of(phases, module: str) -> int:
    for i, ph in enumerate(phases):
        if module in ph:
            return i
    raise SpecError(f"schedule has no phase with module {module!r}")  # pragma: no cover


def chemical_gradient(circuit: NeuralCRN, x, y, *, schedule: str = "modular", state=None,
                      method: str = DEFAULT_METHOD, rtol: float = DEFAULT_RTOL,
                      atol: float = DEFAULT_ATOL,
                      max_steps: int = DEFAULT_MAX_STEPS) -> ChemicalStepResult:
    """Run one training step's modules in sequence and read ŷ, e and every gradient (SPEC §4).

    Parameters
    ----------
    circuit:
        From :func:`~neuralcrn.compiler.compile_circuit` (parameters = its initial concentrations).
    x, y:
        One sample, shapes ``(d,)`` and ``(m,)`` (inputs may be negative).
    schedule:
        ``"modular"`` (see :data:`SCHEDULES`).
    state:
        Optional ``(S,)`` state to start from (e.g. the final state of the previous step, whose
        parameter species carry over); default ``circuit.network.initial``.
    method, rtol, atol, max_steps:
        ODE solver options (:func:`neuralcrn.kinetics.solve_final`). The defaults (``"auto"``,
        1e-10, 1e-12) keep the numerical error far below the chemical error.

    Returns
    -------
    ChemicalStepResult
        The update phase is always run, so ``params_after`` holds θ − η·G read from the species.

    Raises
    ------
    DataError
        Wrong shapes or non-finite x, y.
    SimulationError
        A phase failed to integrate (step limit or non-finite state).
    """
    x, y = _check_xy(circuit, x, y)
    phases = _schedule(schedule)
    if schedule != "modular":
        raise SpecError(f"chemical_gradient reads the gradient species of the modular schedule; "
                        f"schedule {schedule!r} has none (use compiler.two_phase_step)")
    program = step_program(circuit, schedule)
    loaded, states = run_checked_step(
        circuit, program, state, x, y, ["+".join(ph) for ph in phases], method=method,
        rtol=rtol, atol=atol, max_steps=max_steps,
        hint="; try a larger max_steps, method='ros34pw2' or smaller rate constants")
    smap, sp = circuit.species_map, circuit.species
    rd = lambda i: smap.read(states[i], sp)  # noqa: E731
    r0 = smap.read(loaded, sp)
    r_ff = rd(_phase_of(phases, "feedforward"))
    r_ro = rd(_phase_of(phases, "readout_error"))
    r_ai = rd(_phase_of(phases, "adjoint_init"))
    r_fb = rd(_phase_of(phases, "feedback"))
    r_up = rd(len(phases) - 1)
    n, n_u, m = smap.n, smap.n_u, smap.m
    g_h = r_fb["g_h"] if r_fb["g_h"] is not None else np.zeros(n)
    g_W = r_ai["g_W"] if r_ai["g_W"] is not None else np.zeros((m, n))
    exact = circuit.spec.gradient == "exact"
    z_rec = r_fb["z"] if exact else None
    e = r_ro["e"]
    return ChemicalStepResult(
        yhat=r_ro["yhat"], e=e, loss=float(0.5 * np.dot(e, e)),
        grads=Params(r_fb["g_theta"].reshape(n, n_u), g_h, g_W),
        z0=r0["z"], zT=r_ff["z"], a0=r_ai["adj"],
        z_reconstructed=z_rec,
        reconstruction_error=None if z_rec is None else float(np.max(np.abs(z_rec - r0["z"]))),
        params_before=Params(r0["theta"], r0["h"], r0["W"]),
        params_after=Params(r_up["theta"], r_up["h"], r_up["W"]),
        phase_states={"+".join(ph): states[i] for i, ph in enumerate(phases)},
        initial_state=loaded, species=sp)


def chemical_step(circuit: NeuralCRN, x, y, **kwargs) -> tuple[Params, ChemicalStepResult]:
    """One chemical SGD step: :func:`chemical_gradient` (which runs the update reactions) and the new
    parameters θ − η·G read from the parameter species.

    Returns ``(new_params, result)``; ``circuit.with_params(new_params)`` is the next circuit (or
    pass ``state=result.final_state`` to the next call to carry the chemical state itself).
    Keyword arguments as :func:`chemical_gradient`.
    """
    res = chemical_gradient(circuit, x, y, **kwargs)
    return res.params_after, res
