"""spectral recommend: the spectral recommender, the transform routes, the defaults table, the CLI."""

import argparse
import json
import math

import numpy as np
import pytest

import spectral as sp
from spectral.cli import CLIError
from spectral.meanfield import mean_field
from spectral.recommend_cli import add_recommend_parser, cmd_recommend
from spectral.recommendation import DEFAULTS, recommend, spectrum_summary


def _parser():
    p = argparse.ArgumentParser(prog="spectral")
    add_recommend_parser(p.add_subparsers(dest="command"))
    return p


def _run(argv, capsys):
    args = _parser().parse_args(["recommend", *argv])
    assert args.func(args) == 0
    return capsys.readouterr().out


def test_spectral_recommender_meets_the_budget_and_beats_its_neighbours():
    rec = recommend("tanh", depth=100, edges=False)
    p = rec.parameters
    mf = mean_field("tanh", p["sigma_w2"], p["sigma_b2"])
    assert mf.chi1 == pytest.approx(1.0, abs=1e-9)  # on the critical line
    assert 100 * mf.chi2 * mf.q_star == pytest.approx(0.3, rel=1e-6)  # the budget binds
    # the spread is the moments' and every feasible candidate of the table has a larger one
    m1, m2 = sp.jacobian_law(rec.network).moments(2)
    assert rec.summary.spread == pytest.approx(m2 / m1**2 - 1, rel=1e-12)
    feasible = [r["spread"] for r in rec.tradeoff if "spread" in r]
    assert len(feasible) >= 5 and min(feasible) == pytest.approx(rec.summary.spread, rel=1e-12)
    infeasible = [r for r in rec.tradeoff if "spread" not in r]
    assert infeasible and all(r["network_curvature"] < 0.3 for r in infeasible)
    # at equal network curvature (0.3) the critical tanh chain is more isometric than TAT (v -> 4 tau = 1.2)
    tat = recommend("tanh", depth=100, transform="tat", tau=0.3, edges=False)
    assert rec.summary.spread < 0.6 < 1.1 < tat.summary.spread < 1.2


def test_transform_routes_report_the_dks_parameters_and_spectra():
    rec = recommend("softplus", depth=100, transform="dks", zeta=1.5, edges=False)
    assert set(rec.parameters) == {"input_scale", "input_shift", "output_scale", "output_shift"}
    assert rec.summary.m1 == pytest.approx(1.5, rel=1e-9)
    assert rec.summary.spread == pytest.approx(8 * math.log(1.5), rel=0.02)  # 3.185 at L = 100, gap ~6/L
    leaky = recommend("leaky_relu", depth=100, transform="tat", eta=0.9, edges=False)
    assert set(leaky.parameters) >= {"slope", "output_scale"}
    assert leaky.parameters["output_scale"] == pytest.approx(math.sqrt(2 / (1 + leaky.parameters["slope"] ** 2)))
    assert leaky.summary.spread == pytest.approx(25.905757501605296, rel=1e-12)  # reference_data/transforms.json


def test_defaults_table_rows():
    rec = recommend("tanh", depth=20, transform="tat", edges=False)
    rows = {r["label"]: r for r in rec.defaults}
    assert tuple(rows) == DEFAULTS
    assert rows["pytorch"]["sigma_w2"] == pytest.approx(1 / 3) and rows["pytorch"]["weights"] == "gaussian"
    assert rows["xavier"]["sigma_w2"] == 1.0 and rows["kaiming"]["sigma_w2"] == pytest.approx(25 / 9)
    assert rows["orthogonal-critical"]["sigma_w2"] == pytest.approx(1.05, abs=1e-3)
    # Xavier tanh: chi_1 = 1 at q* = 0 (sigma_b2 = 0), Gaussian weights add 1 per layer to the spread
    assert rows["xavier"]["spread"] == pytest.approx(20.0, rel=1e-9)


def test_summary_edges_and_condition_for_a_bernoulli_network():
    net = sp.Network(activation="relu", weights="orthogonal", sigma_w2=2.0, sigma_b2=0.0, depth=4)
    s = spectrum_summary(net)
    law = sp.jacobian_law(net)
    assert s.lambda_max == pytest.approx(law.lambda_max, rel=1e-12)
    assert s.condition == math.inf  # relu: an atom of mass 1/2 at 0 holds the 1% quantile
    assert any("outlier" in n for n in s.notes)


def test_cli_json_keys_and_table(capsys):
    out = _run(["--activation", "leaky_relu", "--depth", "100", "--transform", "tat", "--eta", "0.9",
                "--edges", "no", "--json"], capsys)
    d = json.loads(out)
    assert {"parameters", "m1", "spread", "lambda_max", "condition", "defaults"} <= set(d)
    assert {"input_scale", "input_shift", "output_scale", "output_shift", "slope"} == set(d["parameters"])
    assert d["spread"] == pytest.approx(25.905757501605296, rel=1e-12) and d["lambda_max"] is None
    out = _run(["--activation", "tanh", "--depth", "50", "--edges", "no"], capsys)
    assert "sigma_w2" in out and "orthogonal-critical" in out and "spread" in out


@pytest.mark.parametrize("argv,flag", [(["--depth", "0"], "--depth"), (["--spec", "resnet.json"], "--spec"),
                                       (["--transform", "dks", "--zeta", "0.5"], "--zeta"),
                                       (["--transform", "tat", "--eta", "1.5"], "--eta"),
                                       (["--weights", "uniform"], "--weights")])
def test_cli_bad_input_names_the_flag(argv, flag):
    args = _parser().parse_args(["recommend", *argv])
    with pytest.raises(CLIError, match=flag):
        cmd_recommend(args)


def test_api_bad_input():
    with pytest.raises(ValueError, match="objective"):
        recommend("tanh", objective="best")
    with pytest.raises(ValueError, match="transform"):
        recommend("tanh", transform="xyz")
    with pytest.raises(ValueError, match="depth"):
        recommend("tanh", depth=0)


@pytest.mark.slow
def test_condition_objective_with_edges():
    rec = recommend("tanh", depth=30, objective="condition")
    vals = [r["condition"] for r in rec.tradeoff if "condition" in r]
    assert vals and rec.summary.condition == pytest.approx(min(vals), rel=1e-9)
    assert rec.summary.lambda_max is not None and rec.summary.lambda_max > rec.summary.m1


def test_transform_for_another_architecture_through_subnet_max():
    from spectral.transforms import chain

    rec = recommend("tanh", depth=20, transform="tat", tau=0.3, edges=False, subnet_max=chain(20))
    plain = recommend("tanh", depth=20, transform="tat", tau=0.3, edges=False)
    for key, value in plain.parameters.items():
        assert rec.parameters[key] == pytest.approx(value, rel=1e-9)
    assert any("subnet_max" in n for n in rec.summary.notes)
    with pytest.raises(ValueError, match="subnet_max"):
        recommend("tanh", subnet_max=chain(3))


def test_defaults_table_marks_an_uncertified_condition_number():
    """A condition number read from an uncertified density is marked in the table, never shown as plain."""
    from spectral.recommend_cli import _defaults_table

    row = {"label": "kaiming", "weights": "gaussian", "sigma_w2": 2.0, "sigma_b2": 0.0, "m1": 1.0, "spread": 3.0,
           "lambda_max": 10.0, "condition": 123.0, "certified": False}
    assert "(uncertified)" in _defaults_table([row])
    assert "(uncertified)" not in _defaults_table([dict(row, certified=True)])


# ------------------------------------------------------------------------------ leaky-ReLU slope, outlier objective
def _leaky_c_map(c, a):
    """The normalised leaky ReLU's C map written out (arc-cosine kernel of degree 1 plus the linear part)."""
    return ((1 - a) ** 2 * (math.sqrt(1 - c * c) + (math.pi - math.acos(c)) * c) / math.pi + 2 * a * c) / (1 + a * a)


def _network_c0(a, depth):
    c = 0.0
    for _ in range(depth):
        c = min(_leaky_c_map(c, a), 1.0)
    return c


@pytest.mark.parametrize("weights", ["orthogonal", "gaussian"])
def test_slope_recommendation_is_the_brute_force_minimum(weights):
    """Spread over a fine slope grid from closed forms (free factors add their spreads at m1 = 1: D^2 in
    {2/(1+a^2), 2a^2/(1+a^2)} has v_D = ((1-a^2)/(1+a^2))^2, a square Gaussian factor adds 1), C_f(0) iterated
    here: the recommendation is the feasible minimum, and at eta = 0.9 TAT's slope."""
    depth, budget = 100, 0.9
    rec = recommend("leaky_relu", depth=depth, weights=weights, vary_slope=True, min_c0=budget, edges=False)
    a = rec.parameters["slope"]
    extra = 1.0 if weights == "gaussian" else 0.0

    def spread(x):
        return depth * (((1 - x * x) / (1 + x * x)) ** 2 + extra)

    assert rec.summary.spread == pytest.approx(spread(a), rel=1e-9)
    assert rec.parameters["sigma_w2"] == pytest.approx(2 / (1 + a * a), rel=1e-12)
    assert rec.parameters["sigma_b2"] == 0.0 and rec.summary.m1 == pytest.approx(1.0, rel=1e-12)
    assert _network_c0(a, depth) == pytest.approx(budget, abs=1e-9)
    grid = np.linspace(0.0, 0.999, 2000)
    feasible = [spread(x) for x in grid if _network_c0(x, depth) >= budget]
    assert min(feasible) >= rec.summary.spread * (1 - 1e-12)
    assert min(feasible) <= rec.summary.spread * (1 + 1e-2)  # the grid's step 5e-4 in a; the boundary is exact
    tat = sp.tat("leaky_relu", eta=budget, depth=depth)
    assert a == pytest.approx(tat.parameters["slope"], rel=1e-9)


def test_summary_carries_the_outlier_and_the_condition_with_it():
    """tanh, sigma_w2 = 1.05, L = 32: the outlier is length_singular_value^2 and the condition number with it
    is x_0.99 / s_len^2, x_0.99 read here from the density summary."""
    from spectral.density import density_summary
    from spectral.outliers import length_singular_value
    from spectral.recommendation import CONDITION_POINTS

    net = sp.Network.critical("tanh", sigma_w2=1.05, depth=32, weights="orthogonal")
    s = spectrum_summary(net, edges=True)
    s_len = length_singular_value(net)
    assert s.outlier == pytest.approx(s_len**2, rel=1e-12)
    quant = density_summary(sp.jacobian_law(net).density(points=CONDITION_POINTS),
                            quantiles=(0.01, 0.99))["diagnostics"]["quantiles"]
    assert s_len**2 < float(quant["0.01"])
    assert s.condition_with_outlier == pytest.approx(float(quant["0.99"]) / s_len**2, rel=1e-9)
    assert s.condition_with_outlier > 5 * s.condition
    none = spectrum_summary(sp.Network(activation="tanh", weights="orthogonal", sigma_w2=1.0, sigma_b2=0.0, depth=4),
                            edges=True)
    assert none.outlier is None and none.condition_with_outlier == none.condition


@pytest.mark.slow
def test_condition_with_outlier_objective_is_the_grid_minimum():
    rec = recommend("tanh", depth=10, objective="condition", with_outlier=True)
    vals = [r["condition"] for r in rec.tradeoff if "condition" in r]
    assert vals and rec.summary.condition_with_outlier == pytest.approx(min(vals), rel=1e-9)
    assert rec.summary.outlier is not None and "outlier" in rec.definition


def test_slope_and_outlier_bad_input(capsys):
    with pytest.raises(ValueError, match="vary_slope"):
        recommend("tanh", vary_slope=True)
    with pytest.raises(ValueError, match="min_c0"):
        recommend("leaky_relu", vary_slope=True, min_c0=1.0)
    with pytest.raises(ValueError, match="with_outlier"):
        recommend("tanh", with_outlier=True)
    for argv, flag in [(["--vary-slope"], "--vary-slope"), (["--with-outlier"], "--with-outlier"),
                       (["--activation", "leaky_relu", "--vary-slope", "--min-c0", "1.5"], "--min-c0")]:
        args = _parser().parse_args(["recommend", *argv])
        with pytest.raises(CLIError, match=flag):
            cmd_recommend(args)
    d = json.loads(_run(["--activation", "leaky_relu", "--vary-slope", "--depth", "100", "--edges", "no", "--json"],
                        capsys))
    assert {"slope", "sigma_w2", "sigma_b2", "network_c0"} == set(d["parameters"])
    assert {"outlier", "condition_with_outlier"} <= set(d) and d["outlier"] is None
