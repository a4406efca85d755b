"""Parts of files parsed once per process, for a process that reads the same parts many times.

A validation campaign reads hundreds of exposure files whose WCS and PSF are
those of a few science and template images: parsing them again is 2.2 ms per
WCS (astropy) and about 4 ms per PSF table, copying a parsed WCS 0.05 ms. A
`ParsedKept` keeps what a parse made under a digest of the bytes it was made
from and hands out copies of it, or the kept object itself for what is never
changed (a PSF, which `diffim.Exposure.copy` shares too).
"""
from __future__ import annotations

import collections
import copy
import hashlib
import threading

__all__ = ["ParsedKept"]


class ParsedKept:
    """The most recently used parses, by the bytes they were parsed from, up to a budget of
    those bytes.

    Parameters
    ----------
    max_bytes : `int`
        The kept parses' source bytes at most; the least recently used is
        dropped first. What a parse makes can be larger than its source (a
        PSF table's images: about four times).
    copied : `bool`
        Hand out deep copies (for what a reader may change), else the kept
        object itself (for what no reader changes).
    """

    def __init__(self, max_bytes, copied):
        self._max_bytes, self._copied = max_bytes, copied
        self._kept = collections.OrderedDict()
        """Digest of the source -> (parse, source's length)."""
        self._bytes = 0
        self._lock = threading.Lock()  # a campaign's gen2 and gen3 lanes read in threads

    def get(self, source, parse):
        """``parse()``, kept under a digest of ``source`` (`bytes`; a deep copy of it if
        copied); ``parse()`` itself when ``source`` is None (not kept). What ``parse``
        raises is not kept."""
        if source is None:
            return parse()
        key = hashlib.blake2b(source, digest_size=20).digest()
        with self._lock:
            found = key in self._kept
            if found:
                self._kept.move_to_end(key)
                kept = self._kept[key][0]
        if not found:
            kept = parse()
            if len(source) <= self._max_bytes:  # a larger one would drop every other
                self._keep(key, kept, len(source))
        return copy.deepcopy(kept) if self._copied else kept

    def _keep(self, key, parsed, size):
        """Keep ``parsed`` under ``key``, dropping the least recently used beyond the budget."""
        with self._lock:
            if key not in self._kept:
                self._kept[key] = parsed, size
                self._bytes += size
            while self._bytes > self._max_bytes:
                self._bytes -= self._kept.popitem(last=False)[1][1]
