"""The faster paths keep the law and the accuracy: Haar draws in Householder form (NumPy), checked by
statistics whose law is known in closed form and against the sign-corrected QR of Gaussian matrices (the
construction other backends use); the bidiagonal SVD of flat and of well-conditioned downward-graded clusters in
the stable product, against mpmath, with negative controls.

Fixed seeds; KS tests at p > 1e-4 and z-scores |z| < 4 from standard errors across independent draws.
"""

import math

import numpy as np
from scipy import stats

from spectral._backend import get_backend, spawn_streams
from spectral.montecarlo import haar_orthogonal
from spectral.montecarlo.haar import _haar_batch

P_MIN = 1e-4
Z = 4.0


def _qr_haar(n, m, size, seed):
    """Sign-corrected QR of Gaussian matrices (Mezzadri 2007), independent of the Householder draw."""
    rng = np.random.default_rng(seed)
    big, small = max(n, m), min(n, m)
    q, r = np.linalg.qr(rng.standard_normal((size, big, small)))
    q = q * np.sign(np.diagonal(r, axis1=-2, axis2=-1))[..., None, :]
    return q if n >= m else np.swapaxes(q, -1, -2)


def test_entries_follow_the_beta_law_of_a_uniform_unit_vector():
    """Every column of a Haar Q in O(n) (and every row) is uniform on the sphere: Q_ij^2 ~ Beta(1/2, (n-1)/2).
    Entries on, above and below the diagonal, and the corners the reflectors touch first and last."""
    n = 6
    q = haar_orthogonal(n, size=6000, seed=11)
    law = stats.beta(0.5, (n - 1) / 2).cdf
    for i, j in [(0, 0), (n - 1, n - 1), (0, n - 1), (n - 1, 0), (2, 3)]:
        assert stats.kstest(q[:, i, j] ** 2, law).pvalue > P_MIN, (i, j)
    # rectangular: the k orthonormal vectors of length m are each uniform on S^{m-1}
    for shape in [(3, 7), (7, 3)]:
        r = haar_orthogonal(*shape, size=4000, seed=12)
        law = stats.beta(0.5, (max(shape) - 1) / 2).cdf
        assert stats.kstest(r[:, 0, 0] ** 2, law).pvalue > P_MIN, shape
        assert stats.kstest(r[:, -1, -1] ** 2, law).pvalue > P_MIN, shape


def test_determinant_and_trace_moments_of_haar_o_n():
    """Haar on O(n): det = +1 or -1 with probability 1/2 each; tr Q has the moments of N(0, 1) up to order n
    (Diaconis-Shahshahani 1994): E tr^2 = 1, E tr^4 = 3 (n >= 4); and E tr(Q^2) = 1."""
    q = haar_orthogonal(6, size=6000, seed=13)
    det = np.linalg.det(q)
    np.testing.assert_allclose(np.abs(det), 1.0, atol=1e-12)
    assert stats.binomtest(int(np.sum(det > 0)), det.size, 0.5).pvalue > P_MIN
    tr = np.trace(q, axis1=-2, axis2=-1)
    for power, expected in [(1, 0.0), (2, 1.0), (4, 3.0)]:
        s = tr ** power
        assert abs((s.mean() - expected) / (s.std(ddof=1) / math.sqrt(s.size))) < Z, power


def test_householder_draw_has_the_law_of_the_sign_corrected_qr():
    """Two-sample KS of the trace, a fixed entry and the smallest eigen-angle against the QR construction."""
    n = 5
    hh = haar_orthogonal(n, size=5000, seed=14)
    ref = _qr_haar(n, n, 5000, seed=15)
    for f in (lambda q: np.trace(q, axis1=-2, axis2=-1), lambda q: q[:, 1, 3],
              lambda q: np.min(np.abs(np.angle(np.linalg.eigvals(q))), axis=-1)):
        assert stats.ks_2samp(f(hh), f(ref)).pvalue > P_MIN
    tall_hh, tall_ref = haar_orthogonal(6, 2, size=4000, seed=16), _qr_haar(6, 2, 4000, seed=17)
    inner = lambda q: q[:, 0, 0] * q[:, 0, 1] + q[:, 1, 0] * q[:, 1, 1]  # noqa: E731
    assert stats.ks_2samp(inner(tall_hh), inner(tall_ref)).pvalue > P_MIN


def test_the_statistics_reject_a_construction_off_haar_by_signs():
    """The checks above can fail: flipping rows of a Haar Q so that each starts positive (orthogonal still,
    not Haar: what a missing sign correction does) moves E[tr Q] far from 0."""
    be = get_backend("numpy")
    q = _haar_batch(be.xp, spawn_streams(be, 18, 4000), 6, 6)
    signed = q * np.sign(q[:, :, :1])
    tr = np.trace(signed, axis1=-2, axis2=-1)
    assert abs(tr.mean() / (tr.std(ddof=1) / math.sqrt(tr.size))) > 10


def test_draws_are_seed_reproducible_and_independent_of_the_batch():
    """Matrix i uses child i of SeedSequence(seed) only: the same for any batch size, different per child."""
    a = haar_orthogonal(9, 4, size=2, seed=21)
    b = haar_orthogonal(9, 4, size=5, seed=21)
    np.testing.assert_array_equal(a, b[:2])
    assert not np.allclose(b[0], b[1])
    np.testing.assert_array_equal(haar_orthogonal(7, size=1, seed=3), haar_orthogonal(7, size=1, seed=3))


def test_householder_form_is_the_formed_haar_matrix():
    """HaarReflectors (the direct product's square Haar layers, never formed) apply exactly the matrix
    _haar_batch forms from the same draws: W x and diag(r) W J to 1e-13 (rounding of the two LAPACK routes)."""
    from spectral.montecarlo.haar import _haar_reflectors

    be = get_backend("numpy")
    n = 40
    w = _haar_batch(be.xp, spawn_streams(be, 17, 3), n, n)
    refl = _haar_reflectors(spawn_streams(be, 17, 3), n)
    rng = np.random.default_rng(5)
    x, j, r = rng.standard_normal((3, n)), rng.standard_normal((3, n, n)), rng.standard_normal((3, n))
    np.testing.assert_allclose(refl.times_vectors(x), np.einsum("bij,bj->bi", w, x), rtol=0, atol=1e-13)
    np.testing.assert_allclose(refl.scaled_times(r, j.copy()), r[..., :, None] * (w @ j), rtol=0, atol=1e-13)


def test_direct_product_of_haar_layers_in_householder_form_matches_the_formed_one(monkeypatch):
    """Network and free mode at N = 128 (square Haar layers at the IMPLICIT_HAAR_MIN_WIDTH bound): the same
    networks (same draws) with the layers formed and in Householder form, log s and q to 1e-12."""
    import spectral.montecarlo.layers as layers
    from spectral.montecarlo import sample_jacobians
    from spectral.montecarlo.haar import IMPLICIT_HAAR_MIN_WIDTH
    from spectral.product import Network

    net = Network.critical("tanh", sigma_w2=1.05, depth=4, weights="orthogonal")
    for mode in ("network", "free"):
        kw = dict(width=IMPLICIT_HAAR_MIN_WIDTH, n_samples=2, mode=mode, stable=False, seed=9, progress=False)
        implicit = sample_jacobians(net, **kw)
        monkeypatch.setattr(layers, "IMPLICIT_HAAR_MIN_WIDTH", 10 ** 9)
        formed = sample_jacobians(net, **kw)
        monkeypatch.undo()
        np.testing.assert_allclose(implicit.log_singular_values, formed.log_singular_values, rtol=0, atol=1e-12)
        if mode == "network":
            np.testing.assert_allclose(implicit.diagnostics["q_conditional"], formed.diagnostics["q_conditional"],
                                       rtol=1e-12)


# ------------------------------------------------------- the cluster SVD of the stable product (flat clusters)
def _mp_log_svals(logd, x, dps=40):
    import mpmath as mp

    with mp.workdps(dps):
        g = mp.matrix([[mp.e ** mp.mpf(float(logd[i])) * mp.mpf(float(x[i, j])) for j in range(x.shape[1])]
                       for i in range(x.shape[0])])
        return np.sort([float(mp.log(v)) for v in mp.svd_r(g, compute_uv=False)])[::-1]


def test_flat_cluster_takes_the_bidiagonal_svd_and_keeps_relative_accuracy(monkeypatch):
    """A cluster whose n eps s_1/s_min is below BIDIAGONAL_SVD_REL_TOL skips dgejsv (made to fail here) and
    agrees with mpmath to 1e-12 in log s; a graded one (range 30 nats) as well (graded bidiagonal route or
    dgejsv, the test below)."""
    from scipy.linalg import lapack

    from spectral.graded_svd import _jacobi_log_svals

    rng = np.random.default_rng(31)
    n = 12
    x = np.triu(rng.standard_normal((n, n)) * 0.1, 1) + np.eye(n)
    flat = np.sort(rng.uniform(-0.2, 0.2, n))[::-1] + 50.0
    graded = np.linspace(30.0, 0.0, n)
    ref_flat, ref_graded = _mp_log_svals(flat, x), _mp_log_svals(graded, x)
    np.testing.assert_allclose(_jacobi_log_svals(graded, x), ref_graded, rtol=0, atol=1e-12)

    def refuse(*_a, **_k):
        raise AssertionError("dgejsv called on a flat cluster")

    monkeypatch.setattr(lapack, "dgejsv", refuse)
    np.testing.assert_allclose(_jacobi_log_svals(flat, x), ref_flat, rtol=0, atol=1e-12)


# ------------------------------------------- the cluster SVD of the stable product (graded, well-conditioned)
def test_graded_cluster_takes_the_bidiagonal_svd_and_keeps_relative_accuracy(monkeypatch):
    """The final graded matrix of a Gaussian product (N = 20, depth 8: one coupled cluster spanning ~14 nats)
    skips dgejsv (made to fail) and agrees with mpmath to 1e-12 in log s, the stable product's contract."""
    import mpmath as mp
    from scipy.linalg import lapack

    from spectral.montecarlo import product_log_singular_values

    rng = np.random.default_rng(41)
    n, depth = 20, 8
    fac = [np.where(rng.random(n) < 0.7, 1.0, 0.3)[:, None] * rng.standard_normal((n, n)) / math.sqrt(n)
           for _ in range(depth)]
    with mp.workdps(60):
        j = mp.eye(n)
        for a in fac:
            j = mp.matrix(a.tolist()) * j
        ref = np.sort([float(mp.log(v)) for v in mp.svd_r(j, compute_uv=False)])[::-1]
    assert ref[0] - ref[-1] > 10  # graded: the flat-cluster rule does not apply

    def refuse(*_a, **_k):
        raise AssertionError("dgejsv called on a well-conditioned downward-graded cluster")

    monkeypatch.setattr(lapack, "dgejsv", refuse)
    np.testing.assert_allclose(product_log_singular_values(fac, stable=True), ref, rtol=0, atol=1e-12)


def test_graded_bidiagonal_route_refuses_upward_grading_and_ill_conditioned_clusters():
    """Negative controls: the same triangular X with its scales rising down the rows (where the bidiagonal
    SVD loses the bottom values, measured 1e-11 to 1e-3 in log s), or with kappa_1(X) above
    GRADED_BIDIAGONAL_MAX_COND, is refused and goes to dgejsv, which agrees with mpmath to 1e-12."""
    from spectral.graded_svd import GRADED_BIDIAGONAL_MAX_COND, _graded_bidiagonal_log_svals, _jacobi_log_svals

    rng = np.random.default_rng(43)
    n = 12
    x = np.triu(rng.standard_normal((n, n)) * 0.3, 1) + np.eye(n)
    down = np.linspace(0.0, -40.0, n)
    assert _graded_bidiagonal_log_svals(down, x, 0.0) is not None  # the positive case
    up = down[::-1].copy()
    ref_up = _mp_log_svals(up, x, dps=60)
    plain = np.log(np.linalg.svd(np.exp(up - up.max())[:, None] * x, compute_uv=False)) + up.max()
    assert np.max(np.abs(plain - ref_up)) > 1e-6  # the failure the refusal avoids (7e-3 here)
    assert _graded_bidiagonal_log_svals(up, x, float(up.max())) is None
    np.testing.assert_allclose(_jacobi_log_svals(up, x), ref_up, rtol=0, atol=1e-12)
    bad = np.triu(np.full((n, n), 3.0), 1) + np.eye(n)  # kappa_1 ~ 4^n
    assert 1.0 / np.linalg.cond(bad, 1) < 1.0 / GRADED_BIDIAGONAL_MAX_COND
    assert _graded_bidiagonal_log_svals(down, bad, 0.0) is None
