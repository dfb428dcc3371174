r"""Spectral laws: transforms, moments, free cumulants, atoms; the registry of ensembles.

Conventions (used everywhere in :mod:`spectral`; never mix them)
----------------------------------------------------------------
For a probability law :math:`\mu` on :math:`\mathbb R` with moments :math:`m_k`:

* Stieltjes transform :math:`G(z) = \int \frac{d\mu(t)}{z - t}`, so :math:`\operatorname{Im} G < 0` when
  :math:`\operatorname{Im} z > 0`; the density is :math:`\rho(x) = -\operatorname{Im} G(x + i0)/\pi`.
* Moment generating function :math:`M(z) = z G(z) - 1 = \sum_{k \ge 1} m_k z^{-k}`; power series
  :math:`\psi(w) = M(1/w) = \sum_{k\ge1} m_k w^k`; :math:`\chi = \psi^{-1}` (compositional inverse).
* S-transform :math:`S(y) = \frac{1+y}{y}\chi(y) = \frac{1+y}{y\, M^{-1}(y)}`; for free :math:`A, B`,
  :math:`S_{AB} = S_A S_B`.  Defined when :math:`m_1 \neq 0`, with :math:`S(0) = 1/m_1`.
* R-transform :math:`R(G(z)) + 1/G(z) = z`; :math:`R_{A+B} = R_A + R_B`; the free cumulants are
  :math:`R(w) = \sum_{n\ge1} \kappa_n w^{n-1}`.  Also :math:`R(w) = y/w` where :math:`y S(y) = w`.
* Lagrange inversion: :math:`m_k = \frac1k [y^{k-1}] \left(\frac{1+y}{S(y)}\right)^k`.
* Density equation of a product: :math:`z = \frac{1+m}{m\, S_J(m)}`, :math:`G = (1+m)/z`, with
  :math:`m = M(z)`.
* Weights: :math:`W_{ij} \sim N(0, \sigma_w^2/N_{in})`, or :math:`W = \sigma_w Q` with :math:`Q` Haar
  orthogonal (a partial isometry for rectangular layers).
* Atoms of a free product (Belinschi 2003; Bercovici & Voiculescu 1998): the mass at 0 is the largest
  mass at 0 of the factors; a nonzero atom :math:`ab` appears iff
  :math:`\mu(\{a\}) + \nu(\{b\}) > 1`, with mass :math:`\mu(\{a\}) + \nu(\{b\}) - 1`.

Every law exposes vectorized complex transforms (``stieltjes``, ``m_transform``, ``s_transform``,
``r_transform``, their derivatives for the density solver), moments in float, mpmath
(``precision=digits``) or exact arithmetic (``exact=True``), ``log_moments``, ``free_cumulants``, and
exact ``atoms``.  Subclasses implement private hooks; the public methods validate and dispatch.

References: J. Pennington, S. Schoenholz, S. Ganguli, *Resurrecting the sigmoid in deep learning
through dynamical isometry*, NeurIPS 2017; J. A. Mingo and R. Speicher, *Free Probability and Random
Matrices*, Springer 2017.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

import numpy as np

from .. import limits
from ..density.distribution import DensityMixin
from ..density.factors import ExplicitFactor, FactorizedLaw, LinearFactor
from ..series import Field, FloatField, Series, field_for, lagrange_coefficients


# ----------------------------------------------------------------------------------------- helpers
def _as_complex(z):
    return np.asarray(z, dtype=complex)


def _check_k(k) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k (number of moments) must be an integer >= 1, got {k!r}")
    return int(k)


def _check_positive(name, value, *, allow_zero=False):
    try:
        v = float(value)
    except TypeError:  # symbolic: trust the caller
        return value
    if not np.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        rng = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be a finite number {rng}, got {value!r}")
    return value


def _num(x) -> float:
    """Float value of an exact or float parameter."""
    return float(x)


def _exactify(x):
    """Exact value of a parameter: ints, Fractions and sympy numbers as they are; a float by its decimal
    literal (``1.05 -> 21/20``), which is what a user who typed it meant."""
    if isinstance(x, (bool, np.bool_)):
        raise TypeError(f"boolean {x!r} is not a number")
    if isinstance(x, (int, np.integer)):
        return Fraction(int(x))
    if isinstance(x, Fraction):
        return x
    if isinstance(x, (float, np.floating)):
        if not np.isfinite(x):
            raise ValueError(f"non-finite parameter {x!r}")
        return Fraction(repr(float(x)))
    return x  # sympy


def _sqrt_branch(z, a, b):
    """sqrt(z-a) sqrt(z-b): analytic off [a, b], ~ z at infinity."""
    return np.sqrt(z - a) * np.sqrt(z - b)


def _homotopy_newton(f, df, target, x0_slope, steps=16, iters=30, tol=1e-14):
    """Solve f(x) = target (vectorized) following t*target, t: 0 -> 1, from x ~ x0_slope * t*target."""
    target = _as_complex(target)
    x = x0_slope * target / steps
    for t in np.linspace(1.0 / steps, 1.0, steps):
        tt = t * target
        for _ in range(iters):
            fx = f(x) - tt
            d = df(x)
            dx = fx / d
            x = x - dx
            if np.all(np.abs(dx) <= tol * (1 + np.abs(x))):
                break
    return x


# ----------------------------------------------------------------------------------------- base
class SpectralLaw(DensityMixin):
    """Base class of spectral laws; see the module docstring for the conventions.

    Subclasses implement ``_m`` (numeric M), ``_dm``, ``_s``, ``_ds``, ``_moment_series`` or
    ``_s_series``, ``_atoms`` and ``_support``; everything else follows.
    """

    name: str = "law"
    closed_form_s: bool = False

    # ---- parameters (for field selection and exact arithmetic)
    def _params(self) -> tuple:
        return ()

    def __repr__(self):
        return f"{type(self).__name__}({self.name})"

    # ---- numeric transforms
    def m_transform(self, z):
        """M(z) = z G(z) - 1 (vectorized complex)."""
        return self._m(_as_complex(z))

    def stieltjes(self, z):
        """G(z) = (1 + M(z)) / z (vectorized complex)."""
        z = _as_complex(z)
        return (1.0 + self._m(z)) / z

    def m_transform_derivative(self, z):
        """dM/dz (vectorized complex)."""
        return self._dm(_as_complex(z))

    def psi_transform(self, w):
        r"""psi(w) = M(1/w) = \sum m_k w^k."""
        w = _as_complex(w)
        return self._m(1.0 / w)

    def s_transform(self, y):
        """S(y) (vectorized complex); branch: the one analytic at y = 0 with S(0) = 1/m_1."""
        return self._s(_as_complex(y))

    def s_transform_derivative(self, y):
        """dS/dy (vectorized complex)."""
        return self._ds(_as_complex(y))

    def log_s_transform(self, y):
        """log S(y) (principal branch on elementary laws; products add these)."""
        return np.log(self.s_transform(y))

    def r_transform(self, w):
        """R(w), from R(w) = y/w with y S(y) = w (followed from w = 0)."""
        return self._r(_as_complex(w))

    def chi_transform(self, y):
        r"""chi(y) = psi^{-1}(y) = y S(y)/(1+y)."""
        y = _as_complex(y)
        return y * self._s(y) / (1.0 + y)

    # default hooks ---------------------------------------------------------
    def _m(self, z):
        raise NotImplementedError(f"{self.name}: numeric M(z) is not available")

    def _dm(self, z):
        raise NotImplementedError(f"{self.name}: dM/dz is not available")

    def _s(self, y):
        # generic: chi from psi by homotopy Newton, S = (1+y) chi / y
        chi = self._chi_numeric(y)
        with np.errstate(divide="ignore", invalid="ignore"):
            s = (1.0 + y) * chi / y
        m1 = float(self.moments(1)[0])
        return np.where(y == 0, 1.0 / m1, s)

    def _chi_numeric(self, y):
        m1 = float(self.moments(1)[0])
        return _homotopy_newton(lambda w: self._m(1.0 / w), self._dpsi, y, 1.0 / m1)

    def _dpsi(self, w):
        return -self._dm(1.0 / w) / w**2

    def _ds(self, y):
        chi = self._chi_numeric(y)
        dchi = 1.0 / self._dpsi(chi)
        return (chi + (1.0 + y) * dchi) / y - (1.0 + y) * chi / y**2

    def _r(self, w):
        def f(y):
            return y * self._s(y)

        def df(y):
            return self._s(y) + y * self._ds(y)

        m1 = float(self.moments(1)[0])
        y = _homotopy_newton(f, df, w, m1)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(w == 0, m1, y / w)

    # ---- series hooks
    def _s_linear_factors(self, field: Field):
        """(c, ((b_i, e_i), ...)) with S(y) = c prod_i (1 + b_i y)^e_i, or None (no such closed form)."""
        return None

    def _moment_series(self, field: Field, n: int):
        """m_1..m_n in ``field`` (default: Lagrange inversion of S)."""
        s = self._s_series(field, n)
        g = Series.linear(1, 1, n, field) / s  # (1+y)/S(y)
        c = lagrange_coefficients(g, n)
        return [field.normalize(c[k - 1] / k) for k in range(1, n + 1)]

    def _s_series(self, field: Field, n: int) -> Series:
        """S(y) to O(y^n) (default: reversion of psi built from the moments)."""
        m = self._moment_series(field, n + 1)
        psi = Series([field.convert(0)] + list(m), field)
        if field.is_zero(psi.c[1]):
            raise ValueError(f"{self.name}: the S-transform needs a nonzero mean (m_1 = 0)")
        chi = psi.reversion()  # chi_1 y + chi_2 y^2 + ...
        return chi.shift(-1).truncate(n) * Series.linear(1, 1, n, field)

    # ---- moments
    def _field(self, precision, exact, complex=False):  # noqa: A002
        if exact and precision is not None:
            raise ValueError("give either precision=<digits> or exact=True, not both")
        if exact:
            return field_for(self._params(), exact=True)
        return field_for(precision=precision, complex=complex)

    def moments(self, k, *, precision=None, exact=False):
        """Moments m_1..m_k.

        Returns a float ndarray (default), a list of ``mpmath.mpf`` at ``precision`` digits, or a list of
        exact numbers (Fraction, or sympy expressions when the parameters are symbolic) with
        ``exact=True``.  Float moments that overflow come back as ``inf`` with a warning: use
        :meth:`log_moments` or ``precision``.
        """
        limits.check_series_memory(k, "k", exact, precision)  # before the k x k series matrices
        k = _check_k(k)
        field = self._field(precision, exact)
        if isinstance(field, FloatField):
            return self._float_moments(k)
        return list(self._moment_series(field, k))

    def _float_moments(self, k):
        return np.asarray(self._moment_series(FloatField(), k), dtype=float)

    def log_moments(self, k):
        """log m_1..log m_k (float ndarray; finite where float moments would overflow)."""
        limits.check_series_memory(k, "k")  # before the k x k series matrices
        k = _check_k(k)
        m = self._float_moments(k)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log(m)

    def free_cumulants(self, k, *, precision=None, exact=False):
        """Free cumulants kappa_1..kappa_k (R(w) = sum kappa_n w^(n-1))."""
        k = _check_k(k)
        field = self._field(precision, exact)
        m = self._moment_series(field, k)
        out = free_cumulants_from_moments(m, field)
        return np.asarray(out, dtype=float) if isinstance(field, FloatField) else out

    @property
    def mean(self) -> float:
        return float(self.moments(1)[0])

    @property
    def variance(self) -> float:
        m = self.moments(2)
        return float(m[1] - m[0] ** 2)

    # ---- atoms and support
    @property
    def atoms(self) -> tuple[tuple[float, float], ...]:
        """Atoms (location, mass) as floats; exact values in :meth:`exact_atoms`."""
        return tuple((float(a), float(p)) for a, p in self.exact_atoms())

    def exact_atoms(self) -> tuple:
        """Atoms (location, mass) with exact (Fraction / sympy) entries where the parameters are exact."""
        return ()

    def support(self):
        """(lo, hi) of the continuous part; None when there is no continuous part."""
        raise NotImplementedError(f"{self.name}: support not known in closed form")

    # ---- the density solver's view (docs/design.md §6)
    def solver_factors(self) -> FactorizedLaw:
        r"""The law as the density solver sees it: a :class:`spectral.density.FactorizedLaw` with
        :math:`S(y) = \prod_j S_j(s_j y)^{n_j}` as factor records, the atoms and the name.

        This is the only thing :mod:`spectral.density` asks of a law.  Each law implements it: a closed-form
        :math:`S = c\prod_k(1 + b_k y)^{e_k}` as a :class:`~spectral.density.LinearFactor`, another closed
        form as an :class:`~spectral.density.ExplicitFactor` (:math:`\log S`, :math:`(\log S)'`), a law known
        through :math:`M(\zeta)` as an :class:`~spectral.density.ImplicitFactor`; products flatten their
        factors' records with multiplicities and scales.
        """
        raise NotImplementedError(
            f"{self.name}: {type(self).__name__} does not implement solver_factors(), so the density solver "
            "cannot use it; implement solver_factors() returning a spectral.density.FactorizedLaw (LinearFactor "
            "for S = c prod (1 + b y)^e, ExplicitFactor for another closed-form S, ImplicitFactor for a law "
            "known through M(zeta))")

    def product_solver_factors(self) -> FactorizedLaw:
        """The record this law contributes as one factor of a free product of several (:class:`FreeProduct`):
        :meth:`solver_factors`, unless its exact record serves only with other laws of its kind (a piecewise
        :math:`D^2` next to Marchenko--Pastur factors, docs/design.md §5.10)."""
        return self.solver_factors()

    def _solver_record(self, *factors) -> FactorizedLaw:
        """A :class:`FactorizedLaw` of ``factors`` with this law's atoms and name."""
        return FactorizedLaw(tuple(factors), tuple(self.atoms), self.name)

    def _linear_solver_factor(self):
        """The :class:`LinearFactor` of a law whose S is a product of linear powers (floats), else None."""
        try:
            lin = self._s_linear_factors(FloatField())
        except (NotImplementedError, ValueError, TypeError):
            return None
        if lin is None:
            return None
        c, facs = lin
        return LinearFactor(float(c), tuple((float(b), float(e)) for b, e in facs))

    def _explicit_solver_factor(self) -> ExplicitFactor:
        """An :class:`ExplicitFactor` from the closed-form ``s_transform`` and its derivative."""

        def log_s(y):
            return np.log(self.s_transform(y))

        def dlog_s(y):
            return self.s_transform_derivative(y) / self.s_transform(y)

        return ExplicitFactor(log_s, dlog_s)

    # ---- composition helpers
    def __matmul__(self, other):  # pragma: no cover - deliberately unsupported
        return NotImplemented


def free_cumulants_from_moments(m: Sequence, field: Field) -> list:
    r"""kappa_1..kappa_n from m_1..m_n: u = w(1 + psi(w)), K = u / w(u), kappa_j = [u^j] K."""
    n = len(m)
    u = Series([field.convert(0), field.convert(1)] + list(m), field)  # w + m_1 w^2 + ...
    winv = u.reversion()  # w(u)
    k_series = winv.shift(-1).inv()  # u / w(u) = 1 + kappa_1 u + ...
    return [k_series.c[j] for j in range(1, n + 1)]


def moments_from_free_cumulants(kappa: Sequence, field: Field) -> list:
    r"""m_1..m_n from kappa_1..kappa_n: m_k = \frac{1}{k+1} [t^k] K(t)^{k+1}, K = 1 + \sum kappa_j t^j."""
    n = len(kappa)
    big_k = Series([field.convert(1)] + list(kappa), field)
    c = lagrange_coefficients(big_k, n + 1)
    return [field.normalize(c[k] / (k + 1)) for k in range(1, n + 1)]
