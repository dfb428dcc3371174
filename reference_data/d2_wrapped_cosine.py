r"""Reference values of :math:`1 + M(\zeta) = \zeta G(\zeta) = E[\zeta/(\zeta - D^2)]` for
:math:`D^2 = \cos^2(\sqrt q\, h)`, :math:`h \sim N(0, 1)` (sin's :math:`\phi' = \cos`), at several q and
:math:`\zeta`: off the spectrum [0, 1], next to it from above, near 0 down to :math:`|\zeta| = 10^{-30}` just above
the negative axis (where deep products' tails solve, docs/design.md §5.10), on it from above, and below it (the
continuation from above across it).  By mpmath at ``DPS`` digits, independent of ``spectral`` and of the Fourier
series of the wrapped normal law that the library uses.

Sources
-------
* off the real axis: ``mpmath.quad`` of :math:`\varphi(h)\,\zeta/(\zeta - \cos^2\sqrt q h)` over h in
  :math:`[-H, H]`, :math:`H = 12` (the Gaussian weight beyond is :math:`10^{-32}`), split at every zero
  :math:`(\pi/2 + k\pi)/\sqrt q` and every maximum :math:`k\pi/\sqrt q` of :math:`\cos^2` in range, and around the
  real parts of the poles :math:`h_j` (:math:`\cos^2\sqrt q h_j = \zeta`) at distances
  :math:`|{\operatorname{Im} h_j}|\cdot\{1, 10, 100\}` (the width of the integrand's peak there);
* the imaginary part on the spectrum from above, :math:`\operatorname{Im}(1 + M(x + i0)) = -\pi x\rho(x)`, with the
  push-forward density :math:`\rho(x) = \sum_{\theta} \varphi(\theta/\sqrt q)/(2\sqrt q\sqrt{x(1 - x)})` over the
  preimages :math:`\theta = \pm\arccos\sqrt x + k\pi` (:math:`|k| \le` ``K_MAX``);
* below the spectrum the continuation from above: :math:`G_{\uparrow}(\zeta) = G(\zeta) - 2\pi i\rho(\zeta)`, G by
  the quadrature above and :math:`\rho` the same sum over the preimages, continued analytically (complex arccos).

Run ``python reference_data/d2_wrapped_cosine.py`` to regenerate ``d2_wrapped_cosine.json`` (about 2 min).
"""

import json
from pathlib import Path

import mpmath as mp

DPS = 30
H = 12
K_MAX = 40
QS = ("0.3", "1", "19.95")
#: (label, zeta) as strings: off the spectrum, next to it from above, near 0 at arg pi - 0.02
ABOVE = [("far", "3+4j"), ("far", "-2"), ("far", "1.5"), ("far", "0.5+0.5j"), ("near", "0.5+0.01j"),
         ("near", "0.05+0.001j"), ("near", "0.999+0.001j"), ("near", "0.3+1e-6j"), ("near", "-0.01+0.01j")]
NEAR_ZERO = (10, 16, 20, 24, 26, 28, 30)
ZERO_ARG = "0.02"
ON_AXIS = ("0.05", "0.3", "0.7", "0.99")
BELOW = ("0.5-0.01j", "0.2-0.1j", "0.9-0.05j", "0.05-0.001j")


def g1_quad(zeta, q):
    zeta = mp.mpc(zeta)
    rq = mp.sqrt(q)
    cuts = {mp.mpf(-H), mp.mpf(H)}
    for k in range(-int(H * rq / mp.pi) - 2, int(H * rq / mp.pi) + 3):
        for t in (k * mp.pi, mp.pi / 2 + k * mp.pi):
            cuts.add(t / rq)
    # the poles: cos(theta) = +-sqrt(zeta), theta = +-arccos(+-sqrt zeta) + k pi
    th0 = mp.acos(mp.sqrt(zeta))
    for k in range(-int(H * rq / mp.pi) - 2, int(H * rq / mp.pi) + 3):
        for th in (th0 + k * mp.pi, -th0 + k * mp.pi):
            h = th / rq
            for f in (0, 1, 10, 100):
                for sgn in (-1, 1):
                    cuts.add(mp.re(h) + sgn * f * abs(mp.im(h)))
    cuts = sorted(c for c in cuts if -H <= c <= H)
    return mp.quad(lambda h: mp.npdf(h) * zeta / (zeta - mp.cos(rq * h) ** 2), cuts)


def density(x, q):
    """The density of D^2 at x (complex: its analytic continuation), by the sum over the preimages."""
    x = mp.mpc(x)
    rq = mp.sqrt(q)
    th0 = mp.acos(mp.sqrt(x))
    # the Gaussian density continued to complex arguments
    tot = mp.fsum(mp.exp(-((s * th0 + k * mp.pi) / rq) ** 2 / 2) / mp.sqrt(2 * mp.pi)
                  for k in range(-K_MAX, K_MAX + 1) for s in (-1, 1))
    return tot / (2 * rq * mp.sqrt(x) * mp.sqrt(1 - x))


def main():
    mp.mp.dps = DPS
    rows = []
    for qs in QS:
        q = mp.mpf(qs)
        pts = [(lab, mp.mpc(complex(z))) for lab, z in ABOVE]
        pts += [("zero", -mp.mpf(10) ** -k * mp.expj(-mp.mpf(ZERO_ARG))) for k in NEAR_ZERO]
        for lab, z in pts:
            g = g1_quad(z, q)
            rows.append(dict(q=float(q), kind=lab, re_zeta=float(z.real), im_zeta=float(z.imag), re=float(g.real),
                             im=float(g.imag)))
        for xs in ON_AXIS:
            x = mp.mpf(xs)
            rows.append(dict(q=float(q), kind="axis", re_zeta=float(x), im_zeta=0.0, re=None,
                             im=float(-mp.pi * x * mp.re(density(x, q)))))
        for zs in BELOW:
            z = mp.mpc(complex(zs))
            g = g1_quad(z, q) - 2j * mp.pi * z * density(z, q)
            rows.append(dict(q=float(q), kind="below", re_zeta=float(z.real), im_zeta=float(z.imag),
                             re=float(g.real), im=float(g.imag)))
        print(qs, rows[-1])
    out = dict(dps=DPS, h_cut=H, k_max=K_MAX, zero_arg=float(ZERO_ARG), rows=rows)
    Path(__file__).with_suffix(".json").write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
