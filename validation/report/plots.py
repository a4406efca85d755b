"""The report's figures, as inline SVG: text stays text, lines stay sharp at any zoom.

Figures are built on `matplotlib.figure.Figure` directly, never through
``pyplot``, so no global figure state or display backend is involved. They
are written as SVG with their text as ``<text>`` (not glyph outlines), so a
browser renders the words in its own fonts and a test can read them; images
inside a figure are embedded at their own resolution. Every axis label names
its unit, and carries an id ending in ``-xlabel`` / ``-ylabel`` (unique in
the page) so that a reader of the SVG can find it.

Differences are always gen2 minus gen3 (the ``a - b`` of the comparison).

Each figure has fixed margins, in inches (`_fixed_margins`), sized for its
titles, labels and colour bars. Matplotlib's constrained layout fitted them
to the text at every save, at the cost of a second drawing of the figure:
two thirds of the report's drawing time.
"""
from __future__ import annotations

import io
import itertools
import math
import re

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from .outcome import Outcome
from .style import OUTCOME_COLOURS

__all__ = ["DIFFERENCE", "UNIT_WORDS", "column_figure", "cutout_figure", "difference_image_figure",
           "show_column", "show_cutouts", "svg_markup", "trend_figure"]

_MAX_IMAGE_SIDE = 160
# Few colour levels: the embedded image of a noisy difference compresses several times better.
_DIFFERENCE_COLOURMAP = matplotlib.colormaps["RdBu_r"].resampled(11).with_extremes(bad="#9e9e9e")
_IDENTICAL_FACE = OUTCOME_COLOURS[Outcome.IDENTICAL][0]
_INSIDE = OUTCOME_COLOURS[Outcome.WITHIN_TOLERANCE][1]
_OUTSIDE = OUTCOME_COLOURS[Outcome.UNEXPLAINED_DIFFERENCE][1]
_BAND = OUTCOME_COLOURS[Outcome.IDENTICAL][0]
_SMALL = 9
_MEDIUM = 10
_SVG_START = re.compile(r"^.*?(?=<svg)", re.S)
_figure_ids = itertools.count(1)
DIFFERENCE = "gen2 − gen3"
"""What every difference shown is."""
UNIT_WORDS = {"sigma": "σ of the flux errors", "pixel": "pixel", "arcsec": "arcsec"}
"""Unit of a judged catalogue column (`validation.compare.columns`) -> words on an axis."""


def svg_markup(figure):
    """A figure as an ``<svg>`` element to place inline in HTML.

    The axis labels get page-unique ids (``f<N>-xlabel-<i>``); the XML
    prologue and the date metadata are dropped, so equal figures give
    equal markup apart from those ids.
    """
    number = next(_figure_ids)
    for index, axes in enumerate(figure.axes):
        for axis, label in (("x", axes.xaxis.label), ("y", axes.yaxis.label)):
            if label.get_text():
                label.set_gid(f"f{number}-{axis}label-{index}")
    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none"}):
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    return _SVG_START.sub("", buffer.getvalue(), count=1)


def _fixed_margins(width, height, left, right, bottom, top, gap=0.0, columns=1):
    """A figure of ``width`` x ``height`` inches whose subplots leave these margins (inches).

    ``gap`` is the space between ``columns`` subplots side by side; a colour
    bar drawn with ``ax=`` takes its room from its subplot.
    """
    figure = Figure(figsize=(width, height))
    axes_width = (width - left - right - gap * (columns - 1)) / columns
    figure.subplots_adjust(left=left / width, right=1.0 - right / width, bottom=bottom / height,
                           top=1.0 - top / height, wspace=gap / axes_width)
    return figure


def difference_image_figure(pixels, title, xy0=(0, 0), mark=None):
    """The difference of two difference images, on a colour scale symmetric about 0.

    The scale's limit is the 99.5th percentile of the non-zero ``|Δ|`` (larger
    values saturate), so scattered small differences stay visible next to a
    few large ones. NaN pixels are grey. When every finite pixel is 0 the
    figure says so in words, instead of showing a blank frame.

    Parameters
    ----------
    pixels : `numpy.ndarray`
        2-d array of (gen2 - gen3) pixel values.
    title : `str`
    xy0 : `tuple` [`int`, `int`], optional
        Parent coordinates of ``pixels[0, 0]``: the axes are in parent pixels.
    mark : `tuple` [`int`, `int`], optional
        Parent ``(x, y)`` to circle, e.g. the largest difference.

    Returns
    -------
    figure : `matplotlib.figure.Figure`
    """
    finite = np.isfinite(pixels)
    differing = finite & (pixels != 0)
    n_differing = int(differing.sum())
    n_nan = int(pixels.size - finite.sum())
    figure = _fixed_margins(4.0, 3.7, left=0.68, right=0.56, bottom=0.48, top=0.78)
    axes = figure.add_subplot()
    nan_note = f"\n{n_nan:,} px NaN in one or both" if n_nan else ""
    if n_differing == 0:
        axes.set_xticks([])
        axes.set_yticks([])
        axes.set_facecolor(_IDENTICAL_FACE)
        axes.text(0.5, 0.5, f"identical:\nall {pixels.size:,} pixels 0{nan_note}",
                  ha="center", va="center", transform=axes.transAxes, fontsize=11)
        axes.set_title(title, fontsize=_MEDIUM)
        return figure
    magnitudes = np.abs(pixels[differing])
    limit = float(np.percentile(magnitudes, 99.5))
    shown = _block_extremes(pixels, _MAX_IMAGE_SIDE)
    x0, y0 = xy0
    # The extent keeps axis labels in the file's pixels even when the image was shrunk.
    image = axes.imshow(shown, origin="lower", cmap=_DIFFERENCE_COLOURMAP, vmin=-limit, vmax=limit,
                        interpolation="nearest",
                        extent=(x0, x0 + pixels.shape[1], y0, y0 + pixels.shape[0]))
    if mark is not None:
        axes.plot([mark[0] + 0.5], [mark[1] + 0.5], marker="o", markersize=14, fillstyle="none",
                  color="black", markeredgewidth=1.5)
    axes.tick_params(labelsize=_SMALL)
    axes.set_xlabel("x (pixel)", fontsize=_SMALL)
    axes.set_ylabel("y (pixel)", fontsize=_SMALL)
    # Exponents in the tick labels: an offset label ("1e-7") would sit on the title.
    colourbar = figure.colorbar(image, ax=axes, shrink=0.85, extend="both", format="%.2g")
    colourbar.ax.tick_params(labelsize=_SMALL)
    colourbar.set_label(f"{DIFFERENCE} (counts)", fontsize=_SMALL)
    fraction = n_differing / pixels.size
    axes.set_title(f"{title}\n{n_differing:,} px differ ({fraction:.2%})\n"
                   f"max |Δ| {magnitudes.max():.3g}{nan_note}", fontsize=_MEDIUM)
    return figure


def cutout_figure(side_a, side_b, xy0, mark=None):
    """gen2, gen3 and gen2 - gen3 around one position, side by side, in parent pixels.

    gen2 and gen3 share one grey scale (1st to 99.5th percentile of both), so
    equal pixels look equal; the difference has its own scale, symmetric about 0.

    Parameters
    ----------
    side_a, side_b : `numpy.ndarray`
        The image planes of gen2 and gen3 around the position, one shape.
    xy0 : `tuple` [`int`, `int`]
        Parent position of their first pixel.
    mark : `tuple` [`int`, `int`], optional
        Parent ``(x, y)`` to circle in each panel.

    Returns
    -------
    figure : `matplotlib.figure.Figure`
        Its cut-outs can be replaced by others (`show_cutouts`).
    """
    figure = _fixed_margins(8.4, 2.9, left=0.62, right=0.8, bottom=0.5, top=0.3, gap=1.3,
                            columns=3)
    for index, (title, colourmap) in enumerate((("gen2", "gray"), ("gen3", "gray"),
                                                (DIFFERENCE, _DIFFERENCE_COLOURMAP))):
        axes = figure.add_subplot(1, 3, index + 1)
        image = axes.imshow(np.zeros((1, 1)), origin="lower", cmap=colourmap, interpolation="nearest")
        axes.set_title(title, fontsize=_MEDIUM)
        axes.set_xlabel("x (pixel)", fontsize=_SMALL)
        axes.set_ylabel("y (pixel)", fontsize=_SMALL)
        axes.tick_params(labelsize=_SMALL - 1)
        colourbar = figure.colorbar(image, ax=axes, shrink=0.9, format="%.3g")
        colourbar.ax.tick_params(labelsize=_SMALL - 1)
        colourbar.set_label(f"{title} (counts)", fontsize=_SMALL)
    show_cutouts(figure, side_a, side_b, xy0, mark)
    return figure


def show_cutouts(figure, side_a, side_b, xy0, mark=None):
    """Show cut-outs on a figure of `cutout_figure`, in place of the ones it showed.

    The figure then draws as a new `cutout_figure` of these arguments would,
    at a fraction of the cost: its six axes and their ticks are already made.
    Parameters as for `cutout_figure`.
    """
    extent = (xy0[0], xy0[0] + side_a.shape[1], xy0[1], xy0[1] + side_a.shape[0])
    both = np.concatenate([side_a[np.isfinite(side_a)], side_b[np.isfinite(side_b)]])
    low, high = (np.percentile(both, (1.0, 99.5)) if both.size else (0.0, 1.0))
    difference = side_a - side_b
    finite = np.abs(difference[np.isfinite(difference)])
    limit = float(finite.max(initial=0.0)) or 1.0
    panels = ((side_a, low, high), (side_b, low, high), (difference, -limit, limit))
    for axes, (pixels, vmin, vmax) in zip([axes for axes in figure.axes if axes.images], panels):
        for line in list(axes.lines):
            line.remove()
        image = axes.images[0]
        image.set_data(pixels)
        image.set_clim(vmin, vmax)
        image.set_extent(extent)
        axes.relim()  # the extent of these cut-outs only
        if mark is not None:
            axes.plot([mark[0] + 0.5], [mark[1] + 0.5], marker="o", markersize=24, fillstyle="none",
                      color="#d9480f", markeredgewidth=1.0)


def _block_extremes(pixels, max_side):
    """Shrink an image to at most ``max_side`` per axis, each block keeping its largest |value|.

    Averaging would wash out isolated differing pixels; keeping the extreme
    leaves them visible at any image size. A block is NaN only if all its
    pixels are.
    """
    factor = math.ceil(max(pixels.shape) / max_side)
    if factor <= 1:
        return pixels
    ny, nx = (math.ceil(side / factor) for side in pixels.shape)
    padded = np.full((ny * factor, nx * factor), np.nan)
    padded[:pixels.shape[0], :pixels.shape[1]] = pixels
    blocks = padded.reshape(ny, factor, nx, factor).transpose(0, 2, 1, 3).reshape(ny, nx, -1)
    values = np.where(np.isfinite(blocks), blocks, 0.0)
    picked = np.take_along_axis(values, np.abs(values).argmax(axis=-1)[..., None], axis=-1)[..., 0]
    picked[~np.isfinite(blocks).any(axis=-1)] = np.nan
    return picked


def column_figure(differences, positions, name, unit, limit, position_label):
    """One catalogue column over the matched sources: a point per source, the tolerance as a band.

    Parameters
    ----------
    differences : `numpy.ndarray`
        Per matched source, gen2 - gen3 in the column's judged unit.
    positions : `numpy.ndarray`
        Per matched source, where it is (e.g. its x on the detector).
    name : `str`
        The column.
    unit : `str`
        Unit of ``differences`` (``"sigma"``, ``"pixel"``, ``"arcsec"``).
    limit : `float`
        The tolerance: sources with ``|Δ| > limit`` are outside it.
    position_label : `str`
        Label of the horizontal axis, with its unit.

    Returns
    -------
    figure : `matplotlib.figure.Figure`
        Its column can be replaced by another one (`show_column`).
    """
    figure = _fixed_margins(3.6, 2.7, left=0.82, right=0.08, bottom=0.45, top=0.42)
    figure.add_subplot().tick_params(labelsize=_SMALL - 1)
    show_column(figure, differences, positions, name, unit, limit, position_label)
    return figure


def show_column(figure, differences, positions, name, unit, limit, position_label):
    """Show a column on a figure of `column_figure`, in place of the one it showed.

    The figure then draws as a new `column_figure` of these arguments would,
    at two thirds of the cost: its axes and their ticks are already made.
    Parameters as for `column_figure`.
    """
    axes = figure.axes[0]
    for artist in (*axes.collections, *axes.patches, *axes.lines):
        artist.remove()
    axes.relim()  # forget the extent of the column shown before
    finite = np.isfinite(differences)
    outside = finite & (np.abs(differences) > limit)
    axes.axhspan(-limit, limit, color=_BAND, zorder=0, label=f"tolerance ±{limit:g}")
    axes.axhline(0.0, color="#999999", linewidth=0.8, zorder=1)
    axes.scatter(positions[finite & ~outside], differences[finite & ~outside], s=18, color=_INSIDE,
                 marker="o", zorder=2, label="inside")
    axes.scatter(positions[outside], differences[outside], s=26, color=_OUTSIDE, marker="D", zorder=3,
                 label="outside")
    words = UNIT_WORDS.get(unit, unit)
    axes.set_xlabel(position_label, fontsize=_SMALL)
    axes.set_ylabel(f"{DIFFERENCE} ({words})", fontsize=_SMALL)
    top = max(limit * 1.3, float(np.abs(differences[finite]).max(initial=0.0)) * 1.1)
    axes.set_ylim(-top, top)
    n_nonfinite = int(np.count_nonzero(~finite))
    nan_note = f", {n_nonfinite} NaN" if n_nonfinite else ""
    axes.set_title(f"{name}\n{int(outside.sum())} of {differences.size} beyond ±{limit:g}{nan_note}",
                   fontsize=_SMALL)
    axes.legend(fontsize=_SMALL - 2, loc="best", framealpha=0.8)


def trend_figure(trend):
    """Scenario outcome counts per stored run, oldest first, as stacked bars.

    Parameters
    ----------
    trend : `list` [`validation.model.TrendPoint`]
        At least two runs; ``counts`` by `Outcome` value.

    Returns
    -------
    figure : `matplotlib.figure.Figure`
    """
    points = sorted(trend, key=lambda point: (point.started, point.run_id))
    figure = _fixed_margins(max(5.0, 0.45 * len(points) + 3.0), 3.0, left=0.6, right=2.0,
                            bottom=0.75, top=0.3)
    axes = figure.add_subplot()
    positions = np.arange(len(points))
    bottom = np.zeros(len(points))
    for outcome in Outcome:
        counts = np.array([point.counts.get(outcome.value, 0) for point in points], dtype=float)
        axes.bar(positions, counts, bottom=bottom, color=OUTCOME_COLOURS[outcome][1], label=outcome.label,
                 width=0.7)
        bottom += counts
    # Month-day only: full dates would overlap with more than a few runs.
    axes.set_xticks(positions, [f"#{point.run_id}\n{point.started[5:10]}" for point in points],
                    fontsize=_SMALL)
    axes.set_xlabel("run (number, start month-day)", fontsize=_SMALL)
    axes.set_ylabel("scenarios (count)", fontsize=_SMALL)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.tick_params(axis="y", labelsize=_SMALL)
    axes.legend(fontsize=_SMALL, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    axes.set_title("Scenario outcomes per run", fontsize=_MEDIUM)
    return figure
