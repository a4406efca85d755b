"""validation.db: round trips, atomic scenarios, features, trends, schema versions, bad input.

The tests taking ``db`` or ``db_url`` run on a SQLite file and on a database of a
real PostgreSQL server (`_postgres`).
"""
import math
import sqlite3

import numpy as np
import pytest
import sqlalchemy as sa
from _postgres import postgresql_cluster, results_url  # noqa: F401  (fixtures)
from sqlalchemy.dialects import postgresql

from validation.db import SCHEMA_VERSION, ResultsDB, schema
from validation.db.engine import open_engine, write_transaction
from validation.db.migrations import upgrade
from validation.errors import ValidationError
from validation.model import (
    AuditRecord,
    Comparison,
    DataIdResult,
    RunInfo,
    ScenarioResult,
    Verdict,
)

SCENARIO_TABLES = ("scenarios", "scenario_features", "data_id_results", "comparisons", "metrics")


def make_run_info(campaign="nightly", code_version="1.2.3", started="2024-05-01T10:00:00"):
    return RunInfo(campaign=campaign, code_version=code_version, config_hash="c0ffee",
                   machine="node-7", started=started, python="3.11.9",
                   packages={"numpy": "1.26.4", "lsst-daf-butler": "27.0"})


def make_scenario(name="coadd_template", kernel_sums=(1.0, 1.002), verdicts=None, error=None):
    """A scenario with one data ID per kernel sum; ``verdicts`` per data ID (default identical)."""
    verdicts = verdicts or [Verdict.IDENTICAL] * len(kernel_sums)
    data_ids = []
    for index, (kernel_sum, verdict) in enumerate(zip(kernel_sums, verdicts)):
        data_ids.append(DataIdResult(
            data_id={"visit": 100 + index, "detector": 2, "band": "r"},
            comparisons=[
                Comparison(product="differenceExp", kind="image", verdict=verdict,
                           summary=f"image max |Δ| {index}e-07", metrics={"image.max_abs": 3e-7},
                           details={"planes": {"DETECTED": 0, "SAT": [1, 2]}, "ok": True},
                           reason="edge patches" if verdict is Verdict.DIFFERENT else None,
                           artifacts={"diff_of_diff": f"/tmp/dd_{index}.fits"}),
                Comparison(product="diaSrc", kind="catalog", verdict=Verdict.IDENTICAL,
                           summary="12 of 12 matched", metrics={"matched_fraction": 1.0}),
            ],
            backend_metrics={"gen2": {"kernel_sum": kernel_sum, "n_dia_sources": 12,
                                      "seconds": 1.5},
                             "gen3": {"kernel_sum": kernel_sum, "n_dia_sources": 12,
                                      "seconds": 1.75}},
            error=error))
    return ScenarioResult(name=name, features=["getTemplate=GetCoaddAsTemplateTask", "doSubtract"],
                          description="coadd template, default switches", template_mode="coadd",
                          definition={"config": {"doDecorrelation": True}, "tolerance": 1e-6},
                          data_ids=data_ids, expected_reason="template patch set differs")


def query(url, statement, **parameters):
    """Rows of one statement on the database at ``url`` (a path is a SQLite file)."""
    engine, _ = open_engine(url)
    try:
        with write_transaction(engine) as connection:
            result = connection.execute(sa.text(statement), parameters)
            return result.all() if result.returns_rows else None
    finally:
        engine.dispose()


def row_counts(url, tables):
    return {table: query(url, f"SELECT COUNT(*) FROM {table}")[0][0] for table in tables}


@pytest.fixture
def db_path(tmp_path):
    return tmp_path / "results.sqlite3"


@pytest.fixture
def db_url(results_url):
    return results_url


@pytest.fixture
def db(db_url):
    with ResultsDB(db_url) as results_db:
        yield results_db


def test_load_run_returns_what_was_recorded_field_by_field(db):
    run_info = make_run_info()
    run_id = db.start_run(run_info)
    recorded = [make_scenario(), make_scenario("calexp_template", kernel_sums=(0.98,),
                                               verdicts=[Verdict.DIFFERENT], error="no template")]
    recorded[1].data_ids[0].backend_metrics["gen3"]["residual_std"] = math.nan
    audit = [AuditRecord(path="/cfg/override.py", kind="config", features=["doSelectSources"],
                         evidence={"doSelectSources": "config.doSelectSources = True"},
                         problems=["line 4: refused to evaluate a call"],
                         references=["import diffim.template.get_template"]),
             AuditRecord(path="/pipe/diffim.yaml", kind="pipeline", features=[])]
    for scenario in recorded:
        db.record_scenario(run_id, scenario)
    db.record_audit(run_id, audit)

    report = db.load_run(run_id)

    for field in ("campaign", "code_version", "config_hash", "machine", "started", "finished",
                  "python", "packages"):
        assert getattr(report.run, field) == getattr(run_info, field), field
    assert report.run.run_id == run_id
    assert [s.name for s in report.scenarios] == ["coadd_template", "calexp_template"]
    for loaded, original in zip(report.scenarios, recorded):
        for field in ("name", "features", "description", "template_mode", "definition",
                      "expected_reason"):
            assert getattr(loaded, field) == getattr(original, field), field
        assert len(loaded.data_ids) == len(original.data_ids)
        for loaded_id, original_id in zip(loaded.data_ids, original.data_ids):
            assert loaded_id.data_id == original_id.data_id
            assert loaded_id.error == original_id.error
            assert loaded_id.comparisons == original_id.comparisons
            assert isinstance(loaded_id.comparisons[0].verdict, Verdict)
            assert loaded_id.backend_metrics.keys() == original_id.backend_metrics.keys()
            for backend, metrics in original_id.backend_metrics.items():
                assert loaded_id.backend_metrics[backend].keys() == metrics.keys()
                for name, value in metrics.items():
                    stored = loaded_id.backend_metrics[backend][name]
                    assert stored == value or (math.isnan(stored) and math.isnan(value)), name
    assert report.audits == audit
    assert report.verdict is Verdict.FAILED


def test_numpy_values_are_stored_as_plain_numbers(db):
    run_id = db.start_run(make_run_info())
    scenario = make_scenario(kernel_sums=(np.float32(0.5),))
    scenario.data_ids[0].comparisons[0].details = {"hist": np.arange(3), "peak": np.float64(2.5)}
    db.record_scenario(run_id, scenario)
    loaded = db.load_run(run_id).scenarios[0].data_ids[0]
    assert loaded.comparisons[0].details == {"hist": [0, 1, 2], "peak": 2.5}
    assert loaded.backend_metrics["gen2"]["kernel_sum"] == 0.5


def test_finish_run_status_and_run_listing(db):
    first = db.start_run(make_run_info(started="2024-05-01"))
    other = db.start_run(make_run_info(campaign="weekly", started="2024-05-02"))
    second = db.start_run(make_run_info(started="2024-05-03"))
    assert db.run_status(first) == "running"
    db.finish_run(first, "2024-05-01T11:00:00", "complete")
    assert db.run_status(first) == "complete"
    assert db.load_run(first).run.finished == "2024-05-01T11:00:00"
    assert [run.run_id for run in db.runs()] == [second, other, first]
    assert [run.run_id for run in db.runs(limit=2)] == [second, other]
    assert db.latest_run_id() == second
    assert db.latest_run_id(campaign="nightly", before=second) == first
    assert db.latest_run_id(campaign="weekly", before=other) is None
    assert db.latest_run_id(status="complete") == first


def test_unknown_run_and_duplicate_scenario_are_refused(db):
    with pytest.raises(ValidationError, match="no run 99 in results database"):
        db.record_scenario(99, make_scenario())
    with pytest.raises(ValidationError, match="no run 99"):
        db.finish_run(99, "2024-05-01", "complete")
    with pytest.raises(ValidationError, match="no run 99"):
        db.load_run(99)
    run_id = db.start_run(make_run_info())
    db.record_scenario(run_id, make_scenario())
    with pytest.raises(ValidationError, match="scenario 'coadd_template' is already recorded"):
        db.record_scenario(run_id, make_scenario())


def test_a_failure_inside_record_scenario_leaves_no_row_of_it(db, db_url):
    run_id = db.start_run(make_run_info())
    db.record_scenario(run_id, make_scenario("kept"))
    before = row_counts(db_url, SCENARIO_TABLES + ("features",))
    broken = make_scenario("broken", kernel_sums=(1.0, 1.0, 1.0))
    # The last data ID fails after the scenario, its features and two data IDs were written.
    broken.data_ids[-1].comparisons[1].details = {"columns": {"flux", "flag"}}
    broken.features.append("doAddMetrics")
    with pytest.raises(ValidationError, match="scenario 'broken' data ID .*'diaSrc' details"):
        db.record_scenario(run_id, broken)
    assert row_counts(db_url, SCENARIO_TABLES + ("features",)) == before
    assert [s.name for s in db.load_run(run_id).scenarios] == ["kept"]
    assert "doAddMetrics" not in db.feature_catalog()


def test_bad_verdict_and_bad_metric_are_named(db):
    run_id = db.start_run(make_run_info())
    scenario = make_scenario()
    scenario.data_ids[0].comparisons[0].verdict = "fine"
    with pytest.raises(ValidationError, match="'differenceExp': unknown verdict 'fine'"):
        db.record_scenario(run_id, scenario)
    scenario = make_scenario()
    scenario.data_ids[0].backend_metrics["gen2"]["seconds"] = "slow"
    with pytest.raises(ValidationError, match="gen2 metric 'seconds': 'slow' is not a number"):
        db.record_scenario(run_id, scenario)


def test_feature_catalog_upserts_and_scenarios_link_features(db):
    db.record_feature_catalog({"doSubtract": {"description": "subtract", "gen3_replacement": ""}})
    run_id = db.start_run(make_run_info())
    db.record_scenario(run_id, make_scenario())
    catalog = db.feature_catalog()
    assert catalog["doSubtract"] == {"description": "subtract", "gen3_replacement": ""}
    assert catalog["getTemplate=GetCoaddAsTemplateTask"] == {"description": "",
                                                             "gen3_replacement": ""}
    db.record_feature_catalog({"doSubtract": {"description": "subtract or not",
                                              "gen3_replacement": "detect-only pipeline"},
                               "doMatchSources": {"description": "match columns"}})
    catalog = db.feature_catalog()
    assert catalog["doSubtract"] == {"description": "subtract or not",
                                     "gen3_replacement": "detect-only pipeline"}
    assert catalog["doMatchSources"] == {"description": "match columns", "gen3_replacement": ""}
    assert len(catalog) == 3
    assert db.load_run(run_id).scenarios[0].features == ["getTemplate=GetCoaddAsTemplateTask",
                                                         "doSubtract"]
    with pytest.raises(ValidationError, match="feature 'doSubtract'.*keys among"):
        db.record_feature_catalog({"doSubtract": {"desc": "typo"}})


def test_trend_counts_outcomes_and_aggregates_metrics_oldest_first(db):
    first = db.start_run(make_run_info(code_version="1.0"))
    db.record_scenario(first, make_scenario("a", kernel_sums=(1.0, 3.0, 2.0)))
    db.record_scenario(first, make_scenario("b", kernel_sums=(4.0,), verdicts=[Verdict.DIFFERENT]))
    db.start_run(make_run_info(campaign="other"))
    second = db.start_run(make_run_info(code_version="1.1"))
    db.record_scenario(second, make_scenario("a", kernel_sums=(1.0,), error="boom"))

    points = db.trend("nightly")

    assert [point.run_id for point in points] == [first, second]
    assert [point.code_version for point in points] == ["1.0", "1.1"]
    # make_scenario's differences come with a reason: expected
    assert points[0].counts == {"identical": 1, "within_tolerance": 0, "expected_difference": 1,
                                "unexplained_difference": 0, "failed": 0}
    assert points[1].counts == {"identical": 0, "within_tolerance": 0, "expected_difference": 0,
                                "unexplained_difference": 0, "failed": 1}
    assert points[0].metrics["gen3.kernel_sum.median"] == 2.5
    assert points[0].metrics["gen2.n_dia_sources.total"] == 48
    assert points[0].metrics["gen3.seconds.total"] == pytest.approx(7.0)
    assert "gen2.residual_std.median" not in points[0].metrics
    assert [point.run_id for point in db.trend("nightly", limit=1)] == [second]


def _write_v1_database(path):
    """A database at schema version 1 holding one run with one comparison."""
    engine, name = open_engine(path)
    with write_transaction(engine) as connection:
        upgrade(connection, name, target=1)
        connection.execute(sa.text(
            "INSERT INTO runs (campaign, code_version, config_hash, machine, python, "
            "packages_json, started, status) VALUES ('old', '0.9', 'h', 'm', '3.11', '{}', "
            "'2023-01-01', 'complete')"))
        connection.execute(sa.text(
            "INSERT INTO scenarios (run_id, name, description, template_mode, definition_json) "
            "VALUES (1, 'legacy', '', 'coadd', '{}')"))
        connection.execute(sa.text(
            "INSERT INTO data_id_results (scenario_id, data_id_json) VALUES (1, :data_id)"),
            {"data_id": '{"visit":1}'})
        connection.execute(sa.text(
            "INSERT INTO comparisons (data_id_result_id, product, kind, verdict, summary, "
            "metrics_json, details_json) VALUES (1, 'diaSrc', 'catalog', 'identical', 'same', "
            "'{}', '{}')"))
    engine.dispose()


def _columns(url, table):
    engine, _ = open_engine(url)
    try:
        return [column["name"] for column in sa.inspect(engine).get_columns(table)]
    finally:
        engine.dispose()


def test_a_version_1_database_is_upgraded_on_open(db_url):
    _write_v1_database(db_url)
    assert "artifacts_json" not in _columns(db_url, "comparisons")

    with ResultsDB(db_url) as db:
        report = db.load_run(1)
        assert report.scenarios[0].data_ids[0].comparisons == [
            Comparison(product="diaSrc", kind="catalog", verdict=Verdict.IDENTICAL,
                       summary="same", artifacts={})]
        assert report.audits == []
        db.record_audit(1, [AuditRecord(path="a.py", kind="config", features=["x"])])
        assert db.load_run(1).audits[0].path == "a.py"
    assert query(db_url, "SELECT version FROM schema_info") == [(SCHEMA_VERSION,)]
    assert "artifacts_json" in _columns(db_url, "comparisons")


def test_new_and_upgraded_databases_match_the_current_schema(tmp_path):
    def layout(path):
        inspector = sa.inspect(sa.create_engine(f"sqlite:///{path}"))
        return {table: {(column["name"], column["nullable"])
                        for column in inspector.get_columns(table)}
                for table in inspector.get_table_names()}

    with ResultsDB(tmp_path / "new.sqlite3"):
        pass
    _write_v1_database(tmp_path / "old.sqlite3")
    with ResultsDB(tmp_path / "old.sqlite3"):
        pass
    expected = {table.name: {(column.name, column.nullable) for column in table.columns}
                for table in schema.metadata.sorted_tables}
    assert layout(tmp_path / "new.sqlite3") == expected
    assert layout(tmp_path / "old.sqlite3") == expected


def test_a_newer_schema_is_refused_naming_file_and_versions(db_url):
    with ResultsDB(db_url):
        pass
    query(db_url, "UPDATE schema_info SET version = :version", version=SCHEMA_VERSION + 4)
    with pytest.raises(ValidationError) as raised:
        ResultsDB(db_url)
    message = str(raised.value)
    assert "\n" not in message
    assert db_url.split("?")[0] in message
    assert f"schema version {SCHEMA_VERSION + 4}" in message
    assert f"version {SCHEMA_VERSION} of this code" in message


@pytest.mark.parametrize("url, named", [
    ("nosuchdialect://host/db", "nosuchdialect://host/db"),
    ("sqlite+nosuchdriver:///x.db", "sqlite+nosuchdriver"),
    ("::not a url://", "::not a url://"),
])
def test_bad_urls_are_named(url, named):
    with pytest.raises(ValidationError, match="results database URL") as raised:
        ResultsDB(url)
    assert named in str(raised.value)


def test_postgresql_without_a_reachable_server_or_driver_hides_the_password():
    with pytest.raises(ValidationError) as raised:
        ResultsDB("postgresql+psycopg://harness:s3cret@localhost:1/validation")
    assert "localhost:1/validation" in str(raised.value)
    assert "s3cret" not in str(raised.value)


def test_unwritable_paths_and_foreign_files_are_named(tmp_path):
    blocker = tmp_path / "plain-file"
    blocker.write_text("not a directory")
    with pytest.raises(ValidationError, match=f"{blocker} does not exist"):
        ResultsDB(blocker / "results.sqlite3")
    with pytest.raises(ValidationError, match=f"results database {tmp_path}: unable to open"):
        ResultsDB(tmp_path)
    garbage = tmp_path / "garbage.sqlite3"
    garbage.write_bytes(b"x" * 4096)
    with pytest.raises(ValidationError, match=f"results database {garbage}: file is not a"):
        ResultsDB(garbage)
    foreign = tmp_path / "foreign.sqlite3"
    with sqlite3.connect(foreign) as connection:
        connection.execute("CREATE TABLE things (x INTEGER)")
    with pytest.raises(ValidationError, match=f"{foreign} is not a results database: .*things"):
        ResultsDB(foreign)


def test_every_statement_the_api_runs_compiles_for_postgresql(db_path):
    executed = []

    def remember(connection, element, multiparams, params, execution_options):
        executed.append(element)

    sa.event.listen(sa.engine.Engine, "before_execute", remember)
    try:
        with ResultsDB(db_path) as db:
            db.record_feature_catalog({"doSubtract": {"description": "d"}})
            run_id = db.start_run(make_run_info())
            db.record_scenario(run_id, make_scenario())
            db.record_audit(run_id, [AuditRecord(path="p", kind="config", features=[])])
            db.finish_run(run_id, "2024-05-02", "complete")
            db.load_run(run_id)
            db.trend("nightly")
            db.runs()
            db.latest_run_id(campaign="nightly", before=5, status="complete")
    finally:
        sa.event.remove(sa.engine.Engine, "before_execute", remember)

    # Only our own constructs are seen here: the SQLite BEGIN and PRAGMA hooks
    # run on the driver level and never reach this event.
    assert len(executed) > 20
    assert all(not isinstance(element, str) for element in executed)
    texts = [str(element) for element in executed if isinstance(element, sa.TextClause)]
    assert texts == ["ALTER TABLE comparisons ADD COLUMN artifacts_json TEXT NOT NULL DEFAULT '{}'",
                     "ALTER TABLE audits ADD COLUMN references_json TEXT NOT NULL DEFAULT '[]'",
                     "ALTER TABLE audits ADD COLUMN era TEXT NOT NULL DEFAULT ''",
                     "ALTER TABLE audits ADD COLUMN findings_json TEXT NOT NULL DEFAULT '[]'",
                     "ALTER TABLE runs ADD COLUMN owner_host VARCHAR(200)",
                     "ALTER TABLE runs ADD COLUMN owner_pid INTEGER",
                     "ALTER TABLE runs ADD COLUMN owner_start VARCHAR(100)",
                     "ALTER TABLE runs ADD COLUMN planned_json TEXT"]
    dialect = postgresql.dialect()
    for element in executed:
        assert str(element.compile(dialect=dialect))
