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
# # Order-to-chaos phase diagrams
#
# Mean-field signal propagation (Poole et al. 2016; Schoenholz et al. 2017): the length map
# $q^{l} = \sigma_w^2 E[\phi(\sqrt{q^{l-1}} z)^2] + \sigma_b^2$ has a fixed point $q^*$, and
# $\chi_1 = \sigma_w^2 E[\phi'(\sqrt{q^*} z)^2]$ separates the ordered phase ($\chi_1 < 1$, gradients vanish
# exponentially with depth) from the chaotic one ($\chi_1 > 1$, they explode). On the critical line
# $\chi_1 = 1$ the mean squared singular value of $J$ is 1 at every depth; how the *whole* spectrum behaves there
# depends on the activation and the weights (see the Pennington et al. notebook).
#
# Dotted contours: the variance $m_2 - m_1^2$ of $JJ^T$ at depth $L$ (orthogonal weights) -- small only near the
# critical line, and on it smallest where $\sigma_w^2$ (hence $q^*$) is small.

# %%
# %matplotlib inline
# ruff: noqa: B018  (a figure as a cell's last expression is how a notebook shows it)
import os

import numpy as np

import spectral as sp
from spectral import plotting as splt

QUICK = os.environ.get("SPECTRAL_QUICK") == "1"
RES = 24 if QUICK else 120

# %%
fig = splt.figure_phase(["tanh", "erf", "relu"], sigma_w2=(0.5, 4.0), sigma_b2=(0.0, 0.3), resolution=RES, depth=16)
fig

# %% [markdown]
# ReLU has no critical *line*: with $\sigma_b^2 > 0$ the q-map has no fixed point once $\sigma_w^2 \ge 2$ (grey),
# and $\chi_1 = \sigma_w^2 / 2$ elsewhere, so the only critical point is $(\sigma_w^2, \sigma_b^2) = (2, 0)$.
#
# ## More activations
# Any registry activation (or a custom one) works; smooth odd activations share tanh's picture, while the
# sigmoid-like and non-odd ones (softplus, swish, gelu) bend the critical line differently.

# %%
acts = ["hard_tanh", "sin", "selu"] if QUICK else ["hard_tanh", "sin", "selu", "softplus", "swish", "gelu"]
fig = splt.figure_phase(acts, sigma_w2=(0.25, 4.0), sigma_b2=(0.0, 0.5), resolution=RES)
fig

# %% [markdown]
# ## The critical line as numbers
# `critical_point` solves $\chi_1 = 1$ for $\sigma_b^2$ at a given $\sigma_w^2$ (or the reverse).

# %%
for s2 in (1.05, 1.5, 2.0):
    mf = sp.critical_point("tanh", sigma_w2=s2)
    print(f"tanh  sigma_w2 = {s2:4}: sigma_b2 = {mf.sigma_b2:.6g}, q* = {mf.q_star:.5g}, chi1 = {mf.chi1:.10f}")
pd = sp.phase_diagram("tanh", np.linspace(1.0, 2.0, 5), [0.0])
print("critical sigma_b2 on the grid:", np.array2string(pd.critical_sigma_b2, precision=5))
