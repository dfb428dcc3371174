"""Reference values for the law of D^2 = phi'(sqrt(q) h)^2, h ~ N(0, 1), of gelu and swish on their own spectrum
(the law of the Jacobian at depth 1 with orthogonal weights): x rho(x) next to the spike at the limit 1 of d, next
to the local maximum and near 0, and the masses of intervals, among them the mass within 2^-36 of the limit 1
(the spike's remainder that the density grid leaves to the law) -- by mpmath at ``DPS`` digits, independent of
``spectral.laws.d2_pushforward`` (mpmath evaluation of phi' and phi'', the roots of d(h) = y from a scan of the
h-line, no float rounding of d - 1).

Sources
-------
* ``q``: the root of sigma_w^2 E[phi'(sqrt(q) h)^2] = 1 (chi_1 = 1, critical line, sigma_w^2 = 1.98), or of
  q = sigma_w^2 E[phi(sqrt(q) h)^2] + sigma_b^2 (off it: sigma_w^2 = 1.5, sigma_b^2 = 0.1), by
  ``mpmath.findroot`` of the mpmath quadrature of the expectation.
* ``xrho``: x sum_r phi(h_r) / |d'(h_r)| over the real solutions h_r of d(h) = x (the pushforward of N(0, 1)
  by d), as in ``d2_critical_lines.py``.
* ``mass``: P(y0 < D^2 <= y1) = sum over the intervals of h where y0 < d(h) <= y1 of their Gaussian mass, the
  interval ends being the real solutions of d(h) = y0 and d(h) = y1 (the scan is over |h| <= 10; the Gaussian
  mass beyond is below 1e-22).

Run ``python reference_data/d2_pushforward.py`` to regenerate ``d2_pushforward.json``.
"""

import json
from pathlib import Path

import mpmath as mp
from d2_critical_lines import H_MAX, dphi, law, roots, xrho

DPS = 30
#: (activation, point): (sigma_w^2, sigma_b^2 or None for the critical line, initial q)
CASES = {("gelu", "critical"): ("1.98", None, "3.7"), ("swish", "critical"): ("1.98", None, "17"),
         ("gelu", "off"): ("1.5", "0.1", "0.2")}
SPIKE_OFFSET = mp.mpf(2) ** -36
#: points y = base + offset of the spectrum of D^2, base 0, 1 (the limit of d) or "c" (its local maximum)
YS = [("0", "1e-20"), ("0", "1e-6"), ("0", "0.003"), ("0", "0.5"), ("0", "1.1"), ("1", "1e-11"), ("1", "1e-6"),
      ("c", "-1e-9"), ("c", "1e-9")]


def phi(name, x):
    if name == "gelu":
        return x * mp.ncdf(x)
    return x / (1 + mp.exp(-x))


def q_of(name, sw2, sb2, q0):
    gauss = [-mp.inf, -2, 0, 2, mp.inf]
    if sb2 is None:
        def f(q):
            return sw2 * mp.quad(lambda h: mp.npdf(h) * dphi(name, mp.sqrt(q) * h) ** 2, gauss) - 1
    else:
        def f(q):
            return sw2 * mp.quad(lambda h: mp.npdf(h) * phi(name, mp.sqrt(q) * h) ** 2, gauss) + sb2 - q
    return mp.findroot(f, mp.mpf(q0))


def cdf(d, crit, y):
    """P(d(h) <= y), |h| <= H_MAX."""
    ends = [mp.mpf(-H_MAX)] + roots(d, crit, y) + [mp.mpf(H_MAX)]
    total = mp.mpf(0)
    for a, b in zip(ends[:-1], ends[1:], strict=True):
        if d((a + b) / 2) <= y:
            total += mp.ncdf(b) - mp.ncdf(a)
    return total


def main():
    out = {"source": f"mpmath {mp.__version__} at {DPS} digits; reference_data/d2_pushforward.py",
           "spike_offset": float(SPIKE_OFFSET)}
    with mp.workdps(DPS):
        for (name, point), (sw2, sb2, q0) in CASES.items():
            q = q_of(name, mp.mpf(sw2), None if sb2 is None else mp.mpf(sb2), q0)
            d, dd, crit = law(name, q)
            c_loc = d(crit[0])           # the local maximum of d (left of phi''s zero)
            # the points as the floats the tests pass (1 + 1e-11 is known to 1e-5 of its offset only)
            ys = [mp.mpf(float((c_loc if base == "c" else mp.mpf(base)) + mp.mpf(off))) for base, off in YS]
            xr = [xrho(d, dd, crit, y) for y in ys]
            intervals = [(mp.mpf(1), 1 + SPIKE_OFFSET), (1 - SPIKE_OFFSET, mp.mpf(1)), (mp.mpf(0), c_loc),
                         (c_loc, mp.mpf(1))]
            masses = [cdf(d, crit, b) - cdf(d, crit, a) for a, b in intervals]
            key = f"{name}-{point}"
            out[key] = {"q": float(q), "sigma_w2": float(sw2), "sigma_b2": None if sb2 is None else float(sb2),
                        "local_max": float(c_loc),
                        "xrho": [[float(y), float(v)] for y, v in zip(ys, xr, strict=True)],
                        "mass": [[float(a), float(b), float(v)] for (a, b), v in zip(intervals, masses, strict=True)]}
            print(key, out[key], flush=True)
    (Path(__file__).parent / "d2_pushforward.json").write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
