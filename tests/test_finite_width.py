"""Finite-width predictions (spectral.finite_width) against closed forms and sampled networks.

Statistics: the sample variance of n independent values has standard error about var * sqrt(2/(n - 1))
(Gaussian data; log-norms are close to Gaussian at these widths), a sample sd about sd/sqrt(2(n - 1)).  A
prediction passes when it is within Z_THR standard errors plus its stated model accuracy MODEL_TOL (first
order in 1/N per layer: measured within 15% at L/N <= 0.25, see the module docstring and
benchmarks/calibrate_validate.py)."""

import math

import numpy as np
import pytest

from spectral.activations import activation as get_activation
from spectral.finite_width import finite_width, finite_width_atom, layer_statistics
from spectral.montecarlo import sample_jacobians
from spectral.product import Network

#: z threshold for sampled statistics (two-sided 6e-5 per comparison).
Z_THR = 4.0
#: Stated relative accuracy of the first-order (1/N) predictions at L/N <= 0.25.
MODEL_TOL = 0.15


def test_kappa_closed_forms():
    relu = get_activation("relu")
    g = layer_statistics(relu, 1.0, 0.0, haar=False)
    h = layer_statistics(relu, 1.0, 0.0, haar=True, fixed_norm=False)
    # relu: mu2 = mu4 = 1/2: kappa = 3 * 2 - 1 = 5 (Hanin & Nica), Haar 3 * 2 - 3 = 3, kappa_m1 = 2 - 1 = 1
    assert g["kappa"] == pytest.approx(5.0, abs=1e-10)
    assert h["kappa"] == pytest.approx(3.0, abs=1e-10)
    assert g["kappa_m1"] == pytest.approx(1.0, abs=1e-10)
    assert g["a"] == pytest.approx(0.0, abs=1e-10)  # mu2 of relu does not depend on q
    lin = layer_statistics(get_activation("linear"), 1.0, 0.0, haar=True)
    assert lin["kappa"] == pytest.approx(0.0, abs=1e-10)  # orthogonal linear layers are isometries


def test_hard_tanh_slope_of_mu2():
    # mu2(q) = erf(1/sqrt(2q)): d log mu2 / dq = -exp(-1/(2q)) / (sqrt(2 pi) q^1.5 mu2)
    q = 0.5228
    st = layer_statistics(get_activation("hard_tanh"), q, 0.066, haar=False)
    mu2 = math.erf(1 / math.sqrt(2 * q))
    assert st["mu2"] == pytest.approx(mu2, rel=1e-12)
    assert st["a"] == pytest.approx(-math.exp(-1 / (2 * q)) / (math.sqrt(2 * math.pi) * q ** 1.5 * mu2), rel=1e-9)


def _sampled_log_norms(net, width, n, mode, seed=1):
    s = sample_jacobians(net, width=width, n_samples=n, mode=mode, backend="numpy", seed=seed, stable=False)
    lam = np.where(np.isfinite(s.log_singular_values), s.eigenvalues, 0.0)
    # ||J u||^2 = sum_i lambda_i (v_i . u)^2 with u uniform: Dirichlet(1/2) weights on the right singular basis
    g = np.random.default_rng(seed).standard_normal(lam.shape) ** 2
    lu = np.log(np.sum(lam * g / g.sum(axis=1, keepdims=True), axis=1))
    return lu, np.log(lam.mean(axis=1))


CASES = [  # (activation, weights, sigma_w2, critical, depth, width, mode)
    ("relu", "gaussian", 2.0, False, 8, 64, "network"),      # Hanin & Nica: Var = 5 L / N
    ("relu", "orthogonal", 2.0, False, 16, 64, "network"),   # L/N = 0.25
    ("tanh", "gaussian", 1.5, True, 16, 64, "network"),      # coupling to the forward variance
    ("tanh", "orthogonal", 1.5, True, 8, 64, "network"),
    ("hard_tanh", "orthogonal", 1.2, True, 6, 64, "network"),
    ("tanh", "gaussian", 1.5, True, 8, 64, "free"),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: "-".join(str(x) for x in c))
def test_log_norm_spread_against_samples(case):
    act, weights, sw2, critical, depth, width, mode = case
    net = Network.critical(act, sigma_w2=sw2, depth=depth, weights=weights) if critical else \
        Network(activation=act, weights=weights, sigma_w2=sw2, sigma_b2=0.0, depth=depth)
    n = 300
    fw = finite_width(net, width, mode=mode)
    lu, lm = _sampled_log_norms(net, width, n, mode)
    var_u = lu.var(ddof=1)
    assert abs(var_u - fw["log_norm_var"]) <= Z_THR * var_u * math.sqrt(2 / (n - 1)) + MODEL_TOL * fw["log_norm_var"]
    sd_m = lm.std(ddof=1)
    assert abs(sd_m - fw["log_m1_sd"]) <= Z_THR * sd_m / math.sqrt(2 * (n - 1)) + MODEL_TOL * fw["log_m1_sd"]
    # means: standard error sd/sqrt(n), model accuracy MODEL_TOL of the predicted shift from log E
    shift = 0.5 * fw["log_norm_var"]
    assert abs(lu.mean() - fw["log_norm_mean"]) <= Z_THR * lu.std(ddof=1) / math.sqrt(n) + MODEL_TOL * shift


def test_coupling_is_needed_for_tanh():
    """The plain sum of kappa/N (free mode, no forward-variance coupling) under-predicts a real tanh network."""
    net = Network.critical("tanh", sigma_w2=1.5, depth=16, weights="gaussian")
    net_fw = finite_width(net, 64)["log_norm_var"]
    free_fw = finite_width(net, 64, mode="free")["log_norm_var"]
    assert net_fw > 1.1 * free_fw


def test_atoms_and_keys():
    net = Network.critical("hard_tanh", sigma_w2=1.2, depth=6, weights="orthogonal")
    fw = finite_width(net, 400)
    assert {"width", "log_norm_mean", "log_norm_var", "log_m1_mean", "log_m1_sd", "atom_zero", "atoms"} <= set(fw)
    (loc, mass, sd), = fw["atoms"]
    assert loc == pytest.approx(1.2 ** 6, rel=1e-12)
    # L (1 - p) = 1: the infinite-width mass is 0, the finite-width mean is E(N - S)^+/N ~ sd(S)/(N sqrt(2 pi))
    p0 = 1 / 6
    assert mass == pytest.approx(math.sqrt(6 * p0 * (1 - p0) * 400) / 400 / math.sqrt(2 * math.pi), rel=0.1)
    assert fw["atom_zero"]["mean"] == pytest.approx(finite_width_atom([p0] * 6, (400,) * 7)[0], rel=1e-9)


@pytest.mark.parametrize("bad", [0, -3, 2.5, True])
def test_bad_width(bad):
    net = Network(activation="relu", weights="gaussian", sigma_w2=2.0, depth=4)
    with pytest.raises(ValueError, match="width"):
        finite_width(net, bad)


def test_bad_mode():
    net = Network(activation="relu", weights="gaussian", sigma_w2=2.0, depth=4)
    with pytest.raises(ValueError, match="mode"):
        finite_width(net, 64, mode="direct")


def test_cli_moments_width_json(capsys):
    import json

    from spectral.cli import main

    code = main(["moments", "--activation", "relu", "--weights", "gaussian", "--sigma-w2", "2", "--depth", "8",
                 "--width", "64", "--json"])
    assert code == 0
    fw = json.loads(capsys.readouterr().out)["finite_width"]
    assert set(fw) >= {"width", "log_norm_mean", "log_norm_var", "log_m1_mean", "log_m1_sd", "atom_zero", "atoms"}
    assert fw["width"] == 64 and fw["log_norm_var"] == pytest.approx(5 * 8 / 64, rel=1e-9)  # Hanin & Nica
    assert main(["moments", "--width", "0"]) == 2
