"""The resolvent sums in reused row blocks (spectral/laws/resolvent.py) against the sums formed at once, for calls
of one point, of a block and of several blocks, and from two threads at once (each thread its own buffers)."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from spectral.laws.resolvent import BLOCK_ELEMENTS, ResolventSums, resolvent_sums

#: The same row dot products, summed by BLAS per row: equal to rounding (measured 4e-16 at most relative to the
#: sums of the terms' moduli).
RTOL = 1e-14


def _direct(z, d, w):
    r = 1.0 / (z[:, None] - d[None, :])
    return r @ w, r @ (w * d), -((r * r) @ (w * d)), np.abs(r) @ np.abs(w), np.abs(r) @ np.abs(w * d)


def _measure(n, seed=0):
    rng = np.random.default_rng(seed)
    d = rng.uniform(0, 2, n) + 0.1j * rng.standard_normal(n)
    return d, rng.uniform(0, 1, n) * np.exp(0.1j * rng.standard_normal(n))


@pytest.mark.parametrize("points", [1, 7, 3 * (BLOCK_ELEMENTS // 3000) + 5])
def test_blocks_equal_the_sums_formed_at_once(points):
    d, w = _measure(3000)
    z = np.random.default_rng(1).uniform(-1, 3, points) + 0.5j
    got = resolvent_sums(z, ResolventSums(d, w))
    want = _direct(z, d, w)
    scale = np.abs(want[3]) * np.max(np.abs(d)) + np.abs(want[4])
    for g, x in zip(got, want, strict=True):
        assert np.all(np.abs(g - x) <= RTOL * scale)
    m_only = resolvent_sums(z, ResolventSums(d, w), full=False)
    assert m_only[0] is None and np.array_equal(m_only[1], got[1])


def test_threads_keep_their_own_buffers():
    d, w = _measure(2000)
    meas = ResolventSums(d, w)
    zs = [np.linspace(-1, 3, 100) + 1j * (k + 1) for k in range(4)]
    want = [resolvent_sums(z, meas) for z in zs]
    got = [None] * len(zs)

    def run(k):
        for _ in range(3):
            got[k] = resolvent_sums(zs[k], meas)

    threads = [threading.Thread(target=run, args=(k,)) for k in range(len(zs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for g, x in zip(got, want, strict=True):
        for a, b in zip(g, x, strict=True):
            assert np.array_equal(a, b)
