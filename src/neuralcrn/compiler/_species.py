"""The species map of a compiled Neural CRN: which species hold which quantity (SPEC §2–§3).

Every signed quantity is a :class:`~neuralcrn.chemistry.DualRail` ``V`` with rails ``V_p`` / ``V_m``
(value = [V_p] − [V_m]). Indices in species names are **1-based**; internally (arrays, tuples) they
are 0-based:

=================  =====================  =====================================================
role               species                meaning
=================  =====================  =====================================================
x_j                ``x{j}_p/_m``          input (dual rail: inputs may be negative)
u_j (constant)     ``u{j}``               constant drive entry j > d (single species, ≥ 0):
                                          |c| for the augmentation entries, 1 for the bias
                                          entry of drive "bias"; the sign of c is folded into
                                          the reactions that use it
z_i                ``z{i}_p/_m``          hidden state
Θ_ij               ``theta_{i}_{j}_p/_m`` drive matrix (diagonal mode: only i == j)
h_i                ``h{i}_p/_m``          bias
W_ki               ``W_{k}_{i}_p/_m``     readout matrix
ŷ_k                ``yhat{k}_p/_m``       readout (output)
y_k                ``y{k}_p/_m``          target
e_k                ``e{k}_p/_m``          error ŷ − y
a_i                ``adj{i}_p/_m``        adjoint
∂L/∂Θ_ij           ``g_theta_{i}_{j}_p/_m``  gradient of Θ (trained entries only)
∂L/∂h_i            ``g_h{i}_p/_m``        gradient of h (only if h is trained)
∂L/∂W_ki           ``g_W_{k}_{i}_p/_m``   gradient of W (only if W is trained)
=================  =====================  =====================================================

The map is plain hashable data (tuples), so a compiled circuit can be a static argument of
``jax.jit``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ..chemistry.dualrail import DualRail
from ..errors import DataError, SpecError
from ..ideal.spec import ModelSpec, Params

__all__ = ["SpeciesMap", "build_species_map"]

Grid = tuple[tuple["DualRail | None", ...], ...]


def _grid_values(grid: Grid, values: np.ndarray) -> dict[str, float]:
    out: dict[str, float] = {}
    for i, row in enumerate(grid):
        for j, rail in enumerate(row):
            if rail is not None:
                out.update(rail.encode(values[i, j]))
    return out


@dataclass(frozen=True)
class SpeciesMap:
    """Which species hold each quantity of the Neural ODE (0-based positions, 1-based names).

    Attributes
    ----------
    x:        ``(d,)`` DualRail of the inputs.
    u:        ``(n_u,)`` drive entries: the DualRail of x_j for j < d, then the plain species name of
              each constant entry.
    u_sign:   ``(n_u,)`` ±1: sign folded into every reaction that uses u_j (+1 for inputs; sign of c
              for augmentation entries).
    u_value:  ``(n_u,)`` concentration loaded into each constant drive species (|c| or 1); ``None``
              for input entries.
    z:        ``(n,)`` DualRail of the hidden state.
    z0_is_u:  True when z(0) = u (the host loads it), False for z(0) = 0.
    theta:    ``n × n_u`` grid of DualRail (``None`` off the diagonal in diagonal mode).
    h:        ``(n,)`` DualRail of the bias.
    W:        ``m × n`` grid of DualRail.
    yhat, y, e: ``(m,)`` DualRail of the readout, the target and the error.
    adj:      ``(n,)`` DualRail of the adjoint.
    g_theta:  grid like ``theta`` of gradient species (``None`` where not trained).
    g_h:      ``(n,)`` DualRail, or ``None`` when h is not trained.
    g_W:      ``m × n`` grid, or ``None`` when W is not trained.
    """

    x: tuple[DualRail, ...]
    u: tuple[DualRail | str, ...]
    u_sign: tuple[int, ...]
    u_value: tuple[float | None, ...]
    z: tuple[DualRail, ...]
    z0_is_u: bool
    theta: Grid
    h: tuple[DualRail, ...]
    W: Grid
    yhat: tuple[DualRail, ...]
    y: tuple[DualRail, ...]
    e: tuple[DualRail, ...]
    adj: tuple[DualRail, ...]
    g_theta: Grid
    g_h: tuple[DualRail, ...] | None
    g_W: Grid | None

    # ------------------------------------------------------------ sizes
    @property
    def d(self) -> int:
        return len(self.x)

    @property
    def n(self) -> int:
        return len(self.z)

    @property
    def n_u(self) -> int:
        return len(self.u)

    @property
    def m(self) -> int:
        return len(self.yhat)

    # ------------------------------------------------------------ species groups
    @staticmethod
    def _rails(items) -> tuple[str, ...]:
        out: list[str] = []
        for r in items:
            if r is None:
                continue
            if isinstance(r, DualRail):
                out.extend(r.species)
            else:
                out.append(r)
        return tuple(out)

    @staticmethod
    def _flat(grid: Grid | None) -> tuple:
        if grid is None:
            return ()
        return tuple(r for row in grid for r in row if r is not None)

    @property
    def constant_drive_species(self) -> tuple[str, ...]:
        """Plain species of the constant drive entries (``u{j}``), loaded once and never washed."""
        return tuple(u for u in self.u if isinstance(u, str))

    @property
    def parameter_species(self) -> tuple[str, ...]:
        """Rails of Θ, h, W (carried from step to step)."""
        return self._rails(self._flat(self.theta) + self.h + self._flat(self.W))

    @property
    def gradient_species(self) -> tuple[str, ...]:
        """Rails of every gradient species."""
        return self._rails(self._flat(self.g_theta) + (self.g_h or ()) + self._flat(self.g_W))

    @property
    def transient_species(self) -> tuple[str, ...]:
        """Species the host washes out (sets to 0) before each training step: x, z, ŷ, y, e, a and
        every gradient."""
        return self._rails(self.x + self.z + self.yhat + self.y + self.e + self.adj) \
            + self.gradient_species

    @property
    def species(self) -> tuple[str, ...]:
        """Every species, in the canonical order of the compiled network's state vector:
        x, constant u, z, Θ, h, W, ŷ, y, e, a, G_Θ, G_h, G_W."""
        return (self._rails(self.x) + self.constant_drive_species + self._rails(self.z)
                + self.parameter_species + self._rails(self.yhat + self.y + self.e + self.adj)
                + self.gradient_species)

    @property
    def roles(self) -> dict[str, object]:
        """``{role: DualRail or grid}`` for every role (for display)."""
        return {"x": self.x, "u": self.u, "z": self.z, "theta": self.theta, "h": self.h,
                "W": self.W, "yhat": self.yhat, "y": self.y, "e": self.e, "adj": self.adj,
                "g_theta": self.g_theta, "g_h": self.g_h, "g_W": self.g_W}

    # ------------------------------------------------------------ loading
    def load_inputs(self, x) -> dict[str, float]:
        """``{species: concentration}`` for one input x (shape ``(d,)``), the constant drive entries
        and, when z(0) = u, the initial hidden state (one rail of every pair at 0)."""
        x = np.asarray(x, dtype=float).reshape(-1)
        if x.shape != (self.d,):
            raise DataError(f"input x must have {self.d} values, got {x.size}")
        if not np.all(np.isfinite(x)):
            raise DataError(f"input x has non-finite values: {x}")
        out: dict[str, float] = {}
        for rail, v in zip(self.x, x):
            out.update(rail.encode(v))
        for u, val in zip(self.u, self.u_value):
            if isinstance(u, str):
                out[u] = float(val)
        if self.z0_is_u:
            for j, (u, s) in enumerate(zip(self.u, self.u_sign)):
                v = x[j] if j < self.d else s * float(self.u_value[j])
                out.update(self.z[j].encode(v))
        return out

    def load_target(self, y) -> dict[str, float]:
        """``{species: concentration}`` for one target y (shape ``(m,)``)."""
        y = np.asarray(y, dtype=float).reshape(-1)
        if y.shape != (self.m,):
            raise DataError(f"target y must have {self.m} values, got {y.size}")
        if not np.all(np.isfinite(y)):
            raise DataError(f"target y has non-finite values: {y}")
        out: dict[str, float] = {}
        for rail, v in zip(self.y, y):
            out.update(rail.encode(v))
        return out

    def load_params(self, params: Params) -> dict[str, float]:
        """``{species: concentration}`` of the parameter rails (one rail of each pair at 0).

        Raises
        ------
        SpecError
            Wrong shapes, non-finite values or a non-zero Θ entry outside the compiled support
            (diagonal mode).
        """
        theta = np.asarray(params.theta, dtype=float)
        h = np.asarray(params.h, dtype=float).reshape(-1)
        W = np.asarray(params.W, dtype=float)
        if theta.shape != (self.n, self.n_u) or h.shape != (self.n,) or W.shape != (self.m, self.n):
            raise SpecError(f"parameter shapes must be theta {(self.n, self.n_u)}, h {(self.n,)}, "
                            f"W {(self.m, self.n)}; got {theta.shape}, {h.shape}, {W.shape}")
        for name, v in (("theta", theta), ("h", h), ("W", W)):
            if not np.all(np.isfinite(v)):
                raise SpecError(f"parameter {name} has non-finite values")
        for i, row in enumerate(self.theta):
            for j, rail in enumerate(row):
                if rail is None and theta[i, j] != 0:
                    raise SpecError(f"theta[{i},{j}] = {theta[i, j]} is outside the compiled "
                                    "(diagonal) support")
        out = _grid_values(self.theta, theta)
        for rail, v in zip(self.h, h):
            out.update(rail.encode(v))
        out.update(_grid_values(self.W, W))
        return out

    def load(self, x=None, y=None, params: Params | None = None) -> dict[str, float]:
        """Union of :meth:`load_inputs`, :meth:`load_target` and :meth:`load_params` for the
        arguments given (``None`` skips a group)."""
        out: dict[str, float] = {}
        if params is not None:
            out.update(self.load_params(params))
        if x is not None:
            out.update(self.load_inputs(x))
        if y is not None:
            out.update(self.load_target(y))
        return out

    # ------------------------------------------------------------ reading
    def read(self, state, species_order: Sequence[str]) -> dict[str, np.ndarray | None]:
        """Signed values of every role from a state.

        Parameters
        ----------
        state:
            Concentrations, shape ``(..., S)`` aligned with ``species_order``, or a mapping
            ``{species: concentration}`` (then ``species_order`` is ignored and may be ``None``).

        Returns
        -------
        dict
            ``x (d,)``, ``u (n_u,)``, ``z (n,)``, ``theta (n, n_u)``, ``h (n,)``, ``W (m, n)``,
            ``yhat (m,)``, ``y (m,)``, ``e (m,)``, ``adj (n,)``, ``g_theta (n, n_u)`` (zeros where not
            trained), ``g_h (n,)`` or ``None``, ``g_W (m, n)`` or ``None``; each with the leading
            batch shape of ``state``. Grid entries outside the support are 0.
        """
        if isinstance(state, Mapping):
            get = lambda s: np.asarray(state.get(s, 0.0), dtype=float)  # noqa: E731
            lead: tuple = ()
        else:
            arr = np.asarray(state, dtype=float)
            idx = {s: i for i, s in enumerate(species_order)}
            if arr.shape[-1] != len(idx):
                raise DataError(f"state has {arr.shape[-1]} entries for {len(idx)} species")
            get = lambda s: arr[..., idx[s]]  # noqa: E731
            lead = arr.shape[:-1]

        def val(rail):
            if isinstance(rail, DualRail):
                return get(rail.plus) - get(rail.minus)
            return get(rail)

        def vec(items):
            if not items:
                return np.zeros(lead + (0,))
            return np.stack([val(r) for r in items], axis=-1)

        def grid(g, shape):
            out = np.zeros(lead + shape)
            for i, row in enumerate(g):
                for j, rail in enumerate(row):
                    if rail is not None:
                        out[..., i, j] = val(rail)
            return out

        u_vals = [val(u) * s for u, s in zip(self.u, self.u_sign)]
        return {
            "x": vec(self.x),
            "u": np.stack(u_vals, axis=-1),
            "z": vec(self.z),
            "theta": grid(self.theta, (self.n, self.n_u)),
            "h": vec(self.h),
            "W": grid(self.W, (self.m, self.n)),
            "yhat": vec(self.yhat),
            "y": vec(self.y),
            "e": vec(self.e),
            "adj": vec(self.adj),
            "g_theta": grid(self.g_theta, (self.n, self.n_u)),
            "g_h": None if self.g_h is None else vec(self.g_h),
            "g_W": None if self.g_W is None else grid(self.g_W, (self.m, self.n)),
        }

    def read_params(self, state, species_order: Sequence[str]) -> Params:
        """Parameter values :class:`~neuralcrn.ideal.spec.Params` (numpy) read from a state."""
        r = self.read(state, species_order)
        return Params(r["theta"], r["h"], r["W"])

    def describe(self) -> str:
        """Multi-line human-readable table ``role: species`` (1-based names)."""
        lines = []
        for role, items in self.roles.items():
            if items is None:
                lines.append(f"{role:8s} (not compiled)")
                continue
            flat = self._flat(items) if items and isinstance(items[0], tuple) else items
            names = [str(r) for r in flat]
            lines.append(f"{role:8s} {', '.join(names) if names else '(none)'}")
        return "\n".join(lines)


def build_species_map(spec: ModelSpec) -> SpeciesMap:
    """The :class:`SpeciesMap` of a model specification (SPEC §2 sizes; names as in the module
    docstring)."""
    if not isinstance(spec, ModelSpec):
        raise SpecError(f"expected a ModelSpec, got {type(spec).__name__}")
    d, n, n_u, m = spec.inputs, spec.n, spec.n_u, spec.outputs
    x = tuple(DualRail(f"x{j + 1}") for j in range(d))
    u: list = list(x)
    u_sign = [1] * d
    u_value: list = [None] * d
    for j in range(d, n_u):
        c = float(spec.augment_value) if spec.drive == "augment" else 1.0
        u.append(f"u{j + 1}")
        u_sign.append(-1 if c < 0 else 1)
        u_value.append(abs(c))
    support = (lambda i, j: i == j) if spec.theta == "diagonal" else (lambda i, j: True)
    theta = tuple(tuple(DualRail(f"theta_{i + 1}_{j + 1}") if support(i, j) else None
                        for j in range(n_u)) for i in range(n))
    g_theta = tuple(tuple(DualRail(f"g_theta_{i + 1}_{j + 1}") if support(i, j) else None
                          for j in range(n_u)) for i in range(n))
    W = tuple(tuple(DualRail(f"W_{k + 1}_{i + 1}") for i in range(n)) for k in range(m))
    g_W = (tuple(tuple(DualRail(f"g_W_{k + 1}_{i + 1}") for i in range(n)) for k in range(m))
           if spec.train_W else None)
    return SpeciesMap(
        x=x, u=tuple(u), u_sign=tuple(u_sign), u_value=tuple(u_value),
        z=tuple(DualRail(f"z{i + 1}") for i in range(n)),
        z0_is_u=spec.z0 == "drive",
        theta=theta,
        h=tuple(DualRail(f"h{i + 1}") for i in range(n)),
        W=W,
        yhat=tuple(DualRail(f"yhat{k + 1}") for k in range(m)),
        y=tuple(DualRail(f"y{k + 1}") for k in range(m)),
        e=tuple(DualRail(f"e{k + 1}") for k in range(m)),
        adj=tuple(DualRail(f"adj{i + 1}") for i in range(n)),
        g_theta=g_theta,
        g_h=tuple(DualRail(f"g_h{i + 1}") for i in range(n)) if spec.train_h else None,
        g_W=g_W,
    )
