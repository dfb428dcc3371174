"""The resolvent sums in reused row blocks (spectral/laws/resolvent.py) against the sums formed at once, for calls
of one point, of a block and of several blocks, and from two threads at once (each thread its own buffers)."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from spectral.laws.resolvent import _SMALL_ENTRIES, BLOCK_ELEMENTS, ResolventSums, resolvent_sums

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


#: The real form (real nodes and weights): each term within a few eps of |r| w (|r|^2 w d for the square), so each
#: sum within that many eps of the sum of its terms' moduli (measured 11 eps at most, for the square's sum).
REAL_UNITS = 32


def _mp_sums(z, d, w):
    import mpmath as mp

    with mp.workdps(40):
        out = []
        for zz in z:
            zm = mp.mpc(zz.real, zz.imag)
            r = [1 / (zm - mp.mpf(float(x))) for x in d]
            out.append((mp.fsum(ri * float(wi) for ri, wi in zip(r, w, strict=True)),
                        mp.fsum(ri * float(wi) * float(x) for ri, wi, x in zip(r, w, d, strict=True)),
                        -mp.fsum(ri * ri * float(wi) * float(x) for ri, wi, x in zip(r, w, d, strict=True)),
                        mp.fsum(abs(ri) * abs(float(wi)) for ri, wi in zip(r, w, strict=True)),
                        mp.fsum(abs(ri) * abs(float(wi) * float(x)) for ri, wi, x in zip(r, w, d, strict=True))))
        return [np.array([complex(o[k]) for o in out]) for k in range(5)]


def _tiled(z, nodes):
    """``z`` repeated until a call at it takes the real or planar form, not the one-block complex form of small
    calls (every copy is checked: BLAS may round a row differently by its place in the block)."""
    return np.tile(z, _SMALL_ENTRIES // (z.size * nodes) + 1)


def test_real_measure_sums_against_mpmath():
    """A real measure takes the real form: the five sums against 40 digits, at points off the axis, within 1e-16 of
    it, on it (inside and outside the nodes) and at the ranges' ends where the complex form serves instead."""
    rng = np.random.default_rng(3)
    d = np.sort(rng.uniform(0.0, 2.0, 300)) ** 3
    w = rng.uniform(-0.2, 1.0, 300) / 300
    meas = ResolventSums(d, w)
    assert meas.real and not ResolventSums(d + 0j, w).real
    z = np.array([0.7 + 0.3j, 3.1 - 2.0j, 1.234 + 1e-16j, 0.5 + 0j, -0.25 + 0j, 9.0 + 0j, 1e-120 + 1e-130j,
                  0.5 + 1e-110j, 2e100 + 1j, -1e-3 - 1e-3j])
    want = [np.resize(x, _tiled(z, d.size).size) for x in _mp_sums(z, d, w)]
    z = _tiled(z, d.size)
    got = resolvent_sums(z, meas)
    a = np.abs(1.0 / (z[:, None] - d[None, :]))
    sizes = (a @ np.abs(w), a @ np.abs(w * d), (a * a) @ np.abs(w * d), a @ np.abs(w), a @ np.abs(w * d))
    for k in range(5):
        assert np.all(np.isfinite(got[k]))
        assert np.all(np.abs(got[k] - want[k]) <= REAL_UNITS * np.finfo(float).eps * sizes[k]), k
    m_only = resolvent_sums(z, meas, full=False)
    assert np.array_equal(m_only[1], got[1])


def test_real_form_nonfinite_point_gives_nan():
    d, w = np.linspace(0.1, 1.0, 50), np.full(50, 0.02)
    with np.errstate(invalid="ignore"):
        got = resolvent_sums(_tiled(np.array([np.nan + 0j, 0.5 + 0.1j]), d.size), ResolventSums(d, w))
    assert np.all(np.isnan(got[1][0::2])) and np.all(np.isfinite(got[1][1::2]))


def test_complex_measure_planar_form_against_mpmath():
    """A complex measure (the contour nodes of D^2) takes the planar form: the five sums against 40 digits, and a
    point within 1e-160 of a node, whose u^2 + s^2 underflows, served by the complex form (its sums of r, |r|
    finite and right)."""
    rng = np.random.default_rng(4)
    d = np.sort(rng.uniform(0.0, 2.0, 200)) + 0.3j * np.sin(np.linspace(0, np.pi, 200))
    d[0] = 1.0
    w = (rng.uniform(0.0, 1.0, 200) + 0.2j * rng.standard_normal(200)) / 200
    meas = ResolventSums(d, w)
    assert meas.planar and not meas.real
    z0 = np.array([0.7 + 0.3j, 3.1 - 2.0j, 1.234 + 1e-16j, 0.5 + 0j, -0.25 + 0j, 1.0 + 1e-160j, 1e-120 + 1e-130j])
    z = _tiled(z0, d.size)
    with np.errstate(over="ignore", invalid="ignore"):
        got = resolvent_sums(z, meas)
    import mpmath as mp

    with mp.workdps(40):
        ref = []
        for zz in z0:
            zm = mp.mpc(zz.real, zz.imag)
            r = [1 / (zm - mp.mpc(x.real, x.imag)) for x in d]
            wm = [mp.mpc(x.real, x.imag) for x in w]
            dm_ = [mp.mpc(x.real, x.imag) for x in d]
            ref.append((mp.fsum(a * b for a, b in zip(r, wm, strict=True)),
                        mp.fsum(a * b * c for a, b, c in zip(r, wm, dm_, strict=True)),
                        -mp.fsum(a * a * b * c for a, b, c in zip(r, wm, dm_, strict=True)),
                        mp.fsum(abs(a) * abs(b) for a, b in zip(r, wm, strict=True)),
                        mp.fsum(abs(a) * abs(b * c) for a, b, c in zip(r, wm, dm_, strict=True))))
    a = np.abs(1.0 / (z[:, None] - d[None, :]))
    with np.errstate(over="ignore"):
        sizes = (a @ np.abs(w), a @ np.abs(w * d), (a * a) @ np.abs(w * d), a @ np.abs(w), a @ np.abs(w * d))
    for k in range(5):
        # at 1 + 1e-160j the sums of r^2 (1e320) are beyond the float range in any form
        want_k = np.resize(np.array([complex(o[k]) for o in ref]), z.size)
        fin = np.isfinite(want_k)
        assert np.sum(~fin) == (z.size // z0.size if k == 2 else 0)
        assert np.all(np.isfinite(got[k][fin]))
        assert np.all(np.abs(got[k] - want_k)[fin] <= REAL_UNITS * np.finfo(float).eps * sizes[k][fin]), k
