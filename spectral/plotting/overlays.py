r"""What a finite network adds to a density plot: the length-mode outlier and the finite-width band.

*The length mode* (:mod:`spectral.outliers`): a real network with biases and square orthogonal layers has one
singular value far below the bulk, predicted by :func:`spectral.outliers.length_outliers`.  It is one value
of N, so it has no mass in the density: it is drawn as a filled triangle on the x axis at the predicted value
(``gid="outlier"``, x data ``[s]`` or ``[s^2]`` for eigenvalues) with its value written above it
(``gid="outlier_label"``).

*The finite-width band* (:mod:`spectral.finite_width`): across networks of width N the empirical
:math:`\hat m_1 = N^{-1}\operatorname{tr} JJ^T` is log-normal to first order in :math:`1/N`, with
:math:`E\log\hat m_1` = ``log_m1_mean`` and :math:`\operatorname{sd}\log\hat m_1` = ``log_m1_sd``.  The band
is the :math:`\pm 1` sd range of the root-mean-square singular value :math:`\sqrt{\hat m_1}`,

.. math:: \big[e^{(\mu - \sigma)/2},\ e^{(\mu + \sigma)/2}\big] \quad (\text{eigenvalues: } [e^{\mu - \sigma},
   e^{\mu + \sigma}]),

shaded over the full height (``gid="finite_width_band"``, an ``axvspan`` patch whose x extent is the band), with its
centre :math:`e^{\mu/2}` dashed (``gid="finite_width_center"``).  Only with a width: at infinite width the
band is the single point :math:`\sqrt{m_1}`.
"""

from __future__ import annotations

import math
import warnings

from matplotlib.transforms import blended_transform_factory

from .style import _fmt_num

__all__ = ["network_outliers", "finite_width_band", "draw_outliers", "draw_finite_width_band"]

#: Height of the outlier's label above the x axis, as a fraction of the axes height (clear of the marker).
_LABEL_HEIGHT = 0.07


def network_outliers(net, mode: str = "network") -> list[dict]:
    """The predicted outliers of ``net`` (:func:`spectral.outliers.length_outliers`); empty in free mode, where
    :math:`D_l` does not see :math:`W_l` and the length mode does not exist, and where the prediction fails
    (a :class:`RuntimeWarning` says why: never drawn silently wrong)."""
    from ..outliers import length_outliers

    if mode != "network":
        return []
    try:
        return length_outliers(net)
    except (RuntimeError, ValueError, ArithmeticError) as exc:
        warnings.warn(f"length-mode outlier of depth {net.depth} not drawn: {type(exc).__name__}: {exc}",
                      RuntimeWarning, stacklevel=2)
        return []


def finite_width_band(net, width: int, mode: str = "network") -> dict:
    r"""``{"lo", "center", "hi", "width"}``: the band of the module docstring in singular values
    (:math:`\sqrt{\hat m_1}`), from :func:`spectral.finite_width.finite_width`."""
    from ..finite_width import finite_width

    fw = finite_width(net, width, mode=mode)
    mu, sd = float(fw["log_m1_mean"]), float(fw["log_m1_sd"])
    return {"lo": math.exp(0.5 * (mu - sd)), "center": math.exp(0.5 * mu), "hi": math.exp(0.5 * (mu + sd)),
            "width": fw["width"]}


def _in_variable(value: float, variable: str) -> float:
    return float(value) if variable == "singular" else float(value) ** 2


def draw_outliers(ax, outliers, variable: str, color, *, label: bool = True, level: int = 0) -> None:
    """Triangles on the x axis at the predicted outliers, each with its value written above it (module
    docstring; ``level`` raises the text by one step per curve already marked, so close values stay
    readable); the first one carries a legend entry (when ``label``)."""
    trans = blended_transform_factory(ax.transData, ax.transAxes)
    for i, o in enumerate(outliers):
        loc = _in_variable(o["singular_value"], variable)
        kind = o.get("kind", "outlier")
        ax.plot([loc], [0.0], marker="^", color=color, ms=9, ls="none", clip_on=False, zorder=6, gid="outlier",
                transform=trans, label=f"{kind} mode (predicted)" if i == 0 and label else "_outlier")
        sym = "s" if variable == "singular" else r"\lambda"
        ax.text(loc, _LABEL_HEIGHT * (1 + level), f"${sym} = {_fmt_num(loc, 3)}$", transform=trans, ha="center",
                va="bottom", fontsize=7, color=color, gid="outlier_label")


def draw_finite_width_band(ax, band: dict, variable: str, color, *, label: bool = True) -> None:
    """The shaded band and its dashed centre (module docstring), with a legend entry naming the width (when
    ``label``)."""
    lo, hi, mid = (_in_variable(band[k], variable) for k in ("lo", "hi", "center"))
    what = r"\sqrt{\hat m_1}" if variable == "singular" else r"\hat m_1"
    ax.axvspan(lo, hi, color=color, alpha=0.14, lw=0, gid="finite_width_band",
               label=rf"${what}$ $\pm$1 sd, $N = {band['width']}$" if label else "_finite_width_band")
    ax.axvline(mid, color=color, ls=":", lw=0.9, gid="finite_width_center", label="_finite_width_center")
