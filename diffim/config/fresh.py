"""Configs with their class's defaults, made once per class and process.

Making a config runs every field's default through pex_config, which records
the call stack at each value it sets (every element of a list field, every
registry entry): a new `diffim.image_difference.ImageDifferenceConfig` takes
0.25-0.45 CPU s, its `lsst.pex.config.Config.copy` 0.05 s. A validation
campaign makes one per scenario and middleware and one per audited file, and
`diffim.config.not_applied` compares every task's config with the defaults.
`default_config` is the one config of a class that they share (only read);
`fresh_config` is a copy of it: the same values and saved text as
``config_class()``, changed by its caller alone.

The shared config is frozen, which makes every entry of its registries (a
registry entry is made when first read, and freezing reads them all): a copy
copies them, and freezing the copy (``imageDifference.py`` freezes its config
after parsing) no longer makes each entry anew, 32 -> 12 ms per copy and
freeze of `diffim.image_difference.ImageDifferenceConfig`.
"""
from __future__ import annotations

import functools
import threading

__all__ = ["DEFAULTS_LOCK", "default_config", "defaults_copied", "fresh_config"]

DEFAULTS_LOCK = threading.RLock()
"""Held while a `default_config` is read: reading a registry entry it has not made yet
makes it, and a copy made meanwhile in another thread would see its entries change."""
_MAKING_DEFAULT = set()
"""Classes whose `default_config` is being made: their ``cls()`` is made field by field."""


def fresh_config(config_class):
    """``config_class()``: a config with the class's defaults, new to the caller.

    Parameters
    ----------
    config_class : `type` [`lsst.pex.config.Config`]

    Returns
    -------
    config : `lsst.pex.config.Config`
        Not frozen; changing it changes no other config. Registry entries
        registered later are choices of it, as of a new config.
    """
    with DEFAULTS_LOCK:
        return default_config(config_class).copy()


def defaults_copied(config_class):
    """Class decorator: ``config_class()`` (no arguments) is `fresh_config` of the class.

    For config classes that the middleware makes anew for every run: pipe_base
    makes each task's config when it builds a pipeline graph, then freezes it.
    A copy of the frozen default has the same values and saved text: a gen3
    ``imageDifference`` config was 60 ms to make and 11 to freeze, 16 ms to
    copy and 1 to freeze. Subclasses inherit it; with arguments, and for
    `default_config` itself, the class makes its config field by field.
    """
    def __new__(cls, *args, **kwargs):
        if args or kwargs or cls in _MAKING_DEFAULT:
            # The next class's in ``cls``'s order: a base's own (`legacy_aliases`) included.
            return super(config_class, cls).__new__(cls, *args, **kwargs)
        return fresh_config(cls)

    config_class.__new__ = __new__
    return config_class


@functools.cache
def default_config(config_class):
    """The config of ``config_class`` with its defaults shared in this process: only read,
    holding `DEFAULTS_LOCK`; frozen, its registries' entries made."""
    with DEFAULTS_LOCK:
        _MAKING_DEFAULT.add(config_class)
        try:
            config = config_class()
        finally:
            _MAKING_DEFAULT.discard(config_class)
    config.freeze()
    return config
