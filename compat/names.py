"""Names that become parts of paths, and paths that must stay under their root.

A scenario name becomes a gen2 rerun directory, a gen3 RUN collection (a
datastore directory) and an override file; a data-ID value fills a mapper
template such as ``%(filter)s``. Such a name from a user's file or command
line must not leave the directory it is meant for, so it is checked against
a plain pattern before anything is written: letters, digits and ``_ . , : +
= @ -``, not starting with ``.`` (no ``..``, no hidden files), at most
`MAX_LENGTH` characters. Multi-part names (reruns, collections) are such
names joined by ``/``. `is_within` is the second line of defence, on the
final path.
"""
from __future__ import annotations

import os
import re

__all__ = ["MAX_LENGTH", "is_within", "name_problem", "path_name_problem", "value_problem"]

MAX_LENGTH = 200
"""Longest name accepted (the results database stores names in 200 characters)."""

_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.,:+=@-]*")
# Data-ID values may also be negative numbers.
_VALUE = re.compile(r"[A-Za-z0-9_+-][A-Za-z0-9_.,:+=@-]*")


def _shown(text):
    """``text`` quoted for a message, shortened when long."""
    return repr(text if len(text) <= 80 else text[:60] + "...")


def _problem(text, pattern, what):
    if not isinstance(text, str):
        return f"{what} must be a string, got {type(text).__name__}"
    if len(text) > MAX_LENGTH:
        return f"{what} {_shown(text)} is longer than {MAX_LENGTH} characters"
    if not pattern.fullmatch(text):
        return (f"{what} {_shown(text)} may hold only letters, digits and _ . , : + = @ - "
                "(not starting with '.')")
    return None


def name_problem(name, what):
    """Why ``name`` cannot be one path component, or `None` if it can.

    Parameters
    ----------
    name : `str`
    what : `str`
        What the name is, for the message (``"scenario name"``).

    Returns
    -------
    problem : `str` or `None`
        One line naming the bad name.
    """
    return _problem(name, _NAME, what)


def path_name_problem(name, what):
    """Why ``name`` cannot be ``/``-separated path components, or `None` if it can."""
    if not isinstance(name, str):
        return _problem(name, _NAME, what)
    for part in name.split("/"):
        if _problem(part, _NAME, what) is not None:
            return (f"{what} {_shown(name)} must be parts of letters, digits and _ . , : + = @ - "
                    "joined by '/' (no part empty or starting with '.')")
    return None


def value_problem(value, what):
    """Why the text of a data-ID value cannot fill a path template, or `None` if it can."""
    return _problem(value, _VALUE, what)


def is_within(root, path):
    """Whether ``path`` is ``root`` or under it once ``.`` and ``..`` are resolved.

    Symbolic links are not followed: a repository may link to input files
    elsewhere on purpose; what is checked is where the name leads.
    """
    root = os.path.normpath(os.path.abspath(root))
    path = os.path.normpath(os.path.abspath(path))
    return os.path.commonpath([root, path]) == root
