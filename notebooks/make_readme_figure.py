"""Generate the README headline figure: singular values of deep Jacobians at criticality (dynamical isometry).

Three panels, depths L = 2, 8, 32, 128, theory (free probability) with sampled networks overlaid:
tanh with orthogonal weights at sigma_w2 = 1.05 (isometric), tanh with Gaussian weights at the same point, and
relu with orthogonal weights at sigma_w2 = 2 (never isometric: an atom of mass 1/2 at 0 and a spreading bulk).

Usage::

    python notebooks/make_readme_figure.py                  # writes docs/figures/dynamical_isometry.png
    python notebooks/make_readme_figure.py --out fig.pdf    # any format matplotlib writes

``SPECTRAL_QUICK=1`` uses small sizes (the test suite).
"""

from __future__ import annotations

from pathlib import Path

import figure_script

import spectral as sp
from spectral import plotting as splt

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "docs" / "figures" / "dynamical_isometry.png"


def build(quick: bool = False):
    """The figure (matplotlib Figure)."""
    depths = (2, 8) if quick else (2, 8, 32, 128)
    width, n_samples = (64, 2) if quick else (400, 3)
    points = 200 if quick else 800
    panels = {
        r"tanh, orthogonal, $\sigma_w^2 = 1.05$ (critical)":
            [sp.Network.critical("tanh", sigma_w2=1.05, depth=L, weights="orthogonal") for L in depths],
        r"tanh, Gaussian, $\sigma_w^2 = 1.05$ (critical)":
            [sp.Network.critical("tanh", sigma_w2=1.05, depth=L, weights="gaussian") for L in depths],
        r"relu, orthogonal, $\sigma_w^2 = 2$ (critical)":
            [sp.Network(activation="relu", weights="orthogonal", sigma_w2=2.0, sigma_b2=0.0, depth=L)
             for L in depths],
    }
    return splt.singular_value_figure(panels, points=points, width=width, n_samples=n_samples, seed=0,
                                      xlim=(-0.04, 2.6), figsize=(12.5, 3.5), sharey=False, legend_loc="upper right",
                                      title="Singular values of the input-output Jacobian at initialization: "
                                            "theory (lines) and sampled networks (histograms)")


def main(argv=None) -> Path:
    return figure_script.main(build, DEFAULT_OUT, __doc__.splitlines()[0], argv)


if __name__ == "__main__":
    main()
