"""The ZOGY filters of one pair of PSFs, as pixel kernels and scalars.

Notation of Zackay, Ofek & Gal-Yam (2016, ApJ 830, 27; "ZOGY"): ``N`` the
new (science) image, ``R`` the reference (template), ``P_n``, ``P_r`` their
PSFs, ``sigma_n^2``, ``sigma_r^2`` their background variances and ``F_n``,
``F_r`` their flux zero points. Here every flux is in science counts, so
``F_n = 1`` and ``F_r`` is the template's counts per science count. With
hats for Fourier transforms and

.. math::

    \\mathrm{den} = \\sigma_n^2 F_r^2 |\\hat P_r|^2 + \\sigma_r^2 |\\hat P_n|^2,

the proper difference (eq. 13) is ``D = c_n (x) N - c_r (x) R`` with
``c_n^ = F_r P_r^ / sqrt(den)`` and ``c_r^ = P_n^ / sqrt(den)``: white noise
of unit variance for uniform backgrounds, PSF ``P_d^ = F_r P_r^ P_n^ /
(F_d sqrt(den))`` (eq. 14) and flux zero point ``F_d = F_r / sqrt(sigma_n^2
F_r^2 + sigma_r^2)`` (eq. 15). The score (eq. 17) is ``S = F_d D (x)
flip(P_d) = k_n (x) N - k_r (x) R`` with ``k^ = conj(F_d P_d^) c^``; a point
source of flux ``alpha`` peaks in S at ``alpha F_s``, ``F_s = F_d^2 sum
P_d^2``, and S has background variance ``F_s``: ``alpha sqrt(F_s)`` is the
optimal S/N (eq. 18 with ``F_n = 1``).

The pixel kernels are computed on a small grid (four times the PSF stamp,
a power of two): the filters decay within a few PSF widths, so that grid
holds them whole. The squared kernels (``c_n^2`` ...) propagate variance
planes (paper section 3.3: the source-noise terms); `reach` is the
half-width outside which their energy is negligible, the padding the big
transforms need.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.fft

from ..errors import DiffimError
from ..psf.base import image_moments

__all__ = ["ZogyKernels", "zogy_kernels"]

# Fraction of a squared filter's sum allowed outside the reach: the variance
# planes it propagates are then right to 1e-5, far below their own accuracy.
_ENERGY_TOLERANCE = 1e-5


@dataclass
class ZogyKernels:
    """The ZOGY filters of one PSF pair (see the module docstring).

    Attributes
    ----------
    psf_new, psf_ref : `numpy.ndarray`
        The two PSF stamps, normalised, padded to a common odd size.
    var_new, var_ref : `float`
        Background variances (``sigma_n^2``, ``sigma_r^2``).
    flux_ref : `float`
        ``F_r``: template counts per science count.
    flux_difference : `float`
        ``F_d``.
    flux_score : `float`
        ``F_s``.
    difference_psf, score_psf : `numpy.ndarray`
        ``P_d`` and the PSF of S (``P_d`` correlated with itself), centred,
        odd-sized, summing to 1.
    squared : `dict` [`str`, `numpy.ndarray`]
        ``c_new``, ``c_ref``, ``k_new``, ``k_ref``: the squared pixel filters,
        centred, ``2 reach + 1`` on a side.
    reach : `int`
        Half-width of the filters' support, pixels.
    """

    psf_new: np.ndarray
    psf_ref: np.ndarray
    var_new: float
    var_ref: float
    flux_ref: float
    flux_difference: float
    flux_score: float
    difference_psf: np.ndarray
    score_psf: np.ndarray
    squared: dict
    reach: int


def _centred_pad(stamp, size):
    border = (size - stamp.shape[0]) // 2
    return np.pad(stamp, border)


def _crop(image, half):
    """The centred ``2 half + 1`` square of an fftshifted small-grid image."""
    centre = image.shape[0] // 2
    return image[centre - half:centre + half + 1, centre - half:centre + half + 1]


def _reach(squared_images, limit):
    """Smallest half-width holding all but ``_ENERGY_TOLERANCE`` of each image's sum."""
    for half in range(1, limit + 1):
        if all(_crop(image, half).sum() >= (1.0 - _ENERGY_TOLERANCE) * image.sum()
               for image in squared_images):
            return half
    return limit


def check_centroids(psf_new, psf_ref, max_distance):
    """Raise `DiffimError` if the two PSF stamps' centroids differ by more than ``max_distance`` px."""
    new = image_moments(psf_new)[:2]
    ref = image_moments(psf_ref)[:2]
    distance = float(np.hypot(new[0] - ref[0], new[1] - ref[1]))
    if distance > max_distance:
        raise DiffimError(f"science and template PSF centroids differ by {distance:.3f} px, "
                          f"more than maxPsfCentroidDist={max_distance}")


def zogy_kernels(psf_new, psf_ref, var_new, var_ref, flux_ref):
    """The ZOGY filters for two PSF stamps and background variances.

    Parameters
    ----------
    psf_new, psf_ref : `numpy.ndarray`
        Science and template PSF kernel images (odd, centred; any sizes).
    var_new, var_ref : `float`
        Science and template background variances (> 0).
    flux_ref : `float`
        Template counts per science count (> 0).

    Returns
    -------
    kernels : `ZogyKernels`
    """
    for name, value in (("science variance", var_new), ("template variance", var_ref),
                        ("template flux scale", flux_ref)):
        if not (np.isfinite(value) and value > 0):
            raise DiffimError(f"ZOGY needs a finite, positive {name}, got {value}")
    size = max(psf_new.shape[0], psf_ref.shape[0])
    psf_new = _centred_pad(np.asarray(psf_new, float) / np.sum(psf_new), size)
    psf_ref = _centred_pad(np.asarray(psf_ref, float) / np.sum(psf_ref), size)
    grid = max(64, 1 << int(np.ceil(np.log2(4 * size))))
    shape = (grid, grid)

    def spectrum(stamp):
        wrapped = np.zeros(shape)
        offsets = np.arange(-(size // 2), size // 2 + 1) % grid
        wrapped[np.ix_(offsets, offsets)] = stamp
        return scipy.fft.rfft2(wrapped)

    def pixels(transform):
        return np.fft.fftshift(scipy.fft.irfft2(transform, s=shape))

    p_new, p_ref = spectrum(psf_new), spectrum(psf_ref)
    den = var_new * flux_ref ** 2 * np.abs(p_ref) ** 2 + var_ref * np.abs(p_new) ** 2
    root = np.sqrt(np.maximum(den, np.finfo(float).tiny))
    c_new = flux_ref * p_ref / root
    c_ref = p_new / root
    scaled_psf = c_new * p_new  # F_d P_d^
    flux_difference = flux_ref / np.sqrt(var_new * flux_ref ** 2 + var_ref)
    difference_psf = pixels(scaled_psf) / flux_difference
    flux_score = flux_difference ** 2 * float(np.sum(difference_psf ** 2))
    score_psf = pixels(np.abs(scaled_psf) ** 2)
    squared = {"c_new": pixels(c_new) ** 2, "c_ref": pixels(c_ref) ** 2,
               "k_new": pixels(np.conj(scaled_psf) * c_new) ** 2,
               "k_ref": pixels(np.conj(scaled_psf) * c_ref) ** 2}
    reach = max(size // 2, _reach(list(squared.values()), grid // 2 - 1))
    half = size // 2
    return ZogyKernels(
        psf_new=psf_new, psf_ref=psf_ref, var_new=float(var_new), var_ref=float(var_ref),
        flux_ref=float(flux_ref), flux_difference=float(flux_difference),
        flux_score=flux_score,
        difference_psf=_normalised(_crop(difference_psf, half)),
        score_psf=_normalised(_crop(score_psf, min(grid // 2 - 1, 2 * half))),
        squared={name: _crop(image, reach) for name, image in squared.items()}, reach=reach)


def _normalised(image):
    return image / image.sum()
