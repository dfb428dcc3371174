r"""Figures of Jacobian spectra (matplotlib only).

Two layers, kept apart:

*Plot functions* (``plot_*``) take results that were already computed -- a
:class:`~spectral.density.DensityResult`, :class:`~spectral.montecarlo.JacobianSamples`, a validation report,
a :class:`~spectral.meanfield.PhaseDiagram`, :class:`DepthScaling` curves -- draw them on the ``ax`` they are
given (or on a new figure) and return the Axes.  They compute nothing beyond rescalings, histograms and
labels, and never call ``plt.show()``.

*Figure builders* (``figure_*``, one per ``spectral plot`` subcommand, plus :func:`singular_value_figure`
and :func:`depth_scaling`) take network parameters, call the library (mean field, laws, densities,
sampled networks) and then the plot functions; they return a :class:`matplotlib.figure.Figure` that the
caller saves (``fig.savefig(path)``).  Figures are created without :mod:`matplotlib.pyplot`, so nothing is
registered with a GUI backend; in a notebook, run ``%matplotlib inline`` once and end a cell with the figure to
display it.

Conventions
-----------
Singular values :math:`s` of :math:`J` and eigenvalues :math:`\lambda = s^2` of :math:`JJ^T`:
:math:`\rho_s(s) = 2 s\, \rho_\lambda(s^2)`.  Curves show the density of the continuous part; an atom
(point mass) is drawn as a vertical spike whose height is its *mass*, read on the right-hand axis
("atom mass", from 0 to 1), with the mass written next to it (e.g. ``1/2`` for relu).  Histograms of
sampled networks are normalised like the continuous part: the area of the bars is the fraction of
eigenvalues that are not structural zeros, and the sampled fraction at zero is drawn as a hollow marker
on the atom axis, next to the theory spike.

References: J. Pennington, S. Schoenholz, S. Ganguli, *Resurrecting the sigmoid in deep learning through
dynamical isometry: theory and practice*, NeurIPS 2017 (the singular-value figures); B. Poole et al.,
NeurIPS 2016 and S. Schoenholz et al., ICLR 2017 (phase diagrams).
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

import matplotlib as mpl
import numpy as np
from matplotlib.colors import TwoSlopeNorm
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from .density import UncertifiedDensityWarning

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
    "figure_validation",
    "figure_phase",
    "figure_depth",
    "panel_title",
    "DensityFailedWarning",
]



class DensityFailedWarning(UncertifiedDensityWarning):
    """A density could not be computed at all (the solver raised); it is left out of the figure."""


#: Publication-like defaults applied (through :func:`matplotlib.rc_context`) while a figure is drawn.
STYLE = {
    "font.size": 10,
    "axes.titlesize": 10,
    "axes.labelsize": 10,
    "legend.fontsize": 8,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "axes.spines.top": False,
    "axes.grid": False,
    "legend.frameon": False,
    "lines.linewidth": 1.6,
    "mathtext.fontset": "cm",
    "figure.dpi": 100,
    "savefig.dpi": 150,
    "savefig.bbox": "tight",
}

_VARIABLES = ("singular", "eigen")
_XLABEL = {"singular": r"singular value $s$ of $J$", "eigen": r"eigenvalue $\lambda$ of $JJ^T$"}
_YLABEL = {"singular": r"density $\rho_s(s)$", "eigen": r"density $\rho_\lambda(\lambda)$"}
_YLABEL_LOG = {"singular": r"density per decade $\ln(10)\, s\,\rho_s(s)$",
               "eigen": r"density per decade $\ln(10)\, \lambda\,\rho_\lambda(\lambda)$"}
_ATOM_LABEL = "atom mass"


# ============================================================================ small helpers
def _check_variable(variable: str) -> str:
    if variable not in _VARIABLES:
        raise ValueError(f"variable must be one of {_VARIABLES} (singular values of J or eigenvalues of JJ^T), "
                         f"got {variable!r}")
    return variable


def _new_axes(ax=None, figsize=(5.0, 3.6)):
    if ax is not None:
        return ax
    fig = Figure(figsize=figsize, layout="constrained")
    return fig.add_subplot()


def _fmt_mass(p: float) -> str:
    """``0.5 -> '1/2'``, ``0.25 -> '1/4'``; other masses with 3 significant digits."""
    p = float(p)
    frac = Fraction(p).limit_denominator(64)
    if frac.denominator > 1 and abs(float(frac) - p) < 1e-9:
        return f"{frac.numerator}/{frac.denominator}"
    return f"{p:.3g}"


def _fmt_num(v, digits=3) -> str:
    try:
        v = float(v)
    except (TypeError, ValueError):
        return str(v)
    if not math.isfinite(v):
        return str(v)
    return f"{v:.{digits}g}"


def _is_singular(res) -> bool:
    """True when a DensityResult is in the singular-value variable (``law.singular_values().density()``)."""
    var = str(getattr(res, "diagnostics", {}).get("variable", ""))
    return var.startswith("singular") or str(getattr(res, "law", "")).endswith("[singular values]")


@dataclass(frozen=True)
class _Curve:
    """A density in the plotted variable: x, continuous density, atoms, certified flag."""

    x: np.ndarray
    y: np.ndarray
    atoms: tuple
    certified: bool
    top: float


def _curve(res, variable: str) -> _Curve:
    """Express a DensityResult in ``variable`` (``rho_s(s) = 2 s rho(s^2)`` and back; atoms at sqrt)."""
    x = np.asarray(res.x, dtype=float)
    y = np.asarray(res.density, dtype=float)
    atoms = tuple((float(a), float(p)) for a, p in res.atoms)
    top = float(res.lambda_max)
    singular = _is_singular(res)
    if variable == "singular" and not singular:
        s = np.sqrt(np.maximum(x, 0.0))
        x, y = s, 2.0 * s * y
        atoms = tuple((math.sqrt(max(a, 0.0)), p) for a, p in atoms)
        top = math.sqrt(max(top, 0.0))
    elif variable == "eigen" and singular:
        with np.errstate(divide="ignore", invalid="ignore"):
            y = np.where(x > 0, y / (2.0 * x), np.nan)
        x = x * x
        atoms = tuple((a * a, p) for a, p in atoms)
        top = top * top
    cert = getattr(res, "certified", True)
    return _Curve(x, y, atoms, bool(cert), top)


def _sample_values(samples, variable: str) -> tuple[np.ndarray, int]:
    """Finite nonzero sampled values in ``variable`` and the total count (zeros and overflow included).

    ``samples``: a :class:`~spectral.montecarlo.JacobianSamples` (or anything with ``singular_values``), or an
    array of values already in ``variable``.
    """
    if hasattr(samples, "log_singular_values"):
        ls = np.asarray(samples.log_singular_values, dtype=float).ravel()
        total = ls.size
        ls = ls[np.isfinite(ls)]
        with np.errstate(over="ignore"):
            v = np.exp(ls if variable == "singular" else 2.0 * ls)
    elif hasattr(samples, "singular_values"):
        s = np.asarray(samples.singular_values, dtype=float).ravel()
        total = s.size
        v = s if variable == "singular" else s * s
    else:
        v = np.asarray(samples, dtype=float).ravel()
        total = v.size
    v = v[np.isfinite(v) & (v > 0)]
    return v, total


def _histogram(values: np.ndarray, total: int, edges: np.ndarray, log: bool = False) -> np.ndarray:
    """Bar heights whose area (in x, or in log10 x) is the fraction ``len(values inside) / total``."""
    counts, _ = np.histogram(values, bins=edges)
    widths = np.diff(np.log10(edges)) if log else np.diff(edges)
    return counts / (max(total, 1) * widths)


def _per_decade(c: _Curve) -> _Curve:
    """Density per unit of log10 x: ln(10) x rho(x) (what a log-x axis shows with the right area)."""
    return _Curve(c.x, math.log(10.0) * c.x * c.y, c.atoms, c.certified, c.top)


def _continuous_quantile(c: _Curve, q: float) -> float:
    """Quantile of the continuous part of a curve (trapezoid cumulative, normalised); NaN without one."""
    ok = np.isfinite(c.y) & np.isfinite(c.x)
    x, y = c.x[ok], np.maximum(c.y[ok], 0.0)
    if x.size < 2:
        return math.nan
    cum = np.concatenate([[0.0], np.cumsum(0.5 * (y[1:] + y[:-1]) * np.diff(x))])
    if not cum[-1] > 0:
        return math.nan
    return float(np.interp(q * cum[-1], cum, x))


def _view(curves: Sequence[_Curve], sample_values: Sequence[np.ndarray], log: bool, xlim, tail: float = 0.005):
    """x range: given, or where the mass is.

    Linear: from just below 0 to 1.08 x the largest (1 - ``tail``) quantile of the continuous parts and of the
    samples, and at least 1.2 x the largest atom (room for its label); the far tail of a deep product, much
    longer than its bulk, is left out.  Log: from the smallest ``tail`` quantile to the largest edge.
    """
    if xlim is not None:
        lo, hi = (float(v) for v in xlim)
        if not hi > lo or (log and lo <= 0):
            raise ValueError(f"xlim must be (lo, hi) with lo < hi (and lo > 0 on a log axis), got {xlim!r}")
        return lo, hi
    atoms = [a for c in curves for a, _ in c.atoms if a > 0]
    samples = [v for v in sample_values if v.size]
    if not log:
        highs = [_continuous_quantile(c, 1.0 - tail) for c in curves]
        highs += [float(np.quantile(v, 1.0 - tail)) for v in samples]
        highs = [1.08 * h for h in highs if math.isfinite(h) and h > 0] + [1.2 * a for a in atoms]
        hi = max(highs) if highs else 1.0
        return -0.015 * hi, hi
    tops = [c.top for c in curves if math.isfinite(c.top) and c.top > 0]
    tops += [float(np.max(v)) for v in samples] + atoms
    top = max(tops) if tops else 1.0
    lows = [_continuous_quantile(c, 2 * tail) for c in curves]
    lows += [float(np.quantile(v, tail)) for v in samples] + atoms
    lows = [v for v in lows if math.isfinite(v) and v > 0]
    lo = min(min(lows) if lows else top * 1e-3, top * 1e-2)
    return lo / 2.0, top * 1.5


def _bin_edges(lo: float, hi: float, bins: int, log: bool) -> np.ndarray:
    if isinstance(bins, bool) or not isinstance(bins, int | np.integer) or bins < 1:
        raise ValueError(f"bins must be a positive integer (try 60), got {bins!r}")
    if log:
        return np.logspace(math.log10(lo), math.log10(hi), int(bins) + 1)
    return np.linspace(max(lo, 0.0), hi, int(bins) + 1)


def _check_xscale(xscale: str) -> bool:
    if xscale not in ("linear", "log"):
        raise ValueError(f"xscale must be 'linear' or 'log', got {xscale!r}")
    return xscale == "log"


def _samples_label(samples) -> str:
    n = getattr(samples, "n_samples", None)
    width = getattr(samples, "width", None)
    if n is None or width is None:
        return "sampled networks"
    text = rf"sampled: {n} nets, $N = {width}$"
    mode = getattr(samples, "mode", None)
    return text + (" (free)" if mode == "free" else "")


def _auto_ylim(curves: Sequence[_Curve], lo: float, hi: float, log: bool = False) -> float:
    """Top of the density axis: 1.15 x the largest *smoothed* density in the view.

    Each curve is resampled on 1000 points of the view (in log x for log axes) and averaged over windows of
    1.5% of it, so integrable singularities (the divergence of deep products at 0, inverse-square-root edges)
    run off the top while peaks wider than the window -- the concentration of an isometric network -- stay
    in view.
    """
    t = np.linspace(math.log10(lo), math.log10(hi), 1000) if log else np.linspace(lo, hi, 1000)
    k = 15
    best = 0.0
    for c in curves:
        ok = np.isfinite(c.y) & (c.x > 0 if log else np.isfinite(c.x))
        if np.count_nonzero(ok) < 2:
            continue
        xs = np.log10(c.x[ok]) if log else c.x[ok]
        v = np.interp(t, xs, c.y[ok], left=0.0, right=0.0)
        sm = np.convolve(v, np.ones(k) / k, mode="same")
        best = max(best, float(np.max(sm)))
    return 1.15 * best if best > 0 else 1.0


def _atom_axes(ax):
    """The right-hand 'atom mass' axis twinned with ``ax`` (created once)."""
    twin = getattr(ax, "_spectral_atom_axes", None)
    if twin is None:
        twin = ax.twinx()
        twin.set_ylim(0.0, 1.08)
        twin.set_ylabel(_ATOM_LABEL)
        twin.spines["top"].set_visible(False)
        ax._spectral_atom_axes = twin
    return twin


def _draw_atoms(ax, atoms, color, seen: set, *, label_atoms=True, zero_at=0.0):
    """Spikes of height = mass on the atom axis, a dot on top and the mass written beside it.

    ``zero_at``: where an atom at 0 is drawn (the left edge of a log axis, with "at 0" in its label).
    """
    if not atoms:
        return None
    twin = _atom_axes(ax)
    for loc, mass in atoms:
        x = zero_at if loc == 0 else loc
        twin.plot([x, x], [0.0, mass], color=color, lw=2.2, marker="o", markevery=[1], ms=5,
                  solid_capstyle="butt", gid="atom", label="_atom", zorder=4, clip_on=False)
        key = (round(loc, 9), round(mass, 9))
        if label_atoms and key not in seen:
            seen.add(key)
            where = " at 0" if (loc == 0 and zero_at != 0) else ""
            twin.annotate(rf"$\delta${where}: {_fmt_mass(mass)}", (x, mass), xytext=(7, 3),
                          textcoords="offset points", fontsize=8, color=color, gid="atom_label", va="bottom")
    return twin


def _draw_zero_fraction(ax, frac: float, color, x0: float, size: float = 7):
    """Sampled fraction of exact zeros: a hollow marker at the atom-at-0 position on the atom axis."""
    if frac > 0:
        _atom_axes(ax).plot([x0], [frac], marker="o", mfc="none", mec=color, ms=size, mew=1.2, ls="none",
                            gid="atom_sampled", label="_atom_sampled", zorder=5, clip_on=False)


def _colors(n: int, cmap: str | None = None):
    if cmap is None:
        cycle = mpl.rcParams["axes.prop_cycle"].by_key().get("color", ["C0"])
        return [cycle[i % len(cycle)] for i in range(n)]
    cm = mpl.colormaps[cmap]
    return [cm(t) for t in (np.linspace(0.1, 0.85, n) if n > 1 else [0.35])]


def _as_items(results, labels):
    """(label, DensityResult) pairs from a result, a sequence or a mapping label -> result."""
    if isinstance(results, Mapping):
        items = list(results.items())
        if labels is not None:
            raise ValueError("labels must be None when results is a mapping (its keys are the labels)")
        return [(str(k), v) for k, v in items]
    if hasattr(results, "density") and hasattr(results, "x"):
        results = [results]
    results = list(results)
    if labels is None:
        labels = [None] * len(results)
    labels = list(labels)
    if len(labels) != len(results):
        raise ValueError(f"labels has {len(labels)} entries for {len(results)} results")
    return list(zip(labels, results, strict=True))


def _report_dict(report) -> dict:
    if report is None:
        return {}
    if isinstance(report, Mapping):
        return dict(report)
    if hasattr(report, "to_dict"):
        return dict(report.to_dict())
    raise TypeError(f"report must be a ValidationReport, a dict or None, got {type(report).__name__}")


# ============================================================================ plot functions
def plot_singular_values(results, *, labels=None, samples=None, variable: str = "singular", xscale: str = "linear",
                         ax=None, colors=None, cmap: str | None = None, xlim=None, ylim=None, bins: int = 60,
                         annotate_atoms: bool = True, title: str | None = None, legend: bool = True,
                         legend_loc: str = "best"):
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

    Returns
    -------
    matplotlib.axes.Axes
        The density axes; the atom axis (right, "atom mass", 0 to 1), when there are atoms, is
        ``ax._spectral_atom_axes``.

    Notes
    -----
    Artists carry a ``gid`` for inspection: ``"density"`` (Line2D, the plotted x and y), ``"atom"`` (Line2D,
    x = [loc, loc], y = [0, mass] on the atom axis), ``"atom_label"`` (the mass text), ``"samples"``
    (StepPatch, values = histogram heights) and ``"atom_sampled"`` (sampled fraction of zeros).
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
    cols = list(colors) if colors is not None else _colors(len(items), cmap)
    if len(cols) < len(items):
        raise ValueError(f"colors has {len(cols)} entries for {len(items)} results")
    cols = cols[:len(items)]
    with mpl.rc_context(STYLE):
        ax = _new_axes(ax)
        curves = [_curve(res, variable) for _, res in items]
        svals = [None if smp is None else _sample_values(smp, variable) for smp in samples]
        lo, hi = _view(curves, [v for v, _ in filter(None, svals)], log, xlim)
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


def plot_validation(samples, theory, *, report=None, variable: str = "singular", xscale: str = "linear", ax=None,
                    bins: int = 60, color="C0", sample_color="0.55", xlim=None, ylim=None, title: str | None = None,
                    n_z: int = 4, legend_loc: str = "best"):
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


@dataclass(frozen=True)
class DepthScaling:
    r"""Spectral statistics of :math:`JJ^T` against depth for one network family (see :func:`depth_scaling`).

    Attributes
    ----------
    label : str
    depths : ndarray of int
    variance : ndarray
        :math:`m_2 - m_1^2` of :math:`JJ^T`.
    lambda_max : ndarray
        Top of the spectrum of :math:`JJ^T`.
    condition : ndarray
        :math:`s_{q_{hi}} / s_{q_{lo}}`, ratio of quantiles of the *nonzero* singular values of :math:`J`
        (quantiles of the law conditioned on :math:`s > 0`, so relu's atom at 0 does not make it infinite).
    quantiles : (float, float)
        :math:`(q_{lo}, q_{hi})`, default (0.01, 0.99).
    weights : str
        "gaussian" or "orthogonal" (sets the line style).
    mean : ndarray
        :math:`m_1` (1 on the critical line).
    notes : tuple of str
        Depths at which a quantity could not be computed, and why.
    """

    label: str
    depths: np.ndarray
    variance: np.ndarray
    lambda_max: np.ndarray
    condition: np.ndarray
    quantiles: tuple = (0.01, 0.99)
    weights: str = ""
    mean: np.ndarray | None = None
    notes: tuple = ()


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


# ============================================================================ figure builders (compute, then plot)
def _network(activation, weights, sigma_w2, sigma_b2, depth, critical):
    from .product import Network

    if critical:
        return Network.critical(activation, sigma_w2=sigma_w2, depth=int(depth), weights=weights)
    return Network(activation=activation, weights=weights, sigma_w2=sigma_w2, sigma_b2=sigma_b2, depth=int(depth))


def _act_name(net) -> str:
    return getattr(net.activation, "name", str(net.activation))


def _density_of(net, variable, points):
    """(DensityResult or None, error message) -- a failed density is reported, never drawn silently; an
    uncertified one is drawn dashed with an :class:`UncertifiedDensityWarning` naming the failing checks."""
    from .product import jacobian_law

    law = jacobian_law(net)
    try:
        with warnings.catch_warnings():  # reported once below, naming the network
            warnings.simplefilter("ignore", UncertifiedDensityWarning)
            res = (law.singular_values() if variable == "singular" else law).density(points)
    except (RuntimeError, ValueError, ArithmeticError) as exc:
        return None, f"{type(exc).__name__}: {exc}"
    if not res.certified:
        warnings.warn(f"density of {_plain_title(net)}, L={net.depth} is not certified: {res.reason}",
                      UncertifiedDensityWarning, stacklevel=3)
    return res, None


def _plain_title(net) -> str:
    return f"{_act_name(net)}, {net.weights}, sigma_w2={float(net.sigma_w2):.6g}, sigma_b2={float(net.sigma_b2):.6g}"


def _fmt_sigma(v) -> str:
    """Mathtext number: 1.05 -> '1.05', 2.01e-05 -> '2.01\\times 10^{-5}'."""
    v = float(v)
    if v == 0 or 1e-3 <= abs(v) < 1e4:
        return f"{v:.3g}"
    mant, exp = f"{v:.2e}".split("e")
    return rf"{float(mant):.3g}\times 10^{{{int(exp)}}}"


def panel_title(net) -> str:
    """Mathtext title of a network's panel: activation, weights, sigma_w^2 and sigma_b^2."""
    s = rf"{_act_name(net)}, {net.weights}, $\sigma_w^2 = {_fmt_sigma(net.sigma_w2)}$"
    return s + rf", $\sigma_b^2 = {_fmt_sigma(net.sigma_b2)}$"


def singular_value_figure(panels, *, variable: str = "singular", points: int = 400, width: int | None = None,
                          n_samples: int = 4, mode: str = "network", backend: str = "auto", seed: int = 0,
                          cmap: str = "viridis", xscale: str = "linear", xlim=None, ncols: int | None = None,
                          figsize=None, sharey: bool = False, title: str | None = None,
                          legend_loc: str = "best") -> Figure:
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
            results, labels, samples, failed = [], [], [], []
            by_depth = len({(_act_name(m), m.weights, float(m.sigma_w2)) for m in nets}) == 1
            for net in nets:
                label = f"$L = {net.depth}$" if by_depth else (
                    rf"{_act_name(net)} {net.weights} $\sigma_w^2={_fmt_sigma(net.sigma_w2)}$, $L={net.depth}$")
                res, err = _density_of(net, variable, points)
                if res is None:
                    warnings.warn(f"density of {_plain_title(net)}, L={net.depth} failed and is not drawn: "
                                  f"{err}", DensityFailedWarning, stacklevel=2)
                    failed.append(f"L={net.depth}")
                    continue
                results.append(res)
                labels.append(label)
                if width is not None:
                    from .montecarlo import sample_jacobians

                    samples.append(sample_jacobians(net, width=width, n_samples=n_samples, mode=mode,
                                                    backend=backend, seed=seed, progress=False))
            if ptitle is None and nets:
                ptitle = panel_title(nets[0]) if by_depth else None
            plot_singular_values(results, labels=labels, samples=samples if width is not None else None,
                                 variable=variable, xscale=xscale, ax=ax, cmap=cmap, xlim=xlim, title=ptitle,
                                 legend_loc=legend_loc)
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
                    seed: int = 0, xscale: str = "linear", xlim=None, figsize=None) -> Figure:
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

    Returns
    -------
    matplotlib.figure.Figure
    """
    ws = (weights,) if isinstance(weights, str) else tuple(weights)
    s2s = tuple(sigma_w2) if isinstance(sigma_w2, Sequence) and not isinstance(sigma_w2, str) else (sigma_w2,)
    depths = [int(d) for d in np.atleast_1d(depths)]
    panels = [[_network(activation, w, s2, sigma_b2, d, critical) for d in depths] for s2 in s2s for w in ws]
    return singular_value_figure(panels, variable=variable, points=points, width=width, n_samples=n_samples,
                                 mode=mode, backend=backend, seed=seed, xscale=xscale, xlim=xlim, figsize=figsize)


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
        :func:`spectral.montecarlo.sample_jacobians`; the legend then shows no statistics).
    variable : {"singular", "eigen"}
    points, bins : int
    figsize : optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    from .montecarlo import sample_jacobians

    net = _network(activation, weights, sigma_w2, sigma_b2, depth, critical)
    theory, err = _density_of(net, variable, points)
    if theory is None:
        raise RuntimeError(f"the theory density of {_plain_title(net)}, L={net.depth} failed: {err}")
    report, samples = _validation_run(net, width=width, n_samples=n_samples, mode=mode, backend=backend, seed=seed)
    if samples is None:
        samples = sample_jacobians(net, width=width, n_samples=n_samples, mode=mode, backend=backend, seed=seed,
                                   progress=False)
    with mpl.rc_context(STYLE):
        ax = _new_axes(None, figsize=figsize or (5.6, 3.8))
        plot_validation(samples, theory, report=report, variable=variable, ax=ax, bins=bins,
                        title=panel_title(net) + f", $L = {net.depth}$")
    return ax.figure


def _validation_run(net, **kwargs):
    """(report, samples) of :func:`spectral.validation.validate` (samples None when the report keeps none)."""
    from .validation import validate

    report = validate(net, **kwargs)
    return report, getattr(report, "samples", None)


def _variance_grid(act, diagram, depth: int, weights: str) -> np.ndarray:
    r""":math:`m_2 - m_1^2` of :math:`JJ^T` for uniform networks on the phase-diagram grid.

    Normalised variances add under free multiplication (:math:`\varphi(abab) = \varphi(a^2)\varphi(b)^2 +
    \varphi(a)^2\varphi(b^2) - \varphi(a)^2\varphi(b)^2` for free a, b), so with :math:`m_1 = \chi_1^L`,
    :math:`\mu_k = E[\phi'(\sqrt{q^*}z)^{2k}]` and :math:`v_W = 1` (Gaussian) or 0 (orthogonal):
    :math:`m_2 - m_1^2 = \chi_1^{2L}\, L\, (\mu_2/\mu_1^2 - 1 + v_W)`.  Vectorized over the grid (the
    per-point laws give the same numbers; tests check it against :meth:`JacobianLaw.moments`).
    """
    from .gaussian import gaussian_expectation

    chi = np.asarray(diagram.chi1, dtype=float)
    q = np.asarray(diagram.q_star, dtype=float)
    ok = np.isfinite(chi) & np.isfinite(q) & (q > 0)
    out = np.full(chi.shape, np.nan)
    if not np.any(ok):
        return out
    kinks = tuple(getattr(act, "kinks", ()) or ())
    mu1 = gaussian_expectation(lambda x: act.dphi(x) ** 2, q[ok], kinks=kinks)
    mu2 = gaussian_expectation(lambda x: act.dphi(x) ** 4, q[ok], kinks=kinks)
    v = mu2 / mu1**2 - 1.0 + (1.0 if weights == "gaussian" else 0.0)
    with np.errstate(over="ignore"):
        out[ok] = chi[ok] ** (2 * depth) * depth * v
    return out


def _grid_with_critical(act, w0, w1, b0, n):
    """sigma_w2 grid with the critical sigma_w2 at sigma_b2 = b0 inserted (relu's critical point is (2, 0))."""
    from .meanfield import critical_point

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
    from .activations import activation as resolve
    from .meanfield import phase_diagram

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
            var = _variance_grid(act, pd, int(depth), weights) if depth is not None else None
            plot_phase_diagram(pd, variance=var, depth=depth, ax=ax)
        for ax in axs[n:]:
            ax.set_visible(False)
    return fig


def depth_scaling(network, depths, *, quantiles=(0.01, 0.99), points: int = 400, label: str | None = None
                  ) -> DepthScaling:
    r"""Compute :class:`DepthScaling` for a uniform network at several depths (calls the library).

    Parameters
    ----------
    network : spectral.product.Network
        Uniform network; its depth is replaced by each of ``depths``.
    depths : sequence of int
    quantiles : (float, float)
        Quantiles of the nonzero singular values for the condition measure.
    points : int
        Density grid used by the quantiles.
    label : str, optional
        Default: "activation, weights".

    Returns
    -------
    DepthScaling
        Variance from the series (``log_moments``), :math:`\lambda_{\max}` from the edges, quantiles from the
        density; a quantity that fails at some depth is NaN there, with a note and a :class:`RuntimeWarning`.
    """
    from .density import ppf
    from .product import jacobian_law

    qlo, qhi = (float(v) for v in quantiles)
    if not (0 < qlo < qhi < 1):
        raise ValueError(f"quantiles must be (lo, hi) with 0 < lo < hi < 1, got {quantiles!r}")
    depths = np.array([int(d) for d in np.atleast_1d(depths)])
    var, top, cond, mean, notes = [], [], [], [], []
    uncertified, failed = [], []
    for d in depths:
        net = dataclasses.replace(network, depth=int(d), layers=None)
        law = jacobian_law(net)
        lm = np.asarray(law.log_moments(2), dtype=float)
        mean.append(math.exp(lm[0]))
        var.append(math.exp(lm[1]) * -math.expm1(min(2 * lm[0] - lm[1], 0.0)))
        try:
            top.append(float(law.lambda_max))
        except (RuntimeError, ValueError, ArithmeticError) as exc:
            top.append(math.nan)
            notes.append(f"L={d}: lambda_max failed ({exc})")
        try:
            with warnings.catch_warnings():  # reported once below, with the depth
                warnings.simplefilter("ignore", UncertifiedDensityWarning)
                res = law.density(points)  # the grid ppf reads (cached): its certificate covers the quantiles
                a0 = sum(float(p) for a, p in law.atoms if float(a) == 0.0)
                lam = np.asarray(ppf(law, [a0 + qlo * (1 - a0), a0 + qhi * (1 - a0)], points), dtype=float)
            if not res.certified:
                uncertified.append(f"L={d}: quantiles from a density that is not certified ({res.reason})")
            cond.append(math.sqrt(lam[1] / lam[0]) if lam[0] > 0 else math.inf)
        except (RuntimeError, ValueError, ArithmeticError) as exc:
            cond.append(math.nan)
            failed.append(f"L={d}: quantiles failed ({exc})")
    name = label or _act_name(network)
    for note in notes:
        warnings.warn(f"depth_scaling {name}: {note}", RuntimeWarning, stacklevel=2)
    for note in uncertified:
        warnings.warn(f"depth_scaling {name}: {note}", UncertifiedDensityWarning, stacklevel=2)
    for note in failed:
        warnings.warn(f"depth_scaling {name}: {note}", DensityFailedWarning, stacklevel=2)
    notes += uncertified + failed
    if label is None:
        label = f"{_act_name(network)}, {network.weights}"
    return DepthScaling(label, depths, np.array(var), np.array(top), np.array(cond), (qlo, qhi), network.weights,
                        np.array(mean), tuple(notes))


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
        net = _network(activation, w, sigma_w2, sigma_b2, 1, critical)
        curves.append(depth_scaling(net, depths, quantiles=quantiles, points=points, label=f"{w} weights"))
    net0 = _network(activation, ws[0], sigma_w2, sigma_b2, 1, critical)
    title = panel_title(net0).replace(f"{net0.weights}, ", "")
    axes = plot_depth_scaling(curves, title=title)
    fig = axes[0].figure
    if figsize is not None:
        fig.set_size_inches(*figsize)
    return fig
