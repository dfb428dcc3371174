"""Baseline for ``bench_moments.py`` and ``tests/test_bookkeeping.py``: the layer grouping of
:class:`spectral.product.JacobianLaw` as it was before grouping by hashable keys, kept verbatim.

It builds the same free product, but it keys every layer's activation by ``getattr(act, "name", repr(act))``
(the default argument is evaluated, so every layer prints the activation's sympy expression), makes one
weight law per layer, and recomputes :meth:`exact_atoms` (a loop over all layers in exact fractions) on
every call.  The q-sequence is the former one too: the fixed point from the full
:func:`spectral.meanfield.mean_field` (chi_2, c*, depth scales and all) and the q-map for non-uniform
networks, without the width factor of widening orthogonal layers (so compare only networks without them).
"""

from __future__ import annotations

from collections import Counter
from fractions import Fraction

from spectral.laws import DerivativeLaw, FreeProduct, _DimensionChange, _exactify
from spectral.product import Network, _q_independent, _weight_law


def legacy_q_sequence(network: Network) -> tuple[float, ...]:
    """Pre-activation variances q^1..q^L by the former route."""
    layers = network.layers
    needs_q = not all(_q_independent(layer.activation) for layer in layers)
    q0 = network.q0
    if not needs_q:
        return (float(q0) if q0 is not None else 1.0,) * len(layers)
    from spectral import meanfield

    if q0 is None:
        first = layers[0]
        q0 = meanfield.mean_field(first.activation, float(first.sigma_w2), float(first.sigma_b2)).q_star
        if network.uniform:
            return (float(q0),) * len(layers)
    qs = [float(q0)]
    for prev, nxt in zip(layers[:-1], layers[1:], strict=True):
        qs.append(float(meanfield.q_map(prev.activation, qs[-1], float(nxt.sigma_w2), float(nxt.sigma_b2))))
    return tuple(qs)


class LegacyJacobianLaw(FreeProduct):
    """The former JacobianLaw: per-layer grouping by printed keys, uncached exact atoms."""

    def __init__(self, network: Network):
        self.network = network
        self.q = legacy_q_sequence(network)
        dims = network.widths
        self.dims = dims
        d2_cache: dict = {}
        d2_laws, w_laws, counts = [], [], Counter()
        n_last = dims[-1] if dims else None
        for l_idx, layer in enumerate(network.layers):
            act = layer.activation
            act_key = (getattr(act, "name", repr(act)), id(act))
            key = (act_key, 1.0 if _q_independent(act) else self.q[l_idx])
            if key not in d2_cache:
                sym = "p" if not d2_cache else f"p_{len(d2_cache) + 1}"
                d2_cache[key] = DerivativeLaw(act, key[1] if key[1] > 0 else 1e-300, p_symbol=sym)
            d_law = d2_cache[key]
            n_in = dims[l_idx] if dims else None
            n_out = dims[l_idx + 1] if dims else None
            w_law = _weight_law(layer, n_in, n_out)
            d2_laws.append(d_law)
            w_laws.append(w_law)
            d_scale = Fraction(n_last, n_out) if dims else 1
            w_scale = Fraction(n_last, n_in) if dims else 1
            counts[("d", id(d_law), d_scale)] += 1
            counts[("w", w_law.name, w_scale)] += 1
        lookup = {("d", id(x)): x for x in d2_laws} | {("w", x.name): x for x in w_laws}
        factors = [(lookup[(kind, ident)], mult, scale) for (kind, ident, scale), mult in counts.items()]
        if dims and dims[0] != dims[-1]:
            factors.append((_DimensionChange(Fraction(dims[0], dims[-1])), 1, 1))
        self.d2_laws = tuple(d2_laws)
        self.weight_laws = tuple(w_laws)
        layer0 = network.layers[0]
        name = (f"JJ^T[{getattr(layer0.activation, 'name', layer0.activation)}, {layer0.weights}, "
                f"sigma_w2={layer0.sigma_w2}, sigma_b2={layer0.sigma_b2}, depth={network.depth}]")
        super().__init__(factors, name=name)

    @property
    def symbol_values(self) -> dict:
        out = {}
        for law in self.d2_laws:
            out.update(law.symbol_values)
        return out

    def exact_atoms(self):
        layers = self.network.layers
        L = len(layers)
        dims = self.dims or (1,) * (L + 1)
        n0, n_last = dims[0], dims[-1]
        rank = Fraction(n0)
        for l_idx in range(L):
            atoms = self.d2_laws[l_idx].exact_atoms() or ()
            z = sum((p for a, p in atoms if a == 0), Fraction(0))
            n_l = dims[l_idx + 1]
            rank = min(rank, Fraction(n_l), n_l * (1 - z), key=float)
        out = []
        zero_mass = 1 - rank / n_last
        if float(zero_mass) > 0:
            out.append((0, zero_mass))
        if any(layer.weights != "orthogonal" for layer in layers):
            return tuple(out)
        budget = Fraction(n0) - sum(max(0, dims[i] - dims[i + 1]) for i in range(L))
        groups = Counter((id(self.d2_laws[i]), _exactify(layers[i].sigma_w2), dims[i + 1]) for i in range(L))
        laws_by_id = {id(x): x for x in self.d2_laws}
        options = []
        for (lid, s2, n_l), mult in groups.items():
            atoms = laws_by_id[lid].exact_atoms()
            nz = [(a, p) for a, p in atoms if a != 0]
            if not nz:
                return tuple(out)
            options.append([((s2 * a) ** mult, mult * n_l * (1 - p)) for a, p in nz])
        found: dict = {}

        def walk(i, loc, deficit):
            if float(deficit) >= float(budget):
                return
            if i == len(options):
                found[loc] = found.get(loc, 0) + (budget - deficit) / n_last
                return
            for a, d in options[i]:
                walk(i + 1, loc * a, deficit + d)

        walk(0, Fraction(1), Fraction(0))
        out.extend(sorted(found.items(), key=lambda t: float(t[0])))
        return tuple(out)
