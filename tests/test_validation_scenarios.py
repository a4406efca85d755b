"""Campaign files: the shipped matrix is complete and valid; bad files fail on one named line."""
import textwrap

import pytest

from diffim.template import GetCalexpAsTemplateTask
from validation.audit.features import FEATURES
from validation.campaign.overrides import override_file_text
from validation.campaign.scenarios import load_campaign
from validation.errors import ValidationError


@pytest.fixture(scope="module")
def default():
    return load_campaign("default")


def test_every_feature_of_the_design_table_has_a_scenario(default):
    covered = {feature for scenario in default.scenarios for feature in scenario.features}
    assert covered == set(FEATURES)


def test_scenario_configs_carry_their_switches(default):
    config = default.scenario("calexp_everything").make_config()
    assert config.getTemplate.target is GetCalexpAsTemplateTask
    assert config.doSelectSources and config.kernelSourcesFromRef and config.doAddMetrics
    assert not default.scenario("detect_only").make_config().doSubtract


def test_select_keeps_what_a_scenario_builds_on(default):
    selected = default.select(["detect_only"])
    assert [s.name for s in selected.scenarios] == ["coadd_template", "detect_only"]


def test_override_file_is_what_a_gen2_user_would_write(default):
    text = override_file_text(default.scenario("select_sources_template"))
    assert "config.getTemplate.retarget(GetCalexpAsTemplateTask)" in text
    assert "config.kernelSourcesFromRef = False" in text


def write(tmp_path, body):
    path = tmp_path / "campaign.yaml"
    path.write_text(textwrap.dedent(body))
    return path


BASE = """
    campaign: t
    dataset: {simulated_field: {size: 128}}
    scenarios:
"""


@pytest.mark.parametrize("scenario, message", [
    ("  - {name: a, features: [coadd_template], colour: red}", "scenario 'a': unknown keys \\['colour'\\]"),
    ("  - {name: a, features: [teleport]}", "scenario 'a': unknown or no feature ids \\['teleport'\\]"),
    ("  - {name: a, features: [coadd_template], config: {doTeleport: true}}",
     "scenario 'a': unknown config field 'doTeleport'"),
    ("  - {name: a, features: [coadd_template], config: {doAddMetrics: 3.5}}",
     "scenario 'a': bad value 3.5 for 'doAddMetrics'"),
    ("  - {name: a, features: [calexp_template], template: calexp}",
     "scenario 'a': template_visit goes with template 'calexp'"),
    ("  - {name: a, features: [detect_only], builds_on: b}", "builds on 'b', which is not defined"),
    ("  - {name: a, features: [coadd_template], tolerances: {image_max_sigmaa: 1}}",
     "scenario 'a': unknown tolerance 'image_max_sigmaa'"),
    ("  - {name: a, features: [coadd_template], products: [diffexp]}",
     "scenario 'a': unknown products \\['diffexp'\\]"),
    # Scenario names become reruns, RUN collections and file names.
    ('  - {name: "../../../../tmp/victim", features: [coadd_template]}',
     "campaign.yaml: scenario name '../../../../tmp/victim' may hold only letters, digits"),
    ('  - {name: ".hidden", features: [coadd_template]}', "scenario name '.hidden' may hold only"),
    ('  - {name: "a/b", features: [coadd_template]}', "scenario name 'a/b' may hold only"),
    ('  - {name: "", features: [coadd_template]}', "scenario name '' may hold only"),
])
def test_bad_scenarios_are_named(tmp_path, scenario, message):
    path = write(tmp_path, BASE + "    " + scenario + "\n")
    with pytest.raises(ValidationError, match=message):
        load_campaign(path)


def test_a_campaign_name_is_a_plain_name(tmp_path):
    path = write(tmp_path, BASE.replace("campaign: t", "campaign: ../up") +
                 "      - {name: a, features: [coadd_template]}\n")
    with pytest.raises(ValidationError, match="campaign name '../up' may hold only"):
        load_campaign(path)


def test_missing_and_non_yaml_files_are_named(tmp_path):
    with pytest.raises(ValidationError, match="nope.yaml: cannot read"):
        load_campaign(tmp_path / "nope.yaml")
    path = tmp_path / "bad.yaml"
    path.write_text("scenarios: [\n")
    with pytest.raises(ValidationError, match="bad.yaml: not YAML"):
        load_campaign(path)
