r"""Biane's free positive multiplicative Brownian motion: the large-depth law of residual networks.

For residual blocks :math:`B_l = I + \beta_l X_l` whose branch second moments :math:`a_{1,l} = \beta_l^2
m_1(X_l X_l^T)` are :math:`O(1/L)`, each :math:`B_l B_l^T` has
:math:`\log S_l(y) = -a_{1,l}(1 + 2y) + O(L^{-2})` (its mean is :math:`1 + a_{1,l}`, its variance
:math:`2a_{1,l} + O(L^{-2})`), so :math:`S_J = \prod_l S_l \to e^{-s(y + 1/2)}` with
:math:`s = 2\sum_l a_{1,l}`: the law of the free positive multiplicative Brownian motion at time :math:`s`
(Biane 1997; Tarnowski, Warchoł, Jastrzębski, Tabor & Nowak 2019, arXiv 1809.08848).  The limit depends on
the activation only through :math:`\sum_l a_{1,l}` (universality).

Lagrange inversion, :math:`m_k = \frac1k[y^{k-1}]((1+y)/S(y))^k`, gives

.. math:: m_k = \frac{e^{ks/2}}{k} \sum_{j=0}^{k-1} \binom{k}{j} \frac{(ks)^{k-1-j}}{(k-1-j)!},

so :math:`m_1 = e^{s/2}`, :math:`m_2 = (1+s)e^s`; the support is :math:`[x_-, x_+]`,
:math:`x_\pm = \frac{2 + s \pm \sqrt{s(s+4)}}{2} e^{\pm\sqrt{s(s+4)}/2}`.

The moments are transcendental in :math:`s` (a polynomial times :math:`e^{ks/2}`), so ``exact=True`` returns
sympy numbers (``exp(1/4)`` for :math:`m_1` at :math:`s = 1/2`) rather than Fractions; :math:`M(z)` comes from the
density solver's certified continuation of :math:`z = (1+M)/(M S(M))` and
:math:`M'(z) = 1/z'(M)` with :math:`z(y) = (1+y)e^{s(y+1/2)}/y`,
:math:`z'(y) = e^{s(y+1/2)}\,(s(1+y)/y - 1/y^2)`.

The law also arises as the large-depth limit of residual networks
(:func:`spectral.architecture.brownian_time` gives :math:`s` for a spec).
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from ..series import FloatField, Series, SympyField
from .base import SpectralLaw, _as_complex

__all__ = ["FreeMultiplicativeBrownian"]


class FreeMultiplicativeBrownian(SpectralLaw):
    r"""Law of the free positive multiplicative Brownian motion at time ``s`` > 0:
    :math:`S(y) = e^{-s(y + 1/2)}` (module docstring)."""

    closed_form_s = True

    def __init__(self, s):
        if isinstance(s, bool) or not isinstance(s, int | float | Fraction) or not (math.isfinite(float(s))
                                                                                     and float(s) > 0):
            raise ValueError(f"s (the time of the Brownian motion) must be a finite number > 0, got {s!r}")
        self.s = s
        self.name = f"free_multiplicative_brownian(s={s})"

    def _params(self):
        return (self.s,)

    def _field(self, precision, exact, complex=False):  # noqa: A002
        """Exact moments are sympy numbers (they contain :math:`e^{ks/2}`); ``s`` must then be exact."""
        field = super()._field(precision, exact, complex)
        return SympyField() if exact else field

    def _s(self, y):
        return np.exp(-float(self.s) * (y + 0.5))

    def _ds(self, y):
        return -float(self.s) * self._s(y)

    def log_s_transform(self, y):
        y = _as_complex(y)
        return -float(self.s) * (y + 0.5)

    def solver_factors(self):
        r"""One explicit factor for the density solver: :math:`\log S(y) = -s(y + 1/2)`, :math:`(\log S)' = -s`;
        no atoms; :math:`(m_1, m_2)` from the closed-form moments."""
        from ..density import ExplicitFactor, FactorizedLaw

        s = float(self.s)

        def log_s(y):
            return -s * (np.asarray(y, dtype=complex) + 0.5)

        def dlog_s(y):
            return np.full(np.shape(y), -s, dtype=complex)

        m12 = self.moments(2)
        return FactorizedLaw((ExplicitFactor(log_s, dlog_s),), (), self.name, (float(m12[0]), float(m12[1])))

    def _s_series(self, field, n):
        s = field.convert(self.s)
        c = [field.exp(-s / 2)]
        for j in range(1, n):
            c.append(field.normalize(c[-1] * (-s) / j))
        return Series(c, field)

    def _moment_series(self, field, n):
        s = field.convert(self.s) if not isinstance(field, FloatField) else float(self.s)
        out = []
        for k in range(1, n + 1):
            ks = s * k
            tot = field.convert(0)
            for j in range(k):
                e = k - 1 - j
                tot = tot + field.convert(math.comb(k, j)) * field.power(ks, e) / math.factorial(e)
            out.append(field.normalize(field.exp(ks / 2) * tot / k))
        return out

    def _m(self, z):
        from ..density import solve_m_transform

        return np.asarray(solve_m_transform(self, z))

    def _dm(self, z):
        y = self._m(z)
        s = float(self.s)
        dz = np.exp(s * (y + 0.5)) * (s * (1.0 + y) / y - 1.0 / y**2)
        return 1.0 / dz

    def support(self):
        s = float(self.s)
        r = math.sqrt(s * (s + 4))
        return ((2 + s - r) / 2 * math.exp(-r / 2), (2 + s + r) / 2 * math.exp(r / 2))

