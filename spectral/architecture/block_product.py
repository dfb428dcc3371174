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
Its Jacobian is an arrowhead (the outer row couples m and every z_j, block j's rows only (z_j, x_j) and m):
each Newton step and tangent eliminates every block by its own small solve onto m
(:meth:`ProductTransform._arrow_solve`), linear in the blocks, and blocks of one structure are evaluated together
(:mod:`spectral.architecture.block_stack`).
The density solver sees the product as one implicit factor (one real branch to scan for its edges, not one per
block).  Sheet checks: :math:`\operatorname{Im}G_P(\zeta) \le 0` and each block's own (its :math:`z_j` in the
closed first quadrant, i.e. :math:`\zeta_j` in the closed upper half-plane with :math:`\zeta`).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from ..density.threads import _thread_policy
from .block_density import (
    FAR_START,
    NEWTON_MAXIT,
    NEWTON_RTOL,
    RESIDUAL_TOL,
    SHEET_TOL,
    WARM_RADIUS,
    Z_ZERO,
    BlockTransform,
    _predict,
    _WarmSolver,
    _WarmStarts,
)
from .block_edges import EDGE_WINDOW_SD, NOISE_EPS, support_edges
from .block_stack import group_blocks

__all__ = ["ProductTransform", "product_solver_factor"]

#: guards a division by zero
_TINY = 1e-300
# NOISE_EPS: rounding of M_P in units of eps (|zeta| |M'| + |1 + M|; T |zeta M'| for the edge scan, im_noise): the
# solve is backward stable in zeta, so next to a square-root edge of the product (where M' blows up) M_P itself is
# known only to eps |zeta M'| times the size T of the outer equation's terms
#: Newton stops at a point whose relative step, after STALL_AFTER iterations, shrank by less than STALL_RATIO:
#: converging quadratically it shrinks far faster; below the support (1 + m ~ zeta/edge, m known to eps/|1 + m|)
#: the steps stall at rounding, and the residual check decides as it would after NEWTON_MAXIT iterations
STALL_AFTER = 3
STALL_RATIO = 0.5
#: the continuation's scale is m_1 exp(SCALE_SD sqrt(v)) (v = m_2/m_1^2 - 1 of the product) where that is below
#: Weyl's bound: the top of the spectrum lies ~2 sd (in log) above m_1 for a block (semicircle-like) and for the
#: Brownian limit of many; 4 leaves room.  It places the path's start and the far expansion only: the edges
#: still come from the scan of Weyl's interval, and the sheet checks still guard the branch (a start too low
#: makes points fail, NaN: not certified)
SCALE_SD = 4.0


@dataclasses.dataclass(frozen=True)
class _Rows:
    """One group's rows of the system: residuals E (blocks, n, 1 + k) (the block's equations, then its
    coupling), their Jacobian A (blocks, n, 1 + k, 1 + k) in (z_j, x_j), and the outer row's entry at z_j,
    b = 2 n_j / z_j (blocks, n)."""

    E: np.ndarray
    A: np.ndarray
    b: np.ndarray


@dataclasses.dataclass(frozen=True)
class _Arrow:
    """The whole system at a batch of points: the outer equation's residual e0 (n,) and its derivative in m,
    a (n,), and each group's rows."""

    e0: np.ndarray
    a: np.ndarray
    groups: list


def _solve_batch(A, B):
    """Solutions of A_i X_i = B_i over the leading axes; NaN for a singular A_i only (not the whole batch)."""
    try:
        return np.linalg.solve(A, B)
    except np.linalg.LinAlgError:
        shape = B.shape
        a = A.reshape((-1,) + A.shape[-2:])
        b = B.reshape((-1,) + B.shape[-2:])
        out = np.full(b.shape, np.nan, complex)
        for i in range(len(b)):
            try:
                out[i] = np.linalg.solve(a[i], b[i])
            except np.linalg.LinAlgError:
                pass
        return out.reshape(shape)


class ProductTransform(_WarmSolver):
    """Vectorized :math:`M_P(\\zeta)`, :math:`M_P'(\\zeta)` for ``blocks``: a list of (ResidualBlockLaw,
    multiplicity) (module docstring).  Its build and evaluations run under the density solver's BLAS policy
    (:mod:`spectral.density.threads`)."""

    walks = True

    @_thread_policy
    def __init__(self, blocks):
        from ..density import lambda_max

        self.tr = [BlockTransform(b.branch_law, b.alpha, b.beta) for b, _ in blocks]
        self.n = np.array([float(k) for _, k in blocks])
        self.N = float(self.n.sum())
        self.sizes = [2 + len(t.implicit) for t in self.tr]
        # column of z_j; x_j follows it
        self.col = np.cumsum([1] + [1 + s for s in self.sizes[:-1]])
        self.K = 1 + sum(1 + s for s in self.sizes)
        grouped = group_blocks(self.tr)
        self.group_index = [idx for idx, _ in grouped]
        self.groups = [g for _, g in grouped]
        # columns (blocks, 1 + k) of each group's blocks: z_j, then x_j
        self.group_cols = [self.col[idx][:, None] + np.arange(1 + g.k)[None, :] for idx, g in grouped]
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
        # where the continuation starts and stops (path heights, far radius): the spectrum's own scale, far
        # below Weyl's bound for many blocks (64 tanh blocks: 6e9 against a top near 5)
        spread = float(np.sum(self.n * (self.offsets / self.means - 1.0)))
        self.scale = min(self.weyl[1], self.m1 * math.exp(SCALE_SD * math.sqrt(max(spread, 0.0))))
        self.far_radius = FAR_START ** 2 * self.scale  # zeta = z^2 of the single block's far start
        self._warm = _WarmStarts(self.K)
        self.stats = {"calls": 0, "points": 0, "far": 0, "warm": 0, "walk": 0, "path": 0, "failed": 0}

    def _pieces(self, zeta, x) -> _Arrow:
        """The system at unknowns x (n, K): the outer equation and every block's rows (module docstring)."""
        m = x[:, 0]
        e0 = (1.0 - self.N) * (np.log1p(m) - np.log(m)) - np.log(zeta)
        a = (1.0 - self.N) * (1.0 / (1.0 + m) - 1.0 / m)
        groups = []
        for idx, grp, cols in zip(self.group_index, self.groups, self.group_cols, strict=True):
            y = x[:, cols].transpose(1, 0, 2)  # (blocks, n, 1 + k): z_j, x_j
            zj, xj = y[..., 0], y[..., 1:]
            k = grp.k
            Ej, Jj, ez = grp.system(zj, xj)
            nj = self.n[idx][:, None]
            e0 = e0 + np.sum(2.0 * nj * np.log(zj), axis=0)
            E = np.empty(y.shape, complex)
            A = np.zeros(y.shape + (1 + k,), complex)
            E[..., :k] = Ej
            A[..., 0, 0] = ez
            A[..., :k, 1:] = Jj
            # coupling z_j (1 + m_X)/w = 1 + m
            w, mx = xj[..., 0], xj[..., 1]
            E[..., k] = zj * (1.0 + mx) / w - (1.0 + m)
            A[..., k, 0] = (1.0 + mx) / w
            A[..., k, 1] = -zj * (1.0 + mx) / (w * w)
            A[..., k, 2] = zj / w
            groups.append(_Rows(E=E, A=A, b=2.0 * nj / zj))
        e0 = e0 - 2j * math.pi * np.round(e0.imag / (2 * math.pi))  # the equation holds for exp(E_0)
        return _Arrow(e0=e0, a=a, groups=groups)

    def _arrow_solve(self, sysm: _Arrow, r0, rg):
        r"""The solution of J d = r for the arrowhead J of ``sysm`` (module docstring): each block's rows
        :math:`A_j (u_j, v_j) = (r_j, c_j)` (:math:`c_j = \partial F_j/\partial m`, -1 in the coupling row),
        then :math:`d_m = (r_0 - \sum_j b_j u_j)/(a - \sum_j b_j v_j)` and :math:`d_j = u_j - v_j d_m`
        (:math:`b_j = 2n_j/z_j` the outer row's entry at :math:`z_j`).  ``rg``: per group (blocks, n, 1 + k).
        Returns d (n, K); NaN at a point where a block's A_j is singular."""
        num = r0.astype(complex)
        den = sysm.a.astype(complex)
        sols = []
        for g, r in zip(sysm.groups, rg, strict=True):
            rc = np.zeros(r.shape + (2,), complex)  # the right-hand sides r and c
            rc[..., 0] = r
            rc[..., -1, 1] = -1.0
            uv = _solve_batch(g.A, rc)
            u, v = uv[..., 0], uv[..., 1]
            num = num - np.sum(g.b * u[..., 0], axis=0)
            den = den - np.sum(g.b * v[..., 0], axis=0)
            sols.append((u, v))
        dm = num / den
        d = np.empty((len(r0), self.K), complex)
        d[:, 0] = dm
        for (u, v), cols in zip(sols, self.group_cols, strict=True):
            d[:, cols] = (u - v * dm[None, :, None]).transpose(1, 0, 2)
        return d

    def _dense(self, sysm: _Arrow):
        """Residual E (n, K) and the whole Jacobian J (n, K, K) of ``sysm`` as dense arrays (the reference
        for the arrowhead solve in the tests)."""
        n = len(sysm.e0)
        E = np.zeros((n, self.K), complex)
        J = np.zeros((n, self.K, self.K), complex)
        E[:, 0], J[:, 0, 0] = sysm.e0, sysm.a
        for g, cols in zip(sysm.groups, self.group_cols, strict=True):
            for i, c in enumerate(cols):
                E[:, c] = g.E[i]
                J[:, c[:, None], c[None, :]] = g.A[i]
                J[:, 0, c[0]] = g.b[i]
                J[:, c[-1], 0] = -1.0
        return E, J

    def _step(self, sysm: _Arrow):
        """The Newton step J^{-1} E."""
        return self._arrow_solve(sysm, sysm.e0, [g.E for g in sysm.groups])

    def _tangent(self, zeta, sysm: _Arrow):
        """dx/dzeta = -J^{-1} dE/dzeta (only the outer equation depends on zeta: -1/zeta)."""
        return -self._arrow_solve(sysm, -1.0 / zeta, [np.zeros(g.E.shape, complex) for g in sysm.groups])

    def _residual(self, x, sysm: _Arrow):
        """Scaled residual: the log equations as they are, each block's by its own scaling, the couplings
        relative to |1 + m|."""
        res = np.abs(sysm.e0)
        one_m = np.abs(1.0 + x[:, 0]) + _TINY
        for grp, g, cols in zip(self.groups, sysm.groups, self.group_cols, strict=True):
            y = x[:, cols].transpose(1, 0, 2)
            res = np.maximum(res, np.max(grp.scaled(y[..., 0], y[..., 1:], g.E[..., :-1]), axis=0))
            res = np.maximum(res, np.max(np.abs(g.E[..., -1]), axis=0) / one_m)
        return res

    def _sheet(self, zeta, x):
        m = x[:, 0]
        g = (1.0 + m) / zeta
        ok = g.imag <= SHEET_TOL * np.abs(g)
        for grp, cols in zip(self.groups, self.group_cols, strict=True):
            y = x[:, cols].transpose(1, 0, 2)
            zj = y[..., 0]
            blk = (zj.imag >= -SHEET_TOL * np.abs(zj)) & (zj.real >= -SHEET_TOL * np.abs(zj))
            ok &= np.all(blk & grp.sheet(zj, y[..., 1:]), axis=0)
        return ok

    def _newton(self, zeta, x):
        x = x.copy()
        active = np.all(np.isfinite(x), axis=1)
        last = np.full(len(x), np.inf)
        for it in range(NEWTON_MAXIT):
            idx = np.flatnonzero(active)
            if idx.size == 0:
                break
            step = self._step(self._pieces(zeta[idx], x[idx]))
            xn = x[idx] - step
            good = np.all(np.isfinite(xn), axis=1)
            x[idx[good]] = xn[good]
            x[idx[~good]] = np.nan
            rel = np.max(np.abs(step) / (np.abs(xn) + _TINY), axis=1)
            conv = good & (rel <= NEWTON_RTOL)
            stall = (it >= STALL_AFTER) & (rel > STALL_RATIO * last[idx])
            last[idx] = rel
            active[idx[conv | ~good | stall]] = False
        fin = np.all(np.isfinite(x), axis=1)
        xs = np.where(fin[:, None], x, 1.0)
        sysm = self._pieces(zeta, xs)
        res = self._residual(xs, sysm)
        dx = self._tangent(zeta, sysm)
        ok = fin & (res <= RESIDUAL_TOL) & np.all(np.isfinite(dx), axis=1)
        return x, ok & self._sheet(zeta, xs), dx

    def _far_start(self, zeta):
        """m = m_1/zeta; each block at zeta_j = mean_j/m + m2_j/m1_j (its M = m to second order)."""
        m = self.m1 / zeta
        x = np.zeros((len(zeta), self.K), complex)
        x[:, 0] = m
        for idx, grp, cols in zip(self.group_index, self.groups, self.group_cols, strict=True):
            zj = np.sqrt(self.means[idx][:, None] / m + self.offsets[idx][:, None])
            x[:, cols] = np.moveaxis(np.concatenate([zj[..., None], grp.far_start(zj)], axis=-1), 0, 1)
        return x

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

    def _outputs(self, zq):
        """(M_P, M_P', 1 + M_P, the size of the outer equation's terms) at the points zq of the closed upper
        half-plane (flat)."""
        zq = np.where(zq == 0, Z_ZERO * 1j, zq)
        x, dx = self._solve_finite(zq)
        m, dm = x[:, 0], dx[:, 0]
        # 1 + m without cancellation near m = -1: z_1 (1 + m_X1)/w_1 of the first block
        c = self.col[0]
        g1 = x[:, c] * (1.0 + x[:, c + 2]) / x[:, c + 1]
        # the size of the outer equation's terms, whose rounding (eps each) moves log zeta (noise)
        terms = np.abs(np.log(zq)) + abs(1.0 - self.N) * np.abs(np.log1p(m) - np.log(m))
        terms = terms + np.sum(2.0 * self.n[None, :] * np.abs(np.log(x[:, self.col])), axis=1)
        return m, dm, g1, terms

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
        """Absolute rounding error of :func:`g1` as the density solver weighs it (NOISE_EPS)."""
        m, dm, g1, _ = self._eval(zeta)
        return NOISE_EPS * (np.abs(np.asarray(zeta)) * np.abs(dm) + np.abs(g1))

    def im_noise(self, zeta):
        """Rounding of :math:`M_P` as the edge scan weighs it: the outer equation is rounded to eps times the size
        T of its terms (T ~ N |log((1 + m)/m)| for N blocks), which moves log zeta, so m by eps T |zeta M'|
        (next to the lower edge of 256 blocks up to 1e-10 where the density is ~1e-4 relative away)."""
        m, dm, g1, terms = self._eval(zeta)
        return NOISE_EPS * (np.maximum(terms, 1.0) * np.abs(np.asarray(zeta)) * np.abs(dm) + np.abs(g1))


def product_solver_factor(blocks):
    r"""One :class:`~spectral.density.ImplicitFactor` for the free product of ``blocks`` ((ResidualBlockLaw,
    multiplicity) pairs): :math:`M_P` above, its spectrum inside the product of the blocks' Weyl intervals,
    narrowed to its outer edges (:func:`~spectral.architecture.block_density.support_edges`); mean
    :math:`\prod_j m_{1,j}^{n_j}` and relative variance :math:`\sum_j n_j v_j` (free products add them)."""
    from ..density import ImplicitFactor

    tr = ProductTransform(blocks)
    spread = 0.0
    for b, n in blocks:
        m1, m2 = (float(v) for v in b.moments(2))
        spread += float(n) * (m2 / m1**2 - 1.0)
    lo, hi = support_edges(tr, *tr.weyl, geometric=True,
                           window=(math.log(tr.m1), EDGE_WINDOW_SD * math.sqrt(max(spread, 0.0))), noise=tr.im_noise)
    offset = tr.m1 * (1.0 + spread)
    return ImplicitFactor(m=tr.m, dm=tr.dm, mean=tr.m1, bounds=(lo, hi), g1=tr.g1, offset=offset, spread=spread,
                          noise=tr.noise)
