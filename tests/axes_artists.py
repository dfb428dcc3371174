"""Reading drawn figures back: the artists a plotting function tagged (``gid``) and the x range of a shaded span,
shared by the plotting tests."""

import numpy as np


def by_gid(artists, gid):
    """The artists among ``artists`` whose gid is ``gid`` (the plotting code tags what it draws)."""
    return [a for a in artists if a.get_gid() == gid]


def x_extent(patch):
    """x range of an axvspan: a Rectangle (matplotlib >= 3.9) or a Polygon (older)."""
    xy = np.asarray(patch.get_xy())
    if xy.ndim == 2:
        return float(xy[:, 0].min()), float(xy[:, 0].max())
    return float(patch.get_x()), float(patch.get_x() + patch.get_width())
