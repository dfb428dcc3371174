"""Plots are checked on their data: the lines, bars, spikes and labels carry the right numbers."""

import math
import subprocess
import sys

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from axes_artists import by_gid  # noqa: E402
from matplotlib.collections import QuadMesh  # noqa: E402
from matplotlib.patches import StepPatch  # noqa: E402

from spectral import plotting as P  # noqa: E402
from spectral.density import DensityResult  # noqa: E402
from spectral.depth_scaling import variance_grid  # noqa: E402
from spectral.meanfield import phase_diagram  # noqa: E402
from spectral.plotting import sources  # noqa: E402
from spectral.plotting.style import _fmt_num  # noqa: E402
from spectral.product import Network, jacobian_law  # noqa: E402


# ------------------------------------------------------------------ stand-ins built from closed forms
def _mp_result(atom=0.25):
    """Eigenvalue density (1 - atom) x Marchenko-Pastur(1) on a grid, with an atom at 0."""
    x = np.linspace(1e-6, 4.0, 401)
    rho = (1 - atom) * np.sqrt(np.maximum(4 - x, 0) * x) / (2 * np.pi * x)
    atoms = ((0.0, atom),) if atom else ()
    return DensityResult(x=x, density=rho, atoms=atoms, support=(0.0, 4.0), lambda_max=4.0, mass=1.0,
                         diagnostics={}, law="MP stand-in", points=401)


def _atom_ax(ax):
    twin = ax._spectral_atom_axes
    assert twin.get_ylabel() == "atom mass"
    return twin


def _legend_texts(ax):
    return [t.get_text() for t in ax.get_legend().get_texts()]


@pytest.fixture(scope="module")
def relu_laws():
    return {L: jacobian_law(Network(activation="relu", weights="gaussian", sigma_w2=2.0, sigma_b2=0.0, depth=L))
            for L in (2, 8)}


# ------------------------------------------------------------------ plot_singular_values
def test_singular_values_line_is_the_density(relu_laws):
    res = {f"L = {L}": law.singular_values().density(200) for L, law in relu_laws.items()}
    ax = P.plot_singular_values(res)
    lines = by_gid(ax.lines, "density")
    assert len(lines) == 2
    for line, r in zip(lines, res.values(), strict=True):
        np.testing.assert_array_equal(line.get_xdata(), r.x)
        np.testing.assert_array_equal(line.get_ydata(), r.density)
        assert line.get_linestyle() == "-"  # certified
    assert _legend_texts(ax) == ["L = 2", "L = 8"]
    assert "singular value" in ax.get_xlabel() and r"\rho_s" in ax.get_ylabel()
    # relu: one atom at 0 of mass 1/2 per curve, labelled once
    spikes = by_gid(_atom_ax(ax).lines, "atom")
    assert len(spikes) == 2
    for s in spikes:
        assert list(s.get_xdata()) == [0.0, 0.0] and list(s.get_ydata()) == [0.0, 0.5]
    labels = [t.get_text() for t in by_gid(_atom_ax(ax).texts, "atom_label")]
    assert labels == [r"$\delta$: 1/2"]
    # view: from just below 0, the atom visible; y range set by the bulk
    lo, hi = ax.get_xlim()
    assert lo < 0 < hi and ax.get_ylim()[0] == 0


def test_eigenvalue_result_converted_to_singular_values():
    res = _mp_result(0.25)
    ax = P.plot_singular_values([res], labels=["MP"])
    line = by_gid(ax.lines, "density")[0]
    s = np.sqrt(res.x)
    np.testing.assert_allclose(line.get_xdata(), s)
    np.testing.assert_allclose(line.get_ydata(), 2 * s * res.density)
    # area of the continuous part is 1 - atom in either variable
    assert np.trapezoid(line.get_ydata(), line.get_xdata()) == pytest.approx(0.75, abs=2e-3)
    spike = by_gid(_atom_ax(ax).lines, "atom")[0]
    assert list(spike.get_ydata()) == [0.0, 0.25]
    assert by_gid(_atom_ax(ax).texts, "atom_label")[0].get_text().endswith("1/4")
    # eigenvalue variable: plotted as given
    ax2 = P.plot_singular_values([res], labels=["MP"], variable="eigen")
    np.testing.assert_array_equal(by_gid(ax2.lines, "density")[0].get_ydata(), res.density)
    assert "eigenvalue" in ax2.get_xlabel()


def test_nonzero_atom_and_uncertified_style():
    res = DensityResult(x=np.array([0.5, 1.0, 1.5]), density=np.array([0.1, 0.2, 0.1]), atoms=((2.25, 0.3),),
                        support=(0.5, 1.5), lambda_max=2.25, mass=1.0, diagnostics={"n_uncertified_total": 3},
                        law="stand-in", points=3)
    ax = P.plot_singular_values([res], labels=["x"])
    spike = by_gid(_atom_ax(ax).lines, "atom")[0]
    assert list(spike.get_xdata()) == [1.5, 1.5] and list(spike.get_ydata()) == [0.0, 0.3]
    assert by_gid(ax.lines, "density")[0].get_linestyle() == "--"
    assert _legend_texts(ax) == ["x (uncertified)"]
    assert ax.get_xlim()[1] >= 1.5


def test_samples_histogram_area_and_zero_fraction():
    rng = np.random.default_rng(0)
    vals = np.concatenate([np.zeros(300), rng.uniform(0.5, 1.5, 700)])
    res = _mp_result(0.3)
    ax = P.plot_singular_values([res], labels=["a"], samples=[vals], bins=40)
    (patch,) = [p for p in ax.patches if isinstance(p, StepPatch) and p.get_gid() == "samples"]
    d = patch.get_data()
    h, edges = d.values, d.edges
    assert np.sum(h * np.diff(edges)) == pytest.approx(0.7)
    (marker,) = by_gid(_atom_ax(ax).lines, "atom_sampled")
    assert marker.get_ydata()[0] == pytest.approx(0.3)
    assert any("sampled" in t for t in _legend_texts(ax))


def test_log_axis_shows_density_per_decade(relu_laws):
    r = relu_laws[8].singular_values().density(200)
    ax = P.plot_singular_values([r], labels=["L = 8"], xscale="log")
    assert ax.get_xscale() == "log"
    line = by_gid(ax.lines, "density")[0]
    np.testing.assert_allclose(line.get_ydata(), math.log(10) * r.x * r.density)
    lo, hi = ax.get_xlim()
    assert 0 < lo < 1e-2 and hi > r.support[1]
    spike = by_gid(_atom_ax(ax).lines, "atom")[0]
    assert spike.get_xdata()[0] == pytest.approx(lo)  # atom at 0 drawn at the left edge
    assert "at 0" in by_gid(_atom_ax(ax).texts, "atom_label")[0].get_text()


def test_bad_arguments():
    res = _mp_result()
    with pytest.raises(ValueError, match="variable"):
        P.plot_singular_values([res], variable="svd")
    with pytest.raises(ValueError, match="xscale"):
        P.plot_singular_values([res], xscale="symlog")
    with pytest.raises(ValueError, match="labels"):
        P.plot_singular_values([res], labels=["a", "b"])
    with pytest.raises(ValueError, match="samples"):
        P.plot_singular_values([res], samples=[None, None])


# ------------------------------------------------------------------ plot_validation
def test_validation_legend_says_undefined_and_unavailable():
    rng = np.random.default_rng(1)
    vals = np.sqrt(rng.uniform(0.1, 3.9, 500))
    report = {"ks": None, "z_scores": [None, 1.5], "passed": True, "verdict": "incomplete",
              "unavailable": {"distribution": "theory not certified: m2 off by 0.1"}}
    texts = _legend_texts(P.plot_validation(vals, _mp_result(0.0), report=report, bins=30))
    assert "$z(m_1..m_2)$ = undefined, +1.5" in texts
    assert "checks made passed; distribution unavailable" in texts and "checks passed" not in texts


def test_validation_legend_carries_statistics():
    res = _mp_result(0.5)
    rng = np.random.default_rng(1)
    vals = np.concatenate([np.zeros(500), np.sqrt(rng.uniform(0.1, 3.9, 500))])
    report = {"ks": 0.0123, "wasserstein": 0.004, "z_scores": [0.31, -1.24, 2.05, 0.0, 9.0],
              "atom_theory": 0.5, "atom_sampled": 0.5, "passed": True}
    ax = P.plot_validation(vals, res, report=report, bins=30)
    texts = _legend_texts(ax)
    assert "KS = 0.012,  $W_1$ = 0.004" in texts
    assert "$z(m_1..m_4)$ = +0.3, -1.2, +2.0, +0.0" in texts
    assert "atom at 0: theory 1/2, sampled 0.5" in texts
    assert "checks passed" in texts
    (patch,) = by_gid(ax.patches, "samples")
    d = patch.get_data()
    h, edges = d.values, d.edges
    assert np.sum(h * np.diff(edges)) == pytest.approx(0.5)
    line = by_gid(ax.lines, "density")[0]
    np.testing.assert_allclose(line.get_ydata(), 2 * np.sqrt(res.x) * res.density)
    assert list(by_gid(_atom_ax(ax).lines, "atom")[0].get_ydata()) == [0.0, 0.5]
    assert by_gid(_atom_ax(ax).lines, "atom_sampled")[0].get_ydata()[0] == pytest.approx(0.5)


def test_validation_with_sampled_networks(relu_laws):
    from spectral.montecarlo import sample_jacobians
    from spectral.validation import validate

    net = relu_laws[2].network
    samples = sample_jacobians(net, width=64, n_samples=4, seed=3, backend="numpy", progress=False)
    report = validate(net, samples=samples)
    theory = relu_laws[2].singular_values().density(200)
    ax = P.plot_validation(samples, theory, report=report)
    d = report.to_dict()
    ax_report = P.plot_validation(report, theory)  # the report stands for its samples and statistics
    assert _legend_texts(ax_report) == _legend_texts(ax)
    texts = _legend_texts(ax)
    assert texts[0] == "sampled: 4 nets, $N = 64$"
    assert any(t.startswith("KS = ") and _fmt_num(d["ks"], 2) in t for t in texts)
    (patch,) = by_gid(ax.patches, "samples")
    d = patch.get_data()
    h, edges = d.values, d.edges
    nonzero = np.mean(np.isfinite(samples.log_singular_values))
    inside = np.mean((samples.singular_values >= edges[0]) & (samples.singular_values <= edges[-1]))
    assert np.sum(h * np.diff(edges)) == pytest.approx(min(nonzero, inside))


# ------------------------------------------------------------------ phase diagram
@pytest.fixture(scope="module")
def tanh_diagram():
    return phase_diagram("tanh", np.linspace(0.5, 3.0, 12), np.linspace(0.0, 0.3, 10))


def test_phase_diagram_data(tanh_diagram):
    pd = tanh_diagram
    var = variance_grid(pd.activation, pd, 8, "orthogonal")
    ax = P.plot_phase_diagram(pd, variance=var, depth=8)
    (mesh,) = [c for c in ax.collections if isinstance(c, QuadMesh)]
    assert mesh.get_gid() == "chi1"
    np.testing.assert_array_equal(np.ma.filled(mesh.get_array(), np.nan).reshape(pd.chi1.shape), pd.chi1)
    assert mesh.norm.vcenter == 1.0
    (crit,) = by_gid(ax.lines, "critical")
    ok = np.isfinite(pd.critical_sigma_b2) & (pd.critical_sigma_b2 <= 0.3)
    np.testing.assert_array_equal(crit.get_xdata(), pd.sigma_w2[ok])
    np.testing.assert_array_equal(crit.get_ydata(), pd.critical_sigma_b2[ok])
    regions = " ".join(t.get_text() for t in by_gid(ax.texts, "region"))
    assert "ordered" in regions and "chaotic" in regions
    assert ax.get_xlabel().startswith("weight variance") and ax.get_ylabel().startswith("bias variance")
    assert any("critical line" in t for t in _legend_texts(ax))
    assert any("L = 8" in t for t in _legend_texts(ax))
    assert by_gid(ax.collections, "variance")


@pytest.mark.parametrize("weights", ["orthogonal", "gaussian"])
def test_variance_grid_matches_law_moments(tanh_diagram, weights):
    pd = tanh_diagram
    var = variance_grid(pd.activation, pd, 5, weights)
    for i, j in [(0, 3), (4, 7), (9, 11)]:
        net = Network(activation="tanh", weights=weights, sigma_w2=float(pd.sigma_w2[j]),
                      sigma_b2=float(pd.sigma_b2[i]), depth=5)
        m1, m2 = jacobian_law(net).moments(2)
        assert var[i, j] == pytest.approx(m2 - m1**2, rel=1e-8)


def test_phase_diagram_without_fixed_point_region():
    pd = phase_diagram("relu", np.linspace(1.0, 3.0, 9), np.linspace(0.0, 0.2, 9))
    ax = P.plot_phase_diagram(pd)
    regions = [t.get_text() for t in by_gid(ax.texts, "region")]
    assert any("ordered" in t for t in regions) and "no fixed point" in regions


# ------------------------------------------------------------------ depth scaling
def test_depth_scaling_relu_closed_forms():
    # relu (D^2 ~ Bernoulli(1/2) x 2 with sigma_w2 = 2): m1 = 1, m2 - m1^2 = L (Gaussian: 2L)
    depths = (1, 2, 4, 8)
    out = {}
    for w in ("gaussian", "orthogonal"):
        net = Network(activation="relu", weights=w, sigma_w2=2.0, sigma_b2=0.0, depth=1)
        out[w] = P.depth_scaling(net, depths, points=200)
        np.testing.assert_allclose(out[w].mean, 1.0, rtol=1e-12)
    np.testing.assert_allclose(out["gaussian"].variance, 2.0 * np.array(depths), rtol=1e-10)
    np.testing.assert_allclose(out["orthogonal"].variance, 1.0 * np.array(depths), rtol=1e-10)
    # relu Gaussian depth 1: J J^T = 2 D W W^T D: nonzero eigenvalues 4 x MP(1/2) -> lambda_max = (1 + sqrt(2))^2
    assert out["gaussian"].lambda_max[0] == pytest.approx((1 + math.sqrt(2)) ** 2, rel=1e-8)
    assert np.all(np.diff(out["gaussian"].condition) > 0)
    axes = P.plot_depth_scaling(list(out.values()))
    assert len(axes) == 3
    for ax, q in zip(axes, ("variance", "lambda_max", "condition"), strict=True):
        lines = by_gid(ax.lines, q)
        assert len(lines) == 2
        np.testing.assert_array_equal(lines[0].get_ydata(), getattr(out["gaussian"], q))
        np.testing.assert_array_equal(lines[0].get_xdata(), depths)
        assert lines[0].get_linestyle() == "--" and lines[1].get_linestyle() == "-"
        assert ax.get_xscale() == "log" and ax.get_xlabel() == "depth $L$"
    assert "0.99" in axes[2].get_ylabel() and "0.01" in axes[2].get_ylabel()
    assert _legend_texts(axes[0]) == ["relu, gaussian", "relu, orthogonal"]


# ------------------------------------------------------------------ figure builders (CLI entry points)
def test_figure_builders_relu(tmp_path):
    fig = P.figure_spectrum("relu", weights=("gaussian", "orthogonal"), sigma_w2=2.0, critical=False,
                            depths=(2, 4), points=100, width=32, n_samples=2, backend="numpy")
    axes = [a for a in fig.axes if a.get_xlabel()]
    assert len(axes) == 2
    for ax, w in zip(axes, ("gaussian", "orthogonal"), strict=True):
        assert w in ax.get_title()
        assert len(by_gid(ax.lines, "density")) == 2
        assert len(by_gid(ax.patches, "samples")) == 2
        assert _legend_texts(ax)[:2] == ["$L = 2$", "$L = 4$"]
    fig.savefig(tmp_path / "spectrum.png")
    assert (tmp_path / "spectrum.png").stat().st_size > 1000

    fig = P.figure_depth("relu", 2.0, critical=False, depths=(1, 2, 4), points=100)
    assert [len(by_gid(ax.lines, "variance")) for ax in fig.axes[:1]] == [2]

    fig = P.figure_phase(["relu", "tanh"], resolution=8, depth=4)
    assert sum(1 for a in fig.axes if by_gid(a.lines, "critical")) == 2

    fig = P.figure_validation("relu", "gaussian", 2.0, critical=False, depth=2, width=32, n_samples=3,
                              backend="numpy", points=100)
    ax = fig.axes[0]
    assert any(t.startswith("KS = ") for t in _legend_texts(ax))
    fig.savefig(tmp_path / "validation.svg")


def test_failed_density_is_reported_not_drawn(monkeypatch):
    def boom(*_, **__):
        return None, "RuntimeError: no band"

    monkeypatch.setattr(sources, "density_of", boom)
    net = Network(activation="relu", weights="gaussian", sigma_w2=2.0, sigma_b2=0.0, depth=2)
    with pytest.warns(P.DensityFailedWarning, match="failed and is not drawn"):
        fig = P.singular_value_figure([[net]])
    ax = fig.axes[0]
    assert not by_gid(ax.lines, "density")
    assert any("density failed" in t.get_text() for t in ax.texts)


def _serve_density(monkeypatch, result=None, error=None):
    """Every density of a network (eigenvalues and singular values) returns ``result`` or raises ``error``."""
    from spectral.product import JacobianLaw

    def fake(self, points=2000, **kwargs):
        if error is not None:
            raise error
        return result

    monkeypatch.setattr(JacobianLaw, "density", fake)
    monkeypatch.setattr(type(jacobian_law(Network(activation="relu", depth=1)).singular_values()), "density", fake)


def test_uncertified_density_is_drawn_dashed_with_a_warning(monkeypatch):
    from spectral.density import UncertifiedDensityWarning

    res = _mp_result()
    assert not res.certified  # the stand-in carries no checks: "could not be made" is not certified
    _serve_density(monkeypatch, res)
    net = Network(activation="relu", weights="gaussian", sigma_w2=2.0, sigma_b2=0.0, depth=2)
    with pytest.warns(UncertifiedDensityWarning, match="L=2 is not certified: per-point check not made"):
        fig = P.singular_value_figure([[net]])
    (line,) = by_gid(fig.axes[0].lines, "density")
    assert line.get_linestyle() == "--" and "(uncertified)" in line.get_label()


def test_depth_scaling_warns_for_uncertified_and_failed_quantiles(monkeypatch):
    from spectral.density import UncertifiedDensityWarning

    net = Network(activation="relu", weights="gaussian", sigma_w2=2.0, sigma_b2=0.0, depth=1)
    _serve_density(monkeypatch, _mp_result())
    with pytest.warns(UncertifiedDensityWarning, match="not certified"):
        ds = P.depth_scaling(net, [2])
    assert any("not certified" in n for n in ds.notes)
    _serve_density(monkeypatch, error=RuntimeError("no band was found"))
    with pytest.warns(P.DensityFailedWarning, match="quantiles failed"):
        ds = P.depth_scaling(net, [2, 4])
    assert np.all(np.isnan(ds.condition))
    axes = P.plot_depth_scaling(ds)  # an all-NaN log panel says so instead of failing when saved
    axes[0].figure.savefig(__import__("io").BytesIO(), format="png", dpi=30)
    assert any(t.get_text() == "not available" for t in axes[2].texts)


def test_no_pyplot_and_no_show():
    code = ("import sys, spectral.plotting as P, numpy as np\n"
            "from spectral.meanfield import phase_diagram\n"
            "P.plot_phase_diagram(phase_diagram('relu', np.linspace(1, 3, 5), np.linspace(0, .1, 4)))\n"
            "assert 'matplotlib.pyplot' not in sys.modules\n")
    subprocess.run([sys.executable, "-c", code], check=True, env={"MPLBACKEND": "Agg", "PATH": ""})


def test_validation_nonzero_atom_sampled_mass():
    res = DensityResult(x=np.linspace(0.01, 0.25, 50), density=np.full(50, 0.4), atoms=((0.0, 0.05), (1.21, 0.9)),
                        support=(0.0, 0.25), lambda_max=1.21, mass=1.0, diagnostics={}, law="stand-in", points=50)
    rng = np.random.default_rng(2)
    s = np.concatenate([np.zeros(50), np.full(880, 1.1), np.sqrt(rng.uniform(0.01, 0.25, 70))])
    ax = P.plot_validation(s, res, bins=40)
    twin = _atom_ax(ax)
    spikes = {tuple(line.get_xdata()): tuple(line.get_ydata()) for line in by_gid(twin.lines, "atom")}
    assert spikes == {(0.0, 0.0): (0.0, 0.05), (1.1, 1.1): (0.0, 0.9)}
    sampled = sorted((line.get_xdata()[0], line.get_ydata()[0]) for line in by_gid(twin.lines, "atom_sampled"))
    assert sampled == [(0.0, pytest.approx(0.05)), (1.1, pytest.approx(0.88))]
    # the atom's histogram bin does not set the y range: the continuous part stays readable
    assert ax.get_ylim()[1] < 10


# ------------------------------------------------------------------ specs: residual spectra (plot spectrum --spec)
def _block_spec(n_blocks, beta, branch=None):
    import spectral as sp

    branch = branch or [sp.Dense("gaussian", sigma_w2=1.0), sp.Nonlinearity("tanh"), sp.Dense("gaussian", sigma_w2=1.0)]
    block = sp.Residual(branch, alpha=1.0, beta=beta)
    return sp.Sequential([sp.Repeat(n_blocks, block)] if n_blocks > 1 else [block])


def test_without_skips_replaces_blocks_by_their_branches():
    import spectral as sp
    from spectral.architecture import scaled_resnet

    plain = P.without_skips(scaled_resnet(3))
    (rep,) = plain.layers
    assert rep.times == 3 and [type(e).__name__ for e in rep.layers] == ["Dense", "Nonlinearity", "Dense"]
    chain = sp.Sequential([sp.Dense("orthogonal", sigma_w2=1.0), sp.Nonlinearity("tanh")])
    assert P.without_skips(chain) == chain


def test_as_chain_is_the_same_network():
    """Dense-tanh-Dense blocks become [Dense, tanh], [Dense, identity] pairs: a spectral.Network with the same law
    (exact moments equal through the two routes); a spec with a normalisation is left as it is."""
    from fractions import Fraction

    import spectral as sp
    from spectral.architecture import architecture_law, pre_ln_resnet, scaled_resnet
    from spectral.plotting.spec_spectrum import as_chain

    plain = P.without_skips(scaled_resnet(3, "relu", sigma_w2=Fraction(2)))
    chain = as_chain(plain)
    assert [e.activation.name for e in chain.layers[1::2]] == ["relu", "linear"] * 3
    law = jacobian_law(chain)
    assert isinstance(law, sp.JacobianLaw)
    assert law.moments(4, exact=True) == architecture_law(plain).moments(4, exact=True)
    ln = P.without_skips(pre_ln_resnet(2))
    assert as_chain(ln) == ln


def test_brownian_stand_in_applies_or_says_why():
    """The limit is c x Biane's motion at s = 2 sum (m_1(B)/alpha^2 - 1), c = prod alpha^2 x point masses; it is
    offered only within MAX_MOMENT_GAP of the exact m_1, m_2, and refused with the reason otherwise."""
    import spectral as sp
    from spectral.architecture import architecture_law, brownian_time, full_resnet, post_ln_resnet, scaled_resnet
    from spectral.architecture.brownian import MAX_MOMENT_GAP, brownian_limit

    law = architecture_law(scaled_resnet(8))
    lim = brownian_limit(law)
    assert lim.s == pytest.approx(brownian_time(law), rel=1e-12) and lim.scale == 1.0
    assert lim.law.moments(1)[0] == pytest.approx(math.exp(lim.s / 2), rel=1e-12)
    assert lim.moment_gap == pytest.approx(max(abs(lim.law.moments(2) / law.moments(2) - 1)), rel=1e-12)
    assert lim.moment_gap < MAX_MOMENT_GAP
    post = architecture_law(post_ln_resnet(16, beta=0.25))  # LayerNorm scales: point masses, into c
    lim = brownian_limit(post)
    assert lim.law.moments(1)[0] == pytest.approx(lim.scale * math.exp(lim.s / 2), rel=1e-12)
    assert lim.scale < 1.0 and lim.moment_gap < MAX_MOMENT_GAP
    with pytest.raises(ValueError, match="more than 5%"):
        brownian_limit(architecture_law(full_resnet(8)))  # a_1 = O(1), not O(1/L)
    with pytest.raises(ValueError, match="not a point mass|neither"):
        brownian_limit(architecture_law(sp.Sequential([sp.Dense("gaussian", sigma_w2=1.0),
                                                       *scaled_resnet(8).layers])))
    with pytest.raises(ValueError, match="none"):
        brownian_limit(architecture_law(sp.Sequential([sp.Dense("gaussian", sigma_w2=1.0)])))


def test_spec_panel_without_theory_draws_samples_brownian_limit_and_note(monkeypatch):
    """Eight distinct blocks, more than the solver is told to serve (MAX_DISTINCT_BLOCKS set to 2 here): the panel
    draws the sampled histogram (area = 1), the Brownian limit (its line is the limit's density) and a note saying
    why, and warns."""
    from spectral.architecture import jacobian, scaled_resnet
    from spectral.density import UncertifiedDensityWarning

    monkeypatch.setattr(jacobian, "MAX_DISTINCT_BLOCKS", 2)

    with pytest.warns(UncertifiedDensityWarning, match="theory curve unavailable .*Brownian large-depth limit"):
        (panel,) = P.spec_panels(scaled_resnet(8), compare=False, width=32, n_samples=2, points=200)
    assert panel.theory == "unavailable" and "not served" in panel.reason
    assert panel.to_dict()["brownian_limit"]["s"] == pytest.approx(panel.limit.s)
    ax = P.plot_spec_panel(panel, xscale="linear")
    assert not by_gid(ax.lines, "density")
    (line,) = by_gid(ax.lines, "brownian_limit")
    ref = panel.limit.law.singular_values().density(200)
    np.testing.assert_allclose(line.get_xdata(), ref.x)
    np.testing.assert_allclose(line.get_ydata(), ref.density, rtol=1e-9)
    (bars,) = by_gid(ax.patches, "samples")
    assert np.sum(bars.get_data().values * np.diff(bars.get_data().edges)) == pytest.approx(1.0, abs=1e-9)
    (note,) = by_gid(ax.texts, "theory_note")
    assert note.get_text().startswith("theory curve unavailable") and "Brownian" in note.get_text()
    assert panel.m1 == pytest.approx(jacobian_law(scaled_resnet(8)).moments(1)[0], rel=1e-14)
    assert f"exact {panel.m1:.4g}, sampled" in ax.get_title()


def test_spec_panel_draws_the_density_when_the_solver_gives_it():
    """One residual block: law.density() is certified, so the same code draws it (solid, no note, no stand-in).
    The slow test of this file: ~8 s of CPU for the block's density (one Newton solve per point), so the plain
    panel is left to the other tests."""
    spec = _block_spec(1, 0.5)
    panels = P.spec_panels(spec, compare=False, width=32, n_samples=2, points=200)
    assert [p.theory for p in panels] == ["certified"] and panels[0].limit is None
    fig = P.spec_panels_figure(panels, xscale="linear")
    ax = fig.axes[0]
    (line,) = by_gid(ax.lines, "density")
    ref = panels[0].density  # law.density() of the spec's own law (computed once: it is the slow part)
    assert ref.law.startswith(jacobian_law(spec).name) and "singular" in ref.law
    np.testing.assert_allclose(line.get_xdata(), ref.x)
    np.testing.assert_allclose(line.get_ydata(), ref.density, rtol=1e-9)
    assert line.get_linestyle() == "-" and not by_gid(ax.texts, "theory_note")
    assert not by_gid(ax.lines, "brownian_limit") and by_gid(ax.patches, "samples")


def test_spec_panel_with_an_uncertified_density_draws_it_dashed_beside_the_limit(monkeypatch):
    """The solver answers but cannot certify: the curve is dashed, the Brownian limit is drawn beside it, the note
    and the warning say 'not certified' with the solver's reason (here a stand-in that carries no checks)."""
    from spectral.architecture import ArchitectureLaw, scaled_resnet
    from spectral.density import UncertifiedDensityWarning
    from spectral.plotting import spec_spectrum

    real = spec_spectrum._density
    stand_in = _mp_result(atom=0)

    def fake(law, variable, points):
        if isinstance(law, ArchitectureLaw):
            return stand_in, stand_in.reason
        return real(law, variable, points)

    monkeypatch.setattr(spec_spectrum, "_density", fake)
    with pytest.warns(UncertifiedDensityWarning, match="theory curve uncertified .*drawn dashed; also drawn"):
        (panel,) = P.spec_panels(scaled_resnet(8), compare=False, width=None, points=200)
    assert panel.theory == "uncertified" and panel.samples is None
    ax = P.plot_spec_panel(panel, xscale="linear")
    (line,) = by_gid(ax.lines, "density")
    assert line.get_linestyle() == "--" and "uncertified" in line.get_label()
    assert by_gid(ax.lines, "brownian_limit")
    (note,) = by_gid(ax.texts, "theory_note")
    assert note.get_text().startswith("theory curve not certified")
