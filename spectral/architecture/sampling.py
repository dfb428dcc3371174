r"""Sampled Jacobians of any spec: the real forward pass, and the free model.

Network mode draws the weights and biases, runs the input :math:`x^0` (coordinates :math:`N(0, q_0)`) through
the spec and accumulates :math:`J = \partial x^{out}/\partial x^0` entry by entry on a batch of networks:

* Dense: :math:`J \leftarrow W J`; Conv: the circular convolution of :math:`x` (rolls,
  :func:`spectral.architecture.conv.conv_apply`) and :math:`J \leftarrow W J` with its matrix
  (:func:`~spectral.architecture.conv.conv_matrix`); Nonlinearity: :math:`J \leftarrow \operatorname{diag}\phi'(h) J`;
* LayerNorm, :math:`y = (x - \bar x)/s`: :math:`J \leftarrow s^{-1}(J - \bar J - y\, y^T J/N)`
  (:math:`\bar J` the column means); RMSNorm, :math:`y = x/r`: :math:`J \leftarrow r^{-1}(J - y\, y^T J/N)`;
* Residual: the branch runs on :math:`(x, J)` and returns :math:`(f(x), X J)`, then
  :math:`J \leftarrow \alpha J + \beta X J`.

The free model draws every Conv as its mapped Dense layer
(:func:`spectral.architecture.conv.mapped_dense`), every :math:`D = \operatorname{diag}\phi'(\sqrt{q} z)`
independently of the weights at the mean-field :math:`q` of its activation and replaces each normalisation by
its scale :math:`c^{1/2} I` (the projections remove one or two directions, nothing in the bulk).

After each top-level entry :math:`J` is divided by its largest entry and the log of the factor kept, so depth
never overflows; singular values come from one SVD of :math:`J` (absolute error :math:`\sim N\varepsilon
s_{\max}`), and a spread of nonzero singular values beyond
:data:`spectral.montecarlo.DIRECT_SPREAD_LIMIT` is refused rather than returned inaccurate.  All arrays
use the array namespace of :mod:`spectral._backend` (NumPy, or CuPy on a GPU).
"""

from __future__ import annotations

import math
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._backend import cpu_workers, get_backend, normal_batch, qr, spawn_streams, to_numpy
from ..montecarlo.samples import SampledSpectrum
from .layers import Conv, Dense, LayerNorm, Nonlinearity, Repeat, Residual, RMSNorm, Sequential
from .meanfield import propagate

__all__ = ["SpecSamples", "sample_spec", "MODES"]

MODES = ("network", "free")
#: Networks per batch when none is given: B N^2 doubles per Jacobian, a few live at once (16 MiB at N = 512).
DEFAULT_CHUNK = 4


@dataclass(frozen=True, eq=False)
class SpecSamples(SampledSpectrum):
    r"""Singular values of :math:`J` for ``n_samples`` sampled networks of ``spec``.

    ``log_singular_values``: shape (n_samples, min(N_0, N_L)), descending; ``q_out``: the mean-field second
    moment of the output; ``diagnostics``: ``q_empirical`` (network mode: mean over networks of
    :math:`\|x^{out}\|^2/N`), ``log_spread_max`` (largest log-spread of nonzero singular values).  Moments
    and their standard errors: :class:`spectral.montecarlo.samples.SampledSpectrum`.
    """

    spec: Sequential
    widths: tuple
    mode: str
    backend: str
    seed: Any
    q_out: float
    log_singular_values: np.ndarray
    seconds: float
    diagnostics: dict = field(default_factory=dict)


def _haar(xp, streams, n_out, n_in):
    """Haar partial isometries (B, n_out, n_in): QR of a Gaussian matrix, signs of diag R (Mezzadri 2007)."""
    m, k = max(n_out, n_in), min(n_out, n_in)
    q, r = qr(xp, normal_batch(streams, (m, k)))
    q = q * xp.sign(xp.linalg.diagonal(r))[..., None, :]
    return q if n_out >= n_in else xp.matrix_transpose(q)


def _weights(xp, streams, e: Dense, n_in, n_out):
    if e.weights == "orthogonal":
        return _haar(xp, streams, n_out, n_in) * math.sqrt(float(e.sigma_w2))
    return normal_batch(streams, (n_out, n_in)) * math.sqrt(float(e.sigma_w2) / n_in)


class _Run:
    """Forward pass of one batch (network mode) or the free model's factors (free mode)."""

    def __init__(self, xp, streams, mode):
        self.xp, self.streams, self.mode = xp, streams, mode

    # ------------------------------------------------------------------ network mode
    def entries(self, entries, x, j):
        for e in entries:
            if isinstance(e, Repeat):
                for _ in range(e.times):
                    x, j = self.entries(e.layers, x, j)
                continue
            x, j = self.entry(e, x, j)
        return x, j

    def entry(self, e, x, j):
        xp = self.xp
        n = x.shape[-1]
        if isinstance(e, Dense):
            n_out = e.width if e.width is not None else n
            w = _weights(xp, self.streams, e, n, n_out)
            x = xp.matmul(w, x[..., None])[..., 0]
            if float(e.sigma_b2) > 0:
                x = x + normal_batch(self.streams, (n_out,)) * math.sqrt(float(e.sigma_b2))
            return x, xp.matmul(w, j)
        if isinstance(e, Conv):
            return self.conv(e, x, j)
        if isinstance(e, Nonlinearity):
            act = e.activation
            return act.phi(x), act.dphi(x)[..., None] * j
        if isinstance(e, LayerNorm):
            xc = x - xp.mean(x, axis=-1, keepdims=True)
            s = xp.sqrt(xp.mean(xc * xc, axis=-1, keepdims=True))
            y = xc / s
            jc = j - xp.mean(j, axis=-2, keepdims=True)
            proj = y[..., None] * (xp.matmul(y[..., None, :], j) / n)
            return y, (jc - proj) / s[..., None]
        if isinstance(e, RMSNorm):
            r = xp.sqrt(xp.mean(x * x, axis=-1, keepdims=True))
            y = x / r
            proj = y[..., None] * (xp.matmul(y[..., None, :], j) / n)
            return y, (j - proj) / r[..., None]
        if isinstance(e, Residual):
            f, xj = self.entries(e.branch, x, j)
            a, b = float(e.alpha), float(e.beta)
            return a * x + b * f, a * j + b * xj
        raise TypeError(f"not a spec entry: {e!r}")  # pragma: no cover - validated on construction

    def conv(self, e: Conv, x, j):
        from .conv import conv_apply, conv_matrix, sample_kernels

        xp = self.xp
        kern = sample_kernels(xp, self.streams, e)
        y = conv_apply(xp, kern, x, e.spatial)
        if float(e.sigma_b2) > 0:  # one bias per channel, shared by its positions (channel-major layout)
            bias = normal_batch(self.streams, (e.channels,)) * math.sqrt(float(e.sigma_b2))
            y = y + xp.repeat(bias, e.spatial, axis=-1)
        return y, xp.matmul(conv_matrix(xp, kern, e.spatial), j)

    # ------------------------------------------------------------------ free model
    def factors(self, factors, j):
        xp = self.xp
        for f in factors:
            if f.kind == "dense":
                weights, s2, _, _ = f.data
                n_in = j.shape[-2]
                n_out = f.data[3] if f.data[3] is not None else n_in
                j = xp.matmul(_weights(xp, self.streams, Dense(weights, s2), n_in, n_out), j)
            elif f.kind == "derivative":
                act, q = f.data
                h = normal_batch(self.streams, (j.shape[-2],)) * math.sqrt(q)
                j = act.dphi(h)[..., None] * j
            elif f.kind == "scale":
                j = j * math.sqrt(f.data[0])
            else:
                alpha, beta, branch, _ = f.data
                j = float(alpha) * j + float(beta) * self.factors(branch, j)
        return j


def _check_int(name, v, low=1):
    if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {v!r}")
    return int(v)


def _run_chunk(xp, streams, mode, spec: Sequential, prop, width):
    """Log singular values (B, N), output second moments (network mode) and the largest log-spread of one batch."""
    run = _Run(xp, streams, mode)
    j = xp.broadcast_to(xp.eye(width, dtype=xp.float64), (len(streams), width, width)) * 1.0
    log_scale = xp.zeros((len(streams),), dtype=xp.float64)
    q_emp = None
    if mode == "network":
        x = normal_batch(streams, (width,)) * math.sqrt(float(spec.input_q))
        for e in spec.layers:
            x, j = run.entries([e], x, j)
            j, log_scale = _rescale(xp, j, log_scale)
        q_emp = to_numpy(xp.mean(x * x, axis=-1))
    else:
        for f in prop.factors:
            j = run.factors([f], j)
            j, log_scale = _rescale(xp, j, log_scale)
    sv = to_numpy(xp.linalg.svdvals(j))
    with np.errstate(divide="ignore"):
        ls = np.log(sv) + to_numpy(log_scale)[:, None]
    fin = np.where(sv > sv[:, :1] * np.finfo(float).eps * width, ls, np.nan)
    return ls, q_emp, float(np.nanmax(np.nanmax(fin, axis=1) - np.nanmin(fin, axis=1)))


def _with_width(spec, width) -> Sequential:
    if not isinstance(spec, Sequential):
        raise TypeError(f"spec must be a spectral.Sequential, got {type(spec).__name__}")
    if width is None:
        width = spec.width
    if width is None:
        raise ValueError("width is needed (the input width N_0): pass width=... or give the spec a width")
    width = _check_int("width", width)
    if spec.width is not None and spec.width != width:
        raise ValueError(f"width={width} conflicts with the spec's input width {spec.width}")
    import dataclasses

    return spec if spec.width is not None else dataclasses.replace(spec, width=width)


def sample_spec(spec: Sequential, width: int | None = None, n_samples: int = 16, mode: str = "network",
                backend: str = "auto", seed=0, *, chunk_size: int | None = None,
                threads: int | None = None, require_resolved: bool = True) -> SpecSamples:
    """Sample ``n_samples`` networks of ``spec`` and return the singular values of their Jacobians.

    ``width``: input width :math:`N_0` (default ``spec.width``, which a spec with a Conv entry has; one of
    them is needed); ``mode``: "network" (real forward pass) or "free" (the free model); ``seed``: network
    ``i`` uses child ``i`` of ``SeedSequence(seed)``, the same networks for any ``chunk_size``; ``threads``:
    CPU workers over the batch (BLAS single-threaded inside them; default the usable cores);
    ``require_resolved``: raise when the singular values spread beyond what one SVD resolves (True), or return
    them anyway (False: the moments :math:`m_k`, sums dominated by the largest values, stay accurate, but the
    smallest values are rounding; a LayerNorm's projection, for one, leaves such a structural zero).
    """
    from ..montecarlo import DIRECT_SPREAD_LIMIT

    spec_w = _with_width(spec, width)
    width = spec_w.width
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    n = _check_int("n_samples", n_samples)
    chunk = DEFAULT_CHUNK if chunk_size is None else _check_int("chunk_size", chunk_size)
    prop = propagate(spec_w)
    be = get_backend(backend)
    streams = spawn_streams(be, seed, n)
    t0 = time.perf_counter()
    starts = list(range(0, n, chunk))

    def work(start):
        return _run_chunk(be.xp, streams[start:start + chunk], mode, spec_w, prop, width)

    with cpu_workers(be, threads) as workers:
        if workers > 1 and len(starts) > 1:
            with ThreadPoolExecutor(max_workers=min(workers, len(starts))) as pool:
                results = list(pool.map(work, starts))
        else:
            results = [work(s0) for s0 in starts]
    spread = max(r[2] for r in results)
    if require_resolved and spread > -math.log(DIRECT_SPREAD_LIMIT):
        raise ValueError(f"the singular values of J spread over {spread:.1f} nats (beyond "
                         f"{-math.log(DIRECT_SPREAD_LIMIT):.1f}): one SVD of J cannot resolve the smallest; "
                         "use fewer layers, or a plain chain (spectral.Network uses the stable product)")
    diag = {"log_spread_max": spread}
    if mode == "network":
        diag["q_empirical"] = float(np.mean(np.concatenate([r[1] for r in results])))
    return SpecSamples(spec_w, (width, prop.width_out or width), mode, be.name, seed, prop.q_out,
                       np.concatenate([r[0] for r in results], axis=0), time.perf_counter() - t0, diag)


def _rescale(xp, j, log_scale):
    s = xp.max(xp.abs(j), axis=(-2, -1))
    s = xp.where(s > 0, s, 1.0)
    return j / s[..., None, None], log_scale + xp.log(s)
