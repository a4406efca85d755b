"""An argument sent to many Parsl apps, pickled once and unpickled once per worker.

Parsl pickles an app's arguments at each call and the worker unpickles them
for each app. Some arguments are the same for every app of a command and
costly to rebuild: gen2's task runner holds the command's config (pex_config
pickles a config as its saved text, executed again on loading: 0.1-0.3 CPU s
for the image-difference config) and gen3's quantum executor holds a butler
(opened again on loading: about 0.07 CPU s). `Pickled` pickles such an
object once, where the apps are submitted; a worker process unpickles it at
its first app and keeps it for the next ones, found by the pickle's digest
(each app's copy of the bytes is a new object: a cache keyed on the bytes
hashed them whole at every app and kept every copy it was keyed on).
"""
from __future__ import annotations

import collections
import hashlib
import pickle
import threading

__all__ = ["Pickled"]

_KEPT = 8
"""Objects a worker keeps (a campaign on Parsl has a few scenarios in flight at once, each
with a gen2 runner, a gen3 executor and task nodes, and the readers of its outputs)."""


class Pickled:
    """``value`` pickled now; `load` unpickles it once per process.

    Parameters
    ----------
    value : object
        Not changed by its users: every app of a worker gets the same object.
    """

    def __init__(self, value):
        self.data = pickle.dumps(value)
        self.digest = hashlib.blake2b(self.data, digest_size=16).digest()

    def load(self):
        """The value: unpickled at the first call in this process, kept for the next ones."""
        with _LOCK:
            if self.digest in _LOADED:
                _LOADED.move_to_end(self.digest)
                return _LOADED[self.digest]
        value = pickle.loads(self.data)
        with _LOCK:
            # Another thread may have loaded it meanwhile: every caller gets the first.
            value = _LOADED.setdefault(self.digest, value)
            _LOADED.move_to_end(self.digest)
            while len(_LOADED) > _KEPT:
                _LOADED.popitem(last=False)
        return value


_LOADED = collections.OrderedDict()
"""Digest -> value, the least recently loaded first."""
_LOCK = threading.Lock()
