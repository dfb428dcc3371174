r"""Activation functions: :math:`\phi`, :math:`\phi'`, :math:`\phi''`, sympy expression, kinks; the registry.

An :class:`Activation` bundles vectorized :math:`\phi, \phi', \phi''` (NumPy arrays, and any array
namespace that :mod:`array_api_compat` recognises, e.g. CuPy), the sympy expression of :math:`\phi` in
``X = sympy.Symbol("x", real=True)``, the points where :math:`\phi'` jumps (``kinks``), the pieces of a
piecewise-constant :math:`\phi'` (``pieces``; these give the Bernoulli-type laws of
:math:`D^2 = \phi'(h)^2`), and the parameters it was built with.

Registry (:data:`ACTIVATIONS`, every entry callable with its defaults):

==============  ====================================================================  ====================
name            :math:`\phi(x)`                                                       parameters (default)
==============  ====================================================================  ====================
linear          :math:`x`
relu            :math:`\max(0, x)` (= ``leaky_relu(alpha=0)``)
leaky_relu      :math:`x` for :math:`x \ge 0`, :math:`\alpha x` otherwise              alpha (1/100)
hard_tanh       :math:`\max(-1, \min(1, x))`
tanh            :math:`\tanh x`
erf             :math:`\operatorname{erf}(b x)` (as in PyTorch, JAX, neural-tangents)  b (1)
erf_scaled      :math:`\operatorname{erf}(\sqrt{\pi}\,x/2)` = ``erf(b=sqrt(pi)/2)``
sigmoid         :math:`1/(1+e^{-x})`
selu            :math:`\lambda x` (:math:`x\ge0`), :math:`\lambda\alpha(e^x-1)`
elu             :math:`x` (:math:`x\ge0`), :math:`\alpha(e^x-1)`                       alpha (1)
gelu            :math:`x\,\Phi(x)` (exact, not the tanh approximation)
swish (silu)    :math:`x/(1+e^{-x})`
softplus        :math:`\log(1+e^{\beta x})/\beta`                                      beta (1)
sin             :math:`\sin x`
==============  ====================================================================  ====================

selu has Klambauer et al.'s (2017) constants; ``erf_scaled`` has :math:`\phi'(0) = 1` like tanh.  The user guide's
table of activations (``docs/guide/activations.md``) adds :math:`\phi'`, the closed forms and the critical lines.

:func:`activation` resolves a name (``"leaky_relu(0.1)"``, ``"leaky_relu(alpha=0.1)"``, ``"elu(alpha=1/2)"``,
``"erf(2)"``, ``"erf(b=sqrt(pi)/2)"``, ``"softplus(beta=2)"``; decimal strings
are kept exact as :class:`fractions.Fraction`), an :class:`Activation`, a Python callable or a sympy
expression.  ``relu`` is built by the same code as ``leaky_relu`` with :math:`\alpha = 0`, so the two agree
in every downstream result.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np
import sympy

__all__ = ["Activation", "ACTIVATIONS", "ALIASES", "TRANSFORM_SPELLINGS", "X", "activation", "split_activations"]

#: The sympy symbol in which every ``Activation.expr`` is written.
X = sympy.Symbol("x", real=True)

_SQRT2 = math.sqrt(2.0)
_INV_SQRT2PI = 1.0 / math.sqrt(2.0 * math.pi)
#: SELU constants (Klambauer et al. 2017), 31 significant digits.
SELU_LAMBDA = Fraction("1.050700987355480493419334985294")
SELU_ALPHA = Fraction("1.673263242354377284817042991672")


# ------------------------------------------------------------------------------ array namespace
def _ns(x):
    """(namespace, array): NumPy for Python/NumPy inputs (as float arrays), else the array's namespace."""
    if isinstance(x, np.ndarray | np.generic | float | int | list | tuple):
        return np, np.asarray(x, dtype=float)
    from array_api_compat import array_namespace, is_numpy_namespace

    xp = array_namespace(x)
    if is_numpy_namespace(xp):
        return np, np.asarray(x, dtype=float)
    return xp, x


def _special(xp, fname):
    """erf/erfc for a namespace (scipy.special for NumPy, cupyx.scipy.special for CuPy)."""
    if xp is np:
        import scipy.special as sc

        return getattr(sc, fname)
    from array_api_compat import is_cupy_namespace

    if is_cupy_namespace(xp):
        import cupyx.scipy.special as csc

        return getattr(csc, fname)
    raise TypeError(f"{fname} is not available for arrays of namespace {xp.__name__}; use NumPy or CuPy arrays")


def _sigmoid(xp, x):
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _npdf(xp, x):
    return _INV_SQRT2PI * xp.exp(-0.5 * x * x)


def _ncdf(xp, x):
    return 0.5 * _special(xp, "erfc")(-x / _SQRT2)


# ------------------------------------------------------------------------------ the dataclass
@dataclass(frozen=True)
class Activation:
    r"""An activation function with its derivatives and the data that mean field and laws need.

    Attributes
    ----------
    name : str
        Canonical name, e.g. ``"tanh"``, ``"leaky_relu(alpha=1/10)"``.
    phi, dphi, ddphi : callable
        Vectorized :math:`\phi, \phi', \phi''` (NumPy or any array-API namespace). ``ddphi`` is ``None``
        for a custom activation whose second derivative is unknown (then :math:`\chi_2` is NaN).
        At a kink, ``dphi`` returns the right limit and ``ddphi`` omits the Dirac masses.
    expr : sympy.Expr or None
        :math:`\phi` in :data:`X` (``Symbol("x", real=True)``); None if unknown.
    kinks : tuple of float
        Points where :math:`\phi'` is discontinuous (relu ``(0.0,)``, hard_tanh ``(-1.0, 1.0)``).
    pieces : tuple of (lo, hi, slope) or None
        If :math:`\phi'` is piecewise constant: intervals covering the real line with the value of
        :math:`\phi'` on each, e.g. relu ``((-inf, 0, 0.0), (0, inf, 1.0))``; None otherwise.
    params : tuple of (name, value)
        Parameters as given (exact rationals kept), e.g. ``(("alpha", Fraction(1, 10)),)``.
    family : str
        Registry key that built it (``"custom"`` otherwise); closed-form Gaussian expectations dispatch on it.
    breakpoints : tuple of float
        Points where :math:`\phi` is not analytic (kinks, and jumps of higher derivatives such as elu's
        :math:`\phi''` at 0); Gaussian quadrature is split there.

    Equality compares name, expression, kinks, pieces, params and family (not the function objects).
    """

    name: str
    phi: Callable = field(compare=False, repr=False)
    dphi: Callable = field(compare=False, repr=False)
    ddphi: Callable | None = field(compare=False, repr=False)
    expr: sympy.Expr | None = None
    kinks: tuple[float, ...] = ()
    pieces: tuple[tuple[float, float, float], ...] | None = None
    params: tuple[tuple[str, Any], ...] = ()
    family: str = "custom"
    breakpoints: tuple[float, ...] = ()

    def __post_init__(self):
        if not self.breakpoints and self.kinks:
            object.__setattr__(self, "breakpoints", tuple(self.kinks))

    def __call__(self, x):
        return self.phi(x)

    @property
    def param_dict(self) -> dict:
        return dict(self.params)

    def dphi_squared_law(self, q):
        r"""Atoms of the law of :math:`\phi'(\sqrt q\, z)^2`, :math:`z \sim N(0, 1)`, if :math:`\phi'` is
        piecewise constant; else None.

        Returns ``((value, probability), ...)`` sorted by value, equal values merged, zero-mass atoms
        dropped.  Values are exact (int/Fraction) when the slopes are exact parameters, probabilities
        are :class:`~fractions.Fraction` when every breakpoint is 0 or infinite (relu: 1/2 each), else
        floats computed with erf/erfc (hard_tanh: :math:`p = \operatorname{erf}(1/\sqrt{2q})` at value 1).
        ``q = 0`` gives the limit :math:`q \to 0^+`.
        """
        if self.pieces is None:
            return None
        q = _check_q(q)
        exact_slopes = {float(v): v for _, v in self.params if isinstance(v, int | Fraction)}
        atoms: dict = {}
        for lo, hi, slope in self.pieces:
            s = exact_slopes.get(float(slope), slope)
            if float(s).is_integer():
                s = int(s)
            val = s * s
            pr = _interval_prob(lo, hi, q)
            atoms[val] = atoms.get(val, 0) + pr
        return tuple((v, p) for v, p in sorted(atoms.items(), key=lambda t: float(t[0])) if p != 0)


def _check_q(q) -> float:
    try:
        qf = float(q)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"q must be a real number >= 0, got {q!r}") from exc
    if not math.isfinite(qf) or qf < 0:
        raise ValueError(f"q (the pre-activation variance) must be finite and >= 0, got {q!r}")
    return qf


def _interval_prob(lo, hi, q):
    """P(lo < sqrt(q) z < hi): Fraction when the breakpoints are 0/inf, else float (erfc, no cancellation)."""
    lo, hi = float(lo), float(hi)
    if all(b in (-math.inf, 0.0, math.inf) for b in (lo, hi)):
        half = {-math.inf: Fraction(0), 0.0: Fraction(1, 2), math.inf: Fraction(1)}
        return half[hi] - half[lo]

    def t(b):
        if math.isinf(b) or b == 0.0:
            return b
        return b / math.sqrt(q) if q > 0 else math.copysign(math.inf, b)

    a, b = t(lo), t(hi)
    if a >= 0:  # both in the right tail: difference of upper tails
        return 0.5 * (math.erfc(a / _SQRT2) - math.erfc(b / _SQRT2))
    if b <= 0:
        return 0.5 * (math.erfc(-b / _SQRT2) - math.erfc(-a / _SQRT2))
    return 1.0 - 0.5 * math.erfc(-a / _SQRT2) - 0.5 * math.erfc(b / _SQRT2)


# ------------------------------------------------------------------------------ registry
def _linear():
    def phi(x):
        return _ns(x)[1] * 1.0

    def dphi(x):
        xp, x = _ns(x)
        return xp.ones_like(x)

    def ddphi(x):
        xp, x = _ns(x)
        return xp.zeros_like(x)

    return Activation("linear", phi, dphi, ddphi, expr=X, pieces=((-math.inf, math.inf, 1.0),), family="linear")


def _check_real(name, value, *, lo=-math.inf):
    if isinstance(value, bool) or not isinstance(value, int | float | Fraction | np.floating | np.integer):
        try:
            value = Fraction(str(value)) if isinstance(value, str) else value
            float(value)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{name} must be a real number, got {value!r}") from exc
    if not math.isfinite(float(value)) or float(value) < lo:
        raise ValueError(f"{name} must be a finite real number >= {lo}, got {value!r}")
    if isinstance(value, np.integer):
        value = int(value)
    if isinstance(value, np.floating):
        value = float(value)
    return value


def _leaky(alpha, name, family):
    a = float(alpha)

    def phi(x):
        xp, x = _ns(x)
        return xp.where(x >= 0, x, a * x)

    def dphi(x):
        xp, x = _ns(x)
        return xp.where(x >= 0, xp.ones_like(x), a * xp.ones_like(x))

    def ddphi(x):
        xp, x = _ns(x)
        return xp.zeros_like(x)

    ea = sympy.Rational(alpha.numerator, alpha.denominator) if isinstance(alpha, Fraction) else sympy.sympify(alpha)
    expr = sympy.Piecewise((ea * X, X < 0), (X, True))
    params = () if family == "relu" else (("alpha", alpha),)
    return Activation(name, phi, dphi, ddphi, expr=expr, kinks=(0.0,),
                      pieces=((-math.inf, 0.0, a), (0.0, math.inf, 1.0)), params=params, family=family)


def _relu():
    return _leaky(Fraction(0), "relu", "relu")


def _leaky_relu(alpha=Fraction(1, 100)):
    alpha = _check_real("alpha", alpha)
    return _leaky(alpha, f"leaky_relu(alpha={alpha})", "leaky_relu")


def _hard_tanh():
    def phi(x):
        xp, x = _ns(x)
        return xp.clip(x, -1.0, 1.0)

    def dphi(x):
        xp, x = _ns(x)
        return xp.where((x >= -1.0) & (x < 1.0), xp.ones_like(x), xp.zeros_like(x))

    def ddphi(x):
        xp, x = _ns(x)
        return xp.zeros_like(x)

    expr = sympy.Piecewise((-1, X < -1), (X, X < 1), (1, True))
    return Activation("hard_tanh", phi, dphi, ddphi, expr=expr, kinks=(-1.0, 1.0),
                      pieces=((-math.inf, -1.0, 0.0), (-1.0, 1.0, 1.0), (1.0, math.inf, 0.0)), family="hard_tanh")


def _tanh():
    def phi(x):
        xp, x = _ns(x)
        return xp.tanh(x)

    def dphi(x):
        xp, x = _ns(x)
        t = xp.tanh(x)
        return 1.0 - t * t

    def ddphi(x):
        xp, x = _ns(x)
        t = xp.tanh(x)
        return -2.0 * t * (1.0 - t * t)

    return Activation("tanh", phi, dphi, ddphi, expr=sympy.tanh(X), family="tanh")


#: The slope of ``erf_scaled`` = erf(b x): b = sqrt(pi)/2 correctly rounded, for which phi'(0) = 2b/sqrt(pi) = 1
#: (like tanh).  (``math.sqrt(math.pi) / 2`` is one ulp below it.)
ERF_SCALED_B = 0.886226925452758
#: A float b within this many ulps of ERF_SCALED_B is erf_scaled: sqrt(pi)/2 computed in floats by any route.
_ERF_SCALED_ULPS = 4


def _positive_param(name, value, example):
    """A parameter that must be a finite real number > 0 (erf's b, softplus's beta)."""
    value = _check_real(name, value)
    if not float(value) > 0:
        raise ValueError(f"{name} must be a finite real number > 0, got {value}; e.g. {example}")
    return value


def _sym_param(value):
    """The sympy value of a parameter: exact for int/Fraction, a Float otherwise."""
    if isinstance(value, Fraction):
        return sympy.Rational(value.numerator, value.denominator)
    if isinstance(value, int):
        return sympy.Integer(value)
    return sympy.Float(value, 17)


def _erf(b=1):
    r""":math:`\phi(x) = \operatorname{erf}(b x)` (PyTorch, JAX, neural-tangents ``Erf`` at b = 1),
    :math:`\phi'(x) = \frac{2b}{\sqrt\pi} e^{-b^2 x^2}`, :math:`\phi''(x) = -2b^2 x\, \phi'(x)`.

    ``b`` equal (to rounding) to :data:`ERF_SCALED_B` = :math:`\sqrt\pi/2` gives ``erf_scaled``, whichever way
    it was spelled, so that ``erf(sqrt(pi)/2)``, ``erf(b=sqrt(pi)/2)`` and ``erf_scaled`` are one activation.
    """
    b = _positive_param("b", b, "erf(1) for erf(x), erf(b=sqrt(pi)/2) for erf_scaled")
    bf = float(b)
    scaled = abs(bf - ERF_SCALED_B) <= _ERF_SCALED_ULPS * math.ulp(ERF_SCALED_B)
    # erf_scaled: phi'(0) = 1 and b^2 = pi/4 exactly, so that sigma_w^2 = 1 is exactly the isometry point
    c = 1.0 if scaled else 2.0 * bf / math.sqrt(math.pi)
    b2 = math.pi / 4.0 if scaled else bf * bf

    def phi(x):
        xp, x = _ns(x)
        return _special(xp, "erf")(bf * x)

    def dphi(x):
        xp, x = _ns(x)
        return c * xp.exp(-b2 * x * x)

    def ddphi(x):
        xp, x = _ns(x)
        return (-2.0 * b2 * c) * x * xp.exp(-b2 * x * x)

    if scaled:
        b, eb, name = ERF_SCALED_B, sympy.sqrt(sympy.pi) / 2, "erf(b=sqrt(pi)/2)"
    else:
        eb, name = _sym_param(b), f"erf(b={b})"
    return Activation(name, phi, dphi, ddphi, expr=sympy.erf(eb * X), params=(("b", b),), family="erf")


def _erf_scaled():
    r""":math:`\operatorname{erf}(\sqrt\pi\, x/2)`, scaled so that :math:`\phi'(0) = 1` (= ``erf(b=sqrt(pi)/2)``)."""
    return _erf(ERF_SCALED_B)


def _sigmoid_act():
    def phi(x):
        xp, x = _ns(x)
        return _sigmoid(xp, x)

    def dphi(x):
        xp, x = _ns(x)
        s = _sigmoid(xp, x)
        return s * _sigmoid(xp, -x)

    def ddphi(x):
        xp, x = _ns(x)
        s, r = _sigmoid(xp, x), _sigmoid(xp, -x)
        return s * r * (r - s)

    return Activation("sigmoid", phi, dphi, ddphi, expr=1 / (1 + sympy.exp(-X)), family="sigmoid")


def _exp_linear(lam, alpha, name, family, params):
    """lam * x (x >= 0), lam * alpha * (exp(x) - 1) (x < 0): elu (lam = 1) and selu."""
    lf, af = float(lam), float(alpha)

    def phi(x):
        xp, x = _ns(x)
        return lf * xp.where(x >= 0, x, af * xp.expm1(xp.where(x < 0, x, 0.0 * x)))

    def dphi(x):
        xp, x = _ns(x)
        return lf * xp.where(x >= 0, xp.ones_like(x), af * xp.exp(xp.where(x < 0, x, 0.0 * x)))

    def ddphi(x):
        xp, x = _ns(x)
        return lf * xp.where(x >= 0, xp.zeros_like(x), af * xp.exp(xp.where(x < 0, x, 0.0 * x)))

    el, ea = sympy.nsimplify(lam), sympy.nsimplify(alpha)
    expr = sympy.Piecewise((el * ea * (sympy.exp(X) - 1), X < 0), (el * X, True))
    kinks = () if lf * af == lf else (0.0,)
    return Activation(name, phi, dphi, ddphi, expr=expr, kinks=kinks, params=params, family=family,
                      breakpoints=(0.0,))


def _selu():
    return _exp_linear(SELU_LAMBDA, SELU_ALPHA, "selu", "selu", ())


def _elu(alpha=1):
    alpha = _check_real("alpha", alpha, lo=0.0)
    return _exp_linear(1, alpha, f"elu(alpha={alpha})" if alpha != 1 else "elu", "elu",
                       (("alpha", alpha),))


def _gelu():
    def phi(x):
        xp, x = _ns(x)
        return x * _ncdf(xp, x)

    def dphi(x):
        xp, x = _ns(x)
        return _ncdf(xp, x) + x * _npdf(xp, x)

    def ddphi(x):
        xp, x = _ns(x)
        return (2.0 - x * x) * _npdf(xp, x)

    return Activation("gelu", phi, dphi, ddphi, expr=X * (1 + sympy.erf(X / sympy.sqrt(2))) / 2, family="gelu")


def _swish():
    def phi(x):
        xp, x = _ns(x)
        return x * _sigmoid(xp, x)

    def dphi(x):
        xp, x = _ns(x)
        s = _sigmoid(xp, x)
        return s + x * s * _sigmoid(xp, -x)

    def ddphi(x):
        xp, x = _ns(x)
        s, r = _sigmoid(xp, x), _sigmoid(xp, -x)
        return s * r * (2.0 + x * (r - s))

    return Activation("swish", phi, dphi, ddphi, expr=X / (1 + sympy.exp(-X)), family="swish")


def _softplus(beta=1):
    r""":math:`\phi(x) = \log(1 + e^{\beta x})/\beta` (PyTorch's ``Softplus(beta)``), :math:`\phi'(x) =
    \sigma(\beta x)`, :math:`\phi''(x) = \beta\sigma(\beta x)\sigma(-\beta x)`."""
    beta = _positive_param("beta", beta, "softplus(2) or softplus(beta=1/2)")
    bf = float(beta)

    def phi(x):
        xp, x = _ns(x)
        y = bf * x
        return (xp.log1p(xp.exp(-xp.abs(y))) + xp.where(y > 0, y, 0.0 * y)) / bf

    def dphi(x):
        xp, x = _ns(x)
        return _sigmoid(xp, bf * x)

    def ddphi(x):
        xp, x = _ns(x)
        return bf * _sigmoid(xp, bf * x) * _sigmoid(xp, -bf * x)

    if beta == 1:
        return Activation("softplus", phi, dphi, ddphi, expr=sympy.log(1 + sympy.exp(X)), params=(("beta", beta),),
                          family="softplus")
    eb = _sym_param(beta)
    return Activation(f"softplus(beta={beta})", phi, dphi, ddphi, expr=sympy.log(1 + sympy.exp(eb * X)) / eb,
                      params=(("beta", beta),), family="softplus")


def _sin():
    def phi(x):
        xp, x = _ns(x)
        return xp.sin(x)

    def dphi(x):
        xp, x = _ns(x)
        return xp.cos(x)

    def ddphi(x):
        xp, x = _ns(x)
        return -xp.sin(x)

    return Activation("sin", phi, dphi, ddphi, expr=sympy.sin(X), family="sin")


#: Registry: name -> factory (keyword parameters with defaults). Generic tests loop over it.
ACTIVATIONS: dict[str, Callable[..., Activation]] = {
    "linear": _linear,
    "relu": _relu,
    "leaky_relu": _leaky_relu,
    "hard_tanh": _hard_tanh,
    "tanh": _tanh,
    "erf": _erf,
    "erf_scaled": _erf_scaled,
    "sigmoid": _sigmoid_act,
    "selu": _selu,
    "elu": _elu,
    "gelu": _gelu,
    "swish": _swish,
    "softplus": _softplus,
    "sin": _sin,
}
#: Alternative names.
ALIASES = {"silu": "swish", "hardtanh": "hard_tanh", "leakyrelu": "leaky_relu", "identity": "linear",
           "logistic": "sigmoid"}

_PARAMS = {"leaky_relu": ("alpha",), "elu": ("alpha",), "erf": ("b",), "softplus": ("beta",)}
_SPEC_RE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_\-]*)\s*(?:\((.*)\))?\s*$")


def _allowed() -> str:
    return ", ".join(list(ACTIVATIONS) + [f"{a} (= {b})" for a, b in ALIASES.items()]
                     + [f"{k}(...)" for k in TRANSFORM_SPELLINGS])


def _parse_number(text, pname):
    """A parameter of a spelled activation: exact for decimals and ratios ("0.1", "1/10" -> Fraction), a float
    for irrational values ("sqrt(2)/2"); parsed strictly, never evaluated (:mod:`spectral.parsing`)."""
    from .parsing import parse_exact, parse_real

    value = parse_exact(text.strip(), pname)
    return value if isinstance(value, Fraction) else parse_real(text.strip(), pname)


def split_activations(text: str) -> list:
    """Split a list of activation specs, ``"tanh,relu,leaky_relu(0.1)"``, at the commas outside parentheses."""
    parts, level, cur = [], 0, ""
    for ch in str(text):
        level += (ch == "(") - (ch == ")")
        if ch == "," and level == 0:
            parts.append(cur.strip())
            cur = ""
        else:
            cur += ch
    parts.append(cur.strip())
    return [p for p in parts if p]


def _from_name(spec: str, params: dict) -> Activation:
    m = _SPEC_RE.match(spec)
    if not m:
        raise ValueError(f"cannot parse activation {spec!r}; allowed: {_allowed()}; e.g. 'leaky_relu(0.1)'")
    key = m.group(1).lower().replace("-", "_")
    key = ALIASES.get(key, key)
    if key in TRANSFORM_SPELLINGS:
        return _from_transform_spelling(key, m.group(2) or "", params)
    if key not in ACTIVATIONS:
        raise ValueError(f"unknown activation {m.group(1)!r}; allowed: {_allowed()}")
    allowed = _PARAMS.get(key, ())
    parsed: dict = {}
    if m.group(2) is not None and m.group(2).strip():
        for i, part in enumerate(m.group(2).split(",")):
            if "=" in part:
                k, v = (s.strip() for s in part.split("=", 1))
            else:
                if i >= len(allowed):
                    raise ValueError(f"activation {key!r} takes parameters {allowed or 'none'}, got {spec!r}")
                k, v = allowed[i], part
            parsed[k] = _parse_number(v, k)
    dup = set(parsed) & set(params)
    if dup:
        raise ValueError(f"parameter(s) {sorted(dup)} given both in {spec!r} and as keywords")
    parsed.update(params)
    bad = set(parsed) - set(allowed)
    if bad:
        raise ValueError(f"activation {key!r} takes parameters {allowed or '(none)'}, got {sorted(bad)}")
    return ACTIVATIONS[key](**parsed)


# ------------------------------------------------------------------------------ custom activations
def _xp_module():
    """lambdify module mapping functions to the argument's array namespace (NumPy, CuPy, ...)."""

    def wrap(fname):
        def f(*args):
            xp, _ = _ns(args[-1])
            return getattr(xp, fname)(*args)

        return f

    def special(fname):
        def f(x):
            xp, x = _ns(x)
            return _special(xp, fname)(x)

        return f

    mod = {n: wrap(n) for n in ("exp", "log", "sin", "cos", "tan", "tanh", "sinh", "cosh", "sqrt", "arctan",
                                "arcsinh", "log1p", "expm1")}
    mod.update(erf=special("erf"), erfc=special("erfc"))
    return mod


def _lambdify(expr):
    f = sympy.lambdify(X, expr, modules=[_xp_module(), "numpy", "scipy"])

    def g(x):
        xp, x = _ns(x)
        out = f(x)
        return out + xp.zeros_like(x) if not hasattr(out, "shape") or out.shape != x.shape else out

    return g


def _auto_kinks(expr) -> tuple[float, ...]:
    """Points where a sympy expression's first derivative may jump (Piecewise, Max, Min, Abs, Heaviside)."""
    cands = []
    try:
        for node in sympy.preorder_traversal(expr):
            args = []
            if isinstance(node, sympy.Abs | sympy.Heaviside | sympy.sign):
                args = [node.args[0]]
            elif isinstance(node, sympy.Max | sympy.Min):
                args = [a - b for i, a in enumerate(node.args) for b in node.args[i + 1:]]
            elif isinstance(node, sympy.Piecewise):
                for _, cond in node.args:
                    if isinstance(cond, sympy.core.relational.Relational):
                        args.append(cond.lhs - cond.rhs)
            for a in args:
                sol = sympy.solveset(a, X, domain=sympy.S.Reals)
                if not isinstance(sol, sympy.FiniteSet):
                    raise NotImplementedError
                cands += [float(s) for s in sol]
    except Exception:  # noqa: BLE001 - detection is best effort; the caller warns
        warnings.warn("could not locate the kinks of a non-smooth activation expression; pass kinks=(...) "
                      "so that Gaussian quadrature is split there", RuntimeWarning, stacklevel=4)
        return ()
    return tuple(sorted(set(cands)))


def _from_expr(expr, name, kinks, params) -> Activation:
    expr = sympy.sympify(expr)
    free = expr.free_symbols
    subs = {}
    for s in list(free):
        if s.name in params:
            subs[s] = sympy.nsimplify(params[s.name]) if isinstance(params[s.name], Fraction) else params[s.name]
    expr = expr.subs(subs)
    free = expr.free_symbols
    if len(free) > 1:
        raise ValueError(f"activation expression {expr} has free symbols {sorted(map(str, free))}; it must depend "
                         "on one variable (give the others as keywords, e.g. activation(expr, a=2))")
    if free:
        expr = expr.subs(next(iter(free)), X)
    d1 = sympy.diff(expr, X)
    d2 = sympy.diff(d1, X)
    if kinks is None:
        kinks = _auto_kinks(expr)
    kinks = tuple(sorted(float(k) for k in kinks))
    pieces = None
    smooth_d2 = d2.replace(sympy.DiracDelta, lambda *a: 0) if d2.has(sympy.DiracDelta) else d2
    if smooth_d2 == 0 or (isinstance(smooth_d2, sympy.Piecewise) and all(e == 0 for e, _ in smooth_d2.args)):
        pieces = _constant_pieces(d1, kinks)
    return Activation(name or str(expr), _lambdify(expr), _lambdify(d1), _lambdify(smooth_d2), expr=expr, kinks=kinks,
                      pieces=pieces, params=tuple(sorted(params.items())), family="custom")


def _constant_pieces(d1, kinks):
    edges = (-math.inf, *kinks, math.inf)
    pieces = []
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        mid = (lo + hi) / 2 if math.isfinite(lo) and math.isfinite(hi) else (hi - 1 if math.isfinite(hi) else
                                                                             lo + 1 if math.isfinite(lo) else 0.0)
        try:
            val = float(d1.subs(X, mid))
        except TypeError:
            return None
        pieces.append((lo, hi, val))
    return tuple(pieces)


def activation(spec, /, name=None, dphi=None, *, ddphi=None, kinks=None, **params) -> Activation:
    r"""Resolve an activation specification.

    Parameters
    ----------
    spec : str, Activation, callable or sympy expression
        * a registry name (see :data:`ACTIVATIONS`, aliases :data:`ALIASES`), optionally with parameters:
          ``"leaky_relu(0.1)"``, ``"leaky_relu(alpha=0.1)"`` (decimal strings stay exact, as Fractions);
        * an :class:`Activation`, returned as is;
        * a sympy expression in one symbol (other symbols substituted from ``params``);
        * a Python callable: if it accepts a sympy symbol and returns an expression, the derivatives are
          derived by sympy; otherwise ``dphi`` (and preferably ``ddphi``) must be given. Finite differences
          are never used.
    name : str, optional
        Name of a custom activation (default: its expression or the callable's ``__name__``).
    dphi, ddphi : callable, optional
        Vectorized derivatives of a custom callable activation.
    kinks : sequence of float, optional
        Points where :math:`\phi'` of a custom activation jumps (detected from Piecewise/Max/Min/Abs/Heaviside
        in sympy expressions when not given).
    **params
        Registry parameters (``alpha=...``) or values of extra symbols of a sympy expression.

    Raises
    ------
    ValueError
        Unknown name (the message lists the allowed names), bad parameters.
    TypeError
        A callable without a derivative that sympy cannot derive.

    Examples
    --------
    >>> activation("leaky_relu(0.1)").params
    (('alpha', Fraction(1, 10)),)
    >>> activation(lambda x: x**3).dphi(2.0)
    array(12.)
    """
    if isinstance(spec, Activation):
        if params or dphi is not None or ddphi is not None or kinks is not None:
            raise ValueError("an Activation is returned as is; do not pass dphi/ddphi/kinks/parameters with it")
        return spec if name is None else _rename(spec, name)
    if isinstance(spec, str):
        if dphi is not None or ddphi is not None or kinks is not None:
            raise ValueError("dphi/ddphi/kinks are only for custom activations (callables), not registry names")
        act = _from_name(spec, params)
        return act if name is None else _rename(act, name)
    if isinstance(spec, sympy.Basic):
        if dphi is not None or ddphi is not None:
            raise ValueError("derivatives of a sympy expression are derived by sympy; do not pass dphi/ddphi")
        return _from_expr(spec, name, kinks, params)
    if callable(spec):
        return _from_callable(spec, name, dphi, ddphi, kinks, params)
    raise TypeError(f"activation must be a name ({_allowed()}), an Activation, a callable or a sympy "
                    f"expression; got {type(spec).__name__}")


def _rename(act: Activation, name: str) -> Activation:
    from dataclasses import replace

    return replace(act, name=str(name))


def _from_callable(f, name, dphi, ddphi, kinks, params) -> Activation:
    if params:
        raise ValueError(f"unexpected parameters {sorted(params)} for a custom callable activation "
                         "(bind them in the callable, e.g. functools.partial)")
    fname = name or getattr(f, "__name__", "custom")
    if fname == "<lambda>":
        fname = "custom"
    expr = None
    try:
        e = f(X)
        if isinstance(e, sympy.Basic) and e.free_symbols <= {X}:
            expr = e
    except Exception:  # noqa: BLE001 - the callable need not accept sympy symbols
        expr = None
    if expr is not None and dphi is None:
        act = _from_expr(expr, name or fname, kinks, {})
        return act
    if dphi is None:
        raise TypeError(f"custom activation {fname!r}: cannot derive phi' (the callable does not accept sympy "
                        "symbols); pass dphi=... (and ddphi=...), or a sympy expression")
    d2 = ddphi
    if d2 is None and expr is not None:
        d2 = _lambdify(sympy.diff(expr, X, 2))
    ks = tuple(sorted(float(k) for k in (kinks if kinks is not None else (_auto_kinks(expr) if expr is not None
                                                                           else ()))))

    def _wrap(g):
        if g is None:
            return None

        def h(x):
            xp, x = _ns(x)
            out = g(x)
            return out + xp.zeros_like(x) if not hasattr(out, "shape") or out.shape != x.shape else out

        return h

    return Activation(fname, _wrap(f), _wrap(dphi), _wrap(d2), expr=expr, kinks=ks, family="custom")


# ------------------------------------------------------------------------------ transformed activations
#: Spellings of transformed activations :math:`\hat\phi(x) = \gamma(\phi(\alpha x + \beta) + \delta)`:
#: ``transformed(tanh, input_scale=0.5, input_shift=0.1, output_scale=2, output_shift=-0.1)`` with given
#: parameters; ``dks(softplus, zeta=1.5, depth=100)`` and ``tat(tanh, tau=0.3, depth=100)`` /
#: ``tat(leaky_relu, eta=0.9, depth=100)`` solved by :mod:`spectral.transforms` for a plain chain of ``depth``
#: nonlinear layers (the local targets depend on the depth, so it is required).
TRANSFORM_SPELLINGS = ("transformed", "dks", "tat")
_AFFINE_KEYS = ("input_scale", "input_shift", "output_scale", "output_shift")
_TRANSFORM_EXAMPLES = {"transformed": "transformed(tanh, input_scale=0.5, output_scale=2)",
                       "dks": "dks(softplus, zeta=1.5, depth=100)", "tat": "tat(tanh, tau=0.3, depth=100)"}


def _split_top(text: str) -> list[str]:
    """Split at the commas outside parentheses: ``"leaky_relu(0.1), zeta=1.5"`` -> two parts."""
    parts, depth = [], 0
    cur: list[str] = []
    for ch in text:
        if ch == "," and depth == 0:
            parts.append("".join(cur).strip())
            cur = []
            continue
        depth += (ch == "(") - (ch == ")")
        cur.append(ch)
    parts.append("".join(cur).strip())
    return [p for p in parts if p]


def _from_transform_spelling(key: str, argtext: str, params: dict) -> Activation:
    parts = _split_top(argtext)
    example = _TRANSFORM_EXAMPLES[key]
    if not parts or "=" in parts[0].split("(")[0]:
        raise ValueError(f"{key}(...) needs the base activation first, e.g. {example}")
    kwargs: dict = {}
    for part in parts[1:]:
        if "=" not in part:
            raise ValueError(f"{key}(...) takes the base activation then keyword parameters, e.g. {example}; "
                             f"got {part!r}")
        k, v = (s.strip() for s in part.split("=", 1))
        val = _parse_number(v, k)
        kwargs[k] = int(val) if k == "depth" and isinstance(val, Fraction) and val.denominator == 1 else val
    dup = set(kwargs) & set(params)
    if dup:
        raise ValueError(f"parameter(s) {sorted(dup)} given both in the spelling and as keywords")
    kwargs.update(params)
    if key == "transformed":
        bad = set(kwargs) - set(_AFFINE_KEYS)
        if bad:
            raise ValueError(f"transformed(...) takes parameters {_AFFINE_KEYS}, got {sorted(bad)}; e.g. {example}")
    from . import transforms  # builds and solves transformed activations; imports this module

    if key == "transformed":
        affine: dict[str, Any] = {k: float(v) for k, v in kwargs.items()}  # only _AFFINE_KEYS (checked above)
        return transforms.transform_activation(parts[0], **affine)
    return getattr(transforms, key)(parts[0], **kwargs).activation
