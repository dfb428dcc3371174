r"""The law of :math:`D^2 = \phi'(\sqrt q\, z)^2` (:class:`DerivativeLaw`) and its view for the density solver."""

from __future__ import annotations

import math
import warnings
from fractions import Fraction

import numpy as np

from ..density.factors import ImplicitFactor
from ..fields import MPField
from .base import SpectralLaw, _as_complex, _check_positive, _exactify
from .d2_gaussian_tail import gaussian_tail_d2
from .d2_piecewise import piecewise_d2
from .d2_quadrature import smooth_d2
from .d2_wrapped import wrapped_d2
from .ensembles import Atomic


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
        from ..activations import activation as _resolve

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
        # phi' constant or monotone on each piece (selu, elu): atoms plus closed-form continuous parts
        self._piecewise = None if pieces else piecewise_d2(self.activation, float(q))

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
            from .. import gaussian

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
        from .. import gaussian

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
            # selu / elu: phi' is constant on h > 0, an atom of mass 1/2 (exact) at lambda^2
            return () if self._piecewise is None else tuple(self._piecewise.atoms)
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

    # ---- the density solver's view (docs/design.md §6)
    def solver_factors(self):
        """The atomic law's factor for piecewise-constant phi' (relu, hard-tanh, ...); otherwise an
        :class:`~spectral.density.ImplicitFactor` with the analytic M(zeta) of :mod:`spectral.laws.d2_quadrature`
        (exact, :mod:`spectral.laws.d2_wrapped`, where phi' = A cos(B x); near 0 by
        :mod:`spectral.laws.d2_gaussian_tail` where phi' = A exp(-B x^2); the discrete quadrature law where the
        activation has no analytic expression)."""
        if self._atomic is not None:
            return self._solver_record(*self._atomic.solver_factors().factors)
        return self._solver_record(self._implicit_solver_factor())

    @property
    def is_piecewise(self) -> bool:
        """phi' constant or analytic and monotone on each piece (selu, elu): the law has an atom and a continuous
        part in closed form (:mod:`spectral.laws.d2_piecewise`)."""
        return self._piecewise is not None

    def product_solver_factors(self):
        """In a product with factors that depend on m other than laws of D^2 (Gaussian weights, rectangular layers)
        a piecewise D^2 enters with its discrete quadrature law (``n_nodes`` nodes) instead of its closed form
        (docs/design.md §5.10); any other law with :meth:`solver_factors`."""
        if not self.is_piecewise:
            return self.solver_factors()
        return self._solver_record(self._implicit_solver_factor(exact=False))

    def _implicit_solver_factor(self, exact=True) -> ImplicitFactor:
        pw = self._piecewise
        if pw is not None and exact:
            return ImplicitFactor(pw.m, pw.dm, float(self.mean), pw.bounds, 1.0, 1.0, pw.g1, offset=pw.offset,
                                  noise=pw.noise, spread=pw.spread, jump_values=pw.jumps, transforms=pw.transforms)
        wrapped = wrapped_d2(self.activation, float(self.q))
        if wrapped is not None:
            # phi' = A cos(B x): the exact transforms of the wrapped normal law (docs/design.md §4.6)
            return ImplicitFactor(wrapped.m, wrapped.dm, float(self.mean), wrapped.bounds, 1.0, 1.0, wrapped.g1,
                                  offset=wrapped.offset, noise=wrapped.noise, spread=wrapped.spread,
                                  critical_values=wrapped.crit_values, transforms=wrapped.transforms)
        smooth = smooth_d2(self.activation, float(self.q), self.name)
        # phi' = A exp(-B x^2): 1 + M near 0 by the law's density in s = -log D^2 (docs/design.md §4.6)
        smooth = gaussian_tail_d2(self.activation, float(self.q), smooth) or smooth
        if smooth is not None:
            return ImplicitFactor(smooth.m, smooth.dm, float(self.mean), smooth.bounds, 1.0, 1.0, smooth.g1,
                                  offset=smooth.offset, noise=smooth.noise, spread=smooth.spread,
                                  critical_values=tuple(float(v) for v in smooth.crit_values),
                                  limit_values=tuple(float(v) for v in smooth.limit_values),
                                  # a spike at a limit value (gelu, swish): the law alone is served by the
                                  # push-forward of the Gaussian (docs/design.md §5.4)
                                  pushforward=smooth.pushforward() if len(smooth.limit_values) else None,
                                  transforms=smooth.transforms)
        why = "no analytic expression of the activation" if pw is None else "D^2 of a piecewise phi' in a product"
        warnings.warn(f"{self.name}: M(zeta) from a discrete quadrature law ({why}); densities next to the support "
                      "of D^2 are approximate", RuntimeWarning, stacklevel=4)
        x, w = (np.asarray(a, dtype=float) for a in self._quadrature())

        def g1(zeta, x=x, w=w):
            zz = zeta[..., None]
            return np.sum(w * zz / (zz - x), axis=-1)

        return ImplicitFactor(self.m_transform, self.m_transform_derivative, float(self.mean),
                              (float(x.min()), float(x.max())), 1.0, 1.0, g1,
                              offset=float(np.dot(w, x * x) / np.dot(w, x)))
