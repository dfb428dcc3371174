r"""Spelled activations: ``"leaky_relu(0.1)"``, ``"elu(alpha=1/2)"``, aliases, lists ``"tanh,relu"``, and the
transformed spellings ``transformed(...)``, ``dks(...)``, ``tat(...)``; parameters are parsed strictly, never
evaluated (:mod:`spectral.parsing`)."""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Any

from .base import Activation
from .builtin import ACTIVATIONS

#: Alternative names.
ALIASES = {"silu": "swish", "hardtanh": "hard_tanh", "leakyrelu": "leaky_relu", "identity": "linear",
           "logistic": "sigmoid"}

_PARAMS = {"leaky_relu": ("alpha",), "elu": ("alpha",), "erf": ("b",), "softplus": ("beta",)}
_SPEC_RE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_\-]*)\s*(?:\((.*)\))?\s*$")


def _allowed() -> str:
    return ", ".join(list(ACTIVATIONS) + [f"{a} (= {b})" for a, b in ALIASES.items()]
                     + [f"{k}(...)" for k in TRANSFORM_SPELLINGS])


def _parse_number(text, pname):
    """A parameter of a spelled activation: exact for decimals and ratios ("0.1", "1/10" -> Fraction), a float
    for irrational values ("sqrt(2)/2"); parsed strictly, never evaluated (:mod:`spectral.parsing`)."""
    from ..parsing import parse_exact, parse_real

    value = parse_exact(text.strip(), pname)
    return value if isinstance(value, Fraction) else parse_real(text.strip(), pname)


def split_activations(text: str) -> list:
    """Split a list of activation specs, ``"tanh,relu,leaky_relu(0.1)"``, at the commas outside parentheses."""
    parts, level, cur = [], 0, ""
    for ch in str(text):
        level += (ch == "(") - (ch == ")")
        if ch == "," and level == 0:
            parts.append(cur.strip())
            cur = ""
        else:
            cur += ch
    parts.append(cur.strip())
    return [p for p in parts if p]


def _from_name(spec: str, params: dict) -> Activation:
    m = _SPEC_RE.match(spec)
    if not m:
        raise ValueError(f"cannot parse activation {spec!r}; allowed: {_allowed()}; e.g. 'leaky_relu(0.1)'")
    key = m.group(1).lower().replace("-", "_")
    key = ALIASES.get(key, key)
    if key in TRANSFORM_SPELLINGS:
        return _from_transform_spelling(key, m.group(2) or "", params)
    if key not in ACTIVATIONS:
        raise ValueError(f"unknown activation {m.group(1)!r}; allowed: {_allowed()}")
    allowed = _PARAMS.get(key, ())
    parsed: dict = {}
    if m.group(2) is not None and m.group(2).strip():
        for i, part in enumerate(m.group(2).split(",")):
            if "=" in part:
                k, v = (s.strip() for s in part.split("=", 1))
            else:
                if i >= len(allowed):
                    raise ValueError(f"activation {key!r} takes parameters {allowed or 'none'}, got {spec!r}")
                k, v = allowed[i], part
            parsed[k] = _parse_number(v, k)
    dup = set(parsed) & set(params)
    if dup:
        raise ValueError(f"parameter(s) {sorted(dup)} given both in {spec!r} and as keywords")
    parsed.update(params)
    bad = set(parsed) - set(allowed)
    if bad:
        raise ValueError(f"activation {key!r} takes parameters {allowed or '(none)'}, got {sorted(bad)}")
    return ACTIVATIONS[key](**parsed)


#: Spellings of transformed activations :math:`\hat\phi(x) = \gamma(\phi(\alpha x + \beta) + \delta)`:
#: ``transformed(tanh, input_scale=0.5, input_shift=0.1, output_scale=2, output_shift=-0.1)`` with given
#: parameters; ``dks(softplus, zeta=1.5, depth=100)`` and ``tat(tanh, tau=0.3, depth=100)`` /
#: ``tat(leaky_relu, eta=0.9, depth=100)`` solved by :mod:`spectral.transforms` for a plain chain of ``depth``
#: nonlinear layers (the local targets depend on the depth, so it is required).
TRANSFORM_SPELLINGS = ("transformed", "dks", "tat")
_AFFINE_KEYS = ("input_scale", "input_shift", "output_scale", "output_shift")
_TRANSFORM_EXAMPLES = {"transformed": "transformed(tanh, input_scale=0.5, output_scale=2)",
                       "dks": "dks(softplus, zeta=1.5, depth=100)", "tat": "tat(tanh, tau=0.3, depth=100)"}


def _split_top(text: str) -> list[str]:
    """Split at the commas outside parentheses: ``"leaky_relu(0.1), zeta=1.5"`` -> two parts."""
    parts, depth = [], 0
    cur: list[str] = []
    for ch in text:
        if ch == "," and depth == 0:
            parts.append("".join(cur).strip())
            cur = []
            continue
        depth += (ch == "(") - (ch == ")")
        cur.append(ch)
    parts.append("".join(cur).strip())
    return [p for p in parts if p]


def _from_transform_spelling(key: str, argtext: str, params: dict) -> Activation:
    parts = _split_top(argtext)
    example = _TRANSFORM_EXAMPLES[key]
    if not parts or "=" in parts[0].split("(")[0]:
        raise ValueError(f"{key}(...) needs the base activation first, e.g. {example}")
    kwargs: dict = {}
    for part in parts[1:]:
        if "=" not in part:
            raise ValueError(f"{key}(...) takes the base activation then keyword parameters, e.g. {example}; "
                             f"got {part!r}")
        k, v = (s.strip() for s in part.split("=", 1))
        val = _parse_number(v, k)
        kwargs[k] = int(val) if k == "depth" and isinstance(val, Fraction) and val.denominator == 1 else val
    dup = set(kwargs) & set(params)
    if dup:
        raise ValueError(f"parameter(s) {sorted(dup)} given both in the spelling and as keywords")
    kwargs.update(params)
    if key == "transformed":
        bad = set(kwargs) - set(_AFFINE_KEYS)
        if bad:
            raise ValueError(f"transformed(...) takes parameters {_AFFINE_KEYS}, got {sorted(bad)}; e.g. {example}")
    from .. import transforms  # builds and solves transformed activations; imports this module

    if key == "transformed":
        affine: dict[str, Any] = {k: float(v) for k, v in kwargs.items()}  # only _AFFINE_KEYS (checked above)
        return transforms.transform_activation(parts[0], **affine)
    return getattr(transforms, key)(parts[0], **kwargs).activation
