"""A baseline to commit: a run's results without the bulky parts regression checks do not read.

Regression mode compares verdicts, reasons and the backends' science metrics
(`validation.report.find_regressions`); per-column comparison metrics,
details and artifact paths stay in the database and the full
``results.json``.
"""
from __future__ import annotations

import json

from diffim.io.atomic import write_text

from ..report import run_report_to_json

__all__ = ["baseline_document", "write_baseline"]

_DROPPED = ("details", "metrics", "artifacts")


def baseline_document(report):
    """The JSON document of ``report`` with comparison details, metrics and artifacts dropped."""
    document = run_report_to_json(report)
    for scenario in document["scenarios"]:
        for result in scenario["data_ids"]:
            for comparison in result["comparisons"]:
                for key in _DROPPED:
                    comparison[key] = {}
    return document


def write_baseline(report, path):
    """Write the baseline of ``report`` to ``path`` atomically; returns the path."""
    return write_text(path, json.dumps(baseline_document(report), indent=1, sort_keys=True) + "\n")
