r"""Measuring the Jacobian spectrum of a PyTorch model at random inputs, densely or matrix-free.

Inputs :math:`x \sim N(0, q_{in} I)` (``input_q`` = :math:`q_{in}`, the spec's per-coordinate mean square),
drawn from ``seed`` on the CPU and moved to the model's device; the model runs in its own dtype and device.

*Dense* (:data:`DENSE_MAX_ENTRIES`): :math:`J = \partial f/\partial x` by ``torch.func.jacrev`` (or
vectorised ``jvp`` when :math:`N_{in} < N_{out}`), in chunks of :data:`JAC_CHUNK` rows (columns), and the
singular values in
float64: every eigenvalue of :math:`J J^T` at every input (singular values below
:math:`s_{\max} \max(N_{in}, N_{out})\,\varepsilon` of the model's dtype are zeros, the rank rule of
``numpy.linalg.matrix_rank``).

*Matrix-free* (beyond): :math:`A = J J^T` is applied as :math:`v \mapsto J (J^T v)`, one ``vjp`` (its forward pass
kept for the input) and one Jacobian-vector product, computed as the vjp of the linear map :math:`v \mapsto J^T v`
(backward kernels only, which torch runs several times faster than its forward mode through ``Linear``; ``jvp``
for a model with an op that has no double backward); memory is the model, one forward pass of activations and the
Lanczos basis (:data:`LANCZOS_STEPS` vectors of length :math:`N_{out}`), never a Jacobian.  Each input gets
``probes`` Rademacher vectors :math:`z`; Lanczos with full reorthogonalisation from :math:`q = z/\sqrt N` gives
:math:`k` Ritz values :math:`\theta_j` with weights :math:`\tau_j^2` (first components of the eigenvectors of the
tridiagonal matrix), the Gauss quadrature of the spectral measure along :math:`q` (stochastic Lanczos quadrature):
:math:`\sum_j \tau_j^2 \theta_j^m = q^T A^m q` exactly for :math:`m \le 2k - 1`, whose mean over Rademacher
:math:`z` is :math:`N^{-1}\operatorname{tr} A^m` (Hutchinson), so the moments come from the same run.  The
quadrature's CDF is a step function; by the Chebyshev--Markov--Stieltjes inequality the probe's CDF at a Ritz
value lies within that node's weight of it.  The largest Ritz value converges to :math:`\lambda_{\max}` from below
within a few dozen steps.

Each matrix-vector product is normalised before and after the ``vjp`` (the scale kept in float64), so
Jacobians far below the float32 range (:math:`m_1 = 6^{-64}` for a depth-64 default-init ReLU network)
are measured without underflow.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field

import numpy as np
import torch

__all__ = ["Measurement", "measure", "DENSE_MAX_ENTRIES", "JAC_CHUNK", "LANCZOS_STEPS", "PROBES", "METHODS"]

#: Largest Jacobian (N_out * N_in entries) measured densely: 2^20 entries (1024 x 1024) is 8 MB in float64,
#: its SVD takes well under a second, and the chunked jacrev holds only JAC_CHUNK copies of the activations;
#: the matrix-free path takes over beyond (a 4096-wide, 64-deep jacrev would hold 4096 copies: ~4 GB).
DENSE_MAX_ENTRIES = 2 ** 20
#: Rows (or columns) of the Jacobian computed per vectorised backward (forward) pass.
JAC_CHUNK = 64
#: Lanczos steps per probe: the top Ritz value converges within a few dozen steps, and 80 quadrature nodes
#: (exact moments up to degree 159) confine the probe's CDF to a band of about 1/40 between nodes.
LANCZOS_STEPS = 80
#: Rademacher probes per input in the matrix-free path.
PROBES = 2
#: A Lanczos coefficient beta_j below this fraction of the largest Ritz value so far ends the run: the Krylov
#: space is invariant (all the spectrum the probe sees is found), further steps would only add rounding.
_BREAKDOWN = 1e-12
METHODS = ("auto", "dense", "matrix-free")


@dataclass
class Measurement:
    r"""The measured spectrum.  ``eigenvalues``: (n_inputs, N_out) descending (dense) or None; ``nodes`` and
    ``weights``: concatenated Ritz values and weights/(number of runs) of all Lanczos runs (a discrete
    probability measure; matrix-free) or None; ``runs``: per-run (nodes, weights); ``moments``, ``moments_se``:
    :math:`m_1..m_4` (mean over inputs, or over input x probe runs, and its standard error); ``lambda_max``:
    mean over inputs of the largest eigenvalue; ``smallest_singular``: per input (dense); ``resolution``: per
    input, the singular value below which the dtype cannot resolve J (those are stored as zeros; dense);
    ``widths``: (N_in, N_out)."""

    method: str
    widths: tuple
    n_inputs: int
    moments: np.ndarray
    moments_se: np.ndarray
    lambda_max: float
    eigenvalues: np.ndarray | None = None
    log_singular_values: np.ndarray | None = None
    rank: np.ndarray | None = None
    resolution: np.ndarray | None = None
    nodes: np.ndarray | None = None
    weights: np.ndarray | None = None
    runs: list = field(default_factory=list)
    device: str = "cpu"
    seconds: float = 0.0
    notes: list = field(default_factory=list)

    @property
    def smallest_singular(self) -> np.ndarray | None:
        """Smallest nonzero singular value per input (dense), else None."""
        if self.log_singular_values is None:
            return None
        return np.array([math.exp(row[int(r) - 1]) if r > 0 else 0.0
                         for row, r in zip(self.log_singular_values, self.rank, strict=True)])


def _model_place(model):
    p = next(iter(model.parameters()), None)
    if p is None:
        return torch.device("cpu"), torch.get_default_dtype()
    return p.device, p.dtype


def draw_inputs(n: int, width: int, input_q: float, seed: int, device, dtype) -> torch.Tensor:
    """``n`` inputs :math:`N(0, q_{in} I_{width})` from ``seed`` (CPU generator, then the model's device)."""
    gen = torch.Generator().manual_seed(int(seed))
    x = torch.randn((n, width), generator=gen, dtype=torch.float64) * math.sqrt(input_q)
    return x.to(device=device, dtype=dtype)


def _output_width(model, x) -> int:
    with torch.no_grad():
        out = model(x)
    if out.ndim != 1:
        raise ValueError(f"the model must map one flat input of shape ({x.shape[0]},) to one flat output vector; "
                         f"it returned shape {tuple(out.shape)}")
    return int(out.shape[0])


def _jacobian_forward(model, x):
    """J by forward mode, JAC_CHUNK input directions per vectorised jvp (``jacfwd`` has no chunking)."""
    eye = torch.eye(x.shape[0], dtype=x.dtype, device=x.device)

    def column(u):
        return torch.func.jvp(model, (x,), (u,))[1]

    cols = [torch.func.vmap(column)(eye[i:i + JAC_CHUNK]) for i in range(0, x.shape[0], JAC_CHUNK)]
    return torch.cat(cols).T


def _dense_one(model, x, n_out):
    with torch.no_grad():
        if x.shape[0] < n_out:
            j = _jacobian_forward(model, x)
        else:
            j = torch.func.jacrev(model, chunk_size=JAC_CHUNK)(x)
    s = torch.linalg.svdvals(j.detach().to(torch.float64)).cpu().numpy()
    # numerical rank as numpy.linalg.matrix_rank, at the precision J was computed in
    tol = float(s.max(initial=0.0)) * max(j.shape) * torch.finfo(x.dtype).eps
    row = np.full(n_out, -np.inf)
    nz = s[s > tol]
    row[:nz.size] = np.log(nz)
    return row, nz.size, tol


class _Operator:
    r""":math:`v \mapsto J J^T v` at one input (float64 in and out, the model's dtype inside)."""

    def __init__(self, model, x):
        self.model, self.x = model, x
        with torch.no_grad():  # the parameters' own gradients are not needed, only the input's
            out, self.vjp_fn = torch.func.vjp(model, x)
            # J u as the vjp of the linear map v -> J^T v (the "double-vjp" trick): backward kernels only,
            # several times faster than torch's forward mode through Linear; exact, as the map is linear
            _, self.jvp_fn = torch.func.vjp(lambda v: self.vjp_fn(v)[0], torch.zeros_like(out))
        self.double_vjp = True

    def _forward(self, u: torch.Tensor) -> torch.Tensor:
        """J u: by the double vjp, or by ``jvp`` for a model with an op that has no double backward."""
        if self.double_vjp:
            try:
                return self.jvp_fn(u)[0]
            except (RuntimeError, NotImplementedError):
                self.double_vjp = False
        return torch.func.jvp(self.model, (self.x,), (u,))[1]

    @torch.no_grad()
    def __call__(self, v: torch.Tensor) -> torch.Tensor:
        nv = torch.linalg.vector_norm(v)
        if nv == 0:
            return torch.zeros_like(v)
        (u,) = self.vjp_fn((v / nv).to(self.x.dtype))
        u = u.to(torch.float64)
        nu = torch.linalg.vector_norm(u)
        if nu == 0:
            return torch.zeros_like(v)
        w = self._forward((u / nu).to(self.x.dtype))
        return w.to(torch.float64) * (nu * nv)


def lanczos(op, q0: torch.Tensor, steps: int, tick=None):
    """Ritz values and Gauss weights of ``op`` along the unit vector ``q0`` (full reorthogonalisation)."""
    basis = [q0]
    alphas, betas = [], []
    q, q_prev, beta = q0, None, 0.0
    for _ in range(steps):
        w = op(q)
        alpha = float(torch.dot(w, q))
        w = w - alpha * q - (beta * q_prev if q_prev is not None else 0.0)
        stack = torch.stack(basis)
        for _ in range(2):  # twice is enough (Kahan: "twice is enough" for Gram-Schmidt)
            w = w - stack.T @ (stack @ w)
        alphas.append(alpha)
        if tick is not None:
            tick()
        beta = float(torch.linalg.vector_norm(w))
        scale = max(abs(a) for a in alphas)
        if len(alphas) == steps or beta <= _BREAKDOWN * max(scale, np.finfo(float).tiny):
            break
        betas.append(beta)
        q_prev, q = q, w / beta
        basis.append(q)
    t = np.diag(alphas) + np.diag(betas, 1) + np.diag(betas, -1)
    theta, vecs = np.linalg.eigh(t)
    return np.clip(theta, 0.0, None), vecs[0] ** 2


def _check(n_inputs, seed, input_q, method, probes, steps):
    for name, v in (("n_inputs", n_inputs), ("probes", probes), ("steps", steps)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {v!r}")
    if n_inputs < 2:
        raise ValueError(f"n_inputs must be >= 2 for a standard error across inputs (try 8), got {n_inputs}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    if isinstance(input_q, bool) or not isinstance(input_q, int | float) or not (math.isfinite(input_q)
                                                                                  and input_q > 0):
        raise ValueError(f"input_q must be a finite number > 0 (per-coordinate mean square; try 1), got {input_q!r}")
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")


def _moments_from(values: np.ndarray):
    """Mean and standard error over rows of an (n, 4) array of per-run moments."""
    n = values.shape[0]
    return values.mean(axis=0), values.std(axis=0, ddof=1) / math.sqrt(n)


def measure(model, input_width: int, *, n_inputs: int = 8, input_q: float = 1.0, seed: int = 0,
            method: str = "auto", probes: int = PROBES, steps: int = LANCZOS_STEPS,
            progress: bool | None = None) -> Measurement:
    """Measure the spectrum of :math:`J J^T` of ``model`` (see the module docstring).

    ``method``: "auto" (dense up to :data:`DENSE_MAX_ENTRIES` Jacobian entries), "dense" or "matrix-free";
    ``progress``: a tqdm bar on stderr (None: when stderr is a terminal).
    """
    import time

    from tqdm import tqdm

    _check(n_inputs, seed, input_q, method, probes, steps)
    t0 = time.perf_counter()
    device, dtype = _model_place(model)
    xs = draw_inputs(n_inputs, input_width, input_q, seed, device, dtype)
    n_out = _output_width(model, xs[0])
    if method == "auto":
        method = "dense" if n_out * input_width <= DENSE_MAX_ENTRIES else "matrix-free"
    show = sys.stderr.isatty() if progress is None else bool(progress)
    if method == "dense":
        rows, ranks, floors = [], [], []
        for x in tqdm(xs, desc="spectral inspect: dense Jacobians", disable=not show, file=sys.stderr):
            row, r, tol = _dense_one(model, x, n_out)
            rows.append(row)
            ranks.append(r)
            floors.append(tol)
        log_s = np.array(rows)
        with np.errstate(over="ignore"):
            lam = np.exp(2.0 * log_s)
        per = np.stack([np.mean(lam ** j, axis=1) for j in range(1, 5)], axis=1)
        mean, se = _moments_from(per)
        return Measurement(method="dense", widths=(input_width, n_out), n_inputs=n_inputs, moments=mean,
                           moments_se=se, lambda_max=float(np.mean(lam[:, 0])), eigenvalues=lam,
                           log_singular_values=log_s, rank=np.array(ranks), resolution=np.array(floors),
                           device=str(device),
                           seconds=time.perf_counter() - t0)
    gen = torch.Generator().manual_seed(int(seed) + 1)
    steps = min(steps, n_out)
    runs, per = [], []
    bar = tqdm(total=n_inputs * probes * steps, desc="spectral inspect: Lanczos steps", disable=not show,
               file=sys.stderr)
    with bar:
        for x in xs:
            op = _Operator(model, x)
            for _ in range(probes):
                z = torch.randint(0, 2, (n_out,), generator=gen, dtype=torch.float64) * 2 - 1
                theta, w = lanczos(op, (z / math.sqrt(n_out)).to(device), steps, tick=bar.update)
                runs.append((theta, w))
                per.append([float(np.sum(w * theta ** j)) for j in range(1, 5)])
            del op
    mean, se = _moments_from(np.array(per))
    nodes = np.concatenate([t for t, _ in runs])
    weights = np.concatenate([w for _, w in runs]) / len(runs)
    return Measurement(method="matrix-free", widths=(input_width, n_out), n_inputs=n_inputs, moments=mean,
                       moments_se=se, lambda_max=float(np.mean([t.max() for t, _ in runs])), nodes=nodes,
                       weights=weights, runs=runs, device=str(device), seconds=time.perf_counter() - t0)
