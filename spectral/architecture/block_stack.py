r"""The subordination systems of many residual blocks at once: blocks of one structure stacked into arrays.

A product of residual blocks (:mod:`spectral.architecture.block_product`) needs every distinct block's system
(:mod:`spectral.architecture.block_density`, :math:`E_j(z_j, x_j) = 0` in :math:`x_j = (w_j, m_{X_j},
\zeta_{D,j}, \dots)`) at every Newton step.  Blocks whose branches have the same structure -- the same kinds of
solver factors in the same order, a linear factor with as many terms, :math:`\alpha > 0` or not -- differ only
in their numbers (:math:`\alpha^2, \beta^2`, multiplicities, scales, coefficients, their :math:`D^2` laws), so a
:class:`BlockGroup` holds them as arrays of shape (blocks, ...) and evaluates the residuals and Jacobians of all
of them, shape (blocks, points, k) and (blocks, points, k, k), in a fixed number of numpy calls, the
:math:`D^2` quadratures of all blocks in one call (:class:`spectral.laws.d2_stack.D2Stack`) where they are
analytic.  This is the one implementation of a block's equations: a single block
(:class:`~spectral.architecture.block_density.BlockTransform`) is a group of one.
"""

from __future__ import annotations

import math

import numpy as np

from .block_density import _TINY, BlockTransform, block_sheet

__all__ = ["BlockGroup", "group_blocks"]

def _signature(tr: BlockTransform):
    """What must agree for blocks to share a group: alpha > 0 or not, each factor's kind, a linear factor's
    number of terms."""
    kinds = tuple((k, len(f.terms) if k == "linear" else 0) for f, k in zip(tr.factors, tr.kinds, strict=True))
    return (tr.alpha2 > 0, kinds)


def group_blocks(transforms):
    """The blocks' transforms grouped by structure: a list of (indices into ``transforms``, BlockGroup)."""
    groups: dict = {}
    for j, tr in enumerate(transforms):
        groups.setdefault(_signature(tr), []).append(j)
    return [(np.array(idx), BlockGroup([transforms[j] for j in idx])) for idx in groups.values()]


class BlockGroup:
    """Blocks of one structure (module docstring); ``trs``: their :class:`BlockTransform`."""

    def __init__(self, trs):
        from ..laws.d2_stack import D2Stack

        self.trs = list(trs)
        first = self.trs[0]
        self.k = first.K
        self.has_alpha = first.alpha2 > 0
        self.kinds = list(first.kinds)

        def col(values):
            return np.array(values, dtype=float)[:, None]

        self.alpha2 = col([t.alpha2 for t in self.trs])
        self.log_beta2 = col([math.log(t.beta2) for t in self.trs])
        self.beta2 = col([t.beta2 for t in self.trs])
        self.scale = col([t.scale for t in self.trs])
        self.a1 = col([t.a1 for t in self.trs])
        # per factor position: multiplicities, scales and, for linear factors, log c and the terms (b, e)
        self.factors = []
        for i, kind in enumerate(self.kinds):
            fs = [t.factors[i] for t in self.trs]
            rec = {"n": col([float(f.multiplicity) for f in fs]), "s": col([float(f.scale) for f in fs])}
            if kind == "linear":
                rec["log_c"] = col([math.log(f.c) for f in fs])
                rec["b"] = [col([float(f.terms[t][0]) for f in fs]) for t in range(len(fs[0].terms))]
                rec["e"] = [col([float(f.terms[t][1]) for f in fs]) for t in range(len(fs[0].terms))]
            elif kind == "explicit":
                rec["fs"] = fs
            else:
                rec["fs"] = fs
                # a block alone evaluates its D^2 law by the law's own quadrature: near the spectrum of D^2 the
                # stack's padded tiers cost ten times as much for one law (15 ms against 1.5 ms, 30 points)
                rec["stack"] = D2Stack.of([f.m for f in fs]) if len(fs) > 1 else None
                rec["mean"] = col([float(f.mean) for f in fs])
            self.factors.append(rec)

    def _implicit(self, rec, zj):
        """(M, M') of the group's implicit factors at zj (blocks, points)."""
        if rec["stack"] is not None:
            return rec["stack"].m_dm(zj)
        m = np.stack([f.m(z) for f, z in zip(rec["fs"], zj, strict=True)])
        dm = np.stack([f.dm(z) for f, z in zip(rec["fs"], zj, strict=True)])
        return m, dm

    def system(self, z, x):
        """Residuals E (b, n, k), Jacobian J (b, n, k, k) and dE_1/dz (b, n) (the only nonzero entry of dE/dz)
        at z (b, n), unknowns x (b, n, k), for every block of the group: the equations E_1, E_2, E_{2+j} of
        :mod:`spectral.architecture.block_density`'s docstring."""
        b, n, k = x.shape
        w, m = x[..., 0], x[..., 1]
        E = np.zeros((b, n, k), complex)
        J = np.zeros((b, n, k, k), complex)
        opm = 1.0 + m
        if self.has_alpha:
            h = -w * m / opm
            zw, zh = z - w, z + h
            E[..., 0] = zw * zh - self.alpha2
            J[..., 0, 0] = -zh + zw * (-m / opm)
            J[..., 0, 1] = zw * (-w / opm ** 2)
            ez = zh + zw
        else:
            E[..., 0] = w - z
            J[..., 0, 0] = 1.0
            ez = np.full(z.shape, -1.0 + 0j)
        e2 = np.log1p(m) - np.log(m) - 2.0 * np.log(w) + self.log_beta2
        d2m = 1.0 / opm - 1.0 / m
        J[..., 1, 0] = -2.0 / w
        j = 0
        for rec, kind in zip(self.factors, self.kinds, strict=True):
            nf, s = rec["n"], rec["s"]
            y = s * m
            if kind == "linear":
                e2 = e2 - nf * rec["log_c"]
                for bt, et in zip(rec["b"], rec["e"], strict=True):
                    e2 = e2 - nf * et * np.log1p(bt * y)
                    d2m = d2m - nf * et * bt * s / (1.0 + bt * y)
            elif kind == "explicit":
                e2 = e2 - nf * np.stack([f.log_s(yi) for f, yi in zip(rec["fs"], y, strict=True)])
                d2m = d2m - nf * s * np.stack([f.dlog_s(yi) for f, yi in zip(rec["fs"], y, strict=True)])
            else:
                zj = x[..., 2 + j]
                e2 = e2 - nf * (np.log1p(y) - np.log(y) - np.log(zj))
                d2m = d2m - nf * s * (1.0 / (1.0 + y) - 1.0 / y)
                J[..., 1, 2 + j] = nf / zj
                mj, dmj = self._implicit(rec, zj)
                E[..., 2 + j] = mj - y
                J[..., 2 + j, 2 + j] = dmj
                J[..., 2 + j, 1] = -s
                j += 1
        E[..., 1] = e2 - 2j * math.pi * np.round(e2.imag / (2 * math.pi))  # the equation holds for exp(E_2)
        J[..., 1, 1] = d2m
        return E, J, ez

    def scaled(self, z, x, E):
        """The scaled residual, the largest per block and point: E_2 as it is, E_1 relative to alpha^2 + |z|^2, the
        implicit rows relative to |m_X|."""
        r = np.maximum(np.abs(E[..., 1]), np.abs(E[..., 0]) / (self.alpha2 + np.abs(z) ** 2 + _TINY))
        for j in range(2, self.k):
            r = np.maximum(r, np.abs(E[..., j]) / (np.abs(x[..., 1]) + _TINY))
        return r

    def rounding(self, z, x, J, ez):
        """The residual's own rounding at unknowns x (b, n, k), scaled as :meth:`scaled`: each equation moves by
        eps |dE_i/dx_j| |x_j| when x_j is rounded (and E_1 by eps |z| |dE_1/dz|).  Next to a relu block's
        singular point (docs/design.md §6.1) m_X -> -1/2, where the relu factor's log(1 + 2 m_X) makes E_2's
        rounding eps / |1 + 2 m_X|: 2e-9 at 1e-7 of alpha^2, above RESIDUAL_TOL."""
        eps = np.finfo(float).eps
        ax = np.abs(x)
        r = eps * np.sum(np.abs(J[..., 1, :]) * ax, axis=-1)
        r1 = eps * (np.sum(np.abs(J[..., 0, :]) * ax, axis=-1) + np.abs(z) * np.abs(ez))
        r = np.maximum(r, r1 / (self.alpha2 + np.abs(z) ** 2 + _TINY))
        for j in range(2, self.k):
            r = np.maximum(r, eps * np.sum(np.abs(J[..., j, :]) * ax, axis=-1) / (ax[..., 1] + _TINY))
        return r

    def sheet(self, z, x):
        """The physical branch's sign conditions (:func:`~spectral.architecture.block_density.block_sheet`) for
        every block and point."""
        return block_sheet(z, x, self.scale, self.beta2, self.k - 2)

    def far_start(self, z):
        """Unknowns where |z| is large, for every block: w = z - alpha^2/z, m = a_1 beta^2/w^2, zeta_j =
        mean_j/(s_j m)."""
        w = z - self.alpha2 / z if self.has_alpha else z.copy()
        m = self.a1 * self.beta2 / (w * w)
        cols = [w, m] + [rec["mean"] / (rec["s"] * m) for rec, kind in zip(self.factors, self.kinds, strict=True)
                         if kind == "implicit"]
        return np.stack(cols, axis=-1)
