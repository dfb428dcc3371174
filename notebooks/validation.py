# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---
# %% [markdown]
# # Theory against sampled networks
#
# `spectral.validate` samples independent networks of finite width $N$ and compares them with the
# infinite-width theory:
#
# * **moments** $m_1 \dots m_4$ of $JJ^T$: mean over networks with the standard error *across networks* (the honest
#   uncertainty; single networks fluctuate by several percent), as z-scores;
# * **distribution**: Kolmogorov-Smirnov and Wasserstein-1 distances between the pooled eigenvalues and the theory
#   CDF (atoms included), with a bound from the effective sample size;
# * **atom at 0**: the sampled fraction of exact zeros vs the theory mass and its finite-width expectation.
#
# Two sampling modes: `"network"` (a real forward pass; $D_l$ depends on $W_l$) and `"free"` ($D_l$ drawn
# independently, the model free probability describes exactly). Each panel: histogram of sampled singular values,
# theory density, atoms (spikes, height = mass on the right axis), statistics in the legend.

# %%
# %matplotlib inline
# ruff: noqa: B018  (a figure as a cell's last expression is how a notebook shows it)
import os

import numpy as np
from matplotlib.figure import Figure

import spectral as sp
from spectral import plotting as splt

QUICK = os.environ.get("SPECTRAL_QUICK") == "1"
WIDTH, N_SAMPLES = (64, 4) if QUICK else (512, 16)
POINTS = 200 if QUICK else 1000
DEPTH = 4 if QUICK else 16

# %%
cases = {
    "relu, Gaussian": sp.Network(activation="relu", weights="gaussian", sigma_w2=2.0, sigma_b2=0.0, depth=DEPTH),
    "relu, orthogonal": sp.Network(activation="relu", weights="orthogonal", sigma_w2=2.0, sigma_b2=0.0, depth=DEPTH),
    "tanh, orthogonal, critical": sp.Network.critical("tanh", sigma_w2=1.05, depth=DEPTH),
    "hard-tanh, orthogonal": sp.Network(activation="hard_tanh", weights="orthogonal", sigma_w2=1.1, sigma_b2=0.0,
                                        depth=2),
    "linear, Gaussian": sp.Network(activation="linear", weights="gaussian", sigma_w2=1.0, sigma_b2=0.0, depth=DEPTH),
}
if QUICK:
    cases.pop("tanh, orthogonal, critical")  # the slowest density; the quickstart notebook covers tanh
reports = {name: sp.validate(net, width=WIDTH, n_samples=N_SAMPLES, seed=1) for name, net in cases.items()}
for name, rep in reports.items():
    d = rep.to_dict()
    z = np.array2string(np.asarray(d["z_scores"], float), precision=2)
    print(f"{name:>28}: passed={d['passed']!s:5}  KS={d['ks']:.3g}  z={z}  atom {d['atom_theory']:.3g} "
          f"-> {d['atom_sampled']:.3g}")

# %%
n = len(cases)
fig = Figure(figsize=(10, 3.3 * ((n + 1) // 2)), layout="constrained")
axes = fig.subplots((n + 1) // 2, 2).ravel()
for ax, (name, net) in zip(axes, cases.items(), strict=False):
    theory = sp.jacobian_law(net).singular_values().density(POINTS)
    splt.plot_validation(reports[name].samples, theory, report=reports[name], ax=ax,
                         title=f"{name}, $L = {net.depth}$, $N = {WIDTH}$")
for ax in axes[n:]:
    ax.set_visible(False)
fig

# %% [markdown]
# Hard-tanh with orthogonal weights has *two* atoms: at 0 (units in saturation) and at $\sigma_w^{2L}$ (the
# subspace on which every layer is linear), both exact from the laws.
#
# ## Network vs free sampling
# The theory assumes $D_l$ free from $W_l$; in a real forward pass they are dependent, yet at large width the
# spectra agree. Same network, both modes:

# %%
net = cases["relu, Gaussian"]
theory = sp.jacobian_law(net).singular_values().density(POINTS)
fig = Figure(figsize=(10, 3.4), layout="constrained")
for ax, mode in zip(fig.subplots(1, 2), ("network", "free"), strict=True):
    rep = sp.validate(net, width=WIDTH, n_samples=N_SAMPLES, seed=2, mode=mode)
    splt.plot_validation(rep.samples, theory, report=rep, ax=ax, title=f"relu, Gaussian, mode = {mode!r}")
fig

# %% [markdown]
# ## One call
# `figure_validation` (the `spectral plot validation` command) does the sampling, the statistics and the plot.

# %%
fig = splt.figure_validation("relu", "orthogonal", 2.0, critical=False, depth=DEPTH, width=WIDTH,
                             n_samples=N_SAMPLES, points=POINTS)
fig
