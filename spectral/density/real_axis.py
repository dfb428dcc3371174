"""M(x + i0) on a band: vertical continuation at anchors, Newton on the real axis in between."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .continuation import _continue, _le0, _path_free, _switch_modes
from .newton import _im_g_ok, _m_noise, _newton
from .sheet import _repair_sheets, _winding
from .threads import _quiet
from .tolerances import _ANCHOR_STRIDE, _ETA_LAST, _EXPONENT_ZERO, _INTERP_CLOSE, _INTERP_IM_REL, _JUMP_NOISE


@dataclass(frozen=True)
class _RealSolution:
    """M(x + i0) at nodes x = e^u: ``m``, ``ok`` (certified), ``res`` (residual), ``fb`` (refined or solved
    by its own vertical continuation), ``acc`` (attainable accuracy of m); ``zeta`` (the implicit unknowns)
    where the nodes were all continued vertically."""

    m: np.ndarray
    ok: np.ndarray
    res: np.ndarray
    fb: np.ndarray
    acc: np.ndarray
    zeta: np.ndarray | None = None
    sheet: np.ndarray | None = None
    delta: np.ndarray | None = None

    def take(self, idx) -> _RealSolution:
        """The solution at the nodes ``idx``."""
        return _RealSolution(self.m[idx], self.ok[idx], self.res[idx], self.fb[idx], self.acc[idx],
                             None if self.zeta is None else self.zeta[:, idx],
                             None if self.sheet is None else self.sheet[idx],
                             None if self.delta is None else self.delta[idx])


def _closed_form(sys) -> bool:
    r"""Whether the density equation is solved in closed form: one implicit factor of multiplicity 1 and
    nothing else that depends on m (no explicit factor, no linear term, :math:`e_0 = 0`), so that
    :math:`\log z = C + \log\zeta` and :math:`m = M(\zeta)/s` -- the law of the factor itself, scaled
    (orthogonal weights at depth 1: :math:`JJ^T = \sigma_w^2 D^2`)."""
    return (sys.k == 1 and not sys.gen and sys.b.size == 0 and abs(sys.e_m) <= _EXPONENT_ZERO
            and abs(float(sys.imp[0].multiplicity) - 1.0) <= _EXPONENT_ZERO)


def _solve_closed_form(sys, u) -> _RealSolution:
    r""":math:`M(x + i0)` at x = e^u for a :func:`_closed_form` system: :math:`\zeta = e^{u + \log c - C}` on
    the real axis, where the factor's :math:`M` is its boundary value from above (for :math:`D^2` the
    deformed contour of its quadrature, docs/design.md §4.6); no continuation, no Newton.  Where the factor
    has ``g1``, m is formed from :math:`1 + sm = g_1(\zeta)` (so -Im m / pi keeps its relative accuracy
    where :math:`m \to -1` at small x, instead of the rounding of the sum for M).  A node is certified
    when m is finite: z is real, so Im G <= 0 is the sign of x rho itself, which the certificate tests
    against the band's largest x rho (docs/design.md §5.8) -- not against |1 + m|, which tends to 0 with
    x (erf at depth 1: x rho ~ 1e-25 of |1 + m| ~ 1e-16 at x = 2e-16, the quadrature's rounding there);
    ``res`` is the residual of log z (rounding only: the equation holds by construction).  A factor with a
    ``pushforward`` (a spike at a limit value of :math:`D^2`: gelu, swish) gives :math:`x\rho` itself, the
    push-forward of the Gaussian (exact up to the roots of d(h) = x); the contour keeps Re m only (its poles in
    the tails lie close to the contour there: gelu at q = 0.19, x rho 1e-6 off at x = 0.01; at q* = 3.74
    1e-5 off near 1e-3 and the spike's nodes 2e-4 off)."""
    f = sys.imp[0]
    s = float(f.scale)
    with np.errstate(all="ignore"):
        zeta = np.exp(u + sys.log_c - sys.const).astype(complex)
        m = (f.g1(zeta) - 1.0) / s if f.g1 is not None else f.m(zeta) / s
        if f.pushforward is not None:
            m = m.real - 1j * math.pi * f.pushforward.xrho(zeta.real) / s
        target = u + 0j
        ev = sys.evaluate(m, np.zeros(u.shape, bool), zeta[None, :], target)
        acc = _m_noise(sys, ev)
        res = np.abs(ev["f0"])
        ok = np.isfinite(m) & np.isfinite(res)
    return _RealSolution(m, ok, res, np.zeros(u.shape, bool), acc, zeta[None, :])


def _solve_vertical(sys, u) -> _RealSolution:
    """Vertical continuation to x = e^u + i0 at every node."""
    n = u.size
    path = _continue(sys, u, np.ones(n), u + math.log(_ETA_LAST), _le0(sys), np.ones(n, bool))
    ev = sys.evaluate(path.p, path.mode, path.zeta, u + 0j)
    return _RealSolution(path.m, path.ok, path.res, path.fallback, _m_noise(sys, ev), path.zeta,
                         _winding(ev, u + 0j), _delta(sys, path.p, path.mode))


def _delta(sys, p, B):
    """m - m0 from the unknown p in its mode B (without the cancellation of m - m0 in mode B)."""
    return np.where(B, p, p - sys.m0)


def _lagrange_weights(k, x, four):
    """Weights (4, n) of the cubic Lagrange interpolant through nodes k (4, n) at x (linear through k[1],
    k[2] where ``four`` is False)."""
    w = np.ones(k.shape)
    for a in range(4):
        for b in range(4):
            if a != b:
                w[a] *= (x - k[b]) / np.where(k[a] != k[b], k[a] - k[b], 1.0)
    t = (x - k[1]) / (k[2] - k[1])
    lin = np.stack([np.zeros_like(t), 1 - t, t, np.zeros_like(t)])
    return np.where(four, w, lin)


@_quiet
def _solve_real(sys, u, stride=_ANCHOR_STRIDE, breaks=(), seed=None) -> _RealSolution:
    """M(x + i0) at x = e^u (one band, u ascending): vertical continuation (docs/design.md §4.3) at every
    ``stride``-th node and at both ends of the band (anchors); the nodes in between start Newton on the
    real axis from the interpolation of their two certified anchors and are accepted only if Newton
    converges, Im G <= 0 and the result stays within a quarter of the anchors' difference of the
    interpolant (continuity in x on the physical sheet); any other node gets its own vertical
    continuation.  ``breaks``: u values splitting the band into grid pieces (e.g. a soft edge), each
    with its own anchors at both ends; no interpolation crosses a break.  Returns m, ok, residual,
    fallback and the attainable accuracy of m (its rounding level, :func:`_m_noise`).  Nodes off the
    physical sheet or not certified are then marched to along the real axis from a certified neighbour
    (:func:`~.sheet._repair_sheets`); ``seed`` (u, zeta, m - m0) is a certified solution above every node that
    the march may start from (the lowest node of the band above a tail)."""
    if _closed_form(sys):
        return _solve_closed_form(sys, np.asarray(u, float))
    sol = _solve_anchored(sys, u, stride, breaks)
    if sol.sheet is None or np.all(sol.ok & (sol.sheet == 0)):
        return sol
    order = np.argsort(u, kind="stable")
    piece = np.searchsorted(np.sort(np.asarray(breaks, float)), u[order], side="left")
    rep = _repair_sheets(sys, u[order], sol.take(order), piece, seed)
    out = np.empty_like(order)
    out[order] = np.arange(order.size)
    return rep.take(out)


def _solve_anchored(sys, u, stride, breaks) -> _RealSolution:
    """:func:`_solve_real` by continuation: anchors, interpolation and Newton, vertical continuation."""
    n = u.size
    if n <= 4 * stride:
        return _solve_vertical(sys, u)
    order = np.argsort(u, kind="stable")
    if np.any(order != np.arange(n)):
        out = _solve_real(sys, u[order], stride, breaks)
        inv = np.empty(n, int)
        inv[order] = np.arange(n)
        return out.take(inv)
    piece = np.searchsorted(np.sort(np.asarray(breaks, float)), u, side="left")
    anchor = np.zeros(n, bool)
    for q in np.unique(piece):
        iq = np.flatnonzero(piece == q)
        anchor[iq[::stride]] = True
        anchor[iq[:3]] = anchor[iq[-3:]] = True
    ia = np.flatnonzero(anchor)
    m = np.full(n, np.nan + 0j)
    zeta = np.full((sys.k, n), np.nan + 0j)
    ok = np.zeros(n, bool)
    res = np.full(n, np.nan)
    fb = np.zeros(n, bool)
    acc = np.full(n, np.inf)
    sheet = np.full(n, -1, int)
    delta = np.full(n, np.nan + 0j)
    va = _solve_vertical(sys, u[ia])
    ma, oka, ra, fba, acca, za = va.m, va.ok, va.res, va.fb, va.acc, va.zeta
    m[ia], zeta[:, ia], ok[ia], res[ia], fb[ia], acc[ia] = ma, za, oka, ra, fba, acca
    sheet[ia], delta[ia] = va.sheet, va.delta
    rest = np.flatnonzero(~anchor)
    inside = np.zeros(rest.size, bool)
    left, right = np.zeros(rest.size, int), np.zeros(rest.size, int)
    m0 = np.full(rest.size, np.nan + 0j)
    z0 = np.full((sys.k, rest.size), np.nan + 0j)
    inverse = _path_free(sys)
    for q in np.unique(piece[rest]):
        good = ia[oka & (piece[ia] == q)]
        sel = np.flatnonzero(piece[rest] == q)
        if good.size < 2:
            continue
        rq = rest[sel]
        j = np.clip(np.searchsorted(good, rq) - 1, 0, good.size - 2)
        left[sel], right[sel] = good[j], good[j + 1]
        inside[sel] = (rq > good[j]) & (rq < good[j + 1])
        # cubic (Lagrange) interpolation in the node index, a smooth parameter of every grid family (u is
        # not: m ~ sqrt(edge - x) at a square-root edge), through the two anchors on either side
        k = np.stack([good[np.clip(j + d, 0, good.size - 1)] for d in (-1, 0, 1, 2)])
        four = (j >= 1) & (j + 2 <= good.size - 1)
        k = np.where(four, k, np.stack([good[j], good[j], good[j + 1], good[j + 1]]))
        coef = _lagrange_weights(k.astype(float), rq.astype(float), four)
        # in 1/m where the path does not matter: smooth in the node index at an inverse-square-root edge too
        # (m ~ 1/(1 - t) at the top of the law of D^2, a single layer), where m itself fails the checks below
        # (tanh/orthogonal depth 1: 132 -> 86 nodes continued on their own)
        m0[sel] = 1.0 / np.sum(coef / m[k], axis=0) if inverse else np.sum(coef * m[k], axis=0)
        for i in range(sys.k):
            z0[i, sel] = np.sum(coef * zeta[i][k], axis=0)
    keep = inside & np.isfinite(m0)
    if np.any(keep):
        ri, m0, z0, left, right = rest[keep], m0[keep], z0[:, keep], left[keep], right[keep]
        B = np.zeros(ri.size, bool)
        p0 = m0.copy()
        _switch_modes(sys, p0, B, np.arange(ri.size))
        target = u[ri] + 0j
        pn, zn, cv, rn, ev = _newton(sys, p0, B, z0, target, maxit=20)
        mn = sys.m_of(pn, B)
        one_pm = sys.one_plus(1.0, pn, B)
        noise_m = _m_noise(sys, ev)
        close = np.abs(mn - m0) <= _INTERP_CLOSE * np.abs(m[right] - m[left]) + _JUMP_NOISE * noise_m
        # and x rho not collapsed to rounding level: below a soft edge the real solution of another sheet
        # (Im m ~ 0) lies within the anchors' spread of Re m (selu/orthogonal depth 10: x rho 2e-19 for 3e-5
        # at 20 nodes, mass off by 7e-6)
        close &= np.abs(mn.imag) >= _INTERP_IM_REL * np.abs(m0.imag) - _JUMP_NOISE * noise_m
        good = cv & close & _im_g_ok(one_pm, target, noise=noise_m) & np.isfinite(mn)
        if sys.k:
            good &= np.all(np.isfinite(zn), axis=0)
        m[ri[good]], ok[ri[good]], res[ri[good]], acc[ri[good]] = mn[good], True, rn[good], noise_m[good]
        sheet[ri[good]] = _winding(ev, target)[good]
        zeta[:, ri[good]] = zn[:, good]
        delta[ri[good]] = _delta(sys, pn, B)[good]
        rest = rest[~ok[rest]]
    if rest.size:
        vr = _solve_vertical(sys, u[rest])
        mr, okr, rr, fbr, accr = vr.m, vr.ok, vr.res, vr.fb, vr.acc
        m[rest], ok[rest], res[rest], fb[rest], acc[rest] = mr, okr, rr, fbr | True, accr
        sheet[rest], zeta[:, rest], delta[rest] = vr.sheet, vr.zeta, vr.delta
    return _RealSolution(m, ok, res, fb, acc, zeta, sheet, delta)
