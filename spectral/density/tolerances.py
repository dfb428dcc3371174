"""Numeric thresholds of the density solver, each named with the reason for its value (docs/design.md §2.3, §5)."""

from __future__ import annotations

import math

import numpy as np

_EPS = float(np.finfo(float).eps)
_TINY = float(np.finfo(float).smallest_subnormal)
_TWO_PI = 2.0 * math.pi

#: Mass, m1 and m2 of a certified density agree with the law's series to this (relative) error: far above
#: the quadrature's rounding (~1e-12) and far below anything visible in a quantile or a plot.
CERTIFICATE_TOL = 1e-6

#: The point-mass limit of D^2 is served without trying the solver when the relative variance it drops (the
#: sum over D^2 factors of multiplicity x (m2/m1^2 - 1)) is below this: far under the solver's own accuracy
#: (~1e-10), and the spectrum is then too narrow for it (q* = 0, or q* < ~1e-9 near isometry).
_DIRECT_LIMIT_SPREAD = 1e-12

#: Depths below the top (in log x) at which a band reaching 0 is probed for continuous mass, then (where they
#: find none) the ladder of decades below the top: the spectrum can be anything from hundreds of e-folds wide
#: (deep products) to ~1e-8 (near-isometric networks, where D^2 is nearly a point mass), and the ladder finds
#: a band of any width down to its last rung.
_BAND_PROBE_DEPTHS = (30.0, 7.0, 0.7)
_FINE_PROBE_DEPTHS = tuple(10.0 ** -k for k in range(1, 11))

#: A band away from 0 wider than this in log x (a factor e^7 ~ 1100) gets the cosine map in u = log x where
#: its ends are edges of the product: the cosine map in x leaves its lower decades without nodes (leaky relu
#: at depth 8: a band over 9 decades, mass 0.81).
_WIDE_BAND_LOG_RATIO = 7.0

#: A node solved on the real axis from the interpolant of its anchors is kept only if its x rho = -Im m / pi
#: has not collapsed below this fraction of the interpolant's (else: its own vertical continuation); the
#: real solution of another sheet has x rho at rounding level, ~1e-14 of the interpolant's.
_INTERP_IM_REL = 1e-3
