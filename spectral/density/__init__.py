r"""Eigenvalue density of free products (the law of :math:`J J^T`): solver, edges, grids, quantiles.

Method
------
For a free product with :math:`S_J(y) = \prod_l S_l(s_l y)^{n_l}` the moment generating function
:math:`m = M(z)` solves the density equation (conventions in :mod:`spectral.laws`)

.. math::  \log z = \log(1+m) - \log m - \sum_l n_l \log S_l(s_l m), \qquad G = (1+m)/z,

which is used in this *log form* only: :math:`S_J` is never expanded into a polynomial, depth
:math:`10^4` costs what depth 1 costs, and :math:`z` itself may be far outside float range
(the solver works with :math:`\log z`, normalised by the top of the spectrum).  Residuals are taken
modulo :math:`2\pi i`.

*Linear factors* (Marchenko–Pastur, Haar, Bernoulli :math:`D^2` of relu / hard-tanh / linear, dimension
changes) have :math:`S(y) = c\prod_k (1 + b_k y)^{e_k}`; all of them are merged into one table, so that

.. math:: \log z = C + e_0 \log m + \sum_k e_k \log(1 + b_k m) + \sum_j n_j \log\zeta_j

with a handful of distinct :math:`b_k` whatever the depth (the exponents carry the depth).
*Implicit factors* (the law of :math:`D^2` of a smooth activation, known through :math:`M_j`) carry
their own unknown :math:`\zeta_j = M_j^{-1}(s_j m)`, i.e. :math:`1 + M_j(\zeta_j) = 1 + s_j m`; the
block system is solved by Newton with the Schur complement (one scalar division per point).
*Generic explicit factors* (any other closed-form S) enter through :math:`\log S` and
:math:`(\log S)'`.

Precision near :math:`z = 0`.  As :math:`z \to 0`, :math:`m \to m_0 = -(1 - w_0)` (:math:`w_0`: the
atom at 0) and for a product of depth L the approach is a power, :math:`m - m_0 \propto
z^{1/\kappa}` (:math:`\kappa = L+1` for linear Gaussian networks).  In the variable m itself
:math:`m - m_0` would lose all its digits below :math:`10^{-16}`; the solver therefore switches, point by
point, to the unknown :math:`\delta = m - m_0` near :math:`m_0` and evaluates every linear factor as
:math:`(1 + b_k m_0) + b_k\delta` with the vanishing constants set to exactly 0.  The power-law
exponent :math:`\beta = 1/\kappa` of :math:`x\rho(x)` is exact for linear factors.

Branch selection (docs/design.md §4.3): each point :math:`z = x + i\eta` starts at
:math:`\eta_0 = 10\lambda_{\max}` with :math:`m \approx m_1/z`, and :math:`\eta` is lowered with an
adaptive step in :math:`\log\eta` (Euler predictor in the logarithm of the unknown, damped Newton
corrector); a step is accepted only if Newton converged, :math:`\operatorname{Im} G \le 0` and the
corrector stayed close to the predictor (continuity); otherwise the step is cut.  A last step goes to
the real axis (:math:`\eta = 0`, the boundary value :math:`M(x + i0)`).  Points that cannot be certified
are returned as NaN and listed in the diagnostics — never silently wrong.

Support.  Edges are real critical points :math:`d\log z/dm = 0` with real :math:`z > 0` (for linear
factors the roots of a polynomial of degree equal to the number of distinct :math:`b_k`; otherwise a
scan of the real m-line with :math:`\zeta_j` solved on the real axis), together with 0 and the atoms.
Each interval between consecutive break points is classified by solving the density at interior
points, so a spurious critical point (another sheet) can never invent or remove a band.

Mass bookkeeping uses :math:`x\rho(x) = -\operatorname{Im} m(x + i0)/\pi`.  On a band reaching 0 the
quadrature is in :math:`u = \log x` (Gauss–Legendre), continued by a tail :math:`u = u_0 - t/\beta` that
is never formed in x (depth-256 relu has mass 0.07 below :math:`10^{-300}`), with the power-law
remainder below the deepest node; towards the top edge :math:`x = b - (b-c)s^2` (Gauss–Legendre in s,
spectrally accurate for a square-root edge); bands away from 0 use the cosine map
:math:`x = a + (b-a)(1-\cos\pi t)/2` with the midpoint rule.

Atoms are exact, from the laws (``law.atoms``): Belinschi's rule for free products, ranks for
rectangular networks (see :mod:`spectral.product`).

Near isometry (:math:`q^* \to 0`) the law of :math:`D^2` concentrates at its mean and the spectrum narrows
below what the solver resolves; there the *point-mass limit* of :math:`D^2` is served (orthogonal weights:
one atom at :math:`m_1`; Gaussian: the scaled Fuss--Catalan law), certified against the law's own series
and with its distance stated (:func:`_density`).  A result that is not certified is still returned, with
``reason``, and every public entry (:func:`density`, :func:`pdf`, :func:`cdf`, :func:`ppf`) warns with
:class:`UncertifiedDensityWarning`.  The solver's numerical work runs under one BLAS thread
(:data:`SOLVER_BLAS_THREADS`, set here, not by the caller).

References: J. Pennington, S. Schoenholz, S. Ganguli, NeurIPS 2017 and AISTATS 2018 (density
equation for deep Jacobians); S. T. Belinschi, *The atoms of the free multiplicative convolution of
two probability distributions*, Integral Equations Operator Theory 46 (2003).
"""

from __future__ import annotations

from .cdf_grid import _Cdf
from .distribution import DensityMixin, SingularValueLaw, cdf, cdf_log, pdf, ppf, ppf_log, singular_values
from .edges import _Edges, _system, edges, lambda_max, support
from .factors import ExplicitFactor, FactorizedLaw, ImplicitFactor, LinearFactor, SolverFactors, _factors
from .grid import _band_nodes
from .pipeline import density
from .result import DensityResult, UncertifiedDensityWarning, density_summary
from .soft_edge import _soft_edge, _soft_edge_critical
from .solve import MSolution, solve_m_transform
from .system import _System
from .threads import SOLVER_BLAS_THREADS
from .tolerances import CERTIFICATE_TOL

__all__ = [
    "LinearFactor",
    "ExplicitFactor",
    "ImplicitFactor",
    "FactorizedLaw",
    "SolverFactors",
    "MSolution",
    "DensityResult",
    "UncertifiedDensityWarning",
    "CERTIFICATE_TOL",
    "DensityMixin",
    "SingularValueLaw",
    "solve_m_transform",
    "density",
    "density_summary",
    "pdf",
    "cdf",
    "ppf",
    "ppf_log",
    "cdf_log",
    "support",
    "lambda_max",
    "singular_values",
    "edges",
]

# internals used by the tests and benchmarks of the solver's stages, and its thread policy
_INTERNALS = (_Cdf, _Edges, _System, _band_nodes, _factors, _soft_edge, _soft_edge_critical, _system,
              SOLVER_BLAS_THREADS)
