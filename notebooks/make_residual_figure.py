"""Generate the README's residual figure: singular values of J for plain tanh vs residual tanh networks.

Two panels at depths L = 8, 32, 128 (Gaussian weights, input coordinates of mean square 1):

* plain tanh, sigma_w2 = 1.05 on the critical line (``sp.Network.critical``): lines from the free-probability
  law; the spectrum spans many decades, so the axis is logarithmic (densities per decade);
* residual tanh, x -> x + L^(-1/2) V tanh(W x) (``spectral.architecture.presets.scaled_resnet``): lines from
  ``law.singular_values().density()`` where the solver gives the finite-L density (L = 8, 32), else (more than
  ``MAX_DISTINCT_BLOCKS`` distinct blocks) from the large-depth limit, Biane's free multiplicative Brownian motion at
  s = 2 sum_l beta^2 a_(1,l) (``spectral.plotting.spec_spectrum.spec_panel`` makes that choice; the script prints
  which was drawn and how far the limit's m_1, m_2 are from the exact law's).

Histograms: sampled networks (plain: the stable product; residual: the real forward pass) of width 256.

Usage::

    python notebooks/make_residual_figure.py                 # writes docs/figures/residual_spectra.png
    python notebooks/make_residual_figure.py --out fig.pdf   # any format matplotlib writes

``SPECTRAL_QUICK=1`` uses small sizes.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import figure_script
from matplotlib.figure import Figure

import spectral as sp
from spectral import plotting as splt
from spectral.architecture import scaled_resnet
from spectral.density import UncertifiedDensityWarning
from spectral.plotting import sources
from spectral.plotting.spec_spectrum import spec_panel

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "docs" / "figures" / "residual_spectra.png"


def _plain(depths, width, n_samples, points):
    results, samples, labels = [], [], []
    for depth in depths:
        net = sp.Network.critical("tanh", sigma_w2=1.05, depth=depth, weights="gaussian")
        res, err = sources.density_of(net, "singular", points)
        if res is None:
            raise RuntimeError(f"plain tanh, L = {depth}: the density failed: {err}")
        results.append(res)
        samples.append(sp.sample_jacobians(net, width=width, n_samples=n_samples, seed=depth, progress=False))
        labels.append(f"$L = {depth}$")
    return results, samples, labels


def _residual(depths, width, n_samples, points):
    results, samples, labels = [], [], []
    for depth in depths:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", UncertifiedDensityWarning)
            panel = spec_panel(scaled_resnet(depth, "tanh", "gaussian"), f"L = {depth}", width=width,
                               n_samples=n_samples, points=points, seed=depth)
        if panel.theory == "certified":
            results.append(panel.density)
            labels.append(f"$L = {depth}$ (exact law)")
            print(f"residual L = {depth}: exact finite-L density")
        elif panel.limit_density is not None:
            results.append(panel.limit_density)
            labels.append(rf"$L = {depth}$ (Brownian limit, $s = {panel.limit.s:.3f}$)")
            print(f"residual L = {depth}: {panel.limit.describe()}; finite-L density: {panel.reason}")
        else:
            raise RuntimeError(f"residual L = {depth}: no theory curve: {[str(w.message) for w in caught]}")
        samples.append(panel.samples)
        m = panel.samples.moments(1)[0][0]
        print(f"    exact m_1 = {sp.jacobian_law(panel.spec).moments(1)[0]:.6f}, sampled m_1 = {m:.6f}")
    return results, samples, labels


def build(quick: bool = False) -> Figure:
    """The figure (matplotlib Figure, no pyplot)."""
    depths = (8, 32) if quick else (8, 32, 128)
    width, n_samples = (64, 2) if quick else (256, 3)
    points = 200 if quick else 800
    fig = Figure(figsize=(12.0, 4.0), layout="constrained")
    left, right = fig.subplots(1, 2)
    res, smp, lab = _plain(depths, width, n_samples, points)
    splt.plot_singular_values(res, labels=lab, samples=smp, xscale="log", ax=left, cmap="viridis",
                              legend_loc="upper left", title=r"plain tanh, Gaussian, $\sigma_w^2 = 1.05$ (critical)")
    res, smp, lab = _residual(depths, width, n_samples, points)
    splt.plot_singular_values(res, labels=lab, samples=smp, xscale="linear", ax=right, cmap="viridis",
                              legend_loc="upper right",
                              title=r"residual tanh $x + L^{-1/2}\,V\tanh(Wx)$: the same law at every depth")
    fig.suptitle(f"Plain vs residual: theory (lines) and sampled networks of width {width} (histograms)")
    return fig


def main(argv=None) -> Path:
    return figure_script.main(build, DEFAULT_OUT, __doc__.splitlines()[0], argv)


if __name__ == "__main__":
    main()
