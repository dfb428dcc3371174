r"""Sweeps over parameter grids on Dask, as labelled ``xarray`` datasets in Zarr or NetCDF.

>>> import spectral.sweeps as sw
>>> ds = sw.sweep(activation="tanh", weights="orthogonal,gaussian", sigma_w2="1.1:4:8", critical=True,
...               depth="1,4,16,64", quantities="m1,spread,condition", out="sweep.zarr")  # doctest: +SKIP
>>> ds.condition.sel(weights="gaussian", depth=64)                                          # doctest: +SKIP

Modules: :mod:`~spectral.sweeps.grid` (axes and tasks), :mod:`~spectral.sweeps.spec` (quantities and
settings), :mod:`~spectral.sweeps.cells` (the per-cell work, public API only),
:mod:`~spectral.sweeps.engine` (``dask.distributed``), :mod:`~spectral.sweeps.store` (dataset layout,
provenance, Zarr/NetCDF), :mod:`~spectral.sweeps.cli` (``spectral sweep``).  Needs the ``sweep`` extra
(``pip install spectral[sweep]``: dask, distributed, xarray, zarr).
"""

from .engine import FLUSH_SECONDS, local_workers, sweep
from .grid import SweepGrid, parse_axis
from .spec import DEFAULT_QUANTITIES, MC_QUANTITIES, THEORY_QUANTITIES, SweepSpec
from .store import open_sweep

__all__ = ["sweep", "open_sweep", "SweepGrid", "SweepSpec", "parse_axis", "local_workers", "FLUSH_SECONDS",
           "DEFAULT_QUANTITIES", "THEORY_QUANTITIES", "MC_QUANTITIES"]
