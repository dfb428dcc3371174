r"""Deep Kernel Shaping (DKS) and Tailored Activation Transformation (TAT) for plain chains.

A transformed activation is :math:`\hat\phi(x) = \gamma\,(\phi(\alpha x + \beta) + \delta)` (``input_scale``
:math:`\alpha`, ``input_shift`` :math:`\beta`, ``output_scale`` :math:`\gamma`, ``output_shift`` :math:`\delta`,
the names of the ``dks`` package, Martens et al. 2021, arXiv 2110.01765; Zhang et al. 2022, arXiv 2203.08120).
Its *local* maps at unit input variance (:math:`z, z' \sim N(0, 1)`, correlation :math:`c`):

.. math::

    Q(q) = E[\hat\phi(\sqrt q z)^2],\quad Q'(1) = \tfrac12 E[\hat\phi(z)^2 (z^2 - 1)],\quad
    C(c) = \frac{E[\hat\phi(z)\hat\phi(z')]}{Q(1)},\quad C(0) = \frac{E[\hat\phi]^2}{Q(1)},\quad
    C'(1) = \frac{E[\hat\phi'^2]}{Q(1)},\quad C''(1) = \frac{E[\hat\phi''^2]}{Q(1)}.

Conditions (weights of variance 1, no biases, as in ``dks``):

* **DKS**: :math:`Q(1) = 1` (:math:`\gamma`), :math:`C(0) = 0` (:math:`\delta = -E[\phi(\alpha z + \beta)]`),
  :math:`Q'(1) = 1` and :math:`C'(1) = s` solved for :math:`(\alpha, \beta)`, where the local slope :math:`s`
  makes the network's maximal slope :math:`\max_f C_f'(1) = \zeta`; for a chain of :math:`L` layers
  :math:`s = \zeta^{1/L}`.  ReLU: :math:`\beta = \pm 1` fixed, :math:`\alpha` from :math:`C'(1)` alone; leaky
  ReLU: the negative slope and :math:`\beta` are solved (no :math:`\alpha`).
* **TAT, smooth** :math:`\phi`: :math:`Q(1) = 1` (:math:`\gamma`), :math:`Q'(1) = 1`, :math:`C'(1) = 1`,
  :math:`C''(1) = t` solved for :math:`(\alpha, \beta, \delta)`, rejecting solutions with
  :math:`\alpha\gamma \ge 2` (as ``dks`` does); :math:`t` makes :math:`\max_f C_f''(1) = \tau`, for a chain
  :math:`t = \tau/L`.
* **TAT, leaky ReLU**: :math:`\hat\phi = \sqrt{2/(1+a^2)}\,\mathrm{lrelu}_a`, the slope :math:`a` making the
  network's :math:`C_f(0) = \eta`; the local map is
  :math:`C(c) = c + \frac{(1-a)^2}{\pi(1+a^2)}\big(\sqrt{1-c^2} - c\arccos c\big)`.

The network enters only through its *subnetwork maximizing function* :math:`M(x, r)` (TAT paper, appendix):
``subnet_max(x, r)`` returns the largest value over subnetworks of the composed local map ``r`` started at
``x``; :func:`chain` gives the plain chain's (``r`` applied ``depth`` times).  Architectures with residual
blocks plug in by passing their own ``subnet_max`` (the call signature of ``dks``'s ``subnet_max_func``;
:func:`spectral.recommend_spec.spec_subnet_max` derives it from an architecture spec).
The solves follow ``dks``: ``scipy.optimize.root`` (hybr) from the same starting points in the same order
(then 44 uniform draws after ``RandomState(123)``), the first success kept; the Gaussian expectations here
are the project's composite rule (relative error about 1e-13, split at the moved kinks).

Jacobian spectrum (orthogonal weights, :math:`\sigma_w^2 = 1`, :math:`q = 1` at every layer): the law of
:math:`JJ^T` is the free product of :math:`L` copies of :math:`D^2 = \hat\phi'(z)^2`, so
:math:`m_1 = C'(1)^L` and the spread :math:`v = m_2/m_1^2 - 1 = L\,(\mu_2/\mu_1^2 - 1)`
(:math:`\mu_k = E[\hat\phi'^{2k}]`; :math:`v` adds under free multiplication of mean-one laws).  With
Hermite coefficients :math:`\hat\phi = \sum_n a_n \mathrm{He}_n/\sqrt{n!}`: :math:`C''(1) = \sum n(n-1) a_n^2`,
and the large-depth solutions have :math:`\alpha \to 0`, :math:`a_1 \to 1`, :math:`a_2^2 = O(1/L)`,
:math:`a_3^2 = O(L^{-3/2})`, so :math:`\mathrm{Var}(\hat\phi'^2) \to 8 a_2^2 \to 4 C''(1)`:

* TAT smooth: :math:`C''(1) = \tau/L`, hence :math:`v \to 4\tau` (corrections :math:`O(L^{-1/2})`);
* DKS: :math:`C'(1) - Q(1) = \sum (n-1) a_n^2 = \zeta^{1/L} - 1 \approx \ln\zeta/L` with :math:`a_0 = 0`, so
  :math:`C''(1) \approx 2\ln\zeta/L` and :math:`v \to 8\ln\zeta`;
* TAT leaky ReLU: :math:`\mu_1 = 1`, :math:`v = L(1-a^2)^2/(1+a^2)^2 \approx 2\pi L k` with
  :math:`k = (1-a)^2/(\pi(1+a^2))`; the chain :math:`c_{l+1} = c_l + k f(c_l)` from 0 to :math:`\eta` gives
  :math:`Lk \to \int_0^\eta dc/f(c)`, so :math:`v \to 2\pi\int_0^\eta dc/(\sqrt{1-c^2} - c\arccos c)`
  (:func:`leaky_tat_spread_limit`; 28.3 at :math:`\eta = 0.9`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import sympy
from scipy.integrate import quad
from scipy.optimize import brentq, root

from . import gaussian as _g
from .activations import Activation, X, activation

__all__ = ["Transform", "KernelStats", "transform_activation", "kernel_stats", "dks", "tat", "chain",
           "leaky_relu_c_map", "local_c_map", "leaky_tat_spread_limit", "AFFINE_KEYS"]

#: The four affine parameters, in the names of the ``dks`` package.
AFFINE_KEYS = ("input_scale", "input_shift", "output_scale", "output_shift")
#: Largest |residual| of a solved condition accepted (the conditions are met to ~1e-13 by the solver;
#: this leaves room for the quadrature's 1e-13 relative error times O(1) values).
SOLVE_TOL = 1e-9
#: hybr's relative step tolerance: far below ``dks``'s default 1.49e-8, so our roots are the exact ones.
_XTOL = 1e-13
#: dks's first starting values and sampling ranges per parameter (``_ALWAYS_TRY_VALUES``, ``_SAMPLE_RANGE_*``).
_ALWAYS_TRY = {"input_shift": (0.0, 1.0, -1.0), "input_scale": (1.0, 0.1), "output_shift": (0.0, 1.0, -1.0),
               "negative_slope": (0.0, 0.5)}
_RANGE = {"input_shift": (-3.0, 3.0), "input_scale": (0.0, 2.0), "output_shift": (-3.0, 3.0),
          "negative_slope": (0.0, 1.0)}
_NUM_TRIES = 50
_RANDOM_SEED = 123
#: dks switches the fixed ReLU input shift from +1 to -1 above this local slope (the largest C'(1) that a
#: positive shift reaches).
_RELU_SLOPE_SWITCH = 1.466942206924260361


# ------------------------------------------------------------------------------ the transformed activation
def _affine_param(name, value, *, positive):
    if isinstance(value, bool):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    try:
        v = float(value)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a real number, got {value!r}") from exc
    if not math.isfinite(v) or (positive and v <= 0):
        raise ValueError(f"{name} must be finite{' and > 0' if positive else ''}, got {value!r}")
    return v


def _sym(v: float):
    return sympy.Integer(int(v)) if v == int(v) else sympy.Float(v, 53)


def transform_activation(base, *, input_scale=1.0, input_shift=0.0, output_scale=1.0, output_shift=0.0,
                         name: str | None = None, params: tuple = ()) -> Activation:
    r"""The transformed activation :math:`\hat\phi(x) = \gamma\,(\phi(\alpha x + \beta) + \delta)`.

    :math:`\alpha` = ``input_scale`` > 0, :math:`\beta` = ``input_shift``, :math:`\gamma` = ``output_scale`` > 0,
    :math:`\delta` = ``output_shift`` (names and order of the ``dks`` package).  Everything downstream stays
    exact: :math:`\hat\phi' = \gamma\alpha\,\phi'(\alpha x + \beta)`, :math:`\hat\phi'' = \gamma\alpha^2\,
    \phi''(\alpha x + \beta)`; kinks and breakpoints :math:`k` move to :math:`(k - \beta)/\alpha` (Gaussian
    quadrature is split there); a piecewise-constant :math:`\phi'` stays piecewise constant with slopes
    :math:`\gamma\alpha s`, so Bernoulli-type laws of :math:`D^2` carry over; the sympy expression is
    :math:`\gamma(\phi(\alpha X + \beta) + \delta)` with each parameter the exact binary value of its double, so
    arbitrary-precision integration sees the same function as the float route.

    ``params``: further numeric ``(name, value)`` pairs to record; ``name`` defaults to the
    ``transformed(...)`` spelling, which :func:`spectral.activation` parses back to an equal activation.
    The family is ``"transformed"`` (generic quadrature; no closed forms of the base are reused).
    """
    base = activation(base)
    a = _affine_param("input_scale", input_scale, positive=True)
    b = _affine_param("input_shift", input_shift, positive=False)
    g = _affine_param("output_scale", output_scale, positive=True)
    d = _affine_param("output_shift", output_shift, positive=False)
    for pname, value in params:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeError(f"params of a transformed activation must be numbers, got {pname}={value!r}")
    bphi, bdphi, bddphi = base.phi, base.dphi, base.ddphi

    def phi(x):
        return g * (bphi(a * x + b) + d)

    def dphi(x):
        return (g * a) * bdphi(a * x + b)

    ddphi = None
    if bddphi is not None:
        def ddphi(x):
            return (g * a * a) * bddphi(a * x + b)

    def move(k):
        return (float(k) - b) / a if math.isfinite(float(k)) else float(k)

    pieces = None if base.pieces is None else tuple((move(lo), move(hi), g * a * float(s))
                                                    for lo, hi, s in base.pieces)
    expr = None
    if base.expr is not None:
        expr = _sym(g) * (base.expr.subs(X, _sym(a) * X + _sym(b)) + _sym(d))
    if name is None:
        name = (f"transformed({base.name}, input_scale={a!r}, input_shift={b!r}, output_scale={g!r}, "
                f"output_shift={d!r})")
    return Activation(name, phi, dphi, ddphi, expr=expr, kinks=tuple(move(k) for k in base.kinks),
                      pieces=pieces, params=tuple(zip(AFFINE_KEYS, (a, b, g, d), strict=True)) + tuple(params),
                      family="transformed", breakpoints=tuple(move(k) for k in base.breakpoints))


# ------------------------------------------------------------------------------ local maps
@dataclass(frozen=True)
class KernelStats:
    r"""Local Q- and C-map values of an activation at unit input variance (module docstring):
    ``q_value`` :math:`Q(1)`, ``q_slope`` :math:`Q'(1)`, ``c_value_0`` :math:`C(0)`, ``c_slope_1``
    :math:`C'(1)`, ``c_curv_1`` :math:`C''(1)` (``inf`` for activations with kinks)."""

    q_value: float
    q_slope: float
    c_value_0: float
    c_slope_1: float
    c_curv_1: float

    def to_dict(self) -> dict:
        return {"q_value": self.q_value, "q_slope": self.q_slope, "c_value_0": self.c_value_0,
                "c_slope_1": self.c_slope_1, "c_curv_1": self.c_curv_1}


def _moments_at_unit_variance(act: Activation):
    """E[phi^2], E[phi^2 (z^2-1)]/2, E[phi], E[phi'^2], E[phi''^2] for z ~ N(0, 1), one node set."""
    x, w = _g.gaussian_nodes(1.0, act.breakpoints or act.kinks)
    f = np.asarray(act.phi(x), dtype=float)
    f1 = np.asarray(act.dphi(x), dtype=float)
    f2 = math.inf if act.kinks or act.ddphi is None else float(np.sum(w * np.asarray(act.ddphi(x), float) ** 2))
    return (float(np.sum(w * f * f)), float(np.sum(w * f * f * (x * x - 1.0))) / 2.0, float(np.sum(w * f)),
            float(np.sum(w * f1 * f1)), f2)


def kernel_stats(act) -> KernelStats:
    r"""Local map values :math:`Q(1), Q'(1), C(0), C'(1), C''(1)` of ``act`` (any activation spec).

    :math:`Q'(1)` uses the derivative of the Gaussian weight, :math:`\frac{d}{dq}E[g(\sqrt q z)] =
    E[g(x)(x^2/q - 1)]/(2q)`, valid across kinks; :math:`C''(1)` is ``inf`` when :math:`\phi'` jumps
    (a Dirac mass in :math:`\phi''`) and NaN when :math:`\phi''` is unknown without kinks.
    """
    act = activation(act)
    q, qs, m, d1, d2 = _moments_at_unit_variance(act)
    if act.ddphi is None and not act.kinks:
        d2 = math.nan
    return KernelStats(q, qs, m * m / q, d1 / q, d2 / q)


def local_c_map(act, c) -> float:
    r"""The local C map :math:`C(c) = E[\hat\phi(z)\hat\phi(z')]/Q(1)` at unit input variance (two-dimensional
    quadrature of :func:`spectral.meanfield.c_map`)."""
    from .meanfield import c_map

    act = activation(act)
    c = float(c)
    if not -1.0 <= c <= 1.0:
        raise ValueError(f"c (the input correlation) must lie in [-1, 1], got {c!r}")
    q = _moments_at_unit_variance(act)[0]
    return float(c_map(act, c, 1.0, 1.0 / q, 0.0))


def leaky_relu_c_map(c, slope):
    r"""Local C map of the normalised leaky ReLU (``dks``'s ``_leaky_relu_cmap``):
    :math:`C(c) = \big[(1-a)^2(\sqrt{1-c^2} + (\pi - \arccos c)\,c)/\pi + 2ac\big]/(1+a^2)`."""
    c = np.clip(np.asarray(c, dtype=float), -1.0, 1.0)
    a = float(slope)
    out = ((1 - a) ** 2 * (np.sqrt(1 - c * c) + (np.pi - np.arccos(c)) * c) / np.pi + 2 * a * c) / (1 + a * a)
    return float(out) if out.ndim == 0 else out


def leaky_tat_spread_limit(eta: float) -> float:
    r"""Large-depth limit of the spread of TAT leaky ReLU networks (orthogonal weights):
    :math:`2\pi\int_0^\eta dc/(\sqrt{1-c^2} - c\arccos c)` (module docstring)."""
    eta = _check_unit("eta", eta, open_top=True)
    val, _ = quad(lambda c: 1.0 / (math.sqrt(1 - c * c) - c * math.acos(c)), 0.0, eta, epsabs=0, epsrel=1e-13)
    return 2 * math.pi * val


# ------------------------------------------------------------------------------ subnetworks
def chain(depth: int) -> Callable[[float, Callable[[float], float]], float]:
    r"""Subnetwork maximizing function of a plain chain of ``depth`` nonlinear layers: :math:`r^{\circ L}(x)`
    (the whole chain is its largest subnetwork for the increasing maps used here)."""
    depth = _check_depth(depth)

    def subnet_max(x, r):
        for _ in range(depth):
            x = r(x)
        return x

    return subnet_max


def _check_depth(depth) -> int:
    if isinstance(depth, bool) or not isinstance(depth, int | np.integer) or depth < 1:
        raise ValueError(f"depth must be an integer >= 1 (the number of nonlinear layers of the chain), got "
                         f"{depth!r}; e.g. depth=100")
    return int(depth)


def _check_unit(name, value, *, open_top=False):
    v = _affine_param(name, value, positive=False)
    if not (0.0 <= v < 1.0 if open_top else 0.0 <= v <= 1.0):
        raise ValueError(f"{name} must lie in [0, 1{')' if open_top else ']'}, got {value!r}")
    return v


def _solve_increasing(fn, target, lo, hi, what):
    """x in [lo, hi) with fn(x) = target for increasing fn; hi = inf expands the bracket by doubling."""
    a, b = lo, (2.0 * lo + 1.0 if math.isinf(hi) else hi)
    for _ in range(200):
        if not math.isinf(hi) or fn(b) >= target:
            break
        a, b = b, 2.0 * b
    fa, fb = fn(a) - target, fn(b) - target
    if fa > 0 or fb < 0:
        raise ValueError(f"the target {what} = {target:g} is not reachable for this network (the maximal "
                         f"function runs from {fa + target:g} to {fb + target:g}); try a different value")
    if fa == 0:
        return a
    return brentq(lambda t: fn(t) - target, a, b, xtol=1e-15, rtol=4 * np.finfo(float).eps, maxiter=200)


# ------------------------------------------------------------------------------ the solves
@dataclass(frozen=True)
class Transform:
    r"""A solved DKS or TAT transform.

    Attributes
    ----------
    method : "dks" | "tat"
    base : Activation
    activation : Activation
        :math:`\hat\phi`, usable everywhere an activation is (its name is the spelling that rebuilds it).
    parameters : dict
        ``input_scale``, ``input_shift``, ``output_scale``, ``output_shift`` as in ``dks`` (identity values where
        ``dks`` leaves one out), plus ``slope`` (the negative slope) for leaky ReLU.
    targets : dict
        The network targets (``zeta`` or ``tau``/``eta``, ``depth``) and the local targets derived from them.
    kernel : KernelStats
        The achieved local map values (checked against the targets to :data:`SOLVE_TOL`).
    """

    method: str
    base: Activation
    activation: Activation = field(repr=False)
    parameters: dict
    targets: dict
    kernel: KernelStats = field(repr=False)

    def to_dict(self) -> dict:
        return {"method": self.method, "base": self.base.name, "activation": self.activation.name,
                "parameters": dict(self.parameters), "targets": dict(self.targets), "kernel": self.kernel.to_dict()}


def _leaky_base(slope: float) -> Activation:
    return activation("leaky_relu", alpha=float(slope))


def _build(base: Activation, family: str, p: dict, c0_target):
    """phi-hat from the free parameters p: output shift and scale computed as in dks."""
    slope = p.get("negative_slope")
    core = _leaky_base(slope) if slope is not None else base
    a, b = p.get("input_scale", 1.0), p.get("input_shift", 0.0)
    if not (math.isfinite(a) and a > 0 and math.isfinite(b)) or (slope is not None and not math.isfinite(slope)):
        return None, None
    pre = transform_activation(core, input_scale=a, input_shift=b)
    q, _, m, _, _ = _moments_at_unit_variance(pre)
    d = math.sqrt(c0_target) - m if c0_target is not None else p["output_shift"]
    second = q + 2 * d * m + d * d
    if not (math.isfinite(second) and second > 0):
        return None, None
    params = {"input_scale": a, "input_shift": b, "output_scale": 1.0 / math.sqrt(second), "output_shift": d}
    return transform_activation(core, **params), params


def _residuals(act, targets):
    k = kernel_stats(act)
    vals = {"q_slope": k.q_slope, "c_slope_1": k.c_slope_1, "c_curv_1": k.c_curv_1}
    return np.array([vals[key] - t for key, t in targets.items()]), k


def _solve(base: Activation, opt: tuple, const: dict, targets: dict, c0_target, reject=None):
    """dks's search: hybr from the fixed starting points, then seeded uniform draws; first accepted success."""
    starts = [tuple(v) for v in np.array(np.meshgrid(*[_ALWAYS_TRY[n] for n in opt], indexing="ij"))
              .reshape(len(opt), -1).T]
    rng = np.random.RandomState(_RANDOM_SEED)
    starts += [tuple(rng.uniform(*_RANGE[n]) for n in opt) for _ in range(_NUM_TRIES - len(starts))]

    def error(v):
        act, _ = _build(base, base.family, {**const, **dict(zip(opt, v, strict=True))}, c0_target)
        if act is None:
            return np.full(len(targets), 1e6)
        return _residuals(act, targets)[0]

    for start in starts:
        sol = root(error, np.asarray(start, dtype=float), method="hybr", options={"xtol": _XTOL})
        if not sol.success:
            continue
        p = {**const, **dict(zip(opt, (float(v) for v in sol.x), strict=True))}
        if p.get("input_shift", 0.0) < 0 and "input_shift" not in const and _is_odd(base):
            # phi odd: (beta, delta) and (-beta, -delta) give phi-hat(x) and -phi-hat(-x), the same kernels and
            # spectra; hybr's start at beta = 0 is a symmetric point from which either side is reached (dks keeps
            # whichever its path gives), so the convention here is beta >= 0
            p = {k: (-v if k in ("input_shift", "output_shift") else v) for k, v in p.items()}
        act, params = _build(base, base.family, p, c0_target)
        if act is None:
            continue
        res, k = _residuals(act, targets)
        if np.max(np.abs(res)) > SOLVE_TOL or (reject is not None and reject(params)):
            continue
        if "negative_slope" in p:
            params["slope"] = p["negative_slope"]
        return params, k
    raise ValueError(f"no transform parameters found for {base.name!r} with the targets {targets} "
                     f"({_NUM_TRIES} starting points); try a smaller depth or a less extreme target")


_ODD_GRID = np.linspace(0.1, 6.0, 60)


def _is_odd(act: Activation) -> bool:
    """phi(-x) = -phi(x) on a grid (to 4 ulp of |phi|): tanh, erf, sin, hard_tanh, linear."""
    f, g = np.asarray(act.phi(_ODD_GRID), float), np.asarray(act.phi(-_ODD_GRID), float)
    return bool(np.all(np.abs(f + g) <= 4 * np.finfo(float).eps * np.abs(f)))


def _resolve_net(depth, subnet_max):
    if subnet_max is None:
        if depth is None:
            raise ValueError("depth is required (the number of nonlinear layers of the chain: the local targets "
                             "depend on it), e.g. depth=100; or pass subnet_max= for another architecture")
        depth = _check_depth(depth)
        return depth, chain(depth)
    if not callable(subnet_max):
        raise TypeError("subnet_max must be a callable (x, r) -> float, the subnetwork maximizing function")
    return (None if depth is None else _check_depth(depth)), subnet_max


def dks(act, *, zeta=1.5, depth=None, q_slope=1.0, subnet_max=None) -> Transform:
    r"""The DKS transform of ``act`` (module docstring): :math:`Q(1) = 1, Q'(1) =` ``q_slope``, :math:`C(0) = 0`,
    network :math:`\max_f C_f'(1) = \zeta` (> 1).

    Parameters
    ----------
    act : activation spec (registry name or Activation)
    zeta : float > 1
        The network's maximal C-map slope (``dks``'s ``c_slope_1_target``, default 1.5).
    depth : int
        Nonlinear layers of the plain chain (local slope :math:`\zeta^{1/L}`); required unless ``subnet_max``.
    q_slope : float
        Local :math:`Q'(1)` (``local_q_slope_target``, default 1; not used for ReLU, as in ``dks``).
    subnet_max : callable (x, r) -> float, optional
        Subnetwork maximizing function of another architecture (``dks``'s ``subnet_max_func``).
    """
    zeta = _affine_param("zeta", zeta, positive=True)
    if zeta <= 1.0:
        raise ValueError(f"zeta (the network's maximal C'(1)) must be > 1, got {zeta!r}; the DKS default is 1.5")
    q_slope = _affine_param("q_slope", q_slope, positive=True)
    base = activation(act)
    depth, smax = _resolve_net(depth, subnet_max)
    return _dks_cached(base, zeta, depth, q_slope, smax if subnet_max is not None else None)


@lru_cache(maxsize=64)
def _dks_cached(base, zeta, depth, q_slope, subnet_max):
    smax = subnet_max or chain(depth)
    local = _solve_increasing(lambda x: smax(1.0, lambda y: x * y), zeta, 1.0, math.inf, "zeta")
    if depth is not None and subnet_max is None:
        local = zeta ** (1.0 / depth)  # the chain's closed form (brentq gives it to rounding)
    targets = {"zeta": zeta, "depth": depth, "q_slope": q_slope, "local_c_slope_1": local}
    if base.family == "relu":
        shift = 1.0 if local < _RELU_SLOPE_SWITCH else -1.0
        params, k = _solve(base, ("input_scale",), {"input_shift": shift}, {"c_slope_1": local}, 0.0)
    elif base.family == "leaky_relu":
        params, k = _solve(base, ("negative_slope", "input_shift"), {},
                           {"q_slope": q_slope, "c_slope_1": local}, 0.0)
    else:
        params, k = _solve(base, ("input_scale", "input_shift"), {}, {"q_slope": q_slope, "c_slope_1": local}, 0.0)
    return _finish("dks", base, params, targets, k, f"zeta={zeta!r}", depth)


def tat(act, *, tau=0.3, eta=0.9, depth=None, subnet_max=None) -> Transform:
    r"""The TAT transform of ``act`` (module docstring).

    Smooth activations: :math:`Q(1) = Q'(1) = C'(1) = 1` and the network's :math:`\max_f C_f''(1) = \tau`
    (``c_curve_target``, default 0.3; local :math:`\tau/L` for a chain).  Leaky ReLU (``"leaky_relu"``, any
    given slope is replaced): output scale :math:`\sqrt{2/(1+a^2)}` and slope :math:`a` with the network's
    :math:`C_f(0) = \eta` (``c_val_0_target``, default 0.9).  ReLU is refused (as in ``dks``).
    """
    base = activation(act)
    depth, smax = _resolve_net(depth, subnet_max)
    key = smax if subnet_max is not None else None
    if base.family == "relu":
        raise ValueError("TAT does not support relu (the C map cannot be shaped); use leaky_relu, e.g. "
                         "tat(leaky_relu, eta=0.9, depth=100)")
    if base.family == "leaky_relu":
        return _tat_leaky(_check_unit("eta", eta), depth, key)
    tau = _affine_param("tau", tau, positive=True)
    if base.kinks:
        raise ValueError(f"TAT for smooth activations needs C''(1) < inf, but {base.name!r} has kinks at "
                         f"{base.kinks}; use a smooth activation or leaky_relu")
    if base.ddphi is None:
        raise ValueError(f"TAT needs phi'' of {base.name!r}; build the activation from a sympy expression")
    return _tat_smooth(base, tau, depth, key)


@lru_cache(maxsize=64)
def _tat_smooth(base, tau, depth, subnet_max):
    smax = subnet_max or chain(depth)
    local = tau / depth if subnet_max is None else _solve_increasing(
        lambda x: smax(0.0, lambda y: x + y), tau, 0.0, math.inf, "tau")
    targets = {"tau": tau, "depth": depth, "local_c_curv_1": local}
    params, k = _solve(base, ("input_scale", "input_shift", "output_shift"), {},
                       {"q_slope": 1.0, "c_slope_1": 1.0, "c_curv_1": local}, None,
                       reject=lambda p: p["input_scale"] * p["output_scale"] >= 2.0)
    return _finish("tat", base, params, targets, k, f"tau={tau!r}", depth)


@lru_cache(maxsize=64)
def _tat_leaky(eta, depth, subnet_max):
    smax = subnet_max or chain(depth)
    reach = smax(0.0, lambda c: leaky_relu_c_map(c, 0.0))  # slope 0 (ReLU) is the most nonlinear leaky ReLU
    if eta > reach:
        raise ValueError(f"eta = {eta:g} is not reachable for this network: its C_f(0) is at most {reach:.6g} (slope "
                         f"0); use eta < {reach:.6g} or a deeper network")
    slope = _solve_increasing(lambda a: 1.0 - smax(0.0, lambda c: leaky_relu_c_map(c, a)), 1.0 - eta,
                              0.0, 1.0, "1 - eta")
    params = {"input_scale": 1.0, "input_shift": 0.0, "output_scale": math.sqrt(2.0 / (1.0 + slope * slope)),
              "output_shift": 0.0, "slope": slope}
    base = _leaky_base(slope)
    targets = {"eta": eta, "depth": depth, "network_c_value_0": smax(0.0, lambda c: leaky_relu_c_map(c, slope))}
    k = kernel_stats(transform_activation(base, output_scale=params["output_scale"]))
    return _finish("tat", activation("leaky_relu"), params, targets, k, f"eta={eta!r}", depth, core=base)


def _finish(method, base, params, targets, k, spec, depth, core=None):
    core = core if core is not None else (_leaky_base(params["slope"]) if "slope" in params else base)
    label = "leaky_relu" if base.family in ("leaky_relu", "relu") else base.name
    name = f"{method}({label}, {spec}" + (f", depth={depth})" if depth is not None else ", subnet_max=custom)")
    extra = tuple((key, float(v)) for key, v in targets.items() if isinstance(v, float))
    act = transform_activation(core, **{key: params[key] for key in AFFINE_KEYS}, name=name, params=extra)
    return Transform(method, base, act, params, targets, k)
