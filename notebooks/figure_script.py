"""The command line shared by the figure scripts (``make_readme_figure.py``, ``make_residual_figure.py``).

Each script defines ``build(quick) -> Figure`` and its default output path, and calls :func:`main`:
``--out`` (any format matplotlib writes) and ``--dpi``; ``SPECTRAL_QUICK=1`` builds at the small sizes the
test suite uses.  While the figure is built, NumPy's divide-by-zero (the log of a zero density, drawn as an
empty bin) is silenced and every other RuntimeWarning is shown once per place, never escalated.
"""

from __future__ import annotations

import argparse
import os
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

#: Resolution of the committed PNGs (the README shows them at about 1400 px wide).
DEFAULT_DPI = 110


def main(build: Callable[[bool], object], default_out: Path, description: str,
         argv: Sequence[str] | None = None) -> Path:
    """Parse ``argv``, build the figure (quick sizes if ``SPECTRAL_QUICK=1``), save it and return its path."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--out", type=Path, default=default_out, help=f"output file (default: {default_out})")
    parser.add_argument("--dpi", type=int, default=DEFAULT_DPI)
    args = parser.parse_args(argv)
    quick = os.environ.get("SPECTRAL_QUICK") == "1"
    with warnings.catch_warnings(), np.errstate(divide="ignore"):
        warnings.simplefilter("default", RuntimeWarning)
        fig = build(quick)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=args.dpi)  # type: ignore[attr-defined]
    print(f"wrote {args.out}")
    return args.out
