"""Reference values for Gaussian expectations and mean field, computed with mpmath at 40 digits.

Independent of spectral.gaussian/spectral.meanfield: every integral is an mpmath tanh-sinh quadrature of
the activation's sympy expression (lambdified to mpmath), split at its breakpoints; fixed points are
mpmath.findroot solutions of q = sigma_w2 E[phi(sqrt(q) z)^2] + sigma_b2; the critical point solves
sigma_w2 E[phi'(sqrt(q) z)^2] = 1.  Run ``python reference_data/meanfield.py`` to regenerate
``meanfield.json``.
"""

import json
from pathlib import Path

import mpmath as mp
import sympy

from spectral.activations import ACTIVATIONS, X, activation

DPS = 40
QS = ["1e-6", "0.001", "0.3", "1", "5", "100"]
FIXED_POINTS = [("tanh", "1.05", "2.01e-5"), ("tanh", "1", "1e-6"), ("tanh", "4", "0.1"),
                ("hard_tanh", "1.5", "0.05"), ("erf", "3", "0.5"), ("erf_scaled", "3", "0.5"),
                ("erf(2)", "1", "0.1"), ("sigmoid", "1", "0.1"),
                ("gelu", "1.5", "0.1"), ("softplus", "0.5", "0.1"), ("selu", "1", "0"), ("elu", "1.2", "0.01"),
                ("swish", "1.8", "0.2"), ("sin", "2", "0.3")]
CRITICAL = [("tanh", "1.05"), ("tanh", "2"), ("erf", "1.5"), ("erf_scaled", "1.5"), ("erf(b=1/2)", "4"),
            ("hard_tanh", "1.2")]
#: Parametrised spellings checked besides the registry defaults (erf(b x), softplus(beta)).
SPELLED = ["erf(2)", "erf(b=1/2)", "softplus(beta=3)", "elu(alpha=1/2)"]


def expectation(f, q, breaks):
    q = mp.mpf(q)
    s = mp.sqrt(q)
    pts = sorted({mp.mpf(0), s, -s, *[mp.mpf(b) for b in breaks]})
    norm = 1 / mp.sqrt(2 * mp.pi * q)
    return mp.quad(lambda x: f(x) * mp.exp(-x * x / (2 * q)) * norm, [-mp.inf, *pts, mp.inf])


def bracket_root(F):
    """The attracting fixed point reached from q = 1: the sign change of F next to 1 (scanned at 15 digits on
    a log grid), then the Illinois bracketing solver at full precision."""
    with mp.workdps(15):
        f1 = F(mp.mpf(1))
        step = 1 if f1 > 0 else -1
        k = 0
        while True:
            a, b = mp.mpf(10) ** (k / 8), mp.mpf(10) ** ((k + step) / 8)
            if (F(b) <= 0) if step > 0 else (F(b) >= 0):
                break
            k += step
    a, b = min(a, b), max(a, b)
    while F(a) * F(b) > 0:  # a root at a grid point (selu: q* = 1) can hide from the 15-digit scan
        a, b = a / 2, b * 2
    return illinois(F, a, b)


def illinois(F, a, b):
    """Root of F in [a, b] (F(a) F(b) <= 0) by the Illinois variant of regula falsi, to DPS - 2 digits."""
    fa, fb = F(a), F(b)
    assert fa * fb <= 0, "not a bracket"
    for _ in range(400):
        c = b - fb * (b - a) / (fb - fa)
        fc = F(c)
        if fc == 0:
            return c
        if fc * fb < 0:
            a, fa = b, fb
        else:
            fa /= 2
        b, fb = c, fc
        if abs(b - a) <= mp.mpf(10) ** (2 - DPS) * abs(b):
            return b
    raise RuntimeError("Illinois iteration did not converge")


def funcs(name):
    act = activation(name)
    phi = sympy.lambdify(X, act.expr, "mpmath")
    dphi = sympy.lambdify(X, sympy.diff(act.expr, X), "mpmath")
    return act, phi, dphi


def main():
    out = {"source": f"mpmath {mp.__version__}, {DPS} digits; reference_data/meanfield.py",
           "expectations": [], "fixed_points": [], "critical": []}
    with mp.workdps(DPS):
        for name in [*ACTIVATIONS, *SPELLED]:
            act, phi, dphi = funcs(name)
            br = act.breakpoints
            for q in QS:
                if name == "sin" and float(q) > 10:
                    continue
                rec = {"activation": name, "q": q,
                       "e_phi2": mp.nstr(expectation(lambda x, f=phi: f(x) ** 2, q, br), 30),
                       "mu": [mp.nstr(expectation(lambda x, k=k, d=dphi: d(x) ** (2 * k), q, br), 30)
                              for k in (1, 2, 3)]}
                out["expectations"].append(rec)
        for name, sw, sb in FIXED_POINTS:
            act, phi, dphi = funcs(name)
            sw_, sb_ = mp.mpf(sw), mp.mpf(sb)

            def F(q, phi=phi, br=act.breakpoints, sw_=sw_, sb_=sb_):
                return sw_ * expectation(lambda x: phi(x) ** 2, q, br) + sb_ - q

            q = bracket_root(F)
            chi1 = sw_ * expectation(lambda x, d=dphi: d(x) ** 2, q, act.breakpoints)
            out["fixed_points"].append({"activation": name, "sigma_w2": sw, "sigma_b2": sb,
                                        "q_star": mp.nstr(q, 30), "chi1": mp.nstr(chi1, 30)})
        for name, sw in CRITICAL:
            act, phi, dphi = funcs(name)
            sw_ = mp.mpf(sw)

            def H(q, d=dphi, br=act.breakpoints, sw_=sw_):
                return sw_ * expectation(lambda x: d(x) ** 2, q, br) - 1

            q = illinois(H, mp.mpf("1e-3"), mp.mpf(10))
            sb = q - sw_ * expectation(lambda x, p=phi: p(x) ** 2, q, act.breakpoints)
            out["critical"].append({"activation": name, "sigma_w2": sw, "q_star": mp.nstr(q, 30),
                                    "sigma_b2": mp.nstr(sb, 30)})
    path = Path(__file__).with_suffix(".json")
    path.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
