r"""Composable network specs: small frozen records, validated on construction.

A spec is a :class:`Sequential` of entries acting on the vector :math:`x \in \mathbb R^N`:

* :class:`Dense` -- :math:`x \mapsto W x + b`, :math:`W_{ij} \sim N(0, \sigma_w^2/N_{in})` or
  :math:`W = \sigma_w Q` (Haar orthogonal), :math:`b_i \sim N(0, \sigma_b^2)`;
* :class:`Conv` -- circular 1-D convolution of :math:`x` read as ``channels`` x ``spatial`` (channel-major,
  :math:`x_{a n + i}` = channel :math:`a`, position :math:`i`), Gaussian or delta-orthogonal kernels
  (:mod:`spectral.architecture.conv` states the kernels and the mapping of its law onto Dense's);
* :class:`Nonlinearity` -- :math:`x \mapsto \phi(x)` coordinate-wise (a :class:`spectral.activations.Activation`
  is accepted wherever an entry is expected);
* :class:`Residual` -- :math:`x \mapsto \alpha x + \beta f(x)`, ``f`` the ``branch`` (a list of entries whose
  output width equals its input width);
* :class:`LayerNorm` -- :math:`x \mapsto (x - \bar x)/\operatorname{sd}(x)`; :class:`RMSNorm` --
  :math:`x \mapsto x/\sqrt{\|x\|^2/N}` (no gain, no epsilon: their values at initialization);
* :class:`Repeat` -- ``times`` copies of a list of entries (fresh random weights in each copy).

``spectral.Network(activation, weights, sigma_w2, sigma_b2, depth)`` is the spec
``Repeat(depth, [Dense(weights, sigma_w2, sigma_b2), Nonlinearity(activation)])``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from ..parsing import parse_exact
from ..product import check_width

__all__ = ["Dense", "Conv", "Nonlinearity", "Residual", "LayerNorm", "RMSNorm", "Repeat", "Sequential", "WEIGHTS",
           "as_entry", "as_entries", "flat_entries"]

WEIGHTS = ("gaussian", "orthogonal")
#: kernels of a Conv entry: i.i.d. Gaussian taps, or delta-orthogonal (Xiao et al. 2018)
CONV_WEIGHTS = ("gaussian", "delta_orthogonal")


def _number(name: str, value, *, low: float = 0.0, allow_low: bool = True):
    """A real number >= low (> low unless allow_low), stored as given (exact strings read as Fractions)."""
    if isinstance(value, bool | np.bool_):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    if isinstance(value, str):
        value = parse_exact(value, name)
    elif isinstance(value, np.integer):
        value = int(value)
    elif isinstance(value, np.floating):
        value = float(value)
    if not isinstance(value, int | float | Fraction):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    v = float(value)
    rng = f">= {low:g}" if allow_low else f"> {low:g}"
    if not math.isfinite(v) or v < low or (not allow_low and v == low):
        raise ValueError(f"{name} must be finite and {rng}, got {value!r}")
    return value


@dataclass(frozen=True)
class Dense:
    """Linear layer :math:`h = W x + b` (see the module docstring); ``width``: output width (None: unchanged)."""

    weights: str = "gaussian"
    sigma_w2: Any = 1.0
    sigma_b2: Any = 0.0
    width: int | None = None

    def __post_init__(self):
        if not isinstance(self.weights, str) or self.weights not in WEIGHTS:
            raise ValueError(f"weights must be one of {WEIGHTS}, got {self.weights!r}")
        object.__setattr__(self, "sigma_w2", _number("sigma_w2", self.sigma_w2, allow_low=False))
        object.__setattr__(self, "sigma_b2", _number("sigma_b2", self.sigma_b2))
        object.__setattr__(self, "width", check_width("width", self.width))


def _size(name: str, value, low: int = 1) -> int:
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | np.integer):
        raise TypeError(f"{name} must be an integer >= {low}, got {type(value).__name__} {value!r}")
    if value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


@dataclass(frozen=True)
class Conv:
    r"""Circular 1-D convolution, ``channels`` in and out, ``spatial`` positions, ``kernel`` taps (stride 1,
    circular padding): :math:`y_{a,i} = \sum_{b,t} K_{a b t}\, x_{b, i + t - \lfloor k/2 \rfloor}` (positions mod
    ``spatial``) plus a bias :math:`b_a \sim N(0, \sigma_b^2)` per channel.

    ``weights``: "gaussian", :math:`K_{abt} \sim N(0, \sigma_w^2/(c k))` (fan-in :math:`c k`); or
    "delta_orthogonal" (Xiao et al. 2018), :math:`K_{\cdot\cdot t} = \sigma_w H` (:math:`H` Haar orthogonal
    :math:`c \times c`) at the centre tap :math:`t = \lfloor k/2 \rfloor` and 0 elsewhere.  The entry acts on
    vectors of width ``channels * spatial``; ``1 <= kernel <= spatial``.
    """

    weights: str = "gaussian"
    sigma_w2: Any = 1.0
    sigma_b2: Any = 0.0
    channels: int = 1
    kernel: int = 1
    spatial: int = 1

    def __post_init__(self):
        if not isinstance(self.weights, str) or self.weights not in CONV_WEIGHTS:
            raise ValueError(f"weights must be one of {CONV_WEIGHTS}, got {self.weights!r}")
        object.__setattr__(self, "sigma_w2", _number("sigma_w2", self.sigma_w2, allow_low=False))
        object.__setattr__(self, "sigma_b2", _number("sigma_b2", self.sigma_b2))
        object.__setattr__(self, "channels", _size("channels", self.channels))
        object.__setattr__(self, "spatial", _size("spatial", self.spatial))
        k = _size("kernel", self.kernel)
        if k > self.spatial:
            raise ValueError(f"kernel must be <= spatial ({self.spatial}) for a circular convolution, got {k}: "
                             "use a smaller kernel or more positions")
        object.__setattr__(self, "kernel", k)

    @property
    def width(self) -> int:
        """Width of the vectors it maps: ``channels * spatial``."""
        return self.channels * self.spatial


@dataclass(frozen=True)
class Nonlinearity:
    """Coordinate-wise activation; ``activation``: any spelling :func:`spectral.activations.activation` reads."""

    activation: Any = "tanh"

    def __post_init__(self):
        from ..activations import activation

        object.__setattr__(self, "activation", activation(self.activation))


@dataclass(frozen=True)
class LayerNorm:
    """:math:`x \\mapsto (x - \\bar x)/\\operatorname{sd}(x)`: output second moment 1; Jacobian
    :math:`\\operatorname{sd}(x)^{-1}` times a projection removing two directions (no change of the bulk law)."""


@dataclass(frozen=True)
class RMSNorm:
    """:math:`x \\mapsto x/\\sqrt{\\|x\\|^2/N}`: output second moment 1; Jacobian :math:`q^{-1/2}` times a
    projection removing one direction."""


@dataclass(frozen=True)
class Residual:
    r"""Residual block :math:`x \mapsto \alpha x + \beta f(x)`, ``f`` given by ``branch`` (entries).

    ``alpha`` >= 0, ``beta`` >= 0, not both 0 (the signs do not change the singular values at infinite
    width: :math:`-X` has the law of :math:`X`)."""

    branch: tuple = ()
    alpha: Any = 1.0
    beta: Any = 1.0

    def __post_init__(self):
        object.__setattr__(self, "branch", as_entries(self.branch, "branch"))
        if not self.branch:
            raise ValueError("branch must contain at least one entry (a Dense layer)")
        a = _number("alpha", self.alpha)
        b = _number("beta", self.beta)
        if float(a) == 0 and float(b) == 0:
            raise ValueError("alpha and beta are both 0: the block would be the zero map; give alpha > 0 or beta > 0")
        object.__setattr__(self, "alpha", a)
        object.__setattr__(self, "beta", b)


@dataclass(frozen=True)
class Repeat:
    """``times`` copies of ``layers`` in sequence (each copy with its own random weights)."""

    times: int = 1
    layers: tuple = ()

    def __post_init__(self):
        t = self.times
        if isinstance(t, bool | np.bool_) or not isinstance(t, int | np.integer) or t < 1:
            raise ValueError(f"times must be an integer >= 1, got {t!r}")
        object.__setattr__(self, "times", int(t))
        object.__setattr__(self, "layers", as_entries(self.layers, "layers"))
        if not self.layers:
            raise ValueError("layers of Repeat must contain at least one entry")


def flat_entries(entries):
    """The entries in order with every :class:`Repeat` expanded (``times`` copies of its layers)."""
    for e in entries:
        if isinstance(e, Repeat):
            for _ in range(e.times):
                yield from flat_entries(e.layers)
        else:
            yield e


@dataclass(frozen=True)
class Sequential:
    """A whole network: ``layers`` (entries) applied in order to an input :math:`x^0` whose coordinates have
    mean square ``input_q`` (> 0); ``width``: the input width :math:`N_0` for sampling (optional; default
    ``channels * spatial`` of the first Conv entry, if any)."""

    layers: tuple = ()
    input_q: Any = 1.0
    width: int | None = None

    def __post_init__(self):
        object.__setattr__(self, "layers", as_entries(self.layers, "layers"))
        if not self.layers:
            raise ValueError("layers must contain at least one entry")
        object.__setattr__(self, "input_q", _number("input_q", self.input_q, allow_low=False))
        width = check_width("width", self.width)
        object.__setattr__(self, "width", width if width is not None else _conv_width(self.layers))

    @property
    def depth(self) -> int:
        """Number of Dense and Conv layers on the main path, counting repeats (residual branches not counted)."""
        return _count_dense(self.layers)


ENTRY_TYPES = (Dense, Conv, Nonlinearity, LayerNorm, RMSNorm, Residual, Repeat)


def as_entry(x, where: str = "entry"):
    """An entry of a spec: the records above, or an :class:`~spectral.activations.Activation` (wrapped)."""
    from ..activations import Activation

    if isinstance(x, ENTRY_TYPES):
        return x
    if isinstance(x, Activation):
        return Nonlinearity(x)
    names = ", ".join(t.__name__ for t in ENTRY_TYPES)
    raise TypeError(f"{where} must be one of {names} or an Activation, got {type(x).__name__} {x!r}")


def as_entries(xs, where: str = "layers") -> tuple:
    """A tuple of entries from one entry or a sequence of them."""
    if isinstance(xs, (*ENTRY_TYPES, Sequential)) or not isinstance(xs, list | tuple):
        from ..activations import Activation

        if isinstance(xs, Sequential):
            return xs.layers
        if isinstance(xs, (*ENTRY_TYPES, Activation)):
            return (as_entry(xs, where),)
        raise TypeError(f"{where} must be a list of entries, got {type(xs).__name__} {xs!r}")
    return tuple(as_entry(x, f"{where}[{i}]") for i, x in enumerate(xs))


def _conv_width(entries) -> int | None:
    for e in entries:
        if isinstance(e, Conv):
            return e.width
        inner = e.layers if isinstance(e, Repeat) else e.branch if isinstance(e, Residual) else ()
        w = _conv_width(inner)
        if w is not None:
            return w
    return None


def _count_dense(entries) -> int:
    n = 0
    for e in entries:
        if isinstance(e, Dense | Conv):
            n += 1
        elif isinstance(e, Repeat):
            n += e.times * _count_dense(e.layers)
    return n
