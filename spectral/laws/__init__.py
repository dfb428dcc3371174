r"""Spectral laws: transforms, moments, free cumulants, atoms; the registry of ensembles.

Conventions are in :mod:`spectral.laws.base`.  One concept per module: :mod:`~spectral.laws.base`
(:class:`SpectralLaw`, the conventions, free cumulants), :mod:`~spectral.laws.ensembles` (Marchenko--Pastur,
Haar, semicircle, atomic laws), :mod:`~spectral.laws.derivative` (the law of :math:`D^2`) with its contour
quadrature :mod:`~spectral.laws.d2_quadrature`, :mod:`~spectral.laws.products` (free products and sums),
:mod:`~spectral.laws.brownian` (Biane's free positive multiplicative Brownian motion, the large-depth law of
residual networks), :mod:`~spectral.laws.registry`.  Every law hands itself to the density solver through
:meth:`SpectralLaw.solver_factors` (docs/design.md §6); the solver imports no law.
"""

from __future__ import annotations

from .base import (
    SpectralLaw,
    _as_complex,
    _check_k,
    _check_positive,
    _exactify,
    _num,
    free_cumulants_from_moments,
    moments_from_free_cumulants,
)
from .brownian import FreeMultiplicativeBrownian
from .derivative import DerivativeLaw
from .ensembles import Atomic, Bernoulli, Empirical, HaarOrthogonal, MarchenkoPastur, Semicircle
from .products import FreeProduct, FreeSum, _binomial_lagrange, _binomial_lagrange_int, _DimensionChange
from .registry import LAWS, example_laws

__all__ = [
    "SpectralLaw",
    "MarchenkoPastur",
    "HaarOrthogonal",
    "Semicircle",
    "Atomic",
    "Bernoulli",
    "Empirical",
    "DerivativeLaw",
    "FreeProduct",
    "FreeSum",
    "FreeMultiplicativeBrownian",
    "LAWS",
    "example_laws",
    "moments_from_free_cumulants",
    "free_cumulants_from_moments",
]

# internals used by spectral.product, the benchmarks and the tests
_INTERNALS = (_DimensionChange, _as_complex, _binomial_lagrange, _binomial_lagrange_int, _check_k,
              _check_positive, _exactify, _num)
