"""Free products and sums of laws; the dimension change of a rectangular layer."""

from __future__ import annotations

import dataclasses
import math
import warnings
from fractions import Fraction

import numpy as np

from .. import limits
from ..density.edges import support as _density_support
from ..density.factors import ImplicitFactor, LinearFactor
from ..density.solve import solve_m_transform
from ..series import FloatField, FractionField, Series, lagrange_coefficients
from .base import (
    SpectralLaw,
    _as_complex,
    _check_k,
    _check_positive,
    _num,
    free_cumulants_from_moments,
    moments_from_free_cumulants,
)


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

    def solver_factors(self):
        """One :class:`~spectral.density.LinearFactor` (docs/design.md §6)."""
        return self._solver_record(self._linear_solver_factor())


def _implicit_only(records) -> bool:
    """Every factor of the product that depends on m is implicit (the laws of D^2 of square orthogonal layers),
    the others constants (a linear factor without terms)."""
    return all(isinstance(f, ImplicitFactor) or (isinstance(f, LinearFactor) and not f.terms) for f in records)


def _mult(x) -> float:
    """A multiplicity as a float (the density solver is numeric)."""
    try:
        return float(x)
    except TypeError as exc:  # sympy symbol etc.
        raise TypeError(f"the density solver needs numeric multiplicities, got {x!r}") from exc


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

    # the density solver's view (docs/design.md §6)
    def solver_factors(self):
        """The factors' own records, flattened: each factor's multiplicity and scale multiply those of the
        records it contributes; factors of multiplicity 0 are left out.  A piecewise D^2 (selu, elu) enters with
        its exact law where nothing else in the product depends on m (:func:`_implicit_only`: orthogonal square
        layers, whose product inherits the jumps and atom of D^2), else with its discrete quadrature law
        (``product_solver_factors``: Marchenko--Pastur factors smooth the product, where the two laws agree
        within 2e-10 and the discrete one is cheaper; docs/design.md §5.10)."""
        out = self._flattened(exact_piecewise=True)
        if not _implicit_only(out):
            out = self._flattened(exact_piecewise=False)
        if not out:
            raise ValueError(f"{self.name!r}: no factor with nonzero multiplicity")
        return self._solver_record(*out)

    def _flattened(self, exact_piecewise) -> list:
        out = []
        for law, mult, scale in self.factors:
            n = _mult(mult)
            if n == 0:
                continue
            rec = law.solver_factors() if exact_piecewise else law.product_solver_factors()
            for f in rec.factors:
                out.append(dataclasses.replace(f, multiplicity=f.multiplicity * n, scale=f.scale * float(scale)))
        return out

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
        return _density_support(self)


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
        return np.asarray(solve_m_transform(self, z))
