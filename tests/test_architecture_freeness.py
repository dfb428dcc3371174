"""Specs whose free-probability law is not the network's: activations meeting on the residual stream.

The rule (spectral.architecture.freeness) is checked on its cases, and the reason for it by sampling: the
flagged spec's real networks disagree with the law while its free model (the law's own model) agrees; the
unflagged spec agrees in both modes.  z-scores of the mean of per-network m_2 over networks, |z| < 4 for
agreement (false alarm ~6e-5 for a normal z); the flagged spec measured m_2 11% high at N = 256 (z = 6.5 with
48 networks), so 32 networks put its expected z near 5.3.
"""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest

import spectral as sp
from spectral.architecture import sample_spec
from spectral.architecture.freeness import NotFreeWarning, not_free_reason, shared_diagonals
from spectral.cli import main
from spectral.density import FactorizedLaw, UncertifiedDensityWarning, density
from spectral.laws import MarchenkoPastur

TANH = sp.activation("tanh")
#: |z| separating agreement from disagreement (module docstring)
Z_MAX = 4.0


def _dense(s2=1.0):
    return sp.Dense("gaussian", s2)


def _act():
    return sp.Nonlinearity(TANH)


def _spec(layers):
    return sp.Sequential(layers, input_q=1.0)


#: the branch starts with an activation, and an activation follows the block: D_2 (I + W D_1) has D_2 D_1
BLOCK_THEN_ACT = [_dense(1.5), sp.Residual([_act(), _dense()], alpha=1.0, beta=1.0), _act()]
#: the same with a Dense layer first in the branch: exact
DENSE_FIRST = [_dense(1.5), sp.Residual([_dense(), _act(), _dense()], alpha=1.0, beta=1.0), _act()]

CASES = {
    "plain chain": ([sp.Repeat(3, [_dense(), _act()])], 0),
    "dense-first blocks": ([_dense(), sp.Repeat(3, [sp.Residual([_dense(), _act(), _dense()], 1, 0.5)])], 0),
    "one pre-activation block": ([_dense(), sp.Residual([_act(), _dense()], 1, 0.5)], 0),
    "both ends of one branch": ([_dense(), sp.Residual([_act(), _dense(), _act()], 1, 1)], 0),
    "two pre-activation blocks": ([_dense(), sp.Repeat(2, [sp.Residual([_act(), _dense()], 1, 0.5)])], 1),
    "activation after a pre-activation block": (BLOCK_THEN_ACT, 1),
    "post-activation resnet": ([_dense(), sp.Repeat(2, [sp.Residual([_dense(), _act(), _dense()], 1, 1),
                                                          _act()])], 1),
    "no identity path (alpha = 0)": ([_dense(), sp.Residual([_act(), _dense()], alpha=0.0, beta=1.0), _act()], 0),
}


@pytest.mark.parametrize("name", list(CASES))
def test_rule_cases(name):
    layers, groups = CASES[name]
    shared = shared_diagonals(_spec(layers))
    assert len(shared) == groups, shared
    assert (not_free_reason(_spec(layers)) is None) == (groups == 0)


def _z_m2(spec, mode):
    law = sp.jacobian_law(spec)
    m2 = float(law.moments(2)[1])
    per = sample_spec(spec, width=256, n_samples=32, seed=1, mode=mode).per_network_moments(2)[:, 1]
    return (per.mean() - m2) / (per.std(ddof=1) / math.sqrt(per.size))


def test_flagged_spec_is_not_the_network_but_the_free_model():
    spec = _spec(BLOCK_THEN_ACT)
    with pytest.warns(NotFreeWarning, match="residual stream"):
        law = sp.jacobian_law(spec)
    assert law.not_free
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotFreeWarning)
        assert abs(_z_m2(spec, "network")) > Z_MAX
        assert abs(_z_m2(spec, "free")) < Z_MAX


def test_exact_spec_agrees_with_the_network():
    spec = _spec(DENSE_FIRST)
    with warnings.catch_warnings():
        warnings.simplefilter("error", NotFreeWarning)
        assert sp.jacobian_law(spec).not_free is None
        assert abs(_z_m2(spec, "network")) < Z_MAX


def test_caveat_fails_every_density_certificate():
    """A law's caveat (FactorizedLaw.caveat) makes its density uncertified with that reason, however well
    the solver did."""
    rec = MarchenkoPastur().solver_factors()
    exact = FactorizedLaw(rec.factors, rec.atoms, "mp", moments12=(1.0, 2.0))
    flagged = FactorizedLaw(rec.factors, rec.atoms, "mp flagged", moments12=(1.0, 2.0), caveat="not the model")
    assert density(exact, 200).certified
    with pytest.warns(UncertifiedDensityWarning, match="not the model"):
        res = density(flagged, 200)
    assert not res.certified and "not the model" in res.reason
    np.testing.assert_array_equal(res.density, density(exact, 200).density)


def test_cli_moments_of_a_flagged_spec_exit_3(tmp_path, capsys):
    path = tmp_path / "spec.json"
    path.write_text(json.dumps({"input_q": 1, "layers": [
        {"dense": {"weights": "gaussian", "sigma_w2": 1.5}},
        {"residual": {"alpha": 1, "beta": 1, "branch": [{"activation": "tanh"},
                                                         {"dense": {"weights": "gaussian", "sigma_w2": 1}}]}},
        {"activation": "tanh"}]}))
    assert main(["moments", "--spec", str(path), "--json"]) == 3
    out = capsys.readouterr()
    assert json.loads(out.out)["certified"] is False
    assert "NOT CERTIFIED" in out.err and "residual stream" in out.err
    assert main(["moments", "--spec", str(path), "--allow-uncertified"]) == 0
