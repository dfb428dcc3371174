"""The sampler's result: eigenvalues of J J^T per network, their moments and standard errors, metadata and I/O."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..jsonout import jsonable
from ..product import Network


class SampledSpectrum:
    r"""Moments of sampled spectra of :math:`J J^T`, shared by :class:`JacobianSamples` and
    :class:`spectral.SpecSamples`.

    The class using it holds ``log_singular_values`` (shape (n_samples, n): :math:`\log s_i` of each network's
    :math:`J`, descending, ``-inf`` for structural zeros) and ``widths`` (the last is the output width).
    Network :math:`i` has the moments :math:`m_j^{(i)} = n^{-1}\sum_a \lambda_a^j`; the networks are independent,
    so the standard error of their mean is the sd over networks :math:`/\sqrt{n_{samples}}`.
    """

    log_singular_values: np.ndarray
    widths: tuple

    @property
    def n_samples(self) -> int:
        return int(self.log_singular_values.shape[0])

    @property
    def width(self) -> int:
        """Output width :math:`N_L` (the size of :math:`J J^T`)."""
        return int(self.widths[-1])

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


@dataclass(frozen=True, eq=False)
class JacobianSamples(SampledSpectrum):
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
    def depth(self) -> int:
        return len(self.widths) - 1

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
