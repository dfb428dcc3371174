r"""PyTorch building blocks whose Jacobian law :mod:`spectral` knows (``pip install -e ".[torch]"``).

:class:`Residual` is the documented residual wrapper read by :func:`spectral.inspect`:
:math:`x \mapsto \alpha x + \beta f(x)`, with Jacobian :math:`\alpha I + \beta J_f` (the JSON spec entry
``{"residual": {"alpha": a, "beta": b, "branch": [...]}}``).  Other residual classes are read only when
registered explicitly (:func:`spectral.inspection.reading.register_residual`): a module whose ``forward``
happens to add its input cannot be recognised safely from the outside.
"""

from __future__ import annotations

import math

import torch

__all__ = ["Residual"]


class Residual(torch.nn.Module):
    r"""``forward(x) = alpha * x + beta * branch(x)``.

    Parameters
    ----------
    branch : torch.nn.Module
        The residual branch; its output must have the shape of its input.
    alpha, beta : float
        Finite real weights of the skip and the branch (e.g. ``beta = 1/sqrt(L)`` for ``L`` blocks).
    """

    def __init__(self, branch: torch.nn.Module, alpha: float = 1.0, beta: float = 1.0):
        super().__init__()
        if not isinstance(branch, torch.nn.Module):
            raise TypeError(f"branch must be a torch.nn.Module, got {type(branch).__name__}")
        for name, value in (("alpha", alpha), ("beta", beta)):
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise ValueError(f"{name} must be a finite real number (try 1.0), got {value!r}")
        self.branch = branch
        self.alpha = float(alpha)
        self.beta = float(beta)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.alpha * x + self.beta * self.branch(x)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha:g}, beta={self.beta:g}"
