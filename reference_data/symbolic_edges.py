"""Generate ``symbolic_edges.json``: exact support edges and moments from the literature.

Every value is written from its published closed form with sympy (independently of ``spectral``), with its
source.  Run ``python reference_data/symbolic_edges.py`` to regenerate.
"""

from __future__ import annotations

import json
from pathlib import Path

import sympy as sp

L = sp.Symbol("L", positive=True, integer=True)
c, v, mu1, mu2, s1 = sp.symbols("c v mu1 mu2 s1", positive=True)


def entry(expr, source, **extra):
    expr = sp.nsimplify(expr) if expr.is_number else expr
    out = {"value": sp.sstr(expr), "source": source}
    if expr.is_number:
        out["numeric"] = str(sp.N(expr, 30))
    out.update(extra)
    return out


FUSS = ("Penson & Zyczkowski, Phys. Rev. E 83, 061118 (2011), eq. (4): the Fuss-Catalan law of a product "
        "of L square Ginibre matrices has support [0, (L+1)^(L+1)/L^L]")
FUSS_MOM = ("Fuss-Catalan numbers binom((L+1)k, k)/(Lk+1); OEIS A000108 (L=1), A001764 (L=2), "
            "A002293 (L=3), A002294 (L=4)")
MP = "Marchenko & Pastur, Math. USSR Sb. 1, 457 (1967): support v(1 -+ sqrt(c))^2"
PSG = ("Pennington, Schoenholz & Ganguli, NeurIPS 2017 ('Resurrecting the sigmoid'), eq. (32): "
       "m2/m1^2 = 1 + L (mu2/mu1^2 - 1 - s1), s1 = -1 (Gaussian), 0 (orthogonal); m1 = (sigma_w2 mu1)^L")


RELU = "issue 6; = Marchenko-Pastur with c = 2, v = 1 (S = 1/(1 + 2y)), support (1 -+ sqrt 2)^2"


def narayana(k, j):
    return sp.binomial(k, j) * sp.binomial(k, j - 1) / k


def mp_moment(k):
    return sp.expand(v**k * sum(narayana(k, j) * c ** (j - 1) for j in range(1, k + 1)))


def main() -> dict:
    data = {
        "fuss_catalan_edge": {
            "formula": entry((L + 1) ** (L + 1) / L**L, FUSS),
            "values": {str(k): entry(sp.Integer(k + 1) ** (k + 1) / sp.Integer(k) ** k, FUSS)
                       for k in range(1, 9)},
        },
        "fuss_catalan_moments": {
            str(k): {"moments": [str(sp.binomial((k + 1) * j, j) / (k * j + 1)) for j in range(1, 11)],
                     "source": FUSS_MOM}
            for k in range(1, 5)
        },
        "marchenko_pastur_edges": {
            "formula": [entry(v * (1 - sp.sqrt(c)) ** 2, MP), entry(v * (1 + sp.sqrt(c)) ** 2, MP)],
            "moments_formula": {
                "source": "Narayana polynomials: m_k = v^k sum_{j=1}^k N(k, j) c^(j-1), N(k, j) = "
                          "binom(k, j) binom(k, j-1)/k (Mingo & Speicher 2017, ch. 2)",
                "values": [sp.sstr(mp_moment(k)) for k in range(1, 7)],
            },
        },
        "relu_gaussian_depth1": {
            "sigma_w2": "2",
            "edges": [entry(3 - 2 * sp.sqrt(2), RELU), entry(3 + 2 * sp.sqrt(2), RELU)],
            "atom_at_zero": "1/2",
        },
        "pennington_m2": {
            "formula": entry(1 + L * (mu2 / mu1**2 - 1 - s1), PSG),
            "s1": {"gaussian": "-1", "orthogonal": "0"},
        },
        "semicircle": {
            "G": entry((z := sp.Symbol("z")) / (2 * v) - sp.sqrt(z**2 - 4 * v) / (2 * v),
                       "Wigner semicircle of variance v (Mingo & Speicher 2017, ch. 2)"),
            "edges": [entry(-2 * sp.sqrt(v), "semicircle radius 2 sqrt(v)"), entry(2 * sp.sqrt(v), "idem")],
        },
    }
    return data


if __name__ == "__main__":
    out = Path(__file__).with_suffix(".json")
    out.write_text(json.dumps(main(), indent=1) + "\n")
    print(f"wrote {out}")
