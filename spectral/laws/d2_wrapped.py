r"""The exact moment transform of :math:`D^2 = A^2\cos^2(B\sqrt q\, h)`, :math:`h \sim N(0, 1)`: the law of
:math:`D^2` of an activation with :math:`\phi'(x) = A\cos(Bx)` (sin), from the Fourier series of the wrapped normal
law (docs/design.md §4.6).

With :math:`Q = B^2 q` and :math:`\varphi = 2\sqrt Q\, h \bmod 2\pi` (wrapped normal, Fourier coefficients
:math:`c_k = e^{-2Qk^2}`), :math:`D^2 = A^2(1 + \cos\varphi)/2`.  On the unit law (:math:`A = 1`), with
:math:`w = 2\zeta - 1`, :math:`a = \sqrt\zeta`, :math:`b = \sqrt{\zeta - 1}` (principal roots), :math:`p = a + b`
(:math:`|p| \ge 1`), :math:`s = \sqrt{w - 1}\sqrt{w + 1} = 2ab` and :math:`\rho = 1/(w + s) = 1/p^2`,
:math:`\frac{1}{2\pi}\int\cos(k\varphi)\,d\varphi/(w - \cos\varphi) = \rho^k/s` gives

.. math:: 1 + M(\zeta) = E\Big[\frac{\zeta}{\zeta - D^2}\Big] = \frac{1 + w}{s}\Big(1 + 2\sum_{k\ge1} c_k\rho^k\Big)
   = \frac{a}{b} F(\rho), \qquad M(\zeta) = \frac{1}{bp} + \frac{a}{b}\,2\sum_{k\ge1} c_k\rho^k,

:math:`M'(\zeta) = -(F(\rho) + 2s\sum_k k c_k\rho^k)/(2ab^3)`: no cancellation at :math:`\zeta \to 0`
(:math:`1 + w = 2\zeta` exactly) nor at :math:`\zeta \to \infty` (:math:`a/b - 1 = 1/(bp)`).  Below the spectrum
(:math:`\operatorname{Im}\zeta < 0`, :math:`0 < \operatorname{Re}\zeta < A^2`) and within the reach of the contour
quadrature's deformed contour, the continuation from above across the spectrum is served, as that quadrature
serves it (:class:`~spectral.laws.d2_quadrature._SmoothD2`): :math:`b \to -b`, so :math:`\rho \to p^2 = 1/\rho`;
the series still converges, :math:`c_k` decaying like a Gaussian.
"""

from __future__ import annotations

import math

import numpy as np

from .d2_transforms import CachedTransforms, phi_prime_match

_EPS = float(np.finfo(float).eps)
#: Terms c_k rho^k (|rho| at most _CONTINUATION_RHO) below this are dropped: below the rounding of the sum, whose
#: leading term is 1.
_TERM_TOL = 1e-17
#: The most terms of the series that the law is served with: beyond (Q below about 0.005), the contour quadrature.
_MAX_TERMS = 64
#: The largest ratio of the sum of the terms' moduli to the value of F at rho = -1 (zeta -> 0, where F is the
#: wrapped normal's density at pi, about e^(-pi^2/8Q)): the digits the series may lose there.  1e3 (Q >= 0.16)
#: keeps 1 + M within about 1e-13 relative next to 0, where deep products' tails solve (docs/design.md §5.10);
#: below, the quadrature serves.
_MAX_CANCELLATION = 1e3
#: zeta below the spectrum within this x its width of it gets the continuation from above, as the quadrature's
#: deformed contour serves it (its near tier, spectral.laws.d2_quadrature); further below, the principal value.
_CONTINUATION_REACH = 0.15
#: |rho| of the continuation at the reach's far corners (zeta = -0.15 i, 1 - 0.15 i): 1.8; the terms are counted
#: for |rho| up to this.
_CONTINUATION_RHO = 2.0
#: Rounding bound of the series: a few roundings per term, each power rho^k carrying k of them.
_NOISE_ROUNDINGS = 8.0


def _terms(big_q: float) -> int:
    """The number of terms k with c_k rho^k >= _TERM_TOL for |rho| <= _CONTINUATION_RHO."""
    lr = math.log(_CONTINUATION_RHO)
    # -2 Q k^2 + k log(rho) = log(_TERM_TOL) at its larger root
    lt = -math.log(_TERM_TOL)
    return math.ceil((lr + math.sqrt(lr * lr + 8 * big_q * lt)) / (4 * big_q))


def _cancellation(big_q: float) -> float:
    r"""(1 + 2 sum c_k) / F(-1): F(-1) = 2 pi p(pi), p the wrapped normal density of variance 4Q, by its sum of
    Gaussians :math:`\sum_n e^{-\pi^2(2n+1)^2/8Q}/\sqrt{8\pi Q}` (no cancellation)."""
    n = np.arange(0, 8)
    at_pi = 2 * np.sum(np.exp(-(math.pi * (2 * n + 1)) ** 2 / (8 * big_q))) / math.sqrt(8 * math.pi * big_q)
    k = np.arange(1, 200)
    top = 1 + 2 * float(np.sum(np.exp(-2 * big_q * k * k)))
    return top / (2 * math.pi * float(at_pi)) if at_pi > 0 else math.inf


class WrappedCosineD2(CachedTransforms):
    r"""The law of :math:`D^2 = A^2\cos^2(B\sqrt q\, h)` through its exact transforms (module docstring): the
    callables of an :class:`~spectral.density.ImplicitFactor` (``g1``, ``m``, ``dm``, ``noise``, ``transforms``)
    and the law's constants (``bounds``, ``mean``, ``offset``, ``spread``, ``crit_values``)."""

    def __init__(self, amplitude: float, frequency: float, q: float):
        self.scale = float(amplitude) ** 2
        self.big_q = float(frequency) ** 2 * float(q)
        self.n_terms = _terms(self.big_q)
        k = np.arange(1, self.n_terms + 1, dtype=float)
        self._k = k
        self._c = np.exp(-2 * self.big_q * k * k)
        c1, c2 = math.exp(-2 * self.big_q), math.exp(-8 * self.big_q)
        self.bounds = (0.0, self.scale)
        self.mean = self.scale * (1 + c1) / 2
        # E cos^4 = (3 + 4 c1 + c2) / 8 on the unit law
        self.offset = self.scale * (3 + 4 * c1 + c2) / (4 * (1 + c1))
        self.spread = (1 + c2 - 2 * c1 * c1) / (2 * (1 + c1) ** 2)
        # the ends 0 (the zeros of cos) and A^2: inverse square roots of the density
        self.crit_values = (0.0, self.scale)

    def _compute(self, zeta):
        z = zeta / self.scale
        # real zeta is served from above (a -0.0 imaginary part would give the roots from below)
        z = np.where(z.imag == 0, z.real + 0j, z)
        a, b = np.sqrt(z), np.sqrt(z - 1)
        p = a + b
        below = (z.imag < 0) & (z.real > 0) & (z.real < 1) & (z.imag > -_CONTINUATION_REACH)
        b = np.where(below, -b, b)
        rho = np.where(below, p * p, 1 / (p * p))
        with np.errstate(invalid="ignore", over="ignore"):
            powers = rho[..., None] ** self._k
            terms = self._c * powers
            tail = 2 * np.sum(terms, axis=-1)
            ktail = 2 * np.sum(self._k * terms, axis=-1)
            size = 1 + 2 * np.sum(self._k * self._c * np.abs(powers), axis=-1)
            # a + b is p above and its inverse 1/p below the spectrum
            ab = np.where(below, 1 / p, p)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = a / b
            g1 = ratio * (1 + tail)
            m = 1 / (b * ab) + ratio * tail
            dm = -(1 + tail + 2 * a * b * ktail) / (2 * a * b**3) / self.scale
            noise = _NOISE_ROUNDINGS * _EPS * np.abs(ratio) * size
        bad = ~np.isfinite(zeta)
        if bad.any():
            g1, m, dm, noise = (np.where(bad, np.nan, v) for v in (g1, m, dm, noise))
            noise = np.where(bad, np.inf, noise)
        return g1, m, dm, noise

def cosine_derivative(activation):
    r"""(A, B) where the activation's :math:`\phi'(x) = A\cos(Bx)` exactly (its sympy expression, A, B real
    constants, nonzero), else None."""
    import sympy

    ab = phi_prime_match(activation, lambda a, b, x: a * sympy.cos(b * x))
    if ab is None or ab[1] == 0:
        return None
    return abs(ab[0]), abs(ab[1])


def wrapped_d2(activation, q) -> WrappedCosineD2 | None:
    """The exact law of D^2 at variance ``q`` for an activation with phi' = A cos(B x), where its series is cheap
    and well conditioned (at most _MAX_TERMS terms, at most _MAX_CANCELLATION lost at zeta -> 0); cached per
    (activation, q).  None otherwise (the contour quadrature serves)."""
    expr = getattr(activation, "expr", None)
    key = (getattr(activation, "name", repr(activation)), str(expr), float(q))
    if key not in _CACHE:
        ab = cosine_derivative(activation)
        law = None
        if ab is not None:
            big_q = ab[1] ** 2 * float(q)
            if _terms(big_q) <= _MAX_TERMS and _cancellation(big_q) <= _MAX_CANCELLATION:
                law = WrappedCosineD2(ab[0], ab[1], float(q))
        _CACHE[key] = law
    return _CACHE[key]


_CACHE: dict = {}
