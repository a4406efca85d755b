"""Write every report of a run into one directory."""
from __future__ import annotations

from pathlib import Path

from diffim.io.atomic import write_text

from .html import render_html
from .json_io import write_results_json
from .junit import render_junit
from .markdown import render_markdown
from .regression import compare_to_baseline

__all__ = ["REPORT_FILES", "write_reports"]

REPORT_FILES = {"html": "report.html", "markdown": "summary.md", "junit": "junit.xml",
                "json": "results.json"}
"""Report kind -> file name inside the output directory."""


def write_reports(report, out_dir, trend=None, audit_summary=None, baseline=None):
    """Write the HTML, Markdown, JUnit XML and JSON reports of a run.

    Each file is written under a temporary name and renamed, so a reader never
    sees a half-written report.

    Parameters
    ----------
    report : `validation.model.RunReport`
    out_dir : `str` or `pathlib.Path`
        Created if needed; files of the same names are replaced.
    trend : `list` [`validation.model.TrendPoint`], optional
        Stored runs of the campaign, for the trend plot.
    audit_summary : `list` [`dict`], optional
        The feature audit joined with equivalence results, one dict per feature.
    baseline : `validation.model.RunReport`, optional
        When given, the HTML and Markdown reports list regressions and
        improvements against it.

    Returns
    -------
    paths : `dict` [`str`, `pathlib.Path`]
        Report kind (``"html"``, ``"markdown"``, ``"junit"``, ``"json"``) -> file.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {kind: out_dir / name for kind, name in REPORT_FILES.items()}
    baseline_comparison = compare_to_baseline(report, baseline) if baseline is not None else None
    write_text(paths["html"], render_html(report, trend, audit_summary, baseline_comparison, out_dir))
    write_text(paths["markdown"], render_markdown(report, baseline_comparison, REPORT_FILES["html"]))
    write_text(paths["junit"], render_junit(report))
    write_results_json(report, paths["json"], audit_summary)
    return paths
