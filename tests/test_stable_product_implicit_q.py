"""Stable product with Q kept as Householder reflectors (applied to the next layer by LAPACK dormqr): the same
accuracy against mpmath as the formed Q, the same values on batches that mix the two forms, exact zeros kept."""

import math

import numpy as np
import pytest
from test_montecarlo import BLOCKED_VS_PER_LAYER_TOL, _factors, _mp_log_svals
from threadpoolctl import threadpool_limits

import spectral.stable_product as sp
from spectral._backend import get_backend
from spectral.montecarlo import product_log_singular_values


@pytest.fixture
def reflector_calls(monkeypatch):
    """Counts the layers multiplied into a Q kept in Householder form."""
    calls = [0]
    orig = sp._Reflectors.right_times

    def counted(self, a):
        calls[0] += 1
        return orig(self, a)

    monkeypatch.setattr(sp._Reflectors, "right_times", counted)
    return calls


def _run(factors, monkeypatch, min_width, **kw):
    monkeypatch.setattr(sp, "IMPLICIT_Q_MIN_WIDTH", min_width)
    acc = sp.StableProduct(get_backend("numpy").xp, **kw)
    for a in factors:
        acc.push(a)
    return acc.finish()[0]


def test_implicit_q_vs_mpmath(monkeypatch, reflector_calls):
    """The case of test_stable_product_vs_mpmath (N = 6, depth 400, log-range > 100 nats) with every QR step
    keeping its Q as reflectors: the same 1e-10 in log s against mpmath."""
    monkeypatch.setattr(sp, "IMPLICIT_Q_MIN_WIDTH", 1)
    fac = _factors(6, 400, seed=6)
    got = product_log_singular_values(fac, stable=True)
    assert reflector_calls[0] >= 100  # Gaussian layers of width 6: blocks of 1-2 layers
    dps = int((got[0] - got[-1]) / math.log(10)) + 40
    ref = _mp_log_svals(fac, dps)
    assert got[0] - got[-1] > 100
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-10)


def test_implicit_and_formed_q_agree_on_mixed_batches_with_zero_rows(monkeypatch, reflector_calls):
    """Width 128 (at IMPLICIT_Q_MIN_WIDTH; one BLAS thread, as the sampler runs it): a Gaussian network (a
    QR step every layer, Q as reflectors) batched with a Haar one (long blocks: its Q multiplied by plain
    products), and relu-like zero rows (row order of the QR step undone through the reflectors); against
    the formed-Q product of the same matrices, per layer and blocked, to the tolerance blocked and
    per-layer products are tested to."""
    assert sp.IMPLICIT_Q_MIN_WIDTH <= 128
    gauss = _factors(128, 20, seed=31, zero_frac=0.02)
    haar = _factors(128, 20, seed=32, orth=True)
    fac = [np.stack([g, h]) for g, h in zip(gauss, haar, strict=True)]
    for block in (sp.BLOCK_LOG_RANGE, 0.0):
        with threadpool_limits(1, "blas"):
            reflector_calls[0] = 0
            implicit = _run(fac, monkeypatch, 128, block_log_range=block)
            used = reflector_calls[0]
            formed = _run(fac, monkeypatch, 10 ** 9, block_log_range=block)
        assert used >= 19 and reflector_calls[0] == used  # every layer after the first; none when formed
        np.testing.assert_array_equal(np.isfinite(implicit), np.isfinite(formed))
        fin = np.isfinite(formed)
        np.testing.assert_allclose(implicit[fin], formed[fin], rtol=0, atol=BLOCKED_VS_PER_LAYER_TOL)
    rank = min(int(np.count_nonzero(np.any(a != 0, axis=1))) for a in gauss)
    assert int(np.isfinite(implicit[0]).sum()) == rank < 128  # structural zeros stay exact
