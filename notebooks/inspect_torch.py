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
# # Inspecting a PyTorch model: predicted and measured Jacobian spectra
#
# `sp.inspect(model, input_shape)` reads a model *as it is initialized* into a JSON architecture spec (the empirical
# init variance of every weight, $\sigma_w^2 = N_{in}\,\mathrm{mean}(W^2)$, or the squared common singular value
# when $W$ is orthogonal up to scale; the bias variances; the activations), predicts the law of $JJ^T$ from it,
# measures the model's own input-output Jacobians at random inputs, and compares the two with the statistics of
# `validate`: $m_1$ against the finite-width band across networks, the shape by Kolmogorov-Smirnov after
# rescaling to the predicted $m_1$, and $\lambda_{\max}$, the spread $v = m_2/m_1^2 - 1$ and the condition number
# reported side by side.
#
# Below: an MLP written the usual way (PyTorch's default init) is far from isometry; re-initialized orthogonally on
# the critical line of tanh it is close to it, and the prediction says both before any training step.

# %%
# %matplotlib inline
import math
import os

import matplotlib.pyplot as plt
import torch
from torch import nn

import spectral as sp
from spectral.torch import Residual

QUICK = os.environ.get("SPECTRAL_QUICK") == "1"
WIDTH, DEPTH = (128, 8) if QUICK else (256, 16)
torch.set_num_threads(1)

# %% [markdown]
# ## A default-init ReLU MLP
#
# `nn.Linear` draws $W_{ij} \sim U(-1/\sqrt{N_{in}}, 1/\sqrt{N_{in}})$, so $\sigma_w^2 = 1/3$; with half the ReLU
# units active each layer multiplies $m_1$ by $1/6$: $m_1 = 6^{-L}$.

# %%
torch.manual_seed(0)
layers = []
for _ in range(DEPTH):
    layers += [nn.Linear(WIDTH, WIDTH), nn.ReLU()]
mlp = nn.Sequential(*layers)
report = sp.inspect(mlp, input_shape=(WIDTH,), n_inputs=8, seed=0)
print(report)
print(f"\n(1/6)^L = {6.0 ** -DEPTH:.4g}")

# %% [markdown]
# ## Re-initialized: orthogonal weights on the critical line of tanh
#
# $\sigma_w^2 = 1.05$ and $\sigma_b^2$ from `sp.critical_point` ($\chi_1 = 1$), orthogonal weights, inputs at the
# fixed point $q^*$: the spectrum concentrates near 1 (dynamical isometry).

# %%
crit = sp.critical_point("tanh", sigma_w2=1.05)
torch.manual_seed(0)
layers = []
for _ in range(DEPTH):
    lin = nn.Linear(WIDTH, WIDTH)
    nn.init.orthogonal_(lin.weight, gain=math.sqrt(1.05))
    with torch.no_grad():  # biases of mean square exactly sigma_b2
        lin.bias.copy_(math.sqrt(crit.sigma_b2) * torch.sign(torch.randn(WIDTH)))
    layers += [lin, nn.Tanh()]
critical = nn.Sequential(*layers)
report_critical = sp.inspect(critical, input_shape=(WIDTH,), n_inputs=8, seed=0, input_q=crit.q_star)
print(report_critical)

# %%
fig, axes = plt.subplots(1, 2, figsize=(12, 4))
report.figure(ax=axes[0])
axes[0].set_title(f"default init, ReLU, L = {DEPTH}: {report.verdict}")
report_critical.figure(ax=axes[1])
axes[1].set_title(f"orthogonal critical tanh, L = {DEPTH}: {report_critical.verdict}")
plt.show()

# %% [markdown]
# ## What the reader does not guess
#
# A residual block written with `spectral.torch.Residual(branch, alpha, beta)` is read as a `residual` entry and
# predicted by the general spec engine: its moments, and an $m_1$ band sampled from networks of the same spec
# (no finite-width formula covers residual blocks). These branches end with an activation, so the activations of
# consecutive blocks meet on the residual stream with no weight between them: the law warns (`NotFreeWarning`)
# that it is the free model's, not exactly the network's, its density is not certified, and the shape check is
# reported unavailable (verdict "incomplete"). Start and end each branch with a `Linear` for an exact law: then
# the density of the product of the distinct blocks is certified and the shape (KS) check runs.
# A module it cannot map is named in an error, or listed with
# `strict=False`.

# %%
torch.manual_seed(0)
blocks = [Residual(nn.Sequential(nn.Linear(WIDTH, WIDTH), nn.Tanh()), alpha=1.0, beta=1 / math.sqrt(DEPTH))
          for _ in range(DEPTH)]
resnet = nn.Sequential(*blocks, nn.LayerNorm(WIDTH))
res_report = sp.inspect(resnet, input_shape=(WIDTH,), n_inputs=4, seed=0, distribution=False)
print(res_report.spec["layers"][0]["residual"]["alpha"], res_report.spec["layers"][0]["residual"]["beta"])
print(res_report.verdict, res_report.checks.get("m1"))
print(f"measured m_1 = {res_report.measured['m1']:.4g}, spread = {res_report.measured['spread']:.4g}")

try:
    sp.inspect(nn.Sequential(nn.Linear(WIDTH, WIDTH), nn.BatchNorm1d(WIDTH)), input_shape=(WIDTH,))
except ValueError as exc:
    print("ValueError:", exc)
