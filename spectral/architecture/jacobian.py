r"""Spec -> spectral law of :math:`J J^T`.

The Jacobian of a spec is the product of its entries' Jacobians, :math:`J = A_n \cdots A_1`
(:mod:`spectral.architecture.meanfield` lists them): Dense :math:`W`, activation :math:`D = \operatorname{diag}
\phi'(h)`, normalisation :math:`c^{1/2}` times a projection, residual block :math:`\alpha I + \beta X`.
Each is invariant under rotations of its input and output (or diagonal and free from the rotation invariant
ones), so at infinite width :math:`S_{JJ^T}(y) = \prod_i S_{A_i^T A_i}(s_i y)`, the law of a factor living in
an :math:`N_a`-dimensional space entering with scale :math:`s_i = N_L/N_a` (as in :mod:`spectral.product`).
Residual blocks enter through :class:`~spectral.architecture.residual_law.ResidualBlockLaw`; for the density
solver all blocks of a spec together are one implicit factor (:mod:`spectral.architecture.block_product`).

A plain chain ``[Dense, Nonlinearity] * L`` is exactly :class:`spectral.Network`: :func:`spec_jacobian_law`
returns :class:`spectral.product.JacobianLaw` for it (same law object as for plain networks, with its exact
atoms and rectangular layers), started at the first pre-activation variance of the spec.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from fractions import Fraction

from ..density import FactorizedLaw
from ..laws import Atomic, FreeProduct, HaarOrthogonal, MarchenkoPastur, SpectralLaw
from .freeness import NotFreeWarning, not_free_reason
from .layers import Dense, Nonlinearity, Sequential, flat_entries
from .meanfield import Factor, Propagation, SpecError, propagate
from .residual_law import ResidualBlockLaw, _exact

__all__ = ["ArchitectureLaw", "spec_jacobian_law", "architecture_law", "plain_network", "MAX_DISTINCT_BLOCKS"]

#: distinct residual blocks whose product the density solver is given: the cost is linear in them (the arrowhead
#: solve, docs/design.md §6.1), ~0.4 s CPU per block for 200 points on a loaded machine (64: 30 s, issue 13's
#: L = 256 un-normalized tanh stack: 160 s, certified); more are refused at once, not left running for many minutes
MAX_DISTINCT_BLOCKS = 256


def _weight_law(weights, s2, n_in, n_out) -> SpectralLaw:
    """Law of :math:`W^T W` in the input space (as spectral.product: Marchenko--Pastur, Haar, partial isometry)."""
    s2 = s2 if isinstance(s2, int | Fraction) else _exact(s2)
    ratio = Fraction(n_in, n_out) if n_in is not None else Fraction(1)
    if weights == "gaussian":
        return MarchenkoPastur(ratio=ratio, variance=s2 / ratio)
    if ratio <= 1:
        return HaarOrthogonal(s2)
    keep = 1 / ratio
    return Atomic((0, s2), (1 - keep, keep), name=f"partial_isometry({s2}, {keep})")


def _act_key(act):
    return (act.name, act.family, id(act) if act.family == "custom" else 0)


class _Builder:
    """Laws of factors, shared between equal factors (same ensemble and parameters, same q)."""

    def __init__(self):
        self.cache: dict = {}

    def key(self, f: Factor):
        if f.kind == "dense":
            return ("dense", *f.data)
        if f.kind == "derivative":
            act, q = f.data
            return ("derivative", _act_key(act), 1.0 if act.pieces and _q_free(act) else q)
        if f.kind == "scale":
            return ("scale", f.data[0])
        alpha, beta, branch, _ = f.data
        return ("residual", alpha, beta, f.dim, tuple(self.key(g) for g in branch))

    def law(self, f: Factor) -> SpectralLaw:
        k = self.key(f)
        if k in self.cache:
            return self.cache[k]
        if f.kind == "dense":
            law = _weight_law(*f.data)
        elif f.kind == "derivative":
            from ..laws import DerivativeLaw

            law = DerivativeLaw(f.data[0], k[2], p_symbol=f"p_{len(self.cache) + 1}" if self.cache else "p")
        elif f.kind == "scale":
            law = HaarOrthogonal(_exact(f.data[0]))
        else:
            alpha, beta, branch, _ = f.data
            law = ResidualBlockLaw(self.product(branch, f.dim, f.path), alpha, beta)
        self.cache[k] = law
        return law

    def product(self, factors, n_last, path) -> FreeProduct:
        counts: dict = {}
        for f in factors:
            scale = Fraction(n_last, f.dim) if (n_last is not None and f.dim is not None) else 1
            key = (self.key(f), scale)
            entry = counts.setdefault(key, [self.law(f), 0, scale])
            entry[1] += 1
        return FreeProduct([(law, mult, scale) for law, mult, scale in counts.values()])


def _q_free(act) -> bool:
    """phi'^2(sqrt(q) z) has a q-independent law (piecewise-constant phi' with kinks only at 0)."""
    return all(b in (float("-inf"), 0.0, float("inf")) for lo, hi, _ in act.pieces for b in (float(lo), float(hi)))


class ArchitectureLaw(FreeProduct):
    r"""Law of :math:`J J^T` for a spec: the free product of its factors' laws (module docstring).

    Attributes: ``spec``, ``propagation`` (mean field and factors), ``factor_laws`` (one law per Jacobian
    factor, in order; residual blocks as :class:`ResidualBlockLaw`), ``not_free``: why the free law is not the
    network's (:mod:`spectral.architecture.freeness`; then a :class:`NotFreeWarning` at construction and every
    density uncertified), None when it is.
    """

    def __init__(self, spec: Sequential, propagation: Propagation | None = None):
        prop = propagation or propagate(spec)
        if prop.width_in != prop.width_out:
            raise SpecError("layers", f"the spec maps width {prop.width_in} to {prop.width_out}: give equal input and "
                            "output widths (rectangular plain chains are spectral.Network)")
        self.spec = spec
        self.propagation = prop
        #: why the free law is not the network's (docs: spectral.architecture.freeness), None when it is
        self.not_free = not_free_reason(spec)
        if self.not_free:
            warnings.warn(f"not exact: {self.not_free}", NotFreeWarning, stacklevel=3)
        builder = _Builder()
        self.factor_laws = tuple(builder.law(f) for f in prop.factors)
        inner = builder.product(prop.factors, prop.width_out, "layers")
        super().__init__(inner.factors, name=f"JJ^T[spec: {len(prop.factors)} factors, depth {spec.depth}]")

    def solver_factors(self):
        """The density solver's view (docs/design.md §6): the factors that are not residual blocks as they are,
        and all residual blocks together as ONE implicit factor, their free product solved as one Newton system
        (:mod:`spectral.architecture.block_product`); a single block alone is its own factor
        (:mod:`spectral.architecture.block_density`; a relu branch's singular point alpha^2 and the gap above it
        break its bands).  Refused (NotImplementedError) when a block enters with a dimension change (scale != 1)
        or has an atom, and for more than MAX_DISTINCT_BLOCKS distinct blocks."""
        blocks, others = [], []
        for law, mult, scale in self.factors:
            if isinstance(law, ResidualBlockLaw):
                if float(mult) == 0:
                    continue
                if float(scale) != 1 or law.atoms:
                    raise NotImplementedError(
                        f"the density of a spec with residual block {law.name!r} entering with scale {scale} and "
                        f"atoms {tuple(law.atoms)} is not available (blocks must keep the width and have no atom)")
                blocks.append((law, mult))
            else:
                others.append((law, mult, scale))
        if not blocks or (len(blocks) == 1 and float(blocks[0][1]) == 1 and not others):
            rec = super().solver_factors()
            if blocks:  # one block alone: where its bands break (a relu branch's singular point and gap)
                rec = dataclasses.replace(rec, singular_points=blocks[0][0].solver_factors().singular_points)
            return dataclasses.replace(rec, caveat=self.not_free) if self.not_free else rec
        if len(blocks) > MAX_DISTINCT_BLOCKS:
            raise NotImplementedError(
                f"the density of a product of {len(blocks)} distinct residual blocks is not served (at most "
                f"{MAX_DISTINCT_BLOCKS}: each distinct block adds its own D^2 quadrature to every Newton step, "
                "docs/design.md §6.1); identical blocks (e.g. post-LN) count once; the moments and the Brownian "
                "large-depth limit are available")
        from .block_product import product_solver_factor

        rest = FreeProduct(others).solver_factors() if others else None
        factors = list(rest.factors) if rest is not None else []
        blocks_factor = product_solver_factor(blocks)
        factors.append(blocks_factor)
        m1, m2 = (float(v) for v in self.moments(2))
        # the spectrum of a free product of positive laws lies in the product of their supports
        lo = float(blocks_factor.bounds[0])
        log_floor = (math.log(lo) if lo > 0 else -math.inf) + (rest.log_floor if rest is not None else 0.0)
        return FactorizedLaw(tuple(factors), tuple(self.atoms), self.name, moments12=(m1, m2),
                             caveat=self.not_free or "", log_floor=log_floor)

    @property
    def blocks(self) -> tuple:
        """The residual block laws, in order."""
        return tuple(law for law in self.factor_laws if isinstance(law, ResidualBlockLaw))


def architecture_law(spec: Sequential) -> ArchitectureLaw:
    """The law of :math:`J J^T` of ``spec`` by the generic composition (never the plain-network shortcut)."""
    return ArchitectureLaw(spec)


def plain_network(spec: Sequential):
    """The :class:`spectral.Network` equal to ``spec`` when it is a plain chain ``[Dense, Nonlinearity] * L``
    (``q0``: the first pre-activation variance), else None."""
    from ..product import Layer, Network, variance_factor

    flat = list(flat_entries(spec.layers))
    if len(flat) % 2 or not flat:
        return None
    pairs = list(zip(flat[::2], flat[1::2], strict=True))
    if not all(isinstance(d, Dense) and isinstance(a, Nonlinearity) for d, a in pairs):
        return None
    first = pairs[0][0]
    n_out = first.width if first.width is not None else spec.width
    rho = float(variance_factor(first.weights, spec.width, n_out))
    q1 = float(first.sigma_w2) * rho * float(spec.input_q) + float(first.sigma_b2)
    layers = tuple(Layer(a.activation, d.weights, d.sigma_w2, d.sigma_b2, d.width) for d, a in pairs)
    if q1 <= 0:
        return None
    rectangular = any(d.width is not None for d, _ in pairs)
    return Network(layers=layers, q0=q1, width=spec.width if rectangular else None)


def spec_jacobian_law(spec: Sequential):
    """Law of :math:`J J^T` for ``spec``: :class:`spectral.product.JacobianLaw` for plain chains (Conv entries
    mapped onto Dense ones, :func:`spectral.architecture.conv.dense_equivalent`), else :class:`ArchitectureLaw`."""
    if not isinstance(spec, Sequential):
        raise TypeError(f"spec must be a spectral.Sequential, got {type(spec).__name__}")
    from .conv import dense_equivalent

    net = plain_network(dense_equivalent(spec))  # a conv net has its mapped dense net's law (architecture.conv)
    if net is not None:
        from ..product import JacobianLaw

        return JacobianLaw(net)
    return ArchitectureLaw(spec)
