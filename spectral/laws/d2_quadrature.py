r"""Analytic moment transform of :math:`D^2` for a smooth activation: :math:`M(\zeta)` by a contour quadrature
in h, continued across the spectrum of :math:`D^2` (docs/design.md §4.6)."""

from __future__ import annotations

import math
import warnings

import numpy as np

from ..density.grid import _gl
from ..density.tolerances import _EPS, _GUARD
from .d2_tiers import _tier_of
from .d2_transforms import CachedTransforms
from .gauss_rule import FarRule
from .resolvent import ResolventSums, resolvent_sums


class _SmoothD2(CachedTransforms):
    r"""Moment transform of :math:`D^2 = d(h) = \phi'(\sqrt q\, h)^2`, :math:`h \sim N(0,1)`, analytic
    continuation included, for an activation with an analytic (sympy) :math:`\phi`.

    :math:`M(\zeta) = E[d/(\zeta - d)]` by Gauss–Legendre quadrature in h.  Next to the support of
    :math:`D^2` the poles :math:`d(h) = \zeta` approach the real h-axis; the contour is then moved to
    :math:`h = t + i\varepsilon(t)`, :math:`\varepsilon = -A\tanh(d'(t)/B)`, away from the side where the
    poles come from for :math:`\operatorname{Im}\zeta > 0` (Cauchy's theorem: the same value in the upper
    half plane, and the analytic continuation across the support, which Newton iterates may visit);
    the weights carry :math:`h'(t) = 1 + i\varepsilon'(t)`.  Three tiers of nodes: far from the support
    a plain rule (192 nodes), near it the deformed contour on uniform panels, and next to a critical
    value of d (an edge of the spectrum of :math:`D^2`, where two poles pinch the contour) panels graded
    geometrically towards the critical point; on the spectrum itself (real zeta) a fourth tier whose
    deformation follows the tails (:class:`_TailScale`).  An even d is folded onto h > 0.  Accuracy ~1e-14
    (checked against mpmath in the tests).
    """

    _m_run = False  # the last evaluation asked for M alone (see :meth:`m`)

    def __init__(self, act, q):
        # phi' evaluated far out (|h| = 1e3, the scans of the tails) overflows for exp-based activations
        # (swish: exp(-x) at x = -4000): those values are inf/nan and read as such, never used as numbers
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            self._build(act, q)

    def _build(self, act, q):
        import sympy

        sym = sorted(act.expr.free_symbols, key=str)[0]
        zs = sympy.Symbol("zeta_h")
        e = act.expr.subs(sym, zs)
        fs = [_lambdify_stable(zs, sympy.diff(e, zs, k)) for k in (1, 2, 3)]
        rq = math.sqrt(q)
        t_max = math.sqrt(2 * _GAUSS_CUT)

        def ev(k, x):
            return np.asarray(fs[k](x), dtype=complex if np.iscomplexobj(x) else float) * np.ones_like(x)

        def dprime(x):
            return 2 * rq * ev(0, rq * x) * ev(1, rq * x)

        grid = np.linspace(-t_max, t_max, _SCAN_POINTS)
        dg = ev(0, rq * grid) ** 2
        even = bool(np.max(np.abs(dg - dg[::-1])) <= _EVEN_RTOL * np.max(dg))
        scale_b = _DEFORM_SCALE * float(np.max(np.abs(dprime(grid)))) + _GUARD
        amp = min(_DEFORM_AMP, _DEFORM_AMP_Q / rq)
        crit = _critical_points(dprime, grid)
        self.crit_t = crit
        self._phi12, self._q, self._t_max = (lambda x: ev(0, x), lambda x: ev(1, x)), q, t_max
        # d varies on the scale 1/sqrt(q) in t: the panels of the deformed contour follow it (tanh at q = 4.2:
        # 6e-10 next to the spectrum with 0.5-wide panels)
        panel = _PANEL_WIDTH / max(1.0, rq)
        # without a critical point (monotone d: softplus) the two tails meet where |d'| is largest
        pivot = crit or [float(grid[np.argmax(np.abs(dprime(grid)))])]

        def derivs(t):
            f1, f2, f3 = ev(0, rq * t), ev(1, rq * t), ev(2, rq * t)
            return f1**2, 2 * rq * f1 * f2, 2 * q * (f2**2 + f1 * f3)

        tail_scale = _TailScale(pivot, ev(0, rq * np.array(pivot)) ** 2, dg[[0, -1]], scale_b, capped=bool(crit),
                                derivs=derivs, t_max=t_max)
        self.tiers = []
        ddcs = _d2_at(ev, rq, q, crit)
        steep = _Steepening(crit, ddcs, scale_b, amp)
        flip = [_flip_levels(scale_b, ddc, panel) for ddc in ddcs]
        pinch = [_pinch_levels(ddc, dc, panel) for ddc, dc in zip(ddcs, ev(0, rq * np.array(crit)) ** 2, strict=True)]
        # tiers 0-3, then 4 + i: real zeta on the regular side of critical value i (flattened there).  Only the
        # real-axis tiers are steepened (_Steepening): off the real axis the contour stays the constant-scale
        # one (steepened there too, gelu off the critical line at depth 256 lost 7 nodes to another sheet)
        for kind in ("real", "uniform", "graded", "axis", *range(len(crit))):
            if kind == "real":
                # the singularities of phi'(sqrt(q) h) come closer to the real h-axis as 1/sqrt(q): the plain
                # rule keeps its ~1e-14 accuracy with nodes in proportion (tanh at q = 0.82: 6e-11 with 192
                # nodes, 3e-14 with 256)
                t, w = _gl(int(math.ceil(_REAL_TIER_NODES * max(1.0, 2.0 * rq))), -t_max, t_max)
            elif kind == "graded":
                t, w = _graded_nodes(crit, t_max, even, panel=panel, levels=pinch)
            elif kind == "uniform":
                # the deformation flips side at each critical point c of d within |t - c| ~ B / |d''(c)|
                # (0.04 for tanh at q = 4): panels there are graded down to a quarter of that width
                t, w = _graded_nodes(crit, t_max, even, panel=panel, levels=flip)
            else:
                # the real axis: the tails' scale (a pivot that is no critical point is a panel break: the scale
                # has a kink there), panels graded at the critical points as in "graded" (two real poles pinch
                # the contour there); the points where the tails' scale stops reading d and extrapolates are
                # panel breaks too (a jump in the contour's second derivative)
                cuts = tail_scale.cuts
                t, w = _graded_nodes(pivot + cuts, t_max, even, panel=panel,
                                     levels=([max(a, b) for a, b in zip(flip, pinch, strict=True)] if crit else [0])
                                     + [0] * len(cuts))
            f1, f2, f3 = ev(0, rq * t), ev(1, rq * t), ev(2, rq * t)
            d = f1**2
            if kind == "real":
                h, hp = t.astype(complex), np.ones(t.shape)
            else:
                dd = 2 * rq * f1 * f2                 # d'(t)
                ddd = 2 * q * (f2**2 + f1 * f3)       # d''(t)
                if kind == "axis" or isinstance(kind, int):
                    g, gp, a, ap = tail_scale.argument(t, d, dd, ddd, amp, steep)
                    if isinstance(kind, int):
                        f, fp = _flat_near(t, crit[kind], panel)
                        a, ap = a * f, ap * f + a * fp
                else:
                    g, gp, a, ap = dd / scale_b, ddd / scale_b, 1.0, 0.0
                th = np.tanh(g)
                h = t - 1j * amp * a * th
                hp = 1 - 1j * amp * (ap * th + a * (1 - th**2) * gp)
                d = ev(0, rq * h) ** 2
            wt = w * np.exp(-0.5 * h * h) / math.sqrt(2 * math.pi) * hp
            if even and kind != "real":
                keep = t > 0
                d, wt = d[keep], 2 * wt[keep]
            self.tiers.append((d, wt))
            if kind == "real":
                self.mean = float(np.real(np.dot(wt, d)))
                self.offset = float(np.real(np.dot(wt, d * d))) / self.mean
                self.spread = float(np.real(np.dot(wt, (d - self.mean) ** 2))) / self.mean**2
                lo, hi = float(np.min(np.real(d))), float(np.max(np.real(d)))
                norm = abs(np.sum(wt) - 1)
            else:
                norm = max(norm, abs(complex(np.sum(wt)) - 1), abs(complex(np.dot(wt, d)) / self.mean - 1))
        if norm > _NORM_TOL:
            raise ValueError(f"the quadrature for D^2 failed its normalisation check ({norm:.1e})")
        self.crit_values = np.array([float(np.real(ev(0, rq * np.array([c]))[0] ** 2)) for c in crit])
        # a minimum of d = phi'^2 at rounding level is a zero of phi' (sin: cos at h = (pi/2 + k pi)/sqrt(q)),
        # where the law of D^2 reaches 0 exactly, with an inverse square root (d has a double zero there)
        self.crit_values = np.where(self.crit_values <= _PHI_PRIME_ZERO * float(np.max(np.real(dg))), 0.0,
                                    self.crit_values)
        # the side of each critical value where the density of D^2 is not singular: above a maximum of d
        # (d'' < 0), below a minimum
        self.crit_sides = -np.sign(np.real(ddcs)) if len(crit) else np.array([])
        hi = max([hi] + list(self.crit_values))  # the maximum of d sits at a critical point
        # so does an interior minimum: at a zero of phi' (sin; swish at q* = 17.3: phi'(-1.28) = 0, h = -0.31) the law
        # reaches 0 like the power law P(D^2 < eps) ~ 4 phi(c) sqrt(eps / 2 d''(c)), though the nodes see d no lower
        # than ~1e-32 there; the products of such laws spread that mass over hundreds of e-folds
        lo = min([lo] + list(self.crit_values))
        # the spectrum of D^2 reaches inf d, which is approached as |h| -> inf (beyond the nodes)
        tails = np.real(ev(0, rq * np.array([-t_max, t_max])) ** 2)
        if np.all(np.abs(np.real(ev(0, rq * np.array([-4 * t_max, 4 * t_max])) ** 2)) < tails):
            lo = 0.0 if np.all(np.abs(np.real(ev(0, rq * np.array([-_FAR_H, _FAR_H])) ** 2)) < _ZERO_TAIL * hi) else lo
        # complex zeta this close to 0 has its poles in the tails, where d' is tiny and the constant-scale
        # contour lies on top of them: the tails' scale serves it too, where the law reaches 0 like a power
        # law (whose mass near 0 the products spread over hundreds of e-folds) or through an exponential tail
        # of d over decades below its bulk (sigmoid, softplus: the soft lower edges of their orthogonal
        # products lie in it, and nodes there read x rho 1e7 times too large)
        self.tail_zeta = 0.0
        for side, c_side in ((-1, min(crit, default=0.0)), (1, max(crit, default=0.0))):
            d_of = lambda t: np.real(ev(0, rq * np.array([t])) ** 2)[0]  # noqa: E731
            power = _power_law_to_zero(d_of, side * t_max, hi)
            if power or _exponential_to_zero(d_of, side * t_max, c_side, hi):
                lo = 0.0 if power else lo
                self.tail_zeta = max(self.tail_zeta,
                                     _TAIL_TIER * float(np.real(ev(0, rq * np.array([c_side])) ** 2)[0]))
        self.bounds = (lo, hi)
        # finite limits of d at h -> +-inf inside the spectrum (gelu, swish: phi' -> 1 from above): the density
        # of D^2 has a log-normal spike there, exp(-log^2|x - d_inf| / (8 q c^2)) / |x - d_inf|
        far = np.real(ev(0, rq * np.array([-_FAR_H, _FAR_H, -2 * _FAR_H, 2 * _FAR_H])) ** 2)
        self.limit_values = np.array(sorted({float(far[k]) for k in (0, 1)
                                             if abs(far[k] - far[k + 2]) <= _LIMIT_RTOL * hi
                                             and lo + _LIMIT_RTOL * hi < far[k] < hi * (1 - _LIMIT_RTOL)}))
        self.span = hi - lo
        # far from the spectrum (rho >= _FAR_RHO, inside the plain tier's reach) the plain tier's own short Gauss
        # rule serves: the same sums to their rounding with ~1/50 of the nodes (docs/design.md §4.6)
        self._far = FarRule(*self.tiers[0], _FAR_NODES, _FAR_RHO)
        self._sums = [ResolventSums(d, w) for d, w in self.tiers]

    def pushforward(self):
        r"""The law of :math:`D^2` on its spectrum as the push-forward of the Gaussian
        (:class:`~spectral.laws.d2_pushforward.D2PushForward`: exact density and interval masses, no contour)."""
        from .d2_pushforward import D2PushForward

        return D2PushForward(*self._phi12, self._q, self.crit_t, self._t_max)

    def _tier(self, z):
        return _tier_of(z, self.bounds[0], self.bounds[1], self.span, self.crit_values, self.crit_sides,
                        self.tail_zeta)

    def _serving(self, z):
        """The tier of each point (:meth:`_tier`), _FAR where the short Gauss rule serves, _NO_VALUE at a
        non-finite point (its sums are NaN: no node is summed there)."""
        tier = self._tier(z)
        plain = (tier == 0).nonzero()[0]
        if plain.size:
            tier[plain[self._far.serves(z[plain])]] = _FAR
        tier[~np.isfinite(z)] = _NO_VALUE
        return tier

    def _compute(self, zeta):
        shape = zeta.shape
        zf = zeta.ravel()
        g1 = np.empty(zf.shape, complex)
        mm = np.empty(zf.shape, complex)
        dm = np.empty(zf.shape, complex)
        err = np.empty(zf.shape)
        tier = self._serving(zf)
        none = tier == _NO_VALUE
        g1[none], mm[none], dm[none], err[none] = np.nan, np.nan, np.nan, np.inf
        sel = tier == _FAR
        if sel.any():
            far = self._far.sums(zf[sel])
            g1[sel], mm[sel], dm[sel], err[sel] = far.g1, far.m, far.dm, 4 * _EPS * far.size_g
        # the tiers that serve some point (a call holds a few points and a law up to a dozen tiers)
        for k in np.bincount(tier[tier >= 0], minlength=len(self.tiers)).nonzero()[0]:
            sel = tier == k
            g, m, dmk, size_g, _ = resolvent_sums(zf[sel], self._sums[k])
            g1[sel] = zf[sel] * g
            mm[sel] = m
            dm[sel] = dmk
            err[sel] = 4 * _EPS * np.abs(zf[sel]) * size_g
        return g1.reshape(shape), mm.reshape(shape), dm.reshape(shape), err.reshape(shape)

    def _m_alone(self, zeta):
        r""":math:`M(\zeta)` alone: the sums ``mm`` of :meth:`_eval` (the same bits), without the squares and
        moduli of the resolvent that :math:`M'` and the rounding bound need, nor :math:`\zeta G`."""
        zeta = np.asarray(zeta, dtype=complex)
        val = self._cached(zeta)
        if val is not None:
            return val[1]
        zf = zeta.ravel()
        mm = np.empty(zf.shape, complex)
        tier = self._serving(zf)
        mm[tier == _NO_VALUE] = np.nan
        sel = tier == _FAR
        if sel.any():
            mm[sel] = self._far.sums(zf[sel]).m
        for k in np.bincount(tier[tier >= 0], minlength=len(self.tiers)).nonzero()[0]:
            sel = tier == k
            mm[sel] = resolvent_sums(zf[sel], self._sums[k], full=False)[1]
        return mm.reshape(zeta.shape)

    def transforms(self, zeta):
        """(zeta G, M, M', the rounding bound) at ``zeta``: one :meth:`_eval`."""
        self._m_run = False
        return self._eval(zeta)

    def g1(self, zeta):
        self._m_run = False
        return self._eval(zeta)[0]

    def m(self, zeta):
        # a second M in a row is a bisection on the real axis (the edge scan), which asks for nothing else: M
        # alone; a first one is served in full, since M' at the same point usually follows (Newton)
        if self._m_run:
            return self._m_alone(zeta)
        self._m_run = True
        return self._eval(zeta)[1]

    def dm(self, zeta):
        self._m_run = False
        return self._eval(zeta)[2]

    def noise(self, zeta):
        self._m_run = False
        return self._eval(zeta)[3]


class _TailScale:
    r"""The argument :math:`g = d'(t)/B(t)` of the contour deformation :math:`\varepsilon = -A\tanh g` and
    its derivative :math:`g'`.

    Between the outermost critical points :math:`c_-, c_+` of d (or its maximum on the grid, where d has no
    critical point) :math:`B` is the constant :math:`B_0 = ` :data:`_DEFORM_SCALE` :math:`\max|d'|`.  Beyond
    them d tends monotonically to its limit :math:`d_\infty` at :math:`\pm\infty` (0 for tanh, erf, sigmoid;
    1 for gelu on the right), and :math:`B = B_0 (d - d_\infty)/(d(c_\pm) - d_\infty)` follows it: with the
    constant :math:`B_0`, :math:`|d'|/B_0` is tiny there, the contour stays on top of the poles
    :math:`d(h) = \zeta` of a small :math:`\zeta` (they lie in the tails) and :math:`M(x + i0)` near the lower
    end of the spectrum was wrong by orders of magnitude (tanh at :math:`q = 4.2`, :math:`x = 10^{-5}`:
    :math:`x\rho` low by 99%); with the scaled B, g tends to the log-derivative
    :math:`d'/(d - d_\infty)` times a constant, the deformation saturates at A, and the poles stay ~A off the
    contour.  B is continuous, with :math:`B' = 0` at :math:`c_\pm` (a critical point), and only moves the
    contour where no critical point lies: Cauchy's theorem is not touched.
    """

    def __init__(self, crit, d_crit, d_ends, scale_b, capped=True, derivs=None, t_max=None):
        self.lo, self.hi = float(min(crit)), float(max(crit))
        self.d_lo, self.d_hi = float(d_crit[int(np.argmin(crit))]), float(d_crit[int(np.argmax(crit))])
        self.inf_lo, self.inf_hi = float(d_ends[0]), float(d_ends[1])
        self.scale_b = float(scale_b)
        # the amplitude cap needs L = 0 where the tails meet (a critical point): at a pivot that is none the
        # two sides' L differ and the capped contour would break; a monotone d has exponential tails, whose
        # other branches lie 2 pi / |L| ~ 2 pi / sqrt(q) > A off the axis anyway (softplus)
        self.capped = capped
        # per side: None, or (t*, L(t*), L'(t*)) beyond which L is extrapolated linearly (_tail_cut)
        self.cut_lo = self.cut_hi = None
        if derivs is not None:
            self.cut_lo = _tail_cut(derivs, self.lo, -t_max, self.d_lo, self.inf_lo)
            self.cut_hi = _tail_cut(derivs, self.hi, t_max, self.d_hi, self.inf_hi)
        self.cuts = [c[0] for c in (self.cut_lo, self.cut_hi) if c is not None]

    def argument(self, t, d, dd, ddd, amp, steep=None):
        r"""(g, g', a, a') at real t, with d, d', d'' there: the deformation is :math:`-A a \tanh g`, the factor
        :math:`a = (1 + (A|L|/c)^4)^{-1/4}` (:math:`L = d'/(d - d_\infty)`, c = :data:`_TAIL_BRANCH_ANGLE`; 1
        while :math:`A|L| < c`) keeping it within c/|L| in the tails, where the other solutions of
        :math:`d(h) = \zeta` lie :math:`2\pi/|L|` off the real axis (erf: L = -4 b^2 q t grows; 1 between
        the outermost critical points, and at them).  Beyond a cut :math:`t^*` (where :math:`d - d_\infty`
        has lost its digits to rounding) L is continued by :math:`L(t^*) + L'(t^*)(t - t^*)`."""
        g, gp = dd / self.scale_b, ddd / self.scale_b
        a, ap = np.ones(t.shape), np.zeros(t.shape)
        for side, dc, dinf, cut, sgn in ((t < self.lo, self.d_lo, self.inf_lo, self.cut_lo, -1.0),
                                         (t > self.hi, self.d_hi, self.inf_hi, self.cut_hi, 1.0)):
            span = dc - dinf
            rel = np.real(d) - dinf
            beyond = np.zeros(t.shape, bool) if cut is None else side & (sgn * (t - cut[0]) > 0)
            sel = (side & ~beyond & (np.abs(rel) <= np.abs(span)) & (rel * span > 0)) | beyond
            if not np.any(sel):
                continue
            with np.errstate(all="ignore"):
                ld = np.real(dd[sel]) / rel[sel]           # d' / (d - d_inf): finite where both are tiny
                lp = np.real(ddd[sel]) / rel[sel] - ld * ld  # L'
            if cut is not None:
                far = beyond[sel]
                ld[far] = cut[1] + cut[2] * (t[sel][far] - cut[0])
                lp[far] = cut[2]
            k = span / self.scale_b
            g_t, gp_t = ld * k, lp * k
            r = amp * np.abs(ld) / _TAIL_BRANCH_ANGLE * self.capped
            a_t = (1.0 + r**4) ** -0.25
            ap_t = -((1.0 + r**4) ** -1.25) * r**3 * (amp / _TAIL_BRANCH_ANGLE) * np.sign(ld) * lp
            good = np.isfinite(g_t) & np.isfinite(gp_t) & np.isfinite(ap_t)
            idx = np.flatnonzero(sel)[good]
            g[idx], gp[idx], a[idx], ap[idx] = g_t[good], gp_t[good], a_t[good], ap_t[good]
        if steep is not None and steep.points:
            beta, betap = steep.factor(t)
            g, gp = g * beta * self.scale_b, (gp * beta + g * betap) * self.scale_b
        return g, gp, a, ap


def _tail_cut(derivs, c, end, d_c, d_inf):
    r"""Where the tail of d beyond the critical point c (towards ``end``) has lost its digits: the point t* at
    which :math:`|d - d_\infty|` falls to :data:`_TAIL_CUT` :math:`\max(|d_\infty|, |d(c) - d_\infty|)`
    (bisection; d is monotone there), with :math:`L = d'/(d - d_\infty)` and L' at t*; None when the tail
    keeps its digits to ``end`` (:math:`d - d_\infty` keeps its sign).  Beyond t* the value of d is rounding
    (gelu: :math:`\Phi(x) + x\varphi(x)` from :math:`1 + \operatorname{erf}` is exactly 0 for x < -8.6), and
    the contour that followed it jumped back to the real axis: sum of the weights off by :math:`2\cdot10^{-6}`
    at q = 3.7, :math:`4\cdot10^{-15}` with the cut."""
    thr = _TAIL_CUT * max(abs(d_inf), abs(d_c - d_inf))
    # a tail that keeps d - d_inf of one sign to the end has its digits (tanh, erf, sigmoid: relative
    # accuracy in the tails) and keeps the contour read from d; one that reaches d_inf or crosses it has cancelled
    scan = np.real(derivs(np.linspace(c, end, _SCAN_POINTS))[0]) - d_inf
    if not thr > 0 or np.all(scan * (d_c - d_inf) > 0):  # (a constant d, q = 0: no tail at all)
        return None

    def small(t):
        return abs(float(np.real(derivs(np.array([t]))[0][0])) - d_inf) <= thr

    a, b = c, end
    for _ in range(_BISECTIONS):
        m = 0.5 * (a + b)
        a, b = (a, m) if small(m) else (m, b)
    d, dd, ddd = (float(np.real(v[0])) for v in derivs(np.array([a])))
    if d == d_inf:
        return None
    ld = dd / (d - d_inf)
    return a, ld, ddd / (d - d_inf) - ld * ld


def _power_law_to_zero(d, end, hi) -> bool:
    r"""Whether d tends to 0 towards ``end`` (= :math:`\pm t_{\max}`) like :math:`e^{-c t^2}`: then
    :math:`P(D^2 < \varepsilon) \approx P(|h| > \sqrt{\log(1/\varepsilon)/c}) \sim \varepsilon^{1/(2c)}`, a
    power law, and the spectrum of :math:`D^2` reaches 0 (gelu: :math:`\phi' \sim x\varphi(x)` as
    :math:`x \to -\infty`, :math:`\varepsilon^{1/(2q)}`), however small d is at the last node.  Read from
    :math:`\log d` at ``end`` / 2 and ``end``: a ratio near 4 (quadratic in t), not 2 (linear: the
    exponential tails of softplus and swish, whose law reaches 0 faster than any power)."""
    far, mid = d(end), d(0.5 * end)
    if not (0 <= far < _ZERO_TAIL * hi and far < mid):
        return False
    return far == 0 or math.log(far / hi) / math.log(mid / hi) > _POWER_LAW_RATIO


def _exponential_to_zero(d, end, c, hi) -> bool:
    r"""Whether d tends to 0 towards ``end`` (= :math:`\pm t_{\max}`) through an exponential tail over decades
    below its bulk, :math:`d \sim e^{-c|t|}` (sigmoid: :math:`\sigma'(x)^2 \sim e^{-2|x|}`; softplus on the
    left: :math:`\sigma(x)^2 \sim e^{2x}`), read as :math:`d(\text{end}) <` :data:`_EXP_TAIL` ``hi`` and d
    decreasing from ``end`` / 2 (an exponential, not a Gaussian decay: the ratio of the logarithms at ``end``
    and ``end`` / 2 at most :data:`_POWER_LAW_RATIO`), beyond the outermost critical point c of d on that
    side, which lies at least half-way from ``end`` to 0 (d is monotone from c on: a tail, not the last period of sin's
    :math:`\cos^2`).  The law of :math:`D^2` reaches 0 then too, with a log-normal tail
    (:math:`P(D^2 < \varepsilon) \approx P(|h| > \log(1/\varepsilon)/c)`) that the quadrature's view ends at
    :math:`d(t_{\max})`; the poles :math:`d(h) = \zeta` of a small :math:`\zeta` lie in that tail."""
    far, mid = d(end), d(0.5 * end)
    if not (abs(end - c) >= 0.5 * abs(end) and 0 < far < _EXP_TAIL * hi and far < mid):
        return False
    # exponential, not Gaussian: log d at end over log d at end / 2 is ~2 (sigmoid 2.0-2.6, softplus 2.0),
    # not ~4 (gelu's phi' ~ x phi(x): 3.1 at q = 0.19, whose left tail the constant-scale contour serves)
    return math.log(far / hi) / math.log(mid / hi) <= _POWER_LAW_RATIO


def _lambdify_stable(var, expr):
    r"""NumPy function of a derivative of phi, with :math:`\operatorname{erf}(a)` written
    :math:`2\Phi(\sqrt2 a) - 1` (scipy's ``ndtr``, complex arguments included): sympy then cancels the constants
    of gelu's :math:`\phi' = \tfrac12(1 + \operatorname{erf}(x/\sqrt2)) + x\varphi(x)` into :math:`\Phi(x) +
    x\varphi(x)`, which keeps its relative accuracy as x -> -inf.  From :math:`1 + \operatorname{erf}` it was
    rounding below x = -8.6: the :math:`4\cdot10^{-6}` of the law of :math:`D^2` (q = 3.7) below
    :math:`10^{-32}` read as an atom at 0, and the products' mass was off by that."""
    import sympy
    from scipy.special import ndtr

    class _Ndtr(sympy.Function):
        """The standard normal CDF, left unevaluated for lambdify."""

    stable = expr.replace(sympy.erf, lambda a: 2 * _Ndtr(sympy.sqrt(2) * a) - 1)
    return sympy.lambdify(var, stable, modules=[{"_Ndtr": ndtr}, "numpy", "scipy"])


def _critical_points(dprime, grid):
    """Zeros of d' on the grid (sign changes refined by bisection), plus 0 if d'(0) = 0."""
    g = dprime(grid)
    crit = [0.0] if abs(float(dprime(np.array([0.0]))[0])) < _CRIT_ZERO else []
    for i in np.flatnonzero(np.sign(g[:-1]) * np.sign(g[1:]) < 0):
        a, b = grid[i], grid[i + 1]
        sa = np.sign(dprime(np.array([a]))[0])
        for _ in range(_BISECTIONS):
            c = 0.5 * (a + b)
            if np.sign(dprime(np.array([c]))[0]) == sa:
                a = c
            else:
                b = c
        crit.append(0.5 * (a + b))
    return sorted(set(round(c, _CRIT_DIGITS) for c in crit))


#: h ~ N(0, 1) is integrated over |h| <= sqrt(2 x this): the Gaussian weight beyond is e^-46 ~ 1e-20.
_GAUSS_CUT = 46.0
#: Points of the t-grid on which d is tested for evenness and d' scanned for sign changes.
_SCAN_POINTS = 4001
#: d is even (and folded onto h > 0) when d(t) and d(-t) agree to this relative to max d.
_EVEN_RTOL = 1e-13
#: B = this x max |d'| sets where the contour deformation -A tanh(d'/B) saturates.
_DEFORM_SCALE = 0.25
#: A = min(this, _DEFORM_AMP_Q / sqrt(q)): how far the contour moves off the real h-axis (the singularities of
#: phi'(sqrt(q) h) come closer to it as 1/sqrt(q)).
_DEFORM_AMP = 0.3
_DEFORM_AMP_Q = 0.5
#: Each tier's weights must sum to 1 and reproduce m_1 to this, else the quadrature is refused.
_NORM_TOL = 1e-10
#: Complex zeta within this x d(c) of 0 (c the outermost critical point on a side where d reaches 0 like
#: exp(-c t^2)) uses the tails' scale.
_TAIL_TIER = 0.1
#: log d at t_max over log d at t_max / 2 above this: d decays like exp(-c t^2) (4), not exp(-c |t|) (2).
_POWER_LAW_RATIO = 3.0
#: d at t_max below this x max d, decreasing towards it: an exponential tail over decades below the bulk of D^2,
#: whose small complex zeta get the tails' scale (sigmoid at q = 0.52: d(t_max) / max d = 1.7e-5).
_EXP_TAIL = 1e-3
#: The spectrum of D^2 reaches 0 when d at |h| = _FAR_H is below this x max d (d -> 0 at infinity).
_ZERO_TAIL = 1e-10
_FAR_H = 1e3
#: In the tails the real-axis contour keeps |Im h| below this / |d'/(d - d_inf)|: a quarter of the distance
#: 2 pi / |L| to the other solutions of d(h) = zeta there.
_TAIL_BRANCH_ANGLE = 0.5 * math.pi
#: Where d - d_inf cancels in the tails (gelu's 1 + erf, swish's phi' - 1), the tails' scale reads L = d'/(d -
#: d_inf) only while |d - d_inf| is above this x max(|d_inf|, |d(c) - d_inf|), and extrapolates it below: the
#: rounding of d - d_inf (eps / this, relative) makes the contour rough (gelu, q = 10: weights off 6e-11 at 1e-8,
#: 2e-14 at 1e-5).
_TAIL_CUT = 1e-5
#: d has a limit at h -> +-inf when d(_FAR_H) and d(2 _FAR_H) agree to this x max d (phi' of a non-periodic
#: activation is constant there to rounding), and it is inside the spectrum when this x max d from its ends.
_LIMIT_RTOL = 1e-9
#: Bernstein parameter (of the plain tier's nodes) from which the short Gauss rule of the plain tier serves, and
#: its nodes: its error, measured on that ellipse when it is built, is within the plain tier's rounding there
#: (docs/design.md §4.6; every point of the plain tier lies at rho >= 2.1 in the registry's laws).
_FAR_RHO = 2.0
_FAR_NODES = 48
#: Tier labels of points served by the short rule, and of non-finite points (no value).
_FAR = -1
_NO_VALUE = -2
#: Critical points where the slope A |d''(c)| / B of the deformed contour is below this get a local scale
#: (_Steepening) that makes it ...
_KAPPA_MIN = 0.3
#: ... this.
_KAPPA_TARGET = 1.0
#: The contour flattened at a critical point (the tier of real zeta next to its critical value, d2_tiers) is
#: flat over this x the panel width around it.
_FLAT_WIDTH = 1.0 / 16
#: d'(0) below this is 0 (an even activation's critical point at 0).
_CRIT_ZERO = 1e-12
#: Bisection halvings of a sign change of d' (a grid cell down to its rounding).
_BISECTIONS = 60
#: Critical points equal to this many decimals are one.
_CRIT_DIGITS = 13
#: Panel break points closer than this are one.
_BREAK_MIN = 1e-15

#: A critical value of d = phi'^2 below this x max d is a zero of phi' (its point c is located to ~1e-13, so d(c)
#: is ~1e-26 relative at a simple zero of phi'; any genuine minimum of d this small would be one to rounding).
_PHI_PRIME_ZERO = 1e-24

#: Gauss–Legendre nodes of the plain rule for D^2 far from its spectrum (times 2 sqrt(q) when that is above 1).
_REAL_TIER_NODES = 192

#: Panels of the D^2 contour next to a critical point of d are refined by halving down to 2^-20 of 0.5 (the
#: graded tier: two poles pinch the contour there, their distance shrinking with that of zeta to the edge).
_GRADED_LEVELS = 20

#: At most this many halvings towards a critical point (2^-40 of a panel: the poles of zeta ~1e-26 from a
#: critical value 0 of d, where phi' has a simple zero).
_PINCH_LEVELS = 40

#: Width in t of the Gauss–Legendre panels (16 nodes) of the deformed contour for q <= 1 (divided by sqrt(q)
#: above): the poles d(h) = zeta sit ~A = 0.3 off the contour, and a panel twice that wide keeps ~1e-14.
_PANEL_WIDTH = 0.5


def _d2_at(ev, rq, q, crit):
    """Second derivative of d(t) = phi'(sqrt(q) t)^2 at the critical points: 2 q (phi''^2 + phi' phi^(3))."""
    c = np.asarray(crit, float)
    return 2 * q * (ev(1, rq * c) ** 2 + ev(0, rq * c) * ev(2, rq * c)) if c.size else np.array([])


class _Steepening:
    r"""The factor :math:`\beta(t)` of the contour deformation's argument :math:`g = d'(t)\beta(t)` off the real
    axis (:math:`\beta = 1/B` alone before): :math:`\beta = 1/B + \sum_i (1/B_i - 1/B) e^{-((t - c_i)/A)^2}`
    at the critical points :math:`c_i` where the contour's slope :math:`\kappa_i = A|d''(c_i)|/B` is below
    :data:`_KAPPA_MIN`, :math:`B_i = A|d''(c_i)|/` :data:`_KAPPA_TARGET`.

    Next to a critical point the solutions of :math:`d(h) = \zeta` lie at :math:`c \pm \delta`, and the
    contour passes them at the height :math:`\kappa\delta`, inside the graded panel of width
    :math:`\sim\delta`: 16 Gauss–Legendre nodes converge like :math:`(\kappa + \sqrt{1 + \kappa^2})^{-32}`,
    :math:`4\cdot10^{-6}` at gelu's gentle local maximum of d (:math:`\kappa = 0.2` at q = 3.7; the density
    of :math:`D^2` below it was off by :math:`10^{-8}`), 0.03 for swish's (:math:`\kappa = 0.056`).  g keeps
    the sign and the zeros of d', so every real pole keeps its side of the contour."""

    def __init__(self, crit, ddcs, scale_b, amp):
        self.scale_b, self.width = float(scale_b), float(amp)
        self.points = []
        for c, ddc in zip(crit, ddcs, strict=True):
            kappa = amp * abs(float(np.real(ddc))) / scale_b
            if 0 < kappa < _KAPPA_MIN:
                self.points.append((float(c), _KAPPA_TARGET / (amp * abs(float(np.real(ddc)))) - 1 / scale_b))

    def factor(self, t):
        """(beta, beta') at real t."""
        beta, betap = np.full(t.shape, 1 / self.scale_b), np.zeros(t.shape)
        for c, extra in self.points:
            u = (t - c) / self.width
            e = extra * np.exp(-u * u)
            beta, betap = beta + e, betap - 2 * u / self.width * e
        return beta, betap


def _flat_near(t, c, panel):
    r"""(a, a') of the factor :math:`a = 1 - e^{-u^2}`, :math:`u = (t - c)/w`, w = :data:`_FLAT_WIDTH` x panel,
    that lays the contour onto the real axis at the critical point c.

    For real :math:`\zeta` just on the regular side of the critical value d(c) (above a maximum of d), the
    two solutions of :math:`d(h) = \zeta` next to c are :math:`c \pm i\delta`, :math:`\delta \approx
    \sqrt{2|\zeta - d(c)|/|d''(c)|}`: the deformed contour passes within :math:`\delta` of them, where the
    integrand is of size :math:`1/\delta^2` and complex, and the density (:math:`\operatorname{Im} M`, finite)
    is the difference of terms of size :math:`\operatorname{Re} M \sim 1/\delta`: gelu at q = 3.7,
    :math:`10^{-8}` above its local maximum of d, was off by :math:`2\cdot10^{-5}`, and read 0 closer.  On
    the real axis the integrand is real there (no pole crosses: d < :math:`\zeta` near c), so the pair adds
    nothing to :math:`\operatorname{Im} M`; the graded panels resolve its peak of width :math:`\delta`."""
    w = _FLAT_WIDTH * panel
    u = (t - c) / w
    e = np.exp(-u * u)
    return 1.0 - e, 2.0 * u / w * e


def _pinch_levels(ddc, dc, panel):
    r"""Halvings of a panel towards a critical point c of d for the graded tier: down to a quarter of the
    distance :math:`\delta = \sqrt{2\varepsilon|d(c)|/|d''(c)|}` of the two poles :math:`d(h) = \zeta` that
    pinch the contour at c when :math:`\zeta` is within rounding of d(c); at least :data:`_GRADED_LEVELS`, at
    most :data:`_PINCH_LEVELS`.  With :data:`_GRADED_LEVELS` alone the poles of :math:`\zeta` within
    :math:`10^{-13}` of gelu's local maximum of d (q = 3.7) were closer than the finest panel, and
    :math:`\operatorname{Im} M` there was rounding (its density read 0 on one side of the critical value)."""
    delta = math.sqrt(2 * _EPS * max(abs(float(np.real(dc))), _GUARD) / max(abs(float(np.real(ddc))), _GUARD))
    return int(min(_PINCH_LEVELS, max(_GRADED_LEVELS, math.ceil(math.log2(4 * panel / delta)))))


def _flip_levels(scale_b, ddc, panel):
    """Halvings of a panel down to a quarter of the width B / |d''(c)| over which the contour deformation
    -A tanh(d'/B) changes side at a critical point c (at most :data:`_GRADED_LEVELS`)."""
    width = scale_b / max(abs(float(ddc)), _GUARD)
    return int(min(_GRADED_LEVELS, max(0, math.ceil(math.log2(panel / (0.25 * width))))))


def _graded_nodes(crit, t_max, symmetric, order=16, levels=None, panel=None):
    """Composite Gauss–Legendre nodes on [-t_max, t_max]: panels of width ``panel`` (default
    :data:`_PANEL_WIDTH`), refined geometrically (ratio 2, down to 2^-``levels[i]``, default
    :data:`_GRADED_LEVELS`) towards each point of ``crit``; symmetric about 0 when asked."""
    panel = _PANEL_WIDTH if panel is None else panel
    half = np.arange(0.0, t_max, panel)
    brk = set((-half).tolist()) | set(half.tolist()) | {-t_max, t_max}
    levels = [_GRADED_LEVELS] * len(crit) if levels is None else levels
    for c, lev in zip(crit, levels, strict=True):
        brk |= {c + sgn * panel * 2.0**-k for k in range(lev + 1) for sgn in (-1, 1)} | {c}
    if symmetric:
        brk |= {-b for b in brk}
    brk = np.array(sorted(b for b in brk if -t_max <= b <= t_max))
    brk = brk[np.concatenate([[True], np.diff(brk) > _BREAK_MIN])]
    x, w = np.polynomial.legendre.leggauss(order)
    a, b = brk[:-1, None], brk[1:, None]
    return (0.5 * (b - a) * x + 0.5 * (b + a)).ravel(), (0.5 * (b - a) * w).ravel()


def smooth_d2(activation, q, name=""):
    """The :class:`_SmoothD2` of D^2 for an activation with an analytic (sympy, kink-free) expression at
    variance ``q``, cached per (activation, q); None when there is none (then the caller uses the discrete
    quadrature law, with a warning when the analytic one failed)."""
    expr = getattr(activation, "expr", None)
    if expr is None or getattr(activation, "kinks", ()) or expr.has(__import__("sympy").Piecewise):
        return None
    key = (getattr(activation, "name", repr(activation)), float(q))
    if key not in _SMOOTH_CACHE:
        try:
            _SMOOTH_CACHE[key] = _SmoothD2(activation, float(q))
        except (ValueError, TypeError, NameError, AttributeError) as exc:
            warnings.warn(f"{name or key[0]}: analytic M(zeta) unavailable ({exc}); using the discrete quadrature",
                          RuntimeWarning, stacklevel=3)
            _SMOOTH_CACHE[key] = None
    return _SMOOTH_CACHE[key]


_SMOOTH_CACHE: dict = {}
