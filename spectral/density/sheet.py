r"""The sheet of a solution on the real axis, and the march along it that keeps a band on the physical sheet
(docs/design.md §4.3, §5.10).

On the physical sheet every logarithm of the log form (:mod:`.system`) stays on its principal branch along
the whole continuation from :math:`z = x + i\infty`: :math:`\operatorname{Im} m < 0`, the linear factors
:math:`1 + b_k m` keep the sign of :math:`\operatorname{Im}(b_k m)`, and every implicit unknown
:math:`\zeta_j = M_j^{-1}(s_j m)` stays in the upper half plane (a subordination function).  So the sum of
principal logarithms that :meth:`~.system._System.evaluate` forms equals :math:`\log z` itself, not
:math:`\log z + 2\pi i k`: the *winding* :math:`k = \operatorname{round}(\operatorname{Im}(\log z_{\rm
form} - \log z)/2\pi)` is 0.  Newton takes the residual modulo :math:`2\pi i` (it must, to move between
sheets near an edge), so a continuation can land on a sheet :math:`k \ne 0` and pass every other check:
a depth-:math:`10^4` product has sheets :math:`2\pi/10^4` apart in :math:`\log z` (tanh / Gaussian
critical, :math:`\sigma_w^2 = 1.05`: :math:`k = -6` below :math:`10^{-5}` of the top, :math:`x\rho` 15
times too large, total mass 11.6).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .continuation import _switch_modes
from .newton import _im_g_ok, _m_noise, _newton
from .tolerances import (
    _JUMP_ABS,
    _JUMP_NOISE,
    _JUMP_REL,
    _MARCH_GROWTH,
    _MARCH_MIN_STEP,
    _MODE_B_ENTER,
    _TWO_PI,
)


def _winding(ev, target) -> np.ndarray:
    """The sheet k of solutions evaluated as ``ev`` (:meth:`_System.evaluate`) against ``target`` (log z):
    the multiple of 2 pi i between the sum of principal logarithms and the target; 0 on the physical sheet
    (module docstring); -1 where the evaluation is not finite (no sheet can be told)."""
    d = np.asarray(ev["logz"] - target).imag / _TWO_PI
    with np.errstate(invalid="ignore"):
        k = np.where(np.isfinite(d), np.round(d), -1.0)
    return k.astype(int)


def _march_step(sys, p, B, zeta, dred, cj, sj, u_old, u_new):
    """One step along the real axis from log x = ``u_old`` to ``u_new`` (arrays of one point): Euler predictor
    in log p and log zeta (as the vertical continuation, :func:`~.continuation._continue`), damped Newton,
    accepted when it converged on the physical sheet (winding 0), with Im G <= 0 and close to the
    predictor.  Returns (accepted, p, zeta, residual, ev)."""
    with np.errstate(all="ignore"):
        dlp = (u_new - u_old) / (dred * p)
        pp = p * np.exp(dlp)
        dp = pp - p
        zp = np.array([zeta[j] * np.exp(sj[j] * p * dlp / (cj[j] * zeta[j])) for j in range(sys.k)]
                      ).reshape(sys.k, p.size)
    if not (np.all(np.isfinite(pp)) and np.all(np.isfinite(zp))):
        return False, p, zeta, None, None
    target = np.full(p.shape, u_new + 0j)
    pn, zn, cv, rs, ev = _newton(sys, pp, B, zp, target, maxit=12, max_halvings=3)
    with np.errstate(all="ignore"):
        noise = _m_noise(sys, ev)
        close = np.abs(pn - pp) <= _JUMP_REL * np.abs(dp) + _JUMP_ABS * np.abs(p) + _JUMP_NOISE * noise
        good = cv & close & (_winding(ev, target) == 0) & np.isfinite(pn) & \
            _im_g_ok(sys.one_plus(1.0, pn, B), target, noise=noise)
    if sys.k:
        good &= np.all(np.isfinite(zn), axis=0)
    return bool(good[0]), pn, zn, rs, ev


def _march(sys, u, start, path, p, B, zeta, dred, cj, sj):
    """Solve the nodes ``path`` (indices into ``u``, in the order of the march) from the certified node
    ``start`` (its unknowns ``p``, ``B``, ``zeta`` and derivatives, one point each) along the real axis,
    halving a step that is not accepted (down to :data:`_MARCH_MIN_STEP` of the first).  Returns, per node
    of ``path`` until the first that cannot be reached: (index, m, residual, attainable accuracy, zeta, m - m0)."""
    out = []
    u_here = float(u[start])
    for i in path:
        h = float(u[i]) - u_here
        h_min = _MARCH_MIN_STEP * abs(h)
        reached = False
        while abs(h) >= h_min:
            u_next = float(u[i]) if abs(float(u[i]) - u_here) <= abs(h) else u_here + h
            _switch_modes(sys, p, B, np.arange(1))
            acc, pn, zn, rs, ev = _march_step(sys, p, B, zeta, dred, cj, sj, u_here, u_next)
            if not acc:
                h *= 0.5
                continue
            p, zeta, u_here = pn, zn, u_next
            dred = ev["dred"]
            cj, sj = [c * 1.0 for c in ev["cj"]], [s * 1.0 for s in ev["sj"]]
            h *= _MARCH_GROWTH
            if u_next == float(u[i]):
                out.append((int(i), complex(sys.m_of(p, B)[0]), float(rs[0]), float(_m_noise(sys, ev)[0]),
                            zeta[:, 0].copy(), complex(np.where(B, p, p - sys.m0)[0])))
                reached = True
                break
        if not reached:
            break
    return out


def _start(sys, u, i, delta, zeta):
    """The unknowns of the certified node ``i`` re-solved at its own x (p, B, zeta, dred, cj, sj), from its
    ``delta`` = m - m0 (m itself would lose the digits of m - m0 near m0), or None where Newton does not
    confirm it on the physical sheet."""
    d = np.array([delta[i]])
    B = np.abs(d) < _MODE_B_ENTER * abs(sys.m0)
    p = np.where(B, d, d + sys.m0)
    z = zeta[:, i:i + 1].copy()
    target = np.array([u[i] + 0j])
    pn, zn, cv, _, ev = _newton(sys, p, B, z, target, maxit=12)
    if not (cv[0] and _winding(ev, target)[0] == 0):
        return None
    return pn, B, zn, ev["dred"], [c * 1.0 for c in ev["cj"]], [s * 1.0 for s in ev["sj"]]


def _runs(flag):
    """(first, last) index of every run of consecutive True in ``flag``."""
    d = np.diff(np.concatenate([[0], flag.astype(int), [0]]))
    return list(zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1) - 1, strict=True))


def _repair_sheets(sys, u, sol, piece, seed=None):
    r"""``sol`` (a :class:`~.real_axis._RealSolution` on nodes ``u`` ascending, grid pieces ``piece``) with every
    node off the physical sheet (winding :math:`\ne 0`, module docstring) or not certified re-solved by a
    march along the real axis from the nearest certified node of its piece above it (else below it), or
    from ``seed`` (u, zeta, delta = m - m0: a certified solution above the last piece).  Nodes the march
    cannot reach are not certified."""
    ok = sol.ok & (sol.sheet == 0)
    n = u.size
    if np.all(ok) or sol.zeta is None or sol.delta is None:
        return dataclasses.replace(sol, ok=ok)
    m, res, fb, acc = sol.m.copy(), sol.res.copy(), sol.fb.copy(), sol.acc.copy()
    sheet, zeta, delta = sol.sheet.copy(), sol.zeta.copy(), sol.delta.copy()
    if seed is not None and seed[0] > u[-1]:
        # the seed as a certified node above the last one (sliced off at the end)
        u = np.append(u, seed[0])
        m, ok, res, fb = np.append(m, seed[2] + sys.m0), np.append(ok, True), np.append(res, 0.0), np.append(fb, False)
        acc, sheet, piece = np.append(acc, 0.0), np.append(sheet, 0), np.append(piece, piece[-1])
        zeta = np.concatenate([zeta, np.asarray(seed[1], complex).reshape(sys.k, 1)], axis=1)
        delta = np.append(delta, seed[2])
    for a, b in _runs(~ok):
        for start, path in ((b + 1, range(b, a - 1, -1)), (a - 1, range(a, b + 1))):
            if not (0 <= start < u.size and ok[start] and piece[start] == piece[a] == piece[b]):
                continue
            st = _start(sys, u, start, delta, zeta)
            if st is None:
                continue
            for i, mi, ri, ai, zi, di in _march(sys, u, start, list(path), *st):
                if not ok[i]:
                    m[i], ok[i], res[i], fb[i], acc[i], sheet[i] = mi, True, ri, True, ai, 0
                    zeta[:, i], delta[i] = zi, di
            break
    return dataclasses.replace(sol, m=m[:n], ok=ok[:n], res=res[:n], fb=fb[:n], acc=acc[:n], sheet=sheet[:n],
                               zeta=zeta[:, :n], delta=delta[:n])
