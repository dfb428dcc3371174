"""Products of layer matrices: the direct product (formed, then svdvals), and the log singular values of a list."""

from __future__ import annotations

import numpy as np

from .._backend import (
    get_backend,
    to_numpy,
)
from .._backend import log0 as _log
from ..stable_product import StableProduct


class DirectProduct:
    r"""Accumulate :math:`J = A_L \cdots A_1` by matrix products and take ``svdvals`` at the end.

    After each product the batch is divided by its largest entry and the log of that factor is kept,
    so depth never overflows; accuracy is that of the SVD of the formed product (absolute error
    :math:`\sim N\varepsilon s_{\max}` per singular value).
    """

    method = "direct: J formed by batched matrix products (rescaled per layer), singular values by svdvals"

    def __init__(self, xp):
        self.xp = xp
        self.j = None
        self.log_scale = None

    def push(self, a):
        xp = self.xp
        j = a if self.j is None else xp.matmul(a, self.j)
        s = xp.max(xp.abs(j), axis=(-2, -1))
        s = xp.where(s > 0, s, 1.0)
        if self.j is None:
            self.j = j / s[..., None, None]  # the caller's array: not divided in place
        else:
            j /= s[..., None, None]
            self.j = j
        self.log_scale = xp.log(s) if self.log_scale is None else self.log_scale + xp.log(s)

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
