r"""``spectral plot recommend``: the figure of a :class:`~spectral.recommendation.Recommendation`.

Left panel, the trade-off (:func:`plot_tradeoff`): the objective of the candidates of the spectral recommender
against its nonlinearity budget variable -- the network's C-map curvature :math:`C_f''(1) = L\chi_2 q^*` on the
critical line, or the network's C map at 0, :math:`C_f(0)`, when the leaky-ReLU slope is the design variable --
with the infeasible region (budget variable below the budget) shaded and the choice marked.  A recommendation
without candidates (a DKS/TAT transform, or the one-point critical line of a piecewise-linear activation)
has no trade-off to draw: the panel then compares the spread :math:`v = m_2/m_1^2 - 1` of the recommendation
with the defaults' (bars, from the recommendation's own table).

Right panel (:func:`plot_recommend_spectra`): the singular-value densities of the recommended network and of
the common defaults (:func:`spectral.recommendation.default_networks`, same activation and depth) on one log
axis (densities per decade: the defaults' spectra sit decades apart), with the predicted length-mode singular
value of each network that has one marked on the x axis (:mod:`spectral.plotting.overlays`).

Artists carry a ``gid``: ``"tradeoff"`` (Line2D: x the budget variable, y the objective of the feasible
candidates), ``"tradeoff_infeasible"`` (candidates below the budget whose objective is known),
``"infeasible"`` (axvspan patch up to the budget), ``"budget"`` (vertical line at the budget), ``"choice"``
(Line2D at the recommendation), ``"spread_bar"`` (bars of the no-trade-off panel); on the right panel those of
:func:`spectral.plotting.plot_singular_values`, and ``"out_of_view"`` (a note naming the spectra that lie
entirely below the view) and ``"absent_default"`` (the defaults that do not exist for this activation, e.g.
orthogonal-critical without a critical point).
"""

from __future__ import annotations

import math
import warnings

import matplotlib as mpl
import numpy as np
from matplotlib.figure import Figure

from ..depth_scaling import DensityFailedWarning
from . import sources
from .curves import _continuous_quantile, _curve
from .overlays import network_outliers
from .spectrum import plot_singular_values
from .style import STYLE, _act_name, _fmt_num, _new_axes

__all__ = ["plot_tradeoff", "plot_recommend_spectra", "figure_recommend", "budget_variable"]

#: Budget variable of each recommender method: (key in the candidate rows and parameters, axis label, log axis).
_BUDGETS = {"critical": ("network_curvature", r"network curvature $C_f''(1) = L\,\chi_2\,q^*$", True),
            "critical-slope": ("network_c0", r"network C map at 0, $C_f(0)$", False)}
_OBJECTIVE_LABELS = {"spread": r"spread $v = m_2/m_1^2 - 1$", "condition": r"condition $x_{0.99}/x_{0.01}$",
                     "lambda-ratio": r"$\lambda_{max}/m_1$"}
#: Colours of the defaults (C3, red, is the recommendation's).
_DEFAULT_COLORS = ("C0", "C1", "C2", "C4", "C5", "C6")
#: The spectra panel spans at most this many decades below the largest edge: a deep Gaussian product has mass
#: spread over tens of decades towards 0 (tanh, xavier, L = 16: its 1% quantile near 1e-50), which would squeeze
#: the recommendation into a spike; the mass below the view is the curves' continuation to the left.
_MAX_DECADES = 8.0
#: A y axis spanning more than this ratio is drawn on a log scale.
_LOG_SPAN = 30.0


def budget_variable(rec) -> tuple[str, str, bool] | None:
    """(row key, axis label, log axis) of the recommendation's budget variable; None without a trade-off."""
    if not rec.tradeoff:
        return None
    return _BUDGETS.get(rec.method)


def _feasible(row, key, objective) -> bool:
    if "feasible" in row:
        return bool(row["feasible"])
    return row.get(objective) is not None  # critical line: the objective is evaluated only where feasible


def _inferred_budget(rows, key, objective):
    """The smallest budget variable among feasible candidates: the budget itself when it binds (the
    recommender then solves for the point on it), otherwise an inner bound of the feasible region."""
    xs = [float(r[key]) for r in rows if _feasible(r, key, objective)]
    return min(xs) if xs else None


def plot_tradeoff(rec, *, budget: float | None = None, ax=None, color="C0", title: str | None = None):
    r"""The objective against the budget variable, infeasible region shaded, choice marked (module docstring).

    Parameters
    ----------
    rec : Recommendation
    budget : float, optional
        The budget (``min_curvature`` or ``min_c0`` of :func:`spectral.recommend`); default: inferred from the
        candidates (the smallest feasible value of the budget variable).
    ax : matplotlib Axes, optional
    color : colour of the candidates' curve
    title : str, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    with mpl.rc_context(STYLE):
        ax = _new_axes(ax)
        spec = budget_variable(rec)
        if spec is None:
            _spread_bars(rec, ax)
            if title:
                ax.set_title(title)
            return ax
        key, xlabel, log_x = spec
        obj = rec.objective
        rows = [r for r in rec.tradeoff if r.get(key) is not None and (not log_x or float(r[key]) > 0)]
        feas = [r for r in rows if _feasible(r, key, obj) and _finite(r.get(obj))]
        infeas = [r for r in rows if not _feasible(r, key, obj) and _finite(r.get(obj))]
        if budget is None:
            budget = _inferred_budget(rows, key, obj)
        xs = np.array([float(r[key]) for r in rows]) if rows else np.array([1.0])
        if log_x:
            ax.set_xscale("log")
        _draw_candidates(ax, feas, infeas, key, obj, color)
        lo = float(xs.min()) * (0.7 if log_x else 1.0) - (0.0 if log_x else 0.02)
        if log_x and budget is not None and budget > 0:  # the infeasible side: two decades are enough to see it
            lo = max(lo, budget * 1e-2)
        hi = float(xs.max()) * (1.4 if log_x else 1.0) + (0.0 if log_x else 0.02)
        if budget is not None:
            lo = min(lo, budget)
            ax.axvspan(lo, budget, color="0.6", alpha=0.25, lw=0, gid="infeasible", label="infeasible")
            ax.axvline(budget, color="0.35", ls="--", lw=0.9, gid="budget", label=f"budget {_fmt_num(budget, 3)}")
        cx = float(rec.parameters[key])
        chosen = min(feas or rows, key=lambda r: abs(float(r[key]) - cx), default=None)
        if chosen is not None and _finite(chosen.get(obj)):
            ax.plot([cx], [float(chosen[obj])], marker="*", ms=13, color="C3", ls="none", zorder=6, gid="choice",
                    label=f"recommended: {_choice_text(rec)}")
        ax.set_xlim(lo, hi)
        ys = [float(r[obj]) for r in feas + infeas]
        if ys and min(ys) > 0 and max(ys) / min(ys) > _LOG_SPAN:
            ax.set_yscale("log")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(_OBJECTIVE_LABELS.get(obj, obj))
        ax.legend(loc="best", fontsize=7)
        if title:
            ax.set_title(title)
    return ax


def _draw_candidates(ax, feas, infeas, key, obj, color) -> None:
    if feas:
        f = sorted(feas, key=lambda r: float(r[key]))
        ax.plot([float(r[key]) for r in f], [float(r[obj]) for r in f], "o-", ms=3, lw=1.2, color=color,
                gid="tradeoff", label="candidates")
    if infeas:
        ax.plot([float(r[key]) for r in infeas], [float(r[obj]) for r in infeas], "o", ms=3, mfc="none",
                color="0.5", gid="tradeoff_infeasible", label="below the budget")


def _finite(v) -> bool:
    return v is not None and math.isfinite(float(v))


def _choice_text(rec) -> str:
    p = rec.parameters
    parts = [rf"$a = {_fmt_num(p['slope'], 3)}$"] if "slope" in p else []
    if "sigma_w2" in p:
        parts.append(rf"$\sigma_w^2 = {_fmt_num(p['sigma_w2'], 3)}$")
    if "sigma_b2" in p and float(p["sigma_b2"]) > 0:
        parts.append(rf"$\sigma_b^2 = {_fmt_num(p['sigma_b2'], 3)}$")
    return ", ".join(parts) or rec.method


def _spread_bars(rec, ax) -> None:
    """No trade-off: the spread of the recommendation and of each default (from ``rec.defaults``)."""
    rows = [(rec.method if rec.method in ("dks", "tat") else "recommended", rec.summary.spread)]
    rows += [(r["label"], r.get("spread")) for r in rec.defaults if "error" not in r]
    rows = [(label, float(v)) for label, v in rows if _finite(v)]
    labels = [r[0] for r in rows]
    vals = [r[1] for r in rows]
    colors = ["C3"] + ["0.55"] * (len(rows) - 1)
    ax.bar(range(len(rows)), vals, color=colors, gid="spread_bar")
    ax.set_xticks(range(len(rows)), labels, rotation=25, ha="right", fontsize=7)
    if vals and min(vals) > 0 and max(vals) / min(vals) > _LOG_SPAN:
        ax.set_yscale("log")
    ax.set_ylabel(_OBJECTIVE_LABELS["spread"])
    ax.text(0.02, 0.98, f"{rec.method}: no trade-off curve (one point)", transform=ax.transAxes, ha="left",
            va="top", fontsize=7)


def _base_activation(rec):
    tr = rec.transform
    return tr.base if tr is not None else rec.activation


def plot_recommend_spectra(rec, *, points: int = 300, ax=None, title: str | None = None, legend_loc: str = "best"):
    r"""Singular-value densities of the recommendation and of the defaults on one log axis, with the
    length-mode outliers (module docstring); a density that fails is left out with a
    :class:`DensityFailedWarning` and a note in the panel.

    Returns
    -------
    matplotlib.axes.Axes
    """
    from ..recommendation import default_networks

    defaults = default_networks(_base_activation(rec), rec.summary.depth)
    nets = [(label, net) for label, net in defaults.items() if net is not None]
    absent = [label for label, net in defaults.items() if net is None]  # e.g. no critical point: said in the panel
    nets.append((rec.method if rec.method in ("dks", "tat") else "recommended", rec.network))  # drawn on top
    results, labels, outs, failed, colors = [], [], [], [], []
    for k, (label, net) in enumerate(nets):
        res, err = sources.density_of(net, "singular", points)
        if res is None:
            warnings.warn(f"density of the {label} network failed and is not drawn: {err}", DensityFailedWarning,
                          stacklevel=2)
            failed.append(label)
            continue
        results.append(res)
        labels.append(label)
        outs.append(network_outliers(net))
        colors.append("C3" if k == len(nets) - 1 else _DEFAULT_COLORS[k % len(_DEFAULT_COLORS)])
    with mpl.rc_context(STYLE):
        ax = _new_axes(ax)
        if results:
            view = _spectra_view(results, outs)
            plot_singular_values(results, labels=labels, xscale="log", ax=ax, colors=colors, outliers=outs,
                                 title=title, legend_loc=legend_loc, xlim=view)
            hidden = [lab for lab, r in zip(labels, results, strict=True) if _curve(r, "singular").top < view[0]]
            if hidden:  # a whole spectrum below the view (e.g. pytorch's vanishing one): said, not dropped
                ax.text(0.02, 0.98, f"below the view (s < {_fmt_num(view[0], 2)}): " + ", ".join(hidden),
                        transform=ax.transAxes, ha="left", va="top", fontsize=7, gid="out_of_view")
        if failed:
            ax.text(0.98, 0.02, "density failed: " + ", ".join(failed), transform=ax.transAxes, ha="right",
                    va="bottom", fontsize=7, color="C3")
        if absent:
            ax.text(0.02, 0.91, "no such network: " + ", ".join(absent), transform=ax.transAxes, ha="left",
                    va="top", fontsize=7, gid="absent_default")
    return ax


def _spectra_view(results, outs) -> tuple[float, float]:
    """x range of the spectra panel: the smallest 1% quantile of the curves, at most :data:`_MAX_DECADES` below
    the largest edge (and always below every marked outlier), to 1.5 x that edge."""
    curves = [_curve(r, "singular") for r in results]
    top = max((c.top for c in curves if math.isfinite(c.top) and c.top > 0), default=1.0)
    lows = [_continuous_quantile(c, 0.01) for c in curves]
    lows = [v for v in lows if math.isfinite(v) and v > 0]
    lo = max(min(lows, default=top * 1e-3) / 2.0, top * 10.0 ** (-_MAX_DECADES))
    marks = [float(o["singular_value"]) for o_list in outs if o_list for o in o_list]
    return min([lo, *(0.5 * s for s in marks if s > 0)]), 1.5 * top


def figure_recommend(rec, *, budget: float | None = None, points: int = 300, figsize=None) -> Figure:
    r"""``spectral plot recommend``: the trade-off (left) and the spectra against the defaults (right) of a
    :class:`~spectral.recommendation.Recommendation` (module docstring).

    Parameters
    ----------
    rec : Recommendation
        From :func:`spectral.recommend`.
    budget : float, optional
        The nonlinearity budget used (``min_curvature``, or ``min_c0`` with ``vary_slope``); default inferred
        (:func:`plot_tradeoff`).
    points : int
        Grid points of each density.
    figsize : (float, float), optional

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    TypeError
        ``rec`` is not a Recommendation.
    ValueError
        ``rec`` recommends for a spec (no trade-off to draw).
    """
    from ..recommendation import Recommendation

    if not isinstance(rec, Recommendation):
        raise TypeError(f"rec must be a spectral.recommendation.Recommendation (from spectral.recommend), got "
                        f"{type(rec).__name__}")
    from ..product import Network

    if not isinstance(rec.network, Network):
        raise ValueError("figure_recommend draws recommendations for plain chains; a spec's recommendation "
                         "(recommend(spec=...)) has no trade-off to draw: plot its transformed spec with "
                         "'spectral plot spectrum --spec FILE' (rec.to_dict()['spec'] is that spec)")
    with mpl.rc_context(STYLE):
        fig = Figure(figsize=figsize or (10.0, 3.8), layout="constrained")
        left, right = fig.subplots(1, 2)
        s = rec.summary
        name = rec.activation.family if rec.method == "critical-slope" else _act_name(rec.network)  # slope: in legend
        plot_tradeoff(rec, budget=budget, ax=left, title=f"{name}, {s.weights}, $L = {s.depth}$: {rec.objective}")
        plot_recommend_spectra(rec, points=points, ax=right, title="singular values: recommended vs defaults")
    return fig
