r"""The critical line :math:`\chi_1 = 1` at the attracting fixed point (:func:`critical_point`): roots of
:math:`\chi_1(q^*) = 1` along the parametrised line, kept when the q-map from :math:`q^0` reaches them."""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import brentq, minimize_scalar

from .. import gaussian as _g
from ..activations import Activation
from ..activations import activation as _resolve
from .qmap import (
    _MAX_ITER,
    MeanField,
    NoFixedPointError,
    _check_variance,
    _e2,
    _e2_slope,
    _fixed_points,
    _is_homogeneous,
    mean_field,
)

#: q* grid of the critical-line search, 20 points per decade over [1e-16, 1e10]: two roots of
#: chi1(q*) = 1 less than one step (a factor 1.12 in q*) apart are not resolved.
_CRIT_GRID = np.logspace(-16, 10, 521)
#: Largest |chi1 - 1| at the fixed point reached from q0 for which a point of the parametrised critical line
#: counts as critical (chi1 there is 1 to ~1e-13; a different fixed point differs by far more).
_CRIT_MATCH = 1e-9


def _roots(h, grid):
    """Every root of h on the grid, ascending: zeros at grid points and one Brent root per sign change."""
    vals = np.asarray(h(grid), dtype=float)
    out = list(grid[vals == 0])
    for i in np.flatnonzero(np.sign(vals[:-1]) * np.sign(vals[1:]) < 0):
        out.append(brentq(lambda t: float(h(np.array([t]))[0]), grid[i], grid[i + 1], xtol=1e-300,
                          rtol=1e-15, maxiter=_MAX_ITER))
    return np.sort(np.asarray(out, dtype=float))


def _snap_bias(b, q):
    """sigma_b2 from the critical line; rounding below 0 (|b| <= 1e-13 q) is set to 0."""
    b = np.asarray(b, dtype=float)
    return np.where((b < 0) & (b >= -1e-13 * np.asarray(q, dtype=float)), 0.0, b)


def _line(act: Activation, q):
    r"""The critical line parametrised by :math:`q^*`: :math:`\sigma_w^2 = 1/E[\phi'^2]`,
    :math:`\sigma_b^2 = q^* - \sigma_w^2 E[\phi^2]` (vectorized)."""
    q = np.asarray(q, dtype=float)
    s = 1.0 / np.asarray(_g.dphi_squared_mean(act, q), dtype=float)
    return s, _snap_bias(q - s * _e2(act, q), q)


def _is_critical(act: Activation, s, b, q0: float):
    r"""Vectorized: does the q-map at (:math:`\sigma_w^2, \sigma_b^2`) reach from ``q0`` an attracting
    fixed point (converged, :math:`\mathcal V'(q^*) \le 1`) with :math:`|\chi_1 - 1| \le` ``_CRIT_MATCH``?
    False where :math:`\sigma_b^2 < 0`."""
    s, b = np.broadcast_arrays(np.asarray(s, dtype=float), np.asarray(b, dtype=float))
    out = np.zeros(s.shape, dtype=bool)
    use = np.isfinite(s) & (s > 0) & np.isfinite(b) & (b >= 0)
    if not np.any(use):
        return out
    su = s[use]
    q, conv = _fixed_points(act, su, b[use], q0)
    good = conv & np.isfinite(q)
    chi, slope = np.full(q.shape, np.nan), np.full(q.shape, np.nan)
    if np.any(good):
        chi[good] = su[good] * _g.dphi_squared_mean(act, q[good])
        slope[good] = su[good] * _e2_slope(act, q[good])
    out[use] = good & (np.abs(chi - 1.0) <= _CRIT_MATCH) & (slope <= 1.0 + _CRIT_MATCH)
    return out


def _zero_is_fixed(act: Activation) -> bool:
    return float(np.asarray(act.phi(np.zeros(1)), dtype=float)[0]) == 0.0


def _critical_bias(act: Activation, s: float, q0: float):
    """sigma_b2 >= 0 of the critical point at sigma_w2 = s (smallest critical q*), or None."""
    qc = _roots(lambda q: s * _g.dphi_squared_mean(act, q) - 1.0, _CRIT_GRID)
    if _zero_is_fixed(act) and abs(s * float(_g.dphi_squared_mean(act, 0.0)) - 1.0) <= 1e-12:
        qc = np.concatenate([[0.0], qc])  # q* = 0 with sigma_b2 = 0 (tanh at sigma_w2 = 1)
    if qc.size == 0:
        return None
    b = _snap_bias(qc - s * _e2(act, qc), qc)
    ok = np.flatnonzero(_is_critical(act, s, b, q0))
    return float(b[ok[0]]) if ok.size else None


def _critical_weight(act: Activation, b: float, q0: float):
    """sigma_w2 of the critical point at sigma_b2 = b (smallest critical q*), or None."""
    qc = _roots(lambda q: q - _e2(act, q) / _g.dphi_squared_mean(act, q) - b, _CRIT_GRID)
    if b == 0 and _zero_is_fixed(act):
        qc = np.concatenate([[0.0], qc])
    if qc.size == 0:
        return None
    s = 1.0 / np.asarray(_g.dphi_squared_mean(act, qc), dtype=float)
    ok = np.flatnonzero(_is_critical(act, s, b, q0))
    return float(s[ok[0]]) if ok.size else None


def _critical_ranges(act: Activation, which: str, q0: float) -> list:
    """Ranges of sigma_w2 (``which="sigma_w2"``) or sigma_b2 covered by the critical points for q* on
    ``_CRIT_GRID``: runs of critical grid points, their ends refined by bisection in log q*."""
    q = _CRIT_GRID
    s, b = _line(act, q)
    ok = _is_critical(act, s, b, q0)
    if not ok.any():
        return []
    edges = np.flatnonzero(np.diff(ok.astype(int)))  # ok changes between q[i] and q[i + 1]
    lo_q, hi_q = q[edges], q[edges + 1]
    good_hi = ok[edges + 1]
    for _ in range(40 if edges.size else 0):
        mid = np.sqrt(lo_q * hi_q)
        sm, bm = _line(act, mid)
        m_ok = _is_critical(act, sm, bm, q0)
        move_lo = m_ok != good_hi  # mid on the side of lo
        lo_q, hi_q = np.where(move_lo, mid, lo_q), np.where(move_lo, hi_q, mid)
    ends = np.where(good_hi, hi_q, lo_q)  # the critical side of each boundary
    k = 0 if which == "sigma_w2" else 1
    param = (s, b)[k]

    def at(log_q):
        return float(_line(act, np.array([math.exp(log_q)]))[k][0])

    runs, start = [], None
    for i in range(q.size):
        if ok[i] and start is None:
            start = i
        if start is None or (i < q.size - 1 and ok[i + 1]):
            continue
        vals = [float(_line(act, np.array([e]))[k][0]) for e, j in zip(ends, edges, strict=True)
                if j in (start - 1, i)]
        for sign, j in ((1.0, start + int(np.argmin(param[start:i + 1]))),
                        (-1.0, start + int(np.argmax(param[start:i + 1])))):
            vals.append(float(param[j]))
            if start < j < i:  # interior extremum: refine between the neighbouring grid points
                res = minimize_scalar(lambda u, sign=sign: sign * at(u), method="bounded", options={"xatol": 1e-9},
                                      bounds=(math.log(q[j - 1]), math.log(q[j + 1])))
                vals.append(sign * float(res.fun))
        runs.append((min(vals), max(vals)))
        start = None
    return runs


def _no_critical_point(act: Activation, which: str, value: float, q0: float) -> ValueError:
    runs = _critical_ranges(act, which, q0)
    rule = (f"chi1 = 1 at the attracting fixed point q* of the q-map reached from q0 = {q0:g}, with "
            f"sigma_b2 >= 0, searched for q* in [{_CRIT_GRID[0]:g}, {_CRIT_GRID[-1]:g}]")
    if not runs:
        return ValueError(f"no critical point of {act.name!r} at {which} = {value:g}: {act.name!r} has no critical "
                          f"line ({rule})")
    allowed = " or ".join(f"[{lo:.8g}, {hi:.8g}]" for lo, hi in runs)
    return ValueError(f"no critical point of {act.name!r} at {which} = {value:g}: {which} must lie in {allowed} "
                      f"({rule}; ends inside that window accurate to about 1e-9 relative)")


def critical_point(act, *, sigma_w2=None, sigma_b2=None, q0: float = 1.0) -> MeanField:
    r"""The point on the critical line :math:`\chi_1 = 1` with the given :math:`\sigma_w^2` or :math:`\sigma_b^2`.

    On the critical line :math:`\sigma_w^2 = 1/E[\phi'(\sqrt q z)^2]` and
    :math:`\sigma_b^2 = q - \sigma_w^2 E[\phi(\sqrt q z)^2]` are functions of :math:`q^*` alone, so
    either variance fixes :math:`q^*` by a one-dimensional root search (every root on a logarithmic grid,
    20 points per decade over :math:`[10^{-16}, 10^{10}]`, refined with Brent's method).

    Where the q-map has several fixed points (gelu, swish: :math:`E[\phi^2]` is not concave in
    :math:`q`), a root can be an unstable fixed point, or a stable one that the iteration from
    :math:`q^0` does not reach.  The rule is that of :func:`mean_field` and :func:`phase_diagram`: a root
    counts only when the attracting fixed point reached from ``q0`` at the solved
    (:math:`\sigma_w^2, \sigma_b^2`), with :math:`\sigma_b^2 \ge 0`, has :math:`\chi_1 = 1` (to
    :math:`10^{-9}`); of those, the smallest :math:`q^*` is returned.  The result is
    ``mean_field(act, sigma_w2, sigma_b2, q0=q0)``, so ``phase_diagram`` at that point gives the same
    :math:`\chi_1`.

    Parameters
    ----------
    act : str, Activation or callable
    sigma_w2 : float, optional
        Given weight variance: solve for :math:`\sigma_b^2 \ge 0`.
    sigma_b2 : float, optional
        Given bias variance: solve for :math:`\sigma_w^2`.
    q0 : float
        Starting variance of the q-map iteration (default 1), as in :func:`mean_field`.

    Returns
    -------
    MeanField
        At the solved point; its ``chi1`` is 1 to about 1e-13.

    Raises
    ------
    ValueError
        When not exactly one of the variances is given, or no critical point exists; the message gives
        the range of the given variance where one does (e.g. tanh: :math:`\sigma_w^2 \ge 1`; gelu:
        :math:`1.9556 \lesssim \sigma_w^2 < 2`; relu: the critical line is :math:`\sigma_w^2 = 2`,
        :math:`\sigma_b^2 = 0`).
    """
    act = _resolve(act)
    if (sigma_w2 is None) == (sigma_b2 is None):
        raise ValueError("critical_point needs exactly one of sigma_w2= or sigma_b2= (the other is solved on "
                         "the critical line chi1 = 1)")
    q0 = _check_variance("q0", q0, positive=True)
    homogeneous = act.pieces is not None and _is_homogeneous(act)
    if sigma_w2 is not None:
        s = _check_variance("sigma_w2", sigma_w2, positive=True)
        if homogeneous:
            mu1 = float(_g.dphi_squared_mean(act, 1.0))
            if abs(s * mu1 - 1) > 1e-12:
                raise ValueError(f"{act.name} has chi1 = sigma_w2 * {mu1:g} for every q, so its critical line is "
                                 f"sigma_w2 = {1 / mu1:g} (with sigma_b2 = 0); got sigma_w2 = {s:g}")
            return mean_field(act, s, 0.0, q0=q0)
        b = _critical_bias(act, s, q0)
        if b is None:
            raise _no_critical_point(act, "sigma_w2", s, q0)
        return mean_field(act, s, b, q0=q0)
    b = _check_variance("sigma_b2", sigma_b2)
    if homogeneous:
        mu1 = float(_g.dphi_squared_mean(act, 1.0))
        if b > 0:
            raise NoFixedPointError(f"{act.name} is critical only at sigma_w2 = {1 / mu1:g} with sigma_b2 = 0 (with "
                                    f"sigma_b2 = {b:g} > 0 the q-map diverges there)")
        return mean_field(act, 1.0 / mu1, 0.0, q0=q0)
    s = _critical_weight(act, b, q0)
    if s is None:
        raise _no_critical_point(act, "sigma_b2", b, q0)
    return mean_field(act, s, b, q0=q0)
