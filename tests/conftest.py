"""Order of the suite under xdist: the modules holding the longest tests are handed out first.

``--dist loadgroup`` gives each worker the next test in collection order when it runs low, so the wall time is
the busier worker's: a long test collected last (alphabetical order puts ``test_validation`` and the README
doctest there) runs while the other worker idles.  Moving the modules that hold the longest tests to the front
leaves short tests for the end, where they even the workers out.  Modules move whole, in their own order: a
module-scoped fixture is still made once per worker, and every test still runs exactly as written.

Also here: the Dask cluster of the sweep tests (one per module, closed with it), and each xdist worker's share
of the cores for BLAS and OpenMP threads.
"""

from __future__ import annotations

import os

import pytest


def pytest_configure(config):
    """Under xdist, each worker's BLAS and OpenMP pools get its share of the cores (at least one thread).  With
    the defaults every worker runs a pool as wide as the machine, and busy-waiting BLAS threads of two workers
    on two cores slowed a 128 x 128 QR from about 1 ms to 22 ms.  The library's own limits (the density solver's
    SOLVER_BLAS_THREADS, the sampler's cpu_workers) are tested against an ambient pool wider than theirs
    (tests/test_density_isometry.py, tests/test_montecarlo.py)."""
    count = os.environ.get("PYTEST_XDIST_WORKER_COUNT")
    if count is None:
        return
    share = max(1, len(os.sched_getaffinity(0)) // int(count))
    # read by OpenMP runtimes (torch) and BLAS libraries loaded from here on, and by subprocesses (notebook
    # kernels, the CLI)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, str(share))
    import scipy.linalg  # noqa: F401  -- SciPy's own OpenBLAS, so that the limit below reaches it
    from threadpoolctl import threadpool_limits

    threadpool_limits(share)

#: Test modules moved to the front, longest single test first (seconds: the slowest of the module's tests in
#: the CI logs of the 2-core machine, --durations).  A module not listed keeps its place after these.
SLOW_MODULES = (
    "tests/test_notebooks.py",                   # 21-48 s: inspect_torch; five more notebooks at 5-13 s
    "tests/test_architecture_block_density.py",  # 24-35 s: the two-block product density and validation
    "tests/test_inspect_memory.py",              # 30 s: matrix-free memory at width 4096, depth 64
    "tests/test_architecture_sampling.py",       # 18-21 s: residual validation relu-256
    "tests/test_bookkeeping.py",                 # 10-15 s: 200 equal activations against 40 digits
    "tests/test_plot_recommend.py",              # 11-15 s: the recommend figure and its CLI
    "tests/test_validation.py",                  # 12 s: hard-tanh top atom, 48 networks of width 400
    "tests/test_architecture_limits.py",         # 9-12 s: sampled presets
    "tests/test_inspect.py",                     # 10-11 s: tanh distribution in band
    "tests/test_recommend.py",                   # 6-8 s: condition objectives
    "tests/test_density_samples.py",             # 6-8 s: sampled CDF references
    "README.md",                                 # 6-7 s: the README doctest
    "tests/test_symbolic.py",                    # 6-8 s: edges against the numeric density
    "tests/test_widening.py",                    # 5-6 s: sampled issue cases
)
_RANK = {path: i for i, path in enumerate(SLOW_MODULES)}


def _module_of(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


def pytest_collection_modifyitems(session, config, items):
    """Stable sort: listed modules first, in :data:`SLOW_MODULES` order; everything else after, as collected.
    (``tryfirst`` is not needed: xdist only renames the items it groups, it does not reorder them.)"""
    order = {id(item): i for i, item in enumerate(items)}
    items.sort(key=lambda item: (_RANK.get(_module_of(item.nodeid), len(SLOW_MODULES)), order[id(item)]))


@pytest.fixture(scope="module")
def dask_address():
    """The scheduler address of a real 2-worker LocalCluster for the Dask tests of test_sweep and test_sweep_cli
    (the sweeps connect to it by address), one per module: it is closed when the module's tests are done, since a
    cluster kept for the session runs its scheduler in the worker's process and its two worker processes beside
    every later test (measured: 6% of a core each, idle).  Each sweep is independent of what the cluster ran
    before (a cell is a function of its parameters)."""
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster:
        yield cluster.scheduler_address
