r"""The law of :math:`B B^T` for a residual block :math:`B = \alpha I + \beta X`.

At infinite width the branch Jacobian :math:`X` is R-diagonal (bi-unitarily invariant: its Dense layers are
Haar/Gaussian, free from the rest), and the symmetrized singular-value law of :math:`B` is the free
additive convolution

.. math:: \widetilde\mu_B = \tfrac12(\delta_\alpha + \delta_{-\alpha}) \boxplus \widetilde\mu_{\beta X}

(Benaych-Georges' rectangular free convolution with ratio 1, which is :math:`\boxplus` on symmetric laws;
Tarnowski, Warchoł, Jastrzębski, Tabor & Nowak 2019, arXiv 1809.08848).  Free cumulants add: with
:math:`a_k` the moments of :math:`X X^T`, the symmetric law of :math:`\beta X` has even moments
:math:`\beta^{2k} a_k`, the symmetric Bernoulli :math:`\alpha^{2k}`; the even moments of the sum are the
moments of :math:`B B^T`.  E.g. :math:`m_1 = \alpha^2 + \beta^2 a_1`,
:math:`m_2 = \alpha^4 + 4\alpha^2\beta^2 a_1 + \beta^4 a_2`.

Blocks compose like layers, :math:`S_J = \prod_l S_{B_l B_l^T}`: each :math:`B_l` is invariant under
:math:`B \mapsto O B O^T` and independent of the others, so :math:`B_{l}^T B_{l}` is free from
:math:`J_{l-1} J_{l-1}^T`.

Atoms (Bercovici & Voiculescu 1998, free additive convolution): with :math:`z` the mass of :math:`X X^T` at 0,
:math:`B B^T` has an atom at :math:`\alpha^2` of mass :math:`2z - 1` when :math:`z > 1/2` (the common kernel of
:math:`X` and :math:`X^T`, on which :math:`B = \alpha I`); for :math:`\alpha = 0` the atoms are those of
:math:`\beta^2 X X^T`.
"""

from __future__ import annotations

from fractions import Fraction

from ..laws import SpectralLaw, free_cumulants_from_moments, moments_from_free_cumulants
from ..series import FloatField

__all__ = ["ResidualBlockLaw"]


def _exact(x):
    """A rational for exact arithmetic: Fractions and ints as they are, floats by their shortest decimal."""
    if isinstance(x, int | Fraction):
        return Fraction(x)
    return Fraction(repr(float(x)))


class ResidualBlockLaw(SpectralLaw):
    r"""Law of :math:`B B^T`, :math:`B = \alpha I + \beta X`, from the law of :math:`X X^T` (``branch_law``).

    Moments in float, mpmath or exact arithmetic through free cumulants (module docstring); the S-transform
    by series reversion of the moments (the SpectralLaw default).
    """

    def __init__(self, branch_law: SpectralLaw, alpha=1.0, beta=1.0, *, name=None):
        if not isinstance(branch_law, SpectralLaw):
            raise TypeError(f"branch_law must be a SpectralLaw, got {type(branch_law).__name__}")
        for nm, v in (("alpha", alpha), ("beta", beta)):
            if isinstance(v, bool) or not isinstance(v, int | float | Fraction) or not float(v) >= 0:
                raise ValueError(f"{nm} must be a real number >= 0, got {v!r}")
        if float(alpha) == 0 and float(beta) == 0:
            raise ValueError("alpha and beta are both 0 (the zero block); give alpha > 0 or beta > 0")
        self.branch_law = branch_law
        self.alpha = alpha
        self.beta = beta
        self.name = name or f"residual(alpha={alpha}, beta={beta}, {branch_law.name})"
        self._cache: dict = {}

    def _params(self):
        return (*self.branch_law._params(), self.alpha, self.beta)

    def _coef(self, field, x):
        return field.convert(x) if isinstance(field, FloatField) else field.convert(_exact(x))

    def _moment_series(self, field, n):
        key = (repr(field), n)
        if key in self._cache:
            return self._cache[key]
        a = self.branch_law._moment_series(field, n)
        zero = field.convert(0)
        al2 = field.normalize(self._coef(field, self.alpha) ** 2)
        be2 = field.normalize(self._coef(field, self.beta) ** 2)
        sym_x, sym_b = [], []
        pa, pb = field.convert(1), field.convert(1)
        for k in range(n):
            pa, pb = field.normalize(pa * al2), field.normalize(pb * be2)
            sym_x += [zero, field.normalize(pb * a[k])]
            sym_b += [zero, pa]
        kx = free_cumulants_from_moments(sym_x, field)
        kb = free_cumulants_from_moments(sym_b, field)
        m = moments_from_free_cumulants([field.normalize(u + v) for u, v in zip(kx, kb, strict=True)], field)
        out = [m[2 * k + 1] for k in range(n)]
        self._cache[key] = out
        return out

    def solver_factors(self):
        """The density solver's view (docs/design.md §6): one implicit factor, :math:`M_{BB^T}` by subordination
        (:mod:`spectral.architecture.block_density`)."""
        from .block_density import block_solver_factors

        if "solver_factors" not in self._cache:
            self._cache["solver_factors"] = block_solver_factors(self)
        return self._cache["solver_factors"]

    def exact_atoms(self):
        z = sum((p for a, p in self.branch_law.exact_atoms() if a == 0), 0)
        if float(self.alpha) == 0:
            b2 = _exact(self.beta) ** 2
            return tuple((b2 * a, p) for a, p in self.branch_law.exact_atoms())
        if float(z) > 0.5:
            return ((_exact(self.alpha) ** 2, 2 * z - 1),)
        return ()
