"""Peak finding on a smoothed significance image (no PSF model needed)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._core._peaks import smoothed_peaks
from .background import BackgroundGrid

__all__ = ["DETECTION_SIGMA", "Peaks", "find_peaks", "smoothing_kernel"]

DETECTION_SIGMA = 1.5
"""Sigma (px) of the Gaussian that smooths the image before peak finding."""


def smoothing_kernel(sigma=DETECTION_SIGMA):
    """Normalised 1-D Gaussian taps out to 4 sigma (float32), as scipy's ``gaussian_filter1d``."""
    half = int(4.0 * sigma + 0.5)
    offsets = np.arange(-half, half + 1)
    taps = np.exp(-0.5 * (offsets / sigma) ** 2)
    return (taps / taps.sum()).astype(np.float32)


@dataclass(frozen=True)
class Peaks:
    """Local maxima of the smoothed image, brightest first (array coordinates)."""

    x: np.ndarray
    y: np.ndarray
    value: np.ndarray
    snr: np.ndarray

    def subset(self, selection):
        """The peaks picked by a boolean or index array, in the same order."""
        return Peaks(x=self.x[selection], y=self.y[selection], value=self.value[selection],
                     snr=self.snr[selection])


def find_peaks(image, variance, bad, threshold, background=None):
    """Local maxima of the Gaussian-smoothed image with S/N >= ``threshold``.

    One pass over the image (`diffim._core._peaks`, OpenMP): no image-sized
    temporary is made.

    Parameters
    ----------
    image : `numpy.ndarray`
        2-D image (float32 is used as it is).
    variance : `numpy.ndarray`
        Per-pixel variance, same shape.
    bad : `numpy.ndarray` or `tuple`
        Unusable pixels: a boolean array, or ``(mask_array, bits)`` with
        ``mask_array & bits`` non-zero where a pixel is unusable. They count as
        zero in the image and in the variance, and hold no peak.
    threshold : `float`
        Minimum S/N of the smoothed peak.
    background : `diffim.image.background.BackgroundGrid`, optional
        Subtracted from the image first.

    Returns
    -------
    peaks : `Peaks`
        ``value`` is the smoothed peak, ``snr`` its S/N: the smoothed value
        over ``sqrt(sum k^2 var)`` for the normalised smoothing kernel ``k``
        (a matched filter for a star of FWHM ~3.5 px).
    """
    image = np.ascontiguousarray(image, dtype=np.float32)
    variance = np.ascontiguousarray(variance, dtype=np.float32)
    if isinstance(bad, tuple):
        mask, bits = np.ascontiguousarray(bad[0]), int(bad[1])
    else:
        mask, bits = np.ascontiguousarray(bad).view(np.uint8), 1
    if background is None:
        rows, cols = np.zeros(image.shape[0], np.intc), np.zeros(image.shape[1], np.intc)
        background = BackgroundGrid(np.zeros((1, 1), np.float32), rows, rows,
                                    np.zeros(image.shape[0], np.float32), cols, cols,
                                    np.zeros(image.shape[1], np.float32))
    nodes = (background.grid, background.row_lo, background.row_hi, background.row_frac,
             background.col_lo, background.col_hi, background.col_frac)
    kernel = smoothing_kernel()
    power = float(np.sum(kernel.astype(float) ** 2) ** 2)
    y, x, value, snr = smoothed_peaks(image, variance, mask, bits, *nodes, kernel, power,
                                      float(threshold))
    order = np.argsort(-value, kind="stable")
    return Peaks(x=x[order], y=y[order], value=value[order], snr=snr[order])
