r"""Networks and the spectral law of :math:`J J^T` by free multiplicative composition.

For :math:`J = D_L W_L \cdots D_1 W_1` (:math:`D_l = \operatorname{diag}\phi_l'(h^l)`,
:math:`h^l \sim N(0, q^l)`), freeness at infinite width gives

.. math:: S_{JJ^T}(y) = \prod_{l=1}^L S_{D_l^2}(y)\, S_{W_l^T W_l}(y)

(Pennington, Schoenholz & Ganguli 2017, 2018) with :math:`S_{W^TW} = 1/(\sigma_w^2 (1+y))` for
Gaussian and :math:`1/\sigma_w^2` for orthogonal square layers.  Rectangular layers
(:math:`N_l \ne N_{l-1}`): a law living in an :math:`N_a`-dimensional space enters the
:math:`N_L`-dimensional product as :math:`S_A(y N_L/N_a)`, and the chain of dimension changes
telescopes to one factor :math:`(1+y)/(N_0/N_L + y)`.

The pre-activation variances follow the q-map
:math:`q^{l+1} = \sigma_{w,l+1}^2 E[\phi_l(\sqrt{q^l} z)^2] + \sigma_{b,l+1}^2` from :math:`q^1 = q_0`
(default: the fixed point :math:`q^*` of the first layer, so a uniform network sits at :math:`q^*`).

Atoms of :math:`J J^T` (exact, from the laws; DESIGN.md section 3): generic ranks give the mass at 0,
:math:`1 - \operatorname{rank}(J)/N_L` with :math:`\operatorname{rank} J = \min(N_0, \min_l N_l,
\min_l N_l (1 - \mu_{D_l^2}(\{0\})))`; for square layers this is :math:`\max_l \mu_{D_l^2}(\{0\})`
(relu: 1/2 at every depth).  A nonzero atom needs every :math:`W_l` orthogonal and every :math:`D_l^2`
to have a nonzero atom :math:`a_l` of mass :math:`\mu_l`: it sits at :math:`\prod_l \sigma_{w,l}^2 a_l`
with mass :math:`(N_0 - \sum_l \max(0, N_{l-1} - N_l) - \sum_l N_l (1 - \mu_l))/N_L` when positive
(the dimension of the subspace on which every :math:`D_l` acts as the constant :math:`\sqrt{a_l}`;
Belinschi's rule for free multiplicative convolution).  Hard-tanh with orthogonal weights,
:math:`p = P(|h| < 1)`: atom at :math:`\sigma_w^{2L}` of mass :math:`1 - L(1-p)` while
:math:`L(1-p) < 1`, besides the atom :math:`1-p` at 0; linear orthogonal: one atom at
:math:`\sigma_w^{2L}`.  Gaussian layers (Marchenko--Pastur, no nonzero atom) never have one.
"""

from __future__ import annotations

import dataclasses
import math
from collections import Counter
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from .laws import (
    Atomic,
    DerivativeLaw,
    FreeProduct,
    HaarOrthogonal,
    MarchenkoPastur,
    _DimensionChange,
    _exactify,
)
from .parsing import parse_exact

__all__ = ["Layer", "Network", "JacobianLaw", "jacobian_law", "WEIGHTS"]

WEIGHTS = ("gaussian", "orthogonal")
#: Depth of a uniform network when none is given.
_DEFAULT_DEPTH = 64


def _resolve_activation(spec):
    try:
        from .activations import activation
    except ImportError:  # pragma: no cover - the activations module is part of the package
        return spec
    return activation(spec)


def _check_var(name, value, *, positive):
    """The variance as stored: numbers as given (numpy scalars as Python numbers), strings read exactly by
    :func:`spectral.parsing.parse_exact` (``"1.05"`` -> Fraction(21, 20); never evaluated)."""
    if isinstance(value, bool | np.bool_):
        raise TypeError(f"{name} must be a number, got {value!r}")
    if isinstance(value, str):
        value = parse_exact(value, name)
        if not isinstance(value, Fraction):
            value = float(value)
    elif isinstance(value, np.integer):
        value = int(value)
    elif isinstance(value, np.floating):
        value = float(value)
    elif not isinstance(value, int | float | Fraction) and not _is_sympy_number(value):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    rng = "> 0" if positive else ">= 0"
    try:
        v = float(value)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a real number {rng}, got {value!r}") from exc
    if not math.isfinite(v) or v < 0 or (positive and v == 0):
        raise ValueError(f"{name} must be finite and {rng}, got {value!r}")
    return value


def _is_sympy_number(value) -> bool:
    return type(value).__module__.startswith("sympy") and bool(getattr(value, "is_number", False))


def _check_width(name, value):
    """A width: None or an integer >= 1 (numpy integers accepted, stored as int)."""
    if value is None:
        return None
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"{name} must be a positive integer or None, got {value!r}")
    return int(value)


@dataclass(frozen=True)
class Layer:
    """One layer :math:`x \\mapsto \\phi(W x + b)`.

    Parameters
    ----------
    activation : activation spec or Activation (resolved by :func:`spectral.activations.activation`)
    weights : "gaussian" | "orthogonal"
    sigma_w2 : weight variance (> 0); W_ij ~ N(0, sigma_w2/N_in) or W = sqrt(sigma_w2) Q
    sigma_b2 : bias variance (>= 0)
    width : output width N_l (None: same as the input width)
    """

    activation: Any = "tanh"
    weights: str = "orthogonal"
    sigma_w2: Any = 1.0
    sigma_b2: Any = 0.0
    width: int | None = None

    def __post_init__(self):
        if not isinstance(self.weights, str) or self.weights not in WEIGHTS:
            raise ValueError(f"weights must be one of {WEIGHTS}, got {self.weights!r}")
        object.__setattr__(self, "sigma_w2", _check_var("sigma_w2", self.sigma_w2, positive=True))
        object.__setattr__(self, "sigma_b2", _check_var("sigma_b2", self.sigma_b2, positive=False))
        object.__setattr__(self, "width", _check_width("width", self.width))
        object.__setattr__(self, "activation", _resolve_activation(self.activation))


@dataclass(frozen=True)
class Network:
    """A feed-forward network at initialization.

    Uniform networks are given by ``activation, weights, sigma_w2, sigma_b2, depth`` (default depth 64);
    per-layer ones by ``layers`` (a sequence of :class:`Layer`, which then fixes ``depth``: a ``depth`` that
    differs from ``len(layers)`` is refused).  After construction ``layers`` is always the per-layer tuple
    and ``depth`` its length.  Integers may be numpy integers; variances may be exact strings ("21/20").
    ``q0``: pre-activation variance of the first layer (default: the fixed point q* of the first layer's
    q-map).  ``width``: input width N_0, only needed
    for rectangular networks (layers with ``width``).
    """

    activation: Any = "tanh"
    weights: str = "orthogonal"
    sigma_w2: Any = 1.05
    sigma_b2: Any = 2.01e-5
    depth: int | None = None
    layers: tuple[Layer, ...] | None = None
    q0: float | None = None
    width: int | None = None

    def __post_init__(self):
        if self.layers is not None:
            layers = tuple(self.layers)
            if not layers:
                raise ValueError("layers must contain at least one Layer (depth >= 1)")
            for i, layer in enumerate(layers):
                if not isinstance(layer, Layer):
                    raise TypeError(f"layers[{i}] must be a Layer, got {type(layer).__name__}")
            if self.depth is not None and (isinstance(self.depth, bool) or self.depth != len(layers)):
                raise ValueError(f"depth={self.depth!r} conflicts with the {len(layers)} layers given; the layers "
                                 "fix the depth (omit depth, or give depth=len(layers))")
            object.__setattr__(self, "layers", layers)
            object.__setattr__(self, "depth", len(layers))
            first = layers[0]
            object.__setattr__(self, "activation", first.activation)
            object.__setattr__(self, "weights", first.weights)
            object.__setattr__(self, "sigma_w2", first.sigma_w2)
            object.__setattr__(self, "sigma_b2", first.sigma_b2)
        else:
            d = _DEFAULT_DEPTH if self.depth is None else self.depth
            if isinstance(d, bool | np.bool_) or not isinstance(d, int | np.integer) or d < 1:
                raise ValueError(f"depth must be an integer >= 1, got {d!r}")
            d = int(d)
            layer = Layer(self.activation, self.weights, self.sigma_w2, self.sigma_b2)
            object.__setattr__(self, "activation", layer.activation)
            object.__setattr__(self, "sigma_w2", layer.sigma_w2)
            object.__setattr__(self, "sigma_b2", layer.sigma_b2)
            object.__setattr__(self, "depth", d)
            object.__setattr__(self, "layers", (layer,) * d)
        if self.q0 is not None:
            object.__setattr__(self, "q0", _check_var("q0", self.q0, positive=True))
        object.__setattr__(self, "width", _check_width("width", self.width))

    # ---------------------------------------------------------------- structure
    @property
    def uniform(self) -> bool:
        """True when all layers are identical (and square)."""
        first = self.layers[0]
        return all(layer == first for layer in self.layers) and first.width is None and self.width is None

    @property
    def widths(self) -> tuple | None:
        """(N_0, N_1, ..., N_L) or None for square networks."""
        if self.width is None and all(layer.width is None for layer in self.layers):
            return None
        n0 = self.width
        if n0 is None:
            n0 = next(layer.width for layer in self.layers if layer.width is not None)
        dims = [n0]
        for layer in self.layers:
            dims.append(layer.width if layer.width is not None else dims[-1])
        return tuple(dims)

    # ---------------------------------------------------------------- mean field
    def q_sequence(self) -> tuple[float, ...]:
        """Pre-activation variances q^1..q^L (floats)."""
        layers = self.layers
        needs_q = not all(_q_independent(layer.activation) for layer in layers)
        q0 = self.q0
        if not needs_q:  # the laws of D_l^2 do not depend on q (linear, relu, leaky relu)
            return (float(q0) if q0 is not None else 1.0,) * len(layers)
        from . import meanfield

        if q0 is None:
            first = layers[0]
            try:
                q0 = meanfield.mean_field(first.activation, float(first.sigma_w2),
                                          float(first.sigma_b2)).q_star
            except ValueError as exc:
                raise ValueError(f"{exc}; give q0 (the first layer's pre-activation variance) "
                                 "to start the q-map explicitly") from exc
            if self.uniform:
                return (float(q0),) * len(layers)
        qs = [float(q0)]
        for prev, nxt in zip(layers[:-1], layers[1:], strict=True):
            qs.append(float(meanfield.q_map(prev.activation, qs[-1], float(nxt.sigma_w2),
                                            float(nxt.sigma_b2))))
        return tuple(qs)

    def with_critical_bias(self) -> Network:
        """The same network with every sigma_b2 solved on the critical line chi_1 = 1 (given sigma_w2)."""
        from . import meanfield

        cache: dict = {}
        new_layers = []
        for layer in self.layers:
            key = (getattr(layer.activation, "name", repr(layer.activation)), layer.sigma_w2)
            if key not in cache:
                crit = meanfield.critical_point(layer.activation, sigma_w2=float(layer.sigma_w2))
                cache[key] = crit.sigma_b2
            new_layers.append(dataclasses.replace(layer, sigma_b2=cache[key]))
        if self.uniform:
            return dataclasses.replace(self, sigma_b2=new_layers[0].sigma_b2, layers=None)
        return dataclasses.replace(self, layers=tuple(new_layers))

    @classmethod
    def critical(cls, activation="tanh", *, sigma_w2=1.05, depth=64, weights="orthogonal",
                 **kwargs) -> Network:
        """Uniform network on the critical line: sigma_b2 solved from chi_1 = 1 at the given sigma_w2."""
        return cls(activation=activation, weights=weights, sigma_w2=sigma_w2, sigma_b2=0.0, depth=depth,
                   **kwargs).with_critical_bias()


def _q_independent(act) -> bool:
    """phi'^2(sqrt(q) z) has a q-independent law (piecewise constant phi' with kinks only at 0)."""
    pieces = getattr(act, "pieces", None)
    if not pieces:
        return False
    return all(b in (-math.inf, 0.0, math.inf) for lo, hi, _ in pieces for b in (float(lo), float(hi)))


# ---------------------------------------------------------------------------- the law of J J^T
def _weight_law(layer: Layer, n_in, n_out):
    s2 = _exactify(layer.sigma_w2)
    ratio = Fraction(n_in, n_out) if n_in is not None else Fraction(1)
    if layer.weights == "gaussian":
        return MarchenkoPastur(ratio=ratio, variance=s2 / ratio)
    if ratio <= 1:
        return HaarOrthogonal(s2)
    keep = 1 / ratio  # partial isometry: W^T W = sigma_w2 * projection of rank N_out
    return Atomic((0, s2), (1 - keep, keep), name=f"partial_isometry({s2}, {keep})")


class JacobianLaw(FreeProduct):
    """Spectral law of :math:`J J^T` for a :class:`Network` (see the module docstring).

    Attributes: ``network``, ``q`` (per-layer q^l), ``d2_laws`` (per-layer laws of D_l^2),
    ``weight_laws`` (per-layer laws of W_l^T W_l); property ``mean_fields`` (per-layer MeanField, None
    where the q-map has no fixed point).
    """

    def __init__(self, network: Network):
        if not isinstance(network, Network):
            raise TypeError(f"jacobian_law needs a Network, got {type(network).__name__}")
        self.network = network
        self.q = network.q_sequence()
        dims = network.widths
        self.dims = dims
        d2_cache: dict = {}
        d2_laws, w_laws, counts = [], [], Counter()
        n_last = dims[-1] if dims else None
        for l_idx, layer in enumerate(network.layers):
            act = layer.activation
            act_key = (getattr(act, "name", repr(act)), id(act))
            key = (act_key, 1.0 if _q_independent(act) else self.q[l_idx])
            if key not in d2_cache:
                # layers at different q have different p: one sympy symbol each (p, p_2, p_3, ...)
                sym = "p" if not d2_cache else f"p_{len(d2_cache) + 1}"
                # q* = 0 (ordered phase without bias): the law of D^2 is the limit q -> 0+, a point mass at
                # phi'(0)^2 (both one-sided values for a kink at 0), which q = 1e-300 reproduces exactly
                d2_cache[key] = DerivativeLaw(act, key[1] if key[1] > 0 else 1e-300, p_symbol=sym)
            d_law = d2_cache[key]
            n_in = dims[l_idx] if dims else None
            n_out = dims[l_idx + 1] if dims else None
            w_law = _weight_law(layer, n_in, n_out)
            d2_laws.append(d_law)
            w_laws.append(w_law)
            d_scale = Fraction(n_last, n_out) if dims else 1
            w_scale = Fraction(n_last, n_in) if dims else 1
            counts[("d", id(d_law), d_scale)] += 1
            counts[("w", w_law.name, w_scale)] += 1
        lookup = {("d", id(x)): x for x in d2_laws} | {("w", x.name): x for x in w_laws}
        factors = [(lookup[(kind, ident)], mult, scale) for (kind, ident, scale), mult in counts.items()]
        if dims and dims[0] != dims[-1]:
            factors.append((_DimensionChange(Fraction(dims[0], dims[-1])), 1, 1))
        self.d2_laws = tuple(d2_laws)
        self.weight_laws = tuple(w_laws)
        layer0 = network.layers[0]
        name = (f"JJ^T[{getattr(layer0.activation, 'name', layer0.activation)}, {layer0.weights}, "
                f"sigma_w2={layer0.sigma_w2}, sigma_b2={layer0.sigma_b2}, depth={network.depth}]")
        super().__init__(factors, name=name)

    @property
    def mean_fields(self):
        from . import meanfield

        out = []
        for layer in self.network.layers:
            try:
                out.append(meanfield.mean_field(layer.activation, float(layer.sigma_w2),
                                                float(layer.sigma_b2)))
            except ValueError:
                out.append(None)
        return tuple(out)

    @property
    def symbol_values(self) -> dict:
        """Numeric values of the sympy symbols used by exact moments (hard-tanh's p)."""
        out = {}
        for law in self.d2_laws:
            out.update(law.symbol_values)
        return out

    def exact_atoms(self):
        layers = self.network.layers
        L = len(layers)
        dims = self.dims or (1,) * (L + 1)
        n0, n_last = dims[0], dims[-1]
        # mass at zero from generic ranks
        rank = Fraction(n0)
        for l_idx in range(L):
            atoms = self.d2_laws[l_idx].exact_atoms() or ()
            z = sum((p for a, p in atoms if a == 0), Fraction(0))
            n_l = dims[l_idx + 1]
            rank = min(rank, Fraction(n_l), n_l * (1 - z), key=float)
        out = []
        zero_mass = 1 - rank / n_last
        if float(zero_mass) > 0:
            out.append((0, zero_mass))
        # nonzero atoms: all weights orthogonal, every D^2 with a nonzero atom
        if any(layer.weights != "orthogonal" for layer in layers):
            return tuple(out)
        budget = Fraction(n0) - sum(max(0, dims[i] - dims[i + 1]) for i in range(L))
        groups = Counter((id(self.d2_laws[i]), _exactify(layers[i].sigma_w2), dims[i + 1]) for i in range(L))
        laws_by_id = {id(x): x for x in self.d2_laws}
        options = []
        for (lid, s2, n_l), mult in groups.items():
            atoms = laws_by_id[lid].exact_atoms()
            nz = [(a, p) for a, p in atoms if a != 0]
            if not nz:
                return tuple(out)
            options.append([((s2 * a) ** mult, mult * n_l * (1 - p)) for a, p in nz])
        found: dict = {}

        def walk(i, loc, deficit):
            if float(deficit) >= float(budget):
                return
            if i == len(options):
                found[loc] = found.get(loc, 0) + (budget - deficit) / n_last
                return
            for a, d in options[i]:
                walk(i + 1, loc * a, deficit + d)

        walk(0, Fraction(1), Fraction(0))
        out.extend(sorted(found.items(), key=lambda t: float(t[0])))
        return tuple(out)


def jacobian_law(net: Network) -> JacobianLaw:
    """The spectral law of :math:`J J^T` for ``net`` (free multiplicative composition of the layers)."""
    return JacobianLaw(net)
