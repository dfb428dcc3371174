r"""DKS and TAT transforms of architecture specs (residual blocks with shortcut weights), judged by the spectrum.

``recommend(spec=..., transform="dks" | "tat")`` lands here.  The spec is first put in the form that DKS/TAT
assume (Martens et al. 2021, arXiv 2110.01765, "Summary of our method"; Zhang et al. 2022, arXiv 2203.08120),
every change listed in the result:

* dense layers: :math:`\sigma_w^2 = 1`, :math:`\sigma_b^2 = 0` (the ensembles, Gaussian or orthogonal, and the
  widths are kept: the kernel maps do not depend on them, the spectrum does);
* residual blocks :math:`x \mapsto \alpha x + \beta f(x)`: normalised to :math:`w x + \sqrt{1 - w^2} f(x)` with
  the shortcut weight :math:`w = \alpha/\sqrt{\alpha^2 + \beta^2}` (the ratio :math:`\alpha/\beta` kept), so that
  :math:`q = 1` is preserved;
* the input: :math:`q_0 = 1`; every activation is replaced by the transformed one :math:`\hat\phi`.

Refused (ValueError naming the entry): normalisation layers (dks does not support them either), more than one
distinct activation, and a residual branch that does not end with a dense layer (the sum's kernel is then not
:math:`w^2 K_x + (1-w^2) K_f`: the branch output is correlated with its input).  After the transform every
activation's input variance is checked to be 1.

**Kernel maps of a spec** (dks's rules, its ``subnet_max_func``): with :math:`q = 1` everywhere a dense layer
leaves the C value unchanged, an activation applies the local map :math:`r`, and a normalised block maps
:math:`C \mapsto w^2 C + (1 - w^2)\,C_f(C)`, :math:`C_f` its branch's map (the two summands are uncorrelated at
initialization: the branch ends with an independent dense layer).  The *subnetwork maximizing function*
:math:`M(x, r)` (:func:`spec_subnet_max`) is the maximum of the whole network's value and of each residual
branch taken alone from the input, as in dks's modified ResNet (``max(x, res_branch_subnetwork_x)``).  The
local targets are then solved from :math:`M` exactly as for chains (:mod:`spectral.transforms`): DKS's local
:math:`C'(1) = s` with :math:`M(1, y \mapsto s y) = \zeta`, TAT's local :math:`C''(1) = t` with
:math:`M(0, y \mapsto y + t) = \tau`, TAT leaky ReLU's slope with :math:`M(0, C_a) = \eta`.

**Spectrum**: the law of :math:`JJ^T` of the transformed spec (:func:`spectral.architecture.spec_jacobian_law`):
:math:`m_1`, the spread :math:`v = m_2/m_1^2 - 1` from its moments, and :math:`\lambda_{max}` and the condition
number when the density is computed.  The density of a spec with residual blocks costs about a second of CPU per
distinct block (docs/design.md §6.1), so by default the summary of such a spec holds the moments only, with a note
saying why; ``edges=True`` asks for the edges.

**Activations on the residual stream** (a branch that starts with an activation, as in pre-activation
ResNets, dks's "v2" blocks): the transform is exact, but the free-probability law of the spec is not.  With
:math:`B_k = w I + \beta U_k D_k`, :math:`D_k = \operatorname{diag}\phi'(x_k)` of the stream :math:`x_k`, the
expansion of :math:`JJ^T` contains :math:`U_k D_k D_j U_j^T` where both shortcut paths are identities, and
:math:`D_k, D_j` are diagonal in the same basis with correlated entries (:math:`x_{k+1} = w x_k + \dots`), not
free.  Sampled networks measure it: TAT tanh with two such blocks at :math:`w = 0.9` has :math:`m_2` 12%, 9%,
7% above the law at :math:`N` = 128, 256, 512 (free-model samples agree with the law to 1-2%), while the same
blocks with a dense layer first in the branch agree to 1%.  Such a spec (two or more blocks of this kind) gets
a note and :class:`~spectral.architecture.freeness.NotFreeWarning` (the rule, which also covers an activation
right after such a block, is :mod:`spectral.architecture.freeness`'s); ``spectral recommend --spec`` prints its
report and exits 3.

**The spectral recommender** (:math:`\sigma_w^2, \sigma_b^2`) is not offered for specs: on the critical line of a
plain chain it picks one point of a one-parameter family, but a residual spec has a weight variance per dense
layer, the shortcut weights and no critical line of its own (the block's :math:`\chi_1 = \alpha^2 +
\beta^2\chi_{1,f}` is 1 only for special branches), so any choice would be a convention of ours rather than a
recommendation; ``recommend(spec=...)`` without a transform raises ValueError saying so (``spectral recommend
--spec`` exits 2).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .activations import Activation, activation
from .architecture import Dense, LayerNorm, Nonlinearity, Repeat, Residual, RMSNorm, Sequential
from .architecture.freeness import NotFreeWarning, not_free_reason

if TYPE_CHECKING:
    from .transforms import Transform

__all__ = ["NotFreeWarning", "not_free_note", "SpecTransform", "NetworkMaps", "dks_form",
           "spec_subnet_max", "transform_spec", "network_maps",
           "spec_summary", "spec_defaults", "recommend_spec", "Q_TOL"]

#: |q - 1| allowed at every activation input of the transformed spec: the solves meet Q(1) = 1 to ~1e-13
#: (transforms.SOLVE_TOL = 1e-9 is their bound), and with Q'(1) = 1 the errors add along the network: 1e-7
#: holds 100 layers even at the bound.
Q_TOL = 1e-7


# ------------------------------------------------------------------------------ the spec in DKS form
def _walk(entries, where):
    """(path, entry) for every entry, repeats and branches included (each entry object once)."""
    for i, e in enumerate(entries):
        path = f"{where}[{i}]"
        yield path, e
        if isinstance(e, Repeat):
            yield from _walk(e.layers, f"{path}.repeat.layers")
        elif isinstance(e, Residual):
            yield from _walk(e.branch, f"{path}.residual.branch")


def _check(spec: Sequential) -> Activation:
    """The spec's one activation; ValueError naming the entry for what DKS/TAT cannot handle."""
    if not isinstance(spec, Sequential):
        raise TypeError(f"spec must be a spectral.Sequential (or a JSON spec), got {type(spec).__name__}")
    acts: dict = {}
    for path, e in _walk(spec.layers, "layers"):
        if isinstance(e, LayerNorm | RMSNorm):
            raise ValueError(f"{path}: DKS/TAT do not support normalisation layers (as in the dks package); remove "
                             "it, or use the spectral commands without --transform for this spec")
        if isinstance(e, Nonlinearity):
            acts.setdefault(e.activation.name, (path, e.activation))
        if isinstance(e, Residual) and not isinstance(_last(e.branch), Dense):
            raise ValueError(f"{path}.residual.branch: DKS/TAT need each residual branch to end with a dense layer "
                             "(its output is then uncorrelated with the shortcut); append a dense entry")
    if not acts:
        raise ValueError("the spec has no activation: there is nothing to transform")
    if len(acts) > 1:
        where = ", ".join(f"{name} at {p}" for name, (p, _) in acts.items())
        raise ValueError(f"DKS/TAT of a spec transform its one activation; this spec has several ({where})")
    return next(iter(acts.values()))[1]


def _last(entries):
    e = entries[-1]
    while isinstance(e, Repeat):
        e = e.layers[-1]
    return e


def _shortcut_weight(e: Residual) -> float:
    a, b = float(e.alpha), float(e.beta)
    return a / math.hypot(a, b)


def dks_form(spec: Sequential, act: Activation | None = None) -> tuple[Sequential, tuple]:
    """``spec`` in the form DKS/TAT assume (module docstring), with ``act`` in place of every activation (the
    spec's own when None); returns (spec, the list of changes made, one string each)."""
    changes: list = []
    if float(spec.input_q) != 1.0:
        changes.append(f"input_q {spec.input_q} -> 1")

    def conv(entries, where):
        out: list = []
        for i, e in enumerate(entries):
            path = f"{where}[{i}]"
            if isinstance(e, Dense):
                if float(e.sigma_w2) != 1.0 or float(e.sigma_b2) != 0.0:
                    changes.append(f"{path}: sigma_w2, sigma_b2 = {e.sigma_w2}, {e.sigma_b2} -> 1, 0")
                out.append(Dense(e.weights, 1.0, 0.0, e.width))
            elif isinstance(e, Nonlinearity):
                out.append(Nonlinearity(act) if act is not None else e)
            elif isinstance(e, Repeat):
                out.append(Repeat(e.times, conv(e.layers, f"{path}.repeat.layers")))
            elif isinstance(e, Residual):
                w = _shortcut_weight(e)
                beta = math.sqrt(max(1.0 - w * w, 0.0))
                if abs(float(e.alpha) ** 2 + float(e.beta) ** 2 - 1.0) > 1e-12:
                    changes.append(f"{path}: alpha, beta = {e.alpha}, {e.beta} -> {w:.6g}, {beta:.6g} "
                                   "(alpha^2 + beta^2 = 1, ratio kept)")
                out.append(Residual(conv(e.branch, f"{path}.residual.branch"), alpha=w, beta=beta))
            else:  # pragma: no cover - refused by _check
                raise ValueError(f"{path}: not supported by DKS/TAT")
        return out

    return Sequential(conv(spec.layers, "layers"), input_q=1.0, width=spec.width), tuple(changes)


# ------------------------------------------------------------------------------ kernel maps through a spec
def _net_map(entries, x, r):
    for e in entries:
        if isinstance(e, Repeat):
            for _ in range(e.times):
                x = _net_map(e.layers, x, r)
        elif isinstance(e, Nonlinearity):
            x = r(x)
        elif isinstance(e, Residual):
            w2 = _shortcut_weight(e) ** 2
            x = w2 * x + (1.0 - w2) * _net_map(e.branch, x, r)
    return x


def spec_subnet_max(spec: Sequential) -> Callable[[float, Callable[[float], float]], float]:
    r"""The subnetwork maximizing function :math:`M(x, r)` of ``spec`` by dks's rules (module docstring): the
    maximum of the whole network's value and of every residual branch alone, each started at ``x``.  The
    shortcut weights are the normalised :math:`w = \alpha/\sqrt{\alpha^2+\beta^2}` of each block."""
    branches = []
    seen: set = set()
    for _, e in _walk(spec.layers, "layers"):
        if isinstance(e, Residual) and id(e) not in seen:
            seen.add(id(e))
            branches.append(e.branch)

    def subnet_max(x, r):
        return max([_net_map(spec.layers, x, r)] + [_net_map(b, x, r) for b in branches])

    return subnet_max


@dataclass(frozen=True)
class NetworkMaps:
    r"""The transformed network's kernel-map values that the transforms target, through :math:`M`:
    ``c_slope_1`` :math:`\max_f C_f'(1)`, ``c_curv_1`` :math:`\max_f C_f''(1)` (inf with kinks; None unless the
    local :math:`C'(1) = 1`), ``c_value_0`` :math:`\max_f C_f(0)` (leaky ReLU only, None otherwise)."""

    c_slope_1: float
    c_curv_1: float | None
    c_value_0: float | None

    def to_dict(self) -> dict:
        return {"c_slope_1": self.c_slope_1, "c_curv_1": self.c_curv_1, "c_value_0": self.c_value_0}


def network_maps(subnet_max, act) -> NetworkMaps:
    r""":math:`M` applied to the local maps of ``act``: slope :math:`M(1, y \mapsto C'(1) y)`; curvature
    :math:`M(0, y \mapsto C''(1) + y)` when :math:`C'(1) = 1` (TAT's case: then a composition's curvature is the
    sum of its layers', and a block's the weighted mean of its two paths'); for a leaky ReLU (a piecewise-linear
    :math:`\hat\phi` with one kink at 0) the value at 0, :math:`M(0, C_a)` with the closed-form C map."""
    from .transforms import kernel_stats, leaky_relu_c_map

    act = activation(act)
    k = kernel_stats(act)
    slope = float(subnet_max(1.0, lambda y: k.c_slope_1 * y))
    curv = float(subnet_max(0.0, lambda y: k.c_curv_1 + y)) if abs(k.c_slope_1 - 1.0) < 1e-9 else None
    value0 = None
    pieces = act.pieces
    if pieces is not None and len(pieces) == 2 and act.kinks == (0.0,) and float(act.phi(0.0)) == 0.0:
        a = float(pieces[0][2]) / float(pieces[1][2])
        value0 = float(subnet_max(0.0, lambda c: leaky_relu_c_map(c, a)))
    return NetworkMaps(slope, curv, value0)


@dataclass(frozen=True)
class SpecTransform:
    """A DKS/TAT transform of a spec: ``transform`` (:class:`spectral.transforms.Transform`, solved for the
    spec's :math:`M`), ``activation`` (:math:`\\hat\\phi` under its ``transformed(...)`` spelling), ``spec`` (the
    transformed spec), ``changes`` (what :func:`dks_form` changed), ``maps`` (:class:`NetworkMaps` achieved)."""

    transform: Transform
    activation: Activation
    spec: Sequential
    changes: tuple
    maps: NetworkMaps
    targets: dict = field(default_factory=dict)


def transform_spec(spec: Sequential, method: str, *, zeta: float = 1.5, tau: float = 0.3,
                   eta: float = 0.9) -> SpecTransform:
    """Solve DKS (``zeta``) or TAT (``tau``; ``eta`` for leaky ReLU) for ``spec`` (module docstring)."""
    from . import transforms
    from .architecture import propagate

    base = _check(spec)
    normal, changes = dks_form(spec)
    smax = spec_subnet_max(normal)
    if method == "dks":
        tr = transforms.dks(base, zeta=zeta, subnet_max=smax)
    elif method == "tat":
        tr = transforms.tat(base, tau=tau, eta=eta, subnet_max=smax)
    else:
        raise ValueError(f"transform must be 'dks' or 'tat' for a spec, got {method!r}")
    core = activation("leaky_relu", alpha=tr.parameters["slope"]) if "slope" in tr.parameters else tr.base
    act = transforms.transform_activation(core, **{k: tr.parameters[k] for k in transforms.AFFINE_KEYS})
    out, _ = dks_form(normal, act)
    prop = propagate(out)
    for step in prop.steps:
        if step.kind == "activation" and abs(step.q_in - 1.0) > Q_TOL:
            raise ValueError(f"{step.path}: the transformed spec's activation input has q = {step.q_in:.12g}, not 1 "
                             "(DKS/TAT's maps assume q = 1 everywhere); check the dense widths of this spec")
    return SpecTransform(tr, act, out, changes, network_maps(smax, act), dict(tr.targets))


# ------------------------------------------------------------------------------ the spectrum of a spec
def not_free_note(spec: Sequential) -> str | None:
    """The note for a spec whose law is not exact (:mod:`spectral.architecture.freeness`), else None."""
    reason = not_free_reason(spec)
    return None if reason is None else f"NOT CERTIFIED: {reason}"



def _blocks(spec: Sequential) -> int:
    """Residual blocks of the spec, repeats counted."""
    def count(entries):
        n = 0
        for e in entries:
            if isinstance(e, Repeat):
                n += e.times * count(e.layers)
            elif isinstance(e, Residual):
                n += 1 + count(e.branch)
        return n

    return count(spec.layers)


def _activations(spec: Sequential) -> int:
    """Nonlinear layers of the spec, repeats and branches counted."""
    def count(entries):
        n = 0
        for e in entries:
            if isinstance(e, Nonlinearity):
                n += 1
            elif isinstance(e, Repeat):
                n += e.times * count(e.layers)
            elif isinstance(e, Residual):
                n += count(e.branch)
        return n

    return count(spec.layers)


def _quick(spec: Sequential) -> bool:
    return not any(isinstance(e, Nonlinearity) and e.activation.family == "transformed"
                   and e.activation.pieces is None for _, e in _walk(spec.layers, "layers"))


def spec_summary(spec: Sequential, *, label: str = "", edges="auto"):
    r"""Moments (and, when the density is available, :math:`\lambda_{max}` and the quantile condition number) of
    :math:`JJ^T` for ``spec``, as a :class:`spectral.recommendation.SpectrumSummary` (``depth``: the number of
    nonlinear layers; ``weights``: the ensembles used; ``sigma_w2``, ``sigma_b2``: of the first dense layer)."""
    from .architecture import spec_jacobian_law
    from .recommendation import SpectrumSummary, bulk_edges

    if edges not in (True, False, "auto"):
        raise ValueError(f"edges must be True, False or 'auto', got {edges!r}")
    law = spec_jacobian_law(spec)
    m1, m2 = (float(v) for v in law.moments(2))
    dense = [e for _, e in _walk(spec.layers, "layers") if isinstance(e, Dense)]
    weights = "+".join(sorted({e.weights for e in dense}))
    acts = sorted({e.activation.name for _, e in _walk(spec.layers, "layers") if isinstance(e, Nonlinearity)})
    notes = []
    free_note = not_free_note(spec)
    if free_note is not None:  # the law warned (NotFreeWarning) when it was built
        notes.append(free_note)
    if any(float(e.sigma_b2) for e in dense):
        notes.append("no length-mode outlier is predicted for specs (spectral.outliers covers plain chains)")
    lam = cond = cert = None
    n_blocks = _blocks(spec)
    if edges is True or (edges == "auto" and _quick(spec) and not n_blocks and free_note is None):
        try:
            lam, cond, cert, _ = bulk_edges(law)
        except (RuntimeError, ValueError, ArithmeticError, NotImplementedError) as exc:
            notes.append(f"lambda_max and condition not available, the summary holds the moments only: {exc}")
        if cert is False:
            notes.append("density not certified everywhere: the quantiles are indicative")
    elif edges is False:
        notes.append("lambda_max and condition not computed (edges=False): the summary holds the moments only")
    elif free_note is not None:
        notes.append("lambda_max and condition not computed: the law is not exact for this spec (note above), "
                     "the summary holds the moments only")
    elif n_blocks:
        notes.append(f"lambda_max and condition not computed: the density of a spec with {n_blocks} residual "
                     "block(s) costs about a second of CPU per distinct block (docs/design.md §6.1), the summary "
                     "holds the moments only; ask for them with edges=True")
    else:
        notes.append("lambda_max and condition not computed (smooth transformed D^2: the edge search can take "
                     "minutes at large depth); ask for them with edges=True")
    return SpectrumSummary(label, ", ".join(acts), weights, float(dense[0].sigma_w2) if dense else math.nan,
                           float(dense[0].sigma_b2) if dense else math.nan, _activations(spec), m1, m2 / m1**2 - 1,
                           lam, cond, cert, tuple(notes), None, cond)


# ------------------------------------------------------------------------------ defaults and the recommendation
def _with_dense(spec: Sequential, weights: str, sigma_w2: float, sigma_b2: float) -> Sequential:
    def conv(entries):
        out: list = []
        for e in entries:
            if isinstance(e, Dense):
                out.append(Dense(weights, sigma_w2, sigma_b2, e.width))
            elif isinstance(e, Repeat):
                out.append(Repeat(e.times, conv(e.layers)))
            elif isinstance(e, Residual):
                out.append(Residual(conv(e.branch), alpha=e.alpha, beta=e.beta))
            else:
                out.append(e)
        return out

    return Sequential(conv(spec.layers), input_q=spec.input_q, width=spec.width)


def spec_defaults(spec: Sequential, edges="auto") -> list:
    """The comparison table for a spec: the spec as given, then each common default of
    :func:`spectral.recommendation.default_networks` applied to every dense layer (residual weights, activation
    and input as given); one dict per row, ``error`` where a row cannot be computed."""
    from .recommendation import default_networks

    base = _check(spec)
    rows = []
    try:
        rows.append(spec_summary(spec, label="as-given", edges=edges).to_dict())
    except ValueError as exc:
        rows.append({"label": "as-given", "error": str(exc)})
    for label, net in default_networks(base, 1).items():
        if net is None:
            rows.append({"label": label, "error": "no critical point at sigma_b2 = 2.01e-5"})
            continue
        layer = net.layers[0]
        try:
            variant = _with_dense(spec, layer.weights, float(layer.sigma_w2), float(layer.sigma_b2))
            rows.append(spec_summary(variant, label=label, edges=edges).to_dict())
        except ValueError as exc:
            rows.append({"label": label, "error": str(exc)})
    return rows


def recommend_spec(spec, method, *, zeta=1.5, tau=0.3, eta=0.9, edges="auto", objective="spread"):
    """:func:`spectral.recommend` for a spec (module docstring): a :class:`spectral.recommendation.Recommendation`
    whose ``network`` is the transformed spec and whose ``extra`` holds the changes, the network maps achieved
    and the transformed spec's JSON."""
    from .architecture import spec_from_json, spec_to_json
    from .recommendation import OBJECTIVE_DEFINITIONS, Recommendation

    if isinstance(spec, dict | str):
        spec = spec_from_json(spec)
    if method is None:
        raise ValueError("recommend(spec=...) needs transform='dks' or 'tat': the spectral recommender (sigma_w2, "
                         "sigma_b2) covers plain chains only (act=..., depth=...); see spectral.recommend_spec")
    st = transform_spec(spec, method, zeta=zeta, tau=tau, eta=eta)
    summary = spec_summary(st.spec, label=method, edges=edges)
    extra = {"changes": list(st.changes), "network_maps": st.maps.to_dict(), "targets": st.targets,
             "spec": spec_to_json(st.spec), "residual_blocks": _blocks(st.spec)}
    return Recommendation(method, st.activation, dict(st.transform.parameters), st.spec, summary,
                          spec_defaults(spec, edges), objective, OBJECTIVE_DEFINITIONS[objective],
                          transform=st.transform, extra=extra)
