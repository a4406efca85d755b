"""One rule for what the legacy task reads and writes, and both middleware adapters follow it."""
import pytest

from compat.gen3.tasks.image_difference import ImageDifferenceConfig as Gen3Config
from diffim.image_difference import ImageDifferenceConfig, data_flow
from diffim.image_difference.data_flow import OPTIONAL, REQUIRED, UNUSED
from diffim.template import GetCalexpAsTemplateTask

SWITCHES = {
    "default": ({}, False, UNUSED, ("differenceExp", "diaSrc")),
    "detect_only": ({"doSubtract": False}, False, UNUSED, ("diaSrc",)),
    "select_sources_ref": ({"doSelectSources": True, "kernelSourcesFromRef": True}, False,
                           REQUIRED, ("differenceExp", "diaSrc")),
    "match_sources": ({"doMatchSources": True}, False, OPTIONAL, ("differenceExp", "diaSrc")),
    "add_metrics_ref": ({"doSelectSources": True, "kernelSourcesFromRef": True,
                         "doAddMetrics": True}, False, REQUIRED,
                        ("differenceExp", "diaSrc", "kernelSrc")),
    # The combination gen2 and gen3 once disagreed on: template-source kernels with metrics
    # still count the false positives at reference stars.
    "add_metrics_template": ({"doSelectSources": True, "kernelSourcesFromRef": False,
                              "doAddMetrics": True}, True, OPTIONAL,
                             ("differenceExp", "diaSrc", "kernelSrc")),
    "write_all": ({"doWriteWarpedExp": True, "doWriteMatchedExp": True, "doWriteSources": False},
                  False, UNUSED, ("differenceExp", "matchedExp", "warpedExp")),
}


def configured(config, overrides, calexp):
    for name, value in overrides.items():
        setattr(config, name, value)
    if calexp:
        config.getTemplate.retarget(GetCalexpAsTemplateTask)
    config.validate()
    return config


@pytest.mark.parametrize("name", SWITCHES)
def test_the_rule(name):
    overrides, calexp, reference, outputs = SWITCHES[name]
    flow = data_flow(configured(ImageDifferenceConfig(), overrides, calexp))
    assert flow.template  # always: the stack's runDataRef fetched it whatever doSubtract said
    assert flow.calexpTemplate is calexp
    assert flow.differenceExp is (not overrides.get("doSubtract", True))
    assert flow.referenceCatalog == reference
    assert flow.outputs == outputs


@pytest.mark.parametrize("name", SWITCHES)
def test_gen3_connections_are_the_rule(name):
    overrides, calexp, _, _ = SWITCHES[name]
    config = configured(Gen3Config(), overrides, calexp)
    flow = data_flow(config)
    connections = config.connections.ConnectionsClass(config=config)
    expected_inputs = {"calexps", "sources"}
    if not flow.calexpTemplate:
        expected_inputs |= {"coaddExposures", "skyMap"}
    if flow.differenceExp:
        expected_inputs.add("subtractedExposure")
    if flow.referenceCatalog != UNUSED:
        expected_inputs.add("refCat")
    assert set(connections.inputs) | set(connections.prerequisiteInputs) == expected_inputs
    assert set(connections.outputs) == set(flow.outputs)
