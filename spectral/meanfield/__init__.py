r"""Mean-field signal propagation: q-map, fixed point :math:`q^*`, c-map, :math:`\chi_1`, depth scales.

For a network :math:`h^l = W^l\phi(h^{l-1}) + b^l` with :math:`W_{ij} \sim N(0, \sigma_w^2/N)` (or
:math:`\sigma_w` times a Haar-orthogonal matrix) and :math:`b_i \sim N(0, \sigma_b^2)`, at infinite width
(Poole et al. 2016; Schoenholz et al. 2017):

.. math::

    q^{l} = \mathcal V(q^{l-1}) = \sigma_w^2\, E[\phi(\sqrt{q^{l-1}} z)^2] + \sigma_b^2, \qquad
    \chi_1 = \sigma_w^2\, E[\phi'(\sqrt{q^*} z)^2], \qquad \chi_2 = \sigma_w^2\, E[\phi''(\sqrt{q^*} z)^2],

    c^{l} = \mathcal C(c^{l-1}) = \frac{\sigma_w^2 E[\phi(u_1)\phi(u_2)] + \sigma_b^2}{q^*}, \quad
    u_1 = \sqrt{q^*} z_1,\ u_2 = \sqrt{q^*}(c z_1 + \sqrt{1-c^2} z_2).

Depth scales: :math:`\xi_q = -1/\log \mathcal V'(q^*)` with :math:`\mathcal V'(q) = \sigma_w^2
\frac{d}{dq}E[\phi(\sqrt q z)^2]`, and :math:`\xi_c = -1/\log \chi_c`, :math:`\chi_c = \sigma_w^2
E[\phi'(u_1)\phi'(u_2)]` at the stable fixed point :math:`c^*` of the c-map (:math:`c^* = 1`,
:math:`\chi_c = \chi_1` in the ordered phase).  The phase is ``"ordered"`` (:math:`\chi_1 < 1`),
``"chaotic"`` (:math:`\chi_1 > 1`) or ``"critical"`` (:math:`|\chi_1 - 1| \le 10^{-4}`,
:data:`CRITICAL_TOL`); within that band :math:`c^*` is taken as 1 and :math:`\xi_c = 1/|\log\chi_1|`
(the two sides agree to first order in :math:`\chi_1 - 1`), infinite when :math:`\chi_1` is within 4 ulp
of 1 (the rounding of :math:`q^*`).

Fixed point
-----------
:math:`q^*` is the attracting fixed point that the q-map reaches from :math:`q^0` (default 1, unit-norm
inputs): :math:`F(q) = \mathcal V(q) - q` is tabulated on a shared logarithmic grid
(:math:`0, 10^{-16} \dots 10^{10}`), the sign change that the iteration from :math:`q^0` runs into is
bracketed, and a safeguarded Newton iteration (bisection fallback, at most 100 steps) converges to full
precision — vectorized over parameter grids (:func:`phase_diagram`).  Plain iteration would need
hundreds of steps near criticality.  No bracket means no fixed point: :class:`NoFixedPointError` (e.g.
relu with :math:`\sigma_w^2 \ge 2`, :math:`\sigma_b^2 > 0`).  With :math:`\sigma_b^2 = 0` and
:math:`\phi(0) = 0` the fixed point may be :math:`q^* = 0` (ordered phase; :math:`\chi_1` is then the
limit :math:`q \to 0^+`).  Two fixed points within one grid step (a factor 1.78 in :math:`q`) are not
resolved.

Critical line
-------------
The same rule defines it: (:math:`\sigma_w^2, \sigma_b^2`) is critical when :math:`\chi_1 = 1` at the
attracting fixed point reached from :math:`q^0`.  The q-map can have several fixed points: for gelu and
swish :math:`E[\phi'^2]` rises above 1/2 and falls back, and :math:`\chi_1(q) = 1` can hold at an unstable
fixed point (:math:`\mathcal V'(q) > 1`; e.g. gelu, :math:`\sigma_w^2 = 2`: :math:`q = 2.870`,
:math:`\sigma_b^2 = 0.1498`, where the q-map from :math:`q^0 = 1` settles at :math:`q^* = 1.011`,
:math:`\chi_1 = 0.913`).  :func:`critical_point` keeps only roots that satisfy the rule (the smallest such
:math:`q^*`) and :func:`phase_diagram` evaluates :math:`\chi_1` by it, so the two agree; where no root
does, the error states the range of the given variance that has critical points (gelu:
:math:`1.95581 \le \sigma_w^2 < 2`, swish: :math:`1.96699 \le \sigma_w^2 < 2`, tanh and erf_scaled:
:math:`\sigma_w^2 \ge 1`, erf(b x): :math:`\sigma_w^2 \ge \pi/(4b^2)`).

References: B. Poole et al., *Exponential expressivity in deep neural networks through transient chaos*,
NeurIPS 2016; S. Schoenholz et al., *Deep information propagation*, ICLR 2017; J. Pennington, S.
Schoenholz, S. Ganguli, *Resurrecting the sigmoid in deep learning through dynamical isometry*, NeurIPS
2017 (tanh critical point :math:`\sigma_w^2 = 1.05`, :math:`\sigma_b^2 = 2.01\times 10^{-5}`).
"""

from .critical_line import critical_point
from .phase_diagram import PhaseDiagram, phase_diagram
from .qmap import (
    CRITICAL_TOL,
    MeanField,
    NoFixedPointError,
    c_map,
    fixed_point,
    mean_field,
    q_map,
    q_map_slope,
)

__all__ = ["MeanField", "PhaseDiagram", "NoFixedPointError", "CRITICAL_TOL", "mean_field", "critical_point",
           "q_map", "q_map_slope", "fixed_point", "c_map", "phase_diagram"]
