"""The numbers every report format shows: per-scenario rows, outcome counts, the status.

The status line heads every report and decides the exit status of ``run``
and ``report``: ``PASS`` only for a complete run without failures or
unexplained differences; ``FAIL`` for a complete run with some;
``INCOMPLETE`` for a run interrupted, abandoned or still running (whatever
its checks say, scenarios are missing); ``FAILED`` for a run an error
stopped. A run read from a file written before runs had a status is judged
by its checks alone.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from ..model import RunStatus
from .outcome import Outcome, checks, data_id_outcome, scenario_outcome, scenario_reasons

__all__ = ["ScenarioRow", "answer_line", "exit_status", "glance_counts", "missing_scenarios",
           "outcome_counts", "run_verdict", "scenario_anchor", "scenario_rows", "status_line"]


@dataclass
class ScenarioRow:
    """One line of the verdict table."""

    name: str
    anchor: str
    features: list
    template_mode: str
    n_data_ids: int
    outcome: Outcome
    reasons: list


def scenario_anchor(index, name):
    """An HTML id for a scenario: unique by position, readable by name."""
    readable = "".join(char if char.isalnum() else "-" for char in name).strip("-")
    return f"s{index}-{readable}"


def scenario_rows(report):
    """A `ScenarioRow` per scenario of a `RunReport`, in run order."""
    return [ScenarioRow(name=scenario.name, anchor=scenario_anchor(index, scenario.name),
                        features=list(scenario.features), template_mode=scenario.template_mode,
                        n_data_ids=len(scenario.data_ids), outcome=scenario_outcome(scenario),
                        reasons=scenario_reasons(scenario))
            for index, scenario in enumerate(report.scenarios)]


def outcome_counts(report):
    """How many checks (data ID x product) of a run have each `Outcome`."""
    counts = Counter(check.outcome for check in checks(report))
    return {outcome: counts[outcome] for outcome in Outcome}


def glance_counts(report):
    """Outcome counts at three scales: scenarios, data IDs, checks (data ID x product).

    Returns
    -------
    counts : `dict` [`str`, `dict` [`Outcome`, `int`]]
        ``"scenarios"``, ``"data IDs"`` and ``"checks"`` -> outcome -> count,
        every outcome present (zeros included).
    """
    scenarios = Counter(scenario_outcome(scenario) for scenario in report.scenarios)
    data_ids = Counter(data_id_outcome(scenario, result)
                       for scenario in report.scenarios for result in scenario.data_ids)
    return {"scenarios": {outcome: scenarios[outcome] for outcome in Outcome},
            "data IDs": {outcome: data_ids[outcome] for outcome in Outcome},
            "checks": outcome_counts(report)}


def missing_scenarios(report):
    """Names of the scenarios the run planned but did not record, in planned order."""
    recorded = {scenario.name for scenario in report.scenarios}
    return [name for name in report.run.planned_scenarios if name not in recorded]


def _is_finished(report):
    return report.run.status in (None, RunStatus.COMPLETE.value) and not missing_scenarios(report)


def run_verdict(report):
    """``"PASS"``, ``"FAIL"``, ``"INCOMPLETE"`` or ``"FAILED"``: see the module docstring."""
    if report.run.status == RunStatus.FAILED.value:
        return "FAILED"
    if not _is_finished(report):
        return "INCOMPLETE"
    counts = outcome_counts(report)
    return "FAIL" if counts[Outcome.FAILED] or counts[Outcome.UNEXPLAINED_DIFFERENCE] else "PASS"


def exit_status(report):
    """The exit status a command reporting on ``report`` ends with: 0 for PASS, else 1."""
    return 0 if run_verdict(report) == "PASS" else 1


def answer_line(report):
    """One sentence answering "does gen3 reproduce gen2?" for the run."""
    counts = outcome_counts(report)
    if not _is_finished(report):
        return (f"Not established: the run is {report.run.status} and "
                f"{len(missing_scenarios(report))} planned scenario(s) were not run.")
    if counts[Outcome.FAILED] or counts[Outcome.UNEXPLAINED_DIFFERENCE]:
        return (f"Not established: {counts[Outcome.FAILED]} check(s) failed and "
                f"{counts[Outcome.UNEXPLAINED_DIFFERENCE]} differ without a stated reason (listed below).")
    if not sum(counts.values()):
        return "Nothing was compared."
    expected = sum(scenario_outcome(scenario) is Outcome.EXPECTED_DIFFERENCE
                   for scenario in report.scenarios)
    if expected:
        return (f"Yes, except for {expected} scenario(s) whose differences are expected, "
                "each for the reason stated in the verdict table below.")
    return "Yes: every check is identical or within tolerance."


def status_line(report):
    """``"PASS: ..."``, ``"FAIL: ..."``, ``"INCOMPLETE: ..."`` or ``"FAILED: ..."``.

    Does the run need a human, and why (`run_verdict`).
    """
    counts = outcome_counts(report)
    n_checks = sum(counts.values())
    failed = counts[Outcome.FAILED]
    unexplained = counts[Outcome.UNEXPLAINED_DIFFERENCE]
    checked = (f"{failed} failed and {unexplained} unexplained difference(s) "
               f"in {n_checks} checks (data ID × product)")
    verdict = run_verdict(report)
    if verdict in ("INCOMPLETE", "FAILED"):
        return (f"{verdict}: run {report.run.status}, {report.recorded_of_planned()} "
                f"scenario(s) recorded; {checked}")
    if verdict == "FAIL":
        return f"FAIL: {checked}"
    return f"PASS: no failures, no unexplained differences in {n_checks} checks (data ID × product)"
