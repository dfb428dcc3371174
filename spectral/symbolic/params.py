"""Symbols of the symbolic engine, exact reading of parameters, and the sample values that decide branches."""

from __future__ import annotations

import math
from fractions import Fraction
from numbers import Number
from typing import Any

import numpy as np
import sympy as sp

from ..parsing import parse_depth, parse_exact

z, m, y, w = sp.symbols("z m y w")
L = sp.Symbol("L", positive=True, integer=True)
p = sp.Symbol("p", positive=True)
_g, _s, _r = sp.symbols("g s r")  # dependent variables of the G-, S- and R-curves
_q = sp.Symbol("q", positive=True)

_IND = {"G": z, "M": z, "S": y, "R": w}
_DEP = {"G": _g, "M": m, "S": _s, "R": _r}
_TO_M = {
    "G": {_g: (1 + m) / z},
    "M": {},
    "S": {y: m, _s: (1 + m) / (z * m)},
    "R": {w: (1 + m) / z, _r: z * m / (1 + m)},
}
_FROM_M = {
    "G": {m: z * _g - 1},
    "M": {},
    "S": {z: (1 + y) / (y * _s), m: y},
    "R": {z: _r + 1 / w, m: _r * w},
}
_KINDS = ("G", "M", "S", "R")

#: sample values of free parameters used to decide branches and physical sheets numerically
_SAMPLE_VALUES = (sp.Rational(1, 3), sp.Rational(7, 10), sp.Rational(3, 7))
_DEPTH_SAMPLES = (2, 3, 5, 8)  # a symbolic depth means L >= 2 (depth 1 is special)


class NoClosedFormError(ValueError):
    """The law of :math:`D^2` (or another ingredient) has no closed form for the symbolic engine."""


# ---------------------------------------------------------------------------------------------------------
# exact parsing
# ---------------------------------------------------------------------------------------------------------
def to_exact(value: Any, name: str = "value") -> sp.Expr:
    """Convert a user value to an exact sympy number or symbol.

    Decimal strings and floats become the rational they spell (``"1.05"`` and ``1.05`` -> ``21/20``);
    ``Fraction`` and integers stay exact; identifiers (``"sigma_w2"``) become positive symbols; sympy
    expressions are returned unchanged.  Strings are read by :func:`spectral.parsing.parse_exact` (numbers,
    fractions, bounded integer powers, ``pi``, ``E``, ``sqrt`` and symbol names; never evaluated).

    Raises
    ------
    TypeError
        If ``value`` is not a number, string or sympy expression.
    ValueError
        A string outside the accepted syntax, or a value that is not finite.
    """
    if isinstance(value, sp.Basic):
        return value
    if isinstance(value, bool):
        raise TypeError(f"{name} must be a number, a decimal string or a symbol name, not a bool")
    if isinstance(value, Fraction):
        return sp.Rational(value.numerator, value.denominator)
    if isinstance(value, int | np.integer):
        return sp.Integer(int(value))
    if isinstance(value, float | np.floating):
        if not math.isfinite(value):
            raise ValueError(f"{name} must be finite, got {value!r}")
        return sp.Rational(repr(float(value)))
    if isinstance(value, str):
        # read by the strict parser (spectral.parsing): never evaluated, identifiers become positive symbols
        exact = parse_exact(value, name, symbols=True)
        return sp.Rational(exact.numerator, exact.denominator) if isinstance(exact, Fraction) else exact
    if isinstance(value, Number):
        return sp.nsimplify(value)
    raise TypeError(f"{name} must be a number, a decimal string or a symbol name, got {type(value).__name__}")


def _free_params(expr: sp.Expr) -> set[sp.Symbol]:
    return set(expr.free_symbols) - {z, m, y, w, _g, _s, _r}


def _sample_subs(exprs, index: int = 0) -> dict:
    """Substitution of every free parameter by a sample value (depth symbols by a sample depth)."""
    params: set = set()
    for e in exprs:
        if e is not None:
            params |= _free_params(e)
    subs = {}
    for sym in params:
        k = sum(map(ord, str(sym)))  # keyed by name: the same symbol gets the same value in every call
        if sym.is_integer:
            subs[sym] = _DEPTH_SAMPLES[(index + k) % len(_DEPTH_SAMPLES)]
        else:
            subs[sym] = _SAMPLE_VALUES[(index + k) % len(_SAMPLE_VALUES)]
    return subs


def _positive(value, name):
    v = to_exact(value, name)
    if v.is_number and not v.is_positive:
        raise ValueError(f"{name} must be > 0, got {value!r}")
    return v


def _parse_depth(depth):
    if isinstance(depth, sp.Symbol):
        return depth
    if isinstance(depth, str):
        depth = parse_depth(depth, "depth")  # digits or a symbol name, never evaluated
        if isinstance(depth, str):
            return L if depth == "L" else sp.Symbol(depth, positive=True, integer=True)
    if isinstance(depth, bool) or not isinstance(depth, int | np.integer | sp.Integer):
        raise TypeError(f"depth must be an integer >= 1 or a symbol, got {depth!r}")
    d = sp.Integer(int(depth))
    if d < 1:
        raise ValueError(f"depth must be >= 1, got {depth}")
    return d
