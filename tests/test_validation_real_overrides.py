"""Real gen2 override files as campaign scenarios, run through both middlewares."""
import os
import textwrap

import pytest

from validation.campaign import load_campaign
from validation.campaign.overrides import override_file_text
from validation.cli import main
from validation.db import ResultsDB
from validation.errors import ValidationError

REAL = os.path.join(os.path.dirname(__file__), "data", "gen2_overrides")

CAMPAIGN = f"""
campaign: real_small
dataset:
  simulated_field: {{size: 256, seed: 11, detectors: [1, 1], star_density: 500.0,
                    n_transients: 8}}
data_ids: {{visit: [10, 11], detector: [0]}}
scenarios:
  - name: obs_lsstSim_2016
    features: [select_sources_ref]
    override_file: {REAL}/obs_lsstSim__imageDifference_2016.py
  - name: wiyn_lsst_2018
    features: [calexp_template]
    template: calexp
    template_visit: 1
    override_file: {REAL}/wiyn_lsst__imageDifference.py
  - name: ap_verify_ci_hits2015_2020
    features: [coadd_template]
    override_file: {REAL}/ap_verify_ci_hits2015__imageDifference_2020.py
"""


def test_scenario_loads_the_real_file_unchanged(tmp_path):
    path = tmp_path / "real.yaml"
    path.write_text(textwrap.dedent(CAMPAIGN))
    scenario, wiyn, ap_verify = load_campaign(path).scenarios
    config = scenario.make_config()
    assert config.kernelSourcesFromRef is True and config.doDecorrelation is True
    assert wiyn.make_config().subtract["al"].kernel["AL"].candidateResidualStdMax == 2.0
    assert ap_verify.make_config().getTemplate.warpType == "direct"
    text = override_file_text(scenario)
    assert f"config.load({scenario.override_file!r})" in text


def test_a_real_file_that_does_not_load_is_one_line(tmp_path):
    path = tmp_path / "real.yaml"
    path.write_text(textwrap.dedent(CAMPAIGN).replace(
        "obs_lsstSim__imageDifference_2016.py", "dia_pipe__imageDifferenceDriver.py"))
    with pytest.raises(ValidationError, match=r"scenario 'obs_lsstSim_2016': .*"
                       r"dia_pipe__imageDifferenceDriver.py does not load: .*:6: .*obs_lsst"):
        load_campaign(path)


def test_a_missing_real_file_is_named(tmp_path):
    path = tmp_path / "real.yaml"
    path.write_text(textwrap.dedent(CAMPAIGN).replace("2016.py", "1999.py"))
    with pytest.raises(ValidationError, match="override_file .*1999.py is not a file"):
        load_campaign(path)


@pytest.fixture(scope="module")
def real_campaign(tmp_path_factory):
    root = tmp_path_factory.mktemp("real")
    path = root / "real.yaml"
    path.write_text(textwrap.dedent(CAMPAIGN))
    workdir = root / "work"
    status = main(["run", str(path), "--workdir", str(workdir)])
    return workdir, status


def test_real_files_run_through_both_middlewares(real_campaign):
    workdir, status = real_campaign
    assert status == 0
    with ResultsDB(str(workdir / "results.sqlite3")) as database:
        report = database.load_run(database.latest_run_id())
    verdicts = {scenario.name: scenario.verdict.value for scenario in report.scenarios}
    assert verdicts == dict.fromkeys(
        ["obs_lsstSim_2016", "wiyn_lsst_2018", "ap_verify_ci_hits2015_2020"], "identical")
    # The real file itself is audited, with its era from PROVENANCE.md.
    (audit,) = [record for record in report.audits
                if record.path.endswith("obs_lsstSim__imageDifference_2016.py")]
    assert audit.era.startswith("2016-11-13")
    assert any(finding["path"] == "doSelectSources" for finding in audit.findings)
    html = (workdir / "report" / "report.html").read_text()
    assert "relied on doSelectSources=True (the default on 2016-11-13)" in html
    assert "wiyn_lsst_2018" in html
