"""``spectral sweep``: the command line of :func:`spectral.sweeps.sweep`.

``add_sweep_parser(subparsers)`` registers the command and ``cmd_sweep(args)`` runs it (status 0 when
the sweep ran: cell failures are data, recorded in the store).  Bad input raises ValueError naming the
flag, which the command line prints as one line with status 2.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time

import numpy as np

from .grid import WEIGHTS, parse_axis, split_activations
from .spec import DEFAULT_POINTS, DEFAULT_QUANTITIES, MC_QUANTITIES, THEORY_QUANTITIES

__all__ = ["add_sweep_parser", "cmd_sweep", "summary"]


def add_sweep_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``sweep`` on an ``argparse`` subparsers object; return its parser."""
    p = subparsers.add_parser(
        "sweep", help="spectral quantities over a parameter grid on Dask (local cluster or --scheduler), "
                      "stored as a labelled xarray dataset in Zarr (.zarr) or NetCDF (.nc)",
        description="Axes take a,b,c or lo:hi:n (linspace; lo:hi:n:log for geomspace) or a progression "
                    "1,2,4,...,1024.")
    g = p.add_argument_group("grid")
    g.add_argument("--activation", default="tanh", help="comma-separated activations (default: tanh)")
    g.add_argument("--weights", default="orthogonal", help="comma-separated: gaussian, orthogonal (default: "
                                                           "orthogonal)")
    g.add_argument("--sigma-w2", default="1.05", help="sigma_w^2 axis (default: 1.05)")
    bias = g.add_mutually_exclusive_group()
    bias.add_argument("--sigma-b2", default=None, help="sigma_b^2 axis (default: 0)")
    bias.add_argument("--critical", action="store_true",
                      help="sigma_b^2 solved on the critical line chi_1 = 1 for each activation and sigma_w^2")
    g.add_argument("--depth", default="1,2,4,...,64", help="depth axis (default: 1,2,4,...,64)")
    g.add_argument("--quantities", default=",".join(DEFAULT_QUANTITIES),
                   help=f"comma-separated, theory: {', '.join(THEORY_QUANTITIES)}; Monte Carlo: "
                        f"{', '.join(MC_QUANTITIES)} (default: {','.join(DEFAULT_QUANTITIES)}; meanfield is "
                        "theory only)")
    g.add_argument("--points", type=int, default=DEFAULT_POINTS,
                   help=f"density grid for quantiles and condition (default: {DEFAULT_POINTS})")
    g.add_argument("--k", type=int, default=4, help="number of log-moments for 'moments' (default: 4)")
    m = p.add_argument_group("Monte Carlo")
    m.add_argument("--monte-carlo", action="store_true", help="sampled statistics instead of the theory")
    m.add_argument("--width", default=None, help="width axis of the sampled networks, e.g. 256,512,1024")
    m.add_argument("--samples", type=int, default=16, help="networks per cell (default: 16)")
    m.add_argument("--seed", type=int, default=0, help="seed of every cell (default: 0)")
    m.add_argument("--mode", default="network", choices=("network", "free"), help="(default: network)")
    m.add_argument("--backend", default="auto", choices=("auto", "numpy", "cupy"),
                   help="array backend on the workers; auto takes CuPy where a GPU is present (default: auto)")
    r = p.add_argument_group("run")
    r.add_argument("--out", default=None, help="store: .zarr or .nc (default: print the summary only)")
    r.add_argument("--resume", action="store_true", help="continue the store at --out, skipping done cells")
    r.add_argument("--overwrite", action="store_true", help="replace an existing store at --out")
    r.add_argument("--scheduler", default=None, help="address of a running Dask scheduler, e.g. tcp://host:8786")
    r.add_argument("--workers", type=int, default=None,
                   help="processes of the local cluster (default: the usable CPUs)")
    r.add_argument("--chunk-depths", type=int, default=None, help="depths per task (default: the whole axis)")
    r.add_argument("--no-progress", action="store_true", help="no progress bar (default: shown on a terminal)")
    p.add_argument("--json", action="store_true", help="print machine-readable JSON")
    p.set_defaults(func=cmd_sweep, command_line=None)  # the command line is recorded as provenance
    return p


def _axes(args) -> dict:
    """The grid axes from the flags, each error naming its flag."""
    acts = split_activations(args.activation)
    if not acts:
        raise ValueError("--activation must name at least one activation, e.g. tanh,relu")
    from spectral.activations import activation

    for a in acts:
        try:
            activation(a)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"--activation: {exc}") from None
    weights = [w.strip() for w in args.weights.split(",") if w.strip()]
    bad = [w for w in weights if w not in WEIGHTS] or ([""] if not weights else [])
    if bad:
        raise ValueError(f"--weights must be gaussian, orthogonal or a comma-separated list of them, got {bad[0]!r}")
    axes = {"activation": acts, "weights": weights}
    for flag, name, kind in (("--sigma-w2", "sigma_w2", float), ("--depth", "depth", int),
                             ("--sigma-b2", "sigma_b2", float), ("--width", "width", int)):
        text = getattr(args, name)
        axes[name] = None if text is None else _axis(text, kind, flag)
    _check_axes(axes, args)
    return axes


def _axis(text, kind, flag):
    try:
        values = parse_axis(text, kind, flag)
    except (ValueError, TypeError) as exc:
        raise ValueError(str(exc)) from None
    return values


def _check_axes(axes, args):
    if any(v <= 0 or not math.isfinite(v) for v in axes["sigma_w2"]):
        raise ValueError(f"--sigma-w2 values must be finite and > 0, got {list(axes['sigma_w2'])}")
    if any(d < 1 for d in axes["depth"]):
        raise ValueError(f"--depth values must be integers >= 1, got {list(axes['depth'])}")
    if axes["sigma_b2"] is not None and any(b < 0 or not math.isfinite(b) for b in axes["sigma_b2"]):
        raise ValueError(f"--sigma-b2 values must be finite and >= 0, got {list(axes['sigma_b2'])}")
    if args.monte_carlo and axes["width"] is None:
        raise ValueError("--width is required with --monte-carlo (the widths of the sampled networks, e.g. 256,512)")
    if not args.monte_carlo and axes["width"] is not None:
        raise ValueError("--width is a Monte Carlo axis: add --monte-carlo, or drop --width for the theory")
    if axes["width"] is not None and any(n < 1 for n in axes["width"]):
        raise ValueError(f"--width values must be integers >= 1, got {list(axes['width'])}")


def _check_settings(args) -> list:
    quantities = [q.strip() for q in args.quantities.split(",") if q.strip()]
    table = MC_QUANTITIES if args.monte_carlo else THEORY_QUANTITIES
    if args.monte_carlo and "meanfield" in quantities:
        quantities.remove("meanfield")  # the default list's mean field belongs to the theory
    bad = [q for q in quantities if q not in table] or ([""] if not quantities else [])
    if bad:
        raise ValueError(f"--quantities: {bad[0]!r} is not one of {', '.join(table)}")
    for flag, value, low in (("--points", args.points, 16), ("--k", args.k, 1), ("--samples", args.samples, 1),
                             ("--workers", args.workers, 1), ("--chunk-depths", args.chunk_depths, 1)):
        if value is not None and value < low:
            raise ValueError(f"{flag} must be an integer >= {low}, got {value}")
    if args.scheduler is not None and args.workers is not None:
        raise ValueError("--workers sizes the local cluster; drop it with --scheduler (the cluster has its workers)")
    if (args.resume or args.overwrite) and args.out is None:
        raise ValueError("--resume and --overwrite need --out (the store to continue or replace)")
    if args.resume and args.overwrite:
        raise ValueError("--resume keeps the store's done cells and --overwrite replaces it: give one of them")
    if args.out is not None and not str(args.out).lower().endswith((".zarr", ".nc")):
        raise ValueError(f"--out must end in .zarr (Zarr store) or .nc (NetCDF file), got {args.out!r}")
    return quantities


def cmd_sweep(args) -> int:
    """Run ``spectral sweep``; print the summary (a table, or JSON with ``--json``)."""
    from .engine import sweep

    axes = _axes(args)
    quantities = _check_settings(args)
    t0 = time.perf_counter()
    ds = sweep(axes["activation"], axes["weights"], axes["sigma_w2"], axes["depth"], sigma_b2=axes["sigma_b2"],
               critical=args.critical, quantities=quantities, monte_carlo=args.monte_carlo, width=axes["width"],
               samples=args.samples, seed=args.seed, mode=args.mode, backend=args.backend, points=args.points,
               k=args.k, out=args.out, resume=args.resume, overwrite=args.overwrite, scheduler=args.scheduler,
               n_workers=args.workers, chunk_depths=args.chunk_depths,
               progress=False if args.no_progress else None,
               command=args.command_line or " ".join(["spectral", *sys.argv[1:]]))
    payload = summary(ds, args.out, time.perf_counter() - t0)
    if args.json:
        print(json.dumps(payload, indent=2))
    else:
        print(_table(payload))
    return 0


def summary(ds, out, seconds) -> dict:
    """Counts of the sweep's cells and where it went (the ``--json`` payload)."""
    done = np.asarray(ds["done"].values, dtype=bool)
    failed = np.asarray(ds["failed"].values, dtype=bool) & done
    certified = np.asarray(ds["certified"].values, dtype=bool) & done
    cell_seconds = np.asarray(ds["seconds"].values, dtype=float)
    return {"out": out, "kind": ds.attrs.get("kind"), "dims": {d: int(n) for d, n in ds["done"].sizes.items()},
            "cells": int(done.size), "done": int(done.sum()), "failed": int(failed.sum()),
            "certified": int(certified.sum()), "not_certified": int((done & ~certified & ~failed).sum()),
            "variables": [v for v in ds.data_vars if v not in ("done", "failed", "certified", "message", "seconds")],
            "scheduler": ds.attrs.get("scheduler"), "workers": ds.attrs.get("n_workers"),
            "wall_seconds": float(seconds), "cell_seconds": float(np.nansum(cell_seconds))}


def _table(payload) -> str:
    from spectral.cli_output import table

    dims = " x ".join(f"{d} {n}" for d, n in payload["dims"].items())
    rows = [("store", payload["out"] or "(not written: give --out)"), ("kind", payload["kind"]), ("grid", dims),
            ("cells", payload["cells"]), ("done", payload["done"]), ("certified", payload["certified"]),
            ("not certified", payload["not_certified"]), ("failed (see message)", payload["failed"]),
            ("variables", ", ".join(payload["variables"])), ("scheduler", payload["scheduler"]),
            ("workers", payload["workers"]), ("wall time (s)", round(payload["wall_seconds"], 2)),
            ("cell time, summed (s)", round(payload["cell_seconds"], 2))]
    return table(rows, "spectral sweep")
