"""Centroids from the PSF-smoothed image: a quadratic through the peak's 3x3 pixels.

Smoothing with the PSF makes a point source's profile a wide, smooth bump
whose maximum is the source position (the matched-filter estimate, as the
stack's ``SdssCentroid`` uses); a 2-D quadratic through the 3x3 pixels
around the peak pixel locates that maximum to a small fraction of a pixel.
"""
from __future__ import annotations

import numpy as np

from .stamps import gather

__all__ = ["peak_centroids"]


def peak_centroids(smoothed, ix, iy, sign):
    """Sub-pixel maxima of ``sign * smoothed`` near array pixels ``(ix, iy)``.

    Parameters
    ----------
    smoothed : `numpy.ndarray`
        PSF-smoothed (significance) image.
    ix, iy : `numpy.ndarray` of `int`
        Peak pixels, array coordinates.
    sign : `numpy.ndarray`
        +1 for positive sources, -1 for negative ones.

    Returns
    -------
    x, y : `numpy.ndarray`
        Array coordinates of the maxima; the peak pixel itself when the
        quadratic has no maximum there (offsets are limited to 1 pixel).

    Notes
    -----
    With ``f(dx, dy) = a + b dx + c dy + d dx^2 + e dy^2 + g dx dy`` fitted
    exactly by finite differences, the maximum solves
    ``[[2d, g], [g, 2e]] (dx, dy) = -(b, c)``.
    """
    if len(ix) == 0:
        return np.zeros(0), np.zeros(0)
    # The 3x3 stamps are made float64, not the image: a 4k float32 image
    # would be copied whole (128 MB) for a few thousand stamps.
    values, inside = gather(smoothed, ix, iy, 1)
    values = values.astype(np.float64) * np.asarray(sign, float)[:, None, None]
    # Outside the image, mirror the centre so the quadratic stays flat there.
    values = np.where(inside, values, values[:, 1:2, 1:2])
    b = 0.5 * (values[:, 1, 2] - values[:, 1, 0])
    c = 0.5 * (values[:, 2, 1] - values[:, 0, 1])
    d2 = values[:, 1, 2] + values[:, 1, 0] - 2 * values[:, 1, 1]
    e2 = values[:, 2, 1] + values[:, 0, 1] - 2 * values[:, 1, 1]
    g = 0.25 * (values[:, 2, 2] + values[:, 0, 0] - values[:, 2, 0] - values[:, 0, 2])
    determinant = d2 * e2 - g * g
    with np.errstate(divide="ignore", invalid="ignore"):
        dx = (-b * e2 + c * g) / determinant
        dy = (-c * d2 + b * g) / determinant
    is_maximum = (d2 < 0) & (determinant > 0)
    dx = np.where(is_maximum, np.clip(dx, -1.0, 1.0), 0.0)
    dy = np.where(is_maximum, np.clip(dy, -1.0, 1.0), 0.0)
    return ix + dx, iy + dy
