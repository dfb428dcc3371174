"""``spectral plot recommend`` / ``figure_recommend``: the trade-off and the spectra, read back from the Axes."""

import subprocess
import sys

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from axes_artists import by_gid, x_extent  # noqa: E402

from spectral import plotting as P  # noqa: E402
from spectral.cli import main  # noqa: E402
from spectral.outliers import length_singular_value  # noqa: E402
from spectral.recommendation import recommend  # noqa: E402

#: Positions are drawn from the recommendation's numbers unchanged: only float rounding separates them.
POSITION_RTOL = 1e-12
DEPTH = 16
BUDGET = 0.3


#: the tests of the module fixtures below share one worker under xdist: the recommendation (about 10 s) is made once
SHARED_TANH = pytest.mark.xdist_group("plot_recommend_tanh")


@pytest.fixture(scope="module")
def tanh_rec():
    return recommend("tanh", depth=DEPTH, min_curvature=BUDGET)


@pytest.fixture(scope="module")
def tanh_fig(tanh_rec):
    return P.figure_recommend(tanh_rec, budget=BUDGET, points=200)


@SHARED_TANH
def test_tradeoff_panel_marks_the_choice_and_shades_the_infeasible_side(tanh_rec, tanh_fig):
    left = tanh_fig.axes[0]
    (curve,) = by_gid(left.lines, "tradeoff")
    feasible = [r for r in tanh_rec.tradeoff if "spread" in r]
    xs, ys = np.asarray(curve.get_xdata()), np.asarray(curve.get_ydata())
    assert xs.size == len(feasible) and np.all(xs >= BUDGET * (1 - 1e-12))  # only candidates within the budget
    assert np.all(np.diff(xs) > 0)
    (choice,) = by_gid(left.lines, "choice")
    cx, cy = float(choice.get_xdata()[0]), float(choice.get_ydata()[0])
    assert cx == pytest.approx(tanh_rec.parameters["network_curvature"], rel=POSITION_RTOL)
    assert cy == pytest.approx(tanh_rec.summary.spread, rel=1e-9)  # the recommended network's own spread
    assert cy == pytest.approx(float(ys.min()), rel=POSITION_RTOL)  # the choice is the smallest objective drawn
    (shade,) = by_gid(left.patches, "infeasible")
    lo, hi = x_extent(shade)
    assert hi == pytest.approx(BUDGET, rel=POSITION_RTOL) and lo < hi
    assert float(by_gid(left.lines, "budget")[0].get_xdata()[0]) == pytest.approx(BUDGET, rel=POSITION_RTOL)


@SHARED_TANH
def test_spectra_panel_has_recommendation_defaults_and_length_mode(tanh_rec, tanh_fig):
    right = tanh_fig.axes[1]
    texts = [t.get_text() for t in right.get_legend().get_texts()]
    for label in ("recommended", "pytorch", "xavier", "kaiming", "orthogonal-critical"):
        assert any(t.startswith(label) for t in texts), texts
    assert len(by_gid(right.lines, "density")) == 5
    s = length_singular_value(tanh_rec.network)
    marks = by_gid(right.lines, "outlier")
    assert s is not None and marks  # critical tanh with a bias, orthogonal, L = 16: a separated length mode
    assert any(float(m.get_xdata()[0]) == pytest.approx(s, rel=POSITION_RTOL) for m in marks)
    assert right.get_xscale() == "log"


@SHARED_TANH
def test_budget_inferred_when_not_given(tanh_rec):
    # the trade-off panel alone: figure_recommend hands its budget to plot_tradeoff unchanged, and the
    # inference is plot_tradeoff's (the spectra panel, five densities, does not depend on the budget)
    ax = P.plot_tradeoff(tanh_rec)
    (shade,) = by_gid(ax.patches, "infeasible")
    # the budget binds (the recommender solved C_f''(1) = 0.3 between two candidates): inferred exactly
    assert x_extent(shade)[1] == pytest.approx(BUDGET, rel=1e-9)


#: a transformed activation's recommendation and its figure (about 8 s: the density of the transformed network),
#: made once for the tests below, which share one worker under xdist.  Softplus: it also lacks a default
#: (no critical point), so the bars skip a failed row and the spectra panel names it.
SHARED_TRANSFORM = pytest.mark.xdist_group("plot_recommend_transform")


@pytest.fixture(scope="module")
def softplus_dks_rec():
    return recommend("softplus", depth=4, transform="dks")


@pytest.fixture(scope="module")
def softplus_dks_fig(softplus_dks_rec):
    return P.figure_recommend(softplus_dks_rec, points=100)


@SHARED_TRANSFORM
def test_transform_has_no_tradeoff_and_draws_bars(softplus_dks_rec, softplus_dks_fig):
    rec = softplus_dks_rec
    bars = by_gid(softplus_dks_fig.axes[0].patches, "spread_bar")
    assert len(bars) == 1 + sum("error" not in r for r in rec.defaults)
    assert bars[0].get_height() == pytest.approx(rec.summary.spread, rel=POSITION_RTOL)


def test_figure_recommend_rejects_other_objects():
    with pytest.raises(TypeError, match="Recommendation"):
        P.figure_recommend({"parameters": {}})


def _cli(*args, timeout=600):
    """``python -m spectral plot recommend ARGS`` in a fresh interpreter (the real entry point)."""
    return subprocess.run([sys.executable, "-m", "spectral", "plot", "recommend", *args], capture_output=True,
                          text=True, timeout=timeout)


def _main(capsys, *args):
    """``spectral.cli.main`` in this process (what ``python -m spectral`` runs, without an interpreter's start):
    (exit status, stdout, stderr)."""
    code = main(["plot", "recommend", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_plot_recommend_writes_the_figure(tmp_path):
    out = tmp_path / "rec.png"
    proc = _cli("--activation", "leaky_relu", "--vary-slope", "--depth", "8", "--min-c0", "0.5", "--points", "100",
                "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert out.stat().st_size > 0 and str(out.resolve()) in proc.stdout


@pytest.mark.parametrize("args", [("--bogus",), ("--objective", "nope"), ("--depth", "0"), ("--spec", "a.json"),
                                  ("--dpi", "5")])
def test_cli_plot_recommend_bad_input_exits_2(capsys, tmp_path, args):
    out = tmp_path / "rec.png"
    argv = ("--depth", "4", *args) if args[0] != "--depth" else args
    code, _, err = _main(capsys, *argv, "--out", str(out))
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not out.exists()


def test_cli_plot_recommend_out_rule(capsys, tmp_path):
    code, _, err = _main(capsys, "--depth", "4", "--out", str(tmp_path / "missing" / "rec.png"))
    assert code == 2 and "does not exist" in err
    code, _, err = _main(capsys, "--depth", "4", "--out", str(tmp_path / "rec.txt"))
    assert code == 2 and ".png" in err


def test_cli_plot_recommend_uncertified_density_exits_3_unless_allowed(capsys, tmp_path, monkeypatch):
    """A panel whose density misses its certificate: exit 3 naming it, 0 with --allow-uncertified.  Forced by a
    certificate tolerance below every error (tanh at L = 16 on a 100-point grid, whose Kaiming default missed
    its mass check by 0.019, is certified since the sheet check, docs/design.md §4.3), so every panel fails
    whatever the activation: relu's (exact D^2 laws) are the cheapest to draw."""
    from spectral.density import result

    monkeypatch.setattr(result, "CERTIFICATE_TOL", -1.0)
    out = tmp_path / "rec.png"
    argv = ("--activation", "relu", "--depth", "4", "--points", "100")
    code, _, err = _main(capsys, *argv, "--out", str(out))
    assert code == 3, err
    assert "NOT CERTIFIED" in err and "total mass off" in err and out.exists()
    code, _, err = _main(capsys, *argv, "--allow-uncertified", "--out", str(out))
    assert code == 0, err


@SHARED_TRANSFORM
def test_absent_default_is_named_in_the_panel(softplus_dks_fig):
    from spectral.recommendation import default_networks

    absent = [k for k, v in default_networks("softplus", 4).items() if v is None]
    assert absent == ["orthogonal-critical"]  # softplus has no critical point at sigma_b2 = 2.01e-5
    right = softplus_dks_fig.axes[1]
    (note,) = by_gid(right.texts, "absent_default")
    assert "orthogonal-critical" in note.get_text()
    assert len(by_gid(right.lines, "density")) == 4  # dks and the three defaults that exist
