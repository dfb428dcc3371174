"""Shared style of the figures: rc defaults, axis labels, number formats, colours, panel titles."""

from __future__ import annotations

import math
from fractions import Fraction

import matplotlib as mpl
import numpy as np
from matplotlib.figure import Figure

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


def _check_xscale(xscale: str) -> bool:
    if xscale not in ("linear", "log"):
        raise ValueError(f"xscale must be 'linear' or 'log', got {xscale!r}")
    return xscale == "log"


def _colors(n: int, cmap: str | None = None):
    if cmap is None:
        cycle = mpl.rcParams["axes.prop_cycle"].by_key().get("color", ["C0"])
        return [cycle[i % len(cycle)] for i in range(n)]
    cm = mpl.colormaps[cmap]
    return [cm(t) for t in (np.linspace(0.1, 0.85, n) if n > 1 else [0.35])]


def _act_name(net) -> str:
    return getattr(net.activation, "name", str(net.activation))


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
