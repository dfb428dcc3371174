"""Support of a law: bands between real critical values of z(m), 0 and the atoms, each classified by
solving the density at interior points (docs/design.md §4.7, §5.3)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .cache import _cached
from .continuation import _continue, _le0
from .critical import _critical_values
from .factors import _continuous_mass, _factors, _law_atoms, _record
from .real_axis import _closed_form
from .system import _System, _wrap
from .threads import _quiet, _thread_policy
from .tolerances import (
    _ATOMIC_MASS,
    _BAND_PROBE_DEPTHS,
    _BREAK_MERGE,
    _FINE_PROBE_DEPTHS,
    _PROBE_ETA,
    _PROBE_MASS,
    _REAL_CRITICAL,
    _TOP_RTOL,
)


@dataclass(frozen=True)
class _Edges:
    bands: tuple          # ((lo, hi), ...) of the continuous part, ascending (lo = 0: reaches 0)
    log_bands: tuple      # the same in log x (lo = -inf at 0)
    lo: float             # lower edge of the continuous part (0 when it reaches 0)
    hi: float             # upper edge of the continuous part
    log_hi: float
    lambda_max: float
    log_lambda_max: float
    gap: bool             # continuous part bounded away from 0
    top_atom: bool        # the top of the spectrum is an atom
    w0: float             # atom at 0
    beta: float           # exponent of x rho(x) ~ x^beta at 0 (exact for linear factors), nan if unknown
    candidates: tuple     # log x of all real critical values z(m_c) > 0 (before classification)
    log_singular: tuple = ()  # log x of the product's zero-mass atoms (singular points of the density)


@_thread_policy
def edges(law) -> _Edges:
    """Support of the continuous part: bands between real critical values of z(m), 0 and the atoms.

    Returns a small frozen record with ``bands`` ((lo, hi), ...), ``lo``, ``hi``, ``lambda_max``,
    ``gap``, ``top_atom``, ``w0`` (atom at 0) and ``beta`` (x rho(x) ~ x^beta at 0).
    """
    return _cached(law, "edges", lambda: _compute_edges(law))


def _system(law, log_c=None) -> _System:
    atoms = _law_atoms(law)
    w0 = sum(p for a, p in atoms if a == 0.0)
    sys = _System(_factors(law), w0)
    if log_c is None:
        log_c = edges(law).log_lambda_max
    return sys.with_log_c(log_c)


#: Depths below the top (in log x) at which a band reaching 0 is probed for continuous mass, then (where they
#: find none) the ladder of decades below the top: the spectrum can be anything from hundreds of e-folds wide


def _probe_bands(nsys, probes, log_top) -> list:
    """Per interval, whether any of its probe points (log x) carries continuous mass: -Im m > :data:`_PROBE_MASS` |m| at
    eta = :data:`_PROBE_ETA` x, reached by a certified continuation."""
    tests_u = np.array([x - log_top for us in probes for x in us])
    owner = np.array([i for i, us in enumerate(probes) for _ in us], dtype=int)
    if tests_u.size == 0:
        return [False] * len(probes)
    n = tests_u.size
    path = _continue(nsys, tests_u, np.ones(n), tests_u + math.log(_PROBE_ETA), _le0(nsys), np.ones(n, bool))
    m, ok = path.m, path.ok
    with np.errstate(invalid="ignore"):
        inside = ok & (-m.imag > _PROBE_MASS * np.abs(m))
    return [bool(np.any(inside[owner == i])) for i in range(len(probes))]


def _candidates(crit, log_atoms) -> np.ndarray:
    """log x of the real positive critical values of z(m) that can be edges: at most the top of the physical
    branch, and not at an atom (an atom takes precedence over a critical value at the same place, e.g.
    z(m -> inf) = atom)."""
    mc, lz, top = crit.m, crit.logz, crit.top
    if mc.size:
        real_pos = np.isfinite(lz.real) & (np.abs(_wrap(lz).imag) < _REAL_CRITICAL)
        cand = np.unique(np.real(lz[real_pos]))
    else:
        cand = np.array([])
    if top is not None and abs(_wrap(np.array([top]))[0].imag) < _REAL_CRITICAL:
        # nothing continuous above the top edge of the physical branch: drop higher candidates
        cand = cand[cand <= top.real + _TOP_RTOL * max(1.0, abs(top.real))]
    return np.array([c for c in cand if all(abs(c - la) > _BREAK_MERGE for la in log_atoms)])


def _break_points(cand, log_atoms) -> np.ndarray:
    """Candidates and atoms in log x, ascending; break points closer than :data:`_BREAK_MERGE` are one."""
    breaks = np.unique(np.concatenate([cand, log_atoms]))
    if breaks.size > 1:
        breaks = breaks[np.concatenate([[True], np.diff(breaks) > _BREAK_MERGE])]
    return breaks


def _supported_intervals(nsys, lows, highs, log_atoms, log_top, log_floor=-math.inf) -> list:
    """Per interval (lows[i], highs[i]) of log x between break points, whether it carries continuous mass:
    probes at interior points, then the ladder of decades below the top where the coarse probes found none;
    none below ``log_floor`` (the record's lower bound of the spectrum, where there is nothing to find: a product
    of residual blocks fails there, 1 + m below rounding, each probe after its whole vertical paths)."""
    probes = []
    for a, b in zip(lows, highs, strict=True):
        if np.isneginf(a):
            probes.append([b - d for d in _BAND_PROBE_DEPTHS])
        else:
            probes.append([0.5 * (a + b), math.log(0.5 * (math.exp(a - b) + 1.0)) + b, a + 0.1 * (b - a),
                           a + 0.9 * (b - a)])
    probes = [[p for p in ps if p > log_floor] for ps in probes]
    supported = _probe_bands(nsys, probes, log_top)
    # a band may fill only a sliver just below the top of its interval (near isometry; or a narrow spectrum
    # above a spurious break, e.g. the end of the quadrature's view of the spectrum of D^2: sin): the ladder
    # of decades, where the coarse probes found nothing
    fine = [[b - d for d in _FINE_PROBE_DEPTHS if d < 0.1 * (b - a)]
            if not supported[i] and (np.isneginf(a) or (i == lows.size - 1 and b not in log_atoms)) else []
            for i, (a, b) in enumerate(zip(lows, highs, strict=True))]
    fine = [[p for p in ps if p > log_floor] for ps in fine]
    if any(fine):
        supported = [s or f for s, f in zip(supported, _probe_bands(nsys, fine, log_top), strict=True)]
    return supported


def _merge_bands(lows, highs, supported, log_atoms) -> list:
    """Adjacent supported intervals joined into bands, except across an atom."""
    log_atom_set = set(log_atoms)
    bands: list[list[float]] = []
    for i, (a, b) in enumerate(zip(lows, highs, strict=True)):
        if not supported[i]:
            continue
        if bands and bands[-1][1] == a and a not in log_atom_set:
            bands[-1][1] = b
        else:
            bands.append([a, b])
    return bands


def _closed_form_band(sys) -> list:
    """The band of a one-factor law (:func:`~.real_axis._closed_form`) in log x, from the factor's spectrum
    (its ``bounds`` and the values of d at its critical points; lower end -inf where one is 0, a zero of
    phi'), where the probes found none: log z = C + log zeta maps it exactly."""
    f = sys.imp[0]
    lo = min([float(f.bounds[0])] + [float(v) for v in f.critical_values + f.jump_values])
    hi = max([float(f.bounds[1])] + [float(v) for v in f.critical_values + f.jump_values])
    return [-math.inf if lo <= 0 else math.log(lo) + sys.const, math.log(hi) + sys.const]


@_quiet
def _compute_edges(law) -> _Edges:
    """Critical values -> break points -> intervals classified by probing -> bands (docs/design.md §4.7)."""
    atoms = _law_atoms(law)
    w0 = sum(p for a, p in atoms if a == 0.0)
    sys = _System(_factors(law), w0)
    log_atoms = [math.log(a) for a, _ in atoms if a > 0]
    # a zero-mass atom of the product breaks the bands as an atom does (an inverse-square-root singularity)
    log_singular = tuple(math.log(a) for a in _record(law).singular_points if a > 0)
    log_stops = log_atoms + list(log_singular)
    cand = _candidates(_critical_values(sys), log_stops)
    breaks = _break_points(cand, log_stops)
    cmass = 1.0 - sum(p for _, p in atoms)
    if breaks.size == 0:
        raise ValueError(f"{getattr(law, 'name', law)}: no real critical point of z(m) and no atom; "
                         "cannot locate the support")
    log_top = float(breaks[-1])
    beta = 1.0 / sys.kappa if sys.linear and sys.kappa > 0 else math.nan
    if cmass <= _ATOMIC_MASS:
        lam = max(a for a, _ in atoms)
        return _Edges((), (), math.nan, math.nan, math.nan, lam, math.log(lam), False, True, w0, beta,
                      tuple(cand))
    # classify each interval between break points by solving at interior points
    lows = np.concatenate([[-np.inf], breaks[:-1]])
    highs = breaks
    log_floor = _record(law).log_floor
    supported = _supported_intervals(sys.with_log_c(log_top), lows, highs, log_stops, log_top, log_floor)
    if log_floor > -math.inf:  # below the product of the factors' lower bounds there is no spectrum
        supported = [s and b > log_floor + _BREAK_MERGE for s, b in zip(supported, highs, strict=True)]
    bands = _merge_bands(lows, highs, supported, log_stops)
    if not bands and _closed_form(sys):
        bands = [_closed_form_band(sys)]
    if not bands:
        raise RuntimeError(f"{getattr(law, 'name', law)}: continuous mass {cmass:.3g} but no band was "
                           "found; the support could not be certified")
    log_bands = tuple((float(a), float(b)) for a, b in bands)
    lin_bands = tuple((0.0 if np.isneginf(a) else math.exp(min(a, 709.0)), math.exp(min(b, 709.0)))
                      for a, b in log_bands)
    log_hi = log_bands[-1][1]
    log_lam = max([log_hi] + log_atoms)
    return _Edges(lin_bands, log_bands, lin_bands[0][0], lin_bands[-1][1], log_hi,
                  math.exp(min(log_lam, 709.0)), log_lam, not np.isneginf(log_bands[0][0]),
                  log_lam > log_hi, w0, beta, tuple(cand), log_singular)


def support(law):
    """(lo, hi) of the continuous part of the law (None if it has none); lo = 0 when it reaches 0."""
    if _continuous_mass(law) <= _ATOMIC_MASS:
        return None
    e = edges(law)
    return (e.lo, e.hi)


def lambda_max(law) -> float:
    """Largest point of the spectrum: the upper edge or the largest atom."""
    return edges(law).lambda_max

