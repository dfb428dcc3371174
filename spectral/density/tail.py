r"""Stage "tail": the continuous mass of a band reaching 0 below its grid, by the power law
:math:`x\rho(x) \sim x^\beta`, nodes :math:`u = u_0 - t/\beta` in log x (never formed in x), and the bounded
remainder below the deepest certified node (docs/design.md §5.7)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .bands import _BandGrid, _Nodes
from .grid import _gl
from .real_axis import _solve_real
from .tolerances import _TAIL_MARGIN, _TAIL_MIN_NODES, _TAIL_NODE_DIVISOR, _TAIL_STRIDE


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


def _solve_tail(sys, e, grid: _BandGrid, points, tail_tol) -> _Tail:
    """Tail nodes below ``grid.floor_u`` down to where the remaining mass is below ``tail_tol``."""
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
    T = math.log(est / tail_tol) + _TAIL_MARGIN
    nt = max(_TAIL_MIN_NODES, points // _TAIL_NODE_DIVISOR)
    tt, wt = _gl(nt, 0.0, T)
    ut = grid.floor_u - tt / beta
    # anchors every 8th node: the tail spans thousands of e-folds in which m approaches m_0 and the
    # solver switches to delta = m - m_0; interpolating m over 32 such nodes has let Newton settle on
    # another sheet (tanh/Gaussian depth 256: total mass 2.7)
    # the lowest band node seeds the march along the real axis (sheet.py) for tail nodes off the physical sheet
    seed = None
    if nodes.zeta is not None and nodes.delta is not None and nodes.ok[k0]:
        seed = (u[k0], nodes.zeta[:, k0], nodes.delta[k0])
    st = _solve_real(sys, ut, stride=_TAIL_STRIDE, seed=seed)
    mt, okt, rest, fbt, acct = st.m, st.ok, st.res, st.fb, st.acc
    xrt = -np.imag(mt) / math.pi
    good_t = np.flatnonzero(okt & (xrt > 0))
    if good_t.size:
        i1 = good_t[-1]
        remainder = float(xrt[i1] / beta)
        # nodes below the deepest certified one are covered by the (bounded) remainder
        okt = okt | (np.arange(nt) > i1)
        xrt = np.where(np.arange(nt) > i1, 0.0, xrt)
    else:
        remainder = math.nan
    merged = _Nodes(np.concatenate([ut, u]), np.concatenate([wt / beta, nodes.w]), np.concatenate([mt, nodes.m]),
                    np.concatenate([xrt, xrho]), np.concatenate([okt, nodes.ok]),
                    np.concatenate([rest, nodes.res]), np.concatenate([fbt, nodes.fb]),
                    np.concatenate([acct, nodes.acc]))
    info.update(tail_remainder=remainder, tail_uncertified=int(nt - 1 - (good_t[-1] if good_t.size else -1)),
                tail_log_x_min=float(ut[-1] + e.log_lambda_max))
    return _Tail(merged, remainder, info)
