"""Explicit Runge–Kutta steppers for :func:`~neuralcrn.kinetics._loop.adaptive_loop`.

Tsit5 (Ch. Tsitouras, Runge–Kutta pairs of order 5(4) satisfying only the first column
simplifying assumption, Comput. Math. Appl. 62 (2011) 770–775): diffrax's Butcher tableau
(``diffrax.Tsit5.tableau``) run by our lean loop — for a non-stiff phase of a small circuit
diffrax's general machinery costs 2–3× the right-hand-side evaluations of a step, and most of that
goes away here (``docs/solver.md``). First same as last: f(y1) is the last stage. Dense output:
Tsit5's own 4th-order interpolant (the θ-polynomials of Tsitouras' paper, as in diffrax).
"""

from __future__ import annotations

import diffrax
import numpy as np

from ._loop import STATUS_OK, Stepper

__all__ = ["EXPLICIT_TABLEAUS", "explicit_stepper"]

EXPLICIT_TABLEAUS = {"tsit5": (diffrax.Tsit5.tableau, 5, 4)}
"""Name → (Butcher tableau, order, order of the error estimate)."""


def _tsit5_weights(t):
    """Tsit5's dense-output weights b_i(θ), i = 1…7, at θ = ``t`` (Tsitouras 2011)."""
    return (-1.0530884977290216 * t * (t - 1.3299890189751412)
            * (t ** 2 - 1.4364028541716351 * t + 0.7139816917074209),
            0.1017 * t ** 2 * (t ** 2 - 2.1966568338249754 * t + 1.2949852507374631),
            2.490627285651252793 * t ** 2 * (t ** 2 - 2.38535645472061657 * t
                                             + 1.57803468208092486),
            -16.54810288924490272 * (t - 1.21712927295533244) * (t - 0.61620406037800089)
            * t ** 2,
            47.37952196281928122 * (t - 1.203071208372362603) * (t - 0.658047292653547382)
            * t ** 2,
            -34.87065786149660974 * (t - 1.2) * (t - 0.666666666666666667) * t ** 2,
            2.5 * (t - 1) * (t - 0.6) * t ** 2)


def explicit_stepper(f, method: str = "tsit5") -> Stepper:
    """The :class:`~neuralcrn.kinetics._loop.Stepper` of explicit method ``method`` for the
    right-hand side ``f`` on ``(K, S)`` states."""
    import jax.numpy as jnp

    tab, order, error_order = EXPLICIT_TABLEAUS[method]
    a_rows = [np.asarray(r, float) for r in tab.a_lower]
    b_sol, b_err = np.asarray(tab.b_sol, float), np.asarray(tab.b_error, float)
    fsal = bool(tab.fsal)

    def step(y, fy, _data, h):
        ks = [fy]
        for row in a_rows:
            incr = 0.0
            for w, kj in zip(row, ks):
                if w != 0.0:
                    incr = incr + w * kj
            ks.append(f(y + h * incr))
        y1, err = y, 0.0
        for w, we, kj in zip(b_sol, b_err, ks):
            if w != 0.0:
                y1 = y1 + (h * w) * kj
            if we != 0.0:
                err = err + (h * we) * kj
        return y1, err, (ks[-1] if fsal else None), ks

    def interpolant(y0, y1, f0, f1, h, ks):
        def at(theta):
            out = y0
            for w, kj in zip(_tsit5_weights(theta), ks):
                out = out + (h * w) * kj
            return out

        return at

    return Stepper(order, error_order, lambda y: None, step, interpolant, jnp.int32(STATUS_OK))
