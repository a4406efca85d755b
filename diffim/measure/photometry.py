"""PSF and aperture photometry of many sources at once.

PSF flux is the weighted linear least-squares amplitude of the PSF model
centred at the (sub-pixel) source position, with uniform weights as the
stack's ``PsfFlux`` plugin uses:

    flux = sum(P I) / sum(P^2),   err = sqrt(sum(P^2 V)) / sum(P^2)

over the usable pixels of the stamp. Uniform rather than inverse-variance
weights keep the estimate unbiased when a bright source raises the
variance under itself. Forced photometry is the same measurement at given
positions on another image, and so is the kernel-source photometry behind
the calexps' ``src`` catalogues (`diffim.sources.kernel_sources`): all call
`psf_amplitude`.
"""
from __future__ import annotations

import numpy as np

from .stamps import gather, usable_stamps

__all__ = ["aperture_flux", "psf_amplitude", "psf_flux"]

_CHUNK = 1024
"""Sources per batch: bounds the stamp arrays for wide PSF models."""


def psf_amplitude(data, variance, model, usable=None):
    """Least-squares amplitudes of PSF stamps in image stamps, with their errors.

    ``flux = sum(w I) / sum(w P)`` and ``err = sqrt(sum(w^2 V)) / sum(w P)``
    with ``w = P`` on the usable pixels and 0 elsewhere.

    Parameters
    ----------
    data, variance, model : `numpy.ndarray`
        ``(n, size, size)`` stamps of the image, its variance and the PSF.
    usable : `numpy.ndarray` of `bool`, optional
        Same shape: pixels that enter the fit; all when omitted.

    Returns
    -------
    flux, flux_err : `numpy.ndarray`
        NaN where no usable pixel carries PSF weight.
    """
    weights = model if usable is None else np.where(usable, model, 0.0)
    norm = (weights * model).sum(axis=(1, 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        flux = np.where(norm > 0, (weights * data).sum(axis=(1, 2)) / norm, np.nan)
        flux_err = np.where(norm > 0, np.sqrt((weights ** 2 * variance).sum(axis=(1, 2))) / norm,
                            np.nan)
    return flux, flux_err


def psf_flux(image, variance, usable, bbox, models, x, y):
    """PSF fluxes at parent positions ``(x, y)``.

    Parameters
    ----------
    image, variance : `numpy.ndarray`
        The image and its variance.
    usable : `numpy.ndarray` of `bool` or callable
        Pixels that may be used (others are left out of the fit), or a
        function of ``(ix, iy, half)`` giving their stamps, as
        `diffim.measure.stamps.unmasked_stamps` makes (read through
        `diffim.measure.stamps.usable_stamps`).
    bbox : `diffim.Box`
        Where the arrays lie in parent coordinates.
    models : `numpy.ndarray`
        PSF images at the positions, from `diffim.measure.stamps.psf_models`
        (computed once, shared by every image measured with that PSF).
    x, y : `numpy.ndarray`
        Parent positions.

    Returns
    -------
    flux, flux_err : `numpy.ndarray`
        Counts; NaN where no usable pixel carries PSF weight.
    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    flux = np.full(len(x), np.nan)
    flux_err = np.full(len(x), np.nan)
    half = models.shape[-1] // 2
    for start in range(0, len(x), _CHUNK):
        part = slice(start, start + _CHUNK)
        ix = np.rint(x[part]).astype(int) - bbox.x0
        iy = np.rint(y[part]).astype(int) - bbox.y0
        data, inside = gather(image, ix, iy, half)
        var, _ = gather(variance, ix, iy, half)
        ok = usable_stamps(usable, ix, iy, half)
        flux[part], flux_err[part] = psf_amplitude(data, var, models[part], ok & inside)
    return flux, flux_err


def aperture_flux(image, variance, usable, bbox, x, y, radius):
    """Sums in circular apertures of ``radius`` pixels around parent positions.

    A pixel is in the aperture when its centre is; unusable pixels count as
    zero (the flux is then an underestimate, flagged by the pixel flags).

    Returns
    -------
    flux, flux_err : `numpy.ndarray`
        Counts and ``sqrt`` of the summed variance.
    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    half = int(np.ceil(radius)) + 1
    offsets = np.arange(-half, half + 1, dtype=float)
    flux = np.full(len(x), np.nan)
    flux_err = np.full(len(x), np.nan)
    for start in range(0, len(x), _CHUNK):
        part = slice(start, start + _CHUNK)
        ix = np.rint(x[part]).astype(int)
        iy = np.rint(y[part]).astype(int)
        data, inside = gather(image, ix - bbox.x0, iy - bbox.y0, half)
        var, _ = gather(variance, ix - bbox.x0, iy - bbox.y0, half)
        ok, _ = gather(usable, ix - bbox.x0, iy - bbox.y0, half, fill=False)
        dx = offsets[None, None, :] + (ix - x[part])[:, None, None]
        dy = offsets[None, :, None] + (iy - y[part])[:, None, None]
        aperture = (dx * dx + dy * dy <= radius * radius) & inside & ok
        flux[part] = np.where(aperture, data, 0.0).sum(axis=(1, 2), dtype=np.float64)
        flux_err[part] = np.sqrt(np.where(aperture, var, 0.0).sum(axis=(1, 2), dtype=np.float64))
    return flux, flux_err
