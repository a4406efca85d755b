"""One small campaign on the local engine with 1 and 2 workers (the middlewares' own pools),
on 1 Parsl worker, and on 2 Parsl workers with its results in PostgreSQL: the same verdicts, the
same database rows (apart from timings, host names and process ids) and the same output files,
byte for byte."""
import contextlib
import hashlib
import io
import pickle
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import parsl
import pytest
import sqlalchemy as sa
from _campaigns import SMALL_FIELD, scenario, write_campaign
from _postgres import postgresql_cluster  # noqa: F401  (fixture)
from lsst.daf.butler import DatasetType
from parsl.errors import NoDataFlowKernelError

from compat.gen3 import make_repo
from validation.campaign import gen3_backend
from validation.campaign.dataset import prepare_dataset
from validation.campaign.engine import start_engine
from validation.campaign.gen3_backend import Gen3Outputs
from validation.cli import main
from validation.db import ResultsDB
from validation.db.engine import open_engine
from validation.db.schema import (audits, comparisons, data_id_results, features, metrics, runs,
                                  scenario_features, scenarios)
from validation.errors import ValidationError

# A split pipeline (three tasks, so Parsl apps waiting on others), a scenario built on another
# one's outputs (its lanes wait for that one, not for the scenario before), and a scenario whose
# gen2 data references and gen3 graph fail (template visit 4 has no calexp), run beside the
# scenario before it.
SCENARIOS = [
    scenario("coadd_template", config={"doWriteMatchedExp": True},
             products=["differenceExp", "diaSrc", "matchedExp"]),
    scenario("detect_only"),
    scenario("split_coadd"),
    {"name": "no_such_template", "features": ["calexp_template"], "template": "calexp",
     "template_visit": 4},
]
ENGINES = [("local", 1, "sqlite"), ("local", 2, "sqlite"), ("parsl", 1, "sqlite"),
           ("parsl", 2, "postgresql")]
_RUN_STAMP = re.compile(r"\d{8}T\d{6}Z")


@pytest.fixture(scope="module")
def campaign_file(tmp_path_factory):
    """The campaign, on a field written beforehand."""
    root = tmp_path_factory.mktemp("engines")
    field = prepare_dataset({"simulated_field": SMALL_FIELD}, root / "field")
    return write_campaign(root / "engines.yaml", "engines", SCENARIOS, field_files=field.root)


@pytest.fixture(scope="module")
def campaigns(campaign_file, postgresql_cluster):  # noqa: F811
    """Each engine's run: its output, its database rows and the digests of its outputs."""
    path, root = campaign_file, campaign_file.parent
    done = {}
    for engine, workers, database in ENGINES:
        url = (str(root / f"{engine}{workers}.sqlite3") if database == "sqlite" else
               postgresql_cluster.url(postgresql_cluster.create_database("engines")))
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            status = main(["run", str(path), "--workdir", str(root / "work"), "--db", url,
                           "--engine", engine, "--workers", str(workers),
                           "--out", str(root / f"report-{engine}{workers}")])
        done[engine, workers] = SimpleNamespace(
            status=status, url=url, out=out.getvalue(), rows=database_rows(url),
            digests=output_digests(root / "work" / "run"))
    return done


def database_rows(url):
    """Every row of the database's one run, keyed by names instead of surrogate ids, without
    times, host names, process ids and the ``seconds`` metrics."""
    engine, _ = open_engine(url)
    scenario = scenarios.c.name.label("scenario")
    data_id = data_id_results.c.data_id_json.label("data_id")
    queries = {
        "runs": sa.select(runs.c.campaign, runs.c.code_version, runs.c.config_hash,
                          runs.c.python, runs.c.packages_json, runs.c.status,
                          runs.c.planned_json),
        "scenarios": sa.select(*[c for c in scenarios.c if c.name not in
                                 ("scenario_id", "run_id")]),
        "features": sa.select(scenario, scenario_features.c.position, features.c.name)
        .select_from(scenarios).join(scenario_features).join(features),
        "data_ids": sa.select(scenario, data_id, data_id_results.c.error).join(data_id_results),
        "comparisons": sa.select(scenario, data_id, *[
            c for c in comparisons.c if c.name not in ("comparison_id", "data_id_result_id")])
        .select_from(scenarios).join(data_id_results).join(comparisons),
        "metrics": sa.select(scenario, data_id, metrics.c.backend, metrics.c.name,
                             metrics.c.value)
        .select_from(metrics).join(data_id_results).join(scenarios)
        .where(metrics.c.name != "seconds"),
        "audits": sa.select(*[c for c in audits.c if c.name not in ("audit_id", "run_id")]),
    }
    with engine.connect() as connection:
        rows = {name: sorted(tuple(row) for row in connection.execute(query))
                for name, query in queries.items()}
    engine.dispose()
    return rows


def output_digests(run_dir):
    """SHA-256 of every difference-imaging output of both middlewares, by path (gen3's RUN
    timestamps taken out); task metadata, which holds timings, and gen3's task logs, which
    name the quanta run before in the same process, left out."""
    digests = {}
    for path in run_dir.rglob("*"):
        name = str(path.relative_to(run_dir))
        if path.is_file() and "Diff" in name and not re.search(r"_(metadata|log)\b", name):
            digests[_RUN_STAMP.sub("RUN", name)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return digests


def test_every_engine_gives_the_expected_verdicts(campaigns):
    for run in campaigns.values():
        assert run.status == 1  # no_such_template fails, on purpose
        verdicts = {}
        for name, _, _, _, verdict, *_ in run.rows["comparisons"]:
            verdicts.setdefault(name, set()).add(verdict)
        assert verdicts == {"coadd_template": {"identical"}, "detect_only": {"different"},
                            "split_coadd": {"identical"}}
        errors = {scenario: error for scenario, _, error in run.rows["data_ids"] if error}
        assert set(errors) == {"no_such_template"}
        assert errors["no_such_template"].startswith(
            "gen2: wrote no outputs (Failed on dataId={'ccd': 0, 'filter': 'r_sim', 'visit': 10}: "
            "NoResults: No locations for get: datasetType:calexp")
        # Its gen3 graph fails while it is built, beside split_coadd's quanta on two workers;
        # of the two visits' errors the message is the same one in every process.
        assert errors["no_such_template"].endswith(
            "; gen3: Gen3Error: pipeline image_difference: nothing to run for "
            "\"instrument='SimCam' AND visit IN (10, 11) AND detector IN (0)\": templatePairs: "
            "template visit(s) [4] of science visit 10 are not visits of SimCam in this repository")


@pytest.mark.parametrize("engine, workers", [("local", 2), ("parsl", 1), ("parsl", 2)])
def test_every_engine_stores_what_one_local_worker_stores(campaigns, engine, workers):
    expected = campaigns["local", 1].rows
    found = campaigns[engine, workers].rows
    for table in expected:
        assert found[table] == expected[table], table


@pytest.mark.parametrize("engine, workers", [("local", 2), ("parsl", 1), ("parsl", 2)])
def test_every_engine_writes_the_same_bits(campaigns, engine, workers):
    expected = campaigns["local", 1].digests
    assert len(expected) > 20
    assert campaigns[engine, workers].digests == expected


def test_progress_counts_scenarios_and_data_ids(campaigns):
    lines = campaigns["parsl", 2].out.splitlines()
    assert "4 scenarios x 2 data IDs on 2 parsl worker(s)" in lines[1]
    progress = [line for line in lines if line.startswith("[")]
    assert [line.split(" | ")[0] for line in progress] == [
        "[1/4] coadd_template: identical", "[2/4] detect_only: different",
        "[3/4] split_coadd: identical", "[4/4] no_such_template: failed"]
    assert re.fullmatch(r"2/8 data IDs, \S+ elapsed, ETA \S+", progress[0].split(" | ")[1])
    assert progress[-1].endswith("8/8 data IDs, " + progress[-1].split(", ")[1].split()[0]
                                 + " elapsed, ETA 0s")


def test_status_shows_the_runs_and_one_run_scenario_by_scenario(campaigns, capsys):
    url = campaigns["parsl", 1].url
    assert main(["status", "--db", url]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^1\s+engines\s+complete\s+4/4\s+2 identical, 1 different, 1 failed\s",
                     out, re.M), out
    assert main(["status", "--db", url, "--run", "1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("run 1 (engines): complete, 4 of 4 scenario(s) recorded")
    assert lines[1:4] == ["  coadd_template: done, identical (2 data IDs)",
                          "  detect_only: done, different (2 data IDs)",
                          "  split_coadd: done, identical (2 data IDs)"]
    assert lines[4].startswith("  no_such_template: failed (2 of 2 data IDs): gen2: ")


def test_a_killed_parsl_campaign_is_abandoned_and_leaves_no_process(campaign_file, tmp_path):
    database = tmp_path / "results.sqlite3"
    campaign = subprocess.Popen(
        [sys.executable, "-m", "validation.cli", "run", str(campaign_file), "--workdir",
         str(tmp_path / "work"), "--db", str(database), "--engine", "parsl", "--workers", "2"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    for line in campaign.stdout:
        if line.startswith("[1/4]"):
            break
    engine_processes = _descendants(campaign.pid)
    assert any("interchange" in command for command in engine_processes.values())
    campaign.kill()
    campaign.wait()
    with ResultsDB(database) as db:  # opening marks the runs of dead processes abandoned
        assert [run.status for run in db.runs()] == ["abandoned"]
    # The interchange dies with the campaign, the workers when they miss its heartbeats.
    workers = set()
    for pid, command in _processes().items():
        if str(tmp_path) in command:  # the provider's scripts and the worker pool
            workers |= {pid, *_descendants(pid)}
    deadline = time.monotonic() + 90
    while (set(engine_processes) | workers) & set(_processes()) and time.monotonic() < deadline:
        time.sleep(1)
    assert not (set(engine_processes) | workers) & set(_processes())


def _processes():
    """Process id -> command line, of every process this user can see."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                found[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ") \
                    .decode(errors="replace")
            except OSError:
                continue
    return found


def _descendants(pid):
    """Process id -> command line of the children of ``pid``, and theirs."""
    found, parents = {}, [pid]
    commands = _processes()
    while parents:
        parent = parents.pop()
        for task in Path(f"/proc/{parent}/task").glob("*"):
            try:
                children = [int(child) for child in (task / "children").read_text().split()]
            except OSError:
                continue
            for child in children:
                found[child] = commands.get(child, "")
                parents.append(child)
    return found


def test_parsl_workers_run_this_interpreter_and_are_unloaded_after(tmp_path):
    with start_engine("parsl", 1, tmp_path) as engine:
        assert (engine.parsl, engine.jobs, engine.workers) == (True, 1, 1)
        # eval, not a function of this module: the workers cannot import the tests.
        interpreter = parsl.python_app(eval)(
            "__import__('sys').executable, __import__('os').environ['OMP_NUM_THREADS'], "
            "sorted(set(__import__('sys').modules) & {'compat.gen2.parsl_runner', "
            "'compat.gen3.parsl_executor', 'compat.gen3.tasks', 'lsst.daf.butler'}), "
            "sorted({(pool['internal_api'], pool['num_threads']) for pool in "
            "__import__('threadpoolctl').threadpool_info()})")
        # Forked from the server that imported what the apps run: ready at its first app. One
        # core per worker: its OpenMP and BLAS pools have one thread (two workers can gain 2x).
        assert interpreter.result() == (sys.executable, "1", [
            "compat.gen2.parsl_runner", "compat.gen3.parsl_executor", "compat.gen3.tasks",
            "lsst.daf.butler"], [("openblas", 1), ("openmp", 1)])
    with pytest.raises(NoDataFlowKernelError):
        parsl.dfk()
    with start_engine("local", 3, tmp_path) as engine:
        assert (engine.parsl, engine.jobs) == (False, 3)


def test_an_unknown_engine_or_no_worker_is_one_line(campaign_file, tmp_path, capsys):
    with pytest.raises(ValidationError, match="^unknown engine 'dask'; known: local, parsl$"):
        with start_engine("dask", 1, tmp_path):
            pass
    assert main(["run", str(campaign_file), "--workdir", str(tmp_path), "--workers", "0"]) == 2
    assert capsys.readouterr().err == "diffim-validate run: error: --workers must be >= 1, got 0\n"
    with pytest.raises(SystemExit):
        main(["run", str(campaign_file), "--engine", "dask"])


def test_no_data_id_compares_to_nothing_on_a_pool():
    """A scenario whose data IDs are all gone asks a local pool of 2 for nothing: no
    ``max_workers=0`` error from the pool, as with one worker."""
    from validation.campaign.compare_backends import compare_backends
    from validation.campaign.engine import Engine

    assert compare_backends(None, [], None, None, None, Engine("local", 2)) == []


def test_workers_read_every_scenario_through_one_butler_per_repository(tmp_path):
    """Readers unpickled in a worker open the repository once per process (again once it is made
    anew) and find what was written after it was opened."""
    def made_with(value):
        if root.exists():
            shutil.rmtree(root)
        butler = make_repo(root)
        butler.registry.registerDatasetType(DatasetType("thing", (), "StructuredDataDict",
                                                        universe=butler.dimensions))
        return written(butler, "first", value)

    def written(butler, run, value):
        butler.registry.registerRun(run)
        butler.put({"value": value}, "thing", run=run)
        return butler

    def read(collection):
        outputs = Gen3Outputs(root, SimpleNamespace(products=(), gen3_pipeline="coadd_template",
                                                    template_visit=None), {0: collection})
        in_worker = pickle.loads(pickle.dumps(outputs))  # as a worker gets it: no butler open
        return in_worker._butler(collection).get("thing")["value"]

    root = tmp_path / "repo"
    opened = gen3_backend._opened_butler.cache_info().misses
    butler = made_with(1)
    assert read("first") == 1
    written(butler, "second", 2)
    assert read("second") == 2
    assert read("first") == 1
    assert gen3_backend._opened_butler.cache_info().misses == opened + 1
    made_with(3)
    assert read("first") == 3
    assert gen3_backend._opened_butler.cache_info().misses == opened + 2


_KEPT_IN_WORKERS = """
import gc
import numpy as np
import validation.campaign.worker_preload
from diffim import Exposure
from diffim.task import Struct
from diffim.template.kept import kept_template

gc.collect()  # nothing the preload entered is left to the collector
builds = []
def build():
    builds.append(1)
    return Struct(exposure=Exposure(np.zeros((8, 8), np.float32)))
first, again = kept_template(b"key", build), kept_template(b"key", build)
print(len(builds), first.exposure is not again.exposure)
"""


def test_the_workers_keep_the_templates_they_build():
    """As the campaign's process does: a worker builds a template once and copies it after."""
    done = subprocess.run([sys.executable, "-c", _KEPT_IN_WORKERS], capture_output=True,
                          text=True, check=True)
    assert done.stdout.split() == ["1", "True"]


def test_the_workers_preload_leaves_out_what_only_the_campaign_process_runs():
    """The fork server imports what the apps run, not the database, the audit or the simulator's
    campaign set-up (about 0.3 CPU s before the first app)."""
    code = ("import sys, validation.campaign.worker_preload; "
            "print(sorted(m for m in ('validation.campaign.run', 'validation.db', "
            "'validation.audit', 'validation.campaign.dataset') if m in sys.modules))")
    imported = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              check=True).stdout
    assert imported.strip() == "[]"
