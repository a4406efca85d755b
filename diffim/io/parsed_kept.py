"""Parts of files parsed once per process, for a process that reads the same parts many times.

A validation campaign reads hundreds of exposure files whose WCS and PSF are
those of a few science and template images: parsing them again is 2.2 ms per
WCS (astropy) and about 4 ms per PSF table, copying a parsed WCS 0.05 ms. A
`ParsedKept` keeps what a parse made under the bytes it was made from and
hands out copies of it, or the kept object itself for what is never changed
(a PSF, which `diffim.Exposure.copy` shares too).
"""
from __future__ import annotations

import collections
import copy
import threading

__all__ = ["ParsedKept"]


class ParsedKept:
    """The most recently used ``count`` parses, by the bytes they were parsed from.

    Parameters
    ----------
    count : `int`
        How many are kept; the least recently used is dropped first.
    copied : `bool`
        Hand out deep copies (for what a reader may change), else the kept
        object itself (for what no reader changes).
    """

    def __init__(self, count, copied):
        self._count, self._copied = count, copied
        self._kept = collections.OrderedDict()
        self._lock = threading.Lock()  # a campaign's gen2 and gen3 lanes read in threads

    def get(self, key, parse):
        """``parse()``, kept under ``key`` (a deep copy of it if copied); ``parse()`` itself
        when ``key`` is None (not kept). What ``parse`` raises is not kept."""
        if key is None:
            return parse()
        with self._lock:
            found = key in self._kept
            if found:
                self._kept.move_to_end(key)
                kept = self._kept[key]
        if not found:
            kept = parse()
            with self._lock:
                self._kept[key] = kept
                while len(self._kept) > self._count:
                    self._kept.popitem(last=False)
        return copy.deepcopy(kept) if self._copied else kept
