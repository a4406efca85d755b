"""The plots of one scenario: which to draw, in what order, with what caption.

Plots are ordered by how far their comparison is from its limits: worst
outcome first, then the largest value / limit (`Evidence.score`), so a 50 σ
image comes before a 1.5 σ one; the first plot of every comparison comes
before the second of any. A difference image is drawn per image
comparison, with its largest difference circled; a catalogue comparison
gets one plot per judged column that differs (a point per matched source,
the tolerance as a band), columns beyond their limits first. Every plot is
made: the report shows the first few and folds the rest. An artifact that
cannot be read becomes a note in the report rather than stopping it: the
report is most needed exactly when a run went wrong. The column plots of a
scenario are drawn on one figure, and so are its cut-outs, each plot shown
on it in place of the one before: making a figure's axes and ticks cost
most of a plot.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..errors import ValidationError
from .artifacts import (DIFF_OF_DIFF, MATCHED, read_cutouts, read_difference_image,
                        read_matched_differences, read_matched_positions)
from .evidence import comparison_evidence, scenario_tolerances
from .outcome import comparison_reason, data_id_label, outcome_of
from .plots import (DIFFERENCE, column_figure, cutout_figure, difference_image_figure, show_column,
                    show_cutouts, svg_markup)

__all__ = ["PLOTS_SHOWN", "Plot", "ScenarioFigures", "scenario_figures"]

PLOTS_SHOWN = 4
"""Plots of a scenario shown open; the others are folded under them."""
_PLOTTED_UNITS = ("sigma", "pixel", "arcsec")


@dataclass
class Plot:
    """One picture (``svg`` markup) or, when there is nothing to draw, only a caption."""

    title: str
    caption: str
    svg: str | None = None


@dataclass
class ScenarioFigures:
    """The plots of a scenario, worst first, and the artifacts that could not be read."""

    plots: list
    problems: list

    @property
    def shown(self):
        """The plots shown open."""
        return self.plots[:PLOTS_SHOWN]

    @property
    def folded(self):
        """The plots folded under the first ones."""
        return self.plots[PLOTS_SHOWN:]


def scenario_figures(scenario):
    """Plot a scenario's artifacts, furthest from the limits first.

    Parameters
    ----------
    scenario : `validation.model.ScenarioResult`

    Returns
    -------
    figures : `ScenarioFigures`
    """
    tolerances = scenario_tolerances(scenario)
    ranked = []
    for result in scenario.data_ids:
        label = data_id_label(result.data_id)
        for comparison in result.comparisons:
            if not set(comparison.artifacts) & {DIFF_OF_DIFF, MATCHED}:
                continue
            rank = outcome_of(comparison.verdict, comparison_reason(scenario, comparison)).rank
            evidence = comparison_evidence(comparison, tolerances)
            ranked.append((-rank, -evidence.score, label, comparison, evidence))
    ranked.sort(key=lambda item: item[:2])
    figures = ScenarioFigures(plots=[], problems=[])
    ordered = []
    columns, cutouts = _Redrawn(column_figure, show_column), _Redrawn(cutout_figure, show_cutouts)
    for order, (_, _, label, comparison, evidence) in enumerate(ranked):
        try:
            plots = _plots(comparison, evidence, label, columns, cutouts)
        except ValidationError as error:
            figures.problems.append(str(error))
            continue
        # The best plot of each comparison before the second of any: the first plots shown
        # cover the worst comparisons, not one comparison's many columns.
        ordered.extend(((index, order), plot) for index, plot in enumerate(plots))
    figures.plots = [plot for _, plot in sorted(ordered, key=lambda item: item[0])]
    return figures


class _Redrawn:
    """Plots of one kind drawn on one figure, made by ``make`` once, then shown anew by ``show``.

    The figure's axes and their ticks are made once (`plots.show_column`,
    `plots.show_cutouts`), not once per plot.
    """

    def __init__(self, make, show):
        self._make, self._show, self._figure = make, show, None

    def svg(self, *args, **kwargs):
        """The markup of ``make(*args, **kwargs)``."""
        if self._figure is None:
            self._figure = self._make(*args, **kwargs)
        else:
            self._show(self._figure, *args, **kwargs)
        return svg_markup(self._figure)


def _plots(comparison, evidence, label, columns, cutouts):
    """The plots of one comparison; the data ID goes in the title, where long ones can wrap."""
    title = f"{label} {comparison.product}"
    if DIFF_OF_DIFF in comparison.artifacts:
        return _image_plots(comparison, title, cutouts)
    return _column_plots(comparison, evidence, title, columns)


def _image_plots(comparison, title, cutout_drawing):
    """The whole difference image, then gen2, gen3 and their difference around its largest value."""
    path = comparison.artifacts[DIFF_OF_DIFF]
    pixels, xy0 = read_difference_image(path)
    image = comparison.details.get("image", {})
    where = image.get("max_sigma_at") or image.get("max_abs_at")
    figure = difference_image_figure(pixels, comparison.product, xy0=xy0, mark=where)
    caption = (f"image plane, {DIFFERENCE} (grey: NaN; colours saturate at the 99.5th percentile "
               "of |Δ|)")
    if where:
        caption += f"; circled: the largest difference in σ, at x = {where[0]}, y = {where[1]}"
    plots = [Plot(title, caption, svg_markup(figure))]
    cutouts = read_cutouts(path)
    if cutouts is not None and where:
        plots.append(Plot(title, f"gen2, gen3 and {DIFFERENCE} around the largest difference in σ "
                                 f"(x = {where[0]}, y = {where[1]}, circled)",
                          cutout_drawing.svg(*cutouts, mark=where)))
    return plots


def _column_plots(comparison, evidence, title, column_drawing):
    path = comparison.artifacts[MATCHED]
    table = read_matched_differences(path)
    positions, position_label = read_matched_positions(path)
    columns = comparison.details.get("columns", {})
    plots = []
    for row in evidence.columns:
        column = columns.get(row.name, {})
        if column.get("unit") not in _PLOTTED_UNITS or column.get("limit") is None \
                or row.name not in table:
            continue
        svg = column_drawing.svg(table[row.name].to_numpy(), positions, row.name, column["unit"],
                                 column["limit"], position_label)
        plots.append(Plot(title, f"{row.name}: a point per matched source, the band is the "
                                 f"tolerance ±{row.limit} {row.unit}", svg))
    if not plots:
        judged = "no judged column differs" if evidence.columns else "no column differs"
        plots.append(Plot(title, f"matched catalogue: {judged} over {len(table):,} matched "
                                 "sources (see the column table)"))
    return plots

