"""The command line: JSON contracts, human tables, exit statuses."""

import json
import subprocess
import sys

import numpy as np
import pytest

from spectral.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys, *argv):
    code, out, err = run(capsys, *argv, "--json")
    assert code == 0, err
    return json.loads(out)


def test_meanfield_json_contract(capsys):
    d = run_json(capsys, "meanfield", "--activation", "tanh", "--sigma-w2", "1.05", "--sigma-b2", "2.01e-5")
    assert {"q_star", "chi1", "chi2", "xi_q", "xi_c", "phase"} <= set(d)
    assert d["phase"] == "critical" and abs(d["chi1"] - 1) < 1e-6


def test_meanfield_critical_solves_sigma_b2(capsys):
    d = run_json(capsys, "meanfield", "--activation", "tanh", "--sigma-w2", "1.05", "--critical")
    assert d["sigma_b2"] == pytest.approx(2.01e-5, rel=2e-3)
    assert d["chi1"] == pytest.approx(1.0, abs=1e-12)
    assert d["xi_c"] == "inf"  # infinite depth scale at criticality: the documented JSON string, not null


def test_moments_exact_strings(capsys):
    d = run_json(capsys, "moments", "--activation", "relu", "--weights", "orthogonal", "--sigma-w2", "2",
                 "--sigma-b2", "0", "--depth", "5", "--k", "5", "--exact")
    assert d["moments"] == ["1", "6", "46", "396", "3651"]
    assert d["m1"] == "1" and d["variance"] == "5"  # L (mu2/mu1^2 - 1 - s1) = 5 (2 - 1 - 0)


def test_moments_float_and_precision_agree(capsys):
    args = ("moments", "--activation", "tanh", "--critical", "--depth", "64", "--k", "4")
    f = run_json(capsys, *args)
    p = run_json(capsys, *args, "--precision", "30")
    np.testing.assert_allclose(f["moments"], [float(x) for x in p["moments"]], rtol=1e-11)
    assert f["m1"] == pytest.approx(1.0, abs=1e-9)


def test_moments_beyond_float_range_are_strings(capsys):
    d = run_json(capsys, "moments", "--activation", "relu", "--weights", "gaussian", "--sigma-w2", "2.5",
                 "--depth", "10000", "--k", "3")
    # m_1 = 1.25^10000 = 10^969.1: reported as a decimal string, its logarithm exactly
    assert isinstance(d["m1"], str) and d["m1"].endswith("e+969")
    assert float(d["m1"].split("e")[0]) == pytest.approx(10 ** (10000 * np.log10(1.25) - 969), rel=1e-9)
    assert d["log_moments"][0] == pytest.approx(10000 * np.log(1.25), rel=1e-13)


def test_symbolic_contract_and_no_closed_form(capsys):
    d = run_json(capsys, "symbolic", "--activation", "relu", "--weights", "gaussian", "--sigma-w2", "2",
                 "--depth", "1")
    assert {"s_transform", "equation", "edges", "moments"} <= set(d)
    assert "2*sqrt(2) + 3" in d["edges"]
    code, out, err = run(capsys, "symbolic", "--activation", "tanh")
    assert code == 2 and "numeric" in err and err.count("\n") == 1


@pytest.mark.parametrize("argv,needle", [
    (("meanfield", "--activation", "tanhh"), "unknown activation"),
    (("moments", "--weights", "uniform"), "weights"),
    (("meanfield", "--sigma-w2", "-1"), "--sigma-w2"),
    (("meanfield", "--sigma-b2", "-0.1"), "--sigma-b2"),
    (("moments", "--depth", "0"), "--depth"),
    (("moments", "--k", "0"), "--k"),
    (("meanfield", "--activation", "relu", "--sigma-w2", "2.5", "--sigma-b2", "0.1"), "no fixed point"),
    (("validate", "--samples", "1"), "--samples"),
])
def test_bad_input_exits_2_with_one_line(capsys, argv, needle):
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert needle in err and err.count("\n") == 1 and "Traceback" not in err


def test_validate_passes_and_reports_contract_keys(capsys):
    d = run_json(capsys, "validate", "--activation", "relu", "--weights", "orthogonal", "--sigma-w2", "2",
                 "--sigma-b2", "0", "--depth", "4", "--width", "96", "--samples", "6", "--backend", "numpy")
    keys = {"moments_theory", "moments_sampled", "stderr", "z_scores", "ks", "wasserstein", "atom_theory",
            "atom_sampled", "passed", "backend", "seconds"}
    assert keys <= set(d) and d["passed"] is True and d["backend"] == "numpy"
    assert d["atom_theory"] == pytest.approx(0.5)


def test_validate_exit_status_1_when_it_fails(capsys):
    # L/N = 2 with chaotic tanh: finite-width effects dominate and the moments disagree by many standard errors
    code, out, err = run(capsys, "validate", "--activation", "tanh", "--weights", "gaussian", "--sigma-w2", "4",
                         "--sigma-b2", "0", "--depth", "48", "--width", "24", "--samples", "4", "--seed", "1")
    assert code == 1
    assert "FAILED" in out and "finite-width" in out


def test_sample_writes_npz(capsys, tmp_path):
    out = tmp_path / "eig.npz"
    d = run_json(capsys, "sample", "--activation", "linear", "--weights", "orthogonal", "--sigma-w2", "1.5",
                 "--depth", "3", "--width", "32", "--samples", "2", "--out", str(out), "--backend", "numpy")
    eig = np.load(out)["eigenvalues"]
    assert eig.shape == (2, 32)
    np.testing.assert_allclose(eig, 1.5**3, rtol=1e-10)  # linear orthogonal: a single atom at sigma_w^(2L)
    assert d["out"] == str(out)


def test_python_dash_m_and_help():
    r = subprocess.run([sys.executable, "-m", "spectral", "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "meanfield" in r.stdout and "moments" in r.stdout


def test_density_json_contract(capsys):
    d = run_json(capsys, "density", "--activation", "relu", "--weights", "gaussian", "--sigma-w2", "2",
                 "--sigma-b2", "0", "--depth", "16", "--points", "400")
    assert {"x", "density", "atoms", "support", "lambda_max", "mass", "diagnostics"} <= set(d)
    assert d["atoms"] == [[0.0, 0.5]]
    assert d["mass"] == pytest.approx(1.0, abs=1e-6)
    assert d["support"][1] == pytest.approx(d["lambda_max"])
    assert len(d["x"]) == len(d["density"]) >= 400


def test_density_singular_values(capsys):
    d = run_json(capsys, "density", "--activation", "linear", "--weights", "gaussian", "--sigma-w2", "1",
                 "--depth", "1", "--points", "300", "--singular-values")
    assert d["lambda_max"] == pytest.approx(2.0, rel=1e-10)  # quarter-circle law: s in [0, 2]
    x, rho = np.array(d["x"]), np.array(d["density"], dtype=float)
    np.testing.assert_allclose(rho[1:-1], np.sqrt(4 - x[1:-1] ** 2)[...] / np.pi, rtol=1e-7, atol=1e-9)


def test_demo_runs_end_to_end_and_writes_its_figure(capsys, tmp_path):
    out = tmp_path / "demo.png"
    d = run_json(capsys, "demo", "--depth", "8", "--width", "64", "--samples", "4", "--backend", "numpy",
                 "--out", str(out))
    assert out.stat().st_size > 10_000
    assert d["figure"] == str(out.resolve())
    assert d["mean_field"]["phase"] == "critical" and d["moments"]["m1"] == pytest.approx(1.0, abs=1e-9)
    assert d["singular_values"]["certified"] is True and d["singular_values"]["mass"] == pytest.approx(1, abs=1e-6)
    # orthogonal weights at criticality: variance L (mu2/mu1^2 - 1) is far below the Gaussian one (+ L)
    assert d["moments"]["variance_gaussian"] == pytest.approx(d["moments"]["variance"] + 8, rel=1e-9)
    assert d["validation"]["passed"] is True


@pytest.mark.parametrize(("kind", "extra"), [
    ("spectrum", ("--activation", "relu", "--sigma-w2", "2", "--depths", "2,4", "--xscale", "log")),
    ("validation", ("--activation", "relu", "--sigma-w2", "2", "--depth", "2", "--width", "64", "--samples", "2")),
    ("phase", ("--activation", "relu,tanh", "--resolution", "12", "--contour-depth", "4")),
    ("depth", ("--activation", "relu", "--sigma-w2", "2", "--depths", "1,2,4")),
])
def test_plot_writes_figure(capsys, tmp_path, kind, extra):
    out = tmp_path / f"{kind}.png"
    d = run_json(capsys, "plot", kind, *extra, "--out", str(out), "--dpi", "40")
    weights = ["orthogonal", "gaussian"] if kind in ("spectrum", "depth") else ["orthogonal"]  # the defaults
    assert d == {"kind": kind, "out": str(out.resolve()), "weights": weights}
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 5000


@pytest.mark.parametrize(("argv", "needle"), [
    (("plot", "spectrum", "--out", "fig.jpg"), "--out must end in .png, .pdf or .svg"),
    (("plot", "depth", "--activation", "relu,tanh", "--out", "f.png"), "--activation takes one activation"),
    (("plot", "spectrum", "--weights", "unitary", "--out", "f.png"), "--weights must be gaussian, orthogonal"),
])
def test_plot_bad_input_exits_2(capsys, argv, needle):
    code, out, err = run(capsys, *argv)
    assert code == 2 and needle in err and "Traceback" not in err
