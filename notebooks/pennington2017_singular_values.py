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
# # Dynamical isometry: singular values of deep Jacobians (Pennington, Schoenholz & Ganguli 2017)
#
# J. Pennington, S. Schoenholz, S. Ganguli, *Resurrecting the sigmoid in deep learning through dynamical
# isometry: theory and practice*, NeurIPS 2017. Their message, in one figure: on the critical line
# ($\chi_1 = 1$, so the mean squared singular value of $J$ is 1 at every depth)
#
# * **tanh with orthogonal weights** keeps the singular values of $J$ concentrated near 1 as depth grows, the more
#   so the smaller $q^*$ (small $\sigma_w^2$ close to 1): *dynamical isometry*;
# * **tanh with Gaussian weights** spreads them out (the variance of $JJ^T$ grows like $L$ with an O(1) slope);
# * **ReLU** ($\sigma_w^2 = 2$, $\sigma_b^2 = 0$) cannot be isometric for either weight law: half the singular
#   values are 0 and the rest spread with depth.
#
# Below: the theory (free probability, solid lines, atoms as spikes whose height is their mass on the right axis)
# with sampled finite networks overlaid (histograms, same colours). Sizes are set for a laptop; the paper used
# $N = 1000$. Set `SPECTRAL_QUICK=1` for the small sizes the test suite runs.

# %%
# %matplotlib inline
# ruff: noqa: B018  (a figure as a cell's last expression is how a notebook shows it)
import os
import warnings

from matplotlib.figure import Figure

import spectral as sp
from spectral import plotting as splt

QUICK = os.environ.get("SPECTRAL_QUICK") == "1"
DEPTHS = (2, 8) if QUICK else (2, 8, 32, 128)
POINTS = 200 if QUICK else 800
WIDTH, N_SAMPLES = (64, 2) if QUICK else (1000, 4)
warnings.simplefilter("default", RuntimeWarning)  # uncertified or failed densities are reported, not hidden

# %% [markdown]
# ## tanh on the critical line: orthogonal vs Gaussian, $\sigma_w^2 = 1.05$ and $\sigma_w^2 = 2$
# $\sigma_b^2$ is solved from $\chi_1 = 1$ (at $\sigma_w^2 = 1.05$: $\sigma_b^2 = 2.01\times 10^{-5}$,
# $q^* \approx 0.026$; at $\sigma_w^2 = 2$: $q^*$ is much larger, tanh is far from linear and even orthogonal
# networks spread).

# %%
for s2 in (1.05, 2.0):
    mf = sp.critical_point("tanh", sigma_w2=s2)
    print(f"sigma_w2 = {s2}: sigma_b2 = {mf.sigma_b2:.4g}, q* = {mf.q_star:.4g}")

# %% [markdown]
# Theory and samples are computed once (`law.singular_values().density()`, `sample_jacobians`) and drawn with the
# plotting functions, which only draw what they are given.

# %%
def tanh_net(s2, weights, L):
    return sp.Network.critical("tanh", sigma_w2=s2, depth=L, weights=weights)


def relu_net(weights, L):
    return sp.Network(activation="relu", weights=weights, sigma_w2=2.0, sigma_b2=0.0, depth=L)


families = {(f"tanh, {w}", s2): (lambda L, s2=s2, w=w: tanh_net(s2, w, L))
            for s2 in (1.05, 2.0) for w in ("orthogonal", "gaussian")}
families |= {(f"relu, {w}", 2.0): (lambda L, w=w: relu_net(w, L)) for w in ("orthogonal", "gaussian")}
theory, samples = {}, {}
for key, make in families.items():
    for L in DEPTHS:
        net = make(L)
        theory[key, L] = sp.jacobian_law(net).singular_values().density(POINTS)
        samples[key, L] = sp.sample_jacobians(net, width=WIDTH, n_samples=N_SAMPLES, seed=L, progress=False)


def panel(ax, key, *, with_samples=True, **kwargs):
    name, s2 = key
    splt.plot_singular_values({f"$L = {L}$": theory[key, L] for L in DEPTHS}, ax=ax, cmap="viridis",
                              samples=[samples[key, L] for L in DEPTHS] if with_samples else None,
                              title=rf"{name}, $\sigma_w^2 = {s2:g}$", **kwargs)


# %%
fig = Figure(figsize=(9, 6.6), layout="constrained")
for ax, key in zip(fig.subplots(2, 2).ravel(), [k for k in families if k[0].startswith("tanh")], strict=True):
    panel(ax, key, xlim=(-0.05, 3.0))
fig

# %% [markdown]
# ## ReLU, $\sigma_w^2 = 2$, $\sigma_b^2 = 0$ (the critical point of ReLU)
# The atom at 0 has mass exactly 1/2 at every depth (theory spike); the sampled fraction of exact zeros (hollow
# circles) is slightly larger at finite width, because the rank of $J$ is set by the layer with the fewest
# active units.

# %%
fig = Figure(figsize=(9, 3.4), layout="constrained")
for ax, key in zip(fig.subplots(1, 2), [k for k in families if k[0].startswith("relu")], strict=True):
    panel(ax, key)
fig

# %% [markdown]
# ## The same spectra on a logarithmic axis
# On a log axis the curves are densities per decade, $\ln(10)\, s \rho_s(s)$, so areas are still masses: the
# Gaussian and ReLU spectra spread over many decades while tanh-orthogonal at $\sigma_w^2 = 1.05$ stays within a
# factor of a few.

# %%
fig = Figure(figsize=(13, 3.4), layout="constrained")
keys = [("tanh, orthogonal", 1.05), ("tanh, gaussian", 1.05), ("relu, orthogonal", 2.0)]
for ax, key in zip(fig.subplots(1, 3), keys, strict=True):
    panel(ax, key, xscale="log", xlim=(1e-4, 30))
fig

# %% [markdown]
# ## How the spread grows with depth
# Variance of $JJ^T$, its largest eigenvalue and the ratio of the 0.99 and 0.01 quantiles of the nonzero singular
# values: linear growth of the variance for Gaussian weights, near isometry for orthogonal ones.

# %%
if QUICK:  # the test suite: two depths, one weight law
    fig = splt.figure_depth("tanh", 1.05, depths=(2, 8), weights="orthogonal", points=POINTS)
else:
    fig = splt.figure_depth("tanh", 1.05, depths=(1, 2, 4, 8, 16, 32, 64, 128), points=POINTS)
fig
