"""The one rule for output files (``--out`` of every command), checked before any computation starts.

Rule: the file written is exactly the path given (no suffix is added, no folder is created).  The path must
be non-empty, must not name an existing folder, its parent folder must exist, and the file must be
creatable there (an existing file is replaced).  A required suffix (``.png``/``.pdf``/``.svg`` for figures,
``.npz`` for samples) is checked, not appended.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = ["RULE", "check_out_path"]

#: The rule in one line, for --help.
RULE = ("written exactly there (no suffix added, no folder created); the parent folder must exist and be "
        "writable; checked before the computation starts")


def check_out_path(text, flag: str = "--out", suffixes: tuple[str, ...] = ()) -> Path:
    """The output path ``text`` checked against the rule; raises ValueError naming ``flag``.

    Parameters
    ----------
    text : str or PathLike
    flag : str
        Name used in messages.
    suffixes : tuple of str
        Allowed suffixes (lower case, with the dot); empty: any.

    Returns
    -------
    pathlib.Path
        The path as given (the file written is exactly this one).
    """
    if text is None or not str(text).strip():
        raise ValueError(f"{flag} must be a file path, got an empty path")
    path = Path(os.path.expanduser(str(text)))
    if path.is_dir():
        raise ValueError(f"{flag} {str(text)!r} is a folder; give a file path inside it")
    if suffixes and path.suffix.lower() not in suffixes:
        raise ValueError(f"{flag} must end in {', '.join(suffixes[:-1])}{' or ' if len(suffixes) > 1 else ''}"
                         f"{suffixes[-1]} (the file is written exactly where it says), got {str(text)!r}")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise ValueError(f"{flag} {str(text)!r}: the folder {str(parent)!r} does not exist (create it first)")
    if path.exists() and not os.access(path, os.W_OK):
        raise ValueError(f"{flag} {str(text)!r}: the file exists and is not writable")
    try:  # the only sure test of a folder's writability is to write there (permissions, read-only mounts)
        with tempfile.NamedTemporaryFile(dir=parent, prefix=".spectral-write-test-"):
            pass
    except OSError as exc:
        raise ValueError(f"{flag} {str(text)!r}: cannot write in the folder {str(parent)!r} "
                         f"({exc.strerror or exc})") from exc
    return path
