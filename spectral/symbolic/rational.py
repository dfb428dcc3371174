"""Edges of a rational S_J (Gaussian or orthogonal weights, piecewise-linear activations), any depth."""

from __future__ import annotations

import sympy as sp

from .algebraic import _real_algebraic_roots
from .factored import _sign_of, _split_factored, _z_of_m_factored
from .law import SymbolicLaw
from .params import _free_params, m, z
from .sheet import _EdgeData, _filter_physical, _log_residual


def _edges_rational(law: SymbolicLaw) -> _EdgeData:
    r"""Edges from the critical points of :math:`z(m) = C \prod_f f(m)^{e_f}` (log-derivative: degree
    independent of the depth), plus :math:`z = 0` where :math:`z(m)` has a multiple zero."""
    const, facs = _z_of_m_factored(law.S)
    num, den = _split_factored(const, facs)
    equation = sp.Eq(z * den, num)
    dlog = sp.together(sum(e * sp.diff(f, m) / f for f, e in facs.items()))
    crit = sp.expand(sp.numer(dlog))
    candidates = []  # (m_c, z_c) symbolic
    if crit.has(m):
        for mc in sp.solve(crit, m) if _free_params(crit) else _real_algebraic_roots(crit, m):
            zc = const * sp.Mul(*(f.subs(m, mc) ** e for f, e in facs.items()))
            candidates.append(zc)
    for e in facs.values():
        if _sign_of(e) > 0 and _sign_of(e - 1) > 0:  # multiple zero of z(m): edge at 0 (Fuss-Catalan type)
            candidates.append(sp.Integer(0))
            break
    if sp.simplify(sum(e * sp.degree(f, m) for f, e in facs.items())) == 0:  # critical point at m = infinity
        candidates.append(const * sp.Mul(*(sp.Poly(f, m).LC() ** e for f, e in facs.items())))
    return _filter_physical(law, candidates, _log_residual, (const, facs), equation,
                            "critical points of z(m)")
