r"""Sampled input-output Jacobians of finite networks, on NumPy or CuPy through one code path.

For a network :math:`x^l = \phi_l(h^l)`, :math:`h^l = W_l x^{l-1} + b_l` (:math:`l = 1..L`, widths
:math:`N_0, \dots, N_L`) the input-output Jacobian is

.. math:: J = D_L W_L \cdots D_1 W_1, \qquad D_l = \operatorname{diag} \phi_l'(h^l),

and :func:`sample_jacobians` returns the eigenvalues of :math:`J J^T` (:math:`N_L` per network, zeros
included) for ``n_samples`` independent networks.

Modes
-----
``"network"``
    A real forward pass.  The input :math:`x^0` is a random direction scaled to
    :math:`\|x^0\|^2 = N_0 (q^1 - \sigma_{b,1}^2)/(\sigma_{w,1}^2 \rho_1)`, so that the first
    pre-activations have variance exactly :math:`q^1` given :math:`x^0` (:math:`q^1 = q_0` or the fixed
    point :math:`q^*`; :math:`\rho_1 = \min(1, N_0/N_1)` for orthogonal weights, else 1, see
    :func:`spectral.product.variance_factor`); with Gaussian weights they are exactly :math:`N(0, q^1)`,
    with orthogonal ones coordinates of a uniformly random vector of that norm (Gaussian as N grows);
    biases are drawn, :math:`b_l \sim N(0, \sigma_{b,l}^2)`, and :math:`D_l = \phi_l'(h^l)` from the actual
    pre-activations (which depend on :math:`W_l`).
``"free"``
    The model the free-probability theory describes: :math:`D_l = \phi_l'(\sqrt{q^l} z)`,
    :math:`z \sim N(0, I)` independent of :math:`W_l`, with :math:`q^l` from the q-map
    (:meth:`spectral.product.Network.q_sequence`).

Weights: Gaussian :math:`W_{ij} \sim N(0, \sigma_w^2/N_{l-1})`, or :math:`W = \sigma_w Q` with
:math:`Q` Haar distributed on the orthogonal group (square) or on the Stiefel manifold (rectangular:
orthonormal rows when :math:`N_l < N_{l-1}`, orthonormal columns otherwise), sampled as the QR factor of
a Gaussian matrix with the signs of :math:`\operatorname{diag} R` moved into :math:`Q` (Mezzadri 2007;
without the sign correction the result is not Haar).

Products
--------
*Direct*: :math:`J` is formed by ``L`` batched matrix products (rescaled after every layer, the log-scale
kept apart so nothing overflows) and its singular values are taken with ``svdvals``.  The absolute error
of a singular value is about :math:`N \varepsilon s_{\max}`, so values far below the top lose their
relative accuracy: at depth 200 the log-range is hundreds of nats and the bottom of the spectrum is noise.

*Stable* (:class:`StableProduct`): the pivoted product QR of determinant quantum Monte Carlo
(Loh & Gubernatis 1992; pre-pivoting by column norms, Bai, Lee, Li & Xu 2011),
:math:`A_l \cdots A_1 = Q_l\, \operatorname{diag}(e^{\ell_l})\, T_l` with the scales kept as logs
:math:`\ell_l`; then the singular values of :math:`\operatorname{diag}(e^{\ell}) T` are extracted by
zero-shift QR sweeps in log-scaled form (each sweep multiplies the coupling of scales
:math:`\ell_i > \ell_j` by about :math:`e^{\ell_j - \ell_i}`) until the coupled clusters fit in the
float range, and one-sided Jacobi SVD (LAPACK ``dgejsv``, high relative accuracy for graded matrices) of
each cluster (:mod:`spectral.stable_product`).  The QR step is taken only once a block of layers has
spread the scales by about :data:`~spectral.stable_product.BLOCK_LOG_RANGE` nats (estimated from the
previous block; Gaussian layers of width >= 64 still get one nearly every layer, Haar layers blocks of up
to 16).  Measured against mpmath products: :math:`|\Delta \log s| \le 6 \times 10^{-12}` at depth
400-1000 (``tests/test_montecarlo.py``).  Cost per layer about 4 times the direct product with Gaussian
weights, close to it with Haar weights (``benchmarks/README.md``).

``stable=None`` computes the first network directly and switches to the stable product for all networks
when its smallest nonzero singular value is below :data:`DIRECT_SPREAD_LIMIT` times the largest
(the result says so in ``method``).  The pilot draws from a stream of its own, built from network 0's
child seed, and a redo of network 0 with the stable product starts that stream afresh: for a given seed
the networks (weights, biases, inputs) are the same whatever ``stable`` resolves to, and only the
rounding of the two products differs.

Zero eigenvalues are structural: :math:`\operatorname{rank} J = \min(N_0, \min_l N_l,
\min_l \#\{i : \phi_l'(h^l_i) \ne 0\})` almost surely (the weights put the kernels in general position),
so exactly :math:`N_L - \operatorname{rank} J` eigenvalues are set to 0 (relu: about half).

Backends and CPU threads
------------------------
``backend="auto"`` uses CuPy when it imports and a GPU is present (:mod:`spectral._backend`).  Each network
draws from its own random stream (child ``i`` of ``SeedSequence(seed)``), so results do not depend on
chunking or on the number of threads; NumPy and CuPy streams differ (compare them statistically).
On the CPU, every BLAS library (NumPy's and SciPy's, whose LAPACK does the QR steps) is limited to one
thread and networks are split over a thread pool (``threads``): on 2 cores two one-thread workers ran the
same products 3-4x faster than one threaded call (``benchmarks/bench_montecarlo.py``).

References
----------
F. Mezzadri, "How to generate random matrices from the classical compact groups", Notices AMS 54 (2007).
E. Y. Loh and J. E. Gubernatis, "Stable numerical simulations of models of interacting electrons", in
Electronic Phase Transitions (1992).
Z. Bai, C.-R. Lee, R.-C. Li and S. Xu, "Stable solutions of linear systems involving long chain of matrix
multiplications", Linear Algebra Appl. 435 (2011).
J. Demmel and K. Veselic, "Jacobi's method is more accurate than QR", SIAM J. Matrix Anal. Appl. 13 (1992).
Z. Drmac and K. Veselic, "New fast and accurate Jacobi SVD algorithm I/II", SIAM J. Matrix Anal. Appl. 29
(2008).
J. Pennington, S. Schoenholz and S. Ganguli, "Resurrecting the sigmoid in deep learning through dynamical
isometry", NeurIPS 2017.
"""

from __future__ import annotations

import json
import math
import sys
import threading
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import limits
from ._backend import (
    Backend,
    SampleStream,
    available_memory,
    cpu_workers,
    get_backend,
    normal_batch,
    qr,
    spawn_streams,
    to_numpy,
)
from ._backend import log0 as _log
from .jsonout import jsonable
from .product import Network, variance_factor
from .stable_product import (  # noqa: F401 - re-exported: the stable product belongs to the sampler's API
    CLUSTER_LOG_RANGE,
    COUPLING_TOL,
    StableProduct,
    graded_log_singular_values,
)

__all__ = [
    "JacobianSamples",
    "sample_jacobians",
    "haar_orthogonal",
    "StableProduct",
    "DirectProduct",
    "product_log_singular_values",
    "MODES",
    "DIRECT_SPREAD_LIMIT",
]

MODES = ("network", "free")

#: ``stable=None`` switches to the stable product when the first network's smallest nonzero singular
#: value is below this fraction of its largest: there the direct SVD's absolute error
#: :math:`\sim N\varepsilon s_{\max}` is a relative error :math:`\gtrsim 10^{-5}` on the smallest values.
DIRECT_SPREAD_LIMIT = 1e-8

_EPS = float(np.finfo(np.float64).eps)


# ==================================================================================== layer data
@dataclass(frozen=True)
class _LayerSpec:
    activation: Any
    weights: str
    sigma_w2: float
    sigma_b2: float
    n_in: int
    n_out: int
    q: float


def _resolve_widths(net: Network, width) -> tuple[int, ...]:
    dims = net.widths
    if dims is None:
        if isinstance(width, bool) or not isinstance(width, int | np.integer) or width < 1:
            raise ValueError(f"width must be a positive integer (the layer width N), got {width!r}")
        return (int(width),) * (net.depth + 1)
    if width is not None and int(width) != dims[0]:
        raise ValueError(f"width={width!r} conflicts with the network's input width N_0={dims[0]}; "
                         "pass width=None for networks with per-layer widths")
    return tuple(int(d) for d in dims)


def _layer_specs(net: Network, dims) -> tuple[_LayerSpec, ...]:
    qs = net.q_sequence()
    return tuple(_LayerSpec(layer.activation, layer.weights, float(layer.sigma_w2), float(layer.sigma_b2),
                            dims[i], dims[i + 1], float(qs[i]))
                 for i, layer in enumerate(net.layers))


# ==================================================================================== random matrices
def _haar_batch(xp, streams, n_out: int, n_in: int):
    """Haar partial isometries, shape ``(B, n_out, n_in)``: QR of a Gaussian matrix with sign correction."""
    m, k = max(n_out, n_in), min(n_out, n_in)
    z = normal_batch(streams, (m, k))
    q, r = qr(xp, z)
    q *= xp.sign(xp.linalg.diagonal(r))[..., None, :]
    return q if n_out >= n_in else xp.matrix_transpose(q)


def haar_orthogonal(n: int, m: int | None = None, *, size: int = 1, seed=0, backend: str = "numpy") -> np.ndarray:
    r"""Haar-distributed orthogonal matrices (or partial isometries), as NumPy arrays.

    QR decomposition of a Gaussian matrix :math:`Z = QR` followed by
    :math:`Q \leftarrow Q\, \operatorname{diag}(\operatorname{sign} R_{ii})` (Mezzadri 2007): the sign
    correction makes the law of :math:`Q` invariant under left and right multiplication by orthogonal
    matrices.  For a Haar :math:`Q \in O(n)`, :math:`E[\operatorname{tr} Q] = 0` and
    :math:`E[(\operatorname{tr} Q)^2] = 1`.

    Parameters
    ----------
    n, m : int
        Shape ``(n, m)`` (``m = n`` by default); rectangular gives orthonormal rows (n < m) or columns.
    size : int
        Number of matrices (result shape ``(size, n, m)``).
    seed : int, SeedSequence or None
        Matrix ``i`` uses child ``i`` of ``SeedSequence(seed)``.
    backend : "numpy" | "cupy" | "auto"
    """
    m = n if m is None else m
    for name, v in (("n", n), ("m", m), ("size", size)):
        if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < 1:
            raise ValueError(f"{name} must be a positive integer, got {v!r}")
    be = get_backend(backend)
    streams = spawn_streams(be, seed, int(size))
    return to_numpy(_haar_batch(be.xp, streams, int(n), int(m)))


def _weights(xp, streams, spec: _LayerSpec):
    """Weights of one layer for a batch (a fresh array, scaled in place)."""
    if spec.weights == "orthogonal":
        w = _haar_batch(xp, streams, spec.n_out, spec.n_in)
        w *= math.sqrt(spec.sigma_w2)
    else:
        w = normal_batch(streams, (spec.n_out, spec.n_in))
        w *= math.sqrt(spec.sigma_w2 / spec.n_in)
    return w


def _factor(xp, streams, spec: _LayerSpec, mode: str, x):
    r"""One layer: ``(A = D W, x_next, nnz(D), q_cond)`` for a batch of networks.

    ``q_cond`` (network mode) is the variance of the pre-activations given the layer's input,
    :math:`\sigma_w^2 \|x\|^2/N_{\text{in}} + \sigma_b^2` (Gaussian weights; Haar:
    :math:`/\max(N_{\text{in}}, N_{\text{out}})`), the realised "q" of this network and layer.

    Draw order per network stream: weights, then biases (network mode) or the Gaussian ``z`` of the
    free model -- fixed, so a network is reproducible from its stream alone.
    """
    w = _weights(xp, streams, spec)
    g = normal_batch(streams, (spec.n_out,))
    act = spec.activation
    if mode == "network":
        # conditional variance of h_i given x: sigma_w2 rho |x|^2 / N_in (rho: variance_factor)
        denom = spec.n_in / float(variance_factor(spec.weights, spec.n_in, spec.n_out))
        q_emp = spec.sigma_w2 * xp.sum(x * x, axis=-1) / denom + spec.sigma_b2
        h = xp.matmul(w, x[..., None])[..., 0] + math.sqrt(spec.sigma_b2) * g
        d = act.dphi(h)
        x_next = act.phi(h)
    else:
        d = act.dphi(math.sqrt(spec.q) * g)
        x_next, q_emp = None, None
    w *= d[..., :, None]  # A = D W in place: W is not needed past this point
    a = w
    nnz = xp.count_nonzero(d, axis=-1)
    return a, x_next, nnz, q_emp


def _inputs(xp, streams, spec: _LayerSpec, q1: float):
    r"""Random directions with :math:`\|x\|^2 = N_0 (q^1 - \sigma_b^2)/(\sigma_w^2 \rho_1)`
    (:func:`spectral.product.variance_factor`): the first pre-activations have variance exactly
    :math:`q^1` given :math:`x` (Gaussian weights: they are exactly :math:`N(0, q^1)`)."""
    excess = q1 - spec.sigma_b2
    if excess < 0:  # excess = 0 is x = 0: the pre-activations are the biases (q* = 0 when sigma_b2 = 0)
        raise ValueError(f"q0 = {q1!r} must be at least the first layer's sigma_b2 = {spec.sigma_b2!r} "
                         "(pre-activations W x + b have variance >= sigma_b2); give a larger q0")
    rho = float(variance_factor(spec.weights, spec.n_in, spec.n_out))
    x = normal_batch(streams, (spec.n_in,))
    norm = xp.sqrt(xp.sum(x * x, axis=-1, keepdims=True))
    return x * (math.sqrt(spec.n_in * excess / (spec.sigma_w2 * rho)) / norm)


# ==================================================================================== product accumulators
class DirectProduct:
    r"""Accumulate :math:`J = A_L \cdots A_1` by matrix products and take ``svdvals`` at the end.

    After each product the batch is divided by its largest entry and the log of that factor is kept,
    so depth never overflows; accuracy is that of the SVD of the formed product (absolute error
    :math:`\sim N\varepsilon s_{\max}` per singular value).
    """

    method = "direct: J formed by batched matrix products (rescaled per layer), singular values by svdvals"

    def __init__(self, xp):
        self.xp = xp
        self.j = None
        self.log_scale = None

    def push(self, a):
        xp = self.xp
        j = a if self.j is None else xp.matmul(a, self.j)
        s = xp.max(xp.abs(j), axis=(-2, -1))
        s = xp.where(s > 0, s, 1.0)
        if self.j is None:
            self.j = j / s[..., None, None]  # the caller's array: not divided in place
        else:
            j /= s[..., None, None]
            self.j = j
        self.log_scale = xp.log(s) if self.log_scale is None else self.log_scale + xp.log(s)

    def finish(self):
        """Log singular values, shape ``(B, min(N_L, N_0))``, descending (``-inf`` for exact zeros)."""
        xp = self.xp
        sv = xp.linalg.svdvals(self.j)
        return _log(xp, sv) + self.log_scale[..., None], {}


def product_log_singular_values(factors, *, stable: bool = True, backend: str = "numpy"):
    r"""Log singular values of :math:`A_L \cdots A_1` for a list of (batches of) matrices ``[A_1, ..., A_L]``.

    ``stable=True`` uses :class:`StableProduct`, else :class:`DirectProduct`.  Input arrays of shape
    ``(N_l, N_{l-1})`` or ``(B, N_l, N_{l-1})``; returns NumPy ``(B, min_l N_l)`` (or ``(min_l N_l,)``)
    descending, ``-inf`` for exact zeros.
    """
    if not factors:
        raise ValueError("factors must contain at least one matrix")
    be = get_backend(backend)
    xp = be.xp
    single = np.ndim(factors[0]) == 2
    acc = StableProduct(xp) if stable else DirectProduct(xp)
    for a in factors:
        a = xp.asarray(np.asarray(a, dtype=float) if be.name == "numpy" else a, dtype=xp.float64)
        acc.push(a[None] if single else a)
    out, _ = acc.finish()
    out = to_numpy(out)
    return out[0] if single else out


# ==================================================================================== results
@dataclass(frozen=True, eq=False)
class JacobianSamples:
    r"""Eigenvalues of :math:`J J^T` for ``n_samples`` independently sampled networks.

    Attributes
    ----------
    network : Network
        The network spec (with ``q0`` when one was given).
    widths : tuple of int
        :math:`(N_0, \dots, N_L)`.
    mode, backend : str
        ``"network" | "free"``; ``"numpy" | "cupy"``.
    seed : int or None
    stable : bool
        Whether the stable product was used; ``method`` says how and why.
    q : tuple of float
        Pre-activation variances :math:`q^l` of the theory (free mode draws :math:`D_l` with them; network
        mode starts the forward pass at :math:`q^1`).
    log_singular_values : ndarray, shape (n_samples, N_L)
        :math:`\log s_i` of :math:`J`, descending; ``-inf`` for the :math:`N_L - \operatorname{rank} J`
        structural zeros.
    rank : ndarray of int, shape (n_samples,)
    seconds : float
    diagnostics : dict
        ``q_conditional`` (network mode, shape (n_samples, L): variance of :math:`h^l` given the layer's
        input, :math:`\sigma_w^2 \rho_l \|x^{l-1}\|^2/N_{l-1} + \sigma_b^2`), ``q_empirical`` (its mean over
        networks),
        ``log_s_error_bound``, chunking/threads, etc.
    """

    network: Network
    widths: tuple
    mode: str
    backend: str
    seed: Any
    stable: bool
    method: str
    q: tuple
    log_singular_values: np.ndarray
    rank: np.ndarray
    seconds: float
    diagnostics: dict = field(default_factory=dict)

    @property
    def n_samples(self) -> int:
        return int(self.log_singular_values.shape[0])

    @property
    def width(self) -> int:
        """Output width :math:`N_L` (the size of :math:`J J^T`)."""
        return int(self.widths[-1])

    @property
    def depth(self) -> int:
        return len(self.widths) - 1

    @property
    def singular_values(self) -> np.ndarray:
        """Singular values of J, shape (n_samples, N_L) (inf where they exceed the float range)."""
        with np.errstate(over="ignore"):
            return np.exp(self.log_singular_values)

    @property
    def eigenvalues(self) -> np.ndarray:
        """Eigenvalues of J J^T = s^2, shape (n_samples, N_L), descending."""
        with np.errstate(over="ignore"):
            return np.exp(2.0 * self.log_singular_values)

    def per_network_moments(self, k: int) -> np.ndarray:
        r""":math:`m_j^{(i)} = \frac{1}{N_L}\sum_a \lambda_a^j` of each network, shape (n_samples, k)."""
        k = _check_k(k)
        lam = self.eigenvalues
        if not np.all(np.isfinite(lam)):
            raise OverflowError("eigenvalues exceed the float range (deep network); use log_moments(k)")
        return np.stack([np.mean(lam ** j, axis=1) for j in range(1, k + 1)], axis=1)

    def moments(self, k: int = 4):
        r"""Moments :math:`m_1..m_k` of :math:`J J^T`: mean over networks and its standard error.

        Returns ``(mean, stderr)``, arrays of shape (k,), with
        :math:`\text{stderr}_j = \operatorname{sd}(m_j^{(i)})/\sqrt{n}` over the ``n`` independent networks
        (NaN for ``n = 1``).  Single-network moments fluctuate by several percent at :math:`N \sim 10^3`, so
        the across-network error, not the within-network one, is the honest uncertainty.
        """
        per = self.per_network_moments(k)
        mean = per.mean(axis=0)
        n = per.shape[0]
        se = per.std(axis=0, ddof=1) / math.sqrt(n) if n > 1 else np.full(per.shape[1], np.nan)
        return mean, se

    def log_moments(self, k: int = 4) -> np.ndarray:
        r""":math:`\log` of the across-network mean of :math:`m_j`, :math:`j = 1..k`, by log-sum-exp
        (finite at any depth)."""
        from scipy.special import logsumexp

        k = _check_k(k)
        ls = self.log_singular_values
        n, width = ls.shape
        per = np.stack([logsumexp(2 * j * ls, axis=1) - math.log(width) for j in range(1, k + 1)], axis=1)
        return logsumexp(per, axis=0) - math.log(n)

    @property
    def atom_at_zero(self) -> float:
        """Fraction of eigenvalues that are exactly zero (structural rank deficit), pooled."""
        return float(np.mean(~np.isfinite(self.log_singular_values)))

    def metadata(self) -> dict:
        """JSON-serialisable description of the run (inputs, method, diagnostics)."""
        layer0 = self.network.layers[0]
        return {
            "activation": getattr(layer0.activation, "name", str(layer0.activation)),
            "weights": layer0.weights, "sigma_w2": float(layer0.sigma_w2), "sigma_b2": float(layer0.sigma_b2),
            "depth": self.depth, "widths": list(self.widths), "n_samples": self.n_samples, "mode": self.mode,
            "backend": self.backend, "seed": self.seed if isinstance(self.seed, int | None) else str(self.seed),
            "stable": self.stable, "method": self.method, "q": list(self.q), "seconds": self.seconds,
            "uniform": self.network.uniform,
            "diagnostics": jsonable({k: v for k, v in self.diagnostics.items() if k != "q_conditional"}),
        }

    def save(self, path) -> None:
        """Write an ``.npz`` with ``eigenvalues``, ``log_singular_values``, ``rank`` and ``metadata`` (JSON)."""
        with np.errstate(over="ignore"):
            np.savez_compressed(path, eigenvalues=self.eigenvalues, log_singular_values=self.log_singular_values,
                                rank=self.rank, metadata=np.array(json.dumps(self.metadata())))

    def __repr__(self):
        return (f"JacobianSamples(n_samples={self.n_samples}, widths={_short(self.widths)}, mode={self.mode!r}, "
                f"backend={self.backend!r}, stable={self.stable}, seconds={self.seconds:.3g})")


def _short(dims):
    return f"({dims[0]},)*{len(dims)}" if len(set(dims)) == 1 else str(tuple(dims))


def _check_k(k):
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise ValueError(f"k (number of moments) must be a positive integer, got {k!r}")
    return int(k)


# ==================================================================================== sampler
def _run_chunk(be: Backend, streams, specs, mode, q1, stable, progress):
    """All layers for one chunk of networks; returns numpy (log_s, rank, q_emp or None, diagnostics)."""
    xp = be.xp
    acc = StableProduct(xp) if stable else DirectProduct(xp)
    x = _inputs(xp, streams, specs[0], q1) if mode == "network" else None
    b = len(streams)
    rank = xp.full((b,), min(specs[0].n_in, min(s.n_out for s in specs)), dtype=xp.int64)
    q_emp = []
    for spec in specs:
        a, x, nnz, qe = _factor(xp, streams, spec, mode, x)
        rank = xp.minimum(rank, xp.astype(nnz, xp.int64))
        if qe is not None:
            q_emp.append(to_numpy(qe))
        acc.push(a)
        del a
        progress(b)
    log_s, diag = acc.finish()
    log_s, rank = to_numpy(log_s), to_numpy(rank)
    return log_s, rank, (np.stack(q_emp, axis=1) if q_emp else None), diag


def _assemble(log_s: np.ndarray, rank: np.ndarray, n_last: int):
    """Pad to N_L, sort descending, set the N_L - rank smallest to -inf; report what was zeroed."""
    b, k = log_s.shape
    full = np.full((b, n_last), -np.inf)
    full[:, :k] = log_s
    full = -np.sort(-full, axis=1)
    pos = np.arange(n_last)[None, :]
    zeroed = full.copy()
    zeroed[pos < rank[:, None]] = -np.inf
    top = full[:, :1]
    with np.errstate(invalid="ignore"):
        rel = np.where(np.isfinite(zeroed), zeroed - top, -np.inf)
    full[pos >= rank[:, None]] = -np.inf
    return full, float(np.max(rel)) if rel.size else -np.inf


def _bytes_per_network(specs, stable):
    n = max(max(s.n_in, s.n_out) for s in specs)
    return 8 * n * n * (10 if stable else 6)


def _is_int(value) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_)


def _check_sampler_options(seed, threads, chunk_size, progress) -> None:
    """Refuse bad options of :func:`sample_jacobians`, naming them (numpy integers are accepted)."""
    if not (seed is None or isinstance(seed, np.random.SeedSequence) or (_is_int(seed) and seed >= 0)):
        raise ValueError(f"seed must be an integer >= 0, a numpy.random.SeedSequence or None, got {seed!r}")
    for name, value in (("threads", threads), ("chunk_size", chunk_size)):
        if value is not None and not (_is_int(value) and value >= 1):
            raise ValueError(f"{name} must be an integer >= 1 or None (automatic), got {value!r}")
    if progress is not None and not isinstance(progress, bool | np.bool_):
        raise TypeError(f"progress must be True, False or None (automatic), got {progress!r}")


def sample_jacobians(net: Network, width: int | None = 1024, n_samples: int = 16, mode: str = "network",
                     backend: str = "auto", seed=0, stable: bool | None = None, q0: float | None = None, *,
                     threads: int | None = None, chunk_size: int | None = None,
                     progress: bool | None = None) -> JacobianSamples:
    r"""Sample ``n_samples`` networks and return the eigenvalues of :math:`J J^T` (see the module docstring).

    Parameters
    ----------
    net : spectral.product.Network
        Architecture: per-layer activation, weights ("gaussian" | "orthogonal"), sigma_w2, sigma_b2 and
        widths (``net.widths``; square networks take ``width``).
    width : int or None
        Width N of square networks (ignored/checked for networks with their own widths).
    n_samples : int
        Number of independent networks (>= 1; >= 2 for standard errors).
    mode : "network" | "free"
        Real forward pass, or :math:`D_l` drawn independently of :math:`W_l` (the free model).
    backend : "auto" | "numpy" | "cupy"
    seed : int, numpy.random.SeedSequence or None
        Network ``i`` uses child ``i`` of ``SeedSequence(seed)``: identical results for any chunking or
        thread count on a given backend, and the same networks for ``stable`` None, True or False.
    stable : bool or None
        Force the stable product (True), the direct SVD (False), or decide from the first network
        (None; see :data:`DIRECT_SPREAD_LIMIT`).
    q0 : float or None
        First-layer pre-activation variance (default ``net.q0`` or the fixed point q*).
    threads : int or None
        CPU worker threads (default: usable cores); BLAS runs single-threaded inside them.
    chunk_size : int or None
        Networks per batch (default: from available memory and the number of workers).
    progress : bool or None
        tqdm bar on stderr; default: only when stderr is a terminal (shown after 2 s).

    Returns
    -------
    JacobianSamples
    """
    limits.check_sampling_memory(net, width, n_samples, threads)  # before anything is allocated
    if not isinstance(net, Network):
        raise TypeError(f"net must be a spectral.product.Network, got {type(net).__name__}")
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if not _is_int(n_samples) or n_samples < 1:
        raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}")
    if stable not in (None, True, False):
        raise ValueError(f"stable must be None (auto), True or False, got {stable!r}")
    _check_sampler_options(seed, threads, chunk_size, progress)
    if q0 is not None:
        import dataclasses

        net = dataclasses.replace(net, q0=q0)
    dims = _resolve_widths(net, width)
    specs = _layer_specs(net, dims)
    q_seq = tuple(s.q for s in specs)
    be = get_backend(backend)
    n = int(n_samples)
    seq = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    children = seq.spawn(n)
    streams = [SampleStream(be, child) for child in children]
    t0 = time.perf_counter()
    show = sys.stderr.isatty() if progress is None else bool(progress)

    lock = threading.Lock()
    bar = None
    if show:
        from tqdm.auto import tqdm

        bar = tqdm(total=n * len(specs), desc="sampling", unit="layer", delay=2.0, file=sys.stderr)

    def tick(k):
        if bar is not None:
            with lock:
                bar.update(k)

    results: dict[int, tuple] = {}
    why = "forced by stable=True" if stable else "forced by stable=False" if stable is False else ""
    with cpu_workers(be, threads) as workers:
        decided = stable
        if stable is None:  # pilot: network 0, direct, on a stream of its own child seed
            pilot = [SampleStream(be, children[0])]
            ls0, r0, qe0, d0 = _run_chunk(be, pilot, specs, mode, q_seq[0], False, tick)
            full, _ = _assemble(ls0, r0, dims[-1])
            fin = full[0][np.isfinite(full[0])]
            spread = float(fin[0] - fin[-1]) if fin.size else 0.0
            decided = spread > -math.log(DIRECT_SPREAD_LIMIT)
            why = (f"auto: first network's log-spread of nonzero singular values {spread:.1f} nats "
                   f"{'>' if decided else '<='} {-math.log(DIRECT_SPREAD_LIMIT):.1f}")
            if not decided:
                results[0] = (ls0, r0, qe0, d0)
        todo = [i for i in range(n) if i not in results]
        per = _bytes_per_network(specs, decided)
        cap = max(1, available_memory(be) // (per * max(1, workers)))
        if chunk_size is not None:
            if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
                raise ValueError(f"chunk_size must be a positive integer or None, got {chunk_size!r}")
            size = chunk_size
        else:
            size = min(cap, max(1, math.ceil(len(todo) / max(1, workers))))
        chunks = [todo[i:i + size] for i in range(0, len(todo), size)]

        def work(idx):
            return idx, _run_chunk(be, [streams[i] for i in idx], specs, mode, q_seq[0], decided, tick)

        if workers > 1 and len(chunks) > 1:
            with ThreadPoolExecutor(max_workers=min(workers, len(chunks))) as pool:
                outs = list(pool.map(work, chunks))
        else:
            outs = [work(c) for c in chunks]
    if bar is not None:
        bar.close()
    for idx, (ls, rk, qe, dg) in outs:
        for j, i in enumerate(idx):
            results[i] = (ls[j:j + 1], rk[j:j + 1], None if qe is None else qe[j:j + 1], dg)
    ls = np.concatenate([results[i][0] for i in range(n)], axis=0)
    rk = np.concatenate([results[i][1] for i in range(n)], axis=0)
    log_s, zeroed_max = _assemble(ls, rk, dims[-1])
    seconds = time.perf_counter() - t0

    diag: dict = {"threads": workers, "chunk_size": size, "chunks": len(chunks) + (1 if stable is None else 0),
                  "structural_zeros_max_log_rel": zeroed_max}
    if mode == "network":
        qe = np.concatenate([results[i][2] for i in range(n)], axis=0)
        diag["q_conditional"] = qe
        diag["q_empirical"] = qe.mean(axis=0)
    dgs = [results[i][3] for i in range(n)]
    if decided:
        diag["max_cluster_log_range"] = max(d.get("max_cluster_log_range", 0.0) for d in dgs)
        diag["sweeps"] = max(d.get("sweeps", 0) for d in dgs)
        diag["max_cluster_size"] = max(d.get("max_cluster_size", 1) for d in dgs)
        diag["longest_block_layers"] = max(d.get("longest_block_layers", 1) for d in dgs)
        diag["widest_block_log_range"] = max(d.get("widest_block_log_range", 0.0) for d in dgs)
    else:
        fin = np.where(np.isfinite(log_s), log_s, np.inf).min(axis=1)
        spread = float(np.max(log_s[:, 0] - fin)) if np.all(np.isfinite(fin)) else 0.0
        diag["direct_rel_error_bound"] = float(dims[-1] * _EPS * math.exp(min(spread, 700.0)))
    if decided is False and zeroed_max > math.log(1e-6):
        warnings.warn(f"direct SVD: a value set to zero as structural was {math.exp(zeroed_max):.2g} of the "
                      "largest singular value; the rank rule may not hold (use stable=True)", RuntimeWarning,
                      stacklevel=2)
    method = (StableProduct.method if decided else DirectProduct.method) + (f" [{why}]" if why else "")
    return JacobianSamples(network=net, widths=dims, mode=mode, backend=be.name,
                           seed=seed if isinstance(seed, int | None) else str(seed), stable=bool(decided),
                           method=method, q=q_seq, log_singular_values=log_s, rank=rk, seconds=seconds,
                           diagnostics=diag)
