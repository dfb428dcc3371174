"""M(z) at arbitrary complex z on the physical branch (the public :func:`solve_m_transform`)."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

from .continuation import _continue, _le0
from .edges import _system, edges
from .factors import _continuous_mass, _law_atoms
from .real_axis import _closed_form, _solve_closed_form
from .threads import _thread_policy
from .tolerances import _ATOMIC_MASS, _ETA_LAST, _USER_TOL_MAX


@dataclass(frozen=True)
class MSolution:
    """Result of :func:`solve_m_transform`: m = M(z) with its certificate.

    ``certified``: Newton converged, Im G <= 0 and continuity held along the whole path;
    ``fallback``: some continuation step had to be refined; ``residual``: final merit
    (|residual of log z| combined with the scaled implicit-factor residuals); ``on_axis``: the point
    was solved on the real axis itself (eta = 0) rather than at a tiny eta.
    """

    z: np.ndarray
    m: np.ndarray
    certified: np.ndarray
    fallback: np.ndarray
    residual: np.ndarray
    on_axis: np.ndarray


@_thread_policy
def solve_m_transform(law, z, *, full_output=False, rtol_eta=_ETA_LAST):
    r"""Solve :math:`z = (1+m)/(m S_J(m))` for :math:`m = M(z)` on the physical branch (vectorized).

    Parameters
    ----------
    law : FreeProduct, JacobianLaw, SpectralLaw with an S-transform, or FactorizedLaw
    z : complex array_like
        Real z gives the boundary value :math:`M(x + i0)`; :math:`\operatorname{Im} z < 0` uses
        :math:`M(\bar z) = \overline{M(z)}`.
    full_output : bool
        Return an :class:`MSolution` with the certificate arrays instead of m.
    rtol_eta : float
        The last continuation stop before the real axis is at :math:`\eta = ` ``rtol_eta`` |x|.

    Returns
    -------
    ndarray or MSolution
        Points that cannot be certified are NaN (with a ``RuntimeWarning``).
    """
    z = np.asarray(z, dtype=complex)
    if not np.all(np.isfinite(z)):
        raise ValueError("z must be finite (got inf or nan); M(z) -> 0 as |z| -> infinity")
    if not (0 < rtol_eta < _USER_TOL_MAX):
        raise ValueError(f"rtol_eta must lie in (0, {_USER_TOL_MAX:g}), got {rtol_eta!r}")
    shape = z.shape
    zf = z.ravel()
    if _continuous_mass(law) <= _ATOMIC_MASS:  # purely atomic: M(z) = sum p a / (z - a)
        a = np.array([x for x, _ in _law_atoms(law)])
        w = np.array([q for _, q in _law_atoms(law)])
        with np.errstate(divide="ignore", invalid="ignore"):
            m = np.sum(w * a / (zf[:, None] - a), axis=1)
        ones = np.ones(zf.shape, bool)
        if full_output:
            return MSolution(zf.reshape(shape), m.reshape(shape), ones.reshape(shape),
                             (~ones).reshape(shape), np.zeros(shape), ones.reshape(shape))
        return m.reshape(shape)
    lower = zf.imag < 0
    zz = np.where(lower, np.conj(zf), zf)
    e = edges(law)
    sys = _system(law, e.log_lambda_max)
    c = math.exp(min(e.log_lambda_max, 709.0))
    x, eta = zz.real / c, zz.imag / c
    with np.errstate(divide="ignore"):
        u = np.log(np.abs(x))
        le_t = np.log(eta)
    sgn = np.sign(x)
    real_axis = eta == 0
    if np.any(real_axis & (x == 0)):
        raise ValueError("z = 0 is not allowed (M(0) = -1 + mass of the atom at 0 is a limit, not a value)")
    le_target = np.where(real_axis, u + math.log(rtol_eta), le_t)
    le0 = _le0(sys) + max(0.0, float(np.max(np.where(sgn != 0, u, -np.inf), initial=0.0)))
    path = _continue(sys, u, sgn, le_target, le0, real_axis)
    m, ok, res, fb, fin = path.m, path.ok, path.res, path.fallback, path.final
    direct = real_axis & (x > 0)
    if _closed_form(sys) and sys.imp[0].pushforward is not None and np.any(direct):
        # the law of one factor with its push-forward (docs/design.md §5.4): M(x + i0) as on the density grid,
        # not the continuation's contour value (gelu, q* = 3.74: x rho 8% off at x = 0.006)
        sol = _solve_closed_form(sys, u[direct])
        m, ok, res = m.copy(), ok.copy(), res.copy()
        m[direct], ok[direct], res[direct] = sol.m, sol.ok, sol.res
        fin = fin | direct
    m = np.where(lower, np.conj(m), m)
    out = np.where(ok, m, np.nan + 0j)
    if not np.all(ok):
        warnings.warn(f"{getattr(law, 'name', 'law')}: {int(np.sum(~ok))} point(s) of M(z) could not be "
                      "certified (returned as NaN)", RuntimeWarning, stacklevel=2)
    if full_output:
        return MSolution(zf.reshape(shape), out.reshape(shape), ok.reshape(shape), fb.reshape(shape),
                         res.reshape(shape), (fin | ~real_axis).reshape(shape))
    return out.reshape(shape)
