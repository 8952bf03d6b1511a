"""``neuralcrn robustness``: sweep volume, rate-constant error, leak and wash residual on dask."""

from __future__ import annotations

import click

from ._common import fail_cleanly
from ._group import main


def _numbers(text, name, *, integer=False):
    """``"0 0.1 0.2"`` or ``"0,0.1,0.2"`` → tuple of floats (a clear error naming the option)."""
    from ..errors import DataError
    if text is None:
        return ()
    out = []
    for tok in text.replace(",", " ").split():
        try:
            out.append(float(tok))
        except ValueError:
            raise DataError(f"--{name}: {tok!r} is not a number") from None
    if not out:
        raise DataError(f"--{name}: give one or more numbers")
    return tuple(out)


@main.command("robustness")
@click.argument("task")
@click.option("--volumes", help="Ω values (space or comma separated) for stochastic training; "
                                "the ODE point is always included [none: ODE only].")
@click.option("--rate-noise", help="σ values of the rate-constant error k·exp(σ·N(0,1)) [0].")
@click.option("--leak", help="λ values in [0, 1) of the leak of every catalytic production [0].")
@click.option("--wash", help="w values in [0, 1): fraction of each transient species surviving "
                             "the wash [0].")
@click.option("--replicates", type=click.IntRange(1, None), default=5, show_default=True,
              help="Runs per point (seeds 0..K−1: data, initial parameters, order and circuit "
                   "instance).")
@click.option("--kinetics", type=click.Choice(["ssa", "tau-leap", "cle"]), default="ssa",
              show_default=True, help="Stochastic method of the --volumes points.")
@click.option("--epochs", type=click.IntRange(0, None), help="Epochs per run [task default].")
@click.option("--signal-annihilation", type=click.FloatRange(0, None), default=0.0,
              show_default=True,
              help="Two-phase circuit: k of V⁺ + V⁻ → ∅ for the readout, error and adjoint "
                   "rails (0 = the default circuit; docs/robustness.md: the robust design).")
@click.option("--sign-routing", type=click.FloatRange(0, None), default=0.0,
              show_default=True,
              help="Two-phase circuit: k of the routed update (phases error | update; ΔW takes "
                   "the signs of e and z through run-to-completion transfers; 0 = the direct feedback "
                   "phase; docs/robustness.md: the robust design).")
@click.option("--adjoint-routing", type=click.FloatRange(0, None), default=0.0,
              show_default=True,
              help="With --sign-routing: k of the routed hidden update (a fourth phase "
                   "hidden_update; ΔΘ and Δh take the sign of the adjoint through "
                   "run-to-completion transfers; 0 = made in the update phase).")
@click.option("--workers", type=click.IntRange(1, None), default=2, show_default=True,
              help="Worker processes of the local dask cluster.")
@click.option("--scheduler", help="Address of an existing dask scheduler (tcp://HOST:8786) "
                                  "instead of a local cluster.")
@click.option("--out", type=click.Path(file_okay=False),
              help="Study folder [runs/robustness-TASK]. Rerunning resumes it.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@fail_cleanly
def robustness_cmd(task, volumes, rate_noise, leak, wash, replicates, kinetics, epochs,
                   signal_annihilation, sign_routing, adjoint_routing, workers, scheduler, out,
                   quiet):
    """Train TASK at every point of the swept axes and write a study folder.

    Each axis takes a list of values; the study is their product times --replicates runs. The
    folder gets runs.csv (a row per run, appended as each finishes), summary.json/.csv (mean and
    95 % interval per point, the breaking points where accuracy falls below 90 %, Ω₅₀/Ω₉₉) and
    plots against Ω, σ, λ and w. Points run as dask.distributed tasks (pip install -e
    ".[distributed]"). Rerun the same command to resume: finished points are skipped.
    """
    from ..errors import DataError
    from ..plots import plot_robustness
    from ..studies import run_study, study_points
    from ..tasks import get_task

    get_task(task)                                   # an unknown task fails here, clearly
    axes = {"volumes": _numbers(volumes, "volumes"),
            "rate_noise": _numbers(rate_noise, "rate-noise") or (0.0,),
            "leak": _numbers(leak, "leak") or (0.0,),
            "wash_residual": _numbers(wash, "wash") or (0.0,)}
    if any(v <= 0 for v in axes["volumes"]):
        raise DataError(f"--volumes: Ω must be > 0, got {axes['volumes']}")
    points = study_points(task, volumes=axes["volumes"], rate_noise=axes["rate_noise"],
                          leak=axes["leak"], wash_residual=axes["wash_residual"],
                          replicates=replicates, kinetics=kinetics, epochs=epochs,
                          signal_annihilation=signal_annihilation, sign_routing=sign_routing,
                          adjoint_routing=adjoint_routing)
    out = out or f"runs/robustness-{task}"
    definition = {"format": "neuralcrn-robustness/1", "task": task, **axes,
                  "replicates": replicates, "kinetics": kinetics, "epochs": epochs,
                  "signal_annihilation": signal_annihilation, "sign_routing": sign_routing,
                  **({"adjoint_routing": adjoint_routing} if adjoint_routing else {}),
                  "points": len(points)}
    click.echo(f"{len(points)} runs ({len(points) // replicates} points × {replicates} "
               f"replicates) → {out}")
    summary = run_study(points, out, workers=workers, scheduler=scheduler, progress=not quiet,
                        definition=definition)
    plots = plot_robustness(summary, out) if summary.get("points") else []
    for line in summary_lines(summary):
        click.echo(line)
    click.echo(f"wrote {out}/runs.csv, summary.json, summary.csv"
               + (", " + ", ".join(plots) if plots else ""))


def summary_lines(summary: dict) -> list[str]:
    """The summary table as text lines: one per point, then the breaking points."""
    acc = summary.get("metric") == "accuracy"
    f = (lambda v: "—" if v is None else f"{100 * v:.1f} %") if acc else \
        (lambda v: "—" if v is None else f"{v:.4g}")
    lines = [f"{'kinetics':>9s} {'Ω':>8s} {'σ':>6s} {'λ':>7s} {'w':>6s} {'n':>3s} "
             f"{'mean':>9s} {'95 % interval':>21s}"]
    for p in summary.get("points", []):
        t = p.get("test") or {}
        ci = (f"[{f(t.get('lo95'))}, {f(t.get('hi95'))}]" if t.get("lo95") is not None else "")
        vol = "—" if p["volume"] is None else f"{p['volume']:g}"
        div = f"  ({p['diverged']} diverged)" if p.get("diverged") else ""
        lines.append(f"{p['kinetics']:>9s} {vol:>8s} {p['rate_noise']:>6g} {p['leak']:>7g} "
                     f"{p['wash_residual']:>6g} {p['n']:>3d} {f(t.get('mean')):>9s} {ci:>21s}"
                     f"{div}")
    names = {"rate_noise": "σ", "leak": "λ", "wash_residual": "w", "volume": "Ω"}
    for axis, b in (summary.get("breaking") or {}).items():
        if b.get("value") is None:
            continue
        how = {"interpolated": "falls below 90 % at", "below": "already below 90 % at",
               "above": "stays ≥ 90 % up to"}.get(b["bound"], b["bound"])
        if axis == "volume":
            how = {"interpolated": "falls below 90 % (going down) at",
                   "above": "stays ≥ 90 % down to"}.get(b["bound"], how)
        lines.append(f"breaking point: mean accuracy {how} {names[axis]} = {b['value']:.4g}")
    vol = summary.get("volume")
    if vol:
        for k in ("omega50", "omega99"):
            if vol.get(k):
                lines.append(f"{'Ω₅₀' if k == 'omega50' else 'Ω₉₉'} = {vol[k]['value']:.4g} "
                             f"({vol[k]['bound']})")
    if summary.get("errors"):
        lines.append(f"{len(summary['errors'])} point(s) failed with an error (recorded in "
                     f"runs.csv; rerun to retry): {summary['errors'][0]['error'][:200]}")
    return lines
