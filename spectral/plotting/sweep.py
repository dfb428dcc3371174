r"""Figures from a stored sweep (:mod:`spectral.sweeps`), drawn without recomputing anything.

``figure_sweep(ds, x=..., y=..., quantity=...)`` draws a *map* of one variable over two axes (e.g. the
condition number over :math:`(\sigma_w^2, L)`), one panel per value of the other axes that vary
(activation, weights, ...); without ``y`` it draws *line families*: the variable against ``x``, one line
per value of ``hue``.  Cells that failed are grey with a cross, cells whose density was not certified
carry a small open circle (maps) or open markers (lines): nothing uncertain is drawn as if it were sure.

``add_plot_sweep_parser(plot_subparsers)`` / ``cmd_plot_sweep(args)``: ``spectral plot sweep STORE --x
sigma_w2 --y depth --quantity condition --out map.png``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
from pathlib import Path

import matplotlib as mpl
import numpy as np
from matplotlib.colors import LogNorm, Normalize
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from .style import STYLE

__all__ = ["figure_sweep", "parse_selection", "add_plot_sweep_parser", "cmd_plot_sweep", "parse_plot_sweep",
           "MAX_PANELS"]

#: more panels than this are unreadable on one figure: select values of the other axes instead
MAX_PANELS = 16
#: an axis or colour scale is logarithmic when its positive values span at least this ratio
LOG_SPAN = 10.0
#: colour of infinite values on maps (a condition number whose lower quantile is below the float range)
OVERFLOW_COLOR = "#7a0403"
_FLAGS = ("done", "failed", "certified", "message", "seconds")
#: short labels for figures (the datasets' long_name attributes are spelled out for readers of the store)
_SHORT = {
    "sigma_w2": r"$\sigma_w^2$", "sigma_b2": r"$\sigma_b^2$", "depth": r"depth $L$", "width": r"width $N$",
    "condition": r"$s_{0.99}/s_{0.01}$ (nonzero $s$)", "condition_finite": r"median $s_{\max}/s_{\min}$",
    "spread": r"$m_2/m_1^2 - 1$", "variance": r"$m_2 - m_1^2$", "m1": r"$m_1$", "m2": r"$m_2$",
    "lambda_max": r"$\lambda_{\max}(JJ^T)$", "quantiles": r"$\lambda_q$ of $JJ^T$", "log_moments": r"$\log m_k$",
    "atom_zero": r"mass at $\lambda = 0$", "q_star": r"$q^*$", "chi1": r"$\chi_1$", "xi_q": r"$\xi_q$",
    "xi_c": r"$\xi_c$", "support_lo": "lower edge", "support_hi": "upper edge",
}


def parse_selection(items) -> dict:
    """``["activation=tanh", "level=0.5"]`` -> ``{"activation": "tanh", "level": 0.5}``."""
    out = {}
    for item in items or ():
        for part in str(item).split(";"):
            if not part.strip():
                continue
            if "=" not in part:
                raise ValueError(f"--sel takes dim=value (e.g. activation=tanh), got {part!r}")
            dim, value = (s.strip() for s in part.split("=", 1))
            try:
                out[dim] = float(value) if dim not in ("activation", "weights") else value
            except ValueError:
                out[dim] = value
    return out


def _select(ds, quantity, sel):
    if quantity not in ds.data_vars or quantity in _FLAGS:
        names = [v for v in ds.data_vars if v not in _FLAGS]
        raise ValueError(f"--quantity must be a variable of the sweep: {', '.join(names)}; got {quantity!r}")
    for dim in sel:
        if dim not in ds.dims:
            raise ValueError(f"--sel: {dim!r} is not a dimension of the sweep ({', '.join(ds.dims)})")
    defaults = {"level": 0.5, "k": 1}
    sel = {**{d: v for d, v in defaults.items() if d in ds[quantity].dims}, **sel}
    exact = {d: v for d, v in sel.items() if ds[d].dtype.kind in "OUS"}
    near = {d: v for d, v in sel.items() if d not in exact}
    try:
        sub = ds.sel(exact) if exact else ds
        sub = sub.sel(near, method="nearest") if near else sub
    except KeyError as exc:
        raise ValueError(f"--sel: no such value {exc}") from None
    return sub


def _status(sub):
    done = np.asarray(sub["done"].values, dtype=bool)
    failed = done & np.asarray(sub["failed"].values, dtype=bool)
    unsure = done & ~failed & ~np.asarray(sub["certified"].values, dtype=bool)
    return failed, unsure


def _is_log(values) -> bool:
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    return v.size > 0 and bool(np.all(v > 0)) and v.max() / v.min() >= LOG_SPAN


def _edges(values, log: bool) -> np.ndarray:
    v = np.log(np.asarray(values, dtype=float)) if log else np.asarray(values, dtype=float)
    if v.size == 1:
        e = np.array([v[0] - 0.5, v[0] + 0.5])
    else:
        mid = 0.5 * (v[1:] + v[:-1])
        e = np.concatenate([[2 * v[0] - mid[0]], mid, [2 * v[-1] - mid[-1]]])
    return np.exp(e) if log else e


def _label(ds, name) -> str:
    if name in _SHORT:
        return _SHORT[name]
    attrs = ds[name].attrs
    text = attrs.get("long_name", name)
    units = attrs.get("units", "")
    return f"{text} [{units}]" if units not in ("", "1") else text


def _facets(da, used):
    others = [d for d in da.dims if d not in used and da.sizes[d] > 1]
    combos = list(itertools.product(*(range(da.sizes[d]) for d in others)))
    if len(combos) > MAX_PANELS:
        raise ValueError(f"{len(combos)} panels (one per value of {', '.join(others)}); select values with --sel, "
                         f"e.g. --sel {others[0]}={da[others[0]].values[0]}")
    return others, combos


def _panel_title(da, others, combo) -> str:
    return ", ".join(f"{d} = {da[d].values[i]}" for d, i in zip(others, combo, strict=True))


def _norm(values, log):
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return Normalize(0, 1)
    if log is None:
        log = _is_log(v)
    if log:
        v = v[v > 0]
        return LogNorm(v.min(), v.max()) if v.size else Normalize(0, 1)
    return Normalize(v.min(), v.max())


def figure_sweep(ds, *, x: str, quantity: str, y: str | None = None, hue: str | None = None, sel=None,
                 log: bool | None = None, figsize=None) -> Figure:
    """A map (``y`` given) or line families (no ``y``) of ``quantity`` from a stored sweep.

    Parameters
    ----------
    ds : xarray.Dataset
        A sweep (:func:`spectral.sweeps.open_sweep`).
    x, y : str
        Dimensions on the horizontal / vertical axis.
    quantity : str
        A data variable (``quantiles`` at ``level = 0.5`` and ``log_moments`` at ``k = 1`` unless ``sel``
        says otherwise).
    hue : str, optional
        Lines: the dimension giving one line per value (default: the first other dimension that varies).
    sel : dict, optional
        Values of other dimensions to fix (nearest value for numeric axes).
    log : bool, optional
        Logarithmic colour (map) or y (lines) scale; default when the positive values span >= ``LOG_SPAN``.
    """
    sel = dict(sel or {})
    for name, flag in ((x, "--x"), (y, "--y"), (hue, "--hue")):
        if name is not None and name not in ds.dims:
            raise ValueError(f"{flag} must be a dimension of the sweep ({', '.join(ds['done'].dims)}), got {name!r}")
    if y is not None and y == x:
        raise ValueError("--x and --y must be different dimensions")
    sub = _select(ds, quantity, sel)
    with mpl.rc_context(STYLE):
        if y is not None:
            return _map_figure(sub, x, y, quantity, log, figsize)
        return _line_figure(sub, x, quantity, hue, log, figsize)


def _grid_of_axes(n, figsize, panel=(3.6, 3.0)):
    ncols = min(n, 4)
    nrows = math.ceil(n / ncols)
    fig = Figure(figsize=figsize or (panel[0] * ncols + 1.0, panel[1] * nrows + 0.4), layout="constrained")
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False)).ravel()
    for ax in axes[n:]:
        ax.set_visible(False)
    return fig, axes[:n]


def _map_figure(sub, x, y, quantity, log, figsize):
    da = sub[quantity]
    failed, unsure = _status(sub)
    others, combos = _facets(da, (x, y))
    norm = _norm(da.values, log)
    fig, axes = _grid_of_axes(len(combos), figsize)
    cmap = mpl.colormaps["viridis"].with_extremes(bad="0.85", over=OVERFLOW_COLOR)
    xlog, ylog = _is_log(da[x].values), _is_log(da[y].values)
    mesh = None
    for ax, combo in zip(axes, combos, strict=True):
        idx = dict(zip(others, combo, strict=True))
        panel = da.isel(idx).transpose(y, x, ...)
        values = np.asarray(panel.values, dtype=float).reshape(da.sizes[y], da.sizes[x])
        values = np.where(values == np.inf, 2.0 * norm.vmax, values)  # drawn in the "over" colour
        mask = np.isnan(values) | (values <= 0 if isinstance(norm, LogNorm) else False)
        xs, ys = np.asarray(da[x].values, dtype=float), np.asarray(da[y].values, dtype=float)
        mesh = ax.pcolormesh(_edges(xs, xlog), _edges(ys, ylog), np.ma.array(values, mask=mask), cmap=cmap,
                             norm=norm, shading="flat")
        f = _status_panel(sub, failed, idx, x, y)
        u = _status_panel(sub, unsure, idx, x, y)
        gx, gy = np.meshgrid(xs, ys)
        ax.plot(gx[f], gy[f], "x", color="0.3", ms=4, mew=0.8, ls="none", gid="failed")
        ax.plot(gx[u], gy[u], "o", mfc="none", mec="white", ms=2.5, mew=0.6, ls="none", gid="uncertified")
        ax.set_xscale("log" if xlog else "linear")
        ax.set_yscale("log" if ylog else "linear")
        ax.set_xlabel(_label(sub, x))
        ax.set_ylabel(_label(sub, y))
        if others:
            ax.set_title(_panel_title(da, others, combo))
    overflow = bool(np.any(np.asarray(da.values) == np.inf))
    cbar = fig.colorbar(mesh, ax=list(axes), shrink=0.9, extend="max" if overflow else "neither")
    cbar.set_label(_label(sub, quantity))
    _status_legend(fig, axes[0], failed.any(), unsure.any(), overflow)
    return fig


def _status_panel(sub, mask, idx, x, y):
    flags = sub["done"].copy(data=mask).isel(idx).transpose(y, x, ...)
    return np.asarray(flags.values, dtype=bool).reshape(sub.sizes[y], sub.sizes[x])


def _status_legend(fig, ax, any_failed, any_unsure, overflow=False):
    handles = []
    if overflow:
        handles.append(Line2D([], [], marker="s", color=OVERFLOW_COLOR, ls="none",
                              label="infinite (a quantile underflows to 0)"))
    if any_failed:
        handles.append(Line2D([], [], marker="x", color="0.3", ls="none", label="failed (see message)"))
    if any_unsure:
        handles.append(Line2D([], [], marker="o", mfc="none", mec="0.3", ls="none", label="not certified"))
    if handles:
        fig.legend(handles=handles, loc="outside lower center", ncols=len(handles), frameon=False)


def _line_figure(sub, x, quantity, hue, log, figsize):
    da = sub[quantity]
    failed, unsure = _status(sub)
    varying = [d for d in da.dims if d != x and da.sizes[d] > 1]
    hue = hue if hue is not None else (varying[0] if varying else None)
    others, combos = _facets(da, (x, hue) if hue else (x,))
    fig, axes = _grid_of_axes(len(combos), figsize)
    xs = np.asarray(da[x].values, dtype=float)
    hues = range(da.sizes[hue]) if hue else [None]
    colors = [mpl.colormaps["viridis"](t) for t in np.linspace(0.05, 0.85, max(len(hues), 1))]
    ylog = _is_log(da.values) if log is None else log
    for ax, combo in zip(axes, combos, strict=True):
        idx = dict(zip(others, combo, strict=True))
        for color, h in zip(colors, hues, strict=False):
            sel = {**idx, **({hue: h} if hue else {})}
            line = np.asarray(da.isel(sel).squeeze().values, dtype=float).reshape(-1)
            u = np.asarray(sub["done"].copy(data=unsure).isel(sel).squeeze().values, dtype=bool).reshape(-1)
            label = f"{hue} = {da[hue].values[h]}" if hue else quantity
            ax.plot(xs, line, color=color, marker="o", ms=3, label=label, gid=quantity)
            ax.plot(xs[u], line[u], "o", mfc="white", mec=color, ms=4.5, ls="none", gid="uncertified")
        ax.set_xscale("log" if _is_log(xs) else "linear")
        ax.set_yscale("log" if ylog else "linear")
        ax.set_xlabel(_label(sub, x))
        ax.set_ylabel(_label(sub, quantity))
        if others:
            ax.set_title(_panel_title(da, others, combo))
    axes[0].legend(loc="best")
    _status_legend(fig, axes[0], False, unsure.any())  # failed cells are gaps in the lines
    return fig


# ------------------------------------------------------------------------------------------ command line
def add_plot_sweep_parser(plot_subparsers) -> argparse.ArgumentParser:
    """Register ``sweep`` on the subparsers of ``spectral plot``; return its parser."""
    p = plot_subparsers.add_parser("sweep", help="maps and line families from a stored sweep (no recomputation)")
    p.add_argument("store", help="a sweep written by 'spectral sweep --out' (.zarr or .nc)")
    p.add_argument("--x", required=True, help="dimension on the horizontal axis, e.g. sigma_w2")
    p.add_argument("--y", default=None, help="dimension on the vertical axis: a map (default: line families)")
    p.add_argument("--quantity", default="condition", help="variable to draw (default: condition)")
    p.add_argument("--hue", default=None, help="lines: one per value of this dimension")
    p.add_argument("--sel", action="append", default=[],
                   help="fix another dimension, dim=value (repeatable), e.g. --sel activation=tanh")
    p.add_argument("--scale", default="auto", choices=("auto", "log", "linear"),
                   help="colour (map) or y (lines) scale (default: log when the values span a factor >= 20)")
    p.add_argument("--out", required=True, help="figure file: .png, .pdf or .svg")
    p.add_argument("--dpi", type=int, default=150)
    p.add_argument("--json", action="store_true", help="print machine-readable JSON")
    p.set_defaults(func=cmd_plot_sweep)
    return p


def parse_plot_sweep(argv, prog: str = "spectral plot"):
    """Parse ``["sweep", STORE, ...]`` (the words after ``spectral plot``) into the namespace
    :func:`cmd_plot_sweep` takes, with ``command = "plot"``; for a command line whose ``plot`` parser has
    no subcommands."""
    parser = argparse.ArgumentParser(prog=prog)
    add_plot_sweep_parser(parser.add_subparsers(dest="kind", required=True))
    args = parser.parse_args(list(argv))
    args.command = "plot"
    return args


def cmd_plot_sweep(args) -> int:
    """Draw the figure from the store at ``args.store`` and write it to ``args.out``."""
    from spectral.sweeps import open_sweep

    out = Path(args.out)
    if out.suffix.lower() not in (".png", ".pdf", ".svg"):
        raise ValueError(f"--out must end in .png, .pdf or .svg, got {args.out!r}")
    if args.dpi < 10:
        raise ValueError(f"--dpi must be an integer >= 10, got {args.dpi}")
    try:
        ds = open_sweep(args.store)
    except FileNotFoundError:
        raise ValueError(f"STORE: no sweep at {args.store!r} (write one with 'spectral sweep --out')") from None
    log = {"auto": None, "log": True, "linear": False}[args.scale]
    fig = figure_sweep(ds, x=args.x, y=args.y, quantity=args.quantity, hue=args.hue,
                       sel=parse_selection(args.sel), log=log)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=args.dpi, bbox_inches="tight")
    payload = {"kind": "map" if args.y else "lines", "out": str(out.resolve()), "quantity": args.quantity,
               "store": str(args.store)}
    print(json.dumps(payload, indent=2) if args.json else f"figure (sweep {payload['kind']}) written to "
                                                           f"{out.resolve()}")
    return 0
