r"""The work of one task, run on a Dask worker: the cells of a run of depths, through the public API.

Every cell is what a single-network call gives: :class:`spectral.product.Network` with
:math:`\sigma_b^2` from :func:`spectral.meanfield.critical_point` on the critical line,
:func:`spectral.product.jacobian_law`, ``law.log_moments``, :func:`spectral.density.lambda_max`,
:func:`spectral.density.support`, ``law.density(points)`` with :func:`spectral.density.density_summary`,
and :func:`spectral.montecarlo.sample_jacobians` for sampled cells.  The mean field (and the critical
bias) is solved once per task and shared by its depths.

A step that raises is caught: the cell is recorded with ``failed = True`` and the exception's type and
text in ``message``, its other quantities still computed; nothing a cell does aborts the sweep.
BLAS runs single-threaded in each task (``threadpoolctl``): the worker processes are the parallelism.
"""

from __future__ import annotations

import math
import time
import warnings

import numpy as np

__all__ = ["run_task", "theory_cell", "monte_carlo_cell", "describe_error"]

#: length of an exception's text kept in ``message`` (tracebacks and long reprs are cut here)
MESSAGE_CHARS = 300


def describe_error(step: str, exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    if len(text) > MESSAGE_CHARS:
        text = text[: MESSAGE_CHARS - 3] + "..."
    return f"{step}: {type(exc).__name__}: {text}"


def run_task(payload: dict) -> dict:
    """Compute the cells of one task.

    ``payload``: ``params`` (activation, weights, sigma_w2, sigma_b2 or None for the critical line, width
    or None), ``depths`` (``((position, depth), ...)``), ``spec`` (:class:`~spectral.sweeps.spec.SweepSpec`).
    Returns ``{"records": [(position, record), ...], "spectral": version}``, a record being a dict with
    ``values`` (variable -> float or list), ``failed``, ``certified``, ``message``, ``seconds`` and
    ``sigma_b2``.
    """
    from threadpoolctl import threadpool_limits

    import spectral

    params, spec = payload["params"], payload["spec"]
    with threadpool_limits(limits=1, user_api="blas"), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # certificates and failures are recorded per cell instead
        mf, sigma_b2, mf_error = _mean_field(params)
        cell = monte_carlo_cell if spec.monte_carlo else theory_cell
        records = [(j, cell(params, depth, spec, mf=mf, sigma_b2=sigma_b2, mf_error=mf_error))
                   for j, depth in payload["depths"]]
    return {"records": records, "spectral": spectral.__version__}


def _mean_field(params):
    """(MeanField or None, sigma_b2, error message or "")."""
    from spectral.meanfield import critical_point, mean_field

    try:
        if params["sigma_b2"] is None:
            mf = critical_point(params["activation"], sigma_w2=params["sigma_w2"])
            return mf, float(mf.sigma_b2), ""
        return mean_field(params["activation"], params["sigma_w2"], params["sigma_b2"]), params["sigma_b2"], ""
    except Exception as exc:  # recorded in the cells, never raised
        step = "critical point" if params["sigma_b2"] is None else "mean field"
        sigma_b2 = math.nan if params["sigma_b2"] is None else params["sigma_b2"]
        return None, sigma_b2, describe_error(step, exc)


class _Cell:
    """Accumulates one cell's values, failures and certificate."""

    def __init__(self, sigma_b2, spec):
        self.t0 = time.perf_counter()
        self.allowed = frozenset(spec.variables())
        self.values: dict = {}
        self.notes: list = []
        self.failed = False
        self.certified = True
        self.sigma_b2 = sigma_b2

    def step(self, name, fn, *args):
        try:
            self.values.update({k: v for k, v in fn(*args).items() if k in self.allowed})
        except Exception as exc:  # a failing step is recorded, the others still run
            self.fail(describe_error(name, exc))

    def fail(self, message):
        self.failed = True
        self.certified = False
        self.notes.append(message)

    def uncertified(self, reason):
        self.certified = False
        self.notes.append(reason)

    def record(self) -> dict:
        return {"values": self.values, "failed": self.failed, "certified": self.certified and not self.failed,
                "message": "; ".join(self.notes), "seconds": time.perf_counter() - self.t0,
                "sigma_b2": float(self.sigma_b2)}


def _network(params, sigma_b2, depth):
    from spectral.product import Network

    return Network(activation=params["activation"], weights=params["weights"], sigma_w2=params["sigma_w2"],
                   sigma_b2=sigma_b2, depth=int(depth))


# ------------------------------------------------------------------------------------------------- theory
def theory_cell(params, depth, spec, *, mf=None, sigma_b2=None, mf_error="") -> dict:
    """One theory cell (see :mod:`spectral.sweeps.spec` for the quantities)."""
    from spectral.product import jacobian_law

    cell = _Cell(sigma_b2, spec)
    qs = set(spec.quantities)
    if mf_error:
        cell.fail(mf_error)
        if params["sigma_b2"] is None:  # no critical bias: there is no network to compute
            return cell.record()
    elif "meanfield" in qs:
        cell.step("meanfield", lambda m: {"q_star": m.q_star, "chi1": m.chi1, "xi_q": m.xi_q, "xi_c": m.xi_c}, mf)
    try:
        law = jacobian_law(_network(params, sigma_b2, depth))
    except Exception as exc:  # recorded
        cell.fail(describe_error("network", exc))
        return cell.record()
    if qs & {"m1", "m2", "variance", "spread", "moments"}:
        cell.step("moments", _moment_values, law, spec)
    if "lambda_max" in qs:
        cell.step("lambda_max", _lambda_max, law)
    if "edges" in qs:
        cell.step("edges", _edges, law)
    if "atoms" in qs:
        cell.step("atoms", lambda lw: {"atom_zero": _atom_zero(lw)}, law)
    if spec.needs_density:
        cell.step("density", _density_values, law, spec, cell)
    return cell.record()


def _moment_values(law, spec) -> dict:
    """m1, m2, variance, spread and log m_k from ``law.log_moments(max(k, 2))`` (the call of
    ``spectral moments --k K``)."""
    lm = np.asarray(law.log_moments(max(spec.k, 2)), dtype=float)
    return _from_log_moments(lm, spec)


def _from_log_moments(lm, spec) -> dict:
    qs = set(spec.quantities)
    with np.errstate(over="ignore"):
        m1, m2 = float(np.exp(lm[0])), float(np.exp(lm[1]))
        out = {"m1": m1, "m2": m2}
        if "variance" in qs:  # m2 (1 - m1^2/m2), finite as long as m2 is
            out["variance"] = float(np.exp(lm[1]) * -math.expm1(min(2 * lm[0] - lm[1], 0.0)))
        if "spread" in qs:  # m2/m1^2 - 1, finite at any depth
            out["spread"] = float(np.expm1(lm[1] - 2 * lm[0]))
    if "moments" in qs:
        out["log_moments"] = [float(v) for v in lm[: spec.k]]
    return out


def _lambda_max(law) -> dict:
    from spectral.density import lambda_max

    return {"lambda_max": float(lambda_max(law))}


def _edges(law) -> dict:
    from spectral.density import support

    sup = support(law)
    lo, hi = (math.nan, math.nan) if sup is None else sup
    return {"support_lo": float(lo), "support_hi": float(hi)}


def _atom_zero(law) -> float:
    return float(sum(float(p) for a, p in law.atoms if float(a) == 0.0))


def condition_levels(atom_zero: float, condition_quantiles) -> tuple:
    """Levels of the full law at which the nonzero part has the condition quantiles:
    :math:`a_0 + q (1 - a_0)` for an atom :math:`a_0` at zero."""
    return tuple(atom_zero + q * (1.0 - atom_zero) for q in condition_quantiles)


def _density_values(law, spec, cell) -> dict:
    from spectral.density import density_summary

    res = law.density(points=spec.points)
    if not res.certified:
        cell.uncertified(f"density not certified: {res.reason}")
    out = {}
    if "quantiles" in spec.quantities:
        out["quantiles"] = _summary_quantiles(density_summary, res, spec.quantile_levels)
    if "condition" in spec.quantities:
        lo, hi = _summary_quantiles(density_summary, res, condition_levels(_atom_zero(law),
                                                                           spec.condition_quantiles))
        out["condition"] = math.sqrt(hi / lo) if lo > 0 else math.inf
    return out


def _summary_quantiles(density_summary, res, levels) -> list:
    values = list(density_summary(res, quantiles=tuple(levels))["diagnostics"]["quantiles"].values())
    if len(values) != len(levels):
        raise ValueError(f"quantile levels {levels} are not distinct at 6 digits")
    return [math.nan if v is None else float(v) for v in values]


# ------------------------------------------------------------------------------------------- Monte Carlo
def monte_carlo_cell(params, depth, spec, *, mf=None, sigma_b2=None, mf_error="") -> dict:
    """One sampled cell: ``sample_jacobians`` of the cell's network with the sweep's seed (one thread)."""
    from spectral.montecarlo import sample_jacobians

    cell = _Cell(sigma_b2, spec)
    if mf_error and params["sigma_b2"] is None:
        cell.fail(mf_error)
        return cell.record()
    try:
        samples = sample_jacobians(_network(params, sigma_b2, depth), width=params["width"],
                                   n_samples=spec.samples, mode=spec.mode, backend=spec.backend, seed=spec.seed,
                                   threads=1, progress=False)
    except Exception as exc:  # recorded
        cell.fail(describe_error("sampling", exc))
        return cell.record()
    cell.notes.append(f"sampled: {samples.method}")
    cell.step("statistics", sampled_statistics, samples, spec)
    return cell.record()


def sampled_statistics(samples, spec) -> dict:
    r"""Statistics of a :class:`~spectral.montecarlo.JacobianSamples` (the Monte Carlo quantities).

    Quantiles are empirical (``inverted_cdf``: sample points, no interpolation) of the eigenvalues pooled
    over networks; ``condition`` the ratio of pooled nonzero singular-value quantiles; ``lambda_max`` the
    mean over networks of the top eigenvalue.
    """
    qs = set(spec.quantities)
    ls = np.asarray(samples.log_singular_values, dtype=float)
    out = _from_log_moments(np.asarray(samples.log_moments(max(spec.k, 2)), dtype=float), spec)
    out.update(_sampled_stderr(samples))
    if "lambda_max" in qs:
        with np.errstate(over="ignore"):
            out["lambda_max"] = float(np.mean(np.exp(2.0 * ls[:, 0])))
    if "atoms" in qs:
        out["atom_zero"] = float(samples.atom_at_zero)
    if "quantiles" in qs:
        q2 = np.quantile(2.0 * ls.ravel(), spec.quantile_levels, method="inverted_cdf")
        with np.errstate(over="ignore"):
            out["quantiles"] = [float(v) for v in np.exp(q2)]
    if "condition" in qs:
        out.update(_sampled_condition(ls, spec))
    return out


def _sampled_stderr(samples) -> dict:
    try:
        _mean, err = samples.moments(2)
    except OverflowError:  # eigenvalues beyond the float range: no stderr
        return {"m1_stderr": math.nan, "m2_stderr": math.nan}
    return {"m1_stderr": float(err[0]), "m2_stderr": float(err[1])}


def _sampled_condition(ls, spec) -> dict:
    nonzero = ls[np.isfinite(ls)]
    if nonzero.size == 0:
        return {"condition": math.nan, "condition_finite": math.nan}
    lo, hi = np.quantile(nonzero, spec.condition_quantiles, method="inverted_cdf")
    per_network = [float(row[np.isfinite(row)].max() - row[np.isfinite(row)].min()) for row in ls
                   if np.isfinite(row).any()]
    with np.errstate(over="ignore"):
        return {"condition": float(np.exp(hi - lo)), "condition_finite": float(np.exp(np.median(per_network)))}
