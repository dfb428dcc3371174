r"""The law of :math:`D^2 = d(h) = \phi'(\sqrt q\,h)^2`, :math:`h \sim N(0, 1)`, on its own spectrum, as the
push-forward of the Gaussian (docs/design.md §4.6, §5.4).

On each piece :math:`(c_j, c_{j+1})` between consecutive critical points of d (and :math:`\pm\infty`) d is
monotone, so with :math:`r_j(y)` the solution of :math:`d(h) = y` on piece j

.. math::

    y\rho(y) = y \sum_j \frac{\varphi(r_j(y))}{|d'(r_j(y))|}, \qquad
    P(y_0 < D^2 \le y_1) = \sum_j |\Phi(r_j(y_1)) - \Phi(r_j(y_0))|

(:math:`r_j` clipped to the piece's ends).  Both are exact up to the root and the rounding of d; no contour is
involved.  Where d tends to a finite limit :math:`d_\infty` inside the spectrum (gelu, swish:
:math:`\phi' \to 1` from above) the density has a log-normal spike whose mass within :math:`10^{-14}` of
:math:`d_\infty` lies below what x resolves in floating point; its mass between :math:`d_\infty` and a point
:math:`y` is the Gaussian tail :math:`\Phi(-r(y))` beyond the root, computed here without cancellation.
Gaussian mass beyond :math:`|h| = t_{\max}` (:math:`e^{-46}`, as in the quadrature of :mod:`.d2_quadrature`)
is left out.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import ndtr

#: Bisection steps for the roots of d(h) = y on a piece of width <= 2 t_max ~ 19: 2^-80 of it is below the
#: resolution of h in floating point.
_ROOT_STEPS = 80


class D2PushForward:
    r"""Density and interval masses of :math:`D^2 = \phi'(\sqrt q\,h)^2` on the real line.

    Parameters
    ----------
    dphi, ddphi : callable
        :math:`\phi'` and :math:`\phi''` (NumPy, accurate in the tails: the stable functions of
        :class:`~spectral.laws.d2_quadrature._SmoothD2`).
    q : float
        Pre-activation variance.
    crit : sequence of float
        The critical points of :math:`d(h)` (where :math:`d' = 0`), ascending.
    t_max : float
        |h| beyond which the Gaussian mass is left out.
    """

    def __init__(self, dphi, ddphi, q, crit, t_max):
        self.rq = math.sqrt(q)
        self.dphi, self.ddphi = dphi, ddphi
        ends = [-t_max] + [float(c) for c in crit if -t_max < c < t_max] + [t_max]
        self.pieces = list(zip(ends[:-1], ends[1:], strict=True))

    def d(self, h):
        """d(h) = phi'(sqrt(q) h)^2."""
        return np.asarray(self.dphi(self.rq * h), float) ** 2 * np.ones_like(h)

    def dprime(self, h):
        """d'(h) = 2 sqrt(q) phi' phi''."""
        x = self.rq * h
        return 2 * self.rq * np.asarray(self.dphi(x), float) * np.asarray(self.ddphi(x), float) * np.ones_like(h)

    def _roots(self, a, b, y):
        """The roots of d(h) = y on the monotone piece (a, b), clipped to its ends (a where y lies beyond d(a),
        b beyond d(b)); and whether y lies strictly inside the piece's range."""
        da, db = (float(v) for v in self.d(np.array([a, b])))
        inc = db > da
        lo, hi = np.full(y.shape, a), np.full(y.shape, b)
        for _ in range(_ROOT_STEPS):
            mid = 0.5 * (lo + hi)
            below = (self.d(mid) < y) == inc   # the root lies above mid
            lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
        r = 0.5 * (lo + hi)
        inside = (y > min(da, db)) & (y < max(da, db))
        r = np.where(inside, r, np.where((y <= min(da, db)) == inc, a, b))
        return r, inside

    def xrho(self, y):
        r""":math:`y\rho(y)` of :math:`D^2` at real y (= :math:`-\operatorname{Im} M(y + i0)/\pi`)."""
        y = np.asarray(y, float)
        out = np.zeros(y.shape)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
            for a, b in self.pieces:
                r, inside = self._roots(a, b, y)
                dens = np.exp(-0.5 * r * r) / math.sqrt(2 * math.pi) / np.abs(self.dprime(r))
                out += np.where(inside & np.isfinite(dens), y * dens, 0.0)
        return out

    def mass_between(self, y0, y1) -> float:
        r""":math:`P(\min(y_0, y_1) < D^2 \le \max(y_0, y_1))`, each piece's share as a Gaussian interval
        mass taken on the side of the smaller tail (no cancellation of :math:`\Phi` near 1)."""
        ys = np.array(sorted((float(y0), float(y1))))
        total = 0.0
        for a, b in self.pieces:
            r, _ = self._roots(a, b, ys)
            lo, hi = sorted(float(v) for v in r)
            total += float(ndtr(-lo) - ndtr(-hi)) if lo > 0 else float(ndtr(hi) - ndtr(lo))
        return total
