r"""Eigenvalue density of free products (the law of :math:`J J^T`): solver, edges, grids, quantiles.

Method
------
For a free product with :math:`S_J(y) = \prod_l S_l(s_l y)^{n_l}` the moment generating function
:math:`m = M(z)` solves the density equation (conventions in :mod:`spectral.laws`)

.. math::  \log z = \log(1+m) - \log m - \sum_l n_l \log S_l(s_l m), \qquad G = (1+m)/z,

which is used in this *log form* only: :math:`S_J` is never expanded into a polynomial, depth
:math:`10^4` costs what depth 1 costs, and :math:`z` itself may be far outside float range
(the solver works with :math:`\log z`, normalised by the top of the spectrum).  Residuals are taken
modulo :math:`2\pi i`.

*Linear factors* (Marchenko–Pastur, Haar, Bernoulli :math:`D^2` of relu / hard-tanh / linear, dimension
changes) have :math:`S(y) = c\prod_k (1 + b_k y)^{e_k}`; all of them are merged into one table, so that

.. math:: \log z = C + e_0 \log m + \sum_k e_k \log(1 + b_k m) + \sum_j n_j \log\zeta_j

with a handful of distinct :math:`b_k` whatever the depth (the exponents carry the depth).
*Implicit factors* (the law of :math:`D^2` of a smooth activation, known through :math:`M_j`) carry
their own unknown :math:`\zeta_j = M_j^{-1}(s_j m)`, i.e. :math:`1 + M_j(\zeta_j) = 1 + s_j m`; the
block system is solved by Newton with the Schur complement (one scalar division per point).
*Generic explicit factors* (any other closed-form S) enter through :math:`\log S` and
:math:`(\log S)'`.

Precision near :math:`z = 0`.  As :math:`z \to 0`, :math:`m \to m_0 = -(1 - w_0)` (:math:`w_0`: the
atom at 0) and for a product of depth L the approach is a power, :math:`m - m_0 \propto
z^{1/\kappa}` (:math:`\kappa = L+1` for linear Gaussian networks).  In the variable m itself
:math:`m - m_0` would lose all its digits below :math:`10^{-16}`; the solver therefore switches, point by
point, to the unknown :math:`\delta = m - m_0` near :math:`m_0` and evaluates every linear factor as
:math:`(1 + b_k m_0) + b_k\delta` with the vanishing constants set to exactly 0.  The power-law
exponent :math:`\beta = 1/\kappa` of :math:`x\rho(x)` is exact for linear factors.

Branch selection (docs/design.md §4.3): each point :math:`z = x + i\eta` starts at
:math:`\eta_0 = 10\lambda_{\max}` with :math:`m \approx m_1/z`, and :math:`\eta` is lowered with an
adaptive step in :math:`\log\eta` (Euler predictor in the logarithm of the unknown, damped Newton
corrector); a step is accepted only if Newton converged, :math:`\operatorname{Im} G \le 0` and the
corrector stayed close to the predictor (continuity); otherwise the step is cut.  A last step goes to
the real axis (:math:`\eta = 0`, the boundary value :math:`M(x + i0)`).  Points that cannot be certified
are returned as NaN and listed in the diagnostics — never silently wrong.

Support.  Edges are real critical points :math:`d\log z/dm = 0` with real :math:`z > 0` (for linear
factors the roots of a polynomial of degree equal to the number of distinct :math:`b_k`; otherwise a
scan of the real m-line with :math:`\zeta_j` solved on the real axis), together with 0 and the atoms.
Each interval between consecutive break points is classified by solving the density at interior
points, so a spurious critical point (another sheet) can never invent or remove a band.

Mass bookkeeping uses :math:`x\rho(x) = -\operatorname{Im} m(x + i0)/\pi`.  On a band reaching 0 the
quadrature is in :math:`u = \log x` (Gauss–Legendre), continued by a tail :math:`u = u_0 - t/\beta` that
is never formed in x (depth-256 relu has mass 0.07 below :math:`10^{-300}`), with the power-law
remainder below the deepest node; towards the top edge :math:`x = b - (b-c)s^2` (Gauss–Legendre in s,
spectrally accurate for a square-root edge); bands away from 0 use the cosine map
:math:`x = a + (b-a)(1-\cos\pi t)/2` with the midpoint rule.

Atoms are exact, from the laws (``law.atoms``): Belinschi's rule for free products, ranks for
rectangular networks (see :mod:`spectral.product`).

Near isometry (:math:`q^* \to 0`) the law of :math:`D^2` concentrates at its mean and the spectrum narrows
below what the solver resolves; there the *point-mass limit* of :math:`D^2` is served (orthogonal weights:
one atom at :math:`m_1`; Gaussian: the scaled Fuss--Catalan law), certified against the law's own series
and with its distance stated (:func:`_density`).  A result that is not certified is still returned, with
``reason``, and every public entry (:func:`density`, :func:`pdf`, :func:`cdf`, :func:`ppf`) warns with
:class:`UncertifiedDensityWarning`.  The solver's numerical work runs under one BLAS thread
(:data:`SOLVER_BLAS_THREADS`, set here, not by the caller).

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
from threadpoolctl import ThreadpoolController

from .jsonout import jsonable

__all__ = [
    "LinearFactor",
    "ExplicitFactor",
    "ImplicitFactor",
    "FactorizedLaw",
    "MSolution",
    "DensityResult",
    "UncertifiedDensityWarning",
    "CERTIFICATE_TOL",
    "DensityMixin",
    "SingularValueLaw",
    "solve_m_transform",
    "density",
    "density_summary",
    "pdf",
    "cdf",
    "ppf",
    "support",
    "lambda_max",
    "singular_values",
    "edges",
]

_EPS = float(np.finfo(float).eps)
_TINY = float(np.finfo(float).smallest_subnormal)
_TWO_PI = 2.0 * math.pi

#: BLAS threads while the solver runs: its kernels are thousands of small complex matrix-vector products (the
#: D^2 contour quadrature), where waking a second thread costs more than the product (tanh/orthogonal depth
#: 16: 7.1 s CPU on 2 threads against 1.0 s on one).
SOLVER_BLAS_THREADS = 1
_THREADS: list = []  # the controller, made on first use (after the solver's own imports loaded their BLAS)


def _thread_policy(fn):
    """Run a public entry of the solver under :data:`SOLVER_BLAS_THREADS` BLAS threads (restored after)."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if not _THREADS:
            _THREADS.append(ThreadpoolController())
        with _THREADS[0].limit(limits=SOLVER_BLAS_THREADS, user_api="blas"):
            return fn(*args, **kwargs)

    return wrapper


# ------------------------------------------------------------------------------------------ factors
@dataclass(frozen=True)
class LinearFactor:
    r"""A factor :math:`S(s y)^n` with :math:`S(y) = c \prod_k (1 + b_k y)^{e_k}`.

    ``terms``: ((b_1, e_1), ...).  Marchenko–Pastur: ``c = 1/variance``, terms ((1, -1),) (ratio 1);
    Haar: ``c = 1/scale``, no terms; Bernoulli(p, v): ``c = 1/(v p)``, terms ((1, 1), (1/p, -1)).
    """

    c: float
    terms: tuple = ()
    multiplicity: float = 1.0
    scale: float = 1.0


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
    singularities of ``m``), used to solve :math:`M(\zeta) = w` on the real line for the edges;
    ``g1`` (optional) evaluates :math:`1 + M(\zeta) = \zeta G(\zeta)` without cancellation near
    :math:`\zeta = 0`; ``values`` (atomic factors) the atom locations, whose gaps hold further real
    branches of :math:`M^{-1}`; ``offset`` :math:`= m_2/m_1` of the factor, the constant term of
    :math:`\zeta = m_1/w + m_2/m_1 + O(w)` (used by the continuation predictor); ``noise`` (optional)
    the absolute rounding error of ``g1`` at :math:`\zeta` (a quadrature next to the spectrum sums large
    terms of both signs), added to the attainable accuracy of Newton; ``spread`` (optional) the relative
    variance :math:`m_2/m_1^2 - 1`, computed without the cancellation of ``offset / mean - 1``.
    """

    m: Callable
    dm: Callable
    mean: float
    bounds: tuple[float, float]
    multiplicity: float = 1.0
    scale: float = 1.0
    g1: Callable | None = None
    values: tuple | None = None
    offset: float = 0.0
    noise: Callable | None = None
    spread: float = math.nan


@dataclass(frozen=True, eq=False)
class FactorizedLaw:
    """A free product given directly by factors (closed forms or callables), e.g. for tests.

    ``atoms``: exact (location, mass) pairs; ``moments12``: (m_1, m_2) from an independent source (used
    for the density diagnostics).
    """

    factors: tuple
    atoms: tuple = ()
    name: str = "factorized"
    moments12: tuple | None = None

    def moments(self, k):
        """m_1..m_k for k <= 2 (from ``moments12``)."""
        if self.moments12 is None or k > 2:
            raise NotImplementedError("FactorizedLaw knows m_1, m_2 only (pass moments12)")
        return np.asarray(self.moments12[:k], dtype=float)


def _mult(x) -> float:
    try:
        return float(x)
    except TypeError as exc:  # sympy symbol etc.
        raise TypeError(f"the density solver needs numeric multiplicities, got {x!r}") from exc


def _linear_terms(lw):
    """(c, ((b, e), ...)) in floats when the law's S is a product of linear powers, else None."""
    hook = getattr(lw, "_s_linear_factors", None)
    if hook is None:
        return None
    from .series import FloatField

    try:
        lin = hook(FloatField())
    except (NotImplementedError, ValueError, TypeError):
        return None
    if lin is None:
        return None
    c, facs = lin
    return float(c), tuple((float(b), float(e)) for b, e in facs)


def _factors(law) -> tuple:
    """Flatten a law into Linear/Explicit/Implicit factors (adapter to spectral.laws / spectral.product)."""
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
        lin = _linear_terms(lw)
        if lin is not None:
            out.append(LinearFactor(lin[0], lin[1], n, s))
            return
        if getattr(lw, "closed_form_s", False):
            def log_s(y, lw=lw):
                return np.log(lw.s_transform(y))

            def dlog_s(y, lw=lw):
                return lw.s_transform_derivative(y) / lw.s_transform(y)

            out.append(ExplicitFactor(log_s, dlog_s, n, s))
            return
        out.append(_implicit_factor(lw, n, s))

    leaf(law, 1.0, 1.0)
    if not out:
        raise ValueError(f"{getattr(law, 'name', law)!r}: no factor with nonzero multiplicity")
    return tuple(out)


def _implicit_factor(lw, n, s) -> ImplicitFactor:
    atomic = getattr(lw, "_atomic", None)
    if atomic is None and hasattr(lw, "values") and hasattr(lw, "probs"):
        atomic = lw
    if atomic is not None:
        v, p = atomic._vp()
        keep = p > 0
        v, p = v[keep], p[keep]

        def g1(zeta, v=v, p=p):
            zz = zeta[..., None]
            return np.sum(p * zz / (zz - v), axis=-1)

        return ImplicitFactor(atomic.m_transform, atomic.m_transform_derivative, float(np.dot(p, v)),
                              (float(v.min()), float(v.max())), n, s, g1, tuple(sorted(float(x) for x in v)),
                              float(np.dot(p, v * v) / np.dot(p, v)),
                              spread=float(np.dot(p, (v - np.dot(p, v)) ** 2) / np.dot(p, v) ** 2))
    smooth = _smooth_d2(lw)
    if smooth is not None:
        return ImplicitFactor(smooth.m, smooth.dm, float(lw.mean), smooth.bounds, n, s, smooth.g1,
                              offset=smooth.offset, noise=smooth.noise, spread=smooth.spread)
    quad = getattr(lw, "_quadrature", None)
    if quad is not None:
        warnings.warn(f"{lw.name}: M(zeta) from a discrete quadrature law (no analytic expression of the "
                      "activation); densities next to the support of D^2 are approximate",
                      RuntimeWarning, stacklevel=4)
        x, w = (np.asarray(a, dtype=float) for a in quad())

        def g1(zeta, x=x, w=w):
            zz = zeta[..., None]
            return np.sum(w * zz / (zz - x), axis=-1)

        return ImplicitFactor(lw.m_transform, lw.m_transform_derivative, float(lw.mean),
                              (float(x.min()), float(x.max())), n, s, g1, offset=float(np.dot(w, x * x) / np.dot(w, x)))
    try:
        lo, hi = lw.support()
    except (NotImplementedError, TypeError, AttributeError) as exc:
        raise ValueError(f"{lw.name}: the density solver needs the support of an implicit factor") from exc
    return ImplicitFactor(lw.m_transform, lw.m_transform_derivative, float(lw.mean), (float(lo), float(hi)),
                          n, s)


class _SmoothD2:
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
    geometrically towards the critical point.  An even d is folded onto h > 0.  Accuracy ~1e-14
    (checked against mpmath in the tests).
    """

    def __init__(self, act, q):
        import sympy

        sym = sorted(act.expr.free_symbols, key=str)[0]
        zs = sympy.Symbol("zeta_h")
        e = act.expr.subs(sym, zs)
        fs = [sympy.lambdify(zs, sympy.diff(e, zs, k), modules=["numpy", "scipy"]) for k in (1, 2, 3)]
        rq = math.sqrt(q)
        t_max = math.sqrt(2 * 46.0)

        def ev(k, x):
            return np.asarray(fs[k](x), dtype=complex if np.iscomplexobj(x) else float) * np.ones_like(x)

        def dprime(x):
            return 2 * rq * ev(0, rq * x) * ev(1, rq * x)

        grid = np.linspace(-t_max, t_max, 4001)
        dg = ev(0, rq * grid) ** 2
        even = bool(np.max(np.abs(dg - dg[::-1])) <= 1e-13 * np.max(dg))
        scale_b = 0.25 * float(np.max(np.abs(dprime(grid)))) + 1e-300
        amp = min(0.3, 0.5 / rq)
        crit = _critical_points(dprime, grid)
        # d varies on the scale 1/sqrt(q) in t: the panels of the deformed contour follow it (tanh at q = 4.2:
        # 6e-10 next to the spectrum with 0.5-wide panels)
        panel = _PANEL_WIDTH / max(1.0, rq)
        self.tiers = []
        for kind in ("real", "uniform", "graded"):
            if kind == "real":
                # the singularities of phi'(sqrt(q) h) come closer to the real h-axis as 1/sqrt(q): the plain
                # rule keeps its ~1e-14 accuracy with nodes in proportion (tanh at q = 0.82: 6e-11 with 192
                # nodes, 3e-14 with 256)
                t, w = _gl(int(math.ceil(_REAL_TIER_NODES * max(1.0, 2.0 * rq))), -t_max, t_max)
            elif kind == "graded":
                t, w = _graded_nodes(crit, t_max, even, panel=panel)
            else:
                # the deformation flips side at each critical point c of d within |t - c| ~ B / |d''(c)|
                # (0.04 for tanh at q = 4): panels there are graded down to a quarter of that width
                t, w = _graded_nodes(crit, t_max, even, panel=panel,
                                     levels=[_flip_levels(scale_b, ddc, panel) for ddc in _d2_at(ev, rq, q, crit)])
            f1, f2, f3 = ev(0, rq * t), ev(1, rq * t), ev(2, rq * t)
            d = f1**2
            if kind == "real":
                h, hp = t.astype(complex), np.ones(t.shape)
            else:
                dd = 2 * rq * f1 * f2                 # d'(t)
                ddd = 2 * q * (f2**2 + f1 * f3)       # d''(t)
                th = np.tanh(dd / scale_b)
                h = t - 1j * amp * th
                hp = 1 - 1j * amp * (1 - th**2) * ddd / scale_b
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
        if norm > 1e-10:
            raise ValueError(f"the quadrature for D^2 failed its normalisation check ({norm:.1e})")
        self.crit_values = np.array([float(np.real(ev(0, rq * np.array([c]))[0] ** 2)) for c in crit])
        hi = max([hi] + list(self.crit_values))  # the maximum of d sits at a critical point
        # the spectrum of D^2 reaches inf d, which is approached as |h| -> inf (beyond the nodes)
        tails = np.real(ev(0, rq * np.array([-t_max, t_max])) ** 2)
        if np.all(np.abs(np.real(ev(0, rq * np.array([-4 * t_max, 4 * t_max])) ** 2)) < tails):
            lo = 0.0 if np.all(np.abs(np.real(ev(0, rq * np.array([-1e3, 1e3])) ** 2)) < 1e-10 * hi) else lo
        self.bounds = (lo, hi)
        self.span = hi - lo
        self._last = (None, None)

    def _tier(self, z):
        lo, hi = self.bounds
        dist = np.where(z.real < lo, np.abs(z - lo), np.where(z.real > hi, np.abs(z - hi), np.abs(z.imag)))
        tier = np.where(dist < 0.15 * self.span, 1, 0)
        if self.crit_values.size:
            dc = np.min(np.abs(z[:, None] - self.crit_values[None, :]), axis=1)
            tier = np.where(dc < 0.1 * self.span, 2, tier)
        return tier

    def _eval(self, zeta):
        zeta = np.asarray(zeta, dtype=complex)
        key, val = self._last
        if key is not None and key.shape == zeta.shape and np.array_equal(key, zeta):
            return val
        shape = zeta.shape
        zf = zeta.ravel()
        g1 = np.empty(zf.shape, complex)
        mm = np.empty(zf.shape, complex)
        dm = np.empty(zf.shape, complex)
        err = np.empty(zf.shape)
        tier = self._tier(zf)
        for k, (d, w) in enumerate(self.tiers):
            sel = tier == k
            if not np.any(sel):
                continue
            r = 1.0 / (zf[sel, None] - d[None, :])
            wd = w * d
            g1[sel] = zf[sel] * (r @ w)
            mm[sel] = r @ wd
            dm[sel] = -((r * r) @ wd)
            err[sel] = 4 * _EPS * np.abs(zf[sel]) * (np.abs(r) @ np.abs(w))
        val = (g1.reshape(shape), mm.reshape(shape), dm.reshape(shape), err.reshape(shape))
        self._last = (zeta.copy(), val)
        return val

    def g1(self, zeta):
        return self._eval(zeta)[0]

    def m(self, zeta):
        return self._eval(zeta)[1]

    def dm(self, zeta):
        return self._eval(zeta)[2]

    def noise(self, zeta):
        return self._eval(zeta)[3]


def _critical_points(dprime, grid):
    """Zeros of d' on the grid (sign changes refined by bisection), plus 0 if d'(0) = 0."""
    g = dprime(grid)
    crit = [0.0] if abs(float(dprime(np.array([0.0]))[0])) < 1e-12 else []
    for i in np.flatnonzero(np.sign(g[:-1]) * np.sign(g[1:]) < 0):
        a, b = grid[i], grid[i + 1]
        sa = np.sign(dprime(np.array([a]))[0])
        for _ in range(60):
            c = 0.5 * (a + b)
            if np.sign(dprime(np.array([c]))[0]) == sa:
                a = c
            else:
                b = c
        crit.append(0.5 * (a + b))
    return sorted(set(round(c, 13) for c in crit))


#: Gauss–Legendre nodes of the plain rule for D^2 far from its spectrum (times 2 sqrt(q) when that is above 1).
_REAL_TIER_NODES = 192

#: Panels of the D^2 contour next to a critical point of d are refined by halving down to 2^-20 of 0.5 (the
#: graded tier: two poles pinch the contour there, their distance shrinking with that of zeta to the edge).
_GRADED_LEVELS = 20

#: Width in t of the Gauss–Legendre panels (16 nodes) of the deformed contour for q <= 1 (divided by sqrt(q)
#: above): the poles d(h) = zeta sit ~A = 0.3 off the contour, and a panel twice that wide keeps ~1e-14.
_PANEL_WIDTH = 0.5


def _d2_at(ev, rq, q, crit):
    """Second derivative of d(t) = phi'(sqrt(q) t)^2 at the critical points: 2 q (phi''^2 + phi' phi^(3))."""
    c = np.asarray(crit, float)
    return 2 * q * (ev(1, rq * c) ** 2 + ev(0, rq * c) * ev(2, rq * c)) if c.size else np.array([])


def _flip_levels(scale_b, ddc, panel):
    """Halvings of a panel down to a quarter of the width B / |d''(c)| over which the contour deformation
    -A tanh(d'/B) changes side at a critical point c (at most :data:`_GRADED_LEVELS`)."""
    width = scale_b / max(abs(float(ddc)), 1e-300)
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
    brk = brk[np.concatenate([[True], np.diff(brk) > 1e-15])]
    x, w = np.polynomial.legendre.leggauss(order)
    a, b = brk[:-1, None], brk[1:, None]
    return (0.5 * (b - a) * x + 0.5 * (b + a)).ravel(), (0.5 * (b - a) * w).ravel()


def _smooth_d2(lw):
    """A :class:`_SmoothD2` for a non-atomic DerivativeLaw whose activation is analytic, else None."""
    act = getattr(lw, "activation", None)
    q = getattr(lw, "q", None)
    if act is None or q is None or getattr(lw, "_atomic", None) is not None:
        return None
    expr = getattr(act, "expr", None)
    if expr is None or getattr(act, "kinks", ()) or expr.has(__import__("sympy").Piecewise):
        return None
    key = (getattr(act, "name", repr(act)), float(q))
    if key not in _SMOOTH_CACHE:
        try:
            _SMOOTH_CACHE[key] = _SmoothD2(act, float(q))
        except (ValueError, TypeError, NameError, AttributeError) as exc:
            warnings.warn(f"{lw.name}: analytic M(zeta) unavailable ({exc}); using the discrete quadrature",
                          RuntimeWarning, stacklevel=3)
            _SMOOTH_CACHE[key] = None
    return _SMOOTH_CACHE[key]


_SMOOTH_CACHE: dict = {}


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


def _merge_terms(pairs):
    """Merge (b, e) pairs with equal b (relative 1e-13); drop vanishing exponents."""
    out: list[list[float]] = []
    for b, e in pairs:
        for item in out:
            if abs(item[0] - b) <= 1e-13 * max(abs(b), abs(item[0])):
                item[1] += e
                break
        else:
            out.append([b, e])
    return [(b, e) for b, e in out if abs(e) > 1e-12]


class _System:
    r"""Vectorized evaluation of the density equation in log form (z normalised by :math:`e^{\log c}`).

    The unknown of a point is ``p``: m itself (mode A) or :math:`\delta = m - m_0` (mode B, ``B`` True).
    """

    def __init__(self, factors, w0=0.0, log_c=0.0):
        const, e_m = 0.0, -1.0
        pairs = [(1.0, 1.0)]
        self.gen, self.imp = [], []
        log_m1 = 0.0
        for f in factors:
            n, s = float(f.multiplicity), float(f.scale)
            if n == 0:
                continue
            if isinstance(f, LinearFactor):
                const -= n * math.log(f.c)
                pairs.extend((b * s, -n * e) for b, e in f.terms)
            elif isinstance(f, ExplicitFactor):
                self.gen.append(f)
                log_m1 -= n * float(np.real(f.log_s(np.zeros(1, complex))[0]))
            elif isinstance(f, ImplicitFactor):
                pairs.append((s, -n))
                e_m += n
                const += n * math.log(s)
                log_m1 += n * (math.log(f.mean) - math.log(s))
                self.imp.append(f)
            else:
                raise TypeError(f"unknown factor type {type(f).__name__}")
        terms = _merge_terms(pairs)
        self.b = np.array([t[0] for t in terms], dtype=float)
        self.e = np.array([t[1] for t in terms], dtype=float)
        self.const = const
        self.e_m = e_m
        self.log_m1 = log_m1 + const
        self.w0 = float(w0)
        self.m0 = -(1.0 - self.w0)
        r = 1.0 + self.b * self.m0
        self.singular = np.abs(r) <= 1e-12 * np.maximum(1.0, np.abs(self.b * self.m0))
        self.rB = np.where(self.singular, 0.0, r)
        self.log_c = float(log_c)
        self.ntot = float(sum(abs(float(f.multiplicity)) for f in factors))
        self.linear = not self.gen and not self.imp

    def with_log_c(self, log_c):
        new = object.__new__(_System)
        new.__dict__.update(self.__dict__)
        new.log_c = float(log_c)
        return new

    @property
    def k(self):
        return len(self.imp)

    @property
    def kappa(self):
        """Order of the zero of z(m) at m0 from the linear factors (0 when there is none)."""
        return float(np.sum(self.e[self.singular]))

    def one_plus(self, b, p, B):
        """1 + b m in the point's own variable (exact cancellation at m0 in mode B)."""
        r = 1.0 + b * self.m0
        if abs(r) <= 1e-12 * max(1.0, abs(b * self.m0)):
            r = 0.0
        return np.where(B, r, 1.0) + b * p

    def m_of(self, p, B):
        return np.where(B, self.m0 + p, p)

    def evaluate(self, p, B, zeta, target):
        """Residuals, derivatives and the attainable accuracy at (p, zeta) for target log z."""
        m = self.m_of(p, B)
        lm = np.log(m)
        logz = self.const - self.log_c + self.e_m * lm
        noise = abs(self.const) + abs(self.log_c) + abs(self.e_m) * (np.abs(lm) + 1.0) + np.abs(target)
        a = self.e_m / m
        for b, e, rb in zip(self.b, self.e, self.rB, strict=True):
            r = np.where(B, rb, 1.0)
            v = r + b * p
            lv = np.log(v)
            logz = logz + e * lv
            # rounding of log v and of v itself (relative error (|r| + |b p|) eps / |v|)
            noise = noise + abs(e) * (np.abs(lv) + (np.abs(r) + abs(b) * np.abs(p)) / np.abs(v))
            a = a + (e * b) / v
        for f in self.gen:
            n, s = float(f.multiplicity), float(f.scale)
            w = s * m
            ls = f.log_s(w)
            logz = logz - n * ls
            noise = noise + abs(n) * np.abs(ls)
            a = a - n * s * f.dlog_s(w)
        fj, bj, cj, sj = [], [], [], []
        dred = a.copy()
        cond = np.abs(p) * np.abs(a)
        for j, f in enumerate(self.imp):
            n, s = float(f.multiplicity), float(f.scale)
            zj = zeta[j]
            lzj = np.log(zj)
            logz = logz + n * lzj
            noise = noise + abs(n) * (np.abs(lzj) + 1.0)
            v = self.one_plus(s, p, B)
            g = f.g1(zj) if f.g1 is not None else 1.0 + f.m(zj)
            c = f.dm(zj)
            scale = np.minimum(np.abs(v), np.abs(s * m)) + 1e-300
            fj.append((g - v) / scale)
            bj.append(n / zj)
            cj.append(c / scale)
            sj.append(s / scale)
            dred = dred + (n / zj) * s / c
            noise = noise + abs(n) * (np.abs(g) + np.abs(v)) / scale
            if f.noise is not None:
                noise = noise + abs(n) * f.noise(zj) / (scale * _EPS)
        f0 = _wrap(logz - target)
        res = np.abs(f0) ** 2
        for fv in fj:
            res = res + np.abs(fv) ** 2
        return dict(f0=f0, fj=fj, a=a, bj=bj, cj=cj, sj=sj, dred=dred, logz=logz, m=m,
                    res=np.sqrt(res), noise=(noise + cond) * _EPS)

    def step(self, ev):
        """Newton step (dp, dzeta) by the Schur complement."""
        num = -ev["f0"]
        den = ev["a"].copy()
        for j in range(self.k):
            num = num + ev["bj"][j] * ev["fj"][j] / ev["cj"][j]
            den = den + ev["bj"][j] * ev["sj"][j] / ev["cj"][j]
        dp = num / den
        dz = [(ev["sj"][j] * dp - ev["fj"][j]) / ev["cj"][j] for j in range(self.k)]
        return dp, dz

    def init(self, logz):
        """Large-|z| start: m = m_1/z (mode A), zeta_j = mean_j/(s_j m)."""
        m = np.exp(self.log_m1 - self.log_c - logz)
        zeta = np.array([f.mean / (f.scale * m) for f in self.imp]).reshape(self.k, *m.shape)
        return m, zeta


def _quiet(fn):
    """Run a solver routine with floating-point warnings off (it checks finiteness itself)."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with np.errstate(all="ignore"):
            return fn(*args, **kwargs)

    return wrapper


@_quiet
def _newton(sys, p, B, zeta, target, maxit=40, max_halvings=10):
    """Damped Newton (backtracking on the residual); returns p, zeta, converged, residual, ev.

    A point whose residual does not decrease within ``max_halvings`` halvings of its step is left as it
    was and abandoned (not converged), unless that is the full budget of 10 halvings (then the last
    trial is kept and the stall test below decides).
    """
    p = p.copy()
    zeta = zeta.copy()
    ev = sys.evaluate(p, B, zeta, target)
    res = ev["res"]
    conv = np.isfinite(res) & (res <= 16 * ev["noise"] + 1e-14)
    dead = np.zeros(p.shape, bool)
    for _ in range(maxit):
        act = np.flatnonzero(~conv & ~dead)
        if act.size == 0:
            break
        sub = {k: ([v[act] for v in val] if isinstance(val, list) else val[act]) for k, val in ev.items()}
        dp, dz = sys.step(sub)
        dz = np.array(dz).reshape(sys.k, act.size)
        p0, z0, r0, b0, t0 = p[act], zeta[:, act], res[act], B[act], target[act]
        lam = np.ones(act.size)
        # the update is applied in log p and log zeta (same linearisation; log z is linear in log zeta and
        # nearly so in log p, so deep products converge in a few steps)
        rp, rz = dp / p0, dz / z0
        p_new, z_new = p0 * np.exp(rp), z0 * np.exp(rz)
        ev_new = sys.evaluate(p_new, b0, z_new, t0)
        r_new = ev_new["res"]
        pending = np.arange(act.size)
        for _bt in range(11):
            bad = ~(np.isfinite(r_new[pending]) & (r_new[pending] < r0[pending] * (1 - 1e-4 * lam[pending])))
            pending = pending[bad]
            if pending.size == 0 or _bt == 10:
                break
            if _bt == max_halvings:
                break
            lam[pending] *= 0.5
            pp = p0[pending] * np.exp(lam[pending] * rp[pending])
            zp = z0[:, pending] * np.exp(lam[pending] * rz[:, pending])
            evp = sys.evaluate(pp, b0[pending], zp, t0[pending])
            p_new[pending], z_new[:, pending] = pp, zp
            for key, val in ev_new.items():
                if isinstance(val, list):
                    for j in range(len(val)):
                        val[j][pending] = evp[key][j]
                else:
                    val[pending] = evp[key]
            r_new = ev_new["res"]
        small = np.abs(dp) * lam <= 4 * _EPS * np.abs(p0)
        if max_halvings < 10 and pending.size:
            # abandoned: keep the previous iterate (and its evaluation); the caller treats it as failed
            p_new[pending], z_new[:, pending] = p0[pending], z0[:, pending]
            for key, val in ev_new.items():
                if isinstance(val, list):
                    for j in range(len(val)):
                        val[j][pending] = ev[key][j][act[pending]]
                else:
                    val[pending] = ev[key][act[pending]]
            dead[act[pending]] = True
            small[pending] = False
        p[act], zeta[:, act] = p_new, z_new
        for key, val in ev.items():
            if isinstance(val, list):
                for j in range(len(val)):
                    val[j][act] = ev_new[key][j]
            else:
                val[act] = ev_new[key]
        res = ev["res"]
        conv = np.isfinite(res) & (res <= 16 * ev["noise"] + 1e-14)
        # stalled at the rounding level: accept if within 256 x the attainable accuracy
        stalled = act[small & np.isfinite(r_new) & (r_new <= 256 * ev_new["noise"] + 1e-13)]
        conv[stalled] = True
        if np.all(small | conv[act] | dead[act]):
            break
    conv &= ~dead
    return p, zeta, conv, res, ev


def _le0(sys) -> float:
    """log of the starting height eta_0 / lambda_max: 10, more for deep products (the start m = m_1/z
    must be well inside the basin of Newton for log z = ... + L log(...))."""
    return math.log(10.0) + (math.log1p(sys.ntot / 16.0) if sys.k else 0.0)


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


def _im_g_ok(one_pm, logz, tol=1e-10, noise=0.0):
    """Certificate Im G <= 0 with G = (1+m)/z, tested as Im((1+m) e^{-i arg z}) <= tol |1+m|.

    ``noise``: the attainable accuracy of m (:func:`_m_noise`); a sign within 4 x that of the real axis
    (capped at 1e-8 |1+m|) is not decided by rounding and passes (next to a soft edge of a deep product
    Im m is ~1e-12 while m is known to ~1e-10).
    """
    v = one_pm * np.exp(-1j * logz.imag)
    slack = np.minimum(4 * np.nan_to_num(noise, nan=0.0), 1e-8 * np.abs(one_pm))
    return v.imag <= tol * np.abs(one_pm) + slack + 1e-300


def _switch_modes(sys, p, B, idx):
    """Point-wise choice of the unknown: delta = m - m0 within |m0|/4 of m0, m otherwise."""
    if sys.w0 >= 1.0:
        return
    pi, bi = p[idx], B[idx]
    m = sys.m_of(pi, bi)
    to_b = ~bi & (np.abs(m - sys.m0) < 0.25 * abs(sys.m0))
    to_a = bi & (np.abs(pi) > 0.5 * abs(sys.m0))
    pi = np.where(to_b, m - sys.m0, np.where(to_a, m, pi))
    p[idx] = pi
    B[idx] = (bi | to_b) & ~to_a


@_quiet
def _continue(sys, u, sgn, le_target, le0, real_axis, max_steps=400, stats=None):
    """Continuation from eta = e^le0 down to e^le_target (then eta = 0 where real_axis), vectorized."""
    n = u.size
    le_target = np.array(le_target, dtype=float)
    logz = _path_logz(u, sgn, np.full(n, le0))
    m, zeta = sys.init(logz)
    B = np.zeros(n, bool)
    p, zeta, conv, res, ev = _newton(sys, m, B, zeta, logz)
    ok0 = conv & (np.abs(p * np.exp(logz + sys.log_c - sys.log_m1) - 1) < 0.5)
    dred = ev["dred"].copy()
    cj = [c * 1.0 for c in ev["cj"]]  # scaled dM_j/dzeta at the current point
    sj = [s * 1.0 for s in ev["sj"]]
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
        _switch_modes(sys, p, B, act)  # dp = dm in both modes: dred, cj, sj stay valid
        at_target = le[act] <= le_target[act]
        le_new = le[act] - h[act]
        # eta ~ x is where the path turns from z ~ i eta to z ~ x: a long step across it has landed a deep
        # product (log z = ... + 10^4 log(...), sheets 2 pi / 10^4 apart) on another sheet, certified (tanh /
        # orthogonal depth 10^4 near x = e^-6 of the top); steps at most 4 e-folds within 6 e-folds of u
        near = (le_new < u[act] + 6.0) & (le[act] > u[act] - 6.0) & (sgn[act] != 0)
        le_new = np.where(near, np.maximum(le_new, np.minimum(u[act] + 6.0, le[act] - 4.0)), le_new)
        le_new = np.maximum(le_new, le_target[act])
        le_new = np.where(at_target & real_axis[act], -np.inf, le_new)
        lz_old = _path_logz(u[act], sgn[act], le[act])
        lz_new = _path_logz(u[act], sgn[act], le_new)
        pa, ba = p[act], B[act]
        # Euler predictor in log p (exact for m ~ m1/z at large |z| and delta ~ z^(1/kappa) near 0)
        with np.errstate(all="ignore"):
            dlp = (lz_new - lz_old) / (dred[act] * pa)
            pp = pa * np.exp(dlp)
            dp = pp - pa
            # zeta predicted in log(zeta - m2/m1) (exact to second order for zeta = m1/w + m2/m1 + ...)
            # (Euler in log p and log(zeta - off): d log(zeta - off) / d log p = (s / M') p / (zeta - off))
            # (the offset only where |zeta| >> m2/m1: elsewhere zeta - off would cancel)
            offs = [np.where(np.abs(zeta[j, act]) > 4 * abs(f.offset), f.offset, 0.0)
                    for j, f in enumerate(sys.imp)]
            zp = np.array([offs[j] + (zeta[j, act] - offs[j]) * np.exp(
                sj[j][act] * pa * dlp / (cj[j][act] * (zeta[j, act] - offs[j]))) for j in range(sys.k)]
                          ).reshape(sys.k, act.size)
        pp = np.where(np.isfinite(pp), pp, pa)
        # a corrector that needs more than 3 halvings of its step is far from the predictor: the step is
        # rejected (and cut) rather than damped further (most of the work of a continuation otherwise)
        pn, zn, cv, rs, evn = _newton(sys, pp, ba, zp, lz_new, maxit=12, max_halvings=3)
        with np.errstate(all="ignore"):
            # continuity, up to the attainable accuracy of p (noise / |dlogz/dp|: large next to an edge)
            jump = np.abs(pn - pp) <= 0.3 * np.abs(dp) + 1e-10 * np.abs(pa) + \
                30 * evn["noise"] / np.abs(evn["dred"])
            one_pm = sys.one_plus(1.0, pn, ba)
            base_ok = cv & _im_g_ok(one_pm, lz_new, noise=_m_noise(sys, evn)) & np.isfinite(pn)
            # last step from eta <= 1e-16 |x| next to a square-root edge: the Euler predictor is off by
            # O(1) there, but the sheets through the edge differ by O(sqrt(eta)) only, Im G <= 0 picks the
            # physical one, and any other sheet is far away: accept a move below 1e-4 |p|
            edge_ok = np.isneginf(le_new) & (le_target[act] <= u[act] - 36.0) & \
                (np.abs(pn - pa) <= 1e-4 * np.abs(pa))
            good = base_ok & (jump | edge_ok)
        if sys.k:
            good &= np.all(np.isfinite(zn), axis=0)
        if stats is not None:
            stats["steps"] = stats.get("steps", 0) + 1
            stats["rejected"] = stats.get("rejected", 0) + int(np.sum(~good))
        ia = act[good]
        p[ia], zeta[:, ia], res[ia] = pn[good], zn[:, good], rs[good]
        dred[ia] = evn["dred"][good]
        for j in range(sys.k):
            cj[j][ia] = evn["cj"][j][good]
            sj[j][ia] = evn["sj"][j][good]
        was_final = np.isneginf(le_new)
        final[ia] = was_final[good]
        le[ia] = np.where(was_final[good], le[ia], le_new[good])
        # step control from the corrector/predictor ratio (Euler error ~ h^2)
        with np.errstate(all="ignore"):
            q = np.abs(pn - pp)[good] / (np.abs(dp[good]) + 1e-300)
        grow = np.clip(np.sqrt(0.05 / np.maximum(q, 1e-12)), 0.5, 4.0)
        h[ia] = np.clip(h[ia] * grow, 0.02, 1e5)
        done[ia[was_final[good] | (~real_axis[ia] & (le[ia] <= le_target[ia]))]] = True
        ib = act[~good]
        # a failed last step to eta = 0 (close to an edge): go down to a smaller eta first
        lower = ib[was_final[~good] & (le_target[ib] > u[ib] - 37.0)]
        le_target[lower] -= 6.0
        ib = np.setdiff1d(ib, lower, assume_unique=True)
        h[ib] *= 0.25
        fallback[ib] = True
        # a point that cannot reach eta = 0 keeps its tiny-eta value (flagged as fallback)
        give_up_real = ib[(h[ib] < 1e-3) & (le[ib] <= le_target[ib])]
        done[give_up_real] = True
        dead = ib[(h[ib] < 1e-7)]
        failed[dead] = True
        done[dead] = True
    m = sys.m_of(p, B)
    return m, p, B, zeta, ~failed, res, fallback, final


# ------------------------------------------------------------------------------------------ edges
@_quiet
def _zeta_real(f: ImplicitFactor, w, branch=None):
    """Real zeta with M(zeta) = w (bisection; M decreases on every real interval free of spectrum).

    ``branch``: None (outside the spectrum: zeta > hi for w > 0, zeta < lo for w < 0) or an interval
    (a, b) between two atoms of an atomic factor.  NaN where there is no solution.
    """
    w = np.asarray(w, float)
    t_lo = np.full(w.shape, -37.0)   # e^-37 ~ eps: never on top of the spectrum itself
    t_hi = np.full(w.shape, 37.0)
    if branch is None:
        lo_b, hi_b = f.bounds
        t_lo = np.full(w.shape, math.log(4 * _EPS * max(abs(lo_b), abs(hi_b), 1e-300)))
        t_hi = np.full(w.shape, 700.0)
        pos = w > 0

        def zeta_of(t):
            with np.errstate(over="ignore"):
                return np.where(pos, hi_b + np.exp(t), lo_b - np.exp(t))

        def go_up(mv):  # w>0: M decreases as t grows; w<0: M increases (towards 0-) as t grows
            return np.where(pos, mv > w, mv < w)
    else:
        a, b = branch

        def zeta_of(t):
            with np.errstate(over="ignore"):
                return a + (b - a) / (1.0 + np.exp(-t))

        def go_up(mv):
            return mv > w
    for _ in range(110):
        t = 0.5 * (t_lo + t_hi)
        mv = np.real(f.m(zeta_of(t).astype(complex)))
        up = go_up(mv)
        t_lo = np.where(up, t, t_lo)
        t_hi = np.where(up, t_hi, t)
    z = zeta_of(0.5 * (t_lo + t_hi))
    mv = np.real(f.m(z.astype(complex)))
    return np.where(np.abs(mv - w) <= 1e-9 * np.abs(w) + 1e-300, z, np.nan)


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
    r = r[np.abs(r.imag) <= 1e-9 * np.maximum(1.0, np.abs(r))].real
    for _ in range(3):  # polish with Newton on the logarithmic derivative
        with np.errstate(all="ignore"):
            g = sys.e_m / r + np.sum(sys.e * sys.b / (1 + np.outer(r, sys.b)), axis=1)
            dg = -sys.e_m / r**2 - np.sum(sys.e * sys.b**2 / (1 + np.outer(r, sys.b)) ** 2, axis=1)
            step = np.where(np.isfinite(g / dg), g / dg, 0.0)
        r = r - step
    return r[(r != 0) & np.all(np.abs(1 + np.outer(r, sys.b)) > 1e-14, axis=1)]


def _branch_sets(sys):
    """Real branches of the implicit unknowns: outside the spectrum, and (one atomic factor) every gap."""
    sets = [[None] * sys.k]
    if sys.k == 1 and sys.imp[0].values is not None:
        v = sys.imp[0].values
        sets += [[(a, b)] for a, b in zip(v[:-1], v[1:], strict=True)]
    return sets


def _critical_zeta_scan(sys):
    """One implicit factor: scan its real branches in zeta (m = M(zeta)/s explicit, no nested solves).

    Returns (m_c, log z(m_c)) at the real critical points, plus the limits z(m -> +-inf) where zeta
    tends to an end of the factor's spectrum.
    """
    f = sys.imp[0]
    n, s = float(f.multiplicity), float(f.scale)
    lo, hi = f.bounds
    span = max(hi - lo, abs(hi), 1e-300)
    mag = np.logspace(-13, 9, 2201)
    pieces = [hi + span * mag, lo - span * mag]
    if f.values is not None:
        v = f.values
        tt = np.linspace(-34.0, 34.0, 2201)
        pieces += [a + (b - a) / (1 + np.exp(-tt)) for a, b in zip(v[:-1], v[1:], strict=True)]

    def logz_and_slope(zeta):
        zc = zeta.astype(complex)
        m = np.real(f.m(zc)) / s
        dmz = np.real(f.dm(zc)) / s
        B = np.zeros(m.shape, bool)
        ev = sys.evaluate(m.astype(complex), B, zc[None, :], np.zeros(m.shape, complex))
        # d log z / d zeta along the branch: (partial_m log z) dm/dzeta + n / zeta
        return ev["logz"], np.real(ev["a"]) * dmz + n / zeta, m

    out_m, out_lz = [], []
    top = None
    for ip, zeta in enumerate(pieces):
        zeta = np.sort(zeta)
        lz, g, m = logz_and_slope(zeta)
        ok = np.isfinite(g) & np.isfinite(lz)
        sign = np.sign(g)
        for i in np.flatnonzero(ok[:-1] & ok[1:] & ((sign[:-1] * sign[1:] <= 0) & (sign[:-1] != 0))):
            a, b, ga = zeta[i], zeta[i + 1], g[i]
            for _ in range(60):
                c = 0.5 * (a + b)
                _, gc, _ = logz_and_slope(np.array([c]))
                if not np.isfinite(gc[0]):
                    break
                if np.sign(gc[0]) == np.sign(ga):
                    a, ga = c, gc[0]
                else:
                    b = c
            lzc, _, mc = logz_and_slope(np.array([0.5 * (a + b)]))
            out_m.append(float(mc[0]))
            out_lz.append(complex(lzc[0]))
            if ip == 0:  # outer branch zeta > hi, m from 0+: the last sign change met from zeta = inf
                top = complex(lzc[0])
    degree = sys.e_m + float(np.sum(sys.e))
    if abs(degree) < 1e-9 and np.all(sys.b != 0):
        ends = f.values if f.values is not None else (lo, hi)
        base = sys.const + np.sum(sys.e * np.log(sys.b.astype(complex)))
        for v in ends:
            if v > 0:
                out_m.append(np.inf)
                out_lz.append(complex(base + n * math.log(v)))
                if top is None and v == hi:
                    top = complex(base + n * math.log(v))
    _critical_zeta_scan.top = top
    return np.array(out_m), np.array(out_lz, dtype=complex)


def _critical_scan(sys):
    """Real critical points of log z(m) by a scan of the real m-line (sign changes, bisection).

    Returns (m_c, log z(m_c)) over all real branches of the implicit unknowns.
    """
    mag = np.logspace(-12, 12, 1201)
    grids = [mag, -mag]
    sing = [sys.m0] + [-1.0 / b for b in sys.b if b != 0]
    for c in sing:
        grids += [c + abs(c) * mag[:600], c - abs(c) * mag[:600]]
    out_m, out_lz = [], []
    for br in _branch_sets(sys):
        for g in grids:
            g = np.sort(g)
            _, d = _real_eval(sys, g, br)
            ok = np.isfinite(d)
            sign = np.sign(d)
            # (a zero on the grid itself ends the interval before it: MP as an explicit factor, m_c = 1)
            idx = np.flatnonzero(ok[:-1] & ok[1:] & ((sign[:-1] * sign[1:] <= 0) & (sign[:-1] != 0)))
            for i in idx:
                a, b = g[i], g[i + 1]
                da = d[i]
                for _ in range(60):
                    c = 0.5 * (a + b)
                    _, dc = _real_eval(sys, np.array([c]), br)
                    if not np.isfinite(dc[0]):
                        break
                    if np.sign(dc[0]) == np.sign(da):
                        a, da = c, dc[0]
                    else:
                        b = c
                mc = 0.5 * (a + b)
                lz, _ = _real_eval(sys, np.array([mc]), br)
                out_m.append(mc)
                out_lz.append(complex(np.atleast_1d(lz)[0]))
    # finite limits z(m -> +-inf), reached with zeta_j -> an atom of an atomic factor (non-square-root
    # edges, e.g. where Belinschi's atom mass is exactly 0)
    degree = sys.e_m + float(np.sum(sys.e))
    if abs(degree) < 1e-9 and np.all(sys.b != 0) and sys.k == 1 and sys.imp[0].values is not None:
        f = sys.imp[0]
        base = sys.const + np.sum(sys.e * np.log(sys.b.astype(complex)))
        for v in f.values:
            if v > 0:
                out_m.append(np.inf)
                out_lz.append(complex(base + f.multiplicity * math.log(v)))
    return np.array(out_m), np.array(out_lz, dtype=complex)


@dataclass(frozen=True)
class _Edges:
    bands: tuple          # ((lo, hi), ...) of the continuous part, ascending (lo = 0: reaches 0)
    log_bands: tuple      # the same in log x (lo = -inf at 0)
    lo: float             # lower edge of the continuous part (0 when it reaches 0)
    hi: float             # upper edge of the continuous part
    log_hi: float
    lambda_max: float
    log_lambda_max: float
    gap: bool             # continuous part bounded away from 0
    top_atom: bool        # the top of the spectrum is an atom
    w0: float             # atom at 0
    beta: float           # exponent of x rho(x) ~ x^beta at 0 (exact for linear factors), nan if unknown
    candidates: tuple     # log x of all real critical values z(m_c) > 0 (before classification)


_EDGE_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _cached(law, key, fn):
    try:
        store = _EDGE_CACHE.setdefault(law, {})
    except TypeError:
        return fn()
    if key not in store:
        store[key] = fn()
    return store[key]


@_thread_policy
def edges(law) -> _Edges:
    """Support of the continuous part: bands between real critical values of z(m), 0 and the atoms.

    Returns a small frozen record with ``bands`` ((lo, hi), ...), ``lo``, ``hi``, ``lambda_max``,
    ``gap``, ``top_atom``, ``w0`` (atom at 0) and ``beta`` (x rho(x) ~ x^beta at 0).
    """
    return _cached(law, "edges", lambda: _compute_edges(law))


def _system(law, log_c=None) -> _System:
    atoms = _law_atoms(law)
    w0 = sum(p for a, p in atoms if a == 0.0)
    sys = _System(_factors(law), w0)
    if log_c is None:
        log_c = edges(law).log_lambda_max
    return sys.with_log_c(log_c)


#: Depths below the top (in log x) at which a band reaching 0 is probed for continuous mass, then (where they
#: find none) the ladder of decades below the top: the spectrum can be anything from hundreds of e-folds wide
#: (deep products) to ~1e-8 (near-isometric networks, where D^2 is nearly a point mass), and the ladder finds
#: a band of any width down to its last rung.
_BAND_PROBE_DEPTHS = (30.0, 7.0, 0.7)
_FINE_PROBE_DEPTHS = tuple(10.0 ** -k for k in range(1, 11))


def _probe_bands(nsys, probes, log_top) -> list:
    """Per interval, whether any of its probe points (log x) carries continuous mass: -Im m > 1e-9 |m| at
    eta = 1e-12 x, reached by a certified continuation."""
    tests_u = np.array([x - log_top for us in probes for x in us])
    owner = np.array([i for i, us in enumerate(probes) for _ in us], dtype=int)
    if tests_u.size == 0:
        return [False] * len(probes)
    n = tests_u.size
    m, *_rest, ok, _res, _fb, _fin = _continue(nsys, tests_u, np.ones(n), tests_u + math.log(1e-12),
                                                _le0(nsys), np.ones(n, bool))
    with np.errstate(invalid="ignore"):
        inside = ok & (-m.imag > 1e-9 * np.abs(m))
    return [bool(np.any(inside[owner == i])) for i in range(len(probes))]


@_quiet
def _compute_edges(law) -> _Edges:
    atoms = _law_atoms(law)
    w0 = sum(p for a, p in atoms if a == 0.0)
    sys = _System(_factors(law), w0)
    top = None
    if sys.linear:
        mc = _critical_linear(sys)
        lz = np.atleast_1d(_real_eval(sys, mc)[0]) if mc.size else np.array([], complex)
        pos = np.flatnonzero((mc > 0) & np.isfinite(lz))
        if pos.size:  # the physical branch m in (0, inf) from z = +inf stops at its first critical point
            top = complex(lz[pos[np.argmin(mc[pos])]])
        degree = sys.e_m + float(np.sum(sys.e))
        if abs(degree) < 1e-9 and np.all(sys.b != 0):  # z(m) has a finite limit at m = +-inf
            lz_inf = sys.const + np.sum(sys.e * np.log(sys.b.astype(complex)))
            mc, lz = np.append(mc, np.inf), np.append(lz, lz_inf)
    elif sys.k == 1 and not sys.gen:
        mc, lz = _critical_zeta_scan(sys)
        top = _critical_zeta_scan.top
    else:
        mc, lz = _critical_scan(sys)
    if mc.size:
        real_pos = np.isfinite(lz.real) & (np.abs(_wrap(lz).imag) < 1e-7)
        cand = np.unique(np.real(lz[real_pos]))
    else:
        cand = np.array([])
    if top is not None and abs(_wrap(np.array([top]))[0].imag) < 1e-7:
        # nothing continuous above the top edge of the physical branch: drop higher candidates
        cand = cand[cand <= top.real + 1e-12 * max(1.0, abs(top.real))]
    log_atoms = [math.log(a) for a, _ in atoms if a > 0]
    # an atom takes precedence over a critical value at the same place (e.g. z(m -> inf) = atom);
    # break points closer than 1e-10 (relative) are one
    cand = np.array([c for c in cand if all(abs(c - la) > 1e-10 for la in log_atoms)])
    breaks = np.unique(np.concatenate([cand, log_atoms]))
    if breaks.size > 1:
        breaks = breaks[np.concatenate([[True], np.diff(breaks) > 1e-10])]
    cmass = 1.0 - sum(p for _, p in atoms)
    if breaks.size == 0:
        raise ValueError(f"{getattr(law, 'name', law)}: no real critical point of z(m) and no atom; "
                         "cannot locate the support")
    log_top = float(breaks[-1])
    beta = 1.0 / sys.kappa if sys.linear and sys.kappa > 0 else math.nan
    if cmass <= 1e-15:
        lam = max(a for a, _ in atoms)
        return _Edges((), (), math.nan, math.nan, math.nan, lam, math.log(lam), False, True, w0, beta,
                      tuple(cand))
    nsys = sys.with_log_c(log_top)
    # classify each interval between break points by solving at interior points
    lows = np.concatenate([[-np.inf], breaks[:-1]])
    highs = breaks
    probes = []
    for a, b in zip(lows, highs, strict=True):
        if np.isneginf(a):
            probes.append([b - d for d in _BAND_PROBE_DEPTHS])
        else:
            probes.append([0.5 * (a + b), math.log(0.5 * (math.exp(a - b) + 1.0)) + b, a + 0.1 * (b - a),
                           a + 0.9 * (b - a)])
    supported = _probe_bands(nsys, probes, log_top)
    # a band may fill only a sliver just below the top of its interval (near isometry; or a narrow spectrum
    # above a spurious break, e.g. the end of the quadrature's view of the spectrum of D^2: sin): the ladder
    # of decades, where the coarse probes found nothing
    fine = [[b - d for d in _FINE_PROBE_DEPTHS if d < 0.1 * (b - a)]
            if not supported[i] and (np.isneginf(a) or (i == lows.size - 1 and b not in log_atoms)) else []
            for i, (a, b) in enumerate(zip(lows, highs, strict=True))]
    if any(fine):
        supported = [s or f for s, f in zip(supported, _probe_bands(nsys, fine, log_top), strict=True)]
    log_atom_set = set(log_atoms)
    bands: list[list[float]] = []
    for i, (a, b) in enumerate(zip(lows, highs, strict=True)):
        if not supported[i]:
            continue
        if bands and bands[-1][1] == a and a not in log_atom_set:
            bands[-1][1] = b
        else:
            bands.append([a, b])
    if not bands:
        raise RuntimeError(f"{getattr(law, 'name', law)}: continuous mass {cmass:.3g} but no band was "
                           "found; the support could not be certified")
    log_bands = tuple((float(a), float(b)) for a, b in bands)
    lin_bands = tuple((0.0 if np.isneginf(a) else math.exp(min(a, 709.0)), math.exp(min(b, 709.0)))
                      for a, b in log_bands)
    log_hi = log_bands[-1][1]
    log_lam = max([log_hi] + log_atoms)
    return _Edges(lin_bands, log_bands, lin_bands[0][0], lin_bands[-1][1], log_hi,
                  math.exp(min(log_lam, 709.0)), log_lam, not np.isneginf(log_bands[0][0]),
                  log_lam > log_hi, w0, beta, tuple(cand))


def support(law):
    """(lo, hi) of the continuous part of the law (None if it has none); lo = 0 when it reaches 0."""
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
    (|residual of log z| combined with the scaled implicit-factor residuals); ``on_axis``: the point
    was solved on the real axis itself (eta = 0) rather than at a tiny eta.
    """

    z: np.ndarray
    m: np.ndarray
    certified: np.ndarray
    fallback: np.ndarray
    residual: np.ndarray
    on_axis: np.ndarray


@_thread_policy
def solve_m_transform(law, z, *, full_output=False, rtol_eta=1e-10):
    r"""Solve :math:`z = (1+m)/(m S_J(m))` for :math:`m = M(z)` on the physical branch (vectorized).

    Parameters
    ----------
    law : FreeProduct, JacobianLaw, SpectralLaw with an S-transform, or FactorizedLaw
    z : complex array_like
        Real z gives the boundary value :math:`M(x + i0)`; :math:`\operatorname{Im} z < 0` uses
        :math:`M(\bar z) = \overline{M(z)}`.
    full_output : bool
        Return an :class:`MSolution` with the certificate arrays instead of m.
    rtol_eta : float
        The last continuation stop before the real axis is at :math:`\eta = ` ``rtol_eta`` |x|.

    Returns
    -------
    ndarray or MSolution
        Points that cannot be certified are NaN (with a ``RuntimeWarning``).
    """
    z = np.asarray(z, dtype=complex)
    if not np.all(np.isfinite(z)):
        raise ValueError("z must be finite (got inf or nan); M(z) -> 0 as |z| -> infinity")
    if not (0 < rtol_eta < 1e-3):
        raise ValueError(f"rtol_eta must lie in (0, 1e-3), got {rtol_eta!r}")
    shape = z.shape
    zf = z.ravel()
    if _continuous_mass(law) <= 1e-15:  # purely atomic: M(z) = sum p a / (z - a)
        a = np.array([x for x, _ in _law_atoms(law)])
        w = np.array([q for _, q in _law_atoms(law)])
        with np.errstate(divide="ignore", invalid="ignore"):
            m = np.sum(w * a / (zf[:, None] - a), axis=1)
        ones = np.ones(zf.shape, bool)
        if full_output:
            return MSolution(zf.reshape(shape), m.reshape(shape), ones.reshape(shape),
                             (~ones).reshape(shape), np.zeros(shape), ones.reshape(shape))
        return m.reshape(shape)
    lower = zf.imag < 0
    zz = np.where(lower, np.conj(zf), zf)
    e = edges(law)
    sys = _system(law, e.log_lambda_max)
    c = math.exp(min(e.log_lambda_max, 709.0))
    x, eta = zz.real / c, zz.imag / c
    with np.errstate(divide="ignore"):
        u = np.log(np.abs(x))
        le_t = np.log(eta)
    sgn = np.sign(x)
    real_axis = eta == 0
    if np.any(real_axis & (x == 0)):
        raise ValueError("z = 0 is not allowed (M(0) = -1 + mass of the atom at 0 is a limit, not a value)")
    le_target = np.where(real_axis, u + math.log(rtol_eta), le_t)
    le0 = _le0(sys) + max(0.0, float(np.max(np.where(sgn != 0, u, -np.inf), initial=0.0)))
    m, _p, _b, _zeta, ok, res, fb, fin = _continue(sys, u, sgn, le_target, le0, real_axis)
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
#: Mass, m1 and m2 of a certified density agree with the law's series to this (relative) error: far above
#: the quadrature's rounding (~1e-12) and far below anything visible in a quantile or a plot.
CERTIFICATE_TOL = 1e-6


class UncertifiedDensityWarning(RuntimeWarning):
    """A density (or pdf/cdf/ppf from it) is served although its certificate failed; the message says why."""


@dataclass(frozen=True)
class DensityResult:
    """Eigenvalue density of a law on an adaptive grid.

    Attributes
    ----------
    x : ndarray
        Grid, ascending (nodes below the float range are used in the mass bookkeeping, not listed).
    density : ndarray
        Continuous part rho(x); NaN where a point could not be certified.
    atoms : tuple
        (location, mass) pairs, exact from the law.
    support : tuple or None
        (lo, hi) of the continuous part (lo = 0 when it reaches 0); None without continuous part.
    lambda_max : float
        Top of the spectrum (upper edge or largest atom).
    mass : float
        Integrated continuous mass + atom masses (1 up to the quadrature error).
    diagnostics : dict
        ``continuous_mass``, ``continuous_mass_exact`` (1 - atom masses), ``atom_mass``, ``mass_error``,
        ``tail_mass`` (continuous mass below the smallest listed x), ``m1``/``m2`` (from the density and
        atoms), ``m1_series``/``m2_series`` and ``m1_rel_err``/``m2_rel_err``, ``worst_residual``,
        ``uncertified`` and ``fallback`` (indices into ``x``), ``n_uncertified_total`` (also counting
        unlisted tail nodes), ``bands``, ``gap``, ``top_atom``, ``tail_exponent``, ``method``.
    law : str
        Name of the law.
    points : int
        Requested number of points.
    weights : ndarray
        Quadrature weights of the listed nodes: the continuous mass above the first listed node is
        ``sum(weights * density)`` (and ``sum(weights * x**k * density)`` its moments).
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
    weights: np.ndarray | None = field(default=None, repr=False, compare=False)

    @property
    def certified(self) -> bool:
        """True when every node was certified and mass, m1, m2 agree with the law within
        :data:`CERTIFICATE_TOL`; a check that could not be made (missing or NaN) fails."""
        return not self.reason

    @property
    def reason(self) -> str:
        """Why the density is not certified: the failing checks, ``"; "``-separated ("" when certified)."""
        d = self.diagnostics
        bad = []
        n_unc = d.get("n_uncertified_total")
        if n_unc is None:
            bad.append("per-point check not made")
        elif n_unc:
            bad.append(f"{int(n_unc)} grid points uncertified")
        if d.get("failure"):
            bad.append(str(d["failure"]))
        for key, label in (("mass_error", "total mass"), ("m1_rel_err", "m1"), ("m2_rel_err", "m2")):
            e = d.get(key)
            if e is None or not math.isfinite(float(e)):
                why = d.get("moment_check_error") if key != "mass_error" else ""
                bad.append(f"{label} check could not be made" + (f" ({why})" if why else ""))
            elif e > CERTIFICATE_TOL:
                bad.append(f"{label} off by {float(e):.2g} (tolerance {CERTIFICATE_TOL:g})")
        return "; ".join(bad)

    def to_dict(self) -> dict:
        """JSON-able dict with the keys x, density, atoms, support, lambda_max, mass, diagnostics."""
        return density_summary(self)


def density_summary(res: DensityResult, quantiles=(0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99)) -> dict:
    """JSON-ready dict of a :class:`DensityResult` (the ``spectral density --json`` contract).

    Keys: ``x``, ``density`` (lists; NaN -> null), ``atoms`` ([[location, mass], ...]), ``support``
    ([lo, hi] or null), ``lambda_max``, ``mass``, ``diagnostics`` (numbers, lists and strings only,
    including ``certified`` and ``quantiles``: {q: x_q} of the full law, atoms included, from the
    cumulative sum on the grid).
    """
    diag = {k: jsonable(v) for k, v in res.diagnostics.items()}
    diag["certified"] = bool(res.certified)
    diag["quantiles"] = {f"{q:g}": jsonable(v) for q, v in zip(quantiles, _grid_ppf(res, quantiles),
                                                                   strict=True)}
    return {
        "x": jsonable(res.x),
        "density": jsonable(res.density),
        "atoms": [[float(a), float(p)] for a, p in res.atoms],
        "support": None if res.support is None else [float(res.support[0]), float(res.support[1])],
        "lambda_max": float(res.lambda_max),
        "mass": float(res.mass),
        "diagnostics": diag,
    }


_GL_CACHE: dict = {}


def _gl(n, a, b):
    if n not in _GL_CACHE:
        from scipy.special import roots_legendre

        _GL_CACHE[n] = roots_legendre(n)
    t, w = _GL_CACHE[n]
    return 0.5 * (b - a) * t + 0.5 * (b + a), 0.5 * (b - a) * w


def _series_m12(law):
    """(m_1, m_2, error): the law's series moments, or NaN with the reason they could not be had (the
    moment check then fails, naming it)."""
    try:
        lm = getattr(law, "log_moments", None)
        if lm is not None and not isinstance(law, FactorizedLaw):
            v = np.asarray(lm(2), float)
            return float(np.exp(v[0])), float(np.exp(v[1])), ""
        m = np.asarray(law.moments(2), float)
        return float(m[0]), float(m[1]), ""
    except (NotImplementedError, AttributeError, ValueError, ArithmeticError) as exc:
        return math.nan, math.nan, f"{type(exc).__name__}: {exc}"


def _check_points(points):
    if isinstance(points, bool) or not isinstance(points, (int, np.integer)):
        raise TypeError(f"points must be an integer >= 16, got {points!r}")
    if points < 16:
        raise ValueError(f"points must be an integer >= 16 (try 2000), got {points}")
    return int(points)


def density(law, points=2000, *, tail_tol=1e-12):
    """Density of the continuous part on an adaptive grid, with atoms and certificate diagnostics.

    Warns with :class:`UncertifiedDensityWarning` (naming the failing checks) when the result is not
    certified.

    Parameters
    ----------
    law : spectral law (FreeProduct / JacobianLaw / FactorizedLaw / any law with an S-transform)
    points : int
        Number of grid nodes on the bands (>= 16); a band reaching 0 gets an extra tail of
        ``max(64, points // 8)`` nodes in log x, most of them below the float range.
    tail_tol : float
        Continuous mass left below the deepest tail node (bounded by the power-law remainder).

    Returns
    -------
    DensityResult

    Notes
    -----
    Grid per band [a, b] (module docstring): a > 0: cosine map with the midpoint rule; a = 0:
    Gauss–Legendre in s with x = b - (b - c)s^2 on [c, b] (c = b/20), Gauss–Legendre in u = log x on
    [log c - 40, log c], and a tail u = u_0 - t/beta (Gauss–Legendre in t) down to where the remaining
    mass is below ``tail_tol``, using x rho(x) = -Im M(x + i0)/pi (never forms x).
    """
    res = _certified_density(law, points, tail_tol)
    _warn_uncertified(res, "density")
    return res


@_thread_policy
def _certified_density(law, points=2000, tail_tol=1e-12) -> DensityResult:
    """:func:`density` without the warning (cached per law)."""
    points = _check_points(points)
    if not (0 < float(tail_tol) <= 1e-3):
        raise ValueError(f"tail_tol must lie in (0, 1e-3], got {tail_tol!r}")
    return _cached(law, ("density", points, float(tail_tol)),
                   lambda: _density(law, points, float(tail_tol)))


def _warn_uncertified(res: DensityResult, what: str, stacklevel: int = 3) -> None:
    """UncertifiedDensityWarning naming the failing checks of ``res`` (nothing when it is certified)."""
    if not res.certified:
        warnings.warn(f"{res.law or 'law'}: {what} is NOT CERTIFIED: {res.reason}", UncertifiedDensityWarning,
                      stacklevel=stacklevel)


#: A band away from 0 wider than this in log x (a factor e^7 ~ 1100) gets the cosine map in u = log x: the
#: cosine map in x would leave its lower decades without nodes (deep leaky relu: a band over 9 decades).
_WIDE_BAND_LOG_RATIO = 7.0


def _log_map_ok(sys) -> bool:
    """Whether the wide bands of ``sys`` get the cosine map in log x: no smooth implicit factor (linear factors
    and atomic D^2 only, e.g. leaky relu, whose D^2 takes the two values alpha^2 and 1), or a power law at 0
    (kappa > 0: Gaussian weights; selu/Gaussian depth 8 spreads over 270 decades).  Otherwise the lower end
    of a band of a smooth D^2 may be the end of its quadrature's view of the spectrum (sin/orthogonal at
    depth 1: x rho ~ x^(1/2) down to 0, 1.7e-5 there), not an edge of the product; such bands keep the
    cosine map in x, and a soft edge far above it is found by :func:`_hidden_soft_edge_possible`."""
    return all(f.values is not None for f in sys.imp) or sys.kappa > 0


def _band_nodes(lo_u, hi_u, n, soft=None, span=40.0, log_map=False):
    """Nodes u = log(x / scale) and weights w (mass = sum w * x rho) on one band given in log x.

    Returns (u, w, floor): ``floor`` is the lowest u covered by the nodes of a band reaching 0 (the tail
    continues below it), None otherwise.  ``soft`` (band reaching 0 only): (cut, edge) in u, the soft lower
    edge of a smooth activation (:func:`_soft_edge`): x rho is negligible below ``cut`` and rises steeply
    (like a square root) at ``edge``; the band is then Gauss–Legendre in u on [cut, edge] and the cosine
    map in u on [edge, hi] (both ends of the latter behave like square-root edges; in x when the band is
    narrower than a factor 20), without a tail.  ``span``: width in u of the Gauss–Legendre piece of a band
    reaching 0 (without ``soft``).  ``log_map``: a band away from 0 wider than :data:`_WIDE_BAND_LOG_RATIO`
    gets the cosine map in u (its edges are true edges of the product; see :func:`_log_map_ok`).
    """
    if np.isneginf(lo_u) and soft is not None:
        cut, edge = soft
        n_low = max(16, n // 16) if edge - cut > 1e-3 else 0
        ua, wa = _gl(n_low, cut, edge) if n_low else (np.array([]), np.array([]))
        if edge - hi_u > math.log(1.0 / 20.0):  # a narrow band: the cosine map in x (as for a gap band)
            ub, wb, _ = _band_nodes(edge, hi_u, n - n_low)
        else:
            ub, wb = _cosine_nodes(edge, hi_u, n - n_low)
        return np.concatenate([ua, ub]), np.concatenate([wa, wb]), None
    if np.isneginf(lo_u):
        c = math.log(1.0 / 20.0)
        nb = int(0.62 * n)
        s, ws = _gl(nb, 0.0, 1.0)
        xb = 1.0 - (1.0 - math.exp(c)) * s**2     # relative to the band top
        ua, wa = _gl(n - nb, c - span, c)
        u = np.concatenate([ua, np.log(xb)]) + hi_u
        w = np.concatenate([wa, 2 * (1.0 - math.exp(c)) * s * ws / xb])
        return u, w, c - span + hi_u
    if log_map and hi_u - lo_u > _WIDE_BAND_LOG_RATIO:
        u, w = _cosine_nodes(lo_u, hi_u, n)
        return u, w, None
    a = math.exp(lo_u - hi_u)
    t = (np.arange(n) + 0.5) / n
    xs = a + (1.0 - a) * 0.5 * (1 - np.cos(math.pi * t))
    w = (1.0 - a) * 0.5 * math.pi * np.sin(math.pi * t) / n / xs
    return np.log(xs) + hi_u, w, None


def _cosine_nodes(a, b, n):
    """Cosine map u = a + (b - a)(1 - cos pi t)/2 with the midpoint rule in t (weights for du)."""
    t = (np.arange(n) + 0.5) / n
    return a + (b - a) * 0.5 * (1 - np.cos(math.pi * t)), (b - a) * 0.5 * math.pi * np.sin(math.pi * t) / n


def _solve_vertical(sys, u):
    """Vertical continuation to x = e^u + i0; returns m, ok, residual, fallback, the accuracy of m and zeta."""
    n = u.size
    m, p, b, zeta, ok, res, fb, _fin = _continue(sys, u, np.ones(n), u + math.log(1e-10), _le0(sys),
                                                 np.ones(n, bool))
    return m, ok, res, fb, _m_noise(sys, sys.evaluate(p, b, zeta, u + 0j)), zeta


def _m_noise(sys, ev):
    """Attainable accuracy of m (rounding level of log z over |d log z / dm|) from an evaluation."""
    with np.errstate(all="ignore"):
        acc = ev["noise"] / np.abs(ev["dred"])
    return np.where(np.isfinite(acc), acc, np.inf)


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


#: A node solved on the real axis from the interpolant of its anchors is kept only if its x rho = -Im m / pi
#: has not collapsed below this fraction of the interpolant's (else: its own vertical continuation); the
#: real solution of another sheet has x rho at rounding level, ~1e-14 of the interpolant's.
_INTERP_IM_REL = 1e-3


@_quiet
def _solve_real(sys, u, stride=32, breaks=()):
    """M(x + i0) at x = e^u (one band, u ascending): vertical continuation (docs/design.md §4.3) at every
    ``stride``-th node and at both ends of the band (anchors); the nodes in between start Newton on the
    real axis from the interpolation of their two certified anchors and are accepted only if Newton
    converges, Im G <= 0 and the result stays within a quarter of the anchors' difference of the
    interpolant (continuity in x on the physical sheet); any other node gets its own vertical
    continuation.  ``breaks``: u values splitting the band into grid pieces (e.g. a soft edge), each
    with its own anchors at both ends; no interpolation crosses a break.  Returns m, ok, residual,
    fallback and the attainable accuracy of m (its rounding level, :func:`_m_noise`)."""
    n = u.size
    if n <= 4 * stride or sys.k == 0:  # explicit factors: vertical continuation is cheap everywhere
        return _solve_vertical(sys, u)[:5]
    order = np.argsort(u, kind="stable")
    if np.any(order != np.arange(n)):
        out = _solve_real(sys, u[order], stride, breaks)
        inv = np.empty(n, int)
        inv[order] = np.arange(n)
        return tuple(a[inv] for a in out)
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
    ma, oka, ra, fba, acca, za = _solve_vertical(sys, u[ia])
    m[ia], zeta[:, ia], ok[ia], res[ia], fb[ia], acc[ia] = ma, za, oka, ra, fba, acca
    rest = np.flatnonzero(~anchor)
    inside = np.zeros(rest.size, bool)
    left, right = np.zeros(rest.size, int), np.zeros(rest.size, int)
    m0 = np.full(rest.size, np.nan + 0j)
    z0 = np.full((sys.k, rest.size), np.nan + 0j)
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
        m0[sel] = np.sum(coef * m[k], axis=0)
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
        close = np.abs(mn - m0) <= 0.25 * np.abs(m[right] - m[left]) + 30 * noise_m
        # and x rho not collapsed to rounding level: below a soft edge the real solution of another
        # sheet (Im m ~ 0) lies within the anchors' spread of Re m (selu/orthogonal depth 10: x rho 2e-19
        # for 3e-5 at 20 nodes, mass off by 7e-6)
        close &= np.abs(mn.imag) >= _INTERP_IM_REL * np.abs(m0.imag) - 30 * noise_m
        good = cv & close & _im_g_ok(one_pm, target, noise=noise_m) & np.isfinite(mn)
        if sys.k:
            good &= np.all(np.isfinite(zn), axis=0)
        m[ri[good]], ok[ri[good]], res[ri[good]], acc[ri[good]] = mn[good], True, rn[good], noise_m[good]
        rest = rest[~ok[rest]]
    if rest.size:
        mr, okr, rr, fbr, accr, _z = _solve_vertical(sys, u[rest])
        m[rest], ok[rest], res[rest], fb[rest], acc[rest] = mr, okr, rr, fbr | True, accr
    return m, ok, res, fb, acc


def _soft_edge_critical(sys, hi_u, mass):
    r"""Sharp soft lower edge (cut, edge) of a band reaching 0 from a near-real critical point, or None.

    One implicit factor, no generic explicit factor.  With :math:`\zeta` as the parameter
    (:math:`m = M(\zeta)/s` explicit, :math:`M` continued across the factor's spectrum by its contour) the
    real segment :math:`\zeta \in (lo, \zeta_c)` inside that spectrum carries the nearly real solution
    below a soft edge of a deep product: :math:`\log z` rises along it from :math:`-\infty` to a maximum
    at a critical point :math:`d\log z/d\zeta = 0`.  That point is refined by Newton in complex
    :math:`\zeta` (no continuation); it is used only when it is sharp (:math:`|\operatorname{Im}\log z_c|
    \le 10^{-5}`): ``edge`` is :math:`\operatorname{Re}\log z_c`.  ``cut`` lies below the highest point of
    the segment where the first-order estimate of :math:`x\rho` (the real-x solution one Newton step away)
    is below :math:`10^{-13}` ``mass``, by half its distance to the edge.  Nothing here is certified: the
    density grid built on (cut, edge) is solved as any other, and the caller checks that its lowest nodes
    carry no mass.
    """
    if sys.k != 1 or sys.gen:
        return None
    f = sys.imp[0]
    n, s = float(f.multiplicity), float(f.scale)
    lo, hi = f.bounds
    if not (hi > lo):
        return None

    def along(zeta):
        zeta = np.atleast_1d(np.asarray(zeta, complex))
        m = f.m(zeta) / s
        dmz = f.dm(zeta) / s
        ev = sys.evaluate(m, np.zeros(zeta.shape, bool), zeta[None, :], np.zeros(zeta.shape, complex))
        return _wrap(ev["logz"]), ev["a"] * dmz + n / zeta, m, dmz, ev["noise"]

    with np.errstate(all="ignore"):
        zs = lo + (hi - lo) * np.logspace(-6, 0, 361)[:-1]
        lz, g, m, dmz, noise = along(zs)
        ok = np.isfinite(lz) & np.isfinite(g) & (np.abs(lz.imag) < 1e-3)
        down = np.flatnonzero(ok[:-1] & ok[1:] & (g.real[:-1] > 0) & (g.real[1:] <= 0))
        if down.size == 0:
            return None
        i = int(down[0])
        # u = Re log z must rise along the segment up to the critical point
        if not (np.all(ok[: i + 1]) and np.all(np.diff(lz.real[: i + 1]) > 0)):
            return None
        z = zs[i] + (zs[i + 1] - zs[i]) * g.real[i] / (g.real[i] - g.real[i + 1]) + 0j
        for _ in range(100):  # Newton, central differences (roots come in near-conjugate pairs: slow at first)
            h = 1e-7 * abs(z)
            gg = along(np.array([z, z + h, z - h]))[1]
            dz = gg[0] * 2 * h / (gg[1] - gg[2])
            if not np.isfinite(dz):
                return None
            z = z - dz
            if abs(dz) <= 1e-10 * abs(z):  # log z is flat there: Re log z_c to ~1e-14
                break
        else:
            return None
        lzc = complex(along(z)[0][0])
        if not (abs(z - zs[i]) < 0.5 * (zs[i + 1] - zs[i - 1] if i else zs[i + 1]) + 1e-3 * abs(zs[i])
                and abs(lzc.imag) <= 1e-5 and lzc.real < hi_u):
            return None
        edge = lzc.real
        # x rho at the real-x solution one Newton step from the segment point (log z -> Re log z)
        xr = np.imag(m[: i + 1] - 1j * lz.imag[: i + 1] * dmz[: i + 1] / g[: i + 1]) / -math.pi
        # its rounding level: the noise of log z (which grows with the depth) carried by the same step, taken
        # where it is lowest (it grows as 1/|g| towards the critical point, where the one-step estimate of a
        # real soft tail of ~1e-11 would pass for noise: depth 2000)
        xr_noise = float(np.min(noise[: i + 1] * np.abs(dmz[: i + 1] / g[: i + 1]))) / math.pi
    quiet = np.abs(xr) <= 1e-13 * mass + min(4 * xr_noise, 1e-9 * mass)
    if not quiet[0]:
        return None
    k = int(np.argmin(quiet)) - 1 if not np.all(quiet) else i
    # a piece at least 3e-3 wide below the edge (its lowest nodes are the caller's check of the edge)
    k = min(k, max(0, int(np.searchsorted(lz.real[: i + 1], edge - 2e-3)) - 1))
    u_q = float(lz.real[k])
    return u_q - 0.5 * (edge - u_q), edge


def _soft_edge(sys, hi_u, n=96, max_span=math.inf):
    """Soft lower edge (cut, edge) of a band reaching 0, in u = log(x / scale), or None.

    A product with smooth activations (D^2 without mass near 0, no linear factor vanishing at m_0) reaches
    0 only through a tail that decays faster than any power.  A coarse solve on the band's own grid finds
    ``cut``, the largest node below the peak with x rho <= 1e-14 of the band's mass (the mass below it is
    negligible at the 1e-12 level; up to 4 x the rounding level of x rho, which grows with the depth);
    the grid reaches 40 e-folds below the band's top, deeper (twice, up to 640) while its lowest nodes carry
    mass or are not certified (the soft edge of depth 10^4 lies ~61 e-folds down; far below it, where
    x rho ~ e^-100, the continuation may fail); None when they still do at 640 (a power law at 0: the band
    keeps its tail).  Deep products rise from that tail almost like a square-root edge (x rho from 1e-7 to 1e-3
    of its maximum within 1e-3 in log x); ``edge``, where x rho first exceeds 1e-6 of its maximum, is
    located by refinements of the bracket (16 points each, at least two, until it is below 5e-3) and a
    quadratic fit of (x rho)^2 in u.
    """
    for span in (40.0, 80.0, 160.0, 320.0, 640.0):
        if span > max_span and span > 40.0:
            return None
        u, w, _ = _band_nodes(-np.inf, hi_u, n, span=span)
        m, ok, _res, _fb, acc = _solve_real(sys, u)
        xr = np.where(ok, -np.imag(m) / math.pi, np.nan)
        if not np.any(np.isfinite(xr)) or not np.nanmax(xr) > 0:
            return None
        order = np.argsort(u)
        u, w, xr, acc = u[order], w[order], xr[order], acc[order]
        k_peak = int(np.nanargmax(xr))
        mass = float(np.nansum(w * xr))
        thr = 1e-14 * mass + np.minimum(4 * acc / math.pi, 1e-9 * mass)
        low = np.flatnonzero(xr[:k_peak] <= thr[:k_peak])
        if low.size and np.all(xr[: max(1, u.size // 20)] <= thr[: max(1, u.size // 20)]):
            break
    else:
        return None
    i_cut = int(low.max())
    cut = float(u[i_cut])
    big = 1e-6 * float(xr[k_peak])

    def first_big():  # above the cut (uncertified nodes far below it must not stop the search)
        return i_cut + 1 + int(np.flatnonzero(np.nan_to_num(xr[i_cut + 1: k_peak + 1], nan=np.inf) >= big)[0])

    for rnd in range(5):
        j = first_big()
        if j == 0 or not np.all(np.isfinite(xr[j - 1: j + 1])):
            return cut, cut
        if rnd >= 2 and u[j] - u[j - 1] <= 5e-3:
            break
        uu = np.linspace(u[j - 1], u[j], 18)[1:-1]
        mm, okk, _res, _fb, _acc = _solve_real(sys, uu)
        xx = np.where(okk, -np.imag(mm) / math.pi, np.nan)
        u, xr = np.concatenate([u[:j], uu, u[j:]]), np.concatenate([xr[:j], xx, xr[j:]])
        k_peak += uu.size
    j = first_big()
    lo_b, hi_b = float(u[j - 1]), float(u[j])
    edge = lo_b
    fit_u, fit_y = u[j: j + 3], xr[j: j + 3] ** 2
    if fit_u.size == 3 and np.all(np.isfinite(fit_y)):
        roots = np.roots(np.polyfit(fit_u - hi_b, fit_y, 2)) + hi_b
        roots = roots[np.isreal(roots)].real
        roots = roots[(roots >= lo_b) & (roots <= hi_b)]
        if roots.size:
            edge = float(roots.max())
    return cut, max(edge, cut)


def _hidden_soft_edge_possible(sys, lo, hi) -> bool:
    """Whether the lowest band [lo, hi] (log x) may hide a soft lower edge far above ``lo``: one smooth
    implicit factor (D^2 with a continuous law reaching towards 0, e.g. selu / elu), no power law at 0, and a
    band wider than :data:`_WIDE_BAND_LOG_RATIO`.  Its ``lo`` is then the critical value at the end of the
    quadrature's view of D^2 (~1e-13), while the product rises from ~0 to its bulk at an edge tens of
    e-folds higher, which the cosine map would cross with a few nodes (mass off by 1e-5 at depth 8)."""
    return (sys.k == 1 and not sys.gen and sys.imp[0].values is None and sys.kappa <= 0
            and hi - lo > _WIDE_BAND_LOG_RATIO)


#: Errors of the solver that leave a partial answer (the point-mass limit, or an uncertified result) rather
#: than a bad input: no band, no critical point, overflow in a continuation.
_SOLVER_ERRORS = (RuntimeError, FloatingPointError, ZeroDivisionError, np.linalg.LinAlgError)

#: The point-mass limit of D^2 is served without trying the solver when the relative variance it drops (the
#: sum over D^2 factors of multiplicity x (m2/m1^2 - 1)) is below this: far under the solver's own accuracy
#: (~1e-10), and the spectrum is then too narrow for it (q* = 0, or q* < ~1e-9 near isometry).
_DIRECT_LIMIT_SPREAD = 1e-12


def _density(law, points, tail_tol):
    r"""The solver's density, or -- where it fails or is not certified -- the point-mass limit of D^2.

    Near isometry (:math:`q^* \to 0` on the critical line, or :math:`q^* = 0` with :math:`\sigma_b^2 = 0`)
    the law of :math:`D^2` concentrates at its mean and the spectrum of :math:`JJ^T` narrows to a relative
    width of about :math:`\sqrt{L\,\mathrm{Var}(D^2)}/E[D^2]`, below what the solver resolves in floating
    point.  :func:`_point_mass_limit` replaces every factor of :math:`D^2` by the point mass at its mean:
    orthogonal weights give one atom at :math:`m_1`, Gaussian weights the scaled Fuss--Catalan law.  The
    limit keeps :math:`m_1` exactly; its certificate is the usual one against the law's own series (mass,
    :math:`m_1`, :math:`m_2` within :data:`CERTIFICATE_TOL`), so it is served as certified exactly when the
    law is within that distance of its limit, and the diagnostics state the distance (``limit_error``:
    the relative error of :math:`m_2`; for a single atom also ``limit_w2``, the Wasserstein-2 distance
    :math:`\sqrt{m_2 - m_1^2} = m_1 \sqrt{\sum_j n_j \mathrm{Var}(D_j^2)/E[D_j^2]^2}` to the true law (free
    multiplicative convolution adds relative variances exactly); ``limit_reason``: why the
    limit was served).  It is served directly, without the solver, when the variance it drops is below
    :data:`_DIRECT_LIMIT_SPREAD`.
    """
    spread = _limit_spread(law)
    if spread is not None and spread <= _DIRECT_LIMIT_SPREAD:
        res, failure = None, (f"D^2 is a point mass within rounding (relative spread of the product "
                              f"{spread:.1e})")
    else:
        try:
            res = _solve_density(law, points, tail_tol)
            failure = res.reason
        except _SOLVER_ERRORS as exc:
            res, failure = None, f"solver: {type(exc).__name__}: {exc}"
        if not failure:
            return res
    if spread is not None:
        limit = _point_mass_limit(law, spread)
        lim = _solve_density(limit.law, points, tail_tol)
        if lim.certified or res is None:
            diag = dict(lim.diagnostics)
            diag.update(limit_reason=failure, limit_error=diag.get("m2_rel_err", math.nan),
                        method="point-mass limit of D^2 (each D^2 factor replaced by the point mass at its mean): "
                               + str(diag.get("method", "")))
            if len(lim.atoms) == 1 and lim.support is None:
                # every other factor is a point mass too (Haar): the variance of the law is m1^2 spread
                diag["limit_w2"] = diag["m1_series"] * math.sqrt(limit.spread)
            if not lim.certified:
                diag["failure"] = failure
            return DensityResult(lim.x, lim.density, lim.atoms, lim.support, lim.lambda_max, lim.mass, diag,
                                 getattr(law, "name", ""), points, lim._cum, lim.weights)
    if res is None:
        raise RuntimeError(f"{getattr(law, 'name', law)}: no density could be computed ({failure}) and the "
                           "law has no point-mass limit to hand over to")
    return res


@dataclass(frozen=True)
class _PointMassLimit:
    """The point-mass limit of a law: ``law`` (its ``moments12`` are the original law's series, which the
    certificate compares with) and ``spread``, the relative variance dropped with D^2."""

    law: FactorizedLaw
    spread: float


def _limit_spread(law) -> float | None:
    """Relative variance dropped by the point-mass limit: sum over D^2 factors of multiplicity x
    (m2/m1^2 - 1) (free multiplicative convolution adds the relative variances of its factors exactly:
    m2(ab) = m2(a) + m2(b) - 1 for free a, b of mean 1); None when the law has no D^2 factor."""
    try:
        factors = _factors(law)
    except (ValueError, TypeError):
        return None
    imp = [f for f in factors if isinstance(f, ImplicitFactor)]
    if not imp:
        return None
    return sum(abs(f.multiplicity) * (f.spread if f.spread == f.spread else abs(f.offset / f.mean - 1.0))
               for f in imp)


def _point_mass_limit(law, spread) -> _PointMassLimit:
    """The law with every implicit factor (D^2) replaced by the point mass at its mean."""
    new = tuple(LinearFactor(1.0 / f.mean, (), f.multiplicity, f.scale) if isinstance(f, ImplicitFactor) else f
                for f in _factors(law))
    m1s, m2s, _err = _series_m12(law)
    atoms = _law_atoms(law)
    sys = _System(new)
    if sys.linear and sys.b.size == 1 and sys.b[0] == 1.0 and sys.e[0] == 1.0 and sys.e_m == -1.0:
        atoms = ((math.exp(sys.const), 1.0),)   # S_J constant: the whole law is one atom
    return _PointMassLimit(FactorizedLaw(new, atoms, f"{getattr(law, 'name', 'law')} [point-mass limit of D^2]",
                                         (m1s, m2s)), spread)


@_quiet
def _solve_density(law, points, tail_tol):
    atoms = _law_atoms(law)
    cmass_exact = _continuous_mass(law)
    m1s, m2s, moment_error = _series_m12(law)
    name = getattr(law, "name", "")
    atom_mass = sum(p for _, p in atoms)
    a1 = sum(a * p for a, p in atoms)
    a2 = sum(a * a * p for a, p in atoms)

    def rel(v, ref):
        return abs(v / ref - 1.0) if ref == ref and ref != 0 else math.nan

    if cmass_exact <= 1e-15:
        lam = max(a for a, _ in atoms)
        diag = dict(continuous_mass=0.0, continuous_mass_exact=0.0, atom_mass=atom_mass, tail_mass=0.0,
                    mass_error=abs(atom_mass - 1.0), m1=a1, m2=a2, m1_series=m1s, m2_series=m2s,
                    moment_check_error=moment_error, m1_rel_err=rel(a1, m1s), m2_rel_err=rel(a2, m2s),
                    worst_residual=0.0, uncertified=np.array([], int), fallback=np.array([], int),
                    n_uncertified_total=0, bands=[], gap=False, top_atom=True, method="atoms only", nodes=0)
        return DensityResult(np.array([]), np.array([]), atoms, None, lam, atom_mass, diag, name, points,
                             np.array([]))
    e = edges(law)
    log_c = e.log_lambda_max
    sys = _system(law, log_c)
    nb = len(e.log_bands)
    counts = [max(32, points // nb)] * nb
    counts[-1] = max(32, points - sum(counts[:-1]))
    us, ws, sols = [], [], []
    floor_u = None
    soft_edges = []
    for i_band, ((lo, hi), n) in enumerate(zip(e.log_bands, counts, strict=True)):
        soft, fast, hidden = None, False, False
        if np.isneginf(lo) and sys.k and sys.kappa <= 0:
            soft = _soft_edge_critical(sys, hi - log_c, cmass_exact)
            fast = soft is not None
            if not fast:
                soft = _soft_edge(sys, hi - log_c)
        elif i_band == 0 and _hidden_soft_edge_possible(sys, lo, hi):
            soft = _soft_edge_critical(sys, hi - log_c, cmass_exact)
            fast = soft is not None and soft[0] > lo - log_c
            if not fast:
                soft = _soft_edge(sys, hi - log_c, max_span=hi - lo)
            hidden = soft is not None and soft[0] > lo - log_c
            soft = soft if hidden else None
        u, w, fl = _band_nodes(-np.inf if hidden else lo - log_c, hi - log_c, n, soft, log_map=_log_map_ok(sys))
        sol = _solve_real(sys, u, breaks=(soft[1],) if fast else ())
        if hidden:
            # the lowest nodes must carry no mass (else: the band's own grid down to its lower end)
            low = np.argsort(u)[: max(3, u.size // 200)]
            xr_low = -np.imag(sol[0][low]) / math.pi
            tol_low = 1e-13 * cmass_exact + np.minimum(4 * sol[4][low] / math.pi, 1e-9 * cmass_exact)
            if not (np.all(sol[1][low]) and np.all(np.abs(xr_low) <= tol_low)):
                soft, fast, hidden = None, False, False
                u, w, fl = _band_nodes(lo - log_c, hi - log_c, n)
                sol = _solve_real(sys, u)
        elif fast:
            # the lowest nodes must carry no mass (else: the soft edge by the search on the band's grid)
            # (up to the rounding level of -Im m / pi there, capped at 1e-9 of the mass)
            low = np.argsort(u)[: max(3, u.size // 200)]
            xr_low = -np.imag(sol[0][low]) / math.pi
            tol_low = 1e-13 * cmass_exact + np.minimum(4 * sol[4][low] / math.pi, 1e-9 * cmass_exact)
            if not (np.all(sol[1][low]) and np.all(np.abs(xr_low) <= tol_low)):
                soft = _soft_edge(sys, hi - log_c)
                u, w, fl = _band_nodes(lo - log_c, hi - log_c, n, soft)
                sol = _solve_real(sys, u)
        if soft is not None:
            soft_edges.append(math.exp(min(soft[1] + log_c, 709.0)))
        if fl is not None:
            floor_u = fl
        us.append(u)
        ws.append(w)
        sols.append(sol)
    u, wv = np.concatenate(us), np.concatenate(ws)
    m, ok, res, fb, acc = (np.concatenate([sol[i] for sol in sols]) for i in range(5))
    xrho = -np.imag(m) / math.pi
    remainder = 0.0
    tail_info: dict = {}
    if floor_u is not None:
        k0 = int(np.argmin(u))
        k1 = int(np.argsort(u)[5])
        beta = e.beta
        if not (beta == beta and beta > 0):
            ratio = xrho[k1] / xrho[k0] if xrho[k0] > 0 else math.nan
            beta = math.log(ratio) / (u[k1] - u[k0]) if ratio > 0 else math.nan
            if not (np.isfinite(beta) and beta > 0):
                beta = 1.0 / (1.0 + sys.ntot)
            beta = min(beta, 1.0)
        est = max(xrho[k0], 0.0) / beta if np.isfinite(xrho[k0]) else math.inf
        tail_info = dict(tail_exponent=beta, tail_remainder=0.0, tail_uncertified=0)
        if est > tail_tol:
            T = math.log(est / tail_tol) + 4.0
            nt = max(64, points // 8)
            tt, wt = _gl(nt, 0.0, T)
            ut = floor_u - tt / beta
            # anchors every 8th node: the tail spans thousands of e-folds in which m approaches m_0 and the
            # solver switches to delta = m - m_0; interpolating m over 32 such nodes has let Newton settle on
            # another sheet (tanh/Gaussian depth 256: total mass 2.7)
            mt, okt, rest, fbt, acct = _solve_real(sys, ut, stride=8)
            xrt = -np.imag(mt) / math.pi
            good_t = np.flatnonzero(okt & (xrt > 0))
            if good_t.size:
                i1 = good_t[-1]
                remainder = float(xrt[i1] / beta)
                # nodes below the deepest certified one are covered by the (bounded) remainder
                okt = okt | (np.arange(nt) > i1)
                xrt = np.where(np.arange(nt) > i1, 0.0, xrt)
            else:
                remainder = math.nan
            u = np.concatenate([ut, u])
            wv = np.concatenate([wt / beta, wv])
            m = np.concatenate([mt, m])
            xrho = np.concatenate([xrt, xrho])
            ok, res, fb = np.concatenate([okt, ok]), np.concatenate([rest, res]), np.concatenate([fbt, fb])
            acc = np.concatenate([acct, acc])
            tail_info.update(tail_remainder=remainder, tail_uncertified=int(nt - 1 - (good_t[-1] if
                                                                                     good_t.size else -1)),
                             tail_log_x_min=float(ut[-1] + log_c))
    # -Im m / pi at rounding level below 0 (where the density is ~0) is 0; anything larger is an error
    top_xr = float(np.max(np.where(ok & np.isfinite(xrho), np.abs(xrho), 0.0), initial=0.0))
    # (or at the rounding level of m itself, 4 x its attainable accuracy, capped at 1e-4 of the maximum:
    # within 1e-9 of a square-root edge d log z / dm -> 0 and m is known to ~1e-8 only, while x rho ~ 1e-9)
    tiny_neg = ok & (xrho < 0) & (xrho >= -np.maximum(1e-10 * top_xr, np.minimum(4 * acc / math.pi,
                                                                                 1e-4 * top_xr)))
    xrho = np.where(tiny_neg, 0.0, xrho)
    ok = ok & ~(xrho < 0)
    order = np.argsort(u, kind="stable")
    u, wv, xrho, ok, res, fb = u[order], wv[order], xrho[order], ok[order], res[order], fb[order]
    contrib = np.where(ok, wv * xrho, 0.0)
    cum = remainder + np.cumsum(contrib) - 0.5 * contrib
    cmass = remainder + float(np.sum(contrib))
    with np.errstate(under="ignore", over="ignore"):
        xs = np.exp(u)
    scale = math.exp(min(log_c, 709.0))
    cm1 = float(np.sum(contrib * xs)) * scale
    cm2 = float(np.sum(contrib * xs * xs)) * scale**2
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        r_all = xrho / xs / scale
    # normal floats only, and rho itself in range (rho ~ x^(beta - 1) overflows near x = 1e-264 at depth 256):
    # such nodes count in the mass bookkeeping like those below the float range, but are not listed
    listed = (xs * scale >= 1e-300) & (np.isfinite(r_all) | ~ok)
    x_out = xs[listed] * scale
    r_out = np.where(ok[listed], r_all[listed], np.nan)
    tail_mass = float(cum[listed][0] - 0.5 * contrib[listed][0]) if np.any(listed) else cmass
    xabs = xs * scale
    band_mass = [float(np.sum(contrib[(xabs >= lo) & (xabs <= hi)])) + (remainder if lo == 0 else 0.0)
                 for lo, hi in e.bands]
    total = cmass + atom_mass
    m1d, m2d = cm1 + a1, cm2 + a2
    res_ok = res[ok & np.isfinite(res)]
    n_unc = int(np.sum(~ok))
    diag = dict(
        continuous_mass=cmass, continuous_mass_exact=cmass_exact, atom_mass=atom_mass, tail_mass=tail_mass,
        mass_error=abs(total - 1.0), m1=m1d, m2=m2d, m1_series=m1s, m2_series=m2s, moment_check_error=moment_error,
        m1_rel_err=rel(m1d, m1s), m2_rel_err=rel(m2d, m2s),
        worst_residual=float(np.max(res_ok)) if res_ok.size else math.nan,
        uncertified=np.flatnonzero(~ok[listed]), n_uncertified_total=n_unc,
        fallback=np.flatnonzero(fb[listed]), bands=[list(b) for b in e.bands], band_mass=band_mass, gap=e.gap,
        soft_lower_edges=soft_edges,
        top_atom=e.top_atom, edges=(e.lo, e.hi), nodes=int(u.size),
        method="per band: cosine map (band away from 0) or Gauss-Legendre in log x + s^2 map to the top "
               "edge + power-law tail in log x (band reaching 0)",
        **tail_info,
    )
    return DensityResult(x_out, r_out, atoms, (e.lo, e.hi), e.lambda_max, total, diag, name, points,
                         cum[listed], wv[listed] * xs[listed] * scale)


# ------------------------------------------------------------------------------------------ pdf/cdf/ppf
@_thread_policy
def pdf(law, x):
    """Density of the continuous part at x (solved pointwise; 0 outside the bands; atoms excluded).

    Points that cannot be certified are NaN (with a ``RuntimeWarning``).  The bands come from the law's
    certified density (:func:`density` with the default grid, cached): when that is not certified, an
    :class:`UncertifiedDensityWarning` names the failing checks.
    """
    x = np.asarray(x, dtype=float)
    if np.any(np.isnan(x)):
        raise ValueError("x must not contain NaN")
    out = np.zeros(x.shape)
    if _continuous_mass(law) <= 1e-15:
        return out
    _warn_uncertified(_certified_density(law), "pdf", stacklevel=4)
    e = edges(law)
    inside = np.zeros(x.shape, bool)
    for lo, hi in e.bands:
        inside |= (x > lo) & (x < hi)
    if np.any(inside):
        xp = x[inside]
        for a, _p in _law_atoms(law):  # the continuous part at an atom location: its one-sided limit
            xp = np.where(np.abs(xp - a) <= 1e-13 * max(abs(a), 1e-300), xp * (1 - 1e-11), xp)
        m = solve_m_transform(law, xp + 0j)
        out[inside] = np.maximum(-np.imag(m) / math.pi / xp, 0.0) if np.all(np.isfinite(m)) \
            else -np.imag(m) / math.pi / xp
    return out


class _Cdf:
    """Distribution function of a :class:`DensityResult` and its generalised inverse.

    Continuous part: per band, the antiderivative in u = log x of a monotone cubic (PCHIP) interpolant
    of x rho(x) through the nodes (positive, so the cumulative is monotone), rescaled to the band's
    quadrature mass; below the first listed node the power law of the tail; flat in gaps.  Atoms are
    added as jumps (right-continuous).
    """

    def __init__(self, res: DensityResult):
        from scipy.interpolate import PchipInterpolator

        self.atoms = res.atoms
        self.lam = res.lambda_max
        self.pieces = []  # (lo, hi, c_before, band_mass, u_nodes, cumulative(v) on [u_0, u_last], beta)
        if res.x.size:
            d = res.diagnostics
            c0 = 0.0
            beta = d.get("tail_exponent")
            for (lo, hi), bm in zip(d["bands"], d["band_mass"], strict=True):
                with np.errstate(over="ignore", invalid="ignore"):
                    gx = res.x * res.density
                sel = (res.x > lo) & (res.x < hi) & np.isfinite(res.density) & np.isfinite(gx)
                x = res.x[sel]
                u = np.log(x)
                g = gx[sel]
                # PCHIP needs strictly increasing, finite nodes (log x can tie for nodes 1 ulp apart)
                keep = np.concatenate([[True], np.diff(u) > 0]) if u.size else np.zeros(0, bool)
                x, u, g = x[keep], u[keep], g[keep]
                below = d["tail_mass"] if lo == 0 else 0.0
                if u.size >= 2:
                    anti = PchipInterpolator(u, g).antiderivative()
                    a0 = float(anti(u[0]))
                    span = float(anti(u[-1])) - a0 + 0.5 * g[-1] * (math.log(hi) - u[-1])
                    w_end = (bm - below) / max(span, 1e-300)

                    def cum(v, anti=anti, a0=a0, below=below, w_end=w_end):
                        return below + (anti(v) - a0) * w_end
                else:
                    def cum(v, below=below):
                        return np.full(np.shape(v), below)
                self.pieces.append((lo, hi, c0, bm, u, cum, beta if lo == 0 else None))
                c0 += bm

    def continuous(self, x):
        x = np.asarray(x, dtype=float)
        out = np.zeros(x.shape)
        for lo, hi, c0, bm, u, cum, beta in self.pieces:
            out = np.where(x >= hi, c0 + bm, out)
            inside = (x > lo) & (x < hi)
            if not np.any(inside) or u.size == 0:
                continue
            v = np.log(x[inside])
            val = np.empty(v.shape)
            first, top = v < u[0], v > u[-1]
            mid = ~first & ~top
            val[mid] = cum(v[mid])
            c_first, c_last = float(cum(u[0])), float(cum(u[-1]))
            # between the last node and the band top: linear in u up to the band mass
            val[top] = c_last + (bm - c_last) * (v[top] - u[-1]) / max(math.log(hi) - u[-1], 1e-300)
            if beta:  # power-law tail below the first listed node
                val[first] = c_first * np.exp(beta * (v[first] - u[0]))
            elif lo > 0:
                val[first] = c_first * (v[first] - math.log(lo)) / max(u[0] - math.log(lo), 1e-300)
            else:
                val[first] = c_first
            out[inside] = c0 + val
        return out

    def __call__(self, x):
        x = np.asarray(x, dtype=float)
        out = self.continuous(x)
        for a, p in self.atoms:
            out = out + np.where(x >= a, p, 0.0)
        return np.clip(out, 0.0, 1.0)

    def inverse(self, q):
        from scipy.optimize import brentq

        q = np.asarray(q, dtype=float)
        flat = q.ravel()
        knots = [np.exp(pc[4]) for pc in self.pieces] + [[pc[0], pc[1]] for pc in self.pieces]
        pts = np.unique(np.concatenate([np.concatenate(knots) if knots else np.array([]),
                                        [0.0, self.lam], [a for a, _ in self.atoms]]))
        fp = self(pts)
        out = np.empty(flat.shape)
        for i, qi in enumerate(flat):
            if qi >= 1.0:
                out[i] = self.lam
                continue
            j = int(np.searchsorted(fp, qi, side="left"))  # first knot with F >= q
            if j == 0:
                out[i] = pts[0]
                continue
            if j >= pts.size:
                out[i] = self.lam
                continue
            a, b = pts[j - 1], pts[j]
            if float(self(np.array(b * (1 - 1e-15)))) < qi:
                out[i] = b  # q falls in the jump at b (an atom) or on a flat piece ending at b
                continue
            f = lambda t, qi=qi: float(self(np.array(t))) - qi  # noqa: E731
            if a == 0.0 or b > 1e3 * a:  # bracket in log x first (deep tails span hundreds of decades)
                ua, ub = math.log(max(a, _TINY)), math.log(b)
                if f(math.exp(ua)) >= 0:
                    out[i] = math.exp(ua) if a > 0 else 0.0
                    continue
                u = brentq(lambda t, f=f: f(math.exp(t)), ua, ub, xtol=1e-9)
                lo, hi = math.exp(u - 2e-9), math.exp(u + 2e-9)
                if a < lo and hi < b and f(lo) < 0 <= f(hi):
                    a, b = lo, hi
            out[i] = brentq(f, a, b, xtol=1e-300, rtol=4 * _EPS)
        return out.reshape(q.shape)


def _check_q(q):
    q = np.asarray(q, dtype=float)
    if np.any(~np.isfinite(q) | (q < 0) | (q > 1)):
        raise ValueError("q must lie in [0, 1] (probabilities)")
    return q


def _grid_ppf(res: DensityResult, q):
    return _Cdf(res).inverse(_check_q(q))


def cdf(law, x, points=2000):
    """P(lambda <= x), right-continuous (as scipy.stats): every atom at a location <= x plus the
    continuous part, integrated on the density grid (monotone cubic interpolation of the cumulative
    quadrature between nodes, accuracy ~1e-7 relative to the mass; flat in gaps).  cdf(0) is the atom
    at 0.  An uncertified density warns (:class:`UncertifiedDensityWarning`)."""
    x = np.asarray(x, dtype=float)
    if np.any(np.isnan(x)):
        raise ValueError("x must not contain NaN")
    res = _certified_density(law, _check_points(points))
    _warn_uncertified(res, "cdf")
    return _Cdf(res)(x)


def ppf(law, q, points=2000):
    """Generalised inverse of :func:`cdf`: inf{x : cdf(x) >= q}, q in [0, 1].

    Atoms give flat steps: every q in (F(a-), F(a)] maps to the atom location a; ppf(0) = 0 and
    ppf(1) = lambda_max.  cdf(ppf(q)) >= q, with equality inside the continuous part.  An uncertified
    density warns (:class:`UncertifiedDensityWarning`).
    """
    q = _check_q(q)
    res = _certified_density(law, _check_points(points))
    _warn_uncertified(res, "ppf")
    return _Cdf(res).inverse(q)


# ------------------------------------------------------------------------------------------ singular values
@dataclass(frozen=True, eq=False)
class SingularValueLaw:
    """Law of the singular values s of J, s^2 = eigenvalue of J J^T: rho_s(s) = 2 s rho(s^2).

    Atoms sit at sqrt(location) with the same masses; cdf_s(s) = cdf(s^2); ppf_s(q) = sqrt(ppf(q)).
    """

    eig: object

    @property
    def name(self):
        return f"singular values of {getattr(self.eig, 'name', 'law')}"

    @property
    def atoms(self):
        return tuple((math.sqrt(a), p) for a, p in _law_atoms(self.eig))

    def support(self):
        sup = support(self.eig)
        return None if sup is None else (math.sqrt(sup[0]), math.sqrt(sup[1]))

    @property
    def lambda_max(self):
        """Largest singular value (square root of the top of the eigenvalue spectrum)."""
        return math.sqrt(lambda_max(self.eig))

    def density(self, points=2000, **kwargs):
        """:class:`DensityResult` in the variable s (same nodes as the eigenvalue density)."""
        r = density(self.eig, points, **kwargs)
        s = np.sqrt(r.x)
        d = dict(r.diagnostics)
        d["variable"] = "singular value s, rho_s(s) = 2 s rho(s^2)"
        d["bands"] = [[math.sqrt(a), math.sqrt(b)] for a, b in d.get("bands", [])]
        d["edges"] = tuple(math.sqrt(v) for v in d["edges"]) if "edges" in d else None
        sup = None if r.support is None else (math.sqrt(r.support[0]), math.sqrt(r.support[1]))
        w = None if r.weights is None else r.weights / np.where(s > 0, 2 * s, 1.0)
        atoms = tuple((math.sqrt(max(float(a), 0.0)), p) for a, p in r.atoms)  # the result's own (limit) atoms
        return DensityResult(s, 2 * s * r.density, atoms, sup, math.sqrt(r.lambda_max), r.mass, d,
                             r.law + " [singular values]", points, r._cum, w)

    def pdf(self, s):
        s = np.asarray(s, float)
        return 2 * s * pdf(self.eig, np.where(s > 0, s * s, 0.0))

    def cdf(self, s, points=2000):
        s = np.asarray(s, float)
        return cdf(self.eig, np.where(s > 0, s * s, 0.0), points)

    def ppf(self, q, points=2000):
        return np.sqrt(ppf(self.eig, q, points))

    def moments(self, k):
        raise NotImplementedError("moments of the singular values: use the eigenvalue law (m_k of s^2)")


def singular_values(law) -> SingularValueLaw:
    """The law of the singular values of J for the law of J J^T."""
    return SingularValueLaw(law)


class DensityMixin:
    """Methods a spectral law gains from :mod:`spectral.density` (bound by inheritance)."""

    def density(self, points=2000, **kwargs):
        """Density on an adaptive grid (:func:`spectral.density.density`)."""
        return density(self, points, **kwargs)

    def pdf(self, x):
        """Density of the continuous part at x (:func:`spectral.density.pdf`)."""
        return pdf(self, x)

    def cdf(self, x):
        """P(lambda <= x), atoms included (:func:`spectral.density.cdf`)."""
        return cdf(self, x)

    def ppf(self, q):
        """Generalised inverse of the cdf (:func:`spectral.density.ppf`)."""
        return ppf(self, q)

    @property
    def lambda_max(self):
        """Top of the spectrum (:func:`spectral.density.lambda_max`)."""
        return lambda_max(self)

    def singular_values(self):
        """Law of the singular values of J (:class:`spectral.density.SingularValueLaw`)."""
        return singular_values(self)
