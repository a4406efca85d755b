"""Measure the PSF of an image that has no PSF model, from a stack of its stars.

The stars are the brightest isolated, unsaturated peaks of one significance
pass over the image (`diffim.image.peaks`) that lie on the stellar locus, the
smallest size shared by many peaks (`diffim.psf.locus`): on fields dominated
by galaxies the brightest peaks are galaxies. When too few stars are found at
the usual S/N, fainter ones are taken. All of them are measured at once
with array operations, without a fit per star: a local sky from the border of
the stamp, a Gaussian-weighted centroid and Gaussian-weighted second moments.
The stars are re-centred (Lanczos-5) and averaged into a pixel PSF; each star
is then fitted as a scaled copy of that stack plus a constant (a linear fit),
and stars whose size or misfit is off (galaxies, cosmic rays, blends,
undetected neighbours) are clipped before the stack is made again from the
fitted fluxes and skies. The one non-linear fit is of the final stack, for
its FWHM (`PixelPsf.computeFwhm`); each star's FWHM is that FWHM scaled by
its own moment size relative to the stack's.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .._core import _planes
from ..errors import PsfError
from ..image.background import BackgroundGrid, background_grid
from ..image.peaks import Peaks, find_peaks
from ..image.stats import clipped_stats
from .base import SIGMA_TO_FWHM, default_size
from .locus import LOCUS_HALF, adaptive_fwhm, stellar_locus
from .pixel import LANCZOS_ORDER, PixelPsf, shift_images

__all__ = ["PsfMeasurement", "measure_psf"]

_ROUGH_WINDOW = 15
"""Half-width (px) of the window in which the rough half-maximum area is counted."""

_LOCUS_PEAKS = 300
"""At most this many bright peaks (the brightest clean ones) place the stellar locus."""

_CENTROID_ITERATIONS = 10
_MIN_STARS_FOR_PLANE = 10
"""Fewest stars from which the PSF's variation across the image is fitted (a plane per pixel)."""

_MAX_CENTRE_SHIFT = 2.0
"""A star whose centroid lies further than this (px) from its peak pixel is not used."""


@dataclass(frozen=True)
class PsfMeasurement:
    """What `measure_psf` found.

    Attributes
    ----------
    fwhm : `float`
        FWHM of the stacked PSF, in pixels (a pixel-integrated elliptical
        Moffat fitted to it, Gaussian limit included).
    fwhm_scatter : `float`
        Robust (1.4826 MAD) scatter of the stars' FWHM, in pixels.
    psf : `PixelPsf`
        Stack of the stars, each sky-subtracted, normalised and re-centred
        on the middle pixel.
    n_stars : `int`
        Number of stars used.
    star_x, star_y : `numpy.ndarray`
        Their centroids, parent pixel coordinates.
    star_fwhm : `numpy.ndarray`
        Their FWHM, in pixels.
    peaks : `diffim.image.peaks.Peaks`
        The image's peaks with S/N >= ``detection_snr`` (array coordinates)
        and the ``background`` they were found over: the one pass over the
        image, for callers that need it again (kernel-source detection).
    background : `diffim.image.background.BackgroundGrid`
    """

    fwhm: float
    fwhm_scatter: float
    psf: PixelPsf
    n_stars: int
    star_x: np.ndarray
    star_y: np.ndarray
    star_fwhm: np.ndarray
    peaks: Peaks
    background: BackgroundGrid


def _check_planes(image, variance, bad_pixels):
    """float32 planes and the boolean map of unusable pixels."""
    image = np.asarray(image)
    if image.ndim != 2:
        raise PsfError(f"measure_psf needs a 2-D image, got shape {image.shape}")
    image = np.ascontiguousarray(image, dtype=np.float32)
    if bad_pixels is not None:
        bad_pixels = np.ascontiguousarray(bad_pixels)
        if bad_pixels.shape != image.shape or bad_pixels.dtype != bool:
            raise PsfError(f"bad_pixels must be a boolean array of shape {image.shape}")
    if variance is not None:
        variance = np.asarray(variance)
        if variance.shape != image.shape:
            raise PsfError(f"variance shape {variance.shape} differs from image shape "
                           f"{image.shape}")
        variance = np.ascontiguousarray(variance, dtype=np.float32)
    # Non-finite image, bad_pixels, variance not finite and > 0: one pass.
    bad = np.empty(image.shape, dtype=bool)
    usable = _planes.unusable_for_psf(
        image, image if variance is None else variance,
        bad.view(np.uint8) if bad_pixels is None else bad_pixels.view(np.uint8),
        variance is not None, bad_pixels is not None, bad.view(np.uint8))
    if usable == 0:
        raise PsfError("measure_psf found no usable pixel in the image")
    return image, variance, bad


def _stamps(image, bad, background, x, y, half):
    """Sky-subtracted stamps (float64), ``2 half + 1`` square around pixels ``(x, y)``, and their usable pixels.

    The stamps must lie inside the image.
    """
    offsets = np.arange(-half, half + 1)
    rows = np.asarray(y)[:, np.newaxis, np.newaxis] + offsets[np.newaxis, :, np.newaxis]
    cols = np.asarray(x)[:, np.newaxis, np.newaxis] + offsets[np.newaxis, np.newaxis, :]
    residual = image[rows, cols].astype(np.float64) - background.at(rows, cols)
    return residual, ~bad[rows, cols]


def _rough_fwhm(image, bad, background, peaks, count=30):
    """Median FWHM from the half-maximum areas of the brightest clean peaks."""
    n_rows, n_cols = image.shape
    inside = ((peaks.x >= _ROUGH_WINDOW) & (peaks.y >= _ROUGH_WINDOW)
              & (peaks.x < n_cols - _ROUGH_WINDOW) & (peaks.y < n_rows - _ROUGH_WINDOW))
    chosen = np.nonzero(inside[:3 * count])[0]
    if not len(chosen):
        return None
    windows, usable = _stamps(image, bad, background, peaks.x[chosen], peaks.y[chosen],
                              _ROUGH_WINDOW)
    widths = []
    centre = slice(_ROUGH_WINDOW - 1, _ROUGH_WINDOW + 2)
    for window in windows[usable.all(axis=(1, 2))][:count]:
        peak = window[centre, centre].max()
        above = window >= 0.5 * peak
        if above.any():
            brightest = np.unravel_index(np.argmax(np.where(above, window, -np.inf)),
                                         window.shape)
            area = _connected_area(above, brightest)
        else:
            area = above.size
        widths.append(2.0 * math.sqrt(area / math.pi))
    return float(np.median(widths)) if widths else None


def _on_locus(image, bad, background, bright, min_stars):
    """The bright peaks on the stellar locus (`diffim.psf.locus`), brightest first.

    Sizes are measured on the first `_LOCUS_PEAKS` bright peaks whose locus
    stamp lies inside the image and has no bad pixel (looked for among twice
    as many); none when no locus is found.
    """
    n_rows, n_cols = image.shape
    inside = np.nonzero((bright.x >= LOCUS_HALF) & (bright.y >= LOCUS_HALF)
                        & (bright.x < n_cols - LOCUS_HALF)
                        & (bright.y < n_rows - LOCUS_HALF))[0][:2 * _LOCUS_PEAKS]
    stamps, usable = _stamps(image, bad, background, bright.x[inside], bright.y[inside],
                             LOCUS_HALF)
    clean = usable.all(axis=(1, 2))
    chosen = inside[clean][:_LOCUS_PEAKS]
    _, on_locus = stellar_locus(adaptive_fwhm(stamps[clean][:_LOCUS_PEAKS]), min_stars)
    return bright.subset(chosen[on_locus])


def _connected_area(region, start):
    """Pixels of ``region`` (2-D boolean) 4-connected to ``start`` (a pixel of it)."""
    n_rows, n_cols = region.shape
    seen = np.zeros(region.shape, bool)
    seen[start] = True
    pending = [start]
    while pending:
        row, col = pending.pop()
        for r, c in ((row - 1, col), (row + 1, col), (row, col - 1), (row, col + 1)):
            if 0 <= r < n_rows and 0 <= c < n_cols and region[r, c] and not seen[r, c]:
                seen[r, c] = True
                pending.append((r, c))
    return int(seen.sum())


def _grown(bad):
    """``bad`` (``(n, rows, cols)`` boolean) grown by one pixel in each stamp: a 3 x 3 square."""
    grown = bad.copy()
    grown[:, 1:, :] |= bad[:, :-1, :]
    grown[:, :-1, :] |= bad[:, 1:, :]
    rows = grown.copy()
    grown[:, :, 1:] |= rows[:, :, :-1]
    grown[:, :, :-1] |= rows[:, :, 1:]
    return grown


class _TooFewStars(PsfError):
    """Too few stars at one S/N threshold (`measure_psf` may try a lower one)."""


def _too_few(found, min_stars, detail):
    return _TooFewStars(f"measure_psf found {found} isolated unsaturated stars, need at least "
                    f"{min_stars} ({detail})")


def _sky_variance(image, bad, background, samples=1 << 18):
    """Clipped variance of the sky-subtracted image, from at most ``samples`` spread pixels."""
    flat_good = np.flatnonzero(~bad)
    step = max(1, len(flat_good) // samples)
    picked = flat_good[::step]
    rows, cols = np.unravel_index(picked, image.shape)
    sigma = clipped_stats(image[rows, cols] - background.at(rows, cols))[1]
    if sigma == 0.0:
        raise PsfError("measure_psf cannot estimate the sky noise (the image is flat "
                       "almost everywhere); pass a variance plane")
    return sigma ** 2


def measure_psf(image, variance=None, bad_pixels=None, xy0=(0, 0), *, max_stars=50,
                min_stars=3, min_snr=50.0, fallback_snr=20.0, detection_snr=5.0, neighbour_ratio=0.1,
                psf_size=None, clip_sigma=3.0, max_chi2_ratio=10.0, background_cell=64):
    """Measure the FWHM and a pixelised PSF from the stars in an image.

    Parameters
    ----------
    image : `numpy.ndarray`
        2-D image, indexed ``[y, x]``; NaN pixels are ignored.
    variance : `numpy.ndarray`, optional
        Per-pixel variance; default the clipped sky variance everywhere.
        Pixels with a variance that is not finite and positive are ignored.
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
    fallback_snr : `float`
        When fewer than ``min_stars`` stars are left at ``min_snr``, the
        search is made again down to this S/N: fields dominated by galaxies
        (clusters, deep fields) have few bright stars.
    detection_snr : `float`
        S/N of the peaks that count as neighbours.
    neighbour_ratio : `float`
        A star is rejected if a peak at least this fraction of its own
        (smoothed) height lies within its stamp's half-diagonal plus one
        FWHM; fainter peaks in the stamp are masked out.
    psf_size : `int`, optional
        Side of the star stamps and of the PSF image; default
        ``2 ceil(3 FWHM) + 1`` from a rough first estimate, within [11, 101].
    clip_sigma : `float`
        Stars whose FWHM differs from the median by more than this many
        robust sigmas (at least 0.5 % of the median) are rejected: galaxies,
        cosmic rays, blends.
    max_chi2_ratio : `float`
        Stars whose reduced chi^2 against the stack exceeds this multiple of
        the median are rejected: undetected neighbours, blends.
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
    """
    if not 1 <= min_stars <= max_stars:
        raise PsfError(f"measure_psf needs 1 <= min_stars <= max_stars, got {min_stars}, "
                       f"{max_stars}")
    image, variance, bad = _check_planes(image, variance, bad_pixels)
    background = background_grid(image, ~bad, background_cell)
    if variance is None:
        variance = np.full(image.shape, _sky_variance(image, bad, background), np.float32)
    peaks = find_peaks(image, variance, bad, detection_snr, background)
    # The locus is placed with the faint peaks too: few bright peaks may not show it.
    on_locus = _on_locus(image, bad, background,
                         peaks.subset(peaks.snr >= min(min_snr, fallback_snr)), min_stars)
    planes = (image, variance, bad, background, peaks, on_locus)
    settings = dict(max_stars=max_stars, min_stars=min_stars, neighbour_ratio=neighbour_ratio,
                    psf_size=psf_size, clip_sigma=clip_sigma, max_chi2_ratio=max_chi2_ratio)
    try:
        psf, stars, kept = _from_peaks(planes, min_snr, **settings)
    except _TooFewStars:
        if not fallback_snr < min_snr:
            raise
        psf, stars, kept = _from_peaks(planes, fallback_snr, **settings)
    fwhm = float(psf.computeFwhm(0.0, 0.0))
    stack_size = _gaussian_variance_of(psf, stars.weight_sigma)
    star_fwhm = fwhm * np.sqrt(stars.gaussian_variance[kept] / stack_size)
    return PsfMeasurement(
        fwhm=fwhm, fwhm_scatter=clipped_stats(star_fwhm, iterations=0)[1], psf=psf,
        n_stars=int(kept.sum()), star_x=stars.x[kept] + xy0[0], star_y=stars.y[kept] + xy0[1],
        star_fwhm=star_fwhm, peaks=peaks, background=background,
    )


def _from_peaks(planes, min_snr, *, max_stars, min_stars, neighbour_ratio, psf_size, clip_sigma,
                max_chi2_ratio):
    """The stacked PSF, the measured stars and those kept, from the peaks on the stellar
    locus with S/N >= ``min_snr``."""
    image, variance, bad, background, peaks, on_locus = planes
    bright = on_locus.subset(on_locus.snr >= min_snr)
    fwhm_guess = _rough_fwhm(image, bad, background, bright)
    if fwhm_guess is None:
        raise _too_few(0, min_stars,
                       f"no stellar locus among the peaks with S/N >= {min_snr:g} away from "
                       "edges and bad pixels")
    size = default_size(3.0 * fwhm_guess) if psf_size is None else int(psf_size)
    if size < 5 or size % 2 == 0:
        raise PsfError(f"psf_size must be odd and >= 5, got {psf_size}")
    half = size // 2

    candidates = _candidates(bright, peaks, bad, image.shape, half, fwhm_guess, neighbour_ratio,
                             2 * max_stars)
    stars = _measure_stars(image, bad, variance, background, candidates, half, fwhm_guess)
    if stars.count < min_stars:
        raise _too_few(stars.count, min_stars,
                       f"of {len(bright.x)} peaks on the stellar locus with S/N >= {min_snr:g}")
    first = _clip(stars, clip_sigma, None, min_stars)
    stars.fit_to(_stack(stars, first, half))
    kept = _clip(stars, clip_sigma, max_chi2_ratio, min_stars)
    kept[np.cumsum(kept) > max_stars] = False
    if kept.sum() < min_stars:
        raise _too_few(int(kept.sum()), min_stars,
                       f"{stars.count} measured, the rest rejected by size or chi^2")
    return PixelPsf(_stack(stars, kept, half)), stars, kept


def _candidates(bright, peaks, bad, shape, half, fwhm_guess, neighbour_ratio, limit):
    """The first ``limit`` bright peaks that can be PSF stars, and their neighbour masks.

    A star's stamp, with room for re-centring by up to 2 px and the Lanczos
    margin of the stack, lies inside the image; the stamp has no bad pixel;
    no peak at least ``neighbour_ratio`` of its height lies within the
    stamp's half-diagonal plus one FWHM; fainter peaks are masked (discs of
    1.5 FWHM), and at least half the stamp remains.
    """
    margin = half + LANCZOS_ORDER + 3
    n_rows, n_cols = shape
    reach = half * math.sqrt(2.0) + fwhm_guess
    offsets = np.arange(-half, half + 1)
    size = 2 * half + 1
    chosen, masks = [], []
    for index in range(len(bright.x)):
        if len(chosen) == limit:
            break
        x, y, value = bright.x[index], bright.y[index], bright.value[index]
        if x < margin or y < margin or x >= n_cols - margin or y >= n_rows - margin:
            continue
        if bad[y - half:y + half + 1, x - half:x + half + 1].any():
            continue
        distance = np.hypot(peaks.x - x, peaks.y - y)
        neighbours = (distance > 0) & (distance <= reach)
        if np.any(peaks.value[neighbours] >= neighbour_ratio * value):
            continue
        mask = np.ones((size, size), dtype=bool)
        for nx, ny in zip(peaks.x[neighbours], peaks.y[neighbours]):
            mask &= np.hypot(offsets[np.newaxis, :] + x - nx,
                             offsets[:, np.newaxis] + y - ny) > 1.5 * fwhm_guess
        if mask.mean() < 0.5:
            continue
        chosen.append(index)
        masks.append(mask)
    chosen = np.array(chosen, dtype=int)
    return (bright.x[chosen], bright.y[chosen],
            np.array(masks).reshape(len(chosen), 2 * half + 1, 2 * half + 1))


class _Stars:
    """Star stamps and their measurements, one array element per star."""

    def __init__(self, image, bad, variance, background, x, y, usable_mask, half, pad):
        self.image, self.bad, self.variance, self.background = image, bad, variance, background
        self.half, self.pad = half, pad
        self.peak_x, self.peak_y = x, y
        self.usable = usable_mask
        self.count = len(x)

    def keep(self, selection):
        for name in ("peak_x", "peak_y", "usable", "x", "y", "sky", "flux", "gaussian_variance"):
            setattr(self, name, getattr(self, name)[selection])
        self.count = len(self.x)

    def recentred(self):
        """Stamps of side ``2 (half + pad) + 1`` around each star's nearest pixel, with
        their usable pixels (bad pixels and masked neighbours, grown by a pixel
        for the interpolation footprint) and sub-pixel offsets."""
        x_pixel, y_pixel = np.rint(self.x).astype(int), np.rint(self.y).astype(int)
        outer = self.half + self.pad
        stamps, usable = _stamps(self.image, self.bad, self.background, x_pixel, y_pixel, outer)
        # The neighbour mask was made around the peak pixel; move it with the star.
        size = 2 * self.half + 1
        for i in range(self.count):
            row = self.peak_y[i] - y_pixel[i] + self.pad
            col = self.peak_x[i] - x_pixel[i] + self.pad
            usable[i, row:row + size, col:col + size] &= self.usable[i]
        grown = ~_grown(~usable)
        return stamps, grown, x_pixel - self.x, y_pixel - self.y

    def fit_to(self, stack):
        """Fit each star as ``flux * shifted stack + sky`` (weighted linear least squares).

        Sets ``flux`` and ``sky`` and the reduced ``chi2``.
        """
        stamps, usable, dx, dy = self.recentred()
        inner = slice(self.pad, -self.pad)
        x_pixel, y_pixel = np.rint(self.x).astype(int), np.rint(self.y).astype(int)
        offsets = np.arange(-self.half, self.half + 1)
        rows = y_pixel[:, np.newaxis, np.newaxis] + offsets[np.newaxis, :, np.newaxis]
        cols = x_pixel[:, np.newaxis, np.newaxis] + offsets[np.newaxis, np.newaxis, :]
        weights = np.where(usable[:, inner, inner], 1.0 / self.variance[rows, cols], 0.0)
        data = stamps[:, inner, inner]
        models = shift_images(np.broadcast_to(stack, (self.count,) + stack.shape), -dx, -dy)

        def weighted(*factors):
            product = weights
            for factor in factors:
                product = product * factor
            return product.sum(axis=(1, 2))

        # The 2 x 2 normal equations of every star at once.
        s_mm, s_m1, s_11 = weighted(models, models), weighted(models), weighted()
        s_md, s_1d = weighted(models, data), weighted(data)
        determinant = s_mm * s_11 - s_m1 ** 2
        solvable = determinant > 0.0
        with np.errstate(invalid="ignore", divide="ignore"):
            scale = (s_md * s_11 - s_m1 * s_1d) / determinant
            sky = (s_mm * s_1d - s_m1 * s_md) / determinant
        residual = data - scale[:, None, None] * models - sky[:, None, None]
        dof = np.maximum((weights > 0).sum(axis=(1, 2)) - 2, 1)
        self.chi2 = np.where(solvable, weighted(residual, residual) / dof, np.inf)
        self.flux = np.where(solvable, scale * models.sum(axis=(1, 2)), self.flux)
        self.sky = np.where(solvable, sky, self.sky)


def _measure_stars(image, bad, variance, background, candidates, half, fwhm_guess):
    """Sky, centroid, flux and Gaussian-weighted size of every candidate at once."""
    x, y, masks = candidates
    stars = _Stars(image, bad, variance, background, x, y, masks, half, LANCZOS_ORDER)
    if not len(x):
        stars.x = stars.y = stars.sky = stars.flux = stars.gaussian_variance = np.zeros(0)
        stars.weight_sigma = fwhm_guess / SIGMA_TO_FWHM
        return stars
    stamps, _ = _stamps(image, bad, background, x, y, half)
    usable = masks
    border = np.zeros(masks.shape[1:], bool)
    border[[0, -1], :] = border[:, [0, -1]] = True
    sky = np.array([np.median(stamp[use & border]) if (use & border).any() else 0.0
                    for stamp, use in zip(stamps, usable)])
    signal = np.where(usable, stamps - sky[:, np.newaxis, np.newaxis], 0.0)
    offsets = np.arange(-half, half + 1, dtype=float)
    sigma = fwhm_guess / SIGMA_TO_FWHM
    cx = np.zeros(len(x))
    cy = np.zeros(len(x))
    for _ in range(_CENTROID_ITERATIONS):
        weight = np.exp(-0.5 * (((offsets[np.newaxis, np.newaxis, :] - cx[:, None, None]) ** 2
                                 + (offsets[np.newaxis, :, np.newaxis] - cy[:, None, None]) ** 2)
                                / sigma ** 2)) * signal
        total = weight.sum(axis=(1, 2))
        with np.errstate(invalid="ignore", divide="ignore"):
            new_cx = (weight.sum(axis=1) * offsets).sum(axis=1) / total
            new_cy = (weight.sum(axis=2) * offsets).sum(axis=1) / total
        new_cx = np.clip(np.nan_to_num(new_cx), -half, half)
        new_cy = np.clip(np.nan_to_num(new_cy), -half, half)
        if np.allclose(new_cx, cx, atol=1e-4) and np.allclose(new_cy, cy, atol=1e-4):
            cx, cy = new_cx, new_cy
            break
        cx, cy = new_cx, new_cy
    dx2 = (offsets[np.newaxis, np.newaxis, :] - cx[:, None, None]) ** 2
    dy2 = (offsets[np.newaxis, :, np.newaxis] - cy[:, None, None]) ** 2
    weight = np.exp(-0.5 * (dx2 + dy2) / sigma ** 2) * signal
    total = weight.sum(axis=(1, 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        second = (weight * (dx2 + dy2)).sum(axis=(1, 2)) / total
    flux = signal.sum(axis=(1, 2))
    ok = ((total > 0) & (flux > 0) & (np.abs(cx) <= _MAX_CENTRE_SHIFT)
          & (np.abs(cy) <= _MAX_CENTRE_SHIFT) & np.isfinite(second) & (second > 0)
          & (second < 2.0 * sigma ** 2))
    stars.x, stars.y = x + cx, y + cy
    stars.sky, stars.flux = sky, flux
    stars.gaussian_variance = _deweighted(second, sigma)
    stars.weight_sigma = sigma
    stars.keep(ok)
    return stars


def _deweighted(second, weight_sigma):
    """Per-axis variance of the Gaussian whose ``weight_sigma``-weighted ``<r^2>`` is ``second``."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return second * weight_sigma ** 2 / (2.0 * weight_sigma ** 2 - second)


def _gaussian_variance_of(psf, weight_sigma):
    """`_deweighted` size of a PSF's kernel image, measured as the stars are."""
    image = psf.computeKernelImage(0.0, 0.0)
    offsets = np.arange(image.shape[0]) - image.shape[0] // 2
    r2 = offsets[np.newaxis, :] ** 2 + offsets[:, np.newaxis] ** 2
    weight = np.exp(-0.5 * r2 / weight_sigma ** 2) * image
    return float(_deweighted((weight * r2).sum() / weight.sum(), weight_sigma))


def _clip(stars, clip_sigma, max_chi2_ratio, min_stars):
    """Stars kept after iterative clipping on size and (unless ``max_chi2_ratio`` is None)
    on chi^2 against the stack."""
    widths = np.sqrt(stars.gaussian_variance)
    positive = stars.flux > 0
    kept = positive
    for _ in range(5):
        median, sigma = clipped_stats(widths[kept], iterations=0)
        new_kept = positive & (np.abs(widths - median) <= clip_sigma * max(sigma, 0.005 * median))
        if max_chi2_ratio is not None:
            new_kept &= stars.chi2 <= max_chi2_ratio * np.median(stars.chi2[kept])
        if np.array_equal(new_kept, kept):
            break
        kept = new_kept
        if kept.sum() < min_stars:
            break
    return kept


def _stack(stars, selection, half):
    """The re-centred, normalised star stamps combined into the PSF at the image centre (sum 1).

    Stars are weighted by flux^2 / sky variance (inverse variance of the
    normalised stamp); bad pixels and masked neighbours, grown by a pixel for
    the interpolation footprint, get no weight. With enough stars spread over
    the image, each pixel is fitted as a plane in the star positions and the
    plane is taken at the centre: a weighted mean would be the PSF where the
    brightest stars happen to lie, and PSFs vary across an image.
    """
    stamps, usable, dx, dy = stars.recentred()
    pad = stars.pad
    chosen = np.nonzero(selection)[0]
    weights = np.empty((len(chosen), 2 * half + 1, 2 * half + 1))
    normalised = ((stamps[chosen] - stars.sky[chosen, None, None])
                  / stars.flux[chosen, None, None])
    shifted = shift_images(normalised, dx[chosen], dy[chosen])[:, pad:-pad, pad:-pad]
    for k, i in enumerate(chosen):
        x_pixel, y_pixel = round(stars.x[i]), round(stars.y[i])
        sky_variance = float(np.median(stars.variance[y_pixel - half:y_pixel + half + 1,
                                                      x_pixel - half:x_pixel + half + 1]))
        weights[k] = np.where(usable[i, pad:-pad, pad:-pad], stars.flux[i] ** 2 / sky_variance, 0.0)
    n_rows, n_cols = stars.image.shape
    u = (stars.x[chosen] - 0.5 * (n_cols - 1)) / (0.5 * n_cols)
    v = (stars.y[chosen] - 0.5 * (n_rows - 1)) / (0.5 * n_rows)
    design = np.stack([np.ones(len(chosen)), u, v], axis=1)
    if len(chosen) >= _MIN_STARS_FOR_PLANE and min(np.ptp(u), np.ptp(v)) >= 0.5:
        # Normal equations of every pixel at once: (pixels, 3, 3) and (pixels, 3).
        normal = np.einsum("kp,ka,kb->pab", weights.reshape(len(chosen), -1), design, design)
        right = np.einsum("kp,ka,kp->pa", weights.reshape(len(chosen), -1), design,
                          shifted.reshape(len(chosen), -1))
        solvable = np.linalg.cond(normal) < 1e8
        stack = np.zeros(normal.shape[0])
        planes = np.linalg.solve(normal[solvable], right[solvable][..., np.newaxis])
        stack[solvable] = planes[:, 0, 0]
        stack = stack.reshape(shifted.shape[1:])
    else:
        weight_sum = weights.sum(axis=0)
        stack = np.divide((weights * shifted).sum(axis=0), weight_sum,
                          out=np.zeros(shifted.shape[1:]), where=weight_sum > 0.0)
    return stack / stack.sum()
