"""Reading harness records back from the results database, on a connection in a transaction."""
from __future__ import annotations

from collections import defaultdict

import sqlalchemy as sa

from ..errors import ValidationError
from ..model import (AuditRecord, Comparison, DataIdResult, RunInfo, RunReport, RunStatus,
                     ScenarioResult, Verdict)
from .codec import from_json, metric_from_column
from .owner import Owner, is_gone
from .schema import (audits, comparisons, data_id_results, features, metrics, runs,
                     scenario_features, scenarios)

__all__ = ["feature_catalog", "latest_run_id", "load_report", "recent_run_ids", "run_infos",
           "run_status"]


def _run_info(row):
    """The `validation.model.RunInfo` of a ``runs`` row."""
    return RunInfo(campaign=row.campaign, code_version=row.code_version,
                   config_hash=row.config_hash, machine=row.machine, started=row.started,
                   finished=row.finished, run_id=row.run_id, python=row.python,
                   packages=from_json(row.packages_json), status=_status(row),
                   planned_scenarios=from_json(row.planned_json) if row.planned_json else [])


def _status(row):
    """The row's status, ``abandoned`` for a running run whose process is gone.

    A writable database marks such runs when it is opened; a read-only one
    cannot, so the reader judges again.
    """
    if row.status == RunStatus.RUNNING.value and row.owner_pid is not None and is_gone(
            Owner(row.owner_host, row.owner_pid, row.owner_start)):
        return RunStatus.ABANDONED.value
    return row.status


def _run_row(connection, run_id, name):
    row = connection.execute(sa.select(runs).where(runs.c.run_id == run_id)).first()
    if row is None:
        raise ValidationError(f"no run {run_id} in results database {name}")
    return row


def run_status(connection, run_id, name):
    """The status of run ``run_id`` (``"running"`` until it is finished)."""
    return _status(_run_row(connection, run_id, name))


def run_infos(connection, limit):
    """The ``limit`` most recent runs, newest first, as `validation.model.RunInfo`."""
    rows = connection.execute(sa.select(runs).order_by(runs.c.run_id.desc()).limit(limit))
    return [_run_info(row) for row in rows]


def recent_run_ids(connection, campaign, limit):
    """The ids of the ``limit`` most recent runs of ``campaign``, oldest first."""
    run_ids = connection.execute(
        sa.select(runs.c.run_id).where(runs.c.campaign == campaign)
        .order_by(runs.c.run_id.desc()).limit(limit)).scalars().all()
    return run_ids[::-1]


def feature_catalog(connection):
    """Feature name -> ``{"description": ..., "gen3_replacement": ...}``, by name."""
    rows = connection.execute(sa.select(features).order_by(features.c.name))
    return {row.name: {"description": row.description, "gen3_replacement": row.gen3_replacement}
            for row in rows}


def latest_run_id(connection, campaign=None, before=None, status=None):
    """The id of the most recent run matching the filters, or `None`.

    Parameters
    ----------
    connection : `sqlalchemy.engine.Connection`
    campaign : `str`, optional
        Only runs of this campaign.
    before : `int`, optional
        Only runs older than run ``before`` (e.g. the baseline of a new run).
    status : `str`, optional
        Only runs finished with this status.

    Returns
    -------
    run_id : `int` or `None`
    """
    query = sa.select(sa.func.max(runs.c.run_id))
    if campaign is not None:
        query = query.where(runs.c.campaign == campaign)
    if before is not None:
        query = query.where(runs.c.run_id < before)
    if status is not None:
        query = query.where(runs.c.status == status)
    return connection.execute(query).scalar()


def load_report(connection, run_id, name):
    """Everything recorded for run ``run_id``, in the order it was recorded.

    Parameters
    ----------
    connection : `sqlalchemy.engine.Connection`
    run_id : `int`
    name : `str`
        The database, for messages.

    Returns
    -------
    report : `validation.model.RunReport`

    Raises
    ------
    ValidationError
        If there is no such run.
    """
    report = RunReport(run=_run_info(_run_row(connection, run_id, name)))
    scenario_of_run = sa.select(scenarios.c.scenario_id).where(scenarios.c.run_id == run_id)
    feature_names = _grouped(connection.execute(
        sa.select(scenario_features.c.scenario_id, features.c.name)
        .join(features, features.c.feature_id == scenario_features.c.feature_id)
        .where(scenario_features.c.scenario_id.in_(scenario_of_run))
        .order_by(scenario_features.c.scenario_id, scenario_features.c.position)),
        key="scenario_id", value=lambda row: row.name)
    data_ids = _load_data_ids(connection, run_id, scenario_of_run)
    for row in connection.execute(sa.select(scenarios).where(scenarios.c.run_id == run_id)
                                  .order_by(scenarios.c.scenario_id)):
        report.scenarios.append(ScenarioResult(
            name=row.name, features=feature_names.get(row.scenario_id, []),
            description=row.description, template_mode=row.template_mode,
            definition=from_json(row.definition_json),
            data_ids=data_ids.get(row.scenario_id, []), expected_reason=row.expected_reason))
    report.audits = [
        AuditRecord(path=row.path, kind=row.kind, features=from_json(row.features_json),
                    evidence=from_json(row.evidence_json), problems=from_json(row.problems_json),
                    references=from_json(row.references_json), era=row.era,
                    findings=from_json(row.findings_json))
        for row in connection.execute(sa.select(audits).where(audits.c.run_id == run_id)
                                      .order_by(audits.c.audit_id))]
    return report


def _load_data_ids(connection, run_id, scenario_of_run):
    """Scenario id -> its `validation.model.DataIdResult` list, in recorded order."""
    data_id_of_run = sa.select(data_id_results.c.data_id_result_id).where(
        data_id_results.c.scenario_id.in_(scenario_of_run))
    comparisons_by_data_id = _grouped(connection.execute(
        sa.select(comparisons).where(comparisons.c.data_id_result_id.in_(data_id_of_run))
        .order_by(comparisons.c.comparison_id)),
        key="data_id_result_id", value=_comparison)
    metrics_by_data_id = defaultdict(dict)
    for row in connection.execute(sa.select(metrics).where(metrics.c.run_id == run_id)
                                  .order_by(metrics.c.metric_id)):
        backend_metrics = metrics_by_data_id[row.data_id_result_id].setdefault(row.backend, {})
        backend_metrics[row.name] = metric_from_column(row.value)
    return _grouped(connection.execute(
        sa.select(data_id_results).where(data_id_results.c.scenario_id.in_(scenario_of_run))
        .order_by(data_id_results.c.data_id_result_id)),
        key="scenario_id",
        value=lambda row: DataIdResult(
            data_id=from_json(row.data_id_json),
            comparisons=comparisons_by_data_id.get(row.data_id_result_id, []),
            backend_metrics=metrics_by_data_id.get(row.data_id_result_id, {}),
            error=row.error))


def _comparison(row):
    """The `validation.model.Comparison` of a ``comparisons`` row."""
    return Comparison(product=row.product, kind=row.kind, verdict=Verdict(row.verdict),
                      summary=row.summary, metrics=from_json(row.metrics_json),
                      details=from_json(row.details_json), reason=row.reason,
                      artifacts=from_json(row.artifacts_json))


def _grouped(rows, key, value):
    """``{row.<key>: [value(row), ...]}`` keeping row order within each group."""
    groups = defaultdict(list)
    for row in rows:
        groups[getattr(row, key)].append(value(row))
    return dict(groups)
