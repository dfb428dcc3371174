r"""Spectra of network specs (residual blocks, normalisation) against the same network without its skip
connections: ``spectral plot spectrum --spec FILE``.

Each panel draws, for one spec:

* the law's own density, ``jacobian_law(spec).singular_values().density()`` through the public API: solid when
  certified, dashed when not;
* where that density is unavailable (the solver refuses it: today, products of several residual blocks) or
  uncertified, the Brownian large-depth limit where it applies (dotted;
  :func:`spectral.architecture.brownian.brownian_limit`, offered only when its :math:`m_1, m_2` are within
  :data:`~spectral.architecture.brownian.MAX_MOMENT_GAP` of the exact ones) and a visible note in the panel
  saying that the theory curve is unavailable and why (never an empty panel, never silent: the reason is also
  an :class:`~spectral.density.UncertifiedDensityWarning`);
* sampled networks of the spec (histogram), the check that is left when the theory is not.

The comparison ("plain") is the spec with every residual block :math:`x \mapsto \alpha x + \beta f(x)` replaced
by its branch :math:`f` (:func:`without_skips`): the same layers and widths, without the skip connections and
without :math:`\beta`; it is what the skip connections change.  When it is a chain of Dense layers and
activations it is drawn as a :class:`spectral.Network` (:func:`as_chain`), whose sampler resolves the many
decades such a chain spreads over.
"""

from __future__ import annotations

import dataclasses
import math
import textwrap
import warnings
from dataclasses import dataclass
from typing import Any

import matplotlib as mpl
import numpy as np
from matplotlib.figure import Figure

from ..density import UncertifiedDensityWarning
from .curves import _auto_ylim, _bin_edges, _curve, _draw_atoms, _histogram, _per_decade, _sample_values, _view
from .style import _XLABEL, _YLABEL, _YLABEL_LOG, STYLE, _check_variable, _new_axes

__all__ = ["SpecPanel", "without_skips", "as_chain", "spec_panel", "spec_panels", "plot_spec_panel",
           "spec_panels_figure", "figure_spec_spectrum", "DEFAULT_SPEC_WIDTH", "AUTO_LOG_SPREAD"]

#: sampled input width when neither the caller nor the spec gives one: the histogram is the only check left
#: where the theory is unavailable, and 128 keeps one SVD per network cheap
DEFAULT_SPEC_WIDTH = 128
#: with ``xscale=None`` a panel goes to a log axis when the ratio of its 99.5% and 0.5% quantiles exceeds this
#: (a linear axis would squeeze such a spectrum against 0)
AUTO_LOG_SPREAD = 30.0
#: characters per line of the in-panel note
_NOTE_WIDTH = 60
#: the y range grows by this factor when a panel carries a note, so that the note sits above the data
_NOTE_HEADROOM = 1.7
_COLORS = {"spec": "C0", "plain": "C3", "limit": "0.15"}


@dataclass(frozen=True)
class SpecPanel:
    """What one panel shows for one spec (computed by :func:`spec_panel`, drawn by :func:`plot_spec_panel`).

    ``density``: the law's density (None when unavailable); ``reason``: why it is unavailable or uncertified;
    ``limit``: the :class:`~spectral.architecture.brownian.BrownianLimit` drawn in its place (None when it does
    not apply: ``limit_reason``); ``samples``: sampled networks (None when sampling failed:
    ``samples_reason``); ``m1``: the exact :math:`m_1` of :math:`JJ^T` (the moments need no density)."""

    title: str
    role: str
    spec: Any
    variable: str
    density: Any = None
    reason: str | None = None
    limit: Any = None
    limit_density: Any = None
    limit_reason: str | None = None
    samples: Any = None
    samples_reason: str | None = None
    m1: float | None = None

    @property
    def theory(self) -> str:
        """'certified', 'uncertified' or 'unavailable'."""
        if self.density is None:
            return "unavailable"
        return "certified" if self.density.certified else "uncertified"

    def summary(self) -> str:
        """One line: the theory's status, why, and what is drawn in its place."""
        if self.theory == "certified":
            text = f"{self.title}: theory curve certified"
        else:
            text = f"{self.title}: theory curve {self.theory} ({self.reason})"
            text += "" if self.density is None else "; drawn dashed"
            text += (f"; {'drawn instead' if self.density is None else 'also drawn'}: the Brownian large-depth "
                     f"limit, {self.limit.describe()}" if self.limit_density is not None
                     else f"; no Brownian limit ({self.limit_reason})")
        if self.samples is not None:
            text += f"; histogram: {self.samples.n_samples} sampled networks of width {self.samples.widths[0]}"
        elif self.samples_reason:
            text += f"; no samples ({self.samples_reason})"
        check = self.moment_check()
        return text + (f"; {check}" if check else "")

    def moment_check(self) -> str | None:
        """'m_1 of JJ^T: exact X, sampled Y +- se' (None without the exact m_1 or the samples)."""
        if self.m1 is None or self.samples is None:
            return None
        mean, se = self.samples.moments(1)
        return f"m_1 of JJ^T: exact {self.m1:.4g}, sampled {float(mean[0]):.4g} +- {float(se[0]):.2g}"

    def to_dict(self) -> dict:
        out: dict = {"title": self.title, "role": self.role, "theory": self.theory, "reason": self.reason,
                     "m1": self.m1}
        if self.limit is not None and self.limit_density is not None:
            out["brownian_limit"] = {"s": self.limit.s, "scale": self.limit.scale,
                                     "moment_gap": self.limit.moment_gap,
                                     "certified": bool(self.limit_density.certified)}
        elif self.theory != "certified":
            out["brownian_limit"] = None
            out["brownian_limit_reason"] = self.limit_reason
        if self.samples is not None:
            out["samples"] = {"n_samples": self.samples.n_samples, "width": int(self.samples.widths[0]),
                              "mode": self.samples.mode}
        else:
            out["samples"] = None
            out["samples_reason"] = self.samples_reason
        return out


def _entries_without_skips(entries) -> tuple:
    from ..architecture.layers import Repeat, Residual

    out: list = []
    for e in entries:
        if isinstance(e, Residual):
            out.extend(_entries_without_skips(e.branch))
        elif isinstance(e, Repeat):
            out.append(Repeat(e.times, _entries_without_skips(e.layers)))
        else:
            out.append(e)
    return tuple(out)


def _count_blocks(entries) -> int:
    """Residual blocks on the main path (repeats counted)."""
    from ..architecture.layers import Repeat, Residual

    return sum(1 if isinstance(e, Residual) else e.times * _count_blocks(e.layers) if isinstance(e, Repeat) else 0
               for e in entries)


def without_skips(spec):
    r"""``spec`` with every residual block :math:`\alpha x + \beta f(x)` replaced by its branch :math:`f`
    (inside repeats too): the same network without skip connections (and without :math:`\beta`)."""
    return dataclasses.replace(spec, layers=_entries_without_skips(spec.layers))


def as_chain(spec):
    """``spec`` as ``[Dense, Nonlinearity]`` pairs -- an identity activation after a Dense layer that no activation
    follows -- when it holds only Dense layers and activations, each activation after a Dense layer: the same
    network, now a :class:`spectral.Network` (its law and its stable-product sampler, which resolves spectra
    spread over more decades than one SVD of :math:`J`); else ``spec`` unchanged."""
    from ..architecture.layers import Dense, Nonlinearity, flat_entries

    flat = list(flat_entries(spec.layers))
    pairs: list = []
    for e in flat:
        if isinstance(e, Dense):
            if pairs and isinstance(pairs[-1], Dense):
                pairs.append(Nonlinearity("linear"))
            pairs.append(e)
        elif isinstance(e, Nonlinearity) and pairs and isinstance(pairs[-1], Dense):
            pairs.append(e)
        else:
            return spec
    if not pairs:
        return spec
    if isinstance(pairs[-1], Dense):
        pairs.append(Nonlinearity("linear"))
    return dataclasses.replace(spec, layers=tuple(pairs))


def _density(law, variable, points):
    """(DensityResult, None) or (None, reason): the solver's answer, its warning held back (reported once,
    naming the panel)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UncertifiedDensityWarning)
            res = (law.singular_values() if variable == "singular" else law).density(points)
    except (NotImplementedError, RuntimeError, ValueError, ArithmeticError) as exc:
        # a law the solver cannot take says why in the NotImplementedError the solver wraps
        cause = exc.__cause__
        return None, str(cause if isinstance(cause, NotImplementedError) else exc)
    return res, (None if res.certified else res.reason)


def _limit(law, variable, points):
    """(BrownianLimit, DensityResult, None) or (None, None, reason)."""
    from ..architecture.brownian import brownian_limit

    if not hasattr(law, "blocks"):
        return None, None, "the Brownian limit needs residual blocks; this network has none"
    try:
        lim = brownian_limit(law)
    except ValueError as exc:
        return None, None, str(exc)
    res, reason = _density(lim.law, variable, points)
    if res is None:
        return None, None, f"its density failed: {reason}"
    return lim, res, None


def _sample(spec, width, n_samples, mode, backend, seed):
    """(samples, None) or (None, reason): the stable-product sampler for plain chains, the spec sampler else."""
    from ..architecture.jacobian import plain_network
    from ..architecture.sampling import sample_spec

    try:
        net = plain_network(spec)
        if net is not None:
            from ..montecarlo import sample_jacobians

            return sample_jacobians(net, width=spec.width or width, n_samples=n_samples, mode=mode,
                                    backend=backend, seed=seed, progress=False), None
        return sample_spec(spec, width=spec.width or width, n_samples=n_samples, mode=mode, backend=backend,
                           seed=seed), None
    except (ValueError, ArithmeticError, MemoryError) as exc:
        return None, str(exc)


def spec_panel(spec, title: str, *, role: str = "spec", variable: str = "singular", points: int = 400,
               width: int | None = DEFAULT_SPEC_WIDTH, n_samples: int = 4, mode: str = "network",
               backend: str = "auto", seed: int = 0) -> SpecPanel:
    """Compute one panel (module docstring): the density, the Brownian limit in its place where needed, samples.

    ``width=None`` draws no histogram.  A density that is unavailable or uncertified is reported with an
    :class:`~spectral.density.UncertifiedDensityWarning` naming the panel and the reason.
    """
    from ..product import jacobian_law

    variable = _check_variable(variable)
    law = jacobian_law(spec)
    res, reason = _density(law, variable, points)
    lim = lim_res = lim_reason = None
    if res is None or not res.certified:
        lim, lim_res, lim_reason = _limit(law, variable, points)
    smp, smp_reason = (None, None) if width is None else _sample(spec, width, n_samples, mode, backend, seed)
    m1 = float(law.moments(1)[0])
    panel = SpecPanel(title, role, spec, variable, res, reason, lim, lim_res, lim_reason, smp, smp_reason,
                      m1 if math.isfinite(m1) else None)
    if panel.theory != "certified":
        warnings.warn(panel.summary(), UncertifiedDensityWarning, stacklevel=2)
    return panel


def spec_panels(spec, *, compare: bool = True, **kwargs) -> list[SpecPanel]:
    """The panels of :func:`figure_spec_spectrum`: the spec, then (``compare``, when the spec has residual
    blocks) the same network without skip connections (:func:`without_skips`).  ``kwargs``: see
    :func:`spec_panel`."""
    blocks = _count_blocks(spec.layers)
    name = f"spec: {blocks} residual block{'s' * (blocks != 1)}" if blocks else "spec (no residual block)"
    panels = [spec_panel(spec, name, role="spec", **kwargs)]
    if compare and blocks:
        panels.append(spec_panel(as_chain(without_skips(spec)), "the same network without skip connections",
                                 role="plain", **kwargs))
    return panels


def _auto_log(curves, values) -> bool:
    """True when the spectrum spans more than :data:`AUTO_LOG_SPREAD` between its 0.5% and 99.5% quantiles."""
    from .curves import _continuous_quantile

    spreads = [float(np.quantile(v, 0.995) / np.quantile(v, 0.005)) for v in values if v.size]
    for c in curves:
        lo, hi = _continuous_quantile(c, 0.005), _continuous_quantile(c, 0.995)
        if lo > 0 and math.isfinite(hi):
            spreads.append(hi / lo)
    return bool(spreads) and max(spreads) > AUTO_LOG_SPREAD


def plot_spec_panel(panel: SpecPanel, *, xscale: str | None = None, ax=None, color=None, bins: int = 60,
                    legend_loc: str = "best"):
    """Draw a :class:`SpecPanel` on ``ax``: histogram, theory (solid, or dashed when uncertified), the Brownian
    limit (dotted) and the note when the theory is unavailable or uncertified; returns the Axes.

    ``xscale``: "linear", "log" (densities per decade) or None (log when the spectrum spans more than
    :data:`AUTO_LOG_SPREAD`).  Artists carry a ``gid``: ``"density"``, ``"brownian_limit"``, ``"samples"``,
    ``"theory_note"``; the title's second line compares the exact and the sampled :math:`m_1`.
    """
    variable = panel.variable
    color = color or _COLORS.get(panel.role, "C0")
    with mpl.rc_context(STYLE):
        ax = _new_axes(ax)
        theory = _curve(panel.density, variable) if panel.density is not None else None
        limit = _curve(panel.limit_density, variable) if panel.limit_density is not None else None
        curves = [c for c in (theory, limit) if c is not None]
        sv = _sample_values(panel.samples, variable) if panel.samples is not None else None
        values = [sv[0]] if sv is not None else []
        if xscale is None:
            xscale = "log" if _auto_log(curves, values) else "linear"
        if xscale not in ("linear", "log"):
            raise ValueError(f"xscale must be 'linear', 'log' or None, got {xscale!r}")
        log = xscale == "log"
        lo, hi = _view(curves, values, log, None) if (curves or values) else (0.0, 1.0)
        if log:
            ax.set_xscale("log")
            theory = _per_decade(theory) if theory is not None else None
            limit = _per_decade(limit) if limit is not None else None
        edges = _bin_edges(lo, hi, bins, log)
        top = 0.0
        if sv is not None:
            h = _histogram(sv[0], sv[1], edges, log)
            ax.stairs(h, edges, fill=True, alpha=0.2, color=color, gid="samples",
                      label=f"sampled: {panel.samples.n_samples} nets, $N = {panel.samples.widths[0]}$")
            top = float(np.max(h)) if h.size else 0.0
        if theory is not None and theory.x.size:
            ax.plot(theory.x, theory.y, color=color, gid="density", ls="-" if theory.certified else "--",
                    label="theory" if theory.certified else "theory (uncertified)")
            _draw_atoms(ax, theory.atoms, color, set(), zero_at=lo if log else 0.0)
        if limit is not None and panel.limit is not None:
            ax.plot(limit.x, limit.y, color=_COLORS["limit"], ls=":", lw=1.8, gid="brownian_limit",
                    label=rf"Brownian limit, $s = {panel.limit.s:.3g}$")
        shown = [c for c in (theory, limit) if c is not None]
        y_top = _auto_ylim(shown, max(lo, 0.0) if not log else lo, hi, log) if shown else 0.0
        note = _note(panel)
        ax.set_ylim(0.0, max(y_top, 1.15 * top, 1e-12) * (_NOTE_HEADROOM if note else 1.0))
        ax.set_xlim(lo, hi)
        ax.set_xlabel(_XLABEL[variable])
        ax.set_ylabel(_YLABEL_LOG[variable] if log else _YLABEL[variable])
        check = panel.moment_check()  # second title line: above the data, whatever the spectrum's shape
        ax.set_title(panel.title + ("\n" + check.replace("m_1", "$m_1$").replace("JJ^T", "$JJ^T$").replace("+-", "±")
                                    if check else ""), fontsize=10)
        if note:
            ax.text(0.02, 0.97, note, transform=ax.transAxes, ha="left", va="top", fontsize=7, color="C3",
                    gid="theory_note", bbox={"boxstyle": "round", "fc": "white", "ec": "C3", "alpha": 0.85})
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc=legend_loc, fontsize=8)
    return ax


def _note(panel: SpecPanel) -> str | None:
    """The in-panel note: why the theory curve is missing or dashed, and what stands in for it."""
    lines = []
    if panel.theory != "certified":
        what = "unavailable" if panel.density is None else "not certified"
        lines.append(f"theory curve {what}: {panel.reason}")
        lines.append(f"dotted: Brownian large-depth limit (m_1, m_2 within {100 * panel.limit.moment_gap:.2g}%)"
                     if panel.limit_density is not None else f"no Brownian limit: {panel.limit_reason}")
    if panel.samples is None and panel.samples_reason:
        lines.append(f"no samples: {panel.samples_reason}")
    if not lines:
        return None
    return "\n".join(textwrap.fill(t, _NOTE_WIDTH, max_lines=3, placeholder=" ...") for t in lines)


def spec_panels_figure(panels, *, xscale: str | None = None, figsize=None, title: str | None = None) -> Figure:
    """One row of :func:`plot_spec_panel` panels (a Figure, no pyplot)."""
    panels = list(panels)
    if not panels:
        raise ValueError("panels must contain at least one SpecPanel")
    with mpl.rc_context(STYLE):
        fig = Figure(figsize=figsize or (5.2 * len(panels), 3.8), layout="constrained")
        axs = np.atleast_1d(fig.subplots(1, len(panels), squeeze=False)).ravel()
        for ax, panel in zip(axs, panels, strict=True):
            plot_spec_panel(panel, xscale=xscale, ax=ax)
        if title:
            fig.suptitle(title)
    return fig


def figure_spec_spectrum(spec, *, compare: bool = True, variable: str = "singular", points: int = 400,
                         width: int | None = DEFAULT_SPEC_WIDTH, n_samples: int = 4, mode: str = "network",
                         backend: str = "auto", seed: int = 0, xscale: str | None = None, figsize=None) -> Figure:
    r"""``spectral plot spectrum --spec FILE``: the spec's spectrum against the same network without skip
    connections (module docstring).

    Parameters
    ----------
    spec : spectral.Sequential
    compare : bool
        Add the panel of :func:`without_skips` (when the spec has residual blocks).
    variable : {"singular", "eigen"}
    points : int
        Grid points of each density.
    width, n_samples, mode, backend, seed :
        Sampled networks (:func:`spectral.architecture.sample_spec`; plain chains:
        :func:`spectral.montecarlo.sample_jacobians`); ``width=None`` draws no histogram (the spec's own width
        wins when it has one).
    xscale : {"linear", "log"} or None
        None: per panel, log when the spectrum spans more than :data:`AUTO_LOG_SPREAD`.
    figsize : optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    panels = spec_panels(spec, compare=compare, variable=variable, points=points, width=width,
                         n_samples=n_samples, mode=mode, backend=backend, seed=seed)
    return spec_panels_figure(panels, xscale=xscale, figsize=figsize)
