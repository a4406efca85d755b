"""Real gen2 override files as campaign scenarios, run through both middlewares."""
import os

import pytest
from _campaigns import scenario, write_campaign

from validation.campaign import load_campaign
from validation.campaign.overrides import override_file_text
from validation.cli import main
from validation.db import ResultsDB
from validation.errors import ValidationError

REAL = os.path.join(os.path.dirname(__file__), "data", "gen2_overrides")


def write_real_campaign(path, first_file="obs_lsstSim__imageDifference_2016.py"):
    """Three real override files as scenarios; ``first_file`` is the first scenario's file."""
    return write_campaign(path, "real_small", [
        {"name": "obs_lsstSim_2016", "features": ["select_sources_ref"],
         "override_file": os.path.join(REAL, first_file)},
        {**scenario("calexp_template", features=["calexp_template"], config=None),
         "name": "wiyn_lsst_2018",
         "override_file": os.path.join(REAL, "wiyn_lsst__imageDifference.py")},
        {"name": "ap_verify_ci_hits2015_2020", "features": ["coadd_template"],
         "override_file": os.path.join(REAL, "ap_verify_ci_hits2015__imageDifference_2020.py")},
    ])


def test_scenario_loads_the_real_file_unchanged(tmp_path):
    path = write_real_campaign(tmp_path / "real.yaml")
    lsst_sim, wiyn, ap_verify = load_campaign(path).scenarios
    config = lsst_sim.make_config()
    assert config.kernelSourcesFromRef is True and config.doDecorrelation is True
    assert wiyn.make_config().subtract["al"].kernel["AL"].candidateResidualStdMax == 2.0
    assert ap_verify.make_config().getTemplate.warpType == "direct"
    text = override_file_text(lsst_sim)
    assert f"config.load({lsst_sim.override_file!r})" in text


def test_a_real_file_that_does_not_load_is_one_line(tmp_path):
    path = write_real_campaign(tmp_path / "real.yaml", "dia_pipe__imageDifferenceDriver.py")
    with pytest.raises(ValidationError, match=r"scenario 'obs_lsstSim_2016': .*"
                       r"dia_pipe__imageDifferenceDriver.py does not load: .*:6: .*obs_lsst"):
        load_campaign(path)


def test_a_missing_real_file_is_named(tmp_path):
    path = write_real_campaign(tmp_path / "real.yaml", "obs_lsstSim__imageDifference_1999.py")
    with pytest.raises(ValidationError, match="override_file .*1999.py is not a file"):
        load_campaign(path)


@pytest.fixture(scope="module")
def real_campaign(tmp_path_factory):
    root = tmp_path_factory.mktemp("real")
    path = write_real_campaign(root / "real.yaml")
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
