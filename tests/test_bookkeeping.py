"""Layer grouping of the law of J J^T: grouping by hashable keys and cached atoms give the results of the
former per-layer grouping (``benchmarks/legacy_grouping.py``, kept verbatim): identical exact moments and
atoms, floats to rounding."""

import importlib.util
import math
from fractions import Fraction
from pathlib import Path

import mpmath
import numpy as np
import pytest

from spectral.product import Layer, Network, jacobian_law

_spec = importlib.util.spec_from_file_location(
    "legacy_grouping", Path(__file__).parents[1] / "benchmarks" / "legacy_grouping.py")
legacy = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(legacy)

#: Both routes build the same free product up to how equal layers are grouped into factors; grouping only
#: changes the order and multiplicity of float sums (log S summed per factor), i.e. rounding: relative to
#: the size of log m_k (which reaches ~275 at k = 200, depth 200).
FLOAT_LOG_TOL = 1e-13


def _pair(net):
    return jacobian_law(net), legacy.LegacyJacobianLaw(net)


def _assert_float_equal(new, old, k):
    np.testing.assert_allclose(new.log_moments(k), old.log_moments(k), rtol=FLOAT_LOG_TOL, atol=FLOAT_LOG_TOL)


UNIFORM = [
    ("tanh", "orthogonal", 1.05, 2.01e-5, 1000),
    ("tanh", "gaussian", 1.3, 0.05, 64),
    ("erf", "orthogonal", 1.2, 0.01, 16),
    ("hard_tanh", "orthogonal", 1.05, 2.01e-5, 300),
    ("relu", "gaussian", 2.0, 0.0, 1000),
    ("leaky_relu(0.1)", "orthogonal", 1.5, 0.0, 50),
    ("linear", "orthogonal", 1.0, 0.0, 10),  # a point mass: past m_10 the float series loses precision
]


@pytest.mark.parametrize("act,weights,s2,b2,depth", UNIFORM)
def test_uniform_networks_same_law_as_per_layer_grouping(act, weights, s2, b2, depth):
    new, old = _pair(Network(act, weights, s2, b2, depth=depth))
    assert new.q == old.q
    assert [(f[1], f[2]) for f in new.factors] == [(f[1], f[2]) for f in old.factors]
    assert [f[0].name for f in new.factors] == [f[0].name for f in old.factors]
    k = 10 if act == "linear" else 200
    np.testing.assert_array_equal(new.log_moments(k), old.log_moments(k))  # same factors, same order
    assert new.exact_atoms() == old.exact_atoms()


def _mixed_layers():
    # contracting orthogonal, expanding Gaussian, mixed activations and parameters (no widening orthogonal
    # layer with a q-dependent activation: there the q-sequence itself changed, see test_widening.py)
    return (Layer("tanh", "orthogonal", 1.3, 0.05, width=300), Layer("tanh", "gaussian", 1.3, 0.05, width=500),
            Layer("erf", "orthogonal", 1.1, 0.02, width=400), Layer("tanh", "orthogonal", 1.3, 0.05, width=400),
            Layer("tanh", "orthogonal", 1.3, 0.05, width=400))


def test_per_layer_rectangular_network_same_law():
    net = Network(layers=_mixed_layers(), width=400)
    new, old = _pair(net)
    assert new.q == old.q
    _assert_float_equal(new, old, 100)
    assert new.exact_atoms() == old.exact_atoms()


@pytest.mark.parametrize("weights", ["gaussian", "orthogonal"])
def test_exact_moments_and_atoms_identical_rectangular_relu(weights):
    layers = (Layer("relu", weights, 2, 0, width=96), Layer("linear", "orthogonal", 1, 0, width=64),
              Layer("relu", weights, 2, 0, width=80), Layer("leaky_relu(0.1)", weights, Fraction(3, 2), 0))
    net = Network(layers=layers * 3, width=48)
    new, old = _pair(net)
    assert new.moments(30, exact=True) == old.moments(30, exact=True)
    assert new.exact_atoms() == old.exact_atoms()
    _assert_float_equal(new, old, 100)


def test_equal_activations_in_distinct_objects_share_one_law():
    """Per-layer networks resolve each layer's activation separately; equal activations (same value) now share
    one law of D^2 and one factor, where the former grouping kept one factor per object."""
    net = Network(layers=tuple(Layer("tanh", "orthogonal", 1.05, 2.01e-5) for _ in range(200)))
    assert len({id(layer.activation) for layer in net.layers}) == 200
    new, old = _pair(net)
    assert len(new.factors) == 2 and len(old.factors) == 201  # weight laws were merged by name already
    assert len({id(x) for x in new.d2_laws}) == 1
    _assert_float_equal(new, old, 200)
    # the merged law is the uniform network's law, and no farther from a 40-digit reference than before
    uniform = jacobian_law(Network("tanh", "orthogonal", 1.05, 2.01e-5, depth=200))
    np.testing.assert_array_equal(new.log_moments(200), uniform.log_moments(200))
    ref = np.array([float(mpmath.log(x)) for x in uniform.moments(200, precision=40)])
    assert np.max(np.abs(new.log_moments(200) - ref)) <= np.max(np.abs(old.log_moments(200) - ref))
    relu = Network(layers=tuple(Layer("relu", "gaussian", 2, 0) for _ in range(100)))
    new, old = _pair(relu)
    assert len(new.factors) == 2
    assert new.moments(40, exact=True) == old.moments(40, exact=True)
    assert new.exact_atoms() == old.exact_atoms()


def test_custom_callables_without_expression_are_never_merged():
    from spectral import activations as acts
    f = acts.activation(lambda x: np.tanh(x), dphi=lambda x: 1 - np.tanh(x) ** 2)
    g = acts.activation(lambda x: np.sin(x), dphi=lambda x: np.cos(x))
    assert f == g  # equality ignores the functions: both are "custom" without an expression
    net = Network(layers=(Layer(f, "orthogonal", 1.2, 0.0), Layer(g, "orthogonal", 1.2, 0.0)), q0=0.5)
    law = jacobian_law(net)
    assert law.d2_laws[0] is not law.d2_laws[1]
    assert law.d2_laws[0].activation is f and law.d2_laws[1].activation is g
    # custom activations (also sympy expressions) keep one law per object, as before
    x = acts.X
    h, k = acts.activation(x / (1 + x**2)), acts.activation(x / (1 + x**2))
    assert h == k and h is not k
    law = jacobian_law(Network(layers=(Layer(h, "orthogonal", 1.2, 0.0), Layer(k, "orthogonal", 1.2, 0.0)), q0=0.5))
    assert law.d2_laws[0] is not law.d2_laws[1]


def test_hard_tanh_symbolic_moments_and_atoms_match():
    net = Network("hard_tanh", "orthogonal", 1, 0, depth=3, q0=0.1)
    new, old = _pair(net)
    ex_new, ex_old = new.moments(4, exact=True), old.moments(4, exact=True)
    assert [x.subs(new.symbol_values) for x in ex_new] == [x.subs(old.symbol_values) for x in ex_old]
    assert [str(x) for x in ex_new] == [str(x) for x in ex_old]
    assert new.exact_atoms() == old.exact_atoms()


def test_exact_atoms_computed_once():
    law = jacobian_law(Network("hard_tanh", "orthogonal", 1.05, 2.01e-5, depth=2000))
    first = law.exact_atoms()
    assert law.exact_atoms() is first and law.atoms == law.atoms
    assert math.isclose(law.atoms[0][1], float(first[0][1]))


def test_mean_fields_and_symbol_values_per_distinct_layer():
    from spectral.meanfield import mean_field

    net = Network(layers=(Layer("hard_tanh", "orthogonal", 1.05, 0.01),) * 500 + (Layer("tanh", "gaussian", 1.2, 0.0),),
                  q0=0.3)
    law, old = _pair(net)
    mfs = law.mean_fields
    assert len(mfs) == 501 and mfs[0] is mfs[499]
    assert mfs[0].q_star == mean_field("hard_tanh", 1.05, 0.01).q_star
    assert mfs[500].chi1 == mean_field("tanh", 1.2, 0.0).chi1
    # one symbol p per distinct q^l of the hard_tanh layers, the same as before
    assert law.symbol_values == old.symbol_values and len(law.symbol_values) == len(set(law.q[:500]))
