"""The protocol of one training step as plain data and text, read from a :class:`StepProgram`.

:func:`describe_protocol` turns a compiled circuit and its step program into a JSON-able dict
(format ``neuralcrn-protocol/1``): the state's species order, each phase's duration and active
reactions, and the host actions before each step — which species are washed (set to 0), which are
kept (parameters, constant drive species), and where x, y and z(0) are loaded. Run folders store
it as ``protocol.json`` and as comment lines of their ``.crn`` circuit files
(:func:`protocol_comment_lines`); nothing here re-derives phases from the modules: the program is
the one description every backend runs.
"""

from __future__ import annotations

import numpy as np

from ._modules import NeuralCRN
from ._protocol import StepProgram

__all__ = ["PROTOCOL_FORMAT", "describe_protocol", "protocol_comment_lines", "phase_labels",
           "reaction_ranges", "load_positions", "circuit_text"]

PROTOCOL_FORMAT = "neuralcrn-protocol/1"


def phase_labels(circuit: NeuralCRN, program: StepProgram) -> list[str]:
    """Names of the program's phases: the circuit's module names when there is one phase per
    module (both schedules), else ``phase1``, ``phase2``, …"""
    P = int(program.durations.shape[0])
    if program.dose is not None and P == 1:
        return ["clock_period"]       # the autonomous protocol: everything runs, one period
    names = list(circuit.module_names)
    return names if len(names) == P else [f"phase{p + 1}" for p in range(P)]


def reaction_ranges(ids) -> list[list[int]]:
    """Sorted reaction numbers (1-based) compressed into inclusive ``[first, last]`` runs."""
    out: list[list[int]] = []
    for i in sorted(int(v) for v in ids):
        if out and out[-1][1] == i - 1:
            out[-1][1] = i
        else:
            out.append([i, i])
    return out


def _name(species, pos):
    pos = int(pos)
    return species[pos] if 0 <= pos < len(species) else None


def load_positions(circuit: NeuralCRN, program: StepProgram) -> dict:
    """Where the host loads each sample, as species names (``None`` where a value has no rail of
    that sign, e.g. single-rail inputs of the minimal circuit):
    ``{"x": [(plus, minus)] * d, "y": [(plus, minus)] * m, "z0": [(plus, minus, source)]}`` with
    ``source`` ``"x{j}"`` or the constant drive value."""
    sp = circuit.species
    pairs = lambda a, b: [(_name(sp, p), _name(sp, q))  # noqa: E731
                          for p, q in zip(np.asarray(a), np.asarray(b))]
    x, y = pairs(program.x_plus, program.x_minus), pairs(program.y_plus, program.y_minus)
    u_const = [float(v) for v in np.asarray(program.u_const)]
    z0 = []
    for j, (p, m) in enumerate(pairs(program.z0_plus, program.z0_minus)):
        z0.append((p, m, f"x{j + 1}" if j < len(x) else u_const[j - len(x)]))
    return {"x": x, "y": y, "z0": z0}


def describe_protocol(circuit: NeuralCRN, program: StepProgram, *,
                      phase_names: list[str] | None = None) -> dict:
    """The protocol of one training step as a JSON-able dict (see the module docstring).

    Keys: ``format``, ``rate_law``, ``species`` (state order), ``phases`` (``name``,
    ``duration``, ``reactions``: 1-based ``[first, last]`` runs of ``circuit.network.reactions``
    active in the phase, and ``rate_constants`` ``{reaction number: k}`` where the phase runs a
    reaction at another rate than the network's), ``host`` (``wash``, ``keep``, ``wash_residual``
    — only for an incomplete wash: the fraction w of each washed species left —, ``load`` with
    ``x``, ``y``, ``z0`` as in :func:`load_positions`), ``step_duration``.
    """
    sp = list(circuit.species)
    K = np.asarray(program.rate_constants)
    dur = np.asarray(program.durations)
    base = circuit.network.rate_constants
    names = phase_names or phase_labels(circuit, program)
    phases = []
    for p, name in enumerate(names):
        active = np.flatnonzero(K[p] != 0)
        entry = {"name": name, "duration": float(dur[p]),
                 "reactions": reaction_ranges(active + 1)}
        other = {int(r) + 1: float(K[p, r]) for r in active if K[p, r] != base[r]}
        if other:
            entry["rate_constants"] = other
        phases.append(entry)
    keep = np.asarray(program.keep)
    load = load_positions(circuit, program)
    return {
        "format": PROTOCOL_FORMAT,
        "rate_law": "mass action k*prod([X]^nu), no 1/nu! factor; reactions numbered 1.. in "
                    "the order of the circuit file",
        "species": sp,
        "phases": phases,
        "step_duration": float(dur.sum()),
        "host": {"loads_add": program.dose is not None,
                 "wash": [s for s, k in zip(sp, keep) if k < 1.0],
                 "keep": [s for s, k in zip(sp, keep) if k == 1.0],
                 **({"wash_residual": float(keep[(keep > 0) & (keep < 1)].max())}
                    if np.any((keep > 0) & (keep < 1)) else {}),
                 "load": {"x": [list(v) for v in load["x"]], "y": [list(v) for v in load["y"]],
                          "z0": [list(v) for v in load["z0"]]}},
    }


def _pairs_text(pairs, label) -> str:
    out = []
    for k, (p, m, *src) in enumerate(pairs, start=1):
        what = f"{label}{k}" if not src else (src[0] if isinstance(src[0], str)
                                               else repr(src[0]))
        rails = "/".join(s for s in (p, m) if s)
        out.append(f"{what}->{rails}")
    return " ".join(out)


def protocol_comment_lines(desc: dict) -> list[str]:
    """``#`` comment lines for a text circuit file stating the protocol of :func:`describe_protocol`
    (the species lists are wrapped at 100 characters)."""
    from ..chemistry.text import _wrap
    host = desc["host"]
    load = host["load"]
    if host.get("loads_add"):
        lines = ["# protocol of one training step (also protocol.json): the pot runs on its own; "
                 "its chemical clock switches the modules",
                 "#   host once per clock period: dose the sample = add each signed value to one "
                 "rail of its storage species (nothing is washed or set)"]
    else:
        lines = ["# protocol of one training step (also protocol.json):",
                 "#   host before each step: wash = set to 0, then load the sample (each signed "
                 "value into one rail, the other rail 0)"]
    if host["wash"]:
        lines += _wrap("#   wash:", host["wash"])
    if host.get("wash_residual"):
        lines.append(f"#   the wash is incomplete: a fraction {host['wash_residual']!r} of each "
                     f"washed species stays, and the loads add to it")
    if not host.get("loads_add"):
        lines += _wrap("#   keep:", host["keep"])
    loads = [f"x: {_pairs_text(load['x'], 'x')}", f"y: {_pairs_text(load['y'], 'y')}"]
    if load["z0"]:
        loads.append(f"z(0) = u: {_pairs_text(load['z0'], 'u')}")
    verb = "dose" if host.get("loads_add") else "load"
    lines += [f"#   {verb} {s}" for s in loads]
    for p, ph in enumerate(desc["phases"], start=1):
        ids = ", ".join(f"{a}..{b}" if a != b else f"{a}" for a, b in ph["reactions"]) or "none"
        extra = f"; other rate constants {ph['rate_constants']}" if ph.get("rate_constants") \
            else ""
        lines.append(f"#   phase {p} {ph['name']}: duration {ph['duration']!r}, reactions "
                     f"{ids}{extra}")
    return lines


def circuit_text(circuit: NeuralCRN, *, state=None, header=(), program: StepProgram | None = None
                 ) -> str:
    """The whole circuit in the text format, with a comment line before each module's reactions.

    ``state`` ``(S,)`` (default: ``circuit.network.initial``) gives the initial concentrations
    written (negative solver round-off is written as 0); ``header`` adds comment lines (without
    ``#``) after the title; with ``program`` the protocol of one step
    (:func:`protocol_comment_lines`) is stated too. ``parse_text`` of the result gives the network
    with those concentrations.
    """
    from ..chemistry.text import to_text
    net = circuit.network
    if state is not None:
        net = net.with_initial(np.maximum(np.asarray(state, dtype=float), 0.0))
    lines = to_text(net).rstrip("\n").split("\n")
    R = net.n_reactions
    head, body = lines[:len(lines) - R], lines[len(lines) - R:]
    together = program is not None and program.dose is not None
    out = [f"# Neural CRN compiled by neuralcrn: {circuit.spec.nonlinearity} model, "
           f"{circuit.spec.gradient} gradient",
           "# rate law k*prod([X]^nu), no 1/nu! factor; " + (
               "all modules run at once, all the time: the clock's gate species switch them"
               if together else "each module is one phase of a training step, run in this "
                                "order")]
    out += [f"# {h}" for h in header]
    if program is not None:
        out += protocol_comment_lines(describe_protocol(circuit, program))
    out += head
    for name, (a, b) in circuit.ranges:
        out.append(f"# ---- module {name}: reactions {a + 1}..{b}, "
                   f"duration {circuit.duration(name):.6g}")
        out.extend(body[a:b])
    return "\n".join(out) + "\n"
