"""Phase diagrams (chi_1 over sigma_w^2, sigma_b^2 with the critical line): plot and ``spectral plot phase``."""

from __future__ import annotations

import math
from collections.abc import Sequence

import matplotlib as mpl
import numpy as np
from matplotlib.colors import TwoSlopeNorm
from matplotlib.figure import Figure

from ..depth_scaling import variance_grid
from .style import STYLE, _new_axes


def plot_phase_diagram(diagram, *, variance=None, depth: int | None = None, ax=None, cmap: str = "RdBu_r",
                       levels=None, colorbar: bool = True, title: str | None = None, labels: bool = True):
    r"""Order-to-chaos phase diagram: :math:`\chi_1` over :math:`(\sigma_w^2, \sigma_b^2)` with the critical line.

    Parameters
    ----------
    diagram : spectral.meanfield.PhaseDiagram
        ``chi1`` of shape (len(sigma_b2), len(sigma_w2)), ``critical_sigma_b2`` per sigma_w2.
    variance : ndarray, optional
        :math:`m_2 - m_1^2` of :math:`JJ^T` on the same grid, drawn as labelled contours of
        :math:`\log_{10}` (see :func:`figure_phase`).
    depth : int, optional
        Depth of ``variance`` (for the legend).
    ax : matplotlib Axes, optional
    cmap : str
        Diverging colormap centred at :math:`\chi_1 = 1`.
    levels : sequence of float, optional
        :math:`\log_{10}` variance levels (default: integers in range).
    colorbar : bool
    title : str, optional
    labels : bool
        Write "ordered" and "chaotic" inside the regions (and "no fixed point" where the q-map has none).

    Returns
    -------
    matplotlib.axes.Axes

    Notes
    -----
    The colour mesh is a QuadMesh with ``gid="chi1"`` whose array is ``chi1``; the critical line is a Line2D
    with ``gid="critical"`` (x = sigma_w2, y = critical_sigma_b2); region labels are texts with
    ``gid="region"``; variance contours have ``gid="variance"``.
    """
    sw = np.asarray(diagram.sigma_w2, dtype=float)
    sb = np.asarray(diagram.sigma_b2, dtype=float)
    chi = np.asarray(diagram.chi1, dtype=float)
    if chi.shape != (sb.size, sw.size):
        raise ValueError(f"diagram.chi1 has shape {chi.shape}, expected (len(sigma_b2), len(sigma_w2)) = "
                         f"{(sb.size, sw.size)}")
    with mpl.rc_context(STYLE):
        ax = _new_axes(ax, figsize=(5.0, 3.8))
        fin = chi[np.isfinite(chi)]
        lo = min(float(fin.min()), 0.999) if fin.size else 0.5
        hi = max(float(fin.max()), 1.001) if fin.size else 1.5
        ax.set_facecolor("0.88")
        mesh = ax.pcolormesh(sw, sb, np.ma.masked_invalid(chi), cmap=cmap, shading="nearest",
                             norm=TwoSlopeNorm(vmin=lo, vcenter=1.0, vmax=hi), rasterized=True)
        mesh.set_gid("chi1")
        if colorbar:
            cb = ax.figure.colorbar(mesh, ax=ax, pad=0.02)
            cb.set_label(r"$\chi_1 = \sigma_w^2\, E[\phi'(\sqrt{q^*} z)^2]$")
        crit = np.asarray(diagram.critical_sigma_b2, dtype=float)
        ok = np.isfinite(crit) & (crit >= sb.min()) & (crit <= sb.max())
        marker = "o" if np.count_nonzero(ok) < 3 else None
        ax.plot(sw[ok], crit[ok], color="k", lw=2.0, marker=marker, gid="critical",
                label=r"critical line $\chi_1 = 1$")
        if variance is not None:
            var = np.asarray(variance, dtype=float)
            if var.shape != chi.shape:
                raise ValueError(f"variance has shape {var.shape}, expected {chi.shape} (same grid as chi1)")
            with np.errstate(divide="ignore", invalid="ignore"):
                lv = np.log10(np.where(var > 0, var, np.nan))
            finite = lv[np.isfinite(lv)]
            if finite.size:
                if levels is None:
                    a, b = math.ceil(finite.min()), math.floor(finite.max())
                    step = max(1, math.ceil((b - a + 1) / 8))
                    levels = np.arange(a, b + 1, step)
                cs = ax.contour(sw, sb, np.ma.masked_invalid(lv), levels=levels, colors="0.15", linewidths=0.8,
                                linestyles=":")
                cs.set_gid("variance")
                ax.clabel(cs, fmt=lambda v: rf"$10^{{{v:g}}}$", fontsize=7)
                what = r"$m_2 - m_1^2$ of $JJ^T$" + (f" at $L = {depth}$" if depth is not None else "")
                ax.plot([], [], color="0.15", lw=0.8, ls=":", label=what)
        if labels:
            _region_label(ax, sw, sb, np.isfinite(chi) & (chi < 1.0), "ordered\n" + r"$\chi_1 < 1$")
            _region_label(ax, sw, sb, np.isfinite(chi) & (chi > 1.0), "chaotic\n" + r"$\chi_1 > 1$")
            _region_label(ax, sw, sb, ~np.isfinite(chi), "no fixed point", small=True)
        ax.set_xlim(sw.min(), sw.max())
        ax.set_ylim(sb.min(), sb.max())
        ax.set_xlabel(r"weight variance $\sigma_w^2$")
        ax.set_ylabel(r"bias variance $\sigma_b^2$")
        ax.set_title(title if title is not None else getattr(diagram.activation, "name", ""))
        ax.legend(loc="upper left")
    return ax


def _region_label(ax, sw, sb, mask, text, small=False):
    """Write ``text`` at the grid point of ``mask`` deepest inside the region (farthest from its boundary)."""
    if np.count_nonzero(mask) < max(2, mask.size // 50):
        return
    from scipy.ndimage import distance_transform_edt

    dist = distance_transform_edt(np.pad(mask, 1, constant_values=False))[1:-1, 1:-1]
    i, j = np.unravel_index(int(np.argmax(dist)), dist.shape)
    ax.text(sw[j], sb[i], text, ha="center", va="center", fontsize=8 if small else 10, gid="region",
            color="0.15", bbox={"boxstyle": "round,pad=0.25", "fc": "white", "ec": "none", "alpha": 0.7})


def _grid_with_critical(act, w0, w1, b0, n):
    """sigma_w2 grid with the critical sigma_w2 at sigma_b2 = b0 inserted (relu's critical point is (2, 0))."""
    from ..meanfield import critical_point

    grid = np.linspace(w0, w1, n)
    try:
        wc = float(critical_point(act, sigma_b2=b0).sigma_w2)
    except ValueError:
        return grid
    return np.unique(np.append(grid, wc)) if w0 < wc < w1 else grid


def figure_phase(activation="tanh", *, sigma_w2=(0.5, 4.0), sigma_b2=(0.0, 0.3), resolution: int = 80,
                 depth: int | None = None, weights: str = "orthogonal", ncols: int | None = None,
                 figsize=None) -> Figure:
    r"""``spectral plot phase``: :math:`\chi_1` phase diagram(s) with the critical line.

    Parameters
    ----------
    activation : str, Activation, or sequence of them
        One panel per activation.
    sigma_w2, sigma_b2 : (float, float)
        Ranges of the grid (sigma_w2 > 0, sigma_b2 >= 0).
    resolution : int
        Grid points per axis.
    depth : int, optional
        Add contours of the variance :math:`m_2 - m_1^2` of :math:`JJ^T` at this depth (uniform network with
        ``weights``).
    weights : {"orthogonal", "gaussian"}
        Weight law of the variance contours.
    ncols, figsize : optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    from ..activations import activation as resolve
    from ..meanfield import phase_diagram

    acts = [activation] if isinstance(activation, str) or not isinstance(activation, Sequence) else list(activation)
    (w0, w1), (b0, b1) = sigma_w2, sigma_b2
    if not (0 < w0 < w1):
        raise ValueError(f"sigma_w2 must be a range (lo, hi) with 0 < lo < hi, got {sigma_w2!r}")
    if not (0 <= b0 < b1):
        raise ValueError(f"sigma_b2 must be a range (lo, hi) with 0 <= lo < hi, got {sigma_b2!r}")
    if isinstance(resolution, bool) or not isinstance(resolution, int) or resolution < 4:
        raise ValueError(f"resolution must be an integer >= 4 (try 80), got {resolution!r}")
    sbs = np.linspace(b0, b1, resolution)
    n = len(acts)
    ncols = ncols or min(n, 3)
    nrows = math.ceil(n / ncols)
    with mpl.rc_context(STYLE):
        fig = Figure(figsize=figsize or (4.6 * ncols, 3.7 * nrows), layout="constrained")
        axs = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False)).ravel()
        for ax, spec in zip(axs, acts, strict=False):
            act = resolve(spec)
            pd = phase_diagram(act, _grid_with_critical(act, w0, w1, b0, resolution), sbs)
            var = variance_grid(act, pd, int(depth), weights) if depth is not None else None
            plot_phase_diagram(pd, variance=var, depth=depth, ax=ax)
        for ax in axs[n:]:
            ax.set_visible(False)
    return fig
