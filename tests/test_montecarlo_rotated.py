"""Rotated draws of the stable product (sample_jacobians(rotate_draws=True)): a layer right after a QR step draws
W' and stands for W = W' Q^T.  Exactness: the product of the rotated factors is the product of the actual
weights (mpmath); the forward pass uses the actual weights; the law: rotated and plain draws sample the same
networks in distribution (two-sample KS tests), and a deliberately wrong rotation is rejected.
"""

import math

import numpy as np
import pytest
from scipy.stats import ks_2samp
from test_montecarlo import _mp_log_svals

import spectral.montecarlo.sampler as sampler_module
import spectral.stable_product as sp
from spectral._backend import get_backend
from spectral.montecarlo import haar_orthogonal, sample_jacobians
from spectral.product import Network

#: The tolerance the stable product is tested to against mpmath (test_stable_product_vs_mpmath).
MPMATH_LOG_TOL = 1e-10
#: Level of each two-sample KS test (fixed seeds: deterministic).  Up to 5 statistics per case: a family-wise
#: level of at most 5% by Bonferroni.
KS_ALPHA = 0.01
#: The negative control (D dropped on rotated layers, a 3-4% change of E[log s] at this critical tanh) must be
#: rejected by the mean log singular value at this level (measured: p = 1.0e-6; top log s: p = 4.6e-4).
KS_REJECT_P = 1e-4


def _q_transpose(acc, i, n):
    """Q_i^T of network i of a StableProduct right after a QR step, column by column from rotate_input."""
    b = acc.layers.shape[0]
    mask = np.zeros(b, dtype=bool)
    mask[i] = True
    cols = []
    for j in range(n):
        x = np.zeros((b, n))
        x[i, j] = 1.0
        cols.append(sp.StableProduct.rotate_input(acc, x, mask)[i])
    return np.stack(cols, axis=1)


def _rotated_product(n, depth, seed, zero_rows=()):
    """Push rotated factors D W' (network 0 Gaussian, network 1 Haar) wherever rotatable(); return the log
    singular values, the actual factors D W' Q^T of each network and the number of rotated pushes."""
    rng = np.random.default_rng(seed)
    acc = sp.StableProduct(get_backend("numpy").xp)
    actual = [[], []]
    rotated = 0
    for layer in range(depth):
        w = np.stack([rng.standard_normal((n, n)) / math.sqrt(n), haar_orthogonal(n, seed=int(rng.integers(2**31)))[0]])
        d = np.where(rng.random((2, n)) < 0.7, 1.0, 0.5)
        if layer in zero_rows:
            d[:, layer % n] = 0.0
        a = d[..., None] * w
        rot = acc.rotatable()
        for i in range(2):
            actual[i].append(a[i] @ _q_transpose(acc, i, n) if rot.shape[0] and rot[i] else a[i].copy())
        rotated += int(rot.sum()) if rot.shape[0] else 0
        acc.push(a, rotated=rot if rot.shape[0] and rot.any() else None)
    return acc.finish()[0], actual, rotated


@pytest.mark.parametrize("implicit", [True, False])
def test_rotated_product_is_the_product_of_the_actual_weights(monkeypatch, implicit):
    """N = 8, depth 150 (log-range > 100 nats), one zero row in two layers (the QR step's row order enters
    Q^T x): the stable product of the rotated factors D W' equals, within the tolerance of the mpmath test,
    the mpmath product of the actual factors D W' Q^T, with Q as reflectors and formed, Gaussian (a QR step
    nearly every layer) batched with Haar (long blocks: mixed rotated masks)."""
    monkeypatch.setattr(sp, "IMPLICIT_Q_MIN_WIDTH", 1 if implicit else 10 ** 9)
    got, actual, rotated = _rotated_product(8, 150, seed=41, zero_rows=(3, 70))
    assert rotated >= 60  # Gaussian of width 8: blocks of 1-2 layers
    for i in range(2):
        finite = int(np.isfinite(got[i]).sum())
        assert finite == 7  # the two zero rows remove one direction each, in general position only one
        dps = int((got[i][0] - got[i][finite - 1]) / math.log(10)) + 40
        ref = _mp_log_svals(actual[i], dps)[:finite]
        np.testing.assert_allclose(got[i][:finite], ref, rtol=0, atol=MPMATH_LOG_TOL)
    assert got[0][0] - got[0][6] > 100


class _Recording(sp.StableProduct):
    """A QR step every layer (every layer after the first drawn rotated); records pushes and Q^T x."""

    log: list = []

    def __init__(self, xp, **kw):
        super().__init__(xp, block_log_range=0.0)

    def rotate_input(self, x, mask):
        qt = [_q_transpose(self, i, x.shape[1]) if mask[i] else None for i in range(x.shape[0])]
        self.log.append(("input", np.array(x), np.array(mask), qt))
        return super().rotate_input(x, mask)

    def push(self, a, rotated=None):
        self.log.append(("push", np.array(a), None if rotated is None else np.array(rotated), None))
        return super().push(a, rotated=rotated)


@pytest.mark.parametrize("implicit", [True, False])
def test_sampler_forward_pass_and_product_use_the_actual_weights(monkeypatch, implicit):
    """Network mode, tanh, sigma_b2 = 0, width 8, depth 40, Q as reflectors and formed: for every rotated layer
    the pre-activations the sampler used, artanh(x^l), equal W x^{l-1} with the actual weights W = W' Q^T
    (W' = A'/D, D = 1 - (x^l)^2), and the sampler's log singular values equal the mpmath product of the actual
    factors A' Q^T."""
    monkeypatch.setattr(sampler_module, "StableProduct", _Recording)
    monkeypatch.setattr(sp, "IMPLICIT_Q_MIN_WIDTH", 1 if implicit else 10 ** 9)
    _Recording.log = []
    net = Network(activation="tanh", weights="gaussian", sigma_w2=1.05, sigma_b2=0.0, depth=40)  # b = 0
    s = sample_jacobians(net, width=8, n_samples=2, mode="network", backend="numpy", seed=9, stable=True,
                         threads=1, rotate_draws=True)
    inputs = [e for e in _Recording.log if e[0] == "input"]
    pushes = [e for e in _Recording.log if e[0] == "push"]
    assert len(pushes) == 40 and len(inputs) == 39 and all(np.all(e[2]) for e in pushes[1:])
    checked = 0
    for i in range(2):
        actual = [pushes[0][1][i]] + [pushes[k][1][i] @ inputs[k - 1][3][i] for k in range(1, 40)]
        for k in range(1, 39):  # layer k + 1: input x^k, output x^{k+1}
            x_in, x_out = inputs[k - 1][1][i], inputs[k][1][i]
            d = 1.0 - x_out ** 2
            w_actual = pushes[k][1][i] / d[:, None] @ inputs[k - 1][3][i]
            np.testing.assert_allclose(w_actual @ x_in, np.arctanh(x_out), rtol=0, atol=1e-10)
            checked += 1
        dps = int((s.log_singular_values[i, 0] - s.log_singular_values[i, -1]) / math.log(10)) + 40
        np.testing.assert_allclose(s.log_singular_values[i], _mp_log_svals(actual, dps), rtol=0, atol=MPMATH_LOG_TOL)
    assert checked == 76
    assert s.diagnostics["rotated_draws"]


def _stats(s):
    """Per-network statistics (one value per network, so the samples of a KS test are independent; the
    singular values of one network are not): top, bottom and mean log singular value."""
    ls = s.log_singular_values
    return {"top": ls[:, 0], "bottom": ls[:, -1], "mean": ls.mean(axis=1)}


@pytest.mark.parametrize("mode", ["network", "free"])
def test_rotated_and_plain_draws_have_the_same_law(mode):
    """Width 16, depth 30, critical tanh, Gaussian, 64 networks each (different seeds, so the samples are
    independent): two-sample KS on the top, bottom and mean log singular value (and in network mode on the
    conditional variance q^l at the last layer and averaged over layers), each at level KS_ALPHA."""
    net = Network.critical("tanh", sigma_w2=1.05, depth=30, weights="gaussian")
    kw = dict(width=16, n_samples=64, mode=mode, backend="numpy", stable=True, threads=1)
    rot = sample_jacobians(net, seed=1, rotate_draws=True, **kw)
    plain = sample_jacobians(net, seed=2, rotate_draws=False, **kw)
    assert rot.diagnostics["rotated_draws"] and not plain.diagnostics["rotated_draws"]
    a, b = _stats(rot), _stats(plain)
    if mode == "network":
        qa, qb = rot.diagnostics["q_conditional"], plain.diagnostics["q_conditional"]
        a.update(q_last=qa[:, -1], q_mean=qa.mean(axis=1))
        b.update(q_last=qb[:, -1], q_mean=qb.mean(axis=1))
    for key in a:
        assert ks_2samp(a[key], b[key]).pvalue > KS_ALPHA, key


class _WithoutD(sp.StableProduct):
    """A deliberately wrong rotation: rotated layers pushed as a fresh W' without D."""

    def push(self, a, rotated=None):
        if rotated is not None:
            rng = np.random.default_rng(int(a[0, 0, 0] * 1e9) % 2**31)
            a = a.copy()
            a[rotated] = rng.standard_normal(a[rotated].shape) * math.sqrt(1.05 / a.shape[-1])
        return super().push(a, rotated=rotated)


def test_the_law_test_rejects_a_wrong_rotation(monkeypatch):
    """Negative control of test_rotated_and_plain_draws_have_the_same_law: with W' pushed without D the same
    KS tests reject it: the mean log singular value at p < KS_REJECT_P, the top one at the test's level."""
    monkeypatch.setattr(sampler_module, "StableProduct", _WithoutD)
    net = Network.critical("tanh", sigma_w2=1.05, depth=30, weights="gaussian")
    kw = dict(width=16, n_samples=64, mode="free", backend="numpy", stable=True, threads=1)
    wrong = sample_jacobians(net, seed=1, rotate_draws=True, **kw)
    plain = sample_jacobians(net, seed=2, rotate_draws=False, **kw)
    a, b = _stats(wrong), _stats(plain)
    assert ks_2samp(a["mean"], b["mean"]).pvalue < KS_REJECT_P
    assert ks_2samp(a["top"], b["top"]).pvalue < KS_ALPHA


def test_rotate_draws_is_checked_and_rotated_pushes_are_refused_where_q_is_not_square():
    net = Network.critical("tanh", sigma_w2=1.05, depth=3, weights="gaussian")
    with pytest.raises(TypeError, match="rotate_draws"):
        sample_jacobians(net, width=8, n_samples=2, backend="numpy", rotate_draws="yes")
    acc = sp.StableProduct(get_backend("numpy").xp, block_log_range=0.0)  # a QR step every layer
    rng = np.random.default_rng(0)
    acc.push(rng.standard_normal((1, 3, 6)))  # the rank drops to 3: Q is 3 x 3, square
    assert acc.rotatable().all()
    acc.push(rng.standard_normal((1, 5, 3)))  # Q of this step is 5 x 3: W Q would not be a 5-column draw
    assert not acc.rotatable().any()
    with pytest.raises(ValueError, match="rotatable"):
        acc.push(rng.standard_normal((1, 4, 5)), rotated=np.array([True]))
