"""``neuralcrn bench``: run the benchmark suite, print the tables and write the JSON results."""

from __future__ import annotations

import click

from ._common import fail_cleanly
from ._group import main

_NAMES = ("feedforward", "solvers", "scaling", "floor", "training",
          "stochastic")  # = neuralcrn.bench.BENCHMARKS


@main.command("bench")
@click.option("--quick", is_flag=True,
              help="Smoke run: small sizes, 2 repeats, 1 training epoch (well under a minute "
                   "of benchmarking; numbers are not the documented ones).")
@click.option("--core", is_flag=True,
              help="Only what the targets need, with fewer repeats (for a busy machine; "
                   "BenchConfig.core_config): feedforward, solvers, scaling, training unless "
                   "--only says otherwise.")
@click.option("--out", type=click.Path(dir_okay=False), default="bench.json", show_default=True,
              help="Write the results (times, ratios, counts, targets) to this JSON file "
                   "(atomically).")
@click.option("--only", "only", multiple=True, type=click.Choice(_NAMES),
              help="Run only this benchmark (repeatable).")
@click.option("--repeats", type=click.IntRange(1, None),
              help="Warmed runs per timing (the median is reported) [5; --quick 2].")
@click.option("--no-roadrunner", is_flag=True, help="Leave libroadrunner out of the comparison.")
@click.option("--markdown", type=click.Path(dir_okay=False),
              help="Also write the measured tables as Markdown (for the README).")
@click.option("--max-load", type=float,
              help="Before each benchmark, wait (up to 30 min) until the 1-minute load average "
                   "is below this (timings on a busy machine are not comparable).")
@fail_cleanly
def bench_cmd(quick, core, out, only, repeats, no_roadrunner, markdown, max_load):
    """Benchmark neuralcrn, side by side, on the same compiled circuits in one process.

    feedforward: one feedforward phase by neuralcrn, scipy LSODA and libroadrunner (ratios and
    final-state differences). solvers: steps, time and error of each ODE method on both phases of
    the paper's XOR circuit at k_ann = 1e2 ... 1e6. scaling: time per training step vs d.
    floor: rhs evaluations × cost per evaluation vs the solve. training: full chemical training of
    the paper's XOR configuration and --replicates 32 vs one run. stochastic: the XOR training
    circuit's steps by the ODE, the exact SSA (firings/s), tau-leaping and the CLE.
    Compile time is reported apart from run time; every timing is the median of warmed runs.
    """
    from ..bench import BenchConfig, format_markdown, format_report, run_benchmarks, write_json

    kw = {}
    if repeats is not None:
        kw["repeats"] = repeats
    if no_roadrunner:
        kw["roadrunner"] = False
    if max_load is not None:
        kw["max_load"] = max_load
    if quick and core:
        raise click.UsageError("--quick and --core exclude each other")
    config = (BenchConfig.quick_config(**kw) if quick else BenchConfig.core_config(**kw) if core
              else BenchConfig.full(**kw))
    if core and not only:
        only = ("feedforward", "solvers", "scaling", "training")
    results = run_benchmarks(config, only=tuple(only) or None,
                             log=lambda m: click.echo(m, err=True))
    click.echo(format_report(results), nl=False)
    write_json(results, out)
    click.echo(f"wrote {out}")
    if markdown:
        from ..chemistry._atomic import write_text_atomic
        write_text_atomic(markdown, format_markdown(results))
        click.echo(f"wrote {markdown}")
