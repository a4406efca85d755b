"""The stellar locus: which bright peaks of an image are stars, from their sizes alone.

On a field dominated by galaxies (a cluster, a deep extragalactic field) the
brightest peaks are mostly galaxies, so neither their median size nor a
clip around it finds the PSF. Stars are the most compact sources: apart from
cosmic rays and hot pixels (sharper than any sampled PSF), nothing is
smaller. Each peak's size is measured with adaptive Gaussian moments (the
weight's width follows the source's own, so the size does not depend on a
guess), and the stellar locus is the smallest size around which enough
peaks cluster; on a star-dominated field that is the bulk of the peaks.
"""
from __future__ import annotations

import math

import numpy as np

from .base import SIGMA_TO_FWHM

__all__ = ["LOCUS_HALF", "adaptive_fwhm", "stellar_locus"]

LOCUS_HALF = 10
"""Half-width (px) of the stamps on which sizes are measured: FWHM up to ~9 px."""

_ITERATIONS = 12
_MIN_FWHM = 1.5
"""Sources sharper than this (px) are cosmic rays or hot pixels, not stars."""

_WINDOW = 1.15
"""Sizes within this factor of each other belong to one clump."""

_LOCUS_TOLERANCE = 0.25
"""Peaks within this fraction of the locus size are taken as stars."""

_MIN_SHARE = 0.3
"""The locus clump holds at least this share of the largest clump's peaks."""


def adaptive_fwhm(stamps, half=LOCUS_HALF):
    """FWHM (px) of each sky-subtracted stamp from adaptive Gaussian second moments.

    The weight is re-centred and its variance set to the weighted
    ``<r^2> / 2`` per axis times two, which converges to the source's own
    variance for a Gaussian; sizes are bounded to ``[0.5, half / 2]`` sigma,
    and a stamp with no positive weighted flux gets NaN.

    Parameters
    ----------
    stamps : `numpy.ndarray`
        ``(n, 2 half + 1, 2 half + 1)`` stamps centred on the peaks.
    half : `int`
        Their half-width.

    Returns
    -------
    fwhm : `numpy.ndarray`
        ``SIGMA_TO_FWHM`` times the adaptive sigma.
    """
    offsets = np.arange(-half, half + 1.0)
    count = len(stamps)
    variance = np.full(count, 2.0)
    cx = np.zeros(count)
    cy = np.zeros(count)
    total = np.zeros(count)
    ceiling = (0.5 * half) ** 2

    def weighted_sum(row_factor, column_factor):
        # The Gaussian weight is separable: sum over y, x of wy[y] wx[x] stamp[y, x].
        return np.einsum("ny,nyx,nx->n", row_factor, stamps, column_factor)

    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        for _ in range(_ITERATIONS):
            dx = offsets[np.newaxis, :] - cx[:, np.newaxis]
            dy = offsets[np.newaxis, :] - cy[:, np.newaxis]
            wx = np.exp(-0.5 * dx ** 2 / variance[:, np.newaxis])
            wy = np.exp(-0.5 * dy ** 2 / variance[:, np.newaxis])
            total = weighted_sum(wy, wx)
            cx = np.clip(cx + weighted_sum(wy, wx * dx) / total, -2.0, 2.0)
            cy = np.clip(cy + weighted_sum(wy * dy, wx) / total, -2.0, 2.0)
            variance = np.clip((weighted_sum(wy, wx * dx ** 2) + weighted_sum(wy * dy ** 2, wx))
                               / total, 0.25, ceiling)
    fwhm = SIGMA_TO_FWHM * np.sqrt(variance)
    fwhm[~(total > 0) | ~np.isfinite(fwhm) | (variance >= ceiling)] = np.nan
    return fwhm


def stellar_locus(fwhm, min_members):
    """The stars' size among peak sizes, and which peaks lie on it.

    Sizes below 1.5 px (cosmic rays, hot pixels) and NaN are ignored. A
    clump is the set of sizes within a factor 1.15 above one of them; the
    locus is the smallest clump with at least ``min_members`` peaks and at
    least 30 % as many as the largest clump (galaxies spread over many sizes,
    stars share one), and its size is the clump's median.

    Parameters
    ----------
    fwhm : `numpy.ndarray`
        Peak sizes (`adaptive_fwhm`).
    min_members : `int`
        Fewest peaks that make a locus.

    Returns
    -------
    locus : `float` or `None`
        The stars' adaptive FWHM, None when no clump qualifies.
    on_locus : `numpy.ndarray`
        Boolean, peaks within 25 % of it (all False when None).
    """
    usable = np.isfinite(fwhm) & (fwhm >= _MIN_FWHM)
    sizes = np.sort(fwhm[usable])
    on_locus = np.zeros(len(fwhm), dtype=bool)
    if len(sizes) < min_members:
        return None, on_locus
    ends = np.searchsorted(sizes, sizes * _WINDOW, side="right")
    counts = ends - np.arange(len(sizes))
    enough = counts >= max(min_members, math.ceil(_MIN_SHARE * counts.max()))
    if not enough.any():
        return None, on_locus
    start = int(np.argmax(enough))
    locus = float(np.median(sizes[start:ends[start]]))
    on_locus = usable & (np.abs(fwhm / locus - 1.0) <= _LOCUS_TOLERANCE)
    return locus, on_locus
