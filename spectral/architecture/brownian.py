r"""The large-depth limit of residual networks: Biane's free positive multiplicative Brownian motion.

The law itself is :class:`spectral.laws.FreeMultiplicativeBrownian` (re-exported here); this module gives the
time :math:`s` that a spec's residual blocks reach, and the limit law that stands in for a spec whose own
density is not available.  For blocks :math:`B_l = \alpha_l(I + (\beta_l/\alpha_l) X_l)` with branch second
moments :math:`a_{1,l} = \beta_l^2 m_1(X_l X_l^T)` and :math:`a_{1,l}/\alpha_l^2 = O(1/L)`,
:math:`S_{\prod_l B_l} \to c^{-1} e^{-s(y + 1/2)}` with :math:`s = 2\sum_l a_{1,l}/\alpha_l^2` and
:math:`c = \prod_l \alpha_l^2` (Tarnowski, Warchoł, Jastrzębski, Tabor & Nowak 2019, arXiv 1809.08848):
the law of :math:`c` times the Brownian motion at time :math:`s`.  Factors of the spec that are point masses
(normalisation scales, orthogonal layers) multiply :math:`c`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..laws import FreeProduct, HaarOrthogonal, SpectralLaw
from ..laws.brownian import FreeMultiplicativeBrownian
from .residual_law import ResidualBlockLaw

__all__ = ["FreeMultiplicativeBrownian", "brownian_time", "BrownianLimit", "brownian_limit", "MAX_MOMENT_GAP"]

#: the largest relative gap between the limit's m_1, m_2 and the spec's exact ones at which the limit is offered
#: in place of the spec's density: beyond it the blocks' a_1 are not small and the curve would mislead
MAX_MOMENT_GAP = 0.05


def brownian_time(law) -> float:
    r""":math:`s = 2\sum_l (m_1(B_l B_l^T) - \alpha_l^2)` over the residual blocks of an
    :class:`~spectral.architecture.jacobian.ArchitectureLaw` (:math:`m_1 - \alpha^2 = \beta^2 a_1`): the time
    of the Brownian motion its deep limit approaches (blocks with :math:`\alpha = 1`)."""
    return 2.0 * sum(float(b.moments(1)[0]) - float(b.alpha) ** 2 for b in law.blocks)


@dataclass(frozen=True)
class BrownianLimit:
    r"""The large-depth limit of a spec: ``law`` is :math:`c` times Biane's motion at time ``s``;
    ``moment_gap``: the largest relative gap between its :math:`m_1, m_2` and the spec's exact ones."""

    law: SpectralLaw
    s: float
    scale: float
    moment_gap: float

    def describe(self) -> str:
        scale = "" if self.scale == 1.0 else f" times {self.scale:.4g}"
        return (f"free multiplicative Brownian motion at s = {self.s:.4g}{scale} (its m_1, m_2 within "
                f"{100 * self.moment_gap:.2g}% of the exact ones)")


def brownian_limit(law, *, max_gap: float = MAX_MOMENT_GAP) -> BrownianLimit:
    r"""The Brownian large-depth limit standing in for the law of a spec (module docstring).

    Parameters
    ----------
    law : ArchitectureLaw
        The law of a spec (:func:`spectral.architecture.architecture_law`).
    max_gap : float
        Offered only when its :math:`m_1` and :math:`m_2` are within this relative gap of the exact ones
        (default :data:`MAX_MOMENT_GAP`).

    Raises
    ------
    ValueError
        Saying why the limit does not apply: no residual block, a block with :math:`\alpha = 0`, a factor
        outside the blocks that is not a point mass (a Gaussian layer or an activation on the main path), or
        moments further than ``max_gap`` from the exact ones.
    """
    blocks = getattr(law, "blocks", ())
    if not blocks:
        raise ValueError("the Brownian limit needs residual blocks; this network has none")
    scale, s = 1.0, 0.0
    for f in law.factor_laws:
        if isinstance(f, ResidualBlockLaw):
            a2 = float(f.alpha) ** 2
            if a2 == 0:
                raise ValueError("a residual block with alpha = 0 has no skip connection: no Brownian limit")
            s += 2.0 * (float(f.moments(1)[0]) / a2 - 1.0)
            scale *= a2
        elif isinstance(f, HaarOrthogonal):
            scale *= float(f.scale)
        else:
            raise ValueError(f"the Brownian limit covers residual blocks and point masses only; the factor "
                             f"{f.name} on the main path is neither")
    if not s > 0:
        raise ValueError(f"the blocks' branches carry no variance (s = {s:g}): no Brownian limit")
    bm = FreeMultiplicativeBrownian(s)
    limit = bm if scale == 1.0 else FreeProduct([(bm, 1), (HaarOrthogonal(scale), 1)])
    exact, approx = law.moments(2), limit.moments(2)
    gap = max(abs(float(b) / float(a) - 1.0) for a, b in zip(exact, approx, strict=True))
    if not (math.isfinite(gap) and gap <= max_gap):
        raise ValueError(f"the Brownian limit at s = {s:.4g} is {100 * gap:.3g}% off the exact m_1, m_2 (more than "
                         f"{100 * max_gap:g}%): the blocks' branch variances are not small")
    return BrownianLimit(limit, s, scale, gap)
