"""Real zeta with M(zeta) = w, the inner solve of the edge scan (spectral/density/critical.py, docs/design.md §4.7).

Independent truth: a two-atom law, whose M(zeta) = w is a quadratic in zeta with roots in closed form, on each
real branch (above the spectrum, below it, in the gap between the atoms); and the law of density 2(1 - x) on
[0, 1], whose M(zeta) = 2 zeta - 1 - 2 zeta (zeta - 1) log(zeta / (zeta - 1)) is finite at both ends (1 at the
top, -1 at the bottom): no real root beyond those values, NaN, never a point on the spectrum.
"""

from __future__ import annotations

import numpy as np
from test_solver_hook import _two_atom_factor

from spectral.density.critical import _zeta_real
from spectral.density.factors import ImplicitFactor

#: The solve stops within 8 eps of w; zeta moves by that over |zeta M'(zeta)| / |M|, a few units here (measured
#: 2e-15 at most over the points below).
ZETA_RTOL = 1e-13

V = np.array([0.5, 1.0])
P = np.array([1 - 0.7, 0.7])
#: 0.3 delta_0.5 + 0.7 delta_1 as the solver sees it
FACTOR, _ = _two_atom_factor(V[0], V[1], P[1])


def _roots(w):
    """Both real roots (sorted) of sum_i p_i v_i / (zeta - v_i) = w, i.e. of a zeta^2 + b zeta + c = 0 with
    a = w, b = -(w (v1 + v2) + p1 v1 + p2 v2), c = (w + p1 + p2) v1 v2, without cancellation."""
    v1, v2 = V
    p1, p2 = P
    b = -(w * (v1 + v2) + p1 * v1 + p2 * v2)
    c = (w + p1 + p2) * v1 * v2
    q = -0.5 * (b + np.sign(b) * np.sqrt(b * b - 4 * w * c))
    return np.sort(np.stack([q / w, c / q]), axis=0)


def test_above_and_below_the_spectrum_against_the_quadratic():
    w = np.concatenate([np.geomspace(1e-12, 1e6, 50), -np.geomspace(1e-12, 1e6, 50)])
    got = _zeta_real(FACTOR, w)
    r = _roots(w)
    # w > 0: the root above the spectrum (the larger one); w < 0: the root below it
    want = np.where(w > 0, r[1], r[0])
    assert np.all((w > 0) & (got > 1.0) | (w < 0) & (got < 0.5))
    np.testing.assert_allclose(got, want, rtol=ZETA_RTOL)


def test_in_the_gap_between_the_atoms_against_the_quadratic():
    # |w| from 1e-3 to 1e3: nearer 0 (or an atom) the rounding of M (or of zeta) exceeds the acceptance of
    # 1e-9 |w| and the solve answers NaN (w = 0 too)
    w = np.concatenate([np.geomspace(1e-3, 1e3, 40), -np.geomspace(1e-3, 1e3, 40)])
    got = _zeta_real(FACTOR, w, (0.5, 1.0))
    r = _roots(w)
    want = np.where((r[0] > 0.5) & (r[0] < 1.0), r[0], r[1])
    np.testing.assert_allclose(got, want, rtol=ZETA_RTOL)


#: Moments m_k = 2 / ((k + 1)(k + 2)) of the density 2(1 - x) on [0, 1]: M(zeta) = sum_k m_k zeta^-k for |zeta| >= 2
#: (terms below 2^-60 by k = 60), where the closed form cancels.
_K = np.arange(1, 61)
_MOMENTS = 2.0 / ((_K + 1) * (_K + 2))


def _horner(c, u):
    """sum_k c_k u^k, k = 1, 2, ..."""
    out = np.zeros_like(u)
    for ck in c[::-1]:
        out = (out + ck) * u
    return out


def _m_linear(zeta):
    zeta = np.asarray(zeta, complex)
    with np.errstate(all="ignore"):
        closed = 2 * zeta - 1 - 2 * zeta * (zeta - 1) * np.log(zeta / (zeta - 1))
        series = _horner(_MOMENTS, 1 / zeta)
    return np.where(np.abs(zeta) >= 2, series, closed)


def _dm_linear(zeta):
    zeta = np.asarray(zeta, complex)
    with np.errstate(all="ignore"):
        closed = 4 - 2 * (2 * zeta - 1) * np.log(zeta / (zeta - 1))
        series = -_horner(_K * _MOMENTS, 1 / zeta) / zeta
    return np.where(np.abs(zeta) >= 2, series, closed)


def test_no_root_beyond_a_finite_edge_value_is_nan():
    """Density 2(1 - x) on [0, 1]: M is 1 at the top edge and -1 at the bottom; beyond, no root."""
    f = ImplicitFactor(_m_linear, _dm_linear, 1 / 3, (0.0, 1.0))
    w = np.array([0.5, 0.99, 1.5, 3.0, -0.5, -0.99, -1.5, -3.0])
    got = _zeta_real(f, w)
    assert np.all(got[[0, 1]] > 1.0) and np.all(got[[4, 5]] < 0.0)
    assert np.all(np.isnan(got[[2, 3, 6, 7]]))
    ok = [0, 1, 4, 5]
    np.testing.assert_allclose(np.real(_m_linear(got[ok])), w[ok], rtol=1e-13)
