"""Monte Carlo sampler: Haar sampling, stable products (vs mpmath, direct SVD, log-det), modes, seeds, I/O.

Statistical tests use fixed seeds and |z| < 4 bounds from standard errors across independent draws.
"""

import math

import mpmath as mp
import numpy as np
import pytest

from spectral._backend import get_backend
from spectral.montecarlo import (
    DIRECT_SPREAD_LIMIT,
    JacobianSamples,
    haar_orthogonal,
    product_log_singular_values,
    sample_jacobians,
)
from spectral.product import Layer, Network, jacobian_law
from spectral.stable_product import BLOCK_LOG_RANGE, BLOCK_RATE_MARGIN, MAX_BLOCK_LAYERS, StableProduct

Z = 4.0


def _relu(depth=4, weights="gaussian"):
    return Network(activation="relu", weights=weights, sigma_w2=2.0, sigma_b2=0.0, depth=depth)


def _linear(depth=4, weights="gaussian"):
    return Network(activation="linear", weights=weights, sigma_w2=1.0, sigma_b2=0.0, depth=depth)


def _z(samples, expected):
    s = np.asarray(samples, dtype=float)
    return (s.mean() - expected) / (s.std(ddof=1) / math.sqrt(s.size))


# ---------------------------------------------------------------------------------------------- Haar
def test_haar_trace_moments():
    """Haar Q in O(8): E[tr Q] = 0, E[(tr Q)^2] = 1 (Diaconis-Shahshahani), Var (tr Q)^2 = E tr^4 - 1 = 2."""
    q = haar_orthogonal(8, size=4000, seed=1)
    np.testing.assert_allclose(q @ np.swapaxes(q, -1, -2), np.broadcast_to(np.eye(8), q.shape), atol=1e-13)
    tr = np.trace(q, axis1=-2, axis2=-1)
    assert abs(_z(tr, 0.0)) < Z
    assert abs(_z(tr ** 2, 1.0)) < Z
    # E[tr(Q^2)] = 1 for O(n) (n >= 2) as well
    assert abs(_z(np.trace(q @ q, axis1=-2, axis2=-1), 1.0)) < Z


def test_qr_without_sign_correction_is_not_haar():
    """The reason for Mezzadri's sign correction: raw Householder QR gives a biased E[tr Q]."""
    rng = np.random.default_rng(0)
    qs = np.linalg.qr(rng.standard_normal((4000, 8, 8)))[0]
    assert abs(_z(np.trace(qs, axis1=-2, axis2=-1), 0.0)) > 10


def test_haar_rectangular_is_partial_isometry():
    wide = haar_orthogonal(3, 7, size=5, seed=2)
    tall = haar_orthogonal(7, 3, size=5, seed=2)
    np.testing.assert_allclose(wide @ np.swapaxes(wide, -1, -2), np.broadcast_to(np.eye(3), (5, 3, 3)), atol=1e-13)
    np.testing.assert_allclose(np.swapaxes(tall, -1, -2) @ tall, np.broadcast_to(np.eye(3), (5, 3, 3)), atol=1e-13)
    with pytest.raises(ValueError, match="n must be a positive integer"):
        haar_orthogonal(0)


# ---------------------------------------------------------------------------------------------- products
def _factors(n, depth, seed, zero_frac=0.0, orth=False):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(depth):
        w = rng.standard_normal((n, n)) / math.sqrt(n)
        if orth:
            q, r = np.linalg.qr(w)
            w = q * np.sign(np.diag(r))
        d = np.where(rng.random(n) < zero_frac, 0.0, np.where(rng.random(n) < 0.7, 1.0, 0.5))
        out.append(d[:, None] * w)
    return out


def _mp_log_svals(factors, dps):
    n = factors[0].shape[1]
    with mp.workdps(dps):
        j = mp.eye(n)
        for a in factors:
            j = mp.matrix(a.tolist()) * j
        s = mp.svd_r(j, compute_uv=False)
        return np.sort([float(mp.log(v)) for v in s])[::-1]


@pytest.mark.parametrize(("n", "depth", "orth"), [(6, 400, False), (8, 1000, True)])
def test_stable_product_vs_mpmath(n, depth, orth):
    """Depth 400-1000: log-ranges of hundreds of nats; mpmath at enough digits to resolve them all."""
    fac = _factors(n, depth, seed=n, orth=orth)
    got = product_log_singular_values(fac, stable=True)
    dps = int((got[0] - got[-1]) / math.log(10)) + 40
    ref = _mp_log_svals(fac, dps)
    assert got[0] - got[-1] > 100  # the direct product could not resolve this
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-10)


def test_stable_product_vs_direct_where_both_accurate():
    fac = _factors(64, 6, seed=3)
    st = product_log_singular_values(fac, stable=True)
    di = product_log_singular_values(fac, stable=False)
    top = st > st[0] + math.log(1e-4)  # direct SVD relative error ~ N eps s_max / s_i < 1e-10 here
    assert top.sum() > 20
    np.testing.assert_allclose(st[top], di[top], rtol=0, atol=1e-10)


def test_direct_product_rescales_past_the_float_range():
    """Factors scaled by 2^200 then 2^-200: the product's entries reach 2^1200 and come back, which overflows
    without the direct product's power-of-2 rescaling; the scales are exact powers of 2, so its log singular
    values are those of the unscaled product (rescaling both ways; the tolerance covers the rounding of the
    kept log-scale, a sum of multiples of log 2)."""
    rng = np.random.default_rng(5)
    base = [rng.standard_normal((8, 8)) for _ in range(12)]
    fac = [b * 2.0 ** e for b, e in zip(base, [200] * 6 + [-200] * 6, strict=True)]
    got = product_log_singular_values(fac, stable=False)
    ref = np.log(np.linalg.svd(np.linalg.multi_dot(base[::-1]), compute_uv=False))
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-12)


@pytest.mark.parametrize(("log2_top", "rescaled"), [(-256.0, False), (255.5, False), (256.5, False),
                                                     (257.0, True), (-256.5, True), (300.0, True)])
def test_direct_product_rescales_outside_its_range(log2_top, rescaled):
    """The product is rescaled exactly when floor(log2 of its largest entry) leaves [-256, 256]
    (RESCALE_EXPONENT), by the power of 2 that brings it to [1, 2), and the value is kept exactly."""
    from spectral.montecarlo.direct import RESCALE_EXPONENT, DirectProduct

    assert RESCALE_EXPONENT == 256
    acc = DirectProduct(get_backend("numpy").xp)
    top = 2.0 ** log2_top
    acc.push(np.array([[[top, -top / 3]]]))
    scale = float(acc.log_scale[0])
    assert (scale != 0.0) == rescaled
    if rescaled:
        assert 1.0 <= float(acc.j[0, 0, 0]) < 2.0
        assert scale == math.floor(log2_top) * math.log(2.0)
    else:
        assert float(acc.j[0, 0, 0]) == top


def test_stable_product_log_det_identity_and_exact_zeros():
    """sum_i log s_i = sum_l log|det A_l| (square factors, no zeros); with zero rows, the number of exact
    zeros is N - min_l rank(A_l)."""
    fac = _factors(24, 300, seed=4)
    got = product_log_singular_values(fac, stable=True)
    logdet = sum(np.linalg.slogdet(a)[1] for a in fac)
    assert abs(got.sum() - logdet) < 1e-9 * abs(logdet)
    fac = _factors(16, 40, seed=5, zero_frac=0.3)
    got = product_log_singular_values(fac, stable=True)
    rank = min(int(np.count_nonzero(np.any(a != 0, axis=1))) for a in fac)
    assert int(np.isfinite(got).sum()) == rank


def test_stable_product_batched_and_rectangular():
    rng = np.random.default_rng(6)
    dims = [5, 9, 7, 12, 4]
    fac = [rng.standard_normal((3, dims[i + 1], dims[i])) for i in range(len(dims) - 1)]
    st = product_log_singular_values(fac, stable=True)
    assert st.shape == (3, 4)
    for b in range(3):
        j = fac[0][b]
        for a in fac[1:]:
            j = a[b] @ j
        np.testing.assert_allclose(st[b], np.log(np.linalg.svd(j, compute_uv=False)), atol=1e-11)


# ---------------------------------------------------------------------------------------------- sampler
def test_shapes_zero_atom_and_stable_flag():
    s = sample_jacobians(_relu(6), width=64, n_samples=5, mode="free", backend="numpy", seed=0)
    assert isinstance(s, JacobianSamples)
    assert s.eigenvalues.shape == (5, 64) == s.singular_values.shape
    ls = s.log_singular_values
    assert np.all(np.sort(ls, axis=1)[:, ::-1] == ls)
    # relu: exactly 64 - rank zeros, rank = min over layers of the active units
    np.testing.assert_array_equal(np.sum(s.eigenvalues == 0, axis=1), 64 - s.rank)
    assert 0.4 < s.atom_at_zero < 0.7
    assert "auto" in s.method and isinstance(s.stable, bool)
    m, se = s.moments(3)
    assert m.shape == se.shape == (3,)


def test_auto_stable_selection_for_deep_networks():
    deep = sample_jacobians(_linear(60), width=32, n_samples=2, mode="free", backend="numpy", seed=0)
    assert deep.stable and "auto" in deep.method
    spread = deep.log_singular_values[:, 0] - deep.log_singular_values[:, -1]
    assert np.all(spread > -math.log(DIRECT_SPREAD_LIMIT))
    shallow = sample_jacobians(_linear(2, "orthogonal"), width=32, n_samples=2, backend="numpy")
    assert not shallow.stable


def test_stable_and_direct_agree_on_the_same_networks():
    kw = dict(width=48, n_samples=3, mode="network", backend="numpy", seed=11)
    a = sample_jacobians(_relu(5), stable=True, rotate_draws=False, **kw)  # plain draws: the direct run's networks
    b = sample_jacobians(_relu(5), stable=False, **kw)
    np.testing.assert_array_equal(a.rank, b.rank)
    fin = np.isfinite(a.log_singular_values)
    np.testing.assert_array_equal(fin, np.isfinite(b.log_singular_values))
    top = fin & (a.log_singular_values > a.log_singular_values[:, :1] + math.log(1e-4))
    np.testing.assert_allclose(a.log_singular_values[top], b.log_singular_values[top], atol=1e-10)


def test_reproducible_and_independent_of_chunking():
    net = Network.critical("tanh", sigma_w2=1.05, depth=3, weights="orthogonal")
    kw = dict(width=40, n_samples=5, mode="network", backend="numpy", stable=False)
    a = sample_jacobians(net, seed=7, **kw)
    b = sample_jacobians(net, seed=7, chunk_size=2, threads=1, **kw)
    c = sample_jacobians(net, seed=8, **kw)
    np.testing.assert_array_equal(a.log_singular_values, b.log_singular_values)
    assert not np.allclose(a.log_singular_values, c.log_singular_values)
    # the first networks do not depend on how many are drawn
    d = sample_jacobians(net, seed=7, **{**kw, "n_samples": 2})
    np.testing.assert_array_equal(a.log_singular_values[:2], d.log_singular_values)


@pytest.mark.parametrize("weights", ["gaussian", "orthogonal"])
@pytest.mark.parametrize("mode", ["network", "free"])
def test_linear_and_relu_first_moment_is_exact_at_finite_width(mode, weights):
    """E[m_1] = prod sigma_w2 E[phi'^2] holds at every width for linear and relu (sign symmetry), so a
    z-test of m_1 is free of finite-width bias."""
    for net in (_linear(5, weights), _relu(5, weights)):
        s = sample_jacobians(net, width=96, n_samples=24, mode=mode, backend="numpy", seed=3)
        per = s.per_network_moments(1)[:, 0]
        assert abs(_z(per, 1.0)) < Z or np.allclose(per, 1.0, rtol=1e-12)


def test_network_mode_starts_at_q0_and_follows_q_map():
    net = Network.critical("tanh", sigma_w2=1.05, depth=4, weights="gaussian")
    s = sample_jacobians(net, width=256, n_samples=4, mode="network", backend="numpy", seed=0, q0=0.3)
    qc = s.diagnostics["q_conditional"]
    np.testing.assert_allclose(qc[:, 0], 0.3, rtol=1e-12)
    assert s.network.q0 == 0.3 and s.q[0] == pytest.approx(0.3)
    np.testing.assert_allclose(qc.mean(axis=0), s.q, rtol=0.05)
    with pytest.raises(ValueError, match="q0"):
        sample_jacobians(Network(activation="tanh", sigma_w2=1.0, sigma_b2=0.5, depth=2), width=8, n_samples=1,
                         mode="network", backend="numpy", q0=0.1)


def test_rectangular_network_moments_and_rank():
    layers = (Layer("relu", "gaussian", 2.0, 0.0, width=96), Layer("linear", "orthogonal", 1.0, 0.0, width=64),
              Layer("relu", "gaussian", 2.0, 0.0, width=80))
    net = Network(layers=layers, width=48)
    s = sample_jacobians(net, n_samples=24, width=None, mode="free", backend="numpy", seed=2)
    assert s.widths == (48, 96, 64, 80) and s.eigenvalues.shape == (24, 80)
    assert np.all(s.rank <= 48)
    m, se = s.moments(2)
    th = jacobian_law(net).moments(2)
    assert np.all(np.abs((m - th) / se) < Z)
    with pytest.raises(ValueError, match="conflicts"):
        sample_jacobians(net, width=50, n_samples=1, backend="numpy")


def test_log_moments_match_moments():
    s = sample_jacobians(_relu(4), width=64, n_samples=4, mode="free", backend="numpy", seed=1)
    m, _ = s.moments(4)
    np.testing.assert_allclose(np.exp(s.log_moments(4)), m, rtol=1e-12)


def test_save_npz_roundtrip(tmp_path):
    import json

    s = sample_jacobians(_relu(3), width=16, n_samples=3, mode="network", backend="numpy", seed=0)
    path = tmp_path / "eig.npz"
    s.save(path)
    with np.load(path) as f:
        np.testing.assert_array_equal(f["eigenvalues"], s.eigenvalues)
        meta = json.loads(str(f["metadata"]))
    assert meta["widths"] == [16] * 4 and meta["mode"] == "network" and meta["activation"] == "relu"


@pytest.mark.parametrize(("kwargs", "match"), [
    (dict(mode="exact"), "mode must be one of"),
    (dict(width=0), "width must be a positive integer"),
    (dict(n_samples=0), "n_samples must be a positive integer"),
    (dict(backend="torch"), "backend must be one of"),
    (dict(stable="yes"), "stable must be"),
])
def test_errors_name_the_parameter(kwargs, match):
    with pytest.raises(ValueError, match=match):
        sample_jacobians(_relu(2), **{"width": 8, "n_samples": 2, "backend": "numpy", **kwargs})
    with pytest.raises(TypeError, match="Network"):
        sample_jacobians("relu")


# ---------------------------------------------------------------------------------------------- GPU
def _cupy_or_skip():
    cp = pytest.importorskip("cupy")
    try:
        if cp.cuda.runtime.getDeviceCount() < 1:
            pytest.skip("no CUDA device")
    except Exception as exc:  # noqa: BLE001 - CUDA runtime missing
        pytest.skip(f"CUDA unavailable: {exc}")
    return cp


def test_cupy_backend_refused_cleanly_without_gpu():
    try:
        _cupy_or_skip()
    except pytest.skip.Exception:
        with pytest.raises(ValueError, match="backend='cupy' needs CuPy"):
            get_backend("cupy")
        assert get_backend("auto").name == "numpy"
        return
    assert get_backend("cupy").name == "cupy"


@pytest.mark.gpu
def test_cupy_stable_product_matches_numpy():
    cp = _cupy_or_skip()
    fac = _factors(12, 200, seed=9)
    cpu = product_log_singular_values(fac, stable=True, backend="numpy")
    gpu = product_log_singular_values([cp.asarray(a) for a in fac], stable=True, backend="cupy")
    np.testing.assert_allclose(gpu, cpu, atol=1e-10)


@pytest.mark.gpu
@pytest.mark.parametrize("mode", ["network", "free"])
def test_cupy_statistics_agree_with_numpy(mode):
    """Streams differ between backends: compare the moment means by a two-sample z-test."""
    _cupy_or_skip()
    net = Network.critical("tanh", sigma_w2=1.05, depth=8, weights="orthogonal")
    kw = dict(width=256, n_samples=16, mode=mode, seed=0)
    a = sample_jacobians(net, backend="numpy", **kw)
    b = sample_jacobians(net, backend="cupy", **kw)
    assert b.backend == "cupy"
    (ma, sa), (mb, sb) = a.moments(4), b.moments(4)
    assert np.all(np.abs(ma - mb) / np.hypot(sa, sb) < Z)


#: Two products of the same matrices agree on the top log singular value to rounding (direct SVD: about
#: N eps relative; stable product: 1e-12 in log, see test_stable_product_vs_mpmath).
SAME_NETWORK_LOG_TOL = 1e-10


@pytest.mark.parametrize("mode", ["network", "free"])
def test_same_seed_same_networks_whatever_stable_resolves_to(mode):
    """Each network draws from a stream of its own child seed (restarted when a directly computed network is
    recomputed by the stable product), so a seed gives the same networks for stable None, True and False
    with plain draws (rotate_draws=False); with rotated draws auto and forced stable runs still agree."""
    net = _linear(60)
    kw = dict(width=32, n_samples=3, mode=mode, backend="numpy", seed=5)
    rotated = sample_jacobians(net, stable=None, **kw)
    assert rotated.diagnostics["rotated_draws"] and "drawn rotated" in rotated.method
    np.testing.assert_array_equal(rotated.log_singular_values,
                                  sample_jacobians(net, stable=True, **kw).log_singular_values)
    kw["rotate_draws"] = False
    auto = sample_jacobians(net, stable=None, **kw)
    assert auto.stable and "auto" in auto.method  # the log-range estimate chose the stable product
    assert not auto.diagnostics["rotated_draws"] and "rotated" not in auto.method
    forced = sample_jacobians(net, stable=True, **kw)
    direct = sample_jacobians(net, stable=False, **kw)
    top = [s.log_singular_values[:, 0] for s in (auto, forced, direct)]
    np.testing.assert_allclose(top[0], top[1], rtol=0, atol=SAME_NETWORK_LOG_TOL)
    np.testing.assert_allclose(top[0], top[2], rtol=0, atol=SAME_NETWORK_LOG_TOL)
    # and every singular value agrees with the forced stable run (the same product on the same matrices)
    np.testing.assert_allclose(auto.log_singular_values, forced.log_singular_values, rtol=0,
                               atol=SAME_NETWORK_LOG_TOL)


# ---------------------------------------------------------------------------------------------- speed layout
@pytest.mark.parametrize("stable", [None, True, False])
@pytest.mark.parametrize("weights", ["gaussian", "orthogonal"])
def test_results_do_not_depend_on_workers_or_chunks(stable, weights):
    """Each network is computed from its own stream, and every batched step (QR per matrix, products,
    the stable product's block lengths) depends only on that network: identical bits for any layout."""
    net = Network.critical("tanh", sigma_w2=1.05, depth=12, weights=weights)
    kw = dict(width=40, n_samples=5, mode="network", backend="numpy", seed=13, stable=stable)
    one = sample_jacobians(net, threads=1, **kw)
    for layout in (dict(threads=2), dict(threads=2, chunk_size=1), dict(threads=1, chunk_size=2)):
        other = sample_jacobians(net, **layout, **kw)
        np.testing.assert_array_equal(one.log_singular_values, other.log_singular_values)


#: Blocked and per-layer stable products of the same matrices agree to the accuracy the product is tested
#: to against mpmath (test_stable_product_vs_mpmath).
BLOCKED_VS_PER_LAYER_TOL = 1e-10


def _block_run(factors, **kw):
    acc = StableProduct(get_backend("numpy").xp, **kw)
    for a in factors:
        acc.push(np.asarray(a)[None])
    out, diag = acc.finish()
    return out[0], diag, acc.steps


def test_stable_product_keeps_a_qr_step_per_layer_where_the_log_range_grows_fast():
    """Gaussian factors of width 64 spread their scales by ~log(2N) > BLOCK_LOG_RANGE / BLOCK_RATE_MARGIN
    nats per layer: the estimate keeps (nearly) every QR step, so the deep product stays stable and agrees
    with the product that takes a QR step after every layer."""
    assert BLOCK_LOG_RANGE / BLOCK_RATE_MARGIN < math.log(2 * 64)  # the premise
    fac = _factors(64, 40, seed=21)
    got, diag, steps = _block_run(fac)
    assert steps >= 0.9 * 40 and diag["longest_block_layers"] <= 2
    every, _, steps_every = _block_run(fac, block_log_range=0.0)
    assert steps_every == 40
    assert got[0] - got[-1] > 100  # deep: far beyond the direct product's reach
    np.testing.assert_allclose(got, every, rtol=0, atol=BLOCKED_VS_PER_LAYER_TOL)


def test_stable_product_blocks_layers_that_barely_spread():
    """Orthogonal factors spread the scales only through D: long blocks (few QR steps), same values."""
    fac = _factors(24, 300, seed=22, orth=True)
    got, diag, steps = _block_run(fac)
    assert diag["longest_block_layers"] == MAX_BLOCK_LAYERS and steps < 300 // 4
    assert diag["widest_block_log_range"] <= BLOCK_LOG_RANGE
    every, _, steps_every = _block_run(fac, block_log_range=0.0)
    assert steps_every == 300
    np.testing.assert_allclose(got, every, rtol=0, atol=BLOCKED_VS_PER_LAYER_TOL)


def test_sampler_reports_the_stable_blocks():
    net = Network.critical("tanh", sigma_w2=1.05, depth=24, weights="orthogonal")
    s = sample_jacobians(net, width=32, n_samples=3, mode="network", backend="numpy", seed=2, stable=True)
    assert 1 <= s.diagnostics["longest_block_layers"] <= MAX_BLOCK_LAYERS
    assert 0.0 <= s.diagnostics["widest_block_log_range"]


def test_cpu_workers_limit_every_blas_to_one_thread_in_a_fresh_interpreter():
    """threadpoolctl limits only the BLAS libraries already loaded; SciPy's own OpenBLAS (LAPACK QR of the
    sampler) must be limited too, even when nothing imported scipy.linalg before."""
    import json
    import os
    import subprocess
    import sys

    code = ("import json; from threadpoolctl import threadpool_info\n"
            "from spectral._backend import cpu_workers, get_backend\n"
            "with cpu_workers(get_backend('numpy')):\n"
            "    from scipy.linalg import lapack\n"
            "    print(json.dumps([d['num_threads'] for d in threadpool_info() if d['user_api'] == 'blas']))\n")
    # a fresh interpreter with the BLAS defaults (not the test session's thread limits, tests/conftest.py)
    env = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120,
                         env=env)
    threads = json.loads(out.stdout.strip().splitlines()[-1])
    assert len(threads) >= 1 and all(t == 1 for t in threads), threads
