"""Per-feature summary of an audit, joined with the gen2/gen3 equivalence verdicts."""
from __future__ import annotations

from ..model import Verdict, worst_verdict
from .features import FEATURES, check_feature_ids

__all__ = ["NOT_RUN", "feature_verdicts", "summarize", "summarize_run"]

NOT_RUN = "not run"
"""The agreement of a feature no equivalence run has covered."""


def summarize(records, equivalence=None):
    """One row per catalogued feature: who uses it, what replaces it, whether the backends agree.

    Parameters
    ----------
    records : iterable of `validation.model.AuditRecord`
        The audit's records (`validation.audit.audit_paths`).
    equivalence : `dict` [`str`, `str` or `validation.model.Verdict`], optional
        Feature id -> verdict of the equivalence runs of its scenarios
        (e.g. ``"identical"``); features without one are `NOT_RUN`.

    Returns
    -------
    rows : `list` [`dict`]
        In catalogue order, each with ``feature``, ``title``,
        ``gen2_setting``, ``n_configs`` (files using it), ``files``,
        ``gen3_replacement`` and ``gen2_gen3_agree``.

    Raises
    ------
    ValidationError
        ``equivalence`` names a feature that is not catalogued.
    """
    equivalence = dict(equivalence or {})
    check_feature_ids(equivalence, "equivalence verdicts")
    records = list(records)
    rows = []
    for feature in FEATURES.values():
        files = [record.path for record in records if feature.id in record.features]
        verdict = equivalence.get(feature.id, NOT_RUN)
        agreement = verdict.value if isinstance(verdict, Verdict) else str(verdict)
        rows.append({"feature": feature.id, "title": feature.title,
                     "gen2_setting": feature.gen2_setting, "n_configs": len(files),
                     "files": files, "gen3_replacement": feature.gen3_replacement,
                     "gen2_gen3_agree": agreement})
    return rows


def feature_verdicts(report):
    """Feature id -> the worst verdict of a run's scenarios that exercise it.

    Parameters
    ----------
    report : `validation.model.RunReport`

    Returns
    -------
    verdicts : `dict` [`str`, `validation.model.Verdict`]
    """
    by_feature = {}
    for scenario in report.scenarios:
        for feature in scenario.features:
            by_feature.setdefault(feature, []).append(scenario.verdict)
    return {feature: worst_verdict(verdicts) for feature, verdicts in by_feature.items()}


def summarize_run(report):
    """`summarize` of a run's own audit records, joined with its equivalence verdicts."""
    return summarize(report.audits, equivalence=feature_verdicts(report))
