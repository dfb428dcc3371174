r"""Spectral statistics of :math:`JJ^T` against depth, computed from the laws (no drawing).

* :func:`depth_scaling`: variance :math:`m_2 - m_1^2` (from ``log_moments``), :math:`\lambda_{\max}` (edges) and a
  condition measure (quantiles of the nonzero singular values, from the density) at several depths;
* :func:`variance_grid`: :math:`m_2 - m_1^2` at one depth over a phase-diagram grid (vectorized).

The figures (:mod:`spectral.plotting`) draw these records.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from dataclasses import dataclass

import numpy as np

from .density import UncertifiedDensityWarning

__all__ = ["DensityFailedWarning", "DepthScaling", "depth_scaling", "variance_grid"]


class DensityFailedWarning(UncertifiedDensityWarning):
    """A density could not be computed at all (the solver raised): left out of a figure, NaN in a depth scaling."""


@dataclass(frozen=True)
class DepthScaling:
    r"""Spectral statistics of :math:`JJ^T` against depth for one network family (see :func:`depth_scaling`).

    Attributes
    ----------
    label : str
    depths : ndarray of int
    variance : ndarray
        :math:`m_2 - m_1^2` of :math:`JJ^T`.
    lambda_max : ndarray
        Top of the spectrum of :math:`JJ^T`.
    condition : ndarray
        :math:`s_{q_{hi}} / s_{q_{lo}}`, ratio of quantiles of the *nonzero* singular values of :math:`J`
        (quantiles of the law conditioned on :math:`s > 0`, so relu's atom at 0 does not make it infinite).
    quantiles : (float, float)
        :math:`(q_{lo}, q_{hi})`, default (0.01, 0.99).
    weights : str
        "gaussian" or "orthogonal" (sets the line style).
    mean : ndarray
        :math:`m_1` (1 on the critical line).
    notes : tuple of str
        Depths at which a quantity could not be computed, and why.
    """

    label: str
    depths: np.ndarray
    variance: np.ndarray
    lambda_max: np.ndarray
    condition: np.ndarray
    quantiles: tuple = (0.01, 0.99)
    weights: str = ""
    mean: np.ndarray | None = None
    notes: tuple = ()


def variance_grid(act, diagram, depth: int, weights: str) -> np.ndarray:
    r""":math:`m_2 - m_1^2` of :math:`JJ^T` for uniform networks on the phase-diagram grid.

    Normalised variances add under free multiplication (:math:`\varphi(abab) = \varphi(a^2)\varphi(b)^2 +
    \varphi(a)^2\varphi(b^2) - \varphi(a)^2\varphi(b)^2` for free a, b), so with :math:`m_1 = \chi_1^L`,
    :math:`\mu_k = E[\phi'(\sqrt{q^*}z)^{2k}]` and :math:`v_W = 1` (Gaussian) or 0 (orthogonal):
    :math:`m_2 - m_1^2 = \chi_1^{2L}\, L\, (\mu_2/\mu_1^2 - 1 + v_W)`.  Vectorized over the grid (the
    per-point laws give the same numbers; tests check it against :meth:`JacobianLaw.moments`).
    """
    from .gaussian import gaussian_expectation

    chi = np.asarray(diagram.chi1, dtype=float)
    q = np.asarray(diagram.q_star, dtype=float)
    ok = np.isfinite(chi) & np.isfinite(q) & (q > 0)
    out = np.full(chi.shape, np.nan)
    if not np.any(ok):
        return out
    kinks = tuple(getattr(act, "kinks", ()) or ())
    mu1 = gaussian_expectation(lambda x: act.dphi(x) ** 2, q[ok], kinks=kinks)
    mu2 = gaussian_expectation(lambda x: act.dphi(x) ** 4, q[ok], kinks=kinks)
    v = mu2 / mu1**2 - 1.0 + (1.0 if weights == "gaussian" else 0.0)
    with np.errstate(over="ignore"):
        out[ok] = chi[ok] ** (2 * depth) * depth * v
    return out


def depth_scaling(network, depths, *, quantiles=(0.01, 0.99), points: int = 400, label: str | None = None
                  ) -> DepthScaling:
    r"""Compute :class:`DepthScaling` for a uniform network at several depths (calls the library).

    Parameters
    ----------
    network : spectral.product.Network
        Uniform network; its depth is replaced by each of ``depths``.
    depths : sequence of int
    quantiles : (float, float)
        Quantiles of the nonzero singular values for the condition measure.
    points : int
        Density grid used by the quantiles.
    label : str, optional
        Default: "activation, weights".

    Returns
    -------
    DepthScaling
        Variance from the series (``log_moments``), :math:`\lambda_{\max}` from the edges, quantiles from the
        density; a quantity that fails at some depth is NaN there, with a note and a :class:`RuntimeWarning`.
    """
    from .density import ppf
    from .product import jacobian_law

    qlo, qhi = (float(v) for v in quantiles)
    if not (0 < qlo < qhi < 1):
        raise ValueError(f"quantiles must be (lo, hi) with 0 < lo < hi < 1, got {quantiles!r}")
    depths = np.array([int(d) for d in np.atleast_1d(depths)])
    var, top, cond, mean, notes = [], [], [], [], []
    uncertified, failed = [], []
    for d in depths:
        net = dataclasses.replace(network, depth=int(d), layers=None)
        law = jacobian_law(net)
        lm = np.asarray(law.log_moments(2), dtype=float)
        mean.append(math.exp(lm[0]))
        var.append(math.exp(lm[1]) * -math.expm1(min(2 * lm[0] - lm[1], 0.0)))
        try:
            top.append(float(law.lambda_max))
        except (RuntimeError, ValueError, ArithmeticError) as exc:
            top.append(math.nan)
            notes.append(f"L={d}: lambda_max failed ({exc})")
        try:
            with warnings.catch_warnings():  # reported once below, with the depth
                warnings.simplefilter("ignore", UncertifiedDensityWarning)
                res = law.density(points)  # the grid ppf reads (cached): its certificate covers the quantiles
                a0 = sum(float(p) for a, p in law.atoms if float(a) == 0.0)
                lam = np.asarray(ppf(law, [a0 + qlo * (1 - a0), a0 + qhi * (1 - a0)], points), dtype=float)
            if not res.certified:
                uncertified.append(f"L={d}: quantiles from a density that is not certified ({res.reason})")
            cond.append(math.sqrt(lam[1] / lam[0]) if lam[0] > 0 else math.inf)
        except (RuntimeError, ValueError, ArithmeticError) as exc:
            cond.append(math.nan)
            failed.append(f"L={d}: quantiles failed ({exc})")
    act_name = getattr(network.activation, "name", str(network.activation))
    name = label or act_name
    for note in notes:
        warnings.warn(f"depth_scaling {name}: {note}", RuntimeWarning, stacklevel=2)
    for note in uncertified:
        warnings.warn(f"depth_scaling {name}: {note}", UncertifiedDensityWarning, stacklevel=2)
    for note in failed:
        warnings.warn(f"depth_scaling {name}: {note}", DensityFailedWarning, stacklevel=2)
    notes += uncertified + failed
    if label is None:
        label = f"{act_name}, {network.weights}"
    return DepthScaling(label, depths, np.array(var), np.array(top), np.array(cond), (qlo, qhi), network.weights,
                        np.array(mean), tuple(notes))
