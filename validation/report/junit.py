"""JUnit XML for CI: a test suite per scenario, a test case per data ID x product.

A failed backend run and a difference without a reason are failures; a
difference with a named reason passes, with the reason in ``system-out`` so
it stays visible in the CI's test view. A run that did not complete adds
errors: one test case for the run's status, and one per planned scenario
that was not run, so a CI view never shows an unfinished run as green.
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree

from ..model import RunStatus
from .outcome import Outcome, data_id_label, scenario_checks
from .summary import missing_scenarios

__all__ = ["render_junit"]

# Control characters (from a backend's error text, say) are not allowed in XML 1.0 at all.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def render_junit(report):
    """Render a run as a JUnit XML document.

    Parameters
    ----------
    report : `validation.model.RunReport`

    Returns
    -------
    xml : `str`
    """
    root = ElementTree.Element("testsuites", name=_xml_text(f"diffim-validate {report.run.campaign}"))
    all_checks = []
    for scenario in report.scenarios:
        suite = ElementTree.SubElement(root, "testsuite", name=_xml_text(scenario.name))
        suite_checks = list(scenario_checks(scenario))
        for check in suite_checks:
            _add_testcase(suite, check)
        _count(suite, suite_checks)
        all_checks += suite_checks
    errors = _add_run_errors(root, report)
    _count(root, all_checks, errors)
    ElementTree.indent(root)
    return ElementTree.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _add_testcase(suite, check):
    case = ElementTree.SubElement(
        suite, "testcase", classname=_xml_text(check.scenario.name),
        name=_xml_text(f"{data_id_label(check.result.data_id)} {check.product}"))
    if check.outcome.is_failure:
        failure = ElementTree.SubElement(case, "failure", type=check.outcome.value,
                                         message=_xml_text(f"{check.outcome.label}: {check.message}"))
        failure.text = _xml_text(check.message)
    elif check.outcome is Outcome.EXPECTED_DIFFERENCE:
        ElementTree.SubElement(case, "system-out").text = _xml_text(
            f"different, expected: {check.reason}\n{check.message}")


def _add_run_errors(root, report):
    """Error test cases of an unfinished run; returns how many."""
    status = report.run.status
    errors = 0
    if status not in (None, RunStatus.COMPLETE.value):
        errors += _add_error_suite(root, "(run)", "status", f"run {status}",
                                   f"the run is {status}, not complete")
    for name in missing_scenarios(report):
        errors += _add_error_suite(root, name, "(not run)", "not run",
                                   f"scenario not run: the run is {status}")
    return errors


def _add_error_suite(root, suite_name, case_name, error_type, message):
    suite = ElementTree.SubElement(root, "testsuite", name=_xml_text(suite_name))
    case = ElementTree.SubElement(suite, "testcase", classname=_xml_text(suite_name),
                                  name=_xml_text(case_name))
    ElementTree.SubElement(case, "error", type=error_type, message=_xml_text(message))
    _count(suite, [], errors=1)
    return 1


def _count(element, element_checks, errors=0):
    element.set("tests", str(len(element_checks) + errors))
    element.set("failures", str(sum(check.outcome.is_failure for check in element_checks)))
    element.set("errors", str(errors))
    element.set("skipped", "0")


def _xml_text(text):
    return _NOT_XML.sub("\ufffd", str(text))
