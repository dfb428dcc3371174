"""Reference values for the density of B B^T, B = alpha I + beta X, with a relu branch X = W_2 D W_1, and of the
product of two such blocks, by mpmath at ``DPS`` digits -- independent of ``spectral.architecture.block_density``
(no log-form Newton, no continuation, no sheet checks of its own) and of the density solver.

Sources
-------
* The symmetrized singular-value law of B is nu = (delta_alpha + delta_-alpha)/2 [+] sym(beta X) (free additive
  convolution, Benaych-Georges' rectangular convolution on symmetric laws; docs/design.md §6.1).  Subordination at
  z: G = G_1(w_1) = G_2(w_2), w_1 + w_2 = z + 1/G, with G_1(w) = w/(w^2 - alpha^2).
* sym(beta X) for relu: X X^T has mass 1/2 at 0 (D^2 = (delta_0 + delta_1)/2).  Gaussian weights (variances
  s_1, s_2): S_X(y) = 1/(s_1 s_2 (1 + y)(y + 1/2)), so with m = M_X(w_2^2/beta^2) = G w_2 - 1 the branch
  equation w_2^2 m = beta^2 s_1 s_2 (1 + m)^2 (m + 1/2) is (G w_2 - 1) = c G^2 (G w_2 - 1/2), c = beta^2 s_1 s_2.
  Orthogonal weights: X X^T = s_1 s_2 D^2 in law, sym(beta X) = delta_0/2 + (delta_b + delta_-b)/4,
  b^2 = beta^2 s_1 s_2, so G = 1/(2 w_2) + w_2/(2 (w_2^2 - b^2)).
* Eliminating w_2 (sympy resultant) leaves one polynomial in G at each real z = x; its roots by mpmath
  ``polyroots``.  The Cauchy transform's boundary value has Im G <= 0; the root is accepted only when exactly one
  root has Im G < 0 (else the script stops), and x rho_nu(x) = -x Im G/pi.  For B B^T at lambda = x^2:
  lambda rho(lambda) = x rho_nu(x) (nu symmetric, lambda = x^2).
* Two identical blocks (S_P = S_B^2): with zeta_B the block's subordination point, M_B(zeta_B) = m and
  zeta (1 + m) = m zeta_B^2; with zeta_B = z_B^2 and 1 + m = z_B G(z_B): Q(G, z_B) = 0 (the block's polynomial at
  z_B) and zeta z_B G = (z_B G - 1) z_B^4, solved by ``mpmath.findroot`` at zeta = x (1 + 1e-30 i) from a start
  made of the float M_P(x + i0) of ``spectral`` (only the start: the root is the exact equations'); accepted only
  on the physical sheet (Im m < 0, Im zeta_B >= 0, the block's subordination functions w_1, w_2 at z_B above
  z_B: Im w_j >= Im z_B, Belinschi & Bercovici 2007).

Run ``python reference_data/residual_relu_blocks.py`` to regenerate ``residual_relu_blocks.json``.
"""

import json
from pathlib import Path

import mpmath as mp
import sympy as sy

DPS = 30
#: (name, weights, alpha, beta, blocks, lambda values): in the bulk, next to the singular point alpha^2 from
#: below, inside the gap above it (density 0), above the gap, near the top
CASES = [
    ("gaussian-1", "gaussian", "1", "1", 1, [0.02, 0.1, 0.5, 0.9, 0.999, 0.999999, 1.001, 1.01, 2.0, 5.0, 6.5]),
    ("orthogonal-1", "orthogonal", "1", "1", 1, [0.04, 0.2, 0.6, 0.99, 0.9999, 1.01, 1.1, 1.5, 2.5, 3.7]),
    ("gaussian-2", "gaussian", "1", "0.5", 2, [0.15, 0.2, 0.6, 1.0, 1.2, 2.0, 4.0, 4.45]),
    # a gap of 2.3e-7 above alpha^2 (its end a square-root edge, then alpha^2's inverse square root takes over)
    ("gaussian-1-beta0.1", "gaussian", "1", "0.1", 1,
     [0.77, 0.9, 0.999, 0.999999, 1.0000001, 1.000001, 1.001, 1.1, 1.28]),
    ("gaussian-1-beta3", "gaussian", "1", "3", 1, [0.01, 0.3, 0.9, 0.999999, 1.05, 1.2, 10.0, 30.0, 42.0]),
    ("gaussian-2-beta0.5", "gaussian", "2", "0.5", 1, [1.96, 3.0, 3.99, 3.999996, 4.00002, 4.0001, 5.0, 7.25]),
    ("orthogonal-1-beta2", "orthogonal", "1", "2", 1, [0.01, 0.5, 0.999999, 1.5, 2.01, 5.0, 8.5]),
    ("orthogonal-1-beta5", "orthogonal", "1", "5", 1, [0.01, 0.5, 0.999999, 10.0, 17.6, 25.0, 34.7]),
]

G, W, Z, A2, C = sy.symbols("G W Z A2 C")


def _block_polynomial(weights):
    """Q(G; Z, A2, C): the resultant in w_2 of the two subordination equations (module docstring)."""
    w1 = Z + 1 / G - W
    eq1 = sy.numer(sy.together(G * (w1**2 - A2) - w1))
    if weights == "gaussian":
        eq2 = (G * W - 1) - C * G**2 * (G * W - sy.Rational(1, 2))
    else:
        eq2 = 2 * G * W * (W**2 - C) - (W**2 - C) - W**2
    return sy.Poly(sy.resultant(sy.expand(eq1), sy.expand(eq2), W), G)


def _roots(poly, z, a2, c):
    coeffs = [mp.mpc(complex(0)) + sy.lambdify((Z, A2, C), k, "mpmath")(z, a2, c) for k in poly.all_coeffs()]
    while abs(coeffs[0]) == 0:
        coeffs = coeffs[1:]
    return mp.polyroots(coeffs, maxsteps=400, extraprec=200)


def block_g(poly, z, a2, c):
    """The physical root G(z + i0) at real z (unique root with Im G < 0, or 0 density)."""
    neg = [r for r in _roots(poly, z, a2, c) if mp.im(r) < -mp.mpf(10) ** (-DPS + 8)]
    if len(neg) > 1:
        raise RuntimeError(f"{len(neg)} roots with Im G < 0 at z = {z}")
    return neg[0] if neg else None


def block_xrho(poly, lam, a2, c):
    x = mp.sqrt(lam)
    g = block_g(poly, x, a2, c)
    return mp.mpf(0) if g is None else -x * mp.im(g) / mp.pi


def product_xrho(poly, lam, a2, c, m0):
    """lambda rho(lambda) of the product of two identical blocks (module docstring), from the float m0."""
    zeta = mp.mpc(lam, lam * mp.mpf("1e-30"))
    m0 = mp.mpc(m0)
    zb0 = mp.sqrt(mp.sqrt(zeta * (1 + m0) / m0))
    g0 = (1 + m0) / zb0
    q = sy.lambdify((G, Z, A2, C), poly.as_expr(), "mpmath")

    def eqs(g, zb):
        return [q(g, zb, a2, c), zeta * zb * g - (zb * g - 1) * zb**4]

    g, zb = mp.findroot(eqs, (g0, zb0))
    m = zb * g - 1
    # the block's subordination functions at z_B (Gaussian branch): w_2 from the branch equation, w_1 = z_B +
    # 1/G - w_2; the physical solution has Im w_j >= Im z_B (Belinschi & Bercovici 2007), and zeta_B in C+
    w2 = (1 - c * g**2 / 2) / (g * (1 - c * g**2))
    w1 = zb + 1 / g - w2
    tol = mp.mpf(10) ** (-DPS + 10)
    ok = mp.im(m) < 0 and mp.im(zb**2) > -tol and mp.im(w1) >= mp.im(zb) - tol and mp.im(w2) >= mp.im(zb) - tol
    if not ok:
        raise RuntimeError(f"not the physical sheet at lambda = {lam}: m = {m}, z_B = {zb}, w = {w1}, {w2}")
    return -mp.im(m) / mp.pi


def main():
    import numpy as np

    import spectral as sp

    mp.mp.dps = DPS
    out = {"source": __doc__.split("\n\n")[0], "dps": DPS}
    for name, weights, alpha, beta, blocks, lams in CASES:
        poly = _block_polynomial(weights)
        a2, c = mp.mpf(alpha) ** 2, mp.mpf(beta) ** 2
        if blocks == 1:
            xrho = [block_xrho(poly, mp.mpf(lam), a2, c) for lam in lams]
        else:
            block = sp.Residual([sp.Dense(weights, 1.0), sp.activation("relu"), sp.Dense(weights, 1.0)],
                                alpha=float(alpha), beta=float(beta))
            law = sp.jacobian_law(sp.Sequential([sp.Repeat(blocks, block)]))
            f = law.solver_factors().factors[0]
            m0 = f.m(np.array(lams) + 0j)
            xrho = [product_xrho(poly, mp.mpf(lam), a2, c, complex(m)) for lam, m in zip(lams, m0, strict=True)]
        out[name] = {"weights": weights, "alpha": float(alpha), "beta": float(beta), "blocks": blocks,
                     "lambda": lams, "xrho": [float(v) for v in xrho]}
        print(name, [f"{float(v):.12g}" for v in xrho])
    path = Path(__file__).with_suffix(".json")
    path.write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
