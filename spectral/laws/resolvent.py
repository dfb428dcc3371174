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

For a real measure (real nodes and weights, the laws of :math:`D^2`) the sums are formed in real arithmetic:
with :math:`\zeta = a + ib`, :math:`u = a - d` and :math:`v = 1/(u^2 + b^2)`,

.. math::

    r = uv - ibv, \qquad |r| = \sqrt v, \qquad r^2 = (2(uv)^2 - v) - 2ib\,(uv)v,

so each block is a handful of real passes and real matrix products in place of the complex division, modulus and
square (each term is still within a few eps of :math:`|r|` or :math:`|r|^2`: the rounding the sums' size terms
bound).  A point whose squares could leave the float range (:math:`|\zeta|` outside :data:`_REAL_RANGE`, or a
tiny nonzero :math:`b`) takes the complex form.
"""

from __future__ import annotations

import threading

import numpy as np

__all__ = ["BLOCK_ELEMENTS", "ResolventSums", "resolvent_sums", "workspace"]

#: Entries of the block of the resolvent matrix (complex: 2 MB), reused by each thread: large enough that a
#: block's matrix products run at full speed, small enough to stay in the cache hierarchy's outer level.
BLOCK_ELEMENTS = 1 << 17

#: |zeta| (and |Im zeta| where nonzero) inside which the real form's squares (u^2 + b^2, u = Re zeta - d) stay
#: normal floats: u is 0 or at least the spacing of floats at the smaller of |Re zeta| and d, so its square is
#: at least 1e-232 here; nodes beyond the upper bound send every point to the complex form.
_REAL_RANGE = (1e-100, 1e100)

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
        # the real form (module docstring): real nodes and weights inside the range
        self.real = bool(not np.iscomplexobj(self.d) and not np.iscomplexobj(self.w) and self.d.size
                         and np.all(np.abs(self.d) < _REAL_RANGE[1]))


def resolvent_sums(z, meas: ResolventSums, *, full: bool = True):
    r"""At the points ``z`` (1-d complex): ``(sum r w, sum r w d, -sum r^2 w d, sum |r| |w|, sum |r| |w d|)``
    with :math:`r = 1/(z - d)`; with ``full`` False only the second (:math:`M`), the others None."""
    z = np.asarray(z, dtype=complex)
    p = z.size
    g = np.empty(p, complex) if full else None
    m = np.empty(p, complex)
    dm = np.empty(p, complex) if full else None
    ag = np.empty(p) if full else None
    am = np.empty(p) if full else None
    out = (g, m, dm, ag, am)
    if meas.real:
        az, bz = np.abs(z), np.abs(z.imag)
        cplx = ~((az >= _REAL_RANGE[0]) & (az <= _REAL_RANGE[1]) & ((bz == 0) | (bz >= _REAL_RANGE[0])))
        cplx &= np.isfinite(z)  # a non-finite point gives NaN in either form
        if np.any(cplx):
            rows = np.flatnonzero(~cplx)
            _blocks(_real_block, z[rows], meas, full, out, rows)
            rows = np.flatnonzero(cplx)
            _blocks(_complex_block, z[rows], meas, full, out, rows)
        else:
            _blocks(_real_block, z, meas, full, out, None)
    else:
        _blocks(_complex_block, z, meas, full, out, None)
    return out


def _blocks(block, z, meas, full, out, rows):
    """``block`` over row blocks of ``z``, written into ``out`` at ``rows`` (None: at 0, 1, ...)."""
    step = max(1, BLOCK_ELEMENTS // max(meas.d.size, 1))
    for a in range(0, z.size, step):
        b = min(z.size, a + step)
        res = block(z[a:b], meas, full)
        at = slice(a, b) if rows is None else rows[a:b]
        for o, r in zip(out, res, strict=True):
            if o is not None:
                o[at] = r


def _complex_block(z, meas, full):
    """The five sums of a row block in complex arithmetic (any measure)."""
    r, = workspace("resolvent", z.size, meas.d.size, 1)
    np.subtract(z[:, None], meas.d[None, :], out=r)
    np.divide(1.0, r, out=r)
    m = r @ meas.wd
    if not full:
        return None, m, None, None, None
    absr, = workspace("resolvent_abs", z.size, meas.d.size, 1, float)
    g = r @ meas.w
    np.abs(r, out=absr)
    ag = absr @ meas.aw
    am = absr @ meas.awd
    np.multiply(r, r, out=r)
    dm = -(r @ meas.wd)
    return g, m, dm, ag, am


def _real_block(z, meas, full):
    """The five sums of a row block in real arithmetic (module docstring; a real measure, points in range).
    Every sum is a matrix-vector product (BLAS gemv; a product with the two weight vectors side by side as
    one (n, 2) matrix takes numpy's slower general loop)."""
    a, b = z.real, z.imag
    u, v, t = workspace("resolvent_real", z.size, meas.d.size, 3, float)
    np.subtract(a[:, None], meas.d[None, :], out=u)
    np.multiply(u, u, out=v)
    v += (b * b)[:, None]
    np.divide(1.0, v, out=v)          # v = |r|^2
    np.multiply(u, v, out=u)          # u v = Re r; Im r = -b |r|^2
    m = u @ meas.wd - 1j * b * (v @ meas.wd)
    if not full:
        return None, m, None, None, None
    vwd = v @ meas.wd
    g = u @ meas.w - 1j * b * (v @ meas.w)
    np.multiply(u, u, out=t)          # (Re r)^2
    sq = t @ meas.wd
    np.multiply(u, v, out=t)          # Re r |r|^2
    cross = t @ meas.wd
    np.sqrt(v, out=t)                 # |r|
    # -sum r^2 w d with r^2 = (2 (Re r)^2 - |r|^2) - 2 i b Re r |r|^2
    dm = -(2.0 * sq - vwd) + 2j * b * cross
    return g, m, dm, t @ meas.aw, t @ meas.awd
