"""Coefficient tables of the Rosenbrock(-W) methods (numerical data, apart from the machinery in
:mod:`neuralcrn.kinetics._rosenbrock`).

A Rosenbrock method with s stages for an autonomous ODE y' = f(y) is given, as in Hairer & Wanner
(*Solving ODEs II*, §IV.7, eq. 7.4) and PETSc's ``TSROSW`` registry, by a strictly lower
triangular propagation table α, a lower triangular stage table Γ with constant diagonal γ, and
weights b (and b̂ for the embedded method):

    (I − hγ·W) k_i = h·f(y0 + Σ_j α_ij k_j) + h·W·Σ_{j<i} γ_ij k_j,     y1 = y0 + Σ_i b_i k_i.

W is the Jacobian f'(y0) (a Rosenbrock method) or any matrix (a *W-method*, whose order
conditions hold for every W). The machinery runs the equivalent transformed form (Hairer & Wanner
eq. 7.25) which needs no matrix-vector products: with u = Γ·k,

    (I/(hγ) − W) u_i = f(y0 + Σ_j a_ij u_j) + Σ_{j<i} (c_ij / h) u_j,     y1 = y0 + Σ_i m_i u_i,

a = α Γ⁻¹, c = diag(1/γ) − Γ⁻¹, m = b Γ⁻¹, m̂ = b̂ Γ⁻¹ (:func:`from_alpha_gamma`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["TransformedTableau", "from_alpha_gamma", "ROS34PW2", "RODAS5", "RODAS5P", "TABLEAUS"]


@dataclass(frozen=True)
class TransformedTableau:
    """A Rosenbrock(-W) method in the transformed form the integrator runs (numpy float64).

    ``gamma`` scalar; ``a`` ``(s, s)`` strictly lower; ``c`` ``(s, s)`` strictly lower (the c_ij
    of the transformed stage equation); ``m``, ``m_error`` ``(s,)``: the solution weights and
    m − m̂ (the local error estimate is Σ (m_i − m̂_i) u_i). ``order`` / ``embedded_order``: of
    the solution and the error estimator; ``w_method``: whether that order holds for any matrix
    W (else W must be the exact Jacobian); ``source``: where the numbers come from; ``dense``:
    ``(3, s)`` coefficients of the method's own 4th-order dense output (Rodas family: with
    D_r = Σ_j dense[r, j]·u_j, y(θ) = (1−θ)·y0 + θ·(y1 + (1−θ)·(D_0 + θ·(D_1 + θ·D_2)))) or
    ``None`` (cubic Hermite interpolation).
    """

    name: str
    gamma: float
    a: np.ndarray
    c: np.ndarray
    m: np.ndarray
    m_error: np.ndarray
    order: int
    embedded_order: int
    w_method: bool
    source: str
    dense: np.ndarray | None = None

    @property
    def stages(self) -> int:
        return int(self.m.shape[0])

    def untransformed(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(α, Γ, b, b̂)`` of Hairer & Wanner eq. 7.4 (for checking order conditions)."""
        Ginv = np.diag(np.full(self.stages, 1.0 / self.gamma)) - self.c
        G = np.linalg.inv(Ginv)
        return self.a @ G, G, self.m @ G, (self.m - self.m_error) @ G


def from_alpha_gamma(name: str, alpha, Gamma, b, b_embedded, *, order: int,
                     embedded_order: int, w_method: bool, source: str) -> TransformedTableau:
    """Transform a method given as (α, Γ, b, b̂) (Hairer & Wanner eq. 7.4; PETSc's ``TSROSW``
    tables): a = αΓ⁻¹, c = diag(1/γ) − Γ⁻¹, m = bΓ⁻¹, m̂ = b̂Γ⁻¹."""
    alpha, G = np.array(alpha, float), np.array(Gamma, float)
    b, bh = np.array(b, float), np.array(b_embedded, float)
    gamma = float(G[0, 0])
    if not np.allclose(np.diag(G), gamma):
        raise ValueError(f"{name}: the diagonal of Γ must be constant")
    Ginv = np.linalg.inv(G)
    c = np.tril(np.diag(1.0 / np.diag(G)) - Ginv, -1)
    m, mh = b @ Ginv, bh @ Ginv
    return TransformedTableau(name, gamma, np.tril(alpha @ Ginv, -1), c, m, m - mh, order,
                              embedded_order, w_method, source)


_G = 4.3586652150845900e-01
ROS34PW2 = from_alpha_gamma(
    "ros34pw2",
    alpha=((0.0, 0.0, 0.0, 0.0),
           (8.7173304301691801e-01, 0.0, 0.0, 0.0),
           (8.4457060015369423e-01, -1.1299064236484185e-01, 0.0, 0.0),
           (0.0, 0.0, 1.0, 0.0)),
    Gamma=((_G, 0.0, 0.0, 0.0),
           (-8.7173304301691801e-01, _G, 0.0, 0.0),
           (-9.0338057013044082e-01, 5.4180672388095326e-02, _G, 0.0),
           (2.4212380706095346e-01, -1.2232505839045147e+00, 5.4526025533510214e-01, _G)),
    b=(2.4212380706095346e-01, -1.2232505839045147e+00, 1.5452602553351020e+00, _G),
    b_embedded=(3.7810903145819369e-01, -9.6042292212423178e-02, 0.5, 2.1793326075422950e-01),
    order=3, embedded_order=2, w_method=True,
    source=("J. Rang and L. Angermann, New Rosenbrock W-methods of order 3 for partial "
            "differential algebraic equations of index 1, BIT Numer. Math. 45 (2005) 761-787: "
            "ROS34PW2 (4 stages, order 3 for any W, embedded order 2, L-stable, stiffly "
            "accurate); coefficients as tabulated in PETSc's TSROSWRA34PW2 "
            "(src/ts/impls/rosw/rosw.c)"))


def _rodas(name, gamma, a_rows, c_rows, dense, source) -> TransformedTableau:
    """A Rodas-type method (8 stages, the last two completing the stiffly accurate solution, as
    in Hairer's RODAS): rows 2–6 of a and rows 2–8 of c given; a_7 = (a_6, 1), a_8 = (a_7, 1);
    y1 = the stage-8 point + u_8; the error estimate is u_8."""
    a = np.zeros((8, 8))
    c = np.zeros((8, 8))
    for i, row in enumerate(a_rows, start=1):
        a[i, :len(row)] = row
    a[6, :6] = (*a[5, :5], 1.0)
    a[7, :7] = (*a[6, :6], 1.0)
    for i, row in enumerate(c_rows, start=1):
        c[i, :len(row)] = row
    m = a[7].copy()
    m[7] = 1.0
    m_error = np.zeros(8)
    m_error[7] = 1.0
    return TransformedTableau(name, gamma, a, c, m, m_error, order=5, embedded_order=4,
                              w_method=False, source=source, dense=np.array(dense, float))


RODAS5 = _rodas(
    "rodas5", 0.19,
    a_rows=((2.0,),
            (3.040894194418781, 1.041747909077569),
            (2.576417536461461, 1.622083060776640, -0.9089668560264532),
            (2.760842080225597, 1.446624659844071, -0.3036980084553738, 0.2877498600325443),
            (-14.09640773051259, 6.925207756232704, -41.47510893210728, 2.343771018586405,
             24.13215229196062)),
    c_rows=((-10.31323885133993,),
            (-21.04823117650003, -7.234992135176716),
            (32.22751541853323, -4.943732386540191, 19.44922031041879),
            (-20.69865579590063, -8.816374604402768, 1.260436877740897, -0.7495647613787146),
            (-46.22004352711257, -17.49534862857472, -289.6389582892057, 93.60855400400906,
             318.3822534212147),
            (34.20013733472935, -14.15535402717690, 57.82335640988400, 25.83362985412365,
             1.408950972071624, -6.551835421242162),
            (42.57076742291101, -13.80770672017997, 93.98938432427124, 18.77919633714503,
             -31.58359187223370, -6.685968952921985, -5.810979938412932)),
    dense=((27.354592673333357, -6.925207756232857, 26.40037733258859, 0.5635230501052979,
            -4.699151156849391, -1.6008677469422725, -1.5306074446748028, -1.3929872940716344),
           (44.19024239501722, 1.3677947663381929e-13, 202.93261852171622, -35.5669339789154,
            -181.91095152160645, 3.4116351403665033, 2.5793540257308067, 2.2435122582734066),
           (-44.0988150021747, -5.755396159656812e-13, -181.26175034586677, 56.99302194811676,
            183.21182741427398, -7.480257918273637, -5.792426076169686, -5.32503859794143)),
    source=("G. Di Marzo, RODAS5(4) - Méthodes de Rosenbrock d'ordre 5(4) adaptées aux "
            "problèmes différentiels-algébriques, MSc thesis, Univ. Genève 1993 (8 stages, order "
            "5, embedded order 4, stiffly accurate, L-stable; needs the exact Jacobian); "
            "transformed coefficients and 4th-order dense output as in OrdinaryDiffEq.jl's "
            "Rodas5Tableau"))

RODAS5P = _rodas(
    "rodas5p", 0.21193756319429014,
    a_rows=((3.0,),
            (2.849394379747939, 0.45842242204463923),
            (-6.954028509809101, 2.489845061869568, -10.358996098473584),
            (2.8029986275628964, 0.5072464736228206, -0.3988312541770524,
             -0.04721187230404641),
            (-7.502846399306121, 2.561846144803919, -11.627539656261098,
             -0.18268767659942256, 0.030198172008377946)),
    c_rows=((-14.155112264123755,),
            (-17.97296035885952, -2.859693295451294),
            (147.12150275711716, -1.41221402718213, 71.68940251302358),
            (165.43517024871676, -0.4592823456491126, 42.90938336958603, -5.961986721573306),
            (24.854864614690072, -3.0009227002832186, 47.4931110020768, 5.5814197821558125,
             -0.6610691825249471),
            (30.91273214028599, -3.1208243349937974, 77.79954646070892, 34.28646028294783,
             -19.097331116725623, -28.087943162872662),
            (37.80277123390563, -3.2571969029072276, 112.26918849496327, 66.9347231244047,
             -40.06618937091002, -54.66780262877968, -9.48861652309627)),
    dense=((25.948786856663858, -2.5579724845846235, 10.433815404888879, -2.3679251022685204,
            0.524948541321073, 1.1241088310450404, 0.4272876194431874, -0.17202221070155493),
           (-9.91568850695171, -0.9689944594115154, 3.0438037242978453, -24.495224566215796,
            20.176138334709044, 15.98066361424651, -6.789040303419874, -6.710236069923372),
           (11.419903575922262, 2.8879645146136994, 72.92137995996029, 80.12511834622643,
            -52.072871366152654, -59.78993625266729, -0.15582684282751913, 4.883087185713722)),
    source=("G. Steinebach, Construction of Rosenbrock-Wanner method Rodas5P and numerical "
            "benchmarks within the Julia Differential Equations package, BIT Numer. Math. 63 "
            "(2023) 27 (8 stages, order 5, embedded order 4, stiffly accurate, L-stable; needs "
            "the exact Jacobian); coefficients and 4th-order dense output as in "
            "OrdinaryDiffEq.jl's Rodas5PTableau"))

TABLEAUS: dict[str, TransformedTableau] = {t.name: t for t in (ROS34PW2, RODAS5, RODAS5P)}
"""Rosenbrock tables by name."""
