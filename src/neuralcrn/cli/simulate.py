"""``neuralcrn simulate``: simulate a reaction network from a text, SBML or Antimony file."""

from __future__ import annotations

import click

from ._common import ODE_METHODS, fail_cleanly, parse_assignments
from ._group import main


STOCHASTIC = ("ssa", "tau-leap", "cle")

METHOD_OPTIONS = {"rtol": ODE_METHODS, "atol": ODE_METHODS, "max_steps": ODE_METHODS,
                  "volume": STOCHASTIC, "runs": STOCHASTIC, "seed": STOCHASTIC,
                  "tau": ("tau-leap",), "epsilon": ("tau-leap",), "dt": ("cle",),
                  "cle_rtol": ("cle",)}
"""Each method-specific option → the --method values that read it."""


def _check_method_options(ctx: click.Context, method: str) -> None:
    """An option typed on the command line that the chosen method does not read would be ignored
    without a word: refuse it (a usage error naming the option and the methods it is for)."""
    for name, methods in METHOD_OPTIONS.items():
        if method in methods or ctx.get_parameter_source(name) is not \
                click.core.ParameterSource.COMMANDLINE:
            continue
        flag = "--" + name.replace("_", "-")
        users = ("an ODE method (auto, rodas5, tsit5, ...)" if methods is ODE_METHODS
                 else "--method " + " / ".join(methods))
        raise click.UsageError(f"{flag} applies to {users}, not --method {method}", ctx)


@main.command("simulate")
@click.argument("model")
@click.option("--t-end", type=float, required=True, help="End time of the simulation (time units).")
@click.option("--points", type=click.IntRange(2, None), default=101, show_default=True,
              help="Number of equally spaced output times from 0 to T_END.")
@click.option("--csv", "csv_out", type=click.Path(dir_okay=False),
              help="Write a CSV: a 'time' column, then one column per species.")
@click.option("--plot", "plot_out", type=click.Path(dir_okay=False),
              help="Write a PNG plot of the concentration trajectories.")
@click.option("--set", "overrides", multiple=True, metavar="SPECIES=VALUE",
              help="Override an initial concentration (repeatable).")
@click.option("--method", type=click.Choice(ODE_METHODS + ("ssa", "tau-leap", "cle")),
              default="auto", show_default=True,
              help="auto: Rosenbrock ODE solver with the analytic Jacobian, chosen from the "
                   "network (stiff-proof); rodas5, ros34pw2, ...: a given ODE method (tsit5: "
                   "explicit); ssa: exact stochastic simulation (Gillespie); tau-leap: "
                   "approximate stochastic (counts); cle: chemical Langevin equation "
                   "(docs/stochastic.md).")
@click.option("--rtol", type=float, default=1e-8, show_default=True, help="ODE relative tolerance.")
@click.option("--atol", type=float, default=1e-10, show_default=True, help="ODE absolute tolerance.")
@click.option("--max-steps", type=click.IntRange(1, None), default=200_000, show_default=True,
              help="ODE solver step limit.")
@click.option("--volume", type=float,
              help="Stochastic methods: Ω, molecules per unit concentration [SBML: compartment "
                   "size × molecules per substance unit; otherwise 100].")
@click.option("--tau", type=float, help="tau-leap: fixed leap length [adaptive].")
@click.option("--epsilon", type=float, default=0.03, show_default=True,
              help="tau-leap: relative-change bound of the adaptive leap.")
@click.option("--dt", type=float, default=1e-2, show_default=True,
              help="cle: largest time step.")
@click.option("--cle-rtol", type=float, default=1e-3, show_default=True,
              help="cle: relative tolerance of the drift's adaptive steps (0: fixed steps).")
@click.option("--runs", type=click.IntRange(1, None), default=1, show_default=True,
              help="Stochastic methods: number of independent runs (CSV holds the mean).")
@click.option("--seed", type=int, default=0, show_default=True, help="Stochastic methods: seed.")
@fail_cleanly
def simulate_cmd(model, t_end, points, csv_out, plot_out, overrides, method, rtol, atol, max_steps,
                 volume, tau, epsilon, dt, cle_rtol, runs, seed):
    """Simulate MODEL (a .crn text file, SBML .xml, Antimony .ant, or a bundled example name such
    as 'neuron') from time 0 to T_END and report the final concentrations.

    Mass action with rate = k·Π[X]^ν (no 1/ν! factor; see the README).
    """
    import numpy as np

    import dataclasses

    from ..chemistry.io import is_sbml_path, load_network
    from ..errors import NeuralCRNError

    if not (t_end > 0 and np.isfinite(t_end)):
        raise NeuralCRNError(f"--t-end must be a finite number > 0, got {t_end}")
    _check_method_options(click.get_current_context(), method)
    stochastic = method in STOCHASTIC
    imported = None
    if is_sbml_path(model):
        from ..chemistry.sbml import import_sbml
        imported = import_sbml(model)
        net = imported.network
        for rid in imported.falling_factorial:
            click.echo(f"note: the law of reaction {rid!r} is the stochastic propensity "
                       f"c·X(X−1)…; " + ("it is simulated exactly" if stochastic else
                                          "the ODE uses its large-number limit c·X^ν"), err=True)
    else:
        net = load_network(model)
    if overrides:
        net = net.with_initial(parse_assignments(overrides, net.species))
        if imported is not None:
            imported = dataclasses.replace(imported, network=net)
    times = np.linspace(0.0, t_end, points)
    if method in ODE_METHODS:
        from ..kinetics import simulate
        traj = simulate(net, times=times, method=method, rtol=rtol, atol=atol, max_steps=max_steps)
        conc, runs_conc = traj.concentrations, traj.concentrations
    else:
        from ..kinetics import simulate_ssa
        source = imported if imported is not None and volume is None else net
        st = simulate_ssa(source, t_end, points, volume=100.0 if source is net and volume is None
                          else volume, n_runs=runs, seed=seed, method=method, tau=tau,
                          epsilon=epsilon, dt=dt, rtol=cle_rtol)
        click.echo(f"{method}: Ω = {st.volume:.6g} molecules per unit concentration, {runs} "
                   f"run{'s' if runs > 1 else ''}, mean {st.num_events.mean():.4g} "
                   f"{'steps' if method == 'cle' else 'events'} per run", err=True)
        runs_conc = np.asarray(st.concentrations)
        conc = runs_conc.mean(axis=0)
    _report(net, conc[-1], t_end)
    if csv_out:
        from pathlib import Path

        from ..kinetics import write_trajectory_csv
        Path(csv_out).parent.mkdir(parents=True, exist_ok=True)
        write_trajectory_csv(csv_out, times, conc, net.species)
        click.echo(f"wrote {csv_out}", err=True)
    if plot_out:
        from ..plots import plot_trajectory
        title = f"{net.name or model}: {method}" + (f", {runs} runs" if runs > 1 and stochastic else "")
        plot_trajectory(times, runs_conc, net.species, plot_out, title=title)
        click.echo(f"wrote {plot_out}", err=True)


def _report(net, final, t_end):
    s = net.summary()
    click.echo(f"{net.name or 'network'}: {s['species']} species, {s['reactions']} reactions, "
               f"max molecularity {s['max_molecularity']}")
    click.echo(f"concentrations at t = {t_end:g}:")
    width = max((len(x) for x in net.species), default=7)
    for name, v in zip(net.species, final):
        click.echo(f"  {name:<{width}}  {v:.6g}")
