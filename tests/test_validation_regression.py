"""Regression mode: what got worse since a baseline, and the command's exit code."""
import argparse
import copy
import io

import pytest

from validation.errors import ValidationError
from validation.model import Comparison, DataIdResult, RunInfo, RunReport, ScenarioResult, Verdict
from validation.report import find_regressions, regression_exit_code, write_results_json
from validation.report.cli import add_parser

EDGE_REASON = "template patch set differs at the detector edge"


def comparison(product, verdict, reason=None):
    return Comparison(product=product, kind="image", verdict=verdict,
                      summary=f"{product} {verdict.value}", reason=reason)


def set_verdict(compared, verdict):
    compared.verdict, compared.summary = verdict, f"{compared.product} {verdict.value}"


def data_id(visit, *comparisons, kernel_sum=1.25, n_dia_sources=17, error=None):
    metrics = {"kernel_sum": kernel_sum, "n_dia_sources": n_dia_sources, "seconds": 2.0}
    return DataIdResult(data_id={"visit": visit, "ccd": 1}, comparisons=list(comparisons),
                        backend_metrics={"gen2": dict(metrics), "gen3": dict(metrics)}, error=error)


def baseline_report():
    coadd = ScenarioResult(name="coadd", features=["GetCoaddAsTemplateTask"], data_ids=[
        data_id(1, comparison("differenceExp", Verdict.IDENTICAL),
                comparison("diaSrc", Verdict.WITHIN_TOLERANCE)),
        data_id(2, comparison("differenceExp", Verdict.IDENTICAL)),
    ])
    calexp = ScenarioResult(name="calexp", features=["GetCalexpAsTemplateTask"], data_ids=[
        data_id(1, comparison("differenceExp", Verdict.DIFFERENT, EDGE_REASON)),
    ])
    run = RunInfo(campaign="nightly", code_version="abc123", config_hash="f00", machine="ci",
                  started="2025-11-20T10:00:00", run_id=7)
    return RunReport(run=run, scenarios=[coadd, calexp])


def lines(changes):
    return [str(change) for change in changes]


def test_identical_runs_have_no_changes():
    assert find_regressions(baseline_report(), baseline_report()) == ([], [])


def test_worse_verdict_is_a_regression_and_better_one_an_improvement():
    current = baseline_report()
    set_verdict(current.scenarios[0].data_ids[0].comparisons[0], Verdict.DIFFERENT)
    set_verdict(current.scenarios[0].data_ids[0].comparisons[1], Verdict.IDENTICAL)
    regressions, improvements = find_regressions(current, baseline_report())
    assert lines(regressions) == ["coadd / visit=1 ccd=1 / differenceExp: identical -> "
                                  "different, unexplained: differenceExp different"]
    assert lines(improvements) == ["coadd / visit=1 ccd=1 / diaSrc: within tolerance -> "
                                   "identical: diaSrc identical"]


def test_losing_the_reason_for_a_difference_is_a_regression():
    current = baseline_report()
    current.scenarios[1].data_ids[0].comparisons[0].reason = None
    regressions, _ = find_regressions(current, baseline_report())
    assert lines(regressions) == ["calexp / visit=1 ccd=1 / differenceExp: different, expected -> "
                                  "different, unexplained: differenceExp different"]


def test_missing_product_data_id_and_scenario_are_one_line_each():
    current = baseline_report()
    del current.scenarios[0].data_ids[0].comparisons[1]
    del current.scenarios[0].data_ids[1]
    del current.scenarios[1]
    regressions, _ = find_regressions(current, baseline_report())
    assert sorted(lines(regressions)) == [
        "calexp: scenario missing now",
        "coadd / visit=1 ccd=1 / diaSrc: product missing now (was within tolerance)",
        "coadd / visit=2 ccd=1: data ID missing now",
    ]


def test_data_id_that_now_raises_is_one_regression():
    current = baseline_report()
    failing = current.scenarios[0].data_ids[0]
    failing.comparisons, failing.error = [], "gen3: dataset 'calexp' not found"
    regressions, _ = find_regressions(current, baseline_report())
    assert lines(regressions) == ["coadd / visit=1 ccd=1 / (backend run): new check, failed: "
                                  "gen3: dataset 'calexp' not found"]


def test_new_failing_check_is_a_regression_but_new_passing_one_is_not():
    current = baseline_report()
    current.scenarios[0].data_ids.append(data_id(3, comparison("differenceExp", Verdict.IDENTICAL)))
    current.scenarios[1].data_ids.append(data_id(3, comparison("differenceExp", Verdict.FAILED)))
    regressions, improvements = find_regressions(current, baseline_report())
    assert lines(regressions) == ["calexp / visit=3 ccd=1 / differenceExp: new check, failed: "
                                  "differenceExp failed"]
    assert improvements == []


@pytest.mark.parametrize("kernel_sum, n_dia_sources, expected", [
    (1.25 * (1 + 0.9e-3), 17, []),
    (1.25 * (1 + 1.1e-3), 17, ["kernel_sum"]),
    (1.25, 18, ["n_dia_sources"]),
    (float("nan"), 17, ["kernel_sum"]),
])
def test_key_metric_drift_beyond_tolerance_is_a_regression(kernel_sum, n_dia_sources, expected):
    current = baseline_report()
    current.scenarios[1].data_ids[0].backend_metrics["gen3"].update(
        kernel_sum=kernel_sum, n_dia_sources=n_dia_sources, seconds=99.0)
    regressions, _ = find_regressions(current, baseline_report())
    assert [change.where.split()[-1] for change in regressions] == expected
    assert all(change.where.startswith("calexp / visit=1 ccd=1 / gen3") for change in regressions)


def test_metric_no_longer_recorded_is_a_regression():
    current = baseline_report()
    del current.scenarios[0].data_ids[1].backend_metrics["gen2"]["kernel_sum"]
    regressions, _ = find_regressions(current, baseline_report())
    assert lines(regressions) == ["coadd / visit=2 ccd=1 / gen2 kernel_sum: no longer recorded (was 1.25)"]


def test_exit_code_prints_each_regression_on_one_line():
    current = baseline_report()
    set_verdict(current.scenarios[0].data_ids[1].comparisons[0], Verdict.FAILED)
    stream = io.StringIO()
    assert regression_exit_code(current, baseline_report(), stream) == 1
    printed = stream.getvalue().splitlines()
    assert printed[0] == ("REGRESSION coadd / visit=2 ccd=1 / differenceExp: identical -> failed: "
                          "differenceExp failed")
    assert printed[-1].startswith("1 regression(s), 0 improvement(s) against baseline run 7 of 'nightly'")
    stream = io.StringIO()
    assert regression_exit_code(baseline_report(), baseline_report(), stream) == 0


def run_report_command(argv):
    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["report", *argv])
    return args.handler(args)


@pytest.fixture
def results_files(tmp_path):
    """A committed-style baseline JSON and a current run's JSON, with one worsened verdict."""
    baseline_path = write_results_json(baseline_report(), tmp_path / "baseline.json")
    worse = copy.deepcopy(baseline_report())
    set_verdict(worse.scenarios[0].data_ids[0].comparisons[0], Verdict.DIFFERENT)
    worse_path = write_results_json(worse, tmp_path / "worse.json")
    return baseline_path, worse_path


def test_regression_against_baseline_fails_the_command(results_files, tmp_path, capsys):
    baseline_path, worse_path = results_files
    code = run_report_command(["--from-json", str(worse_path), "--out", str(tmp_path / "out"),
                               "--baseline", str(baseline_path), "--regression"])
    assert code == 1
    out = capsys.readouterr().out
    assert "REGRESSION coadd / visit=1 ccd=1 / differenceExp: identical -> different" in out
    assert "1 regression(s)" in (tmp_path / "out" / "summary.md").read_text()


def test_identical_baseline_passes_the_command(results_files, tmp_path, capsys):
    baseline_path, _ = results_files
    code = run_report_command(["--from-json", str(baseline_path), "--out", str(tmp_path / "out"),
                               "--baseline", str(baseline_path), "--regression"])
    assert code == 0
    assert "0 regression(s), 0 improvement(s)" in capsys.readouterr().out


def test_baseline_without_regression_mode_reports_and_exits_on_the_verdicts(results_files,
                                                                           tmp_path, capsys):
    baseline_path, worse_path = results_files
    # The worse run has an unexplained difference: it fails on its own verdicts.
    assert run_report_command(["--from-json", str(worse_path), "--out", str(tmp_path / "out"),
                               "--baseline", str(baseline_path)]) == 1
    out = capsys.readouterr().out
    assert "REGRESSION" in out and "FAIL: 0 failed and 1 unexplained difference(s)" in out
    # A regression that still passes (identical -> within tolerance) fails only with --regression.
    slightly_worse = copy.deepcopy(baseline_report())
    set_verdict(slightly_worse.scenarios[0].data_ids[0].comparisons[0], Verdict.WITHIN_TOLERANCE)
    path = write_results_json(slightly_worse, tmp_path / "slightly_worse.json")
    arguments = ["--from-json", str(path), "--out", str(tmp_path / "out"),
                 "--baseline", str(baseline_path)]
    assert run_report_command(arguments) == 0
    assert "REGRESSION" in capsys.readouterr().out
    assert run_report_command([*arguments, "--regression"]) == 1


@pytest.mark.parametrize("argv, message", [
    (["--regression"], "--regression needs --baseline"),
    (["--baseline", "12"], "--baseline 12 names a stored run and needs --db URL"),
    (["--baseline", "previous"], "--baseline previous names a stored run and needs --db URL"),
    (["--run", "3"], "--run needs --db URL"),
])
def test_bad_regression_arguments_are_one_line_errors(results_files, tmp_path, argv, message):
    baseline_path, _ = results_files
    with pytest.raises(ValidationError, match=message):
        run_report_command(["--from-json", str(baseline_path), "--out", str(tmp_path / "out"), *argv])


def test_missing_baseline_file_is_named(results_files, tmp_path):
    _, worse_path = results_files
    with pytest.raises(ValidationError, match="cannot read results file .*nope.json"):
        run_report_command(["--from-json", str(worse_path), "--out", str(tmp_path / "out"),
                            "--baseline", str(tmp_path / "nope.json"), "--regression"])
