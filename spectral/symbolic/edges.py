"""Exact support edges: the rational engine where S_J is rational, the algebraic engine otherwise."""

from __future__ import annotations

from .algebraic import _edges_curve
from .factored import _z_of_m_factored
from .law import SymbolicLaw
from .rational import _edges_rational
from .sheet import _EdgeData


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
