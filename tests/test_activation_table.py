"""The table of activations in the user guide (docs/guide/activations.md) is generated from the registry and
agrees with it: one row per registry activation, phi and phi' equal to the registry's, the critical lines as
spectral.critical_point finds them."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
import sympy

from spectral import meanfield as mf
from spectral.activations import ACTIVATIONS, SELU_ALPHA, SELU_LAMBDA, X, activation

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("make_activation_table", ROOT / "docs" / "make_activation_table.py")
table = importlib.util.module_from_spec(_spec)
sys.modules["make_activation_table"] = table  # dataclasses look their module up while building the class
_spec.loader.exec_module(table)

XS = np.linspace(-3.0, 3.0, 25) + 1e-3  # off the kinks
#: The formulas are the same functions as the registry's: agreement to rounding.
RTOL = 1e-13
#: Inside/outside a stated critical range by this relative margin (the ends are stated to 6 digits).
MARGIN = 1e-4


def test_page_is_what_the_script_writes():
    assert table.PAGE.read_text() == table.page(), "run python3 docs/make_activation_table.py"


def test_every_registry_activation_has_a_row():
    rows = [line for line in table.page().splitlines() if line.startswith("| `")]
    assert len(rows) == len(ACTIVATIONS)
    for name, row in zip(ACTIVATIONS, rows, strict=True):
        assert row.startswith(f"| `{name}"), (name, row)


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_row_formulas_equal_the_registry(name):
    fam = table.FAMILIES[name]
    act = activation(name)
    subs = {sym: sympy.nsimplify(table.defaults(name)[p]) for p, sym in fam.symbols.items()}
    if fam.extra:
        subs.update({fam.extra["lambda"]: sympy.Rational(SELU_LAMBDA), fam.extra["alpha"]: sympy.Rational(SELU_ALPHA)})
    for expr, got in ((fam.phi, act.phi(XS)), (fam.dphi, act.dphi(XS))):
        f = sympy.lambdify(X, expr.subs(subs), "mpmath")
        np.testing.assert_allclose(got, [float(f(x)) for x in XS], rtol=RTOL, atol=1e-15)


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_critical_line_as_stated(name):
    kind, lo, hi = table.FAMILIES[name].critical

    def ok(s):
        return mf.critical_point(name, sigma_w2=s).chi1 == pytest.approx(1.0, abs=1e-9)

    def refused(s):
        with pytest.raises(ValueError, match="critical"):
            mf.critical_point(name, sigma_w2=s)
        return True

    if kind == "none":
        assert all(refused(s) for s in (0.5, 1.0, 2.0, 10.0, 1e3))
    elif kind == "line":
        assert ok(lo) and refused(lo * (1 + MARGIN)) and refused(lo * (1 - MARGIN))
    else:
        assert ok(lo * (1 + MARGIN)) and refused(lo * (1 - MARGIN))
        if kind == "range":
            assert refused(hi * (1 + MARGIN)) and ok(hi * (1 - MARGIN))
        else:
            assert ok(lo * 100)


def test_erf_row_is_erf_x():
    row = next(line for line in table.page().splitlines() if line.startswith("| `erf(b=1)`"))
    assert r"\operatorname{erf}{\left(b x \right)}" in row and r"\pi/(4b^2)" in row
