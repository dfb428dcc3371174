"""The tiers of the contour quadrature of D^2 (spectral/laws/d2_tiers.py): the one-law form that the solver's
calls take (scalar bounds, 1-d points) gives the same tier at every point as the general form (the laws stacked,
here a stack of one), over random spectra, critical values and points on, next to and off the spectrum."""

from __future__ import annotations

import numpy as np
import pytest

from spectral.laws.d2_tiers import _tier_of


@pytest.mark.parametrize("seed", range(4))
def test_one_law_tiers_equal_the_stacked_form(seed):
    rng = np.random.default_rng(seed)
    for _ in range(500):
        lo = float(rng.choice([0.0, rng.uniform(0, 0.5)]))
        hi = lo + float(rng.uniform(0.1, 3.0))
        span = hi - lo
        crit = np.sort(rng.uniform(lo - 0.2, hi + 0.2, int(rng.integers(0, 4))))
        if crit.size and rng.random() < 0.3:
            crit[0] = lo
        sides = rng.choice([-1.0, 1.0, 0.0], crit.size)
        tail = float(rng.choice([0.0, rng.uniform(0, 0.3)]))
        k = int(rng.integers(1, 40))
        # a third of the points at a critical value or an end, the rest anywhere; 40% on the real axis
        at = rng.choice(np.concatenate([crit, [lo, hi]]), k) + rng.normal(0, 0.05, k) * rng.integers(0, 2, k)
        zr = np.where(rng.random(k) < 0.3, at, rng.uniform(lo - 1, hi + 1, k))
        zi = np.where(rng.random(k) < 0.4, 0.0, rng.normal(0, 1, k) * 10 ** rng.uniform(-8, 0, k))
        z = zr + 1j * zi
        z[0] = complex(np.nan, 0.0) if rng.random() < 0.1 else z[0]
        one = _tier_of(z, lo, hi, span, crit, sides, tail)
        stacked = _tier_of(z[None, :], np.array([[lo]]), np.array([[hi]]), np.array([[span]]), crit[None, :],
                           sides[None, :], np.array([[tail]]))
        assert np.array_equal(one, stacked[0]), (z, crit, sides, lo, hi, tail)
        assert set(np.unique(one)) <= set(range(4 + crit.size))
