"""Stage "certificate": mass and moments of the density against the law's own series, and the
:class:`DensityResult` with its diagnostics (docs/design.md §5.8, §7)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .factors import _record
from .result import DensityResult
from .tail import _Tail
from .tolerances import _LIST_MIN_X, _NEGATIVE_FLOOR, _NEGATIVE_NOISE_CAP, _NOISE_MULTIPLE


@dataclass(frozen=True)
class _Series:
    """The law's series moments m_1, m_2 (the certificate's reference), or NaN with the ``error`` that kept
    them from being had (the moment check then fails, naming it); ``log_m1``, ``log_m2`` their logarithms, finite
    also where m_k is below the float range (m_2 of sigmoid off the critical line at depth 256 is
    :math:`e^{-1309}`: the check compares in log form, §5.8)."""

    m1: float
    m2: float
    error: str = ""
    log_m1: float = math.nan
    log_m2: float = math.nan

    @classmethod
    def of(cls, m1: float, m2: float) -> _Series:
        """The record of float moments (their logarithms NaN where a moment is not positive)."""
        return cls(m1, m2, "", *(math.log(v) if v > 0 else math.nan for v in (m1, m2)))


def _series_m12(law) -> _Series:
    """m_1, m_2 from the law's record (``moments12``), else its ``log_moments`` (finite at any depth) or
    ``moments``; NaN with the reason where they cannot be had."""
    rec = _record(law)
    try:
        if rec.moments12 is not None:
            m = np.asarray(rec.moments12[:2], float)
            return _Series.of(float(m[0]), float(m[1]))
        lm = getattr(law, "log_moments", None)
        if lm is not None and law is not rec:
            v = np.asarray(lm(2), float)
            with np.errstate(under="ignore"):
                return _Series(float(np.exp(v[0])), float(np.exp(v[1])), "", float(v[0]), float(v[1]))
        m = np.asarray(law.moments(2), float)
        return _Series.of(float(m[0]), float(m[1]))
    except (NotImplementedError, AttributeError, ValueError, ArithmeticError) as exc:
        return _Series(math.nan, math.nan, f"{type(exc).__name__}: {exc}")


def _rel(v, ref):
    """|v / ref - 1|, NaN when the reference is NaN or 0 (the check cannot be made)."""
    return abs(v / ref - 1.0) if ref == ref and ref != 0 else math.nan


def _rel_log(v_scaled, log_scale, log_ref, v, ref):
    r""":math:`|v/\text{ref} - 1|` for :math:`v = ` ``v_scaled`` :math:`\cdot e^{\text{log_scale}}` against
    :math:`\text{ref} = e^{\text{log_ref}}`, formed as ``v_scaled`` :math:`\cdot e^{\text{log_scale} -
    \text{log_ref}}` so that neither side leaves the float range; :func:`_rel` of ``v``, ``ref`` where the
    logarithm of the reference is not known."""
    if not math.isfinite(log_ref):
        return _rel(v, ref)
    return abs(v_scaled * math.exp(log_scale - log_ref) - 1.0)


def _atoms_only(name, atoms, series: _Series, points) -> DensityResult:
    """The result of a purely atomic law (no continuous part): checked against the series like any other."""
    atom_mass = sum(p for _, p in atoms)
    a1 = sum(a * p for a, p in atoms)
    a2 = sum(a * a * p for a, p in atoms)
    lam = max(a for a, _ in atoms)
    diag = dict(continuous_mass=0.0, continuous_mass_exact=0.0, atom_mass=atom_mass, tail_mass=0.0,
                mass_error=abs(atom_mass - 1.0), m1=a1, m2=a2, m1_series=series.m1, m2_series=series.m2,
                moment_check_error=series.error, m1_rel_err=_rel(a1, series.m1), m2_rel_err=_rel(a2, series.m2),
                worst_residual=0.0, uncertified=np.array([], int), fallback=np.array([], int),
                n_uncertified_total=0, bands=[], gap=False, top_atom=True, method="atoms only", nodes=0)
    return DensityResult(np.array([]), np.array([]), atoms, None, lam, atom_mass, diag, name, points,
                         np.array([]))


def _certificate(name, e, atoms, cmass_exact, series: _Series, tail: _Tail, soft_edges, points,
                 spike_mass=()) -> DensityResult:
    """Mass bookkeeping on the solved nodes (tail included), the listed grid, and the certificate diagnostics;
    ``spike_mass`` (u, mass): continuous mass at x = e^u (relative to lambda_max) that no node carries (next to
    the spike of a one-factor law, docs/design.md §5.4), counted in the mass and moments and in the
    cumulative above it."""
    atom_mass = sum(p for _, p in atoms)
    a1 = sum(a * p for a, p in atoms)
    a2 = sum(a * a * p for a, p in atoms)
    nd, remainder, log_c = tail.nodes, tail.remainder, e.log_lambda_max
    u, wv, xrho, ok, res, fb, acc = nd.u, nd.w, nd.xrho, nd.ok, nd.res, nd.fb, nd.acc
    # -Im m / pi at rounding level below 0 (where the density is ~0) is 0; anything larger is an error
    top_xr = float(np.max(np.where(ok & np.isfinite(xrho), np.abs(xrho), 0.0), initial=0.0))
    # (or at the rounding level of m itself, 4 x its attainable accuracy, capped at 1e-4 of the maximum:
    # within 1e-9 of a square-root edge d log z / dm -> 0 and m is known to ~1e-8 only, while x rho ~ 1e-9)
    noise = np.minimum(_NOISE_MULTIPLE * acc / math.pi, _NEGATIVE_NOISE_CAP * top_xr)
    floor = np.maximum(_NEGATIVE_FLOOR * top_xr, noise)
    tiny_neg = ok & (xrho < 0) & (xrho >= -floor)
    xrho = np.where(tiny_neg, 0.0, xrho)
    ok = ok & ~(xrho < 0)
    order = np.argsort(u, kind="stable")
    u, wv, xrho, ok, res, fb = u[order], wv[order], xrho[order], ok[order], res[order], fb[order]
    contrib = np.where(ok, wv * xrho, 0.0)
    cum = remainder + np.cumsum(contrib) - 0.5 * contrib
    cmass = remainder + float(np.sum(contrib))
    with np.errstate(under="ignore", over="ignore"):
        xs = np.exp(u)
    scale = math.exp(min(log_c, 709.0))
    cm1 = float(np.sum(contrib * xs)) * scale
    cm2 = float(np.sum(contrib * xs * xs)) * scale**2
    for us, ms in spike_mass:
        cum = cum + np.where(u > us, ms, 0.0)
        cmass += ms
        cm1 += ms * math.exp(us) * scale
        cm2 += ms * math.exp(2 * us) * scale**2
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        r_all = xrho / xs / scale
    # normal floats only, and rho itself in range (rho ~ x^(beta - 1) overflows near x = 1e-264 at depth 256):
    # such nodes count in the mass bookkeeping like those below the float range, but are not listed
    listed = (xs * scale >= _LIST_MIN_X) & (np.isfinite(r_all) | ~ok)
    x_out = xs[listed] * scale
    r_out = np.where(ok[listed], r_all[listed], np.nan)
    tail_mass = float(cum[listed][0] - 0.5 * contrib[listed][0]) if np.any(listed) else cmass
    xabs = xs * scale
    band_mass = [float(np.sum(contrib[(xabs >= lo) & (xabs <= hi)])) + (remainder if lo == 0 else 0.0)
                 + sum(ms for us, ms in spike_mass if lo <= math.exp(us) * scale <= hi)
                 for lo, hi in e.bands]
    total = cmass + atom_mass
    m1d, m2d = cm1 + a1, cm2 + a2
    # the moments relative to the top of the spectrum, compared with the series in log form (m_2 ~ e^-1309 of
    # sigmoid off the critical line at depth 256 underflows: the check could not be made)
    with np.errstate(under="ignore", over="ignore"):
        a1n = sum(math.exp(math.log(a) - log_c) * p for a, p in atoms if a > 0)
        a2n = sum(math.exp(2 * (math.log(a) - log_c)) * p for a, p in atoms if a > 0)
        m1n = float(np.sum(contrib * xs)) + a1n
        m2n = float(np.sum(contrib * xs * xs)) + a2n
        m1n += sum(ms * math.exp(us) for us, ms in spike_mass)
        m2n += sum(ms * math.exp(2 * us) for us, ms in spike_mass)
    res_ok = res[ok & np.isfinite(res)]
    n_unc = int(np.sum(~ok))
    # where the uncertified nodes lie (log x: a tail's are often below the float range), for the reason
    unc_log_x = [float(np.min(u[~ok]) + log_c), float(np.max(u[~ok]) + log_c)] if n_unc else []
    diag = dict(
        continuous_mass=cmass, continuous_mass_exact=cmass_exact, atom_mass=atom_mass, tail_mass=tail_mass,
        mass_error=abs(total - 1.0), m1=m1d, m2=m2d, m1_series=series.m1, m2_series=series.m2,
        moment_check_error=series.error, m1_rel_err=_rel_log(m1n, log_c, series.log_m1, m1d, series.m1),
        m2_rel_err=_rel_log(m2n, 2 * log_c, series.log_m2, m2d, series.m2),
        worst_residual=float(np.max(res_ok)) if res_ok.size else math.nan,
        uncertified=np.flatnonzero(~ok[listed]), n_uncertified_total=n_unc, uncertified_log_x=unc_log_x,
        fallback=np.flatnonzero(fb[listed]), bands=[list(b) for b in e.bands], band_mass=band_mass, gap=e.gap,
        soft_lower_edges=soft_edges, spike_remainder=sum(ms for _, ms in spike_mass),
        top_atom=e.top_atom, edges=(e.lo, e.hi), nodes=int(u.size),
        method="per band: cosine map (band away from 0) or Gauss-Legendre in log x + s^2 map to the top "
               "edge + power-law tail in log x (band reaching 0)",
        **tail.info,
    )
    return DensityResult(x_out, r_out, atoms, (e.lo, e.hi), e.lambda_max, total, diag, name, points,
                         cum[listed], wv[listed] * xs[listed] * scale, log_x=u + log_c,
                         xrho=np.where(ok, xrho, np.nan), log_weights=wv)
