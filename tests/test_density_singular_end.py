"""The end law at a zero-mass atom of the product (docs/design.md §5.4, ``spectral/density/singular_end.py``): the
mass closer to the atom than the nodes, from the law fitted on them, against the closed form of a density of that
form (an incomplete gamma function), and refused where the density is not of that form or not integrable.
(Against the mpmath solution of two layers: tests/test_d2_piecewise.py.)"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.special import gamma as gamma_fn
from scipy.special import gammaincc

from spectral.density.singular_end import _end_mass, _end_piece
from spectral.density.tolerances import _SINGULAR_END_OFFSET

#: The fit is exact for a density of the fitted form and the Gauss--Laguerre integral reaches rounding (measured
#: 4e-14 relative, fit residual 2e-14): room for the conditioning of the least squares on other platforms.
EXACT_RTOL = 1e-9


def _piece_and_offsets(side):
    piece = _end_piece(0.0, side * 1.0, 200)
    t = np.abs(np.expm1(piece.u))
    return piece, t


@pytest.mark.parametrize("side", [-1, 1])
@pytest.mark.parametrize(("gam", "delta"), [(-0.5, 0.0), (-0.5, 0.5), (-0.3, 0.7), (0.5, -0.4)])
def test_end_mass_of_a_power_law_with_a_logarithmic_factor(side, gam, delta):
    """x rho = c t^gamma log(1/t)^delta: the mass below t0 is c Gamma(delta + 1, (1 + gamma) L0) /
    (1 + gamma)^(delta + 1), L0 = log(1/t0)."""
    piece, t = _piece_and_offsets(side)
    c = 0.37
    xrho = c * t**gam * np.log(1 / t) ** delta
    fit = _end_mass(piece, piece.u, xrho, np.ones(t.size, bool))
    k, l0 = 1 + gam, -math.log(_SINGULAR_END_OFFSET)
    exact = c * gammaincc(delta + 1, k * l0) * gamma_fn(delta + 1) / k ** (delta + 1)
    assert fit.residual <= 1e-10  # rounding (measured 2e-14), far below _SINGULAR_FIT_RESIDUAL
    assert fit.gamma == pytest.approx(gam, abs=1e-8) and fit.delta == pytest.approx(delta, abs=1e-6)
    assert fit.mass == pytest.approx(exact, rel=EXACT_RTOL)


def test_end_mass_with_the_corrections_in_powers_of_the_offset():
    """The expansion beyond the leading term (t^(1/2), t) is fitted, and its integral below t0 counts."""
    piece, t = _piece_and_offsets(-1)
    xrho = t**-0.5 * np.exp(0.8 * np.sqrt(t) - 0.3 * t)
    fit = _end_mass(piece, piece.u, xrho, np.ones(t.size, bool))
    t0 = _SINGULAR_END_OFFSET
    # int_0^t0 t^-1/2 (1 + 0.8 t^1/2 + (0.32 - 0.3) t + ...) dt
    exact = 2 * t0**0.5 + 0.8 * t0 + 0.02 * t0**1.5 / 1.5
    # the series to t^(3/2) leaves out ~1e-12 of it (measured 1.2e-12)
    assert fit.mass == pytest.approx(exact, rel=EXACT_RTOL)


@pytest.mark.parametrize("kind", ["oscillating", "not integrable", "too few nodes"])
def test_end_law_refused(kind):
    """No mass (nan) where the density is not of the fitted form, is not integrable, or has too few certified
    nodes next to the end: the density is then refused, naming the end (pipeline._with_end_laws)."""
    piece, t = _piece_and_offsets(-1)
    ok = np.ones(t.size, bool)
    xrho = t**-0.5
    if kind == "oscillating":
        xrho = xrho * (1 + 0.05 * np.sin(3 * np.log(t)))
    elif kind == "not integrable":
        xrho = t**-1.2
    else:
        ok = t > 1e-4
    fit = _end_mass(piece, piece.u, xrho, ok)
    assert math.isnan(fit.mass)
    if kind == "oscillating":
        assert fit.residual > 1e-3
