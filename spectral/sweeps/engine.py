r"""Run a sweep on ``dask.distributed``: a local cluster by default, a running one by address.

Scheduling: one task per point of the leading axes and run of depths (:meth:`SweepGrid.tasks`), submitted
with ``Client.map`` and collected with ``as_completed`` as they finish, so a slow cell never holds back
the writing of others.  The default cluster is a ``LocalCluster`` of worker *processes* with one thread
each, as many as the CPUs this process may use: the per-cell work is Python-level (mean-field root
finding, series, the density's Newton continuation) and holds the GIL, so threads would not run it in
parallel.  BLAS is pinned to one thread per worker twice over: ``distributed`` starts its worker
processes with ``OMP_NUM_THREADS = MKL_NUM_THREADS = OPENBLAS_NUM_THREADS = 1``, and every task runs
inside ``threadpoolctl.threadpool_limits(1)``, which also holds on clusters started elsewhere.

Results are applied to an in-memory dataset and written to the store every ``flush_seconds`` and at the
end (also when the run is interrupted), so ``resume=True`` restarts from the last write.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
import uuid

import numpy as np

from .cells import describe_error, run_task
from .grid import SweepGrid
from .spec import DEFAULT_POINTS, DEFAULT_QUANTITIES, SweepSpec
from .store import check_resumable, new_dataset, open_sweep, provenance, store_format, write_store

__all__ = ["sweep", "local_workers", "FLUSH_SECONDS"]

#: how often finished cells are written to the store during a run (a crash loses at most this much work)
FLUSH_SECONDS = 30.0
#: how long to wait for a scheduler given by address before giving up (a running one answers in milliseconds)
CONNECT_SECONDS = 10


def local_workers() -> int:
    """Worker processes of the default cluster: the CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - platforms without affinity masks
        return os.cpu_count() or 1


def sweep(activation="tanh", weights="orthogonal", sigma_w2=1.05, depth="1,2,4,...,64", *, sigma_b2=None,
          critical=False, quantities=None, monte_carlo=False, width=None, samples=16, seed=0,
          mode="network", backend="numpy", points=DEFAULT_POINTS, k=4, out=None, resume=False, overwrite=False,
          scheduler=None, n_workers=None, chunk_depths=None, progress=None, flush_seconds=FLUSH_SECONDS,
          command=None):
    r"""Compute spectral quantities of :math:`JJ^T` over a grid of networks on Dask; return an ``xarray.Dataset``.

    Parameters
    ----------
    activation, weights, sigma_w2, depth, sigma_b2, width :
        Axes: text as on the command line (``"tanh,relu"``, ``"0.5:4:64"``, ``"1,2,4,...,1024"``), a
        number, or a sequence (:mod:`spectral.sweeps.grid`).  ``sigma_b2`` defaults to 0; ``width`` is the
        Monte Carlo width axis.
    critical : bool
        Put every network on the critical line :math:`\chi_1 = 1` (:math:`\sigma_b^2` solved per
        :math:`(\phi, \sigma_w^2)`, stored as the variable ``sigma_b2``); excludes ``sigma_b2``.
    quantities : sequence of str or comma-separated str
        See :mod:`spectral.sweeps.spec` (default: meanfield, m1, spread, lambda_max, condition, quantiles;
        the same without meanfield for Monte Carlo).
    monte_carlo, samples, seed, mode, backend :
        Sampled statistics from :func:`spectral.montecarlo.sample_jacobians` instead of the theory; every cell
        uses ``seed`` (common random numbers across the grid).
    points, k :
        Density grid for quantiles/condition; number of log-moments for ``moments``.
    out : str or path, optional
        ``.zarr`` or ``.nc`` store, written as cells finish (every ``flush_seconds``) and at the end.
    resume : bool
        Continue the store at ``out``: its done cells are kept, the others computed (same grid and
        settings required).  ``overwrite`` replaces an existing store instead.
    scheduler : str, optional
        Address of a running Dask scheduler (``tcp://host:8786``); default: a ``LocalCluster`` of
        ``n_workers`` single-threaded processes (default: the usable CPUs).
    chunk_depths : int, optional
        Depths per task (default: the whole depth axis, sharing one mean-field solve).
    progress : bool, optional
        tqdm bar on stderr (default: when stderr is a terminal).

    Returns
    -------
    xarray.Dataset
        Dimensions ``activation, weights, sigma_w2[, sigma_b2][, width], depth`` (+ ``k``, ``level``);
        per cell ``done``, ``failed``, ``certified``, ``message``, ``seconds``; provenance in ``attrs``.
    """
    grid, spec = _grid_and_spec(activation, weights, sigma_w2, depth, sigma_b2, critical, quantities, monte_carlo,
                                width, samples, seed, mode, backend, points, k)
    if flush_seconds <= 0:
        raise ValueError(f"flush_seconds must be > 0, got {flush_seconds!r}")
    ds, first = _initial_dataset(grid, spec, out, resume, overwrite, command, scheduler)
    tasks = grid.tasks(chunk_depths, done=np.asarray(ds["done"].values, dtype=bool))
    if out is not None and (first or not tasks):
        write_store(ds, out, first=first)
    if not tasks:
        return ds
    with _client(scheduler, n_workers) as (client, label):
        ds.attrs["scheduler"] = label
        ds.attrs["n_workers"] = len(client.scheduler_info().get("workers", {}))
        _run(client, tasks, spec, ds, out, progress, flush_seconds)
    return ds


def _grid_and_spec(activation, weights, sigma_w2, depth, sigma_b2, critical, quantities, monte_carlo, width,
                   samples, seed, mode, backend, points, k):
    if critical and sigma_b2 is not None:
        raise ValueError("give either sigma_b2 or critical=True (the critical line fixes sigma_b2), not both")
    if monte_carlo and width is None:
        raise ValueError("width: a Monte Carlo sweep needs the layer width(s), e.g. width='256,512'")
    if not monte_carlo and width is not None:
        raise ValueError("width is a Monte Carlo axis: pass monte_carlo=True, or drop width for the theory")
    if quantities is None:
        quantities = [q for q in DEFAULT_QUANTITIES if not (monte_carlo and q == "meanfield")]
    if isinstance(quantities, str):
        quantities = [q.strip() for q in quantities.split(",") if q.strip()]
    grid = SweepGrid.from_spec(activation=activation, weights=weights, sigma_w2=sigma_w2, depth=depth,
                               sigma_b2=None if critical else (0.0 if sigma_b2 is None else sigma_b2), width=width)
    spec = SweepSpec(quantities=tuple(quantities), points=points, k=k, monte_carlo=bool(monte_carlo),
                     samples=samples, seed=seed, mode=mode, backend=backend)
    return grid, spec


def _initial_dataset(grid, spec, out, resume, overwrite, command, scheduler):
    """(dataset, whether the store must be created)."""
    fresh = new_dataset(grid, spec, provenance(grid, spec, command=command, scheduler=scheduler or ""))
    if out is None:
        return fresh, False
    store_format(out)
    if not os.path.exists(str(out)):
        return fresh, True
    if resume:
        stored = open_sweep(out)
        check_resumable(stored, grid, spec)
        stored.attrs["command"] = command or stored.attrs.get("command", "")
        return stored, False
    if overwrite:
        return fresh, True
    raise ValueError(f"out: {str(out)!r} exists; pass resume to continue it or overwrite to replace it")


@contextlib.contextmanager
def _client(scheduler, n_workers):
    """A ``distributed.Client`` on ``scheduler`` or on a new LocalCluster (closed on exit)."""
    from distributed import Client, LocalCluster

    if scheduler is not None:
        if n_workers is not None:
            raise ValueError("n_workers sizes the local cluster; a scheduler address brings its own workers")
        try:
            client = Client(scheduler, timeout=f"{CONNECT_SECONDS}s")
        except (OSError, TimeoutError) as exc:
            raise ValueError(f"--scheduler {scheduler!r}: no Dask scheduler answered within {CONNECT_SECONDS} s "
                             f"({type(exc).__name__}); start one ('dask scheduler') or drop --scheduler for a "
                             "local cluster") from None
        with client:
            yield client, str(scheduler)
        return
    n = local_workers() if n_workers is None else int(n_workers)
    if n < 1:
        raise ValueError(f"n_workers must be an integer >= 1, got {n_workers!r}")
    with LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=":0",
                      silence_logs=logging.ERROR) as cluster, Client(cluster) as client:
        yield client, f"LocalCluster({n} processes x 1 thread)"


def _run(client, tasks, spec, ds, out, progress, flush_seconds):
    from distributed import as_completed
    from tqdm.auto import tqdm

    token = uuid.uuid4().hex[:8]
    payloads = [{"params": t.params, "depths": t.depths, "spec": spec} for t in tasks]
    futures = client.map(run_task, payloads, key=[f"spectral-sweep-{token}-{i}" for i in range(len(tasks))],
                         pure=False)
    by_key = {f.key: t for f, t in zip(futures, tasks, strict=True)}
    versions = set()
    bar = tqdm(total=sum(len(t.depths) for t in tasks), unit="cell", desc="sweep",
               disable=None if progress is None else not progress)
    last = time.monotonic()
    try:
        for fut in as_completed(futures):
            task = by_key[fut.key]
            try:
                result = fut.result()
            except Exception as exc:  # the task itself died (worker lost, unpicklable): its cells fail
                _apply_failure(ds, task, describe_error("task", exc))
            else:
                versions.add(result["spectral"])
                _apply(ds, task, result["records"])
            fut.release()
            bar.update(len(task.depths))
            if out is not None and time.monotonic() - last > flush_seconds:
                _flush(ds, out, versions)
                last = time.monotonic()
    finally:
        bar.close()
        if out is not None:
            _flush(ds, out, versions)
    ds.attrs["worker_spectral_versions"] = ",".join(sorted(versions))


def _flush(ds, out, versions):
    ds.attrs["worker_spectral_versions"] = ",".join(sorted(versions))
    write_store(ds, out, first=False)


def _apply(ds, task, records):
    for j, rec in records:
        idx = task.index + (j,)
        for name, value in rec["values"].items():
            ds[name].data[idx] = value
        if "sigma_b2" in ds.data_vars:
            ds["sigma_b2"].data[idx] = rec["sigma_b2"]
        ds["failed"].data[idx] = rec["failed"]
        ds["certified"].data[idx] = rec["certified"]
        ds["message"].data[idx] = rec["message"]
        ds["seconds"].data[idx] = rec["seconds"]
        ds["done"].data[idx] = True


def _apply_failure(ds, task, message):
    records = [(j, {"values": {}, "failed": True, "certified": False, "message": message, "seconds": np.nan,
                    "sigma_b2": np.nan}) for j, _ in task.depths]
    _apply(ds, task, records)
    for j, _ in task.depths:  # not the cells' fault (a lost worker): resume computes them again
        ds["done"].data[task.index + (j,)] = False
