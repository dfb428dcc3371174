"""Property tests over the typical parameter ranges: no NaN, fixed points are fixed, moments are valid."""

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import spectral as sp
from spectral import meanfield

SMOOTH = ["tanh", "erf", "sigmoid", "gelu", "swish", "softplus", "elu", "selu", "sin"]
ALL = SMOOTH + ["relu", "hard_tanh", "linear", "leaky_relu(0.2)"]
SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(act=st.sampled_from(ALL), sw=st.floats(0.2, 4.0), sb=st.floats(0.0, 2.0))
def test_mean_field_is_finite_or_says_why(act, sw, sb):
    try:
        m = sp.mean_field(act, sw, sb)
    except meanfield.NoFixedPointError as exc:
        assert "sigma_w2" in str(exc)
        return
    assert math.isfinite(m.q_star) and m.q_star >= 0
    assert math.isfinite(m.chi1) and m.chi1 > 0
    assert m.xi_q >= 0 and m.xi_c >= 0
    assert meanfield.q_map(act, m.q_star, sw, sb) == pytest.approx(m.q_star, rel=1e-12, abs=1e-300)
    assert m.phase == ("critical" if abs(m.chi1 - 1) <= meanfield.CRITICAL_TOL else
                       "ordered" if m.chi1 < 1 else "chaotic")


@SETTINGS
@given(act=st.sampled_from(["tanh", "erf", "hard_tanh", "sigmoid"]), sw=st.floats(1.02, 4.0))
def test_critical_point_is_critical(act, sw):
    try:
        c = sp.critical_point(act, sigma_w2=sw)
    except ValueError as exc:
        assert "sigma_w2" in str(exc) or "critical" in str(exc)
        return
    assert c.chi1 == pytest.approx(1.0, abs=1e-12)
    assert c.sigma_b2 >= 0


@SETTINGS
@given(act=st.sampled_from(ALL), weights=st.sampled_from(["gaussian", "orthogonal"]),
       sw=st.floats(0.5, 2.5), sb=st.floats(0.0, 0.5), depth=st.integers(1, 200))
def test_moments_are_a_valid_moment_sequence(act, weights, sw, sb, depth):
    net = sp.Network(activation=act, weights=weights, sigma_w2=sw, sigma_b2=sb, depth=depth)
    try:
        law = sp.jacobian_law(net)
    except ValueError as exc:  # no fixed point: clear message
        assert "sigma" in str(exc) or "q0" in str(exc)
        return
    logm = np.asarray(law.log_moments(6))
    assert np.all(np.isfinite(logm))
    # m_1 = (sigma_w2 mu_1)^L  (Pennington et al. 2017)
    mu1 = law.d2_laws[0].moments(1)[0]
    assert logm[0] == pytest.approx(depth * math.log(sw * mu1), rel=1e-9, abs=1e-9)
    # log-convexity of moments of a positive measure (Cauchy-Schwarz): m_k^2 <= m_{k-1} m_{k+1}
    assert np.all(2 * logm[1:-1] <= logm[:-2] + logm[2:] + 1e-9 * np.abs(logm[1:-1]) + 1e-12)
