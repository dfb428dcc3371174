"""Reference values for the law of D^2 = phi'(sqrt(q) h)^2, h ~ N(0, 1), of sigmoid and softplus at the
off-critical point of the registry (sigma_w^2 = 1.5, sigma_b^2 = 0.1), and of sigmoid on its critical line at
sigma_w^2 = 120 (q* = 62, where d spans 151 e-folds over |h| < 9.6): q*, and M(zeta) = E[D^2 / (zeta - D^2)]
at complex zeta close to 0, whose poles d(h) = zeta lie in the exponential tails of d (sigmoid: d ~ e^{-2|x|}
on both sides; softplus: d ~ e^{2x} as x -> -inf), by mpmath at ``DPS`` digits -- independent of
``spectral.laws.d2_quadrature`` (no contour, no float evaluation of phi').

Sources
-------
* ``q``: the fixed point q = sigma_w^2 E[phi(sqrt(q) h)^2] + sigma_b^2 of the mean-field variance map,
  ``mpmath.findroot`` of the mpmath quadrature of the expectation; on the critical line the root of
  sigma_w^2 E[phi'(sqrt(q) h)^2] = 1 (chi_1 = 1).
* ``m``: mpmath ``quad`` (tanh-sinh) of phi(h) d(h) / (zeta - d(h)) on the real h-line, split on a grid of
  width 1/4 over [-H_MAX, H_MAX] (the Gaussian mass beyond is below 1e-22) and at the real solutions of
  d(h) = |zeta| (bisection from a scan of step 1/50), each with geometric splits down to 1e-14 (the poles of
  zeta near the real axis lie that close to them).  Only Im zeta > 0 (the function itself, not its
  continuation).

Run ``python reference_data/d2_exponential_tails.py`` to regenerate ``d2_exponential_tails.json``.
"""

import json
from pathlib import Path

import mpmath as mp

DPS = 20
SIGMA_W2 = mp.mpf("1.5")
SIGMA_B2 = mp.mpf("0.1")
SIGMA_W2_CRITICAL = mp.mpf("120")
H_MAX = 10


def sig(x):
    return 1 / (1 + mp.exp(-x))


PHI = {"sigmoid": sig, "softplus": lambda x: mp.log(1 + mp.exp(x))}
DPHI = {"sigmoid": lambda x: sig(x) * sig(-x), "softplus": sig}


def bisect(f, a, b):
    fa = f(a)
    for _ in range(int(3.5 * DPS)):
        m = (a + b) / 2
        fm = f(m)
        a, b, fa = (m, b, fm) if fm * fa > 0 else (a, m, fa)
    return (a + b) / 2


def geometric(c):
    return [c + s * mp.mpf(10) ** (-j) for j in range(1, 15) for s in (-1, 1)] + [c]


def m_transform(d, zeta):
    zeta = mp.mpc(zeta)
    y = abs(zeta.real) if zeta.real > 0 else abs(zeta)
    scan = [mp.mpf(-H_MAX) + mp.mpf(k) / 50 for k in range(100 * H_MAX + 1)]
    vals = [d(h) - y for h in scan]
    roots = [bisect(lambda h: d(h) - y, scan[k], scan[k + 1]) for k in range(len(scan) - 1)
             if vals[k] * vals[k + 1] < 0]
    pts = [mp.mpf(-H_MAX) + mp.mpf(k) / 4 for k in range(8 * H_MAX + 1)] + [p for r in roots for p in geometric(r)]
    pts = sorted(set(p for p in pts if -H_MAX <= p <= H_MAX))
    return mp.quad(lambda h: mp.npdf(h) * d(h) / (zeta - d(h)), pts)


#: |zeta| and arg zeta: the range of the points the orthogonal products' Newton iterates visit within the tails'
#: reach (measured at depths 16 and 32: |zeta| from 1e-315 to 0.025, arg from 0 to pi).
ZETAS = {
    "sigmoid": [(1e-3, 0.05), (3e-5, 0.5), (1e-6, 1.0), (1e-5, 0.01), (2e-4, 1.9), (1e-8, 0.2)],
    "softplus": [(1e-3, 0.06), (1e-6, 2.5), (1e-9, 0.5), (1e-12, 3.0), (5e-3, 0.01), (1e-5, 1.2)],
    "sigmoid_critical": [(1e-3, 0.05), (1e-8, 0.5), (1e-20, 1.0), (1e-40, 0.01), (1e-60, 2.0), (3e-2, 0.001)],
}


def main():
    out = {"source": f"mpmath {mp.__version__} at {DPS} digits; reference_data/d2_exponential_tails.py",
           "sigma_w2": float(SIGMA_W2), "sigma_b2": float(SIGMA_B2)}
    with mp.workdps(DPS):
        for name in ("sigmoid", "softplus", "sigmoid_critical"):
            phi, dphi = PHI[name.split("_")[0]], DPHI[name.split("_")[0]]

            def fixed(q, phi=phi):
                return SIGMA_W2 * mp.quad(lambda h: mp.npdf(h) * phi(mp.sqrt(q) * h) ** 2,
                                          [-mp.inf, -2, 0, 2, mp.inf]) + SIGMA_B2 - q

            def chi(q, dphi=dphi):
                split = [-mp.inf] + [mp.mpf(k) / 4 for k in range(-40, 41)] + [mp.inf]
                return SIGMA_W2_CRITICAL * mp.quad(lambda h: mp.npdf(h) * dphi(mp.sqrt(q) * h) ** 2, split) - 1

            if name == "sigmoid_critical":
                q = mp.findroot(chi, mp.mpf("62"))
            else:
                q = mp.findroot(fixed, mp.mpf("0.5") if name == "sigmoid" else mp.mpf("2.5"))
            rq = mp.sqrt(q)

            def d(h, rq=rq, dphi=dphi):
                return dphi(rq * h) ** 2

            rows = []
            for r, a in ZETAS[name]:
                z = mp.mpf(r) * mp.expjpi(mp.mpf(a) / mp.pi)
                v = m_transform(d, z)
                rows.append([float(mp.re(z)), float(mp.im(z)), float(mp.re(v)), float(mp.im(v))])
            out[name] = {"q": float(q), "m": rows}
            print(name, out[name], flush=True)
    (Path(__file__).parent / "d2_exponential_tails.json").write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
