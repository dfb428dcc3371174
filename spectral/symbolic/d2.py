"""The law of D^2 for the symbolic engine: piecewise-constant derivatives, and the point mass at q* = 0."""

from __future__ import annotations

import math
from collections import defaultdict
from fractions import Fraction

import sympy as sp

from .law import SymbolicLaw
from .params import NoClosedFormError, _positive, _q, p, to_exact
from .registry import atomic

_FALLBACK_PIECES = {
    "linear": lambda: ((-math.inf, math.inf, 1.0),),
    "relu": lambda: ((-math.inf, 0.0, 0.0), (0.0, math.inf, 1.0)),
    "hard_tanh": lambda: ((-math.inf, -1.0, 0.0), (-1.0, 1.0, 1.0), (1.0, math.inf, 0.0)),
}
_SMOOTH = {"tanh", "erf", "sigmoid", "selu", "elu", "gelu", "swish", "silu", "softplus", "sin"}
_NUMERIC_ROUTE = ("use the numeric route instead: `spectral density ...` or "
                  "`spectral.jacobian_law(net).moments(k)`")


def _resolve_activation(activation):
    """(name, pieces, exact parameter values) from an Activation, a registry spec or a fallback name."""
    from spectral.activations import activation as _make

    if not hasattr(activation, "pieces"):
        try:
            activation = _make(activation)
        except (ValueError, TypeError, KeyError, ArithmeticError) as exc:  # e.g. leaky_relu(1e999999) overflows
            raise ValueError(f"activation={activation!r}: {exc}") from exc
    if hasattr(activation, "pieces"):
        exact = [to_exact(v, "param") for _, v in getattr(activation, "params", ())
                 if isinstance(v, int | float | Fraction | sp.Basic)]
        return activation.name, activation.pieces, exact
    if not isinstance(activation, str):
        raise TypeError(f"activation must be a name or an Activation, got {type(activation).__name__}")
    name = activation.replace("-", "_").strip()
    if name.startswith("leaky_relu"):
        inner = name[len("leaky_relu"):].strip("()").replace("alpha=", "") or "0.01"
        alpha = to_exact(inner, "alpha")
        return (f"leaky_relu(alpha={alpha})", ((-math.inf, 0.0, float(alpha)), (0.0, math.inf, 1.0)), [alpha])
    if name in _FALLBACK_PIECES:
        return name, _FALLBACK_PIECES[name](), []
    if name in _SMOOTH:
        return name, None, []
    raise ValueError(f"unknown activation {activation!r}; closed forms exist for linear, relu, "
                     "leaky_relu(alpha), hard_tanh")


def _exact_slope(value: float, exact: list) -> sp.Expr:
    for cand in exact:
        for c in (cand, -cand):
            if c.is_number and abs(float(c) - value) <= 1e-15 * max(1.0, abs(value)):
                return c
    return to_exact(float(value), "slope")


def d2_law(activation, *, prob=None, q_star=None) -> SymbolicLaw:
    r"""Law of :math:`D^2 = \phi'(\sqrt{q^*} Z)^2` for an activation with piecewise-constant :math:`\phi'`.

    ReLU: Bernoulli(1/2); leaky ReLU(alpha): :math:`\{\alpha^2, 1\}` w.p. 1/2 each; linear: :math:`\delta_1`;
    hard-tanh: Bernoulli(p) with :math:`p = \operatorname{erf}(1/\sqrt{2 q^*})`, kept as the symbol :data:`p`
    unless ``prob`` or ``q_star`` is given.

    Raises
    ------
    NoClosedFormError
        For smooth activations (tanh, erf, sigmoid, ...), whose :math:`D^2` law has no closed form.
    """
    name, pieces, exact = _resolve_activation(activation)
    if pieces is None and q_star is not None and to_exact(q_star, "q_star") == 0:
        return _point_mass_d2(activation, name)
    if pieces is None:
        raise NoClosedFormError(
            f"activation {name!r}: phi' is not piecewise constant, so the law of D^2 has no closed form and "
            f"the symbolic engine (linear, relu, leaky_relu, hard_tanh) cannot treat it; {_NUMERIC_ROUTE}")
    masses: dict = defaultdict(lambda: sp.Integer(0))
    for lo, hi, slope in pieces:
        def cdf(t):
            if math.isinf(t):
                return sp.Integer(1) if t > 0 else sp.Integer(0)
            return (1 + sp.erf(to_exact(t, "kink") / sp.sqrt(2 * _q))) / 2
        masses[_exact_slope(slope, exact) ** 2] += cdf(hi) - cdf(lo)
    masses = {v: sp.simplify(q) for v, q in masses.items()}
    masses = {v: q for v, q in masses.items() if q != 0}
    if any(q.has(_q) for q in masses.values()):
        if q_star is not None:
            qs = _positive(q_star, "q_star")
            masses = {v: sp.simplify(q.subs(_q, qs)) for v, q in masses.items()}
        else:
            if len(masses) != 2:
                raise NoClosedFormError(f"activation {name!r}: D^2 has {len(masses)} q-dependent atoms; "
                                        f"give q_star; {_NUMERIC_ROUTE}")
            top = max(masses, key=lambda v: float(v))
            prob_val = p if prob is None else to_exact(prob, "p")
            if prob_val.is_number and not 0 < prob_val <= 1:
                raise ValueError(f"p must lie in (0, 1], got {prob_val}")
            masses = {v: (prob_val if v == top else 1 - prob_val) for v in masses}
    elif prob is not None:
        raise ValueError(f"p is only meaningful for activations whose D^2 law depends on q* (got {name!r})")
    law = atomic(list(masses), list(masses.values()), name=f"D^2[{name}]")
    return law


def _point_mass_d2(activation, name) -> SymbolicLaw:
    r"""At :math:`q^* = 0` every pre-activation is 0, so :math:`D^2 = \phi'(0)^2` exactly (a point mass), for any
    activation: the exact :math:`\phi'(0)` comes from its sympy expression."""
    from spectral.activations import X
    from spectral.activations import activation as _make

    act = _make(activation)
    if act.expr is None:
        raise NoClosedFormError(f"activation {name!r} has no sympy expression for phi'(0); {_NUMERIC_ROUTE}")
    slope = sp.nsimplify(sp.diff(act.expr, X).subs(X, 0))
    return atomic([slope ** 2], [sp.Integer(1)], name=f"D^2[{name}]")
