r"""The moment transform of a residual block, :math:`M_{BB^T}(\zeta)`, by subordination, for the density solver.

With :math:`\nu = \mu_1 \boxplus \mu_2`, :math:`\mu_1 = \frac12(\delta_\alpha + \delta_{-\alpha})` and
:math:`\mu_2` the symmetrized singular-value law of :math:`\beta X`
(:mod:`spectral.architecture.residual_law`), the Cauchy transforms are

.. math:: G_1(w) = \frac{w}{w^2 - \alpha^2}, \qquad G_2(w) = \frac{1 + M_X(w^2/\beta^2)}{w},

:math:`M_X` the moment transform of :math:`X X^T` (from :func:`spectral.density.solve_m_transform`).
Subordination, :math:`F_\nu(z) = F_1(\omega_1) = F_2(\omega_2)`, :math:`\omega_1 + \omega_2 = z + F_\nu(z)`
(:math:`F = 1/G`), with :math:`F_1(u) = u - \alpha^2/u` reduces to one equation for :math:`w = \omega_2(z)`:

.. math:: (z - w)\,(z + F_2(w) - w) = \alpha^2,

solved by the Denjoy--Wolff iteration :math:`w \leftarrow z - \alpha^2/(z + F_2(w) - w)` (an analytic self-map
of the upper half-plane, Belinschi & Bercovici 2007) and polished by Newton.  Then
:math:`G_\nu(z) = G_2(w)` and, :math:`\nu` being symmetric,
:math:`M_{BB^T}(\zeta) = \sqrt\zeta\, G_\nu(\sqrt\zeta) - 1` with the root in the upper half-plane.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["BlockTransform", "block_solver_factors"]

#: Denjoy-Wolff steps before Newton (each costs one M_X solve); convergence is geometric away from the real
#: axis, and Newton finishes from there.
DW_FIRST = 8
#: Denjoy-Wolff steps for the points whose Newton polish did not reach RESIDUAL_TOL.
DW_ITERATIONS = 60
#: relative change of a Denjoy-Wolff step taken as converged
DW_RTOL = 1e-8
#: |(z - w)(z + h(w)) - alpha^2| relative to alpha^2 + |z|^2 accepted as solved (rounding of the M_X solve).
RESIDUAL_TOL = 1e-10
#: Newton steps after the iteration (quadratic convergence from the iterate).
NEWTON_STEPS = 8
#: Newton stops at this relative step.
NEWTON_RTOL = 1e-14
#: zeta = 0 is evaluated at this z (M is continuous there; the solver asks for the limit)
_TINY = 1e-300


class BlockTransform:
    """Vectorized :math:`M_{BB^T}(\\zeta)` and its derivative for :math:`B = \\alpha I + \\beta X` (module
    docstring); ``branch_law`` is the law of :math:`X X^T`."""

    def __init__(self, branch_law, alpha, beta):
        self.branch_law = branch_law
        self.alpha2 = float(alpha) ** 2
        self.beta2 = float(beta) ** 2
        self._last = None

    def _g2(self, w, deriv=True):
        """:math:`G_2(w)` and (``deriv``) :math:`G_2'(w)`; :math:`M_X'` from :math:`z = (1+m)/(m S(m))`
        differentiated, without a second solve."""
        from ..density import solve_m_transform

        u = w * w / self.beta2
        mx = np.asarray(solve_m_transform(self.branch_law, u))
        g = (1.0 + mx) / w
        if not deriv:
            return g, None
        s = self.branch_law.s_transform(mx)
        ds = self.branch_law.s_transform_derivative(mx)
        dmx = 1.0 / (-1.0 / (mx * mx * s) - (1.0 + mx) * ds / (mx * s * s))
        dg = 2.0 * dmx / self.beta2 - (1.0 + mx) / (w * w)
        return g, dg

    def _solve(self, z):
        with np.errstate(all="ignore"):
            return self._solve_unguarded(z)

    def _residual(self, z, w):
        g, dg = self._g2(w)
        h = 1.0 / g - w
        dh = -dg / (g * g) - 1.0
        f = (z - w) * (z + h) - self.alpha2
        fw = -(z + h) + (z - w) * dh
        return g, dg, h, f, fw

    def _iterate(self, z, w, n):
        """``n`` Denjoy--Wolff steps (each one M_X evaluation)."""
        for _ in range(n):
            g, _ = self._g2(w, deriv=False)
            w_new = z - self.alpha2 / (z + 1.0 / g - w)
            w_new = np.where(w_new.imag < 0, w_new.real + 0j, w_new)
            w_new = np.where(np.isfinite(w_new) & (w_new != 0), w_new, w)
            done = np.abs(w_new - w) <= DW_RTOL * np.abs(w)
            w = w_new
            if np.all(done):
                break
        return w

    def _newton(self, z, w):
        for _ in range(NEWTON_STEPS):
            _, _, _, f, fw = self._residual(z, w)
            step = f / fw
            w_new = w - step
            w_new = np.where(w_new.imag < 0, w_new.real + 0j, w_new)
            w = np.where(np.isfinite(w_new) & (w_new != 0), w_new, w)
            if np.all(np.abs(step) <= NEWTON_RTOL * np.abs(w)):
                break
        return w

    def _solve_unguarded(self, z):
        a2 = self.alpha2
        w = z.copy()
        if a2 > 0:
            w = self._newton(z, self._iterate(z, w, DW_FIRST))
            _, _, _, f, _ = self._residual(z, w)
            bad = ~(np.abs(f) <= RESIDUAL_TOL * (a2 + np.abs(z) ** 2))
            if np.any(bad):  # slow geometric convergence near the real axis: iterate further from where we are
                wb = self._newton(z[bad], self._iterate(z[bad], z[bad].copy(), DW_ITERATIONS))
                w = w.copy()
                w[bad] = wb
        g, dg, h, _, fw = self._residual(z, w)
        if a2 > 0:
            fz = (z + h) + (z - w)
            dwdz = -fz / fw
        else:
            dwdz = np.ones_like(z)
        return g, dg * dwdz

    def _eval(self, zeta):
        zeta = np.asarray(zeta, dtype=complex)
        key = (zeta.shape, zeta.tobytes())
        if self._last is not None and self._last[0] == key:
            return self._last[1]
        z = np.sqrt(zeta)
        z = np.where(z.imag < 0, -z, z)  # the root in the closed upper half-plane (z G_nu(z) is even)
        flat = np.where(z == 0, _TINY, z).ravel()
        g, dg = self._solve(flat)
        m = flat * g - 1.0
        with np.errstate(divide="ignore", invalid="ignore"):
            dm = (g + flat * dg) / (2.0 * flat)
        out = (m.reshape(zeta.shape), dm.reshape(zeta.shape), (flat * g).reshape(zeta.shape))
        self._last = (key, out)
        return out

    def m(self, zeta):
        return self._eval(zeta)[0]

    def g1(self, zeta):
        r""":math:`1 + M(\zeta) = \sqrt\zeta\, G_\nu(\sqrt\zeta)` without the cancellation near 0."""
        return self._eval(zeta)[2]

    def dm(self, zeta):
        return self._eval(zeta)[1]


def block_solver_factors(law):
    r"""``FactorizedLaw`` of a :class:`~spectral.architecture.residual_law.ResidualBlockLaw` for the density
    solver: one implicit factor with :math:`M_{BB^T}` above, its spectrum inside
    :math:`[(\alpha - \beta s)_+^2, (\alpha + \beta s)^2]` (Weyl's inequalities for singular values,
    :math:`s^2` the top of the spectrum of :math:`X X^T`)."""
    from ..density import FactorizedLaw, ImplicitFactor, lambda_max

    tr = BlockTransform(law.branch_law, law.alpha, law.beta)
    s = math.sqrt(lambda_max(law.branch_law))
    a, b = float(law.alpha), float(law.beta)
    lo, hi = max(0.0, a - b * s) ** 2, (a + b * s) ** 2
    m1, m2 = (float(x) for x in law.moments(2))
    factor = ImplicitFactor(m=tr.m, dm=tr.dm, mean=m1, bounds=(lo, hi), g1=tr.g1, offset=m2 / m1,
                            spread=m2 / m1**2 - 1)
    return FactorizedLaw((factor,), atoms=tuple(law.atoms), name=law.name, moments12=(m1, m2))
