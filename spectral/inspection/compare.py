r"""Predicted law against the measured spectrum of one model: statistics, bands and verdict.

The statistics are those of :func:`spectral.validate` (docs/design.md and the :mod:`spectral.validation`
docstring), adapted to what one model can show: all inputs see the *same* weights, so the spread across
inputs is not the spread across networks, and every band is the across-network one.

*m_1 (scale).*  Across networks of these widths :math:`\log \hat m_1` has mean ``log_m1_mean`` and standard
deviation ``log_m1_sd`` (:func:`spectral.finite_width.finite_width`, plain chains).  With the measured
:math:`\bar m_1` (mean over inputs) and its standard error :math:`se` (across inputs, and probes in the
matrix-free path), :math:`z = (\log \bar m_1 - \texttt{log\_m1\_mean})/\sqrt{\texttt{log\_m1\_sd}^2 +
(se/\bar m_1)^2}` and the check passes when :math:`|z| <` ``z_threshold`` (4, as ``validate``).  Averaging one
network over inputs can only shrink the spread of a single input's :math:`\hat m_1`, so the band is
conservative.  Specs other than plain chains (residual blocks, normalisations) have no finite-width formula:
their ``log_m1_sd`` is the standard deviation of :math:`\log \hat m_1` over :data:`SPEC_BAND_NETWORKS`
networks of the same spec and widths sampled by :func:`spectral.architecture.sample_spec` (its relative error
is about :math:`1/\sqrt{2(K-1)} = 18\%`, well inside the threshold's margin), centred on the log-normal mean
:math:`\log m_1 - \frac12 \texttt{log\_m1\_sd}^2` of the theory, as for plain chains; at widths beyond
:data:`SPEC_BAND_MAX_WIDTH` (where sampling costs more than the measurement) the check is unavailable.

*Shape (KS).*  The measured eigenvalues are rescaled by :math:`m_1^{th}/\bar m_1` (the scale is the m_1
check's business: a single network's common random scale, ``log_m1_sd``, would otherwise dominate) and
compared with the theory CDF, rank-adjusted as in ``validate`` (:func:`spectral.distribution_stats.
distribution_stats`, with the predicted length-mode outliers removed).  One network's eigenvalues are rigid
(they fluctuate less than i.i.d. values) and the estimated scale only lowers the statistic (Lilliefors), so
the bound is the i.i.d. one for one network, :math:`K_{0.999}/\sqrt{N_L - k} +` :data:`CDF_TOL`
(:math:`k` outliers removed); pooling the inputs cannot make the sampling error larger.  In the matrix-free
path the statistic is the distance of the theory CDF from the band in which the Lanczos quadrature places
the measured CDF (Chebyshev--Markov--Stieltjes: :func:`_ks_matrix_free`), and the bound adds the probe noise
(:math:`\operatorname{Var}(q^T P q) \le 2/N_L` for a spectral projector :math:`P` and a Rademacher probe,
so ``z_threshold`` :math:`\sqrt{2/(N_L R)}` for :math:`R` runs).  The theory CDF is used only
when its density is certified; otherwise the check is unavailable and the verdict "incomplete".

*Outlier.*  Where :func:`spectral.outliers.length_outliers` predicts the length mode (biases, orthogonal
weights), the median over inputs of the smallest nonzero singular value must lie within
:data:`spectral.outliers.RATIO_RANGE` of it (dense path; matrix-free: not resolved, reported unavailable).

*Reported, not thresholded*: moments :math:`m_2..m_4`, the spread :math:`v = m_2/m_1^2 - 1`,
:math:`\lambda_{\max}`, the bulk condition number :math:`\sqrt{\lambda_{\max}/\lambda_{0.01}}` (the 1%
quantile, :data:`spectral.outliers.BULK_QUANTILE`; dense path only) and the Wasserstein-1 distance.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from ..distribution_stats import KOLMOGOROV_999, distribution_stats, theory_cdf, theory_certificate, theory_lambda_max
from ..montecarlo import JacobianSamples
from ..outliers import BULK_QUANTILE, RATIO_RANGE, bulk_edges, condition_numbers, length_outliers

__all__ = ["compare", "CDF_TOL", "Z_THRESHOLD", "SPEC_BAND_NETWORKS", "SPEC_BAND_MAX_WIDTH"]

#: Accuracy budget of the theory CDF (the density certificate's tolerance), added to the KS bound.
CDF_TOL = 1e-6
#: Bottom of the logarithmic grid of :func:`spectral.outliers.bulk_edges` relative to lambda_max (12 decades, with
#: a relative margin for rounding): a 1% quantile found there is only an upper bound of the true one.
_GRID_BOTTOM = 1e-12 * (1 + 1e-9)
#: Pass threshold on |z| of the m_1 check (validate's default: Gaussian false-alarm rate 6.3e-5).
Z_THRESHOLD = 4.0
#: Networks sampled for the finite-width band of a spec without a formula: the sd's relative error is ~18%.
SPEC_BAND_NETWORKS = 16
#: Widest layer for which that band is sampled: 16 SVDs of 1024 x 1024 per layer take seconds; wider models
#: take the matrix-free path because dense Jacobians are too costly, and so would the band's networks.
SPEC_BAND_MAX_WIDTH = 1024
#: Seed of the band's networks (fixed: the band is a property of the spec, not of the model's draw).
SPEC_BAND_SEED = 20261202


def _predicted(prediction, distribution: bool, unavailable: dict, notes: list) -> tuple[dict, list]:
    law, net = prediction.law, prediction.network
    mom = np.asarray(law.moments(4), dtype=float)
    out = {"m1": float(mom[0]), "spread": float(mom[1] / mom[0] ** 2 - 1.0), "lambda_max": None,
           "condition": None, "moments": mom}
    outliers: list = []
    if not distribution:
        unavailable["distribution"] = "not requested (distribution=False)"
        return out, outliers
    why = theory_certificate(law)
    if why is not None:
        unavailable["distribution"] = why
        return out, outliers
    out["lambda_max"] = theory_lambda_max(law)
    edges = bulk_edges(law)
    if net is not None:
        outliers = length_outliers(net, law, edges)
    cond = condition_numbers(law, outliers, edges)
    out["condition"] = cond["without_outliers"]
    if sum(float(p) for a, p in law.atoms if float(a) == 0.0) >= BULK_QUANTILE:
        out["condition"] = math.inf  # the 1% quantile itself is 0
    elif edges is not None and edges[0] <= _GRID_BOTTOM * edges[1]:
        out["condition"] = None  # the quantile is at the bottom of bulk_edges' grid: only a lower bound
        out["condition_lower_bound"] = math.sqrt(1.0 / _GRID_BOTTOM)
        notes.append(f"predicted condition number > {math.sqrt(1.0 / _GRID_BOTTOM):.3g}: the 1% quantile lies more "
                     "than 12 decades below lambda_max (the quantile grid of spectral.outliers.bulk_edges)")
    out["condition_with_outliers"] = cond["with_outliers"]
    out["outliers"] = outliers
    return out, outliers


def _measured(meas, law, notes) -> dict:
    """Measured summary; the bulk condition number is inf only where the predicted law itself has the 1%
    quantile at 0 (or no law is known and the rank is structurally deficient); a quantile lost below the
    dtype's resolution gives None and a note."""
    mom = np.asarray(meas.moments, dtype=float)
    out = {"m1": float(mom[0]), "spread": float(mom[1] / mom[0] ** 2 - 1.0) if mom[0] > 0 else None,
           "lambda_max": float(meas.lambda_max), "condition": None, "moments": mom,
           "moments_se": np.asarray(meas.moments_se, dtype=float)}
    if meas.eigenvalues is not None:
        pooled = meas.eigenvalues.ravel()
        lo = float(np.quantile(pooled, BULK_QUANTILE))
        atom = None if law is None else sum(float(p) for a, p in law.atoms if float(a) == 0.0)
        if lo > 0:
            out["condition"] = math.sqrt(float(np.max(pooled)) / lo)
        elif atom is not None and atom >= BULK_QUANTILE:
            out["condition"] = math.inf
        else:
            notes.append("measured condition number not resolved: the 1% quantile of the eigenvalues is below the "
                         "resolution of J in the model's dtype (s < s_max N eps)")
    return out


def _spec_band(prediction, meas) -> dict | None:
    """Sampled finite-width band of log m_1 for a spec without a formula (module docstring); None when the
    model is too wide or the spec cannot be sampled."""
    from ..architecture import sample_spec

    if max(meas.widths) > SPEC_BAND_MAX_WIDTH:
        return None
    samples = sample_spec(prediction.spec, width=int(meas.widths[0]), n_samples=SPEC_BAND_NETWORKS,
                          seed=SPEC_BAND_SEED, require_resolved=False)  # m_1 needs only the largest values
    log_m1 = np.log(samples.per_network_moments(1)[:, 0])
    sd = float(np.std(log_m1, ddof=1))
    theory = float(np.asarray(prediction.law.moments(1), dtype=float)[0])
    return {"log_m1_mean": math.log(theory) - 0.5 * sd ** 2, "log_m1_sd": sd, "networks": SPEC_BAND_NETWORKS}


def _m1_check(prediction, measured, meas, checks, unavailable, z_threshold):
    net = prediction.network
    fw = None
    if net is not None:
        from ..finite_width import finite_width

        fw = finite_width(net, None)
        band, source = fw, "finite-width band"
    elif prediction.spec is not None and (band := _spec_band(prediction, meas)) is not None:
        source = f"band sampled from {band['networks']} networks of the spec"
    else:
        unavailable["m1"] = (f"no finite-width band for this spec: no formula, and a model wider than "
                             f"{SPEC_BAND_MAX_WIDTH} is not sampled for one")
        return None
    m1, se = measured["m1"], float(meas.moments_se[0])
    if not m1 > 0:
        checks["m1"] = (False, f"measured m_1 = {m1:.4g} is not positive")
        return fw
    sd = math.sqrt(band["log_m1_sd"] ** 2 + (se / m1) ** 2)
    z = (math.log(m1) - band["log_m1_mean"]) / sd if sd > 0 else math.inf
    checks["m1"] = (abs(z) < z_threshold,
                    f"log m_1 measured {math.log(m1):.4g} vs predicted {band['log_m1_mean']:.4g} +- {sd:.3g} "
                    f"({source}; z = {z:.2f}, threshold {z_threshold:g})")
    return fw


def _zero_atom(prediction, fw) -> float:
    if fw is not None:
        return float(fw["atom_zero"]["mean"])
    return float(sum(float(p) for a, p in prediction.law.atoms if float(a) == 0.0))


def _ks_dense(prediction, meas, scale, atom_fw, outliers):
    r"""KS of the rescaled dense spectrum (:func:`spectral.distribution_stats.distribution_stats`).  Singular
    values below the dtype's resolution are zeros in the measurement; where they exceed the predicted atom at 0
    the rank floor is raised to their fraction :math:`a`, and the mass below the resolution is checked on its
    own, :math:`|a - F_N(r^2)|` (:math:`r` the largest resolution over inputs, rescaled), so that the lowered
    sensitivity near 0 hides nothing: the statistic is the larger of the two."""
    n_out = meas.widths[1]
    samples = JacobianSamples(network=prediction.network, widths=tuple(meas.widths), mode="network",
                              backend="torch", seed=None, stable=False, method="inspect (one model)", q=(),
                              log_singular_values=meas.log_singular_values + 0.5 * math.log(scale),
                              rank=meas.rank, seconds=0.0)
    zeros = float(np.mean(~np.isfinite(meas.log_singular_values)))
    floor = max(atom_fw, zeros)
    dist, why = distribution_stats(samples, prediction.law, float(np.asarray(prediction.law.moments(1))[0]),
                                   floor, outliers=len(outliers))
    if dist is None:
        return None, why
    if zeros > atom_fw + 1.0 / n_out:
        cdf, _ = theory_cdf(prediction.law)
        r2 = float(np.max(meas.resolution)) ** 2 * scale
        below = float(np.mean(samples.eigenvalues <= r2))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # certified before (theory_certificate)
            f_r = max(float(np.asarray(cdf(np.array([r2])), dtype=float)[0]), atom_fw)
        dist["ks"] = max(dist["ks"], abs(below - f_r))
        note = (f"{zeros:.3g} of the eigenvalues are below the resolution of J in the model's dtype (s < s_max N "
                f"eps): compared as one block, {below:.3g} measured vs {f_r:.3g} predicted below it")
        why = f"{why}; {note}" if why else note
    dist["ks_bound"] = KOLMOGOROV_999 / math.sqrt(n_out - len(outliers)) + CDF_TOL
    dist["n_eff"] = float(n_out - len(outliers))
    return dist, why


def _ks_matrix_free(prediction, meas, scale, atom_fw, z_threshold):
    r"""Distance of the theory CDF from the Chebyshev--Markov--Stieltjes envelope of the Lanczos runs: for a run
    with nodes :math:`\theta_1 < \dots < \theta_k` and weights :math:`w_i`, its probe's CDF :math:`G` satisfies
    :math:`\sum_{\theta_i \le x} w_i - w_{\text{last} \le x} \le G(x) \le \sum_{\theta_i < x} w_i +
    w_{\text{first} \ge x}`; the envelope of the mean over runs is the mean of the envelopes, and the
    statistic is :math:`\sup_x \max(F(x) - U(x), L(x) - F(x), 0)` over all nodes."""
    cdf, why = theory_cdf(prediction.law)
    if cdf is None:
        return None, why
    grid = np.unique(np.concatenate([t for t, _ in meas.runs])) * scale
    lower = np.zeros(grid.shape)
    upper = np.zeros(grid.shape)
    for theta, w in meas.runs:
        order = np.argsort(theta)
        t, wt = theta[order] * scale, w[order]
        prefix = np.concatenate([[0.0], np.cumsum(wt)])  # prefix[k] = sum of the first k weights
        n_le = np.searchsorted(t, grid, side="right")
        n_lt = np.searchsorted(t, grid, side="left")
        lower += prefix[np.maximum(n_le - 1, 0)]
        upper += prefix[np.minimum(n_lt + 1, t.size)]
    runs = len(meas.runs)
    lower, upper = lower / runs, upper / runs
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # certified before (theory_certificate)
        f = np.maximum(np.asarray(cdf(grid), dtype=float), atom_fw)
    good = np.isfinite(f)
    ks = float(np.max(np.maximum(np.maximum(f - upper, lower - f), 0.0)[good]))
    n_out = meas.widths[1]
    probe_noise = z_threshold * math.sqrt(2.0 / (n_out * runs))
    bound = KOLMOGOROV_999 / math.sqrt(n_out) + probe_noise + CDF_TOL
    return {"ks": ks, "ks_bound": bound, "n_eff": float(n_out), "probe_noise": probe_noise,
            "wasserstein": None, "wasserstein_relative": None}, None


def compare(prediction, meas, *, distribution: bool = True, z_threshold: float = Z_THRESHOLD) -> dict:
    """Checks and statistics (see the module docstring): a dict with ``predicted``, ``measured``, ``checks``
    (name -> (passed, detail)), ``unavailable`` (name -> reason), ``notes``, ``distribution`` (KS record or
    None) and ``finite_width``.  ``prediction`` None (the spec could not be predicted) leaves only the
    measured side."""
    checks: dict = {}
    unavailable: dict = {}
    notes: list = []
    measured = _measured(meas, None if prediction is None else prediction.law, notes)
    if meas.eigenvalues is None:
        notes.append("matrix-free: the bulk condition number (1% quantile) is below the quadrature's resolution "
                     "and is not measured")
    if prediction is None:
        return {"predicted": None, "measured": measured, "checks": checks, "unavailable": unavailable,
                "notes": notes, "distribution": None, "finite_width": None}
    predicted, outliers = _predicted(prediction, distribution, unavailable, notes)
    fw = _m1_check(prediction, measured, meas, checks, unavailable, z_threshold)
    dist = None
    if "distribution" not in unavailable and measured["m1"] > 0:
        scale = predicted["m1"] / measured["m1"]
        atom_fw = _zero_atom(prediction, fw)
        if meas.eigenvalues is not None:
            dist, why = _ks_dense(prediction, meas, scale, atom_fw, outliers)
        else:
            dist, why = _ks_matrix_free(prediction, meas, scale, atom_fw, z_threshold)
        if dist is None:
            unavailable["distribution"] = why
        else:
            if why:
                notes.append(why)
            checks["ks"] = (dist["ks"] <= dist["ks_bound"],
                            f"KS = {dist['ks']:.4g} vs bound {dist['ks_bound']:.4g} (shape, after rescaling the "
                            f"measured spectrum by m_1 predicted/measured = {scale:.4g})")
    if outliers:
        _outlier_check(outliers, meas, checks, unavailable)
    if fw is not None and fw["L_over_N"] >= 0.1:
        notes.append(f"L/N = {fw['L_over_N']:.3g}: finite-width corrections (O(L/N)) may dominate; disagreement "
                     "here does not contradict the infinite-width theory")
    notes.append("one model: the bands are the spread across networks of these widths (the inputs share the "
                 "weights)")
    return {"predicted": predicted, "measured": measured, "checks": checks, "unavailable": unavailable,
            "notes": notes, "distribution": dist, "finite_width": fw}


def _outlier_check(outliers, meas, checks, unavailable):
    small = meas.smallest_singular
    if small is None:
        unavailable["outlier"] = "the matrix-free path does not resolve the smallest singular value"
        return
    pred = outliers[0]["singular_value"]
    ratio = float(np.median(small)) / pred
    lo, hi = RATIO_RANGE
    checks["outlier"] = (lo <= ratio <= hi, f"length mode: measured median {float(np.median(small)):.4g} vs "
                                            f"predicted {pred:.4g} (ratio {ratio:.3f}, allowed {lo:g}-{hi:g})")
