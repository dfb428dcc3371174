r"""The length mode: a singular value of a real network's Jacobian below the bulk that the free law misses.

In a real forward pass :math:`x^l = \phi(W_l x^{l-1} + b_l)` the response to rescaling the input,
:math:`J x^0`, follows the variance map.  With :math:`s_l = \|x^l\|^2/N_l` and :math:`x^0 \to (1 + t)x^0`,
:math:`\langle x^L, J x^0\rangle = \tfrac12 N_L\, d s_L/dt = N_0 s_0 \prod_l ds_l/ds_{l-1}`, so the component
of :math:`J \hat x^0` along :math:`\hat x^L` is

.. math:: \langle \hat x^L, J \hat x^0 \rangle = \sqrt{s_0/s_L}\, \prod_{l=1}^L \chi_{q,l}, \qquad
   \chi_{q,l} = \mathcal V'(q^l) = \sigma_w^2 \rho_l \frac{d}{dq} E[\phi(\sqrt q z)^2]\Big|_{q^l},

(Stein: :math:`E[\phi\phi'(h)\, u] = s\,\chi_q` per neuron); at the fixed point :math:`s_L = s_0` and
:math:`\chi_q = e^{-1/\xi_q} < 1` whenever :math:`\sigma_b^2 > 0`, while the bulk stays :math:`O(1)` at
criticality (:math:`\chi_1 = 1`).  So :math:`J` has a singular value near :math:`\prod_l \chi_{q,l}`, with
singular vectors close to :math:`\hat x^0` and :math:`\hat x^L`: the length mode.  It is one of
:math:`N` values (invisible in the limiting law, absent in the free model, where :math:`D_l` does not see
:math:`W_l`), but it sets the condition number: :math:`e^{L/\xi_q}` instead of the bulk's.

Accuracy.  :math:`\prod_l \chi_{q,l}` is the component along the input/output directions; the singular value
itself is lower, because the chain leaks into the bulk at every layer and the minimising input mixes
:math:`\hat x^0` with bulk directions (measured for critical tanh, orthogonal, :math:`\sigma_w^2 = 1.05`,
:math:`N = 128`: ratio 0.88 at :math:`L = 32`, 0.85 at :math:`L = 64`, independent of :math:`N`).  The record
is reported only for orthogonal layers and when the predicted value lies below the low end of the bulk by
:data:`SEPARATION` (otherwise it is not separated from the bulk and the law already describes it).
"""

from __future__ import annotations

import math

from .product import Network, jacobian_law, variance_factor

__all__ = ["bulk_edges", "length_mode", "length_outliers", "condition_numbers", "SEPARATION", "RATIO_RANGE",
           "BULK_QUANTILE"]

#: The predicted singular value must be below this fraction of the bulk's lowest singular value to be reported
#: as an outlier (closer, it merges with the bulk edge at finite width).
SEPARATION = 0.5
#: Quantile of the eigenvalue law taken as the low end of the bulk (as in the depth plot's conditioning).
BULK_QUANTILE = 0.01
#: Points of the logarithmic grid on which the bulk quantile is located.
_QUANTILE_GRID = 400
#: Accepted range of sampled / predicted length-mode singular value (median over networks): the prediction is
#: the component along the input/output directions, the singular value sits 10-20% below it (see above).
RATIO_RANGE = (0.6, 1.05)


def length_mode(net: Network, width: int | None = None) -> float:
    r""":math:`\prod_l \chi_{q,l}` (see the module docstring): the predicted length-mode singular value of ``net``
    in a real forward pass (per-layer widths from ``net.widths``, else square)."""
    from .meanfield import q_map_slope

    qs = net.q_sequence()
    dims = net.widths
    log_chi = 0.0
    for i, layer in enumerate(net.layers):
        rho = float(variance_factor(layer.weights, dims[i], dims[i + 1])) if dims else 1.0
        chi = float(q_map_slope(layer.activation, float(qs[i]), float(layer.sigma_w2) * rho))
        if not chi > 0:
            return 0.0
        log_chi += math.log(chi)
    return math.exp(log_chi)


def bulk_edges(law, res=None) -> tuple[float, float] | None:
    r"""(low end, largest) eigenvalue of the bulk: its :data:`BULK_QUANTILE` quantile (the continuous part of a
    smooth activation's law reaches 0 with a vanishing density, so its edge says nothing at finite width) and
    :math:`\lambda_{\max}`; None where the density solver cannot give them.  The quantile is read from
    :func:`spectral.density.cdf` on a logarithmic grid of :data:`_QUANTILE_GRID` points over 12 decades
    below :math:`\lambda_{\max}` (relative resolution 7%, ample for a separation test); ``res``: the law's
    density when already computed (for its :math:`\lambda_{\max}`)."""
    import numpy as np

    try:
        from . import density

        top = float((law.density() if res is None else res).lambda_max)
        xs = top * np.logspace(-12.0, 0.0, _QUANTILE_GRID)
        cdf = np.asarray(density.cdf(law, xs), dtype=float)
    except (RuntimeError, ValueError, ArithmeticError, NotImplementedError):
        return None
    above = np.nonzero(np.isfinite(cdf) & (cdf >= BULK_QUANTILE))[0]
    if not above.size:
        return None
    return float(xs[above[0]]), top


def length_outliers(net: Network, law=None, edges=None) -> list[dict]:
    r"""Outliers of a real network (forward pass with biases) that the bulk law misses: a list of records
    ``{"singular_value", "eigenvalue", "kind"}`` (``kind = "length"``, see the module docstring); empty when
    no layer has a bias, when a layer has Gaussian weights (the Marchenko-Pastur hard edge of a square
    Gaussian factor puts bulk singular values at every small scale at finite width, so the length mode is not
    separated: measured for critical tanh, sigma_w^2 = 1.5, L = 16, N = 64), when the law has an atom at 0
    (the bulk reaches 0), or when the predicted value is not separated from the bulk (:data:`SEPARATION`).
    ``edges``: :func:`bulk_edges` when already computed."""
    if not any(float(layer.sigma_b2) > 0 for layer in net.layers):
        return []
    if any(layer.weights != "orthogonal" for layer in net.layers):
        return []  # square Gaussian factors have a hard edge at 0: bulk values at every small scale
    law = jacobian_law(net) if law is None else law
    if any(float(a) == 0.0 and float(p) > 0 for a, p in law.atoms):
        return []
    s = length_mode(net)
    edges = bulk_edges(law) if edges is None else edges
    if edges is None or edges[0] <= 0 or not s < SEPARATION * math.sqrt(edges[0]):
        return []
    return [{"singular_value": s, "eigenvalue": s * s, "kind": "length"}]


def condition_numbers(law, outliers, edges=None) -> dict:
    r"""Condition number :math:`s_{\max}/s_{\min}` of a finite network: ``with_outliers`` (smallest singular
    value the lowest outlier) and ``without_outliers`` (the bulk's, :math:`\sqrt{\lambda_{\max}/\lambda_{0.01}}`
    with the :data:`BULK_QUANTILE` quantile); ``inf`` where that quantile is 0 (atom at 0), None where the
    density is unavailable."""
    edges = bulk_edges(law) if edges is None else edges
    if edges is None:
        return {"with_outliers": None, "without_outliers": None}
    lo, top = edges
    bulk = math.sqrt(top / lo) if lo > 0 else math.inf
    low = min((o["singular_value"] for o in outliers), default=None)
    return {"with_outliers": math.sqrt(top) / low if low else bulk, "without_outliers": bulk}
