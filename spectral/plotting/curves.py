"""Spectrum drawing helpers: a density as a curve, histograms of samples, the view window, atoms on their axis."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .style import _ATOM_LABEL, _fmt_mass


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
