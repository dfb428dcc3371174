"""The record returned by :func:`spectral.inspect`: the spec read, predicted vs measured, checks and verdict."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..jsonout import dumps, jsonable

__all__ = ["InspectReport"]

_SUMMARY_KEYS = ("m1", "spread", "lambda_max", "condition")


def _g(x, spec=".4g") -> str:
    if x is None:
        return "-"
    x = float(x)
    if math.isnan(x):
        return "undefined"
    return "inf" if math.isinf(x) else format(x, spec)


def _entry_rows(layers, prefix="", depth=0):
    """(path, text) per spec entry, residual branches indented."""
    rows = []
    for i, entry in enumerate(layers):
        (key, value), = entry.items()
        path = f"{prefix}[{i}]"
        if key == "dense":
            text = (f"dense     {value['weights']:<10} sigma_w2={_g(value['sigma_w2'], '.4f')}  "
                    f"sigma_b2={_g(value['sigma_b2'], '.3g')}  width={value.get('width')}")
        elif key == "activation":
            text = f"activation {value}"
        elif key == "residual":
            text = f"residual  alpha={_g(value['alpha'])} beta={_g(value['beta'])}"
        else:
            text = key
        rows.append((path, "  " * depth + text))
        if key == "residual":
            rows.extend(_entry_rows(value["branch"], f"{path}.residual.branch", depth + 1))
    return rows


@dataclass(frozen=True, eq=False)
class InspectReport:
    """Result of :func:`spectral.inspect`.

    ``spec``: the JSON spec read from the model; ``weights``: per-``Linear`` init statistics (empirical
    ``sigma_w2``, ``orthogonal`` and its deviation, ``sigma_b2``); ``unsupported``: modules without spec entry
    (``path, type, reason``); ``method``: "dense" or "matrix-free"; ``predicted`` / ``measured``: ``m1``,
    ``spread`` (:math:`m_2/m_1^2 - 1`), ``lambda_max``, ``condition`` (bulk,
    :math:`\\sqrt{\\lambda_{\\max}/\\lambda_{0.01}}`) and ``moments`` (``predicted`` is None when the spec could
    not be predicted); ``checks``: name -> (passed, detail); ``unavailable``: name -> reason; ``passed``: True
    or False when a check was made, None when none could be; ``verdict``: "passed", "failed" or "incomplete".
    ``to_json()`` gives the JSON text of ``spectral inspect --json``, ``figure()`` the density figure.
    """

    spec: dict
    weights: list
    unsupported: list
    method: str
    predicted: dict | None
    measured: dict
    checks: dict
    unavailable: dict
    notes: tuple
    n_inputs: int
    seed: int
    device: str
    seconds: float
    distribution: dict | None = None
    finite_width: dict | None = None
    measurement: Any = field(default=None, repr=False)
    law: Any = field(default=None, repr=False)

    @property
    def passed(self) -> bool | None:
        if not self.checks:
            return None
        return all(ok for ok, _ in self.checks.values())

    @property
    def verdict(self) -> str:
        if self.passed is False:
            return "failed"
        return "incomplete" if (self.unavailable or self.unsupported or self.passed is None) else "passed"

    def to_dict(self) -> dict:
        """JSON-ready dict (:mod:`spectral.jsonout` conventions)."""
        def side(d):
            return None if d is None else {k: d.get(k) for k in (*_SUMMARY_KEYS, "moments")} | (
                {"moments_se": d["moments_se"]} if "moments_se" in d else {})

        return jsonable({
            "spec": self.spec, "predicted": side(self.predicted), "measured": side(self.measured),
            "passed": self.passed, "verdict": self.verdict, "unsupported": list(self.unsupported),
            "method": self.method,
            "checks": {k: {"passed": bool(v[0]), "detail": v[1]} for k, v in self.checks.items()},
            "unavailable": dict(self.unavailable), "notes": list(self.notes), "weights": list(self.weights),
            "distribution": self.distribution, "n_inputs": self.n_inputs, "seed": self.seed, "device": self.device,
            "seconds": self.seconds,
        })

    def to_json(self, **kwargs) -> str:
        """The JSON text (keys ``spec``, ``predicted``, ``measured``, ``passed``, ``unsupported``, ``method``
        and more; see :meth:`to_dict`)."""
        return dumps(self.to_dict(), **kwargs)

    def __str__(self) -> str:
        n_in, n_out = self.measurement.widths if self.measurement is not None else (self.spec.get("width"), "?")
        lines = [f"inspect: input width {n_in}, output width {n_out}, input_q {_g(self.spec.get('input_q'))}; "
                 f"{self.method} Jacobians at {self.n_inputs} inputs (seed {self.seed}, {self.device}), "
                 f"{self.seconds:.2f} s", "", "  spec read from the model:"]
        lines += [f"    {path:<28} {text}" for path, text in _entry_rows(self.spec["layers"], "layers")]
        for u in self.unsupported:
            lines.append(f"    UNSUPPORTED {u['path']} ({u['type']}): {u['reason']}")
        lines += ["", f"  {'':<12} {'predicted':>12}  {'measured':>12}  {'+- se':>9}"]
        se = self.measured.get("moments_se")
        for key, label in (("m1", "m_1"), ("spread", "spread v"), ("lambda_max", "lambda_max"),
                           ("condition", "condition")):
            pred = None if self.predicted is None else self.predicted.get(key)
            err = _g(se[0], ".2g") if key == "m1" and se is not None else ""
            lines.append(f"  {label:<12} {_g(pred):>12}  {_g(self.measured.get(key)):>12}  {err:>9}")
        if self.predicted is not None:
            mp, mm = self.predicted["moments"], self.measured["moments"]
            for k in range(1, len(mp)):
                lines.append(f"  {'m_' + str(k + 1):<12} {_g(mp[k]):>12}  {_g(mm[k]):>12}  {_g(se[k], '.2g'):>9}")
        lines.append("")
        for name, (ok, detail) in self.checks.items():
            lines.append(f"  {name}: {'ok' if ok else 'FAILED'}  {detail}")
        for name, why in self.unavailable.items():
            lines.append(f"  {name}: unavailable ({why})")
        for note in self.notes:
            lines.append(f"  note: {note}")
        lines += ["", f"  {self.verdict.upper()}"]
        return "\n".join(lines)

    def figure(self, ax=None):
        """Predicted density of :math:`\\log_{10}\\lambda` (continuous part) against the measured eigenvalues
        of :math:`J J^T` (histogram; matrix-free: the Lanczos quadrature weights); returns the figure."""
        import matplotlib.pyplot as plt

        if ax is None:
            fig, ax = plt.subplots(figsize=(6.4, 4.0))
        else:
            fig = ax.figure
        m = self.measurement
        if m.eigenvalues is not None:
            lam = m.eigenvalues.ravel()
            wts = np.full(lam.size, 1.0 / lam.size)
        else:
            lam, wts = m.nodes, m.weights
        pos = lam > 0
        ax.hist(np.log10(lam[pos]), bins=60, weights=wts[pos],
                alpha=0.5, label=f"measured ({self.method})", histtype="stepfilled")
        ax.set_ylabel("mass per bin")
        if self.law is not None and "distribution" not in self.unavailable:
            res = self.law.density()
            x, rho = np.asarray(res.x), np.asarray(res.density)
            edges = np.histogram_bin_edges(np.log10(lam[pos]), bins=60)
            width = float(edges[1] - edges[0])
            lo = edges[0] - 0.25 * (edges[-1] - edges[0])  # the law's tail reaches far below the measured range
            with np.errstate(divide="ignore"):
                ok = (x > 0) & np.isfinite(rho) & (np.log10(np.where(x > 0, x, 1.0)) >= lo)
            # density of log10(lambda): rho(lambda) * lambda * ln 10, times the bin width for mass per bin
            ax.plot(np.log10(x[ok]), rho[ok] * x[ok] * math.log(10) * width, color="k", lw=1.5,
                    label="predicted (continuous part)")
        ax.set_xlabel(r"$\log_{10} \lambda$ of $J J^T$")
        ax.set_title(f"spectral inspect: {self.verdict}")
        ax.legend(frameon=False)
        fig.tight_layout()
        return fig
