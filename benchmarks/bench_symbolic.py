"""Time to derive the spectral curve, exact edges, discriminant and moments symbolically, as depth grows.

Run ``python benchmarks/bench_symbolic.py [--quick]``.  Prints one line per (case, depth) and a verdict on
where each route stops being practical (> ``BUDGET`` seconds).

Two routes:

* rational :math:`S_J` (ReLU / linear / hard-tanh with Gaussian or orthogonal weights): edges from the
  critical points of :math:`\\log z(m)`, whose degree does not grow with depth; the curve stays factored.
  Cheap at any depth (and the depth may be a symbol).
* algebraic :math:`S_J` (leaky ReLU): curve by resultants, edges from the discriminant of :math:`P(z, m)` in
  :math:`m`, whose degree grows with depth; this is the route that stops being practical.  Past that point
  use the numeric engine: ``spectral density`` / ``jacobian_law(net).density()`` for edges and
  ``jacobian_law(net).moments(k, exact=True)`` for exact moments.
"""

from __future__ import annotations

import sys
import time

import sympy as sp

from spectral.symbolic import symbolic_network

BUDGET = 10.0  # seconds: "practical" for an interactive derivation


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def run(case, depths, with_disc):
    act, weights, sw2 = case
    print(f"\n{act}/{weights}/sigma_w2={sw2}")
    print(f"{'depth':>6} {'curve+edges [s]':>16} {'moments(5) [s]':>15} {'disc [s]':>9}  edges (numeric)")
    limit = None
    for depth in depths:
        r, t_edges = timed(lambda depth=depth: symbolic_network(act, weights, sw2, depth))
        _, t_mom = timed(lambda r=r: r.moments(5))
        t_disc = float("nan")
        if with_disc and (limit is None):
            _, t_disc = timed(lambda r=r: r.discriminant)
        edges = ", ".join(f"{e:.6g}" for e in r.edges_numeric) if r.edges_numeric else str(r.edges)
        print(f"{str(depth):>6} {t_edges:16.3f} {t_mom:15.3f} {t_disc:9.3f}  {edges}")
        if limit is None and max(t_edges, t_disc if t_disc == t_disc else 0) > BUDGET:
            limit = depth
            if with_disc:
                print(f"   -> stops being practical at depth {depth} (> {BUDGET:.0f} s); stopping this case")
                break
    return limit


def main(quick=False):
    print(f"sympy {sp.__version__}; budget {BUDGET:.0f} s per derivation")
    run(("relu", "gaussian", 2), ["L", 1, 2, 4, 8, 16] + ([] if quick else [64, 256, 1000]), with_disc=False)
    run(("linear", "gaussian", 1), [1, 4, 16] + ([] if quick else [100, 1000]), with_disc=False)
    run(("relu", "gaussian", 2), [1, 4, 16] + ([] if quick else [64, 128, 256]), with_disc=True)
    leaky = [1, 2, 4] + ([] if quick else [8, 12, 16, 24, 32])
    run(("leaky_relu(0.1)", "gaussian", 2), leaky, with_disc=True)
    print("\nrational S_J: edges and moments take about a second up to L = 1000 (and L may be symbolic);"
          "\nthe expanded discriminant / leaky-relu resultant route grows quickly with depth (see the table);"
          "\nbeyond it use the numeric engine (spectral density, jacobian_law(net).moments(k, exact=True)).")


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
