"""Cross-check with libroadrunner (an independent SBML simulator).

1. Export: random mass-action networks (5–40 species, uni/bimolecular) written with ``to_sbml`` and
   simulated by roadrunner agree with ``neuralcrn.kinetics.simulate`` to 1e-6 relative.
2. Import: random SBML models that use compartments of sizes ≠ 1, two compartments, amounts and
   concentrations, hasOnlySubstanceUnits species, compartment factors, local parameters,
   modifiers, boundary species (also divided by) and reversible laws, simulated by roadrunner from
   the original SBML, agree with ``from_sbml`` + ``simulate``: this checks the unit conversions.
"""

import libsbml
import numpy as np
import pytest

from neuralcrn import Reaction, ReactionNetwork
from neuralcrn.chemistry import from_sbml, to_sbml

roadrunner = pytest.importorskip("roadrunner")
from neuralcrn.kinetics import simulate  # noqa: E402

REL, FLOOR = 1e-6, 1e-6


def roadrunner_concentrations(xml: str, species, times) -> np.ndarray:
    r = roadrunner.RoadRunner(xml)
    r.integrator.setValue("relative_tolerance", 1e-12)
    r.integrator.setValue("absolute_tolerance", 1e-14)
    r.integrator.setValue("maximum_num_steps", 1_000_000)
    res = r.simulate(float(times[0]), float(times[-1]), len(times),
                     ["time"] + [f"[{s}]" for s in species])
    out = np.asarray(res)
    np.testing.assert_allclose(out[:, 0], times, rtol=0, atol=1e-12)
    return out[:, 1:]


def ours(network: ReactionNetwork, times) -> np.ndarray:
    traj = simulate(network, times=times, rtol=1e-11, atol=1e-14, max_steps=1_000_000)
    return np.asarray(traj.concentrations)


def assert_agree(mine: np.ndarray, ref: np.ndarray, what: str):
    assert mine.shape == ref.shape
    big = np.abs(ref) > FLOOR
    rel = np.abs(mine - ref)[big] / np.abs(ref)[big]
    worst = float(rel.max()) if rel.size else 0.0
    assert worst <= REL, f"{what}: relative error {worst:.3g}"
    small = np.abs(mine - ref)[~big]
    assert (small <= REL * FLOOR).all(), f"{what}: absolute error {small.max():.3g} near 0"


# ---------------------------------------------------------------------------- export check
def random_network(rng: np.random.Generator, n: int) -> ReactionNetwork:
    """Uni- and bimolecular reactions that never increase the molecule count (except sources),
    with moderate rate constants, so trajectories stay bounded and the ODE is not stiff."""
    names = [f"X{i}" for i in range(n)]

    def pick(m):
        return list(rng.choice(names, size=m, replace=False))

    def k():
        return float(np.exp(rng.uniform(np.log(0.05), np.log(2.0))))

    reactions = []
    for _ in range(int(rng.integers(n, 2 * n + 1))):
        kind = rng.choice(["uni", "split", "bi", "dimer", "cat", "swap", "source", "decay"])
        if kind == "uni":
            a, b = pick(2)
            reactions.append(Reaction([a], [b], k()))
        elif kind == "split":
            a, b, c = pick(3)
            reactions.append(Reaction([a], [b, c], k()))
        elif kind == "bi":
            a, b, c = pick(3)
            reactions.append(Reaction([a, b], [c], k()))
        elif kind == "dimer":
            a, b = pick(2)
            reactions.append(Reaction({a: 2}, [b], k()))
        elif kind == "cat":
            a, b, c = pick(3)
            reactions.append(Reaction([a, b], [a, c], k()))
        elif kind == "swap":
            a, b, c, d = pick(4)
            reactions.append(Reaction([a, b], [c, d], k()))
        elif kind == "source":
            reactions.append(Reaction([], pick(1), k()))
        else:
            reactions.append(Reaction(pick(1), [], k()))
    initial = {s: float(rng.uniform(0, 1)) if rng.random() < 0.8 else 0.0 for s in names}
    constant = set(pick(2)) if n >= 10 else set()
    return ReactionNetwork(reactions, names, initial, constant, name=f"random_{n}")


@pytest.mark.parametrize("seed, n_species", [(1, 5), (2, 12), (3, 20), (4, 30), (5, 40)])
def test_exported_networks_simulate_the_same_in_roadrunner(seed, n_species):
    net = random_network(np.random.default_rng(seed), n_species)
    times = np.linspace(0.0, 3.0, 31)
    ref = roadrunner_concentrations(to_sbml(net), net.species, times)
    assert_agree(ours(net, times), ref, f"seed {seed}")
    assert np.abs(ref).max() > 0.1  # non-trivial dynamics


# ---------------------------------------------------------------------------- import check
def rich_sbml(rng: np.random.Generator) -> str:
    """A random mass-action SBML model exercising every conversion the importer performs."""
    doc = libsbml.SBMLDocument(3, 2)
    m = doc.createModel()
    m.setId("rich")
    sizes = {"c1": float(rng.uniform(0.3, 4.0)), "c2": float(rng.uniform(0.3, 4.0))}
    for cid, size in sizes.items():
        c = m.createCompartment()
        c.setId(cid)
        c.setSize(size)
        c.setConstant(True)
        c.setSpatialDimensions(3)
    species = {}
    for i in range(10):
        sid = f"S{i}"
        comp = "c1" if i < 6 else "c2"
        sp = m.createSpecies()
        sp.setId(sid)
        sp.setCompartment(comp)
        hosu = bool(rng.random() < 0.4)
        sp.setHasOnlySubstanceUnits(hosu)
        boundary = i in (5, 9)
        sp.setBoundaryCondition(boundary)
        sp.setConstant(False)
        value = float(rng.uniform(0.2, 1.5))
        if rng.random() < 0.5:
            sp.setInitialAmount(value)
        else:
            sp.setInitialConcentration(value)
        species[sid] = (comp, boundary)
    n_param = 0

    def rate(law_factors, rx):
        nonlocal n_param
        n_param += 1
        pid = f"k{n_param}"
        value = float(np.exp(rng.uniform(np.log(0.1), np.log(1.5))))
        if rng.random() < 0.5:
            p = m.createParameter()
            p.setId(pid)
            p.setValue(value)
            p.setConstant(True)
        else:  # local, possibly shadowing a global of the same name
            lp = rx.getKineticLaw().createLocalParameter()
            lp.setId(pid)
            lp.setValue(value)
        return "*".join([pid] + law_factors)

    for j in range(12):
        home = "c1" if j % 3 else "c2"
        pool = [s for s, (c, b) in species.items() if c == home and not b]
        n_reac = int(rng.integers(0, 3))
        reac = list(rng.choice(pool, size=n_reac, replace=False)) if n_reac else []
        n_prod = int(rng.integers(1, 2)) if not reac else int(rng.integers(0, len(reac) + 1))
        prod = list(rng.choice(pool, size=n_prod, replace=False)) if n_prod else []
        if not reac and not prod:
            prod = [pool[0]]
        rx = m.createReaction()
        rx.setId(f"R{j}")
        rx.createKineticLaw()
        for s in reac:
            ref = rx.createReactant()
            ref.setSpecies(s)
            ref.setStoichiometry(1)
            ref.setConstant(True)
        for s in prod:
            ref = rx.createProduct()
            ref.setSpecies(s)
            ref.setStoichiometry(1)
            ref.setConstant(True)
        factors = list(reac)
        if rng.random() < 0.4:  # a catalyst from anywhere, as a modifier
            cat = str(rng.choice([s for s in species if s not in reac]))
            rx.createModifier().setSpecies(cat)
            factors.append(cat)
        if rng.random() < 0.3:  # divide by a boundary species (folded on import)
            b = "S5" if rng.random() < 0.5 else "S9"
            if b not in factors:
                rx.createModifier().setSpecies(b)
                factors.append(f"{b}^-1")
        comp_factor = [home] if rng.random() < 0.6 else []
        forward = rate(comp_factor + factors, rx)
        law = forward
        if reac and prod and len(prod) == len(reac) and rng.random() < 0.5:
            rx.setReversible(True)
            law = f"{forward} - {rate(comp_factor + list(prod), rx)}"
        else:
            rx.setReversible(False)
        ast = libsbml.parseL3Formula(law)
        assert ast is not None, law
        rx.getKineticLaw().setMath(ast)
    xml = libsbml.writeSBMLToString(doc)
    check = libsbml.readSBMLFromString(xml)
    assert check.checkConsistency() == 0 or all(
        check.getError(i).getSeverity() < libsbml.LIBSBML_SEV_ERROR
        for i in range(check.getNumErrors()))
    return xml


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_imported_models_simulate_like_roadrunner(seed):
    xml = rich_sbml(np.random.default_rng(seed))
    net = from_sbml(xml)
    assert net.constant == {"S5", "S9"}
    times = np.linspace(0.0, 2.0, 21)
    ref = roadrunner_concentrations(xml, net.species, times)
    assert_agree(ours(net, times), ref, f"seed {seed}")
