"""The era-aware audit on real gen2 override files (tests/data/gen2_overrides)."""
import os
import subprocess

import pytest

from validation.audit import audit_paths
from validation.audit import cli
from validation.audit.cli import format_report
from validation.audit.era import file_era, parse_era
from validation.audit.era_findings import FINDING_KINDS
from validation.audit.history import ConfigHistory, canonical_path
from validation.audit.summary import summarize
from validation.errors import ValidationError

REAL = os.path.join(os.path.dirname(__file__), "data", "gen2_overrides")


@pytest.fixture(scope="module")
def real_records():
    """Audit of every real override file, by file name."""
    return {os.path.basename(record.path): record for record in audit_paths([REAL])}


def findings(record, kind):
    """``path -> message`` of the record's findings of one kind."""
    return {finding["path"]: finding["message"] for finding in record.findings
            if finding["kind"] == kind}


def test_history_knows_when_defaults_changed():
    history = ConfigHistory.load()
    assert history.last_gen2 == "2022-08-02"
    select = history.state("doSelectSources", "2016-11-13")
    assert (select.exists, select.default) == (True, True)
    today = history.today("doSelectSources")
    assert today.default is False
    assert today.since.cite == "2021-06-01, lsst/pipe_tasks@79ea098af7"
    assert history.state("doDecorrelation", "2016-06-01").exists is False
    assert history.state("doDecorrelation", "2019-01-01").default is False
    assert history.today("doDecorrelation").default is True
    preconvolve = history.today("doPreConvolve")
    assert preconvolve.no_effect.date == "2021-07-19"
    assert "superseded by useScoreImageDetection" in preconvolve.no_effect.value
    assert history.state("useScoreImageDetection", "2021-06-01").exists is False
    assert history.state("useScoreImageDetection", "2021-06-02").exists is True
    # Kernel defaults from ip_diffim, overridden by ImageDifferenceConfig.setDefaults.
    assert history.state("subtract['al'].kernel['AL'].spatialBgOrder", "2018-01-01").default == 0
    assert history.today("subtract.kernel.active.spatialBgOrder").default == 2
    assert history.today("subtract['al'].kernel['AL'].kernelSize").default == 21
    assert history.registries["subtract"]["keys"] == ["al", "zogy"]


def test_history_catalogues_fields_older_files_set():
    history = ConfigHistory.load()
    for field in ("doUseRegister", "register", "astrometer", "refObjLoader", "sourceSelector",
                  "useGaussianForPreConvolution", "doSpatiallyVarying", "convolveTemplate",
                  "doMerge", "kernelSourcesFromRef", "connections", "getTemplate"):
        assert history.today(field).exists, field
    assert history.today("doUseRegister").default is False
    assert not history.today("winter2013WcsShift").exists  # moved to the Winter2013 config
    assert canonical_path('subtract.kernel.active.kernelSize') == \
        "subtract['al'].kernel['AL'].kernelSize"


def test_era_from_provenance_entry(real_records):
    record = real_records["obs_lsstSim__imageDifference_2016.py"]
    assert record.era.startswith("2016-11-13 (")
    assert "PROVENANCE.md" in record.era


def test_2016_file_relied_on_selecting_kernel_sources(real_records):
    # Its only settings are kernelSourcesFromRef=True and doDecorrelation=True:
    # in 2016 doSelectSources defaulted to True, so kernel sources came from
    # the reference catalogue; today the same file selects nothing.
    record = real_records["obs_lsstSim__imageDifference_2016.py"]
    relied = findings(record, "relied_on_default")
    assert relied["doSelectSources"] == (
        "relied on doSelectSources=True (the default on 2016-11-13); today False "
        "(since 2021-06-01, lsst/pipe_tasks@79ea098af7)")
    assert "doDecorrelation" not in relied  # set by the file
    assert relied["detection.thresholdValue"].startswith(
        "relied on detection.thresholdValue=5.5")
    assert "subtract['al'].kernel['AL'].spatialBgOrder" in relied
    assert "doForcedMeasurement" in findings(record, "new_since_era")
    assert record.problems == []


def test_subtract_kernel_path_of_2016_no_longer_loads(real_records):
    record = real_records["Twinkles__diffimconfig.py"]
    moved = findings(record, "would_not_load")["subtract.kernel.name"]
    assert moved.startswith(f"{record.path}:8: written when subtract was one task")
    assert moved.endswith("today subtract['al'].kernel.name")
    # doUseRegister=False was already the default in 2016: nothing relied on, nothing changed.
    assert not [finding for finding in record.findings if finding["path"] == "doUseRegister"]


def test_field_of_an_unmerged_refactor_is_unknown(real_records):
    record = real_records["ip_diffim__diffimconfig.py"]
    message = findings(record, "unknown_field")["makeDiffim"]
    assert message.startswith(f"{record.path}:7 (and 4 more statements): ")
    assert "has a field makeDiffim" in message


def test_driver_config_is_audited_as_image_difference_settings(real_records):
    record = real_records["dia_pipe__imageDifferenceDriver.py"]
    blocking = findings(record, "would_not_load")
    assert "written for ImageDifferenceDriverTask" in blocking["imageDifference"]
    assert blocking["getPackageDir('obs_lsst')"].startswith(f"{record.path}:6: ")
    # config.imageDifference.kernelSourcesFromRef = True relied on doSelectSources=True.
    assert "doSelectSources" in findings(record, "relied_on_default")
    assert "kernelSourcesFromRef" not in findings(record, "relied_on_default")


def test_files_of_2021_after_the_default_changes(real_records):
    cosmos = real_records["ap_verify_ci_cosmos_pdr2__imageDifference_2021.py"]
    relied = findings(cosmos, "relied_on_default")
    assert relied["doDecorrelation"].startswith("relied on doDecorrelation=False")
    assert "doScaleDiffimVariance" not in relied  # set by the file
    late = real_records["ap_verify_hits2015__imageDifference_2021.py"]
    # Written after every change; its connections.* are known to the stack and are
    # gen3's dataset names, which this project's gen2 does not read.
    assert {finding["kind"] for finding in late.findings} == {"not_applied_here"}
    assert findings(late, "not_applied_here")["connections.exposure"].startswith(
        f"{late.path}:12: connections.exposure='calexp' is accepted but not applied: ")


def test_real_files_no_longer_all_clean(real_records):
    assert len(real_records) == 16
    with_findings = [name for name, record in real_records.items() if record.findings]
    assert len(with_findings) == 16
    report = format_report(list(real_records.values()), summarize(real_records.values()))
    blocked = {name for name, record in real_records.items()
               if any(finding["kind"] in ("would_not_load", "unknown_field")
                      for finding in record.findings)}
    assert blocked == {"Twinkles__diffimconfig.py", "wiyn_lsst__diffimconfig.py",
                       "ip_diffim__diffimconfig.py", "ap_verify_hits2015__apPipe.py",
                       "dia_pipe__imageDifferenceDriver.py",
                       "run2_diaproc__imageDifferenceDriver_config.py",
                       "run2_diaproc__imageDifferenceDriver_config_zogy.py"}
    assert "relied on doSelectSources=True (the default on 2016-11-13)" in report


def test_era_option_wins_over_the_file(real_records):
    path = os.path.join(REAL, "ap_verify_hits2015__imageDifference_2021.py")
    (record,) = audit_paths([path], era="2016-01-01")
    assert record.era == "2016-01-01 (--era)"
    assert findings(record, "relied_on_default")["doSelectSources"].startswith(
        "relied on doSelectSources=True (the default on 2016-01-01)")


def test_header_note_no_effect_and_observatory_import(tmp_path):
    path = tmp_path / "goto_like.py"
    path.write_text("# Written for the 2019 stack\n# era: 2019-12-20\n"
                    "from lsst.obs.goto.printDict import printDict\n"
                    "config.doPreConvolve = True\n"
                    "config.subtract.name = 'zogy'\n"
                    "config.subtract['zogy'].zogyConfig.inImageSpace = False\n"
                    "config.subtract['none'].kernel.name = 'AL'\n")
    (record,) = audit_paths([str(path)])
    assert record.era == f"2019-12-20 (header {path}:2)"
    blocking = findings(record, "would_not_load")
    assert blocking["lsst.obs.goto.printDict"] == (
        f"{path}:3: imports lsst.obs.goto.printDict, an observatory package (camera and data "
        "layout of one instrument) that is not installed")
    assert findings(record, "no_effect_today")["doPreConvolve"] == (
        f"{path}:4: doPreConvolve=True has no effect since 2021-07-19, "
        "lsst/pipe_tasks@f96c35320d: This option superseded by useScoreImageDetection. "
        "Will be removed after v22.")
    assert findings(record, "unknown_field")["subtract['none'].kernel.name"].endswith(
        "subtract offers al, zogy, not 'none'")
    assert not [finding for finding in record.findings if "zogy" in finding["path"]]


def test_era_from_git_and_none_outside_git(tmp_path):
    path = tmp_path / "override.py"
    path.write_text("config.doDecorrelation = True\n")
    assert file_era(str(path), path.read_text()) is None
    env = {**os.environ, "GIT_COMMITTER_DATE": "2017-03-04T12:00:00+00:00",
           "GIT_AUTHOR_DATE": "2017-03-04T12:00:00+00:00", "GIT_AUTHOR_NAME": "a",
           "GIT_AUTHOR_EMAIL": "a@b", "GIT_COMMITTER_NAME": "a", "GIT_COMMITTER_EMAIL": "a@b"}
    for command in (["init", "-q"], ["add", "override.py"], ["commit", "-q", "-m", "x"]):
        subprocess.run(["git", "-C", str(tmp_path), *command], check=True, env=env)
    era = file_era(str(path), path.read_text())
    assert (era.date, era.source) == ("2017-03-04", "git")


def test_bad_era_is_one_line_error():
    assert parse_era("2016-11-13") == "2016-11-13"
    with pytest.raises(ValidationError, match=r"^audit: --era 'last year' is not a date"):
        parse_era("last year")


def test_era_and_findings_kept_in_the_results_database(real_records, tmp_path):
    from validation.db import ResultsDB
    from validation.model import RunInfo

    record = real_records["obs_lsstSim__imageDifference_2016.py"]
    with ResultsDB(str(tmp_path / "results.sqlite3")) as database:
        run_id = database.start_run(RunInfo(campaign="audit", code_version="0", config_hash="h",
                                            machine="m", started="2026-01-01T00:00:00"))
        database.record_audit(run_id, [record])
        (stored,) = database.load_run(run_id).audits
    assert stored.era == record.era
    assert stored.findings == record.findings


def test_report_shows_each_file_era_and_findings(real_records):
    from validation.model import RunInfo, RunReport
    from validation.report.html import render_html

    record = real_records["obs_lsstSim__imageDifference_2016.py"]
    report = RunReport(run=RunInfo(campaign="audit", code_version="0", config_hash="h",
                                   machine="m", started="2026-01-01T00:00:00"),
                       audits=[record, real_records["ap_verify_ci_hits2015__imageDifference_2020.py"]])
    html = render_html(report)
    assert "relied on doSelectSources=True (the default on 2016-11-13)" in html
    assert "relied on doDecorrelation=False (the default on 2020-02-26)" in html


def test_the_kinds_that_stop_a_load_are_finding_kinds():
    assert set(cli._BLOCKING) <= set(FINDING_KINDS)
