"""A reaction network run as a timed protocol: switched reactions and timed species assignments.

A :class:`SwitchedNetwork` is a :class:`~neuralcrn.chemistry.ReactionNetwork` whose reactions are
multiplied by *switches* (dimensionless parameters, typically 0 or 1: reaction r fires at
``switch[reaction_switch[r]] · k_r · Π[X]^ν``) and a list of :class:`TimedEvent`: at a given
time, set species concentrations (a host adding or washing out species) and switch values (a
phase change). It is plain data; :func:`~neuralcrn.chemistry.sbml.to_sbml_switched` writes it as
SBML with time-triggered events and :func:`~neuralcrn.chemistry.antimony.to_antimony_switched` as
Antimony. (The compiler builds one from a training run's protocol:
``neuralcrn.compiler.protocol_network``.)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..errors import NetworkError
from .network import ReactionNetwork, is_valid_species_name

__all__ = ["TimedEvent", "SwitchedNetwork"]


@dataclass(frozen=True)
class TimedEvent:
    """At ``time`` (> 0), set each ``(target, value)`` of ``assignments``: a species (its
    concentration) or a switch of the :class:`SwitchedNetwork`; and add each ``(species,
    amount ≥ 0)`` of ``additions`` to the species (a dose: the target's value at the event time
    plus the amount); and set each ``(species, fraction, amount)`` of ``rescaled`` to
    fraction·value + amount (0 ≤ fraction ≤ 1, amount ≥ 0: an incomplete wash leaving that
    fraction, then a load). A target appears in only one of the three."""

    time: float
    assignments: tuple[tuple[str, float], ...]
    additions: tuple[tuple[str, float], ...] = ()
    rescaled: tuple[tuple[str, float, float], ...] = ()


@dataclass(frozen=True)
class SwitchedNetwork:
    """A network with switched reactions and timed events (see the module docstring).

    Attributes
    ----------
    network:         the reactions and the state at time 0 (its initial concentrations).
    switches:        switch names (valid SBML ids, distinct from the species); may be empty:
                     then ``reaction_switch`` is empty too and no reaction is switched (a network
                     that runs on its own, with doses as its only events).
    switch_initial:  value of each switch at time 0.
    reaction_switch: ``(R,)`` index into ``switches`` of each reaction's switch.
    events:          :class:`TimedEvent` in the order they happen (times non-decreasing; events
                     at the same time happen in list order).
    end_time:        the end of the protocol (≥ the last event's time).
    notes:           free text for the exported document.

    Raises :class:`NetworkError` for inconsistent fields (unknown targets, bad times or values).
    """

    network: ReactionNetwork
    switches: tuple[str, ...]
    switch_initial: tuple[float, ...]
    reaction_switch: tuple[int, ...]
    events: tuple[TimedEvent, ...]
    end_time: float
    notes: str = ""

    def __post_init__(self):
        net = self.network
        species = set(net.species)
        for s in self.switches:
            if not is_valid_species_name(s) or s in species:
                raise NetworkError(f"switch name {s!r} is not a valid id or is a species name")
        if len(set(self.switches)) != len(self.switches):
            raise NetworkError("duplicate switch names")
        if len(self.switch_initial) != len(self.switches):
            raise NetworkError("one initial value per switch is needed")
        if not self.switches and not self.reaction_switch:
            pass                                    # unswitched reactions
        elif len(self.reaction_switch) != net.n_reactions or any(
                not 0 <= i < len(self.switches) for i in self.reaction_switch):
            raise NetworkError(f"reaction_switch needs one switch index per reaction "
                               f"({net.n_reactions})")
        targets = species | set(self.switches)
        last = 0.0
        for n, ev in enumerate(self.events, start=1):
            if not (math.isfinite(ev.time) and ev.time > 0 and ev.time >= last):
                raise NetworkError(f"event {n}: time {ev.time!r} must be finite, > 0 and not "
                                   f"before the previous event ({last!r})")
            last = ev.time
            seen = set()
            for target, value in ev.assignments:
                if target not in targets:
                    raise NetworkError(f"event {n} sets {target!r}, which is no species or "
                                       f"switch")
                if target in seen:
                    raise NetworkError(f"event {n} sets {target!r} twice")
                seen.add(target)
                if not math.isfinite(value) or (target in species and value < 0):
                    raise NetworkError(f"event {n} sets {target!r} to {value!r}")
            for target, value in ev.additions:
                if target not in species:
                    raise NetworkError(f"event {n} adds to {target!r}, which is no species")
                if target in seen:
                    raise NetworkError(f"event {n} sets or adds to {target!r} twice")
                seen.add(target)
                if not (math.isfinite(value) and value >= 0):
                    raise NetworkError(f"event {n} adds {value!r} to {target!r} (a dose is a "
                                       f"finite amount ≥ 0)")
            for target, frac, value in ev.rescaled:
                if target not in species:
                    raise NetworkError(f"event {n} rescales {target!r}, which is no species")
                if target in seen:
                    raise NetworkError(f"event {n} sets or adds to {target!r} twice")
                seen.add(target)
                if not (0.0 <= frac <= 1.0 and math.isfinite(value) and value >= 0):
                    raise NetworkError(f"event {n} sets {target!r} to {frac!r}·{target} + "
                                       f"{value!r} (need 0 ≤ fraction ≤ 1, amount ≥ 0)")
        if not (math.isfinite(self.end_time) and self.end_time >= last):
            raise NetworkError(f"end_time {self.end_time!r} is before the last event")

    @property
    def event_times(self) -> tuple[float, ...]:
        return tuple(ev.time for ev in self.events)
