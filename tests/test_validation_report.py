"""The reports of a run: JSON round trip, HTML with plots, Markdown, JUnit XML, the command."""
import argparse
import copy
import json
import re
import xml.etree.ElementTree as ElementTree

import matplotlib
import numpy as np
import pandas as pd
import pytest
from astropy.io import fits
from conftest import DATA_DIR, random_exposure
from lxml import etree
from matplotlib.backends.backend_agg import FigureCanvasAgg

from validation.errors import ValidationError
from validation.model import (AuditRecord, Comparison, DataIdResult, RunInfo, RunReport,
                              ScenarioResult, TrendPoint, Verdict)
from validation.report import (read_results_json, run_report_from_json, run_report_to_json,
                               write_reports)
from validation.compare import Tolerances, compare_catalogs, compare_exposures
from validation.report.cli import add_parser
from validation.report.artifacts import read_cutouts
from validation.report.figures import PLOTS_SHOWN
from validation.report.junit import class_name, render_junit
from validation.report.plots import (column_figure, cutout_figure, difference_image_figure,
                                     show_column, show_cutouts, svg_markup, trend_figure)
from validation.report.style import MIN_CONTRAST, MUTED, OUTCOME_COLOURS, contrast_ratio

EDGE_REASON = "template patch set differs at the detector edge"
ID_REASON = "gen3 packs source ids with the <visit, detector> dimensions"


def write_image(path, pixels):
    fits.PrimaryHDU().writeto(path) if pixels is None else fits.PrimaryHDU(pixels).writeto(path)
    return str(path)


def image_comparison(directory, changed_pixels=(), reason=None):
    """A real comparison of two 40 x 50 exposures; b's image is 1 higher at ``changed_pixels`` (y, x)."""
    a = random_exposure(shape=(40, 50), xy0=(100, 200))
    b = random_exposure(shape=(40, 50), xy0=(100, 200))
    for y, x in changed_pixels:
        b.image[y, x] += 1.0
    directory.mkdir(exist_ok=True)
    return compare_exposures(a, b, tolerances=Tolerances(), reason=reason, artifact_dir=directory)


def catalog_comparison(directory, flux_shifts_sigma=(), reason=None):
    """A real comparison of two 30-source catalogues, b's fluxes shifted by so many σ in its first rows."""
    rng = np.random.default_rng(8)
    a = pd.DataFrame({"id": np.arange(1, 31), "x": rng.uniform(10, 240, 30), "y": rng.uniform(10, 240, 30),
                      "psfFlux": rng.uniform(100, 1000, 30), "psfFluxErr": np.full(30, 10.0),
                      "flag_edge": np.zeros(30, dtype=bool)})
    b = a.copy()
    b.loc[:len(flux_shifts_sigma) - 1, "psfFlux"] -= 10.0 * np.asarray(flux_shifts_sigma)
    directory.mkdir(exist_ok=True)
    return compare_catalogs(a, b, tolerances=Tolerances(), reason=reason, artifact_dir=directory)


def backend_metrics(kernel_sum):
    return {"gen2": {"kernel_sum": 1.25, "n_dia_sources": 17},
            "gen3": {"kernel_sum": kernel_sum, "n_dia_sources": 17}}


def make_report(tmp_path):
    """Five scenarios, one per outcome, with real FITS and Parquet artifacts."""
    scenarios = [
        ScenarioResult(
            name="coadd_default", features=["GetCoaddAsTemplateTask"], template_mode="coadd",
            description="Default <coadd> template & friends", data_ids=[DataIdResult(
                data_id={"visit": 1, "ccd": 2},
                comparisons=[image_comparison(tmp_path / "a"),
                             catalog_comparison(tmp_path / "a")],
                backend_metrics=backend_metrics(1.25))]),
        ScenarioResult(
            name="calexp_template", features=["GetCalexpAsTemplateTask"], template_mode="calexp",
            expected_reason=EDGE_REASON,
            definition={"config": {"getTemplate": "calexp"}, "tolerances": Tolerances().to_dict()},
            data_ids=[DataIdResult(
                data_id={"visit": 3, "ccd": 1},
                comparisons=[image_comparison(tmp_path / "b", [(5, 7), (30, 44)]),
                             catalog_comparison(tmp_path / "b", (3.0, -1.0, 0.2), reason=ID_REASON)],
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
                        counts={"identical": 3, "expected_difference": 2, "failed": run_id - 10})
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


def test_html_embeds_plots_as_inline_svg_with_units(written):
    html = written["html"].read_text()
    assert "data:image/png" not in html.replace('xlink:href="data:image/png', "")  # only inside an SVG
    figures = re.findall(r"<figure>(.*?)</figure>", html, re.S)
    # calexp_template: its difference image, the cut-outs around its largest difference, one plot per
    # judged column that differs (psfFlux), then the trend; identical comparisons leave no files, hence no plots
    assert len(figures) == 4 and all("<svg" in figure for figure in figures)
    labels = re.findall(r'<g id="f\d+-([xy])label-\d+">\s*<text[^>]*>([^<]*)</text>', html)
    assert ("x", "x (pixel)") in labels and ("y", "gen2 − gen3 (σ of the flux errors)") in labels
    assert all(re.search(r"\(.+\)", text) for _, text in labels)
    assert "psfFlux: a point per matched source, the band is the tolerance ±0.5 σ" in html


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
    assert "Scenario outcomes per run" in html
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
    assert '<a href="#s1-calexp-template">calexp_template</a>' in row
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
    # names may wrap after _ and / (<wbr>), and nowhere else
    audit = html[html.index('<h2 id="audit">'):html.index('<h2 id="trends">')].replace("<wbr>", "")
    rows = {feature: re.findall(r"<td[^>]*>(.*?)</td>", row, re.S) for feature, row in
            re.findall(r"<tr><td><code>(\w+)</code>(.*?)</tr>", audit, re.S)}
    # the verdict is the second column; the audit recorded "identical" for doMatchSources, but
    # this run's match_sources differs unexplained
    matched = rows["doMatchSources"]
    assert matched[0] == '<span class="badge o-unexplained_difference">different, unexplained</span>'
    assert matched[1] == "doMatchSources = True"
    assert matched[2] == "1 file(s):<br><code>/repo/runs/overrides/doMatch.py</code>"
    assert rows["doPreConvolve"][0] == "not run"
    assert rows["doDecorrelation"][0] == ('<span class="badge o-unexplained_difference">different</span><br>'
                                          '<span class="muted">audit; reason not recorded</span>')
    assert "“gen2 = gen3?” is the worst outcome" in audit


def test_html_audit_lists_every_file_and_folds_the_long_lists(report, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    files = [str(tmp_path / f"overrides/o{index}.py") for index in range(5)] + ["pipelines/p.yaml"]
    summary = [{"feature": "doMatchSources", "n_configs": 6, "files": files, "gen2_gen3_agree": "identical"}]
    html = write_reports(report, tmp_path / "out", audit_summary=summary)["html"].read_text()
    assert "<code>overrides/<wbr>o0.py</code>" in html
    html = html.replace("<wbr>", "")
    # paths inside the current directory read relative, like the ones written relative
    shown = ["<code>overrides/o0.py</code>", "<code>overrides/o1.py</code>", "<code>overrides/o2.py</code>"]
    assert "6 file(s):<br>" + "<br>".join(shown) + '<details class="more"><summary>and 3 more</summary>' in html
    assert "<code>pipelines/p.yaml</code><br></details>" in html


def test_html_gives_the_deciding_rule_and_the_largest_difference_of_each_differing_product(written):
    html = written["html"].read_text()
    blocks = re.findall(r'<div class="evidence [^"]*" data-data-id="([^"]+)" data-product="(\w+)">(.*?)</div>',
                        html, re.S)
    # every check that is not identical, and no other
    assert [(label, product) for label, product, _ in blocks] == [
        ("visit=3 ccd=1", "differenceExp"), ("visit=3 ccd=1", "diaSrc"), ("visit=4 ccd=1", "kernelSrc"),
        ("visit=5 ccd=1", "diaSrc")]
    image, catalog = blocks[0][2], blocks[1][2]
    assert ("<strong>Decided by:</strong> beyond the limit: image: 2 px beyond 0.001 σ or NaN = 0.1 % of "
            "2,000 px, limit 0 %") in image
    # b is 1 higher at array (5, 7) and (30, 44), so gen2 - gen3 = -1 there; xy0 is (100, 200)
    assert ("Largest difference:</strong> image: largest |Δ| 1 (counts) at x = 107, y = 205; "
            "image: largest 0.349 σ at x = 144, y = 230") in image
    assert "beyond the limit: 1 column(s) beyond their limits: psfFlux 3 σ, limit 0.5" in catalog
    # the first source of b is the one 3 σ off
    x, y = (f"{value:.1f}" for value in pd.read_parquet(report_files(written) / "b" / "diaSrc_matched.parquet")
            .loc[0, ["x_a", "y_a"]])
    assert ("Largest difference:</strong> column psfFlux: largest difference 3 σ (limit 0.5), 3 row(s) differ, "
            f"the largest at gen2 id 1 / gen3 id 1, x, y = ({x}, {y})") in catalog
    assert "sources without a counterpart: 0 in gen2, 0 in gen3 (of 30 and 30), limit 0 per side" in catalog
    # the column table: column, unit, largest difference, limit, rows differing, rows beyond limit
    row = re.search(r"<tr class=\"outside\"><td><code>psfFlux</code></td>(.*?)</tr>", catalog, re.S).group(1)
    assert re.findall(r">([^<>]+)</td>", row) == ["σ", "3", "0.5", "3", "2"]
    assert '<a href="../b/diaSrc_matched.parquet">matched sources with their differences (Parquet)</a>' in catalog
    assert "Files: " in image and "b/differenceExp_diff_of_diff.fits" in image
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


def report_files(written):
    """The directory the sample comparisons wrote their files to."""
    return written["html"].parent.parent


def test_image_comparisons_keep_both_sides_around_the_largest_difference(report):
    comparison = report.scenarios[1].data_ids[0].comparisons[0]
    side_a, side_b, xy0 = read_cutouts(comparison.artifacts["diff_of_diff"])
    # the largest difference in σ is at parent (144, 230): array (30, 44) of the 40 x 50 exposures at (100, 200);
    # the cut-outs reach 20 px either side, clipped at the exposure's edges
    assert comparison.details["image"]["max_sigma_at"] == [144, 230]
    assert xy0 == (124, 210) and side_a.shape == (30, 26)
    assert side_b[230 - 210, 144 - 124] - side_a[230 - 210, 144 - 124] == pytest.approx(1.0)
    assert np.count_nonzero(side_a != side_b) == 1
    assert comparison.artifacts.keys() == {"diff_of_diff"}


def test_every_plot_is_reachable_the_first_few_open(report, tmp_path):
    scenario = report.scenarios[1]
    template = scenario.data_ids[0]
    scenario.data_ids = [DataIdResult({"visit": visit}, template.comparisons) for visit in range(4)]
    html = write_reports(report, tmp_path / "out")["html"].read_text()
    section = html[html.index('id="s1-calexp-template"'):html.index('id="s2-add-metrics"')]
    assert section.count("<figure>") == 12
    folded = section[section.index('<details class="more"><summary>8 more plot(s), nearer their limits'):]
    assert section.count("<figure>") - folded.count("<figure>") == PLOTS_SHOWN


def test_markdown_summary_puts_counts_first_and_folds_the_identical(written):
    markdown = written["markdown"].read_text()
    lines = markdown.splitlines()
    assert lines[2] == "**FAIL: 1 failed and 1 unexplained difference(s) in 7 checks (data ID × product)**"
    assert lines[4:11] == ["| outcome | scenarios | data IDs | checks |", "|---|---:|---:|---:|",
                           "| identical | 1 | 1 | 2 |", "| within tolerance | 1 | 1 | 1 |",
                           "| different, expected | 1 | 1 | 2 |", "| **different, unexplained** | 1 | 1 | 1 |",
                           "| **failed** | 1 | 1 | 1 |"]
    assert lines[12].startswith("Full report with plots: [report.html](report.html) · run 12 · code `abc123`")
    assert "### 4 scenario(s) not identical" in markdown
    shown, folded = markdown.split("<summary>1 identical scenario(s)</summary>")
    assert (f"| calexp_template | `GetCalexpAsTemplateTask` | calexp | 1 | different, expected | "
            f"{EDGE_REASON}; gen3 packs source ids with the &lt;visit, detector&gt; dimensions |") in shown
    assert "| coadd_default |" in folded and "| coadd_default |" not in shown
    assert "| **different, unexplained** |" in shown and "| **failed** |" in shown
    # each differing check with its rule, within tolerance included
    assert ("- **calexp_template** / `visit=3 ccd=1` / `diaSrc`: different, expected: beyond the limit: "
            "1 column(s) beyond their limits: psfFlux 3 σ, limit 0.5") in shown
    assert "- **add_metrics** / `visit=4 ccd=1` / `kernelSrc`: within tolerance: KC flux within 1e-6" in shown


def test_junit_counts_failures_and_skips_expected_differences(written):
    root = ElementTree.parse(written["junit"]).getroot()
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("7", "2", "0")
    suites = {suite.get("name"): suite for suite in root.iter("testsuite")}
    assert list(suites) == [f"diffim.nightly.{name}" for name in
                            ("coadd_default", "calexp_template", "add_metrics", "match_sources", "winter2013")]
    assert [suite.get("failures") for suite in suites.values()] == ["0", "0", "0", "1", "1"]
    assert [suite.get("skipped") for suite in suites.values()] == ["0", "2", "0", "0", "0"]
    assert {(suite.get("timestamp"), suite.get("hostname")) for suite in suites.values()} == {
        ("2025-11-25T10:00:00", "ci-1")}
    expected = suites["diffim.nightly.calexp_template"].find("testcase[@name='visit=3 ccd=1 differenceExp']")
    assert expected.get("classname") == "diffim.nightly.calexp_template"
    assert expected.find("failure") is None
    assert expected.find("skipped").get("message") == f"expected difference: {EDGE_REASON}"
    assert "beyond the limit: image: 2 px beyond 0.001 σ or NaN" in expected.find("skipped").text
    within = suites["diffim.nightly.add_metrics"].find("testcase")
    assert within.find("system-out").text == "within tolerance\nKC flux within 1e-6"
    failure = suites["diffim.nightly.winter2013"].find("testcase/failure")
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


def test_column_figure_has_a_point_per_source_and_the_tolerance_band():
    differences = np.array([0.1, -0.7, 0.0, np.nan, 2.0])
    figure = column_figure(differences, np.arange(5.0) * 10, "psfFlux", "sigma", 0.5,
                           "source x on the detector (pixel)")
    axes = figure.axes[0]
    inside, outside = (collection.get_offsets() for collection in axes.collections)
    assert inside.tolist() == [[0.0, 0.1], [20.0, 0.0]] and outside.tolist() == [[10.0, -0.7], [40.0, 2.0]]
    band = axes.patches[0]  # axhspan: the band from -limit to +limit
    assert (band.get_y(), band.get_y() + band.get_height()) == (-0.5, 0.5)
    assert axes.get_title() == "psfFlux\n2 of 5 beyond ±0.5, 1 NaN"
    assert (axes.get_xlabel(), axes.get_ylabel()) == ("source x on the detector (pixel)",
                                                      "gen2 − gen3 (σ of the flux errors)")


def test_column_shown_on_a_drawn_figure_draws_as_a_new_figure():
    # another column, range, unit, limit and position label; NaN at the first column's widest x
    first = (np.array([0.3, -2.0, 0.1]), np.array([5.0, 900.0, 40.0]), "psfFlux", "sigma", 0.5, "x (pixel)")
    second = (np.array([np.nan, 1e-6, -3e-6, 2e-6]), np.array([5.0, 300.0, 40.0, 120.0]), "coord_ra",
              "arcsec", 1e-6, "source right ascension (degree)")
    with matplotlib.rc_context({"svg.hashsalt": "fixed"}):  # clip and marker ids from content alone
        reused = column_figure(*first)
        svg_markup(reused)
        show_column(reused, *second)
        assert len(reused.axes[0].collections) == 2 and len(reused.axes[0].patches) == 1
        assert _without_label_ids(svg_markup(reused)) == _without_label_ids(svg_markup(column_figure(*second)))


def test_cutouts_shown_on_a_drawn_figure_draw_as_a_new_figure():
    rng = np.random.default_rng(3)
    first = (rng.normal(100.0, 5.0, (21, 21)), rng.normal(100.0, 5.0, (21, 21)), (500, 40))
    side_a = rng.normal(1e4, 50.0, (15, 11))
    side_b = side_a.copy()
    side_b[7, 5] += 3.0
    side_b[0, 0] = np.nan
    second = (side_a, side_b, (2000, 3000))
    with matplotlib.rc_context({"svg.hashsalt": "fixed"}):
        for first_mark, second_mark in (((510, 50), (2005, 3007)), (None, (2005, 3007)), ((510, 50), None)):
            reused = cutout_figure(*first, mark=first_mark)
            svg_markup(reused)
            show_cutouts(reused, *second, mark=second_mark)
            assert _without_label_ids(svg_markup(reused)) == \
                _without_label_ids(svg_markup(cutout_figure(*second, mark=second_mark)))
            assert all((axes.get_xlim(), axes.get_ylim()) == ((2000, 2011), (3000, 3015))
                       for axes in reused.axes if axes.images)


def _without_label_ids(svg):
    return re.sub(r'id="f\d+-', 'id="f-', svg)


def test_svg_markup_keeps_text_and_marks_axis_labels():
    figure = column_figure(np.array([0.01, 0.2]), np.array([3.0, 4.0]), "x", "pixel", 0.05, "source x (pixel)")
    first, second = svg_markup(figure), svg_markup(figure)
    assert first.startswith("<svg") and "<?xml" not in first and "dc:date" not in first
    assert re.search(r'<g id="f\d+-xlabel-0">\s*<text[^>]*>source x \(pixel\)</text>', first)
    assert re.search(r'<g id="f\d+-ylabel-0">\s*<text[^>]*>gen2 − gen3 \(pixel\)</text>', first)
    # ids stay unique when figures share a page
    assert set(re.findall(r'id="(f\d+)-xlabel', first)).isdisjoint(re.findall(r'id="(f\d+)-xlabel', second))


def test_difference_image_labels_axes_and_colour_scale():
    pixels = np.zeros((30, 30))
    pixels[3, 4] = 2.0
    figure = difference_image_figure(pixels, "differenceExp")
    image_axes, colourbar_axes = figure.axes
    assert (image_axes.get_xlabel(), image_axes.get_ylabel()) == ("x (pixel)", "y (pixel)")
    assert colourbar_axes.get_ylabel() == "gen2 − gen3 (counts)"


def test_fixed_margins_hold_every_label_inside_its_figure():
    # Margins are fixed (no layout engine fits them at each save): wide tick labels, long
    # titles and the trend's legend must still fall inside the figure, not be cut off.
    pixels = np.zeros((4096, 4096))
    pixels[4000, 3] = -1.5e-7
    pixels[7, 4090] = np.nan
    cutout = np.full((41, 41), 123456.0)
    trend = [TrendPoint(run_id, f"2025-11-{run_id:02d}", "v", {"identical": 9, "failed": 1})
             for run_id in range(1, 4)]
    figures = [difference_image_figure(pixels, "visit=10 detector=0 differenceExp", mark=(3, 4000)),
               cutout_figure(cutout, cutout - 0.25, (4000, 3980), mark=(4010, 4000)),
               column_figure(np.array([1.5e-5, -2.5e-4, np.nan]), np.array([1.0, 2000.0, 4090.0]),
                             "ip_diffim_forced_template_PsfFlux_instFlux", "sigma", 1e-4,
                             "source x on the detector (pixel)"),
               trend_figure(trend)]
    for figure in figures:
        assert figure.get_layout_engine() is None
        canvas = FigureCanvasAgg(figure)
        canvas.draw()
        drawn = figure.get_tightbbox(canvas.get_renderer())  # every artist drawn, in inches
        width, height = figure.get_size_inches()
        assert (drawn.x0 >= 0 and drawn.y0 >= 0 and drawn.x1 <= width and drawn.y1 <= height), \
            (figure.axes[0].get_title(), drawn, (width, height))


def test_figures_stay_small():
    rng = np.random.default_rng(1)
    noisy = rng.normal(0, 1, (1000, 1000))
    trend = [TrendPoint(run_id, f"2025-11-{run_id:02d}", "v", {"identical": 9}) for run_id in range(1, 21)]
    sizes = [len(svg_markup(difference_image_figure(noisy, "noise"))), len(svg_markup(trend_figure(trend)))]
    assert max(sizes) < 80_000


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


JUNIT_SCHEMA = DATA_DIR / "junit" / "junit-10.xsd"


@pytest.mark.parametrize("status, planned", [(None, []), ("interrupted", ["winter2013", "never_run"])])
def test_junit_validates_against_the_schema(report, tmp_path, status, planned):
    report.run.status, report.run.planned_scenarios = status, planned
    schema = etree.XMLSchema(etree.parse(str(JUNIT_SCHEMA)))
    document = etree.fromstring(render_junit(report).encode())
    assert schema.validate(document), schema.error_log
    errors = [case.get("classname") for case in document.iter("testcase") if case.find("error") is not None]
    assert errors == ([] if status is None else ["diffim.nightly.(run)", "diffim.nightly.never_run"])


def test_class_names_have_three_dotted_parts():
    assert class_name("nightly", "calexp_template") == "diffim.nightly.calexp_template"
    assert class_name("v1.2", "a.b") == "diffim.v1_2.a_b"


def test_outcome_colours_read_at_wcag_aa():
    assert contrast_ratio("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast_ratio("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)  # just below AA
    for background, strong in OUTCOME_COLOURS.values():
        assert contrast_ratio(strong, background) >= MIN_CONTRAST
        assert contrast_ratio(strong, "#ffffff") >= MIN_CONTRAST
    assert contrast_ratio(MUTED, "#ffffff") >= MIN_CONTRAST


def test_a_baseline_from_uncommitted_code_is_flagged(report, tmp_path):
    baseline = copy.deepcopy(report)
    baseline.run.code_version = "593e6be-dirty"
    paths = write_reports(report, tmp_path / "out", baseline=baseline)
    assert 'id="dirty-baseline"' in paths["html"].read_text()
    assert "> **Warning:** the baseline ran uncommitted code" in paths["markdown"].read_text()
    clean = write_reports(report, tmp_path / "clean", baseline=report)
    assert "dirty-baseline" not in clean["html"].read_text()


def test_a_trend_needs_two_runs(report, tmp_path):
    one = [TrendPoint(12, "2025-11-25T10:00:00", "abc", {"identical": 5})]
    html = write_reports(report, tmp_path / "one", trend=one)["html"].read_text()
    assert "A trend needs at least 2 stored runs of this campaign; the results database holds 1." in html
    assert "Scenario outcomes per run" not in html
