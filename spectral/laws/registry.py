"""The registry of law constructors, and representative instances for generic tests."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from .base import SpectralLaw
from .brownian import FreeMultiplicativeBrownian
from .derivative import DerivativeLaw
from .ensembles import Atomic, Bernoulli, Empirical, HaarOrthogonal, MarchenkoPastur, Semicircle
from .products import FreeProduct, FreeSum

LAWS: dict[str, Any] = {
    "marchenko_pastur": MarchenkoPastur,
    "haar_orthogonal": HaarOrthogonal,
    "semicircle": Semicircle,
    "atomic": Atomic,
    "bernoulli": Bernoulli,
    "empirical": Empirical,
    "derivative": DerivativeLaw,
    "free_product": FreeProduct,
    "free_sum": FreeSum,
    "free_multiplicative_brownian": FreeMultiplicativeBrownian,
}


def example_laws() -> list[SpectralLaw]:
    """Representative instances of the elementary ensembles (no activation module needed); generic
    tests loop over this list."""
    return [
        MarchenkoPastur(),
        MarchenkoPastur(ratio=Fraction(1, 2), variance=2),
        MarchenkoPastur(ratio=3, variance=Fraction(1, 3)),
        HaarOrthogonal(Fraction(3, 2)),
        Semicircle(variance=1, mean=3),
        Bernoulli(Fraction(1, 2)),
        Bernoulli(Fraction(3, 4), value=2),
        Atomic((Fraction(1, 100), 1), (Fraction(1, 2), Fraction(1, 2))),
        Atomic((1, 2, 4), (Fraction(1, 4), Fraction(1, 2), Fraction(1, 4))),
        FreeMultiplicativeBrownian(Fraction(1, 2)),
    ]
