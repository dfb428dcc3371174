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

import sympy

from .base import SELU_ALPHA, SELU_LAMBDA, Activation, X
from .builtin import ACTIVATIONS, ERF_SCALED_B
from .custom import _from_callable, _from_expr
from .spelling import ALIASES, TRANSFORM_SPELLINGS, _allowed, _from_name, split_activations

__all__ = ["Activation", "ACTIVATIONS", "ALIASES", "TRANSFORM_SPELLINGS", "X", "activation", "split_activations",
           "ERF_SCALED_B", "SELU_ALPHA", "SELU_LAMBDA"]


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
