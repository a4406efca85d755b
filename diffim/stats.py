"""Robust statistics used across the package."""
from __future__ import annotations

import numpy as np

__all__ = ["MAD_TO_SIGMA", "clipped_stats", "robust_median_sigma"]

MAD_TO_SIGMA = 1.4826
"""Scale from the median absolute deviation to the standard deviation of a Gaussian."""


def robust_median_sigma(values):
    """Median and MAD-based sigma of ``values`` (no clipping)."""
    values = np.asarray(values, dtype=float)
    median = float(np.median(values))
    return median, float(MAD_TO_SIGMA * np.median(np.abs(values - median)))


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
