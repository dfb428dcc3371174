"""Damped Newton on the density equation, and the certificate Im G <= 0 of a solution."""

from __future__ import annotations

import numpy as np

from .threads import _quiet
from .tolerances import (
    _ARMIJO,
    _CONVERGED_ABS,
    _CONVERGED_NOISE,
    _EPS,
    _GUARD,
    _IM_G_SLACK_CAP,
    _IM_G_TOL,
    _STALL_ABS,
    _STALL_NOISE,
)


@_quiet
def _newton(sys, p, B, zeta, target, maxit=40, max_halvings=10):
    r"""Damped Newton (backtracking on the residual); returns p, zeta, converged, residual, ev.

    A point whose residual does not decrease within ``max_halvings`` halvings of its step is left as it
    was and abandoned (not converged), unless that is the full budget of 10 halvings (then the last
    trial is kept and the stall test below decides).  With one implicit factor, a point that does not
    converge so is solved again from its start with p following zeta (:meth:`_System.project`): Newton on
    the scalar :math:`\log z(\zeta)`, whose basin the coupled step in (p, zeta) can miss by far at large
    multiplicities (docs/design.md §4.4); ``ev["projected"]`` marks the points solved so.
    """
    out = _newton_run(sys, p, B, zeta, target, maxit, max_halvings, False)
    out[4]["projected"] = np.zeros(p.shape, bool)
    fail = (~out[2]).nonzero()[0]
    if sys.k != 1 or fail.size == 0:
        return out
    again = _newton_run(sys, p[fail], B[fail], zeta[:, fail], target[fail], maxit, max_halvings, True)
    won = fail[again[2]]
    if won.size == 0:
        return out
    again[4]["projected"] = np.ones(fail.size, bool)
    pn, zn, cv, res = (a.copy() for a in out[:4])
    ev = {k: ([v.copy() for v in val] if isinstance(val, list) else val.copy()) for k, val in out[4].items()}
    sel = again[2]
    pn[won], zn[:, won], cv[won], res[won] = again[0][sel], again[1][:, sel], True, again[3][sel]
    for key, val in ev.items():
        if isinstance(val, list):
            for j in range(len(val)):
                val[j][won] = again[4][key][j][sel]
        else:
            val[won] = again[4][key][sel]
    return pn, zn, cv, res, ev


def _newton_run(sys, p, B, zeta, target, maxit, max_halvings, project):
    """:func:`_newton` with the coupled step (``project`` False) or with p following zeta."""
    zeta = zeta.copy()
    p = sys.project(p.copy(), B, zeta) if project else p.copy()
    ev = sys.evaluate(p, B, zeta, target)
    res = ev["res"]
    conv = np.isfinite(res) & (res <= _CONVERGED_NOISE * ev["noise"] + _CONVERGED_ABS)
    dead = np.zeros(p.shape, bool)
    for _ in range(maxit):
        act = (~conv & ~dead).nonzero()[0]
        if act.size == 0:
            break
        every = act.size == p.size  # all points active (most iterations of a continuation): no gather/scatter
        sub = ev if every else {k: ([v[act] for v in val] if isinstance(val, list) else val[act])
                                for k, val in ev.items()}
        dp, dz = sys.step(sub)
        dz = np.array(dz).reshape(sys.k, act.size)
        p0, z0, r0, b0, t0 = p[act], zeta[:, act], res[act], B[act], target[act]
        lam = np.ones(act.size)
        # the update is applied in log p and log zeta (same linearisation; log z is linear in log zeta and
        # nearly so in log p, so deep products converge in a few steps)
        rp, rz = dp / p0, dz / z0
        z_new = z0 * np.exp(rz)
        p_new = sys.project(p0 * np.exp(rp), b0, z_new) if project else p0 * np.exp(rp)
        ev_new = sys.evaluate(p_new, b0, z_new, t0)
        r_new = ev_new["res"]
        pending = np.arange(act.size)
        for _bt in range(11):
            bad = ~(np.isfinite(r_new[pending]) & (r_new[pending] < r0[pending] * (1 - _ARMIJO * lam[pending])))
            pending = pending[bad]
            if pending.size == 0 or _bt == 10:
                break
            if _bt == max_halvings:
                break
            lam[pending] *= 0.5
            zp = z0[:, pending] * np.exp(lam[pending] * rz[:, pending])
            pp = p0[pending] * np.exp(lam[pending] * rp[pending])
            pp = sys.project(pp, b0[pending], zp) if project else pp
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
        if every:
            ev = ev_new
        else:
            for key, val in ev.items():
                if isinstance(val, list):
                    for j in range(len(val)):
                        val[j][act] = ev_new[key][j]
                else:
                    val[act] = ev_new[key]
        res = ev["res"]
        conv = np.isfinite(res) & (res <= _CONVERGED_NOISE * ev["noise"] + _CONVERGED_ABS)
        # stalled at the rounding level: accept if within 256 x the attainable accuracy
        stalled = act[small & np.isfinite(r_new) & (r_new <= _STALL_NOISE * ev_new["noise"] + _STALL_ABS)]
        conv[stalled] = True
        if (small | conv[act] | dead[act]).all():
            break
    conv &= ~dead
    return p, zeta, conv, res, ev


def _im_g_ok(one_pm, logz, tol=_IM_G_TOL, noise=0.0):
    """Certificate Im G <= 0 with G = (1+m)/z, tested as Im((1+m) e^{-i arg z}) <= tol |1+m|.

    ``noise``: the attainable accuracy of m (:func:`_m_noise`); a sign within 4 x that of the real axis
    (capped at :data:`_IM_G_SLACK_CAP` |1+m|) is not decided by rounding and passes (next to a soft edge of a
    deep product Im m is ~1e-12 while m is known to ~1e-10).
    """
    v = one_pm * np.exp(-1j * logz.imag)
    slack = np.minimum(4 * np.nan_to_num(noise, nan=0.0), _IM_G_SLACK_CAP * np.abs(one_pm))
    return v.imag <= tol * np.abs(one_pm) + slack + _GUARD


def _m_noise(sys, ev):
    """Attainable accuracy of m (rounding level of log z over |d log z / dm|) from an evaluation."""
    with np.errstate(all="ignore"):
        acc = ev["noise"] / np.abs(ev["dred"])
    return np.where(np.isfinite(acc), acc, np.inf)
