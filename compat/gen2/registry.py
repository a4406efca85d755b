"""The gen2 ``registry.sqlite3``: which (visit, ccd, filter, ...) combinations exist.

Tables as gen2's ingest made them: ``raw`` (one row per visit and ccd,
``unique(visit, ccd)``) and ``raw_visit`` (one row per visit). The mapper
fills data ID keys from them and `Butler.queryMetadata`/`Butler.subset`
enumerate them. A connection is opened per call, so a `Registry` can be
handed to worker processes.
"""
from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from .errors import RegistryLookupError

__all__ = ["REGISTRY_FILE", "Registry"]

REGISTRY_FILE = "registry.sqlite3"

_SCHEMA = """
CREATE TABLE raw (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    visit INTEGER NOT NULL,
    ccd INTEGER NOT NULL,
    filter TEXT NOT NULL,
    date TEXT NOT NULL,
    expTime DOUBLE NOT NULL,
    UNIQUE(visit, ccd)
);
CREATE TABLE raw_visit (
    visit INTEGER NOT NULL PRIMARY KEY,
    filter TEXT NOT NULL,
    date TEXT NOT NULL
);
"""


class Registry:
    """A registry file.

    Parameters
    ----------
    path : `str` or `pathlib.Path`
        An existing ``registry.sqlite3``.
    """

    def __init__(self, path):
        self.path = Path(path)

    @classmethod
    def create(cls, path):
        """Create an empty registry with the ``raw`` and ``raw_visit`` tables.

        Raises
        ------
        FileExistsError
            If ``path`` exists: a registry is never silently replaced.
        """
        path = Path(path)
        if path.exists():
            raise FileExistsError(f"{path}: registry exists already")
        with closing(sqlite3.connect(path)) as connection, connection:
            connection.executescript(_SCHEMA)
        return cls(path)

    def _connect(self):
        # Read-only unless inserting: a query must never create an empty file.
        return closing(sqlite3.connect(self.path))

    def columns(self, table):
        """Column names of ``table`` (empty when it does not exist)."""
        with self._connect() as connection:
            return [row[1] for row in connection.execute(f"PRAGMA table_info({_quote(table)})")]

    def add_exposures(self, rows):
        """Insert ``raw`` rows (dicts with visit, ccd, filter, date, expTime) and their visits.

        Raises
        ------
        RegistryLookupError
            If a (visit, ccd) is present already, or one visit gets two
            filters or dates.
        """
        rows = list(rows)
        with self._connect() as connection, connection:
            try:
                connection.executemany(
                    "INSERT INTO raw (visit, ccd, filter, date, expTime) "
                    "VALUES (:visit, :ccd, :filter, :date, :expTime)", rows)
            except sqlite3.IntegrityError as error:
                raise RegistryLookupError(f"{self.path}: cannot add exposures ({error})") from None
            visits = {(row["visit"], row["filter"], row["date"]) for row in rows}
            connection.executemany("INSERT OR IGNORE INTO raw_visit (visit, filter, date) "
                                   "VALUES (?, ?, ?)", sorted(visits))
            conflicting = connection.execute(
                "SELECT raw.visit FROM raw JOIN raw_visit USING (visit) "
                "WHERE raw.filter != raw_visit.filter OR raw.date != raw_visit.date").fetchall()
            if conflicting:
                # Raising inside the transaction rolls both inserts back.
                visits = sorted({visit for visit, in conflicting})
                raise RegistryLookupError(f"{self.path}: visits {visits} have detectors with "
                                          "different filters or dates")

    def query(self, table, columns, where):
        """Distinct values of ``columns`` in rows of ``table`` matching ``where``, sorted.

        Parameters
        ----------
        table : `str`
        columns : `list` [`str`]
        where : `dict`
            Column -> value; keys that are not columns of ``table`` are ignored
            (a data ID may hold keys of other tables).

        Returns
        -------
        rows : `list` [`tuple`]
        """
        known = set(self.columns(table))
        unknown = [column for column in columns if column not in known]
        if unknown:
            raise RegistryLookupError(f"{self.path}: table {table!r} has no column(s) {unknown}")
        conditions = {key: value for key, value in where.items() if key in known}
        sql = (f"SELECT DISTINCT {', '.join(_quote(c) for c in columns)} FROM {_quote(table)}"
               + (" WHERE " + " AND ".join(f"{_quote(k)} = ?" for k in conditions)
                  if conditions else "")
               + f" ORDER BY {', '.join(_quote(c) for c in columns)}")
        with self._connect() as connection:
            return connection.execute(sql, list(conditions.values())).fetchall()


def _quote(name):
    """An SQL identifier; names come from policies and data IDs, never trusted as SQL."""
    return '"' + str(name).replace('"', '""') + '"'
