"""Sweeps on a real dask.distributed LocalCluster: cells equal single-network results, failures recorded,
resume, Zarr/NetCDF round trips, a scheduler given by address, Monte Carlo cells."""

from __future__ import annotations

import math

import numpy as np
import pytest
import xarray as xr

from spectral.density import density_summary, lambda_max, ppf, support
from spectral.meanfield import critical_point
from spectral.montecarlo import sample_jacobians
from spectral.product import Network, jacobian_law
from spectral.sweeps import open_sweep, parse_axis, sweep
from spectral.sweeps.store import write_store

#: one worker for all Dask tests: their clusters and stored sweeps are module fixtures (pyproject: loadgroup)
pytestmark = pytest.mark.xdist_group("sweep")

#: on the critical line m1 = chi1^L exactly; chi1 and m1 are evaluated by different code paths that agree to
#: rounding (a few ulps per layer)
M1_RTOL = 1e-12
#: sampled statistics recomputed here with plain numpy sums/quantiles: same numbers up to summation order
SAMPLED_RTOL = 1e-12

GRID = {"activation": "tanh", "weights": "orthogonal,gaussian", "sigma_w2": "0.5,1.5,2", "depth": "1,4,16"}
ALL_THEORY = "meanfield,m1,m2,variance,spread,moments,lambda_max,edges,atoms,quantiles,condition"
POINTS = 100


@pytest.fixture(scope="module")
def address(dask_address):
    """The module's real 2-worker LocalCluster (tests/conftest.py)."""
    return dask_address


@pytest.fixture(scope="module")
def base(address, tmp_path_factory):
    out = tmp_path_factory.mktemp("sweep") / "base.zarr"
    ds = sweep(**GRID, critical=True, quantities=ALL_THEORY, points=POINTS, out=out, scheduler=address,
               progress=False)
    return ds, out


def _cells(ds):
    for a in ds.activation.values:
        for w in ds.weights.values:
            for s in ds.sigma_w2.values:
                for d in ds.depth.values:
                    yield ds.sel(activation=a, weights=w, sigma_w2=s, depth=d), (str(a), str(w), float(s), int(d))


# ------------------------------------------------------------------------------------------------ axes
def test_axis_text():
    assert parse_axis("0.5:4:8", float, "x") == tuple(np.linspace(0.5, 4, 8))
    assert parse_axis("1,2,4,...,1024", int, "depth") == tuple(2 ** i for i in range(11))
    assert parse_axis("1,3,...,9", int, "depth") == (1, 3, 5, 7, 9)
    assert parse_axis("1:1000:4:log", int, "depth") == (1, 10, 100, 1000)
    assert parse_axis("2.5", float, "x") == (2.5,)
    with pytest.raises(ValueError, match="--depth.*does not reach"):
        parse_axis("1,2,4,...,1000", int, "--depth")
    with pytest.raises(ValueError, match="--sigma-w2.*lo:hi:n"):
        parse_axis("1:2", float, "--sigma-w2")
    with pytest.raises(ValueError, match="--depth must hold integers"):
        parse_axis("1.5,2", int, "--depth")


def test_bad_arguments_fail_before_any_cluster_starts(tmp_path):
    with pytest.raises(ValueError, match="width is a Monte Carlo axis"):
        sweep("tanh", "orthogonal", 1.5, 4, width=8)
    with pytest.raises(ValueError, match="Monte Carlo sweep needs the layer width"):
        sweep("tanh", "orthogonal", 1.5, 4, monte_carlo=True)
    with pytest.raises(ValueError, match="sigma_b2 or critical"):
        sweep("tanh", "orthogonal", 1.5, 4, sigma_b2=0.1, critical=True)
    with pytest.raises(ValueError, match="quantities: 'meanfield' is not a Monte Carlo quantity"):
        sweep("tanh", "orthogonal", 1.5, 4, monte_carlo=True, width=8, quantities="meanfield")
    with pytest.raises(ValueError, match="depth lists a value twice"):
        sweep("tanh", "orthogonal", 1.5, "4,4")
    with pytest.raises(ValueError, match=r"out must end in \.zarr"):
        sweep("tanh", "orthogonal", 1.5, 4, out=tmp_path / "x.h5")


# ------------------------------------------------------------------------------------------- correctness
def test_theory_cells_equal_single_networks(base):
    ds, _ = base
    assert dict(ds["done"].sizes) == {"activation": 1, "weights": 2, "sigma_w2": 3, "depth": 3}
    checked = 0
    for cell, (act, w, s, depth) in _cells(ds):
        if s < 1:
            continue
        mf = critical_point(act, sigma_w2=s)
        assert cell.sigma_b2.item() == mf.sigma_b2
        assert (cell.q_star.item(), cell.chi1.item(), cell.xi_q.item(), cell.xi_c.item()) == \
            (mf.q_star, mf.chi1, mf.xi_q, mf.xi_c)
        law = jacobian_law(Network(activation=act, weights=w, sigma_w2=s, sigma_b2=mf.sigma_b2, depth=depth))
        lm = law.log_moments(4)
        np.testing.assert_array_equal(cell.log_moments.values, lm)
        assert cell.m1.item() == np.exp(lm[0]) and cell.m2.item() == np.exp(lm[1])  # as spectral moments
        assert cell.m1.item() == pytest.approx(mf.chi1 ** depth, rel=M1_RTOL)
        assert cell.spread.item() == pytest.approx(math.exp(lm[1]) / math.exp(lm[0]) ** 2 - 1, rel=1e-10)
        assert cell.atom_zero.item() == 0.0  # tanh: phi' > 0 everywhere
        assert cell.done.item()
        failed = _failed_steps(cell)
        assert cell.failed.item() == bool(failed)
        _same_or_same_failure("lambda_max", failed, lambda_max, law, cell.lambda_max.item())
        _same_or_same_failure("edges", failed, support, law, (cell.support_lo.item(), cell.support_hi.item()))
        checked += 1
    assert checked == 12


def _failed_steps(cell) -> dict:
    """step -> exception type name, from the cell's message ("step: Type: text; ...")."""
    out = {}
    for note in cell.message.item().split("; "):
        parts = note.split(": ")
        if len(parts) >= 3 and parts[1].isidentifier():
            out[parts[0]] = parts[1]
    return out


def _same_or_same_failure(step, failed, fn, law, value):
    """A sweep value equals the single call's, or the single call raises what the cell recorded."""
    if step in failed:
        with pytest.raises(Exception) as info:  # noqa: B017 - the type is compared by name below
            fn(law)
        assert type(info.value).__name__ == failed[step]
        assert np.all(np.isnan(value))
    else:
        assert value == fn(law)


@pytest.mark.parametrize("weights, depth", [("orthogonal", 16), ("gaussian", 1), ("gaussian", 16)])
def test_density_quantities_equal_single_networks(base, weights, depth):
    """quantiles as ``spectral density`` reports them; condition as the ratio of the nonzero singular values'
    quantiles, from ``spectral.density.ppf`` (the law's density is computed once and cached on it)."""
    ds, _ = base
    s = 1.5
    cell = ds.sel(weights=weights, sigma_w2=s, depth=depth)
    law = jacobian_law(Network.critical("tanh", sigma_w2=s, depth=depth, weights=weights))
    res = law.density(POINTS)
    q = density_summary(res)["diagnostics"]["quantiles"]
    np.testing.assert_array_equal(cell.quantiles.values.ravel(), [q[f"{v:g}"] for v in ds.level.values])
    a0 = sum(p for a, p in law.atoms if a == 0)
    lo, hi = ppf(law, [a0 + 0.01 * (1 - a0), a0 + 0.99 * (1 - a0)], POINTS)
    assert cell.condition.item() == math.sqrt(hi / lo)
    assert cell.certified.item() == res.certified
    assert (cell.message.item() == "") == res.certified
    if not res.certified:
        assert res.reason in cell.message.item()


def test_failing_cells_are_recorded(base):
    ds, _ = base
    bad = ds.sel(sigma_w2=0.5)
    assert bad.done.all() and bad.failed.all() and not bad.certified.any()
    for msg in bad.message.values.ravel():
        assert msg.startswith("critical point: ValueError: no critical point of 'tanh' at sigma_w2 = 0.5")
    assert np.isnan(bad.m1.values).all() and np.isnan(bad.condition.values).all()
    for msg in ds.sel(sigma_w2=[1.5, 2.0]).message.values.ravel():  # a solvable critical point everywhere
        assert "critical point" not in msg


def test_a_failing_step_keeps_the_other_quantities(address):
    """relu with sigma_w2 = 3 has no q-map fixed point (mean field fails) but its law needs none."""
    ds = sweep("relu", "orthogonal", "1,3", "2,3", quantities="meanfield,m1", scheduler=address, progress=False)
    for depth in (2, 3):
        hot = ds.sel(sigma_w2=3.0, depth=depth)
        assert hot.failed.item() and hot.message.item().startswith("mean field: NoFixedPointError")
        assert np.isnan(hot.q_star.item())
        assert hot.m1.item() == pytest.approx(1.5 ** depth, rel=M1_RTOL)  # (sigma_w2 E[phi'^2])^L
        cold = ds.sel(sigma_w2=1.0, depth=depth)
        assert not cold.failed.item() and cold.m1.item() == pytest.approx(0.5 ** depth, rel=M1_RTOL)


# ---------------------------------------------------------------------------------------------- storage
def test_zarr_round_trip(base):
    ds, out = base
    back = open_sweep(out)
    xr.testing.assert_identical(back.drop_vars("message"), ds.drop_vars("message"))
    assert back.message.values.tolist() == ds.message.values.tolist()
    for key in ("spectral_version", "created", "parameters", "grid", "scheduler", "kind"):
        assert back.attrs[key] == ds.attrs[key]
    assert back.attrs["kind"] == "theory" and back.attrs["critical"] == 1
    assert back.sigma_w2.attrs["long_name"] and back.depth.attrs["units"] == "layers"


def test_netcdf_by_extension(address, tmp_path):
    kw = {"quantities": "m1,spread,quantiles", "points": 64, "scheduler": address, "progress": False}
    a = sweep("tanh", "orthogonal", "0.5,1.5", "1,4", critical=True, out=tmp_path / "s.nc", **kw)
    b = open_sweep(tmp_path / "s.nc")
    xr.testing.assert_identical(b.drop_vars("message"), a.drop_vars("message"))
    assert b.message.values.tolist() == a.message.values.tolist()
    assert b.failed.sel(sigma_w2=0.5).all() and not b.failed.sel(sigma_w2=1.5).any()


def test_resume_skips_done_cells(base, address, tmp_path):
    ds, out = base
    part = open_sweep(out)
    todo = {"weights": "gaussian", "depth": 16}
    sentinel = -12345.0
    part["done"].loc[todo] = False
    part["m1"].loc[todo] = np.nan
    kept = part["seconds"].values.copy()
    part["m1"].loc[{"weights": "orthogonal"}] = sentinel  # a recomputed cell would lose it
    path = tmp_path / "part.zarr"
    write_store(part, path, first=True)
    resumed = sweep(**GRID, critical=True, quantities=ALL_THEORY, points=POINTS, out=path, resume=True,
                    scheduler=address, progress=False)
    assert (resumed.m1.sel(weights="orthogonal") == sentinel).all()
    np.testing.assert_array_equal(resumed.m1.sel(todo).values, ds.m1.sel(todo).values)
    np.testing.assert_array_equal(resumed.condition.values, ds.condition.values)
    mask = np.ones(ds["done"].shape, bool)
    mask[:, 1, :, 2] = False
    np.testing.assert_array_equal(resumed.seconds.values[mask], kept[mask])
    assert resumed.done.all() and open_sweep(path).done.all()
    assert resumed.attrs["created"] == ds.attrs["created"]
    with pytest.raises(ValueError, match="resume: the store was computed with other settings.*points"):
        sweep(**GRID, critical=True, quantities=ALL_THEORY, points=2 * POINTS, out=path, resume=True,
              scheduler=address)
    with pytest.raises(ValueError, match="exists; pass resume"):
        sweep(**GRID, critical=True, out=path, scheduler=address)


def test_default_local_cluster_equals_address_with_other_chunking(address):
    kw = {"quantities": "m1,spread,lambda_max,condition", "points": 64, "critical": True, "progress": False}
    grid = ("tanh,erf", "orthogonal", "1.5", "1,8")  # two activations and depths: chunking differs from the default
    local = sweep(*grid, n_workers=2, **kw)
    remote = sweep(*grid, scheduler=address, chunk_depths=1, **kw)
    assert local.attrs["scheduler"].startswith("LocalCluster(2 processes") and local.attrs["n_workers"] == 2
    assert remote.attrs["scheduler"] == address
    for name in ("m1", "spread", "lambda_max", "condition", "sigma_b2", "certified", "failed"):
        np.testing.assert_array_equal(local[name].values, remote[name].values)


# ------------------------------------------------------------------------------------------ Monte Carlo
def test_monte_carlo_cells_equal_sample_jacobians(address):
    ds = sweep("tanh", "orthogonal,gaussian", "1.5", "1,3", critical=True, monte_carlo=True, width="8,16",
               samples=3, seed=7, backend="numpy", quantities="m1,m2,spread,lambda_max,atoms,quantiles,condition",
               scheduler=address, progress=False)
    assert ds["done"].dims == ("activation", "weights", "sigma_w2", "width", "depth")
    levels = ds.level.values
    for w in ("orthogonal", "gaussian"):
        for width in (8, 16):
            for depth in (1, 3):
                cell = ds.sel(weights=w, width=width, depth=depth).squeeze()
                net = Network.critical("tanh", sigma_w2=1.5, depth=depth, weights=w)
                smp = sample_jacobians(net, width=width, n_samples=3, seed=7, backend="numpy")
                lam = smp.eigenvalues
                # the cell's exp is NumPy's (math.exp may differ from it in the last bit)
                assert cell.m1.item() == float(np.exp(smp.log_moments(2)[0]))
                assert cell.m1.item() == pytest.approx(lam.mean(), rel=SAMPLED_RTOL)
                assert cell.m2.item() == pytest.approx((lam ** 2).mean(), rel=SAMPLED_RTOL)
                assert cell.m1_stderr.item() == pytest.approx(lam.mean(axis=1).std(ddof=1) / math.sqrt(3),
                                                              rel=1e-10)
                assert cell.lambda_max.item() == pytest.approx(lam.max(axis=1).mean(), rel=SAMPLED_RTOL)
                np.testing.assert_allclose(cell.quantiles.values,
                                           np.quantile(lam.ravel(), levels, method="inverted_cdf"),
                                           rtol=SAMPLED_RTOL)
                ratio = [math.sqrt(row[row > 0].max() / row[row > 0].min()) for row in lam]
                assert cell.condition_finite.item() == pytest.approx(np.median(ratio), rel=SAMPLED_RTOL)
                assert cell.certified.item() and "sampled:" in cell.message.item()
