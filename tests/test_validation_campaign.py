"""A small campaign end to end: one field into a gen2 and a gen3 repo, scenarios through both,
verdicts in the database and the reports, a regression against a baseline failing the command."""
import json
import sqlite3

import numpy as np
import pytest
from _campaigns import scenario, write_campaign
from astropy.io import fits
from lsst.daf.butler import Butler
from threadpoolctl import threadpool_info

from compat.gen3 import INSTRUMENT
from diffim import Exposure
from diffim.io import write_exposure

from validation.campaign import load_campaign, run_campaign
from validation.campaign.gen3_backend import Gen3Backend, Gen3Outputs
from validation.campaign.run import openmp_threads_for, workdir_lock
from validation.cli import main
from validation.db import ResultsDB
from validation.errors import ValidationError
from validation.model import Verdict

SCENARIOS = [
    scenario("coadd_template", config={"doWriteMatchedExp": True},
             products=["differenceExp", "diaSrc", "matchedExp"]),
    scenario("calexp_template"),
    scenario("detect_only"),
    scenario("split_coadd"),
    scenario("split_undecorrelated"),
]


@pytest.fixture(scope="module")
def campaign(tmp_path_factory):
    root = tmp_path_factory.mktemp("campaign")
    path = write_campaign(root / "small.yaml", "small", SCENARIOS)
    workdir = root / "work"
    status = main(["run", str(path), "--workdir", str(workdir)])
    return path, workdir, status


def results(workdir):
    return json.loads((workdir / "report" / "results.json").read_text())


def test_the_campaign_runs_and_reports(campaign, capsys):
    _, workdir, status = campaign
    assert status == 0
    report = results(workdir)
    verdicts = {s["name"]: {r["verdict"] if "verdict" in r else None for r in s["data_ids"]}
                for s in report["scenarios"]}
    assert set(verdicts) == {"coadd_template", "calexp_template", "detect_only", "split_coadd",
                             "split_undecorrelated"}
    for name in ("report.html", "summary.md", "junit.xml", "results.json"):
        assert (workdir / "report" / name).stat().st_size > 0


def test_the_gen3_registry_commits_through_a_write_ahead_log(campaign):
    _, workdir, _ = campaign
    registry = workdir / "run" / "gen3" / "repo" / "gen3.sqlite3"
    with sqlite3.connect(registry) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert connection.execute("SELECT COUNT(*) FROM file_datastore_records").fetchone()[0] > 0


def test_same_logic_under_both_middlewares_is_bit_identical(campaign):
    _, workdir, _ = campaign
    with ResultsDB(workdir / "results.sqlite3") as db:
        report = db.load_run(db.latest_run_id(campaign="small"))
    by_name = {s.name: s for s in report.scenarios}
    for name in ("coadd_template", "calexp_template", "split_coadd"):
        scenario = by_name[name]
        assert scenario.verdict is Verdict.IDENTICAL, (name, [
            c.summary for r in scenario.data_ids for c in r.comparisons])
        assert len(scenario.data_ids) == 2
    # Detection alone: gen2 reads no matched template (as the stack's task did), gen3's
    # detect-only pipeline does; the template's forced photometry is the only difference.
    detect_only = by_name["detect_only"]
    assert detect_only.verdict is Verdict.DIFFERENT
    for comparison in (c for r in detect_only.data_ids for c in r.comparisons):
        outside = {name for name, column in comparison.details["columns"].items()
                   if column["outside"]}
        assert outside == {"ip_diffim_forced_template_PsfFlux_instFlux"}, comparison.summary
    # Another configuration really changes the pixels, and the comparison sees it.
    other = by_name["split_undecorrelated"]
    assert other.verdict is Verdict.DIFFERENT
    assert other.expected_reason == "the split was run without decorrelation"
    differences = [c for r in other.data_ids for c in r.comparisons
                   if c.product == "differenceExp"]
    assert all(c.metrics["image.frac_differing"] > 0.5 for c in differences)


def test_science_metrics_are_stored_for_both_backends(campaign):
    _, workdir, _ = campaign
    with ResultsDB(workdir / "results.sqlite3") as db:
        report = db.load_run(db.latest_run_id(campaign="small"))
    metric = {(scenario.name, result.data_id["visit"], backend, name): value
              for scenario in report.scenarios for result in scenario.data_ids
              for backend, values in result.backend_metrics.items()
              for name, value in values.items()}
    for backend in ("gen2", "gen3"):
        assert 0.9 < metric[("coadd_template", 10, backend, "residual_std")] < 1.1
        # Calexp templates: the kernel sum is the simulated transparency ratio
        # of science visits 10 and 11 to template visit 1 (0.90 and 0.93).
        assert metric[("calexp_template", 10, backend, "kernel_sum")] == pytest.approx(0.90, rel=0.01)
        assert metric[("calexp_template", 11, backend, "kernel_sum")] == pytest.approx(0.93, rel=0.01)
        assert metric[("coadd_template", 10, backend, "n_dia_sources")] > 0


def test_gen3_outputs_found_in_one_query_per_dataset_type_are_each_data_ids(campaign):
    path, workdir, _ = campaign
    root = workdir / "run" / "gen3" / "repo"
    butler = Butler.from_config(str(root))
    with ResultsDB(workdir / "results.sqlite3") as db:
        report = db.load_run(db.latest_run_id(campaign="small"))
    data_ids = [result.data_id for result in report.scenarios[0].data_ids]
    for scenario in load_campaign(path).scenarios:
        collection = Gen3Backend.output_collection(scenario)
        outputs = Gen3Outputs(root, scenario, {d["detector"]: collection for d in data_ids},
                              butler=butler)
        for data_id in data_ids:
            read = outputs.read(data_id)
            key = {"instrument": INSTRUMENT, **data_id}
            if outputs.group is not None:
                key["group"] = outputs.group
            for product, found in read.outputs.items():
                expected = butler.get(f"{outputs.where.prefix}_{product}", key,
                                      collections=[collection])
                if isinstance(found, Exposure):
                    assert found.image.tobytes() == expected.image.tobytes()
                else:
                    assert found.equals(expected)
            assert set(read.outputs) == set(scenario.products)
            assert set(read.metadata) == set(outputs.labels)
        # Found by one query per dataset type, not by data ID.
        assert all(refs is not None and len(refs) == len(data_ids)
                   for (_, dataset_type), refs in outputs._found.items()
                   if dataset_type.endswith("_differenceExp"))


def test_the_campaign_audits_its_own_configs(campaign):
    _, workdir, _ = campaign
    with ResultsDB(workdir / "results.sqlite3") as db:
        report = db.load_run(db.latest_run_id(campaign="small"))
    found = {feature for record in report.audits for feature in record.features}
    assert {"calexp_template", "select_sources_template", "detect_only"} <= found
    assert not [problem for record in report.audits for problem in record.problems]


def test_a_regression_against_the_baseline_fails_the_command(campaign, tmp_path, capsys):
    path, workdir, _ = campaign
    baseline = results(workdir)
    baseline_path = tmp_path / "baseline.json"
    baseline_path.write_text(json.dumps(baseline))
    arguments = ["run", str(path), "--workdir", str(workdir), "--scenario", "calexp_template",
                 "--baseline", str(baseline_path), "--regression"]
    # Against itself (the other scenarios were not run this time: missing is a regression).
    assert main(arguments) == 1
    assert "REGRESSION" in capsys.readouterr().out
    baseline["scenarios"] = [s for s in baseline["scenarios"] if s["name"] == "calexp_template"]
    baseline_path.write_text(json.dumps(baseline))
    assert main(arguments) == 0


def test_an_unknown_scenario_is_one_line(campaign, capsys):
    path, workdir, _ = campaign
    assert main(["run", str(path), "--workdir", str(workdir), "--scenario", "nope"]) == 2
    assert capsys.readouterr().err.strip().endswith("no scenario 'nope'")


def test_parallel_workers_give_the_same_results(campaign, tmp_path, capsys):
    """``-j 2``: gen2's process pool and gen3's multiprocess executor change nothing."""
    path, workdir, _ = campaign
    baseline = results(workdir)
    baseline["scenarios"] = [s for s in baseline["scenarios"] if s["name"] == "coadd_template"]
    baseline_path = tmp_path / "baseline.json"
    baseline_path.write_text(json.dumps(baseline))
    assert main(["run", str(path), "--workdir", str(workdir), "--scenario", "coadd_template",
                 "-j", "2", "--baseline", str(baseline_path), "--regression"]) == 0
    assert "0 regression(s)" in capsys.readouterr().out
    assert {r["data_id"]["visit"] for r in results(workdir)["scenarios"][0]["data_ids"]} == {10, 11}


def test_an_interrupted_run_is_marked_and_keeps_whole_scenarios(campaign):
    """Ctrl-C after the first scenario: that scenario is stored whole, the run says interrupted."""
    path, workdir, _ = campaign
    selected = load_campaign(path).select(["coadd_template", "calexp_template"])

    def interrupt_after_first_scenario(line):
        if line.startswith("[1/"):
            raise KeyboardInterrupt

    database = workdir / "interrupted.sqlite3"
    with pytest.raises(KeyboardInterrupt):
        run_campaign(selected, workdir, str(database), progress=interrupt_after_first_scenario)
    with ResultsDB(database) as db:
        run_id = db.latest_run_id(campaign="small")
        assert db.run_status(run_id) == "interrupted"
        stored = db.load_run(run_id)
    assert [s.name for s in stored.scenarios] == ["coadd_template"]
    assert len(stored.scenarios[0].data_ids) == 2


def test_a_campaign_on_existing_field_files(campaign, tmp_path, capsys):
    """``dataset: {field_files: DIR}``: data arranged beforehand (e.g. real images) is used as is."""
    _, workdir, _ = campaign
    path = write_campaign(tmp_path / "files.yaml", "files", [scenario("coadd_template")],
                          visits=(11,), field_files=workdir / "field")
    assert main(["run", str(path), "--workdir", str(tmp_path / "work")]) == 0
    assert "coadd_template  identical  1 identical" in capsys.readouterr().out
    assert not (tmp_path / "work" / "field").exists()


def test_a_run_whose_checks_fail_exits_1(campaign, tmp_path, capsys):
    """Detection alone with no difference to detect on: every check fails, and the exit says so."""
    _, workdir, _ = campaign
    nothing_to_detect = {**scenario("detect_only", builds_on=None, expected_reason=None),
                         "name": "nothing_to_detect"}
    path = write_campaign(tmp_path / "failing.yaml", "failing", [nothing_to_detect],
                          visits=(11,), field_files=workdir / "field")
    assert main(["run", str(path), "--workdir", str(tmp_path / "work")]) == 1
    assert "\nFAIL: 1 failed and 0 unexplained difference(s) in 1 checks" in capsys.readouterr().out


def test_a_second_campaign_in_the_same_work_directory_is_refused(campaign, capsys):
    path, workdir, _ = campaign
    with workdir_lock(workdir):
        assert main(["run", str(path), "--workdir", str(workdir)]) == 2
    assert "another campaign is running in this work directory" in capsys.readouterr().err


class _Field:
    """Field files whose calexps are ``side`` pixels square (only what the thread rule reads:
    the first calexp's header; the other file does not exist)."""

    def __init__(self, side, directory):
        self.calexps = {(11, 1): directory / "missing.fits", (10, 0): directory / "calexp.fits"}
        write_exposure(Exposure(np.zeros((side, side), np.float32)), self.calexps[10, 0])


def _openmp_threads():
    return {info["num_threads"] for info in threadpool_info() if info["user_api"] == "openmp"}


@pytest.mark.parametrize("side, threads_inside", [(384, {1}), (1024, None)])
def test_a_small_field_runs_on_one_openmp_thread(side, threads_inside, tmp_path):
    import diffim._core._checksum  # noqa: F401  (loads the compiled loops' OpenMP runtime)

    outside = _openmp_threads()
    assert outside
    with openmp_threads_for(_Field(side, tmp_path)):
        assert _openmp_threads() == (threads_inside or outside)
    assert _openmp_threads() == outside


def test_a_calexp_that_is_no_exposure_file_is_a_one_line_error(tmp_path):
    field = _Field(384, tmp_path)
    fits.PrimaryHDU(np.zeros((384, 384), np.float32)).writeto(field.calexps[10, 0], overwrite=True)
    message = (f"^{field.calexps[10, 0]}: not an exposure file \\(no IMAGE header after a "
               "primary header without data\\)$")
    with pytest.raises(ValidationError, match=message):
        with openmp_threads_for(field):
            pass
