"""The law -> solver interface (docs/design.md §5): the density solver sees a law only through
``law.solver_factors()``, a :class:`spectral.density.FactorizedLaw`.

Laws written from scratch in this file (a SpectralLaw subclass implementing ``moments`` and ``solver_factors``
only) get a certified density through the hook alone; their mass, m_1 and m_2 are checked against closed forms
(Marchenko--Pastur: m_1 = v, m_2 = v^2 (1 + c); free product of free a, b:
m_2 = m_2(a) m_1(b)^2 + m_1(a)^2 m_2(b) - m_1(a)^2 m_1(b)^2).  The solver package imports no law.
"""

import math
import pathlib
import subprocess
import sys
import warnings

import numpy as np
import pytest

from spectral import density as D
from spectral.laws import Atomic, Bernoulli, FreeProduct, HaarOrthogonal, MarchenkoPastur, Semicircle, SpectralLaw
from spectral.product import Network, jacobian_law

#: mass, m_1 and m_2 of the density against the closed forms: the library's own certificate tolerance.
TOL = D.CERTIFICATE_TOL

ROOT = pathlib.Path(__file__).resolve().parents[1]


class ScaledFreePoisson(SpectralLaw):
    r"""Free Poisson law of rate 1/c scaled by v (the law of (v/n) X^T X, X n x p, c = p/n), from scratch:
    :math:`S(y) = 1/(v (1 + c y))`, an atom 1 - 1/c at 0 when c > 1."""

    def __init__(self, ratio, scale):
        self.c, self.v = float(ratio), float(scale)
        self.name = f"scaled-free-poisson(c={ratio}, v={scale})"

    def moments(self, k):
        if k > 2:
            raise NotImplementedError("m_1, m_2 only")
        return np.array([self.v, self.v**2 * (1 + self.c)])[:k]

    def solver_factors(self):
        atoms = ((0.0, 1.0 - 1.0 / self.c),) if self.c > 1 else ()
        return D.FactorizedLaw((D.LinearFactor(1.0 / self.v, ((self.c, -1.0),)),), atoms, self.name,
                               tuple(self.moments(2)))


def _two_atom_factor(a, b, p):
    r"""ImplicitFactor of (1 - p) delta_a + p delta_b (0 < a < b): M(zeta) = sum p_i v_i / (zeta - v_i)."""
    v, w = np.array([a, b]), np.array([1 - p, p])

    def m(zeta):
        zz = np.asarray(zeta)[..., None]
        return np.sum(w * v / (zz - v), axis=-1)

    def dm(zeta):
        zz = np.asarray(zeta)[..., None]
        return -np.sum(w * v / (zz - v) ** 2, axis=-1)

    def g1(zeta):
        zz = np.asarray(zeta)[..., None]
        return np.sum(w * zz / (zz - v), axis=-1)

    m1, m2 = float(w @ v), float(w @ v**2)
    return D.ImplicitFactor(m, dm, m1, (a, b), g1=g1, values=(a, b), offset=m2 / m1,
                            spread=float(w @ (v - m1) ** 2) / m1**2), (m1, m2)


class TwoAtomsTimesPoisson(SpectralLaw):
    """The free product of a two-atom law and a free Poisson law (ratio 1, scale v), from scratch."""

    name = "two-atoms x free-poisson"

    def __init__(self, a, b, p, v):
        self.factor, (self.m1a, self.m2a) = _two_atom_factor(a, b, p)
        self.v = v

    def moments(self, k):
        m1b, m2b = self.v, 2 * self.v**2
        m1 = self.m1a * m1b
        m2 = self.m2a * m1b**2 + self.m1a**2 * m2b - self.m1a**2 * m1b**2
        return np.array([m1, m2])[:k]

    def solver_factors(self):
        return D.FactorizedLaw((self.factor, D.LinearFactor(1.0 / self.v, ((1.0, -1.0),))), (), self.name,
                               tuple(self.moments(2)))


def _check_closed_forms(res, m1, m2):
    d = res.diagnostics
    assert res.certified, res.reason
    assert abs(res.mass - 1.0) <= TOL
    assert abs(d["m1"] / m1 - 1) <= TOL and abs(d["m2"] / m2 - 1) <= TOL


@pytest.mark.parametrize("ratio, scale", [(0.5, 2.0), (1.0, 1.0), (3.0, 0.5)])
def test_new_linear_law_through_the_hook_is_certified(ratio, scale):
    law = ScaledFreePoisson(ratio, scale)
    with warnings.catch_warnings():
        warnings.simplefilter("error", D.UncertifiedDensityWarning)
        res = law.density(800)
    _check_closed_forms(res, scale, scale**2 * (1 + ratio))
    lo, hi = scale * (1 - math.sqrt(ratio)) ** 2, scale * (1 + math.sqrt(ratio)) ** 2
    assert res.support[0] == pytest.approx(lo, rel=1e-9, abs=1e-12) and res.support[1] == pytest.approx(hi, rel=1e-9)
    assert res.atoms == (((0.0, 1.0 - 1.0 / ratio),) if ratio > 1 else ())
    # closed-form density of Marchenko--Pastur at an interior point
    x = np.array([0.5 * (lo + hi)])
    ref = math.sqrt((hi - x[0]) * (x[0] - lo)) / (2 * math.pi * ratio * scale * x[0])
    assert law.pdf(x)[0] == pytest.approx(ref, rel=1e-9)


def test_new_implicit_law_through_the_hook_is_certified():
    law = TwoAtomsTimesPoisson(0.5, 2.0, 0.3, 1.5)
    with warnings.catch_warnings():
        warnings.simplefilter("error", D.UncertifiedDensityWarning)
        res = law.density(800)
    m1, m2 = law.moments(2)
    _check_closed_forms(res, m1, m2)
    assert law.cdf(np.array([res.lambda_max]))[0] == pytest.approx(1.0, abs=1e-9)


def test_default_hook_refuses_with_a_clear_message():
    class MomentsOnly(SpectralLaw):
        name = "moments-only"

        def moments(self, k):
            return np.ones(k)

    with pytest.raises(NotImplementedError, match="solver_factors"):
        MomentsOnly().solver_factors()
    with pytest.raises(ValueError, match="has no density.*solver_factors"):
        MomentsOnly().density(100)
    with pytest.raises(TypeError, match="solver_factors"):
        D.density(object(), 100)


def test_factorized_law_is_its_own_record():
    rec = D.FactorizedLaw((D.LinearFactor(1.0),), name="haar")
    assert rec.solver_factors() is rec
    assert D.SolverFactors is D.FactorizedLaw


def test_each_law_implements_its_own_hook():
    assert isinstance(MarchenkoPastur(2, 3).solver_factors().factors[0], D.LinearFactor)
    assert isinstance(HaarOrthogonal(2).solver_factors().factors[0], D.LinearFactor)
    assert isinstance(Bernoulli(0.5).solver_factors().factors[0], D.LinearFactor)
    assert isinstance(Semicircle(1, mean=3).solver_factors().factors[0], D.ExplicitFactor)
    three = Atomic((1, 2, 4), (0.25, 0.5, 0.25)).solver_factors().factors[0]
    assert isinstance(three, D.ImplicitFactor) and three.values == (1.0, 2.0, 4.0) and three.mean == 2.25
    # products flatten with multiplicities and scales multiplied
    rec = FreeProduct([(MarchenkoPastur(), 3, 2), FreeProduct([(HaarOrthogonal(2), 5)])]).solver_factors()
    assert [(type(f).__name__, f.multiplicity, f.scale) for f in rec.factors] == [
        ("LinearFactor", 3.0, 2.0), ("LinearFactor", 5.0, 1.0)]
    law = jacobian_law(Network.critical("tanh", sigma_w2=1.05, depth=7, weights="orthogonal"))
    rec = law.solver_factors()
    assert rec.name == law.name and rec.atoms == law.atoms
    assert sum(f.multiplicity for f in rec.factors if isinstance(f, D.ImplicitFactor)) == 7.0


def test_solver_imports_no_law():
    """Importing the whole solver loads neither spectral.laws nor spectral.product, and no solver module
    names them (the data flow is one way: laws -> density)."""
    code = ("import sys, spectral.density, spectral.density.pipeline; "
            "print(sorted(m for m in sys.modules if m.startswith(('spectral.laws', 'spectral.product'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=ROOT, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert out.stdout.strip() == "[]"
    for path in sorted((ROOT / "spectral" / "density").glob("*.py")):
        for ln in path.read_text().splitlines():
            if ln.lstrip().startswith(("import ", "from ")):
                assert "laws" not in ln and "product" not in ln, (path.name, ln)
            assert 'getattr(law, "_' not in ln and "getattr(lw" not in ln, (path.name, ln)  # no private probing
