"""``summary.md``: the run as a CI job summary (GitHub's, GitLab's): what needs a look first.

The outcome counts come first, then only the scenarios that are not
identical, each check that differs with the rule that decided it, then the
regressions; the identical scenarios are folded in a ``<details>`` block and
the full HTML report is one link away.
"""
from __future__ import annotations

from .evidence import comparison_evidence, scenario_tolerances
from .outcome import Outcome, data_id_label, scenario_checks
from .summary import glance_counts, scenario_rows, status_line

__all__ = ["render_markdown"]

_MAX_CHANGES_LISTED = 20
_MAX_CHECKS_LISTED = 40


def render_markdown(report, baseline_comparison=None, html_link="report.html"):
    """Render the summary of a run (and its regressions) as Markdown.

    Parameters
    ----------
    report : `validation.model.RunReport`
    baseline_comparison : `validation.report.regression.BaselineComparison`, optional
    html_link : `str`, optional
        Where the HTML report is, relative to this file or as a URL.

    Returns
    -------
    markdown : `str`
    """
    run = report.run
    run_id = f"run {run.run_id}" if run.run_id is not None else "unstored run"
    lines = [f"## gen2 → gen3 diffim validation: {_cell(run.campaign)}", "",
             f"**{status_line(report)}**", "", *_count_table(report), "",
             f"Full report with plots: [report.html]({html_link}) · {run_id} · code "
             f"`{_cell(run.code_version)}` · {_cell(run.machine)} · started {run.started}", ""]
    rows = scenario_rows(report)
    differing = [(scenario, row) for scenario, row in zip(report.scenarios, rows)
                 if row.outcome is not Outcome.IDENTICAL]
    if differing:
        lines += [f"### {len(differing)} scenario(s) not identical", "",
                  *_scenario_table([row for _, row in differing]), "",
                  *_check_lines([scenario for scenario, _ in differing])]
    else:
        lines += ["Every scenario is identical between gen2 and gen3.", ""]
    if baseline_comparison is not None:
        lines += [*_changes_lines(baseline_comparison), ""]
    identical = [row for row in rows if row.outcome is Outcome.IDENTICAL]
    if identical:
        lines += ["<details>", f"<summary>{len(identical)} identical scenario(s)</summary>", "",
                  *_scenario_table(identical), "", "</details>"]
    return "\n".join(lines).rstrip("\n") + "\n"


def _count_table(report):
    counts = glance_counts(report)
    units = list(counts)
    lines = ["| outcome | " + " | ".join(units) + " |", "|---|" + "---:|" * len(units)]
    for outcome in Outcome:
        cells = [str(counts[unit][outcome]) for unit in units]
        label = f"**{outcome.label}**" if outcome.is_failure and any(cell != "0" for cell in cells) \
            else outcome.label
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return lines


def _scenario_table(rows):
    lines = ["| scenario | feature(s) | template | data IDs | verdict | reason |",
             "|---|---|---|---:|---|---|"]
    for row in rows:
        features = ", ".join(f"`{_cell(feature)}`" for feature in row.features)
        verdict = f"**{row.outcome.label}**" if row.outcome.is_failure else row.outcome.label
        lines.append(f"| {_cell(row.name)} | {features} | {_cell(row.template_mode) or '–'} | "
                     f"{row.n_data_ids} | {verdict} | {_cell('; '.join(row.reasons))} |")
    return lines


def _check_lines(scenarios):
    """Each check that is not identical, worst first, with the rule that decided it."""
    found = []
    for scenario in scenarios:
        tolerances = scenario_tolerances(scenario)
        for check in scenario_checks(scenario):
            if check.outcome is Outcome.IDENTICAL:
                continue
            decided = comparison_evidence(check.comparison, tolerances).decided_by if check.comparison else ""
            found.append((-check.outcome.rank, check, decided or check.message))
    found.sort(key=lambda item: item[0])
    lines = [f"<details>\n<summary>{len(found)} check(s) that differ, with the rule that decided each"
             "</summary>", ""]
    for _, check, decided in found[:_MAX_CHECKS_LISTED]:
        lines.append(f"- **{_cell(check.scenario.name)}** / `{_cell(data_id_label(check.result.data_id))}` / "
                     f"`{_cell(check.product)}`: {check.outcome.label}: {_cell(decided)}")
    if len(found) > _MAX_CHECKS_LISTED:
        lines.append(f"- … and {len(found) - _MAX_CHECKS_LISTED} more in the HTML report")
    return [*lines, "", "</details>", ""]


def _changes_lines(comparison):
    lines = [f"**{len(comparison.regressions)} regression(s)**, {len(comparison.improvements)} "
             f"improvement(s) against baseline {_cell(comparison.baseline)}"]
    if comparison.from_dirty_tree:
        lines += ["", "> **Warning:** the baseline ran uncommitted code (`-dirty`): no commit reproduces it."]
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
