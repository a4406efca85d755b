"""Dotted config paths set on a pex_config Config: one rule for every caller.

``diffim subtract -c``, gen2's ``imageDifference.py -c`` and a scenario's
``config:`` mapping all set ``config.<a>.<b>... = value`` through `set_path`,
so a path one of them accepts the others accept too, and an unknown path or a
refused value is the same one-line error everywhere. Each caller keeps only
how it turns its text into a value (gen2 tries the string first, as gen2 did).
"""
from __future__ import annotations

import ast

from ..errors import DiffimError

__all__ = ["ConfigPathError", "ConfigValueError", "UnknownConfigFieldError", "literal_or_text",
           "set_path"]


class ConfigPathError(DiffimError):
    """A config path names nothing settable, or its field refuses the value.

    Attributes
    ----------
    path : `str`
        The dotted path as the caller gave it.
    """

    def __init__(self, message, path):
        super().__init__(message)
        self.path = path


class UnknownConfigFieldError(ConfigPathError):
    """A component of the path is not a field (or settable property) of its config."""

    def __init__(self, path):
        super().__init__(f"unknown config field {path!r}", path)


class ConfigValueError(ConfigPathError):
    """The field exists but refuses the value.

    Attributes
    ----------
    value : `object`
        The refused value.
    reason : `str`
        The field's reason, on one line.
    """

    def __init__(self, path, value, reason):
        super().__init__(f"config field {path!r}: {reason}", path)
        self.value = value
        self.reason = reason


def set_path(config, path, value):
    """``config.<path> = value`` for a dotted ``path``.

    Every component must be a public, non-callable attribute of its parent
    (a field, a sub-config, a choice field's ``name``/``active``): a
    misspelt name never creates a new attribute.

    Raises
    ------
    UnknownConfigFieldError
        A component of ``path`` is not there.
    ConfigValueError
        The field refuses ``value`` (pex_config's reason, first sentence).
    """
    *parents, leaf = path.strip().split(".")
    target = config
    for name in parents:
        if not _settable(target, name):
            raise UnknownConfigFieldError(path)
        target = getattr(target, name)
    if not _settable(target, leaf):
        raise UnknownConfigFieldError(path)
    try:
        setattr(target, leaf, value)
    except Exception as error:  # pex_config raises several types (FieldValidationError, ...)
        raise ConfigValueError(path, value, _one_line(error)) from None


def literal_or_text(text):
    """``text`` as a Python literal (``False``, ``1``, ``[1, 2]``), else the string itself."""
    try:
        return ast.literal_eval(text.strip())
    except (ValueError, SyntaxError):
        return text.strip()


def _settable(target, name):
    try:
        return (bool(name) and not name.startswith("_") and hasattr(target, name)
                and not callable(getattr(target, name)))
    except Exception:  # a property of a config may itself refuse to be read
        return False


def _one_line(error):
    # pex_config appends a multi-line "For more information ..." history to its messages.
    text = " ".join(str(error).split(" For more information")[0].split())
    return text or type(error).__name__
