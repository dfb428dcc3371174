"""Singular-value (or eigenvalue) densities of networks, optionally over sampled networks: plot and figures."""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence

import matplotlib as mpl
import numpy as np
from matplotlib.figure import Figure

from ..depth_scaling import DensityFailedWarning
from . import sources
from .curves import (
    _as_items,
    _auto_ylim,
    _bin_edges,
    _curve,
    _draw_atoms,
    _draw_zero_fraction,
    _histogram,
    _per_decade,
    _sample_values,
    _samples_label,
    _view,
)
from .overlays import draw_finite_width_band, draw_outliers, finite_width_band, network_outliers
from .style import (
    _XLABEL,
    _YLABEL,
    _YLABEL_LOG,
    STYLE,
    _act_name,
    _check_variable,
    _check_xscale,
    _colors,
    _fmt_sigma,
    _new_axes,
    _plain_title,
    panel_title,
)


def plot_singular_values(results, *, labels=None, samples=None, variable: str = "singular", xscale: str = "linear",
                         ax=None, colors=None, cmap: str | None = None, xlim=None, ylim=None, bins: int = 60,
                         annotate_atoms: bool = True, title: str | None = None, legend: bool = True,
                         legend_loc: str = "best", outliers=None, bands=None):
    r"""Densities of several networks (or depths) on one axes: the dynamical-isometry figure.

    Parameters
    ----------
    results : DensityResult, sequence of DensityResult, or mapping label -> DensityResult
        Densities from ``law.singular_values().density()`` or ``law.density()`` (eigenvalues); each is
        converted to ``variable`` (:math:`\rho_s(s) = 2 s \rho_\lambda(s^2)`).
    labels : sequence of str, optional
        Legend entries (not with a mapping).  Uncertified densities are dashed, with " (uncertified)".
    samples : sequence, optional
        Sampled networks aligned with ``results`` (``None`` entries allowed): :class:`JacobianSamples` or
        arrays of values in ``variable`` (zeros counted as the sampled atom at 0).  Drawn as step histograms in
        the curve's colour, normalised so that their area is the sampled fraction of nonzero values.
    variable : {"singular", "eigen"}
        Singular values of :math:`J` or eigenvalues of :math:`JJ^T`.
    xscale : {"linear", "log"}
        On a log axis the curves are densities per decade, :math:`\ln(10)\, x \rho(x)` (areas stay masses),
        and an atom at 0 is drawn at the left edge, labelled "at 0".
    ax : matplotlib Axes, optional
    colors : sequence of colours, optional
        One per result (default: the property cycle, or ``cmap`` sampled evenly -- e.g. ``"viridis"`` for
        depths).
    xlim, ylim : (float, float), optional
        Default x: just below 0 to 1.04 x the largest edge or atom (log: where the mass starts); default y: 0 to
        1.15 x the largest smoothed density in view (integrable singularities, such as the divergence of deep
        products at 0, run off the top).
    bins : int
        Histogram bins over the x range.
    annotate_atoms : bool
        Write each atom's mass beside its spike.
    title : str, optional
    legend : bool
    legend_loc : str
    outliers : sequence, optional
        Aligned with ``results``: lists of outlier records ``{"singular_value", "eigenvalue", "kind"}``
        (:func:`spectral.outliers.length_outliers`; ``None`` or empty entries allowed), each drawn as a
        triangle on the x axis in the curve's colour with its value (:mod:`spectral.plotting.overlays`).
    bands : sequence, optional
        Aligned with ``results``: finite-width bands (:func:`spectral.plotting.overlays.finite_width_band`;
        ``None`` entries allowed), shaded in the curve's colour.

    Returns
    -------
    matplotlib.axes.Axes
        The density axes; the atom axis (right, "atom mass", 0 to 1), when there are atoms, is
        ``ax._spectral_atom_axes``.

    Notes
    -----
    Artists carry a ``gid`` for inspection: ``"density"`` (Line2D, the plotted x and y), ``"atom"`` (Line2D,
    x = [loc, loc], y = [0, mass] on the atom axis), ``"atom_label"`` (the mass text), ``"samples"``
    (StepPatch, values = histogram heights), ``"atom_sampled"`` (sampled fraction of zeros), ``"outlier"``
    (Line2D at the predicted outlier), ``"outlier_label"`` (its value), ``"finite_width_band"`` (axvspan patch
    over the band) and ``"finite_width_center"``.
    """
    variable = _check_variable(variable)
    log = _check_xscale(xscale)
    items = _as_items(results, labels)
    if samples is not None:
        samples = list(samples)
        if len(samples) != len(items):
            raise ValueError(f"samples has {len(samples)} entries for {len(items)} results (use None entries)")
    else:
        samples = [None] * len(items)
    outliers = _aligned(outliers, items, "outliers")
    bands = _aligned(bands, items, "bands")
    cols = list(colors) if colors is not None else _colors(len(items), cmap)
    if len(cols) < len(items):
        raise ValueError(f"colors has {len(cols)} entries for {len(items)} results")
    cols = cols[:len(items)]
    with mpl.rc_context(STYLE):
        ax = _new_axes(ax)
        curves = [_curve(res, variable) for _, res in items]
        svals = [None if smp is None else _sample_values(smp, variable) for smp in samples]
        lo, hi = _view(curves, [v for v, _ in filter(None, svals)], log, xlim)
        if xlim is None:  # the outliers lie below the bulk: widen the view to show them
            low = [o["singular_value"] if variable == "singular" else o["eigenvalue"] for o in _flat(outliers)]
            lo = min([lo, *(0.5 * x for x in low)]) if log else lo
        if log:
            ax.set_xscale("log")
            curves = [_per_decade(c) for c in curves]
        edges = _bin_edges(lo, hi, bins, log)
        x0 = lo if log else 0.0
        seen: set = set()
        first_sample = None
        for (label, _), c, col, sv, smp in zip(items, curves, cols, svals, samples, strict=True):
            text = None if label is None else (label if c.certified else f"{label} (uncertified)")
            if sv is not None:
                vals, total = sv
                h = _histogram(vals, total, edges, log)
                ax.stairs(h, edges, fill=True, alpha=0.18, color=col, gid="samples", label="_samples")
                ax.stairs(h, edges, color=col, alpha=0.6, lw=0.7, gid="samples_edge", label="_samples")
                _draw_zero_fraction(ax, 1.0 - vals.size / max(total, 1), col, x0)
                first_sample = smp if first_sample is None else first_sample
            if c.x.size:
                ax.plot(c.x, c.y, color=col, label=text, gid="density", ls="-" if c.certified else "--")
            elif text is not None:  # no continuous part (e.g. linear orthogonal): legend entry only
                ax.plot([], [], color=col, label=text, gid="density")
            _draw_atoms(ax, c.atoms, col, seen, label_atoms=annotate_atoms, zero_at=x0)
        for k, (outs, band, col) in enumerate(zip(outliers, bands, cols, strict=True)):
            if outs:
                marked = sum(1 for o in outliers[:k] if o)
                draw_outliers(ax, outs, variable, col, label=not marked, level=marked)
            if band is not None:
                draw_finite_width_band(ax, band, variable, col, label=all(b is None for b in bands[:k]))
        ax.set_xlim(lo, hi)
        ax.set_ylim(*(ylim if ylim is not None else (0.0, _auto_ylim(curves, max(lo, 0.0) if not log else lo,
                                                                     hi, log))))
        ax.set_xlabel(_XLABEL[variable])
        ax.set_ylabel(_YLABEL_LOG[variable] if log else _YLABEL[variable])
        twin = getattr(ax, "_spectral_atom_axes", None)
        if twin is not None:
            twin.set_xlim(lo, hi)
        if title:
            ax.set_title(title)
        if legend:
            handles, texts = ax.get_legend_handles_labels()
            if first_sample is not None:
                handles.append(mpl.patches.Patch(facecolor="0.6", alpha=0.35, edgecolor="0.4"))
                texts.append(_samples_label(first_sample))
            if handles:
                ax.legend(handles, texts, loc=legend_loc)
    return ax


def _aligned(values, items, name: str) -> list:
    """``values`` as a list aligned with the plotted results (all None when not given)."""
    if values is None:
        return [None] * len(items)
    values = list(values)
    if len(values) != len(items):
        raise ValueError(f"{name} has {len(values)} entries for {len(items)} results (use None entries)")
    return values


def _flat(outliers) -> list:
    return [o for outs in outliers if outs for o in outs]


def singular_value_figure(panels, *, variable: str = "singular", points: int = 400, width: int | None = None,
                          n_samples: int = 4, mode: str = "network", backend: str = "auto", seed: int = 0,
                          cmap: str = "viridis", xscale: str = "linear", xlim=None, ncols: int | None = None,
                          figsize=None, sharey: bool = False, title: str | None = None,
                          legend_loc: str = "best", outliers: bool = True) -> Figure:
    r"""Singular-value densities of several networks per panel, optionally with sampled networks overlaid.

    Parameters
    ----------
    panels : mapping title -> sequence of Network, or sequence of sequences of Network
        Each panel's networks are drawn on one axes, labelled ``L = depth`` when they differ only by depth
        (otherwise by activation/weights/sigma_w2).
    variable : {"singular", "eigen"}
    points : int
        Grid points of each density.
    width : int, optional
        If given, sample ``n_samples`` networks of this width per curve
        (:func:`spectral.montecarlo.sample_jacobians` with ``mode``, ``backend``, ``seed``) and overlay them.
    cmap : str
        Colours along each panel's curves (depth order).
    xscale : {"linear", "log"}
        See :func:`plot_singular_values` (log: densities per decade, for spectra spread over decades).
    xlim : (float, float), optional
        Shared x range (default: per panel).
    ncols : int, optional
        Panels per row (default: all in one row up to 4).
    figsize : (float, float), optional
    sharey : bool
    title : str, optional
    legend_loc : str
        Legend position in each panel (matplotlib ``loc``).
    outliers : bool
        In ``mode="network"``, mark each network's predicted length-mode singular value
        (:func:`spectral.outliers.length_outliers`, where one is predicted); with ``width``, also shade the
        finite-width band of :math:`\sqrt{\hat m_1}` across networks (:mod:`spectral.plotting.overlays`).

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    A density that the solver cannot certify is drawn dashed and labelled "(uncertified)"; one that fails is
    left out with a :class:`RuntimeWarning` naming the network and the error, and a note in the panel.
    """
    _check_variable(variable)
    if isinstance(panels, Mapping):
        items = [(str(k), list(v)) for k, v in panels.items()]
    else:
        items = [(None, list(v)) for v in panels]
    n = len(items)
    if n == 0:
        raise ValueError("panels must contain at least one panel of networks")
    ncols = ncols or min(n, 4)
    nrows = math.ceil(n / ncols)
    with mpl.rc_context(STYLE):
        fig = Figure(figsize=figsize or (4.2 * ncols, 3.3 * nrows), layout="constrained")
        axs = np.atleast_1d(fig.subplots(nrows, ncols, sharey=sharey, squeeze=False)).ravel()
        for ax, (ptitle, nets) in zip(axs, items, strict=False):
            results, labels, samples, failed, outs, bands = [], [], [], [], [], []
            by_depth = len({(_act_name(m), m.weights, float(m.sigma_w2)) for m in nets}) == 1
            for net in nets:
                label = f"$L = {net.depth}$" if by_depth else (
                    rf"{_act_name(net)} {net.weights} $\sigma_w^2={_fmt_sigma(net.sigma_w2)}$, $L={net.depth}$")
                res, err = sources.density_of(net, variable, points)
                if res is None:
                    warnings.warn(f"density of {_plain_title(net)}, L={net.depth} failed and is not drawn: "
                                  f"{err}", DensityFailedWarning, stacklevel=2)
                    failed.append(f"L={net.depth}")
                    continue
                results.append(res)
                labels.append(label)
                outs.append(network_outliers(net, mode) if outliers else None)
                bands.append(finite_width_band(net, width, mode) if outliers and width is not None else None)
                if width is not None:
                    from ..montecarlo import sample_jacobians

                    samples.append(sample_jacobians(net, width=width, n_samples=n_samples, mode=mode,
                                                    backend=backend, seed=seed, progress=False))
            if ptitle is None and nets:
                ptitle = panel_title(nets[0]) if by_depth else None
            plot_singular_values(results, labels=labels, samples=samples if width is not None else None,
                                 variable=variable, xscale=xscale, ax=ax, cmap=cmap, xlim=xlim, title=ptitle,
                                 legend_loc=legend_loc, outliers=outs, bands=bands)
            if failed:
                ax.text(0.98, 0.02, "density failed: " + ", ".join(failed), transform=ax.transAxes, ha="right",
                        va="bottom", fontsize=7, color="C3")
        for ax in axs[n:]:
            ax.set_visible(False)
        if title:
            fig.suptitle(title)
    return fig


def figure_spectrum(activation="tanh", weights=("orthogonal", "gaussian"), sigma_w2=1.05, sigma_b2=0.0, *,
                    critical: bool = True, depths=(2, 8, 32, 128), variable: str = "singular", points: int = 400,
                    width: int | None = None, n_samples: int = 4, mode: str = "network", backend: str = "auto",
                    seed: int = 0, xscale: str = "linear", xlim=None, figsize=None, outliers: bool = True) -> Figure:
    r"""``spectral plot spectrum``: singular-value densities at several depths, one panel per weight law.

    Parameters
    ----------
    activation : str or Activation
    weights : str or sequence of {"gaussian", "orthogonal"}
        One panel each.
    sigma_w2 : float or sequence of float
        One panel each (panels: every weights x sigma_w2 pair).
    sigma_b2 : float
        Bias variance (ignored with ``critical``).
    critical : bool
        Solve sigma_b2 on the critical line :math:`\chi_1 = 1` at each sigma_w2.
    depths : sequence of int
        One curve per depth.
    variable : {"singular", "eigen"}
    points : int
    width, n_samples, mode, backend, seed :
        Overlay sampled networks when ``width`` is given (see :func:`singular_value_figure`).
    xscale : {"linear", "log"}
    xlim, figsize : optional
    outliers : bool
        Mark the predicted length-mode outlier (network mode) and, with ``width``, shade the finite-width band
        (see :func:`singular_value_figure`).

    Returns
    -------
    matplotlib.figure.Figure
    """
    ws = (weights,) if isinstance(weights, str) else tuple(weights)
    s2s = tuple(sigma_w2) if isinstance(sigma_w2, Sequence) and not isinstance(sigma_w2, str) else (sigma_w2,)
    depths = [int(d) for d in np.atleast_1d(depths)]
    panels = [[sources.network_for(activation, w, s2, sigma_b2, d, critical) for d in depths] for s2 in s2s for w in ws]
    return singular_value_figure(panels, variable=variable, points=points, width=width, n_samples=n_samples,
                                 mode=mode, backend=backend, seed=seed, xscale=xscale, xlim=xlim, figsize=figsize,
                                 outliers=outliers)
