"""The command line: JSON contracts, human tables, exit statuses."""

import json
import math
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


# --------------------------------------------------------------------------- no evaluation of user input
INJECTIONS = ['__import__("os").system("echo PWNED")', "lambda: 1", "().__class__", 'exec("x")', "1e999999",
              "10**10**10", "nan", "inf"]

#: Every flag that takes a number or an exact value as text, with the command that reads it.
STRING_FLAGS = [
    ("symbolic", "--sigma-w2", ("--activation", "relu")),
    ("symbolic", "--sigma-b2", ("--activation", "relu")),
    ("symbolic", "--p", ("--activation", "hard_tanh")),
    ("symbolic", "--depth", ("--activation", "relu")),
    ("meanfield", "--sigma-w2", ()),
    ("meanfield", "--sigma-b2", ()),
    ("moments", "--sigma-w2", ()),
    ("moments", "--depth", ()),
    ("moments", "--k", ()),
    ("density", "--points", ()),
    ("validate", "--seed", ()),
    ("validate", "--width", ()),
    ("plot", "--sigma-w2-range", ("phase", "--out", "never.png")),
    ("plot", "--depths", ("depth", "--out", "never.png")),
]


@pytest.mark.parametrize("payload", INJECTIONS)
@pytest.mark.parametrize(("command", "flag", "extra"), STRING_FLAGS)
def test_injection_strings_exit_2_naming_the_flag(capfd, tmp_path, monkeypatch, command, flag, extra, payload):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capfd, command, *extra, flag, payload)  # capfd: a shell command would write to fd 1
    assert code == 2, err
    assert flag in err and err.count("\n") == 1 and "Traceback" not in err
    assert out == ""  # "echo PWNED" never ran
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_injection_never_runs_in_a_subprocess(tmp_path):
    marker = tmp_path / "PWNED"
    code = f'__import__("pathlib").Path({str(marker)!r}).touch()'
    for flag in ("--sigma-w2", "--sigma-b2"):
        r = subprocess.run([sys.executable, "-m", "spectral", "symbolic", "--activation", "relu", flag, code],
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 2 and flag in r.stderr and r.stderr.count("\n") == 1
    r = subprocess.run([sys.executable, "-m", "spectral", "meanfield", "--activation", code],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "--activation" not in r.stdout and r.stderr.count("\n") == 1
    assert not marker.exists()


def test_symbolic_accepts_the_documented_syntax(capsys):
    d = run_json(capsys, "symbolic", "--activation", "relu", "--weights", "gaussian", "--sigma-w2", "4/2",
                 "--sigma-b2", "0", "--depth", "1")
    assert "2*sqrt(2) + 3" in d["edges"]  # sigma_w2 = 2 exactly
    d = run_json(capsys, "symbolic", "--activation", "relu", "--weights", "orthogonal", "--sigma-w2", "sigma_w2",
                 "--depth", "L", "--k", "1")
    assert d["moments"] == ["sigma_w2**L/2**L"]
    code, out, err = run(capsys, "symbolic", "--activation", "relu", "--depth", "1e9")
    assert code == 2 and "--depth" in err and err.count("\n") == 1


# --------------------------------------------------------------------------- exit-2 messages name the parameter
@pytest.mark.parametrize(("argv", "needle"), [
    (("validate", "--seed", "-1"), "--seed"),
    (("plot", "phase", "--sigma-w2-range", "1", "--out", "f.png"), "--sigma-w2-range"),
    (("plot", "phase", "--sigma-w2-range", "2,1", "--out", "f.png"), "--sigma-w2-range"),
    (("symbolic", "--depth", "1e9"), "--depth"),
    (("symbolic", "--depth", "1001"), "--depth"),
    (("moments", "--activation", "tanh", "--exact"), "--exact"),
    (("plot", "phase", "--activation", "", "--out", "f.png"), "--activation"),
    (("plot", "depth", "--dpi", "100000", "--out", "f.png"), "--dpi"),
    (("meanfield", "--sigma-w2", "0"), "--sigma-w2"),
    (("density", "--points", "3"), "--points"),
])
def test_exit_2_messages_name_the_parameter(capsys, tmp_path, monkeypatch, argv, needle):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, *argv)
    assert code == 2 and needle in err and err.count("\n") == 1 and "Traceback" not in err


# --------------------------------------------------------------------------- one rule for --out
def _out_cases(tmp_path):
    ro = tmp_path / "ro.png"
    return [("", "empty"), (str(tmp_path), "folder"), (str(tmp_path / "missing" / "a.png"), "does not exist"),
            ("/proc/spectral-test.png", "cannot write"), (str(ro) + ".jpg", "must end in")]


@pytest.mark.parametrize("command", [("demo",), ("plot", "depth"), ("plot", "spectrum"), ("sample",)])
def test_bad_out_paths_exit_2_before_computing(capsys, tmp_path, monkeypatch, command):
    import spectral.product

    def boom(*a, **k):
        raise AssertionError("the computation started before --out was checked")

    monkeypatch.setattr(spectral.product, "jacobian_law", boom)
    monkeypatch.setattr(spectral.product.Network, "__post_init__", boom)
    for path, needle in _out_cases(tmp_path):
        if command == ("sample",) and needle == "must end in":
            path = str(tmp_path / "a.txt")  # sample needs .npz: a.txt is refused, never saved as a.txt.npz
        elif command == ("sample",):
            path = path.replace(".png", ".npz")
        code, out, err = run(capsys, *command, "--out", path)
        assert code == 2, (path, err)
        assert "--out" in err and (needle in err or path == "") and err.count("\n") == 1, err
    assert not (tmp_path / "missing").exists()  # no folder is created


def test_sample_writes_exactly_the_path_printed(capsys, tmp_path):
    out = tmp_path / "eig.npz"
    code, text, err = run(capsys, "sample", "--activation", "linear", "--depth", "2", "--width", "8", "--samples",
                          "2", "--backend", "numpy", "--out", str(out))
    assert code == 0 and f"{out} (eigenvalues" in text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["eig.npz"]


def test_help_states_the_real_defaults_and_the_rules(capsys):
    def help_of(*command):
        code, out, err = run(capsys, *command, "--help")
        assert code == 0
        return " ".join(out.split())

    demo = help_of("demo")
    assert "(default: 32)" in demo and "(default: 256)" in demo and "critical line" in demo
    assert "orthogonal, compared with gaussian" in demo
    plot = help_of("plot")
    assert "critical line" in plot and "orthogonal,gaussian for spectrum and depth" in plot
    for text in (demo, plot):
        assert "no suffix added" in text and "exit status" in text and "NOT CERTIFIED" in text
    code, out, err = run(capsys, "--help")
    assert code == 0 and "1.05, 21/20" in out and "3 NOT CERTIFIED" in out.replace("\n", " ")


# --------------------------------------------------------------------------- JSON: infinity vs failure
def test_one_overflowed_moment_keeps_the_finite_results(capsys):
    d = run_json(capsys, "moments", "--activation", "relu", "--weights", "gaussian", "--sigma-w2", "2",
                 "--depth", "32", "--k", "1000")
    assert d["variance"] == pytest.approx(64, rel=1e-12)  # L (mu2/mu1^2 - 1 + 1) = 2L for relu/Gaussian
    assert d["m1"] == pytest.approx(1, rel=1e-12) and d["moments"][1] == pytest.approx(65, rel=1e-12)
    assert isinstance(d["moments"][-1], str) and "e+" in d["moments"][-1]  # beyond the float range: a string


def test_json_encoder_distinguishes_infinity_from_failure():
    from spectral.jsonout import dumps, jsonable

    assert jsonable({"a": float("inf"), "b": -np.inf, "c": float("nan"), "d": np.float32(2), "e": None}) == \
        {"a": "inf", "b": "-inf", "c": None, "d": 2.0, "e": None}
    assert json.loads(dumps([np.array([1.0, np.inf, np.nan])])) == [[1.0, "inf", None]]


# --------------------------------------------------------------------------- one top-level handler
def _crash(exc):
    def f(args):
        raise exc
    return f


@pytest.mark.parametrize(("exc", "status", "needle"), [
    (MemoryError(), 4, "not enough memory"),
    (KeyboardInterrupt(), 130, "interrupted"),
    (OSError(28, "No space left on device", "x.npz"), 2, "No space left"),
    (RuntimeError("something unexpected"), 5, "run with --debug"),
    (KeyError("k"), 5, "internal error"),
])
def test_top_level_handler(capsys, monkeypatch, exc, status, needle):
    import spectral.cli as cli

    monkeypatch.setattr(cli, "cmd_meanfield", _crash(exc))
    code, out, err = run(capsys, "meanfield")
    assert code == status and needle in err and err.count("\n") == 1 and "Traceback" not in err


def test_debug_shows_the_traceback(capsys, monkeypatch):
    import spectral.cli as cli

    monkeypatch.setattr(cli, "cmd_meanfield", _crash(RuntimeError("boom")))
    code, out, err = run(capsys, "meanfield", "--debug")
    assert code == 5 and "Traceback" in err and "boom" in err and "--debug for" not in err


# --------------------------------------------------------------------------- uncertified densities: status 3
#: The injected failure: a mass error far above the certificate's tolerance.
FAKE_MASS_ERROR = 0.25


@pytest.fixture(scope="module")
def uncertified():
    """A real density result whose certificate fails (its mass check is off), as the solver returns for
    networks it cannot certify."""
    import dataclasses

    from spectral.product import Network, jacobian_law

    res = jacobian_law(Network(activation="relu", weights="gaussian", sigma_w2=2, sigma_b2=0, depth=2)).density(64)
    assert res.certified
    bad = dataclasses.replace(res, diagnostics={**res.diagnostics, "mass_error": FAKE_MASS_ERROR})
    assert not bad.certified and "total mass" in bad.reason
    return bad


def _serve(monkeypatch, result=None, error=None):
    """Make every density (eigenvalues and singular values) return ``result`` or raise ``error``."""
    from spectral.product import JacobianLaw, Network, jacobian_law

    def fake(self, points=2000, **kwargs):
        if error is not None:
            raise error
        return result

    monkeypatch.setattr(JacobianLaw, "density", fake)
    sv_law = type(jacobian_law(Network(activation="relu", depth=1)).singular_values())
    monkeypatch.setattr(sv_law, "density", fake)


RELU = ("--activation", "relu", "--weights", "gaussian", "--sigma-w2", "2", "--depth", "2")


def test_density_not_certified_exits_3(capsys, monkeypatch, uncertified):
    _serve(monkeypatch, uncertified)
    code, out, err = run(capsys, "density", *RELU, "--points", "64")
    assert code == 3 and "quantile" in out
    assert err.startswith("NOT CERTIFIED: ") and "total mass off by 0.25" in err and err.count("\n") == 1
    code, out, err = run(capsys, "density", *RELU, "--points", "64", "--allow-uncertified", "--json")
    assert code == 0 and err.startswith("NOT CERTIFIED: ")
    d = json.loads(out)
    assert d["certified"] is False and d["diagnostics"]["certified"] is False and "total mass" in d["reason"]


def test_density_that_raises_exits_3_with_one_line(capsys, monkeypatch):
    _serve(monkeypatch, error=RuntimeError("continuous mass 1 but no band was found"))
    for extra in ((), ("--allow-uncertified",)):  # nothing to show: never status 0
        code, out, err = run(capsys, "density", *RELU, *extra)
        assert code == 3 and out == "" and err.count("\n") == 1
        assert err.startswith("NOT CERTIFIED: the density solver failed: continuous mass 1 but no band")


@pytest.mark.parametrize("kind", ["spectrum", "depth"])
def test_plot_with_uncertified_density_exits_3(capsys, monkeypatch, tmp_path, uncertified, kind):
    _serve(monkeypatch, uncertified)
    out = tmp_path / f"{kind}.png"
    argv = ("plot", kind, *RELU[:6], "--depths", "2,4", "--out", str(out), "--dpi", "30")
    code, text, err = run(capsys, *argv)
    assert code == 3 and "NOT CERTIFIED: " in err and "total mass off by 0.25" in err and err.count("\n") == 1
    assert out.exists()  # drawn dashed and labelled, but the status says it is not certified
    code, text, err = run(capsys, *argv, "--allow-uncertified")
    assert code == 0 and "NOT CERTIFIED: " in err


@pytest.mark.parametrize("kind", ["spectrum", "depth", "validation"])
def test_plot_with_failing_density_is_never_status_0(capsys, monkeypatch, tmp_path, kind):
    _serve(monkeypatch, error=RuntimeError("no band was found"))
    argv = ("plot", kind, *RELU[:6], "--depths", "2", "--depth", "2", "--width", "16", "--samples", "2",
            "--backend", "numpy", "--out", str(tmp_path / "f.png"), "--dpi", "30", "--allow-uncertified")
    code, text, err = run(capsys, *argv)
    assert code == 3 and "NOT CERTIFIED: " in err and "no band was found" in err and "Traceback" not in err


@pytest.mark.parametrize("fault", ["uncertified", "raises"])
def test_validate_reports_the_distribution_check_unavailable(capsys, monkeypatch, uncertified, fault):
    _serve(monkeypatch, uncertified if fault == "uncertified" else None,
           None if fault == "uncertified" else RuntimeError("no band was found"))
    argv = ("validate", "--activation", "relu", "--weights", "orthogonal", "--sigma-w2", "2", "--depth", "2",
            "--width", "64", "--samples", "4", "--backend", "numpy")
    code, out, err = run(capsys, *argv)
    why = "theory not certified: total mass off by 0.25" if fault == "uncertified" else "theory density failed"
    assert code == 3 and "INCOMPLETE" in out and "PASSED" not in out and f"unavailable ({why}" in out
    assert err.startswith("NOT CERTIFIED: distribution: ") and err.count("\n") == 1
    code, out, err = run(capsys, *argv, "--json", "--allow-uncertified")
    d = json.loads(out)
    assert code == 0 and d["verdict"] == "incomplete" and d["unavailable"]["distribution"].startswith(why)
    assert d["ks"] is None and "ks" not in d["checks"] and d["checks"]["moments"]["passed"] is True


def test_demo_with_uncertified_density_exits_3(capsys, monkeypatch, tmp_path, uncertified):
    _serve(monkeypatch, uncertified)
    code, out, err = run(capsys, "demo", "--activation", "relu", "--sigma-w2", "2", "--depth", "2", "--width", "32",
                         "--samples", "4", "--backend", "numpy", "--out", str(tmp_path / "d.png"))
    assert code == 3 and "NOT CERTIFIED: singular-value density: total mass off by 0.25" in err
    assert err.count("\n") == 1 and (tmp_path / "d.png").exists()


def test_demo_exit_status_follows_the_verdict(capsys, tmp_path):
    # width 1 without bias: every network is the same scalar chain (zero standard error), far from the
    # infinite-width theory
    code, out, err = run(capsys, "demo", "--sigma-b2", "0", "--depth", "4", "--width", "1", "--samples", "4",
                         "--backend", "numpy", "--out", str(tmp_path / "d.png"))
    assert ("FAILED" in out) == (code == 1)
    assert code == 1 and "undefined (zero standard error)" in out


# --------------------------------------------------------------------------- resource limits
def test_help_states_the_caps(capsys):
    from spectral import limits

    code, out, _ = run(capsys, "moments", "--help")
    text = " ".join(out.split())
    assert code == 0
    for cap in (f"{limits.MAX_K:,}", f"{limits.MAX_K_EXACT:,}", f"{limits.MAX_PRECISION:,}",
                f"{limits.MAX_DEPTH:,}", f"{limits.MAX_EXACT_K_DEPTH:,}"):
        assert cap in text, cap


def test_moments_below_the_float_range_are_decimal_strings_not_zero(capsys):
    d = run_json(capsys, "moments", "--activation", "relu", "--sigma-w2", "1.05", "--sigma-b2", "0",
                 "--depth", "100000", "--k", "2")
    # m_1 = (sigma_w2 / 2)^L for relu (mu_1 = 1/2): log10 m_1 = L log10(0.525)
    mantissa, exponent = d["m1"].split("e")
    assert float(mantissa) * 10.0 ** (int(exponent) - math.floor(100000 * math.log10(0.525))) == pytest.approx(
        10.0 ** (100000 * math.log10(0.525) - math.floor(100000 * math.log10(0.525))), rel=1e-9)


def test_closed_form_activation_takes_high_precision(capsys):
    d = run_json(capsys, "moments", "--activation", "relu", "--weights", "orthogonal", "--sigma-w2", "2",
                 "--sigma-b2", "0", "--depth", "5", "--k", "2", "--precision", "1000")
    import mpmath

    with mpmath.workdps(1000):  # exact values m_1 = 1, m_2 = 6 (test_moments_exact_strings) at 1000 digits
        assert abs(mpmath.mpf(d["moments"][1]) - 6) < mpmath.mpf(10) ** -990 and mpmath.mpf(d["m1"]) == 1


def test_sampling_beyond_the_time_cap_is_refused_with_a_width_that_fits(capsys):
    from spectral import limits

    code, out, err = run(capsys, "validate", "--width", "8192", "--samples", "64", "--backend", "numpy")
    assert code == 2 and err.count("\n") == 1 and "--width <= " in err
    fits = int(err.split("--width <= ")[1].split(",")[0])
    assert limits.sampling_seconds(fits, 16, 64, "orthogonal", None) <= limits.MAX_SAMPLING_SECONDS
    assert limits.sampling_seconds(fits + 2, 16, 64, "orthogonal", None) > limits.MAX_SAMPLING_SECONDS


def test_sampling_beyond_memory_is_refused_with_a_width_that_fits(capsys, monkeypatch):
    from spectral import limits

    monkeypatch.setattr(limits, "available_memory", lambda: 64 * 2**20)
    code, out, err = run(capsys, "sample", "--width", "4096", "--samples", "2", "--backend", "numpy")
    assert code == 2 and err.count("\n") == 1 and "--width 4096" in err and "memory" in err
    fits = int(err.split("--width <= ")[1].split(" ")[0])
    per = 8 * limits.SAMPLER_MATRICES * 2  # two networks in flight
    assert per * fits**2 <= limits.MEMORY_FRACTION * 64 * 2**20 < per * (fits + 1) ** 2


def test_long_sampling_run_is_announced(capsys, monkeypatch):
    from spectral import limits

    monkeypatch.setattr(limits, "LONG_RUN_SECONDS", 0.0)
    code, out, err = run(capsys, "sample", "--width", "8", "--samples", "2", "--depth", "2", "--backend", "numpy")
    assert code == 0 and "sampling takes about" in err and "Ctrl-C" in err


def test_version_flag(capsys):
    """``spectral --version`` prints the package version and exits 0."""
    import spectral
    from spectral.cli import main

    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"spectral {spectral.__version__}"
