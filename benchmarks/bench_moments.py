"""Benchmark: moments m_1..m_k of J J^T by the library vs a naive O(k^3) Lagrange inversion.

Run: ``python benchmarks/bench_moments.py``.  Prints times (best of several runs), the speed-up
measured in the same run, and the agreement of both methods with a 40-digit mpmath reference.

A second part times the per-layer bookkeeping of the law (building :class:`JacobianLaw` from a network,
its atoms, exact Bernoulli-type moments) against the former grouping, kept verbatim in
``legacy_grouping.py``, and prints the same-run ratios with default BLAS threads.

Both methods get the same input: the moments mu_1..mu_k of D^2 (computed once and shared, since
they are the physics, not the inversion) and the closed-form S of the weights.  The baseline is the
textbook route: S_D from the moment series by Lagrange inversion, S_J = S_D^L S_W^L (series powers),
then m_k = (1/k) [y^(k-1)] g(y)^k, g = (1+y)/S_J, with g, g^2, ..., g^k formed by successive
truncated products (NumPy convolution for floats, Python Fractions for exact): O(k^3).
The library uses the subordinated Lagrange--Buermann formula (no S_D series), baby-step/giant-step
extraction and triangular-solve kernels (float), or O(k^2) binomial sums when every S is a product
of linear powers (exact relu).
"""

from __future__ import annotations

import time
import warnings

import mpmath
import numpy as np
from legacy_grouping import LegacyJacobianLaw

from spectral.laws import FreeProduct, _binomial_lagrange_int
from spectral.product import Network, _two_power_moments, jacobian_law
from spectral.series import FloatField, FractionField, Series


def naive_lagrange(g: Series, k: int):
    power = Series.constant(1, k, g.field)
    out = []
    for j in range(1, k + 1):
        power = power * g
        out.append(power.c[j - 1] / j)
    return out


def naive_moments(law: FreeProduct, k: int, field):
    """m_1..m_k by the naive O(k^3) Lagrange inversion (see the module docstring)."""
    s_j = Series.constant(1, k, field)
    for factor, mult, _ in law.factors:
        lin = factor._s_linear_factors(field)
        if lin is not None:
            s = factor._s_series(field, k)
        else:  # S_D = (1+y) chi(y)/y, chi = psi^{-1} by naive Lagrange inversion
            mu = factor._moment_series(field, k + 1)
            phi = Series(list(mu), field).inv()  # y / psi(y)
            chi = naive_lagrange(phi, k)  # chi_j * j = [y^(j-1)] phi^j
            s = Series(chi, field) * Series.linear(1, 1, k, field)
        s_j = s_j * s.pow(mult)
    g = Series.linear(1, 1, k, field) / s_j
    return naive_lagrange(g, k)


class _Shared:
    """Wrap the D^2 laws so that mu_1..mu_k are computed once for both methods."""

    def __init__(self, law):
        self.law = law
        for factor, _, _ in law.factors:
            orig = factor._moment_series
            cache = {}

            def cached(field, n, _orig=orig, _cache=cache):
                key = (repr(field), n)
                if key not in _cache:
                    _cache[key] = _orig(field, n)
                return _cache[key]

            factor._moment_series = cached


def best(fn, repeat):
    t_best, res = np.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        res = fn()
        t_best = min(t_best, time.perf_counter() - t0)
    return t_best, res


def run_case(title, net, k, exact, repeat):
    print(title)
    t0 = time.perf_counter()
    law = jacobian_law(net)
    _Shared(law)
    field = FractionField() if exact else FloatField()
    law.factors[0][0]._moment_series(field, k + 1)  # the shared physics input (D^2 moments)
    print(f"  law of D^2 + its moments (shared input): {1e3 * (time.perf_counter() - t0):8.2f} ms")

    def lib():
        law._cache.clear()
        return law.moments(k, exact=exact)

    t_lib, m_lib = best(lib, repeat)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t_naive, m_naive = best(lambda: naive_moments(law, k, field), repeat)
    print(f"  library series      : {1e3 * t_lib:8.2f} ms")
    print(f"  naive Lagrange O(k^3): {1e3 * t_naive:8.2f} ms")
    print(f"  speed-up            : {t_naive / t_lib:8.1f}x")
    if exact:
        same = list(m_lib) == list(m_naive)
        print(f"  agreement           : {'identical rationals' if same else 'DIFFER'}")
        return
    law._cache.clear()
    ref = law.moments(k, precision=40)
    ref = np.array([float(mpmath.log(x)) for x in ref])
    law._cache.clear()
    with np.errstate(all="ignore"):
        e_lib = np.max(np.abs(law.log_moments(k) - ref))
        naive = np.log(np.abs(np.asarray(m_naive, float)))
        e_naive = np.max(np.where(np.isfinite(naive), np.abs(naive - ref), np.inf))
        k_bad = int(np.argmax(np.abs(naive - ref) > 1e-6)) + 1 if e_naive > 1e-6 else None
    print(f"  max |log m_k - ref| : library {e_lib:.1e}, naive {e_naive:.1e}"
          + (f" (naive off by > 1e-6 from k = {k_bad})" if k_bad else "") + "  [ref: mpmath 40 digits]")


def scaling(net, ks=(100, 200, 500, 1000)):
    """Speed-up against k (same network): the library's O(k^2.5) vs the naive O(k^3)."""
    print("tanh / orthogonal, depth 1000, float: speed-up against the number of moments k (log-moments past m_275)")
    law = jacobian_law(net)
    _Shared(law)
    field = FloatField()
    law.factors[0][0]._moment_series(field, max(ks) + 1)
    for k in ks:
        def lib(k=k):
            law._cache.clear()
            return law.log_moments(k)

        t_lib, _ = best(lib, 5)
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            t_naive, _ = best(lambda k=k: naive_moments(law, k, field), 3)
        print(f"  k = {k:5d}: library {1e3 * t_lib:8.2f} ms, naive {1e3 * t_naive:9.2f} ms, "
              f"speed-up {t_naive / t_lib:6.1f}x")


def _ratio_line(label, t_new, t_old, same):
    print(f"  {label:<44s}: new {1e3 * t_new:8.2f} ms, former {1e3 * t_old:8.2f} ms, "
          f"ratio {t_old / t_new:6.1f}x  [{same}]")


def bookkeeping():
    """Building the law and its atoms: grouping by hashable keys vs the former per-layer printed keys."""
    print("law bookkeeping: JacobianLaw (grouped by hashable keys, cached atoms) vs the former grouping "
          "(legacy_grouping.py), best of 5")
    for depth in (1000, 10_000):
        net = Network(activation="tanh", weights="orthogonal", sigma_w2=1.05, sigma_b2=2.01e-5, depth=depth)
        t_new, m_new = best(lambda net=net: jacobian_law(net).log_moments(200), 5)
        t_old, m_old = best(lambda net=net: LegacyJacobianLaw(net).log_moments(200), 5)
        same = "identical" if np.array_equal(m_new, m_old) else f"max |diff| {np.max(np.abs(m_new - m_old)):.1e}"
        _ratio_line(f"tanh/orth depth {depth}: law + log_moments(200)", t_new, t_old, same)
    net = Network(activation="hard_tanh", weights="orthogonal", sigma_w2=1.05, sigma_b2=2.01e-5, depth=10_000)
    law_new, law_old = jacobian_law(net), LegacyJacobianLaw(net)

    def atoms_new():
        law_new._exact_atoms = None  # the first call on a fresh law
        return law_new.exact_atoms()

    t_new, a_new = best(atoms_new, 5)
    t_old, a_old = best(law_old.exact_atoms, 5)
    _ratio_line("hard_tanh/orth depth 10^4: exact_atoms, 1st", t_new, t_old,
                "identical" if a_new == a_old else "DIFFER")
    t_new4, _ = best(lambda: [law_new.atoms for _ in range(4)], 5)
    t_old4, _ = best(lambda: [law_old.atoms for _ in range(4)], 5)
    _ratio_line("  the same, 4 calls (as one density makes)", t_new4 + t_new, t_old4, "cached after the 1st")
    for weights in ("gaussian", "orthogonal"):
        net = Network(activation="relu", weights=weights, sigma_w2=2, sigma_b2=0, depth=1000)
        t_new, m_new = best(lambda net=net: jacobian_law(net).moments(200, exact=True), 3)
        t_old, m_old = best(lambda net=net: LegacyJacobianLaw(net).moments(200, exact=True), 3)
        _ratio_line(f"relu/{weights[:5]} depth 1000: exact m_1..m_200", t_new, t_old,
                    "identical rationals" if m_new == m_old else "DIFFER")
        lin = jacobian_law(net)._g_linear_factors(FractionField())
        t_new, s_new = best(lambda lin=lin: _two_power_moments(200, *lin), 3)
        t_old, s_old = best(lambda lin=lin: _binomial_lagrange_int(200, *lin), 3)
        _ratio_line("  the binomial sum alone", t_new, t_old, "identical rationals" if s_new == s_old else "DIFFER")


def main():
    print("moments of J J^T: library vs naive O(k^3) Lagrange inversion (best of several runs)\n")
    run_case("tanh / orthogonal, sigma_w2 = 1.05, sigma_b2 = 2.01e-5, depth 1000, m_1..m_200, float",
             Network(activation="tanh", weights="orthogonal", sigma_w2=1.05, sigma_b2=2.01e-5, depth=1000),
             200, False, 5)
    print()
    scaling(Network(activation="tanh", weights="orthogonal", sigma_w2=1.05, sigma_b2=2.01e-5, depth=1000))
    print()
    run_case("relu / gaussian, sigma_w2 = 2, sigma_b2 = 0, depth 1000, m_1..m_50, exact",
             Network(activation="relu", weights="gaussian", sigma_w2=2, sigma_b2=0, depth=1000), 50, True, 3)
    print()
    bookkeeping()


if __name__ == "__main__":
    main()
