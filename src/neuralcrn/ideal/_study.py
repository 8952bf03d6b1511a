"""Measurement of the reconstruction error of the exact feedback phase (SPEC §2, last paragraph).

Integrating the dissipative forward dynamics backwards (dz/ds = −f) amplifies errors roughly like
exp(∫ φ'(z) ds). :func:`reconstruction_error_study` measures |z(s=T) − z(0)| and the agreement of the
explicit adjoint gradient with the autodiff reference over random parameters and inputs.
"""

from __future__ import annotations

import jax
import numpy as np

from ..errors import SimulationError
from .spec import ModelSpec
from ._model import init_params
from ._gradients import grad_adjoint, grad_autodiff, params_relative_error
from ._solver import SolverOptions

__all__ = ["reconstruction_error_study"]


def reconstruction_error_study(spec: ModelSpec, *, n_params: int = 5, n_inputs: int = 20,
                               seed: int = 0, scale: float = 1.0, h_scale: float = 1.0,
                               readout: str = "ones",
                               input_range: tuple[float, float] = (0.0, 1.0),
                               solvers: dict[str, SolverOptions] | None = None,
                               reference: SolverOptions | None = None) -> dict:
    """Reconstruction error and gradient agreement of the explicit adjoint for random models.

    For ``n_params`` random parameter sets (θ ~ N(0, scale²), h ~ N(0, h_scale²), W from
    ``readout`` as in :func:`init_params`, default W = 1) and ``n_inputs`` inputs x ~ U(input_range)^d with random 0/1 targets,
    run :func:`grad_adjoint` under each solver setting and compare with :func:`grad_autodiff` under
    ``reference`` (default rtol 1e-12, atol 1e-14).

    Returns
    -------
    ``{solver name: {"recon_err_max": max over samples of max_i |z(s=T) − z(0)|,
    "recon_err_rel": its maximum relative value, "recon_err_median": median of the per-sample max,
    "grad_rel_err_max" / "grad_rel_err_median": ‖G_adjoint − G_autodiff‖/‖G_autodiff‖,
    "steps_backward_max": most backward solver steps, "samples": successful samples,
    "failed": samples whose solve raised SimulationError (e.g. the backward reconstruction blew
    up), excluded from the statistics}}``. The autodiff reference itself must not fail.
    """
    if solvers is None:
        solvers = {"tight": SolverOptions(1e-10, 1e-12), "loose": SolverOptions(1e-6, 1e-8)}
    if reference is None:
        reference = SolverOptions(1e-12, 1e-14)
    rng = np.random.default_rng(seed)
    keys = jax.random.split(jax.random.PRNGKey(seed), n_params)
    rows = {name: {"err": [], "rel": [], "g": [], "steps": [], "failed": 0} for name in solvers}
    for k in range(n_params):
        params = init_params(spec, keys[k], scale, h_scale=h_scale, readout=readout)
        X = rng.uniform(*input_range, size=(n_inputs, spec.inputs))
        Y = rng.integers(0, 2, size=(n_inputs, spec.outputs)).astype(float)
        for x, y in zip(X, Y):
            _, g_ref = grad_autodiff(spec, params, x, y, solver=reference)
            for name, solver in solvers.items():
                try:
                    _, g, info = grad_adjoint(spec, params, x, y, solver=solver)
                except SimulationError:
                    rows[name]["failed"] += 1
                    continue
                rows[name]["err"].append(float(info["recon_err_max"]))
                rows[name]["rel"].append(float(info["recon_err_rel"]))
                rows[name]["g"].append(params_relative_error(g, g_ref))
                rows[name]["steps"].append(int(info["steps_backward"]))
    out = {}
    for name, r in rows.items():
        if not r["err"]:
            out[name] = {"samples": 0, "failed": r["failed"]}
            continue
        out[name] = {
            "recon_err_max": float(np.max(r["err"])),
            "recon_err_rel": float(np.max(r["rel"])),
            "recon_err_median": float(np.median(r["err"])),
            "grad_rel_err_max": float(np.max(r["g"])),
            "grad_rel_err_median": float(np.median(r["g"])),
            "steps_backward_max": int(np.max(r["steps"])),
            "samples": len(r["err"]),
            "failed": r["failed"],
        }
    return out
