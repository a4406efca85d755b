"""Output paths of the commands, checked before any work: never an input, never a directory."""
from __future__ import annotations

import os
from pathlib import Path

from ..errors import DiffimError

__all__ = ["check_output"]


def check_output(path, inputs, option="--output"):
    """Raise `DiffimError` if ``path`` cannot be written as an output of a command.

    Parameters
    ----------
    path : `pathlib.Path`
    inputs : iterable of `pathlib.Path` or `None`
        The command's input files (`None` and non-paths are skipped); the
        output must be none of them, whatever name it is given by.
    option : `str`
        The option naming ``path``, for the message.

    Raises
    ------
    DiffimError
        ``path`` is a directory, or is one of ``inputs``.
    """
    path = Path(path)
    if path.is_dir():
        raise DiffimError(f"{option} {path} is a directory; give the file to write")
    for given in inputs:
        if isinstance(given, Path) and path.exists() and given.exists() \
                and os.path.samefile(path, given):
            raise DiffimError(f"{option} {path} is the input {given}; it would be overwritten")
