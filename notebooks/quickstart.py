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
# # Quickstart: the Jacobian spectrum of a deep network at initialization
#
# For a network $h^l = W^l \phi(h^{l-1}) + b^l$ the input-output Jacobian is
# $J = D_L W_L \cdots D_1 W_1$ with $D_l = \mathrm{diag}\,\phi'(h^l)$. At infinite width, free probability gives
# the law of $JJ^T$ from the mean-field fixed point $q^*$ and the per-layer S-transforms,
# $S_{JJ^T} = \prod_l S_{D_l^2} S_{W_l^T W_l}$ (Pennington, Schoenholz & Ganguli 2017).
#
# This notebook walks through the pipeline: mean field -> law -> moments -> density -> sampled networks.
# Set `SPECTRAL_QUICK=1` for small sizes (what the test suite runs).

# %%
# %matplotlib inline
# ruff: noqa: B018  (a figure as a cell's last expression is how a notebook shows it)
import os

import numpy as np

import spectral as sp
from spectral import plotting as splt

QUICK = os.environ.get("SPECTRAL_QUICK") == "1"
POINTS = 200 if QUICK else 1000  # density grid
WIDTH, N_SAMPLES = (128, 4) if QUICK else (1000, 16)  # sampled networks

# %% [markdown]
# ## 1. Mean field: the critical line
# $\chi_1 = \sigma_w^2 E[\phi'(\sqrt{q^*} z)^2]$ is the mean squared singular value of one layer's Jacobian;
# $\chi_1 = 1$ is the critical line between the ordered and chaotic phases. For tanh at $\sigma_w^2 = 1.05$ the
# critical bias variance is tiny ($\sigma_b^2 \approx 2.01 \times 10^{-5}$).

# %%
mf = sp.critical_point("tanh", sigma_w2=1.05)
print(f"sigma_b2 = {mf.sigma_b2:.4g}, q* = {mf.q_star:.4g}, chi1 = {mf.chi1:.12f}, phase = {mf.phase}")

# %% [markdown]
# ## 2. The law of $JJ^T$ and its moments
# On the critical line $m_1 = \chi_1^L = 1$; the variance $m_2 - m_1^2$ grows linearly with depth, much more slowly
# for orthogonal than for Gaussian weights.

# %%
for weights in ("orthogonal", "gaussian"):
    net = sp.Network.critical("tanh", sigma_w2=1.05, depth=32, weights=weights)
    law = sp.jacobian_law(net)
    m = law.moments(4)
    print(f"{weights:>10}: m1..m4 = {np.array2string(np.asarray(m, float), precision=5)}, "
          f"variance = {m[1] - m[0] ** 2:.4f}")

# %% [markdown]
# ## 3. Densities, atoms and edges
# `law.singular_values().density()` gives the density of the singular values of $J$ on an adaptive grid, with
# the atoms (point masses) exact from the laws and a certificate in `diagnostics`. ReLU networks have an atom of
# mass 1/2 at 0 at every depth (half the units are off).

# %%
relu = sp.jacobian_law(sp.Network(activation="relu", weights="gaussian", sigma_w2=2.0, sigma_b2=0.0, depth=8))
res = relu.singular_values().density(POINTS)
print("atoms:", res.atoms, " support:", res.support, " certified:", res.certified)
print("mass (continuous + atoms):", res.mass)

# %%
depths = (2, 8, 32)
results = {f"$L = {L}$": sp.jacobian_law(sp.Network.critical("tanh", sigma_w2=1.05, depth=L))
           .singular_values().density(POINTS) for L in depths}
ax = splt.plot_singular_values(results, cmap="viridis", title=r"tanh, orthogonal, $\sigma_w^2 = 1.05$, critical")
ax.figure

# %% [markdown]
# ## 4. Sampled networks
# `sample_jacobians` builds real networks (a forward pass sets $D_l$) and returns the eigenvalues of $JJ^T$;
# `validate` compares their moments (z-scores with standard errors across networks) and their distribution
# (KS, Wasserstein) with the theory.

# %%
net = sp.Network.critical("tanh", sigma_w2=1.05, depth=8)
report = sp.validate(net, width=WIDTH, n_samples=N_SAMPLES, seed=0)
print(report)

# %%
ax = splt.plot_validation(report.samples, sp.jacobian_law(net).singular_values().density(POINTS), report=report,
                          title=r"tanh, orthogonal, $\sigma_w^2 = 1.05$, $L = 8$")
ax.figure

# %% [markdown]
# ## 5. One-call figures
# Each `spectral plot ...` command has a function returning a figure: `figure_spectrum`, `figure_validation`,
# `figure_phase`, `figure_depth`.

# %%
fig = splt.figure_spectrum("relu", weights=("gaussian", "orthogonal"), sigma_w2=2.0, critical=False,
                           depths=(2, 8, 32), points=POINTS)
fig
