r"""The solver's view of a law: factor records and the :class:`FactorizedLaw` a law hands over through its hook
``solver_factors()`` (docs/design.md §6).  Importing this module imports no law.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .cache import _cached


@dataclass(frozen=True)
class LinearFactor:
    r"""A factor :math:`S(s y)^n` with :math:`S(y) = c \prod_k (1 + b_k y)^{e_k}`.

    ``terms``: ((b_1, e_1), ...).  Marchenko–Pastur: ``c = 1/variance``, terms ((1, -1),) (ratio 1);
    Haar: ``c = 1/scale``, no terms; Bernoulli(p, v): ``c = 1/(v p)``, terms ((1, 1), (1/p, -1)).
    """

    c: float
    terms: tuple = ()
    multiplicity: float = 1.0
    scale: float = 1.0


@dataclass(frozen=True)
class ExplicitFactor:
    r"""A factor :math:`S(s y)^{n}` with closed-form :math:`\log S` and :math:`(\log S)'` (vectorized)."""

    log_s: Callable
    dlog_s: Callable
    multiplicity: float = 1.0
    scale: float = 1.0


@dataclass(frozen=True)
class ImplicitFactor:
    r"""A factor :math:`S(s y)^n` known through its moment transform :math:`M(\zeta)`, :math:`M'(\zeta)`.

    ``mean`` is :math:`m_1` of the factor; ``bounds`` the real interval holding its spectrum (the real
    singularities of ``m``), used to solve :math:`M(\zeta) = w` on the real line for the edges;
    ``g1`` (optional) evaluates :math:`1 + M(\zeta) = \zeta G(\zeta)` without cancellation near
    :math:`\zeta = 0`; ``values`` (atomic factors) the atom locations, whose gaps hold further real
    branches of :math:`M^{-1}`; ``offset`` :math:`= m_2/m_1` of the factor, the constant term of
    :math:`\zeta = m_1/w + m_2/m_1 + O(w)` (used by the continuation predictor); ``noise`` (optional)
    the absolute rounding error of ``g1`` at :math:`\zeta` (a quadrature next to the spectrum sums large
    terms of both signs), added to the attainable accuracy of Newton; ``spread`` (optional) the relative
    variance :math:`m_2/m_1^2 - 1`, computed without the cancellation of ``offset / mean - 1``;
    ``critical_values`` (optional) the points inside the spectrum where its density is singular (the
    critical values of :math:`d(h) = \phi'(\sqrt q h)^2` for :math:`D^2`), where a grid on the factor's own
    spectrum must break; ``limit_values`` (optional) the finite limits of d at :math:`h \to \pm\infty` inside the
    spectrum (gelu, swish), where its density has an integrable log-normal spike; ``jump_values`` (optional)
    the points of its spectrum where its density jumps between finite values (the end of a continuous piece of
    a piecewise :math:`D^2`: selu at :math:`\lambda^2\alpha^2`), where a grid must break and no map for a
    square-root or inverse-square-root end applies; ``pushforward`` (optional) the factor's law on its own
    spectrum in closed form (:class:`~spectral.laws.d2_pushforward.D2PushForward`: ``xrho(y)`` =
    :math:`-\operatorname{Im} M(y + i0)/\pi` and ``mass_between(y0, y1)``), which the law of the factor alone
    (docs/design.md §5.4) uses instead of the boundary value of ``m`` where it has a spike at a limit value;
    ``transforms`` (optional) returns ``(g1, m, dm, noise)`` at once, from the same sums as the four callables (the
    Newton evaluation needs all four at every point; a law whose sums share their work serves them in one call).
    """

    m: Callable
    dm: Callable
    mean: float
    bounds: tuple[float, float]
    multiplicity: float = 1.0
    scale: float = 1.0
    g1: Callable | None = None
    values: tuple | None = None
    offset: float = 0.0
    noise: Callable | None = None
    spread: float = math.nan
    critical_values: tuple = ()
    limit_values: tuple = ()
    jump_values: tuple = ()
    pushforward: object | None = None
    transforms: Callable | None = None


@dataclass(frozen=True, eq=False)
class FactorizedLaw:
    r"""The solver's view of a law (docs/design.md §6): a free product given by its factors.

    :math:`S_J(y) = \prod_j S_j(s_j y)^{n_j}` over ``factors`` (:class:`LinearFactor`, :class:`ExplicitFactor`,
    :class:`ImplicitFactor`, each carrying its multiplicity :math:`n_j` and scale :math:`s_j`); ``atoms``:
    exact (location, mass) pairs of the law; ``name``: the law's name; ``moments12``: (m_1, m_2) from an
    independent source, the reference of the density's certificate (None: the solver asks the law's
    ``log_moments`` / ``moments``); ``caveat``: why the law is not exact for what it models ("" when it is).

    Every :class:`spectral.laws.SpectralLaw` returns one from :meth:`~spectral.laws.SpectralLaw.solver_factors`
    (the only thing the solver asks of a law); a ``FactorizedLaw`` is also a law the solver accepts directly
    (e.g. in tests), and its own :meth:`solver_factors` returns itself.
    """

    factors: tuple
    atoms: tuple = ()
    name: str = "factorized"
    moments12: tuple | None = None
    #: why the law itself (not the solver) is not exact for what it models, e.g. factors taken as free that are
    #: not; non-empty, it fails the certificate of every density of the law with this reason
    caveat: str = ""
    #: points inside the spectrum where the density is singular though no atom sits there (an atom of the
    #: free product whose mass is exactly 0: an inverse-square-root singularity), where bands must break; and
    #: the end of a gap that opens at such a point (a residual block with a relu branch, docs/design.md §6.1)
    singular_points: tuple = ()
    #: the log of a lower bound of the spectrum known from the factors' supports (-inf: none), below which no
    #: interval is probed for continuous mass; a log, as the bound of a deep product is below the float range
    log_floor: float = -math.inf

    def solver_factors(self) -> FactorizedLaw:
        """The record itself (the hook every law implements)."""
        return self

    def moments(self, k):
        """m_1..m_k for k <= 2 (from ``moments12``)."""
        if self.moments12 is None or k > 2:
            raise NotImplementedError("FactorizedLaw knows m_1, m_2 only (pass moments12)")
        return np.asarray(self.moments12[:k], dtype=float)


#: The record a law hands to the solver (the same class: ``law.solver_factors()`` returns one).
SolverFactors = FactorizedLaw


def _record(law) -> FactorizedLaw:
    """The solver's view of ``law``: ``law.solver_factors()`` (docs/design.md §6), made once per law."""
    hook = getattr(law, "solver_factors", None)
    if hook is None:
        raise TypeError(f"the density solver needs a spectral law with a solver_factors() method (a "
                        f"spectral.laws.SpectralLaw or a spectral.density.FactorizedLaw), got {law!r}")
    try:
        rec = _cached(law, "solver_factors", hook)
    except NotImplementedError as exc:
        raise ValueError(f"{getattr(law, 'name', law)!r} has no density: the solver cannot use it ({exc})") from exc
    if not isinstance(rec, FactorizedLaw):
        raise TypeError(f"{getattr(law, 'name', law)!r}: solver_factors() must return a "
                        f"spectral.density.FactorizedLaw, got {type(rec).__name__}")
    return rec


def _factors(law) -> tuple:
    """The factors of ``law`` (Linear/Explicit/Implicit), from its hook."""
    out = tuple(_record(law).factors)
    if not out:
        raise ValueError(f"{getattr(law, 'name', law)!r}: no factor with nonzero multiplicity")
    return out


def _law_atoms(law) -> tuple:
    """The law's atoms (location, mass) with positive mass, ascending, from its hook."""
    atoms = _record(law).atoms
    return tuple(sorted((float(a), float(p)) for a, p in atoms if float(p) > 0))


def _continuous_mass(law) -> float:
    """1 - the mass of the atoms."""
    return 1.0 - sum(p for _, p in _law_atoms(law))
