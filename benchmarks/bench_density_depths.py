"""CPU time of a 2000-point density against depth, and shallow against deep in one run.

Run: ``python benchmarks/bench_density_depths.py [--repeat R]`` (one BLAS thread; CPU time of this process,
best of R, a fresh law each time so that no cache is reused: the time includes edges, grid, solve, tail and
the series moments of the certificate).

Prints, for relu/Gaussian (sigma_w^2 = 2) and critical tanh/orthogonal (sigma_w^2 = 1.05) at depths 1, 16,
1000 and 10^4, the CPU time and the certificate, then the ratio shallow / deep (depth 1 over depth 1000) for
tanh/orthogonal.  At depth 1 the nodes next to the top edge (the inverse square-root edge of the law of D^2
itself) are continued in several batches (soft-edge search, its two refinements, anchors, nodes the real-axis
Newton rejects): 172 + 32 + 32 + 179 + 142 steps on 96 + 16 + 16 + 68 + 131 nodes with the step control of deep
products, 58 + 16 + 16 + 58 + 39 steps on 96 + 16 + 16 + 68 + 86 nodes since single layers take the wide step
control and the 1/m seed (``continuation._path_free``); depth 1000 takes one batch of 118 steps on 73 nodes.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings

import numpy as np
from threadpoolctl import threadpool_limits

from spectral.product import Network, jacobian_law

DEPTHS = (1, 16, 1000, 10_000)


def relu_gaussian(depth):
    return jacobian_law(Network(activation="relu", weights="gaussian", sigma_w2=2, sigma_b2=0, depth=depth))


def tanh_orthogonal(depth):
    return jacobian_law(Network.critical("tanh", sigma_w2=1.05, depth=depth, weights="orthogonal"))


def cpu_time(make, depth, repeat):
    """Best CPU time of ``repeat`` densities (a fresh law each), and the last result."""
    best, res = float("inf"), None
    for _ in range(repeat):
        law = make(depth)
        t = time.process_time()
        res = law.density(2000)
        best = min(best, time.process_time() - t)
    return best, res


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore", RuntimeWarning)
    print(f"python {sys.version.split()[0]}, numpy {np.__version__}; one thread, CPU seconds, best of {args.repeat}")
    for make in (relu_gaussian, tanh_orthogonal):  # warm-up: imports, quadrature nodes, lambdified phi'
        make(2).density(64)
    times = {}
    for label, make in (("relu/gaussian", relu_gaussian), ("tanh/orthogonal", tanh_orthogonal)):
        for depth in DEPTHS:
            t, res = cpu_time(make, depth, args.repeat)
            times[label, depth] = t
            d = res.diagnostics
            print(f"{label:16s} depth {depth:6d}: {t:6.3f} s   certified {res.certified}, mass err "
                  f"{d['mass_error']:.1e}, m1 {d['m1_rel_err']:.1e}, m2 {d['m2_rel_err']:.1e}")
    ratio = times["tanh/orthogonal", 1] / times["tanh/orthogonal", 1000]
    print(f"\nshallow / deep (tanh/orthogonal, depth 1 / depth 1000): {ratio:.2f}")


if __name__ == "__main__":
    with threadpool_limits(1):
        main()
