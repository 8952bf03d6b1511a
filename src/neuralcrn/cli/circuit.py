"""``neuralcrn circuit``: compile a Neural CRN and write it as text, SBML, Antimony, Catalyst.jl,
BNGL or Visual DSD."""

from __future__ import annotations

import click

from ._common import fail_cleanly
from ._group import main

# option name -> ModelSpec field (options that map one-to-one onto the spec)
_SPEC_OPTIONS = {
    "inputs": "inputs", "outputs": "outputs", "hidden": "hidden", "drive": "drive",
    "augment_count": "augment_count", "augment_value": "augment_value", "z0": "z0",
    "theta": "theta", "nonlinearity": "nonlinearity", "alpha": "alpha", "horizon": "T",
    "gradient": "gradient", "learning_rate": "learning_rate",
}


def _task_spec(name: str):
    """The default ModelSpec of task ``name`` (DataError naming the known tasks otherwise)."""
    from ..tasks import get_task
    return get_task(name).model_spec


def _build_spec(ctx, opts):
    from ..ideal.spec import ChemistryRates, ModelSpec
    src = click.core.ParameterSource
    given = {k for k in opts if ctx.get_parameter_source(k) == src.COMMANDLINE}
    fields = {_SPEC_OPTIONS[k]: opts[k] for k in _SPEC_OPTIONS if k in given}
    if opts["no_train_h"]:
        fields["train_h"] = False
    if opts["no_train_w"]:
        fields["train_W"] = False
    rates = {}
    for opt, field in (("k_ann", "annihilation"), ("k_readout", "readout"), ("k_update", "update")):
        if opts[opt] is not None:
            rates[field] = opts[opt]
    if opts["task"]:
        spec = _task_spec(opts["task"])
        if rates:
            fields["rates"] = ChemistryRates(**{**spec.rates.__dict__, **rates})
        return spec.replace(**fields) if fields else spec
    base = {k: opts[k2] for k2, k in _SPEC_OPTIONS.items() if opts[k2] is not None}
    base.update(fields)
    base.setdefault("inputs", 2)
    if "z0" not in base:
        base["z0"] = "drive" if base.get("drive", "augment") == "augment" else "zero"
    if rates:
        base["rates"] = ChemistryRates(**rates)
    return ModelSpec(**base)


def _render(circuit, network, fmt: str, whole: bool) -> str:
    import neuralcrn.chemistry as chemistry
    from ..chemistry.io import WRITERS
    if fmt == "text" and whole:
        from ..compiler import (MinimalSpecies, circuit_text, is_two_phase, minimal_program,
                                step_program)
        if isinstance(circuit.species_map, MinimalSpecies):
            program = minimal_program(circuit)
        else:
            program = step_program(circuit, "two-phase" if is_two_phase(circuit)
                                   else "modular")
        return circuit_text(circuit, program=program)
    return getattr(chemistry, WRITERS[fmt])(network)


def _table(circuit) -> str:
    rows = circuit.summary()
    lines = [f"{'module':<14} {'species':>8} {'reactions':>10} {'max molec.':>10} "
             f"{'duration':>10}  {'reaction ids':<14}"]
    for r in rows:
        if r["module"] == "total":
            ids = f"R1-R{circuit.network.n_reactions}"
        else:
            a, b = circuit.reaction_range(r["module"])
            ids = f"R{a + 1}-R{b}" if b > a else "-"
        flag = "  trimolecular" if r["trimolecular"] else ""
        lines.append(f"{r['module']:<14} {r['species']:>8d} {r['reactions']:>10d} "
                     f"{r['max_molecularity']:>10d} {r['duration']:>10.4g}  {ids:<14}{flag}")
    return "\n".join(lines)


_MINIMAL_OPTIONS = {"inputs": "inputs", "horizon": "T", "learning_rate": "learning_rate",
                    "augment_value": "augment_value"}


def _minimal_circuit(ctx, opts):
    """The minimal circuit (``--minimal``): the task's minimal model, or one with ``--inputs``;
    the parameters are drawn like the others' (θ ~ N(0, 1) on the diagonal, h = 0, W = 1)."""
    import dataclasses

    from ..compiler import compile_minimal, minimal_spec
    from ..errors import SpecError
    from ..ideal import init_params
    src = click.core.ParameterSource
    given = {k for k in opts if ctx.get_parameter_source(k) == src.COMMANDLINE}
    bad = given - set(_MINIMAL_OPTIONS) - {"minimal", "task", "k_ann", "seed", "fmt",
                                           "module_name", "out"}
    if bad:
        raise SpecError(f"--minimal builds a fixed model family; {', '.join(sorted(bad))} "
                        f"cannot be combined with it")
    if opts["task"]:
        from ..tasks import get_task
        from ..training._minimal import task_minimal_spec
        spec = task_minimal_spec(get_task(opts["task"]))
    else:
        spec = minimal_spec(opts["inputs"] or 2)
    spec = spec.replace(**{f: opts[o] for o, f in _MINIMAL_OPTIONS.items() if o in given})
    if opts["k_ann"] is not None:
        spec = spec.replace(rates=dataclasses.replace(spec.rates, annihilation=opts["k_ann"]))
    p = init_params(spec, opts["seed"])
    return compile_minimal(spec, p._replace(h=p.h * 0, W=p.W * 0 + 1))


@main.command("circuit")
@click.option("--task", help="Take the model from a named task (explicit model options override).")
@click.option("--inputs", type=click.IntRange(1, None), help="d, input dimension [2].")
@click.option("--outputs", type=click.IntRange(1, None), help="m, output dimension [1].")
@click.option("--hidden", type=click.IntRange(1, None),
              help="n, hidden width (drive 'bias'; 'augment' uses d + a).")
@click.option("--drive", type=click.Choice(["augment", "bias"]),
              help="u = (x, c·1_a) ('augment', default) or u = (x, 1) ('bias').")
@click.option("--augment-count", type=click.IntRange(0, None), help="a, augmentation entries [1].")
@click.option("--augment-value", type=float, help="c, augmentation value [1.0].")
@click.option("--z0", type=click.Choice(["drive", "zero"]),
              help="z(0) = u ('drive') or 0 ('zero'); default 'drive' for augment, 'zero' for bias.")
@click.option("--theta", type=click.Choice(["full", "diagonal"]), help="Θ full or diagonal [full].")
@click.option("--nonlinearity", type=click.Choice(["none", "quadratic", "cubic"]),
              help="φ: none, quadratic α z|z| or cubic α z³ [quadratic].")
@click.option("--alpha", type=float, help="α, decay strength [1.0].")
@click.option("--T", "horizon", type=float, help="T, forward / feedback phase length [1.0].")
@click.option("--gradient", type=click.Choice(["exact", "first-order"]),
              help="Feedback circuit: exact adjoint or first-order [exact].")
@click.option("--learning-rate", type=float, help="η, SGD step in (0, 1] [0.1].")
@click.option("--no-train-h", is_flag=True, help="Freeze the bias h (no gradient / update).")
@click.option("--no-train-W", "no_train_w", is_flag=True, help="Freeze the readout W.")
@click.option("--k-ann", type=float, help="Annihilation rate constant [1e4].")
@click.option("--k-readout", type=float, help="Readout / error transfer rate constant [100].")
@click.option("--k-update", type=float, help="Update rate constant [100].")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed of the random parameter values (Θ ~ N(0,1), h = 0, W = 1) loaded as "
                   "initial concentrations.")
@click.option("--schedule", type=click.Choice(["modular", "two-phase"]), default="modular",
              show_default=True,
              help="Modules of the modular schedule, or the two-phase circuit that "
                   "'neuralcrn train' runs (feedforward | feedback; first-order gradient).")
@click.option("--minimal", is_flag=True,
              help="The minimal circuit of a linear model with non-negative inputs (with --task "
                   "linear-regression: 10 species, 13 reactions); --inputs, --T, "
                   "--learning-rate, --augment-value and --k-ann may be given.")
@click.option("--format", "fmt",
              type=click.Choice(["text", "sbml", "antimony", "catalyst", "bngl", "dsd"]),
              default="text", show_default=True,
              help="Output format: our text format, SBML, Antimony, Catalyst.jl source, "
                   "BioNetGen BNGL or Visual DSD / crn-engine (rate constants converted where "
                   "the tool divides by n!).")
@click.option("--module", "module_name",
              type=click.Choice(["feedforward", "readout_error", "adjoint_init", "feedback",
                                 "update"]),
              help="Write only this module instead of the whole circuit.")
@click.option("--out", type=click.Path(dir_okay=False), help="Output file [stdout].")
@click.pass_context
@fail_cleanly
def circuit_cmd(ctx, **opts):
    """Compile a Neural CRN (SPEC §3) and write the whole circuit (or one module).

    Prints a table of the modules — species, reactions, maximum molecularity, phase duration and
    the reaction ids (R1, R2, … as in the SBML/Antimony export) — to stderr when the circuit goes to
    stdout, else to stdout.
    """
    from ..compiler import compile_circuit, compile_two_phase
    from ..errors import SpecError
    from ..ideal import init_params

    if opts["minimal"]:
        circuit = _minimal_circuit(ctx, opts)
    else:
        spec = _build_spec(ctx, opts)
        two_phase = opts["schedule"] == "two-phase"
        if two_phase and opts["gradient"] is None and opts["task"] is None:
            spec = spec.replace(gradient="first-order")
        params = init_params(spec, opts["seed"])
        circuit = (compile_two_phase if two_phase else compile_circuit)(spec, params)
    name = opts["module_name"]
    if name is not None and name not in circuit.module_names:
        raise SpecError(f"--module {name}: the {opts['schedule']} circuit has the modules "
                        f"{', '.join(circuit.module_names)}")
    network = circuit.network if name is None else circuit.module(name)
    if name is not None:
        init = circuit.network.initial_concentrations
        network = network.with_initial({s: init[s] for s in network.species})
    text = _render(circuit, network, opts["fmt"], whole=name is None)
    table = _table(circuit)
    if circuit.trimolecular:
        table += "\nnote: the cubic model needs trimolecular reactions (3Z -> 2Z, A + 2Z -> 2Z)"
    out = opts["out"]
    if out:
        from ..chemistry._atomic import write_text_atomic
        write_text_atomic(out, text)
        click.echo(table)
        click.echo(f"wrote {out}")
    else:
        click.echo(text, nl=False)
        click.echo(table, err=True)
