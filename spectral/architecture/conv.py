r"""Circular convolutions mapped onto the fully-connected law (Xiao et al. 2018, arXiv 1806.05393).

A :class:`~spectral.architecture.layers.Conv` entry acts on :math:`x \in \mathbb R^{c n}` read as :math:`c`
channels by :math:`n` positions (channel-major: coordinate :math:`a n + i`).  Its Jacobian is

.. math:: W = \sum_{t=0}^{k-1} K_t \otimes P^{\,t - \lfloor k/2 \rfloor}, \qquad (P x)_i = x_{i+1 \bmod n},

with :math:`K_t` the :math:`c \times c` tap matrices.  The shift :math:`P` is diagonalised by the DFT
:math:`F_n`, so :math:`(I_c \otimes F_n) W (I_c \otimes F_n)^*` is block diagonal over the frequencies
:math:`\omega = 0..n-1` with blocks

.. math:: \hat K(\omega) = \sum_t K_t\, e^{2\pi i \omega (t - \lfloor k/2 \rfloor)/n}:

the singular values of :math:`W` are those of the :math:`n` matrices :math:`\hat K(\omega)` together
(:func:`fourier_blocks`).

The mapping
-----------
*Delta-orthogonal kernel* (:math:`K_t = \sigma_w H\,\delta_{t, \lfloor k/2\rfloor}`, :math:`H` Haar):
:math:`W = \sigma_w H \otimes I_n`, every :math:`\hat K(\omega) = \sigma_w H`, :math:`W W^T = \sigma_w^2 I`
exactly: the law of :math:`W^T W` is the point mass at :math:`\sigma_w^2`, the orthogonal Dense layer's
(``Dense("orthogonal", sigma_w2)``), at every :math:`c`.  A network of such layers and coordinate-wise
activations is block diagonal over positions: :math:`J = \bigoplus_i D_{L,i} \sigma_w H_L \cdots D_{1,i}
\sigma_w H_1`, each block the Jacobian of a width-:math:`c` orthogonal dense network (the :math:`H_l` shared
between positions).

*Gaussian kernel* (:math:`K_{abt} \sim N(0, \sigma_w^2/(c k))`): the entries of :math:`\hat K(\omega)` are
independent over :math:`(a, b)`, centred, with :math:`E|\hat K_{ab}|^2 = \sigma_w^2/c`; by the
Marchenko--Pastur theorem (which needs only the second absolute moment, not circular symmetry) the
eigenvalues of :math:`\hat K \hat K^*` follow MP with ratio 1 and variance :math:`\sigma_w^2` as
:math:`c \to \infty` at every :math:`\omega`, hence so do those of :math:`W W^T`: the Gaussian Dense layer's law
(``Dense("gaussian", sigma_w2)``).

*Networks.*  With :math:`D_l = \operatorname{diag}\phi'(h^l)` over (channel, position), write the algebra of
:math:`cn \times cn` matrices as :math:`M_c \otimes M_n`.  As :math:`c \to \infty` the taps
(independent Ginibre, or one Haar :math:`H`) are asymptotically free from the diagonal :math:`D_{l,i}`
(Voiculescu), so the :math:`W_l` and the :math:`D_l` are free with amalgamation over :math:`M_n`.  Every
:math:`M_n`-valued expectation met in the moments of :math:`J J^T` then stays a multiple of :math:`I_n`:
:math:`E_{M_n}[W b W^T] = \frac{\sigma_w^2}{k} \sum_t P^t b P^{-t}` maps :math:`\lambda I_n` to
:math:`\lambda \sigma_w^2 I_n` (Gaussian; :math:`H` commutes with :math:`I_c \otimes b`), and
:math:`E_{M_n}[D^m] = \operatorname{diag}_i \operatorname{tr} D_i^m = E[\phi'(\sqrt q z)^m]\, I_n` because at
the mean field every position has the same pre-activation variance :math:`q` (the convolution averages
:math:`c k` inputs of equal mean square: :math:`q' = \sigma_w^2 q + \sigma_b^2`, Dense's q-map).  So the
:math:`M_n`-valued computation is the scalar one: **the law of** :math:`J J^T` **of a conv net is the law of
the dense net with each Conv replaced by its mapped Dense layer** (:func:`dense_equivalent`), exactly at
infinite :math:`c` and any fixed :math:`n`, :math:`k`.  A residual block :math:`\alpha I + \beta X` with Conv
entries in its branch is a polynomial in the same :math:`W_l`, :math:`D_l` and :math:`I`, so the argument
maps it onto the dense block law too (sampled: ``tests/test_architecture_conv.py``).

Finite channels
---------------
*One Gaussian layer, exactly.*  Isserlis' theorem for the complex Gaussian entries of :math:`\hat K(\omega)`
(variance :math:`v = \sigma_w^2/c`, pseudo-variance :math:`E\hat K_{ab}^2 = \tau_\omega v`,
:math:`\tau_\omega = k^{-1}\sum_t e^{4\pi i \omega t/n}`) gives :math:`c^{-1} E\operatorname{tr}(\hat K \hat
K^*)^2 = \sigma_w^4 (2 + |\tau_\omega|^2/c)`, hence

.. math:: E\, m_1 = \sigma_w^2, \qquad E\, m_2 = \sigma_w^4\Big(2 + \frac{\varepsilon}{c}\Big), \qquad
   \varepsilon = \frac1n \sum_\omega |\tau_\omega|^2 = \frac{k + 2\max(0, k - n/2)[n \text{ even}]}{k^2}

(:func:`gaussian_layer_moments`): :math:`\varepsilon = 1/k` for :math:`k \le n/2`, so a layer behaves like a
real Gaussian Dense layer of width :math:`c k` (:math:`E m_2 = \sigma_w^4(2 + 1/N)`), not :math:`c n`.

*Networks.*  The corrections are :math:`O(L/c)` per moment, of the size of a width-:math:`c` dense network's
(delta-orthogonal: exactly those, by the block structure above; the :math:`n` positions average the noise,
not the bias): at :math:`c = 16`, :math:`L = 3` the sampled :math:`m_2, m_3, m_4` sit 16%, 33%, 55% (relu,
:math:`\sigma_w^2 = 2`) and 14%, 28%, 47% (tanh, 1.5) above the infinite-:math:`c` law, and agree with
width-16 dense orthogonal nets (``tests/test_architecture_conv.py``); at :math:`c = 64`, :math:`L = 2` every
:math:`|z| < 2` with 24 networks (docs/guide/conv.md).  Validate conv nets at :math:`L/c \lesssim 0.05`.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from .layers import Conv, Dense, Repeat, Residual, Sequential

__all__ = ["DENSE_EQUIVALENT", "dense_equivalent", "implied_width", "mapped_dense", "fourier_blocks",
           "conv_matrix", "conv_apply", "sample_kernels", "pseudo_variance_excess", "gaussian_layer_moments",
           "DistributionCheck", "distribution_check"]

#: Dense ensemble whose law a Conv kernel maps onto (module docstring).
DENSE_EQUIVALENT = {"gaussian": "gaussian", "delta_orthogonal": "orthogonal"}


def mapped_dense(e: Conv) -> Dense:
    """The square Dense layer whose Jacobian law the Conv entry has at infinite channels."""
    return Dense(DENSE_EQUIVALENT[e.weights], e.sigma_w2, e.sigma_b2)


def _replace(entries):
    out = []
    for e in entries:
        if isinstance(e, Conv):
            out.append(mapped_dense(e))
        elif isinstance(e, Repeat):
            out.append(Repeat(e.times, _replace(e.layers)))
        elif isinstance(e, Residual):
            out.append(Residual(_replace(e.branch), e.alpha, e.beta))
        else:
            out.append(e)
    return tuple(out)


def _convs(entries):
    for e in entries:
        if isinstance(e, Conv):
            yield e
        elif isinstance(e, Repeat):
            yield from _convs(e.layers)
        elif isinstance(e, Residual):
            yield from _convs(e.branch)


def implied_width(spec: Sequential) -> int | None:
    """The input width a spec's first Conv fixes (``channels * spatial``), or None without Conv entries."""
    first = next(_convs(spec.layers), None)
    return None if first is None else first.width


def dense_equivalent(spec: Sequential) -> Sequential:
    """``spec`` with every Conv replaced by :func:`mapped_dense` (``spec`` itself when it has none): the
    network whose infinite-width law the conv net has at infinite channels (module docstring)."""
    if implied_width(spec) is None:
        return spec
    return dataclasses.replace(spec, layers=_replace(spec.layers), width=None)


# ---------------------------------------------------------------------------------------------- structure
def fourier_blocks(kernel: np.ndarray, spatial: int) -> np.ndarray:
    r""":math:`\hat K(\omega) = \sum_t K_t e^{2\pi i\omega(t - \lfloor k/2\rfloor)/n}`, shape (n, c, c), for a
    kernel of shape (c, c, k) (module docstring)."""
    kernel = np.asarray(kernel)
    k = kernel.shape[-1]
    t = np.arange(k) - k // 2
    phase = np.exp(2j * np.pi * np.outer(np.arange(spatial), t) / spatial)  # (n, k)
    return np.einsum("abt,wt->wab", kernel, phase)


def _shifts(xp, k: int, spatial: int):
    """(k, n, n): :math:`P^{t - \\lfloor k/2\\rfloor}`, :math:`(P^s)_{i, i+s \\bmod n} = 1`."""
    eye = np.eye(spatial)
    return xp.asarray(np.stack([np.roll(eye, t - k // 2, axis=1) for t in range(k)]))


def conv_matrix(xp, kernel, spatial: int):
    """The Jacobian :math:`W = \\sum_t K_t \\otimes P^{t - \\lfloor k/2\\rfloor}` of kernels (..., c, c, k),
    shape (..., c n, c n) (channel-major)."""
    c, k = kernel.shape[-2], kernel.shape[-1]
    w = xp.einsum("...abt,tij->...aibj", kernel, _shifts(xp, k, spatial))
    return w.reshape((*kernel.shape[:-3], c * spatial, c * spatial))


def conv_apply(xp, kernel, x, spatial: int):
    """The circular convolution itself, :math:`y_{a,i} = \\sum_{b,t} K_{abt} x_{b, i + t - \\lfloor k/2
    \\rfloor}`, for kernels (B, c, c, k) and inputs (B, c n): rolls, not :func:`conv_matrix`."""
    c, k = kernel.shape[-2], kernel.shape[-1]
    xs = x.reshape((x.shape[0], c, spatial))
    y = 0.0
    for t in range(k):
        y = y + xp.matmul(kernel[..., t], xp.roll(xs, -(t - k // 2), axis=-1))
    return y.reshape(x.shape)


def sample_kernels(xp, streams, e: Conv):
    """Kernels (B, c, c, k) of a Conv entry, one per stream (``layers.Conv`` states the ensembles)."""
    from .._backend import normal_batch, qr

    c, k = e.channels, e.kernel
    if e.weights == "gaussian":
        return normal_batch(streams, (c, c, k)) * math.sqrt(float(e.sigma_w2) / (c * k))
    q, r = qr(xp, normal_batch(streams, (c, c)))
    h = q * xp.sign(xp.linalg.diagonal(r))[..., None, :]  # Haar (Mezzadri 2007)
    kern = xp.zeros((len(streams), c, c, k), dtype=h.dtype)
    kern[..., k // 2] = h * math.sqrt(float(e.sigma_w2))
    return kern


# ---------------------------------------------------------------------------------------------- finite c
def pseudo_variance_excess(kernel: int, spatial: int) -> float:
    r""":math:`\varepsilon = n^{-1}\sum_\omega |\tau_\omega|^2` of the module docstring (closed form)."""
    k, n = int(kernel), int(spatial)
    wrap = max(0, k - n // 2) if n % 2 == 0 else 0
    return (k + 2 * wrap) / k**2


def gaussian_layer_moments(e: Conv) -> tuple[float, float]:
    r"""Exact :math:`(E m_1, E m_2)` of :math:`W W^T` for one Gaussian-kernel Conv at its ``channels``
    (:math:`\sigma_w^2`, :math:`\sigma_w^4(2 + \varepsilon/c)`; module docstring); delta-orthogonal kernels
    give :math:`(\sigma_w^2, \sigma_w^4)`."""
    s2 = float(e.sigma_w2)
    if e.weights == "delta_orthogonal":
        return s2, s2 * s2
    return s2, s2 * s2 * (2.0 + pseudo_variance_excess(e.kernel, e.spatial) / e.channels)


# ---------------------------------------------------------------------------------------------- distribution
#: Sampled eigenvalues within this relative distance of a nonzero atom of the law are put on it (rounding).
_ATOM_SNAP = 1e-8
#: Accuracy budget of the theory CDF (the density certificate's tolerance), added to the KS bound.
_CDF_TOL = 1e-6
#: Eigenvalues below this fraction of the largest are the rank deficit: rounding leaves (N eps)^2 < 1e-24 of the
#: top, and sample_spec refuses nonzero singular values spread beyond e^-18.4 (eigenvalues 1e-16 of the top).
_ZERO_REL = 1e-20


@dataclass(frozen=True)
class DistributionCheck:
    r"""KS distance of sampled eigenvalues of :math:`J J^T` (nonzero part) to a law's CDF.

    ``ks``: :math:`\sup_x |\bar F_+(x) - F_+(x)|` over the pooled :math:`r` largest eigenvalues of each
    network (:math:`r` the smallest rank among them), :math:`F_+ = (\max(F, a_r) - a_r)/(1 - a_r)`,
    :math:`a_r = 1 - r/N`: the theory's CDF with the finite-width rank deficit taken from the bottom of the
    spectrum (as :mod:`spectral.validation` does); ``bound``: :math:`K_{0.999}/\sqrt{n_{\text{eff}}}` (false
    alarm :math:`10^{-3}`, plus the CDF's accuracy budget), ``n_eff`` from the bootstrap over networks
    (:func:`spectral.distribution_stats.bootstrap_n_eff`), clipped to [networks, values];
    ``zero_fraction`` (sampled, mean over networks) and the theory's ``atom`` at 0 are reported: at finite
    width the rank deficit exceeds the atom by :math:`O(\sqrt{\log L/N})`."""

    ks: float
    bound: float
    n_eff: float
    passed: bool
    zero_fraction: float
    atom: float


def distribution_check(samples, law) -> DistributionCheck:
    """KS of ``samples`` (:class:`~spectral.architecture.sampling.SpecSamples`) against ``law`` (a law with a
    certified density, e.g. ``spectral.jacobian_law`` of a conv spec); see :class:`DistributionCheck`."""
    from ..distribution_stats import KOLMOGOROV_999, bootstrap_n_eff, theory_cdf, theory_certificate

    why = theory_certificate(law)
    if why is not None:
        raise ValueError(f"the law's CDF cannot be used: {why}")
    cdf, _ = theory_cdf(law)
    atoms = [(float(a), float(p)) for a, p in law.density().atoms]
    atom = sum(p for a, p in atoms if a == 0.0)
    lam = samples.eigenvalues
    keep = lam > _ZERO_REL * lam[:, :1]
    counts = keep.sum(axis=1)
    zero_fraction = 1.0 - float(counts.mean()) / lam.shape[1]
    r = int(counts.min())
    top = np.stack([row[m][:r] for row, m in zip(lam, keep, strict=True)])  # the r largest of each network
    for a, _p in atoms:  # eigenvalues at a nonzero atom carry rounding: put them on it
        if a > 0:
            top[np.abs(top - a) <= _ATOM_SNAP * a] = a
    pooled = np.sort(top.ravel())
    xs = np.unique(pooled)
    mass = {a: p for a, p in atoms}
    a_r = 1.0 - r / lam.shape[1]

    def f_plus(f):
        return (np.maximum(f, a_r) - a_r) / (1.0 - a_r)

    f_hi = np.asarray(cdf(xs), dtype=float)
    f_lo = f_hi - np.array([mass.get(float(x), 0.0) for x in xs])
    e_hi = np.searchsorted(pooled, xs, side="right") / pooled.size
    e_lo = np.searchsorted(pooled, xs, side="left") / pooled.size
    ks = float(max(np.max(np.abs(e_hi - f_plus(f_hi))), np.max(np.abs(e_lo - f_plus(f_lo)))))
    n_eff = bootstrap_n_eff(top)
    n_eff = float(np.clip(n_eff, top.shape[0], pooled.size))
    bound = KOLMOGOROV_999 / math.sqrt(n_eff) + _CDF_TOL
    return DistributionCheck(ks, bound, n_eff, ks <= bound, zero_fraction, atom)
