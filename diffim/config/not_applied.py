"""Settings a config accepts but a task does not apply: one line each, never silence.

A table maps config paths (a field or a whole sub-config) to the reason
their effect is missing; `not_applied` lists every leaf under those paths
whose value differs from a default config, as
``doUseRegister=True is accepted but not applied: <reason>``.
"""
from __future__ import annotations

import collections.abc

from lsst.pex.config import Config, ConfigurableInstance
from lsst.pex.config.configChoiceField import ConfigInstanceDict

from .fresh import DEFAULTS_LOCK, default_config
from .paths import ConfigPathError, get_path

__all__ = ["not_applied"]


def not_applied(config, table):
    """The lines for ``config``'s settings under ``table``'s paths that differ from the defaults.

    Parameters
    ----------
    config : `lsst.pex.config.Config`
        The config in use.
    table : `dict` [`str`, `str` or callable]
        Path -> reason, or a callable ``(config) -> reason or None`` (None:
        applied after all, e.g. a registry choice whose target does the work).

    Returns
    -------
    lines : `list` [`str`]
        In table order, then field order.
    """
    lines = []
    # Made once per process (a task is made per data ID); the entries of a registry
    # it makes on first reading are defaults too.
    with DEFAULTS_LOCK:
        default = default_config(type(config))
        for path, reason in table.items():
            if callable(reason):
                reason = reason(config)
            if reason is None:
                continue
            try:
                value, default_value = get_path(config, path), get_path(default, path)
            except ConfigPathError:  # not in this config (a retargeted sub-task has other fields)
                continue
            for where, value in _differences(path, value, default_value):
                lines.append(f"{where}={value!r} is accepted but not applied: {reason}")
    return lines


def _differences(path, value, default):
    """``(path, value)`` of each leaf of ``value`` that differs from ``default``."""
    if isinstance(value, ConfigurableInstance):
        if value.target is not default.target:
            yield f"{path}.retarget", f"{value.target.__module__}.{value.target.__name__}"
            return
        value, default = value.value, default.value
    if isinstance(value, Config):
        for name in value._fields:
            yield from _differences(f"{path}.{name}", getattr(value, name),
                                    getattr(default, name))
    elif isinstance(value, ConfigInstanceDict):
        selection = "names" if value._field.multi else "name"
        if _plain(getattr(value, selection)) != _plain(getattr(default, selection)):
            yield f"{path}.{selection}", _plain(getattr(value, selection))
        # Only entries this config made can hold settings (and reading another would add it).
        for key in sorted(value._dict):
            yield from _differences(f"{path}[{key!r}]", value[key], default[key])
    elif _plain(value) != _plain(default):
        yield path, _plain(value)


def _plain(value):
    """Lists, dicts and selection sets of pex_config as their plain Python counterparts."""
    if isinstance(value, (str, bytes)) or value is None:
        return value
    if isinstance(value, collections.abc.Mapping):
        return dict(value)
    if isinstance(value, collections.abc.Set):
        return sorted(value)
    if isinstance(value, collections.abc.Iterable):
        return list(value)
    return value
