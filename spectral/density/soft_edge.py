"""The soft lower edge of a band reaching 0 (products with smooth activations): where x rho(x) rises from
negligible, located from a near-real critical point or by a search on the band's grid."""

from __future__ import annotations

import math

import numpy as np

from .grid import _band_nodes
from .real_axis import _solve_real
from .system import _wrap
from .tolerances import (
    _NOISE_MULTIPLE,
    _SOFT_CUT,
    _SOFT_DIFF_STEP,
    _SOFT_EDGE_BRACKET,
    _SOFT_EDGE_LEVEL,
    _SOFT_MAX_DOUBLINGS,
    _SOFT_NEAR_REAL,
    _SOFT_NEWTON_RTOL,
    _SOFT_NOISE_CAP,
    _SOFT_PIECE_WIDTH,
    _SOFT_QUIET,
    _SOFT_SCAN_RTOL,
    _SOFT_SHARP,
)


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
        ok = np.isfinite(lz) & np.isfinite(g) & (np.abs(lz.imag) < _SOFT_NEAR_REAL)
        down = np.flatnonzero(ok[:-1] & ok[1:] & (g.real[:-1] > 0) & (g.real[1:] <= 0))
        if down.size == 0:
            return None
        i = int(down[0])
        # u = Re log z must rise along the segment up to the critical point
        if not (np.all(ok[: i + 1]) and np.all(np.diff(lz.real[: i + 1]) > 0)):
            return None
        z = zs[i] + (zs[i + 1] - zs[i]) * g.real[i] / (g.real[i] - g.real[i + 1]) + 0j
        for _ in range(100):  # Newton, central differences (roots come in near-conjugate pairs: slow at first)
            h = _SOFT_DIFF_STEP * abs(z)
            gg = along(np.array([z, z + h, z - h]))[1]
            dz = gg[0] * 2 * h / (gg[1] - gg[2])
            if not np.isfinite(dz):
                return None
            z = z - dz
            if abs(dz) <= _SOFT_NEWTON_RTOL * abs(z):  # log z is flat there: Re log z_c to ~1e-14
                break
        else:
            return None
        lzc = complex(along(z)[0][0])
        if not (abs(z - zs[i]) < 0.5 * (zs[i + 1] - zs[i - 1] if i else zs[i + 1]) + _SOFT_SCAN_RTOL * abs(zs[i])
                and abs(lzc.imag) <= _SOFT_SHARP and lzc.real < hi_u):
            return None
        edge = lzc.real
        # x rho at the real-x solution one Newton step from the segment point (log z -> Re log z)
        xr = np.imag(m[: i + 1] - 1j * lz.imag[: i + 1] * dmz[: i + 1] / g[: i + 1]) / -math.pi
        # its rounding level: the noise of log z (which grows with the depth) carried by the same step, taken
        # where it is lowest (it grows as 1/|g| towards the critical point, where the one-step estimate of a
        # real soft tail of ~1e-11 would pass for noise: depth 2000)
        xr_noise = float(np.min(noise[: i + 1] * np.abs(dmz[: i + 1] / g[: i + 1]))) / math.pi
    quiet = np.abs(xr) <= _SOFT_QUIET * mass + min(_NOISE_MULTIPLE * xr_noise, _SOFT_NOISE_CAP * mass)
    if not quiet[0]:
        return None
    k = int(np.argmin(quiet)) - 1 if not np.all(quiet) else i
    # a piece at least 3e-3 wide below the edge (its lowest nodes are the caller's check of the edge)
    k = min(k, max(0, int(np.searchsorted(lz.real[: i + 1], edge - _SOFT_PIECE_WIDTH)) - 1))
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
    keeps its tail); below a band's own lower end ``max_span`` e-folds down, the doublings go on to that end
    (at most :data:`_SOFT_MAX_DOUBLINGS` beyond 640, the last span clipped to it), where the lowest certified
    nodes must be quiet.  Deep products rise from that tail almost like a square-root edge (x rho from 1e-7 to 1e-3
    of its maximum within 1e-3 in log x); ``edge``, where x rho first exceeds 1e-6 of its maximum, is
    located by refinements of the bracket (16 points each, at least two, until it is below 5e-3) and a
    quadratic fit of (x rho)^2 in u.
    """
    # below a band's own lower end (max_span finite) the doublings go on to that end, the last one clipped there:
    # an orthogonal product of softplus at depth 256 spreads over ~1000 e-folds above its soft edge
    spans = [40.0, 80.0, 160.0, 320.0, 640.0]
    if math.isfinite(max_span):
        spans += [640.0 * 2.0**k for k in range(1, _SOFT_MAX_DOUBLINGS + 1)]
        spans = [s for s in spans if s < max_span or s == spans[0]] + ([max_span] if spans[0] < max_span < spans[-1]
                                                                          else [])
    for span in spans:
        u, w, _ = _band_nodes(-np.inf, hi_u, n, span=span)
        sol = _solve_real(sys, u)
        m, ok, acc = sol.m, sol.ok, sol.acc
        xr = np.where(ok, -np.imag(m) / math.pi, np.nan)
        if not np.any(np.isfinite(xr)) or not np.nanmax(xr) > 0:
            return None
        order = np.argsort(u)
        u, w, xr, acc = u[order], w[order], xr[order], acc[order]
        k_peak = int(np.nanargmax(xr))
        mass = float(np.nansum(w * xr))
        thr = _SOFT_CUT * mass + np.minimum(_NOISE_MULTIPLE * acc / math.pi, _SOFT_NOISE_CAP * mass)
        low = np.flatnonzero(xr[:k_peak] <= thr[:k_peak])
        # the lowest nodes; at the band's own lower end (the end of the quadrature's view of a D^2 with a
        # log-normal tail) the lowest certified one: below it x rho ~ e^-300 and the continuation fails
        # (sigmoid/orthogonal critical, depth 8: x rho 1e-130 at the deepest certified node), above it x rho
        # rises over thousands of e-folds (depth 64: from 4e-16 to 4e-13 over 600).  The grid built on the cut
        # is checked by the caller: its lowest nodes certified and quiet, the mass held.
        k0 = int(np.argmax(np.isfinite(xr))) if span == max_span else 0
        chk = slice(k0, k0 + (1 if span == max_span else max(1, u.size // 20)))
        if low.size and np.all(xr[chk] <= thr[chk]):
            break
    else:
        return None
    i_cut = int(low.max())
    cut = float(u[i_cut])
    big = _SOFT_EDGE_LEVEL * float(xr[k_peak])

    def first_big():  # above the cut (uncertified nodes far below it must not stop the search)
        return i_cut + 1 + int(np.flatnonzero(np.nan_to_num(xr[i_cut + 1: k_peak + 1], nan=np.inf) >= big)[0])

    for rnd in range(5):
        j = first_big()
        if j == 0 or not np.all(np.isfinite(xr[j - 1: j + 1])):
            return cut, cut
        if rnd >= 2 and u[j] - u[j - 1] <= _SOFT_EDGE_BRACKET:
            break
        uu = np.linspace(u[j - 1], u[j], 18)[1:-1]
        sol = _solve_real(sys, uu)
        mm, okk = sol.m, sol.ok
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
