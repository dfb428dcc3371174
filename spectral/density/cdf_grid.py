"""Distribution function of a density result and its generalised inverse (monotone interpolation on the grid)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from .tolerances import _EPS, _GUARD, _JUMP_BELOW, _PPF_LOG_XTOL, _TINY

_SMALLEST_NORMAL = float(np.finfo(float).tiny)

if TYPE_CHECKING:
    from .result import DensityResult


class _Cdf:
    """Distribution function of a :class:`DensityResult` and its generalised inverse.

    Continuous part: per band, the antiderivative in u = log x of a monotone cubic (PCHIP) interpolant
    of x rho(x) through the nodes (positive, so the cumulative is monotone), rescaled to the band's
    quadrature mass; below the deepest node the power law of the tail; flat in gaps.  Atoms are
    added as jumps (right-continuous).  The nodes are the result's ``log_x`` (every node, also those below
    the float range) where it has them, else its listed ``x``; :meth:`continuous_u` and
    :meth:`inverse_log` work in u throughout, so quantiles below the float range keep their value.
    """

    def __init__(self, res: DensityResult):
        from scipy.interpolate import PchipInterpolator

        self.atoms = res.atoms
        self.lam = res.lambda_max
        # (lo, hi, c_before, band_mass, u_nodes, cumulative(v) on [u_0, u_last], beta, log lo, log hi)
        self.pieces = []
        all_nodes = res.log_x is not None and res.xrho is not None
        if res.x.size or all_nodes:
            d = res.diagnostics
            c0 = 0.0
            beta = d.get("tail_exponent")
            if all_nodes:
                uu, gg = np.asarray(res.log_x, float), np.asarray(res.xrho, float)
                rem = d.get("tail_remainder", 0.0)
                below_all = float(rem) if rem is not None and math.isfinite(float(rem)) else 0.0
            else:
                with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                    gg = res.x * res.density
                    uu = np.log(res.x)
                below_all = d["tail_mass"]
            for (lo, hi), bm in zip(d["bands"], d["band_mass"], strict=True):
                ulo, uhi = (math.log(lo) if lo > 0 else -math.inf), math.log(hi)
                sel = (uu > ulo) & (uu < uhi) & np.isfinite(gg)
                u, g = uu[sel], gg[sel]
                # PCHIP needs strictly increasing, finite nodes (log x can tie for nodes 1 ulp apart)
                keep = np.concatenate([[True], np.diff(u) > 0]) if u.size else np.zeros(0, bool)
                u, g = u[keep], g[keep]
                below = below_all if lo == 0 else 0.0
                if u.size >= 2:
                    anti = PchipInterpolator(u, g).antiderivative()
                    a0 = float(anti(u[0]))
                    span = float(anti(u[-1])) - a0 + 0.5 * g[-1] * (uhi - u[-1])
                    w_end = (bm - below) / max(span, _GUARD)

                    def cum(v, anti=anti, a0=a0, below=below, w_end=w_end):
                        return below + (anti(v) - a0) * w_end
                else:
                    def cum(v, below=below):
                        return np.full(np.shape(v), below)
                self.pieces.append((lo, hi, c0, bm, u, cum, beta if lo == 0 else None, ulo, uhi))
                c0 += bm

    def continuous(self, x):
        x = np.asarray(x, dtype=float)
        with np.errstate(divide="ignore"):
            return self.continuous_u(np.log(np.where(x > 0, x, 0.0)))

    def continuous_u(self, v):
        """The continuous part of the cdf at x = e^v (v may lie far below the float range of x)."""
        v = np.asarray(v, dtype=float)
        out = np.zeros(v.shape)
        for _lo, _hi, c0, bm, u, cum, beta, ulo, uhi in self.pieces:
            out = np.where(v >= uhi, c0 + bm, out)
            inside = (v > ulo) & (v < uhi)
            if not np.any(inside) or u.size == 0:
                continue
            vi = v[inside]
            val = np.empty(vi.shape)
            first, top = vi < u[0], vi > u[-1]
            mid = ~first & ~top
            val[mid] = cum(vi[mid])
            c_first, c_last = float(cum(u[0])), float(cum(u[-1]))
            # between the last node and the band top: linear in u up to the band mass
            val[top] = c_last + (bm - c_last) * (vi[top] - u[-1]) / max(uhi - u[-1], _GUARD)
            if beta:  # power-law tail below the deepest node
                val[first] = c_first * np.exp(beta * (vi[first] - u[0]))
            elif ulo > -math.inf:
                val[first] = c_first * (vi[first] - ulo) / max(u[0] - ulo, _GUARD)
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

    def at_log(self, v):
        """The cdf at x = e^v, for any real v (also below the float range of x): :meth:`__call__` in u = log x."""
        v = np.asarray(v, dtype=float)
        out = self.continuous_u(v)
        for a, p in self.atoms:
            out = out + np.where(v >= (math.log(a) if a > 0 else -math.inf), p, 0.0)
        return np.clip(out, 0.0, 1.0)

    def inverse(self, q):
        from scipy.optimize import brentq

        q = np.asarray(q, dtype=float)
        flat = q.ravel()
        with np.errstate(under="ignore"):
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


    def inverse_log(self, q):
        """log of :meth:`inverse` (natural), exact also for quantiles below the float range of x (solved in
        u = log x on the continuous part, or in the power law below the deepest node); -inf for a quantile
        in an atom at 0 (or q = 0)."""
        from scipy.optimize import brentq

        q = np.asarray(q, dtype=float)
        with np.errstate(divide="ignore"):
            out = np.log(self.inverse(q)).ravel()
        flat = q.ravel()
        atom0 = sum(p for a, p in self.atoms if a <= 0)
        u_floor = math.log(_SMALLEST_NORMAL)
        deep = (flat > atom0) & (flat < 1.0) & (float(self(np.array(_SMALLEST_NORMAL))) >= flat)
        lows = [pc for pc in self.pieces if pc[4].size and pc[7] == -math.inf]
        for i in np.flatnonzero(deep):
            if not lows:
                break
            _lo, _hi, c0, _bm, u, cum, beta, _ulo, _uhi = lows[0]
            qc = flat[i] - atom0  # the continuous cdf's level
            c_first = c0 + float(cum(u[0]))
            if c_first >= qc:  # below the deepest node: the power law of the tail
                out[i] = u[0] + math.log(qc / c_first) / beta if beta and c_first > 0 else u[0]
                continue
            g = lambda v, qc=qc: float(self.continuous_u(np.array(v))) - qc  # noqa: E731
            out[i] = brentq(g, float(u[0]), u_floor, xtol=_PPF_LOG_XTOL, rtol=4 * _EPS)
        return out.reshape(q.shape)


def _check_q(q):
    q = np.asarray(q, dtype=float)
    if np.any(~np.isfinite(q) | (q < 0) | (q > 1)):
        raise ValueError("q must lie in [0, 1] (probabilities)")
    return q


def _grid_ppf(res: DensityResult, q):
    return _Cdf(res).inverse(_check_q(q))


def _grid_ppf_log(res: DensityResult, q):
    """Natural log of the quantiles of ``res`` (also below the float range)."""
    return _Cdf(res).inverse_log(_check_q(q))
