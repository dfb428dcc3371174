r"""The moment transform of a free product of residual blocks, :math:`M_P(\zeta)`, as ONE Newton system.

For :math:`P = \prod_j (B_j B_j^T)^{n_j}` (distinct blocks :math:`B_j = \alpha_j I + \beta_j X_j`, free, multiplicity
:math:`n_j`, :math:`N = \sum_j n_j`), multiplicative subordination with :math:`S_{B_j}(y) = (1+y)/(y\,\zeta_j)`,
:math:`M_{B_j}(\zeta_j) = m`, gives

.. math:: \log\zeta = (1 - N)\bigl(\log(1+m) - \log m\bigr) + \sum_j n_j \log\zeta_j, \qquad m = M_P(\zeta).

Each block's :math:`M_{B_j}(\zeta_j)` is the subordination system of :mod:`spectral.architecture.block_density`
in :math:`z_j = \sqrt{\zeta_j}` with unknowns :math:`x_j = (w_j, m_{X_j}, \zeta_{D,j}, \dots)`, closed by
:math:`z_j (1 + m_{X_j})/w_j = 1 + m` (:math:`z_j G_{\nu_j}(z_j) = 1 + M_{B_j}`).  All of it is solved as one
system in :math:`(m, z_1, x_1, z_2, x_2, \dots)` (the outer equation written with :math:`\log\zeta_j = 2\log
z_j`), so a point costs one evaluation of each block's :math:`D^2` law per Newton step, and the warm starts
(:class:`~spectral.architecture.block_density._WarmStarts`, with the tangent) carry every block's unknowns.
The density solver sees the product as one implicit factor (one real branch to scan for its edges, not one per
block).  Sheet checks: :math:`\operatorname{Im}G_P(\zeta) \le 0` and each block's own (its :math:`z_j` in the
closed first quadrant, i.e. :math:`\zeta_j` in the closed upper half-plane with :math:`\zeta`).
"""

from __future__ import annotations

import math

import numpy as np

from .block_density import (
    FAR_START,
    NEWTON_MAXIT,
    NEWTON_RTOL,
    PATH_FLOOR,
    PATH_HEIGHT,
    PATH_MAXSTEPS,
    PATH_MIN_SHRINK,
    PATH_RATIO,
    RESIDUAL_TOL,
    SHEET_TOL,
    WARM_RADIUS,
    Z_ZERO,
    BlockTransform,
    _predict,
    _solve_each,
    _WarmSolver,
    _WarmStarts,
    support_edges,
)

__all__ = ["ProductTransform", "product_solver_factor"]

#: guards a division by zero
_TINY = 1e-300
#: rounding of M_P in units of eps (|zeta| |M'| + |1 + M|): the solve is backward stable in zeta, so next to a
#: square-root edge of the product (where M' blows up) M_P itself is known only to eps |zeta M'|
NOISE_EPS = 16 * np.finfo(float).eps


class ProductTransform(_WarmSolver):
    """Vectorized :math:`M_P(\\zeta)`, :math:`M_P'(\\zeta)` for ``blocks``: a list of (ResidualBlockLaw,
    multiplicity) (module docstring)."""

    walks = True

    def __init__(self, blocks):
        from ..density import lambda_max

        self.tr = [BlockTransform(b.branch_law, b.alpha, b.beta) for b, _ in blocks]
        self.n = np.array([float(k) for _, k in blocks])
        self.N = float(self.n.sum())
        self.sizes = [2 + len(t.implicit) for t in self.tr]
        # column of z_j; x_j follows it
        self.col = np.cumsum([1] + [1 + s for s in self.sizes[:-1]])
        self.K = 1 + sum(1 + s for s in self.sizes)
        mom = [b.moments(2) for b, _ in blocks]
        self.means = np.array([float(m[0]) for m in mom])
        self.offsets = np.array([float(m[1] / m[0]) for m in mom])
        self.m1 = float(np.prod(self.means ** self.n))
        # Weyl: singular values of each block within [(alpha - beta s)_+, alpha + beta s]
        his, los = [], []
        for b, _ in blocks:
            s = math.sqrt(lambda_max(b.branch_law))
            a, be = float(b.alpha), float(b.beta)
            his.append((a + be * s) ** 2)
            los.append(max(0.0, a - be * s) ** 2)
        self.weyl = (float(np.prod(np.array(los) ** self.n)), float(np.prod(np.array(his) ** self.n)))
        self.scale = self.weyl[1]
        self.far_radius = FAR_START ** 2 * self.scale  # zeta = z^2 of the single block's far start
        self._last = None
        self._warm = _WarmStarts(self.K)
        self.stats = {"calls": 0, "points": 0, "far": 0, "warm": 0, "walk": 0, "path": 0, "failed": 0}

    def _system(self, zeta, x):
        """Residuals E (n, K), Jacobian J (n, K, K) and dE/dzeta (n, K) of the whole system."""
        npts = len(zeta)
        E = np.zeros((npts, self.K), complex)
        J = np.zeros((npts, self.K, self.K), complex)
        m = x[:, 0]
        e0 = (1.0 - self.N) * (np.log1p(m) - np.log(m)) - np.log(zeta)
        J[:, 0, 0] = (1.0 - self.N) * (1.0 / (1.0 + m) - 1.0 / m)
        r = 1  # row
        for tr, nj, c, k in zip(self.tr, self.n, self.col, self.sizes, strict=True):
            zj = x[:, c]
            xj = x[:, c + 1:c + 1 + k]
            e0 = e0 + 2.0 * nj * np.log(zj)
            J[:, 0, c] = 2.0 * nj / zj
            Ej, Jj, Ezj = tr._system(zj, xj)
            E[:, r:r + k] = Ej
            J[:, r:r + k, c] = Ezj
            J[:, r:r + k, c + 1:c + 1 + k] = Jj
            w, mx = xj[:, 0], xj[:, 1]
            # coupling z_j (1 + m_X)/w = 1 + m
            E[:, r + k] = zj * (1.0 + mx) / w - (1.0 + m)
            J[:, r + k, c] = (1.0 + mx) / w
            J[:, r + k, c + 1] = -zj * (1.0 + mx) / (w * w)
            J[:, r + k, c + 2] = zj / w
            J[:, r + k, 0] = -1.0
            r += k + 1
        E[:, 0] = e0 - 2j * math.pi * np.round(e0.imag / (2 * math.pi))  # the equation holds for exp(E_0)
        Ez = np.zeros((npts, self.K), complex)
        Ez[:, 0] = -1.0 / zeta
        return E, J, Ez

    def _residual(self, zeta, x, E):
        """Scaled residual: the log equations as they are, each block's by its own scaling, the couplings
        relative to |1 + m|."""
        res = np.abs(E[:, 0])
        r = 1
        for tr, c, k in zip(self.tr, self.col, self.sizes, strict=True):
            zj, xj = x[:, c], x[:, c + 1:c + 1 + k]
            Ej = E[:, r:r + k]
            res = np.maximum(res, tr._scaled(zj, Ej))
            for j in range(k - 2):
                res = np.maximum(res, np.abs(Ej[:, 2 + j]) / (np.abs(xj[:, 1]) + _TINY))
            res = np.maximum(res, np.abs(E[:, r + k]) / (np.abs(1.0 + x[:, 0]) + _TINY))
            r += k + 1
        return res

    def _sheet(self, zeta, x):
        m = x[:, 0]
        g = (1.0 + m) / zeta
        ok = g.imag <= SHEET_TOL * np.abs(g)
        for tr, c, k in zip(self.tr, self.col, self.sizes, strict=True):
            zj = x[:, c]
            ok &= (zj.imag >= -SHEET_TOL * np.abs(zj)) & (zj.real >= -SHEET_TOL * np.abs(zj))
            ok &= tr._sheet(zj, x[:, c + 1:c + 1 + k])
        return ok

    def _newton(self, zeta, x):
        x = x.copy()
        active = np.all(np.isfinite(x), axis=1)
        for _ in range(NEWTON_MAXIT):
            idx = np.flatnonzero(active)
            if idx.size == 0:
                break
            E, J, _ = self._system(zeta[idx], x[idx])
            step = _solve_each(J, E)
            xn = x[idx] - step
            good = np.all(np.isfinite(xn), axis=1)
            x[idx[good]] = xn[good]
            x[idx[~good]] = np.nan
            conv = good & (np.max(np.abs(step) / (np.abs(xn) + _TINY), axis=1) <= NEWTON_RTOL)
            active[idx[conv | ~good]] = False
        fin = np.all(np.isfinite(x), axis=1)
        xs = np.where(fin[:, None], x, 1.0)
        E, J, Ez = self._system(zeta, xs)
        res = self._residual(zeta, xs, E)
        dx = -_solve_each(J, Ez)
        ok = fin & (res <= RESIDUAL_TOL) & np.all(np.isfinite(dx), axis=1)
        return x, ok & self._sheet(zeta, xs), dx

    def _far_start(self, zeta):
        """m = m_1/zeta; each block at zeta_j = mean_j/m + m2_j/m1_j (its M = m to second order)."""
        m = self.m1 / zeta
        x = np.zeros((len(zeta), self.K), complex)
        x[:, 0] = m
        for tr, mu, off, c, k in zip(self.tr, self.means, self.offsets, self.col, self.sizes, strict=True):
            zj = np.sqrt(mu / m + off)
            x[:, c] = zj
            x[:, c + 1:c + 1 + k] = tr._far_start(zj)
        return x

    def _path(self, zeta):
        d = PATH_HEIGHT * (np.abs(zeta) + self.scale)
        floor = PATH_FLOOR * self.scale * np.maximum(1.0, np.abs(zeta) / self.scale)
        x, ok, dx = self._newton(zeta + 1j * d, self._far_start(zeta + 1j * d))
        q = np.full(len(zeta), PATH_RATIO)
        live = ok & (d > 0)
        for _ in range(PATH_MAXSTEPS):
            idx = np.flatnonzero(live)
            if idx.size == 0:
                break
            d_try = d[idx] * q[idx]
            d_try = np.where(d_try < floor[idx], 0.0, d_try)
            pred = _predict(zeta[idx] + 1j * d[idx], x[idx], dx[idx], zeta[idx] + 1j * d_try)
            xn, okn, dxn = self._newton(zeta[idx] + 1j * d_try, pred)
            good, bad = idx[okn], idx[~okn]
            x[good], dx[good], d[good] = xn[okn], dxn[okn], d_try[okn]
            q[good] = np.maximum(q[good] ** 2, PATH_RATIO)
            q[bad] = np.sqrt(q[bad])
            live[bad[q[bad] > PATH_MIN_SHRINK]] = False
            live[good[d[good] == 0]] = False
        ok &= d == 0
        return x, ok, dx

    def _walk(self, zeta, z0, x0, d0, dist):
        """Continuation from solved points z0 to zeta along the straight line in log zeta (it stays in the closed
        upper half-plane), ceil(dist / WARM_RADIUS) steps with the tangent predictor."""
        steps = np.ceil(dist / WARM_RADIUS).astype(int)
        la, lb = np.log(z0), np.log(zeta)
        x, dx, zc = x0.copy(), d0.copy(), z0.copy()
        ok = np.ones(len(zeta), bool)
        for k in range(1, int(steps.max()) + 1):
            idx = np.flatnonzero(ok & (steps >= k))
            if idx.size == 0:
                break
            t = k / steps[idx]
            zt = np.where(t >= 1, zeta[idx], np.exp(la[idx] + t * (lb[idx] - la[idx])))
            xn, okn, dxn = self._newton(zt, _predict(zc[idx], x[idx], dx[idx], zt))
            x[idx], dx[idx], zc[idx] = xn, dxn, zt
            ok[idx[~okn]] = False
        return x, ok, dx

    def _eval(self, zeta):
        zeta = np.asarray(zeta, dtype=complex)
        key = (zeta.shape, zeta.tobytes())
        if self._last is not None and self._last[0] == key:
            return self._last[1]
        self.stats["calls"] += 1
        self.stats["points"] += zeta.size
        flat = zeta.ravel()
        lower = flat.imag < 0
        zq = np.where(lower, np.conj(flat), flat)  # M(conj zeta) = conj M(zeta)
        zq = np.where(zq == 0, Z_ZERO * 1j, zq)
        with np.errstate(all="ignore"):
            x = np.full((len(zq), self.K), np.nan, complex)
            dx = np.full_like(x, np.nan)
            fin = np.isfinite(zq)
            if np.any(fin):
                x[fin], dx[fin] = self._solve(zq[fin])
            m, dm = x[:, 0], dx[:, 0]
            # 1 + m without cancellation near m = -1: z_1 (1 + m_X1)/w_1 of the first block
            c = self.col[0]
            g1 = x[:, c] * (1.0 + x[:, c + 2]) / x[:, c + 1]
        out = (np.where(lower, np.conj(m), m).reshape(zeta.shape), np.where(lower, np.conj(dm), dm).reshape(zeta.shape),
               np.where(lower, np.conj(g1), g1).reshape(zeta.shape))
        self._last = (key, out)
        return out

    def m(self, zeta):
        """:math:`M_P(\\zeta)` (NaN where no solution passed the sheet checks)."""
        return self._eval(zeta)[0]

    def dm(self, zeta):
        """:math:`M_P'(\\zeta)` by implicit differentiation of the whole system."""
        return self._eval(zeta)[1]

    def g1(self, zeta):
        """:math:`1 + M_P(\\zeta)` from the first block's coupling (no cancellation near :math:`m = -1`)."""
        return self._eval(zeta)[2]

    def noise(self, zeta):
        """Absolute rounding error of :func:`g1` (NOISE_EPS)."""
        m, dm, g1 = self._eval(zeta)
        return NOISE_EPS * (np.abs(np.asarray(zeta)) * np.abs(dm) + np.abs(g1))


def product_solver_factor(blocks):
    r"""One :class:`~spectral.density.ImplicitFactor` for the free product of ``blocks`` ((ResidualBlockLaw,
    multiplicity) pairs): :math:`M_P` above, its spectrum inside the product of the blocks' Weyl intervals,
    narrowed to its outer edges (:func:`~spectral.architecture.block_density.support_edges`); mean
    :math:`\prod_j m_{1,j}^{n_j}` and relative variance :math:`\sum_j n_j v_j` (free products add them)."""
    from ..density import ImplicitFactor

    tr = ProductTransform(blocks)
    lo, hi = support_edges(tr, *tr.weyl, geometric=True)
    spread = 0.0
    for b, n in blocks:
        m1, m2 = (float(v) for v in b.moments(2))
        spread += float(n) * (m2 / m1**2 - 1.0)
    offset = tr.m1 * (1.0 + spread)
    return ImplicitFactor(m=tr.m, dm=tr.dm, mean=tr.m1, bounds=(lo, hi), g1=tr.g1, offset=offset, spread=spread,
                          noise=tr.noise)
