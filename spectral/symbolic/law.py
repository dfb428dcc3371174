"""The symbolic law: one algebraic curve, explicit branches where they exist, exact moments."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy as sp

from .curves import _check_kind, _convert_curve, _explicit_branch
from .expansions import free_cumulants, log_s_series, product_moments, sum_moments
from .factored import _degree
from .params import _IND, _free_params, m, z


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

    # -- series (spectral/symbolic/expansions.py) ------------------------------------------------------------
    def free_cumulants(self, k: int) -> list:
        r"""Free cumulants :math:`\kappa_1..\kappa_k` (:math:`R(w) = \sum \kappa_j w^{j-1}`)."""
        return free_cumulants(self, k)

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
            out = product_moments(self.mean, log_s_series(self, k), k)
        else:
            out = sum_moments(self.free_cumulants(k), k)
        self._cache[key] = tuple(out)
        return list(out)


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
