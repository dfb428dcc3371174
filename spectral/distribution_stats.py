r"""The distribution check of :func:`spectral.validation.validate`: sampled eigenvalues against the theory CDF.

KS against the theory CDF with the finite-width rank deficit, the effective sample size from the
across-network spread of the per-network ECDFs, and the Wasserstein-1 distance integrated exactly for a
piecewise-linear CDF; the statistics and thresholds are stated in the :mod:`spectral.validation` docstring.
The theory CDF is used only when its density is certified (:func:`theory_certificate`).
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from .montecarlo import JacobianSamples

__all__ = ["KOLMOGOROV_999", "KOLMOGOROV_MEDIAN", "bootstrap_n_eff", "drop_smallest", "theory_certificate",
           "theory_cdf", "distribution_stats", "wasserstein_1",
           "pooled_eigenvalues", "theory_lambda_max", "abs_linear_integral"]

#: Asymptotic Kolmogorov 0.999 quantile, :math:`\sqrt{\ln(2/\alpha)/2}` at :math:`\alpha = 10^{-3}`.
KOLMOGOROV_999 = math.sqrt(math.log(2 / 1e-3) / 2)
#: Accuracy budget of the theory CDF (the density certificate's tolerance), added to the KS bound.
_CDF_TOL = 1e-6
#: Sampled eigenvalues within this relative distance of a nonzero theory atom are put on it (rounding).
_ATOM_SNAP = 1e-8


def theory_cdf(law):
    """A vectorised CDF of the law, or (None, reason)."""
    f = getattr(law, "cdf", None)
    if f is None:
        from . import density  # imported here: density imports the laws this module is given

        def f(x, _law=law):
            return density.cdf(_law, x)
    return f, None


def pooled_eigenvalues(samples: JacobianSamples, atoms):
    lam = samples.eigenvalues.copy()
    lam[~np.isfinite(samples.log_singular_values)] = 0.0
    for a, _p in atoms:
        a = float(a)
        if a > 0:
            lam[np.abs(lam - a) <= _ATOM_SNAP * a] = a
    return lam


def theory_lambda_max(law) -> float | None:
    """Top of the theory spectrum, or None where the edge solver cannot give it."""
    try:
        lam_max = getattr(law, "lambda_max", None)
        lam_max = float(lam_max) if lam_max is not None else None
    except Exception:  # noqa: BLE001 - a failing edge solver leaves W1 to the sampled range
        return None
    return lam_max if lam_max is not None and math.isfinite(lam_max) else None


def abs_linear_integral(h, u, v):
    r""":math:`\int_0^h |g|` for :math:`g` linear from ``u`` to ``v`` on :math:`[0, h]` (exact, also when
    :math:`g` changes sign)."""
    au, av = np.abs(u), np.abs(v)
    cross = u * v < 0
    with np.errstate(divide="ignore", invalid="ignore"):
        split = (u * u + v * v) / (2.0 * (au + av))
    return h * np.where(cross, split, 0.5 * (au + av))


def wasserstein_1(pooled, cdf, atoms, *, lam_max=None, floor=0.0, nodes=4097):
    r"""Wasserstein-1 distance :math:`\int_0^\infty |\bar F(x) - F_N(x)|\, dx` between the ECDF of the sorted
    ``pooled`` eigenvalues and :math:`F_N = \max(F, \text{floor})` on :math:`x > 0` (``floor = 0``: the
    theory CDF :math:`F` itself, atoms included).

    Both CDFs are 0 below 0 and 1 above :math:`x_{\max} = \max(\lambda_{\max}, \max_i \lambda_i)`.  The
    nodes are the sample values, the atom locations and a uniform and a logarithmic grid on
    :math:`[0, x_{\max}]`; on each interval :math:`[x_j, x_{j+1})` the ECDF is constant and :math:`F` is
    taken linear from its value at :math:`x_j` to its left limit at :math:`x_{j+1}` (which excludes an atom
    at :math:`x_{j+1}`: the jump belongs to the next interval), and :math:`\int |\bar F - F|` over the
    interval is exact for that linear :math:`F` (also where the difference changes sign).  As :math:`F` is
    monotone, the interpolation error is at most :math:`\sum_j \Delta_j (x_{j+1} - x_j)` with
    :math:`\Delta_j` the rise of :math:`F` inside the interval, so below the largest spacing,
    :math:`x_{\max}/(\text{nodes} - 1)`, and much smaller where the samples are dense.  Nodes where
    :math:`F` is not finite are dropped.
    """
    pooled = np.asarray(pooled, dtype=float)
    total = pooled.size
    top = float(pooled[-1]) if total else 0.0
    if lam_max is not None:
        top = max(top, float(lam_max))
    locs = np.array([a for a, _ in atoms], dtype=float)
    if top <= 0:  # every eigenvalue and all theory mass at 0
        return 0.0
    fine = np.concatenate([np.linspace(0.0, top, nodes), top * np.logspace(-12, 0, 241)])
    xs = np.unique(np.concatenate([[0.0], pooled, locs[(locs >= 0) & (locs <= top)], fine]))
    f_hi = np.asarray(cdf(xs), dtype=float)
    jump = np.zeros(xs.shape)
    for a, p in atoms:
        jump[xs == a] += p
    f_lo = f_hi - jump  # left limits F(x-)
    good = np.isfinite(f_hi)
    xs, f_hi, f_lo = xs[good], f_hi[good], f_lo[good]
    if xs.size < 2:
        return float("nan")
    if floor > 0:  # finite-width rank deficit: extra mass at exactly 0
        f_hi = np.maximum(f_hi, floor)
        f_lo = np.where(xs > 0, np.maximum(f_lo, floor), f_lo)
    e = np.searchsorted(pooled, xs, side="right") / total
    w1 = abs_linear_integral(np.diff(xs), e[:-1] - f_hi[:-1], e[:-1] - f_lo[1:])
    # beyond the last node both CDFs are 1 (up to the theory's rounding); below 0 both are 0
    return float(np.sum(w1))


def theory_certificate(law) -> str | None:
    """Why the theory CDF of ``law`` may not be used (its density is not certified or fails), or None."""
    dens = getattr(law, "density", None)
    if dens is None:
        return None  # a law with its own closed-form CDF
    caveat = _law_caveat(law)
    if caveat:  # every density of such a law fails its certificate with this reason: none is solved
        return f"theory not certified: {caveat}"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the reason is reported instead
            res = dens()
    except (RuntimeError, ValueError, ArithmeticError, NotImplementedError) as exc:
        return f"theory density failed: {type(exc).__name__}: {exc}"
    if not res.certified:
        return f"theory not certified: {res.reason}"
    return None


def _law_caveat(law) -> str:
    """Why ``law`` itself is not exact for what it models, read from its public ``not_free`` (a spec's law:
    :class:`spectral.architecture.jacobian.ArchitectureLaw`, the source of its solver record's caveat, which
    fails every density certificate), "" when it is exact or says nothing (the density then reports)."""
    return str(getattr(law, "not_free", None) or "")


def _theory_atoms(law):
    """The atoms the theory CDF jumps at: those of its density result where it has one (they include the
    point-mass limit of an isometric network, which the law's exact atoms do not), else the law's."""
    dens = getattr(law, "density", None)
    if dens is None:
        return law.atoms
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # certified before this is called (theory_certificate)
        return dens().atoms


def _with_top_atom(cdf, atoms, top):
    r"""CDF and atoms with the top atom at its finite-width mean mass :math:`m_N` (``top = (t, m_N)``):
    :math:`F_N(x) = \min(F(x), 1 - m_N)` below :math:`t` (the mass comes from the top of the continuous
    part), the atom at :math:`t` of mass :math:`m_N`."""
    if top is None:
        return cdf, atoms
    loc, mass = float(top[0]), float(top[1])

    def cdf_n(x, _cdf=cdf):
        x = np.asarray(x, dtype=float)
        f = np.asarray(_cdf(x), dtype=float)
        return np.where(x < loc, np.minimum(f, 1.0 - mass), f)

    return cdf_n, [(a, p) for a, p in atoms if a != loc] + [(loc, mass)]


def drop_smallest(lam: np.ndarray, rank: np.ndarray, count: int) -> np.ndarray:
    """Remove the ``count`` smallest nonzero eigenvalues of each network (rows sorted descending, the
    ``N - rank`` zeros last): the outliers predicted below the bulk."""
    if count <= 0:
        return lam
    n, width = lam.shape
    keep = np.ones(lam.shape, dtype=bool)
    for i in range(n):
        r = int(rank[i])
        keep[i, max(0, r - count):r] = False
    return lam[keep].reshape(n, width - count)


#: Median of the Kolmogorov distribution: maps the bootstrap median of sup |F* - F| onto an effective size.
KOLMOGOROV_MEDIAN = 0.8275735551899077
#: Bootstrap resamples of the networks for the effective sample size (the median of B resamples has a relative
#: sd of about 1.25/sqrt(B) ~ 6%, i.e. 12% in n_eff).
_BOOTSTRAP = 400
#: Grid of pooled quantiles on which the per-network ECDFs are compared (finer than any reported KS digit).
_GRID_LEVELS = 399


def bootstrap_n_eff(lam: np.ndarray, seed: int = 0) -> float:
    r"""Effective sample size of the pooled ECDF from a bootstrap over networks: resample the ``n`` rows with
    replacement, :math:`D^* = \sup_x |\bar F^*(x) - \bar F(x)|` on a grid of pooled quantiles, and
    :math:`n_{\text{eff}} = (K_{0.5}/\operatorname{median} D^*)^2` (:math:`K_{0.5}` the Kolmogorov median), so
    that the Kolmogorov law with :math:`n_{\text{eff}}` has the bootstrap's median.  Correlations within a
    network (rigidity, a common random scale) enter as they are; NaN for one network."""
    n, width = lam.shape
    if n < 2:
        return float("nan")
    pooled = np.sort(lam.ravel())
    grid = np.unique(np.quantile(pooled, np.linspace(0.0, 1.0, _GRID_LEVELS + 2)[1:-1]))
    per = np.stack([np.searchsorted(np.sort(lam[i]), grid, side="right") / width for i in range(n)])
    fbar = per.mean(axis=0)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(_BOOTSTRAP, n))
    sups = np.max(np.abs(per[idx].mean(axis=1) - fbar), axis=1)
    med = float(np.median(sups))
    return math.inf if med == 0 else (KOLMOGOROV_MEDIAN / med) ** 2


def distribution_stats(samples: JacobianSamples, law, m1, atom_fw, *, top=None, outliers: int = 0):
    """KS (against the rank-adjusted CDF, and the raw one), its bound, n_eff, W1 and relative W1; or
    ``(None, reason)``.  ``top``: ``(location, mean mass)`` of the finite-width top atom; ``outliers``: number
    of predicted outliers below the bulk removed from each network."""
    why = theory_certificate(law)
    if why is not None:
        return None, why
    cdf, why = theory_cdf(law)
    if cdf is None:
        return None, why
    atoms = [(float(a), float(p)) for a, p in _theory_atoms(law)]
    raw_cdf, raw_atoms = cdf, atoms
    cdf, atoms = _with_top_atom(cdf, atoms, top)
    lam = drop_smallest(pooled_eigenvalues(samples, atoms), samples.rank, outliers)
    n, width = lam.shape
    pooled = np.sort(lam.ravel())
    total = pooled.size
    xs = np.unique(np.concatenate([pooled, [a for a, _ in atoms]]))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            f_hi = np.asarray(cdf(xs), dtype=float)
        except Exception as exc:  # the density solver may not handle every law yet
            return None, f"theory CDF failed ({type(exc).__name__}: {exc})"
    bad = ~np.isfinite(f_hi)
    msgs = [str(w.message) for w in caught]
    if np.all(bad):
        return None, "theory CDF returned no finite values"
    atom_mass = {a: p for a, p in atoms}
    f_lo = f_hi - np.array([atom_mass.get(float(x), 0.0) for x in xs])
    e_hi = np.searchsorted(pooled, xs, side="right") / total
    e_lo = np.searchsorted(pooled, xs, side="left") / total
    good = ~bad

    def sup(fh, fl):
        return float(max(np.max(np.abs(e_hi - fh)[good]), np.max(np.abs(e_lo - fl)[good])))

    raw_hi = np.asarray(raw_cdf(xs), dtype=float) if raw_cdf is not cdf else f_hi
    raw_mass = {a: p for a, p in raw_atoms}
    raw_lo = raw_hi - np.array([raw_mass.get(float(x), 0.0) for x in xs])
    ks_raw = sup(raw_hi, raw_lo)
    # finite-width rank: the lowest (atom_fw - atom) of the mass sits at exactly 0
    f_hi = np.maximum(f_hi, atom_fw)
    f_lo = np.where(xs > 0, np.maximum(f_lo, atom_fw), f_lo)
    ks = sup(f_hi, f_lo)
    # effective sample size: bootstrap over networks, at most the i.i.d. n N (rigid spectra fluctuate less)
    n_eff = bootstrap_n_eff(lam)
    n_eff = float(total) if math.isnan(n_eff) else float(np.clip(n_eff, n, total))
    bound = KOLMOGOROV_999 / math.sqrt(n_eff) + _CDF_TOL
    # Wasserstein-1 against the rank-adjusted CDF and against F itself
    lam_max = theory_lambda_max(law)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        w1 = wasserstein_1(pooled, cdf, atoms, lam_max=lam_max, floor=atom_fw)
        w1_raw = wasserstein_1(pooled, raw_cdf, raw_atoms, lam_max=lam_max)
    msgs += [str(w.message) for w in caught]
    note = None
    if bad.any():
        note = f"theory CDF was not finite at {int(bad.sum())} of {bad.size} points (excluded)"
    if msgs:
        note = (note + "; " if note else "") + f"density solver warned: {msgs[0]}"
    return {"ks": ks, "ks_infinite_width": ks_raw, "ks_bound": bound, "n_eff": n_eff, "wasserstein": w1,
            "wasserstein_infinite_width": w1_raw, "wasserstein_relative": w1 / m1 if m1 else float("nan")}, note
