"""The figure commands of the command line: ``spectral demo`` and ``spectral plot KIND``.

Both follow the contract of :mod:`spectral.cli`: ``--out`` is checked before any computation
(:func:`spectral.outpath.check_out_path`, the file written is exactly the path printed), a density that
cannot be certified prints ``NOT CERTIFIED: <reason>`` and exits 3 unless ``--allow-uncertified``, a density
that fails exits 3 (never an empty panel with status 0), and ``demo`` exits 1 when its validation FAILED.
"""

from __future__ import annotations

import argparse
import math
import time

from . import limits
from .cli import _STABLE, _add_network_flags, _add_sampling_flags, _network
from .cli_flags import int_flag, real_flag
from .cli_output import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_UNCERTIFIED,
    CLIError,
    NotCertified,
    _certificate_status,
    _certificate_watch,
    _emit,
    _fmt,
    table,
)
from .outpath import RULE as OUT_RULE
from .outpath import check_out_path

__all__ = ["cmd_demo", "cmd_plot", "add_plot_flags"]

FIGURE_SUFFIXES = (".png", ".pdf", ".svg")


def cmd_demo(args) -> int:
    """Mean field at criticality, moments, density, a quick validation and a figure, on built-in defaults."""
    from spectral.density import density_summary
    from spectral.meanfield import mean_field
    from spectral.product import jacobian_law
    from spectral.validation import validate

    out = check_out_path(args.out, "--out", FIGURE_SUFFIXES)
    if args.samples < 2:
        raise CLIError(f"--samples must be >= 2 (standard errors across networks), got {args.samples}")
    t0 = time.perf_counter()
    if args.sigma_b2 is None and not args.critical:
        args.critical = True  # the demo's default network sits on the critical line
    net = _network(args)
    layer = net.layers[0]
    mf = mean_field(layer.activation, layer.sigma_w2, layer.sigma_b2)
    law = jacobian_law(net)
    m = law.moments(2)
    other = "gaussian" if layer.weights == "orthogonal" else "orthogonal"
    twin = jacobian_law(_network(argparse.Namespace(**{**vars(args), "weights": other})))
    mt = twin.moments(2)
    with _certificate_watch() as watch:
        try:
            sv = law.singular_values().density(points=1000)
        except RuntimeError as exc:
            raise NotCertified(f"the density solver failed for the singular values: {exc}") from None
        summary = density_summary(sv)
        report = validate(net, width=args.width, n_samples=args.samples, seed=args.seed, mode=args.mode,
                          backend=args.backend, stable=_STABLE[args.stable], progress=getattr(args, "progress", None))
        figure = _demo_figure(out, net, sv, report)
    q = summary["diagnostics"]["quantiles"]
    payload = {"network": {"activation": layer.activation.name, "weights": layer.weights,
                           "sigma_w2": layer.sigma_w2, "sigma_b2": layer.sigma_b2, "depth": net.depth},
               "mean_field": mf.to_dict(),
               "moments": {"m1": m[0], "m2": m[1], "variance": m[1] - m[0] ** 2,
                           f"variance_{other}": mt[1] - mt[0] ** 2},
               "singular_values": {"support": summary["support"], "s_max": summary["lambda_max"],
                                   "atoms": summary["atoms"], "quantiles": q, "mass": summary["mass"],
                                   "certified": bool(sv.certified), "reason": sv.reason},
               "validation": report.to_dict(), "figure": figure, "seconds": time.perf_counter() - t0}
    lo, hi = q.get("0.01"), q.get("0.99")
    cond = hi / lo if isinstance(lo, float) and isinstance(hi, float) and lo > 0 else math.inf
    lines = [
        f"spectral demo: {layer.activation.name} network, {layer.weights} weights, sigma_w2 = {layer.sigma_w2:g}, "
        f"sigma_b2 = {layer.sigma_b2:.6g}, depth L = {net.depth}",
        "",
        table([("q*", mf.q_star), ("chi_1", mf.chi1), ("phase", mf.phase), ("xi_q (layers)", mf.xi_q)],
              "mean field"),
        "",
        table([("m_1 = (sigma_w2 mu_1)^L", m[0]), ("m_2", m[1]), ("variance m_2 - m_1^2", m[1] - m[0] ** 2),
               (f"variance with {other} weights", mt[1] - mt[0] ** 2)], "moments of J J^T"),
        "",
        table([("support of s", summary["support"]), ("s_max", summary["lambda_max"]),
               ("atoms", summary["atoms"] or "none"), ("s_0.01 .. s_0.99", f"{_fmt(lo)} .. {_fmt(hi)}"),
               ("condition s_0.99 / s_0.01", cond), ("mass", summary["mass"]),
               ("certified", bool(sv.certified))], "singular values of J"),
        "",
        str(report),
        "",
        f"figure written to {figure}",
        f"done in {payload['seconds']:.1f} s",
    ]
    _emit(args, payload, "\n".join(lines))
    reasons = [f"singular-value density: {sv.reason}"] if not sv.certified else watch.reasons
    reasons += [f"{k}: {v}" for k, v in report.unavailable.items()]
    return _certificate_status(args, reasons, EXIT_OK if report.passed else EXIT_FAILED)


def _demo_figure(out, net, sv, report) -> str:
    """Write the demo figure (singular-value density with the sampled histogram) to ``out``; its path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from spectral import plotting

    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    plotting.plot_validation(report.samples, sv, report=report, variable="singular", ax=ax,
                             title=f"{plotting.panel_title(net)}, L = {net.depth}")
    fig.savefig(out, dpi=120, bbox_inches="tight", format=out.suffix[1:].lower())
    plt.close(fig)
    return str(out.resolve())


def _csv(kind, flag: str, count: int | None = None, maximum: int | None = None):
    """argparse type: a comma-separated list of values of ``kind`` (an argparse type), ``count`` of them
    (at most ``maximum``)."""
    def parse(text):
        parts = [t for t in str(text).split(",") if t.strip()]
        if maximum is not None and len(parts) > maximum:
            raise argparse.ArgumentTypeError(f"{flag} takes at most {maximum} values, got {len(parts)}")
        if count is not None and len(parts) != count:
            raise argparse.ArgumentTypeError(f"{flag} takes {count} comma-separated values (e.g. 0.5,4), got {text!r}")
        if not parts:
            raise argparse.ArgumentTypeError(f"{flag} takes a comma-separated list, got {text!r}")
        return [kind(t) for t in parts]

    parse.__name__ = "list"
    return parse


def _range(flag: str, minimum: float):
    def parse(text):
        lo, hi = _csv(real_flag(flag, minimum=minimum), flag, 2)(text)
        if not lo < hi:
            raise argparse.ArgumentTypeError(f"{flag} must be LO,HI with LO < HI, got {text!r}")
        return [lo, hi]

    parse.__name__ = "range"
    return parse


def add_plot_flags(p: argparse.ArgumentParser) -> None:
    """The flags of ``spectral plot`` (the network flags with the plot's own defaults)."""
    p.add_argument("kind", choices=("spectrum", "validation", "phase", "depth"),
                   help="which figure ('spectral plot sweep STORE ...' draws a stored sweep: see its --help)")
    _add_network_flags(p, bias_help="the critical line chi_1 = 1",
                  weights_help="orthogonal,gaussian for spectrum and depth, orthogonal otherwise")
    p.set_defaults(depth=32, weights=None)
    p.add_argument("--out", required=True, help=f"figure file: .png, .pdf or .svg; {OUT_RULE}")
    p.add_argument("--depths", type=_csv(int_flag("--depths", maximum=limits.MAX_DEPTH), "--depths",
                                         maximum=limits.MAX_PLOT_DEPTHS), default=None,
                   help=f"spectrum/depth: comma-separated depths, at most {limits.MAX_PLOT_DEPTHS} (default "
                        "2,8,32,128 / 1,2,...,128)")
    p.add_argument("--variable", default="singular", choices=("singular", "eigen"),
                   help="singular values of J or eigenvalues of J J^T (default: singular)")
    p.add_argument("--xscale", default=None, choices=("linear", "log"),
                   help="x axis (default: linear; with --spec, log for a panel whose spectrum spans decades)")
    _add_sampling_flags(p, samples_default=4, width_default=None, stable=False,
                   width_help="overlay sampled networks of this width (spectrum; validation default 256)")
    p.add_argument("--sigma-w2-range", type=_range("--sigma-w2-range", 0.0), default=[0.5, 4.0],
                   help="phase: sigma_w2 range LO,HI (default: 0.5,4)")
    p.add_argument("--sigma-b2-range", type=_range("--sigma-b2-range", 0.0), default=[0.0, 0.3],
                   help="phase: sigma_b2 range LO,HI (default: 0,0.3)")
    p.add_argument("--resolution", type=int_flag("--resolution", minimum=2, maximum=limits.MAX_RESOLUTION),
                   default=80, help=f"phase: grid points per axis, 2..{limits.MAX_RESOLUTION} (default: 80)")
    p.add_argument("--contour-depth", type=int_flag("--contour-depth", maximum=limits.MAX_DEPTH), default=None,
                   help="phase: add contours of the J J^T variance at this depth")
    p.add_argument("--dpi", type=int_flag("--dpi", minimum=10, maximum=1200), default=150,
                   help="resolution of raster figures, 10..1200 (default: 150)")
    p.add_argument("--spec", default=None, metavar="FILE",
                   help="spectrum: JSON network spec (residual blocks, normalisation) replacing the network flags; "
                        "drawn against the same network without skip connections, with sampled networks (width: the "
                        "spec's, else --width, else 128)")


def cmd_plot(args) -> int:
    """``spectral plot spectrum|validation|phase|depth --out FIG``: build the figure with spectral.plotting."""
    import matplotlib

    matplotlib.use("Agg")
    from spectral import plotting

    out = check_out_path(args.out, "--out", FIGURE_SUFFIXES)
    critical = args.critical or args.sigma_b2 is None
    sigma_b2 = 0.0 if args.sigma_b2 is None else args.sigma_b2
    if args.weights is None:  # spectrum and depth figures compare the ensembles unless told otherwise
        args.weights = "orthogonal,gaussian" if args.kind in ("spectrum", "depth") else "orthogonal"
    weights = [w.strip() for w in args.weights.split(",")]
    bad = [w for w in weights if w not in ("gaussian", "orthogonal")]
    if bad:
        raise CLIError(f"--weights must be gaussian, orthogonal or a comma-separated list of them, got {bad[0]!r}")
    from .activations import split_activations

    activations = split_activations(args.activation)
    if not activations:
        raise CLIError(f"--activation must name an activation, got {args.activation!r}")
    if args.kind != "phase" and len(activations) != 1:
        raise CLIError("--activation takes one activation here (a comma-separated list only for 'plot phase')")
    with _certificate_watch() as watch:
        try:
            fig = _figure(plotting, args, activations, weights, critical, sigma_b2)
        except RuntimeError as exc:  # the density solver: nothing to draw
            raise NotCertified(f"{args.kind} figure: the density solver failed: {exc}") from None
    fig.savefig(out, dpi=args.dpi, bbox_inches="tight", format=out.suffix[1:].lower())
    payload = {"kind": args.kind, "out": str(out.resolve()), "weights": weights}
    if watch.reasons:
        payload["not_certified"] = watch.reasons
    _emit(args, payload, f"figure ({args.kind}) written to {out.resolve()}")
    status = _certificate_status(args, watch.reasons)
    return EXIT_UNCERTIFIED if watch.failures else status  # a density left out of a panel is never status 0


def _figure(plotting, args, activations, weights, critical, sigma_b2):
    """The figure of ``spectral plot KIND`` (spectral.plotting does the work)."""
    if args.kind == "spectrum":
        fig = plotting.figure_spectrum(activations[0], weights, args.sigma_w2, sigma_b2, critical=critical,
                                       depths=args.depths or (2, 8, 32, 128), variable=args.variable,
                                       width=args.width, n_samples=args.samples, mode=args.mode,
                                       backend=args.backend, seed=args.seed, xscale=args.xscale or "linear")
    elif args.kind == "validation":
        if args.samples < 2:
            raise CLIError(f"--samples must be >= 2 (standard errors across networks), got {args.samples}")
        fig = plotting.figure_validation(activations[0], weights[0], args.sigma_w2, sigma_b2,
                                         critical=critical, depth=args.depth, width=args.width or 256,
                                         n_samples=args.samples, mode=args.mode, backend=args.backend,
                                         seed=args.seed, variable=args.variable)
    elif args.kind == "phase":
        fig = plotting.figure_phase(activations if len(activations) > 1 else activations[0],
                                    sigma_w2=tuple(args.sigma_w2_range), sigma_b2=tuple(args.sigma_b2_range),
                                    resolution=args.resolution, depth=args.contour_depth, weights=weights[0])
    else:
        fig = plotting.figure_depth(activations[0], args.sigma_w2, sigma_b2, critical=critical,
                                    weights=weights, depths=args.depths or (1, 2, 4, 8, 16, 32, 64, 128))
    return fig
