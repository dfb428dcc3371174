"""Density benchmark: spectral.density against the classic per-point polynomial-roots method.

Run: ``python benchmarks/bench_density.py [--quick]`` (single thread; all ratios from this one run).

1. Speed of a 2000-point density at depth 1000 (relu/Gaussian and tanh/orthogonal on the critical
   line sigma_w^2 = 1.05), with the certificate (mass, m_1, m_2 against the series).
2. Baseline: for relu/Gaussian (Bernoulli(1/2) x Marchenko-Pastur factors) the density equation
   z = (1+m)/(m S(m)) is expanded into the polynomial P(m, z) = z A(m) - B(m); at every grid point
   np.roots is applied on a path z = x + i eta, eta lowered geometrically from 10 lambda_max to
   1e-10 x, keeping the root nearest to the previous one (start: nearest to m_1/z); rho = -Im m/(pi x).
   At depth 16: agreement with spectral.density on the same nodes where the baseline is right (its own
   residual check passes), and the speed ratio.  Then the depth at which the baseline breaks (mass or
   m_1 off by more than 1e-6) while spectral.density still passes its checks.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
import warnings

import numpy as np
from threadpoolctl import threadpool_limits

from spectral import density as D
from spectral.product import Network, jacobian_law


def relu_gaussian(depth):
    return jacobian_law(Network(activation="relu", weights="gaussian", sigma_w2=2, sigma_b2=0, depth=depth))


def tanh_orthogonal(depth):
    return jacobian_law(Network.critical("tanh", sigma_w2=1.05, depth=depth, weights="orthogonal"))


# ------------------------------------------------------------------------------------------ baseline
def expanded_polynomial(law):
    """Coefficients (ascending in m) of A and B with z A(m) = B(m) for a product of linear factors.

    From log z = C + e_0 log m + sum_k e_k log(1 + b_k m) (the same factor table the solver uses, but
    here expanded into monomials, as the classic method does).
    """
    sys_ = D._System(D._factors(law))
    if not sys_.linear:
        raise ValueError("the polynomial baseline needs a product of linear factors")
    P = np.polynomial.polynomial
    a, b = np.array([1.0]), np.array([math.exp(sys_.const)])
    for base, e in [((0.0, 1.0), sys_.e_m)] + [((1.0, bk), ek) for bk, ek in zip(sys_.b, sys_.e, strict=True)]:
        k = int(round(e))
        if abs(e - k) > 1e-12:
            raise ValueError("non-integer exponent")
        if k > 0:
            b = P.polymul(b, P.polypow(base, k))
        elif k < 0:
            a = P.polymul(a, P.polypow(base, -k))
    n = max(a.size, b.size)
    return np.pad(a, (0, n - a.size)), np.pad(b, (0, n - b.size))


def baseline_density(law, x, n_eta=40):
    """Per-point np.roots with nearest-root tracking while lowering Im z; returns rho and a flag
    'right' (final root: relative residual < 1e-8 and Im m < 0)."""
    a, b = expanded_polynomial(law)
    P = np.polynomial.polynomial
    m1 = float(law.moments(1)[0])
    lam = D.lambda_max(law)
    rho = np.full(x.size, np.nan)
    right = np.zeros(x.size, bool)
    for i, xi in enumerate(x):
        etas = np.geomspace(10 * lam, 1e-10 * xi, n_eta)
        prev = None
        for eta in etas:
            z = xi + 1j * eta
            coef = z * a - b  # ascending
            roots = np.roots(coef[::-1])
            guess = m1 / z if prev is None else prev
            prev = roots[np.argmin(np.abs(roots - guess))]
        m = prev
        z = xi + 1e-10j * xi
        coef = z * a - b
        # its own check: the Newton correction |P/P'| is small against Im m (forward error estimate)
        step = abs(P.polyval(m, coef) / P.polyval(m, P.polyder(coef)))
        rho[i] = -m.imag / (math.pi * xi)
        right[i] = bool(step < 1e-9 * abs(m.imag)) and m.imag < 0
    return rho, right


# ------------------------------------------------------------------------------------------ helpers
def timed(fn, *args, repeat=1):
    best = math.inf
    out = None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn(*args)
        best = min(best, time.perf_counter() - t)
    return out, best


def ours(make, depth, points=2000, repeat=3):
    """Fresh law each time (no cache): density on the adaptive grid, best of ``repeat``; the time includes
    edges and series moments."""
    return timed(lambda: make(depth).density(points), repeat=repeat)


def report_check(res):
    d = res.diagnostics
    return (f"mass err {d['mass_error']:.1e}, m1 rel err {d['m1_rel_err']:.1e}, m2 rel err "
            f"{d['m2_rel_err']:.1e}, uncertified {d['n_uncertified_total']}, certified {res.certified}")


def grid_and_weights(law, points):
    """The solver's own nodes (listed x >= 1e-300) with quadrature weights for x rho."""
    e = D.edges(law)
    us, ws = [], []
    for lo, hi in e.log_bands:
        u, w, _ = D._band_nodes(lo - e.log_lambda_max, hi - e.log_lambda_max, points)
        us.append(u + e.log_lambda_max)
        ws.append(w)
    u, w = np.concatenate(us), np.concatenate(ws)
    keep = u > math.log(1e-300)
    return np.exp(u[keep]), w[keep]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer baseline points and depths")
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore", RuntimeWarning)
    print(f"python {sys.version.split()[0]}, numpy {np.__version__}; one thread")
    for make in (relu_gaussian, tanh_orthogonal):  # warm-up: imports, quadrature nodes, lambdified phi'
        make(2).density(64)

    print("\n== 1. 2000-point density at depth 1000 ==")
    for label, make in (("relu/gaussian", relu_gaussian), ("tanh/orthogonal (critical, sw2=1.05)",
                                                         tanh_orthogonal)):
        try:
            res, t = ours(make, 1000, repeat=3 if make is relu_gaussian else 1)
            print(f"{label:40s} {t:7.3f} s   {report_check(res)}")
        except Exception as exc:  # report, do not hide
            print(f"{label:40s} FAILED: {exc!r}")

    print("\n== 2. polynomial-roots baseline (relu/gaussian) ==")
    n_base = 200 if args.quick else 2000
    law = relu_gaussian(16)
    x, w = grid_and_weights(law, 2000)
    sel = np.linspace(0, x.size - 1, min(n_base, x.size)).astype(int)
    xs = x[sel]
    (rho_b, right), t_base = timed(baseline_density, law, xs)
    t_base_full = t_base * x.size / xs.size
    res, t_ours = ours(relu_gaussian, 16)
    rho_o = relu_gaussian(16).pdf(xs)
    rel = np.abs(rho_b - rho_o) / np.abs(rho_o)
    ok = right & np.isfinite(rel)
    print(f"depth 16: baseline passes its own check at {ok.sum()}/{xs.size} points; max relative "
          f"difference to spectral.density there {np.max(rel[ok]):.2e} (median {np.median(rel[ok]):.1e}); "
          f"agreement within 1e-8 at {int(np.sum(rel <= 1e-8))}/{xs.size} points; largest x where the "
          f"baseline is off by > 1e-8: {xs[rel > 1e-8].max() if np.any(rel > 1e-8) else float('nan'):.3g} "
          f"(lambda_max {law.lambda_max:.4g})")
    print(f"depth 16: baseline {t_base_full:.2f} s for {x.size} points "
          f"({'extrapolated from ' + str(xs.size) if xs.size < x.size else 'measured'}), ours {t_ours:.3f} s "
          f"(incl. edges, tail, moments): ratio {t_base_full / t_ours:.0f}x")

    print("\n== 3. where the baseline breaks ==")
    print("(both integrated on the same nodes and weights: spectral.density's nodes with x >= 1e-300;")
    print(" 'listed' = the continuous mass on those nodes; ours adds the certified tail below them)")
    depths = (8, 16, 24, 32, 48) if args.quick else (8, 16, 24, 32, 48, 64, 96)
    n_pts = 300 if args.quick else 800
    print(f"{'depth':>5} | {'baseline: listed-mass diff':>26} {'m1 diff':>8} {'own-check fails':>15} | ...")
    for depth in depths:
        law = relu_gaussian(depth)
        res = law.density(n_pts)
        rho_b, right = baseline_density(law, res.x)
        w = res.weights
        good = np.isfinite(res.density)
        mass_o, mass_b = np.sum((w * res.density)[good]), np.sum(np.where(good, w * np.nan_to_num(rho_b), 0))
        m1_o = np.sum((w * res.x * res.density)[good])
        m1_b = np.sum(np.where(good, w * res.x * np.nan_to_num(rho_b), 0))
        bulk = good & (res.x > 1e-8 * res.lambda_max)
        m1_bulk = abs(np.sum((w * res.x * np.nan_to_num(rho_b))[bulk]) / np.sum((w * res.x * res.density)[bulk]) - 1)
        print(f"{depth:5d} | {abs(mass_b - mass_o):26.1e} {abs(m1_b / m1_o - 1):8.1e} {int(np.sum(~right)):15d} | "
              f"bulk (x > 1e-8 lambda_max) m1 diff {m1_bulk:.1e} | ours: {report_check(res)}")


if __name__ == "__main__":
    with threadpool_limits(1):
        main()
