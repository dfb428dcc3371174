"""``spectral recommend``: the command-line front of :func:`spectral.recommend.recommend`.

``add_recommend_parser(subparsers)`` registers the command on the main parser's subparsers;
``cmd_recommend(args)`` runs it (table by default, ``--json`` for the keys ``parameters``, ``m1``, ``spread``,
``lambda_max``, ``condition``, ``outlier``, ``condition_with_outlier``, ``defaults`` and more).  ``--vary-slope``
makes the leaky-ReLU slope a design variable; ``--with-outlier`` puts the length-mode outlier into
``--objective condition``.  ``--spec FILE --transform dks|tat`` transforms the activation of an architecture
spec (residual blocks with shortcut weights, :mod:`spectral.recommend_spec`); the flags that describe a plain
chain are then refused, as is ``--spec`` without a transform (the spectral recommender covers plain chains).
Bad input raises :class:`spectral.cli.CLIError` or ValueError, which the main entry point prints as one line
with exit status 2.
"""

from __future__ import annotations

import argparse
import json
import math

__all__ = ["add_recommend_parser", "cmd_recommend", "check_args", "EDGES", "CHAIN_FLAGS"]

#: --edges choices and what recommend() receives for each
EDGES = {"auto": "auto", "yes": True, "no": False}
#: the flags that describe a plain chain or the spectral recommender: refused with --spec
CHAIN_FLAGS = ("--activation", "--weights", "--depth", "--min-curvature", "--vary-slope", "--min-c0",
               "--with-outlier")
#: every long option of 'recommend' (to resolve the abbreviations argparse accepts)
_ALL_FLAGS = (*CHAIN_FLAGS, "--objective", "--transform", "--zeta", "--tau", "--eta", "--edges", "--spec", "--json")


def add_recommend_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``recommend`` command to ``subparsers`` (from ``ArgumentParser.add_subparsers``)."""
    p = subparsers.add_parser(
        "recommend", help="initialization or activation transform (DKS/TAT) for a plain chain, judged by the "
                          "spectrum of J J^T, with a comparison against common defaults")
    p.add_argument("--activation", default="tanh", help="activation name, e.g. tanh, softplus, leaky_relu "
                                                        "(default: tanh)")
    p.add_argument("--weights", default="orthogonal", help="gaussian | orthogonal (spectral recommender; "
                                                           "transforms use orthogonal weights) (default: orthogonal)")
    p.add_argument("--depth", type=int, default=100, help="number of layers L >= 1 (default: 100)")
    p.add_argument("--objective", default="spread", choices=("spread", "condition", "lambda-ratio"),
                   help="what the spectral recommender minimises: spread v = m2/m1^2 - 1, condition x_0.99/x_0.01, "
                        "lambda-ratio lambda_max/m1 (default: spread)")
    p.add_argument("--transform", default=None, choices=("dks", "tat"), help="DKS or TAT activation transform "
                                                                              "instead of the spectral recommender")
    p.add_argument("--zeta", type=float, default=1.5, help="DKS: the network's maximal C'(1) > 1 (default: 1.5)")
    p.add_argument("--tau", type=float, default=0.3, help="TAT, smooth activations: the network's C''(1) > 0 "
                                                          "(default: 0.3)")
    p.add_argument("--eta", type=float, default=0.9, help="TAT, leaky ReLU: the network's C(0) in [0, 1) "
                                                          "(default: 0.9)")
    p.add_argument("--min-curvature", type=float, default=0.3,
                   help="spectral recommender: the network's C''(1) must be at least this (default: 0.3)")
    p.add_argument("--vary-slope", action="store_true",
                   help="leaky_relu: recommend the slope a too (sigma_w2 = 2/(1+a^2), sigma_b2 = 0), under the "
                        "budget --min-c0")
    p.add_argument("--min-c0", type=float, default=0.9,
                   help="with --vary-slope: the network's C map at 0 must be at least this, in [0, 1) (default: 0.9, "
                        "TAT's eta)")
    p.add_argument("--with-outlier", action="store_true",
                   help="with --objective condition: include the length-mode outlier of a finite network with "
                        "biases, x_0.99 / min(x_0.01, s_len^2)")
    p.add_argument("--edges", default="auto", choices=tuple(EDGES),
                   help="compute lambda_max and the condition number (auto: not for smooth transformed "
                        "activations, whose edge search takes minutes)")
    p.add_argument("--spec", default=None, help="JSON architecture spec (residual blocks with shortcut weights): "
                                                "with --transform dks|tat, instead of --activation/--depth")
    p.add_argument("--json", action="store_true", help="print machine-readable JSON")
    p.set_defaults(func=cmd_recommend, reads_spec=True)
    return p


def _clean(value):
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str | int):
        return value
    try:
        f = float(value)
    except (TypeError, ValueError):
        return str(value)
    return f if math.isfinite(f) else None


def chain_flags_typed(command_line: str) -> list[str]:
    """The :data:`CHAIN_FLAGS` typed on ``command_line`` (exact, or as the abbreviation argparse resolves)."""
    found = []
    for tok in command_line.split():
        if not tok.startswith("--") or len(tok) < 3:
            continue
        name = tok.split("=", 1)[0]
        hits = [f for f in _ALL_FLAGS if f == name] or [f for f in _ALL_FLAGS if f.startswith(name)]
        if len(hits) == 1 and hits[0] in CHAIN_FLAGS:
            found.append(hits[0])
    return sorted(set(found))


def check_args(args, *, allow_spec: bool = False):
    """Refuse bad flag values (CLIError, exit 2); ``allow_spec``: whether ``--spec`` is accepted (``plot
    recommend`` draws plain chains only)."""
    from .cli_output import CLIError

    if args.spec is not None:
        _check_spec(args, allow_spec)
    if args.depth < 1:
        raise CLIError(f"--depth must be an integer >= 1, got {args.depth}")
    if args.weights not in ("gaussian", "orthogonal"):
        raise CLIError(f"--weights must be gaussian or orthogonal, got {args.weights!r}")
    if args.transform == "dks" and not args.zeta > 1:
        raise CLIError(f"--zeta must be > 1 (the network's maximal C'(1)), got {args.zeta}")
    if args.transform == "tat" and not args.tau > 0:
        raise CLIError(f"--tau must be > 0 (the network's C''(1)), got {args.tau}")
    if args.transform == "tat" and not 0 <= args.eta < 1:
        raise CLIError(f"--eta must lie in [0, 1) (the network's C(0)), got {args.eta}")
    if not (math.isfinite(args.min_curvature) and args.min_curvature >= 0):
        raise CLIError(f"--min-curvature must be finite and >= 0, got {args.min_curvature}")
    _check_design(args)


def _check_spec(args, allow_spec):
    from .cli_output import CLIError

    if not allow_spec:
        raise CLIError("'plot recommend' draws plain chains only (--activation/--depth); for a spec use "
                       "'spectral recommend --spec FILE --transform dks|tat'")
    if args.transform is None:
        raise CLIError("--spec needs --transform dks or tat: the spectral recommender (sigma_w2, sigma_b2) "
                       "covers plain chains only (--activation/--depth)")
    bad = chain_flags_typed(getattr(args, "command_line", ""))
    if bad:
        raise CLIError(f"--spec fixes the architecture and its activation; drop {', '.join(bad)} (or drop --spec)")


def _check_design(args):
    """The design-variable flags: --min-c0, --vary-slope, --with-outlier."""
    from .cli_output import CLIError

    if not 0 <= args.min_c0 < 1:
        raise CLIError(f"--min-c0 must lie in [0, 1) (the network's C map at 0), got {args.min_c0}")
    if args.vary_slope and (args.transform is not None or not args.activation.startswith("leaky_relu")):
        raise CLIError(f"--vary-slope recommends the slope of leaky_relu (no --transform); got --activation "
                       f"{args.activation}" + (f" --transform {args.transform}" if args.transform else ""))
    if args.with_outlier and (args.objective != "condition" or args.transform is not None):
        raise CLIError("--with-outlier applies to --objective condition of the spectral recommender only (the "
                       "outlier is one eigenvalue of N: it changes no other objective)")


def _fmt(value) -> str:
    if value is None:
        return "-"
    v = float(value)
    if not math.isfinite(v):
        return "inf" if v > 0 else "nan"
    return f"{v:.6g}"


def _defaults_table(rows) -> str:
    head = ("default", "weights", "sigma_w2", "sigma_b2", "m1", "spread", "lambda_max", "condition", "outlier",
            "condition_with_outlier")
    lines = [head]
    for r in rows:
        if "error" in r:
            lines.append((r["label"], "-", "-", "-", "-", "-", "-", r["error"][:60], "-", "-"))
            continue
        cells = [_fmt(r.get(k)) for k in head[2:]]
        if r.get("certified") is False:  # quantiles of an uncertified density: marked, never shown as plain
            cells[5] += " (uncertified)"
            cells[7] += " (uncertified)"
        lines.append((r["label"], r["weights"], *cells))
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(head))]
    return "\n".join("  " + "  ".join(f"{str(c):<{w}}" for c, w in zip(line, widths, strict=True)) for line in lines)


def cmd_recommend(args) -> int:
    """Run ``spectral recommend``; return the exit status (0, or 3 when the spectrum is not certified)."""
    from .cli_output import table
    from .recommendation import recommend

    check_args(args, allow_spec=True)
    if args.spec is not None:
        import warnings

        from .architecture import load_spec
        from .recommend_spec import NotFreeWarning

        with warnings.catch_warnings():  # carried by the note and the exit status 3 below
            warnings.simplefilter("ignore", NotFreeWarning)
            rec = recommend(spec=load_spec(args.spec), transform=args.transform, zeta=args.zeta, tau=args.tau,
                            eta=args.eta, edges=EDGES[args.edges], objective=args.objective)
    else:
        rec = recommend(args.activation, depth=args.depth, weights=args.weights, objective=args.objective,
                        transform=args.transform, zeta=args.zeta, tau=args.tau, eta=args.eta,
                        min_curvature=args.min_curvature, edges=EDGES[args.edges], vary_slope=args.vary_slope,
                        min_c0=args.min_c0, with_outlier=args.with_outlier)
    payload = rec.to_dict()
    if args.json:
        print(json.dumps(_clean(payload), indent=2))
        return _status(rec)
    s = rec.summary
    rows = [("method", rec.method), ("activation", rec.activation.name), ("weights", s.weights),
            ("depth" if args.spec is None else "nonlinear layers", s.depth)]
    if args.spec is not None:
        rows += [("spec", args.spec), ("residual blocks", payload["residual_blocks"])]
        rows += [(f"network {k} (through the spec)", "-" if v is None else v)
                 for k, v in payload["network_maps"].items()]
        rows += [("changed to the DKS/TAT form", c) for c in payload["changes"]]
    rows += list(rec.parameters.items())
    spec = [("m1", s.m1), ("spread v = m2/m1^2 - 1", s.spread),
            ("lambda_max", "-" if s.lambda_max is None else s.lambda_max),
            ("condition x_0.99/x_0.01", "-" if s.condition is None else s.condition),
            ("length-mode outlier (eigenvalue)", "none" if s.outlier is None else s.outlier),
            ("condition with the outlier", "-" if s.condition_with_outlier is None else s.condition_with_outlier)]
    spec += [("note", n) for n in s.notes]
    out = [table(rows, "recommendation"), table(spec, "spectrum of J J^T"),
           table([("objective", rec.objective), ("best means", rec.definition)], "objective"),
           ("defaults (same activation and depth)" if args.spec is None else "defaults (the spec as given, and each "
            "default on its dense layers; untransformed activation)") + "\n" + "-" * 36 + "\n"
           + _defaults_table(payload["defaults"])]
    print("\n".join(out))
    return _status(rec)


def _status(rec) -> int:
    """0, or 3 with ``NOT CERTIFIED: <reason>`` on stderr when the spectrum reported is not certified (a spec
    whose law is not exact: :mod:`spectral.recommend_spec`)."""
    import sys

    from .cli_output import EXIT_UNCERTIFIED

    reasons = [n for n in rec.summary.notes if n.startswith("NOT CERTIFIED")]
    for reason in reasons:
        print(reason, file=sys.stderr)
    return EXIT_UNCERTIFIED if reasons else 0
