"""Distribution function of a density result and its generalised inverse (monotone interpolation on the grid)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from .tolerances import _EPS, _GUARD, _JUMP_BELOW, _PPF_LOG_XTOL, _TINY

if TYPE_CHECKING:
    from .result import DensityResult


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
                    w_end = (bm - below) / max(span, _GUARD)

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
            val[top] = c_last + (bm - c_last) * (v[top] - u[-1]) / max(math.log(hi) - u[-1], _GUARD)
            if beta:  # power-law tail below the first listed node
                val[first] = c_first * np.exp(beta * (v[first] - u[0]))
            elif lo > 0:
                val[first] = c_first * (v[first] - math.log(lo)) / max(u[0] - math.log(lo), _GUARD)
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
            if float(self(np.array(b * (1 - _JUMP_BELOW)))) < qi:
                out[i] = b  # q falls in the jump at b (an atom) or on a flat piece ending at b
                continue
            f = lambda t, qi=qi: float(self(np.array(t))) - qi  # noqa: E731
            if a == 0.0 or b > 1e3 * a:  # bracket in log x first (deep tails span hundreds of decades)
                ua, ub = math.log(max(a, _TINY)), math.log(b)
                if f(math.exp(ua)) >= 0:
                    out[i] = math.exp(ua) if a > 0 else 0.0
                    continue
                u = brentq(lambda t, f=f: f(math.exp(t)), ua, ub, xtol=_PPF_LOG_XTOL)
                lo, hi = math.exp(u - 2 * _PPF_LOG_XTOL), math.exp(u + 2 * _PPF_LOG_XTOL)
                if a < lo and hi < b and f(lo) < 0 <= f(hi):
                    a, b = lo, hi
            out[i] = brentq(f, a, b, xtol=_GUARD, rtol=4 * _EPS)
        return out.reshape(q.shape)


def _check_q(q):
    q = np.asarray(q, dtype=float)
    if np.any(~np.isfinite(q) | (q < 0) | (q > 1)):
        raise ValueError("q must lie in [0, 1] (probabilities)")
    return q


def _grid_ppf(res: DensityResult, q):
    return _Cdf(res).inverse(_check_q(q))
