"""DKS/TAT for architecture specs (``recommend(spec=...)``, ``spectral recommend --spec``): the dks package's
values, an independent derivation of the network maps and of the spread, sampled networks, the CLI contract."""

import importlib.util
import json
import math
import warnings
from pathlib import Path

import numpy as np
import pytest

import spectral as sp
from spectral.architecture import (
    Dense,
    LayerNorm,
    Nonlinearity,
    Repeat,
    Residual,
    Sequential,
    propagate,
    sample_spec,
    spec_from_json,
    spec_to_json,
)
from spectral.architecture.freeness import shared_diagonals
from spectral.recommend_spec import (
    Q_TOL,
    NotFreeWarning,
    dks_form,
    spec_subnet_max,
    transform_spec,
)
from spectral.transforms import leaky_relu_c_map

ROOT = Path(__file__).parent.parent
REF = json.loads((ROOT / "reference_data" / "transforms_spec.json").read_text())
_mod_spec = importlib.util.spec_from_file_location("ref_transforms_spec",
                                                   ROOT / "reference_data" / "transforms_spec.py")
REFMOD = importlib.util.module_from_spec(_mod_spec)
_mod_spec.loader.exec_module(REFMOD)

#: dks's hybr solves stop at xtol 1.49e-8 (relative): its parameters differ from the exact roots by ~1e-8;
#: 1e-6 relative leaves a margin of 100 (the same tolerance as the chain cases in test_transforms.py).
DKS_REL = 1e-6
#: The conditions are solved to transforms.SOLVE_TOL = 1e-9; the Hermite route below agrees with the quadrature
#: to ~1e-12, and a map through 17 layers adds at most 17 such errors.
MAP_TOL = 1e-8
#: The spread from the architecture law's series against the closed form of free multiplication (two float
#: routes through the same D^2 moments to ~1e-13).
SPREAD_REL = 1e-9


def _case(name):
    c = REF["cases"][name]
    t = c["targets"]
    return c, dict(zeta=t.get("c_slope_1_target", 1.5), tau=t.get("c_curve_target", 0.3),
                   eta=t.get("c_val_0_target", 0.9))


@pytest.mark.parametrize("name", list(REF["cases"]))
def test_spec_transforms_match_the_dks_package(name):
    case, kw = _case(name)
    st = transform_spec(spec_from_json(case["spec"]), case["method"], **kw)
    want = dict(case["parameters"])
    got = dict(st.transform.parameters)
    if "negative_slope" in want:
        want["slope"] = want.pop("negative_slope")
    if case["activation"] == "tanh" and want["input_shift"] < 0:
        # tanh is odd: (beta, delta) -> (-beta, -delta) is the same kernel maps and spectrum; dks keeps whichever
        # side its solver reached, spectral keeps beta >= 0 (test_transforms.py)
        want["input_shift"], want["output_shift"] = -want["input_shift"], -want["output_shift"]
    for key, value in want.items():
        assert got[key] == pytest.approx(value, rel=DKS_REL, abs=DKS_REL), (key, got[key], value)


def test_subnet_max_of_a_spec_is_dks_rules():
    for blocks, w in ((8, 0.9), (2, 0.9), (5, 0.3)):
        spec = spec_from_json(REFMOD.spec_json("tanh", blocks, w))
        mine, theirs = spec_subnet_max(spec), REFMOD.resnet_subnet_max(blocks, w)
        for x, r in ((1.0, lambda y: 1.013 * y), (0.0, lambda y: y + 0.02), (0.1, lambda c: 0.5 * c + 0.4 * c * c)):
            assert mine(x, r) == pytest.approx(theirs(x, r), rel=1e-14)


# ------------------------------------------------------------------------------ independent derivation
def _hermite_c_map(act, n_max=60, nodes=160):
    """Coefficients b_n of the local C map C(c) = sum b_n c^n from the Hermite expansion of phi-hat
    (b_n = a_n^2 / sum a_m^2, a_n = E[phi-hat He_n]/sqrt(n!)): numpy's Gauss-Hermite nodes, not spectral.gaussian."""
    x, w = np.polynomial.hermite_e.hermegauss(nodes)
    w = w / w.sum()
    f = np.asarray(act.phi(x), float)
    he = [np.ones_like(x), x]
    for n in range(1, n_max):
        he.append(x * he[n] - n * he[n - 1])
    a2 = np.array([np.sum(w * f * he[n]) ** 2 / math.factorial(n) for n in range(n_max + 1)])
    return a2 / a2.sum(), a2.sum()


def _jet(entries, jet, b):
    """(C, C', C'') of the network map at input correlation 1, through the spec by the chain rule."""
    n = np.arange(b.size)
    c1, c2 = float(np.sum(n * b)), float(np.sum(n * (n - 1) * b))
    for e in entries:
        if isinstance(e, Repeat):
            for _ in range(e.times):
                jet = _jet(e.layers, jet, b)
        elif isinstance(e, Nonlinearity):
            v, d1, d2 = jet  # v = 1 throughout: C(1) = sum b_n = 1
            jet = (v, c1 * d1, c2 * d1 * d1 + c1 * d2)
        elif isinstance(e, Residual):
            w2 = float(e.alpha) ** 2 / (float(e.alpha) ** 2 + float(e.beta) ** 2)
            f = _jet(e.branch, jet, b)
            jet = tuple(w2 * p + (1 - w2) * q for p, q in zip(jet, f, strict=True))
    return jet


@pytest.mark.parametrize("name", ["tat_tanh_8x0.9", "tat_tanh_2x0.9", "dks_softplus_8x0.9"])
def test_network_maps_by_the_chain_rule(name):
    case, kw = _case(name)
    st = transform_spec(spec_from_json(case["spec"]), case["method"], **kw)
    b, q = _hermite_c_map(st.activation)
    assert q == pytest.approx(1.0, abs=MAP_TOL)  # Q(1) = 1
    whole = _jet(st.spec.layers, (1.0, 1.0, 0.0), b)
    branch = _jet(next(e for e in st.spec.layers if isinstance(e, Repeat)).layers[0].branch, (1.0, 1.0, 0.0), b)
    if case["method"] == "dks":  # C_f'(1) = zeta (the whole network is the larger: slopes > 1 multiply)
        assert max(whole[1], branch[1]) == pytest.approx(kw["zeta"], abs=MAP_TOL)
    else:  # C_f'(1) = 1 and max C_f''(1) = tau; with 2 blocks the branch alone is the larger
        assert whole[1] == pytest.approx(1.0, abs=MAP_TOL) and branch[1] == pytest.approx(1.0, abs=MAP_TOL)
        assert max(whole[2], branch[2]) == pytest.approx(kw["tau"], abs=MAP_TOL)
        assert (branch[2] > whole[2]) == name.endswith("2x0.9")
    assert st.maps.c_slope_1 == pytest.approx(max(whole[1], branch[1]), abs=MAP_TOL)


def test_leaky_network_c0_is_eta():
    case, kw = _case("tat_leaky_relu_8x0.9")
    st = transform_spec(spec_from_json(case["spec"]), "tat", **kw)
    a = st.transform.parameters["slope"]
    c = 0.0  # the network map at 0 by hand: dense -> 8 blocks (w^2 c + (1 - w^2) C(C(c))) -> C
    w2 = case["shortcut_weight"] ** 2
    for _ in range(case["blocks"]):
        c = w2 * c + (1 - w2) * leaky_relu_c_map(leaky_relu_c_map(c, a), a)
    c = leaky_relu_c_map(c, a)
    assert c == pytest.approx(kw["eta"], abs=1e-12) and st.maps.c_value_0 == pytest.approx(kw["eta"], abs=1e-12)


def _d2_moments(act):
    x, w = np.polynomial.hermite_e.hermegauss(160)
    d2 = np.asarray(act.dphi(x), float) ** 2
    w = w / w.sum()
    return float(np.sum(w * d2)), float(np.sum(w * d2 * d2))


@pytest.mark.parametrize("name", ["tat_tanh_8x0.9", "dks_tanh_8x0.9"])
def test_spread_is_the_free_multiplication_closed_form(name):
    """J = D B_8 ... B_1 W_0, B = w I + beta X, X = W D W D (orthogonal W, D^2 at q = 1): free factors, so
    m_1 multiplies and the spread v = m_2/m_1^2 - 1 adds; for B B^T (X R-diagonal, Y = beta X):
    m_1 = w^2 + y_1, m_2 = w^4 + 4 w^2 y_1 + y_2 (docs of the block law), with y_1 = beta^2 mu_1^2,
    y_2 = y_1^2 (1 + 2 v_D), v_D = mu_2/mu_1^2 - 1."""
    case, kw = _case(name)
    with pytest.warns(NotFreeWarning):  # dks's v2 blocks: the law checked here is the free model's
        rec = sp.recommend(spec=case["spec"], transform=case["method"], edges=False, **kw)
    mu1, mu2 = _d2_moments(rec.activation)
    vd = mu2 / mu1**2 - 1
    w = case["shortcut_weight"]
    beta2 = 1 - w * w
    y1 = beta2 * mu1**2
    y2 = y1**2 * (1 + 2 * vd)
    m1b, m2b = w * w + y1, w**4 + 4 * w * w * y1 + y2
    blocks = case["blocks"]
    assert rec.summary.m1 == pytest.approx(m1b**blocks * mu1, rel=SPREAD_REL)
    assert rec.summary.spread == pytest.approx(blocks * (m2b / m1b**2 - 1) + vd, rel=SPREAD_REL)
    if case["method"] == "tat":
        assert rec.summary.m1 == pytest.approx(1.0, rel=1e-9)  # C'(1) = Q(1) = 1: mu_1 = 1
    assert rec.summary.lambda_max is None and rec.summary.condition is None


def _post_spec(act, blocks, w):
    """Blocks with a dense layer first in the branch (the law is exact: module docstring of recommend_spec)."""
    dense = Dense("orthogonal", 1.0)
    block = Residual([dense, Nonlinearity(act), dense], alpha=w, beta=math.sqrt(1 - w * w))
    return Sequential([dense, Repeat(blocks, block), dense, Nonlinearity(act)])


#: |z| of the sampled mean of per-network m_1 and m_2 against the theory, at 4 (a false alarm about 6e-5 of the
#: time for a normal z); finite width N biases m_k by O(1/N) relative terms, well below the standard errors here
#: (measured for the tanh case: m_2 within 0.6% +- 1.1% at N = 512).
Z_MAX = 4.0


def _z_scores(spec, m1, spread, mode="network"):
    m2 = m1**2 * (1 + spread)
    per_net = sample_spec(spec, width=128, n_samples=24, seed=5, mode=mode).per_network_moments(2)
    return [(per_net[:, k].mean() - m) / (per_net[:, k].std(ddof=1) / math.sqrt(24)) for k, m in ((0, m1), (1, m2))]


@pytest.mark.parametrize("method,act,kw", [("tat", "tanh", {"tau": 0.3}), ("dks", "softplus", {"zeta": 1.5}),
                                           ("tat", "leaky_relu", {"eta": 0.3})])
def test_sampled_networks_confirm_the_reported_moments(method, act, kw):
    with warnings.catch_warnings():
        warnings.simplefilter("error", NotFreeWarning)  # a dense layer first in each branch: an exact law
        rec = sp.recommend(spec=_post_spec(act, 6, 0.9), transform=method, edges=False, **kw)
    assert not [n for n in rec.summary.notes if n.startswith("NOT CERTIFIED")]
    for k, z in enumerate(_z_scores(rec.network, rec.summary.m1, rec.summary.spread), start=1):
        assert abs(z) < Z_MAX, (k, z)


def test_activations_on_the_residual_stream_are_not_certified():
    """dks's v2 blocks (the branch starts with the activation): the transform is exact, the law is the free
    model's -- free-model samples agree with it -- but not the network's (recommend_spec's docstring)."""
    case, kw = _case("tat_tanh_2x0.9")
    spec = spec_from_json(case["spec"])
    # the two copies of the branch's leading activation and the activation after the blocks meet on the stream
    # (spectral.architecture.freeness)
    stream = "layers[1].repeat.layers[0].residual.branch[0]"
    assert shared_diagonals(spec) == [(stream, stream, "layers[2]")]
    assert shared_diagonals(_post_spec("tanh", 3, 0.5)) == []
    with pytest.warns(NotFreeWarning, match="residual stream"):
        rec = sp.recommend(spec=spec, transform="tat", edges=False, **kw)
    assert rec.summary.notes[0].startswith("NOT CERTIFIED: ") and "residual stream" in rec.summary.notes[0]
    for k, z in enumerate(_z_scores(rec.network, rec.summary.m1, rec.summary.spread, mode="free"), start=1):
        assert abs(z) < Z_MAX, (k, z)


# ------------------------------------------------------------------------------ the DKS form and refusals
def test_dks_form_normalises_and_lists_the_changes():
    spec = Sequential([Dense("gaussian", 2.0, 0.1), Repeat(3, Residual([Nonlinearity("softplus"),
                                                                          Dense("gaussian", 1.0)], 1.0, 0.1))],
                      input_q=2.0)
    normal, changes = dks_form(spec)
    block = normal.layers[1].layers[0]
    assert float(block.alpha) == pytest.approx(1 / math.sqrt(1.01), rel=1e-15)
    assert float(block.alpha) ** 2 + float(block.beta) ** 2 == pytest.approx(1.0, rel=1e-15)
    assert len(changes) == 3 and "input_q" in changes[0] and "layers[0]" in changes[1]
    st = transform_spec(spec, "dks", zeta=1.2)
    qs = [s.q_in for s in propagate(st.spec).steps if s.kind == "activation"]
    assert qs and all(abs(q - 1) < Q_TOL for q in qs)


@pytest.mark.parametrize("layers,match", [
    ([Dense("gaussian", 1.0), LayerNorm(), Nonlinearity("tanh")], r"layers\[1\].*normalisation"),
    ([Dense("gaussian", 1.0), Nonlinearity("tanh"), Dense("gaussian", 1.0), Nonlinearity("softplus")], "several"),
    ([Dense("gaussian", 1.0), Residual([Dense("gaussian", 1.0), Nonlinearity("tanh")], 1.0, 1.0)],
     r"layers\[1\]\.residual\.branch.*end with a dense"),
])
def test_specs_dks_cannot_handle_are_refused(layers, match):
    with pytest.raises(ValueError, match=match):
        transform_spec(Sequential(layers), "tat")


def test_spectral_recommender_and_chain_options_are_refused_for_specs():
    spec = REF["cases"]["tat_tanh_2x0.9"]["spec"]
    with pytest.raises(ValueError, match="plain chains only"):
        sp.recommend(spec=spec)
    with pytest.raises(ValueError, match="vary_slope"):
        sp.recommend(spec=spec, transform="tat", vary_slope=True)


# ------------------------------------------------------------------------------ CLI
def _cli(capsys, *args):
    """``spectral ARGS`` in this process (the main entry point: dispatch, exit statuses, one-line errors)."""
    from spectral.cli import main

    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_spec_json_contract(tmp_path, capsys):
    path = tmp_path / "resnet.json"
    path.write_text(json.dumps(spec_to_json(_post_spec("leaky_relu", 6, 0.9))))
    code, out, err = _cli(capsys, "recommend", "--spec", str(path), "--transform", "tat", "--eta", "0.3", "--json")
    assert code == 0, err
    d = json.loads(out)
    for key in ("parameters", "m1", "spread", "lambda_max", "condition", "defaults"):
        assert key in d
    assert set(d["parameters"]) >= {"input_scale", "input_shift", "output_scale", "output_shift", "slope"}
    direct = transform_spec(_post_spec("leaky_relu", 6, 0.9), "tat", eta=0.3)
    assert d["parameters"]["slope"] == pytest.approx(direct.transform.parameters["slope"], rel=1e-14)
    assert d["network_maps"]["c_value_0"] == pytest.approx(0.3, abs=1e-12)
    assert d["m1"] == pytest.approx(1.0, rel=1e-12) and d["lambda_max"] is None
    assert any("moments only" in n for n in d["notes"])  # never silently without the density
    assert [row["label"] for row in d["defaults"]] == ["as-given", "pytorch", "xavier", "kaiming",
                                                       "orthogonal-critical"]
    assert d["spec"] == json.loads(json.dumps(spec_to_json(direct.spec)))  # the transformed spec, readable back
    assert spec_from_json(d["spec"]).depth == direct.spec.depth
    # dks's v2 blocks: the report is printed, the spectrum is not certified (exit 3, one line on stderr)
    path.write_text(json.dumps(REF["cases"]["tat_leaky_relu_8x0.9"]["spec"]))
    code, out, err = _cli(capsys, "recommend", "--spec", str(path), "--transform", "tat", "--eta", "0.5", "--json")
    assert code == 3 and json.loads(out)["parameters"]["slope"] == pytest.approx(
        REF["cases"]["tat_leaky_relu_8x0.9"]["parameters"]["negative_slope"], rel=DKS_REL)
    assert err.startswith("NOT CERTIFIED: ") and "residual stream" in err and len(err.strip().splitlines()) == 1


def test_cli_spec_refusals_exit_2(tmp_path, capsys):
    path = tmp_path / "s.json"
    path.write_text(json.dumps(REF["cases"]["tat_tanh_2x0.9"]["spec"]))
    bad = tmp_path / "ln.json"
    bad.write_text(json.dumps({"layers": [{"dense": {"weights": "gaussian", "sigma_w2": 1}}, {"layernorm": {}},
                                          {"activation": "tanh"}]}))
    for argv, match in [(("recommend", "--spec", str(path)), "needs --transform"),
                        (("recommend", "--spec", str(path), "--transform", "tat", "--depth", "5"), "drop --depth"),
                        (("recommend", "--spec", str(path), "--transform", "tat", "--act", "relu"),
                         "drop --activation"),
                        (("recommend", "--spec", str(bad), "--transform", "tat"), "normalisation"),
                        (("plot", "recommend", "--spec", str(path), "--transform", "tat", "--out",
                          str(tmp_path / "f.png")), "plain chains only")]:
        code, _, err = _cli(capsys, *argv)
        assert code == 2 and match in err and len(err.strip().splitlines()) == 1, (argv, err)


def test_a_plain_chain_spec_gives_the_chain_route():
    """A spec [Dense, leaky_relu] x L is a plain chain: its M is the chain's, its law the chain's JacobianLaw, so
    the transform, the moments and the density-based edge agree with recommend(act, depth) to rounding."""
    from spectral.recommend_spec import spec_summary
    from spectral.recommendation import spectrum_summary

    depth = 10
    spec = Sequential([Repeat(depth, [Dense("orthogonal", 1.0), Nonlinearity("leaky_relu")])])
    st = transform_spec(spec, "tat", eta=0.5)
    chain = sp.recommend("leaky_relu", depth=depth, transform="tat", eta=0.5, edges=False)
    for key, value in chain.parameters.items():
        assert st.transform.parameters[key] == pytest.approx(value, rel=1e-12, abs=1e-15), key
    mine, theirs = spec_summary(st.spec, edges=True), spectrum_summary(chain.network, edges=True)
    assert mine.m1 == pytest.approx(theirs.m1, rel=1e-12) and mine.spread == pytest.approx(theirs.spread, rel=1e-12)
    assert mine.lambda_max is not None and mine.lambda_max == pytest.approx(theirs.lambda_max, rel=1e-9)
    assert mine.condition == pytest.approx(theirs.condition, rel=1e-9)


def test_unreachable_eta_names_the_reachable_range():
    spec = spec_from_json(REF["cases"]["tat_leaky_relu_8x0.9"]["spec"])  # C_f(0) at most 0.607 (slope 0)
    reach = spec_subnet_max(spec)(0.0, lambda c: leaky_relu_c_map(c, 0.0))
    assert 0.5 < reach < 0.9
    with pytest.raises(ValueError, match=rf"eta = 0.9 is not reachable.*at most {reach:.6g}"):
        transform_spec(spec, "tat", eta=0.9)


def test_figure_recommend_refuses_a_spec_recommendation():
    from spectral.plotting import figure_recommend

    rec = sp.recommend(spec=_post_spec("tanh", 2, 0.9), transform="tat", tau=0.3, edges=False)
    with pytest.raises(ValueError, match="plot spectrum --spec"):
        figure_recommend(rec)
