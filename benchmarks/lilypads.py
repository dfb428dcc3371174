r"""A port of FreeNN's "lilypads" Newton (R. Chhaibi et al., github.com/redachhaibi/FreeNN) for relu networks.

FreeNN computes the density of :math:`JJ^T` for relu layers from the inverse of the moment function,
:math:`M^{-1}(m) = \mathrm{num}(m)/\mathrm{den}(m)` with :math:`\mathrm{num}(m) = \prod_l \sigma_l^2 \Lambda_l
\cdot (m + 1)\prod_l (m + 1/(2\Lambda_l))` and :math:`\mathrm{den}(m) = m` (square layers: :math:`\Lambda_l = 1`),
both expanded into monomials.  For each grid point :math:`z` it solves :math:`f_z(m) = \mathrm{num}(m)/z -
\mathrm{den}(m) = 0` by Newton-Raphson to :math:`|f_z| < 10^{-12}`, and returns :math:`G = (m + 1)/z`.

The "lilypads" are Newton-Kantorovich balls: a step from the current point :math:`(z, g)` towards the target
:math:`z^*` is accepted only where one Newton step :math:`h = -f/f'` satisfies :math:`|h/f'|\,
\sup_{|u| \le |h|} |f''(m + h + u)| < 1/2` (the bound by the Taylor expansion of :math:`f''` at
:math:`m + h` with absolute coefficients), otherwise the step in :math:`z` is halved.  The first point of a
sweep starts from :math:`g = 1/z` after doubling :math:`\operatorname{Im} z` until that criterion holds;
the next points start from the previous point's solution (the proxy).  The grid is swept from its right end
down to 0.02 (and from the left end up to -0.02 when it has negative points), in four passes at
:math:`\operatorname{Im} z = 0.1, 0.01, 10^{-3}, 10^{-4}`, each restarting without a proxy, as in
``experiments/newton_lilypads_cython.py`` and ``freenn/core/adaptative_cython.pyx``.  The density is
:math:`-\operatorname{Im} G/\pi` of the last pass.

Differences from FreeNN, on purpose: this port is plain Python (FreeNN compiles the same scalar loops with
Cython, so FreeNN itself is faster than this port by the interpreter overhead; the timing here is an upper
bound on FreeNN's), and it caps the loops that FreeNN leaves unbounded (:data:`MAX_NEWTON` Newton steps,
:data:`MAX_HALVINGS` halvings of a step), so a point where the method fails is reported as NaN instead of
hanging.  The expanded polynomial of degree :math:`L + 1` loses all accuracy (and overflows from
:math:`L \approx 1000`), which is where FreeNN fails.
"""

from __future__ import annotations

import math

import numpy as np

#: FreeNN's Newton tolerance on |f_z(m)|.
TOLERANCE = 1e-12
#: FreeNN's passes in Im z.
IMAGINARY_PARTS = (0.1, 0.01, 1e-3, 1e-4)
#: Caps absent from FreeNN (whose loops are unbounded): beyond them the point is reported as NaN.
MAX_NEWTON = 100
MAX_HALVINGS = 60
#: Points within this distance of 0 are skipped below Im z = 0.01 (FreeNN's "problematic region").
ZERO_WINDOW = 0.02


class Failed(ArithmeticError):
    """A point where the lilypads iteration did not converge within the caps."""


class OverBudget(RuntimeError):
    """The density took longer than the caller's budget (seconds; depth 64 relu/Gaussian took 525 s, 2000 points)."""


def _horner(p, x):
    y = 0j
    for c in p:
        y = x * y + c
    return y


def _pascal(n: int) -> np.ndarray:
    """Matrix of P(X) -> P(X + 1) on coefficient vectors, highest degree first (FreeNN's convention)."""
    mat = np.identity(n, dtype=float)
    mat[:, 0] = 1
    for i in range(2, n):
        mat[i, 1:-1] = mat[i - 1, 0:-2] + mat[i - 1, 1:-1]
    return np.flip(np.flip(mat, axis=0).T, axis=0)


class Wrapper:
    """num, den and their first two derivatives (coefficients, highest degree first)."""

    def __init__(self, num: np.ndarray, den: np.ndarray):
        self.num, self.den = list(num), list(den)
        n1, d1 = np.polyder(num), np.polyder(den)
        n2, d2 = np.polyder(n1), np.polyder(d1)
        size = max(len(n2), len(d2))
        self.num1, self.den1 = list(n1), list(d1)
        self.num2 = np.concatenate([np.zeros(size - len(n2)), n2])
        self.den2 = np.concatenate([np.zeros(size - len(d2)), d2])
        self.pascal = _pascal(size)

    def f(self, m, z):
        return _horner(self.num, m) / z - _horner(self.den, m)

    def f_prime(self, m, z):
        return _horner(self.num1, m) / z - _horner(self.den1, m)

    def f_second_bound(self, m, step, z):
        p = self.num2 / z - self.den2
        degree = len(p) - 1
        powers = m ** np.arange(degree + 1)
        taylor = (powers[:, None] * self.pascal * (1 / powers)[None, :]).dot(p)
        return float(np.polyval(np.abs(taylor), abs(step)))


def _newton(z, w: Wrapper, m):
    for _ in range(MAX_NEWTON):
        value = w.f(m, z)
        if abs(value) < TOLERANCE:
            return m
        m = m - value / w.f_prime(m, z)
    raise Failed


def _in_basin(z, g, w: Wrapper) -> bool:
    m = z * g - 1
    value, derivative = w.f(m, z), w.f_prime(m, z)
    if not (math.isfinite(abs(value)) and math.isfinite(abs(derivative))) or derivative == 0:
        raise Failed
    step = -value / derivative
    return abs(step / derivative) * w.f_second_bound(m + step, step, z) < 0.5


def compute_g(z_target, w: Wrapper, proxy=None):
    """G(z_target) by lilypads from ``proxy`` = (z, g), or from a high enough point above z_target."""
    if proxy is None:
        z = z_target
        g = 1 / z
        for _ in range(MAX_HALVINGS):
            if _in_basin(z, g, w):
                break
            z = z + 1j * z.imag
            g = 1 / z
        else:
            raise Failed
        g = (_newton(z, w, z * g - 1) + 1) / z
    else:
        z, g = proxy
    while abs(z - z_target) > 0:
        dz = z_target - z
        for _ in range(MAX_HALVINGS):
            if _in_basin(z + dz, g, w):
                break
            dz = 0.5 * dz
        else:
            raise Failed
        z = z + dz
        g = (_newton(z, w, z * g - 1) + 1) / z
    return g


def relu_gaussian_wrapper(sigma_w2: float, depth: int) -> Wrapper:
    """FreeNN's coefficients for ``depth`` square relu layers with Gaussian weights (Lambda_l = 1)."""
    roots = np.append(-1.0, -np.full(depth, 0.5))
    with np.errstate(over="ignore", invalid="ignore"):
        num = np.poly(roots) * np.float64(sigma_w2) ** depth  # inf beyond the float range, as in FreeNN
    return Wrapper(num, np.array([1.0, 0.0]))


def lilypads_density(sigma_w2: float, depth: int, grid: np.ndarray, budget_s: float = math.inf):
    """Density -Im G/pi on ``grid`` (relu/Gaussian), and the number of points that failed (NaN).

    Raises :class:`OverBudget` once more than ``budget_s`` seconds have passed."""
    import time

    t0 = time.perf_counter()
    w = relu_gaussian_wrapper(sigma_w2, depth)
    n = grid.size
    g_all = np.full(n, np.nan + 0j)
    failed = 0
    for y in IMAGINARY_PARTS:
        z = grid + 1j * y
        window = ZERO_WINDOW if y <= 0.01 else 0.0
        lo = int(np.searchsorted(grid, -window))
        hi = int(np.searchsorted(grid, window))
        failed = 0
        for sweep in (range(lo), range(n - 1, hi - 1, -1)):
            guess = None
            for i in sweep:
                if time.perf_counter() - t0 > budget_s:
                    raise OverBudget(f"lilypads at depth {depth}: over {budget_s:g} s")
                try:
                    g_all[i] = compute_g(z[i], w, proxy=guess)
                    guess = (z[i], g_all[i])
                except (Failed, ZeroDivisionError, OverflowError, FloatingPointError):
                    g_all[i] = np.nan
                    failed += 1
                    guess = None
    return -g_all.imag / math.pi, failed
