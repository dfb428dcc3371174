r"""Mean field through any spec: the per-coordinate second moment :math:`q` and mean :math:`\mu` of the
activations, entry by entry, and the Jacobian factors they fix.

At infinite width the coordinates of the vector at any point of the network are identically distributed;
this module tracks their second moment :math:`q = \|x\|^2/N` and mean :math:`\mu`:

* Dense: :math:`q' = \sigma_w^2 \rho\, q + \sigma_b^2`, :math:`\mu' = 0`, Gaussian output (``rho`` from
  :func:`spectral.product.variance_factor`; 1 for square layers);
* Conv: as a square Dense layer, :math:`q' = \sigma_w^2 q + \sigma_b^2` (each output sums :math:`c k` inputs of
  mean square :math:`q` with weights of variance :math:`\sigma_w^2/(c k)`, or is :math:`\sigma_w H` times one
  position), :math:`\mu' = 0`; its Jacobian factor is the mapped Dense factor
  (:mod:`spectral.architecture.conv`); the input width must be ``channels * spatial``;
* Nonlinearity (input :math:`N(0, q)`): :math:`q' = E[\phi(\sqrt q z)^2]`, :math:`\mu' = E[\phi(\sqrt q z)]`;
  Jacobian factor :math:`D^2 = \phi'(\sqrt q z)^2`;
* Residual: :math:`q' = \alpha^2 q + \beta^2 q_f + 2\alpha\beta\mu\mu_f` (the branch output is
  uncorrelated with its input at initialization: its last random layer is independent of the input, so
  the cross moment is the product of the means), :math:`\mu' = \alpha\mu + \beta\mu_f`;
* LayerNorm: :math:`q' = 1`, :math:`\mu' = 0`, Jacobian factor the constant :math:`1/(q - \mu^2)`;
  RMSNorm: :math:`q' = 1`, :math:`\mu' = \mu/\sqrt q`, factor :math:`1/q` (the projections in their
  Jacobians remove one or two directions: no change of the bulk law).

A Nonlinearity needs a centred Gaussian input (the output of a Dense layer, of a normalisation of one, or
a residual sum of such); otherwise the spec cannot be propagated and a ``SpecError`` names the entry.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .layers import Conv, Dense, LayerNorm, Nonlinearity, Repeat, Residual, RMSNorm, Sequential, flat_entries

__all__ = ["SpecError", "Step", "Factor", "Propagation", "propagate", "spec_mean_field"]

#: A pre-activation variance below this is the ordered limit q -> 0+ (the law of D^2 is then the point mass at
#: phi'(0)^2, which DerivativeLaw reproduces at this q): 1e-300 is as spectral.product treats q* = 0.
Q_FLOOR = 1e-300


class SpecError(ValueError):
    """A spec that cannot be propagated; ``path`` names the entry (``layers[1].repeat.layers[0]``)."""

    def __init__(self, path: str, message: str):
        self.path = path
        super().__init__(f"{path}: {message}")


@dataclass(frozen=True)
class Step:
    """One entry applied once: ``path`` in the spec, ``copy`` (index within enclosing repeats, outermost first),
    ``kind``, second moment and mean before and after, widths."""

    path: str
    copy: tuple
    kind: str
    q_in: float
    q_out: float
    mean_out: float
    width_in: int | None
    width_out: int | None


@dataclass(frozen=True)
class Factor:
    r"""One factor :math:`A` of the Jacobian :math:`J = A_n \cdots A_1`, described by the law of :math:`A^T A`
    in its input space of dimension ``dim``: ``kind`` "dense" (``data`` = (weights, sigma_w2, n_in, n_out)),
    "derivative" ((activation, q)), "scale" ((c,): :math:`A^T A = c I`), "residual"
    ((alpha, beta, branch factors, branch q_out))."""

    kind: str
    data: tuple
    dim: int | None
    path: str


@dataclass(frozen=True)
class Propagation:
    """Result of :func:`propagate`: the steps (mean field, in order), the Jacobian factors, the final state."""

    steps: tuple
    factors: tuple
    q_out: float
    mean_out: float
    width_in: int | None
    width_out: int | None

    def q_sequence(self) -> tuple:
        """Second moment after every step (floats)."""
        return tuple(s.q_out for s in self.steps)


@dataclass
class _State:
    q: float
    mu: float
    gaussian: bool
    width: int | None


def _uses_widths(entries) -> bool:
    for e in entries:
        if isinstance(e, Dense) and e.width is not None:
            return True
        if isinstance(e, Repeat) and _uses_widths(e.layers):
            return True
        if isinstance(e, Residual) and _uses_widths(e.branch):
            return True
    return False


def propagate(spec: Sequential) -> Propagation:
    """Mean field and Jacobian factors of ``spec`` (see the module docstring); SpecError names a bad entry."""
    if not isinstance(spec, Sequential):
        raise TypeError(f"spec must be a spectral.Sequential, got {type(spec).__name__}")
    if spec.width is None and _uses_widths(spec.layers):
        raise SpecError("width", "the spec has dense layers with a width: give the input width (Sequential(width=...) "
                        'or "width" in the JSON spec)')
    width = spec.width  # a spec with Conv entries has one (channels * spatial of the first)
    state = _State(float(spec.input_q), 0.0, True, width)
    steps: list = []
    factors: list = []
    _walk(spec.layers, "layers", (), state, steps, factors)
    return Propagation(tuple(steps), tuple(factors), state.q, state.mu, width, state.width)


def _walk(entries, where, copy, state, steps, factors):
    for i, e in enumerate(entries):
        path = f"{where}[{i}]"
        if isinstance(e, Repeat):
            for k in range(e.times):
                _walk(e.layers, f"{path}.repeat.layers", (*copy, k), state, steps, factors)
            continue
        q_in, w_in = state.q, state.width
        if isinstance(e, Dense):
            _dense(e, path, state, factors)
            kind = "dense"
        elif isinstance(e, Conv):
            _conv(e, path, state, factors)
            kind = "conv"
        elif isinstance(e, Nonlinearity):
            _nonlinearity(e, path, state, factors)
            kind = "activation"
        elif isinstance(e, LayerNorm | RMSNorm):
            _norm(e, path, state, factors)
            kind = "layernorm" if isinstance(e, LayerNorm) else "rmsnorm"
        elif isinstance(e, Residual):
            _residual(e, path, copy, state, steps, factors)
            kind = "residual"
        else:  # pragma: no cover - entries are validated on construction
            raise SpecError(path, f"unknown entry {e!r}")
        steps.append(Step(path, copy, kind, q_in, state.q, state.mu, w_in, state.width))


def _dense(e: Dense, path, state, factors):
    from ..product import variance_factor

    n_in = state.width
    n_out = e.width if e.width is not None else n_in
    rho = float(variance_factor(e.weights, n_in, n_out))
    factors.append(Factor("dense", (e.weights, e.sigma_w2, n_in, n_out), n_in, path))
    state.q = float(e.sigma_w2) * rho * state.q + float(e.sigma_b2)
    state.mu, state.gaussian, state.width = 0.0, True, n_out


def _conv(e: Conv, path, state, factors):
    from .conv import mapped_dense

    if state.width is not None and state.width != e.width:
        raise SpecError(f"{path}.conv", f"its input has width {state.width}, but channels * spatial = "
                        f"{e.channels} * {e.spatial} = {e.width}: make them equal")
    d = mapped_dense(e)
    factors.append(Factor("dense", (d.weights, d.sigma_w2, None, None), e.width, path))
    state.q = float(e.sigma_w2) * state.q + float(e.sigma_b2)
    state.mu, state.gaussian, state.width = 0.0, True, e.width


def _nonlinearity(e: Nonlinearity, path, state, factors):
    from ..gaussian import gaussian_expectation
    from ..meanfield import q_map

    act = e.activation
    if not state.gaussian:
        raise SpecError(path, f"the activation {act.name} needs a centred Gaussian input (a Dense layer's output); "
                        "put a Dense layer before it")
    q = max(state.q, Q_FLOOR)
    factors.append(Factor("derivative", (act, q), state.width, path))
    state.mu = float(gaussian_expectation(act.phi, q, kinks=act.kinks)) if state.q > Q_FLOOR else float(act.phi(0.0))
    state.q = float(q_map(act, state.q, 1.0, 0.0))
    linear = act.pieces is not None and len({float(s) for _, _, s in act.pieces}) == 1 and float(act.phi(0.0)) == 0
    state.gaussian = linear


def _norm(e, path, state, factors):
    if isinstance(e, LayerNorm):
        var = state.q - state.mu**2
        if not var > 0 or not math.isfinite(var):
            raise SpecError(path, f"LayerNorm of a constant vector (variance {var:g}): nothing to normalise")
        factors.append(Factor("scale", (1.0 / var,), state.width, path))
        state.q, state.mu = 1.0, 0.0
    else:
        if not state.q > 0 or not math.isfinite(state.q):
            raise SpecError(path, f"RMSNorm of a zero vector (second moment {state.q:g})")
        factors.append(Factor("scale", (1.0 / state.q,), state.width, path))
        state.mu = state.mu / math.sqrt(state.q)
        state.q = 1.0


def _residual(e: Residual, path, copy, state, steps, factors):
    if not any(isinstance(x, Dense | Conv) for x in flat_entries(e.branch)):
        raise SpecError(f"{path}.residual.branch", "a residual branch needs a Dense layer or a Conv (its "
                        "Jacobian must be rotation invariant for the block law)")
    sub = _State(state.q, state.mu, state.gaussian, state.width)
    branch_factors: list = []
    _walk(e.branch, f"{path}.residual.branch", copy, sub, steps, branch_factors)
    if sub.width != state.width:
        raise SpecError(f"{path}.residual.branch", f"the branch maps width {state.width} to {sub.width}: a residual "
                        "branch must return its input width")
    a, b = float(e.alpha), float(e.beta)
    factors.append(Factor("residual", (e.alpha, e.beta, tuple(branch_factors), sub.q), state.width, path))
    state.q = a * a * state.q + b * b * sub.q + 2 * a * b * state.mu * sub.mu
    state.mu = a * state.mu + b * sub.mu
    state.gaussian = state.gaussian and sub.gaussian


def spec_mean_field(spec: Sequential) -> list[dict]:
    """The mean-field sequence of ``spec`` as rows ``{path, copy, kind, q_in, q_out, mean_out, width}``
    (residual branches' inner steps come before their block's row)."""
    prop = propagate(spec)
    return [{"path": s.path, "copy": list(s.copy), "kind": s.kind, "q_in": s.q_in, "q_out": s.q_out,
             "mean_out": s.mean_out, "width": s.width_out} for s in prop.steps]
