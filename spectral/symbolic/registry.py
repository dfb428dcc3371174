"""Closed-form laws: Marchenko-Pastur, free Poisson, Haar orthogonal, semicircle, atomic, Bernoulli, W^T W."""

from __future__ import annotations

from collections import defaultdict

import sympy as sp

from .law import SymbolicLaw, _make_law
from .params import _g, _positive, _r, _s, p, to_exact, w, y, z


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
