"""``spectral plot recommend``: the flags of ``spectral recommend`` plus ``--out`` and ``--dpi``, drawing
:func:`spectral.plotting.figure_recommend`.

The command has its own parser (like ``plot sweep``): its flags are those of ``spectral recommend``
(:func:`spectral.recommend_cli.add_recommend_parser`, checked by the same rules), not the network flags of the
other ``plot`` kinds.  ``--out`` follows the one rule of :mod:`spectral.outpath`, checked before the
recommendation is computed.  As for every figure command, a density that cannot be certified (drawn dashed,
"(uncertified)" in the legend) prints ``NOT CERTIFIED: <reason>`` and exits 3 unless ``--allow-uncertified``,
and a density that fails (left out of the panel, named in it) exits 3; the figure is written in both cases.
"""

from __future__ import annotations

import argparse
import json

__all__ = ["parse_plot_recommend", "cmd_plot_recommend"]

FIGURE_SUFFIXES = (".png", ".pdf", ".svg")


def parse_plot_recommend(argv, prog: str = "spectral plot", parser_class=argparse.ArgumentParser):
    """Parse ``["recommend", ...]`` (the words after ``spectral plot``) into the namespace
    :func:`cmd_plot_recommend` takes (``command = "plot"``, ``kind = "recommend"``)."""
    from ..cli import _add_allow_uncertified
    from ..outpath import RULE
    from ..recommend_cli import add_recommend_parser

    parser = parser_class(prog=prog)
    sub = parser.add_subparsers(dest="kind", required=True, parser_class=parser_class)
    p = add_recommend_parser(sub)
    p.add_argument("--out", required=True, help=f"figure file: .png, .pdf or .svg; {RULE}")
    p.add_argument("--points", type=int, default=300, help="grid points of each density, >= 16 (default: 300)")
    p.add_argument("--dpi", type=int, default=150, help="resolution of raster figures, 10..1200 (default: 150)")
    _add_allow_uncertified(p)
    p.set_defaults(func=cmd_plot_recommend)
    args = parser.parse_args(list(argv))
    args.command = "plot"
    # --spec is checked by cmd_plot_recommend with recommend's rule, not run through the generic spec runner
    args.recommend_spec, args.spec = args.spec, None
    return args


def cmd_plot_recommend(args) -> int:
    """Compute the recommendation as ``spectral recommend`` does, draw it, write ``--out``; the exit status
    (0, or 3 for an uncertified or failed density: module docstring)."""
    import matplotlib

    matplotlib.use("Agg")
    from .. import limits
    from ..cli import EXIT_UNCERTIFIED, CLIError, _certificate_status, _certificate_watch
    from ..outpath import check_out_path
    from ..recommend_cli import EDGES, check_args
    from ..recommendation import recommend
    from .recommend import figure_recommend

    out = check_out_path(args.out, "--out", FIGURE_SUFFIXES)
    if not 10 <= args.dpi <= 1200:
        raise CLIError(f"--dpi must be an integer in 10..1200, got {args.dpi}")
    if args.points < 16:
        raise CLIError(f"--points must be an integer >= 16, got {args.points}")
    if args.depth > limits.MAX_DENSITY_DEPTH:
        raise CLIError(f"--depth must be <= {limits.MAX_DENSITY_DEPTH:,} for the figure's densities (their cost "
                       f"grows with depth), got {args.depth}; 'spectral recommend' gives the numbers")
    checked = argparse.Namespace(**{**vars(args), "spec": args.recommend_spec})
    check_args(checked)
    rec = recommend(args.activation, depth=args.depth, weights=args.weights, objective=args.objective,
                    transform=args.transform, zeta=args.zeta, tau=args.tau, eta=args.eta,
                    min_curvature=args.min_curvature, edges=EDGES[args.edges], vary_slope=args.vary_slope,
                    min_c0=args.min_c0, with_outlier=args.with_outlier)
    budget = None if args.transform is not None else (args.min_c0 if args.vary_slope else args.min_curvature)
    with _certificate_watch() as watch:
        fig = figure_recommend(rec, budget=budget, points=args.points)
    fig.savefig(out, dpi=args.dpi, bbox_inches="tight", format=out.suffix[1:].lower())
    payload = {"kind": "recommend", "out": str(out.resolve()), "method": rec.method,
               "parameters": {k: float(v) for k, v in rec.parameters.items()}}
    if watch.reasons:
        payload["not_certified"] = watch.reasons
    print(json.dumps(payload, indent=2) if args.json else f"figure (recommend) written to {out.resolve()}")
    status = _certificate_status(args, watch.reasons)
    return EXIT_UNCERTIFIED if watch.failures else status  # a density left out of the panel is never status 0
