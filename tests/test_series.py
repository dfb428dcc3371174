"""Truncated power series: the same algorithms over float, Fraction, mpmath and sympy."""

from fractions import Fraction

import numpy as np
import pytest
import sympy

from spectral.series import FloatField, FractionField, MPField, Series, SympyField, lagrange_coefficients

FIELDS = [FloatField(), FractionField(), MPField(40), SympyField()]
N = 12


def _series(coeffs, field):
    return Series([field.convert(c) for c in coeffs], field)


def _close(a, b, field, tol=1e-12):
    a, b = list(a), list(b)
    assert len(a) == len(b)
    if field.exact:
        assert [sympy.nsimplify(x - y) if isinstance(field, SympyField) else x - y for x, y in zip(a, b,
                strict=True)] == [0] * len(a)
    else:
        for x, y in zip(a, b, strict=True):
            assert abs(complex(x) - complex(y)) <= tol * (1 + abs(complex(y)))


COEFFS = [Fraction(2), Fraction(1, 3), Fraction(-1, 5), Fraction(1, 7)]
COEFFS += [Fraction(1, j * j + 1) for j in range(4, N)]


@pytest.mark.parametrize("field", FIELDS, ids=lambda f: f.name)
def test_inverse_and_product(field):
    a = _series(COEFFS, field)
    _close((a * a.inv()).tolist(), [1] + [0] * (N - 1), field)


@pytest.mark.parametrize("field", FIELDS, ids=lambda f: f.name)
def test_pow_matches_repeated_product(field):
    a = _series(COEFFS, field)
    p = a
    for _ in range(4):
        p = p * a
    _close(a.pow(5).tolist(), p.tolist(), field)
    _close(a.pow(-3).tolist(), (a.inv() * a.inv() * a.inv()).tolist(), field)


@pytest.mark.parametrize("field", FIELDS, ids=lambda f: f.name)
def test_log_exp_roundtrip(field):
    f = _series([0] + COEFFS[1:], field)
    _close(f.exp().log(constant=0).tolist(), f.tolist(), field)


@pytest.mark.parametrize("field", FIELDS, ids=lambda f: f.name)
def test_reversion_and_composition(field):
    f = _series([0, 1] + COEFFS[2:], field)
    r = f.reversion()
    identity = [0, 1] + [0] * (N - 2)
    _close(f.compose(r).tolist(), identity, field)
    _close(r.compose(f).tolist(), identity, field)


def test_catalan_by_reversion():
    # y - y^2 reverses to the Catalan generating function: w C(w)
    f = Series([0, 1, -1] + [0] * 12, FractionField())
    r = f.reversion()
    assert r.tolist()[1:8] == [1, 1, 2, 5, 14, 42, 132]


def test_fractional_power_float_vs_mpmath():
    a = Series([1, 0.3, -0.2, 0.05, 0.01, 0, 0, 0], FloatField())
    m = MPField(50)
    am = Series([m.convert(x) for x in a.c], m)
    for alpha in (0.5, -2.5, 1e4, 1e4 + 0.5):
        x = a.pow(alpha).tolist()
        y = [float(v) for v in am.pow(alpha).tolist()]
        np.testing.assert_allclose(x, y, rtol=1e-9)


def test_large_power_costs_like_small_and_is_exact():
    a = Series([1, 1] + [0] * 6, FractionField())
    b = a.pow(10**4)
    from math import comb

    assert b.tolist() == [comb(10**4, j) for j in range(8)]


def test_lagrange_coefficients_vs_naive():
    field = FractionField()
    phi = _series([1, 2, Fraction(1, 3), -1, 5, 0, 1, 2, 3, 4, 5, 6, 7], field)
    n = 13
    got = lagrange_coefficients(phi, n)
    p = Series.constant(1, n, field)
    for k in range(1, n + 1):
        p = p * phi
        assert got[k - 1] == p.c[k - 1]


def test_sympy_symbolic_power():
    p = sympy.Symbol("p", positive=True)
    field = SympyField()
    a = Series([p, 1, 0, 0, 0], field)  # p + y
    b = a.pow(3)
    assert [sympy.expand(x) for x in b.tolist()[:4]] == [p**3, 3 * p**2, 3 * p, 1]


def test_mixing_fields_is_refused():
    with pytest.raises(TypeError):
        Series([1, 2], FloatField()) * Series([1, 2], FractionField())
    with pytest.raises(TypeError):
        FractionField().convert(0.5)
