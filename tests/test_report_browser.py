"""The report of a small campaign as a reviewer sees it: headless Chromium at 1400 and 900 px.

The campaign (one data ID of a simulated field, as in test_validation_campaign) has an identical
scenario (with the kernel QA metrics: a wide table of backend metrics), an expected difference
(a reason with a long identifier), and a gen3 split configured unlike the monolith for no stated
reason: an unexplained difference whose image is within tolerance and whose catalogue is not.
Every <details> is opened before measuring, so folded tables and plots are checked too.
"""
import json
import re
from collections import Counter

import pytest
from _browser import Chromium
from _campaigns import scenario, write_campaign
from conftest import DATA_DIR
from lxml import etree

from validation.cli import main
from validation.report.outcome import data_id_label
from validation.report.style import MIN_CONTRAST, contrast_ratio

SCENARIOS = [
    scenario("coadd_template", features=["coadd_template", "add_metrics"],
             config={"doAddMetrics": True}),
    scenario("split_undecorrelated", expected_reason="the split was run without decorrelation "
                                                     "(subtractImages.doDecorrelation=False)"),
    {"name": "split_constant_kernel", "features": ["split_tasks"],
     "description": "A gen3 split whose kernel does not vary over the detector, and nobody said why.",
     "gen3_pipeline": "coadd_template",
     "gen3_config": {"subtractImages": {"makeKernel.kernel.active.spatialKernelOrder": 0,
                                        "makeKernel.kernel.active.spatialBgOrder": 2}},
     "tolerances": {"image_max_sigma": 5.0, "pixel_max_fraction": 0.01, "variance_max_rel": 0.5,
                    "mask_max_pixels": 1000, "unmatched_max": 5, "flux_max_sigma": 5.0,
                    "centroid_max_pixels": 1.0, "centroid_max_arcsec": 0.2,
                    "flag_max_fraction": 0.5, "id_max_fraction": 1.0}},
]

WIDTHS = (1400, 900)

# Everything the tests look at, measured in the page with every <details> open.
MEASURE = """
(() => {
  document.querySelectorAll('details').forEach(d => { d.open = true; });
  const px = value => parseFloat(value) || 0;
  const room = box => { const s = getComputedStyle(box); return box.clientWidth - px(s.paddingLeft) - px(s.paddingRight); };
  const background = element => {
    for (let e = element; e; e = e.parentElement) {
      const colour = getComputedStyle(e).backgroundColor;
      if (colour && !colour.startsWith('rgba(0, 0, 0, 0)') && colour !== 'transparent') return colour;
    }
    return 'rgb(255, 255, 255)';
  };
  const text = (element, selector) => { const found = element.querySelector(selector); return found ? found.textContent.trim() : ''; };
  return {
    viewport: document.documentElement.clientWidth,
    page: document.documentElement.scrollWidth,
    tables: [...document.querySelectorAll('table')].map(t => ({
      where: ((t.closest('[id]') || {id: ''}).id + ' ' + t.rows[0].textContent.trim()).slice(0, 80), width: t.getBoundingClientRect().width,
      room: room(t.parentElement), right: t.getBoundingClientRect().right})),
    evidence: [...document.querySelectorAll('.evidence')].map(e => ({
      data_id: e.dataset.dataId, product: e.dataset.product,
      decided: text(e, '.decided'), largest: text(e, '.largest')})),
    plots: [...document.querySelectorAll('figure svg')].map(svg => ({
      x: [...svg.querySelectorAll('[id*="-xlabel-"]')].map(g => g.textContent.trim()),
      y: [...svg.querySelectorAll('[id*="-ylabel-"]')].map(g => g.textContent.trim()),
      width: svg.getBoundingClientRect().width, right: svg.getBoundingClientRect().right})),
    colours: [...document.querySelectorAll('.badge, td[class*="cell-"], td.zero, .warning, .reason, .muted')]
      .map(e => ({what: e.className + ': ' + e.textContent.trim().slice(0, 30),
                  colour: getComputedStyle(e).color, background: background(e)})),
  };
})()
"""


@pytest.fixture(scope="module")
def campaign_report(tmp_path_factory):
    root = tmp_path_factory.mktemp("browser")
    path = write_campaign(root / "browser.yaml", "browser", SCENARIOS, visits=(10,))
    # FAIL: the unexplained difference fails the run, as it should
    assert main(["run", str(path), "--workdir", str(root / "work")]) == 1
    return root / "work" / "report"


@pytest.fixture(scope="module", params=WIDTHS, ids=[f"{width}px" for width in WIDTHS])
def page(request, campaign_report):
    with Chromium(request.param, 1000) as browser:
        browser.open((campaign_report / "report.html").resolve().as_uri())
        return browser.evaluate(MEASURE)


def differing_checks(report_dir):
    results = json.loads((report_dir / "results.json").read_text())
    return Counter((data_id_label(result["data_id"]), comparison["product"])
                   for scenario in results["scenarios"] for result in scenario["data_ids"]
                   for comparison in result["comparisons"] if comparison["verdict"] != "identical")


def hex_colour(css):
    red, green, blue = (int(value) for value in re.findall(r"\d+", css)[:3])
    return f"#{red:02x}{green:02x}{blue:02x}"


def test_the_campaign_has_an_expected_and_an_unexplained_difference(campaign_report):
    summary = (campaign_report / "summary.md").read_text()
    assert "| split_undecorrelated | `split_tasks` | coadd | 1 | different, expected |" in summary
    assert "| coadd_template | `coadd_template`, `add_metrics` | coadd | 1 | identical |" in summary
    assert "| split_constant_kernel | `split_tasks` | coadd | 1 | **different, unexplained** |" in summary
    assert "`differenceExp`: within tolerance: every rule inside its limit" in summary


def test_no_table_overflows(page):
    assert page["page"] <= page["viewport"]
    assert len(page["tables"]) >= 8
    too_wide = [table for table in page["tables"]
                if table["width"] > table["room"] + 0.5 or table["right"] > page["viewport"] + 0.5]
    assert too_wide == []


def test_each_differing_product_states_its_rule_and_where_it_differs_most(page, campaign_report):
    assert Counter((block["data_id"], block["product"]) for block in page["evidence"]) == \
        differing_checks(campaign_report)
    for block in page["evidence"]:
        assert block["decided"].startswith("Decided by: ") and "limit" in block["decided"], block
        assert block["largest"].startswith("Largest difference: "), block
        if block["product"] == "differenceExp":
            assert re.search(r"largest \|Δ\| \S+ \(counts\) at x = \d+, y = \d+", block["largest"]), block
        else:
            assert re.search(r"column \w+: largest difference \S+ .+ \(limit \S+\).* at gen2 id \d+ / gen3 id \d+, "
                             r"slot_Centroid_x, slot_Centroid_y = \([\d.]+, [\d.]+\)", block["largest"]), block


def test_every_plot_labels_both_axes_with_units(page):
    assert len(page["plots"]) >= 4
    for plot in page["plots"]:
        assert plot["x"] and plot["y"], plot
        assert all(re.search(r"\(\S.*\)", label) for label in plot["x"] + plot["y"]), plot
        assert plot["right"] <= page["viewport"] + 0.5


def test_every_badge_and_coloured_cell_reads_at_wcag_aa(page):
    badges = [item for item in page["colours"] if item["what"].startswith("badge")]
    assert len(badges) >= 10
    ratios = {item["what"]: contrast_ratio(hex_colour(item["colour"]), hex_colour(item["background"]))
              for item in page["colours"]}
    assert {what: ratio for what, ratio in ratios.items() if ratio < MIN_CONTRAST} == {}


def test_junit_validates_against_the_schema_with_dotted_classes_and_skips(campaign_report):
    schema = etree.XMLSchema(etree.parse(str(DATA_DIR / "junit" / "junit-10.xsd")))
    document = etree.parse(str(campaign_report / "junit.xml"))
    assert schema.validate(document), schema.error_log
    cases = document.getroot().findall("testsuite/testcase")
    assert {case.get("classname") for case in cases} == {
        "diffim.browser.coadd_template", "diffim.browser.split_undecorrelated",
        "diffim.browser.split_constant_kernel"}
    assert all(float(case.get("time")) > 0 for case in cases)
    for suite in document.getroot().findall("testsuite"):
        assert suite.get("timestamp") and suite.get("hostname") and float(suite.get("time")) > 0
    skipped = [case for case in cases if case.find("skipped") is not None]
    assert [case.get("classname") for case in skipped] == ["diffim.browser.split_undecorrelated"] * 2
    assert {case.find("skipped").get("message") for case in skipped} == {
        "expected difference: the split was run without decorrelation (subtractImages.doDecorrelation=False)"}
    within = [case for case in cases if case.find("system-out") is not None]
    assert [case.get("name") for case in within] == ["detector=0 visit=10 differenceExp"]
    assert "inside the limit: image: " in within[0].find("system-out").text
    failures = [case.get("name") for case in cases if case.find("failure") is not None]
    assert failures == ["detector=0 visit=10 diaSrc"]
