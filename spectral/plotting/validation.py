"""Theory against sampled networks: the validation plot and ``spectral plot validation``."""

from __future__ import annotations

import math

import matplotlib as mpl
import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from . import sources
from .curves import (
    _atom_axes,
    _auto_ylim,
    _bin_edges,
    _curve,
    _draw_atoms,
    _draw_zero_fraction,
    _histogram,
    _per_decade,
    _report_dict,
    _sample_values,
    _samples_label,
    _view,
)
from .overlays import draw_finite_width_band, finite_width_band
from .style import (
    _XLABEL,
    _YLABEL,
    _YLABEL_LOG,
    STYLE,
    _check_variable,
    _check_xscale,
    _fmt_mass,
    _fmt_num,
    _new_axes,
    _plain_title,
    panel_title,
)


def plot_validation(samples, theory, *, report=None, variable: str = "singular", xscale: str = "linear", ax=None,
                    bins: int = 60, color="C0", sample_color="0.55", xlim=None, ylim=None, title: str | None = None,
                    n_z: int = 4, legend_loc: str = "best", band=None):
    r"""Histogram of sampled networks with the theory density, its atoms and the test statistics.

    Parameters
    ----------
    samples : JacobianSamples, ValidationReport or array_like
        Sampled spectra (arrays: values in ``variable``; zeros are the sampled atom at 0).  A ValidationReport
        stands for its ``samples`` and, unless ``report`` is given, for the report.
    theory : DensityResult
        Theory density (either variable; converted).
    report : ValidationReport or dict, optional
        Its ``ks``, ``wasserstein``, ``z_scores`` (moment z-scores), ``atom_theory``/``atom_sampled`` and
        ``passed`` go into the legend.
    variable : {"singular", "eigen"}
    xscale : {"linear", "log"}
        As in :func:`plot_singular_values`.
    ax : matplotlib Axes, optional
    bins : int
    color, sample_color : colours of the theory curve and of the histogram.
    xlim, ylim : optional limits (defaults as in :func:`plot_singular_values`, widened to the samples).
    title : str, optional
    n_z : int
        Number of moment z-scores shown.
    legend_loc : str
    band : dict, optional
        The finite-width band of :math:`\sqrt{\hat m_1}` across networks
        (:func:`spectral.plotting.overlays.finite_width_band`), shaded in the theory's colour
        (``gid="finite_width_band"``).

    Returns
    -------
    matplotlib.axes.Axes

    Notes
    -----
    The histogram is a StepPatch (``gid="samples"``) whose area is the sampled fraction of nonzero values,
    directly comparable with the continuous density (``gid="density"``); atoms as in
    :func:`plot_singular_values`.
    """
    variable = _check_variable(variable)
    log = _check_xscale(xscale)
    if hasattr(samples, "to_dict") and hasattr(samples, "samples"):  # a ValidationReport carrying its samples
        report = samples if report is None else report
        samples = samples.samples
        if samples is None:
            raise ValueError("this ValidationReport carries no samples; pass the JacobianSamples as `samples`")
    rep = _report_dict(report)
    with mpl.rc_context(STYLE):
        ax = _new_axes(ax)
        c = _curve(theory, variable)
        vals, total = _sample_values(samples, variable)
        lo, hi = _view([c], [vals], log, xlim)
        if log:
            ax.set_xscale("log")
            c = _per_decade(c)
        edges = _bin_edges(lo, hi, bins, log)
        x0 = lo if log else 0.0
        h = _histogram(vals, total, edges, log)
        ax.stairs(h, edges, fill=True, color=sample_color, alpha=0.45, gid="samples", label=_samples_label(samples))
        tlabel = "theory (free probability)" if c.certified else "theory (uncertified)"
        if c.x.size:
            ax.plot(c.x, c.y, color=color, gid="density", label=tlabel, ls="-" if c.certified else "--")
        _draw_atoms(ax, c.atoms, color, set(), zero_at=x0)
        _draw_zero_fraction(ax, 1.0 - vals.size / max(total, 1), sample_color, x0, size=10)
        view = edges[:-1] >= (lo if log else 0.04 * hi)
        for loc, _ in c.atoms:
            if loc > 0:  # sampled mass at a nonzero atom (values equal to it up to rounding): hollow marker
                at = np.abs(vals - loc) <= 1e-6 * loc
                _atom_axes(ax).plot([loc], [np.count_nonzero(at) / max(total, 1)], marker="o", mfc="none",
                                    mec=sample_color, ms=10, mew=1.2, ls="none", gid="atom_sampled",
                                    label="_atom_sampled", zorder=5)
                view &= ~((edges[:-1] <= loc) & (loc <= edges[1:]))  # its bin does not set the y range
        _draw_outliers(ax, rep.get("outliers") or (), variable, color)
        if band is not None:
            draw_finite_width_band(ax, band, variable, color)
        ax.set_xlim(lo, hi)
        if ylim is None:
            ylim = (0.0, max(_auto_ylim([c], lo if log else max(lo, 0.0), hi, log),
                             1.1 * float(np.max(h[view], initial=0.0))))
        ax.set_ylim(*ylim)
        ax.set_xlabel(_XLABEL[variable])
        ax.set_ylabel(_YLABEL_LOG[variable] if log else _YLABEL[variable])
        twin = getattr(ax, "_spectral_atom_axes", None)
        if twin is not None:
            twin.set_xlim(lo, hi)
        handles, texts = ax.get_legend_handles_labels()
        for line in _report_lines(rep, n_z):
            handles.append(Line2D([], [], ls="none"))
            texts.append(line)
        ax.legend(handles, texts, loc=legend_loc, handlelength=1.5)
        if title:
            ax.set_title(title)
    return ax


def _draw_outliers(ax, outliers, variable: str, color) -> None:
    """Predicted outliers below the bulk (e.g. the length mode of a real network): a filled triangle on the x
    axis at the predicted value (``gid="outlier"``), like an atom's dot, with a legend entry."""
    for i, o in enumerate(outliers):
        loc = float(o["singular_value"] if variable == "singular" else o["eigenvalue"])
        ax.plot([loc], [0.0], marker="^", color=color, ms=9, ls="none", clip_on=False, zorder=6, gid="outlier",
                label=f"{o.get('kind', 'outlier')} mode (predicted)" if i == 0 else "_outlier")


def _report_lines(rep: dict, n_z: int) -> list[str]:
    """Legend lines for a validation report: KS/W1, moment z-scores, atom at 0, verdict."""
    lines = []
    if rep.get("ks") is not None:
        line = f"KS = {_fmt_num(rep['ks'], 2)}"
        if rep.get("ks_bound") is not None:
            line += f" (bound {_fmt_num(rep['ks_bound'], 2)})"
        if rep.get("wasserstein") is not None:
            line += rf",  $W_1$ = {_fmt_num(rep['wasserstein'], 2)}"
        lines.append(line)
    z = rep.get("z_scores")
    if z is not None and len(z):
        zs = [float(v) if v is not None else math.nan for v in list(z)[:n_z]]
        lines.append(rf"$z(m_1..m_{len(zs)})$ = " + ", ".join(f"{v:+.1f}" if math.isfinite(v) else "undefined"
                                                              for v in zs))
    at, asmp = rep.get("atom_theory"), rep.get("atom_sampled")
    if at is not None and asmp is not None and (float(at) > 0 or float(asmp) > 0):
        line = f"atom at 0: theory {_fmt_mass(at)}"
        fw = rep.get("atom_expected")
        if fw is not None and abs(float(fw) - float(at)) > 1e-9:
            line += f" (width {rep.get('width', 'N')}: {_fmt_num(fw, 3)})"
        lines.append(line + f", sampled {_fmt_num(asmp, 3)}")
    if rep.get("verdict") == "incomplete":
        lines.append("checks made passed; " + ", ".join(rep.get("unavailable", {})) + " unavailable")
    elif "passed" in rep:
        lines.append("checks passed" if rep["passed"] else "checks FAILED")
    return lines


def figure_validation(activation="tanh", weights="orthogonal", sigma_w2=1.05, sigma_b2=0.0, *, critical: bool = True,
                      depth: int = 32, width: int = 512, n_samples: int = 8, mode: str = "network",
                      backend: str = "auto", seed: int = 0, variable: str = "singular", points: int = 400,
                      bins: int = 60, figsize=None) -> Figure:
    r"""``spectral plot validation``: sampled networks against the theory density, with the test statistics.

    Parameters
    ----------
    activation, weights, sigma_w2, sigma_b2, critical, depth :
        The network (as for :func:`figure_spectrum`, one weight law and one depth).
    width, n_samples, mode, backend, seed :
        Passed to :func:`spectral.validation.validate` (or, if that module is unavailable,
        :func:`spectral.montecarlo.sample_jacobians`; the legend then shows no statistics); the finite-width
        band of :math:`\sqrt{\hat m_1}` at ``width`` is shaded.
    variable : {"singular", "eigen"}
    points, bins : int
    figsize : optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    from ..montecarlo import sample_jacobians

    net = sources.network_for(activation, weights, sigma_w2, sigma_b2, depth, critical)
    theory, err = sources.density_of(net, variable, points)
    if theory is None:
        raise RuntimeError(f"the theory density of {_plain_title(net)}, L={net.depth} failed: {err}")
    report, samples = _validation_run(net, width=width, n_samples=n_samples, mode=mode, backend=backend, seed=seed)
    if samples is None:
        samples = sample_jacobians(net, width=width, n_samples=n_samples, mode=mode, backend=backend, seed=seed,
                                   progress=False)
    band = finite_width_band(net, width, mode)
    with mpl.rc_context(STYLE):
        ax = _new_axes(None, figsize=figsize or (5.6, 3.8))
        plot_validation(samples, theory, report=report, variable=variable, ax=ax, bins=bins,
                        title=panel_title(net) + f", $L = {net.depth}$", band=band)
    return ax.figure


def _validation_run(net, **kwargs):
    """(report, samples) of :func:`spectral.validation.validate` (samples None when the report keeps none)."""
    from ..validation import validate

    report = validate(net, **kwargs)
    return report, getattr(report, "samples", None)
