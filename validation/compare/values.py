"""Element-wise helpers shared by the pixel and the catalogue comparisons."""
from __future__ import annotations

import numpy as np

__all__ = ["differing_indices", "in_noise_units", "relative_difference"]


def differing_indices(values_a, values_b):
    """Flat indices where two arrays of one shape differ, NaN counting as equal to NaN.

    Only the (usually few) unequal elements are examined for NaNs, so equal
    4k x 4k planes cost one comparison.
    """
    flat_a, flat_b = np.ravel(values_a), np.ravel(values_b)
    indices = np.flatnonzero(flat_a != flat_b)
    if indices.size and (flat_a.dtype.kind == "f" or flat_b.dtype.kind == "f"):
        sub_a, sub_b = flat_a[indices], flat_b[indices]
        indices = indices[~(np.isnan(sub_a) & np.isnan(sub_b))]
    return indices


def in_noise_units(difference, variance_a, variance_b):
    """``|difference| / sqrt((variance_a + variance_b) / 2)``; NaN where that noise is not > 0.

    The mean of the two variances makes the measure symmetric in ``a`` and ``b``.
    """
    noise = np.sqrt(np.maximum((np.asarray(variance_a, np.float64) + variance_b) / 2.0, 0.0))
    usable = np.isfinite(noise) & (noise > 0)
    return np.divide(np.abs(difference), noise, out=np.full(np.shape(difference), np.nan),
                     where=usable)


def relative_difference(difference, values_a, values_b):
    """``|difference| / max(|a|, |b|)``: 0 where both are 0, at most 2."""
    scale = np.maximum(np.abs(values_a), np.abs(values_b))
    return np.divide(np.abs(difference), scale, out=np.zeros(np.shape(difference)),
                     where=scale > 0)

