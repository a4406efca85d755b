"""An argument sent to many Parsl apps, pickled once and unpickled once per worker.

Parsl pickles an app's arguments at each call and the worker unpickles them
for each app. Some arguments are the same for every app of a command and
costly to rebuild: gen2's task runner holds the command's config (pex_config
pickles a config as its saved text, executed again on loading: 0.1-0.3 CPU s
for the image-difference config) and gen3's quantum executor holds a butler
(opened again on loading: about 0.07 CPU s). `Pickled` pickles such an
object once, where the apps are submitted; a worker process unpickles it at
its first app and keeps it for the next ones.
"""
from __future__ import annotations

import functools
import pickle

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

    def load(self):
        """The value: unpickled at the first call in this process, kept for the next ones."""
        return _loads(self.data)


@functools.lru_cache(maxsize=_KEPT)
def _loads(data):
    return pickle.loads(data)
