r"""The registry of built-in activations (:data:`ACTIVATIONS`): one factory per name, keyword parameters with
defaults; the table is in :mod:`spectral.activations`."""

from __future__ import annotations

import math
from collections.abc import Callable
from fractions import Fraction

import numpy as np
import sympy

from .base import SELU_ALPHA, SELU_LAMBDA, Activation, X, _ncdf, _npdf, _ns, _sigmoid, _special


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
