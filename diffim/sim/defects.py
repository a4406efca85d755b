"""Detector defects and their calexp-style treatment.

Cosmic-ray tracks, saturation with bleed trails along columns, bad columns,
and the row-wise linear interpolation that ISR and cosmic-ray repair apply
to defect pixels. All functions work on arrays indexed ``[y, x]`` of one
image whose origin is parent pixel ``(0, 0)`` plus ``bbox.xy0``.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

__all__ = ["add_cosmic_rays", "bad_columns", "bad_column_mask", "interpolate_over", "saturate"]

_CR_MEAN_LENGTH = 6.0
"""Mean track length (pixels): most cosmic rays cross a thick CCD at an angle."""

_CR_ELECTRONS_PER_PIXEL = (800.0, 6000.0)
_TRACK_STEP = 0.25


def add_cosmic_rays(counts, rng, count, gain, image_name):
    """Add ``count`` straight cosmic-ray tracks to ``counts`` (ADU) in place.

    Parameters
    ----------
    counts : `numpy.ndarray`
        Image in ADU, modified.
    rng : `numpy.random.Generator`
    count : `int`
        Number of tracks; lengths are exponential (mean 6 px, some single
        pixels), directions uniform, deposits 800-6000 electrons per pixel.
    gain : `float`
        Electrons per ADU.
    image_name : `str`
        Stored in the ``image`` column of the returned table.

    Returns
    -------
    hit : `numpy.ndarray`
        Boolean array, True on every pixel a track touched.
    tracks : `pandas.DataFrame`
        One row per track: ``image``, ``x_start``, ``y_start``, ``x_end``,
        ``y_end`` (array coordinates), ``n_pixels``, ``flux`` (ADU deposited).
    """
    n_rows, n_cols = counts.shape
    x_start = rng.uniform(-0.5, n_cols - 0.5, count)
    y_start = rng.uniform(-0.5, n_rows - 0.5, count)
    length = np.floor(rng.exponential(_CR_MEAN_LENGTH, count))
    angle = rng.uniform(0.0, math.pi, count)
    x_end = np.clip(x_start + length * np.cos(angle), -0.5, n_cols - 0.501)
    y_end = np.clip(y_start + length * np.sin(angle), -0.5, n_rows - 0.501)
    electrons = rng.uniform(*_CR_ELECTRONS_PER_PIXEL, count)
    hit = np.zeros(counts.shape, dtype=bool)
    n_pixels = np.zeros(count, dtype=np.int64)
    flux = np.zeros(count)
    for index in range(count):
        steps = int(np.hypot(x_end[index] - x_start[index], y_end[index] - y_start[index])
                    / _TRACK_STEP) + 1
        fraction = np.linspace(0.0, 1.0, steps)
        columns = np.rint(x_start[index] + fraction * (x_end[index] - x_start[index]))
        rows = np.rint(y_start[index] + fraction * (y_end[index] - y_start[index]))
        pixels = np.unique(rows.astype(np.int64) * n_cols + columns.astype(np.int64))
        deposit = electrons[index] / gain
        counts.flat[pixels] += deposit
        hit.flat[pixels] = True
        n_pixels[index] = pixels.size
        flux[index] = deposit * pixels.size
    tracks = pd.DataFrame({
        "image": np.full(count, image_name, dtype=object).astype(str),
        "x_start": x_start, "y_start": y_start, "x_end": x_end, "y_end": y_end,
        "n_pixels": n_pixels, "flux": flux,
    })
    return hit, tracks


def saturate(counts, level):
    """Clip ``counts`` (ADU, sky included) at ``level`` and bleed the excess along columns.

    The charge above ``level`` in each vertical run of saturated pixels
    spills into the pixels above and below it, half each way, filling them
    to ``level`` (so a bleed trail's length is its excess over ``level``).

    Returns
    -------
    saturated : `numpy.ndarray`
        Boolean array: pixels at ``level`` (cores and trails).
    """
    over = counts > level
    rows, columns = np.nonzero(over)
    if rows.size == 0:
        return over
    # Saturated pixels column by column; a run ends where the row number jumps.
    order = np.lexsort((rows, columns))
    rows, columns = rows[order], columns[order]
    excess = counts[rows, columns] - level
    breaks = np.flatnonzero((np.diff(columns) != 0) | (np.diff(rows) != 1)) + 1
    starts = np.concatenate([[0], breaks])
    stops = np.concatenate([breaks, [rows.size]])
    run_excess = np.add.reduceat(excess, starts)
    spill = (run_excess // level).astype(np.int64)
    n_rows = counts.shape[0]
    saturated = over
    for start, stop, run_spill in zip(starts, stops, spill):
        column, first, last = columns[start], rows[start], rows[stop - 1]
        below, above = run_spill // 2, run_spill - run_spill // 2
        saturated[max(first - below, 0):first, column] = True
        saturated[last + 1:min(last + 1 + above, n_rows), column] = True
    counts[saturated] = level
    return saturated


def bad_columns(rng, width, height, count):
    """Draw ``count`` distinct bad columns of a ``width`` x ``height`` detector.

    Half of them (rounded down) run from a random row to the top edge, as a
    charge trap does; the others span the whole column.

    Returns
    -------
    columns : `list` [`tuple` [`int`, `int`, `int`]]
        ``(x, y_start, y_stop)`` in array coordinates, ``y_stop`` exclusive.
    """
    xs = rng.choice(np.arange(2, width - 2), size=count, replace=False)
    starts = rng.integers(0, height // 2, count)
    return [(int(x), int(start) if index % 2 else 0, height)
            for index, (x, start) in enumerate(zip(xs, starts))]


def bad_column_mask(shape, columns):
    """Boolean array, True on the pixels of ``columns`` (from `bad_columns`)."""
    mask = np.zeros(shape, dtype=bool)
    for x, y_start, y_stop in columns:
        mask[y_start:y_stop, x] = True
    return mask


def interpolate_over(image, bad):
    """Replace ``bad`` pixels by linear interpolation along their row, in place.

    Each bad pixel takes the value interpolated between the nearest good
    pixels to its left and right in the same row (the nearest one alone at
    a row end). Rows with no good pixel are left as they are.
    """
    rows = np.flatnonzero(bad.any(axis=1))
    if rows.size == 0:
        return
    n_cols = image.shape[1]
    # Horizontal runs of bad pixels: +1 where a run starts, -1 one past its end.
    edges = np.diff(np.pad(bad[rows], ((0, 0), (1, 1))).astype(np.int8), axis=1)
    run_row, start = np.nonzero(edges == 1)
    _, stop = np.nonzero(edges == -1)
    row = rows[run_row]
    has_left, has_right = start > 0, stop < n_cols
    usable = has_left | has_right
    row, start, stop = row[usable], start[usable], stop[usable]
    has_left, has_right = has_left[usable], has_right[usable]
    left_value = image[row, np.maximum(start - 1, 0)]
    right_value = image[row, np.minimum(stop, n_cols - 1)]
    left_value = np.where(has_left, left_value, right_value)
    right_value = np.where(has_right, right_value, left_value)
    length = stop - start
    run = np.repeat(np.arange(length.size), length)
    column = start[run] + np.arange(run.size) - np.repeat(np.cumsum(length) - length, length)
    weight = (column - start[run] + 1) / (length[run] + 1)
    image[row[run], column] = left_value[run] + weight * (right_value[run] - left_value[run])
