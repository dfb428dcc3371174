"""Reference moments for tests of spectral.laws / spectral.product (run to regenerate moments.json).

Every value is computed by a formula independent of the library's series code:

* Fuss--Catalan numbers binom((L+1)k, k)/(Lk+1) (linear Gaussian networks, OEIS A000108, A001764,
  A002293 for L = 1, 2, 3);
* Marchenko--Pastur moments v^k sum_j N(k, j) lambda^(j-1) with Narayana numbers
  N(k, j) = binom(k, j) binom(k, j-1)/k, at 30 digits with mpmath;
* free multiplicative powers of Bernoulli laws (D^2 of relu/hard-tanh with orthogonal weights):
  S = (1+y)/(v(p+y)), so m_k = v^(Lk)/k * sum_j binom(Lk, j) p^(Lk-j) binom((1-L)k, k-1-j)
  (closed-form Lagrange inversion with generalised binomials), exact rationals;
* relu with Gaussian weights: S_D S_W = 1/(sigma_w2 (1/2 + y)), so g = (1+y)/S = (1+y) (sigma_w2 (1/2+y))^L
  and m_k = sigma_w2^(Lk)/k sum_j binom(k, j) binom(Lk, k-1-j) (1/2)^(Lk-k+1+j).
"""

from __future__ import annotations

import json
from fractions import Fraction
from math import comb
from pathlib import Path

import mpmath


def gbinom(a: Fraction | int, j: int) -> Fraction:
    """Generalised binomial coefficient binom(a, j) for rational a."""
    out = Fraction(1)
    for i in range(j):
        out = out * (Fraction(a) - i) / (i + 1)
    return out


def fuss_catalan(L, k):
    return [comb((L + 1) * n, n) // (L * n + 1) for n in range(1, k + 1)]


def bernoulli_power(p: Fraction, v: Fraction, L: int, k: int):
    """Moments of (v * Bernoulli(p))^{boxtimes L}: g = (1+y)/S = v^L (p+y)^L (1+y)^(1-L)."""
    out = []
    for n in range(1, k + 1):
        s = sum(gbinom(L * n, j) * p ** (L * n - j) * gbinom((1 - L) * n, n - 1 - j) for j in range(n))
        out.append(v ** (L * n) * s / n)
    return out


def relu_gaussian(sigma_w2: Fraction, L: int, k: int):
    """relu, Gaussian weights: S_D S_W = 1/(sigma_w2 (1/2 + y)), g = (1+y) (sigma_w2 (1/2+y))^L."""
    p = Fraction(1, 2)
    out = []
    for n in range(1, k + 1):
        s = sum(gbinom(n, j) * gbinom(L * n, n - 1 - j) * p ** (L * n - (n - 1 - j)) for j in range(n))
        out.append(sigma_w2 ** (L * n) * s / n)
    return out


def mp_moments(ratio, variance, k, dps=30):
    with mpmath.workdps(dps):
        lam, v = mpmath.mpf(ratio), mpmath.mpf(variance)
        out = []
        for n in range(1, k + 1):
            s = mpmath.fsum(mpmath.mpf(comb(n, j) * comb(n, j - 1)) / n * lam ** (j - 1)
                            for j in range(1, n + 1))
            out.append(mpmath.nstr(v**n * s, dps))
        return out


def build():
    data = {
        "fuss_catalan": {
            "source": "binom((L+1)k, k)/(Lk+1); OEIS A000108 (L=1), A001764 (L=2), A002293 (L=3)",
            "values": {str(L): fuss_catalan(L, 12) for L in (1, 2, 3, 4)},
        },
        "marchenko_pastur": {
            "source": "Narayana polynomials v^k sum_j N(k,j) lambda^(j-1), mpmath 30 digits",
            "cases": [{"ratio": r, "variance": v, "moments": mp_moments(r, v, 10)}
                      for r, v in (("0.5", "2"), ("3", "0.25"), ("1", "1"))],
        },
        "relu_orthogonal": {
            "source": "closed-form Lagrange inversion (binomial sum), D^2 = Bernoulli(1/2), sigma_w2 = 2",
            "sigma_w2": "2", "depth": 5,
            "moments": [str(x) for x in bernoulli_power(Fraction(1, 2), Fraction(2), 5, 8)],
        },
        "hard_tanh_orthogonal_p": {
            "source": "closed-form Lagrange inversion (binomial sum), D^2 = Bernoulli(p), sigma_w2 = 1",
            "p": "9/10", "depth": 3,
            "moments": [str(x) for x in bernoulli_power(Fraction(9, 10), Fraction(1), 3, 6)],
        },
        "relu_gaussian": {
            "source": "closed-form Lagrange inversion (binomial sum), S_J = (2 (1/2 + y))^-L",
            "sigma_w2": "2", "depth": 3,
            "moments": [str(x) for x in relu_gaussian(Fraction(2), 3, 8)],
        },
    }
    return data


if __name__ == "__main__":
    path = Path(__file__).with_suffix(".json")
    path.write_text(json.dumps(build(), indent=1) + "\n")
    print(f"wrote {path}")
