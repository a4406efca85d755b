"""The era of an override file: the date of the stack it was written for.

In order of precedence:

1. ``--era DATE`` on the command line (for every file audited);
2. a note in the file's header comments, ``# era: 2016-11-13``;
3. an entry for the file in a ``PROVENANCE.md`` beside it: a line naming
   the file (as ``name`` or `` `name` ``) and an ISO date, the first date on
   the line being its era (the layout of ``tests/data/gen2_overrides``);
4. the date of the file's last commit, when it lies in a git work tree.

No era: the audit reports only what holds today.
"""
from __future__ import annotations

import datetime
import os
import re
import subprocess
from dataclasses import dataclass

from ..errors import ValidationError

__all__ = ["Era", "file_era", "parse_era"]

_DATE = r"(\d{4}-\d{2}-\d{2})"
_HEADER_NOTE = re.compile(r"^#\s*era\s*[:=]\s*" + _DATE, re.IGNORECASE)
_HEADER_LINES = 40
"""Comment lines at the top of a file searched for its era note."""


@dataclass(frozen=True)
class Era:
    """A file's era and what says so.

    Attributes
    ----------
    date : `str`
        ISO date.
    source : `str`
        ``"--era"``, ``"header FILE:LINE"``, ``"PROVENANCE.md:LINE"`` or ``"git"``.
    """

    date: str
    source: str

    def __str__(self):
        return f"{self.date} ({self.source})"


def parse_era(text):
    """``--era``'s value as an ISO date.

    Raises
    ------
    ValidationError
        ``text`` is not a date ``YYYY-MM-DD``.
    """
    try:
        return datetime.date.fromisoformat(text).isoformat()
    except ValueError:
        raise ValidationError(f"audit: --era {text!r} is not a date YYYY-MM-DD") from None


def file_era(path, text, era=None):
    """The era of the file ``path`` with contents ``text``, or `None`.

    Parameters
    ----------
    path : `str`
    text : `str`
    era : `str`, optional
        ``--era`` (ISO date), which wins over everything the file says.

    Returns
    -------
    era : `Era` or `None`
    """
    if era:
        return Era(era, "--era")
    return _header_era(path, text) or _provenance_era(path) or _git_era(path)


def _header_era(path, text):
    for number, line in enumerate(text.splitlines()[:_HEADER_LINES], start=1):
        if line.strip() and not line.lstrip().startswith("#"):
            break
        match = _HEADER_NOTE.match(line.strip())
        if match:
            return Era(match.group(1), f"header {path}:{number}")
    return None


def _provenance_era(path):
    provenance = os.path.join(os.path.dirname(path), "PROVENANCE.md")
    if not os.path.isfile(provenance):
        return None
    name = re.escape(os.path.basename(path))
    naming = re.compile(rf"(^|[\s|`]){name}([\s|`]|$)")
    with open(provenance, encoding="utf-8", errors="replace") as stream:
        for number, line in enumerate(stream, start=1):
            date = re.search(_DATE, line)
            if date and naming.search(line):
                return Era(date.group(1), f"{provenance}:{number}")
    return None


def _git_era(path):
    """The committer date of the file's last commit; `None` outside git or when untracked.

    The repository may be anyone's: ``git log`` runs no pager, and the
    commands a repository's own config could name (an fsmonitor) are off.
    """
    directory = os.path.dirname(os.path.abspath(path))
    try:
        result = subprocess.run(
            ["git", "--no-pager", "-c", "core.fsmonitor=false", "-C", directory, "log", "-1",
             "--format=%cs", "--", os.path.basename(path)],
            capture_output=True, text=True, timeout=30, check=False, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return None
    date = result.stdout.strip()
    return Era(date, "git") if result.returncode == 0 and re.fullmatch(_DATE, date) else None
