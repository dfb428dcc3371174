"""Command-line interface: ``spectral <command> ...`` (also ``python -m spectral``).

Every command prints a readable table by default and machine-readable JSON with
``--json``.  Commands that take a network share the same flags (``--activation``,
``--weights``, ``--sigma-w2``, ``--sigma-b2`` or ``--critical``, ``--depth``).
Bad input exits with status 2 and one line naming the parameter; the CLI holds
no mathematics, it only calls the public API.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from fractions import Fraction

import numpy as np

__all__ = ["main", "build_parser"]

PROG = "spectral"


class CLIError(Exception):
    """A user-facing error: printed as one line, exit status 2."""


# --------------------------------------------------------------------------- output helpers
def _jsonable(value):
    """Convert results to JSON-safe values (non-finite floats become ``null``)."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else None
    if isinstance(value, Fraction):
        return str(value)
    if value is None or isinstance(value, str):
        return value
    return str(value)


def _fmt(value) -> str:
    """Format one value for the human-readable tables."""
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (float, np.floating)):
        value = float(value)
        if not math.isfinite(value):
            return "inf" if value > 0 else ("-inf" if value < 0 else "nan")
        if value == 0:
            return "0"
        if 1e-4 <= abs(value) < 1e6:
            return f"{value:.10g}"
        return f"{value:.6e}"
    if isinstance(value, (list, tuple)):
        return ", ".join(_fmt(v) for v in value)
    return str(value)


def table(rows, title: str | None = None) -> str:
    """Render ``(label, value)`` rows as an aligned two-column table."""
    rows = [(str(k), _fmt(v)) for k, v in rows]
    width = max((len(k) for k, _ in rows), default=0)
    lines = [title, "-" * max(len(title), 20)] if title else []
    lines += [f"  {k:<{width}}  {v}" for k, v in rows]
    return "\n".join(lines)


def _emit(args, payload: dict, human: str) -> None:
    if args.json:
        print(json.dumps(_jsonable(payload), indent=2))
    else:
        print(human)


# --------------------------------------------------------------------------- shared flags
def _add_network_flags(p: argparse.ArgumentParser, *, depth: bool = True, weights: bool = True,
                       exact: bool = False) -> None:
    """The flags every network command shares; ``exact`` keeps the variances as typed (for sympy)."""
    number = str if exact else float
    g = p.add_argument_group("network")
    g.add_argument("--activation", default="tanh",
                   help="activation name, e.g. tanh, relu, 'leaky_relu(0.1)', hard_tanh (default: tanh)")
    if weights:
        g.add_argument("--weights", default="orthogonal", help="gaussian | orthogonal (default: orthogonal)")
    g.add_argument("--sigma-w2", type=number, default=number("1.05"),
                   help="weight variance sigma_w^2 (default: 1.05)")
    bias = g.add_mutually_exclusive_group()
    bias.add_argument("--sigma-b2", type=number, default=None, help="bias variance sigma_b^2 (default: 0)")
    bias.add_argument("--critical", action="store_true",
                      help="solve sigma_b^2 on the critical line chi_1 = 1 for the given sigma_w^2")
    if depth:
        g.add_argument("--depth", type=str if exact else int, default=16,
                       help="number of layers L >= 1 (default: 16)" + ("; a name such as L keeps it symbolic"
                                                                       if exact else ""))


def _add_json(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print machine-readable JSON")


def _mean_field(args):
    from spectral.meanfield import critical_point, mean_field

    if args.critical:
        return critical_point(args.activation, sigma_w2=args.sigma_w2)
    return mean_field(args.activation, sigma_w2=args.sigma_w2,
                      sigma_b2=0.0 if args.sigma_b2 is None else args.sigma_b2)


def _network(args):
    """Build the :class:`spectral.Network` described by the shared flags."""
    from spectral.product import Network

    if args.depth < 1:
        raise CLIError(f"--depth must be an integer >= 1, got {args.depth}")
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
    if args.k < 1:
        raise CLIError(f"--k must be an integer >= 1, got {args.k}")
    if args.precision is not None and args.precision < 1:
        raise CLIError(f"--precision must be a number of digits >= 1, got {args.precision}")
    net = _network(args)
    from spectral.product import jacobian_law

    law = jacobian_law(net)
    payload = {"activation": net.layers[0].activation.name, "weights": net.layers[0].weights,
               "sigma_w2": net.layers[0].sigma_w2, "sigma_b2": net.layers[0].sigma_b2,
               "depth": len(net.layers), "k": args.k}
    if args.exact:
        m = law.moments(args.k, exact=True)
        payload["moments"] = _moment_strings(m)
        payload["m1"] = str(m[0])
        variance = law.moments(2, exact=True)
        payload["variance"] = str(variance[1] - variance[0] ** 2) if args.k >= 1 else None
        payload["method"] = "exact"
    elif args.precision is not None:
        m = law.moments(max(args.k, 2), precision=args.precision)
        payload["moments"] = _moment_strings(m[: args.k])
        payload["m1"] = str(m[0])
        payload["variance"] = str(m[1] - m[0] ** 2)
        payload["method"] = f"mpmath ({args.precision} digits)"
    else:
        logm = np.asarray(law.log_moments(max(args.k, 2)), dtype=float)
        with np.errstate(over="ignore"):
            m = np.exp(logm)
        if np.all(np.isfinite(m)):
            payload["moments"] = m[: args.k].tolist()
            payload["m1"] = float(m[0])
            payload["variance"] = float(m[1] - m[0] ** 2)
        else:
            payload["moments"] = [_big(x) for x in logm[: args.k]]
            payload["m1"] = _big(logm[0])
            payload["variance"] = None
        payload["log_moments"] = logm[: args.k].tolist()
        payload["method"] = "float64 series"
    rows = [(k, v) for k, v in payload.items() if k not in ("moments", "log_moments")]
    rows += [(f"m_{i + 1}", v) for i, v in enumerate(payload["moments"])]
    _emit(args, payload, table(rows, "moments of J J^T"))
    return 0


def _big(logx: float):
    """A float if ``exp(logx)`` is representable, else a decimal string like '1.23e+886'."""
    if logx < 709:
        return float(np.exp(logx))
    exponent = math.floor(logx / math.log(10))
    mantissa = math.exp(logx - exponent * math.log(10))
    return f"{mantissa:.12g}e+{exponent}"


def cmd_symbolic(args) -> int:
    from spectral.symbolic import symbolic_network

    depth = int(args.depth) if str(args.depth).strip().lstrip("+").isdigit() else args.depth
    if isinstance(depth, int) and depth < 1:
        raise CLIError(f"--depth must be an integer >= 1 (or a symbol such as L), got {args.depth}")
    if args.k < 1:
        raise CLIError(f"--k must be an integer >= 1, got {args.k}")
    if args.weights not in ("gaussian", "orthogonal"):
        raise CLIError(f"--weights must be gaussian or orthogonal, got {args.weights!r}")
    sigma_b2 = args.sigma_b2 if args.sigma_b2 is not None else "0"
    if args.critical:
        sigma_b2 = repr(_mean_field(argparse.Namespace(**{**vars(args), "sigma_w2": float(args.sigma_w2)}))
                        .sigma_b2)
    res = symbolic_network(args.activation, args.weights, args.sigma_w2, depth, sigma_b2, p=args.p)
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


def cmd_density(args) -> int:
    if args.points < 16:
        raise CLIError(f"--points must be an integer >= 16, got {args.points}")
    from spectral.density import density_summary
    from spectral.product import jacobian_law

    net = _network(args)
    law = jacobian_law(net)
    target = law.singular_values() if args.singular_values else law
    res = target.density(points=args.points)
    payload = density_summary(res)
    payload["variable"] = "singular value s of J" if args.singular_values else "eigenvalue of J J^T"
    d = payload["diagnostics"]
    rows = _network_rows(net) + [("variable", payload["variable"]),
                                 ("support", payload["support"] if payload["support"] else "-"),
                                 ("lambda_max", payload["lambda_max"])]
    rows += [(f"atom at {loc:.6g}", f"mass {mass:.6g}") for loc, mass in payload["atoms"]] or [("atoms", "none")]
    rows += [(f"quantile {q}", v) for q, v in d.get("quantiles", {}).items()]
    checks = [("mass (continuous + atoms)", payload["mass"]), ("certified", d.get("certified"))]
    labels = {"mass_error": "|mass - 1|", "m1": "m_1 from the density", "m1_series": "m_1 from the series",
              "m1_rel_err": "m_1 relative error", "m2": "m_2 from the density", "m2_series": "m_2 from the series",
              "m2_rel_err": "m_2 relative error", "worst_residual": "worst residual",
              "n_uncertified_total": "uncertified points"}
    checks += [(label, d[k]) for k, label in labels.items() if k in d]
    if isinstance(d.get("fallback"), list | tuple):
        checks.append(("points needing fallback", len(d["fallback"])))
    title = "singular values s of J" if args.singular_values else "eigenvalues of J J^T"
    human = table(rows, f"density of the {title}") + "\n" + table(checks, "checks")
    _emit(args, payload, human)
    return 0


def cmd_demo(args) -> int:
    """Mean field at criticality, moments, density, a quick validation and a figure, on built-in defaults."""
    import time

    from spectral.density import density_summary
    from spectral.meanfield import mean_field
    from spectral.product import jacobian_law
    from spectral.validation import validate

    _check_sampling(args)
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
    sv = law.singular_values().density(points=1000)
    summary = density_summary(sv)
    q = summary["diagnostics"]["quantiles"]
    report = validate(net, width=args.width, n_samples=args.samples, seed=args.seed, mode=args.mode,
                      backend=args.backend, stable=_STABLE[args.stable])
    figure = _demo_figure(args, net, sv, report)
    payload = {"network": {"activation": layer.activation.name, "weights": layer.weights,
                           "sigma_w2": layer.sigma_w2, "sigma_b2": layer.sigma_b2, "depth": net.depth},
               "mean_field": mf.to_dict(),
               "moments": {"m1": m[0], "m2": m[1], "variance": m[1] - m[0] ** 2,
                           f"variance_{other}": mt[1] - mt[0] ** 2},
               "singular_values": {"support": summary["support"], "s_max": summary["lambda_max"],
                                   "atoms": summary["atoms"], "quantiles": q,
                                   "mass": summary["mass"], "certified": summary["diagnostics"]["certified"]},
               "validation": report.to_dict(), "figure": figure, "seconds": time.perf_counter() - t0}
    cond = (q.get("0.99") or math.nan) / (q.get("0.01") or math.nan) if q.get("0.01") else math.inf
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
               ("atoms", summary["atoms"] or "none"),
               ("s_0.01 .. s_0.99", f"{q.get('0.01'):.4g} .. {q.get('0.99'):.4g}"),
               ("condition s_0.99 / s_0.01", cond), ("mass", summary["mass"]),
               ("certified", summary["diagnostics"]["certified"])], "singular values of J"),
        "",
        str(report),
        "",
        f"figure written to {figure}" if figure else "figure: not written",
        f"done in {payload['seconds']:.1f} s",
    ]
    _emit(args, payload, "\n".join(lines))
    return 0


def _demo_figure(args, net, sv, report):
    """Write the demo figure (singular-value density with the sampled histogram); return its path."""
    from pathlib import Path

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from spectral import plotting

    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    plotting.plot_validation(report.samples, sv, report=report, variable="singular", ax=ax,
                             title=f"{plotting._panel_title(net)}, L = {net.depth}")
    out = Path(args.out)
    fig.savefig(out, dpi=120, bbox_inches="tight")
    return str(out.resolve())


def _csv(kind):
    """argparse type: a comma-separated list of ``kind`` values."""
    def parse(text):
        try:
            return [kind(t) for t in str(text).split(",") if t.strip()]
        except ValueError as exc:
            raise argparse.ArgumentTypeError(f"expected a comma-separated list, got {text!r}") from exc

    parse.__name__ = f"list of {kind.__name__}"
    return parse


def cmd_plot(args) -> int:
    """``spectral plot spectrum|validation|phase|depth --out FIG``: build the figure with spectral.plotting."""
    from pathlib import Path

    import matplotlib

    matplotlib.use("Agg")
    from spectral import plotting

    out = Path(args.out)
    if out.suffix.lower() not in (".png", ".pdf", ".svg"):
        raise CLIError(f"--out must end in .png, .pdf or .svg, got {args.out!r}")
    critical = args.critical or args.sigma_b2 is None
    sigma_b2 = 0.0 if args.sigma_b2 is None else args.sigma_b2
    if args.weights is None:  # spectrum and depth figures compare the ensembles unless told otherwise
        args.weights = "orthogonal,gaussian" if args.kind in ("spectrum", "depth") else "orthogonal"
    weights = [w.strip() for w in args.weights.split(",")]
    bad = [w for w in weights if w not in ("gaussian", "orthogonal")]
    if bad:
        raise CLIError(f"--weights must be gaussian, orthogonal or a comma-separated list of them, got {bad[0]!r}")
    activations = _split_activations(args.activation)
    if args.kind != "phase" and len(activations) != 1:
        raise CLIError("--activation takes one activation here (a comma-separated list only for 'plot phase')")
    if args.kind == "spectrum":
        fig = plotting.figure_spectrum(activations[0], weights, args.sigma_w2, sigma_b2, critical=critical,
                                       depths=args.depths or (2, 8, 32, 128), variable=args.variable,
                                       width=args.width, n_samples=args.samples, mode=args.mode,
                                       backend=args.backend, seed=args.seed, xscale=args.xscale)
    elif args.kind == "validation":
        _check_sampling(argparse.Namespace(width=args.width or 256, samples=args.samples))
        fig = plotting.figure_validation(activations[0], weights[0], args.sigma_w2, sigma_b2, critical=critical,
                                         depth=args.depth, width=args.width or 256, n_samples=args.samples,
                                         mode=args.mode, backend=args.backend, seed=args.seed,
                                         variable=args.variable)
    elif args.kind == "phase":
        fig = plotting.figure_phase(activations if len(activations) > 1 else activations[0],
                                    sigma_w2=tuple(args.sigma_w2_range), sigma_b2=tuple(args.sigma_b2_range),
                                    resolution=args.resolution, depth=args.contour_depth, weights=weights[0])
    else:
        fig = plotting.figure_depth(activations[0], args.sigma_w2, sigma_b2, critical=critical, weights=weights,
                                    depths=args.depths or (1, 2, 4, 8, 16, 32, 64, 128))
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=args.dpi, bbox_inches="tight")
    payload = {"kind": args.kind, "out": str(out.resolve()), "weights": weights}
    _emit(args, payload, f"figure ({args.kind}) written to {out.resolve()}")
    return 0


def _split_activations(text: str) -> list:
    """Split 'tanh,relu,leaky_relu(0.1, ...)' at top-level commas."""
    parts, depth, cur = [], 0, ""
    for ch in text:
        depth += (ch == "(") - (ch == ")")
        if ch == "," and depth == 0:
            parts.append(cur.strip())
            cur = ""
        else:
            cur += ch
    parts.append(cur.strip())
    return [p for p in parts if p]


def _add_sampling_flags(p: argparse.ArgumentParser, *, samples_default: int = 16, width_default: int | None = 512,
                        width_help: str = "layer width N (default: 512)", stable: bool = True) -> None:
    g = p.add_argument_group("sampling")
    g.add_argument("--width", type=int, default=width_default, help=width_help)
    g.add_argument("--samples", type=int, default=samples_default,
                   help=f"number of independent networks (default: {samples_default})")
    g.add_argument("--mode", default="network", choices=("network", "free"),
                   help="network: real forward pass; free: D_l independent of W_l (default: network)")
    g.add_argument("--backend", default="auto", choices=("auto", "numpy", "cupy"),
                   help="array backend; auto picks CuPy when a GPU is present (default: auto)")
    g.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    if stable:
        g.add_argument("--stable", default="auto", choices=("auto", "yes", "no"),
                       help="stable product QR keeping log-scales (deep networks); auto decides from the spread of "
                            "the first network's singular values (default: auto)")


_STABLE = {"auto": None, "yes": True, "no": False}


def _check_sampling(args) -> None:
    if args.width < 1:
        raise CLIError(f"--width must be an integer >= 1, got {args.width}")
    if args.samples < 1:
        raise CLIError(f"--samples must be an integer >= 1, got {args.samples}")


def cmd_validate(args) -> int:
    _check_sampling(args)
    if args.samples < 2:
        raise CLIError(f"--samples must be >= 2 (standard errors across networks), got {args.samples}")
    from spectral.validation import validate

    report = validate(_network(args), width=args.width, n_samples=args.samples, seed=args.seed, mode=args.mode,
                      backend=args.backend, stable=_STABLE[args.stable])
    _emit(args, report.to_dict(), str(report))
    return 0 if report.passed else 1


def cmd_sample(args) -> int:
    _check_sampling(args)
    from spectral.montecarlo import sample_jacobians

    samples = sample_jacobians(_network(args), width=args.width, n_samples=args.samples, mode=args.mode,
                               backend=args.backend, seed=args.seed, stable=_STABLE[args.stable])
    if args.out:
        samples.save(args.out)
    mean, err = samples.moments(4)
    payload = {**samples.metadata(), "moments": mean, "stderr": err, "atom_sampled": samples.atom_at_zero,
               "out": args.out}
    rows = [(k, v) for k, v in payload.items() if k not in ("moments", "stderr")]
    rows += [(f"m_{i + 1}", f"{m:.6g} +- {e:.2g}") for i, (m, e) in enumerate(zip(mean, err, strict=True))]
    if args.out:
        rows.append(("saved", f"{args.out} (eigenvalues of J J^T: load with numpy.load)"))
    _emit(args, payload, table(rows, "sampled Jacobians"))
    return 0


# --------------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Spectra of deep-network input-output Jacobians at initialization "
                    "(free probability, mean field, Monte Carlo checks).")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("meanfield", help="mean-field fixed point, chi_1, depth scales, phase")
    _add_network_flags(p, depth=False, weights=False)
    _add_json(p)
    p.set_defaults(func=cmd_meanfield)

    p = sub.add_parser("moments", help="moments m_1..m_k of J J^T")
    _add_network_flags(p)
    p.add_argument("--k", type=int, default=5, help="number of moments (default: 5)")
    p.add_argument("--exact", action="store_true", help="exact rationals (Bernoulli-type D^2 only)")
    p.add_argument("--precision", type=int, default=None, help="mpmath precision in decimal digits")
    _add_json(p)
    p.set_defaults(func=cmd_moments)

    p = sub.add_parser("symbolic", help="closed-form S-transform, spectral curve P(m, z) = 0, exact edges and "
                                         "moments (Bernoulli-type activations)")
    _add_network_flags(p, exact=True)
    p.add_argument("--k", type=int, default=5, help="number of exact moments (default: 5)")
    p.add_argument("--p", default=None,
                   help="hard-tanh: the probability p = erf(1/sqrt(2 q*)) as a number, or 'auto' to take it from "
                        "the mean field (default: keep p as a symbol)")
    p.add_argument("--latex", action="store_true", help="formulas in LaTeX instead of sympy syntax")
    _add_json(p)
    p.set_defaults(func=cmd_symbolic)

    p = sub.add_parser("demo", help="the main job on built-in defaults: mean field at criticality, moments, "
                                     "singular-value density, a quick validation, and a figure")
    _add_network_flags(p)
    _add_sampling_flags(p, samples_default=16)
    p.set_defaults(depth=32, width=256)
    p.add_argument("--out", default="spectral-demo.png", help="figure file (default: spectral-demo.png)")
    _add_json(p)
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("plot", help="figures: spectrum (singular-value densities over depth), validation "
                                     "(samples vs theory), phase (chi_1 diagram), depth (variance, lambda_max, "
                                     "conditioning vs depth); spectrum and depth compare orthogonal and "
                                     "gaussian weights unless --weights is given")
    p.add_argument("kind", choices=("spectrum", "validation", "phase", "depth"), help="which figure")
    _add_network_flags(p)
    p.set_defaults(depth=32, weights=None)
    p.add_argument("--out", required=True, help="figure file: .png, .pdf or .svg")
    p.add_argument("--depths", type=_csv(int), default=None,
                   help="spectrum/depth: comma-separated depths (default 2,8,32,128 / 1,2,...,128)")
    p.add_argument("--variable", default="singular", choices=("singular", "eigen"),
                   help="singular values of J or eigenvalues of J J^T (default: singular)")
    p.add_argument("--xscale", default="linear", choices=("linear", "log"))
    _add_sampling_flags(p, samples_default=4, width_default=None, stable=False,
                        width_help="overlay sampled networks of this width (spectrum; validation default 256)")
    p.add_argument("--sigma-w2-range", type=_csv(float), default=[0.5, 4.0], help="phase: sigma_w2 range (0.5,4)")
    p.add_argument("--sigma-b2-range", type=_csv(float), default=[0.0, 0.3], help="phase: sigma_b2 range (0,0.3)")
    p.add_argument("--resolution", type=int, default=80, help="phase: grid points per axis (default: 80)")
    p.add_argument("--contour-depth", type=int, default=None,
                   help="phase: add contours of the J J^T variance at this depth")
    p.add_argument("--dpi", type=int, default=150)
    _add_json(p)
    p.set_defaults(func=cmd_plot)

    p = sub.add_parser("density", help="eigenvalue density of J J^T (or singular-value density of J) with atoms, "
                                        "edges and a certificate")
    _add_network_flags(p)
    p.add_argument("--points", type=int, default=2000, help="grid points (default: 2000)")
    p.add_argument("--singular-values", action="store_true", help="density of the singular values s of J instead")
    _add_json(p)
    p.set_defaults(func=cmd_density)

    p = sub.add_parser("validate", help="sampled networks vs the theory: moment z-scores, KS, Wasserstein, atom "
                                         "(exit status 0 when it passes, 1 when not)")
    _add_network_flags(p)
    _add_sampling_flags(p)
    _add_json(p)
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("sample", help="sample networks and save the eigenvalues of J J^T (--out FILE.npz)")
    _add_network_flags(p)
    _add_sampling_flags(p)
    p.add_argument("--out", default=None, help="write the eigenvalues to this .npz file")
    _add_json(p)
    p.set_defaults(func=cmd_sample)
    return parser


def main(argv=None) -> int:
    """Run the command line; return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except (CLIError, ValueError, TypeError, NotImplementedError, ArithmeticError) as exc:
        print(f"{PROG} {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
