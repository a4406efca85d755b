"""Small PNG figures for the HTML report, embedded as base64 data URIs.

Figures are built on `matplotlib.figure.Figure` directly (rendered by Agg),
never through ``pyplot``, so no global figure state or display backend is
involved. They are small (``DPI`` 80, a few inches) so that a report of tens of
scenarios stays a few megabytes in one self-contained HTML file.
"""
from __future__ import annotations

import base64
import io
import math

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter

from ..model import Verdict
from .outcome import Outcome
from .style import OUTCOME_COLOURS, verdict_colour

__all__ = ["DPI", "catalog_histograms_figure", "difference_image_figure", "differing_columns",
           "png_bytes", "png_data_uri", "trend_figure"]

DPI = 80
_MAX_IMAGE_SIDE = 160
# Few colour levels: the PNG of a noisy difference image compresses several times better.
_DIFFERENCE_COLOURMAP = matplotlib.colormaps["RdBu_r"].resampled(11).with_extremes(bad="#9e9e9e")
_IDENTICAL_FACE = OUTCOME_COLOURS[Outcome.IDENTICAL][0]


def png_bytes(figure):
    """Render a figure as PNG bytes at `DPI`."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def png_data_uri(figure):
    """A figure as a ``data:image/png;base64,...`` URI for an ``<img src>``."""
    return "data:image/png;base64," + base64.b64encode(png_bytes(figure)).decode("ascii")


def difference_image_figure(pixels, title):
    """The difference of two difference images, on a colour scale symmetric about 0.

    The scale's limit is the 99.5th percentile of the non-zero ``|Δ|`` (larger
    values saturate), so scattered small differences stay visible next to a
    few large ones. NaN pixels are grey. When every finite pixel is 0 the
    figure says so in words, instead of showing a blank frame.

    Parameters
    ----------
    pixels : `numpy.ndarray`
        2-d array of (a - b) pixel values.
    title : `str`

    Returns
    -------
    figure : `matplotlib.figure.Figure`
    """
    finite = np.isfinite(pixels)
    differing = finite & (pixels != 0)
    n_differing = int(differing.sum())
    n_nan = int(pixels.size - finite.sum())
    figure = Figure(figsize=(3.4, 3.1), layout="constrained")
    axes = figure.add_subplot()
    nan_note = f"\n{n_nan:,} px NaN in one or both" if n_nan else ""
    if n_differing == 0:
        axes.set_xticks([])
        axes.set_yticks([])
        axes.set_facecolor(_IDENTICAL_FACE)
        axes.text(0.5, 0.5, f"identical:\nall {pixels.size:,} pixels 0{nan_note}",
                  ha="center", va="center", transform=axes.transAxes, fontsize=11)
        axes.set_title(title, fontsize=9)
        return figure
    magnitudes = np.abs(pixels[differing])
    limit = float(np.percentile(magnitudes, 99.5))
    shown = _block_extremes(pixels, _MAX_IMAGE_SIDE)
    # The extent keeps axis labels in the file's pixels even when the image was shrunk.
    image = axes.imshow(shown, origin="lower", cmap=_DIFFERENCE_COLOURMAP, vmin=-limit, vmax=limit,
                        interpolation="nearest", extent=(0, pixels.shape[1], 0, pixels.shape[0]))
    axes.tick_params(labelsize=6)
    # Exponents in the tick labels: an offset label ("1e-7") would sit on the title.
    colourbar = figure.colorbar(image, ax=axes, shrink=0.85, extend="both", format="%.2g")
    colourbar.ax.tick_params(labelsize=7)
    fraction = n_differing / pixels.size
    axes.set_title(f"{title}\n{n_differing:,} px differ ({fraction:.2%})\n"
                   f"max |Δ| {magnitudes.max():.3g}{nan_note}", fontsize=8)
    return figure


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


def differing_columns(table):
    """Split a matched-differences table's columns into those with differences and the rest.

    Returns
    -------
    differing : `list` [`str`]
        Columns with a non-zero (or NaN) difference, largest max ``|Δ|`` first.
    zero : `list` [`str`]
        Columns whose differences are all exactly 0.
    """
    extremes = {name: float(np.nan_to_num(table[name].abs().to_numpy(), nan=np.inf).max(initial=0.0))
                for name in table.columns}
    differing = sorted((name for name, value in extremes.items() if value > 0),
                       key=lambda name: -extremes[name])
    zero = [name for name, value in extremes.items() if value == 0]
    return differing, zero


def catalog_histograms_figure(table, columns, title):
    """Histograms of the differences of matched catalogue rows, one panel per column.

    Counts are on a log scale: most matched rows usually differ by 0, and
    the few that do not must still show.

    Parameters
    ----------
    table : `pandas.DataFrame`
        Per-column differences of matched rows.
    columns : `list` [`str`]
        The columns to plot (at least one).
    title : `str`

    Returns
    -------
    figure : `matplotlib.figure.Figure`
    """
    n_panels = len(columns)
    n_across = min(n_panels, 3)
    n_down = math.ceil(n_panels / n_across)
    figure = Figure(figsize=(2.3 * n_across + 0.4, 1.9 * n_down + 0.5), layout="constrained")
    figure.suptitle(title, fontsize=9)
    for index, name in enumerate(columns):
        axes = figure.add_subplot(n_down, n_across, index + 1)
        values = table[name].to_numpy()
        finite = values[np.isfinite(values)]
        axes.hist(finite, bins=30, color=OUTCOME_COLOURS[Outcome.WITHIN_TOLERANCE][1], log=True)
        # Minor log ticks get labels (2e1, 3e1, ...) that crowd a small panel.
        axes.yaxis.set_minor_formatter(NullFormatter())
        n_nan = values.size - finite.size
        n_differing = int(np.count_nonzero(finite)) + n_nan
        short_name = name if len(name) <= 28 else name[:27] + "…"
        axes.set_title(f"{short_name}\n{n_differing:,} of {values.size:,} rows ≠ 0", fontsize=8)
        axes.set_xlabel("Δ" + (f"  ({n_nan} NaN)" if n_nan else ""), fontsize=7)
        axes.tick_params(labelsize=6)
    return figure


def trend_figure(trend):
    """Scenario verdict counts per stored run, oldest first, as stacked bars.

    Parameters
    ----------
    trend : `list` [`validation.model.TrendPoint`]

    Returns
    -------
    figure : `matplotlib.figure.Figure`
    """
    points = sorted(trend, key=lambda point: (point.started, point.run_id))
    figure = Figure(figsize=(max(4.0, 0.45 * len(points) + 2.0), 2.6), layout="constrained")
    axes = figure.add_subplot()
    positions = np.arange(len(points))
    bottom = np.zeros(len(points))
    for verdict in Verdict:
        counts = np.array([point.counts.get(verdict.value, 0) for point in points], dtype=float)
        axes.bar(positions, counts, bottom=bottom, color=verdict_colour(verdict),
                 label=verdict.value.replace("_", " "), width=0.7)
        bottom += counts
    # Month-day only: full dates would overlap with more than a few runs.
    axes.set_xticks(positions, [f"#{point.run_id}\n{point.started[5:10]}" for point in points],
                    fontsize=7)
    axes.set_xlabel("run, start date (month-day)", fontsize=8)
    axes.set_ylabel("scenarios", fontsize=8)
    axes.tick_params(axis="y", labelsize=7)
    axes.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    axes.set_title("Scenario verdicts per run", fontsize=9)
    return figure
