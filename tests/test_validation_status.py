"""``diffim-validate status``: runs running, done, failed and abandoned, read from the database;
the progress line's counts and ETA."""
import datetime

from test_validation_run_status import start_run_and_die

from validation.campaign.progress import CampaignProgress, format_duration, remaining_seconds
from validation.campaign.status import run_detail, runs_table
from validation.cli import main
from validation.db import ResultsDB
from validation.model import (Comparison, DataIdResult, RunInfo, RunStatus, ScenarioResult,
                              Verdict)
from validation.report.summary import status_line

STARTED = "2026-01-01T00:00:00+00:00"


def scenario(name, verdict=Verdict.IDENTICAL, error=None):
    comparisons = [] if error else [Comparison("differenceExp", "image", verdict, "compared")]
    return ScenarioResult(name=name, features=["coadd_template"], data_ids=[
        DataIdResult(data_id={"visit": 10, "detector": 0}, comparisons=comparisons, error=error),
        DataIdResult(data_id={"visit": 11, "detector": 0},
                     comparisons=[Comparison("differenceExp", "image", verdict, "compared")])])


def start(db, planned):
    return db.start_run(RunInfo(campaign="survey", code_version="1", config_hash="h",
                                machine="m", started=STARTED, planned_scenarios=planned))


def test_the_table_and_each_run(tmp_path, capsys):
    path = tmp_path / "results.sqlite3"
    start_run_and_die(path)  # run 1: planned first, second; first recorded; its process died
    with ResultsDB(path) as db:
        complete = start(db, ["a", "b"])
        db.record_scenario(complete, scenario("a"))
        db.record_scenario(complete, scenario("b", error="gen2: wrote no outputs"))
        db.finish_run(complete, "2026-01-01T00:10:00+00:00", RunStatus.COMPLETE.value)
        running = start(db, ["a", "b", "c", "d"])  # owned by this process: still running
        db.record_scenario(running, scenario("a", Verdict.DIFFERENT))
        reports = [db.load_run(info.run_id) for info in db.runs()]
    now = datetime.datetime(2026, 1, 1, 0, 4, tzinfo=datetime.timezone.utc)

    lines = runs_table(reports, now=now).splitlines()
    assert lines[0].split() == ["run", "campaign", "status", "scenarios", "verdicts", "started",
                                "progress"]
    # One scenario of four in 4 minutes: 12 minutes left.
    assert lines[1].split() == ["3", "survey", "running", "1/4", "1", "different", STARTED,
                                "4m00s", "elapsed,", "ETA", "12m00s"]
    assert lines[2].split() == ["2", "survey", "complete", "2/2", "1", "identical,", "1",
                                "failed", STARTED]
    assert lines[3].split()[:5] == ["1", "c", "abandoned", "1/2", "1"]

    assert run_detail(reports[0], now=now).splitlines() == [
        f"run 3 (survey): running, 1 of 4 scenario(s) recorded, started {STARTED}; "
        "4m00s elapsed, ETA 12m00s",
        "  a: done, different (2 data IDs)", "  b: running", "  c: pending", "  d: pending"]
    assert run_detail(reports[1]).splitlines()[1:] == [
        "  a: done, identical (2 data IDs)",
        "  b: failed (1 of 2 data IDs): gen2: wrote no outputs"]
    abandoned = run_detail(reports[2]).splitlines()
    assert abandoned[0].startswith("run 1 (c): abandoned, 1 of 2 scenario(s) recorded, "
                                   "started 2026-01-01T00:00:00, finished ")
    assert abandoned[1:] == ["  first: done, identical (1 data IDs)", "  second: not run"]

    assert main(["status", "--db", str(path), "--limit", "2"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"results database: {path}"
    assert [line.split()[0] for line in out[2:]] == ["3", "2"]
    assert main(["status", "--db", str(path), "--run", "2"]) == 0
    assert capsys.readouterr().out.splitlines()[0].startswith("run 2 (survey): complete, 2 of 2")


def test_status_of_a_run_that_does_not_exist_is_one_line(tmp_path, capsys):
    assert main(["status", "--db", str(tmp_path / "results.sqlite3"), "--run", "7"]) == 2
    assert capsys.readouterr().err.strip().endswith("no run 7 in results database "
                                                    f"{tmp_path / 'results.sqlite3'}")


def test_progress_counts_and_eta():
    clock = iter([100.0, 130.0, 190.0]).__next__
    progress = CampaignProgress(scenarios=3, data_ids=8, clock=clock)
    assert progress.scenario_done("a", "identical") == \
        "[1/3] a: identical | 8/24 data IDs, 30s elapsed, ETA 1m00s"
    assert progress.scenario_done("b", "failed") == \
        "[2/3] b: failed | 16/24 data IDs, 1m30s elapsed, ETA 45s"
    assert remaining_seconds(10.0, 0, 3) is None
    assert [format_duration(s) for s in (None, 4.4, 61, 3599, 7620)] == [
        "?", "4s", "1m01s", "59m59s", "2h07m"]


def test_a_run_without_its_plan_shows_the_count_alone(tmp_path):
    # Runs recorded before schema 6 have planned_json NULL: no "2/0" nor "2 of 0".
    path = tmp_path / "results.sqlite3"
    with ResultsDB(path) as db:
        run_id = start(db, ["a", "b"])
        db.record_scenario(run_id, scenario("a"))
        db.record_scenario(run_id, scenario("b", Verdict.DIFFERENT))
        db.finish_run(run_id, "2026-01-01T00:10:00+00:00", RunStatus.INTERRUPTED.value)
        with db._engine.begin() as connection:
            connection.exec_driver_sql("UPDATE runs SET planned_json = NULL")
        report = db.load_run(run_id)
    assert report.run.planned_scenarios == []
    assert runs_table([report]).splitlines()[1].split()[:4] == ["1", "survey", "interrupted", "2"]
    assert run_detail(report).splitlines() == [
        f"run 1 (survey): interrupted, 2 scenario(s) recorded, started {STARTED}, "
        "finished 2026-01-01T00:10:00+00:00",
        "  a: done, identical (2 data IDs)", "  b: done, different (2 data IDs)"]
    assert status_line(report) == ("INCOMPLETE: run interrupted, 2 scenario(s) recorded; 0 failed "
                                   "and 2 unexplained difference(s) in 4 checks (data ID × product)")
