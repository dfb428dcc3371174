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


def test_validate_and_sample(spec_file, tmp_path, capsys):
    """Moments pass; the distribution check is unavailable for this spec, so the status is 3 (0 with
    --allow-uncertified)."""
    assert main(["validate", "--spec", spec_file, "--width", "64", "--samples", "8", "--json"]) == 3
    rep = json.loads(capsys.readouterr().out)
    assert rep["checks"]["moments"]["passed"] and rep["verdict"] == "incomplete"
    assert main(["validate", "--spec", spec_file, "--width", "64", "--samples", "8", "--allow-uncertified"]) == 0
    capsys.readouterr()
    out = tmp_path / "eig.npz"
    assert main(["sample", "--spec", spec_file, "--width", "32", "--samples", "3", "--out", str(out)]) == 0
    assert np.load(out)["eigenvalues"].shape == (3, 32)
