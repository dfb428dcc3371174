r"""Singular values of a graded matrix :math:`\operatorname{diag}(e^{\ell}) X` to high relative accuracy, the scales
kept as logs: zero-shift QR sweeps in log-scaled form, then per cluster of coupled scales the bidiagonal SVD
where it is accurate (flat clusters; well-conditioned downward-graded ones) and one-sided Jacobi otherwise.
The last stage of :class:`spectral.stable_product.StableProduct` (docs/design.md §4.9).

References
----------
J. Demmel and K. Veselic, "Jacobi's method is more accurate than QR", SIAM J. Matrix Anal. Appl. 13 (1992).
Z. Drmac and K. Veselic, "New fast and accurate Jacobi SVD algorithm I/II", SIAM J. Matrix Anal. Appl. 29
(2008).
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from ._backend import log0 as _log
from ._backend import qr as _qr
from ._backend import to_numpy

__all__ = ["graded_log_singular_values", "COUPLING_TOL", "CLUSTER_LOG_RANGE", "BIDIAGONAL_SVD_REL_TOL",
           "GRADED_BIDIAGONAL_MAX_COND", "GRADED_BIDIAGONAL_MAX_RISE"]


def _clusters(coupled: np.ndarray) -> list[tuple[int, int]]:
    """Contiguous index intervals closed under the (symmetric) coupling relation."""
    k = coupled.shape[0]
    idx = np.arange(k)
    c = coupled | coupled.T
    reach = np.where(c.any(axis=1), k - 1 - np.argmax(c[:, ::-1], axis=1), idx)
    reach = np.maximum(np.maximum.accumulate(reach), idx)
    ends = np.nonzero(reach == idx)[0]
    starts = np.concatenate([[0], ends[:-1] + 1])
    return [(int(s), int(e) + 1) for s, e in zip(starts, ends, strict=True)]


#: Couplings below this are dropped by the cluster split; even between equal scales (the worst case)
#: this changes a singular value by at most this relative amount.
COUPLING_TOL = 1e-13


#: Relative accuracy asked of a cluster's singular values when the (about 5x faster) bidiagonal SVD replaces
#: the Jacobi SVD: LAPACK bounds its error by p(n) eps s_1, so it is taken only when n eps s_1 / s_min is
#: at most this (nearly flat clusters, e.g. products of Haar layers), below the 1e-10 the stable product is
#: tested to against mpmath.
BIDIAGONAL_SVD_REL_TOL = 1e-12
_EPS = float(np.finfo(np.float64).eps)


def _jacobi_log_svals(logd: np.ndarray, x: np.ndarray) -> np.ndarray:
    r"""Log singular values of :math:`\operatorname{diag}(e^{\ell}) X` (one cluster, log-range < 700) by
    LAPACK ``dgejsv`` (preconditioned one-sided Jacobi, Drmac & Veselic 2008) on the column-graded
    transpose :math:`X^T \operatorname{diag}(e^{\ell - \max\ell})`: relative accuracy
    :math:`O(\varepsilon \kappa(X))` whatever the grading.  A nearly flat cluster (:math:`n \varepsilon
    s_1/s_{\min} \le` :data:`BIDIAGONAL_SVD_REL_TOL`, checked on the result) takes the bidiagonal SVD, and
    so does a graded one whose triangular :math:`X` is well conditioned and whose result passes the
    determinant identity (:func:`_graded_bidiagonal_log_svals`)."""
    from scipy.linalg import lapack

    top = float(logd.max())
    if x.shape[0] == 1:
        return np.array([top + math.log(abs(float(x[0, 0])))]) if x[0, 0] != 0 else np.array([-np.inf])
    n = x.shape[0]
    if top - float(logd.min()) <= math.log(BIDIAGONAL_SVD_REL_TOL / (n * _EPS)):
        # a nearly flat cluster: the bidiagonal SVD's error p(n) eps s_1 (p(n) <= n taken) is relative
        # error n eps s_1 / s_i, checked on its own result before it is accepted
        sv = np.linalg.svd(np.exp(logd - top)[:, None] * x, compute_uv=False)
        if sv[-1] > 0 and n * _EPS * sv[0] / sv[-1] <= BIDIAGONAL_SVD_REL_TOL:
            return np.log(sv) + top
    graded = _graded_bidiagonal_log_svals(logd, x, top)
    if graded is not None:
        return graded
    g = np.asfortranarray((np.exp(logd - top)[:, None] * x).T)
    # joba=0 ('C': column-wise relative accuracy), jobu=jobv=3 ('N': no vectors), jobr=0, jobp=1
    sva, _u, _v, work, _iw, info = lapack.dgejsv(g, joba=0, jobu=3, jobv=3, jobr=0, jobt=0, jobp=1)
    if info != 0:  # pragma: no cover - LAPACK failure: fall back to the bidiagonal SVD, say so
        warnings.warn(f"dgejsv returned info={info}; using svd for a cluster of {x.shape[0]}", RuntimeWarning,
                      stacklevel=3)
        sva, work = np.linalg.svd(g, compute_uv=False), np.ones(2)
    with np.errstate(divide="ignore"):
        return np.log(sva) + math.log(work[0] / work[1]) + top


#: Largest condition number :math:`\kappa_1(X)` (LAPACK ``dtrcon`` estimate) of the unit upper triangular
#: :math:`X` of a cluster for which the bidiagonal SVD of the downward-graded :math:`\operatorname{diag}(e^{\ell})X`
#: replaces the Jacobi SVD (:func:`_graded_bidiagonal_log_svals`): against ``dgejsv``, random unit triangular
#: :math:`X` with :math:`\kappa_1 \le 270` and scales spanning 40-200 nats (n = 64, 256) agreed to 3e-13 in
#: :math:`\log s` (1e-12 at :math:`\kappa_1 \approx 4 \times 10^4`); the sampler's products measure 6-36.
GRADED_BIDIAGONAL_MAX_COND = 1e3
#: Largest rise (nats) of a row's scale above the smallest scale of the rows before it for which the triangular
#: :math:`\operatorname{diag}(e^{\ell})X` counts as graded downward: the zero-shift sweeps leave rises of at
#: most 0.41 nats on the sampler's Gaussian products (N = 256-1024); upward-graded triangular matrices (rises
#: of 30-200 nats) lost 1e-11 to 1e-3 in the bottom values' logs by the bidiagonal SVD.
GRADED_BIDIAGONAL_MAX_RISE = 1.0


def _graded_bidiagonal_log_svals(logd: np.ndarray, x: np.ndarray, top: float) -> np.ndarray | None:
    r"""Log singular values of :math:`G = \operatorname{diag}(e^{\ell}) X` by the bidiagonal SVD (LAPACK
    ``dgesdd``) of :math:`G` graded downward (rows in the order of the sweep, scales descending), or None
    when its conditions do not hold (the caller then takes the Jacobi SVD).

    Conditions: :math:`X` upper triangular (what the zero-shift sweeps leave) with :math:`\kappa_1(X) \le`
    :data:`GRADED_BIDIAGONAL_MAX_COND`, the scales non-increasing down the rows up to
    :data:`GRADED_BIDIAGONAL_MAX_RISE`, and the result passes the determinant identity
    :math:`\sum_i \log s_i = \sum_i \ell_i + \log|\det X|` within :math:`n \times`
    :data:`BIDIAGONAL_SVD_REL_TOL` (what values each within that tolerance can miss it by).  The bidiagonal
    SVD has no relative-accuracy guarantee for graded matrices: downward grading is the orientation where it
    is accurate in practice (measured against ``dgejsv``, :data:`GRADED_BIDIAGONAL_MAX_COND`), and upward
    grading is where it fails (bottom values off by 0.04-100 nats at n = 64-256), which the determinant
    identity detects.  About 6x faster than ``dgejsv`` at n = 1024."""
    from scipy.linalg import lapack

    n = x.shape[0]
    if np.any(np.tril(x, -1)) or not np.all(logd[1:] - np.minimum.accumulate(logd)[:-1] <= GRADED_BIDIAGONAL_MAX_RISE):
        return None
    rcond, info = lapack.dtrcon(x, norm="1", uplo="U", diag="N")
    if info != 0 or not rcond * GRADED_BIDIAGONAL_MAX_COND >= 1.0:
        return None
    g = np.exp(logd - top)[:, None] * x
    sv = np.linalg.svd(g, compute_uv=False)
    if not sv[-1] > 0:
        return None
    out = np.log(sv)
    with np.errstate(divide="ignore"):
        log_det = math.fsum((logd - top).tolist()) + math.fsum(np.log(np.abs(np.diagonal(x))).tolist())
    if not abs(math.fsum(out.tolist()) - log_det) <= n * BIDIAGONAL_SVD_REL_TOL:
        return None
    return out + top


#: Largest log-range (nats) of a cluster handed to the Jacobi SVD (float64 keeps ~700 nats of range).
CLUSTER_LOG_RANGE = 600.0


def graded_log_singular_values(xp, logd, x, *, max_sweeps: int = 60, min_sweeps: int = 2):
    r"""Log singular values of :math:`\operatorname{diag}(e^{\ell}) X` without forming it.

    Sweep (zero-shift QR in log-scaled form): sort :math:`\ell` descending (rows of :math:`X` with it);
    :math:`X^T = Q R`; then :math:`s(\operatorname{diag}(e^\ell) X) = s(R\, \operatorname{diag}(e^\ell))`
    and :math:`R\,\operatorname{diag}(e^\ell) = \operatorname{diag}(e^{\ell'}) X'` with
    :math:`\ell' = \ell + \log|R_{ii}|`, :math:`X'_{ij} = (R_{ij}/R_{ii}) e^{\ell_j - \ell_i}`
    (:math:`j \ge i`): :math:`X'` is unit upper triangular and the coupling of scales :math:`i < j`
    shrinks by :math:`e^{\ell_j - \ell_i} \le 1` per sweep; nothing overflows.  After ``min_sweeps``,
    sweeps stop once every cluster of scales coupled above :data:`COUPLING_TOL` spans at most
    :data:`CLUSTER_LOG_RANGE` nats (or after ``max_sweeps``).  Each cluster's singular values then come
    from :func:`_jacobi_log_svals`: one-sided Jacobi (high relative accuracy for graded matrices, Demmel &
    Veselic 1992: :math:`O(\varepsilon \kappa(X_{cc}))` however graded the spectrum), or the bidiagonal SVD
    where it is as accurate (flat clusters by its error bound; well-conditioned downward-graded ones as
    measured, :func:`_graded_bidiagonal_log_svals`).

    Returns ``(log_s (B, k) descending with -inf for exact zeros, diagnostics)``.
    """
    sweeps = 0
    while True:
        logd, x = _sweep(xp, logd, x)
        sweeps += 1
        if sweeps < min_sweeps:
            continue
        ld_h, x_h = to_numpy(logd), to_numpy(x)
        clusters, worst = _coupled_clusters(ld_h, x_h)
        if worst <= CLUSTER_LOG_RANGE or sweeps >= max_sweeps:
            break
    if worst > CLUSTER_LOG_RANGE:
        warnings.warn(f"stable product: a cluster of coupled scales still spans {worst:.0f} nats after "
                      f"{sweeps} sweeps; its smallest singular values may underflow", RuntimeWarning, stacklevel=3)
    out = np.full(ld_h.shape, -np.inf)
    max_size = 1
    for i, cl in enumerate(clusters):
        for s, e in cl:
            sub = np.arange(s, e)[np.isfinite(ld_h[i, s:e])]
            if sub.size:
                out[i, sub] = _jacobi_log_svals(ld_h[i, sub], x_h[i][np.ix_(sub, sub)])
                max_size = max(max_size, int(sub.size))
    out = -np.sort(-out, axis=-1)
    diag = {"sweeps": sweeps, "max_cluster_size": int(max_size), "max_cluster_log_range": worst}
    return out, diag


def _sweep(xp, logd, x):
    r"""One zero-shift QR sweep of :math:`\operatorname{diag}(e^{\ell}) X` in log-scaled form (see
    :func:`graded_log_singular_values`): returns :math:`(\ell', X')`."""
    order = xp.argsort(-logd, axis=-1, stable=True)
    logd = xp.take_along_axis(logd, order, axis=-1)
    x = xp.take_along_axis(x, order[..., :, None], axis=-2)
    _q, r = _qr(xp, xp.matrix_transpose(x), want_q=False)
    rd = xp.linalg.diagonal(r)
    new = _log(xp, xp.abs(rd)) + logd
    alive = xp.isfinite(new)
    diff = logd[..., None, :] - xp.where(alive, logd, 0.0)[..., :, None]
    diff = xp.where(xp.isnan(diff), -xp.inf, diff)
    ratio = xp.exp(xp.minimum(diff, 700.0))
    safe = xp.where(alive, rd, 1.0)
    x = xp.where(alive[..., :, None], (r / safe[..., :, None]) * ratio, 0.0)
    return new, xp.where(xp.isnan(x), 0.0, x)


def _coupled_clusters(ld_h: np.ndarray, x_h: np.ndarray):
    """Per network, the clusters of scales coupled above :data:`COUPLING_TOL`, and the widest log-range
    (nats) of any cluster."""
    off = np.abs(x_h) > COUPLING_TOL
    idx = np.arange(off.shape[-1])
    off[..., idx, idx] = False
    dead = ~np.isfinite(ld_h)
    off &= ~dead[..., :, None] & ~dead[..., None, :]
    clusters = [_clusters(off[i]) for i in range(ld_h.shape[0])]
    worst = 0.0
    for i, cl in enumerate(clusters):
        for s, e in cl:
            seg = ld_h[i, s:e]
            seg = seg[np.isfinite(seg)]
            if seg.size > 1:
                worst = max(worst, float(seg.max() - seg.min()))
    return clusters, worst
