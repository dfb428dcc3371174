"""Stage "grid + solve": the nodes of every band of the support (with its soft lower edge, where a smooth
activation has one) and M(x + i0) on them (docs/design.md §5.4, §5.5)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .grid import _band_nodes
from .real_axis import _solve_real
from .soft_edge import _soft_edge, _soft_edge_critical
from .tolerances import _LOW_CHECK_DIVISOR, _MIN_BAND_NODES, _NOISE_MULTIPLE, _SOFT_NOISE_CAP, _SOFT_QUIET


@dataclass(frozen=True)
class _Nodes:
    """Solved nodes of the density grid, in u = log(x / scale): weights ``w`` (mass = sum w x rho), m = M(x + i0),
    ``xrho`` = -Im m / pi, ``ok`` (certified), ``res`` (Newton residual), ``fb`` (a continuation step was
    refined), ``acc`` (attainable accuracy of m)."""

    u: np.ndarray
    w: np.ndarray
    m: np.ndarray
    xrho: np.ndarray
    ok: np.ndarray
    res: np.ndarray
    fb: np.ndarray
    acc: np.ndarray


@dataclass(frozen=True)
class _BandGrid:
    """All bands solved: their ``nodes``; ``floor_u``, the lowest u covered by the nodes of a band reaching 0
    (None without such a band: no tail); ``soft_edges``, the soft lower edges found (in x)."""

    nodes: _Nodes
    floor_u: float | None
    soft_edges: list


def _solve_bands(sys, e, points, cmass_exact) -> _BandGrid:
    """Nodes on every band of the edges ``e`` (``points`` in all, at least 32 a band) and M(x + i0) there."""
    log_c = e.log_lambda_max
    nb = len(e.log_bands)
    counts = [max(_MIN_BAND_NODES, points // nb)] * nb
    counts[-1] = max(_MIN_BAND_NODES, points - sum(counts[:-1]))
    us, ws, sols = [], [], []
    floor_u = None
    soft_edges = []
    for (lo, hi), n in zip(e.log_bands, counts, strict=True):
        soft, fast = None, False
        if np.isneginf(lo) and sys.k and sys.kappa <= 0:
            soft = _soft_edge_critical(sys, hi - log_c, cmass_exact)
            fast = soft is not None
            if not fast:
                soft = _soft_edge(sys, hi - log_c)
        u, w, fl = _band_nodes(lo - log_c, hi - log_c, n, soft)
        sol = _solve_real(sys, u, breaks=(soft[1],) if fast else ())
        if fast:
            # the lowest nodes must carry no mass (else: the soft edge by the search on the band's grid)
            # (up to the rounding level of -Im m / pi there, capped at _SOFT_NOISE_CAP of the mass)
            low = np.argsort(u)[: max(3, u.size // _LOW_CHECK_DIVISOR)]
            xr_low = -np.imag(sol.m[low]) / math.pi
            noise_low = np.minimum(_NOISE_MULTIPLE * sol.acc[low] / math.pi, _SOFT_NOISE_CAP * cmass_exact)
            tol_low = _SOFT_QUIET * cmass_exact + noise_low
            if not (np.all(sol.ok[low]) and np.all(np.abs(xr_low) <= tol_low)):
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
    m = np.concatenate([sol.m for sol in sols])
    ok, res = np.concatenate([sol.ok for sol in sols]), np.concatenate([sol.res for sol in sols])
    fb, acc = np.concatenate([sol.fb for sol in sols]), np.concatenate([sol.acc for sol in sols])
    return _BandGrid(_Nodes(u, wv, m, -np.imag(m) / math.pi, ok, res, fb, acc), floor_u, soft_edges)
