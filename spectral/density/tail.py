r"""Stage "tail": the continuous mass of a band reaching 0 below its grid, by the power law
:math:`x\rho(x) \sim x^\beta`, nodes :math:`u = u_0 - t/\beta` in log x (never formed in x), and the bounded
remainder below the deepest certified node (docs/design.md §5.7)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .bands import _BandGrid, _Nodes
from .grid import _gl
from .real_axis import _RealSolution, _solve_real
from .tail_edge import _seed, _tail_edge
from .tolerances import (
    _EPS,
    _MODE_B_ENTER,
    _TAIL_MARGIN,
    _TAIL_MIN_NODES,
    _TAIL_NODE_DIVISOR,
    _TAIL_RESIDUAL_NOISE,
    _TAIL_RESOLUTION,
    _TAIL_RESOLUTION_BUDGET,
    _TAIL_STRIDE,
)


@dataclass(frozen=True)
class _Tail:
    """The band nodes with the tail nodes prepended (``nodes``), the mass ``remainder`` below the deepest
    certified tail node (bounded by the power law), and the ``info`` for the diagnostics (``tail_exponent``,
    ``tail_remainder``, ``tail_uncertified``, ``tail_log_x_min``; empty without a band reaching 0)."""

    nodes: _Nodes
    remainder: float = 0.0
    info: dict = field(default_factory=dict)


def _tail_exponent(sys, e, nodes: _Nodes) -> float:
    """beta of x rho ~ x^beta at 0: exact for linear factors (``e.beta``), else the slope between the two
    lowest nodes (1 / (1 + the total multiplicity) where that is not positive), at most 1."""
    u, xrho = nodes.u, nodes.xrho
    k0 = int(np.argmin(u))
    k1 = int(np.argsort(u)[5])
    beta = e.beta
    if not (beta == beta and beta > 0):
        ratio = xrho[k1] / xrho[k0] if xrho[k0] > 0 else math.nan
        beta = math.log(ratio) / (u[k1] - u[k0]) if ratio > 0 else math.nan
        if not (np.isfinite(beta) and beta > 0):
            beta = 1.0 / (1.0 + sys.ntot)
        beta = min(beta, 1.0)
    return beta


@dataclass(frozen=True)
class _Chunk:
    """One piece of the tail: nodes ``u`` (descending from ``top``), weights ``w`` (mass = sum w x rho), the
    solution ``sol``, the exponent ``beta`` it assumed, and the ``seed`` its march started from."""

    u: np.ndarray
    w: np.ndarray
    sol: _RealSolution
    beta: float
    top: float
    seed: tuple | None


def _solve_tail(sys, e, grid: _BandGrid, points, tail_tol, mass=1.0) -> _Tail:
    """Tail nodes below ``grid.floor_u`` down to where the remaining mass is below ``tail_tol``; where their
    quadrature is not resolved (a soft lower edge, a fade, the mass on few nodes above a faint tail), solved once
    more where they carry the mass (:func:`~.tail_edge._tail_edge`; ``mass``: the continuous mass, the scale of a
    negligible x rho)."""
    nodes = grid.nodes
    if grid.floor_u is None:
        return _Tail(nodes)
    u, xrho = nodes.u, nodes.xrho
    k0 = int(np.argmin(u))
    beta = _tail_exponent(sys, e, nodes)
    est = max(xrho[k0], 0.0) / beta if np.isfinite(xrho[k0]) else math.inf
    info = dict(tail_exponent=beta, tail_remainder=0.0, tail_uncertified=0)
    if not est > tail_tol:
        return _Tail(nodes, 0.0, info)
    nt = max(_TAIL_MIN_NODES, points // _TAIL_NODE_DIVISOR)
    # the lowest band node seeds the march along the real axis (sheet.py) for tail nodes off the physical sheet
    chunks = _tail_chunks(sys, grid.floor_u, beta, est, nt, tail_tol, _seed(u, nodes, k0))
    for i, c in enumerate(chunks):
        soft = _tail_edge(sys, c.top, c.u, c.w, c.sol, c.seed, nt, mass, tail_tol)
        if soft is not None:
            chunks = chunks[:i] + [_Chunk(soft.u, soft.w, soft.sol, c.beta, c.top, c.seed)]
            if soft.rest is not None:
                # the faint tail below the part that carries the mass: power-law chunks from there
                sd = _seed(soft.u, soft.sol, int(np.argmin(soft.u))) or c.seed
                chunks += _tail_chunks(sys, soft.cut, soft.rest[0], soft.rest[1], nt, tail_tol, sd)
            # where the tail carries nothing below (a soft edge or a fade), or where its faint tail starts (a split)
            info["tail_split_log_x" if soft.rest is not None else "tail_cut_log_x"] = soft.cut + e.log_lambda_max
            if soft.edge is not None:
                info.update(tail_soft_edge_log_x=soft.edge + e.log_lambda_max)
            break
    ut, wt = np.concatenate([c.u for c in chunks]), np.concatenate([c.w for c in chunks])
    mt, okt = np.concatenate([c.sol.m for c in chunks]), np.concatenate([c.sol.ok for c in chunks])
    rest, fbt = np.concatenate([c.sol.res for c in chunks]), np.concatenate([c.sol.fb for c in chunks])
    acct = np.concatenate([c.sol.acc for c in chunks])
    xrt = -np.imag(mt) / math.pi
    nt = ut.size
    beta = chunks[-1].beta
    floor = _below_resolution(ut, wt, mt, rest, okt, xrt, _log_z_noise(sys, ut, chunks, okt))
    okt, xrt = okt | floor, np.where(floor, 0.0, xrt)
    good_t = np.flatnonzero(okt & (xrt > 0))
    if good_t.size:
        i1 = good_t[-1]
        remainder = float(xrt[i1] / beta)
        # nodes below the deepest certified one are covered by the (bounded) remainder
        okt = okt | (np.arange(nt) > i1)
        xrt = np.where(np.arange(nt) > i1, 0.0, xrt)
    else:
        remainder = math.nan
    merged = _Nodes(np.concatenate([ut, u]), np.concatenate([wt, nodes.w]), np.concatenate([mt, nodes.m]),
                    np.concatenate([xrt, xrho]), np.concatenate([okt, nodes.ok]),
                    np.concatenate([rest, nodes.res]), np.concatenate([fbt, nodes.fb]),
                    np.concatenate([acct, nodes.acc]))
    info.update(tail_below_resolution=int(np.sum(floor)))
    info.update(tail_remainder=remainder, tail_uncertified=int(nt - 1 - (good_t[-1] if good_t.size else -1)),
                tail_log_x_min=float(ut[-1] + e.log_lambda_max), tail_exponent=beta, tail_chunks=len(chunks))
    return _Tail(merged, remainder, info)


def _log_z_noise(sys, u, chunks, ok) -> np.ndarray:
    r"""The rounding level of log z (:meth:`~.system._System.evaluate`'s ``noise``, the scale of Newton's own
    convergence test, docs/design.md §4.4) at the uncertified tail nodes, evaluated at their solution (from
    m - m0, whose digits m itself loses near m0); :math:`\varepsilon |u|` (the rounding of the target alone,
    a lower bound) elsewhere and where the implicit unknowns are not known."""
    noise = _EPS * np.abs(u)
    if any(c.sol.zeta is None or c.sol.delta is None for c in chunks):
        return noise
    zeta = np.concatenate([c.sol.zeta for c in chunks], axis=1)
    delta = np.concatenate([c.sol.delta for c in chunks])
    idx = np.flatnonzero(~ok & np.isfinite(delta) & np.all(np.isfinite(zeta), axis=0))
    if idx.size == 0:
        return noise
    d = delta[idx]
    B = np.abs(d) < _MODE_B_ENTER * abs(sys.m0)
    with np.errstate(all="ignore"):
        ev = sys.evaluate(np.where(B, d, d + sys.m0), B, zeta[:, idx], u[idx] + 0j)
    noise[idx] = np.where(np.isfinite(ev["noise"]), np.maximum(ev["noise"], noise[idx]), noise[idx])
    return noise


def _below_resolution(u, w, m, res, ok, xr, noise=None) -> np.ndarray:
    r"""The uncertified tail nodes whose :math:`x\rho` is below the float resolution of m itself
    (:data:`~.tolerances._TAIL_RESOLUTION` :math:`|m|/\pi`): their solution converged (residual within
    :data:`~.tolerances._TAIL_RESIDUAL_NOISE` x ``noise``, the rounding level of log z at the node,
    :func:`_log_z_noise`; eps |u| by default, u = log(x / scale)) to an m real to that resolution, and the
    nearest certified nodes on both sides have :math:`0 \le x\rho` below it.  On the physical sheet Im m < 0,
    and the neighbouring sheet's solution, one step :math:`2\pi/\kappa` further in arg(m - m0), has Im m > 0;
    both are real to resolution there, and the sheet Newton lands on is not decided by the density.  Such a
    node is taken as :math:`x\rho = 0`, with the error bound w x resolution; all of them only while those
    bounds sum to at most :data:`~.tolerances._TAIL_RESOLUTION_BUDGET` (else none).  A node between certified
    nodes above the resolution, or whose solution has Im m beyond it (another sheet with a density of its
    own), stays uncertified."""
    lim = _TAIL_RESOLUTION * np.abs(m) / math.pi
    if noise is None:
        noise = _EPS * np.abs(u)
    with np.errstate(invalid="ignore"):
        real = np.isfinite(m) & (np.abs(np.imag(m)) / math.pi <= lim) & (res <= _TAIL_RESIDUAL_NOISE * noise)
    good = np.flatnonzero(ok)
    out = np.zeros(ok.shape, bool)
    for i in np.flatnonzero(~ok & real):
        below, above = good[good < i], good[good > i]
        if below.size and above.size and all(0.0 <= xr[j] <= lim[i] for j in (below[-1], above[0])):
            out[i] = True
    if not float(np.sum(w[out] * lim[out])) <= _TAIL_RESOLUTION_BUDGET:
        return np.zeros(ok.shape, bool)
    return out


def _tail_chunks(sys, u0, beta, est, nt, tail_tol, seed=None) -> list:
    r"""The tail's nodes below ``u0``, solved: a chunk of ``nt`` Gauss--Legendre nodes in :math:`t`,
    :math:`u = u_0 - t/\beta`, down to where the power law leaves ``tail_tol``; while every node of a chunk is
    certified and the slope of :math:`\log x\rho` over its deepest nodes is below :data:`_TAIL_REFIT` times
    the :math:`\beta` it assumed, another chunk from its lower end with that slope (at most
    :data:`_TAIL_CHUNKS`).  ``seed`` (u, zeta, m - m0 of a certified node above the tail) starts the march along
    the real axis for nodes off the physical sheet; a later chunk is seeded by the deepest node of the one before
    when its implicit unknowns are known.  Each chunk a :class:`_Chunk`.

    The law of :math:`D^2` of gelu reaches 0 like :math:`\varepsilon^{1/(2q)}/\sqrt{\log(1/\varepsilon)}`,
    and the products' :math:`x\rho` flattens further down: at the critical point (q = 3.7), orthogonal depth 8,
    the slope is 0.074 at the band's lowest nodes and 0.021 at :math:`x = e^{-435}`, where one chunk with
    0.074 stopped (mass off by :math:`8\cdot10^{-6}`)."""
    chunks = []
    for _ in range(_TAIL_CHUNKS):
        T = math.log(est / tail_tol) + _TAIL_MARGIN
        tt, wt = _gl(nt, 0.0, T)
        ut = u0 - tt / beta
        # anchors every 8th node: the tail spans thousands of e-folds in which m approaches m_0 and the
        # solver switches to delta = m - m_0; interpolating m over 32 such nodes has let Newton settle on
        # another sheet (tanh/Gaussian depth 256: total mass 2.7)
        st = _solve_real(sys, ut, stride=_TAIL_STRIDE, seed=seed)
        chunks.append(_Chunk(ut, wt / beta, st, beta, u0, seed))
        seed = _seed(ut, st, -1) or seed
        xr = -np.imag(st.m) / math.pi
        k = nt // _TAIL_SLOPE_DIVISOR
        if not (np.all(st.ok) and xr[-1] > 0 and xr[-1 - k] > 0):
            break
        slope = math.log(xr[-1 - k] / xr[-1]) / (ut[-1 - k] - ut[-1])
        est = xr[-1] / slope if slope > 0 else math.inf
        if not (0 < slope < _TAIL_REFIT * beta and est > tail_tol):
            break
        u0, beta = u0 - T / beta, slope
    return chunks


#: A chunk of the tail is followed by another when the slope of log x rho over its deepest nodes is below this
#: x the exponent it assumed (the power law flattens: its remainder bound would be low) ...
_TAIL_REFIT = 0.8
#: ... at most this many chunks ...
_TAIL_CHUNKS = 8
#: ... the slope taken over the deepest 1/this of the chunk's nodes.
_TAIL_SLOPE_DIVISOR = 8
