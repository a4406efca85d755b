"""A short Markdown summary of a run, for a CI comment: status, verdict table, regressions."""
from __future__ import annotations

from .summary import scenario_rows, status_line

__all__ = ["render_markdown"]

_MAX_CHANGES_LISTED = 20


def render_markdown(report, baseline_comparison=None):
    """Render the verdict table of a run (and its regressions) as Markdown.

    Parameters
    ----------
    report : `validation.model.RunReport`
    baseline_comparison : `validation.report.regression.BaselineComparison`, optional

    Returns
    -------
    markdown : `str`
    """
    run = report.run
    run_id = f"run {run.run_id}" if run.run_id is not None else "unstored run"
    lines = [f"## gen2 → gen3 diffim validation: {_cell(run.campaign)}", "",
             f"**{status_line(report)}**", "",
             f"{run_id} · code `{_cell(run.code_version)}` · {_cell(run.machine)} · started {run.started}",
             "", "| scenario | feature(s) | template | data IDs | verdict | reason |",
             "|---|---|---|---:|---|---|"]
    for row in scenario_rows(report):
        features = ", ".join(f"`{_cell(feature)}`" for feature in row.features)
        verdict = row.outcome.label
        if row.outcome.is_failure:
            verdict = f"**{verdict}**"
        lines.append(f"| {_cell(row.name)} | {features} | {_cell(row.template_mode) or '–'} | "
                     f"{row.n_data_ids} | {verdict} | {_cell('; '.join(row.reasons))} |")
    if baseline_comparison is not None:
        lines += ["", *_changes_lines(baseline_comparison)]
    return "\n".join(lines) + "\n"


def _changes_lines(comparison):
    lines = [f"**{len(comparison.regressions)} regression(s)**, {len(comparison.improvements)} "
             f"improvement(s) against baseline {_cell(comparison.baseline)}"]
    if comparison.regressions:
        lines.append("")
        lines += [f"- {_cell(str(change))}" for change in comparison.regressions[:_MAX_CHANGES_LISTED]]
        hidden = len(comparison.regressions) - _MAX_CHANGES_LISTED
        if hidden > 0:
            lines.append(f"- … and {hidden} more (see the HTML report)")
    return lines


def _cell(text):
    """Text safe inside a Markdown table cell: one line, no table pipes, no HTML tags.

    CI comment renderers take ``<...>`` as HTML, so a reason such as
    ``"ids packed with <visit, detector>"`` would vanish without escaping.
    """
    text = str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace("|", "\\|").replace("\n", " ")
