"""Spectral laws: closed forms, transform round trips, moments in float / mpmath / exact arithmetic."""

import json
from fractions import Fraction
from math import comb
from pathlib import Path

import mpmath
import numpy as np
import pytest
import sympy

from spectral.laws import (
    Atomic,
    Bernoulli,
    Empirical,
    FreeMultiplicativeBrownian,
    FreeProduct,
    FreeSum,
    HaarOrthogonal,
    MarchenkoPastur,
    Semicircle,
    example_laws,
)
from spectral.series import FractionField, SympyField

REF = json.loads((Path(__file__).parents[1] / "reference_data" / "moments.json").read_text())
LAWS = example_laws()
#: laws whose exact moments are transcendental in their parameters (sympy numbers, not Fractions)
TRANSCENDENTAL = (FreeMultiplicativeBrownian,)


def _exact_field(law):
    return SympyField() if isinstance(law, TRANSCENDENTAL) else FractionField()


def _mp(x):
    """An exact moment (Fraction or sympy number) as an mpmath number at the working precision."""
    if isinstance(x, Fraction):
        return mpmath.mpf(x.numerator) / x.denominator
    return mpmath.mpf(str(sympy.N(x, mpmath.mp.dps + 10)))


def _points(law, n=8, seed=0):
    """Complex points well outside the support (so the moment series converges there)."""
    rng = np.random.default_rng(seed)
    m = law.moments(2)
    scale = 4 * (abs(m[0]) + np.sqrt(max(m[1], 0))) + 4
    ang = rng.uniform(0.2, np.pi - 0.2, n)
    return scale * rng.uniform(1.0, 2.0, n) * np.exp(1j * ang)


@pytest.mark.parametrize("law", LAWS, ids=lambda x: x.name)
def test_stieltjes_matches_moment_series(law):
    z = _points(law)
    m = law.moments(60)
    series = sum(m[k - 1] / z**k for k in range(1, 61))
    np.testing.assert_allclose(law.m_transform(z), series, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(law.stieltjes(z), (1 + series) / z, rtol=1e-9)
    assert np.all(law.stieltjes(z).imag < 0)


@pytest.mark.parametrize("law", LAWS, ids=lambda x: x.name)
def test_round_trips_g_m_s_r(law):
    z = _points(law)
    g = law.stieltjes(z)
    y = law.m_transform(z)
    np.testing.assert_allclose(y, z * g - 1, rtol=1e-12)
    # S(M(z)) = (1 + y)/(y z)   (density equation)
    np.testing.assert_allclose(law.s_transform(y), (1 + y) / (y * z), rtol=1e-8)
    # chi(psi(w)) = w
    np.testing.assert_allclose(law.chi_transform(y), 1 / z, rtol=1e-8)
    # R(G(z)) + 1/G(z) = z
    np.testing.assert_allclose(law.r_transform(g) + 1 / g, z, rtol=1e-8)


@pytest.mark.parametrize("law", LAWS, ids=lambda x: x.name)
def test_derivative_hooks(law):
    z = _points(law, 4, seed=1)
    h = 1e-4 * np.abs(z)
    fd = (law.m_transform(z + h) - law.m_transform(z - h)) / (2 * h)
    np.testing.assert_allclose(law.m_transform_derivative(z), fd, rtol=1e-5)
    y = law.m_transform(z)
    hy = 1e-4 * np.abs(y)
    fds = (law.s_transform(y + hy) - law.s_transform(y - hy)) / (2 * hy)
    np.testing.assert_allclose(law.s_transform_derivative(y), fds, rtol=1e-5)


@pytest.mark.parametrize("law", LAWS, ids=lambda x: x.name)
def test_float_mpmath_exact_agree(law):
    f = law.moments(15)
    mp = law.moments(15, precision=40)
    ex = law.moments(15, exact=True)
    if isinstance(law, TRANSCENDENTAL):  # exact numbers: no free symbol, not a float
        assert all(isinstance(x, sympy.Expr) and not x.free_symbols and not x.has(sympy.Float) for x in ex)
    else:
        assert all(isinstance(x, Fraction) for x in ex)
    np.testing.assert_allclose(f, [float(x) for x in ex], rtol=1e-12)
    with mpmath.workdps(60):
        for a, b in zip(mp, ex, strict=True):
            assert abs(a - _mp(b)) <= mpmath.mpf(10) ** -35 * abs(a)


@pytest.mark.parametrize("law", LAWS, ids=lambda x: x.name)
def test_free_cumulants_roundtrip(law):
    ex = law.moments(10, exact=True)
    kap = law.free_cumulants(10, exact=True)
    from spectral.laws import moments_from_free_cumulants

    back = moments_from_free_cumulants(kap, _exact_field(law))
    assert all(sympy.simplify(sympy.sympify(a) - sympy.sympify(b)) == 0 for a, b in zip(back, ex, strict=True))


def test_marchenko_pastur_narayana_and_reference():
    for case in REF["marchenko_pastur"]["cases"]:
        law = MarchenkoPastur(ratio=Fraction(case["ratio"]), variance=Fraction(case["variance"]))
        got = law.moments(10, precision=30)
        for a, b in zip(got, case["moments"], strict=True):
            assert abs(a - mpmath.mpf(b)) <= mpmath.mpf(10) ** -27 * abs(a)
    lam, v = Fraction(1, 3), Fraction(5, 2)
    ex = MarchenkoPastur(lam, v).moments(8, exact=True)
    nara = [v**k * sum(Fraction(comb(k, j) * comb(k, j - 1), k) * lam ** (j - 1) for j in range(1, k + 1))
            for k in range(1, 9)]
    assert ex == nara
    # free cumulants of the free Poisson law: v^n lambda^(n-1)
    kappa = [v**n * lam ** (n - 1) for n in range(1, 7)]
    assert MarchenkoPastur(lam, v).free_cumulants(6, exact=True) == kappa


def test_marchenko_pastur_closed_form_density_and_atom():
    law = MarchenkoPastur(ratio=2, variance=1)
    lo, hi = law.support()
    assert (lo, hi) == pytest.approx(((1 - np.sqrt(2)) ** 2, (1 + np.sqrt(2)) ** 2))
    assert law.exact_atoms() == ((0, Fraction(1, 2)),)
    x = np.linspace(lo + 1e-3, hi - 1e-3, 5)
    rho = -law.stieltjes(x + 1e-12j).imag / np.pi
    lam = 2
    exact = np.sqrt((hi - x) * (x - lo)) / (2 * np.pi * lam * x)
    np.testing.assert_allclose(rho, exact, rtol=1e-6)


def test_semicircle_catalan():
    law = Semicircle(variance=Fraction(1, 4), mean=0)
    m = law.moments(10, exact=True)
    cat = [comb(2 * n, n) // (n + 1) for n in range(6)]
    assert m[1::2] == [Fraction(cat[n]) / 4**n for n in range(1, 6)]
    assert m[0::2] == [0] * 5
    z = np.array([3 + 1j, -2 + 0.5j])
    g = law.stieltjes(z)
    np.testing.assert_allclose(g, (z - np.sqrt(z - 1) * np.sqrt(z + 1)) / (2 * 0.25))
    with pytest.raises(ValueError, match="S-transform"):
        law.s_transform(0.1)


def test_bernoulli_closed_form_s_and_atoms():
    law = Bernoulli(Fraction(1, 3), value=2)
    y = np.array([0.1 + 0.2j, -0.05j])
    np.testing.assert_allclose(law.s_transform(y), (1 + y) / (2 * (1 / 3 + y)))
    assert law.exact_atoms() == ((0, Fraction(2, 3)), (2, Fraction(1, 3)))
    assert law.moments(4, exact=True) == [Fraction(2**k, 3) for k in range(1, 5)]
    assert law.closed_form_s


def test_atomic_validation_and_empirical():
    with pytest.raises(ValueError, match="sum to 1"):
        Atomic((1, 2), (Fraction(1, 2), Fraction(1, 3)))
    with pytest.raises(ValueError, match="probs"):
        Atomic((1, 2), (-0.5, 1.5))
    emp = Empirical([1.0, 2.0, 2.0, 4.0])
    np.testing.assert_allclose(emp.moments(2), [9 / 4, (1 + 4 + 4 + 16) / 4])


def test_haar_is_a_point_mass():
    law = HaarOrthogonal(Fraction(3, 2))
    assert law.moments(3, exact=True) == [Fraction(3, 2) ** k for k in (1, 2, 3)]
    assert law.atoms == ((1.5, 1.0),)


def test_free_product_of_free_poissons_is_fuss_catalan():
    for L in (1, 2, 3):
        law = FreeProduct([(MarchenkoPastur(), L)])
        assert law.moments(12, exact=True) == REF["fuss_catalan"]["values"][str(L)]


def test_free_product_atoms_belinschi():
    b = Bernoulli(Fraction(3, 4))
    law = FreeProduct([(b, 2), (HaarOrthogonal(2), 2)])
    # mass at 0: max(1/4) ; nonzero atom 4 with mass 2*3/4 - 1 = 1/2
    assert law.exact_atoms() == ((0, Fraction(1, 4)), (4, Fraction(1, 2)))
    assert FreeProduct([(b, 4)]).exact_atoms() == ((0, Fraction(1, 4)),)


def test_free_sum_of_semicircles_adds_variances():
    law = FreeSum([Semicircle(1, mean=1), Semicircle(Fraction(1, 2), mean=2)])
    ref = Semicircle(Fraction(3, 2), mean=3)
    assert law.moments(8, exact=True) == ref.moments(8, exact=True)
    w = np.array([0.1 + 0.05j])
    np.testing.assert_allclose(law.r_transform(w), ref.r_transform(w))


def test_moment_argument_validation():
    law = MarchenkoPastur()
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="k"):
            law.moments(bad)
    with pytest.raises(ValueError, match="ratio"):
        MarchenkoPastur(ratio=-1)
    with pytest.raises(ValueError, match="precision"):
        law.moments(3, precision=10, exact=True)


def test_free_multiplicative_brownian_closed_forms():
    """Biane's law at s = 1/2 (the registry instance): exact m_1 = e^(s/2), m_2 = (1+s) e^s,
    m_3 = (1 + 3s + 3s^2/2) e^(3s/2) as sympy identities; the solver's support equals the closed-form edges
    x_pm = ((2 + s pm sqrt(s(s+4)))/2) e^(pm sqrt(s(s+4))/2) and its density (certified) has mass 1 and the
    first two moments (trapezoid on the solver's grid: the square-root edges cost ~1e-4, so 2e-3)."""
    from spectral.density import support

    s = sympy.Rational(1, 2)
    law = FreeMultiplicativeBrownian(Fraction(1, 2))
    ex = law.moments(3, exact=True)
    closed = [sympy.exp(s / 2), (1 + s) * sympy.exp(s), (1 + 3 * s + 3 * s**2 / 2) * sympy.exp(3 * s / 2)]
    assert all(sympy.simplify(a - b) == 0 for a, b in zip(ex, closed, strict=True))
    r = np.sqrt(0.5 * 4.5)
    edges = ((2.5 - r) / 2 * np.exp(-r / 2), (2.5 + r) / 2 * np.exp(r / 2))
    assert law.support() == pytest.approx(edges, rel=1e-14)
    assert support(law) == pytest.approx(edges, rel=1e-10)
    res = law.density(points=400)
    assert res.certified
    x, rho = np.asarray(res.x), np.asarray(res.density)
    m = [np.trapezoid(x**k * rho, x) for k in (0, 1, 2)]
    assert m == pytest.approx([1.0, np.exp(0.25), 1.5 * np.exp(0.5)], rel=2e-3)
    with pytest.raises(TypeError, match="float"):
        FreeMultiplicativeBrownian(0.5).moments(2, exact=True)
