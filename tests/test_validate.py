"""Validation: free and network modes agree with the theory (relu Gaussian/orthogonal, tanh at the published
critical point, hard-tanh, linear); report contents, JSON keys, finite-width atom, failure detection."""

import json
import math

import numpy as np
import pytest

from spectral.montecarlo import sample_jacobians
from spectral.product import Network
from spectral.validate import ValidationReport, finite_width_atom, validate

CASES = {
    "relu_gaussian": Network(activation="relu", weights="gaussian", sigma_w2=2.0, sigma_b2=0.0, depth=6),
    "relu_orthogonal": Network(activation="relu", weights="orthogonal", sigma_w2=2.0, sigma_b2=0.0, depth=6),
    # Pennington, Schoenholz & Ganguli (2017): sigma_w2 = 1.05 on the critical line, sigma_b2 ~ 2.01e-5
    "tanh_critical": Network.critical("tanh", sigma_w2=1.05, depth=6, weights="orthogonal"),
    "hard_tanh": Network.critical("hard_tanh", sigma_w2=1.05, depth=6, weights="orthogonal"),
    "linear_gaussian": Network(activation="linear", weights="gaussian", sigma_w2=1.0, sigma_b2=0.0, depth=6),
    "linear_orthogonal": Network(activation="linear", weights="orthogonal", sigma_w2=1.0, sigma_b2=0.0, depth=6),
}
KEYS = {"moments_theory", "moments_sampled", "stderr", "z_scores", "ks", "wasserstein", "atom_theory",
        "atom_sampled", "passed", "backend", "seconds"}


def test_tanh_critical_point_is_the_published_one():
    assert CASES["tanh_critical"].sigma_b2 == pytest.approx(2.01e-5, rel=0.01)


#: laws with an implicit D^2 factor need the density solver's slow path for the CDF: KS in the slow test
SLOW_CDF = {"tanh_critical"}


@pytest.mark.parametrize("mode", ["network", "free"])
@pytest.mark.parametrize("case", list(CASES))
def test_modes_agree_with_theory(case, mode):
    r = validate(CASES[case], width=192, n_samples=16, seed=0, mode=mode, backend="numpy",
                 distribution=case not in SLOW_CDF)
    assert r.passed, str(r)
    assert np.all(np.abs(r.z_scores[np.isfinite(r.z_scores)]) < 4)
    if case not in SLOW_CDF:
        assert r.ks is not None and r.ks <= r.ks_bound, str(r)


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["network", "free"])
@pytest.mark.parametrize("case", sorted(SLOW_CDF))
def test_modes_agree_with_theory_distribution(case, mode):
    r = validate(CASES[case], width=192, n_samples=16, seed=0, mode=mode, backend="numpy")
    assert r.passed, str(r)
    assert r.ks is not None and r.ks <= r.ks_bound, str(r)


def test_report_json_and_table():
    r = validate(CASES["relu_gaussian"], width=64, n_samples=4, seed=1, mode="free", backend="numpy")
    assert isinstance(r, ValidationReport)
    d = r.to_dict()
    assert KEYS <= set(d)
    text = json.dumps(d, allow_nan=False)  # strict JSON: no NaN/inf
    assert '"passed"' in text
    assert len(d["moments_theory"]) == len(d["z_scores"]) == 4
    assert d["backend"] == "numpy" and d["mode"] == "free" and d["depth"] == 6 and d["width"] == 64
    s = str(r)
    assert "theory" in s and "sampled" in s and ("PASSED" in s or "FAILED" in s)
    assert d["atom_theory"] == pytest.approx(0.5)


def test_finite_width_atom_exact_small_case():
    """Two layers of width 4, mu = 1/2: rank = min of two Binomial(4, 1/2)."""
    from itertools import product

    from scipy.stats import binom

    mean, sd = finite_width_atom([0.5, 0.5], (4, 4, 4))
    pm = binom.pmf(np.arange(5), 4, 0.5)
    vals = [(1 - min(a, b) / 4, pm[a] * pm[b]) for a, b in product(range(5), range(5))]
    m_ref = sum(v * p for v, p in vals)
    sd_ref = math.sqrt(sum(v * v * p for v, p in vals) - m_ref ** 2)
    assert mean == pytest.approx(m_ref, abs=1e-14) and sd == pytest.approx(sd_ref, abs=1e-14)
    assert finite_width_atom([0.0, 0.0], (4, 4, 4)) == (0.0, 0.0)


def test_finite_width_notes_and_reuse_of_samples():
    s = sample_jacobians(CASES["tanh_critical"], width=32, n_samples=4, mode="free", backend="numpy", seed=0)
    r = validate(None, samples=s, distribution=False)
    assert r.samples is s and r.n_samples == 4
    assert any("L/N" in note for note in r.notes)


def test_detects_a_wrong_theory():
    """Networks with sigma_w2 = 2.2 compared with the sigma_w2 = 2 theory must fail (m_1 off by 10% per
    layer: 1.1^6 - 1 = 77%)."""
    s = sample_jacobians(Network(activation="relu", weights="gaussian", sigma_w2=2.2, sigma_b2=0.0, depth=6),
                         width=128, n_samples=16, mode="free", backend="numpy", seed=0)
    wrong = type(s)(**{**s.__dict__, "network": CASES["relu_gaussian"]})
    r = validate(None, samples=wrong)
    assert not r.passed and not r.checks["moments"][0]


def test_errors():
    with pytest.raises(ValueError, match="n_samples must be >= 2"):
        validate(CASES["relu_gaussian"], width=16, n_samples=1, backend="numpy")
    with pytest.raises(TypeError, match="JacobianSamples"):
        validate(None, samples=np.zeros(3))
