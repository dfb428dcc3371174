"""Products of layer matrices: the direct product (formed, then svdvals), and the log singular values of a list."""

from __future__ import annotations

import math

import numpy as np

from .._backend import (
    get_backend,
    to_numpy,
)
from .._backend import log0 as _log
from ..stable_product import StableProduct
from .haar import ScaledHaarFactor

#: The direct product is rescaled (by a power of 2, exactly) only once its largest entry leaves
#: [2^-RESCALE_EXPONENT, 2^RESCALE_EXPONENT]: one more layer cannot overflow from there (a layer's norm would
#: have to exceed 2^(1023 - 256)), and the entries that matter stay far above the subnormal range.
RESCALE_EXPONENT = 256

#: A largest entry in [2^-(RESCALE_EXPONENT - 1), 2^(RESCALE_EXPONENT - 1)) is inside the rescaling range with a
#: binade to spare (so however log2 rounds): the common case, decided by two comparisons without the exponents.
_QUIET_LOW = 2.0 ** -(RESCALE_EXPONENT - 1)
_QUIET_HIGH = 2.0 ** (RESCALE_EXPONENT - 1)


class DirectProduct:
    r"""Accumulate :math:`J = A_L \cdots A_1` by matrix products and take ``svdvals`` at the end.

    Whenever the largest entry of a network's product leaves :math:`[2^{-256}, 2^{256}]`
    (:data:`RESCALE_EXPONENT`) it is multiplied by a power of 2 (exact: the products are those of the
    unscaled matrices) and the log of the factor is kept, so depth never overflows; accuracy is that of
    the SVD of the formed product (absolute error :math:`\sim N\varepsilon s_{\max}` per singular value).
    """

    method = "direct: J formed by batched matrix products (rescaled by powers of 2), singular values by svdvals"

    def __init__(self, xp):
        self.xp = xp
        self.j = None
        self.owned = False  # self.j is an array of the product's own (not a caller's): may be overwritten
        self.log_scale = None

    def push(self, a):
        """Multiply the next factors ``a`` (``(B, N_l, N_{l-1})``, or a :class:`ScaledHaarFactor` after the
        first layer: :math:`A J` by ``dormqr`` in place of the product's own array) into the product."""
        xp = self.xp
        if isinstance(a, ScaledHaarFactor):
            if self.j is None:
                raise ValueError("the first factor of a DirectProduct must be an array")
            j = a.times(self.j if self.owned else self.j.copy())
        else:
            j = a if self.j is None else xp.matmul(a, self.j)
        if self.log_scale is None:
            self.log_scale = xp.zeros(j.shape[:-2], dtype=j.dtype)
        top = xp.maximum(xp.max(j, axis=(-2, -1)), -xp.min(j, axis=(-2, -1)))
        if bool(xp.all((top >= _QUIET_LOW) & (top < _QUIET_HIGH))):
            self.j, self.owned = j, j is not a
            return
        e = xp.floor(xp.log2(xp.where(top > 0, top, 1.0)))
        far = xp.abs(e) > RESCALE_EXPONENT
        if bool(xp.any(far)):
            e = xp.where(far, e, 0.0)
            j = j * (2.0 ** -e)[..., None, None]  # a new array (never the caller's); exact
            self.log_scale = self.log_scale + e * math.log(2.0)
        self.j = j
        self.owned = j is not a

    def finish(self):
        """Log singular values, shape ``(B, min(N_L, N_0))``, descending (``-inf`` for exact zeros)."""
        xp = self.xp
        sv = xp.linalg.svdvals(self.j)
        return _log(xp, sv) + self.log_scale[..., None], {}


def product_log_singular_values(factors, *, stable: bool = True, backend: str = "numpy"):
    r"""Log singular values of :math:`A_L \cdots A_1` for a list of (batches of) matrices ``[A_1, ..., A_L]``.

    ``stable=True`` uses :class:`StableProduct`, else :class:`DirectProduct`.  Input arrays of shape
    ``(N_l, N_{l-1})`` or ``(B, N_l, N_{l-1})``; returns NumPy ``(B, min_l N_l)`` (or ``(min_l N_l,)``)
    descending, ``-inf`` for exact zeros.
    """
    if not factors:
        raise ValueError("factors must contain at least one matrix")
    be = get_backend(backend)
    xp = be.xp
    single = np.ndim(factors[0]) == 2
    acc = StableProduct(xp) if stable else DirectProduct(xp)
    for a in factors:
        a = xp.asarray(np.asarray(a, dtype=float) if be.name == "numpy" else a, dtype=xp.float64)
        acc.push(a[None] if single else a)
    out, _ = acc.finish()
    out = to_numpy(out)
    return out[0] if single else out
