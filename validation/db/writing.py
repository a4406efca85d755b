"""Writing harness records into the results database, on a connection in a write transaction.

Each function leaves the transaction to its caller, so that one scenario (its
data IDs, comparisons, metrics and feature links) commits or vanishes whole.
"""
from __future__ import annotations

import sqlalchemy as sa

from ..errors import ValidationError
from ..model import RunStatus, Verdict
from .codec import data_id_key, metric_to_column, to_json
from .owner import Owner, is_gone
from .schema import (audits, comparisons, data_id_results, features, metrics, runs,
                     scenario_features, scenarios)

__all__ = ["RUNNING", "finish_run", "insert_audits", "insert_run", "insert_scenario",
           "mark_abandoned", "require_run", "upsert_features"]

RUNNING = RunStatus.RUNNING.value
"""The status of a run between `insert_run` and its ``finish_run``."""

_FEATURE_FIELDS = ("description", "gen3_replacement")


def require_run(connection, run_id, name):
    """Raise `ValidationError` unless run ``run_id`` exists in database ``name``."""
    found = connection.execute(sa.select(runs.c.run_id).where(runs.c.run_id == run_id)).first()
    if found is None:
        raise ValidationError(f"no run {run_id} in results database {name}")


def insert_run(connection, run_info, owner):
    """Add a run, with status `RUNNING`; returns its id.

    Parameters
    ----------
    connection : `sqlalchemy.engine.Connection`
    run_info : `validation.model.RunInfo`
        Its ``run_id`` and ``status`` are ignored: the database assigns an
        id, and the run is running.
    owner : `validation.db.owner.Owner`
        The process that runs it.

    Returns
    -------
    run_id : `int`
    """
    result = connection.execute(sa.insert(runs).values(
        campaign=run_info.campaign, code_version=run_info.code_version,
        config_hash=run_info.config_hash, machine=run_info.machine, python=run_info.python,
        packages_json=to_json(run_info.packages, f"run of {run_info.campaign!r} packages"),
        started=run_info.started, finished=run_info.finished, status=RUNNING,
        owner_host=owner.host, owner_pid=owner.pid, owner_start=owner.start,
        planned_json=to_json(list(run_info.planned_scenarios),
                             f"run of {run_info.campaign!r} planned scenarios")))
    return result.inserted_primary_key[0]


def mark_abandoned(connection, finished):
    """Mark ``abandoned`` every running run whose process is gone (`validation.db.owner`).

    Parameters
    ----------
    connection : `sqlalchemy.engine.Connection`
    finished : `str`
        ISO time recorded as the end of those runs (when they were found).

    Returns
    -------
    run_ids : `list` [`int`]
        The runs marked.
    """
    rows = connection.execute(sa.select(runs.c.run_id, runs.c.owner_host, runs.c.owner_pid,
                                        runs.c.owner_start)
                              .where(runs.c.status == RUNNING, runs.c.owner_pid.is_not(None)))
    gone = [row.run_id for row in rows
            if is_gone(Owner(row.owner_host, row.owner_pid, row.owner_start))]
    if gone:
        connection.execute(sa.update(runs).where(runs.c.run_id.in_(gone))
                           .values(status=RunStatus.ABANDONED.value, finished=finished))
    return gone


def finish_run(connection, run_id, finished, status, name):
    """Set the end time and status of run ``run_id`` of database ``name``."""
    require_run(connection, run_id, name)
    connection.execute(sa.update(runs).where(runs.c.run_id == run_id)
                       .values(finished=finished, status=status))


def _feature_id(connection, name, catalog_entry=None):
    """The id of feature ``name``, adding it (or updating its catalog entry) as needed.

    Select-then-write is safe here because every write transaction holds the
    database's write lock (see `validation.db.engine`), on SQLite and PostgreSQL.
    """
    row = connection.execute(sa.select(features).where(features.c.name == name)).first()
    if row is None:
        values = catalog_entry or dict.fromkeys(_FEATURE_FIELDS, "")
        return connection.execute(
            sa.insert(features).values(name=name, **values)).inserted_primary_key[0]
    if catalog_entry is not None and any(getattr(row, key) != catalog_entry[key]
                                         for key in _FEATURE_FIELDS):
        connection.execute(sa.update(features).where(features.c.feature_id == row.feature_id)
                           .values(**catalog_entry))
    return row.feature_id


def upsert_features(connection, catalog):
    """Add or update the description and gen3 replacement of each feature.

    Parameters
    ----------
    connection : `sqlalchemy.engine.Connection`
    catalog : `dict` [`str`, `dict`]
        Feature name -> ``{"description": ..., "gen3_replacement": ...}``;
        a missing key means an empty string.

    Raises
    ------
    ValidationError
        If an entry is not a dict or has a key other than those two.
    """
    for name, entry in catalog.items():
        if not isinstance(entry, dict) or set(entry) - set(_FEATURE_FIELDS):
            raise ValidationError(f"feature {name!r}: catalog entry {entry!r} must be a dict "
                                  f"with keys among {', '.join(_FEATURE_FIELDS)}")
        _feature_id(connection, name, {key: str(entry.get(key, "")) for key in _FEATURE_FIELDS})


def insert_scenario(connection, run_id, scenario, name):
    """Add one scenario of run ``run_id`` with everything it holds.

    Parameters
    ----------
    connection : `sqlalchemy.engine.Connection`
    run_id : `int`
    scenario : `validation.model.ScenarioResult`
    name : `str`
        The database, for messages.

    Raises
    ------
    ValidationError
        If the run does not exist, already has a scenario of that name, or a
        value cannot be stored (the caller's rollback then removes every row
        this call added).
    """
    require_run(connection, run_id, name)
    label = f"scenario {scenario.name!r}"
    duplicate = connection.execute(sa.select(scenarios.c.scenario_id).where(
        scenarios.c.run_id == run_id, scenarios.c.name == scenario.name)).first()
    if duplicate is not None:
        raise ValidationError(f"{label} is already recorded for run {run_id} in {name}")
    scenario_id = connection.execute(sa.insert(scenarios).values(
        run_id=run_id, name=scenario.name, description=scenario.description,
        template_mode=scenario.template_mode,
        definition_json=to_json(scenario.definition, f"{label} definition"),
        expected_reason=scenario.expected_reason)).inserted_primary_key[0]
    links = [{"scenario_id": scenario_id, "position": position,
              "feature_id": _feature_id(connection, feature)}
             for position, feature in enumerate(scenario.features)]
    if links:
        connection.execute(sa.insert(scenario_features), links)
    for result in scenario.data_ids:
        _insert_data_id_result(connection, run_id, scenario_id, result, label)


def _insert_data_id_result(connection, run_id, scenario_id, result, label):
    """Add one data ID's result, comparisons and backend metrics."""
    data_id_json = data_id_key(result.data_id, label)
    label = f"{label} data ID {data_id_json}"
    data_id_result_id = connection.execute(sa.insert(data_id_results).values(
        scenario_id=scenario_id, data_id_json=data_id_json,
        error=result.error)).inserted_primary_key[0]
    comparison_rows = [_comparison_row(data_id_result_id, comparison, label)
                       for comparison in result.comparisons]
    if comparison_rows:
        connection.execute(sa.insert(comparisons), comparison_rows)
    metric_rows = [{"run_id": run_id, "scenario_id": scenario_id,
                    "data_id_result_id": data_id_result_id, "backend": backend,
                    "name": metric_name,
                    "value": metric_to_column(value, f"{label} {backend} metric {metric_name!r}")}
                   for backend, backend_metrics in result.backend_metrics.items()
                   for metric_name, value in backend_metrics.items()]
    if metric_rows:
        connection.execute(sa.insert(metrics), metric_rows)


def _comparison_row(data_id_result_id, comparison, label):
    """The ``comparisons`` row of one `validation.model.Comparison`."""
    label = f"{label} comparison {comparison.product!r}"
    try:
        verdict = Verdict(comparison.verdict)
    except ValueError:
        raise ValidationError(f"{label}: unknown verdict {comparison.verdict!r}") from None
    return {"data_id_result_id": data_id_result_id, "product": comparison.product,
            "kind": comparison.kind, "verdict": verdict.value, "summary": comparison.summary,
            "reason": comparison.reason,
            "metrics_json": to_json(comparison.metrics, f"{label} metrics"),
            "details_json": to_json(comparison.details, f"{label} details"),
            "artifacts_json": to_json(comparison.artifacts, f"{label} artifacts")}


def insert_audits(connection, run_id, records, name):
    """Add the audit records of run ``run_id``, in order.

    Parameters
    ----------
    connection : `sqlalchemy.engine.Connection`
    run_id : `int`
    records : `list` [`validation.model.AuditRecord`]
    name : `str`
        The database, for messages.

    Raises
    ------
    ValidationError
        If the run does not exist or a record holds a non-JSON value.
    """
    require_run(connection, run_id, name)
    rows = [{"run_id": run_id, "path": record.path, "kind": record.kind,
             "features_json": to_json(record.features, f"audit of {record.path} features"),
             "evidence_json": to_json(record.evidence, f"audit of {record.path} evidence"),
             "problems_json": to_json(record.problems, f"audit of {record.path} problems"),
             "references_json": to_json(record.references,
                                        f"audit of {record.path} references"),
             "era": record.era,
             "findings_json": to_json(record.findings, f"audit of {record.path} findings")}
            for record in records]
    if rows:
        connection.execute(sa.insert(audits), rows)
