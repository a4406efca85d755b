"""Exact medians over the pixels of whole images, without copying them all.

``numpy.median`` of the 16 million usable pixels of a 4k image copies them
(as float64, twice the size) and partitions the copy, single-threaded: about
0.15 s a median, and a summary needs several. Here one parallel pass counts
the values per bucket of their bits (`diffim._core._select`), which locates
the middle ones, and a second copies only the values of those buckets, a
small fraction, for numpy to partition. The results are numpy's, bit for bit:
the same order statistics, averaged as ``numpy.median`` does.
"""
from __future__ import annotations

import numpy as np

from .._core import _select
from .stats import MAD_TO_SIGMA

__all__ = ["abs_median", "z_statistics"]

_BUCKETS = 1 << 16
_GRID = 4
"""Cells per side when only the whole-image median is wanted: units of parallel work."""


def z_statistics(image, variance, good, row_edges, col_edges, clip):
    """Statistics of ``z = image / sqrt(variance)`` (float32) over the ``good`` pixels.

    Parameters
    ----------
    image, variance : `numpy.ndarray`
        float32 planes of one shape.
    good : `numpy.ndarray`
        Boolean plane: the pixels to use (``variance > 0`` there).
    row_edges, col_edges : `numpy.ndarray`
        Cell boundaries (``0, ..., height`` and ``0, ..., width``).
    clip : `float`
        The mean is taken over ``|z| <= clip``.

    Returns
    -------
    stats : `dict`
        ``median`` and ``sigma`` (1.4826 times the median absolute deviation)
        as `diffim.image.stats.robust_median_sigma` of the float64 values,
        ``mean`` of the clipped values (NaN if none), ``count`` of good
        pixels, and per cell ``cell_medians`` (NaN where empty) and
        ``cell_counts``.
    """
    planes = _planes(image, variance, good)
    row_edges, col_edges = (np.asarray(e, dtype=np.intp) for e in (row_edges, col_edges))
    counts, extras = _counts(planes, row_edges, col_edges, False, np.nan, clip)
    cell_counts = counts.sum(axis=1) + extras[:, 2].astype(np.int64)
    median, cell_medians = _medians(planes, row_edges, col_edges, counts, extras, np.float64)
    sigma = np.nan
    if np.isfinite(median):
        deviations, _ = _counts(planes, row_edges, col_edges, False, median, -1.0)
        sigma = MAD_TO_SIGMA * _medians(planes, row_edges, col_edges, deviations, extras,
                                        np.float64, median)[0]
    kept = extras[:, 1].sum()
    shape = (len(row_edges) - 1, len(col_edges) - 1)
    return {"median": median, "sigma": float(sigma),
            "mean": float(extras[:, 0].sum() / kept) if kept else np.nan,
            "count": int(cell_counts.sum()), "cell_medians": cell_medians.reshape(shape),
            "cell_counts": cell_counts.reshape(shape)}


def abs_median(image, good):
    """``float(numpy.median(numpy.abs(image[good])))`` of a float32 image (NaN if none)."""
    planes = _planes(image, image, good)
    row_edges, col_edges = (_edges(length) for length in image.shape)
    counts, extras = _counts(planes, row_edges, col_edges, True, np.nan, -1.0)
    return float(_medians(planes, row_edges, col_edges, counts, extras, np.float32,
                          absolute=True)[0])


def _planes(image, variance, good):
    return (np.ascontiguousarray(image, dtype=np.float32),
            np.ascontiguousarray(variance, dtype=np.float32),
            np.ascontiguousarray(good, dtype=bool).view(np.uint8))


def _edges(length):
    return np.linspace(0, length, _GRID + 1).round().astype(np.intp)


def _counts(planes, row_edges, col_edges, absolute, centre, clip):
    n_cells = (len(row_edges) - 1) * (len(col_edges) - 1)
    counts = np.zeros((n_cells, _BUCKETS), dtype=np.uint32)
    extras = np.zeros((n_cells, 3))
    _select.bucket_counts(*planes, row_edges, col_edges, absolute, centre, clip, counts, extras)
    return counts, extras


def _medians(planes, row_edges, col_edges, counts, extras, dtype, centre=np.nan,
             absolute=False):
    """The median over all cells, and each cell's (the latter for values, not distances).

    NaN where a value is NaN (as numpy) or there is none.
    """
    deviation = not np.isnan(centre)
    n_cells = counts.shape[0]
    total = counts.sum(axis=0, dtype=np.int64)
    has_nan = extras[:, 2] > 0
    ranges = np.full((n_cells, 4), _BUCKETS, dtype=np.uint32)  # empty unless set below
    wanted = []  # (cell or None, ranks within the gathered values)
    sizes = np.zeros((n_cells, 2), dtype=np.int64)
    if not has_nan.any() and total.sum():
        first, last, before = _bucket_range(total)
        ranges[:, 2:] = first, last
        sizes[:, 1] = counts[:, first:last + 1].sum(axis=1)
        wanted.append((None, _middle_ranks(total.sum()) - before))
    if not deviation:
        for cell in range(n_cells):
            n = counts[cell].sum(dtype=np.int64)
            if n and not has_nan[cell]:
                first, last, before = _bucket_range(counts[cell])
                ranges[cell, :2] = first, last
                sizes[cell, 0] = counts[cell, first:last + 1].sum(dtype=np.int64)
                wanted.append((cell, _middle_ranks(n) - before))
    median, cell_medians = np.nan, np.full(n_cells, np.nan)
    if not wanted:
        return median, cell_medians
    offsets = np.cumsum(np.concatenate([[0], sizes.T.ravel()]))[:-1].reshape(2, n_cells).T
    values = np.empty(sizes.sum())
    _select.gather(*planes, row_edges, col_edges, absolute, centre, ranges,
                   np.ascontiguousarray(offsets, dtype=np.intp), values)
    for cell, ranks in wanted:
        if cell is None:
            start = offsets[0, 1]
            median = _middle(values[start:start + sizes[:, 1].sum()], ranks, dtype)
        else:
            start = offsets[cell, 0]
            cell_medians[cell] = _middle(values[start:start + sizes[cell, 0]], ranks, dtype)
    return median, cell_medians


def _middle_ranks(n):
    """The ranks ``numpy.median`` averages: the middle one twice, or the two middle ones."""
    return np.array([(n - 1) // 2, n // 2])


def _bucket_range(counts):
    """First and last bucket holding the middle ranks, and the count below the first."""
    cumulative = np.cumsum(counts, dtype=np.int64)
    first, last = np.searchsorted(cumulative, _middle_ranks(cumulative[-1]), side="right")
    return first, last, cumulative[first] - counts[first]


def _middle(values, ranks, dtype):
    """``numpy.median`` from the order statistics ``ranks`` of ``values``, in ``dtype``."""
    part = np.partition(values, np.unique(ranks))
    lower, upper = dtype(part[ranks[0]]), dtype(part[ranks[1]])
    return lower if ranks[0] == ranks[1] else (lower + upper) / dtype(2)
