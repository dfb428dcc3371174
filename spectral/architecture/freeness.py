r"""Where a spec's free-probability law is not exact: diagonal factors that meet on the residual stream.

The law of a spec (:mod:`spectral.architecture.jacobian`) multiplies its factors' laws as if they were free.
A Dense (or Conv) layer's weights make the factors on either side free; a diagonal factor
:math:`D = \operatorname{diag}\phi'(h)` is free from another one only if such a layer stands between them *on
every path* of the expansion of :math:`J J^T`.  A residual block :math:`\alpha I + \beta X` opens an identity
path: in :math:`J = D_2 (I + \beta W D_1)` (a block whose branch starts with an activation, then an activation
after the block), :math:`J J^T` contains :math:`\beta D_2 D_1 W^T D_2`, where :math:`D_1 = \phi'(x)` and
:math:`D_2 = \phi'(x + \beta W\phi(x))` are diagonal in the same basis with correlated entries.  The free law
is then not the network's: sampled at width 256, critical tanh (:math:`\sigma_w^2 = 1.5` first layer,
:math:`\alpha = \beta = 1`), :math:`m_2` is 11% and :math:`m_3` 23% above it (z = 6.5 and 9.1 over 48
networks) while the free model agrees within 1%; two pre-activation blocks in a row (TAT tanh, shortcut
weight 0.9) measure 12%, 9%, 7% at N = 128, 256, 512.  Branches that start and end with a Dense layer agree
(1-3%, z < 2.2).

The rule, exact for the factor structure: cut the spec at its Dense/Conv layers (top level and, recursively,
inside branches); a residual block with :math:`\alpha > 0` does not cut (its identity path joins what is before
and after it), and contributes the activations of its branch that stand before the branch's first, or after
its last, Dense layer (all of them if it has none); normalisations (a scale times a near-identity projection)
do not cut.  No two activations of a piece may meet, except the two ends of one branch: in
:math:`X = D_2 W D_1` they meet only in moments like :math:`\operatorname{tr} X X`, which the weights make
:math:`O(1/N)` (measured: one block ``[tanh, Dense, tanh]``, m_2 within 0.7%, z = 1.1).  A plain chain
``[Dense, activation] * L`` has one activation per piece; residual blocks whose branches start and end with a
Dense layer add none.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..density import UncertifiedDensityWarning
from .conv import Conv
from .layers import Dense, Nonlinearity, Repeat, Residual, Sequential

__all__ = ["NotFreeWarning", "shared_diagonals", "not_free_reason"]


class NotFreeWarning(UncertifiedDensityWarning):
    """The spec's law treats as free two diagonal factors that are not (module docstring): its moments and
    density are those of the free model, not of the network, and no density of it is certified."""


@dataclass
class _Pieces:
    """Activations of a sequence of entries, as (tag, end, path) items: before its first cut, after its last
    one, whether it has one, and the piece being read."""

    first: list = field(default_factory=list)
    last: list = field(default_factory=list)
    cut: bool = False
    current: list = field(default_factory=list)


def _meet(piece: list) -> bool:
    """Whether two activations of a piece meet: any two, except the two ends of one block's branch (they meet
    only in moments such as tr(X X), which the weights between them make O(1/N))."""
    return any(a[0] != b[0] or a[1] == b[1] for i, a in enumerate(piece) for b in piece[i + 1:])


class _Scanner:
    """Walks a spec; the pieces whose activations meet go to ``shared`` (paths), each activation tagged by
    its own number or, for a branch's ends, by its block's."""

    def __init__(self):
        self.shared: list = []
        self.tags = 0

    def tag(self) -> int:
        self.tags += 1
        return self.tags

    def close(self, p: _Pieces) -> None:
        if not p.cut:
            p.first, p.cut = list(p.current), True
        elif _meet(p.current):
            self.shared.append(tuple(item[2] for item in p.current))
        p.current = []

    def scan(self, entries, where: str) -> _Pieces:
        p = _Pieces()
        self.walk(p, entries, where)
        if p.cut:
            p.last = p.current
        else:
            p.first = p.last = p.current
        return p

    def walk(self, p: _Pieces, items, path: str) -> None:
        for i, e in enumerate(items):
            here = f"{path}[{i}]"
            if isinstance(e, Dense | Conv):
                self.close(p)
            elif isinstance(e, Nonlinearity):
                p.current.append((self.tag(), "", here))
            elif isinstance(e, Repeat):
                for _ in range(e.times):
                    self.walk(p, e.layers, f"{here}.repeat.layers")
            elif isinstance(e, Residual):
                self.residual(p, e, here)

    def residual(self, p: _Pieces, e: Residual, here: str) -> None:
        sub = self.scan(e.branch, f"{here}.residual.branch")
        if float(e.alpha) == 0:  # no identity path: the branch is a plain sequence here
            p.current += sub.first
            if sub.cut:
                self.close(p)
                p.current = list(sub.last)
            return
        t = self.tag()
        p.current += [(t, "in", item[2]) for item in sub.first]
        p.current += [(t, "out", item[2]) for item in sub.last] if sub.cut else []


def shared_diagonals(spec: Sequential) -> list[tuple[str, ...]]:
    """The groups of activations (paths in the spec, repeats counted) that meet without a Dense layer between
    them on some path (module docstring); empty when the spec's law is exact."""
    if not isinstance(spec, Sequential):
        raise TypeError(f"spec must be a spectral.Sequential, got {type(spec).__name__}")
    scanner = _Scanner()
    p = scanner.scan(spec.layers, "layers")
    # J J^T joins the output ends of J and J^T, and the input ends: those pieces count like inner ones
    for ends in ((p.first,) if not p.cut else (p.first, p.last)):
        if _meet(ends):
            scanner.shared.append(tuple(item[2] for item in ends))
    return scanner.shared


def not_free_reason(spec: Sequential) -> str | None:
    """Why the spec's law is not exact (None when it is): the first group of activations that meet."""
    shared = shared_diagonals(spec)
    if not shared:
        return None
    group = sorted(set(shared[0]))
    return (f"the law treats as free activations that meet on the residual stream without a Dense layer between "
            f"them ({', '.join(group[:4])}{', ...' if len(group) > 4 else ''}: {len(shared)} such group(s)); its "
            "moments and density are the free model's, not the network's (start and end each residual branch "
            "with a Dense layer for an exact law)")
