"""Large-depth limits and ready-made residual specs: the free multiplicative Brownian motion, DeepNorm, the
Yang-Schoenholz full residual network, pre-/post-LN; each against a derived reference and sampled networks."""

import math

import mpmath as mp
import numpy as np
import pytest
from scipy import integrate

import spectral as sp
from spectral.architecture import architecture_law
from spectral.architecture.brownian import FreeMultiplicativeBrownian, brownian_time
from spectral.architecture.presets import (
    deepnorm_resnet,
    deepnorm_spread,
    full_resnet,
    post_ln_resnet,
    pre_ln_resnet,
    scaled_resnet,
)
from spectral.density import density, support

#: float series vs closed forms
REL_FLOAT = 1e-10
#: sampled moments: |z| below this passes (spectral.validate's default)
Z_PASS = 4.0


def test_brownian_moments_edges_density():
    """m_1 = e^(s/2), m_2 = (1+s) e^s; the Lagrange sum in mpmath; edges from the formula equal the solver's;
    the density has mass 1 and mean e^(s/2)."""
    s = 1.5
    law = FreeMultiplicativeBrownian(s)
    m = law.moments(4)
    assert m[0] == pytest.approx(math.exp(s / 2), rel=REL_FLOAT)
    assert m[1] == pytest.approx((1 + s) * math.exp(s), rel=REL_FLOAT)
    mp.mp.dps = 40
    ref = [mp.exp(k * mp.mpf(s) / 2) / k * mp.fsum(mp.binomial(k, j) * (k * mp.mpf(s)) ** (k - 1 - j)
                                                   / mp.factorial(k - 1 - j) for j in range(k)) for k in range(1, 5)]
    np.testing.assert_allclose([float(x) for x in law.moments(4, precision=30)], [float(x) for x in ref],
                               rtol=1e-25)
    lo, hi = law.support()
    r = math.sqrt(s * (s + 4))
    assert (lo, hi) == pytest.approx(((2 + s - r) / 2 * math.exp(-r / 2), (2 + s + r) / 2 * math.exp(r / 2)))
    assert support(law) == pytest.approx((lo, hi), rel=1e-10)
    res = density(law)
    assert res.certified
    x, rho = np.asarray(res.x), np.asarray(res.density)
    assert integrate.trapezoid(rho, x) == pytest.approx(1.0, abs=2e-3)
    assert integrate.trapezoid(x * rho, x) == pytest.approx(math.exp(s / 2), rel=2e-3)
    with pytest.raises(ValueError, match="s .* must be a finite number > 0"):
        FreeMultiplicativeBrownian(0)


@pytest.mark.parametrize(("act", "s2"), [("tanh", 1.0), ("relu", 2.0)])
def test_scaled_resnet_converges_to_brownian(act, s2):
    """beta = 1/sqrt(L): the moments approach the Brownian motion's at s = 2 sum beta^2 a_1 with error O(1/L)
    (measured ratio of errors L = 64 -> 256: 4.0); the activation enters only through s."""
    errs = []
    for depth in (64, 256):
        law = architecture_law(scaled_resnet(depth, act, sigma_w2=s2))
        ref = FreeMultiplicativeBrownian(brownian_time(law)).moments(3)
        errs.append(np.max(np.abs(law.moments(3) / ref - 1)))
    assert errs[1] < errs[0] / 3.5  # O(1/L): a factor 4 per factor 4 in depth
    assert errs[1] < 0.01


def test_deepnorm_spread():
    """v = m_2/m_1^2 - 1 equals M (2 alpha^2 a_1 + a_2 - a_1^2)/(alpha^2 + a_1)^2 (relative variances add in a
    free product) and the published 1/(8 sqrt(2M)) to O(1/M)."""
    for depth in (16, 256):
        m = architecture_law(deepnorm_resnet(depth)).moments(2)
        v = m[1] / m[0] ** 2 - 1
        al2, a1, a2 = math.sqrt(2 * depth), 1 / (16 * depth), 1 / (64 * depth**2)
        assert v == pytest.approx(depth * (2 * al2 * a1 + a2 - a1 * a1) / (al2 + a1) ** 2, rel=REL_FLOAT)
        assert v == pytest.approx(deepnorm_spread(depth), rel=1.0 / depth)


def _ys_log_m1(depth, q0=1.0):
    """sum_l log(1 + E[sech^4(sqrt(q_l) z)]), q_(l+1) = q_l + E[tanh^2(sqrt(q_l) z)], q_l the branch's
    pre-activation variance (sigma_w2 = sigma_v2 = 1): scipy quadrature, independent of the package."""

    def gauss(f, q):
        return integrate.quad(lambda z: f(math.sqrt(q) * z) * math.exp(-z * z / 2), -40, 40, limit=400,
                              points=[0.0])[0] / math.sqrt(2 * math.pi)

    q, tot = q0, 0.0
    for _ in range(depth):
        tot += math.log1p(gauss(lambda x: (2 * math.exp(-abs(x)) / (1 + math.exp(-2 * abs(x)))) ** 4, q))
        q += gauss(lambda x: math.tanh(x) ** 2, q)
    return tot


def test_full_resnet_log_m1():
    """Yang-Schoenholz: log m_1 equals the direct sum at L = 50, and log m_1 - (8/3) sqrt(L/(2 pi)) -
    (8/(9 pi)) log L tends to a constant (the log term: q_l = l - (4/sqrt(2 pi)) sqrt(l) and -sum a_l^2/2,
    derived in spectral.architecture.presets' reference notes)."""
    law = architecture_law(full_resnet(50))
    assert law.log_moments(1)[0] == pytest.approx(_ys_log_m1(50), rel=1e-9)

    def remainder(depth):
        lm = architecture_law(full_resnet(depth)).log_moments(1)[0]
        return lm - 8 / 3 * math.sqrt(depth / (2 * math.pi)) - 8 / (9 * math.pi) * math.log(depth)

    # measured remainders: -1.396 (L = 100), -1.331 (L = 1000), -1.305 (L = 4000): O(L^(-1/2)) steps
    assert abs(remainder(400) - remainder(100)) < 0.06


@pytest.mark.parametrize("make", [lambda: scaled_resnet(8, "tanh"), lambda: pre_ln_resnet(8, "relu", "orthogonal"),
                                  lambda: post_ln_resnet(8, "tanh", beta=0.5), lambda: deepnorm_resnet(8),
                                  lambda: full_resnet(8, sigma_v2=0.5)],
                         ids=["scaled", "pre_ln", "post_ln", "deepnorm", "full_resnet"])
def test_presets_sampled(make, request):
    """Each ready-made spec: sampled networks (N = 128, 16 networks) agree with the theory, |z| < 4.  The scaled
    and full resnets (8 distinct blocks each): the moments only here, as before their densities were served (the
    KS check of 8 distinct blocks is tests/test_architecture_block_density.py::
    test_eight_distinct_blocks_density_and_ks)."""
    moments_only = request.node.callspec.id in ("scaled", "full_resnet")
    r = sp.validate(make(), width=128, n_samples=16, distribution=not moments_only)
    assert r.passed, str(r)
