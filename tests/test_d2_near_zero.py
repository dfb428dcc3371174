"""The laws of D^2 near zeta = 0 and the deep tails of their products, where m -> -1 thousands of e-folds below
the top (docs/design.md §5.10): sin at the end of its critical line (sigma_w^2 = 2, q* = 19.95; x rho ~ 1e-15)
and erf_scaled at sigma_w^2 = 4 (q* = 15/pi).

Independent truth: reference_data/sin_at_2_tail.json (mpmath at 40 digits: 1 + M(zeta) of D^2 = cos^2(sqrt(q) h)
from the Fourier series of the wrapped normal law, the density equation solved on the physical branch by
continuation along the arc z = x e^(i theta) from the negative axis) and reference_data/erf_scaled_d2_near_zero.json
(mpmath quadrature of 1 + M of D^2 = exp(-a h^2)).  At q* = 19.95 the law of sin's D^2 is the arcsine law to
e^(-2q) = 4.7e-18 (the reference's ``arcsine_rel``, 9e-18 to 2e-17 relative in 1 + m), whose S-transform
(2 + m)/(1 + m) is a linear factor: the solver's tail on that exact law is checked against the reference, and so
is the tail with the library's own law of D^2, exact (spectral.laws.d2_wrapped, checked against
reference_data/d2_wrapped_cosine.json: mpmath quadrature).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from spectral import density as D
from spectral.product import Network, jacobian_law

_DATA = Path(__file__).resolve().parents[1] / "reference_data"
REF = json.loads((_DATA / "sin_at_2_tail.json").read_text())
REF_ERF = json.loads((_DATA / "erf_scaled_d2_near_zero.json").read_text())

#: x rho of the solver's tail against the reference, relative: log x rho is interpolated linearly in log x
#: between nodes, exact for the power law x^(1/kappa) up to its corrections O(|1 + m|) ~ 1e-12 (measured
#: 2.3e-14 at most over the 34 reference points).
TAIL_RTOL = 1e-10


def _arcsine_product(depth, gaussian):
    r"""J J^T of sin at sigma_w^2 = 2 with D^2 the arcsine law: S_{sigma_w^2 D^2}(m) = (2 + m)/(2 (1 + m))
    per layer, times S_MP = 1/(1 + m) for Gaussian weights; m_2/m_1^2 - 1 adds up over the free factors
    (arcsine 1/2, Marchenko-Pastur 1)."""
    factors = (D.LinearFactor(1.0, ((0.5, 1.0), (1.0, -1.0)), multiplicity=depth),)
    if gaussian:
        factors += (D.LinearFactor(1.0, ((1.0, -1.0),), multiplicity=depth),)
    m2 = 1.0 + depth * (1.5 if gaussian else 0.5)
    return D.FactorizedLaw(factors, name=f"arcsine-product-{depth}", moments12=(1.0, m2))


def _ref_rows(weights, depth):
    return [r for r in REF["tails"] if (r["weights"], r["depth"]) == (weights, depth)]


def _xrho_at(res, log_x):
    ok = np.isfinite(res.xrho) & (res.xrho > 0)
    return np.exp(np.interp(log_x, res.log_x[ok], np.log(res.xrho[ok])))


@pytest.mark.parametrize(("weights", "depth"), [("gaussian", 64), ("orthogonal", 64), ("gaussian", 1000),
                                                ("orthogonal", 1000)])
def test_arcsine_product_tail_against_mpmath(weights, depth):
    """The law the library's sin at 2 approximates, with its exact factor: certified; the tail exponent is
    1/kappa, kappa = 2L + 1 (Gaussian) or L + 1 (orthogonal: each layer's 1 + M ~ (-zeta)^(1/2), so
    S ~ (1 + m)^-1 and z ~ (1 + m)^(L+1)), as the reference's local exponent; x rho has no zero: it follows
    the reference within TAIL_RTOL down to 1e-17, through the range where the quadrature's tail was refused
    (log x = -3753 to -3719, Gaussian depth 64).  About 0.1 s each."""
    res = D.density(_arcsine_product(depth, weights == "gaussian"), 2000)
    assert res.certified, res.reason
    kappa = 2 * depth + 1 if weights == "gaussian" else depth + 1
    assert res.diagnostics["tail_exponent"] == pytest.approx(1 / kappa, rel=1e-12)
    rows = _ref_rows(weights, depth)
    assert rows and all(abs(r["exponent"] * kappa - 1) < 1e-9 for r in rows)
    lx = np.array([r["log_x"] for r in rows])
    exact = np.array([r["xrho"] for r in rows])
    assert np.max(np.abs(_xrho_at(res, lx) / exact - 1)) < TAIL_RTOL


REF_WRAPPED = json.loads((_DATA / "d2_wrapped_cosine.json").read_text())

#: The exact law of sin's D^2 against mpmath (reference_data/d2_wrapped_cosine.py), relative in 1 + M and in M:
#: measured 4.7e-15 at most over the 75 points (q = 0.3, 1, 19.95; off, next to, on and below the spectrum, near 0
#: down to |zeta| = 1e-30), a few roundings of the series.
WRAPPED_RTOL = 1e-14
#: The quadrature's 1 + M (and M') against the exact law where the quadrature holds: off the axis at distance
#: 0.01 or more from the spectrum, or beyond |zeta| = 1e-10 near 0 (measured 5e-9 at q = 0.3, zeta = 0.5 - 0.1 i;
#: its dm within 1.5e-6 at |zeta| = 1e-20, q = 1; 1e-14 elsewhere).
QUADRATURE_RTOL = 1e-7
#: M' against a centred difference of the exact 1 + M with step H_DIFF |zeta - nearest end|: truncation
#: O(H_DIFF^2) = 1e-10 relative, rounding eps / H_DIFF ~ 2e-11.
H_DIFF, DM_RTOL = 1e-5, 1e-8


def _sin_d2(q):
    from spectral.laws.derivative import DerivativeLaw

    return next(f for f in DerivativeLaw("sin", q).solver_factors().factors if isinstance(f, D.ImplicitFactor))


def test_sin_d2_exact_law_against_mpmath():
    """sin's D^2 = cos^2(sqrt(q) h) in the solver is the exact law of spectral.laws.d2_wrapped: its 1 + M(zeta)
    within WRAPPED_RTOL of mpmath's quadrature and push-forward density (docs/design.md §4.6) at q = 0.3, 1, 19.95,
    far from, next to, on (Im, from above) and below the spectrum (the continuation from above, as the contour
    quadrature serves it), and near 0 down to |zeta| = 1e-30 (where the quadrature was off by 0.37 at 1e-26); its
    rounding bound (noise) covers the error; M' agrees with a centred difference of 1 + M.  About 0.5 s."""
    from spectral.laws.d2_wrapped import WrappedCosineD2

    for q in sorted({r["q"] for r in REF_WRAPPED["rows"]}):
        f = _sin_d2(q)
        assert isinstance(getattr(f.transforms, "__self__", None), WrappedCosineD2)
        assert f.bounds == (0.0, 1.0) and f.critical_values == (0.0, 1.0)
        rows = [r for r in REF_WRAPPED["rows"] if r["q"] == q]
        zeta = np.array([complex(r["re_zeta"], r["im_zeta"]) for r in rows])
        g1, m, dm, noise = f.transforms(zeta)
        assert np.array_equal(g1, f.g1(zeta)) and np.array_equal(m, f.m(zeta)) and np.array_equal(dm, f.dm(zeta))
        for k, r in enumerate(rows):
            if r["re"] is None:  # on the spectrum: Im(1 + M(x + i0)) = -pi x rho(x)
                assert abs(g1[k].imag / r["im"] - 1) < WRAPPED_RTOL, r
                continue
            ref = complex(r["re"], r["im"])
            assert abs(g1[k] / ref - 1) < WRAPPED_RTOL, r
            assert abs(m[k] - (ref - 1)) < WRAPPED_RTOL * abs(ref - 1), r
            assert abs(g1[k] - ref) <= noise[k], r
        h = H_DIFF * np.minimum(np.abs(zeta), np.abs(zeta - 1))
        diff = (f.g1(zeta + h) - f.g1(zeta - h)) / (2 * h)
        assert np.max(np.abs(diff / dm - 1)) < DM_RTOL


def test_sin_d2_exact_law_is_the_quadratures_where_it_holds():
    """The special case agrees with the general one: at q = 1 the contour quadrature (spectral.laws.d2_quadrature)
    gives the exact law's 1 + M, M, M' within QUADRATURE_RTOL where it holds, above and below the spectrum (there
    both continue from above); below q = 0.16 the series would lose over 3 digits next to 0 and the quadrature
    serves sin's D^2.  About 1 s (the quadrature's build)."""
    from spectral.activations import activation
    from spectral.laws.d2_quadrature import smooth_d2
    from spectral.laws.d2_wrapped import WrappedCosineD2, wrapped_d2

    exact, quad = wrapped_d2(activation("sin"), 1.0), smooth_d2(activation("sin"), 1.0)
    zeta = np.array([3 + 4j, -2, 1.5, 0.5 + 0.5j, 0.5 + 0.01j, 0.5 - 0.01j, 0.05 - 0.01j, 0.95 - 0.01j,
                     -0.1 - 0.01j, 1.1 - 0.01j, 0.3 - 1e-8j, -1e-10 + 1e-12j])
    for a, b in zip(exact.transforms(zeta)[:3], quad.transforms(zeta)[:3], strict=True):
        assert np.max(np.abs(a / b - 1)) < QUADRATURE_RTOL
    assert wrapped_d2(activation("sin"), 0.05) is None and isinstance(exact, WrappedCosineD2)


def test_cosine_derivative_decided_on_the_expression():
    """The exact law serves where phi' = A cos(B x) by its sympy expression (sin; 2 sin(3x)/3: A = 2, B = 3), not
    elsewhere (tanh, gelu, cos(2x), sin(x) + x); a scaled one is the unit law at Q = B^2 q, zeta / A^2 (its
    M' / A^2), spectrum [0, A^2].  (The contour quadrature of 2 sin(3x)/3 at q = 0.2 is off by 9e-7 at zeta = -1,
    1.4e-5 in M'; the exact law is mpmath's there to 1e-16, measured.)  About 0.4 s."""
    import sympy

    from spectral.activations import activation
    from spectral.laws.d2_wrapped import WrappedCosineD2, cosine_derivative

    x = sympy.Symbol("x")
    assert cosine_derivative(activation("sin")) == (1.0, 1.0)
    scaled = activation(2 * sympy.sin(3 * x) / 3, name="sin3")
    assert cosine_derivative(scaled) == (2.0, 3.0)
    for other in ("tanh", "gelu", sympy.cos(2 * x), sympy.sin(x) + x):
        assert cosine_derivative(activation(other)) is None
    from spectral.laws.derivative import DerivativeLaw

    f = next(f for f in DerivativeLaw(scaled, 0.2).solver_factors().factors if isinstance(f, D.ImplicitFactor))
    unit = WrappedCosineD2(1.0, 1.0, 9 * 0.2)
    zeta = np.array([5 + 4j, -1, 4.5, 2 + 0.05j, 2 - 0.05j, 0.1 + 0.01j, -1e-20 + 1e-22j])
    g1, m, dm, noise = f.transforms(zeta)
    ug1, um, udm, unoise = unit.transforms(zeta / 4)
    assert f.bounds == (0.0, 4.0)
    assert np.allclose(g1, ug1, rtol=1e-15, atol=0) and np.allclose(m, um, rtol=1e-15, atol=0)
    assert np.allclose(dm, udm / 4, rtol=1e-15, atol=0)


#: x rho of the solver's tail of sin at 2 (the exact law of D^2) against the reference, relative: measured 4.3e-11
#: at most over the 34 reference points (the arcsine factor's: 2.3e-14).
SIN_TAIL_RTOL = 1e-9


@pytest.mark.parametrize(("weights", "depth"), [("gaussian", 64), ("orthogonal", 64), ("gaussian", 1000),
                                                ("orthogonal", 1000)])
def test_sin_at_2_certified_with_the_exact_d2(weights, depth):
    """sin at sigma_w^2 = 2 with the library's own law of D^2 (the exact transforms, docs/design.md §5.10):
    certified, its tail exponent 1/kappa, and x rho within SIN_TAIL_RTOL of the reference down to 1e-16, through
    the range where the quadrature's tail was refused (its 1 + M off by 0.02 to 0.4 at |zeta| ~ 4e-26; refused,
    5 to 28 s).  About 1 s each."""
    law = jacobian_law(Network.critical("sin", sigma_w2=2.0, depth=depth, weights=weights))
    res = law.density(2000)
    assert res.certified, res.reason
    kappa = 2 * depth + 1 if weights == "gaussian" else depth + 1
    # the tail's exponent from its last nodes (measured within 5.5e-4 of 1/kappa, orthogonal depth 1000)
    assert res.diagnostics["tail_exponent"] * kappa == pytest.approx(1.0, abs=1e-3)
    # the reference points above the first node (orthogonal depth 1000: -31000 lies 30 e-folds below it, where
    # the density's power law extrapolates with its exponent off 5.5e-4)
    first = np.min(res.log_x[np.isfinite(res.xrho) & (res.xrho > 0)])
    rows = [r for r in _ref_rows(weights, depth) if r["log_x"] >= first]
    assert len(rows) >= 3
    lx = np.array([r["log_x"] for r in rows])
    exact = np.array([r["xrho"] for r in rows])
    assert np.max(np.abs(_xrho_at(res, lx) / exact - 1)) < SIN_TAIL_RTOL


#: erf_scaled's 1 + M near 0 (spectral.laws.d2_gaussian_tail) against mpmath, relative in 1 + M and in Im(1 + M)
#: (which carries x rho): measured 4.9e-15 and 7.3e-15 at most over the 12 points (|zeta| = 1e-8 to 1e-250), a few
#: roundings of t = s + log zeta (|s| up to 580).  The contour quadrature alone was off by 1.7e-5 at 1e-20, 1e-2 at
#: 1e-40, 0.12 at 1e-80 (arg zeta = pi - 0.05) and its M' overflowed below 1e-154.
ERF_NEAR_RTOL = 1e-13


def _erf_scaled_d2(q):
    from spectral.laws.derivative import DerivativeLaw

    return next(f for f in DerivativeLaw("erf_scaled", q).solver_factors().factors if isinstance(f, D.ImplicitFactor))


def test_erf_scaled_d2_near_zero_against_mpmath():
    """1 + M(zeta) of erf_scaled's D^2 = exp(-7.5 h^2) just off the negative axis, where the deep tails of its
    products solve (|zeta| ~ 1e-38 at log x = -5000, 1e-168 at -22800 for orthogonal depth 64), by the law's
    density in s = -log D^2 (docs/design.md §4.6): within ERF_NEAR_RTOL of mpmath (1 + M, M, Im(1 + M)), its
    rounding bound covering the error, its M' finite and equal to a centred difference of 1 + M (DM_RTOL) down to
    |zeta| = 1e-250.  About 0.1 s."""
    from spectral.laws.d2_gaussian_tail import GaussianTailD2

    f = _erf_scaled_d2(REF_ERF["q"])
    assert isinstance(getattr(f.transforms, "__self__", None), GaussianTailD2)
    zeta = np.array([r["abs"] * np.exp(1j * r["arg"]) for r in REF_ERF["g1"]])
    ref = np.array([complex(r["re"], r["im"]) for r in REF_ERF["g1"]])
    g1, m, dm, noise = f.transforms(zeta)
    assert np.array_equal(g1, f.g1(zeta)) and np.array_equal(m, f.m(zeta)) and np.array_equal(dm, f.dm(zeta))
    assert np.max(np.abs(g1 / ref - 1)) < ERF_NEAR_RTOL
    assert np.max(np.abs(g1.imag / ref.imag - 1)) < ERF_NEAR_RTOL
    assert np.max(np.abs(m - (ref - 1))) < ERF_NEAR_RTOL
    assert np.all(np.abs(g1 - ref) <= noise)
    h = H_DIFF * np.abs(zeta)
    diff = (f.g1(zeta + h) - f.g1(zeta - h)) / (2 * h)
    assert np.all(np.isfinite(dm)) and np.max(np.abs(diff / dm - 1)) < DM_RTOL


#: The rule in s against the contour quadrature at the threshold (|zeta| = NEAR_ZERO A^2, left half plane), where
#: both hold: measured 4.5e-16 in 1 + M and M, 1.9e-14 in M' (arg zeta = pi to pi/2) for erf_scaled at q* = 15/pi;
#: 1.8e-12 for erf(2) at q = 0.3 (A^2 = 16/pi, a = 2.4), the quadrature's Im(1 + M) of 3e-14 on the negative axis,
#: where 1 + M is real (the rule's: 5e-19); in M' 1.1e-10 there (the quadrature's Im M' 1.5e-8 against |M'| = 852,
#: the rule's 8e-14; the rule's M' is checked against a centred difference of its 1 + M).
THRESHOLD_RTOL, THRESHOLD_DM_RTOL = 1e-11, 1e-9


def test_gaussian_tail_continuous_at_the_threshold():
    """Where the rule in s takes over from the contour quadrature (|zeta| = NEAR_ZERO A^2, Re zeta <= 0) the two
    agree within THRESHOLD_RTOL in 1 + M, M and M'; across it, and in the right half plane (the spectrum (0, A^2]
    and the continuation from above below it, as the quadrature serves it), the quadrature's values are served
    unchanged.  About 1 s (the quadratures' builds)."""
    from spectral.laws.d2_gaussian_tail import NEAR_ZERO

    for act, q in (("erf_scaled", REF_ERF["q"]), ("erf(2)", 0.3)):
        from spectral.laws.derivative import DerivativeLaw

        f = next(f for f in DerivativeLaw(act, q).solver_factors().factors if isinstance(f, D.ImplicitFactor))
        law = f.transforms.__self__
        top = law.scale * NEAR_ZERO
        args = np.array([math.pi, math.pi - 0.05, math.pi - 1, math.pi / 2 + 0.3, math.pi / 2 + 1e-9])
        zeta = top * (1 - 1e-12) * np.exp(1j * args)
        exact = law.exact_near(zeta)
        for a, b, tol in zip(exact[:3], law.smooth.transforms(zeta)[:3], (THRESHOLD_RTOL,) * 2 + (THRESHOLD_DM_RTOL,),
                             strict=True):
            assert np.max(np.abs(a / b - 1)) < tol
        h = H_DIFF * np.abs(zeta)
        diff = (law.exact_near(zeta + h)[0] - law.exact_near(zeta - h)[0]) / (2 * h)
        assert np.max(np.abs(diff / exact[2] - 1)) < DM_RTOL
        assert np.all(law.near(zeta)) and np.all(law.near(zeta.conjugate()))
        # below the negative axis the law's own value, the conjugate (the quadrature there is off by 8.9e-6 at
        # arg zeta = -pi/2 - 0.3, erf_scaled: against mpmath, the rule 2.2e-16, measured)
        for a, b in zip(law.exact_near(zeta.conjugate())[:3], exact[:3], strict=True):
            assert np.max(np.abs(a / b.conjugate() - 1)) < 1e-15
        # the quadrature's own: beyond the threshold, in the right half plane (on, above and below the spectrum)
        other = np.array([top * 1.01 * np.exp(1j * math.pi), 1e-9 * (1 + 1j), 1e-9 * (1 - 1j), 1e-9 + 0j,
                          0.3 * law.scale - 0.01j, -0.5 + 0.2j])
        assert not np.any(law.near(other))
        for a, b in zip(f.transforms(other), law.smooth.transforms(other), strict=True):
            assert np.array_equal(a, b)


def test_gaussian_derivative_decided_on_the_expression():
    """The rule in s serves where phi' = A exp(-B x^2) by its sympy derivative (erf: 2/sqrt(pi), 1; erf_scaled: 1,
    pi/4; erf(2): 4/sqrt(pi), 4), not elsewhere (tanh, gelu, sin, erf(x) + x, exp(-x^2) as phi), nor where
    a = 2 B q < MIN_A.  About 0.3 s."""
    import sympy

    from spectral.activations import activation
    from spectral.laws.d2_gaussian_tail import gaussian_derivative

    x = sympy.Symbol("x")
    for act, ab in (("erf", (2 / math.sqrt(math.pi), 1.0)), ("erf_scaled", (1.0, math.pi / 4)),
                    ("erf(2)", (4 / math.sqrt(math.pi), 4.0))):
        assert gaussian_derivative(activation(act)) == pytest.approx(ab, rel=1e-15)
    for other in ("tanh", "gelu", "sin", sympy.erf(x) + x, sympy.exp(-x**2)):
        assert gaussian_derivative(activation(other)) is None
    # a = pi q / 2 below MIN_A (E[1/D^2] finite): the contour quadrature alone
    from spectral.laws.d2_gaussian_tail import MIN_A, gaussian_tail_d2
    from spectral.laws.d2_quadrature import smooth_d2

    q = 0.9 * 2 * MIN_A / math.pi
    assert gaussian_tail_d2(activation("erf_scaled"), q, smooth_d2(activation("erf_scaled"), q)) is None


@pytest.mark.parametrize(("weights", "depth"), [("gaussian", 64), ("orthogonal", 64), ("gaussian", 1000),
                                                ("orthogonal", 1000)])
def test_erf_scaled_at_4_certified_with_the_exact_tail(weights, depth):
    """erf_scaled at sigma_w^2 = 4 (q* = 15/pi), refused before (mass off 2.9e-6 to 2e-3: the quadrature's 1 + M
    of D^2 near 0), certified with 1 + M near 0 by the rule in s (docs/design.md §5.10), and E[log lambda] equal to
    the Fuglede-Kadison determinant's, L (log 4 - 7.5), minus L for Gaussian weights, within the certificate's
    tolerance (measured 4.4e-11 at depth 64, 4.6e-10 at 1000).  2.5 to 5.3 s each."""
    from test_density_isometry import LOG_MOMENT_RTOL, _log_determinant, _log_moment

    res = jacobian_law(Network.critical("erf_scaled", sigma_w2=4.0, depth=depth, weights=weights)).density(2000)
    assert res.certified, res.reason
    assert _log_moment(res) == pytest.approx(_log_determinant("erf_scaled", 4.0, depth, weights == "gaussian"),
                                             rel=LOG_MOMENT_RTOL)
