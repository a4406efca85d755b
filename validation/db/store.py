"""`ResultsDB`: the harness's one door to its results database."""
from __future__ import annotations

from contextlib import contextmanager

import sqlalchemy as sa

from ..errors import ValidationError
from ..model import now_iso
from . import reading, writing
from .engine import is_read_only, open_engine, read_transaction, write_transaction
from .migrations import SCHEMA_VERSION, stored_version, upgrade
from .owner import current_owner
from .trend import trend_point

__all__ = ["ResultsDB"]


class ResultsDB:
    """Runs, scenarios, features, comparisons, metrics and audits, stored through SQLAlchemy.

    Opening creates the schema in an empty database and upgrades an older
    one, in one write transaction, so several processes may open (and then
    write) the same database at once; the same transaction marks
    ``abandoned`` the running runs whose process is gone
    (`validation.db.owner`). Each write method is one transaction: it
    commits whole or leaves nothing. A SQLite file this process cannot
    write is opened read-only: it must hold the current schema, and only
    the reading methods work.

    Parameters
    ----------
    url_or_path : `str` or `os.PathLike`
        A SQLite file path (created if missing) or an SQLAlchemy URL.
        PostgreSQL URLs (``postgresql+psycopg://user@host/db``) need the
        ``psycopg`` driver, which this project does not pin. All SQL here is
        portable; only the connection hooks and writer locks in
        `validation.db.engine` differ between SQLite and PostgreSQL.

    Attributes
    ----------
    name : `str`
        The file, or the URL without its password, as used in messages.
    read_only : `bool`
        Whether the database was opened read-only.

    Raises
    ------
    ValidationError
        If the URL is bad, the file cannot be created or opened, it is not a
        results database, its schema is newer than this code, or it is
        read-only and older.

    Examples
    --------
    >>> with ResultsDB("results.sqlite3") as db:               # doctest: +SKIP
    ...     run_id = db.start_run(run_info)
    ...     db.record_scenario(run_id, scenario_result)
    ...     db.finish_run(run_id, "2024-05-01T12:00:00", "complete")
    """

    def __init__(self, url_or_path):
        self._engine, self.name = open_engine(url_or_path)
        self.read_only = is_read_only(self._engine)
        try:
            if self.read_only:
                self._check_version()
            else:
                with self._writing() as connection:
                    upgrade(connection, self.name)
                    writing.mark_abandoned(connection, now_iso())
        except ValidationError:
            self._engine.dispose()
            raise

    def _check_version(self):
        with self._reading() as connection:
            found = stored_version(connection, self.name)
        if found != SCHEMA_VERSION:
            newer = found > SCHEMA_VERSION
            raise ValidationError(
                f"read-only results database {self.name} has schema version {found}, "
                + (f"newer than version {SCHEMA_VERSION} of this code; use a newer "
                   "diffim-validate" if newer else
                   f"older than version {SCHEMA_VERSION} of this code; open it once where it "
                   "is writable to upgrade it"))

    def close(self):
        """Release the database's connections."""
        self._engine.dispose()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    @contextmanager
    def _transaction(self, begin):
        """``begin(engine)``'s connection, with database errors as `ValidationError`."""
        try:
            with begin(self._engine) as connection:
                yield connection
        except sa.exc.DBAPIError as error:
            # Driver messages may span lines; ours are one line.
            driver_message = " ".join(str(error.orig).split())
            raise ValidationError(f"results database {self.name}: {driver_message}") from error

    def _writing(self):
        """A write transaction (holding the write lock) on this database."""
        return self._transaction(write_transaction)

    def _reading(self):
        """A read transaction (one snapshot, no lock) on this database."""
        return self._transaction(read_transaction)

    def start_run(self, run_info):
        """Record the start of a campaign run.

        Parameters
        ----------
        run_info : `validation.model.RunInfo`
            Its ``run_id`` is ignored; ``finished`` is normally `None` here.

        Returns
        -------
        run_id : `int`
            The new run's id; its status is ``"running"`` until `finish_run`
            (or until this process is found gone: ``"abandoned"``).
        """
        with self._writing() as connection:
            return writing.insert_run(connection, run_info, current_owner())

    def finish_run(self, run_id, finished, status):
        """Record when and how run ``run_id`` ended.

        Parameters
        ----------
        run_id : `int`
        finished : `str`
            ISO time.
        status : `str`
            E.g. ``"complete"``, ``"failed"``, ``"interrupted"``.

        Raises
        ------
        ValidationError
            If there is no such run.
        """
        with self._writing() as connection:
            writing.finish_run(connection, run_id, finished, status, self.name)

    def record_scenario(self, run_id, scenario):
        """Record one scenario and all its results, in one transaction.

        Stores the definition, the feature links (adding unknown features to
        the catalogue with empty descriptions), each data ID (as canonical
        JSON) with its error, each comparison, and each backend metric.

        Parameters
        ----------
        run_id : `int`
        scenario : `validation.model.ScenarioResult`

        Raises
        ------
        ValidationError
            If the run does not exist, already holds this scenario, or
            something in the scenario cannot be stored; then nothing of the
            scenario is stored.
        """
        with self._writing() as connection:
            writing.insert_scenario(connection, run_id, scenario, self.name)

    def record_audit(self, run_id, records):
        """Record the feature audit of run ``run_id``, in one transaction.

        Parameters
        ----------
        run_id : `int`
        records : `list` [`validation.model.AuditRecord`]
        """
        with self._writing() as connection:
            writing.insert_audits(connection, run_id, records, self.name)

    def record_feature_catalog(self, features):
        """Add or update historical features, in one transaction.

        Parameters
        ----------
        features : `dict` [`str`, `dict`]
            Name -> ``{"description": ..., "gen3_replacement": ...}``.
        """
        with self._writing() as connection:
            writing.upsert_features(connection, features)

    def feature_catalog(self):
        """All known features, by name.

        Returns
        -------
        features : `dict` [`str`, `dict`]
            Name -> ``{"description": ..., "gen3_replacement": ...}``.
        """
        with self._reading() as connection:
            return reading.feature_catalog(connection)

    def load_run(self, run_id):
        """Everything recorded for run ``run_id``, as it was recorded.

        Backend metric values come back as floats (NaN for NaN).

        Returns
        -------
        report : `validation.model.RunReport`

        Raises
        ------
        ValidationError
            If there is no such run.
        """
        with self._reading() as connection:
            return reading.load_report(connection, run_id, self.name)

    def run_status(self, run_id):
        """The status of run ``run_id``: ``"running"`` or what `finish_run` gave."""
        with self._reading() as connection:
            return reading.run_status(connection, run_id, self.name)

    def latest_run_id(self, campaign=None, before=None, status=None):
        """The most recent run's id, or `None`; see `validation.db.reading.latest_run_id`.

        Parameters
        ----------
        campaign : `str`, optional
        before : `int`, optional
            Only runs older than this run id.
        status : `str`, optional
            Only runs with this status, e.g. ``"complete"`` for a baseline.
        """
        with self._reading() as connection:
            return reading.latest_run_id(connection, campaign, before, status)

    def runs(self, limit=50):
        """The ``limit`` most recent runs, newest first.

        Returns
        -------
        runs : `list` [`validation.model.RunInfo`]
        """
        with self._reading() as connection:
            return reading.run_infos(connection, limit)

    def trend(self, campaign, limit=20):
        """Verdict counts and aggregated metrics of a campaign's last runs, oldest first.

        Parameters
        ----------
        campaign : `str`
        limit : `int`, optional
            How many of the most recent runs.

        Returns
        -------
        points : `list` [`validation.model.TrendPoint`]
            See `validation.db.trend.trend_point`.
        """
        with self._reading() as connection:
            return [trend_point(reading.load_report(connection, run_id, self.name))
                    for run_id in reading.recent_run_ids(connection, campaign, limit)]
