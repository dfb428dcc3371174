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
:math:`q^{l+1} = \sigma_{w,l+1}^2 \rho_{l+1} E[\phi_l(\sqrt{q^l} z)^2] + \sigma_{b,l+1}^2` from
:math:`q^1 = q_0` (default: the fixed point :math:`q^*` of the first layer, so a uniform network sits at
:math:`q^*`), with the width factor :math:`\rho_l = 1` for Gaussian layers and
:math:`\min(1, N_{l-1}/N_l)` for orthogonal ones (:func:`variance_factor`: a widening orthogonal layer
spreads the input's norm over more coordinates).

Atoms of :math:`J J^T` (exact, from the laws; docs/design.md §3.6): generic ranks give the mass at 0,
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
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from .fields import FractionField
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

#: A nonzero atom whose mass is within this fraction of the rank budget of 0 is none: with a float
#: Bernoulli parameter, L (1 - p) = 1 exactly leaves a rounding residue (~1e-16) that is not a mass.
ATOM_MASS_SNAP = 1e-12

__all__ = ["Layer", "Network", "JacobianLaw", "jacobian_law", "variance_factor", "WEIGHTS"]

WEIGHTS = ("gaussian", "orthogonal")
#: Depth of a uniform network when none is given.
_DEFAULT_DEPTH = 64


def _resolve_activation(spec):
    from .activations import activation

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


def check_width(name, value):
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
        object.__setattr__(self, "width", check_width("width", self.width))
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
    # None on input means "derive it" (depth from layers, layers from the shared parameters); after
    # construction both are always set, which is what every reader of a Network relies on.
    depth: int = None  # type: ignore[assignment]
    layers: tuple[Layer, ...] = None  # type: ignore[assignment]
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
        object.__setattr__(self, "width", check_width("width", self.width))

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
        r"""Pre-activation variances :math:`q^1..q^L` (floats): :math:`q^1 = q_0` (default :math:`q^*`), then
        :math:`q^{l} = \sigma_{w,l}^2 \rho_l E[\phi_{l-1}(\sqrt{q^{l-1}} z)^2] + \sigma_{b,l}^2` with the
        width factor :math:`\rho_l` of :func:`variance_factor` (1 except for widening orthogonal layers).
        Activations whose law of :math:`D^2` does not depend on q (relu, leaky relu, linear) get
        :math:`q_0` (or 1) at every layer."""
        layers = self.layers
        acts = {id(layer.activation): layer.activation for layer in layers}
        needs_q = not all(_q_independent(act) for act in acts.values())
        q0 = self.q0
        if not needs_q:  # the laws of D_l^2 do not depend on q (linear, relu, leaky relu)
            return (float(q0) if q0 is not None else 1.0,) * len(layers)
        from . import meanfield

        if q0 is None:
            first = layers[0]
            try:  # q* as MeanField.q_star defines it (the attracting fixed point reached from q = 1)
                q0 = meanfield.fixed_point(first.activation, float(first.sigma_w2), float(first.sigma_b2))
            except ValueError as exc:
                raise ValueError(f"{exc}; give q0 (the first layer's pre-activation variance) "
                                 "to start the q-map explicitly") from exc
            first_layer = layers[0]
            if (self.width is None and first_layer.width is None
                    and all(layer is first_layer or layer == first_layer for layer in layers)):
                return (float(q0),) * len(layers)  # uniform and square: every layer sits at q*
        dims = self.widths
        qs = [float(q0)]
        for l_idx, (prev, nxt) in enumerate(zip(layers[:-1], layers[1:], strict=True), start=1):
            rho = variance_factor(nxt.weights, dims[l_idx], dims[l_idx + 1]) if dims else 1
            qs.append(float(meanfield.q_map(prev.activation, qs[-1], float(nxt.sigma_w2) * float(rho),
                                            float(nxt.sigma_b2))))
        return tuple(qs)

    def with_critical_bias(self) -> Network:
        """The same network with every sigma_b2 solved on the critical line chi_1 = 1 (given sigma_w2)."""
        from . import meanfield

        if self.uniform:
            # one layer to solve; layers=None: rebuilt from the shared parameters by __post_init__ (a key and a
            # copy per layer cost 0.5 s at depth 10^4, mostly printing the activation's sympy expression)
            first = self.layers[0]
            crit = meanfield.critical_point(first.activation, sigma_w2=float(first.sigma_w2))
            return dataclasses.replace(self, sigma_b2=crit.sigma_b2, layers=None)  # type: ignore[arg-type]
        cache: dict = {}
        new_layers = []
        for layer in self.layers:
            key = (getattr(layer.activation, "name", repr(layer.activation)), layer.sigma_w2)
            if key not in cache:
                crit = meanfield.critical_point(layer.activation, sigma_w2=float(layer.sigma_w2))
                cache[key] = crit.sigma_b2
            new_layers.append(dataclasses.replace(layer, sigma_b2=cache[key]))
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


def variance_factor(weights: str, n_in: int | None, n_out: int | None) -> Fraction:
    r"""Width factor :math:`\rho` of a layer's pre-activation variance:
    :math:`\operatorname{Var}(h_i \mid x) = \sigma_w^2 \rho\, \|x\|^2/N_{in} + \sigma_b^2`.

    For :math:`h = W x + b` with :math:`x \in \mathbb{R}^{N_{in}}`, :math:`h \in \mathbb{R}^{N_{out}}`:

    * Gaussian, :math:`W_{ij} \sim N(0, \sigma_w^2/N_{in})`: :math:`E[(Wx)_i^2] = \sigma_w^2 \|x\|^2/N_{in}`
      for any :math:`N_{out}`, so :math:`\rho = 1`.
    * Orthogonal, :math:`W = \sigma_w Q` with :math:`Q` Haar on the :math:`N_{out} \times N_{in}` Stiefel
      manifold.  Contracting or square (:math:`N_{out} \le N_{in}`, :math:`Q Q^T = I`): row :math:`i` of
      :math:`Q` is a uniform unit vector of :math:`\mathbb{R}^{N_{in}}`, so
      :math:`E[(Qx)_i^2] = \|x\|^2/N_{in}`.  Widening (:math:`N_{out} > N_{in}`, :math:`Q^T Q = I`):
      :math:`\|Qx\| = \|x\|` and :math:`Qx/\|x\|` is uniform on the unit sphere of
      :math:`\mathbb{R}^{N_{out}}`, so :math:`E[(Qx)_i^2] = \|x\|^2/N_{out}`.  Hence
      :math:`\rho = N_{in}/\max(N_{in}, N_{out}) = \min(1, N_{in}/N_{out})`.

    In both cases :math:`\rho = E\operatorname{tr}(W W^T)/(\sigma_w^2 N_{out})`, the mean of the law of
    :math:`W W^T/\sigma_w^2` in the output space.  With :math:`\|x^{l-1}\|^2/N_{l-1} \to
    E[\phi(\sqrt{q^{l-1}} z)^2]` (mean field) the q-map becomes :math:`q^l = \sigma_{w,l}^2 \rho_l
    E[\phi_{l-1}(\sqrt{q^{l-1}} z)^2] + \sigma_{b,l}^2`, and an input with
    :math:`\|x^0\|^2 = N_0 (q^1 - \sigma_{b,1}^2)/(\sigma_{w,1}^2 \rho_1)` gives first-layer
    pre-activations of variance exactly :math:`q^1`.  ``n_in``/``n_out`` None (square network): 1.
    """
    if weights not in WEIGHTS:
        raise ValueError(f"weights must be one of {WEIGHTS}, got {weights!r}")
    if weights == "gaussian" or n_in is None or n_out is None or n_out <= n_in:
        return Fraction(1)
    return Fraction(n_in, n_out)


def _activation_key(act):
    """Hashable identity of an activation for grouping layers.

    A registry activation (``family`` other than ``"custom"``) is fixed by its value (name, family and
    parameters; :class:`~spectral.activations.Activation` compares and hashes these), so equal ones built
    separately, as per-layer networks do, share one law of D^2.  A custom activation is only known by its
    function objects, which equality ignores: it is keyed by the object itself and never merged.
    """
    if getattr(act, "family", "custom") != "custom":
        try:
            hash(act)
        except TypeError:  # an unhashable parameter: fall back to identity
            return ("object", id(act))
        return ("value", act)
    return ("object", id(act))


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
    r"""Spectral law of :math:`J J^T` for a :class:`Network` (see the module docstring).

    Attributes: ``network``, ``q`` (per-layer q^l), ``d2_laws`` (per-layer laws of D_l^2),
    ``weight_laws`` (per-layer laws of W_l^T W_l); property ``mean_fields`` (per-layer MeanField, None
    where the q-map has no fixed point).

    Layers are grouped by a hashable key, never by printing: a run of consecutive layers with the same
    ``Layer`` object, q and widths is handled once; the law of :math:`D^2` is shared by the layers with the
    same activation (:func:`_activation_key`) and q, and a weight law by the layers with the same
    ensemble, :math:`\sigma_w^2` and widths (then merged by the law's exact name, as before).  The free
    product has one factor per distinct (law, scale) with the number of layers as its multiplicity, so
    its cost does not grow with depth.  :meth:`exact_atoms` is computed once per law.
    """

    def __init__(self, network: Network):
        if not isinstance(network, Network):
            raise TypeError(f"jacobian_law needs a Network, got {type(network).__name__}")
        self.network = network
        self.q = network.q_sequence()
        dims = network.widths
        self.dims = dims
        layers = network.layers
        n_last: Any = dims[-1] if dims else None  # an int wherever it is used (when dims is set)
        act_keys: dict = {}  # id(activation) -> _activation_key(activation)
        d2_cache: dict = {}  # (activation key, q) -> DerivativeLaw
        w_cache: dict = {}  # (weights, sigma_w2, n_in, n_out) -> weight law
        w_by_name: dict = {}  # weight laws with equal names are the same law: keep the first
        counts: dict = {}  # (kind, identity, scale) -> [law, multiplicity], in order of first appearance
        d2_laws: list = []
        w_laws: list = []
        runs: list = []
        # runs of consecutive layers with the same Layer object, q and widths share everything below
        sig: list[tuple[Any, ...]] = [(id(layer), self.q[i], dims[i] if dims else None, dims[i + 1] if dims else None)
               for i, layer in enumerate(layers)]
        i = 0
        n_layers = len(layers)
        while i < n_layers:
            j = i + 1
            while j < n_layers and sig[j] == sig[i]:
                j += 1
            run = j - i
            layer = layers[i]
            act = layer.activation
            akey = act_keys.get(id(act))
            if akey is None:
                akey = act_keys[id(act)] = _activation_key(act)
            key = (akey, 1.0 if _q_independent(act) else self.q[i])
            d_law = d2_cache.get(key)
            if d_law is None:
                # layers at different q have different p: one sympy symbol each (p, p_2, p_3, ...)
                sym = "p" if not d2_cache else f"p_{len(d2_cache) + 1}"
                # q* = 0 (ordered phase without bias): the law of D^2 is the limit q -> 0+, a point mass at
                # phi'(0)^2 (both one-sided values for a kink at 0), which q = 1e-300 reproduces exactly
                d_law = d2_cache[key] = DerivativeLaw(act, key[1] if key[1] > 0 else 1e-300, p_symbol=sym)
            n_in, n_out = sig[i][2], sig[i][3]  # ints when dims is set (the only case they are used)
            wkey = (layer.weights, layer.sigma_w2, n_in, n_out)
            w_law = w_cache.get(wkey)
            if w_law is None:
                w_law = _weight_law(layer, n_in, n_out)
                w_law = w_cache[wkey] = w_by_name.setdefault(w_law.name, w_law)
            d2_laws.extend([d_law] * run)
            w_laws.extend([w_law] * run)
            d_scale = Fraction(n_last, n_out) if dims else 1
            w_scale = Fraction(n_last, n_in) if dims else 1
            for ckey, law in ((("d", id(d_law), d_scale), d_law), (("w", w_law.name, w_scale), w_law)):
                entry = counts.setdefault(ckey, [law, 0])
                entry[1] += run
            runs.append((i, run))
            i = j
        factors = [(law, mult, ckey[2]) for ckey, (law, mult) in counts.items()]
        if dims and dims[0] != dims[-1]:
            factors.append((_DimensionChange(Fraction(dims[0], dims[-1])), 1, 1))
        self.d2_laws = tuple(d2_laws)
        self.weight_laws = tuple(w_laws)
        self._layer_runs = tuple(runs)  # (first layer, number of layers) of each run
        self._exact_atoms = None
        self._singular: set = set()  # products of atoms whose Belinschi mass is exactly 0
        layer0 = network.layers[0]
        name = (f"JJ^T[{getattr(layer0.activation, 'name', layer0.activation)}, {layer0.weights}, "
                f"sigma_w2={layer0.sigma_w2}, sigma_b2={layer0.sigma_b2}, depth={network.depth}]")
        super().__init__(factors, name=name)

    def _moment_series(self, field, n):
        key = (repr(field), n)
        if isinstance(field, FractionField) and key not in self._cache:
            lin = self._g_linear_factors(field)
            if lin is not None and len(lin[1]) == 2 and all(isinstance(e, int) for _, e in lin[1]):
                self._cache[key] = _two_power_moments(n, Fraction(lin[0]), lin[1])
        return super()._moment_series(field, n)

    @property
    def mean_fields(self):
        from . import meanfield

        out: list = []
        cache: dict[tuple, Any] = {}  # a MeanField, or None where the layer has no fixed point
        for i, run in self._layer_runs:
            layer = self.network.layers[i]
            key = (_activation_key(layer.activation), float(layer.sigma_w2), float(layer.sigma_b2))
            if key not in cache:
                try:
                    cache[key] = meanfield.mean_field(layer.activation, key[1], key[2])
                except ValueError:
                    cache[key] = None
            out.extend([cache[key]] * run)
        return tuple(out)

    @property
    def symbol_values(self) -> dict:
        """Numeric values of the sympy symbols used by exact moments (hard-tanh's p)."""
        out: dict = {}
        for i, _ in self._layer_runs:
            out.update(self.d2_laws[i].symbol_values)
        return out

    def exact_atoms(self):
        """Atoms of :math:`J J^T` (module docstring), exact where the laws are; computed once per law."""
        if self._exact_atoms is None:
            self._exact_atoms = self._compute_exact_atoms()
        return self._exact_atoms

    def _compute_exact_atoms(self):
        dims = self.dims or (1,) * (len(self.network.layers) + 1)
        zeros: dict = {}  # id(law of D^2) -> (its exact atoms, its mass at 0)
        for i, _ in self._layer_runs:  # consecutive layers with the same Layer, q and widths
            law = self.d2_laws[i]
            if id(law) not in zeros:
                atoms = law.exact_atoms() or ()
                zeros[id(law)] = (atoms, sum((p for a, p in atoms if a == 0), Fraction(0)))
        out = []
        zero_mass = self._zero_atom(dims, zeros)
        if float(zero_mass) > 0:
            out.append((0, zero_mass))
        out.extend(self._nonzero_atoms(dims, zeros))
        return tuple(out)

    def _zero_atom(self, dims, zeros) -> Fraction:
        """Mass at 0 from generic ranks: the rank of J is the smallest of the layers' ranks."""
        rank = Fraction(dims[0])
        for i, _ in self._layer_runs:
            z = zeros[id(self.d2_laws[i])][1]
            n_l = dims[i + 1]
            rank = min(rank, Fraction(n_l), n_l * (1 - z), key=float)
        return 1 - rank / dims[-1]

    def _nonzero_atoms(self, dims, zeros) -> list:
        """Nonzero atoms: only when all weights are orthogonal and every D^2 has a nonzero atom."""
        layers, runs = self.network.layers, self._layer_runs
        if any(layers[i].weights != "orthogonal" for i, _ in runs):
            return []
        budget = Fraction(dims[0]) - sum(run * max(0, dims[i] - dims[i + 1]) for i, run in runs)
        groups: dict = {}  # (id(law of D^2), exact sigma_w2, N_l) -> number of layers, in order of appearance
        s2_exact: dict = {}
        for i, run in runs:
            s2 = layers[i].sigma_w2
            if s2 not in s2_exact:
                s2_exact[s2] = _exactify(s2)
            gkey = (id(self.d2_laws[i]), s2_exact[s2], dims[i + 1])
            groups[gkey] = groups.get(gkey, 0) + run
        options = []
        for (lid, s2, n_l), mult in groups.items():
            nz = [(a, p) for a, p in zeros[lid][0] if a != 0]
            if not nz:
                return []
            options.append([((s2 * a) ** mult, mult * n_l * (1 - p)) for a, p in nz])
        found: dict = {}
        n_last = dims[-1]

        self._singular.update(_zero_mass_products(options, budget))

        def walk(i, loc, deficit):
            if float(deficit) >= float(budget) * (1 - ATOM_MASS_SNAP):
                return
            if i == len(options):
                found[loc] = found.get(loc, 0) + (budget - deficit) / n_last
                return
            for a, d in options[i]:
                walk(i + 1, loc * a, deficit + d)

        walk(0, Fraction(1), Fraction(0))
        return sorted(found.items(), key=lambda t: float(t[0]))

    def solver_factors(self):
        """The free product's record, with the points where an atom's mass is exactly 0 (``singular_points``:
        leaky relu or selu, orthogonal weights, depth 2, at the product of the atoms of mass 1/2), where the
        density has an inverse-square-root singularity (docs/design.md §5.10)."""
        rec = super().solver_factors()
        self.exact_atoms()
        return dataclasses.replace(rec, singular_points=tuple(sorted(self._singular)),
                                   log_floor=self._log_floor())

    def _log_floor(self) -> float:
        r"""The log of a lower bound of the spectrum from the factors' supports, -inf where none is known: for
        square orthogonal layers whose D^2 is atomic with no atom at 0, :math:`\sum_l \log(\sigma_{w,l}^2 \min
        D_l^2)` (the spectrum of a free product of positive laws lies in the product of their supports); a log,
        as the bound at depth 256 is below the float range (leaky relu(0.01): 1e-4 per layer)."""
        layers = self.network.layers
        square = not (self.dims and len(set(self.dims)) > 1)
        if not square or any(layers[i].weights != "orthogonal" for i, _ in self._layer_runs):
            return -math.inf
        out = 0.0
        for i, run in self._layer_runs:
            atoms = self.d2_laws[i].exact_atoms() if self.d2_laws[i].is_atomic else ()
            lo = min((float(a) for a, p in atoms if float(p) > 0), default=0.0)
            if lo <= 0:
                return -math.inf
            out += run * math.log(float(layers[i].sigma_w2) * lo)
        return out


def _zero_mass_products(options, budget) -> set:
    """Locations of the products of atoms (one option per layer group: (location, deficit)) whose Belinschi mass
    is exactly 0 (deficit equal to the budget): leaky relu or selu with orthogonal weights at depth 2."""
    out: set = set()

    def walk(i, loc, deficit):
        if deficit > budget:
            return
        if i == len(options):
            if deficit == budget:
                out.add(float(loc))
            return
        for a, d in options[i]:
            walk(i + 1, loc * a, deficit + d)

    walk(0, Fraction(1), Fraction(0))
    return out


def _two_power_moments(n: int, big_c: Fraction, facs) -> list:
    r"""Exact :math:`m_1..m_n` when :math:`g(y) = (1+y)/S(y) = C (1 + b_1 y)^{e_1} (1 + b_2 y)^{e_2}` with
    rational :math:`b_i = p_i/q_i` and integer :math:`e_i` (Bernoulli-type networks: relu with Gaussian
    weights gives :math:`g = (1+y)(1+2y)^L`, with orthogonal weights :math:`(1+y)^{1-L}(1+2y)^L`):

    .. math:: m_k = rac{C^k}{k\,(q_1 q_2)^{k-1}} \sum_{j=0}^{k-1} inom{k e_1}{j} (p_1 q_2)^j
              inom{k e_2}{k-1-j} (p_2 q_1)^{k-1-j}

    (Lagrange inversion).  The terms :math:`A_j = inom{a}{j} r^j` follow the exact integer recurrence
    :math:`A_{j+1} = A_j (a - j)/(j + 1) \cdot r` (the division is exact, also for :math:`a < 0`), so a
    moment costs :math:`O(k)` big-integer products and no binomial is formed from scratch.
    """
    (b1, e1), (b2, e2) = [(Fraction(b), int(e)) for b, e in facs]
    r1 = b1.numerator * b2.denominator
    r2 = b2.numerator * b1.denominator
    qq = b1.denominator * b2.denominator

    def terms(a, r, length):
        out, t = [1], 1
        for j in range(length - 1):
            t = t * (a - j) // (j + 1) * r
            out.append(t)
        return out

    res, ck = [], Fraction(1)
    for k in range(1, n + 1):
        ck *= big_c
        t1, t2 = terms(k * e1, r1, k), terms(k * e2, r2, k)
        tot = sum(x * y for x, y in zip(t1, reversed(t2), strict=True))
        res.append(ck * Fraction(tot, k * qq ** (k - 1)))
    return res


def jacobian_law(net: Network) -> JacobianLaw:
    """The spectral law of :math:`J J^T` for ``net`` (free multiplicative composition of the layers); ``net`` may
    also be a spec (:class:`spectral.Sequential`: :func:`spectral.architecture.spec_jacobian_law`)."""
    from .architecture.layers import Sequential  # imported here: the architecture package imports this module

    if isinstance(net, Sequential):
        from .architecture.jacobian import spec_jacobian_law

        return spec_jacobian_law(net)
    return JacobianLaw(net)
