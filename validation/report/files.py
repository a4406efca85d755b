"""Report files are written under a temporary name and renamed, never half-written."""
from __future__ import annotations

from pathlib import Path

from diffim.io.exposure_fits import write_atomically

__all__ = ["write_text_atomically"]


def write_text_atomically(path, text):
    """Write ``text`` (UTF-8) to ``path`` through a temporary file; return the path."""
    path = Path(path)
    write_atomically(path, lambda temporary: Path(temporary).write_text(text, encoding="utf-8"))
    return path
