"""Reference values for the law of D^2 = phi'(sqrt(q) h)^2, h ~ N(0, 1), of gelu and swish on their critical
lines (sigma_w^2 = 1.98): q*, M(zeta) = E[D^2 / (zeta - D^2)] at complex zeta, and x rho(x) = -Im M(x + i0) / pi
on the spectrum, by mpmath at ``DPS`` digits -- independent of ``spectral.laws.d2_quadrature`` (no contour,
no float evaluation of phi').

Sources
-------
* ``q``: the root of sigma_w^2 E[phi'(sqrt(q) h)^2] = 1 (chi_1 = 1) near 3.7, by ``mpmath.findroot`` of the
  mpmath quadrature of the expectation.
* ``m``: mpmath ``quad`` (tanh-sinh) of phi(h) d(h) / (zeta - d(h)) on the real h-line, split on a grid of
  width 1/4 over [-10, 10] (the Gaussian mass beyond is below 1e-22), at the critical points of d and at
  the real solutions of d(h) = |zeta|, each with geometric splits down to 1e-14 (the poles of a zeta near a
  critical value, or near 0 where phi' has a simple zero, lie that close to them).
* ``xrho``: x sum_r phi(h_r) / |d'(h_r)| over the real solutions h_r of d(h) = x (the pushforward of N(0, 1)
  by d; d' = 2 sqrt(q) phi' phi'' in closed form), found by bisection from a scan of the h-line (step 1/50)
  refined at the critical points.

Run ``python reference_data/d2_critical_lines.py`` to regenerate ``d2_critical_lines.json``.
"""

import json
from pathlib import Path

import mpmath as mp

DPS = 20
SIGMA_W2 = mp.mpf("1.98")
H_MAX = 10


def dphi(name, x):
    if name == "gelu":  # phi = x Phi(x)
        return mp.ncdf(x) + x * mp.npdf(x)
    s = 1 / (1 + mp.exp(-x))  # swish: phi = x sigmoid(x)
    return s * (1 + x * (1 - s))


def ddphi(name, x):
    if name == "gelu":
        return mp.npdf(x) * (2 - x * x)
    s = 1 / (1 + mp.exp(-x))
    return s * (1 - s) * (2 + x * (1 - 2 * s))


def law(name, q):
    rq = mp.sqrt(q)

    def d(h):
        return dphi(name, rq * h) ** 2

    def dd(h):
        return 2 * rq * dphi(name, rq * h) * ddphi(name, rq * h)

    # critical points of d: zeros of d' = 2 sqrt(q) phi' phi'' (sign changes on a scan, refined by bisection)
    hs = [mp.mpf(-H_MAX) + mp.mpf(k) / 50 for k in range(100 * H_MAX + 1)]
    return d, dd, [bisect(dd, hs[k], hs[k + 1]) for k in range(len(hs) - 1) if dd(hs[k]) * dd(hs[k + 1]) < 0]


def bisect(f, a, b):
    fa = f(a)
    for _ in range(int(3.5 * DPS)):
        m = (a + b) / 2
        fm = f(m)
        a, b, fa = (m, b, fm) if fm * fa > 0 else (a, m, fa)
    return (a + b) / 2


def geometric(c):
    return [c + s * mp.mpf(10) ** (-j) for j in range(1, 15) for s in (-1, 1)] + [c]


def roots(d, crit, y):
    """Real solutions of d(h) = y, by bisection from a scan refined at the critical points."""
    pts = sorted(set([mp.mpf(-H_MAX) + mp.mpf(k) / 50 for k in range(100 * H_MAX + 1)]
                     + [p for c in crit for p in geometric(c)]))
    vals = [d(h) - y for h in pts]
    return [bisect(lambda h: d(h) - y, pts[k], pts[k + 1]) for k in range(len(pts) - 1)
            if vals[k] * vals[k + 1] < 0]


def m_transform(d, crit, zeta):
    zeta = mp.mpc(zeta)
    pts = [mp.mpf(-H_MAX) + mp.mpf(k) / 4 for k in range(8 * H_MAX + 1)]
    pts += [p for c in crit for p in geometric(c)]
    pts += [p for r in roots(d, crit, abs(zeta.real) if zeta.real > 0 else abs(zeta)) for p in geometric(r)]
    pts = sorted(set(p for p in pts if -H_MAX <= p <= H_MAX))
    return mp.quad(lambda h: mp.npdf(h) * d(h) / (zeta - d(h)), pts)


def xrho(d, dd, crit, x):
    return x * sum(mp.npdf(h) / abs(dd(h)) for h in roots(d, crit, x))


ZETAS = {
    "gelu": ["0.5+0.1j", "1.0+0.01j", "1.27+0.001j", "0.0166+0.0001j", "2.0", "-0.5",
             "8.7758256189037e-05+4.79425538604203e-05j", "8.7758256189037e-16+4.79425538604203e-16j"],
    "swish": ["0.5+0.1j", "1.0+0.01j", "1.2+0.001j", "0.00997+0.0001j", "2.0", "-0.5",
              "8.7758256189037e-05+4.79425538604203e-05j"],
}
XS = {
    "gelu": ["0.5", "0.01", "0.0166327", "1.1", "1.000001", "1e-20"],
    "swish": ["0.5", "0.005", "0.01", "1.1", "1.000001", "1e-8"],
}


def main():
    out = {"source": f"mpmath {mp.__version__} at {DPS} digits; reference_data/d2_critical_lines.py",
           "sigma_w2": float(SIGMA_W2)}
    with mp.workdps(DPS):
        for name in ("gelu", "swish"):
            def chi(q, name=name):
                return SIGMA_W2 * mp.quad(lambda h: mp.npdf(h) * dphi(name, mp.sqrt(q) * h) ** 2,
                                          [-mp.inf, -2, 0, 2, mp.inf]) - 1

            q = mp.findroot(chi, mp.mpf("3.7"))
            d, dd, crit = law(name, q)
            ms = [m_transform(d, crit, mp.mpc(complex(z))) for z in ZETAS[name]]
            xr = [xrho(d, dd, crit, mp.mpf(x)) for x in XS[name]]
            out[name] = {"q": float(q), "critical_points": [float(c) for c in crit],
                         "critical_values": [float(d(c)) for c in crit],
                         "m": [[z, float(mp.re(v)), float(mp.im(v))] for z, v in zip(ZETAS[name], ms, strict=True)],
                         "xrho": [[x, float(v)] for x, v in zip(XS[name], xr, strict=True)]}
            print(name, out[name], flush=True)
    (Path(__file__).parent / "d2_critical_lines.json").write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
