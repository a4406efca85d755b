"""Fault injection: a small campaign stopped at random points by SIGKILL, SIGTERM and a full
disk. Each time the database and the files are consistent, no run is left ``running``, and
the report of a run stopped before its last result was recorded does not say PASS (one stopped
later, while writing its report, is whole and does).

The disk fills up by lowering the campaign process's file size limit while it runs
(`resource.prlimit`): from then on every write past the limit fails, as on a full disk,
whatever the machine's disks. The stopping times are random but seeded, as fractions of the
duration of a complete run measured first; one more SIGKILL lands, whatever the machine's load,
between the campaign's two scenarios.
"""
import json
import random
import resource
import shlex
import signal
import sqlite3
import subprocess
import sys
import time
import xml.etree.ElementTree as ElementTree

import pytest
from _campaigns import SMALL_FIELD, scenario, write_campaign

from diffim.io.header import open_fits
from validation.campaign.dataset import prepare_dataset
from validation.cli import main
from validation.db import ResultsDB

SEED = 17
FULL_DISK_BYTES = 64 * 1024


@pytest.fixture(scope="module")
def campaign(tmp_path_factory):
    """A campaign of two scenarios on one data ID of a field written beforehand."""
    root = tmp_path_factory.mktemp("faults")
    field = prepare_dataset({"simulated_field": SMALL_FIELD}, root / "field")
    path = write_campaign(root / "faults.yaml", "faults",
                          [scenario("coadd_template"),
                           scenario("calexp_template", features=["calexp_template"], config=None)],
                          visits=(10,), field_files=field.root)
    return path, root / "work", root / "results.sqlite3"


def start(campaign):
    """The campaign's ``run`` command, with SIGINT at its default as in a terminal's foreground
    (a shell's background job, such as a CI runner's, starts with it ignored, and Python
    then installs no handler for it: Ctrl-C could not have reached the command)."""
    path, workdir, database = campaign
    return subprocess.Popen([sys.executable, "-m", "validation.cli", "run", str(path),
                             "--workdir", str(workdir), "--db", str(database)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def stop(process, after, fault):
    """Apply ``fault`` ``after`` seconds in; whether the process was still running then."""
    try:
        process.wait(timeout=after)
        return False
    except subprocess.TimeoutExpired:
        pass
    if fault == "full disk":
        resource.prlimit(process.pid, resource.RLIMIT_FSIZE, (FULL_DISK_BYTES, FULL_DISK_BYTES))
    else:
        process.send_signal(fault)
    return True


def run_ids(database):
    with sqlite3.connect(database) as connection:
        return [row[0] for row in connection.execute("SELECT run_id FROM runs ORDER BY run_id")]


def fits_under_final_names(workdir):
    """The FITS files in the work directory that a reader is shown: ours (written under a
    temporary name, renamed when whole) and, in the gen3 repository, those its datastore
    records. The butler copies a file to a random name beside its target first and renames
    it; a process stopped mid-copy leaves that unregistered file behind, which no one reads."""
    repository = workdir / "gen3" / "repo"
    registry = repository / "gen3.sqlite3"
    recorded = set()
    if registry.exists():
        with sqlite3.connect(registry) as connection:
            recorded = {repository / path for (path,) in
                        connection.execute("SELECT path FROM file_datastore_records")}
    for path in workdir.rglob("*.fits"):
        if repository not in path.parents or path in recorded:
            yield path


def assert_consistent(database, workdir):
    """The database is sound, no run is left running, every stored scenario is whole, and
    every FITS file under its final name in the work directory reads (checksums included)."""
    with sqlite3.connect(database) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert connection.execute("PRAGMA foreign_key_check").fetchall() == []
    with ResultsDB(database) as db:  # opening marks the runs of dead processes abandoned
        for run in db.runs():
            assert run.status in ("complete", "interrupted", "failed", "abandoned"), run
            for scenario in db.load_run(run.run_id).scenarios:
                assert len(scenario.data_ids) == 1
                assert all(result.error or result.comparisons for result in scenario.data_ids)
    for path in fits_under_final_names(workdir):
        with open_fits(path) as hdus:  # a truncated file is an error
            for hdu in hdus:
                assert hdu.data is not None or hdu.header["NAXIS"] == 0, path
                assert hdu.verify_checksum() != 0 and hdu.verify_datasum() != 0, path
    report = workdir / "report"
    if (report / "results.json").exists():
        json.loads((report / "results.json").read_text())
    if (report / "junit.xml").exists():
        ElementTree.parse(report / "junit.xml")


def test_a_campaign_stopped_anywhere_never_reports_pass(campaign, tmp_path, capsys):
    path, workdir, database = campaign
    started = time.monotonic()
    complete = start(campaign)
    out, err = complete.communicate(timeout=900)
    duration = time.monotonic() - started
    assert complete.returncode == 0, err
    assert "PASS: no failures" in out
    assert_consistent(database, workdir)
    gen3_files = [path for path in fits_under_final_names(workdir) if "gen3" in path.parts]
    assert len(gen3_files) >= 10  # the check reads the butler's files, not none of them

    rng = random.Random(SEED)
    stopped_runs = 0
    for fault in (signal.SIGKILL, signal.SIGTERM, "full disk"):
        before, started = run_ids(database), time.time()
        process = start(campaign)
        landed = stop(process, rng.uniform(0.3, 0.8) * duration, fault)
        out, err = process.communicate(timeout=900)
        assert "Traceback" not in err, err
        if fault == signal.SIGTERM and process.returncode == 128 + signal.SIGTERM:
            # Alone, or naming the complete run and its report command (the test above).
            assert err.strip().splitlines()[-1].startswith(
                "diffim-validate run: interrupted (SIGTERM)"), err
        # The limit binds only writes past FULL_DISK_BYTES: landing after the run's last large
        # write (the report), it leaves a complete run, which then rightly reports PASS.
        disk_full_in_time = fault == "full disk" and landed and process.returncode != 0
        if disk_full_in_time:
            # One line of ours (the middleware may have logged warnings before it).
            assert err.strip().splitlines()[-1].startswith("diffim-validate run: "), err
        assert_consistent(database, workdir)
        new_runs = [run_id for run_id in run_ids(database) if run_id not in before]
        if fault == "full disk" and landed and not disk_full_in_time:
            with ResultsDB(database) as db:
                assert [db.run_status(run_id) for run_id in new_runs] == ["complete"], out
            assert "PASS: no failures" in out
            for name in ("report.html", "summary.md", "junit.xml", "results.json"):
                assert (workdir / "report" / name).stat().st_mtime >= started, name
            continue
        if not (landed and new_runs):
            continue  # it finished first, or was stopped before its run was recorded
        (run_id,) = new_runs
        with ResultsDB(database) as db:
            whole = db.run_status(run_id) == "complete"
        status = main(["report", "--db", str(database), "--run", str(run_id),
                       "--out", str(tmp_path / f"report-{run_id}")])
        headline = capsys.readouterr().out.strip().splitlines()[-1]
        if whole:
            # Stopped after its last result was recorded (while writing its report): the run
            # is whole and rightly reports PASS; `report` writes what the campaign did not.
            assert status == 0 and headline.startswith("PASS"), (fault, headline)
            continue
        stopped_runs += 1
        assert status == 1 and not headline.startswith("PASS"), (fault, headline)
    # Random points may all land after a run's last result on a loaded machine; one more
    # stop lands, by construction, between the first scenario's result and the second's.
    before = run_ids(database)
    process = start(campaign)
    run_id = wait_for_run(database, before, process, FIRST_OF_TWO_RECORDED)
    assert run_id is not None, "the campaign ended before its first scenario was recorded"
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=900)
    assert_consistent(database, workdir)
    assert main(["report", "--db", str(database), "--run", str(run_id),
                 "--out", str(tmp_path / f"report-{run_id}")]) == 1
    assert not capsys.readouterr().out.strip().splitlines()[-1].startswith("PASS")
    # The random stopping points fall inside the runs too: this is not testing nothing.
    assert stopped_runs >= 1


COMPLETE = "SELECT run_id FROM runs WHERE status = 'complete'"
# A run still running with one scenario's data ID recorded (the campaign has two).
FIRST_OF_TWO_RECORDED = """
    SELECT runs.run_id FROM runs
    JOIN scenarios ON scenarios.run_id = runs.run_id
    JOIN data_id_results ON data_id_results.scenario_id = scenarios.scenario_id
    WHERE runs.status = 'running'"""


def wait_for_run(database, before, process, query):
    """The first run id not in ``before`` that ``query`` selects, polled while ``process``
    runs, or `None` if ``process`` ended first."""
    while process.poll() is None:
        connection = sqlite3.connect(database)
        try:
            rows = connection.execute(query).fetchall()
        except sqlite3.OperationalError:  # not created yet
            rows = []
        finally:
            connection.close()
        found = [run_id for (run_id,) in rows if run_id not in before]
        if found:
            return found[0]
        time.sleep(0.005)
    return None


@pytest.mark.parametrize("fault", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_after_the_run_is_complete_says_how_to_write_its_report(campaign, capsys,
                                                                         fault):
    """Stopped once its run is recorded complete (while it writes its report), the campaign
    says so and which command writes the report; that command does, and the run passes."""
    path, workdir, database = campaign
    for _ in range(3):  # the run's report takes a second or more; a slow poll may miss it
        before = run_ids(database) if database.exists() else []
        process = start(campaign)
        run_id = wait_for_run(database, before, process, COMPLETE)
        if run_id is not None:
            process.send_signal(fault)
        out, err = process.communicate(timeout=900)
        if process.returncode == 128 + fault:
            break
    assert process.returncode == 128 + fault, err
    command = ["diffim-validate", "report", "--db", str(database), "--run", str(run_id),
               "--out", str(workdir / "report")]
    assert err.strip().splitlines()[-1] == (
        f"diffim-validate run: interrupted ({fault.name}); run {run_id} is complete; "
        f"`{shlex.join(command)}` writes its report")
    with ResultsDB(database) as db:
        assert db.run_status(run_id) == "complete"
    assert main(command[1:]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1].startswith("PASS")
    for name in ("report.html", "summary.md", "junit.xml", "results.json"):
        assert (workdir / "report" / name).exists(), name


def test_sigterm_during_a_garbage_collector_callback_is_not_lost():
    """A SIGTERM raised inside a weakref callback (swallowed by Python) is delivered again."""
    import gc
    import os
    import time
    import weakref

    from validation.termination import Terminated, terminate_as_interrupt

    class Thing:
        pass

    def callback(_):
        os.kill(os.getpid(), signal.SIGTERM)
        for _ in range(1000):  # the handler runs here, inside the callback
            pass

    with pytest.raises(Terminated), terminate_as_interrupt():
        thing = Thing()
        reference = weakref.ref(thing, callback)
        del thing
        gc.collect()
        time.sleep(5)  # the signal sent again arrives here
    assert reference() is None
