"""The length-mode outlier (spectral.outliers): its predicted location against the mean-field depth scale and
against the smallest singular value of sampled real networks; reported by `spectral density` and `validate`."""

import json
import math

import numpy as np
import pytest

from spectral.cli import main
from spectral.meanfield import critical_point
from spectral.montecarlo import sample_jacobians
from spectral.outliers import (
    MODEL_REL,
    TAIL_LIMIT,
    bulk_edges,
    length_mode,
    length_mode_check,
    length_mode_tail,
    length_mode_terms,
    length_outliers,
    length_singular_value,
)
from spectral.product import Network, jacobian_law


def test_length_mode_is_exp_minus_depth_over_xi_q():
    mf = critical_point("tanh", sigma_w2=1.05)
    net = Network.critical("tanh", sigma_w2=1.05, depth=32, weights="orthogonal")
    assert length_mode(net) == pytest.approx(math.exp(-32 / mf.xi_q), rel=1e-9)


def _tanh_closed_form(sigma_w2, depth):
    """1/K of docs/design.md §4.11 for a uniform critical tanh chain from closed forms (no quadrature):
    E cosh(k h) = e^{k^2 q/2}, E h^2 cosh(k h) = (q + k^2 q^2) e^{k^2 q/2}, cosh^4 = (cosh 4h + 4 cosh 2h + 3)/8,
    (tanh/tanh')^2 = sinh^2(2h)/4 = (cosh 4h - 1)/8, beta = E[(phi/phi')'] = E cosh 2h, geometric sums."""
    mf = critical_point("tanh", sigma_w2=sigma_w2)
    q, sb = mf.q_star, mf.sigma_b2
    qu = q - sb
    s = qu / sigma_w2  # fixed point: s_{l-1} = s_l

    def ec(k):
        return math.exp(k * k * q / 2)

    def eh2c(k):
        return (q + k * k * q * q) * ec(k)

    beta = ec(2)
    gamma = (ec(4) + 4 * ec(2) + 3) / 8 / sigma_w2
    eps_b = (ec(4) - 1) / 8 / (sigma_w2 * s) - beta**2
    e_u2 = qu * sb / q * (ec(4) + 4 * ec(2) + 3) / 8 + (qu / q) ** 2 * (eh2c(4) + 4 * eh2c(2) + 3 * q) / 8
    eps_f = e_u2 / (sigma_w2 * qu) - beta**2
    r = gamma / beta**2
    geo = (1 - r**depth) / (1 - r)
    lam_b, lam_f = eps_b / beta**2 * geo, eps_f / beta**2 * geo
    return beta ** (-depth) / math.sqrt((1 + lam_b) * (1 + lam_f)), 1 / (1 + lam_b), 1 / (1 + lam_f)


@pytest.mark.parametrize("sigma_w2,depth", [(1.05, 32), (1.3, 8), (1.2, 64)])
def test_singular_value_matches_the_tanh_closed_form(sigma_w2, depth):
    net = Network.critical("tanh", sigma_w2=sigma_w2, depth=depth, weights="orthogonal")
    t = length_mode_terms(net)
    s, ov_in, ov_out = _tanh_closed_form(sigma_w2, depth)
    assert t.singular_value == pytest.approx(s, rel=QUAD_REL)
    assert (t.overlap_input, t.overlap_output) == pytest.approx((ov_in, ov_out), rel=QUAD_REL)
    assert t.component == pytest.approx(length_mode(net), rel=1e-12) and t.growth < 1


#: Quadrature (gaussian_expectation, relative 1e-13 per expectation) against closed forms, over ~L terms.
QUAD_REL = 1e-9


# (activation, sigma_w2, depth, width, networks, q0): L/N <= 0.125 and tails <= 0.125, the stated range; q0 = 0.1
# starts the q-map away from q* = 0.026 (per-layer beta_l, gamma_l along the relaxing q^l)
SAMPLED = [("tanh", 1.05, 32, 256, 16, None), ("tanh", 1.3, 8, 256, 16, None), ("erf_scaled", 1.1, 32, 256, 16, None),
           ("tanh", 1.05, 32, 256, 12, 0.1)]


@pytest.mark.parametrize("act,sigma_w2,depth,width,n,q0", SAMPLED)
def test_smallest_singular_value_of_real_networks(act, sigma_w2, depth, width, n, q0):
    """length_mode_check (Student t at two-sided alpha = 1e-3 plus the stated MODEL_REL) of the mean smallest
    singular value over n networks: the prediction passes and the component prod chi_q (12-200% too high) is
    rejected by the same test; the outlier lies well below the next singular value (median), and free mode has none."""
    net = Network.critical(act, sigma_w2=sigma_w2, depth=depth, weights="orthogonal")
    if q0 is not None:
        net = Network(activation=act, weights="orthogonal", sigma_w2=sigma_w2, sigma_b2=net.layers[0].sigma_b2,
                      depth=depth, q0=q0)
    s = sample_jacobians(net, width=width, n_samples=n, backend="numpy", seed=2)
    smallest = np.exp(s.log_singular_values[:, -1])
    res = length_mode_check(net, smallest, width=width)
    assert res["passed"] is True, res["detail"]
    old = length_mode(net)
    assert abs(smallest.mean() - old) > res["threshold"] * res["stderr"] + MODEL_REL * old
    assert np.median(np.exp(s.log_singular_values[:, -2])) > 2 * res["predicted"]
    free = sample_jacobians(net, width=width, n_samples=4, backend="numpy", seed=2, mode="free")
    assert np.all(np.exp(free.log_singular_values[:, -1]) > 1.5 * res["predicted"])


def _haar(rng, n):
    q, r = np.linalg.qr(rng.standard_normal((n, n)))
    return q * np.sign(np.diag(r))


def test_singular_vectors_by_an_independent_forward_pass():
    """A forward pass written out here (Haar by QR, no spectral.montecarlo): the smallest singular value passes
    the t test and its singular vectors overlap x^0 and x^L as predicted, within OVERLAP_TOL."""
    sigma_w2, depth, width, n = 1.05, 32, 128, 6
    net = Network.critical("tanh", sigma_w2=sigma_w2, depth=depth, weights="orthogonal")
    sb, q = float(net.layers[0].sigma_b2), net.q_sequence()[0]
    rng = np.random.default_rng(11)
    rows = []
    for _ in range(n):
        x0 = rng.standard_normal(width)
        x0 *= math.sqrt((q - sb) / sigma_w2 * width) / np.linalg.norm(x0)  # first pre-activations of variance q*
        x, jac = x0, np.eye(width)
        for _ in range(depth):
            w = math.sqrt(sigma_w2) * _haar(rng, width)
            h = w @ x + math.sqrt(sb) * rng.standard_normal(width)
            jac = (1 - np.tanh(h) ** 2)[:, None] * (w @ jac)
            x = np.tanh(h)
        u, sv, vt = np.linalg.svd(jac)
        rows.append((sv[-1], (vt[-1] @ x0) ** 2 / (x0 @ x0), (u[:, -1] @ x) ** 2 / (x @ x)))
    rows = np.array(rows)
    assert length_mode_check(net, rows[:, 0], width=width)["passed"] is True
    t = length_mode_terms(net)
    assert rows[:, 1].mean() == pytest.approx(t.overlap_input, abs=OVERLAP_TOL)
    assert rows[:, 2].mean() == pytest.approx(t.overlap_output, abs=OVERLAP_TOL)


#: Squared overlaps: the rank-one form of J^{-1} neglects its O(1) bulk part; measured 0.013 below the
#: prediction at N = 256 (0.961 vs 0.974, 0.915 vs 0.927, standard errors 0.002 and 0.004).
OVERLAP_TOL = 0.04


def test_check_refuses_outside_its_stated_range():
    net = Network.critical("tanh", sigma_w2=1.05, depth=32, weights="orthogonal")
    res = length_mode_check(net, [0.18, 0.19, 0.17], width=64)  # L/N = 0.5
    assert res["passed"] is None and "L/N" in res["detail"]
    wide = Network.critical("tanh", sigma_w2=1.5, depth=8, weights="orthogonal")
    assert length_mode_tail(wide, 256) > TAIL_LIMIT
    res = length_mode_check(wide, [0.002, 0.0021, 0.0019], width=256)
    assert res["passed"] is None and "wider network" in res["detail"]
    assert length_mode_check(net, [0.18], width=256)["passed"] is None
    with pytest.raises(ValueError, match="width"):
        length_mode_tail(net, 0)
    with pytest.raises(ValueError, match="alpha"):
        length_mode_check(net, [0.18] * 4, width=256, alpha=2.0)


def test_no_outlier_where_the_bulk_of_the_inverse_outgrows_it():
    """selu on its critical line: gamma > beta^2 (the bulk of J^{-1} grows faster), so the smallest singular
    value is a bulk one (sampled 1.6e-13 at L = 32, N = 256, far below prod chi_q = 1.9e-5): none reported."""
    net = Network.critical("selu", sigma_w2=1.0, depth=32, weights="orthogonal")
    assert length_mode_terms(net).growth > 1
    assert length_singular_value(net) is None
    assert length_outliers(net) == []


def test_no_outlier_without_bias_or_with_an_atom_at_zero():
    assert length_outliers(Network(activation="tanh", weights="orthogonal", sigma_w2=1.0, depth=8)) == []
    assert length_outliers(Network(activation="relu", weights="orthogonal", sigma_w2=2.0, sigma_b2=0.1,
                                   depth=8)) == []


def test_density_json_reports_the_outlier(capsys):
    code = main(["density", "--activation", "tanh", "--critical", "--sigma-w2", "1.05", "--depth", "32",
                 "--points", "400", "--json", "--allow-uncertified"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    (rec,) = out["outliers"]
    assert set(rec) == {"singular_value", "eigenvalue", "kind"} and rec["kind"] == "length"
    assert rec["eigenvalue"] == pytest.approx(rec["singular_value"] ** 2)
    net = Network.critical("tanh", sigma_w2=1.05, depth=32, weights="orthogonal")
    assert rec["singular_value"] == pytest.approx(length_singular_value(net), rel=1e-12)  # not prod chi_q
    assert rec["singular_value"] < 0.9 * length_mode(net)
    cond = out["condition_number"]
    assert cond["with_outliers"] > 2 * cond["without_outliers"]


def test_validation_plot_marks_the_outlier():
    import matplotlib

    matplotlib.use("Agg")
    from spectral.plotting import plot_validation
    from spectral.product import jacobian_law

    net = Network(activation="relu", weights="gaussian", sigma_w2=2.0, depth=2)  # fast theory; the mark is generic
    s = sample_jacobians(net, width=32, n_samples=2, backend="numpy", seed=0)
    rep = {"outliers": [{"singular_value": 0.3, "eigenvalue": 0.09, "kind": "length"}]}
    ax = plot_validation(s, jacobian_law(net).singular_values().density(points=200), report=rep)
    marks = [line for line in ax.get_lines() if line.get_gid() == "outlier"]
    assert len(marks) == 1 and marks[0].get_xdata()[0] == pytest.approx(0.3)
    ax = plot_validation(s, jacobian_law(net).density(points=200), report=rep, variable="eigen")
    assert [line.get_xdata()[0] for line in ax.get_lines() if line.get_gid() == "outlier"] == [pytest.approx(0.09)]


def test_no_outlier_reported_for_gaussian_layers():
    """Square Gaussian factors have a hard edge at 0: the length mode is not separated from the bulk."""
    assert length_outliers(Network.critical("tanh", sigma_w2=1.5, depth=16, weights="gaussian")) == []


def test_no_prediction_where_the_expectations_do_not_converge():
    """Critical tanh at sigma_w2 = 3 (q* = 2.2): the integrand of E cosh^4 h peaks at |h| = 4 q* = 8.9 and still
    carries ~1e-7 of the total at 90% of the 13-sd quadrature radius (17.5), so no number is given; at
    sigma_w2 = 2 the bulk of J^{-1} outgrows the mode (gamma > beta^2)."""
    assert length_mode_terms(Network.critical("tanh", sigma_w2=3.0, depth=16, weights="orthogonal")) is None
    t = length_mode_terms(Network.critical("tanh", sigma_w2=2.0, depth=16, weights="orthogonal"))
    assert t.growth > 1
    assert length_singular_value(Network.critical("tanh", sigma_w2=2.0, depth=16, weights="orthogonal")) is None


def test_uncertified_density_gives_no_bulk_edges():
    """An uncertified density's CDF is not read for a quantile: the condition numbers are undefined (None)."""
    from dataclasses import dataclass

    @dataclass
    class _Uncertified:  # the two fields bulk_edges reads of a DensityResult
        certified: bool = False
        lambda_max: float = 4.0

    law = jacobian_law(Network(activation="tanh", weights="orthogonal", sigma_w2=1.5, sigma_b2=0.1, depth=4))
    assert bulk_edges(law, _Uncertified()) is None
    assert bulk_edges(law, law.density()) is not None  # the same law, certified: edges are given
