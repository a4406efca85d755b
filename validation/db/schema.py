"""The tables of the results database, as they stand at the current schema version.

These SQLAlchemy Core tables are what the reading and writing code queries.
They are never created from here: every database, new or old, reaches this
shape through the steps in `validation.db.migrations`, and a test checks that
the two agree. Everything is portable SQL types; JSON is stored as text that
we encode ourselves, so SQLite and PostgreSQL hold byte-identical documents.
"""
from __future__ import annotations

import sqlalchemy as sa

__all__ = ["metadata", "schema_info", "runs", "features", "scenarios", "scenario_features",
           "data_id_results", "comparisons", "metrics", "audits"]

metadata = sa.MetaData()

schema_info = sa.Table(
    "schema_info", metadata,
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
)

runs = sa.Table(
    "runs", metadata,
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
    sa.Column("owner_host", sa.String(200)),
    sa.Column("owner_pid", sa.Integer),
    sa.Column("owner_start", sa.String(100)),
    sa.Column("planned_json", sa.Text),
)

features = sa.Table(
    "features", metadata,
    sa.Column("feature_id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(200), nullable=False, unique=True),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("gen3_replacement", sa.Text, nullable=False),
)

scenarios = sa.Table(
    "scenarios", metadata,
    sa.Column("scenario_id", sa.Integer, primary_key=True),
    sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.run_id"), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("template_mode", sa.String(100), nullable=False),
    sa.Column("definition_json", sa.Text, nullable=False),
    sa.Column("expected_reason", sa.Text),
    sa.UniqueConstraint("run_id", "name"),
)

scenario_features = sa.Table(
    "scenario_features", metadata,
    sa.Column("scenario_id", sa.Integer, sa.ForeignKey("scenarios.scenario_id"), primary_key=True),
    sa.Column("position", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("feature_id", sa.Integer, sa.ForeignKey("features.feature_id"), nullable=False),
)

data_id_results = sa.Table(
    "data_id_results", metadata,
    sa.Column("data_id_result_id", sa.Integer, primary_key=True),
    sa.Column("scenario_id", sa.Integer, sa.ForeignKey("scenarios.scenario_id"), nullable=False,
              index=True),
    sa.Column("data_id_json", sa.Text, nullable=False),
    sa.Column("error", sa.Text),
)

comparisons = sa.Table(
    "comparisons", metadata,
    sa.Column("comparison_id", sa.Integer, primary_key=True),
    sa.Column("data_id_result_id", sa.Integer, sa.ForeignKey("data_id_results.data_id_result_id"),
              nullable=False, index=True),
    sa.Column("product", sa.String(200), nullable=False),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("verdict", sa.String(40), nullable=False),
    sa.Column("summary", sa.Text, nullable=False),
    sa.Column("reason", sa.Text),
    sa.Column("metrics_json", sa.Text, nullable=False),
    sa.Column("details_json", sa.Text, nullable=False),
    sa.Column("artifacts_json", sa.Text, nullable=False, server_default="{}"),
)

# One row per (backend, name) number of a data ID; NULL ``value`` stands for
# NaN because SQLite silently stores NaN as NULL anyway.
metrics = sa.Table(
    "metrics", metadata,
    sa.Column("metric_id", sa.Integer, primary_key=True),
    sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.run_id"), nullable=False),
    sa.Column("scenario_id", sa.Integer, sa.ForeignKey("scenarios.scenario_id"), nullable=False),
    sa.Column("data_id_result_id", sa.Integer, sa.ForeignKey("data_id_results.data_id_result_id"),
              nullable=False),
    sa.Column("backend", sa.String(40), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("value", sa.Float),
    sa.Index("ix_metrics_run_name", "run_id", "name"),
)

audits = sa.Table(
    "audits", metadata,
    sa.Column("audit_id", sa.Integer, primary_key=True),
    sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.run_id"), nullable=False, index=True),
    sa.Column("path", sa.Text, nullable=False),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("features_json", sa.Text, nullable=False),
    sa.Column("evidence_json", sa.Text, nullable=False),
    sa.Column("problems_json", sa.Text, nullable=False),
    sa.Column("references_json", sa.Text, nullable=False, server_default="[]"),
    sa.Column("era", sa.Text, nullable=False, server_default=""),
    sa.Column("findings_json", sa.Text, nullable=False, server_default="[]"),
)
