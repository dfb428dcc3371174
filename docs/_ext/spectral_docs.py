"""Local Sphinx extension of the spectral documentation.

* ``.. spectral-cli-help:: [COMMAND]`` renders ``spectral [COMMAND] --help`` from the parser itself, so the
  CLI reference cannot drift from the program.
* Public data without a ``#:`` doc comment in the source (``__version__``, the registries) would show the
  docstring of its type (``str``, ``dict``); those get the one-line descriptions of ``DATA_DOCS`` instead.
* At the end of reading, it checks that every name of ``spectral.__all__`` has an API entry
  (``api.rst``) and that every figure in ``docs/figures`` is in the gallery; a missing one is a build
  warning (an error under ``-W``).
"""

from __future__ import annotations

import io
import os
import re
from contextlib import contextmanager, redirect_stderr, redirect_stdout, suppress
from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import Directive
from sphinx.util import logging

logger = logging.getLogger(__name__)

#: Descriptions of public data whose source has no ``#:`` doc comment (used only while it has none).
DATA_DOCS = {
    "spectral.__version__": "Version of the package (a PEP 440 string).",
    "spectral.ACTIVATIONS": "Registry of activations: name -> constructor taking the family's parameters "
                            "(e.g. ``ACTIVATIONS['leaky_relu'](alpha)``). Use :func:`spectral.activation` to "
                            "resolve names such as ``'leaky_relu(0.1)'``; the table of formulas is in "
                            ":mod:`spectral.activations`.",
    "spectral.LAWS": "Registry of law constructors by name (``'marchenko_pastur'``, ``'haar_orthogonal'``, "
                     "``'semicircle'``, ``'atomic'``, ``'bernoulli'``, ``'empirical'``, ``'derivative'``, "
                     "``'free_product'``, ``'free_sum'``).",
}

#: Width of the rendered ``--help`` text (argparse reads it from $COLUMNS).
HELP_COLUMNS = "100"


@contextmanager
def _columns(width: str):
    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = width
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = old


def cli_help(command: str | None) -> str:
    """The ``--help`` text of ``spectral`` or of one of its commands (what the program prints)."""
    from spectral.cli import build_parser

    out, err = io.StringIO(), io.StringIO()
    with _columns(HELP_COLUMNS), redirect_stdout(out), redirect_stderr(err), suppress(SystemExit):
        build_parser().parse_args([command, "--help"] if command else ["--help"])
    if not out.getvalue():
        raise ValueError(f"spectral has no command {command!r}: {err.getvalue().strip()}")
    return out.getvalue()


class CliHelp(Directive):
    optional_arguments = 1
    has_content = False

    def run(self):
        command = self.arguments[0] if self.arguments else None
        try:
            text = cli_help(command)
        except ValueError as exc:
            return [self.state.document.reporter.warning(str(exc), line=self.lineno)]
        block = nodes.literal_block(text, text)
        block["language"] = "text"
        return [block]


def _data_doc(app, what, name, obj, options, lines):
    """Replace a builtin type's docstring on public data by its entry in DATA_DOCS."""
    if what not in ("data", "attribute") or name not in DATA_DOCS:
        return
    type_doc = (type(obj).__doc__ or "").strip().splitlines()
    text = [line.strip() for line in lines if line.strip()]
    if not text or (type_doc and text[0] == type_doc[0].strip()):
        lines[:] = [DATA_DOCS[name], ""]


def _check_coverage(app, env):
    import spectral

    docs = Path(app.srcdir)
    api = (docs / "api.rst").read_text(encoding="utf-8")
    listed = set(re.findall(r"^\s+(?:spectral\.)?([A-Za-z_][A-Za-z0-9_]*)\s*$", api, flags=re.M))
    for name in spectral.__all__:
        if name not in listed:
            logger.warning(f"spectral.{name} (in spectral.__all__) has no entry in docs/api.rst",
                           location="api")
    gallery = (docs / "gallery.md").read_text(encoding="utf-8")
    for fig in sorted((docs / "figures").glob("*")):
        if fig.suffix.lower() in (".png", ".svg", ".jpg") and f"figures/{fig.name}" not in gallery:
            logger.warning(f"docs/figures/{fig.name} is not shown in docs/gallery.md", location="gallery")


def setup(app):
    app.add_directive("spectral-cli-help", CliHelp)
    app.connect("autodoc-process-docstring", _data_doc, priority=100)  # before numpydoc rewrites the lines
    app.connect("env-updated", _check_coverage)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
