"""The elementary ensembles: Marchenko--Pastur, Haar orthogonal, semicircle, atomic laws (Bernoulli,
empirical); conventions in :mod:`spectral.laws.base`."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from ..density.factors import ImplicitFactor
from ..series import Series
from .base import SpectralLaw, _as_complex, _check_positive, _exactify, _num, _sqrt_branch, moments_from_free_cumulants


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

    def solver_factors(self):
        """One :class:`~spectral.density.LinearFactor` (docs/design.md §6)."""
        return self._solver_record(self._linear_solver_factor())

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

    def solver_factors(self):
        """One :class:`~spectral.density.LinearFactor` (docs/design.md §6)."""
        return self._solver_record(self._linear_solver_factor())

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

    def solver_factors(self):
        """One :class:`~spectral.density.ExplicitFactor` from the closed-form S (docs/design.md §6)."""
        return self._solver_record(self._explicit_solver_factor())


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

    def solver_factors(self):
        """A :class:`~spectral.density.LinearFactor` for one nonzero atom (Bernoulli), else an
        :class:`~spectral.density.ImplicitFactor` carrying M, the atom locations and ``g1`` (docs/design.md §6)."""
        lin = self._linear_solver_factor()
        if lin is not None:
            return self._solver_record(lin)
        if self.closed_form_s:
            return self._solver_record(self._explicit_solver_factor())
        return self._solver_record(self._implicit_solver_factor())

    def _implicit_solver_factor(self) -> ImplicitFactor:
        r""":math:`M(\zeta) = \sum_i p_i v_i/(\zeta - v_i)`, with :math:`1 + M = \sum_i p_i \zeta/(\zeta - v_i)`
        free of cancellation near :math:`\zeta = 0`, the atoms (whose gaps hold further real branches of
        :math:`M^{-1}`), :math:`m_2/m_1` and the relative variance."""
        v, p = self._vp()
        keep = p > 0
        v, p = v[keep], p[keep]

        def g1(zeta, v=v, p=p):
            zz = zeta[..., None]
            return np.sum(p * zz / (zz - v), axis=-1)

        return ImplicitFactor(self.m_transform, self.m_transform_derivative, float(np.dot(p, v)),
                              (float(v.min()), float(v.max())), 1.0, 1.0, g1, tuple(sorted(float(x) for x in v)),
                              float(np.dot(p, v * v) / np.dot(p, v)),
                              spread=float(np.dot(p, (v - np.dot(p, v)) ** 2) / np.dot(p, v) ** 2))

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
