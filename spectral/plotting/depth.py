"""Spectral statistics against depth: plot and ``spectral plot depth`` (numbers from spectral.depth_scaling)."""

from __future__ import annotations

import matplotlib as mpl
import numpy as np
from matplotlib.figure import Figure

from ..depth_scaling import DepthScaling, depth_scaling
from . import sources
from .style import STYLE, _colors, panel_title

_DEPTH_PANELS = {
    "variance": (r"$m_2 - m_1^2$ of $JJ^T$", "log"),
    "lambda_max": (r"$\lambda_{\max}(JJ^T)$", "log"),
    "condition": (None, "log"),
}


def plot_depth_scaling(curves, *, quantities=("variance", "lambda_max", "condition"), axes=None,
                       colors=None, title: str | None = None):
    r"""Variance, top eigenvalue and a condition measure of :math:`JJ^T` against depth.

    Parameters
    ----------
    curves : DepthScaling or sequence of DepthScaling
    quantities : sequence of {"variance", "lambda_max", "condition"}
        One panel each, in this order.
    axes : sequence of matplotlib Axes, optional
        One per quantity (default: a new 1 x n figure).
    colors : sequence of colours, optional
        One per curve (default: the property cycle).  Gaussian weights are dashed, orthogonal solid.
    title : str, optional
        Figure title (suptitle) when the figure is created here.

    Returns
    -------
    list of matplotlib.axes.Axes
        Lines carry ``gid`` equal to the quantity name; their data are ``(depths, values)``.
    """
    if isinstance(curves, DepthScaling):
        curves = [curves]
    curves = list(curves)
    for q in quantities:
        if q not in _DEPTH_PANELS:
            raise ValueError(f"quantities must be among {tuple(_DEPTH_PANELS)}, got {q!r}")
    cols = list(colors) if colors is not None else _colors(len(curves))
    with mpl.rc_context(STYLE):
        if axes is None:
            fig = Figure(figsize=(3.4 * len(quantities), 3.2), layout="constrained")
            axes = list(np.atleast_1d(fig.subplots(1, len(quantities))))
            if title:
                fig.suptitle(title)
        axes = list(axes)
        if len(axes) != len(quantities):
            raise ValueError(f"axes has {len(axes)} entries for {len(quantities)} quantities")
        for ax, q in zip(axes, quantities, strict=True):
            ylabel, scale = _DEPTH_PANELS[q]
            for c, col in zip(curves, cols, strict=False):
                y = np.asarray(getattr(c, q), dtype=float)
                ls = "--" if c.weights == "gaussian" else "-"
                ax.plot(c.depths, y, color=col, ls=ls, marker="o", ms=3.5, label=c.label, gid=q)
            if q == "condition":
                qlo, qhi = curves[0].quantiles if curves else (0.01, 0.99)
                ylabel = rf"$s_{{{qhi:g}}} / s_{{{qlo:g}}}$ (nonzero $s$)"
            ax.set_xscale("log")
            shown = any(np.any(np.isfinite(v) & (v > 0)) for v in (np.asarray(getattr(c, q), float) for c in curves))
            if shown or scale != "log":
                ax.set_yscale(scale)
            else:  # every value failed (NaN): a log axis has nothing to scale, say so in the panel
                ax.text(0.5, 0.5, "not available", transform=ax.transAxes, ha="center", va="center", color="C3")
            ax.set_xlabel(r"depth $L$")
            ax.set_ylabel(ylabel)
        if axes:
            axes[0].legend(loc="upper left")
    return axes


def figure_depth(activation="tanh", sigma_w2=1.05, sigma_b2=0.0, *, critical: bool = True,
                 weights=("gaussian", "orthogonal"), depths=(1, 2, 4, 8, 16, 32, 64, 128),
                 quantiles=(0.01, 0.99), points: int = 400, figsize=None) -> Figure:
    r"""``spectral plot depth``: variance, :math:`\lambda_{\max}` and conditioning against depth.

    Parameters
    ----------
    activation, sigma_w2, sigma_b2, critical :
        The network family (sigma_b2 on the critical line with ``critical``).
    weights : str or sequence of {"gaussian", "orthogonal"}
        One curve each (Gaussian dashed, orthogonal solid).
    depths : sequence of int
    quantiles : (float, float)
        Condition measure :math:`s_{hi}/s_{lo}` of the nonzero singular values.
    points : int
    figsize : optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    ws = (weights,) if isinstance(weights, str) else tuple(weights)
    curves = []
    for w in ws:
        net = sources.network_for(activation, w, sigma_w2, sigma_b2, 1, critical)
        curves.append(depth_scaling(net, depths, quantiles=quantiles, points=points, label=f"{w} weights"))
    net0 = sources.network_for(activation, ws[0], sigma_w2, sigma_b2, 1, critical)
    title = panel_title(net0).replace(f"{net0.weights}, ", "")
    axes = plot_depth_scaling(curves, title=title)
    fig = axes[0].figure
    if figsize is not None:
        fig.set_size_inches(*figsize)
    return fig
