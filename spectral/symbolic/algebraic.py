"""Edges of any algebraic law: real roots of the discriminant of its curve P(z, m) in m."""

from __future__ import annotations

import sympy as sp

from .curves import _roots_numeric
from .law import SymbolicLaw
from .params import _free_params, m, z
from .sheet import _EdgeData, _filter_physical, _poly_residual


def _real_algebraic_roots(poly_expr, var):
    out = []
    if not _free_params(poly_expr) and any(a.is_Float for a in sp.preorder_traversal(poly_expr)):
        return [sp.Float(r.real, 30) for r in _roots_numeric(poly_expr, var) if abs(r.imag) < 1e-12]
    _, factors = sp.factor_list(poly_expr, var)
    for f, _ in factors:
        if not f.has(var):
            continue
        poly = sp.Poly(f, var)
        if poly.degree() <= 2:
            out.extend(r for r in sp.roots(poly) if r.is_real)
        else:
            out.extend(poly.real_roots())
    return out


def _edges_curve(law: SymbolicLaw) -> _EdgeData:
    """Edges from the real roots of the discriminant of the curve P(z, m) in m (any algebraic law)."""
    P = law.m_curve
    equation = sp.Eq(P, 0)
    if _free_params(P):
        return _EdgeData((), (), equation, "discriminant", "edges need numeric parameters for this law")
    disc = sp.discriminant(P, m)
    candidates = _real_algebraic_roots(disc, z) if disc.has(z) else []
    return _filter_physical(law, candidates, _poly_residual, (P,), equation, "real roots of disc_m P")
