"""The chemical clock (chemistry.clock) and the oscillation measurement (kinetics): period, duty
cycle and overlaps against the asymptotic formulas derived in chemistry/clock.py."""

import math

import numpy as np
import pytest

from neuralcrn.chemistry import ChemicalClock, Reaction, ReactionNetwork
from neuralcrn.chemistry.clock import MIN_SHARPNESS, kill_recruit_reactions
from neuralcrn.errors import NetworkError, SimulationError
from neuralcrn.kinetics import measure_clock, measure_oscillator, simulate

PHASES5 = ("feedforward", "latch", "feedback", "hold", "wash")


def _next_order(clock):
    """Bound of the neglected O(√ε ln(1/ε)/(kM)) term of the window length, relative to τ."""
    eps = clock.epsilon
    return math.sqrt(eps) * math.log(1 / eps) / clock.sharpness


def test_clock_reactions_are_bimolecular_and_conserve_the_total():
    c = ChemicalClock(PHASES5, window=0.25, sharpness=300)
    net = c.network(gates=("feedforward", "latch"))
    assert net.max_molecularity == 2
    clock_species = set(c.species)
    for r in c.reactions():
        change = r.net_change()
        assert sum(v for s, v in change.items() if s in clock_species) == 0, str(r)
    # kills: each phase kills every other except its successor (n(n-2)), then recruit and leak
    assert len(c.reactions()) == 5 * 3 + 5 + 5
    assert net.species[:6] == c.species and c.signal("hold") == "clock_hold"


@pytest.mark.parametrize("phases,sigma", [(PHASES5, 100.0), (PHASES5, 300.0),
                                          (("a", "b", "c"), 1000.0)])
def test_period_duty_and_overlaps_match_the_derived_formulas(phases, sigma):
    c = ChemicalClock(phases, window=0.25, sharpness=sigma)
    pred = c.prediction()
    m = measure_clock(c)
    assert m.period_change < 1e-6                       # settled on the limit cycle
    assert abs(m.period / pred.period - 1) < _next_order(c)
    np.testing.assert_allclose(m.windows, pred.window, rtol=_next_order(c))
    np.testing.assert_allclose(m.duty, pred.duty, rtol=2e-3)
    np.testing.assert_allclose(m.overlap_pre, pred.overlap_pre, rtol=0.05)
    np.testing.assert_allclose(m.overlap_post, pred.overlap_post, rtol=0.05)
    n = len(phases)
    far = [m.overlap[i, j] for i in range(n) for j in range(n)
           if (j - i) % n not in (0, 1, n - 1)]
    # two phases ahead a signal is fed by the leak of a growing successor and killed at kM:
    # P_{i+2} ≈ ε·P_{i+1}, so its share in window i is below ε
    assert max(far, default=0.0) < pred.epsilon
    # the plateau is M less the blanks and the neighbours: ≈ 2ε ln(1/ε)
    eps = pred.epsilon
    assert np.all(m.plateau < 1.0) and np.all(m.plateau > 1.0 - 4 * eps * math.log(1 / eps))


def test_overlap_falls_like_log_sigma_over_sigma():
    pre = []
    for sigma in (100.0, 1000.0):
        c = ChemicalClock(PHASES5, window=0.25, sharpness=sigma)
        pre.append(measure_clock(c).overlap_pre.mean())
    # (½ ln(1/ε) + c)/σ with ε ≈ (π/2σ)²: ratio ≈ (ln(2·1000/π) / 1000) / (ln(2·100/π) / 100)
    expect = (math.log(2000 / math.pi) / 1000) / (math.log(200 / math.pi) / 100)
    assert pre[1] / pre[0] == pytest.approx(expect, rel=0.1)


def test_limit_cycle_forgets_its_start_but_a_conversion_ring_with_a_leak_dies_out():
    c = ChemicalClock(("a", "b", "c"), window=1.0, sharpness=300)
    ref = measure_clock(c).period
    skewed = ReactionNetwork(c.reactions(), c.species,
                             {"clock_a": 0.5, "clock_b": 0.3, "clock_blank": 0.2})
    m = measure_oscillator(skewed, c.signals, c.prediction().period)
    assert m.period == pytest.approx(ref, rel=1e-6)
    # CRN++-style ring X_i + X_{i+1} -> 2 X_{i+1} with a leak: neutral orbits (Σ ln X_i is
    # conserved without the leak), so any leak makes the orbit shrink towards X_i = 1/3
    ring = [Reaction([f"X{i}", f"X{(i + 1) % 3}"], {f"X{(i + 1) % 3}": 2}, 1.0) for i in range(3)]
    ring += [Reaction([f"X{i}"], [f"X{(i + 1) % 3}"], 1e-3) for i in range(3)]
    net = ReactionNetwork(ring, ["X0", "X1", "X2"], {"X0": 0.98, "X1": 0.01, "X2": 0.01})
    x0 = simulate(net, 2000.0, 20001, rtol=1e-10, atol=1e-13)["X0"]
    swing = [np.ptp(x0[a:a + 2000]) for a in range(0, 20000, 2000)]
    assert swing[0] > 0.95 and np.all(np.diff(swing) < 0) and swing[-1] < 0.1


def test_gate_species_follow_the_square_of_the_signal_and_open_sharply():
    c = ChemicalClock(PHASES5, window=0.25, sharpness=300)
    m = measure_clock(c, gates=PHASES5)
    # in the middle of each window G ≈ P²/M (G follows P² with lag 1/δ = 1/(kM))
    for i in range(5):
        k = np.searchsorted(m.times, m.starts[i] + 0.5 * m.windows[i])
        assert m.states[k, 6 + i] == pytest.approx(m.states[k, i] ** 2, rel=1e-3)
    # before its own window, a gate's integral is far below its signal's (no log-smeared onset)
    g = measure_oscillator(c.network(gates=PHASES5), [c.gate(p) for p in PHASES5],
                           c.prediction().period)
    assert g.overlap_pre.max() < 0.25 * m.overlap_pre.min()


def test_bad_clocks_are_refused_with_a_clear_message():
    with pytest.raises(NetworkError, match="at least 3 phases"):
        ChemicalClock(("a", "b"), window=1.0)
    with pytest.raises(NetworkError, match="sharpness"):
        ChemicalClock(("a", "b", "c"), window=1.0, sharpness=MIN_SHARPNESS / 2)
    with pytest.raises(NetworkError, match="window"):
        ChemicalClock(("a", "b", "c"), window=0.0)
    with pytest.raises(NetworkError, match="distinct"):
        ChemicalClock(("a", "a", "c"), window=1.0)
    with pytest.raises(NetworkError, match="invalid"):
        ChemicalClock(("a", "b c", "d"), window=1.0)
    with pytest.raises(NetworkError, match="unknown clock phase"):
        ChemicalClock(("a", "b", "c"), window=1.0).signal("d")
    with pytest.raises(NetworkError, match="one leak rate per phase"):
        kill_recruit_reactions(["a", "b", "c"], "B", 1.0, [0.1])


def test_measure_oscillator_refuses_a_network_that_does_not_oscillate():
    net = ReactionNetwork([Reaction(["A"], ["B"], 1.0), Reaction(["B"], ["C"], 1.0)],
                          ["A", "B", "C"], {"A": 1.0})
    with pytest.raises(SimulationError, match="do not take turns"):
        measure_oscillator(net, ["A", "B", "C"], 1.0, settle_cycles=2)
