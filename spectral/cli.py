"""Command-line interface: ``spectral <command> ...`` (also ``python -m spectral``).

Every command prints a readable table by default and machine-readable JSON with ``--json``
(:mod:`spectral.jsonout`: infinities are the strings ``"inf"``/``"-inf"``, undefined or failed values are
``null``).  Commands that take a network share the same flags (``--activation``, ``--weights``,
``--sigma-w2``, ``--sigma-b2`` or ``--critical``, ``--depth``).  Numbers are read by the strict parser of
:mod:`spectral.parsing` (``1.05``, ``21/20``, ``2**-3``, ``sqrt(2)``, ``pi/2``): nothing typed is ever
evaluated.  Every ``--out`` follows one rule (:mod:`spectral.outpath`), checked before the computation.
The CLI holds no mathematics, it only calls the public API.

Exit statuses
-------------
0  success (a validation that passed; an uncertified density shown with ``--allow-uncertified``)
1  a validation FAILED (``validate``, ``demo``): a check that was made disagrees with the theory
2  bad input: one line naming the parameter (also bad ``--out`` paths and files that cannot be written,
   and requests beyond the limits of :mod:`spectral.limits`, with the allowed range), checked before computing
3  NOT CERTIFIED: a density (or the theory CDF of ``validate``) could not be certified or failed; the
   line ``NOT CERTIFIED: <reason>`` says why (``--allow-uncertified`` shows it and exits 0 when the
   density exists)
4  the run ran out of memory all the same (the estimates of :mod:`spectral.limits` refuse most such runs first)
5  internal error (a bug): one line; ``--debug`` shows the traceback
130  interrupted (Ctrl-C)
"""

from __future__ import annotations

import argparse
import math
import sys

import numpy as np

from . import limits
from .cli_flags import (
    MAX_SYMBOLIC_DEPTH,
    add_spec_flag,
    check_limits,
    exact_flag,
    int_flag,
    probability,
    real_flag,
    symbolic_depth,
)
from .cli_output import (
    EXIT_FAILED,
    EXIT_INTERNAL,
    EXIT_MEMORY,
    EXIT_OK,
    EXIT_UNCERTIFIED,
    EXIT_USAGE,
    CLIError,
    NotCertified,
    _certificate_status,
    _certificate_watch,
    _emit,
    table,
)
from .outpath import RULE as OUT_RULE
from .parsing import SYNTAX, parse_real

__all__ = ["main", "build_parser", "EXIT_OK", "EXIT_FAILED", "EXIT_USAGE", "EXIT_UNCERTIFIED", "EXIT_MEMORY",
           "EXIT_INTERNAL", "EXIT_INTERRUPTED"]

PROG = "spectral"
EXIT_INTERRUPTED = 130

EPILOG = f"""\
numbers: {SYNTAX}.
--out: {OUT_RULE}.
limits: checked before computing (spectral/limits.py; the README has the table per command).
exit status: 0 success; 1 validation FAILED; 2 bad input or beyond a limit (one line naming the flag); 3 NOT CERTIFIED
(a density or theory CDF could not be certified or failed; --allow-uncertified shows an uncertified density
and exits 0); 4 not enough memory; 5 internal error (--debug shows the traceback); 130 interrupted."""


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (no usage dump), exit status 2."""

    def error(self, message):
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _add_network_flags(p: argparse.ArgumentParser, *, depth: bool = True, weights: bool = True,
                       exact: bool = False, bias_help: str = "0", weights_help: str = "orthogonal") -> None:
    """The flags every network command shares; ``exact`` keeps the variances as typed (for sympy)."""
    g = p.add_argument_group("network")
    g.add_argument("--activation", default="tanh",
                   help="activation name, e.g. tanh, relu, 'leaky_relu(0.1)', hard_tanh (default: tanh)")
    if weights:
        g.add_argument("--weights", default="orthogonal", help=f"gaussian | orthogonal (default: {weights_help})")
    g.add_argument("--sigma-w2", type=exact_flag("--sigma-w2") if exact else real_flag("--sigma-w2", positive=True),
                   default="1.05" if exact else 1.05,
                   help="weight variance sigma_w^2 > 0 (default: 1.05)" + ("; a name keeps it symbolic"
                                                                          if exact else ""))
    bias = g.add_mutually_exclusive_group()
    bias.add_argument("--sigma-b2", type=exact_flag("--sigma-b2") if exact else real_flag("--sigma-b2", minimum=0.0),
                      default=None, help=f"bias variance sigma_b^2 >= 0 (default: {bias_help})")
    bias.add_argument("--critical", action="store_true",
                      help="solve sigma_b^2 on the critical line chi_1 = 1 for the given sigma_w^2")
    if depth:
        if exact:
            g.add_argument("--depth", type=symbolic_depth, default=16,
                           help=f"number of layers 1 <= L <= {MAX_SYMBOLIC_DEPTH}, or a symbol name such as L "
                                "(default: %(default)s)")
        else:
            g.add_argument("--depth", type=int_flag("--depth", maximum=limits.MAX_DEPTH), default=16,
                           help=f"number of layers 1 <= L <= {limits.MAX_DEPTH:,} (default: %(default)s)")


def _add_json(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print machine-readable JSON (infinity as \"inf\", "
                                                      "undefined or failed values as null)")


def _add_allow_uncertified(p: argparse.ArgumentParser) -> None:
    p.add_argument("--allow-uncertified", action="store_true",
                   help="show a density that could not be certified and exit 0 (the NOT CERTIFIED line is still "
                        "printed); without it such a run exits with status 3")


def _mean_field(args):
    from spectral.meanfield import critical_point, mean_field

    if args.critical:
        return critical_point(args.activation, sigma_w2=args.sigma_w2)
    return mean_field(args.activation, sigma_w2=args.sigma_w2,
                      sigma_b2=0.0 if args.sigma_b2 is None else args.sigma_b2)


def _network(args):
    """Build the :class:`spectral.Network` described by the shared flags."""
    from spectral.product import Network

    if args.critical:
        sigma_b2 = _mean_field(args).sigma_b2
    else:
        sigma_b2 = 0.0 if args.sigma_b2 is None else args.sigma_b2
    return Network(activation=args.activation, weights=args.weights, sigma_w2=args.sigma_w2,
                   sigma_b2=sigma_b2, depth=args.depth)


def _network_rows(net) -> list:
    return [("activation", net.layers[0].activation.name), ("weights", net.layers[0].weights),
            ("sigma_w2", net.layers[0].sigma_w2), ("sigma_b2", net.layers[0].sigma_b2),
            ("depth", len(net.layers))]


# --------------------------------------------------------------------------- commands
def cmd_meanfield(args) -> int:
    payload = _mean_field(args).to_dict()
    rows = list(payload.items())
    _emit(args, payload, table(rows, "mean field"))
    return 0


def _moment_strings(values) -> list:
    return [str(v) for v in values]


def cmd_moments(args) -> int:
    net = _network(args)
    from spectral.product import jacobian_law

    law = jacobian_law(net)
    payload = {"activation": net.layers[0].activation.name, "weights": net.layers[0].weights,
               "sigma_w2": net.layers[0].sigma_w2, "sigma_b2": net.layers[0].sigma_b2,
               "depth": len(net.layers), "k": args.k}
    if args.exact:
        try:
            m = law.moments(max(args.k, 2), exact=True)
        except (ValueError, TypeError, NotImplementedError) as exc:
            raise CLIError(f"--exact: no exact moments for {net.layers[0].activation.name} ({exc}); "
                           "drop --exact or use --precision DIGITS") from None
        payload["moments"] = _moment_strings(m[: args.k])
        payload["m1"] = str(m[0])
        payload["variance"] = str(m[1] - m[0] ** 2)
        payload["method"] = "exact"
    elif args.precision is not None:
        m = law.moments(max(args.k, 2), precision=args.precision)
        payload["moments"] = _moment_strings(m[: args.k])
        payload["m1"] = str(m[0])
        payload["variance"] = str(m[1] - m[0] ** 2)
        payload["method"] = f"mpmath ({args.precision} digits)"
    else:
        logm = np.asarray(law.log_moments(max(args.k, 2)), dtype=float)
        # each moment on its own: one beyond the float range is a decimal string, the others stay floats
        payload["moments"] = [_big(x) for x in logm[: args.k]]
        payload["m1"] = _big(logm[0])
        frac = -math.expm1(min(2 * logm[0] - logm[1], 0.0))  # variance / m_2, in [0, 1)
        payload["variance"] = _big(logm[1] + math.log(frac)) if frac > 0 else 0.0
        payload["log_moments"] = logm[: args.k].tolist()
        payload["method"] = "float64 series"
    rows = [(k, v) for k, v in payload.items() if k not in ("moments", "log_moments")]
    rows += [(f"m_{i + 1}", v) for i, v in enumerate(payload["moments"])]
    human = table(rows, "moments of J J^T")
    if args.width is not None:
        from spectral.finite_width import finite_width

        fw = payload["finite_width"] = dict(finite_width(net, args.width))
        fw_rows = [(k, fw[k]) for k in ("width", "L_over_N", "log_norm_mean", "log_norm_var", "log_m1_mean",
                                         "log_m1_sd")]
        fw_rows.append(("atom at 0 (mean, sd)", f"{fw['atom_zero']['mean']:.6g}, {fw['atom_zero']['sd']:.3g}"))
        fw_rows += [(f"atom at {loc:.6g} (mean, sd)", f"{m:.6g}, {sd:.3g}") for loc, m, sd in fw["atoms"]]
        human += "\n" + table(fw_rows, f"finite width N = {args.width} (across networks; log||J u||^2, u random)")
    _emit(args, payload, human)
    return 0


def _big(logx: float):
    """A float if ``exp(logx)`` is a normal float, else a decimal string like '1.23e+886' or '4.5e-2800'
    (a moment below the float range is tiny, not 0)."""
    if not math.isfinite(logx) or -708 < logx < 709:
        return float(np.exp(logx))
    exponent = math.floor(logx / math.log(10))
    mantissa = math.exp(logx - exponent * math.log(10))
    return f"{mantissa:.12g}e{exponent:+d}"


def cmd_symbolic(args) -> int:
    from spectral.symbolic import symbolic_network

    if args.weights not in ("gaussian", "orthogonal"):
        raise CLIError(f"--weights must be gaussian or orthogonal, got {args.weights!r}")
    sigma_b2 = args.sigma_b2 if args.sigma_b2 is not None else "0"
    if args.critical:
        try:
            sw2 = parse_real(args.sigma_w2, "--sigma-w2")
        except ValueError:
            raise CLIError(f"--critical needs a numeric --sigma-w2, got {args.sigma_w2!r}") from None
        sigma_b2 = repr(_mean_field(argparse.Namespace(**{**vars(args), "sigma_w2": sw2})).sigma_b2)
    res = symbolic_network(args.activation, args.weights, args.sigma_w2, args.depth, sigma_b2, p=args.p)
    payload = res.to_dict(latex=args.latex, k=args.k)
    if args.json:
        _emit(args, payload, "")
        return 0
    rows = [("S_J(y)", payload["s_transform"]),
            ("P(m, z) = 0", payload["equation"] if payload["equation"] is not None else "(depth symbolic)")]
    numeric = _edge_values(res)
    for i, e in enumerate(payload["edges"]):
        rows.append((f"edge {i + 1}", e + (f"   = {numeric[i]:.15g}" if numeric and i < len(numeric) else "")))
    rows += [(f"m_{i + 1}", v) for i, v in enumerate(payload["moments"])]
    _emit(args, payload, table(rows, "closed form of J J^T"))
    return 0


def _edge_values(res) -> list:
    out = []
    for e in res.edges:
        try:
            out.append(float(e))
        except TypeError:
            return []
    return out


def _below_float_range(value, log10):
    """A quantile as printed: the float, or -- where it lies below the float range (the float is 0.0 but
    its log10 is finite: deep products with Gaussian weights) -- the decimal string "m.mmmmme-NNNN" from its
    log10 (also in JSON, beside the numeric ``log10_quantiles``)."""
    if value != 0.0 or not isinstance(log10, int | float) or not math.isfinite(log10):
        return value
    e = math.floor(log10)
    mant = 10.0 ** (log10 - e)
    if mant >= 9.999995:  # rounds up to 10 in the printed digits
        mant, e = 1.0, e + 1
    return f"{mant:.6g}e{e}"


def cmd_density(args) -> int:
    from spectral.density import density_summary
    from spectral.product import jacobian_law

    net = _network(args)
    law = jacobian_law(net)
    target = law.singular_values() if args.singular_values else law
    with _certificate_watch() as watch:
        try:
            res = target.density(points=args.points)
        except RuntimeError as exc:
            raise NotCertified(f"the density solver failed: {exc}") from None
        payload = density_summary(res)
    payload["variable"] = "singular value s of J" if args.singular_values else "eigenvalue of J J^T"
    payload["certified"] = bool(res.certified)
    payload["reason"] = res.reason
    d = payload["diagnostics"]
    rows = _network_rows(net) + [("variable", payload["variable"]),
                                 ("support", payload["support"] if payload["support"] else "-"),
                                 ("lambda_max", payload["lambda_max"])]
    rows += [(f"atom at {loc:.6g}", f"mass {mass:.6g}") for loc, mass in payload["atoms"]] or [("atoms", "none")]
    d["quantiles"] = {q: _below_float_range(v, d.get("log10_quantiles", {}).get(q))
                      for q, v in d.get("quantiles", {}).items()}
    rows += [(f"quantile {q}", v) for q, v in d["quantiles"].items()]
    checks = [("mass (continuous + atoms)", payload["mass"]), ("certified", res.certified)]
    labels = {"mass_error": "|mass - 1|", "m1": "m_1 from the density", "m1_series": "m_1 from the series",
              "m1_rel_err": "m_1 relative error", "m2": "m_2 from the density", "m2_series": "m_2 from the series",
              "m2_rel_err": "m_2 relative error", "worst_residual": "worst residual",
              "n_uncertified_total": "uncertified points"}
    checks += [(label, d[k]) for k, label in labels.items() if k in d]
    if isinstance(d.get("fallback"), list | tuple):
        checks.append(("points needing fallback", len(d["fallback"])))
    title = "singular values s of J" if args.singular_values else "eigenvalues of J J^T"
    human = table(rows, f"density of the {title}") + "\n" + table(checks, "checks")
    if any(float(layer.sigma_b2) > 0 for layer in net.layers):
        from spectral.outliers import bulk_edges, condition_numbers, length_outliers

        edges = bulk_edges(law, None if args.singular_values else res)
        payload["outliers"] = length_outliers(net, law, edges)
        payload["condition_number"] = condition_numbers(law, payload["outliers"], edges)
        out_rows = [(f"{o['kind']} mode (real network)", f"s = {o['singular_value']:.6g}, lambda = "
                     f"{o['eigenvalue']:.6g}") for o in payload["outliers"]] or [("outliers", "none")]
        out_rows += [(f"condition number {k.replace('_', ' ')}", v) for k, v in payload["condition_number"].items()]
        human += "\n" + table(out_rows, "outliers below the bulk")
    _emit(args, payload, human)
    return _certificate_status(args, [res.reason] if not res.certified else watch.reasons)


def _add_sampling_flags(p: argparse.ArgumentParser, *, samples_default: int = 16, width_default: int | None = 512,
                        width_help: str = "layer width N (default: %(default)s)", stable: bool = True) -> None:
    g = p.add_argument_group("sampling")
    g.add_argument("--width", type=int_flag("--width"), default=width_default, help=width_help)
    g.add_argument("--samples", type=int_flag("--samples"), default=samples_default,
                   help="number of independent networks (default: %(default)s)")
    g.add_argument("--mode", default="network", choices=("network", "free"),
                   help="network: real forward pass; free: D_l independent of W_l (default: network)")
    g.add_argument("--backend", default="auto", choices=("auto", "numpy", "cupy"),
                   help="array backend; auto picks CuPy when a GPU is present (default: auto)")
    g.add_argument("--seed", type=int_flag("--seed", minimum=0), default=0, help="random seed >= 0 (default: 0)")
    if stable:
        g.add_argument("--stable", default="auto", choices=("auto", "yes", "no"),
                       help="stable product QR keeping log-scales (deep networks); auto decides from the estimated "
                            "log-range of the singular values, and networks the direct product loses are "
                            "recomputed stably (default: auto)")


_STABLE = {"auto": None, "yes": True, "no": False}


def _validation_status(args, report) -> int:
    """Exit status of a validation: 1 when a check made FAILED, else 3 when a check was unavailable
    because the theory is not certified (0 with --allow-uncertified), else 0."""
    unavailable = [f"{k}: {v}" for k, v in getattr(report, "unavailable", {}).items()]
    return _certificate_status(args, unavailable, EXIT_OK if report.passed else EXIT_FAILED)


def cmd_validate(args) -> int:
    if args.samples < 2:
        raise CLIError(f"--samples must be >= 2 (standard errors across networks), got {args.samples}")
    from spectral.validation import validate

    with _certificate_watch():
        report = validate(_network(args), width=args.width, n_samples=args.samples, seed=args.seed,
                          mode=args.mode, backend=args.backend, stable=_STABLE[args.stable],
                          progress=getattr(args, "progress", None))
    _emit(args, report.to_dict(), str(report))
    return _validation_status(args, report)


def cmd_sample(args) -> int:
    from spectral.montecarlo import sample_jacobians
    from spectral.outpath import check_out_path

    out = None if args.out is None else check_out_path(args.out, "--out", (".npz",))
    samples = sample_jacobians(_network(args), width=args.width, n_samples=args.samples, mode=args.mode,
                               backend=args.backend, seed=args.seed, stable=_STABLE[args.stable],
                               progress=getattr(args, "progress", None))
    if out is not None:
        with open(out, "wb") as fh:  # a file object: numpy writes exactly this file (no suffix appended)
            samples.save(fh)
    mean, err = samples.moments(4)
    payload = {**samples.metadata(), "moments": mean, "stderr": err, "atom_sampled": samples.atom_at_zero,
               "out": None if out is None else str(out)}
    rows = [(k, v) for k, v in payload.items() if k not in ("moments", "stderr", "out")]
    rows += [(f"m_{i + 1}", f"{m:.6g} +- {e:.2g}") for i, (m, e) in enumerate(zip(mean, err, strict=True))]
    if out is not None:
        rows.append(("saved", f"{out} (eigenvalues of J J^T: load with numpy.load)"))
    _emit(args, payload, table(rows, "sampled Jacobians"))
    return 0


# --------------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    from . import cli_figures

    fmt = argparse.RawDescriptionHelpFormatter
    parser = _Parser(
        prog=PROG, epilog=EPILOG, formatter_class=fmt,
        description="Spectra of deep-network input-output Jacobians at initialization "
                    "(free probability, mean field, Monte Carlo checks).")
    parser.add_argument("--debug", action="store_true",
                        help="show the full traceback of an internal error (also accepted after the command)")
    from spectral import __version__

    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    def command(name, help_text):
        return sub.add_parser(name, help=help_text, epilog=EPILOG, formatter_class=fmt)

    p = command("meanfield", "mean-field fixed point, chi_1, depth scales, phase")
    _add_network_flags(p, depth=False, weights=False)
    _add_json(p)
    add_spec_flag(p)
    p.set_defaults(func=cmd_meanfield)

    p = command("moments", "moments m_1..m_k of J J^T")
    _add_network_flags(p)
    p.add_argument("--k", type=int_flag("--k", maximum=limits.MAX_K), default=5,
                   help=f"number of moments, <= {limits.MAX_K:,} (<= {limits.MAX_K_EXACT:,} with --exact or "
                        "--precision) (default: 5)")
    p.add_argument("--exact", action="store_true", help="exact rationals (Bernoulli-type D^2 only); --k x --depth <= "
                                                        f"{limits.MAX_EXACT_K_DEPTH:,}")
    p.add_argument("--precision", type=int_flag("--precision", minimum=5, maximum=limits.MAX_PRECISION), default=None,
                   help=f"mpmath precision in decimal digits, 5..{limits.MAX_PRECISION:,}; activations integrated by "
                        f"quadrature (tanh, sigmoid, gelu, ...): <= {limits.MAX_QUADRATURE_PRECISION} and --k x "
                        f"--precision <= {limits.MAX_QUADRATURE_K_PRECISION:,}")
    p.add_argument("--width", type=int_flag("--width"), default=None,
                   help="also predict the spread across networks of width N (key finite_width)")
    p.add_argument("--allow-uncertified", action="store_true",
                   help="--spec: show the moments of a law that is not exact for the spec's network (activations "
                        "meeting on the residual stream) and exit 0; without it such a run exits with status 3")
    _add_json(p)
    add_spec_flag(p)
    p.set_defaults(func=cmd_moments)

    p = command("symbolic", "closed-form S-transform, spectral curve P(m, z) = 0, exact edges and moments "
                            "(Bernoulli-type activations)")
    _add_network_flags(p, exact=True)
    p.add_argument("--k", type=int_flag("--k", maximum=limits.MAX_SYMBOLIC_K), default=5,
                   help=f"number of exact moments, <= {limits.MAX_SYMBOLIC_K} (default: 5)")
    p.add_argument("--p", type=probability, default=None,
                   help="hard-tanh: the probability p = erf(1/sqrt(2 q*)) in (0, 1], or 'auto' to take it from "
                        "the mean field (default: keep p as a symbol)")
    p.add_argument("--latex", action="store_true", help="formulas in LaTeX instead of sympy syntax")
    _add_json(p)
    p.set_defaults(func=cmd_symbolic)

    p = command("demo", "the main job on built-in defaults: mean field at criticality, moments, singular-value "
                        "density, a quick validation, and a figure")
    _add_network_flags(p, bias_help="the critical line chi_1 = 1", weights_help="orthogonal, compared with "
                                                                                "gaussian")
    _add_sampling_flags(p, samples_default=16, width_default=256)
    p.set_defaults(depth=32)
    p.add_argument("--out", default="spectral-demo.png", help=f"figure file (default: %(default)s); {OUT_RULE}")
    _add_allow_uncertified(p)
    _add_json(p)
    p.set_defaults(func=cli_figures.cmd_demo)

    p = command("plot", "figures: spectrum (singular-value densities over depth), validation (samples vs "
                        "theory), phase (chi_1 diagram), depth (variance, lambda_max, conditioning vs depth); "
                        "'plot recommend' takes the flags of 'recommend' (see 'plot recommend --help')")
    cli_figures.add_plot_flags(p)
    _add_allow_uncertified(p)
    _add_json(p)
    p.set_defaults(func=cli_figures.cmd_plot)

    p = command("density", "eigenvalue density of J J^T (or singular-value density of J) with atoms, edges and "
                           "a certificate")
    _add_network_flags(p)
    p.add_argument("--points", type=int_flag("--points", minimum=16, maximum=limits.MAX_POINTS), default=2000,
                   help=f"grid points, 16..{limits.MAX_POINTS:,} (default: 2000)")
    p.add_argument("--singular-values", action="store_true", help="density of the singular values s of J instead")
    _add_allow_uncertified(p)
    _add_json(p)
    add_spec_flag(p)
    p.set_defaults(func=cmd_density)

    p = command("validate", "sampled networks vs the theory: moment z-scores, KS, Wasserstein, atom (exit "
                            "status 0 when it passes, 1 when a check fails, 3 when the theory is not certified)")
    _add_network_flags(p)
    _add_sampling_flags(p)
    _add_allow_uncertified(p)
    _add_json(p)
    add_spec_flag(p)
    p.set_defaults(func=cmd_validate)

    from spectral.sweeps.cli import add_sweep_parser

    add_sweep_parser(sub)

    p = command("sample", "sample networks and save the eigenvalues of J J^T (--out FILE.npz)")
    _add_network_flags(p)
    _add_sampling_flags(p)
    p.add_argument("--out", default=None, help=f"write the eigenvalues to this .npz file; {OUT_RULE}")
    _add_json(p)
    add_spec_flag(p)
    p.set_defaults(func=cmd_sample)

    from spectral.recommend_cli import add_recommend_parser

    add_recommend_parser(sub)
    from spectral.inspection.cli import add_inspect_parser
    add_inspect_parser(sub)
    return parser


def _fail(command: str | None, message: str, status: int) -> int:
    print(f"{PROG}{' ' + command if command else ''}: {message}", file=sys.stderr)
    return status


def _parse(parser: argparse.ArgumentParser, argv: list) -> argparse.Namespace:
    if argv[:2] == ["plot", "sweep"]:  # 'plot sweep STORE' has its own flags (no network to describe)
        from spectral.plotting.sweep import parse_plot_sweep

        return parse_plot_sweep(argv[1:], prog=f"{PROG} plot")
    if argv[:2] == ["plot", "recommend"]:  # the flags of 'recommend' plus --out (no network to describe)
        from spectral.plotting.recommend_cli import parse_plot_recommend

        return parse_plot_recommend(argv[1:], prog=f"{PROG} plot", parser_class=_Parser)
    args = parser.parse_args(argv)
    args.command_line = " ".join([PROG, *argv])
    return args


def _run(args) -> int:
    # a JSON spec replaces the network flags, unless the command reads its --spec itself (recommend)
    if getattr(args, "spec", None) is not None and not getattr(args, "reads_spec", False):
        from .architecture.cli_spec import run_spec_command

        return run_spec_command(args, sys.modules[__name__])
    check_limits(args)
    return int(args.func(args) or 0)


def main(argv=None) -> int:
    """Run the command line; return the exit status (see the module docstring).

    One handler turns every failure into one line on stderr and a documented status: bad input and bad
    paths 2, NOT CERTIFIED 3, memory 4, interrupted 130, anything unexpected 5 (``--debug``: traceback).
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    argv = [a for a in argv if a != "--debug"]
    parser = build_parser()
    try:
        args = _parse(parser, argv)
    except SystemExit as exc:  # --help (0) or a usage error, already printed in one line (2)
        return int(exc.code or 0) if not isinstance(exc.code, str) else EXIT_USAGE
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    cmd = args.command
    try:
        return _run(args)
    except NotCertified as exc:
        print(f"NOT CERTIFIED: {exc}", file=sys.stderr)
        return EXIT_UNCERTIFIED
    except (CLIError, ValueError, TypeError, NotImplementedError, ArithmeticError) as exc:
        return _fail(cmd, f"error: {exc}", EXIT_USAGE)
    except OSError as exc:  # files: a path that vanished, a full disk, permissions changed during the run
        where = f" {exc.filename!r}" if getattr(exc, "filename", None) else ""
        return _fail(cmd, f"error: cannot read or write{where}: {exc.strerror or exc}", EXIT_USAGE)
    except MemoryError:
        return _fail(cmd, "error: not enough memory for this run; reduce --width, --samples, --depth, --k or "
                          "--points", EXIT_MEMORY)
    except KeyboardInterrupt:
        return _fail(None, "interrupted", EXIT_INTERRUPTED)
    except Exception as exc:  # noqa: BLE001 - the one place where unexpected errors become one line
        if debug:
            import traceback

            traceback.print_exc()
        hint = "" if debug else "; run with --debug for the traceback"
        return _fail(cmd, f"internal error: {type(exc).__name__}: {exc}{hint} (please report it)",
                     EXIT_INTERNAL)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
