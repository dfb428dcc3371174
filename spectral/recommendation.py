r"""Initialization and activation design judged by the spectrum of :math:`JJ^T`: ``recommend``.

Three routes, one result (:class:`Recommendation`):

* ``transform="dks"`` / ``"tat"``: the activation is replaced by its DKS or TAT transform for a plain chain
  (:mod:`spectral.transforms`), with orthogonal weights of variance 1 and no biases (the setting of ``dks``).
  With ``spec=`` (an architecture: residual blocks with shortcut weights) the transform is solved for the
  spec's kernel maps and its spectrum is the transformed spec's (:mod:`spectral.recommend_spec`).
* ``transform=None``: the *spectral recommender*.  On the critical line :math:`\chi_1 = 1` (parametrised by
  :math:`q^*`: :math:`\sigma_w^2 = 1/E[\phi'(\sqrt{q^*} z)^2]`, :math:`\sigma_b^2 = q^* - \sigma_w^2
  E[\phi(\sqrt{q^*}z)^2] \ge 0`) it picks the point that minimises the chosen objective subject to a stated
  nonlinearity budget: the network's C-map curvature :math:`C_f''(1) = L\,\chi_2\,q^* \ge \tau_{min}`
  (``min_curvature``, default 0.3, TAT's default :math:`\tau`; per layer :math:`C''(1) = \sigma_w^2 q^*
  E[\phi''^2] = \chi_2 q^*` and the slopes are 1 on the critical line).  Without the budget every objective
  prefers :math:`q^* \to 0`, where the network is linear.  Piecewise-linear activations (relu, leaky relu)
  have a one-point critical line, :math:`\sigma_w^2 = 1/E[\phi'^2]`, :math:`\sigma_b^2 = 0`.
* ``vary_slope=True`` (leaky ReLU): the slope :math:`a` of :math:`\mathrm{lrelu}_a` is the design variable.
  :math:`D^2 \in \{\sigma_w^2, \sigma_w^2 a^2\}` with probability 1/2 whatever :math:`q`, so
  :math:`\sigma_b^2` does not change the spectrum and :math:`\sigma_w^2` only scales it
  (:math:`m_1 = \chi_1^L`): every objective below is scale-free, so :math:`\sigma_w^2 = 2/(1+a^2)`
  (:math:`m_1 = 1`) and :math:`\sigma_b^2 = 0` (on the critical line a bias makes :math:`q^l` grow linearly
  with depth).  The nonlinearity budget is the network's C map at 0, :math:`C_f(0) = C^{\circ L}(0) \ge
  \eta_{min}` (``min_c0``, default 0.9, TAT's :math:`\eta`; :math:`C` of
  :func:`spectral.transforms.leaky_relu_c_map`, :math:`C_f(0) = 0` for the linear network :math:`a = 1`).
  Candidates :math:`a` on a grid of :data:`_SLOPE_GRID` points in [0, 0.98]; where the best feasible one
  borders an infeasible one the budget binds and :math:`C_f(0) = \eta_{min}` is solved between them.  Both
  the spreads (orthogonal: :math:`v = L((1-a^2)/(1+a^2))^2`) and :math:`C_f(0)` fall as :math:`a` grows, so
  the budget binds and the recommended slope is TAT's for :math:`\eta = \eta_{min}`.

Objectives ("best" = smallest):

* ``spread``: :math:`v = m_2/m_1^2 - 1` of :math:`JJ^T` (0 for an isometry up to scale), from the moments;
* ``lambda-ratio``: :math:`\lambda_{max}/m_1`, the top edge over the mean eigenvalue (the density engine's edge);
* ``condition``: :math:`x_{0.99}/x_{0.01}`, the ratio of the 99% and 1% quantiles of the eigenvalues of
  :math:`JJ^T` (the bulk's condition number, from the density on its grid; ``inf`` when an atom at 0 holds
  1% of the mass).  With ``with_outlier=True``: :math:`x_{0.99}/\min(x_{0.01}, \lambda_{len})`, the
  condition number of a finite network with biases, :math:`\lambda_{len} = s_{len}^2` the length-mode
  eigenvalue of :func:`spectral.outliers.length_singular_value` (square orthogonal layers with biases; it is
  one eigenvalue of N, so it changes no other objective; where it has no prediction the bulk's is used and a
  note says so).

The summary of every network (:class:`SpectrumSummary`) gives :math:`m_1`, :math:`v`, :math:`\lambda_{max}`,
the bulk condition number, the length-mode eigenvalue ``outlier`` (None where there is none) and
``condition_with_outlier``.  The comparison table holds common defaults, each evaluated on the same activation
and depth:

* ``pytorch``: ``nn.Linear``'s default, :math:`W_{ij} \sim U(\pm 1/\sqrt{N})`: i.i.d. (the Gaussian law at
  infinite width), :math:`\sigma_w^2 = 1/3`; its bias variance :math:`1/(3N) \to 0`;
* ``xavier``: Glorot, i.i.d. Gaussian, :math:`\sigma_w^2 = 2N/(N+N) = 1`, no bias;
* ``kaiming``: He, i.i.d. Gaussian, :math:`\sigma_w^2 = g^2` with PyTorch's ``calculate_gain`` (relu 2,
  leaky relu :math:`2/(1+a^2)`, tanh :math:`25/9`, selu 3/4, others 1), no bias;
* ``orthogonal-critical``: orthogonal weights on the critical line: :math:`\sigma_b^2 = 2.01\times10^{-5}`
  with :math:`\sigma_w^2` solved (tanh: 1.05, Pennington et al. 2017), or :math:`(1/E[\phi'^2], 0)` for
  piecewise-linear activations.

Edges and quantiles come from the density engine; for smooth :math:`D^2` laws at large depth its edge search
can take minutes (transformed activations at depth 100: over 5 minutes), so ``edges="auto"`` computes them
only for Bernoulli-type :math:`D^2` (piecewise-linear activations) and leaves ``None`` with a note otherwise.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np

from . import gaussian as _g
from .activations import Activation, activation
from .meanfield import critical_point, mean_field
from .outliers import length_singular_value
from .product import Network, jacobian_law

if TYPE_CHECKING:
    from .architecture import Sequential

__all__ = ["Recommendation", "SpectrumSummary", "recommend", "spectrum_summary", "default_networks", "network_c0",
           "OBJECTIVES", "OBJECTIVE_DEFINITIONS", "DEFAULTS", "bulk_edges"]

OBJECTIVES = ("spread", "condition", "lambda-ratio")
OBJECTIVE_DEFINITIONS = {
    "spread": "v = m_2/m_1^2 - 1 of J J^T (smallest is best; 0 is an isometry up to scale)",
    "condition": "x_0.99 / x_0.01, quantiles of the eigenvalues of J J^T from the density (smallest is best)",
    "lambda-ratio": "lambda_max / m_1 of J J^T (smallest is best)",
}
DEFAULTS = ("pytorch", "xavier", "kaiming", "orthogonal-critical")
OUTLIER_NOTE = ("no length-mode outlier predicted (it needs biases, square orthogonal layers and a mode that "
                "dominates J^-1; spectral.outliers): condition_with_outlier is the bulk's")
#: Quantiles of the bulk condition number (1% and 99%: the bulk without the extreme tails).
CONDITION_QUANTILES = (0.01, 0.99)
#: Density grid for the quantiles (the quantiles are read from the cumulative sum on this grid).
CONDITION_POINTS = 400
#: Pennington et al. (2017)'s tanh bias variance, used for the orthogonal-critical default.
_CRITICAL_BIAS = 2.01e-5
#: Candidate q* on the critical line: 10^-4 .. 10^1, 48 points (spread); 10 points for the density objectives.
_Q_GRID = np.logspace(-4, 1, 48)
_Q_GRID_COARSE = np.logspace(-4, 1, 10)
#: Candidate leaky-ReLU slopes: 0 .. 0.98 in steps of 0.02 (a = 1 is the linear network, C_f(0) = 0); steps of
#: 0.07 (15 points) for the density objectives (about 1 s of density per candidate).
_SLOPE_GRID = np.linspace(0.0, 0.98, 50)
_SLOPE_GRID_COARSE = np.linspace(0.0, 0.98, 15)


# ------------------------------------------------------------------------------ spectrum summary
@dataclass(frozen=True)
class SpectrumSummary:
    r"""The spectrum of :math:`JJ^T` for one network: ``m1``, ``spread`` :math:`v = m_2/m_1^2 - 1`,
    ``lambda_max`` (edge; None when not computed), ``condition`` (:math:`x_{0.99}/x_{0.01}`; None when not
    computed), ``outlier`` (the length-mode eigenvalue :math:`s_{len}^2`, None where none is predicted),
    ``condition_with_outlier`` (:math:`x_{0.99}/\min(x_{0.01}, s_{len}^2)`; the bulk's without an outlier,
    None when the condition number was not computed), ``certified`` (the density's certificate, None when no
    density was computed), ``notes``."""

    label: str
    activation: str
    weights: str
    sigma_w2: float
    sigma_b2: float
    depth: int
    m1: float
    spread: float
    lambda_max: float | None = None
    condition: float | None = None
    certified: bool | None = None
    notes: tuple = field(default=())
    outlier: float | None = None
    condition_with_outlier: float | None = None

    def to_dict(self) -> dict:
        return {"label": self.label, "activation": self.activation, "weights": self.weights,
                "sigma_w2": self.sigma_w2, "sigma_b2": self.sigma_b2, "depth": self.depth, "m1": self.m1,
                "spread": self.spread, "lambda_max": self.lambda_max, "condition": self.condition,
                "outlier": self.outlier, "condition_with_outlier": self.condition_with_outlier,
                "certified": self.certified, "notes": list(self.notes)}


def _edges_are_quick(net: Network) -> bool:
    """False for smooth transformed activations: their D^2 laws are narrow and the edge search takes minutes."""
    return not any(layer.activation.family == "transformed" and layer.activation.pieces is None
                   for layer in net.layers)


def spectrum_summary(net: Network, *, label: str = "", edges="auto") -> SpectrumSummary:
    r"""Moments, edge and bulk condition number of :math:`JJ^T` for ``net``.

    ``edges``: True computes :math:`\lambda_{max}` and the quantile condition number, False skips them,
    ``"auto"`` computes them only for Bernoulli-type :math:`D^2` (module docstring).
    """
    if edges not in (True, False, "auto"):
        raise ValueError(f"edges must be True, False or 'auto', got {edges!r}")
    law = jacobian_law(net)
    m1, m2 = (float(v) for v in law.moments(2))
    spread = m2 / (m1 * m1) - 1.0
    layer = net.layers[0]
    s_len = length_singular_value(net)
    outlier = None if s_len is None else s_len * s_len
    notes = [OUTLIER_NOTE] if outlier is None else []
    lam = cond = cert = lam_low = None
    if edges is True or (edges == "auto" and _edges_are_quick(net)):
        try:
            lam, cond, cert, lam_low = bulk_edges(law)
        except (RuntimeError, ValueError, ArithmeticError) as exc:
            notes.append(f"lambda_max and condition not available: {exc}")
        if cert is False:
            notes.append("density not certified everywhere: the quantiles are indicative")
    elif edges == "auto":
        notes.append("lambda_max and condition not computed (smooth transformed D^2: the edge search can take "
                     "minutes at large depth); ask for them with edges=True")
    cond_out = None if cond is None else _with_outlier(cond, lam_low, outlier)
    return SpectrumSummary(label, layer.activation.name, layer.weights, float(layer.sigma_w2),
                           float(layer.sigma_b2), len(net.layers), m1, spread, lam, cond, cert, tuple(notes),
                           outlier, cond_out)


def _with_outlier(cond: float, low: float | None, outlier: float | None) -> float:
    """x_0.99/min(x_0.01, outlier) from the bulk's x_0.99/x_0.01 and x_0.01."""
    if outlier is None or low is None or not low > 0 or outlier >= low:
        return cond
    return cond * low / outlier


def bulk_edges(law):
    """(lambda_max, x_0.99/x_0.01, certified, x_0.01) of ``law`` from the density engine."""
    from .density import UncertifiedDensityWarning, density_summary

    lam = float(law.lambda_max)
    with warnings.catch_warnings():  # the certificate is carried by the summary (flag and note), not a warning
        warnings.simplefilter("ignore", UncertifiedDensityWarning)
        res = law.density(points=CONDITION_POINTS)
    summ = density_summary(res, quantiles=CONDITION_QUANTILES)
    lo, hi = (summ["diagnostics"]["quantiles"][f"{q:g}"] for q in CONDITION_QUANTILES)
    cond = math.inf if not lo else float(hi) / float(lo)
    return lam, cond, bool(res.certified), float(lo)


# ------------------------------------------------------------------------------ defaults
def _kaiming_gain2(act: Activation) -> float:
    """PyTorch's ``calculate_gain(nonlinearity)`` squared."""
    fam = act.family
    if fam == "relu":
        return 2.0
    if fam == "leaky_relu":
        a = float(act.param_dict["alpha"])
        return 2.0 / (1.0 + a * a)
    return {"tanh": 25.0 / 9.0, "selu": 0.75}.get(fam, 1.0)


def _homogeneous(act: Activation) -> bool:
    return act.family in ("linear", "relu", "leaky_relu")


def default_networks(act, depth: int) -> dict:
    """The common defaults of the module docstring as :class:`Network` objects (None where one does not exist,
    e.g. no critical point)."""
    act = activation(act)
    out: dict[str, Network | None] = {
        "pytorch": Network(activation=act, weights="gaussian", sigma_w2=1.0 / 3.0, sigma_b2=0.0, depth=depth),
        "xavier": Network(activation=act, weights="gaussian", sigma_w2=1.0, sigma_b2=0.0, depth=depth),
        "kaiming": Network(activation=act, weights="gaussian", sigma_w2=_kaiming_gain2(act), sigma_b2=0.0,
                           depth=depth)}
    try:
        if _homogeneous(act):
            s, b = 1.0 / float(_g.dphi_squared_mean(act, 1.0)), 0.0
        else:
            mf = critical_point(act, sigma_b2=_CRITICAL_BIAS)
            s, b = mf.sigma_w2, mf.sigma_b2
        out["orthogonal-critical"] = Network(activation=act, weights="orthogonal", sigma_w2=s, sigma_b2=b,
                                             depth=depth)
    except ValueError:
        out["orthogonal-critical"] = None
    return out


def _defaults_table(act, depth, edges) -> list:
    rows = []
    for label, net in default_networks(act, depth).items():
        if net is None:
            rows.append({"label": label, "error": "no critical point at sigma_b2 = 2.01e-5"})
            continue
        try:
            rows.append(spectrum_summary(net, label=label, edges=edges).to_dict())
        except ValueError as exc:  # e.g. no fixed point of the q-map
            rows.append({"label": label, "error": str(exc)})
    return rows


# ------------------------------------------------------------------------------ the recommendation
@dataclass(frozen=True)
class Recommendation:
    r"""The chosen parameters, the resulting spectrum, the comparison with the defaults.

    ``parameters``: ``sigma_w2``, ``sigma_b2`` (spectral recommender; with ``q_star`` and
    ``network_curvature``) or ``input_scale``, ``input_shift``, ``output_scale``, ``output_shift`` (and
    ``slope`` for leaky ReLU) for a transform; ``network``: the recommended :class:`Network` (for a spec: the
    transformed :class:`spectral.Sequential`); ``summary``: its :class:`SpectrumSummary`; ``defaults``: one dict
    per default (:data:`DEFAULTS`); ``tradeoff``: for the spectral recommender, the candidates on the critical
    line with their objective and curvature;
    ``objective``, ``definition``: what "best" means; ``extra``: further JSON-ready keys (for a spec: the
    changes made, the network maps achieved, the transformed spec).
    """

    method: str
    activation: Activation
    parameters: dict
    network: Network | Sequential
    summary: SpectrumSummary
    defaults: list
    objective: str
    definition: str
    tradeoff: list = field(default_factory=list)
    transform: object = None
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        """JSON-ready (the ``spectral recommend --json`` keys first)."""
        s = self.summary
        return {"parameters": dict(self.parameters), "m1": s.m1, "spread": s.spread, "lambda_max": s.lambda_max,
                "condition": s.condition, "outlier": s.outlier, "condition_with_outlier": s.condition_with_outlier,
                "defaults": self.defaults, "method": self.method,
                "activation": self.activation.name, "weights": s.weights, "depth": s.depth,
                "objective": self.objective, "definition": self.definition, "notes": list(s.notes),
                "tradeoff": self.tradeoff, **self.extra}


def _check_depth(depth) -> int:
    if isinstance(depth, bool) or not isinstance(depth, int | np.integer) or depth < 1:
        raise ValueError(f"depth must be an integer >= 1, got {depth!r}; e.g. depth=100")
    return int(depth)


def recommend(act="tanh", *, depth: int = 100, weights: str = "orthogonal", objective: str = "spread",
              transform: str | None = None, zeta: float = 1.5, tau: float = 0.3, eta: float = 0.9,
              min_curvature: float = 0.3, edges="auto", subnet_max=None, vary_slope: bool = False,
              min_c0: float = 0.9, with_outlier: bool = False, spec=None) -> Recommendation:
    r"""Recommend an initialization (or an activation transform) for a plain chain (module docstring), or a
    DKS/TAT transform for an architecture spec (``spec=``, :mod:`spectral.recommend_spec`).

    Parameters
    ----------
    act : activation spec
        Ignored with ``spec`` (the spec's own activation is transformed).
    depth : int
        Number of layers L.
    weights : "orthogonal" | "gaussian"
        Ensemble of the spectral recommender (transforms use orthogonal weights, as ``dks`` does).
    objective : "spread" | "condition" | "lambda-ratio"
        What the spectral recommender minimises (:data:`OBJECTIVE_DEFINITIONS`).
    transform : None | "dks" | "tat"
    zeta, tau, eta : float
        DKS's network slope :math:`\zeta`; TAT's curvature :math:`\tau` (smooth) or :math:`C_f(0) = \eta`
        (leaky ReLU).
    min_curvature : float
        Nonlinearity budget of the spectral recommender: the network's :math:`C_f''(1) \ge` this.
    edges : True | False | "auto"
        Whether summaries compute :math:`\lambda_{max}` and the condition number (:func:`spectrum_summary`).
    subnet_max : callable (x, r) -> float, optional
        Transforms only: the subnetwork maximizing function of another architecture (see
        :mod:`spectral.transforms`); the parameters are solved for it, but the spectrum reported is still the
        plain chain's of ``depth`` layers (a note says so); for an architecture pass ``spec`` instead.
    vary_slope : bool
        Leaky ReLU only: recommend the slope :math:`a` too (module docstring), with parameters ``slope``,
        ``sigma_w2`` :math:`= 2/(1+a^2)`, ``sigma_b2`` = 0 and ``network_c0`` :math:`= C_f(0)`.
    min_c0 : float in [0, 1)
        Nonlinearity budget of ``vary_slope``: the network's :math:`C_f(0) \ge` this.
    with_outlier : bool
        ``objective="condition"`` only: include the length-mode outlier (module docstring).
    spec : spectral.Sequential or JSON spec (dict or text), optional
        An architecture (residual blocks with shortcut weights): ``transform`` is then required (``"dks"`` or
        ``"tat"``; the spectral recommender covers plain chains only, :mod:`spectral.recommend_spec` says why);
        ``depth``, ``weights``, ``subnet_max``, ``vary_slope`` and ``with_outlier`` do not apply.
    """
    if spec is not None:
        return _recommend_for_spec(spec, transform, zeta, tau, eta, edges, objective,
                                   subnet_max is not None or vary_slope or with_outlier)
    depth = _check_depth(depth)
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {OBJECTIVES}, got {objective!r}")
    if weights not in ("orthogonal", "gaussian"):
        raise ValueError(f"weights must be 'orthogonal' or 'gaussian', got {weights!r}")
    if with_outlier not in (True, False) or vary_slope not in (True, False):
        raise ValueError(f"with_outlier and vary_slope must be True or False, got {with_outlier!r}, {vary_slope!r}")
    if with_outlier and (objective != "condition" or transform is not None):
        raise ValueError("with_outlier applies to objective='condition' of the spectral recommender only (the "
                         "outlier is one eigenvalue of N: it changes no other objective)")
    base = activation(act)
    if vary_slope:
        if transform is not None or base.family != "leaky_relu":
            raise ValueError(f"vary_slope recommends the slope of leaky_relu (spectral recommender, no transform); "
                             f"got activation {base.name!r}, transform {transform!r}")
        return _recommend_slope(depth, weights, objective, min_c0, edges)
    if transform is not None:
        return _recommend_transform(base, depth, transform, zeta, tau, eta, edges, objective, subnet_max)
    if subnet_max is not None:
        raise ValueError("subnet_max applies to transform='dks' or 'tat' only")
    return _recommend_critical(base, depth, weights, objective, float(min_curvature), edges, with_outlier)


def _recommend_for_spec(spec, transform, zeta, tau, eta, edges, objective, chain_only_options):
    from .recommend_spec import recommend_spec

    if chain_only_options:
        raise ValueError("with spec=..., subnet_max, vary_slope and with_outlier do not apply (the spec fixes "
                         "the architecture and its activation)")
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {OBJECTIVES}, got {objective!r}")
    return recommend_spec(spec, transform, zeta=zeta, tau=tau, eta=eta, edges=edges, objective=objective)


def _recommend_transform(base, depth, method, zeta, tau, eta, edges, objective, subnet_max=None):
    from . import transforms

    if method not in ("dks", "tat"):
        raise ValueError(f"transform must be 'dks', 'tat' or None, got {method!r}")
    kw = {"depth": depth} if subnet_max is None else {"subnet_max": subnet_max}
    tr = transforms.dks(base, zeta=zeta, **kw) if method == "dks" else transforms.tat(base, tau=tau, eta=eta, **kw)
    net = Network(activation=tr.activation, weights="orthogonal", sigma_w2=1.0, sigma_b2=0.0, depth=depth, q0=1.0)
    summary = spectrum_summary(net, label=method, edges=edges)
    if subnet_max is not None:
        summary = replace(summary, notes=summary.notes + ("parameters solved for the given subnet_max; the spectrum "
                                                          f"is the plain chain's of {depth} layers",))
    return Recommendation(method, tr.activation, dict(tr.parameters), net, summary,
                          _defaults_table(base, depth, edges), objective, OBJECTIVE_DEFINITIONS[objective],
                          transform=tr)


def _objective(summary: SpectrumSummary, objective: str, with_outlier: bool = False) -> float:
    if objective == "spread":
        return summary.spread
    # lambda_max and condition are None only when the edges were not computed; the callers compute them
    # for these two objectives
    if objective == "lambda-ratio":
        return summary.lambda_max / summary.m1  # type: ignore[operator]
    return summary.condition_with_outlier if with_outlier else summary.condition  # type: ignore[return-value]


def _recommend_critical(base, depth, weights, objective, tau_min, edges, with_outlier=False):
    if not (math.isfinite(tau_min) and tau_min >= 0):
        raise ValueError(f"min_curvature must be finite and >= 0, got {tau_min!r}")
    need_edges = objective != "spread"
    edges_used = True if need_edges else edges
    if _homogeneous(base) or base.kinks:
        if not _homogeneous(base):
            raise ValueError(f"the spectral recommender needs a smooth activation or a piecewise-linear one "
                             f"(relu, leaky_relu, linear); {base.name!r} has kinks (try --transform dks)")
        s = 1.0 / float(_g.dphi_squared_mean(base, 1.0))
        net = Network(activation=base, weights=weights, sigma_w2=s, sigma_b2=0.0, depth=depth)
        summary = spectrum_summary(net, label="recommended", edges=edges_used)
        params = {"sigma_w2": s, "sigma_b2": 0.0}
        return Recommendation("critical", base, params, net, summary, _defaults_table(base, depth, edges),
                              objective, _definition(objective, with_outlier) + "; the critical line of a "
                              "piecewise-linear activation is one point", [])
    if base.ddphi is None:
        raise ValueError(f"the spectral recommender needs phi'' of {base.name!r} (the curvature budget)")
    rows, best = _critical_candidates(base, depth, weights, objective, tau_min, edges_used, need_edges,
                                      with_outlier)
    if best is not None:
        best = _refine_on_budget(base, depth, weights, tau_min, rows, best, objective, edges_used, with_outlier)
    if best is None:
        raise ValueError(f"no point of the critical line of {base.name!r} with q* in [1e-4, 10] meets the "
                         f"curvature budget C_f''(1) >= {tau_min:g} at depth {depth}; lower min_curvature")
    row, net, summ = best
    summary = _recommended_summary(net, summ, edges_used if need_edges else False, edges_used)
    params = {"sigma_w2": row["sigma_w2"], "sigma_b2": row["sigma_b2"], "q_star": row["q_star"],
              "network_curvature": row["network_curvature"]}
    definition = (_definition(objective, with_outlier) + f"; over the critical line with the network's C''(1) >= "
                  f"{tau_min:g}")
    return Recommendation("critical", base, params, net, summary, _defaults_table(base, depth, edges), objective,
                          definition, rows)


def _recommended_summary(net, summ, summ_edges, edges_used) -> SpectrumSummary:
    """The chosen network's summary: the one its candidate row was scored with (the same network and the same
    computation, relabelled) where that was made with the same ``edges``; otherwise computed now."""
    if summ_edges == edges_used:
        return replace(summ, label="recommended")
    return spectrum_summary(net, label="recommended", edges=edges_used)


def _definition(objective: str, with_outlier: bool) -> str:
    if with_outlier:
        return ("x_0.99 / min(x_0.01, s_len^2): the condition number of J J^T with the length-mode outlier of a "
                "finite network with biases (smallest is best)")
    return OBJECTIVE_DEFINITIONS[objective]


def _critical_candidates(base, depth, weights, objective, tau_min, edges_used, need_edges, with_outlier=False):
    """Rows (q*, sigma_w2, sigma_b2, curvature, objective) on the critical line and the best feasible one (its row,
    network and summary)."""
    rows, best = [], None
    for q in (_Q_GRID_COARSE if need_edges else _Q_GRID):
        s = 1.0 / float(_g.dphi_squared_mean(base, q))
        b = q - s * float(_g.phi_second_moment(base, q))
        if b < -1e-13 * q:
            continue
        b = float(max(b, 0.0))
        try:
            mf = mean_field(base, s, b)
        except ValueError:
            continue
        if abs(mf.chi1 - 1.0) > 1e-6 or abs(mf.q_star - q) > 1e-6 * q:
            continue  # the q-map from q0 = 1 settles elsewhere: not a critical point by meanfield's rule
        curvature = depth * mf.chi2 * mf.q_star
        row = {"q_star": mf.q_star, "sigma_w2": s, "sigma_b2": b, "network_curvature": curvature}
        if curvature >= tau_min:
            net = Network(activation=base, weights=weights, sigma_w2=s, sigma_b2=b, depth=depth)
            summ = spectrum_summary(net, label="candidate", edges=edges_used if need_edges else False)
            row[objective] = _objective(summ, objective, with_outlier)
            row["spread"] = summ.spread
            row["outlier"] = summ.outlier
            if best is None or row[objective] < best[0][objective]:
                best = (row, net, summ)
        rows.append(row)
    return rows, best


def _refine_on_budget(base, depth, weights, tau_min, rows, best, objective="spread", edges_used=False,
                      with_outlier=False):
    """Where the best grid point follows an infeasible one, the budget binds between them: solve
    C_f''(1) = tau_min there (brentq in log q*) and keep that point when its objective is smaller."""
    from scipy.optimize import brentq

    i = next(k for k, r in enumerate(rows) if r is best[0])
    if i == 0 or objective in rows[i - 1]:
        return best

    def point(logq):
        q = math.exp(logq)
        s = 1.0 / float(_g.dphi_squared_mean(base, q))
        b = float(max(q - s * float(_g.phi_second_moment(base, q)), 0.0))
        return mean_field(base, s, b)

    def gap(logq):
        mf = point(logq)
        return depth * mf.chi2 * mf.q_star - tau_min

    lo, hi = math.log(rows[i - 1]["q_star"]), math.log(rows[i]["q_star"])
    try:
        mf = point(brentq(gap, lo, hi, xtol=1e-10))
    except ValueError:
        return best
    if abs(mf.chi1 - 1.0) > 1e-6:
        return best
    net = Network(activation=base, weights=weights, sigma_w2=mf.sigma_w2, sigma_b2=mf.sigma_b2, depth=depth)
    summ = spectrum_summary(net, edges=edges_used if objective != "spread" else False)
    value = _objective(summ, objective, with_outlier)
    if not value < best[0][objective]:
        return best
    row = {"q_star": mf.q_star, "sigma_w2": mf.sigma_w2, "sigma_b2": mf.sigma_b2,
           "network_curvature": depth * mf.chi2 * mf.q_star, objective: value, "spread": summ.spread,
           "outlier": summ.outlier}
    rows.insert(i, row)
    return row, net, summ


# ------------------------------------------------------------------------------ leaky-ReLU slope as a design variable
def network_c0(slope: float, depth: int) -> float:
    r"""The network's C map at 0, :math:`C_f(0) = C^{\circ L}(0)` with :math:`C` the normalised leaky ReLU's
    (:func:`spectral.transforms.leaky_relu_c_map`): the correlation of the outputs for orthogonal inputs."""
    from .transforms import leaky_relu_c_map

    c = 0.0
    for _ in range(depth):
        c = leaky_relu_c_map(c, slope)
    return float(c)


def _slope_point(slope, depth, weights, objective, edges_used, need_edges):
    act = activation("leaky_relu", alpha=float(slope))
    s = 2.0 / (1.0 + float(slope) ** 2)
    net = Network(activation=act, weights=weights, sigma_w2=s, sigma_b2=0.0, depth=depth)
    summ = spectrum_summary(net, label="candidate", edges=edges_used if need_edges else False)
    row = {"slope": float(slope), "sigma_w2": s, "sigma_b2": 0.0, "network_c0": network_c0(slope, depth),
           objective: _objective(summ, objective), "spread": summ.spread}
    return row, net, summ


def _recommend_slope(depth, weights, objective, c0_min, edges):
    from scipy.optimize import brentq

    if not (isinstance(c0_min, int | float) and 0.0 <= c0_min < 1.0):
        raise ValueError(f"min_c0 (the network's C_f(0) budget) must lie in [0, 1), got {c0_min!r}; e.g. 0.9")
    need_edges = objective != "spread"
    edges_used = True if need_edges else edges
    rows, best = [], None
    for a in (_SLOPE_GRID_COARSE if need_edges else _SLOPE_GRID):
        row, net, summ = _slope_point(a, depth, weights, objective, edges_used, need_edges)
        row["feasible"] = row["network_c0"] >= c0_min
        rows.append(row)
        if row["feasible"] and (best is None or row[objective] < best[0][objective]):
            best = (row, net, summ)
    if best is None:
        raise ValueError(f"no leaky-ReLU slope in [0, 0.98] gives the network's C_f(0) >= {c0_min:g} at depth "
                         f"{depth}; lower min_c0")
    i = rows.index(best[0])
    if i + 1 < len(rows) and not rows[i + 1]["feasible"]:  # the budget binds between rows i and i + 1
        a = brentq(lambda x: network_c0(x, depth) - c0_min, rows[i]["slope"], rows[i + 1]["slope"], xtol=1e-13)
        row, net, summ = _slope_point(a, depth, weights, objective, edges_used, need_edges)
        row["feasible"] = True
        rows.insert(i + 1, row)
        if row[objective] < best[0][objective]:
            best = (row, net, summ)
    row, net, summ = best
    summary = _recommended_summary(net, summ, edges_used if need_edges else False, edges_used)
    params = {key: row[key] for key in ("slope", "sigma_w2", "sigma_b2", "network_c0")}
    definition = (OBJECTIVE_DEFINITIONS[objective] + f"; over the leaky-ReLU slope a in [0, 0.98] with "
                  f"sigma_w2 = 2/(1+a^2), sigma_b2 = 0 and the network's C_f(0) >= {c0_min:g}")
    act = net.layers[0].activation
    return Recommendation("critical-slope", act, params, net, summary, _defaults_table(act, depth, edges),
                          objective, definition, rows)
