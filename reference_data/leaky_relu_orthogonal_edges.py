"""Reference values for the edges of the spectrum of J J^T for leaky relu with orthogonal weights (depth L, L free
copies of sigma_w^2 D^2, D^2 = alpha^2 or 1 with mass 1/2 each), by mpmath at ``DPS`` digits -- independent of
``spectral`` (no float scan of zeta, no continuation).

Sources
-------
* The free product of L copies (S-transform S_J = S_{sigma_w^2 D^2}^L): on a real branch of zeta, with
  m = M(zeta) = (1/2) alpha^2 / (zeta - alpha^2) + (1/2) / (zeta - 1),
  log z = L log sigma_w^2 + L log zeta + (L - 1) log(m / (1 + m)); the edges are its critical points,
  the roots of L / zeta + (L - 1) M'(zeta) / (m (1 + m)) (docs/design.md §4.7).
* Lower edge: the root on zeta in (0, alpha^2) (m < -1: the gap between 0 and the spectrum), searched on
  zeta = alpha^2 / (1 + e^-t), t on a grid of step 1/8 over [-60, 60] (the root lies near zeta = 2 alpha^2 / L),
  the single sign change refined by ``mpmath.findroot`` (bisection) to ``DPS`` digits.  Upper edge: the root on
  zeta = 1 + e^t (m > 0, above the spectrum), the same way.  For L >= 3 each branch has exactly one sign change
  (the script checks it); at L = 2 both edges are the zero-mass atoms (sigma_w^2 alpha^2)^2 and sigma_w^4 instead.
* sigma_w^2: 2 / (1 + alpha^2) on the critical line (chi_1 = sigma_w^2 (1 + alpha^2) / 2 = 1), 3/2 off it
  (D^2 of leaky relu does not depend on q, nor the spectrum on sigma_b^2).

Run ``python reference_data/leaky_relu_orthogonal_edges.py`` to regenerate ``leaky_relu_orthogonal_edges.json``.
"""

import json
from pathlib import Path

import mpmath as mp

DPS = 40
SLOPES = {"0.01": mp.mpf(1) / 100, "0.05": mp.mpf(1) / 20, "0.2": mp.mpf(1) / 5, "0.5": mp.mpf(1) / 2}
POINTS = ("critical", "off")
DEPTHS = (4, 8, 64, 256)
T_GRID = [mp.mpf(k) / 8 for k in range(-480, 481)]


def sigma_w2(alpha, point):
    return 2 / (1 + alpha**2) if point == "critical" else mp.mpf(3) / 2


def edge(alpha, point, depth, zeta_of):
    a, n, s = alpha**2, depth, sigma_w2(alpha, point)

    def m_of(zeta):
        return a / (2 * (zeta - a)) + 1 / (2 * (zeta - 1))

    def slope(t):
        zeta = zeta_of(a, t)
        m = m_of(zeta)
        dm = -a / (2 * (zeta - a) ** 2) - 1 / (2 * (zeta - 1) ** 2)
        return n / zeta + (n - 1) * dm / (m * (1 + m))

    values = [slope(t) for t in T_GRID]
    cells = [k for k in range(len(T_GRID) - 1) if values[k] * values[k + 1] < 0]
    if len(cells) != 1:
        raise RuntimeError(f"alpha={alpha} {point} L={depth}: {len(cells)} sign changes of the slope")
    k = cells[0]
    t = mp.findroot(slope, (T_GRID[k], T_GRID[k + 1]), solver="bisect")
    zeta = zeta_of(a, t)
    m = m_of(zeta)
    return n * mp.log(s) + n * mp.log(zeta) + (n - 1) * mp.log(m / (1 + m))


def main():
    mp.mp.dps = DPS
    out = {"dps": DPS, "cases": []}
    for name, alpha in SLOPES.items():
        for point in POINTS:
            for depth in DEPTHS:
                lo = edge(alpha, point, depth, lambda a, t: a / (1 + mp.exp(-t)))
                hi = edge(alpha, point, depth, lambda a, t: 1 + mp.exp(t))
                out["cases"].append({"activation": f"leaky_relu({name})", "slope": name, "point": point, "depth": depth,
                                     "log_lo": mp.nstr(lo, 30), "log_hi": mp.nstr(hi, 30)})
    path = Path(__file__).with_suffix(".json")
    path.write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
