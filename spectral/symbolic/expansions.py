r"""Power series of symbolic laws, computed with :class:`spectral.series.Series` over the sympy field.

The same algorithms as the numeric engine (inverse, log, exp, reversion, Lagrange coefficients), on exact
coefficients that are rationals or polynomials in the parameters and the depth symbol ``L``:

* :math:`\ell(y) = \log(m_1 S(y))`, additive over free products (:math:`\ell_J = \sum_i n_i \ell_i`);
* moments of a product by Lagrange inversion:
  :math:`m_j = \frac{m_1^j}{j} [y^{j-1}]\, \big((1+y)\,e^{-\ell(y)}\big)^j`;
* moments of a free sum from the free cumulants :math:`K(u) = \sum_j \kappa_j u^j`: :math:`u = w(1 + \psi)`
  solves :math:`u = w\,(1 + K(u))`, so :math:`m_n = [w^{n+1}]\, u = \frac{1}{n+1} [u^n] (1 + K(u))^{n+1}`;
* free cumulants from moments: :math:`K = \psi \circ g^{-1}` with :math:`g(w) = w (1 + \psi(w))`.
"""

from __future__ import annotations

import sympy as sp

from ..series import Series, SympyField, lagrange_coefficients
from .params import _free_params, w, y

__all__ = ["ExpandedSympyField", "FIELD", "taylor", "log_s_series", "free_cumulants", "product_moments",
           "sum_moments"]


class ExpandedSympyField(SympyField):
    """sympy coefficients kept expanded: they are polynomials in the parameters (and in ``L``), for which the
    expanded form is canonical and much cheaper than ``cancel`` + ``factor``."""

    def normalize(self, x):
        return sp.expand(x)


FIELD = ExpandedSympyField()


def _series(coeffs, n: int) -> Series:
    """The first ``n`` coefficients (padded with zeros) as a series over :data:`FIELD`."""
    return Series(list(coeffs), FIELD).truncate(n)


def taylor(expr: sp.Expr, var: sp.Symbol, n: int) -> list[sp.Expr]:
    """First ``n`` Taylor coefficients of ``expr`` at ``var = 0`` (a series division for rational functions)."""
    if expr.is_rational_function(var):
        num, den = sp.fraction(sp.together(expr))
        a = _series(reversed(sp.Poly(num, var).all_coeffs()), n)
        b = _series(reversed(sp.Poly(den, var).all_coeffs()), n)
        return (a / b).tolist()
    ser = sp.series(expr, var, 0, n).removeO()
    return [sp.expand(ser.coeff(var, k)) for k in range(n)]


def log_s_series(law, n: int) -> list[sp.Expr]:
    r"""Coefficients of :math:`\ell(y) = \log(m_1 S(y))` to order ``n`` (additive over free products)."""
    if law.factors:
        ell = _series([0], n)
        for factor, k in law.factors:
            ell = ell + _series(log_s_series(factor, n), n) * k
        return ell.tolist()
    if law.mean == 0:
        raise ValueError(f"{law.name} has m_1 = 0: its S-transform is not defined; use free_sum (R)")
    if law.S is not None and not law.is_atomic:
        s = _series(taylor(law.S, y, n), n)
    else:
        chi = _series([0] + law.moments(n), n + 1).reversion()  # chi = psi^{-1}
        s = chi.shift(-1) + chi.truncate(n)  # (1 + y) chi(y) / y
    return (s * law.mean).log(constant=0).tolist()


def free_cumulants(law, k: int) -> list[sp.Expr]:
    r"""Free cumulants :math:`\kappa_1..\kappa_k` of ``law`` (:math:`R(w) = \sum_j \kappa_j w^{j-1}`)."""
    if law.summands:
        out = _series([0], k)
        for summand, n in law.summands:
            out = out + _series(summand.free_cumulants(k), k) * n
        return out.tolist()
    if law.R is not None and not law.factors and not law.is_atomic:
        return taylor(law.R, w, k)
    psi = _series([0] + law.moments(k), k + 1)
    g = (psi + 1).shift(1)  # w (1 + psi(w))
    return psi.compose(g.reversion()).tolist()[1:]


def product_moments(mean: sp.Expr, ell: list[sp.Expr], k: int) -> list[sp.Expr]:
    r"""Moments :math:`m_1..m_k` from :math:`m_1` and :math:`\ell = \log(m_1 S)` by Lagrange inversion:
    :math:`m_j = \frac{m_1^j}{j} [y^{j-1}]\, (1+y)^j e^{-j \ell(y)}`.

    Each :math:`e^{-j\ell}` is formed to order :math:`j` only (its coefficients are polynomials of growing
    degree in ``L``, whose expansion is the cost), and only the one coefficient needed of the product.
    With free parameters in :math:`m_1` the result is :math:`m_1^j` times the factored polynomial (powers of
    ``L`` stay visible); otherwise the expanded product.
    """
    ell = _series(ell, k)
    out = []
    for j in range(1, k + 1):
        e = (ell.truncate(j) * (-j)).exp()
        coeff = FIELD.dot([sp.binomial(j, i) for i in range(j)], e.tolist()[::-1]) / j
        out.append(mean**j * sp.factor(sp.expand(coeff)) if _free_params(mean) else sp.expand(mean**j * coeff))
    return out


def sum_moments(kappa: list[sp.Expr], k: int) -> list[sp.Expr]:
    r"""Moments :math:`m_1..m_k` from the free cumulants: :math:`m_n = \frac{1}{n+1} [u^n] (1 + K(u))^{n+1}`."""
    phi = _series([1] + list(kappa), k + 1)  # 1 + K(u)
    coeffs = lagrange_coefficients(phi, k + 1)
    return [sp.expand(coeffs[n] / (n + 1)) for n in range(1, k + 1)]
