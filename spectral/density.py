r"""Eigenvalue density of free products (the law of :math:`J J^T`): solver, edges, grids, quantiles.

Method
------
For a free product with :math:`S_J(y) = \prod_l S_l(s_l y)^{n_l}` the moment generating function
:math:`m = M(z)` solves the density equation (conventions in :mod:`spectral.laws`)

.. math::  \log z = \log(1+m) - \log m - \sum_l n_l \log S_l(s_l m), \qquad G = (1+m)/z,

which is used in this *log form* only: :math:`S_J` is never expanded into a polynomial, depth
:math:`10^4` costs what depth 1 costs, and :math:`z` itself may be far outside float range
(the solver works with :math:`\log z`).  Residuals are taken modulo :math:`2\pi i`.

*Explicit factors* (closed-form S: Marchenko–Pastur, Haar, Bernoulli D², dimension changes) enter
through :math:`\log S_l` and :math:`(\log S_l)'`.  *Implicit factors* (the law of :math:`D^2` of a
smooth activation, known through :math:`M_l` by quadrature) carry their own unknown
:math:`\zeta_l = M_l^{-1}(s_l m)`, with :math:`S_l(w) = (1+w)/(w\zeta_l)`; the block system
:math:`(m, \zeta_1, \dots)` is solved by Newton with the Schur complement (one scalar division per
point), so each iteration costs one quadrature evaluation of :math:`M_l`.

Branch selection (DESIGN.md §3): each point :math:`z = x + i\eta` starts at
:math:`\eta_0 = 10\lambda_{\max}` with :math:`m \approx m_1/z`, and :math:`\eta` is lowered
geometrically (adaptive step in :math:`\log\eta`, Euler predictor, damped Newton corrector); a step is
accepted only if Newton converged, :math:`\operatorname{Im} G \le 0` and the corrector stayed close to the
predictor (continuity); otherwise the step is halved.  A last step goes to the real axis
(:math:`\eta = 0`, the boundary value :math:`M(x + i0)`).  Points that cannot be certified are
returned as NaN and listed in the diagnostics — never silently wrong.

Support edges are the real critical points :math:`d\log z/dm = 0` reached from the physical real
branches (:math:`m \in (0,\infty)` from :math:`z = +\infty` for the top edge; from :math:`m = 0^-`
through :math:`m = -(1 - w_0)`, :math:`w_0` the atom at 0, for a gap above 0).

Mass bookkeeping uses :math:`x\rho(x) = -\operatorname{Im} m(x + i0)/\pi`: the quadrature in
:math:`u = \log x` near 0 (where the density of a product diverges like a power of x) never forms x,
so the power-law tail below any float (depth 256 ReLU has mass 0.07 below :math:`10^{-300}`) is
integrated exactly; grids are Gauss–Legendre in :math:`s` with :math:`x = b - (b-c)s^2` near the top
edge and cosine-mapped (spectrally accurate for square-root edges) for gapped supports.

References: J. Pennington, S. Schoenholz, S. Ganguli, NeurIPS 2017 and AISTATS 2018 (density
equation for deep Jacobians); S. T. Belinschi, *The atoms of the free multiplicative convolution of
two probability distributions*, Integral Equations Operator Theory 46 (2003).
"""

from __future__ import annotations

import math
import warnings
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "ExplicitFactor",
    "ImplicitFactor",
    "FactorizedLaw",
    "MSolution",
    "DensityResult",
    "DensityMixin",
    "SingularValueLaw",
    "solve_m_transform",
    "density",
    "pdf",
    "cdf",
    "ppf",
    "support",
    "lambda_max",
    "singular_values",
    "edges",
]

_EPS = np.finfo(float).eps
_TWO_PI = 2.0 * math.pi


# ------------------------------------------------------------------------------------------ factors
@dataclass(frozen=True)
class ExplicitFactor:
    r"""A factor :math:`S(s y)^{n}` with closed-form :math:`\log S` and :math:`(\log S)'` (vectorized)."""

    log_s: Callable
    dlog_s: Callable
    multiplicity: float = 1.0
    scale: float = 1.0


@dataclass(frozen=True)
class ImplicitFactor:
    r"""A factor :math:`S(s y)^n` known through its moment transform :math:`M(\zeta)`, :math:`M'(\zeta)`.

    ``mean`` is :math:`m_1` of the factor; ``bounds`` the real interval holding its spectrum (the real
    singularities of ``m``), used to solve :math:`M(\zeta) = w` on the real line for the edges.
    """

    m: Callable
    dm: Callable
    mean: float
    bounds: tuple[float, float]
    multiplicity: float = 1.0
    scale: float = 1.0


@dataclass(frozen=True, eq=False)
class FactorizedLaw:
    """A free product given directly by factors (closed forms or callables), e.g. for tests.

    ``atoms``: exact (location, mass) pairs; ``moments12``: (m_1, m_2) from an independent source (used
    for the density diagnostics; computed from the S-transform at 0 when omitted and all factors are
    explicit).
    """

    factors: tuple
    atoms: tuple = ()
    name: str = "factorized"
    moments12: tuple | None = None

    def moments(self, k):
        if self.moments12 is None or k > 2:
            raise NotImplementedError("FactorizedLaw knows m_1, m_2 only (pass moments12)")
        return np.asarray(self.moments12[:k], dtype=float)


def _mult(x) -> float:
    try:
        return float(x)
    except TypeError as exc:  # sympy symbol etc.
        raise TypeError(f"the density solver needs numeric multiplicities, got {x!r}") from exc


def _factors(law) -> tuple:
    """Flatten a law into Explicit/Implicit factors (adapter to spectral.laws / spectral.product)."""
    if isinstance(law, FactorizedLaw):
        return tuple(law.factors)
    out = []

    def leaf(lw, n, s):
        if n == 0:
            return
        subs = getattr(lw, "factors", None)
        if subs is not None and not isinstance(lw, FactorizedLaw):
            for item in subs:
                sub, m = item[0], item[1]
                sc = item[2] if len(item) > 2 else 1
                leaf(sub, n * _mult(m), s * float(sc))
            return
        if getattr(lw, "closed_form_s", False):
            def log_s(y, lw=lw):
                return np.log(lw.s_transform(y))

            def dlog_s(y, lw=lw):
                return lw.s_transform_derivative(y) / lw.s_transform(y)

            out.append(ExplicitFactor(log_s, dlog_s, n, s))
            return
        out.append(ImplicitFactor(lw.m_transform, lw.m_transform_derivative, float(lw.mean),
                                  _implicit_bounds(lw), n, s))

    leaf(law, 1.0, 1.0)
    if not out:
        raise ValueError(f"{getattr(law, 'name', law)!r}: no factor with nonzero multiplicity")
    return tuple(out)


def _implicit_bounds(lw) -> tuple[float, float]:
    quad = getattr(lw, "_quadrature", None)
    if quad is not None:
        x = np.asarray(quad()[0], dtype=float)
        return float(x.min()), float(x.max())
    try:
        lo, hi = lw.support()
    except (NotImplementedError, TypeError, AttributeError) as exc:
        raise ValueError(f"{lw.name}: the density solver needs the support of an implicit factor") from exc
    return float(lo), float(hi)


def _law_atoms(law) -> tuple:
    atoms = getattr(law, "atoms", ())
    if callable(atoms):
        atoms = atoms()
    return tuple(sorted((float(a), float(p)) for a, p in atoms if float(p) > 0))


# ------------------------------------------------------------------------------------------ system
def _wrap(v):
    """Reduce the imaginary part of a log residual to (-pi, pi]."""
    im = v.imag - _TWO_PI * np.round(v.imag / _TWO_PI)
    return v.real + 1j * im


class _System:
    """Vectorized evaluation of the density equation in log form (normalised: z -> z / e^log_c)."""

    def __init__(self, factors, log_c=0.0):
        self.exp = [f for f in factors if isinstance(f, ExplicitFactor)]
        self.imp = [f for f in factors if isinstance(f, ImplicitFactor)]
        self.log_c = float(log_c)
        self.ntot = sum(abs(f.multiplicity) for f in factors)
        lm1 = 0.0
        for f in self.exp:
            lm1 -= f.multiplicity * float(np.real(f.log_s(np.zeros(1, complex))[0]))
        for f in self.imp:
            lm1 += f.multiplicity * math.log(f.mean)
        self.log_m1 = lm1  # log m_1 of the product (unnormalised)

    def with_log_c(self, log_c):
        new = object.__new__(_System)
        new.__dict__.update(self.__dict__)
        new.log_c = float(log_c)
        return new

    @property
    def k(self):
        return len(self.imp)

    def evaluate(self, m, zeta, target):
        """Residuals and Jacobian pieces at (m, zeta) for target log z (arrays of one shape)."""
        lp, lm = np.log(1.0 + m), np.log(m)
        logz = lp - lm - self.log_c
        noise = np.abs(lp) + np.abs(lm) + abs(self.log_c)
        a = 1.0 / (1.0 + m) - 1.0 / m
        for f in self.exp:
            w = f.scale * m
            ls = f.log_s(w)
            logz = logz - f.multiplicity * ls
            noise = noise + abs(f.multiplicity) * np.abs(ls)
            a = a - f.multiplicity * f.scale * f.dlog_s(w)
        fj, bj, cj = [], [], []
        for j, f in enumerate(self.imp):
            w = f.scale * m
            zj = zeta[j]
            ls = np.log(1.0 + w) - np.log(w) - np.log(zj)
            logz = logz - f.multiplicity * ls
            noise = noise + abs(f.multiplicity) * np.abs(ls)
            a = a - f.multiplicity * f.scale * (1.0 / (1.0 + w) - 1.0 / w)
            fj.append(f.m(zj) - w)
            bj.append(f.multiplicity / zj)
            cj.append(f.dm(zj))
        f0 = _wrap(logz - target)
        dred = a.copy()
        # attainable residual: rounding of the sums plus the conditioning |m dlogz/dm| (backward error)
        noise = noise + np.abs(m) * np.abs(a)
        for j, f in enumerate(self.imp):
            dred = dred + bj[j] * f.scale / cj[j]
            noise = noise + np.abs(zeta[j] * bj[j])
        return dict(f0=f0, fj=fj, a=a, bj=bj, cj=cj, dred=dred, logz=logz, noise=noise * _EPS)

    def merit(self, ev, m):
        r = np.abs(ev["f0"]) ** 2
        for j, f in enumerate(self.imp):
            r = r + np.abs(ev["fj"][j] / (np.abs(f.scale * m) + 1e-300)) ** 2
        return np.sqrt(r)

    def step(self, ev):
        num = -ev["f0"]
        for j in range(self.k):
            num = num + ev["bj"][j] * ev["fj"][j] / ev["cj"][j]
        dm = num / ev["dred"]
        dz = [(f.scale * dm - ev["fj"][j]) / ev["cj"][j] for j, f in enumerate(self.imp)]
        return dm, dz

    def init(self, logz):
        """Large-|z| start: m = m_1/z, zeta_j = mean_j/(s_j m)."""
        m = np.exp(self.log_m1 - self.log_c - logz)
        zeta = np.array([f.mean / (f.scale * m) for f in self.imp]).reshape(self.k, *m.shape)
        return m, zeta


def _take(ev, idx):
    out = {}
    for key, val in ev.items():
        out[key] = [v[idx] for v in val] if isinstance(val, list) else val[idx]
    return out


def _newton(sys, m, zeta, target, maxit=40):
    """Damped Newton (backtracking on the merit); returns m, zeta, converged, residual, dlogz/dm."""
    m = m.copy()
    zeta = zeta.copy()
    ev = sys.evaluate(m, zeta, target)
    res = sys.merit(ev, m)
    conv = np.zeros(m.shape, bool)
    dred = ev["dred"].copy()
    for _ in range(maxit):
        tol = 64 * ev["noise"] + 1e-14
        conv = np.isfinite(res) & (res <= tol)
        act = np.flatnonzero(~conv)
        if act.size == 0:
            break
        sub = _take(ev, act)
        dm, dz = sys.step(sub)
        m0, z0 = m[act], zeta[:, act]
        r0 = res[act]
        lam = np.ones(act.size)
        m_new, z_new = m0 + dm, z0 + np.array(dz).reshape(z0.shape)
        pending = np.arange(act.size)
        ev_new = sys.evaluate(m_new, z_new, target[act])
        r_new = sys.merit(ev_new, m_new)
        for _bt in range(12):
            bad = ~(np.isfinite(r_new[pending]) & (r_new[pending] < r0[pending] * (1 - 1e-4 * lam[pending])))
            pending = pending[bad]
            if pending.size == 0:
                break
            lam[pending] *= 0.5
            mp = m0[pending] + lam[pending] * dm[pending]
            zp = z0[:, pending] + lam[pending] * np.array(dz).reshape(z0.shape)[:, pending]
            evp = sys.evaluate(mp, zp, target[act][pending])
            m_new[pending], z_new[:, pending] = mp, zp
            r_new[pending] = sys.merit(evp, mp)
            for key in ev_new:
                if isinstance(ev_new[key], list):
                    for j in range(len(ev_new[key])):
                        ev_new[key][j][pending] = evp[key][j]
                else:
                    ev_new[key][pending] = evp[key]
        small = np.abs(dm) <= 8 * _EPS * (1 + np.abs(m0))
        m[act], zeta[:, act] = m_new, z_new
        res[act] = r_new
        for key in ev:
            if isinstance(ev[key], list):
                for j in range(len(ev[key])):
                    ev[key][j][act] = ev_new[key][j]
            else:
                ev[key][act] = ev_new[key]
        dred[act] = ev_new["dred"]
        stalled = act[small & np.isfinite(r_new) & (r_new <= 1e-9)]
        conv[stalled] = True
        if stalled.size == act.size:
            break
    tol = 64 * ev["noise"] + 1e-14
    conv = conv | (np.isfinite(res) & (res <= tol))
    return m, zeta, conv, res, dred


def _path_logz(u, sgn, le):
    """log(sgn e^u + i e^le), stable for any magnitudes (le = -inf: the real axis from above)."""
    u, sgn, le = np.broadcast_arrays(np.asarray(u, float), np.asarray(sgn, float), np.asarray(le, float))
    out = np.empty(u.shape, complex)
    zero = sgn == 0
    out[zero] = le[zero] + 0.5j * math.pi
    nz = ~zero
    d = le[nz] - u[nz]
    s = sgn[nz]
    with np.errstate(over="ignore"):
        big = d > 0
        r = np.empty(d.shape, complex)
        r[big] = le[nz][big] + np.log(s[big] * np.exp(-d[big]) + 1j)
        r[~big] = u[nz][~big] + np.log(s[~big] + 1j * np.exp(d[~big]))
    out[nz] = r
    return out


def _im_g_ok(m, logz, tol=1e-10):
    """Certificate Im G <= 0 with G = (1+m)/z, tested as Im((1+m) e^{-i arg z}) <= tol |1+m|."""
    v = (1.0 + m) * np.exp(-1j * logz.imag)
    return v.imag <= tol * np.abs(1.0 + m) + 1e-300


def _continue(sys, u, sgn, le_target, le0, real_axis, max_steps=4000, stats=None):
    """Continuation from eta = e^le0 down to e^le_target (then eta = 0 where real_axis)."""
    n = u.size
    logz = _path_logz(u, sgn, np.full(n, le0))
    m, zeta = sys.init(logz)
    m, zeta, conv, res, dred = _newton(sys, m, zeta, logz)
    ok0 = conv & (np.abs(m * np.exp(logz + sys.log_c - sys.log_m1) - 1) < 0.5)
    le = np.full(n, float(le0))
    h = np.full(n, math.log(4.0))
    done = ~ok0
    failed = ~ok0
    fallback = np.zeros(n, bool)
    final = np.zeros(n, bool)   # reached eta = 0
    steps = 0
    while True:
        act = np.flatnonzero(~done)
        if act.size == 0 or steps > max_steps:
            failed[act] = True
            break
        steps += 1
        at_target = le[act] <= le_target[act]
        le_new = np.maximum(le[act] - h[act], le_target[act])
        le_new = np.where(at_target & real_axis[act], -np.inf, le_new)
        lz_old = _path_logz(u[act], sgn[act], le[act])
        lz_new = _path_logz(u[act], sgn[act], le_new)
        # Euler predictor in (log m, log zeta): exact for m ~ m_1/z at large |z|
        ma = m[act]
        with np.errstate(all="ignore"):
            dlm = (lz_new - lz_old) / (dred[act] * ma)
            mp = ma * np.exp(dlm)
            dm = mp - ma
            cj = sys.evaluate(ma, zeta[:, act], lz_old)["cj"] if sys.k else []
            zp = np.array([zeta[j, act] * np.exp(f.scale * ma * dlm / (cj[j] * zeta[j, act]))
                           for j, f in enumerate(sys.imp)]).reshape(sys.k, act.size)
        mp = np.where(np.isfinite(mp), mp, ma)
        mn, zn, cv, rs, dr = _newton(sys, mp, zp, lz_new, maxit=12)
        jump = np.abs(mn - mp) <= 0.3 * np.abs(dm) + 1e-9 * (1 + np.abs(m[act]))
        good = cv & jump & _im_g_ok(mn, lz_new) & np.isfinite(mn) & (rs <= 1e-6)
        if sys.k:
            good &= np.all(np.isfinite(zn), axis=0)
        if stats is not None:
            stats["steps"] = stats.get("steps", 0) + 1
            stats["rejected"] = stats.get("rejected", 0) + int(np.sum(~good))
        ia = act[good]
        m[ia], zeta[:, ia], dred[ia], res[ia] = mn[good], zn[:, good], dr[good], rs[good]
        was_final = np.isneginf(le_new)
        final[ia] = was_final[good]
        le[ia] = np.where(was_final[good], le[ia], le_new[good])
        h[ia] = np.minimum(h[ia] * 1.6, 2.0)
        done[ia[was_final[good] | (~real_axis[ia] & (le[ia] <= le_target[ia]))]] = True
        ib = act[~good]
        h[ib] *= 0.25
        fallback[ib] = True
        # a point that cannot reach eta = 0 keeps its tiny-eta value (flagged as fallback)
        give_up_real = ib[(h[ib] < 1e-3) & (le[ib] <= le_target[ib])]
        done[give_up_real] = True
        dead = ib[(h[ib] < 1e-7)]
        failed[dead] = True
        done[dead] = True
    return m, zeta, ~failed, res, fallback, final


# ------------------------------------------------------------------------------------------ edges
def _zeta_real(f: ImplicitFactor, w):
    """Real solution zeta of M(zeta) = w (w real array) outside the factor's spectrum, by bisection."""
    lo_b, hi_b = f.bounds
    w = np.asarray(w, float)
    pos = w > 0
    t_lo = np.full(w.shape, -700.0)
    t_hi = np.full(w.shape, 700.0)
    # zeta = hi + e^t (w > 0) or lo - e^t (w < 0); M decreasing in zeta on each side
    for _ in range(110):
        t = 0.5 * (t_lo + t_hi)
        with np.errstate(over="ignore"):
            z = np.where(pos, hi_b + np.exp(t), lo_b - np.exp(t))
        mv = np.real(f.m(z.astype(complex)))
        # w>0: M decreases as t grows; w<0: M increases (towards 0-) as t grows
        go_up = np.where(pos, mv > w, mv < w)
        t_lo = np.where(go_up, t, t_lo)
        t_hi = np.where(go_up, t_hi, t)
    t = 0.5 * (t_lo + t_hi)
    return np.where(pos, hi_b + np.exp(t), lo_b - np.exp(t))


def _real_eval(sys, m):
    """(log z, dlogz/dm) on real m (real parts), solving the implicit factors on the real line."""
    m = np.asarray(m, float)
    zeta = np.array([_zeta_real(f, f.scale * m) for f in sys.imp]).reshape(sys.k, *m.shape)
    with np.errstate(all="ignore"):
        ev = sys.evaluate(m.astype(complex), zeta.astype(complex), np.zeros(m.shape, complex))
    return ev["logz"], np.real(ev["dred"])


def _first_critical(sys, m_grid):
    """First sign change of dlogz/dm from negative along m_grid, refined by bisection; or None."""
    _, g = _real_eval(sys, m_grid)
    ok = np.isfinite(g)
    bad = np.flatnonzero((g >= 0) | ~ok)
    if bad.size == 0 or bad[0] == 0:
        return None, bad.size == 0
    i = bad[0]
    if not ok[i]:
        return None, False
    a, b = m_grid[i - 1], m_grid[i]
    for _ in range(4):
        sub = np.linspace(a, b, 65)
        _, gs = _real_eval(sys, sub)
        j = np.flatnonzero(gs >= 0)
        j = j[0] if j.size else 64
        a, b = sub[max(j - 1, 0)], sub[j]
    return 0.5 * (a + b), True


@dataclass(frozen=True)
class _Edges:
    lo: float        # lower edge of the continuous part (0 when it reaches 0)
    hi: float        # upper edge of the continuous part
    log_hi: float
    lambda_max: float
    gap: bool        # continuous part bounded away from 0
    top_atom: bool   # the upper end is an atom, not a square-root edge
    w0: float        # atom at 0


_EDGE_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _cached(law, key, fn):
    try:
        store = _EDGE_CACHE.setdefault(law, {})
    except TypeError:
        return fn()
    if key not in store:
        store[key] = fn()
    return store[key]


def edges(law) -> _Edges:
    """Support edges of the continuous part from real critical points of z(m) on the physical sheet."""
    return _cached(law, "edges", lambda: _compute_edges(law))


def _compute_edges(law) -> _Edges:
    sys = _System(_factors(law))
    atoms = _law_atoms(law)
    w0 = sum(p for a, p in atoms if a == 0.0)
    # top: m from 0+ upward (z from +inf down)
    mg = np.logspace(-14, 14, 561)
    mc, _ = _first_critical(sys, mg)
    top_atom = False
    if mc is None:
        lz, _ = _real_eval(sys, mg[-1:])
        log_hi = float(np.real(lz[0]))
        top_atom = True
    else:
        lz, _ = _real_eval(sys, np.array([mc]))
        log_hi = float(np.real(lz[0]))
    # gap above 0: z(m) must be analytic with z' != 0 at m0 = -(1 - w0)
    m0 = -(1.0 - w0)
    gap = False
    lo = 0.0
    if m0 < 0:
        dl = np.array([1e-5, 1e-7]) * abs(m0)
        lz, g = _real_eval(sys, m0 - dl)
        with np.errstate(all="ignore"):
            positive = np.all(np.abs(np.imag(_wrap(lz))) < 1e-6)
            r = np.real(lz) - np.log(dl)  # log(z / delta)
        if positive and np.all(np.isfinite(r)) and abs(r[0] - r[1]) < 0.05:
            grid = m0 - np.abs(m0) * np.logspace(-7, 12, 381)
            mc_lo, _ = _first_critical(sys, grid)
            if mc_lo is not None:
                lzl, _ = _real_eval(sys, np.array([mc_lo]))
                lo = float(np.exp(np.real(lzl[0])))
                gap = lo > 0
    hi = math.exp(min(log_hi, 709.0))
    lam = max([hi] + [a for a, _ in atoms])
    return _Edges(lo, hi, log_hi, lam, gap, top_atom, w0)


def support(law):
    """(lo, hi) of the continuous part of the law (None if it has none)."""
    if _continuous_mass(law) <= 1e-15:
        return None
    e = edges(law)
    return (e.lo, e.hi)


def lambda_max(law) -> float:
    """Largest point of the spectrum: the upper edge or the largest atom."""
    return edges(law).lambda_max


def _continuous_mass(law) -> float:
    return 1.0 - sum(p for _, p in _law_atoms(law))


# ------------------------------------------------------------------------------------------ solver
@dataclass(frozen=True)
class MSolution:
    """Result of :func:`solve_m_transform`: m = M(z) with its certificate.

    ``certified``: Newton converged, Im G <= 0 and continuity held along the whole path;
    ``fallback``: some continuation step had to be refined; ``residual``: final merit
    (|relative residual of z| combined with the implicit-factor residuals); ``on_axis``: the point
    was solved on the real axis itself (eta = 0) rather than at a tiny eta.
    """

    z: np.ndarray
    m: np.ndarray
    certified: np.ndarray
    fallback: np.ndarray
    residual: np.ndarray
    on_axis: np.ndarray


def _solve_log(law, u, sgn, le_target, real_axis, sys=None):
    """Solve on z = sgn e^u + i e^le_target (normalised by lambda_max), vectorized."""
    if sys is None:
        e = edges(law)
        sys = _System(_factors(law), e.log_hi)
    le0 = math.log(10.0) + max(0.0, float(np.max(np.where(sgn != 0, u, -np.inf), initial=0.0)))
    return _continue(sys, u, sgn, le_target, le0, real_axis)


def solve_m_transform(law, z, *, full_output=False, rtol_eta=1e-10):
    r"""Solve :math:`z = (1+m)/(m S_J(m))` for :math:`m = M(z)` on the physical branch (vectorized).

    ``law``: a free product (``FreeProduct``/``JacobianLaw``), any ``SpectralLaw`` with an
    S-transform, or a :class:`FactorizedLaw`.  ``z``: complex array; real z gives the boundary value
    :math:`M(x + i0)`; :math:`\operatorname{Im} z < 0` uses :math:`M(\bar z) = \overline{M(z)}`.
    Points that cannot be certified are NaN (with a ``RuntimeWarning``); ``full_output=True``
    returns an :class:`MSolution` with the certificate arrays.
    """
    z = np.asarray(z, dtype=complex)
    shape = z.shape
    zf = z.ravel()
    lower = zf.imag < 0
    zz = np.where(lower, np.conj(zf), zf)
    e = edges(law)
    sys = _System(_factors(law), e.log_hi)
    c = math.exp(min(e.log_hi, 709.0))
    x, eta = zz.real / c, zz.imag / c
    with np.errstate(divide="ignore"):
        u = np.log(np.abs(x))
        le_t = np.log(eta)
    sgn = np.sign(x)
    real_axis = eta == 0
    le_target = np.where(real_axis, np.log(np.maximum(np.abs(x), 1e-300)) + math.log(rtol_eta), le_t)
    m, _, ok, res, fb, fin = _solve_log(law, u, sgn, le_target, real_axis, sys)
    m = np.where(lower, np.conj(m), m)
    out = np.where(ok, m, np.nan + 0j)
    if not np.all(ok):
        warnings.warn(f"{getattr(law, 'name', 'law')}: {int(np.sum(~ok))} point(s) of M(z) could not be "
                      "certified (returned as NaN)", RuntimeWarning, stacklevel=2)
    if full_output:
        return MSolution(zf.reshape(shape), out.reshape(shape), ok.reshape(shape), fb.reshape(shape),
                         res.reshape(shape), (fin | ~real_axis).reshape(shape))
    return out.reshape(shape)


# ------------------------------------------------------------------------------------------ density
@dataclass(frozen=True)
class DensityResult:
    """Eigenvalue density of a law on an adaptive grid.

    Fields: ``x`` (grid, ascending; points below the float range are used in the mass bookkeeping
    but not listed), ``density`` (continuous part rho(x), NaN where not certified), ``atoms``
    ((location, mass) pairs, exact from the law), ``support`` ((lo, hi) of the continuous part or
    None), ``lambda_max``, ``mass`` (integrated continuous mass + atom masses), ``diagnostics``
    (dict: ``continuous_mass``, ``atom_mass``, ``tail_mass`` (mass below the smallest listed x),
    ``m1``/``m2`` from the density and ``m1_series``/``m2_series`` with relative errors
    ``m1_rel_err``/``m2_rel_err``, ``worst_residual``, ``uncertified`` and ``fallback`` (indices
    into ``x``), ``gap``, ``top_atom``, ``method``), ``law`` (name) and ``points`` (requested).
    """

    x: np.ndarray
    density: np.ndarray
    atoms: tuple
    support: tuple | None
    lambda_max: float
    mass: float
    diagnostics: dict = field(default_factory=dict)
    law: str = ""
    points: int = 0
    _cum: np.ndarray | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict:
        """JSON-able dict with the CLI keys x, density, atoms, support, lambda_max, mass, diagnostics."""
        diag = {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in self.diagnostics.items()}
        return {
            "x": self.x.tolist(),
            "density": self.density.tolist(),
            "atoms": [[float(a), float(p)] for a, p in self.atoms],
            "support": None if self.support is None else [float(self.support[0]), float(self.support[1])],
            "lambda_max": float(self.lambda_max),
            "mass": float(self.mass),
            "diagnostics": diag,
        }


def _gl(n, a, b):
    t, w = np.polynomial.legendre.leggauss(n)
    return 0.5 * (b - a) * t + 0.5 * (b + a), 0.5 * (b - a) * w


def _series_m12(law):
    try:
        lm = getattr(law, "log_moments", None)
        if lm is not None and not isinstance(law, FactorizedLaw):
            v = np.asarray(lm(2), float)
            return float(np.exp(v[0])), float(np.exp(v[1])), v
        m = np.asarray(law.moments(2), float)
        return float(m[0]), float(m[1]), np.log(m)
    except (NotImplementedError, AttributeError, ValueError):
        return math.nan, math.nan, np.array([math.nan, math.nan])


def density(law, points=2000, *, tail_tol=1e-12):
    """Density of the continuous part on an adaptive grid, with atoms and diagnostics.

    Grid: for a support [a, b] with a > 0, x = a + (b-a)(1 - cos(pi t))/2 at midpoints t (spectrally
    accurate mass for square-root edges); for a support reaching 0, Gauss–Legendre in s with
    x = b - (b - c)s^2 on [c, b] (c = b/20), Gauss–Legendre in u = log x on [log c - 40, log c], and
    a tail in u down to where the remaining mass is below ``tail_tol`` (quadrature of
    x rho(x) = -Im M(x+i0)/pi, exact at any depth).  Returns a :class:`DensityResult`.
    """
    points = int(points)
    if points < 16:
        raise ValueError(f"points must be >= 16, got {points}")
    return _cached(law, ("density", points, tail_tol), lambda: _density(law, points, tail_tol))


def _density(law, points, tail_tol):
    atoms = _law_atoms(law)
    cmass_exact = _continuous_mass(law)
    m1s, m2s, logm = _series_m12(law)
    name = getattr(law, "name", "")
    atom_mass = sum(p for _, p in atoms)
    a1 = sum(a * p for a, p in atoms)
    a2 = sum(a * a * p for a, p in atoms)
    if cmass_exact <= 1e-15:
        e_lam = max(a for a, _ in atoms)
        diag = dict(continuous_mass=0.0, atom_mass=atom_mass, tail_mass=0.0, m1=a1, m2=a2,
                    m1_series=m1s, m2_series=m2s, m1_rel_err=abs(a1 / m1s - 1) if m1s else math.nan,
                    m2_rel_err=abs(a2 / m2s - 1) if m2s else math.nan, worst_residual=0.0,
                    uncertified=np.array([], int), fallback=np.array([], int), gap=False, top_atom=True,
                    method="atoms only")
        return DensityResult(np.array([]), np.array([]), atoms, None, e_lam, atom_mass, diag, name, points,
                             np.array([]))
    e = edges(law)
    sys = _System(_factors(law), e.log_hi)
    # nodes: u = log(x / lambda_hi) and weights wv with  mass = sum wv * (x rho),  x rho = -Im m / pi
    if e.gap:
        a = e.lo / e.hi
        t = (np.arange(points) + 0.5) / points
        xs = a + (1.0 - a) * 0.5 * (1 - np.cos(math.pi * t))
        u = np.log(xs)
        wv = (1.0 - a) * 0.5 * math.pi * np.sin(math.pi * t) / points / xs
        method = "cosine map on [lo, hi] (midpoint rule)"
    else:
        c = 1.0 / 20.0
        nb = int(0.62 * points)
        s, ws = _gl(nb, 0.0, 1.0)
        xb = 1.0 - (1.0 - c) * s**2
        ua, wa = _gl(points - nb, math.log(c) - 40.0, math.log(c))
        u = np.concatenate([ua, np.log(xb)])
        wv = np.concatenate([wa, 2 * (1.0 - c) * s * ws / xb])
        method = "Gauss-Legendre in log x near 0, x = b - (b - c) s^2 to the top edge, tail in log x"
    m, _, ok, res, fb, _ = _continue(sys, u, np.ones(u.size), u + math.log(1e-10), math.log(10.0),
                                     np.ones(u.size, bool))
    xrho = -np.imag(m) / math.pi
    remainder = 0.0
    tail_info = {}
    if not e.gap:
        k0 = int(np.argmin(u))
        k1 = int(np.argsort(u)[5])
        with np.errstate(divide="ignore", invalid="ignore"):
            beta = math.log(xrho[k1] / xrho[k0]) / (u[k1] - u[k0])
        if not (np.isfinite(beta) and beta > 0):
            beta = 1.0 / (1.0 + sys.ntot)
        beta = min(beta, 1.0)
        est = xrho[k0] / beta
        if est > tail_tol:
            T = math.log(est / tail_tol) + 4.0
            nt = max(64, points // 8)
            tt, wt = _gl(nt, 0.0, T)
            ut = u[k0] - tt / beta
            mt, _, okt, rest, fbt, _ = _continue(sys, ut, np.ones(nt), ut + math.log(1e-10), math.log(10.0),
                                                 np.ones(nt, bool))
            xrt = -np.imag(mt) / math.pi
            with np.errstate(divide="ignore", invalid="ignore"):
                b_end = math.log(xrt[-2] / xrt[-1]) / (ut[-2] - ut[-1])
            if not (np.isfinite(b_end) and b_end > 0):
                b_end = beta
            remainder = float(xrt[-1] / b_end) if np.isfinite(xrt[-1]) else math.nan
            u = np.concatenate([ut, u])
            wv = np.concatenate([wt / beta, wv])
            m = np.concatenate([mt, m])
            xrho = np.concatenate([xrt, xrho])
            ok, res, fb = np.concatenate([okt, ok]), np.concatenate([rest, res]), np.concatenate([fbt, fb])
            tail_info = dict(tail_exponent=beta, tail_exponent_end=b_end, tail_remainder=remainder,
                             tail_uncertified=int(np.sum(~okt)), tail_log_x_min=float(ut[-1] + e.log_hi))
    order = np.argsort(u)
    u, wv, xrho, ok, res, fb = u[order], wv[order], xrho[order], ok[order], res[order], fb[order]
    contrib = np.where(ok, wv * xrho, 0.0)
    cum = remainder + np.cumsum(contrib) - 0.5 * contrib
    cmass = remainder + float(np.sum(contrib))
    with np.errstate(under="ignore", over="ignore"):
        xs = np.exp(u)
    scale = math.exp(min(e.log_hi, 709.0))
    cm1 = float(np.sum(contrib * xs)) * scale
    cm2 = float(np.sum(contrib * xs * xs)) * scale**2
    listed = xs * scale > 0
    x_out = xs[listed] * scale
    with np.errstate(divide="ignore", invalid="ignore"):
        r_out = np.where(ok[listed], xrho[listed] / xs[listed] / scale, np.nan)
    tail_mass = float(cum[listed][0] - 0.5 * contrib[listed][0]) if np.any(listed) else cmass
    total = cmass + atom_mass
    m1d, m2d = cm1 + a1, cm2 + a2
    res_ok = res[ok]
    diag = dict(
        continuous_mass=cmass, continuous_mass_exact=cmass_exact, atom_mass=atom_mass, tail_mass=tail_mass,
        mass_error=abs(total - 1.0), m1=m1d, m2=m2d, m1_series=m1s, m2_series=m2s,
        m1_rel_err=abs(m1d / m1s - 1.0) if m1s == m1s else math.nan,
        m2_rel_err=abs(m2d / m2s - 1.0) if m2s == m2s else math.nan,
        worst_residual=float(np.max(res_ok)) if res_ok.size else math.nan,
        uncertified=np.flatnonzero(~ok[listed]), n_uncertified_total=int(np.sum(~ok)),
        fallback=np.flatnonzero(fb[listed]), gap=e.gap, top_atom=e.top_atom, method=method,
        edges=(e.lo, e.hi), nodes=int(u.size), **tail_info,
    )
    if not np.all(ok):
        warnings.warn(f"{name}: {int(np.sum(~ok))} density point(s) could not be certified (NaN)",
                      RuntimeWarning, stacklevel=3)
    return DensityResult(x_out, r_out, atoms, (e.lo, e.hi), e.lambda_max, total, diag, name, points,
                         cum[listed])


# ------------------------------------------------------------------------------------------ pdf/cdf/ppf
def pdf(law, x):
    """Density of the continuous part at x (solved pointwise; 0 outside the support; atoms excluded)."""
    x = np.asarray(x, dtype=float)
    out = np.zeros(x.shape)
    pos = x > 0
    if np.any(pos):
        xp = x[pos]
        for a, _p in _law_atoms(law):
            xp = np.where(np.abs(xp - a) <= 1e-13 * max(abs(a), 1e-300), xp * (1 - 1e-11), xp)
        m = solve_m_transform(law, xp + 0j)
        out[pos] = -np.imag(m) / math.pi / xp
    return np.maximum(out, 0.0) if np.all(np.isfinite(out)) else out


def cdf(law, x, points=2000):
    """P(lambda <= x): continuous part integrated on the density grid (midpoint rule in the grid's own
    variable, monotone cubic interpolation between grid points, accuracy ~1e-7) plus every atom at
    a location <= x (right-continuous, as scipy.stats)."""
    from scipy.interpolate import PchipInterpolator

    res = density(law, points)
    x = np.asarray(x, dtype=float)
    out = np.zeros(x.shape)
    for a, p in res.atoms:
        out = out + np.where(x >= a, p, 0.0)
    if res.x.size:
        xs, cs = res.x, res._cum
        good = np.isfinite(cs)
        xs, cs = xs[good], np.maximum.accumulate(cs[good])
        cmass = res.diagnostics["continuous_mass"]
        lo_c, hi_c = res.diagnostics["edges"]
        xk = np.concatenate([[lo_c], xs, [hi_c]]) if lo_c < xs[0] else np.concatenate([xs, [hi_c]])
        ck = np.concatenate([[0.0 if lo_c == 0 and xs[0] > 0 and res.diagnostics["gap"] else cs[0] * 0],
                             cs, [cmass]]) if lo_c < xs[0] else np.concatenate([cs, [cmass]])
        if not res.diagnostics["gap"] and lo_c < xs[0]:
            ck[0] = 0.0
        xk, idx = np.unique(xk, return_index=True)
        ck = np.maximum.accumulate(ck[idx])
        f = PchipInterpolator(xk, ck, extrapolate=False)
        inside = (x > xk[0]) & (x < xk[-1])
        cc = np.where(x >= xk[-1], cmass, 0.0)
        cc[inside] = f(x[inside])
        below = (x > 0) & (x <= xk[0])
        cc[below] = ck[0] * (x[below] / xk[0]) if xk[0] > 0 else 0.0
        out = out + cc
    return np.clip(out, 0.0, 1.0)


def ppf(law, q, points=2000):
    """Generalised inverse of :func:`cdf`: inf{x : cdf(x) >= q}, q in [0, 1] (atoms give flat steps:
    every q in (F(a-), F(a)] maps to the atom location a)."""
    from scipy.optimize import brentq

    q = np.asarray(q, dtype=float)
    if np.any((q < 0) | (q > 1)):
        raise ValueError("ppf: q must lie in [0, 1]")
    lam = lambda_max(law)
    flat = q.ravel()
    out = np.empty(flat.shape)
    for i, qi in enumerate(flat):
        if qi <= float(cdf(law, 0.0, points)):
            out[i] = 0.0
            continue
        if qi >= 1.0 - 1e-15:
            out[i] = lam
            continue
        lo, hi = 0.0, lam * (1 + 1e-12)
        if float(cdf(law, hi, points)) < qi:
            out[i] = hi
            continue
        out[i] = brentq(lambda t, qi=qi: float(cdf(law, t, points)) - qi, lo, hi, xtol=1e-14 * lam)
        # snap onto an atom when q lies inside its jump
        for a, _p in _law_atoms(law):
            if abs(out[i] - a) <= 1e-9 * max(a, 1e-300):
                out[i] = a
    return out.reshape(q.shape)


# ------------------------------------------------------------------------------------------ singular values
@dataclass(frozen=True, eq=False)
class SingularValueLaw:
    """Law of the singular values s of J, s^2 = eigenvalue of J J^T: rho_s(s) = 2 s rho(s^2).

    Atoms sit at sqrt(location) with the same masses; cdf_s(s) = cdf(s^2); ppf_s(q) = sqrt(ppf(q)).
    """

    eig: object

    @property
    def atoms(self):
        return tuple((math.sqrt(a), p) for a, p in _law_atoms(self.eig))

    def support(self):
        sup = support(self.eig)
        return None if sup is None else (math.sqrt(sup[0]), math.sqrt(sup[1]))

    @property
    def lambda_max(self):
        return math.sqrt(lambda_max(self.eig))

    def density(self, points=2000):
        r = density(self.eig, points)
        s = np.sqrt(r.x)
        d = dict(r.diagnostics)
        d["variable"] = "singular value s, rho_s(s) = 2 s rho(s^2)"
        sup = None if r.support is None else (math.sqrt(r.support[0]), math.sqrt(r.support[1]))
        return DensityResult(s, 2 * s * r.density, self.atoms, sup, math.sqrt(r.lambda_max), r.mass, d,
                             r.law + " [singular values]", points, r._cum)

    def pdf(self, s):
        s = np.asarray(s, float)
        return 2 * s * pdf(self.eig, s * s)

    def cdf(self, s, points=2000):
        s = np.asarray(s, float)
        return cdf(self.eig, np.where(s > 0, s * s, 0.0), points)

    def ppf(self, q, points=2000):
        return np.sqrt(ppf(self.eig, q, points))


def singular_values(law) -> SingularValueLaw:
    """The law of the singular values of J for the law of J J^T."""
    return SingularValueLaw(law)


class DensityMixin:
    """Methods a spectral law gains from :mod:`spectral.density` (bind by inheritance)."""

    def density(self, points=2000, **kwargs):
        return density(self, points, **kwargs)

    def pdf(self, x):
        return pdf(self, x)

    def cdf(self, x):
        return cdf(self, x)

    def ppf(self, q):
        return ppf(self, q)

    @property
    def lambda_max(self):
        return lambda_max(self)

    def singular_values(self):
        return singular_values(self)
