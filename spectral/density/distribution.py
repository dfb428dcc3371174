"""pdf, cdf, ppf of a law, the law of the singular values, and the methods laws inherit (:class:`DensityMixin`)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .cdf_grid import _Cdf, _check_q
from .edges import edges, lambda_max, support
from .factors import _continuous_mass, _law_atoms
from .pipeline import _certified_density, _check_points, density
from .result import DensityResult, _warn_uncertified
from .solve import solve_m_transform
from .threads import _thread_policy
from .tolerances import _ATOM_RTOL, _ATOM_SHIFT, _ATOMIC_MASS, _GUARD


@_thread_policy
def pdf(law, x):
    """Density of the continuous part at x (solved pointwise; 0 outside the bands; atoms excluded).

    Points that cannot be certified are NaN (with a ``RuntimeWarning``).  The bands come from the law's
    certified density (:func:`density` with the default grid, cached): when that is not certified, an
    :class:`UncertifiedDensityWarning` names the failing checks.
    """
    x = np.asarray(x, dtype=float)
    if np.any(np.isnan(x)):
        raise ValueError("x must not contain NaN")
    out = np.zeros(x.shape)
    if _continuous_mass(law) <= _ATOMIC_MASS:
        return out
    _warn_uncertified(_certified_density(law), "pdf", stacklevel=4)
    e = edges(law)
    inside = np.zeros(x.shape, bool)
    for lo, hi in e.bands:
        inside |= (x > lo) & (x < hi)
    if np.any(inside):
        xp = x[inside]
        for a, _p in _law_atoms(law):  # the continuous part at an atom location: its one-sided limit
            xp = np.where(np.abs(xp - a) <= _ATOM_RTOL * max(abs(a), _GUARD), xp * (1 - _ATOM_SHIFT), xp)
        m = solve_m_transform(law, xp + 0j)
        out[inside] = np.maximum(-np.imag(m) / math.pi / xp, 0.0) if np.all(np.isfinite(m)) \
            else -np.imag(m) / math.pi / xp
    return out


def cdf(law, x, points=2000):
    """P(lambda <= x), right-continuous (as scipy.stats): every atom at a location <= x plus the
    continuous part, integrated on the density grid (monotone cubic interpolation of the cumulative
    quadrature between nodes, accuracy ~1e-7 relative to the mass; flat in gaps).  cdf(0) is the atom
    at 0.  An uncertified density warns (:class:`UncertifiedDensityWarning`)."""
    x = np.asarray(x, dtype=float)
    if np.any(np.isnan(x)):
        raise ValueError("x must not contain NaN")
    res = _certified_density(law, _check_points(points))
    _warn_uncertified(res, "cdf")
    return _Cdf(res)(x)


def ppf(law, q, points=2000):
    """Generalised inverse of :func:`cdf`: inf{x : cdf(x) >= q}, q in [0, 1].

    Atoms give flat steps: every q in (F(a-), F(a)] maps to the atom location a; ppf(0) = 0 and
    ppf(1) = lambda_max.  cdf(ppf(q)) >= q, with equality inside the continuous part.  An uncertified
    density warns (:class:`UncertifiedDensityWarning`).
    """
    q = _check_q(q)
    res = _certified_density(law, _check_points(points))
    _warn_uncertified(res, "ppf")
    return _Cdf(res).inverse(q)


def cdf_log(law, t, points=2000):
    """P(log lambda <= t) = :func:`cdf` at x = e^t, for any real t: also where e^t lies below the float range
    (a deep product with Gaussian weights keeps most of its mass there), from the density's nodes in log x
    (``DensityResult.log_x``).  An uncertified density warns (:class:`UncertifiedDensityWarning`)."""
    t = np.asarray(t, dtype=float)
    if np.any(np.isnan(t)):
        raise ValueError("t must not contain NaN (t = log x; -inf for x = 0)")
    res = _certified_density(law, _check_points(points))
    _warn_uncertified(res, "cdf_log")
    return _Cdf(res).at_log(t)


def ppf_log(law, q, points=2000):
    """Natural log of :func:`ppf`, exact also where the quantile lies below the float range (where
    :func:`ppf` returns 0.0, the nearest float); -inf for q in an atom at 0.  An uncertified density warns
    (:class:`UncertifiedDensityWarning`)."""
    q = _check_q(q)
    res = _certified_density(law, _check_points(points))
    _warn_uncertified(res, "ppf_log")
    return _Cdf(res).inverse_log(q)


# ------------------------------------------------------------------------------------------ singular values
@dataclass(frozen=True, eq=False)
class SingularValueLaw:
    """Law of the singular values s of J, s^2 = eigenvalue of J J^T: rho_s(s) = 2 s rho(s^2).

    Atoms sit at sqrt(location) with the same masses; cdf_s(s) = cdf(s^2); ppf_s(q) = sqrt(ppf(q)).
    """

    eig: object

    @property
    def name(self):
        return f"singular values of {getattr(self.eig, 'name', 'law')}"

    @property
    def atoms(self):
        return tuple((math.sqrt(a), p) for a, p in _law_atoms(self.eig))

    def support(self):
        sup = support(self.eig)
        return None if sup is None else (math.sqrt(sup[0]), math.sqrt(sup[1]))

    @property
    def lambda_max(self):
        """Largest singular value (square root of the top of the eigenvalue spectrum)."""
        return math.sqrt(lambda_max(self.eig))

    def density(self, points=2000, **kwargs):
        """:class:`DensityResult` in the variable s (same nodes as the eigenvalue density)."""
        r = density(self.eig, points, **kwargs)
        s = np.sqrt(r.x)
        d = dict(r.diagnostics)
        d["variable"] = "singular value s, rho_s(s) = 2 s rho(s^2)"
        d["bands"] = [[math.sqrt(a), math.sqrt(b)] for a, b in d.get("bands", [])]
        d["edges"] = tuple(math.sqrt(v) for v in d["edges"]) if "edges" in d else None
        sup = None if r.support is None else (math.sqrt(r.support[0]), math.sqrt(r.support[1]))
        w = None if r.weights is None else r.weights / np.where(s > 0, 2 * s, 1.0)
        atoms = tuple((math.sqrt(max(float(a), 0.0)), p) for a, p in r.atoms)  # the result's own (limit) atoms
        # log s = log(lambda) / 2: the density of log s is twice that of log lambda, its weights half
        return DensityResult(s, 2 * s * r.density, atoms, sup, math.sqrt(r.lambda_max), r.mass, d,
                             r.law + " [singular values]", points, r._cum, w,
                             None if r.log_x is None else 0.5 * r.log_x, None if r.xrho is None else 2 * r.xrho,
                             None if r.log_weights is None else 0.5 * r.log_weights)

    def pdf(self, s):
        s = np.asarray(s, float)
        return 2 * s * pdf(self.eig, np.where(s > 0, s * s, 0.0))

    def cdf(self, s, points=2000):
        s = np.asarray(s, float)
        return cdf(self.eig, np.where(s > 0, s * s, 0.0), points)

    def ppf(self, q, points=2000):
        return np.sqrt(ppf(self.eig, q, points))

    def cdf_log(self, t, points=2000):
        return cdf_log(self.eig, 2 * np.asarray(t, float), points)

    def ppf_log(self, q, points=2000):
        return 0.5 * ppf_log(self.eig, q, points)

    def moments(self, k):
        raise NotImplementedError("moments of the singular values: use the eigenvalue law (m_k of s^2)")


def singular_values(law) -> SingularValueLaw:
    """The law of the singular values of J for the law of J J^T."""
    return SingularValueLaw(law)


class DensityMixin:
    """Methods a spectral law gains from :mod:`spectral.density` (bound by inheritance)."""

    def density(self, points=2000, **kwargs):
        """Density on an adaptive grid (:func:`spectral.density.density`)."""
        return density(self, points, **kwargs)

    def pdf(self, x):
        """Density of the continuous part at x (:func:`spectral.density.pdf`)."""
        return pdf(self, x)

    def cdf(self, x):
        """P(lambda <= x), atoms included (:func:`spectral.density.cdf`)."""
        return cdf(self, x)

    def ppf(self, q):
        """Generalised inverse of the cdf (:func:`spectral.density.ppf`)."""
        return ppf(self, q)

    def cdf_log(self, t):
        """P(log lambda <= t), also below the float range of x (:func:`spectral.density.cdf_log`)."""
        return cdf_log(self, t)

    def ppf_log(self, q):
        """Natural log of the quantiles, also below the float range (:func:`spectral.density.ppf_log`)."""
        return ppf_log(self, q)

    @property
    def lambda_max(self):
        """Top of the spectrum (:func:`spectral.density.lambda_max`)."""
        return lambda_max(self)

    def singular_values(self):
        """Law of the singular values of J (:class:`spectral.density.SingularValueLaw`)."""
        return singular_values(self)
