"""The public facade: every exported name resolves, and the README's usage runs as documented."""

import subprocess
import sys

import numpy as np
import pytest

import spectral as sp


def test_every_exported_name_resolves():
    for name in sp.__all__:
        assert getattr(sp, name) is not None
    with pytest.raises(AttributeError):
        sp.no_such_name  # noqa: B018


def test_import_is_light():
    """`import spectral` must not pull in scipy, sympy or matplotlib (fast CLI start-up)."""
    code = "import sys, spectral; print(any(m in sys.modules for m in ('sympy', 'matplotlib', 'scipy')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_issue_usage_end_to_end():
    act = sp.activation("tanh")
    mf = sp.mean_field(act, sigma_w2=1.05, sigma_b2=2.01e-5)
    crit = sp.critical_point(act, sigma_w2=1.05)
    assert crit.sigma_b2 == pytest.approx(2.01e-5, rel=1e-3) and mf.phase == "critical"
    net = sp.Network(activation="tanh", weights="orthogonal", sigma_w2=1.05, sigma_b2=2.01e-5, depth=64)
    law = sp.jacobian_law(net)
    m = law.moments(10)
    assert m[0] == pytest.approx((1.05 * sp.dphi_moments(act, mf.q_star, 1)[0]) ** 64, rel=1e-12)
    p = law.moments(10, precision=50)
    np.testing.assert_allclose(m, [float(x) for x in p], rtol=1e-10)
    for f, arg in ((law.s_transform, 0.3 + 0.1j), (law.m_transform, 4 + 1j), (law.stieltjes, 4 + 1j),
                   (law.r_transform, 0.05 + 0.01j)):
        out = f(np.array([arg]))
        assert np.all(np.isfinite(out)) and np.iscomplexobj(out)


def test_no_export_is_shadowed_by_a_submodule():
    """Importing spectral.<module> binds the module as an attribute of the package; an exported function
    with a module's name would then be replaced by the module (sp.validate once was)."""
    import importlib.util

    import spectral.validation  # noqa: F401

    assert callable(sp.validate) and sp.validate.__module__ == "spectral.validation"
    clashes = [n for n in sp.__all__ if n not in sp._MODULES and importlib.util.find_spec(f"spectral.{n}")]
    assert clashes == []
