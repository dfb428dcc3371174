"""``spectral inspect``: JSON keys, exit statuses, loading by module:callable and file.py:callable, figure."""

from __future__ import annotations

import json
import sys
import textwrap

import pytest

pytest.importorskip("torch")  # the optional extra; CI installs it (.ci/run)

from spectral.cli import main  # noqa: E402

MODELS = textwrap.dedent("""
    import torch

    def make_mlp():
        torch.manual_seed(0)
        return torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 64), torch.nn.ReLU())

    def make_bad():
        return torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.Softsign())

    def make_raises():
        raise RuntimeError("boom")

    not_a_model = 3
""")


@pytest.fixture
def models(tmp_path, monkeypatch):
    path = tmp_path / "inspect_models_fixture.py"
    path.write_text(MODELS)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield path
    sys.modules.pop("inspect_models_fixture", None)


def run(capsys, *argv):
    status = main(["inspect", *argv])
    out, err = capsys.readouterr()
    return status, out, err


def test_json_keys_file_target(models, capsys):
    status, out, _ = run(capsys, f"{models}:make_mlp", "--input-shape", "64", "--n-inputs", "4", "--json")
    d = json.loads(out)
    assert {"spec", "predicted", "measured", "passed", "unsupported", "method"} <= set(d)
    for side in ("predicted", "measured"):
        assert {"m1", "spread", "lambda_max", "condition"} <= set(d[side])
    assert d["method"] == "dense" and d["unsupported"] == []
    assert [list(e)[0] for e in d["spec"]["layers"]] == ["dense", "activation", "dense", "activation"]
    assert status == (0 if d["passed"] else 1)


def test_module_target_table_and_figure(models, capsys, tmp_path):
    fig = tmp_path / "inspect.png"
    status, out, _ = run(capsys, "inspect_models_fixture:make_mlp", "--input-shape", "64", "--n-inputs", "4",
                         "--out", str(fig))
    assert status == 0, out
    assert "m_1" in out and "PASSED" in out
    assert fig.stat().st_size > 0


def test_unsupported_strict_and_no_strict(models, capsys):
    status, _, err = run(capsys, f"{models}:make_bad", "--input-shape", "64")
    assert status == 2 and "Softsign" in err and "\n" == err[-1] and err.count("\n") == 1
    status, out, _ = run(capsys, f"{models}:make_bad", "--input-shape", "64", "--no-strict", "--n-inputs", "2",
                         "--json")
    d = json.loads(out)
    assert status == 3 and d["passed"] is None and d["unsupported"][0]["type"] == "Softsign"


@pytest.mark.parametrize("target, needle", [
    ("nosuchmodule_xyz:make", "ModuleNotFoundError"),
    ("{models}:make_raises", "RuntimeError: boom"),
    ("{models}:not_a_model", "not a torch.nn.Module"),
    ("{models}:missing", "no attribute"),
    ("no_colon", "MODULE:CALLABLE"),
    ("/no/such/file.py:f", "does not exist"),
])
def test_bad_targets_exit_2(models, capsys, target, needle):
    status, _, err = run(capsys, target.format(models=models), "--input-shape", "64")
    assert status == 2 and needle in err and err.count("\n") == 1


def test_bad_flags_exit_2(models, capsys):
    for argv in (["--input-shape", "3,4"], ["--input-shape", "64", "--n-inputs", "1"], []):
        status, _, err = run(capsys, f"{models}:make_mlp", *argv)
        assert status == 2 and err.count("\n") == 1
