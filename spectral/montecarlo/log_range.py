r"""A-priori estimate of the log-range :math:`\log(s_{\max}/s_{\min})` of the nonzero singular values of
:math:`J = D_L W_L \cdots D_1 W_1`, used by ``stable=None`` to choose the product before any network is drawn.

Lyapunov spread per layer
-------------------------
For a product of independent isotropic layers, :math:`\log s_i(J)` grows like :math:`L \lambda_i` with the
Lyapunov exponents :math:`\lambda_i`; the log-range grows like :math:`\sum_l (\lambda_1 - \lambda_{k})_l`
over the nonzero exponents.  Two contributions per layer, added (the S-transform of :math:`A^T A = D W^T W D`
is the product of those of :math:`W^T W` and :math:`D^2`, so their logs add):

* the activation (Kargin 2014: the exponents of a free product are :math:`-\tfrac12 \log S(-t)`, from
  :math:`S(0) = 1/E x` to :math:`S(-1) = E[1/x]`):

  .. math:: r_D = \tfrac12 \log\big(E[d^2]\, E[d^{-2} \mid d \ne 0]\big), \qquad d = \phi'(\sqrt{q_l} z),

  by Gauss-Hermite quadrature (exact zeros of :math:`d` are structural: they lower the rank, and the
  sampler sets those singular values to zero exactly, so they do not count in the range);
* Gaussian weights (Newman 1986: :math:`\lambda_i = \tfrac12 E \log \chi^2_{N_l - i + 1}` + const),

  .. math:: r_W = \tfrac12\big[\psi(N_l/2) - \psi((N_l - k + 1)/2)\big],

  :math:`k` the rank of :math:`J` (:math:`\approx \tfrac12 \log(2 N)` for square layers); Haar weights add 0.

Finite width: a law of :math:`D^2` with an atom :math:`\pi_0` at 0 (relu) has
:math:`S(z) \propto (1+z)/(1-\pi_0+z)`, whose exponents run to :math:`-\infty` at the rank fraction; at width
:math:`N` the last nonzero one sits :math:`1/N` inside, adding :math:`r_0 = \tfrac12\log((1-\pi_0)(1+\pi_0 N))`
per layer.  The smallest singular value of a square Gaussian product sits below the last exponent by
the edge term :math:`\tfrac12 \log(2k)` (the smallest singular value of one :math:`k \times k` Gaussian
matrix is :math:`\sim k^{-1/2}` against :math:`\sim 2 k^{1/2}` for the largest, halved per layer).

The last exponent of Gaussian layers fluctuates: :math:`\tfrac12\log\chi^2_{N-k+1}` has variance
:math:`\tfrac14\psi'((N-k+1)/2)` (:math:`\pi^2/8` for square layers), independent across layers, so
the realised range of a network exceeds its mean by :math:`\sigma = (\sum_l \tfrac14\psi'(\cdot))^{1/2}`
typically; the worst of a batch by a few :math:`\sigma`.

The estimate is :math:`\sum_l (r_{D,l} + r_{0,l} + r_{W,l})`, plus the edge term when any layer is
Gaussian or has zeros in :math:`D`, plus :data:`FLUCTUATION_SIGMAS` :math:`\sigma`; it is an
asymptotic estimate, and :data:`AUTO_DIRECT_MARGIN` covers what it misses.  It only chooses the cheaper
product: the sampler checks the realised range of every network computed directly and recomputes any
that lost accuracy with the stable product (same draws).

References
----------
C. M. Newman, "The distribution of Lyapunov exponents: exact results for random matrices", Comm. Math.
Phys. 103 (1986).  V. Kargin, "On the largest Lyapunov exponent for products of Gaussian matrices" and
"Lyapunov exponents of free operators", J. Funct. Anal. 255 (2008).
"""

from __future__ import annotations

import functools
import math

import numpy as np
from scipy.special import digamma, polygamma

#: Gauss-Hermite nodes for E[d^2] and E[d^-2]: d^-2 of tanh is cosh^4, which 120 nodes integrate to
#: 1e-7 relative for q <= 2 (checked against scipy.integrate.quad in the tests; the choice needs 1e-2).
QUADRATURE_NODES = 120

#: Margin (nats) between the estimate and the direct product's limit: the realised range of the worst of a
#: batch exceeded the estimate by at most 5.5 nats over the cases measured (N = 32..1024, L = 1..128, tanh
#: critical, relu, linear, both weight laws; tests/test_montecarlo_auto.py), so 8 nats leaves room.
AUTO_DIRECT_MARGIN = 8.0


#: Standard deviations of the last Gaussian exponent added to the estimate: the worst of 8 networks came
#: within 2 sigma of the mean range in the cases measured (the heavy left tail of log chi^2_1).
FLUCTUATION_SIGMAS = 2.0


@functools.lru_cache(maxsize=1)
def _nodes() -> tuple[np.ndarray, np.ndarray]:
    """Probabilists' Gauss-Hermite nodes and weights normalised to sum 1 (computed once)."""
    z, w = np.polynomial.hermite_e.hermegauss(QUADRATURE_NODES)
    return z, w / w.sum()


def activation_log_spread(act, q: float) -> float:
    r""":math:`r_D = \tfrac12 \log(E[d^2] E[d^{-2} | d \ne 0])` for :math:`d = \phi'(\sqrt q z)` (0 for
    constant :math:`|d|`, :math:`+\infty` if :math:`d` never vanishes yet :math:`E[d^{-2}]` overflows)."""
    z, w = _nodes()
    d2 = np.asarray(act.dphi(math.sqrt(max(q, 0.0)) * z), dtype=float) ** 2
    nz = d2 > 0
    if not np.any(nz):
        return 0.0
    p = float(w[nz].sum())
    m = float(np.dot(w[nz], d2[nz])) / p
    with np.errstate(over="ignore", divide="ignore"):
        h = float(np.dot(w[nz], 1.0 / d2[nz])) / p
    if not math.isfinite(h):
        return math.inf
    return max(0.0, 0.5 * math.log(m * h))


def zero_atom_log_spread(act, q: float, n_out: int) -> float:
    r""":math:`r_0 = \tfrac12 \log((1 - \pi_0)(1 + \pi_0 N))`, :math:`\pi_0 = P(\phi'(\sqrt q z) = 0)`
    (0 when :math:`\phi'` has no zeros of positive probability)."""
    z, w = _nodes()
    d = np.asarray(act.dphi(math.sqrt(max(q, 0.0)) * z), dtype=float)
    pi0 = float(w[d == 0].sum())
    if pi0 <= 0.0 or pi0 >= 1.0:
        return 0.0
    return max(0.0, 0.5 * math.log((1.0 - pi0) * (1.0 + pi0 * n_out)))


def gaussian_log_spread(n_out: int, rank: int) -> float:
    r""":math:`r_W = \tfrac12[\psi(N/2) - \psi((N - k + 1)/2)]`: spread of the Lyapunov exponents of
    :math:`N \times \cdot` Gaussian layers over the :math:`k` nonzero ones (Newman 1986)."""
    return 0.5 * float(digamma(n_out / 2.0) - digamma((n_out - rank + 1) / 2.0))


def estimated_log_range(specs) -> float:
    """Estimated log-range (nats) of the nonzero singular values of the product of the layers ``specs``."""
    rank = min(specs[0].n_in, min(s.n_out for s in specs))
    total, edge, var = 0.0, False, 0.0
    for s in specs:
        r0 = zero_atom_log_spread(s.activation, s.q, s.n_out)
        total += activation_log_spread(s.activation, s.q) + r0
        edge = edge or r0 > 0 or s.weights != "orthogonal"
        if s.weights != "orthogonal":
            total += gaussian_log_spread(s.n_out, rank)
            var += 0.25 * float(polygamma(1, (s.n_out - rank + 1) / 2.0))
    return total + (0.5 * math.log(2.0 * rank) if edge else 0.0) + FLUCTUATION_SIGMAS * math.sqrt(var)
