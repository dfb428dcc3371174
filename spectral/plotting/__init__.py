r"""Figures of Jacobian spectra (matplotlib only).

Two layers, kept apart:

*Plot functions* (``plot_*``) take results that were already computed -- a
:class:`~spectral.density.DensityResult`, :class:`~spectral.montecarlo.JacobianSamples`, a validation report,
a :class:`~spectral.meanfield.PhaseDiagram`, :class:`DepthScaling` curves -- draw them on the ``ax`` they are
given (or on a new figure) and return the Axes.  They compute nothing beyond rescalings, histograms and
labels, and never call ``plt.show()``.

*Figure builders* (``figure_*``, one per ``spectral plot`` subcommand, plus :func:`singular_value_figure`)
take network parameters, call the library (mean field, laws, densities, sampled networks, and
:mod:`spectral.depth_scaling` for the statistics against depth) and then the plot functions; they return a
:class:`matplotlib.figure.Figure` that the caller saves (``fig.savefig(path)``).  Figures are created without
:mod:`matplotlib.pyplot`, so nothing is registered with a GUI backend; in a notebook, run ``%matplotlib inline``
once and end a cell with the figure to display it.

Conventions
-----------
Singular values :math:`s` of :math:`J` and eigenvalues :math:`\lambda = s^2` of :math:`JJ^T`:
:math:`\rho_s(s) = 2 s\, \rho_\lambda(s^2)`.  Curves show the density of the continuous part; an atom
(point mass) is drawn as a vertical spike whose height is its *mass*, read on the right-hand axis
("atom mass", from 0 to 1), with the mass written next to it (e.g. ``1/2`` for relu).  Histograms of
sampled networks are normalised like the continuous part: the area of the bars is the fraction of
eigenvalues that are not structural zeros, and the sampled fraction at zero is drawn as a hollow marker
on the atom axis, next to the theory spike.

Finite networks: in network mode the predicted length-mode singular value (:mod:`spectral.outliers`) is a
triangle on the x axis with its value, and with a width the finite-width band of :math:`\sqrt{\hat m_1}`
across networks (:mod:`spectral.finite_width`) is shaded (:mod:`spectral.plotting.overlays`).
:func:`figure_recommend` draws a :class:`~spectral.recommendation.Recommendation`: its trade-off against the
nonlinearity budget and its spectrum against the defaults.  :func:`figure_spec_spectrum` draws a network spec
(residual blocks, normalisation) against the same network without skip connections; where the spec's density
is unavailable or uncertified the panel says so and shows the Brownian large-depth limit where it applies
(:mod:`spectral.plotting.spec_spectrum`).

References: J. Pennington, S. Schoenholz, S. Ganguli, *Resurrecting the sigmoid in deep learning through
dynamical isometry: theory and practice*, NeurIPS 2017 (the singular-value figures); B. Poole et al.,
NeurIPS 2016 and S. Schoenholz et al., ICLR 2017 (phase diagrams).
"""

from __future__ import annotations

from ..depth_scaling import DensityFailedWarning, DepthScaling, depth_scaling
from .depth import figure_depth, plot_depth_scaling
from .phase import figure_phase, plot_phase_diagram
from .recommend import figure_recommend, plot_recommend_spectra, plot_tradeoff
from .spec_spectrum import (
    SpecPanel,
    figure_spec_spectrum,
    plot_spec_panel,
    spec_panels,
    spec_panels_figure,
    without_skips,
)
from .spectrum import figure_spectrum, plot_singular_values, singular_value_figure
from .style import STYLE, panel_title
from .validation import figure_validation, plot_validation

__all__ = [
    "STYLE",
    "DepthScaling",
    "plot_singular_values",
    "plot_validation",
    "plot_phase_diagram",
    "plot_depth_scaling",
    "singular_value_figure",
    "depth_scaling",
    "figure_spectrum",
    "figure_spec_spectrum",
    "spec_panels",
    "spec_panels_figure",
    "plot_spec_panel",
    "SpecPanel",
    "without_skips",
    "figure_validation",
    "figure_phase",
    "figure_depth",
    "figure_recommend",
    "plot_tradeoff",
    "plot_recommend_spectra",
    "panel_title",
    "DensityFailedWarning",
]

