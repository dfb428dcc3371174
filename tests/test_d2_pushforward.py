"""The law of D^2 = phi'(sqrt(q) h)^2 of gelu and swish on its own spectrum, as the push-forward of the Gaussian
(spectral.laws.d2_pushforward), and the depth-1 densities with orthogonal weights that it serves
(docs/design.md §5.4): x rho, interval masses (the spike's remainder within 2^-36 of the limit 1 of d among
them), and the certificate of the law of sigma_w^2 D^2.

Independent truth: reference_data/d2_pushforward.json (mpmath at 30 digits: phi', phi'' and the roots of
d(h) = y in high precision, interval masses from the Gaussian CDF at those roots), and the series moments
m_1, m_2 (the certificate).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from spectral.laws.d2_quadrature import smooth_d2
from spectral.product import Network, jacobian_law

REF = json.loads((Path(__file__).parent.parent / "reference_data" / "d2_pushforward.json").read_text())

#: x rho relative to mpmath: the roots of d(h) = y in double precision, measured 1e-13 worst in the bulk (y from
#: 1e-6 to 1.1, 1e-6 above the limit 1: 4e-11); 1e-9 below the local maximum c (y = c - 1e-9: d's rounding, 1e-18,
#: against c - y; measured 8e-9) ...
XRHO_TOL = 2e-8
#: ... at y = 1e-20, next to the double zero of phi': phi' = +-1e-10 there is rounded to ~1e-17 absolute, 1e-7 of
#: the root's offset (measured 4.7e-7, gelu off the critical line) ...
XRHO_ZERO_TOL = 2e-6
#: ... and at y = 1 + 1e-11 on the spike: d - 1 is rounded to 2.2e-16 absolute, 2e-5 of the offset (measured
#: 1.6e-5).  The grid's nodes start at 2^-36 = 1.5e-11 above the limit, where a node carries ~1e-6 of the mass:
#: 2e-11 of mass, far below the certificate's 1e-6.
XRHO_SPIKE_TOL = 5e-5
#: (y index in the reference -> tolerance) where not XRHO_TOL
XRHO_TOLS = {0: XRHO_ZERO_TOL, 5: XRHO_SPIKE_TOL}
#: Interval masses, absolute: the root of d(h) = 1 + 2^-36 from d - 1 in double precision moves the spike's
#: remainder (7.85e-5 for gelu at q* = 3.74) by 4e-10; an interval ending at the local maximum c, where d is
#: flat, by phi(h_c) times the root's error sqrt(1e-18 / |d''(c)|): measured 2.9e-9.  Far below the
#: certificate's 1e-6.
MASS_TOL = 5e-9


def _network(key):
    case = REF[key]
    act = key.split("-")[0]
    if case["sigma_b2"] is None:
        return Network.critical(act, sigma_w2=case["sigma_w2"], depth=1, weights="orthogonal")
    return Network(activation=act, weights="orthogonal", depth=1, sigma_w2=case["sigma_w2"],
                   sigma_b2=case["sigma_b2"])


@pytest.fixture(scope="module", params=["gelu-critical", "swish-critical", "gelu-off"])
def case(request):
    key = request.param
    net = _network(key)
    d2 = jacobian_law(net).d2_laws[0]
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        sm = smooth_d2(net.activation, float(d2.q))
    return key, net, float(d2.q), sm.pushforward()


def test_q_matches_reference(case):
    key, _, q, _ = case
    assert q == pytest.approx(REF[key]["q"], rel=1e-10)


def test_xrho_against_mpmath(case):
    """x rho of D^2 at points near 0, in the bulk, 1e-11 and 1e-6 above the limit 1 (the spike) and 1e-9 on
    either side of the local maximum."""
    key, _, _, pf = case
    y, want = (np.array(v) for v in zip(*REF[key]["xrho"], strict=True))
    got = pf.xrho(y)
    tol = np.array([XRHO_TOLS.get(k, XRHO_TOL) for k in range(y.size)])
    assert np.all(np.abs(got / want - 1) <= tol), (got / want - 1)


def test_interval_masses_against_mpmath(case):
    """The mass within 2^-36 of the limit 1 on either side (what the density grid leaves to the law), below the
    local maximum and between it and 1."""
    key, _, _, pf = case
    for a, b, want in REF[key]["mass"]:
        assert abs(pf.mass_between(a, b) - want) <= MASS_TOL, (a, b, want)
    assert pf.mass_between(0.0, 1e6) == pytest.approx(1.0, abs=1e-14)


def test_depth_one_density_certified_with_the_spike_remainder():
    """The law of sigma_w^2 D^2 (orthogonal weights, depth 1) is certified, its spike remainder is the reference
    mass within 2^-36 of the limit on both sides, and its pdf agrees with the reference x rho at points of the
    bulk.  gelu on its critical line, the largest remainder (7.9e-5; the registry's depth-1 rows certify swish
    and gelu off the critical line too).  Before the push-forward: mass off 2e-6 (gelu critical), 1.5e-4 (swish
    critical), 1.4e-6 (gelu off)."""
    key = "gelu-critical"
    law = jacobian_law(_network(key))
    res = law.density(2000)
    assert res.certified, res.reason
    spike = sum(v for a, b, v in REF[key]["mass"] if abs(a - 1) < 1e-6 and abs(b - 1) < 1e-6)
    assert abs(res.diagnostics["spike_remainder"] - spike) <= 2 * MASS_TOL  # one interval each side
    sw2 = REF[key]["sigma_w2"]
    y, want = (np.array(v) for v in zip(*REF[key]["xrho"][2:5], strict=True))
    got = np.asarray(law.pdf(sw2 * y)) * sw2 * y
    assert np.max(np.abs(got / want - 1)) <= XRHO_TOL, (got, want)
