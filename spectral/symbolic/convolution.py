"""Free products (S-transforms multiply) and free sums (R-transforms add) of symbolic laws."""

from __future__ import annotations

import sympy as sp

from .curves import _convert_curve, _numerator
from .factored import _curve_from_factored, _factor_powers, _rebuild, _z_of_m_factored
from .law import SymbolicLaw, _make_law
from .params import _DEP, _IND, to_exact, y


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
