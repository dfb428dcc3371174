"""The command line's --spec FILE on meanfield, moments, density, validate and sample."""

import json

import numpy as np
import pytest

import spectral as sp
from spectral.cli import main

SPEC = {"input_q": 1, "layers": [
    {"dense": {"weights": "orthogonal", "sigma_w2": 1}},
    {"repeat": {"times": 4, "layers": [
        {"residual": {"alpha": 1, "beta": 0.5, "branch": [
            {"dense": {"weights": "gaussian", "sigma_w2": 1}}, {"activation": "tanh"},
            {"dense": {"weights": "gaussian", "sigma_w2": 1}}]}}]}},
    {"layernorm": {}}]}


@pytest.fixture
def spec_file(tmp_path):
    p = tmp_path / "net.json"
    p.write_text(json.dumps(SPEC))
    return str(p)


def test_moments_and_meanfield(spec_file, capsys):
    assert main(["moments", "--spec", spec_file, "--k", "3", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    ref = sp.jacobian_law(sp.spec_from_json(SPEC)).moments(3)
    np.testing.assert_allclose(out["moments"], ref, rtol=1e-12)
    assert main(["meanfield", "--spec", spec_file, "--json"]) == 0
    mf = json.loads(capsys.readouterr().out)
    assert mf["q_out"] == 1.0 and mf["steps"][0]["path"] == "layers[0]"


@pytest.mark.parametrize("extra", [["--depth", "3"], ["--activation=relu"], ["--sigma-w2", "2"], ["--crit"]])
def test_network_flags_with_spec_refused(spec_file, capsys, extra):
    assert main(["moments", "--spec", spec_file, *extra]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--spec replaces the network flags" in err[0]


def test_bad_spec_names_the_entry(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"layers": [{"dense": {"weights": "gaussian", "sigma_w2": 1}},
                                          {"repeat": {"times": 2, "layers": [{"layernorm": {"eps": 1}}]}}]}))
    assert main(["moments", "--spec", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "layers[1].repeat.layers[0].layernorm: unknown key(s) eps" in err and "Traceback" not in err
    assert main(["validate", "--spec", str(tmp_path / "missing.json")]) == 2


def test_validate_and_sample(spec_file, tmp_path, capsys, monkeypatch):
    """Moments pass; the distribution check is unavailable for this spec (its 4 distinct blocks exceed the limit
    set to 2 here), so the status is 3 (0 with --allow-uncertified)."""
    from spectral.architecture import jacobian

    monkeypatch.setattr(jacobian, "MAX_DISTINCT_BLOCKS", 2)
    assert main(["validate", "--spec", spec_file, "--width", "64", "--samples", "8", "--json"]) == 3
    rep = json.loads(capsys.readouterr().out)
    assert rep["checks"]["moments"]["passed"] and rep["verdict"] == "incomplete"
    assert main(["validate", "--spec", spec_file, "--width", "64", "--samples", "8", "--allow-uncertified"]) == 0
    capsys.readouterr()
    out = tmp_path / "eig.npz"
    assert main(["sample", "--spec", spec_file, "--width", "32", "--samples", "3", "--out", str(out)]) == 0
    assert np.load(out)["eigenvalues"].shape == (3, 32)


#: two relu residual blocks (one block law, multiplicity 2): the solver's refusal is made to happen by a limit of 0
#: distinct blocks in the test, the Brownian limit is more than 5% off its moments (s = 1/2: 5.09%; m_1 = (1 +
#: beta^2/2)^2 = 1.265625 against e^(1/4)), the plain network (two Gaussian layers and a relu) is certified
PLOT_SPEC = {"width": 16, "layers": [{"repeat": {"times": 2, "layers": [
    {"residual": {"alpha": 1, "beta": 0.5, "branch": [{"dense": {"weights": "gaussian", "sigma_w2": 1}},
                                                      {"activation": "relu"},
                                                      {"dense": {"weights": "gaussian", "sigma_w2": 1}}]}}]}}]}


def test_plot_spectrum_spec_says_why_the_theory_is_missing(tmp_path, capsys, monkeypatch):
    """The figure is written with the samples; stdout says per panel that the theory curve is unavailable and why,
    stderr has one NOT CERTIFIED line, the status is 3 (0 with --allow-uncertified)."""
    from spectral.architecture import jacobian

    monkeypatch.setattr(jacobian, "MAX_DISTINCT_BLOCKS", 0)  # the residual panel's density is refused
    spec = tmp_path / "res.json"
    spec.write_text(json.dumps(PLOT_SPEC))
    out = tmp_path / "fig.png"
    assert main(["plot", "spectrum", "--spec", str(spec), "--out", str(out), "--samples", "2"]) == 3
    cap = capsys.readouterr()
    first, second = cap.out.splitlines()[:2]
    assert first.startswith("spec: 2 residual blocks: theory curve unavailable") and "not served" in first
    assert "no Brownian limit" in first and "width 16" in first and "m_1 of JJ^T: exact 1.266, sampled" in first
    assert second.startswith("the same network without skip connections: theory curve certified")
    err = cap.err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("NOT CERTIFIED: spec: 2 residual blocks")
    assert out.stat().st_size > 5_000
    assert main(["plot", "spectrum", "--spec", str(spec), "--out", str(out), "--samples", "2", "--json",
                 "--allow-uncertified"]) == 0
    panels = json.loads(capsys.readouterr().out)["panels"]
    assert [p["theory"] for p in panels] == ["unavailable", "certified"]
    assert panels[0]["brownian_limit"] is None and "5%" in panels[0]["brownian_limit_reason"]
    assert panels[0]["samples"] == {"n_samples": 2, "width": 16, "mode": "network"}


@pytest.mark.parametrize("extra", [["--depths", "2,8"], ["--activation", "relu"], ["--resol", "5"], ["--depth=3"]])
def test_plot_flags_with_spec_refused(spec_file, tmp_path, capsys, extra):
    assert main(["plot", "spectrum", "--spec", spec_file, "--out", str(tmp_path / "f.png"), *extra]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--spec replaces the network flags" in err[0]


def test_plot_spec_is_for_the_spectrum_only(spec_file, tmp_path, capsys):
    assert main(["plot", "phase", "--spec", spec_file, "--out", str(tmp_path / "f.png")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "'plot spectrum' only" in err[0]
    wide = tmp_path / "wide.json"
    wide.write_text(json.dumps(PLOT_SPEC))  # input width 16
    assert main(["plot", "spectrum", "--spec", str(wide), "--width", "32", "--out", str(tmp_path / "f.png")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--width 32 conflicts with the spec's input width 16" in err[0]
    assert not (tmp_path / "f.png").exists()
