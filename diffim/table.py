"""Tables passed between tasks: numpy record arrays, or pandas DataFrames from callers."""
from __future__ import annotations

import numpy as np

__all__ = ["column_names"]


def column_names(table):
    """The column names of a record array or DataFrame (without importing pandas); None
    for anything else (e.g. plain positions)."""
    if isinstance(table, np.ndarray):
        return table.dtype.names
    columns = getattr(table, "columns", None)
    return None if columns is None else list(columns)
