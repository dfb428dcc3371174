"""Per-law cache of the solver's results (edges, densities), dropped with the law."""

from __future__ import annotations

import weakref

_EDGE_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _cached(law, key, fn):
    """``fn()`` stored on ``law`` under ``key`` (computed every time for a law that cannot be weakly keyed)."""
    try:
        store = _EDGE_CACHE.setdefault(law, {})
    except TypeError:
        return fn()
    if key not in store:
        store[key] = fn()
    return store[key]
