"""M(zeta) of a smooth D^2 asked twice in a row (the bisections of the edge scan, which ask for nothing else) is
computed alone; it must be the same sum, bit for bit, as M from the full evaluation (M, zeta G, M' and the
rounding bound at once) that Newton asks for -- on every tier of the quadrature."""

import numpy as np
import pytest

from spectral.laws.d2_quadrature import smooth_d2
from spectral.product import Network, jacobian_law


@pytest.mark.parametrize("net", [
    Network.critical("tanh", sigma_w2=1.05, depth=2, weights="orthogonal"),
    Network(activation="gelu", weights="orthogonal", sigma_w2=1.5, sigma_b2=0.1, depth=2),  # a limit value inside
], ids=["tanh", "gelu"])
def test_m_alone_is_the_full_evaluations_m(net):
    law = jacobian_law(net).d2_laws[0]
    sm = smooth_d2(law.activation, law.q)
    assert sm is not None
    lo, hi = sm.bounds
    span = hi - lo
    z = np.concatenate([
        [10 * hi + 1j, -span + 0j, hi + 0.3 * span + 0.1j],         # plain rule (far from the spectrum)
        [hi + 1e-3 * span + 1e-4j, lo + 0.5 * span + 1e-3j],        # deformed contour next to it
        np.asarray(sm.crit_values) + 1e-6j,                          # graded panels at the critical values
        lo + span * np.array([0.1, 0.5, 0.9]) + 0j,                  # the real axis on the spectrum
    ]).astype(complex)
    sm.m(z + 1.0)                  # a first M: served by the full evaluation
    alone = sm.m(z)                # a second in a row: M alone
    full = (sm.dm(z), sm.m(z))[1]  # M' first: the full evaluation at z, then its M
    assert np.all(np.isfinite(alone))
    assert np.array_equal(alone, full)
