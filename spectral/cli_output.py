"""Output of the command line: exit statuses, the one-line errors, readable tables, JSON, and the
``NOT CERTIFIED`` line (docs/design.md §8)."""

from __future__ import annotations

import math
import sys
import warnings

import numpy as np

from .jsonout import dumps

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_UNCERTIFIED, EXIT_MEMORY, EXIT_INTERNAL = 0, 1, 2, 3, 4, 5


class CLIError(Exception):
    """A user-facing error: printed as one line, exit status 2."""


class NotCertified(Exception):
    """A density could not be produced at all: printed as ``NOT CERTIFIED: <reason>``, exit status 3."""


def _fmt(value) -> str:
    """Format one value for the human-readable tables."""
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, float | np.floating):
        value = float(value)
        if not math.isfinite(value):
            return "inf" if value > 0 else ("-inf" if value < 0 else "undefined")
        if value == 0:
            return "0"
        if 1e-4 <= abs(value) < 1e6:
            return f"{value:.10g}"
        return f"{value:.6e}"
    if value is None:
        return "undefined"
    if isinstance(value, list | tuple):
        return ", ".join(_fmt(v) for v in value)
    return str(value)


def table(rows, title: str | None = None) -> str:
    """Render ``(label, value)`` rows as an aligned two-column table."""
    rows = [(str(k), _fmt(v)) for k, v in rows]
    width = max((len(k) for k, _ in rows), default=0)
    lines = [title, "-" * max(len(title), 20)] if title else []
    lines += [f"  {k:<{width}}  {v}" for k, v in rows]
    return "\n".join(lines)


def _emit(args, payload: dict, human: str) -> None:
    print(dumps(payload, indent=2) if args.json else human)


def _certificate_status(args, reasons, status: int = EXIT_OK) -> int:
    """Print ``NOT CERTIFIED: <reasons>`` (stderr) when there are any; the exit status that follows."""
    reasons = list(dict.fromkeys(r for r in reasons if r))
    if not reasons:
        return status
    print(f"NOT CERTIFIED: {'; '.join(reasons)}", file=sys.stderr)
    if status != EXIT_OK:
        return status
    return EXIT_OK if getattr(args, "allow_uncertified", False) else EXIT_UNCERTIFIED


class _CertificateWatch(warnings.catch_warnings):
    """Collect :class:`~spectral.density.UncertifiedDensityWarning` messages (the CLI reports them in its
    own ``NOT CERTIFIED`` line); other warnings are shown as usual."""

    def __enter__(self):
        from .density import UncertifiedDensityWarning

        self.category = UncertifiedDensityWarning
        self.log = super().__enter__()
        warnings.simplefilter("always")
        self.reasons: list[str] = []
        self.failures: list[str] = []  # densities that raised (DensityFailedWarning): nothing could be shown
        return self

    def __exit__(self, *exc):
        out = super().__exit__(*exc)
        for w in self.log:
            if issubclass(w.category, self.category):
                self.reasons.append(str(w.message))
                from .plotting import DensityFailedWarning

                if issubclass(w.category, DensityFailedWarning):
                    self.failures.append(str(w.message))
            else:
                warnings.showwarning(w.message, w.category, w.filename, w.lineno)
        return out


def _certificate_watch():
    return _CertificateWatch(record=True)
