"""argparse types of the command line: every number typed is read by :mod:`spectral.parsing`, never evaluated.

Each type raises :class:`argparse.ArgumentTypeError`, which the parser prints as one line naming the flag
(exit status 2).
"""

from __future__ import annotations

import argparse

from . import limits
from .parsing import parse_depth, parse_exact, parse_real

__all__ = ["MAX_SYMBOLIC_DEPTH", "real_flag", "int_flag", "exact_flag", "symbolic_depth", "probability", "check_limits",
           "add_spec_flag"]

#: Largest integer depth of ``symbolic``: the physical-sheet check of the edges runs in double precision and
#: the scale sigma_w^(2L) leaves the float range beyond about 1000 layers (relu/orthogonal at sigma_w2 = 1.05
#: fails from L = 1200); the cost grows with L too (leaky_relu/Gaussian at L = 1000 takes minutes).  A
#: symbolic depth (``--depth L``) covers any depth.
MAX_SYMBOLIC_DEPTH = 1000


def real_flag(flag: str, *, minimum: float | None = None, positive: bool = False):
    """argparse type: a finite real number read by :func:`spectral.parsing.parse_real`."""
    def parse(text):
        try:
            v = parse_real(text, flag)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc).replace(f"{flag}=", "", 1)) from None
        if positive and v <= 0:
            raise argparse.ArgumentTypeError(f"must be > 0, got {text!r}")
        if minimum is not None and v < minimum:
            raise argparse.ArgumentTypeError(f"must be >= {minimum:g}, got {text!r}")
        return v

    parse.__name__ = "number"
    return parse


def int_flag(flag: str, *, minimum: int = 1, maximum: int | None = None):
    """argparse type: an integer in [minimum, maximum] written with digits."""
    def parse(text):
        t = str(text).strip()
        body = t[1:] if t[:1] in "+-" else t
        if not body.isdigit() or not body.isascii() or len(body) > 20:
            raise argparse.ArgumentTypeError(f"must be an integer >= {minimum}, got {text!r}")
        v = int(t)
        if v < minimum or (maximum is not None and v > maximum):
            rng = f">= {minimum}" if maximum is None else f"in [{minimum}, {maximum}]"
            raise argparse.ArgumentTypeError(f"must be an integer {rng}, got {text!r}")
        return v

    parse.__name__ = "integer"
    return parse


def exact_flag(flag: str):
    """argparse type for the symbolic engine: the text is kept and later read by the strict parser; checked
    here so that a bad value is refused naming the flag."""
    def parse(text):
        try:
            parse_exact(text, flag, symbols=True)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc).replace(f"{flag}=", "", 1)) from None
        return text

    parse.__name__ = "exact value"
    return parse


def symbolic_depth(text):
    """argparse type of ``symbolic --depth``: digits up to :data:`MAX_SYMBOLIC_DEPTH` or a symbol name (L)."""
    try:
        return parse_depth(text, "--depth", maximum=MAX_SYMBOLIC_DEPTH)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc).replace("--depth ", "", 1)) from None


def probability(text):
    """argparse type of ``symbolic --p``: a probability in (0, 1] (kept as typed, read exactly later) or auto."""
    if str(text).strip() == "auto":
        return "auto"
    try:
        v = parse_real(text, "--p")
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc).replace("--p=", "", 1) + ", or auto") from None
    if not 0 < v <= 1:
        raise argparse.ArgumentTypeError(f"must be a probability in (0, 1] or auto, got {text!r}")
    return text


def add_spec_flag(p: argparse.ArgumentParser) -> None:
    """``--spec FILE``: a JSON network spec (residual blocks, normalisations; spectral.architecture.json_spec)
    instead of the network flags (giving both is refused)."""
    p.add_argument("--spec", default=None, metavar="FILE",
                   help="JSON network spec (layers: dense, conv, activation, residual, layernorm, rmsnorm, repeat) "
                        "replacing the network flags")


# ------------------------------------------------------------------------------------------- limits
def check_limits(args) -> None:
    """The caps of :mod:`spectral.limits` that involve several flags, checked before any computation;
    raises ValueError naming the flags and the allowed range (exit status 2).  A long sampling run is
    announced on stderr and gets a progress bar (``args.progress``)."""
    command = getattr(args, "command", None)
    if command == "moments":
        _check_moments(args)
    depths = _density_depths(args)
    if depths and max(depths) > limits.MAX_DENSITY_DEPTH:
        flag = "--depths" if command == "plot" and args.kind in ("spectrum", "depth") else "--depth"
        raise ValueError(f"{flag} must be <= {limits.MAX_DENSITY_DEPTH:,} for a density (its cost grows with depth), "
                         f"got {max(depths)}; moments take --depth up to {limits.MAX_DEPTH:,}")
    if command in ("validate", "sample", "demo") or (command == "plot" and args.kind in ("validation",
                                                                                       "spectrum")):
        _check_sampling(args)


def _density_depths(args) -> tuple:
    """The depths at which the command solves for a density (none for moments, meanfield, sample)."""
    command = getattr(args, "command", None)
    if command in ("density", "demo", "validate"):
        return (args.depth,)
    if command == "plot" and args.kind in ("spectrum", "depth"):
        return tuple(args.depths or ())
    if command == "plot" and args.kind == "validation":
        return (args.depth,)
    return ()


def _check_moments(args) -> None:
    k, depth = args.k, args.depth
    if args.exact or args.precision is not None:
        how = "--exact" if args.exact else "--precision"
        if k > limits.MAX_K_EXACT:
            raise ValueError(f"--k must be <= {limits.MAX_K_EXACT} with {how} (k^2 operations on growing "
                             f"numbers), got {k}; drop {how} for float moments up to --k {limits.MAX_K}")
    if args.exact and k * depth > limits.MAX_EXACT_K_DEPTH:
        raise ValueError(f"--exact: --k x --depth must be <= {limits.MAX_EXACT_K_DEPTH:,} (the rationals carry about "
                         f"k L digits), got {k} x {depth}; use --precision DIGITS or float moments")
    if args.precision is not None and limits.quadrature_activation(args.activation):
        p = args.precision
        if p > limits.MAX_QUADRATURE_PRECISION or k * p > limits.MAX_QUADRATURE_K_PRECISION:
            raise ValueError(f"--precision: {args.activation} needs one mpmath quadrature per moment, so --precision "
                             f"must be <= {limits.MAX_QUADRATURE_PRECISION} and --k x --precision <= "
                             f"{limits.MAX_QUADRATURE_K_PRECISION}, got {k} x {p}; closed-form activations (relu, "
                             f"hard_tanh, erf, sin, ...) allow up to {limits.MAX_PRECISION} digits")
    if not args.exact and args.precision is None:
        limits.check_series_memory(k, "--k")


def _check_sampling(args) -> None:
    width = args.width if args.width is not None else (256 if getattr(args, "kind", None) == "validation" else None)
    if width is None:  # plot spectrum without an overlay of sampled networks
        return
    depths = args.depths or (2, 8, 32, 128) if getattr(args, "kind", None) == "spectrum" else (args.depth,)
    weights = str(getattr(args, "weights", None) or "orthogonal")
    samples = args.samples
    limits.check_width_memory(width, samples, names=("--width", "--samples"))
    stable = {"yes": True, "no": False}.get(getattr(args, "stable", "auto"))
    seconds = sum(limits.sampling_seconds(width, d, samples, weights, stable) for d in depths)
    if seconds > limits.MAX_SAMPLING_SECONDS and not _on_gpu(args.backend):
        fits = int(width * (limits.MAX_SAMPLING_SECONDS / seconds) ** (1 / 3))
        raise ValueError(f"--width {width} with --samples {samples} and --depth {max(depths)} would take about "
                         f"{_duration(seconds)} on this machine's CPUs (estimated: width^3 x depth x samples), over "
                         f"the {_duration(limits.MAX_SAMPLING_SECONDS)} a command may take; at these --samples and "
                         f"--depth use --width <= {fits}, or --backend cupy on a GPU, or spectral.validate in Python")
    args.progress = True if seconds > limits.LONG_RUN_SECONDS else None
    if args.progress:
        import sys

        print(f"spectral {args.command}: sampling takes about {_duration(seconds)} here (estimated); progress is "
              "shown below; Ctrl-C stops it (exit status 130)", file=sys.stderr)


def _on_gpu(backend: str) -> bool:
    """Whether sampling runs on a GPU (the time estimate is for CPUs)."""
    if backend == "numpy":
        return False
    from ._backend import get_backend

    try:
        return bool(get_backend(backend).is_gpu)
    except (ImportError, RuntimeError, ValueError):  # cupy asked for but absent: the command says so itself
        return backend == "cupy"


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
