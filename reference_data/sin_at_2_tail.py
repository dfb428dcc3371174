r"""Reference values for the deep tail of :math:`JJ^T` of sin on its critical line at :math:`\sigma_w^2 = 2` (the end
of the line), depths 64 and 1000, orthogonal and Gaussian weights, where :math:`m \to m_0 = -1` and
:math:`x\rho \sim 10^{-15}` thousands of e-folds below the top; and :math:`1 + M(\zeta) = \zeta G(\zeta)` of its
:math:`D^2` at :math:`|\zeta|` from :math:`10^{-10}` down to :math:`10^{-30}`, where those tails live.  By mpmath at
``DPS`` digits, independent of ``spectral`` (no quadrature, no float arithmetic).

Sources
-------
* ``q``: the fixed point :math:`q = \sigma_w^2 (1 - e^{-2q})/2 + \sigma_b^2` of the mean-field variance map
  (:math:`E\sin^2(\sqrt q h) = (1 - e^{-2q})/2`), ``mpmath.findroot``; ``SIGMA_B2`` is the network's bias
  variance as ``Network.critical("sin", sigma_w2=2.0)`` gives it (an input, not a result).
* ``g1``: :math:`D^2 = \cos^2\theta`, :math:`\theta = \sqrt q h`; :math:`2\theta \bmod 2\pi` is the wrapped
  normal law of variance :math:`4q`, density :math:`(1 + 2\sum_k e^{-2k^2q}\cos k\varphi)/2\pi`, and
  :math:`\frac{1}{2\pi}\int \cos(k\varphi)\,d\varphi/(a - b\cos\varphi) = r^k/\sqrt{a^2 - b^2}`, so
  :math:`E[1/(1 - yD^2)] = (1 + 2\sum_{k\ge1} e^{-2k^2 q} r^k)/s`, :math:`s = \sqrt{1 - y}` (real part > 0),
  :math:`r = (1 - s)/(1 + s)`, :math:`y = 1/\zeta` (exact: the series converges like :math:`e^{-2k^2q}`,
  :math:`e^{-2q} = 4.7\cdot10^{-18}`, ``THETA_TERMS`` terms).  ``THETA_TERMS = 0`` is the arcsine law,
  :math:`S(m) = (2 + m)/(1 + m)`, for which the density equation is algebraic; the ``arcsine_rel`` columns
  are the difference.
* the density equation (docs/design.md §3.3): :math:`1/S_{D^2}(m) = m\zeta/(1 + m)` where
  :math:`\zeta G(\zeta) = 1 + m`, so :math:`z = \frac{1+m}{m}(\sigma_w^2 m\zeta/(1+m))^L` (orthogonal) and
  :math:`z = \frac{1+m}{m}(\sigma_w^2 m\zeta)^L` (Gaussian: :math:`S_{MP} = 1/(1+m)` per layer), solved for
  :math:`v = \log(-\zeta)` (scalar secant steps, ``mpmath.findroot``).
* the physical branch: at :math:`z = -x` (on the negative axis) :math:`m = E[\lambda/(z - \lambda)]` is the real
  root in (-1, 0), :math:`\zeta < 0` (seeded by the asymptote :math:`1 + m \approx (x/\sigma_w^{2L})^{1/\kappa}`,
  :math:`\zeta \approx -(1 + m)^2`, :math:`\kappa = L + 1` orthogonal, :math:`2L + 1` Gaussian); then continued
  along the arc :math:`z = x e^{i\theta}`, :math:`\theta` from :math:`\pi` to 0 in ``ARC_STEPS`` steps, through the
  upper half plane where :math:`m(z)` is analytic, checking :math:`\operatorname{Im} G \le 0` at every step;
  :math:`x\rho = -\operatorname{Im} m/\pi` at :math:`\theta = 0`.

Run ``python reference_data/sin_at_2_tail.py`` to regenerate ``sin_at_2_tail.json`` (about 20 s).
"""

import json
from pathlib import Path

import mpmath as mp

DPS = 40
SIGMA_W2 = mp.mpf(2)
SIGMA_B2 = mp.mpf("18.95262314968883")
THETA_TERMS = 4
ARC_STEPS = 64

#: log x (x absolute, not relative to the top) where the tails are tabulated: the ranges where the solver's
#: tail nodes were refused or off (docs/design.md §5.10), with margins.
POINTS = {
    ("gaussian", 64): [-3300.0, -3500.0, -3600.0, -3680.0, -3700.0, -3713.4734417145455, -3719.199949855588,
                       -3724.8996986806847, -3730.571791722829, -3741.829446479314, -3752.965831904728,
                       -3758.4863561643597, -3780.2304653994806, -3900.0],
    ("orthogonal", 64): [-1600.0, -1700.0, -1800.0, -1836.0124446784107, -1856.329300553774,
                         -1860.2796625903818, -1864.1908911719509, -1901.018670132881, -1952.9131645568903,
                         -1976.33941083, -1985.9228320289246, -2000.0],
    ("gaussian", 1000): [-50000.0, -55000.0, -57000.0, -60000.0],
    ("orthogonal", 1000): [-25000.0, -28000.0, -29000.0, -31000.0],
}
#: |zeta| of the g1 table, at arg zeta = pi - ZETA_ARG (just above the negative axis, as the tails' solutions).
ZETA_MODULI = [mp.mpf(10) ** -k for k in (10, 16, 20, 22, 24, 25, 26, 27, 28, 30)]
ZETA_ARG = mp.mpf("0.02")


def q_star():
    return mp.findroot(lambda q: SIGMA_W2 * (1 - mp.exp(-2 * q)) / 2 + SIGMA_B2 - q, mp.mpf(20))


def g1(zeta, q, terms=THETA_TERMS):
    r""":math:`1 + M(\zeta) = E[\zeta/(\zeta - D^2)]`, :math:`D^2 = \cos^2(\sqrt q h)`."""
    s = mp.sqrt(1 - 1 / mp.mpc(zeta))
    r = (1 - s) / (1 + s)
    return (1 + 2 * mp.fsum(mp.exp(-2 * k * k * q) * r**k for k in range(1, terms + 1))) / s


def z_of(zeta, q, depth, gaussian, terms):
    w = g1(zeta, q, terms)
    m = w - 1
    inner = SIGMA_W2 * m * zeta if gaussian else SIGMA_W2 * m * zeta / w
    return w / m * inner**depth, w


def solve(log_x, q, depth, gaussian, terms=THETA_TERMS):
    """(m, zeta, max Im G / |G| inside the arc) at z = x + i0 on the physical branch."""
    kappa = 2 * depth + 1 if gaussian else depth + 1
    x = mp.exp(mp.mpf(log_x))
    w0 = mp.exp((mp.mpf(log_x) - depth * mp.log(SIGMA_W2)) / kappa)
    # the real root at z = -x, zeta = -e^v (v real), then v = log(-zeta) continued along the arc
    v = mp.findroot(lambda v: mp.log(-z_of(-mp.exp(v), q, depth, gaussian, terms)[0].real) - mp.log(x),
                    2 * mp.log(w0))
    v = mp.mpc(v)
    worst = -mp.inf
    for k in range(ARC_STEPS, -1, -1):
        target = x * mp.expjpi(mp.mpf(k) / ARC_STEPS)
        v = mp.findroot(lambda v, t=target: mp.log(z_of(-mp.exp(v), q, depth, gaussian, terms)[0] / t), v)
        w = z_of(-mp.exp(v), q, depth, gaussian, terms)[1]
        if 0 < k < ARC_STEPS:
            worst = max(worst, (w / target).imag / abs(w / target))
    zeta = -mp.exp(v)
    w = z_of(zeta, q, depth, gaussian, terms)[1]
    return w - 1, zeta, worst


def main():
    mp.mp.dps = DPS
    q = q_star()
    out = dict(sigma_w2=float(SIGMA_W2), sigma_b2=float(SIGMA_B2), q=float(q), dps=DPS, theta_terms=THETA_TERMS,
               tails=[], g1=[])
    for (weights, depth), pts in POINTS.items():
        for lx in pts:
            m, zeta, worst = solve(lx, q, depth, weights == "gaussian")
            m_a, _, _ = solve(lx, q, depth, weights == "gaussian", terms=0)
            xr = -m.imag / mp.pi
            # local exponent d log(x rho) / d log x, by a centred difference of +-1 e-fold
            up = -solve(lx + 1, q, depth, weights == "gaussian")[0].imag / mp.pi
            dn = -solve(lx - 1, q, depth, weights == "gaussian")[0].imag / mp.pi
            out["tails"].append(dict(weights=weights, depth=depth, log_x=lx, xrho=float(xr),
                                     one_plus_m_abs=float(abs(1 + m)), zeta_abs=float(abs(zeta)),
                                     exponent=float((mp.log(up) - mp.log(dn)) / 2),
                                     arcsine_rel=float(abs((m_a - m) / (1 + m))),
                                     max_im_g_rel=float(worst)))
            print(out["tails"][-1])
    for r in ZETA_MODULI:
        zeta = -r * mp.expj(-ZETA_ARG)
        g = g1(zeta, q)
        out["g1"].append(dict(abs=float(r), arg=float(mp.arg(zeta)), re=float(g.real), im=float(g.imag)))
    path = Path(__file__).with_suffix(".json")
    path.write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
