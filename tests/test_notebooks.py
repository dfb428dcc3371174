"""The notebooks run end to end (small sizes: SPECTRAL_QUICK=1) as real notebooks, and show figures; the committed
``.ipynb`` files are in sync with their sources and carry their outputs.

Each ``notebooks/*.py`` jupytext percent script is converted with jupytext and executed by nbclient on the
``python3`` kernel (ipykernel) with the Agg backend; the figure script writes its PNG. Each paired
``notebooks/*.ipynb`` (written by ``notebooks/build_notebooks.py``) must have the code and markdown cells of its
source, every code cell executed without error, at least one figure, no run-to-run metadata, and its headline
figure extracted byte for byte into ``notebooks/figures/``.
"""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import jupytext
import nbclient
import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(p for p in (ROOT / "notebooks").glob("*.py") if "jupytext:" in p.read_text()[:400])
_spec = importlib.util.spec_from_file_location("build_notebooks", ROOT / "notebooks" / "build_notebooks.py")
build_notebooks = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(build_notebooks)
_spec = importlib.util.spec_from_file_location("figure_script", ROOT / "notebooks" / "figure_script.py")
figure_script = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(figure_script)


@pytest.fixture(autouse=True)
def _quick(monkeypatch):
    monkeypatch.setenv("SPECTRAL_QUICK", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")


def test_notebooks_found():
    names = {p.stem for p in NOTEBOOKS}
    assert {"quickstart", "pennington2017_singular_values", "phase_diagrams", "validation"} <= names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_executes(path):
    nb = jupytext.read(path)
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert images, f"{path.name} displayed no figure"


def test_readme_figure_script(tmp_path):
    out = tmp_path / "figure.png"
    env = dict(os.environ, SPECTRAL_QUICK="1", MPLBACKEND="Agg")
    subprocess.run([sys.executable, str(ROOT / "notebooks" / "make_readme_figure.py"), "--out", str(out)],
                   check=True, env=env, cwd=tmp_path, timeout=600)
    assert out.stat().st_size > 10_000


def test_figure_script_command_line(tmp_path, monkeypatch, capsys):
    """The figure scripts' shared ``main``: ``--out`` / ``--dpi`` reach ``savefig``, ``SPECTRAL_QUICK`` reaches
    ``build``, and the path written is printed and returned."""
    from matplotlib.figure import Figure

    asked = []

    def build(quick):
        asked.append(quick)
        fig = Figure(figsize=(2.0, 1.0))
        fig.subplots().plot([0, 1], [0, 1])
        return fig

    out = tmp_path / "sub" / "f.png"
    assert figure_script.main(build, tmp_path / "default.png", "demo", ["--out", str(out), "--dpi", "50"]) == out
    assert asked == [True]  # the autouse fixture sets SPECTRAL_QUICK=1
    assert out.read_bytes()[:4] == b"\x89PNG" and capsys.readouterr().out == f"wrote {out}\n"
    with open(out, "rb") as fh:  # 2 x 1 inches at 50 dpi
        fh.seek(16)
        assert (int.from_bytes(fh.read(4), "big"), int.from_bytes(fh.read(4), "big")) == (100, 50)
    monkeypatch.setenv("SPECTRAL_QUICK", "0")
    monkeypatch.chdir(tmp_path)
    assert figure_script.main(build, tmp_path / "default.png", "demo", []) == tmp_path / "default.png"
    assert asked == [True, False] and (tmp_path / "default.png").exists()


def test_build_script_finds_the_notebooks():
    assert build_notebooks.sources() == NOTEBOOKS
    assert set(build_notebooks.HEADLINE) == {p.stem for p in NOTEBOOKS}
    assert build_notebooks.FULL_SIZE <= {p.stem for p in NOTEBOOKS}


def test_build_script_refuses_unknown_name(capsys):
    with pytest.raises(SystemExit) as exc:
        build_notebooks.main(["no_such_notebook"])
    assert exc.value.code == 2
    assert "no_such_notebook" in capsys.readouterr().err


def _cells(nb):
    return [(c.cell_type, c.source) for c in nb.cells]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_ipynb_in_sync_with_source(path):
    """The committed notebook has exactly the code and markdown cells of its percent source (outputs and metadata
    aside); rerun ``python notebooks/build_notebooks.py NAME`` after editing a source."""
    ipynb = path.with_suffix(".ipynb")
    assert ipynb.exists(), f"{ipynb.name} missing: run python notebooks/build_notebooks.py {path.stem}"
    assert _cells(jupytext.read(ipynb)) == _cells(jupytext.read(path)), \
        f"{ipynb.name} out of sync with {path.name}: run python notebooks/build_notebooks.py {path.stem}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_ipynb_has_outputs_and_no_volatile_metadata(path):
    nb = nbformat.read(path.with_suffix(".ipynb"), as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert [c.execution_count for c in code] == list(range(1, len(code) + 1)), "every code cell ran, in order"
    outputs = [o for c in code for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert build_notebooks.images(nb), f"{path.name} stores no figure"
    assert nb.metadata == build_notebooks.NB_METADATA  # no kernel/Python versions
    assert [c.id for c in nb.cells] == [f"{path.stem[:40]}-{i}" for i in range(len(nb.cells))]
    assert not [c for c in nb.cells if set(c.metadata) - {"lines_to_next_cell", "title", "tags"}]
    text = nbformat.writes(nb)
    assert str(ROOT) not in text and sys.prefix not in text


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_headline_figure_extracted(path):
    nb = nbformat.read(path.with_suffix(".ipynb"), as_version=4)
    png = build_notebooks.images(nb)[build_notebooks.HEADLINE[path.stem]]
    assert (ROOT / "notebooks" / "figures" / f"{path.stem}.png").read_bytes() == png


def test_readme_table_lists_every_notebook_and_figure():
    readme = (ROOT / "notebooks" / "README.md").read_text()
    for path in NOTEBOOKS:
        assert f"({path.stem}.ipynb)" in readme and f"(figures/{path.stem}.png)" in readme, path.stem


def test_clean_drops_volatile_metadata():
    """``clean`` (no kernel needed) reduces metadata, numbers the ids and writes this checkout's paths relative."""
    nb = nbformat.v4.new_notebook(metadata={"language_info": {"name": "python", "version": "3.12.1"}})
    cell = nbformat.v4.new_code_cell("1", execution_count=1, metadata={"execution": {"iopub.status.idle": "x"}})
    cell.outputs = [nbformat.v4.new_output("stream", name="stderr", text=f"{ROOT}{os.sep}spectral/x.py:1: W\n")]
    nb.cells = [cell]
    out = build_notebooks.clean(nb, "demo")
    assert out.metadata == build_notebooks.NB_METADATA
    assert out.cells[0].id == "demo-0" and "execution" not in out.cells[0].metadata
    assert out.cells[0].outputs[0].text == "spectral/x.py:1: W\n"
