"""Write ``docs/guide/activations.md``, the table of activations, from the registry.

Run ``python3 docs/make_activation_table.py`` after changing :data:`spectral.activations.ACTIVATIONS`;
``tests/test_activation_table.py`` fails while the page differs from what this script writes, while a
registry activation has no row, while a row's formulas disagree with the registry's sympy expression, or
while a stated critical range disagrees with :func:`spectral.critical_point`.

Each row is built from :data:`FAMILIES`: :math:`\\phi` and :math:`\\phi'` as sympy expressions in the family's
parameters (rendered with ``sympy.latex``; the test substitutes the registry defaults and compares with the
registry's own expression), the closed forms the library uses, and the critical line (the range of
:math:`\\sigma_w^2` with a critical point at :math:`\\sigma_b^2 \\ge 0`, by the rule of
:func:`spectral.critical_point`).
"""

from __future__ import annotations

import inspect
import sys
from dataclasses import dataclass
from pathlib import Path

import sympy

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from spectral.activations import ACTIVATIONS, ALIASES, X  # noqa: E402

PAGE = ROOT / "docs" / "guide" / "activations.md"

a, b, beta, lam = sympy.symbols("alpha b beta lambda", positive=True)


def _sig(t):
    return 1 / (1 + sympy.exp(-t))


@dataclass(frozen=True)
class Family:
    """One row: phi and phi' in the family's parameters, the parameters' symbols (name -> symbol), the closed
    forms, and the critical line as (kind, lo, hi): ("line", s, None) the single value sigma_w^2 = s (with
    sigma_b^2 = 0); ("from", lo, None) sigma_w^2 >= lo; ("range", lo, hi) lo <= sigma_w^2 < hi (hi
    excluded unless ``hi_included``); ("none", None, None) no critical line."""

    phi: sympy.Expr
    dphi: sympy.Expr
    symbols: dict
    closed: str
    critical: tuple
    critical_text: str
    hi_included: bool = False
    extra: dict | None = None  # values of fixed constants (selu's lambda, alpha)


_PW = sympy.Piecewise
_Q_ERF = r"$E\phi^2 = \frac{2}{\pi}\arcsin\frac{2b^2q}{1+2b^2q}$, $E\phi'^{2k} = (\frac{4b^2}{\pi})^k(1+4kb^2q)^{-1/2}$"
_QUAD = "quadrature (float), mpmath (any precision)"
_EXACT = "exact law of $D^2$ (atoms), exact moments, symbolic engine"

#: The rows, keyed by registry name.
FAMILIES = {
    "linear": Family(X, sympy.Integer(1), {}, "all: $D^2 = 1$; " + _EXACT, ("line", 1.0, None),
                     r"$\sigma_w^2 = 1$, $\sigma_b^2 = 0$"),
    "relu": Family(_PW((0, X < 0), (X, True)), _PW((0, X < 0), (1, True)), {},
                   r"$E\phi^2 = q/2$; $D^2 \sim$ Bernoulli(1/2); " + _EXACT, ("line", 2.0, None),
                   r"$\sigma_w^2 = 2$, $\sigma_b^2 = 0$"),
    "leaky_relu": Family(_PW((a * X, X < 0), (X, True)), _PW((a, X < 0), (1, True)), {"alpha": a},
                         r"$E\phi^2 = (1+\alpha^2)q/2$; " + _EXACT, ("line", 2 / (1 + 1e-4), None),
                         r"$\sigma_w^2 = 2/(1+\alpha^2)$, $\sigma_b^2 = 0$"),
    "hard_tanh": Family(_PW((-1, X < -1), (X, X < 1), (1, True)), _PW((0, X < -1), (1, X < 1), (0, True)), {},
                        r"$E\phi^2$ closed; $D^2 \sim$ Bernoulli($\operatorname{erf}(1/\sqrt{2q})$); " + _EXACT,
                        ("from", 1.0, None), r"$\sigma_w^2 \ge 1$"),
    "tanh": Family(sympy.tanh(X), 1 - sympy.tanh(X) ** 2, {}, _QUAD, ("from", 1.0, None), r"$\sigma_w^2 \ge 1$"),
    "erf": Family(sympy.erf(b * X), 2 * b / sympy.sqrt(sympy.pi) * sympy.exp(-b**2 * X**2), {"b": b}, _Q_ERF,
                  ("from", float(sympy.pi / 4), None), r"$\sigma_w^2 \ge \pi/(4b^2)$ ($\pi/4$ at $b = 1$)"),
    "erf_scaled": Family(sympy.erf(sympy.sqrt(sympy.pi) * X / 2), sympy.exp(-sympy.pi * X**2 / 4), {},
                         _Q_ERF + r" with $b = \sqrt\pi/2$", ("from", 1.0, None), r"$\sigma_w^2 \ge 1$"),
    "sigmoid": Family(_sig(X), _sig(X) * (1 - _sig(X)), {}, _QUAD, ("from", 103.00755, None),
                      r"$\sigma_w^2 \ge 103.008$"),
    "selu": Family(_PW((lam * a * (sympy.exp(X) - 1), X < 0), (lam * X, True)),
                   _PW((lam * a * sympy.exp(X), X < 0), (lam, True)), {}, _QUAD, ("range", 0.47677102, 1.811619),
                   r"$0.47677 \le \sigma_w^2 \le 1.81162$", hi_included=True,
                   extra={"lambda": lam, "alpha": a}),
    "elu": Family(_PW((a * (sympy.exp(X) - 1), X < 0), (X, True)), _PW((a * sympy.exp(X), X < 0), (1, True)),
                  {"alpha": a}, _QUAD, ("range", 1.0, 2.0), r"$1 \le \sigma_w^2 < 2$ (at $\alpha = 1$)"),
    "gelu": Family(X * (1 + sympy.erf(X / sympy.sqrt(2))) / 2,
                   (1 + sympy.erf(X / sympy.sqrt(2))) / 2 + X * sympy.exp(-X**2 / 2) / sympy.sqrt(2 * sympy.pi), {},
                   _QUAD, ("range", 1.9558089, 2.0), r"$1.95581 \le \sigma_w^2 < 2$"),
    "swish": Family(X * _sig(X), _sig(X) + X * _sig(X) * (1 - _sig(X)), {}, _QUAD, ("range", 1.9669873, 2.0),
                    r"$1.96699 \le \sigma_w^2 < 2$"),
    "softplus": Family(sympy.log(1 + sympy.exp(beta * X)) / beta, _sig(beta * X), {"beta": beta}, _QUAD,
                       ("none", None, None), r"none (searched $10^{-16} \le q^* \le 10^{10}$)"),
    "sin": Family(sympy.sin(X), sympy.cos(X), {}, r"$E\phi^2 = (1-e^{-2q})/2$, $E\phi'^{2k}$ closed",
                  ("range", 1.0, 2.0), r"$1 \le \sigma_w^2 \le 2$", hi_included=True),
}


def defaults(name: str) -> dict:
    """The registry defaults of a family's parameters, name -> value."""
    sig = inspect.signature(ACTIVATIONS[name])
    return {p.name: p.default for p in sig.parameters.values()}


def _spelling(name: str) -> str:
    params = defaults(name)
    if not params:
        return f"`{name}`"
    inner = ", ".join(f"{k}={v}" for k, v in params.items())
    return f"`{name}({inner})`"


def _latex(expr) -> str:
    return "$" + sympy.latex(expr).replace("|", r"\vert ") + "$"


def page() -> str:
    """The Markdown page (one row per registry activation, in registry order)."""
    missing = sorted(set(ACTIVATIONS) - set(FAMILIES))
    extra = sorted(set(FAMILIES) - set(ACTIVATIONS))
    if missing or extra:
        raise KeyError(f"FAMILIES and the registry differ: missing rows {missing}, rows of no activation {extra}")
    aliases = {}
    for alias, target in ALIASES.items():
        aliases.setdefault(target, []).append(alias)
    lines = [
        "# Activations",
        "",
        "<!-- Generated by docs/make_activation_table.py from spectral.ACTIVATIONS; do not edit by hand. -->",
        "",
        "Every activation below is accepted wherever an activation is (`spectral.activation`, `Network`,",
        "`mean_field`, the CLI's `--activation`, sweeps, `recommend`, the symbolic engine), by its name or",
        "with parameters: `leaky_relu(0.1)`, `elu(alpha=1/2)`, `erf(2)`, `erf(b=sqrt(pi)/2)`,",
        "`softplus(beta=2)` (values are read exactly by `spectral.parsing`: decimals and fractions stay exact,",
        "`sqrt(...)` and `pi` are allowed). Saved results, JSON and figure titles carry the canonical name,",
        "which spells every non-default parameter (`erf(b=1)`, `leaky_relu(alpha=1/10)`) and reads back as",
        "the same activation.",
        "",
        "**erf** is $\\operatorname{erf}(x)$, as in PyTorch, JAX and neural-tangents (`stax.Erf`);",
        "`erf(b)` is $\\operatorname{erf}(b x)$. The variant scaled to $\\phi'(0) = 1$ like tanh,",
        "$\\operatorname{erf}(\\sqrt\\pi x/2)$, is `erf_scaled` = `erf(b=sqrt(pi)/2)` (one activation, named",
        "`erf(b=sqrt(pi)/2)`). Version 0.1.0 and earlier called that scaled variant `erf`.",
        "",
        "The critical line is the range of $\\sigma_w^2$ where $\\chi_1 = 1$ at the attracting fixed point",
        "reached from $q^0 = 1$ with some $\\sigma_b^2 \\ge 0$ (`spectral.critical_point`; mean field in",
        "{doc}`meanfield`). Closed forms are those the library uses instead of quadrature; $q$ is the",
        "pre-activation variance, $E\\phi^2 = E[\\phi(\\sqrt q z)^2]$, $D^2 = \\phi'(\\sqrt q z)^2$.",
        "",
        "| name | $\\phi(x)$ | $\\phi'(x)$ | closed forms | critical line |",
        "|---|---|---|---|---|",
    ]
    for name in ACTIVATIONS:
        fam = FAMILIES[name]
        label = _spelling(name)
        if name in aliases:
            label += " (= " + ", ".join(f"`{al}`" for al in aliases[name]) + ")"
        if fam.extra:
            label += " (" + ", ".join(f"$\\{k}$ = {v}" for k, v in _selu_constants().items()) + ")"
        lines.append(f"| {label} | {_latex(fam.phi)} | {_latex(fam.dphi)} | {fam.closed} | {fam.critical_text} |")
    lines.append("")
    return "\n".join(lines)


def _selu_constants() -> dict:
    from spectral.activations import SELU_ALPHA, SELU_LAMBDA

    return {"lambda": f"{float(SELU_LAMBDA):.10f}", "alpha": f"{float(SELU_ALPHA):.10f}"}


def main() -> None:
    PAGE.write_text(page())
    print(f"wrote {PAGE}")


if __name__ == "__main__":
    main()
