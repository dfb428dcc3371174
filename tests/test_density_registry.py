"""Every registry activation, both ensembles, depths 1 to 256, on the critical line (where there is one) and off it:
the density is either certified (mass 1 +- 1e-6, m_1 and m_2 within 1e-6 of the series, no uncertified node) or
refused -- served with ``certified`` False, a reason naming the failing checks, and an UncertifiedDensityWarning
from density, cdf and ppf -- never silently wrong and never a traceback.

Every case is in CERTIFIED (certified at every depth) or in PARTLY_CERTIFIED (certified at every depth but the listed
ones, where the refusal is pinned: not certified, with a reason). Orthogonal weights at depth 1 give the law of
sigma_w^2 D^2 itself, solved in closed form (docs/design.md §5.4): certified for every activation with an analytic
phi'. gelu and swish (whose D^2 has a log-normal spike at its limit 1, with mass within 1e-14 of 1, below what x
resolves in floating point) are served there by the push-forward of the Gaussian: x rho from the roots of d(h) = x,
the nodes next to the spike in log |x - x_inf| down to 2^-36 of it and the mass closer to it from the Gaussian tail
(mass error before -> after: gelu critical 2e-6 -> 2.6e-10, m_1 5.8e-6 -> 5.2e-10; swish critical 1.5e-4 -> 7.8e-12;
gelu off, q = 0.19, 1.4e-6 -> 2.5e-13; swish off 3.4e-7 -> 2.2e-14). sin: D^2 = cos^2 reaches 0 at the zeros of cos
(critical values 0 of the quadrature, docs/design.md §5.10); at depth 1 its certified cdf was 0 below 1.6e-5 and
1.5e-3 off in the bulk at sigma_w^2 = 1.05 before, 7e-6 now (tests/test_density_isometry.py). Leaky relu with
orthogonal weights is certified at every depth: depth 2 since the free product of two two-atom laws of mass 1/2 has
zero-mass atoms at its edges, where the bands now break, and no spectrum below the product of the factors' lower
bounds; depth 256 (slopes 0.01, 0.05, 0.5) since the edge scan resolves the gap between 0 and the atom alpha^2 of D^2:
the lower edge of L layers lies at zeta ~ 2 alpha^2 / L, which the scan's grid in alpha^2 - zeta put into the cell
holding zeta = 0, so the band started at the limit (sigma_w^2 alpha^2)^L instead (mass off 1.1e-4 to 1.1e-5, 4 nodes
uncertified for 0.05; now 6.2e-11 at most). The remaining refusals: selu / elu with orthogonal weights: D^2 is its
exact law, an atom of mass 1/2 plus the closed-form continuous part, at every depth (products of orthogonal layers
took its discrete quadrature law before, which is off by 1e-2 to 2.3e-2 in x rho next to the singular points of depth
2 against mpmath, tests/test_d2_piecewise.py), and the band down to the image of the law's Gaussian cut drops its
negligible deep tail (docs/design.md §5.6): selu critical certified at every depth (depth 2: mass error 3.4e-5 ->
5.7e-9; 256: refused -> 9e-11), selu off at 64 and 256 (1e-11, 3e-11), elu off at 64 and 256 (1.2e-12, 1.3e-10). Off
the critical line at depth 2 both are certified since a band end at the product's zero-mass atom takes nodes in the
log of the offset and the mass closer to it from the end law fitted there (docs/design.md §5.4): selu (mass off 0.036
-> 7.7e-12: the lower band of two layers, below their zero-mass atom, spreads over 50 decades), elu (5.4e-5 -> 1.7e-9:
its zero-mass atom is the top of the band, where x rho grows like t^(-1/2) log(1/t)^(1/2) in t = 1 - x/top; the
discrete law certified it while off by 2.3e-2 in x rho at 1e-4 below the top). Sigmoid off the critical line at depth
256: the mass is off or the series m_2 cannot be formed. Sigmoid with orthogonal weights on its critical line
(sigma_w^2 = 120, q* = 62) beyond depth 1: the spectrum reaches hundreds of e-folds below the band's grid (mass off
0.43 at depth 2 to 0.99 at 256). Swish/orthogonal on its critical line is certified at depth 4 only (its D^2 reaches 0
through an exponential tail beyond the quadrature's last node, 3e-14: mass off 0.05 to 0.95 from depth 2). Sigmoid and
softplus are certified everywhere: off the critical line at depth 256 the series m_2 (e^-1309) underflowed and the
check could not be made (now compared in log form; sigmoid/orthogonal also had the mass off 0.33, now 3e-11),
softplus/orthogonal had the mass off by 1.9e-4 to 0.93 at depths 2, 4, 32, 256 (now 1.3e-12 at most: complex zeta near
0 takes the tails' contour scale of D^2), and sigmoid/orthogonal on its critical line (sigma_w^2 = 120, q* = 62) by
0.43 at depth 2 to 0.99 at 256 (now 2.5e-13 at most: its spectrum spreads over up to 37560 e-folds, and the hidden
soft edge is searched down to the band's own lower end). Tanh/orthogonal off the critical line is certified at every
depth since the same tails' scale (256: mass off 4.4e-6 before). Swish/orthogonal on its critical line (q* = 17.3) is
certified at every depth since its D^2 reaches 0 by the double zero of phi' (a power law; before, the band ended at
the quadrature's lowest d, 3e-32: mass off 0.05 at depth 2, 0.59 to 0.95 from depth 16).

Independent truth: the series moments m_1, m_2 (Lagrange inversion in spectral.laws); the edges of leaky relu with
orthogonal weights by mpmath.
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import numpy as np
import pytest

from spectral import density as D
from spectral.product import Network, jacobian_law

#: Mass, m_1 and m_2 of a certified density agree with the series to this (the library's certificate).
TOL = D.CERTIFICATE_TOL

#: sigma_w^2 on the critical line (sigma_b^2 solved from chi_1 = 1); None: the activation has no critical line.
CRITICAL_SIGMA_W2 = {
    "relu": 2.0, "leaky_relu(0.01)": 2 / 1.0001, "leaky_relu(0.05)": 2 / 1.0025, "leaky_relu(0.2)": 2 / 1.04,
    "leaky_relu(0.5)": 2 / 1.25, "selu": 1.0, "elu": 1.0, "sigmoid": 120.0, "softplus": None, "gelu": 1.98,
    "swish": 1.98, "sin": 1.05, "erf": 1.05, "erf_scaled": 1.05, "tanh": 1.05, "hard_tanh": 1.05, "linear": 1.0,
}
#: The off-critical point of every activation.
OFF_CRITICAL = {"sigma_w2": 1.5, "sigma_b2": 0.1}
DEPTHS_FAST = (4,)
DEPTHS_SLOW = (1, 2, 8, 16, 32, 64, 256)
#: Lower and upper edges (log x) of leaky relu with orthogonal weights by mpmath, keyed by (activation, point,
#: depth) (reference_data/leaky_relu_orthogonal_edges.py); checked on the bands of the density's own edges.
LEAKY_EDGES = {(c["activation"], c["point"], c["depth"]): (float(c["log_lo"]), float(c["log_hi"])) for c in
               json.loads(Path(__file__).parents[1].joinpath("reference_data", "leaky_relu_orthogonal_edges.json")
                          .read_text())["cases"]}
#: The edge scan bisects zeta to rounding and log z at a critical point is second order in that error: what remains
#: is the rounding of log z itself, a few eps of its terms (measured 4e-14 relative at depth 256, |log x| = 2009).
EDGE_LOG_RTOL = 1e-12

#: (activation, weights, point) certified at every depth of the matrix.  Among them erf = erf(x) with orthogonal
#: weights at sigma_w2 = 1.05 critical, depth 1 (q* = 0.197, the law of D^2 itself: mass off by 0.028 on the
#: product's grid, 1e-10 in closed form).
CERTIFIED = {
    ("erf", "orthogonal", "critical"),
    ("relu", "gaussian", "critical"), ("relu", "gaussian", "off"), ("relu", "orthogonal", "critical"),
    ("relu", "orthogonal", "off"), ("erf", "gaussian", "critical"), ("erf", "gaussian", "off"),
    ("erf_scaled", "gaussian", "critical"), ("erf_scaled", "orthogonal", "critical"), ("erf_scaled", "gaussian", "off"),
    ("sin", "gaussian", "critical"), ("sin", "orthogonal", "critical"),
    ("elu", "gaussian", "critical"), ("elu", "gaussian", "off"), ("elu", "orthogonal", "critical"),
    ("selu", "gaussian", "critical"), ("selu", "gaussian", "off"), ("leaky_relu(0.5)", "gaussian", "critical"),
    # certified since D^2 is its exact law in products of orthogonal layers and the band of the law's cut drops
    # its negligible deep tail (docs/design.md §5.6, §5.10): depth 2 mass error 3.4e-5 -> 5.7e-9, 256 refused ->
    # 9e-11
    ("selu", "orthogonal", "critical"),
    ("leaky_relu(0.5)", "gaussian", "off"), ("tanh", "orthogonal", "critical"), ("tanh", "gaussian", "critical"),
    ("tanh", "gaussian", "off"), ("hard_tanh", "gaussian", "critical"), ("hard_tanh", "gaussian", "off"),
    ("hard_tanh", "orthogonal", "critical"), ("hard_tanh", "orthogonal", "off"), ("linear", "gaussian", "critical"),
    ("linear", "gaussian", "off"), ("linear", "orthogonal", "critical"), ("linear", "orthogonal", "off"),
    ("leaky_relu(0.2)", "gaussian", "critical"), ("leaky_relu(0.2)", "gaussian", "off"),
    ("leaky_relu(0.2)", "orthogonal", "critical"), ("leaky_relu(0.2)", "orthogonal", "off"),
    # depth 1 was refused (nodes within 1e-9 of the top edge of the lower band, where the continuation
    # stopped); certified since single layers take the wide step control and the 1/m seed (mass error 4e-14)
    ("leaky_relu(0.01)", "gaussian", "critical"), ("leaky_relu(0.01)", "gaussian", "off"),
    ("leaky_relu(0.05)", "gaussian", "critical"), ("leaky_relu(0.05)", "gaussian", "off"),
    # gelu on its critical line (q* = 3.74) was served by the discrete law of D^2 (its contour quadrature
    # failed its normalisation check: the rounding of 1 + erf)
    ("gelu", "gaussian", "critical"), ("swish", "gaussian", "off"),
    # certified since the sheet check and the march along the real axis (docs/design.md §4.3), the D^2 quadrature
    # of gelu and swish (§4.6) and the chunked tail (§5.7); mass error, worst of m_1, m_2 where measured:
    # sigmoid/Gaussian critical at 16 (1e-12, 5e-12), 64 (1.9e-11) and 256 (8.4e-7, 8e-10: the tail's power-law
    # remainder, 1.9e-6, decides it), softplus/Gaussian off at 64 and 256 (1e-11, 5e-10), gelu/Gaussian off at
    # 256 (6e-9, 5e-10), gelu/Gaussian critical at every depth (depth 8: 4.5e-5 -> 7e-13), swish/Gaussian
    # critical and off, swish/orthogonal off at 32 and 256 (6e-12, 5e-10)
    ("sigmoid", "gaussian", "critical"), ("softplus", "gaussian", "off"), ("gelu", "gaussian", "off"),
    ("swish", "gaussian", "critical"), ("swish", "orthogonal", "off"),
    # depth 1 refused before (mass off 2e-6 critical, 1.4e-6 off): certified since the law of sigma_w^2 D^2 is
    # the push-forward of the Gaussian with the spike's exact remainder (docs/design.md §5.4; mass error
    # 2.6e-10 critical, 2.5e-13 off)
    ("gelu", "orthogonal", "critical"), ("gelu", "orthogonal", "off"),
    # certified at depths 1, 4 and 8 only before (mass off 0.05 at depth 2, 0.59 to 0.95 from 16): since the
    # double zero of phi' at h = -0.31 makes the spectrum of D^2 reach 0 (a power law x^(1/2); docs/design.md
    # §4.6), the products' bands reach 0 and get the grid in log x and the tail (mass error <= 2.6e-8, depth 64)
    ("swish", "orthogonal", "critical"),
    # certified since the certificate compares m_1, m_2 with the series in log form (m_2 ~ e^-1309 underflowed at
    # depth 256: the check could not be made), complex zeta near 0 takes the tails' contour scale of D^2 also
    # where d reaches 0 through an exponential tail (docs/design.md §4.6), and the hidden soft edge is searched
    # down to the band's own lower end (§5.6); mass error before -> after: sigmoid/orthogonal off at 256 (0.33 ->
    # 3e-11), softplus/orthogonal off at 2 (1.9e-4 -> 3e-13), 4 (7e-3 -> 3e-13), 32 (0.58 -> 4e-13), 256 (0.93 ->
    # 1.3e-12), sigmoid/orthogonal critical at 2 to 256 (0.43 to 0.99 -> 2.5e-13 at most)
    ("sigmoid", "gaussian", "off"), ("sigmoid", "orthogonal", "off"), ("softplus", "orthogonal", "off"),
    ("sigmoid", "orthogonal", "critical"),
    # with the tails' scale near 0 (tanh's sech^4 reaches 0 through exponential tails too): depth 2 mass off
    # 7.7e-9, 256 (4.4e-6 -> 2e-12)
    ("tanh", "orthogonal", "off"),
    # depth 2 certified since the product's zero-mass atoms (its edges sigma_w^4 alpha^4, sigma_w^4) break the
    # bands and the factors' lower bound (sigma_w^2 alpha^2)^L removes the false band below the lower edge
    # (mass error 3e-3 -> 5e-13); depth 256 since the edge scan resolves the gap between 0 and the atom alpha^2
    # in the logit of zeta / alpha^2 (docs/design.md §4.7; both edges against mpmath: LEAKY_EDGES): mass error
    # 1.1e-4 -> 1.3e-11 (0.01), 1.1e-5 -> 2.1e-11 (0.05), 3.5e-5 -> 6.2e-11 (0.5), on and off the critical line
    ("leaky_relu(0.01)", "orthogonal", "critical"), ("leaky_relu(0.01)", "orthogonal", "off"),
    ("leaky_relu(0.05)", "orthogonal", "critical"), ("leaky_relu(0.05)", "orthogonal", "off"),
    ("leaky_relu(0.5)", "orthogonal", "critical"), ("leaky_relu(0.5)", "orthogonal", "off"),
    # depth 1 certified since D^2 is its exact law, an atom plus the closed-form continuous part (mass error 1 ->
    # 3e-13; tests/test_d2_piecewise.py); in products of orthogonal layers too (selu off at 64 and 256, elu off at
    # 64 and 256: refused -> 1e-11, 3e-11, 1.2e-12, 1.3e-10); depth 2 since a band end at the product's
    # zero-mass atom takes nodes in the log of the offset and the end law fitted there (docs/design.md §5.10;
    # mass error / worst of m_1, m_2: selu 0.036 -> 7.7e-12, 1.2e-11; elu 5.4e-5, 1.7e-4 -> 1.7e-9, 5.4e-9)
    ("selu", "orthogonal", "off"), ("elu", "orthogonal", "off"),
    # measured certified at every depth (mass error, worst of m_1, m_2 at most 1e-9, 3.7e-9 at depth 2)
    ("erf", "orthogonal", "off"), ("erf_scaled", "orthogonal", "off"), ("sin", "gaussian", "off"),
    # depth 256 certified since converged is judged at the rounding level of log z at the node (docs/design.md
    # §5.7): one tail node at u = log(x / lambda_max) = -7499 (residual 5.0e-11 above 16 eps |u| = 2.7e-11,
    # within 16 x the rounding level, 1.2e-10; Im m = +3.1e-16, x rho below the resolution of m) refused before;
    # mass 5.6e-13, m_1, m_2 3e-10
    ("sin", "orthogonal", "off"),
}


#: (activation, weights, point) certified at every depth of the matrix except the listed ones (refused there; none
#: left).
PARTLY_CERTIFIED: dict = {}


def test_every_case_is_pinned():
    """No case is left unpinned: each must be certified, or refused where listed."""
    cases = {(a, w, p) for a, s in CRITICAL_SIGMA_W2.items() for w in ("gaussian", "orthogonal")
             for p in (("critical", "off") if s is not None else ("off",))}
    assert cases == CERTIFIED | set(PARTLY_CERTIFIED)
    assert not CERTIFIED & set(PARTLY_CERTIFIED)


def _network(act, weights, point, depth):
    if point == "critical":
        return Network.critical(act, sigma_w2=CRITICAL_SIGMA_W2[act], depth=depth, weights=weights)
    return Network(activation=act, weights=weights, depth=depth, **OFF_CRITICAL)


def _cases(depths):
    out = []
    for act, s in CRITICAL_SIGMA_W2.items():
        for weights in ("gaussian", "orthogonal"):
            for point in ("critical", "off") if s is not None else ("off",):
                for depth in depths:
                    # one worker runs every depth of a case: the laws of D^2 it builds (cached per activation
                    # and q) serve all depths, and off the critical line the first layers' q are the same
                    marks = [pytest.mark.xdist_group(f"registry-{act}-{weights}-{point}")]
                    marks += [] if depths is DEPTHS_FAST else [pytest.mark.slow]
                    out.append(pytest.param(act, weights, point, depth, marks=marks,
                                            id=f"{act}-{weights}-{point}-{depth}"))
    return out


def _certified_or_refused(act, weights, point, depth):
    law = jacobian_law(_network(act, weights, point, depth))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = law.density(2000)
    unc = [w for w in caught if issubclass(w.category, D.UncertifiedDensityWarning)]
    d = res.diagnostics
    if res.certified:
        assert not unc
        assert abs(res.mass - 1.0) <= TOL and d["m1_rel_err"] <= TOL and d["m2_rel_err"] <= TOL
        assert d["n_uncertified_total"] == 0
        assert np.all(np.isfinite(res.density)) and np.all(res.density >= 0)
    else:
        assert res.reason and len(unc) == 1 and res.reason in str(unc[0].message)
        with pytest.warns(D.UncertifiedDensityWarning, match="NOT CERTIFIED"):
            law.cdf(np.array([1.0]))
        with pytest.warns(D.UncertifiedDensityWarning, match="NOT CERTIFIED"):
            law.ppf(np.array([0.5]))
    if weights == "orthogonal" and (act, point, depth) in LEAKY_EDGES:
        # the lower edge of L >= 3 layers is the critical point of z near zeta = 2 alpha^2 / L, not the limit
        # (sigma_w^2 alpha^2)^L (e^-1187 against e^-1357 for slope 0.05 at 256)
        e = D.edges(law)
        for got, ref in zip((e.log_bands[0][0], e.log_bands[-1][1]), LEAKY_EDGES[act, point, depth], strict=True):
            assert abs(got - ref) <= EDGE_LOG_RTOL * max(1.0, abs(ref)), (got, ref)
        # the factors' lower bound L log(sigma_w^2 alpha^2), kept as a log (e^-2358 for slope 0.01 at 256 is
        # below the float range), lies below the lower edge
        slope = float(act[len("leaky_relu("):-1])
        log_floor = depth * math.log(float(law.network.layers[0].sigma_w2) * slope**2)
        assert law.solver_factors().log_floor == pytest.approx(log_floor, rel=1e-12)
        assert log_floor < LEAKY_EDGES[act, point, depth][0]
    if (act, weights, point) in CERTIFIED:
        assert res.certified, res.reason
    if (act, weights, point) in PARTLY_CERTIFIED:
        assert res.certified == (depth not in PARTLY_CERTIFIED[act, weights, point]), res.reason


@pytest.mark.parametrize(("act", "weights", "point", "depth"), _cases(DEPTHS_FAST))
def test_registry_certified_or_refused(act, weights, point, depth):
    _certified_or_refused(act, weights, point, depth)


@pytest.mark.parametrize(("act", "weights", "point", "depth"), _cases(DEPTHS_SLOW))
def test_registry_certified_or_refused_all_depths(act, weights, point, depth):
    _certified_or_refused(act, weights, point, depth)
