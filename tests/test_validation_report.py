"""The reports of a run: JSON round trip, HTML with plots, Markdown, JUnit XML, the command."""
import argparse
import base64
import copy
import json
import re
import xml.etree.ElementTree as ElementTree

import numpy as np
import pandas as pd
import pytest
from astropy.io import fits

from validation.errors import ValidationError
from validation.model import (AuditRecord, Comparison, DataIdResult, RunInfo, RunReport,
                              ScenarioResult, TrendPoint, Verdict)
from validation.report import (read_results_json, run_report_from_json, run_report_to_json,
                               write_reports)
from validation.report.cli import add_parser
from validation.report.figures import MAX_FIGURES_PER_SCENARIO
from validation.report.plots import (catalog_histograms_figure, difference_image_figure,
                                     differing_columns, png_bytes, trend_figure)

EDGE_REASON = "template patch set differs at the detector edge"
ID_REASON = "gen3 packs source ids with the <visit, detector> dimensions"


def write_image(path, pixels):
    fits.PrimaryHDU().writeto(path) if pixels is None else fits.PrimaryHDU(pixels).writeto(path)
    return str(path)


def write_table(path, columns):
    pd.DataFrame(columns).to_parquet(path)
    return str(path)


def image_comparison(path, verdict, pixels, reason=None):
    return Comparison(product="differenceExp", kind="image", verdict=verdict,
                      summary=f"image max |Δ| {np.abs(pixels).max():.2g}",
                      metrics={"image.max_abs": float(np.abs(pixels).max()), "image.n_differ":
                               int((pixels != 0).sum())},
                      reason=reason, artifacts={"diff_of_diff": write_image(path, pixels)})


def catalog_comparison(path, verdict, columns, reason=None):
    return Comparison(product="diaSrc", kind="catalog", verdict=verdict, summary="matched 1:1",
                      metrics={"matched_fraction": 1.0}, details={"columns": list(columns)},
                      reason=reason, artifacts={"matched": write_table(path, columns)})


def backend_metrics(kernel_sum):
    return {"gen2": {"kernel_sum": 1.25, "n_dia_sources": 17},
            "gen3": {"kernel_sum": kernel_sum, "n_dia_sources": 17}}


def make_report(tmp_path):
    """Five scenarios, one per outcome, with real FITS and Parquet artifacts."""
    rng = np.random.default_rng(5)
    zeros = np.zeros((40, 50), dtype=np.float32)
    noisy = np.where(rng.random((40, 50)) < 0.1, rng.normal(0, 1e-3, (40, 50)), 0).astype(np.float32)
    flux_differences = {"psfFlux": rng.normal(0, 0.5, 30), "x": np.zeros(30),
                        "flag_edge": np.zeros(30, dtype=bool)}
    scenarios = [
        ScenarioResult(
            name="coadd_default", features=["GetCoaddAsTemplateTask"], template_mode="coadd",
            description="Default <coadd> template & friends", data_ids=[DataIdResult(
                data_id={"visit": 1, "ccd": 2},
                comparisons=[image_comparison(tmp_path / "a.fits", Verdict.IDENTICAL, zeros),
                             catalog_comparison(tmp_path / "a.parquet", Verdict.IDENTICAL,
                                                {"psfFlux": np.zeros(30)})],
                backend_metrics=backend_metrics(1.25))]),
        ScenarioResult(
            name="calexp_template", features=["GetCalexpAsTemplateTask"], template_mode="calexp",
            expected_reason=EDGE_REASON, definition={"config": {"getTemplate": "calexp"}},
            data_ids=[DataIdResult(
                data_id={"visit": 3, "ccd": 1},
                comparisons=[image_comparison(tmp_path / "b.fits", Verdict.DIFFERENT, noisy),
                             catalog_comparison(tmp_path / "b.parquet", Verdict.DIFFERENT,
                                                flux_differences, reason=ID_REASON)],
                backend_metrics=backend_metrics(1.2501))]),
        ScenarioResult(
            name="add_metrics", features=["doAddMetrics", "GetCoaddAsTemplateTask"],
            template_mode="coadd", data_ids=[DataIdResult(
                data_id={"visit": 4, "ccd": 1},
                comparisons=[Comparison("kernelSrc", "catalog", Verdict.WITHIN_TOLERANCE,
                                        "KC flux within 1e-6")])]),
        ScenarioResult(
            name="match_sources", features=["doMatchSources"], template_mode="coadd",
            data_ids=[DataIdResult(
                data_id={"visit": 5, "ccd": 1},
                comparisons=[Comparison("diaSrc", "catalog", Verdict.DIFFERENT,
                                        "srcMatchId differs | in 3 rows")])]),
        ScenarioResult(
            name="winter2013", features=["Winter2013ImageDifferenceTask"], template_mode="calexp",
            data_ids=[DataIdResult(data_id={"visit": 6, "ccd": 1},
                                   error="gen3: dataset 'calexp' not found\x1b[0m")]),
    ]
    run = RunInfo(campaign="nightly", code_version="abc123", config_hash="f00d", machine="ci-1",
                  started="2025-11-25T10:00:00", finished="2025-11-25T10:20:00", run_id=12,
                  python="3.11.2", packages={"numpy": "2.1"})
    audits = [AuditRecord(path="overrides/doMatch.py", kind="config", features=["doMatchSources"],
                          evidence={"doMatchSources": "config.doMatchSources = True"},
                          problems=["line 4: will not evaluate 'import os'"])]
    return RunReport(run=run, scenarios=scenarios, audits=audits)


def test_json_round_trip_is_exact(report):
    document = run_report_to_json(report)
    text = json.dumps(document)
    assert '"verdict": "different"' in text
    assert run_report_from_json(json.loads(text)) == report
    assert isinstance(run_report_from_json(document).scenarios[0].data_ids[0].comparisons[0].verdict,
                      Verdict)


@pytest.mark.parametrize("mangle, message", [
    (lambda document: document.update(format="other"), "not a diffim-validate run report"),
    (lambda document: document.update(version=99), "unsupported run report version 99"),
    (lambda document: document["scenarios"][0]["data_ids"][0]["comparisons"][0].update(
        verdict="meh"), "unknown verdict 'meh' for product 'differenceExp'"),
    (lambda document: document["run"].pop("machine"), "RunInfo lacks field.s. machine"),
])
def test_bad_json_is_a_one_line_error(report, mangle, message):
    document = run_report_to_json(report)
    mangle(document)
    with pytest.raises(ValidationError, match=message):
        run_report_from_json(document)


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    """The report, and its files written once for the tests that only read them."""
    directory = tmp_path_factory.mktemp("sample")
    report = make_report(directory)
    return report, write_sample_reports(report, directory)


@pytest.fixture
def report(sample):
    return copy.deepcopy(sample[0])


@pytest.fixture
def written(sample):
    return sample[1]


def write_sample_reports(report, directory):
    trend = [TrendPoint(run_id=run_id, started=f"2025-11-2{run_id - 9}T10:00:00", code_version="abc",
                        counts={"identical": 3, "different": 2, "failed": run_id - 10})
             for run_id in (10, 11, 12)]
    audit_summary = [
        {"feature": "doMatchSources", "title": "match DIA sources", "gen2_setting": "doMatchSources = True",
         "n_configs": 1, "files": ["/repo/runs/overrides/doMatch.py"], "gen3_replacement": "same columns",
         "gen2_gen3_agree": "identical"},
        {"feature": "doPreConvolve", "title": "score image", "gen2_setting": "doPreConvolve = True",
         "n_configs": 0, "files": [], "gen3_replacement": "the same switch", "gen2_gen3_agree": "not run"},
        {"feature": "doDecorrelation", "title": "decorrelation off", "n_configs": 0, "files": [],
         "gen3_replacement": "the same switch", "gen2_gen3_agree": "different"}]
    return write_reports(report, directory / "reports", trend=trend, audit_summary=audit_summary)


def test_write_reports_writes_four_files_and_no_temporaries(written):
    assert sorted(path.name for path in written.values()) == sorted(
        ["report.html", "summary.md", "junit.xml", "results.json"])
    assert sorted(path.name for path in written["html"].parent.iterdir()) == sorted(
        path.name for path in written.values())


def test_results_json_reads_back_with_audit_summary(written, report):
    read_back, audit_summary = read_results_json(written["json"])
    assert read_back == report
    assert audit_summary[0]["feature"] == "doMatchSources"


def scenario_row(html, name):
    return re.search(rf'<tr>\s*<td class="nowrap"><a href="#s\d+-[\w-]+">{name}</a>.*?</tr>', html,
                     re.S).group(0)


def test_html_shows_each_scenario_verdict_and_reason(written):
    html = written["html"].read_text()
    assert "FAIL: 1 failed and 1 unexplained difference(s) in 7 checks (data ID × product)" in html
    expected = {"coadd_default": "identical", "calexp_template": "different, expected",
                "add_metrics": "within tolerance", "match_sources": "different, unexplained",
                "winter2013": "failed"}
    for name, label in expected.items():
        row = scenario_row(html, name)
        assert f">{label}</span>" in row
    assert f"{EDGE_REASON}; {ID_REASON.replace('<', '&lt;').replace('>', '&gt;')}" in scenario_row(
        html, "calexp_template")
    # in the details, the scenario's reason is stated once; a product's own reason by its product
    assert html.count(f"Expected difference: {EDGE_REASON}") == 1
    assert f"Reason: {EDGE_REASON}" not in html
    assert "Reason: gen3 packs source ids with the &lt;visit, detector&gt; dimensions" in html
    assert "Backend error: gen3: dataset &#39;calexp&#39; not found" in html
    assert "<code>abc123</code>" in html and "ci-1" in html


def test_html_escapes_text(written):
    html = written["html"].read_text()
    assert "Default &lt;coadd&gt; template &amp; friends" in html
    assert "<coadd>" not in html


def test_html_embeds_plots_as_png_data_uris(written):
    html = written["html"].read_text()
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', html)
    # two difference images, one histogram figure, the trend; the all-zero table is a caption
    assert len(images) == 4
    assert all(base64.b64decode(image).startswith(b"\x89PNG") for image in images)
    assert "matched catalogue: all 1 numeric columns identical over 30 matched rows" in html
    assert "2 of 3 columns differ" not in html  # flag_edge and x are all 0
    assert "1 of 3 columns differ" in html and "identical: x, flag_edge" in html


def test_html_feature_matrix_counts_data_ids_per_feature(written):
    html = written["html"].read_text()
    row = re.search(r"<tr><td><code>GetCoaddAsTemplateTask</code></td>(.*?)</tr>", html, re.S).group(1)
    cells = re.findall(r'<td class="number ([\w-]+)">([^<]*)</td>', row)
    assert cells == [("cell-identical", "1"), ("cell-within_tolerance", "1"), ("zero", "·"),
                     ("zero", "·"), ("zero", "·")]


def test_html_shows_audit_and_trend(written):
    html = written["html"].read_text()
    assert "same columns" in html and "overrides/doMatch.py" in html
    assert "will not evaluate &#39;import os&#39;" in html
    assert 'alt="scenario verdict counts per run"' in html
    assert re.search(r'<tr style="font-weight: 600"><td class="number">12</td>', html)


def test_html_top_answers_at_a_glance(written):
    html = written["html"].read_text()
    top = html[:html.index('<h2 id="verdicts">')]
    assert "Does gen3 reproduce gen2?</strong> Not established: 1 check(s) failed and 1 differ" in top
    table = re.search(r'<table class="glance">.*?</table>', top, re.S).group(0)
    rows = {unit: re.findall(r'<td class="number[^"]*">(\d+)</td>', row) for unit, row in
            re.findall(r"<tr><th>([\w ]+)</th>(.*?)</tr>", table, re.S)}
    # identical, within tolerance, expected, unexplained, failed, total: zeros are shown too
    assert rows == {"scenarios": ["1", "1", "1", "1", "1", "5"],
                    "data IDs": ["1", "1", "1", "1", "1", "5"],
                    "checks": ["2", "1", "2", "1", "1", "7"]}
    assert "Worst verdict" not in html


def test_html_answer_names_expected_differences(report, tmp_path):
    report.scenarios = report.scenarios[:3]
    html = write_reports(report, tmp_path / "out")["html"].read_text()
    assert "PASS: no failures" in html
    assert "Yes, except for 1 scenario(s) whose differences are expected" in html
    assert re.search(r'<td class="number zero">0</td>\s*<td class="number zero">0</td>', html)


def test_html_feature_matrix_gives_scenarios_and_reasons(written):
    html = written["html"].read_text()
    row = re.search(r"<tr><td><code>GetCalexpAsTemplateTask</code></td>(.*?)</tr>", html, re.S).group(1)
    assert '<a href="#s1-calexp-template" class="nowrap">calexp_template</a>' in row
    link = '<a href="#s1-calexp-template">calexp_template</a>'
    assert f'<span class="reason">{link}: {EDGE_REASON}</span>' in row
    matched = re.search(r"<tr><td><code>doMatchSources</code><br><span class=\"muted\">match DIA sources",
                        html)
    assert matched  # the audit's title names the feature
    # catalogued features no scenario ran are named, not silently left out
    assert re.search(r"Not exercised by any scenario of this run.*<code>doPreConvolve</code> \(score image\)",
                     html)


def test_html_audit_judges_features_by_this_run(written):
    html = written["html"].read_text()
    audit = html[html.index('<h2 id="audit">'):html.index('<h2 id="trends">')]
    rows = {feature: row for feature, row in
            re.findall(r"<tr><td><code>(\w+)</code>(.*?)</tr>", audit, re.S)}
    # the audit recorded "identical" for doMatchSources, but this run's match_sources differs unexplained
    matched = rows["doMatchSources"]
    assert '<span class="badge o-unexplained_difference">different, unexplained</span></td>' in matched
    assert '<code title="/repo/runs/overrides/doMatch.py">overrides/doMatch.py</code>' in matched
    assert "doMatchSources = True" in matched
    assert rows["doPreConvolve"].endswith("<td>not run</td>")
    assert ('<span class="badge o-unexplained_difference">different</span><br>'
            '<span class="muted">audit; reason not recorded</span>') in rows["doDecorrelation"]
    assert "“gen2 = gen3?” is the worst outcome" in audit


def test_html_scenario_details_list_non_zero_metrics_and_open_differences(written):
    html = written["html"].read_text()
    # image comparison of zeros: both metrics are 0, so none is listed
    assert '<span class="muted nowrap">2 metrics, all 0</span>' in html
    assert "<summary>1 metrics</summary><pre>matched_fraction = 1</pre>" in html
    assert re.search(r"<summary>2 metrics</summary><pre>image.max_abs = [\d.e-]+\nimage.n_differ = \d+</pre>",
                     html)
    opened = re.findall(r'<details class="scenario" id="s\d+-([\w-]+)"( open)?>', html)
    assert opened == [("coadd-default", ""), ("calexp-template", " open"), ("add-metrics", ""),
                      ("match-sources", " open"), ("winter2013", " open")]


def test_html_backend_metrics_show_gen2_to_gen3_and_percent(written):
    html = written["html"].read_text()
    assert ('<td class="number drift">1.25 → 1.2501<span class="change">(+0.008%)</span></td>'
            in html)
    assert '<td class="number">17</td>' in html


def test_missing_artifact_is_a_note_not_a_crash(report, tmp_path):
    report.scenarios[1].data_ids[0].comparisons[0].artifacts["diff_of_diff"] = str(tmp_path / "gone.fits")
    html = write_reports(report, tmp_path / "out")["html"].read_text()
    assert re.search(r"Plot missing: difference-of-differences image .*gone.fits does not exist", html)


def test_plots_per_scenario_are_capped(report, tmp_path):
    scenario = report.scenarios[1]
    template = scenario.data_ids[0]
    scenario.data_ids = [DataIdResult({"visit": visit}, template.comparisons) for visit in range(4)]
    html = write_reports(report, tmp_path / "out")["html"].read_text()
    section = html[html.index('id="s1-calexp-template"'):html.index('id="s2-add-metrics"')]
    assert section.count("<figure>") == MAX_FIGURES_PER_SCENARIO
    assert f"{8 - MAX_FIGURES_PER_SCENARIO} more plot(s) of this scenario not shown" in section


def test_markdown_summary_has_a_row_per_scenario(written):
    markdown = written["markdown"].read_text()
    assert "**FAIL: 1 failed and 1 unexplained difference(s) in 7 checks (data ID × product)**" in markdown
    rows = [line for line in markdown.splitlines() if line.startswith("| ") and "---" not in line]
    assert len(rows) == 1 + 5
    assert (f"| calexp_template | `GetCalexpAsTemplateTask` | calexp | 1 | different, expected | "
            f"{EDGE_REASON}; gen3 packs source ids with the &lt;visit, detector&gt; dimensions |") in rows
    assert "| **different, unexplained** |" in markdown and "| **failed** |" in markdown


def test_junit_counts_failures_and_keeps_reasons(written):
    root = ElementTree.parse(written["junit"]).getroot()
    assert (root.get("tests"), root.get("failures")) == ("7", "2")
    suites = {suite.get("name"): suite for suite in root.iter("testsuite")}
    assert list(suites) == ["coadd_default", "calexp_template", "add_metrics", "match_sources",
                            "winter2013"]
    assert [suite.get("failures") for suite in suites.values()] == ["0", "0", "0", "1", "1"]
    expected = suites["calexp_template"].find("testcase[@name='visit=3 ccd=1 differenceExp']")
    assert expected.find("failure") is None
    assert EDGE_REASON in expected.find("system-out").text
    failure = suites["winter2013"].find("testcase/failure")
    assert failure.get("message").startswith("failed: gen3: dataset 'calexp' not found")


def test_difference_image_of_zeros_says_identical():
    figure = difference_image_figure(np.zeros((30, 30)), "visit=1 differenceExp")
    texts = [text.get_text() for text in figure.axes[0].texts]
    assert texts == ["identical:\nall 900 pixels 0"]
    assert not figure.axes[0].images


def test_difference_image_keeps_an_isolated_pixel_when_shrunk():
    pixels = np.zeros((1000, 900))
    pixels[517, 3] = -4.0
    pixels[10, 10] = np.nan
    figure = difference_image_figure(pixels, "big")
    shown = figure.axes[0].images[0]
    assert shown.get_array().shape[0] <= 160 and np.nanmin(shown.get_array()) == -4.0
    assert shown.get_clim() == (-4.0, 4.0)
    assert "1 px differ" in figure.axes[0].get_title() and "1 px NaN" in figure.axes[0].get_title()


def test_catalog_histograms_show_differing_columns_largest_first():
    table = pd.DataFrame({"a": [0.0, 0.1], "b": [0.0, 0.0], "c": [2.0, 0.0], "d": [np.nan, 0.0]})
    differing, zero = differing_columns(table)
    assert (differing, zero) == (["d", "c", "a"], ["b"])
    figure = catalog_histograms_figure(table, differing, "diaSrc")
    assert [axes.get_title() for axes in figure.axes] == [
        "d\n1 of 2 rows ≠ 0", "c\n1 of 2 rows ≠ 0", "a\n1 of 2 rows ≠ 0"]
    assert figure.axes[0].get_xlabel() == "Δ  [1 NaN]"
    assert figure.axes[0].get_ylabel() == "rows" and figure.axes[1].get_ylabel() == ""
    assert figure.texts[0].get_text() == "diaSrc: gen2 − gen3 of matched rows"


def test_catalog_histograms_name_units_and_use_linear_counts_when_few():
    table = pd.DataFrame({"psfFlux": [0.0, 1.5, -0.5], "x": [0.1, 0.0, 0.0], "area": [1.0, 2.0, 0.0]})
    figure = catalog_histograms_figure(table, ["psfFlux", "x", "area"], "diaSrc",
                                       {"psfFlux": "sigma", "x": "pixel", "area": "relative"})
    assert [axes.get_xlabel() for axes in figure.axes] == ["Δ (σ)", "Δ (pixel)", "Δ"]
    assert all(axes.get_yscale() == "linear" for axes in figure.axes)
    many = catalog_histograms_figure(pd.DataFrame({"a": np.zeros(50)}), ["a"], "diaSrc")
    assert many.axes[0].get_yscale() == "log"


def test_difference_image_labels_axes_and_colour_scale():
    pixels = np.zeros((30, 30))
    pixels[3, 4] = 2.0
    figure = difference_image_figure(pixels, "differenceExp")
    image_axes, colourbar_axes = figure.axes
    assert (image_axes.get_xlabel(), image_axes.get_ylabel()) == ("x (pixel)", "y (pixel)")
    assert colourbar_axes.get_ylabel() == "gen2 − gen3, image units"


def test_figures_stay_small():
    rng = np.random.default_rng(1)
    noisy = rng.normal(0, 1, (1000, 1000))
    trend = [TrendPoint(run_id, f"2025-11-{run_id:02d}", "v", {"identical": 9}) for run_id in range(1, 21)]
    sizes = [len(png_bytes(difference_image_figure(noisy, "noise"))), len(png_bytes(trend_figure(trend)))]
    assert max(sizes) < 40_000


def run_report_command(argv):
    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["report", *argv])
    return args.handler(args)


def test_command_rewrites_reports_from_results_json(written, tmp_path, capsys):
    out = tmp_path / "again"
    # The run has failures: the command says so and exits 1.
    assert run_report_command(["--from-json", str(written["json"]), "--out", str(out)]) == 1
    printed = capsys.readouterr().out.splitlines()
    assert printed == [*(f"wrote {out / name}" for name in
                         ("report.html", "summary.md", "junit.xml", "results.json")),
                       "FAIL: 1 failed and 1 unexplained difference(s) in 7 checks "
                       "(data ID × product)"]
    assert "same columns" in (out / "report.html").read_text()  # audit summary kept


def test_command_names_a_bad_results_file(tmp_path):
    bad = tmp_path / "results.json"
    bad.write_text("{not json")
    with pytest.raises(ValidationError, match=f"results file {bad} is not valid JSON"):
        run_report_command(["--from-json", str(bad), "--out", str(tmp_path / "out")])
