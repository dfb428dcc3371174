"""Networks and the law of J J^T: moments against independent truths."""

import json
import math
from fractions import Fraction
from pathlib import Path

import mpmath
import numpy as np
import pytest

from spectral.laws import Bernoulli, FreeProduct, HaarOrthogonal, MarchenkoPastur, SpectralLaw
from spectral.product import Layer, Network, jacobian_law

REF = json.loads((Path(__file__).parents[1] / "reference_data" / "moments.json").read_text())


def _acts():
    from spectral import activations

    return activations


# ------------------------------------------------------------------ no physics front needed
def test_depth_ten_thousand_log_moments_fuss_catalan():
    L, k = 10_000, 200
    law = FreeProduct([(MarchenkoPastur(), L)])
    lm = law.log_moments(k)
    assert np.all(np.isfinite(lm))
    n = np.arange(1, k + 1)
    with mpmath.workdps(30):
        lg = mpmath.loggamma
        exact = np.array([float(lg((L + 1) * j + 1) - lg(j + 1) - lg(L * j + 1) - mpmath.log(L * j + 1))
                          for j in n])
    np.testing.assert_allclose(lm, exact, rtol=1e-12, atol=1e-10)


def test_depth_ten_thousand_orthogonal_bernoulli_log_moments():
    law = FreeProduct([(Bernoulli(Fraction(1, 2), value=2), 10_000),
                       (HaarOrthogonal(Fraction(21, 20)), 10_000)])
    lm = law.log_moments(200)
    assert np.all(np.isfinite(lm))
    assert lm[0] == pytest.approx(10_000 * math.log(1.05), rel=1e-13)
    with pytest.warns(RuntimeWarning, match="overflow"):
        m = law.moments(200)
    assert np.isinf(m[-1])


class _BetaMoments(SpectralLaw):
    """Law given only by its moments (Beta(a, b)), like the D^2 law of a smooth activation."""

    name = "beta"

    def __init__(self, a, b):
        self.a, self.b = a, b

    def _moment_series(self, field, n):
        out, m = [], field.convert(1)
        for k in range(n):
            m = m * field.convert(self.a + k) / field.convert(self.a + self.b + k)
            out.append(m)
        return out


@pytest.mark.parametrize("depth", [1, 30, 1000])
@pytest.mark.parametrize("weights", [HaarOrthogonal(1), MarchenkoPastur()], ids=["orth", "gauss"])
def test_implicit_factor_float_matches_mpmath(depth, weights):
    # the S-series of such a law is badly conditioned; the subordinated formula must stay accurate
    d2 = _BetaMoments(5, 1)
    law = FreeProduct([(d2, depth), (weights, depth)])
    lm = law.log_moments(200)
    ref = FreeProduct([(d2, depth), (weights, depth)]).moments(200, precision=40)
    with mpmath.workdps(40):
        ref = np.array([float(mpmath.log(x)) for x in ref])
    np.testing.assert_allclose(lm, ref, rtol=1e-12, atol=1e-10)
    if depth == 1:  # one factor: the law of d2 itself (times the Haar point mass 1)
        if weights.name.startswith("haar"):
            np.testing.assert_allclose(law.moments(200), d2.moments(200), rtol=1e-12)


@pytest.mark.parametrize("case", ["relu_orthogonal", "hard_tanh_orthogonal_p"])
def test_bernoulli_powers_match_closed_form_lagrange(case):
    ref = REF[case]
    p = Fraction(1, 2) if case == "relu_orthogonal" else Fraction(ref["p"])
    s2 = Fraction(ref.get("sigma_w2", "1"))
    law = FreeProduct([(Bernoulli(p), ref["depth"]), (HaarOrthogonal(s2), ref["depth"])])
    k = len(ref["moments"])
    assert law.moments(k, exact=True) == [Fraction(x) for x in ref["moments"]]
    np.testing.assert_allclose(law.moments(k), [float(Fraction(x)) for x in ref["moments"]], rtol=1e-12)


def test_network_validation_names_the_parameter():
    with pytest.raises(ValueError, match="weights"):
        Layer(weights="uniform")
    with pytest.raises(ValueError, match="sigma_w2"):
        Layer(sigma_w2=-1)
    with pytest.raises(ValueError, match="sigma_b2"):
        Layer(sigma_b2=-1e-3)
    with pytest.raises(ValueError, match="width"):
        Layer(width=0)
    with pytest.raises(ValueError, match="depth"):
        Network(depth=0)
    with pytest.raises(ValueError, match="q0"):
        Network(q0=-1)
    with pytest.raises(ValueError, match="sigma_w2"):
        Layer(sigma_w2=float("nan"))
    with pytest.raises(TypeError, match="sigma_w2"):
        Layer(sigma_w2=[1.0])


def test_numpy_scalars_are_accepted_like_python_numbers():
    net = Network(activation="relu", weights="gaussian", sigma_w2=np.float32(2), sigma_b2=np.int64(0),
                  depth=np.int64(5), width=None)
    assert net.depth == 5 and type(net.depth) is int and len(net.layers) == 5
    assert jacobian_law(net).moments(2, exact=True) == [1, 11]  # m2 = 1 + 2L for relu/Gaussian at sigma_w2 = 2
    layer = Layer(activation="relu", width=np.int32(8), sigma_w2=np.float64(2))
    assert layer.width == 8 and type(layer.width) is int
    assert Network(layers=[layer, layer], width=np.int16(8)).widths == (8, 8, 8)


def test_conflicting_depth_and_layers_are_refused():
    with pytest.raises(ValueError, match="depth=5 conflicts with the 1 layers"):
        Network(layers=[Layer()], depth=5)
    assert Network(layers=[Layer()] * 3).depth == 3 and Network(layers=[Layer()] * 3, depth=3).depth == 3
    assert Network().depth == 64  # the documented default of a uniform network


@pytest.mark.parametrize("text", ['__import__("os").system("echo PWNED")', "lambda: 1", "nan", "inf", "1e999999",
                                  "10**10**10", "().__class__", 'exec("x")'])
def test_string_variances_are_parsed_never_evaluated(capfd, text):
    for name in ("sigma_w2", "sigma_b2"):
        with pytest.raises(ValueError, match=name):
            Layer(**{name: text})
    assert capfd.readouterr().out == ""
    assert Layer(sigma_w2="21/20").sigma_w2 == Fraction(21, 20)


# ------------------------------------------------------------------ with the physics front
def _net(act, weights, s2, b2, depth, **kw):
    _acts()
    return Network(activation=act, weights=weights, sigma_w2=s2, sigma_b2=b2, depth=depth, **kw)


@pytest.mark.parametrize("L", [1, 2, 3])
def test_fuss_catalan_linear_gaussian(L):
    law = jacobian_law(_net("linear", "gaussian", 1, 0, L))
    assert law.moments(12, exact=True) == REF["fuss_catalan"]["values"][str(L)]


def test_relu_orthogonal_depth5_exact():
    law = jacobian_law(_net("relu", "orthogonal", 2, 0, 5))
    assert law.moments(8, exact=True) == [Fraction(x) for x in REF["relu_orthogonal"]["moments"]]
    assert law.atoms == ((0.0, 0.5),)


def test_relu_gaussian_exact_and_atoms():
    law = jacobian_law(_net("relu", "gaussian", 2, 0, 3))
    assert law.moments(8, exact=True) == [Fraction(x) for x in REF["relu_gaussian"]["moments"]]
    assert law.atoms == ((0.0, 0.5),)


def test_relu_equals_leaky_relu_zero():
    for weights in ("gaussian", "orthogonal"):
        a = jacobian_law(_net("relu", weights, 2, 0, 4))
        b = jacobian_law(_net(_acts().activation("leaky_relu", alpha=0), weights, 2, 0, 4))
        assert a.moments(10, exact=True) == b.moments(10, exact=True)
        np.testing.assert_array_equal(a.moments(10), b.moments(10))
        assert a.atoms == b.atoms


def test_linear_orthogonal_is_an_atom():
    law = jacobian_law(_net("linear", "orthogonal", Fraction(3, 2), 0, 4))
    assert law.exact_atoms() == ((Fraction(3, 2) ** 4, 1),)
    assert law.moments(3, exact=True) == [Fraction(3, 2) ** (4 * k) for k in (1, 2, 3)]


def test_linear_equals_activation_with_unit_derivative():
    acts = _acts()
    ident = acts.activation(lambda x: x, name="identity_callable", dphi=lambda x: np.ones_like(x))
    for weights in ("gaussian", "orthogonal"):
        a = jacobian_law(_net("linear", weights, 1.3, 0.1, 3, q0=1.0)).moments(8)
        b = jacobian_law(_net(ident, weights, 1.3, 0.1, 3, q0=1.0)).moments(8)
        np.testing.assert_allclose(a, b, rtol=1e-11)


def test_hard_tanh_orthogonal_atoms_and_symbolic_p():
    law = jacobian_law(_net("hard_tanh", "orthogonal", 1, 0, 3, q0=0.1))
    # q0 = 0.1 shrinks along the q-map (sigma_b2 = 0), so each layer has its own p_l = erf(1/sqrt(2 q_l))
    ps = [math.erf(1 / math.sqrt(2 * q)) for q in law.q]
    assert law.q[0] == 0.1 and law.q[1] < law.q[0]
    atoms = dict(law.atoms)
    assert atoms[0.0] == pytest.approx(1 - min(ps), rel=1e-12)  # kernel of the layer with most zeros
    assert atoms[1.0] == pytest.approx(1 - sum(1 - p for p in ps), rel=1e-12)  # survives every D_l
    ex = law.moments(3, exact=True)
    assert len(law.symbol_values) == 3  # one symbol per distinct q_l
    assert [float(x.subs(law.symbol_values)) for x in ex] == pytest.approx(list(law.moments(3)), rel=1e-12)


def test_m1_m2_pennington_formula_all_activations():
    acts = _acts()
    from spectral import gaussian

    L = 6
    for name in acts.ACTIVATIONS:
        for weights, s1 in (("gaussian", -1.0), ("orthogonal", 0.0)):
            net = _net(name, weights, 1.2, 0.05, L, q0=0.7)
            law = jacobian_law(net)
            q = law.q
            m = law.moments(2)
            mu = [gaussian.dphi_moments(law.network.layers[i].activation, q[i], 2) for i in range(L)]
            m1 = np.prod([1.2 * x[0] for x in mu])
            assert m[0] == pytest.approx(m1, rel=1e-10), name
            # m2/m1^2 - 1 = sum_l (mu2/mu1^2 - 1 - s1)   (Pennington et al. 2017, eq. 32, per layer)
            rhs = sum(x[1] / x[0] ** 2 - 1 - s1 for x in mu)
            assert m[1] / m[0] ** 2 - 1 == pytest.approx(rhs, rel=1e-9, abs=1e-12), name


def test_float_mpmath_agree_tanh():
    law = jacobian_law(_net("tanh", "orthogonal", 1.05, 2.01e-5, 64))
    f = law.moments(20)
    mp = law.moments(20, precision=30)
    np.testing.assert_allclose(f, [float(x) for x in mp], rtol=1e-10)


def test_rectangular_single_gaussian_layer_is_marchenko_pastur():
    _acts()
    net = Network(layers=(Layer("linear", "gaussian", 2, 0, width=30),), width=20)
    law = jacobian_law(net)
    ref = MarchenkoPastur(ratio=Fraction(30, 20), variance=2)
    assert law.moments(6, exact=True) == ref.moments(6, exact=True)
    assert law.exact_atoms() == ((0, Fraction(1, 3)),)


def test_top_atom_of_zero_mass_is_not_reported():
    """hard-tanh, orthogonal, L (1 - p) = 1 on the critical line at sigma_w2 = 1.2: the top atom has mass 0
    at infinite width (a float p leaves a ~1e-16 residue, which must not be reported as an atom)."""
    from spectral.meanfield import critical_point
    from spectral.product import Network, jacobian_law

    mf = critical_point("hard_tanh", sigma_w2=1.2)
    net = Network(activation="hard_tanh", weights="orthogonal", sigma_w2=1.2, sigma_b2=mf.sigma_b2, depth=6)
    atoms = jacobian_law(net).exact_atoms()
    assert [a for a, _ in atoms] == [0]
    assert abs(float(atoms[0][1]) - 1 / 6) < 1e-12
