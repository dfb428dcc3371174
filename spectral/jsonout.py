"""The package's one JSON convention for numbers that JSON cannot hold.

JSON has no infinity and no NaN, and ``null`` alone cannot tell "infinite" from "could not be computed".
Every ``--json`` output and every ``to_dict()`` meant for JSON uses :func:`jsonable`:

=============================  =================================================
value                          JSON
=============================  =================================================
finite float / numpy float     the number
``+inf`` / ``-inf``            the strings ``"inf"`` / ``"-inf"`` (a true infinity, e.g. a depth scale
                               at criticality)
NaN, ``None``                  ``null`` (undefined or failed: nothing to report)
int, numpy integer, bool       the number / ``true`` / ``false``
Fraction, sympy number, other  its string (``"21/20"``), exact
dict / list / tuple / ndarray  converted element by element (dict keys become strings)
=============================  =================================================
"""

from __future__ import annotations

import json
import math
from fractions import Fraction

import numpy as np

__all__ = ["jsonable", "dumps", "number"]


def number(value):
    """One float in the convention above: the float, ``"inf"``/``"-inf"``, or None for NaN/None."""
    if value is None:
        return None
    x = float(value)
    if math.isnan(x):
        return None
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return x


def jsonable(value):
    """``value`` with every number converted as in the module table (recursively)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return number(value)
    if isinstance(value, Fraction):
        return str(value)
    if value is None or isinstance(value, str):
        return value
    return str(value)


def dumps(payload, **kwargs) -> str:
    """``json.dumps`` of :func:`jsonable` (``allow_nan=False``: a bare NaN can never be written)."""
    return json.dumps(jsonable(payload), allow_nan=False, **kwargs)
