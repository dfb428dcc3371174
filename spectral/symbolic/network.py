"""The public entry: the exact spectrum of J J^T for a uniform network."""

from __future__ import annotations

import sympy as sp

from .convolution import free_product
from .d2 import _resolve_activation, d2_law
from .edges import _edge_data
from .params import NoClosedFormError, _parse_depth, _positive, to_exact
from .registry import weight_law
from .result import SymbolicResult


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
