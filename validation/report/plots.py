"""Small PNG figures for the HTML report, embedded as base64 data URIs.

Figures are built on `matplotlib.figure.Figure` directly (rendered by Agg),
never through ``pyplot``, so no global figure state or display backend is
involved. They are small (``DPI`` 80, a few inches) so that a report of tens of
scenarios stays a few megabytes in one self-contained HTML file; their text is
no smaller than `_SMALL` points so that it stays legible at that size.

Differences are always gen2 minus gen3 (the ``a - b`` of the comparison).
"""
from __future__ import annotations

import base64
import io
import math

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, NullFormatter

from ..model import Verdict
from .outcome import Outcome
from .style import OUTCOME_COLOURS, verdict_colour

__all__ = ["DIFFERENCE", "DPI", "catalog_histograms_figure", "difference_image_figure", "differing_columns",
           "png_bytes", "png_data_uri", "trend_figure"]

DPI = 80
_MAX_IMAGE_SIDE = 160
# Few colour levels: the PNG of a noisy difference image compresses several times better.
_DIFFERENCE_COLOURMAP = matplotlib.colormaps["RdBu_r"].resampled(11).with_extremes(bad="#9e9e9e")
_IDENTICAL_FACE = OUTCOME_COLOURS[Outcome.IDENTICAL][0]
_SMALL = 9
_LOG_COUNTS_FROM = 10
_MEDIUM = 10
DIFFERENCE = "gen2 − gen3"
"""What every difference shown is."""
# Units of the signed differences in a matched table (`validation.compare.columns`).
_UNIT_WORDS = {"sigma": "σ", "pixel": "pixel", "arcsec": "arcsec"}


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
        2-d array of (gen2 - gen3) pixel values.
    title : `str`

    Returns
    -------
    figure : `matplotlib.figure.Figure`
    """
    finite = np.isfinite(pixels)
    differing = finite & (pixels != 0)
    n_differing = int(differing.sum())
    n_nan = int(pixels.size - finite.sum())
    figure = Figure(figsize=(4.0, 3.7), layout="constrained")
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
    # The extent keeps axis labels in the file's pixels even when the image was shrunk.
    image = axes.imshow(shown, origin="lower", cmap=_DIFFERENCE_COLOURMAP, vmin=-limit, vmax=limit,
                        interpolation="nearest", extent=(0, pixels.shape[1], 0, pixels.shape[0]))
    axes.tick_params(labelsize=_SMALL)
    axes.set_xlabel("x (pixel)", fontsize=_SMALL)
    axes.set_ylabel("y (pixel)", fontsize=_SMALL)
    # Exponents in the tick labels: an offset label ("1e-7") would sit on the title.
    colourbar = figure.colorbar(image, ax=axes, shrink=0.85, extend="both", format="%.2g")
    colourbar.ax.tick_params(labelsize=_SMALL)
    colourbar.set_label(f"{DIFFERENCE}, image units", fontsize=_SMALL)
    fraction = n_differing / pixels.size
    axes.set_title(f"{title}\n{n_differing:,} px differ ({fraction:.2%})\n"
                   f"max |Δ| {magnitudes.max():.3g}{nan_note}", fontsize=_MEDIUM)
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


def catalog_histograms_figure(table, columns, title, units=None):
    """Histograms of the differences of matched catalogue rows, one panel per column.

    Counts are on a log scale when a bin holds ten rows or more: most matched
    rows usually differ by 0, and the few that do not must still show. Below
    that a linear scale with whole-number ticks reads more easily.

    Parameters
    ----------
    table : `pandas.DataFrame`
        Per-column differences (gen2 - gen3) of matched rows.
    columns : `list` [`str`]
        The columns to plot (at least one).
    title : `str`
    units : `dict` [`str`, `str`], optional
        Column -> unit of its differences as the comparison recorded it
        (``"sigma"``, ``"pixel"``, ``"arcsec"``); other columns are in the
        column's own units.

    Returns
    -------
    figure : `matplotlib.figure.Figure`
    """
    n_panels = len(columns)
    n_across = min(n_panels, 3)
    n_down = math.ceil(n_panels / n_across)
    units = units or {}
    figure = Figure(figsize=(2.9 * n_across + 0.4, 2.4 * n_down + 0.6), layout="constrained")
    figure.suptitle(f"{title}: {DIFFERENCE} of matched rows", fontsize=_MEDIUM)
    for index, name in enumerate(columns):
        axes = figure.add_subplot(n_down, n_across, index + 1)
        values = table[name].to_numpy()
        finite = values[np.isfinite(values)]
        counts, _, _ = axes.hist(finite, bins=30, color=OUTCOME_COLOURS[Outcome.WITHIN_TOLERANCE][1])
        if counts.max(initial=0) >= _LOG_COUNTS_FROM:
            axes.set_yscale("log")
            # Minor log ticks get labels (2e1, 3e1, ...) that crowd a small panel.
            axes.yaxis.set_minor_formatter(NullFormatter())
        else:
            axes.yaxis.set_major_locator(MaxNLocator(integer=True))
        n_nan = values.size - finite.size
        n_differing = int(np.count_nonzero(finite)) + n_nan
        short_name = name if len(name) <= 28 else name[:27] + "…"
        axes.set_title(f"{short_name}\n{n_differing:,} of {values.size:,} rows ≠ 0", fontsize=_SMALL)
        unit = _UNIT_WORDS.get(units.get(name))
        axes.set_xlabel("Δ" + (f" ({unit})" if unit else "") + (f"  [{n_nan} NaN]" if n_nan else ""),
                        fontsize=_SMALL)
        if index % n_across == 0:
            axes.set_ylabel("rows", fontsize=_SMALL)
        axes.tick_params(labelsize=_SMALL - 1)
    return figure


def trend_figure(trend):
    """Scenario verdict counts per stored run, oldest first, as stacked bars.

    Stored runs keep verdicts, not reasons, so ``different`` counts expected
    and unexplained differences alike; its legend says so.

    Parameters
    ----------
    trend : `list` [`validation.model.TrendPoint`]

    Returns
    -------
    figure : `matplotlib.figure.Figure`
    """
    points = sorted(trend, key=lambda point: (point.started, point.run_id))
    figure = Figure(figsize=(max(5.0, 0.45 * len(points) + 3.0), 3.0), layout="constrained")
    axes = figure.add_subplot()
    positions = np.arange(len(points))
    bottom = np.zeros(len(points))
    for verdict in Verdict:
        counts = np.array([point.counts.get(verdict.value, 0) for point in points], dtype=float)
        label = verdict.value.replace("_", " ")
        if verdict is Verdict.DIFFERENT:
            label += "\n(expected or not)"
        axes.bar(positions, counts, bottom=bottom, color=verdict_colour(verdict), label=label, width=0.7)
        bottom += counts
    # Month-day only: full dates would overlap with more than a few runs.
    axes.set_xticks(positions, [f"#{point.run_id}\n{point.started[5:10]}" for point in points],
                    fontsize=_SMALL)
    axes.set_xlabel("run, start date (month-day)", fontsize=_SMALL)
    axes.set_ylabel("scenarios", fontsize=_SMALL)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.tick_params(axis="y", labelsize=_SMALL)
    axes.legend(fontsize=_SMALL, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    axes.set_title("Scenario verdicts per run", fontsize=_MEDIUM)
    return figure
