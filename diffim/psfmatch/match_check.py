"""Did the fitted kernel match the images? Flux and width at the kernel sources, measured.

A PSF-matching kernel maps the convolved image onto the reference, so at each
kernel source the convolved star, convolved with the kernel there, must have
the reference star's flux and width. Both are measured here on the pixels,
independently of the fit and of the PSF models:

- `kernel_flux_ratio`: the flux the kernel predicts (kernel sum x the convolved
  image's aperture flux) over the reference's aperture flux, summed over the
  sources, in apertures of `APERTURE_FWHMS` of the wider PSF, sky removed.
- `matched_width_ratio`: the adaptive (Gaussian-weighted) width of the sum of
  the brightest matched stars over that of the same reference stars, each
  stamp's sky the median of its outer ring.

Both are 1 for a kernel that matches. When the convolved image has the wider
PSF, matching is a deconvolution, which a kernel of Gaussians cannot do: the
fit either trades flux for shape (DECam OBS18c as science against OBS04c,
template convolved: kernel sum 0.466, flux ratio 0.49) or leaves the matched
stars wider than the reference's (simulated pairs with the science PSF 5 px
against 3.5 px, science convolved: width ratio 1.12-1.20, flux 0.93-1.02),
while the residual statistics and the footprint ratio of
`diffim.measure.quality` look healthy. Pairs subtracted the right way give
flux ratios within 0.07 of 1 (tests/data/README.md, seventh pass) and width
ratios within 0.03 (eighth pass); forced deconvolutions of simulated pairs
give width ratios of 1.10-1.14. The widths are measured only when they are checked
(``badKernelWidthThreshold`` > 0, the default).
"""
from __future__ import annotations

import math

import numpy as np

from ..errors import PsfError
from ..image.background import background_grid
from ..psf.base import adaptive_moments
from .errors import BadKernelMatchError

__all__ = ["APERTURE_FWHMS", "MIN_WIDTH_SOURCES", "WIDTH_SOURCES", "aperture_fluxes",
           "check_kernel_match", "kernel_flux_ratio", "matched_width_ratio",
           "measure_kernel_match"]

APERTURE_FWHMS = 2.0
"""Aperture radius in FWHMs of the wider PSF: two PSFs' fluxes in it agree to ~2 %."""

WIDTH_SOURCES = 25
"""The width ratio sums the stamps of at most this many of the brightest sources."""

MIN_WIDTH_SOURCES = 3
"""Fewer width sources give no width verdict: one star of a 256 px simulated pair subtracted
the right way (kernel sum 0.898 for 0.9) gave 1.07 alone."""

_WIDTH_TOLERANCE = 1e-5
"""Adaptive moments to this relative precision: the width ratio needs 1e-3."""

_SKY_CELL = 128
"""Cell of the sky grid, px: a smooth sky under 2-FWHM apertures (a 4k image: 1024 cells)."""

_STAMP_FWHMS = 2.0
"""Half-width of the width stamps in FWHMs of the wider PSF."""

_UNUSABLE_PLANES = ("NO_DATA", "BAD", "SAT", "EDGE")
"""A source with any of these in its aperture or stamp, in either image, is not measured."""


class _Sky:
    """An image's sky (`background_grid`) and its unusable-pixel bits."""

    def __init__(self, exposure):
        planes = [p for p in _UNUSABLE_PLANES if p in exposure.mask.planes]
        self.exposure = exposure
        self.mask, self.bits = exposure.mask.array, exposure.mask.bitmask(planes)
        self.background = background_grid(
            exposure.image, lambda rows, cols: (self.mask[rows, cols] & self.bits) == 0,
            cell=_SKY_CELL)

    def stamps(self, ix, iy, half):
        """Sky-subtracted stamps ``(n, 2 half + 1, 2 half + 1)`` at array indices, and
        whether each is clean; ``ix``, ``iy`` must be at least ``half`` inside."""
        offsets = np.arange(-half, half + 1)
        rows = (iy[:, np.newaxis] + offsets)[:, :, np.newaxis]
        cols = (ix[:, np.newaxis] + offsets)[:, np.newaxis, :]
        clean = ((self.mask[rows, cols] & self.bits) == 0)
        values = self.exposure.image[rows, cols] - self.background.at(rows, cols)
        return values, clean


def _inside(exposure, x, y, half):
    """Array indices of the positions and which lie ``half`` px inside the image."""
    ix = np.rint(np.asarray(x, float)).astype(int) - exposure.bbox.x0
    iy = np.rint(np.asarray(y, float)).astype(int) - exposure.bbox.y0
    n_rows, n_cols = exposure.shape
    return ix, iy, (ix >= half) & (ix < n_cols - half) & (iy >= half) & (iy < n_rows - half)


def aperture_fluxes(sky, x, y, radius):
    """Sky-subtracted flux in a disc of ``radius`` px at each position of ``sky``'s image.

    NaN where the disc leaves the image or holds an unusable pixel.
    """
    half = int(math.ceil(radius))
    offsets = np.arange(-half, half + 1)
    disc = np.hypot(offsets[np.newaxis, :], offsets[:, np.newaxis]) <= radius
    ix, iy, inside = _inside(sky.exposure, x, y, half)
    fluxes = np.full(len(ix), np.nan)
    if inside.any():
        values, clean = sky.stamps(ix[inside], iy[inside], half)
        fluxes[inside] = np.where(clean[:, disc].all(axis=1), values[:, disc].sum(axis=1), np.nan)
    return fluxes


def kernel_flux_ratio(convolved_sky, reference_sky, kernel, x, y, radius):
    """``sum_i k_i C_i / sum_i R_i`` over the sources measured on both images.

    ``k_i`` is the kernel sum at source ``i``, ``C_i`` and ``R_i`` its
    `aperture_fluxes` on the convolved and reference images. Returns the
    ratio (NaN when nothing was measured or the measured flux is not
    positive) and the number of sources measured.
    """
    convolved_flux = aperture_fluxes(convolved_sky, x, y, radius)
    reference_flux = aperture_fluxes(reference_sky, x, y, radius)
    measured = np.isfinite(convolved_flux) & np.isfinite(reference_flux)
    total = reference_flux[measured].sum()
    if not measured.any() or not total > 0:
        return math.nan, int(measured.sum())
    predicted = kernel.kernel_sum(x[measured], y[measured]) @ convolved_flux[measured]
    return float(predicted / total), int(measured.sum())


def matched_width_ratio(convolved_sky, reference_sky, kernel, x, y, half):
    """Adaptive width of the summed ``kernel (x) convolved`` stamps over the reference's.

    Stamps of ``2 half + 1`` px at each source, the matched one convolved with
    the kernel there; each stamp's sky is the median of its outer ring (px within
    2 of its edge), and the stamps are summed before the width (the determinant
    radius of `diffim.psf.base.adaptive_moments`) is measured, so that the
    bright sources weigh most. A median of per-source ratios on the sky grid gave
    1.11 on a simulated coadd-template pair subtracted the right way: its faint
    sources sat on local sky offsets of 2-14 counts the 128 px grid does not
    follow, and made 5 of its 7 ratios (1.11-1.58); summed with their ring skies,
    1.020. Sources too near the edge or with an unusable pixel are left out.
    Returns the ratio (NaN when none is left or the moments fail) and the number of
    sources summed.
    """
    reach = half + kernel.size // 2
    ix, iy, inside = _inside(reference_sky.exposure, x, y, reach)
    offsets = np.arange(-half, half + 1)
    ring = np.maximum(np.abs(offsets)[np.newaxis, :], np.abs(offsets)[:, np.newaxis]) > half - 2
    matched_sum, reference_sum, count = 0.0, 0.0, 0
    for i in np.flatnonzero(inside):
        source, source_clean = convolved_sky.stamps(ix[i:i + 1], iy[i:i + 1], reach)
        target, target_clean = reference_sky.stamps(ix[i:i + 1], iy[i:i + 1], half)
        if not (source_clean.all() and target_clean.all()):
            continue
        matched = _convolve_valid(source[0], kernel.image(x[i], y[i]))
        matched_sum = matched_sum + matched - np.median(matched[ring])
        reference_sum = reference_sum + target[0] - np.median(target[0][ring])
        count += 1
    if not count:
        return math.nan, 0
    try:
        return _width(matched_sum) / _width(reference_sum), count
    except PsfError:
        return math.nan, count


def _convolve_valid(image, kernel):
    """``image (x) kernel`` where the kernel lies wholly inside the image (``mode="valid"``).

    Direct sums over the stamp's windows: a stamp is a few kernels wide, and
    ``scipy.signal`` would add 0.6 CPU s of imports (``scipy.stats``) to every
    subtraction.
    """
    windows = np.lib.stride_tricks.sliding_window_view(image, kernel.shape)
    return np.tensordot(windows, kernel[::-1, ::-1], axes=((2, 3), (0, 1)))


def _width(image):
    _, _, ixx, iyy, ixy = adaptive_moments(image, _WIDTH_TOLERANCE)
    return (ixx * iyy - ixy * ixy) ** 0.25


def measure_kernel_match(convolved, reference, kernel, x, y, flux, widths=True):
    """`kernel_flux_ratio` and (if ``widths``) `matched_width_ratio` at the used kernel sources.

    Parameters
    ----------
    convolved, reference : `diffim.Exposure`
        The fit's images (``reference ~ K (x) convolved``), with PSFs.
    kernel : `diffim.psfmatch.SpatialKernel`
    x, y, flux : `numpy.ndarray`
        The used kernel sources and their ranking flux (the widths are
        measured on the `WIDTH_SOURCES` brightest).
    widths : `bool`
        Measure the width ratio (NaN from 0 sources when not): 0.07 CPU s of a
        4k subtraction, spent only when it is checked.

    Returns
    -------
    match : `dict`
        ``flux_ratio``, ``flux_sources``, ``width_ratio``, ``width_sources``,
        ``radius`` (aperture, px) and ``fwhms`` (convolved, reference).
    """
    centre = reference.bbox.center
    fwhms = (float(convolved.psf.computeFwhm(*centre)), float(reference.psf.computeFwhm(*centre)))
    skies = _Sky(convolved), _Sky(reference)
    x, y = np.asarray(x, float), np.asarray(y, float)
    radius = APERTURE_FWHMS * max(fwhms)
    flux_ratio, flux_sources = kernel_flux_ratio(*skies, kernel, x, y, radius)
    width_ratio, width_sources = math.nan, 0
    if widths:
        brightest = np.argsort(-np.nan_to_num(np.asarray(flux, float), nan=-np.inf),
                               kind="stable")[:WIDTH_SOURCES]
        width_ratio, width_sources = matched_width_ratio(
            *skies, kernel, x[brightest], y[brightest],
            int(math.ceil(_STAMP_FWHMS * max(fwhms))))
    return {"flux_ratio": flux_ratio, "flux_sources": flux_sources, "width_ratio": width_ratio,
            "width_sources": width_sources, "radius": radius, "fwhms": fwhms}


def check_kernel_match(match, kernel_sum, flux_threshold, width_threshold):
    """Raise `BadKernelMatchError` when a `measure_kernel_match` ratio is off.

    The flux ratio fails beyond ``1 +- flux_threshold``, the width ratio
    beyond ``1 + width_threshold`` (or below its inverse; a threshold of 0
    does not check it) when measured on `MIN_WIDTH_SOURCES` or more; NaN
    passes (nothing measured). ``kernel_sum`` (at the image centre) is named
    in the message.
    """
    convolved_fwhm, reference_fwhm = match["fwhms"]
    cause = (f"; the convolved image's PSF (FWHM {convolved_fwhm:.2f} px) is wider than the "
             f"other's ({reference_fwhm:.2f} px): a deconvolution, convolve the other image "
             "(mode=auto)" if convolved_fwhm > reference_fwhm else "")
    flux_ratio, width_ratio = match["flux_ratio"], match["width_ratio"]
    if abs(flux_ratio - 1.0) > flux_threshold:
        raise BadKernelMatchError(
            f"bad subtraction: the kernel (sum {kernel_sum:.3f}) predicts {flux_ratio:.2f} of the "
            f"flux measured at {match['flux_sources']} kernel sources in "
            f"{match['radius']:.1f} px apertures{cause} (badKernelFluxThreshold={flux_threshold})")
    if (width_threshold > 0 and match["width_sources"] >= MIN_WIDTH_SOURCES
            and max(width_ratio, 1.0 / width_ratio) > 1.0 + width_threshold):
        raise BadKernelMatchError(
            f"bad subtraction: the matched kernel sources are {width_ratio:.2f} times as wide as "
            f"on the other image (sum of {match['width_sources']}; kernel sum "
            f"{kernel_sum:.3f}){cause} (badKernelWidthThreshold={width_threshold})")
