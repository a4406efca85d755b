"""Exposure files read once per process, for a process that reads the same files many times.

A validation campaign runs dozens of pipelines in one process over the same
inputs: each science calexp, template calexp and coadd patch was read,
checked against its checksums and its PSF table parsed again by every
scenario of both middlewares (a third of the campaign's reads). Once
`keep_read_exposures` is called, `read_exposure` keeps a file it reads a
second time, by the file's identity and version (device, inode, size,
modification and change times: an atomic rewrite is a new inode), and a
later read of the same, unchanged file is a copy of the planes
(`diffim.Exposure.copy`): the same values as a new read, not verified again.
Files read once (a campaign's outputs, compared once) are never kept, nor
files changed in the last second (a file's times are kept in ticks of a few
milliseconds: a change in place within the tick of the previous one would not
show). Off by default: a command that reads each file once would only hold
the memory.
"""
from __future__ import annotations

import collections
import contextlib
import os
import threading
import time

__all__ = ["cached", "keep_read_exposures", "read_exposures_kept"]

_SETTLED_NS = 10**9
"""A file last changed longer ago than this is kept: its times tell any later change."""

_KEPT = collections.OrderedDict()
"""File identity -> exposure, least recently used first."""
_READ_ONCE = set()
"""Identities of the files read once so far."""
_budget = {"bytes": 0, "used": 0}
_LOCK = threading.Lock()
"""Guards the three above: a campaign's gen2 and gen3 lanes run in threads of one process."""


def keep_read_exposures(max_bytes):
    """Keep exposures read again from here on in this process, their planes up to ``max_bytes``.

    The least recently read are dropped first; ``0`` keeps none (the default).

    Returns
    -------
    previous : `int`
        The budget until now.
    """
    with _LOCK:
        previous = _budget["bytes"]
        _budget["bytes"] = int(max_bytes)
        _evict()
    return previous


@contextlib.contextmanager
def read_exposures_kept(max_bytes):
    """`keep_read_exposures` for the length of a ``with`` block, then the budget as it was."""
    previous = keep_read_exposures(max_bytes)
    try:
        yield
    finally:
        keep_read_exposures(previous)


def cached(path, read):
    """The exposure in ``path``: a copy of the one kept for this very file, else ``read(path)``
    (kept at its second read when `keep_read_exposures` allows)."""
    if not _budget["bytes"]:
        return read(path)
    try:
        status = os.stat(path)
    except OSError:
        return read(path)
    key = (status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns, status.st_ctime_ns)
    with _LOCK:
        kept = _KEPT.get(key)
        if kept is not None:
            _KEPT.move_to_end(key)
    if kept is not None:  # never changed once kept: copied outside the lock
        return kept.copy()
    exposure = read(path)
    if time.time_ns() - status.st_ctime_ns < _SETTLED_NS:
        return exposure
    with _LOCK:
        if key not in _READ_ONCE:
            _READ_ONCE.add(key)
            return exposure
        size = _plane_bytes(exposure)
        if key not in _KEPT and size <= _budget["bytes"]:
            _KEPT[key] = exposure.copy()
            _budget["used"] += size
            _evict()
    return exposure


def _plane_bytes(exposure):
    return exposure.image.nbytes + exposure.variance.nbytes + exposure.mask.array.nbytes


def _evict():
    while _KEPT and _budget["used"] > _budget["bytes"]:
        _, exposure = _KEPT.popitem(last=False)
        _budget["used"] -= _plane_bytes(exposure)

