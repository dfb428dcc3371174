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
orthonormal rows when :math:`N_l < N_{l-1}`, orthonormal columns otherwise): the law of the QR factor of
a Gaussian matrix with the signs of :math:`\operatorname{diag} R` moved into :math:`Q` (Mezzadri 2007;
without the sign correction the result is not Haar).  NumPy draws it in Householder form, reflectors from
independent Gaussian vectors formed by ``dorgqr`` (Stewart 1980; about half the cost of the QR,
:mod:`spectral.montecarlo.haar`); CuPy takes the QR.

Products
--------
*Direct*: :math:`J` is formed by ``L`` batched matrix products (rescaled by exact powers of 2 when its
entries near the float range, the log-scale kept apart so nothing overflows) and its singular values are
taken with ``svdvals``.  The absolute error of a singular value is about :math:`N \varepsilon s_{\max}`, so
values far below the top lose their relative accuracy: at depth 200 the log-range is hundreds of nats and
the bottom of the spectrum is noise.

*Stable* (:class:`StableProduct`): the pivoted product QR of determinant quantum Monte Carlo (Loh & Gubernatis
1992; pre-pivoting by column norms, Bai, Lee, Li & Xu 2011), :math:`A_l \cdots A_1 = Q_l\,
\operatorname{diag}(e^{\ell_l})\, T_l` with the scales kept as logs :math:`\ell_l`; then the singular values
of :math:`\operatorname{diag}(e^{\ell}) T` are extracted by zero-shift QR sweeps in log-scaled form (each
sweep multiplies the coupling of scales :math:`\ell_i > \ell_j` by about :math:`e^{\ell_j - \ell_i}`) until
the coupled clusters fit in the float range, and one-sided Jacobi SVD (LAPACK ``dgejsv``, high relative
accuracy for graded matrices) of each cluster, or the bidiagonal SVD where it is as accurate: nearly flat
clusters (by its error bound) and well-conditioned clusters graded downward (as measured;
:mod:`spectral.graded_svd`, docs/design.md §4.9).  The QR step is taken only once a block of layers has spread
the scales by about :data:`~spectral.stable_product.BLOCK_LOG_RANGE` nats (estimated from the previous block;
Gaussian layers of width >= 64 still get one nearly every layer, Haar layers blocks of up to 16).  Measured
against mpmath products: :math:`|\Delta \log s| \le 6 \times 10^{-12}` at depth 400-1000
(``tests/test_montecarlo.py``).  A layer right after a QR step is drawn *rotated* (``rotate_draws=True``, the
default): the sampler draws :math:`W'` and the layer's weights are :math:`W = W' Q^T`, which have the law of
plain draws because :math:`Q` depends only on the earlier layers and Gaussian and Haar laws are invariant
under :math:`W \mapsto W Q`; the product then takes :math:`D W'` as drawn (no product with :math:`Q`) and the
forward pass uses :math:`W' (Q^T x)`.  Cost per Gaussian layer (a QR step nearly every layer): LAPACK
``dgeqrf`` (1.2-1.5 matrix products) and the graded triangular update (``dtrmm``, about half a product),
against one product for the direct product, plus the final cluster SVD; Haar layers are blocked
(``benchmarks/README.md``).  The direct product keeps square Haar layers at least
:data:`~spectral.montecarlo.haar.IMPLICIT_HAAR_MIN_WIDTH` wide in Householder form (:math:`W J` by LAPACK
``dormqr``; the same draws).

``stable=None`` decides before any draw, from the theory's log-range of the nonzero singular values
(:func:`spectral.montecarlo.log_range.estimated_log_range`: the spread of the Lyapunov exponents per layer,
from the law of :math:`D^2` and, for Gaussian weights, the chi-square exponents, plus the edge of the last
one): the direct product when the estimate is at most :data:`~spectral.montecarlo.sampler.AUTO_DIRECT_LOG_RANGE`
nats, else the stable product.  After a direct run every network whose realised log-range exceeds
:math:`-\log` :data:`DIRECT_SPREAD_LIMIT` is recomputed by the stable product; each network draws from a
stream built from its own child seed, restarted for the recomputation with plain draws, so the recomputed
networks (weights, biases, inputs) are those of the direct run, and only the rounding of the two products
differs (the result says which in ``method``).  With ``rotate_draws=False`` a seed gives the same networks
whatever ``stable`` resolves to; with rotated draws a run that is stable from the start samples different,
equally distributed networks.

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

from ..stable_product import (  # noqa: F401 - re-exported: the stable product belongs to the sampler's API
    CLUSTER_LOG_RANGE,
    COUPLING_TOL,
    StableProduct,
    graded_log_singular_values,
)
from .direct import DirectProduct, product_log_singular_values
from .haar import haar_orthogonal
from .sampler import DIRECT_SPREAD_LIMIT, MODES, sample_jacobians
from .samples import JacobianSamples

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
