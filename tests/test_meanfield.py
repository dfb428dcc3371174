"""Mean field: fixed points and critical line against mpmath, depth scales against iterated maps."""

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import brentq

from spectral import meanfield as mf
from spectral.activations import ACTIVATIONS, activation
from spectral.gaussian import dphi_squared_mean

REF = json.loads((Path(__file__).parents[1] / "reference_data" / "meanfield.json").read_text())


@pytest.mark.parametrize("rec", REF["fixed_points"], ids=lambda r: f"{r['activation']}-{r['sigma_w2']}-{r['sigma_b2']}")
def test_fixed_point_and_chi1_match_mpmath(rec):
    m = mf.mean_field(rec["activation"], float(rec["sigma_w2"]), float(rec["sigma_b2"]))
    # Newton to machine precision on a quadrature accurate to ~1e-14: relative error ~ 1e-14 / |1 - V'(q*)|
    tol = 1e-13 / max(1 - m.q_slope, 1e-3)
    assert m.q_star == pytest.approx(float(rec["q_star"]), rel=tol)
    assert m.chi1 == pytest.approx(float(rec["chi1"]), rel=1e-12 + tol)


@pytest.mark.parametrize("rec", REF["critical"], ids=lambda r: f"{r['activation']}-{r['sigma_w2']}")
def test_critical_point_matches_mpmath(rec):
    c = mf.critical_point(rec["activation"], sigma_w2=float(rec["sigma_w2"]))
    assert c.chi1 == pytest.approx(1.0, abs=1e-13)
    assert c.q_star == pytest.approx(float(rec["q_star"]), rel=1e-11)
    assert c.sigma_b2 == pytest.approx(float(rec["sigma_b2"]), rel=1e-9, abs=1e-15)
    assert c.phase == "critical"
    # and back: given that sigma_b2, the weight variance is recovered
    back = mf.critical_point(rec["activation"], sigma_b2=c.sigma_b2)
    assert back.sigma_w2 == pytest.approx(float(rec["sigma_w2"]), rel=1e-9)


def test_published_tanh_critical_point():
    """Pennington, Schoenholz & Ganguli (2017): sigma_w^2 = 1.05 on the critical line has sigma_b^2 = 2.01e-5."""
    c = mf.critical_point("tanh", sigma_w2=1.05)
    assert round(c.sigma_b2, 7) == 2.01e-5


def test_converges_where_plain_iteration_is_slow():
    m = mf.mean_field("tanh", 1.0, 1e-6)
    assert mf.q_map("tanh", m.q_star, 1.0, 1e-6) == pytest.approx(m.q_star, rel=1e-14)
    assert m.phase == "ordered"


def test_closed_form_relu_fixed_point():
    m = mf.mean_field("relu", 1.5, 0.1)
    assert m.q_star == pytest.approx(0.1 / (1 - 0.75), rel=1e-14)
    assert m.chi1 == 0.75 and m.chi2 == math.inf
    assert m.xi_q == pytest.approx(-1 / math.log(0.75), rel=1e-13)


@pytest.mark.parametrize("act,sw,sb", [("relu", 2.5, 0.1), ("relu", 2.0, 0.3), ("linear", 1.0, 0.1)])
def test_no_fixed_point_raises(act, sw, sb):
    with pytest.raises(mf.NoFixedPointError, match="sigma_w2"):
        mf.mean_field(act, sw, sb)


def test_degenerate_relu_at_criticality_and_zero_fixed_point():
    m = mf.mean_field("relu", 2.0, 0.0)  # every q is fixed: q* = q0
    assert m.q_star == 1.0 and m.chi1 == 1.0 and m.phase == "critical"
    z = mf.mean_field("tanh", 0.5, 0.0)  # q -> 0 in the ordered phase
    assert z.q_star == 0.0 and z.chi1 == 0.5 and z.xi_q == pytest.approx(1 / math.log(2))


def test_relu_equals_leaky_relu_zero():
    for sw, sb in ((1.5, 0.1), (2.0, 0.0), (1.0, 0.0)):
        a = mf.mean_field("relu", sw, sb).to_dict()
        b = mf.mean_field("leaky_relu(0)", sw, sb).to_dict()
        a.pop("activation"), b.pop("activation")
        assert a == b


def test_custom_activation_equals_registry():
    x = __import__("sympy").Symbol("t")
    custom = activation(__import__("sympy").tanh(x), name="my_tanh")
    a = mf.mean_field(custom, 1.3, 0.02)
    b = mf.mean_field("tanh", 1.3, 0.02)
    for key in ("q_star", "chi1", "chi2", "xi_q", "xi_c"):
        assert getattr(a, key) == pytest.approx(getattr(b, key), rel=1e-13)


def test_xi_q_is_the_convergence_rate_of_the_q_map():
    m = mf.mean_field("tanh", 1.5, 0.05)
    q, delta = m.q_star * 1.01, []
    for _ in range(8):
        q = mf.q_map("tanh", q, 1.5, 0.05)
        delta.append(q - m.q_star)
    rate = delta[-1] / delta[-2]
    assert rate == pytest.approx(math.exp(-1 / m.xi_q), rel=1e-3)  # linearisation error ~ delta


def test_chaotic_phase_c_star_and_xi_c():
    m = mf.mean_field("tanh", 4.0, 0.1)
    assert m.phase == "chaotic" and 0 < m.c_star < 1
    c = m.c_star
    assert mf.c_map("tanh", c, m.q_star, 4.0, 0.1) == pytest.approx(c, abs=1e-13)
    # xi_c from the slope of the c-map at c* (finite difference): chi_c = C'(c*)
    h = 1e-5
    slope = (mf.c_map("tanh", c + h, m.q_star, 4.0, 0.1) - mf.c_map("tanh", c - h, m.q_star, 4.0, 0.1)) / (2 * h)
    assert m.xi_c == pytest.approx(-1 / math.log(slope), rel=1e-6)


def test_c_map_at_one_and_kinked_two_dimensional_quadrature():
    m = mf.mean_field("relu", 1.5, 0.1)
    assert mf.c_map("relu", 1.0, m.q_star, 1.5, 0.1) == pytest.approx(1.0, rel=1e-14)
    # relu arc-cosine kernel (Cho & Saul 2009): E[relu(u1) relu(u2)] = q/(2 pi) (sin t + (pi - t) cos t)
    c = 0.3
    t = math.acos(c)
    k = m.q_star / (2 * math.pi) * (math.sin(t) + (math.pi - t) * math.cos(t))
    assert mf.c_map("relu", c, m.q_star, 1.5, 0.1) == pytest.approx((1.5 * k + 0.1) / m.q_star, rel=1e-12)


@pytest.mark.parametrize("spec,b2", [("erf", 1.0), ("erf_scaled", math.pi / 4), ("erf(2)", 4.0)])
def test_chi2_closed_form_for_erf(spec, b2):
    """phi = erf(b x): phi'' = -(4 b^3/sqrt(pi)) x exp(-b^2 x^2), so chi_2 = sigma_w^2 (16 b^6/pi) q
    (1 + 4b^2 q)^(-3/2)."""
    m = mf.mean_field(spec, 1.5, 0.2)
    q = m.q_star
    assert m.chi2 == pytest.approx(1.5 * 16 * b2**3 / math.pi * q * (1 + 4 * b2 * q) ** -1.5, rel=1e-12)


def test_every_registry_activation_has_a_mean_field():
    for name in ACTIVATIONS:
        m = mf.mean_field(name, 0.9, 0.05)
        assert math.isfinite(m.q_star) and m.q_star > 0
        assert m.phase in ("ordered", "critical", "chaotic")
        assert mf.q_map(name, m.q_star, 0.9, 0.05) == pytest.approx(m.q_star, rel=1e-13)


def test_phase_diagram_matches_scalar_mean_field():
    sw = np.linspace(0.8, 3.0, 7)
    sb = np.array([0.0, 1e-5, 0.05, 0.3])
    pd = mf.phase_diagram("tanh", sw, sb)
    assert pd.chi1.shape == (4, 7)
    for i in (0, 2, 3):
        for j in (0, 3, 6):
            m = mf.mean_field("tanh", sw[j], sb[i])
            assert pd.q_star[i, j] == pytest.approx(m.q_star, rel=1e-12, abs=1e-300)
            assert pd.chi1[i, j] == pytest.approx(m.chi1, rel=1e-12)
    crit = mf.critical_point("tanh", sigma_w2=sw[3]).sigma_b2
    assert pd.critical_sigma_b2[3] == pytest.approx(crit, rel=1e-12)
    assert np.isnan(pd.critical_sigma_b2[0])  # sigma_w2 = 0.8 < 1: no critical point with sigma_b2 >= 0
    relu = mf.phase_diagram("relu", [1.0, 2.5], [0.0, 0.1])
    assert np.isnan(relu.q_star[1, 1]) and relu.chi1[0, 0] == 0.5


@pytest.mark.parametrize("kwargs,match", [
    ({"sigma_w2": -1.0, "sigma_b2": 0.0}, "sigma_w2"),
    ({"sigma_w2": 1.0, "sigma_b2": -0.1}, "sigma_b2"),
    ({"sigma_w2": math.nan, "sigma_b2": 0.0}, "sigma_w2"),
])
def test_bad_variances(kwargs, match):
    with pytest.raises(ValueError, match=match):
        mf.mean_field("tanh", **kwargs)


def test_critical_point_arguments():
    with pytest.raises(ValueError, match="exactly one"):
        mf.critical_point("tanh")
    with pytest.raises(ValueError, match="sigma_w2 = 2"):
        mf.critical_point("relu", sigma_w2=1.5)
    with pytest.raises(ValueError, match=r"sigma_w2 = 0.8: sigma_w2 must lie in \[1, "):
        mf.critical_point("tanh", sigma_w2=0.8)
    with pytest.raises(ValueError, match="q0 must be"):
        mf.critical_point("tanh", sigma_w2=1.05, q0=0.0)


#: sigma_w2 values inside each activation's critical range (gelu: [1.95581, 2), swish: [1.96699, 2),
#: selu: [0.47677, 1.81162], elu: [1, 2), tanh and erf_scaled: sigma_w2 >= 1, erf: sigma_w2 >= pi/4)
CRITICAL_SW = {"gelu": (1.9559, 1.96, 1.98, 1.99), "swish": (1.968, 1.98, 1.99), "tanh": (1.05, 2.0, 4.0),
               "erf": (0.8, 1.5, 3.0), "erf_scaled": (1.05, 1.5, 3.0), "selu": (0.5, 1.0, 1.5), "elu": (1.05, 1.5, 1.9)}


@pytest.mark.parametrize("act", list(CRITICAL_SW))
def test_phase_diagram_is_critical_at_the_critical_point(act):
    """critical_point and phase_diagram pick the same fixed point (the attracting one reached from q0 = 1).

    Tolerance: q* is solved by Newton to 4e-16 relative on quadrature accurate to ~1e-14, so q* and chi1 are
    accurate to ~1e-14 / (1 - V'(q*)) (as in test_fixed_point_and_chi1_match_mpmath); 1e-13 / (1 - V') is
    that bound with a factor 10 for the chain sigma_w2 -> q_c -> sigma_b2 -> q*.
    """
    sws = np.array(CRITICAL_SW[act])
    crit = [mf.critical_point(act, sigma_w2=s) for s in sws]
    pd = mf.phase_diagram(act, sws, [c.sigma_b2 for c in crit])
    for j, c in enumerate(crit):
        tol = 1e-13 / max(1 - c.q_slope, 1e-3)
        assert c.q_slope < 1  # an attracting fixed point
        assert pd.chi1[j, j] == pytest.approx(1.0, abs=tol), (act, sws[j])
        assert pd.q_star[j, j] == pytest.approx(c.q_star, rel=tol)
        assert pd.critical_sigma_b2[j] == pytest.approx(c.sigma_b2, rel=1e-12)
        plain = mf.mean_field(act, sws[j], c.sigma_b2)  # default q0 = 1
        assert plain.chi1 == pytest.approx(1.0, abs=tol) and plain.phase == "critical"
        back = mf.critical_point(act, sigma_b2=c.sigma_b2)
        assert back.sigma_w2 == pytest.approx(sws[j], rel=1e-9)


@pytest.mark.parametrize("act,lo", [("gelu", 1.9558088557), ("swish", 1.9669872906)])
def test_gelu_swish_critical_range(act, lo):
    """gelu and swish: E[phi'^2] rises from 1/4 to a maximum and falls back to 1/2, so chi1 = 1 needs
    1/max E[phi'^2] <= sigma_w2 < 2 (sigma_w2 -> 2 as q* -> inf); outside, a clear error with the range.
    ``lo`` = 1/max_q E[phi'^2] from a 200001-point grid in q on [1, 1000] (agrees with a bounded minimiser
    to 1e-12); the message prints 8 digits."""
    for sw in (1.05, 1.5, 2.0, 3.0):
        with pytest.raises(ValueError, match=rf"at sigma_w2 = {sw:g}: sigma_w2 must lie in \[") as err:
            mf.critical_point(act, sigma_w2=sw)
        low, high = (float(v) for v in re.search(r"lie in \[([^,]+), ([^\]]+)\]", str(err.value)).groups())
        assert low == pytest.approx(lo, rel=1e-7) and 1.99999 < high < 2
    with pytest.raises(ValueError, match=r"at sigma_b2 = 0: sigma_b2 must lie in \["):
        mf.critical_point(act, sigma_b2=0.0)
    pd = mf.phase_diagram(act, [1.5, 1.98, 2.0], [0.1])
    assert np.isnan(pd.critical_sigma_b2[[0, 2]]).all() and pd.critical_sigma_b2[1] > 0


def test_gelu_unstable_root_of_the_critical_line_is_rejected():
    """At sigma_w2 = 2, chi1(q) = 1 at q_c = 2.870 and sigma_b2 = q_c - 2 E[phi^2] = 0.1498 makes q_c a fixed
    point, but an unstable one (V'(q_c) > 1): from q0 = 1 the q-map settles at q* = 1.011 with chi1 = 0.913
    (the phase diagram's value), and started just above q_c it grows without bound.  Formerly reported as the
    critical point; now an error."""
    act = activation("gelu")
    q_c = brentq(lambda q: 2 * float(dphi_squared_mean(act, q)) - 1, 1, 10)
    b = q_c - float(mf.q_map(act, q_c, 2.0, 0.0))
    assert q_c == pytest.approx(2.870, abs=1e-3) and b == pytest.approx(0.1498, abs=1e-4)
    assert mf.q_map(act, q_c, 2.0, b) == pytest.approx(q_c, rel=1e-13) and mf.q_map_slope(act, q_c, 2.0) > 1
    m = mf.mean_field(act, 2.0, b)
    assert m.q_star == pytest.approx(1.011, abs=1e-3) and m.chi1 == pytest.approx(0.913, abs=1e-3)
    assert mf.phase_diagram(act, [2.0], [b]).chi1[0, 0] == pytest.approx(m.chi1, rel=1e-12)
    with pytest.raises(mf.NoFixedPointError):
        mf.mean_field(act, 2.0, b, q0=q_c * 1.01)
    with pytest.raises(ValueError, match="sigma_w2 must lie in"):
        mf.critical_point(act, sigma_w2=2.0)


def test_critical_point_at_zero_variance():
    """tanh at sigma_w2 = 1, sigma_b2 = 0: q* = 0 with chi1 = phi'(0)^2 = 1, from either side."""
    for c in (mf.critical_point("tanh", sigma_w2=1.0), mf.critical_point("tanh", sigma_b2=0.0)):
        assert (c.sigma_w2, c.sigma_b2, c.q_star, c.chi1) == (1.0, 0.0, 0.0, 1.0)
