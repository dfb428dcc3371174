r"""Rational S-transforms in factored form, :math:`z(m) = C \prod_f f(m)^{e_f}`, exponents possibly symbolic."""

from __future__ import annotations

from collections import defaultdict

import sympy as sp

from .params import _DEPTH_SAMPLES, _sample_subs, m, y, z


def _factor_powers(expr: sp.Expr, var: sp.Symbol):
    """``expr = const * prod f**e``, ``f`` irreducible polynomials in ``var``, exponents possibly symbolic.

    Returns ``None`` if some factor is not a rational function of ``var`` raised to a power.
    """
    const = sp.Integer(1)
    facs: dict = defaultdict(lambda: sp.Integer(0))
    for arg in sp.Mul.make_args(expr):
        base, e = arg.as_base_exp()
        if var not in base.free_symbols:
            const *= arg
            continue
        if not base.is_rational_function(var):
            return None
        num, den = sp.fraction(sp.together(base))
        for part, sign in ((num, 1), (den, -1)):
            c, flist = sp.factor_list(part, var)
            const *= c ** (sign * e)
            for f, k in flist:
                lc = sp.Poly(f, var).LC()
                if lc.is_number and lc < 0:  # primitive factors with a positive leading coefficient
                    f, const = sp.expand(-f), const * (-1) ** (sign * k * e)
                facs[f] += sign * k * e
    return const, {f: sp.expand(e) for f, e in facs.items() if e != 0}


def _degree(expr, var) -> int:
    """Degree of a polynomial expression in ``var`` without expanding it (sums, products, integer powers)."""
    if var not in expr.free_symbols:
        return 0
    if expr == var:
        return 1
    if expr.is_Add:
        return max(_degree(a, var) for a in expr.args)
    if expr.is_Mul:
        return sum(_degree(a, var) for a in expr.args)
    if expr.is_Pow and expr.exp.is_Integer and expr.exp > 0:
        return int(expr.exp) * _degree(expr.base, var)
    return sp.Poly(expr, var).degree()


def _split_factored(const, facs):
    """``z = A/B`` from the factored form, with ``A`` and ``B`` coprime products of the factors."""
    num = const * sp.Mul(*(f**e for f, e in facs.items() if _sign_of(e) > 0))
    den = sp.Mul(*(f ** (-e) for f, e in facs.items() if _sign_of(e) < 0))
    return num, den


def _curve_from_factored(const, facs):
    """The spectral curve ``z B(m) - A(m)`` (a polynomial in z and m for integer exponents, unexpanded)."""
    num, den = _split_factored(const, facs)
    return z * den - num


def _rebuild(const, facs):
    return const * sp.Mul(*(f**e for f, e in facs.items()))


def _sign_of(e) -> int:
    """Sign of an exponent, evaluated at the sample depths when it is symbolic."""
    if e.is_number:
        return int(sp.sign(e))
    signs = {int(sp.sign(e.subs(_sample_subs([e], i)))) for i in range(len(_DEPTH_SAMPLES))}
    if len(signs) != 1:
        raise ValueError(f"exponent {e} changes sign over the sample depths")
    return signs.pop()


def _z_of_m_factored(S):
    fp = _factor_powers(sp.sympify(S).subs(y, m), m)
    if fp is None:
        return None
    const, facs = fp
    facs = defaultdict(lambda: sp.Integer(0), {f: -e for f, e in facs.items()})
    facs[sp.expand(1 + m)] += 1
    facs[m] -= 1
    return 1 / const, {f: sp.expand(e) for f, e in facs.items() if e != 0}
