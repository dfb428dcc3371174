"""Tests of the density solver (spectral.density): accuracy certificates, closed forms, atoms, edges,
pdf/cdf/ppf, singular values and input validation.

Independent truths: Marchenko–Pastur closed form (linear Gaussian, depth 1), Fuss–Catalan edge
(L+1)^(L+1)/L^L (linear Gaussian, depth L), edges (1 +- 1/sqrt(2))^2 sigma_w^2 (relu Gaussian depth 1),
series moments m_1, m_2 (Lagrange inversion in spectral.laws, a different algorithm), exact atoms from
Belinschi's rule, and a Monte Carlo count of the hard-tanh atom.
"""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest
from mp_references import tanh_d2_m_transform

from spectral import density as D
from spectral.laws import Bernoulli, FreeProduct, HaarOrthogonal, MarchenkoPastur
from spectral.laws.d2_quadrature import smooth_d2
from spectral.product import Layer, Network, jacobian_law

DEPTHS = (1, 4, 16, 64, 256)


def _critical(act, depth):
    return Network.critical(act, sigma_w2=1.05, depth=depth, weights="orthogonal")


NETWORKS = {
    "relu-gaussian": lambda L: Network(activation="relu", weights="gaussian", sigma_w2=2, sigma_b2=0, depth=L),
    "relu-orthogonal": lambda L: Network(activation="relu", weights="orthogonal", sigma_w2=2, sigma_b2=0,
                                         depth=L),
    "tanh-orthogonal": lambda L: _critical("tanh", L),
    "hard_tanh-orthogonal": lambda L: _critical("hard_tanh", L),
}


def _check(res, tol=1e-6):
    d = res.diagnostics
    assert d["n_uncertified_total"] == 0
    assert abs(res.mass - 1.0) <= tol, d
    assert d["m1_rel_err"] <= tol, d
    assert d["m2_rel_err"] <= tol, d
    assert np.all(np.isfinite(res.density)) and np.all(res.density >= 0)
    assert res.certified


# ------------------------------------------------------------------------------------------ accuracy
def _cases():
    return [pytest.param(case, depth, id=f"{case}-{depth}") for case in sorted(NETWORKS) for depth in DEPTHS]


@pytest.mark.parametrize(("case", "depth"), _cases())
def test_mass_and_moments(case, depth):
    """Total mass 1 and m_1, m_2 from the density within 1e-6 (relative) of the series moments."""
    law = jacobian_law(NETWORKS[case](depth))
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        res = law.density(2000)
    _check(res)


@pytest.mark.parametrize("depth", [32, 128, 256])
def test_tanh_gaussian_critical(depth):
    """Smooth D^2 with Gaussian weights: the x^(-L/(L+1)) tail toward 0 spans hundreds of decades at depth 128
    (a real-axis fill that interpolated across it once gave a total mass of 2.6 there)."""
    net = Network.critical("tanh", sigma_w2=1.05, depth=depth, weights="gaussian")
    law = jacobian_law(net)
    _check(law.density(2000))
    # quantiles deep in that tail (x_0.01 ~ 1e-257 at depth 128) invert the CDF: brentq brackets in log x first
    # (at depth 256 the 0.01 quantile, ~1e-514, is below the float range: there ppf returns 0; 0.1 is ~1e-253)
    q = np.array([0.01 if depth <= 128 else 0.1, 0.5, 0.99])
    x = law.ppf(q)
    assert np.all(x > 0) and np.all(np.diff(x) > 0)
    np.testing.assert_allclose(law.cdf(x), q, rtol=1e-9)


def test_depth_1000_and_10000():
    for depth in (1000, 10000):
        law = jacobian_law(NETWORKS["relu-gaussian"](depth))
        _check(law.density(2000))


def test_tanh_orthogonal_depth_1000():
    """Soft lower edge of a deep smooth product (x rho rises from ~1e-7 to 1e-3 of its maximum within 1e-3 in
    log x): located and gridded as an edge, the certificate holds at depth 1000."""
    law = jacobian_law(NETWORKS["tanh-orthogonal"](1000))
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        res = law.density(2000)
    _check(res)
    assert res.diagnostics["mass_error"] < 1e-8
    assert len(res.diagnostics["soft_lower_edges"]) == 1


@pytest.mark.parametrize("make", [NETWORKS["relu-gaussian"], NETWORKS["relu-orthogonal"],
                                  lambda L: _critical("tanh", 1)],
                         ids=["relu-gaussian-16", "relu-orthogonal-16", "tanh-orthogonal-1"])
def test_path_free_products_match_the_conservative_path(make, monkeypatch):
    """Products of linear factors and single layers take the wide step control and the 1/m seed
    (continuation._path_free); their certified density is the one the conservative path (step ratio 0.05, seed
    in m, used for every other product) gives, to 1e-10 of its maximum (the reorganisation rule of
    benchmarks/compare_densities.py), with the same mass and moments."""
    from spectral.density import continuation, real_axis
    from spectral.density.edges import _system

    law = jacobian_law(make(16))
    assert continuation._path_free(_system(law))
    fast = law.density(500)
    monkeypatch.setattr(continuation, "_path_free", lambda sys: False)
    monkeypatch.setattr(real_axis, "_path_free", lambda sys: False)
    slow = jacobian_law(make(16)).density(500)
    assert fast.certified and slow.certified
    np.testing.assert_allclose(fast.x, slow.x, rtol=1e-12, atol=0)
    assert np.max(np.abs(fast.density - slow.density)) <= 1e-10 * np.max(slow.density)
    for key in ("m1", "m2"):
        assert abs(fast.diagnostics[key] - slow.diagnostics[key]) <= 1e-10 * abs(slow.diagnostics[key])
    assert abs(fast.mass - slow.mass) <= 1e-10


def test_deep_smooth_products_keep_the_conservative_path():
    """A deep product with the law of D^2 (tanh/orthogonal depth 16) is not path-free: on the 46-law comparison
    the wide step control moved soft-edge grids (tanh/Gaussian depth 16) and densities (tanh/orthogonal depth
    1000: 4e-10 of the maximum)."""
    from spectral.density import continuation
    from spectral.density.edges import _system

    law = jacobian_law(_critical("tanh", 16))
    assert not continuation._path_free(_system(law))


def test_soft_edge_critical_point_matches_search():
    """The sharp soft lower edge from the near-real critical point of log z(zeta) agrees with the edge found by
    solving the density on the band's grid; a soft edge that is not sharp (depth 64) is left to that search."""
    for depth, sharp in ((1000, True), (64, False)):
        law = jacobian_law(NETWORKS["tanh-orthogonal"](depth))
        e = D.edges(law)
        sys = D._system(law, e.log_lambda_max)
        hi_u = e.log_bands[-1][1] - e.log_lambda_max
        fast = D._soft_edge_critical(sys, hi_u, 1.0)
        if not sharp:
            assert fast is None
            continue
        cut, edge = D._soft_edge(sys, hi_u)
        assert fast is not None and abs(fast[1] - edge) < 1e-6
        assert cut <= fast[0] < fast[1]


def test_tanh_orthogonal_depth_10000_soft_edge():
    """Depth 10^4: the soft lower edge (x ~ 3e-25 of the top) from the critical point is accepted although x rho
    below it is only known to its rounding level (~1e-12, growing with the depth), and the certificate holds; the
    fallback search on the band's grid (which reaches 40 e-folds below the top only at first) finds the same
    edge."""
    law = jacobian_law(NETWORKS["tanh-orthogonal"](10000))
    e = D.edges(law)
    sys = D._system(law, e.log_lambda_max)
    hi_u = e.log_bands[-1][1] - e.log_lambda_max
    fast = D._soft_edge_critical(sys, hi_u, 1.0)
    assert fast is not None and fast[1] < hi_u - 60
    cut, edge = D._soft_edge(sys, hi_u)
    assert abs(edge - fast[1]) < 1e-6 and cut < fast[1]
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        res = law.density(2000)
    _check(res)
    assert res.diagnostics["mass_error"] < 1e-6
    assert len(res.diagnostics["soft_lower_edges"]) == 1


def test_depth_10000_continuation_stays_on_the_physical_sheet():
    """Sheets of log z = ... + 10^4 log(...) are 2 pi / 10^4 apart: a long continuation step across eta ~ x once
    landed on another one near x = e^-6 of the top (x rho 0.28 instead of 0.018, certified)."""
    law = jacobian_law(NETWORKS["tanh-orthogonal"](10000))
    x = D.lambda_max(law) * np.exp(np.linspace(-6.3, -5.8, 51))
    xr = -np.imag(D.solve_m_transform(law, x + 0j)) / math.pi
    assert np.all(np.isfinite(xr))
    assert 0.015 < xr.min() and xr.max() < 0.02
    assert np.max(np.abs(np.diff(xr, 2))) < 1e-5


def test_tanh_gaussian_depth_1000_top_edge():
    """Within 1e-9 of the square-root top edge m is known to ~1e-8 only (d log z/dm -> 0) while x rho ~ 1e-9:
    a slightly negative -Im m / pi at that rounding level is 0, not an uncertified node."""
    net = Network.critical("tanh", sigma_w2=1.05, depth=1000, weights="gaussian")
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        res = jacobian_law(net).density(2000)
    _check(res)
    assert res.diagnostics["mass_error"] < 1e-9


def test_leaky_relu_orthogonal_implicit_atomic_factor():
    """Two nonzero D^2 atoms (S not in closed form): edges are limits z(m -> inf) = (sigma_w^2 a)^L."""
    law = jacobian_law(Network(activation="leaky_relu(0.1)", weights="orthogonal", sigma_w2=2, sigma_b2=0,
                               depth=2))
    res = law.density(2000)
    _check(res)
    assert res.support == pytest.approx((4 * 0.01**2, 4.0), rel=1e-12)


def test_rectangular_network():
    net = Network(layers=(Layer("relu", "gaussian", 2.0, 0.0, width=200), Layer("relu", "gaussian", 2.0, 0.0,
                                                                                  width=100)), width=100)
    _check(jacobian_law(net).density(2000))


# ------------------------------------------------------------------------------------------ closed forms
def test_marchenko_pastur_closed_form():
    law = jacobian_law(Network(activation="linear", weights="gaussian", sigma_w2=1, sigma_b2=0, depth=1))
    res = law.density(1000)
    x = res.x
    exact = np.sqrt(np.maximum(x * (4 - x), 0)) / (2 * math.pi * x)
    far = 4 - x > 1e-2  # next to the edge m is known to sqrt(eps) only (z - z_c ~ (m - m_c)^2)
    assert np.max(np.abs(res.density[far] / exact[far] - 1)) < 1e-10
    assert np.max(np.abs(res.density[~far] - exact[~far])) < 1e-7
    assert res.support == (0.0, pytest.approx(4.0, rel=1e-14))
    assert law.lambda_max == pytest.approx(4.0, rel=1e-14)
    _check(res)


@pytest.mark.parametrize("depth", [2, 5, 30, 300])
def test_fuss_catalan_edge(depth):
    law = jacobian_law(Network(activation="linear", weights="gaussian", sigma_w2=1, sigma_b2=0, depth=depth))
    edge = math.exp((depth + 1) * math.log(depth + 1) - depth * math.log(depth))
    assert law.support() == (0.0, pytest.approx(edge, rel=1e-13))
    assert D.edges(law).beta == pytest.approx(1 / (depth + 1), rel=1e-14)


def test_relu_gaussian_depth1_edges():
    law = jacobian_law(NETWORKS["relu-gaussian"](1))
    lo, hi = law.support()
    assert (lo, hi) == (pytest.approx(3 - 2 * math.sqrt(2), rel=1e-13), pytest.approx(3 + 2 * math.sqrt(2),
                                                                                         rel=1e-13))
    assert D.edges(law).gap


def test_solve_m_transform_against_marchenko_pastur():
    mp = MarchenkoPastur(ratio=1, variance=1)
    law = FreeProduct([(mp, 1)])
    z = np.array([5.0 + 0.1j, 2.0 + 1e-3j, 0.5 + 2j, -1 + 0.5j, 3.0 - 0.2j, 2.0, 1e-6, 7.0])
    sol = D.solve_m_transform(law, z, full_output=True)
    assert np.all(sol.certified)
    assert np.max(np.abs(sol.m - mp.m_transform(z + 1e-300j * (z.imag == 0)))) < 1e-10
    g = (1 + sol.m) / z
    assert np.all(g.imag[z.imag > 0] <= 0)


def test_free_product_m_transform_dispatch():
    """FreeProduct.m_transform uses the solver: compare with the series at large |z|."""
    law = jacobian_law(NETWORKS["relu-gaussian"](8))
    z = np.array([400.0 + 300j, -500 + 20j])
    m = law.m_transform(z)
    mom = law.moments(12)
    series = sum(mom[k] / z ** (k + 1) for k in range(12))
    assert np.max(np.abs(m - series) / np.abs(series)) < 1e-9


# ------------------------------------------------------------------------------------------ atoms
def test_relu_atom_at_zero():
    for depth in (1, 7, 100):
        law = jacobian_law(NETWORKS["relu-gaussian"](depth))
        assert law.atoms == ((0.0, 0.5),)
        assert law.density(200).atoms == ((0.0, 0.5),)


def test_linear_orthogonal_single_atom():
    law = jacobian_law(Network(activation="linear", weights="orthogonal", sigma_w2=1.05, sigma_b2=0, depth=10))
    res = law.density(100)
    assert res.atoms == ((pytest.approx(1.05**10, rel=1e-14), 1.0),)
    assert res.support is None and res.x.size == 0 and res.mass == 1.0
    assert law.lambda_max == pytest.approx(1.05**10)
    assert law.cdf(np.array([1.0, 1.05**10])).tolist() == [0.0, 1.0]


@pytest.mark.parametrize("depth", [2, 4, 16, 21, 64])
def test_hard_tanh_atoms(depth):
    """Atoms at 0 (mass 1 - p) and at sigma_w^(2L) (mass 1 - L(1 - p) while positive)."""
    net = _critical("hard_tanh", depth)
    law = jacobian_law(net)
    p = float(law.d2_laws[0].mean)
    assert p == pytest.approx(1 / 1.05, rel=1e-9)  # critical line: sigma_w^2 p = 1
    expect = [(0.0, 1 - p)]
    if 1 - depth * (1 - p) > 0:
        expect.append((1.05**depth, 1 - depth * (1 - p)))
    got = law.atoms
    assert len(got) == len(expect)
    for (a, w), (ea, ew) in zip(got, expect, strict=True):
        assert a == pytest.approx(ea, rel=1e-12) and w == pytest.approx(ew, rel=1e-9, abs=1e-15)


def test_hard_tanh_atom_monte_carlo():
    """Fraction of eigenvalues of J J^T equal to sigma_w^(2L) in the free model vs 1 - L(1-p)."""
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(3)
    n, depth, p, s2 = 200, 4, 0.9, 1.05
    fracs = []
    with threadpool_limits(1):
        samples = [_free_hard_tanh_sample(rng, n, depth, p, s2) for _ in range(6)]
    for ev in samples:
        fracs.append(np.mean(np.abs(ev - s2**depth) < 1e-8))
    expect = 1 - depth * (1 - p)
    sd = math.sqrt(depth * p * (1 - p) / n / len(fracs))
    assert abs(np.mean(fracs) - expect) < 4 * sd
    law = FreeProduct([(Bernoulli(p), depth), (HaarOrthogonal(s2), depth)])
    assert law.atoms[1] == (pytest.approx(s2**depth), pytest.approx(expect))
    _check(law.density(2000))


def _free_hard_tanh_sample(rng, n, depth, p, s2):
    """Eigenvalues of J J^T, J = prod D_l sqrt(s2) Q_l, Q Haar (QR with sign fix), D_l^2 ~ Bernoulli(p)."""
    j = np.eye(n)
    for _layer in range(depth):
        q, r = np.linalg.qr(rng.standard_normal((n, n)))
        q = q * np.sign(np.diag(r))
        d = (rng.random(n) < p).astype(float)
        j = (d[:, None] * (math.sqrt(s2) * q)) @ j
    return np.linalg.eigvalsh(j @ j.T)


# ------------------------------------------------------------------------------------------ pdf / cdf / ppf
@pytest.fixture(scope="module")
def relu16():
    return jacobian_law(NETWORKS["relu-gaussian"](16))


def test_pdf_matches_grid(relu16):
    res = relu16.density(2000)
    idx = np.linspace(300, res.x.size - 5, 9).astype(int)
    assert np.allclose(relu16.pdf(res.x[idx]), res.density[idx], rtol=1e-9)
    assert relu16.pdf(np.array([-1.0, 0.0, 2 * res.lambda_max])).tolist() == [0.0, 0.0, 0.0]


def test_cdf_ppf_consistency(relu16):
    q = np.array([0.5000001, 0.51, 0.6, 0.75, 0.9, 0.99, 0.999999])
    x = relu16.ppf(q)
    assert np.all(np.diff(x) > 0)
    assert np.allclose(relu16.cdf(x), q, atol=1e-12, rtol=0)
    # the atom at 0: cdf(0) = 1/2 (right-continuous), any q in (0, 1/2] maps to 0
    assert relu16.cdf(np.array([0.0]))[0] == pytest.approx(0.5, abs=1e-15)
    assert relu16.ppf(np.array([0.0, 0.2, 0.5])).tolist() == [0.0, 0.0, 0.0]
    assert relu16.cdf(np.array([relu16.lambda_max]))[0] == pytest.approx(1.0, abs=1e-12)
    assert relu16.ppf(np.array([1.0]))[0] == pytest.approx(relu16.lambda_max, rel=1e-12)
    xs = np.linspace(0, relu16.lambda_max, 200)
    assert np.all(np.diff(relu16.cdf(xs)) >= 0)


def test_cdf_against_quadrature_of_pdf():
    """cdf from the density grid vs Gauss-Legendre quadrature of pdf (pointwise solves) in x = lo + h t^2."""
    law = jacobian_law(NETWORKS["relu-gaussian"](1))
    lo, hi = law.support()
    mid = 0.5 * (lo + hi)
    t, w = np.polynomial.legendre.leggauss(120)
    t, w = 0.5 * (t + 1), 0.5 * w
    ref = 0.5 + np.sum(w * 2 * t * (mid - lo) * law.pdf(lo + (mid - lo) * t**2))
    assert law.cdf(np.array([mid]))[0] == pytest.approx(ref, abs=1e-9)


@pytest.mark.parametrize(("act", "weights", "sigma_w2", "depth"), [
    ("tanh", "gaussian", 1.05, 32), ("tanh", "orthogonal", 1.05, 32), ("hard_tanh", "orthogonal", 1.1, 2),
    ("hard_tanh", "orthogonal", 1.1, 32)])
def test_cdf_on_validation_laws(act, weights, sigma_w2, depth):
    """cdf of the laws used by spectral.validate: finite, monotone, from the atom at 0 to 1 (once raised
    'dydx must contain only finite values' in the interpolator)."""
    law = jacobian_law(Network.critical(act, sigma_w2=sigma_w2, depth=depth, weights=weights))
    lam = law.lambda_max
    x = np.unique(np.concatenate([np.linspace(0, lam, 101), lam * np.logspace(-12, 0, 61), [2 * lam]]))
    f = law.cdf(x)
    assert np.all(np.isfinite(f)) and np.all(np.diff(f) >= 0)
    w0 = sum(p for a, p in law.atoms if a == 0)
    assert f[0] == pytest.approx(w0, abs=1e-12) and f[-1] == pytest.approx(1.0, abs=1e-6)  # the mass certificate


def test_ppf_inside_an_atom_jump():
    law = jacobian_law(_critical("hard_tanh", 4))
    (a0, w0), (a1, w1) = law.atoms
    f_below = float(law.cdf(np.array([a1 * (1 - 1e-9)]))[0])
    assert float(law.cdf(np.array([a1]))[0]) == pytest.approx(f_below + w1, abs=1e-9)
    qs = np.array([f_below + 0.25 * w1, min(f_below + w1, 1.0) - 1e-12])
    assert law.ppf(qs) == pytest.approx([a1, a1], rel=1e-12)


# ------------------------------------------------------------------------------------------ singular values
def test_singular_value_law(relu16):
    sv = relu16.singular_values()
    res = relu16.density(2000)
    rs = sv.density(2000)
    assert np.allclose(rs.x, np.sqrt(res.x))
    assert np.allclose(rs.density, 2 * rs.x * res.density)
    assert sv.atoms == ((0.0, 0.5),)
    assert sv.lambda_max == pytest.approx(math.sqrt(relu16.lambda_max))
    s = np.array([0.5, 1.0, 3.0])
    assert np.allclose(sv.pdf(s), 2 * s * relu16.pdf(s**2))
    assert np.allclose(sv.cdf(s), relu16.cdf(s**2))
    assert np.allclose(sv.ppf(np.array([0.7, 0.9])), np.sqrt(relu16.ppf(np.array([0.7, 0.9]))))
    # mass of rho_s and E[s^2] = m_1, by quadrature in s on the MP-like depth-1 law (a gap: plain grid)
    law1 = jacobian_law(NETWORKS["relu-gaussian"](1))
    r1 = law1.singular_values().density(4000)
    from scipy.integrate import simpson

    assert simpson(r1.density, x=r1.x) + 0.5 == pytest.approx(1.0, abs=1e-6)
    assert simpson(r1.x**2 * r1.density, x=r1.x) == pytest.approx(1.0, rel=1e-6)


# ------------------------------------------------------------------------------------------ output / errors
def test_density_summary_is_json(relu16):
    out = D.density_summary(relu16.density(500))
    assert set(out) == {"x", "density", "atoms", "support", "lambda_max", "mass", "diagnostics"}
    assert out["atoms"] == [[0.0, 0.5]]
    assert out["diagnostics"]["certified"] is True
    q = out["diagnostics"]["quantiles"]
    assert q["0.25"] == 0.0 and 0 < q["0.75"] < q["0.99"] <= out["lambda_max"]
    json.dumps(out, allow_nan=False)


def test_bad_inputs(relu16):
    with pytest.raises(ValueError, match="points"):
        relu16.density(5)
    with pytest.raises(TypeError, match="points"):
        relu16.density(100.5)
    with pytest.raises(ValueError, match="tail_tol"):
        relu16.density(100, tail_tol=0.0)
    with pytest.raises(ValueError, match="q must"):
        relu16.ppf(np.array([1.5]))
    with pytest.raises(ValueError, match="q must"):
        relu16.ppf(np.array([np.nan]))
    with pytest.raises(ValueError, match="z must be finite"):
        D.solve_m_transform(relu16, np.array([np.inf]))
    with pytest.raises(ValueError, match="z = 0"):
        D.solve_m_transform(relu16, np.array([0.0]))
    with pytest.raises(ValueError, match="rtol_eta"):
        D.solve_m_transform(relu16, np.array([1.0]), rtol_eta=0.5)
    with pytest.raises(ValueError, match="x must not"):
        relu16.pdf(np.array([np.nan]))
    with pytest.raises(ValueError, match="x must not"):
        relu16.cdf(np.array([np.nan]))


def test_smooth_d2_transform_against_mpmath():
    """M(zeta) of D^2 = tanh'(sqrt(q) h)^2 (deformed-contour quadrature) vs mpmath at 30 digits, including
    zeta next to the top of its spectrum, and the boundary value Im M(x + i0) = -pi x rho_D(x)."""
    lw = jacobian_law(_critical("tanh", 4)).d2_laws[0]
    sm = smooth_d2(lw.activation, lw.q)
    q = lw.q
    zs = [0.5 + 0.1j, 0.9 + 0.01j, 0.999 + 1e-4j, 0.2 + 1e-6j, 2.0 + 0j, -0.5 + 0j]
    refs = tanh_d2_m_transform(q, zs)
    got = sm.m(np.array(zs))
    assert np.max(np.abs(got / refs - 1)) < 1e-12
    x = 0.95  # boundary value from the density of D^2 by change of variables
    rq = math.sqrt(float(q))
    hr = math.acosh(x**-0.25) / rq
    dprime = 4 * rq * math.cosh(rq * hr) ** -4 * math.tanh(rq * hr)
    rho = 2 * math.exp(-hr * hr / 2) / math.sqrt(2 * math.pi) / dprime
    assert sm.m(np.array([x + 0j]))[0].imag == pytest.approx(-math.pi * x * rho, rel=1e-12)
