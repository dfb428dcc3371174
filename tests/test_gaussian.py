"""Gaussian expectations against mpmath (40-digit reference data) and closed forms."""

import json
import math
from pathlib import Path

import mpmath
import numpy as np
import pytest

from spectral import gaussian
from spectral.activations import ACTIVATIONS, activation

REF = json.loads((Path(__file__).parents[1] / "reference_data" / "meanfield.json").read_text())

# The float rule is a fixed composite Gauss-Legendre rule; 1e-12 is the accuracy the module promises
# (issue contract), the observed worst case is ~3e-15.
RTOL = 1e-12


@pytest.mark.parametrize("rec", REF["expectations"], ids=lambda r: f"{r['activation']}-q{r['q']}")
def test_float_expectations_match_mpmath(rec):
    act = activation(rec["activation"])
    q = float(rec["q"])
    assert gaussian.phi_second_moment(act, q) == pytest.approx(float(rec["e_phi2"]), rel=RTOL)
    np.testing.assert_allclose(gaussian.dphi_moments(act, q, 3), [float(m) for m in rec["mu"]], rtol=RTOL)
    assert gaussian.dphi_squared_mean(act, q) == pytest.approx(float(rec["mu"][0]), rel=RTOL)


@pytest.mark.parametrize("rec", REF["expectations"][::5], ids=lambda r: f"{r['activation']}-q{r['q']}")
def test_mpmath_route_to_30_digits(rec):
    act = activation(rec["activation"])
    mu = gaussian.dphi_moments(act, rec["q"], 3, precision=32)
    for got, want in zip(mu, rec["mu"], strict=True):
        with mpmath.workdps(40):
            assert abs(mpmath.mpf(got) / mpmath.mpf(want) - 1) < mpmath.mpf(10) ** -28


def test_mpmath_moments_are_the_single_integrals_bit_for_bit():
    """The n moments in mpmath share phi' and the Gaussian factor at their quadrature nodes: each is exactly
    the integral gaussian_expectation computes alone for phi'^(2k)."""
    act = activation("swish")
    d = gaussian.mp_function(act.expr.diff(gaussian.X))
    mu = gaussian.dphi_moments(act, 0.8, 4, precision=25)
    alone = [gaussian.gaussian_expectation(lambda x, k=k: d(x) ** (2 * k), 0.8, precision=25) for k in range(1, 5)]
    assert [m.man_exp for m in mu] == [m.man_exp for m in alone]


def test_generic_quadrature_vectorized_over_q_and_split_at_kinks():
    q = np.array([0.01, 0.5, 3.0])
    relu_sq = gaussian.gaussian_expectation(lambda x: np.maximum(x, 0) ** 2, q, kinks=(0.0,))
    np.testing.assert_allclose(relu_sq, q / 2, rtol=1e-14)
    # |x| has E = sqrt(2q/pi): a kink at 0
    np.testing.assert_allclose(gaussian.gaussian_expectation(np.abs, q, kinks=(0.0,)), np.sqrt(2 * q / np.pi),
                               rtol=1e-14)


def test_closed_forms_equal_quadrature():
    """The closed forms (erf, hard-tanh, sin, relu family) agree with the generic rule."""
    for name in ("erf", "erf_scaled", "erf(b=1/3)", "hard_tanh", "sin", "relu", "leaky_relu", "linear"):
        act = activation(name)
        for q in (0.02, 0.7, 4.0):
            quad = gaussian.gaussian_expectation(lambda x, a=act: np.asarray(a.phi(x), float) ** 2, q,
                                                 kinks=act.breakpoints)
            assert gaussian.phi_second_moment(act, q) == pytest.approx(quad, rel=1e-13)
            quad_mu = gaussian.gaussian_expectation(lambda x, a=act: np.asarray(a.dphi(x), float) ** 4, q,
                                                    kinks=act.breakpoints)
            assert gaussian.dphi_moments(act, q, 2)[1] == pytest.approx(quad_mu, rel=1e-13)


def test_slope_matches_finite_difference():
    for name in ACTIVATIONS:
        act = activation(name)
        for q in (0.05, 1.3):
            h = 1e-5 * q
            fd = (gaussian.phi_second_moment(act, q + h) - gaussian.phi_second_moment(act, q - h)) / (2 * h)
            assert gaussian.phi_second_moment_slope(act, q) == pytest.approx(fd, rel=1e-8), name


def test_quadrature_law_of_d2_reproduces_moments():
    act = activation("tanh")
    x, w = gaussian.dphi_squared_quadrature(act, 0.4, 256)
    assert w.sum() == pytest.approx(1.0, rel=1e-14)
    assert np.all((x >= 0) & (x <= 1))
    np.testing.assert_allclose([(w * x**k).sum() for k in (1, 2, 3)], gaussian.dphi_moments(act, 0.4, 3),
                               rtol=1e-12)


def test_erf_moments_closed_form():
    q = 0.37
    k = np.arange(1, 5)
    # erf(x): mu_k = (4/pi)^k (1 + 4kq)^(-1/2); erf_scaled = erf(sqrt(pi) x/2): (1 + pi k q)^(-1/2)
    np.testing.assert_allclose(gaussian.dphi_moments("erf", q, 4), (4 / np.pi) ** k / np.sqrt(1 + 4 * k * q),
                               rtol=1e-15)
    np.testing.assert_allclose(gaussian.dphi_moments("erf_scaled", q, 4), 1 / np.sqrt(1 + np.pi * k * q),
                               rtol=1e-15)
    # hard-tanh: mu_k = P(|x| < 1) for every k
    p = math.erf(1 / math.sqrt(2 * q))
    np.testing.assert_allclose(gaussian.dphi_moments("hard_tanh", q, 3), [p] * 3, rtol=1e-14)


@pytest.mark.parametrize("bad", [0.0, -1.0, math.inf, math.nan])
def test_bad_q_is_rejected(bad):
    with pytest.raises(ValueError, match="q"):
        gaussian.gaussian_expectation(np.cos, bad)


def test_bad_arguments():
    with pytest.raises(ValueError, match="n"):
        gaussian.dphi_moments("tanh", 1.0, 0)
    with pytest.raises(ValueError, match="precision"):
        gaussian.dphi_moments("tanh", 1.0, 2, precision=2)
    custom = activation(lambda x: np.tanh(x), name="np_tanh", dphi=lambda x: 1 - np.tanh(x) ** 2)
    with pytest.raises(ValueError, match="sympy"):
        gaussian.dphi_moments(custom, 1.0, 2, precision=20)
    # but the float route works for it and equals the registry tanh
    np.testing.assert_allclose(gaussian.dphi_moments(custom, 0.3, 3), gaussian.dphi_moments("tanh", 0.3, 3),
                               rtol=1e-14)
