"""spectral.inspect on real PyTorch models: reading the spec, predicting, measuring, comparing.

References: a default-init ReLU MLP has m_1 = prod_l sigma_w2_l / 2 with sigma_w2 = 1/3 (PyTorch's uniform
init), i.e. (1/6)^L; the init variances of Xavier, Kaiming and orthogonal inits are their documented values;
the Lanczos quadrature is checked against dense eigendecompositions of the same Jacobian.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")  # the optional extra; CI installs it (.ci/run)

import spectral as sp  # noqa: E402
from spectral.inspection.compare import compare  # noqa: E402
from spectral.inspection.measuring import _Operator, draw_inputs, lanczos, measure  # noqa: E402
from spectral.inspection.predict import plain_network, predict  # noqa: E402
from spectral.inspection.reading import ORTHOGONAL_TOL, read_model, register_residual, weight_record  # noqa: E402
from spectral.torch import Residual  # noqa: E402

nn = torch.nn

#: Relative sd of the empirical N_in mean(W^2) of an N_out x N_in uniform-init matrix: Var(w^2)/E(w^2)^2 = 4/5
#: for a uniform law, so sqrt(4/5)/sqrt(N_in N_out); tests allow 5 sd per layer (sqrt(L) for a product).
_UNIFORM_REL_SD = math.sqrt(4 / 5)
#: Same for Gaussian entries (Var(w^2)/E(w^2)^2 = 2).
_GAUSS_REL_SD = math.sqrt(2)
#: z threshold of these tests' own statistical comparisons (as validate's default).
_Z = 4.0
#: Lanczos quadrature moments are exact polynomial integrals up to degree 2k - 1; in float64 with full
#: reorthogonalisation they match the dense values to rounding (float32 model: ~1e-6 relative per pass).
_QUADRATURE_RTOL = 1e-4


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """One intra-op thread: the test machines are shared; the results do not depend on it."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def mlp(width, depth, act=nn.ReLU, init=None, seed=0, n_in=None, bias=True):
    torch.manual_seed(seed)
    mods = []
    for i in range(depth):
        lin = nn.Linear(n_in if (i == 0 and n_in) else width, width, bias=bias)
        if init is not None:
            init(lin.weight)
        mods += [lin, act()]
    return nn.Sequential(*mods)


# ------------------------------------------------------------------ reading
def test_default_relu_mlp_m1_is_one_sixth_to_the_L():
    width, depth = 128, 6
    model = mlp(width, depth)
    report = sp.inspect(model, (width,), n_inputs=8, seed=0)
    ref = (1 / 6) ** depth
    # predicted m_1 from the empirical variances: prod sigma_w2 / 2 exactly (relu: E[phi'^2] = 1/2)
    prod = math.prod(w["sigma_w2"] / 2 for w in report.weights)
    assert report.predicted["m1"] == pytest.approx(prod, rel=1e-10)
    assert abs(prod / ref - 1) < 5 * _UNIFORM_REL_SD / width * math.sqrt(depth)
    # measured against the closed form, within the finite-width band of one network
    sd = report.finite_width["log_m1_sd"]
    assert abs(math.log(report.measured["m1"] / ref)) < _Z * sd
    assert report.checks["m1"][0] and report.checks["ks"][0], str(report)
    assert report.verdict == "passed" and report.passed is True
    assert report.method == "dense"


@pytest.mark.parametrize("init, expected, orth", [
    (None, 1 / 3, False),
    (nn.init.xavier_normal_, 1.0, False),
    (nn.init.xavier_uniform_, 1.0, False),
    (lambda w: nn.init.kaiming_normal_(w, nonlinearity="relu"), 2.0, False),
    (lambda w: nn.init.kaiming_uniform_(w, nonlinearity="relu"), 2.0, False),
    (lambda w: nn.init.orthogonal_(w, gain=1.2), 1.44, True),
])
def test_init_variances_are_read_as_they_are(init, expected, orth):
    width = 128
    model = mlp(width, 3, init=init)
    rec = read_model(model, (width,))
    for w in rec.weights:
        assert w["orthogonal"] is orth
        if orth:
            assert w["sigma_w2"] == pytest.approx(expected, rel=1e-5)  # float32 orthogonal matrix
            assert w["orthogonal_deviation"] < ORTHOGONAL_TOL
        else:
            assert abs(w["sigma_w2"] / expected - 1) < 5 * _GAUSS_REL_SD / width
            assert w["orthogonal_deviation"] > 10 * ORTHOGONAL_TOL
    dense = [e["dense"] for e in rec.spec["layers"] if "dense" in e]
    assert {d["weights"] for d in dense} == {"orthogonal" if orth else "gaussian"}


def test_widening_orthogonal_scale_and_biases():
    lin = nn.Linear(64, 256)
    nn.init.orthogonal_(lin.weight, gain=0.7)
    nn.init.normal_(lin.bias, std=0.3)
    rec = weight_record("0", lin)
    assert rec["orthogonal"] and rec["sigma_w2"] == pytest.approx(0.49, rel=1e-5)
    assert abs(rec["sigma_b2"] / 0.09 - 1) < 5 * _GAUSS_REL_SD / math.sqrt(256)
    assert weight_record("0", nn.Linear(64, 64, bias=False))["sigma_b2"] == 0.0


def test_activations_and_identities_read():
    model = nn.Sequential(nn.Linear(64, 64), nn.LeakyReLU(0.2), nn.Dropout(0.5).eval(), nn.Linear(64, 64),
                          nn.GELU(), nn.Identity(), nn.Linear(64, 64), nn.SiLU(), nn.Sequential(nn.Linear(64, 64),
                                                                                           nn.ELU(0.5)))
    layers = read_model(model, 64).spec["layers"]
    acts = [e["activation"] for e in layers if "activation" in e]
    assert acts == ["leaky_relu(0.2)", "gelu", "swish", "elu(0.5)"]
    net = plain_network(read_model(model, 64).spec)
    assert [layer.activation.name for layer in net.layers] == ["leaky_relu(alpha=1/5)", "gelu", "swish",
                                                               "elu(alpha=1/2)"]


def test_unsupported_layer_is_named():
    model = nn.Sequential(nn.Linear(64, 64), nn.Tanh(), nn.BatchNorm1d(64), nn.Linear(64, 64))
    with pytest.raises(ValueError, match=r"2 \(BatchNorm1d"):
        sp.inspect(model, (64,))
    att = nn.Sequential(nn.Linear(64, 64), nn.MultiheadAttention(64, 4))
    with pytest.raises(ValueError, match="MultiheadAttention"):
        read_model(att, 64)
    shared = nn.Linear(64, 64)
    with pytest.raises(ValueError, match="weight sharing"):
        read_model(nn.Sequential(shared, nn.Tanh(), shared), 64)
    with pytest.raises(ValueError, match="Dropout in training mode"):
        read_model(nn.Sequential(nn.Linear(64, 64), nn.Dropout(0.1)), 64)

    class Custom(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(64, 64)

        def forward(self, x):
            return self.lin(x) * 2

    with pytest.raises(ValueError, match="its own forward"):
        read_model(nn.Sequential(Custom()), 64)


def test_strict_false_lists_and_measures_without_prediction():
    model = nn.Sequential(nn.Linear(64, 64), nn.Tanh(), nn.Softsign(), nn.Linear(64, 64))
    report = sp.inspect(model, (64,), strict=False, n_inputs=4)
    assert [u["type"] for u in report.unsupported] == ["Softsign"]
    assert report.predicted is None and report.passed is None and report.verdict == "incomplete"
    assert "prediction" in report.unavailable
    assert report.measured["m1"] > 0
    assert "UNSUPPORTED" in str(report)


def test_bad_arguments():
    model = mlp(64, 2)
    with pytest.raises(ValueError, match="input_shape"):
        sp.inspect(model, (8, 8))
    with pytest.raises(ValueError, match="n_inputs"):
        sp.inspect(model, 64, n_inputs=1)
    with pytest.raises(ValueError, match="method"):
        sp.inspect(model, 64, method="svd")
    with pytest.raises(TypeError, match="torch.nn.Module"):
        sp.inspect("model", 64)
    with pytest.raises(ValueError, match="in_features"):
        read_model(nn.Sequential(nn.Linear(32, 64)), 64)


# ------------------------------------------------------------------ predicting and comparing
@pytest.mark.parametrize("act", [nn.Tanh, nn.GELU])
def test_smooth_activations_m1_in_band(act):
    width, depth = 128, 8
    model = mlp(width, depth, act=act, init=nn.init.xavier_normal_)
    report = sp.inspect(model, (width,), n_inputs=8, distribution=False)
    assert report.checks["m1"][0], str(report)
    assert report.verdict == "incomplete" and "distribution" in report.unavailable


def test_orthogonal_tanh_near_isometry():
    width, depth = 128, 8
    model = mlp(width, depth, act=nn.Tanh, init=lambda w: nn.init.orthogonal_(w, gain=1.0), bias=False)
    report = sp.inspect(model, (width,), n_inputs=8, distribution=False, input_q=0.01)
    assert report.checks["m1"][0], str(report)
    assert report.predicted["spread"] < 0.2 and report.measured["spread"] < 0.2


def test_wrong_theory_fails():
    """The same measurement against a deliberately wrong spec (tanh instead of relu) fails."""
    width, depth = 128, 6
    model = mlp(width, depth)
    spec = read_model(model, width).spec
    meas = measure(model, width, n_inputs=8)
    right = compare(predict(spec), meas)
    assert all(ok for ok, _ in right["checks"].values())
    wrong_spec = {**spec, "layers": [({"activation": "tanh"} if "activation" in e else e) for e in spec["layers"]]}
    wrong = compare(predict(wrong_spec), meas, distribution=False)
    assert not wrong["checks"]["m1"][0]


def test_rectangular_mlp_with_readout():
    torch.manual_seed(1)
    model = nn.Sequential(nn.Linear(200, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(), nn.Linear(128, 64))
    report = sp.inspect(model, (200,), n_inputs=8)
    assert report.measurement.widths == (200, 64)
    assert report.checks["m1"][0] and report.checks["ks"][0], str(report)


# ------------------------------------------------------------------ measuring
def test_lanczos_quadrature_matches_dense():
    width = 96
    model = mlp(width, 4)
    x = draw_inputs(1, width, 1.0, 0, "cpu", torch.float32)[0]
    with torch.no_grad():
        j = torch.func.jacrev(model)(x).to(torch.float64)
    a = j @ j.T
    z = torch.randint(0, 2, (width,), generator=torch.Generator().manual_seed(3), dtype=torch.float64) * 2 - 1
    q = z / math.sqrt(width)
    theta, w = lanczos(_Operator(model, x), q, steps=40)
    assert w.sum() == pytest.approx(1.0, rel=1e-12)
    v = q.clone()
    for k in range(1, 6):
        v = a @ v
        exact = float(q @ v)
        assert float(np.sum(w * theta ** k)) == pytest.approx(exact, rel=_QUADRATURE_RTOL)
    assert float(theta.max()) == pytest.approx(float(torch.linalg.eigvalsh(a).max()), rel=_QUADRATURE_RTOL)


@pytest.mark.parametrize("double_vjp", [True, False])
def test_operator_product_is_j_jt(double_vjp):
    """Both ways of applying J (vjp of the map v -> J^T v, and forward-mode jvp) give J J^T v to rounding."""
    width = 48
    model = mlp(width, 3, act=nn.GELU, init=nn.init.xavier_normal_)
    x = draw_inputs(1, width, 1.0, 0, "cpu", torch.float32)[0]
    with torch.no_grad():
        j = torch.func.jacrev(model)(x).to(torch.float64)
    v = torch.randn(width, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    op = _Operator(model, x)
    op.double_vjp = double_vjp
    exact = j @ (j.T @ v)
    # float32 inside: a few ulps of float32 relative to |J J^T v|
    assert float(torch.linalg.vector_norm(op(v) - exact) / torch.linalg.vector_norm(exact)) < 1e-5
    assert op.double_vjp is double_vjp


def test_dense_and_matrix_free_agree():
    width, depth = 128, 4
    model = mlp(width, depth, act=nn.Tanh, init=nn.init.xavier_normal_)
    d = measure(model, width, n_inputs=4, method="dense")
    f = measure(model, width, n_inputs=4, method="matrix-free", probes=2, steps=40)
    se = math.hypot(d.moments_se[0], f.moments_se[0])
    assert abs(d.moments[0] - f.moments[0]) < _Z * se
    assert f.lambda_max == pytest.approx(d.lambda_max, rel=_QUADRATURE_RTOL)  # top Ritz value converged
    report = sp.inspect(model, (width,), n_inputs=4, method="matrix-free", distribution=False, probes=1, steps=20)
    assert report.method == "matrix-free" and report.checks["m1"][0]


def test_deep_relu_no_underflow_matrix_free():
    """m_1 = 6^-32 ~ 1e-25: each pass is normalised, so float32 never underflows."""
    width, depth = 64, 32
    model = mlp(width, depth)
    f = measure(model, width, n_inputs=2, method="matrix-free", probes=1, steps=20)
    assert 0 < f.moments[0] and math.isfinite(math.log(f.moments[0]))
    assert abs(math.log(f.moments[0]) - depth * math.log(1 / 6)) < 5.0  # within e^5: finite width at L/N = 0.5


# ------------------------------------------------------------------ residual and normalization
def test_residual_and_norm_entries_are_read():
    torch.manual_seed(0)
    block = Residual(nn.Sequential(nn.Linear(64, 64), nn.Tanh(), nn.Linear(64, 64)), alpha=1.0, beta=0.25)
    model = nn.Sequential(nn.Linear(64, 64), block, nn.LayerNorm(64))
    layers = read_model(model, 64).spec["layers"]
    assert list(layers[1]) == ["residual"] and layers[1]["residual"]["beta"] == 0.25
    assert [list(e)[0] for e in layers[1]["residual"]["branch"]] == ["dense", "activation", "dense"]
    assert layers[2] == {"layernorm": {}}

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.f = nn.Sequential(nn.Linear(64, 64), nn.ReLU())

        def forward(self, x):
            return x + self.f(x)

    with pytest.raises(ValueError, match="its own forward"):
        read_model(nn.Sequential(Block()), 64)
    register_residual(Block, "f", 1.0, 1.0)
    entry = read_model(nn.Sequential(Block()), 64).spec["layers"][0]
    assert entry["residual"]["alpha"] == 1.0 and len(entry["residual"]["branch"]) == 2


def _assert_agree_without_band(report, depth, width):
    """Specs beyond plain chains have no finite-width formula (their m_1 band is sampled, and must pass): the
    shape check (KS) must pass too, and m_1 agree within 4 sqrt(L/N) in log (Hanin & Nica: Var log m_1 =
    O(L/N), with a per-layer constant <= 1 for tanh branches and normalized layers at these variances)."""
    assert report.predicted is not None, report.unavailable
    assert report.checks["m1"][0] and report.checks["ks"][0], str(report)
    assert abs(math.log(report.measured["m1"] / report.predicted["m1"])) < _Z * math.sqrt(depth / width), str(report)


def _residual_model(width, depth, branch):
    torch.manual_seed(0)
    return nn.Sequential(*[Residual(nn.Sequential(*branch()), 1.0, 1 / math.sqrt(depth)) for _ in range(depth)])


@pytest.mark.slow
def test_residual_tanh_predicted_and_measured_agree():
    """A free residual model (branch [Linear, Tanh, Linear]: each block's D sits between two independent weight
    matrices): eight distinct blocks (q grows from block to block), their density certified
    (docs/design.md §6.1), and the measured spectrum agrees with it including the KS check.  About 30 s of CPU
    (the 2000-point density of the product of eight distinct blocks)."""
    width, depth = 128, 8
    model = _residual_model(width, depth, lambda: (nn.Linear(width, width), nn.Tanh(), nn.Linear(width, width)))
    report = sp.inspect(model, (width,), n_inputs=8)
    assert "distribution" not in report.unavailable, report.unavailable
    _assert_agree_without_band(report, depth, width)


@pytest.mark.slow
def test_residual_with_activation_last_is_reported_not_free():
    """Branch [Linear, Tanh]: the activation at the end of each branch makes consecutive blocks' D's meet, so the
    free law is not the network's (spectral.architecture.freeness): the law warns, and the report says the
    distribution check is unavailable and why -- it neither passes nor fails silently.  Two blocks suffice (the
    D's of the first and the second meet); the law's not_free reason refuses the theory CDF before any density is solved
    (docs/design.md §3.4)."""
    from spectral.architecture.freeness import NotFreeWarning

    width, depth = 64, 2
    model = _residual_model(width, depth, lambda: (nn.Linear(width, width), nn.Tanh()))
    with pytest.warns(NotFreeWarning):
        report = sp.inspect(model, (width,), n_inputs=8)
    assert "ks" not in report.checks
    assert "not exact" in report.unavailable["distribution"] or "free" in report.unavailable["distribution"], \
        report.unavailable
    assert report.verdict != "passed" and "distribution" in str(report)


def test_layernorm_mlp_predicted_and_measured_agree():
    width = 128
    torch.manual_seed(0)
    mods = []
    for _ in range(4):
        mods += [nn.Linear(width, width), nn.LayerNorm(width), nn.Tanh()]
    report = sp.inspect(nn.Sequential(*mods), (width,), n_inputs=8)
    _assert_agree_without_band(report, 4, width)


def test_spec_band_sampled_for_layernorm_mlp():
    """A spec without a finite-width formula gets its m_1 band by sampling networks of the spec: the correct
    theory passes, and the same band around the law of a spec whose readout has sigma_w^2 30x too large
    (log m_1 off by 3.4, ~6.5 band widths; a LayerNorm would undo a wrong scale of the layers before it)
    fails."""
    from dataclasses import replace

    from spectral.inspection.compare import compare
    from spectral.inspection.predict import predict

    width = 64
    torch.manual_seed(1)
    mods = []
    for _ in range(4):
        mods += [nn.Linear(width, width), nn.LayerNorm(width), nn.Tanh()]
    model = nn.Sequential(*mods, nn.Linear(width, width))
    report = sp.inspect(model, (width,), n_inputs=4, distribution=False)
    assert "m1" not in report.unavailable and report.checks["m1"][0], str(report)
    assert "sampled from" in report.checks["m1"][1]
    spec = read_model(model, width).spec
    readout = spec["layers"][-1]["dense"]
    wrong = {**spec, "layers": [*spec["layers"][:-1], {"dense": {**readout, "sigma_w2": 30 * readout["sigma_w2"]}}]}
    good, bad = predict(spec), predict(wrong)
    meas = measure(model, width, n_inputs=4)
    assert compare(good, meas, distribution=False)["checks"]["m1"][0]
    # the wrong law with the correct spec's sampled band: only the prediction differs
    result = compare(replace(bad, spec=good.spec), meas, distribution=False)
    assert not result["checks"]["m1"][0], result["checks"]["m1"]


def test_report_json_and_figure(tmp_path):
    import json

    report = sp.inspect(mlp(64, 3), 64, n_inputs=4)
    d = json.loads(report.to_json())
    for key in ("spec", "predicted", "measured", "passed", "unsupported", "method"):
        assert key in d
    for side in ("predicted", "measured"):
        assert set(d[side]) >= {"m1", "spread", "lambda_max", "condition"}
    fig = report.figure()
    fig.savefig(tmp_path / "f.png")
    assert (tmp_path / "f.png").stat().st_size > 0


def test_pipeline_defaults_match_measuring():
    from spectral.inspection import measuring, pipeline

    assert (pipeline.PROBES, pipeline.LANCZOS_STEPS) == (measuring.PROBES, measuring.LANCZOS_STEPS)


def test_widening_model_forward_mode_jacobian():
    """N_in < N_out takes the forward-mode path; its Jacobian equals jacrev's."""
    from spectral.inspection.measuring import _dense_one

    torch.manual_seed(2)
    model = nn.Sequential(nn.Linear(40, 128), nn.Tanh(), nn.Linear(128, 128))
    x = draw_inputs(1, 40, 1.0, 0, "cpu", torch.float32)[0]
    row, rank, _ = _dense_one(model, x, 128)
    with torch.no_grad():
        s = torch.linalg.svdvals(torch.func.jacrev(model)(x).to(torch.float64)).numpy()
    assert rank == 40
    np.testing.assert_allclose(np.exp(row[:rank]), s[:rank], rtol=_QUADRATURE_RTOL)
    report = sp.inspect(model, 40, n_inputs=4, distribution=False)
    assert report.measurement.widths == (40, 128) and report.checks["m1"][0], str(report)


def test_matrix_free_distribution_check():
    """The Lanczos-envelope KS passes for the right law and fails for a deliberately wrong one."""
    width, depth = 128, 4
    model = mlp(width, depth)
    spec = read_model(model, width).spec
    meas = measure(model, width, n_inputs=4, method="matrix-free", probes=2, steps=40)
    right = compare(predict(spec), meas)
    assert right["checks"]["ks"][0], right["checks"]
    wrong_spec = {**spec, "layers": [({"activation": "linear"} if "activation" in e else
                                      {"dense": {**e["dense"], "weights": "orthogonal"}}) for e in spec["layers"]]}
    wrong = compare(predict(wrong_spec), meas)
    assert not wrong["checks"]["ks"][0], wrong["checks"]


@pytest.mark.slow
@pytest.mark.parametrize("init, input_q", [
    (nn.init.xavier_normal_, 1.0),
    (lambda w: nn.init.orthogonal_(w, gain=math.sqrt(1.05)), 0.0259),
])
def test_tanh_distribution_in_band(init, input_q):
    width, depth = 128, 8
    model = mlp(width, depth, act=nn.Tanh, init=init, bias=False)
    report = sp.inspect(model, (width,), n_inputs=8, input_q=input_q)
    assert report.verdict == "passed", str(report)
