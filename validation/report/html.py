"""The HTML report: one self-contained file (inline CSS, plots as data URIs).

This module turns the records into plain rows for the template
``validation/templates/report.html.j2``; the template only lays them out.
Every piece of text is escaped by jinja2's autoescaping.
"""
from __future__ import annotations

import datetime
import json

import jinja2

from ..model import Verdict
from .figures import scenario_figures
from .outcome import (Outcome, checks, comparison_reason, data_id_label, data_id_outcome,
                      outcome_of)
from .plots import png_data_uri, trend_figure
from .regression import KEY_METRIC_TOLERANCES
from .style import OUTCOME_COLOURS
from .summary import feature_outcome_matrix, outcome_counts, scenario_rows, status_line

__all__ = ["render_html"]

TEMPLATE = "report.html.j2"
_MAX_METRICS_SHOWN = 12
_MAX_FILES_SHOWN = 3
_MAX_FAILURES_LISTED = 15


def render_html(report, trend=None, audit_summary=None, baseline_comparison=None):
    """Render a run report as one HTML page.

    Parameters
    ----------
    report : `validation.model.RunReport`
    trend : `list` [`validation.model.TrendPoint`], optional
        Stored runs of the campaign, for the trend plot.
    audit_summary : `list` [`dict`], optional
        Per feature: ``feature``, ``n_configs``, ``files``, ``gen3_replacement``,
        ``agreement``.
    baseline_comparison : `validation.report.regression.BaselineComparison`, optional

    Returns
    -------
    html : `str`
    """
    environment = jinja2.Environment(loader=jinja2.PackageLoader("validation", "templates"),
                                     autoescape=True, trim_blocks=True, lstrip_blocks=True,
                                     undefined=jinja2.StrictUndefined)
    rows = scenario_rows(report)
    anchors = {id(scenario): row.anchor for scenario, row in zip(report.scenarios, rows)}
    failing = [check for check in checks(report) if check.outcome.is_failure]
    return environment.get_template(TEMPLATE).render(
        run=report.run,
        status=status_line(report),
        failing=[{"anchor": anchors[id(check.scenario)], "label": data_id_label(check.result.data_id),
                  "check": check}
                 for check in failing[:_MAX_FAILURES_LISTED]],
        n_failing_hidden=max(0, len(failing) - _MAX_FAILURES_LISTED),
        worst_verdict=report.verdict.value.replace("_", " "),
        counts=[(outcome, count) for outcome, count in outcome_counts(report).items() if count],
        outcomes=list(Outcome),
        colours={outcome.value: colours for outcome, colours in OUTCOME_COLOURS.items()},
        rows=rows,
        matrix=feature_outcome_matrix(report),
        sections=[_scenario_section(scenario, row) for scenario, row in zip(report.scenarios, rows)],
        audit_rows=[_audit_row(entry) for entry in audit_summary or []],
        audits=report.audits,
        audit_problems=[audit for audit in report.audits if audit.problems],
        verdicts=[verdict.value for verdict in Verdict],
        trend=sorted(trend or [], key=lambda point: (point.started, point.run_id)),
        trend_uri=png_data_uri(trend_figure(trend)) if trend else None,
        baseline=baseline_comparison,
        generated=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    )


def _scenario_section(scenario, row):
    figures = scenario_figures(scenario)
    return {
        "row": row,
        "scenario": scenario,
        "definition": json.dumps(scenario.definition, indent=1, sort_keys=True)
        if scenario.definition else "",
        "data_ids": [_data_id_block(scenario, result) for result in scenario.data_ids],
        "backend_metrics": _backend_metric_table(scenario),
        "figures": figures,
    }


def _data_id_block(scenario, result):
    comparisons = []
    for comparison in result.comparisons:
        reason = comparison_reason(scenario, comparison)
        metrics = [f"{name}={format_value(value)}" for name, value in comparison.metrics.items()]
        hidden = len(metrics) - _MAX_METRICS_SHOWN
        comparisons.append({
            "product": comparison.product,
            "kind": comparison.kind,
            "outcome": outcome_of(comparison.verdict, reason),
            "summary": comparison.summary,
            "metrics": " · ".join(metrics[:_MAX_METRICS_SHOWN])
            + (f" · +{hidden} more" if hidden > 0 else ""),
            "all_metrics": "\n".join(metrics),
            # The scenario's own expected reason is shown once, above its table.
            "reason": reason if comparison.verdict.rank and reason != scenario.expected_reason
            else None,
        })
    return {
        "label": data_id_label(result.data_id),
        "outcome": data_id_outcome(scenario, result),
        "error": result.error,
        "comparisons": comparisons,
    }


def _backend_metric_table(scenario):
    """Per data ID, each backend metric: one value when the backends agree, all of them when not.

    Differing key metrics (those regression mode watches) are flagged; other
    metrics, such as run times, differ as a matter of course.
    """
    backends = sorted({backend for result in scenario.data_ids for backend in result.backend_metrics})
    names = list(dict.fromkeys(name for result in scenario.data_ids
                               for backend in backends
                               for name in result.backend_metrics.get(backend, {})))
    rows = []
    for result in scenario.data_ids:
        cells = []
        for name in names:
            values = [result.backend_metrics.get(backend, {}).get(name) for backend in backends]
            if all(value == values[0] for value in values):
                cells.append({"text": format_value(values[0]), "drift": False})
                continue
            text = " / ".join(format_value(value) for value in values)
            if len(values) == 2:
                text += f" ({_relative_change(*values)})"
            cells.append({"text": text, "drift": name in KEY_METRIC_TOLERANCES})
        rows.append({"label": data_id_label(result.data_id), "cells": cells})
    return {"backends": backends, "names": names, "rows": rows if names else []}


def _relative_change(first, second):
    numbers = (int, float)
    if not (isinstance(first, numbers) and isinstance(second, numbers)):
        return "differs"
    if first == 0:
        return f"{second - first:+.3g} abs."
    return f"{(second - first) / abs(first):+.2g}"


def format_value(value):
    """A metric for a table cell: integers exactly, floats to 7 significant digits."""
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.7g}"
    return str(value)


def _audit_row(entry):
    files = list(entry.get("files") or [])
    shown = ", ".join(str(path) for path in files[:_MAX_FILES_SHOWN])
    if len(files) > _MAX_FILES_SHOWN:
        shown += f" and {len(files) - _MAX_FILES_SHOWN} more"
    return {"feature": entry.get("feature", "?"), "n_configs": entry.get("n_configs", len(files)),
            "files": shown, "all_files": "\n".join(str(path) for path in files),
            "gen3_replacement": entry.get("gen3_replacement") or "none known",
            **_agreement(entry.get("agreement"))}


def _agreement(agreement):
    """Words and an outcome class for an audit entry's equivalence result."""
    if agreement is True:
        return {"agreement": "yes", "agreement_class": Outcome.IDENTICAL.value}
    if agreement is False:
        return {"agreement": "no", "agreement_class": Outcome.UNEXPLAINED_DIFFERENCE.value}
    if agreement is None:
        return {"agreement": "not tested", "agreement_class": ""}
    text = str(agreement)
    if text in {verdict.value for verdict in Verdict}:
        text = outcome_of(Verdict(text), None).value
    known = {outcome.value for outcome in Outcome}
    return {"agreement": str(agreement).replace("_", " "),
            "agreement_class": text if text in known else ""}
