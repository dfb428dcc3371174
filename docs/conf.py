"""Sphinx configuration of the `spectral` reference site.

Build (from the repository root, warnings as errors):

    pip install -e ".[docs]"
    python3 -m sphinx -W --keep-going -b html docs docs/_build/html

Intersphinx and the offline build
---------------------------------
Links into the NumPy, SciPy, mpmath and matplotlib documentation need those projects' ``objects.inv``
inventories. The build never downloads them unless asked, so it passes offline:

* ``SPECTRAL_DOCS_INVENTORIES=DIR``: use ``DIR/<project>.inv`` (numpy.inv, scipy.inv, mpmath.inv,
  matplotlib.inv) where the file exists; the links still point to the projects' web pages.
* ``SPECTRAL_DOCS_INTERSPHINX=1``: fetch the inventories that are not found locally from the web.
* neither: no intersphinx mapping; references to those projects render as plain text.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))           # document this checkout, not an installed copy
sys.path.insert(0, str(DOCS / "_ext"))

import spectral  # noqa: E402

project = "spectral"
author = "the spectral developers"
copyright = "the spectral developers"  # noqa: A001 - Sphinx's name
release = spectral.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "myst_parser",
    "spectral_docs",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "_ext", "Thumbs.db", ".DS_Store"]
templates_path: list[str] = []

# ---------------------------------------------------------------------------------------------- markdown
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 3

# ---------------------------------------------------------------------------------------------- API pages
autosummary_generate = True
autosummary_imported_members = True
autodoc_default_options = {"members": True, "inherited-members": False, "show-inheritance": True}
autodoc_member_order = "bysource"
autodoc_typehints = "none"              # signatures carry them; numpydoc sections describe the types
numpydoc_show_class_members = False     # autosummary lists members; numpydoc's own tables would duplicate
numpydoc_class_members_toctree = False
numpydoc_validation_checks: set[str] = set()   # docstring style is checked by review, not by the build
numpydoc_xref_param_type = False
nitpicky = False                        # references into private helpers and third-party types stay plain

# ---------------------------------------------------------------------------------------------- intersphinx
_INVENTORY_URLS = {
    "python": "https://docs.python.org/3/",
    "numpy": "https://numpy.org/doc/stable/",
    "scipy": "https://docs.scipy.org/doc/scipy/",
    "mpmath": "https://mpmath.org/doc/current/",
    "matplotlib": "https://matplotlib.org/stable/",
}


def _intersphinx_mapping() -> dict:
    local = os.environ.get("SPECTRAL_DOCS_INVENTORIES")
    online = os.environ.get("SPECTRAL_DOCS_INTERSPHINX") == "1"
    mapping = {}
    for name, url in _INVENTORY_URLS.items():
        path = Path(local, f"{name}.inv") if local else None
        if path is not None and path.is_file():
            mapping[name] = (url, str(path))
        elif online:
            mapping[name] = (url, None)
    return mapping


intersphinx_mapping = _intersphinx_mapping()
intersphinx_timeout = 10

# ---------------------------------------------------------------------------------------------- HTML
html_theme = "pydata_sphinx_theme"
html_title = f"spectral {release}"
html_static_path: list[str] = []
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
html_context = {"default_mode": "light"}
