r"""The predicted law of :math:`J J^T` for a JSON architecture spec: the one place where a spec becomes a law.

Plain chains (``dense`` entries, each followed by at most one ``activation``; ``repeat`` expanded) map onto a
per-layer :class:`spectral.Network`: a ``dense`` entry and the activation after it form one
:class:`spectral.Layer` :math:`x \mapsto \phi(W x + b)` (a ``dense`` entry without activation gets the linear
one), so any per-layer :math:`\sigma_w^2, \sigma_b^2`, widths and Gaussian or orthogonal weights are kept.
The first layer's pre-activation variance follows from the spec's per-coordinate input mean square
:math:`q_{in}`: :math:`q^1 = \sigma_{w,1}^2 \rho_1 q_{in} + \sigma_{b,1}^2` (:math:`\rho_1` of
:func:`spectral.product.variance_factor`), and the q-map carries it on.

Specs with residual and normalization entries go through the general spec engine :mod:`spectral.architecture`
(:func:`spectral.spec_from_json`, then :func:`spectral.jacobian_law`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..product import Layer, Network, jacobian_law, variance_factor

__all__ = ["Prediction", "predict", "plain_network"]

_NEEDS_ARCHITECTURE = "not a plain chain (read by spectral.architecture)"


@dataclass(frozen=True)
class Prediction:
    """``law`` (moments, density, lambda_max) and ``network``: the :class:`spectral.Network` of a plain
    chain (for finite-width bands and outliers), None for specs read by :mod:`spectral.architecture`, whose
    :class:`spectral.Sequential` is ``spec`` (sampled for their finite-width band)."""

    law: Any
    network: Network | None
    #: the architecture spec (:class:`spectral.Sequential`) of a spec that is not a plain chain, else None
    spec: Any = None


def _expand(entries, path):
    """Entries with ``repeat`` blocks expanded, each with its path in the spec."""
    for i, entry in enumerate(entries):
        where = f"{path}[{i}]"
        if not isinstance(entry, dict) or len(entry) != 1:
            raise ValueError(f"{where}: a spec entry is an object with exactly one key, got {entry!r}")
        (key, value), = entry.items()
        if key == "repeat":
            times = value.get("times") if isinstance(value, dict) else None
            if isinstance(times, bool) or not isinstance(times, int) or times < 1:
                raise ValueError(f"{where}.repeat.times must be an integer >= 1, got {times!r}")
            for _ in range(times):
                yield from _expand(value.get("layers", []), f"{where}.repeat.layers")
        else:
            yield where, key, value


def plain_network(spec: dict) -> Network:
    """The :class:`spectral.Network` of a plain-chain spec (see the module docstring); NotImplementedError
    naming the first entry that is not ``dense``/``activation`` or an activation that does not follow a
    ``dense`` entry."""
    layers_in = spec.get("layers")
    if not isinstance(layers_in, list) or not layers_in:
        raise ValueError("spec['layers'] must be a non-empty list of entries")
    rows: list[dict] = []
    for where, key, value in _expand(layers_in, "layers"):
        if key == "dense":
            rows.append({"dense": value, "activation": "linear", "where": where})
        elif key == "activation":
            if not rows or rows[-1]["activation"] != "linear" or rows[-1].get("act_where"):
                raise NotImplementedError(f"{where}: an activation that does not directly follow a dense entry is "
                                          f"not a plain chain; {_NEEDS_ARCHITECTURE}")
            rows[-1]["activation"] = value
            rows[-1]["act_where"] = where
        elif key in ("residual", "layernorm", "rmsnorm"):
            raise NotImplementedError(f"{where}: {key} entry; {_NEEDS_ARCHITECTURE}")
        else:
            raise ValueError(f"{where}: unknown spec entry {key!r} (dense, activation, residual, layernorm, "
                             "rmsnorm, repeat)")
    layers = []
    for row in rows:
        d = row["dense"]
        if not isinstance(d, dict):
            raise ValueError(f"{row['where']}.dense must be an object, got {d!r}")
        layers.append(Layer(row["activation"], d.get("weights", "gaussian"), d["sigma_w2"], d.get("sigma_b2", 0.0),
                            width=d.get("width")))
    n0 = spec.get("width")
    if n0 is None:
        n0 = layers[0].width
    first = layers[0]
    rho = variance_factor(first.weights, n0, first.width if first.width is not None else n0)
    q1 = float(first.sigma_w2) * float(rho) * float(spec.get("input_q", 1.0)) + float(first.sigma_b2)
    return Network(layers=tuple(layers), width=n0, q0=q1)


def predict(spec: dict) -> Prediction:
    """The law of :math:`J J^T` for a JSON spec (see the module docstring)."""
    if not isinstance(spec, dict):
        raise TypeError(f"spec must be a dict in the JSON spec format, got {type(spec).__name__}")
    try:
        net = plain_network(spec)
    except NotImplementedError:
        from ..architecture import spec_from_json

        arch = spec_from_json(spec)
        return Prediction(law=jacobian_law(arch), network=None, spec=arch)
    return Prediction(law=jacobian_law(net), network=net)
