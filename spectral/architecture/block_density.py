r"""The moment transform of a residual block, :math:`M_{BB^T}(\zeta)`, by subordination, for the density solver.

With :math:`\nu = \mu_1 \boxplus \mu_2`, :math:`\mu_1 = \frac12(\delta_\alpha + \delta_{-\alpha})` and
:math:`\mu_2` the symmetrized singular-value law of :math:`\beta X`
(:mod:`spectral.architecture.residual_law`), the Cauchy transforms are

.. math:: G_1(w) = \frac{w}{w^2 - \alpha^2}, \qquad G_2(w) = \frac{1 + m}{w},\quad m = M_X(w^2/\beta^2),

:math:`M_X` the moment transform of :math:`X X^T`.  Subordination, :math:`F_\nu(z) = F_1(\omega_1) = F_2(\omega_2)`,
:math:`\omega_1 + \omega_2 = z + F_\nu(z)` (:math:`F = 1/G`), with :math:`F_1(u) = u - \alpha^2/u` reduces to one
equation for :math:`w = \omega_2(z)`; :math:`m` solves the branch's own equation
:math:`w^2/\beta^2 = (1+m)/(m S_X(m))` with :math:`S_X = \prod_j S_j(s_j m)^{n_j}` its solver factors, an implicit
factor :math:`j` contributing :math:`S_j(y) = (1+y)/(y\,\zeta_j)` with its own unknown :math:`M_j(\zeta_j) = y`.
One Newton solve on all unknowns :math:`x = (w, m, \zeta_1, \dots)`:

.. math::
    E_1 = (z - w)\bigl(z + \tfrac{w}{1+m} - w\bigr) - \alpha^2, \qquad
    E_2 = \log\tfrac{1+m}{m} - \textstyle\sum_j n_j \log S_j(s_j m) - 2\log w + \log\beta^2, \qquad
    E_{2+j} = M_j(\zeta_j) - s_j m

(:math:`\alpha = 0`: :math:`w = z` and :math:`E_1` is dropped).  Then :math:`G_\nu(z) = (1+m)/w` and, :math:`\nu`
being symmetric, :math:`M_{BB^T}(\zeta) = \sqrt\zeta\, G_\nu(\sqrt\zeta) - 1` with the root in the upper
half-plane; :math:`dM/d\zeta` by implicit differentiation of the same system (:math:`\partial E/\partial z` is
:math:`E_1`'s only).

Starting points: a point near one solved before (the solver's continuation asks for nearby points call after
call) starts from that solution; any other point, or one whose Newton solution fails the sheet checks, is
continued down a vertical path :math:`z + i d`, :math:`d` from far above the spectrum (where
:math:`w \approx z`, :math:`m \approx a_1\beta^2/w^2`, :math:`\zeta_j \approx \text{mean}_j/(s_j m)`) geometrically
to 0.  Sheet checks (the physical branch, Belinschi & Bercovici 2007): :math:`\operatorname{Im}\omega_2(z) \ge
\operatorname{Im} z`, :math:`\operatorname{Im} G_\nu(z) \le 0`, and :math:`\operatorname{Im} G_X(u)`,
:math:`\operatorname{Im}\zeta_j` on the side of :math:`u = w^2/\beta^2` the subordination maps preserve.
A point that fails them after the path is NaN, which the solver reports as not certified.

A relu branch (:math:`X X^T` with mass exactly 1/2 at 0, the kernel of :math:`D`; Bercovici & Voiculescu's
atom at :math:`\alpha^2` has mass :math:`2 \cdot \frac12 - 1 = 0`): near :math:`z = \alpha`,
:math:`G_1 = \frac{1}{2(\omega_1 - \alpha)} + \frac{1}{4\alpha} + \dots`, :math:`G_2 = \frac{1}{2\omega_2} +
O(\omega_2)` give :math:`z - \alpha = 1/(8\alpha G_\nu^2) + O(G_\nu^{-3})`: an inverse-square-root singularity
of :math:`BB^T` below :math:`\alpha^2` (:math:`\rho \approx \frac{1}{2\pi\sqrt{\alpha^2 - x}}` for
:math:`\alpha = 1`), and a gap above it (:math:`G_\nu` real) up to a square-root edge (:func:`gap_above`).  The
record's ``singular_points`` carry both, so that a block's bands break there.  On the real axis next to
:math:`\alpha` the equations have real solutions on both sides; one reached by a warm start from the gap passes
the sheet checks below :math:`\alpha^2` with density 0, so no warm start crosses :math:`\operatorname{Re} z =
\alpha` or the gap's end (:meth:`BlockTransform._crosses`), and the gap's end is located by cold vertical paths.
"""

from __future__ import annotations

import math

import numpy as np

from ..density.threads import _thread_policy
from .block_edges import EDGE_IM_TOL, EDGE_NOISE, EDGE_REL_TOL, NOISE_EPS, gap_above, support_edges

__all__ = ["BlockTransform", "block_solver_factors", "kernel_mass"]

#: Newton stops once its relative step is below this (quadratic convergence: the iterate it gives is then
#: within ~1e-16 relative; the residual check below decides)
NEWTON_RTOL = 1e-8
#: Newton iterations per point before giving up (from a warm start 2-3 suffice)
NEWTON_MAXIT = 30
#: scaled residual accepted as solved (rounding of the D^2 quadrature is ~1e-14 relative) ...
RESIDUAL_TOL = 1e-10
#: ... or within this multiple of the residual's own rounding (BlockGroup.rounding: where the system is
#: ill-conditioned, next to a relu block's singular point, that is above RESIDUAL_TOL)
RESIDUAL_NOISE = 16.0
#: a solved point starts Newton (with its tangent) when within this distance in (log|z|, arg z), z = sqrt(zeta):
#: the outer continuation moves its points by a few percent per call
WARM_RADIUS = 0.5
#: a point with |z| above this multiple of the top singular value starts Newton from the large-|z| expansion
FAR_START = 4.0
#: sheet checks allow this relative rounding on the imaginary parts
SHEET_TOL = 1e-9
#: the vertical path starts this many times (sqrt of the spectrum's top + |z|) above the point
PATH_HEIGHT = 8.0
#: ratio of successive heights on the path (with the tangent predictor Newton converges in 2-3 steps)
PATH_RATIO = 0.2
#: the path's last nonzero height relative to (sqrt of the spectrum's top), before the point itself
PATH_FLOOR = 1e-10
#: ... and at most this fraction of its distance to the nearest barrier (a relu block's singular point and gap
#: end): the last step, from the floor to the real axis, must not cross the structure next to it (from 1e-10
#: above, points within 1e-11 of alpha^2 landed on a real solution of the wrong sheet, density 0)
PATH_BARRIER_FLOOR = 1e-3
#: steps of the path at most (about 17 at PATH_RATIO; failed steps are retried shorter)
PATH_MAXSTEPS = 300
#: a point whose step ratio has grown past this is given up (the path cannot be followed there)
PATH_MIN_SHRINK = 0.999
#: solved points kept as warm starts (the latest ones)
CACHE_SIZE = 20000
#: solved points searched by brute force before they join the k-d tree (rebuilding it costs ~10 ms)
RECENT_SIZE = 1024
#: answers kept per transform for the latest distinct batches of points (:meth:`_WarmSolver._eval`): the solver's
#: damped Newton alternates a point with a rejected trial (NaN) and then asks for the point again, and a point
#: that fails costs a whole vertical path each time
MEMO_SIZE = 4
#: guards a division by zero
_TINY = 1e-300
#: zeta = 0 is evaluated at z = i Z_ZERO (M is continuous there; the solver asks for the limit; w ~ 1/z stays in
#: range)
Z_ZERO = 1e-100


def _unit(f):
    """The kind of a solver factor record: 'linear', 'explicit' or 'implicit'."""
    name = type(f).__name__
    return {"LinearFactor": "linear", "ExplicitFactor": "explicit", "ImplicitFactor": "implicit"}[name]


def _predict(z0, x0, d0, z):
    r"""Tangent predictor in logarithms, :math:`\log x = \log x_0 + (z_0 x_0'/x_0) \log(z/z_0)`: exact for the power
    laws of large :math:`|z|` (:math:`w \sim z`, :math:`m \sim z^{-2}`, :math:`\zeta_j \sim z^2`), where a linear
    step from :math:`z_0` to :math:`z_0/5` would change their signs."""
    with np.errstate(all="ignore"):
        return x0 * np.exp(d0 * z0[:, None] / x0 * np.log(z / z0)[:, None])


def _zg_dm(z, x, dx):
    """(1 + M, dM/dzeta) of a block from its unknowns x and dx/dz at z = sqrt(zeta): z G_nu(z) = z (1 + m)/w."""
    w, m = x[:, 0], x[:, 1]
    zg = z * (1.0 + m) / w
    dzg = (1.0 + m) / w + z * (dx[:, 1] / w - (1.0 + m) * dx[:, 0] / (w * w))
    return zg, dzg / (2.0 * z)


def _solve_each(J, b):
    """Solutions of J_i x_i = b_i; NaN for a singular J_i only (not the whole batch)."""
    try:
        return np.linalg.solve(J, b[..., None])[..., 0]
    except np.linalg.LinAlgError:
        out = np.full_like(b, np.nan)
        for i in range(len(b)):
            try:
                out[i] = np.linalg.solve(J[i], b[i])
            except np.linalg.LinAlgError:
                pass
        return out


def _coords(z):
    """(log|z|, arg z): the cache's metric, relative in |z| (z spans many decades)."""
    return np.column_stack([np.log(np.abs(z) + _TINY), np.angle(z)])


class _WarmStarts:
    """Solved points (z, unknowns x, tangent dx/dz), the nearest one found by a k-d tree over the older points
    and brute force over the RECENT_SIZE latest (so that a call costs no tree rebuild)."""

    def __init__(self, k):
        self.k = k
        self.old = (np.zeros(0, complex), np.zeros((0, k), complex), np.zeros((0, k), complex))
        self.new: list = []
        self.n_new = 0
        self.tree = None
        #: counts the calls of :meth:`add`: what a solve may start from changes only with it
        self.version = 0

    def add(self, z, x, d):
        self.version += 1
        self.new.append((z, x, d))
        self.n_new += len(z)
        if self.n_new > RECENT_SIZE:
            parts = [self.old, *self.new]
            self.old = tuple(np.concatenate([p[i] for p in parts])[-CACHE_SIZE:] for i in range(3))
            self.new, self.n_new = [], 0
            from scipy.spatial import cKDTree

            self.tree = cKDTree(_coords(self.old[0]))

    def nearest(self, z):
        """Index arrays into one concatenated store: (distance, z0, x0, d0) of the nearest solved point."""
        n = len(z)
        best = np.full(n, np.inf)
        z0 = np.full(n, np.nan + 0j)
        x0 = np.full((n, self.k), np.nan + 0j)
        d0 = np.full((n, self.k), np.nan + 0j)
        c = _coords(z)
        if self.tree is not None:
            dist, i = self.tree.query(c)
            best, z0, x0, d0 = dist, self.old[0][i], self.old[1][i], self.old[2][i]
        if self.new:
            zr = np.concatenate([p[0] for p in self.new])
            cr = _coords(zr)
            dd = np.hypot(c[:, None, 0] - cr[None, :, 0], c[:, None, 1] - cr[None, :, 1])
            i = np.argmin(dd, axis=1)
            dr = dd[np.arange(n), i]
            closer = dr < best
            if np.any(closer):
                xr = np.concatenate([p[1] for p in self.new])
                dr_ = np.concatenate([p[2] for p in self.new])
                best = np.where(closer, dr, best)
                z0 = np.where(closer, zr[i], z0)
                x0 = np.where(closer[:, None], xr[i], x0)
                d0 = np.where(closer[:, None], dr_[i], d0)
        return best, z0, x0, d0


def block_sheet(z, x, scale, beta2, n_implicit):
    """The physical branch's sign conditions of a block's unknowns x (..., k) at z (...) (module docstring):
    w above z, G_nu and G_X of the right sign, each implicit factor's zeta_j on u's side.  ``scale``,
    ``beta2`` broadcast against z (one block, or a group of blocks stacked along the first axis)."""
    w, m = x[..., 0], x[..., 1]
    tol = SHEET_TOL * (np.abs(z) + np.abs(w) + scale)
    ok = w.imag >= z.imag - tol
    g = (1.0 + m) / w
    ok &= g.imag <= SHEET_TOL * np.abs(g)
    u = w * w / beta2
    gx = (1.0 + m) / u
    su = np.sign(u.imag)
    ok &= gx.imag * su <= SHEET_TOL * np.abs(gx)
    for j in range(n_implicit):
        zj = x[..., 2 + j]
        ok &= zj.imag * su >= -SHEET_TOL * np.abs(zj)
    return ok


class _WarmSolver:
    """The order in which a transform finds its unknowns at a batch of points in the closed upper half-plane:
    from the large-|z| expansion beyond ``far_radius``, from the nearest solved point (with its tangent) within
    WARM_RADIUS, then -- for a subclass with ``walks`` -- by walking from a farther solved point, else by the
    vertical path.  A subclass sets ``K`` (unknowns), ``far_radius``, ``_warm`` and ``stats``, and implements
    ``_newton``, ``_far_start`` and ``scale`` (the height of the vertical path, :meth:`_path`), and ``_walk``
    when it ``walks``."""

    walks = False
    #: points z on the real axis where the solution is singular (see BlockTransform)
    barriers: tuple = ()
    #: the edges of the spectrum (z = sqrt of them) no warm start along the real axis crosses (see BlockTransform)
    edges: tuple = ()
    #: answers of :meth:`_eval` by batch, valid for the warm starts, barriers and edges of ``_memo_state``
    _memo: dict | None = None
    _memo_state: tuple = ()

    def _crosses(self, z0, z):
        """Where a warm start from the solved point z0 to z is refused (a singular point between them, across
        which Newton may settle on another real branch): nowhere, unless a subclass says so."""
        return np.zeros(len(z), bool)

    def _path(self, z):
        """Continuation down z + i d from d = PATH_HEIGHT (|z| + scale) to 0 (module docstring) with the tangent
        as predictor: each point's height shrinks by its own ratio, PATH_RATIO after a solved step and closer
        to 1 after a failed one."""
        d = PATH_HEIGHT * (np.abs(z) + self.scale)
        floor = PATH_FLOOR * self.scale * np.maximum(1.0, np.abs(z) / self.scale)
        for b in self.barriers:
            floor = np.minimum(floor, PATH_BARRIER_FLOOR * np.abs(z - b))
        x, ok, dx = self._newton(z + 1j * d, self._far_start(z + 1j * d))
        q = np.full(len(z), PATH_RATIO)
        live = ok & (d > 0)
        for _ in range(PATH_MAXSTEPS):
            idx = np.flatnonzero(live)
            if idx.size == 0:
                break
            d_try = d[idx] * q[idx]
            d_try = np.where(d_try < floor[idx], 0.0, d_try)
            pred = _predict(z[idx] + 1j * d[idx], x[idx], dx[idx], z[idx] + 1j * d_try)
            xn, okn, dxn = self._newton(z[idx] + 1j * d_try, pred)
            good, bad = idx[okn], idx[~okn]
            x[good], dx[good], d[good] = xn[okn], dxn[okn], d_try[okn]
            q[good] = np.maximum(q[good] ** 2, PATH_RATIO)
            q[bad] = np.sqrt(q[bad])
            live[bad[q[bad] > PATH_MIN_SHRINK]] = False
            live[good[d[good] == 0]] = False
        ok &= d == 0
        return x, ok, dx

    def _solve(self, z):
        """Unknowns x and dx/dz at z (NaN where no solution passed the sheet checks)."""
        n = len(z)
        x = np.full((n, self.K), np.nan, complex)
        dx = np.full((n, self.K), np.nan, complex)
        ok = np.zeros(n, bool)
        far = np.abs(z) >= self.far_radius
        if np.any(far):
            x[far], ok[far], dx[far] = self._newton(z[far], self._far_start(z[far]))
            self.stats["far"] += int(ok[far].sum())
        todo = np.flatnonzero(~ok)
        if todo.size:
            dist, z0, x0, d0 = self._warm.nearest(z[todo])
            near = (dist <= WARM_RADIUS) & ~self._crosses(z0, z[todo])
            if np.any(near):
                i = todo[near]
                pred = _predict(z0[near], x0[near], d0[near], z[i])
                x[i], ok[i], dx[i] = self._newton(z[i], pred)
                self.stats["warm"] += int(ok[i].sum())
            if self.walks and not ok.all():
                # a cached point further away: walk to it in steps of WARM_RADIUS
                sel = ~ok[todo] & np.isfinite(dist)
                i = todo[sel]
                if i.size:
                    x[i], ok[i], dx[i] = self._walk(z[i], z0[sel], x0[sel], d0[sel], dist[sel])
                    self.stats["walk"] += int(ok[i].sum())
        cold = ~ok
        if np.any(cold):
            x[cold], ok[cold], dx[cold] = self._path(z[cold])
            self.stats["path"] += int(cold.sum())
        self.stats["failed"] += int((~ok).sum())
        x[~ok] = np.nan
        dx[~ok] = np.nan
        if np.any(ok):
            self._warm.add(z[ok], x[ok], dx[ok])
        return x, dx

    def _solve_finite(self, z):
        """:meth:`_solve` at the finite points of z; NaN elsewhere."""
        x = np.full((len(z), self.K), np.nan, complex)
        dx = np.full_like(x, np.nan)
        fin = np.isfinite(z)
        if np.any(fin):
            x[fin], dx[fin] = self._solve(z[fin])
        return x, dx

    @_thread_policy
    def _eval(self, zeta):
        """The subclass's :meth:`_outputs` at ``zeta`` (any shape): points of the lower half-plane by conjugation
        (M(conj zeta) = conj M(zeta)).  The answer for a batch of points is a function of the points, the warm
        starts and the barriers and edges alone, so it is served again, bit for bit, for the same batch while
        none of these has changed (the solver asks for m, dm and g1 in turn, and again for a point after a
        rejected trial; MEMO_SIZE batches are kept)."""
        zeta = np.asarray(zeta, dtype=complex)
        key = (zeta.shape, zeta.tobytes())
        memo = self._valid_memo()
        if key in memo:
            return tuple(p.copy() for p in memo[key])  # copies: a caller may write into its arrays
        self.stats["calls"] += 1
        self.stats["points"] += zeta.size
        flat = zeta.ravel()
        lower = flat.imag < 0
        with np.errstate(all="ignore"):
            parts = self._outputs(np.where(lower, np.conj(flat), flat))
        out = tuple(np.where(lower, np.conj(p), p).reshape(zeta.shape) for p in parts)
        memo = self._valid_memo()  # this solve may have added warm starts
        if len(memo) >= MEMO_SIZE:
            del memo[next(iter(memo))]
        memo[key] = out
        return tuple(p.copy() for p in out)

    def _valid_memo(self) -> dict:
        """The answers of :meth:`_eval` still valid: none once the warm starts, barriers or edges changed."""
        state = (self._warm.version, self.barriers, self.edges)
        if self._memo is None or self._memo_state != state:
            self._memo, self._memo_state = {}, state
        return self._memo


class BlockTransform(_WarmSolver):
    """Vectorized :math:`M_{BB^T}(\\zeta)` and its derivative for :math:`B = \\alpha I + \\beta X` (module
    docstring); ``branch_law`` is the law of :math:`X X^T`.  Its build (the branch's D^2 laws) and evaluations
    run under the density solver's BLAS policy (:mod:`spectral.density.threads`)."""

    @_thread_policy
    def __init__(self, branch_law, alpha, beta):
        from ..density import lambda_max

        self.branch_law = branch_law
        self.alpha2 = float(alpha) ** 2
        self.beta2 = float(beta) ** 2
        rec = branch_law.solver_factors()
        self.factors = rec.factors
        self.kinds = [_unit(f) for f in self.factors]
        self.implicit = [f for f, k in zip(self.factors, self.kinds, strict=True) if k == "implicit"]
        self.a1 = float(branch_law.moments(1)[0])
        #: points z on the real axis that no warm start crosses (module docstring): z = alpha where X X^T has
        #: mass exactly 1/2 at 0 (a relu branch: the block's singular point), and the end of the gap above it
        #: once found (:func:`block_solver_factors`)
        self.barriers: tuple = (math.sqrt(self.alpha2),) if self.alpha2 > 0 and kernel_mass(branch_law) == 0.5 \
            else ()
        #: the edges of the spectrum (z = sqrt of them), once found: no warm start between two real points crosses
        #: them (:meth:`_crosses`)
        self.edges: tuple = ()
        hi = math.sqrt(lambda_max(branch_law) * self.beta2) + math.sqrt(self.alpha2)
        self.scale = hi  # the top of the singular values of B
        self.K = 2 + len(self.implicit)
        self.far_radius = FAR_START * self.scale
        self._warm = _WarmStarts(self.K)
        self.stats = {"calls": 0, "points": 0, "far": 0, "warm": 0, "path": 0, "failed": 0}
        from .block_stack import BlockGroup  # it stacks BlockTransforms: imported here, not at the top

        self.group = BlockGroup([self])

    # ---- the system: the block's group of one (:class:`~spectral.architecture.block_stack.BlockGroup`) -------
    def _system(self, z, x):
        """Residuals E (n, k) and Jacobian J (n, k, k) at unknowns x (n, k) (k = 2 + implicit factors), and
        dE/dz (n, k) (module docstring; the equations are :meth:`BlockGroup.system
        <spectral.architecture.block_stack.BlockGroup.system>`'s, for this block alone)."""
        E, J, ez = self.group.system(z[None], x[None])
        Ez = np.zeros_like(E[0])
        Ez[:, 0] = ez[0]
        return E[0], J[0], Ez

    def _newton(self, z, x):
        """Newton from x; returns the unknowns, ok (residual and sheet checks) and the tangent dx/dz there."""
        x = x.copy()
        active = np.all(np.isfinite(x), axis=1)
        for _ in range(NEWTON_MAXIT):
            idx = np.flatnonzero(active)
            if idx.size == 0:
                break
            E, J, _ = self._system(z[idx], x[idx])
            step = _solve_each(J, E)
            xn = x[idx] - step
            good = np.all(np.isfinite(xn), axis=1)
            x[idx[good]] = xn[good]
            x[idx[~good]] = np.nan
            conv = good & (np.max(np.abs(step) / (np.abs(xn) + _TINY), axis=1) <= NEWTON_RTOL)
            active[idx[conv | ~good]] = False
        fin = np.all(np.isfinite(x), axis=1)
        xs = np.where(fin[:, None], x, 1.0)
        E, J, Ez = self._system(z, xs)
        res = self.group.scaled(z[None], xs[None], E[None])[0]
        rounding = self.group.rounding(z[None], xs[None], J[None], Ez[None, :, 0])[0]
        tol = np.maximum(RESIDUAL_TOL, RESIDUAL_NOISE * rounding)
        dxdz = -_solve_each(J, Ez)
        ok = fin & (res <= tol) & np.all(np.isfinite(dxdz), axis=1)
        return x, ok & self._sheet(z, xs), dxdz

    def _crosses(self, z0, z):
        """A warm start across a vertical line Re z = b through one of the ``barriers``: on the real axis on
        both sides of them the equations of a relu branch have real solutions, and one reached from the gap above
        alpha^2 passes the sheet checks below it (density 0 where it is ~1/sqrt(alpha^2 - x)), one reached from
        inside the spectrum a complex one in the gap.  Across an ``edges`` point between two real points: from a
        real solution outside the spectrum Newton on the real axis stays real and may settle on a real solution
        inside it (relu, beta = 0.1: density 0 at 5 nodes next to the lower edge, 1.2e-5 of the mass)."""
        out = np.zeros(len(z), bool)
        for b in self.barriers:
            out |= (z0.real - b) * (z.real - b) < 0
        real = (z0.imag == 0) & (z.imag == 0)
        for b in self.edges:
            out |= real & ((z0.real - b) * (z.real - b) < 0)
        return out

    def m_cold(self, zeta):
        """:math:`M_{BB^T}` at points of the closed upper half-plane, each by its own vertical path (no warm
        start: the reference for locating an edge on the real axis, where a warm start from the other side of it
        may settle on a real solution that passes the sheet checks)."""
        return self._cold(zeta)[0]

    def inside_cold(self, x):
        """Whether the real points x lie inside the spectrum, each solved by its own vertical path: -Im M above
        EDGE_IM_TOL plus EDGE_NOISE times its rounding, eps_16 (|x M'| + |1 + M|) (next to an edge M' blows up:
        tanh, orthogonal, beta = 2: Im M = +2e-12 outside, which a test of |Im M| against EDGE_IM_TOL alone took
        for inside, the top edge 1e-5 relative too high), and at least EDGE_REL_TOL |1 + M| (the rounding of Im M
        on the real axis: relu, orthogonal, beta = 5, +-3e-12 in the gap, whose end came out 8.5e-6 too low).  A
        point whose path failed is not inside."""
        m, dm = self._cold(x)
        noise = np.maximum(EDGE_NOISE * NOISE_EPS * (np.abs(x) * np.abs(dm) + np.abs(1.0 + m)),
                           EDGE_REL_TOL * np.abs(1.0 + m))
        with np.errstate(invalid="ignore"):
            return -m.imag > EDGE_IM_TOL + noise

    @_thread_policy
    def _cold(self, zeta):
        """(M, M') by :meth:`_path` alone (NaN where it failed); the solved points join the warm starts."""
        zq = np.asarray(zeta, dtype=complex).ravel()
        z = np.sqrt(zq)
        z = np.where(z == 0, Z_ZERO * 1j, z)
        with np.errstate(all="ignore"):
            x, ok, dx = self._path(z)
            zg, dm = _zg_dm(z, x, dx)
        if np.any(ok):  # warm starts for later calls (none crosses a barrier or, along the real axis, an edge)
            self._warm.add(z[ok], x[ok], dx[ok])
        return np.where(ok, zg - 1.0, np.nan), np.where(ok, dm, np.nan)

    def _sheet(self, z, x):
        """The physical branch's sign conditions (module docstring), z in the closed upper half-plane."""
        return block_sheet(z, x, self.scale, self.beta2, len(self.implicit))

    def _far_start(self, z):
        """Unknowns where |z| is large (:meth:`BlockGroup.far_start
        <spectral.architecture.block_stack.BlockGroup.far_start>`)."""
        return self.group.far_start(z[None])[0]

    def _outputs(self, zq):
        """(M, M', 1 + M) at the points zq of the closed upper half-plane (flat)."""
        z = np.sqrt(zq)  # first quadrant: z G_nu(z) is even in z
        z = np.where(z == 0, Z_ZERO * 1j, z)
        x, dx = self._solve_finite(z)
        zg, dm = _zg_dm(z, x, dx)
        return zg - 1.0, dm, zg

    def m(self, zeta):
        """:math:`M_{BB^T}(\\zeta)` (NaN where no solution passed the sheet checks)."""
        return self._eval(zeta)[0]

    def g1(self, zeta):
        r""":math:`1 + M(\zeta) = \sqrt\zeta\, G_\nu(\sqrt\zeta)` without the cancellation near 0."""
        return self._eval(zeta)[2]

    def dm(self, zeta):
        """:math:`M'_{BB^T}(\\zeta)` by implicit differentiation of the Newton system."""
        return self._eval(zeta)[1]


def kernel_mass(branch_law) -> float:
    """The mass of :math:`X X^T` at 0 (the kernel of the branch), from its exact atoms."""
    return float(sum((p for a, p in branch_law.exact_atoms() if a == 0), 0))


def block_solver_factors(law):
    r"""``FactorizedLaw`` of a :class:`~spectral.architecture.residual_law.ResidualBlockLaw` for the density
    solver: one implicit factor with :math:`M_{BB^T}` above, its spectrum inside
    :math:`[(\alpha - \beta s)_+^2, (\alpha + \beta s)^2]` (Weyl's inequalities for singular values,
    :math:`s^2` the top of the spectrum of :math:`X X^T`), narrowed to its outer edges (:func:`support_edges`, by
    vertical paths); a relu branch's singular point and its gap's end are the transform's barriers, its edges
    barriers to warm starts along the real axis."""
    from ..density import FactorizedLaw, ImplicitFactor, lambda_max

    tr = BlockTransform(law.branch_law, law.alpha, law.beta)
    s = math.sqrt(lambda_max(law.branch_law))
    a, b = float(law.alpha), float(law.beta)
    lo, hi = support_edges(tr, max(0.0, a - b * s) ** 2, (a + b * s) ** 2, cold=True)
    crit: tuple = ()
    if tr.barriers and lo < tr.alpha2 < hi:
        gap = gap_above(tr, tr.alpha2, hi)
        crit = (tr.alpha2,) if gap is None else (tr.alpha2, gap)
        tr.barriers = tuple(math.sqrt(v) for v in crit)
    tr.edges = tuple(math.sqrt(v) for v in (lo, hi) if v > 0)
    m1, m2 = (float(x) for x in law.moments(2))
    factor = ImplicitFactor(m=tr.m, dm=tr.dm, mean=m1, bounds=(lo, hi), g1=tr.g1, offset=m2 / m1,
                            spread=m2 / m1**2 - 1)
    return FactorizedLaw((factor,), atoms=tuple(law.atoms), name=law.name, moments12=(m1, m2),
                         singular_points=crit)
