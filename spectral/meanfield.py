r"""Mean-field signal propagation: q-map, fixed point :math:`q^*`, c-map, :math:`\chi_1`, depth scales.

For a network :math:`h^l = W^l\phi(h^{l-1}) + b^l` with :math:`W_{ij} \sim N(0, \sigma_w^2/N)` (or
:math:`\sigma_w` times a Haar-orthogonal matrix) and :math:`b_i \sim N(0, \sigma_b^2)`, at infinite width
(Poole et al. 2016; Schoenholz et al. 2017):

.. math::

    q^{l} = \mathcal V(q^{l-1}) = \sigma_w^2\, E[\phi(\sqrt{q^{l-1}} z)^2] + \sigma_b^2, \qquad
    \chi_1 = \sigma_w^2\, E[\phi'(\sqrt{q^*} z)^2], \qquad \chi_2 = \sigma_w^2\, E[\phi''(\sqrt{q^*} z)^2],

    c^{l} = \mathcal C(c^{l-1}) = \frac{\sigma_w^2 E[\phi(u_1)\phi(u_2)] + \sigma_b^2}{q^*}, \quad
    u_1 = \sqrt{q^*} z_1,\ u_2 = \sqrt{q^*}(c z_1 + \sqrt{1-c^2} z_2).

Depth scales: :math:`\xi_q = -1/\log \mathcal V'(q^*)` with :math:`\mathcal V'(q) = \sigma_w^2
\frac{d}{dq}E[\phi(\sqrt q z)^2]`, and :math:`\xi_c = -1/\log \chi_c`, :math:`\chi_c = \sigma_w^2
E[\phi'(u_1)\phi'(u_2)]` at the stable fixed point :math:`c^*` of the c-map (:math:`c^* = 1`,
:math:`\chi_c = \chi_1` in the ordered phase).  The phase is ``"ordered"`` (:math:`\chi_1 < 1`),
``"chaotic"`` (:math:`\chi_1 > 1`) or ``"critical"`` (:math:`|\chi_1 - 1| \le 10^{-4}`,
:data:`CRITICAL_TOL`); within that band :math:`c^*` is taken as 1 and :math:`\xi_c = 1/|\log\chi_1|`
(the two sides agree to first order in :math:`\chi_1 - 1`), infinite when :math:`\chi_1` is within 4 ulp
of 1 (the rounding of :math:`q^*`).

Fixed point
-----------
:math:`q^*` is the attracting fixed point that the q-map reaches from :math:`q^0` (default 1, unit-norm
inputs): :math:`F(q) = \mathcal V(q) - q` is tabulated on a shared logarithmic grid
(:math:`0, 10^{-16} \dots 10^{10}`), the sign change that the iteration from :math:`q^0` runs into is
bracketed, and a safeguarded Newton iteration (bisection fallback, at most 100 steps) converges to full
precision — vectorized over parameter grids (:func:`phase_diagram`).  Plain iteration would need
hundreds of steps near criticality.  No bracket means no fixed point: :class:`NoFixedPointError` (e.g.
relu with :math:`\sigma_w^2 \ge 2`, :math:`\sigma_b^2 > 0`).  With :math:`\sigma_b^2 = 0` and
:math:`\phi(0) = 0` the fixed point may be :math:`q^* = 0` (ordered phase; :math:`\chi_1` is then the
limit :math:`q \to 0^+`).  Two fixed points within one grid step (a factor 1.78 in :math:`q`) are not
resolved.

Critical line
-------------
The same rule defines it: (:math:`\sigma_w^2, \sigma_b^2`) is critical when :math:`\chi_1 = 1` at the
attracting fixed point reached from :math:`q^0`.  The q-map can have several fixed points: for gelu and
swish :math:`E[\phi'^2]` rises above 1/2 and falls back, and :math:`\chi_1(q) = 1` can hold at an unstable
fixed point (:math:`\mathcal V'(q) > 1`; e.g. gelu, :math:`\sigma_w^2 = 2`: :math:`q = 2.870`,
:math:`\sigma_b^2 = 0.1498`, where the q-map from :math:`q^0 = 1` settles at :math:`q^* = 1.011`,
:math:`\chi_1 = 0.913`).  :func:`critical_point` keeps only roots that satisfy the rule (the smallest such
:math:`q^*`) and :func:`phase_diagram` evaluates :math:`\chi_1` by it, so the two agree; where no root
does, the error states the range of the given variance that has critical points (gelu:
:math:`1.95581 \le \sigma_w^2 < 2`, swish: :math:`1.96699 \le \sigma_w^2 < 2`, tanh and erf_scaled:
:math:`\sigma_w^2 \ge 1`, erf(b x): :math:`\sigma_w^2 \ge \pi/(4b^2)`).

References: B. Poole et al., *Exponential expressivity in deep neural networks through transient chaos*,
NeurIPS 2016; S. Schoenholz et al., *Deep information propagation*, ICLR 2017; J. Pennington, S.
Schoenholz, S. Ganguli, *Resurrecting the sigmoid in deep learning through dynamical isometry*, NeurIPS
2017 (tanh critical point :math:`\sigma_w^2 = 1.05`, :math:`\sigma_b^2 = 2.01\times 10^{-5}`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import brentq, minimize_scalar

from . import gaussian as _g
from .activations import Activation
from .activations import activation as _resolve

__all__ = ["MeanField", "PhaseDiagram", "NoFixedPointError", "CRITICAL_TOL", "mean_field", "critical_point",
           "q_map", "q_map_slope", "fixed_point", "c_map", "phase_diagram"]

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


# ------------------------------------------------------------------------------ critical line
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


# ------------------------------------------------------------------------------ phase diagram
@dataclass(frozen=True)
class PhaseDiagram:
    r"""Mean field over a :math:`\sigma_w^2 \times \sigma_b^2` grid.

    Arrays have shape ``(len(sigma_b2), len(sigma_w2))`` (rows: :math:`\sigma_b^2`, as drawn by
    ``imshow``/``pcolormesh``); NaN where the q-map has no fixed point.  ``critical_sigma_b2[j]`` is the
    critical bias variance at ``sigma_w2[j]`` as :func:`critical_point` gives it with the same ``q0`` (NaN
    where there is none).
    """

    activation: Activation
    sigma_w2: np.ndarray
    sigma_b2: np.ndarray
    q_star: np.ndarray
    chi1: np.ndarray
    critical_sigma_b2: np.ndarray

    @property
    def phase(self) -> np.ndarray:
        """-1 ordered, 0 critical (:data:`CRITICAL_TOL`), +1 chaotic, NaN without fixed point."""
        out = np.sign(self.chi1 - 1.0)
        return np.where(np.abs(self.chi1 - 1.0) <= CRITICAL_TOL, 0.0, out)


def phase_diagram(act, sigma_w2s, sigma_b2s, *, q0: float = 1.0) -> PhaseDiagram:
    r""":math:`q^*` and :math:`\chi_1` on a grid, vectorized (one Newton iteration serves every point).

    Parameters
    ----------
    act : str, Activation or callable
    sigma_w2s, sigma_b2s : 1-d array_like
        Grid axes (> 0 and >= 0).
    q0 : float
        Starting variance of the q-map iteration (selects the attracting fixed point, as in
        :func:`mean_field` and :func:`critical_point`).
    """
    act = _resolve(act)
    sw = np.atleast_1d(np.asarray(sigma_w2s, dtype=float))
    sb = np.atleast_1d(np.asarray(sigma_b2s, dtype=float))
    if sw.ndim != 1 or sb.ndim != 1 or sw.size == 0 or sb.size == 0:
        raise ValueError("sigma_w2s and sigma_b2s must be non-empty 1-d arrays")
    S, B = _arrays(sw[None, :], sb[:, None])
    q, _ = _fixed_points(act, S, B, q0)
    chi1 = np.full(q.shape, np.nan)
    ok = np.isfinite(q)
    if np.any(ok):
        chi1[ok] = S[ok] * _g.dphi_squared_mean(act, q[ok])
    crit = np.full(sw.shape, np.nan)
    homogeneous = act.pieces is not None and _is_homogeneous(act)
    for j, s in enumerate(sw):
        if homogeneous:
            try:
                crit[j] = critical_point(act, sigma_w2=float(s), q0=q0).sigma_b2
            except ValueError:
                pass
        else:
            b = _critical_bias(act, float(s), q0)
            crit[j] = np.nan if b is None else b
    return PhaseDiagram(act, sw, sb, q, chi1, crit)
