"""High-precision references shared by the test files (mpmath, independent of the library's quadrature)."""

import mpmath as mp
import numpy as np


def tanh_d2_m_transform(q, zs, dps: int = 30) -> np.ndarray:
    r""":math:`M(\zeta) = E[D^2/(\zeta - D^2)]` of :math:`D^2 = \operatorname{sech}^4(\sqrt q\,h)` (tanh),
    :math:`h \sim N(0, 1)`, by mpmath quadrature split where :math:`\operatorname{sech}^4 = \operatorname{Re}\zeta`
    (the integrand's near-pole), at ``dps`` digits."""
    with mp.workdps(dps):
        q = mp.mpf(q)
        rq = mp.sqrt(q)

        def one(z):
            z = mp.mpc(z)
            a = abs(mp.re(mp.acosh(z ** mp.mpf(-0.25)) / rq))
            pts = sorted({-mp.inf, -a - 0.5, -a, -a + 0.1, mp.mpf(0), a - 0.1, a, a + 0.5, mp.inf})
            return mp.quad(lambda h: mp.npdf(h) * mp.sech(rq * h) ** 4 / (z - mp.sech(rq * h) ** 4), pts,
                           maxdegree=10)

        return np.array([complex(one(z)) for z in zs])
