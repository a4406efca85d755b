"""Two source catalogues compared: schema, 1:1 positional match, column by column.

``IDENTICAL`` means the same columns and dtypes and the same rows in the same
order with the same values (NaN equals NaN). Otherwise the sources are
matched by position (`validation.compare.matching`) and every shared column
is compared over the matched pairs (`validation.compare.columns`); the
verdict is ``WITHIN_TOLERANCE`` when schema, unmatched counts and every
judged column stay inside the `Tolerances`, else ``DIFFERENT``.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from diffim.io.atomic import write_parquet

from ..model import Comparison, Verdict
from .columns import classify_column, column_difference
from .matching import Match, match_catalogs
from .tolerances import Tolerances
from .values import differing_indices

__all__ = ["compare_catalogs"]

MAX_LISTED_IDS = 100
"""Unmatched ids listed in the details per side; the counts are always complete."""

MAX_SUMMARISED_COLUMNS = 4
"""Columns outside tolerance named in the one-line summary (all are in the details)."""


def compare_catalogs(a, b, product="diaSrc", tolerances=Tolerances(), reason=None,
                     artifact_dir=None):
    """Compare two catalogues source by source.

    Parameters
    ----------
    a, b : `pandas.DataFrame`
        The two catalogues, with ``x``/``y`` or ``coord_ra``/``coord_dec`` columns.
    product : `str`
        Name of what is compared, e.g. ``"diaSrc"``.
    tolerances : `Tolerances`
    reason : `str`, optional
        Why a difference is expected, stored with the result.
    artifact_dir : `str` or `pathlib.Path`, optional
        Where to write ``<product>_matched.parquet`` (one row per matched
        pair: row numbers, ids, separation and each compared column's a - b,
        fluxes in sigma, and a's position columns as ``<name>_a``); its path
        goes in ``artifacts["matched"]``.

    Returns
    -------
    comparison : `validation.model.Comparison`
        Metrics ``n_a``, ``n_b``, ``n_matched``, ``matched_fraction``,
        ``n_unmatched_a``, ``n_unmatched_b``, ``max_separation`` and
        ``column.<name>.max_abs`` / ``.n_differing`` / ``.measure``; details
        ``schema``, ``match`` (unmatched ids), ``columns`` (per column) and
        ``not_compared``.

    Raises
    ------
    ValidationError
        If the catalogues are not identical and have no common position
        columns to match on.
    """
    schema = _schema_differences(a, b)
    schema_differs = bool(schema["only_in_a"] or schema["only_in_b"] or schema["dtypes"])
    identical = not schema_differs and _same_rows(a, b)
    # Identical frames need no positions (nor positional ambiguity): row i is row i.
    match = (Match.row_by_row(len(a)) if identical else
             match_catalogs(a, b, tolerances.match_radius_pixels, tolerances.match_radius_arcsec))
    columns, signed, not_compared = _compare_columns(a, b, match, tolerances)
    n_matched = int(match.rows_a.size)
    metrics = {"n_a": len(a), "n_b": len(b), "n_matched": n_matched,
               "matched_fraction": n_matched / max(len(a), len(b)) if len(a) or len(b) else 1.0,
               "n_unmatched_a": int(match.unmatched_a.size),
               "n_unmatched_b": int(match.unmatched_b.size),
               "max_separation": float(match.separation.max(initial=0.0))}
    for name, summary in columns.items():
        for key in ("max_abs", "n_differing", "measure"):
            metrics[f"column.{name}.{key}"] = summary[key]
    details = {"schema": schema,
               "match": {"columns": list(match.columns), "unit": match.unit,
                         "unmatched_a": _ids(a, match.unmatched_a, match.columns),
                         "unmatched_b": _ids(b, match.unmatched_b, match.columns)},
               "columns": columns, "not_compared": not_compared}
    outside_columns = [name for name, summary in columns.items() if summary["outside"]]
    too_many_unmatched = max(match.unmatched_a.size, match.unmatched_b.size) > tolerances.unmatched_max
    if identical:
        verdict = Verdict.IDENTICAL
    elif (schema_differs and not tolerances.allow_schema_differences) or too_many_unmatched \
            or outside_columns:
        verdict = Verdict.DIFFERENT
    else:
        verdict = Verdict.WITHIN_TOLERANCE
    artifacts = {}
    if artifact_dir is not None and not identical:
        artifacts["matched"] = str(_write_matched(
            a, b, match, signed, Path(artifact_dir) / f"{product}_matched.parquet"))
    reordered = not np.array_equal(match.rows_a, match.rows_b)
    summary = _summarise(identical, metrics, schema, columns, outside_columns, match.unit,
                         reordered, not_compared)
    return Comparison(product, "catalog", verdict, summary, metrics=metrics, details=details,
                      reason=reason, artifacts=artifacts)


def _compare_columns(a, b, match, tolerances):
    """Every shared column over the matched pairs.

    Returns per-column summaries and signed differences (by name), and the
    names of the shared columns that cannot be compared.
    """
    shared = [name for name in a.columns if name in b.columns]
    declination = (a["coord_dec"].to_numpy(np.float64)[match.rows_a]
                   if "coord_dec" in shared else None)
    columns, signed, not_compared = {}, {}, []
    for name in shared:
        column_class = classify_column(name, a[name].dtype, b[name].dtype, shared)
        if column_class is None:
            not_compared.append(name)
            continue
        errors = ((a[f"{name}Err"].to_numpy(np.float64)[match.rows_a],
                   b[f"{name}Err"].to_numpy(np.float64)[match.rows_b])
                  if column_class == "flux" else None)
        difference = column_difference(
            column_class, a[name].to_numpy()[match.rows_a], b[name].to_numpy()[match.rows_b],
            tolerances, errors=errors, declination=declination if name == "coord_ra" else None)
        columns[name], signed[name] = difference.summary, difference.signed
    return columns, signed, not_compared


def _schema_differences(a, b):
    """Columns only on one side, and shared columns whose dtypes differ."""
    # The dtypes by name, not a Series per column (``a[name]``: 1 % of the default campaign).
    dtypes_a, dtypes_b = dict(zip(a.columns, a.dtypes)), dict(zip(b.columns, b.dtypes))
    return {"only_in_a": [name for name in a.columns if name not in dtypes_b],
            "only_in_b": [name for name in b.columns if name not in dtypes_a],
            "dtypes": {name: [str(dtype), str(dtypes_b[name])] for name, dtype in dtypes_a.items()
                       if name in dtypes_b and dtype != dtypes_b[name]}}


def _same_rows(a, b):
    """True when both frames hold equal values row by row, column by column (NaN == NaN)."""
    if len(a) != len(b) or list(a.columns) != list(b.columns):
        return False
    for name in a.columns:
        values_a, values_b = a[name].to_numpy(), b[name].to_numpy()
        if values_a.dtype.kind == "O":
            if not all(_same_object(x, y) for x, y in zip(values_a, values_b)):
                return False
        elif differing_indices(values_a, values_b).size:
            return False
    return True


def _same_object(value_a, value_b):
    """Equality of two cells of an object column (arrays per row, strings), NaN == NaN."""
    try:
        return bool(np.array_equal(value_a, value_b, equal_nan=True))
    except TypeError:  # equal_nan is refused for values that are not numbers
        return bool(np.array_equal(value_a, value_b))


def _ids(catalog, rows, position_columns=()):
    """Count, and ids and positions (up to `MAX_LISTED_IDS`), of ``rows``.

    Ids are the ``id`` column, else row numbers; positions are the values of
    the match's ``position_columns`` (e.g. ``x``, ``y``), so a reader can find
    an unmatched source in the image.
    """
    listed = rows[:MAX_LISTED_IDS]
    values = catalog["id"].to_numpy()[listed] if "id" in catalog else listed
    return {"count": int(rows.size), "ids": [int(value) for value in values],
            "by": "id" if "id" in catalog else "row",
            "positions": [[float(catalog[name].to_numpy()[row]) for name in position_columns]
                          for row in listed]}


def _write_matched(a, b, match, signed, path):
    """Write the matched pairs and each column's signed difference as Parquet."""
    table = {"row_a": match.rows_a, "row_b": match.rows_b, "separation": match.separation}
    if "id" in a and "id" in b:
        table["id_a"] = a["id"].to_numpy()[match.rows_a]
        table["id_b"] = b["id"].to_numpy()[match.rows_b]
    # Where each pair sits (a's position), to place a difference in the image.
    table.update({f"{name}_a": a[name].to_numpy()[match.rows_a] for name in match.columns})
    table.update({f"{name}_diff": values for name, values in signed.items()})
    frame = pd.DataFrame(table)
    write_parquet(path, frame)
    return Path(path)


def _summarise(identical, metrics, schema, columns, outside_columns, unit, reordered,
               not_compared):
    """One line: sources matched, unmatched, schema and the worst columns."""
    if identical:
        return f"identical: {metrics['n_a']} sources, {len(columns)} columns compared"
    parts = [f"{metrics['n_matched']} of {metrics['n_a']}/{metrics['n_b']} sources matched "
             f"(max separation {metrics['max_separation']:.3g} {unit})"]
    if metrics["n_unmatched_a"] or metrics["n_unmatched_b"]:
        parts.append(f"unmatched: {metrics['n_unmatched_a']} in A, {metrics['n_unmatched_b']} in B")
    if schema["only_in_a"] or schema["only_in_b"]:
        parts.append(f"columns only in A: {', '.join(schema['only_in_a']) or '-'}; "
                     f"only in B: {', '.join(schema['only_in_b']) or '-'}")
    if schema["dtypes"]:
        parts.append("dtypes differ: " + ", ".join(
            f"{name} {dtype_a}/{dtype_b}" for name, (dtype_a, dtype_b) in schema["dtypes"].items()))
    for name in outside_columns[:MAX_SUMMARISED_COLUMNS]:
        column = columns[name]
        parts.append(f"{name} {column['measure']:.3g} {column['unit']} "
                     f"(limit {column['limit']:.3g}) in {column['n_differing']} rows")
    if len(outside_columns) > MAX_SUMMARISED_COLUMNS:
        parts.append(f"{len(outside_columns) - MAX_SUMMARISED_COLUMNS} more columns outside "
                     "tolerance")
    if len(parts) == 1:
        differing = sum(1 for column in columns.values() if column["n_differing"])
        if differing:
            parts.append(f"{differing} columns differ within tolerance")
        elif reordered:
            parts.append("same values, rows in another order")
        else:
            parts.append(f"compared columns agree; not compared: {', '.join(not_compared)}")
    return "; ".join(parts)
