"""The solver's answer: :class:`DensityResult` with its certificate, the warning for an uncertified one, and
its JSON form."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np

from ..jsonout import jsonable
from .cdf_grid import _grid_ppf, _grid_ppf_log
from .tolerances import CERTIFICATE_TOL


class UncertifiedDensityWarning(RuntimeWarning):
    """A density (or pdf/cdf/ppf from it) is served although its certificate failed; the message says why."""


@dataclass(frozen=True)
class DensityResult:
    """Eigenvalue density of a law on an adaptive grid.

    Attributes
    ----------
    x : ndarray
        Grid, ascending (nodes below the float range are used in the mass bookkeeping, not listed).
    density : ndarray
        Continuous part rho(x); NaN where a point could not be certified.
    atoms : tuple
        (location, mass) pairs, exact from the law.
    support : tuple or None
        (lo, hi) of the continuous part (lo = 0 when it reaches 0); None without continuous part.
    lambda_max : float
        Top of the spectrum (upper edge or largest atom).
    mass : float
        Integrated continuous mass + atom masses (1 up to the quadrature error).
    diagnostics : dict
        ``continuous_mass``, ``continuous_mass_exact`` (1 - atom masses), ``atom_mass``, ``mass_error``,
        ``tail_mass`` (continuous mass below the smallest listed x), ``m1``/``m2`` (from the density and
        atoms), ``m1_series``/``m2_series`` and ``m1_rel_err``/``m2_rel_err``, ``worst_residual``,
        ``uncertified`` and ``fallback`` (indices into ``x``), ``n_uncertified_total`` (also counting
        unlisted tail nodes), ``uncertified_log_x`` ([lowest, highest] log x of the uncertified nodes, empty
        when none), ``bands``, ``gap``, ``top_atom``, ``tail_exponent``, ``method``.
    law : str
        Name of the law.
    points : int
        Requested number of points.
    weights : ndarray
        Quadrature weights of the listed nodes: the continuous mass above the first listed node is
        ``sum(weights * density)`` (and ``sum(weights * x**k * density)`` its moments).
    log_x : ndarray or None
        Natural logarithm of *every* node of the continuous part, ascending, including those below the
        float range that ``x`` does not list (a depth-10^4 product with Gaussian weights has ~93% of its
        mass below 1e-308: by Tucci's theorem lambda^(1/L) has a limit law, so log lambda spreads over ~L
        e-folds).  None for a result without continuous part.
    xrho : ndarray or None
        x rho(x) at ``log_x``: the density of log lambda there (finite at any depth; NaN where a node
        could not be certified).
    log_weights : ndarray or None
        Quadrature weights in log x: the continuous mass above the deepest node is ``sum(log_weights *
        xrho)`` (the rest, ``diagnostics["tail_remainder"]``, is bounded by the tail's power law).
    """

    x: np.ndarray
    density: np.ndarray
    atoms: tuple
    support: tuple | None
    lambda_max: float
    mass: float
    diagnostics: dict = field(default_factory=dict)
    law: str = ""
    points: int = 0
    _cum: np.ndarray | None = field(default=None, repr=False, compare=False)
    weights: np.ndarray | None = field(default=None, repr=False, compare=False)
    log_x: np.ndarray | None = field(default=None, repr=False, compare=False)
    xrho: np.ndarray | None = field(default=None, repr=False, compare=False)
    log_weights: np.ndarray | None = field(default=None, repr=False, compare=False)

    @property
    def certified(self) -> bool:
        """True when every node was certified and mass, m1, m2 agree with the law within
        :data:`CERTIFICATE_TOL`; a check that could not be made (missing or NaN) fails."""
        return not self.reason

    @property
    def reason(self) -> str:
        """Why the density is not certified: the failing checks, ``"; "``-separated ("" when certified)."""
        d = self.diagnostics
        bad = []
        n_unc = d.get("n_uncertified_total")
        if n_unc is None:
            bad.append("per-point check not made")
        elif n_unc:
            span = d.get("uncertified_log_x")
            where = f" (log x from {span[0]:.6g} to {span[1]:.6g})" if span else ""
            bad.append(f"{int(n_unc)} grid points uncertified{where}")
        if d.get("failure"):
            bad.append(str(d["failure"]))
        for key, label in (("mass_error", "total mass"), ("m1_rel_err", "m1"), ("m2_rel_err", "m2")):
            e = d.get(key)
            if e is None or not math.isfinite(float(e)):
                why = d.get("moment_check_error") if key != "mass_error" else ""
                bad.append(f"{label} check could not be made" + (f" ({why})" if why else ""))
            elif e > CERTIFICATE_TOL:
                bad.append(f"{label} off by {float(e):.2g} (tolerance {CERTIFICATE_TOL:g})")
        return "; ".join(bad)

    def to_dict(self) -> dict:
        """JSON-able dict with the keys x, density, atoms, support, lambda_max, mass, diagnostics."""
        return density_summary(self)


def density_summary(res: DensityResult, quantiles=(0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99)) -> dict:
    """JSON-ready dict of a :class:`DensityResult` (the ``spectral density --json`` contract).

    Keys: ``x``, ``density`` (lists; NaN -> null), ``atoms`` ([[location, mass], ...]), ``support``
    ([lo, hi] or null), ``lambda_max``, ``mass``, ``diagnostics`` (numbers, lists and strings only,
    including ``certified``, ``quantiles``: {q: x_q} of the full law, atoms included, from the
    cumulative sum on the grid, and ``log10_quantiles``: {q: log10 x_q}, which stays exact where x_q lies
    below the float range and ``quantiles`` holds 0.0, the nearest float; -inf for a quantile in an atom at
    0).
    """
    diag = {k: jsonable(v) for k, v in res.diagnostics.items()}
    diag["certified"] = bool(res.certified)
    diag["quantiles"] = {f"{q:g}": jsonable(v) for q, v in zip(quantiles, _grid_ppf(res, quantiles),
                                                                   strict=True)}
    diag["log10_quantiles"] = {f"{q:g}": jsonable(v / math.log(10.0))
                               for q, v in zip(quantiles, _grid_ppf_log(res, quantiles), strict=True)}
    return {
        "x": jsonable(res.x),
        "density": jsonable(res.density),
        "atoms": [[float(a), float(p)] for a, p in res.atoms],
        "support": None if res.support is None else [float(res.support[0]), float(res.support[1])],
        "lambda_max": float(res.lambda_max),
        "mass": float(res.mass),
        "diagnostics": diag,
    }


def _warn_uncertified(res: DensityResult, what: str, stacklevel: int = 3) -> None:
    """UncertifiedDensityWarning naming the failing checks of ``res`` (nothing when it is certified)."""
    if not res.certified:
        warnings.warn(f"{res.law or 'law'}: {what} is NOT CERTIFIED: {res.reason}", UncertifiedDensityWarning,
                      stacklevel=stacklevel)
