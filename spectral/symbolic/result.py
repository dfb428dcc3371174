"""The record returned by the symbolic engine for a network."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import sympy as sp

from .law import SymbolicLaw
from .params import m


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
