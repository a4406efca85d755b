"""The plots of one scenario: which artifacts to draw, in what order, with what caption.

The worst comparisons are drawn first and at most ``max_figures`` figures are
made per scenario, so a large campaign still gives a report of a few
megabytes; what is left out is counted. An artifact that cannot be read
becomes a note in the report rather than stopping it: the report is most
needed exactly when a run went wrong.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..errors import ValidationError
from .artifacts import DIFF_OF_DIFF, MATCHED, read_difference_image, read_matched_differences
from .outcome import comparison_reason, data_id_label, outcome_of
from .plots import (catalog_histograms_figure, difference_image_figure, differing_columns,
                    png_data_uri)

__all__ = ["MAX_COLUMNS_PER_FIGURE", "MAX_FIGURES_PER_SCENARIO", "Plot", "ScenarioFigures",
           "scenario_figures"]

MAX_FIGURES_PER_SCENARIO = 4
MAX_COLUMNS_PER_FIGURE = 6
_MAX_NAMED_COLUMNS = 12


@dataclass
class Plot:
    """One picture (``uri``) or, when there is nothing to draw, only a caption."""

    title: str
    caption: str
    uri: str | None = None


@dataclass
class ScenarioFigures:
    """The plots of a scenario, the unreadable artifacts, and how many plots were left out."""

    plots: list
    problems: list
    n_omitted: int = 0


def scenario_figures(scenario, max_figures=MAX_FIGURES_PER_SCENARIO):
    """Plot a scenario's artifacts, worst comparisons first.

    Parameters
    ----------
    scenario : `validation.model.ScenarioResult`
    max_figures : `int`, optional

    Returns
    -------
    figures : `ScenarioFigures`
    """
    artifacts = []
    for result in scenario.data_ids:
        for comparison in result.comparisons:
            rank = outcome_of(comparison.verdict, comparison_reason(scenario, comparison)).rank
            label = data_id_label(result.data_id)
            artifacts.extend((-rank, label, comparison.product, kind, comparison.artifacts[kind])
                             for kind in (DIFF_OF_DIFF, MATCHED) if kind in comparison.artifacts)
    artifacts.sort(key=lambda artifact: artifact[0])
    figures = ScenarioFigures(plots=[], problems=[])
    for _, label, product, kind, path in artifacts:
        if len(figures.plots) == max_figures:
            figures.n_omitted += 1
            continue
        try:
            figures.plots.append(_plot(kind, path, label, product))
        except ValidationError as error:
            figures.problems.append(str(error))
    return figures


def _plot(kind, path, label, product):
    """The plot of one artifact; the data ID goes in the caption, where long ones can wrap."""
    title = f"{label} {product}"
    if kind == DIFF_OF_DIFF:
        figure = difference_image_figure(read_difference_image(path), product)
        return Plot(title, "image plane of the difference of the two difference images (a − b)", png_data_uri(figure))
    table = read_matched_differences(path)
    differing, zero = differing_columns(table)
    if not differing:
        return Plot(title, f"matched catalogue: all {len(zero)} numeric columns identical "
                           f"over {len(table):,} matched rows")
    shown = differing[:MAX_COLUMNS_PER_FIGURE]
    caption = (f"differences of matched rows ({len(table):,} rows): {len(differing)} of "
               f"{len(table.columns)} columns differ")
    if len(differing) > len(shown):
        caption += f", {len(shown)} largest shown"
    if zero:
        named = ", ".join(zero[:_MAX_NAMED_COLUMNS])
        more = f" and {len(zero) - _MAX_NAMED_COLUMNS} more" if len(zero) > _MAX_NAMED_COLUMNS else ""
        caption += f"; identical: {named}{more}"
    figure = catalog_histograms_figure(table, shown, product)
    return Plot(title, caption, png_data_uri(figure))
