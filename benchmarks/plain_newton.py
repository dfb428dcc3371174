r"""Baseline: a plain vectorized Newton with continuation in Im z, for uniform networks.

The density equation of :math:`JJ^T` for ``depth`` identical layers, in the moment variable
:math:`m = zG(z) - 1` (``docs/design.md`` conventions: :math:`\psi(\zeta) = \sum_k m_k \zeta^k`,
:math:`\chi = \psi^{-1}`, :math:`S(m) = \chi(m)(1+m)/m`):

.. math::

    z = \frac{1+m}{m\,S_J(m)}, \qquad S_J = (S_{D^2} S_W)^L, \qquad S_W(m) = \frac{1}{\sigma_w^2 (1+m)^c},

with :math:`c = 1` for Gaussian and :math:`c = 0` for orthogonal square layers, and
:math:`S_{D^2}(m) = \zeta (1+m)/m` where :math:`\psi_{D^2}(\zeta) = m`.  Two unknowns per point,
:math:`(m, \zeta)`, two equations:

.. math::

    F_1 = \psi_{D^2}(\zeta) - m, \qquad
    F_2 = \log z - (1 - L + cL)\log(1+m) + (1-L)\log m + L\log\zeta - L\log\sigma_w^2 \pmod{2\pi i}.

:math:`\psi_{D^2}(\zeta) = \sum_i w_i d_i \zeta/(1 - d_i\zeta)` over the atoms of :math:`D^2` (piecewise-constant
:math:`\phi'`) or over the 256-node Gaussian quadrature of :func:`spectral.gaussian.dphi_squared_quadrature`.
All points are solved at once (NumPy arrays), starting at :math:`z = x + i\eta_0`, :math:`\eta_0 = 10\lambda_{max}`,
from :math:`m \approx m_1/z`, :math:`\zeta \approx m/\mu_1`, lowering :math:`\eta` geometrically (factor
:data:`ETA_FACTOR`) to :data:`ETA_FINAL` :math:`x` with a few Newton steps per level.  The density is
:math:`\rho(x) = -\operatorname{Im} m/(\pi x)`.  Nothing is certified: no residual check, no mass check, no
handling of the branch where two solutions meet; that is what this baseline is for.
"""

from __future__ import annotations

import math

import numpy as np

from spectral import gaussian, mean_field
from spectral.activations import activation

#: Ratio between successive Im z of the continuation (about 30 levels from 10 lambda_max to 1e-10 x).
ETA_FACTOR = 0.3
#: Last Im z, relative to x: the density is read this close to the real axis.
ETA_FINAL = 1e-10
#: Newton steps per continuation level (quadratic convergence from the previous level's solution).
STEPS_PER_LEVEL = 4
#: Nodes of the quadrature law of D^2 for smooth activations.
QUAD_NODES = 256


def d2_atoms(act, q: float) -> tuple[np.ndarray, np.ndarray]:
    """Values and probabilities of the law of :math:`D^2` (exact atoms, or the quadrature law)."""
    act = activation(act)
    law = act.dphi_squared_law(q)
    if law is not None:
        return np.array([float(v) for v, _ in law]), np.array([float(p) for _, p in law])
    return gaussian.dphi_squared_quadrature(act, q, QUAD_NODES)


def plain_newton_density(act, weights: str, sigma_w2: float, sigma_b2: float, depth: int, x: np.ndarray):
    """Density of the eigenvalues of :math:`JJ^T` at the points ``x`` (> 0): returns ``(rho, m)``."""
    mf = mean_field(act, sigma_w2, sigma_b2)
    d, w = d2_atoms(act, mf.q_star)
    wd = w * d
    mu1 = float(np.sum(wd))
    L, c = depth, (1.0 if weights == "gaussian" else 0.0)
    m1 = math.exp(L * math.log(sigma_w2 * mu1))
    x = np.asarray(x, dtype=float)
    eta0 = 10.0 * float(x.max())
    eta_end = ETA_FINAL * x
    z = x + 1j * eta0
    m = m1 / z
    zeta = m / mu1
    a_p, a_m = 1.0 - L + c * L, 1.0 - L
    log_s = L * math.log(sigma_w2)
    eta = eta0
    while True:
        z = x + 1j * np.maximum(eta, eta_end)
        logz = np.log(z)
        for _ in range(STEPS_PER_LEVEL):
            den = 1.0 - np.multiply.outer(zeta, d)
            psi = (wd * zeta[:, None] / den).sum(axis=1)
            dpsi = (wd / (den * den)).sum(axis=1)
            f1 = psi - m
            f2 = logz - a_p * np.log1p(m) + a_m * np.log(m) + L * np.log(zeta) - log_s
            f2 = f2.real + 1j * (np.mod(f2.imag + math.pi, 2 * math.pi) - math.pi)  # the equation is exp(F2) = 1
            j11, j12 = -1.0, dpsi
            j21, j22 = -a_p / (1.0 + m) + a_m / m, L / zeta
            det = j11 * j22 - j12 * j21
            m = m - (j22 * f1 - j12 * f2) / det
            zeta = zeta - (j11 * f2 - j21 * f1) / det
        if eta <= float(eta_end.min()):
            break
        eta *= ETA_FACTOR
    rho = -m.imag / (math.pi * x)
    return rho, m
