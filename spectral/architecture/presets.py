r"""Ready-made specs of the known residual normalisation schemes, with the references they are tested against.

* :func:`scaled_resnet` -- :math:`x \mapsto x + L^{-1/2} f(x)` (the :math:`1/\sqrt L` branch scaling): branch
  moments :math:`a_{1,l} = O(1/L)`, so the law approaches the free multiplicative Brownian motion at
  :math:`s = 2\sum_l \beta^2 a_{1,l}` (:mod:`spectral.architecture.brownian`).
* :func:`pre_ln_resnet` -- :math:`x \mapsto x + \beta f(\mathrm{LN}(x))`; :func:`post_ln_resnet` --
  :math:`x \mapsto \mathrm{LN}(x + \beta f(x))`.
* :func:`deepnorm_resnet` -- DeepNorm (Wang et al. 2022, arXiv 2203.00555): :math:`x \mapsto \mathrm{LN}(\alpha x +
  f(x))`, :math:`\alpha = (2M)^{1/4}` and both branch weights initialised with gain :math:`\beta = (8M)^{-1/4}`.
  For a relu branch :math:`X = W_2 D W_1` the branch has :math:`a_1 = \beta^4/2`, :math:`a_2 = \beta^8` (free
  product of two Marchenko--Pastur laws and Bernoulli(1/2): relative variances 1 + 1 + 1), and a free product's
  relative variance :math:`v = m_2/m_1^2 - 1` is the sum of its factors' (the LayerNorm scale changes none), so
  :math:`v = M (2\alpha^2 a_1 + a_2 - a_1^2)/(\alpha^2 + a_1)^2 = 1/(8\sqrt{2M}) + O(M^{-3/2})`.
* :func:`full_resnet` -- Yang & Schoenholz (2017, arXiv 1712.08969) full residual network
  :math:`x \mapsto x + V\phi(W x + b)`: for tanh, :math:`q_l \approx \sigma_v^2 l` and
  :math:`E[\operatorname{sech}^4(\sqrt{q} z)] \approx \frac{4/3}{\sqrt{2\pi q}}`, so
  :math:`\log m_1 = \sum_l \log(1 + \sigma_v^2\sigma_w^2 E[\phi'^2]) \approx
  \frac83\sqrt{\sigma_v^2\sigma_w^2 L/(2\pi)}`.  Next order (:math:`\sigma_v = \sigma_w = 1`): with
  :math:`E[\operatorname{sech}^2] \approx 2/\sqrt{2\pi q}`, :math:`q_l \approx l - \frac{4}{\sqrt{2\pi}}\sqrt l`
  adds :math:`\frac{4}{3\pi}\log L` and :math:`-\frac12\sum_l a_l^2` subtracts :math:`\frac{4}{9\pi}\log L`:
  :math:`\log m_1 = \frac83\sqrt{L/(2\pi)} + \frac{8}{9\pi}\log L + O(1)`.
"""

from __future__ import annotations

import math

from .layers import Dense, LayerNorm, Nonlinearity, Repeat, Residual, Sequential

__all__ = ["scaled_resnet", "pre_ln_resnet", "post_ln_resnet", "deepnorm_resnet", "full_resnet",
           "deepnorm_spread"]


def _branch(activation, weights, sigma_w2, sigma_v2, sigma_b2=0.0):
    return [Dense(weights, sigma_w2, sigma_b2), Nonlinearity(activation), Dense(weights, sigma_v2)]


def _depth(depth):
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 1:
        raise ValueError(f"depth must be an integer >= 1, got {depth!r}")
    return depth


def scaled_resnet(depth: int, activation="tanh", weights="gaussian", *, sigma_w2=1.0, input_q=1.0,
                  width=None) -> Sequential:
    """``depth`` blocks :math:`x + L^{-1/2} V\\phi(W x)` (V with sigma_w2 = 1)."""
    block = Residual(_branch(activation, weights, sigma_w2, 1.0), alpha=1.0, beta=1 / math.sqrt(_depth(depth)))
    return Sequential([Repeat(depth, block)], input_q=input_q, width=width)


def pre_ln_resnet(depth: int, activation="tanh", weights="gaussian", *, beta=None, sigma_w2=1.0, width=None):
    """``depth`` blocks :math:`x + \\beta V\\phi(W\\,\\mathrm{LN}(x))` (default :math:`\\beta = L^{-1/2}`)."""
    beta = 1 / math.sqrt(_depth(depth)) if beta is None else beta
    block = Residual([LayerNorm(), *_branch(activation, weights, sigma_w2, 1.0)], alpha=1.0, beta=beta)
    return Sequential([Repeat(depth, block)], width=width)


def post_ln_resnet(depth: int, activation="tanh", weights="gaussian", *, beta=1.0, sigma_w2=1.0, width=None):
    """``depth`` blocks :math:`\\mathrm{LN}(x + \\beta V\\phi(W x))` (the original Transformer placement)."""
    block = Residual(_branch(activation, weights, sigma_w2, 1.0), alpha=1.0, beta=beta)
    return Sequential([Repeat(_depth(depth), [block, LayerNorm()])], width=width)


def deepnorm_resnet(depth: int, activation="relu", weights="gaussian", *, width=None):
    """DeepNorm with ``depth`` = M blocks (module docstring): alpha = (2M)^(1/4), weights with gain (8M)^(-1/4)."""
    m = _depth(depth)
    alpha, gain2 = (2 * m) ** 0.25, (8 * m) ** -0.5
    block = Residual(_branch(activation, weights, gain2, gain2), alpha=alpha, beta=1.0)
    return Sequential([Repeat(m, [block, LayerNorm()])], width=width)


def deepnorm_spread(depth: int) -> float:
    """The published leading-order relative variance of DeepNorm's Jacobian, :math:`1/(8\\sqrt{2M})`."""
    return 1 / (8 * math.sqrt(2 * _depth(depth)))


def full_resnet(depth: int, activation="tanh", *, sigma_w2=1.0, sigma_v2=1.0, sigma_b2=0.0, input_q=1.0,
                width=None) -> Sequential:
    """Yang--Schoenholz full residual network: ``depth`` blocks :math:`x + V\\phi(W x + b)`, Gaussian weights."""
    block = Residual(_branch(activation, "gaussian", sigma_w2, sigma_v2, sigma_b2), alpha=1.0, beta=1.0)
    return Sequential([Repeat(_depth(depth), block)], input_q=input_q, width=width)
