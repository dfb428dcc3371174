r"""The density's CDF against an independent sampled reference, for spectra spanning tens of decades.

Reference: the eigenvalues of :math:`J J^T` for ``N_NETWORKS`` independent networks of width ``WIDTH`` in
free mode (:mod:`spectral.montecarlo`: :math:`D_l` drawn independently of the weights, the model the free
probability law describes), pooled.

Statistic: :math:`D = \sup_x |\bar F(x) - F(x)|`, :math:`\bar F` the pooled empirical CDF and :math:`F` the
certified CDF of the law.

Threshold, with an honest effective sample size.  Eigenvalues of one matrix are strongly correlated, so the
sample size is the number :math:`K` of independent networks, not :math:`K N`.  Let :math:`G` be the
empirical CDF of :math:`K` draws, one eigenvalue of each network at an independent uniformly random index:
these are i.i.d. from :math:`E F_N`, so by the Dvoretzky--Kiefer--Wolfowitz inequality (Massart's constant)
:math:`P(\sup|G - E F_N| > s) \le 2 e^{-2 K s^2}`.  The pooled CDF is the conditional expectation of
:math:`G` given the networks, hence (Jensen) :math:`\bar D = \sup|\bar F - E F_N| \le E[\sup|G - E F_N|
\mid \text{networks}]`: :math:`\bar D` is below :math:`D_G` in the increasing convex order, and for every
:math:`t < \varepsilon` Markov's inequality on :math:`(\bar D - t)_+` gives

.. math:: P(\bar D > \varepsilon) \le \frac{E(D_G - t)_+}{\varepsilon - t}
          \le \frac{1}{\varepsilon - t}\int_t^\infty 2 e^{-2 K s^2}\, ds
          = \frac{\sqrt{\pi / (2K)}\, \operatorname{erfc}(t\sqrt{2K})}{\varepsilon - t}.

:func:`pooled_ks_threshold` returns the smallest :math:`\varepsilon` (over :math:`t`) for which this is
``FALSE_ALARM``.  The pooled statistic is then compared with that threshold plus the finite-width bias
:math:`\sup|E F_N - F|` allowed by ``FINITE_WIDTH_BIAS``: 0.085 in all with K = 1500, N = 64.  (Pooling makes
:math:`\bar D` far smaller than the threshold: 0.0099, 0.0056 and 0.0086 for the three cases, while the
densities served before the grid followed these spectra in log x were off by KS 0.10 to 0.31.)
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from scipy.optimize import minimize_scalar
from scipy.special import erfc

from spectral.density import UncertifiedDensityWarning
from spectral.montecarlo import sample_jacobians
from spectral.product import Network, jacobian_law

#: Probability that a correct CDF fails one case (the samples use a fixed seed, so the test is reproducible).
FALSE_ALARM = 1e-3
#: Width of the sampled networks: the finite-width bias of the mean spectral CDF is O(1/N).
WIDTH = 64
#: Independent networks per case: the effective sample size of the threshold.
N_NETWORKS = 1500
#: Allowed finite-width bias sup |E F_N - F|: two eigenvalues' share of one network (the bias is O(1/N); at
#: N = 64 the whole pooled statistic measures 0.006 to 0.010 for these cases).
FINITE_WIDTH_BIAS = 2.0 / WIDTH

CASES = {
    # the cases: every printed quantile was wrong (mass 0.53, median 1.68 for ~3e-7)
    "leaky_relu(0.2)-gaussian-8": dict(activation="leaky_relu(0.2)", weights="gaussian", sigma_w2=1.5,
                                       sigma_b2=0.0, depth=8),
    # mass 1.002 but the lower tail 1.3% light
    "selu-orthogonal-10": dict(activation="selu", weights="orthogonal", sigma_w2=1.0, sigma_b2=0.0, depth=10),
    # mass 0.76, KS 0.30
    "sigmoid-orthogonal-8": dict(activation="sigmoid", weights="orthogonal", sigma_w2=16.0, sigma_b2=0.5,
                                 depth=8),
}


def pooled_ks_threshold(k: int, false_alarm: float) -> float:
    """Smallest eps with min_t sqrt(pi/(2k)) erfc(t sqrt(2k)) / (eps - t) <= false_alarm (module docstring)."""
    scale = math.sqrt(2.0 * k)

    def eps(t):
        return t + math.sqrt(math.pi) / scale * erfc(t * scale) / false_alarm

    return float(minimize_scalar(eps, bounds=(0.0, 1.0), method="bounded").fun)


def test_threshold_is_above_dkw_and_close_to_it():
    """The pooled threshold is at least the DKW bound for K i.i.d. samples (it covers a larger class) and
    within 10% of it."""
    for k in (100, 1200, 10_000):
        dkw = math.sqrt(math.log(2 / FALSE_ALARM) / (2 * k))
        assert dkw <= pooled_ks_threshold(k, FALSE_ALARM) <= 1.1 * dkw


def _ks(sorted_x, cdf_values):
    n = sorted_x.size
    return float(max(np.max(np.arange(1, n + 1) / n - cdf_values), np.max(cdf_values - np.arange(n) / n)))


def certified_ks(net, width, n_networks, cdf_of_log):
    """Pooled KS statistic of the eigenvalues of ``n_networks`` sampled networks (free mode) against the law's
    certified CDF, ``cdf_of_log(law, sorted log x)``; an uncertified density fails."""
    law = jacobian_law(net)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UncertifiedDensityWarning)
        warnings.simplefilter("ignore", RuntimeWarning)  # selu, Gaussian factors: D^2 by quadrature (stated)
        res = law.density(2000)
        assert res.certified, res.reason
        samples = sample_jacobians(net, width=width, n_samples=n_networks, mode="free", seed=20251202,
                                   threads=1)
        log_x = np.sort(2.0 * samples.log_singular_values.ravel())
        cdf = np.asarray(cdf_of_log(law, log_x))
    assert np.all(np.isfinite(log_x))  # no structural zero: square networks
    return _ks(log_x, cdf)


@pytest.mark.slow
@pytest.mark.parametrize("case", list(CASES))
def test_cdf_matches_sampled_networks(case):
    stat = certified_ks(Network(**CASES[case]), WIDTH, N_NETWORKS, lambda law, log_x: law.cdf(np.exp(log_x)))
    bound = pooled_ks_threshold(N_NETWORKS, FALSE_ALARM) + FINITE_WIDTH_BIAS
    assert stat <= bound, f"{case}: KS {stat:.4f} > {bound:.4f}"
