"""Execution policy of the solver: one BLAS thread, floating-point warnings off inside its kernels."""

from __future__ import annotations

import functools

import numpy as np
from threadpoolctl import ThreadpoolController

#: BLAS threads while the solver runs: its kernels are thousands of small complex matrix-vector products (the
#: D^2 contour quadrature), where waking a second thread costs more than the product (tanh/orthogonal depth
#: 16: 7.1 s CPU on 2 threads against 1.0 s on one).
SOLVER_BLAS_THREADS = 1
_THREADS: list = []  # the controller, made on first use (after the solver's own imports loaded their BLAS)


def _thread_policy(fn):
    """Run a public entry of the solver under :data:`SOLVER_BLAS_THREADS` BLAS threads (restored after)."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if not _THREADS:
            _THREADS.append(ThreadpoolController())
        with _THREADS[0].limit(limits=SOLVER_BLAS_THREADS, user_api="blas"):
            return fn(*args, **kwargs)

    return wrapper


def _quiet(fn):
    """Run a solver routine with floating-point warnings off (it checks finiteness itself)."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with np.errstate(all="ignore"):
            return fn(*args, **kwargs)

    return wrapper
