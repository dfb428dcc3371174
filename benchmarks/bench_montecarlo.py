"""Throughput of the Monte Carlo sampler relative to plain batched matrix products, in one run.

The work of forming J = D_L W_L ... D_1 W_1 for n networks of width N and depth L is L batched
N x N x N products (2 L N^3 flops per network).  The sampler also draws the weights (and, for Haar
weights, QR-factorises a Gaussian matrix per layer), applies D_l, and takes the singular values at the
end; its throughput is reported as

    ratio = (time of the plain batched products, best threading) / (time of the sampler)

on the same backend (aim: >= 0.6 on CPU for N = 512, L = 32, Gaussian weights).  Also printed: BLAS
threading vs one BLAS thread per batch worker (docs/design.md §4.9), the stable product's cost, an
autodiff baseline (torch.func.jacrev of an equivalent nn.Sequential) when torch imports, and, when CuPy
and a GPU are present, the CuPy / NumPy speed-up at N = 1024..4096 with the agreement of the moment
statistics (two-sample z-scores; random streams differ between backends).

Usage::

    python benchmarks/bench_montecarlo.py [--N 512] [--L 32] [--n 8] [--gpu-sizes 1024 2048 4096] [--quick]
"""

from __future__ import annotations

import argparse
import math
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from threadpoolctl import threadpool_limits

from spectral._backend import get_backend, n_cpus
from spectral.montecarlo import sample_jacobians
from spectral.product import Network


def _best(f, repeat):
    out = math.inf
    for _ in range(repeat):
        t = time.perf_counter()
        f()
        out = min(out, time.perf_counter() - t)
    return out


def matmul_baseline_cpu(n_mat, depth, n, repeat=2):
    """Plain batched products J <- A J, L times: BLAS-threaded, and one BLAS thread per batch worker."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n_mat, n_mat))

    def chain(b):
        j = b.copy()
        for _ in range(depth):
            j = np.matmul(b, j)
        return j

    t_blas = _best(lambda: chain(a), repeat)
    workers = n_cpus()
    parts = np.array_split(a, workers)

    def split():
        with threadpool_limits(1, "blas"), ThreadPoolExecutor(workers) as pool:
            list(pool.map(chain, parts))

    t_split = _best(split, repeat)
    return t_blas, t_split, workers


def sampler_rows(n_mat, depth, n, backend="numpy"):
    rows = []
    for weights in ("gaussian", "orthogonal"):
        net = Network(activation="relu", weights=weights, sigma_w2=2.0, sigma_b2=0.0, depth=depth)
        for mode in ("network", "free"):
            s = sample_jacobians(net, width=n_mat, n_samples=n, mode=mode, backend=backend, seed=0, stable=False,
                                 progress=False)
            rows.append((weights, mode, "direct", s.seconds))
    net = Network(activation="relu", weights="gaussian", sigma_w2=2.0, sigma_b2=0.0, depth=depth)
    s = sample_jacobians(net, width=n_mat, n_samples=n, mode="free", backend=backend, seed=0, stable=True,
                         progress=False)
    rows.append(("gaussian", "free", "stable", s.seconds))
    return rows


def torch_baseline(n_mat, depth, n):
    """Jacobian of nn.Sequential(Linear, ReLU, ...) by torch.func.jacrev, plus svdvals; seconds for n nets."""
    try:
        import torch
        from torch.func import jacrev
    except Exception as exc:  # noqa: BLE001 - torch is optional
        return None, f"torch not importable ({type(exc).__name__}: {exc}); autodiff baseline skipped"
    torch.set_num_threads(n_cpus())
    layers = []
    for _ in range(depth):
        lin = torch.nn.Linear(n_mat, n_mat, bias=False, dtype=torch.float64)
        torch.nn.init.normal_(lin.weight, std=math.sqrt(2.0 / n_mat))
        layers += [lin, torch.nn.ReLU()]
    model = torch.nn.Sequential(*layers)
    x = torch.randn(n_mat, dtype=torch.float64)
    t = time.perf_counter()
    with torch.no_grad():
        for _ in range(n):
            jac = jacrev(model)(x)
            torch.linalg.svdvals(jac)
    return time.perf_counter() - t, f"torch {torch.__version__}, {torch.get_num_threads()} threads"


def gpu_rows(sizes, depth, n):
    try:
        be = get_backend("cupy")
    except ValueError as exc:
        return None, str(exc)
    cp = be.module
    out = []
    net = Network.critical("tanh", sigma_w2=1.05, depth=depth, weights="orthogonal")
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


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--N", type=int, default=512)
    p.add_argument("--L", type=int, default=32)
    p.add_argument("--n", type=int, default=8, help="networks per run")
    p.add_argument("--gpu-sizes", type=int, nargs="*", default=[1024, 2048, 4096])
    p.add_argument("--gpu-depth", type=int, default=16)
    p.add_argument("--quick", action="store_true", help="N=128, L=8 (smoke test)")
    a = p.parse_args(argv)
    if a.quick:
        a.N, a.L, a.n, a.gpu_sizes = 128, 8, 4, [256]
    n_mat, depth, n = a.N, a.L, a.n
    flops = 2.0 * depth * n_mat ** 3 * n
    print(f"CPU: {n_cpus()} usable cores; N={n_mat}, L={depth}, {n} networks ({flops / 1e9:.1f} GFLOP of products)")
    t_blas, t_split, workers = matmul_baseline_cpu(n_mat, depth, n)
    base = min(t_blas, t_split)
    print(f"  plain batched products: BLAS-threaded {t_blas:.2f} s, 1 BLAS thread x {workers} batch workers "
          f"{t_split:.2f} s ({flops / base / 1e9:.1f} GFLOP/s best)")
    print(f"  {'weights':<11}{'mode':<9}{'product':<8}{'seconds':>9}{'ratio':>8}")
    for weights, mode, prod, sec in sampler_rows(n_mat, depth, n):
        print(f"  {weights:<11}{mode:<9}{prod:<8}{sec:9.2f}{base / sec:8.2f}")
    t_torch, msg = torch_baseline(n_mat, depth, n)
    if t_torch is None:
        print(f"  autodiff: {msg}")
    else:
        net = Network(activation="relu", weights="gaussian", sigma_w2=2.0, sigma_b2=0.0, depth=depth)
        s = sample_jacobians(net, width=n_mat, n_samples=n, mode="network", backend="numpy", seed=0, stable=False,
                             progress=False)
        print(f"  autodiff (torch.func.jacrev + svdvals, {msg}): {t_torch:.2f} s; "
              f"sampler is {t_torch / s.seconds:.2f}x faster; matmul ratio of autodiff {base / t_torch:.2f}")
    rows, info = gpu_rows(a.gpu_sizes, a.gpu_depth, n)
    if rows is None:
        print(f"GPU: skipped ({info})")
        return
    print(f"GPU: {info}; tanh critical orthogonal, depth {a.gpu_depth}, {n} networks, network mode, direct")
    print(f"  {'N':>6}{'numpy s':>10}{'cupy s':>10}{'speed-up':>10}  max |z| (m1..m4, cupy vs numpy)")
    for n_mat, tc, tg, z in rows:
        print(f"  {n_mat:>6}{tc:10.2f}{tg:10.3f}{tc / tg:10.1f}  {np.max(np.abs(z)):.2f}")


if __name__ == "__main__":
    main()
