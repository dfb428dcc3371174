r"""The density of a law, top to bottom (docs/design.md §5): edges -> grid and solve on every band -> tail ->
certificate; where the solver fails or is not certified near isometry, the point-mass limit of :math:`D^2`.

.. code-block:: text

    law.solver_factors()          the solver's view of the law (factors.py, docs/design.md §6)
    edges(law)                    support: bands, atoms, lambda_max            (edges.py, critical.py)
    _solve_bands(...)             nodes per band + M(x + i0) on them          (grid.py, soft_edge.py, real_axis.py)
    _solve_tail(...)              power-law tail of a band reaching 0          (tail.py)
    _certificate(...)             mass, m_1, m_2 against the law's series      (certificate.py, result.py)
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from .bands import _solve_bands
from .cache import _cached
from .certificate import _atoms_only, _certificate, _series_m12
from .edges import _system, edges
from .factors import _continuous_mass, _law_atoms, _record
from .limit import _limit_spread, _point_mass_limit
from .result import DensityResult, _warn_uncertified
from .tail import _solve_tail
from .threads import _quiet, _thread_policy
from .tolerances import _ATOMIC_MASS, _DIRECT_LIMIT_SPREAD, _TAIL_TOL, _USER_TOL_MAX

#: Errors of the solver that leave a partial answer (the point-mass limit, or an uncertified result) rather
#: than a bad input: no band, no critical point, overflow in a continuation.
_SOLVER_ERRORS = (RuntimeError, FloatingPointError, ZeroDivisionError, np.linalg.LinAlgError)


def _check_points(points):
    if isinstance(points, bool) or not isinstance(points, (int, np.integer)):
        raise TypeError(f"points must be an integer >= 16, got {points!r}")
    if points < 16:
        raise ValueError(f"points must be an integer >= 16 (try 2000), got {points}")
    return int(points)


def density(law, points=2000, *, tail_tol=_TAIL_TOL):
    """Density of the continuous part on an adaptive grid, with atoms and certificate diagnostics.

    Warns with :class:`UncertifiedDensityWarning` (naming the failing checks) when the result is not
    certified.

    Parameters
    ----------
    law : spectral law (FreeProduct / JacobianLaw / FactorizedLaw / any law with an S-transform)
    points : int
        Number of grid nodes on the bands (>= 16); a band reaching 0 gets an extra tail of
        ``max(64, points // 8)`` nodes in log x, most of them below the float range.
    tail_tol : float
        Continuous mass left below the deepest tail node (bounded by the power-law remainder).

    Returns
    -------
    DensityResult

    Notes
    -----
    Grid per band [a, b] (module docstring): a > 0: cosine map with the midpoint rule; a = 0:
    Gauss–Legendre in s with x = b - (b - c)s^2 on [c, b] (c = b/20), Gauss–Legendre in u = log x on
    [log c - 40, log c], and a tail u = u_0 - t/beta (Gauss–Legendre in t) down to where the remaining
    mass is below ``tail_tol``, using x rho(x) = -Im M(x + i0)/pi (never forms x).
    """
    res = _certified_density(law, points, tail_tol)
    _warn_uncertified(res, "density")
    return res


@_thread_policy
def _certified_density(law, points=2000, tail_tol=_TAIL_TOL) -> DensityResult:
    """:func:`density` without the warning (cached per law)."""
    points = _check_points(points)
    if not (0 < float(tail_tol) <= _USER_TOL_MAX):
        raise ValueError(f"tail_tol must lie in (0, {_USER_TOL_MAX:g}], got {tail_tol!r}")
    return _cached(law, ("density", points, float(tail_tol)),
                   lambda: _with_caveat(_record(law).caveat, _density(law, points, float(tail_tol))))


def _with_caveat(caveat: str, res: DensityResult) -> DensityResult:
    """``res``, failed with the law's own caveat (FactorizedLaw.caveat) when it has one."""
    if not caveat:
        return res
    failure = res.diagnostics.get("failure")
    diag = {**res.diagnostics, "failure": f"{failure}; {caveat}" if failure else caveat}
    return dataclasses.replace(res, diagnostics=diag)



def _density(law, points, tail_tol):
    r"""The solver's density, or -- where it fails or is not certified -- the point-mass limit of D^2.

    Near isometry (:math:`q^* \to 0` on the critical line, or :math:`q^* = 0` with :math:`\sigma_b^2 = 0`)
    the law of :math:`D^2` concentrates at its mean and the spectrum of :math:`JJ^T` narrows to a relative
    width of about :math:`\sqrt{L\,\mathrm{Var}(D^2)}/E[D^2]`, below what the solver resolves in floating
    point.  :func:`_point_mass_limit` replaces every factor of :math:`D^2` by the point mass at its mean:
    orthogonal weights give one atom at :math:`m_1`, Gaussian weights the scaled Fuss--Catalan law.  The
    limit keeps :math:`m_1` exactly; its certificate is the usual one against the law's own series (mass,
    :math:`m_1`, :math:`m_2` within :data:`CERTIFICATE_TOL`), so it is served as certified exactly when the
    law is within that distance of its limit, and the diagnostics state the distance (``limit_error``:
    the relative error of :math:`m_2`; for a single atom also ``limit_w2``, the Wasserstein-2 distance
    :math:`\sqrt{m_2 - m_1^2} = m_1 \sqrt{\sum_j n_j \mathrm{Var}(D_j^2)/E[D_j^2]^2}` to the true law (free
    multiplicative convolution adds relative variances exactly); ``limit_reason``: why the
    limit was served).  It is served directly, without the solver, when the variance it drops is below
    :data:`_DIRECT_LIMIT_SPREAD`.
    """
    spread = _limit_spread(law)
    if spread is not None and spread <= _DIRECT_LIMIT_SPREAD:
        res, failure = None, (f"D^2 is a point mass within rounding (relative spread of the product "
                              f"{spread:.1e})")
    else:
        try:
            res = _solve_density(law, points, tail_tol)
            failure = res.reason
        except _SOLVER_ERRORS as exc:
            res, failure = None, f"solver: {type(exc).__name__}: {exc}"
        if not failure:
            return res
    if spread is not None:
        limit = _point_mass_limit(law, spread)
        lim = _solve_density(limit.law, points, tail_tol)
        if lim.certified or res is None:
            diag = dict(lim.diagnostics)
            diag.update(limit_reason=failure, limit_error=diag.get("m2_rel_err", math.nan),
                        method="point-mass limit of D^2 (each D^2 factor replaced by the point mass at its mean): "
                               + str(diag.get("method", "")))
            if len(lim.atoms) == 1 and lim.support is None:
                # every other factor is a point mass too (Haar): the variance of the law is m1^2 spread
                diag["limit_w2"] = diag["m1_series"] * math.sqrt(limit.spread)
            if not lim.certified:
                diag["failure"] = failure
            return dataclasses.replace(lim, diagnostics=diag, law=getattr(law, "name", ""), points=points)
    if res is None:
        raise RuntimeError(f"{getattr(law, 'name', law)}: no density could be computed ({failure}) and the "
                           "law has no point-mass limit to hand over to")
    return res


@_quiet
def _solve_density(law, points, tail_tol) -> DensityResult:
    """The solver's density of ``law``: edges, bands, tail, certificate."""
    atoms = _law_atoms(law)
    cmass_exact = _continuous_mass(law)
    series = _series_m12(law)
    name = getattr(law, "name", "")
    if cmass_exact <= _ATOMIC_MASS:
        return _atoms_only(name, atoms, series, points)
    e = edges(law)
    sys = _system(law, e.log_lambda_max)
    grid = _solve_bands(sys, e, points, cmass_exact)
    tail = _solve_tail(sys, e, grid, points, tail_tol, cmass_exact)
    res = _certificate(name, e, atoms, cmass_exact, series, tail, grid.soft_edges, points, grid.spike_mass)
    return _with_end_laws(res, grid.end_laws, e.log_lambda_max)


def _with_end_laws(res: DensityResult, end_laws, log_c) -> DensityResult:
    """``res`` with the end laws at the product's zero-mass atoms in its diagnostics (``end_laws``: x, gamma,
    delta, fit residual, mass), failed where one did not fit (its mass is then missing; docs/design.md §5.10)."""
    if not end_laws:
        return res
    laws = [dict(x=math.exp(u + log_c), gamma=em.gamma, delta=em.delta, residual=em.residual, mass=em.mass)
            for u, em in end_laws]
    diag = {**res.diagnostics, "end_laws": laws,
            "method": f"{res.diagnostics['method']} + at each band end at a zero-mass atom of the product: "
                      "Gauss-Legendre in log |1 - x/x_s| and the mass closer to x_s from a fitted end law "
                      "t^gamma log(1/t)^delta (docs/design.md §5.10)"}
    bad = [d for d in laws if not math.isfinite(d["mass"])]
    if bad:
        why = "; ".join(f"no end law fits the density next to the zero-mass atom {d['x']:.6g} (residual "
                        f"{d['residual']:.1e}, gamma {d['gamma']:.3g})" for d in bad)
        diag["failure"] = f"{diag['failure']}; {why}" if diag.get("failure") else why
    return dataclasses.replace(res, diagnostics=diag)
