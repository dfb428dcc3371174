r"""One layer of a sampled network, for a batch: weights, biases or the free model's :math:`D_l`, and the inputs.

Network mode is a real forward pass (:math:`D_l = \phi'(h^l)` from the actual pre-activations); free mode draws
:math:`D_l = \phi'(\sqrt{q^l} z)` independently of :math:`W_l` (the model the free-probability theory describes).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._backend import (
    normal_batch,
)
from ..product import Network, variance_factor
from .haar import IMPLICIT_HAAR_MIN_WIDTH, HaarReflectors, ScaledHaarFactor, _haar_batch, _haar_reflectors


# ==================================================================================== layer data
@dataclass(frozen=True)
class _LayerSpec:
    activation: Any
    weights: str
    sigma_w2: float
    sigma_b2: float
    n_in: int
    n_out: int
    q: float
    rho: float  # the width factor of the pre-activation variance (spectral.product.variance_factor)


def _resolve_widths(net: Network, width) -> tuple[int, ...]:
    dims = net.widths
    if dims is None:
        if isinstance(width, bool) or not isinstance(width, int | np.integer) or width < 1:
            raise ValueError(f"width must be a positive integer (the layer width N), got {width!r}")
        return (int(width),) * (net.depth + 1)
    if width is not None and int(width) != dims[0]:
        raise ValueError(f"width={width!r} conflicts with the network's input width N_0={dims[0]}; "
                         "pass width=None for networks with per-layer widths")
    return tuple(int(d) for d in dims)


def _layer_specs(net: Network, dims) -> tuple[_LayerSpec, ...]:
    qs = net.q_sequence()
    return tuple(_LayerSpec(layer.activation, layer.weights, float(layer.sigma_w2), float(layer.sigma_b2),
                            dims[i], dims[i + 1], float(qs[i]),
                            float(variance_factor(layer.weights, dims[i], dims[i + 1])))
                 for i, layer in enumerate(net.layers))


def _weights(xp, streams, spec: _LayerSpec, implicit: bool = False):
    """Weights of one layer for a batch, unscaled, and their scale: ``W = scale * w`` (``w`` a fresh array:
    Gaussian N(0, 1) entries or a Haar partial isometry; with ``implicit``, a square NumPy Haar layer at
    least :data:`~spectral.montecarlo.haar.IMPLICIT_HAAR_MIN_WIDTH` wide is returned in Householder form,
    :class:`~spectral.montecarlo.haar.HaarReflectors`, the same law and the same draws)."""
    if (implicit and spec.weights == "orthogonal" and spec.n_in == spec.n_out >= IMPLICIT_HAAR_MIN_WIDTH
            and isinstance(streams[0].backend.module.empty(0), np.ndarray)):
        return _haar_reflectors(streams, spec.n_in), math.sqrt(spec.sigma_w2)
    if spec.weights == "orthogonal":
        return _haar_batch(xp, streams, spec.n_out, spec.n_in), math.sqrt(spec.sigma_w2)
    return normal_batch(streams, (spec.n_out, spec.n_in)), math.sqrt(spec.sigma_w2 / spec.n_in)


def _factor(xp, streams, spec: _LayerSpec, mode: str, x, x_w=None, implicit: bool = False):
    r"""One layer: ``(A = D W, x_next, nnz(D), q_cond)`` for a batch of networks.

    ``implicit``: the caller can take :math:`A` as a :class:`~spectral.montecarlo.haar.ScaledHaarFactor`
    (the direct product after its first layer); square Haar layers then come in Householder form.

    ``x_w`` (network mode): the input in the coordinates of the drawn matrix, :math:`h = w\, x_w + b`;
    for a layer drawn rotated, :math:`W = W' Q^T` and ``x_w`` :math:`= Q^T x` (default ``x``).  ``q_cond``
    uses ``x`` (:math:`\|Q^T x\| = \|x\|`).

    ``q_cond`` (network mode) is the variance of the pre-activations given the layer's input,
    :math:`\sigma_w^2 \|x\|^2/N_{\text{in}} + \sigma_b^2` (Gaussian weights; Haar:
    :math:`/\max(N_{\text{in}}, N_{\text{out}})`), the realised "q" of this network and layer.

    Draw order per network stream: weights, then biases (network mode) or the Gaussian ``z`` of the
    free model -- fixed, so a network is reproducible from its stream alone.
    """
    w, scale = _weights(xp, streams, spec, implicit)
    g = normal_batch(streams, (spec.n_out,))
    reflected = isinstance(w, HaarReflectors)
    act = spec.activation
    if mode == "network":
        # conditional variance of h_i given x: sigma_w2 rho |x|^2 / N_in (rho: variance_factor)
        denom = spec.n_in / spec.rho
        q_emp = spec.sigma_w2 * xp.sum(x * x, axis=-1) / denom + spec.sigma_b2
        x_in = x if x_w is None else x_w
        wx = w.times_vectors(x_in) if reflected else xp.matmul(w, x_in[..., None])[..., 0]
        h = scale * wx + math.sqrt(spec.sigma_b2) * g
        d = act.dphi(h)
        x_next = act.phi(h)
    else:
        d = act.dphi(math.sqrt(spec.q) * g)
        x_next, q_emp = None, None
    nnz = xp.count_nonzero(d, axis=-1)
    if reflected:
        return ScaledHaarFactor(scale * d, w), x_next, nnz, q_emp
    w *= (scale * d)[..., :, None]  # A = D W in place, the weight scale folded in: one pass
    return w, x_next, nnz, q_emp


def _inputs(xp, streams, spec: _LayerSpec, q1: float):
    r"""Random directions with :math:`\|x\|^2 = N_0 (q^1 - \sigma_b^2)/(\sigma_w^2 \rho_1)`
    (:func:`spectral.product.variance_factor`): the first pre-activations have variance exactly
    :math:`q^1` given :math:`x` (Gaussian weights: they are exactly :math:`N(0, q^1)`)."""
    excess = q1 - spec.sigma_b2
    if excess < 0:  # excess = 0 is x = 0: the pre-activations are the biases (q* = 0 when sigma_b2 = 0)
        raise ValueError(f"q0 = {q1!r} must be at least the first layer's sigma_b2 = {spec.sigma_b2!r} "
                         "(pre-activations W x + b have variance >= sigma_b2); give a larger q0")
    rho = spec.rho
    x = normal_batch(streams, (spec.n_in,))
    norm = xp.sqrt(xp.sum(x * x, axis=-1, keepdims=True))
    return x * (math.sqrt(spec.n_in * excess / (spec.sigma_w2 * rho)) / norm)
