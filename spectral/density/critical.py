"""Real critical points of log z(m): the candidates for the edges of the spectrum (docs/design.md §4.7, §5.3)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .factors import ImplicitFactor
from .threads import _quiet
from .tolerances import (
    _BISECTIONS,
    _DEGREE_ZERO,
    _EPS,
    _GUARD,
    _POLE_DISTANCE,
    _ROOT_REAL_RTOL,
    _ZETA_REAL_RESIDUAL,
    _ZETA_REAL_RTOL,
    _ZETA_REAL_STEPS,
)


@dataclass(frozen=True)
class _CriticalValues:
    """Real critical points ``m`` of log z(m) (inf: a finite limit z(m -> +-inf)) with ``logz`` = log z(m) there;
    ``top``: log z at the end of the physical branch m in (0, inf) from z = +inf, where known (None)."""

    m: np.ndarray
    logz: np.ndarray
    top: complex | None = None


@_quiet
def _zeta_real(f: ImplicitFactor, w, branch=None):
    """Real zeta with M(zeta) = w: Newton in the parameter t of zeta, safeguarded by the bracket of the
    root that each step narrows (M decreases on every real interval free of spectrum; a step leaving the
    bracket bisects it), to the rounding of t.

    ``branch``: None (outside the spectrum: zeta > hi for w > 0, zeta < lo for w < 0) or an interval
    (a, b) between two atoms of an atomic factor.  NaN where there is no solution.
    """
    w = np.asarray(w, float)
    if branch is None:
        lo_b, hi_b = f.bounds
        t_lo = np.full(w.shape, math.log(4 * _EPS * max(abs(lo_b), abs(hi_b), _GUARD)))
        t_hi = np.full(w.shape, 700.0)
        # zeta = hi + e^t for w > 0 (M decreases as t grows), lo - e^t for w < 0 (M increases towards 0-)
        sign = np.where(w > 0, 1.0, -1.0).ravel()

        def zeta_of(t, idx=slice(None)):
            with np.errstate(over="ignore"):
                return np.where(sign[idx] > 0, hi_b, lo_b) + sign[idx] * np.exp(t)

        def dzeta(t, idx):
            with np.errstate(over="ignore"):
                return sign[idx] * np.exp(t)

        # far from the spectrum M ~ m_1 / zeta: the root's t there is the start
        with np.errstate(all="ignore"):
            far = np.where(w > 0, f.mean / w - hi_b, lo_b - f.mean / w)
            t = np.log(np.where(far > 0, far, np.nan))
    else:
        a, b = branch
        t_lo = np.full(w.shape, -37.0)   # e^-37 ~ eps: never on top of the spectrum itself
        t_hi = np.full(w.shape, 37.0)

        sign = np.ones(w.size)  # M decreases as t grows

        def zeta_of(t, idx=None):
            with np.errstate(over="ignore"):
                return a + (b - a) / (1.0 + np.exp(-t))

        def dzeta(t, idx):
            with np.errstate(over="ignore"):
                s = 1.0 / (1.0 + np.exp(-t))
            return (b - a) * s * (1.0 - s)

        t = np.zeros(w.shape)
    t = np.where(np.isfinite(t) & (t > t_lo) & (t < t_hi), t, 0.5 * (t_lo + t_hi))
    act = np.flatnonzero(np.ones(w.shape, bool))  # the points not converged yet (each its own steps)
    t, t_lo, t_hi, w_f = t.ravel(), t_lo.ravel(), t_hi.ravel(), w.ravel()
    # the best point seen (least |M - w|): where the rounding of zeta, not of t, limits the residual (next to an
    # atom) the last step need not be it
    best_t, best_r = t.copy(), np.full(t.shape, np.inf)
    for _ in range(_ZETA_REAL_STEPS):
        ta, la, ha, wa = t[act], t_lo[act], t_hi[act], w_f[act]
        zc = zeta_of(ta, act).astype(complex)
        mv = np.real(f.m(zc))
        res = np.abs(mv - wa)
        better = res < best_r[act]
        best_t[act[better]], best_r[act[better]] = ta[better], res[better]
        up = sign[act] * (mv - wa) > 0  # the root lies above t
        la, ha = np.where(up, ta, la), np.where(up, ha, ta)
        with np.errstate(all="ignore"):
            t_new = ta - (mv - wa) / (np.real(f.dm(zc)) * dzeta(ta, act))
        t_new = np.where(np.isfinite(t_new) & (t_new > la) & (t_new < ha), t_new, 0.5 * (la + ha))
        # converged: M at the rounding of w, the step at the rounding of t, or the bracket down to it
        tol_t = 4 * _EPS * np.maximum(1.0, np.abs(ta))
        # (a non-finite M bisects: its point counts as above the root)
        done = (res <= _ZETA_REAL_RESIDUAL * np.abs(wa)) | (np.abs(t_new - ta) <= tol_t) | (ha - la <= tol_t)
        t[act], t_lo[act], t_hi[act] = t_new, la, ha
        act = act[~done]
        if not act.size:
            break
    z = zeta_of(best_t).reshape(w.shape)
    mv = np.real(f.m(z.astype(complex)))
    return np.where(np.abs(mv - w) <= _ZETA_REAL_RTOL * np.abs(w) + _GUARD, z, np.nan)


def _real_eval(sys, m, branches=None):
    """(log z complex, dlogz/dm) at real m in mode A, implicit factors solved on the real line."""
    m = np.asarray(m, float)
    branches = branches or [None] * sys.k
    zeta = np.array([_zeta_real(f, f.scale * m, br) for f, br in zip(sys.imp, branches, strict=True)]
                    ).reshape(sys.k, *m.shape)
    with np.errstate(all="ignore"):
        ev = sys.evaluate(m.astype(complex), np.zeros(m.shape, bool), zeta.astype(complex),
                          np.zeros(m.shape, complex))
    return ev["logz"], np.real(ev["dred"])


def _critical_linear(sys):
    """Real roots of dlogz/dm = e_0/m + sum_k e_k b_k/(1 + b_k m) (a polynomial of degree #b)."""
    P = np.polynomial.polynomial
    num = sys.e_m * np.array([1.0])
    for b in sys.b:
        num = P.polymul(num, [1.0, b])
    for k, (b, e) in enumerate(zip(sys.b, sys.e, strict=True)):
        other = np.array([0.0, e * b])
        for j, bj in enumerate(sys.b):
            if j != k:
                other = P.polymul(other, [1.0, bj])
        num = P.polyadd(num, other)
    num = np.trim_zeros(np.asarray(num, float), "b")
    if num.size < 2:
        return np.array([])
    r = P.polyroots(num)
    r = r[np.abs(r.imag) <= _ROOT_REAL_RTOL * np.maximum(1.0, np.abs(r))].real
    for _ in range(3):  # polish with Newton on the logarithmic derivative
        with np.errstate(all="ignore"):
            g = sys.e_m / r + np.sum(sys.e * sys.b / (1 + np.outer(r, sys.b)), axis=1)
            dg = -sys.e_m / r**2 - np.sum(sys.e * sys.b**2 / (1 + np.outer(r, sys.b)) ** 2, axis=1)
            step = np.where(np.isfinite(g / dg), g / dg, 0.0)
        r = r - step
    return r[(r != 0) & np.all(np.abs(1 + np.outer(r, sys.b)) > _POLE_DISTANCE, axis=1)]


def _branch_sets(sys):
    """Real branches of the implicit unknowns: outside the spectrum, and (one atomic factor) every gap."""
    sets = [[None] * sys.k]
    if sys.k == 1 and sys.imp[0].values is not None:
        v = sys.imp[0].values
        sets += [[(a, b)] for a, b in zip(v[:-1], v[1:], strict=True)]
    return sets


def _sign_changes(ok, slope) -> np.ndarray:
    """Grid cells [i, i + 1] where ``slope`` changes sign between two finite (``ok``) ends (a zero on the grid
    itself ends the cell before it: MP as an explicit factor, m_c = 1)."""
    sign = np.sign(slope)
    return np.flatnonzero(ok[:-1] & ok[1:] & ((sign[:-1] * sign[1:] <= 0) & (sign[:-1] != 0)))


def _bisect(slope_of, a, b, sa) -> np.ndarray:
    """Midpoints of the brackets [a, b] of sign changes of ``slope_of`` (vectorized; ``sa``: its values at a)
    after :data:`_BISECTIONS` halvings, fewer for a bracket where the slope stops being finite (that bracket
    stays as it was). All brackets are halved together, one evaluation of the slope per step."""
    a, b, sa = (np.array(v, dtype=float) for v in (a, b, sa))
    live = np.ones(a.shape, bool)
    for _ in range(_BISECTIONS):
        c = 0.5 * (a + b)
        sc = slope_of(c)
        live &= np.isfinite(sc)
        if not live.any():
            break
        same = live & (np.sign(sc) == np.sign(sa))
        a, sa = np.where(same, c, a), np.where(same, sc, sa)
        b = np.where(live & ~same, c, b)
    return 0.5 * (a + b)


def _finite_at_infinity(sys) -> bool:
    """z(m) has a finite limit at m = +-inf: its degree in m is 0 and no linear factor is constant."""
    degree = sys.e_m + float(np.sum(sys.e))
    return bool(abs(degree) < _DEGREE_ZERO and np.all(sys.b != 0))


def _limits_at_infinity(sys, ends, n) -> list:
    """(end, log z(m -> +-inf)) for the positive ends of an implicit factor's spectrum (or its atoms), which
    zeta tends to as m -> +-inf; ``n`` its multiplicity."""
    base = sys.const + np.sum(sys.e * np.log(sys.b.astype(complex)))
    return [(v, complex(base + n * math.log(v))) for v in ends if v > 0]


def _zeta_pieces(f: ImplicitFactor) -> list:
    """The real branches of zeta scanned for one implicit factor, the one above its spectrum first: above and
    below the spectrum in log distance to it, and (an atomic factor) every gap between consecutive points of
    {0} and its atoms in the logit of the position in the gap, which resolves both ends.

    The gap (0, lowest atom lo) holds the lower edge of n layers at zeta ~ lo/n (m near -1; leaky relu: 2
    alpha^2/n); a grid in lo - zeta puts it at large n into the one cell holding 0, where the bisection
    converges onto the pole of n/zeta (docs/design.md §4.7).
    """
    lo, hi = f.bounds
    span = max(hi - lo, abs(hi), _GUARD)
    mag = np.logspace(-13, 9, 2201)
    if f.values is None:
        return [hi + span * mag, lo - span * mag]
    v = tuple(f.values)
    if v[0] > 0:
        v, below = (0.0, *v), -span * mag
    else:
        below = lo - span * mag
    tt = np.linspace(-34.0, 34.0, 2201)
    return [hi + span * mag, below] + [a + (b - a) / (1 + np.exp(-tt)) for a, b in zip(v[:-1], v[1:], strict=True)]


def _critical_zeta_scan(sys):
    """One implicit factor: scan its real branches in zeta (m = M(zeta)/s explicit, no nested solves).

    Returns the critical points (m_c, log z(m_c)), plus the limits z(m -> +-inf) where zeta tends to an end
    of the factor's spectrum, and the top of the physical branch.
    """
    f = sys.imp[0]
    n, s = float(f.multiplicity), float(f.scale)
    lo, hi = f.bounds
    pieces = _zeta_pieces(f)

    def logz_and_slope(zeta):
        zc = zeta.astype(complex)
        m = np.real(f.m(zc)) / s
        dmz = np.real(f.dm(zc)) / s
        B = np.zeros(m.shape, bool)
        ev = sys.evaluate(m.astype(complex), B, zc[None, :], np.zeros(m.shape, complex))
        # d log z / d zeta along the branch: (partial_m log z) dm/dzeta + n / zeta
        return ev["logz"], np.real(ev["a"]) * dmz + n / zeta, m

    def slope_of(zeta):
        return logz_and_slope(zeta)[1]

    out_m, out_lz = [], []
    top = None
    for ip, zeta in enumerate(pieces):
        zeta = np.sort(zeta)
        lz, g, m = logz_and_slope(zeta)
        cells = _sign_changes(np.isfinite(g) & np.isfinite(lz), g)
        if not cells.size:
            continue
        lzc, _, mc = logz_and_slope(_bisect(slope_of, zeta[cells], zeta[cells + 1], g[cells]))
        out_m += [float(v) for v in mc]
        out_lz += [complex(v) for v in lzc]
        if ip == 0:  # outer branch zeta > hi, m from 0+: the last sign change met from zeta = inf
            top = complex(lzc[-1])
    if _finite_at_infinity(sys):
        for v, lz_inf in _limits_at_infinity(sys, f.values if f.values is not None else (lo, hi), n):
            out_m.append(np.inf)
            out_lz.append(lz_inf)
            if top is None and v == hi:
                top = lz_inf
    return _CriticalValues(np.array(out_m), np.array(out_lz, dtype=complex), top)


def _critical_scan(sys):
    """Real critical points of log z(m) by a scan of the real m-line (sign changes, bisection).

    Returns the critical points (m_c, log z(m_c)) over all real branches of the implicit unknowns.
    """
    mag = np.logspace(-12, 12, 1201)
    grids = [mag, -mag]
    sing = [sys.m0] + [-1.0 / b for b in sys.b if b != 0]
    for c in sing:
        grids += [c + abs(c) * mag[:600], c - abs(c) * mag[:600]]
    out_m, out_lz = [], []
    for br in _branch_sets(sys):

        def slope_of(c, br=br):
            return _real_eval(sys, c, br)[1]

        for g in grids:
            g = np.sort(g)
            _, d = _real_eval(sys, g, br)
            cells = _sign_changes(np.isfinite(d), d)
            if not cells.size:
                continue
            mc = _bisect(slope_of, g[cells], g[cells + 1], d[cells])
            lz, _ = _real_eval(sys, mc, br)
            out_m += [float(v) for v in mc]
            out_lz += [complex(v) for v in np.atleast_1d(lz)]
    # finite limits z(m -> +-inf), reached with zeta_j -> an atom of an atomic factor (non-square-root
    # edges, e.g. where Belinschi's atom mass is exactly 0)
    if _finite_at_infinity(sys) and sys.k == 1 and sys.imp[0].values is not None:
        for _v, lz_inf in _limits_at_infinity(sys, sys.imp[0].values, sys.imp[0].multiplicity):
            out_m.append(np.inf)
            out_lz.append(lz_inf)
    return _CriticalValues(np.array(out_m), np.array(out_lz, dtype=complex))


def _critical_linear_values(sys) -> _CriticalValues:
    """Linear factors only: the roots of :func:`_critical_linear` with log z there, and the finite limit
    z(m -> +-inf) where the degree of z(m) is 0."""
    top = None
    mc = _critical_linear(sys)
    lz = np.atleast_1d(_real_eval(sys, mc)[0]) if mc.size else np.array([], complex)
    pos = np.flatnonzero((mc > 0) & np.isfinite(lz))
    if pos.size:  # the physical branch m in (0, inf) from z = +inf stops at its first critical point
        top = complex(lz[pos[np.argmin(mc[pos])]])
    if _finite_at_infinity(sys):  # z(m) has a finite limit at m = +-inf
        lz_inf = sys.const + np.sum(sys.e * np.log(sys.b.astype(complex)))
        mc, lz = np.append(mc, np.inf), np.append(lz, lz_inf)
    return _CriticalValues(mc, lz, top)


def _critical_values(sys) -> _CriticalValues:
    """The real critical values of z(m), by the method that fits the factors: polynomial roots (linear factors
    only), a scan in zeta (one implicit factor), or a scan of the real m-line."""
    if sys.linear:
        return _critical_linear_values(sys)
    if sys.k == 1 and not sys.gen:
        return _critical_zeta_scan(sys)
    return _critical_scan(sys)
