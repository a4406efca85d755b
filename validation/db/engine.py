"""Engines for the results database: SQLite files by path, anything else by URL.

SQLite is tuned so that several processes can write one file at once without
losing rows: write-ahead logging (readers never block the writer), a busy
timeout (a writer waits for the lock instead of failing), and ``BEGIN
IMMEDIATE`` for write transactions (the write lock is taken at the start, so
a transaction never has to upgrade a read lock, which SQLite can only refuse).
On PostgreSQL, write transactions take a transaction-scoped advisory lock
instead, so writers queue the same way there and select-then-insert stays
race-free. PostgreSQL URLs name the pinned ``psycopg`` driver:
``postgresql+psycopg://user@host/validation`` (or ``...?host=/socket/dir``).

A SQLite file this process may not write (its permissions, or its
directory's: SQLite writes its WAL files there) is opened read-only, so
that reports can still be made from it; in a directory it cannot write,
also ``immutable`` (SQLite cannot then share its WAL index with writers,
and the file must not change while it is read).
"""
from __future__ import annotations

import os
import sqlite3
import time
import urllib.parse
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import event

from ..errors import ValidationError

__all__ = ["BUSY_TIMEOUT_SECONDS", "is_read_only", "open_engine", "read_transaction",
           "write_transaction"]

BUSY_TIMEOUT_SECONDS = 30.0

# Any constant works; it only has to be the same for every writer.
_POSTGRESQL_WRITER_LOCK = 0x646966666D

_SQLITE_BEGIN_MODE = "sqlite_begin_mode"
_WAL_RETRY_SECONDS = 0.05


def open_engine(url_or_path):
    """An engine for a SQLite file path or an SQLAlchemy URL.

    Parameters
    ----------
    url_or_path : `str` or `os.PathLike`
        A path (the SQLite file, created if missing) or a URL containing
        ``://`` such as ``sqlite:///results.sqlite3`` or
        ``postgresql+psycopg://user@host/validation``.

    Returns
    -------
    engine : `sqlalchemy.engine.Engine`
    name : `str`
        The file path, or the URL with its password hidden, for messages.

    Raises
    ------
    ValidationError
        If the URL cannot be parsed, names an unknown dialect or a driver that
        is not installed, or the SQLite file's directory does not exist.
    """
    text = os.fspath(url_or_path)
    if "://" in text:
        try:
            url = sa.make_url(text)
        except sa.exc.ArgumentError as error:
            raise ValidationError(f"bad results database URL {text!r}: {error}") from None
        name = url.render_as_string(hide_password=True)
    else:
        path = Path(text).expanduser().absolute()
        if not path.parent.is_dir():
            raise ValidationError(f"cannot create results database {path}: "
                                  f"directory {path.parent} does not exist")
        url = sa.URL.create("sqlite", database=str(path))
        name = str(path)
    try:
        if url.get_backend_name() == "sqlite":
            url = _read_only_if_unwritable(url)
            engine = sa.create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_SECONDS})
            _tune_sqlite(engine)
        else:
            engine = sa.create_engine(url)
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, ImportError) as error:
        raise ValidationError(f"cannot use results database URL {name}: {error}") from None
    return engine, name


def _read_only_if_unwritable(url):
    """``url``, or a read-only URI URL of its file when this process cannot write there."""
    database = url.database
    if not database or database == ":memory:" or url.query.get("uri"):
        return url
    path = Path(database)
    if not path.is_file() or (os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)):
        return url
    query = {"mode": "ro", "uri": "true"}
    if not os.access(path.parent, os.W_OK):
        query["immutable"] = "1"
    return url.set(database="file:" + urllib.parse.quote(str(path.absolute())), query=query)


def is_read_only(engine):
    """Whether ``engine`` was opened read-only by `open_engine` (an unwritable SQLite file)."""
    return engine.url.query.get("mode") == "ro"


def _enable_wal(cursor):
    """Switch the file to WAL unless it is already, waiting out other openers.

    The switch needs the file to itself and SQLite does not call its busy
    handler for it, so a writer of another process makes it fail at once
    ("database is locked"); it is retried until the busy timeout. A file
    already in WAL (every file after its first opening) is left as it is.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_SECONDS
    while True:
        try:
            if cursor.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(_WAL_RETRY_SECONDS)


def _tune_sqlite(engine):
    """Install the SQLite hooks described in the module docstring on ``engine``."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, connection_record):
        # Stop the sqlite3 module from issuing its own BEGINs, so that ours
        # (below) decide when transactions start and how they lock.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if not is_read_only(engine):
            _enable_wal(cursor)
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        mode = connection.get_execution_options().get(_SQLITE_BEGIN_MODE, "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")


@contextmanager
def write_transaction(engine):
    """A transaction that holds the database's write lock from its start.

    Parameters
    ----------
    engine : `sqlalchemy.engine.Engine`
        From `open_engine`.

    Yields
    ------
    connection : `sqlalchemy.engine.Connection`
        Committed when the block ends, rolled back if it raises.
    """
    with engine.connect() as connection:
        connection.execution_options(**{_SQLITE_BEGIN_MODE: "IMMEDIATE"})
        with connection.begin():
            if connection.dialect.name == "postgresql":
                connection.execute(sa.select(sa.func.pg_advisory_xact_lock(
                    _POSTGRESQL_WRITER_LOCK)))
            yield connection


@contextmanager
def read_transaction(engine):
    """A transaction for reading: one consistent snapshot, no write lock.

    Parameters
    ----------
    engine : `sqlalchemy.engine.Engine`
        From `open_engine`.

    Yields
    ------
    connection : `sqlalchemy.engine.Connection`
    """
    with engine.connect() as connection, connection.begin():
        yield connection
