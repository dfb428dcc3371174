"""``spectral inspect TARGET --input-shape N``: the command-line front of :func:`spectral.inspect`.

``TARGET`` is ``package.module:callable`` or ``path/to/file.py:callable``; the callable is called without
arguments and must return a ``torch.nn.Module`` (a module object itself is accepted too).  Loading runs the
user's code (``importlib``), which is what the command is asked to do; nothing else is ever imported or
evaluated from the text.  Exit statuses: 0 passed, 1 a check FAILED, 2 bad input (including a model with
unsupported modules under ``--strict``, a target that cannot be loaded, or a callable that raises), 3
INCOMPLETE (a check could not be made: theory not certified, unsupported modules under ``--no-strict``, or
a spec that cannot be predicted yet).  This module imports torch only when the command runs.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys
from pathlib import Path

__all__ = ["add_inspect_parser", "cmd_inspect", "load_target"]

#: exit status of an inspection that ran but could not make every check (as NOT CERTIFIED elsewhere)
EXIT_INCOMPLETE = 3


def _shape(text):
    parts = [p.strip() for p in str(text).split(",")]
    if len(parts) != 1 or not parts[0].isdigit() or not parts[0].isascii() or int(parts[0]) < 1:
        raise argparse.ArgumentTypeError(f"must be one positive integer N (a flat input of N features), got {text!r}")
    return (int(parts[0]),)


def add_inspect_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``inspect`` command to ``subparsers`` (from ``ArgumentParser.add_subparsers``)."""
    from spectral.cli_flags import int_flag, real_flag
    from spectral.outpath import RULE

    p = subparsers.add_parser(
        "inspect", help="a PyTorch model as initialized: the spec it reads, predicted vs measured spectrum of J J^T "
                        "(needs the torch extra; runs the given module's code)",
        description="Load a model by running user code (importlib; by your explicit request), read it into a "
                    "JSON spec, predict the law of J J^T and measure it at random inputs. Exit status: 0 passed, "
                    "1 FAILED, 2 bad input, 3 INCOMPLETE (a check could not be made).")
    p.add_argument("target", metavar="MODULE:CALLABLE",
                   help="package.module:callable or path/to/file.py:callable returning a torch.nn.Module (the "
                        "module's code is imported and run)")
    p.add_argument("--input-shape", type=_shape, required=True, help="features N of one flat input, e.g. 784")
    p.add_argument("--n-inputs", type=int_flag("--n-inputs", minimum=2, maximum=10_000), default=8,
                   help="random inputs at which the Jacobian is measured, 2..10000 (default: 8)")
    p.add_argument("--seed", type=int_flag("--seed", minimum=0), default=0, help="seed of the inputs (default: 0)")
    p.add_argument("--input-q", type=real_flag("--input-q", positive=True), default=1.0,
                   help="per-coordinate mean square of the inputs (default: 1)")
    p.add_argument("--method", choices=("auto", "dense", "matrix-free"), default="auto",
                   help="Jacobian spectrum: dense up to 2^20 entries under auto, else matrix-free (default: auto)")
    p.add_argument("--no-distribution", dest="distribution", action="store_false",
                   help="skip the density solver: m_1 and moments only (no KS, lambda_max or condition predicted)")
    p.add_argument("--strict", action=argparse.BooleanOptionalAction, default=True,
                   help="refuse a model with unsupported modules (--no-strict: list them and measure only)")
    p.add_argument("--out", default=None, help=f"figure of predicted vs measured spectrum (.png/.pdf/.svg); {RULE}")
    p.add_argument("--json", action="store_true", help="print machine-readable JSON (keys spec, predicted, measured, "
                                                       "passed, unsupported, method, ...)")
    p.set_defaults(func=cmd_inspect)
    return p


def load_target(text: str):
    """The ``torch.nn.Module`` named by ``module:callable`` or ``file.py:callable`` (see the module docstring)."""
    if not isinstance(text, str) or text.count(":") < 1:
        raise ValueError(f"MODULE:CALLABLE must look like mypkg.models:make_mlp or path/file.py:make_mlp, got {text!r}")
    where, _, name = text.rpartition(":")
    if not where or not name.isidentifier():
        raise ValueError(f"MODULE:CALLABLE must look like mypkg.models:make_mlp or path/file.py:make_mlp, got {text!r}")
    if where.endswith(".py") or "/" in where or "\\" in where:
        path = Path(where)
        if not path.is_file():
            raise ValueError(f"MODULE:CALLABLE: file {where!r} does not exist")
        spec = importlib.util.spec_from_file_location(f"_spectral_inspect_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        _run_user_code(text, spec.loader.exec_module, module)
    else:
        module = _run_user_code(text, importlib.import_module, where)
    obj = getattr(module, name, None)
    if obj is None:
        raise ValueError(f"MODULE:CALLABLE: {where!r} has no attribute {name!r}")
    import torch

    if not isinstance(obj, torch.nn.Module) and not callable(obj):
        raise ValueError(f"MODULE:CALLABLE: {text} is a {type(obj).__name__}, not a torch.nn.Module or a callable "
                         "returning one")
    model = obj if isinstance(obj, torch.nn.Module) else _run_user_code(text, obj)
    if not isinstance(model, torch.nn.Module):
        raise ValueError(f"MODULE:CALLABLE: {text} returned {type(model).__name__}, not a torch.nn.Module")
    return model


def _run_user_code(target, fn, *args):
    """Call into the user's code; whatever it raises becomes one line naming the target (exit status 2)."""
    try:
        return fn(*args)
    except Exception as exc:  # noqa: BLE001 - user code may raise anything; reported, never swallowed
        raise ValueError(f"MODULE:CALLABLE: loading {target} raised {type(exc).__name__}: {exc}") from exc


def cmd_inspect(args) -> int:
    from spectral.outpath import check_out_path

    out = None if args.out is None else check_out_path(args.out, "--out", (".png", ".pdf", ".svg"))
    if importlib.util.find_spec("torch") is None:
        raise ValueError("spectral inspect needs PyTorch: pip install -e \".[torch]\"")
    from .pipeline import inspect

    model = load_target(args.target)
    report = inspect(model, args.input_shape, n_inputs=args.n_inputs, seed=args.seed, input_q=args.input_q,
                     strict=args.strict, method=args.method, distribution=args.distribution)
    if out is not None:
        report.figure().savefig(out, dpi=150)
    if args.json:
        print(report.to_json(indent=2))
    else:
        print(report)
        if out is not None:
            print(f"figure: {out}", file=sys.stderr)
    return {"passed": 0, "failed": 1}.get(report.verdict, EXIT_INCOMPLETE)
