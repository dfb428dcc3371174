"""Throughput of the Monte Carlo sampler against the batched-matmul bound and two baselines, in one run.

The work of forming J = D_L W_L ... D_1 W_1 for n networks of width N and depth L is L products of
N x N matrices per network (2 L N^3 flops each).  The **bound** is the time of exactly these products as
plain ``np.matmul`` calls with the best thread layout found on the machine in the same run: the whole batch
in one call with BLAS threaded over all cores, or the batch split over one worker per core with one BLAS
thread each.  Every sampler row is reported as

    fraction of the bound = (bound time) / (sampler time)

and against two baselines a user could write for the same networks (critical tanh, the same sigma_w2,
sigma_b2, widths and weight law), measured in the same run:

* the naive loop: per network, draw the weights (Haar: sign-corrected ``np.linalg.qr`` of a Gaussian),
  forward pass, J <- D_l W_l J, ``np.linalg.svd(J, compute_uv=False)``; the faster of NumPy's default
  BLAS threads and one BLAS thread;
* the naive stable loop (:func:`naive_stable_loop`: per layer ``np.linalg.qr(D W Q)``, the graded product
  of the R factors, the final SVD), what a user who needs the small singular values writes: the
  like-for-like baseline of the stable product (the naive loop's SVD of the formed J returns rounding noise
  for the bottom singular values at these depths); the faster of default BLAS threads and one;
* ``torch.func.jacrev`` of the equivalent ``nn.Sequential`` (Linear + Tanh, weights drawn per network),
  then ``torch.linalg.svdvals``, when torch imports (it is not a dependency: the script says when it is
  skipped); the faster of torch's default intra-op threads and one thread.

``--stable plain`` adds rows of the stable product with plain draws (``rotate_draws=False``: the weights
themselves, not W' = W Q), the same-run "before" of rotated draws.  Each case also prints what the stable
product buys: on the same networks, the singular values the direct SVD of the formed J gets wrong.

Every timed function is called once on a small case first (imports, lazy initialisation, thread pools), and
every row and every layout of the bound and the baselines is the best of ``--repeat`` timings taken
round-robin (one timing of each per round: on a shared machine the load changes over a run, and timing each
function in its own block let the load decide the ratios; the load average is printed).  Each row also gives
the naive loop's process CPU time (all threads; the least of its layouts) over the row's: the ratio of the
work the two do, which is what decides the wall-clock ratio when the machine's cores are not free.

``speed-up`` columns are baseline time / sampler time (>= 1: the sampler is at least as fast).  The summary
line of each case takes every row against its like-for-like baselines: rows that resolve to the direct
product against the faster of the naive loop and jacrev, rows that resolve to the stable product against the
naive stable loop (Haar weights: also against the direct baselines, accurate there); the Gaussian stable rows
against the direct baselines are printed apart (those baselines return rounding noise for the bottom values).  When CuPy
and a GPU are present it also prints the CuPy / NumPy speed-up at N = 1024..4096 with the agreement of the
moment statistics (two-sample z-scores; random streams differ between backends).

Usage::

    python benchmarks/bench_montecarlo.py [--grid 256x8 256x128 512x32 1024x8] [--n 2] [--weights ...]
                                          [--stable auto direct stable plain] [--repeat 2] [--gpu-sizes ...] [--quick]
"""

from __future__ import annotations

import argparse
import math
import os
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

from spectral._backend import get_backend, n_cpus
from spectral.montecarlo import sample_jacobians
from spectral.product import Network

#: sigma_w2 of the critical tanh networks (sigma_b2 solved from chi = 1), the setting of issue 21.
SIGMA_W2 = 1.05
#: ``--stable`` choices: sampler options of each row ("plain": the stable product with plain draws, W itself,
#: instead of the rotated draws W' = W Q of the default; the same-run before/after of rotated draws).
STABLE = {"auto": {"stable": None}, "direct": {"stable": False}, "stable": {"stable": True},
          "plain": {"stable": True, "rotate_draws": False}}
#: Relative error (of a singular value) above which the direct SVD's value counts as lost.
LOST_REL_ERROR = 1e-6


def _net(weights, depth):
    return Network.critical("tanh", sigma_w2=SIGMA_W2, depth=depth, weights=weights)


def matmul_bound(n_mat, depth, n):
    """The same products as plain matmuls, J <- A J (L times per network), under each thread layout.

    Returns ``{("bound", layout): callable}`` for :func:`round_robin`: ``"threaded BLAS"`` (one call on the
    batch, BLAS on all cores) and ``"1 BLAS thread x W workers"`` (the batch split over W = cores threads)."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n_mat, n_mat)) / math.sqrt(n_mat)
    workers = n_cpus()

    def chain(b):
        j = b.copy()
        for _ in range(depth):
            j = np.matmul(b, j)
        return j

    def threaded():
        with threadpool_limits(workers, "blas"):
            chain(a)

    parts = np.array_split(a, workers)

    def split():
        with threadpool_limits(1, "blas"), ThreadPoolExecutor(workers) as pool:
            list(pool.map(chain, parts))

    return {("bound", f"threaded BLAS ({workers} threads)"): threaded,
            ("bound", f"1 BLAS thread x {workers} workers"): split}


def naive_loop(net, n_mat, n, seed=0):
    """What a user would write: per network draw, forward pass, form J, ``np.linalg.svd``; seconds."""
    layer = net.layers[0]
    act = layer.activation
    sb = math.sqrt(layer.sigma_b2)
    rng = np.random.default_rng(seed)
    t = time.perf_counter()
    for _ in range(n):
        x = rng.standard_normal(n_mat)
        j = np.eye(n_mat)
        for _ in range(net.depth):
            w = _naive_weights(rng, layer, n_mat)
            h = w @ x + sb * rng.standard_normal(n_mat)
            x = act.phi(h)
            j = (act.dphi(h)[:, None] * w) @ j
        np.linalg.svd(j, compute_uv=False)
    return time.perf_counter() - t


def _naive_weights(rng, layer, n_mat):
    sw = math.sqrt(layer.sigma_w2)
    if layer.weights == "orthogonal":
        q, r = np.linalg.qr(rng.standard_normal((n_mat, n_mat)))
        return sw * q * np.sign(np.diag(r))
    return rng.standard_normal((n_mat, n_mat)) * (sw / math.sqrt(n_mat))


def naive_stable_loop(net, n_mat, n, seed=0):
    """What a user who needs the small singular values writes: per layer J = Q diag(e^l) T is updated by
    Q, R = ``np.linalg.qr(D W Q)``, T <- (R_ij / |R_ii| e^(l_j - l_i)) T, l += log|diag R| (the graded
    product, unpivoted), then ``np.linalg.svd`` of diag(e^(l - max l)) T; seconds."""
    layer = net.layers[0]
    act = layer.activation
    sb = math.sqrt(layer.sigma_b2)
    rng = np.random.default_rng(seed)
    t = time.perf_counter()
    for _ in range(n):
        x = rng.standard_normal(n_mat)
        q, logd, tri = np.eye(n_mat), np.zeros(n_mat), np.eye(n_mat)
        for _ in range(net.depth):
            w = _naive_weights(rng, layer, n_mat)
            h = w @ x + sb * rng.standard_normal(n_mat)
            x = act.phi(h)
            q, r = np.linalg.qr((act.dphi(h)[:, None] * w) @ q)
            rd = np.diag(r)
            scale = np.exp(np.minimum(logd[None, :] - logd[:, None], 700.0))
            tri = ((r / np.abs(rd)[:, None]) * scale) @ tri
            logd = logd + np.log(np.abs(rd))
        np.linalg.svd(np.exp(logd - logd.max())[:, None] * tri, compute_uv=False)
    return time.perf_counter() - t


def _timed(f):
    """(wall seconds, process CPU seconds of all threads) of one call of ``f``."""
    w, c = time.perf_counter(), time.process_time()
    f()
    return time.perf_counter() - w, time.process_time() - c


def _torch_version():
    """torch's version, or None with the reason it does not import (it is optional)."""
    try:
        import torch
    except Exception as exc:  # noqa: BLE001 - torch is optional
        return None, f"torch not importable ({type(exc).__name__}: {exc}); torch baseline skipped"
    return torch.__version__, ""


def _with_torch_threads(threads, f):
    """``f`` run with torch's intra-op threads set to ``threads`` (restored after)."""
    import torch

    def run():
        default = torch.get_num_threads()
        torch.set_num_threads(threads)
        try:
            f()
        finally:
            torch.set_num_threads(default)
    return run


def _with_one_blas_thread(f):
    def run():
        with threadpool_limits(1, "blas"):
            f()
    return run


def round_robin(tasks, repeat):
    """Time every task once per round, ``repeat`` rounds (the load of a shared machine changes over a run:
    interleaving exposes every row and baseline to the same load); returns ``{name: (best wall, its CPU)}``."""
    times: dict = {name: [] for name in tasks}
    for _ in range(repeat):
        for name, f in tasks.items():
            times[name].append(_timed(f))
    return {name: min(ts) for name, ts in times.items()}


def torch_jacrev(net, n_mat, n):
    """``torch.func.jacrev`` of the equivalent nn.Sequential (weights drawn per network) + svdvals; seconds."""
    import torch
    from torch.func import jacrev

    layer = net.layers[0]
    torch.manual_seed(0)
    t = time.perf_counter()
    for _ in range(n):
        mods = []
        for _ in range(net.depth):
            lin = torch.nn.Linear(n_mat, n_mat, dtype=torch.float64)
            with torch.no_grad():
                if layer.weights == "orthogonal":
                    torch.nn.init.orthogonal_(lin.weight, gain=math.sqrt(layer.sigma_w2))
                else:
                    torch.nn.init.normal_(lin.weight, std=math.sqrt(layer.sigma_w2 / n_mat))
                torch.nn.init.normal_(lin.bias, std=math.sqrt(layer.sigma_b2))
            mods += [lin, torch.nn.Tanh()]
        model = torch.nn.Sequential(*mods)
        x = torch.randn(n_mat, dtype=torch.float64)
        with torch.no_grad():
            torch.linalg.svdvals(jacrev(model)(x))
    return time.perf_counter() - t


def gpu_rows(sizes, depth, n):
    try:
        be = get_backend("cupy")
    except ValueError as exc:
        return None, str(exc)
    cp = be.module
    out = []
    net = Network.critical("tanh", sigma_w2=SIGMA_W2, depth=depth, weights="orthogonal")
    for n_mat in sizes:
        # warm-up (kernels, cuSOLVER handles)
        sample_jacobians(net, width=n_mat, n_samples=2, mode="network", backend="cupy", seed=1, stable=False,
                         progress=False)
        cp.cuda.Device().synchronize()
        g = sample_jacobians(net, width=n_mat, n_samples=n, mode="network", backend="cupy", seed=0, stable=False,
                             progress=False)
        c = sample_jacobians(net, width=n_mat, n_samples=n, mode="network", backend="numpy", seed=0, stable=False,
                             progress=False)
        (mg, sg), (mc, sc) = g.moments(4), c.moments(4)
        z = (mg - mc) / np.hypot(sg, sc)
        out.append((n_mat, c.seconds, g.seconds, z))
    name = cp.cuda.runtime.getDeviceProperties(0)["name"]
    return out, name.decode() if isinstance(name, bytes) else str(name)


def _blas_line():
    info = threadpool_info()
    return ", ".join(f"{d.get('internal_api')} {d.get('version')} ({d.get('num_threads')} threads)" for d in info
                     if d.get("user_api") == "blas") or "no BLAS found by threadpoolctl"


def _baseline_tasks(net, n_mat, n, torch_ok):
    """The baselines under each thread layout, each warmed up: ``{(baseline, layout): callable}``."""
    tasks = {}
    for name, loop in (("naive loop", naive_loop), ("naive stable loop", naive_stable_loop)):
        loop(net, 32, 1)  # warm-up
        tasks[(name, "default BLAS threads")] = lambda loop=loop: loop(net, n_mat, n)
        tasks[(name, "1 BLAS thread")] = _with_one_blas_thread(lambda loop=loop: loop(net, n_mat, n))
    if torch_ok:
        import torch

        torch_jacrev(net, 32, 1)  # warm-up
        for threads in sorted({torch.get_num_threads(), 1}, reverse=True):
            tasks[("torch.func.jacrev", f"{threads} threads")] = _with_torch_threads(
                threads, lambda: torch_jacrev(net, n_mat, n))
    return tasks


def _best_layout(res, baseline):
    """(wall, CPU, layout) of the faster layout of ``baseline`` in the round-robin results ``res``."""
    (wall, cpu), layout = min((v, k[1]) for k, v in res.items() if isinstance(k, tuple) and k[0] == baseline)
    return wall, cpu, layout


def cpu_section(a, n_mat, depth):
    n = a.n
    flops = 2.0 * depth * n_mat ** 3 * n
    print(f"CPU: {n_cpus()} usable cores, load average {os.getloadavg()[0]:.1f}; BLAS: {_blas_line()}")
    print(f"N={n_mat}, L={depth}, {n} networks, critical tanh (sigma_w2={SIGMA_W2}); "
          f"{flops / 1e9:.1f} GFLOP of products")
    sample_jacobians(_net("orthogonal", 2), width=16, n_samples=2, backend="numpy", progress=False)  # warm-up
    torch_version, torch_msg = _torch_version()
    print(f"  bound, rows and baselines timed round-robin, {a.repeat} rounds, the best wall of each kept; "
          "'CPU vs naive': the naive loop's least process CPU time (all threads) over the row's; speed-ups are "
          "baseline time / sampler time")
    print(f"  {'weights':<11}{'mode':<9}{'stable':<8}{'method':<8}{'seconds':>9}{'of bound':>10}"
          f"{'vs naive':>10}{'vs torch':>10}{'vs naive stable':>16}{'CPU vs naive':>14}")
    summary: list[float] = []
    stable_vs_direct: list[float] = []
    for weights in a.weights:
        net = _net(weights, depth)
        tasks = matmul_bound(n_mat, depth, n) | _baseline_tasks(net, n_mat, n, torch_version is not None)
        rows = [(mode, st) for mode in a.modes for st in a.stable]
        last: dict = {}  # each row's last result (which product it resolved to)

        def row(mode, st, net=net, last=last):
            last[(mode, st)] = sample_jacobians(net, width=n_mat, n_samples=n, mode=mode, backend="numpy", seed=0,
                                                progress=False, **STABLE[st])
        for mode, st in rows:
            tasks[f"{mode} {st}"] = lambda mode=mode, st=st: row(mode, st)
        res = round_robin(tasks, a.repeat)
        for key, (sec, _c) in res.items():
            if isinstance(key, tuple) and key[0] == "bound":
                print(f"  {weights:<11}bound, {key[1]}: {sec:.2f} s ({flops / sec / 1e9:.1f} GFLOP/s)")
        bound, _c, _how = _best_layout(res, "bound")
        t_naive, _c, how = _best_layout(res, "naive loop")
        c_naive = min(v[1] for k, v in res.items() if isinstance(k, tuple) and k[0] == "naive loop")
        t_nst, _c, how_st = _best_layout(res, "naive stable loop")
        t_torch, _c, how_t = _best_layout(res, "torch.func.jacrev") if torch_version else (None, None, "")
        print(f"  {weights:<11}bound = {bound:.2f} s (best layout)")
        print(f"  {weights:<11}baselines: naive loop {t_naive:.2f} s ({bound / t_naive:.2f} of bound, {how}); "
              + (f"torch.func.jacrev {t_torch:.2f} s ({bound / t_torch:.2f} of bound; torch {torch_version}, "
                 f"{how_t})" if t_torch else torch_msg)
              + f"; naive stable loop {t_nst:.2f} s ({bound / t_nst:.2f} of bound, {how_st})")
        for mode, st in rows:
            sec, cpu = res[f"{mode} {st}"]
            stable = last[(mode, st)].stable
            vs_t = f"{t_torch / sec:10.2f}" if t_torch else f"{'-':>10}"
            print(f"  {weights:<11}{mode:<9}{st:<8}{'stable' if stable else 'direct':<8}{sec:9.2f}"
                  f"{bound / sec:10.2f}{t_naive / sec:10.2f}{vs_t}{t_nst / sec:16.2f}{c_naive / cpu:14.2f}")
            # like for like: the direct product against the direct baselines, the stable product against
            # the naive stable loop (and against the direct baselines where they are accurate: Haar)
            direct_base = min(t_naive, t_torch or math.inf) / sec
            summary.append(direct_base if not stable else t_nst / sec)
            if stable:
                (stable_vs_direct if weights == "gaussian" else summary).append(direct_base)
        print("  " + direct_accuracy(net, n_mat, n))
    print(f"  slowest sampler row vs its like-for-like baselines: {min(summary):.2f}x"
          + (f"; Gaussian stable rows vs the faster direct baseline (whose bottom singular values are rounding "
             f"noise here): {min(stable_vs_direct):.2f}-{max(stable_vs_direct):.2f}x" if stable_vs_direct else "")
          + f"; load average at the end {os.getloadavg()[0]:.1f}")
    return min(summary)


def direct_accuracy(net, n_mat, n):
    """What the stable product buys: on the same networks (plain draws), how many singular values of the
    direct SVD of the formed J (the naive loop's and jacrev's method) are off by more than
    :data:`LOST_REL_ERROR` relative, and the largest error in log s."""
    kw = dict(width=n_mat, n_samples=n, mode="network", backend="numpy", seed=0, progress=False)
    direct = sample_jacobians(net, stable=False, **kw).log_singular_values
    exact = sample_jacobians(net, stable=True, rotate_draws=False, **kw).log_singular_values
    fin = np.isfinite(exact)
    err = np.abs(np.where(fin & np.isfinite(direct), direct - exact, np.inf))[fin]
    lost = int(np.sum(err > math.log1p(LOST_REL_ERROR)))
    spread = float(np.max(exact[:, 0] - np.where(fin, exact, np.inf).min(axis=1)))
    return (f"accuracy of the direct SVD of J on the same networks: log-range {spread:.0f} nats, "
            f"{lost} of {err.size} singular values off by > {LOST_REL_ERROR:g} relative, "
            f"max |error of log s| {float(np.max(err)):.3g}")


def _grid(text):
    """``"256x8"`` -> (256, 8)."""
    try:
        n_mat, depth = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"grid entries are NxL, e.g. 256x8, got {text!r}") from None
    if n_mat < 2 or depth < 1:
        raise argparse.ArgumentTypeError(f"grid entries need N >= 2 and L >= 1, got {text!r}")
    return n_mat, depth


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--grid", type=_grid, nargs="+", default=[(256, 8), (256, 128), (512, 32), (1024, 8)],
                   help="N x L cases (default: a representative subset of N = 256..1024, L = 8..128)")
    p.add_argument("--n", type=int, default=2, help="networks per run (2: one per worker on 2 cores)")
    p.add_argument("--weights", nargs="+", default=["gaussian", "orthogonal"], choices=["gaussian", "orthogonal"])
    p.add_argument("--modes", nargs="+", default=["network", "free"], choices=["network", "free"])
    p.add_argument("--stable", nargs="+", default=["auto", "direct", "stable"], choices=list(STABLE))
    p.add_argument("--gpu-sizes", type=int, nargs="*", default=[1024, 2048, 4096])
    p.add_argument("--gpu-depth", type=int, default=16)
    p.add_argument("--repeat", type=int, default=2,
                   help="rounds of timings (each row, bound layout and baseline layout once per round), the best kept")
    p.add_argument("--quick", action="store_true", help="N=128, L=8, 4 networks (smoke test)")
    a = p.parse_args(argv)
    if a.quick:
        a.grid, a.n, a.gpu_sizes = [(128, 8)], 4, [256]
    worst = [cpu_section(a, n_mat, depth) for n_mat, depth in a.grid]
    print(f"CPU: slowest sampler row vs its like-for-like baselines over all cases: {min(worst):.2f}x")
    rows, info = gpu_rows(a.gpu_sizes, a.gpu_depth, a.n)
    if rows is None:
        print(f"GPU: skipped ({info})")
        return
    print(f"GPU: {info}; tanh critical orthogonal, depth {a.gpu_depth}, {a.n} networks, network mode, direct")
    print(f"  {'N':>6}{'numpy s':>10}{'cupy s':>10}{'speed-up':>10}  max |z| (m1..m4, cupy vs numpy)")
    for n_mat, tc, tg, z in rows:
        print(f"  {n_mat:>6}{tc:10.2f}{tg:10.3f}{tc / tg:10.1f}  {np.max(np.abs(z)):.2f}")


if __name__ == "__main__":
    main()
