r"""The moment transform of :math:`D^2 = A^2 e^{-a h^2}`, :math:`a = 2Bq`, :math:`h \sim N(0, 1)`, near
:math:`\zeta = 0`: the law of :math:`D^2` of an activation with :math:`\phi'(x) = A e^{-Bx^2}` (erf, erf_scaled,
erf(b)), which reaches 0 through the Gaussian tail of h (docs/design.md §4.6, §5.10).

On the unit law (:math:`A = 1`), with :math:`s = -\log D^2 = a h^2` (density
:math:`p(s) = e^{-s/2a}/\sqrt{2\pi a s}` on :math:`s > 0`) and :math:`t = s + \log\zeta`,

.. math:: 1 + M(\zeta) = E\Big[\frac{\zeta}{\zeta - D^2}\Big] = E\Big[\frac{1}{1 - e^{-t}}\Big], \qquad
   M'(\zeta) = -\frac{1}{\zeta}\,E\Big[\frac{e^{-t}}{(1 - e^{-t})^2}\Big],

each integrand evaluated with :math:`e^{-|\operatorname{Re} t|}` only (no overflow; :math:`M'` has the symmetric
form :math:`-u/(1 - u)^2` in :math:`u = e^{\mp t}`).  The integrand steps from 0 to 1 across
:math:`s_0 = \log(1/|\zeta|)` over a width of order 1; its poles :math:`s = s_0 - i\arg\zeta + 2\pi i k` lie
:math:`\min(|\arg\zeta|, 2\pi - |\arg\zeta|)` off the real s-axis.  The rule: Gauss--Legendre in
:math:`\sqrt s` on :math:`[0, 1]` (the :math:`s^{-1/2}` of p), then panels graded geometrically (ratio 2) both
away from :math:`s = 0` and away from :math:`s_0` (each panel no wider than its distance to either), up to
:math:`s_0 + 110a` (the mass beyond, relative to that beyond :math:`s_0`, is below :math:`e^{-55}`).

Served for :math:`a \ge` :data:`MIN_A` (where :math:`E[1/D^2] = \infty`), where :math:`|\zeta| < A^2` x
:data:`NEAR_ZERO` and :math:`\operatorname{Re}\zeta \le 0`: there the poles are
at least :math:`\pi/2` off the real s-axis, and the value is the law's own (no continuation: the spectrum is
:math:`(0, A^2]`).  For :math:`\zeta` near the positive axis the law's density at :math:`x \to 0^+`
(:math:`\propto x^{1/2a - 1}/\sqrt{\log(1/x)}`) puts the poles on the s-axis, and below the spectrum the solver
is served the continuation from above: those points, and every point elsewhere, keep the contour quadrature
(:class:`~spectral.laws.d2_quadrature._SmoothD2`) unchanged.
"""

from __future__ import annotations

import math

import numpy as np

from .d2_transforms import CachedTransforms, phi_prime_match

_EPS = float(np.finfo(float).eps)
#: |zeta| / A^2 below which the rule in s serves (left half plane): the contour quadrature's Im(1 + M) is accurate
#: to 1e-12 at 1e-8 and loses digits below 1e-10 (1.7e-5 at 1e-20, 0.12 at 1e-80; its M' overflows below 1e-154),
#: where the step of the integrand at s0 = log(1/|zeta|) > 14 is far out in the Gaussian tail of h.
NEAR_ZERO = 1e-6
#: The smallest a served: below 1/2, E[1/D^2] is finite, 1 + M ~ -zeta E[1/D^2] near 0 with the power-law part
#: (-zeta)^(1/2a) below it, and the contour quadrature serves (near-isometry products visit |zeta| < 1e-6 of the
#: left half plane tens of thousands of times: erf_scaled at sigma_w^2 = 1.0001, Gaussian depth 1, 1.4 s with
#: the quadrature, 23 s with the rule).
MIN_A = 0.5
#: The integrand's mass beyond s0 + _TAIL_A x a is below e^(-_TAIL_A/2) of that beyond s0.
_TAIL_A = 110.0
#: Gauss-Legendre nodes per panel: each panel is at least its own width from the nearest singularity (s = 0, or
#: a pole at least pi/2 off the axis), so the rule converges like (3 + sqrt 8)^(-2n): 1e-24 at 16.
_NODES = 16
#: The finest panel at s0 (a half-width 0.25 against poles pi/2 off the axis).
_STEP_PANEL = 0.5
#: Rounding bound: a few roundings per term, and per t = s + log zeta (its rounding times the derivative of the term).
_NOISE_ROUNDINGS = 8.0


def _gauss(n):
    x, w = np.polynomial.legendre.leggauss(n)
    return (x + 1) / 2, w / 2


class GaussianTailD2(CachedTransforms):
    r"""The law of :math:`D^2 = A^2 e^{-a h^2}`: the contour quadrature's transforms (``smooth``), with
    :math:`1 + M`, M, M' and the rounding bound by the rule in s (module docstring) near 0 in the left half plane.
    The callables of an :class:`~spectral.density.ImplicitFactor` (``g1``, ``m``, ``dm``, ``noise``,
    ``transforms``) and the law's constants (those of ``smooth``)."""

    def __init__(self, smooth, amplitude: float, a: float):
        self.smooth = smooth
        self.scale = float(amplitude) ** 2
        self.a = float(a)
        self.bounds, self.offset, self.spread = smooth.bounds, smooth.offset, smooth.spread
        self.crit_values, self.limit_values = smooth.crit_values, smooth.limit_values
        self.pushforward = smooth.pushforward
        # breakpoints: 2^j from 1 (the s^(-1/2) of p) and s0 +- _STEP_PANEL 2^k (the step), clipped per point
        s_top = -math.log(np.finfo(float).tiny) + _TAIL_A * self.a
        self._grid = 2.0 ** np.arange(0, math.ceil(math.log2(s_top)) + 1)
        k_max = math.ceil(math.log2(s_top / _STEP_PANEL)) + 1
        steps = _STEP_PANEL * 2.0 ** np.arange(0, k_max + 1)
        self._offsets = np.concatenate([-steps[::-1], [0.0], steps])
        self._x, self._w = _gauss(_NODES)
        # [0, 1] in u = sqrt(s): p(s) ds = 2 e^(-u^2/2a) du / sqrt(2 pi a)
        u, wu = _gauss(_NODES)
        self._s_head = u * u
        self._w_head = wu * 2 * np.exp(-self._s_head / (2 * self.a)) / math.sqrt(2 * math.pi * self.a)

    def near(self, zeta):
        """Where the rule in s serves (module docstring)."""
        z = np.asarray(zeta, dtype=complex) / self.scale
        return np.isfinite(z) & (np.abs(z) < NEAR_ZERO) & (z.real <= 0) & (z != 0)

    def exact_near(self, zeta):
        r"""(1 + M, M, M', the rounding bound of 1 + M) by the rule in s at each ``zeta`` (1-d, nonzero, |zeta| / A^2
        below 1: the step s0 lies beyond 0)."""
        z = np.asarray(zeta, dtype=complex).ravel() / self.scale
        log_z = np.log(z)
        s0 = -log_z.real
        s_max = s0 + _TAIL_A * self.a
        cuts = np.concatenate([np.broadcast_to(self._grid, (z.size, self._grid.size)),
                               s0[:, None] + self._offsets], axis=1)
        cuts = np.sort(np.clip(cuts, 1.0, s_max[:, None]), axis=1)
        lo, width = cuts[:, :-1], np.diff(cuts, axis=1)
        s = lo[..., None] + width[..., None] * self._x  # (N, panels, nodes)
        w = width[..., None] * self._w * np.exp(-s / (2 * self.a)) / np.sqrt(2 * math.pi * self.a * s)
        s = np.concatenate([np.broadcast_to(self._s_head, (z.size, self._x.size)), s.reshape(z.size, -1)], axis=1)
        w = np.concatenate([np.broadcast_to(self._w_head, (z.size, self._x.size)), w.reshape(z.size, -1)], axis=1)
        t = s + log_z[:, None]
        ahead = t.real >= 0
        u = np.exp(np.where(ahead, -t, t))  # |u| <= 1
        # 1/(1 - e^-t): 1/(1 - u) ahead of the step, -u/(1 - u) before it
        f = np.where(ahead, 1.0, -u) / (1 - u)
        fd = -u / (1 - u) ** 2
        g1 = np.sum(w * f, axis=1)
        dm = np.sum(w * fd, axis=1) / (z * self.scale)
        # the roundings of each term, and of t itself (eps |s| + eps |log zeta|), carried by df/dt = fd
        noise = _NOISE_ROUNDINGS * _EPS * np.sum(np.abs(w) * (np.abs(f) + np.abs(fd) * (s + np.abs(log_z[:, None]))),
                                                 axis=1)
        return g1, g1 - 1, dm, noise

    def _compute(self, zeta):
        near = self.near(zeta)
        # near points are handed to the contour quadrature as -A^2 (its plain tier; the value is replaced)
        out = [np.array(v, dtype=complex if k < 3 else float, copy=True)
               for k, v in enumerate(self.smooth.transforms(np.where(near, -self.scale, zeta)))]
        if near.any():
            for v, e in zip(out, self.exact_near(zeta[near]), strict=True):
                v[near] = e
        return tuple(out)

    def m(self, zeta):
        zeta = np.asarray(zeta, dtype=complex)
        near = self.near(zeta)
        if not near.any():
            # M alone where the contour quadrature serves (its bisections on the real axis ask for nothing else)
            return self.smooth.m(zeta)
        return self._eval(zeta)[1]


def gaussian_derivative(activation):
    r"""(A, B) where the activation's :math:`\phi'(x) = A e^{-Bx^2}` exactly (its sympy derivative as it is, A, B
    real constants, A nonzero, B > 0), else None."""
    import sympy

    ab = phi_prime_match(activation, lambda a, b, x: a * sympy.exp(-b * x**2))
    if ab is None or ab[1] <= 0:
        return None
    return abs(ab[0]), ab[1]


def gaussian_tail_d2(activation, q, smooth) -> GaussianTailD2 | None:
    """The law of D^2 at variance ``q`` with the rule in s near 0 for an activation with phi' = A exp(-B x^2) where
    a = 2 B q >= MIN_A (D^2 reaches 0 with E[1/D^2] infinite), wrapping its contour quadrature ``smooth``; cached
    per (activation, q).  None otherwise."""
    if smooth is None:
        return None
    key = (getattr(activation, "name", repr(activation)), str(getattr(activation, "expr", None)), float(q))
    if key not in _CACHE:
        ab = gaussian_derivative(activation)
        a = None if ab is None else 2 * ab[1] * float(q)
        _CACHE[key] = None if a is None or a < MIN_A else GaussianTailD2(smooth, ab[0], a)
    return _CACHE[key]


_CACHE: dict = {}
