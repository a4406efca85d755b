"""JUnit XML for CI: a test suite per scenario, a test case per data ID x product.

The file follows the JUnit XML schema that Jenkins' xUnit plugin publishes
(``junit-10.xsd``; GitLab, GitHub test reporters and pytest's ``xunit2``
read the same): test classes are dotted, ``diffim.<campaign>.<scenario>``,
so CI views group them by campaign; suites carry ``time``, ``timestamp``
(the run's start, UTC) and ``hostname``. A failed backend run and a
difference without a reason are failures; a difference with a named reason
is ``skipped`` with the reason as its message (the convention for expected
failures, which CI summaries count and show); a check within tolerance
passes with its numbers in ``system-out``. A run that did not complete adds
errors: one test case for the run's status, and one per planned scenario
that was not run, so a CI view never shows an unfinished run as green.
A case's ``time`` is its scenario's backend time shared equally among the
scenario's checks (the backends time scenarios, not checks).
"""
from __future__ import annotations

import datetime
import re
import xml.etree.ElementTree as ElementTree

from ..model import RunStatus
from .evidence import comparison_evidence, scenario_tolerances
from .outcome import Outcome, data_id_label, scenario_checks
from .summary import missing_scenarios

__all__ = ["CLASS_PREFIX", "class_name", "render_junit"]

CLASS_PREFIX = "diffim"
"""First part of every dotted class name."""
_PER_SCENARIO_SECONDS = "seconds"

# Control characters (from a backend's error text, say) are not allowed in XML 1.0 at all.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def class_name(campaign, scenario):
    """``"diffim.<campaign>.<scenario>"``, dots inside either name made ``_`` so the parts stay three."""
    return ".".join([CLASS_PREFIX, *(str(name).replace(".", "_") for name in (campaign, scenario))])


def render_junit(report):
    """Render a run as a JUnit XML document.

    Parameters
    ----------
    report : `validation.model.RunReport`

    Returns
    -------
    xml : `str`
    """
    run = report.run
    root = ElementTree.Element("testsuites", name=_xml_text(f"diffim-validate {run.campaign}"))
    stamp = {"timestamp": _timestamp(run.started), "hostname": _xml_text(run.machine.split(" (")[0])}
    totals = {"tests": 0, "failures": 0, "errors": 0, "time": 0.0}
    for scenario in report.scenarios:
        suite_checks = list(scenario_checks(scenario))
        seconds = _scenario_seconds(scenario)
        classname = _xml_text(class_name(run.campaign, scenario.name))
        suite = ElementTree.SubElement(root, "testsuite", name=classname, **stamp)
        tolerances = scenario_tolerances(scenario)
        for check in suite_checks:
            _add_testcase(suite, check, classname, seconds / len(suite_checks), tolerances)
        _count(suite, suite_checks, seconds, totals)
    for suite_name, case_name, error_type, message in _run_errors(report):
        classname = _xml_text(class_name(run.campaign, suite_name))
        suite = ElementTree.SubElement(root, "testsuite", name=classname, **stamp)
        case = ElementTree.SubElement(suite, "testcase", classname=classname, name=_xml_text(case_name),
                                      time="0")
        ElementTree.SubElement(case, "error", type=error_type, message=_xml_text(message))
        _count(suite, [], 0.0, totals, errors=1)
    for key in ("tests", "failures", "errors"):
        root.set(key, str(totals[key]))
    root.set("time", f"{totals['time']:.3f}")
    ElementTree.indent(root)
    return ElementTree.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _timestamp(started):
    """The run's start as JUnit writes timestamps: ISO 8601 in UTC, no zone suffix."""
    try:
        moment = datetime.datetime.fromisoformat(started)
    except (TypeError, ValueError):
        return _xml_text(started)
    if moment.tzinfo is not None:
        moment = moment.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return moment.isoformat(timespec="seconds")


def _scenario_seconds(scenario):
    """The scenario's time: the backends' seconds, which every data ID repeats, added up."""
    for result in scenario.data_ids:
        values = [metrics.get(_PER_SCENARIO_SECONDS) for metrics in result.backend_metrics.values()]
        values = [value for value in values if isinstance(value, (int, float))]
        if values:
            return float(sum(values))
    return 0.0


def _add_testcase(suite, check, classname, seconds, tolerances):
    case = ElementTree.SubElement(
        suite, "testcase", classname=_xml_text(classname),
        name=_xml_text(f"{data_id_label(check.result.data_id)} {check.product}"), time=f"{seconds:.3f}")
    evidence = comparison_evidence(check.comparison, tolerances) if check.comparison is not None else None
    numbers = "\n".join([check.message, *(evidence.rules_text() if evidence else [])])
    if check.outcome.is_failure:
        failure = ElementTree.SubElement(case, "failure", type=check.outcome.value,
                                         message=_xml_text(f"{check.outcome.label}: {check.message}"))
        failure.text = _xml_text(numbers)
    elif check.outcome is Outcome.EXPECTED_DIFFERENCE:
        skipped = ElementTree.SubElement(case, "skipped", type=check.outcome.value,
                                         message=_xml_text(f"expected difference: {check.reason}"))
        skipped.text = _xml_text(numbers)
    elif check.outcome is Outcome.WITHIN_TOLERANCE:
        ElementTree.SubElement(case, "system-out").text = _xml_text(f"within tolerance\n{numbers}")


def _run_errors(report):
    """(suite, case, error type, message) of each error test case of an unfinished run."""
    status = report.run.status
    if status not in (None, RunStatus.COMPLETE.value):
        yield "(run)", "status", f"run {status}", f"the run is {status}, not complete"
    for name in missing_scenarios(report):
        yield name, "(not run)", "not run", f"scenario not run: the run is {status}"


def _count(suite, suite_checks, seconds, totals, errors=0):
    counts = {"tests": len(suite_checks) + errors,
              "failures": sum(check.outcome.is_failure for check in suite_checks),
              "errors": errors,
              "skipped": sum(check.outcome is Outcome.EXPECTED_DIFFERENCE for check in suite_checks)}
    for key, value in counts.items():
        suite.set(key, str(value))
    suite.set("time", f"{seconds:.3f}")
    for key in ("tests", "failures", "errors"):
        totals[key] += counts[key]
    totals["time"] += seconds


def _xml_text(text):
    return _NOT_XML.sub("\ufffd", str(text))
