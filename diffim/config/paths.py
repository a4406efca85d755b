"""Dotted config paths set on a pex_config Config: one rule for every caller.

``diffim subtract -c``, gen2's ``imageDifference.py -c`` and a scenario's
``config:`` mapping all set ``config.<a>.<b>... = value`` through `set_path`,
so a path one of them accepts the others accept too, and an unknown path or a
refused value is the same one-line error everywhere. Each caller keeps only
how it turns its text into a value (gen2 tries the string first, as gen2 did).
Paths are written as override files write them: attributes (fields, the
``name``/``names`` of choice and registry fields, aliases) and constant
``[key]`` items of choice, registry and dict fields (``subtract['al'].kernel``).
"""
from __future__ import annotations

import ast

from ..errors import DiffimError

__all__ = ["ConfigPathError", "ConfigValueError", "UnknownConfigFieldError", "get_path",
           "literal_or_text", "parse_path", "set_path"]


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


def parse_path(path):
    """The steps of a path: ``("attr", name)`` or ``("item", key)``, in order.

    Raises
    ------
    UnknownConfigFieldError
        ``path`` is not a chain of names, attributes and constant items.
    """
    try:
        node = ast.parse(path.strip(), mode="eval").body
    except SyntaxError:
        raise UnknownConfigFieldError(path) from None
    steps = []
    while not isinstance(node, ast.Name):
        if isinstance(node, ast.Attribute):
            steps.append(("attr", node.attr))
            node = node.value
        elif isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
            steps.append(("item", node.slice.value))
            node = node.value
        else:
            raise UnknownConfigFieldError(path)
    steps.append(("attr", node.id))
    return steps[::-1]


def get_path(config, path):
    """The value at ``path`` of ``config``.

    Raises
    ------
    UnknownConfigFieldError
        A step of ``path`` is not there.
    """
    target = config
    for kind, key in parse_path(path):
        target = _step(target, kind, key, path)
    return target


def set_path(config, path, value):
    """``config.<path> = value`` for a path as an override file writes it.

    Every attribute step must be a public, non-callable attribute of its
    parent (a field, a sub-config, a choice field's ``name``/``active``): a
    misspelt name never creates a new attribute.

    Raises
    ------
    UnknownConfigFieldError
        A step of ``path`` is not there.
    ConfigValueError
        The field refuses ``value`` (pex_config's reason, first sentence).
    """
    *parents, (kind, key) = parse_path(path)
    target = config
    for parent_kind, parent_key in parents:
        target = _step(target, parent_kind, parent_key, path)
    if kind == "attr":
        _step(target, kind, key, path)
    try:
        if kind == "item":
            target[key] = value
        else:
            setattr(target, key, value)
    except Exception as error:  # pex_config raises several types (FieldValidationError, ...)
        raise ConfigValueError(path, value, _one_line(error)) from None


def literal_or_text(text):
    """``text`` as a Python literal (``False``, ``1``, ``[1, 2]``), else the string itself."""
    try:
        return ast.literal_eval(text.strip())
    except (ValueError, SyntaxError):
        return text.strip()


def _step(target, kind, key, path):
    try:
        if kind == "item":
            return target[key]
        if key.startswith("_") or not hasattr(target, key) or callable(getattr(target, key)):
            raise AttributeError(key)
        return getattr(target, key)
    except Exception:  # AttributeError; pex_config's errors for an unknown key or property
        raise UnknownConfigFieldError(path) from None


def _one_line(error):
    # pex_config appends a multi-line "For more information ..." history to its messages.
    text = " ".join(str(error).split(" For more information")[0].split())
    return text or type(error).__name__
