"""What a verdict means for a reader: is the difference explained, does it fail CI?

A `Verdict` says how two outputs compare; a `DIFFERENT` verdict is acceptable
only with a named reason. Every report (HTML, Markdown, JUnit, regression)
needs that distinction, so it is made once here: an `Outcome` is a verdict
with ``DIFFERENT`` split into expected (a reason is given) and unexplained.
Its members are made from `Verdict`'s, so a new verdict is an outcome too.
A `Check` is one line of the validation: one product of one data ID of one
scenario, or the failure of a data ID that produced no products.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from ..model import RankedEnum, Verdict

__all__ = ["RUN_ERROR_PRODUCT", "Check", "Outcome", "checks", "comparison_reason",
           "data_id_key", "data_id_label", "data_id_outcome", "outcome_of",
           "scenario_checks", "scenario_outcome", "scenario_reasons"]

RUN_ERROR_PRODUCT = "(backend run)"
"""Product name of the check standing for a data ID whose backend run raised."""


_DIFFERENT_SPLIT = {"EXPECTED_DIFFERENCE": "different, expected",
                    "UNEXPLAINED_DIFFERENCE": "different, unexplained"}
"""The outcomes ``Verdict.DIFFERENT`` splits into, in rank order, with their labels."""


class _OutcomeBase(RankedEnum):
    """What an `Outcome` says to a reader and to CI."""

    @property
    def label(self):
        """Words for a reader, e.g. ``"different, expected"``."""
        return _DIFFERENT_SPLIT.get(self.name, self.value.replace("_", " "))

    @property
    def is_failure(self):
        """True when CI must fail: a failed run or a difference nobody explained."""
        return self in (Outcome.UNEXPLAINED_DIFFERENCE, Outcome.FAILED)


def _outcome_members():
    for verdict in Verdict:
        if verdict is Verdict.DIFFERENT:
            yield from ((name, name.lower()) for name in _DIFFERENT_SPLIT)
        else:
            yield verdict.name, verdict.value


Outcome = _OutcomeBase("Outcome", list(_outcome_members()), module=__name__,
                       qualname="Outcome")
Outcome.__doc__ = """A verdict as judged for CI, from best to worst: `Verdict`'s members, with
``DIFFERENT`` split into ``EXPECTED_DIFFERENCE`` and ``UNEXPLAINED_DIFFERENCE``."""


def outcome_of(verdict, reason):
    """The `Outcome` of a verdict given the reason (or `None`) for a difference."""
    if verdict is Verdict.DIFFERENT:
        return Outcome.EXPECTED_DIFFERENCE if reason else Outcome.UNEXPLAINED_DIFFERENCE
    return Outcome[verdict.name]


def comparison_reason(scenario, comparison):
    """The reason a comparison's difference is expected, or `None`.

    The comparison's own reason wins; otherwise the scenario's declared
    ``expected_reason`` explains it, since a scenario declares its expected
    differences once for all its products.
    """
    return comparison.reason or scenario.expected_reason


def data_id_outcome(scenario, result):
    """The worst outcome of one `DataIdResult` (`Outcome.FAILED` on error)."""
    if result.error:
        return Outcome.FAILED
    return Outcome.worst(outcome_of(c.verdict, comparison_reason(scenario, c))
                         for c in result.comparisons)


def scenario_outcome(scenario):
    """The worst outcome over a scenario's data IDs."""
    return Outcome.worst(data_id_outcome(scenario, result) for result in scenario.data_ids)


def scenario_reasons(scenario):
    """The distinct reasons given for a scenario's differences, in first-seen order."""
    reasons = [scenario.expected_reason] if scenario.expected_reason else []
    for result in scenario.data_ids:
        reasons.extend(c.reason for c in result.comparisons
                       if c.reason and c.verdict is not Verdict.IDENTICAL)
    return list(dict.fromkeys(reasons))


def data_id_label(data_id):
    """A data ID as a reader writes it: ``"visit=12 ccd=3"``, in the given key order."""
    return " ".join(f"{key}={_scalar_text(value)}" for key, value in data_id.items())


def _scalar_text(value):
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def data_id_key(data_id):
    """A data ID as a hashable key that ignores key order."""
    return json.dumps(data_id, sort_keys=True)


@dataclass(frozen=True)
class Check:
    """One line of a run's validation: a product of a data ID, or a data ID's failure.

    Attributes
    ----------
    scenario : `validation.model.ScenarioResult`
    result : `validation.model.DataIdResult`
    product : `str`
        The product compared, or `RUN_ERROR_PRODUCT` for a data ID that raised.
    outcome : `Outcome`
    reason : `str` or `None`
        Why a difference is expected.
    message : `str`
        The comparison's summary, or the backend's error.
    comparison : `validation.model.Comparison` or `None`
        The comparison behind the check (`None` for a backend's failure).
    """

    scenario: object
    result: object
    product: str
    outcome: Outcome
    reason: str | None
    message: str
    comparison: object = None

    @property
    def key(self):
        """(scenario name, data ID key, product): what identifies a check across runs."""
        return self.scenario.name, data_id_key(self.result.data_id), self.product

    @property
    def where(self):
        """``"scenario / visit=1 ccd=2 / product"`` for one-line messages."""
        return f"{self.scenario.name} / {data_id_label(self.result.data_id)} / {self.product}"


def scenario_checks(scenario):
    """Every `Check` of a `ScenarioResult`, in data ID order."""
    for result in scenario.data_ids:
        if result.error:
            yield Check(scenario, result, RUN_ERROR_PRODUCT, Outcome.FAILED, None, result.error)
        for comparison in result.comparisons:
            reason = comparison_reason(scenario, comparison)
            yield Check(scenario, result, comparison.product,
                        outcome_of(comparison.verdict, reason), reason, comparison.summary, comparison)


def checks(report):
    """Every `Check` of a `RunReport`, in report order."""
    for scenario in report.scenarios:
        yield from scenario_checks(scenario)
