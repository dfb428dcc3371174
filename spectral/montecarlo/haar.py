r"""Haar-distributed orthogonal matrices and partial isometries (QR with the sign correction of Mezzadri 2007)."""

from __future__ import annotations

import numpy as np

from .._backend import (
    get_backend,
    normal_batch,
    qr,
    spawn_streams,
    to_numpy,
)


def _haar_batch(xp, streams, n_out: int, n_in: int):
    """Haar partial isometries, shape ``(B, n_out, n_in)``: QR of a Gaussian matrix with sign correction."""
    m, k = max(n_out, n_in), min(n_out, n_in)
    z = normal_batch(streams, (m, k))
    q, r = qr(xp, z)
    q *= xp.sign(xp.linalg.diagonal(r))[..., None, :]
    return q if n_out >= n_in else xp.matrix_transpose(q)


def haar_orthogonal(n: int, m: int | None = None, *, size: int = 1, seed=0, backend: str = "numpy") -> np.ndarray:
    r"""Haar-distributed orthogonal matrices (or partial isometries), as NumPy arrays.

    QR decomposition of a Gaussian matrix :math:`Z = QR` followed by
    :math:`Q \leftarrow Q\, \operatorname{diag}(\operatorname{sign} R_{ii})` (Mezzadri 2007): the sign
    correction makes the law of :math:`Q` invariant under left and right multiplication by orthogonal
    matrices.  For a Haar :math:`Q \in O(n)`, :math:`E[\operatorname{tr} Q] = 0` and
    :math:`E[(\operatorname{tr} Q)^2] = 1`.

    Parameters
    ----------
    n, m : int
        Shape ``(n, m)`` (``m = n`` by default); rectangular gives orthonormal rows (n < m) or columns.
    size : int
        Number of matrices (result shape ``(size, n, m)``).
    seed : int, SeedSequence or None
        Matrix ``i`` uses child ``i`` of ``SeedSequence(seed)``.
    backend : "numpy" | "cupy" | "auto"
    """
    m = n if m is None else m
    for name, v in (("n", n), ("m", m), ("size", size)):
        if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < 1:
            raise ValueError(f"{name} must be a positive integer, got {v!r}")
    be = get_backend(backend)
    streams = spawn_streams(be, seed, int(size))
    return to_numpy(_haar_batch(be.xp, streams, int(n), int(m)))
