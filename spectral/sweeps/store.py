"""The sweep's dataset: its layout, provenance, and the Zarr / NetCDF store it lives in.

Layout: one dimension per grid axis (:class:`~spectral.sweeps.grid.SweepGrid`), plus ``k`` (moments) and
``level`` (quantile levels) for the variables that need them; every variable and coordinate carries
``long_name`` and ``units`` attributes.  Per cell: ``done`` (computed; ``--resume`` skips these),
``failed``, ``certified``, ``message`` and ``seconds``.

Store format by extension: ``.zarr`` (Zarr format 2, consolidated metadata; written in place as tasks
finish, the values before the ``done`` flags, so a cell marked done always has its values) or ``.nc``
(NetCDF, written whole to a temporary file and renamed, so an interrupted write leaves the previous file).
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
from pathlib import Path

import numpy as np

from .spec import VARIABLES, SweepSpec

__all__ = ["new_dataset", "open_sweep", "write_store", "store_format", "check_resumable", "STATUS_VARIABLES"]

STATUS_VARIABLES = ("done", "failed", "certified", "message", "seconds")

_AXES = {
    "activation": ("activation function", ""),
    "weights": ("weight ensemble", ""),
    "sigma_w2": ("weight variance sigma_w^2", "1"),
    "sigma_b2": ("bias variance sigma_b^2", "1"),
    "width": ("layer width N", "neurons"),
    "depth": ("depth L", "layers"),
    "k": ("moment order", ""),
    "level": ("quantile level", "1"),
}
_STATUS = {
    "done": "cell computed (resume skips it)",
    "failed": "a step of the cell raised; see message",
    "certified": "every value computed and the density certified (theory) / sampled without error (Monte Carlo)",
    "message": "why a cell failed or is not certified, and how it was sampled",
    "seconds": "wall time of the cell on its worker",
}


def store_format(path) -> str:
    """``"zarr"`` or ``"netcdf"`` from the path's extension."""
    suffix = Path(str(path)).suffix.lower()
    if suffix == ".zarr":
        return "zarr"
    if suffix in (".nc", ".nc4", ".netcdf"):
        return "netcdf"
    raise ValueError(f"out must end in .zarr (Zarr store) or .nc (NetCDF file), got {str(path)!r}")


def new_dataset(grid, spec: SweepSpec, provenance: dict):
    """An empty dataset for ``grid`` (values NaN, ``done`` False) with ``provenance`` in its attributes."""
    import xarray as xr

    coords = {d: (d, v, _axis_attrs(d)) for d, v in grid.coords().items()}
    dims, shape = grid.dims, grid.shape
    extra = {"k": np.arange(1, spec.k + 1), "level": np.asarray(spec.quantile_levels, dtype=float)}
    data = {}
    for name in spec.variables():
        long_name, units, more = VARIABLES[name]
        vdims, vshape = (dims, shape) if more is None else (dims + (more,), shape + (len(extra[more]),))
        if more is not None and more not in coords:
            coords[more] = (more, extra[more], _axis_attrs(more))
        data[name] = (vdims, np.full(vshape, np.nan), {"long_name": long_name, "units": units})
    if grid.critical:
        data["sigma_b2"] = (dims, np.full(shape, np.nan),
                            {"long_name": "bias variance sigma_b^2 on the critical line chi_1 = 1", "units": "1"})
    for flag in ("done", "failed", "certified"):
        data[flag] = (dims, np.zeros(shape, dtype=bool), {"long_name": _STATUS[flag]})
    data["message"] = (dims, np.full(shape, "", dtype=object), {"long_name": _STATUS["message"]})
    data["seconds"] = (dims, np.full(shape, np.nan), {"long_name": _STATUS["seconds"], "units": "s"})
    ds = xr.Dataset(data, coords=coords)
    ds.attrs.update(provenance)
    return ds


def _axis_attrs(name) -> dict:
    long_name, units = _AXES[name]
    return {"long_name": long_name, "units": units} if units else {"long_name": long_name}


def provenance(grid, spec: SweepSpec, *, command=None, scheduler="", n_workers=0) -> dict:
    """Attributes recording what made the dataset (strings and numbers only, for NetCDF)."""
    import dask
    import xarray as xr

    import spectral

    now = _now()
    axes = {d: [v.item() if hasattr(v, "item") else v for v in vals] for d, vals in grid.coords().items()}
    return {
        "title": f"spectral sweep ({'Monte Carlo' if spec.monte_carlo else 'theory'}) of J J^T",
        "kind": "monte-carlo" if spec.monte_carlo else "theory",
        "critical": int(grid.critical),
        "spectral_version": spectral.__version__,
        "created": now, "updated": now,
        "parameters": spec.to_json(),
        "grid": json.dumps(axes),
        "command": command or "",
        "scheduler": scheduler, "n_workers": int(n_workers),
        "software": json.dumps({"python": platform.python_version(), "numpy": np.__version__,
                                "dask": dask.__version__, "xarray": xr.__version__}),
        "host": platform.node(),
        "cell_flags": "done: computed; failed: a step raised (see message); certified: " + _STATUS["certified"],
    }


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def open_sweep(path):
    """Load a stored sweep (Zarr or NetCDF) into memory as an ``xarray.Dataset``."""
    import xarray as xr

    path = str(path)
    fmt = store_format(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no sweep store at {path!r}")
    if fmt == "zarr":
        with xr.open_zarr(path, consolidated=True) as ds:
            out = ds.load()
    else:
        with xr.open_dataset(path) as ds:
            out = ds.load()
    for flag in ("done", "failed", "certified"):
        out[flag] = out[flag].astype(bool)
    out["message"] = out["message"].astype(object)
    return out


def write_store(ds, path, *, first: bool) -> None:
    """Write ``ds`` to ``path``: create the store (``first``) or update its values in place."""
    path = str(path)
    ds.attrs["updated"] = _now()
    if store_format(path) == "netcdf":
        tmp = f"{path}.tmp-{os.getpid()}"
        ds.to_netcdf(tmp)
        os.replace(tmp, path)
        return
    import zarr

    if first:
        ds.to_zarr(path, mode="w", zarr_format=2, consolidated=True)
        return
    values = [v for v in ds.data_vars if v != "done"]
    ds[values].drop_vars(list(ds.coords), errors="ignore").to_zarr(path, mode="r+")
    ds[["done"]].drop_vars(list(ds.coords), errors="ignore").to_zarr(path, mode="r+")
    group = zarr.open_group(path, mode="r+", zarr_format=2)
    group.attrs.update({k: v for k, v in ds.attrs.items() if k in ("updated", "n_workers", "scheduler",
                                                                     "worker_spectral_versions")})
    zarr.consolidate_metadata(path)


def check_resumable(stored, grid, spec: SweepSpec) -> None:
    """Raise ValueError unless ``stored`` holds the same grid and settings (so its done cells stand)."""
    for d, values in grid.coords().items():
        if d not in stored.dims or not np.array_equal(np.asarray(stored[d].values), values):
            raise ValueError(f"resume: the store's {d} axis differs from the requested one; give the same grid "
                             f"or a new out path")
    if set(grid.dims) != set(stored["done"].dims):
        raise ValueError(f"resume: the store's dimensions {tuple(stored['done'].dims)} differ from {grid.dims}")
    old = SweepSpec.from_json(stored.attrs["parameters"]).computed_fields()
    new = spec.computed_fields()
    diff = sorted(k for k in new if old.get(k) != new[k])
    if diff:
        raise ValueError(f"resume: the store was computed with other settings ({', '.join(diff)}: "
                         f"{[old.get(k) for k in diff]} there, {[new[k] for k in diff]} now); "
                         "give the same settings or a new out path")
