r"""Stable product of many matrices: singular values of :math:`A_L \cdots A_1` to high relative accuracy
at any depth, with the scales kept as logs.

Pivoted product QR of determinant quantum Monte Carlo (Loh & Gubernatis 1992; pre-pivoting by column
norms, Bai, Lee, Li & Xu 2011), :math:`A_l \cdots A_1 = Q_l\, \operatorname{diag}(e^{\ell_l})\, T_l`,
then the singular values of the graded :math:`\operatorname{diag}(e^{\ell}) T` (:mod:`spectral.graded_svd`:
zero-shift QR sweeps in log-scaled form, then per cluster of coupled scales the bidiagonal SVD where it keeps
relative accuracy and one-sided Jacobi SVD otherwise).

Each QR step of a square layer at least :data:`IMPLICIT_Q_MIN_WIDTH` wide keeps :math:`Q` as LAPACK
Householder reflectors and applies it to the next layer by ``dormqr`` (:math:`A Q` without forming
:math:`Q`).  A caller that can draw the next factor already rotated (:math:`A Q` with the law of
:math:`A`: the sampler's Gaussian and Haar layers) pushes it with ``rotated`` (:meth:`StableProduct.rotatable`,
:meth:`StableProduct.rotate_input` for :math:`Q^T x`), and no product with :math:`Q` is taken.

Stabilisation interval
----------------------
A QR step is needed only where plain products would lose relative accuracy, so layers are multiplied
directly into :math:`C = A_j \cdots A_{i+1} Q_i` (rescaled by its largest entry, the log kept) and the
QR step is taken once the block's estimated log-range reaches :data:`BLOCK_LOG_RANGE` nats (the
stabilisation interval of determinant QMC).  The estimate is cheap: a QR step returns the increments
:math:`\log|R_{jj}|` of the graded scales, whose spread over the block, divided by the number of layers
in it, is the rate at which the block separates directions (the spread of the finite-time Lyapunov
exponents); the next block of that network has :math:`\lfloor` :data:`BLOCK_LOG_RANGE` /
(:data:`BLOCK_RATE_MARGIN` :math:`\times` rate) :math:`\rfloor` layers, at least 1 and at most
:data:`MAX_BLOCK_LAYERS`.  Within a block the columns of :math:`C` carry relative errors of about
:math:`\varepsilon\, e^{\text{log-range}}` (Householder QR of the graded :math:`C\, \operatorname{diag}
(e^{\ell})` is column-wise backward stable), so a block log-range of :data:`BLOCK_LOG_RANGE` keeps them
at :math:`\lesssim 10^{-12}`.  The estimate extrapolates, so a block can overshoot (a badly conditioned
layer; small widths): the realised spread of every block is kept (``widest_block_log_range`` in the
diagnostics; the error grows about like :math:`\varepsilon\, e^{1.2 \times \text{spread}}`: 2e-11 at
10 nats, 2e-9 at 13 nats, measured at N = 256).  Against mpmath products (N = 6-12, depth 300-1000)
the blocked product is within 6e-12 in :math:`\log s`, the per-layer one within 1e-12; on the sampler's
own width-8 critical tanh networks (Gaussian, depth 200, 8 networks) the blocked product was off by up to
2.3e-9 (blocks overshooting at this small width), the per-layer one by at most 2e-12.  Gaussian layers of
width :math:`\gtrsim 64` spread the scales by about :math:`\log 2N` nats each, more than the budget, so
they keep a QR step (nearly) every layer; Haar layers spread them only through :math:`D` and are blocked.
The interval of each network depends only on that network's own matrices, never on the batch it is
computed in.

References
----------
E. Y. Loh and J. E. Gubernatis, "Stable numerical simulations of models of interacting electrons", in
Electronic Phase Transitions (1992).
Z. Bai, C.-R. Lee, R.-C. Li and S. Xu, "Stable solutions of linear systems involving long chain of matrix
multiplications", Linear Algebra Appl. 435 (2011).
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np

from ._backend import log0 as _log
from ._backend import qr as _qr
from ._backend import to_numpy
from .graded_svd import (  # noqa: F401 - re-exported: the last stage of the stable product
    BIDIAGONAL_SVD_REL_TOL,
    CLUSTER_LOG_RANGE,
    COUPLING_TOL,
    GRADED_BIDIAGONAL_MAX_COND,
    GRADED_BIDIAGONAL_MAX_RISE,
    graded_log_singular_values,
)

__all__ = ["StableProduct", "graded_log_singular_values", "BLOCK_LOG_RANGE", "BLOCK_RATE_MARGIN",
           "MAX_BLOCK_LAYERS", "IMPLICIT_Q_MIN_WIDTH", "COUPLING_TOL", "CLUSTER_LOG_RANGE", "BIDIAGONAL_SVD_REL_TOL",
           "GRADED_BIDIAGONAL_MAX_COND", "GRADED_BIDIAGONAL_MAX_RISE"]

#: Log-range (nats) a block of directly multiplied layers may reach before the QR step: column errors
#: :math:`\varepsilon e^{8} \approx 7 \times 10^{-13}` relative, below the 1e-12 the product is tested to.
BLOCK_LOG_RANGE = 8.0
#: Safety factor on the measured rate of the previous block (the spread of finite-time Lyapunov exponents
#: fluctuates from block to block; a factor 2 covers the fluctuations measured at N = 8..512).
BLOCK_RATE_MARGIN = 2.0
#: Longest block (layers); beyond this the saving per layer is small and the estimate is extrapolated far.
MAX_BLOCK_LAYERS = 16
#: Largest spread (nats) of the scales for which :math:`M` of a QR step is formed by two diagonal scalings
#: of :math:`R` with :math:`u = e^{\ell - \max \ell}` (no exponential per entry): :math:`e^{-600}
#: \approx 10^{-261}` is still a normal float, so :math:`u` keeps full relative precision.
FACTORED_SCALE_RANGE = 600.0
#: First block of every network (no rate measured yet): one layer, i.e. the QR step after layer 1.
FIRST_BLOCK_LAYERS = 1


class StableProduct:
    r"""Pivoted product QR with log-scales: :math:`A_l \cdots A_1 = Q\,\operatorname{diag}(e^{\ell})\,T`.

    One step (Loh & Gubernatis 1992; Bai et al. 2011, pre-pivoting), taken at the end of each block of
    layers (module docstring): :math:`C = A_j \cdots A_{i+1} Q` (formed by plain products, rescaled,
    log-scale :math:`c` kept); order the columns by :math:`\log\|c_j\| + c + \ell_j` (descending) and the
    exactly-zero rows of :math:`C` last; Householder QR :math:`C P = Q' R` (column scaling commutes with
    QR, so the scales never enter a floating-point product); :math:`\ell' = \ell_P + c + \log|R_{ii}|`,

    .. math:: T' = M P^T T, \qquad M_{ij} = \frac{R_{ij}}{R_{ii}} e^{\ell_{P,j} - \ell_{P,i}} \quad (j \ge i),

    :math:`Q' \leftarrow Q' \operatorname{diag}(\operatorname{sign} R_{ii})`.  Zero rows at the bottom make
    Householder QR return exact zeros in :math:`R`, so structural zero singular values stay exactly zero
    (:math:`\ell = -\infty`) instead of polluting the small ones with rounding; a block therefore ends at
    any layer that leaves an exactly-zero row in :math:`C` (relu), and wherever the rank
    :math:`k_l = \min(N_0, \dots, N_l)` drops (reduced QR, :math:`Q` is :math:`N_l \times k_l`).
    The singular values of :math:`\operatorname{diag}(e^\ell) T` are extracted by
    :func:`graded_log_singular_values`.

    ``block_log_range=0`` takes the QR step after every layer (the unblocked product).
    """

    method = ("stable: pivoted product QR with log-scales (Loh-Gubernatis/Bai et al. pre-pivoting) every few "
              "layers, graded zero-shift QR sweeps and clustered SVD")

    def __init__(self, xp, *, max_sweeps: int = 80, block_log_range: float = BLOCK_LOG_RANGE):
        self.xp = xp
        self.c = None  # (B, N_l, k): A_j ... A_{i+1} Q_i / e^{c_log}; Q_i itself right after a QR step
        # per network, Q_i in Householder form right after a QR step that kept it so (None: Q_i is in c)
        self.reflectors: list[_Reflectors | None] | None = None
        self.c_log = None  # (B,)
        self.logd = None  # (B, k)
        self.t = None  # (B, k, N_0); None means the identity (before the first QR step)
        self.layers = None  # (B,) layers multiplied into c since the last QR step
        self.limit = None  # (B,) length of the current block
        self.steps = 0
        self.longest = 0
        self.widest = 0.0  # largest realised log-range (spread of the increments) of a block
        self.max_sweeps = max_sweeps
        self.block_log_range = float(block_log_range)

    def rotatable(self):
        r"""Networks whose next factor may be pushed already rotated (``push(a, rotated=...)``): a QR step
        ended their last block and its :math:`Q` is square (:math:`k = N_{l-1}`; the rank never dropped).
        Boolean array ``(B,)``; all False before the first QR step."""
        xp = self.xp
        if self.t is None or self.c.shape[-2] != self.logd.shape[-1]:
            return xp.zeros((0 if self.layers is None else self.layers.shape[0],), dtype=xp.bool)
        return self.layers == 0

    def rotate_input(self, x, mask):
        r""":math:`Q^T x` for the networks ``mask`` (a subset of :meth:`rotatable`), ``x`` unchanged for the
        others: ``x`` ``(B, N)``, one vector per network.

        With :math:`A_l = D_l W'_l Q^T` the pre-activations :math:`W_l x = W'_l (Q^T x)` cost a
        matrix-vector product, and :math:`\|Q^T x\| = \|x\|`.  Reflectors: :math:`Q^T x =
        \operatorname{diag}(\text{signs})\, H_n \cdots H_1\, \Pi^T x` (LAPACK ``dormqr``, :math:`O(N^2)`)."""
        xp = self.xp
        self._check_rotated(mask)
        sel = to_numpy(mask)
        if self.reflectors is None:
            y = xp.matmul(xp.matrix_transpose(self.c), x[..., None])[..., 0]
            return xp.where(mask[:, None], y, x)
        y = np.array(x, copy=True)
        for i in np.nonzero(sel)[0].tolist():
            r = self.reflectors[i]
            y[i] = self.c[i].T @ x[i] if r is None else r.transpose_times_vector(x[i])
        return y

    def _check_rotated(self, mask):
        allowed = self.rotatable()
        if mask.shape != allowed.shape or bool(self.xp.any(mask & ~allowed)):
            raise ValueError("rotated factors are allowed only for the networks StableProduct.rotatable() "
                             "names (right after a QR step with a square Q); push them unrotated")

    def push(self, a, rotated=None):
        r"""Multiply the next factors :math:`A` (``(B, N_l, N_{l-1})``) into the product.

        ``rotated``: boolean ``(B,)`` (a subset of :meth:`rotatable`), the networks whose ``a`` is already
        :math:`A Q` (the caller drew :math:`W' = W Q` directly, :mod:`spectral.montecarlo.sampler`): no
        product with :math:`Q` is taken for them."""
        xp = self.xp
        if rotated is not None:
            self._check_rotated(rotated)
        if self.logd is None:
            b, _n_out, k = a.shape
            c = a
            self.c_log = xp.zeros((b,), dtype=a.dtype)
            self.logd = xp.zeros((b, k), dtype=a.dtype)
            self.layers = xp.zeros((b,), dtype=xp.int64)
            self.limit = xp.full((b,), FIRST_BLOCK_LAYERS, dtype=xp.int64)
        elif rotated is not None and bool(xp.all(rotated)):
            self.reflectors = None
            c = a
        elif self.reflectors is None and rotated is None:
            c = xp.matmul(a, self.c)
        elif not isinstance(a, np.ndarray):  # other backends keep Q formed
            c = xp.where(rotated[:, None, None], a, xp.matmul(a, self.c))
        else:
            refl, self.reflectors = self.reflectors or [None] * a.shape[0], None
            rot = np.zeros(a.shape[0], dtype=bool) if rotated is None else to_numpy(rotated)
            c = np.empty(a.shape[:-1] + (self.logd.shape[-1],))
            for i, r in enumerate(refl):
                c[i] = a[i] if rot[i] else a[i] @ self.c[i] if r is None else r.right_times(a[i])
        s = xp.max(xp.abs(c), axis=(-2, -1))
        s = xp.where(s > 0, s, 1.0)
        if c is a:
            c = c / s[..., None, None]  # the caller's array: not divided in place
        else:
            c /= s[..., None, None]
        self.c = c
        self.c_log = self.c_log + xp.log(s)
        self.layers = self.layers + 1
        due = (self.layers >= self.limit) | xp.any(xp.all(self.c == 0, axis=-1), axis=-1)
        if self.t is None or self.c.shape[-2] < self.c.shape[-1]:
            due = xp.ones_like(due)  # first step, or the rank drops: shapes stay common to the batch
        idx = xp.nonzero(due)[0]
        if idx.shape[0]:
            self._step(idx)

    def _step(self, idx, *, last: bool = False):
        """QR step for the networks ``idx`` (their blocks end here); ``last``: the final one, whose :math:`Q`
        is never used (not formed: LAPACK ``dorgqr`` skipped)."""
        xp = self.xp
        full = idx.shape[0] == self.c.shape[0]
        c = self.c if full else self.c[idx]
        logd = (self.logd if full else self.logd[idx]) + (self.c_log if full else self.c_log[idx])[:, None]
        layers = self.layers if full else self.layers[idx]
        t = self.t if (full or self.t is None) else self.t[idx]
        # column pre-pivoting by scaled norms
        key = _log(xp, xp.sqrt(xp.sum(c * c, axis=-2))) + logd
        key = xp.where(xp.isnan(key), -xp.inf, key)
        perm = xp.argsort(-key, axis=-1, stable=True)
        c = _columns(xp, c, perm)
        logd_p = xp.take_along_axis(logd, perm, axis=-1)
        # exactly-zero rows last (Householder then leaves exact zeros in R)
        qc, refl, rperm, r = _qr_zero_rows_last(xp, c, last)
        implicit = refl is not None
        m = r.shape[-2]
        rd = xp.linalg.diagonal(r)
        lp = logd_p[..., :m]
        inc = _log(xp, xp.abs(rd))
        logd_new = inc + lp
        alive = xp.isfinite(logd_new)
        safe_rd = xp.where(alive, rd, 1.0)
        top = xp.max(logd_p, axis=-1, keepdims=True)
        if bool(xp.all(alive)) and bool(xp.all(top[..., 0] - xp.min(logd_p, axis=-1) <= FACTORED_SCALE_RANGE)):
            # M = diag(1 / (R_ii u_i)) R diag(u_j), u = exp(l - max l): two scaling passes over R
            u = xp.exp(logd_p - top)
            mm = r * u[..., None, :]
            mm *= (1.0 / (rd * u[..., :m]))[..., :, None]
        else:
            # M_ij = R_ij / R_ii * exp(l_j - l_i), rows with a zero scale set to 0
            diff = logd_p[..., None, :] - xp.where(alive, lp, 0.0)[..., :, None]
            diff = xp.where(xp.isnan(diff), -xp.inf, diff)
            ratio = xp.exp(xp.minimum(diff, 700.0))
            mm = xp.where(alive[..., :, None], (r / safe_rd[..., :, None]) * ratio, 0.0)
            mm = xp.where(xp.isnan(mm), 0.0, mm)
        signs = xp.where(alive, xp.sign(safe_rd), 1.0)
        q_new = None if (last or implicit) else qc * signs[..., None, :]
        if t is None:
            # T_0 = I: P^T T = P^T, i.e. T' = M P^T (columns of M scattered back by perm)
            inv_p = xp.argsort(perm, axis=-1, stable=True)
            t_new = xp.take_along_axis(mm, inv_p[..., None, :], axis=-1)
        else:
            t_new = _triangular_times_rows(xp, mm, t, perm)
        # next block: BLOCK_LOG_RANGE over the measured rate (spread of the increments per layer)
        spread = (xp.max(xp.where(alive, inc, -xp.inf), axis=-1) - xp.min(xp.where(alive, inc, xp.inf), axis=-1))
        rate = xp.where(xp.isfinite(spread), spread, 0.0) / xp.astype(layers, inc.dtype)
        budget = self.block_log_range / BLOCK_RATE_MARGIN
        n_layers = xp.floor(budget / xp.maximum(rate, budget / MAX_BLOCK_LAYERS))
        limit = xp.astype(xp.clip(n_layers, 1, MAX_BLOCK_LAYERS), xp.int64)
        self.steps += 1
        self.longest = max(self.longest, int(xp.max(layers)))
        self.widest = max(self.widest, float(xp.max(xp.where(xp.isfinite(spread), spread, 0.0))))
        if implicit:
            if self.reflectors is None:
                self.reflectors = [None] * self.c.shape[0]
            for j, i in enumerate(to_numpy(idx).tolist()):
                f, tau = refl[j]
                self.reflectors[i] = _Reflectors(f, tau, signs[j], None if rperm is None else rperm[j])
        if full:
            self.c = self.c if implicit else q_new
            self.logd, self.t, self.limit = logd_new, t_new, limit
            self.c_log = xp.zeros_like(self.c_log)
            self.layers = xp.zeros_like(self.layers)
        else:
            if not (last or implicit):
                self.c[idx] = q_new
            self.logd[idx], self.t[idx], self.limit[idx] = logd_new, t_new, limit
            self.c_log[idx] = 0.0
            self.layers[idx] = 0

    def finish(self):
        """Log singular values, shape ``(B, k)`` descending, and diagnostics."""
        xp = self.xp
        idx = xp.nonzero(self.layers > 0)[0]
        if idx.shape[0]:
            self._step(idx, last=True)
        out, diag = graded_log_singular_values(xp, self.logd, self.t, max_sweeps=self.max_sweeps)
        return out, {**diag, "longest_block_layers": self.longest, "widest_block_log_range": self.widest}


#: Smallest width whose square QR steps keep :math:`Q` as Householder reflectors, applied to the next layer by
#: LAPACK ``dormqr`` (:math:`2N^3` flops at near-``dgemm`` speed) instead of formed by ``dorgqr`` and
#: multiplied.  One BLAS thread, best of 15: ``dgeqrf`` + ``dormqr`` against ``dgeqrf`` + ``dorgqr`` +
#: ``matmul`` took 2.9 vs 3.8 products of time at N = 512 and 2.7 vs 3.6 at N = 1024; whole products
#: (best of 3) 1.07-1.26x faster at N = 128-512 but 0.54x at N = 64, where the per-network LAPACK call
#: costs more than the batched ``matmul`` it replaces.
IMPLICIT_Q_MIN_WIDTH = 128


@functools.lru_cache(maxsize=32)
def _lwork(n: int, m: int) -> tuple[int, int]:
    """Optimal LAPACK workspaces of ``dgeqrf`` (n x n) and ``dormqr`` (m x n from the right, n reflectors)."""
    from scipy.linalg import lapack

    probe = np.zeros((n, n), order="F")
    lw_f = int(lapack.dgeqrf(probe, lwork=-1)[2][0])
    lw_m = int(lapack.dormqr("R", "N", probe, np.zeros(n), np.zeros((m, n), order="F"), lwork=-1)[1][0])
    return max(lw_f, n, 1), max(lw_m, m, 1)


def _householder_qr(c: np.ndarray):
    """QR of each square matrix of ``c`` by LAPACK ``dgeqrf``: ``([(reflectors, tau), ...], R)`` with
    ``R`` ``(B, n, n)``; :math:`Q` is left in Householder form (:class:`_Reflectors`)."""
    from scipy.linalg import lapack

    b, n, _ = c.shape
    lw_f = _lwork(n, n)[0]
    r = np.empty_like(c)
    out = []
    for i in range(b):
        f, tau, _work, info = lapack.dgeqrf(c[i], lwork=lw_f)
        if info != 0:  # pragma: no cover - LAPACK argument error
            raise RuntimeError(f"dgeqrf failed (info={info})")
        np.multiply(f, _upper(n), out=r[i])  # np.triu builds its mask and a copy every call
        out.append((f, tau))
    return out, r


@functools.lru_cache(maxsize=8)
def _upper(n: int) -> np.ndarray:
    """Mask of the upper triangle of an ``n x n`` matrix, as floats (``R = F * mask``)."""
    return np.triu(np.ones((n, n)))


@dataclasses.dataclass(frozen=True)
class _Reflectors:
    r""":math:`Q = \Pi\, H_1 \cdots H_n \operatorname{diag}(\text{signs})` of one QR step: LAPACK reflectors
    ``f``, ``tau`` (``dgeqrf``) of the matrix whose rows were taken in the order ``rows`` (None: as they
    are); :math:`\Pi` puts them back."""

    f: np.ndarray
    tau: np.ndarray
    signs: np.ndarray
    rows: np.ndarray | None

    def right_times(self, a: np.ndarray) -> np.ndarray:
        r""":math:`A Q` by LAPACK ``dormqr``, with :math:`A \Pi` = the columns of ``a`` in the order
        ``rows``."""
        from scipy.linalg import lapack

        if self.rows is not None:
            a = a[:, self.rows]
        out, _work, info = lapack.dormqr("R", "N", self.f, self.tau, np.asfortranarray(a),
                                         lwork=_lwork(self.f.shape[0], a.shape[0])[1], overwrite_c=1)
        if info != 0:  # pragma: no cover - LAPACK argument error
            raise RuntimeError(f"dormqr failed (info={info})")
        out *= self.signs
        return out

    def transpose_times_vector(self, x: np.ndarray) -> np.ndarray:
        r""":math:`Q^T x = \operatorname{diag}(\text{signs})\, H_n \cdots H_1\, \Pi^T x` by LAPACK
        ``dormqr`` from the left (:math:`\Pi^T x` = the entries of ``x`` in the order ``rows``)."""
        from scipy.linalg import lapack

        y = np.array(x if self.rows is None else x[self.rows], dtype=float, order="F")[:, None]
        out, _work, info = lapack.dormqr("L", "T", self.f, self.tau, y, lwork=max(1, y.shape[0]),
                                         overwrite_c=1)
        if info != 0:  # pragma: no cover - LAPACK argument error
            raise RuntimeError(f"dormqr failed (info={info})")
        return out[:, 0] * self.signs


def _qr_zero_rows_last(xp, c, last: bool):
    """QR of ``c`` with its exactly-zero rows ordered last (Householder then leaves exact zeros in R):
    ``(Q, reflectors, row order, R)``.  Square NumPy steps at least :data:`IMPLICIT_Q_MIN_WIDTH` wide keep
    :math:`Q` as reflectors (``Q`` None), the others form it with the rows back in place (``reflectors``
    None); the last step forms neither (``dorgqr`` skipped)."""
    zero_row = xp.all(c == 0, axis=-1)
    rperm = None
    if bool(xp.any(zero_row)):
        rperm = xp.argsort(xp.astype(zero_row, xp.int8), axis=-1, stable=True)
        c = xp.take_along_axis(c, rperm[..., :, None], axis=-2)
    if (not last and isinstance(c, np.ndarray) and c.shape[-1] == c.shape[-2]
            and c.shape[-1] >= IMPLICIT_Q_MIN_WIDTH):
        refl, r = _householder_qr(c)
        return None, refl, rperm, r
    qc, r = _qr(xp, c, want_q=not last)
    if rperm is not None and not last:
        inv = xp.argsort(rperm, axis=-1, stable=True)
        qc = xp.take_along_axis(qc, inv[..., :, None], axis=-2)
    return qc, None, rperm, r


def _columns(xp, c, perm):
    """``c`` with the columns of network ``i`` in the order ``perm[i]`` (NumPy: one ``take`` per network, half
    the time of ``take_along_axis``, which broadcasts its index array to the shape of ``c``)."""
    if not isinstance(c, np.ndarray):
        return xp.take_along_axis(c, perm[..., None, :], axis=-1)
    out = np.empty(c.shape[:-1] + (perm.shape[-1],))
    for i in range(c.shape[0]):
        np.take(c[i], perm[i], axis=1, out=out[i])
    return out


def _triangular_times_rows(xp, mm, t, perm):
    r""":math:`M\, P^T T` for upper-triangular :math:`M` (rows of :math:`T` gathered by ``perm``).

    NumPy, square :math:`M`: BLAS ``dtrmm`` one matrix at a time, half the flops of a general product
    (written on the transposes, :math:`(P^T T)^T M^T`, so the C-ordered arrays are Fortran operands
    without a copy); otherwise a batched ``matmul``."""
    if not isinstance(mm, np.ndarray) or mm.shape[-1] != mm.shape[-2] or mm.shape[-1] != t.shape[-2]:
        return xp.matmul(mm, xp.take_along_axis(t, perm[..., :, None], axis=-2))
    from scipy.linalg.blas import dtrmm

    out = np.empty((t.shape[0], mm.shape[-2], t.shape[-1]))
    for i in range(t.shape[0]):
        rows = np.take(t[i], perm[i], axis=0)  # C-ordered: rows.T is Fortran-ordered
        out[i] = dtrmm(1.0, mm[i].T, rows.T, side=1, lower=1, overwrite_b=1).T
    return out
