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

import multiprocessing as mp
import sys
import time

import sympy as sp

from spectral.symbolic import symbolic_network

BUDGET = 10.0  # seconds: "practical" for an interactive derivation
HARD_LIMIT = 60.0  # seconds: a derivation is killed after this


def _derive(act, weights, sw2, depth, with_disc, queue):
    t0 = time.perf_counter()
    r = symbolic_network(act, weights, sw2, depth)
    t_edges = time.perf_counter() - t0
    t0 = time.perf_counter()
    r.moments(5)
    t_mom = time.perf_counter() - t0
    t_disc = float("nan")
    if with_disc:
        t0 = time.perf_counter()
        _ = r.discriminant
        t_disc = time.perf_counter() - t0
    edges = ", ".join(f"{e:.6g}" for e in r.edges_numeric) if r.edges_numeric else str(r.edges)
    queue.put((t_edges, t_mom, t_disc, edges))


def run(case, depths, with_disc):
    """One line per depth; each derivation runs in a child process killed after HARD_LIMIT seconds."""
    act, weights, sw2 = case
    print(f"\n{act}/{weights}/sigma_w2={sw2}")
    print(f"{'depth':>6} {'curve+edges [s]':>16} {'moments(5) [s]':>15} {'disc [s]':>9}  edges (numeric)")
    for depth in depths:
        queue = mp.Queue()
        proc = mp.Process(target=_derive, args=(act, weights, sw2, depth, with_disc, queue))
        t0 = time.perf_counter()
        proc.start()
        proc.join(HARD_LIMIT)
        if proc.is_alive():
            proc.terminate()
            proc.join()
            print(f"{str(depth):>6}  > {HARD_LIMIT:.0f} s: not practical; stopping this case")
            return depth
        t_edges, t_mom, t_disc, edges = queue.get()
        print(f"{str(depth):>6} {t_edges:16.3f} {t_mom:15.3f} {t_disc:9.3f}  {edges}")
        if time.perf_counter() - t0 > BUDGET:
            print(f"   -> over the {BUDGET:.0f} s budget at depth {depth}; stopping this case")
            return depth
    return None


def main(quick=False):
    print(f"sympy {sp.__version__}; budget {BUDGET:.0f} s per derivation")
    run(("relu", "gaussian", 2), ["L", 1, 2, 4, 8, 16] + ([] if quick else [64, 256, 1000]), with_disc=False)
    run(("linear", "gaussian", 1), [1, 4, 16] + ([] if quick else [100, 1000]), with_disc=False)
    run(("relu", "gaussian", 2), [1, 4, 16] + ([] if quick else [64, 128, 256]), with_disc=True)
    leaky = [1, 2, 4] + ([] if quick else [8, 12, 16, 20, 24])
    run(("leaky_relu(0.1)", "gaussian", 2), leaky, with_disc=True)
    print("\nrational S_J: edges and moments take about a second up to L = 1000 (and L may be symbolic);"
          "\nthe expanded discriminant / leaky-relu resultant route grows quickly with depth (see the table);"
          "\nbeyond it use the numeric engine (spectral density, jacobian_law(net).moments(k, exact=True)).")


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
