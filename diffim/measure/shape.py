"""Second moments of sources, Gaussian-weighted and corrected for the weight.

Unweighted moments of a noisy image diverge with the stamp size, so the
moments are measured with a circular Gaussian weight ``W`` of the PSF's
width centred on the centroid. For a Gaussian source of moment matrix
``M`` the weighted moments are ``(M^-1 + W^-1)^-1``; inverting that,
``M = (Mw^-1 - W^-1)^-1``, gives the source's own moments (exact for
Gaussians, a close estimate for PSF-like profiles).
"""
from __future__ import annotations

import numpy as np

from .stamps import gather

__all__ = ["second_moments"]


def second_moments(image, usable, bbox, x, y, sign, weight_sigma):
    """``ixx``, ``iyy``, ``ixy`` (pixels^2) of sources at parent positions.

    Parameters
    ----------
    image : `numpy.ndarray`
    usable : `numpy.ndarray` of `bool`
        Pixels that may be used.
    bbox : `diffim.Box`
    x, y : `numpy.ndarray`
        Centroids, parent coordinates.
    sign : `numpy.ndarray`
        -1 for negative sources (measured on ``-image``), else +1.
    weight_sigma : `float`
        Sigma of the Gaussian weight, pixels.

    Returns
    -------
    ixx, iyy, ixy : `numpy.ndarray`
        NaN where the weighted moments are not positive definite or do not
        exceed the weight's (noise-dominated or not source-like).
    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    nan = np.full(len(x), np.nan)
    if len(x) == 0:
        return nan, nan.copy(), nan.copy()
    half = int(np.ceil(4 * weight_sigma))
    ix, iy = np.rint(x).astype(int), np.rint(y).astype(int)
    data, inside = gather(image, ix - bbox.x0, iy - bbox.y0, half)
    ok, _ = gather(usable, ix - bbox.x0, iy - bbox.y0, half, fill=False)
    offsets = np.arange(-half, half + 1, dtype=float)
    dx = offsets[None, None, :] + (ix - x)[:, None, None]
    dy = offsets[None, :, None] + (iy - y)[:, None, None]
    weight = np.exp(-0.5 * (dx * dx + dy * dy) / weight_sigma ** 2) * (inside & ok)
    weighted = weight * data * np.asarray(sign, float)[:, None, None]
    total = weighted.sum(axis=(1, 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        wxx = (weighted * dx * dx).sum(axis=(1, 2)) / total
        wyy = (weighted * dy * dy).sum(axis=(1, 2)) / total
        wxy = (weighted * dx * dy).sum(axis=(1, 2)) / total
        # Invert Mw, subtract W^-1 = I / s^2, invert back.
        det_w = wxx * wyy - wxy * wxy
        inv_xx, inv_yy, inv_xy = wyy / det_w, wxx / det_w, -wxy / det_w
        inv_xx = inv_xx - 1.0 / weight_sigma ** 2
        inv_yy = inv_yy - 1.0 / weight_sigma ** 2
        det = inv_xx * inv_yy - inv_xy * inv_xy
        ixx, iyy, ixy = inv_yy / det, inv_xx / det, -inv_xy / det
    valid = (total > 0) & (det_w > 0) & (inv_xx > 0) & (inv_yy > 0) & (det > 0)
    return (np.where(valid, ixx, np.nan), np.where(valid, iyy, np.nan),
            np.where(valid, ixy, np.nan))
