"""M_{BB^T}(zeta) of a residual block by subordination, against the moment series of the block law."""

import numpy as np
import pytest

import spectral as sp
from spectral.architecture import architecture_law
from spectral.architecture.block_density import BlockTransform, block_solver_factors

#: M from the subordination solve vs the truncated moment series (60 terms, |zeta| well outside the support)
REL_M = 1e-9
#: dM from implicit differentiation vs a central difference with step 1e-6 |zeta| (its rounding ~1e-10 / 1e-6)
REL_DM = 1e-6


@pytest.mark.parametrize(("branch", "alpha", "beta"), [
    ([sp.Dense("gaussian", 1.0)], 1.0, 0.5),
    ([sp.Dense("gaussian", 1.0), sp.activation("tanh"), sp.Dense("orthogonal", 1.0)], 1.0, 1.0),
    ([sp.Dense("gaussian", 2.0), sp.activation("relu")], 0.0, 1.0),
])
def test_block_m_transform_matches_series(branch, alpha, beta):
    block = architecture_law(sp.Sequential([sp.Residual(branch, alpha=alpha, beta=beta)])).blocks[0]
    tr = BlockTransform(block.branch_law, block.alpha, block.beta)
    fl = block_solver_factors(block)
    hi = fl.factors[0].bounds[1]
    zeta = np.array([3 * hi + 2j, 2.5 * hi - 1.5j * hi, -2 * hi + 0.5j])
    k = 60
    m = block.moments(k)
    series = np.array([sum(m[j] / z ** (j + 1) for j in range(k)) for z in zeta])
    np.testing.assert_allclose(tr.m(zeta), series, rtol=REL_M)
    h = 1e-6 * hi
    fd = (tr.m(zeta + h) - tr.m(zeta - h)) / (2 * h)
    np.testing.assert_allclose(tr.dm(zeta), fd, rtol=REL_DM)
    assert fl.moments12 == pytest.approx(tuple(m[:2]))
    assert fl.factors[0].bounds[0] >= 0
