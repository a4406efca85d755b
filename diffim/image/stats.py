"""Robust statistics used across the package."""
from __future__ import annotations

import numpy as np

__all__ = ["MAD_TO_SIGMA", "cell_clipped_medians", "clipped_mean_std", "clipped_row_medians",
           "clipped_stats", "robust_median_sigma", "row_medians"]

MAD_TO_SIGMA = 1.4826
"""Scale from the median absolute deviation to the standard deviation of a Gaussian."""


def robust_median_sigma(values, dtype=float):
    """Median and MAD-based sigma of ``values`` (no clipping), computed in ``dtype``."""
    # One working copy, partitioned in place by both medians and turned into
    # the absolute deviations in place (the median's partition only reorders
    # it): a third of the memory traffic of copying for each step.
    values = np.array(values, dtype=dtype)
    median = float(np.median(values, overwrite_input=True))
    values -= values.dtype.type(median)
    np.abs(values, out=values)
    return median, float(MAD_TO_SIGMA * np.median(values, overwrite_input=True))


def clipped_stats(values, n_sigma=3.0, iterations=3):
    """Median and MAD-based sigma of ``values`` after iterative ``n_sigma`` clipping."""
    values = np.asarray(values, dtype=float)
    for _ in range(iterations):
        median, sigma = robust_median_sigma(values)
        if sigma == 0.0:
            break
        kept = values[np.abs(values - median) <= n_sigma * sigma]
        if len(kept) == len(values):
            break
        values = kept
    return robust_median_sigma(values)


def cell_clipped_medians(values, usable, rows, cols, min_usable, n_sigma=3.0, iterations=3):
    """`clipped_stats` medians of the usable pixels of each cell of a grid, in one pass.

    Parameters
    ----------
    values : `numpy.ndarray`
        2-D float32 image.
    usable : `numpy.ndarray`
        Boolean array of its shape: the pixels to use.
    rows, cols : sequence of `numpy.ndarray`
        Consecutive row and column index ranges (``numpy.array_split`` of the
        image's rows and columns); cell ``(i, j)`` is ``rows[i] x cols[j]``.
    min_usable : `float`
        Cells with a smaller fraction of usable pixels are not used.
    n_sigma, iterations
        As `clipped_stats`.

    Returns
    -------
    medians : `numpy.ndarray`
        ``(len(rows), len(cols))``: each used cell's median, the same bits as
        ``clipped_stats(values[cell][usable[cell]])[0]``; NaN elsewhere.
    used : `numpy.ndarray`
        Boolean, which cells had enough usable pixels.
    """
    from .._core._cells import cell_clipped_medians as fill

    values = np.asarray(values)
    if values.dtype != np.float32 or values.ndim != 2 or np.shape(usable) != values.shape:
        raise ValueError("cell_clipped_medians needs a 2-D float32 image and a boolean array "
                         "of its shape")
    row_edges = np.array([row[0] for row in rows] + [rows[-1][-1] + 1], dtype=np.intp)
    col_edges = np.array([col[0] for col in cols] + [cols[-1][-1] + 1], dtype=np.intp)
    medians = np.empty((len(rows), len(cols)))
    used = np.empty(medians.shape, dtype=bool)
    fill(values, np.asarray(usable, dtype=bool).view(np.uint8), row_edges, col_edges,
         float(min_usable), float(n_sigma), int(iterations), medians, used.view(np.uint8))
    return medians, used


def row_medians(values, axis=-1):
    """Median of each row of an array (its slices along ``axis``), ignoring NaNs.

    Each is numpy's median of the row's other values, to the bit and in the
    input's dtype; NaN for a row of NaNs only.
    """
    ordered = np.sort(values, axis=axis)  # NaNs sort last
    count = np.expand_dims(np.sum(~np.isnan(values), axis=axis), axis)
    low = np.take_along_axis(ordered, np.maximum(count - 1, 0) // 2, axis)
    high = np.take_along_axis(ordered, count // 2, axis)
    medians = np.squeeze(0.5 * (low + high), axis)
    medians[np.squeeze(count, axis) == 0] = np.nan
    return medians


def clipped_row_medians(values, n_sigma=3.0, iterations=3):
    """Per-row `clipped_stats` median of a 2-D array whose NaNs are missing values.

    Vectorised over rows, for many small samples at once (e.g. one row per
    background cell).
    """
    values = np.array(values, dtype=float)
    for _ in range(iterations):
        medians = row_medians(values)
        deviations = np.abs(values - medians[:, np.newaxis])
        sigmas = MAD_TO_SIGMA * row_medians(deviations)
        with np.errstate(invalid="ignore"):
            clipped = (deviations > n_sigma * sigmas[:, np.newaxis]) & (sigmas[:, np.newaxis] > 0)
        if not clipped.any():
            return medians
        values[clipped] = np.nan
    return row_medians(values)


def clipped_mean_std(values, n_sigma=3.0, n_iterations=5):
    """Iteratively clipped mean and standard deviation.

    Starts from the median and ``0.741 IQR``; each iteration keeps values
    within ``n_sigma`` standard deviations of the current centre and recomputes
    mean and sample standard deviation, as afw's ``MEANCLIP``/``STDEVCLIP``.
    """
    values = np.asarray(values, dtype=float)
    finite = np.isfinite(values)
    if not finite.all():
        values = values[finite]
    if values.size == 0:
        return np.nan, np.nan
    quartiles = np.percentile(values, [25.0, 75.0])
    centre, spread = np.median(values), 0.741 * (quartiles[1] - quartiles[0])
    # One distance buffer and one mask for every iteration (a million values from
    # a 4k variance plane: 8 + 1 MB that would otherwise be made and zeroed each time).
    distance, within = np.empty_like(values), np.empty(values.shape, dtype=bool)
    for _ in range(n_iterations):
        if spread > 0:
            np.abs(np.subtract(values, centre, out=distance), out=distance)
            kept = values[np.less_equal(distance, n_sigma * spread, out=within)]
        else:
            kept = values
        if kept.size < 2:
            break
        new_centre, new_spread = kept.mean(), kept.std(ddof=1)
        if new_centre == centre and new_spread == spread:
            break
        centre, spread = new_centre, new_spread
    return float(centre), float(spread)
