"""The law of D^2 for selu / elu (phi' constant on h > 0, lambda alpha e^h on h < 0): an atom plus a continuous
part in closed form (spectral/laws/d2_piecewise.py, docs/design.md §4.6), and the certified density of one
orthogonal layer, JJ^T = sigma_w^2 D^2 (docs/design.md §5.4).

Independent truths: the change of variables computed with scipy.stats.norm (the density of D^2), mpmath
quadrature of E[d / (zeta - d)] at 20 digits (M off the real axis), the series moments (the certificate),
sampled D^2 with a Kolmogorov--Smirnov test, and x rho of two orthogonal layers solved by mpmath at 30 digits
(reference_data/d2_piecewise_products.py: the exact law of D^2 in the product, docs/design.md §5.10).
"""

from __future__ import annotations

import json
import math
import warnings
from fractions import Fraction
from pathlib import Path

import mpmath as mp
import numpy as np
import pytest
from scipy import stats

from spectral import density as D
from spectral.activations import activation
from spectral.laws.d2_piecewise import piecewise_d2
from spectral.laws.derivative import DerivativeLaw
from spectral.product import Network, jacobian_law

#: (lambda, alpha) of the registry's selu and elu (phi = lambda x on x > 0, lambda alpha (e^x - 1) below).
PARAMS = {"selu": (1.0507009873554805, 1.6732632423543772), "elu": (1.0, 1.0)}
#: The closed form is exact; the quadrature in t reproduces mpmath to rounding (measured 2e-15 for M, 1e-12
#: for M', whose pole subtraction cancels more): with room for the platform.
M_RTOL = 1e-12
DM_RTOL = 1e-9
#: The density of D^2 from the law against the change of variables: both are exact formulas, evaluated
#: differently (Newton for t_* against log, scipy's normal pdf).
PDF_RTOL = 1e-12
#: Kolmogorov's quantile at alpha = 1e-3 (the sampled law against the exact CDF).
KOLMOGOROV_999 = 1.9495
#: x rho of two orthogonal layers against mpmath: the same equation solved in float with the exact law of D^2
#: (measured 2e-12 at 1e-4 below elu's singular top, 1e-14 elsewhere), with room for the platform; the discrete
#: quadrature law of D^2 that products used before is off by 1e-2 (selu next to sigma_w^4 lambda^4) and 2.3e-2
#: (elu below its top) there.
PRODUCT_RTOL = 1e-10
REFERENCE = Path(__file__).resolve().parents[1] / "reference_data" / "d2_piecewise_products.json"


def _rho_change_of_variables(name, q, u):
    """Density of the continuous part of D^2 at u in (0, (lambda alpha)^2): u = c e^(2 sqrt(q) h), h < 0."""
    lam, alpha = PARAMS[name]
    c = (lam * alpha) ** 2
    h = np.log(u / c) / (2 * math.sqrt(q))
    return stats.norm.pdf(h) / (2 * math.sqrt(q) * u)


@pytest.mark.parametrize("name", ["selu", "elu"])
@pytest.mark.parametrize("q", [0.3, 1.5])
def test_atom_and_density_against_change_of_variables(name, q):
    law = piecewise_d2(activation(name), q)
    lam, alpha = PARAMS[name]
    assert law.atoms == [(pytest.approx(lam**2, rel=1e-15), Fraction(1, 2))]
    u = (lam * alpha) ** 2 * np.array([1e-3, 0.1, 0.5, 0.9, 0.999])
    ref = _rho_change_of_variables(name, q, u)
    np.testing.assert_allclose(law.density(u), ref, rtol=PDF_RTOL)
    # the continuous mass is 1/2 (h < 0): the quadrature's weights with the atom sum to 1
    assert abs(law.mean - DerivativeLaw(name, q).moments(1)[0]) <= 1e-13 * law.mean


@pytest.mark.parametrize("name", ["selu", "elu"])
def test_m_off_the_axis_against_mpmath(name):
    q = 1.0
    law = piecewise_d2(activation(name), q)
    # the law's own top and atom (the activation's rational parameters): next to the end c a float rounding of
    # c would move the reference by ~1e-16 c / |z - c|
    c, lam2 = law.jumps[-1], law.atoms[0][0]
    zs = np.array([0.5 + 0.3j, 0.01 + 1e-6j, 0.9 + 1e-5j, c * (1 + 1e-9j)])
    mp.mp.dps = 20

    def ref(z, k):
        hs = float(mp.re(mp.log(z / c))) / (2 * math.sqrt(q))
        # graded towards the pole's real part (a near-singularity of the integrand, at the end 0 for z near c)
        near = {min(hs, 0.0) - 10.0**-k for k in range(3, 11)} | {hs, hs + 1e-3}
        pts = sorted({-mp.inf, -5, -2, -1, 0} | {p for p in near if -12 < p < 0})
        f = lambda h: mp.npdf(h) * c * mp.e ** (2 * h) / (z - c * mp.e ** (2 * h)) ** k  # noqa: E731
        return complex(mp.quad(f, pts) + 0.5 * lam2 / (z - lam2) ** k)

    m, dm, g1 = law.m(zs), law.dm(zs), law.g1(zs)
    for z, a, b, g in zip(zs, m, dm, g1, strict=True):
        r1, r2 = ref(mp.mpc(z), 1), -ref(mp.mpc(z), 2)
        assert abs(a - r1) <= M_RTOL * abs(r1)
        assert abs(g - 1 - r1) <= M_RTOL * abs(1 + r1)
        assert abs(b - r2) <= DM_RTOL * abs(r2)


def test_m_is_continued_across_the_spectrum():
    """Below the spectrum, M is the continuation from above (Newton iterates of a product visit it): its values
    just below and just above a point of the spectrum agree, and differ from the conjugate (the integral's
    own value below)."""
    law = piecewise_d2(activation("selu"), 1.0)
    for x in (0.05, 0.7, 2.0, 3.0):
        above, below = law.m(np.array([x + 1e-9j]))[0], law.m(np.array([x - 1e-9j]))[0]
        assert abs(above - below) <= 1e-6 * abs(above)
        assert abs(above.imag) > 1e-3


@pytest.mark.parametrize(("name", "point"), [("selu", "critical"), ("selu", "off"), ("elu", "off")])
def test_depth_one_orthogonal_certified_against_the_closed_form(name, point):
    """JJ^T = sigma_w^2 D^2: certified, its density equals the change of variables at the nodes, and the atom
    (sigma_w^2 lambda^2, 1/2) is exact."""
    if point == "critical":
        net = Network.critical(name, sigma_w2=1.0, depth=1, weights="orthogonal")
    else:
        net = Network(activation=name, weights="orthogonal", depth=1, sigma_w2=1.5, sigma_b2=0.1)
    law = jacobian_law(net)
    s2, q = float(net.layers[0].sigma_w2), float(law.q[0])
    lam, alpha = PARAMS[name]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = law.density(600)
    assert res.certified, res.reason
    assert abs(res.mass - 1) <= 1e-10
    assert res.diagnostics["m1_rel_err"] <= 1e-10 and res.diagnostics["m2_rel_err"] <= 1e-10
    (loc, mass), = law.exact_atoms()
    assert mass == Fraction(1, 2) and float(loc) == pytest.approx(s2 * lam**2, rel=1e-14)
    x, rho = np.asarray(res.x), np.asarray(res.density)
    inside = (x > 1e-8 * s2) & (x < s2 * (lam * alpha) ** 2 * (1 - 1e-9))
    ref = _rho_change_of_variables(name, q, x[inside] / s2) / s2
    np.testing.assert_allclose(rho[inside], ref, rtol=1e-9, atol=1e-14 * float(np.max(ref)))


def test_depth_one_cdf_against_samples():
    """The CDF of selu / orthogonal depth 1 (atom included) against 20000 sampled sigma_w^2 phi'(sqrt(q) h)^2:
    KS below Kolmogorov's 0.999 quantile; and the law scaled by 1.05 fails it."""
    net = Network(activation="selu", weights="orthogonal", depth=1, sigma_w2=1.5, sigma_b2=0.1)
    law = jacobian_law(net)
    q = float(law.q[0])
    rng = np.random.default_rng(11)
    n = 20000
    sample = np.sort(1.5 * np.asarray(activation("selu").dphi(math.sqrt(q) * rng.standard_normal(n))) ** 2)
    # the atom is a jump: compare at points just off the sample values on both sides
    lam = PARAMS["selu"][0]
    # every 10th order statistic (the supremum over them bounds the KS distance from below: still a test that
    # fails on a wrong law, at a tenth of the cost of the CDF)
    cont = sample[np.abs(sample - 1.5 * lam**2) > 1e-12][::10]
    ecdf_hi = np.searchsorted(sample, cont, side="right") / n
    ecdf_lo = np.searchsorted(sample, cont, side="left") / n

    def ks(cdf):
        return max(float(np.max(np.abs(ecdf_hi - cdf))), float(np.max(np.abs(ecdf_lo - cdf))))

    assert ks(law.cdf(cont)) <= KOLMOGOROV_999 / math.sqrt(n)
    assert ks(law.cdf(cont / 1.05)) > KOLMOGOROV_999 / math.sqrt(n)


@pytest.mark.parametrize("key", ["selu-critical", "elu-off"])
def test_two_orthogonal_layers_against_mpmath(key):
    """A product of orthogonal layers takes the exact law of D^2 (its jumps and atom are inherited by the
    product's density, which the discrete law smears): x rho of depth 2 in the bulk, next to the zero-mass atom
    sigma_w^4 lambda^4 (selu) and 1e-3, 1e-4 below the singular top (elu) against the mpmath solution."""
    ref = json.loads(REFERENCE.read_text())[key]
    name, point = key.split("-")
    if point == "critical":
        net = Network.critical(name, sigma_w2=1.0, depth=2, weights="orthogonal")
    else:
        net = Network(activation=name, weights="orthogonal", depth=2, sigma_w2=1.5, sigma_b2=0.1)
    law = jacobian_law(net)
    assert float(law.q[0]) == pytest.approx(ref["q"], rel=1e-12)
    x = np.array(ref["x"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m = D.solve_m_transform(law, x + 0j)
    np.testing.assert_allclose(-np.imag(m) / math.pi, ref["xrho"], rtol=PRODUCT_RTOL)


#: The end law next to a zero-mass atom against mpmath where it is fitted (offsets 1e-4 to 1e-7: measured 2e-8 for
#: elu, 1e-9 for selu, the fit's residual; the solver's own x rho is known to ~5e-8 of |m| at 1e-7, its attainable
#: accuracy growing like 1/t) ...
END_FIT_RTOL = 1e-7
#: ... and beyond the nodes, where it serves the mass (1e-9 and 1e-11: measured 1.2e-5, 8.4e-5 for elu, whose
#: logarithmic factor the fit extrapolates; 2e-7, 1e-6 for selu): 5e-4 of the end law below 1e-9 (~3e-5 of mass)
#: is ~1e-8 of mass, inside the certificate's 1e-6.
END_RTOL = 5e-4
#: Nodes of the end piece (the density's own grid gives an end a quarter of a band's nodes; only those within
#: _SINGULAR_FIT_EFOLDS of the lowest offset are solved here: 12, the fit's minimum).
END_NODES = 100


@pytest.mark.parametrize("key", ["selu-off-end-", "selu-off-end+", "elu-off-end-"])
def test_zero_mass_atom_end_against_mpmath(key):
    """Two orthogonal layers off the critical line next to their zero-mass atom x_s (selu: inside the spectrum,
    x rho ~ t^(-1/2) on both sides; elu: the top, t^(-1/2) log(1/t)^(1/2)): the end law fitted on the solved
    nodes of an end piece (docs/design.md §5.4) against the mpmath solution, where it was fitted (1e-4 to 1e-7)
    and beyond its nodes (1e-9, 1e-11), where the continuation does not certify and the law serves the mass."""
    from spectral.density.edges import _system
    from spectral.density.real_axis import _solve_real
    from spectral.density.singular_end import _end_mass, _end_piece
    from spectral.density.threads import _thread_policy
    from spectral.density.tolerances import _SINGULAR_END_OFFSET, _SINGULAR_FIT_EFOLDS

    ref = json.loads(REFERENCE.read_text())[key]
    name = key.split("-")[0]
    law = jacobian_law(Network(activation=name, weights="orthogonal", depth=2, sigma_w2=1.5, sigma_b2=0.1))
    assert float(law.q[0]) == pytest.approx(ref["q"], rel=1e-12)
    e = D.edges(law)
    log_s, side = math.log(ref["x_s"]), ref["side"]
    (other,) = [lo if side < 0 else hi for lo, hi in e.log_bands if abs((hi if side < 0 else lo) - log_s) < 1e-9]
    piece = _end_piece(log_s - e.log_lambda_max, other - e.log_lambda_max, END_NODES)
    window = np.log(np.abs(np.expm1(piece.u - piece.end_u))) <= math.log(_SINGULAR_END_OFFSET) + _SINGULAR_FIT_EFOLDS
    u = piece.u[window]
    # the solver's own BLAS policy (one thread: called outside the pipeline, two threads cost 10 times the CPU)
    sol = _thread_policy(_solve_real)(_system(law, e.log_lambda_max), u)
    fit = _end_mass(piece, u, -np.imag(sol.m) / math.pi, sol.ok)
    assert math.isfinite(fit.mass)
    t, xr = np.array(ref["t"]), np.array(ref["xrho"])
    near = t >= _SINGULAR_END_OFFSET
    np.testing.assert_allclose(fit.xrho(t[near]), xr[near], rtol=END_FIT_RTOL)
    np.testing.assert_allclose(fit.xrho(t[~near]), xr[~near], rtol=END_RTOL)
