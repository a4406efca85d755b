"""How values that have no SQL column type are written to and read from text columns."""
from __future__ import annotations

import json
import math

import numpy as np

from ..errors import ValidationError

__all__ = ["data_id_key", "from_json", "metric_from_column", "metric_to_column", "to_json"]


def _plain(value):
    """JSON fallback for numpy scalars and arrays, which comparisons often produce."""
    if isinstance(value, (np.generic, np.ndarray)):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} {value!r} is not JSON-serialisable")


def to_json(value, what):
    """``value`` as JSON text (dict order kept, NaN and infinities allowed).

    Parameters
    ----------
    value : `object`
        Dicts, lists, strings, numbers, booleans, `None`, numpy scalars/arrays.
    what : `str`
        What ``value`` is, e.g. ``"scenario 'x' comparison 'diaSrc' details"``.

    Returns
    -------
    text : `str`

    Raises
    ------
    ValidationError
        If ``value`` holds something JSON cannot represent; names ``what``.
    """
    try:
        return json.dumps(value, default=_plain)
    except (TypeError, ValueError) as error:
        raise ValidationError(f"{what}: {error}") from None


def from_json(text):
    """The value `to_json` wrote."""
    return json.loads(text)


def data_id_key(data_id, what):
    """The canonical JSON of a data ID: sorted keys, no spaces, so equal IDs match in SQL.

    Parameters
    ----------
    data_id : `dict`
    what : `str`
        Where the data ID comes from, for the error message.

    Returns
    -------
    text : `str`

    Raises
    ------
    ValidationError
        If the data ID is not a JSON-serialisable dict.
    """
    if not isinstance(data_id, dict):
        raise ValidationError(f"{what}: data ID {data_id!r} is not a dict")
    try:
        return json.dumps(data_id, sort_keys=True, separators=(",", ":"), default=_plain)
    except (TypeError, ValueError) as error:
        raise ValidationError(f"{what}: data ID {data_id!r}: {error}") from None


def metric_to_column(value, what):
    """A metric as a column value: a float, or `None` for NaN.

    Parameters
    ----------
    value : `float`
        Any real number (ints and numpy scalars included).
    what : `str`
        Which metric, for the error message.

    Returns
    -------
    column_value : `float` or `None`

    Raises
    ------
    ValidationError
        If ``value`` is not a number.
    """
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValidationError(f"{what}: {value!r} is not a number") from None
    # SQLite turns NaN into NULL on its own; saying so here keeps PostgreSQL equal.
    return None if math.isnan(number) else number


def metric_from_column(column_value):
    """The metric a `metric_to_column` value stands for (NULL is NaN)."""
    return math.nan if column_value is None else column_value
