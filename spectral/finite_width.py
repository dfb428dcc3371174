r"""Finite-width predictions: spread across networks of :math:`\log \|J u\|^2` and :math:`\log \hat m_1`, and the
finite-width atoms of :math:`J J^T` (at 0 and, for orthogonal Bernoulli-type layers, at the top).

Log-norms (Hanin & Nica 2020, extended to smooth activations)
-------------------------------------------------------------
For a unit :math:`u` independent of the network, :math:`v_0 = u`, :math:`v_l = D_l W_l v_{l-1}`:
:math:`\log\|J u\|^2 = \sum_l \log X_l`, :math:`X_l = \|D_l W_l v_{l-1}\|^2/\|v_{l-1}\|^2`.  With
:math:`g = W_l v_{l-1}/(\sigma_w\|v_{l-1}\|/\sqrt{N_{l-1}})` (i.i.d. :math:`N(0, 1)` for Gaussian weights,
uniform on the sphere of radius :math:`\sqrt{N_l}` for Haar, independent of the layer's input direction
for a random :math:`u`), :math:`X_l = \sigma_w^2 \rho_l N_l^{-1} \sum_i d_i^2 g_i^2` with
:math:`d_i = \phi'(h^l_i)`.  Its relative variance is :math:`\kappa_l/N_l`,

.. math:: \kappa = 3\mu_4/\mu_2^2 - 1 \ \text{(Gaussian)}, \qquad \kappa = 3\mu_4/\mu_2^2 - 3 \ \text{(Haar)},

:math:`\mu_k = E[\phi'(\sqrt{q} z)^k]` (Haar: :math:`\operatorname{Cov}(g_i^2, g_j^2) = -2/N`; ReLU: 5 and 3,
linear Haar: 0).  The layers are independent given the forward pass, so for ReLU-like activations
(:math:`\mu_2` does not depend on q) :math:`\operatorname{Var}\log\|Ju\|^2 \approx \sum_l \kappa_l/N_l`
(Hanin & Nica 2020).

*Smooth activations: coupling to the forward variance.*  In a real network :math:`D_l` is evaluated at the
realised variance :math:`q_l = \sigma_w^2\rho\|x^{l-1}\|^2/N_{l-1} + \sigma_b^2`, which fluctuates:
:math:`\delta q_{l+1} = \chi_{q,l}\,\delta q_l + \eta_l`, :math:`\eta_l = \sigma_w^2 \rho\,
N_l^{-1}\sum_i (\phi(h_i)^2 - E\phi^2)` (:math:`\delta q_1 = 0`: the input norm is fixed), with
:math:`\chi_{q,l} = \mathcal V'(q_l)`.  The gain of layer :math:`l` moves by :math:`a_l \delta q_l`,
:math:`a_l = d \log \mu_2(q)/dq`, so with :math:`c_k = \sum_{l > k} a_l \prod_{k < j < l} \chi_{q,j}` (the
effect of :math:`\eta_k` on all later gains) and :math:`\varepsilon_l = X_l/E X_l - 1`,

.. math:: \operatorname{Var} \log\|Ju\|^2 \approx \sum_l \Big[\operatorname{Var}\varepsilon_l
   + c_l^2 \operatorname{Var}\eta_l + 2 c_l \operatorname{Cov}(\varepsilon_l, \eta_l)\Big],

:math:`\operatorname{Cov}(\varepsilon_l, \eta_l) = \sigma_w^2\rho \operatorname{Cov}(\phi'(h)^2, \phi(h)^2)
/(N_l \mu_2)`, :math:`\operatorname{Var}\eta_l = \sigma_w^4\rho^2 \operatorname{Var}\phi(h)^2/N_l`.  Haar
weights fix :math:`\|W x\|`: every covariance is then conditioned on :math:`S = \sum_i u_i^2`
(:math:`u = h - b`) by Gaussian conditioning, :math:`\operatorname{Cov}(A, B | S) = \operatorname{Cov}(A, B)
- \operatorname{Cov}(A, S)\operatorname{Cov}(B, S)/\operatorname{Var} S`.  The mean is taken from the
log-normal form, :math:`E \log\|Ju\|^2 \approx \log E\|Ju\|^2 - \frac12 \operatorname{Var}`, with
:math:`E\|Ju\|^2 = m_1 N_L/N_0` of the theory (exact for ReLU-like layers, :math:`O(1/N)` otherwise).

*Across-network spread of* :math:`\hat m_1 = N_L^{-1}\operatorname{tr} J J^T`.  The average over the
:math:`N_0` input directions removes the :math:`g` noise: :math:`E[\hat m_1 | D] = \prod_l \sigma_w^2
\rho_l \hat\mu_{2,l}` (exact for both ensembles, :math:`E_W[W M W^T] \propto \operatorname{tr} M`), so the
same formula holds with :math:`\kappa' = \mu_4/\mu_2^2 - 1` in place of :math:`\kappa` (the variance of the
empirical :math:`\hat\mu_2 = N^{-1}\sum_i d_i^2`) and the same coupling, plus the noise of the weights:
:math:`\operatorname{tr}(D W M W^T D) = \sum_i d_i^2 y_i`, :math:`y_i = w_i^T M w_i` with relative variance
:math:`2 r/N_{l-1}` (Gaussian rows; :math:`r = m_2/m_1^2` of :math:`M = J_{l-1}J_{l-1}^T`, the excesses
:math:`r - 1` adding over the free factors), giving :math:`2(\mu_4/\mu_2^2)\, r/(N_l N_{l-1})`; Haar rows
have :math:`\sum_i y_i` fixed, giving :math:`2(\mu_4/\mu_2^2 - 1)(r - 1)/(N_l N_{l-1})`.  This term is
:math:`O(L^2/N^2)` in all and matters at :math:`L/N \gtrsim 0.1` (relu, Gaussian, L = 8, N = 64: 0.06 of
0.19).

Free mode (``mode="free"``, the model of the theory: :math:`D_l` drawn at the q-map's :math:`q_l`,
independent of :math:`W_l`) has no coupling: :math:`c_l = 0`.

Validity: first order in :math:`1/N` per layer; the errors are :math:`O(L/N^2)` in the variance plus the
neglected non-Gaussian tails of :math:`\log X_l`, and the log-normal mean is off by the third cumulant,
:math:`O(L/N^2)`.  Measured against samples in ``tests/test_finite_width.py`` and
``benchmarks/calibrate_validate.py``.

Atoms
-----
*At zero*: :math:`1 - \operatorname{rank} J/N_L`, :math:`\operatorname{rank} J = \min(N_0, \min_l N_l,
\min_l r_l)` with :math:`r_l` the number of nonzero :math:`\phi'_l` (:func:`finite_width_atom`).

*At the top* (square orthogonal layers with a two-valued :math:`D_l^2 \in \{0, c_l\}`, e.g. hard-tanh):
:math:`J J^T` has the eigenvalue :math:`t = \prod_l \sigma_w^2 c_l` on the intersection of the subspaces
where every :math:`D_l^2 = c_l`, of dimension :math:`\max(0, N - \sum_l z_l)` in general position
(:math:`z_l` the zero counts).  Its infinite-width mass :math:`\max(0, 1 - \sum_l \mu_l)` is 0 when
:math:`\sum_l \mu_l = 1` exactly, but at width N the mean mass is
:math:`E[(N - S)^+]/N = O(N^{-1/2})`, :math:`S = \sum_l z_l` (:func:`finite_width_top_atom`).

References
----------
B. Hanin and M. Nica, "Products of many large random matrices and gradients in deep neural networks",
Comm. Math. Phys. 376 (2020) 287-322.
B. Hanin, "Which neural net architectures give rise to exploding and vanishing gradients?", NeurIPS 2018.
"""

from __future__ import annotations

import math

import numpy as np

from .product import Network, jacobian_law, variance_factor

__all__ = ["finite_width", "FiniteWidth", "finite_width_atom", "finite_width_top_atom", "expected_atom",
           "layer_statistics"]

#: Gaussian quadrature in z = h/sqrt(q): Gauss-Legendre on each interval between the kinks of phi' within
#: |z| <= 12 (the tail beyond is below 1e-32); 160 nodes per piece are exact to rounding for the smooth pieces.
_Z_MAX, _GL_NODES = 12.0, 160


def _gauss_rule(act, q: float):
    """Nodes h and weights of E[f(h)], h ~ N(0, q), split at the kinks of phi' (jumps of phi'^2 are exact)."""
    cuts = [float(k) / math.sqrt(q) for k in (getattr(act, "kinks", None) or ()) if math.isfinite(float(k))]
    edges = np.unique(np.clip([-_Z_MAX, _Z_MAX, *cuts], -_Z_MAX, _Z_MAX))
    x, w = np.polynomial.legendre.leggauss(_GL_NODES)
    zs, ws = [], []
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        zs.append(0.5 * (hi - lo) * x + 0.5 * (hi + lo))
        ws.append(0.5 * (hi - lo) * w)
    z, w = np.concatenate(zs), np.concatenate(ws)
    return math.sqrt(q) * z, w * np.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)


def layer_statistics(act, q: float, sigma_b2: float, haar: bool, fixed_norm: bool | None = None) -> dict:
    r"""Per-neuron statistics at pre-activation variance ``q`` (see the module docstring): ``mu2``, ``mu4``,
    ``kappa`` (for :math:`\|Ju\|^2`), ``kappa_m1`` (for :math:`\hat m_1`), ``var_phi2``
    (:math:`\operatorname{Var} \phi^2`), ``cov`` (:math:`\operatorname{Cov}(\phi'^2, \phi^2)`) and ``a``
    (:math:`d\log\mu_2/dq`).  ``haar``: the direction of :math:`W v` is uniform on the sphere;
    ``fixed_norm`` (default ``haar``; False in free mode, where :math:`D` does not see :math:`W`): every
    statistic is conditioned on :math:`\sum_i u_i^2`."""
    fixed_norm = haar if fixed_norm is None else fixed_norm
    h, wts = _gauss_rule(act, q)

    def _mean(f):
        return float(np.dot(wts, f))

    d2 = np.asarray(act.dphi(h), dtype=float) ** 2
    p2 = np.asarray(act.phi(h), dtype=float) ** 2
    mu2, mu4 = _mean(d2), _mean(d2 * d2)
    var_d2 = mu4 - mu2 * mu2
    var_p2 = _mean(p2 * p2) - _mean(p2) ** 2
    cov = _mean(d2 * p2) - mu2 * _mean(p2)
    var_g = 2.0  # Var g^2 for g ~ N(0, 1)
    var_eps = 3.0 * mu4 - mu2 * mu2  # Var(d^2 g^2)
    if haar:  # Haar: the direction g of W v is uniform on the sphere, Cov(g_i^2, g_j^2) = -2/N
        var_eps -= var_g * mu2 * mu2
    if fixed_norm and q > 0:  # q = 0: h = 0, D is constant and nothing couples to the input's norm
        s2 = q - sigma_b2
        eu2 = (s2 / q) ** 2 * h * h + s2 * sigma_b2 / q  # E[u^2 | h], u = h - b
        var_s = 2.0 * s2 * s2
        c_d2, c_p2 = _mean(d2 * eu2) - mu2 * s2, _mean(p2 * eu2) - _mean(p2) * s2
        var_d2 -= c_d2 * c_d2 / var_s
        var_p2 -= c_p2 * c_p2 / var_s
        cov -= c_d2 * c_p2 / var_s
        var_eps -= c_d2 * c_d2 / var_s
    # d mu_2/dq = E[phi'(h)^2 (h^2/q - 1)]/(2q) (derivative of the Gaussian density; no phi'' needed)
    a = _mean(d2 * (h * h / q - 1.0)) / (2.0 * q * mu2) if mu2 > 0 and q > 0 else 0.0
    return {"mu2": mu2, "mu4": mu4, "kappa": var_eps / mu2 ** 2, "kappa_m1": var_d2 / mu2 ** 2, "var_phi2": var_p2,
            "cov": cov, "a": a}


# ==================================================================================== log-norm predictions
class FiniteWidth(dict):
    """Finite-width predictions (a dict with the JSON keys of ``spectral moments --width N --json``)."""


def _layer_dims(net: Network, width):
    dims = net.widths
    if dims is None:
        if isinstance(width, bool) or not isinstance(width, int | np.integer) or width < 1:
            raise ValueError(f"width must be a positive integer (the layer width N; try 256), got {width!r}")
        return (int(width),) * (net.depth + 1)
    if width is not None and int(width) != dims[0]:
        raise ValueError(f"width={width!r} conflicts with the network's input width N_0={dims[0]}; "
                         "pass width=None for networks with per-layer widths")
    return tuple(int(d) for d in dims)


def _log_variances(net: Network, dims, mode: str) -> tuple[float, float]:
    """(Var log||Ju||^2, Var log m1_hat) from the per-layer terms and the forward-variance coupling."""
    from .meanfield import q_map_slope

    layers = net.layers
    qs = net.q_sequence()
    stats, chis, rhos = [], [], []
    for i, layer in enumerate(layers):
        rho = float(variance_factor(layer.weights, dims[i], dims[i + 1]))
        haar = layer.weights == "orthogonal"
        stats.append(layer_statistics(layer.activation, float(qs[i]), float(layer.sigma_b2), haar,
                                      haar and mode == "network"))
        rhos.append(rho)
        chis.append(float(q_map_slope(layer.activation, float(qs[i]), float(layer.sigma_w2) * rho)))
    n_layers = len(layers)
    var_u = var_m = 0.0
    spread = 1.0  # m_2/m_1^2 of J_{k-1} J_{k-1}^T (free multiplicative convolution: the excesses add)
    for k in range(n_layers):
        st, n_k = stats[k], dims[k + 1]
        # W-noise of tr(D W M W^T D) = sum_i d_i^2 y_i, y_i = w_i^T M w_i with Var y / E^2 = 2 r / N_{k-1}
        # (Gaussian rows, r = m_2/m_1^2 of M) or 2 (r - 1)/N_{k-1} (Haar rows, whose sum of y_i is fixed, so
        # only the spread of d_i^2 weighs them: mu4/mu2^2 - 1 instead of mu4/mu2^2)
        haar = layers[k].weights == "orthogonal"
        ratio = st["mu4"] / st["mu2"] ** 2
        var_m += 2.0 * ((ratio - 1.0) * (spread - 1.0) if haar else ratio * spread) / (n_k * dims[k])
        spread += st["mu4"] / st["mu2"] ** 2 - 1.0 + (0.0 if haar else dims[k] / n_k)
        c_k = 0.0
        if mode == "network" and k + 1 < n_layers:
            # effect of eta_k (noise in q_{k+1}) on the gains of layers k+1..L
            nxt = layers[k + 1]
            rho_n = float(variance_factor(nxt.weights, dims[k + 1], dims[k + 2]))
            prod = 1.0
            for j in range(k + 1, n_layers):
                c_k += stats[j]["a"] * prod
                prod *= chis[j]
            scale = float(nxt.sigma_w2) * rho_n  # eta_k = sigma_w^2 rho (||x^k||^2/N_k - E phi^2)
            var_eta = scale ** 2 * st["var_phi2"] / n_k
            cov = scale * st["cov"] / (n_k * st["mu2"])
        else:
            var_eta = cov = 0.0
        coupling = c_k * c_k * var_eta + 2.0 * c_k * cov
        var_u += st["kappa"] / n_k + coupling
        var_m += st["kappa_m1"] / n_k + coupling
    return var_u, var_m


def finite_width(net: Network, width: int | None = None, *, mode: str = "network") -> FiniteWidth:
    r"""Finite-width predictions for ``net`` at ``width`` (see the module docstring).

    Returns a :class:`FiniteWidth` dict: ``width``, ``widths``, ``mode``, ``log_norm_mean``,
    ``log_norm_var`` (of :math:`\log\|Ju\|^2` for a random unit :math:`u`), ``log_m1_mean``,
    ``log_m1_sd`` (of :math:`\log \hat m_1` across networks), ``L_over_N``, ``atom_zero``
    (``{"mean", "sd"}`` of the fraction of zero eigenvalues per network) and ``atoms`` (nonzero finite-width
    atoms as ``[location, mean mass, sd]``).

    Raises
    ------
    ValueError
        ``width`` not a positive integer (square networks) or in conflict with ``net.widths``; ``mode`` not
        "network" or "free".
    """
    if not isinstance(net, Network):
        raise TypeError(f"net must be a spectral.product.Network, got {type(net).__name__}")
    if mode not in ("network", "free"):
        raise ValueError(f"mode must be 'network' or 'free', got {mode!r}")
    dims = _layer_dims(net, width)
    law = jacobian_law(net)
    var_u, var_m = _log_variances(net, dims, mode)
    log_m1 = float(np.asarray(law.log_moments(1), dtype=float)[0])
    log_eu = log_m1 + math.log(dims[-1] / dims[0])
    mus = [_zero_mass(d2.atoms) for d2 in law.d2_laws]
    z_mean, z_sd = finite_width_atom(mus, dims)
    atoms = []
    top = top_atom_location(net, law, dims)
    if top is not None:
        m, sd = _top_mass([mu * dims[i + 1] for i, mu in enumerate(mus)],
                          [dims[i + 1] * mu * (1 - mu) for i, mu in enumerate(mus)], dims[-1])
        atoms.append([top, m, sd])
    return FiniteWidth(width=int(dims[0]) if len(set(dims)) == 1 else list(dims), widths=list(dims), mode=mode,
                       L_over_N=len(net.layers) / min(dims), log_norm_mean=log_eu - 0.5 * var_u,
                       log_norm_var=var_u, log_m1_mean=log_m1 - 0.5 * var_m, log_m1_sd=math.sqrt(var_m),
                       atom_zero={"mean": z_mean, "sd": z_sd}, atoms=atoms)


# ==================================================================================== atoms
def _zero_mass(law_atoms) -> float:
    return float(sum(float(p) for a, p in (law_atoms or ()) if float(a) == 0.0))


def finite_width_atom(zero_masses, widths, count_variances=None) -> tuple[float, float]:
    r"""Mean and standard deviation of the fraction of zero eigenvalues of :math:`J J^T` at finite width.

    :math:`1 - \operatorname{rank}(J)/N_L` with :math:`\operatorname{rank} J = \min(N_0, \min_l N_l,
    \min_l r_l)`, :math:`r_l` independent counts of nonzero :math:`\phi_l'`: Binomial
    :math:`(N_l, 1 - \mu_l)`, or, where ``count_variances[l]`` is given, a discretised normal with mean
    :math:`N_l(1 - \mu_l)` and that variance; exact distribution from
    :math:`P(\operatorname{rank} \ge r) = \prod_l P(r_l \ge r)`.

    Parameters
    ----------
    zero_masses : sequence of float
        :math:`\mu_l`, the mass at 0 of the law of :math:`D_l^2 = \phi_l'(h^l)^2`, per layer.
    widths : sequence of int
        :math:`(N_0, \dots, N_L)`.
    count_variances : sequence of float or None, optional
    """
    from scipy.stats import binom, norm

    dims = [int(d) for d in widths]
    cap = min(dims)
    r = np.arange(cap + 1)
    log_surv = np.zeros(cap + 1)  # log P(rank >= r)
    for l_idx, mu in enumerate(zero_masses):
        if mu <= 0:
            continue
        n_l = dims[l_idx + 1]
        var = None if count_variances is None else count_variances[l_idx]
        with np.errstate(divide="ignore"):
            if var is None:
                log_surv += np.log(binom.sf(r - 1, n_l, 1.0 - float(mu)))
            else:
                log_surv += norm.logsf(r - 0.5, loc=n_l * (1.0 - float(mu)), scale=math.sqrt(max(var, 1e-12)))
    surv = np.exp(log_surv)
    pmf = np.clip(surv - np.append(surv[1:], 0.0), 0.0, None)
    pmf /= pmf.sum()
    frac = 1.0 - r / dims[-1]
    mean = float(np.sum(pmf * frac))
    sd = float(math.sqrt(max(0.0, np.sum(pmf * frac ** 2) - mean ** 2)))
    return mean, sd


def _haar_count_variance(act, q: float, sigma_b2: float, n_out: int) -> float:
    r"""Variance of the number of zeros of :math:`\phi'(h_i)`, :math:`h = u + b`, when
    :math:`\sum_i u_i^2` is fixed (Haar weights with :math:`N_{\text{out}} \ge N_{\text{in}}`).

    Gaussian conditioning of the count :math:`C = \sum_i 1_Z(h_i)` on :math:`S = \sum_i u_i^2`
    (:math:`u_i \sim N(0, s^2)`, :math:`s^2 = q - \sigma_b^2`, :math:`\operatorname{Var} u^2 = 2 s^4`):
    :math:`\operatorname{Var}(C | S) = N[\mu(1-\mu) - c^2/(2 s^4)]`, :math:`c = E[1_Z(h) u^2] - \mu s^2`,
    with :math:`E[u^2 | h] = (s^2/q)^2 h^2 + s^2 \sigma_b^2/q` and, for :math:`Z = \cup (a, b)`,
    :math:`E[1_Z h^2] = q \sum [\Phi(\beta) - \Phi(\alpha) - \beta\varphi(\beta) + \alpha\varphi(\alpha)]`
    (:math:`\alpha = a/\sqrt q`, :math:`\beta = b/\sqrt q`).  Zero for sign-symmetric cases (relu).
    """
    from scipy.stats import norm

    s2 = q - sigma_b2
    if s2 <= 0:
        return float("nan")
    mu, eh2 = 0.0, 0.0
    for lo, hi, slope in act.pieces:
        if float(slope) != 0.0:
            continue
        a, b = float(lo) / math.sqrt(q), float(hi) / math.sqrt(q)
        mu += norm.cdf(b) - norm.cdf(a)
        ta = a * norm.pdf(a) if math.isfinite(a) else 0.0
        tb = b * norm.pdf(b) if math.isfinite(b) else 0.0
        eh2 += q * (norm.cdf(b) - norm.cdf(a) - tb + ta)
    c = (s2 / q) ** 2 * eh2 + s2 * sigma_b2 / q * mu - mu * s2
    return float(max(0.0, n_out * (mu * (1 - mu) - c * c / (2 * s2 * s2))))


def _realised_zero_counts(samples):
    """Per network and layer: (zero mass of phi'^2, variance of the zero count, whether that variance is
    Haar-conditioned) at the realised variances, or None (free mode, or phi' not piecewise constant)."""
    qc = samples.diagnostics.get("q_conditional")
    acts = [layer.activation for layer in samples.network.layers]
    if samples.mode != "network" or qc is None or not any(getattr(a, "pieces", None) for a in acts):
        return None
    dims, layers = samples.widths, samples.network.layers
    out = []
    for i in range(samples.n_samples):
        per = []
        for l_idx, act in enumerate(acts):
            q = float(qc[i, l_idx])
            atoms = act.dphi_squared_law(q) if getattr(act, "pieces", None) else None
            mu = _zero_mass(atoms)
            n_out = dims[l_idx + 1]
            haar = layers[l_idx].weights == "orthogonal" and n_out >= dims[l_idx]
            var = (_haar_count_variance(act, q, float(layers[l_idx].sigma_b2), n_out) if haar and atoms
                   else n_out * mu * (1 - mu))
            per.append((mu, var, bool(haar and atoms)))
        out.append(per)
    return out


def expected_atom(samples, law) -> tuple[float, float, str]:
    r"""Finite-width atom at 0: mean and standard error of the pooled fraction, and how it was computed.

    Free mode: :math:`\mu_l` of the theory, binomial counts.  Network mode: :math:`\mu_l` at each
    network's realised layer variances (``q_conditional``; given them the pre-activations of a layer are
    independent for Gaussian weights), the mean over networks and the standard error from the conditional
    variances; Haar layers fix :math:`\|W x\|`, which lowers the variance of the counts
    (:func:`_haar_count_variance`).
    """
    n = samples.n_samples
    counts = _realised_zero_counts(samples)
    if counts is not None:
        means, variances = [], []
        for per in counts:
            m, sd = finite_width_atom([mu for mu, _v, _h in per], samples.widths,
                                      [v if haar else None for _mu, v, haar in per])
            means.append(m)
            variances.append(sd * sd)
        return float(np.mean(means)), float(math.sqrt(np.sum(variances)) / n), "at the realised layer variances"
    mus = [_zero_mass(d2.atoms) for d2 in law.d2_laws]
    m, sd = finite_width_atom(mus, samples.widths)
    return m, sd / math.sqrt(n), "at the theory's q^l"


def top_atom_location(net: Network, law, dims) -> float | None:
    r"""Location :math:`\prod_l \sigma_{w,l}^2 c_l` of the top atom of a square orthogonal network whose every
    :math:`D_l^2` takes one nonzero value :math:`c_l` (with or without zeros), else None."""
    if len(set(dims)) != 1 or any(layer.weights != "orthogonal" for layer in net.layers):
        return None
    loc = 1.0
    any_zero = False
    for layer, d2 in zip(net.layers, law.d2_laws, strict=True):
        atoms = d2.atoms or ()
        nonzero = [float(a) for a, p in atoms if float(a) != 0.0 and float(p) > 0]
        mass = sum(float(p) for _a, p in atoms)
        if len(nonzero) != 1 or abs(mass - 1.0) > 1e-12:
            return None
        any_zero |= _zero_mass(atoms) > 0
        loc *= float(layer.sigma_w2) * nonzero[0]
    return loc if any_zero else None


def _top_mass(count_means, count_variances, n: int) -> tuple[float, float]:
    r"""Mean and sd of :math:`(N - S)^+/N` with :math:`S = \sum_l z_l` a discretised normal of the given
    mean and variance (sum of independent zero counts)."""
    from scipy.stats import norm

    m, v = float(sum(count_means)), float(sum(count_variances))
    if v <= 0:
        return max(0.0, n - m) / n, 0.0
    k = np.arange(0, n + 1)
    pmf = norm.cdf(k + 0.5, m, math.sqrt(v)) - norm.cdf(k - 0.5, m, math.sqrt(v))
    frac = (n - k) / n
    mean = float(np.sum(pmf * frac))
    return mean, float(math.sqrt(max(0.0, np.sum(pmf * frac * frac) - mean * mean)))


def finite_width_top_atom(samples, law) -> tuple[float, float, float] | None:
    r"""Top atom at finite width for sampled networks: (location, mean mass, standard error of the pooled
    fraction), or None where the network has no such atom (see the module docstring).  Network mode uses the
    zero counts at each network's realised variances (Haar-conditioned variances); free mode the theory's."""
    dims = samples.widths
    loc = top_atom_location(samples.network, law, dims)
    if loc is None:
        return None
    n, width = samples.n_samples, dims[-1]
    counts = _realised_zero_counts(samples)
    if counts is None:
        mus = [_zero_mass(d2.atoms) for d2 in law.d2_laws]
        counts = [[(mu, dims[i + 1] * mu * (1 - mu), False) for i, mu in enumerate(mus)]]
    means, variances = [], []
    for per in counts:
        m, sd = _top_mass([mu * dims[i + 1] for i, (mu, _v, _h) in enumerate(per)], [v for _mu, v, _h in per], width)
        means.append(m)
        variances.append(sd * sd)
    if len(counts) == 1:
        return loc, means[0], math.sqrt(variances[0] / n)
    return loc, float(np.mean(means)), float(math.sqrt(np.sum(variances)) / n)
