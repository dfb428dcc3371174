"""``spectral sweep`` and ``spectral plot sweep`` through their argparse parsers (as spectral.cli wires them),
against a real 2-worker LocalCluster; figures drawn from the store without recomputation."""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys

import numpy as np
import pytest

import spectral.density
import spectral.meanfield
import spectral.product
from spectral.plotting.sweep import add_plot_sweep_parser, figure_sweep
from spectral.sweeps import open_sweep
from spectral.sweeps.cli import add_sweep_parser

#: one worker for all Dask tests: their clusters and stored sweeps are module fixtures (pyproject: loadgroup)
pytestmark = pytest.mark.xdist_group("sweep")

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def address(dask_address):
    """The module's real 2-worker LocalCluster (tests/conftest.py)."""
    return dask_address


def _parser():
    parser = argparse.ArgumentParser(prog="spectral")
    sub = parser.add_subparsers(dest="command")
    add_sweep_parser(sub)
    plot = sub.add_parser("plot")
    add_plot_sweep_parser(plot.add_subparsers(dest="kind"))
    return parser


def run(argv) -> int:
    """What spectral.cli.main does with a command: errors become one line and status 2."""
    args = _parser().parse_args(argv)
    args.command_line = " ".join(["spectral", *argv])
    try:
        return int(args.func(args) or 0)
    except (ValueError, TypeError) as exc:
        print(f"spectral {args.command}: error: {exc}", file=sys.stderr)
        return 2


@pytest.fixture(scope="module")
def store(address, tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "sweep.zarr"
    argv = ["sweep", "--activation", "tanh", "--weights", "orthogonal,gaussian", "--sigma-w2", "0.5:2:4",
            "--critical", "--depth", "1,2,4,...,16", "--quantities", "m1,spread,condition", "--points", "64",
            "--scheduler", address, "--out", str(out), "--json", "--no-progress"]
    text = io.StringIO()
    with contextlib.redirect_stdout(text):
        assert run(argv) == 0
    return out, argv, text.getvalue()


def test_sweep_command_json_and_store(store):
    out, argv, text = store
    payload = json.loads(text)
    assert payload["dims"] == {"activation": 1, "weights": 2, "sigma_w2": 4, "depth": 5}
    assert payload["cells"] == payload["done"] == 40
    ds = open_sweep(out)
    no_critical_point = np.char.startswith(ds.message.values.astype(str), "critical point: ValueError")
    assert no_critical_point.sum() == 10 and no_critical_point[:, :, 0].all()  # tanh needs sigma_w2 >= 1
    assert payload["failed"] == int(ds.failed.sum()) >= 10
    assert payload["certified"] + payload["not_certified"] + payload["failed"] == 40
    assert ds.attrs["command"].startswith("spectral ") and ds.attrs["scheduler"] == argv[argv.index("--scheduler") + 1]
    np.testing.assert_array_equal(ds.sigma_w2.values, [0.5, 1.0, 1.5, 2.0])
    np.testing.assert_array_equal(ds.depth.values, [1, 2, 4, 8, 16])


def test_resume_command_and_table(store, capsys):
    out, argv, _ = store
    argv = [a for a in argv if a != "--json"] + ["--resume"]
    assert run(argv) == 0
    text = capsys.readouterr().out
    assert text.startswith("spectral sweep") and "done" in text and "40" in text


@pytest.mark.parametrize("extra, flag", [
    (["--sigma-w2", "1:2"], "--sigma-w2"),
    (["--sigma-w2", "0,1"], "--sigma-w2"),
    (["--depth", "0,1"], "--depth"),
    (["--depth", "1,2,4,...,100"], "--depth"),
    (["--quantities", "m1,foo"], "--quantities"),
    (["--activation", "nope"], "--activation"),
    (["--weights", "uniform"], "--weights"),
    (["--width", "8"], "--width"),
    (["--monte-carlo"], "--width"),
    (["--out", "x.txt"], "--out"),
    (["--resume"], "--resume"),
    (["--points", "3"], "--points"),
    (["--scheduler", "tcp://127.0.0.1:1", "--workers", "2"], "--workers"),
    (["--scheduler", "tcp://127.0.0.1:1"], "--scheduler"),
])
def test_bad_input_exits_2_naming_the_flag(extra, flag, capsys, monkeypatch):
    import spectral.sweeps.engine as engine

    monkeypatch.setattr(engine, "CONNECT_SECONDS", 1)  # nothing listens on port 1: no need to wait 10 s
    assert run(["sweep", "--critical", "--no-progress"] + extra) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and flag in err[0] and "Traceback" not in err[0]


def test_plot_sweep_map_and_lines_without_recomputation(store, tmp_path, capsys, monkeypatch):
    out, argv, _ = store

    def forbidden(*args, **kwargs):
        raise AssertionError("plot sweep must not recompute")

    for module, name in ((spectral.product, "jacobian_law"), (spectral.density, "density"),
                         (spectral.meanfield, "critical_point")):
        monkeypatch.setattr(module, name, forbidden)
    fig_map, fig_lines = tmp_path / "map.png", tmp_path / "lines.png"
    assert run(["plot", "sweep", str(out), "--x", "sigma_w2", "--y", "depth", "--quantity", "condition",
                "--out", str(fig_map)]) == 0
    assert run(["plot", "sweep", str(out), "--x", "depth", "--quantity", "spread", "--hue", "sigma_w2",
                "--out", str(fig_lines), "--json"]) == 0
    for path in (fig_map, fig_lines):
        assert path.read_bytes()[:8] == PNG_MAGIC
    assert json.loads(capsys.readouterr().out.split("\n", 1)[1])["kind"] == "lines"


def test_map_draws_the_stored_values(store):
    out, argv, _ = store
    ds = open_sweep(out)
    fig = figure_sweep(ds, x="sigma_w2", y="depth", quantity="condition")
    panels = [ax for ax in fig.axes if ax.get_title()]
    assert [ax.get_title() for ax in panels] == ["weights = orthogonal", "weights = gaussian"]
    for ax, w in zip(panels, ("orthogonal", "gaussian"), strict=True):
        drawn = ax.collections[0].get_array()
        stored = ds.condition.sel(weights=w).squeeze().transpose("depth", "sigma_w2").values
        finite = np.isfinite(stored)
        np.testing.assert_array_equal(np.ma.getdata(drawn).reshape(stored.shape)[finite], stored[finite])
        assert np.ma.getmaskarray(drawn).reshape(stored.shape)[~finite].all()  # failed cells: no colour
        failed = [line for line in ax.lines if line.get_gid() == "failed"][0]
        assert len(failed.get_xdata()) == int(ds.failed.sel(weights=w).sum())


@pytest.mark.parametrize("extra, flag", [
    (["--quantity", "nope"], "--quantity"),
    (["--x", "nope"], "--x"),
    (["--y", "sigma_w2"], "--y"),
    (["--out", "map.txt"], "--out"),
    (["--sel", "nope=1"], "--sel"),
])
def test_plot_bad_input_exits_2_naming_the_flag(store, extra, flag, capsys, tmp_path):
    out, argv, _ = store
    base = {"--x": "sigma_w2", "--quantity": "condition", "--out": str(tmp_path / "f.png")}
    base.update(dict(zip(extra[::2], extra[1::2], strict=True)))
    flat = [x for kv in base.items() for x in kv if not (kv[0] == "--sel")]
    if "--sel" in base:
        flat += ["--sel", base["--sel"]]
    assert run(["plot", "sweep", str(out)] + flat) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and flag in err[0]


def test_plot_missing_store(tmp_path, capsys):
    assert run(["plot", "sweep", str(tmp_path / "none.zarr"), "--x", "depth", "--out", str(tmp_path / "f.png")]) == 2
    assert "STORE" in capsys.readouterr().err


def test_parse_plot_sweep_for_a_flat_plot_parser(tmp_path):
    from spectral.plotting.sweep import cmd_plot_sweep, parse_plot_sweep

    args = parse_plot_sweep(["sweep", str(tmp_path / "s.zarr"), "--x", "depth", "--out", "f.png"])
    assert args.command == "plot" and args.func is cmd_plot_sweep and args.quantity == "condition"
