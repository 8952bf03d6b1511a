"""Deterministic mass-action simulation of a network (user-facing, validated, raises on failure)."""

from __future__ import annotations

import numbers

import jax.numpy as jnp
import numpy as np

from ..chemistry.network import ReactionNetwork
from ..errors import SimulationError
from ._arrays import MassActionArrays, MassActionStructure
from ._inputs import as_arrays, initial_state, rate_vector, time_grid
from ._jacobian import PairPlan
from ._solve import (_EXPLICIT, DEFAULT_METHOD, METHODS, ROSENBROCK, STATUS_MESSAGES, STATUS_OK,
                     choose_method, jacobian_plan, solve_jit)
from ._trajectory import Trajectory

__all__ = ["simulate", "device_structure"]

_STRUCTURES: dict[tuple, MassActionStructure] = {}
_MAX_CACHED = 64
_MIN_SAVES = 128  # every grid of up to 128 output times shares one compiled solver


def _bucket(n: int) -> int:
    """Smallest m·2^e ≥ n with m ∈ {4, 5, 6, 7} (at most 25 % padding; 4 at least)."""
    e = 0
    while True:
        for m in (4, 5, 6, 7):
            if m << e >= n:
                return m << e
        e += 1


def device_structure(arrays: MassActionArrays, *, pad: bool = False) -> MassActionStructure:
    """The structure of ``arrays`` as JAX arrays, cached by :attr:`MassActionArrays.structure_key`.

    With ``pad`` (what :func:`simulate` uses) the reaction count R, the number of stoichiometry
    entries N and q are rounded up to a few bucket sizes (≤ 25 % more, q ≥ 2) with inert padding —
    reactant slots pointing at the constant 1.0 slot, zero stoichiometry — so many small networks
    share one compiled solver. Pad rate constants with zeros to ``reactant_index.shape[0]``.
    The number of species is never padded (it enters the solver's error norm).
    """
    key = (arrays.structure_key, pad)
    hit = _STRUCTURES.get(key)
    if hit is None:
        if len(_STRUCTURES) >= _MAX_CACHED:
            _STRUCTURES.clear()
        st = arrays.structure()
        if pad:
            S, (R, q), N = arrays.n_species, st.reactant_index.shape, st.stoich_value.shape[0]
            index = np.full((_bucket(R), max(q, 2)), S, dtype=np.int32)
            index[:R, :q] = st.reactant_index
            n_pad = _bucket(N) - N
            st = MassActionStructure(
                index,
                np.concatenate([st.stoich_species, np.zeros(n_pad, np.int32)]),
                np.concatenate([st.stoich_reaction, np.zeros(n_pad, np.int32)]),
                np.concatenate([st.stoich_value, np.zeros(n_pad, np.float64)]))
        hit = MassActionStructure(*(jnp.asarray(a) for a in st))
        _STRUCTURES[key] = hit
    return hit


_PLANS: dict[tuple, PairPlan] = {}


def _plan(arrays: MassActionArrays, structure: MassActionStructure) -> PairPlan:
    """The structural pair-block Jacobian plan of the padded structure (every reaction counted,
    so new rate constants reuse it and the compiled solver), cached like the structure."""
    key = arrays.structure_key
    hit = _PLANS.get(key)
    if hit is None:
        if len(_PLANS) >= _MAX_CACHED:
            _PLANS.clear()
        plan = jacobian_plan(structure, arrays.n_species)
        # pad the entry lists (weight 0) to bucket sizes, as the structure: networks of similar
        # sizes share one compiled solver
        pad = lambda a, n: jnp.concatenate([a, jnp.zeros(n - a.shape[0], a.dtype)])  # noqa: E731
        nb, ne = _bucket(plan.in_rows.shape[0]), _bucket(plan.out_rows.shape[0])
        fields = plan._asdict()
        for name, v in fields.items():
            if name.startswith("in_"):
                fields[name] = pad(v, nb)
            elif name.startswith("out_"):
                fields[name] = pad(v, ne)
        hit = _PLANS[key] = PairPlan(**fields)
    return hit


def _check_solver_options(method, rtol, atol, max_steps, dt0) -> None:
    if not isinstance(method, str) or method not in METHODS:
        raise SimulationError(f"unknown ODE method {method!r}; choose one of {', '.join(METHODS)}")
    for name, v in (("rtol", rtol), ("atol", atol)):
        if isinstance(v, bool) or not isinstance(v, numbers.Real) or not v > 0 \
                or not np.isfinite(v):
            raise SimulationError(f"{name} must be a finite number > 0, got {v!r}")
    if isinstance(max_steps, bool) or not isinstance(max_steps, numbers.Integral) or max_steps < 1:
        raise SimulationError(f"max_steps must be an integer ≥ 1, got {max_steps!r}")
    if dt0 is not None and (isinstance(dt0, bool) or not isinstance(dt0, numbers.Real)
                            or not dt0 > 0 or not np.isfinite(dt0)):
        raise SimulationError(f"dt0 must be None or a finite number > 0, got {dt0!r}")


def _failure_message(sol, status, t_end, x0, species, method, max_steps) -> str:
    t = float(sol.t_reached)
    msg = f"solver stopped at t={t:.6g} of {t_end:.6g}: "
    msg += STATUS_MESSAGES[status].format(max_steps=max_steps, method=method)
    if status not in (1, 2, 3):
        return msg
    hint = ("the network may be stiff — use method='auto' or raise max_steps"
            if method in _EXPLICIT else "raise max_steps or loosen rtol/atol")
    y = np.asarray(sol.y_reached)
    if y.size:
        finite = np.isfinite(y)
        i = int(np.argmax(np.where(finite, np.abs(y), np.inf)))
        if not finite.all() or abs(y[i]) > 1e3 * max(1.0, float(np.max(x0, initial=0.0))):
            return (msg + f"; concentrations grow large ({species[i]!r} = {y[i]:.3g} there): the "
                    f"network may blow up in finite time (otherwise {hint})")
    return msg + "; " + hint


def simulate(network: ReactionNetwork | MassActionArrays, t_end: float | None = None,
             n_points: int = 101, *, times=None, x0=None, rate_constants=None,
             method: str = DEFAULT_METHOD, rtol: float = 1e-8, atol: float = 1e-10,
             max_steps: int = 200_000, dt0: float | None = None) -> Trajectory:
    """Integrate the mass-action ODE ``dx/dt = N · v(x)`` of a network from t = 0.

    Rate law: ``v_r = k_r · Π [X]^ν`` with no 1/ν! factor (see :mod:`neuralcrn.chemistry.network`);
    constant species never change.

    Parameters
    ----------
    network:
        A :class:`~neuralcrn.chemistry.ReactionNetwork` or its :class:`MassActionArrays`.
    t_end, n_points:
        Save at ``n_points`` (≥ 2) evenly spaced times in ``[0, t_end]`` (time units).
    times:
        Instead of ``t_end``/``n_points``: ``(P,)`` strictly increasing save times, ``times[0] ≥ 0``.
    x0:
        Initial concentrations at t = 0: ``None`` (the network's), ``{species: value}`` (overrides)
        or an ``(S,)`` array. Finite and ≥ 0.
    rate_constants:
        ``(R,)`` rate constants replacing the network's (no recompilation).
    method:
        ``"auto"`` (default): a Rosenbrock method with the analytic Jacobian, chosen from the
        network's structure (:func:`choose_method`: ``"rodas5"`` with exact pair-block solves for
        Neural CRNs and any network whose stiff pairs are linked without cycles, else
        ``"rodas5-dense"`` for small networks or the W-method ``"ros34pw2"``); or any name of
        :data:`~neuralcrn.kinetics.METHODS` (``"tsit5"``, ``"kvaerno5"``, …).
    rtol, atol, max_steps, dt0:
        Step-size control tolerances, step limit (attempted steps), initial step (None:
        automatic).

    Returns
    -------
    Trajectory
        ``times`` ``(P,)``, ``concentrations`` ``(P, S)``.

    Raises
    ------
    SimulationError
        Bad times, initial values or solver options; the solver stopping early (step limit, step
        size underflow) or a non-finite state — the message says where and what to try.
    NetworkError
        Bad ``rate_constants``.

    Compilation: one per (S, bucketed R, q, number of stoichiometry entries and P, method,
    max_steps, dt0); new rate constants, initial values, times or tolerances reuse it, and so do other networks with S species and similar sizes (see
    :func:`device_structure`).
    """
    arrays = as_arrays(network)
    ts = time_grid(t_end, n_points, times)
    x = initial_state(arrays, x0)
    k = rate_vector(arrays, rate_constants)
    _check_solver_options(method, rtol, atol, max_steps, dt0)
    if arrays.n_reactions == 0 or arrays.n_species == 0 or ts[-1] == 0.0:
        return Trajectory(ts, np.tile(x, (len(ts), 1)), arrays.species, 0)
    structure = device_structure(arrays, pad=True)
    k = np.concatenate([k, np.zeros(structure.reactant_index.shape[0] - len(k))])
    P = len(ts)  # pad the save times by repeating the last one, to share compilations
    ts_padded = np.concatenate([ts, np.full(max(_bucket(P), _MIN_SAVES) - P, ts[-1])])
    method = choose_method(structure, arrays.n_species, method)
    plan = _plan(arrays, structure) if method in ROSENBROCK and ROSENBROCK[method][1] == "pairs" \
        else None
    sol = solve_jit(structure, k, x, ts_padded, method=method, rtol=float(rtol),
                    atol=float(atol), max_steps=int(max_steps),
                    dt0=None if dt0 is None else float(dt0), jacobian_plan=plan)
    status = int(sol.status)
    if status != STATUS_OK:
        raise SimulationError(_failure_message(sol, status, float(ts[-1]), x, arrays.species,
                                               method, max_steps))
    return Trajectory(ts, np.asarray(sol.ys)[:P], arrays.species, int(sol.num_steps))
