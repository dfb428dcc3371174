"""What the figure builders ask of the library: a network from the figure's parameters, and its density."""

from __future__ import annotations

import warnings

from ..density import UncertifiedDensityWarning
from .style import _plain_title


def network_for(activation, weights, sigma_w2, sigma_b2, depth, critical):
    """The uniform network of a figure: on the critical line (sigma_b2 chosen) when ``critical``."""
    from ..product import Network

    if critical:
        return Network.critical(activation, sigma_w2=sigma_w2, depth=int(depth), weights=weights)
    return Network(activation=activation, weights=weights, sigma_w2=sigma_w2, sigma_b2=sigma_b2, depth=int(depth))


def density_of(net, variable, points):
    """(DensityResult or None, error message) -- a failed density is reported, never drawn silently; an
    uncertified one is drawn dashed with an :class:`UncertifiedDensityWarning` naming the failing checks."""
    from ..product import jacobian_law

    law = jacobian_law(net)
    try:
        with warnings.catch_warnings():  # reported once below, naming the network
            warnings.simplefilter("ignore", UncertifiedDensityWarning)
            res = (law.singular_values() if variable == "singular" else law).density(points)
    except (RuntimeError, ValueError, ArithmeticError) as exc:
        return None, f"{type(exc).__name__}: {exc}"
    if not res.certified:
        warnings.warn(f"density of {_plain_title(net)}, L={net.depth} is not certified: {res.reason}",
                      UncertifiedDensityWarning, stacklevel=3)
    return res, None
