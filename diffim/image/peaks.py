"""Peak finding on a smoothed significance image (no PSF model needed)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

__all__ = ["Peaks", "find_peaks"]

_DETECTION_SIGMA = 1.5
"""Sigma (px) of the Gaussian that smooths the image before peak finding."""


@dataclass(frozen=True)
class Peaks:
    """Local maxima of the smoothed image, brightest first (array coordinates)."""

    x: np.ndarray
    y: np.ndarray
    value: np.ndarray
    snr: np.ndarray


def find_peaks(residual, variance, good, threshold):
    """Local maxima of the Gaussian-smoothed image with S/N >= ``threshold``.

    Parameters
    ----------
    residual : `numpy.ndarray`
        Background-subtracted image, zero where not ``good``.
    variance : `numpy.ndarray`
        Per-pixel variance.
    good : `numpy.ndarray`
        Usable pixels; peaks are only reported there.
    threshold : `float`
        Minimum S/N of the smoothed peak.

    Returns
    -------
    peaks : `Peaks`
        ``value`` is the smoothed peak, ``snr`` its S/N: the smoothed value
        over ``sqrt(sum k^2 var)`` for the normalised smoothing kernel ``k``
        (a matched filter for a star of FWHM ~3.5 px).
    """
    # float32 throughout: detection needs no more, and a 4k image then costs
    # 64 MB per temporary instead of 128.
    smoothed = ndimage.gaussian_filter(np.asarray(residual, np.float32), _DETECTION_SIGMA,
                                       mode="constant")
    delta = np.zeros((2 * int(4 * _DETECTION_SIGMA) + 1,) * 2)
    delta[delta.shape[0] // 2, delta.shape[1] // 2] = 1.0
    kernel = ndimage.gaussian_filter(delta, _DETECTION_SIGMA, mode="constant")
    kernel_power = float((kernel ** 2).sum())
    snr = ndimage.gaussian_filter(np.asarray(variance, np.float32), _DETECTION_SIGMA,
                                  mode="nearest")
    snr *= np.float32(kernel_power)
    np.sqrt(snr, out=snr)
    np.divide(smoothed, snr, out=snr)
    is_peak = ((snr == ndimage.maximum_filter(snr, size=5, mode="constant"))
               & (snr >= threshold) & good)
    y, x = np.nonzero(is_peak)
    order = np.argsort(-smoothed[y, x], kind="stable")
    y, x = y[order], x[order]
    return Peaks(x=x, y=y, value=smoothed[y, x], snr=snr[y, x])
