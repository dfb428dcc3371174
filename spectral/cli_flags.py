"""argparse types of the command line: every number typed is read by :mod:`spectral.parsing`, never evaluated.

Each type raises :class:`argparse.ArgumentTypeError`, which the parser prints as one line naming the flag
(exit status 2).
"""

from __future__ import annotations

import argparse

from .parsing import parse_depth, parse_exact, parse_real

__all__ = ["MAX_SYMBOLIC_DEPTH", "real_flag", "int_flag", "exact_flag", "symbolic_depth", "probability"]

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
