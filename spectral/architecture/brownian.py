r"""The large-depth limit of residual networks: Biane's free positive multiplicative Brownian motion.

The law itself is :class:`spectral.laws.FreeMultiplicativeBrownian` (re-exported here); this module gives the
time :math:`s` that a spec's residual blocks reach.  For blocks :math:`B_l = I + \beta_l X_l` with branch
second moments :math:`a_{1,l} = \beta_l^2 m_1(X_l X_l^T) = O(1/L)`, :math:`S_J \to e^{-s(y + 1/2)}` with
:math:`s = 2\sum_l a_{1,l}` (Tarnowski, Warchoł, Jastrzębski, Tabor & Nowak 2019, arXiv 1809.08848).
"""

from __future__ import annotations

from ..laws.brownian import FreeMultiplicativeBrownian

__all__ = ["FreeMultiplicativeBrownian", "brownian_time"]


def brownian_time(law) -> float:
    r""":math:`s = 2\sum_l (m_1(B_l B_l^T) - \alpha_l^2)` over the residual blocks of an
    :class:`~spectral.architecture.jacobian.ArchitectureLaw` (:math:`m_1 - \alpha^2 = \beta^2 a_1`): the time
    of the Brownian motion its deep limit approaches."""
    return 2.0 * sum(float(b.moments(1)[0]) - float(b.alpha) ** 2 for b in law.blocks)
