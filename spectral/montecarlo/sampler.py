"""The sampler: networks in chunks over worker threads, the direct/stable choice, the structural zeros."""

from __future__ import annotations

import math
import sys
import threading
import time
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from .. import limits
from .._backend import (
    Backend,
    SampleStream,
    available_memory,
    cpu_workers,
    get_backend,
    to_numpy,
)
from ..product import Network
from ..stable_product import StableProduct
from .direct import DirectProduct
from .layers import _factor, _inputs, _layer_specs, _resolve_widths
from .log_range import AUTO_DIRECT_MARGIN, estimated_log_range
from .samples import JacobianSamples

MODES = ("network", "free")

#: A directly computed network whose smallest nonzero singular value is below this fraction of its largest
#: is recomputed by the stable product (``stable=None``): there the direct SVD's absolute error
#: :math:`\sim N\varepsilon s_{\max}` is a relative error :math:`\gtrsim 10^{-5}` on the smallest values.
DIRECT_SPREAD_LIMIT = 1e-8

#: ``stable=None`` takes the direct product when the a-priori estimate
#: (:func:`spectral.montecarlo.log_range.estimated_log_range`) is at most this many nats: the direct limit
#: :math:`-\log` :data:`DIRECT_SPREAD_LIMIT` less the margin for the worst network of a batch.
AUTO_DIRECT_LOG_RANGE = -math.log(DIRECT_SPREAD_LIMIT) - AUTO_DIRECT_MARGIN

#: Weight laws with :math:`W Q \overset{d}{=} W` for every orthogonal :math:`Q` (:math:`N_{l-1} \times N_{l-1}`)
#: independent of :math:`W`: iid Gaussian (any shape) and Haar partial isometries (bi-invariant on the Stiefel
#: manifold); the stable product may draw their layers rotated (:func:`sample_jacobians`, ``rotate_draws``).
ROTATION_INVARIANT_WEIGHTS = frozenset({"gaussian", "orthogonal"})

_EPS = float(np.finfo(np.float64).eps)


def _log_spread(row: np.ndarray) -> float:
    """Largest minus smallest finite entry of one network's log singular values (0 if none)."""
    fin = row[np.isfinite(row)]
    return float(fin.max() - fin.min()) if fin.size else 0.0


def _run_chunk(be: Backend, streams, specs, mode, q1, stable, progress, rotate=False):
    r"""All layers for one chunk of networks; returns numpy (log_s, rank, q_emp or None, diagnostics).

    ``rotate`` (stable product only): a layer right after a QR step with a square :math:`Q` draws
    :math:`W'` and stands for the weights :math:`W = W' Q^T` (:func:`sample_jacobians`), so the product
    takes :math:`A Q = D W'` as it is drawn and the forward pass uses :math:`W' (Q^T x)`."""
    xp = be.xp
    acc = StableProduct(xp) if stable else DirectProduct(xp)
    x = _inputs(xp, streams, specs[0], q1) if mode == "network" else None
    b = len(streams)
    rank = xp.full((b,), min(specs[0].n_in, min(s.n_out for s in specs)), dtype=xp.int64)
    q_emp = []
    for spec in specs:
        rot = None
        if rotate and stable and spec.weights in ROTATION_INVARIANT_WEIGHTS:
            rot = acc.rotatable()
            rot = rot if bool(xp.any(rot)) else None
        x_w = acc.rotate_input(x, rot) if (rot is not None and mode == "network") else None
        a, x, nnz, qe = _factor(xp, streams, spec, mode, x, x_w, implicit=not stable and acc.j is not None)
        rank = xp.minimum(rank, xp.astype(nnz, xp.int64))
        if qe is not None:
            q_emp.append(to_numpy(qe))
        if rot is None:
            acc.push(a)
        else:
            acc.push(a, rotated=rot)
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
                     progress: bool | None = None, rotate_draws: bool = True) -> JacobianSamples:
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
        thread count on a given backend.  The same networks for ``stable`` None, True or False when
        ``rotate_draws=False``; with rotated draws (the default) a stable run samples equally distributed
        but different networks than a direct run of the same seed.
    stable : bool or None
        Force the stable product (True), the direct SVD (False), or decide before drawing (None): the
        direct product when the a-priori log-range estimate is at most :data:`AUTO_DIRECT_LOG_RANGE`; every
        network it computes whose realised log-range exceeds :math:`-\log` :data:`DIRECT_SPREAD_LIMIT` is
        then recomputed by the stable product from the same draws.
    q0 : float or None
        First-layer pre-activation variance (default ``net.q0`` or the fixed point q*).
    threads : int or None
        CPU worker threads (default: usable cores); BLAS runs single-threaded inside them.
    chunk_size : int or None
        Networks per batch (default: from available memory and the number of workers).
    progress : bool or None
        tqdm bar on stderr; default: only when stderr is a terminal (shown after 2 s).
    rotate_draws : bool
        Stable product only (a run that resolves to the stable product from the start): each layer right
        after a QR step :math:`A_{l-1} \cdots A_1 = Q\,\operatorname{diag}(e^{\ell})\,T` (square
        :math:`Q`) draws :math:`W'` from the weight law and its weights are :math:`W = W' Q^T`.  :math:`Q`
        is a function of the earlier layers, :math:`W` is independent of them and its law is invariant
        under :math:`W \mapsto W Q` (:data:`ROTATION_INVARIANT_WEIGHTS`), so :math:`W'` has the law of
        :math:`W` given the past and the networks have exactly the law of plain draws; the product then
        takes :math:`D W' = D W Q` as drawn (no :math:`A Q` product: about 1.5 matrix products less per
        QR step) and the forward pass uses :math:`W (x) = W' (Q^T x)` (:math:`O(N^2)`).  ``False`` draws
        :math:`W` itself: bit for bit the networks of ``stable=False`` with the same seed.  Networks that
        a direct run recomputes (``stable=None``) always use plain draws (the same networks, not a
        redraw of the lost ones, which would bias the sample).

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
    if not isinstance(rotate_draws, bool | np.bool_):
        raise TypeError(f"rotate_draws must be True or False, got {rotate_draws!r}")
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
        if stable is None:  # a-priori: the theory's log-range against what the direct product holds
            est = estimated_log_range(specs)
            decided = est > AUTO_DIRECT_LOG_RANGE
            why = (f"auto: estimated log-range of the nonzero singular values {est:.1f} nats "
                   f"{'>' if decided else '<='} {AUTO_DIRECT_LOG_RANGE:.1f}")
        todo = list(range(n))
        per = _bytes_per_network(specs, decided)
        cap = max(1, available_memory(be) // (per * max(1, workers)))
        if chunk_size is not None:
            size = chunk_size
        else:
            size = min(cap, max(1, math.ceil(len(todo) / max(1, workers))))
        chunks = [todo[i:i + size] for i in range(0, len(todo), size)]

        def work(idx, use_stable=decided, rotate=bool(rotate_draws)):
            return idx, _run_chunk(be, [SampleStream(be, children[i]) for i in idx], specs, mode, q_seq[0],
                                   use_stable, tick, rotate)

        def run_all(chunk_list, use_stable, rotate=bool(rotate_draws)):
            if workers > 1 and len(chunk_list) > 1:
                # this thread is one of the workers: one thread fewer to start and wait for (under load,
                # starting and scheduling them cost 15-45 ms a call, a quarter of a small run)
                with ThreadPoolExecutor(max_workers=min(workers, len(chunk_list)) - 1) as pool:
                    rest = list(chunk_list[1:])
                    pending = pool.map(lambda c: work(c, use_stable, rotate), rest)
                    first = [] if not chunk_list else [work(chunk_list[0], use_stable, rotate)]
                    return first + list(pending)
            return [work(c, use_stable, rotate) for c in chunk_list]

        outs = run_all(chunks, decided)
        rotated = bool(decided and rotate_draws)
        if rotated:
            why += "; layers after a QR step drawn rotated, W = W' Q^T (the same law, not the direct run's draws)"
        redone = []
        if stable is None and not decided:  # the estimate chose direct: check every network, redo the lost ones
            for idx, (ls, rk, _qe, _dg) in outs:
                full, _ = _assemble(ls, rk, dims[-1])
                redone += [i for j, i in enumerate(idx) if _log_spread(full[j]) > -math.log(DIRECT_SPREAD_LIMIT)]
            if redone:
                cap_stable = max(1, available_memory(be) // (_bytes_per_network(specs, True) * max(1, workers)))
                step = min(size, cap_stable, max(1, math.ceil(len(redone) / max(1, workers))))
                outs += run_all([redone[i:i + step] for i in range(0, len(redone), step)], True, False)
                why += (f"; {len(redone)} of {n} networks exceeded {-math.log(DIRECT_SPREAD_LIMIT):.1f} nats "
                        "and were recomputed by the stable product from the same draws")
    if bar is not None:
        bar.close()
    for idx, (ls, rk, qe, dg) in outs:  # recomputed networks come later and replace their direct results
        for j, i in enumerate(idx):
            results[i] = (ls[j:j + 1], rk[j:j + 1], None if qe is None else qe[j:j + 1], dg)
    decided = bool(decided or redone)
    ls = np.concatenate([results[i][0] for i in range(n)], axis=0)
    rk = np.concatenate([results[i][1] for i in range(n)], axis=0)
    log_s, zeroed_max = _assemble(ls, rk, dims[-1])
    seconds = time.perf_counter() - t0

    diag: dict = {"threads": workers, "chunk_size": size, "chunks": len(chunks),
                  "structural_zeros_max_log_rel": zeroed_max, "rotated_draws": rotated}
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
