"""Sweep benchmark: a theory grid on 1 local worker vs several (same run), and cost against grid size.

Run: ``python benchmarks/bench_sweep.py [--quick] [--workers 2] [--sigma-points 64] [--depths 1,2,...]``

The grid of the sweeps issue is 64 sigma_w^2 x 16 depths x 3 activations x 2 weight ensembles (6144 cells),
``tanh, relu, erf`` x ``orthogonal, gaussian`` x sigma_w^2 in [1.05, 4] x depth 1..2^15, sigma_b^2 = 0.01
(off the critical line, so every activation has networks at every sigma_w^2).  ``--quick`` runs the
stand-in used on small machines: 8 sigma_w^2 x 4 depths x 3 x 2 (192 cells) and sizes 48, 96, 192 for the
growth.  Each timing covers ``spectral.sweeps.sweep`` on an already started ``LocalCluster`` (the start-up
is timed apart); cells per second, the summed per-cell seconds, the speed-up and its efficiency come
from this one run.  The last lines extrapolate to 10^6 cells on 100 nodes from the measured per-cell cost.

Measured (``--quick``, 2 CPU cores shared with other jobs, load average 12-15: the workers got 15-21 % of a
core each, so wall times are CPU-starved and the CPU columns are the figures that transfer):

* 192 cells on 1 worker: 107.5 CPU s (0.56 CPU s per cell for meanfield, m1, spread, lambda_max), 503 s wall;
  on 2 workers: 117.4 CPU s in all (1.09x: the second worker's start and its own mean-field caches),
  375 s wall (speed-up 1.34 at a 16 % CPU share; with free cores the CPU ratio bounds it at 2/1.09 = 1.8).
* Cost against size (2 workers): 48, 96, 192 cells took 20.7, 45.2, 119.9 CPU s (0.43, 0.47, 0.62 CPU s
  per cell): linear in the number of cells up to the mix of sigma_w^2 values (larger sigma_w^2 cost more).
* The issue's 64 x 16 x 3 x 2 grid (6144 cells): ~57 CPU min, ~29 min on 2 free cores, ~3.6 min on 16.
  10^6 cells on 100 nodes x 32 cores: ~3 min of cell work plus ~4 min of scheduling (250 000 tasks at
  ~1 ms each on the one scheduler with 4 depths per task; 16 depths per task cut that to ~1 min).
  Density quantities (quantiles, condition) add about 0.5-1 CPU s per cell at 400 points.
"""

from __future__ import annotations

import argparse
import logging
import math
import time

import numpy as np

ACTIVATIONS = "tanh,relu,erf"
WEIGHTS = "orthogonal,gaussian"
SIGMA_RANGE = (1.05, 4.0)
SIGMA_B2 = 0.01
#: the issue's quantities without the density ones (mean field, moments, spread, the top edge)
QUANTITIES = "meanfield,m1,spread,lambda_max"
#: assumed cores per node of the 100-node cluster of the extrapolation
NODE_CORES = 32
#: Dask scheduler cost per task (order of magnitude from the distributed documentation: ~1 ms per task)
SCHEDULER_SECONDS_PER_TASK = 1e-3


def _grid(sigma_points, depths):
    return {"activation": ACTIVATIONS, "weights": WEIGHTS,
            "sigma_w2": f"{SIGMA_RANGE[0]}:{SIGMA_RANGE[1]}:{sigma_points}", "depth": depths,
            "sigma_b2": SIGMA_B2}


def worker_cpu(address) -> float:
    """CPU seconds used so far by all worker processes of the cluster at ``address``."""
    from distributed import Client

    with Client(address) as client:
        return float(sum(client.run(time.process_time).values()))


def timed_sweep(address, grid, quantities):
    """(wall seconds, worker CPU seconds, dataset) of one sweep on a running cluster."""
    from spectral.sweeps import sweep

    cpu0 = worker_cpu(address)
    t0 = time.perf_counter()
    ds = sweep(**grid, quantities=quantities, scheduler=address, progress=False)
    wall = time.perf_counter() - t0
    return wall, worker_cpu(address) - cpu0, ds


def cluster(n):
    from distributed import LocalCluster

    t0 = time.perf_counter()
    c = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=":0",
                     silence_logs=logging.ERROR)
    return c, time.perf_counter() - t0


def report(label, wall, cpu, ds, n_workers):
    """One line; the CPU share shows whether the workers had their cores (1.0) or shared them."""
    cells = int(ds["done"].size)
    cell_s = float(np.nansum(ds["seconds"].values))
    failed = int(ds["failed"].sum())
    print(f"  {label:<18} {cells:5d} cells {wall:7.1f} s wall {cells / wall:6.2f} cells/s  worker CPU {cpu:7.1f} s "
          f"(share {cpu / (wall * n_workers):4.0%})  cell wall summed {cell_s:7.1f} s  failed {failed}")
    return cells, cpu


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="the 192-cell stand-in and sizes 48, 96, 192")
    ap.add_argument("--workers", type=int, default=2, help="workers of the parallel run (default: 2)")
    ap.add_argument("--sigma-points", type=int, default=None, help="sigma_w^2 points (default 64; quick 8)")
    ap.add_argument("--depths", default=None, help="depth axis (default 1,2,4,...,32768; quick 1,16,256,1024)")
    ap.add_argument("--quantities", default=QUANTITIES)
    args = ap.parse_args(argv)
    sp = args.sigma_points or (8 if args.quick else 64)
    depths = args.depths or ("1,16,256,1024" if args.quick else "1,2,4,...,32768")
    grid = _grid(sp, depths)
    print(f"grid: {grid}\nquantities: {args.quantities}")

    print(f"\n1. one worker vs {args.workers} workers, same grid")
    walls, cpus = {}, {}
    for n in (1, args.workers):
        c, start = cluster(n)
        with c:
            print(f"  LocalCluster({n}) started in {start:.1f} s")
            walls[n], cpu, ds = timed_sweep(c.scheduler_address, grid, args.quantities)
            cells, _ = report(f"{n} worker(s)", walls[n], cpu, ds, n)
            cpus[n] = cpu
    speedup = walls[1] / walls[args.workers]
    print(f"  speed-up {speedup:.2f} on {args.workers} workers (efficiency {speedup / args.workers:.0%}); "
          f"CPU work {cpus[args.workers] / cpus[1]:.2f}x that of 1 worker (1.00: no parallel overhead)")

    print(f"\n2. cost against grid size ({args.workers} workers)")
    sizes = (2, 4, 8) if args.quick else (8, 16, 32, 64)
    rows = []
    c, _ = cluster(args.workers)
    with c:
        for n_sigma in sizes:
            wall, cpu, ds = timed_sweep(c.scheduler_address, _grid(n_sigma, depths), args.quantities)
            rows.append(report(f"sigma_w2 x {n_sigma}", wall, cpu, ds, args.workers) + (wall,))
    n_cells = np.array([r[0] for r in rows], float)
    wall = np.array([r[2] for r in rows])
    slope, intercept = np.polyfit(n_cells, wall, 1)
    print(f"  wall ~ {intercept:.2f} s + {slope * 1e3:.1f} ms x cells (least squares over {len(rows)} sizes)")

    cpu_cells = np.array([r[1] for r in rows])
    c_slope, c_icpt = np.polyfit(n_cells, cpu_cells, 1)
    print(f"  worker CPU ~ {c_icpt:.2f} s + {c_slope * 1e3:.1f} ms x cells")
    per_cell = cpus[1] / cells
    print(f"\n3. extrapolation: measured {per_cell:.3f} CPU s per cell (1-worker run)")
    for n_cells_target in (6144, 10 ** 6):
        tasks = n_cells_target / len(ds["depth"])
        t = n_cells_target * per_cell / (100 * NODE_CORES)
        t += tasks * SCHEDULER_SECONDS_PER_TASK
        print(f"  {n_cells_target:>8} cells on 100 nodes x {NODE_CORES} cores: ~{t / 60:.1f} min "
              f"(each core busy, {tasks:.0f} tasks, scheduler ~{SCHEDULER_SECONDS_PER_TASK * 1e3:g} ms/task)")
    one = 6144 * per_cell
    print(f"  the 6144-cell grid: ~{one / 60:.1f} CPU min, i.e. ~{one / 60 / args.workers:.1f} min on "
          f"{args.workers} free cores")
    return 0 if math.isfinite(speedup) else 1


if __name__ == "__main__":
    raise SystemExit(main())
