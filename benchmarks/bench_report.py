"""The reports of a stored campaign: `validation.report.write_reports`, and ``diffim-validate report``.

The campaign (the tests' small simulated field, one data ID) runs once, in
the fixture: an identical scenario and two gen3 splits configured unlike the
monolith, one without decorrelation, one with a constant kernel (their
difference images and catalogues differ, for a stated reason: difference
images, cut-outs and column plots). Then its
reports are written from the results database: in this process
(`write_reports`, imports done), and as the whole command, in a child
process. ``extra_info`` has the figures drawn and the CPU seconds (user +
system, the figure that stays honest on a loaded machine), median of the
rounds.
"""
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest

from validation.audit import summarize_run
from validation.cli import main
from validation.db import ResultsDB
from validation.report import write_reports

sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))
from _campaigns import scenario, write_campaign  # noqa: E402

SCENARIOS = [
    scenario("coadd_template"),
    scenario("split_undecorrelated"),
    {"name": "split_constant_kernel", "features": ["split_tasks"], "gen3_pipeline": "coadd_template",
     "gen3_config": {"subtractImages": {"makeKernel.kernel.active.spatialKernelOrder": 0,
                                        "makeKernel.kernel.active.spatialBgOrder": 2}},
     "expected_reason": "the split's kernel does not vary over the detector"},
]
COMMAND = Path(sys.executable).with_name("diffim-validate")


@pytest.fixture(scope="module")
def stored_campaign(tmp_path_factory):
    """The results database of the campaign, run once."""
    root = tmp_path_factory.mktemp("report")
    path = write_campaign(root / "report.yaml", "report", SCENARIOS, visits=(10,))
    workdir = root / "work"
    assert main(["run", str(path), "--workdir", str(workdir)]) == 0
    return workdir / "results.sqlite3"


def test_write_reports(benchmark, stored_campaign, tmp_path):
    """`write_reports` of the stored run: HTML with its figures, Markdown, JUnit XML, JSON."""
    with ResultsDB(str(stored_campaign)) as database:
        report = database.load_run(database.latest_run_id())
        trend = database.trend(report.run.campaign)
    audit_summary = summarize_run(report)
    seconds = []

    def write():
        start = time.process_time()
        paths = write_reports(report, tmp_path, trend=trend, audit_summary=audit_summary)
        seconds.append(time.process_time() - start)
        return paths

    paths = benchmark.pedantic(write, rounds=5, warmup_rounds=1)
    n_figures = paths["html"].read_text().count("<svg")
    assert n_figures >= 10
    benchmark.extra_info.update(figures=n_figures, cpu_s=round(statistics.median(seconds), 3))


def test_report_command(benchmark, stored_campaign, tmp_path):
    """``diffim-validate report --db DB --out DIR`` as a whole process: start-up, imports, reports."""
    seconds = []

    def command():
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run([str(COMMAND), "report", "--db", str(stored_campaign), "--out", str(tmp_path)],
                       check=True, stdout=subprocess.DEVNULL)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        seconds.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)

    benchmark.pedantic(command, rounds=3, warmup_rounds=1)
    assert "PASS" in (tmp_path / "summary.md").read_text()
    benchmark.extra_info["cpu_s"] = round(statistics.median(seconds), 3)
