"""Numeric thresholds of the density solver, each named with the reason for its value (docs/design.md §2.3, §5)."""

from __future__ import annotations

import math

import numpy as np

_EPS = float(np.finfo(float).eps)
_TINY = float(np.finfo(float).smallest_subnormal)
_TWO_PI = 2.0 * math.pi

#: Mass, m1 and m2 of a certified density agree with the law's series to this (relative) error: far above
#: the quadrature's rounding (~1e-12) and far below anything visible in a quantile or a plot.
CERTIFICATE_TOL = 1e-6

#: The point-mass limit of D^2 is served without trying the solver when the relative variance it drops (the
#: sum over D^2 factors of multiplicity x (m2/m1^2 - 1)) is below this: far under the solver's own accuracy
#: (~1e-10), and the spectrum is then too narrow for it (q* = 0, or q* < ~1e-9 near isometry).
_DIRECT_LIMIT_SPREAD = 1e-12

#: Depths below the top (in log x) at which a band reaching 0 is probed for continuous mass, then (where they
#: find none) the ladder of decades below the top: the spectrum can be anything from hundreds of e-folds wide
#: (deep products) to ~1e-8 (near-isometric networks, where D^2 is nearly a point mass), and the ladder finds
#: a band of any width down to its last rung.
_BAND_PROBE_DEPTHS = (30.0, 7.0, 0.7)
_FINE_PROBE_DEPTHS = tuple(10.0 ** -k for k in range(1, 11))

# ---------------------------------------------------------------------------------------------- guards
#: Floor added to a denominator or a bound that may be 0: keeps 0/0 and log(0) out, changes no nonzero value.
_GUARD = 1e-300

#: A law whose atoms carry all but this much mass is purely atomic (1 - sum of masses at rounding level).
_ATOMIC_MASS = 1e-15

# ---------------------------------------------------------------------------------------------- system (§5.2)
#: Linear-factor coefficients b equal within this relative distance are one entry of the table (the same b
#: reaches the table through different float paths: scales times ratios).
_MERGE_RTOL = 1e-13
#: A merged exponent below this is 0 (exponents +n and -n of a depth-n product cancel to rounding).
_EXPONENT_ZERO = 1e-12
#: 1 + b m0 within this (relative to max(1, |b m0|)) is exactly 0: the factor vanishes at m0 and mode B
#: evaluates it as b delta without cancellation.
_SINGULAR_RTOL = 1e-12

# ---------------------------------------------------------------------------------------------- Newton (§4.4)
#: Converged when the residual is within this multiple of the attainable accuracy (rounding of log z) ...
_CONVERGED_NOISE = 16
#: ... plus this absolute floor (log z of order 1 is known to ~1e-16; a few ulps of headroom).
_CONVERGED_ABS = 1e-14
#: Backtracking accepts a step that decreases the residual by this fraction of the step length (Armijo).
_ARMIJO = 1e-4
#: A Newton iteration stalled at the rounding level is accepted within this multiple of the attainable
#: accuracy ...
_STALL_NOISE = 256
#: ... plus this absolute floor.
_STALL_ABS = 1e-13
#: Im G <= 0 is tested as Im((1 + m) e^{-i arg z}) <= this x |1 + m| (rounding of m on the real axis).
_IM_G_TOL = 1e-10
#: The slack for the rounding of m in that test is capped at this x |1 + m| (a sign beyond it is decided).
_IM_G_SLACK_CAP = 1e-8

# ---------------------------------------------------------------------------------------------- continuation (§4.3)
#: A corrector within this fraction of the predictor's step of the predictor continues the same sheet ...
_JUMP_REL = 0.3
#: ... or within this relative distance of the previous point (steps below the rounding of p) ...
_JUMP_ABS = 1e-10
#: ... or within this multiple of the attainable accuracy of p (large next to an edge, where dlogz/dp -> 0).
_JUMP_NOISE = 30
#: The last step to eta = 0 next to a square-root edge is accepted for a move below this x |p|: the sheets
#: through the edge differ by O(sqrt(eta)), any other sheet is O(1) away.
_EDGE_MOVE = 1e-4
#: The corrector/predictor ratio is floored here before the step-size update (an exact predictor).
_RATIO_FLOOR = 1e-12
#: A point whose step in log eta fell below this keeps its tiny-eta value instead of the real axis.
_STEP_GIVE_UP_REAL = 1e-3
#: A point whose step in log eta fell below this has failed (no certified path).
_STEP_DEAD = 1e-7
#: The unknown switches to delta = m - m0 within this x |m0| of m0 ...
_MODE_B_ENTER = 0.25
#: ... and back to m beyond this x |m0| (hysteresis: no switching back and forth).
_MODE_B_LEAVE = 0.5
#: The start at eta_0 is accepted when m is within this (relative) of m_1 / z (inside Newton's basin).
_START_RTOL = 0.5
#: First step in log eta: a factor 4 in eta.
_FIRST_STEP = math.log(4.0)
#: Within this many e-folds of eta ~ x the path turns from z ~ i eta to z ~ x: a long step across it has landed
#: a deep product on another sheet (tanh / orthogonal depth 10^4, sheets 2 pi / 10^4 apart) ...
_TURN_EFOLDS = 6.0
#: ... so steps there are at most this many e-folds.
_TURN_STEP = 4.0
#: The last step from eta <= e^-this x (1e-16 x, the rounding of x) may end next to a square-root edge
#: (:data:`_EDGE_MOVE`).
_EDGE_EFOLDS = 36.0
#: A failed last step from eta above e^-this x first lowers its target ...
_RETRY_EFOLDS = 37.0
#: ... by this many e-folds.
_LOWER_EFOLDS = 6.0
#: The step in log eta is scaled towards a corrector/predictor ratio of this (Euler error ~ h^2) ...
_STEP_RATIO = 0.05
#: ... by a factor within these bounds ...
_STEP_GROWTH = (0.5, 4.0)
#: ... and stays within these (in e-folds).
_STEP_RANGE = (0.02, 1e5)
#: A rejected step is cut by this factor.
_STEP_CUT = 0.25
#: A node interpolated between two anchors is accepted when Newton moves it by less than this x the anchors'
#: difference (plus :data:`_JUMP_NOISE` x its attainable accuracy): continuity in x on the physical sheet.
_INTERP_CLOSE = 0.25
#: Vertical continuations of the density grid stop at eta = this x x before the last step to the real axis.
_ETA_LAST = 1e-10

# ---------------------------------------------------------------------------------------------- edges (§4.7, §5.3)
#: Real z(m) = M^{-1}(w) solved on the real line is accepted when |M(zeta) - w| <= this x |w|.
_ZETA_REAL_RTOL = 1e-9
#: ... by at most this many safeguarded Newton steps (bisections of the bracket of t, 737 wide, reach its
#: rounding in ~60; Newton converges in a handful where M is smooth).
_ZETA_REAL_STEPS = 110
#: ... stopping where |M(zeta) - w| is down to the rounding of M (a few eps of |w|).
_ZETA_REAL_RESIDUAL = 8 * _EPS
#: A root of the critical polynomial is real when |Im r| <= this x max(1, |r|) (roots of a real polynomial).
_ROOT_REAL_RTOL = 1e-9
#: A critical point within this of a pole 1 + b m = 0 is the pole itself, not an edge.
_POLE_DISTANCE = 1e-14
#: Halvings of a grid cell bracketing a sign change of d log z (a cell of the scan down to its rounding).
_BISECTIONS = 60
#: z(m) has a finite limit at m = +-inf when its degree in m (sum of exponents) is 0 within this.
_DEGREE_ZERO = 1e-9
#: A critical value is real (a candidate edge on the positive axis) when |Im log z| < this.
_REAL_CRITICAL = 1e-7
#: Candidates above the top of the physical branch by more than this (relative) are dropped.
_TOP_RTOL = 1e-12
#: Break points (critical values, atoms) closer than this in log x are one.
_BREAK_MERGE = 1e-10
#: Bands are probed at eta = this x x ...
_PROBE_ETA = 1e-12
#: ... and carry continuous mass where -Im m > this x |m| there.
_PROBE_MASS = 1e-9

# ---------------------------------------------------------------------------------------------- grid, soft edge, tail
#: A soft edge whose piece below it is narrower than this (in log x) gets no Gauss--Legendre nodes there.
_SOFT_PIECE_MIN = 1e-3
#: x rho below this x (continuous mass) is negligible at the soft edge (the cut: ~1e-12 of mass below it) ...
_SOFT_QUIET = 1e-13
#: ... on the band's own grid (search route) ...
_SOFT_CUT = 1e-14
#: ... up to 4 x its rounding level, capped at this x the mass.
_SOFT_NOISE_CAP = 1e-9
#: The deep tail of a cut law's band is dropped up to an unsolved node only under this many certified nodes
#: that are quiet or rise ...
_SOFT_CUT_QUIET_RUN = 4
#: ... with the mass below them, estimated from their log-slope, below this x the mass (the tail's tail_tol:
#: negligible next to the certificate's 1e-6).
_CUT_LAW_REMAINDER = 1e-12
#: Nodes of the coarse solve that finds the negligible deep tail of a cut law's only band.
_CUT_LAW_COARSE = 128
#: ... and its grid is solved once more above its deep tail where that took more than this fraction of it.
_CUT_LAW_REGRID = 0.25
#: The soft edge is where x rho first exceeds this x its maximum.
_SOFT_EDGE_LEVEL = 1e-6
#: Doublings of the soft-edge search beyond 640 e-folds, towards a band's own lower end (hidden soft edge): 640 x
#: 2^6 = 40960 e-folds, the spread of sigmoid/orthogonal on its critical line (q* = 62) at depth 256 (37560).
_SOFT_MAX_DOUBLINGS = 6
#: Its bracket is refined until it is narrower than this (in log x).
_SOFT_EDGE_BRACKET = 5e-3
#: The piece below a sharp soft edge is at least this wide in log x (its lowest nodes check the edge).
_SOFT_PIECE_WIDTH = 2e-3
#: A point of that segment is nearly real when |Im log z| < this.
_SOFT_NEAR_REAL = 1e-3
#: Central differences for Newton on d log z / d zeta use the step this x |zeta|.
_SOFT_DIFF_STEP = 1e-7
#: ... and stop when the Newton step is below this x |zeta| (log z is flat there: Re log z_c to ~1e-14).
_SOFT_NEWTON_RTOL = 1e-10
#: The critical point must lie within this x |zeta| (plus half a scan cell) of the scan's sign change.
_SOFT_SCAN_RTOL = 1e-3
#: The critical point is sharp (a soft edge) when |Im log z_c| <= this.
_SOFT_SHARP = 1e-5
#: Default continuous mass left below the deepest tail node (bounded by the power-law remainder).
_TAIL_TOL = 1e-12
#: ``tail_tol`` and ``rtol_eta`` must lie below this (a looser tail, or a last stop at eta ~ x, is no density).
_USER_TOL_MAX = 1e-3

# ---------------------------------------------------------------------------------------------- certificate, listing
#: -Im m / pi slightly below 0 is 0 within this x the largest x rho ...
_NEGATIVE_FLOOR = 1e-10
#: ... or within 4 x the attainable accuracy of m, capped at this x the largest x rho (next to a square-root
#: edge m is known to ~1e-8 while x rho ~ 1e-9).
_NEGATIVE_NOISE_CAP = 1e-4
#: Nodes below this x are kept in the mass bookkeeping but not listed (normal floats only).
_LIST_MIN_X = 1e-300

# ---------------------------------------------------------------------------------------------- distribution functions
#: pdf at an atom location (within this relative distance) is the one-sided limit of the continuous part ...
_ATOM_RTOL = 1e-13
#: ... taken at x (1 - this).
_ATOM_SHIFT = 1e-11
#: A quantile falls in the jump at b when F(b (1 - this)) < q (one ulp below b).
_JUMP_BELOW = 1e-15
#: Brent in log x first (deep tails span hundreds of decades), to this tolerance, then bracketed in x
#: within 2 x this.
_PPF_LOG_XTOL = 1e-9

# ---------------------------------------------------------------------------------------------- grid sizes (§5.4, §5.7)
#: Every band gets at least this many nodes (a narrow band must still be resolved).
_MIN_BAND_NODES = 32
#: A band reaching 0: the top piece [b/20, b] in log x (s^2 map, spectrally accurate at a square-root edge) ...
_TOP_PIECE = math.log(1.0 / 20.0)
#: ... holds this fraction of the band's nodes, ...
_TOP_NODE_FRACTION = 0.62
#: ... and Gauss--Legendre in log x covers this many e-folds below it (the tail continues further down).
_LOG_SPAN = 40.0
#: After a sharp soft edge, the lowest max(3, n / this) nodes must carry no mass.
_LOW_CHECK_DIVISOR = 200
#: Rounding levels enter the tests as this multiple of the attainable accuracy.
_NOISE_MULTIPLE = 4
#: The tail reaches e^this beyond where the estimated remainder falls below ``tail_tol`` ...
_TAIL_MARGIN = 4.0
#: ... with max(this, points / _TAIL_NODE_DIVISOR) Gauss--Legendre nodes ...
_TAIL_MIN_NODES = 64
_TAIL_NODE_DIVISOR = 8
#: ... anchored every this many nodes: over the thousands of e-folds of a tail m approaches m_0 and the unknown
#: switches to delta, and interpolating over 32 such nodes has let Newton settle on another sheet
#: (tanh / Gaussian depth 256: total mass 2.7).
_TAIL_STRIDE = 8
#: A soft edge inside the tail is located by at most this many rounds of 16 solves in its bracket (each divides
#: it by 17: a bracket of 10^4 e-folds falls below _SOFT_EDGE_BRACKET in six).
_TAIL_EDGE_ROUNDS = 8
#: A tail chunk whose estimated quadrature error (tail_edge._resolution_error) is within this x the mass is
#: resolved and kept as it is: 1e-2 of the certificate's tolerance.
_TAIL_RESOLVED = 1e-2 * CERTIFICATE_TOL
#: A tail whose mass lies on fewer than 1/this of its nodes (the rest quiet or unsolved) is solved once more on
#: the part that carries it: a quarter of the nodes resolves the decay that the first chunk saw.
_TAIL_FADE_DIVISOR = 4
#: ... and a tail with a faint tail of its own below that part is split where at most this fraction of its mass
#: remains below (solved again by the power-law chunks from there; the split only places nodes).
_TAIL_SPLIT_REST = 1e-3

#: The Gauss--Legendre piece in log x of a one-factor law's band reaching 0 is deepened (from _LOG_SPAN, by
#: doubling) up to this many e-folds: x down to e^-640 of the top still holds normal floats' worth of mass
#: bookkeeping (nodes below 1e-300 count but are not listed), and the solve there is one evaluation of M.
_CLOSED_FORM_MAX_SPAN = 640.0

#: The tanh-sinh rule of a piece of a one-factor law's spectrum runs over t in [-this, this]: its outermost
#: nodes lie within ~1e-14 of the piece's width from the ends (pi/2 sinh 3.1 ~ 17.4, e^-34.8).
_TANH_SINH_T = 3.1

#: Nodes next to a spike of a one-factor law (a limit value of D^2 inside its spectrum: gelu, swish) stop at this
#: relative offset from it (2^-36 ~ 1.5e-11, 7e4 ulps: x resolves the offset to 1.5e-5 of itself); the mass
#: closer to the spike is the push-forward's exact Gaussian remainder (gelu at q* = 3.74: 3e-5 of it).
_SPIKE_OFFSET = 2.0**-36
#: ... and Gauss--Legendre in log |x - x_inf| covers offsets up to this fraction of the piece's width, where the
#: tanh-sinh rule in x takes over (the log-normal spike spans ~20 e-folds of the offset below it).
_SPIKE_SPLIT = 2.0**-10

#: A band end at a zero-mass atom x_s of the product (two layers' atoms of mass 1/2) gets nodes in log |1 - x/x_s|
#: down to this relative offset: the continuation certifies to ~1e-8 of it (the attainable accuracy of m grows
#: like 1/offset there), a decade of margin; the mass closer to x_s comes from the fitted end law.
_SINGULAR_END_OFFSET = 1e-7
#: ... up to this fraction of the band's width in x (the rest of the band takes its own map) ...
_SINGULAR_END_SPLIT = 0.5
#: A one-factor law's piece from the end of a gap above a singular point of its density (a relu residual block)
#: takes nodes graded in the log of the offset from the singular point up to this fraction of its width in x, the
#: s^2 map to its other end beyond (grid._gap_end_nodes).
_GAP_END_SPLIT = 0.5
#: ... with this fraction of the band's nodes (Gauss--Legendre in log |1 - x/x_s|: x rho |1 - x/x_s| is smooth
#: and decays like a power of the offset there).
_SINGULAR_END_NODES = 0.25
#: The end law x rho ~ c t^gamma log(1/t)^delta (t = |1 - x/x_s|) is fitted on the nodes within this many
#: e-folds of the lowest offset ...
_SINGULAR_FIT_EFOLDS = 7.0
#: ... and serves the mass below the lowest offset only if it reproduces every fitted node's log(x rho) within
#: this (a power law with a logarithmic factor: the residual measured 1e-9 for elu's
#: (1 - x/x_s)^(-1/2) log(1/t)^(1/2), 1e-10 for selu's inverse square root; a density that is not of this form
#: leaves its residual far above).
_SINGULAR_FIT_RESIDUAL = 1e-6
#: ... on at least this many certified nodes (six parameters, and a residual to judge the fit by) ...
_MIN_FIT_NODES = 12
#: ... and integrated below the lowest offset by this many Gauss--Laguerre nodes (the integrand is e^-r times a
#: function smooth on the scale of log(1/t0) + r: 40 nodes reach rounding).
_LAGUERRE_NODES = 40

#: A band is solved by vertical continuation at every this-many-th node (anchors), Newton on the real axis from
#: their interpolation in between (docs/design.md §4.3) ...
_ANCHOR_STRIDE = 32
#: ... and a band with an end piece at a zero-mass atom at every this-many-th: the rest of selu's lower band at
#: depth 2 (Gauss--Legendre in log x over 60 e-folds) has x rho changing by 10^2 between anchors 32 nodes apart
#: in its deep decades, where the interpolated start failed for 240 nodes (each then continued vertically:
#: 10.7 s of CPU against 7.4 s with 16, where 3 fail).
_SINGULAR_BAND_STRIDE = 16

#: A band away from 0 wider than this in log x (a factor e^7 ~ 1100) gets the cosine map in u = log x where
#: its ends are edges of the product: the cosine map in x leaves its lower decades without nodes (leaky relu
#: at depth 8: a band over 9 decades, mass 0.81).
_WIDE_BAND_LOG_RATIO = 7.0

#: A node solved on the real axis from the interpolant of its anchors is kept only if its x rho = -Im m / pi
#: has not collapsed below this fraction of the interpolant's (else: its own vertical continuation); the
#: real solution of another sheet has x rho at rounding level, ~1e-14 of the interpolant's.
_INTERP_IM_REL = 1e-3

# --- speed of the continuation (fixed costs of a density) -------------------------------------------------
#: Corrector/predictor ratio of the step control for products whose certified values do not depend on the
#: path (linear factors only, which have no soft edge located from low-density values; or a single layer,
#: whose sheets of log z are 2 pi apart): about half the steps of :data:`_STEP_RATIO` (relu/Gaussian depth 1000:
#: 130 -> 60 steps; tanh/orthogonal depth 1, next to the inverse-square-root top edge of D^2: 179 -> 58), and
#: the 46-law comparison (benchmarks/compare_densities.py) unchanged to 4e-11 of each density's maximum.
#: Deeper products with implicit factors keep 0.05: there it moved soft-edge grids (tanh/Gaussian depth 16)
#: and densities by 4e-10 (tanh/orthogonal depth 1000).
_STEP_RATIO_PATH_FREE = 0.2
#: A product with at most this total multiplicity of factors (one layer: D^2 and the weights) is a single layer.
_SINGLE_LAYER_NTOT = 2.0

# ---------------------------------------------------------------------------------------------- sheet march
#: A step of the march along the real axis (sheet.py) is halved down to this fraction of the distance between
#: two nodes before the march stops: the solution varies on the scale of a node spacing or more, so a step
#: 1e-6 of it that fails is a solver failure (the node stays uncertified), not a lack of resolution.
_MARCH_MIN_STEP = 1e-6
#: Growth of a step after an accepted one (as the continuation's step control, at most doubling).
_MARCH_GROWTH = 2.0
#: The equation of an implicit factor is taken as M(zeta) = s m instead of 1 + M(zeta) = 1 + s m where |s m| is
#: below this fraction of |1 + s m|: the latter loses the digits of s m (more than 3 bits here), and n log zeta
#: multiplies that loss by the multiplicity n (tanh / Gaussian depth 10^4: x rho known to 1e-4 only).
_SMALL_M_BRANCH = 0.125

# ------------------------------------------------------------------------------------- tail below resolution
#: x rho = -Im m / pi at a tail node below this x |m| / pi is below the float resolution of m = M(x + i0) itself
#: (m -> m0 = -1 down the tail; only m - m0 is carried finer).  There the physical solution (Im m < 0) and that of
#: a neighbouring sheet (Im m > 0, winding L - 1: arg(m - m0) one step 2 pi / kappa further) are both real to
#: that resolution, and Newton may find only the second (sin / Gaussian depth 1000, sigma_w^2 = 1.1: Im m =
#: +2.9e-21 at x = e^-66185 between certified nodes with x rho 7e-22 and 2e-22).  Such a node carries at most
#: its weight times this resolution of mass (:func:`~.tail._below_resolution`).
_TAIL_RESOLUTION = 4 * _EPS
#: ... and those nodes are taken as 0 only while their bound on the mass stays below this (a thousandth of the
#: certificate's tolerance), else they stay uncertified.
_TAIL_RESOLUTION_BUDGET = 1e-3 * CERTIFICATE_TOL
#: A node's solution is converged when its residual in log z is within this x the rounding level of log z at the
#: node (Newton's own test; that level sums every term of the log form and is ~2.2 eps |u| deep in the tail).
_TAIL_RESIDUAL_NOISE = _CONVERGED_NOISE
