r"""The moment transforms of many :math:`D^2` laws at once (the residual blocks of one network,
docs/design.md §6.1), with a short Gauss rule far from their spectra.

A product of :math:`L` distinct residual blocks evaluates every block's :math:`M_{D^2}(\zeta_j)` at every
Newton step.  The subordination points :math:`\zeta_j \sim w^2/\beta^2` lie far from the spectrum
:math:`[\ell, h]` of :math:`D^2` when :math:`\beta` is small (for :math:`\beta = 1/4`, 16 tanh blocks: every
point at Bernstein parameter :math:`\rho \ge 17`, below), where the plain rule of :class:`_SmoothD2` spends
~450 nodes on a function that a polynomial of low degree in :math:`d` represents to rounding.  There
:class:`D2Stack` uses the ``GAUSS_NODES``-node Gauss rule of the plain rule's own discrete measure
:math:`\sum_i w_i\delta_{d_i}` (Lanczos with full reorthogonalisation, Golub & Welsch 1969): with
:math:`f(d) = d/(\zeta - d)` analytic inside the Bernstein ellipse of :math:`[\ell, h]` through
:math:`\zeta`, parameter :math:`\rho(\zeta) = |x + \sqrt{x-1}\sqrt{x+1}|`, :math:`x = (2\zeta - \ell - h)/(h -
\ell)`, an :math:`n`-node Gauss rule of a probability measure on :math:`[\ell, h]` differs from the measure by at
most twice the best uniform approximation of degree :math:`2n - 1` on the ellipse of parameter
:math:`r = \sqrt\rho`, :math:`4 F r^{1-2n}/(r - 1)` (Trefethen, *Approximation Theory and Approximation
Practice*, Thm 8.2; :math:`F = \max|f|` there, of the order of :math:`|M|`): at :math:`\rho \ge` ``GAUSS_RHO``
= 8 and :math:`n = 20`, :math:`5\cdot10^{-18} F` (the same for :math:`f' = d/(\zeta - d)^2`).  The value is then
the plain rule's to rounding, itself within ~1e-14 of the law (:class:`_SmoothD2`).
"""

from __future__ import annotations

import numpy as np

from .d2_quadrature import _SmoothD2
from .d2_tiers import _tier_of
from .gauss_rule import bernstein_rho, gauss_rule

__all__ = ["D2Stack"]

#: nodes of the Gauss rule far from the spectrum of D^2 (module docstring: error <= 5e-18 |M| at GAUSS_RHO)
GAUSS_NODES = 20
#: Bernstein parameter of zeta (relative to the spectrum [lo, hi] of D^2) from which the Gauss rule serves
GAUSS_RHO = 8.0
#: where D2Stack.m_dm puts the unused slots of a packed row (far from every spectrum of D^2: finite terms)
_FAR_PAD = 1e6j


class D2Stack:
    r""":math:`M(\zeta)` and :math:`M'(\zeta)` of several :class:`_SmoothD2` laws at once: ``zeta`` of shape
    (laws, points), each row at its own law, one numpy call per tier instead of one call per law.  The tiers and
    their nodes are each law's own (:meth:`_SmoothD2._tier`, ``tiers``), padded with weight 0 to a common
    length, so every value is its law's quadrature sum (to the order of summation); far from the spectrum
    (:math:`\rho \ge` GAUSS_RHO, in the plain tier) one more tier, the GAUSS_NODES-node Gauss rule of the plain
    tier's measure (module docstring), which agrees with the plain tier to rounding."""

    def __init__(self, quads):
        self.quads = tuple(quads)
        self.nodes = []
        rules = [q.tiers[k] for q in self.quads for k in range(len(q.tiers))]
        n_tiers = len(self.quads[0].tiers)
        gauss = [gauss_rule(np.real(q.tiers[0][0]), np.real(q.tiers[0][1]), GAUSS_NODES) for q in self.quads]
        for k in range(n_tiers + 1):
            per_law = gauss if k == n_tiers else [rules[i * n_tiers + k] for i in range(len(self.quads))]
            size = max(len(dk) for dk, _ in per_law)
            d = np.zeros((len(self.quads), size), complex)
            wd = np.zeros((len(self.quads), size), complex)
            for i, (dk, wk) in enumerate(per_law):
                d[i, :len(dk)], wd[i, :len(dk)] = dk, wk * dk
                d[i, len(dk):] = dk[-1]  # a node of the law itself: finite wherever the law's own sum is
            self.nodes.append((d, wd))
        self.gauss_tier = n_tiers
        ncrit = max(len(q.crit_values) for q in self.quads)
        crit = np.full((len(self.quads), ncrit), np.inf)  # no critical value: never nearest
        sides = np.zeros((len(self.quads), ncrit))
        for i, q in enumerate(self.quads):
            crit[i, :len(q.crit_values)] = q.crit_values
            sides[i, :len(q.crit_sides)] = q.crit_sides
        self.tier_args = (np.array([[q.bounds[0]] for q in self.quads]), np.array([[q.bounds[1]] for q in self.quads]),
                          np.array([[q.span] for q in self.quads]), crit, sides,
                          np.array([[q.tail_zeta] for q in self.quads]))

    @classmethod
    def of(cls, ms):
        """The stack of the laws whose moment transforms are ``ms`` (an ImplicitFactor's ``m`` each), None
        unless every one is a :class:`_SmoothD2`'s with the same tiers."""
        quads = [getattr(m, "__self__", None) for m in ms]
        if not quads or not all(isinstance(q, _SmoothD2) and m == q.m for q, m in zip(quads, ms, strict=True)):
            return None
        if len({len(q.tiers) for q in quads}) != 1:
            return None
        return cls(quads)

    def tiers(self, zeta):
        """The tier serving each point of ``zeta`` (laws, points): the law's own, or ``gauss_tier``."""
        far = bernstein_rho(zeta, self.tier_args[0], self.tier_args[1]) >= GAUSS_RHO
        if np.all(far):  # the usual case: no other tier to sort out
            return np.full(zeta.shape, self.gauss_tier)
        # rho >= GAUSS_RHO lies beyond every other tier's reach (its ellipse is > span from [lo, hi]): tier 0
        return np.where(far, self.gauss_tier, _tier_of(zeta, *self.tier_args))

    def m_dm(self, zeta):
        """(M, M') at ``zeta`` (laws, points), row i at law i."""
        zeta = np.asarray(zeta, dtype=complex)
        tier = self.tiers(zeta)
        m = np.empty(zeta.shape, complex)
        dm = np.empty(zeta.shape, complex)
        for k, (d, wd) in enumerate(self.nodes):
            sel = tier == k
            count = sel.sum(axis=1)
            if not count.any():
                continue
            if count.min() == zeta.shape[1]:  # every point of every law: no packing
                r = 1.0 / (zeta[:, :, None] - d[:, None, :])
                m[...] = (r @ wd[:, :, None])[..., 0]
                r *= r
                dm[...] = -(r @ wd[:, :, None])[..., 0]
                continue
            # each law's points of this tier packed to the front of its row (the rest: a far point, dropped)
            rank = np.cumsum(sel, axis=1) - 1
            bi, pi = np.nonzero(sel)
            zk = np.full((len(self.quads), int(count.max())), _FAR_PAD, complex)
            zk[bi, rank[bi, pi]] = zeta[bi, pi]
            r = 1.0 / (zk[:, :, None] - d[:, None, :])
            rw = r @ wd[:, :, None]
            r *= r
            r2w = r @ wd[:, :, None]
            m[bi, pi] = rw[bi, rank[bi, pi], 0]
            dm[bi, pi] = -r2w[bi, rank[bi, pi], 0]
        return m, dm
