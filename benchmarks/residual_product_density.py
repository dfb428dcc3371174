"""CPU time of a certified density of a product of distinct residual blocks, against one block in the same run.

Run: PYTHONPATH=. python3 benchmarks/residual_product_density.py [points] [distinct blocks ...]
(default 200 points; 2 8 16; ``200 64 256`` for the deep cases, ~30 s and ~160 s).
For ``scaled_resnet(n)`` (tanh, Gaussian, beta = n^-1/2: n distinct blocks, q grows
from block to block) it prints the CPU seconds (one BLAS thread), the ratio to the baseline -- the single block
``scaled_resnet(1)`` in the same run -- and per distinct block, the certificate, and the errors of mass, m_1, m_2
against the spec's moment series.  docs/design.md §6.1 lists the figures.
"""

import sys
import time

from threadpoolctl import threadpool_limits

import spectral as sp
from spectral.architecture.presets import scaled_resnet


def timed(n, points):
    law = sp.jacobian_law(scaled_resnet(n))
    t0 = time.process_time()
    res = law.density(points)
    return time.process_time() - t0, res


def main(points=200, counts=(2, 8, 16)):
    with threadpool_limits(1):
        base, res = timed(1, points)
        print(f"baseline: 1 block, {points} points: {base:.1f} s CPU, certified={res.certified}")
        for n in counts:
            dt, res = timed(n, points)
            d = res.diagnostics
            print(f"{n:4d} distinct blocks: {dt:7.1f} s CPU = {dt / base:6.1f} x baseline ({dt / n:.2f} s per block) "
                  f"certified={res.certified} mass-1={res.mass - 1:.1e} m1 rel {d['m1_rel_err']:.1e} "
                  f"m2 rel {d['m2_rel_err']:.1e}")


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:]]
    main(args[0] if args else 200, tuple(args[1:]) or (2, 8, 16))
