"""Property-based fuzzing of the public API: drawn arguments (valid, edge, invalid, wrong types) give a
result without NaN, or a ValueError/TypeError/NotImplementedError whose message names the parameter;
never another exception, never an allocation beyond the stated limits, always within a bounded time.

The hypothesis profiles are the same as in ``tests/test_fuzz_cli.py`` (``ci`` by default).
"""

import math
import os
import time

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import spectral as sp
from spectral import limits

settings.register_profile("ci", max_examples=30, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
settings.register_profile("thorough", max_examples=400, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

#: Seconds one drawn call may take (the sizes drawn are small).
CALL_SECONDS = 60.0
#: Exceptions the API documents for bad input (NoFixedPointError is a ValueError).
DOCUMENTED = (ValueError, TypeError, NotImplementedError)

ACTS = st.sampled_from(["tanh", "relu", "erf", "linear", "hard_tanh", "sin", "leaky_relu(0.1)", "gelu", "", "x",
                        None, 3])
REALS = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.floats(0.05, 4.0),
                  st.sampled_from([0, 1, 2, "21/20", "abc", None, -1, 1e-300, True]))
DEPTHS = st.one_of(st.integers(-2, 6), st.sampled_from([None, 1.5, "3", True, limits.MAX_DEPTH + 1]))
KS = st.one_of(st.integers(-1, 8), st.sampled_from([0, 2.0, "5", None, True]))


def _no_nan(values, what):
    # exact rationals may exceed the float range: look at the text of each value
    bad = [str(v) for v in values if "nan" in str(v).lower()]
    assert not bad, f"{what}: NaN in {bad}"


def _call(f, *args, **kwargs):
    t0 = time.perf_counter()
    try:
        out = f(*args, **kwargs)
    except DOCUMENTED as exc:
        assert str(exc).strip(), f"{f.__name__}{args}{kwargs}: empty message"
        out = exc
    assert time.perf_counter() - t0 < CALL_SECONDS, f"{f.__name__}{args}{kwargs}: too slow"
    return out


@given(act=ACTS, sw=REALS, sb=REALS)
def test_mean_field(act, sw, sb):
    out = _call(sp.mean_field, act, sw, sb)
    if not isinstance(out, Exception):
        assert not math.isnan(out.q_star) and not math.isnan(out.chi1)


@given(act=ACTS, weights=st.sampled_from(["gaussian", "orthogonal", "x", None]), sw=REALS, sb=REALS, depth=DEPTHS,
       k=KS, how=st.sampled_from(["float", "log", "exact", "precision"]))
def test_moments(act, weights, sw, sb, depth, k, how):
    net = _call(sp.Network, activation=act, weights=weights, sigma_w2=sw, sigma_b2=sb, depth=depth)
    if isinstance(net, Exception):
        return
    law = _call(sp.jacobian_law, net)
    if isinstance(law, Exception):
        return
    if how == "float":
        m = _call(law.moments, k)
    elif how == "log":
        m = _call(law.log_moments, k)
    elif how == "exact":
        m = _call(law.moments, k, exact=True)
    else:
        m = _call(law.moments, k, precision=20)
    if not isinstance(m, Exception):
        _no_nan(m, f"{how} moments of {net}")


@given(k=st.sampled_from([10**5, 10**6, 10**9]))
def test_series_beyond_memory_is_refused_before_allocating(k):
    law = sp.jacobian_law(sp.Network("relu", "orthogonal", 2, 0, depth=2))
    avail = limits.available_memory()
    need = 8.0 * limits.SERIES_MATRICES * k * k
    t0 = time.perf_counter()
    for f in (law.moments, law.log_moments):
        out = _call(f, k)
        if need > limits.MEMORY_FRACTION * avail:
            assert isinstance(out, ValueError) and "k=" in str(out) and "use k <=" in str(out)
    assert time.perf_counter() - t0 < 5


@given(width=st.sampled_from([10**5, 10**6, 10**9]), samples=st.sampled_from([1, 2, 16]))
def test_sampling_beyond_memory_is_refused_before_allocating(width, samples):
    net = sp.Network("relu", "gaussian", 2, 0, depth=2)
    t0 = time.perf_counter()
    out = _call(sp.sample_jacobians, net, width=width, n_samples=samples, backend="numpy")
    assert isinstance(out, ValueError) and "width" in str(out) and "use width <=" in str(out)
    assert time.perf_counter() - t0 < 5


@given(width=st.one_of(st.integers(-1, 6), st.sampled_from([None, 2.5, "4"])),
       samples=st.one_of(st.integers(-1, 3), st.sampled_from([None, 1.0])), mode=st.sampled_from(["network", "free",
                                                                                                   "x"]))
def test_sampling_small(width, samples, mode):
    net = sp.Network("tanh", "orthogonal", 1.05, 2.01e-5, depth=2)
    out = _call(sp.sample_jacobians, net, width=width, n_samples=samples, mode=mode, backend="numpy", threads=1)
    if not isinstance(out, Exception):
        assert np.all(np.isfinite(out.eigenvalues))
