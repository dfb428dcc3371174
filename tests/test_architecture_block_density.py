"""M_{BB^T}(zeta) of a residual block by subordination, against the moment series of the block law."""

import json
from pathlib import Path

import numpy as np
import pytest

import spectral as sp
from spectral.architecture import architecture_law
from spectral.architecture.block_density import BlockTransform, block_solver_factors
from spectral.architecture.block_edges import EDGE_IM_TOL, EDGE_NOISE

#: M from the subordination solve vs the truncated moment series (60 terms, |zeta| well outside the support)
REL_M = 1e-9
#: dM from implicit differentiation vs a central difference with step 1e-6 |zeta| (its rounding ~1e-10 / 1e-6)
REL_DM = 1e-6


@pytest.mark.parametrize(("branch", "alpha", "beta"), [
    ([sp.Dense("gaussian", 1.0)], 1.0, 0.5),
    ([sp.Dense("gaussian", 1.0), sp.activation("tanh"), sp.Dense("orthogonal", 1.0)], 1.0, 1.0),
    ([sp.Dense("gaussian", 2.0), sp.activation("relu")], 0.0, 1.0),
])
def test_block_m_transform_matches_series(branch, alpha, beta):
    block = architecture_law(sp.Sequential([sp.Residual(branch, alpha=alpha, beta=beta)])).blocks[0]
    tr = BlockTransform(block.branch_law, block.alpha, block.beta)
    fl = block_solver_factors(block)
    hi = fl.factors[0].bounds[1]
    zeta = np.array([3 * hi + 2j, 2.5 * hi - 1.5j * hi, -2 * hi + 0.5j])
    k = 60
    m = block.moments(k)
    series = np.array([sum(m[j] / z ** (j + 1) for j in range(k)) for z in zeta])
    np.testing.assert_allclose(tr.m(zeta), series, rtol=REL_M)
    h = 1e-6 * hi
    fd = (tr.m(zeta + h) - tr.m(zeta - h)) / (2 * h)
    np.testing.assert_allclose(tr.dm(zeta), fd, rtol=REL_DM)
    assert fl.moments12 == pytest.approx(tuple(m[:2]))
    assert fl.factors[0].bounds[0] >= 0


def test_a_served_batch_is_a_new_solve_bit_for_bit():
    """A transform serves a batch again while its warm starts, barriers and edges are unchanged (the density
    solver's Newton asks for a point, then a rejected NaN trial, then the point again): bit for bit what a new
    transform solves for it, without solving it again; served arrays are copies; a new warm start (another
    point solved) clears what was kept, and the point is solved again (now from that warm start)."""
    branch = [sp.Dense("gaussian", 1.0), sp.activation("tanh"), sp.Dense("orthogonal", 1.0)]
    block = architecture_law(sp.Sequential([sp.Residual(branch, alpha=1.0, beta=1.0)])).blocks[0]
    tr = BlockTransform(block.branch_law, block.alpha, block.beta)
    a = np.array([0.7 * tr.scale ** 2 + 0.3j])
    m = tr.m(a)
    assert np.isfinite(m[0]) and tr.stats["calls"] == 1
    assert np.isnan(tr.m(np.array([np.nan + 0j]))[0]) and tr.stats["calls"] == 2
    m[0] = 0.0  # the caller's copy
    again, g1, dm = tr.m(a), tr.g1(a), tr.dm(a)
    assert tr.stats["calls"] == 2
    fresh = BlockTransform(block.branch_law, block.alpha, block.beta)
    np.testing.assert_array_equal(again, fresh.m(a))
    np.testing.assert_array_equal(g1, fresh.g1(a))
    np.testing.assert_array_equal(dm, fresh.dm(a))
    tr.m(a * 1.01)  # a second solved point: the warm starts change
    assert tr.stats["calls"] == 3
    np.testing.assert_allclose(tr.m(a), again, rtol=REL_M)
    assert tr.stats["calls"] == 4


#: mass, m_1 and m_2 of a certified block density against the moment series: the solver's certificate tolerance
TOL_CERT = 1e-6


def test_single_tanh_block_density_is_certified():
    """B = I + D W (tanh, Gaussian sigma_w^2 = 1, q = 1): m_1 = 1.4644029, m_2 = 3.41479087 (issue 13)."""
    block = architecture_law(sp.Sequential([sp.Residual([sp.Dense("gaussian", 1.0), sp.activation("tanh")],
                                                        alpha=1.0, beta=1.0)])).blocks[0]
    res = block.density(200)
    assert res.certified, res.reason
    m1, m2 = block.moments(2)
    assert abs(res.mass - 1) <= TOL_CERT
    assert abs(res.diagnostics["m1"] - m1) <= TOL_CERT * m1 and abs(res.diagnostics["m2"] - m2) <= TOL_CERT * m2
    assert m1 == pytest.approx(1.4644029, abs=1e-7) and m2 == pytest.approx(3.41479087, abs=1e-8)
    # the support lies strictly inside Weyl's interval [0, (1 + s)^2] and the density vanishes outside it
    lo, hi = res.support
    assert 0 < lo < hi < fl_hi(block)
    assert np.all(np.abs(block.solver_factors().factors[0].m(np.array([0.5 * lo, 1.1 * hi]) + 0j).imag) <= EDGE_IM_TOL)


def fl_hi(block):
    s = np.sqrt(sp.density.lambda_max(block.branch_law))
    return (float(block.alpha) + float(block.beta) * s) ** 2


def _scaled_resnet(depth, beta_scale=1.0):
    block = sp.Residual([sp.Dense("gaussian", 1.0), sp.activation("tanh"), sp.Dense("gaussian", 1.0)],
                        alpha=1.0, beta=beta_scale / np.sqrt(depth))
    return sp.Sequential([sp.Repeat(depth, block)], input_q=1.0)


@pytest.mark.slow
def test_two_block_product_density_and_validation():
    """Two distinct blocks (q grows from block to block) as ONE implicit factor: the default 2000-point density is
    certified, with mass and m_1, m_2 within TOL_CERT of the spec's own moment series (free cumulants, an
    independent computation); sampled networks (N = 256, 8 networks) pass validate's KS test (sup |F_N - F| below
    K_0.999/sqrt(n_eff) + 1e-6, false-alarm rate 1e-3) and moment z-tests, and fail the moment z-tests against the
    theory with beta 15% larger.  About 20 s of CPU (the density dominates)."""
    spec = _scaled_resnet(2)
    law = sp.jacobian_law(spec)
    rec = law.solver_factors()
    assert len(rec.factors) == 1 and rec.factors[0].m.__self__.N == 2
    res = law.density()
    assert res.certified, res.reason
    m1, m2 = law.moments(2)
    assert abs(res.mass - 1) <= TOL_CERT
    assert abs(res.diagnostics["m1"] - m1) <= TOL_CERT * m1 and abs(res.diagnostics["m2"] - m2) <= TOL_CERT * m2
    r = sp.validate(spec, width=256, n_samples=8, theory=law)
    assert r.passed and r.verdict == "passed" and "ks" in r.checks, str(r)
    wrong = sp.jacobian_law(_scaled_resnet(2, beta_scale=1.15))
    bad = sp.validate(spec, theory=wrong, samples=r.samples, distribution=False)
    assert not bad.passed and bad.verdict == "failed"


def test_products_the_solver_would_not_finish_are_refused(monkeypatch):
    """More than MAX_DISTINCT_BLOCKS distinct blocks are refused: the solver says so at once (no density, no
    endless solve).  Identical blocks count once (post-LN: one block law with multiplicity L; its density is
    tested by validate in test_architecture_limits)."""
    from spectral.architecture import jacobian
    from spectral.architecture.presets import post_ln_resnet

    assert jacobian.MAX_DISTINCT_BLOCKS >= 256  # the L = 256 residual networks
    monkeypatch.setattr(jacobian, "MAX_DISTINCT_BLOCKS", 2)  # the refusal itself, without hundreds of blocks
    with pytest.raises(ValueError, match="distinct residual blocks"):
        sp.jacobian_law(_scaled_resnet(3)).density(64)
    law = sp.jacobian_law(post_ln_resnet(16, beta=0.25))
    kinds = [(type(f).__name__, n) for f, n, _ in law.factors]
    assert kinds == [("ResidualBlockLaw", 16), ("HaarOrthogonal", 16)]


#: the arrowhead solve against the dense one: both backward stable, K <= 13 unknowns, |J| |J^-1| ~ 1e3 here
REL_SOLVE = 1e-12
#: the stacked D^2 quadrature against each law's own: the same nodes summed in another order (~1e-15)
REL_STACK = 1e-13


def test_arrowhead_solve_equals_dense_solve():
    """The Newton step J^-1 E and the tangent -J^-1 dE/dzeta by block elimination onto m (block_product) equal the
    dense solve of the whole system, at the far start (generic J) and at solved points, for two distinct blocks,
    one with multiplicity 2; the stacked D^2 quadrature (D2Stack) equals each law's own M and M' in every tier
    (far, near and on the spectrum of D^2), its 20-node Gauss rule included (at Bernstein parameter >= 8, which
    no tier of the law's own but the plain one reaches)."""
    from spectral.architecture.block_product import ProductTransform
    from spectral.laws.d2_stack import D2Stack
    from spectral.laws.d2_tiers import _tier_of

    law = sp.jacobian_law(_scaled_resnet(2))
    tr = ProductTransform([(law.blocks[0], 2), (law.blocks[1], 1)])
    assert len(tr.groups) == 1 and tr.K == 1 + 2 * 4
    zeta = tr.scale * np.array([3 + 1j, 0.5 + 0.2j, 0.1 + 0.01j, 1.2 + 1e-3j])
    for x in (tr._far_start(zeta), tr._solve(zeta)[0]):
        assert np.all(np.isfinite(x))
        sysm = tr._pieces(zeta, x)
        E, J = tr._dense(sysm)
        ref = np.linalg.solve(J, E[..., None])[..., 0]
        step = tr._step(sysm)
        assert np.max(np.abs(step - ref)) <= REL_SOLVE * np.max(np.abs(ref))
        ez = np.zeros_like(E)
        ez[:, 0] = -1.0 / zeta
        ref = -np.linalg.solve(J, ez[..., None])[..., 0]
        np.testing.assert_allclose(tr._tangent(zeta, sysm), ref, rtol=REL_SOLVE)
    fs = [next(f for f in t.implicit) for t in tr.tr]
    stack = D2Stack.of([f.m for f in fs])
    lo, hi = fs[0].bounds
    # far points (Bernstein parameter 8 to 1e6 around [lo, hi], every direction) are served by the Gauss rule
    rho = np.geomspace(8.0, 1e6, 12)
    ellipse = 0.5 * (rho * np.exp(1j * np.linspace(0.05, 3.1, 12)) + np.exp(-1j * np.linspace(0.05, 3.1, 12)) / rho)
    far = 0.5 * (lo + hi) + 0.5 * (hi - lo) * ellipse
    near = [3 * hi + 1j, 0.5 * (lo + hi) + 0.3j, 0.5 * (lo + hi) + 0j, hi + 1e-3j, 0.02 + 1e-4j, 1.2 * hi + 0.1j]
    z = np.array([np.concatenate([near, far])] * 2)
    tiers = stack.tiers(z)
    assert np.all(tiers[:, len(near):] == stack.gauss_tier) and np.all(tiers[:, 1:len(near)] != stack.gauss_tier)
    q = stack.quads[0]
    assert np.all(_tier_of(far, *q.bounds, q.span, q.crit_values, q.crit_sides, q.tail_zeta) == 0)
    m, dm = stack.m_dm(z)
    for f, zi, mi, dmi in zip(fs, z, m, dm, strict=True):
        np.testing.assert_allclose(mi, f.m(zi), rtol=REL_STACK)
        np.testing.assert_allclose(dmi, f.dm(zi), rtol=REL_STACK)
    m_far, dm_far = stack.m_dm(z[:, len(near):])  # all in one tier: the unpacked path
    np.testing.assert_array_equal(m_far, m[:, len(near):])
    np.testing.assert_array_equal(dm_far, dm[:, len(near):])


def test_eight_distinct_blocks_density_and_ks():
    """Eight distinct blocks (q grows from block to block): the density is certified, with mass, m_1 and m_2 within
    TOL_CERT of the spec's own moment series (free cumulants, independent of the subordination); and the
    eigenvalues of sampled networks (spectral.architecture.sampling, width 96, 8 networks) agree with its CDF:
    KS distance of the pooled eigenvalues below K_0.999/sqrt(n_eff) + 1e-6 (n_eff by the bootstrap over
    networks, clipped to [8, 768]; false-alarm rate 1e-3, as validate), while the same eigenvalues scaled by
    1.25 exceed it (the check can fail).  About 15 s of CPU (the density)."""
    from spectral.architecture.sampling import sample_spec
    from spectral.distribution_stats import KOLMOGOROV_999, bootstrap_n_eff

    spec = _scaled_resnet(8)
    law = sp.jacobian_law(spec)
    assert len({id(b) for b in law.blocks}) == 8
    res = law.density(200)
    assert res.certified, res.reason
    m1, m2 = law.moments(2)
    assert abs(res.mass - 1) <= TOL_CERT
    assert abs(res.diagnostics["m1"] - m1) <= TOL_CERT * m1 and abs(res.diagnostics["m2"] - m2) <= TOL_CERT * m2
    lam = sample_spec(spec, width=96, n_samples=8, seed=3).eigenvalues
    n_eff = float(np.clip(bootstrap_n_eff(lam), lam.shape[0], lam.size))
    bound = KOLMOGOROV_999 / np.sqrt(n_eff) + 1e-6

    def ks(values):
        pooled = np.sort(values.ravel())
        f = sp.density.cdf(law, pooled, points=200)
        ecdf = np.arange(1, pooled.size + 1) / pooled.size
        return float(max(np.max(np.abs(ecdf - f)), np.max(np.abs(ecdf - 1.0 / pooled.size - f))))

    assert ks(lam) <= bound, (ks(lam), bound)
    assert ks(1.25 * lam) > bound


#: relative distance from a product's lower edge at which the density is certainly resolved: there |Im M| ~ 1e-3
#: (square-root edge, 64 blocks: Im M ~ 2.6 sqrt(delta)), far above the rounding eps T |zeta M'| ~ 1e-11
EDGE_PROBE = 1e-7


@pytest.mark.slow
def test_product_lower_edge_is_where_the_density_starts():
    """64 distinct blocks: the product factor's lower edge (the edge scan on a window of log x, |Im M| weighed
    against the rounding of M_P) is where Im M leaves 0, to EDGE_PROBE relative: solved afresh (vertical paths
    from far above) M is real to rounding just below it and has Im M < 0 well above rounding just above it.
    Weighed against a fixed threshold the scan put it 1e-5 to 5e-5 too low (points whose Im M was rounding),
    and the band's quadrature lost 2e-9 of the mass (7e-6 at 256 blocks).  About 12 s of CPU (the edge scan)."""
    from spectral.architecture.block_product import ProductTransform, product_solver_factor
    from spectral.architecture.presets import scaled_resnet

    blocks = [(b, 1) for b in sp.jacobian_law(scaled_resnet(64)).blocks]
    lo = product_solver_factor(blocks).bounds[0]
    for side in (-1, 1):
        tr = ProductTransform(blocks)  # no warm start: each point by its own vertical path
        x = np.array([lo * (1 + side * EDGE_PROBE) + 0j])
        m, noise = tr.m(x)[0], tr.im_noise(x)[0]
        assert np.isfinite(m) and 0 < noise < 1e-9, (side, m, noise)
        if side < 0:
            assert abs(m.imag) <= EDGE_IM_TOL + EDGE_NOISE * noise, (m, noise)
        else:
            assert m.imag < -1e3 * (EDGE_IM_TOL + noise), (m, noise)


REFERENCE = Path(__file__).resolve().parents[1] / "reference_data" / "residual_relu_blocks.json"
#: lambda rho(lambda) of the solver against mpmath's root of the block's polynomial (30 digits): the solver's
#: Newton stops at a relative step of 1e-8 (quadratically convergent: ~1e-14 left), except next to the singular
#: point alpha^2, where rho ~ 1/sqrt(alpha^2 - lambda) amplifies the rounding of z by |rho'/rho| ~ 1/(alpha^2 -
#: lambda) (1e6 at 1 - 1e-6: ~1e-10)
REL_RELU = 1e-8
#: m_3, m_4 of a certified density (the 2000-node grid) against the moment series: the certificate's tolerance
#: (it checks mass, m_1 and m_2 only; m_3, m_4 weigh the top edge and, here, the singular point more)
REL_M34 = 1e-6


@pytest.mark.parametrize("case", ["gaussian-1", "orthogonal-1", "gaussian-2", "gaussian-1-beta0.1", "gaussian-1-beta3",
                                  "gaussian-2-beta0.5", "orthogonal-1-beta2", "orthogonal-1-beta5"])
def test_relu_blocks_density_against_mpmath(case):
    """Residual blocks with a relu branch x -> x + beta W_2 relu(W_1 x): X X^T has mass exactly 1/2 at 0, so a
    block's density has an inverse-square-root singularity at alpha^2 from below and a gap above it
    (docs/design.md §6.1).  One block alone (Gaussian and orthogonal weights; alpha = 1 with beta = 0.1 -- a gap
    of 2.3e-7 --, 1, 3 (Gaussian), 1, 2, 5 (orthogonal), and alpha = 2, beta = 0.5) and the product of two: certified,
    lambda rho(lambda) at points in the bulk, next to alpha^2 (1 - 1e-6), inside the gap (0) and near the top
    against mpmath (reference_data/residual_relu_blocks.py: the roots of the block's polynomial, independent of
    the subordination solver), and m_3, m_4 of the density against the moment series (free cumulants).  About
    2 s (one block) and 5 s (two blocks) of CPU."""
    ref = json.loads(REFERENCE.read_text())[case]
    block = sp.Residual([sp.Dense(ref["weights"], 1.0), sp.activation("relu"), sp.Dense(ref["weights"], 1.0)],
                        alpha=ref["alpha"], beta=ref["beta"])
    law = sp.jacobian_law(sp.Sequential([sp.Repeat(ref["blocks"], block)]))
    res = law.density()
    assert res.certified, res.reason
    mom = law.moments(4)
    got = [float(np.sum(res.weights * res.density * res.x ** k)) for k in (3, 4)]
    np.testing.assert_allclose(got, mom[2:], rtol=REL_M34)
    lam = np.array(ref["lambda"])
    np.testing.assert_allclose(lam * sp.density.pdf(law, lam), ref["xrho"], rtol=REL_RELU, atol=1e-14)


def test_doubled_beta_theory_density_is_certified():
    """The theory validate is shown to fail against (docs/design.md §6.1): 256 relu blocks with beta doubled, 2/16
    (one block law of multiplicity 256; Gaussian weights).  Its blocks' spectra reach down to (1 - beta s)^2 > 0
    and the product's to 0.0098, not 0: with no probe below the product factor's lower edge (the record's floor)
    the density is certified, its band starts there, and m_3, m_4 of the density agree with the moment series
    within REL_M34 (measured 7e-14).  About 2.5 s of CPU."""
    block = sp.Residual([sp.Dense("gaussian", 1.0), sp.activation("relu"), sp.Dense("gaussian", 1.0)],
                        alpha=1.0, beta=2 / 16)
    law = sp.jacobian_law(sp.Sequential([sp.Repeat(256, block)]))
    res = law.density()
    assert res.certified, res.reason
    assert res.diagnostics["bands"][0][0] > 1e-3  # measured 0.0098
    mom = law.moments(4)
    got = [float(np.sum(res.weights * res.density * res.x ** k)) for k in (3, 4)]
    np.testing.assert_allclose(got, mom[2:], rtol=REL_M34)
