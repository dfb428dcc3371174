"""The four transforms a law of :math:`D^2` serves the density solver (:math:`\\zeta G`, M, M' and the rounding bound
of :math:`\\zeta G`; the callables of an :class:`~spectral.density.ImplicitFactor`), from one computation per set of
points: the solver asks for them in turn at the same points, so the last call's values are kept."""

from __future__ import annotations

import math

import numpy as np


class CachedTransforms:
    """A law's ``transforms``, ``g1``, ``m``, ``dm``, ``noise`` from its ``_compute(zeta)`` (complex array ->
    (zeta G, M, M', noise)), the last call's values served again at the same points."""

    _last: tuple = (None, None)

    def _compute(self, zeta):
        raise NotImplementedError

    def _cached(self, zeta):
        """The last call's values if it was at the points ``zeta`` (a complex array), else None."""
        key, val = self._last
        if key is not None and key.shape == zeta.shape and np.array_equal(key, zeta):
            return val
        return None

    def _eval(self, zeta):
        zeta = np.asarray(zeta, dtype=complex)
        val = self._cached(zeta)
        if val is not None:
            return val
        val = self._compute(zeta)
        self._last = (zeta.copy(), val)
        return val

    def transforms(self, zeta):
        """(zeta G, M, M', the rounding bound of zeta G) at ``zeta``: one computation."""
        return self._eval(zeta)

    def g1(self, zeta):
        r""":math:`1 + M(\zeta) = \zeta G(\zeta)`."""
        return self._eval(zeta)[0]

    def m(self, zeta):
        return self._eval(zeta)[1]

    def dm(self, zeta):
        return self._eval(zeta)[2]

    def noise(self, zeta):
        """The absolute rounding bound of :meth:`g1`."""
        return self._eval(zeta)[3]


def phi_prime_match(activation, pattern):
    r"""(a, b), real, finite and a nonzero, where the activation's :math:`\phi'` (the sympy derivative of its
    one-variable expression, as it is) matches ``pattern(a, b, x)``, else None (no expression, no match, or
    constants that are not such numbers): how the exact laws of :math:`D^2` recognise their activations."""
    import sympy

    expr = getattr(activation, "expr", None)
    if expr is None or len(expr.free_symbols) != 1:
        return None
    x = next(iter(expr.free_symbols))
    a, b = sympy.Wild("a", exclude=[x]), sympy.Wild("b", exclude=[x])
    match = sympy.diff(expr, x).match(pattern(a, b, x))
    if not match:
        return None
    try:
        va, vb = float(match[a]), float(match[b])
    except (TypeError, KeyError):
        return None
    if not (math.isfinite(va) and math.isfinite(vb)) or va == 0:
        return None
    return va, vb
