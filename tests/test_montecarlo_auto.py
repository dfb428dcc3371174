"""stable=None: the a-priori log-range estimate, the choice it makes, and the recomputation of networks the
direct product lost."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate
from scipy.special import digamma

from spectral.activations import activation as get_activation
from spectral.montecarlo import DIRECT_SPREAD_LIMIT, sample_jacobians
from spectral.montecarlo import sampler as sampler_module
from spectral.montecarlo.layers import _layer_specs, _resolve_widths
from spectral.montecarlo.log_range import (
    AUTO_DIRECT_MARGIN,
    activation_log_spread,
    estimated_log_range,
    gaussian_log_spread,
    zero_atom_log_spread,
)
from spectral.product import Network

#: The quadrature of E[d^2] E[d^-2] for tanh against adaptive quad (QUADRATURE_NODES' stated accuracy).
QUAD_REL_TOL = 1e-7
#: Direct and stable products of the same well-conditioned networks (log-range < 3 nats, N <= 64): both
#: are accurate to ~N eps relative on every singular value.
AGREE_LOG_TOL = 1e-11
#: The direct product "lost accuracy": its smallest singular values differ from the stable ones by more
#: than this in log (the product spans > 40 nats, so the direct SVD's floor N eps s_max is far above them).
LOST_LOG = 1e-3


def _net(act, weights, depth):
    if act == "tanh":
        return Network.critical("tanh", sigma_w2=1.05, depth=depth, weights=weights)
    sw = 2.0 if act == "relu" else 1.0
    return Network(activation=act, weights=weights, sigma_w2=sw, sigma_b2=0.0, depth=depth)


def _specs(net, n):
    return _layer_specs(net, _resolve_widths(net, n))


def _realised(s):
    ls = s.log_singular_values
    fin = np.where(np.isfinite(ls), ls, np.inf).min(axis=1)
    return ls[:, 0] - fin


def test_activation_spread_against_quad():
    act = get_activation("tanh")
    for q in (0.05, 0.5, 2.0):
        def gauss(f, q=q):
            return integrate.quad(lambda z: f(math.sqrt(q) * z) * math.exp(-z * z / 2) / math.sqrt(2 * math.pi),
                                  -40.0, 40.0, epsabs=0, epsrel=1e-12, limit=200)[0]  # |z| > 40: < e^-700

        m = gauss(lambda x: math.cosh(x) ** -4)
        h = gauss(lambda x: math.cosh(x) ** 4)
        np.testing.assert_allclose(activation_log_spread(act, q), 0.5 * math.log(m * h), rtol=QUAD_REL_TOL)
    # constant |phi'|: no spread; relu: the nonzero part is constant, the zeros give the finite-width edge
    assert activation_log_spread(get_activation("linear"), 1.0) == 0.0
    assert activation_log_spread(get_activation("relu"), 1.0) == 0.0
    assert zero_atom_log_spread(get_activation("tanh"), 1.0, 64) == 0.0
    np.testing.assert_allclose(zero_atom_log_spread(get_activation("relu"), 1.0, 64), 0.5 * math.log(0.5 * 33),
                               rtol=1e-14)


def test_gaussian_spread_is_newman_chi_square_exponents():
    """Newman: lambda_i = E log chi^2_{N-i+1} / 2 + const; compare the spread with sampled chi-squares."""
    rng = np.random.default_rng(0)
    n = 16
    lo = np.log(rng.chisquare(1, 400_000)).mean() / 2
    hi = np.log(rng.chisquare(n, 400_000)).mean() / 2
    # standard error of the sampled difference ~ 2.2/sqrt(4e5)/2 < 2e-3: 5 standard errors
    assert abs(gaussian_log_spread(n, n) - (hi - lo)) < 1e-2
    assert gaussian_log_spread(n, 1) == 0.0
    np.testing.assert_allclose(gaussian_log_spread(n, n), 0.5 * (digamma(8) - digamma(0.5)), rtol=1e-14)


@pytest.mark.parametrize(("act", "weights", "n", "depth"), [
    ("tanh", "gaussian", 32, 1), ("tanh", "gaussian", 64, 2), ("tanh", "gaussian", 32, 12),
    ("linear", "gaussian", 64, 6), ("relu", "gaussian", 64, 4), ("tanh", "orthogonal", 64, 16),
    ("relu", "orthogonal", 64, 8), ("relu", "orthogonal", 32, 16),
])
def test_estimate_covers_the_realised_range_within_the_margin(act, weights, n, depth):
    """The worst of 8 networks exceeds the estimate by less than AUTO_DIRECT_MARGIN (stable product: exact
    ranges at every depth)."""
    net = _net(act, weights, depth)
    est = estimated_log_range(_specs(net, n))
    s = sample_jacobians(net, width=n, n_samples=8, mode="network", backend="numpy", seed=1, stable=True, threads=1)
    assert np.max(_realised(s)) - est < AUTO_DIRECT_MARGIN


def test_auto_picks_direct_where_direct_is_accurate():
    net = _net("tanh", "orthogonal", 24)
    kw = dict(width=64, n_samples=4, mode="network", backend="numpy", seed=3, threads=1)
    auto = sample_jacobians(net, stable=None, **kw)
    forced = sample_jacobians(net, stable=True, rotate_draws=False, **kw)  # the same networks
    assert not auto.stable and "auto" in auto.method and "recomputed" not in auto.method
    assert np.max(_realised(forced)) < 3.0
    np.testing.assert_allclose(auto.log_singular_values, forced.log_singular_values, rtol=0, atol=AGREE_LOG_TOL)


def test_auto_picks_stable_where_direct_loses_accuracy():
    net = _net("linear", "gaussian", 20)
    kw = dict(width=32, n_samples=3, mode="free", backend="numpy", seed=4, threads=1)
    auto = sample_jacobians(net, stable=None, **kw)
    forced = sample_jacobians(net, stable=True, **kw)
    plain = sample_jacobians(net, stable=True, rotate_draws=False, **kw)  # the direct run's networks
    direct = sample_jacobians(net, stable=False, **kw)
    assert auto.stable and "auto" in auto.method
    np.testing.assert_array_equal(auto.log_singular_values, forced.log_singular_values)
    assert np.max(_realised(forced)) > 40.0
    assert np.max(np.abs(direct.log_singular_values[:, -1] - plain.log_singular_values[:, -1])) > LOST_LOG


def test_direct_choice_recomputes_networks_it_lost(monkeypatch):
    """Force the estimate's verdict to direct on a product the direct SVD cannot hold: every network is
    recomputed by the stable product from the same draws, and the result equals stable=True."""
    monkeypatch.setattr(sampler_module, "AUTO_DIRECT_LOG_RANGE", math.inf)
    net = _net("linear", "gaussian", 20)
    kw = dict(width=32, n_samples=3, mode="network", backend="numpy", seed=6, threads=2)
    auto = sample_jacobians(net, stable=None, **kw)
    forced = sample_jacobians(net, stable=True, rotate_draws=False, **kw)  # recomputation: plain draws
    assert auto.stable and "recomputed by the stable product" in auto.method and "rotated" not in auto.method
    assert np.all(_realised(forced) > -math.log(DIRECT_SPREAD_LIMIT))
    np.testing.assert_array_equal(auto.log_singular_values, forced.log_singular_values)
    np.testing.assert_array_equal(auto.diagnostics["q_conditional"], forced.diagnostics["q_conditional"])
