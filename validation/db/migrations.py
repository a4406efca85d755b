"""Schema versions of the results database and the path from each to the next.

Every database is built by walking this path from version 0 (an empty file
or schema): version 1 is the base layout, and each later version is one
upgrade step. A new database and a years-old one therefore reach the current
layout (`validation.db.schema`) by the same code, which keeps the upgrade
path exercised on every run rather than only when someone opens an old file.

The tables below are a frozen record of the layouts the steps create. They
deliberately repeat columns that also appear in `validation.db.schema`:
that module follows the current version, these must keep describing what
old versions created, or old databases would upgrade to something else.

Versions
--------
1
    Runs, features, scenarios and their feature links, data-ID results,
    comparisons (without artifacts), backend metrics.
2
    ``comparisons.artifacts_json``: files written beside a comparison.
3
    ``audits``: the feature-deprecation audit of config and pipeline files.
4
    ``audits.references_json``: what an audited file names without the
    audit running it (imports, loaded files, pipeline imports).
5
    ``audits.era`` and ``audits.findings_json``: the date an override file
    was written for, and what it relied on then and would change today.
6
    ``runs.owner_host``, ``owner_pid``, ``owner_start``: the process running
    a campaign (`validation.db.owner`), to find runs whose process died;
    ``runs.planned_json``: the scenarios a run set out to run. Both NULL in
    runs recorded before.
"""
from __future__ import annotations

import sqlalchemy as sa

from ..errors import ValidationError
from .schema import schema_info

__all__ = ["SCHEMA_VERSION", "stored_version", "upgrade"]

SCHEMA_VERSION = 6

_history = sa.MetaData()

_V1_TABLES = [
    sa.Table(
        "schema_info", _history,
        sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    ),
    sa.Table(
        "runs", _history,
        sa.Column("run_id", sa.Integer, primary_key=True),
        sa.Column("campaign", sa.String(200), nullable=False, index=True),
        sa.Column("code_version", sa.String(200), nullable=False),
        sa.Column("config_hash", sa.String(200), nullable=False),
        sa.Column("machine", sa.String(200), nullable=False),
        sa.Column("python", sa.String(200), nullable=False),
        sa.Column("packages_json", sa.Text, nullable=False),
        sa.Column("started", sa.String(40), nullable=False),
        sa.Column("finished", sa.String(40)),
        sa.Column("status", sa.String(40), nullable=False),
    ),
    sa.Table(
        "features", _history,
        sa.Column("feature_id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("gen3_replacement", sa.Text, nullable=False),
    ),
    sa.Table(
        "scenarios", _history,
        sa.Column("scenario_id", sa.Integer, primary_key=True),
        sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.run_id"), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("template_mode", sa.String(100), nullable=False),
        sa.Column("definition_json", sa.Text, nullable=False),
        sa.Column("expected_reason", sa.Text),
        sa.UniqueConstraint("run_id", "name"),
    ),
    sa.Table(
        "scenario_features", _history,
        sa.Column("scenario_id", sa.Integer, sa.ForeignKey("scenarios.scenario_id"),
                  primary_key=True),
        sa.Column("position", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("feature_id", sa.Integer, sa.ForeignKey("features.feature_id"),
                  nullable=False),
    ),
    sa.Table(
        "data_id_results", _history,
        sa.Column("data_id_result_id", sa.Integer, primary_key=True),
        sa.Column("scenario_id", sa.Integer, sa.ForeignKey("scenarios.scenario_id"),
                  nullable=False, index=True),
        sa.Column("data_id_json", sa.Text, nullable=False),
        sa.Column("error", sa.Text),
    ),
    sa.Table(
        "comparisons", _history,
        sa.Column("comparison_id", sa.Integer, primary_key=True),
        sa.Column("data_id_result_id", sa.Integer,
                  sa.ForeignKey("data_id_results.data_id_result_id"), nullable=False, index=True),
        sa.Column("product", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("verdict", sa.String(40), nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("metrics_json", sa.Text, nullable=False),
        sa.Column("details_json", sa.Text, nullable=False),
    ),
    sa.Table(
        "metrics", _history,
        sa.Column("metric_id", sa.Integer, primary_key=True),
        sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.run_id"), nullable=False),
        sa.Column("scenario_id", sa.Integer, sa.ForeignKey("scenarios.scenario_id"),
                  nullable=False),
        sa.Column("data_id_result_id", sa.Integer,
                  sa.ForeignKey("data_id_results.data_id_result_id"), nullable=False),
        sa.Column("backend", sa.String(40), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("value", sa.Float),
        sa.Index("ix_metrics_run_name", "run_id", "name"),
    ),
]

_V3_AUDITS = sa.Table(
    "audits", _history,
    sa.Column("audit_id", sa.Integer, primary_key=True),
    sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.run_id"), nullable=False, index=True),
    sa.Column("path", sa.Text, nullable=False),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("features_json", sa.Text, nullable=False),
    sa.Column("evidence_json", sa.Text, nullable=False),
    sa.Column("problems_json", sa.Text, nullable=False),
)


def _create_base(connection):
    _history.create_all(connection, tables=_V1_TABLES)


def _add_comparison_artifacts(connection):
    # Standard SQL that SQLite and PostgreSQL both accept; the default fills
    # the rows written before version 2, which had no artifacts.
    connection.execute(sa.text(
        "ALTER TABLE comparisons ADD COLUMN artifacts_json TEXT NOT NULL DEFAULT '{}'"))


def _add_audits(connection):
    _history.create_all(connection, tables=[_V3_AUDITS])


def _add_audit_references(connection):
    connection.execute(sa.text(
        "ALTER TABLE audits ADD COLUMN references_json TEXT NOT NULL DEFAULT '[]'"))


def _add_audit_eras(connection):
    # Two statements: SQLite adds one column per ALTER TABLE.
    connection.execute(sa.text("ALTER TABLE audits ADD COLUMN era TEXT NOT NULL DEFAULT ''"))
    connection.execute(sa.text(
        "ALTER TABLE audits ADD COLUMN findings_json TEXT NOT NULL DEFAULT '[]'"))


def _add_run_owner_and_plan(connection):
    for column in ("owner_host VARCHAR(200)", "owner_pid INTEGER", "owner_start VARCHAR(100)",
                   "planned_json TEXT"):
        connection.execute(sa.text(f"ALTER TABLE runs ADD COLUMN {column}"))


_STEPS = {1: _create_base, 2: _add_comparison_artifacts, 3: _add_audits,
          4: _add_audit_references, 5: _add_audit_eras, 6: _add_run_owner_and_plan}


def stored_version(connection, name):
    """The schema version a database holds (0 for an empty one).

    Parameters
    ----------
    connection : `sqlalchemy.engine.Connection`
    name : `str`
        The database as shown to users (file or URL), for messages.

    Returns
    -------
    version : `int`

    Raises
    ------
    ValidationError
        If the database holds tables but none of ours, or no version row.
    """
    tables = sa.inspect(connection).get_table_names()
    if schema_info.name not in tables:
        if tables:
            raise ValidationError(f"{name} is not a results database: it has tables "
                                  f"{', '.join(sorted(tables))} but no {schema_info.name}")
        return 0
    version = connection.execute(sa.select(sa.func.max(schema_info.c.version))).scalar()
    if version is None:
        raise ValidationError(f"results database {name} has an empty {schema_info.name} table")
    return version


def upgrade(connection, name, target=SCHEMA_VERSION):
    """Bring a database to schema version ``target``, creating it if it is empty.

    Run it inside one write transaction, so that a failed step leaves the
    database at its old version and concurrent openers wait for each other.

    Parameters
    ----------
    connection : `sqlalchemy.engine.Connection`
        In a transaction that holds the write lock.
    name : `str`
        The database as shown to users (file or URL), for messages.
    target : `int`, optional
        The version to reach; older ones only to build test databases.

    Returns
    -------
    found : `int`
        The version the database had before (0 if it was empty).

    Raises
    ------
    ValidationError
        If the database is newer than ``target`` (the code cannot read it
        safely), or is not a results database.
    """
    found = stored_version(connection, name)
    if found > target:
        raise ValidationError(f"results database {name} has schema version {found}, newer than "
                              f"version {target} of this code; use a newer diffim-validate")
    for version in range(found + 1, target + 1):
        _STEPS[version](connection)
    if found != target:
        # The version table has one layout in every version: it is how a
        # reader learns which layout the rest has.
        connection.execute(sa.delete(schema_info))
        connection.execute(sa.insert(schema_info).values(version=target))
    return found
