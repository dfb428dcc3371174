"""The density equation in log form (docs/design.md §4.4, §5.2): one vectorized evaluation of residuals, derivatives
and the attainable accuracy, and the Newton step by the Schur complement."""

from __future__ import annotations

import math

import numpy as np

from .factors import ExplicitFactor, ImplicitFactor, LinearFactor
from .tolerances import _EPS, _EXPONENT_ZERO, _GUARD, _MERGE_RTOL, _SINGULAR_RTOL, _SMALL_M_BRANCH, _TWO_PI


def _wrap(v):
    """Reduce the imaginary part of a log residual to (-pi, pi]."""
    out = np.array(v, dtype=complex)
    out.imag -= _TWO_PI * np.round(v.imag / _TWO_PI)
    return out


def _merge_terms(pairs):
    """Merge (b, e) pairs with equal b (relative :data:`_MERGE_RTOL`); drop vanishing exponents."""
    out: list[list[float]] = []
    for b, e in pairs:
        for item in out:
            if abs(item[0] - b) <= _MERGE_RTOL * max(abs(b), abs(item[0])):
                item[1] += e
                break
        else:
            out.append([b, e])
    return [(b, e) for b, e in out if abs(e) > _EXPONENT_ZERO]


class _System:
    r"""Vectorized evaluation of the density equation in log form (z normalised by :math:`e^{\log c}`).

    The unknown of a point is ``p``: m itself (mode A) or :math:`\delta = m - m_0` (mode B, ``B`` True).
    """

    def __init__(self, factors, w0=0.0, log_c=0.0):
        const, e_m = 0.0, -1.0
        pairs = [(1.0, 1.0)]
        self.gen, self.imp = [], []
        log_m1 = 0.0
        for f in factors:
            n, s = float(f.multiplicity), float(f.scale)
            if n == 0:
                continue
            if isinstance(f, LinearFactor):
                const -= n * math.log(f.c)
                pairs.extend((b * s, -n * e) for b, e in f.terms)
            elif isinstance(f, ExplicitFactor):
                self.gen.append(f)
                log_m1 -= n * float(np.real(f.log_s(np.zeros(1, complex))[0]))
            elif isinstance(f, ImplicitFactor):
                pairs.append((s, -n))
                e_m += n
                const += n * math.log(s)
                log_m1 += n * (math.log(f.mean) - math.log(s))
                self.imp.append(f)
            else:
                raise TypeError(f"unknown factor type {type(f).__name__}")
        terms = _merge_terms(pairs)
        self.b = np.array([t[0] for t in terms], dtype=float)
        self.e = np.array([t[1] for t in terms], dtype=float)
        self.const = const
        self.e_m = e_m
        self.log_m1 = log_m1 + const
        self.w0 = float(w0)
        self.m0 = -(1.0 - self.w0)
        r = 1.0 + self.b * self.m0
        self.singular = np.abs(r) <= _SINGULAR_RTOL * np.maximum(1.0, np.abs(self.b * self.m0))
        self.rB = np.where(self.singular, 0.0, r)
        # (b, e, rB) per term as Python floats, for the loop of :meth:`evaluate`
        self._terms = [(float(b), float(e), float(rb)) for b, e, rb in zip(self.b, self.e, self.rB, strict=True)]
        self.log_c = float(log_c)
        self.ntot = float(sum(abs(float(f.multiplicity)) for f in factors))
        self.linear = not self.gen and not self.imp

    def with_log_c(self, log_c):
        new = object.__new__(_System)
        new.__dict__.update(self.__dict__)
        new.log_c = float(log_c)
        return new

    @property
    def k(self):
        return len(self.imp)

    @property
    def kappa(self):
        """Order of the zero of z(m) at m0 from the linear factors (0 when there is none)."""
        return float(np.sum(self.e[self.singular]))

    def one_plus(self, b, p, B):
        """1 + b m in the point's own variable (exact cancellation at m0 in mode B)."""
        r = 1.0 + b * self.m0
        if abs(r) <= _SINGULAR_RTOL * max(1.0, abs(b * self.m0)):
            r = 0.0
        return np.where(B, r, 1.0) + b * p

    def m_of(self, p, B):
        return np.where(B, self.m0 + p, p)

    def project(self, p, B, zeta):
        r"""The unknown p that solves one implicit factor's own equation at ``zeta`` in the form
        :meth:`evaluate` uses: :math:`1 + s m = 1 + M(\zeta)` (mode A: :math:`m = (g_1(\zeta) - 1)/s`, or
        :math:`M(\zeta)/s` where :math:`|s m| \le |1 + s m|/8`), :math:`s\delta = 1 + M(\zeta)` in mode B
        where :math:`1 + s m_0 = 0`; ``p`` itself elsewhere and for any other system.  Newton on this manifold
        is Newton on the scalar :math:`\log z(\zeta)` (docs/design.md §4.4)."""
        if self.k != 1:
            return p
        f = self.imp[0]
        s = float(f.scale)
        zj = zeta[0]
        with np.errstate(all="ignore"):
            mz = f.m(zj)
            g = f.g1(zj) if f.g1 is not None else 1.0 + mz
            pa = np.where(np.abs(mz) <= _SMALL_M_BRANCH * np.abs(g), mz, g - 1.0) / s
            if not np.any(B):
                out = pa
            elif abs(1.0 + s * self.m0) <= _SINGULAR_RTOL * max(1.0, abs(s * self.m0)):
                out = np.where(B, g / s, pa)
            else:
                out = np.where(B, p, pa)
        return np.where(np.isfinite(out), out, p)

    def evaluate(self, p, B, zeta, target):
        """Residuals, derivatives and the attainable accuracy at (p, zeta) for target log z."""
        # every point in mode A (the common case): the mode's selections are the constant 1 (the same values)
        mode_b = bool(B.any())
        m = self.m_of(p, B) if mode_b else p.copy()
        ap = np.abs(p)
        lm = np.log(m)
        logz = self.const - self.log_c + self.e_m * lm
        noise = abs(self.const) + abs(self.log_c) + abs(self.e_m) * (np.abs(lm) + 1.0) + np.abs(target)
        a = self.e_m / m
        for b, e, rb in self._terms:
            r = np.where(B, rb, 1.0) if mode_b else 1.0
            v = r + b * p
            lv = np.log(v)
            logz = logz + e * lv
            # rounding of log v and of v itself (relative error (|r| + |b p|) eps / |v|)
            noise = noise + abs(e) * (np.abs(lv) + (np.abs(r) + abs(b) * ap) / np.abs(v))
            a = a + (e * b) / v
        for f in self.gen:
            n, s = float(f.multiplicity), float(f.scale)
            w = s * m
            ls = f.log_s(w)
            logz = logz - n * ls
            noise = noise + abs(n) * np.abs(ls)
            a = a - n * s * f.dlog_s(w)
        fj, bj, cj, sj = [], [], [], []
        dred = a.copy()
        cond = ap * np.abs(a)
        for j, f in enumerate(self.imp):
            n, s = float(f.multiplicity), float(f.scale)
            zj = zeta[j]
            lzj = np.log(zj)
            logz = logz + n * lzj
            noise = noise + abs(n) * (np.abs(lzj) + 1.0)
            v = self.one_plus(s, p, B) if mode_b else 1.0 + s * p
            sm = s * m
            if f.transforms is not None:
                g, mz, c, fn = f.transforms(zj)
            else:
                g = f.g1(zj) if f.g1 is not None else 1.0 + f.m(zj)
                c = f.dm(zj)
                mz = fn = None
            scale = np.minimum(np.abs(v), np.abs(sm)) + _GUARD
            # M(zeta) = s m where s m is small against 1 + s m: 1 + M = 1 + s m would lose the digits of s m,
            # which n log zeta multiplies by n (tanh / Gaussian depth 10^4: log z to 5e-8 only, x rho to 1e-4)
            small = np.abs(sm) <= _SMALL_M_BRANCH * np.abs(v)
            if small.any():
                mz = f.m(zj) if mz is None else mz
                fj.append(np.where(small, mz - sm, g - v) / scale)
                gs = np.where(small, np.abs(mz) + np.abs(sm), np.abs(g) + np.abs(v))
            else:
                fj.append((g - v) / scale)
                gs = np.abs(g) + np.abs(v)
            bj.append(n / zj)
            cj.append(c / scale)
            sj.append(s / scale)
            dred = dred + (n / zj) * s / c
            noise = noise + abs(n) * gs / scale
            if f.noise is not None:
                # the rounding of M is that of 1 + M times max|d| / |zeta| at most (the same sum, each term
                # times d / zeta)
                fn = f.noise(zj) if fn is None else fn
                if small.any():
                    fn = np.where(small, fn * np.minimum(1.0, max(abs(f.bounds[0]), abs(f.bounds[1])) / np.abs(zj)),
                                  fn)
                noise = noise + abs(n) * fn / (scale * _EPS)
        f0 = _wrap(logz - target)
        res = np.abs(f0) ** 2
        for fv in fj:
            res = res + np.abs(fv) ** 2
        return dict(f0=f0, fj=fj, a=a, bj=bj, cj=cj, sj=sj, dred=dred, logz=logz, m=m,
                    res=np.sqrt(res), noise=(noise + cond) * _EPS)

    def step(self, ev):
        """Newton step (dp, dzeta) by the Schur complement."""
        num = -ev["f0"]
        den = ev["a"].copy()
        for j in range(self.k):
            num = num + ev["bj"][j] * ev["fj"][j] / ev["cj"][j]
            den = den + ev["bj"][j] * ev["sj"][j] / ev["cj"][j]
        dp = num / den
        dz = [(ev["sj"][j] * dp - ev["fj"][j]) / ev["cj"][j] for j in range(self.k)]
        return dp, dz

    def init(self, logz):
        """Large-|z| start: m = m_1/z (mode A), zeta_j = mean_j/(s_j m)."""
        m = np.exp(self.log_m1 - self.log_c - logz)
        zeta = np.array([f.mean / (f.scale * m) for f in self.imp]).reshape(self.k, *m.shape)
        return m, zeta
