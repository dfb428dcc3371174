"""Same-run ratios: spectral's certified density against a plain vectorized Newton and FreeNN's lilypads.

Run: ``python benchmarks/bench_ratios.py [--quick] [--repeat 3] [--lilypads-budget 60] [--no-cli]``

For 2000-point densities of relu/Gaussian (sigma_w^2 = 2, sigma_b^2 = 0) and tanh/orthogonal on the critical line
(sigma_w^2 = 1.05) at depths 1, 4, 16, 64, 1000, 10^4, with default BLAS threads (as users run them) and with
one thread (threadpoolctl), it prints the best-of-``repeat`` wall and CPU (process) time of

* ``jacobian_law(net).density(2000)`` (a fresh law each time: what a user's call costs, certificate included);
* the plain vectorized Newton of ``plain_newton.py`` on 2000 uniform points of spectral's support;
* FreeNN's lilypads (``lilypads.py``, relu only, plain-Python port) on the same points, given
  ``--lilypads-budget`` seconds per density;

with the ratios spectral / baseline (wall and CPU) and the baselines' accuracy: the median relative difference
from spectral's density where it exceeds 1e-3 of its maximum, and the error of the continuous mass (spectral's
certified mass is exact to 1e-6).  Last, the CPU time (user + system of the child) of the CLI command
``spectral density --activation tanh --weights orthogonal --sigma-w2 1.05 --critical --depth 10000``, with
default threads and with one thread (OMP/OPENBLAS/MKL_NUM_THREADS=1).

Measured (2-core machine shared with other jobs, load average 10-12, so wall times run 3-4x the CPU times; CPU
seconds, best of 3, default threads; full table and the figures before these changes in benchmarks/README.md):
spectral / plain Newton, relu/Gaussian: 0.075/0.072 (1.0x) at depth 1, 0.069/0.065 (1.1x) at 16, 0.134/0.079
(1.7x) at 1000, 0.127/0.067 (1.9x) at 10^4 (before: 3.3x-5.7x), the plain Newton's continuous mass off by 0.33 from
depth 16 and by 0.5 (all of it) from depth 1000; tanh/orthogonal (256-node quadrature law of D^2 in the
baseline): 0.286/0.609 (0.5x) at depth 1, 0.578/0.672 (0.9x) at 16, 0.962/0.758 (1.3x) at 10^4, the plain Newton
wrong at depth 1 (a discrete quadrature law read on the axis) and from depth 64 on.  Shallow / deep
(tanh/orthogonal, depth 1 / 1000): 0.60 (default threads), 0.98 (one thread; before 3.5).  spectral / lilypads
(plain-Python port): 0.35x at depth 1, 0.20x at 4, 0.06x at 16, 0.05x at 1000 (every lilypads point failed
there); at depth 64 lilypads took over 60 s (40 s wall with one thread, 163 failed points).  The CLI command at
depth 10^4: 3.2 s CPU with default threads, 3.0 s with one thread (before: 9.1 s, 8.9 s).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent))

from lilypads import OverBudget, lilypads_density  # noqa: E402
from plain_newton import plain_newton_density  # noqa: E402

from spectral.product import Network, jacobian_law  # noqa: E402

DEPTHS = (1, 4, 16, 64, 1000, 10_000)
QUICK_DEPTHS = (1, 4, 16)
POINTS = 2000
#: Densities of the baselines are compared where spectral's exceeds this fraction of its maximum.
FLOOR = 1e-3
CASES = {"relu/gaussian": ("relu", "gaussian", 2.0), "tanh/orthogonal": ("tanh", "orthogonal", 1.05)}
#: Deepest lilypads run: its Pascal matrix has (L+2)^2 entries (0.8 GB at depth 10^4); at depth 1000 every
#: point already fails (the expanded polynomial overflows).
LILYPADS_MAX_DEPTH = 1000
CLI = ["density", "--activation", "tanh", "--weights", "orthogonal", "--sigma-w2", "1.05", "--critical",
       "--depth", "10000", "--json"]


def network(case: str, depth: int) -> Network:
    act, weights, s = CASES[case]
    if act == "relu":
        return Network(activation=act, weights=weights, sigma_w2=s, sigma_b2=0.0, depth=depth)
    return Network.critical(act, sigma_w2=s, depth=depth, weights=weights)


def best_of(fn, repeat: int):
    """(result of the last call, best wall seconds, best CPU seconds of this process)."""
    walls, cpus, out = [], [], None
    for _ in range(repeat):
        w0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        walls.append(time.perf_counter() - w0)
        cpus.append(time.process_time() - c0)
    return out, min(walls), min(cpus)


def compare(res, x, rho, exact_mass):
    ref = np.interp(x, res.x, np.nan_to_num(res.density))
    ok = (ref > FLOOR * ref.max()) & np.isfinite(rho)
    med = float(np.median(np.abs(rho[ok] / ref[ok] - 1.0))) if ok.any() else float("nan")
    mass = float(np.nansum(rho) * (x[1] - x[0]))
    return med, abs(mass - exact_mass)


def one_case(case, depth, repeat, budget):
    net = network(case, depth)
    res, sw, sc = best_of(lambda: jacobian_law(net).density(POINTS), repeat)
    lo, hi = res.support
    x = lo + (hi - lo) * (np.arange(POINTS) + 0.5) / POINTS
    act, weights, s = CASES[case]
    exact = res.diagnostics["continuous_mass_exact"]
    with np.errstate(all="ignore"):
        (rho, _), pw, pc = best_of(lambda: plain_newton_density(act, weights, s, net.layers[0].sigma_b2, depth, x),
                                   repeat)
    row = {"case": case, "depth": depth, "certified": res.certified, "spectral_wall": sw, "spectral_cpu": sc,
           "plain_wall": pw, "plain_cpu": pc, "plain_acc": compare(res, x, rho, exact)}
    if act == "relu" and depth > LILYPADS_MAX_DEPTH:
        row.update(lily_wall=float("nan"), lily_cpu=float("nan"), lily_failed="not run (memory)")
    elif act == "relu":
        try:
            with np.errstate(all="ignore"):
                (rho_l, failed), lw, lc = best_of(lambda: lilypads_density(s, depth, x, budget), 1)
            row.update(lily_wall=lw, lily_cpu=lc, lily_failed=failed, lily_acc=compare(res, x, rho_l, exact))
        except OverBudget:
            row.update(lily_wall=float("nan"), lily_cpu=float("nan"), lily_failed=f"over {budget:g} s")
    return row


def print_rows(rows, label):
    print(f"\n== {label}: best wall / CPU seconds of a {POINTS}-point density; ratio = spectral / baseline ==")
    print(f"{'case':16} {'depth':>6} {'spectral':>15} {'plain Newton':>15} {'ratio w/cpu':>12} "
          f"{'plain acc (med, mass)':>22} {'lilypads':>15} {'ratio w/cpu':>12} {'lily acc / failed':>24}")
    for r in rows:
        pm, pmass = r["plain_acc"]
        line = (f"{r['case']:16} {r['depth']:>6} {r['spectral_wall']:7.3f}/{r['spectral_cpu']:<7.3f} "
                f"{r['plain_wall']:7.3f}/{r['plain_cpu']:<7.3f} {r['spectral_wall'] / r['plain_wall']:5.1f}/"
                f"{r['spectral_cpu'] / r['plain_cpu']:<6.1f} {pm:10.1e}, {pmass:9.1e}")
        if "lily_wall" in r:
            if isinstance(r["lily_failed"], str):
                line += f" {'-':>15} {'-':>12} {r['lily_failed']:>24}"
            else:
                lm, lmass = r["lily_acc"]
                line += (f" {r['lily_wall']:7.3f}/{r['lily_cpu']:<7.3f} {r['spectral_wall'] / r['lily_wall']:5.2f}/"
                         f"{r['spectral_cpu'] / r['lily_cpu']:<6.2f} {lm:8.1e},{lmass:8.1e},{r['lily_failed']:>4}")
        if not r["certified"]:
            line += "  (spectral: NOT certified)"
        print(line, flush=True)


def print_shallow_deep(rows):
    """Depth 1 against depth 1000 (issue: a shallow density must not cost more than a deep one)."""
    cpu = {(r["case"], r["depth"]): r["spectral_cpu"] for r in rows}
    for case in CASES:
        if (case, 1) in cpu and (case, 1000) in cpu:
            print(f"shallow / deep CPU, {case}: depth 1 / depth 1000 = {cpu[case, 1]:.3f} / {cpu[case, 1000]:.3f}"
                  f" = {cpu[case, 1] / cpu[case, 1000]:.2f}")


def cli_cpu(one_thread: bool):
    """(wall, CPU user+sys) of the depth-10^4 CLI density in a child process."""
    env = dict(os.environ)
    if one_thread:
        env.update(OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "spectral", *CLI], check=True, env=env, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help=f"depths {QUICK_DEPTHS}, one repeat, no CLI timing")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--lilypads-budget", type=float, default=60.0, help="seconds per lilypads density")
    ap.add_argument("--no-cli", action="store_true")
    args = ap.parse_args(argv)
    depths = QUICK_DEPTHS if args.quick else DEPTHS
    repeat = 1 if args.quick else args.repeat
    print(f"CPUs: {os.cpu_count()}; {POINTS} points; best of {repeat}")
    warnings.simplefilter("ignore")
    for label, limit in (("default threads", None), ("one BLAS thread", 1)):
        ctx = threadpool_limits(limit) if limit else contextlib.nullcontext()
        with ctx:
            rows = [one_case(case, d, repeat, args.lilypads_budget) for case in CASES for d in depths]
        print_rows(rows, label)
        print_shallow_deep(rows)
    if not (args.quick or args.no_cli):
        print("\n== CLI: spectral " + " ".join(CLI) + " ==")
        for one in (False, True):
            wall, cpu = cli_cpu(one)
            print(f"{'one thread' if one else 'default threads':16} wall {wall:6.2f} s, CPU {cpu:6.2f} s", flush=True)


if __name__ == "__main__":
    main()
