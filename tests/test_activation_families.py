"""Parametrised activation families: erf(b x), erf_scaled, softplus(beta), elu(alpha), leaky_relu(alpha).

``erf`` is erf(x) as in PyTorch, JAX and neural-tangents; ``erf(b)`` is erf(b x); ``erf_scaled`` is
erf(sqrt(pi) x/2) (= ``erf(b=sqrt(pi)/2)``).  Independent truths: mpmath (quadrature of the definitions at 30
digits, mpmath's own erf and its numerical derivative) and scipy.special.erf.
"""

from __future__ import annotations

import json
import math
from fractions import Fraction

import mpmath
import numpy as np
import pytest
import scipy.special

import spectral
from spectral import gaussian
from spectral import meanfield as mf
from spectral.activations import ACTIVATIONS, ERF_SCALED_B, activation
from spectral.cli import main

#: Closed forms against 30-digit mpmath: the float formulas lose a few ulps (asin near 1, the sqrt).
RTOL = 1e-13
#: Critical points: q* is solved by Newton on closed forms to ~1e-15, the bias from it loses 2 digits.
CRIT_RTOL = 1e-11
BS = ["1", "1/2", "2", "sqrt(pi)/2"]
QS = [1e-6, 0.05, 0.7, 3.0, 40.0]


def _mp_b(text):
    return {"1": mpmath.mpf(1), "1/2": mpmath.mpf(1) / 2, "2": mpmath.mpf(2),
            "sqrt(pi)/2": mpmath.sqrt(mpmath.pi) / 2}[text]


def _mp_gauss(f, q):
    s = mpmath.sqrt(q)
    return mpmath.quad(lambda z: f(s * z) * mpmath.npdf(z), [-mpmath.inf, -1, 0, 1, mpmath.inf])


@pytest.mark.parametrize("b", BS)
def test_erf_b_phi_and_derivatives_against_mpmath(b):
    act = activation(f"erf({b})")
    xs = np.linspace(-3, 3, 13)
    with mpmath.workdps(30):
        bm = _mp_b(b)
        want = [float(mpmath.erf(bm * x)) for x in xs]
        d1 = [float(mpmath.diff(lambda t: mpmath.erf(bm * t), x)) for x in xs]
        d2 = [float(mpmath.diff(lambda t: mpmath.erf(bm * t), x, 2)) for x in xs]
    np.testing.assert_allclose(act.phi(xs), want, rtol=RTOL, atol=1e-16)
    np.testing.assert_allclose(act.dphi(xs), d1, rtol=RTOL, atol=1e-16)
    np.testing.assert_allclose(act.ddphi(xs), d2, rtol=1e-12, atol=1e-15)


def test_erf_is_erf_x_like_the_ecosystem():
    xs = np.linspace(-4, 4, 33)
    for spec in ("erf", "erf(1)", "erf(b=1)"):
        np.testing.assert_array_equal(activation(spec).phi(xs), scipy.special.erf(xs))
    assert activation("erf") == activation("erf(1)") == activation("erf(b=1)") == activation("erf", b=1)
    assert activation("erf").dphi(0.0) == pytest.approx(2 / math.sqrt(math.pi), rel=1e-15)


def test_erf_scaled_spellings_are_one_activation():
    scaled = activation("erf_scaled")
    for spec in ("erf(sqrt(pi)/2)", "erf(b=sqrt(pi)/2)", scaled.name):
        assert activation(spec) == scaled
    assert activation("erf", b=math.sqrt(math.pi) / 2) == scaled  # one ulp below sqrt(pi)/2: same activation
    assert scaled.name == "erf(b=sqrt(pi)/2)" and scaled.param_dict["b"] == ERF_SCALED_B
    assert scaled.dphi(0.0) == pytest.approx(1.0, rel=1e-15)
    with mpmath.workdps(30):
        assert ERF_SCALED_B == float(mpmath.sqrt(mpmath.pi) / 2)


@pytest.mark.parametrize("b", BS)
def test_erf_b_gaussian_closed_forms_against_mpmath(b):
    """E[erf(b sqrt(q) z)^2] = (2/pi) asin(2b^2 q/(1+2b^2 q)); mu_k = E[phi'^(2k)]; the q-map slope."""
    act = activation(f"erf({b})")
    for q in QS:
        with mpmath.workdps(30):
            bm, qm = _mp_b(b), mpmath.mpf(q)
            e2 = _mp_gauss(lambda x, bm=bm: mpmath.erf(bm * x) ** 2, qm)
            asin = 2 / mpmath.pi * mpmath.asin(2 * bm**2 * qm / (1 + 2 * bm**2 * qm))
            mus = [_mp_gauss(lambda x, k=k, bm=bm: (2 * bm / mpmath.sqrt(mpmath.pi) * mpmath.exp(-bm**2 * x**2))
                             ** (2 * k), qm) for k in (1, 2, 3)]
            slope = mpmath.diff(lambda t, bm=bm: 2 / mpmath.pi * mpmath.asin(2 * bm**2 * t / (1 + 2 * bm**2 * t)), qm)
        assert float(e2) == pytest.approx(float(asin), rel=RTOL)  # the formula itself
        assert gaussian.phi_second_moment(act, q) == pytest.approx(float(e2), rel=RTOL)
        np.testing.assert_allclose(gaussian.dphi_moments(act, q, 3), [float(m) for m in mus], rtol=RTOL)
        assert gaussian.dphi_squared_mean(act, q) == pytest.approx(float(mus[0]), rel=RTOL)
        assert gaussian.phi_second_moment_slope(act, q) == pytest.approx(float(slope), rel=RTOL)
        hp = gaussian.dphi_moments(act, q, 3, precision=30)
        for got, want in zip(hp, mus, strict=True):
            assert abs(got - want) <= mpmath.mpf(10) ** -27 * abs(want)


@pytest.mark.parametrize("b", BS)
@pytest.mark.parametrize("sigma_w2_factor", [1.2, 3.0])
def test_erf_b_critical_line_against_mpmath(b, sigma_w2_factor):
    """chi_1 = sigma_w^2 (4b^2/pi)/sqrt(1 + 4b^2 q) = 1 gives q*; sigma_b^2 = q* - sigma_w^2 E[phi^2]."""
    with mpmath.workdps(30):
        bm = _mp_b(b)
        s0 = mpmath.pi / (4 * bm**2)  # the start of the critical line (q* = 0)
        sw = s0 * sigma_w2_factor
        q = ((sw * 4 * bm**2 / mpmath.pi) ** 2 - 1) / (4 * bm**2)
        sb = q - sw * 2 / mpmath.pi * mpmath.asin(2 * bm**2 * q / (1 + 2 * bm**2 * q))
    cp = mf.critical_point(f"erf({b})", sigma_w2=float(sw))
    assert cp.q_star == pytest.approx(float(q), rel=CRIT_RTOL)
    assert cp.sigma_b2 == pytest.approx(float(sb), rel=CRIT_RTOL)
    assert cp.chi1 == pytest.approx(1.0, abs=1e-12)
    with pytest.raises(ValueError, match="sigma_w2"):
        mf.critical_point(f"erf({b})", sigma_w2=float(s0) * 0.9)


@pytest.mark.parametrize("beta", ["1/2", "3"])
def test_softplus_beta_against_mpmath(beta):
    act = activation(f"softplus(beta={beta})")
    bf = float(Fraction(beta))
    xs = np.linspace(-5, 5, 11)
    with mpmath.workdps(30):
        bm = mpmath.mpf(bf)

        def f(x):
            return mpmath.log1p(mpmath.exp(bm * x)) / bm

        want = [float(f(x)) for x in xs]
        d1 = [float(mpmath.diff(f, x)) for x in xs]
        d2 = [float(mpmath.diff(f, x, 2)) for x in xs]
        e2 = _mp_gauss(lambda x: f(x) ** 2, mpmath.mpf("0.8"))
    np.testing.assert_allclose(act.phi(xs), want, rtol=RTOL)
    np.testing.assert_allclose(act.dphi(xs), d1, rtol=RTOL)
    np.testing.assert_allclose(act.ddphi(xs), d2, rtol=1e-12, atol=1e-16)
    assert gaussian.phi_second_moment(act, 0.8) == pytest.approx(float(e2), rel=1e-12)
    assert activation("softplus(1)") == activation("softplus")


@pytest.mark.parametrize("spec,name", [("erf(2)", "erf(b=2)"), ("softplus(beta=2)", "softplus(beta=2)"),
                                       ("elu(1/2)", "elu(alpha=1/2)"), ("leaky_relu(0.2)", "leaky_relu(alpha=1/5)"),
                                       ("erf_scaled", "erf(b=sqrt(pi)/2)")])
def test_parametrised_spellings_work_everywhere(spec, name, capsys):
    """Python (Network, mean field, transforms), the CLI (JSON names the activation unambiguously), and the
    name round-trips."""
    act = activation(spec)
    assert act.name == name and activation(name) == act
    net = spectral.Network(activation=spec, weights="orthogonal", sigma_w2=1.5, sigma_b2=0.1, depth=3)
    assert net.layers[0].activation == act
    assert math.isfinite(spectral.jacobian_law(net).moments(2)[1])
    code = main(["meanfield", "--activation", spec, "--sigma-w2", "1.5", "--sigma-b2", "0.1", "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert json.loads(out)["activation"] == name
    assert mf.mean_field(spec, 1.5, 0.1).q_star == pytest.approx(json.loads(out)["q_star"], rel=1e-15)


@pytest.mark.parametrize("spec", ["erf(0)", "erf(-1)", "erf(b=x)", "softplus(0)", "softplus(beta=-2)", "erf(1, 2)"])
def test_bad_parameters_are_refused_naming_them(spec, capsys):
    with pytest.raises(ValueError, match=r"\bb\b|beta|parameters"):
        activation(spec)
    code = main(["meanfield", "--activation", spec, "--sigma-w2", "1.5", "--sigma-b2", "0.1"])
    out, err = capsys.readouterr()
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_symbolic_accepts_the_spellings():
    """q* = 0 (sigma_b^2 = 0, ordered): D^2 = phi'(0)^2 = 4b^2/pi exactly, so an orthogonal net is one atom."""
    import sympy as sp

    from spectral.symbolic import symbolic_network

    res = symbolic_network("erf(b=1/2)", "orthogonal", "1/2", 3, 0)
    assert sp.simplify(res.atoms[0][0] - (sp.Rational(1, 2) / sp.pi) ** 3) == 0


def test_split_activations_keeps_parametrised_spellings():
    from spectral.activations import split_activations

    assert split_activations("erf(b=sqrt(pi)/2),softplus(beta=2), leaky_relu(0.1)") == [
        "erf(b=sqrt(pi)/2)", "softplus(beta=2)", "leaky_relu(0.1)"]


def test_registry_has_the_families():
    assert {"erf", "erf_scaled", "softplus", "elu", "leaky_relu"} <= set(ACTIVATIONS)


@pytest.mark.parametrize("b", ["1/2", "2", "sqrt(pi)/2"])
def test_erf_b_network_is_erf_x_network_with_scaled_variances(b):
    """h -> b h maps an erf(b x) network at (sigma_w^2, sigma_b^2) to an erf(x) network at (b^2 sigma_w^2,
    b^2 sigma_b^2) with the same Jacobian J = prod (b W) diag(erf'(b h)): q* scales by b^2, chi_1 and the
    moments of J J^T agree (an identity independent of the closed forms)."""
    b2 = float(_mp_b(b) ** 2)
    scaled = mf.mean_field(f"erf({b})", 1.3, 0.07)
    plain = mf.mean_field("erf", 1.3 * b2, 0.07 * b2)
    assert plain.q_star == pytest.approx(b2 * scaled.q_star, rel=1e-12)
    assert plain.chi1 == pytest.approx(scaled.chi1, rel=1e-12)
    m_b = spectral.jacobian_law(spectral.Network(activation=f"erf({b})", weights="gaussian", sigma_w2=1.3,
                                                 sigma_b2=0.07, depth=5)).moments(4)
    m_1 = spectral.jacobian_law(spectral.Network(activation="erf", weights="gaussian", sigma_w2=1.3 * b2,
                                                 sigma_b2=0.07 * b2, depth=5)).moments(4)
    np.testing.assert_allclose(m_b, m_1, rtol=1e-11)
