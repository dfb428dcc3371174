r"""The scalar fields of :class:`spectral.series.Series`: float/complex (NumPy), Fraction, mpmath and sympy.

A field knows how to convert scalars, form dot products and truncated products, and evaluate the few
transcendental scalars (log, exp, powers) a series needs for its constant term; every series algorithm is
written once against this interface (docs/design.md §4.2).
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from typing import Any

import numpy as np

__all__ = ["Field", "FloatField", "FractionField", "MPField", "SympyField", "field_for"]


class Field:
    """Scalar arithmetic used by :class:`Series`; subclasses override what differs."""

    name = "generic"
    exact = False

    def convert(self, x):
        return x

    def zeros(self, n: int):
        z = self.convert(0)
        return [z] * n

    def asarray(self, seq):
        return [self.convert(x) for x in seq]

    def dot(self, a, b):
        """sum_i a_i b_i (a, b sequences of equal length)."""
        s = self.convert(0)
        for x, y in zip(a, b, strict=False):
            s = s + x * y
        return self.normalize(s)

    def convolve(self, a, b, n: int):
        """First n coefficients of the product of a and b."""
        la, lb = len(a), len(b)
        out = []
        for k in range(n):
            lo, hi = max(0, k - lb + 1), min(k, la - 1)
            if lo > hi:
                out.append(self.convert(0))
                continue
            out.append(self.dot(a[lo:hi + 1], [b[k - j] for j in range(lo, hi + 1)]))
        return out

    def normalize(self, x):
        return x

    def log(self, x):
        raise ValueError(f"log of the constant term {x!r} is not available in the {self.name} field; "
                         "normalise the series to constant term 1 first")

    def exp(self, x):
        raise ValueError(f"exp of the constant term {x!r} is not available in the {self.name} field; "
                         "use a series with zero constant term")

    def power(self, x, alpha):
        return x ** alpha

    def is_zero(self, x) -> bool:
        return x == 0

    def __repr__(self):
        return f"{type(self).__name__}()"


class FloatField(Field):
    """Float64 or complex128 coefficients held in a NumPy array."""

    name = "float"

    def __init__(self, dtype=float):
        self.dtype = np.dtype(dtype)

    def convert(self, x):
        return self.dtype.type(x)

    def zeros(self, n):
        return np.zeros(n, dtype=self.dtype)

    def asarray(self, seq):
        arr = np.asarray(seq)
        if np.iscomplexobj(arr) and self.dtype.kind != "c":
            raise TypeError("complex coefficients given to a real float field; use FloatField(complex)")
        return arr.astype(self.dtype)

    def dot(self, a, b):
        return np.dot(a, b)

    def convolve(self, a, b, n):
        out = np.zeros(n, dtype=np.result_type(a, b, self.dtype))
        c = np.convolve(a[:n], b[:n])[:n]
        out[: len(c)] = c
        return out

    def log(self, x):
        return np.log(x) if self.dtype.kind == "c" or x > 0 else np.log(complex(x))

    def exp(self, x):
        return np.exp(x)

    def power(self, x, alpha):
        return np.power(self.dtype.type(x), alpha) if (self.dtype.kind == "c" or x > 0) else \
            np.power(complex(x), alpha)

    def __repr__(self):
        return f"FloatField({self.dtype.name})"


class FractionField(Field):
    """Exact rationals (:class:`fractions.Fraction`)."""

    name = "fraction"
    exact = True

    def convert(self, x):
        if isinstance(x, Fraction):
            return x
        if isinstance(x, (int, np.integer)):
            return Fraction(int(x))
        if isinstance(x, float):
            raise TypeError(f"float {x!r} in an exact computation; give it as a Fraction or integer")
        import sympy

        if isinstance(x, sympy.Rational):
            return Fraction(int(x.p), int(x.q))
        raise TypeError(f"cannot represent {x!r} exactly as a Fraction")

    def dot(self, a, b):
        return sum((x * y for x, y in zip(a, b, strict=False)), Fraction(0))

    def log(self, x):
        if x == 1:
            return Fraction(0)
        return super().log(x)

    def exp(self, x):
        if x == 0:
            return Fraction(1)
        return super().exp(x)

    def power(self, x, alpha):
        alpha = Fraction(alpha)
        if alpha.denominator == 1:
            return x ** int(alpha)
        r = x ** float(alpha)
        rf = Fraction(r).limit_denominator(10**12)
        if rf ** alpha.denominator == x ** alpha.numerator:
            return rf
        raise ValueError(f"{x}^{alpha} is irrational; use the sympy field (exact=True with sympy inputs)")


class MPField(Field):
    """mpmath numbers at ``dps`` decimal digits in a private context (global precision untouched)."""

    name = "mpmath"

    def __init__(self, dps: int = 30, complex: bool = False):  # noqa: A002
        import mpmath

        if int(dps) < 1:
            raise ValueError(f"precision must be a positive number of digits, got {dps!r}")
        self.ctx = mpmath.mp.clone()
        self.ctx.dps = int(dps)
        self.dps = int(dps)
        self.complex = complex

    def convert(self, x):
        if isinstance(x, Fraction):
            return self.ctx.mpf(x.numerator) / x.denominator
        if hasattr(x, "p") and hasattr(x, "q") and not isinstance(x, (int, float, complex)):
            try:
                return self.ctx.mpf(int(x.p)) / int(x.q)
            except (TypeError, AttributeError):
                pass
        if self.complex or isinstance(x, complex) or isinstance(x, np.complexfloating):
            return self.ctx.mpc(x)
        return self.ctx.mpf(x)

    def dot(self, a, b):
        return self.ctx.fdot(a, b)

    def log(self, x):
        return self.ctx.log(x)

    def exp(self, x):
        return self.ctx.exp(x)

    def power(self, x, alpha):
        return self.ctx.power(x, self.convert(alpha) if not isinstance(alpha, int) else alpha)

    def __repr__(self):
        return f"MPField(dps={self.dps})"


class SympyField(Field):
    """sympy expressions (rationals, symbols); coefficients are simplified with ``sympy.cancel``."""

    name = "sympy"
    exact = True

    def __init__(self, simplify: bool = True):
        import sympy

        self.sp = sympy
        self.simplify = simplify

    def convert(self, x):
        if isinstance(x, Fraction):
            return self.sp.Rational(x.numerator, x.denominator)
        if isinstance(x, float):
            raise TypeError(f"float {x!r} in an exact computation; give a Fraction, int or sympy number")
        if isinstance(x, str | bytes):
            # user text is never evaluated: spectral.parsing.parse_exact reads numbers and formulas strictly
            raise TypeError(f"string {x!r} in an exact computation; give a Fraction, int or sympy number "
                            "(spectral.parsing.parse_exact reads text)")
        return self.sp.sympify(x, strict=True)

    def dot(self, a, b):
        return self.normalize(self.sp.Add(*[x * y for x, y in zip(a, b, strict=False)]))

    def normalize(self, x):
        if not self.simplify:
            return x
        x = self.sp.sympify(x, strict=True)
        if x.is_Rational:
            return x
        return self.sp.factor(self.sp.cancel(x))

    def log(self, x):
        return self.sp.log(x)

    def exp(self, x):
        return self.sp.exp(x)

    def power(self, x, alpha):
        return self.normalize(self.sp.Pow(x, self.convert(alpha)))

    def is_zero(self, x):
        return self.sp.sympify(x, strict=True).is_zero is True


def _is_sympy(x) -> bool:
    mod = type(x).__module__
    return mod.startswith("sympy")


def field_for(values: Sequence[Any] = (), *, precision: int | None = None, exact: bool = False,
              complex: bool = False) -> Field:  # noqa: A002
    """Pick the field for a computation.

    ``precision`` (digits) -> :class:`MPField`; ``exact`` -> :class:`FractionField` when every value
    is an int/Fraction/rational, else :class:`SympyField`; otherwise :class:`FloatField`.
    """
    if precision is not None and exact:
        raise ValueError("give either precision=<digits> or exact=True, not both")
    if precision is not None:
        return MPField(precision, complex=complex)
    if exact:
        for v in values:
            if isinstance(v, float):
                raise TypeError(f"float parameter {v!r} in an exact computation; give Fractions or integers")
            if _is_sympy(v) and not getattr(v, "is_Rational", False):
                return SympyField()
        return FractionField()
    return FloatField(np.complex128 if complex else np.float64)
