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

import math
import warnings
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

import numpy as np

from . import limits
from .density import DensityMixin
from .series import Field, FloatField, FractionField, MPField, Series, field_for, lagrange_coefficients

__all__ = [
    "SpectralLaw",
    "MarchenkoPastur",
    "HaarOrthogonal",
    "Semicircle",
    "Atomic",
    "Bernoulli",
    "Empirical",
    "DerivativeLaw",
    "FreeProduct",
    "FreeSum",
    "LAWS",
    "example_laws",
    "moments_from_free_cumulants",
    "free_cumulants_from_moments",
]


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


# ----------------------------------------------------------------------------------------- ensembles
class MarchenkoPastur(SpectralLaw):
    r"""Marchenko--Pastur law of :math:`\frac{v}{n} X^T X` (X: n x p, i.i.d. unit entries), ratio
    :math:`\lambda = p/n`, variance :math:`v`.

    :math:`S(y) = 1/(v(1+\lambda y))`, :math:`R(w) = v/(1 - \lambda v w)`, moments
    :math:`m_k = v^k \sum_{j=1}^k N(k, j) \lambda^{j-1}` (Narayana numbers), support
    :math:`[v(1-\sqrt\lambda)^2, v(1+\sqrt\lambda)^2]`, atom at 0 of mass :math:`1 - 1/\lambda` when
    :math:`\lambda > 1`.  Gaussian :math:`W^T W` of an :math:`N_{out} \times N_{in}` layer with variance
    :math:`\sigma_w^2/N_{in}` is ``MarchenkoPastur(ratio=N_in/N_out, variance=sigma_w2*N_out/N_in)``.
    """

    closed_form_s = True

    def __init__(self, ratio=1, variance=1):
        self.ratio = _check_positive("ratio", ratio)
        self.variance_param = _check_positive("variance", variance)
        self.name = f"marchenko_pastur(ratio={ratio}, variance={variance})"

    def _params(self):
        return (self.ratio, self.variance_param)

    def _lv(self):
        return _num(self.ratio), _num(self.variance_param)

    def _m(self, z):
        lam, v = self._lv()
        a, b = v * (1 - math.sqrt(lam)) ** 2, v * (1 + math.sqrt(lam)) ** 2
        return (z - v * (1 + lam) - _sqrt_branch(z, a, b)) / (2 * lam * v)

    def _dm(self, z):
        lam, v = self._lv()
        m = self._m(z)
        return m / (2 * lam * v * m + v * (1 + lam) - z)

    def _s(self, y):
        lam, v = self._lv()
        return 1.0 / (v * (1 + lam * y))

    def _ds(self, y):
        lam, v = self._lv()
        return -lam / (v * (1 + lam * y) ** 2)

    def _r(self, w):
        lam, v = self._lv()
        return v / (1 - lam * v * w)

    def _s_series(self, field, n):
        lam, v = field.convert(self.ratio), field.convert(self.variance_param)
        return Series.linear(v, v * lam, n, field).inv()

    def _s_linear_factors(self, field):
        lam, v = field.convert(self.ratio), field.convert(self.variance_param)
        return (1 / v, ((lam, -1),))

    def exact_atoms(self):
        lam = self.ratio
        if _num(lam) > 1:
            return ((0, 1 - 1 / _exactify(lam)),)
        return ()

    def support(self):
        lam, v = self._lv()
        return (v * (1 - math.sqrt(lam)) ** 2, v * (1 + math.sqrt(lam)) ** 2)


class HaarOrthogonal(SpectralLaw):
    r"""Point mass at ``scale``: the law of :math:`W^T W` for :math:`W = \sqrt{scale}\, Q`, Q Haar
    orthogonal.  :math:`S = 1/scale`, :math:`R = scale`, :math:`M(z) = scale/(z - scale)`."""

    closed_form_s = True

    def __init__(self, scale=1):
        self.scale = _check_positive("scale", scale)
        self.name = f"haar_orthogonal(scale={scale})"

    def _params(self):
        return (self.scale,)

    def _m(self, z):
        c = _num(self.scale)
        return c / (z - c)

    def _dm(self, z):
        c = _num(self.scale)
        return -c / (z - c) ** 2

    def _s(self, y):
        return np.full_like(y, 1.0 / _num(self.scale))

    def _ds(self, y):
        return np.zeros_like(y)

    def _r(self, w):
        return np.full_like(w, _num(self.scale))

    def _s_series(self, field, n):
        return Series.constant(field.convert(1) / field.convert(self.scale), n, field)

    def _s_linear_factors(self, field):
        return (field.convert(1) / field.convert(self.scale), ())

    def _moment_series(self, field, n):
        c = field.convert(self.scale)
        out, p = [], field.convert(1)
        for _ in range(n):
            p = field.normalize(p * c)
            out.append(p)
        return out

    def exact_atoms(self):
        return ((_exactify(self.scale), Fraction(1)),)

    def support(self):
        return None


class Semicircle(SpectralLaw):
    r"""Wigner semicircle with ``variance`` :math:`\sigma^2` centred at ``mean``:
    :math:`R(w) = c + \sigma^2 w`, :math:`G(z) = (z - c - \sqrt{(z-c)^2 - 4\sigma^2})/(2\sigma^2)`,
    even central moments :math:`C_k \sigma^{2k}` (Catalan).  S exists only for ``mean != 0``:
    :math:`S(y) = 1/(c + \sigma^2 w)` with :math:`w = (\sqrt{c^2 + 4\sigma^2 y} - c)/(2\sigma^2)`."""

    def __init__(self, variance=1, mean=0):
        self.variance_param = _check_positive("variance", variance)
        self.center = mean
        self.closed_form_s = True
        self.name = f"semicircle(variance={variance}, mean={mean})"

    def _params(self):
        return (self.variance_param, self.center)

    def _cv(self):
        return _num(self.center), _num(self.variance_param)

    def _m(self, z):
        c, v = self._cv()
        r = 2 * math.sqrt(v)
        g = (z - c - _sqrt_branch(z, c - r, c + r)) / (2 * v)
        return z * g - 1.0

    def _dm(self, z):
        c, v = self._cv()
        r = 2 * math.sqrt(v)
        g = (z - c - _sqrt_branch(z, c - r, c + r)) / (2 * v)
        dg = g / (2 * v * g - (z - c))
        return g + z * dg

    def _require_mean(self):
        if _num(self.center) == 0:
            raise ValueError("the S-transform of a centred semicircle does not exist (m_1 = 0); "
                             "use r_transform, or Semicircle(variance, mean=c) with c != 0")

    def _w(self, y):
        c, v = self._cv()
        return (np.sqrt(c * c + 4 * v * y) * np.sign(c) - c) / (2 * v)

    def _s(self, y):
        self._require_mean()
        c, v = self._cv()
        return 1.0 / (c + v * self._w(y))

    def _ds(self, y):
        self._require_mean()
        c, v = self._cv()
        w = self._w(y)
        dw = 1.0 / (c + 2 * v * w)  # from y = c w + v w^2
        return -v * dw / (c + v * w) ** 2

    def _r(self, w):
        c, v = self._cv()
        return c + v * w

    def _moment_series(self, field, n):
        kappa = [field.convert(self.center), field.convert(self.variance_param)] + \
            [field.convert(0)] * max(0, n - 2)
        return moments_from_free_cumulants(kappa[:n], field)

    def support(self):
        c, v = self._cv()
        return (c - 2 * math.sqrt(v), c + 2 * math.sqrt(v))


class Atomic(SpectralLaw):
    r"""Finitely many atoms: :math:`\mu = \sum_i p_i \delta_{v_i}`.

    Exact when values and probabilities are ints/Fractions (or sympy).  :math:`M(z) =
    \sum_i p_i v_i/(z - v_i)`.  S is in closed form for one atom and for two atoms one of which is 0
    (Bernoulli: :math:`S(y) = (1+y)/(v(p+y))`); otherwise chi is found by homotopy Newton
    (``closed_form_s = False``), and the density solver should instead carry chi as an unknown
    solving :math:`\psi(\chi) = m` (see :meth:`psi_transform`, :meth:`psi_derivative`).
    """

    def __init__(self, values, probs, *, name=None):
        values, probs = list(values), list(probs)
        if len(values) != len(probs) or not values:
            raise ValueError("values and probs must be non-empty sequences of equal length")
        merged: dict = {}
        for v, p in zip(values, probs, strict=False):
            _check_positive("probs", p, allow_zero=True)
            merged[v] = merged.get(v, 0) + p
        total = sum(merged.values())
        try:
            ok = abs(float(total) - 1) <= 1e-12
        except TypeError:
            ok = True
        if not ok:
            raise ValueError(f"probs must sum to 1, got {total}")
        self.values = tuple(merged)
        self.probs = tuple(merged[v] for v in self.values)
        nz = [v for v, p in zip(self.values, self.probs, strict=False) if v != 0 and p != 0]
        self.closed_form_s = len(nz) <= 1
        pairs = zip(self.values, self.probs, strict=True)
        self.name = name or "atomic(" + ", ".join(f"{v}:{p}" for v, p in pairs) + ")"

    def _params(self):
        return self.values + self.probs

    def _vp(self):
        v = np.array([_num(x) for x in self.values])
        p = np.array([_num(x) for x in self.probs])
        return v, p

    def _m(self, z):
        v, p = self._vp()
        zz = z[..., None]
        return np.sum(p * v / (zz - v), axis=-1)

    def _dm(self, z):
        v, p = self._vp()
        zz = z[..., None]
        return -np.sum(p * v / (zz - v) ** 2, axis=-1)

    def psi_derivative(self, w):
        """dpsi/dw (vectorized)."""
        return self._dpsi(_as_complex(w))

    def _dpsi(self, w):
        v, p = self._vp()
        ww = w[..., None]
        return np.sum(p * v / (1 - v * ww) ** 2, axis=-1)

    def _bernoulli(self):
        """(v, p) with mu = (1-p) delta_0 + p delta_v, or None."""
        nz = [(v, p) for v, p in zip(self.values, self.probs, strict=False) if v != 0 and p != 0]
        if len(nz) == 1:
            return nz[0]
        return None

    def _s(self, y):
        b = self._bernoulli()
        if b is None:
            return super()._s(y)
        v, p = _num(b[0]), _num(b[1])
        return (1.0 + y) / (v * (p + y))

    def _ds(self, y):
        b = self._bernoulli()
        if b is None:
            return super()._ds(y)
        v, p = _num(b[0]), _num(b[1])
        return (p - 1.0) / (v * (p + y) ** 2)

    def _s_series(self, field, n):
        b = self._bernoulli()
        if b is None:
            return super()._s_series(field, n)
        v, p = field.convert(b[0]), field.convert(b[1])
        return Series.linear(1, 1, n, field) / Series.linear(v * p, v, n, field)

    def _s_linear_factors(self, field):
        b = self._bernoulli()
        if b is None:
            return None
        v, p = field.convert(b[0]), field.convert(b[1])
        one = field.convert(1)
        return (one / (v * p), ((one, 1), (one / p, -1)))

    def _moment_series(self, field, n):
        vals = [field.convert(v) for v in self.values]
        probs = [field.convert(p) for p in self.probs]
        out, pw = [], list(probs)
        for _ in range(n):
            pw = [field.normalize(a * b) for a, b in zip(pw, vals, strict=False)]
            out.append(field.normalize(sum(pw[1:], pw[0])))
        return out

    def exact_atoms(self):
        return tuple((v, p) for v, p in zip(self.values, self.probs, strict=False) if p != 0)

    def support(self):
        return None


def Bernoulli(p, value=1):  # noqa: N802 - a law constructor, like the classes
    r"""Law :math:`(1-p)\delta_0 + p\,\delta_{value}` (the D^2 law of relu-type activations)."""
    _check_positive("p", p, allow_zero=True)
    try:
        if float(p) > 1:
            raise ValueError(f"p must lie in [0, 1], got {p!r}")
    except TypeError:
        pass
    return Atomic((0, value), (1 - p, p), name=f"bernoulli(p={p}, value={value})")


class Empirical(Atomic):
    """Uniform law on the given samples (e.g. eigenvalues from Monte Carlo)."""

    def __init__(self, samples):
        x = np.asarray(samples, dtype=float).ravel()
        if x.size == 0 or not np.all(np.isfinite(x)):
            raise ValueError("samples must be a non-empty array of finite numbers")
        vals, counts = np.unique(x, return_counts=True)
        super().__init__(vals.tolist(), (counts / x.size).tolist(), name=f"empirical(n={x.size})")


# ----------------------------------------------------------------------------------------- D^2 laws
def _gaussian_interval_prob(lo, hi, q):
    """P(lo < sqrt(q) z < hi), exact (Fraction) when the breakpoints are 0 or infinite."""
    from scipy.special import ndtr

    def cdf(x):
        if x == -np.inf:
            return 0.0
        if x == np.inf:
            return 1.0
        return float(ndtr(x / math.sqrt(q)))

    if all(b in (-np.inf, 0.0, np.inf) for b in (lo, hi)):
        half = {-np.inf: Fraction(0), 0.0: Fraction(1, 2), np.inf: Fraction(1)}
        return half[hi] - half[lo], True
    return cdf(hi) - cdf(lo), False


class DerivativeLaw(SpectralLaw):
    r"""Law of :math:`D^2 = \phi'(\sqrt q\, z)^2`, :math:`z \sim N(0,1)`.

    If the activation has piecewise-constant :math:`\phi'` (``pieces``) the law is atomic
    (Bernoulli-type) and exact: relu gives Bernoulli(1/2), hard-tanh Bernoulli(p) with
    :math:`p = \operatorname{erf}(1/\sqrt{2q})`.  Otherwise the moments :math:`\mu_k =
    E[\phi'^{2k}]` come from :func:`spectral.gaussian.dphi_moments` (float or mpmath), the S-series by
    reversion of :math:`\psi`, and M(z) from a quadrature discretisation
    (:func:`spectral.gaussian.dphi_squared_quadrature`, ``n_nodes`` nodes), accurate for z away from
    the support :math:`[\min\phi'^2, \max\phi'^2]`.

    ``p_symbol``: in exact mode, a probability that is not rational (hard-tanh) is replaced by this
    sympy symbol (default ``"p"``); its numeric value is in :attr:`symbol_values`.
    """

    def __init__(self, activation, q, *, n_nodes: int = 256, p_symbol: str = "p"):
        from .activations import activation as _resolve

        self.activation = _resolve(activation)
        q = _check_positive("q", q)
        self.q = q
        self.n_nodes = int(n_nodes)
        self.p_symbol = p_symbol
        self.name = f"dphi2({self.activation.name}, q={float(q):.6g})"
        self._atomic = None
        self._exact_atomic = None
        self.symbol_values: dict = {}
        pieces = getattr(self.activation, "pieces", None)
        if pieces:
            vals, probs, exact_vals, exact_probs, all_exact = [], [], [], [], True
            for lo, hi, d in pieces:
                pr, ex = _gaussian_interval_prob(float(lo), float(hi), float(q))
                vals.append(float(d) ** 2)
                probs.append(float(pr))
                exact_vals.append(self._exact_slope(d) ** 2)
                exact_probs.append(pr)
                all_exact &= ex
            self._atomic = Atomic(vals, probs, name=self.name)
            if all_exact:
                self._exact_atomic = Atomic(exact_vals, exact_probs, name=self.name)
            else:
                self._exact_atomic = self._symbolic_atomic(exact_vals, exact_probs, pieces)
        self.closed_form_s = bool(self._atomic is not None and self._atomic.closed_form_s)
        self._quad = None

    def _exact_slope(self, d):
        for _, val in getattr(self.activation, "params", ()):
            if isinstance(val, Fraction) and float(val) == float(d):
                return val
        return _exactify(float(d)) if not isinstance(d, Fraction) else d

    def _symbolic_atomic(self, vals, probs, pieces):
        import sympy

        p = sympy.Symbol(self.p_symbol, positive=True)
        # merge by value; a two-valued law gets probability p for the nonzero slope^2 with largest mass
        merged: dict = {}
        for v, pr in zip(vals, probs, strict=False):
            merged[v] = merged.get(v, 0.0) + float(pr)
        if len(merged) != 2:
            return None
        (v1, p1), (v2, p2) = sorted(merged.items(), key=lambda t: t[1])
        self.symbol_values = {p: p2}
        return Atomic((v1, v2), (1 - p, p), name=self.name + " [p symbolic]")

    def _params(self):
        if self._exact_atomic is not None:
            return self._exact_atomic._params()
        return (float(self.q),)

    @property
    def is_atomic(self) -> bool:
        return self._atomic is not None

    def _quadrature(self):
        if self._quad is None:
            from . import gaussian

            x, w = gaussian.dphi_squared_quadrature(self.activation, float(self.q), self.n_nodes)
            self._quad = (np.asarray(x, dtype=float), np.asarray(w, dtype=float))
        return self._quad

    def _m(self, z):
        if self._atomic is not None:
            return self._atomic._m(z)
        x, w = self._quadrature()
        return np.sum(w * x / (z[..., None] - x), axis=-1)

    def _dm(self, z):
        if self._atomic is not None:
            return self._atomic._dm(z)
        x, w = self._quadrature()
        return -np.sum(w * x / (z[..., None] - x) ** 2, axis=-1)

    def psi_derivative(self, w):
        """dpsi/dw (vectorized; quadrature for smooth activations)."""
        return self._dpsi(_as_complex(w))

    def _s(self, y):
        if self._atomic is not None:
            return self._atomic._s(y)
        return super()._s(y)

    def _ds(self, y):
        if self._atomic is not None:
            return self._atomic._ds(y)
        return super()._ds(y)

    def _moment_series(self, field, n):
        if self._atomic is not None:
            law = self._exact_atomic if field.exact else self._atomic
            if law is None:
                raise ValueError(f"{self.name}: no exact form of this D^2 law")
            return law._moment_series(field, n)
        if field.exact:
            raise ValueError(f"{self.activation.name}: phi' is not piecewise constant, so the law of D^2 has "
                             "no exact moments; use precision=<digits> instead of exact=True")
        from . import gaussian

        if isinstance(field, MPField):
            mu = gaussian.dphi_moments(self.activation, self.q, n, precision=field.dps)
        else:
            mu = gaussian.dphi_moments(self.activation, float(self.q), n)
        return [field.convert(x) for x in list(mu)[:n]]

    def _s_series(self, field, n):
        if self._atomic is not None:
            law = self._exact_atomic if field.exact else self._atomic
            if law is None:
                raise ValueError(f"{self.name}: no exact form of this D^2 law")
            return law._s_series(field, n)
        return super()._s_series(field, n)

    def _s_linear_factors(self, field):
        if self._atomic is None:
            return None
        law = self._exact_atomic if field.exact else self._atomic
        return None if law is None else law._s_linear_factors(field)

    def exact_atoms(self):
        if self._atomic is None:
            return ()
        exact_ok = self._exact_atomic is not None and not self.symbol_values
        law = self._exact_atomic if exact_ok else self._atomic
        return law.exact_atoms()

    def support(self):
        if self._atomic is not None:
            return None
        s = math.sqrt(float(self.q))
        x = np.linspace(-40 * s, 40 * s, 20001)
        d2 = np.asarray(self.activation.dphi(x), dtype=float) ** 2
        return (float(d2.min()), float(d2.max()))


# ----------------------------------------------------------------------------------------- products
class _DimensionChange(SpectralLaw):
    r"""Formal factor :math:`S(y) = (1+y)/(c+y)`: converts the S-transform of a law in an N_a-dimensional
    space to the N_b-dimensional one, c = N_a/N_b (for c < 1 it is the law
    :math:`c\,\delta_1 + (1-c)\delta_0`)."""

    closed_form_s = True

    def __init__(self, c):
        self.c = _check_positive("dimension ratio", c)
        self.name = f"dimension_change({c})"

    def _params(self):
        return (self.c,)

    def _s(self, y):
        return (1.0 + y) / (_num(self.c) + y)

    def _ds(self, y):
        c = _num(self.c)
        return (c - 1.0) / (c + y) ** 2

    def _s_series(self, field, n):
        c = field.convert(self.c)
        return Series.linear(1, 1, n, field) / Series.linear(c, 1, n, field)

    def _s_linear_factors(self, field):
        one, c = field.convert(1), field.convert(self.c)
        return (one / c, ((one, 1), (one / c, -1)))


def _normalise_factors(factors):
    out = []
    for f in factors:
        if isinstance(f, SpectralLaw):
            f = (f, 1)
        if len(f) == 2:
            f = (f[0], f[1], 1)
        law, mult, scale = f
        if not isinstance(law, SpectralLaw):
            raise TypeError(f"free product factors must be SpectralLaw instances, got {law!r}")
        try:
            if float(mult) < 0:
                raise ValueError(f"multiplicity must be >= 0, got {mult!r}")
        except TypeError:
            pass
        _check_positive("scale", scale)
        out.append((law, mult, scale))
    if not out:
        raise ValueError("a free product needs at least one factor")
    return tuple(out)


class FreeProduct(SpectralLaw):
    r"""Free multiplicative convolution: :math:`S(y) = \prod_i S_i(s_i y)^{L_i}`.

    ``factors``: sequence of ``law``, ``(law, multiplicity)`` or ``(law, multiplicity, scale)``.
    Powers are never expanded: numerically :math:`\log S = \sum_i L_i \log S_i(s_i y)`, and the moments
    come from the series :math:`F(y) = \log(1+y) - \sum_i L_i \log(S_i(s_i y)/S_i(0))` through
    :math:`m_k = \frac{m_1^k}{k}[y^{k-1}] e^{kF(y)}` (baby-step/giant-step Lagrange inversion), so
    depth :math:`10^4` costs the same as depth 1.  In float the variable is rescaled,
    :math:`y = \tau u`, so that the coefficients stay in range; :meth:`log_moments` is finite at any
    depth.
    """

    closed_form_s = True

    def __init__(self, factors, *, name=None):
        self.factors = _normalise_factors(factors)
        self.closed_form_s = all(f[0].closed_form_s for f in self.factors)
        self.name = name or "free_product(" + ", ".join(
            f"{f[0].name}^{f[1]}" + (f"@{f[2]}" if f[2] != 1 else "") for f in self.factors) + ")"
        self._cache: dict = {}

    def _factors_for(self, field):
        return self.factors

    def _params(self):
        out = []
        for law, mult, scale in self._factors_for(_EXACT_HINT):
            out.extend(law._params())
            out.extend([mult, scale])
        return tuple(out)

    # numeric S
    def log_s_transform(self, y):
        y = _as_complex(y)
        total = np.zeros_like(y)
        for law, mult, scale in self.factors:
            if float(mult) == 0:
                continue
            total = total + float(mult) * np.log(law._s(float(scale) * y))
        return total

    def _s(self, y):
        return np.exp(self.log_s_transform(y))

    def _ds(self, y):
        dlog = np.zeros_like(y)
        for law, mult, scale in self.factors:
            if float(mult) == 0:
                continue
            sc = float(scale)
            dlog = dlog + float(mult) * sc * law._ds(sc * y) / law._s(sc * y)
        return self._s(y) * dlog

    def _m(self, z):
        from .density import solve_m_transform  # imported here: density imports this module

        return np.asarray(solve_m_transform(self, z))

    def _dm(self, z):
        # implicit differentiation of z = (1+m)/(m S(m))
        m = self._m(z)
        s, ds = self._s(m), self._ds(m)
        dz_dm = -1.0 / (m * m * s) - (1.0 + m) * ds / (m * s * s)
        return 1.0 / dz_dm

    # series
    def _log_m1(self, field):
        """log m_1 = -sum L_i log S_i(0) (float) or m_1 itself (exact / mpmath)."""
        if isinstance(field, FloatField):
            tot = 0.0
            for law, mult, _ in self._factors_for(field):
                if float(mult) == 0:
                    continue
                tot -= float(mult) * float(np.log(float(law._s_series(field, 1).c[0])))
            return tot
        m1 = field.convert(1)
        for law, mult, _ in self._factors_for(field):
            s0 = law._s_series(field, 1).c[0]
            m1 = field.normalize(m1 * field.power(field.convert(1) / s0, mult))
        return m1

    def _f_series(self, field, n):
        """F(y) = log(1+y) - sum_i L_i log(S_i(s_i y)/S_i(0)), zero constant term."""
        f = Series.linear(1, 1, n, field).log(constant=0)
        for law, mult, scale in self._factors_for(field):
            if mult == 0:
                continue
            s = law._s_series(field, n)
            s = s.scale_variable(scale) if scale != 1 else s
            shat = s / s.c[0]
            f = f - shat.log(constant=0) * field.convert(mult)
        return f

    def _moment_series(self, field, n):
        key = (repr(field), n)
        if key in self._cache:
            return self._cache[key]
        lin = None if isinstance(field, FloatField) else self._g_linear_factors(field)
        if isinstance(field, FloatField):
            out = list(np.exp(self._float_log_moments(n)))
        elif lin is not None and len(lin[1]) <= 2:
            out = _binomial_lagrange(field, n, *lin)
        elif (sub := self._subordinated(field, n)) is not None:
            const, dpsi, phi, mu1 = sub
            c = lagrange_coefficients(phi.exp(), n, h=dpsi)
            out, p = [], field.convert(1)
            for k in range(1, n + 1):
                p = field.normalize(p * const)
                out.append(field.normalize(p * mu1 * c[k - 1] / k))
        else:
            g = self._f_series(field, n).exp()
            c = lagrange_coefficients(g, n)
            m1 = self._log_m1(field)
            out, p = [], field.convert(1)
            for k in range(1, n + 1):
                p = field.normalize(p * m1)
                out.append(field.normalize(p * c[k - 1] / k))
        self._cache[key] = out
        return out

    def _g_linear_factors(self, field):
        """g = (1+y)/S(y) = C prod_b (1 + b y)^e_b when every factor's S is a product of linear powers."""
        const = field.convert(1)
        expo: dict = {field.convert(1): 1}
        for law, mult, scale in self._factors_for(field):
            if mult == 0:
                continue
            lin = law._s_linear_factors(field)
            if lin is None or not isinstance(mult, int):
                return None
            c, facs = lin
            const = field.normalize(const * field.power(c, mult))
            for b, e in facs:
                key = field.normalize(b * field.convert(scale))
                expo[key] = expo.get(key, 0) - e * mult
        facs = tuple((b, e) for b, e in expo.items() if e != 0)
        return field.normalize(field.convert(1) / const), facs

    def _subordinated(self, field, n):
        r"""Lagrange--Buermann in the variable of the one factor without a linear-factor S.

        With y = psi_D(t) (psi_D: moment series of that factor, multiplicity L) and the other factors
        S_i = c_i prod (1 + b y)^e:  m_k = \frac{C^k}{k} [t^{k-1}] \psi_D'(t) e^{k\Phi(t)}, with
        v = psi_D/t, C = \mu_1^{L-1}/\prod c_i^{L_i} and
        Phi = (L-1)(log(v/mu_1) - log(1+psi_D)) - sum_i L_i e log(1 + b s_i psi_D).
        This never forms S_D (its series is badly conditioned for general laws).  Returns
        (log C or C, psi_D'/mu_1, Phi, mu_1) or None when the structure does not apply.
        """
        implicit = [f for f in self.factors if f[1] != 0 and f[0]._s_linear_factors(field) is None]
        if len(implicit) != 1 or implicit[0][2] != 1 or not isinstance(implicit[0][1], int):
            return None
        d_law, big_l, _ = implicit[0]
        mu = d_law._moment_series(field, n)
        psi = Series([field.convert(0)] + list(mu[: n - 1]), field)
        v = Series(list(mu), field)
        mu1 = mu[0]
        dpsi = Series([mu[j] * (j + 1) for j in range(n)], field) / mu1
        phi = ((v / mu1).log(constant=0) - (psi + 1).log(constant=0)) * field.convert(big_l - 1)
        log_c = (big_l - 1) * (np.log(float(mu1)) if isinstance(field, FloatField) else 0)
        const = field.power(mu1, big_l - 1) if not isinstance(field, FloatField) else None
        for law, mult, scale in self.factors:
            if law is d_law or mult == 0:
                continue
            lin = law._s_linear_factors(field)
            if lin is None or not isinstance(mult, int):
                return None
            c, facs = lin
            if isinstance(field, FloatField):
                log_c -= mult * np.log(float(c))
            else:
                const = field.normalize(const / field.power(c, mult))
            for b, e in facs:
                bs = field.normalize(b * field.convert(scale))
                phi = phi - ((psi * bs) + 1).log(constant=0) * field.convert(e * mult)
        return (log_c if isinstance(field, FloatField) else const), dpsi, phi, mu1

    def _float_log_moments(self, n):
        key = ("log", n)
        if key in self._cache:
            return self._cache[key]
        field = FloatField()
        sub = self._subordinated(field, n)
        if sub is not None:
            log_c, dpsi, phi, mu1 = sub
            with np.errstate(divide="ignore"):
                rad = np.max(np.abs(phi.c[1:]) ** (1.0 / np.arange(1, n))) if n > 1 else 1.0
            tau = 1.0 / (math.e * rad) if rad > 0 else 1.0
            g = phi.scale_variable(tau).exp()
            c = np.asarray(lagrange_coefficients(g, n, h=dpsi.scale_variable(tau)), dtype=float)
            k = np.arange(1, n + 1)
            with np.errstate(divide="ignore", invalid="ignore"):
                out = k * log_c + math.log(float(mu1)) - np.log(k) - (k - 1) * math.log(tau) + np.log(c)
            if np.any(c <= 0):
                warnings.warn(f"{self.name}: nonpositive scaled Lagrange coefficient (lost precision); "
                              "use precision=<digits>", RuntimeWarning, stacklevel=3)
            self._cache[key] = out
            return out
        f = self._f_series(field, n)
        # rescale y = tau u so that |F_j tau^j| <= e^-j
        with np.errstate(divide="ignore"):
            rad = np.max(np.abs(f.c[1:]) ** (1.0 / np.arange(1, n))) if n > 1 else 1.0
        tau = 1.0 / (math.e * rad) if rad > 0 else 1.0
        g = f.scale_variable(tau).exp()
        c = np.asarray(lagrange_coefficients(g, n), dtype=float)
        k = np.arange(1, n + 1)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = k * self._log_m1(field) - np.log(k) - (k - 1) * math.log(tau) + np.log(c)
        if np.any(c <= 0):
            warnings.warn(f"{self.name}: nonpositive scaled Lagrange coefficient (lost precision); "
                          "use precision=<digits>", RuntimeWarning, stacklevel=3)
        self._cache[key] = out
        return out

    def _float_moments(self, k):
        lm = self._float_log_moments(k)
        if np.any(lm > 709):
            warnings.warn(f"{self.name}: moments beyond m_{int(np.argmax(lm > 709)) + 1} overflow float; "
                          "use log_moments(k) or precision=<digits>", RuntimeWarning, stacklevel=3)
        with np.errstate(over="ignore"):
            return np.exp(lm)

    def log_moments(self, k):
        limits.check_series_memory(k, "k")  # before the k x k series matrices
        k = _check_k(k)
        return self._float_log_moments(k).copy()

    def _s_series(self, field, n):
        out = Series.constant(1, n, field)
        for law, mult, scale in self._factors_for(field):
            s = law._s_series(field, n)
            s = s.scale_variable(scale) if scale != 1 else s
            out = out * s.pow(mult)
        return out

    def exact_atoms(self):
        """Belinschi's rule (factors in one common space)."""
        zero = 0
        best = []
        for law, mult, _scale in self.factors:
            if mult == 0:
                continue
            atoms = law.exact_atoms()
            z = sum((p for a, p in atoms if a == 0), 0)
            zero = max(zero, z, key=float)
            nz = [(a, p) for a, p in atoms if a != 0]
            best.append((max(nz, key=lambda t: float(t[1])) if nz else None, mult))
        out = []
        if float(zero) > 0:
            out.append((0, zero))
        if all(b is not None for b, _ in best):
            loc, deficit = 1, 0
            for (a, p), mult in best:
                loc = loc * a ** mult
                deficit = deficit + mult * (1 - p)
            if float(deficit) < 1:
                out.append((loc, 1 - deficit))
        return tuple(out)

    def support(self):
        from . import density  # imported here: density imports this module

        return density.support(self)


def _binomial_lagrange(field, n, big_c, facs):
    r"""m_k = \frac{C^k}{k} [y^{k-1}] \prod_b (1 + b y)^{k e_b} for at most two factors: generalised
    binomial coefficients and one dot product per k, O(n^2) in all."""

    def binom_seq(a, b, length):
        out, c = [field.convert(1)], field.convert(1)
        for j in range(length - 1):
            c = field.normalize(c * (a - j) * b / (j + 1))
            out.append(c)
        return out

    if isinstance(field, FractionField) and len(facs) == 2 and all(isinstance(e, int) for _, e in facs):
        return _binomial_lagrange_int(n, Fraction(big_c), facs)
    res, ck = [], field.convert(1)
    for k in range(1, n + 1):
        ck = field.normalize(ck * big_c)
        if not facs:
            coef = field.convert(1) if k == 1 else field.convert(0)
        elif len(facs) == 1:
            (b, e), = facs
            coef = binom_seq(k * e, b, k)[k - 1]
        else:
            (b1, e1), (b2, e2) = facs
            s1, s2 = binom_seq(k * e1, b1, k), binom_seq(k * e2, b2, k)
            coef = field.dot(s1, s2[::-1])
        res.append(field.normalize(ck * coef / k))
    return res


def _int_binom(a: int, j: int) -> int:
    """binom(a, j) for any integer a (negative a: (-1)^j binom(j - a - 1, j))."""
    return math.comb(a, j) if a >= 0 else (-1) ** j * math.comb(j - a - 1, j)


def _binomial_lagrange_int(n, big_c, facs):
    """Integer-arithmetic version of :func:`_binomial_lagrange` (rational b, integer exponents)."""
    (b1, e1), (b2, e2) = [(Fraction(b), e) for b, e in facs]
    p1, q1, p2, q2 = b1.numerator, b1.denominator, b2.numerator, b2.denominator
    pw = {x: [1] for x in (p1, q1, p2, q2)}
    for x in pw:
        for _ in range(n):
            pw[x].append(pw[x][-1] * x)
    res = []
    for k in range(1, n + 1):
        a1, a2 = k * e1, k * e2
        tot = 0
        for j in range(k):
            i = k - 1 - j
            tot += _int_binom(a1, j) * _int_binom(a2, i) * pw[p1][j] * pw[q1][i] * pw[p2][i] * pw[q2][j]
        res.append(big_c**k * Fraction(tot, k * (q1 * q2) ** (k - 1)))
    return res


_EXACT_HINT = FractionField()


class FreeSum(SpectralLaw):
    r"""Free additive convolution: :math:`R = \sum_i R_i`, free cumulants add."""

    def __init__(self, laws, *, name=None):
        self.laws = tuple(laws)
        if not self.laws or not all(isinstance(x, SpectralLaw) for x in self.laws):
            raise TypeError("FreeSum needs a non-empty sequence of SpectralLaw")
        self.name = name or "free_sum(" + ", ".join(x.name for x in self.laws) + ")"

    def _params(self):
        return tuple(p for x in self.laws for p in x._params())

    def _r(self, w):
        return sum(law._r(w) for law in self.laws)

    def _moment_series(self, field, n):
        kap = None
        for law in self.laws:
            k = free_cumulants_from_moments(law._moment_series(field, n), field)
            kap = k if kap is None else [field.normalize(a + b) for a, b in zip(kap, k, strict=False)]
        return moments_from_free_cumulants(kap, field)

    def _m(self, z):
        # solve z = R(G) + 1/G for G by homotopy from large |z| is delicate: use the density solver
        from .density import solve_m_transform  # imported here: density imports this module

        return np.asarray(solve_m_transform(self, z))


# ----------------------------------------------------------------------------------------- registry
LAWS: dict[str, Any] = {
    "marchenko_pastur": MarchenkoPastur,
    "haar_orthogonal": HaarOrthogonal,
    "semicircle": Semicircle,
    "atomic": Atomic,
    "bernoulli": Bernoulli,
    "empirical": Empirical,
    "derivative": DerivativeLaw,
    "free_product": FreeProduct,
    "free_sum": FreeSum,
}


def example_laws() -> list[SpectralLaw]:
    """Representative instances of the elementary ensembles (no activation module needed); generic
    tests loop over this list."""
    return [
        MarchenkoPastur(),
        MarchenkoPastur(ratio=Fraction(1, 2), variance=2),
        MarchenkoPastur(ratio=3, variance=Fraction(1, 3)),
        HaarOrthogonal(Fraction(3, 2)),
        Semicircle(variance=1, mean=3),
        Bernoulli(Fraction(1, 2)),
        Bernoulli(Fraction(3, 4), value=2),
        Atomic((Fraction(1, 100), 1), (Fraction(1, 2), Fraction(1, 2))),
        Atomic((1, 2, 4), (Fraction(1, 4), Fraction(1, 2), Fraction(1, 4))),
    ]
