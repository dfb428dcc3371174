"""The length-mode outlier and the finite-width band in the spectrum figures, read back from the Axes."""

import math

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from axes_artists import by_gid, x_extent  # noqa: E402

from spectral import plotting as P  # noqa: E402
from spectral.cli import main  # noqa: E402
from spectral.finite_width import finite_width  # noqa: E402
from spectral.outliers import length_singular_value  # noqa: E402
from spectral.product import Network  # noqa: E402

#: Positions are drawn from the library's numbers unchanged: only float rounding separates them.
POSITION_RTOL = 1e-12
#: Critical tanh, sigma_w^2 = 1.05, orthogonal: L = 32 has a separated length mode (0.18, bulk from ~0.55),
#: L = 4 has none (the prediction is not below half the bulk's low end).
DEPTH_OUTLIER, DEPTH_NONE = 32, 4
WIDTH = 64


def _net(depth):
    return Network.critical("tanh", sigma_w2=1.05, depth=depth, weights="orthogonal")


#: the tests of the module fixture below share one worker under xdist: the figure is made once
SHARED_FIGURE = pytest.mark.xdist_group("plot_outlier_figure")


@pytest.fixture(scope="module")
def fig_with_width():
    return P.figure_spectrum("tanh", "orthogonal", 1.05, depths=(DEPTH_NONE, DEPTH_OUTLIER), width=WIDTH,
                             n_samples=2, points=200)


@SHARED_FIGURE
def test_outlier_marker_at_the_predicted_singular_value(fig_with_width):
    ax = fig_with_width.axes[0]
    marks = by_gid(ax.lines, "outlier")
    assert len(marks) == 1  # only the deep network has a separated length mode
    s = length_singular_value(_net(DEPTH_OUTLIER))
    assert 0.1 < s < 0.3  # the measured 0.18 of critical tanh at L = 32
    assert float(marks[0].get_xdata()[0]) == pytest.approx(s, rel=POSITION_RTOL)
    labels = by_gid(ax.texts, "outlier_label")
    assert len(labels) == 1 and f"{s:.3g}"[:4] in labels[0].get_text()
    lo, hi = ax.get_xlim()
    assert lo < s < hi
    assert "length mode (predicted)" in [t.get_text() for t in ax.get_legend().get_texts()]


@SHARED_FIGURE
def test_finite_width_band_spans_the_predicted_spread(fig_with_width):
    ax = fig_with_width.axes[0]
    bands = by_gid(ax.patches, "finite_width_band")
    assert len(bands) == 2  # one per depth
    for band, depth in zip(bands, (DEPTH_NONE, DEPTH_OUTLIER), strict=True):
        fw = finite_width(_net(depth), WIDTH)
        mu, sd = fw["log_m1_mean"], fw["log_m1_sd"]
        lo, hi = x_extent(band)
        assert lo == pytest.approx(math.exp(0.5 * (mu - sd)), rel=POSITION_RTOL)
        assert hi == pytest.approx(math.exp(0.5 * (mu + sd)), rel=POSITION_RTOL)
        assert sd > 0
    centres = by_gid(ax.lines, "finite_width_center")
    assert len(centres) == 2
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    band_texts = [t for t in texts if "1 sd" in t]
    assert band_texts and f"N = {WIDTH}" in band_texts[0]
    assert len(band_texts) == 1  # one legend entry for the band, not one per depth


def test_band_contains_the_sampled_rms_singular_value_spread():
    """The band is a prediction across networks: the sampled sqrt(m1_hat) of most networks falls inside +-2 sd
    (12 networks; a fraction outside of more than 1/3 has probability below 1e-3 under the prediction)."""
    from spectral.montecarlo import sample_jacobians
    from spectral.plotting.overlays import finite_width_band

    net = _net(8)
    band = finite_width_band(net, WIDTH)
    smp = sample_jacobians(net, width=WIDTH, n_samples=12, mode="network", seed=1, progress=False)
    rms = np.sqrt(np.mean(np.asarray(smp.eigenvalues, dtype=float), axis=1))
    half = 0.5 * math.log(band["hi"] / band["lo"])  # one sd of log sqrt(m1_hat)
    inside = np.abs(np.log(rms / band["center"])) <= 2.0 * half
    assert inside.mean() >= 2.0 / 3.0


def test_no_band_without_width_and_no_outlier_in_free_mode():
    fig = P.figure_spectrum("tanh", "orthogonal", 1.05, depths=(DEPTH_OUTLIER,), points=200)
    ax = fig.axes[0]
    assert len(by_gid(ax.lines, "outlier")) == 1
    assert not by_gid(ax.patches, "finite_width_band")
    fig = P.figure_spectrum("tanh", "orthogonal", 1.05, depths=(DEPTH_OUTLIER,), points=200, mode="free")
    assert not by_gid(fig.axes[0].lines, "outlier")


def test_plot_singular_values_checks_alignment():
    from spectral.product import jacobian_law

    r = jacobian_law(_net(2)).singular_values().density(100)
    with pytest.raises(ValueError, match="outliers has 2 entries for 1 results"):
        P.plot_singular_values([r], outliers=[None, None])
    with pytest.raises(ValueError, match="bands has 0 entries for 1 results"):
        P.plot_singular_values([r], bands=[])


def test_cli_plot_spectrum_with_width_draws_the_overlays(capsys, tmp_path):
    """In-process ``spectral.cli.main`` (what ``python -m spectral`` runs)."""
    out = tmp_path / "spectrum.png"
    code = main(["plot", "spectrum", "--activation", "tanh", "--weights", "orthogonal", "--depths", str(DEPTH_OUTLIER),
                 "--width", str(WIDTH), "--samples", "2", "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    assert out.stat().st_size > 0


def test_validation_figure_shades_the_finite_width_band():
    fig = P.figure_validation("tanh", "orthogonal", 1.05, depth=8, width=WIDTH, n_samples=4, points=200)
    ax = fig.axes[0]
    (band,) = by_gid(ax.patches, "finite_width_band")
    fw = finite_width(_net(8), WIDTH)
    lo, hi = x_extent(band)
    assert lo == pytest.approx(math.exp(0.5 * (fw["log_m1_mean"] - fw["log_m1_sd"])), rel=POSITION_RTOL)
    assert hi == pytest.approx(math.exp(0.5 * (fw["log_m1_mean"] + fw["log_m1_sd"])), rel=POSITION_RTOL)
