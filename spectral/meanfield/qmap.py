r"""The q-map, its attracting fixed point :math:`q^*`, the c-map, :math:`\chi_1` and the depth scales
(:func:`mean_field`); the formulas and the fixed-point rule are in the package docstring."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import brentq

from .. import gaussian as _g
from ..activations import Activation
from ..activations import activation as _resolve

#: Half-width of the band :math:`|\chi_1 - 1|` labelled ``"critical"``.
CRITICAL_TOL = 1e-4
_Q_GRID = np.concatenate([[0.0], np.logspace(-16, 10, 105)])
_MAX_ITER = 100
_EPS = float(np.finfo(float).eps)


class NoFixedPointError(ValueError):
    """The q-map has no attracting fixed point (the pre-activation variance grows without bound)."""


# ------------------------------------------------------------------------------ input checks
def _check_variance(name, value, *, positive=False) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a real number, got {value!r}") from exc
    if not math.isfinite(v) or v < 0 or (positive and v == 0):
        rng = "> 0" if positive else ">= 0"
        raise ValueError(f"{name} must be finite and {rng}, got {value!r}")
    return v


def _arrays(sigma_w2, sigma_b2):
    s = np.asarray(sigma_w2, dtype=float)
    b = np.asarray(sigma_b2, dtype=float)
    if not (np.all(np.isfinite(s)) and np.all(s > 0)):
        raise ValueError(f"sigma_w2 must be finite and > 0, got {sigma_w2!r}")
    if not (np.all(np.isfinite(b)) and np.all(b >= 0)):
        raise ValueError(f"sigma_b2 must be finite and >= 0, got {sigma_b2!r}")
    return np.broadcast_arrays(s, b)


# ------------------------------------------------------------------------------ maps
def _e2(act: Activation, q):
    """E[phi(sqrt(q) z)^2], vectorized, q >= 0 (q = 0 gives phi(0)^2)."""
    qa = np.asarray(q, dtype=float)
    pos = qa > 0
    out = np.full(qa.shape, float(np.asarray(act.phi(np.zeros(1)), dtype=float)[0]) ** 2)
    if np.any(pos):
        out[pos] = _g.phi_second_moment(act, qa[pos])
    return out


def _e2_slope(act: Activation, q):
    qa = np.asarray(q, dtype=float)
    pos = qa > 0
    out = np.full(qa.shape, np.nan)
    if np.any(pos):
        out[pos] = _g.phi_second_moment_slope(act, qa[pos])
    if np.any(~pos):  # q -> 0+: d/dq E[phi^2] -> (phi'(0)^2 + phi(0) phi''(0)), limit of Stein's form
        out[~pos] = _g.phi_second_moment_slope(act, 1e-300) if act.pieces is not None else \
            _g.dphi_squared_mean(act, 0.0) + float(np.asarray(act.phi(np.zeros(1)))[0]) * \
            (float(np.asarray(act.ddphi(np.zeros(1)))[0]) if act.ddphi is not None else 0.0)
    return out


def q_map(act, q, sigma_w2, sigma_b2):
    r"""One step of the variance map :math:`\mathcal V(q) = \sigma_w^2 E[\phi(\sqrt q z)^2] + \sigma_b^2`
    (vectorized over ``q``)."""
    act = _resolve(act)
    s, b = _arrays(sigma_w2, sigma_b2)
    qa = np.asarray(q, dtype=float)
    if np.any(qa < 0) or not np.all(np.isfinite(qa)):
        raise ValueError(f"q must be finite and >= 0, got {q!r}")
    out = s * _e2(act, qa) + b
    return float(out) if np.ndim(out) == 0 else out


def q_map_slope(act, q, sigma_w2):
    r""":math:`\mathcal V'(q) = \sigma_w^2 \frac{d}{dq} E[\phi(\sqrt q z)^2]`; at :math:`q^*` it sets
    :math:`\xi_q = -1/\log \mathcal V'(q^*)`."""
    act = _resolve(act)
    out = np.asarray(sigma_w2, dtype=float) * _e2_slope(act, q)
    return float(out) if np.ndim(out) == 0 else out


def _fixed_points(act: Activation, s, b, q0=1.0):
    """Vectorized attracting fixed points reached from q0; NaN where the q-map diverges."""
    s, b = np.broadcast_arrays(np.asarray(s, float), np.asarray(b, float))
    shape = s.shape
    s, b = s.ravel(), b.ravel()
    grid = np.union1d(_Q_GRID, [q0])
    e2 = _e2(act, grid)
    F = s[..., None] * e2 + b[..., None] - grid  # (..., K)
    i0 = int(np.searchsorted(grid, q0))
    f0 = F[..., i0]
    K = grid.size
    idx = np.arange(K)
    # growing from q0: first k > i0 with F <= 0; shrinking: last k < i0 with F >= 0
    up = np.where((F <= 0) & (idx > i0), idx, K).min(axis=-1)
    down = np.where((F >= 0) & (idx < i0), idx, -1).max(axis=-1)
    grows = f0 > 0
    k_hi = np.where(grows, np.minimum(up, K - 1), np.clip(down + 1, 1, K - 1))
    lo, hi = grid[k_hi - 1], grid[k_hi]
    diverge = grows & (up >= K)
    at_zero = ~grows & (f0 < 0) & (down <= 0) & (F[..., 0] == 0)
    exact = f0 == 0
    active = ~(exact | diverge | at_zero)
    q = np.where(exact, q0, 0.5 * (lo + hi))
    flo = np.where(active, F[..., 0] * 0 + np.take_along_axis(F, (k_hi - 1)[..., None], -1)[..., 0], 0.0)
    for _ in range(_MAX_ITER):
        if not np.any(active):
            break
        qa = q[active]
        sa, ba = s[active], b[active]
        fq = sa * _e2(act, qa) + ba - qa
        dq = sa * _e2_slope(act, qa) - 1.0
        # update the bracket (F changes sign between lo and hi)
        same = np.sign(fq) == np.sign(flo[active])
        lo_a, hi_a, flo_a = lo[active], hi[active], flo[active]
        lo_a = np.where(same, qa, lo_a)
        flo_a = np.where(same, fq, flo_a)
        hi_a = np.where(same, hi_a, qa)
        with np.errstate(divide="ignore", invalid="ignore"):
            newton = qa - fq / dq
        mid = np.where(lo_a > 0, np.sqrt(lo_a * hi_a), 0.5 * (lo_a + hi_a))
        ok = np.isfinite(newton) & (newton > lo_a) & (newton < hi_a)
        qn = np.where(ok, newton, mid)
        conv = (np.abs(qn - qa) <= 4e-16 * qa) | (fq == 0) | (hi_a - lo_a <= 4e-16 * hi_a)
        ia = np.flatnonzero(active)
        q[ia] = np.where(fq == 0, qa, qn)
        lo[ia], hi[ia], flo[ia] = lo_a, hi_a, flo_a
        active[ia[conv]] = False
    q = np.where(at_zero, 0.0, np.where(diverge, np.nan, q))
    return q.reshape(shape), (~active).reshape(shape)


def fixed_point(act, sigma_w2, sigma_b2, *, q0: float = 1.0) -> float:
    r"""The attracting fixed point :math:`q^*` of the q-map reached from :math:`q^0` (module docstring).

    Raises
    ------
    NoFixedPointError
        When the q-map grows without bound (e.g. relu with :math:`\sigma_w^2 \ge 2` and
        :math:`\sigma_b^2 > 0`).
    """
    act = _resolve(act)
    s = _check_variance("sigma_w2", sigma_w2, positive=True)
    b = _check_variance("sigma_b2", sigma_b2)
    q0 = _check_variance("q0", q0, positive=True)
    q, conv = _fixed_points(act, s, b, q0)
    q = float(q)
    if math.isnan(q):
        raise NoFixedPointError(
            f"no fixed point of the q-map for activation {act.name!r} at sigma_w2={s:g}, sigma_b2={b:g}: "
            "the pre-activation variance grows without bound"
            + (f" (the q-map slope sigma_w2*{_g.phi_second_moment_slope(act, 1.0):g} >= 1; try sigma_w2 < "
               f"{1 / _g.phi_second_moment_slope(act, 1.0):g} or sigma_b2 = 0)" if act.pieces is not None
               and _is_homogeneous(act) else "; try a smaller sigma_w2"))
    if not bool(conv):
        raise NoFixedPointError(f"the q-map fixed-point solver did not converge in {_MAX_ITER} steps for "
                                f"{act.name!r} at sigma_w2={s:g}, sigma_b2={b:g}")
    return q


def _is_homogeneous(act: Activation) -> bool:
    return act.family in ("linear", "relu", "leaky_relu")


def c_map(act, c, q_star, sigma_w2, sigma_b2):
    r"""The correlation map :math:`\mathcal C(c)` at the fixed point ``q_star`` (module docstring).

    Two-dimensional Gaussian quadrature: the outer rule over :math:`u_1`, the inner over
    :math:`u_2 - c u_1` split at the kinks of :math:`\phi(u_2)`, so kinked activations stay accurate.
    """
    act = _resolve(act)
    return _c_pair(act, act.phi, float(c), float(q_star), float(sigma_w2), float(sigma_b2))[0]


def _c_pair(act, f, c, q, s, b, *, normalise=True):
    """(sigma_w2 E[f(u1) f(u2)] + b) / q (normalise) or sigma_w2 E[f(u1) f(u2)] (not), c in [-1, 1]."""
    bps = np.asarray(getattr(act, "breakpoints", ()) or act.kinks, dtype=float)
    if q == 0:
        val = s * float(np.asarray(f(np.zeros(1)), dtype=float)[0]) ** 2
        return ((val + b) / q if normalise and q else val), None
    x, w = _g.gaussian_nodes(q, bps)
    fx = np.asarray(f(x), dtype=float)
    if c >= 1.0:
        e = np.sum(w * fx * fx)
    else:
        v = q * (1 - c * c)
        y, wy = _g.gaussian_nodes(np.full(x.shape, v), bps[None, :] - c * x[:, None] if bps.size else ())
        inner = np.sum(wy * np.asarray(f(c * x[:, None] + y), dtype=float), axis=-1)
        e = np.sum(w * fx * inner)
    val = s * e
    return ((val + b) / q if normalise else val), None


# ------------------------------------------------------------------------------ results
@dataclass(frozen=True)
class MeanField:
    r"""Mean-field state of a network at its fixed point (all quantities defined in the module docstring).

    Attributes
    ----------
    activation : Activation
    sigma_w2, sigma_b2 : float
    q_star : float
        Fixed point of the q-map.
    chi1 : float
        :math:`\sigma_w^2 E[\phi'^2]`; the critical line is :math:`\chi_1 = 1`.
    chi2 : float
        :math:`\sigma_w^2 E[\phi''^2]`; ``inf`` for activations with kinks, NaN when :math:`\phi''` is unknown.
    xi_q, xi_c : float
        Depth scales of the length and correlation maps (``inf`` at criticality).
    c_star : float
        Stable fixed point of the c-map (1 in the ordered phase).
    phase : str
        ``"ordered"``, ``"critical"`` or ``"chaotic"``.
    q_slope, chi_c : float
        :math:`\mathcal V'(q^*)` and :math:`\chi_c`, whose logarithms give the depth scales.
    """

    activation: Activation
    sigma_w2: float
    sigma_b2: float
    q_star: float
    chi1: float
    chi2: float
    xi_q: float
    xi_c: float
    c_star: float
    phase: str
    q_slope: float = field(default=math.nan, repr=False)
    chi_c: float = field(default=math.nan, repr=False)

    @property
    def d2_law(self):
        r"""The law of :math:`D^2 = \phi'(\sqrt{q^*} z)^2` (:class:`spectral.laws.DerivativeLaw`)."""
        from .laws import DerivativeLaw

        return DerivativeLaw(self.activation, self.q_star if self.q_star > 0 else 1e-300)

    def to_dict(self) -> dict:
        """JSON-ready summary (keys of the ``spectral meanfield --json`` contract)."""
        return {"activation": self.activation.name, "sigma_w2": self.sigma_w2, "sigma_b2": self.sigma_b2,
                "q_star": self.q_star, "chi1": self.chi1, "chi2": self.chi2, "xi_q": self.xi_q,
                "xi_c": self.xi_c, "c_star": self.c_star, "phase": self.phase}


def _depth_scale(slope: float) -> float:
    if not (slope > 0):
        return 0.0 if slope == 0 else math.nan
    lg = math.log(slope)
    return math.inf if lg == 0 else -1.0 / lg


def _phase(chi1: float) -> str:
    if abs(chi1 - 1.0) <= CRITICAL_TOL:
        return "critical"
    return "ordered" if chi1 < 1 else "chaotic"


def _c_star(act, q, s, b, chi1) -> float:
    """Stable fixed point of the c-map in the chaotic phase (bracketed on [0, 1))."""
    def g(c):
        return _c_pair(act, act.phi, c, q, s, b)[0] - c

    cs = [0.0, 0.5, 0.9, 0.99, 0.999, 0.9999, 0.99999, 1 - 1e-6, 1 - 1e-7, 1 - 1e-8]
    vals = [g(c) for c in cs]
    if vals[0] <= 0:
        return 0.0 if vals[0] == 0 else math.nan
    for c_lo, c_hi, v_lo, v_hi in zip(cs[:-1], cs[1:], vals[:-1], vals[1:], strict=True):
        if v_lo > 0 >= v_hi:
            return brentq(g, c_lo, c_hi, xtol=1e-15, rtol=1e-15, maxiter=_MAX_ITER)
    return 1.0


def mean_field(act, sigma_w2, sigma_b2, *, q0: float = 1.0) -> MeanField:
    r"""The mean-field state at (:math:`\sigma_w^2, \sigma_b^2`).

    Parameters
    ----------
    act : str, Activation or callable
        Anything :func:`spectral.activation` accepts.
    sigma_w2 : float
        Weight variance (> 0).
    sigma_b2 : float
        Bias variance (>= 0).
    q0 : float
        Starting variance of the q-map iteration (selects the attracting fixed point).

    Examples
    --------
    >>> mf = mean_field("tanh", 1.05, 2.01e-5)
    >>> round(mf.chi1, 4), mf.phase
    (1.0, 'critical')
    """
    act = _resolve(act)
    s = _check_variance("sigma_w2", sigma_w2, positive=True)
    b = _check_variance("sigma_b2", sigma_b2)
    q = fixed_point(act, s, b, q0=q0)
    mu1 = float(_g.dphi_squared_mean(act, q))
    chi1 = s * mu1
    if act.kinks:
        chi2 = math.inf
    elif act.ddphi is None:
        chi2 = math.nan
    elif q == 0:
        chi2 = s * float(np.asarray(act.ddphi(np.zeros(1)), dtype=float)[0]) ** 2
    else:
        chi2 = s * _g.gaussian_expectation(lambda x: np.asarray(act.ddphi(x), dtype=float) ** 2, q,
                                           kinks=act.breakpoints)
    q_slope = float(q_map_slope(act, q, s))
    phase = _phase(chi1)
    if phase == "chaotic":
        c_star = _c_star(act, q, s, b, chi1)
        chi_c = _c_pair(act, act.dphi, c_star, q, s, b, normalise=False)[0] if c_star < 1 else chi1
        xi_c = _depth_scale(chi_c) if chi_c < 1 else 1.0 / abs(math.log(chi1))
    else:
        c_star, chi_c = 1.0, chi1
        # within 4 ulp of 1 (rounding of the fixed point) the depth scale is infinite, not ~1e15
        xi_c = 1.0 / abs(math.log(chi1)) if abs(chi1 - 1.0) > 4 * _EPS else math.inf
    return MeanField(act, s, b, q, chi1, chi2, _depth_scale(q_slope), xi_c, c_star, phase,
                     q_slope=q_slope, chi_c=chi_c)
