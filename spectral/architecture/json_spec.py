"""The JSON spec format of a network, read and written.

An object with ``"input_q"`` (mean square of the input coordinates; default 1), optional ``"width"`` (input
width, for sampling) and ``"layers"``, a list whose entries each have exactly one key::

    {"dense": {"weights": "gaussian" | "orthogonal", "sigma_w2": s, "sigma_b2": b (default 0), "width": n}}
    {"conv": {"weights": "gaussian" | "delta_orthogonal", "sigma_w2": s, "sigma_b2": b (default 0),
              "channels": c, "kernel": k, "spatial": n}}
                                                 (circular 1-D convolution on width c * n, 1 <= k <= n;
                                                 spectral.architecture.conv)
    {"activation": "tanh"}                       (any spelling spectral.activations.activation reads)
    {"residual": {"alpha": a (default 1), "beta": b, "branch": [entries]}}
    {"layernorm": {}}    {"rmsnorm": {}}
    {"repeat": {"times": k, "layers": [entries]}}

Numbers may be JSON numbers or exact strings (``"21/20"``, read by :func:`spectral.parsing.parse_exact`).
Every error is a :class:`~spectral.architecture.meanfield.SpecError` naming the entry by its path
(``layers[1].repeat.layers[0]``).
"""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

from .layers import Conv, Dense, LayerNorm, Nonlinearity, Repeat, Residual, RMSNorm, Sequential
from .meanfield import SpecError

__all__ = ["spec_from_json", "spec_to_json", "load_spec", "ENTRY_KEYS"]

#: allowed keys of each entry kind (the value of "activation" is a string, of the norms an empty object)
ENTRY_KEYS = {
    "dense": ({"weights", "sigma_w2"}, {"sigma_b2", "width"}),
    "conv": ({"weights", "sigma_w2", "channels", "kernel", "spatial"}, {"sigma_b2"}),
    "residual": ({"beta", "branch"}, {"alpha"}),
    "repeat": ({"times", "layers"}, set()),
    "layernorm": (set(), set()),
    "rmsnorm": (set(), set()),
    "activation": None,
}
_TOP_KEYS = ({"layers"}, {"input_q", "width"})


def _keys(obj, path, required, optional):
    if not isinstance(obj, dict):
        raise SpecError(path, f"expected a JSON object, got {type(obj).__name__} {obj!r}")
    unknown = set(obj) - required - optional
    if unknown:
        allowed = ", ".join(sorted(required | optional)) or "none"
        raise SpecError(path, f"unknown key(s) {', '.join(sorted(map(str, unknown)))} (allowed: {allowed})")
    missing = required - set(obj)
    if missing:
        raise SpecError(path, f"missing key(s) {', '.join(sorted(missing))}")


def _build(path, fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except SpecError:
        raise
    except (TypeError, ValueError) as exc:
        raise SpecError(path, str(exc)) from None


def _entries(seq, path):
    if not isinstance(seq, list):
        raise SpecError(path, f"expected a list of entries, got {type(seq).__name__} {seq!r}")
    if not seq:
        raise SpecError(path, "the list of entries is empty")
    return [_entry(e, f"{path}[{i}]") for i, e in enumerate(seq)]


def _entry(obj, path):
    if not isinstance(obj, dict) or len(obj) != 1:
        raise SpecError(path, f"an entry is an object with exactly one key ({', '.join(ENTRY_KEYS)}), got {obj!r}")
    (kind, body), = obj.items()
    if kind not in ENTRY_KEYS:
        raise SpecError(path, f"unknown entry {kind!r} (allowed: {', '.join(ENTRY_KEYS)})")
    where = f"{path}.{kind}"
    if kind == "activation":
        return _build(where, Nonlinearity, body)
    _keys(body, where, *ENTRY_KEYS[kind])
    if kind == "dense":
        return _build(where, Dense, body["weights"], body["sigma_w2"], body.get("sigma_b2", 0.0), body.get("width"))
    if kind == "conv":
        return _build(where, Conv, body["weights"], body["sigma_w2"], body.get("sigma_b2", 0.0), body["channels"],
                      body["kernel"], body["spatial"])
    if kind == "layernorm":
        return LayerNorm()
    if kind == "rmsnorm":
        return RMSNorm()
    if kind == "residual":
        branch = _entries(body["branch"], f"{where}.branch")
        return _build(where, Residual, branch, body.get("alpha", 1.0), body["beta"])
    layers = _entries(body["layers"], f"{where}.layers")
    return _build(where, Repeat, body["times"], layers)


def spec_from_json(obj) -> Sequential:
    """A :class:`Sequential` from a JSON object (dict) or JSON text; errors name the entry's path."""
    if isinstance(obj, str):
        try:
            obj = json.loads(obj)
        except json.JSONDecodeError as exc:
            raise SpecError("spec", f"not valid JSON: {exc}") from None
    _keys(obj, "spec", *_TOP_KEYS)
    layers = _entries(obj["layers"], "layers")
    return _build("spec", Sequential, layers, obj.get("input_q", 1.0), obj.get("width"))


def load_spec(path) -> Sequential:
    """Read a JSON spec file (:func:`spec_from_json`)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError("spec", f"cannot read {str(p)!r}: {exc.strerror or exc}") from None
    return spec_from_json(text)


def _num(x):
    if isinstance(x, Fraction):
        return str(x) if x.denominator != 1 else int(x)
    return x


def _dump(e) -> dict:
    if isinstance(e, Dense):
        body = {"weights": e.weights, "sigma_w2": _num(e.sigma_w2), "sigma_b2": _num(e.sigma_b2)}
        if e.width is not None:
            body["width"] = e.width
        return {"dense": body}
    if isinstance(e, Conv):
        return {"conv": {"weights": e.weights, "sigma_w2": _num(e.sigma_w2), "sigma_b2": _num(e.sigma_b2),
                         "channels": e.channels, "kernel": e.kernel, "spatial": e.spatial}}
    if isinstance(e, Nonlinearity):
        return {"activation": e.activation.name}
    if isinstance(e, LayerNorm):
        return {"layernorm": {}}
    if isinstance(e, RMSNorm):
        return {"rmsnorm": {}}
    if isinstance(e, Residual):
        return {"residual": {"alpha": _num(e.alpha), "beta": _num(e.beta), "branch": [_dump(x) for x in e.branch]}}
    if isinstance(e, Repeat):
        return {"repeat": {"times": e.times, "layers": [_dump(x) for x in e.layers]}}
    raise TypeError(f"not a spec entry: {e!r}")  # pragma: no cover - entries are validated on construction


def spec_to_json(spec: Sequential) -> dict:
    """The JSON object of ``spec`` (``json.dumps`` it to write a file); :func:`spec_from_json` reads it back
    equal (custom activations, known only by their functions, cannot be written)."""
    if not isinstance(spec, Sequential):
        raise TypeError(f"spec must be a spectral.Sequential, got {type(spec).__name__}")
    for e in _walk(spec.layers):
        if isinstance(e, Nonlinearity) and e.activation.family == "custom":
            raise ValueError(f"activation {e.activation.name!r} is custom (a Python function): it has no JSON form")
    out = {"input_q": _num(spec.input_q), "layers": [_dump(e) for e in spec.layers]}
    if spec.width is not None:
        out["width"] = spec.width
    return out


def _walk(entries):
    for e in entries:
        yield e
        if isinstance(e, Repeat):
            yield from _walk(e.layers)
        elif isinstance(e, Residual):
            yield from _walk(e.branch)
