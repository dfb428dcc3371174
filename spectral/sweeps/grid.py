r"""The parameter grid of a sweep: named axes, their parsing from text, and the split into tasks.

A grid is the Cartesian product of its axes, in this order (the dimensions of the stored dataset):

``activation, weights, sigma_w2[, sigma_b2][, width], depth``

``sigma_b2`` is an axis unless the sweep sits on the critical line (``critical=True``: :math:`\sigma_b^2`
solved from :math:`\chi_1 = 1` for each :math:`(\phi, \sigma_w^2)` and stored as a variable); ``width``
is an axis only for Monte Carlo sweeps.  Depth is last: one task computes a run of depths for one
point of the other axes, so the mean field (and the critical bias) is solved once per run.

Axis text (the command line's flags, also accepted by :func:`spectral.sweeps.sweep`):

* ``a,b,c`` -- the listed values;
* ``lo:hi:n`` -- ``n`` evenly spaced values from ``lo`` to ``hi`` inclusive (``numpy.linspace``);
  ``lo:hi:n:log`` -- geometrically spaced (``numpy.geomspace``); integer axes round and drop repeats;
* ``1,2,4,...,1024`` -- a progression continued to the last value: geometric when three or more listed
  terms have a constant ratio, arithmetic when they have a constant difference (``1,2,...,8`` is
  arithmetic: two terms read as in ``1, 2, ..., n``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..activations import activation as make_activation
from ..activations import split_activations

__all__ = ["SweepGrid", "Task", "parse_axis", "split_activations", "WEIGHTS"]

WEIGHTS = ("gaussian", "orthogonal")

#: a progression "a,b,...,z" must reach z within this many terms (a typo such as 1,2,...,1e9 stops here)
MAX_PROGRESSION_TERMS = 100_000

#: relative tolerance for "constant ratio / difference" of the listed terms and for hitting the last value
PROGRESSION_RTOL = 1e-9


@dataclass(frozen=True)
class Task:
    """One unit of work: a point of the leading axes and a run of depths.

    ``index`` holds the integer positions along the leading dimensions (all but depth), ``depth_slice``
    the positions along depth; ``params`` the values (activation, weights, sigma_w2, sigma_b2 or None,
    width or None) and ``depths`` the depths themselves.
    """

    index: tuple
    depth_slice: slice
    params: dict
    depths: tuple


@dataclass(frozen=True)
class SweepGrid:
    """Axes of a sweep (tuples of values); ``sigma_b2=None`` means on the critical line,
    ``width=None`` a theory sweep."""

    activation: tuple
    weights: tuple
    sigma_w2: tuple
    depth: tuple
    sigma_b2: tuple | None = None
    width: tuple | None = None

    def __post_init__(self):
        _check_nonempty("activation", self.activation)
        for w in _check_nonempty("weights", self.weights):
            if w not in WEIGHTS:
                raise ValueError(f"weights must be among {WEIGHTS}, got {w!r}")
        for s in _check_nonempty("sigma_w2", self.sigma_w2):
            _check_number("sigma_w2", s, low=0.0, strict=True)
        for d in _check_nonempty("depth", self.depth):
            _check_int("depth", d, low=1)
        for b in () if self.sigma_b2 is None else _check_nonempty("sigma_b2", self.sigma_b2):
            _check_number("sigma_b2", b, low=0.0, strict=False)
        for n in () if self.width is None else _check_nonempty("width", self.width):
            _check_int("width", n, low=1)
        for name in self.dims:
            values = getattr(self, name)
            if len(set(values)) != len(values):
                raise ValueError(f"{name} lists a value twice ({list(values)}); give each value once")

    @property
    def critical(self) -> bool:
        return self.sigma_b2 is None

    @property
    def monte_carlo(self) -> bool:
        return self.width is not None

    @property
    def dims(self) -> tuple:
        dims = ["activation", "weights", "sigma_w2"]
        if not self.critical:
            dims.append("sigma_b2")
        if self.monte_carlo:
            dims.append("width")
        dims.append("depth")
        return tuple(dims)

    @property
    def shape(self) -> tuple:
        return tuple(len(getattr(self, d)) for d in self.dims)

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    def coords(self) -> dict:
        """Coordinate arrays, one per dimension."""
        kinds = {"activation": str, "weights": str, "sigma_w2": float, "sigma_b2": float, "width": int,
                 "depth": int}
        return {d: np.asarray([kinds[d](v) for v in getattr(self, d)]) for d in self.dims}

    def tasks(self, chunk_depths: int | None = None, done=None) -> list:
        """The tasks covering the grid; ``done`` (bool array of the grid's shape) drops finished cells.

        A task covers ``chunk_depths`` consecutive depths (default: the whole depth axis) and only the
        depths not yet done; a run of depths broken by done cells still goes in one task (the skipped
        ones are not recomputed: each task lists its depths).
        """
        n_depth = len(self.depth)
        step = n_depth if chunk_depths is None else int(chunk_depths)
        if step < 1:
            raise ValueError(f"chunk_depths must be an integer >= 1 (or None for the whole depth axis), got "
                             f"{chunk_depths!r}")
        lead_dims = self.dims[:-1]
        out = []
        for index in np.ndindex(*self.shape[:-1]):
            params = self._params(lead_dims, index)
            for start in range(0, n_depth, step):
                todo = [j for j in range(start, min(start + step, n_depth))
                        if done is None or not bool(done[index + (j,)])]
                if todo:
                    out.append(Task(index=index, depth_slice=slice(todo[0], todo[-1] + 1), params=params,
                                    depths=tuple((j, int(self.depth[j])) for j in todo)))
        return out

    def _params(self, lead_dims, index) -> dict:
        values = {d: getattr(self, d)[i] for d, i in zip(lead_dims, index, strict=True)}
        return {"activation": str(values["activation"]), "weights": str(values["weights"]),
                "sigma_w2": float(values["sigma_w2"]),
                "sigma_b2": None if self.critical else float(values["sigma_b2"]),
                "width": None if not self.monte_carlo else int(values["width"])}

    @classmethod
    def from_spec(cls, *, activation, weights, sigma_w2, depth, sigma_b2=None, width=None) -> SweepGrid:
        """Build a grid from axis text (see the module docstring) or sequences of values."""
        acts = split_activations(activation) if isinstance(activation, str) else [str(a) for a in activation]
        # stored under the registry's canonical name (e.g. "erf(b=1)" for "erf"): saved data is unambiguous
        acts = [make_activation(a).name for a in acts]
        ws = [w.strip() for w in weights.split(",") if w.strip()] if isinstance(weights, str) else list(weights)
        return cls(activation=tuple(acts), weights=tuple(ws), sigma_w2=parse_axis(sigma_w2, float, "sigma_w2"),
                   depth=parse_axis(depth, int, "depth"),
                   sigma_b2=None if sigma_b2 is None else parse_axis(sigma_b2, float, "sigma_b2"),
                   width=None if width is None else parse_axis(width, int, "width"))


# ---------------------------------------------------------------------------------------------- parsing
def parse_axis(spec, kind, name: str) -> tuple:
    """Values of an axis from text (``a,b,c``; ``lo:hi:n[:log]``; ``a,b,...,z``), a number or a sequence."""
    if isinstance(spec, (int, float, np.integer, np.floating)) and not isinstance(spec, bool):
        return (_convert(spec, kind, name),)
    if not isinstance(spec, str):
        values = tuple(_convert(v, kind, name) for v in spec)
        return _check_nonempty(name, values)
    text = spec.replace(" ", "")
    if ":" in text:
        return _parse_range(text, kind, name)
    items = [t for t in text.split(",") if t]
    if "..." in items:
        return _parse_progression(items, kind, name)
    return _check_nonempty(name, tuple(_convert(t, kind, name) for t in items))


def _convert(value, kind, name):
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: {value!r} is not a number (axes take a,b,c or lo:hi:n or 1,2,4,...,64)"
                         ) from None
    if kind is int:
        if not math.isfinite(x) or x != round(x):
            raise ValueError(f"{name} must hold integers, got {value!r}")
        return int(round(x))
    return x


def _parse_range(text, kind, name) -> tuple:
    parts = text.split(":")
    if len(parts) not in (3, 4) or (len(parts) == 4 and parts[3] not in ("log", "lin")):
        raise ValueError(f"{name}: a range is lo:hi:n or lo:hi:n:log, got {text!r}")
    lo, hi = _convert(parts[0], float, name), _convert(parts[1], float, name)
    n = _convert(parts[2], int, name)
    if n < 1:
        raise ValueError(f"{name}: the number of points in {text!r} must be >= 1")
    if len(parts) == 4 and parts[3] == "log":
        if lo <= 0 or hi <= 0:
            raise ValueError(f"{name}: a log range needs lo, hi > 0, got {text!r}")
        values = np.geomspace(lo, hi, n)
    else:
        values = np.linspace(lo, hi, n)
    if kind is int:
        return tuple(dict.fromkeys(int(round(v)) for v in values))
    return tuple(float(v) for v in values)


def _parse_progression(items, kind, name) -> tuple:
    where = items.index("...")
    head, tail = items[:where], items[where + 1:]
    if len(head) < 2 or len(tail) != 1:
        raise ValueError(f"{name}: a progression is written a,b,...,z (at least two terms before '...' and "
                         f"one after), got {','.join(items)!r}")
    terms = [_convert(t, float, name) for t in head]
    last = _convert(tail[0], float, name)
    step = _progression_step(terms, name)
    values = list(terms)
    while len(values) < MAX_PROGRESSION_TERMS:
        nxt = step(values[-1])
        if _past(nxt, last, values[-1]):
            break
        values.append(nxt)
    else:
        raise ValueError(f"{name}: {','.join(items)!r} needs more than {MAX_PROGRESSION_TERMS} terms")
    if not math.isclose(values[-1], last, rel_tol=PROGRESSION_RTOL, abs_tol=PROGRESSION_RTOL):
        raise ValueError(f"{name}: the progression {','.join(head)},... does not reach {tail[0]} "
                         f"(it passes {values[-1]:g}); adjust the last term")
    values[-1] = last
    return tuple(_convert(v, kind, name) if kind is float else int(round(v)) for v in values)


def _progression_step(terms, name):
    diffs = np.diff(terms)
    if len(terms) >= 3 and all(t != 0 for t in terms):  # two terms read as arithmetic: 1,2,...,n
        ratios = np.asarray(terms[1:]) / np.asarray(terms[:-1])
        if ratios[0] > 0 and ratios[0] != 1 and np.allclose(ratios, ratios[0], rtol=PROGRESSION_RTOL):
            r = float(ratios[0])
            return lambda x: x * r
    if diffs[0] != 0 and np.allclose(diffs, diffs[0], rtol=PROGRESSION_RTOL):
        d = float(diffs[0])
        return lambda x: x + d
    raise ValueError(f"{name}: {terms} is neither geometric nor arithmetic; list the values instead")


def _past(nxt, last, prev) -> bool:
    """True when ``nxt`` has moved beyond ``last`` (in the direction of the progression)."""
    tol = PROGRESSION_RTOL * max(abs(last), 1.0)
    return nxt > last + tol if nxt > prev else nxt < last - tol


# ---------------------------------------------------------------------------------------------- checks
def _check_nonempty(name, values) -> tuple:
    values = tuple(values)
    if not values:
        raise ValueError(f"{name} must hold at least one value")
    return values


def _check_number(name, value, *, low, strict):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} values must be numbers, got {value!r}")
    bad = not math.isfinite(value) or (value <= low if strict else value < low)
    if bad:
        rel = ">" if strict else ">="
        raise ValueError(f"{name} values must be finite and {rel} {low:g}, got {value!r}")


def _check_int(name, value, *, low):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{name} values must be integers >= {low}, got {value!r}")
