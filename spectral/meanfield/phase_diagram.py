r"""Mean field over a :math:`\sigma_w^2 \times \sigma_b^2` grid (:func:`phase_diagram`), vectorized, with the
critical line drawn by the same rule as :func:`critical_point`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import gaussian as _g
from ..activations import Activation
from ..activations import activation as _resolve
from .critical_line import _critical_bias, critical_point
from .qmap import CRITICAL_TOL, _arrays, _fixed_points, _is_homogeneous


@dataclass(frozen=True)
class PhaseDiagram:
    r"""Mean field over a :math:`\sigma_w^2 \times \sigma_b^2` grid.

    Arrays have shape ``(len(sigma_b2), len(sigma_w2))`` (rows: :math:`\sigma_b^2`, as drawn by
    ``imshow``/``pcolormesh``); NaN where the q-map has no fixed point.  ``critical_sigma_b2[j]`` is the
    critical bias variance at ``sigma_w2[j]`` as :func:`critical_point` gives it with the same ``q0`` (NaN
    where there is none).
    """

    activation: Activation
    sigma_w2: np.ndarray
    sigma_b2: np.ndarray
    q_star: np.ndarray
    chi1: np.ndarray
    critical_sigma_b2: np.ndarray

    @property
    def phase(self) -> np.ndarray:
        """-1 ordered, 0 critical (:data:`CRITICAL_TOL`), +1 chaotic, NaN without fixed point."""
        out = np.sign(self.chi1 - 1.0)
        return np.where(np.abs(self.chi1 - 1.0) <= CRITICAL_TOL, 0.0, out)


def phase_diagram(act, sigma_w2s, sigma_b2s, *, q0: float = 1.0) -> PhaseDiagram:
    r""":math:`q^*` and :math:`\chi_1` on a grid, vectorized (one Newton iteration serves every point).

    Parameters
    ----------
    act : str, Activation or callable
    sigma_w2s, sigma_b2s : 1-d array_like
        Grid axes (> 0 and >= 0).
    q0 : float
        Starting variance of the q-map iteration (selects the attracting fixed point, as in
        :func:`mean_field` and :func:`critical_point`).
    """
    act = _resolve(act)
    sw = np.atleast_1d(np.asarray(sigma_w2s, dtype=float))
    sb = np.atleast_1d(np.asarray(sigma_b2s, dtype=float))
    if sw.ndim != 1 or sb.ndim != 1 or sw.size == 0 or sb.size == 0:
        raise ValueError("sigma_w2s and sigma_b2s must be non-empty 1-d arrays")
    S, B = _arrays(sw[None, :], sb[:, None])
    q, _ = _fixed_points(act, S, B, q0)
    chi1 = np.full(q.shape, np.nan)
    ok = np.isfinite(q)
    if np.any(ok):
        chi1[ok] = S[ok] * _g.dphi_squared_mean(act, q[ok])
    crit = np.full(sw.shape, np.nan)
    homogeneous = act.pieces is not None and _is_homogeneous(act)
    for j, s in enumerate(sw):
        if homogeneous:
            try:
                crit[j] = critical_point(act, sigma_w2=float(s), q0=q0).sigma_b2
            except ValueError:
                pass
        else:
            b = _critical_bias(act, float(s), q0)
            crit[j] = np.nan if b is None else b
    return PhaseDiagram(act, sw, sb, q, chi1, crit)
