"""validation.db: several processes writing one database at once lose no rows.

Each test runs on a SQLite file and on a database of a real PostgreSQL server
(`_postgres`), except those about SQLite's own locking.
"""
import multiprocessing
import os
import signal
import sqlite3
import time

import sqlalchemy as sa
from _postgres import postgresql_cluster, results_url  # noqa: F401  (fixtures)

from validation.db import SCHEMA_VERSION, ResultsDB
from validation.db.engine import open_engine
from validation.model import AuditRecord, Comparison, DataIdResult, RunInfo, ScenarioResult, Verdict

SCENARIOS_PER_RUN = 40
OPENING_RACE_SCENARIOS = 3
KILL_TEST_SCENARIOS = 12
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
    """One process's campaign: open (maybe creating) the database, then one transaction per
    scenario."""
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


def _start_writers(path, campaigns, scenario_count=SCENARIOS_PER_RUN):
    """Start one spawned process per campaign, all writing from the same moment.

    Returns the processes and their barrier: the caller keeps the barrier
    alive until the children have started (its semaphore dies with it).
    """
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(len(campaigns))
    processes = [context.Process(target=_write_campaign, args=(str(path), campaign, barrier,
                                                               scenario_count))
                 for campaign in campaigns]
    for process in processes:
        process.start()
    return processes, barrier


def _run_writers(path, campaigns, scenario_count=SCENARIOS_PER_RUN):
    """Run one spawned process per campaign to its end; all must succeed."""
    processes, _barrier = _start_writers(path, campaigns, scenario_count)
    for process in processes:
        process.join(JOIN_TIMEOUT_SECONDS)
    assert [process.exitcode for process in processes] == [0] * len(processes)


def _query(url, statement):
    engine, _ = open_engine(url)
    try:
        with engine.connect() as connection:
            return connection.execute(sa.text(statement)).fetchall()
    finally:
        engine.dispose()


def _count(url, table):
    return _query(url, f"SELECT COUNT(*) FROM {table}")[0][0]


def test_two_concurrent_runs_into_one_database_keep_all_rows(results_url):
    path = results_url
    _run_writers(path, ["alpha", "beta"])

    owners = [run_id for (run_id,) in _query(path, "SELECT run_id FROM scenarios "
                                                   "ORDER BY scenario_id")]
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


def test_processes_opening_a_fresh_database_at_once_create_the_schema_once(results_url):
    path = results_url
    campaigns = ["one", "two", "three", "four"]
    _run_writers(path, campaigns, scenario_count=OPENING_RACE_SCENARIOS)
    assert _query(path, "SELECT version FROM schema_info") == [(SCHEMA_VERSION,)]
    if "://" not in path:
        assert _query(path, "PRAGMA journal_mode") == [("wal",)]
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


def test_eight_writers_one_killed_lose_no_row_of_the_others(results_url):
    campaigns = [f"writer{index}" for index in range(8)]
    processes, _barrier = _start_writers(results_url, campaigns, KILL_TEST_SCENARIOS)
    victim = processes[3]
    deadline = time.monotonic() + JOIN_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        try:
            scenarios = _query(results_url, "SELECT COUNT(*) FROM scenarios s JOIN runs r ON "
                                            "s.run_id = r.run_id WHERE r.campaign = 'writer3'")
        except sa.exc.DBAPIError:  # the schema is not there yet
            scenarios = [(0,)]
        if scenarios[0][0] >= 3:
            break
        time.sleep(0.05)
    os.kill(victim.pid, signal.SIGKILL)
    for process in processes:
        process.join(JOIN_TIMEOUT_SECONDS)
    assert victim.exitcode == -signal.SIGKILL
    assert [p.exitcode for p in processes if p is not victim] == [0] * 7

    survivors = KILL_TEST_SCENARIOS * 7
    written = _count(results_url, "scenarios")
    assert survivors + 3 <= written < survivors + KILL_TEST_SCENARIOS
    # Every scenario row is whole: a kill never leaves half a scenario behind.
    assert _count(results_url, "data_id_results") == written * DATA_IDS_PER_SCENARIO
    assert _count(results_url, "comparisons") == (
        written * DATA_IDS_PER_SCENARIO * COMPARISONS_PER_DATA_ID)
    assert _count(results_url, "metrics") == written * DATA_IDS_PER_SCENARIO * METRICS_PER_DATA_ID
    with ResultsDB(results_url) as db:
        statuses = {run.campaign: db.run_status(run.run_id) for run in db.runs()}
    # Its process is gone: opening the database found the run abandoned.
    assert statuses.pop("writer3") == "abandoned"
    assert set(statuses.values()) == {"complete"}
