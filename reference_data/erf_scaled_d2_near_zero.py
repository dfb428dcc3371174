r"""Reference values of :math:`1 + M(\zeta) = \zeta G(\zeta) = E[\zeta/(\zeta - D^2)]` for erf_scaled
(:math:`\phi = \operatorname{erf}(\sqrt\pi x/2)`, :math:`\phi' = e^{-\pi x^2/4}`) at :math:`q^* = 15/\pi` (the critical
line at :math:`\sigma_w^2 = 4`: :math:`\sigma_w^2 E D^2 = 4/\sqrt{1 + \pi q} = 1`), where
:math:`D^2 = e^{-a h^2}`, :math:`a = \pi q/2 = 7.5`, reaches 0 through the Gaussian tail of h: at complex
:math:`\zeta` of modulus :math:`10^{-8}` to :math:`10^{-250}` just off the negative axis (:math:`\arg\zeta = \pi -
\varphi`), where the deep tails of its products put their solutions (docs/design.md §5.10).  By mpmath at ``DPS``
digits, independent of ``spectral``.

Source: ``mpmath.quad`` of :math:`2\varphi(h)\,\zeta/(\zeta - e^{-ah^2})` over :math:`h > 0`, split at
:math:`h_0 = \sqrt{\log(1/|\zeta|)/a}` (where :math:`e^{-ah^2} = |\zeta|`) and at :math:`h_0 \pm k/(2ah_0)`,
:math:`k = 1, 2, 5, 20` (the width of the step of the integrand there); :math:`q^*` is :math:`15/\pi` exactly.

Run ``python reference_data/erf_scaled_d2_near_zero.py`` to regenerate ``erf_scaled_d2_near_zero.json``.
"""

import json
from pathlib import Path

import mpmath as mp

DPS = 30
MODULI = (8, 20, 40, 80, 150, 250)
ANGLES = ("0.05", "1.0")


def g1(zeta, a):
    zeta = mp.mpc(zeta)
    h0 = mp.sqrt(mp.log(1 / abs(zeta)) / a)
    w = 1 / (2 * a * h0)
    cuts = sorted({mp.mpf(0), mp.inf, *(h0 + k * w for k in (-20, -5, -2, -1, 0, 1, 2, 5, 20) if h0 + k * w > 0)})
    return 2 * mp.quad(lambda h: mp.npdf(h) * zeta / (zeta - mp.exp(-a * h * h)), cuts)


def main():
    mp.mp.dps = DPS
    q = 15 / mp.pi
    a = mp.pi * q / 2
    rows = []
    for k in MODULI:
        for phi in ANGLES:
            zeta = -mp.mpf(10) ** -k * mp.expj(-mp.mpf(phi))
            g = g1(zeta, a)
            rows.append(dict(abs=float(abs(zeta)), arg=float(mp.arg(zeta)), re=float(g.real), im=float(g.imag)))
    out = dict(activation="erf_scaled", q=float(q), dps=DPS, g1=rows)
    Path(__file__).with_suffix(".json").write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
