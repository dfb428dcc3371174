"""Regression check of the density solver: certified densities before and after a change agree to 1e-10.

Run: ``python benchmarks/compare_densities.py save FILE`` before a change, ``... compare FILE`` after it (one
BLAS thread).  For 46 laws (tanh / erf / sin / relu / leaky_relu(0.2) / selu / sigmoid, both ensembles, on
the critical line where there is one, depths 1, 4, 16, 64, 1000) it stores the certificate, the mass, m_1, m_2
and the density on its grid; ``compare`` fails (exit status 1) when a law certified before is not certified
now, or when its mass, m_1, m_2 or density values moved by more than :data:`TOL` (relative to the largest
density value for the density, to the value itself for the rest), and prints the CPU time of each law then
and now.
"""

from __future__ import annotations

import argparse
import pickle
import sys
import time
import warnings

import numpy as np
from threadpoolctl import threadpool_limits

from spectral.product import Network, jacobian_law

#: What a change that only reorganises the work may move a certified number by (rounding of the continuation
#: and Newton, ~1e-13, with room).
TOL = 1e-10

#: sigma_w^2 on the critical line (sigma_b^2 solved from chi_1 = 1); None: the off-critical point sigma_w^2 =
#: 1.5, sigma_b^2 = 0.1 (as in tests/test_density_registry.py).
CASES = {"tanh": 1.05, "erf": 1.05, "sin": 1.05, "relu": 2.0, "leaky_relu(0.2)": 2 / 1.04, "selu": 1.0,
         "sigmoid": None}
DEPTHS = {"tanh": (1, 4, 16, 64, 1000), "relu": (1, 16, 1000)}
DEFAULT_DEPTHS = (1, 16, 64)
POINTS = 2000


def network(act, weights, depth):
    sw2 = CASES[act]
    if sw2 is None:
        return Network(activation=act, weights=weights, sigma_w2=1.5, sigma_b2=0.1, depth=depth)
    return Network.critical(act, sigma_w2=sw2, depth=depth, weights=weights)


def laws():
    for act in CASES:
        for weights in ("gaussian", "orthogonal"):
            for depth in DEPTHS.get(act, DEFAULT_DEPTHS):
                yield (act, weights, depth)


def measure(key):
    law = jacobian_law(network(*key))
    t = time.process_time()
    res = law.density(POINTS)
    cpu = time.process_time() - t
    d = res.diagnostics
    return dict(certified=bool(res.certified), mass=float(res.mass), m1=float(d.get("m1", np.nan)),
                m2=float(d.get("m2", np.nan)), x=np.asarray(res.x, float),
                rho=np.asarray(res.density, float), cpu=cpu)


def compare(old, new):
    """Problems of ``new`` against ``old`` (empty when it is clean)."""
    if not old["certified"]:
        return []
    if not new["certified"]:
        return ["no longer certified"]
    out = []
    for k in ("mass", "m1", "m2"):
        if not abs(new[k] - old[k]) <= TOL * max(1.0, abs(old[k])):
            out.append(f"{k} {old[k]!r} -> {new[k]!r}")
    if old["x"].shape != new["x"].shape or not np.allclose(new["x"], old["x"], rtol=TOL, atol=0):
        out.append("grid moved")
    elif old["rho"].size:
        scale = float(np.max(np.abs(old["rho"])))
        dev = float(np.max(np.abs(new["rho"] - old["rho"]))) / scale
        if not dev <= TOL:
            out.append(f"density moved by {dev:.1e} of its maximum")
    return out


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("mode", choices=("save", "compare"), help="save a baseline, or compare against one")
    ap.add_argument("path", help="pickle file of the baseline")
    args = ap.parse_args(argv)
    mode, path = args.mode, args.path
    warnings.simplefilter("ignore")
    results = {key: measure(key) for key in laws()}
    if mode == "save":
        with open(path, "wb") as fh:
            pickle.dump(results, fh)
        for key, r in results.items():
            print(f"{key!s:45s} certified {r['certified']!s:5s} cpu {r['cpu']:6.3f} s")
        return 0
    with open(path, "rb") as fh:
        before = pickle.load(fh)
    bad = 0
    for key, r in results.items():
        problems = compare(before[key], r)
        bad += bool(problems)
        print(f"{key!s:45s} certified {before[key]['certified']!s:5s}-> {r['certified']!s:5s} "
              f"cpu {before[key]['cpu']:6.3f} -> {r['cpu']:6.3f} s  {'; '.join(problems) or 'ok'}")
    tb, ta = sum(r["cpu"] for r in before.values()), sum(r["cpu"] for r in results.values())
    print(f"total cpu {tb:.2f} -> {ta:.2f} s; {bad} law(s) moved")
    return 1 if bad else 0


if __name__ == "__main__":
    with threadpool_limits(1):
        sys.exit(main(sys.argv[1:]))
