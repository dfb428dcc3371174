r"""Gaussian expectations :math:`E[f(\sqrt q\, z)]`, :math:`z \sim N(0, 1)`, in float and any precision.

Float route
-----------
Composite Gauss–Legendre in :math:`x = \sqrt q\, z` over :math:`[-R, R]`, :math:`R = 13\sqrt q`
(the Gaussian mass outside is below :math:`10^{-38}`), with panel boundaries at

* the breakpoints of the integrand (the kinks of the activation: relu 0, hard-tanh :math:`\pm 1`), so
  that every panel sees an analytic function and the rule converges exponentially;
* a Gaussian-scale partition :math:`\pm\sqrt q \{0.75, 1.5, 2.5, 3.5, 5, 7, 9.5\}`;
* an activation-scale partition :math:`\pm\{0.25, 0.5, 1, 2, 4, 8, 16\}` (where tanh-like functions
  turn), clipped to :math:`[-R, R]`.

Panels of zero width (clipped duplicates) contribute nothing, so every ``q`` gets the same number of
nodes and the rule is vectorized over arrays of ``q``.  With 24 nodes per panel the relative error is
:math:`\le 10^{-13}` against mpmath for every registry activation and :math:`10^{-6} \le q \le 10^3`
(``tests/test_gaussian.py``, reference values in ``reference_data/gaussian_expectations.json``).

Arbitrary precision
-------------------
``precision=digits`` integrates with :func:`mpmath.quad` (tanh-sinh) split at the same breakpoints,
inside a local ``mpmath.workdps`` context (the global precision is never changed).  The integrand must
accept :class:`mpmath.mpf`; activations provide one through their sympy expression.

Closed forms are used first where they exist (:func:`dphi_moments` for Bernoulli-type :math:`\phi'`
erf and sin, :func:`phi_second_moment` for linear, relu, leaky relu, hard-tanh, erf and sin).
The generic rule resolves oscillations of period :math:`2\pi` only for :math:`q \lesssim 100`, which is
why sin uses its closed forms.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from functools import lru_cache

import mpmath
import numpy as np
import sympy

from .activations import Activation, X
from .activations import activation as _resolve

__all__ = ["gaussian_expectation", "gaussian_nodes", "dphi_moments", "dphi_squared_quadrature",
           "phi_second_moment", "phi_second_moment_slope", "dphi_squared_mean", "mp_function"]

_RADIUS = 13.0
_GAUSS_EDGES = (0.75, 1.5, 2.5, 3.5, 5.0, 7.0, 9.5)
_ACT_EDGES = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0)
_ORDER = 24


@lru_cache(maxsize=16)
def _legendre(n: int):
    t, w = np.polynomial.legendre.leggauss(n)
    return t, w


def _check_q_array(q) -> np.ndarray:
    try:
        qa = np.asarray(q, dtype=float)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"q (the pre-activation variance) must be a real number or array, got {q!r}") from exc
    if not np.all(np.isfinite(qa)) or np.any(qa <= 0):
        raise ValueError(f"q (the pre-activation variance) must be finite and > 0, got {q!r}; for q = 0 "
                         "use the value of the integrand at 0")
    return qa


def gaussian_nodes(q, breakpoints: Sequence[float] | np.ndarray = (), order: int = _ORDER):
    r"""Nodes and weights of the composite rule for :math:`E[f(\sqrt q z)] \approx \sum_i w_i f(x_i)`.

    Parameters
    ----------
    q : float or ndarray
        Variance(s), > 0.
    breakpoints : sequence of float, or ndarray of shape ``q.shape + (k,)``
        Points where the integrand is not analytic (panel boundaries); an array gives each ``q`` its own.
    order : int
        Gauss–Legendre nodes per panel.

    Returns
    -------
    x, w : ndarray, shape ``q.shape + (n,)``
        Nodes (in :math:`x`) and weights (Gaussian density included; they sum to 1 within 1e-38).
    """
    qa = _check_q_array(q)
    s = np.sqrt(qa)[..., None]
    r = _RADIUS * s
    g = np.asarray(_GAUSS_EDGES)
    a = np.asarray(_ACT_EDGES)
    kinks = np.asarray(breakpoints, dtype=float)
    kinks = np.broadcast_to(kinks, qa.shape + kinks.shape[-1:]) if kinks.ndim else np.zeros(qa.shape + (0,))
    fixed = np.broadcast_to(np.concatenate([-a, a]), qa.shape + (2 * a.size,))
    edges = np.concatenate([-r, r, np.zeros(s.shape), -g * s, g * s, fixed, kinks], axis=-1)
    edges = np.sort(np.clip(edges, -r, r), axis=-1)
    lo, hi = edges[..., :-1], edges[..., 1:]
    t, wt = _legendre(order)
    half = 0.5 * (hi - lo)
    x = (0.5 * (hi + lo))[..., None] + half[..., None] * t
    w = half[..., None] * wt * np.exp(-0.5 * x**2 / qa[..., None, None]) / np.sqrt(2 * np.pi * qa)[..., None, None]
    shape = qa.shape + (-1,)
    return x.reshape(shape), w.reshape(shape)


def mp_function(f_expr: sympy.Expr) -> Callable:
    """An mpmath-callable version of a sympy expression in :data:`spectral.activations.X`."""
    return sympy.lambdify(X, f_expr, modules="mpmath")


def gaussian_expectation(f: Callable, q, *, kinks: Sequence[float] = (), precision: int | None = None):
    r"""Expectation :math:`E[f(\sqrt q\, z)]` of a function of a centred Gaussian of variance ``q``.

    Parameters
    ----------
    f : callable
        Vectorized over NumPy arrays (float route) or accepting :class:`mpmath.mpf` (``precision``).
    q : float or ndarray
        Variance(s), > 0; arrays are handled in one vectorized pass (float route).
    kinks : sequence of float
        Points where ``f`` is not analytic; the quadrature is split there (essential for relu/hard-tanh
        accuracy).
    precision : int, optional
        Decimal digits: integrate with mpmath at this precision and return an :class:`mpmath.mpf`.

    Returns
    -------
    float, ndarray or mpmath.mpf
        Relative accuracy about 1e-13 in float (see the module docstring).
    """
    if precision is not None:
        return _mp_expectation(f, q, kinks, precision)
    x, w = gaussian_nodes(q, kinks)
    val = np.sum(w * np.asarray(f(x), dtype=float), axis=-1)
    return float(val) if np.ndim(val) == 0 else val


def _check_precision(precision) -> int:
    if isinstance(precision, bool) or not isinstance(precision, int | np.integer) or precision < 5:
        raise ValueError(f"precision must be an integer number of decimal digits >= 5, got {precision!r}")
    return int(precision)


def _memoized(f, memo: dict):
    """``f`` with its values kept in ``memo`` by (point, working precision): the integrals of one family share
    their quadrature nodes (mpmath.quad's tanh-sinh nodes depend only on the interval and the precision), so a
    value computed once is reused bit for bit."""
    def g(x):
        key = (x, mpmath.mp.prec)
        v = memo.get(key)
        if v is None:
            v = memo[key] = f(x)
        return v

    return g


def _mp_expectation(f, q, kinks, precision, weights: dict | None = None):
    """:func:`gaussian_expectation` in mpmath; ``weights``: a memo of the Gaussian factor exp(-x^2/(2q)) shared
    by the calls at one q (:func:`_memoized`)."""
    dps = _check_precision(precision)
    with mpmath.workdps(dps + 10):
        q = mpmath.mpf(q) if not isinstance(q, str) else mpmath.mpf(q)
        if not (mpmath.isfinite(q) and q > 0):
            raise ValueError(f"q (the pre-activation variance) must be finite and > 0, got {q}")
        s = mpmath.sqrt(q)
        pts = [-mpmath.inf] + sorted(mpmath.mpf(k) for k in set(kinks)) + [mpmath.inf]
        pts = [p for i, p in enumerate(pts) if i == 0 or p != pts[i - 1]]
        # split further at 0 and +-s so that tanh-sinh sees the Gaussian scale
        extra = [mpmath.mpf(0), s, -s]
        pts = sorted(set(pts) | set(extra), key=lambda v: float(v) if mpmath.isfinite(v) else float(v))
        norm = 1 / mpmath.sqrt(2 * mpmath.pi * q)

        def gauss(x):
            return mpmath.exp(-x * x / (2 * q))

        if weights is not None:
            gauss = _memoized(gauss, weights)

        def integrand(x):
            return f(x) * gauss(x) * norm

        val = mpmath.quad(integrand, pts)
    with mpmath.workdps(dps):
        return +val  # rounded to the requested precision (mpf values keep the precision they were made with)


# ------------------------------------------------------------------------------ activation moments
def _breakpoints(act: Activation) -> tuple[float, ...]:
    return tuple(getattr(act, "breakpoints", ()) or act.kinks)


def _mp_dphi(act: Activation) -> Callable:
    if act.expr is None:
        raise ValueError(f"activation {act.name!r} has no sympy expression, so it cannot be evaluated in "
                         "arbitrary precision; build it from a sympy expression or use float (precision=None)")
    return mp_function(sympy.diff(act.expr, X))


def _mp_phi(act: Activation) -> Callable:
    if act.expr is None:
        raise ValueError(f"activation {act.name!r} has no sympy expression, so it cannot be evaluated in "
                         "arbitrary precision; build it from a sympy expression or use float (precision=None)")
    return mp_function(act.expr)


def _atomic_moments(atoms, n, precision):
    if precision is not None:
        with mpmath.workdps(precision + 10):
            vals = [sum(_mpconv(v) ** k * _mpconv(p) for v, p in atoms) for k in range(1, n + 1)]
        with mpmath.workdps(precision):
            return [+v for v in vals]
    v = np.asarray([float(a) for a, _ in atoms])
    p = np.asarray([float(b) for _, b in atoms])
    return (p * v ** np.arange(1, n + 1)[:, None]).sum(axis=1)


def _mp_pieces_law(act, q, precision):
    """Atoms (slope^2, P(lo < sqrt(q) z < hi)) of a piecewise-constant phi', probabilities in mpmath."""
    exact = {float(v): v for _, v in act.params}
    with mpmath.workdps(precision + 10):
        sq = mpmath.sqrt(mpmath.mpf(q))

        def cdf(b):
            b = float(b)
            return mpmath.mpf(0) if b == -math.inf else mpmath.mpf(1) if b == math.inf else mpmath.ncdf(b / sq)

        return [(_mpconv(exact.get(float(d), d)) ** 2, cdf(hi) - cdf(lo)) for lo, hi, d in act.pieces]


def _mpconv(v):
    from fractions import Fraction

    if isinstance(v, Fraction):
        return mpmath.mpf(v.numerator) / v.denominator
    return mpmath.mpf(v)


def _erf_b2(act: Activation) -> float:
    """b^2 of the erf family, phi(x) = erf(b x) (pi/4 exactly for erf_scaled: then 4b^2/pi = 1 in floats)."""
    from .activations import ERF_SCALED_B

    b = act.param_dict["b"]
    return math.pi / 4.0 if isinstance(b, float) and b == ERF_SCALED_B else float(b) ** 2


def _erf_b2_mp(act: Activation):
    """b^2 at the working mpmath precision (sqrt(pi)/2 exactly for erf_scaled, the given value otherwise)."""
    from fractions import Fraction

    from .activations import ERF_SCALED_B

    b = act.param_dict["b"]
    if isinstance(b, float) and b == ERF_SCALED_B:
        return mpmath.pi / 4
    return (mpmath.mpf(b.numerator) / b.denominator) ** 2 if isinstance(b, Fraction) else mpmath.mpf(b) ** 2


def dphi_moments(act, q: float, n: int, *, precision: int | None = None):
    r"""Moments :math:`\mu_k = E[\phi'(\sqrt q\, z)^{2k}]`, :math:`k = 1, \dots, n`, of the law of :math:`D^2`.

    Closed forms: piecewise-constant :math:`\phi'` gives a finite sum over its pieces (hard-tanh
    :math:`\mu_k = \operatorname{erf}(1/\sqrt{2q})`); erf(b x) (:math:`\phi' = \frac{2b}{\sqrt\pi}
    e^{-b^2 x^2}`) gives :math:`\mu_k = (4b^2/\pi)^k (1 + 4 k b^2 q)^{-1/2}`.  Otherwise quadrature (float)
    or mpmath (``precision``).

    Returns
    -------
    ndarray of float, or list of mpmath.mpf when ``precision`` is given.
    """
    act = _resolve(act)
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise ValueError(f"n (number of moments) must be an integer >= 1, got {n!r}")
    n = int(n)
    if precision is not None:
        precision = _check_precision(precision)
    if act.pieces is not None:
        if precision is None:
            return _atomic_moments(act.dphi_squared_law(q), n, None)
        return _atomic_moments(_mp_pieces_law(act, q, precision), n, precision)
    if act.family == "erf":
        if precision is not None:
            with mpmath.workdps(precision + 10):
                qm, b2 = mpmath.mpf(q), _erf_b2_mp(act)
                out = [(4 * b2 / mpmath.pi) ** k / mpmath.sqrt(1 + 4 * k * b2 * qm) for k in range(1, n + 1)]
            with mpmath.workdps(precision):
                return [+v for v in out]
        b2 = _erf_b2(act)
        k = np.arange(1, n + 1)
        return (4.0 * b2 / np.pi) ** k / np.sqrt(1.0 + 4.0 * b2 * k * float(q))
    if act.family == "sin":
        return _cos_even_moments(q, n, precision)
    if precision is not None:
        # one quadrature per moment, as before, each node's phi' and Gaussian factor evaluated once for all n
        d = _memoized(_mp_dphi(act), {})
        weights: dict = {}
        return [_mp_expectation(lambda x, k=k: d(x) ** (2 * k), q, _breakpoints(act), precision, weights)
                for k in range(1, n + 1)]
    x, w = gaussian_nodes(float(q), _breakpoints(act))
    d2 = np.asarray(act.dphi(x), dtype=float) ** 2
    return (w * d2 ** np.arange(1, n + 1)[:, None]).sum(axis=1)


def _cos_even_moments(q, n, precision):
    r""":math:`E[\cos^{2k}(\sqrt q z)] = 4^{-k}\big[\binom{2k}{k} + 2\sum_{j<k}\binom{2k}{j}
    e^{-2(k-j)^2 q}\big]` (expand :math:`\cos^{2k}` in harmonics; :math:`E\cos(m x) = e^{-m^2 q/2}`)."""
    with mpmath.workdps((precision or 15) + 20 + 2 * n // 3):
        qm = mpmath.mpf(q)
        harmonics = [[mpmath.binomial(2 * k, j) * mpmath.exp(-2 * (k - j) ** 2 * qm) for j in range(k)]
                     for k in range(1, n + 1)]
        out = [(mpmath.binomial(2 * k, k) + 2 * mpmath.fsum(h)) / mpmath.mpf(4) ** k
               for k, h in zip(range(1, n + 1), harmonics, strict=True)]
        if precision is None:
            return np.asarray([float(v) for v in out])
    with mpmath.workdps(precision):
        return [+v for v in out]


def dphi_squared_quadrature(act, q: float, n_nodes: int = 256):
    r"""A discrete law approximating :math:`\phi'(\sqrt q\, z)^2`: values and probabilities.

    The values are :math:`\phi'(x_i)^2` at the nodes of :func:`gaussian_nodes` (with the number of
    nodes per panel chosen so that the total is about ``n_nodes``), the weights their Gaussian
    quadrature weights.  Integrals :math:`E[g(D^2)]` of analytic ``g`` (such as :math:`M_{D^2}(z)` for
    z away from the support) are then exact to the accuracy of the rule.
    """
    act = _resolve(act)
    if isinstance(n_nodes, bool) or not isinstance(n_nodes, int | np.integer) or n_nodes < 16:
        raise ValueError(f"n_nodes must be an integer >= 16, got {n_nodes!r}")
    bp = _breakpoints(act)
    n_panels = 2 * len(_GAUSS_EDGES) + 2 * len(_ACT_EDGES) + len(bp) + 3
    order = max(4, round(n_nodes / n_panels))
    x, w = gaussian_nodes(float(q), bp, order=order)
    keep = w > 0
    return np.asarray(act.dphi(x[keep]), dtype=float) ** 2, w[keep]


def phi_second_moment(act, q, *, precision: int | None = None):
    r""":math:`E[\phi(\sqrt q\, z)^2]`, the heart of the q-map.

    Closed forms (float): linear :math:`q`; leaky relu :math:`(1+\alpha^2) q/2` (relu: :math:`q/2`);
    hard-tanh :math:`q(\operatorname{erf}(t/\sqrt2) - 2t\varphi(t)) + \operatorname{erfc}(t/\sqrt2)`,
    :math:`t = 1/\sqrt q`; erf (:math:`\phi(x) = \operatorname{erf}(b x)`)
    :math:`\frac{2}{\pi}\arcsin\frac{2b^2 q}{1 + 2b^2 q}`.  Otherwise quadrature; vectorized over ``q``.
    """
    act = _resolve(act)
    if precision is not None:
        f = _mp_phi(act)
        return gaussian_expectation(lambda x: f(x) ** 2, q, kinks=_breakpoints(act), precision=precision)
    qa = np.asarray(q, dtype=float)
    fam = act.family
    if fam in ("linear", "relu", "leaky_relu") and np.all(qa >= 0):
        alpha = float(act.param_dict.get("alpha", 0.0)) if fam != "linear" else 1.0
        out = 0.5 * (1.0 + alpha * alpha) * qa
    elif fam == "hard_tanh" and np.all(qa > 0):
        from scipy.special import erf, erfc

        t = 1.0 / np.sqrt(qa)
        out = qa * (erf(t / math.sqrt(2)) - 2 * t * np.exp(-0.5 * t * t) / math.sqrt(2 * math.pi)) \
            + erfc(t / math.sqrt(2))
    elif fam == "sin":
        out = -0.5 * np.expm1(-2.0 * qa)
    elif fam == "erf" and np.all(qa >= 0):
        c = 2 * _erf_b2(act) * qa
        out = (2 / math.pi) * np.arcsin(c / (1 + c))
    else:
        out = gaussian_expectation(lambda x: np.asarray(act.phi(x), dtype=float) ** 2, qa, kinks=_breakpoints(act))
    return float(out) if np.ndim(out) == 0 else out


def phi_second_moment_slope(act, q):
    r""":math:`\frac{d}{dq} E[\phi(\sqrt q\, z)^2]`, vectorized over ``q`` (slope of the q-map over
    :math:`\sigma_w^2`).

    Uses the derivative of the Gaussian weight, :math:`\frac{d}{dq}E[g(\sqrt q z)] =
    E[g(x)(x^2/q - 1)]/(2q)` (Stein's identity integrated by parts, valid across kinks, no
    :math:`\phi''` needed), or closed forms (linear, relu, leaky relu, erf, sin).
    """
    act = _resolve(act)
    qa = _check_q_array(q)
    fam = act.family
    if fam in ("linear", "relu", "leaky_relu"):
        alpha = float(act.param_dict.get("alpha", 0.0)) if fam != "linear" else 1.0
        out = np.full(qa.shape, 0.5 * (1.0 + alpha * alpha))
    elif fam == "erf":
        # d/dq (2/pi) asin(u), u = c/(1+c), c = 2 b^2 q: u' = 2b^2/(1+c)^2 and sqrt(1-u^2) = sqrt(1+2c)/(1+c)
        b2 = _erf_b2(act)
        c = 2 * b2 * qa
        out = (2 / math.pi) * 2 * b2 / ((1 + c) * np.sqrt(1 + 2 * c))
    elif fam == "sin":
        out = np.exp(-2.0 * qa)
    else:
        x, w = gaussian_nodes(qa, _breakpoints(act))
        f2 = np.asarray(act.phi(x), dtype=float) ** 2
        out = np.sum(w * f2 * (x * x / qa[..., None] - 1.0), axis=-1) / (2 * qa)
    return float(out) if np.ndim(out) == 0 else out


def dphi_squared_mean(act, q):
    r""":math:`\mu_1 = E[\phi'(\sqrt q\, z)^2]`, vectorized over ``q`` (closed forms as in
    :func:`dphi_moments`; ``q = 0`` gives the limit :math:`q \to 0^+`)."""
    act = _resolve(act)
    qa = np.asarray(q, dtype=float)
    if np.any(qa < 0) or not np.all(np.isfinite(qa)):
        raise ValueError(f"q (the pre-activation variance) must be finite and >= 0, got {q!r}")
    if act.pieces is not None:
        from scipy.special import ndtr

        sq = np.sqrt(qa)
        out = np.zeros(qa.shape)
        for lo, hi, slope in act.pieces:
            with np.errstate(divide="ignore", invalid="ignore"):
                a = np.where(lo == 0, 0.0, np.float64(lo) / sq)
                b = np.where(hi == 0, 0.0, np.float64(hi) / sq)
            out = out + float(slope) ** 2 * (ndtr(b) - ndtr(a))
    else:
        zero = qa == 0
        qpos = np.where(zero, 1.0, qa)
        if act.family == "erf":
            b2 = _erf_b2(act)
            out = (4.0 * b2 / np.pi) / np.sqrt(1.0 + 4.0 * b2 * qpos)
        elif act.family == "sin":
            out = 0.5 * (1.0 + np.exp(-2.0 * qpos))
        else:
            x, w = gaussian_nodes(qpos, _breakpoints(act))
            out = np.sum(w * np.asarray(act.dphi(x), dtype=float) ** 2, axis=-1)
        # q -> 0+: phi'(0)^2, averaged over both sides where phi' jumps at 0 (selu)
        side = np.asarray(act.dphi(np.array([-1e-300, 1e-300])), dtype=float) ** 2
        out = np.where(zero, float(side.mean()), out)
    return float(out) if np.ndim(out) == 0 else out
