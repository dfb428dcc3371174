r"""What a sweep computes per cell: the quantities, their variables in the dataset, and the settings.

Theory quantities (of :math:`JJ^T`, eigenvalue :math:`\lambda = s^2` for the singular values :math:`s` of
:math:`J`; :math:`m_k` its moments):

================  =====================================================================================
``meanfield``     ``q_star``, ``chi1``, ``xi_q``, ``xi_c`` of the layer's mean field
``m1``, ``m2``    :math:`m_1`, :math:`m_2` (from ``log_moments``, so they may be ``inf`` beyond the float
                  range while ``spread`` stays finite)
``variance``      :math:`m_2 - m_1^2`
``spread``        :math:`m_2/m_1^2 - 1` (relative variance; :math:`e^{\log m_2 - 2 \log m_1} - 1`)
``moments``       ``log_moments`` over the dimension ``k`` = 1..K
``lambda_max``    top of the spectrum (upper edge or largest atom)
``edges``         ``support_lo``, ``support_hi`` of the continuous part
``atoms``         ``atom_zero``: the mass at :math:`\lambda = 0`
``quantiles``     :math:`\lambda_q` of the full law (atoms included) over the dimension ``level``
``condition``     :math:`s_{0.99}/s_{0.01}` of the *nonzero* singular values (quantiles of the law
                  conditioned on :math:`s > 0`, the measure of ``spectral plot depth``)
================  =====================================================================================

``quantiles`` and ``condition`` come from the density on a grid of ``points`` nodes; the cell is
``certified`` only when that density is.  Monte Carlo sweeps compute the same names from the sampled
eigenvalues (pooled over networks; ``m1``/``m2`` with ``m1_stderr``/``m2_stderr`` across networks) and
``condition_finite``, the median over networks of :math:`s_{\max}/s_{\min}` of the nonzero singular values
(the finite network's own condition number).

Every cell also has ``done``, ``failed`` (an exception was raised: its text is in ``message``),
``certified`` and ``seconds``; on the critical line ``sigma_b2`` is a variable.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

__all__ = ["SweepSpec", "THEORY_QUANTITIES", "MC_QUANTITIES", "DEFAULT_QUANTITIES", "VARIABLES", "variables_for"]

#: quantity -> the variables it fills
THEORY_QUANTITIES = {
    "meanfield": ("q_star", "chi1", "xi_q", "xi_c"),
    "m1": ("m1",),
    "m2": ("m2",),
    "variance": ("variance",),
    "spread": ("spread",),
    "moments": ("log_moments",),
    "lambda_max": ("lambda_max",),
    "edges": ("support_lo", "support_hi"),
    "atoms": ("atom_zero",),
    "quantiles": ("quantiles",),
    "condition": ("condition",),
}
MC_QUANTITIES = {
    "m1": ("m1", "m1_stderr"),
    "m2": ("m2", "m2_stderr"),
    "variance": ("variance",),
    "spread": ("spread",),
    "moments": ("log_moments",),
    "lambda_max": ("lambda_max",),
    "atoms": ("atom_zero",),
    "quantiles": ("quantiles",),
    "condition": ("condition", "condition_finite"),
}
DEFAULT_QUANTITIES = ("meanfield", "m1", "spread", "lambda_max", "condition", "quantiles")
DENSITY_QUANTITIES = frozenset({"quantiles", "condition"})

#: variable -> (long name, units, extra dimension or None); dimensionless quantities have units "1"
VARIABLES = {
    "q_star": ("fixed point q* of the q-map", "1", None),
    "chi1": ("chi_1 = sigma_w2 E[phi'(h)^2]", "1", None),
    "xi_q": ("depth scale of the length map", "layers", None),
    "xi_c": ("depth scale of the correlation map", "layers", None),
    "m1": ("first moment m_1 of J J^T", "1", None),
    "m1_stderr": ("standard error of m_1 across sampled networks", "1", None),
    "m2": ("second moment m_2 of J J^T", "1", None),
    "m2_stderr": ("standard error of m_2 across sampled networks", "1", None),
    "variance": ("variance m_2 - m_1^2 of the eigenvalues of J J^T", "1", None),
    "spread": ("relative variance m_2 / m_1^2 - 1 of the eigenvalues of J J^T", "1", None),
    "log_moments": ("log m_k of J J^T", "1", "k"),
    "lambda_max": ("top of the spectrum of J J^T", "1", None),
    "support_lo": ("lower edge of the continuous part of J J^T", "1", None),
    "support_hi": ("upper edge of the continuous part of J J^T", "1", None),
    "atom_zero": ("mass of the eigenvalue 0 of J J^T", "1", None),
    "quantiles": ("quantiles of the eigenvalues of J J^T (atoms included)", "1", "level"),
    "condition": ("s_hi / s_lo: quantile ratio of the nonzero singular values of J", "1", None),
    "condition_finite": ("median over networks of s_max / s_min (nonzero singular values of J)", "1", None),
}

#: the singular-value quantiles whose ratio is ``condition``
CONDITION_QUANTILES = (0.01, 0.99)
#: quantile levels of the ``quantiles`` variable (those of ``spectral density``)
QUANTILE_LEVELS = (0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99)
#: density grid for quantiles and condition: the default of ``spectral plot depth``, which draws the same
#: condition measure (the density is ~0.5 s per cell at 400 points, and grows with the grid)
DEFAULT_POINTS = 400


@dataclass(frozen=True)
class SweepSpec:
    """Settings of a sweep (stored in the dataset's attributes as ``parameters``).

    ``quantities``: names from :data:`THEORY_QUANTITIES` (or :data:`MC_QUANTITIES` with ``monte_carlo``);
    ``points``: density grid; ``k``: number of log-moments for ``moments``; ``samples``, ``seed``,
    ``mode``, ``backend``: the sampler's settings for Monte Carlo cells (every cell samples with the same
    ``seed``, so a cell equals ``spectral sample`` of its network with that seed).
    """

    quantities: tuple = DEFAULT_QUANTITIES
    points: int = DEFAULT_POINTS
    k: int = 4
    quantile_levels: tuple = QUANTILE_LEVELS
    condition_quantiles: tuple = CONDITION_QUANTILES
    monte_carlo: bool = False
    samples: int = 16
    seed: int = 0
    mode: str = "network"
    backend: str = "numpy"
    extra: dict = field(default_factory=dict)

    def __post_init__(self):
        table = MC_QUANTITIES if self.monte_carlo else THEORY_QUANTITIES
        qs = tuple(dict.fromkeys(self.quantities))
        if not qs:
            raise ValueError("quantities must name at least one quantity")
        for q in qs:
            if q not in table:
                kind = "Monte Carlo" if self.monte_carlo else "theory"
                raise ValueError(f"quantities: {q!r} is not a {kind} quantity; choose from {', '.join(table)}")
        object.__setattr__(self, "quantities", qs)
        _positive_int("points", self.points, 16)
        _positive_int("k", self.k, 1)
        _positive_int("samples", self.samples, 1)
        if self.mode not in ("network", "free"):
            raise ValueError(f"mode must be 'network' or 'free', got {self.mode!r}")
        lo, hi = self.condition_quantiles
        if not 0 < lo < hi < 1:
            raise ValueError(f"condition_quantiles must be (lo, hi) with 0 < lo < hi < 1, got {(lo, hi)}")

    @property
    def needs_density(self) -> bool:
        return not self.monte_carlo and bool(DENSITY_QUANTITIES.intersection(self.quantities))

    def variables(self) -> tuple:
        return variables_for(self.quantities, self.monte_carlo)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> SweepSpec:
        d = json.loads(text)
        for key in ("quantities", "quantile_levels", "condition_quantiles"):
            d[key] = tuple(d[key])
        return cls(**d)

    def computed_fields(self) -> dict:
        """The settings that change the numbers (a resumed sweep must match them)."""
        d = asdict(self)
        d.pop("extra")
        if not self.monte_carlo:
            for key in ("samples", "seed", "mode", "backend"):
                d.pop(key)
        return d


def variables_for(quantities, monte_carlo: bool) -> tuple:
    table = MC_QUANTITIES if monte_carlo else THEORY_QUANTITIES
    return tuple(dict.fromkeys(v for q in quantities for v in table[q]))


def _positive_int(name, value, low):
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
