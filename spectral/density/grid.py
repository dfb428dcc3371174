"""Quadrature nodes of the density grid: Gauss--Legendre, the cosine map, the s^2 map to a square-root edge
(docs/design.md §5.4)."""

from __future__ import annotations

import math

import numpy as np

from .tolerances import (
    _GAP_END_SPLIT,
    _LOG_SPAN,
    _SOFT_PIECE_MIN,
    _SPIKE_OFFSET,
    _SPIKE_SPLIT,
    _TANH_SINH_T,
    _TOP_NODE_FRACTION,
    _TOP_PIECE,
    _WIDE_BAND_LOG_RATIO,
)

_GL_CACHE: dict = {}


def _gl(n, a, b):
    if n not in _GL_CACHE:
        from scipy.special import roots_legendre

        _GL_CACHE[n] = roots_legendre(n)
    t, w = _GL_CACHE[n]
    return 0.5 * (b - a) * t + 0.5 * (b + a), 0.5 * (b - a) * w


def _band_nodes(lo_u, hi_u, n, soft=None, span=_LOG_SPAN, log_map=False):
    """Nodes u = log(x / scale) and weights w (mass = sum w * x rho) on one band given in log x.

    Returns (u, w, floor): ``floor`` is the lowest u covered by the nodes of a band reaching 0 (the tail
    continues below it), None otherwise.  ``soft`` (band reaching 0 only): (cut, edge) in u, the soft lower
    edge of a smooth activation (:func:`_soft_edge`): x rho is negligible below ``cut`` and rises steeply
    (like a square root) at ``edge``; the band is then Gauss–Legendre in u on [cut, edge] and the cosine
    map in u on [edge, hi] (both ends of the latter behave like square-root edges; in x when the band is
    narrower than a factor 20), without a tail.  ``span``: width in u of the Gauss–Legendre piece of a band
    reaching 0 (without ``soft``).  ``log_map``: a band away from 0 wider than :data:`_WIDE_BAND_LOG_RATIO`
    gets the cosine map in u (its ends are edges of the product; see ``bands._log_map_ok``).
    """
    if np.isneginf(lo_u) and soft is not None:
        cut, edge = soft
        n_low = max(16, n // 16) if edge - cut > _SOFT_PIECE_MIN else 0
        ua, wa = _gl(n_low, cut, edge) if n_low else (np.array([]), np.array([]))
        if edge - hi_u > _TOP_PIECE:  # a narrow band: the cosine map in x (as for a gap band)
            ub, wb, _ = _band_nodes(edge, hi_u, n - n_low)
        else:
            ub, wb = _cosine_nodes(edge, hi_u, n - n_low)
        return np.concatenate([ua, ub]), np.concatenate([wa, wb]), None
    if np.isneginf(lo_u):
        c = _TOP_PIECE
        nb = int(_TOP_NODE_FRACTION * n)
        ub, wb = _edge_nodes(c, 0.0, nb)     # the s^2 map to the band top (u relative to it)
        ua, wa = _gl(n - nb, c - span, c)
        return np.concatenate([ua, ub]) + hi_u, np.concatenate([wa, wb]), c - span + hi_u
    if log_map and hi_u - lo_u > _WIDE_BAND_LOG_RATIO:
        u, w = _cosine_nodes(lo_u, hi_u, n)
        return u, w, None
    a = math.exp(lo_u - hi_u)
    t = (np.arange(n) + 0.5) / n
    xs = a + (1.0 - a) * 0.5 * (1 - np.cos(math.pi * t))
    w = (1.0 - a) * 0.5 * math.pi * np.sin(math.pi * t) / n / xs
    return np.log(xs) + hi_u, w, None


def _edge_nodes(from_u, edge_u, n):
    """Nodes u and weights (mass = sum w x rho) from e^from_u to an edge of the product at e^edge_u (either side):
    the s^2 map x = x_e -+ |x_e - x_f| s^2 with Gauss--Legendre in s, spectrally accurate at a square-root edge
    (rho dx ~ s^2 ds) and at the smooth end s = 1."""
    s, ws = _gl(n, 0.0, 1.0)
    xe, xf = math.exp(edge_u), math.exp(from_u)
    x = xe + (xf - xe) * s**2
    return np.log(x), 2.0 * abs(xf - xe) * s * ws / x


def _gap_end_nodes(edge_u, origin_u, other_u, n):
    r"""Nodes u and weights (mass = sum w x rho) from a square-root edge :math:`x_e` = e^edge_u that ends a gap
    above a singular point :math:`x_o` = e^origin_u of the density (a relu block's :math:`\alpha^2`, docs/design.md
    §6.1) to the other end e^other_u (an edge): up to :data:`_GAP_END_SPLIT` of the piece, :math:`x = x_o + e^v`
    with :math:`v = v_e + (v_m - v_e)s^2` and Gauss--Legendre in s (:math:`x\rho \sim \sqrt{v - v_e}` at the
    edge, smooth in v where the singular point's :math:`(x - x_o)^{-1/2}` takes over, however narrow the gap:
    the cosine map in x missed 2.7e-5 of the mass over a gap of 9e-6 relative), half the nodes; then the s^2 map
    to the other end (:func:`_edge_nodes`)."""
    xe, xo, xb = math.exp(edge_u), math.exp(origin_u), math.exp(other_u)
    xm = xe + _GAP_END_SPLIT * (xb - xe)
    ve, vm = math.log(xe - xo), math.log(xm - xo)
    s, ws = _gl(n // 2, 0.0, 1.0)
    v = ve + (vm - ve) * s**2
    x = xo + np.exp(v)
    w = 2.0 * (vm - ve) * s * ws * np.exp(v) / x
    ur, wr = _edge_nodes(math.log(xm), other_u, n - n // 2)
    return np.concatenate([np.log(x), ur]), np.concatenate([w, wr])


def _two_edge_nodes(lo_u, hi_u, n):
    r"""Nodes u and weights (mass = sum w x rho) of a piece between two ends at which x rho behaves like a power
    of the distance d to them (a square-root edge, an inverse square root at a singular point of the density --
    a relu block's :math:`\alpha^2`, docs/design.md §6.1): the s^2 map (:func:`_edge_nodes`) from the middle to
    each end, half the nodes each.  At an inverse square root :math:`\rho\,dx \propto ds` times a function of
    :math:`\sqrt d \propto s`, smooth on the scale where the singular point's :math:`d^{-1/2}` gives way to the
    rest of the spectrum (relu, beta = 0.1: ~1e-5 of alpha^2, where the cosine map in x lost 1.5e-7 of the
    mass)."""
    xm = 0.5 * (math.exp(lo_u) + math.exp(hi_u))
    ua, wa = _edge_nodes(math.log(xm), lo_u, n - n // 2)
    ub, wb = _edge_nodes(math.log(xm), hi_u, n // 2)
    return np.concatenate([ua, ub]), np.concatenate([wa, wb])


def _cosine_nodes(a, b, n):
    """Cosine map u = a + (b - a)(1 - cos pi t)/2 with the midpoint rule in t (weights for du)."""
    t = (np.arange(n) + 0.5) / n
    return a + (b - a) * 0.5 * (1 - np.cos(math.pi * t)), (b - a) * 0.5 * math.pi * np.sin(math.pi * t) / n


def _tanh_sinh_nodes(lo_u, hi_u, n):
    r"""Nodes u and weights (mass = sum w x rho) of the tanh-sinh rule on [lo_u, hi_u] (in x, or in u = log x
    when the piece is wider than :data:`_WIDE_BAND_LOG_RATIO`): :math:`y = \tanh(\tfrac{\pi}{2}\sinh t)`,
    t on a uniform midpoint grid in [-T, T] (T = :data:`_TANH_SINH_T`).  The nodes approach both ends
    double-exponentially (to ~1e-14 of the width), so an integrable singularity at an end -- an inverse square
    root at an extremum of d(h), or the log-normal spike :math:`\exp(-\log^2|x - x_\infty|/2c)/|x - x_\infty|`
    where d(h) tends to a limit inside the spectrum (gelu, swish) -- is integrated spectrally."""
    step = 2.0 * _TANH_SINH_T / n
    t = -_TANH_SINH_T + (np.arange(n) + 0.5) * step
    v = 0.5 * math.pi * np.sinh(t)
    # distances to the two ends as fractions of the width, without the cancellation of 1 -+ tanh
    e = np.exp(-2.0 * np.abs(v))
    near = e / (1.0 + e)
    frac_lo = np.where(v < 0, near, 1.0 - near)
    dfrac = 0.25 * math.pi * np.cosh(t) / np.cosh(v) ** 2 * step   # d((1 + tanh v)/2)/dt dt
    if hi_u - lo_u > _WIDE_BAND_LOG_RATIO:
        u = np.where(v < 0, lo_u + (hi_u - lo_u) * frac_lo, hi_u - (hi_u - lo_u) * (1.0 - frac_lo))
        return u, (hi_u - lo_u) * dfrac
    a = math.exp(lo_u - hi_u)
    xs = np.where(v < 0, a + (1.0 - a) * frac_lo, 1.0 - (1.0 - a) * (1.0 - frac_lo))
    return np.log(xs) + hi_u, (1.0 - a) * dfrac / xs


def _spike_nodes(spike_u, other_u, n):
    r"""Nodes u and weights (mass = sum w x rho) of a piece of a one-factor law's spectrum from its spike at
    x_inf = e^spike_u (a limit value of :math:`D^2`, where the density is the log-normal
    :math:`\exp(-\log^2|x - x_\infty|/2c)/|x - x_\infty|`) to its other end e^other_u, leaving out the
    offsets below :data:`_SPIKE_OFFSET` (relative), whose mass the caller takes from the law itself:
    Gauss--Legendre in :math:`v = \log|x - x_\infty|` up to :data:`_SPIKE_SPLIT` of the width (the spike
    is smooth in v), then :func:`_cosine_gl_nodes` (an inverse square root at the other end).  The offsets are
    formed as such, never as the difference of two x close to x_inf."""
    x_inf, width = math.exp(spike_u), abs(math.exp(other_u) - math.exp(spike_u))
    sign = 1.0 if other_u > spike_u else -1.0
    if _SPIKE_SPLIT * width <= 2 * _SPIKE_OFFSET * x_inf:  # a piece too narrow for the log offsets
        cut_u = spike_u + math.log1p(sign * _SPIKE_OFFSET)
        return _cosine_gl_nodes(*sorted((cut_u, other_u)), n)
    n_log = n // 2
    v, wv = _gl(n_log, math.log(_SPIKE_OFFSET * x_inf), math.log(_SPIKE_SPLIT * width))
    off = np.exp(v)
    u_log = spike_u + np.log1p(sign * off / x_inf)
    w_log = wv * off / (x_inf + sign * off)          # dx / x = e^v dv / x
    split_u = spike_u + math.log1p(sign * _SPIKE_SPLIT * width / x_inf)
    lo, hi = sorted((split_u, other_u))
    u_ts, w_ts = _cosine_gl_nodes(lo, hi, n - n_log)
    return np.concatenate([u_log, u_ts]), np.concatenate([w_log, w_ts])


def _cosine_gl_nodes(lo_u, hi_u, n):
    r"""Nodes u and weights (mass = sum w x rho) of the cosine map on [lo_u, hi_u] (in x, or in u = log x when
    the piece is wider than :data:`_WIDE_BAND_LOG_RATIO`) with Gauss--Legendre in t: an inverse square root
    at an end, :math:`\rho\,dx \sim dt` there, is integrated spectrally (the midpoint rule converges as
    :math:`n^{-2}` once the piece is wide in u: gelu at q = 0.19 on [6e-28, 0.025], mass off 1.3e-6 with 666
    nodes; the tanh-sinh rule leaves out the mass within ~1e-14 of the width of each end: 4e-8 at
    gelu's local maximum, q* = 3.74, on a piece 57 e-folds wide)."""
    t, wt = _gl(n, 0.0, 1.0)
    c, dc = 0.5 * (1 - np.cos(math.pi * t)), 0.5 * math.pi * np.sin(math.pi * t) * wt
    if hi_u - lo_u > _WIDE_BAND_LOG_RATIO:
        return lo_u + (hi_u - lo_u) * c, (hi_u - lo_u) * dc
    a = math.exp(lo_u - hi_u)
    xs = a + (1.0 - a) * c
    return np.log(xs) + hi_u, (1.0 - a) * dc / xs


def _log_edge_nodes(edge_u, from_u, n):
    """Nodes u and weights (mass = sum w x rho) from a square-root rise of x rho in u at ``edge_u`` to ``from_u``
    (above it): the s^2 map u = edge_u + (from_u - edge_u) s^2 with Gauss--Legendre in s (x rho du ~ s^2 ds at
    the rise, smooth at s = 1), ascending in u."""
    s, ws = _gl(n, 0.0, 1.0)
    span = from_u - edge_u
    return edge_u + span * s**2, 2.0 * span * s * ws
