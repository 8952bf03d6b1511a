"""Plain-text tables of benchmark results (what ``neuralcrn bench`` prints)."""

from __future__ import annotations

__all__ = ["format_report", "format_markdown", "fmt_time"]


def fmt_time(x) -> str:
    """Seconds in a readable unit (``—`` for ``None``)."""
    if x is None:
        return "—"
    x = float(x)
    if x >= 100:
        return f"{x:.0f} s"
    if x >= 1:
        return f"{x:.2f} s"
    if x >= 1e-3:
        return f"{x * 1e3:.2f} ms"
    return f"{x * 1e6:.1f} µs"


def _ratio(x) -> str:
    return "—" if x is None else f"{x:.2f}"


def _table(head: list[str], rows: list[list[str]]) -> str:
    w = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(head)]
    line = lambda cells: "  ".join(c.ljust(w[i]) for i, c in enumerate(cells)).rstrip()  # noqa
    return "\n".join([line(head), line(["-" * x for x in w])] + [line(r) for r in rows])


def _feedforward(ff: dict) -> str:
    parts = []
    for c in ff["circuits"]:
        ph, tol = c["phase"], c["tolerances"]
        parts.append(
            f"Feedforward phase of {c['circuit']} (T = {ph['T']:g}, rtol {tol['rtol']:g}, atol "
            f"{tol['atol']:g}; neuralcrn = {ph.get('method')} (k_max·T = "
            f"{ph.get('stiffness_number', 0):.3g}); same loaded state; phase as training "
            f"integrates it: "
            f"{ph['species']} species, {ph['active_reactions']} reactions (union "
            f"{ph['union_reactions']}); module network {ph['module_species']} species / "
            f"{ph['module_reactions']} reactions)")
        rows = []
        for name, s in c["solvers"].items():
            if "skipped" in s:
                rows.append([name, "skipped: " + s["skipped"], "", "", "", "", "", ""])
                continue
            prep = s.get("compile_s", s.get("load_s"))
            prep_kind = "compile" if "compile_s" in s else ("load" if "load_s" in s else "")
            per = s.get("per_solve_s")
            med = s["median_s"]
            key = f"{name}/neuralcrn"
            ratio = c["ratios"].get(key, c["ratios"].get(f"{name}_per_solve/neuralcrn"))
            if name == "neuralcrn":
                ratio = 1.0
            agree = c["agreement"].get(name, {}).get("rel_diff")
            if name in ("neuralcrn_vmap", "neuralcrn_stacked"):
                agree = s.get("rel_diff_vs_separate")
            note = ""
            if "num_steps" in s:
                note = f"{s.get('method', '')}, {s['num_steps']} steps".lstrip(", ")
            if "nfev" in s:
                note = f"{s['nfev']} f-evals, {s['njev']} Jacobians"
            if name == "neuralcrn_vmap":
                note = f"batch {s['batch']}, lane steps max {s['lane_steps_max']}"
            if name == "neuralcrn_stacked":
                note = f"batch {s['batch']}, {s['num_steps']} shared steps"
            err = c.get("error", {}).get(name)
            rows.append([name, f"{fmt_time(prep)} {prep_kind}".strip() if prep else "—",
                         fmt_time(s.get("first_s")),
                         fmt_time(med) + (f" ({fmt_time(per)}/solve)" if per else ""),
                         _ratio(ratio), "—" if agree is None else f"{agree:.1e}",
                         "—" if err is None else f"{err:.1e}", note])
        parts.append(_table(["solver", "compile/load", "first", "median", "x/neuralcrn",
                             "rel. diff", "error", "notes"], rows))
    return "\n\n".join(parts)


def _scaling(sc: dict) -> str:
    s = sc["solver"]
    head = (f"Time per training step vs d (first-order, two-phase, drive 'bias', hidden n = "
            f"{sc['hidden']}; solver {s['method']} rtol {s['rtol']:g} atol {s['atol']:g}; "
            f"one compiled epoch of K samples / K)")
    rows = []
    for r in sc["rows"]:
        st = r["solver_steps"]
        rows.append([str(r["d"]), str(r["n"]), str(r["parameters"]), str(r["species"]),
                     str(r["reactions"]), "/".join(str(v) for v in st.values()),
                     fmt_time(r["timing"]["compile_s"]), fmt_time(r["per_step_s"]),
                     fmt_time(r["per_solver_step_s"])])
    t = _table(["d", "n", "params", "species", "reactions", "solver steps ff/fb", "compile",
                "per step", "per solver step"], rows)
    if "slope_time_vs_d" in sc:
        t += (f"\ngrowth exponents (log-log slopes): time vs d {sc['slope_time_vs_d']:.2f}, "
              f"time vs reactions {sc['slope_time_vs_reactions']:.2f}, reactions vs d "
              f"{sc['slope_reactions_vs_d']:.2f}, solver steps vs d "
              f"{sc['slope_solver_steps_vs_d']:.2f}, time per solver step vs d "
              f"{sc['slope_time_per_solver_step_vs_d']:.2f}")
    return head + "\n" + t


def _floor(fl: dict) -> str:
    rows = []
    for c in fl["cases"]:
        st = c["stiffness"]
        cost = c["rhs_cost"]
        rows.append([c["circuit"], c["phase"], c.get("method", ""),
                     f"{c['num_steps']} ({c['accepted_steps']}/{c['rejected_steps']})",
                     str(c["rhs_evaluations"]), fmt_time(cost["per_eval_s"]),
                     fmt_time(cost.get("jacobian_s")), fmt_time(cost.get("linear_solve_s")),
                     fmt_time(c["floor_s"]), fmt_time(c["solve"]["median_s"]),
                     f"{c['overhead_ratio']:.2f}", f"{st['spectral_radius_end']:.3g}",
                     f"{st['min_stable_steps']:.0f}"])
    head = ("Floor: rhs evaluations (counted) × cost of one + steps × (Jacobian + stages × linear "
            "solve), each cost from a jitted loop, vs the solve (rtol 1e-8, atol 1e-10)")
    return head + "\n" + _table(["circuit", "phase", "method", "steps (acc/rej)", "rhs evals",
                                 "per eval", "Jacobian", "lin. solve", "floor", "solve",
                                 "solve/floor", "ρ(J) end", "T·ρ/β steps"], rows)


def _solvers_rows(so: dict, rtol: float) -> tuple[list[str], list[list[str]]]:
    """One row per (phase, k_ann) at tolerance ``rtol``: per method "steps / time / error"."""
    methods = list(dict.fromkeys(r["method"] for r in so["rows"]))
    rows = []
    keys = list(dict.fromkeys((r["phase"], r["annihilation"]) for r in so["rows"]))
    for phase, k in keys:
        cells = [phase, f"{k:g}"]
        for m in methods:
            r = next((r for r in so["rows"] if r["phase"] == phase and r["annihilation"] == k
                      and r["rtol"] == rtol and r["method"] == m), None)
            if r is None:
                cells.append("")
            elif "skipped" in r:
                cells.append("stiff: skipped")
            else:
                name = f"{r['resolved']}: " if m == "auto" else ""
                cells.append(f"{name}{r['num_steps']} / {fmt_time(r['median_s'])} / "
                             f"{r['error']:.0e}" + ("" if r["status"] == 0 else " FAILED"))
        rows.append(cells)
    return ["phase", "k_ann"] + methods, rows


def _solvers(so: dict) -> str:
    parts = []
    for rtol in sorted({r["rtol"] for r in so["rows"]}, reverse=True):
        atol = next(r["atol"] for r in so["rows"] if r["rtol"] == rtol)
        head, rows = _solvers_rows(so, rtol)
        parts.append(f"ODE methods on the paper XOR phases (rtol {rtol:g}, atol {atol:g}): "
                     f"steps / median time / error vs {so['reference']}\n" + _table(head, rows))
    return "\n\n".join(parts)


def _training_rows(run: dict) -> list[list[str]]:
    """Rows (label, samples × epochs, wall, setup, compile, epochs, evaluation, per epoch, per
    step) of one circuit's training runs."""
    rows = []
    labels = [("single", "cold"), ("warm", "second run"), ("evaluated", "eval every epoch"),
              ("cached", "new process, compilation cache warm")]
    if "replicates" in run:
        labels.append(("replicates", f"--replicates {run['replicates']['replicates']}"))
    for key, label in labels:
        r = run.get(key)
        if r is None:
            continue
        t = r["timings"]
        if key == "single" and not t.get("compile_epoch"):
            label = "first run (same shapes: epoch already compiled)"
        rows.append([f"{run['circuit']} {label}", f"{r['samples']} × {r['epochs']}",
                     fmt_time(r["wall_s"]), fmt_time(t["setup"]), fmt_time(t["compile"]),
                     fmt_time(t["train"]), fmt_time(t["evaluate"]),
                     fmt_time(r["per_epoch_train_s"]), fmt_time(r["per_step_s"])])
    return rows


def _ratios(run: dict) -> str:
    return ", ".join(f"{k.replace('_', ' ')} {v:.2f}×" for k, v in run["ratios"].items()
                     if v is not None)


def _final(run: dict) -> str:
    m = run["single"].get("final_metrics") or {}
    return ", ".join(f"{k} {v['mean']:.4g}" for k, v in m.items())


def _robust_md(circuit: dict, name: str) -> str:
    r = circuit.get("robust_ratios", {}).get(f"{name}/neuralcrn")
    return "" if r is None else f"; fastest ×{r['min']:.2f}, CPU ×{r['cpu']:.2f}"


def _training(tr: dict) -> str:
    runs = tr["runs"]
    s0 = runs[0]["solver"]
    lines = [f"Chemical training of the paper's XOR model (xor task samples on the raw box "
             f"[0, 1]², two-phase, solver {s0['method']} rtol {s0['rtol']:g} atol "
             f"{s0['atol']:g}; chemical test-grid evaluation off)"]
    rows = [r for run in runs for r in _training_rows(run)]
    lines.append(_table(["run", "samples × epochs", "wall", "setup", "compile", "epochs",
                         "evaluation", "per epoch", "per step"], rows))
    for run in runs:
        if "ratios" in run:
            lines.append(f"{run['circuit']} replicates / single: " + _ratios(run))
        lines.append(f"{run['circuit']} (k_ann = {run['annihilation']:g}) final metrics: "
                     + _final(run))
    return "\n".join(lines)


def format_report(results: dict) -> str:
    """All tables of ``results`` plus the targets, as text."""
    b = results.get("benchmarks", {})
    la = results.get("load_average", {})
    parts = [f"neuralcrn bench{' --quick' if results.get('config', {}).get('quick') else ''} — "
             f"{results['machine']['cpu_count']} CPUs, jax {results['versions']['jax']} "
             f"({results['machine']['jax_backend']}); load average start {la.get('start')}, "
             f"end {la.get('end')}"]
    if "feedforward" in b:
        parts.append(_feedforward(b["feedforward"]))
    if "solvers" in b:
        parts.append(_solvers(b["solvers"]))
    if "scaling" in b:
        parts.append(_scaling(b["scaling"]))
    if "floor" in b:
        parts.append(_floor(b["floor"]))
    if "training" in b:
        parts.append(_training(b["training"]))
    if "stochastic" in b:
        from ._stochastic import format_stochastic
        parts.append(format_stochastic(b["stochastic"]))
    tg = results.get("targets") or []
    if tg:
        lines = ["Targets"]
        for t in tg:
            mark = {True: "met   ", False: "MISSED", None: "n/a   "}[t["met"]]
            lines.append(f"  [{mark}] {t['goal']}: {t['detail']}")
        parts.append("\n".join(lines))
    return "\n\n".join(parts) + "\n"


def _md(head: list[str], rows: list[list[str]]) -> str:
    out = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


def format_markdown(results: dict) -> str:
    """The measured tables as Markdown (the README "Performance" section is pasted from this)."""
    b = results.get("benchmarks", {})
    la = results.get("load_average", {})
    parts = [f"Measured with `{results.get('command', 'neuralcrn bench')}` on "
             f"{results['machine']['cpu_count']} CPU cores ({results['machine']['platform']}), "
             f"jax {results['versions']['jax']}, diffrax {results['versions']['diffrax']}, scipy "
             f"{results['versions']['scipy']}, libroadrunner {results['versions'].get('libroadrunner')}"
             f"; load average {la.get('start')} at the start, {la.get('end')} at the end; "
             f"{results.get('created')}."]
    tg = results.get("targets") or []
    if tg:
        rows = [[t["goal"], "—" if t["value"] is None else f"{t['value']:.3g}",
                 {True: "met", False: "**missed**", None: "n/a"}[t["met"]], t["detail"]]
                for t in tg]
        parts.append(_md(["target", "value", "status", "measured"], rows))
    if "feedforward" in b:
        rows = []
        for c in b["feedforward"]["circuits"]:
            ph = c["phase"]
            s = c["solvers"]
            r = c["ratios"]
            rr = s.get("roadrunner", {})
            rows.append([
                f"{c['circuit']} ({ph['species']} species, {ph['active_reactions']} reactions)",
                f"{fmt_time(s['neuralcrn']['median_s'])} ({ph.get('method')}, "
                f"{s['neuralcrn']['num_steps']} steps; compile "
                f"{fmt_time(s['neuralcrn']['compile_s'])})",
                f"{fmt_time(s['scipy_lsoda']['median_s'])} (×{r['scipy_lsoda/neuralcrn']:.2f}"
                f"{_robust_md(c, 'scipy_lsoda')})",
                (f"{fmt_time(rr['median_s'])} (×{r['roadrunner/neuralcrn']:.2f}"
                 f"{_robust_md(c, 'roadrunner')}; load {fmt_time(rr['load_s'])})")
                if "median_s" in rr else "—",
                f"{max(v.get('rel_diff', 0.0) for k, v in c['agreement'].items() if isinstance(v, dict)):.1e}",
                ", ".join(f"{n.replace('neuralcrn', 'ours') if n == 'neuralcrn' else n} "
                          f"{c['error'][n]:.0e}" for n in ("neuralcrn", "scipy_lsoda", "roadrunner")
                          if n in c.get("error", {})),
            ])
        parts.append("One feedforward phase (T = 0.4, rtol 1e-8, atol 1e-10, same state; "
                     "median of warmed runs; ×: baseline time / neuralcrn time, then the same "
                     "ratio of the fastest runs and of process CPU time)\n\n"
                     + _md(["circuit", "neuralcrn", "scipy LSODA", "libroadrunner",
                            "max rel. diff", "error vs reference"], rows))
    if "solvers" in b:
        so = b["solvers"]
        for rtol in sorted({r["rtol"] for r in so["rows"]}, reverse=True):
            head, rows = _solvers_rows(so, rtol)
            parts.append(f"ODE methods on the paper's XOR phases, rtol {rtol:g}: steps / median "
                         f"time / error vs {so['reference']}\n\n" + _md(head, rows))
    if "scaling" in b:
        sc = b["scaling"]
        rows = [[str(r["d"]), str(r["species"]), str(r["reactions"]),
                 "/".join(str(v) for v in r["solver_steps"].values()), fmt_time(r["per_step_s"]),
                 fmt_time(r["per_solver_step_s"])] for r in sc["rows"]]
        slope = sc.get("slope_time_vs_d")
        parts.append(f"Time per training step (first-order, two-phase, hidden n = {sc['hidden']}, "
                     f"training solver settings); log-log slope vs d: "
                     f"{'—' if slope is None else f'{slope:.2f}'}\n\n"
                     + _md(["d", "species", "reactions", "solver steps ff/fb", "per step",
                            "per solver step"], rows))
    if "training" in b:
        runs = b["training"]["runs"]
        rows = [r[:3] + r[4:5] + r[5:6] + r[7:9] for run in runs for r in _training_rows(run)]
        parts.append("Chemical training of the paper's XOR model (train() wall: setup, "
                     "compilation, epochs and evaluation; cold = first run in the process)\n\n"
                     + _md(["run", "samples × epochs", "wall", "compile", "epochs", "per epoch",
                            "per step"], rows)
                     + "\n\n" + "\n".join(
                         f"* {run['circuit']} (k_ann = {run['annihilation']:g}): "
                         + _final(run)
                         + ("; replicates / single: " + _ratios(run) if "ratios" in run else "")
                         for run in runs))
    if "floor" in b:
        rows = [[f"{c['circuit']} {c['phase']}", c.get("method", ""), str(c["num_steps"]),
                 str(c["rhs_evaluations"]), fmt_time(c["rhs_cost"]["per_eval_s"]),
                 fmt_time(c["rhs_cost"].get("jacobian_s")),
                 fmt_time(c["rhs_cost"].get("linear_solve_s")), fmt_time(c["floor_s"]),
                 fmt_time(c["solve"]["median_s"]), f"{c['overhead_ratio']:.2f}"]
                for c in b["floor"]["cases"]]
        parts.append("Floor (rhs evaluations × cost of one + steps × (Jacobian + stages × linear "
                     "solve))\n\n"
                     + _md(["phase", "method", "steps", "rhs evals", "per eval", "Jacobian",
                            "lin. solve", "floor", "solve", "solve/floor"], rows))
    if "stochastic" in b:
        from ._stochastic import format_stochastic
        parts.append("```\n" + format_stochastic(b["stochastic"]) + "\n```")
    return "\n\n".join(parts) + "\n"
