"""Smooth background of an image: clipped cell medians, interpolated bilinearly.

Serves every step that needs the sky under sources without a PSF model: the
PSF's star finder, kernel-source detection, the template's high-variance
mask and DIA-source detection.
"""
from __future__ import annotations

import numpy as np

from .stats import clipped_row_medians, clipped_stats

__all__ = ["estimate_background"]


def _interpolation_indices(length, centres):
    """Lower node index and fraction along one axis, clamped to the node range."""
    position = np.interp(np.arange(length), centres, np.arange(len(centres)))
    lower = np.minimum(np.floor(position).astype(int), max(len(centres) - 2, 0))
    return lower, np.minimum(lower + 1, len(centres) - 1), position - lower


def estimate_background(image, good, cell=64, samples=16):
    """Smooth background (float32): clipped medians in ``cell``-pixel cells, bilinear between centres.

    Each cell's median comes from a regular grid of at most ``samples`` x
    ``samples`` of its pixels: plenty for a sky level, and it lets every cell
    be computed at once. Cells with fewer than 10 % usable samples take the
    median of the other cells (of all usable pixels when no cell qualifies).
    """
    n_rows, n_cols = image.shape
    row_edges = np.linspace(0, n_rows, max(1, round(n_rows / cell)) + 1).astype(int)
    col_edges = np.linspace(0, n_cols, max(1, round(n_cols / cell)) + 1).astype(int)
    row_samples = _cell_samples(row_edges, samples)
    col_samples = _cell_samples(col_edges, samples)
    rows = row_samples[:, np.newaxis, :, np.newaxis]
    cols = col_samples[np.newaxis, :, np.newaxis, :]
    values = np.where(good[rows, cols], image[rows, cols], np.nan)
    n_cells = values.shape[0] * values.shape[1]
    values = values.reshape(n_cells, -1)
    grid = clipped_row_medians(values)
    grid[np.isnan(values).mean(axis=1) > 0.9] = np.nan
    grid = grid.reshape(len(row_samples), len(col_samples))
    if np.isnan(grid).all():
        grid[:] = clipped_stats(image[good])[0]
    grid[np.isnan(grid)] = np.nanmedian(grid)
    row_centres = 0.5 * (row_edges[:-1] + row_edges[1:] - 1)
    col_centres = 0.5 * (col_edges[:-1] + col_edges[1:] - 1)
    row_lo, row_hi, row_frac = _interpolation_indices(n_rows, row_centres)
    col_lo, col_hi, col_frac = _interpolation_indices(n_cols, col_centres)
    grid = grid.astype(np.float32)
    col_frac = col_frac.astype(np.float32)
    row_frac = row_frac.astype(np.float32)[:, np.newaxis]
    top = grid[row_lo][:, col_lo] * (1 - col_frac) + grid[row_lo][:, col_hi] * col_frac
    bottom = grid[row_hi][:, col_lo] * (1 - col_frac) + grid[row_hi][:, col_hi] * col_frac
    top *= 1 - row_frac
    bottom *= row_frac
    top += bottom
    return top


def _cell_samples(edges, samples):
    """``(n_cells, k)`` evenly spread pixel indices inside each cell (k <= samples)."""
    count = min(samples, int(np.min(np.diff(edges))))
    fractions = np.linspace(0.0, 1.0, count)
    return np.rint(edges[:-1, np.newaxis]
                   + fractions * (np.diff(edges)[:, np.newaxis] - 1)).astype(int)
