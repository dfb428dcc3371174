r"""Moment transform of :math:`D^2` for a piecewise activation whose :math:`\phi'` is constant or analytic and
monotone on each piece (selu, elu): atoms plus continuous parts, with :math:`M(\zeta)` continued analytically
across the spectrum (docs/design.md §4.6).

On a piece :math:`t \in (t_a, t_b)` of :math:`h \sim N(0, 1)` where :math:`d(t) = \phi'(\sqrt q\, t)^2` is
strictly monotone, the law of :math:`D^2` has the density :math:`\varphi(t(u))/|d'(t(u))|` at :math:`u = d(t)`
(change of variables), and with :math:`F = \varphi\, d/d'`

.. math:: \int_{t_a}^{t_b} \varphi\,\frac{d}{\zeta - d}\,dt
          = \int_{t_a}^{t_b} \bigl(F(t) - F(t_*)\bigr)\frac{d'(t)}{\zeta - d(t)}\,dt
          + F(t_*)\,\log\frac{\zeta - d(t_a)}{\zeta - d(t_b)},\qquad d(t_*) = \zeta .

The first integrand is analytic at the pole :math:`t_*` (removable), so Gauss--Legendre in the monotone
variable t integrates it to rounding however close :math:`\zeta` is to the spectrum; the pole and the
logarithmic singularity at an end of the piece (where the density of :math:`D^2` jumps: selu at
:math:`\lambda^2\alpha^2`) are exact in the second term.  With both logarithms cut downwards the sum is the
analytic continuation of :math:`M` from the upper half plane across the spectrum (which Newton iterates of a
product visit), and on the real axis it is the boundary value from above: :math:`-\operatorname{Im} M(x + i0)
= \pi F(t_*) = \pi x\,\rho_{D^2}(x)` exactly.  Constant pieces are atoms :math:`(\phi'^2, P(h \in \text{piece}))`.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from ..density.grid import _gl
from ..density.tolerances import _EPS
from .d2_transforms import CachedTransforms
from .gauss_rule import FarRule
from .resolvent import BLOCK_ELEMENTS, ResolventSums, resolvent_sums, workspace

#: h ~ N(0, 1) is integrated over |h| <= sqrt(2 x this): the Gaussian weight beyond is e^-46 ~ 1e-20.
_GAUSS_CUT = 46.0
#: Width in t of the 16-node Gauss--Legendre panels for q <= 1 (divided by sqrt(q) above): the subtracted
#: integrand is analytic but for the other solutions of d(t) = zeta, pi / sqrt(q) off the axis for selu / elu.
_PANEL_WIDTH = 0.25
#: Gauss--Legendre nodes per panel.
_PANEL_NODES = 16
#: The pole t_* is subtracted when it lies within this x the panel width of the piece (in the plain rule a
#: pole that close to the nodes loses digits; the subtraction is exact at any distance).
_POLE_STRIP = 4.0
#: Newton iterations for t_* (log d is linear in t for selu / elu: one suffices) and its convergence.
_NEWTON_ITERS = 40
_NEWTON_TOL = 1e-13
#: ... and the residual of log d(t_*) - log zeta at which t_* is used.
_NEWTON_ACCEPT = 1e-10
#: A node within this of t_* takes the integrand's limit there (the removable singularity).
_NODE_COINCIDE = 1e-11
#: Points of the t-grid on which d' is checked to keep one sign on a piece (else no monotone variable).
_SCAN_POINTS = 2001
#: Bernstein parameter (of the piece's nodes) from which the piece's short Gauss rule serves, and its nodes
#: (gauss_rule.FarRule: its error is measured on that ellipse when it is built).
_FAR_RHO = 2.0
_FAR_NODES = 48
#: A piece infinite on one side reaches 0 when d at t = +-_FAR_T is below _ZERO_TAIL x its largest value.
_FAR_T = 1e3
_ZERO_TAIL = 1e-10
#: The weights (with the atoms) must sum to 1 within this, else the law is refused.
_NORM_TOL = 1e-12


def _log_down(w):
    """log w with the cut along the negative imaginary axis (arg in (-pi/2, 3pi/2]): analytic across the real
    axis but at 0, so that log(zeta - a) - log(zeta - b) continues across (a, b) from above."""
    ang = np.angle(w)
    return np.log(np.abs(w)) + 1j * np.where(ang <= -0.5 * math.pi, ang + 2 * math.pi, ang)


class _MonotonePiece:
    r"""One analytic, strictly monotone piece of :math:`d(t) = f_1(\sqrt q\,t)^2` on :math:`(t_a, t_b)`
    (``f``: :math:`\phi', \phi'', \phi'''` of the piece, vectorized, complex arguments allowed)."""

    def __init__(self, f, q, t_a, t_b):
        self.f, self.rq, self.q = f, math.sqrt(q), q
        cut = math.sqrt(2 * _GAUSS_CUT)
        self.t_a, self.t_b = max(t_a, -cut), min(t_b, cut)
        self.panel = _PANEL_WIDTH / max(1.0, self.rq)
        n_pan = max(1, int(math.ceil((self.t_b - self.t_a) / self.panel)))
        edges = np.linspace(self.t_a, self.t_b, n_pan + 1)
        t, w = zip(*[_gl(_PANEL_NODES, a, b) for a, b in zip(edges[:-1], edges[1:], strict=True)], strict=True)
        self.t, self.w = np.concatenate(t), np.concatenate(w)
        grid = np.linspace(self.t_a, self.t_b, _SCAN_POINTS)
        dp = self.dd(grid)
        if not (np.all(dp > 0) or np.all(dp < 0)):
            raise ValueError("phi'^2 is not strictly monotone on a piece")
        self.sign = 1.0 if dp[0] > 0 else -1.0
        self.grid, self.log_d_grid = grid, np.log(self.d(grid))
        self.d_k, self.dp_k = self.d(self.t), self.dd(self.t)
        self.F_k, self.H_k = self.F(self.t), self.F(self.t) / self.d_k
        self.ends = (float(self.d(np.array([self.t_a]))[0]), float(self.d(np.array([self.t_b]))[0]))
        far = [float(self.d(np.array([s * _FAR_T]))[0]) for s, t in ((-1, t_a), (1, t_b)) if math.isinf(t)]
        self.reaches_zero = any(v <= _ZERO_TAIL * max(self.ends) for v in far)
        # far from the piece's spectrum, where the plain rule serves, its short Gauss rule serves in its place
        # (the same sums to their rounding, docs/design.md §4.6)
        self.phi_w = self.w * self.F_k * self.dp_k / self.d_k  # the weights times varphi: the piece's measure in d
        self._far = FarRule(self.d_k, self.phi_w, _FAR_NODES, _FAR_RHO)
        self._sums = ResolventSums(self.d_k, self.phi_w)

    def _ev(self, k, t):
        t = np.asarray(t)
        return np.asarray(self.f[k](self.rq * t), dtype=complex if np.iscomplexobj(t) else float) * np.ones_like(t)

    def d(self, t):
        return self._ev(0, t) ** 2

    def dd(self, t):
        return 2 * self.rq * self._ev(0, t) * self._ev(1, t)

    def dlog(self, t):
        """(log d)' = 2 sqrt(q) phi''/phi'."""
        return 2 * self.rq * self._ev(1, t) / self._ev(0, t)

    def F(self, t):
        r""":math:`F = \varphi\,d/d'` (the continuous part's :math:`x\rho` as a function of t)."""
        return np.exp(-0.5 * t * t) / math.sqrt(2 * math.pi) / self.dlog(t)

    def dF(self, t):
        r""":math:`F' = -tF + \varphi\,(1 - d d''/d'^2)`, :math:`d d''/d'^2 = 1 + (\log\phi')''/(2 ((\log\phi')')^2)`
        with :math:`(\log\phi')' = \sqrt q\,\phi''/\phi'`."""
        f1, f2, f3 = self._ev(0, t), self._ev(1, t), self._ev(2, t)
        lp = self.rq * f2 / f1
        lpp = self.q * (f3 / f1 - (f2 / f1) ** 2)
        phi = np.exp(-0.5 * t * t) / math.sqrt(2 * math.pi)
        return -t * self.F(t) + phi * (-lpp / (2 * lp * lp))

    def pole(self, zeta):
        """t_* with d(t_*) = zeta (Newton on log d from the real table); where it is subtracted (converged, and
        near the nodes or zeta below the piece's spectrum); where it is needed but Newton failed."""
        lz = np.log(zeta)
        order = np.argsort(self.log_d_grid)
        t = np.interp(lz.real, self.log_d_grid[order], self.grid[order]).astype(complex)
        for _ in range(_NEWTON_ITERS):
            with np.errstate(all="ignore"):
                r = np.log(self.d(t)) - lz
                r = r - 2j * math.pi * np.round(r.imag / (2 * math.pi))
                t = t - r / self.dlog(t)
            if np.all(~np.isfinite(r) | (np.abs(r) <= _NEWTON_TOL * np.maximum(1.0, np.abs(lz)))):
                break
        with np.errstate(all="ignore"):
            r = np.log(self.d(t)) - lz
            r = r - 2j * math.pi * np.round(r.imag / (2 * math.pi))
        dist = np.hypot(np.maximum(0.0, np.maximum(self.t_a - t.real, t.real - self.t_b)), t.imag)
        lo, hi = sorted(self.ends)
        # below the spectrum the continuation is the subtracted form at any distance (the plain rule gives the
        # function's other branch there, the integral itself)
        below = (zeta.imag < 0) & (zeta.real > lo) & (zeta.real < hi)
        conv = np.isfinite(t) & (np.abs(r) <= _NEWTON_ACCEPT * np.maximum(1.0, np.abs(lz)))
        return t, conv & ((dist <= _POLE_STRIP * self.panel) | below), below & ~conv

    def transforms(self, zeta):
        r"""(:math:`\int\varphi\,d/(\zeta - d)`, :math:`\zeta\int\varphi/(\zeta - d)`, the derivative of the
        first, the rounding estimate) at ``zeta`` (1-d complex)."""
        d = self.d_k
        ts, near, lost = self.pole(zeta)
        m, g, dm = (np.empty(zeta.shape, complex) for _ in range(3))
        err = np.empty(zeta.shape)
        far = self._far.serves(zeta) & ~near & ~lost
        if far.any():
            fs = self._far.sums(zeta[far])
            g[far], m[far], dm[far], err[far] = fs.g1, fs.m, fs.dm, 4 * _EPS * (fs.size_m + fs.size_g)
        plain = ~far & ~near
        if plain.any():
            with np.errstate(all="ignore"):
                pg, pm, pdm, size_g, size_m = resolvent_sums(zeta[plain], self._sums)
            m[plain], g[plain], dm[plain] = pm, zeta[plain] * pg, pdm
            err[plain] = 4 * _EPS * (size_m + np.abs(zeta[plain]) * size_g)
        idx = np.flatnonzero(near)
        step = max(1, BLOCK_ELEMENTS // d.size)  # row blocks: the matrices below stay small temporaries
        for a in range(0, idx.size, step):
            sel = idx[a:a + step]
            m[sel], g[sel], dm[sel], err[sel] = self._subtracted(zeta[sel], ts[sel])
        # below the spectrum without t_*: no value (never the other branch)
        m[lost], g[lost], dm[lost], err[lost] = np.nan, np.nan, np.nan, np.inf
        return m, g, dm, err

    def _subtracted(self, z, t):
        """The transforms at points ``z`` whose pole ``t`` (d(t) = z) is subtracted (module docstring)."""
        w, d, dp, F, H = self.w, self.d_k, self.dp_k, self.F_k, self.H_k
        Fs, dFs, ds, dps = self.F(t), self.dF(t), self.d(t), self.dd(t)
        Hs = Fs / ds
        dHs = (dFs - Fs * dps / ds) / ds
        Gp = dFs / dps
        L = _log_down(z - self.ends[0]) - _log_down(z - self.ends[1])
        close = np.abs(self.t[None, :] - t[:, None]) <= _NODE_COINCIDE
        # the matrices in the thread's reused buffers (resolvent.workspace), each formed in the order of
        # (F - F_*) dp r, (H - H_*) dp r, (F - F_* - G'(d - z)) dp r r
        rr, tm, tg, td = workspace("pole", z.size, d.size, 4)
        absm, = workspace("pole_abs", z.size, d.size, 1, float)
        with np.errstate(all="ignore"):
            np.subtract(z[:, None], d[None, :], out=rr)
            np.divide(1.0, rr, out=rr)
            np.subtract(F[None, :], Fs[:, None], out=tm)
            np.subtract(d[None, :], z[:, None], out=td)
            np.multiply(Gp[:, None], td, out=td)
            np.subtract(tm, td, out=td)
            for mat in (td, tm):
                mat *= dp[None, :]
                mat *= rr
            td *= rr
            np.subtract(H[None, :], Hs[:, None], out=tg)
            tg *= dp[None, :]
            tg *= rr
        np.copyto(tm, -dFs[:, None], where=close)
        np.copyto(tg, -dHs[:, None], where=close)
        np.copyto(td, 0.0, where=close)
        m = tm @ w + Fs * L
        g = z * (tg @ w + Hs * L)
        dm = -(td @ w) - Fs * (1.0 / (z - self.ends[1]) - 1.0 / (z - self.ends[0])) + Gp * L
        size_m = np.abs(tm, out=absm) @ w
        size_g = np.abs(tg, out=absm) @ w
        err = 4 * _EPS * (size_m + np.abs(Fs * L) + np.abs(z) * (size_g + np.abs(Hs * L)))
        return m, g, dm, err


class _PiecewiseD2(CachedTransforms):
    r"""The law of :math:`D^2` for an activation given as a sympy ``Piecewise`` in x whose pieces have constant
    or strictly monotone :math:`\phi'^2` (module docstring): ``atoms`` ((value, mass), mass a Fraction where
    the piece's ends are 0 or infinite), the analytic pieces, ``mean``, ``offset`` (m_2/m_1), ``spread``,
    ``bounds``, ``jumps`` (the ends of the continuous parts inside or at the top of the spectrum, where its
    density jumps) and the transforms ``m``, ``dm``, ``g1``, ``noise`` of :class:`ImplicitFactor`."""

    def __init__(self, pieces, q):
        import sympy

        from ..activations import X

        self.atoms, self.parts = [], []
        rq = math.sqrt(q)
        for expr, lo, hi in pieces:
            dexpr = sympy.diff(expr, X)
            if not dexpr.free_symbols:
                val = float(dexpr) ** 2
                mass = _interval_mass(lo, hi, q)
                if float(mass) > 0:
                    self.atoms.append((val, mass))
                continue
            f = [sympy.lambdify(X, sympy.diff(expr, X, k), modules=["numpy", "scipy"]) for k in (1, 2, 3)]
            self.parts.append(_MonotonePiece(f, q, lo / rq, hi / rq))
        merged: dict = {}
        for v, p in self.atoms:
            merged[v] = merged.get(v, 0) + p
        self.atoms = sorted(merged.items())
        av = np.array([v for v, _ in self.atoms], float)
        ap = np.array([float(p) for _, p in self.atoms], float)
        self._av, self._ap = av, ap
        w_all = [pc.phi_w for pc in self.parts]
        d_all = [pc.d_k for pc in self.parts]
        norm = float(ap.sum()) + sum(float(np.sum(w)) for w in w_all)
        if abs(norm - 1.0) > _NORM_TOL:
            raise ValueError(f"the piecewise quadrature for D^2 failed its normalisation check ({norm - 1:.1e})")
        m1 = float(np.dot(ap, av)) + sum(float(np.dot(w, d)) for w, d in zip(w_all, d_all, strict=True))
        m2 = float(np.dot(ap, av**2)) + sum(float(np.dot(w, d * d)) for w, d in zip(w_all, d_all, strict=True))
        self.mean, self.offset = m1, m2 / m1
        var = float(np.dot(ap, (av - m1) ** 2)) + sum(float(np.dot(w, (d - m1) ** 2))
                                                        for w, d in zip(w_all, d_all, strict=True))
        self.spread = var / m1**2
        lows = [min(pc.ends) for pc in self.parts] + list(av)
        highs = [max(pc.ends) for pc in self.parts] + list(av)
        # the spectrum of the quadrature's law: a continuous part cut at |t| = sqrt(2 _GAUSS_CUT) stops at d
        # there (selu / elu: d ~ e^-23 sqrt(q), weight e^-46 below), so that a product has a lower edge where
        # its factor's spectrum ends (with the end at 0 its grid reached 0 and the nodes below the spectrum of
        # the cut law failed: selu / orthogonal critical depth 4, 574 nodes under 1.4e-11)
        self.bounds = (min(lows), max(highs))
        self.reaches_zero = any(pc.reaches_zero for pc in self.parts)
        # the ends of the continuous parts: a jump of the density (selu's top, lambda^2 alpha^2) or the cut
        self.jumps = tuple(sorted({e for pc in self.parts for e in pc.ends}))

    def _compute(self, zeta):
        zall = zeta.ravel()
        # a non-finite point (an iterate that left the plane) has no value: nothing is summed there
        ok = np.isfinite(zall)
        zf = zall[ok]
        with np.errstate(all="ignore"):
            ra = 1.0 / (zf[:, None] - self._av[None, :])
        m = ra @ (self._ap * self._av)
        g = zf * (ra @ self._ap)
        dm = -((ra * ra) @ (self._ap * self._av))
        err = 4 * _EPS * (np.abs(ra) @ (self._ap * self._av) + np.abs(zf) * (np.abs(ra) @ self._ap))
        for pc in self.parts:
            pm, pg, pd, pe = pc.transforms(zf)
            m, g, dm, err = m + pm, g + pg, dm + pd, err + pe
        out = []
        for part, fill in ((g, np.nan), (m, np.nan), (dm, np.nan), (err, np.inf)):
            full = np.full(zall.shape, fill, dtype=part.dtype)
            full[ok] = part
            out.append(full.reshape(zeta.shape))
        return tuple(out)

    def density(self, x):
        r"""The density of the continuous part of :math:`D^2` at real x: :math:`\sum \varphi(t)/|d'(t)|` over the
        pieces' solutions of d(t) = x (change of variables; for the tests and the docs)."""
        x = np.atleast_1d(np.asarray(x, float))
        out = np.zeros(x.shape)
        for pc in self.parts:
            lo, hi = sorted(pc.ends)
            inside = (x > lo) & (x < hi)
            if np.any(inside):
                t = pc.pole(x[inside].astype(complex))[0]
                out[inside] += np.real(pc.F(t.real)) / x[inside]
        return out


def _interval_mass(lo, hi, q):
    """P(lo < sqrt(q) z < hi): a Fraction when the ends are 0 or infinite, else a float."""
    half = {-math.inf: Fraction(0), 0.0: Fraction(1, 2), math.inf: Fraction(1)}
    if lo in half and hi in half:
        return half[hi] - half[lo]
    from scipy.special import ndtr

    return float(ndtr(hi / math.sqrt(q)) - ndtr(lo / math.sqrt(q)))


def piecewise_pieces(activation):
    """((expr, lo, hi), ...) in x of an activation given as a sympy Piecewise with conditions ``x < b`` /
    ``x <= b`` / True in increasing b; None for any other form."""
    import sympy

    from ..activations import X

    expr = getattr(activation, "expr", None)
    if not isinstance(expr, sympy.Piecewise):
        return None
    out, lo = [], -math.inf
    for e, cond in expr.args:
        if cond is sympy.true:
            hi = math.inf
        elif isinstance(cond, sympy.StrictLessThan | sympy.LessThan) and cond.lhs == X and cond.rhs.is_number:
            hi = float(cond.rhs)
        else:
            return None
        if hi <= lo:
            return None
        out.append((e, lo, hi))
        lo = hi
        if hi == math.inf:
            break
    return tuple(out) if lo == math.inf else None


def piecewise_d2(activation, q):
    """The :class:`_PiecewiseD2` of D^2 at variance ``q``, cached per (activation, q); None where the
    activation is not a Piecewise of constant or monotone phi'^2 pieces."""
    key = (getattr(activation, "name", repr(activation)), float(q))
    if key not in _CACHE:
        pieces = piecewise_pieces(activation)
        try:
            _CACHE[key] = None if pieces is None else _PiecewiseD2(pieces, float(q))
        except (ValueError, TypeError, ZeroDivisionError):
            _CACHE[key] = None
    return _CACHE[key]


_CACHE: dict = {}
