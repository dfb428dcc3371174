r"""The point-mass limit of :math:`D^2` (near isometry), served where the solver cannot resolve the spectrum
(docs/design.md §7)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from .certificate import _series_m12
from .factors import FactorizedLaw, ImplicitFactor, LinearFactor, _factors, _law_atoms
from .system import _System


@dataclass(frozen=True)
class _PointMassLimit:
    """The point-mass limit of a law: ``law`` (its ``moments12`` are the original law's series, which the
    certificate compares with) and ``spread``, the relative variance dropped with D^2."""

    law: FactorizedLaw
    spread: float


def _limit_spread(law) -> float | None:
    """Relative variance dropped by the point-mass limit: sum over D^2 factors of multiplicity x
    (m2/m1^2 - 1) (free multiplicative convolution adds the relative variances of its factors exactly:
    m2(ab) = m2(a) + m2(b) - 1 for free a, b of mean 1); None when the law has no D^2 factor."""
    try:
        factors = _factors(law)
    except (ValueError, TypeError):
        return None
    imp = [f for f in factors if isinstance(f, ImplicitFactor)]
    if not imp:
        return None
    return sum(abs(f.multiplicity) * (f.spread if f.spread == f.spread else abs(f.offset / f.mean - 1.0))
               for f in imp)


def _point_mass_limit(law, spread) -> _PointMassLimit:
    """The law with every implicit factor (D^2) replaced by the point mass at its mean."""
    new = tuple(LinearFactor(1.0 / f.mean, (), f.multiplicity, f.scale) if isinstance(f, ImplicitFactor) else f
                for f in _factors(law))
    series = _series_m12(law)
    atoms = _law_atoms(law)
    sys = _System(new)
    if sys.linear and sys.b.size == 1 and sys.b[0] == 1.0 and sys.e[0] == 1.0 and sys.e_m == -1.0:
        atoms = ((math.exp(sys.const), 1.0),)   # S_J constant: the whole law is one atom
    return _PointMassLimit(FactorizedLaw(new, atoms, f"{getattr(law, 'name', 'law')} [point-mass limit of D^2]",
                                         (series.m1, series.m2)), spread)
