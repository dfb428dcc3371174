"""DKS/TAT transforms: dks's documented parameters and values, mpmath kernel values, large-depth spectra."""

import json
import math
from pathlib import Path

import numpy as np
import pytest

import spectral as sp
from spectral.activations import activation
from spectral.transforms import (
    SOLVE_TOL,
    chain,
    dks,
    kernel_stats,
    leaky_relu_c_map,
    leaky_tat_spread_limit,
    local_c_map,
    tat,
    transform_activation,
)

REF = json.loads((Path(__file__).parent.parent / "reference_data" / "transforms.json").read_text())
#: dks's hybr solves stop at xtol 1.49e-8 (relative), so its parameters differ from the exact roots by ~1e-8;
#: 1e-6 relative (absolute for values below 1e-6) leaves a margin of 100.
DKS_REL = 1e-6
#: dks's relu solve meets C'(1) only to 4.6e-7 (kernel_at_dks_parameters), which moves input_scale by 2.1e-5
#: where dC'(1)/d(input_scale) is small; the exact root (ours, C'(1) to 1e-15) differs from dks's by that much.
DKS_RELU_REL = 5e-5
#: Relative agreement of our quadrature with mpmath's 30-digit values of the local maps.
KERNEL_REL = 1e-11
#: Relative agreement of the spread from law.moments(2) with mpmath's closed form (leaky TAT).
SPREAD_REL = 1e-12
#: dks's transformed activations at +-0.6 (assertAlmostEqual places=8 there); our exact roots differ from dks's
#: stopped ones by ~1e-8 relative in the parameters, ~1e-7 in the values.
VALUE_ABS = 2e-6

_TARGETS = REF["dks_targets"]


def _subnet_max():
    import importlib.util

    spec = importlib.util.spec_from_file_location("ref_transforms", Path(__file__).parent.parent / "reference_data"
                                                  / "transforms.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.dks_test_subnet_max


SUBNET_MAX = _subnet_max()
_NAMES = {"gelu_exact": "gelu"}  # dks's gelu_exact is x Phi(x), our gelu


def _solve(method, name, targets):
    base = _NAMES.get(name, name)
    if method == "dks":
        return dks(base, zeta=targets["c_slope_1_target"], q_slope=targets.get("local_q_slope_target", 1.0),
                   subnet_max=SUBNET_MAX)
    return tat(base, tau=targets["c_curve_target"], eta=targets["c_val_0_target"], subnet_max=SUBNET_MAX)


CASES = [(m, n) for m, table in REF["dks_parameters"].items() for n in table]


@pytest.mark.parametrize("method,name", CASES)
def test_parameters_match_the_dks_package(method, name):
    tr = _solve(method, name, _TARGETS[method])
    rel = DKS_RELU_REL if name == "relu" else DKS_REL
    for key, want in REF["dks_parameters"][method][name].items():
        got = tr.parameters["slope" if key == "negative_slope" else key]
        assert got == pytest.approx(want, rel=rel, abs=DKS_REL), (key, got, want)


@pytest.mark.parametrize("method,name", CASES)
def test_kernel_values_match_mpmath_at_the_dks_parameters(method, name):
    p = dict(REF["dks_parameters"][method][name])
    slope = p.pop("negative_slope", None)
    base = activation("leaky_relu", alpha=slope) if slope is not None else activation(_NAMES.get(name, name))
    k = kernel_stats(transform_activation(base, **p)).to_dict()
    for key, want in REF["kernel_at_dks_parameters"][f"{method}:{name}"].items():
        want = float(want)
        if math.isinf(want):
            assert math.isinf(k[key])
        else:
            assert k[key] == pytest.approx(want, rel=KERNEL_REL, abs=1e-15), key


@pytest.mark.parametrize("method,name", [(m, n) for m, t in REF["dks_values"].items() for n in t])
def test_transformed_values_match_the_dks_package(method, name):
    tr = _solve(method, name, REF["dks_value_targets"][method])
    got = tr.activation.phi(np.array([0.6, -0.6]))
    tol = DKS_RELU_REL if name == "relu" else VALUE_ABS  # values of order 1: relative = absolute
    want = np.asarray(REF["dks_values"][method][name])
    if name == "tanh" and not np.allclose(got, want, rtol=0, atol=tol):
        # odd phi: (beta, delta) -> (-beta, -delta) gives -phi-hat(-x), the same kernels and spectra; dks keeps
        # whichever side its solver reached (beta > 0 in the parameter test, beta < 0 here), we keep beta >= 0
        assert tr.parameters["input_shift"] >= 0
        got = -tr.activation.phi(np.array([-0.6, 0.6]))
    np.testing.assert_allclose(got, want, rtol=0, atol=tol)


@pytest.mark.parametrize("make", [lambda: dks("softplus", zeta=1.5, depth=100),
                                  lambda: dks("leaky_relu", zeta=2.0, depth=10),
                                  lambda: tat("tanh", tau=0.3, depth=100),
                                  lambda: tat("softplus", tau=0.5, depth=20)])
def test_solved_conditions_hold(make):
    tr = make()
    k = kernel_stats(tr.activation)
    assert k.q_value == pytest.approx(1.0, abs=SOLVE_TOL)
    assert k.q_slope == pytest.approx(1.0, abs=SOLVE_TOL)
    if tr.method == "dks":
        assert k.c_value_0 == pytest.approx(0.0, abs=SOLVE_TOL)
        assert k.c_slope_1 == pytest.approx(tr.targets["zeta"] ** (1 / tr.targets["depth"]), abs=SOLVE_TOL)
    else:
        assert k.c_slope_1 == pytest.approx(1.0, abs=SOLVE_TOL)
        assert k.c_curv_1 == pytest.approx(tr.targets["tau"] / tr.targets["depth"], abs=SOLVE_TOL)


def test_chain_maximal_functions_are_the_closed_forms():
    m = chain(7)
    assert m(1.0, lambda y: 1.1 * y) == pytest.approx(1.1 ** 7, rel=1e-15)
    assert m(0.0, lambda y: 0.2 + y) == pytest.approx(1.4, rel=1e-15)


def test_leaky_c_map_closed_form_matches_quadrature():
    act = transform_activation(activation("leaky_relu", alpha=0.3), output_scale=math.sqrt(2 / (1 + 0.09)))
    for c in (0.0, 0.4, 0.9):
        assert local_c_map(act, c) == pytest.approx(leaky_relu_c_map(c, 0.3), rel=1e-12)


def _spread(act, depth):
    net = sp.Network(activation=act, weights="orthogonal", sigma_w2=1.0, sigma_b2=0.0, depth=depth, q0=1.0)
    m1, m2 = sp.jacobian_law(net).moments(2)
    return m1, m2 / m1**2 - 1


def test_tat_leaky_spread_is_the_closed_form_and_tends_to_the_limit():
    for row in REF["leaky_tat"]:
        tr = tat("leaky_relu", eta=float(row["eta"]), depth=row["depth"])
        assert tr.parameters["slope"] == pytest.approx(float(row["slope"]), rel=1e-12)
        m1, v = _spread(tr.activation, row["depth"])
        assert m1 == pytest.approx(1.0, rel=1e-13)
        assert v == pytest.approx(float(row["spread"]), rel=SPREAD_REL)
        assert leaky_tat_spread_limit(float(row["eta"])) == pytest.approx(float(row["spread_limit"]), rel=1e-12)
    # eta = 0.9: v(100) = 25.9 ("about 26"), v(1000) = 28.09, limit 28.34; the gap shrinks like 1/L
    (v100, v1000), lim = [float(r["spread"]) for r in REF["leaky_tat"][:2]], leaky_tat_spread_limit(0.9)
    assert 25.5 < v100 < 26.5 and abs(lim - 28.3) < 0.05
    assert (lim - v100) / (lim - v1000) == pytest.approx(10.0, rel=0.05)


#: Richardson's extrapolation (10 v(10L) - v(L))/9 of an O(1/L) gap leaves O(1/L^2) ~ 1e-5 relative at L = 100;
#: 1e-3 relative of the stated limits separates them from neighbouring values (4 tau at tau = 0.3 is 1.2).
LIMIT_REL = 1e-3


@pytest.mark.parametrize("which", ["tat", "dks"])
def test_large_depth_spreads_4tau_and_8lnzeta(which):
    vs = []
    for depth in (100, 1000):
        tr = tat("tanh", tau=0.3, depth=depth) if which == "tat" else dks("softplus", zeta=1.5, depth=depth)
        m1, v = _spread(tr.activation, depth)
        assert m1 == pytest.approx(1.0 if which == "tat" else 1.5, rel=1e-9)
        vs.append(v)
    limit = 4 * 0.3 if which == "tat" else 8 * math.log(1.5)
    assert abs(vs[1] - limit) < abs(vs[0] - limit) < 0.05 * limit  # the gap shrinks with depth
    assert (10 * vs[1] - vs[0]) / 9 == pytest.approx(limit, rel=LIMIT_REL)


#: |z| of the sampled mean eigenvalue against m_1, at 4 (a false alarm about 6e-5 of the time for a normal z).
Z_MAX = 4.0


@pytest.mark.slow
@pytest.mark.parametrize("spelling", ["tat(tanh, tau=0.3, depth=30)", "dks(softplus, zeta=1.5, depth=30)",
                                      "tat(leaky_relu, eta=0.9, depth=30)"])
def test_sampled_networks_confirm_m1_and_m2(spelling):
    act = activation(spelling)
    net = sp.Network(activation=act, weights="orthogonal", sigma_w2=1.0, sigma_b2=0.0, depth=30, q0=1.0)
    m1, m2 = sp.jacobian_law(net).moments(2)
    samples = sp.sample_jacobians(net, width=200, n_samples=24, seed=11)
    ev = np.asarray(samples.eigenvalues).reshape(24, -1)
    for k, m in ((1, m1), (2, m2)):
        per_net = (ev**k).mean(axis=1)
        z = (per_net.mean() - m) / (per_net.std(ddof=1) / math.sqrt(per_net.size))
        # finite width N = 200 biases m_k by O(k^2 L / N^2)-relative terms, far below the standard error here
        assert abs(z) < Z_MAX, (spelling, k, per_net.mean(), m, z)


def test_spellings_round_trip_and_refuse_bad_input():
    a = activation("tat(tanh, tau=0.3, depth=50)")
    assert a == activation(a.name) and a.family == "transformed"
    assert activation("dks(softplus, zeta=1.5, depth=50)") == dks("softplus", zeta=1.5, depth=50).activation
    t = activation("transformed(tanh, input_scale=0.5, output_scale=2)")
    np.testing.assert_allclose(t.phi(np.array([0.3])), 2 * np.tanh(0.15), rtol=1e-15)
    for spec, match in [("tat(tanh, tau=0.3)", "depth is required"), ("tat(relu, depth=3)", "leaky_relu"),
                        ("dks(tanh, zeta=0.9, depth=3)", "zeta"), ("tat(hard_tanh, depth=3)", "kinks"),
                        ("transformed(tanh, scale=2)", "input_scale"), ("tat(tanh, 0.3)", "keyword")]:
        with pytest.raises(ValueError, match=match):
            activation(spec)
    with pytest.raises(ValueError, match="input_scale"):
        transform_activation("tanh", input_scale=-1.0)


def test_transformed_derivatives_and_kinks_are_exact():
    act = transform_activation(activation("leaky_relu", alpha=0.2), input_scale=2.0, input_shift=1.0,
                               output_scale=3.0, output_shift=-0.5)
    assert act.kinks == (-0.5,)
    assert act.pieces == ((-math.inf, -0.5, 1.2000000000000002), (-0.5, math.inf, 6.0))
    x = np.linspace(-2, 2, 41) + 1e-3
    h = 1e-6
    np.testing.assert_allclose(act.dphi(x), (act.phi(x + h) - act.phi(x - h)) / (2 * h), rtol=1e-7)
    smooth = transform_activation("tanh", input_scale=0.7, input_shift=0.2, output_scale=1.3, output_shift=0.1)
    np.testing.assert_allclose(smooth.ddphi(x), (smooth.dphi(x + h) - smooth.dphi(x - h)) / (2 * h), rtol=1e-6,
                               atol=1e-9)
    # mean field of the transformed activation = the base's at the matching variances (exact identity):
    # E[phi-hat(sqrt(q) z)^2] with alpha = 1, beta = 0, gamma = 1, delta = 0 is the base's
    ident = transform_activation("tanh")
    assert sp.mean_field(ident, 1.05, 2.01e-5).chi1 == pytest.approx(sp.mean_field("tanh", 1.05, 2.01e-5).chi1,
                                                                     rel=1e-12)
