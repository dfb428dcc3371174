r"""Which rule of the contour quadrature of :math:`D^2` serves each point :math:`\zeta` (docs/design.md §4.6): the
plain rule far from the spectrum, the deformed contour near it, graded panels next to a critical value of d off the
spectrum, the tails' scale on the spectrum and near 0, and the contour flattened at a critical point for real
:math:`\zeta` on its regular side.  The tiers themselves are built in ``d2_quadrature``."""

from __future__ import annotations

import numpy as np

#: zeta within this x (spread of the spectrum) of it uses the deformed contour (tier 1).
_NEAR_TIER = 0.15
#: zeta within this x the spread of a critical value of d uses the graded panels (tier 2).
_GRADED_TIER = 0.1
#: Real zeta within this x the spread of a critical value, on its regular side, uses the contour flattened at that
#: critical point (tier 4 + j: the pair of poles c +- i delta stays within delta <= sqrt(2e-3 span / |d''|) of c,
#: outside the flattened wedge).
_FLAT_TIER = 1e-3


def _tier_of(z, lo, hi, span, crit, sides, tail_zeta):
    """The tier serving each point z of a law with spectrum [lo, hi] of width span, critical values crit and
    their sides (shape (..., c)) and tails' reach tail_zeta: 0 plain, 1 uniform, 2 graded, 3 the tails' scale
    (on the spectrum, docs/design.md §5.4, and near 0 where the law reaches 0 like a power law), 4 + j the
    contour flattened on the regular side of critical value j (real zeta next to it).  lo, hi, span, tail_zeta
    broadcast against z."""
    if np.ndim(crit) == 1 and z.ndim == 1:
        return _tier_of_one(z, lo, hi, span, crit, sides, tail_zeta)
    dist = np.where(z.real < lo, np.abs(z - lo), np.where(z.real > hi, np.abs(z - hi), np.abs(z.imag)))
    tier = np.where(dist < _NEAR_TIER * span, 1, 0)
    axis = (z.imag == 0) & (z.real >= lo) & (z.real <= hi)
    tier = np.where(axis, 3, tier)
    if crit.shape[-1]:
        dist_c = np.abs(z[..., None] - crit[..., None, :])
        dc = np.min(dist_c, axis=-1)
        # next to a critical value off the spectrum: the graded panels; on the spectrum the tails' scale serves
        # there too (its panels are graded)
        tier = np.where((dc < _GRADED_TIER * span) & ~axis, 2, tier)
        near = np.argmin(dist_c, axis=-1)
        c_near = np.take_along_axis(np.broadcast_to(crit[..., None, :], dist_c.shape), near[..., None], -1)[..., 0]
        s_near = np.take_along_axis(np.broadcast_to(sides[..., None, :], dist_c.shape), near[..., None], -1)[..., 0]
        flat = (z.imag == 0) & (dc < _FLAT_TIER * span) & ((z.real - c_near) * s_near > 0)
        tier = np.where(flat, 4 + near, tier)
    return np.where((np.abs(z) < tail_zeta) & ~((tier >= 4) | axis), 3, tier)


def _tier_of_one(z, lo, hi, span, crit, sides, tail_zeta):
    """:func:`_tier_of` for one law (scalar bounds, crit of shape (c,)) and 1-d z: the same tiers, decided
    on the few points that need more than the distance to the spectrum (the solver asks for the tiers of a
    handful of points per call, where each numpy call's fixed cost is most of the work)."""
    zr, zi = z.real, z.imag
    below, above = zr < lo, zr > hi
    dist = np.abs(zi)
    if below.any():
        dist[below] = np.abs(z[below] - lo)
    if above.any():
        dist[above] = np.abs(z[above] - hi)
    tier = (dist < _NEAR_TIER * span).astype(np.int64)
    real = zi == 0
    axis = real & (zr >= lo) & (zr <= hi)
    tier[axis] = 3
    if crit.size:
        # only points within the graded or flat tier's reach of some critical value can change tier: every
        # such point has |z - c| < max(_GRADED_TIER, _FLAT_TIER) span for the c nearest to it
        reach = max(_GRADED_TIER, _FLAT_TIER) * span
        cand = ((zr > crit.min() - reach) & (zr < crit.max() + reach) & (np.abs(zi) < reach)).nonzero()[0]
        if cand.size:
            zc = z[cand]
            dist_c = np.abs(zc[:, None] - crit[None, :])
            dc = np.min(dist_c, axis=-1)
            near = np.argmin(dist_c, axis=-1)
            tc = tier[cand]
            tc = np.where((dc < _GRADED_TIER * span) & ~axis[cand], 2, tc)
            flat = real[cand] & (dc < _FLAT_TIER * span) & ((zr[cand] - crit[near]) * sides[near] > 0)
            tc = np.where(flat, 4 + near, tc)
            tier[cand] = tc
    if tail_zeta > 0:
        tail = (np.abs(z) < tail_zeta) & ~((tier >= 4) | axis)
        tier[tail] = 3
    return tier
