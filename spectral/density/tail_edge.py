r"""A tail of a band reaching 0 solved once more where it carries its mass (docs/design.md §5.7): where its nodes
show :math:`x\rho` dropping from the bulk's level to negligible between two of them (a soft lower edge), on a grid
that follows the drop; where it fades out smoothly on a few of its nodes far above its lower end, on the part that
carries it.

Deep orthogonal products of a smooth :math:`D^2` reach 0 only through a tail that falls faster than any power;
far off isometry (:math:`q^*` of order 1) at depth :math:`10^4` their bulk spreads over thousands of e-folds
(Tucci: :math:`\lambda^{1/L}` tends to a law with a lower end) and rises from that tail almost like a square
root, thousands of e-folds below the band's grid (tanh / orthogonal at :math:`\sigma_w^2 = 1.3`: 96% of the mass
below :math:`x = e^{-35}`, edge at :math:`\log x = -2249.3`, :math:`x\rho` from :math:`10^{-5}` to
:math:`10^{-11}` within 0.6 e-fold).  The power-law tail's Gauss--Legendre nodes are spaced by ~190 e-folds
there, so its quadrature missed the rise (mass off :math:`4.4\cdot10^{-4}`).  The edge is bracketed by the tail
nodes themselves, refined by seeded solves (the march of :mod:`.sheet` from the loud node above), and the tail
becomes: Gauss--Legendre in u on [cut, edge] and the :math:`s^2` map in u on [edge, u_0] (spectrally accurate
at a square-root rise and smooth at the band's floor :math:`u_0`), with nothing below ``cut``.  A fade: the
power law assumed from the band's lowest nodes can decay far slower than the tail (tanh / Gaussian at
:math:`\sigma_w^2 = 4`, depth 1000: exponent :math:`10^{-5}`, the tail spread over :math:`3.6\cdot10^6` e-folds,
its mass on 13 nodes, off :math:`7\cdot10^{-5}`); Gauss--Legendre in u on [cut, u_0] then."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .grid import _gl, _log_edge_nodes
from .real_axis import _RealSolution, _solve_real
from .tolerances import (
    _LOW_CHECK_DIVISOR,
    _NOISE_MULTIPLE,
    _SOFT_CUT,
    _SOFT_EDGE_BRACKET,
    _SOFT_EDGE_LEVEL,
    _SOFT_NOISE_CAP,
    _TAIL_EDGE_ROUNDS,
    _TAIL_FADE_DIVISOR,
    _TAIL_RESOLVED,
    _TAIL_SPLIT_REST,
    _TAIL_STRIDE,
)


@dataclass(frozen=True)
class _TailEdge:
    """The tail re-solved on a grid that follows its soft lower edge: nodes ``u`` (log(x / scale)), weights ``w``
    (mass = sum w x rho), the solution ``sol``; ``cut`` and ``edge`` in u (``edge`` None where the tail fades
    out smoothly)."""

    u: np.ndarray
    w: np.ndarray
    sol: _RealSolution
    cut: float
    edge: float | None
    #: (beta, est) where the tail goes on below ``cut`` (a faint tail under the mass, :func:`_split`): the power
    #: law's exponent there and its remainder estimate, else None (nothing below ``cut``)
    rest: tuple | None = None


def _quiet_level(sol: _RealSolution, mass: float) -> np.ndarray:
    r""":math:`x\rho` at or below which a node carries no mass: :data:`_SOFT_CUT` of the mass plus the rounding
    level of -Im m / pi (as the soft edge's search of a band, :func:`~.soft_edge._soft_edge`)."""
    return _SOFT_CUT * mass + np.minimum(_NOISE_MULTIPLE * sol.acc / math.pi, _SOFT_NOISE_CAP * mass)


def _seed(u, sol, i):
    """(u, zeta, m - m0) of node ``i`` of ``sol`` (a :class:`_RealSolution` or the bands' ``_Nodes``: anything
    with ``zeta``, ``delta``, ``ok``): the start of the march to nodes below it, or None where the node is not
    certified or the unknowns are not known."""
    if sol.zeta is None or sol.delta is None or not sol.ok[i]:
        return None
    return (float(u[i]), sol.zeta[:, i], sol.delta[i])


def _drop(u, sol: _RealSolution, mass, tail_tol):
    r"""(j, big) where the tail's nodes (``u`` descending) drop from the bulk to negligible: ``big`` is
    :data:`_SOFT_EDGE_LEVEL` of the largest :math:`x\rho` of the tail, node j the deepest certified one with
    :math:`x\rho \ge` ``big``, every node below it quiet (:func:`_quiet_level`) or not certified (off the physical
    sheet below the edge, where the march from above may be lost), and more than ``tail_tol`` of mass between
    nodes j and j + 1 at the level of node j (their quadrature cannot resolve the drop).  A tail that decays
    smoothly through the levels between ``big`` and quiet (a power law, or the Gaussian ensemble's
    faster-than-power decay) has loud nodes below j: no drop.  None without a drop."""
    xr = np.where(sol.ok, -np.imag(sol.m) / math.pi, np.nan)
    loud = sol.ok & (xr > _quiet_level(sol, mass))
    if not np.any(loud):
        return None
    big = _SOFT_EDGE_LEVEL * float(np.nanmax(xr[loud]))
    j = int(np.flatnonzero(sol.ok & (xr >= big))[-1])
    if j + 1 >= u.size or np.any(loud[j + 1:]) or not xr[j] * (u[j] - u[j + 1]) > tail_tol:
        return None
    return j, big


def _locate(sys, hi, lo, seed, big, mass):
    r"""(cut, edge) in u of the drop bracketed by ``hi`` (:math:`x\rho \ge` ``big``, the node of ``seed``) and
    ``lo`` (quiet, or not certified): rounds of 16 seeded solves inside the bracket (at least two, at most
    :data:`_TAIL_EDGE_ROUNDS`, until it is narrower than :data:`_SOFT_EDGE_BRACKET`), the bracket's upper end the
    lowest of the certified nodes with :math:`x\rho \ge` ``big`` that head the round; ``edge`` is its lower end,
    ``cut`` the highest certified quiet node solved below it.  None where no such node was solved or the bracket
    was not narrowed to that width."""
    cut = None
    for rnd in range(_TAIL_EDGE_ROUNDS):
        uu = np.linspace(hi, lo, 18)[1:-1]
        st = _solve_real(sys, uu, stride=_TAIL_STRIDE, seed=seed)
        xr = np.where(st.ok, -np.imag(st.m) / math.pi, np.nan)
        low = np.flatnonzero(~(xr >= big))
        k = int(low[0]) if low.size else uu.size
        if k > 0:
            hi, seed = float(uu[k - 1]), _seed(uu, st, k - 1)
        if k < uu.size:
            lo = float(uu[k])
            quiet = np.flatnonzero(st.ok[k:] & (xr[k:] <= _quiet_level(st, mass)[k:]))
            if quiet.size and (cut is None or uu[k + quiet[0]] > cut):
                cut = float(uu[k + quiet[0]])
        if rnd >= 1 and hi - lo <= _SOFT_EDGE_BRACKET:
            return (cut, lo) if cut is not None else None
    return None


def _fade(u, sol: _RealSolution, mass, nt):
    r"""The u of the cut below which the tail's nodes (``u`` descending, ``nt`` of them) carry nothing, where the
    tail fades out smoothly far above its lower end: every node below the deepest loud one (:func:`_quiet_level`)
    quiet or not certified, the cut the first certified quiet one among them, and fewer than
    :data:`_TAIL_FADE_DIVISOR` th of the nodes above it (the power law assumed from the band's lowest nodes
    decays far slower than the tail: tanh / Gaussian at sigma_w^2 = 4, depth 1000, exponent 1e-5 from the
    nearly flat x rho there, the tail spread over 3.6e6 e-folds, its mass within the top 2e4 on 13 nodes).
    None otherwise."""
    xr = np.where(sol.ok, -np.imag(sol.m) / math.pi, np.nan)
    loud = sol.ok & (xr > _quiet_level(sol, mass))
    if not np.any(loud):
        return None
    k = int(np.flatnonzero(loud)[-1]) + 1
    quiet = np.flatnonzero(sol.ok[k:] & ~loud[k:])
    if not quiet.size or k >= nt // _TAIL_FADE_DIVISOR:
        return None
    return float(u[k + quiet[0]])


def _split(u, w, sol: _RealSolution, nt):
    r"""(u_k, beta, est) where the tail's mass (``u`` descending, weights ``w``) lies on fewer than
    :data:`_TAIL_FADE_DIVISOR` th of its ``nt`` nodes and a faint tail goes on below them: node k is the first
    below which at most :data:`_TAIL_SPLIT_REST` of the chunk's mass remains, certified with :math:`x\rho` falling
    to node k + 1 (beta: the log-slope between them, est: the power law's remainder below node k).  sin /
    orthogonal at sigma_w^2 = 1.1, depth 10^4: the bulk falls from 3.2e-3 to 2.7e-8 between log x = -163 and -496
    on 16 nodes, above the zeros of cos's power-law tail (1e-9 to 1e-15 over 1e5 e-folds).  None otherwise."""
    xr = np.where(sol.ok, np.maximum(-np.imag(sol.m) / math.pi, 0.0), 0.0)
    contrib = w * xr
    total = float(np.sum(contrib))
    if not total > 0:
        return None
    rest = np.cumsum(contrib[::-1])[::-1]
    k = int(np.argmax(rest <= _TAIL_SPLIT_REST * total))
    if not (0 < k < min(nt // _TAIL_FADE_DIVISOR, u.size - 1) and sol.ok[k] and sol.ok[k + 1]
            and xr[k] > xr[k + 1] > 0):
        return None
    beta = math.log(xr[k] / xr[k + 1]) / (u[k] - u[k + 1])
    return float(u[k]), beta, float(xr[k]) / beta


def _resolution_error(u, w, sol: _RealSolution) -> float:
    r"""The estimated quadrature error of a tail chunk's mass (``u`` descending, Gauss--Legendre weights ``w`` in
    u): the Legendre coefficients :math:`c_k` of :math:`x\rho` on its n nodes (uncertified nodes as 0) decay as
    :math:`\rho^{-k}` for an integrand analytic in an ellipse, and Gauss--Legendre's error is of the order of
    :math:`c_{2n}`; with r the largest :math:`|c_k|/|c_0|` over :math:`k \ge 3n/4`, that is
    :math:`r^{8/3}` of the chunk's mass.  Measured against the actual errors: 1e-10 (the chunk right to 5e-11,
    tanh / Gaussian at 1.05, depth 1000), 1.7e-4 (7e-5: tanh / Gaussian at 4), 0.014 and 0.08 (7.7e-4, 4.4e-4:
    sin at 1.1 and tanh at 1.3, orthogonal, depth 10^4)."""
    n = u.size
    span = float(np.sum(w))
    g = np.where(sol.ok, np.maximum(-np.imag(sol.m) / math.pi, 0.0), 0.0)
    x = 1.0 - 2.0 * (0.5 * (u[0] + u[-1] + span) - u) / span   # the Gauss--Legendre nodes in (-1, 1)
    om = 2.0 * w / span
    p0, p1 = np.ones(n), x
    c = np.zeros(n)
    c[0], c[1] = 0.5 * np.sum(om * g), 1.5 * np.sum(om * g * x)
    for k in range(2, n):
        p0, p1 = p1, ((2 * k - 1) * x * p1 - (k - 1) * p0) / k
        c[k] = (k + 0.5) * np.sum(om * g * p1)
    if not c[0] > 0:
        return 0.0
    r = float(np.max(np.abs(c[3 * n // 4:]))) / c[0]
    return span * c[0] * min(r, 1.0) ** (8.0 / 3.0)


def _tail_edge(sys, u0, u, w, sol: _RealSolution, seed, nt, mass, tail_tol) -> _TailEdge | None:
    r"""The tail below ``u0`` re-solved where it carries its mass, or None: ``nt`` nodes, solved with ``seed`` (the
    band's lowest node) starting the march.  Nothing where the chunk's quadrature is resolved
    (:func:`_resolution_error` within :data:`_TAIL_RESOLVED` of the mass).  A sharp drop among its nodes ``u``
    (descending, weights ``w``, solution ``sol``; :func:`_drop`), located (:func:`_locate`): max(16, nt / 16)
    Gauss--Legendre in u on [cut, edge], the rest the :math:`s^2` map in u on [edge, u0]
    (:func:`~.grid._log_edge_nodes`); a smooth fade far above the tail's lower end (:func:`_fade`):
    Gauss--Legendre in u on [cut, u0]; the mass on few nodes above a faint tail (:func:`_split`): Gauss--Legendre
    in u on [split, u0], ``rest`` set for the power-law chunks below.  None without any of these, where the drop
    is not located, or where the new grid of a drop or fade has its lowest nodes not certified and quiet (no
    mass below ``cut``, as at a band's soft edge)."""
    if _resolution_error(u, w, sol) <= _TAIL_RESOLVED * mass:
        return None
    found = _drop(u, sol, mass, tail_tol)
    edge, rest = None, None
    if found is not None:
        j, big = found
        located = _locate(sys, float(u[j]), float(u[j + 1]), _seed(u, sol, j), big, mass)
        if located is None:
            return None
        cut, edge = located
        n_low = max(16, nt // 16)
        ua, wa = _gl(n_low, cut, edge)
        ub, wb = _log_edge_nodes(edge, u0, nt - n_low)
        ua, wa = np.concatenate([ua, ub]), np.concatenate([wa, wb])
    else:
        faded = _fade(u, sol, mass, nt)
        split = _split(u, w, sol, nt) if faded is None else None
        if faded is not None:
            cut = faded
        elif split is not None:
            cut, rest = split[0], split[1:]
        else:
            return None
        ua, wa = _gl(nt, cut, u0)
    order = np.argsort(-ua, kind="stable")  # descending, as the power-law tail's nodes
    un, wn = ua[order], wa[order]
    st = _solve_real(sys, un, stride=_TAIL_STRIDE, seed=seed)
    if rest is not None:
        return _TailEdge(un, wn, st, cut, None, rest)
    low = np.argsort(un)[: max(3, un.size // _LOW_CHECK_DIVISOR)]
    xr_low = -np.imag(st.m[low]) / math.pi
    if not (np.all(st.ok[low]) and np.all(np.abs(xr_low) <= _quiet_level(st, mass)[low])):
        return None
    return _TailEdge(un, wn, st, cut, edge)
