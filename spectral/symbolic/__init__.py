r"""Symbolic free probability: closed-form transforms, the spectral curve, exact edges and moments.

Conventions (the same as the numeric engine, see :mod:`spectral.laws`)
-----------------------------------------------------------------------
* Stieltjes transform :math:`G(z) = \int \rho(t)/(z-t)\,dt` (:math:`\operatorname{Im} G < 0` above the axis).
* :math:`M(z) = z G(z) - 1 = \sum_{k\ge1} m_k z^{-k}`, :math:`\psi(w) = M(1/w)`, :math:`\chi = \psi^{-1}`.
* S-transform :math:`S(y) = (1+y)\chi(y)/y = (1+y)/(y M^{-1}(y))`, multiplicative for free products.
* R-transform :math:`R(G(z)) + 1/G(z) = z`, additive for free sums.
* Lagrange inversion :math:`m_k = \frac1k [y^{k-1}] \big((1+y)/S(y)\big)^k`.
* Spectral curve of a product: :math:`z = (1+m)/(m S_J(m))` with :math:`m = M(z)`.

Design
------
Every law is a :class:`SymbolicLaw` that carries one *algebraic curve* :math:`P(z, m) = 0` satisfied by
:math:`m = M(z)` (``law.m_curve``) together with the explicit branches :math:`G, M, S, R` where they exist in
closed form.  All conversions go through one generic converter: the four transforms are related by the
birational substitutions

=====  ============================================  ==========================================
kind   curve variables                               substitution into :math:`P(z, m)`
=====  ============================================  ==========================================
``G``  :math:`(z, g)`                                :math:`m = z g - 1`
``M``  :math:`(z, m)`                                identity
``S``  :math:`(y, s)`                                :math:`z = (1+y)/(y s),\ m = y`
``R``  :math:`(w, r)`                                :math:`z = r + 1/w,\ m = r w`
=====  ============================================  ==========================================

and an explicit transform is the root of its curve selected by its asymptotics
(:math:`G \sim 1/z` at infinity, :math:`S(0) = 1/m_1`, :math:`R(0) = m_1`).  Free products multiply
S-transforms and free sums add R-transforms; algebraic factors are eliminated with resultants.

Support edges are the real critical values of :math:`z(m) = (1+m)/(m S(m))` (equivalently the real roots
of the discriminant of :math:`P` in :math:`m`) that lie on the physical sheet: a candidate :math:`x` is kept
only if the density, computed on the physical branch (continued from :math:`z = x + i\infty` by damped
Newton steps), vanishes on exactly one side of :math:`x`.  When every factor of :math:`S_J` is a rational
function of :math:`y` (Gaussian or orthogonal weights with ReLU, hard-tanh or linear activations) the
critical points come from the *logarithmic derivative*
:math:`\sum_f e_f f'/f`, whose degree does not grow with the depth, so the depth :math:`L` may be a symbol
and edges are exact for any depth; the curve :math:`P` is never expanded (docs/design.md §4.1).

References
----------
* J. Pennington, S. Schoenholz, S. Ganguli, "Resurrecting the sigmoid in deep learning through dynamical
  isometry", NeurIPS 2017 (eqs. 11-32).
* J. A. Mingo, R. Speicher, *Free Probability and Random Matrices*, Springer 2017, ch. 2-3.
* W. Mlotkowski, K. A. Penson, K. Zyczkowski, "Densities of the Raney distributions", Doc. Math. 18 (2013)
  (Fuss-Catalan edge :math:`(L+1)^{L+1}/L^L`).
* H. Bercovici, D. Voiculescu, "Regularity questions for free convolution" (1998) (atoms of free products).
"""

from __future__ import annotations

from .convolution import free_product, free_sum
from .d2 import d2_law
from .edges import exact_edges
from .law import SymbolicLaw
from .network import symbolic_network
from .params import L, NoClosedFormError, m, p, to_exact, w, y, z
from .registry import atomic, bernoulli, free_poisson, haar_orthogonal, marchenko_pastur, semicircle, weight_law
from .result import SymbolicResult

__all__ = [
    "NoClosedFormError",
    "SymbolicLaw",
    "SymbolicResult",
    "marchenko_pastur",
    "free_poisson",
    "haar_orthogonal",
    "semicircle",
    "atomic",
    "bernoulli",
    "free_product",
    "free_sum",
    "d2_law",
    "weight_law",
    "exact_edges",
    "symbolic_network",
    "to_exact",
    "z",
    "m",
    "y",
    "w",
    "L",
    "p",
]
