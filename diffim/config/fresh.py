"""New configs with their defaults as copies of one made per class and process.

Making a config runs every field's default through pex_config, which records
the call stack at each value it sets (every element of a list field, every
registry entry): a new `diffim.image_difference.ImageDifferenceConfig` takes
0.25-0.45 CPU s, its `lsst.pex.config.Config.copy` 0.05 s. A validation
campaign makes one per scenario and middleware, and one per audited file.
`fresh_config` makes the first of a class and keeps it frozen; each call
returns a copy: the same values (and saved text) as ``config_class()``,
not frozen.
"""
from __future__ import annotations

import functools
import threading

__all__ = ["fresh_config"]

_LOCK = threading.Lock()
"""Makes each class's first config once when threads ask at the same time."""


def fresh_config(config_class):
    """``config_class()``: a config with the class's defaults, new to the caller.

    Parameters
    ----------
    config_class : `type` [`lsst.pex.config.Config`]

    Returns
    -------
    config : `lsst.pex.config.Config`
        Not frozen; changing it changes no other config.
    """
    with _LOCK:
        first = _first(config_class)
    return first.copy()


@functools.cache
def _first(config_class):
    config = config_class()
    config.freeze()
    return config
