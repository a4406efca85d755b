"""validation.db: several processes writing one SQLite file at once lose no rows."""
import multiprocessing
import sqlite3
import time

from validation.db import SCHEMA_VERSION, ResultsDB
from validation.model import AuditRecord, Comparison, DataIdResult, RunInfo, ScenarioResult, Verdict

SCENARIOS_PER_RUN = 40
OPENING_RACE_SCENARIOS = 3
DATA_IDS_PER_SCENARIO = 3
COMPARISONS_PER_DATA_ID = 2
METRICS_PER_DATA_ID = 4
# Stands in for the image differencing between two scenarios of a real
# campaign; without it one writer could retake the lock for its whole run
# while the other's busy handler sleeps, and the runs would not interleave.
PAUSE_BETWEEN_SCENARIOS_SECONDS = 0.005
START_TIMEOUT_SECONDS = 60
JOIN_TIMEOUT_SECONDS = 120


def _scenario(campaign, index):
    data_ids = [DataIdResult(
        data_id={"visit": visit, "detector": index},
        comparisons=[Comparison(product=product, kind="image", verdict=Verdict.IDENTICAL,
                                summary=f"{campaign} {index} {visit}")
                     for product in ("differenceExp", "diaSrc")],
        backend_metrics={backend: {"kernel_sum": 1.0 + visit, "n_dia_sources": index}
                         for backend in ("gen2", "gen3")})
        for visit in range(DATA_IDS_PER_SCENARIO)]
    # Every writer names the same features, so both upsert the same catalogue rows.
    return ScenarioResult(name=f"scenario_{index}", features=[f"feature_{index % 5}"],
                          data_ids=data_ids)


def _write_campaign(path, campaign, barrier, scenario_count):
    """One process's campaign: open (maybe creating) the file, then one transaction per scenario."""
    barrier.wait(START_TIMEOUT_SECONDS)
    with ResultsDB(path) as db:
        run_id = db.start_run(RunInfo(campaign=campaign, code_version="1", config_hash="h",
                                      machine=campaign, started="2024-05-01"))
        for index in range(scenario_count):
            db.record_scenario(run_id, _scenario(campaign, index))
            db.record_feature_catalog({f"feature_{index % 5}": {"description": campaign}})
            time.sleep(PAUSE_BETWEEN_SCENARIOS_SECONDS)
        db.record_audit(run_id, [AuditRecord(path=f"{campaign}.py", kind="config", features=[])])
        db.finish_run(run_id, "2024-05-01T01:00:00", "complete")


def _run_writers(path, campaigns, scenario_count=SCENARIOS_PER_RUN):
    """Run one spawned process per campaign, all starting at the same moment."""
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(len(campaigns))
    processes = [context.Process(target=_write_campaign, args=(str(path), campaign, barrier,
                                                               scenario_count))
                 for campaign in campaigns]
    for process in processes:
        process.start()
    for process in processes:
        process.join(JOIN_TIMEOUT_SECONDS)
    assert [process.exitcode for process in processes] == [0] * len(processes)


def _count(path, table):
    with sqlite3.connect(path) as connection:
        return connection.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]


def test_two_concurrent_runs_into_one_sqlite_file_keep_all_rows(tmp_path):
    path = tmp_path / "shared.sqlite3"
    _run_writers(path, ["alpha", "beta"])

    with sqlite3.connect(path) as connection:
        owners = [run_id for (run_id,) in connection.execute(
            "SELECT run_id FROM scenarios ORDER BY scenario_id")]
    switches = sum(before != after for before, after in zip(owners, owners[1:]))
    assert switches >= 2, "the two runs did not write at the same time"
    data_ids = 2 * SCENARIOS_PER_RUN * DATA_IDS_PER_SCENARIO
    assert _count(path, "runs") == 2
    assert _count(path, "scenarios") == 2 * SCENARIOS_PER_RUN
    assert _count(path, "data_id_results") == data_ids
    assert _count(path, "comparisons") == data_ids * COMPARISONS_PER_DATA_ID
    assert _count(path, "metrics") == data_ids * METRICS_PER_DATA_ID
    assert _count(path, "features") == 5
    assert _count(path, "audits") == 2
    with ResultsDB(path) as db:
        for run in db.runs():
            report = db.load_run(run.run_id)
            assert db.run_status(run.run_id) == "complete"
            assert [s.name for s in report.scenarios] == [f"scenario_{index}"
                                                          for index in range(SCENARIOS_PER_RUN)]
            assert {c.summary.split()[0] for s in report.scenarios for d in s.data_ids
                    for c in d.comparisons} == {run.campaign}


def test_processes_opening_a_fresh_file_at_once_create_the_schema_once(tmp_path):
    path = tmp_path / "fresh.sqlite3"
    campaigns = ["one", "two", "three", "four"]
    _run_writers(path, campaigns, scenario_count=OPENING_RACE_SCENARIOS)
    with sqlite3.connect(path) as connection:
        assert connection.execute("SELECT version FROM schema_info").fetchall() == [
            (SCHEMA_VERSION,)]
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert _count(path, "runs") == len(campaigns)
    assert _count(path, "scenarios") == len(campaigns) * OPENING_RACE_SCENARIOS


def test_reading_does_not_wait_for_a_writer_holding_the_lock(tmp_path):
    path = tmp_path / "busy.sqlite3"
    with ResultsDB(path) as db:
        run_id = db.start_run(RunInfo(campaign="c", code_version="1", config_hash="h",
                                      machine="m", started="2024-05-01"))
        writer = sqlite3.connect(path, isolation_level=None)
        try:
            writer.execute("BEGIN IMMEDIATE")
            writer.execute("UPDATE runs SET status = 'uncommitted'")
            started = time.monotonic()
            assert [run.run_id for run in db.runs()] == [run_id]
            assert db.run_status(run_id) == "running"
            assert time.monotonic() - started < 1.0
        finally:
            writer.execute("ROLLBACK")
            writer.close()
