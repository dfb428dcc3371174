r"""The physical sheet: the density continued down from :math:`z = x + i\infty`, and which edge candidates lie on it."""

from __future__ import annotations

import cmath
import math
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp

from .params import _free_params, _sample_subs, m, z


def _newton(fun, m0, z0, iters=60):
    mm = m0
    val, der = fun(mm, z0)
    for _ in range(iters):
        if der == 0 or not cmath.isfinite(val):
            break
        step = val / der
        t = 1.0
        for _ in range(40):
            cand = mm - t * step
            try:
                cval, cder = fun(cand, z0)
            except (ZeroDivisionError, ValueError, OverflowError):
                cval = complex("nan")
            if cmath.isfinite(cval) and abs(cval) <= abs(val):
                break
            t *= 0.5
        else:
            break
        mm, val, der = cand, cval, cder
        if abs(t * step) <= 1e-15 * (1 + abs(mm)):
            break
    return mm


def _density(fun, x: float, mean: complex, scale: float, eta_min: float) -> float:
    """-Im G(x + i0)/pi on the physical branch, continued down from Im z = 1e3 * scale to ``eta_min``."""
    decades = math.log10(1e3 * scale / eta_min)
    etas = np.logspace(math.log10(1e3 * scale), math.log10(eta_min), int(10 * decades) + 2)
    z0 = complex(x, etas[0])
    mm = mean / z0
    for eta in etas:
        z0 = complex(x, eta)
        mm = _newton(fun, mm, z0)
    return -((1 + mm) / z0).imag / math.pi


def _is_physical_edge(fun, x: float, mean: complex, scale: float, gap: float) -> bool:
    """The density vanishes on exactly one side of ``x`` (probed at ``x -+ delta``, ``delta << gap``)."""
    delta = min(1e-6 * max(scale, abs(x)), 1e-3 * gap)
    # an atom of mass a at distance d leaks a*eta/(pi d^2) into the density: keep eta << delta^2
    eta_min = 1e-10 * delta**2 / scale
    left = _density(fun, x - delta, mean, scale, eta_min)
    right = _density(fun, x + delta, mean, scale, eta_min)
    hi, lo = max(left, right), min(left, right)
    return hi > 1e-12 / scale and lo < 1e-4 * hi


def _log_residual(const, facs):
    """Newton function for log z(m) - log z (imaginary part wrapped, so every sheet of the log solves)."""
    facs = {(sp.N(f, 15) if f.atoms(sp.Function) else f): e for f, e in facs.items()}  # erf(...) -> float
    fs = [(complex(e), sp.lambdify(m, f, "numpy"), sp.lambdify(m, f.diff(m), "numpy"))
          for f, e in facs.items()]
    # log of the exact constant (sigma_w^{-2L} under- or overflows a float for deep networks)
    log_c = complex(sp.N(sp.log(const), 20))

    def fun(mm, zz):
        val = log_c - cmath.log(zz)
        der = 0j
        for e, f, df in fs:
            fv = complex(f(mm))
            val += e * cmath.log(fv)
            der += e * complex(df(mm)) / fv
        val = complex(val.real, (val.imag + math.pi) % (2 * math.pi) - math.pi)
        return val, der

    return fun


def _poly_residual(curve):
    poly = sp.Poly(sp.N(curve, 15) if curve.atoms(sp.Function) else curve, m)
    cs = [sp.lambdify(z, c, "numpy") for c in poly.all_coeffs()]
    dcs = [sp.lambdify(z, c, "numpy") for c in poly.diff(m).all_coeffs()]

    def fun(mm, zz):
        val, der = 0j, 0j
        for c in cs:
            val = val * mm + complex(c(zz))
        for c in dcs:
            der = der * mm + complex(c(zz))
        return val, der

    return fun


# ---------------------------------------------------------------------------------------------------------


def _nice(expr):
    expr = sp.sympify(expr)
    if expr.is_Rational:
        return expr
    if sp.count_ops(expr) > 2000 or any(
            pw.exp.is_Integer and abs(pw.exp) > 60 and not pw.base.is_Rational for pw in expr.atoms(sp.Pow)):
        return expr
    try:
        out = sp.radsimp(sp.expand(expr)) if not _free_params(expr) else sp.simplify(expr)
    except (TypeError, ValueError, NotImplementedError):
        return expr
    return out if sp.count_ops(out) <= sp.count_ops(expr) else expr


@dataclass(frozen=True)
class _EdgeData:
    edges: tuple
    numeric: tuple
    equation: Any
    method: str
    note: str


def _filter_physical(law, candidates, make_fun, fun_args, equation, method):
    """Keep the candidates that are density edges on the physical sheet (checked at sample values)."""
    cands = []
    for c in candidates:
        c = sp.sympify(c)
        if not any(_same_value(c, d) for d in cands):
            cands.append(c)
    free = set()
    for c in cands:
        free |= _free_params(c)
    free |= _free_params(law.mean)
    n_samples = 1 if not free else 3
    keep = []
    for c in cands:
        verdicts = []
        for i in range(n_samples):
            subs = _sample_subs(list(cands) + [law.mean] + _fun_exprs(fun_args), i)
            try:
                val = complex(sp.N(c.subs(subs), 30))
            except (TypeError, ValueError):
                continue
            if not cmath.isfinite(val):  # degenerate at this sample (e.g. a critical point at infinity)
                continue
            if abs(val.imag) > 1e-9 * (1 + abs(val)) or (law.nonnegative and val.real < 0):
                verdicts.append(False)
                break
            vals = [v for v in (_finite_value(d, subs) for d in cands) if v is not None]
            scale = max([1.0, abs(complex(sp.N(law.mean.subs(subs))))] + [abs(v) for v in vals])
            gaps = [abs(v.real - val.real) for v in vals if abs(v.real - val.real) > 1e-12 * scale]
            gaps += [abs(val.real)] if abs(val.real) > 1e-12 * scale else []
            fun = make_fun(*_subs_fun_args(fun_args, subs))
            verdicts.append(_is_physical_edge(fun, val.real, complex(sp.N(law.mean.subs(subs))), scale,
                                              min(gaps, default=scale)))
            if not verdicts[-1]:
                break
        if verdicts and all(verdicts):
            keep.append(_nice(c))
    if free:
        subs0 = _sample_subs(keep + [law.mean], 0)
        keep.sort(key=lambda e: float(sp.re(sp.N(e.subs(subs0)))))
        numeric = ()
        note = f"physical sheet checked at sample values of {sorted(map(str, free))}"
        if any(s.is_integer for s in free):
            note += "; formulas in a symbolic depth hold for depth >= 2 (ask for depth=1 separately)"
    else:
        keep.sort(key=lambda e: float(sp.N(e)))
        numeric = tuple(float(sp.N(e, 30)) for e in keep)
        note = "physical sheet checked numerically"
    return _EdgeData(tuple(keep), numeric, equation, method, note)


def _same_value(a, b) -> bool:
    """Equal (to 1e-13) at the sample values of their parameters: duplicates among edge candidates."""
    subs = _sample_subs([a, b])
    va, vb = _finite_value(a, subs, 40), _finite_value(b, subs, 40)
    if va is None or vb is None:
        return False
    return abs(va - vb) <= 1e-13 * (1 + abs(va))


def _finite_value(expr, subs, digits=30):
    try:
        val = complex(sp.N(expr.subs(subs), digits))
    except (TypeError, ValueError):
        return None
    return val if cmath.isfinite(val) else None


def _fun_exprs(fun_args):
    if isinstance(fun_args, tuple) and len(fun_args) == 2 and isinstance(fun_args[1], dict):
        return [fun_args[0]] + list(fun_args[1]) + list(fun_args[1].values())
    return [fun_args[0]]


def _subs_fun_args(fun_args, subs):
    if isinstance(fun_args, tuple) and len(fun_args) == 2 and isinstance(fun_args[1], dict):
        const, facs = fun_args
        new = defaultdict(lambda: sp.Integer(0))
        for f, e in facs.items():
            new[sp.expand(f.subs(subs))] += e.subs(subs)
        return sp.sympify(const).subs(subs), dict(new)
    return (sp.expand(fun_args[0].subs(subs)),)
