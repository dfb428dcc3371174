"""Stage "grid + solve": the nodes of every band of the support (with its soft lower edge, where a smooth
activation has one) and M(x + i0) on them (docs/design.md §5.4, §5.5)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .grid import (
    _band_nodes,
    _cosine_gl_nodes,
    _edge_nodes,
    _gap_end_nodes,
    _gl,
    _spike_nodes,
    _tanh_sinh_nodes,
    _two_edge_nodes,
)
from .real_axis import _closed_form, _solve_real
from .singular_end import _end_mass, _end_piece
from .soft_edge import _soft_edge, _soft_edge_critical
from .tolerances import (
    _ANCHOR_STRIDE,
    _BREAK_MERGE,
    _CLOSED_FORM_MAX_SPAN,
    _CUT_LAW_COARSE,
    _CUT_LAW_REGRID,
    _CUT_LAW_REMAINDER,
    _LOG_SPAN,
    _LOW_CHECK_DIVISOR,
    _MIN_BAND_NODES,
    _NOISE_MULTIPLE,
    _SINGULAR_BAND_STRIDE,
    _SOFT_CUT,
    _SOFT_CUT_QUIET_RUN,
    _SOFT_NOISE_CAP,
    _SOFT_QUIET,
    _SPIKE_OFFSET,
    _WIDE_BAND_LOG_RATIO,
    CERTIFICATE_TOL,
)


@dataclass(frozen=True)
class _Nodes:
    """Solved nodes of the density grid, in u = log(x / scale): weights ``w`` (mass = sum w x rho), m = M(x + i0),
    ``xrho`` = -Im m / pi, ``ok`` (certified), ``res`` (Newton residual), ``fb`` (a continuation step was
    refined), ``acc`` (attainable accuracy of m), ``zeta`` (the implicit unknowns, where every band has them:
    a march along the real axis can start from a node, :mod:`.sheet`) and ``delta`` = m - m0 (without the
    cancellation of m - m0)."""

    u: np.ndarray
    w: np.ndarray
    m: np.ndarray
    xrho: np.ndarray
    ok: np.ndarray
    res: np.ndarray
    fb: np.ndarray
    acc: np.ndarray
    zeta: np.ndarray | None = None
    delta: np.ndarray | None = None


@dataclass(frozen=True)
class _BandGrid:
    """All bands solved: their ``nodes``; ``floor_u``, the lowest u covered by the nodes of a band reaching 0
    (None without such a band: no tail); ``soft_edges``, the soft lower edges found (in x)."""

    nodes: _Nodes
    floor_u: float | None
    soft_edges: list
    #: (u, mass): mass of a one-factor law left out next to a spike at x = e^u, taken from the law itself
    #: (:func:`_closed_form_bands`); the certificate adds it at x = e^u
    spike_mass: tuple = ()
    #: (u, _EndMass): the end law at each band end at a zero-mass atom of the product x = e^u; its mass (closer to
    #: it than the nodes) is in ``spike_mass`` where it fits
    end_laws: tuple = ()


def _log_map_ok(sys) -> bool:
    """Whether the wide bands of ``sys`` get the cosine map in log x: no smooth implicit factor (linear factors
    and atomic D^2 only, e.g. leaky relu, whose D^2 takes the two values alpha^2 and 1), or a power law at 0
    (kappa > 0: Gaussian weights; selu/Gaussian depth 8 spreads over 270 decades).  Otherwise the lower end
    of a band of a smooth D^2 may be the end of its quadrature's view of the spectrum (sin/orthogonal at
    depth 1: x rho ~ x^(1/2) down to 0, 1.7e-5 there), not an edge of the product; such bands keep the
    cosine map in x, and a soft edge far above it is found by :func:`_hidden_soft_edge_possible`."""
    return all(f.values is not None for f in sys.imp) or sys.kappa > 0


def _hidden_soft_edge_possible(sys, lo, hi) -> bool:
    """Whether the lowest band [lo, hi] (log x) may hide a soft lower edge far above ``lo``: one smooth
    implicit factor (D^2 with a continuous law reaching towards 0, e.g. selu / elu / sigmoid), no power law
    at 0, and a band wider than :data:`_WIDE_BAND_LOG_RATIO`.  Its ``lo`` is then the critical value at the
    end of the quadrature's view of D^2 (~1e-13), while the product rises from ~0 to its bulk at an edge
    tens of e-folds higher, which the cosine map would cross with a few nodes (selu/orthogonal depth 8:
    mass off by 1e-5)."""
    return (sys.k == 1 and not sys.gen and sys.imp[0].values is None and sys.kappa <= 0
            and hi - lo > _WIDE_BAND_LOG_RATIO)


def _cut_law(sys) -> bool:
    """Whether the one implicit factor of ``sys`` is a cut law: its spectrum's lower end is one of its
    ``jump_values``, where its continuous part stops at a cut (the piecewise D^2 of selu / elu, cut where the
    Gaussian weight is e^-46), not an edge of the law.  The product's band then ends at the cut's image,
    far below where its density is negligible (:func:`_trim_unsolved_tail`)."""
    if sys.k != 1:
        return False
    f = sys.imp[0]
    return bool(f.jump_values) and min(f.jump_values) <= f.bounds[0]


def _trim_unsolved_tail(u, w, sol, cmass_exact):
    r"""(u, w, sol) of a band of a cut law (:func:`_cut_law`) without its negligible deep tail, where the density
    has decayed below the cut law's own error (e^-46 of Gaussian weight) and the continuation from the bulk
    loses the sheet (selu/orthogonal critical, depth 16: constant x rho ~ 3e-10 on another sheet below
    x = e^-49, under certified values of 2e-13 that rise by 17 e-folds within 6).  Dropped: the lowest nodes
    that are quiet (certified, x rho within :data:`_SOFT_QUIET` of the mass or the rounding level) or not
    certified, up to the first certified node that is not quiet; where a node not certified lies above that,
    the nodes up to it, provided the :data:`_SOFT_CUT_QUIET_RUN` certified nodes above it are quiet or rise in
    x rho with the mass below the lowest of them, estimated as an exponential tail in u from its log-slope s,
    :math:`x\rho(u_0)/s`, below :data:`_CUT_LAW_REMAINDER` of the mass (otherwise nothing is dropped and the
    refusal stands)."""
    order = np.argsort(u)
    xr_all = -np.imag(sol.m[order]) / math.pi
    noise_all = np.minimum(_NOISE_MULTIPLE * sol.acc[order] / math.pi, _SOFT_NOISE_CAP * cmass_exact)
    loud = sol.ok[order] & (np.abs(xr_all) > _SOFT_QUIET * cmass_exact + noise_all)
    if not np.any(loud):
        return u, w, sol
    start = int(np.argmax(loud))
    bad = np.flatnonzero(~sol.ok[order])
    if bad.size and bad.max() > start:
        start = int(bad.max()) + 1
        run = order[start: start + _SOFT_CUT_QUIET_RUN]
        xr = -np.imag(sol.m[run]) / math.pi
        if xr.size < _SOFT_CUT_QUIET_RUN:
            return u, w, sol
        noise = np.minimum(_NOISE_MULTIPLE * sol.acc[run] / math.pi, _SOFT_NOISE_CAP * cmass_exact)
        quiet = bool(np.all(np.abs(xr) <= _SOFT_QUIET * cmass_exact + noise))
        rising = bool(xr[0] > 0 and np.all(np.diff(xr) > 0))
        if not (quiet or (rising and xr[0] * (u[run[1]] - u[run[0]]) / math.log(xr[1] / xr[0])
                          <= _CUT_LAW_REMAINDER * cmass_exact)):
            return u, w, sol
    keep = np.sort(order[start:])
    return u[keep], w[keep], sol.take(keep)


def _cut_law_grid(sys, lo_u, hi_u, n, cmass_exact):
    """Nodes of the only band of a cut law: a coarse solve (:data:`_CUT_LAW_COARSE` nodes, the cosine map in
    log x) finds its negligible deep tail (:func:`_trim_unsolved_tail`); the band's grid starts at the highest
    coarse node dropped (solving the whole band at 2000 nodes spent most of its time in vertical continuations
    of the nodes there: elu/orthogonal off the critical line, depth 4, 11 s against 2.1 s)."""
    return _band_nodes(_cut_law_start(sys, lo_u, hi_u, cmass_exact), hi_u, n, log_map=True)


def _cut_law_start(sys, lo_u, hi_u, cmass_exact) -> float:
    """Where the grid of the lowest band [lo_u, hi_u] of a cut law starts: the highest node of a coarse solve
    (:data:`_CUT_LAW_COARSE` nodes, the cosine map in log x) in its negligible deep tail
    (:func:`_trim_unsolved_tail`), ``lo_u`` where there is none."""
    uc, wc, _ = _band_nodes(lo_u, hi_u, _CUT_LAW_COARSE, log_map=True)
    ut = _trim_unsolved_tail(uc, wc, _solve_real(sys, uc), cmass_exact)[0]
    below = uc[uc < np.min(ut)] if ut.size else np.array([])
    return float(np.max(below)) if below.size else lo_u


def _singular_band_nodes(sys, lo_u, hi_u, n, singular, trim, cmass_exact):
    """(u, w, end pieces) of a band [lo_u, hi_u] with an end at a zero-mass atom of the product (``singular``:
    (lower end, upper end)): each such end its :func:`~.singular_end._end_piece` (Gauss--Legendre in the log of
    the offset; both ends: each up to the band's middle), the rest of the band between the pieces and its other
    end -- Gauss--Legendre in log x from where a cut law's negligible deep tail ends (``trim``: the lowest band
    of a cut law, whose lower end is the cut's image), else the s^2 map to that end (an edge of the product,
    x rho ~ sqrt: Gauss--Legendre in s, spectrally accurate there and at the smooth end next to the piece)."""
    sing_lo, sing_hi = singular
    n_end = n // 2 if sing_lo and sing_hi else n
    ends = ([_end_piece(lo_u, hi_u, n_end)] if sing_lo else []) + ([_end_piece(hi_u, lo_u, n_end)] if sing_hi else [])
    u = np.concatenate([p.u for p in ends])
    w = np.concatenate([p.w for p in ends])
    rest = n - u.size
    if sing_lo and sing_hi:
        return u, w, ends
    if sing_hi and trim:
        start = _cut_law_start(sys, lo_u, hi_u, cmass_exact)
        ur, wr = _gl(rest, start, ends[0].split_u)
    elif sing_hi:
        ur, wr = _edge_nodes(ends[0].split_u, lo_u, rest)
    else:
        ur, wr = _edge_nodes(ends[0].split_u, hi_u, rest)
    return np.concatenate([ur, u]), np.concatenate([wr, w]), ends


def _singular_band(sys, lo_u, hi_u, n, singular, trim, cmass_exact):
    """(u, w, sol, end laws) of a band with an end at a zero-mass atom of the product: its nodes
    (:func:`_singular_band_nodes`) solved, and per such end (u of the end, the end law fitted on the nodes next
    to it: :func:`~.singular_end._end_mass`, with the mass closer to the end than the nodes)."""
    u, w, ends = _singular_band_nodes(sys, lo_u, hi_u, n, singular, trim, cmass_exact)
    # the end pieces and the rest are different grid families: no interpolation across their joins
    u, w, sol = _solve_band(sys, u, w, trim, cmass_exact, breaks=tuple(p.split_u for p in ends),
                            stride=_SINGULAR_BAND_STRIDE)
    return u, w, sol, [(piece.end_u, _end_mass(piece, u, -np.imag(sol.m) / math.pi, sol.ok)) for piece in ends]


def _solve_band(sys, u, w, trim, cmass_exact, breaks=(), regrid_hi=None, stride=_ANCHOR_STRIDE):
    """(u, w, sol) on a band's nodes; ``trim`` (the lowest band of a cut law): without its negligible deep tail
    (:func:`_trim_unsolved_tail`), and where that took more than :data:`_CUT_LAW_REGRID` of the grid of a band
    in log x up to ``regrid_hi``, solved once more from the highest node dropped (elu/orthogonal off the
    critical line, depth 256: 1564 of 2000 nodes dropped, the mass off 2.1e-6 on the rest)."""
    sol = _solve_real(sys, u, stride=stride, breaks=breaks)
    if not trim:
        return u, w, sol
    ut, wt, st = _trim_unsolved_tail(u, w, sol, cmass_exact)
    if regrid_hi is None or ut.size >= (1.0 - _CUT_LAW_REGRID) * u.size or ut.size == 0:
        return ut, wt, st
    ur, wr, _ = _band_nodes(float(np.max(u[u < np.min(ut)])), regrid_hi, u.size, log_map=True)
    return _trim_unsolved_tail(ur, wr, _solve_real(sys, ur), cmass_exact)


def _low_nodes_quiet(u, sol, cmass_exact) -> bool:
    """The lowest nodes of a soft-edge grid carry no mass: certified, and x rho there within
    :data:`_SOFT_QUIET` of the mass (or the rounding level of -Im m / pi, capped at :data:`_SOFT_NOISE_CAP` of
    the mass or of the largest x rho, whichever is larger: the rounding of Im m grows with |m|, and a band
    narrow in log x has both large, e.g. sin/orthogonal depth 1000 at sigma_w^2 = 1 + 1e-4: |m| ~ 97,
    max x rho 72, x rho +-1.3e-9 below its soft edge)."""
    low = np.argsort(u)[: max(3, u.size // _LOW_CHECK_DIVISOR)]
    xr_low = -np.imag(sol.m[low]) / math.pi
    top = float(np.max(np.where(sol.ok, np.abs(np.imag(sol.m)) / math.pi, 0.0), initial=0.0))
    noise_low = np.minimum(_NOISE_MULTIPLE * sol.acc[low] / math.pi, _SOFT_NOISE_CAP * max(cmass_exact, top))
    return bool(np.all(sol.ok[low]) and np.all(np.abs(xr_low) <= _SOFT_QUIET * cmass_exact + noise_low))


def _hidden_soft_edge(sys, lo_u, hi_u, cmass_exact):
    """(soft, fast) for a band whose soft lower edge lies above its lower end ``lo_u`` (u = log(x / scale)),
    or (None, False): the critical point first, then the search on the band's grid, never below ``lo_u``."""
    soft = _soft_edge_critical(sys, hi_u, cmass_exact)
    fast = soft is not None and soft[0] > lo_u
    if not fast:
        soft = _soft_edge(sys, hi_u, max_span=hi_u - lo_u)
    if soft is None or not soft[0] > lo_u:
        return None, False
    return soft, fast


def _holds_the_mass(w, sol, cmass_exact) -> bool:
    """The continuous mass on the certified nodes within the certificate: a soft edge found above the band's
    lower end is used only then (else the band's own grid serves, as without the soft edge)."""
    xr = np.where(sol.ok, -np.imag(sol.m) / math.pi, 0.0)
    return abs(float(np.sum(w * xr)) - cmass_exact) <= CERTIFICATE_TOL


def _closed_form_pieces(sys, e):
    """The pieces (a, b) in u of the bands of a one-factor law, split at its critical, limit and jump values,
    the limit values (spikes) in u, and the finite ends in u: its jump values and the ends that two bands share
    (an atom inside the continuous spectrum), where the density is finite on the piece's side."""
    log_c = e.log_lambda_max
    f = sys.imp[0]

    def to_u(values):
        return [math.log(v) + sys.const - log_c for v in values if v > 0]

    crit_u = sorted(to_u(f.critical_values) + to_u(f.limit_values) + to_u(f.jump_values))
    pieces = []
    for lo, hi in e.log_bands:
        a, b = lo - log_c, hi - log_c
        ends = [a] + [c for c in crit_u if a + _BREAK_MERGE < c < b - _BREAK_MERGE] + [b]
        pieces += list(zip(ends[:-1], ends[1:], strict=True))
    shared = [hi - log_c for (_, hi), (lo, _) in zip(e.log_bands[:-1], e.log_bands[1:], strict=True) if hi == lo]
    return pieces, to_u(f.limit_values), to_u(f.jump_values) + shared


def _gap_origin(a, b, e):
    """u of the singular point of the record (``e.log_singular``) that a gap separates from the piece [a, b] (u)
    ending at the gap's far end a (a singular point too, more than _BREAK_MERGE above it), or None."""
    log_c = e.log_lambda_max
    if not np.isfinite(a) or not _near_any(a + log_c, e.log_singular):
        return None
    below = [c - log_c for c in e.log_singular if c - log_c < a - _BREAK_MERGE]
    return max(below) if below and b > a else None


def _near_any(x, values) -> bool:
    return any(abs(c - x) <= _BREAK_MERGE for c in values)


def _closed_form_bands(sys, e, points, cmass_exact) -> _BandGrid:
    r"""Nodes of a :func:`~.real_axis._closed_form` law (the law of one factor, e.g. :math:`\sigma_w^2 D^2`):
    every band split at the factor's ``critical_values`` inside it, where its density is singular
    (:math:`\rho \sim |x - x_c|^{-1/2}` at a nondegenerate extremum of :math:`d(h)`, e.g. the top of
    :math:`\tanh'^2`) and at its ``limit_values`` (a log-normal spike where d tends to a limit inside the
    spectrum).  Each piece gets the cosine map (in log x when wider than :data:`_WIDE_BAND_LOG_RATIO`),
    whose midpoint rule integrates an inverse square root at an end exactly in the limit (dx ~ t dt); a
    piece next to a spike the tanh-sinh rule (:func:`~.grid._tanh_sinh_nodes`), whose nodes reach it
    double-exponentially; a piece reaching 0 the s^2 map to its top and Gauss--Legendre in log x, over 40
    e-folds, doubled (up to :data:`_CLOSED_FORM_MAX_SPAN`) while its lowest node carries more than
    :data:`_SOFT_CUT` of the mass (the law of :math:`D^2` of erf at large q reaches 0 like
    :math:`x^{1/(4 b^2 q)}`, over hundreds of e-folds), then the power-law tail.  Neither the soft edge nor
    the hidden soft edge of a product applies: the density is the factor's own, evaluated directly.  A piece
    between two finite ends (a jump of a piecewise :math:`D^2`, an atom inside the spectrum) gets
    Gauss--Legendre in log x: there the density is analytic up to both ends, where the cosine map's midpoint
    rule converges only as :math:`n^{-2}` (selu at depth 1: mass off 7.7e-8 with 2000 nodes).  A factor with a
    ``pushforward`` (gelu, swish): the piece next to a spike gets :func:`~.grid._spike_nodes`, its mass within
    :data:`_SPIKE_OFFSET` of the spike comes from the push-forward (``spike_mass``), and its pieces between
    critical values get :func:`~.grid._cosine_gl_nodes` (docs/design.md §5.4).  A piece from the end of a gap
    above a singular point of the record (a relu residual block's, docs/design.md §6.1) gets
    :func:`~.grid._gap_end_nodes`, a piece up to such a point :func:`~.grid._two_edge_nodes`."""
    pieces, spikes, finite = _closed_form_pieces(sys, e)
    n = max(_MIN_BAND_NODES, points // len(pieces))
    parts, floor_u, spike_mass = [], None, []
    for a, b in pieces:
        u, w, fl, spike = _closed_form_piece(sys, e, a, b, n, spikes, finite, cmass_exact)
        if spike is not None:
            spike_mass.append(spike)
        if fl is not None:
            floor_u = fl
        parts.append((u, w))
    u, wv = np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
    sol = _solve_real(sys, u)
    return _BandGrid(_Nodes(u, wv, sol.m, -np.imag(sol.m) / math.pi, sol.ok, sol.res, sol.fb, sol.acc), floor_u, [],
                     tuple(spike_mass))


def _closed_form_piece(sys, e, a, b, n, spikes, finite, cmass_exact):
    """(u, w, floor, spike mass or None) of the piece [a, b] (u) of a one-factor law (:func:`_closed_form_bands`)."""
    pf = sys.imp[0].pushforward
    at_spike = [c for c in spikes if _near_any(c, (a, b))]
    if at_spike and pf is not None:
        # the law's push-forward serves the nodes and the mass closer to the spike than x resolves
        c = at_spike[0]
        u, w = _spike_nodes(c, b if _near_any(c, (a,)) else a, n)
        zeta_inf = math.exp(c + e.log_lambda_max - sys.const)
        zeta_cut = zeta_inf * (1.0 + (1.0 if _near_any(c, (a,)) else -1.0) * _SPIKE_OFFSET)
        return u, w, None, (c, pf.mass_between(zeta_inf, zeta_cut) / float(sys.imp[0].scale))
    if at_spike:
        return (*_tanh_sinh_nodes(a, b, n), None, None)
    if _near_any(a, finite) and _near_any(b, finite):
        return (*_gl(n, a, b), None, None)
    if np.isneginf(a):
        span = _LOG_SPAN
        while True:
            u, w, fl = _band_nodes(a, b, n, span=span)
            sol = _solve_real(sys, u)
            low = int(np.argmin(u))
            if (sol.ok[low] and -sol.m[low].imag / math.pi <= _SOFT_CUT * cmass_exact) or \
                    2 * span > _CLOSED_FORM_MAX_SPAN:
                return u, w, fl, None
            span *= 2
    if (origin := _gap_origin(a, b, e)) is not None:
        return (*_gap_end_nodes(a, origin, b, n), None, None)
    if _near_any(b + e.log_lambda_max, e.log_singular):
        return (*_two_edge_nodes(a, b, n), None, None)
    if pf is not None:
        # inverse square roots at the critical values that end the piece (docs/design.md §5.4)
        return (*_cosine_gl_nodes(a, b, n), None, None)
    u, w, fl = _band_nodes(a, b, n, log_map=True)
    return u, w, fl, None


def _plain_band(sys, lo_u, hi_u, n, nb, trim, log_map, cmass_exact):
    """(u, w, sol, floor, soft) of one band [lo_u, hi_u] (u = log(x / scale)) of ``nb`` with ``n`` nodes: a band
    reaching 0 with its soft lower edge, the only band of a law with a hidden soft edge above its lower end,
    the only band of a cut law without its negligible deep tail, or the band's own grid (:func:`_band_nodes`);
    ``floor``: the lowest u covered by a band reaching 0 (the tail continues below), ``soft``: the soft edge
    (cut, edge) in u, or None."""
    soft, fast, hidden = None, False, False
    if np.isneginf(lo_u) and sys.k and sys.kappa <= 0:
        soft = _soft_edge_critical(sys, hi_u, cmass_exact)
        fast = soft is not None
        if not fast:
            soft = _soft_edge(sys, hi_u)
    elif nb == 1 and not trim and _hidden_soft_edge_possible(sys, lo_u, hi_u):
        soft, fast = _hidden_soft_edge(sys, lo_u, hi_u, cmass_exact)
        hidden = soft is not None
    u, w, fl = (_cut_law_grid(sys, lo_u, hi_u, n, cmass_exact) if trim and nb == 1 else
                _band_nodes(-np.inf if hidden else lo_u, hi_u, n, soft, log_map=log_map))
    u, w, sol = _solve_band(sys, u, w, trim, cmass_exact, breaks=(soft[1],) if fast else (),
                            regrid_hi=hi_u if trim and nb == 1 else None)
    if hidden and not (_low_nodes_quiet(u, sol, cmass_exact) and _holds_the_mass(w, sol, cmass_exact)):
        # mass at the lowest nodes, or mass missing: the band's own grid down to its lower end
        soft = None
        u, w, fl = _band_nodes(lo_u, hi_u, n, log_map=log_map)
        u, w, sol = _solve_band(sys, u, w, trim, cmass_exact)
    elif fast and not hidden and not _low_nodes_quiet(u, sol, cmass_exact):
        # (else: the soft edge by the search on the band's grid)
        soft = _soft_edge(sys, hi_u)
        u, w, fl = _band_nodes(lo_u, hi_u, n, soft)
        sol = _solve_real(sys, u)
    return u, w, sol, fl, soft


def _solve_bands(sys, e, points, cmass_exact) -> _BandGrid:
    """Nodes on every band of the edges ``e`` (``points`` in all, at least 32 a band) and M(x + i0) there."""
    if _closed_form(sys):
        return _closed_form_bands(sys, e, points, cmass_exact)
    log_c = e.log_lambda_max
    nb = len(e.log_bands)
    counts = [max(_MIN_BAND_NODES, points // nb)] * nb
    counts[-1] = max(_MIN_BAND_NODES, points - sum(counts[:-1]))
    us, ws, sols = [], [], []
    end_mass: list = []
    floor_u = None
    soft_edges = []
    log_map = _log_map_ok(sys)
    cut_law = _cut_law(sys)
    for ib, ((lo, hi), n) in enumerate(zip(e.log_bands, counts, strict=True)):
        # the lowest band ends where the cut law's spectrum does; alone, it spreads over the decades down to
        # there (its own grid, in log x)
        trim = cut_law and ib == 0
        singular = (_near_any(lo, e.log_singular), _near_any(hi, e.log_singular))
        if np.isfinite(lo) and any(singular):
            # an end at a zero-mass atom of the product (docs/design.md §5.10)
            u, w, sol, masses = _singular_band(sys, lo - log_c, hi - log_c, n, singular, trim, cmass_exact)
            end_mass += masses
        else:
            u, w, sol, fl, soft = _plain_band(sys, lo - log_c, hi - log_c, n, nb, trim, log_map, cmass_exact)
            if soft is not None:
                soft_edges.append(math.exp(min(soft[1] + log_c, 709.0)))
            if fl is not None:
                floor_u = fl
        us.append(u)
        ws.append(w)
        sols.append(sol)
    u, wv = np.concatenate(us), np.concatenate(ws)
    m = np.concatenate([sol.m for sol in sols])
    ok, res = np.concatenate([sol.ok for sol in sols]), np.concatenate([sol.res for sol in sols])
    fb, acc = np.concatenate([sol.fb for sol in sols]), np.concatenate([sol.acc for sol in sols])
    return _BandGrid(_Nodes(u, wv, m, -np.imag(m) / math.pi, ok, res, fb, acc, *_unknowns(sols)), floor_u,
                     soft_edges, tuple((eu, em.mass) for eu, em in end_mass if math.isfinite(em.mass)),
                     tuple(end_mass))


def _unknowns(sols):
    """(zeta, m - m0) of all nodes of the bands' solutions, (None, None) where one band lacks them."""
    if not all(sol.zeta is not None and sol.delta is not None for sol in sols):
        return None, None
    return np.concatenate([sol.zeta for sol in sols], axis=1), np.concatenate([sol.delta for sol in sols])
