"""Network specs: construction, JSON, mean field and the moments of J J^T against independent references."""

import json
import math

import mpmath as mp
import numpy as np
import pytest

import spectral as sp
from spectral.architecture import architecture_law, propagate
from spectral.product import JacobianLaw

#: float moments from the series vs closed forms / mpmath: the series run in double precision (~1e-13 each)
REL_FLOAT = 1e-10
#: issue 13's reference moments are printed to 8-9 significant digits
REL_PRINTED = 5e-9
#: exact rationals vs the 30-digit mpmath recursion
MP_REL = 1e-20


def _free_cumulants(m):
    """kappa_1..kappa_n from m_1..m_n by the recursion m_n = sum_s kappa_s sum_{i_1+..+i_s=n-s} m_i1...m_is
    (mpmath; independent of the Series code)."""
    n = len(m)
    mm = [mp.mpf(1)] + [mp.mpf(x) for x in m]

    def conv_power(s, total):  # [t^total] (sum_i m_i t^i)^s
        poly = [mp.mpf(1)] + [mp.mpf(0)] * total
        for _ in range(s):
            poly = [mp.fsum(poly[j] * mm[i - j] for j in range(i + 1)) for i in range(total + 1)]
        return poly[total]

    kap = []
    for k in range(1, n + 1):
        rest = mp.fsum(kap[s - 1] * conv_power(s, k - s) for s in range(1, k))
        kap.append(mm[k] - rest)
    return kap


def _moments(kap):
    n = len(kap)
    mm = [mp.mpf(1)]
    for k in range(1, n + 1):
        tot = mp.mpf(0)
        for s in range(1, k + 1):
            poly = [mp.mpf(1)] + [mp.mpf(0)] * (k - s)
            for _ in range(s):
                poly = [mp.fsum(poly[j] * mm[i - j] for j in range(i + 1)) for i in range(k - s + 1)]
            tot += kap[s - 1] * poly[k - s]
        mm.append(tot)
    return mm[1:]


def _block_moments_mp(a, alpha, beta):
    """Moments of B B^T, B = alpha I + beta X, from those of X X^T by free additive convolution of the
    symmetric laws (mpmath, cumulant recursion above)."""
    n = len(a)
    sym_x, sym_b = [], []
    for k in range(1, n + 1):
        sym_x += [0, mp.mpf(beta) ** (2 * k) * a[k - 1]]
        sym_b += [0, mp.mpf(alpha) ** (2 * k)]
    kap = [u + v for u, v in zip(_free_cumulants(sym_x), _free_cumulants(sym_b), strict=True)]
    m = _moments(kap)
    return [m[2 * k + 1] for k in range(n)]


def test_reference_tanh_block_moments():
    """X = D W (tanh, Gaussian sigma_w2 = 1, pre-activation variance 1), alpha = beta = 1: issue 13's reference values,
    and an independent mpmath derivation (E[sech^(4k)] by quadrature, NC-partition moments of D^2 W W^T,
    cumulant recursion)."""
    spec = sp.Sequential([sp.Residual([sp.Dense("gaussian", 1.0), sp.Nonlinearity("tanh")], alpha=1, beta=1)])
    m = sp.jacobian_law(spec).moments(4)
    np.testing.assert_allclose(m, [1.4644029, 3.41479087, 10.02793563, 33.45252892], rtol=REL_PRINTED)
    mp.mp.dps = 30
    d = [mp.quad(lambda z, k=k: mp.sech(z) ** (4 * k) * mp.exp(-z * z / 2), [-mp.inf, 0, mp.inf]) / mp.sqrt(2 * mp.pi)
         for k in range(1, 5)]
    a = [d[0], d[1] + d[0] ** 2, d[2] + 3 * d[1] * d[0] + d[0] ** 3,
         d[3] + 4 * d[2] * d[0] + 2 * d[1] ** 2 + 6 * d[1] * d[0] ** 2 + d[0] ** 4]  # sum over NC(n) of d_pi
    ref = _block_moments_mp(a, 1, 1)
    np.testing.assert_allclose(m, [float(x) for x in ref], rtol=REL_FLOAT)
    assert m[1] == pytest.approx(float(1 + 4 * a[0] + a[1]), rel=REL_FLOAT)  # m_2 = alpha^4 + 4 alpha^2 a_1 + a_2


def test_block_moments_exact_and_mpmath():
    """Linear Gaussian branch: exact rational moments equal the float ones and the mpmath recursion
    (X X^T Marchenko-Pastur: Catalan moments)."""
    block = sp.Residual([sp.Dense("gaussian", 1)], alpha="1/2", beta="3/2")
    law = sp.jacobian_law(sp.Sequential([block]))
    ex = law.moments(6, exact=True)
    assert all(isinstance(x, type(ex[0])) for x in ex)
    cat = [1, 2, 5, 14, 42, 132]
    ref = _block_moments_mp([mp.mpf(c) for c in cat], mp.mpf(1) / 2, mp.mpf(3) / 2)
    np.testing.assert_allclose([float(x) for x in ex], [float(x) for x in ref], rtol=MP_REL)
    np.testing.assert_allclose(law.moments(6), [float(x) for x in ex], rtol=REL_FLOAT)


def test_linear_resnet_moments():
    """J = prod_l (I + sqrt(t/L) W), Gaussian W, t = 0.5, L = 50: m_1 = (1 + t/L)^L; the variance of a free
    product adds relative variances: m_2 = m_1^2 (1 + L v/mu^2), block mu = 1 + b, v = 2b + b^2, b = t/L."""
    t, big_l = 0.5, 50
    b = t / big_l
    spec = sp.Sequential([sp.Repeat(big_l, sp.Residual([sp.Dense("gaussian", 1.0)], beta=math.sqrt(b)))])
    m = sp.jacobian_law(spec).moments(2)
    assert m[0] == pytest.approx((1 + b) ** big_l, rel=REL_FLOAT)
    assert m[1] == pytest.approx(m[0] ** 2 * (1 + big_l * (2 * b + b * b) / (1 + b) ** 2), rel=REL_FLOAT)


def test_plain_spec_is_network():
    """Repeat(L, [Dense, Nonlinearity]) is sp.Network: jacobian_law gives the JacobianLaw, and the generic
    composition gives the same moments."""
    net = sp.Network(activation="tanh", weights="orthogonal", sigma_w2=1.05, sigma_b2=2e-5, depth=6,
                     q0=1.05 * 0.7 + 2e-5)
    spec = sp.Sequential([sp.Repeat(6, [sp.Dense("orthogonal", 1.05, 2e-5), sp.Nonlinearity("tanh")])], input_q=0.7)
    law = sp.jacobian_law(spec)
    assert isinstance(law, JacobianLaw)
    ref = sp.jacobian_law(net).moments(5)
    np.testing.assert_allclose(law.moments(5), ref, rtol=1e-13)
    np.testing.assert_allclose(architecture_law(spec).moments(5), ref, rtol=REL_FLOAT)
    relu = sp.Sequential([sp.Repeat(3, [sp.Dense("gaussian", 2.0), sp.activation("relu")])])
    assert relu.depth == 3
    np.testing.assert_allclose(architecture_law(relu).moments(4),
                               sp.jacobian_law(sp.Network("relu", "gaussian", 2.0, 0.0, depth=3)).moments(4),
                               rtol=REL_FLOAT)


def test_mean_field_sequence():
    """q through residual sums (cross term from the means), norms and dense layers, against hand formulas."""
    beta = 0.3
    relu_branch = [sp.Dense("gaussian", 1.0), sp.activation("relu")]
    spec = sp.Sequential([sp.Dense("gaussian", 2.0, 0.1), sp.Residual(relu_branch, beta=beta), sp.LayerNorm(),
                          sp.Residual([sp.Dense("orthogonal", 1.0), sp.Nonlinearity("relu")], beta=beta),
                          sp.RMSNorm()], input_q=0.5)
    rows = sp.spec_mean_field(spec)
    top = [r for r in rows if r["path"].count(".") == 0]
    q1 = 2.0 * 0.5 + 0.1
    assert top[0]["q_out"] == pytest.approx(q1, rel=1e-15)
    q2 = q1 + beta**2 * q1 / 2  # stream mean 0: no cross term
    assert top[1]["q_out"] == pytest.approx(q2, rel=1e-12)
    mu2 = beta * math.sqrt(q1 / (2 * math.pi))
    assert top[1]["mean_out"] == pytest.approx(mu2, rel=1e-12)
    assert top[2]["q_out"] == 1.0 and top[2]["mean_out"] == 0.0
    mu_b = math.sqrt(1 / (2 * math.pi))
    assert top[3]["q_out"] == pytest.approx(1 + beta**2 / 2, rel=1e-12)
    assert top[3]["mean_out"] == pytest.approx(beta * mu_b, rel=1e-12)
    assert top[4]["q_out"] == 1.0
    # the law's factors: the LayerNorm scale is 1/(q - mu^2)
    scale = [f for f in propagate(spec).factors if f.kind == "scale"]
    assert scale[0].data[0] == pytest.approx(1 / (q2 - mu2**2), rel=1e-12)


def test_json_round_trip_and_python_equality():
    text = {"input_q": 1, "width": 64, "layers": [
        {"dense": {"weights": "orthogonal", "sigma_w2": 1.0}},
        {"repeat": {"times": 4, "layers": [
            {"residual": {"alpha": 1, "beta": 0.5, "branch": [
                {"dense": {"weights": "gaussian", "sigma_w2": "21/20"}}, {"activation": "tanh"},
                {"dense": {"weights": "gaussian", "sigma_w2": 1}}]}}]}},
        {"layernorm": {}}, {"rmsnorm": {}}]}
    spec = sp.spec_from_json(json.dumps(text))
    block = sp.Residual([sp.Dense("gaussian", "21/20"), sp.activation("tanh"), sp.Dense("gaussian", 1)],
                        alpha=1, beta=0.5)
    py = sp.Sequential([sp.Dense("orthogonal", 1.0), sp.Repeat(4, block), sp.LayerNorm(), sp.RMSNorm()],
                       input_q=1, width=64)
    assert spec == py
    assert sp.spec_from_json(sp.spec_to_json(spec)) == spec
    assert json.loads(json.dumps(sp.spec_to_json(spec)))["layers"][1]["repeat"]["layers"][0]["residual"]["branch"][0] \
        == {"dense": {"weights": "gaussian", "sigma_w2": "21/20", "sigma_b2": 0}}


@pytest.mark.parametrize(("layers", "path", "words"), [
    ([{"dense": {"weights": "gaussian", "sigma_w2": 1}},
      {"repeat": {"times": 2, "layers": [{"dense": {"weights": "gaussian", "sigma_w2": 1, "bias": 0}}]}}],
     "layers[1].repeat.layers[0].dense", "unknown key(s) bias"),
    ([{"repeat": {"times": 0, "layers": [{"layernorm": {}}]}}], "layers[0].repeat", "times must be an integer >= 1"),
    ([{"dense": {"weights": "uniform", "sigma_w2": 1}}], "layers[0].dense", "weights must be one of"),
    ([{"activation": "nosuch"}], "layers[0].activation", "nosuch"),
    ([{"conv2d": {}}], "layers[0]", "unknown entry 'conv2d'"),
    ([{"residual": {"beta": 1, "branch": []}}], "layers[0].residual.branch", "empty"),
    ([{"dense": {"weights": "gaussian", "sigma_w2": -1}}], "layers[0].dense", "sigma_w2 must be finite and > 0"),
])
def test_json_errors_name_the_entry(layers, path, words):
    with pytest.raises(sp.SpecError) as info:
        sp.spec_from_json({"layers": layers})
    assert info.value.path == path and words in str(info.value)


@pytest.mark.parametrize(("spec", "path", "words"), [
    ({"width": 16, "layers": [{"residual": {"beta": 1, "branch": [
        {"dense": {"weights": "gaussian", "sigma_w2": 1, "width": 8}}]}}]}, "layers[0].residual.branch",
     "must return its input width"),
    ({"layers": [{"dense": {"weights": "gaussian", "sigma_w2": 1}}, {"activation": "relu"}, {"activation": "tanh"}]},
     "layers[2]", "needs a centred Gaussian input"),
    ({"layers": [{"residual": {"beta": 1, "branch": [{"activation": "tanh"}]}}]}, "layers[0].residual.branch",
     "needs a Dense layer"),
    ({"layers": [{"dense": {"weights": "gaussian", "sigma_w2": 1, "width": 8}}]}, "width", "give the input width"),
])
def test_specs_that_cannot_be_propagated(spec, path, words):
    s = sp.spec_from_json(spec)
    with pytest.raises(sp.SpecError) as info:
        sp.spec_mean_field(s)
    assert info.value.path == path and words in str(info.value)


def test_python_validation_names_the_parameter():
    with pytest.raises(ValueError, match="alpha must be finite and >= 0"):
        sp.Residual([sp.Dense()], alpha=-1)
    with pytest.raises(ValueError, match="alpha and beta are both 0"):
        sp.Residual([sp.Dense()], alpha=0, beta=0)
    with pytest.raises(TypeError, match=r"layers\[1\] must be one of"):
        sp.Sequential([sp.Dense(), "tanh"])
    with pytest.raises(ValueError, match="input_q must be finite and > 0"):
        sp.Sequential([sp.Dense()], input_q=0)
    with pytest.raises(TypeError, match="spec must be a spectral.Sequential"):
        sp.spec_to_json([sp.Dense()])


def test_block_atoms():
    """relu branch: X X^T has mass 1/2 at 0, not above 1/2, so B B^T has no atom; alpha = 0 gives the branch's
    atoms scaled by beta^2 (X X^T = 2 D^2 for orthogonal W with sigma_w2 = 2)."""
    relu = sp.Residual([sp.Dense("gaussian", 2), sp.activation("relu")], alpha=1, beta=1)
    assert sp.jacobian_law(sp.Sequential([relu])).atoms == ()
    only = sp.Residual([sp.Dense("orthogonal", 2), sp.activation("relu")], alpha=0, beta=2)
    law = sp.jacobian_law(sp.Sequential([only]))
    assert law.atoms == ((0.0, 0.5), (8.0, 0.5))
