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

The singular value (docs/design.md §4.11).  :math:`\prod_l \chi_{q,l}` is only the component along the
input/output directions: every layer also leaks the length direction into the bulk, with an :math:`O(1)`
amplitude, and the smallest singular value is set by :math:`J^{-1}`, whose length-to-length element is a
different product.  For square orthogonal layers (:math:`W_l = \sigma_w O_l`, :math:`h = u + b`,
:math:`u = W_l x^{l-1}`, :math:`q_u = q^l - \sigma_b^2`, :math:`s_l = E\phi(h^l)^2`,
:math:`s_{l-1} = q_u/\sigma_w^2`) the inverse :math:`J^{-1} = \prod_l W_l^{-1} D_l^{-1}` has, per layer,

.. math:: \beta_l = \frac{E[u\,\phi(h)/\phi'(h)]}{\sigma_w^2\sqrt{s_{l-1}s_l}}, \quad
   \varepsilon^2_{b,l} = \frac{E[(\phi/\phi')^2(h)]}{\sigma_w^2 s_l} - \beta_l^2, \quad
   \varepsilon^2_{f,l} = \frac{E[u^2/\phi'(h)^2]}{\sigma_w^2 q_u} - \beta_l^2, \quad
   \gamma_l = \frac{E[1/\phi'(h)^2]}{\sigma_w^2},

the length-to-length element, the leak of :math:`J^{-1}` (backward) and of :math:`J^{-T}` (forward) into the
bulk, and the bulk's mean-square gain (bulk vectors do not return to the length direction at infinite width).
When :math:`\gamma_l < \beta_l^2` the length mode dominates :math:`J^{-1}`, which is then rank one plus
:math:`O(1)`: :math:`J^{-1} \approx K p q^T` with :math:`K = \prod_l\beta_l\sqrt{(1+\Lambda_b)(1+\Lambda_f)}`,

.. math:: \Lambda_b = \sum_k \frac{\varepsilon_{b,k}^2}{\beta_k^2}\prod_{j<k}\frac{\gamma_j}{\beta_j^2}, \qquad
   \Lambda_f = \sum_k \frac{\varepsilon_{f,k}^2}{\beta_k^2}\prod_{j>k}\frac{\gamma_j}{\beta_j^2},

so :math:`s_{\min} = 1/K`, with squared overlaps :math:`1/(1+\Lambda_b)` of the right singular vector with
:math:`\hat x^0` and :math:`1/(1+\Lambda_f)` of the left one with :math:`\hat x^L`.  Measured (tanh, critical,
:math:`\sigma_w^2 = 1.05`, orthogonal, mean over networks / prediction): 1.009 at L = 32, N = 256 and 0.995 at
N = 512; 1.014 at L = 64, N = 256, 1.005 at N = 512 (where :math:`\prod\chi_q` is 14-23% too high); tanh
:math:`\sigma_w^2 = 1.3`, L = 8: 1.003 (:math:`\prod\chi_q`: 3 times too high); erf :math:`\sigma_w^2 = 1.1`,
L = 32: 1.03-1.06.  Residuals of 0-6% remain at :math:`L/N \le 0.25` (+7% at L/N = 0.5), and the prediction
is too low where a layer of N neurons does not sample the tails of :math:`E[1/\phi'^2]`
(:func:`length_mode_tail`; tanh :math:`\sigma_w^2 = 1.5`, N = 256: +27%).

The record is reported only for square orthogonal layers (the inverse above; Gaussian factors have a hard edge
at 0), when :math:`\gamma_l < \beta_l^2` at every layer (else the bulk of :math:`J^{-1}` outgrows the length
mode: selu) and when the predicted value lies below the low end of the bulk by :data:`SEPARATION` (otherwise
it is not separated from the bulk and the law already describes it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .product import Network, jacobian_law, variance_factor

__all__ = ["bulk_edges", "length_mode", "length_singular_value", "length_mode_terms", "LengthMode",
           "length_outliers", "length_mode_check", "condition_numbers", "SEPARATION", "RATIO_RANGE",
           "BULK_QUANTILE", "CHECK_ALPHA", "MODEL_REL", "MAX_DEPTH_OVER_WIDTH",
           "TAIL_LIMIT", "length_mode_tail"]

#: The predicted singular value must be below this fraction of the bulk's lowest singular value to be reported
#: as an outlier (closer, it merges with the bulk edge at finite width).
SEPARATION = 0.5
#: Quantile of the eigenvalue law taken as the low end of the bulk (as in the depth plot's conditioning).
BULK_QUANTILE = 0.01
#: Points of the logarithmic grid on which the bulk quantile is located.
_QUANTILE_GRID = 400
#: Accepted range of sampled / predicted length-mode singular value (median over networks): the finite-width
#: bias is below +10% up to L/N = 0.5 (measured +7%) and the median of 6 networks with a per-network spread of
#: up to 25% (tanh, sigma_w^2 = 1.3, N = 256) stays within about 15%.
RATIO_RANGE = (0.8, 1.25)
#: Two-sided false-alarm rate of :func:`length_mode_check` (as validate's other checks).
CHECK_ALPHA = 1e-3
#: Relative accuracy of the prediction inside the stated range (L/N <= 0.25, tail <= TAIL_LIMIT): sampled means
#: over 12-32 networks at N = 128-512 were 0.98-1.06 of it (tanh 1.05-1.3, erf 1.1), with no trend in N.
MODEL_REL = 0.06
#: :func:`length_mode_check` is stated up to this L/N: the finite-width bias is +1.4% at L/N = 0.25 (within
#: the test's resolution with 16 networks) but +7% at L/N = 0.5.
MAX_DEPTH_OVER_WIDTH = 0.25
#: :func:`length_mode_check` is stated up to this :func:`length_mode_tail`: measured errors 0.3-3.4% at tails
#: 0.018-0.125 (N = 256: tanh sigma_w^2 1.05-1.3, erf 1.1), 10-48% at tails 0.21-0.33 (tanh 1.4, 1.5; erf 1.3).
TAIL_LIMIT = 0.15


def length_mode(net: Network, width: int | None = None) -> float:
    r""":math:`\prod_l \chi_{q,l}` (see the module docstring): the component of :math:`J\hat x^0` along
    :math:`\hat x^L` in a real forward pass (per-layer widths from ``net.widths``, else square).  The
    singular value itself is :func:`length_singular_value`."""
    from .meanfield import q_map_slope

    qs = net.q_sequence()
    dims = net.widths
    log_chi = 0.0
    slopes: dict = {}  # per distinct layer (a uniform network has one): depth 10^4 cost 10^4 quadratures
    for i, layer in enumerate(net.layers):
        rho = float(variance_factor(layer.weights, dims[i], dims[i + 1])) if dims else 1.0
        key = (id(layer.activation), float(qs[i]), float(layer.sigma_w2) * rho)
        if key not in slopes:
            slopes[key] = float(q_map_slope(layer.activation, float(qs[i]), float(layer.sigma_w2) * rho))
        chi = slopes[key]
        if not chi > 0:
            return 0.0
        log_chi += math.log(chi)
    return math.exp(log_chi)


@dataclass(frozen=True)
class LengthMode:
    r"""The length mode of a square orthogonal network (module docstring): ``singular_value``
    :math:`1/K`, ``component`` :math:`\prod_l\chi_{q,l}`, ``overlap_input`` :math:`1/(1+\Lambda_b)` and
    ``overlap_output`` :math:`1/(1+\Lambda_f)` (squared overlaps of the singular vectors with
    :math:`\hat x^0`, :math:`\hat x^L`), ``growth`` :math:`\max_l \gamma_l/\beta_l^2` (< 1: separated in
    :math:`J^{-1}`), and the per-layer ``beta``, ``gamma``."""

    singular_value: float
    component: float
    overlap_input: float
    overlap_output: float
    growth: float
    beta: tuple
    gamma: tuple


#: An expectation whose integrand still carries this share of the total beyond 90% of the quadrature radius
#: (13 standard deviations) is not converged there: NaN (tanh, q = 2.2: the integrand of E cosh^4 h peaks at
#: |h| = 4q and carries ~1e-7 of the total at 17.5).
_EDGE_SHARE = 1e-10


def _expectation(f, q: float, *, kinks=()) -> float:
    r""":math:`E[f(\sqrt q z)]` by :func:`spectral.gaussian.gaussian_nodes`; NaN when the integrand has not
    decayed at the end of the quadrature range (:data:`_EDGE_SHARE`)."""
    from .gaussian import gaussian_nodes

    x, w = gaussian_nodes(q, kinks)
    c = w * np.asarray(f(x), dtype=float)
    total = float(np.sum(c))
    edge = float(np.sum(np.abs(c[np.abs(x) > 0.9 * np.max(np.abs(x))])))
    if not math.isfinite(total) or edge > _EDGE_SHARE * abs(total):
        return math.nan
    return total


def _layer_terms(act, q: float, sigma_w2: float, sigma_b2: float):
    """(beta, eps_b^2, eps_f^2, gamma) of one layer (module docstring), None where phi' vanishes or the
    expectations diverge.  u given h = u + b is Gaussian with mean (q_u/q) h and variance q_u sigma_b^2/q."""
    qu = q - sigma_b2
    if not (qu > 0 and q > 0):
        return None
    kinks = tuple(act.breakpoints)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        def ratio(h):
            return np.asarray(act.phi(h), dtype=float) / np.asarray(act.dphi(h), dtype=float)

        def inv2(h):
            return 1.0 / np.asarray(act.dphi(h), dtype=float) ** 2

        s_cur = float(_expectation(lambda h: np.asarray(act.phi(h), dtype=float) ** 2, q, kinks=kinks))
        s_prev = qu / sigma_w2
        e_ur = qu / q * float(_expectation(lambda h: h * ratio(h), q, kinks=kinks))
        e_r2 = float(_expectation(lambda h: ratio(h) ** 2, q, kinks=kinks))
        e_u2 = float(_expectation(lambda h: (qu * sigma_b2 / q + (qu * h / q) ** 2) * inv2(h), q,
                                          kinks=kinks))
        e_inv = float(_expectation(inv2, q, kinks=kinks))
    vals = (s_cur, e_ur, e_r2, e_u2, e_inv)
    if not all(math.isfinite(v) for v in vals) or not s_cur > 0:
        return None
    beta = e_ur / (sigma_w2 * math.sqrt(s_prev * s_cur))
    if not beta > 0:
        return None
    eps_b = max(e_r2 / (sigma_w2 * s_cur) - beta * beta, 0.0)
    eps_f = max(e_u2 / (sigma_w2 * qu) - beta * beta, 0.0)
    return beta, eps_b, eps_f, e_inv / sigma_w2


def length_mode_terms(net: Network) -> LengthMode | None:
    r"""The length mode's :class:`LengthMode` (module docstring, docs/design.md §4.11); None where the
    derivation does not apply: a non-square or Gaussian layer, no bias, :math:`\phi'` vanishing on a set of
    positive probability (hard tanh, relu) or :math:`E[1/\phi'^2]` infinite."""
    if net.widths is not None and len(set(net.widths)) > 1:
        return None
    if any(layer.weights != "orthogonal" for layer in net.layers):
        return None
    if not any(float(layer.sigma_b2) > 0 for layer in net.layers):
        return None
    qs = net.q_sequence()
    terms = []
    seen: dict = {}  # per distinct layer (a uniform network has one): depth 10^4 cost 5 10^4 quadratures
    for layer, q in zip(net.layers, qs, strict=True):
        key = (id(layer.activation), float(q), float(layer.sigma_w2), float(layer.sigma_b2))
        if key not in seen:
            seen[key] = _layer_terms(layer.activation, float(q), float(layer.sigma_w2), float(layer.sigma_b2))
        t = seen[key]
        if t is None:
            return None
        terms.append(t)
    beta, eps_b, eps_f, gamma = (np.array(col, dtype=float) for col in zip(*terms, strict=True))
    rel = gamma / beta**2
    # prefix[k] = prod_{j<k} rel_j, suffix[k] = prod_{j>k} rel_j (logs: no underflow at large depth)
    log_rel = np.log(rel)
    prefix = np.exp(np.concatenate([[0.0], np.cumsum(log_rel)[:-1]]))
    suffix = np.exp(np.concatenate([np.cumsum(log_rel[::-1])[:-1][::-1], [0.0]]))
    lam_b = float(np.sum(eps_b / beta**2 * prefix))
    lam_f = float(np.sum(eps_f / beta**2 * suffix))
    log_k = float(np.sum(np.log(beta))) + 0.5 * (math.log1p(lam_b) + math.log1p(lam_f))
    return LengthMode(math.exp(-log_k), length_mode(net), 1.0 / (1.0 + lam_b), 1.0 / (1.0 + lam_f),
                      float(rel.max()), tuple(beta.tolist()), tuple(gamma.tolist()))


def length_singular_value(net: Network) -> float | None:
    r"""The length mode's singular value :math:`1/K` (module docstring); None where it is not separated in
    :math:`J^{-1}` (:math:`\gamma_l \ge \beta_l^2` at some layer) or the derivation does not apply
    (:func:`length_mode_terms`)."""
    t = length_mode_terms(net)
    if t is None or not t.growth < 1.0:
        return None
    return t.singular_value


def bulk_edges(law, res=None) -> tuple[float, float] | None:
    r"""(low end, largest) eigenvalue of the bulk: its :data:`BULK_QUANTILE` quantile (the continuous part of a
    smooth activation's law reaches 0 with a vanishing density, so its edge says nothing at finite width) and
    :math:`\lambda_{\max}`; None where the density solver cannot give them.  The quantile is read from
    :func:`spectral.density.cdf` on a logarithmic grid of :data:`_QUANTILE_GRID` points over 12 decades
    below :math:`\lambda_{\max}` (relative resolution 7%, ample for a separation test); ``res``: the law's
    density when already computed (for its :math:`\lambda_{\max}`).  None also where that density is not
    certified."""
    try:
        from . import density

        res = law.density() if res is None else res
        if not res.certified:  # an uncertified CDF gives no quantile worth reporting
            return None
        top = float(res.lambda_max)
        xs = top * np.logspace(-12.0, 0.0, _QUANTILE_GRID)
        cdf = np.asarray(density.cdf(law, xs), dtype=float)
    except (RuntimeError, ValueError, ArithmeticError, NotImplementedError):
        return None
    above = np.nonzero(np.isfinite(cdf) & (cdf >= BULK_QUANTILE))[0]
    if not above.size:
        return None
    if above[0] == 0:  # the quantile lies more than 12 decades down (deep Gaussian products: below 1e-300)
        return float(density.ppf(law, np.array([BULK_QUANTILE]))[0]), top
    return float(xs[above[0]]), top


def length_outliers(net: Network, law=None, edges=None) -> list[dict]:
    r"""Outliers of a real network (forward pass with biases) that the bulk law misses: a list of records
    ``{"singular_value", "eigenvalue", "kind"}`` (``kind = "length"``, the value
    :func:`length_singular_value`, see the module docstring); empty when no layer has a bias, when a layer has
    Gaussian weights (the Marchenko-Pastur hard edge of a square Gaussian factor puts bulk singular values at
    every small scale at finite width, so the length mode is not separated: measured for critical tanh,
    sigma_w^2 = 1.5, L = 16, N = 64), when the layers are not square (the derivation inverts :math:`J`), when
    the law has an atom at 0 (the bulk reaches 0), when the bulk of :math:`J^{-1}` outgrows the length mode
    (:math:`\gamma_l \ge \beta_l^2`), or when the predicted value is not separated from the bulk
    (:data:`SEPARATION`).  ``edges``: :func:`bulk_edges` when already computed."""
    if not any(float(layer.sigma_b2) > 0 for layer in net.layers):
        return []
    if any(layer.weights != "orthogonal" for layer in net.layers):
        return []  # square Gaussian factors have a hard edge at 0: bulk values at every small scale
    law = jacobian_law(net) if law is None else law
    if any(float(a) == 0.0 and float(p) > 0 for a, p in law.atoms):
        return []
    s = length_singular_value(net)
    if s is None:
        return []
    edges = bulk_edges(law) if edges is None else edges
    if edges is None or edges[0] <= 0 or not s < SEPARATION * math.sqrt(edges[0]):
        return []
    return [{"singular_value": s, "eigenvalue": s * s, "kind": "length"}]


def length_mode_tail(net: Network, width: int) -> float:
    r"""Largest fraction of the expectations :math:`E[1/\phi'^2]`, :math:`E[(\phi/\phi')^2]`,
    :math:`E[h^2/\phi'^2]` (over the layers) carried by :math:`|h| > \sqrt{2 q \ln N}`, beyond the typical
    largest of N pre-activations: the part a network of width N does not sample, so its neuron averages fall
    short of the expectations and the prediction is too low (tanh, N = 256: tail 0.065 / 0.12 / 0.21 / 0.31 at
    :math:`\sigma_w^2` = 1.2 / 1.3 / 1.4 / 1.5, sampled / predicted 1.03 / 1.00 / 1.10 / 1.27)."""
    if isinstance(width, bool) or not isinstance(width, int | np.integer) or width < 2:
        raise ValueError(f"width must be an integer >= 2, got {width!r}")
    worst = 0.0
    seen = set()
    for layer, q in zip(net.layers, net.q_sequence(), strict=True):
        act, q = layer.activation, float(q)
        if (act.name, q) in seen or not q > 0:
            continue
        seen.add((act.name, q))
        worst = max(worst, _tail_fraction(act, q, math.sqrt(2.0 * q * math.log(width))))
    return worst


def _tail_fraction(act, q: float, cut: float) -> float:
    """Largest share of E[1/phi'^2], E[(phi/phi')^2], E[h^2/phi'^2] (h ~ N(0, q)) from |h| > cut."""
    from .gaussian import gaussian_expectation

    kinks = tuple(act.breakpoints) + (-cut, cut)

    def inv2(h):
        return 1.0 / np.asarray(act.dphi(h), dtype=float) ** 2

    fs = (inv2, lambda h: np.asarray(act.phi(h), dtype=float) ** 2 * inv2(h), lambda h: h * h * inv2(h))
    worst = 0.0
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for f in fs:
            total = float(gaussian_expectation(f, q, kinks=kinks))
            tail = float(gaussian_expectation(lambda h, f=f: np.where(np.abs(h) > cut, f(h), 0.0), q, kinks=kinks))
            frac = tail / total if total > 0 and math.isfinite(total) else 1.0
            worst = max(worst, frac if math.isfinite(frac) else 1.0)
    return worst


def length_mode_check(net: Network, sampled, *, width: int, alpha: float = CHECK_ALPHA) -> dict:
    r"""Statistical test of :func:`length_singular_value` against the smallest singular value of :math:`n`
    sampled networks of width ``width``: :math:`t = (\bar s - s_{pred})/\text{se}`,
    :math:`\text{se} = \operatorname{sd}(s)/\sqrt n` (the networks are independent); passed when
    :math:`|\bar s - s_{pred}| \le t_{n-1}(1 - \alpha/2)\,\text{se} + ` :data:`MODEL_REL` :math:`s_{pred}`
    (Student's quantile plus the prediction's stated accuracy).
    Stated for :math:`L/N \le` :data:`MAX_DEPTH_OVER_WIDTH`, :func:`length_mode_tail` :math:`\le`
    :data:`TAIL_LIMIT` and :math:`n \ge 3`; otherwise ``passed`` is None and ``detail`` says why (never a
    silent pass).  Returns ``{"passed", "predicted", "t", "threshold", "mean", "stderr", "ratio", "detail"}`` (and
    ``allowed`` when checked)."""
    from scipy.stats import t as student

    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie in (0, 1), got {alpha!r}; e.g. {CHECK_ALPHA}")
    tail = length_mode_tail(net, width)
    predicted = length_singular_value(net)
    x = np.asarray(sampled, dtype=float).ravel()
    n = x.size
    mean = float(np.mean(x)) if n else math.nan
    out: dict[str, Any] = {"passed": None, "predicted": predicted, "t": None, "threshold": None, "mean": mean,
                           "stderr": None, "ratio": mean / predicted if n and predicted else None}
    depth = len(net.layers)
    if predicted is None:
        out["detail"] = "not checked: no length-mode prediction for this network (length_mode_terms)"
    elif n < 3 or not np.all(np.isfinite(x)):
        out["detail"] = f"not checked: {n} finite samples (at least 3 needed for a standard error)"
    elif depth / width > MAX_DEPTH_OVER_WIDTH:
        out["detail"] = (f"not checked: L/N = {depth / width:.3g} > {MAX_DEPTH_OVER_WIDTH} (finite-width bias of "
                         "the prediction: +7% at L/N = 0.5)")
    elif tail > TAIL_LIMIT:
        out["detail"] = (f"not checked: {tail:.3g} of the neuron expectations lies beyond the largest of "
                         f"{width} pre-activations (> {TAIL_LIMIT}); the prediction needs a wider network")
    if "detail" in out or predicted is None:
        return out
    se = float(np.std(x, ddof=1)) / math.sqrt(n)
    thr = float(student.ppf(1.0 - alpha / 2.0, n - 1))
    tval = (mean - predicted) / se if se > 0 else (0.0 if mean == predicted else math.inf)
    allowed = thr * se + MODEL_REL * predicted
    out.update(passed=bool(abs(mean - predicted) <= allowed), t=tval, threshold=thr, stderr=se, allowed=allowed,
               detail=f"length mode: sampled mean {mean:.4g} +- {se:.2g} vs predicted {predicted:.4g} "
                      f"(ratio {mean / predicted:.3f}, t = {tval:.2f}; allowed |difference| {allowed:.3g} = "
                      f"{thr:.2f} se + {MODEL_REL:g} predicted)")
    return out


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
