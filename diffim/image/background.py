"""Smooth background of an image: clipped cell medians, interpolated bilinearly.

Serves every step that needs the sky under sources without a PSF model: the
PSF's star finder, kernel-source detection, the template's high-variance
mask and DIA-source detection.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._core import _planes
from .stats import cell_clipped_medians, clipped_row_medians, clipped_stats

__all__ = ["BackgroundGrid", "background_grid", "estimate_background"]


def _interpolation_indices(length, centres):
    """Lower node index and fraction along one axis, clamped to the node range."""
    position = np.interp(np.arange(length), centres, np.arange(len(centres)))
    lower = np.minimum(np.floor(position).astype(int), max(len(centres) - 2, 0))
    return lower, np.minimum(lower + 1, len(centres) - 1), position - lower


@dataclass(frozen=True)
class BackgroundGrid:
    """A smooth background as clipped cell medians and the bilinear interpolation between them.

    ``grid[i, j]`` is the level at the centre of cell ``(i, j)``; image row ``r``
    lies between node rows ``row_lo[r]`` and ``row_hi[r]`` at fraction
    ``row_frac[r]`` (clamped beyond the outer centres), and likewise for columns.
    Nothing image-sized is held: `image` makes the full plane, `at` the values
    at chosen pixels, and `diffim.image.peaks.find_peaks` subtracts it on the fly.
    """

    grid: np.ndarray
    row_lo: np.ndarray
    row_hi: np.ndarray
    row_frac: np.ndarray
    col_lo: np.ndarray
    col_hi: np.ndarray
    col_frac: np.ndarray

    def image(self):
        """The full background plane (float32), in one compiled pass."""
        out = np.empty((len(self.row_lo), len(self.col_lo)), dtype=np.float32)
        _planes.bilinear_plane(self.grid, self.row_lo, self.row_hi, self.row_frac, self.col_lo,
                               self.col_hi, self.col_frac, out)
        return out

    def at(self, rows, cols):
        """Background (float32) at integer array indices ``rows``, ``cols`` (broadcast together)."""
        rows, cols = np.broadcast_arrays(rows, cols)
        shape = rows.shape
        rows = np.ascontiguousarray(rows, dtype=np.intp).reshape(-1)
        cols = np.ascontiguousarray(cols, dtype=np.intp).reshape(-1)
        out = np.empty(rows.size, dtype=np.float32)
        if rows.size:
            if not (0 <= rows.min() and rows.max() < len(self.row_lo)
                    and 0 <= cols.min() and cols.max() < len(self.col_lo)):
                raise IndexError("background requested outside the image")
            # One pass instead of a dozen gathered temporaries of the indices' shape.
            _planes.bilinear_at(self.grid, self.row_lo, self.row_hi, self.row_frac, self.col_lo,
                                self.col_hi, self.col_frac, rows, cols, out)
        return out.reshape(shape)


def estimate_background(image, good, cell=64, samples=16):
    """Smooth background (float32): clipped cell medians, bilinear between cell centres.

    The full plane of `background_grid`.
    """
    return background_grid(image, good, cell, samples).image()


def background_grid(image, good, cell=64, samples=16):
    """The `BackgroundGrid` of ``image``: clipped medians in ``cell``-pixel cells.

    Each cell's median comes from a regular grid of at most ``samples`` x
    ``samples`` of its pixels: plenty for a sky level, and it lets every cell
    be computed at once. Cells with fewer than 10 % usable samples take the
    median of the other cells (of all usable pixels when no cell qualifies).
    ``good`` is a boolean array of usable pixels, or a callable that returns
    it for given row and column indices (so that no image-sized mask is made).
    """
    n_rows, n_cols = image.shape
    row_edges = np.linspace(0, n_rows, max(1, round(n_rows / cell)) + 1).astype(int)
    col_edges = np.linspace(0, n_cols, max(1, round(n_cols / cell)) + 1).astype(int)
    row_samples = _cell_samples(row_edges, samples)
    col_samples = _cell_samples(col_edges, samples)
    rows = row_samples[:, np.newaxis, :, np.newaxis]
    cols = col_samples[np.newaxis, :, np.newaxis, :]
    usable = good(rows, cols) if callable(good) else good[rows, cols]
    grid = _sample_medians(image[rows, cols], usable)
    grid[(~usable).reshape(grid.size, -1).mean(axis=1) > 0.9] = np.nan
    grid = grid.reshape(len(row_samples), len(col_samples))
    if np.isnan(grid).all():
        everywhere = (good(np.arange(n_rows)[:, np.newaxis], np.arange(n_cols)) if callable(good)
                      else good)
        grid[:] = clipped_stats(image[everywhere])[0]
    grid[np.isnan(grid)] = np.nanmedian(grid)
    row_centres = 0.5 * (row_edges[:-1] + row_edges[1:] - 1)
    col_centres = 0.5 * (col_edges[:-1] + col_edges[1:] - 1)
    row_lo, row_hi, row_frac = _interpolation_indices(n_rows, row_centres)
    col_lo, col_hi, col_frac = _interpolation_indices(n_cols, col_centres)
    return BackgroundGrid(grid.astype(np.float32), row_lo.astype(np.intc), row_hi.astype(np.intc),
                          row_frac.astype(np.float32), col_lo.astype(np.intc),
                          col_hi.astype(np.intc), col_frac.astype(np.float32))


def _sample_medians(samples, usable):
    """Clipped median of the usable samples of each cell (NaN without any), flat.

    ``samples`` and ``usable`` are ``(cell rows, cell columns, k, k)``. A
    float32 image's samples go through the compiled `cell_clipped_medians`
    (the same bits as `clipped_row_medians`, several times faster); others
    through `clipped_row_medians`.
    """
    n_rows, n_cols, k_rows, k_cols = samples.shape
    if samples.dtype != np.float32:
        return clipped_row_medians(np.where(usable, samples, np.nan).reshape(n_rows * n_cols, -1))
    # Cell (i, j) as the block [i k_rows:(i + 1) k_rows, j k_cols:(j + 1) k_cols].
    image = samples.transpose(0, 2, 1, 3).reshape(n_rows * k_rows, n_cols * k_cols)
    good = usable.transpose(0, 2, 1, 3).reshape(image.shape)
    rows = np.split(np.arange(image.shape[0]), n_rows)
    cols = np.split(np.arange(image.shape[1]), n_cols)
    return cell_clipped_medians(image, good, rows, cols, 0.0)[0].reshape(-1)


def _cell_samples(edges, samples):
    """``(n_cells, k)`` evenly spread pixel indices inside each cell (k <= samples)."""
    count = min(samples, int(np.min(np.diff(edges))))
    fractions = np.linspace(0.0, 1.0, count)
    return np.rint(edges[:-1, np.newaxis]
                   + fractions * (np.diff(edges)[:, np.newaxis] - 1)).astype(int)
