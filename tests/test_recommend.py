"""spectral recommend: the spectral recommender, the transform routes, the defaults table, the CLI."""

import argparse
import json
import math

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
