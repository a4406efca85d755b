"""The HTML report: one self-contained file (inline CSS, plots as inline SVG).

This module turns the records into plain rows for the template
``validation/templates/report.html.j2``; the template only lays them out.
Every piece of text is escaped by jinja2's autoescaping; only the SVG
markup that matplotlib wrote is inserted as is.
"""
from __future__ import annotations

import datetime
import json
import os
import re
from pathlib import Path

import jinja2
from markupsafe import Markup, escape

from .artifacts import DIFF_OF_DIFF, MATCHED
from .evidence import comparison_evidence, plain_summary, scenario_tolerances
from .features import audit_rows, feature_rows
from .figures import scenario_figures
from .outcome import Outcome, checks, comparison_reason, data_id_label, data_id_outcome, outcome_of
from .plots import svg_markup, trend_figure
from .regression import KEY_METRIC_TOLERANCES
from .style import MUTED, OUTCOME_COLOURS
from .summary import answer_line, glance_counts, missing_scenarios, scenario_rows, status_line

__all__ = ["MIN_TREND_RUNS", "render_html"]

TEMPLATE = "report.html.j2"
MIN_TREND_RUNS = 2
"""Stored runs needed before the report draws a trend: one run is no trend."""
_MAX_FAILURES_LISTED = 15
# Backend metrics measured once per scenario (and repeated on each of its data IDs).
_PER_SCENARIO_METRICS = ("seconds",)
_BREAK_AFTER = re.compile(r"(?<=[_/])")
_ARTIFACT_WORDS = {DIFF_OF_DIFF: "difference of the difference images (FITS)",
                   MATCHED: "matched sources with their differences (Parquet)"}


def render_html(report, trend=None, audit_summary=None, baseline_comparison=None, out_dir=None):
    """Render a run report as one HTML page.

    Parameters
    ----------
    report : `validation.model.RunReport`
    trend : `list` [`validation.model.TrendPoint`], optional
        Stored runs of the campaign, for the trend plot.
    audit_summary : `list` [`dict`], optional
        Per feature: ``feature``, ``title``, ``gen2_setting``, ``n_configs``,
        ``files``, ``gen3_replacement``, ``gen2_gen3_agree`` (see
        `validation.audit.summarize`).
    baseline_comparison : `validation.report.regression.BaselineComparison`, optional
    out_dir : `str` or `pathlib.Path`, optional
        Where the page is written: links to the comparison files are made
        relative to it (default: the current directory).

    Returns
    -------
    html : `str`
    """
    environment = jinja2.Environment(loader=jinja2.PackageLoader("validation", "templates"),
                                     autoescape=True, trim_blocks=True, lstrip_blocks=True,
                                     undefined=jinja2.StrictUndefined)
    environment.filters["breakable"] = breakable
    rows = scenario_rows(report)
    anchors = {id(scenario): row.anchor for scenario, row in zip(report.scenarios, rows)}
    failing = [check for check in checks(report) if check.outcome.is_failure]
    features = feature_rows(report, audit_summary)
    audited = audit_rows(audit_summary or [], features)
    return environment.get_template(TEMPLATE).render(
        run=report.run,
        missing=missing_scenarios(report),
        status=status_line(report),
        answer=answer_line(report),
        glance=glance_counts(report),
        failing=[{"anchor": anchors[id(check.scenario)], "label": data_id_label(check.result.data_id),
                  "check": check, "summary": _check_summary(check)}
                 for check in failing[:_MAX_FAILURES_LISTED]],
        n_failing_hidden=max(0, len(failing) - _MAX_FAILURES_LISTED),
        outcomes=list(Outcome),
        colours={outcome.value: colours for outcome, colours in OUTCOME_COLOURS.items()},
        muted=MUTED,
        rows=rows,
        features=features,
        not_exercised=[row for row in audited if row.feature not in {f.feature for f in features}],
        sections=[_scenario_section(scenario, row, Path(out_dir or "."))
                  for scenario, row in zip(report.scenarios, rows)],
        audit_rows=audited,
        audits=report.audits,
        audit_problems=[audit for audit in report.audits if audit.problems],
        audit_eras=[audit for audit in report.audits if audit.findings],
        trend=sorted(trend or [], key=lambda point: (point.started, point.run_id)),
        trend_svg=Markup(svg_markup(trend_figure(trend))) if len(trend or []) >= MIN_TREND_RUNS else None,
        min_trend_runs=MIN_TREND_RUNS,
        baseline=baseline_comparison,
        generated=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    )


def _scenario_section(scenario, row, out_dir):
    figures = scenario_figures(scenario)
    for plot in figures.plots:
        plot.svg = Markup(plot.svg) if plot.svg else None
    return {
        "row": row,
        "scenario": scenario,
        "definition": json.dumps(scenario.definition, indent=1, sort_keys=True)
        if scenario.definition else "",
        "data_ids": [_data_id_block(scenario, result, out_dir) for result in scenario.data_ids],
        "backend_metrics": _backend_metric_table(scenario),
        "times": _scenario_times(scenario),
        "figures": figures,
    }


def _data_id_block(scenario, result, out_dir):
    tolerances = scenario_tolerances(scenario)
    comparisons = []
    for comparison in result.comparisons:
        reason = comparison_reason(scenario, comparison)
        # Zeros are most metrics of a close comparison: listing them would hide the others.
        non_zero = [f"{name} = {format_value(value)}" for name, value in comparison.metrics.items()
                    if value != 0]
        comparisons.append({
            "product": comparison.product,
            "kind": comparison.kind,
            "outcome": outcome_of(comparison.verdict, reason),
            "summary": plain_summary(comparison),
            "evidence": comparison_evidence(comparison, tolerances),
            "files": [(_ARTIFACT_WORDS.get(kind, kind), _link(path, out_dir), path)
                      for kind, path in sorted(comparison.artifacts.items())],
            "n_metrics": len(comparison.metrics),
            "metrics": "\n".join(non_zero),
            "n_zero_metrics": len(comparison.metrics) - len(non_zero),
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


def breakable(name):
    """A name (feature, column, path) that may wrap after each ``_`` or ``/``, and nowhere else."""
    return Markup("<wbr>").join(escape(part) for part in _BREAK_AFTER.split(str(name)))


def _check_summary(check):
    """A check's one line in plain words: its comparison's summary, or the backend's error."""
    return plain_summary(check.comparison) if check.comparison is not None else check.message


def _link(path, out_dir):
    """A link from the page in ``out_dir`` to a file; `None` when the file is not there."""
    path = Path(path)
    if not path.exists():
        return None
    return Path(os.path.relpath(path.resolve(), out_dir.resolve())).as_posix()


def _scenario_times(scenario):
    """Backend -> seconds the scenario took, from the metrics every data ID repeats."""
    times = {}
    for result in scenario.data_ids:
        for backend, metrics in result.backend_metrics.items():
            for name in _PER_SCENARIO_METRICS:
                if isinstance(metrics.get(name), (int, float)):
                    times.setdefault(backend, metrics[name])
    return {backend: f"{seconds:.1f} s" for backend, seconds in sorted(times.items())}


def _backend_metric_table(scenario):
    """Per data ID, each backend metric: one value when the backends agree, all of them when not.

    Differing key metrics (those regression mode watches) are flagged; other
    metrics, such as run times, differ as a matter of course.
    """
    backends = sorted({backend for result in scenario.data_ids for backend in result.backend_metrics})
    names = list(dict.fromkeys(name for result in scenario.data_ids
                               for backend in backends
                               for name in result.backend_metrics.get(backend, {})
                               if name not in _PER_SCENARIO_METRICS))
    rows = []
    for result in scenario.data_ids:
        cells = []
        for name in names:
            values = [result.backend_metrics.get(backend, {}).get(name) for backend in backends]
            if all(value == values[0] for value in values):
                cells.append({"text": format_value(values[0]), "change": "", "drift": False})
                continue
            cells.append({"text": " → ".join(format_value(value) for value in values),
                          "change": _relative_change(*values) if len(values) == 2 else "",
                          "drift": name in KEY_METRIC_TOLERANCES})
        rows.append({"label": data_id_label(result.data_id), "cells": cells})
    return {"backends": backends, "names": names, "rows": rows if names else []}


def _relative_change(first, second):
    """``"+12%"``, ``"-0.0037%"``; ``"+0.5 abs."`` from 0; ``"differs"`` for non-numbers."""
    numbers = (int, float)
    if not (isinstance(first, numbers) and isinstance(second, numbers)):
        return "differs"
    if first == 0:
        return f"{second - first:+.3g} abs."
    percent = 100 * (second - first) / abs(first)
    return f"{percent:+.0f}%" if abs(percent) >= 10 else f"{percent:+.2g}%"


def format_value(value):
    """A metric for a table cell: integers exactly, floats to 7 significant digits."""
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.7g}"
    return str(value)
