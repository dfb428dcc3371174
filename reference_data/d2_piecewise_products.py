"""Reference values for x rho(x) of J J^T = sigma_w^4 (D_1 O D_2 O^T ...) for selu / elu with orthogonal weights at
depth 2 (two free copies of sigma_w^2 D^2), by mpmath at ``DPS`` digits -- independent of
``spectral.laws.d2_piecewise`` and of the density solver (no pole subtraction, no continuation).

Sources
-------
* ``q``: the variance of the pre-activations, by ``mpmath.findroot``: on the critical line (sigma_w^2 = 1) the
  root of sigma_w^2 E[phi'(sqrt(q) h)^2] = 1 (chi_1 = 1); off it the fixed point q = sigma_w^2 E[phi(sqrt(q) h)^2]
  + sigma_b^2 (sigma_w^2 = 1.5, sigma_b^2 = 0.1; eight iterations of the map, then the secant), with
  phi = lambda x (x > 0), lambda alpha (e^x - 1) (x <= 0).
* ``M(zeta)`` of D^2 = phi'(sqrt(q) h)^2: the atom lambda^2 of mass 1/2 (h > 0) plus mpmath ``quad`` of
  phi(h) d / (zeta - d), d = (lambda alpha)^2 e^(2 sqrt(q) h), over h < 0, split at the real solution of
  d(h) = Re zeta (the nearby pole) and on a unit grid.
* The free product of n = 2 copies (S-transform S_J = S_{sigma_w^2 D^2}^n): with m = M(zeta),
  z = sigma_w^(2n) zeta^n (m / (1 + m))^(n - 1), solved for zeta at z = x (1 + 1e-30 i) by ``mpmath.findroot``
  (secant) from the physical-branch start zeta_0 = (x (1 + m_0) / (sigma_w^4 m_0))^(1/2), m_0 the float
  M_J(x + i0) of ``spectral`` (only the start: the root is the exact equation's); x rho = -Im m / pi, and the
  root is accepted only with Im zeta > 0 and Im m < 0 (the physical sheet).

* Next to the zero-mass atom x_s = (sigma_w^2 lambda^2)^2 of two layers off the critical line (``END_CASES``):
  x = x_s (1 -+ t) at offsets t from 1e-4 (where the float solver certifies) down to 1e-11 (where it does not,
  and the density's end law serves the mass), solved at ``END_DPS`` digits from the largest offset down, each
  start the previous root moved towards the atom lambda^2 of D^2 as sqrt(t) (zeta - lambda^2 ~ t^(1/2)).

Run ``python reference_data/d2_piecewise_products.py`` to regenerate ``d2_piecewise_products.json``.
"""

import json
import warnings
from pathlib import Path

import mpmath as mp

DPS = 30
PARAMS = {"selu": (mp.mpf("1.0507009873554805"), mp.mpf("1.6732632423543772")), "elu": (mp.mpf(1), mp.mpf(1))}
#: (activation, point, x values): bulk, next to the zero-mass atom sigma_w^4 lambda^4 (selu), near the top.
CASES = [
    ("selu", "critical", [0.05, 0.3, 1.0, 1.2, 2.0, 3.0, 4.3]),
    ("elu", "off", [1e-3, 0.1, 0.5, 1.5, 2.0, 2.25 * (1 - 1e-3), 2.25 * (1 - 1e-4)]),
]

#: (activation, side, offsets t): x = x_s (1 + side t) next to the zero-mass atom x_s off the critical line
#: (sigma_w^2 = 1.5, sigma_b^2 = 0.1); selu on both sides, elu below (x_s is the top of its spectrum).
END_CASES = [
    ("selu", -1, [1e-4, 1e-6, 1e-7, 1e-9, 1e-11]),
    ("selu", 1, [1e-4, 1e-6, 1e-7, 1e-9, 1e-11]),
    ("elu", -1, [1e-4, 1e-6, 1e-7, 1e-9, 1e-11]),
]
#: Digits next to x_s: x = x_s (1 -+ 1e-11) and zeta - lambda^2 ~ 3e-6 keep 20 digits beyond the offset.
END_DPS = 40


def phi(name, x):
    lam, alpha = PARAMS[name]
    return lam * x if x > 0 else lam * alpha * mp.expm1(x)


def dphi(name, x):
    lam, alpha = PARAMS[name]
    return lam if x > 0 else lam * alpha * mp.exp(x)


def gauss(f):
    return mp.quad(lambda h: mp.npdf(h) * f(h), [-mp.inf, -4, -2, 0, 2, 4, mp.inf])


def q_of(name, point):
    if point == "critical":
        return mp.findroot(lambda q: gauss(lambda h: dphi(name, mp.sqrt(q) * h) ** 2) - 1, mp.mpf("1.0"))
    def q_map(q):
        return mp.mpf("1.5") * gauss(lambda h: phi(name, mp.sqrt(q) * h) ** 2) + mp.mpf("0.1")

    q0 = mp.mpf("1.0")
    for _ in range(8):  # into the basin of the secant (the fixed point attracts: selu's secant left q > 0)
        q0 = q_map(q0)
    return mp.findroot(lambda q: q_map(q) - q, q0)


def m_of(name, q, zeta):
    lam, alpha = PARAMS[name]
    c, rq = (lam * alpha) ** 2, mp.sqrt(q)

    def d(h):
        return c * mp.exp(2 * rq * h)

    hr = mp.log(mp.re(zeta) / c) / (2 * rq) if mp.re(zeta) > 0 else mp.mpf(-1)
    pts = sorted({mp.mpf(k) for k in range(-12, 1)} | ({hr} if -12 < hr < 0 else set()))
    cont = mp.quad(lambda h: mp.npdf(h) * d(h) / (zeta - d(h)), [-mp.inf] + pts)
    return lam**2 / (2 * (zeta - lam**2)) + cont


def solve(name, q, s2, x, m0):
    z = mp.mpf(x) * (1 + mp.mpf("1e-30") * 1j)
    zeta0 = mp.sqrt(mp.mpf(x) * (1 + m0) / (s2**2 * m0))

    def f(zeta):
        m = m_of(name, q, zeta)
        return mp.log(s2**2 * zeta**2 * m / (1 + m)) - mp.log(z)

    zeta = mp.findroot(f, mp.mpc(zeta0), solver="secant", tol=mp.mpf(10) ** (-2 * DPS + 8))
    m = m_of(name, q, zeta)
    assert mp.im(zeta) > 0 and mp.im(m) < 0, (name, x, zeta, m)
    return -mp.im(m) / mp.pi


def solve_end(name, q, s2, side, ts, m_start):
    """x rho at x = x_s (1 + side t) for the offsets ``ts`` (descending), continued from the largest, whose start
    is the float M_J there (``m_start``)."""
    lam, _ = PARAMS[name]
    xs = (s2 * lam**2) ** 2
    out, zeta, t_prev = [], None, None
    for t in ts:
        x = xs * (1 + side * mp.mpf(t))
        z = x * (1 + mp.mpf(10) ** (-END_DPS + 5) * 1j)
        if zeta is None:
            zeta0 = mp.sqrt(x * (1 + m_start) / (s2**2 * m_start))
        else:
            zeta0 = lam**2 + (zeta - lam**2) * mp.sqrt(mp.mpf(t) / t_prev)

        def f(zeta, z=z):
            m = m_of(name, q, zeta)
            return mp.log(s2**2 * zeta**2 * m / (1 + m)) - mp.log(z)

        zeta = mp.findroot(f, mp.mpc(zeta0), solver="secant", tol=mp.mpf(10) ** (-2 * END_DPS + 10))
        m = m_of(name, q, zeta)
        assert mp.im(zeta) > 0 and mp.im(m) < 0, (name, t, zeta, m)
        out.append(-mp.im(m) / mp.pi)
        t_prev = mp.mpf(t)
    return xs, out


def main():
    import numpy as np

    from spectral import density as D
    from spectral.density.edges import _system, edges
    from spectral.density.real_axis import _solve_real
    from spectral.laws.derivative import DerivativeLaw
    from spectral.product import Network, jacobian_law

    mp.mp.dps = DPS
    out = {"source": __doc__.split("Sources")[0].strip(), "dps": DPS}
    for name, point, xs in CASES:
        q = q_of(name, point)
        s2 = mp.mpf(1) if point == "critical" else mp.mpf("1.5")
        net = (Network.critical(name, sigma_w2=1.0, depth=2, weights="orthogonal") if point == "critical"
               else Network(activation=name, weights="orthogonal", depth=2, sigma_w2=1.5, sigma_b2=0.1))
        # the float start: M_J(x + i0) with the exact law of D^2 in the product
        orig = DerivativeLaw.product_solver_factors
        DerivativeLaw.product_solver_factors = DerivativeLaw.solver_factors
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rec = jacobian_law(net).solver_factors()
            e = edges(rec)
            sol = _solve_real(_system(rec, e.log_lambda_max), np.log(np.array(xs)) - e.log_lambda_max)
        DerivativeLaw.product_solver_factors = orig
        xr = [solve(name, q, s2, x, mp.mpc(complex(m0))) for x, m0 in zip(xs, sol.m, strict=True)]
        out[f"{name}-{point}"] = {"q": float(q), "x": xs, "xrho": [float(v) for v in xr]}
        print(name, point, float(q), [f"{float(v):.12e}" for v in xr], flush=True)
    for name, side, ts in END_CASES:
        mp.mp.dps = END_DPS
        q = q_of(name, "off")
        s2 = mp.mpf("1.5")
        net = Network(activation=name, weights="orthogonal", depth=2, sigma_w2=1.5, sigma_b2=0.1)
        law = jacobian_law(net)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            x0 = float((s2 * PARAMS[name][0] ** 2) ** 2 * (1 + side * mp.mpf(ts[0])))
            m_start = complex(D.solve_m_transform(law, np.array([x0 + 0j]))[0])
        xs, xr = solve_end(name, q, s2, side, ts, mp.mpc(m_start))
        out[f"{name}-off-end{'+' if side > 0 else '-'}"] = {"q": float(q), "x_s": float(xs), "side": side,
                                                             "t": ts, "xrho": [float(v) for v in xr]}
        print(name, side, [f"{float(v):.12e}" for v in xr], flush=True)
    Path(__file__).with_suffix(".json").write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
