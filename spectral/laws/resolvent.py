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

The sums are formed in real arithmetic, the real and imaginary parts in separate arrays: with
:math:`\zeta - d = u + is` (u, s real; :math:`s = \operatorname{Im}\zeta` for real nodes) and
:math:`v = 1/(u^2 + s^2)`,

.. math::

    r = P - iQ, \quad P = uv, \quad Q = sv, \qquad |r| = \sqrt v, \qquad r^2 = (P^2 - Q^2) - 2iPQ,

so each block is a handful of real passes and real matrix-vector products (the real and imaginary parts of the
weights separately) in place of numpy's complex division, modulus and square, whose loops run several times
slower.  Each term is still within a few eps of :math:`|r|` or :math:`|r|^2` times its weight: the rounding that
the sums' size terms bound.  A point whose :math:`u^2 + s^2` could leave the normal floats (:math:`|\zeta|`
outside :data:`_PLANAR_RANGE`, or :math:`u^2 + s^2` below :data:`_DEN_MIN` at some node) takes the complex form.
"""

from __future__ import annotations

import threading

import numpy as np

__all__ = ["BLOCK_ELEMENTS", "ResolventSums", "resolvent_sums", "workspace"]

#: Entries of the block of the resolvent matrix (complex: 2 MB), reused by each thread: large enough that a
#: block's matrix products run at full speed, small enough to stay in the cache hierarchy's outer level.
BLOCK_ELEMENTS = 1 << 17

#: |zeta| inside which the planar form serves a point (nodes beyond the upper bound send every point to the complex
#: form): its u^2 + s^2 stays below the float range's top.
_PLANAR_RANGE = (1e-100, 1e100)

#: Smallest u^2 + s^2 the planar form takes at a point (below, the squares have lost digits to underflow: the point
#: takes the complex form, whose division scales).
_DEN_MIN = 1e-280

#: Matrix entries (points x nodes) up to which a call takes the complex form in one block: there numpy's fixed
#: cost per call outweighs the arithmetic, and the complex form makes the fewest calls (measured: 10-40 us
#: against 30-100 us for the planar form; the planar form is faster from about 1e4 entries on).
_SMALL_ENTRIES = 1 << 13

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
        # the planar form (module docstring): finite nodes and weights, nodes inside the range; real ones take
        # the shorter real block
        self.real = not np.iscomplexobj(self.d) and not np.iscomplexobj(self.w)
        self.planar = bool(self.d.size and np.all(np.isfinite(self.d)) and np.all(np.isfinite(self.w))
                           and np.all(np.abs(self.d) < _PLANAR_RANGE[1]))
        if self.planar and not self.real:
            self.d_re, self.d_im = (np.ascontiguousarray(x, dtype=float) for x in (self.d.real, self.d.imag))
            self.w_re, self.w_im, self.wd_re, self.wd_im = (np.ascontiguousarray(x, dtype=float) for x in (
                self.w.real, self.w.imag, self.wd.real, self.wd.imag))


def resolvent_sums(z, meas: ResolventSums, *, full: bool = True):
    r"""At the points ``z`` (1-d complex): ``(sum r w, sum r w d, -sum r^2 w d, sum |r| |w|, sum |r| |w d|)``
    with :math:`r = 1/(z - d)`; with ``full`` False only the second (:math:`M`), the others None."""
    z = np.asarray(z, dtype=complex)
    p = z.size
    if p * meas.d.size <= _SMALL_ENTRIES:
        return _complex_block(z, meas, full)[0]
    g = np.empty(p, complex) if full else None
    m = np.empty(p, complex)
    dm = np.empty(p, complex) if full else None
    ag = np.empty(p) if full else None
    am = np.empty(p) if full else None
    out = (g, m, dm, ag, am)
    if not meas.planar:
        _blocks(_complex_block, z, meas, full, out, np.arange(p))
        return out
    az = np.abs(z)
    planar = (az >= _PLANAR_RANGE[0]) & (az <= _PLANAR_RANGE[1])
    block = _real_block if meas.real else _planar_block
    rows = planar.nonzero()[0]
    # a non-finite point takes the complex form (NaN, as in either form)
    refused = _blocks(block, z[rows], meas, full, out, rows)
    rest = np.concatenate([(~planar).nonzero()[0], refused])
    if rest.size:
        _blocks(_complex_block, z[rest], meas, full, out, rest)
    return out


def _blocks(block, z, meas, full, out, rows):
    """``block`` over row blocks of ``z``, written into ``out`` at ``rows``; returns the rows the block refused
    (their sums are left for the complex form)."""
    step = max(1, BLOCK_ELEMENTS // max(meas.d.size, 1))
    refused = []
    for a in range(0, z.size, step):
        b = min(z.size, a + step)
        res, ok = block(z[a:b], meas, full)
        at = rows[a:b]
        if ok is not None:
            refused.append(at[~ok])
            at, res = at[ok], [None if r is None else r[ok] for r in res]
        for o, r in zip(out, res, strict=True):
            if o is not None:
                o[at] = r
    return np.concatenate(refused) if refused else np.zeros(0, int)


def _complex_block(z, meas, full):
    """The five sums of a row block in complex arithmetic (any measure, any point)."""
    r, = workspace("resolvent", z.size, meas.d.size, 1)
    np.subtract(z[:, None], meas.d[None, :], out=r)
    np.divide(1.0, r, out=r)
    m = r @ meas.wd
    if not full:
        return (None, m, None, None, None), None
    absr, = workspace("resolvent_abs", z.size, meas.d.size, 1, float)
    g = r @ meas.w
    np.abs(r, out=absr)
    ag = absr @ meas.aw
    am = absr @ meas.awd
    np.multiply(r, r, out=r)
    dm = -(r @ meas.wd)
    return (g, m, dm, ag, am), None


def _inverse_square(u, s, v, t):
    """v = 1/(u^2 + s^2) in place (s: an array, or a column of the points' Im zeta); the rows whose u^2 + s^2
    stays above :data:`_DEN_MIN` at every node."""
    np.multiply(u, u, out=v)
    if isinstance(s, np.ndarray) and s.shape == u.shape:
        np.multiply(s, s, out=t)
        v += t
    else:
        v += s * s
    ok = v.min(axis=1) >= _DEN_MIN
    np.divide(1.0, v, out=v)
    return ok


def _real_block(z, meas, full):
    """The five sums of a row block of a real measure (module docstring, s = Im zeta).  Every sum is a
    matrix-vector product (BLAS gemv)."""
    a, b = z.real, z.imag
    u, v, t = workspace("resolvent_real", z.size, meas.d.size, 3, float)
    np.subtract(a[:, None], meas.d[None, :], out=u)
    ok = _inverse_square(u, b[:, None], v, t)   # v = |r|^2
    np.multiply(u, v, out=u)          # u v = Re r; Im r = -b |r|^2
    m = u @ meas.wd - 1j * b * (v @ meas.wd)
    if not full:
        return (None, m, None, None, None), ok
    vwd = v @ meas.wd
    g = u @ meas.w - 1j * b * (v @ meas.w)
    np.multiply(u, u, out=t)          # (Re r)^2
    sq = t @ meas.wd
    np.multiply(u, v, out=t)          # Re r |r|^2
    cross = t @ meas.wd
    np.sqrt(v, out=t)                 # |r|
    # -sum r^2 w d with r^2 = (2 (Re r)^2 - |r|^2) - 2 i b Re r |r|^2
    dm = -(2.0 * sq - vwd) + 2j * b * cross
    return (g, m, dm, t @ meas.aw, t @ meas.awd), ok


def _planar_block(z, meas, full):
    """The five sums of a row block of a complex measure (module docstring): r = P - iQ, the weights' real and
    imaginary parts in separate products."""
    u, s, v, t = workspace("resolvent_planar", z.size, meas.d.size, 4, float)
    np.subtract(z.real[:, None], meas.d_re[None, :], out=u)
    np.subtract(z.imag[:, None], meas.d_im[None, :], out=s)
    ok = _inverse_square(u, s, v, t)  # v = |r|^2
    np.multiply(u, v, out=u)          # P
    np.multiply(s, v, out=s)          # Q
    m = (u @ meas.wd_re + s @ meas.wd_im) + 1j * (u @ meas.wd_im - s @ meas.wd_re)
    if not full:
        return (None, m, None, None, None), ok
    g = (u @ meas.w_re + s @ meas.w_im) + 1j * (u @ meas.w_im - s @ meas.w_re)
    np.sqrt(v, out=t)                 # |r|
    ag, am = t @ meas.aw, t @ meas.awd
    np.multiply(u, s, out=t)          # P Q
    pq_re, pq_im = t @ meas.wd_re, t @ meas.wd_im
    np.multiply(u, u, out=v)
    np.multiply(s, s, out=t)
    np.subtract(v, t, out=v)          # P^2 - Q^2
    sq_re, sq_im = v @ meas.wd_re, v @ meas.wd_im
    # -sum r^2 w d with r^2 = (P^2 - Q^2) - 2i P Q
    dm = -((sq_re + 2.0 * pq_im) + 1j * (sq_im - 2.0 * pq_re))
    return (g, m, dm, ag, am), ok
