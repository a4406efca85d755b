"""Run status is the truth: dead runs are found abandoned, unfinished runs never PASS,
SIGTERM stops like Ctrl-C, the schema is checked before any work, read-only databases read."""
import ctypes
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

from validation.cli import main
from validation.db import SCHEMA_VERSION, ResultsDB
from validation.model import (Comparison, DataIdResult, RunInfo, RunReport, ScenarioResult,
                              Verdict)
from validation.report.junit import render_junit
from validation.report.summary import exit_status, status_line
from validation.termination import Terminated, terminate_as_interrupt

PLANNED = ["first", "second"]


def run_info():
    return RunInfo(campaign="c", code_version="1", config_hash="h", machine="m",
                   started="2026-01-01T00:00:00", planned_scenarios=list(PLANNED))


def scenario(name="first", verdict=Verdict.IDENTICAL):
    return ScenarioResult(name=name, features=["coadd_template"], data_ids=[DataIdResult(
        data_id={"visit": 10, "detector": 0},
        comparisons=[Comparison("differenceExp", "image", verdict, "compared")])])


def start_run_and_die(path):
    """A run started (one scenario recorded) by a process that then dies without a word."""
    script = textwrap.dedent(f"""
        import os
        from test_validation_run_status import run_info, scenario
        from validation.db import ResultsDB
        db = ResultsDB({str(path)!r})
        db.record_scenario(db.start_run(run_info()), scenario())
        os._exit(0)
        """)
    subprocess.run([sys.executable, "-c", script], check=True, cwd=Path(__file__).parent)


def report_command(db_path, out, *more):
    return main(["report", "--db", str(db_path), "--out", str(out), *more])


def test_a_run_whose_process_died_is_found_abandoned(tmp_path, capsys):
    path = tmp_path / "results.sqlite3"
    start_run_and_die(path)
    with ResultsDB(path) as db:
        run_id = db.latest_run_id()
        assert db.run_status(run_id) == "abandoned"
        run = db.load_run(run_id).run
    assert run.finished is not None
    assert run.planned_scenarios == PLANNED
    assert report_command(path, tmp_path / "out") == 1
    assert capsys.readouterr().out.splitlines()[-1] == (
        "INCOMPLETE: run abandoned, 1 of 2 scenario(s) recorded; 0 failed and 0 unexplained "
        "difference(s) in 1 checks (data ID × product)")
    junit = ElementTree.parse(tmp_path / "out" / "junit.xml").getroot()
    assert (junit.get("tests"), junit.get("failures"), junit.get("errors")) == ("3", "0", "2")
    errors = {case.get("classname"): case.find("error").get("message")
              for case in junit.iter("testcase") if case.find("error") is not None}
    assert errors == {"diffim.c.(run)": "the run is abandoned, not complete",
                      "diffim.c.second": "scenario not run: the run is abandoned"}
    assert "INCOMPLETE" in (tmp_path / "out" / "summary.md").read_text()
    assert 'class="banner fail">INCOMPLETE' in (tmp_path / "out" / "report.html").read_text()


def test_a_live_run_and_a_run_on_another_host_stay_running(tmp_path, capsys):
    path = tmp_path / "results.sqlite3"
    with ResultsDB(path) as db:
        mine = db.start_run(run_info())
        elsewhere = db.start_run(run_info())
    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE runs SET owner_host = 'elsewhere', owner_pid = 1 "
                           "WHERE run_id = ?", (elsewhere,))
    with ResultsDB(path) as db:
        assert (db.run_status(mine), db.run_status(elsewhere)) == ("running", "running")
    # Still running: its report is not a PASS.
    assert report_command(path, tmp_path / "out", "--run", str(mine)) == 1
    assert capsys.readouterr().out.splitlines()[-1].startswith(
        "INCOMPLETE: run running, 0 of 2 scenario(s) recorded")


@pytest.mark.parametrize("status, recorded, headline", [
    ("interrupted", ["first"], "INCOMPLETE: run interrupted, 1 of 2 scenario(s) recorded"),
    ("failed", ["first"], "FAILED: run failed, 1 of 2 scenario(s) recorded"),
    ("complete", PLANNED, "PASS: no failures"),
])
def test_the_headline_and_exit_status_follow_the_run_status(status, recorded, headline):
    report = RunReport(run=run_info(), scenarios=[scenario(name) for name in recorded])
    report.run.status = status
    assert status_line(report).startswith(headline)
    assert exit_status(report) == (0 if status == "complete" else 1)
    errors = ElementTree.fromstring(render_junit(report)).get("errors")
    assert errors == ("0" if status == "complete" else "2")


def test_a_complete_run_with_a_failed_check_fails():
    report = RunReport(run=run_info(), scenarios=[scenario("first"),
                                                  scenario("second", Verdict.FAILED)])
    report.run.status = "complete"
    assert status_line(report).startswith("FAIL: 1 failed")
    assert exit_status(report) == 1


def test_a_report_from_before_run_statuses_is_judged_by_its_checks():
    report = RunReport(run=RunInfo(campaign="c", code_version="1", config_hash="h", machine="m",
                                   started="2020-01-01"), scenarios=[scenario()])
    assert status_line(report).startswith("PASS")


def test_sigterm_raises_terminated_and_exits_143():
    with pytest.raises(Terminated) as stopped:
        with terminate_as_interrupt():
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)
    from validation.termination import exit_status as interrupt_status
    assert interrupt_status(stopped.value) == 143
    assert interrupt_status(KeyboardInterrupt()) == 130
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


def test_a_database_from_the_future_is_refused_before_any_work(tmp_path, capsys):
    path = tmp_path / "results.sqlite3"
    ResultsDB(path).close()
    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE schema_info SET version = ?", (SCHEMA_VERSION + 1,))
    campaign = tmp_path / "c.yaml"
    campaign.write_text("dataset: {simulated_field: {size: 128}}\n"
                        "scenarios: [{name: a, features: [coadd_template]}]\n")
    workdir = tmp_path / "work"
    assert main(["run", str(campaign), "--workdir", str(workdir), "--db", str(path)]) == 2
    assert capsys.readouterr().err.strip() == (
        f"diffim-validate run: error: results database {path} has schema version "
        f"{SCHEMA_VERSION + 1}, newer than version {SCHEMA_VERSION} of this code; use a newer "
        "diffim-validate")
    assert not (workdir / "field").exists()


def _without_permission_override():
    """In a child of root: drop the capabilities that let root ignore file permissions.

    They are dropped from the bounding set, which ``exec`` keeps (an
    ``exec`` by root otherwise regains every capability).
    """
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in _PERMISSION_OVERRIDES:
        if libc.prctl(_PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


_PR_CAPBSET_DROP = 24
_PERMISSION_OVERRIDES = (1, 2, 3)  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER


def test_a_read_only_database_is_readable(tmp_path):
    """Reported on by a process that may not write the file nor its directory.

    When the tests run as root, the reporting process drops root's right to
    ignore permissions.
    """
    directory, out = tmp_path / "db", tmp_path / "out"
    directory.mkdir()
    path = directory / "results.sqlite3"
    with ResultsDB(path) as db:
        run_id = db.start_run(run_info())
        for name in PLANNED:
            db.record_scenario(run_id, scenario(name))
        db.finish_run(run_id, "2026-01-01T00:01:00", "complete")
    path.chmod(0o444)
    directory.chmod(0o555)
    try:
        finished = subprocess.run(
            [sys.executable, "-m", "validation.cli", "report", "--db", str(path), "--out",
             str(out)], capture_output=True, text=True,
            preexec_fn=_without_permission_override if os.geteuid() == 0 else None)
    finally:
        directory.chmod(0o755)
    assert finished.returncode == 0, finished.stderr
    assert finished.stdout.splitlines()[-1].startswith("PASS: no failures")
    assert sorted(os.listdir(directory)) == ["results.sqlite3"]
