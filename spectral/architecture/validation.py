r"""Validation of a spec's theory against sampled networks of that architecture.

Moments: for each :math:`k \le` ``moments``, :math:`z_k = (\bar m_k - m_k)/\mathrm{se}_k` with
:math:`\bar m_k` the mean over the ``n`` sampled networks of :math:`m_k^{(i)} = N^{-1}\operatorname{tr}
(J J^T)^k` and :math:`\mathrm{se}_k` their standard deviation over :math:`\sqrt n` (networks are independent;
eigenvalues of one network are not); the check passes when every :math:`|z_k| <` ``z_threshold`` (default 4).
The infinite-width moments differ from the width-:math:`N` means by :math:`O(L/N)`: the report states
:math:`L/N` and notes it from 0.1 on, as :func:`spectral.validate` does.

Distribution: the KS distance :math:`D = \sup_x |\hat F(x) - F(x)|` of the pooled eigenvalues to the theory CDF,
against the bound :math:`K_{0.999}/\sqrt{n_{\text{eff}}} + 10^{-6}` (the Kolmogorov 0.999 quantile,
:math:`n_{\text{eff}}` from a bootstrap over networks clipped to :math:`[n, nN]`,
plus the CDF's certificate tolerance), as
:func:`spectral.validate` does.  It needs a certified density of the law (residual blocks through the solver hook,
docs/design.md §6.1); where the solver refuses the law or does not certify it, or the law has atoms, the check
is reported *unavailable* (verdict "incomplete"), never passed silently.

Plain chains (:func:`~spectral.architecture.jacobian.plain_network`) go to :func:`spectral.validate` with the
equivalent :class:`spectral.Network`, which has every check.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .jacobian import ArchitectureLaw
from .layers import Sequential
from .sampling import SpecSamples, sample_spec

__all__ = ["SpecValidationReport", "validate_spec"]


#: accuracy budget of the theory CDF added to the KS bound: the density certificate's tolerance (docs/design.md §7)
CDF_TOL = 1e-6


def _ks_check(samples: SpecSamples, law):
    """((KS, bound, n_eff), None) for the pooled eigenvalues against the law's certified CDF, or (None, reason)."""
    from ..distribution_stats import KOLMOGOROV_999, bootstrap_n_eff, theory_cdf, theory_certificate

    try:
        why = theory_certificate(law)
    except (ValueError, NotImplementedError) as exc:
        return None, f"the density solver does not serve this law ({exc})"
    if why is not None:
        return None, why
    if any(float(p) > 0 for _, p in law.atoms):
        return None, "the law has atoms (not handled by the spec KS check)"
    cdf, why = theory_cdf(law)
    if cdf is None:
        return None, why
    lam = samples.eigenvalues
    pooled = np.sort(lam.ravel())
    f = np.asarray(cdf(pooled), dtype=float)
    if not np.all(np.isfinite(f)):
        return None, "theory CDF not finite at some sampled eigenvalues"
    total = pooled.size
    e_hi = np.searchsorted(pooled, pooled, side="right") / total
    e_lo = np.searchsorted(pooled, pooled, side="left") / total
    ks = float(max(np.max(np.abs(e_hi - f)), np.max(np.abs(e_lo - f))))
    n = lam.shape[0]
    n_eff = bootstrap_n_eff(lam)
    n_eff = float(total) if math.isnan(n_eff) else float(np.clip(n_eff, n, total))
    return (ks, KOLMOGOROV_999 / math.sqrt(n_eff) + CDF_TOL, n_eff), None

#: Relative rounding level of sampled moments: a standard error below it gives no z-score.
SE_FLOOR = 1e-10
#: L/N from which finite-width corrections are noted (as spectral.validation).
FINITE_WIDTH_NOTE = 0.1


@dataclass(frozen=True, eq=False)
class SpecValidationReport:
    """Result of :func:`validate_spec` (``to_dict()`` for JSON); ``passed`` is True when every computed check
    passes, ``unavailable`` names the checks that could not be made."""

    spec: Sequential
    width: int
    n_samples: int
    mode: str
    moments_theory: np.ndarray
    moments_sampled: np.ndarray
    stderr: np.ndarray
    z_scores: np.ndarray
    z_threshold: float
    passed: bool
    checks: dict
    notes: tuple
    unavailable: dict
    samples: SpecSamples | None = field(default=None, repr=False)
    seconds: float = 0.0

    @property
    def verdict(self) -> str:
        if not self.passed:
            return "failed"
        return "incomplete" if self.unavailable else "passed"

    def to_dict(self) -> dict:
        from ..jsonout import jsonable
        from .json_spec import spec_to_json

        try:
            spec = spec_to_json(self.spec)
        except ValueError:
            spec = None
        return jsonable({"spec": spec, "width": self.width, "n_samples": self.n_samples, "mode": self.mode,
                         "moments_theory": self.moments_theory, "moments_sampled": self.moments_sampled,
                         "stderr": self.stderr, "z_scores": self.z_scores, "z_threshold": self.z_threshold,
                         "passed": self.passed, "verdict": self.verdict,
                         "checks": {k: {"passed": v[0], "detail": v[1]} for k, v in self.checks.items()},
                         "notes": list(self.notes), "unavailable": self.unavailable, "seconds": self.seconds})

    def __str__(self) -> str:
        lines = [f"validate spec: width {self.width}, {self.n_samples} networks ({self.mode}): {self.verdict.upper()}"]
        for k, (th, sa, se, z) in enumerate(zip(self.moments_theory, self.moments_sampled, self.stderr,
                                                self.z_scores, strict=True), start=1):
            lines.append(f"  m_{k}: theory {th:.6g}  sampled {sa:.6g} +- {se:.2g}  z = {z:+.2f}")
        lines += [f"  {name}: {'ok' if ok else 'FAILED'} ({detail})" for name, (ok, detail) in self.checks.items()]
        lines += [f"  unavailable {k}: {v}" for k, v in self.unavailable.items()]
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)


def validate_spec(spec: Sequential, width: int | None = None, n_samples: int = 16, seed=0, mode: str = "network",
                  backend: str = "auto", *, moments: int = 4, z_threshold: float = 4.0,
                  theory: Any = None, samples: SpecSamples | None = None, distribution: bool = True,
                  **sample_kwargs) -> SpecValidationReport:
    """Sample networks of ``spec`` and compare the moments of :math:`J J^T` with the theory (module docstring).

    ``theory``: a law to compare with instead of ``spectral.jacobian_law(spec)`` (e.g. to see a wrong theory
    fail); ``samples``: reuse :class:`~spectral.architecture.sampling.SpecSamples`.
    """
    import time

    from ..product import jacobian_law

    t0 = time.perf_counter()
    if isinstance(moments, bool) or not isinstance(moments, int | np.integer) or moments < 1:
        raise ValueError(f"moments must be an integer >= 1, got {moments!r}")
    if isinstance(z_threshold, bool) or not isinstance(z_threshold, int | float) or not (
            math.isfinite(z_threshold) and z_threshold > 0):
        raise ValueError(f"z_threshold must be a finite number > 0, got {z_threshold!r}")
    if samples is None:
        if isinstance(n_samples, int | np.integer) and not isinstance(n_samples, bool) and n_samples < 2:
            raise ValueError(f"n_samples must be >= 2 for standard errors across networks, got {n_samples!r}")
        samples = sample_spec(spec, width=width, n_samples=n_samples, mode=mode, backend=backend, seed=seed,
                              **sample_kwargs)
    law = jacobian_law(samples.spec) if theory is None else theory
    k = int(moments)
    th = np.asarray(law.moments(k), dtype=float)
    mean, se = samples.moments(k)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(se > SE_FLOOR * np.abs(mean), (mean - th) / se, np.nan)
    finite = np.isfinite(z)
    notes: list[str] = []
    checks: dict = {}
    if finite.any():
        worst = int(np.nanargmax(np.abs(np.where(finite, z, 0.0))))
        ok = bool(np.all(np.abs(z[finite]) < z_threshold))
        checks["moments"] = (ok, f"max |z| = {abs(z[worst]):.2f} at m_{worst + 1} (threshold {z_threshold:g})")
    if not finite.all():
        notes.append("moments with no finite z-score (zero standard error or overflow): "
                     + ", ".join(f"m_{i + 1}" for i in np.nonzero(~finite)[0]) + " not tested")
    depth = max(1, samples.spec.depth)
    ratio = depth / samples.width
    if ratio >= FINITE_WIDTH_NOTE:
        notes.append(f"L/N = {ratio:.3g}: finite-width corrections (O(L/N)) may dominate")
    unavailable: dict = {}
    dist, why = _ks_check(samples, law) if distribution else (None, "not requested (distribution=False)")
    if dist is None:
        unavailable["distribution"] = why
    else:
        ks, bound, n_eff = dist
        checks["ks"] = (ks <= bound, f"KS = {ks:.4g} vs bound {bound:.4g} (n_eff = {n_eff:.4g})")
    if isinstance(law, ArchitectureLaw) and law.not_free:
        unavailable["exact theory"] = law.not_free
    passed = bool(checks) and all(v[0] for v in checks.values())
    return SpecValidationReport(samples.spec, samples.width, samples.n_samples, samples.mode, th, mean, se, z,
                                float(z_threshold), passed, checks, tuple(notes), unavailable, samples,
                                time.perf_counter() - t0)
