"""Activations: registry, derivatives, custom activations, special case = general case."""

import math
from fractions import Fraction

import numpy as np
import pytest
import sympy

import spectral as sp
from spectral.activations import ACTIVATIONS, ALIASES, X, activation

XS = np.linspace(-3.0, 3.0, 61) + 1e-3  # avoid the kinks themselves


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_derivatives_match_the_sympy_expression(name):
    act = activation(name)
    d1 = sympy.lambdify(X, sympy.diff(act.expr, X), "mpmath")
    d2 = sympy.lambdify(X, sympy.diff(act.expr, X, 2), "mpmath")
    f = sympy.lambdify(X, act.expr, "mpmath")
    np.testing.assert_allclose(act.phi(XS), [float(f(x)) for x in XS], rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(act.dphi(XS), [float(d1(x)) for x in XS], rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(act.ddphi(XS), [float(d2(x)) for x in XS], rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_derivatives_match_finite_differences(name):
    act = activation(name)
    h = 1e-6
    np.testing.assert_allclose(act.dphi(XS), (act.phi(XS + h) - act.phi(XS - h)) / (2 * h), rtol=1e-7, atol=1e-8)


def test_kinks_and_pieces():
    assert activation("relu").kinks == (0.0,)
    assert activation("hard_tanh").kinks == (-1.0, 1.0)
    assert activation("tanh").kinks == () and activation("tanh").pieces is None
    law = activation("hard_tanh").dphi_squared_law(0.5)
    assert law[1][1] == pytest.approx(math.erf(1 / math.sqrt(2 * 0.5)), rel=1e-15)


def test_parsing_and_aliases():
    a = activation("leaky_relu(0.1)")
    assert a.params == (("alpha", Fraction(1, 10)),)
    assert activation("leaky_relu(alpha=1/10)") == a == activation("leaky_relu", alpha=Fraction(1, 10))
    for alias, target in ALIASES.items():
        assert activation(alias).family == activation(target).family


@pytest.mark.parametrize("spec,match", [("tanhh", "unknown activation"), ("leaky_relu(a=1)", "alpha"),
                                        ("relu(0.1)", "parameters"), ("leaky_relu(x)", "alpha='x' is not accepted")])
def test_bad_specs_name_the_problem(spec, match):
    with pytest.raises(ValueError, match=match):
        activation(spec)


def test_callable_without_derivative_is_refused():
    with pytest.raises(TypeError, match="dphi"):
        activation(lambda x: np.tanh(x))
    with pytest.raises(TypeError):
        activation(3.0)


def test_relu_equals_leaky_relu_zero_everywhere():
    relu, leaky0 = activation("relu"), activation("leaky_relu(0)")
    np.testing.assert_array_equal(relu.dphi(XS), leaky0.dphi(XS))
    assert relu.dphi_squared_law(0.7) == leaky0.dphi_squared_law(0.7)
    for weights in ("gaussian", "orthogonal"):
        a = sp.jacobian_law(sp.Network(activation=relu, weights=weights, sigma_w2=2, sigma_b2=0, depth=6))
        b = sp.jacobian_law(sp.Network(activation=leaky0, weights=weights, sigma_w2=2, sigma_b2=0, depth=6))
        assert a.moments(6, exact=True) == b.moments(6, exact=True)
        np.testing.assert_array_equal(a.moments(20), b.moments(20))
        assert a.atoms == b.atoms


def test_custom_sympy_activation_works_like_the_registry():
    custom = activation(lambda x: sympy.tanh(x), name="my_tanh")
    assert custom.expr == sympy.tanh(X)
    for weights in ("gaussian", "orthogonal"):
        kw = dict(weights=weights, sigma_w2=1.05, sigma_b2=2.01e-5, depth=8)
        a = sp.jacobian_law(sp.Network(activation=custom, **kw)).moments(6)
        b = sp.jacobian_law(sp.Network(activation="tanh", **kw)).moments(6)
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_custom_numpy_activation_with_derivative():
    from scipy.special import expit

    swish = activation(lambda x: x * expit(x), name="np_swish", dphi=lambda x: expit(x) * (1 + x * expit(-x)))
    a = sp.mean_field(swish, 2.0, 0.1)
    b = sp.mean_field("swish", 2.0, 0.1)
    assert a.q_star == pytest.approx(b.q_star, rel=1e-13)
    assert a.chi1 == pytest.approx(b.chi1, rel=1e-13)
    assert math.isnan(a.chi2)  # no phi'' given: chi2 unknown, not invented


def test_piecewise_sympy_activation_is_bernoulli_type():
    kinked = activation(sympy.Max(0, X) - sympy.Max(0, X - 1), name="relu6ish")
    assert kinked.kinks == (0.0, 1.0)
    assert kinked.pieces is not None
    law = sp.jacobian_law(sp.Network(activation=kinked, weights="orthogonal", sigma_w2=2, sigma_b2=0.1, depth=3))
    assert law.atoms[0][0] == 0.0  # inherits the atom at zero from D^2


# ------------------------------------------------------------------------------ transformed activations
def test_transformed_activation_matches_its_sympy_expression_and_mpmath_mean_field():
    import mpmath

    act = activation("transformed(softplus, input_scale=0.3, input_shift=0.4, output_scale=2.5, output_shift=-0.9)")
    f = sympy.lambdify(X, act.expr, "mpmath")
    d1 = sympy.lambdify(X, sympy.diff(act.expr, X), "mpmath")
    d2 = sympy.lambdify(X, sympy.diff(act.expr, X, 2), "mpmath")
    np.testing.assert_allclose(act.phi(XS), [float(f(x)) for x in XS], rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(act.dphi(XS), [float(d1(x)) for x in XS], rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(act.ddphi(XS), [float(d2(x)) for x in XS], rtol=1e-12, atol=1e-14)
    # the q-map at q = 0.7 against mpmath on the definition 2.5 (softplus(0.3 x + 0.4) - 0.9)
    with mpmath.workdps(30):
        want = mpmath.quad(lambda z: (2.5 * (mpmath.log1p(mpmath.exp(0.3 * mpmath.sqrt(0.7) * z + 0.4)) - 0.9)) ** 2
                           * mpmath.npdf(z), [-mpmath.inf, 0, mpmath.inf])
    assert sp.q_map(act, 0.7, 1.0, 0.0) == pytest.approx(float(want), rel=1e-12)


def test_transformed_piecewise_linear_activation_keeps_exact_bernoulli_laws():
    act = activation("transformed(relu, output_scale=1.5, output_shift=-0.4)")
    assert act.pieces == ((-math.inf, 0.0, 0.0), (0.0, math.inf, 1.5))
    assert act.dphi_squared_law(1.0) == ((0, Fraction(1, 2)), (2.25, Fraction(1, 2)))
    net = sp.Network(activation=act, weights="orthogonal", sigma_w2=1 / 1.125, sigma_b2=0.0, depth=5, q0=1.0)
    m1, m2 = sp.jacobian_law(net).moments(2)
    assert m1 == pytest.approx(1.0, rel=1e-13) and m2 == pytest.approx(1 + 5 * (2 - 1), rel=1e-12)


def test_transform_spellings_work_in_every_command(capsys):
    from spectral.cli import main

    spelling = "tat(tanh, tau=0.3, depth=20)"
    assert main(["moments", "--activation", spelling, "--sigma-w2", "1", "--sigma-b2", "0", "--depth", "20",
                 "--k", "2", "--json"]) == 0
    import json

    # m_1 = C'(1)^L = 1; the CLI starts from the mean-field q*, which sits at Q'(1) = 1 (a double root of
    # Q(q) = q by TAT's design), found to ~1e-5 in q*, hence ~1e-7 in m_1
    assert json.loads(capsys.readouterr().out)["m1"] == pytest.approx(1.0, abs=1e-6)
    assert main(["meanfield", "--activation", spelling, "--sigma-w2", "1", "--sigma-b2", "0", "--json"]) == 0
    out = capsys.readouterr().out
    assert "tat(tanh" in out
    assert main(["meanfield", "--activation", "tat(tanh, tau=0.3)"]) == 2  # depth missing: one line, status 2
    assert "depth" in capsys.readouterr().err


def test_split_activations_keeps_parameter_lists_whole():
    """One splitter for every comma-separated list of activation specs (plot phase, sweeps)."""
    from spectral.activations import split_activations

    assert split_activations("tanh, leaky_relu(0.1), tat(tanh, tau=0.3, depth=20),") == [
        "tanh", "leaky_relu(0.1)", "tat(tanh, tau=0.3, depth=20)"]
