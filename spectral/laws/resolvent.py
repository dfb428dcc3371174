r"""Sums of the resolvent :math:`r = 1/(\zeta - d)` of a discrete measure (nodes ``d``, weights ``w``) at many
points, for the quadrature laws of :math:`D^2` (docs/design.md §4.6).

The sums :math:`\sum_j r_j w_j`, :math:`\sum_j r_j w_j d_j`, :math:`\sum_j r_j^2 w_j d_j` and
:math:`\sum_j |r_j||w_j|` need the matrix of :math:`r` over points and nodes (thousands of nodes).  Formed at
once, that matrix and its square and modulus are fresh temporaries of megabytes on every call, which the
allocator maps from the system and the first write faults in page by page: at 16 points and 5776 nodes that
cost 2.3 ms a call against 0.5 ms for the arithmetic.  Here the points are taken in blocks of at most
:data:`BLOCK_ELEMENTS` matrix entries, written into buffers that each thread keeps and reuses; every point's
sums are the same dot products (one row of the matrix against the weights).  Other sums over such matrices
(the subtracted pole of ``d2_piecewise``) take the same row blocks and buffers (:func:`workspace`).
"""

from __future__ import annotations

import threading

import numpy as np

__all__ = ["BLOCK_ELEMENTS", "ResolventSums", "resolvent_sums", "workspace"]

#: Entries of the block of the resolvent matrix (complex: 2 MB), reused by each thread: large enough that a
#: block's matrix products run at full speed, small enough to stay in the cache hierarchy's outer level.
BLOCK_ELEMENTS = 1 << 17

_LOCAL = threading.local()


def workspace(name: str, rows: int, n: int, count: int, dtype=complex):
    """``count`` arrays of shape (rows, n) from the calling thread's buffers under ``name`` (grown when too
    small; their contents are whatever the last use left)."""
    need = rows * n
    held = _LOCAL.__dict__.get(name)
    if held is None or held.shape[1] < need or held.dtype != np.dtype(dtype) or held.shape[0] < count:
        held = np.empty((count, need), dtype)
        setattr(_LOCAL, name, held)
    return [held[i, :need].reshape(rows, n) for i in range(count)]


class ResolventSums:
    r"""The weights of one discrete measure in the forms the sums take: ``w``, ``wd`` = :math:`w d`,
    ``aw`` = :math:`|w|`, ``awd`` = :math:`|w d|` (computed once per measure)."""

    def __init__(self, d, w):
        self.d = np.asarray(d)
        self.w = np.asarray(w)
        self.wd = self.w * self.d
        self.aw = np.abs(self.w)
        self.awd = np.abs(self.wd)


def resolvent_sums(z, meas: ResolventSums, *, full: bool = True):
    r"""At the points ``z`` (1-d complex): ``(sum r w, sum r w d, -sum r^2 w d, sum |r| |w|, sum |r| |w d|)``
    with :math:`r = 1/(z - d)`; with ``full`` False only the second (:math:`M`), the others None."""
    n = meas.d.size
    p = z.size
    g = np.empty(p, complex) if full else None
    m = np.empty(p, complex)
    dm = np.empty(p, complex) if full else None
    ag = np.empty(p) if full else None
    am = np.empty(p) if full else None
    step = max(1, BLOCK_ELEMENTS // max(n, 1))
    for a in range(0, p, step):
        b = min(p, a + step)
        r, = workspace("resolvent", b - a, n, 1)
        absr, = workspace("resolvent_abs", b - a, n, 1, float)
        np.subtract(z[a:b, None], meas.d[None, :], out=r)
        np.divide(1.0, r, out=r)
        m[a:b] = r @ meas.wd
        if full:
            g[a:b] = r @ meas.w
            np.abs(r, out=absr)
            ag[a:b] = absr @ meas.aw
            am[a:b] = absr @ meas.awd
            np.multiply(r, r, out=r)
            dm[a:b] = -(r @ meas.wd)
    return g, m, dm, ag, am
