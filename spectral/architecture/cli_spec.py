"""The command line's ``--spec FILE``: meanfield, moments, density, validate, sample and ``plot spectrum`` for a
JSON spec.

The spec replaces the network flags; giving both is refused (exit status 2, one line), as is any flag that has
no meaning for a spec (for ``plot``: the depth list and the phase-diagram flags).  Errors in the file name the
entry (``layers[1].repeat.layers[0]``).

``plot spectrum --spec FILE`` draws the spec against the same network without skip connections
(:mod:`spectral.plotting.spec_spectrum`); a panel whose theory curve is unavailable or uncertified says so in
the panel and in one line of the output, shows the Brownian large-depth limit where it applies, and the run
prints ``NOT CERTIFIED`` and exits 3 (0 with ``--allow-uncertified``); the figure is written either way.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["NETWORK_FLAGS", "conflicting_flags", "run_spec_command"]

#: the flags a spec replaces
NETWORK_FLAGS = ("--activation", "--weights", "--sigma-w2", "--sigma-b2", "--critical", "--depth")
#: the flags of ``plot`` that a spec replaces too (depth lists, the phase diagram's ranges)
PLOT_FLAGS = ("--depths", "--sigma-w2-range", "--sigma-b2-range", "--resolution", "--contour-depth")
#: the other long options of the commands that take --spec (so that an abbreviation is matched to one of them)
_OTHER_FLAGS = ("--spec", "--samples", "--seed", "--stable", "--singular-values", "--json", "--width", "--points",
                "--k", "--precision", "--exact", "--allow-uncertified", "--out", "--mode", "--backend", "--variable",
                "--xscale", "--dpi")


def conflicting_flags(command_line: str, command: str | None = None) -> list[str]:
    """The network flags typed on ``command_line`` (exact or as an unambiguous abbreviation); for
    ``command="plot"`` also :data:`PLOT_FLAGS`."""
    flags = NETWORK_FLAGS + (PLOT_FLAGS if command == "plot" else ())
    found = []
    for tok in command_line.split():
        if not tok.startswith("--") or len(tok) < 3:
            continue
        name = tok.split("=", 1)[0]
        hits = [f for f in flags if f.startswith(name)]
        if hits and (name in flags or not any(o.startswith(name) for o in _OTHER_FLAGS)):
            found.append(name if name in flags else hits[0])
    return sorted(set(found))


def run_spec_command(args, cli) -> int:
    """Run ``args.command`` on the spec in ``args.spec``; ``cli`` is :mod:`spectral.cli` (its table, emit and
    status helpers)."""
    from .json_spec import load_spec

    bad = conflicting_flags(getattr(args, "command_line", ""), args.command)
    if bad:
        raise cli.CLIError(f"--spec replaces the network flags; drop {', '.join(bad)} (or drop --spec)")
    if args.command == "plot" and args.kind != "spectrum":
        raise cli.CLIError(f"--spec draws 'plot spectrum' only, not 'plot {args.kind}'; use 'spectral plot spectrum "
                           "--spec FILE --out FIG' or drop --spec")
    spec = load_spec(args.spec)
    return _COMMANDS[args.command](args, cli, spec)


def _meanfield(args, cli, spec):
    from .json_spec import spec_to_json
    from .meanfield import spec_mean_field

    rows = spec_mean_field(spec)
    payload = {"spec": spec_to_json(spec), "steps": rows, "q_out": rows[-1]["q_out"] if rows else None}
    top = [r for r in rows if ".residual.branch" not in r["path"]]
    human = cli.table([(f"{r['path']} {tuple(r['copy']) or ''} {r['kind']}", f"q = {r['q_out']:.6g}, "
                        f"mean = {r['mean_out']:.3g}") for r in top], "mean field through the spec")
    cli._emit(args, payload, human)
    return 0


def _moments(args, cli, spec):
    from ..product import jacobian_law

    if args.width is not None:
        raise cli.CLIError("--width (finite-width prediction) is available for plain networks only, not with --spec")
    with cli._certificate_watch() as watch:  # a law that is not exact says so (NotFreeWarning): exit 3
        law = jacobian_law(spec)
    k = max(args.k, 2)
    payload = {"spec_depth": spec.depth, "k": args.k}
    try:
        if args.exact:
            m = law.moments(k, exact=True)
            payload["method"] = "exact"
        elif args.precision is not None:
            m = law.moments(k, precision=args.precision)
            payload["method"] = f"mpmath ({args.precision} digits)"
        else:
            logm = np.asarray(law.log_moments(k), dtype=float)
            m = None
            payload["moments"] = [float(math.exp(x)) if x < 709 else f"exp({x:.12g})" for x in logm[: args.k]]
            payload["log_moments"] = logm[: args.k].tolist()
            payload["method"] = "float64 series"
    except (TypeError, NotImplementedError) as exc:
        raise cli.CLIError(f"no such moments for this spec ({exc}); use float moments or --precision") from None
    if m is not None:
        payload["moments"] = [str(x) for x in m[: args.k]]
    payload["certified"] = not watch.reasons
    rows = [("method", payload["method"])] + [(f"m_{i + 1}", v) for i, v in enumerate(payload["moments"])]
    cli._emit(args, payload, cli.table(rows, "moments of J J^T (spec)"))
    return cli._certificate_status(args, watch.reasons)


def _density(args, cli, spec):
    from ..density import density_summary
    from ..product import jacobian_law

    with cli._certificate_watch() as watch:
        law = jacobian_law(spec)
        target = law.singular_values() if args.singular_values else law
        try:
            res = target.density(points=args.points)
        except (RuntimeError, ValueError, NotImplementedError) as exc:
            raise cli.NotCertified(f"the density of this spec could not be computed: {exc}") from None
        payload = density_summary(res)
    payload["certified"] = bool(res.certified)
    payload["reason"] = res.reason
    rows = [("support", payload["support"] or "-"), ("lambda_max", payload["lambda_max"]),
            ("mass", payload["mass"]), ("certified", res.certified)]
    cli._emit(args, payload, cli.table(rows, "density (spec)"))
    return cli._certificate_status(args, [res.reason] if not res.certified else watch.reasons)


def _validate(args, cli, spec):
    from ..validation import validate

    if args.samples < 2:
        raise cli.CLIError(f"--samples must be >= 2 (standard errors across networks), got {args.samples}")
    width = spec.width or args.width
    with cli._certificate_watch():
        report = validate(spec, width=width, n_samples=args.samples, seed=args.seed, mode=args.mode,
                          backend=args.backend)
    cli._emit(args, report.to_dict(), str(report))
    return cli._validation_status(args, report)


def _sample(args, cli, spec):
    from ..outpath import check_out_path
    from .jacobian import plain_network
    from .json_spec import spec_to_json
    from .sampling import sample_spec

    if plain_network(spec) is not None:  # plain chains: the Network sampler (stable product, saved metadata)
        from ..montecarlo import sample_jacobians

        width = spec.width or args.width
        samples = sample_jacobians(plain_network(spec), width=width, n_samples=args.samples, mode=args.mode,
                                   backend=args.backend, seed=args.seed)
        meta = samples.metadata()
    else:
        samples = sample_spec(spec, width=spec.width or args.width, n_samples=args.samples, mode=args.mode,
                              backend=args.backend, seed=args.seed)
        meta = {"spec": spec_to_json(samples.spec), "widths": list(samples.widths), "mode": samples.mode,
                "backend": samples.backend, "seed": args.seed, "seconds": samples.seconds}
    out = None if args.out is None else check_out_path(args.out, "--out", (".npz",))
    if out is not None:
        import json

        with open(out, "wb") as fh:
            np.savez_compressed(fh, eigenvalues=samples.eigenvalues, metadata=np.array(json.dumps(meta)))
    mean, err = samples.moments(4)
    payload = {**meta, "moments": mean, "stderr": err, "out": None if out is None else str(out)}
    rows = [(f"m_{i + 1}", f"{m:.6g} +- {e:.2g}") for i, (m, e) in enumerate(zip(mean, err, strict=True))]
    cli._emit(args, payload, cli.table(rows, "sampled Jacobians (spec)"))
    return 0


def _plot(args, cli, spec):
    """``plot spectrum --spec``: the spec against the same network without skip connections (module docstring)."""
    import matplotlib

    matplotlib.use("Agg")
    from ..cli_figures import FIGURE_SUFFIXES
    from ..outpath import check_out_path
    from ..plotting.spec_spectrum import DEFAULT_SPEC_WIDTH, spec_panels, spec_panels_figure

    out = check_out_path(args.out, "--out", FIGURE_SUFFIXES)  # before any computation
    if spec.width is not None and args.width is not None and args.width != spec.width:
        raise cli.CLIError(f"--width {args.width} conflicts with the spec's input width {spec.width}; drop --width "
                           "(or the spec's \"width\")")
    width = spec.width or args.width or DEFAULT_SPEC_WIDTH
    with cli._certificate_watch() as watch:
        panels = spec_panels(spec, variable=args.variable, width=width, n_samples=args.samples, mode=args.mode,
                             backend=args.backend, seed=args.seed)
        fig = spec_panels_figure(panels, xscale=args.xscale)
    fig.savefig(out, dpi=args.dpi, bbox_inches="tight", format=out.suffix[1:].lower())
    payload = {"kind": "spectrum", "out": str(out.resolve()), "spec_depth": spec.depth,
               "panels": [p.to_dict() for p in panels]}
    lines = [p.summary() for p in panels] + [f"figure (spectrum, spec) written to {out.resolve()}"]
    cli._emit(args, payload, "\n".join(lines))
    return cli._certificate_status(args, watch.reasons)


_COMMANDS = {"meanfield": _meanfield, "moments": _moments, "density": _density, "validate": _validate,
             "sample": _sample, "plot": _plot}
