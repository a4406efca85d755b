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
from .plots import (DIFFERENCE, catalog_histograms_figure, difference_image_figure,
                    differing_columns, png_data_uri)

__all__ = ["MAX_COLUMNS_PER_FIGURE", "MAX_FIGURES_PER_SCENARIO", "Plot", "ScenarioFigures",
           "scenario_figures"]

MAX_FIGURES_PER_SCENARIO = 4
MAX_COLUMNS_PER_FIGURE = 6
_MAX_NAMED_COLUMNS = 5


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
            artifacts.extend((-rank, label, comparison, kind)
                             for kind in (DIFF_OF_DIFF, MATCHED) if kind in comparison.artifacts)
    artifacts.sort(key=lambda artifact: artifact[0])
    figures = ScenarioFigures(plots=[], problems=[])
    for _, label, comparison, kind in artifacts:
        if len(figures.plots) == max_figures:
            figures.n_omitted += 1
            continue
        try:
            figures.plots.append(_plot(kind, comparison, label))
        except ValidationError as error:
            figures.problems.append(str(error))
    return figures


def _plot(kind, comparison, label):
    """The plot of one artifact; the data ID goes in the caption, where long ones can wrap."""
    product, path = comparison.product, comparison.artifacts[kind]
    title = f"{label} {product}"
    if kind == DIFF_OF_DIFF:
        figure = difference_image_figure(read_difference_image(path), product)
        return Plot(title, f"image plane of the two difference images, {DIFFERENCE} "
                           "(grey: NaN; colours saturate at the 99.5th percentile of |Δ|)",
                    png_data_uri(figure))
    table = read_matched_differences(path)
    differing, zero = differing_columns(table)
    if not differing:
        return Plot(title, f"matched catalogue: all {len(zero)} numeric columns identical "
                           f"over {len(table):,} matched rows")
    shown = differing[:MAX_COLUMNS_PER_FIGURE]
    caption = (f"{len(table):,} matched rows, {len(differing)} of {len(table.columns)} columns differ "
               "(fluxes in σ of their errors, positions in pixel or arcsec, others in their own units)")
    if len(differing) > len(shown):
        caption += f", {len(shown)} largest shown"
    if zero:
        named = ", ".join(zero[:_MAX_NAMED_COLUMNS])
        more = f" and {len(zero) - _MAX_NAMED_COLUMNS} more" if len(zero) > _MAX_NAMED_COLUMNS else ""
        caption += f"; identical: {named}{more}"
    figure = catalog_histograms_figure(table, shown, product, _column_units(comparison.details))
    return Plot(title, caption, png_data_uri(figure))


def _column_units(details):
    """Column -> unit of its differences, from a catalogue comparison's ``details["columns"]``."""
    columns = details.get("columns")
    if not isinstance(columns, dict):
        return {}
    return {name: summary.get("unit") for name, summary in columns.items() if isinstance(summary, dict)}
