"""Regenerate the paired ``.ipynb`` notebooks, with their outputs, from the jupytext percent sources.

Usage::

    python notebooks/build_notebooks.py [--quick | --full] [NAME ...]

For every ``notebooks/*.py`` with a jupytext header (or the NAMEs given, e.g. ``quickstart``) this

1. converts the percent script to a notebook (jupytext),
2. executes it on the ``python3`` kernel (nbclient) at its stored size: the papers' sizes for the notebooks in
   ``FULL_SIZE``, ``SPECTRAL_QUICK=1`` (small sizes) for the others (``--quick`` or ``--full`` runs every
   notebook at one size),
3. strips what changes from run to run without changing the content (kernel and Python version strings,
   cell timing metadata, random cell ids, absolute paths of this checkout in printed warnings), keeping
   execution counts,
4. writes ``notebooks/NAME.ipynb`` and the notebook's headline figure ``notebooks/figures/NAME.png`` (the
   PNG bytes of one of its outputs, see ``HEADLINE``), and prints each notebook's run time.

Figures are stored at ``FIGURE_DPI`` so the committed notebooks stay small. ``tests/test_notebooks.py``
checks that every ``.ipynb`` has the cells of its source and that the extracted figures match the outputs.
"""

import argparse
import base64
import os
import sys
import time
from pathlib import Path

import jupytext
import nbclient
import nbformat

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
FIGURES = HERE / "figures"
# 72 dpi keeps each stored figure at tens of kB (readable on the web at the figures' 9-13 inch widths)
FIGURE_DPI = 72
# which displayed figure (0-based, in output order) stands for the notebook in the README table
HEADLINE = {"quickstart": 1, "pennington2017_singular_values": 0, "phase_diagrams": 0, "validation": 0,
            "inspect_torch": 0, "recommend": 0}
# stored at the papers' sizes: these execute in about a minute on two shared cores (phase_diagrams: 65 s), the
# others take several minutes at full size and are stored at SPECTRAL_QUICK=1 sizes
FULL_SIZE = {"phase_diagrams"}
# executing one notebook at full size on two shared cores stays well under this
EXECUTION_TIMEOUT_S = 1800
# the first cell the kernel runs (not stored): the inline backend's figure resolution
SETUP = f"import matplotlib\nmatplotlib.rcParams['figure.dpi'] = {FIGURE_DPI}"
NB_METADATA = {
    "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
    "language_info": {"name": "python"},
    "jupytext": {"formats": "ipynb,py:percent"},
}


def sources() -> list[Path]:
    """The notebook sources: ``notebooks/*.py`` files that carry a jupytext header."""
    return sorted(p for p in HERE.glob("*.py") if "jupytext:" in p.read_text()[:400])


def convert(path: Path) -> nbformat.NotebookNode:
    """The notebook of a percent script, without outputs."""
    return jupytext.read(path)


def execute(nb: nbformat.NotebookNode, cwd: Path) -> nbformat.NotebookNode:
    """Run ``nb`` in a fresh kernel (the setup cell first, then removed); raises on a failing cell."""
    setup = nbformat.v4.new_code_cell(SETUP)
    nb.cells.insert(0, setup)
    client = nbclient.NotebookClient(nb, timeout=EXECUTION_TIMEOUT_S, kernel_name="python3",
                                     record_timing=False, resources={"metadata": {"path": str(cwd)}})
    client.execute()
    nb.cells.remove(setup)
    for cell in nb.cells:  # execution counts start at 1 in the stored notebook
        if cell.cell_type == "code" and cell.get("execution_count"):
            cell.execution_count -= 1
            for out in cell.outputs:
                if out.get("execution_count"):
                    out.execution_count -= 1
    return nb


def _strip_paths(text: str) -> str:
    """Paths of this checkout and of the interpreter are written relative or generically."""
    return text.replace(str(ROOT) + os.sep, "").replace(sys.prefix, "<python>")


def clean(nb: nbformat.NotebookNode, stem: str) -> nbformat.NotebookNode:
    """Drop run-to-run noise: notebook metadata reduced to ``NB_METADATA``, cell ids numbered, no cell metadata
    beyond jupytext's own, no absolute paths in text outputs."""
    nb.metadata = nbformat.from_dict(NB_METADATA)
    nb.nbformat, nb.nbformat_minor = 4, 5
    for i, cell in enumerate(nb.cells):
        cell.id = f"{stem[:40]}-{i}"
        cell.metadata.pop("execution", None)
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                out.text = _strip_paths(out.text)
            elif "text/plain" in out.get("data", {}):
                out.data["text/plain"] = _strip_paths(out.data["text/plain"])
    return nb


def images(nb: nbformat.NotebookNode) -> list[bytes]:
    """The PNG figures a notebook displays, in output order."""
    return [base64.b64decode(out.data["image/png"]) for cell in nb.cells if cell.cell_type == "code"
            for out in cell.outputs if "image/png" in out.get("data", {})]


def build(path: Path, full: bool) -> float:
    """Write ``path``'s ``.ipynb`` with outputs (the papers' sizes if ``full``, else ``SPECTRAL_QUICK=1``) and its
    headline figure; returns the execution time in seconds."""
    os.environ["SPECTRAL_QUICK"] = "0" if full else "1"
    nb = convert(path)
    start = time.perf_counter()
    execute(nb, path.parent)
    elapsed = time.perf_counter() - start
    nb = clean(nb, path.stem)
    nbformat.validate(nb)
    nbformat.write(nb, path.with_suffix(".ipynb"))
    figures = images(nb)
    if not figures:
        raise RuntimeError(f"{path.name} displayed no figure")
    FIGURES.mkdir(exist_ok=True)
    (FIGURES / f"{path.stem}.png").write_bytes(figures[HEADLINE.get(path.stem, 0)])
    return elapsed


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="notebooks to build (stems, e.g. quickstart); default all")
    sizes = parser.add_mutually_exclusive_group()
    sizes.add_argument("--quick", action="store_true", help="every notebook at SPECTRAL_QUICK=1 sizes")
    sizes.add_argument("--full", action="store_true", help="every notebook at the papers' sizes")
    args = parser.parse_args(argv)
    paths = sources()
    if args.names:
        known = {p.stem: p for p in paths}
        unknown = sorted(set(args.names) - set(known))
        if unknown:
            parser.error(f"unknown notebook(s) {', '.join(unknown)}; choose from {', '.join(sorted(known))}")
        paths = [known[n] for n in args.names]
    os.environ["MPLBACKEND"] = "Agg"
    for path in paths:
        full = args.full or (path.stem in FULL_SIZE and not args.quick)
        elapsed = build(path, full)
        size = path.with_suffix(".ipynb").stat().st_size
        print(f"{path.stem}: executed in {elapsed:.0f} s at {'full' if full else 'quick'} size, {size / 1024:.0f} kB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
