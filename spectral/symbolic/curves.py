r"""Algebraic curves of the four transforms and the generic converter between them (birational maps).

The curve of kind ``G`` lives in :math:`(z, g)`, ``M`` in :math:`(z, m)`, ``S`` in :math:`(y, s)` and ``R`` in
:math:`(w, r)`; an explicit transform is the root selected by its asymptotics (docs/design.md §4.1).
"""

from __future__ import annotations

import cmath
import math

import numpy as np
import sympy as sp

from .params import _DEP, _FROM_M, _IND, _KINDS, _TO_M, _sample_subs, z


def _numerator(expr: sp.Expr) -> sp.Expr:
    return sp.numer(sp.together(expr))


def _exact_complex(x: complex) -> sp.Expr:
    return sp.Rational(x.real) + sp.I * sp.Rational(x.imag)


def _expansion_point(kind: str) -> complex:
    # off every axis, far out (G, M) or close to 0 (S, R)
    return 1e6 * cmath.exp(0.9j) if kind in ("G", "M") else 1e-6 * cmath.exp(0.9j)


def _asymptotic_error(kind: str, value: complex, x0: complex, mean: complex) -> float:
    """How far ``value`` (a transform of ``kind`` evaluated at ``x0``) is from its known asymptotics."""
    if kind == "G":
        return abs(value * x0 - 1 - mean / x0) * abs(x0) / (1 + abs(mean))
    if kind == "M":
        return abs(value * x0 - mean) / (1 + abs(mean))
    if kind == "S":
        return abs(value * mean - 1) if mean != 0 else math.inf
    return abs(value - mean) / (1 + abs(mean))


def _roots_numeric(poly_expr: sp.Expr, var: sp.Symbol) -> list[complex]:
    coeffs = [complex(sp.N(c, 30)) for c in sp.Poly(poly_expr, var).all_coeffs()]
    if len(coeffs) <= 1:
        return []
    return [complex(r) for r in np.roots(coeffs)]


def _select_factor(factors: list[sp.Expr], kind: str, mean: sp.Expr) -> sp.Expr:
    """Pick the irreducible factor of a curve whose root has the asymptotics of the transform."""
    if len(factors) == 1:
        return factors[0]
    ind, dep = _IND[kind], _DEP[kind]
    x0 = _expansion_point(kind)
    best, best_err = None, math.inf
    for f in factors:
        subs = _sample_subs([f, mean])
        fm = sp.expand(f.subs(subs).subs(ind, _exact_complex(x0)))
        mean0 = complex(sp.N(mean.subs(subs)))
        for root in _roots_numeric(fm, dep):
            err = _asymptotic_error(kind, root, x0, mean0)
            if err < best_err:
                best, best_err = f, err
    if best is None or best_err > 1e-3:
        raise ArithmeticError("no factor of the curve has the asymptotics of the transform")
    return best


def _clean_curve(expr: sp.Expr, kind: str, mean: sp.Expr) -> sp.Expr:
    """Numerator, factored; keep the irreducible factor carrying the transform's branch."""
    dep = _DEP[kind]
    num = _numerator(expr)
    _, factors = sp.factor_list(sp.expand(num))
    cands = [f for f, _ in factors if dep in f.free_symbols]
    if not cands:
        raise ArithmeticError(f"curve {num} does not involve {dep}")
    return sp.expand(_select_factor(cands, kind, mean))


def _convert_curve(curve: sp.Expr, src: str, dst: str, mean: sp.Expr) -> sp.Expr:
    """The generic converter: the curve of one transform -> the curve of another (birational maps)."""
    if src == dst:
        return curve
    m_curve = curve.subs(_TO_M[src], simultaneous=True) if src != "M" else curve
    if dst != "M":
        m_curve = _clean_curve(m_curve, "M", mean)
        return _clean_curve(m_curve.subs(_FROM_M[dst], simultaneous=True), dst, mean)
    return _clean_curve(m_curve, "M", mean)


def _physical_sqrt(expr: sp.Expr, var: sp.Symbol) -> sp.Expr:
    r"""Rewrite :math:`\sqrt{a (x-r_1)(x-r_2)}` as :math:`\sqrt a\sqrt{x-r_1}\sqrt{x-r_2}`.

    The product form is analytic off the segment :math:`[r_1, r_2]`, so it is the physical Stieltjes branch
    everywhere in the upper half plane (the principal root of the product is not).
    """
    reps = {}
    for pw in expr.atoms(sp.Pow):
        if pw.exp != sp.Rational(1, 2) or var not in pw.base.free_symbols:
            continue
        try:
            poly = sp.Poly(pw.base, var)
        except sp.PolynomialError:
            continue
        if poly.degree() != 2:
            continue
        rts = sp.roots(poly)
        if sum(rts.values()) != 2:
            continue
        r1, r2 = (list(rts) * 2)[:2] if len(rts) == 1 else list(rts)
        reps[pw] = sp.sqrt(poly.LC()) * sp.sqrt(var - r1) * sp.sqrt(var - r2)
    return expr.xreplace(reps) if reps else expr


def _explicit_branch(curve: sp.Expr, kind: str, mean: sp.Expr) -> sp.Expr | None:
    """Solve a curve for its value (degree <= 2); keep the branch with the right asymptotics."""
    dep, ind = _DEP[kind], _IND[kind]
    try:
        poly = sp.Poly(curve, dep)
    except sp.PolynomialError:
        return None
    if poly.degree() > 2 or poly.degree() < 1:
        return None
    cands = [sp.simplify(c) for c in sp.solve(curve, dep)]
    if kind == "G":
        cands = [_physical_sqrt(c, z) for c in cands]
    if len(cands) == 1:
        return cands[0]
    x0 = _expansion_point(kind)
    best, best_err = None, math.inf
    for c in cands:
        subs = _sample_subs([c, mean])
        try:
            val = complex(sp.N(c.subs(subs).subs(ind, _exact_complex(x0)), 50))
        except (TypeError, ValueError):
            continue
        err = _asymptotic_error(kind, val, x0, complex(sp.N(mean.subs(subs))))
        if err < best_err:
            best, best_err = c, err
    if best_err > 1e-3:
        return None
    return best


def _check_kind(kind: str) -> str:
    if kind not in _KINDS:
        raise ValueError(f"kind must be one of {_KINDS}, got {kind!r}")
    return kind
