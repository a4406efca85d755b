"""The historical features of a run for a reader deciding which ones gen3 may drop.

Two tables are built here: the feature x outcome matrix of this run (with the
scenarios behind each count and the reasons of expected differences) and the
feature audit (who uses each feature), whose "gen2 = gen3?" column is this
run's outcome for the feature when the run exercised it, and otherwise the
audit's own record.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from ..model import Verdict
from .outcome import Outcome, data_id_outcome, outcome_of, scenario_outcome, scenario_reasons
from .summary import scenario_anchor

__all__ = ["AuditRow", "FeatureRow", "audit_rows", "feature_rows"]


@dataclass
class FeatureRow:
    """One feature of the run: data IDs per outcome, its scenarios, its expected differences.

    Attributes
    ----------
    feature : `str`
    title : `str`
        Words for the feature, from the audit (empty without one).
    counts : `dict` [`Outcome`, `int`]
        Data IDs per outcome over the scenarios using the feature.
    scenarios : `list` [`tuple`]
        ``(name, anchor, outcome)`` of each scenario using the feature.
    reasons : `list` [`tuple`]
        ``(scenario name, anchor, reason)`` of each expected difference.
    """

    feature: str
    title: str = ""
    counts: dict = field(default_factory=lambda: {outcome: 0 for outcome in Outcome})
    scenarios: list = field(default_factory=list)
    reasons: list = field(default_factory=list)

    @property
    def outcome(self):
        """The worst outcome of any data ID using the feature (`None` if none ran)."""
        seen = [outcome for outcome, count in self.counts.items() if count]
        return max(seen, key=lambda outcome: outcome.rank) if seen else None


def feature_rows(report, audit_summary=None):
    """A `FeatureRow` per feature some scenario of the run names, in first-seen order.

    A data ID of a scenario combining several features counts once for each.

    Parameters
    ----------
    report : `validation.model.RunReport`
    audit_summary : `list` [`dict`], optional
        The audit's per-feature rows, for the features' titles.

    Returns
    -------
    rows : `list` [`FeatureRow`]
    """
    titles = {entry.get("feature"): entry.get("title", "") for entry in audit_summary or []}
    rows = {}
    for index, scenario in enumerate(report.scenarios):
        anchor = scenario_anchor(index, scenario.name)
        outcome = scenario_outcome(scenario)
        for feature in scenario.features:
            row = rows.setdefault(feature, FeatureRow(feature, titles.get(feature) or ""))
            row.scenarios.append((scenario.name, anchor, outcome))
            for result in scenario.data_ids:
                row.counts[data_id_outcome(scenario, result)] += 1
            if outcome is Outcome.EXPECTED_DIFFERENCE:
                row.reasons.extend((scenario.name, anchor, reason)
                                   for reason in scenario_reasons(scenario))
    return list(rows.values())


@dataclass
class AuditRow:
    """One feature of the audit, as the report shows it.

    Attributes
    ----------
    feature, title, gen2_setting, gen3_replacement : `str`
    n_configs : `int`
        Config overrides and pipelines using the feature.
    files : `list` [`str`]
        Those files, each relative to the current directory when inside it
        (so that paths written absolute and relative read alike).
    outcome : `Outcome` or `None`
        gen2 against gen3 for the feature, when known.
    agreement : `str`
        The same in words, e.g. ``"identical"`` or ``"not run"``.
    source : `str`
        Where ``agreement`` comes from when not from this run (``"audit"``), else ``""``.
    """

    feature: str
    title: str
    gen2_setting: str
    gen3_replacement: str
    n_configs: int
    files: list
    outcome: Outcome | None
    agreement: str
    source: str


def audit_rows(audit_summary, features):
    """The audit summary as `AuditRow` objects, judged by this run where it can be.

    Parameters
    ----------
    audit_summary : `list` [`dict`]
        Per feature: ``feature``, ``title``, ``gen2_setting``, ``n_configs``,
        ``files``, ``gen3_replacement``, ``gen2_gen3_agree`` (see
        `validation.audit.summarize`).
    features : `list` [`FeatureRow`]
        This run's features.

    Returns
    -------
    rows : `list` [`AuditRow`]
    """
    in_run = {row.feature: row.outcome for row in features if row.outcome is not None}
    rows = []
    for entry in audit_summary:
        feature = str(entry.get("feature", "?"))
        files = [str(path) for path in entry.get("files") or []]
        if feature in in_run:
            outcome, agreement, source = in_run[feature], in_run[feature].label, ""
        else:
            outcome, agreement, source = _recorded_agreement(entry.get("gen2_gen3_agree"))
        rows.append(AuditRow(
            feature=feature, title=entry.get("title") or "", gen2_setting=entry.get("gen2_setting") or "",
            gen3_replacement=entry.get("gen3_replacement") or "none known",
            n_configs=entry.get("n_configs", len(files)),
            files=sorted(_display_path(path) for path in files), outcome=outcome, agreement=agreement,
            source=source))
    return rows


def _display_path(path):
    """A path relative to the current directory when it lies inside it, else as given."""
    relative = os.path.relpath(Path(path).resolve(), Path.cwd())
    return path if relative.startswith("..") else Path(relative).as_posix()


def _recorded_agreement(value):
    """Outcome (if any), words and source of an agreement the audit recorded without a reason."""
    if value is None:
        return None, "not run", ""
    text = str(value)
    if text not in {verdict.value for verdict in Verdict}:
        return None, text, ""
    outcome = outcome_of(Verdict(text), None)
    if outcome is Outcome.UNEXPLAINED_DIFFERENCE:
        # The audit keeps the verdict, not its reason: say only what is known.
        return outcome, "different", "audit; reason not recorded"
    return outcome, outcome.label, "audit"
