"""Time of one certified density of a residual block B = I + beta D W (tanh, Gaussian sigma_w^2 = 1, q = 1).

Run: PYTHONPATH=. python3 benchmarks/residual_block_density.py [points]
Prints the time, the certificate, mass and the relative errors of m_1, m_2 against the moment series, and the
number of block-transform evaluations served from a warm start and by the continuation path.
"""

import sys
import time

import spectral as sp
from spectral.architecture import architecture_law


def main(points=2000):
    for beta in (1.0, 8 ** -0.5):
        spec = sp.Sequential([sp.Residual([sp.Dense("gaussian", 1.0), sp.activation("tanh")], alpha=1.0, beta=beta)])
        block = architecture_law(spec).blocks[0]
        rec = block.solver_factors()
        t0 = time.perf_counter()
        res = sp.density.density(rec, points)
        dt = time.perf_counter() - t0
        d = res.diagnostics
        stats = rec.factors[0].m.__self__.stats
        print(f"beta={beta:.4f} points={points}: {dt:.1f} s certified={res.certified} mass-1={res.mass - 1:.1e} "
              f"m1 rel {d['m1_rel_err']:.1e} m2 rel {d['m2_rel_err']:.1e} support={res.support} "
              f"transform: {stats}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
