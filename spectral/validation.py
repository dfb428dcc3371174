r"""Theory vs sampled networks: moment z-scores, KS / Wasserstein to the theory CDF, atom at zero.

:func:`validate` samples networks (:func:`spectral.montecarlo.sample_jacobians`), computes the law of
:math:`J J^T` (:func:`spectral.product.jacobian_law`) and compares them with stated statistics.

Statistics and pass thresholds
------------------------------
*Moments.*  For each network :math:`i` the normalised moments :math:`m_k^{(i)} = N_L^{-1}
\operatorname{tr}(J J^T)^k`, :math:`k = 1..K` (default 4).  The mean over the :math:`n` independent
networks has standard error :math:`\operatorname{sd}_i(m_k^{(i)})/\sqrt n` (single networks fluctuate
by several percent at :math:`N \sim 10^3`, so this, not a within-network error, is the honest uncertainty),
and :math:`z_k = (\bar m_k - m_k^{\text{theory}})/\text{se}_k`.  The check passes when
:math:`|z_k| <` ``z_threshold`` = 4 for every :math:`k`: for Gaussian means this is a false alarm rate of
:math:`6.3\cdot 10^{-5}` per moment (:math:`2.5\cdot 10^{-4}` for four, Bonferroni); for :math:`n = 16`
Student's :math:`t_{15}` gives :math:`1.2\cdot 10^{-3}` per moment (:math:`5\cdot 10^{-3}` for
:math:`t_7`, :math:`n = 8`; the report notes it when :math:`n < 16`, and the per-network :math:`m_3, m_4`
are right-skewed, which thickens the lower tail of :math:`z` further).  A standard error at or below
:math:`10^{-10} |m_k|` (rounding: e.g. linear orthogonal networks, or width 1, give identical networks) gives
no z-score (reported as undefined, JSON ``null``): the moment then passes only when
:math:`|\bar m_k - m_k^{\text{theory}}| \le 10^{-10} |m_k|`.

*Atom at zero.*  At finite width the mass at 0 is :math:`1 - \operatorname{rank}(J)/N_L` with
:math:`\operatorname{rank} J = \min(N_0, \min_l N_l, \min_l r_l)`, :math:`r_l \sim
\operatorname{Binomial}(N_l, 1 - \mu_l)` the number of nonzero :math:`\phi_l'` (:math:`\mu_l` the atom of
:math:`D_l^2` at 0): the minimum of :math:`L` binomials sits :math:`O(\sqrt{N \log L})` below
:math:`N(1-\mu)`, so the finite-width atom exceeds the infinite-width one by
:math:`O(\sqrt{\log L / N})`.  Its exact mean and standard deviation follow from
:math:`P(\operatorname{rank} \ge r) = \prod_l P(r_l \ge r)` (exact for the free model; in the forward pass
the pre-activations of a layer are i.i.d. :math:`N(0, q^l_{\text{cond}})` given the layer's input for
Gaussian weights (Haar weights fix :math:`\sum_i (W x)_i^2`, which makes the counts less variable than
binomial: their variance is then taken by Gaussian conditioning, :func:`_haar_count_variance`), so
:math:`\mu_l` is taken at each network's realised
:math:`q^l_{\text{cond}} = \sigma_w^2 \|x^{l-1}\|^2/N_{l-1} + \sigma_b^2` and the conditional means and
variances are averaged over networks; the realised variances drift from the q-map at finite width, which
matters for hard-tanh).  The check passes when :math:`|\text{sampled} - \text{expected}| \le
z_{\text{thr}} \cdot \text{se} + 1/(2 n N_L)` (the last term: one eigenvalue's worth of rounding in the
pooled fraction).  Both the infinite-width ``atom_theory`` and the finite-width ``atom_expected`` are
reported.

*Distribution.*  The pooled eigenvalues of all networks (atoms of the theory at nonzero locations are
snapped onto their location within a relative :math:`10^{-8}`) give the empirical CDF :math:`\bar F`;
:math:`KS = \sup_x |\bar F(x) - F_N(x)|`, evaluated at every sample point and both sides of every atom,
against :math:`F_N(x) = \max(F(x), a_N)` for :math:`x \ge 0`: the theory CDF :math:`F` (continuous part
from the density solver plus the atoms, right-continuous) with the finite-width rank deficit
:math:`a_N` = ``atom_expected`` (above) taken from the bottom of the spectrum, as the eigenvalues lost to
the rank deficit are the smallest ones.  The statistic against :math:`F` itself is reported as
``ks_infinite_width``.
Eigenvalues of one network are strongly correlated (spectral rigidity, plus a common random scale), so the
pooled :math:`n N` values are not independent: the effective sample size is estimated by a bootstrap over
networks (:func:`spectral.distribution_stats.bootstrap_n_eff`: resample the networks,
:math:`D^* = \sup_x |\bar F^* - \bar F|`, :math:`n_{\text{eff}} = (K_{0.5}/\operatorname{median} D^*)^2`)
and clipped to :math:`[n, nN_L]`: rigid spectra fluctuate less than i.i.d. values, and the data then give
more than :math:`nN_L`, where the i.i.d. bound is kept (conservative).  The
check passes when :math:`KS \le K_{1-\alpha}/\sqrt{n_{\text{eff}}} + 10^{-6}` with :math:`K_{0.999} =
1.9495` the Kolmogorov quantile (:math:`\alpha = 10^{-3}`) and :math:`10^{-6}` the accuracy budget of the
theory CDF; for deviations correlated across :math:`x` (as these are) the Kolmogorov quantile is
conservative.  The Wasserstein-1 distance :math:`\int_0^\infty |\bar F - F_N|\, dx` (in units of
:math:`\lambda`; also relative to :math:`m_1`; against :math:`F` itself as ``wasserstein_infinite_width``)
is reported, not thresholded.  It is integrated exactly for a CDF that is linear between nodes (the
samples, the atoms and a 4097-point uniform plus a logarithmic grid up to :math:`\max(\lambda_{\max},
\max \lambda_i)`), each atom entering as a jump at its own location
(:func:`spectral.distribution_stats.wasserstein_1`).  The theory CDF is used only when its density is
certified (:attr:`spectral.density.DensityResult.certified`); otherwise, or when the solver fails, the
distribution check is *unavailable*: ``report.unavailable["distribution"]`` says why (``"theory not
certified: <reason>"``), the verdict is ``"incomplete"`` and the network is not failed.

*Top atom at finite width.*  Square orthogonal networks whose every :math:`D_l^2` is two-valued
(hard-tanh) have an atom at :math:`t = \prod_l \sigma_w^2 c_l` of mass :math:`(N - \sum_l z_l)^+/N` per
network (:mod:`spectral.finite_width`): :math:`O(N^{-1/2})` even where the infinite-width mass is 0.  Its
expected mass (at the realised variances, as the atom at 0) replaces the limit's in :math:`F_N`, taken from
the top of the continuous part (:math:`F_N = \min(F, 1 - m_N)` below :math:`t`), and the sampled fraction
is checked as the atom at 0 (``atom_top``).

*Outliers.*  In network mode with biases the length mode (:mod:`spectral.outliers`) is one singular value per
network far below the bulk: the smallest nonzero eigenvalue of each network is removed from the distribution
check (which then compares :math:`N_L - 1` values per network) and the sampled smallest singular values
(``outliers_sampled``) are checked against the prediction by :func:`spectral.outliers.length_mode_check`
(Student's t on the mean over networks plus the prediction's stated accuracy; ``outlier``).  Where that check
cannot be made (L/N above its range, heavy neuron tails, fewer than 3 networks) the outlier entry says why
(``check``) and no pass is claimed.

*Finite width.*  Infinite-width theory is exact only as :math:`N \to \infty` at fixed :math:`L`;
fluctuations and corrections grow with :math:`L/N` (Hanin & Nica 2019: :math:`\log \|J u\|^2` has
variance :math:`\propto L/N`).  The report states :math:`L/N` and adds a note from :math:`L/N \ge 0.1`,
where failures are expected to reflect finite width rather than the theory.  Thresholds are never
adjusted to make a case pass.

References
----------
J. Pennington, S. Schoenholz, S. Ganguli, "The emergence of spectral universality in deep networks",
AISTATS 2018.
B. Hanin and M. Nica, "Products of many large random matrices and gradients in deep neural networks",
Comm. Math. Phys. 376 (2020).
J. Durbin, *Distribution theory for tests based on the sample distribution function*, SIAM (1973)
(Kolmogorov quantiles).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .distribution_stats import KOLMOGOROV_999, distribution_stats
from .finite_width import expected_atom, finite_width_atom, finite_width_top_atom
from .jsonout import jsonable
from .montecarlo import JacobianSamples, sample_jacobians
from .product import Network, jacobian_law

if TYPE_CHECKING:  # the architecture package imports this module: its names only for annotations
    from .architecture.layers import Sequential
    from .architecture.sampling import SpecSamples
    from .architecture.validation import SpecValidationReport

__all__ = ["ValidationReport", "validate", "finite_width_atom", "KOLMOGOROV_999"]

#: Relative rounding level of sampled moments: a standard error below it gives no z-score.
_SE_FLOOR = 1e-10
#: Sampled eigenvalues within this relative distance of the top atom count as on it (the product of L exact
#: isometries is exact to ~L eps; 1e-8 leaves room for the SVD's rounding).
_TOP_SNAP = 1e-8


def _g(x, spec: str) -> str:
    """Format a number for the report; NaN (a statistic that could not be formed) reads "undefined"."""
    x = float(x)
    return "undefined" if math.isnan(x) else format(x, spec)


@dataclass(frozen=True, eq=False)
class ValidationReport:
    """Result of :func:`validate`; ``to_dict()`` gives the JSON of ``spectral validate --json``.

    Attributes mirror the JSON keys (``moments_theory``, ``moments_sampled``, ``stderr``, ``z_scores``,
    ``ks``, ``wasserstein``, ``atom_theory``, ``atom_sampled``, ``passed``, ``backend``, ``seconds``) plus
    ``ks_bound``, ``ks_infinite_width``, ``n_eff``, ``wasserstein_relative``, ``wasserstein_infinite_width``,
    ``atom_expected``, ``atom_stderr``, ``checks`` (name -> (passed, detail)), ``notes``, ``samples`` (the
    :class:`JacobianSamples`), ``outliers`` (predicted, records ``{singular_value, eigenvalue, kind}``),
    ``outliers_sampled`` (smallest singular value per network, or None), ``atom_top`` (``{location, expected,
    stderr, sampled}`` of the finite-width top atom, or None), ``finite_width`` (the predictions of
    :func:`spectral.finite_width.finite_width` for these widths and mode, with ``log_m1_sd_sampled`` and
    ``log_m1_mean_sampled``; reported, not checked) and the run's inputs.
    """

    network: Network
    widths: tuple
    mode: str
    backend: str
    n_samples: int
    seed: Any
    method: str
    moments_theory: np.ndarray
    moments_sampled: np.ndarray
    stderr: np.ndarray
    z_scores: np.ndarray
    ks: float | None
    ks_infinite_width: float | None
    ks_bound: float | None
    n_eff: float | None
    wasserstein: float | None
    wasserstein_relative: float | None
    wasserstein_infinite_width: float | None
    atom_theory: float
    atom_expected: float
    atom_stderr: float
    atom_sampled: float
    passed: bool
    checks: dict
    notes: tuple
    seconds: float
    z_threshold: float = 4.0
    samples: JacobianSamples | None = field(default=None, repr=False)
    unavailable: dict = field(default_factory=dict)
    outliers: tuple = ()
    outliers_sampled: tuple | None = None
    atom_top: dict | None = None
    finite_width: dict | None = None

    @property
    def verdict(self) -> str:
        """``"failed"`` when a check made fails, ``"incomplete"`` when every check made passes but one could
        not be made (``unavailable``: e.g. the theory density is not certified), else ``"passed"``."""
        if not self.passed:
            return "failed"
        return "incomplete" if self.unavailable else "passed"

    @property
    def depth(self) -> int:
        return len(self.widths) - 1

    @property
    def width(self) -> int:
        return int(self.widths[-1])

    def to_dict(self) -> dict:
        """JSON-ready dict in the convention of :mod:`spectral.jsonout` (undefined values, e.g. the z-score
        of a zero standard error, are ``None``; infinities ``"inf"``); ``unavailable`` maps a check that
        could not be made to the reason, ``verdict`` is "passed", "failed" or "incomplete"."""
        layer0 = self.network.layers[0]
        d = {
            "moments_theory": self.moments_theory, "moments_sampled": self.moments_sampled,
            "stderr": self.stderr, "z_scores": self.z_scores, "ks": self.ks,
            "wasserstein": self.wasserstein, "atom_theory": self.atom_theory,
            "atom_sampled": self.atom_sampled, "passed": bool(self.passed), "verdict": self.verdict,
            "unavailable": dict(self.unavailable), "backend": self.backend, "seconds": self.seconds,
            # extras
            "ks_bound": self.ks_bound, "ks_infinite_width": self.ks_infinite_width, "n_eff": self.n_eff,
            "wasserstein_relative": self.wasserstein_relative,
            "wasserstein_infinite_width": self.wasserstein_infinite_width,
            "atom_expected": self.atom_expected, "atom_stderr": self.atom_stderr, "z_threshold": self.z_threshold,
            "checks": {k: {"passed": bool(v[0]), "detail": v[1]} for k, v in self.checks.items()},
            "notes": list(self.notes), "mode": self.mode, "width": self.width, "widths": list(self.widths),
            "depth": self.depth, "L_over_N": self.depth / min(self.widths), "n_samples": self.n_samples,
            "seed": self.seed if isinstance(self.seed, int | None) else str(self.seed), "method": self.method,
            "activation": getattr(layer0.activation, "name", str(layer0.activation)), "weights": layer0.weights,
            "sigma_w2": float(layer0.sigma_w2), "sigma_b2": float(layer0.sigma_b2),
            "outliers": [dict(o) for o in self.outliers],
            "outliers_sampled": None if self.outliers_sampled is None else list(self.outliers_sampled),
            "atom_top": self.atom_top, "finite_width": self.finite_width,
        }
        return jsonable(d)

    def __str__(self) -> str:
        layer0 = self.network.layers[0]
        act = getattr(layer0.activation, "name", layer0.activation)
        uni = "" if self.network.uniform else " (first layer; per-layer network)"
        lines = [
            f"validate: {act}, {layer0.weights} weights, sigma_w2={_g(float(layer0.sigma_w2), '.6g')}, "
            f"sigma_b2={_g(float(layer0.sigma_b2), '.6g')}{uni}",
            f"  depth L={self.depth}, width N={_widths(self.widths)}, L/N={_g(self.depth / min(self.widths), '.3g')}, "
            f"{self.n_samples} networks, mode={self.mode}, backend={self.backend}, {self.seconds:.2f} s",
            f"  method: {self.method}",
            "",
            f"  {'k':>2}  {'theory':>13}  {'sampled':>13}  {'stderr':>10}  {'z':>7}",
        ]
        for k in range(len(self.moments_theory)):
            zk = self.z_scores[k]
            zs = f"{zk:7.2f}" if math.isfinite(zk) else "undefined (zero standard error)"
            lines.append(f"  {k + 1:>2}  {self.moments_theory[k]:13.6g}  {self.moments_sampled[k]:13.6g}  "
                         f"{self.stderr[k]:10.3g}  {zs}")
        lines.append("")
        if self.ks is not None:
            lines.append(f"  KS = {_g(self.ks, '.4g')}  (bound {_g(self.ks_bound, '.4g')}, "
                         f"n_eff = {_g(self.n_eff, '.4g')});  Wasserstein-1 = {_g(self.wasserstein, '.4g')} "
                         f"({_g(self.wasserstein_relative, '.3g')} of m_1)")
        elif "distribution" in self.unavailable:
            lines.append(f"  distribution (KS / Wasserstein): unavailable ({self.unavailable['distribution']})")
        else:
            lines.append("  KS / Wasserstein: not computed")
        lines.append(f"  atom at 0: theory {_g(self.atom_theory, '.6g')}, finite-width expectation "
                     f"{_g(self.atom_expected, '.6g')} +- {_g(self.atom_stderr, '.2g')}, "
                     f"sampled {_g(self.atom_sampled, '.6g')}")
        if self.atom_top is not None:
            t = self.atom_top
            lines.append(f"  top atom at {_g(t['location'], '.6g')}: finite-width expectation "
                         f"{_g(t['expected'], '.4g')} +- {_g(t['stderr'], '.2g')}, sampled {_g(t['sampled'], '.4g')}")
        for o in self.outliers:
            got = ""
            if self.outliers_sampled:
                got = f", sampled median {_g(float(np.median(self.outliers_sampled)), '.4g')}"
            lines.append(f"  outlier ({o['kind']} mode): singular value {_g(o['singular_value'], '.4g')}{got} "
                         "(removed from the distribution check)")
            if str(o.get("check", "")).startswith("not checked"):
                lines.append(f"    {o['check']}")
        fw = self.finite_width
        if fw is not None and fw.get("log_m1_sd_sampled") is not None:
            lines.append(f"  spread across networks: sd of log m1 predicted {_g(fw['log_m1_sd'], '.3g')}, sampled "
                         f"{_g(fw['log_m1_sd_sampled'], '.3g')} (spectral.finite_width)")
        for note in self.notes:
            lines.append(f"  note: {note}")
        failed = [f"{k} ({v[1]})" for k, v in self.checks.items() if not v[0]]
        lines.append("")
        if not self.passed:
            lines.append("  FAILED: " + "; ".join(failed))
        elif self.unavailable:
            made = ", ".join(self.checks) or "none"
            lines.append(f"  INCOMPLETE: the checks made passed ({made}); unavailable: "
                         + "; ".join(f"{k} ({v})" for k, v in self.unavailable.items()))
        else:
            lines.append("  PASSED")
        return "\n".join(lines)


def _widths(w):
    return str(w[0]) if len(set(w)) == 1 else str(tuple(w))


# ==================================================================================== validate
def validate(net: Network | Sequential, width: int | None = 1024, n_samples: int = 16, seed=0,
             mode: str = "network", backend: str = "auto", *, stable: bool | None = None, q0: float | None = None,
             moments: int = 4, z_threshold: float = 4.0, distribution: bool = True,
             samples: JacobianSamples | SpecSamples | None = None,
             **sample_kwargs) -> ValidationReport | SpecValidationReport:
    r"""Sample networks and compare them with the free-probability theory (see the module docstring).

    Parameters
    ----------
    net : spectral.product.Network, or a spec (spectral.Sequential; see spectral.architecture.validation)
    width, n_samples, seed, mode, backend, stable, q0
        Passed to :func:`spectral.montecarlo.sample_jacobians` (``n_samples >= 2`` for standard errors).
    moments : int
        Number of moments compared (default 4).
    z_threshold : float
        Pass threshold on :math:`|z|` for moments and the atom (default 4; see the module docstring).
    distribution : bool
        Compute KS / Wasserstein (needs the theory CDF from the density solver, the slow part for
        implicit laws such as tanh); False skips them and says so in ``notes``.
    samples : JacobianSamples, optional
        Reuse samples instead of drawing new ones (their network is used).

    Returns
    -------
    ValidationReport
        ``passed`` is True when every computed check passes; ``checks`` and ``notes`` say which and why;
        ``unavailable`` names a check that could not be made (the distribution check when the theory density
        is not certified or fails) and ``verdict`` is "passed", "failed" or "incomplete".

    Raises
    ------
    ValueError
        ``moments < 1``, ``z_threshold`` not finite and > 0, ``n_samples < 2``, and the sampler's checks.
    """
    from .architecture.layers import Sequential  # imported here: the architecture package imports this module

    if isinstance(net, Sequential):  # a spec: plain chains are Networks, others go to the spec validation
        from .architecture.jacobian import plain_network
        from .architecture.sampling import SpecSamples as _SpecSamples

        plain, width = plain_network(net), net.width or width
        if plain is None:
            from .architecture.validation import validate_spec

            if samples is not None and not isinstance(samples, _SpecSamples):
                raise TypeError("samples for a residual or normalized spec must come from spectral.sample_spec, "
                                f"got {type(samples).__name__}")
            return validate_spec(net, width=width, n_samples=n_samples, seed=seed, mode=mode, backend=backend,
                                 moments=moments, z_threshold=z_threshold, distribution=distribution, samples=samples,
                                 **sample_kwargs)
        net = plain
    t0 = time.perf_counter()
    _check_options(moments, z_threshold, distribution)
    if samples is None:
        if not isinstance(net, Network):
            raise TypeError(f"net must be a spectral.Network or a spec (spectral.Sequential), got "
                            f"{type(net).__name__}")
        if isinstance(n_samples, int | np.integer) and not isinstance(n_samples, bool) and n_samples < 2:
            raise ValueError(f"n_samples must be >= 2 for standard errors across networks, got {n_samples!r}")
        samples = sample_jacobians(net, width=width, n_samples=n_samples, mode=mode, backend=backend, seed=seed,
                                   stable=stable, q0=q0, **sample_kwargs)
    elif not isinstance(samples, JacobianSamples):
        raise TypeError(f"samples must be JacobianSamples, got {type(samples).__name__}")
    net = samples.network
    law = jacobian_law(net)
    n, widths = samples.n_samples, samples.widths
    notes: list[str] = []
    checks: dict[str, tuple[bool, str]] = {}

    # moments
    k = int(moments)
    theory = np.asarray(law.moments(k), dtype=float)
    try:
        mean, se = samples.moments(k)
    except OverflowError:
        mean, se = np.full(k, np.nan), np.full(k, np.nan)
        notes.append("sampled moments overflow the float range (use JacobianSamples.log_moments)")
    z, flat, rel_dev = _z_scores(mean, theory, se)
    finite = np.isfinite(z)
    if finite.any() or flat.any():
        ok = bool(np.all(np.abs(z[finite]) < z_threshold)) and bool(np.all(rel_dev[flat] <= _SE_FLOOR))
        parts = []
        if finite.any():
            worst = int(np.nanargmax(np.abs(np.where(finite, z, 0.0))))
            parts.append(f"max |z| = {abs(z[worst]):.2f} at m_{worst + 1} (threshold {z_threshold:g})")
        if flat.any():
            worst = int(np.nanargmax(np.where(flat, rel_dev, -1.0)))
            ks = ", ".join(f"m_{int(i) + 1}" for i in np.nonzero(flat)[0])
            parts.append(f"zero standard error (identical networks) at {ks}: z undefined, relative deviation "
                         f"{_g(rel_dev[worst], '.3g')} at m_{worst + 1} (allowed {_SE_FLOOR:g}, rounding)")
        checks["moments"] = (ok, "; ".join(parts))
        n_nets = samples.eigenvalues.shape[0]
        if n_nets < 16:
            from scipy.stats import t as student_t

            rate = 2 * student_t.sf(z_threshold, n_nets - 1)
            notes.append(f"only {n_nets} networks: with the standard error estimated from them, |z| >= "
                         f"{z_threshold:g} has probability {rate:.1e} per moment under Student's t_{n_nets - 1} "
                         "(more for the skewed m_3, m_4); use 16 or more networks for a test closer to the "
                         "Gaussian rate")
        untested = ~finite & ~flat
        if untested.any():
            ks = ", ".join(f"m_{int(i) + 1}" for i in np.nonzero(untested)[0])
            notes.append(f"z-scores not finite for {ks} (not tested)")
    else:
        notes.append("no finite moment z-scores (theory or samples overflow): moment check skipped")

    # atom at zero
    atom_theory = float(sum(float(p) for a, p in law.atoms if float(a) == 0.0))
    atom_expected, atom_se, how = expected_atom(samples, law)
    atom_sampled = samples.atom_at_zero
    tol = z_threshold * atom_se + 0.5 / (n * widths[-1])
    dev = abs(atom_sampled - atom_expected)
    checks["atom_at_zero"] = (dev <= tol, f"|sampled - expected| = {_g(dev, '.3g')} (allowed {_g(tol, '.3g')})")
    if abs(atom_expected - atom_theory) > 1.0 / widths[-1]:
        notes.append(f"finite-width atom at 0: E[1 - rank J/N] = {atom_expected:.4f} ({how}) vs "
                     f"infinite-width {atom_theory:.4f} (rank J = min over layers of the number of nonzero phi')")

    # top atom (orthogonal Bernoulli-type layers) and the length-mode outlier
    atom_top, top = _top_atom_check(samples, law, checks, z_threshold)
    outliers, outliers_sampled = _outlier_check(samples, law, checks, distribution)

    # distribution
    if distribution:
        dist, why = distribution_stats(samples, law, float(theory[0]), atom_expected, top=top,
                                       outliers=len(outliers))
    else:
        dist, why = None, "not requested (distribution=False)"
    unavailable = {}
    if dist is None:
        if distribution:
            unavailable["distribution"] = why
        else:
            notes.append(f"KS/Wasserstein skipped: {why}")
        dist = {"ks": None, "ks_infinite_width": None, "ks_bound": None, "n_eff": None, "wasserstein": None,
                "wasserstein_relative": None, "wasserstein_infinite_width": None}
    else:
        if why:
            notes.append(why)
        checks["ks"] = (dist["ks"] <= dist["ks_bound"],
                        f"KS = {_g(dist['ks'], '.4g')} vs bound {_g(dist['ks_bound'], '.4g')} "
                        f"(n_eff = {_g(dist['n_eff'], '.4g')})")

    # finite-width and method notes
    ratio = samples.depth / min(widths)
    if ratio >= 0.1:
        notes.append(f"L/N = {_g(ratio, '.3g')}: finite-width corrections (O(L/N)) may dominate; "
                     "disagreement here does not contradict the infinite-width theory")
    qe = samples.diagnostics.get("q_empirical")
    if qe is not None and len(qe):
        q_th = samples.q[-1]
        if q_th > 0 and abs(qe[-1] / q_th - 1) > 0.05:
            notes.append(f"forward pass: mean pre-activation variance of the last layer {_g(qe[-1], '.4g')} "
                         f"vs q-map {_g(q_th, '.4g')}")
    if samples.stable:
        notes.append("stable product used (deep network)")
    passed = all(v[0] for v in checks.values())
    seconds = time.perf_counter() - t0
    return ValidationReport(
        network=net, widths=tuple(widths), mode=samples.mode, backend=samples.backend, n_samples=n,
        seed=samples.seed, method=samples.method, moments_theory=theory, moments_sampled=mean, stderr=se,
        z_scores=z, ks=dist["ks"], ks_infinite_width=dist["ks_infinite_width"], ks_bound=dist["ks_bound"],
        n_eff=dist["n_eff"],
        wasserstein=dist["wasserstein"], wasserstein_relative=dist["wasserstein_relative"],
        wasserstein_infinite_width=dist["wasserstein_infinite_width"],
        atom_theory=atom_theory, atom_expected=atom_expected, atom_stderr=atom_se, atom_sampled=atom_sampled,
        passed=passed, checks=checks, notes=tuple(notes), seconds=seconds, z_threshold=float(z_threshold),
        samples=samples, unavailable=unavailable, outliers=tuple(outliers), outliers_sampled=outliers_sampled,
        atom_top=atom_top, finite_width=_finite_width_part(samples))


def _finite_width_part(samples) -> dict | None:
    """Finite-width predictions for the sampled widths and mode, with the sampled sd of log m1_hat (None where
    the prediction cannot be made, e.g. a q-map without fixed point)."""
    from .finite_width import finite_width

    net = samples.network
    try:
        fw = dict(finite_width(net, None if net.widths is not None else samples.widths[0], mode=samples.mode))
    except (ValueError, ArithmeticError, NotImplementedError):
        return None
    ls = samples.log_singular_values
    if samples.n_samples > 1 and np.all(np.isfinite(ls[:, 0])):
        from scipy.special import logsumexp

        log_m1 = logsumexp(2.0 * ls, axis=1) - math.log(ls.shape[1])
        fw["log_m1_sd_sampled"] = float(np.std(log_m1, ddof=1))
        fw["log_m1_mean_sampled"] = float(np.mean(log_m1))
    return fw


def _top_atom_check(samples, law, checks, z_threshold):
    r"""The finite-width top atom (:func:`spectral.finite_width.finite_width_top_atom`): its check (as the atom
    at 0: :math:`|\text{sampled} - \text{expected}| \le z_{\text{thr}}\,\text{se} + 1/(2 n N_L)`), the report
    record and ``(location, expected mass)`` for the distribution check; (None, None) without one."""
    res = finite_width_top_atom(samples, law)
    if res is None:
        return None, None
    loc, mass, se = res
    lam = samples.eigenvalues
    sampled = float(np.mean(np.abs(lam - loc) <= _TOP_SNAP * loc))
    tol = z_threshold * se + 0.5 / (samples.n_samples * samples.width)
    dev = abs(sampled - mass)
    checks["atom_top"] = (dev <= tol, f"top atom at {_g(loc, '.6g')}: |sampled - expected| = {_g(dev, '.3g')} "
                                      f"(allowed {_g(tol, '.3g')})")
    return {"location": loc, "expected": mass, "stderr": se, "sampled": sampled}, (loc, mass)


def _outlier_check(samples, law, checks, distribution):
    """Predicted length-mode outliers (network mode with biases) and the sampled smallest singular value per
    network; the check is :func:`spectral.outliers.length_mode_check` (``checks["outlier"]`` only where it
    could be made; otherwise the outlier entry's ``check`` says why)."""
    if samples.mode != "network" or not distribution:
        return [], None
    from .outliers import length_mode_check, length_outliers

    try:
        outliers = length_outliers(samples.network, law)
    except (RuntimeError, ValueError, ArithmeticError, NotImplementedError):
        return [], None
    if not outliers:
        return [], None
    ls = samples.log_singular_values
    rank = samples.rank
    smallest = tuple(float(np.exp(ls[i, int(rank[i]) - 1])) for i in range(ls.shape[0]))
    res = length_mode_check(samples.network, smallest, width=samples.width)
    outliers = [dict(o) for o in outliers]
    outliers[0]["check"] = res["detail"]
    if res["passed"] is not None:
        checks["outlier"] = (res["passed"], res["detail"])
    return outliers, smallest


def _z_scores(mean, theory, se):
    """(z, flat, relative deviation): z undefined (NaN) where the standard error is at the rounding level
    (``flat``: identical networks), where the deviation itself is the test."""
    floor = _SE_FLOOR * np.abs(theory)
    flat = np.isfinite(se) & (se <= floor) & np.isfinite(mean)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(flat, np.nan, (mean - theory) / np.where(flat, 1.0, se))
        rel_dev = np.abs(mean - theory) / np.where(theory != 0, np.abs(theory), 1.0)
    return z, flat, rel_dev


def _check_options(moments, z_threshold, distribution) -> None:
    """Refuse bad options of :func:`validate`, naming them (numpy integers and floats are accepted)."""
    if isinstance(moments, bool) or not isinstance(moments, int | np.integer) or moments < 1:
        raise ValueError(f"moments must be an integer >= 1 (try 4), got {moments!r}")
    if isinstance(z_threshold, bool) or not isinstance(z_threshold, int | float | np.integer | np.floating):
        raise TypeError(f"z_threshold must be a real number > 0 (try 4), got {z_threshold!r}")
    if not (math.isfinite(float(z_threshold)) and z_threshold > 0):
        raise ValueError(f"z_threshold must be finite and > 0 (try 4), got {z_threshold!r}")
    if not isinstance(distribution, bool | np.bool_):
        raise TypeError(f"distribution must be True or False, got {distribution!r}")
