r"""Reading a PyTorch model as it is initialized into a JSON architecture spec (docs/design.md, issue 13's format).

The model is walked module by module (``nn.Sequential`` and its nesting, in order); each supported module
becomes one spec entry and every weight is measured as it is:

* ``Linear``: ``{"dense": {"weights": "gaussian" | "orthogonal", "sigma_w2": s, "sigma_b2": b, "width": n}}``.
  For i.i.d. entries :math:`\sigma_w^2 = N_{in} \cdot \operatorname{mean}(W^2)` (PyTorch's default uniform
  init gives 1/3; any i.i.d. law with this variance has the Marchenko--Pastur limit of Gaussian weights, so
  ``"gaussian"`` stands for i.i.d. entries).  ``W`` is *orthogonal up to scale* when :math:`W W^T = c I`
  (:math:`N_{out} \le N_{in}`) or :math:`W^T W = c I` (widening), to within :data:`ORTHOGONAL_TOL`; then
  :math:`\sigma_w^2 = c` (the squared common singular value: ``torch.nn.init.orthogonal_(W, gain)`` gives
  :math:`c = \text{gain}^2`).  :math:`\sigma_b^2 = \operatorname{mean}(b^2)` (0 without bias).
* activations of the registry (:data:`ACTIVATION_NAMES`), with their parameters;
* ``LayerNorm`` / ``RMSNorm`` over the feature vector with the affine parameters at their initial values
  (weight 1, bias 0): ``{"layernorm": {}}`` / ``{"rmsnorm": {}}``;
* ``Identity`` and ``Dropout`` in eval mode (the identity): no entry;
* a registered residual class (:func:`register_residual`; :class:`spectral.torch.Residual` is registered):
  ``{"residual": {"alpha": a, "beta": b, "branch": [...]}}``.

Anything else (attention, BatchNorm, Dropout in training mode, a module reused in two places or sharing a
parameter, a module with its own ``forward`` around its children) has no spec entry: it is named in a
ValueError (``strict=True``) or listed in :attr:`ModelReading.unsupported` (``strict=False``); it is never
skipped silently.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import nn

__all__ = ["ModelReading", "read_model", "register_residual", "ORTHOGONAL_TOL", "ACTIVATION_NAMES",
           "UnsupportedLayerError"]

#: Largest max-norm deviation of :math:`W W^T/c` from the identity for W to count as orthogonal up to scale:
#: a float32 QR-based orthogonal init deviates by ~1e-6, i.i.d. weights by ~1/sqrt(N_in) >= 1e-2 for
#: N_in <= 10^4, so 1e-3 separates them with two decades on each side.
ORTHOGONAL_TOL = 1e-3
#: Softplus thresholds at or above this switch to the identity only where the difference
#: log(1 + e^x) - x < e^-20 ~ 2e-9 (below float32 resolution of the output), so they read as softplus.
_SOFTPLUS_MIN_THRESHOLD = 20.0
#: LayerNorm/RMSNorm affine parameters equal to 1 and 0 within this (their init values, exactly representable).
_AFFINE_TOL = 0.0

#: normalization classes with a spec entry (``nn.RMSNorm`` exists from torch 2.4)
_NORMS = tuple(c for c in (nn.LayerNorm, getattr(nn, "RMSNorm", None)) if c is not None)

#: torch activation classes and their registry names (parameters read in :func:`_activation_entry`).
ACTIVATION_NAMES = {
    nn.Tanh: "tanh", nn.ReLU: "relu", nn.LeakyReLU: "leaky_relu", nn.Hardtanh: "hard_tanh", nn.GELU: "gelu",
    nn.SiLU: "swish", nn.ELU: "elu", nn.SELU: "selu", nn.Softplus: "softplus", nn.Sigmoid: "sigmoid",
}


class UnsupportedLayerError(ValueError):
    """A module of the model has no spec entry (raised with ``strict=True``); ``unsupported`` lists them."""

    def __init__(self, unsupported: list):
        self.unsupported = list(unsupported)
        first = ", ".join(f"{u['path']} ({u['type']}: {u['reason']})" for u in self.unsupported[:3])
        more = f" and {len(self.unsupported) - 3} more" if len(self.unsupported) > 3 else ""
        super().__init__(f"model has modules spectral cannot map: {first}{more}; pass strict=False to list them "
                         "in the report and measure the model without a prediction")


@dataclass
class ModelReading:
    """The spec read from a model: ``spec`` (the JSON spec dict), ``weights`` (one record per ``Linear``:
    ``path, n_in, n_out, sigma_w2, orthogonal, orthogonal_deviation, sigma_b2``) and ``unsupported`` (records
    ``path, type, reason``)."""

    spec: dict
    weights: list = field(default_factory=list)
    unsupported: list = field(default_factory=list)


# ------------------------------------------------------------------ residual registry
#: class -> function(module) -> (branch module, alpha, beta); filled by :func:`register_residual`.
_RESIDUALS: dict = {}


def register_residual(cls, branch="branch", alpha="alpha", beta="beta") -> None:
    r"""Declare that modules of class ``cls`` compute :math:`\alpha x + \beta\,\text{branch}(x)`.

    ``branch``, ``alpha``, ``beta``: attribute names on the module, or for ``alpha``/``beta`` fixed numbers
    (a class whose ``forward`` is ``x + self.block(x)`` is ``register_residual(MyBlock, "block", 1.0, 1.0)``).
    Only registered classes are read as residual blocks: the reader never guesses from a ``forward``.
    """
    if not isinstance(cls, type) or not issubclass(cls, nn.Module):
        raise TypeError(f"cls must be a torch.nn.Module subclass, got {cls!r}")
    if not isinstance(branch, str):
        raise TypeError(f"branch must be the attribute name of the branch module, got {branch!r}")

    def value(module, spec, name):
        v = getattr(module, spec) if isinstance(spec, str) else spec
        if isinstance(v, torch.Tensor) and v.numel() == 1:
            v = float(v)
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            raise ValueError(f"{name} of the residual class {cls.__name__} must be a finite number, got {v!r}")
        return float(v)

    _RESIDUALS[cls] = lambda m: (getattr(m, branch), value(m, alpha, "alpha"), value(m, beta, "beta"))


def _register_builtin() -> None:
    from spectral.torch import Residual

    register_residual(Residual)


_register_builtin()


# ------------------------------------------------------------------ weights
def weight_record(path: str, layer: nn.Linear) -> dict:
    """Empirical init statistics of one ``Linear`` (see the module docstring)."""
    w = layer.weight.detach().to(torch.float64)
    n_out, n_in = w.shape
    gram = w @ w.T if n_out <= n_in else w.T @ w
    k = gram.shape[0]
    c = float(torch.trace(gram)) / k
    dev = float(torch.max(torch.abs(gram / c - torch.eye(k, dtype=gram.dtype, device=gram.device)))) if c > 0 \
        else math.inf
    orthogonal = dev <= ORTHOGONAL_TOL and n_out * n_in > 1
    sigma_w2 = c if orthogonal else n_in * float(torch.mean(w * w))
    b = layer.bias
    sigma_b2 = 0.0 if b is None else float(torch.mean(b.detach().to(torch.float64) ** 2))
    return {"path": path, "n_in": int(n_in), "n_out": int(n_out), "sigma_w2": sigma_w2,
            "orthogonal": bool(orthogonal), "orthogonal_deviation": dev, "sigma_b2": sigma_b2}


# ------------------------------------------------------------------ modules
def _activation_entry(m):
    """(spec name, None) or (None, reason)."""
    name = ACTIVATION_NAMES[type(m)]
    if isinstance(m, nn.LeakyReLU):
        return f"leaky_relu({float(m.negative_slope)!r})", None
    if isinstance(m, nn.ELU):
        return (f"elu({float(m.alpha)!r})" if float(m.alpha) != 1.0 else "elu"), None
    if isinstance(m, nn.Hardtanh) and (float(m.min_val), float(m.max_val)) != (-1.0, 1.0):
        return None, f"Hardtanh(min_val={m.min_val}, max_val={m.max_val}): only the (-1, 1) hard tanh is known"
    if isinstance(m, nn.GELU) and m.approximate != "none":
        return None, f"GELU(approximate={m.approximate!r}): the registry's gelu is the exact erf form"
    if isinstance(m, nn.Softplus) and (float(m.beta) != 1.0 or float(m.threshold) < _SOFTPLUS_MIN_THRESHOLD):
        return None, f"Softplus(beta={m.beta}, threshold={m.threshold}): only beta=1, threshold>=20 is known"
    return name, None


def _affine_at_init(m) -> bool:
    w = getattr(m, "weight", None)
    b = getattr(m, "bias", None)
    ok = w is None or bool(torch.all(torch.abs(w.detach() - 1) <= _AFFINE_TOL))
    return ok and (b is None or bool(torch.all(torch.abs(b.detach()) <= _AFFINE_TOL)))


def _children_in_order(seq):
    """(name, module) of every position of an ``nn.Sequential``, repeats included (``named_children`` lists a
    module used twice only once, which would hide weight sharing); a repeat is named by its position."""
    names = {}
    for name, child in seq.named_children():
        names.setdefault(id(child), name)
    seen = set()
    for i, child in enumerate(seq):
        first = id(child) not in seen
        seen.add(id(child))
        yield (names[id(child)] if first else str(i)), child


class _Reader:
    """One walk over a model: entries, weight records, unsupported modules, and the running width."""

    def __init__(self, width: int):
        self.width = width
        self.weights: list = []
        self.unsupported: list = []
        self._seen_modules: dict = {}
        self._seen_params: dict = {}

    def skip(self, path, m, reason):
        self.unsupported.append({"path": path or "<model>", "type": type(m).__name__, "reason": reason})

    def shared(self, path, m) -> bool:
        """True (and recorded) when ``m`` or one of its parameters was already met elsewhere in the model."""
        if id(m) in self._seen_modules:
            self.skip(path, m, f"weight sharing: the same module is also used at {self._seen_modules[id(m)]}")
            return True
        self._seen_modules[id(m)] = path
        for p in m.parameters(recurse=False):
            if id(p) in self._seen_params:
                self.skip(path, m, f"weight sharing: a parameter is also used at {self._seen_params[id(p)]}")
                return True
            self._seen_params[id(p)] = path
        return False

    def sequence(self, modules, prefix) -> list:
        entries = []
        for name, m in modules:
            entries.extend(self.module(f"{prefix}{name}", m))
        return entries

    def module(self, path, m) -> list:
        if self.shared(path, m):
            return []
        if type(m) in _RESIDUALS:
            return self.residual(path, m)
        if isinstance(m, nn.Sequential) and type(m).forward is nn.Sequential.forward:
            return self.sequence(_children_in_order(m), f"{path}." if path else "")
        if isinstance(m, nn.Linear) and type(m).forward is nn.Linear.forward:
            return self.linear(path, m)
        if isinstance(m, _NORMS):
            return self.norm(path, m)
        return self.elementwise(path, m)

    def elementwise(self, path, m) -> list:
        """Activations, identities and dropout; anything else is recorded as unsupported."""
        if type(m) in ACTIVATION_NAMES:
            name, why = _activation_entry(m)
            if name is None:
                self.skip(path, m, why)
                return []
            return [{"activation": name}]
        if isinstance(m, nn.Identity) or (isinstance(m, nn.Dropout) and (not m.training or m.p == 0)):
            return []
        if isinstance(m, nn.Dropout):
            self.skip(path, m, "Dropout in training mode is random: call model.eval() first")
            return []
        reason = "no spec entry for this module"
        if list(m.children()):
            reason = ("a module with its own forward around its children (their composition is unknown): use "
                      "nn.Sequential, spectral.torch.Residual, or register_residual for a residual class")
        elif isinstance(m, nn.BatchNorm1d | nn.BatchNorm2d | nn.BatchNorm3d | nn.SyncBatchNorm):
            reason = "BatchNorm has no spec entry (normalization by batch statistics)"
        self.skip(path, m, reason)
        return []

    def linear(self, path, m) -> list:
        if self.width is not None and m.in_features != self.width:
            self.skip(path, m, f"in_features={m.in_features} does not match the incoming width {self.width}")
            self.width = m.out_features
            return []
        rec = weight_record(path, m)
        self.weights.append(rec)
        self.width = m.out_features
        return [{"dense": {"weights": "orthogonal" if rec["orthogonal"] else "gaussian",
                           "sigma_w2": rec["sigma_w2"], "sigma_b2": rec["sigma_b2"], "width": int(m.out_features)}}]

    def norm(self, path, m) -> list:
        shape = tuple(m.normalized_shape)
        if shape != (self.width,):
            self.skip(path, m, f"normalized_shape={shape} is not the feature vector ({self.width},)")
            return []
        if not _affine_at_init(m):
            self.skip(path, m, "affine parameters not at their initial values (weight 1, bias 0)")
            return []
        return [{"layernorm": {}} if isinstance(m, nn.LayerNorm) else {"rmsnorm": {}}]

    def residual(self, path, m) -> list:
        branch, alpha, beta = _RESIDUALS[type(m)](m)
        width_in = self.width
        inner = self.module(f"{path}.branch" if path else "branch", branch)
        if self.width != width_in:
            self.skip(path, m, f"residual branch maps width {width_in} to {self.width}")
            self.width = width_in
            return []
        return [{"residual": {"alpha": alpha, "beta": beta, "branch": inner}}]


def _flat_width(input_shape) -> int:
    shape = (input_shape,) if isinstance(input_shape, int) else tuple(input_shape)
    if len(shape) != 1 or isinstance(shape[0], bool) or not isinstance(shape[0], int) or shape[0] < 1:
        raise ValueError(f"input_shape must be (N,) with N >= 1 (one flat feature vector, e.g. (784,)), got "
                         f"{input_shape!r}")
    return int(shape[0])


def read_model(model, input_shape, *, strict: bool = True, input_q: float = 1.0) -> ModelReading:
    r"""Read ``model`` into a JSON spec (see the module docstring).

    Parameters
    ----------
    model : torch.nn.Module
    input_shape : int or (N,)
        The shape of one input (flat feature vectors only).
    strict : bool
        True: raise :class:`UnsupportedLayerError` (a ValueError) naming every module without spec entry;
        False: list them in ``unsupported``.
    input_q : float
        Per-coordinate mean square of the inputs (the spec's ``"input_q"``).
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    width = _flat_width(input_shape)
    reader = _Reader(width)
    layers = reader.module("", model)
    if strict and reader.unsupported:
        raise UnsupportedLayerError(reader.unsupported)
    spec = {"input_q": float(input_q), "width": width, "layers": layers}
    return ModelReading(spec=spec, weights=reader.weights, unsupported=reader.unsupported)
