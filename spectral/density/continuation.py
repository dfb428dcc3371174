"""Continuation in log eta from far above the spectrum down to the real axis (docs/design.md §4.3)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .newton import _im_g_ok, _m_noise, _newton
from .threads import _quiet
from .tolerances import (
    _EDGE_EFOLDS,
    _EDGE_MOVE,
    _FIRST_STEP,
    _GUARD,
    _JUMP_ABS,
    _JUMP_NOISE,
    _JUMP_REL,
    _LOWER_EFOLDS,
    _MODE_B_ENTER,
    _MODE_B_LEAVE,
    _RATIO_FLOOR,
    _RETRY_EFOLDS,
    _SINGLE_LAYER_NTOT,
    _START_RTOL,
    _STEP_CUT,
    _STEP_DEAD,
    _STEP_GIVE_UP_REAL,
    _STEP_GROWTH,
    _STEP_RANGE,
    _STEP_RATIO,
    _STEP_RATIO_PATH_FREE,
    _TURN_EFOLDS,
    _TURN_STEP,
    _TWO_PI,
)


@dataclass(frozen=True)
class _Path:
    """End of a continuation, per point: ``m``; the unknown ``p`` in its ``mode`` (False: m, True: delta =
    m - m0) and the implicit unknowns ``zeta``, from which the system can be re-evaluated; ``ok``
    (certified along the whole path), ``res`` (final residual), ``fallback`` (some step was refined),
    ``final`` (reached eta = 0 itself)."""

    m: np.ndarray
    p: np.ndarray
    mode: np.ndarray
    zeta: np.ndarray
    ok: np.ndarray
    res: np.ndarray
    fallback: np.ndarray
    final: np.ndarray


def _le0(sys) -> float:
    """log of the starting height eta_0 / lambda_max: 10, more for deep products (the start m = m_1/z
    must be well inside the basin of Newton for log z = ... + L log(...))."""
    return math.log(10.0) + (math.log1p(sys.ntot / 16.0) if sys.k else 0.0)


def _path_logz(u, sgn, le):
    """log(sgn e^u + i e^le), stable for any magnitudes (le = -inf: the real axis from above)."""
    u, sgn, le = (np.asarray(a, float) for a in (u, sgn, le))
    if not (u.shape == sgn.shape == le.shape):
        u, sgn, le = np.broadcast_arrays(u, sgn, le)
    d = le - u
    with np.errstate(all="ignore"):
        # both forms everywhere, then the stable one per point (no gather/scatter: this runs twice a step)
        out = np.where(d > 0, le + np.log(sgn * np.exp(-d) + 1j), u + np.log(sgn + 1j * np.exp(d)))
    zero = sgn == 0
    if zero.any():
        out[zero] = le[zero] + 0.5j * math.pi
    return out


def _path_free(sys) -> bool:
    """True where the certified values do not depend on how each node is reached (measured on the 46-law
    comparison): products of linear factors only, and single layers."""
    return bool(sys.linear or sys.ntot <= _SINGLE_LAYER_NTOT)


def _step_ratio(sys) -> float:
    """Target corrector/predictor ratio of the step control: :data:`_STEP_RATIO_PATH_FREE` where the path does
    not matter (:func:`_path_free`), :data:`_STEP_RATIO` else."""
    return _STEP_RATIO_PATH_FREE if _path_free(sys) else _STEP_RATIO


def _switch_modes(sys, p, B, idx):
    """Point-wise choice of the unknown: delta = m - m0 within |m0|/4 of m0, m otherwise."""
    if sys.w0 >= 1.0:
        return
    pi, bi = p[idx], B[idx]
    m = sys.m_of(pi, bi)
    to_b = ~bi & (np.abs(m - sys.m0) < _MODE_B_ENTER * abs(sys.m0))
    to_a = bi & (np.abs(pi) > _MODE_B_LEAVE * abs(sys.m0))
    pi = np.where(to_b, m - sys.m0, np.where(to_a, m, pi))
    p[idx] = pi
    B[idx] = (bi | to_b) & ~to_a


@_quiet
def _continue(sys, u, sgn, le_target, le0, real_axis, max_steps=400, stats=None):
    """Continuation from eta = e^le0 down to e^le_target (then eta = 0 where real_axis), vectorized; a
    :class:`_Path`."""
    n = u.size
    le_target = np.array(le_target, dtype=float)
    logz = _path_logz(u, sgn, np.full(n, le0))
    m, zeta = sys.init(logz)
    B = np.zeros(n, bool)
    p, zeta, conv, res, ev = _newton(sys, m, B, zeta, logz)
    ok0 = conv & (np.abs(p * np.exp(logz + sys.log_c - sys.log_m1) - 1) < _START_RTOL)
    dred = ev["dred"].copy()
    cj = [c * 1.0 for c in ev["cj"]]  # scaled dM_j/dzeta at the current point
    sj = [s * 1.0 for s in ev["sj"]]
    le = np.full(n, float(le0))
    h = np.full(n, _FIRST_STEP)
    done = ~ok0
    failed = ~ok0
    fallback = np.zeros(n, bool)
    final = np.zeros(n, bool)   # reached eta = 0
    steps = 0
    ratio = _step_ratio(sys)
    while True:
        act = (~done).nonzero()[0]
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
        near = (le_new < u[act] + _TURN_EFOLDS) & (le[act] > u[act] - _TURN_EFOLDS) & (sgn[act] != 0)
        le_new = np.where(near, np.maximum(le_new, np.minimum(u[act] + _TURN_EFOLDS, le[act] - _TURN_STEP)), le_new)
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
            jump = np.abs(pn - pp) <= _JUMP_REL * np.abs(dp) + _JUMP_ABS * np.abs(pa) + \
                _JUMP_NOISE * evn["noise"] / np.abs(evn["dred"])
            one_pm = sys.one_plus(1.0, pn, ba)
            base_ok = cv & _im_g_ok(one_pm, lz_new, noise=_m_noise(sys, evn)) & np.isfinite(pn)
            # last step from eta <= 1e-16 |x| next to a square-root edge: the Euler predictor is off by
            # O(1) there, but the sheets through the edge differ by O(sqrt(eta)) only, Im G <= 0 picks the
            # physical one, and any other sheet is far away: accept a move below 1e-4 |p|
            edge_ok = np.isneginf(le_new) & (le_target[act] <= u[act] - _EDGE_EFOLDS) & \
                (np.abs(pn - pa) <= _EDGE_MOVE * np.abs(pa))
            # a step solved by the scalar Newton in zeta (newton.py), whose basin reaches further than the
            # coupled step's, must land on winding 0: on the physical sheet every logarithm of the log form
            # stays principal along the whole path (sheet.py); it has landed the nodes below the soft edge of
            # tanh/orthogonal depth 10^4 at sigma_w^2 = 1.03 on sheet -6
            off_sheet = evn["projected"] & (np.round((evn["logz"] - lz_new).imag / _TWO_PI) != 0)
            good = base_ok & (jump | edge_ok) & ~off_sheet
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
            q = np.abs(pn - pp)[good] / (np.abs(dp[good]) + _GUARD)
        grow = np.clip(np.sqrt(ratio / np.maximum(q, _RATIO_FLOOR)), *_STEP_GROWTH)
        h[ia] = np.clip(h[ia] * grow, *_STEP_RANGE)
        done[ia[was_final[good] | (~real_axis[ia] & (le[ia] <= le_target[ia]))]] = True
        ib = act[~good]
        # a failed last step to eta = 0 (close to an edge): go down to a smaller eta first
        lower = ib[was_final[~good] & (le_target[ib] > u[ib] - _RETRY_EFOLDS)]
        le_target[lower] -= _LOWER_EFOLDS
        ib = np.setdiff1d(ib, lower, assume_unique=True)
        h[ib] *= _STEP_CUT
        fallback[ib] = True
        # a point that cannot reach eta = 0 keeps its tiny-eta value (flagged as fallback)
        give_up_real = ib[(h[ib] < _STEP_GIVE_UP_REAL) & (le[ib] <= le_target[ib])]
        done[give_up_real] = True
        dead = ib[(h[ib] < _STEP_DEAD)]
        failed[dead] = True
        done[dead] = True
    m = sys.m_of(p, B)
    return _Path(m, p, B, zeta, ~failed, res, fallback, final)
