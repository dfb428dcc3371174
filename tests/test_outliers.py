"""The length-mode outlier (spectral.outliers): its predicted location against the mean-field depth scale and
against the smallest singular value of sampled real networks; reported by `spectral density` and `validate`."""

import json
import math

import numpy as np
import pytest

from spectral.cli import main
from spectral.meanfield import critical_point
from spectral.montecarlo import sample_jacobians
from spectral.outliers import RATIO_RANGE, length_mode, length_outliers
from spectral.product import Network


def test_length_mode_is_exp_minus_depth_over_xi_q():
    mf = critical_point("tanh", sigma_w2=1.05)
    net = Network.critical("tanh", sigma_w2=1.05, depth=32, weights="orthogonal")
    assert length_mode(net) == pytest.approx(math.exp(-32 / mf.xi_q), rel=1e-9)


@pytest.mark.parametrize("depth", [32, 64])
def test_smallest_singular_value_of_real_networks(depth):
    """Sampled smallest singular value / prod chi_q: in RATIO_RANGE for every network (measured 0.85-0.9), and
    far below the bulk (the next singular value); absent in free mode."""
    net = Network.critical("tanh", sigma_w2=1.05, depth=depth, weights="orthogonal")
    pred = length_mode(net)
    s = sample_jacobians(net, width=96, n_samples=6, backend="numpy", seed=2)
    ratio = np.exp(s.log_singular_values[:, -1]) / pred
    assert np.all((ratio >= RATIO_RANGE[0]) & (ratio <= RATIO_RANGE[1])), ratio
    assert np.all(np.exp(s.log_singular_values[:, -2]) > 2 * pred)
    free = sample_jacobians(net, width=96, n_samples=6, backend="numpy", seed=2, mode="free")
    assert np.all(np.exp(free.log_singular_values[:, -1]) > 1.5 * pred)


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
