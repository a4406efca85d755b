"""Measure the PSF of an image that has no PSF model, from its stars."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from ..errors import PsfError
from ..image.background import estimate_background
from ..image.peaks import find_peaks
from ..image.stats import clipped_stats
from .base import default_size
from .fitting import fit_moffat
from .pixel import LANCZOS_ORDER, PixelPsf, shift_image

__all__ = ["PsfMeasurement", "measure_psf"]

_ROUGH_WINDOW = 15
"""Half-width (px) of the window in which the rough half-maximum area is counted."""


@dataclass(frozen=True)
class PsfMeasurement:
    """What `measure_psf` found.

    Attributes
    ----------
    fwhm : `float`
        Median FWHM of the stars used, in pixels.
    fwhm_scatter : `float`
        Robust (1.4826 MAD) scatter of their FWHM, in pixels.
    psf : `PixelPsf`
        Stack of the stars, each background-subtracted, normalised and
        re-centred on the middle pixel.
    n_stars : `int`
        Number of stars used.
    star_x, star_y : `numpy.ndarray`
        Their fitted centres, parent pixel coordinates.
    star_fwhm : `numpy.ndarray`
        Their fitted FWHM, in pixels.
    """

    fwhm: float
    fwhm_scatter: float
    psf: PixelPsf
    n_stars: int
    star_x: np.ndarray
    star_y: np.ndarray
    star_fwhm: np.ndarray


def _check_planes(image, variance, bad_pixels):
    image = np.asarray(image, dtype=np.float64)
    if image.ndim != 2:
        raise PsfError(f"measure_psf needs a 2-D image, got shape {image.shape}")
    good = np.isfinite(image)
    if bad_pixels is not None:
        bad_pixels = np.asarray(bad_pixels)
        if bad_pixels.shape != image.shape or bad_pixels.dtype != bool:
            raise PsfError(f"bad_pixels must be a boolean array of shape {image.shape}")
        good &= ~bad_pixels
    if variance is not None:
        variance = np.asarray(variance, dtype=np.float64)
        if variance.shape != image.shape:
            raise PsfError(f"variance shape {variance.shape} differs from image shape "
                           f"{image.shape}")
        good &= np.isfinite(variance) & (variance > 0.0)
    if not good.any():
        raise PsfError("measure_psf found no usable pixel in the image")
    return image, variance, good


def _rough_fwhm(residual, good, peaks, count=30):
    """Median FWHM from the half-maximum areas of the brightest clean peaks."""
    widths = []
    n_rows, n_cols = residual.shape
    for x, y in zip(peaks.x[:3 * count], peaks.y[:3 * count]):
        rows = slice(y - _ROUGH_WINDOW, y + _ROUGH_WINDOW + 1)
        cols = slice(x - _ROUGH_WINDOW, x + _ROUGH_WINDOW + 1)
        if rows.start < 0 or cols.start < 0 or rows.stop > n_rows or cols.stop > n_cols:
            continue
        if not good[rows, cols].all():
            continue
        window = residual[rows, cols]
        centre = slice(_ROUGH_WINDOW - 1, _ROUGH_WINDOW + 2)
        peak = window[centre, centre].max()
        labels, _ = ndimage.label(window >= 0.5 * peak)
        peak_label = labels[np.unravel_index(np.argmax(np.where(labels > 0, window, -np.inf)),
                                             window.shape)]
        widths.append(2.0 * math.sqrt((labels == peak_label).sum() / math.pi))
        if len(widths) == count:
            break
    return float(np.median(widths)) if widths else None


def _too_few(found, min_stars, detail):
    return PsfError(f"measure_psf found {found} isolated unsaturated stars, need at least "
                    f"{min_stars} ({detail})")


def measure_psf(image, variance=None, bad_pixels=None, xy0=(0, 0), *, max_stars=50,
                min_stars=3, min_snr=50.0, detection_snr=5.0, neighbour_ratio=0.1,
                psf_size=None, clip_sigma=3.0, max_chi2_ratio=10.0, background_cell=64):
    """Measure the FWHM and a pixelised PSF from the stars in an image.

    Parameters
    ----------
    image : `numpy.ndarray`
        2-D image, indexed ``[y, x]``; NaN pixels are ignored.
    variance : `numpy.ndarray`, optional
        Per-pixel variance; default the clipped sky variance everywhere.
    bad_pixels : `numpy.ndarray`, optional
        Boolean mask of pixels to avoid (saturated, bad columns, ...).
    xy0 : `tuple` of `int`
        Parent coordinates of ``image[0, 0]``.
    max_stars : `int`
        At most this many (the brightest good) stars are used.
    min_stars : `int`
        Fewer good stars than this is an error.
    min_snr : `float`
        Minimum matched-filter S/N of a PSF star.
    detection_snr : `float`
        S/N of the peaks that count as neighbours.
    neighbour_ratio : `float`
        A star is rejected if a peak at least this fraction of its own
        (smoothed) height lies within its stamp's half-diagonal plus one
        FWHM; fainter peaks in the stamp are masked out of the fit.
    psf_size : `int`, optional
        Side of the star stamps and of the PSF image; default
        ``2 ceil(3 FWHM) + 1`` from a rough first estimate, within [11, 101].
    clip_sigma : `float`
        Stars whose FWHM differs from the median by more than this many
        robust sigmas (at least 0.5 % of the median) are rejected: galaxies,
        cosmic rays, blends.
    max_chi2_ratio : `float`
        Stars whose reduced chi^2 exceeds this multiple of the median are
        rejected: undetected neighbours, blends.
    background_cell : `int`
        Cell side (px) of the background estimate.

    Returns
    -------
    measurement : `PsfMeasurement`

    Raises
    ------
    PsfError
        If the inputs are malformed, or fewer than ``min_stars`` isolated,
        unsaturated, unresolved stars are found.

    Notes
    -----
    Each star is fitted with a pixel-integrated elliptical Moffat (free
    amplitude, centre, background, FWHM, beta, ellipticity; the Gaussian is
    its ``beta -> inf`` limit, see `diffim.psf.fitting`), so the FWHM is
    right for Gaussian-like and Moffat-like stars alike.
    """
    if not 1 <= min_stars <= max_stars:
        raise PsfError(f"measure_psf needs 1 <= min_stars <= max_stars, got {min_stars}, "
                       f"{max_stars}")
    image, variance, good = _check_planes(image, variance, bad_pixels)
    background = estimate_background(np.where(good, image, 0.0), good, background_cell)
    residual = np.where(good, image - background, 0.0)
    if variance is None:
        sky_sigma = clipped_stats(residual[good])[1]
        if sky_sigma == 0.0:
            raise PsfError("measure_psf cannot estimate the sky noise (the image is flat "
                           "almost everywhere); pass a variance plane")
        variance = np.full(image.shape, sky_sigma ** 2)
    variance = np.where(good, variance, np.median(variance[good]))
    peaks = find_peaks(residual, variance, good, detection_snr)
    bright = peaks.snr >= min_snr
    fwhm_guess = _rough_fwhm(residual, good, _subset(peaks, bright))
    if fwhm_guess is None:
        raise _too_few(0, min_stars,
                       f"no peak with S/N >= {min_snr} away from edges and bad pixels")
    size = default_size(3.0 * fwhm_guess) if psf_size is None else int(psf_size)
    if size < 5 or size % 2 == 0:
        raise PsfError(f"psf_size must be odd and >= 5, got {psf_size}")
    half = size // 2
    reach = half * math.sqrt(2.0) + fwhm_guess

    fitted = []
    for index in np.nonzero(bright)[0]:
        if len(fitted) == 2 * max_stars:
            break
        star = _fit_star(index, peaks, residual, variance, good, half, reach, fwhm_guess,
                         neighbour_ratio)
        if star is not None:
            fitted.append(star)
    if len(fitted) < min_stars:
        raise _too_few(len(fitted), min_stars,
                       f"of {int(bright.sum())} peaks with S/N >= {min_snr}")
    widths = np.array([fit.fwhm for _, _, fit, _ in fitted])
    chi2 = np.array([fit.reduced_chi2 for _, _, fit, _ in fitted])
    kept = np.ones(len(fitted), dtype=bool)
    for _ in range(5):
        median, sigma = clipped_stats(widths[kept], iterations=0)
        new_kept = ((np.abs(widths - median) <= clip_sigma * max(sigma, 0.005 * median))
                    & (chi2 <= max_chi2_ratio * np.median(chi2[kept])))
        if np.array_equal(new_kept, kept):
            break
        kept = new_kept
        if kept.sum() < min_stars:
            break
    stars = [star for star, keep in zip(fitted, kept) if keep][:max_stars]
    if len(stars) < min_stars:
        raise _too_few(len(stars), min_stars,
                       f"{len(fitted)} fitted, the rest rejected by size or chi^2")
    widths = np.array([fit.fwhm for _, _, fit, _ in stars])
    median, scatter = clipped_stats(widths, iterations=0)
    psf = PixelPsf(_stack(stars, residual, variance, good, half))
    return PsfMeasurement(
        fwhm=median, fwhm_scatter=scatter, psf=psf, n_stars=len(stars),
        star_x=np.array([x0 + fit.x for x0, _, fit, _ in stars]) + xy0[0],
        star_y=np.array([y0 + fit.y for _, y0, fit, _ in stars]) + xy0[1],
        star_fwhm=widths,
    )


def _subset(peaks, selection):
    return type(peaks)(x=peaks.x[selection], y=peaks.y[selection],
                       value=peaks.value[selection], snr=peaks.snr[selection])


def _fit_star(index, peaks, residual, variance, good, half, reach, fwhm_guess, neighbour_ratio):
    """Fit one candidate; ``(x0, y0, fit, mask)`` or None if it is not a clean star.

    The stamp (plus the Lanczos margin used when stacking) must lie inside
    the image with no bad pixel, and no neighbour may be too bright.
    """
    x, y, value = peaks.x[index], peaks.y[index], peaks.value[index]
    # Room for re-centring by up to 2 px plus the Lanczos margin when stacking.
    margin = half + LANCZOS_ORDER + 3
    n_rows, n_cols = residual.shape
    if x < margin or y < margin or x >= n_cols - margin or y >= n_rows - margin:
        return None
    x0, y0 = x - half, y - half
    rows, cols = slice(y0, y0 + 2 * half + 1), slice(x0, x0 + 2 * half + 1)
    if not good[rows, cols].all():
        return None
    distance = np.hypot(peaks.x - x, peaks.y - y)
    neighbours = (distance > 0) & (distance <= reach)
    if np.any(peaks.value[neighbours] >= neighbour_ratio * value):
        return None
    # Fainter neighbours: mask a disc of 1.5 FWHM around each.
    yy, xx = np.mgrid[rows, cols]
    mask = np.ones(xx.shape, dtype=bool)
    for nx, ny in zip(peaks.x[neighbours], peaks.y[neighbours]):
        mask &= np.hypot(xx - nx, yy - ny) > 1.5 * fwhm_guess
    if mask.mean() < 0.5:
        return None
    weights = np.where(mask, 1.0 / variance[rows, cols], 0.0)
    fit = fit_moffat(residual[rows, cols], weights, half, half, fwhm_guess)
    centred = abs(fit.x - half) <= 2.0 and abs(fit.y - half) <= 2.0
    if not (fit.success and centred and fit.flux_in_stamp > 0.0):
        return None
    return x0, y0, fit, mask


def _stack(stars, residual, variance, good, half):
    """Weighted mean of the re-centred, normalised star stamps (sum 1).

    Stars are weighted by flux^2 / sky variance (inverse variance of the
    normalised stamp); bad pixels and masked neighbours, grown by a pixel for
    the interpolation footprint, get no weight.
    """
    size = 2 * half + 1
    total = np.zeros((size, size))
    weight_sum = np.zeros((size, size))
    pad = LANCZOS_ORDER
    for x0, y0, fit, mask in stars:
        x_centre, y_centre = x0 + fit.x, y0 + fit.y
        x_pixel, y_pixel = round(x_centre), round(y_centre)
        rows = slice(y_pixel - half - pad, y_pixel + half + pad + 1)
        cols = slice(x_pixel - half - pad, x_pixel + half + pad + 1)
        stamp = (residual[rows, cols] - fit.background) / fit.flux_in_stamp
        shifted = shift_image(stamp, x_pixel - x_centre, y_pixel - y_centre)[pad:-pad, pad:-pad]
        usable_before = good[rows, cols].copy()
        row_offset, col_offset = y0 - rows.start, x0 - cols.start
        usable_before[row_offset:row_offset + size, col_offset:col_offset + size] &= mask
        usable = ~ndimage.binary_dilation(~usable_before)[pad:-pad, pad:-pad]
        star_weight = fit.flux_in_stamp ** 2 / float(np.median(variance[rows, cols]))
        total += np.where(usable, star_weight * shifted, 0.0)
        weight_sum += np.where(usable, star_weight, 0.0)
    stack = np.divide(total, weight_sum, out=np.zeros_like(total), where=weight_sum > 0.0)
    return stack / stack.sum()
