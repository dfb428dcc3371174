r"""The edges of the spectrum of a residual block or a product of blocks on the real axis, where
:math:`\operatorname{Im} M(x + i0) = -\pi x\rho(x)` leaves 0 (docs/design.md §6.1): a scan of the Weyl interval (of
a window of it, for products) refined by bisection, and the end of the gap above a relu block's singular point.
``tr`` is a :class:`~spectral.architecture.block_density.BlockTransform` or
:class:`~spectral.architecture.block_product.ProductTransform` (its ``m``; a block's ``m_cold`` and ``inside_cold``
for points solved each by its own vertical path).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["support_edges", "gap_above"]

#: real points scanned for the support's edges inside the Weyl interval
EDGE_SCAN = 400
#: every this-th scan point is solved first (by the vertical path); the rest start from their solved neighbours,
#: closer than WARM_RADIUS in log|zeta| (a vertical path costs ~100-300 Newton evaluations, a warm start ~5)
EDGE_SCAN_COARSE = 4
#: a product's edges are scanned first on a window of log x around log m_1, EDGE_WINDOW_SD times the square root
#: of its relative variance wide (the top of a block's or the Brownian limit's spectrum lies ~2 of these above
#: m_1), doubled at most this many times while an end of it is inside the spectrum or unsolved; the Weyl
#: interval spans tens of decades for many blocks (64 blocks: 1e-16 to 1e10), whose scan points below the
#: spectrum (1 + m below rounding) fail only after their whole vertical paths
EDGE_WINDOW_SD = 4.0
EDGE_WINDOW_DOUBLINGS = 8
#: |Im M| within this many times the rounding of M (where known) is not inside
EDGE_NOISE = 4.0
#: rounding of M in units of eps, relative to |zeta M'| + |1 + M| (the solve is backward stable in zeta)
NOISE_EPS = 16 * np.finfo(float).eps
#: bisections refining each edge (interval / 2^60: below rounding)
EDGE_BISECTIONS = 60
#: points per bracket and round refining a single block's edges by vertical paths (_sectioned: 2 bits a round;
#: a round's cost grows with its points, a vertical path's ~120 Newton evaluations each)
EDGE_SECTIONS = 3
#: real points scanned by vertical paths for a single block's outer edges (they only bracket them: the refinement
#: does the rest)
EDGE_SCAN_COLD = 100
#: |Im M(x + i0)| above this is inside the support (M's rounding is ~1e-14)
EDGE_IM_TOL = 1e-12
#: ... and, for a single block's edges by vertical paths, above this times |1 + M| (rounding of Im M on the real
#: axis, ~1e-12 |1 + M|; next to a square-root edge x rho ~ c sqrt(d), so the edge moves by (1e-10 / c)^2, nothing)
EDGE_REL_TOL = 1e-10
#: offsets above alpha^2, relative to the rest of the spectrum above it, scanned (log-spaced) for the end of a
#: relu block's gap (module docstring); a gap narrower than the first is not resolved (the grid breaks at
#: alpha^2 only)
GAP_SCAN = np.geomspace(1e-12, 1.0, 241)


def support_edges(tr, lo, hi, geometric=False, window=None, noise=None, cold=False):
    r"""The outer edges of the spectrum of :math:`BB^T` inside the Weyl interval [lo, hi]: where
    :math:`\operatorname{Im} M(x + i0)` (:math:`-\pi x\rho(x)`) leaves 0, located on EDGE_SCAN points and refined by
    EDGE_BISECTIONS bisections (:math:`\rho \sim \sqrt{|x - x_\pm|}` at a soft edge, so the threshold EDGE_IM_TOL
    moves the edge by its square, far below rounding).  ``geometric``: scan and bisect in :math:`\log x` (for
    products, whose Weyl interval spans decades; needs lo > 0).  ``window``: (log x_0, h), the scan is made on
    [x_0 e^-h, x_0 e^h] within [lo, hi] first, h doubled while an end of it is inside the spectrum or not
    solved (:func:`_windowed_edges`); the linear scan of [lo, hi] when the window never closes.  ``noise``: the
    rounding of M at a point (a product's, ~eps N |zeta M'| next to an edge); |Im M| within EDGE_NOISE times it is
    not inside (else rounding moves a product's edges outwards: 256 blocks, 1e-4 relative).  ``cold``: every point
    by its own vertical path (:meth:`BlockTransform.m_cold`; a single block, cheap): warm-started from a real
    solution outside the spectrum, Newton on the real axis stays real and may settle on the other real solution
    just inside an edge (relu, alpha = 2, beta = 0.5: the top edge 1e-3 too low, 2.7e-5 of the mass lost)."""
    if window is not None:
        found = _windowed_edges(tr, lo, hi, *window, noise)
        if found is not None:
            return found
    to = (np.log, np.exp) if geometric and lo > 0 else (lambda v: v, lambda v: v)
    edges = _scan_edges(tr, to, to[0](lo), to[0](hi), False, noise, cold)
    return (lo, hi) if edges is None else (edges[0] if edges[0] is not None else lo,
                                            edges[1] if edges[1] is not None else hi)


def _windowed_edges(tr, lo, hi, center, half, noise):
    """support_edges on a window of log x around ``center`` (half-width ``half``, doubled up to EDGE_WINDOW_DOUBLINGS
    times): the edges once both ends of the window are solved and outside the spectrum (or Weyl's bounds), else
    None."""
    ulo = math.log(lo) if lo > 0 else -math.inf
    uhi = math.log(hi)
    for _ in range(EDGE_WINDOW_DOUBLINGS):
        a, b = max(ulo, center - half), min(uhi, center + half)
        edges = _scan_edges(tr, (np.log, np.exp), a, b, True, noise)
        if edges is not None and (edges[0] is not None or a == ulo) and (edges[1] is not None or b == uhi):
            return (edges[0] if edges[0] is not None else lo, edges[1] if edges[1] is not None else hi)
        if a == ulo and b == uhi:
            return None
        half *= 2.0
    return None


def _scan_edges(tr, to, ulo, uhi, strict, noise, cold=False):
    """The outer edges (x_lo, x_hi) of the spectrum on EDGE_SCAN points of [ulo, uhi] in the variable u =
    to[0](x), refined by bisection; None for an end that is inside (the spectrum may reach beyond it); None
    instead of the pair when no point is inside, or (``strict``) when an end is not solved."""
    u = np.linspace(ulo, uhi, EDGE_SCAN_COLD if cold else EDGE_SCAN)

    def inside_at(v):
        x = to[1](v) + 0j
        if cold:
            return tr.inside_cold(x)
        tol = EDGE_IM_TOL if noise is None else EDGE_IM_TOL + EDGE_NOISE * noise(x)
        return np.abs(tr.m(x).imag) > tol

    if not cold:
        inside_at(u[::EDGE_SCAN_COARSE])  # solved by vertical paths; the others then start from these
    inside = inside_at(u)
    mu = tr.m_cold(to[1](u[[0, -1]]) + 0j) if cold else tr.m(to[1](u) + 0j)[[0, -1]]
    if not np.any(inside) or (strict and not (np.isfinite(mu[0]) and np.isfinite(mu[-1]))):  # the ends solved
        return None
    i, j = np.flatnonzero(inside)[[0, -1]]
    a = np.array([u[i - 1] if i > 0 else ulo, u[j]])  # outside / inside at the lower edge, inside at the upper
    b = np.array([u[i], u[j + 1] if j + 1 < len(u) else uhi])
    if i == 0:
        a[0] = b[0] = ulo
    if j + 1 == len(u):
        a[1] = b[1] = uhi
    out_lo, in_lo, in_hi, out_hi = a[0], b[0], a[1], b[1]
    if cold:
        out_lo, in_lo, in_hi, out_hi = _sectioned(inside_at, out_lo, in_lo, in_hi, out_hi)
    else:
        for _ in range(EDGE_BISECTIONS):
            mid = np.array([0.5 * (out_lo + in_lo), 0.5 * (in_hi + out_hi)])
            ins = inside_at(mid)
            out_lo, in_lo = (out_lo, mid[0]) if ins[0] else (mid[0], in_lo)
            in_hi, out_hi = (mid[1], out_hi) if ins[1] else (in_hi, mid[1])
    return (None if i == 0 else float(to[1](out_lo)), None if j + 1 == len(u) else float(to[1](out_hi)))


def _sectioned(inside_at, out_lo, in_lo, in_hi, out_hi):
    """Both edges refined together, EDGE_SECTIONS points in each bracket per round (one batch of vertical paths:
    a round costs about what one bisection step does), as many rounds as leave the brackets as narrow as
    EDGE_BISECTIONS bisections; the lower edge at the first inside point from outside, the upper at the last."""
    t = np.arange(1, EDGE_SECTIONS + 1) / (EDGE_SECTIONS + 1)
    k = EDGE_SECTIONS
    for _ in range(math.ceil(EDGE_BISECTIONS / math.log2(EDGE_SECTIONS + 1))):
        pa = out_lo + (in_lo - out_lo) * t
        pb = in_hi + (out_hi - in_hi) * t
        ins = inside_at(np.concatenate([pa, pb]))
        ia, ib = ins[:k], ins[k:]
        if np.any(ia):
            f = int(np.argmax(ia))
            out_lo, in_lo = (pa[f - 1] if f > 0 else out_lo), pa[f]
        else:
            out_lo = pa[-1]
        if np.any(ib):
            g = int(np.flatnonzero(ib)[-1])
            in_hi, out_hi = pb[g], (pb[g + 1] if g + 1 < k else out_hi)
        else:
            out_hi = pb[0]
    return out_lo, in_lo, in_hi, out_hi


def gap_above(tr, a2, hi):
    """The end of the gap (a2, x_g) above a relu block's singular point a2 = alpha^2 (module docstring): the
    first of the GAP_SCAN points where Im M leaves 0, refined by EDGE_BISECTIONS bisections in log of the
    offset, each point by its own vertical path (:meth:`BlockTransform.m_cold`); None when the spectrum starts at
    the first scan point already (no resolvable gap)."""
    t = GAP_SCAN * (hi - a2)
    inside = tr.inside_cold(a2 + t + 0j)
    if not np.any(inside) or inside[0]:
        return None
    i = int(np.argmax(inside))
    out, ins = math.log(t[i - 1]), math.log(t[i])
    for _ in range(EDGE_BISECTIONS):
        mid = 0.5 * (out + ins)
        if tr.inside_cold(np.array([a2 + math.exp(mid) + 0j]))[0]:
            ins = mid
        else:
            out = mid
    return a2 + math.exp(out)
