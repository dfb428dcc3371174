"""Array backends for the Monte Carlo sampler: namespace, random streams, CPU thread control.

One code path serves NumPy and CuPy: the numerical routines receive an array namespace ``xp``
(``array_api_compat.array_namespace``) and call only array-API functions on it (``xp.matmul``,
``xp.linalg.qr``, ``xp.linalg.svdvals`` ...). Random numbers are not part of the array API, so this
module keeps one small adapter, :class:`SampleStream`, per backend.

Reproducibility
---------------
Every network sample ``i`` owns an independent stream spawned from ``numpy.random.SeedSequence(seed)``
(child ``i``), so the draws of a sample do not depend on how samples are chunked or parallelised.
Streams differ between NumPy and CuPy (different bit generators); compare the backends statistically.

CPU threads
-----------
Batched small-matrix LAPACK work is much slower with a multi-threaded BLAS on few cores (docs/design.md §4.9:
eigvalsh of 512 matrices of size 64 took 6.0 s with OpenBLAS threads vs 0.12 s with one thread on
2 cores). :func:`cpu_workers` therefore limits BLAS to one thread (``threadpoolctl``) and the sampler
parallelises over the batch with a thread pool instead (NumPy releases the GIL in BLAS/LAPACK and in
``Generator.standard_normal``).
"""

from __future__ import annotations

import contextlib
import functools
import os
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Backend", "SampleStream", "get_backend", "to_numpy", "spawn_streams", "normal_batch", "cpu_workers",
           "available_memory", "n_cpus", "qr", "log0"]

BACKENDS = ("auto", "numpy", "cupy")


@dataclass(frozen=True)
class Backend:
    """A resolved backend: its name, array namespace and raw module (``numpy`` or ``cupy``)."""

    name: str
    xp: Any
    module: Any

    @property
    def is_gpu(self) -> bool:
        return self.name == "cupy"

    def asarray(self, x, dtype=None):
        return self.xp.asarray(x, dtype=dtype)


def _cupy_usable():
    """Return the ``cupy`` module when it imports and a CUDA device is present, else ``None``."""
    try:
        import cupy  # noqa: PLC0415
    except Exception:  # ImportError, or CUDA libraries missing
        return None
    try:
        if cupy.cuda.runtime.getDeviceCount() < 1:
            return None
    except Exception:
        return None
    return cupy


def get_backend(backend: str = "auto") -> Backend:
    """Resolve ``"auto" | "numpy" | "cupy"`` to a :class:`Backend`.

    ``"auto"`` picks CuPy when it imports and a GPU is present, else NumPy. ``"cupy"`` raises
    ``ValueError`` when CuPy or a device is missing (use ``backend="numpy"`` or install ``cupy-cuda12x``).
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if backend in ("auto", "cupy"):
        cp = _cupy_usable()
        if cp is not None:
            import array_api_compat.cupy as xp  # noqa: PLC0415

            return Backend("cupy", xp, cp)
        if backend == "cupy":
            raise ValueError(
                "backend='cupy' needs CuPy and a CUDA device; none was found. "
                "Install cupy-cuda12x on a GPU machine or use backend='numpy' (or 'auto')."
            )
    import array_api_compat.numpy as xp  # noqa: PLC0415

    return Backend("numpy", xp, np)


def to_numpy(x) -> np.ndarray:
    """Copy any backend array to a NumPy array (CuPy: device -> host)."""
    if not isinstance(x, np.ndarray) and hasattr(x, "get"):
        return x.get()
    return np.asarray(x)


class SampleStream:
    """Random stream of one network sample on a backend (the per-backend RNG adapter).

    Parameters
    ----------
    backend : Backend
    seed_sequence : numpy.random.SeedSequence
        Child of ``SeedSequence(seed)``; NumPy uses ``PCG64`` on it, CuPy seeds its default generator
        with 64 bits drawn from it.
    """

    def __init__(self, backend: Backend, seed_sequence: np.random.SeedSequence):
        self.backend = backend
        if backend.is_gpu:
            cp = backend.module
            s = int(seed_sequence.generate_state(1, dtype=np.uint64)[0])
            self._gen = cp.random.default_rng(s)
        else:
            self._gen = np.random.Generator(np.random.PCG64(seed_sequence))

    def normal(self, shape, dtype=None, out=None):
        """Standard normal array of ``shape`` (float64 unless ``dtype``) on the backend; fills ``out``
        (an array of that shape and dtype on the backend) in place when given."""
        dtype = np.float64 if dtype is None else dtype
        if out is not None:
            try:
                return self._gen.standard_normal(dtype=dtype, out=out)
            except TypeError:  # a generator without ``out``: draw, then copy
                out[...] = self._gen.standard_normal(size=shape, dtype=dtype)
                return out
        return self._gen.standard_normal(size=shape, dtype=dtype)


def spawn_streams(backend: Backend, seed, n: int) -> list[SampleStream]:
    """``n`` independent per-sample streams from ``seed`` (int, None or SeedSequence)."""
    ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    return [SampleStream(backend, child) for child in ss.spawn(n)]


def normal_batch(streams, shape) -> Any:
    """Stack of standard normals, shape ``(len(streams), *shape)``: row ``i`` drawn from ``streams[i]``
    (so a sample's draws never depend on the batch it was computed in)."""
    shape = tuple(int(s) for s in shape)
    backend = streams[0].backend
    buf = backend.module.empty((len(streams),) + shape, dtype=np.float64)
    for i, st in enumerate(streams):
        st.normal(shape, out=buf[i])
    return buf


def n_cpus() -> int:
    """Usable CPU count (affinity-aware)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - non-Linux
        return max(1, os.cpu_count() or 1)


@contextlib.contextmanager
def cpu_workers(backend: Backend, threads: int | None = None):
    """Context for batched CPU work: yields the number of batch workers to use.

    On NumPy, BLAS is limited to one thread (``threadpoolctl``) and ``threads`` (default: the usable CPU
    count) workers share the batch. On CuPy it yields 1 and changes nothing.
    """
    if backend.is_gpu:
        yield 1
        return
    workers = n_cpus() if threads is None else int(threads)
    if workers < 1:
        raise ValueError(f"threads must be >= 1 (or None for the CPU count), got {threads!r}")
    # threadpoolctl limits only the BLAS libraries loaded when its controller is made (once, here): SciPy
    # ships its own OpenBLAS (used by the LAPACK calls of qr and the stable product), so it is loaded first,
    # or it would run two threads inside each worker (measured: QR 10-30x slower on 2 busy cores).
    with _blas_controller().limit(limits=1, user_api="blas"):
        yield workers


@functools.lru_cache(maxsize=1)
def _blas_controller():
    """The threadpoolctl controller of the loaded BLAS libraries, found once (scanning them took ~25 ms a call
    with torch loaded, a fifth of a small sampling run); SciPy's OpenBLAS is loaded first so it is among them."""
    import scipy.linalg  # noqa: F401, PLC0415
    from threadpoolctl import ThreadpoolController  # noqa: PLC0415

    return ThreadpoolController()


def available_memory(backend: Backend) -> int:
    """Bytes the sampler may use for one chunk: a quarter of free device memory (GPU) or of available
    RAM (CPU), capped at 4 GiB on CPU so a run never pushes the machine into swap."""
    if backend.is_gpu:
        free, _total = backend.module.cuda.runtime.memGetInfo()
        return int(free) // 4
    try:
        avail = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # pragma: no cover
        avail = 2**31
    return int(min(avail // 4, 4 * 2**30))


@functools.lru_cache(maxsize=64)
def _qr_lwork(m: int, n: int) -> tuple[int, int]:
    """Optimal LAPACK workspaces of ``dgeqrf`` (m x n) and ``dorgqr`` (m x min(m, n)) (blocked code paths)."""
    from scipy.linalg import lapack  # noqa: PLC0415

    k = min(m, n)
    probe = np.zeros((m, n), order="F")
    lw_f = int(lapack.dgeqrf(probe, lwork=-1)[2][0])
    lw_g = int(lapack.dorgqr(probe[:, :k], np.zeros(k), lwork=-1)[1][0])
    return max(lw_f, n, 1), max(lw_g, k, 1)


def qr(xp, a, *, want_q: bool = True):
    r"""Reduced QR of a batch ``a`` of shape ``(B, m, n)``: ``Q`` ``(B, m, k)``, ``R`` ``(B, k, n)``,
    :math:`k = \min(m, n)`, :math:`a = QR` (Householder; no sign normalisation).

    NumPy arrays go to LAPACK ``dgeqrf`` + ``dorgqr`` one matrix at a time with the optimal (blocked)
    workspace, which ``numpy.linalg.qr`` does not use for stacks: at N = 512 on one core it is about 2x
    faster.  Matrix ``i`` of the result depends only on ``a[i]``, never on the batch.  Other backends use
    ``xp.linalg.qr``.  ``want_q=False`` returns ``(None, R)`` (NumPy skips ``dorgqr``).
    """
    if not isinstance(a, np.ndarray):
        q, r = xp.linalg.qr(a)
        return (q if want_q else None), r
    from scipy.linalg import lapack  # noqa: PLC0415

    b, m, n = a.shape
    k = min(m, n)
    lw_f, lw_g = _qr_lwork(m, n)
    q = np.empty((b, m, k)) if want_q else None
    r = np.empty((b, k, n))
    for i in range(b):
        f, tau, _work, info = lapack.dgeqrf(a[i], lwork=lw_f)
        if info != 0:  # pragma: no cover - LAPACK argument error
            raise RuntimeError(f"dgeqrf failed (info={info})")
        r[i] = np.triu(f[:k])
        if not want_q:
            continue
        g, _work, info = lapack.dorgqr(f[:, :k], tau, lwork=lw_g, overwrite_a=True)
        if info != 0:  # pragma: no cover
            raise RuntimeError(f"dorgqr failed (info={info})")
        q[i] = g
    return q, r


def log0(xp, x):
    """Elementwise log with log(0) = -inf and no warning."""
    pos = x > 0
    return xp.where(pos, xp.log(xp.where(pos, x, 1.0)), -xp.inf)
