"""Measurement of the DIA sources at their catalogue positions.

`measure_sources` fills the difference-image columns (PSF and aperture
flux, S/N, centroid errors, second moments, pixel flags);
`forced_photometry` the PSF fluxes on the science image and the matched
template. Each measurement itself lives in its own module (`photometry`,
`shape`, `flags`).
"""
from __future__ import annotations

import math

import numpy as np

from .flags import pixel_flags
from .photometry import aperture_flux, psf_flux
from .schema import CENTROID_X, CENTROID_Y
from .shape import second_moments
from .stamps import psf_models, unmasked_stamps

__all__ = ["forced_photometry", "measure_sources"]


def measure_sources(exposure, usable, catalog, footprint_bits, psf_sigma, models,
                    aperture_radius):
    """Measure every catalogue row on the difference image, in place.

    Parameters
    ----------
    exposure : `diffim.Exposure`
        The difference image, with its detection planes.
    usable : `numpy.ndarray` [`bool`]
        Pixels the photometry and moments may use.
    catalog : `numpy.ndarray`
        A record array of the schema: the rows to measure (``x``, ``y``, ``is_negative``).
    footprint_bits : `numpy.ndarray`
        Per row, see `diffim.measure.flags.pixel_flags`.
    psf_sigma : `float`
        PSF width (pixels): centroid errors and the moments' weight.
    models : `numpy.ndarray`
        PSF model stamps at the rows' positions
        (`diffim.measure.stamps.psf_models`).
    aperture_radius : `float`
        Pixels.
    """
    x, y = catalog[CENTROID_X].copy(), catalog[CENTROID_Y].copy()
    bbox = exposure.bbox
    flux, flux_err = psf_flux(exposure.image, exposure.variance, usable, bbox, models, x, y)
    catalog["base_PsfFlux_instFlux"], catalog["base_PsfFlux_instFluxErr"] = flux, flux_err
    with np.errstate(invalid="ignore", divide="ignore"):
        catalog["snr"] = flux / flux_err
        error = math.sqrt(2.0) * psf_sigma / np.abs(flux / flux_err)
    catalog["slot_Centroid_xErr"] = catalog["slot_Centroid_yErr"] = error
    aperture = "base_CircularApertureFlux_12_0_instFlux"
    catalog[aperture], catalog[f"{aperture}Err"] = aperture_flux(
        exposure.image, exposure.variance, usable, bbox, x, y, aperture_radius)
    sign = np.where(catalog["is_negative"], -1.0, 1.0)
    ixx, iyy, ixy = second_moments(exposure.image, usable, bbox, x, y, sign, psf_sigma)
    catalog["slot_Shape_xx"], catalog["slot_Shape_yy"], catalog["slot_Shape_xy"] = ixx, iyy, ixy
    catalog["slot_Shape_flag"] = ~np.isfinite(ixx)
    for name, values in pixel_flags(exposure.mask, bbox, footprint_bits, x, y).items():
        catalog[name] = values


def forced_photometry(difference, science, matched_template, catalog, difference_models,
                      exclude_planes):
    """Forced PSF photometry at the catalogue positions on the science image and the template.

    As the stack's ``forcedMeasurement``: ``ip_diffim_forced_PsfFlux_*`` on
    the science (direct) image, ``ip_diffim_forced_template_PsfFlux_*`` on
    the matched template. Each image is measured with its own PSF; its models
    are drawn once per distinct PSF (``==``), the difference's included.

    Parameters
    ----------
    difference : `diffim.Exposure`
        The difference image (its PSF made ``difference_models``).
    science : `diffim.Exposure`
    matched_template : `diffim.Exposure` or `None`
        Without one, the template columns are NaN.
    catalog : `numpy.ndarray`
        A record array of the schema; its columns are set in place.
    difference_models : `numpy.ndarray`
        PSF model stamps of the difference at the catalogue positions.
    exclude_planes : iterable of `str`
        Mask planes left out of the photometry.
    """
    x, y = catalog[CENTROID_X].copy(), catalog[CENTROID_Y].copy()
    # The PSFs drawn so far and their stamps: a subtraction gives the science
    # image and the matched template one PSF, and equal PSFs draw equal stamps.
    drawn = [(difference.psf, difference_models)]
    for prefix, image in (("ip_diffim_forced", science),
                          ("ip_diffim_forced_template", matched_template)):
        if image is None:
            catalog[f"{prefix}_PsfFlux_instFlux"] = catalog[f"{prefix}_PsfFlux_instFluxErr"] = np.nan
            continue
        models = difference_models
        if image.psf is not None:
            models = next((stamps for psf, stamps in drawn if psf is image.psf or psf == image.psf),
                          None)
            if models is None:
                models = psf_models(image.psf, x, y)
                drawn.append((image.psf, models))
        usable = unmasked_stamps(image.mask, exclude_planes)
        flux, flux_err = psf_flux(image.image, image.variance, usable, image.bbox, models, x, y)
        catalog[f"{prefix}_PsfFlux_instFlux"] = flux
        catalog[f"{prefix}_PsfFlux_instFluxErr"] = flux_err
