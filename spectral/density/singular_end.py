r"""A band end at a zero-mass atom :math:`x_s` of the product (docs/design.md §5.10): two layers' atoms of mass 1/2
(leaky relu, selu, elu with orthogonal weights at depth 2).  The density is singular there, like
:math:`t^{-1/2}` in the offset :math:`t = |1 - x/x_s|` where the factor's continuous part runs through its atom
(selu), like :math:`t^{-1/2}\log(1/t)^{1/2}` where the atom ends it (elu: the Cauchy transform's logarithm at
the end of a density that jumps there), and the continuation certifies m only to ~1e-8 of :math:`x_s`.  The end
piece takes Gauss--Legendre nodes in :math:`\log t` down to :data:`_SINGULAR_END_OFFSET`; the mass closer to
:math:`x_s` is the integral of the end law :math:`x\rho = c\,t^\gamma \log(1/t)^\delta e^{\dots}` (with the
corrections of :func:`_basis`) fitted on the lowest nodes, served only when the fit reproduces them."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .grid import _gl
from .tolerances import (
    _LAGUERRE_NODES,
    _MIN_FIT_NODES,
    _SINGULAR_END_NODES,
    _SINGULAR_END_OFFSET,
    _SINGULAR_END_SPLIT,
    _SINGULAR_FIT_EFOLDS,
    _SINGULAR_FIT_RESIDUAL,
)

_LAGUERRE: list = []


@dataclass(frozen=True)
class _EndPiece:
    """Nodes ``u``, weights ``w`` (mass = sum w x rho) of the end piece at ``end_u`` (log of x_s, relative to the
    grid's scale), ``sign`` (+1: the band lies above x_s, -1: below) and ``split_u``, where the rest of the band
    starts."""

    end_u: float
    sign: float
    u: np.ndarray
    w: np.ndarray
    split_u: float


@dataclass(frozen=True)
class _EndMass:
    """The mass closer to x_s than the lowest node (``mass``; nan where the end law does not fit), the fitted
    exponents ``gamma``, ``delta``, the fit's worst residual in log(x rho) and its coefficients ``coef`` (of
    :func:`_basis`)."""

    mass: float
    gamma: float
    delta: float
    residual: float
    coef: tuple = ()

    def xrho(self, t):
        """x rho of the fitted end law at offsets ``t`` (relative to x_s)."""
        return np.exp(_basis(np.log(np.asarray(t, float))) @ np.array(self.coef))


def _end_piece(end_u, other_u, n) -> _EndPiece:
    """Gauss--Legendre in v = log t, t = |1 - x/x_s| in [:data:`_SINGULAR_END_OFFSET`, :data:`_SINGULAR_END_SPLIT`
    of the band's width], for the band from x_s = e^end_u to e^other_u."""
    sign = 1.0 if other_u > end_u else -1.0
    width = abs(math.expm1(other_u - end_u))
    t_hi = _SINGULAR_END_SPLIT * width
    n_end = max(16, int(_SINGULAR_END_NODES * n))
    v, wv = _gl(n_end, math.log(_SINGULAR_END_OFFSET), math.log(t_hi))
    t = np.exp(v)
    u = end_u + np.log1p(sign * t)
    w = wv * t / (1.0 + sign * t)          # dx / x = x_s dt / x = t dv / (1 +- t)
    return _EndPiece(end_u, sign, u, w, end_u + math.log1p(sign * t_hi))


def _end_mass(piece: _EndPiece, u, xrho, ok) -> _EndMass:
    r"""The mass between x_s and the lowest offset :math:`t_0` of ``piece`` from the end law fitted on the solved
    nodes (``u``, ``xrho``, ``ok``: those of the whole band): least squares of :math:`\log x\rho` in the columns
    of :func:`_basis` on the certified nodes within :data:`_SINGULAR_FIT_EFOLDS` of :math:`\log t_0`, then
    :math:`\int_0^{t_0} x\rho\,dt` (dx/x = dt to :math:`t_0`) by Gauss--Laguerre in
    :math:`r = (1 + \gamma)\log(t_0/t)`.  nan where fewer than :data:`_MIN_FIT_NODES` nodes are certified
    there, where :math:`\gamma \le -1` (not integrable), or where the fit misses a node by more than
    :data:`_SINGULAR_FIT_RESIDUAL`."""
    with np.errstate(all="ignore"):
        t = np.abs(np.expm1(u - piece.end_u))
        v = np.log(t)
    v0 = math.log(_SINGULAR_END_OFFSET)
    near = np.isin(u, piece.u) & ok & (xrho > 0) & (v <= v0 + _SINGULAR_FIT_EFOLDS)
    if int(np.sum(near)) < _MIN_FIT_NODES:
        return _EndMass(math.nan, math.nan, math.nan, math.inf)
    vv, yy = v[near], np.log(xrho[near])
    a_mat = _basis(vv)
    coef, *_ = np.linalg.lstsq(a_mat, yy, rcond=None)
    residual = float(np.max(np.abs(a_mat @ coef - yy)))
    gamma, delta = float(coef[1]), float(coef[2])
    if not (gamma > -1.0 and residual <= _SINGULAR_FIT_RESIDUAL):
        return _EndMass(math.nan, gamma, delta, residual, tuple(coef))
    # t = t0 e^(-r / (1 + gamma)), dt = t dr / (1 + gamma): x rho t = e^-r times a smooth function of r
    # (Gauss--Laguerre)
    k = 1.0 + gamma
    r, wr = _laguerre()
    vr = v0 - r / k
    mass = float(np.sum(wr * np.exp(_basis(vr) @ coef + vr + r))) / k
    return _EndMass(mass, gamma, delta, residual, tuple(float(c) for c in coef))


def _basis(v):
    r"""Columns of the end law's logarithm in v = log t: 1, v (the exponent gamma), :math:`\log L`, 1/L (L =
    -v: the logarithmic factor and its shift, :math:`\log(L + a)`) and :math:`t^{1/2}, t` (the expansion of the
    density in powers of :math:`t^{1/2}` beyond the leading term)."""
    big_l = -v
    return np.stack([np.ones_like(v), v, np.log(big_l), 1.0 / big_l, np.exp(0.5 * v), np.exp(v)], axis=1)


def _laguerre():
    """Gauss--Laguerre nodes and weights (:data:`_LAGUERRE_NODES`), formed once."""
    if not _LAGUERRE:
        from scipy.special import roots_laguerre

        _LAGUERRE.append(roots_laguerre(_LAGUERRE_NODES))
    return _LAGUERRE[0]
