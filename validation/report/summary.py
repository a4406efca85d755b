"""The numbers every report format shows: per-scenario rows, counts, the feature matrix."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from .outcome import Outcome, checks, data_id_outcome, scenario_outcome, scenario_reasons

__all__ = ["ScenarioRow", "feature_outcome_matrix", "outcome_counts", "scenario_anchor",
           "scenario_rows", "status_line"]


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


def feature_outcome_matrix(report):
    """Feature -> outcome -> number of data IDs, over every scenario using the feature.

    A data ID of a scenario combining several features counts once for each
    of them. Features are in first-seen order.
    """
    matrix = {}
    for scenario in report.scenarios:
        for feature in scenario.features:
            row = matrix.setdefault(feature, {outcome: 0 for outcome in Outcome})
            for result in scenario.data_ids:
                row[data_id_outcome(scenario, result)] += 1
    return matrix


def status_line(report):
    """``"PASS: ..."`` or ``"FAIL: ..."``: does the run need a human, and why."""
    counts = outcome_counts(report)
    n_checks = sum(counts.values())
    failed = counts[Outcome.FAILED]
    unexplained = counts[Outcome.UNEXPLAINED_DIFFERENCE]
    if failed or unexplained:
        return (f"FAIL: {failed} failed and {unexplained} unexplained difference(s) "
                f"in {n_checks} checks (data ID × product)")
    return f"PASS: no failures, no unexplained differences in {n_checks} checks (data ID × product)"
