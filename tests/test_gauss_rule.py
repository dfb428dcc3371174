"""The short Gauss rule that serves the quadrature laws of D^2 far from their spectra (spectral/laws/gauss_rule.py,
docs/design.md §4.6).

Independent truths: the moments of the discrete measure itself (a Gauss rule of n nodes is exact for polynomials
of degree 2n - 1), and M(zeta), M'(zeta) far from the spectrum as Gaussian integrals by mpmath (30 digits).
A negative control: a rule too short to represent the law there is refused (``usable`` False) and serves nothing.
"""

from __future__ import annotations

import math

import mpmath as mp
import numpy as np
import pytest
import sympy

from spectral.activations import activation
from spectral.laws.d2_piecewise import piecewise_d2
from spectral.laws.d2_quadrature import smooth_d2
from spectral.laws.gauss_rule import FarRule, _sums, _worst, bernstein_rho, gauss_rule
from spectral.laws.resolvent import ResolventSums

#: M and M' far from the spectrum against mpmath: the accuracy of the plain rule that the short rule stands for
#: (design §4.6; measured 4.7e-14 for M and 6e-13 for M' with tanh at q = 0.5, zeta = 1.4 + 0.05i, for the full
#: plain sums and the short rule alike).
M_RTOL = 1e-13
DM_RTOL = 2e-12
#: The short rule against the full plain sums, in units of eps times the size of their terms (the rule's own
#: acceptance, gauss_rule._CHECK_UNITS, which it measured on the ellipse rho = 2 only; here at rho 2 to 100).
SHORT_UNITS = 128.0
#: Moments of a Gauss rule against the measure's own: rounding of the Lanczos recurrence and of the eigenvectors
#: (measured 4e-15 for the moments up to degree 2n - 1 = 95).
MOMENT_RTOL = 1e-12

#: (activation, q): sigmoid on its critical line (q* = 62: the plain rule's 3000 nodes), tanh, sin (whose D^2
#: reaches 0), and the piecewise elu.
LAWS = [("sigmoid", 62.0), ("tanh", 0.5), ("sin", 1.0), ("elu", 2.0)]


def _law(name, q):
    law = smooth_d2(activation(name), q) if name != "elu" else piecewise_d2(activation(name), q)
    assert law is not None
    return law


def _rules(law):
    """The FarRules of a law (one for a smooth law, one per analytic piece of a piecewise one)."""
    return [law._far] if hasattr(law, "tiers") else [pc._far for pc in law.parts]


def _measures(law):
    """The discrete measures (nodes, weights) the rules stand for: the plain tier, or each piece's nodes."""
    if hasattr(law, "tiers"):
        return [(np.real(law.tiers[0][0]), np.real(law.tiers[0][1]))]
    return [(pc.d_k, pc.phi_w) for pc in law.parts]


def _mp_m(name, q, z, k):
    r"""E[d (z - d)^-k] over h ~ N(0, 1), d = phi'(sqrt(q) h)^2, by mpmath (the integrand is smooth for z far
    from the spectrum; breaks at the scale 1/sqrt(q) of d)."""
    act = activation(name)
    x = sorted(act.expr.free_symbols, key=str)[0]
    dphi = sympy.lambdify(x, sympy.diff(act.expr, x), modules="mpmath")
    rq = mp.sqrt(q)
    zz = mp.mpc(z.real, z.imag)

    def f(h):
        d = dphi(rq * h) ** 2
        return mp.npdf(h) * d / (zz - d) ** k

    breaks = [-mp.inf] + [mp.mpf(j) / rq for j in range(-4, 5)] + [mp.inf]
    return complex(mp.quad(f, breaks))


@pytest.mark.parametrize("name,q", LAWS, ids=[f"{a}-{q}" for a, q in LAWS])
def test_rule_is_exact_for_polynomials(name, q):
    law = _law(name, q)
    for rule in _rules(law):
        assert rule.usable
    d, w = _measures(law)[0]
    nodes, weights = gauss_rule(d, w, 48)
    scale = float(np.max(np.abs(d)))
    for k in range(2 * 48):
        exact = float(np.sum(w * (d / scale) ** k))
        assert abs(float(np.sum(weights * (nodes / scale) ** k)) - exact) <= MOMENT_RTOL * float(np.sum(w)), k


@pytest.mark.parametrize("name,q", LAWS, ids=[f"{a}-{q}" for a, q in LAWS])
def test_far_values_against_mpmath(name, q):
    law = _law(name, q)
    lo, hi = law.bounds
    span = hi - lo
    # rho from 2.2 to ~40: beyond the top, above the middle, beyond the lower end on the real axis
    # (below the spectrum, Im zeta < 0 over it, the laws serve the continuation from above: no such point here)
    zs = np.array([hi + 0.4 * span + 0.05j * span, lo + 0.5 * span + 0.9j * span, lo - 0.4 * span + 0j])
    for rule in _rules(law):
        assert np.all(rule.serves(zs)), bernstein_rho(zs, rule.lo, rule.hi)
    mp.mp.dps = 20
    m, dm, g1 = law.m(zs), law.dm(zs), law.g1(zs)
    for z, a, b, g in zip(zs, m, dm, g1, strict=True):
        r1, r2 = _mp_m(name, q, z, 1), -_mp_m(name, q, z, 2)
        assert abs(a - r1) <= M_RTOL * abs(r1), (z, a, r1)
        assert abs(b - r2) <= DM_RTOL * abs(r2), (z, b, r2)
        assert abs(g - 1 - a) <= M_RTOL * abs(g), (z, g, a)  # zeta G = 1 + M


@pytest.mark.parametrize("name,q", LAWS, ids=[f"{a}-{q}" for a, q in LAWS])
def test_short_rule_is_the_full_sums_to_rounding(name, q):
    """At rho from 2 to 100 in every direction the short rule's M, M', zeta G are the full sums' to their rounding."""
    law = _law(name, q)
    rng = np.random.default_rng(7)
    for rule, (d, w) in zip(_rules(law), _measures(law), strict=True):
        rho = np.exp(rng.uniform(math.log(2.0), math.log(100.0), 200))
        theta = rng.uniform(-math.pi, math.pi, 200)
        z = 0.5 * (rule.lo + rule.hi) + 0.25 * (rule.hi - rule.lo) * (rho * np.exp(1j * theta)
                                                                       + np.exp(-1j * theta) / rho)
        assert np.all(rule.serves(z))
        full, short = _sums(z, ResolventSums(d, w)), rule.sums(z)
        ra = np.abs(1.0 / (z[:, None] - d[None, :]))
        sizes = (full.size_g, full.size_m, (ra * ra) @ np.abs(w * d))
        assert _worst(full, short, sizes) <= SHORT_UNITS


def test_too_short_a_rule_is_refused():
    """8 nodes cannot represent sigmoid's D^2 at q = 62 to rounding at rho = 2: refused, and it serves nothing."""
    law = _law("sigmoid", 62.0)
    rule = FarRule(*law.tiers[0], 8, 2.0)
    assert not rule.usable
    assert rule.error > 1e-12
    assert not np.any(rule.serves(np.array([10.0 + 1j, -5.0 + 0j])))


def test_non_finite_points_have_no_value():
    """A NaN point (a Newton iterate that left the plane) gets NaN sums and an infinite rounding bound."""
    law = _law("tanh", 0.5)
    z = np.array([math.nan + 0j, 2.0 + 1j])
    m, noise = law.m(z), law.noise(z)
    assert math.isnan(m[0].real) and math.isinf(noise[0])
    assert np.isfinite(m[1]) and np.isfinite(noise[1])


def test_rule_of_a_measure_with_fewer_points_is_the_measure():
    """Asked for more nodes than the measure has points, the recurrence stops: the rule is the measure itself."""
    d = np.array([0.1, 0.5, 0.9] + [0.5] * 10)
    w = np.full(d.shape, 1 / 13)
    nodes, weights = gauss_rule(d, w, 8)
    np.testing.assert_allclose(nodes, [0.1, 0.5, 0.9], rtol=1e-14)
    np.testing.assert_allclose(weights, [1 / 13, 11 / 13, 1 / 13], rtol=1e-13)
