r"""Symbolic free probability: closed-form transforms, the spectral curve, exact edges and moments.

Conventions (the same as the numeric engine, see :mod:`spectral.laws`)
-----------------------------------------------------------------------
* Stieltjes transform :math:`G(z) = \int \rho(t)/(z-t)\,dt` (:math:`\operatorname{Im} G < 0` above the axis).
* :math:`M(z) = z G(z) - 1 = \sum_{k\ge1} m_k z^{-k}`, :math:`\psi(w) = M(1/w)`, :math:`\chi = \psi^{-1}`.
* S-transform :math:`S(y) = (1+y)\chi(y)/y = (1+y)/(y M^{-1}(y))`, multiplicative for free products.
* R-transform :math:`R(G(z)) + 1/G(z) = z`, additive for free sums.
* Lagrange inversion :math:`m_k = \frac1k [y^{k-1}] \big((1+y)/S(y)\big)^k`.
* Spectral curve of a product: :math:`z = (1+m)/(m S_J(m))` with :math:`m = M(z)`.

Design
------
Every law is a :class:`SymbolicLaw` that carries one *algebraic curve* :math:`P(z, m) = 0` satisfied by
:math:`m = M(z)` (``law.m_curve``) together with the explicit branches :math:`G, M, S, R` where they exist in
closed form.  All conversions go through one generic converter: the four transforms are related by the
birational substitutions

=====  ============================================  ==========================================
kind   curve variables                               substitution into :math:`P(z, m)`
=====  ============================================  ==========================================
``G``  :math:`(z, g)`                                :math:`m = z g - 1`
``M``  :math:`(z, m)`                                identity
``S``  :math:`(y, s)`                                :math:`z = (1+y)/(y s),\ m = y`
``R``  :math:`(w, r)`                                :math:`z = r + 1/w,\ m = r w`
=====  ============================================  ==========================================

and an explicit transform is the root of its curve selected by its asymptotics
(:math:`G \sim 1/z` at infinity, :math:`S(0) = 1/m_1`, :math:`R(0) = m_1`).  Free products multiply
S-transforms and free sums add R-transforms; algebraic factors are eliminated with resultants.

Support edges are the real critical values of :math:`z(m) = (1+m)/(m S(m))` (equivalently the real roots
of the discriminant of :math:`P` in :math:`m`) that lie on the physical sheet: a candidate :math:`x` is kept
only if the density, computed on the physical branch (continued from :math:`z = x + i\infty` by damped
Newton steps), vanishes on exactly one side of :math:`x`.  When every factor of :math:`S_J` is a rational
function of :math:`y` (Gaussian or orthogonal weights with ReLU, hard-tanh or linear activations) the
critical points come from the *logarithmic derivative*
:math:`\sum_f e_f f'/f`, whose degree does not grow with the depth, so the depth :math:`L` may be a symbol
and edges are exact for any depth; the curve :math:`P` is never expanded (docs/design.md §4.1).

References
----------
* J. Pennington, S. Schoenholz, S. Ganguli, "Resurrecting the sigmoid in deep learning through dynamical
  isometry", NeurIPS 2017 (eqs. 11-32).
* J. A. Mingo, R. Speicher, *Free Probability and Random Matrices*, Springer 2017, ch. 2-3.
* W. Mlotkowski, K. A. Penson, K. Zyczkowski, "Densities of the Raney distributions", Doc. Math. 18 (2013)
  (Fuss-Catalan edge :math:`(L+1)^{L+1}/L^L`).
* H. Bercovici, D. Voiculescu, "Regularity questions for free convolution" (1998) (atoms of free products).
"""

from __future__ import annotations

import cmath
import math
from collections import defaultdict
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cached_property
from numbers import Number
from typing import Any

import numpy as np
import sympy as sp

from .parsing import parse_depth, parse_exact

__all__ = [
    "NoClosedFormError",
    "SymbolicLaw",
    "SymbolicResult",
    "marchenko_pastur",
    "free_poisson",
    "haar_orthogonal",
    "semicircle",
    "atomic",
    "bernoulli",
    "free_product",
    "free_sum",
    "d2_law",
    "weight_law",
    "exact_edges",
    "symbolic_network",
    "to_exact",
    "z",
    "m",
    "y",
    "w",
    "L",
    "p",
]

# ---------------------------------------------------------------------------------------------------------
# symbols
# ---------------------------------------------------------------------------------------------------------
z, m, y, w = sp.symbols("z m y w")
L = sp.Symbol("L", positive=True, integer=True)
p = sp.Symbol("p", positive=True)
_g, _s, _r = sp.symbols("g s r")  # dependent variables of the G-, S- and R-curves
_q = sp.Symbol("q", positive=True)

_IND = {"G": z, "M": z, "S": y, "R": w}
_DEP = {"G": _g, "M": m, "S": _s, "R": _r}
_TO_M = {
    "G": {_g: (1 + m) / z},
    "M": {},
    "S": {y: m, _s: (1 + m) / (z * m)},
    "R": {w: (1 + m) / z, _r: z * m / (1 + m)},
}
_FROM_M = {
    "G": {m: z * _g - 1},
    "M": {},
    "S": {z: (1 + y) / (y * _s), m: y},
    "R": {z: _r + 1 / w, m: _r * w},
}
_KINDS = ("G", "M", "S", "R")

#: sample values of free parameters used to decide branches and physical sheets numerically
_SAMPLE_VALUES = (sp.Rational(1, 3), sp.Rational(7, 10), sp.Rational(3, 7))
_DEPTH_SAMPLES = (2, 3, 5, 8)  # a symbolic depth means L >= 2 (depth 1 is special)


class NoClosedFormError(ValueError):
    """The law of :math:`D^2` (or another ingredient) has no closed form for the symbolic engine."""


# ---------------------------------------------------------------------------------------------------------
# exact parsing
# ---------------------------------------------------------------------------------------------------------
def to_exact(value: Any, name: str = "value") -> sp.Expr:
    """Convert a user value to an exact sympy number or symbol.

    Decimal strings and floats become the rational they spell (``"1.05"`` and ``1.05`` -> ``21/20``);
    ``Fraction`` and integers stay exact; identifiers (``"sigma_w2"``) become positive symbols; sympy
    expressions are returned unchanged.  Strings are read by :func:`spectral.parsing.parse_exact` (numbers,
    fractions, bounded integer powers, ``pi``, ``E``, ``sqrt`` and symbol names; never evaluated).

    Raises
    ------
    TypeError
        If ``value`` is not a number, string or sympy expression.
    ValueError
        A string outside the accepted syntax, or a value that is not finite.
    """
    if isinstance(value, sp.Basic):
        return value
    if isinstance(value, bool):
        raise TypeError(f"{name} must be a number, a decimal string or a symbol name, not a bool")
    if isinstance(value, Fraction):
        return sp.Rational(value.numerator, value.denominator)
    if isinstance(value, int | np.integer):
        return sp.Integer(int(value))
    if isinstance(value, float | np.floating):
        if not math.isfinite(value):
            raise ValueError(f"{name} must be finite, got {value!r}")
        return sp.Rational(repr(float(value)))
    if isinstance(value, str):
        # read by the strict parser (spectral.parsing): never evaluated, identifiers become positive symbols
        exact = parse_exact(value, name, symbols=True)
        return sp.Rational(exact.numerator, exact.denominator) if isinstance(exact, Fraction) else exact
    if isinstance(value, Number):
        return sp.nsimplify(value)
    raise TypeError(f"{name} must be a number, a decimal string or a symbol name, got {type(value).__name__}")


# ---------------------------------------------------------------------------------------------------------
# small helpers on curves
# ---------------------------------------------------------------------------------------------------------
def _numerator(expr: sp.Expr) -> sp.Expr:
    return sp.numer(sp.together(expr))


def _free_params(expr: sp.Expr) -> set[sp.Symbol]:
    return set(expr.free_symbols) - {z, m, y, w, _g, _s, _r}


def _sample_subs(exprs, index: int = 0) -> dict:
    """Substitution of every free parameter by a sample value (depth symbols by a sample depth)."""
    params: set = set()
    for e in exprs:
        if e is not None:
            params |= _free_params(e)
    subs = {}
    for sym in params:
        k = sum(map(ord, str(sym)))  # keyed by name: the same symbol gets the same value in every call
        if sym.is_integer:
            subs[sym] = _DEPTH_SAMPLES[(index + k) % len(_DEPTH_SAMPLES)]
        else:
            subs[sym] = _SAMPLE_VALUES[(index + k) % len(_SAMPLE_VALUES)]
    return subs


def _exact_complex(x: complex) -> sp.Expr:
    return sp.Rational(x.real) + sp.I * sp.Rational(x.imag)


def _expansion_point(kind: str) -> complex:
    # off every axis, far out (G, M) or close to 0 (S, R)
    return 1e6 * cmath.exp(0.9j) if kind in ("G", "M") else 1e-6 * cmath.exp(0.9j)


def _asymptotic_error(kind: str, value: complex, x0: complex, mean: complex) -> float:
    """How far ``value`` (a transform of ``kind`` evaluated at ``x0``) is from its known asymptotics."""
    if kind == "G":
        return abs(value * x0 - 1 - mean / x0) * abs(x0) / (1 + abs(mean))
    if kind == "M":
        return abs(value * x0 - mean) / (1 + abs(mean))
    if kind == "S":
        return abs(value * mean - 1) if mean != 0 else math.inf
    return abs(value - mean) / (1 + abs(mean))


def _roots_numeric(poly_expr: sp.Expr, var: sp.Symbol) -> list[complex]:
    coeffs = [complex(sp.N(c, 30)) for c in sp.Poly(poly_expr, var).all_coeffs()]
    if len(coeffs) <= 1:
        return []
    return [complex(r) for r in np.roots(coeffs)]


def _select_factor(factors: list[sp.Expr], kind: str, mean: sp.Expr) -> sp.Expr:
    """Pick the irreducible factor of a curve whose root has the asymptotics of the transform."""
    if len(factors) == 1:
        return factors[0]
    ind, dep = _IND[kind], _DEP[kind]
    x0 = _expansion_point(kind)
    best, best_err = None, math.inf
    for f in factors:
        subs = _sample_subs([f, mean])
        fm = sp.expand(f.subs(subs).subs(ind, _exact_complex(x0)))
        mean0 = complex(sp.N(mean.subs(subs)))
        for root in _roots_numeric(fm, dep):
            err = _asymptotic_error(kind, root, x0, mean0)
            if err < best_err:
                best, best_err = f, err
    if best is None or best_err > 1e-3:
        raise ArithmeticError("no factor of the curve has the asymptotics of the transform")
    return best


def _clean_curve(expr: sp.Expr, kind: str, mean: sp.Expr) -> sp.Expr:
    """Numerator, factored; keep the irreducible factor carrying the transform's branch."""
    dep = _DEP[kind]
    num = _numerator(expr)
    _, factors = sp.factor_list(sp.expand(num))
    cands = [f for f, _ in factors if dep in f.free_symbols]
    if not cands:
        raise ArithmeticError(f"curve {num} does not involve {dep}")
    return sp.expand(_select_factor(cands, kind, mean))


def _convert_curve(curve: sp.Expr, src: str, dst: str, mean: sp.Expr) -> sp.Expr:
    """The generic converter: the curve of one transform -> the curve of another (birational maps)."""
    if src == dst:
        return curve
    m_curve = curve.subs(_TO_M[src], simultaneous=True) if src != "M" else curve
    if dst != "M":
        m_curve = _clean_curve(m_curve, "M", mean)
        return _clean_curve(m_curve.subs(_FROM_M[dst], simultaneous=True), dst, mean)
    return _clean_curve(m_curve, "M", mean)


def _physical_sqrt(expr: sp.Expr, var: sp.Symbol) -> sp.Expr:
    r"""Rewrite :math:`\sqrt{a (x-r_1)(x-r_2)}` as :math:`\sqrt a\sqrt{x-r_1}\sqrt{x-r_2}`.

    The product form is analytic off the segment :math:`[r_1, r_2]`, so it is the physical Stieltjes branch
    everywhere in the upper half plane (the principal root of the product is not).
    """
    reps = {}
    for pw in expr.atoms(sp.Pow):
        if pw.exp != sp.Rational(1, 2) or var not in pw.base.free_symbols:
            continue
        try:
            poly = sp.Poly(pw.base, var)
        except sp.PolynomialError:
            continue
        if poly.degree() != 2:
            continue
        rts = sp.roots(poly)
        if sum(rts.values()) != 2:
            continue
        r1, r2 = (list(rts) * 2)[:2] if len(rts) == 1 else list(rts)
        reps[pw] = sp.sqrt(poly.LC()) * sp.sqrt(var - r1) * sp.sqrt(var - r2)
    return expr.xreplace(reps) if reps else expr


def _explicit_branch(curve: sp.Expr, kind: str, mean: sp.Expr) -> sp.Expr | None:
    """Solve a curve for its value (degree <= 2); keep the branch with the right asymptotics."""
    dep, ind = _DEP[kind], _IND[kind]
    try:
        poly = sp.Poly(curve, dep)
    except sp.PolynomialError:
        return None
    if poly.degree() > 2 or poly.degree() < 1:
        return None
    cands = [sp.simplify(c) for c in sp.solve(curve, dep)]
    if kind == "G":
        cands = [_physical_sqrt(c, z) for c in cands]
    if len(cands) == 1:
        return cands[0]
    x0 = _expansion_point(kind)
    best, best_err = None, math.inf
    for c in cands:
        subs = _sample_subs([c, mean])
        try:
            val = complex(sp.N(c.subs(subs).subs(ind, _exact_complex(x0)), 50))
        except (TypeError, ValueError):
            continue
        err = _asymptotic_error(kind, val, x0, complex(sp.N(mean.subs(subs))))
        if err < best_err:
            best, best_err = c, err
    if best_err > 1e-3:
        return None
    return best


# ---------------------------------------------------------------------------------------------------------
# truncated power series with sympy coefficients (index k = coefficient of x^k)
# ---------------------------------------------------------------------------------------------------------
def _ser_mul(a, b, n):
    out = [sp.Integer(0)] * n
    for i, ai in enumerate(a[:n]):
        if ai == 0:
            continue
        for j in range(min(len(b), n - i)):
            out[i + j] += ai * b[j]
    return [sp.expand(c) for c in out]


def _ser_inv(a, n):
    inv0 = 1 / a[0]
    out = [inv0]
    for k in range(1, n):
        acc = sum((a[j] * out[k - j] for j in range(1, min(k, len(a) - 1) + 1)), sp.Integer(0))
        out.append(sp.expand(-inv0 * acc))
    return out


def _ser_log1(a, n):
    """log of a series with a[0] == 1."""
    out = [sp.Integer(0)] * n
    for k in range(1, n):
        ak = a[k] if k < len(a) else 0
        acc = sum((j * out[j] * a[k - j] for j in range(1, k) if k - j < len(a)), sp.Integer(0))
        out[k] = sp.expand(ak - acc / k)
    return out


def _ser_exp(a, n):
    """exp of a series with a[0] == 0."""
    out = [sp.Integer(1)] + [sp.Integer(0)] * (n - 1)
    for k in range(1, n):
        acc = sum((j * a[j] * out[k - j] for j in range(1, min(k, len(a) - 1) + 1)), sp.Integer(0))
        out[k] = sp.expand(acc / k)
    return out


def _ser_reversion(psi, n):
    """chi with psi(chi(y)) = y, psi[0] == 0 != psi[1] (Lagrange: [y^k] chi = [w^(k-1)] (w/psi)^k / k)."""
    h = _ser_inv(psi[1:n + 1], n)  # w / psi(w)
    out = [sp.Integer(0)] * (n + 1)
    power = [sp.Integer(1)] + [sp.Integer(0)] * (n - 1)
    for k in range(1, n + 1):
        power = _ser_mul(power, h, n)
        out[k] = sp.expand(power[k - 1] / k)
    return out


def _taylor(expr: sp.Expr, var: sp.Symbol, n: int) -> list[sp.Expr]:
    """First ``n`` Taylor coefficients of ``expr`` at ``var = 0``."""
    if expr.is_rational_function(var):
        num, den = sp.fraction(sp.together(expr))
        a = list(reversed(sp.Poly(num, var).all_coeffs()))
        b = list(reversed(sp.Poly(den, var).all_coeffs()))
        return _ser_mul(a, _ser_inv(b, n), n)
    ser = sp.series(expr, var, 0, n).removeO()
    return [sp.expand(ser.coeff(var, k)) for k in range(n)]


# ---------------------------------------------------------------------------------------------------------
# the law
# ---------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SymbolicLaw:
    r"""A spectral law with closed-form transforms as sympy expressions.

    Attributes
    ----------
    name : str
        Human-readable name, e.g. ``"MarchenkoPastur(c, v)"``.
    params : tuple of (str, sympy.Expr)
        The parameters, exact numbers or symbols.
    mean : sympy.Expr
        :math:`m_1`.
    m_curve : sympy.Expr or None
        Polynomial :math:`P(z, m)` with :math:`P(z, M(z)) = 0`, irreducible; ``None`` when the depth is
        symbolic (the curve's degree depends on it).
    G, S, R : sympy.Expr or None
        Explicit Stieltjes (in ``z``), S- (in ``y``) and R-transform (in ``w``) where one exists in radicals.
        ``G`` is written on the physical branch (analytic off the support); ``S`` and ``R`` are the branches
        analytic at 0.
    atoms : tuple of (location, mass)
        Exact atoms where known.
    nonnegative : bool
        True if the law is known to live on :math:`[0, \infty)` (then negative edge candidates are dropped).
    factors, summands : tuple of (SymbolicLaw, multiplicity)
        Structure of free products / sums (multiplicities may be symbols such as ``L``).
    """

    name: str
    params: tuple[tuple[str, Any], ...]
    mean: Any
    m_curve: Any
    G: Any = None
    S: Any = None
    R: Any = None
    atoms: tuple[tuple[Any, Any], ...] = ()
    factors: tuple[tuple[SymbolicLaw, Any], ...] = ()
    summands: tuple[tuple[SymbolicLaw, Any], ...] = ()
    nonnegative: bool = False
    _cache: dict = field(default_factory=dict, repr=False, compare=False, hash=False)

    # -- transforms ----------------------------------------------------------------------------------------
    @property
    def M(self):
        """Moment generating function :math:`M(z) = z G(z) - 1` (explicit) or ``None``."""
        return None if self.G is None else sp.expand(z * self.G - 1)

    def transform(self, kind: str):
        """Explicit transform ``kind`` in ``"G" | "M" | "S" | "R"`` (``None`` if not in radicals)."""
        kind = _check_kind(kind)
        return self.M if kind == "M" else getattr(self, kind)

    def curve(self, kind: str = "M"):
        """Polynomial relation between ``kind``'s variable and value.

        Variables: ``(z, g)`` for G, ``(z, m)`` for M, ``(y, s)`` for S, ``(w, r)`` for R.
        """
        kind = _check_kind(kind)
        if self.m_curve is None:
            return None
        key = ("curve", kind)
        if key not in self._cache:
            self._cache[key] = _convert_curve(self.m_curve, "M", kind, self.mean)
        return self._cache[key]

    def numeric(self, kind: str):
        """Vectorised NumPy function of the explicit transform ``kind`` (complex input)."""
        expr = self.transform(kind)
        if expr is None:
            raise NotImplementedError(f"{self.name} has no explicit {kind}-transform; use the curve")
        if _free_params(expr):
            raise ValueError(f"{self.name} has free parameters {_free_params(expr)}; substitute them first")
        return sp.lambdify(_IND[kind], expr, "numpy")

    def subs(self, mapping: dict) -> SymbolicLaw:
        """The same law with parameters substituted (e.g. ``{p: Rational(1, 2)}``)."""
        def sub(e):
            return None if e is None else sp.sympify(e).subs(mapping)
        return SymbolicLaw(
            name=self.name, params=tuple((k, sub(v)) for k, v in self.params), mean=sub(self.mean),
            m_curve=None if self.m_curve is None else sp.expand(sub(self.m_curve)),
            G=sub(self.G), S=sub(self.S), R=sub(self.R), atoms=tuple((sub(a), sub(b)) for a, b in self.atoms),
            factors=tuple((f.subs(mapping), sub(k)) for f, k in self.factors),
            summands=tuple((f.subs(mapping), sub(k)) for f, k in self.summands), nonnegative=self.nonnegative,
        )

    @property
    def is_atomic(self) -> bool:
        """True if the law is purely atomic (its atoms carry mass 1)."""
        total = sum(mass for _, mass in self.atoms)
        return bool(self.atoms) and not self.factors and sp.simplify(total - 1) == 0

    # -- series --------------------------------------------------------------------------------------------
    def _log_s_series(self, n: int):
        """(m_1, series of log(S(y) m_1)) to order n: additive over free products."""
        if self.factors:
            ell = [sp.Integer(0)] * n
            for law, k in self.factors:
                _, li = law._log_s_series(n)
                ell = [sp.expand(a + k * b) for a, b in zip(ell, li, strict=True)]
            return self.mean, ell
        if self.mean == 0:
            raise ValueError(f"{self.name} has m_1 = 0: its S-transform is not defined; use free_sum (R)")
        if self.S is not None and not self.is_atomic:
            s = _taylor(self.S, y, n)
        else:
            psi = [sp.Integer(0)] + self.moments(n)
            chi = _ser_reversion(psi, n)
            s = [sp.expand(chi[k + 1] + chi[k]) for k in range(n)]  # (1+y) chi(y) / y
        return self.mean, _ser_log1([sp.expand(c * self.mean) for c in s], n)

    def free_cumulants(self, k: int) -> list:
        r"""Free cumulants :math:`\kappa_1..\kappa_k` (:math:`R(w) = \sum \kappa_j w^{j-1}`)."""
        if self.summands:
            out = [sp.Integer(0)] * k
            for law, n in self.summands:
                out = [sp.expand(a + n * b) for a, b in zip(out, law.free_cumulants(k), strict=True)]
            return out
        if self.R is not None and not self.factors and not self.is_atomic:
            return _taylor(self.R, w, k)
        mom = self.moments(k)
        psi = [sp.Integer(0)] + mom
        one_psi = [sp.Integer(1)] + mom
        kappa: list = []
        for j in range(1, k + 1):
            acc = sp.Integer(0)
            power = [sp.Integer(1)]
            for i in range(1, j):
                power = _ser_mul(power, one_psi, j + 1)
                acc += kappa[i - 1] * (power[j - i] if j - i < len(power) else 0)
            kappa.append(sp.expand(psi[j] - acc))
        return kappa

    def moments(self, k: int) -> list:
        r"""Exact moments :math:`m_1..m_k` (rationals, or polynomials in the symbols; powers of ``L``).

        Products use Lagrange inversion on :math:`\log S_J = \sum_i n_i \log S_i` (so ``L`` may be a symbol:
        :math:`m_j = m_1^j \times` a polynomial in ``L``); sums use the free cumulants; atomic laws
        :math:`\sum_i p_i v_i^j`.
        """
        if not isinstance(k, int | np.integer) or k < 1:
            raise ValueError(f"k must be an integer >= 1, got {k!r}")
        key = ("moments", int(k))
        if key in self._cache:
            return list(self._cache[key])
        if self.is_atomic:
            out = [sp.expand(sum(mass * loc**j for loc, mass in self.atoms)) for j in range(1, k + 1)]
        elif self.factors or (self.S is not None and self.mean != 0):
            mean, ell = self._log_s_series(k)
            out = []
            for j in range(1, k + 1):
                e = _ser_exp([sp.expand(-j * c) for c in ell], j)
                one_y = [sp.binomial(j, i) for i in range(j)]
                coeff = _ser_mul(one_y, e, j)[j - 1] / j
                out.append(mean**j * sp.factor(sp.expand(coeff)) if _free_params(mean) else
                           sp.expand(mean**j * coeff))
        else:
            kappa = self.free_cumulants(k)
            psi = [sp.Integer(0)] * (k + 1)
            for _ in range(k):  # psi = sum kappa_j w^j (1 + psi)^j, one more coefficient per sweep
                one_psi = [sp.Integer(1)] + psi[1:]
                new = [sp.Integer(0)] * (k + 1)
                power = [sp.Integer(1)] + [sp.Integer(0)] * k
                for j in range(1, k + 1):
                    power = _ser_mul(power, one_psi, k + 1)
                    for i in range(j, k + 1):
                        new[i] += kappa[j - 1] * power[i - j]
                psi = [sp.expand(c) for c in new]
            out = psi[1:]
        self._cache[key] = tuple(out)
        return list(out)


def _check_kind(kind: str) -> str:
    if kind not in _KINDS:
        raise ValueError(f"kind must be one of {_KINDS}, got {kind!r}")
    return kind


def _make_law(name, params, mean, curve, kind, *, atoms=(), explicit=None, factors=(), summands=(),
              irreducible=False, nonnegative=False):
    """Build a law from one curve (of any kind): the generic converter derives the rest.

    Explicit branches are solved for only when the curve has degree <= 2 in the transform's value.
    """
    mean = sp.sympify(mean)
    if curve is None:
        m_curve = None
    elif irreducible and kind == "M":
        m_curve = curve
    else:
        m_curve = _convert_curve(curve, kind, "M", mean)
    low_degree = m_curve is not None and _degree(m_curve, m) <= 2
    explicit = dict(explicit or {})
    law = SymbolicLaw(name=name, params=tuple(params), mean=mean, m_curve=m_curve, atoms=tuple(atoms),
                      factors=tuple(factors), summands=tuple(summands), nonnegative=nonnegative)
    values = {}
    for k in ("G", "S", "R"):
        if k in explicit:
            values[k] = explicit[k]
        elif low_degree and (k != "S" or mean != 0):
            values[k] = _explicit_branch(law.curve(k), k, mean)
        else:
            values[k] = None
    return SymbolicLaw(name=name, params=law.params, mean=mean, m_curve=m_curve, G=values["G"], S=values["S"],
                       R=values["R"], atoms=law.atoms, factors=law.factors, summands=law.summands,
                       nonnegative=nonnegative, _cache=law._cache)


# ---------------------------------------------------------------------------------------------------------
# registry of closed-form laws
# ---------------------------------------------------------------------------------------------------------
def _positive(value, name):
    v = to_exact(value, name)
    if v.is_number and not v.is_positive:
        raise ValueError(f"{name} must be > 0, got {value!r}")
    return v


def marchenko_pastur(ratio=1, variance=1) -> SymbolicLaw:
    r"""Marchenko-Pastur law of :math:`W^T W`, :math:`S(y) = 1/(v (1 + c y))`.

    ``ratio`` :math:`c` and ``variance`` :math:`v` may be numbers or symbols (strings become symbols).
    Edges :math:`v(1 \pm \sqrt c)^2`; atom :math:`1 - 1/c` at 0 when :math:`c > 1`.
    """
    c, v = _positive(ratio, "ratio"), _positive(variance, "variance")
    atoms = ((sp.Integer(0), 1 - 1 / c),) if (c.is_number and c > 1) else ()
    return _make_law(f"MarchenkoPastur(ratio={c}, variance={v})", (("ratio", c), ("variance", v)), v,
                     _s * v * (1 + c * y) - 1, "S", atoms=atoms, nonnegative=True)


def free_poisson(rate=1, jump=1) -> SymbolicLaw:
    r"""Free Poisson law with rate :math:`\lambda` and jump size :math:`\alpha`:
    :math:`R(w) = \lambda\alpha/(1 - \alpha w)` (= Marchenko-Pastur with :math:`c = 1/\lambda`,
    :math:`v = \lambda\alpha`)."""
    lam, a = _positive(rate, "rate"), _positive(jump, "jump")
    atoms = ((sp.Integer(0), 1 - lam),) if (lam.is_number and lam < 1) else ()
    return _make_law(f"FreePoisson(rate={lam}, jump={a})", (("rate", lam), ("jump", a)), lam * a,
                     _r * (1 - a * w) - lam * a, "R", atoms=atoms, nonnegative=True)


def haar_orthogonal(scale=1) -> SymbolicLaw:
    r"""Law of :math:`W^T W` for :math:`W = \sqrt{scale}\, Q`, Q Haar orthogonal: the atom
    :math:`\delta_{scale}`, :math:`S = 1/scale`."""
    a = _positive(scale, "scale")
    return atomic([a], [1], name=f"HaarOrthogonal(scale={a})")


def semicircle(variance=1, center=0) -> SymbolicLaw:
    r"""Wigner semicircle, :math:`R(w) = a + v w`, support :math:`a \pm 2\sqrt v`.

    Its S-transform exists only when the center :math:`a \ne 0` (``S`` is ``None`` otherwise).
    """
    v, a = _positive(variance, "variance"), to_exact(center, "center")
    return _make_law(f"Semicircle(variance={v}, center={a})", (("variance", v), ("center", a)), a,
                     _r - a - v * w, "R", nonnegative=bool((a - 2 * sp.sqrt(v)).is_nonnegative))


def atomic(values, probs, *, name: str | None = None) -> SymbolicLaw:
    r"""Finitely supported law :math:`\sum_i p_i \delta_{v_i}`; :math:`G = \sum_i p_i/(z - v_i)`.

    Probabilities may be symbols (e.g. ``[1 - p, p]``); numeric ones must be > 0 and sum to 1.
    """
    vals = [to_exact(v, "values") for v in values]
    prs = [to_exact(q, "probs") for q in probs]
    if len(vals) != len(prs) or not vals:
        raise ValueError("values and probs must be non-empty and of equal length")
    total = sp.simplify(sum(prs))
    if total.is_number and total != 1:
        raise ValueError(f"probs must sum to 1, got {total}")
    merged: dict = defaultdict(lambda: sp.Integer(0))
    for v, q in zip(vals, prs, strict=True):
        if q.is_number and q < 0:
            raise ValueError(f"probs must be >= 0, got {q}")
        merged[v] += q
    merged = {v: q for v, q in merged.items() if q != 0}
    G = sp.together(sum(q / (z - v) for v, q in merged.items()))
    mean = sp.expand(sum(q * v for v, q in merged.items()))
    num, den = sp.fraction(G)
    name = name or f"Atomic(values={list(merged)}, probs={list(merged.values())})"
    return _make_law(name, (("values", tuple(merged)), ("probs", tuple(merged.values()))), mean,
                     _g * den - num, "G", atoms=tuple(merged.items()), explicit={"G": G},
                     nonnegative=all(bool(v.is_nonnegative) for v in merged))


def bernoulli(prob=p, value=1) -> SymbolicLaw:
    r"""Bernoulli law :math:`(1-p)\delta_0 + p\,\delta_{value}`, :math:`S(y) = (1+y)/(value\,(p + y))`."""
    q = to_exact(prob, "prob")
    return atomic([0, value], [1 - q, q], name=f"Bernoulli(p={q}, value={to_exact(value, 'value')})")


# ---------------------------------------------------------------------------------------------------------
# free products and sums
# ---------------------------------------------------------------------------------------------------------
def _normalise_terms(terms) -> list[tuple[SymbolicLaw, sp.Expr]]:
    out = []
    for t in terms:
        law, n = (t, sp.Integer(1)) if isinstance(t, SymbolicLaw) else (t[0], to_exact(t[1], "multiplicity"))
        if not isinstance(law, SymbolicLaw):
            raise TypeError(f"expected SymbolicLaw or (SymbolicLaw, multiplicity), got {type(law).__name__}")
        if n.is_number and (not n.is_integer or n < 1):
            raise ValueError(f"multiplicities must be integers >= 1 or symbols, got {n}")
        out.append((law, n))
    if not out:
        raise ValueError("at least one law is needed")
    return out


def _combine_curve(terms, kind: str, mean: sp.Expr):
    """Curve of the free product (kind S) or sum (kind R): eliminate the factors' values by resultants."""
    if any(not n.is_number for _, n in terms):
        return None
    dep, ind = _DEP[kind], _IND[kind]
    target = sp.Integer(1) if kind == "S" else sp.Integer(0)
    aux = []
    for law, n in terms:
        t_expl = law.transform(kind)
        if t_expl is not None and t_expl.is_rational_function(ind):
            target = target * t_expl**n if kind == "S" else target + n * t_expl
            continue
        if law.m_curve is None:
            return None
        t, u = sp.Dummy("t"), sp.Dummy("u")
        f = law.curve(kind).subs(dep, t)
        fu = sp.resultant(f, _numerator(u - t**n), t) if kind == "S" else _numerator(f.subs(t, u / n))
        aux.append((u, sp.expand(fu)))
        target = target * u if kind == "S" else target + u
    expr = sp.expand(_numerator(dep - target))
    for u, fu in aux:
        expr = sp.expand(sp.resultant(expr, fu, u))
    return _convert_curve(expr, kind, "M", mean)


def _product_atoms(a_atoms, b_atoms):
    """Atoms of a free multiplicative convolution of laws on [0, inf) (Bercovici-Voiculescu):
    mass at 0 is max of the masses at 0; mass at ab is mu(a) + nu(b) - 1 where positive."""
    out = {}
    a0 = sum((q for v, q in a_atoms if v == 0), sp.Integer(0))
    b0 = sum((q for v, q in b_atoms if v == 0), sp.Integer(0))
    if (a0 != 0 or b0 != 0) and a0.is_number and b0.is_number:
        out[sp.Integer(0)] = max(a0, b0)
    for va, qa in a_atoms:
        for vb, qb in b_atoms:
            mass = qa + qb - 1
            if va != 0 and vb != 0 and mass.is_number and mass > 0:
                out[sp.expand(va * vb)] = out.get(sp.expand(va * vb), 0) + mass
    return tuple(out.items())


def _continuous_or_atoms(law):
    return law.atoms if law.atoms else ((sp.Integer(0), sp.Integer(0)),)


def free_product(*terms, name: str | None = None) -> SymbolicLaw:
    r"""Free multiplicative convolution :math:`S = \prod_i S_i^{n_i}`.

    ``terms`` are laws or ``(law, n)`` with ``n`` an integer or a symbol such as :data:`L`.  With integer
    multiplicities the spectral curve :math:`P(z, m)` is derived (resultants for algebraic factors); with a
    symbolic one only ``S``, the moments and (for rational factors) the edges are available.
    """
    terms = _normalise_terms(terms)
    mean = sp.Integer(1)
    S = sp.Integer(1)
    for law, n in terms:
        if law.mean == 0:
            raise ValueError(f"{law.name} has m_1 = 0: no S-transform, free products need m_1 != 0")
        mean *= law.mean**n
        S = None if (S is None or law.S is None) else S * law.S**n
    zf = None
    if S is not None:
        fp = _factor_powers(S, y)
        S = S if fp is None else _rebuild(*fp)
        zf = _z_of_m_factored(S)
    if zf is not None and all(n.is_number for _, n in terms):
        curve = _curve_from_factored(*zf)  # z B(m) - A(m), gcd(A, B) = 1: irreducible, never expanded
    else:
        curve = _combine_curve(terms, "S", mean)
    atoms: tuple = ()
    if all(n.is_number for _, n in terms) and any(law.atoms for law, _ in terms):
        acc = None
        for law, n in terms:
            for _ in range(int(n)):
                here = _continuous_or_atoms(law)
                acc = here if acc is None else _product_atoms(acc, here)
        atoms = tuple((v, q) for v, q in acc if q != 0)
    name = name or " ⊠ ".join(f"{law.name}^{n}" if n != 1 else law.name for law, n in terms)
    explicit = {"S": S}
    if curve is None:
        explicit.update(G=None, R=None)
    law = _make_law(name, (("terms", tuple((t.name, n) for t, n in terms)),), mean, curve, "M",
                    atoms=atoms, explicit=explicit, factors=terms, irreducible=zf is not None,
                    nonnegative=all(t.nonnegative for t, _ in terms))
    return law


def free_sum(*terms, name: str | None = None) -> SymbolicLaw:
    r"""Free additive convolution :math:`R = \sum_i n_i R_i` (``n`` integer: the ``n``-fold free sum)."""
    terms = _normalise_terms(terms)
    mean = sp.expand(sum(n * law.mean for law, n in terms))
    R = None
    if all(law.R is not None for law, _ in terms):
        R = sp.together(sum(n * law.R for law, n in terms))
    curve = _combine_curve(terms, "R", mean)
    name = name or " ⊞ ".join(f"{n}·{law.name}" if n != 1 else law.name for law, n in terms)
    explicit = {"R": R}
    if curve is None:
        explicit.update(G=None, S=None)
    return _make_law(name, (("terms", tuple((t.name, n) for t, n in terms)),), mean, curve, "M",
                     explicit=explicit, summands=terms, nonnegative=all(t.nonnegative for t, _ in terms))


# ---------------------------------------------------------------------------------------------------------
# factored rational functions with symbolic exponents: z(m) = (1+m)/(m S(m))
# ---------------------------------------------------------------------------------------------------------
def _factor_powers(expr: sp.Expr, var: sp.Symbol):
    """``expr = const * prod f**e``, ``f`` irreducible polynomials in ``var``, exponents possibly symbolic.

    Returns ``None`` if some factor is not a rational function of ``var`` raised to a power.
    """
    const = sp.Integer(1)
    facs: dict = defaultdict(lambda: sp.Integer(0))
    for arg in sp.Mul.make_args(expr):
        base, e = arg.as_base_exp()
        if var not in base.free_symbols:
            const *= arg
            continue
        if not base.is_rational_function(var):
            return None
        num, den = sp.fraction(sp.together(base))
        for part, sign in ((num, 1), (den, -1)):
            c, flist = sp.factor_list(part, var)
            const *= c ** (sign * e)
            for f, k in flist:
                lc = sp.Poly(f, var).LC()
                if lc.is_number and lc < 0:  # primitive factors with a positive leading coefficient
                    f, const = sp.expand(-f), const * (-1) ** (sign * k * e)
                facs[f] += sign * k * e
    return const, {f: sp.expand(e) for f, e in facs.items() if e != 0}


def _degree(expr, var) -> int:
    """Degree of a polynomial expression in ``var`` without expanding it (sums, products, integer powers)."""
    if var not in expr.free_symbols:
        return 0
    if expr == var:
        return 1
    if expr.is_Add:
        return max(_degree(a, var) for a in expr.args)
    if expr.is_Mul:
        return sum(_degree(a, var) for a in expr.args)
    if expr.is_Pow and expr.exp.is_Integer and expr.exp > 0:
        return int(expr.exp) * _degree(expr.base, var)
    return sp.Poly(expr, var).degree()


def _split_factored(const, facs):
    """``z = A/B`` from the factored form, with ``A`` and ``B`` coprime products of the factors."""
    num = const * sp.Mul(*(f**e for f, e in facs.items() if _sign_of(e) > 0))
    den = sp.Mul(*(f ** (-e) for f, e in facs.items() if _sign_of(e) < 0))
    return num, den


def _curve_from_factored(const, facs):
    """The spectral curve ``z B(m) - A(m)`` (a polynomial in z and m for integer exponents, unexpanded)."""
    num, den = _split_factored(const, facs)
    return z * den - num


def _rebuild(const, facs):
    return const * sp.Mul(*(f**e for f, e in facs.items()))


def _sign_of(e) -> int:
    """Sign of an exponent, evaluated at the sample depths when it is symbolic."""
    if e.is_number:
        return int(sp.sign(e))
    signs = {int(sp.sign(e.subs(_sample_subs([e], i)))) for i in range(len(_DEPTH_SAMPLES))}
    if len(signs) != 1:
        raise ValueError(f"exponent {e} changes sign over the sample depths")
    return signs.pop()


# ---------------------------------------------------------------------------------------------------------
# physical sheet: density by continuation from z = x + i*inf
# ---------------------------------------------------------------------------------------------------------
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
# edges
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


def _z_of_m_factored(S):
    fp = _factor_powers(sp.sympify(S).subs(y, m), m)
    if fp is None:
        return None
    const, facs = fp
    facs = defaultdict(lambda: sp.Integer(0), {f: -e for f, e in facs.items()})
    facs[sp.expand(1 + m)] += 1
    facs[m] -= 1
    return 1 / const, {f: sp.expand(e) for f, e in facs.items() if e != 0}


def _edges_rational(law: SymbolicLaw) -> _EdgeData:
    r"""Edges from the critical points of :math:`z(m) = C \prod_f f(m)^{e_f}` (log-derivative: degree
    independent of the depth), plus :math:`z = 0` where :math:`z(m)` has a multiple zero."""
    const, facs = _z_of_m_factored(law.S)
    num, den = _split_factored(const, facs)
    equation = sp.Eq(z * den, num)
    dlog = sp.together(sum(e * sp.diff(f, m) / f for f, e in facs.items()))
    crit = sp.expand(sp.numer(dlog))
    candidates = []  # (m_c, z_c) symbolic
    if crit.has(m):
        for mc in sp.solve(crit, m) if _free_params(crit) else _real_algebraic_roots(crit, m):
            zc = const * sp.Mul(*(f.subs(m, mc) ** e for f, e in facs.items()))
            candidates.append(zc)
    for e in facs.values():
        if _sign_of(e) > 0 and _sign_of(e - 1) > 0:  # multiple zero of z(m): edge at 0 (Fuss-Catalan type)
            candidates.append(sp.Integer(0))
            break
    if sp.simplify(sum(e * sp.degree(f, m) for f, e in facs.items())) == 0:  # critical point at m = infinity
        candidates.append(const * sp.Mul(*(sp.Poly(f, m).LC() ** e for f, e in facs.items())))
    return _filter_physical(law, candidates, _log_residual, (const, facs), equation,
                            "critical points of z(m)")


def _real_algebraic_roots(poly_expr, var):
    out = []
    if not _free_params(poly_expr) and any(a.is_Float for a in sp.preorder_traversal(poly_expr)):
        return [sp.Float(r.real, 30) for r in _roots_numeric(poly_expr, var) if abs(r.imag) < 1e-12]
    _, factors = sp.factor_list(poly_expr, var)
    for f, _ in factors:
        if not f.has(var):
            continue
        poly = sp.Poly(f, var)
        if poly.degree() <= 2:
            out.extend(r for r in sp.roots(poly) if r.is_real)
        else:
            out.extend(poly.real_roots())
    return out


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


def _edges_curve(law: SymbolicLaw) -> _EdgeData:
    """Edges from the real roots of the discriminant of the curve P(z, m) in m (any algebraic law)."""
    P = law.m_curve
    equation = sp.Eq(P, 0)
    if _free_params(P):
        return _EdgeData((), (), equation, "discriminant", "edges need numeric parameters for this law")
    disc = sp.discriminant(P, m)
    candidates = _real_algebraic_roots(disc, z) if disc.has(z) else []
    return _filter_physical(law, candidates, _poly_residual, (P,), equation, "real roots of disc_m P")


def exact_edges(law: SymbolicLaw):
    """Exact support edges of ``law``'s continuous part.

    Returns
    -------
    edges : tuple of sympy.Expr
        Algebraic numbers (radicals or ``CRootOf``), or expressions in the law's symbols.
    numeric : tuple of float
        Their values (empty when the edges contain free symbols).
    """
    data = _edge_data(law)
    return data.edges, data.numeric


def _edge_data(law: SymbolicLaw) -> _EdgeData:
    if "edges" not in law._cache:
        if law.S is not None and law.mean != 0 and _z_of_m_factored(law.S) is not None:
            law._cache["edges"] = _edges_rational(law)
        elif law.m_curve is not None:
            law._cache["edges"] = _edges_curve(law)
        else:
            law._cache["edges"] = _EdgeData((), (), None, "none", "no algebraic curve (symbolic depth)")
    return law._cache["edges"]


# ---------------------------------------------------------------------------------------------------------
# networks
# ---------------------------------------------------------------------------------------------------------
_FALLBACK_PIECES = {
    "linear": lambda: ((-math.inf, math.inf, 1.0),),
    "relu": lambda: ((-math.inf, 0.0, 0.0), (0.0, math.inf, 1.0)),
    "hard_tanh": lambda: ((-math.inf, -1.0, 0.0), (-1.0, 1.0, 1.0), (1.0, math.inf, 0.0)),
}
_SMOOTH = {"tanh", "erf", "sigmoid", "selu", "elu", "gelu", "swish", "silu", "softplus", "sin"}
_NUMERIC_ROUTE = ("use the numeric route instead: `spectral density ...` or "
                  "`spectral.jacobian_law(net).moments(k)`")


def _resolve_activation(activation):
    """(name, pieces, exact parameter values) from an Activation, a registry spec or a fallback name."""
    from spectral.activations import activation as _make

    if not hasattr(activation, "pieces"):
        try:
            activation = _make(activation)
        except (ValueError, TypeError, KeyError, ArithmeticError) as exc:  # e.g. leaky_relu(1e999999) overflows
            raise ValueError(f"activation={activation!r}: {exc}") from exc
    if hasattr(activation, "pieces"):
        exact = [to_exact(v, "param") for _, v in getattr(activation, "params", ())
                 if isinstance(v, int | float | Fraction | sp.Basic)]
        return activation.name, activation.pieces, exact
    if not isinstance(activation, str):
        raise TypeError(f"activation must be a name or an Activation, got {type(activation).__name__}")
    name = activation.replace("-", "_").strip()
    if name.startswith("leaky_relu"):
        inner = name[len("leaky_relu"):].strip("()").replace("alpha=", "") or "0.01"
        alpha = to_exact(inner, "alpha")
        return (f"leaky_relu(alpha={alpha})", ((-math.inf, 0.0, float(alpha)), (0.0, math.inf, 1.0)), [alpha])
    if name in _FALLBACK_PIECES:
        return name, _FALLBACK_PIECES[name](), []
    if name in _SMOOTH:
        return name, None, []
    raise ValueError(f"unknown activation {activation!r}; closed forms exist for linear, relu, "
                     "leaky_relu(alpha), hard_tanh")


def _exact_slope(value: float, exact: list) -> sp.Expr:
    for cand in exact:
        for c in (cand, -cand):
            if c.is_number and abs(float(c) - value) <= 1e-15 * max(1.0, abs(value)):
                return c
    return to_exact(float(value), "slope")


def d2_law(activation, *, prob=None, q_star=None) -> SymbolicLaw:
    r"""Law of :math:`D^2 = \phi'(\sqrt{q^*} Z)^2` for an activation with piecewise-constant :math:`\phi'`.

    ReLU: Bernoulli(1/2); leaky ReLU(alpha): :math:`\{\alpha^2, 1\}` w.p. 1/2 each; linear: :math:`\delta_1`;
    hard-tanh: Bernoulli(p) with :math:`p = \operatorname{erf}(1/\sqrt{2 q^*})`, kept as the symbol :data:`p`
    unless ``prob`` or ``q_star`` is given.

    Raises
    ------
    NoClosedFormError
        For smooth activations (tanh, erf, sigmoid, ...), whose :math:`D^2` law has no closed form.
    """
    name, pieces, exact = _resolve_activation(activation)
    if pieces is None and q_star is not None and to_exact(q_star, "q_star") == 0:
        return _point_mass_d2(activation, name)
    if pieces is None:
        raise NoClosedFormError(
            f"activation {name!r}: phi' is not piecewise constant, so the law of D^2 has no closed form and "
            f"the symbolic engine (linear, relu, leaky_relu, hard_tanh) cannot treat it; {_NUMERIC_ROUTE}")
    masses: dict = defaultdict(lambda: sp.Integer(0))
    for lo, hi, slope in pieces:
        def cdf(t):
            if math.isinf(t):
                return sp.Integer(1) if t > 0 else sp.Integer(0)
            return (1 + sp.erf(to_exact(t, "kink") / sp.sqrt(2 * _q))) / 2
        masses[_exact_slope(slope, exact) ** 2] += cdf(hi) - cdf(lo)
    masses = {v: sp.simplify(q) for v, q in masses.items()}
    masses = {v: q for v, q in masses.items() if q != 0}
    if any(q.has(_q) for q in masses.values()):
        if q_star is not None:
            qs = _positive(q_star, "q_star")
            masses = {v: sp.simplify(q.subs(_q, qs)) for v, q in masses.items()}
        else:
            if len(masses) != 2:
                raise NoClosedFormError(f"activation {name!r}: D^2 has {len(masses)} q-dependent atoms; "
                                        f"give q_star; {_NUMERIC_ROUTE}")
            top = max(masses, key=lambda v: float(v))
            prob_val = p if prob is None else to_exact(prob, "p")
            if prob_val.is_number and not 0 < prob_val <= 1:
                raise ValueError(f"p must lie in (0, 1], got {prob_val}")
            masses = {v: (prob_val if v == top else 1 - prob_val) for v in masses}
    elif prob is not None:
        raise ValueError(f"p is only meaningful for activations whose D^2 law depends on q* (got {name!r})")
    law = atomic(list(masses), list(masses.values()), name=f"D^2[{name}]")
    return law


def weight_law(weights: str, sigma_w2=1, *, ratio=1) -> SymbolicLaw:
    r"""Law of :math:`W^T W`: ``"gaussian"`` -> Marchenko-Pastur(ratio, sigma_w2); ``"orthogonal"`` ->
    :math:`\delta_{\sigma_w^2}`."""
    if weights == "gaussian":
        return marchenko_pastur(ratio, sigma_w2)
    if weights == "orthogonal":
        if to_exact(ratio, "ratio") != 1:
            raise ValueError("ratio != 1 is only supported for gaussian weights")
        return haar_orthogonal(sigma_w2)
    raise ValueError(f"weights must be 'gaussian' or 'orthogonal', got {weights!r}")


def _parse_depth(depth):
    if isinstance(depth, sp.Symbol):
        return depth
    if isinstance(depth, str):
        depth = parse_depth(depth, "depth")  # digits or a symbol name, never evaluated
        if isinstance(depth, str):
            return L if depth == "L" else sp.Symbol(depth, positive=True, integer=True)
    if isinstance(depth, bool) or not isinstance(depth, int | np.integer | sp.Integer):
        raise TypeError(f"depth must be an integer >= 1 or a symbol, got {depth!r}")
    d = sp.Integer(int(depth))
    if d < 1:
        raise ValueError(f"depth must be >= 1, got {depth}")
    return d


@dataclass(frozen=True)
class SymbolicResult:
    r"""Exact description of the spectrum of :math:`J J^T` for a uniform network.

    Attributes
    ----------
    activation, weights : str
    sigma_w2, sigma_b2, depth : sympy.Expr
        Exact inputs (``depth`` may be the symbol :data:`L`).
    d2, weight, law : SymbolicLaw
        Laws of :math:`D^2`, :math:`W^T W` and :math:`J J^T`.
    s_transform : sympy.Expr
        :math:`S_J(y) = (S_{D^2}(y) S_{W^TW}(y))^L`.
    equation : sympy.Eq or None
        The spectral curve in ``m = M(z)``: ``z * B(m) = A(m)`` (factored) for rational :math:`S_J`,
        ``P(z, m) = 0`` otherwise.
    edges : tuple of sympy.Expr
        Exact support edges on the physical sheet; ``edges_numeric`` their float values.
    atoms : tuple of (location, mass)
    diagnostics : tuple of (str, str)
        Method used and how the physical sheet was checked.
    """

    activation: str
    weights: str
    sigma_w2: Any
    sigma_b2: Any
    depth: Any
    d2: SymbolicLaw
    weight: SymbolicLaw
    law: SymbolicLaw
    s_transform: Any
    equation: Any
    edges: tuple
    edges_numeric: tuple
    atoms: tuple
    diagnostics: tuple[tuple[str, str], ...] = ()

    @cached_property
    def polynomial(self):
        """The curve as a polynomial :math:`P(z, m)` (expanded; integer depth only)."""
        if self.law.m_curve is not None:
            return self.law.m_curve
        if self.equation is None or not self.depth.is_number:
            return None
        return sp.expand(self.equation.lhs - self.equation.rhs)

    @cached_property
    def discriminant(self):
        """Discriminant of :math:`P(z, m)` in ``m`` (a polynomial in ``z``; costly for deep networks)."""
        P = self.polynomial
        return None if P is None else sp.factor(sp.discriminant(P, m))

    def moments(self, k: int) -> list:
        """Exact moments :math:`m_1..m_k` of :math:`J J^T`."""
        return self.law.moments(k)

    def to_dict(self, latex: bool = False, k: int = 5) -> dict:
        """CLI payload: ``s_transform``, ``equation``, ``edges`` and ``moments`` as strings (sympy syntax,
        or LaTeX with ``latex=True``)."""
        fmt = sp.latex if latex else sp.sstr
        return {
            "s_transform": fmt(self.s_transform),
            "equation": None if self.equation is None else fmt(self.equation),
            "edges": [fmt(e) for e in self.edges],
            "moments": [fmt(mk) for mk in self.moments(k)],
        }


def _point_mass_d2(activation, name) -> SymbolicLaw:
    r"""At :math:`q^* = 0` every pre-activation is 0, so :math:`D^2 = \phi'(0)^2` exactly (a point mass), for any
    activation: the exact :math:`\phi'(0)` comes from its sympy expression."""
    from spectral.activations import X
    from spectral.activations import activation as _make

    act = _make(activation)
    if act.expr is None:
        raise NoClosedFormError(f"activation {name!r} has no sympy expression for phi'(0); {_NUMERIC_ROUTE}")
    slope = sp.nsimplify(sp.diff(act.expr, X).subs(X, 0))
    return atomic([slope ** 2], [sp.Integer(1)], name=f"D^2[{name}]")


def _q_star_zero(activation, sw2, sb2) -> bool:
    """Whether the mean field of a smooth activation sits at q* = 0 (sigma_b2 = 0 in the ordered phase)."""
    if not (sw2.is_number and sb2 == 0):
        return False
    from spectral.meanfield import mean_field

    return mean_field(activation, float(sw2), 0.0).q_star == 0


def symbolic_network(activation, weights: str = "gaussian", sigma_w2=1, depth=1, sigma_b2=0, *,
                     p=None, q_star=None, ratio=1) -> SymbolicResult:
    r"""Symbolic spectrum of :math:`J J^T` for a depth-``depth`` network at initialization.

    Parameters
    ----------
    activation : str or Activation
        One with piecewise-constant :math:`\phi'`: ``linear``, ``relu``, ``leaky_relu(alpha)``,
        ``hard_tanh``.  Others raise :class:`NoClosedFormError`.
    weights : {"gaussian", "orthogonal"}
    sigma_w2 : number, decimal string or symbol name
        Decimals are read exactly (``"1.05"`` -> 21/20); a name such as ``"sigma_w2"`` becomes a symbol.
    depth : int >= 1 or symbol (``"L"``)
        With a symbolic depth the S-transform, moments and (rational cases) edges are given as functions of
        ``L``; the polynomial curve needs an integer depth.
    sigma_b2 : number
        Bias variance; it enters only through :math:`q^*` (hard-tanh), see ``p``/``q_star``.
    p, q_star : optional
        Hard-tanh only: the Bernoulli parameter :math:`p = \operatorname{erf}(1/\sqrt{2 q^*})` or
        :math:`q^*` itself; by default ``p`` stays a symbol.  ``p="auto"`` takes :math:`q^*` from
        :func:`spectral.meanfield.mean_field` at (``sigma_w2``, ``sigma_b2``) (a float).
    ratio : number or symbol
        Aspect ratio of Gaussian layers (Marchenko-Pastur ratio; square layers = 1).

    Examples
    --------
    >>> r = symbolic_network("relu", "gaussian", 2, 1)
    >>> r.edges
    (3 - 2*sqrt(2), 2*sqrt(2) + 3)
    """
    sw2 = _positive(sigma_w2, "sigma_w2")
    sb2 = to_exact(sigma_b2, "sigma_b2")
    if sb2.is_number and sb2 < 0:
        raise ValueError(f"sigma_b2 must be >= 0, got {sigma_b2!r}")
    depth = _parse_depth(depth)
    if isinstance(p, str) and p == "auto":
        from spectral.meanfield import mean_field

        if not (sw2.is_number and sb2.is_number):
            raise ValueError("p='auto' needs numeric sigma_w2 and sigma_b2")
        q_star, p = sp.Float(mean_field(activation, float(sw2), float(sb2)).q_star, 17), None
    if q_star is None and p is None and _resolve_activation(activation)[1] is None and _q_star_zero(activation, sw2,
                                                                                                    sb2):
        q_star = 0  # the ordered phase at sigma_b2 = 0: D^2 is the point mass phi'(0)^2
    d2 = d2_law(activation, prob=p, q_star=q_star)
    wl = weight_law(weights, sw2, ratio=ratio)
    law = free_product((d2, depth), (wl, depth), name=f"JJ^T[{d2.name}, {weights}, L={depth}]")
    try:
        data = _edge_data(law)
    except NoClosedFormError:
        raise
    except (ArithmeticError, ValueError) as exc:  # the float check of the physical sheet (scales sigma_w^(2L))
        raise ValueError(f"depth={depth}: the exact edges could not be checked on the physical sheet in double "
                         f"precision ({exc}); give a symbolic depth such as 'L' for deep networks") from exc
    diagnostics = (("edge_method", data.method), ("physical_sheet", data.note))
    if d2.mean.has(p):
        diagnostics += (("p", "p = erf(1/sqrt(2 q*)), the probability that |h| < 1 at the fixed point q*"),)
    return SymbolicResult(
        activation=d2.name[4:-1], weights=weights, sigma_w2=sw2, sigma_b2=sb2, depth=depth, d2=d2, weight=wl,
        law=law, s_transform=law.S, equation=data.equation, edges=data.edges, edges_numeric=data.numeric,
        atoms=law.atoms, diagnostics=diagnostics,
    )
