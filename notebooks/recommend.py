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
# # What should I set? Defaults, `spectral recommend`, and the DKS/TAT transforms
#
# Users ask "what should I set?", not only "what is the spectrum?". For a deep **tanh** and a deep
# **leaky-ReLU** network this notebook compares
#
# * common **defaults** (Xavier/Glorot and Kaiming/He: i.i.d. Gaussian weights, no bias),
# * the **spectral recommender** (`sp.recommend`): on the critical line $\chi_1 = 1$ the point of smallest spread
#   $v = m_2/m_1^2 - 1$ of $JJ^T$ that keeps the network nonlinear (the network's $C_f''(1) \ge 0.3$; for leaky
#   ReLU the slope is the design variable, with the network's $C_f(0) \ge 0.9$),
# * the **DKS** and **TAT** activation transforms (Martens et al. 2021; Zhang et al. 2022) with the `dks`
#   package's conventions: orthogonal weights, $\sigma_w^2 = 1$, no bias, $\hat\phi = \gamma(\phi(\alpha x + \beta)
#   + \delta)$,
#
# judged by the whole spectrum of $JJ^T$; then **sampled networks** of small width confirm each, and a residual
# spec gets its TAT transform (`recommend(spec=...)`, `spectral recommend --spec`).
#
# Large-depth relations (derived in `spectral/transforms.py`): $v \to 4\tau$ for TAT with a smooth activation,
# $v \to 8\ln\zeta$ for DKS, and $v \to 2\pi\int_0^\eta dc/(\sqrt{1-c^2} - c\arccos c)$ ($\approx 28.3$ at
# $\eta = 0.9$) for TAT leaky ReLU.

# %%
# %matplotlib inline
# ruff: noqa: B018  (a figure as a cell's last expression is how a notebook shows it)
import math
import os
import warnings

import numpy as np
from matplotlib.figure import Figure

import spectral as sp
from spectral.architecture import sample_spec
from spectral.recommendation import default_networks, spectrum_summary

QUICK = os.environ.get("SPECTRAL_QUICK") == "1"
DEPTH = 16 if QUICK else 32
WIDTH, N_SAMPLES = (64, 4) if QUICK else (256, 8)

# %% [markdown]
# ## The candidates
#
# `edges=False`: the summaries hold the moments ($m_1$, spread); the densities are drawn below where the
# density engine gives them in seconds.

# %%
def candidates(act):
    d = default_networks(act, DEPTH)
    out = {"xavier": d["xavier"], "kaiming": d["kaiming"]}
    if act == "tanh":
        out["recommended"] = sp.recommend("tanh", depth=DEPTH, edges=False).network
        out["TAT tau=0.3"] = sp.recommend("tanh", depth=DEPTH, transform="tat", tau=0.3, edges=False).network
        out["DKS zeta=1.5"] = sp.recommend("tanh", depth=DEPTH, transform="dks", zeta=1.5, edges=False).network
    else:
        # the recommended slope (the network's C_f(0) >= 0.9, the smallest spread) and TAT's slope for eta = 0.9
        # are the same network: both spreads fall as the slope grows, so the budget binds (one entry drawn)
        rec = sp.recommend("leaky_relu", depth=DEPTH, vary_slope=True, min_c0=0.9, edges=False)
        tat = sp.recommend("leaky_relu", depth=DEPTH, transform="tat", eta=0.9, edges=False)
        print(f"leaky ReLU slope: recommended {rec.parameters['slope']:.10f}, TAT {tat.parameters['slope']:.10f}")
        out["TAT eta=0.9 = recommended"] = tat.network
    return out


nets = {"tanh": candidates("tanh"), "leaky_relu(0.01)": candidates("leaky_relu(0.01)")}
for act, group in nets.items():
    print(f"{act}, L = {DEPTH}")
    for label, net in group.items():
        s = spectrum_summary(net, edges=False)
        layer = net.layers[0]
        print(f"  {label:<26} {layer.weights:<10} sigma_w2 = {float(layer.sigma_w2):<8.4g} "
              f"sigma_b2 = {float(layer.sigma_b2):<9.3g} m1 = {s.m1:<10.4g} spread v = {s.spread:.4g}")

# %% [markdown]
# With i.i.d. Gaussian weights every spread grows like the depth (each Gaussian layer adds 1 to $v$): Kaiming's
# tanh network explodes ($m_1 \gg 1$), Xavier's tanh network flows to $q \to 0$ where tanh is linear ($m_1 \approx
# 1$ but $v \approx L$), Xavier's leaky-ReLU network vanishes. The recommendation, TAT and DKS use orthogonal
# weights and keep $m_1$ of order one (TAT: exactly 1; DKS: $\zeta$); at the same nonlinearity budget
# ($C_f''(1) = 0.3 = \tau$) the spectral recommender's spread is smaller than TAT's. For leaky ReLU the
# recommended slope *is* TAT's (printed above).
#
# ## Sampled networks confirm each
#
# Per-network $m_1$ and $m_2$ of the eigenvalues of $JJ^T$, averaged over `N_SAMPLES` networks of width `WIDTH`,
# with the standard error across networks: the z-scores against the theory.

# %%
samples = {}
for act, group in nets.items():
    for label, net in group.items():
        law = sp.jacobian_law(net)
        m1, m2 = (float(v) for v in law.moments(2))
        smp = sp.sample_jacobians(net, width=WIDTH, n_samples=N_SAMPLES, seed=3)
        per = smp.per_network_moments(2)
        samples[act, label] = np.asarray(smp.eigenvalues).ravel()
        z = [(per[:, k].mean() - m) / (per[:, k].std(ddof=1) / math.sqrt(N_SAMPLES)) for k, m in ((0, m1), (1, m2))]
        print(f"{act:<17} {label:<26} m1: theory {m1:<10.4g} sampled {per[:, 0].mean():<10.4g} z = {z[0]:+.2f}   "
              f"m2: z = {z[1]:+.2f}")

# %% [markdown]
# ## Spectra side by side
#
# The eigenvalues of $JJ^T$ divided by their mean $m_1$ (so that vanishing and exploding networks share one
# axis): histograms of the sampled networks (steps), and the theory density (lines) for the recommendation and
# Kaiming's default (the others' theory is checked through the moments above, to keep this notebook fast). The
# smooth transformed activations (TAT and DKS of tanh) have very narrow laws of $D^2$ whose density takes the
# density engine minutes at this depth: their theory is the moments above, not drawn.

# %%
def theory_curve(label, net):
    act = net.layers[0].activation
    if (act.family == "transformed" and act.pieces is None) or label == "xavier":
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = sp.jacobian_law(net).density(points=120)
    return res


fig = Figure(figsize=(11, 3.8), layout="constrained")
axes = fig.subplots(1, 2)
for ax, (act, group) in zip(axes, nets.items(), strict=True):
    lo = -4 if act == "tanh" else -8  # leaky ReLU's spectra span more decades
    bins = np.linspace(lo, 2, 49)
    for k, (label, net) in enumerate(group.items()):
        m1 = float(sp.jacobian_law(net).moments(1)[0])
        lam = samples[act, label]
        u = np.log10(lam[lam > 0] / m1)
        color = f"C{k}"
        # normalised by all the eigenvalues (also those outside the view), as the theory density is
        weights = np.full(u.size, 1.0 / (u.size * (bins[1] - bins[0])))
        ax.hist(u, bins=bins, weights=weights, histtype="step", color=color, alpha=0.8, label=f"{label} (samples)")
        res = theory_curve(label, net)
        if res is not None:
            x = np.asarray(res.x)
            keep = x > 0
            # density of log10(lambda/m1): p(lambda) * lambda * ln 10
            ax.plot(np.log10(x[keep] / m1), np.asarray(res.density)[keep] * x[keep] * math.log(10), color=color,
                    lw=1.2)
    ax.set_xlim(lo, 2)
    ax.set_xlabel(r"$\log_{10}(\lambda / m_1)$, eigenvalues of $JJ^T$")
    ax.set_title(f"{act}, L = {DEPTH}, N = {WIDTH}: lines theory, steps samples")
    ax.legend(fontsize=7)
fig

# %% [markdown]
# ## A residual spec: TAT through the shortcut weights
#
# `recommend(spec=...)` puts the spec in the form DKS/TAT assume (dense layers with $\sigma_w^2 = 1$ and no
# bias; each block $x \mapsto w x + \sqrt{1-w^2} f(x)$), derives the network's kernel maps by the `dks` package's
# rules (a block maps $C \mapsto w^2 C + (1 - w^2) C_f(C)$; the maximum over the whole network and the branch
# alone), solves the transform and reports the transformed spec's spectrum. Densities of specs with several
# residual blocks are not available yet: the summary holds the moments, and a note says so.
#
# Each branch here starts with a dense layer. A branch that starts with the activation (pre-activation blocks,
# dks's "v2") gets the same exact transform, but its spectrum is marked NOT CERTIFIED: the $D$ factors of
# different blocks then act on the same residual stream and meet through the shortcuts with correlated entries,
# which the free-probability law treats as free (sampled networks show $m_2$ several percent above the law).

# %%
BLOCKS = 4 if QUICK else 8
dense = {"dense": {"weights": "orthogonal", "sigma_w2": 1.0}}
resnet = {"layers": [dense, {"repeat": {"times": BLOCKS, "layers": [
    {"residual": {"alpha": 1.0, "beta": 0.5, "branch": [dense, {"activation": "tanh"}, dense]}}]}},
    dense, {"activation": "tanh"}]}
rec = sp.recommend(spec=resnet, transform="tat", tau=0.3, edges=False)
print({k: round(v, 6) for k, v in rec.parameters.items()})
print("changes:", *rec.extra["changes"], sep="\n  ")
print("network maps:", rec.extra["network_maps"])
print(f"m1 = {rec.summary.m1:.6g}, spread v = {rec.summary.spread:.6g}")
print("notes:", *rec.summary.notes, sep="\n  ")
print("the spec as given and with common defaults on its dense layers (untransformed tanh):")
for row in rec.defaults:
    print(f"  {row['label']:<20} m1 = {row.get('m1', math.nan):<10.4g} spread = {row.get('spread', math.nan):.4g}")

# %%
smp = sample_spec(rec.network, width=WIDTH, n_samples=N_SAMPLES, seed=4)
per = smp.per_network_moments(2)
m1, m2 = rec.summary.m1, rec.summary.m1**2 * (1 + rec.summary.spread)
for k, m in ((0, m1), (1, m2)):
    z = (per[:, k].mean() - m) / (per[:, k].std(ddof=1) / math.sqrt(N_SAMPLES))
    se = per[:, k].std(ddof=1) / math.sqrt(N_SAMPLES)
    print(f"m{k + 1}: theory {m:.5g}, sampled {per[:, k].mean():.5g} +- {se:.2g} (z = {z:+.2f})")
