"""Generate the README's residual figure: singular values of J for plain tanh vs residual tanh networks.

Two panels at depths L = 8, 32, 128 (Gaussian weights, input coordinates of mean square 1):

* plain tanh, sigma_w2 = 1.05 on the critical line: lines from the free-probability law of ``sp.Network``;
* residual tanh, x -> x + L^(-1/2) V tanh(W x) (``spectral.architecture.presets.scaled_resnet``): lines are the
  large-depth law, Biane's free multiplicative Brownian motion at s = 2 sum_l beta^2 a_(1,l) (its moments differ
  from the exact ones by O(1/L); the printed table gives both m_1).

Histograms: sampled networks (real forward pass) of width 256.

Usage::

    python docs/make_residual_figure.py                 # writes docs/figures/residual_spectra.png
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import spectral as sp  # noqa: E402
from spectral.architecture import architecture_law, brownian_time, sample_spec, scaled_resnet  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "docs" / "figures" / "residual_spectra.png"
DEPTHS = (8, 32, 128)
WIDTH, N_SAMPLES = 256, 3


def _sv_density(law):
    """(s, rho_s): the certified density of the singular values of J."""
    res = law.singular_values().density(points=800)
    return np.asarray(res.x), np.asarray(res.density)


def build():
    fig, axes = plt.subplots(1, 2, figsize=(11.5, 3.8), sharey=False)
    colors = plt.cm.viridis(np.linspace(0.1, 0.8, len(DEPTHS)))
    top = 0.0  # the plain densities diverge at s = 0 (deep tanh with Gaussian weights): scale to the histograms
    for depth, c in zip(DEPTHS, colors, strict=True):
        net = sp.Network.critical("tanh", sigma_w2=1.05, depth=depth, weights="gaussian")
        s, rho = _sv_density(sp.jacobian_law(net))
        samples = sp.sample_jacobians(net, width=WIDTH, n_samples=N_SAMPLES, seed=depth)
        heights, _, _ = axes[0].hist(samples.singular_values.ravel(), bins=np.linspace(0, 3.5, 81), density=True,
                                     color=c, alpha=0.3)
        top = max(top, float(np.max(heights)))
        axes[0].plot(s, rho, color=c, lw=1.6, label=f"L = {depth}")
        spec = scaled_resnet(depth, "tanh", "gaussian")
        law = architecture_law(spec)
        t = brownian_time(law)
        s, rho = _sv_density(sp.FreeMultiplicativeBrownian(t))
        rs = sample_spec(spec, width=WIDTH, n_samples=N_SAMPLES, seed=depth)
        axes[1].hist(np.exp(rs.log_singular_values).ravel(), bins=80, density=True, color=c, alpha=0.3)
        axes[1].plot(s, rho, color=c, lw=1.6, label=f"L = {depth} (s = {t:.3f})")
        print(f"L = {depth}: residual m_1 exact {law.moments(1)[0]:.6f}, Brownian limit "
              f"{sp.FreeMultiplicativeBrownian(t).moments(1)[0]:.6f}, sampled {rs.moments(1)[0][0]:.6f}")
    axes[0].set_title(r"plain tanh, Gaussian, $\sigma_w^2 = 1.05$ (critical)")
    axes[1].set_title(r"residual tanh $x + L^{-1/2}\,V\tanh(Wx)$: the same law at every depth" "\n"
                      r"lines: free multiplicative Brownian motion at $s = 2\sum_l \beta^2 a_{1,l}$", fontsize=10)
    axes[0].set_xlim(0, 3.5)
    axes[0].set_ylim(0, 1.4 * top)
    axes[1].set_xlim(0, 2.8)
    for ax in axes:
        ax.set_xlabel("singular value $s$ of $J$")
        ax.legend(fontsize=8)
    axes[0].set_ylabel("density")
    fig.suptitle("Plain vs residual: theory (lines) and sampled networks of width 256 (histograms)")
    fig.tight_layout()
    return fig


def main(argv=None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output file (default: {DEFAULT_OUT})")
    parser.add_argument("--dpi", type=int, default=110)
    args = parser.parse_args(argv)
    with warnings.catch_warnings():
        warnings.simplefilter("default", RuntimeWarning)
        fig = build()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=args.dpi)
    print(f"wrote {args.out}")
    return args.out


if __name__ == "__main__":
    main()
