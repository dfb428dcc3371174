r"""The :class:`Activation` record and its array-namespace helpers (NumPy, CuPy, ... via array-api-compat)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np
import sympy

#: The sympy symbol in which every ``Activation.expr`` is written.
X = sympy.Symbol("x", real=True)

_SQRT2 = math.sqrt(2.0)
_INV_SQRT2PI = 1.0 / math.sqrt(2.0 * math.pi)
#: SELU constants (Klambauer et al. 2017), 31 significant digits.
SELU_LAMBDA = Fraction("1.050700987355480493419334985294")
SELU_ALPHA = Fraction("1.673263242354377284817042991672")


# ------------------------------------------------------------------------------ array namespace
def _ns(x):
    """(namespace, array): NumPy for Python/NumPy inputs (as float arrays), else the array's namespace."""
    if isinstance(x, np.ndarray | np.generic | float | int | list | tuple):
        return np, np.asarray(x, dtype=float)
    from array_api_compat import array_namespace, is_numpy_namespace

    xp = array_namespace(x)
    if is_numpy_namespace(xp):
        return np, np.asarray(x, dtype=float)
    return xp, x


def _special(xp, fname):
    """erf/erfc for a namespace (scipy.special for NumPy, cupyx.scipy.special for CuPy)."""
    if xp is np:
        import scipy.special as sc

        return getattr(sc, fname)
    from array_api_compat import is_cupy_namespace

    if is_cupy_namespace(xp):
        import cupyx.scipy.special as csc

        return getattr(csc, fname)
    raise TypeError(f"{fname} is not available for arrays of namespace {xp.__name__}; use NumPy or CuPy arrays")


def _sigmoid(xp, x):
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _npdf(xp, x):
    return _INV_SQRT2PI * xp.exp(-0.5 * x * x)


def _ncdf(xp, x):
    return 0.5 * _special(xp, "erfc")(-x / _SQRT2)


# ------------------------------------------------------------------------------ the dataclass
@dataclass(frozen=True)
class Activation:
    r"""An activation function with its derivatives and the data that mean field and laws need.

    Attributes
    ----------
    name : str
        Canonical name, e.g. ``"tanh"``, ``"leaky_relu(alpha=1/10)"``.
    phi, dphi, ddphi : callable
        Vectorized :math:`\phi, \phi', \phi''` (NumPy or any array-API namespace). ``ddphi`` is ``None``
        for a custom activation whose second derivative is unknown (then :math:`\chi_2` is NaN).
        At a kink, ``dphi`` returns the right limit and ``ddphi`` omits the Dirac masses.
    expr : sympy.Expr or None
        :math:`\phi` in :data:`X` (``Symbol("x", real=True)``); None if unknown.
    kinks : tuple of float
        Points where :math:`\phi'` is discontinuous (relu ``(0.0,)``, hard_tanh ``(-1.0, 1.0)``).
    pieces : tuple of (lo, hi, slope) or None
        If :math:`\phi'` is piecewise constant: intervals covering the real line with the value of
        :math:`\phi'` on each, e.g. relu ``((-inf, 0, 0.0), (0, inf, 1.0))``; None otherwise.
    params : tuple of (name, value)
        Parameters as given (exact rationals kept), e.g. ``(("alpha", Fraction(1, 10)),)``.
    family : str
        Registry key that built it (``"custom"`` otherwise); closed-form Gaussian expectations dispatch on it.
    breakpoints : tuple of float
        Points where :math:`\phi` is not analytic (kinks, and jumps of higher derivatives such as elu's
        :math:`\phi''` at 0); Gaussian quadrature is split there.

    Equality compares name, expression, kinks, pieces, params and family (not the function objects).
    """

    name: str
    phi: Callable = field(compare=False, repr=False)
    dphi: Callable = field(compare=False, repr=False)
    ddphi: Callable | None = field(compare=False, repr=False)
    expr: sympy.Expr | None = None
    kinks: tuple[float, ...] = ()
    pieces: tuple[tuple[float, float, float], ...] | None = None
    params: tuple[tuple[str, Any], ...] = ()
    family: str = "custom"
    breakpoints: tuple[float, ...] = ()

    def __post_init__(self):
        if not self.breakpoints and self.kinks:
            object.__setattr__(self, "breakpoints", tuple(self.kinks))

    def __call__(self, x):
        return self.phi(x)

    @property
    def param_dict(self) -> dict:
        return dict(self.params)

    def dphi_squared_law(self, q):
        r"""Atoms of the law of :math:`\phi'(\sqrt q\, z)^2`, :math:`z \sim N(0, 1)`, if :math:`\phi'` is
        piecewise constant; else None.

        Returns ``((value, probability), ...)`` sorted by value, equal values merged, zero-mass atoms
        dropped.  Values are exact (int/Fraction) when the slopes are exact parameters, probabilities
        are :class:`~fractions.Fraction` when every breakpoint is 0 or infinite (relu: 1/2 each), else
        floats computed with erf/erfc (hard_tanh: :math:`p = \operatorname{erf}(1/\sqrt{2q})` at value 1).
        ``q = 0`` gives the limit :math:`q \to 0^+`.
        """
        if self.pieces is None:
            return None
        q = _check_q(q)
        exact_slopes = {float(v): v for _, v in self.params if isinstance(v, int | Fraction)}
        atoms: dict = {}
        for lo, hi, slope in self.pieces:
            s = exact_slopes.get(float(slope), slope)
            if float(s).is_integer():
                s = int(s)
            val = s * s
            pr = _interval_prob(lo, hi, q)
            atoms[val] = atoms.get(val, 0) + pr
        return tuple((v, p) for v, p in sorted(atoms.items(), key=lambda t: float(t[0])) if p != 0)


def _check_q(q) -> float:
    try:
        qf = float(q)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"q must be a real number >= 0, got {q!r}") from exc
    if not math.isfinite(qf) or qf < 0:
        raise ValueError(f"q (the pre-activation variance) must be finite and >= 0, got {q!r}")
    return qf


def _interval_prob(lo, hi, q):
    """P(lo < sqrt(q) z < hi): Fraction when the breakpoints are 0/inf, else float (erfc, no cancellation)."""
    lo, hi = float(lo), float(hi)
    if all(b in (-math.inf, 0.0, math.inf) for b in (lo, hi)):
        half = {-math.inf: Fraction(0), 0.0: Fraction(1, 2), math.inf: Fraction(1)}
        return half[hi] - half[lo]

    def t(b):
        if math.isinf(b) or b == 0.0:
            return b
        return b / math.sqrt(q) if q > 0 else math.copysign(math.inf, b)

    a, b = t(lo), t(hi)
    if a >= 0:  # both in the right tail: difference of upper tails
        return 0.5 * (math.erfc(a / _SQRT2) - math.erfc(b / _SQRT2))
    if b <= 0:
        return 0.5 * (math.erfc(-b / _SQRT2) - math.erfc(-a / _SQRT2))
    return 1.0 - 0.5 * math.erfc(-a / _SQRT2) - 0.5 * math.erfc(b / _SQRT2)
