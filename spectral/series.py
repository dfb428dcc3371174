r"""Truncated power series over a field: float/complex (NumPy), Fraction, mpmath and sympy.

Every algorithm is written once against a small *field* object (:class:`Field`) that knows how to
convert scalars, form dot products and truncated products, and evaluate the few transcendental
scalars needed for constant terms.  A :class:`Series` holds the coefficients
:math:`a_0, \dots, a_{n-1}` of :math:`a(y) = \sum_j a_j y^j + O(y^n)`.

Algorithms (all :math:`O(n^2)` field operations unless stated):

* product: truncated convolution (``numpy.convolve`` for floats);
* inverse :math:`b = 1/a`: :math:`b_k = -a_0^{-1} \sum_{j=1}^{k} a_j b_{k-j}`;
* power :math:`b = a^\alpha` for any exponent (J.C.P. Miller's recurrence, Knuth TAOCP 4.7):
  :math:`k a_0 b_k = \sum_{j=1}^{k} ((\alpha + 1) j - k) a_j b_{k-j}`, so :math:`a^{10^4}` costs the
  same as :math:`a^2`;
* log and exp from :math:`a' = a (\log a)'` and :math:`b' = b a'`;
* composition :math:`f(g)` with :math:`g_0 = 0` by baby-step/giant-step (Paterson--Stockmeyer,
  Brent & Kung 1978): :math:`O(\sqrt n)` products instead of :math:`n`;
* Lagrange coefficients :math:`c_k = [y^{k-1}]\, h(y)\, \varphi(y)^k`, :math:`k = 1..n`, by
  baby-step/giant-step powers: :math:`\varphi^{i}` for :math:`i < s` and :math:`\varphi^{s j}`,
  :math:`s \approx \sqrt n`, then one dot product per :math:`k`; :math:`2\sqrt n` products plus
  :math:`n` dot products, instead of the :math:`n` products (:math:`O(n^3)`) of the textbook
  Lagrange inversion;
* reversion :math:`f^{-1}` of :math:`f = y \varphi_1(y)`: Lagrange inversion
  :math:`[w^k] f^{-1} = \tfrac1k [y^{k-1}] \varphi_1^{-k}` evaluated by the routine above.

References: D. E. Knuth, *TAOCP* vol. 2, sec. 4.7; R. P. Brent and H. T. Kung, *Fast algorithms for
manipulating formal power series*, J. ACM 25 (1978) 581--595.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .fields import Field, FloatField, FractionField, MPField, SympyField, field_for

__all__ = [
    "Field",
    "FloatField",
    "FractionField",
    "MPField",
    "SympyField",
    "Series",
    "field_for",
    "lagrange_coefficients",
]


# ----------------------------------------------------------------------------------------- series
class Series:
    """Truncated power series :math:`\\sum_{j<n} a_j y^j` over a :class:`Field`.

    Parameters
    ----------
    coeffs : sequence
        Coefficients :math:`a_0, a_1, \\dots` (converted into the field).
    field : Field
    """

    __slots__ = ("c", "field")

    def __init__(self, coeffs, field: Field):
        self.field = field
        self.c = field.asarray(coeffs)

    # -- construction helpers
    @classmethod
    def constant(cls, value, n, field):
        c = field.zeros(n)
        c[0] = field.convert(value)
        return cls(c, field)

    @classmethod
    def linear(cls, a0, a1, n, field):
        """a0 + a1 y."""
        c = field.zeros(n)
        c[0] = field.convert(a0)
        if n > 1:
            c[1] = field.convert(a1)
        return cls(c, field)

    def __len__(self):
        return len(self.c)

    @property
    def n(self) -> int:
        return len(self.c)

    def __getitem__(self, i):
        return self.c[i]

    def __repr__(self):
        shown = ", ".join(str(x) for x in list(self.c[:6]))
        return f"Series([{shown}{', ...' if self.n > 6 else ''}], n={self.n}, {self.field!r})"

    def _new(self, c):
        s = object.__new__(Series)
        s.field = self.field
        s.c = c
        return s

    def _check(self, other):
        if not isinstance(other, Series):
            return None
        if type(other.field) is not type(self.field):
            raise TypeError(f"cannot combine series over {self.field!r} and {other.field!r}")
        return min(self.n, other.n)

    def truncate(self, n: int) -> Series:
        if n <= self.n:
            return self._new(self.c[:n])
        c = self.field.zeros(n)
        c[: self.n] = self.c
        return self._new(c)

    def tolist(self) -> list:
        return list(self.c)

    # -- ring operations
    def __add__(self, other):
        n = self._check(other)
        if n is None:
            c = self._copy()
            c[0] = c[0] + self.field.convert(other)
            return self._new(c)
        return self._new(self._zip(other, n, lambda x, y: x + y))

    __radd__ = __add__

    def __neg__(self):
        return self._new(self._map(lambda x: -x))

    def __sub__(self, other):
        return self + (-other)

    def __rsub__(self, other):
        return (-self) + other

    def __mul__(self, other):
        n = self._check(other)
        if n is None:
            o = self.field.convert(other)
            return self._new(self._map(lambda x: x * o))
        return self._new(self.field.convolve(self.c[:n], other.c[:n], n))

    __rmul__ = __mul__

    def __truediv__(self, other):
        if isinstance(other, Series):
            return self * other.inv()
        o = self.field.convert(other)
        return self._new(self._map(lambda x: x / o))

    def __rtruediv__(self, other):
        return self.inv() * other

    def __pow__(self, alpha):
        return self.pow(alpha)

    def _copy(self):
        return self.c.copy() if isinstance(self.c, np.ndarray) else list(self.c)

    def _map(self, f):
        if isinstance(self.c, np.ndarray):
            return f(self.c)
        nz = self.field.normalize
        return [nz(f(x)) for x in self.c]

    def _zip(self, other, n, f):
        if isinstance(self.c, np.ndarray):
            return f(self.c[:n], other.c[:n])
        nz = self.field.normalize
        return [nz(f(x, y)) for x, y in zip(self.c[:n], other.c[:n], strict=False)]

    def scale_variable(self, s) -> Series:
        """a(s y)."""
        s = self.field.convert(s)
        if isinstance(self.c, np.ndarray):
            return self._new(self.c * s ** np.arange(self.n))
        out, p = [], self.field.convert(1)
        for x in self.c:
            out.append(self.field.normalize(x * p))
            p = p * s
        return self._new(out)

    def shift(self, k: int) -> Series:
        """y^k a(y) (k > 0) or a(y) / y^(-k) (k < 0, dropping the first coefficients)."""
        if k >= 0:
            c = self.field.zeros(self.n)
            c[k:] = self.c[: self.n - k]
            return self._new(c)
        return self._new(self.c[-k:])

    def deriv(self) -> Series:
        f = self.field
        if isinstance(self.c, np.ndarray):
            return self._new(self.c[1:] * np.arange(1, self.n))
        return self._new([f.normalize(self.c[j] * j) for j in range(1, self.n)])

    def integral(self, constant=0) -> Series:
        f = self.field
        if isinstance(self.c, np.ndarray):
            c = np.empty(self.n + 1, dtype=self.c.dtype)
            c[0] = constant
            c[1:] = self.c / np.arange(1, self.n + 1)
            return self._new(c)
        return self._new([f.convert(constant)] + [f.normalize(self.c[j] / (j + 1)) for j in range(self.n)])

    # -- recurrences
    def _require_unit(self, what):
        if self.field.is_zero(self.c[0]):
            raise ZeroDivisionError(f"{what} needs a nonzero constant term")

    def inv(self) -> Series:
        """1/a (requires a_0 != 0)."""
        self._require_unit("inverse")
        f, a, n = self.field, self.c, self.n
        if isinstance(a, np.ndarray):  # forward substitution in C: T(a) b = e_0
            rhs = np.zeros(n, dtype=a.dtype)
            rhs[0] = 1
            return self._new(_lower_solve(_toeplitz(a), rhs))
        b = f.zeros(n)
        inv0 = f.normalize(f.convert(1) / a[0])
        b[0] = inv0
        for k in range(1, n):
            b[k] = f.normalize(-inv0 * f.dot(a[1:k + 1], b[k - 1::-1] if k else b[:0]))
        return self._new(b)

    def pow(self, alpha, *, constant=None) -> Series:
        """a^alpha by Miller's recurrence; ``constant`` overrides a_0^alpha (branch choice)."""
        self._require_unit("power")
        f, a, n = self.field, self.c, self.n
        al = alpha if isinstance(alpha, int) else f.convert(alpha)
        b = f.zeros(n)
        b[0] = f.convert(constant) if constant is not None else f.power(a[0], alpha)
        if isinstance(a, np.ndarray) and n > 1:  # Miller's recurrence as one triangular solve
            b = b.astype(np.result_type(a, b[0]))
            kk = np.arange(n)[:, None]
            jj = kk - np.arange(n)[None, :]
            mat = -((float(al) + 1) * jj - kk) * _toeplitz(a)
            mat[np.diag_indices(n)] = np.arange(n) * a[0]
            rhs = -mat[1:, 0] * b[0]
            b[1:] = _lower_solve(mat[1:, 1:], rhs)
            return self._new(b)
        ja: Any  # an array for float fields, a list of exact coefficients otherwise
        if isinstance(a, np.ndarray):
            ja = a * np.arange(n)
        else:
            ja = [f.normalize(a[j] * j) for j in range(n)]
        inv0 = f.convert(1) / a[0]
        for k in range(1, n):
            rev = b[k - 1::-1]
            s = (al + 1) * f.dot(ja[1:k + 1], rev) - k * f.dot(a[1:k + 1], rev)
            b[k] = f.normalize(s * inv0 / k)
        return self._new(b)

    def log(self, *, constant=None) -> Series:
        """log a; the constant term is log(a_0) unless ``constant`` is given."""
        self._require_unit("log")
        f, a, n = self.field, self.c, self.n
        c = f.zeros(n)
        c0 = f.convert(constant) if constant is not None else f.log(a[0])
        if isinstance(c, np.ndarray):
            c = c.astype(np.result_type(c, a, c0))
        c[0] = c0
        if isinstance(c, np.ndarray) and n > 1:  # (log a)' = a'/a: one triangular solve
            dc = _lower_solve(_toeplitz(a[: n - 1]), a[1:] * np.arange(1, n))
            c[1:] = dc / np.arange(1, n)
            return self._new(c)
        jc = f.zeros(n) if not isinstance(c, np.ndarray) else np.zeros(n, dtype=c.dtype)
        inv0 = f.convert(1) / a[0]
        for k in range(1, n):
            s = f.dot(jc[1:k], a[k - 1:0:-1]) if k > 1 else f.convert(0)
            c[k] = f.normalize((a[k] - s / k) * inv0)
            jc[k] = f.normalize(c[k] * k)
        return self._new(c)

    def exp(self) -> Series:
        """exp a (the constant term must have an exp in the field: 0 for exact fields)."""
        f, a, n = self.field, self.c, self.n
        b = f.zeros(n)
        ja: Any  # an array for float fields, a list of exact coefficients otherwise
        if isinstance(a, np.ndarray):
            b = b.astype(np.result_type(a, b))
            ja = a * np.arange(n)
        else:
            ja = [f.normalize(a[j] * j) for j in range(n)]
        b[0] = f.exp(a[0])
        if isinstance(a, np.ndarray) and n > 1:  # k b_k = sum_j j a_j b_(k-j): one triangular solve
            d = ja[1:]
            mat = np.diag(np.arange(1, n).astype(b.dtype)) - _toeplitz(np.r_[0, d[: n - 2]].astype(b.dtype))
            b[1:] = _lower_solve(mat, d * b[0])
            return self._new(b)
        for k in range(1, n):
            b[k] = f.normalize(f.dot(ja[1:k + 1], b[k - 1::-1]) / k)
        return self._new(b)

    # -- composition and reversion
    def compose(self, g: Series) -> Series:
        """self(g(y)) for g with g_0 = 0 (Paterson--Stockmeyer baby-step/giant-step)."""
        n = self._check(g)
        if not g.field.is_zero(g.c[0]):
            raise ValueError("composition f(g) needs g(0) = 0")
        f = self.field
        s = max(1, math.isqrt(n))
        gn = g.truncate(n)
        baby = [Series.constant(1, n, f)]
        for _ in range(1, s):
            baby.append(baby[-1] * gn)
        giant = baby[-1] * gn  # g^s
        nblocks = -(-n // s)
        result: Any = None  # set by the first block (nblocks >= 1)
        for j in reversed(range(nblocks)):
            block = Series(f.zeros(n), f)
            for i in range(s):
                idx = j * s + i
                if idx < n and not f.is_zero(self.c[idx]):
                    block = block + baby[i] * self.c[idx]
            result = block if result is None else result * giant + block
        return result

    def reversion(self) -> Series:
        """Compositional inverse of a = a_1 y + a_2 y^2 + ... (a_0 = 0, a_1 != 0)."""
        f = self.field
        if not f.is_zero(self.c[0]) or f.is_zero(self.c[1]):
            raise ValueError("reversion needs a_0 = 0 and a_1 != 0")
        n = self.n
        phi = self.shift(-1).inv()  # y / a(y), length n-1
        ck = lagrange_coefficients(phi, n - 1)
        out = f.zeros(n)
        for k in range(1, n):
            out[k] = f.normalize(ck[k - 1] / k)
        return Series(out, f)


def lagrange_coefficients(phi: Series, n: int, h: Series | None = None):
    r"""Return :math:`c_k = [y^{k-1}]\, h(y)\, \varphi(y)^k` for :math:`k = 1, \dots, n`.

    Baby-step/giant-step: with :math:`s = \lceil\sqrt n\rceil`, form :math:`B_i = h \varphi^i`
    (:math:`i < s`) and :math:`P_j = \varphi^{s j}`; then
    :math:`c_{js+i} = \sum_a B_i[a]\, P_j[js+i-1-a]`, one dot product each.
    Cost: about :math:`2\sqrt n` series products and :math:`n` dot products (instead of :math:`n`
    products).  Lagrange inversion: if :math:`\psi = w \varphi(\psi)` then
    :math:`[w^k]\psi = c_k / k` (``h = 1``).
    """
    f = phi.field
    if n < 1:
        return f.zeros(0)
    phi = phi.truncate(n)
    s = max(1, math.isqrt(n - 1) + 1)
    base = h.truncate(n) if h is not None else Series.constant(1, n, f)
    baby = [base]
    for _ in range(1, s):
        baby.append(baby[-1] * phi)
    # phi^s
    if isinstance(phi.c, np.ndarray):
        ps = _power_by_squaring(phi, s)
    else:
        ps = phi.pow(s) if s > 4 else _power_by_mul(phi, s)
    out = f.zeros(n)
    giant = Series.constant(1, n, f)
    if isinstance(phi.c, np.ndarray):  # gather all dot products of one giant step at once
        bmat = np.array([b.c for b in baby])
        out = np.zeros(n, dtype=np.result_type(bmat, ps.c))
        padded = np.zeros(2 * n + s, dtype=out.dtype)
        # gathered[i, a] = giant[j s + i - 1 - a] (0 for a negative index) = padded[n + j s + i - 1 - a]
        index = n - 1 + np.arange(s)[:, None] - np.arange(n)[None, :]
        j = 0
        while j * s <= n:
            rows = min(s, n + 1 - j * s)
            padded[n:2 * n] = giant.c
            vals = np.einsum("ia,ia->i", bmat[:rows], padded[index[:rows] + j * s])
            ks = j * s + np.arange(rows)
            ok = ks >= 1
            out[ks[ok] - 1] = vals[ok]
            j += 1
            if j * s <= n:
                giant = giant * ps
        return out
    j = 0
    while j * s <= n:
        for i in range(s):
            kk = j * s + i
            if kk < 1:
                continue
            if kk > n:
                break
            out[kk - 1] = f.dot(baby[i].c[:kk], giant.c[kk - 1::-1])
        j += 1
        if j * s <= n:
            giant = giant * ps
    return out


def _toeplitz(a):
    """Lower-triangular Toeplitz matrix T[i, j] = a[i - j] (a strided view)."""
    n = len(a)
    padded = np.concatenate([np.zeros(n - 1, dtype=a.dtype), a])
    return np.lib.stride_tricks.sliding_window_view(padded, n)[:, ::-1]


def _lower_solve(mat, rhs):
    from scipy.linalg import solve_triangular

    return solve_triangular(mat, rhs, lower=True, check_finite=False)


def _power_by_squaring(a: Series, k: int) -> Series:
    result, base = None, a
    while k:
        if k & 1:
            result = base if result is None else result * base
        k >>= 1
        if k:
            base = base * base
    return result if result is not None else Series.constant(1, a.n, a.field)


def _power_by_mul(a: Series, k: int) -> Series:
    r = Series.constant(1, a.n, a.field)
    for _ in range(k):
        r = r * a
    return r
