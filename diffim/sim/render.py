"""Draw a source catalogue onto an image through its WCS and PSF.

Point sources are the image's PSF evaluated at their position
(``psf.computeImage``); galaxies are elliptical exponential discs convolved
with that same local PSF. Every stamp sums to one before it is scaled by the
source flux, so the flux a catalogue asks for is the flux the pixels hold
(less whatever falls beyond the image edge, which is reported).

Stamps are computed by worker threads (the PSF's compiled renderer and the
FFTs release the GIL) but added to the image in catalogue order by the
calling thread, so the result is bit-identical for any number of threads.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from scipy.signal import fftconvolve

from .wcs import local_jacobian

__all__ = ["RenderedSources", "galaxy_forms", "galaxy_half_size", "render_sources"]

EXPONENTIAL_B = 1.6783469900166608
"""Half-light radius over scale length of an exponential profile: r_e = b h."""

_GALAXY_EXTENT = 4.0
"""Galaxy stamps reach this many half-light radii along the major axis (99.1 % of the flux)."""

_MAX_GALAXY_HALF_SIZE = 60
_OVERSAMPLING = 3
_CHUNK = 32


@dataclass
class RenderedSources:
    """What `render_sources` drew.

    Attributes
    ----------
    model : `numpy.ndarray`
        float64 image of the sources alone (counts per pixel), on the image box.
    fraction_in_image : `numpy.ndarray`
        Per source, the fraction of its flux that fell inside the image.
    effective_area : `numpy.ndarray`
        Per source, ``1 / sum(p**2)`` of its unit-flux stamp ``p`` (pixels):
        the noise-equivalent area of a PSF-weighted flux measurement.
        ``inf`` for sources not drawn.
    psf_fwhm : `numpy.ndarray`
        Per source, the PSF's ``computeFwhm`` at its position; NaN for
        sources not drawn.
    """

    model: np.ndarray
    fraction_in_image: np.ndarray
    effective_area: np.ndarray
    psf_fwhm: np.ndarray


def galaxy_forms(wcs, x, y, half_light_radius, axis_ratio, position_angle):
    """Pixel-space quadratic forms of galaxy half-light ellipses.

    Parameters
    ----------
    wcs : `astropy.wcs.WCS`
        The image's WCS; its local Jacobian at each galaxy maps the sky shape
        to pixels (so rotation, scale and distortion are followed).
    x, y : `numpy.ndarray`
        Galaxy positions in the image's parent pixels.
    half_light_radius : `numpy.ndarray`
        Semi-major axis of the half-light ellipse, arcsec.
    axis_ratio : `numpy.ndarray`
        Minor over major axis.
    position_angle : `numpy.ndarray`
        Major-axis angle, degrees east of north.

    Returns
    -------
    forms : `numpy.ndarray`
        Shape ``(n, 3)``: ``(a_xx, a_xy, a_yy)`` with
        ``q = a_xx dx^2 + 2 a_xy dx dy + a_yy dy^2 = 1`` on the ellipse.
    major_pixels : `numpy.ndarray`
        The semi-major axis in pixels.
    """
    jacobian = local_jacobian(wcs, x, y)
    pa = np.radians(position_angle)
    # Unit vectors along and across the major axis on the (east, north) plane.
    along = np.stack([np.sin(pa), np.cos(pa)], axis=-1)
    across = np.stack([np.cos(pa), -np.sin(pa)], axis=-1)
    major, minor = half_light_radius, half_light_radius * axis_ratio
    inverse_sky = (along[:, :, None] * along[:, None, :] / major[:, None, None] ** 2
                   + across[:, :, None] * across[:, None, :] / minor[:, None, None] ** 2)
    # q = s^T C^-1 s with s = J d, so the pixel form is J^T C^-1 J.
    forms = np.einsum("nji,njk,nkl->nil", jacobian, inverse_sky, jacobian)
    pixel_scale = np.sqrt(np.abs(np.linalg.det(jacobian)))
    return (np.stack([forms[:, 0, 0], forms[:, 0, 1], forms[:, 1, 1]], axis=-1),
            half_light_radius / pixel_scale)


def _exponential_disc(form, half_size):
    """Unit-sum exponential disc on a ``2 half_size + 1`` stamp, centred on its middle pixel."""
    a_xx, a_xy, a_yy = form
    offsets = (np.arange(_OVERSAMPLING) + 0.5) / _OVERSAMPLING - 0.5
    grid = (np.arange(-half_size, half_size + 1)[:, None] + offsets[None, :]).ravel()
    dx, dy = grid[None, :], grid[:, None]
    radius = np.sqrt(a_xx * dx * dx + 2.0 * a_xy * dx * dy + a_yy * dy * dy)
    fine = np.exp(-EXPONENTIAL_B * radius)
    side = 2 * half_size + 1
    disc = fine.reshape(side, _OVERSAMPLING, side, _OVERSAMPLING).sum(axis=(1, 3))
    return disc / disc.sum()


def _stamp(psf, x, y, form, half_size):
    """Unit-flux stamp of one source, its parent box, and the PSF FWHM there."""
    psf_image, box = psf.computeImage(x, y)
    fwhm = psf.computeFwhm(x, y)
    if form is None:
        return psf_image, box, fwhm
    # The disc is centred on its middle pixel, so convolving moves the PSF
    # stamp's sub-pixel centre nowhere: the galaxy lands at (x, y).
    stamp = fftconvolve(psf_image, _exponential_disc(form, half_size), mode="full")
    np.maximum(stamp, 0.0, out=stamp)
    return stamp / stamp.sum(), box.grown(half_size), fwhm


def _chunk_stamps(psf, jobs):
    # Per-stamp work other than the PSF's compiled loop happens here too, so
    # that it overlaps with the other threads' GIL-free rendering.
    results = []
    for job in jobs:
        stamp, box, fwhm = _stamp(psf, *job)
        results.append((stamp, box, fwhm, 1.0 / float(np.einsum("ij,ij->", stamp, stamp))))
    return results


def render_sources(bbox, psf, x, y, flux, forms=None, galaxy_half_sizes=None, threads=2):
    """Draw sources into a new model image.

    Parameters
    ----------
    bbox : `diffim.geom.Box`
        The image, in parent pixels.
    psf : `diffim.psf.Psf`
        The image's PSF; ``computeImage`` is called at every source position.
    x, y : `numpy.ndarray`
        Source positions in parent pixels (from the image's WCS).
    flux : `numpy.ndarray`
        Total counts of each source; sources with zero flux are skipped.
    forms : `numpy.ndarray`, optional
        ``(n, 3)`` galaxy quadratic forms from `galaxy_forms`; rows of NaN
        (or no array) mean point sources.
    galaxy_half_sizes : `numpy.ndarray`, optional
        Half-size in pixels of each galaxy's intrinsic stamp.
    threads : `int`
        Worker threads computing stamps; does not change the result.

    Returns
    -------
    rendered : `RenderedSources`
    """
    x, y, flux = (np.asarray(value, dtype=float) for value in (x, y, flux))
    count = x.size
    model = np.zeros(bbox.shape)
    fraction = np.zeros(count)
    effective_area = np.full(count, np.inf)
    psf_fwhm = np.full(count, np.nan)
    reach = getattr(psf, "size", 0) // 2 + 1
    if galaxy_half_sizes is not None:
        reach = reach + np.nan_to_num(np.asarray(galaxy_half_sizes, dtype=float))
    near = ((x > bbox.x0 - 0.5 - reach) & (x < bbox.x_end - 0.5 + reach)
            & (y > bbox.y0 - 0.5 - reach) & (y < bbox.y_end - 0.5 + reach) & (flux != 0.0))
    indices = np.flatnonzero(near)
    jobs = []
    for index in indices:
        is_galaxy = forms is not None and np.all(np.isfinite(forms[index]))
        jobs.append((x[index], y[index], tuple(forms[index]) if is_galaxy else None,
                     int(galaxy_half_sizes[index]) if is_galaxy else 0))
    chunks = [jobs[start:start + _CHUNK] for start in range(0, len(jobs), _CHUNK)]
    with ThreadPoolExecutor(max_workers=threads) as pool:
        results = pool.map(_chunk_stamps, [psf] * len(chunks), chunks)
        position = 0
        for stamps in results:
            for stamp, box, fwhm, area in stamps:
                index = indices[position]
                position += 1
                psf_fwhm[index], effective_area[index] = fwhm, area
                overlap = box.intersection(bbox)
                if overlap.is_empty():
                    continue
                piece = stamp[overlap.slices_in(box)]
                model[overlap.slices_in(bbox)] += flux[index] * piece
                fraction[index] = float(piece.sum())
    return RenderedSources(model, fraction, effective_area, psf_fwhm)


def galaxy_half_size(major_pixels, psf_size):
    """Half-size of the intrinsic stamp for galaxies of semi-major axis ``major_pixels``."""
    half = np.ceil(_GALAXY_EXTENT * np.asarray(major_pixels, dtype=float))
    return np.clip(half, 1, max(_MAX_GALAXY_HALF_SIZE, psf_size // 2)).astype(int)
