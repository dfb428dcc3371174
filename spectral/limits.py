r"""Resource limits: what each computation costs, the caps that follow, and the checks made before anything
is allocated.

Every cap is a named constant with the measurement it comes from (CPU seconds of one core, peak resident
memory).  Two kinds of check:

* *memory*, everywhere (library and command line): a request whose estimated working memory exceeds
  :data:`MEMORY_FRACTION` of the memory available now is refused with a ``ValueError`` naming the
  parameter, the estimate and the largest value that fits — no call dies inside an allocation;
* *cost caps*, on the command line only (a library caller may wait as long as they like): ``--k``,
  ``--precision``, ``--depth``, ``--points``, ``symbolic --k``, the phase grid, the list of depths, and
  an estimated sampling time; each refusal is one line naming the flag and the allowed range (exit 2).

Memory models (bytes):

* float moment series of order k: :math:`8 k^2 \times` :data:`SERIES_MATRICES` (triangular Toeplitz
  solves on k x k matrices; k = 10^4 measured 0.8 GB);
* sampled networks of width n: :math:`8 n^2 \times` :data:`SAMPLER_MATRICES` per network in flight (one
  per worker thread), plus the eigenvalues kept, :math:`8 n \times` :data:`SAMPLE_ARRAYS` per network.
"""

from __future__ import annotations

import math
import os

__all__ = ["MAX_DEPTH", "MAX_K", "MAX_K_EXACT", "MAX_EXACT_K_DEPTH", "MAX_PRECISION", "MAX_QUADRATURE_PRECISION",
           "MAX_QUADRATURE_K_PRECISION", "MAX_DENSITY_DEPTH", "MAX_POINTS", "MAX_SYMBOLIC_K", "MAX_RESOLUTION",
           "MAX_PLOT_DEPTHS",
           "MAX_SAMPLING_SECONDS", "LONG_RUN_SECONDS", "MEMORY_FRACTION", "available_memory", "check_memory",
           "check_series_memory", "check_sampling_memory", "check_width_memory", "sampling_seconds",
           "quadrature_activation", "CAPS"]

# ------------------------------------------------------------------------------------------- the caps
#: Layers of a network: the law keeps one record per layer (~170 bytes, ~1.7 us): 10^7 layers measured
#: 1.7 GB and 17 s before any mathematics; 10^6 layers take 0.26 GB and a few seconds.
MAX_DEPTH = 10**6
#: Float moments: the series solves k x k triangular systems, O(k^2) memory and about O(k^2.5) time
#: (k = 10^4 measured 20 s and 0.8 GB); float log-moments match exact ones to 1e-12 up to k = 1000.
MAX_K = 10_000
#: Exact or mpmath moments: k^2 series operations on growing rationals / multiprecision numbers (relu,
#: orthogonal, depth 16: k = 1000 exact measured 17 s; at 50 digits 4.6 s).
MAX_K_EXACT = 1000
#: Exact moments: the rationals carry about k L log10(denominator) digits (sigma_w2 = 21/20, k = 5:
#: L = 10^5 measured 5.6 s of CPU, L = 3 x 10^5 took 45 s, growing as (k L)^1.9).
MAX_EXACT_K_DEPTH = 500_000
#: mpmath digits for laws of D^2 in closed form (piecewise-linear, erf, sin): relu at 10^5 digits, k = 5,
#: measured 1.4 s, but the series cost grows as k^2 digits^0.6 (k = 300 at 1000 digits: 4 s, erf 14 s).
MAX_PRECISION = 10_000
#: mpmath digits where E[phi'(sqrt(q) z)^(2k)] needs tanh-sinh quadrature (tanh, sigmoid, gelu, ...): one
#: quadrature per moment, 0.2 s at 50 digits, 1-3 s at 100 digits; at 200 digits tanh did not finish in 5 min.
MAX_QUADRATURE_PRECISION = 100
#: ... and k x digits for those laws (k quadratures): 20 moments at 100 digits is about a minute (gelu).
MAX_QUADRATURE_K_PRECISION = 2000
#: Depth of a density (density, demo, plots): the solver's cost grows with depth (tanh at criticality, 2000
#: points: depth 16 took 4 s of CPU, depth 10^5 took 53 s).
MAX_DENSITY_DEPTH = 10**5
#: Density grid: the solver keeps ~8 KB and ~0.25 ms of CPU per point (2 x 10^4 points: 9 s, 0.3 GB);
#: 10^5 points resolve 10^-5 of the support, finer than the certificate checks.
MAX_POINTS = 100_000
#: Exact moments in sympy (symbolic): cost about k^2.6 (relu: k = 100 measured 3.5 s, k = 300 took 59 s).
MAX_SYMBOLIC_K = 100
#: Phase diagram: resolution^2 mean-field solves; 400 is 25 times the default grid of 80 x 80.
MAX_RESOLUTION = 400
#: Depths of one spectrum/depth figure: one density solve each (seconds to a minute at large depth).
MAX_PLOT_DEPTHS = 32
#: Sampling on the CPU: a command whose estimated time exceeds this is refused (the library has no such cap).
MAX_SAMPLING_SECONDS = 3600.0
#: Sampling estimated above this many seconds: the command says so on stderr and shows a progress bar.
LONG_RUN_SECONDS = 20.0
#: Share of the available memory a single request may plan for (the interpreter, the OS and the rest).
MEMORY_FRACTION = 0.8
#: k x k float matrices alive at once in the moment series (Toeplitz copy, Miller's recurrence matrix).
SERIES_MATRICES = 2
#: n x n float matrices per network in flight in the sampler (stable product QR, the worst of the two).
SAMPLER_MATRICES = 10
#: length-n float arrays kept per sampled network (log singular values, eigenvalues, sorting copies).
SAMPLE_ARRAYS = 4
#: CPU seconds per n^3 per layer per network (measured at n = 512, depth 16, one thread): Gaussian
#: direct product, orthogonal direct (a Haar QR per layer), the stable product QR.
SECONDS_PER_N3 = {"gaussian": 5e-11, "orthogonal": 2.6e-10, "stable": 6e-10}

#: Activations whose law of D^2 has moments in closed form (no quadrature at high precision).
_CLOSED_FORM_FAMILIES = ("erf", "sin")

#: The caps per command, as the README and --help state them.
CAPS = {
    "moments": f"--depth <= {MAX_DEPTH:,}; --k <= {MAX_K:,} (float), <= {MAX_K_EXACT:,} with --exact or "
               f"--precision; --exact: k x depth <= {MAX_EXACT_K_DEPTH:,}; --precision <= {MAX_PRECISION:,} "
               f"digits, <= {MAX_QUADRATURE_PRECISION} and k x precision <= {MAX_QUADRATURE_K_PRECISION:,} for "
               "activations integrated by quadrature (tanh, sigmoid, gelu, swish, softplus, elu, selu)",
    "density": f"--depth <= {MAX_DENSITY_DEPTH:,}; --points <= {MAX_POINTS:,}",
    "symbolic": f"--k <= {MAX_SYMBOLIC_K}",
    "sampling": f"memory: width^2 x {8 * SAMPLER_MATRICES} bytes per network in flight must fit in "
                f"{MEMORY_FRACTION:.0%} of the available memory; CPU runs estimated over "
                f"{MAX_SAMPLING_SECONDS / 3600:g} h are refused",
    "plot": f"--depths: at most {MAX_PLOT_DEPTHS} values, each <= {MAX_DENSITY_DEPTH:,}; "
            f"--resolution <= {MAX_RESOLUTION}",
}


# ------------------------------------------------------------------------------------------- memory
def available_memory() -> int | None:
    """Bytes of memory available now (``MemAvailable`` of /proc/meminfo, else free pages); None if unknown."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        return None


def _gib(n: float) -> str:
    return f"{n / 2**30:.3g} GiB" if n >= 2**28 else f"{n / 2**20:.3g} MiB"


def check_memory(nbytes: float, what: str, fix: str, available: int | None = None) -> None:
    """Raise ValueError when ``nbytes`` exceeds :data:`MEMORY_FRACTION` of the available memory.

    ``what`` names the request (with its parameter), ``fix`` says what fits instead.
    """
    avail = available_memory() if available is None else available
    if avail is None or nbytes <= MEMORY_FRACTION * avail:
        return
    raise ValueError(f"{what} needs about {_gib(nbytes)} of memory, more than the {_gib(MEMORY_FRACTION * avail)} "
                     f"available ({MEMORY_FRACTION:.0%} of {_gib(avail)} free); {fix}")


def check_series_memory(k, name: str = "k", exact: bool = False, precision=None) -> None:
    """Refuse a float moment series of order ``k`` that cannot fit (8 k^2 x SERIES_MATRICES bytes).

    Anything that is not a plain integer is left to the caller's own validation; exact and mpmath series
    hold lists of numbers, not k x k matrices.
    """
    if exact or precision is not None or isinstance(k, bool) or not isinstance(k, int) or k < 1:
        return
    avail = available_memory()
    if avail is None:
        return
    largest = max(1, math.isqrt(int(MEMORY_FRACTION * avail / (8 * SERIES_MATRICES))))
    check_memory(8.0 * SERIES_MATRICES * k * k, f"{name}={k} (float moment series of order k)",
                 f"use {name} <= {largest}", avail)


def _square_widths(net, width) -> tuple | None:
    dims = getattr(net, "widths", None)
    if dims:
        return tuple(dims)
    depth = getattr(net, "depth", None)
    if isinstance(width, bool) or not isinstance(width, int) or width < 1 or not isinstance(depth, int):
        return None
    return (width,) * (depth + 1)


def check_sampling_memory(net, width, n_samples, threads=None) -> None:
    """Refuse a sampling run of ``net`` whose matrices cannot fit (see :func:`check_width_memory`).

    Called first thing by :func:`spectral.montecarlo.sample_jacobians`; values it cannot read are left
    to that function's own checks.
    """
    dims = _square_widths(net, width)
    if dims is not None:
        check_width_memory(max(dims), n_samples, threads)


def check_width_memory(width, n_samples, threads=None, names=("width", "n_samples")) -> None:
    """Refuse sampling at ``width`` when 8 n^2 x SAMPLER_MATRICES bytes per network in flight (one per worker
    thread) plus 8 n x SAMPLE_ARRAYS bytes per network kept exceed the memory available."""
    n = width
    bad = [v for v in (n, n_samples) if isinstance(v, bool) or not isinstance(v, int) or v < 1]
    avail = available_memory()
    if bad or avail is None:
        return
    workers = threads if isinstance(threads, int) and threads >= 1 else _cpus()
    flight = min(n_samples, workers)
    per = 8.0 * SAMPLER_MATRICES * n * n
    kept = 8.0 * SAMPLE_ARRAYS * n * n_samples
    budget = MEMORY_FRACTION * avail
    largest = max(1, math.isqrt(int(budget / (8 * SAMPLER_MATRICES * flight))))
    check_memory(per * flight + kept, f"{names[0]} {n} with {names[1]} {n_samples} ({flight} network(s) of "
                 f"{_gib(per)} in flight, {_gib(kept)} of results)",
                 f"use {names[0]} <= {largest} (or fewer samples)", avail)


def _cpus() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - non-Linux
        return max(1, os.cpu_count() or 1)


# ------------------------------------------------------------------------------------------- time
def sampling_seconds(width: int, depth: int, n_samples: int, weights: str, stable: bool | None,
                     threads: int | None = None) -> float:
    r"""Estimated CPU wall time of sampling ``n_samples`` square networks:
    :math:`n^3 \times L \times \text{samples} \times c / \text{workers}` with ``c`` from :data:`SECONDS_PER_N3`
    (the stable product when ``stable`` is not False: the automatic choice may need it)."""
    key = "stable" if stable is not False else ("orthogonal" if "orthogonal" in weights else "gaussian")
    workers = min(n_samples, threads if threads else _cpus())
    return float(width) ** 3 * depth * n_samples * SECONDS_PER_N3[key] / max(1, workers)


def quadrature_activation(name) -> bool:
    """True when high-precision moments of D^2 need one mpmath quadrature each (not closed form)."""
    from .activations import activation

    try:
        act = activation(name)
    except (ValueError, TypeError, KeyError):
        return False  # the command itself refuses the name, naming the flag
    return act.pieces is None and act.family not in _CLOSED_FORM_FAMILIES
