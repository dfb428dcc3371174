"""The notebooks run end to end (small sizes: SPECTRAL_QUICK=1) as real notebooks, and show figures.

Each ``notebooks/*.py`` jupytext percent script is converted with jupytext and executed by nbclient on the
``python3`` kernel (ipykernel) with the Agg backend; the figure script writes its PNG.
"""

import os
import subprocess
import sys
from pathlib import Path

import jupytext
import nbclient
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(p for p in (ROOT / "notebooks").glob("*.py") if "jupytext:" in p.read_text()[:400])


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
