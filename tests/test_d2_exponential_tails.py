"""The law of D^2 of sigmoid and softplus off the critical line (sigma_w^2 = 1.5, sigma_b^2 = 0.1: q = 0.51,
2.58), whose d = phi'(sqrt(q) h)^2 reaches 0 through exponential tails (sigmoid on both sides, softplus as
h -> -inf): complex zeta close to 0, whose poles d(h) = zeta lie in those tails, is served by the tails' contour
scale (docs/design.md §4.6), and M(zeta) there agrees with mpmath; the orthogonal products whose soft lower
edges lie in that range are certified, and the certificate compares m_2 with the series in log form where m_2
is below the float range.

Independent truth: reference_data/d2_exponential_tails.json (mpmath at 20 digits: q from the mean-field fixed
point, M(zeta) by tanh-sinh quadrature on the real h-line, split at the poles), the closed form of m_2 / m_1^2
of a free product (relative variances add), the series moments (the certificate), and sampled networks (the
pooled KS test of tests/test_density_samples.py).
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import numpy as np
import pytest
from test_density_samples import FALSE_ALARM, certified_ks, pooled_ks_threshold

from spectral import density as D
from spectral.laws.d2_quadrature import _SmoothD2
from spectral.product import Network, jacobian_law

REF = json.loads((Path(__file__).parent.parent / "reference_data" / "d2_exponential_tails.json").read_text())

#: Sampled networks for the KS test: width and count (the threshold of tests/test_density_samples.py with K = 500
#: networks, 0.092, plus the finite-width bias 2 / width; measured KS 0.0076 and 0.0051).
KS_WIDTH = 64
KS_NETWORKS = 500

#: M(zeta) against mpmath, relative: the quadrature's ~1e-14 with room (measured 7e-16 at worst; with the
#: constant-scale contour 3.7e-5 for softplus at |zeta| = 1e-3, where Im M was 6e-4 off, relative; 7e-9 for
#: sigmoid at q* = 62).
M_TOL = 1e-12


def _law(act, depth, weights="orthogonal"):
    return jacobian_law(Network(activation=act, weights=weights, depth=depth, sigma_w2=REF["sigma_w2"],
                                sigma_b2=REF["sigma_b2"]))


@pytest.mark.parametrize("case", ["sigmoid", "softplus", "sigmoid_critical"])
def test_m_near_zero_against_mpmath(case):
    """M(zeta) at complex zeta within the tails' reach (|zeta| from 1e-12 to 5e-3, arg from 0.01 to 3; on the
    critical line, q* = 62, down to 1e-60, where the poles lie at |h| = 8.8)."""
    act = case.split("_")[0]
    net = (Network.critical(act, sigma_w2=120.0, depth=1, weights="orthogonal") if case.endswith("critical")
           else Network(activation=act, weights="orthogonal", depth=1, sigma_w2=REF["sigma_w2"],
                        sigma_b2=REF["sigma_b2"]))
    lw = jacobian_law(net).d2_laws[0]
    assert float(lw.q) == pytest.approx(REF[case]["q"], rel=1e-10)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        sm = _SmoothD2(lw.activation, float(lw.q))
    rows = np.array(REF[case]["m"])
    z, want = rows[:, 0] + 1j * rows[:, 1], rows[:, 2] + 1j * rows[:, 3]
    assert np.all(np.abs(z) < max(sm.tail_zeta, 0.05))  # the tails' tier (the last critical point: uniform)
    got = sm.m(z)
    assert np.max(np.abs(got / want - 1)) < M_TOL


@pytest.mark.parametrize(("act", "depth"), [("softplus", 2), ("sigmoid", 16)])
def test_orthogonal_product_certified(act, depth):
    """The soft lower edge of the orthogonal product lies in the tails' reach: certified (softplus at depth 2
    had the mass off by 1.9e-4 with the constant-scale contour), mass to 1e-11."""
    res = _law(act, depth).density(2000)
    assert res.certified, res.reason
    assert abs(res.mass - 1) < 1e-11


def test_m2_below_the_float_range():
    """Sigmoid with Gaussian weights off the critical line at depth 256: m_2 ~ e^-1309 underflows, and the
    certificate compares it with the series in log form (the check could not be made before).  The series'
    log m_1, log m_2 agree with the closed form of a free product: m_1 = (sigma_w^2 E[D^2])^L and
    m_2 / m_1^2 = 1 + L (1 + v), v = E[D^4] / E[D^2]^2 - 1 the relative variance of D^2 and 1 that of the
    Gaussian layer (Marchenko-Pastur at ratio 1)."""
    depth = 256
    law = _law("sigmoid", depth, "gaussian")
    sm = _SmoothD2(law.d2_laws[0].activation, REF["sigmoid"]["q"])
    lm = law.log_moments(2)
    log_m1 = depth * math.log(REF["sigma_w2"] * sm.mean)
    assert lm[0] == pytest.approx(log_m1, rel=1e-12)
    assert lm[1] - 2 * lm[0] == pytest.approx(math.log(1 + depth * (1 + sm.spread)), rel=1e-10)
    assert lm[1] < -745  # below the float range
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", D.UncertifiedDensityWarning)
        res = law.density(2000)
    assert res.certified, res.reason
    assert res.diagnostics["m2_rel_err"] < 1e-8


@pytest.mark.slow
@pytest.mark.parametrize("case", ["sigmoid-orthogonal-critical-2", "softplus-orthogonal-off-4"])
def test_cdf_matches_sampled_networks(case):
    """The certified CDF against the eigenvalues of sampled networks (free mode), in log x: sigmoid on its
    critical line (q* = 62) at depth 2, whose spectrum spans 100 e-folds (mass 0.57 before, every quantile below
    the median wrong), and softplus off it at depth 4 (mass off 7e-3 before)."""
    act, weights, point, depth = case.split("-")
    net = (Network.critical(act, sigma_w2=120.0, depth=int(depth), weights=weights) if point == "critical"
           else Network(activation=act, weights=weights, depth=int(depth), sigma_w2=REF["sigma_w2"],
                        sigma_b2=REF["sigma_b2"]))
    stat = certified_ks(net, KS_WIDTH, KS_NETWORKS, lambda law, log_x: law.cdf_log(log_x))
    bound = pooled_ks_threshold(KS_NETWORKS, FALSE_ALARM) + 2.0 / KS_WIDTH
    assert stat <= bound, f"{case}: KS {stat:.4f} > {bound:.4f}"
