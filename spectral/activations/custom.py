r"""Custom activations: from a sympy expression (derivatives by sympy, kinks detected) or a Python callable with
its derivatives (never finite differences)."""

from __future__ import annotations

import math
import warnings
from fractions import Fraction

import sympy

from .base import Activation, X, _ns, _special


def _xp_module():
    """lambdify module mapping functions to the argument's array namespace (NumPy, CuPy, ...)."""

    def wrap(fname):
        def f(*args):
            xp, _ = _ns(args[-1])
            return getattr(xp, fname)(*args)

        return f

    def special(fname):
        def f(x):
            xp, x = _ns(x)
            return _special(xp, fname)(x)

        return f

    mod = {n: wrap(n) for n in ("exp", "log", "sin", "cos", "tan", "tanh", "sinh", "cosh", "sqrt", "arctan",
                                "arcsinh", "log1p", "expm1")}
    mod.update(erf=special("erf"), erfc=special("erfc"))
    return mod


def _lambdify(expr):
    f = sympy.lambdify(X, expr, modules=[_xp_module(), "numpy", "scipy"])

    def g(x):
        xp, x = _ns(x)
        out = f(x)
        return out + xp.zeros_like(x) if not hasattr(out, "shape") or out.shape != x.shape else out

    return g


def _auto_kinks(expr) -> tuple[float, ...]:
    """Points where a sympy expression's first derivative may jump (Piecewise, Max, Min, Abs, Heaviside)."""
    cands = []
    try:
        for node in sympy.preorder_traversal(expr):
            args = []
            if isinstance(node, sympy.Abs | sympy.Heaviside | sympy.sign):
                args = [node.args[0]]
            elif isinstance(node, sympy.Max | sympy.Min):
                args = [a - b for i, a in enumerate(node.args) for b in node.args[i + 1:]]
            elif isinstance(node, sympy.Piecewise):
                for _, cond in node.args:
                    if isinstance(cond, sympy.core.relational.Relational):
                        args.append(cond.lhs - cond.rhs)
            for a in args:
                sol = sympy.solveset(a, X, domain=sympy.S.Reals)
                if not isinstance(sol, sympy.FiniteSet):
                    raise NotImplementedError
                cands += [float(s) for s in sol]
    except Exception:  # noqa: BLE001 - detection is best effort; the caller warns
        warnings.warn("could not locate the kinks of a non-smooth activation expression; pass kinks=(...) "
                      "so that Gaussian quadrature is split there", RuntimeWarning, stacklevel=4)
        return ()
    return tuple(sorted(set(cands)))


def _from_expr(expr, name, kinks, params) -> Activation:
    expr = sympy.sympify(expr)
    free = expr.free_symbols
    subs = {}
    for s in list(free):
        if s.name in params:
            subs[s] = sympy.nsimplify(params[s.name]) if isinstance(params[s.name], Fraction) else params[s.name]
    expr = expr.subs(subs)
    free = expr.free_symbols
    if len(free) > 1:
        raise ValueError(f"activation expression {expr} has free symbols {sorted(map(str, free))}; it must depend "
                         "on one variable (give the others as keywords, e.g. activation(expr, a=2))")
    if free:
        expr = expr.subs(next(iter(free)), X)
    d1 = sympy.diff(expr, X)
    d2 = sympy.diff(d1, X)
    if kinks is None:
        kinks = _auto_kinks(expr)
    kinks = tuple(sorted(float(k) for k in kinks))
    pieces = None
    smooth_d2 = d2.replace(sympy.DiracDelta, lambda *a: 0) if d2.has(sympy.DiracDelta) else d2
    if smooth_d2 == 0 or (isinstance(smooth_d2, sympy.Piecewise) and all(e == 0 for e, _ in smooth_d2.args)):
        pieces = _constant_pieces(d1, kinks)
    return Activation(name or str(expr), _lambdify(expr), _lambdify(d1), _lambdify(smooth_d2), expr=expr, kinks=kinks,
                      pieces=pieces, params=tuple(sorted(params.items())), family="custom")


def _constant_pieces(d1, kinks):
    edges = (-math.inf, *kinks, math.inf)
    pieces = []
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        mid = (lo + hi) / 2 if math.isfinite(lo) and math.isfinite(hi) else (hi - 1 if math.isfinite(hi) else
                                                                             lo + 1 if math.isfinite(lo) else 0.0)
        try:
            val = float(d1.subs(X, mid))
        except TypeError:
            return None
        pieces.append((lo, hi, val))
    return tuple(pieces)


def _expression_of(f):
    """The sympy expression of a callable that accepts a sympy symbol (in x alone), else None."""
    try:
        e = f(X)
    except Exception:  # noqa: BLE001 - the callable need not accept sympy symbols
        return None
    return e if isinstance(e, sympy.Basic) and e.free_symbols <= {X} else None


def _from_callable(f, name, dphi, ddphi, kinks, params) -> Activation:
    if params:
        raise ValueError(f"unexpected parameters {sorted(params)} for a custom callable activation "
                         "(bind them in the callable, e.g. functools.partial)")
    fname = name or getattr(f, "__name__", "custom")
    if fname == "<lambda>":
        fname = "custom"
    expr = _expression_of(f)
    if expr is not None and dphi is None:
        act = _from_expr(expr, name or fname, kinks, {})
        return act
    if dphi is None:
        raise TypeError(f"custom activation {fname!r}: cannot derive phi' (the callable does not accept sympy "
                        "symbols); pass dphi=... (and ddphi=...), or a sympy expression")
    d2 = ddphi
    if d2 is None and expr is not None:
        d2 = _lambdify(sympy.diff(expr, X, 2))
    ks = tuple(sorted(float(k) for k in (kinks if kinks is not None else (_auto_kinks(expr) if expr is not None
                                                                           else ()))))

    def _wrap(g):
        if g is None:
            return None

        def h(x):
            xp, x = _ns(x)
            out = g(x)
            return out + xp.zeros_like(x) if not hasattr(out, "shape") or out.shape != x.shape else out

        return h

    return Activation(fname, _wrap(f), _wrap(dphi), _wrap(d2), expr=expr, kinks=ks, family="custom")
