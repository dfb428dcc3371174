"""``spectral.inspect``: predicted and measured Jacobian spectra of real PyTorch models (needs the ``torch``
extra).  Modules: :mod:`~spectral.inspection.reading` (model -> JSON spec), :mod:`~spectral.inspection.predict`
(spec -> law), :mod:`~spectral.inspection.measuring` (dense or matrix-free spectra),
:mod:`~spectral.inspection.compare` (bands and verdict), :mod:`~spectral.inspection.report`
(:class:`InspectReport`), :mod:`~spectral.inspection.cli` (``spectral inspect``).
"""


from importlib import import_module

__all__ = ["inspect", "InspectReport"]
#: names imported on first use, so that ``spectral inspect --help`` (the CLI part) does not import torch
_WHERE = {"inspect": "pipeline", "InspectReport": "report"}


def __getattr__(name):
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'spectral.inspection' has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
